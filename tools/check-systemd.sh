#!/bin/sh
# check-systemd.sh BUILD — `make check-systemd`: tickd under Debian 12's
# systemd 252, booted in a systemd-nspawn container.
#
#   1. a Debian 12 root (debootstrap --variant=minbase, systemd, dbus,
#      libinih1) in $TICKD_NSPAWN_ROOT (default /var/tmp/tickd-nspawn/root),
#      made once and reused;
#   2. `make install` of BUILD into a staging directory, copied into the
#      root's /usr/local and /etc/tickd, with tests/systemd/ (the test
#      script and its oneshot unit);
#   3. systemd-nspawn -b --register=no --keep-unit (no systemd needed on
#      the host), kernel command line systemd.wants=tickd-e2e.service; the
#      unit runs the checks, writes results to a bind-mounted directory and
#      powers off;
#   4. the results: one line per check, then "checks: N passed, N failed".
#
# Skips (exit 0, "check-systemd: SKIPPED: why") when not root, without
# systemd-nspawn or debootstrap, or when the container cannot boot (the
# command and its error are printed). Exit 1 when a check failed. Every
# step has a timeout.
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${TICKD_NSPAWN_ROOT:-/var/tmp/tickd-nspawn/root}
BOOT_TIMEOUT=${TICKD_NSPAWN_TIMEOUT:-300}
t0=$(date +%s)

say() { echo "check-systemd: $*"; }
skip() { say "SKIPPED: $*"; exit 0; }
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }

[ "$(id -u)" = 0 ] || skip "needs root (systemd-nspawn boots a container)"
command -v systemd-nspawn >/dev/null 2>&1 ||
    skip "no systemd-nspawn (apt-get install systemd-container)"

# ---- 1. the root ----------------------------------------------------------------
if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
    command -v debootstrap >/dev/null 2>&1 || skip "no debootstrap (apt-get install debootstrap)"
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
             grep -v security | head -n 1)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' \
                                 /etc/apt/sources.list 2>/dev/null)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    say "making a Debian 12 root in $ROOT from $mirror (once)"
    rm -rf "$ROOT.tmp"
    mkdir -p "$(dirname "$ROOT")"
    if ! timeout 900 debootstrap --variant=minbase --include=systemd,dbus,libinih1 \
            bookworm "$ROOT.tmp" "$mirror" > "$ROOT.debootstrap.log" 2>&1; then
        skip "debootstrap failed: $(tail -n 3 "$ROOT.debootstrap.log" | tr '\n' ' ')"
    fi
    mv "$ROOT.tmp" "$ROOT"
    say "root ready ($(elapsed))"
fi
if ! ls "$ROOT"/usr/lib/*/libinih.so.1 >/dev/null 2>&1; then
    say "installing libinih1 into the root"
    timeout 300 systemd-nspawn -q --register=no --keep-unit -D "$ROOT" sh -c 'apt-get update -qq && apt-get install -y -qq libinih1' \
        > "$ROOT.apt.log" 2>&1 ||
        skip "cannot install libinih1 in $ROOT: $(tail -n 3 "$ROOT.apt.log" | tr '\n' ' ')"
fi

# ---- 2. install tickd into it ---------------------------------------------------------
work=$(mktemp -d /var/tmp/tickd-check-systemd.XXXXXX) || exit 70
trap 'rm -rf "$work"' EXIT
stage=$work/stage
mkdir -p "$work/results"
# the build's own SYSCONFDIR (/etc unless built otherwise): nothing rebuilds
sysconf=$(cat "$BUILD/sysconfdir.stamp" 2>/dev/null || echo /etc)
[ "$sysconf" = /etc ] || skip "the build's SYSCONFDIR is $sysconf; the container test wants /etc"
timeout 300 make -s -C "$SRC" BUILD="$BUILD" DESTDIR="$stage" PREFIX=/usr/local \
    SYSCONFDIR=/etc install > "$work/install.log" 2>&1 ||
    { cat "$work/install.log"; say "make install failed"; exit 1; }
rm -rf "$ROOT/usr/local/lib/tickd" "$ROOT/usr/local/libexec/tickd-e2e" "$ROOT/etc/tickd" \
       "$ROOT/etc/systemd/system/tickd.service.d"
cp -a "$stage/usr/local/." "$ROOT/usr/local/"
cp -a "$stage/etc/tickd" "$ROOT/etc/tickd"
mkdir -p "$ROOT/usr/local/libexec/tickd-e2e"
install -m 0755 "$SRC/tests/systemd/in-container.sh" "$ROOT/usr/local/libexec/tickd-e2e/"
install -m 0644 "$SRC/tests/systemd/tickd-e2e.service" "$ROOT/etc/systemd/system/"
say "installed into the root ($(elapsed))"

# ---- 3. boot --------------------------------------------------------------------------
say "booting $ROOT (at most ${BOOT_TIMEOUT}s)"
tb=$(date +%s)
timeout -k 10 "$BOOT_TIMEOUT" systemd-nspawn -q --register=no --keep-unit -D "$ROOT" -b \
    --bind="$work/results:/results" -- systemd.wants=tickd-e2e.service \
    > "$work/console.log" 2>&1 < /dev/null
rc=$?
say "container ran $(( $(date +%s) - tb ))s, exit $rc"
res=$work/results/results
if [ ! -s "$res" ]; then
    tail -n 30 "$work/console.log"
    skip "the container did not run the tests: systemd-nspawn -b ... exited $rc (console above)"
fi
[ "${TICKD_SYSTEMD_KEEP:-}" ] && cp -a "$work/results" "$work/console.log" "${TICKD_SYSTEMD_KEEP}/"

# ---- 4. results -------------------------------------------------------------------------
cat "$res"
pass=$(grep -c '^PASS ' "$res")
failed=$(grep -c '^FAIL ' "$res")
if ! grep -q '^DONE' "$res"; then
    say "the test script did not finish (timeout or crash); console tail:"
    tail -n 30 "$work/console.log"
    failed=$((failed + 1))
fi
if [ "$failed" -gt 0 ]; then
    echo "--- journal of tickd.service ---"
    tail -n 60 "$work/results/journal.txt" 2>/dev/null
fi
echo "checks: $pass passed, $failed failed ($(elapsed))"
[ "$failed" -eq 0 ]
