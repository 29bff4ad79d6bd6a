#!/bin/sh
# statsd.sh — the statsd workload of `make bench`: tickd (statsd + http
# plugins) against collectd 5.12 (statsd + write_prometheus), the same
# port layout (UDP for the lines, HTTP /metrics) and the same lines from
# the same bounded sender (statsd_load: 1,000,000 lines, 20 a datagram,
# 10,000 series, 20,000 datagrams/s), servers pinned to cpu 0, the sender
# to cpu 1, rounds alternating. net.core.rmem_max and rmem_default are
# raised for both (tickd also sets rcvbuf; collectd's statsd plugin has no
# receive-buffer option, so it gets rmem_default) and restored on exit.
#
# Per server and round: lines accepted (the counters' sum on /metrics
# against the counter lines sent; tickd also its lines - drops), the
# kernel's UDP receive-buffer drops (/proc/net/snmp RcvbufErrors), server
# CPU per 1,000 lines (/proc/PID/stat utime+stime from before the load to
# 2.5 s after it, the same window for both: collectd flushes each
# Interval; a server still busy then has a backlog, shown as the share of
# a core it used in the window's last second), RSS at the end
# (VmRSS), and the time to scrape /metrics (curl, best of 3).
#
# Environment: BENCH_BUILD, TICKD, TICK_PLUGINS (as run.sh); STATSD_ROUNDS
# (2), STATSD_LINES (1000000), STATSD_RATE (20000), STATSD_SERIES (10000),
# STATSD_SERVERS ("tickd collectd").
set -u
B=${BENCH_BUILD:?BENCH_BUILD must name the directory of the bench binaries}
TICKD=${TICKD:-$B/../tickd}
TICK_PLUGINS=${TICK_PLUGINS:-$B/../plugins}
ROUNDS=${STATSD_ROUNDS:-2}
LINES=${STATSD_LINES:-1000000}
RATE=${STATSD_RATE:-20000}
SERIES=${STATSD_SERIES:-10000}
PER=20
RCVBUF=$((32 * 1024 * 1024))
COLLECTD=$(command -v collectd || echo /usr/sbin/collectd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tick-statsd.XXXXXX") || exit 1
pid=""
old_max=$(cat /proc/sys/net/core/rmem_max)
old_def=$(cat /proc/sys/net/core/rmem_default)
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    echo "$old_max" > /proc/sys/net/core/rmem_max 2>/dev/null
    echo "$old_def" > /proc/sys/net/core/rmem_default 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ ! -x "$COLLECTD" ] || [ ! -f /usr/lib/collectd/write_prometheus.so ]; then
    echo "statsd: skipped: collectd (collectd-core, libmicrohttpd12, libprotobuf-c1) not installed"
    exit 0
fi
if ! echo "$RCVBUF" > /proc/sys/net/core/rmem_max || ! echo "$RCVBUF" > /proc/sys/net/core/rmem_default; then
    echo "statsd: cannot raise net.core.rmem_max (needs root): figures would measure the buffer"
    exit 1
fi

port_free() { ! ss -Hln "( sport = :$1 )" 2>/dev/null | grep -q .; }
UDP=18125
HTTP=18126
while ! port_free "$UDP" || ! port_free "$HTTP"; do UDP=$((UDP + 2)); HTTP=$((HTTP + 2)); done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
rcvbuf_errors() { awk '/^Udp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }
hz=$(getconf CLK_TCK)

wait_http() {
    i=0
    while ! curl -sf -o /dev/null "http://127.0.0.1:$HTTP/metrics"; do
        i=$((i + 1))
        [ "$i" -gt 100 ] && return 1
        sleep 0.05
    done
}

start_tickd() {
    cat > "$tmp/tickd.ini" <<EOT
[daemon]
plugin_dir = $TICK_PLUGINS
log_level = notice

[plugin:statsd]
module = statsd
listen_udp = 127.0.0.1:$UDP
rcvbuf = $RCVBUF
max_series = 100000

[plugin:http]
module = http
listen = 127.0.0.1:$HTTP
EOT
    taskset -c 0 "$TICKD" -c "$tmp/tickd.ini" > "$tmp/tickd.log" 2>&1 &
    pid=$!
}

start_collectd() {
    cat > "$tmp/collectd.conf" <<EOT
Hostname "bench"
FQDNLookup false
Interval 1
BaseDir "$tmp"
PIDFile "$tmp/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin statsd
LoadPlugin write_prometheus
<Plugin statsd>
  Host "127.0.0.1"
  Port "$UDP"
</Plugin>
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$HTTP"
</Plugin>
EOT
    taskset -c 0 "$COLLECTD" -f -C "$tmp/collectd.conf" > "$tmp/collectd.log" 2>&1 &
    pid=$!
}

# one round of one server: prints "name accepted sent kdrops cpu_per_1000 rss_kb scrape_ms"
round() {
    name=$1
    "start_$name"
    if ! wait_http; then
        echo "statsd: $name did not serve /metrics:" >&2
        cat "$tmp/$name.log" >&2
        return 1
    fi
    sleep 0.3
    c0=$(cpu_ticks "$pid")
    e0=$(rcvbuf_errors)
    out=$(taskset -c 1 "$B/statsd_load" "$UDP" "$LINES" "$PER" "$SERIES" "$RATE")
    # a fixed window for both: 2.5 s after the sender (collectd flushes
    # each Interval); then, was the server still busy in its last second?
    sleep 1.5
    mid=$(cpu_ticks "$pid")
    sleep 1
    c1=$(cpu_ticks "$pid")
    e1=$(rcvbuf_errors)
    busy=$(( (c1 - mid) * 100 / hz ))
    rss=$(rss_kb "$pid")
    best=""
    for _ in 1 2 3; do
        t=$(curl -s -o "$tmp/metrics.txt" -w '%{time_total}' "http://127.0.0.1:$HTTP/metrics")
        best=$(awk -v a="$t" -v b="${best:-999}" 'BEGIN { print (a < b) ? a : b }')
    done
    counters=$(echo "$out" | awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "counter") print $i }')
    if [ "$name" = tickd ]; then
        acc=$(awk '/^bench_metric_[0-9]+_total\{/ { s += $2 } END { printf "%d", s }' "$tmp/metrics.txt")
        extra=$(awk '/^statsd_lines_total\{.*udp/ { l = $2 } /^statsd_dropped_lines_total\{/ { d += $2 }
                     END { printf "lines %d, dropped %d", l, d }' "$tmp/metrics.txt")
    else
        acc=$(awk '/^collectd_statsd_derive_total\{/ { s += $2 } END { printf "%d", s }' "$tmp/metrics.txt")
        extra="-"
    fi
    size=$(wc -c < "$tmp/metrics.txt")
    kill "$pid"
    wait "$pid" 2>/dev/null
    pid=""
    awk -v n="$name" -v acc="$acc" -v sent="$counters" -v kd=$((e1 - e0)) \
        -v cpu=$((c1 - c0)) -v hz="$hz" -v lines="$LINES" -v rss="$rss" -v t="$best" \
        -v size="$size" -v extra="$extra" -v busy="$busy" 'BEGIN {
        printf "%-8s counters %d of %d accepted, kernel drops %d, CPU %.3f s = %.4f ms per 1000 lines, RSS %.1f MB, scrape %.1f ms (%d bytes), busy %d%% of a core in the last second of the window; %s\n",
            n, acc, sent, kd, cpu / hz, cpu / hz * 1000 / lines * 1000, rss / 1024, t * 1000, size, busy, extra }'
}

load1=$(cut -d' ' -f1 /proc/loadavg)
echo "== statsd: tickd (statsd + http) against collectd $($COLLECTD -h 2>&1 | awk '/^collectd/ { print $2; exit }') (statsd + write_prometheus);" \
     "$LINES lines, $PER a datagram, $SERIES series, $RATE datagrams/s; load average $load1"
: > "$tmp/results"
status=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for s in ${STATSD_SERVERS:-tickd collectd}; do
        line=$(round "$s") || { status=1; continue; }
        echo "  round $r: $line"
        echo "$line" >> "$tmp/results"
    done
    r=$((r + 1))
done
# the medians (the lower middle for an even count) and the ratios
awk '{ for (i = 1; i <= NF; i++) { if ($i == "per") cpu[$1] = cpu[$1] " " $(i - 2);
                                   if ($i == "RSS") rss[$1] = rss[$1] " " $(i + 1); } }
     function med(s,   a, n, i, j, t) { n = split(s, a, " ");
         for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
         return a[int((n + 1) / 2)] }
     END { if (!("tickd" in cpu) || !("collectd" in cpu)) exit
           ct = med(cpu["tickd"]); cc = med(cpu["collectd"]); rt = med(rss["tickd"]); rc = med(rss["collectd"])
           printf "  median: CPU per 1000 lines tickd %.4f ms, collectd %.4f ms: %.3fx (target <= 0.25x)\n", ct, cc, ct / cc
           printf "  median: RSS tickd %.1f MB, collectd %.1f MB: %.3fx (target <= 0.25x)\n", rt, rc, rt / rc }' "$tmp/results"
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
