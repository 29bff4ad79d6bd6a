/*
 * statsd — statsd (and DogStatsD tags) over UDP and TCP into /metrics.
 *
 *     [plugin:statsd]
 *     module = statsd
 *     listen_udp = 127.0.0.1:8125
 *     listen_tcp = 127.0.0.1:8125     ; optional
 *     rcvbuf = 8M                     ; SO_RCVBUF; the kernel's value is logged
 *     buckets = 0.005 0.01 0.1 1 10   ; ms (in seconds) and h histograms
 *     set_window = 60s
 *     expire = 5m
 *     max_series = 100000
 *
 * Lines (statsd_parse.h) are aggregated into tick metrics (statsd_agg.h):
 * c into counters (value / rate, monotonic totals), g into gauges (+N/-N
 * add), ms into histograms in seconds (the name unchanged, as
 * statsd_exporter does), h/d into histograms, s into a gauge of the
 * distinct values of the last set_window. One family per name; its label
 * names are the tag keys it was first seen with.
 *
 * Stateful (TICK_PLUGIN_STATEFUL): a reload stops this incarnation before
 * the next starts (the daemon keeps the sockets: datagrams wait in the
 * socket buffer), so no total is counted twice; the totals restart at
 * zero with each incarnation, as with any restart of statsd_exporter.
 */
#define _GNU_SOURCE          /* memrchr */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <tick/tick.h>

#include "statsd_agg.h"

#define SD_TICK (250 * TICK_MSEC)        /* sweep and set window timer */
#define SD_SWEEP_BUDGET 8192             /* series looked at per timer tick */

struct sd {
    /* keys */
    const char *listen_udp, *listen_tcp;
    uint64_t rcvbuf, max_datagram, max_line;
    tick_words buckets_words;
    uint64_t set_window, expire;
    uint32_t max_series, max_conns;
    /* state */
    double buckets[64];
    size_t nbuckets;
    struct statsd_agg agg;
    bool agg_ok;
    tick_loop *loop;
    tick_dgram_server *udp;
    tick_server *tcp;
    tick_timer timer;
    uint64_t window_end;
    uint64_t lines_total;                /* for the stop log */
    /* own metrics */
    tick_metric *bytes[2], *lines[2], *datagrams, *tag_errors, *expired;
    tick_metric *drops[STATSD_NREASONS];
};

enum { UDP, TCP };

static const tick_key sd_keys[] = {
    TICK_KEY_ADDRESSES(struct sd, listen_udp, "listen_udp", NULL, TICK_KEY_REQUIRED,
                       "UDP addresses to receive statsd lines on"),
    TICK_KEY_ADDRESSES(struct sd, listen_tcp, "listen_tcp", NULL, 0,
                       "TCP addresses (newline-separated lines); none by default"),
    TICK_KEY_SIZE(struct sd, rcvbuf, "rcvbuf", 0, 1 << 30, "0", 0,
                  "SO_RCVBUF of the UDP sockets (0: the kernel's default); "
                  "capped by net.core.rmem_max"),
    TICK_KEY_SIZE(struct sd, max_datagram, "max_datagram", 512, 65536, "64k", 0,
                  "longest datagram received whole (a longer one loses its last line)"),
    TICK_KEY_SIZE(struct sd, max_line, "max_line", 64, 1 << 20, "64k", 0,
                  "longest TCP line"),
    TICK_KEY_INT(struct sd, max_conns, "max_conns", 1, 100000, "1000", 0,
                 "TCP connections at once"),
    TICK_KEY_WORDS(struct sd, buckets_words, "buckets", 1, 64,
                   "0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10", 0,
                   "histogram upper bounds for ms (in seconds) and h, increasing"),
    TICK_KEY_DURATION(struct sd, set_window, "set_window", TICK_SEC, 0, "60s", 0,
                      "sets: distinct values counted over this window"),
    TICK_KEY_DURATION(struct sd, expire, "expire", TICK_SEC, 0, "5m", 0,
                      "a series not updated for this long is deleted"),
    TICK_KEY_INT(struct sd, max_series, "max_series", 1, 10000000, "100000", 0,
                 "series at most; lines for more are dropped (counted)"),
    TICK_KEY_END
};

static int sd_configure(tick_instance *in, const char *key, const char *value)
{
    struct sd *s = tick_instance_data(in);
    (void)key, (void)value;
    s->nbuckets = 0;
    for (size_t i = 0; i < s->buckets_words.n; i++) {
        const char *w = s->buckets_words.v[i];
        char *end;
        double b = strtod(w, &end);
        if (end == w || *end || !isfinite(b))
            return tick_instance_error(in, "buckets: '%s' is not a finite number", w);
        if (i > 0 && !(b > s->buckets[i - 1]))
            return tick_instance_error(in, "buckets: %s is not above %s", w,
                                       s->buckets_words.v[i - 1]);
        s->buckets[s->nbuckets++] = b;
    }
    return 0;
}

/* ---- lines -------------------------------------------------------------- */

static inline void sd_drop(struct sd *s, enum statsd_reason r)
{
    tick_counter_inc(s->drops[r]);
}

/* One line, no '\n'. */
static inline void sd_line(struct sd *s, const char *p, size_t n, uint64_t now_ns)
{
    struct statsd_line l;
    enum statsd_reason r = statsd_parse_line(p, n, &l);
    if (r == STATSD_OK) {
        if (l.tag_errors)
            tick_counter_add(s->tag_errors, l.tag_errors);
        r = statsd_agg_apply(&s->agg, &l, now_ns);
    }
    if (r != STATSD_OK)
        sd_drop(s, r);
}

/* The lines of p[0..n): every complete or last line. Returns the count. */
static uint64_t sd_lines(struct sd *s, const char *p, size_t n, uint64_t now_ns)
{
    uint64_t count = 0;
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && !(le - p == 1 && *p == '\r')) {
            sd_line(s, p, (size_t)(le - p), now_ns);
            count++;
        }
        p = le + 1;
    }
    return count;
}

static inline uint64_t sd_now(struct sd *s)
{
    return tick_now(s->loop);
}

static void sd_datagrams(void *user, int fd, const tick_dgram *m, unsigned n)
{
    struct sd *s = user;
    uint64_t now_ns = sd_now(s);
    uint64_t bytes = 0, lines = 0;
    (void)fd;
    for (unsigned i = 0; i < n; i++) {
        const char *p = m[i].data;
        size_t len = m[i].len;
        bytes += len;
        if (m[i].truncated) {
            /* the last line is cut: drop it, keep the others */
            const char *nl = memrchr(p, '\n', len);
            len = nl ? (size_t)(nl - p) : 0;
            sd_drop(s, STATSD_R_TRUNCATED);
            lines++;
        }
        lines += sd_lines(s, p, len, now_ns);
    }
    tick_counter_add(s->bytes[UDP], (double)bytes);
    tick_counter_add(s->lines[UDP], (double)lines);
    tick_counter_add(s->datagrams, n);
    s->lines_total += lines;
}

/* ---- TCP ---------------------------------------------------------------- */

struct sd_conn {
    tick_conn conn;
    bool skipping;                       /* the rest of an over-long line */
};

static int sd_conn_step(tick_task *t)
{
    struct sd_conn *c = (struct sd_conn *)tick_conn_of(t);
    struct sd *s = tick_server_user(c->conn.server);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_stream_read_line(c->conn.stream, s->max_line), rc);
        if (rc == -EMSGSIZE) {
            size_t len;
            tick_stream_peek(c->conn.stream, &len);
            tick_counter_add(s->bytes[TCP], (double)len);
            tick_stream_consume(c->conn.stream, len);
            if (!c->skipping) {
                sd_drop(s, STATSD_R_TRUNCATED);
                tick_counter_inc(s->lines[TCP]);
                s->lines_total++;
            }
            c->skipping = true;
            continue;
        }
        if (rc == -EPIPE) {              /* the end, after a line without '\n' */
            size_t len;
            const char *p = tick_stream_peek(c->conn.stream, &len);
            uint64_t lines = c->skipping ? 0 : sd_lines(s, p, len, sd_now(s));
            tick_counter_add(s->lines[TCP], (double)lines);
            tick_counter_add(s->bytes[TCP], (double)len);
            s->lines_total += lines;
            tick_stream_consume(c->conn.stream, len);
            rc = 0;
            break;
        }
        if (rc <= 0)
            break;
        /* every complete line buffered, not only the first */
        size_t len;
        const char *p = tick_stream_peek(c->conn.stream, &len);
        const char *last = memrchr(p, '\n', len);
        size_t n = (size_t)(last - p) + 1, skip = 0;   /* rc > 0: there is one */
        if (c->skipping) {
            skip = (size_t)rc;                /* the tail of the long line */
            c->skipping = false;
        }
        uint64_t lines = sd_lines(s, p + skip, n - skip, sd_now(s));
        tick_counter_add(s->lines[TCP], (double)lines);
        tick_counter_add(s->bytes[TCP], (double)n);
        s->lines_total += lines;
        tick_stream_consume(c->conn.stream, n);
    }
    if (rc == -ECANCELED)
        TICK_FAIL(t, rc);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class sd_conn_class = { .step = sd_conn_step };

/* ---- timer: expiry and set windows -------------------------------------- */

static void sd_fire(tick_handle *h)
{
    struct sd *s = tick_container_of(h, struct sd, timer.handle);
    uint64_t now = tick_now(s->loop);
    statsd_agg_sweep(&s->agg, now, SD_SWEEP_BUDGET);
    if (now >= s->window_end) {
        statsd_agg_set_window(&s->agg);
        s->window_end = now + s->set_window;
    }
    tick_timer_repeat(s->loop, &s->timer, SD_TICK);
}

/* The leases ended (a reload): stop the timer so that the instance
 * drains at once and its successor starts (stateful: it waits for us). */
static void sd_udp_ended(void *user)
{
    struct sd *s = user;
    tick_timer_stop(s->loop, &s->timer);
}

static void sd_collect_series(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    struct sd *s = user;
    (void)f;
    tick_metric_emit(sink, NULL, (double)s->agg.nseries);
}

static void sd_collect_expired(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    struct sd *s = user;
    (void)f;
    tick_metric_emit(sink, NULL, (double)s->agg.expired);
}

/* ---- start / stop ------------------------------------------------------- */

static int sd_own_metrics(tick_instance *in, struct sd *s)
{
    static const char *const tr[] = { "transport", NULL };
    static const char *const reason[] = { "reason", NULL };
    tick_metric_family *f;
    int rc;
#define FAM(NAME, HELP, TYPE, LABELS)                                        \
    if ((rc = tick_metric_family_new(&(tick_metric_desc){ .name = NAME,      \
             .help = HELP, .type = TYPE, .labels = LABELS }, &f)) < 0)       \
        return tick_instance_error(in, "metric %s: %s", NAME, strerror(-rc))
    FAM("statsd_bytes", "Bytes received.", TICK_METRIC_COUNTER, tr);
    tick_metric_get(f, (const char *[]){ "udp" }, &s->bytes[UDP]);
    tick_metric_get(f, (const char *[]){ "tcp" }, &s->bytes[TCP]);
    FAM("statsd_lines", "Lines received (non-empty), accepted or dropped.",
        TICK_METRIC_COUNTER, tr);
    tick_metric_get(f, (const char *[]){ "udp" }, &s->lines[UDP]);
    tick_metric_get(f, (const char *[]){ "tcp" }, &s->lines[TCP]);
    FAM("statsd_datagrams", "UDP datagrams received.", TICK_METRIC_COUNTER, NULL);
    s->datagrams = tick_metric_of(f);
    FAM("statsd_dropped_lines", "Lines dropped, by reason.", TICK_METRIC_COUNTER, reason);
    for (int r = 1; r < STATSD_NREASONS; r++)
        tick_metric_get(f, (const char *[]){ statsd_reason_names[r] }, &s->drops[r]);
    FAM("statsd_tag_errors", "Tags skipped (no value, or a reserved label name).",
        TICK_METRIC_COUNTER, NULL);
    s->tag_errors = tick_metric_of(f);
#undef FAM
    if ((rc = tick_metric_family_callback(&(tick_metric_desc){ .name = "statsd_series",
             .help = "Series held.", .type = TICK_METRIC_GAUGE },
             sd_collect_series, NULL, s, &f)) < 0 ||
        (rc = tick_metric_family_callback(&(tick_metric_desc){
             .name = "statsd_expired_series", .help = "Series deleted after expire.",
             .type = TICK_METRIC_COUNTER }, sd_collect_expired, NULL, s, &f)) < 0)
        return tick_instance_error(in, "statsd_series: %s", strerror(-rc));
    return 0;
}

static void sd_set_rcvbuf(struct sd *s)
{
    for (unsigned i = 0;; i++) {
        int fd = tick_dgram_server_fileno(s->udp, i);
        if (fd < 0)
            break;
        int want = (int)s->rcvbuf, got = 0;
        socklen_t len = sizeof got;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want) < 0)
            tick_log(TICK_LOG_WARNING, "SO_RCVBUF %d: %s", want, strerror(errno));
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
        /* the kernel doubles what it grants (bookkeeping); half is the payload */
        if (got / 2 < want)
            tick_log(TICK_LOG_WARNING, "rcvbuf %d: the kernel gave %d (SO_RCVBUF reads %d;"
                     " raise net.core.rmem_max)", want, got / 2, got);
        else
            tick_log(TICK_LOG_INFO, "rcvbuf %d (SO_RCVBUF reads %d)", want, got);
    }
}

static int sd_start(tick_instance *in)
{
    struct sd *s = tick_instance_data(in);
    int rc;

    s->loop = tick_instance_loop(in);
    tick_timer_init(&s->timer, "statsd sweep", sd_fire);
    s->agg.max_series = s->max_series;
    s->agg.expire_ns = s->expire;
    s->agg.buckets = s->buckets;
    s->agg.nbuckets = s->nbuckets;
    s->agg.loop = s->loop;
    s->agg.scope = tick_scope_current(s->loop);
    if (statsd_agg_init(&s->agg) < 0)
        return tick_instance_error(in, "out of memory"), -ENOMEM;
    s->agg_ok = true;
    if ((rc = sd_own_metrics(in, s)) < 0)
        return rc;
    if ((rc = tick_dgram_server_start_cfg(in, &(struct tick_dgram_config){
             .listen = s->listen_udp, .fn = sd_datagrams, .user = s,
             .max_datagram = s->max_datagram, .ended = sd_udp_ended }, &s->udp)) < 0)
        return rc;
    if (s->rcvbuf)
        sd_set_rcvbuf(s);
    if (s->listen_tcp) {
        struct tick_server_config cfg = {
            .listen = s->listen_tcp, .max_conns = s->max_conns,
            .conn_size = sizeof(struct sd_conn), .conn_class = &sd_conn_class,
            .task_name = "statsd conn",
        };
        if ((rc = tick_server_start(in, &cfg, &s->tcp)) < 0)
            return rc;
        tick_server_set_user(s->tcp, s);
    }
    s->window_end = tick_now(s->loop) + s->set_window;
    if ((rc = tick_call_later(s->loop, &s->timer, SD_TICK)) < 0)
        return tick_instance_error(in, "timer: %s", strerror(-rc));
    tick_log(TICK_LOG_INFO, "udp on %s%s%s", s->listen_udp,
             s->listen_tcp ? ", tcp on " : "", s->listen_tcp ? s->listen_tcp : "");
    tick_instance_set_status(in, "udp %s%s%s", s->listen_udp,
                             s->listen_tcp ? " tcp " : "", s->listen_tcp ? s->listen_tcp : "");
    return 0;
}

static void sd_stop(tick_instance *in)
{
    struct sd *s = tick_instance_data(in);
    tick_log(TICK_LOG_INFO, "stopping after %llu lines, %zu series",
             (unsigned long long)s->lines_total, s->agg.nseries);
}

static void sd_release(tick_instance *in)
{
    struct sd *s = tick_instance_data(in);
    if (s->agg_ok)
        statsd_agg_free(&s->agg);
    s->agg_ok = false;
}

TICK_PLUGIN(.name = "statsd", .version = "1.0",
            .instance_size = sizeof(struct sd),
            .flags = TICK_PLUGIN_STATEFUL,
            .keys = sd_keys,
            .configure = sd_configure,
            .start = sd_start, .stop = sd_stop, .release = sd_release);
