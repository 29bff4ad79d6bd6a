#!/bin/sh
# resp.sh — the RESP workload of `make bench` (run.sh calls it; alone:
# make -C bench resp-only): tickd + the kv plugin against redis-server
# (Debian; save "", appendonly no) and bench/raw_resp.c (the physical
# floor: PING, GET, SET), with redis-benchmark as the load generator, at
# -P 1 and -P 16, -c 50; then kv (aof_fsync = everysec) against redis
# (appendonly yes, appendfsync everysec). Servers on cpu 0, the client
# on cpu 1; the servers run side by side and every command is measured
# on each in turn, RESP_ROUNDS rounds with the order rotating (run_set
# says why); per command the median round. Printed per command: ops/s,
# each server's CPU per operation (utime+stime from /proc/PID/stat, all
# threads) with its min-max over the rounds, the ratios, the client
# core's load (cpu 1 busy, from /proc/stat) and the server loop's sleeps
# per operation (voluntary context switches). Then RSS per million 16-byte keys (16-byte values), kv
# against redis. Environment: RESP_N1 (requests per command at -P 1,
# 100000), RESP_N16 (500000), RESP_ROUNDS (5), RESP_SKIP_AOF=1,
# RESP_SKIP_RSS=1, RESP_LOAD_MB (the AOF loaded at the end while the
# loop is probed: 1024; 0 skips).
set -u
B=${BENCH_BUILD:?}
TICKD=${TICKD:-$B/../tickd}
TICK_PLUGINS=${TICK_PLUGINS:-$B/../plugins}
N1=${RESP_N1:-100000}
N16=${RESP_N16:-500000}
ROUNDS=${RESP_ROUNDS:-5}
CMDS="ping_mbulk set get incr lpush lpop mset"
FLOOR="ping_mbulk set get"
HZ=$(getconf CLK_TCK)

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "== RESP: skipped (redis-server/redis-benchmark missing: tools/deps.sh bench)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tick-resp.XXXXXX") || exit 1
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# below the ephemeral range (32768-): a client's local port would block a bind
port=$(( 12000 + $$ % 16000 ))
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu1() { awk '$1 == "cpu1" { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat; }
wait_port() {
    for _ in $(seq 1 200); do
        redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# start SERVER MODE: sets $spid, $sport
start() {
    port=$((port + 1))
    while ss -tan 2>/dev/null | awk '{ print $4 }' | grep -q ":$port\$"; do
        port=$((port + 1))                # taken by someone else
    done
    sport=$port
    case "$1" in
    kv)
        extra=""
        [ "$2" = aof ] && extra="aof = $tmp/kv-$sport.aof
aof_fsync = everysec"
        cat > "$tmp/kv-$sport.ini" <<EOC
[daemon]
plugin_dir = $TICK_PLUGINS
control_socket = no
log_level = warning
[plugin:kv]
module = kv
listen = 127.0.0.1:$sport
$extra
EOC
        taskset -c 0 "$TICKD" -c "$tmp/kv-$sport.ini" >"$tmp/kv-$sport.log" 2>&1 &
        ;;
    redis)
        if [ "$2" = aof ]; then
            taskset -c 0 redis-server --save "" --appendonly yes --appendfsync everysec \
                --dir "$tmp" --appendfilename "r$sport.aof" --port "$sport" --daemonize no \
                >"$tmp/redis-$sport.log" 2>&1 &
        else
            taskset -c 0 redis-server --save "" --appendonly no --port "$sport" \
                --daemonize no >"$tmp/redis-$sport.log" 2>&1 &
        fi
        ;;
    raw) taskset -c 0 "$B/raw_resp" "127.0.0.1:$sport" &
        ;;
    esac
    spid=$!
    pids="$pids $spid"
    wait_port "$sport" || { echo "# $1 did not start"; cat "$tmp"/*.log; exit 1; }
}
stop() { kill "$spid"; wait "$spid" 2>/dev/null; }

# the loop thread's sleeps: voluntary context switches (the main thread
# is kv's loop, redis's event loop and raw_resp's only thread)
vcsw() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status"; }

# measure PID PORT CMD P N: prints "ops_per_s ns_cpu_per_op client_load
# sleeps_per_op"
measure() {
    c0=$(cpu_ticks "$1"); v0=$(vcsw "$1"); set -- "$@" $(cpu1)
    out=$(taskset -c 1 timeout 120 redis-benchmark -p "$2" -c 50 -P "$4" -n "$5" -t "$3" \
          -r 100000 -q --csv 2>/dev/null | tail -1)
    c1=$(cpu_ticks "$1"); v1=$(vcsw "$1"); set -- "$@" $(cpu1)
    rps=$(echo "$out" | cut -d, -f2 | tr -d '"')
    awk -v rps="$rps" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v n="$5" -v v0="$v0" -v v1="$v1" \
        -v b0="$6" -v t0="$7" -v b1="$8" -v t1="$9" \
        'BEGIN { printf "%.0f %.0f %.2f %.3f\n", rps, (c1 - c0) / hz * 1e9 / n,
                 (t1 > t0) ? (b1 - b0) / (t1 - t0) : 0, (v1 - v0) / n }'
}

# All the servers of a set run at once (an idle one costs its own pid a
# 10 Hz cron, nothing to the others). Each round measures every command
# on every server back to back, the servers' order rotating from round to
# round, so a slow minute of the machine falls on all of them: paired
# figures, not one server's good minute against another's bad one. Each
# server's keyspace is emptied (FLUSHALL) before each round, so every
# round starts from the same state. Printed per command and server: the
# median of the rounds (ops/s, CPU per op, client load, sleeps per op)
# and the CPU per op's min-max; the ratios and targets use the medians.
run_set() {   # MODE SERVERS...
    mode=$1; shift

    servers="$*"; spids=""; sports=""
    for s in $servers; do
        start "$s" "$mode"
        spids="$spids $spid"; sports="$sports $sport"
    done
    for p in 1 16; do
        n=$N1; [ "$p" = 16 ] && n=$N16
        echo "-- -P $p, -c 50, -n $n per command, $ROUNDS rounds, servers interleaved (medians)"
        : > "$tmp/res"
        r=1
        while [ "$r" -le "$ROUNDS" ]; do
            # rotate the order: round r starts with server (r mod count)
            order=$(echo "$servers" | awk -v r="$r" '{ for (i = 0; i < NF; i++)
                      printf "%d ", (i + r - 1) % NF + 1 }')
            for i in $order; do
                s=$(echo "$servers" | cut -d' ' -f"$i")
                [ "$s" = raw ] || redis-cli -p "$(echo $sports | cut -d' ' -f"$i")" FLUSHALL >/dev/null
            done
            for c in $CMDS; do
                for i in $order; do
                    s=$(echo "$servers" | cut -d' ' -f"$i")
                    if [ "$s" = raw ] && ! echo " $FLOOR " | grep -q " $c "; then continue; fi
                    echo "$s $c $(measure "$(echo $spids | cut -d' ' -f"$i")" \
                                  "$(echo $sports | cut -d' ' -f"$i")" "$c" "$p" "$n")" >> "$tmp/res"
                done
            done
            r=$((r + 1))
        done
        printf "%-10s %-6s %10s %10s %13s %6s %9s\n" cmd server ops/s ns_cpu/op min-max client sleeps/op
        for c in $CMDS; do
            for s in $servers; do
                awk -v s="$s" -v c="$c" '$1 == s && $2 == c' "$tmp/res" | sort -k4,4n | awk -v s="$s" -v c="$c" '
                    { cpu[NR] = $4; rps[NR] = $3; cl[NR] = $5; sl[NR] = $6 }
                    END { if (!NR) exit
                          m = int((NR + 1) / 2)
                          # the median round by CPU per op; the other columns are its
                          printf "%s %s %d %d %d-%d %s %s\n", s, c, rps[m], cpu[m], cpu[1], cpu[NR], cl[m], sl[m] }'
            done
        done | awk '{ printf "%-10s %-6s %10d %10d %13s %6s %9s\n", $2, $1, $3, $4, $5, $6, $7 }
                    { cpu[$1 "," $2] = $4; if (!($2 in seen)) { seen[$2] = 1; cmds[++nc] = $2 } }
                    END { for (j = 1; j <= nc; j++) { c = cmds[j]
                            k = cpu["kv," c]; r = cpu["redis," c]; w = cpu["raw," c];
                            line = sprintf("   ratio %-10s kv/redis %.2f", c, r ? k / r : 0);
                            if (w) line = line sprintf("  kv/raw %.2f (target <= 1.15)", k / w);
                            line = line ((r && k < r) ? "  below redis: yes" : "  below redis: NO");
                            print line } }'
    done
    for spid in $spids; do stop; done
}

echo "== RESP: kv vs redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') vs raw_resp" \
     "(servers on cpu 0, redis-benchmark on cpu 1; load average $(cut -d' ' -f1-3 /proc/loadavg))"
run_set none kv redis raw
if [ "${RESP_SKIP_AOF:-0}" != 1 ]; then
    echo "== RESP, persisting every second: kv aof_fsync = everysec vs redis appendonly yes," \
         "appendfsync everysec"
    run_set aof kv redis
fi

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
if [ "${RESP_SKIP_RSS:-0}" != 1 ]; then
    echo "== RSS per million 16-byte keys (16-byte values), loaded with redis-cli --pipe"
    awk 'BEGIN { for (i = 0; i < 1000000; i++) { k = sprintf("key:%012d", i);
                 printf "*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$16\r\n%s\r\n", k, k } }' > "$tmp/keys.resp"
    for s in kv redis; do
        start "$s" none
        r0=$(rss_kb "$spid")
        redis-cli -p "$sport" --pipe < "$tmp/keys.resp" >/dev/null
        r1=$(rss_kb "$spid")
        keys=$(redis-cli -p "$sport" DBSIZE)
        echo "$s $(( (r1 - r0) / 1024 )) MB for $keys keys"
        stop
    done | tee "$tmp/rss" | sed 's/^/   /'
    awk '{ m[$1] = $2 } END { if (m["redis"]) printf "   ratio kv/redis %.2f\n", m["kv"] / m["redis"] }' "$tmp/rss"
fi

# Loading a large AOF: the loop keeps answering (-LOADING) and the http
# plugin's /healthz says 503 until the load is done.
LOAD_MB=${RESP_LOAD_MB:-1024}
if [ "$LOAD_MB" -gt 0 ]; then
    echo "== loading a $LOAD_MB MB AOF (SET key:N <200 bytes>): -LOADING and /healthz meanwhile"
    awk -v mb="$LOAD_MB" 'BEGIN { v = sprintf("%200s", ""); gsub(/ /, "v", v); lim = mb * 1048576;
        for (i = 0; size < lim; i++) { k = "key:" i;
            r = sprintf("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$200\r\n%s\r\n", length(k), k, v);
            printf "%s", r; size += length(r) } }' > "$tmp/big.aof"
    port=$((port + 1)); hport=$((port + 1))
    cat > "$tmp/kvl.ini" <<EOC
[daemon]
plugin_dir = $TICK_PLUGINS
control_socket = no
[plugin:kv]
module = kv
listen = 127.0.0.1:$port
aof = $tmp/big.aof
[plugin:web]
module = http
listen = 127.0.0.1:$hport
EOC
    t0=$(date +%s%N)
    taskset -c 0 "$TICKD" -c "$tmp/kvl.ini" >"$tmp/kvl.log" 2>&1 &
    spid=$!
    pids="$pids $spid"
    loading=0 h503=0 worst=0
    sleep 0.2
    while :; do
        a=$(date +%s%N)
        r=$(redis-cli -p "$port" GET key:0 2>&1)
        b=$(date +%s%N)
        lat=$(( (b - a) / 1000000 )); [ "$lat" -gt "$worst" ] && worst=$lat
        case "$r" in
        *LOADING*) loading=$((loading + 1))
                   [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/healthz")" = 503 ] &&
                       h503=$((h503 + 1)) ;;
        *Could*) ;;
        *) break ;;
        esac
        sleep 0.2
    done
    t1=$(date +%s%N)
    echo "   loaded in $(( (t1 - t0) / 1000000 )) ms: $loading -LOADING replies, $h503 /healthz 503," \
         "slowest probe $worst ms (a redis-cli start included); $(redis-cli -p "$port" DBSIZE) keys;" \
         "/healthz now $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/healthz")"
    grep 'aof: loaded' "$tmp/kvl.log" | sed 's/^/   /'
    stop
fi
