#!/bin/sh
# deps.sh [--list] PURPOSE... — install the Debian packages a make target
# needs, only if they are missing. PURPOSE: build | check | bench | fuzz.
# Run as root, or with sudo available; does nothing when all is present.
# --list prints the packages PURPOSE needs, one a line, and installs nothing.
#
# libc6-dev is named explicitly: a minimal Debian's gcc, installed with
# --no-install-recommends, brings no libc headers (<dirent.h> missing).
# man-db and groff-base render the man pages the tests check;
# systemd-container and debootstrap boot the check-systemd container;
# clang and libclang-rt-14-dev (libFuzzer, the sanitizer runtimes) build
# the make fuzz harnesses. prometheus brings promtool, whose `check
# metrics` judges the /metrics text (tests skip with the reason without it);
# libhttp-parser-dev is the HTTP parser the bench compares ours with;
# curl is the http plugin tests' client; nginx and wrk are the HTTP bench's
# peer and load generator (the bench runs its own nginx, never the
# package's service);
# redis-tools (redis-cli, redis-benchmark) are the kv plugin's clients and
# redis-server its peer: the e2e tests run the same script against both.
set -eu

list=false
if [ "${1:-}" = "--list" ]; then
    list=true
    shift
fi

base="gcc libc6-dev make pkg-config libinih-dev"
pkgs=""
for purpose in "$@"; do
    case "$purpose" in
    build) pkgs="$pkgs $base" ;;
    check) pkgs="$pkgs $base check valgrind man-db groff-base systemd-container debootstrap prometheus curl python3 redis-tools redis-server" ;;
    bench) pkgs="$pkgs $base libuv1-dev libev-dev libhttp-parser-dev nginx wrk collectd-core libmicrohttpd12 libprotobuf-c1 redis-tools redis-server" ;;
    fuzz) pkgs="$pkgs $base clang libclang-rt-14-dev" ;;
    *) echo "deps.sh: unknown purpose '$purpose'" >&2; exit 64 ;;
    esac
done

if $list; then
    printf '%s\n' $pkgs | awk 'NF && !seen[$0]++'
    exit 0
fi

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
