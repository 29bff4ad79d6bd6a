#!/bin/sh
# run.sh — what `make bench` runs: the micro-benchmarks (tick vs libuv vs
# libev), the HTTP request parser (ours vs libhttp-parser-dev), then the
# echo workload (the real tickd + echo plugin vs a raw
# epoll server). Every server started here is killed on exit, whatever
# happens (trap). See README.md for how to read the output.
#
# Environment (set by bench/Makefile): BENCH_BUILD (our binaries), TICKD,
# TICK_PLUGINS. Optional: BENCH_RUNS (micro runs per engine, default 7),
# ECHO_SECS (measured seconds per round, 5), ECHO_WARM (1), ECHO_CONNS
# (50), ECHO_ROUNDS (rounds, each tickd then raw; best clean round kept, 4),
# HTTP_ROUNDS (HTTP parser rounds, 9), BENCH_SKIP_MICRO=1,
# BENCH_SKIP_METRICS=1, BENCH_SKIP_HTTP=1, BENCH_SKIP_ECHO=1,
# BENCH_SKIP_HTTPD=1 (the wrk-vs-nginx HTTP workload, http_wrk.sh),
# BENCH_SKIP_EXEC=1 (the exec plugin's 100 jobs, exec_jobs.sh),
# BENCH_SKIP_STATSD=1 (the statsd workload against collectd, statsd.sh),
# BENCH_SKIP_RESP=1 (kv against redis-server and raw_resp, resp.sh).
# Exit status: 0, or 1 if a benchmark failed to run (a missed target is
# reported, not an error).
set -u

B=${BENCH_BUILD:?BENCH_BUILD must name the directory of the bench binaries}
TICKD=${TICKD:-$B/../tickd}
TICK_PLUGINS=${TICK_PLUGINS:-$B/../plugins}
RUNS=${BENCH_RUNS:-7}
SECS=${ECHO_SECS:-5}
WARM=${ECHO_WARM:-1}
CONNS=${ECHO_CONNS:-50}
ROUNDS=${ECHO_ROUNDS:-4}
SERVER_CPU=0
CLIENT_CPU=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tick-bench.XXXXXX") || exit 1
pids=""
# shellcheck disable=SC2317  # reached through the trap
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

status=0

# Two cores shared with anything else running makes every figure noisy;
# say so up front rather than let the numbers mislead.
load1=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "# warning: load average $load1 before starting: other processes compete for the" \
         "CPUs, expect noisy figures (best-of runs and ECHO_ROUNDS help)"
fi

if [ "${BENCH_SKIP_MICRO:-0}" != 1 ]; then
    echo "== micro-benchmarks (pinned to cpu $SERVER_CPU; best of $RUNS runs, engines interleaved)"
    "$B/micro" -r "$RUNS" -c "$SERVER_CPU" || status=1
fi

if [ "${BENCH_SKIP_METRICS:-0}" != 1 ]; then
    echo "== /metrics render (pinned to cpu $SERVER_CPU)"
    taskset -c "$SERVER_CPU" "$B/metrics_render" -n 1000 -r "$RUNS" || status=1
fi

if [ "${BENCH_SKIP_HTTP:-0}" != 1 ]; then
    echo "== HTTP request parser: ours against libhttp-parser-dev (pinned to cpu $SERVER_CPU;" \
         "median of ${HTTP_ROUNDS:-9} rounds, sides alternating)"
    taskset -c "$SERVER_CPU" "$B/http_parse" -r "${HTTP_ROUNDS:-9}" || status=1
fi

# The HTTP workload: wrk against the http plugin and nginx (http_wrk.sh;
# HTTPD_ROUNDS, HTTPD_SECS; BENCH_SKIP_HTTPD=1 skips it).
if [ "${BENCH_SKIP_HTTPD:-0}" != 1 ]; then
    BENCH_BUILD=$B TICKD=$TICKD TICK_PLUGINS=$TICK_PLUGINS "$(dirname "$0")/http_wrk.sh" || status=1
fi

# The exec plugin: 100 jobs with every = 1s (exec_jobs.sh; EXEC_SECS,
# EXEC_JOBS; BENCH_SKIP_EXEC=1 skips it).
if [ "${BENCH_SKIP_EXEC:-0}" != 1 ]; then
    BENCH_BUILD=$B TICKD=$TICKD TICK_PLUGINS=$TICK_PLUGINS "$(dirname "$0")/exec_jobs.sh" || status=1
fi

# The statsd workload: tickd's statsd plugin against collectd's
# (statsd.sh; STATSD_ROUNDS; BENCH_SKIP_STATSD=1 skips it).
if [ "${BENCH_SKIP_STATSD:-0}" != 1 ]; then
    BENCH_BUILD=$B TICKD=$TICKD TICK_PLUGINS=$TICK_PLUGINS "$(dirname "$0")/statsd.sh" || status=1
fi

# The RESP workload (kv vs redis-server vs raw_resp): bench/resp.sh.
if [ "${BENCH_SKIP_RESP:-0}" != 1 ]; then
    "$(dirname "$0")/resp.sh" || status=1
fi

[ "${BENCH_SKIP_ECHO:-0}" = 1 ] && exit "$status"

# stop_server PID: kill one server we started and forget it
stop_server() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    rest=""
    for p in $pids; do
        [ "$p" = "$1" ] || rest="$rest $p"
    done
    pids=$rest
}

# load NAME PORT PID LOG: run the load generator against one server;
# prints its result line, or nothing (and the server's log) on failure.
load() {
    if ! out=$(taskset -c "$CLIENT_CPU" "$B/echo_load" -a "127.0.0.1:$2" -n "$CONNS" -m 64 \
            -d "$SECS" -w "$WARM" -p "$3" 2>"$tmp/load.err"); then
        echo "# $1: load generator failed: $(cat "$tmp/load.err")" >&2
        if ! kill -0 "$3" 2>/dev/null; then
            echo "# $1: the server exited; its log:" >&2
            sed 's/^/#   /' "$4" >&2
        fi
        return 1
    fi
    echo "# $1: $out"
    printf '%s\n' "$out" >>"$tmp/$1.results"
    if ! printf '%s\n' "$out" | awk "$CLEAN_AWK"' END { exit !clean }'; then
        echo "# warning: $1: another process competed for the CPUs in this round" \
             "(run-queue waits or a starved client): it only counts if no round is clean"
    fi
}

# run_tickd [NAME [DAEMON_KEY_LINE]]: tickd's round (NAME defaults to
# tickd; tickd_noacct runs with `accounting = no`, for its overhead)
run_tickd() {
    name=${1:-tickd}
    port=$("$B/echo_load" --free-port) || return 1
    cat >"$tmp/tickd.ini" <<EOF
[daemon]
plugin_dir = $TICK_PLUGINS
log_level = warning
${2:-}

[plugin:echo]
listen = 127.0.0.1:$port
EOF
    taskset -c "$SERVER_CPU" "$TICKD" -c "$tmp/tickd.ini" >"$tmp/tickd.log" 2>&1 &
    pid=$!
    pids="$pids $pid"
    load "$name" "$port" "$pid" "$tmp/tickd.log"
    rc=$?
    stop_server "$pid"
    return $rc
}

run_raw() {
    port=$("$B/echo_load" --free-port) || return 1
    taskset -c "$SERVER_CPU" "$B/raw_echo" "127.0.0.1:$port" >"$tmp/raw.log" 2>&1 &
    pid=$!
    pids="$pids $pid"
    load raw "$port" "$pid" "$tmp/raw.log"
    rc=$?
    stop_server "$pid"
    return $rc
}

# A round is clean when neither pinned process waited for its CPU more
# than 5% of the window and the busy-polling client kept its core: awk
# code that sets `clean` from one echo_load result line.
# shellcheck disable=SC2016  # awk code, not shell
CLEAN_AWK='{
    delete kv
    for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
    clean = kv["client_cpu"] + 0 >= 0.9 && kv["server_rq_wait"] + 0 < 0.05 &&
            kv["client_rq_wait"] + 0 < 0.05
}'

# best FILE KEY max|min: the best value of KEY over a server's clean
# rounds (over all rounds if none is clean)
best() {
    [ -s "$1" ] || return 0
    awk -v key="$2" -v m="$3" "$CLEAN_AWK"'
        {
            v = kv[key] + 0
            if (clean && (nc++ == 0 || (m == "max" ? v > bc : v < bc))) bc = v
            if (na++ == 0 || (m == "max" ? v > ba : v < ba)) ba = v
        }
        END { print (nc ? bc : ba) }' "$1"
}

# clean_count FILE: "N of M"
clean_count() {
    [ -s "$1" ] || { echo "0 of 0"; return; }
    awk "$CLEAN_AWK"' { n += clean } END { print n + 0 " of " NR }' "$1"
}

echo "== echo: $CONNS connections x 64-byte ping-pong, ${SECS}s each (+${WARM}s warm-up);" \
     "servers on cpu $SERVER_CPU, load generator on cpu $CLIENT_CPU"
have_tickd=1
if [ ! -x "$TICKD" ] || [ ! -f "$TICK_PLUGINS/echo.so" ]; then
    echo "# tickd or the echo plugin is not built ($TICKD, $TICK_PLUGINS/echo.so): tickd side skipped"
    have_tickd=0
    status=1
fi
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    if [ "$have_tickd" = 1 ]; then
        run_tickd || status=1
        run_tickd tickd_noacct "accounting = no" || status=1
    fi
    run_raw || status=1
    r=$((r + 1))
done

echo "# clean rounds: tickd $(clean_count "$tmp/tickd.results"), tickd_noacct $(clean_count "$tmp/tickd_noacct.results"), raw $(clean_count "$tmp/raw.results")"
t_rate=$(best "$tmp/tickd.results" rate max)
r_rate=$(best "$tmp/raw.results" rate max)
t_cpu=$(best "$tmp/tickd.results" cpu_per_rt min)
r_cpu=$(best "$tmp/raw.results" cpu_per_rt min)
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b <= 0) print "n/a"; else printf "%.3f\n", a / b }'
}
rate_ratio=$(ratio "$t_rate" "$r_rate")
cpu_ratio=$(ratio "$t_cpu" "$r_cpu")
echo "BENCH echo_rtt_rate ${t_rate:-FAILED} rt/s raw=${r_rate:-FAILED} ratio=$rate_ratio"
echo "BENCH echo_cpu_per_rt ${t_cpu:-FAILED} ns raw=${r_cpu:-FAILED} ratio=$cpu_ratio"
# scope accounting: the same daemon with accounting = no, rounds interleaved
n_cpu=$(best "$tmp/tickd_noacct.results" cpu_per_rt min)
acct_ratio=$(ratio "$t_cpu" "$n_cpu")
echo "BENCH echo_acct_cpu_per_rt ${t_cpu:-FAILED} ns noacct=${n_cpu:-FAILED} ratio=$acct_ratio"
verdict() {
    awk -v x="$1" -v lim="$2" -v op="$3" 'BEGIN {
        if (x == "n/a") print "MISSED (not measured)";
        else if ((op == ">=" && x >= lim) || (op == "<=" && x <= lim)) print "met (" x ")";
        else print "MISSED (" x ")" }'
}
echo "TARGET echo_rtt_rate >= 0.95 x raw: $(verdict "$rate_ratio" 0.95 '>=')"
echo "TARGET echo_cpu_per_rt <= 1.05 x raw: $(verdict "$cpu_ratio" 1.05 '<=')"
echo "TARGET echo_acct_cpu_per_rt <= 1.03 x accounting off: $(verdict "$acct_ratio" 1.03 '<=')"
exit "$status"
