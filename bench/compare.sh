#!/bin/sh
# compare.sh — before/after figures of two builds of tickd, in interleaved
# pairs, and the cost of scope accounting (on/off in the same build).
#
#   bench/compare.sh OLD_BUILD NEW_BUILD      (each a `make` build dir with
#                                              bench/ built: make bench-build)
#   make bench-compare BASE=<commit>          builds the base in a worktree
#
# Micro: each workload runs PAIRS times as old, new, old, new... (one run
# each, pinned to cpu 0); printed: both medians and the median of the
# new/old quotients of each pair. Echo: ECHO_PAIRS rounds of old tickd,
# new tickd, new tickd with accounting = no, each ECHO_SECS seconds of the
# 50-connection ping-pong; server CPU per round trip from /proc.
set -u
OLD=${1:?usage: compare.sh OLD_BUILD NEW_BUILD}
NEW=${2:?usage: compare.sh OLD_BUILD NEW_BUILD}
PAIRS=${PAIRS:-7}
ECHO_PAIRS=${ECHO_PAIRS:-4}
SECS=${ECHO_SECS:-4}
WORKLOADS=${WORKLOADS:-"call_soon_run task_await_rt empty_tick timer_insert_1m"}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tick-compare.XXXXXX") || exit 1
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# fig BUILD WORKLOAD LINE: one run; prints the figure of BENCH line LINE
fig() {
    "$1/bench/micro" -r 1 -c 0 "$2" 2>/dev/null |
        awk -v n="$3" '$1 == "BENCH" && $2 == n { print $3; exit }'
}

# stats FILE: "median" of one value per line
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

echo "== micro: $PAIRS interleaved pairs per workload (old $OLD, new $NEW)"
for w in $WORKLOADS; do
    line=$w
    [ "$w" = timer_insert_1m ] && line="timer_insert_1m timer_fire_1m"
    for l in $line; do : >"$tmp/$l.old"; : >"$tmp/$l.new"; : >"$tmp/$l.q"; done
    i=0
    while [ "$i" -lt "$PAIRS" ]; do
        for l in $line; do
            o=$(fig "$OLD" "$w" "$l"); n=$(fig "$NEW" "$w" "$l")
            [ -n "$o" ] && [ -n "$n" ] || continue
            echo "$o" >>"$tmp/$l.old"; echo "$n" >>"$tmp/$l.new"
            awk -v a="$n" -v b="$o" 'BEGIN { printf "%.4f\n", a / b }' >>"$tmp/$l.q"
        done
        i=$((i + 1))
    done
    for l in $line; do
        echo "COMPARE $l old=$(median "$tmp/$l.old") new=$(median "$tmp/$l.new") new/old=$(median "$tmp/$l.q") (median of $PAIRS paired quotients)"
    done
done

echo "== accounting worst case (a scope switch per handle), on/off in one process"
"$NEW/bench/micro" -r "$PAIRS" -c 0 call_soon_switch_acct | grep '^BENCH'

echo "== echo: $ECHO_PAIRS rounds of old / new / new with accounting = no, ${SECS}s each"
# run_echo TAG TICKD PLUGINS ACCT
run_echo() {
    port=$("$NEW/bench/echo_load" --free-port) || return 1
    cat >"$tmp/t.ini" <<EOF
[daemon]
plugin_dir = $3
log_level = warning
$4

[plugin:echo]
listen = 127.0.0.1:$port
EOF
    taskset -c 0 "$2" -c "$tmp/t.ini" >"$tmp/t.log" 2>&1 &
    pid=$!
    pids="$pids $pid"
    if out=$(taskset -c 1 "$NEW/bench/echo_load" -a "127.0.0.1:$port" -n 50 -m 64 \
               -d "$SECS" -w 1 -p "$pid" 2>"$tmp/err"); then
        echo "# $1: $out"
        echo "$out" | tr ' ' '\n' | awk -F= '$1 == "cpu_per_rt" { print $2 }' >>"$tmp/echo.$1"
        echo "$out" | tr ' ' '\n' | awk -F= '$1 == "rate" { print $2 }' >>"$tmp/rate.$1"
    else
        echo "# $1: load failed: $(cat "$tmp/err")"
    fi
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
: >"$tmp/echo.old"; : >"$tmp/echo.new"; : >"$tmp/echo.noacct"
r=0
while [ "$r" -lt "$ECHO_PAIRS" ]; do
    run_echo old "$OLD/tickd" "$OLD/plugins" ""
    run_echo new "$NEW/tickd" "$NEW/plugins" ""
    run_echo noacct "$NEW/tickd" "$NEW/plugins" "accounting = no"
    r=$((r + 1))
done
paste "$tmp/echo.new" "$tmp/echo.old" | awk '{ printf "%.4f\n", $1 / $2 }' >"$tmp/q.no"
paste "$tmp/echo.new" "$tmp/echo.noacct" | awk '{ printf "%.4f\n", $1 / $2 }' >"$tmp/q.acct"
echo "COMPARE echo_cpu_per_rt old=$(median "$tmp/echo.old") new=$(median "$tmp/echo.new") new/old=$(median "$tmp/q.no") ns (median of paired quotients)"
echo "COMPARE echo_cpu_per_rt accounting on=$(median "$tmp/echo.new") off=$(median "$tmp/echo.noacct") on/off=$(median "$tmp/q.acct")"
echo "COMPARE echo_rate old=$(median "$tmp/rate.old") new=$(median "$tmp/rate.new") noacct=$(median "$tmp/rate.noacct") rt/s"
