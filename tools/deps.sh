#!/bin/sh
# deps.sh PURPOSE... — install the Debian packages a make target needs, only
# if they are missing. PURPOSE: build | check | bench.
# Run as root, or with sudo available; does nothing when all is present.
set -eu

pkgs=""
for purpose in "$@"; do
    case "$purpose" in
    build) pkgs="$pkgs gcc make pkg-config libinih-dev" ;;
    check) pkgs="$pkgs gcc make pkg-config libinih-dev check valgrind" ;;
    bench) pkgs="$pkgs gcc make pkg-config libinih-dev libuv1-dev libev-dev" ;;
    *) echo "deps.sh: unknown purpose '$purpose'" >&2; exit 64 ;;
    esac
done

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
