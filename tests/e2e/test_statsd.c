/*
 * test_statsd.c — the statsd plugin in the real daemon, fed by python
 * UDP and TCP clients (tests/e2e/statsd_send.py), /metrics read through
 * the metricsdump fixture (the whole text, as the http plugin serves it)
 * and checked by promtool: every type, sampling, tags, malformed lines
 * (counted per reason, the rest of the datagram kept), a 64 KiB
 * datagram, a truncated one, TCP lines, expiry, max_series, and a reload
 * in the middle of a stream (no line counted twice or lost).
 */
#include "e2e.h"
#include "scrape.h"

/* a private plugin dir: the real statsd next to the metricsdump fixture */
static void plugin_dir(e2e_daemon *d, char *out, size_t len)
{
    char from[PATH_MAX], to[PATH_MAX];
    E2E_FMT(out, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(out, 0755), 0);
    E2E_FMT(from, sizeof from, "%s/statsd.so", e2e_plugins());
    E2E_FMT(to, sizeof to, "%s/statsd.so", out);
    e2e_copy_file(from, to, 0755);
    E2E_FMT(from, sizeof from, "%s/http.so", e2e_plugins());
    E2E_FMT(to, sizeof to, "%s/http.so", out);
    e2e_copy_file(from, to, 0755);
    E2E_FMT(from, sizeof from, "%s/metricsdump.so", e2e_fixtures());
    E2E_FMT(to, sizeof to, "%s/metricsdump.so", out);
    e2e_copy_file(from, to, 0755);
}

struct sd_test {
    e2e_daemon d;
    char plugins[PATH_MAX], prom[PATH_MAX];
    uint16_t port, port2, http;
};

static void sd_config(struct sd_test *t, const char *keys)
{
    e2e_config(&t->d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 3s\n"
        "\n"
        "[plugin:sd]\n"
        "module = statsd\n"
        "listen_udp = 127.0.0.1:%u\n"
        "listen_tcp = 127.0.0.1:%u\n"
        "%s"
        "\n"
        "[plugin:small]\n"
        "module = statsd\n"
        "listen_udp = 127.0.0.1:%u\n"
        "max_datagram = 512\n"
        "\n"
        "[plugin:dump]\n"
        "module = metricsdump\n"
        "path = %s\n"
        "slice = 65536\n"
        "every = 5ms\n"
        "\n"
        "[plugin:web]\n"
        "module = http\n"
        "listen = 127.0.0.1:%u\n",
        t->plugins, t->port, t->port, keys, t->port2, t->prom, t->http);
}

static void sd_start(struct sd_test *t, const char *keys)
{
    e2e_daemon_init(&t->d);
    plugin_dir(&t->d, t->plugins, sizeof t->plugins);
    E2E_FMT(t->prom, sizeof t->prom, "%s/metrics.prom", t->d.dir);
    t->port = e2e_free_port();
    do
        t->port2 = e2e_free_port();
    while (t->port2 == t->port);
    do
        t->http = e2e_free_port();
    while (t->http == t->port || t->http == t->port2);
    sd_config(t, keys);
    e2e_start(&t->d);
}

/* python3 statsd_send.py MODE PORT, with payload written to a file */
static void send_payload(struct sd_test *t, const char *mode, uint16_t port,
                         const void *data, size_t len)
{
    char path[PATH_MAX], cmd[PATH_MAX * 3];
    E2E_FMT(path, sizeof path, "%s/payload", t->d.dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    E2E_FMT(cmd, sizeof cmd, "python3 '%s/tests/e2e/statsd_send.py' %s %u '%s'",
            e2e_src(), mode, port, path);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

#define SEND(t, mode, s) send_payload((t), (mode), (t)->port, (s), strlen(s))

/* The value of the sample whose line starts with `series ` (the whole
 * series text, labels included), or NAN when absent. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

/* The scrape without the daemon's families and comments, at most 3 KiB
 * (Check's messages are bounded). */
static const char *brief(const char *s)
{
    static char out[3072];
    size_t o = 0;
    for (const char *p = s; p && *p && o + 2 < sizeof out;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "tickd_", 6) && strncmp(p, "process_", 8) && strncmp(p, "dump_", 5) &&
            p[0] != '#') {
            if (n > sizeof out - 1 - o)
                n = sizeof out - 1 - o;
            memcpy(out + o, p, n);
            o += n;
        }
        p += nl ? (size_t)(nl - p) + 1 : n;
    }
    out[o] = 0;
    return out;
}

/* Wait until a scrape shows series == want; returns the scrape. */
static char *wait_value(struct sd_test *t, const char *series, double want, int timeout_ms)
{
    char *s = NULL;
    for (int64_t end = e2e_now_ms() + timeout_ms; e2e_now_ms() < end; e2e_sleep_ms(20)) {
        free(s);
        s = e2e_read_file(t->prom);
        if (s && value_of(s, series) == want)
            return s;
    }
    ck_abort_msg("%s is not %g within %d ms (it is %g) in:\n%s", series, want, timeout_ms,
                 s ? value_of(s, series) : NAN, s ? brief(s) : "(no scrape)");
    return NULL;
}

#define VAL_IS(s, series, want)                                                  \
    ck_assert_msg(value_of((s), (series)) == (want), "%s: %g, not %g, in:\n%s",    \
                  (series), value_of((s), (series)), (double)(want), brief(s))

#define I "{tickd_instance=\"sd\""

START_TEST(every_type_tags_sampling_malformed)
{
    struct sd_test t;
    sd_start(&t, "set_window = 1s\nbuckets = 0.01 0.1 1 10\nrcvbuf = 1M\n");
    /* granted or clamped by net.core.rmem_max, the value read back is logged */
    ck_assert_msg(e2e_wait_log(&t.d, "plugin:sd: rcvbuf 1048576", 2000) &&
                  e2e_wait_log(&t.d, "(SO_RCVBUF reads ", 10), "%s", e2e_read_file(t.d.err));
    SEND(&t, "udp",
         "app.requests:1|c\n"
         "app.requests:2|c|@0.5\n"              /* 4 */
         "app.temperature:20|g\n"
         "app.temperature:+5|g\n"
         "app.temperature:-3|g\n"               /* 22 */
         "app.latency:50|ms\n"                  /* 0.05 s */
         "app.latency:500|ms|@0.5\n"            /* 0.5 s, twice */
         "app.size:3|h\n"
         "app.users:alice|s\napp.users:bob|s\napp.users:alice|s\n"
         "http.hits:1|c|#route:/a,code:200\n"
         "http.hits:2|c|#code:200,route:/a\n"   /* the same series */
         "http.hits:5|c|#route:/b,code:500\n"
         "http.hits:1|c|#route:/b\n"            /* other tag keys: refused */
         "http.hits:1|g|#route:/a,code:200\n"   /* another type: refused */
         "tagged.bare:1|c|#bare,ok:1\n"         /* no value: the tag skipped */
         "nocolon\n"
         "bad:1|x\n"
         "bad:x|c\n"
         "bad:-1|c\n"
         "bad:1|c|@2\n"
         "_e{1,1}:a|b\n"
         "clash:1|c\n"                          /* clash_total, a counter */
         "clash_total:1|g\nclash_total:2|g\nclash_total:3|g\n"  /* refused once */
         "\n"
         "app.requests:10|c\n");                /* after the bad ones: 15 */
    SEND(&t, "tcp", "tcp.lines:1|c\ntcp.lines:2|c\ntcp.level:7|g\r\npartial:5|c");
    char *s = wait_value(&t, "tcp_lines_total" I "}", 3, 5000);
    free(s);
    s = wait_value(&t, "partial_total" I "}", 5, 5000);   /* the last line, no '\n' */
    VAL_IS(s, "app_requests_total" I "}", 15);
    VAL_IS(s, "app_temperature" I "}", 22);
    VAL_IS(s, "app_latency_count" I "}", 3);
    VAL_IS(s, "app_latency_sum" I "}", 1.05);
    VAL_IS(s, "app_latency_bucket" I ",le=\"0.01\"}", 0);
    VAL_IS(s, "app_latency_bucket" I ",le=\"0.1\"}", 1);
    VAL_IS(s, "app_latency_bucket" I ",le=\"1\"}", 3);
    VAL_IS(s, "app_latency_bucket" I ",le=\"+Inf\"}", 3);
    VAL_IS(s, "app_size_bucket" I ",le=\"10\"}", 1);
    VAL_IS(s, "app_size_sum" I "}", 3);
    VAL_IS(s, "app_users" I "}", 2);
    VAL_IS(s, "http_hits_total" I ",code=\"200\",route=\"/a\"}", 3);
    VAL_IS(s, "http_hits_total" I ",code=\"500\",route=\"/b\"}", 5);
    VAL_IS(s, "tagged_bare_total" I ",ok=\"1\"}", 1);
    VAL_IS(s, "tcp_level" I "}", 7);
    ck_assert_msg(strstr(s, "\n# TYPE app_latency histogram\n"), "%s", brief(s));
    ck_assert_msg(strstr(s, "\n# TYPE app_users gauge\n"), "%s", brief(s));
    ck_assert_msg(strstr(s, "\n# TYPE http_hits_total counter\n"), "%s", brief(s));
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"label_mismatch\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"type_conflict\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"format\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"type\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"value\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"negative_counter\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"sample_rate\"}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"event\"}", 1);
    VAL_IS(s, "statsd_tag_errors_total" I "}", 1);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"register\"}", 3);
    VAL_IS(s, "clash_total" I "}", 1);
    VAL_IS(s, "statsd_lines_total" I ",transport=\"udp\"}", 28);
    VAL_IS(s, "statsd_lines_total" I ",transport=\"tcp\"}", 4);
    VAL_IS(s, "statsd_datagrams_total" I "}", 1);
    VAL_IS(s, "statsd_series" I "}", 12);
    {
        char *log = e2e_read_file(t.d.err);
        ck_assert_msg(e2e_count_substr(log, "metric 'clash_total': type gauge conflicts") == 1,
                      "%s", log);
        free(log);
    }
    free(s);
    e2e_promtool_ok(t.prom);

    /* the same through the http plugin's /metrics, with curl */
    char cmd[PATH_MAX * 2], got[PATH_MAX];
    E2E_FMT(got, sizeof got, "%s/curl.prom", t.d.dir);
    E2E_FMT(cmd, sizeof cmd, "curl -sf -o '%s' http://127.0.0.1:%u/metrics", got, t.http);
    if (system("command -v curl >/dev/null 2>&1") == 0) {
        ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
        s = e2e_read_file(got);
        VAL_IS(s, "app_requests_total" I "}", 15);
        VAL_IS(s, "http_hits_total" I ",code=\"500\",route=\"/b\"}", 5);
        free(s);
        e2e_promtool_ok(got);
    } else {
        printf("e2e_test_statsd: curl check skipped: curl not installed\n");
    }

    /* a set window later, the set shows the window that ended; the next
     * one after that is empty */
    s = wait_value(&t, "app_users" I "}", 0, 5000);
    free(s);
    e2e_stop(&t.d, 5000);
}
END_TEST

/* A datagram of 64 KiB less the headers, lines of all kinds, received
 * whole; a longer-than-max_datagram one loses only its cut last line. */
START_TEST(big_and_truncated_datagrams)
{
    struct sd_test t;
    sd_start(&t, "");
    enum { MAX = 65507 };                /* IPv4's largest UDP payload */
    static char big[MAX + 1];
    size_t n = 0;
    int lines = 0;
    for (int i = 0; n + 40 < MAX; i++, lines++)
        n += (size_t)snprintf(big + n, sizeof big - n, "big.hits:1|c|#shard:s%d\n", i % 50);
    while (n < MAX - 1)
        big[n++] = '\n';                 /* empty lines are no lines */
    memcpy(big + n, "\n", 1);
    n++;
    ck_assert_int_eq(n, MAX);
    send_payload(&t, "udp", t.port, big, n);
    char series[128];
    char *s = wait_value(&t, "statsd_lines_total" I ",transport=\"udp\"}", lines, 5000);
    double sum = 0;
    for (int i = 0; i < 50; i++) {
        E2E_FMT(series, sizeof series, "big_hits_total" I ",shard=\"s%d\"}", i);
        double v = value_of(s, series);
        ck_assert_msg(v >= 1, "%s: %g", series, v);
        sum += v;
    }
    ck_assert_msg(sum == lines, "%g of %d", sum, lines);
    VAL_IS(s, "statsd_bytes_total" I ",transport=\"udp\"}", MAX);
    free(s);

    /* 'small' has max_datagram = 512: a 600-byte datagram is cut */
    char cut[700];
    n = 0;
    for (int i = 0; n < 600; i++)
        n += (size_t)snprintf(cut + n, sizeof cut - n, "cut.lines:1|c\n");
    send_payload(&t, "udp", t.port2, cut, n);
    /* 512 / 14 = 36 whole lines, the 37th cut: dropped as truncated */
    s = wait_value(&t, "cut_lines_total{tickd_instance=\"small\"}", 36, 5000);
    VAL_IS(s, "statsd_dropped_lines_total{tickd_instance=\"small\",reason=\"truncated\"}", 1);
    free(s);
    e2e_promtool_ok(t.prom);
    e2e_stop(&t.d, 5000);
}
END_TEST

START_TEST(expiry_and_max_series)
{
    struct sd_test t;
    sd_start(&t, "expire = 1s\nmax_series = 5\n");
    SEND(&t, "udp", "s.a:1|c\ns.b:1|c\ns.c:1|g\ns.d:1|ms\ns.e:1|s\ns.f:1|c\ns.g:1|c\ns.a:1|c\n");
    char *s = wait_value(&t, "statsd_series" I "}", 5, 5000);
    VAL_IS(s, "statsd_dropped_lines_total" I ",reason=\"max_series\"}", 2);
    VAL_IS(s, "s_a_total" I "}", 2);
    ck_assert_msg(isnan(value_of(s, "s_f_total" I "}")), "%s", brief(s));
    free(s);
    /* nothing updates them: within expire + the sweep's second, gone */
    int64_t t0 = e2e_now_ms();
    s = wait_value(&t, "statsd_series" I "}", 0, 5000);
    int64_t took = e2e_now_ms() - t0;
    ck_assert_msg(!strstr(s, "\ns_a_total") && !strstr(s, "# TYPE s_a_total"), "%s", brief(s));
    VAL_IS(s, "statsd_expired_series_total" I "}", 5);
    free(s);
    fprintf(stderr, "statsd: 5 series expired %lld ms after their update (expire = 1s)\n",
            (long long)took);
    /* room again, and a name may come back with another type */
    SEND(&t, "udp", "s.f:1|c\ns.a:4|g\n");
    s = wait_value(&t, "s_a" I "}", 4, 5000);
    VAL_IS(s, "s_f_total" I "}", 1);
    free(s);
    e2e_promtool_ok(t.prom);
    e2e_stop(&t.d, 5000);
}
END_TEST

/* The kernel's UDP receive-buffer drops so far (all sockets). */
static long udp_rcvbuf_errors(void)
{
    char *snmp = e2e_read_file("/proc/net/snmp");
    long v = 0;
    const char *p = snmp ? strstr(snmp, "\nUdp: ") : NULL;
    p = p ? strstr(p + 1, "\nUdp: ") : NULL;          /* the values line */
    if (p) {
        p += 6;
        for (int i = 0; i < 4 && p; i++)                /* RcvbufErrors: the 5th */
            p = strchr(p, ' '), p = p ? p + 1 : NULL;
        v = p ? strtol(p, NULL, 10) : 0;
    }
    free(snmp);
    return v;
}

/* A reload (another expire: a restart, the module is stateful) while a
 * client streams: the old incarnation stops (it logs its count), the new
 * one starts on the same socket; old + new count every line once. */
START_TEST(reload_mid_stream)
{
    struct sd_test t;
    sd_start(&t, "expire = 5m\n");
    char cmd[PATH_MAX * 2], out[PATH_MAX];
    E2E_FMT(out, sizeof out, "%s/stream.out", t.d.dir);
    enum { N = 3000 };
    long drops0 = udp_rcvbuf_errors();
    E2E_FMT(cmd, sizeof cmd, "python3 '%s/tests/e2e/statsd_send.py' stream %u %d 1.5 "
            "'stream.lines:1|c' > '%s' &", e2e_src(), t.port, N, out);
    ck_assert_int_eq(system(cmd), 0);
    /* the stream is flowing (a busy machine starts python late) */
    bool flowing = false;
    for (int64_t end = e2e_now_ms() + 5000; e2e_now_ms() < end && !flowing; e2e_sleep_ms(20)) {
        char *s0 = e2e_read_file(t.prom);
        flowing = s0 && value_of(s0, "stream_lines_total" I "}") >= 100;
        free(s0);
    }
    ck_assert_msg(flowing, "the stream did not start");
    sd_config(&t, "expire = 4m\n");
    e2e_reload(&t.d);
    ck_assert(e2e_wait_log(&t.d, "plugin:sd: stopping after ", 5000));
    for (int64_t end = e2e_now_ms() + 5000; e2e_now_ms() < end && !e2e_file_contains(out, "3000");)
        e2e_sleep_ms(50);
    ck_assert_msg(e2e_file_contains(out, "3000"), "the sender did not finish");
    e2e_sleep_ms(200);
    char *log = e2e_read_file(t.d.err);
    const char *p = strstr(log, "plugin:sd: stopping after ");
    ck_assert_ptr_nonnull(p);
    long old = strtol(p + strlen("plugin:sd: stopping after "), NULL, 10);
    free(log);
    ck_assert_msg(old > 0 && old < N, "the old incarnation counted %ld of %d", old, N);
    /* every line once: none twice; one lost only if the kernel says it
     * dropped it (the socket buffer overflowed during the handover) */
    char *s = NULL;
    double now = 0;
    for (int64_t end = e2e_now_ms() + 3000; e2e_now_ms() < end; e2e_sleep_ms(50)) {
        free(s);
        s = e2e_read_file(t.prom);
        now = s ? value_of(s, "stream_lines_total" I "}") : 0;
        if (now == N - old)
            break;
    }
    long drops = udp_rcvbuf_errors() - drops0;
    ck_assert_msg(now <= N - old && now + (double)drops >= N - old,
                  "old %ld + new %g of %d lines, the kernel dropped %ld", old, now, N, drops);
    ck_assert_int_eq(e2e_count_substr(s, "\nstream_lines_total{"), 1);
    free(s);
    fprintf(stderr, "statsd: reload mid-stream: %ld lines before, %g after, of %d (kernel drops %ld)\n",
            old, now, N, drops);
    e2e_promtool_ok(t.prom);
    e2e_stop(&t.d, 5000);
}
END_TEST

START_TEST(config_errors)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:sd]\nmodule = statsd\n"
                   "listen_udp = 127.0.0.1:1\nbuckets = 1 0.5\n", e2e_plugins());
    const char *args[] = { "-t", "-c", d.conf, NULL };
    ck_assert_int_ne(e2e_run(&d, args, 5000), 0);
    ck_assert_msg(e2e_file_contains(d.err, "buckets: 0.5 is not above 1"), "%s",
                  e2e_read_file(d.err));
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:sd]\nmodule = statsd\n"
                   "buckets = 1\n", e2e_plugins());
    ck_assert_int_ne(e2e_run(&d, args, 5000), 0);
    ck_assert_msg(e2e_file_contains(d.err, "listen_udp"), "%s", e2e_read_file(d.err));
}
END_TEST

static Suite *statsd_suite(void)
{
    Suite *s = suite_create("statsd");
    TCase *tc = tcase_create("statsd");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_type_tags_sampling_malformed);
    tcase_add_test(tc, big_and_truncated_datagrams);
    tcase_add_test(tc, expiry_and_max_series);
    tcase_add_test(tc, reload_mid_stream);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(statsd_suite)
