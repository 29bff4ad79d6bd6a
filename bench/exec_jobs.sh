#!/bin/sh
# exec_jobs.sh — the exec section of `make bench` (run.sh calls it; it
# also runs alone): EXEC_JOBS jobs (100) of the exec plugin with
# every = 1s running /bin/true, for EXEC_SECS (10) measured seconds after
# EXEC_WARM (2), tickd pinned to cpu 0. Bounded: jobs x seconds runs.
#
# Printed: runs per second sustained (exec_runs_total summed over the
# jobs, from the http plugin's /metrics at the window's two ends; the
# target is EXEC_JOBS per second, nothing skipped or failed), the
# daemon's own CPU per run (utime+stime of tickd from /proc/PID/stat over
# the window, so spawning, reaping, the pipes and the bookkeeping) and the
# reaped children's CPU per run (cutime+cstime: the jobs themselves, the
# cost of /bin/true's exec, for scale). The issue names collectd's exec
# as the peer; this section prints tickd's figures only (see README.md).
#
# Environment: BENCH_BUILD, TICKD, TICK_PLUGINS (bench/Makefile sets
# them), EXEC_JOBS, EXEC_SECS, EXEC_WARM.
set -u

B=${BENCH_BUILD:?BENCH_BUILD must name the directory of the bench binaries}
TICKD=${TICKD:-$B/../tickd}
TICK_PLUGINS=${TICK_PLUGINS:-$B/../plugins}
JOBS=${EXEC_JOBS:-100}
SECS=${EXEC_SECS:-10}
WARM=${EXEC_WARM:-2}
SERVER_CPU=0

echo "== exec: $JOBS jobs, every = 1s, /bin/true, ${SECS}s measured after ${WARM}s;" \
     "tickd on cpu $SERVER_CPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -x "$TICKD" ] || [ ! -f "$TICK_PLUGINS/exec.so" ] || [ ! -f "$TICK_PLUGINS/http.so" ]; then
    echo "# tickd, the exec or the http plugin is not built: exec section skipped"
    exit 1
fi
command -v curl >/dev/null 2>&1 || { echo "# no curl: exec section skipped"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tick-bench-exec.XXXXXX") || exit 1
pid=""
# shellcheck disable=SC2317  # reached through the trap
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18931)
{
    printf '[daemon]\nplugin_dir = %s\nlog_level = warning\n\n' "$TICK_PLUGINS"
    printf '[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%s\n' "$port"
    i=0
    while [ "$i" -lt "$JOBS" ]; do
        printf '\n[plugin:j%03d]\nmodule = exec\nevery = 1s\ncommand = /bin/true\n' "$i"
        i=$((i + 1))
    done
} > "$tmp/tickd.ini"

taskset -c "$SERVER_CPU" "$TICKD" -c "$tmp/tickd.ini" 2> "$tmp/log" &
pid=$!
n=0
until curl -sf --max-time 1 "http://127.0.0.1:$port/metrics" > /dev/null 2>&1; do
    n=$((n + 1))
    if [ "$n" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "# tickd did not start:"; cat "$tmp/log"; exit 1
    fi
    sleep 0.1
done

# sum NAME: the family's value summed over the jobs
sum() {
    awk -v n="$1" 'index($0, n "{") == 1 { s += $NF } END { printf "%d\n", s }' "$tmp/m"
}
# cpu: "self children" in clock ticks (utime+stime, cutime+cstime)
cpu() {
    sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13, $14 + $15 }'
}
sleep "$WARM"
curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" > "$tmp/m" || exit 1
r1=$(sum exec_runs_total); s1=$(sum exec_skipped_total); f1=$(sum exec_failures_total)
c1=$(cpu); t1=$(date +%s.%N)
sleep "$SECS"
c2=$(cpu); t2=$(date +%s.%N)
curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" > "$tmp/m" || exit 1
r2=$(sum exec_runs_total); s2=$(sum exec_skipped_total); f2=$(sum exec_failures_total)
hz=$(getconf CLK_TCK)

secs=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
runs=$((r2 - r1))
awk -v runs="$runs" -v secs="$secs" -v jobs="$JOBS" -v sk="$((s2 - s1))" -v fl="$((f2 - f1))" 'BEGIN {
    printf "  runs: %d in %.2f s = %.1f runs/s (target %d/s); skipped %d, failed %d\n",
           runs, secs, runs / secs, jobs, sk, fl
}'
# the CPU figures: "self children" at both ends
# shellcheck disable=SC2086  # split on purpose
set -- $c1 $c2
awk -v s1="$1" -v k1="$2" -v s2="$3" -v k2="$4" -v runs="$runs" -v hz="$hz" \
    -v secs="$secs" 'BEGIN {
    if (runs <= 0) { print "  no runs counted"; exit 1 }
    printf "  tickd CPU: %.1f us per run (%.2f%% of a core); the jobs (reaped children): %.1f us per run\n",
           (s2 - s1) / hz / runs * 1e6, (s2 - s1) / hz / secs * 100, (k2 - k1) / hz / runs * 1e6
    printf "BENCH exec_runs_per_s %.1f\nBENCH exec_tickd_cpu_us_per_run %.1f\n",
           runs / secs, (s2 - s1) / hz / runs * 1e6
}'
grep -E "error|warning" "$tmp/log" | head -5
exit 0
