/* test_statsd_agg.c — the statsd plugin's series table
 * (plugins/statsd/statsd_agg.c) on the real metrics API (libtick): the
 * hot path, sets and their windows, the bounded sweep, families going and
 * coming back, max_series, conflicts, and 20,000 series. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "statsd_agg.h"

static struct statsd_agg agg;
static const double buckets[] = { 0.01, 0.1, 1 };

static void setup(void)
{
    loop_setup();
    memset(&agg, 0, sizeof agg);
    agg.max_series = 100000;
    agg.expire_ns = 10 * TICK_SEC;
    agg.buckets = buckets;
    agg.nbuckets = 3;
    ck_assert_int_eq(statsd_agg_init(&agg), 0);
}

static void teardown(void)
{
    statsd_agg_free(&agg);
    loop_teardown();     /* frees the families (the root scope's) */
}

static enum statsd_reason line(const char *s, uint64_t now)
{
    struct statsd_line l;
    enum statsd_reason r = statsd_parse_line(s, strlen(s), &l);
    return r != STATSD_OK ? r : statsd_agg_apply(&agg, &l, now);
}

static char *render(void)
{
    tick_metrics_cursor *c;
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    ssize_t n;
    ck_assert_int_eq(tick_metrics_render_begin(&c), 0);
    for (;;) {
        if (cap - len < 4096)
            out = realloc(out, cap *= 2);
        n = tick_metrics_render(c, out + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    tick_metrics_render_end(c);
    out[len] = 0;
    return out;
}

static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

#define VAL(series, want)                                                   \
    do {                                                                    \
        char *t_ = render();                                                \
        ck_assert_msg(value_of(t_, series) == (want), "%s: %g, not %g:\n%.2000s", \
                      series, value_of(t_, series), (double)(want), t_);    \
        free(t_);                                                           \
    } while (0)

START_TEST(counters_gauges_histograms)
{
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(line("req:1|c|#b:2,a:1", 1), STATSD_OK);
    ck_assert_int_eq(line("req:2|c|@0.5|#a:1,b:2", 1), STATSD_OK);
    ck_assert_uint_eq(agg.nseries, 1);
    VAL("req_total{a=\"1\",b=\"2\"}", 1004);
    ck_assert_int_eq(line("temp:10|g", 1), STATSD_OK);
    ck_assert_int_eq(line("temp:-4|g", 1), STATSD_OK);
    VAL("temp", 6);
    ck_assert_int_eq(line("lat:50|ms|@0.25", 1), STATSD_OK);   /* 4 times 0.05 s */
    VAL("lat_count", 4);
    VAL("lat_bucket{le=\"0.1\"}", 4);
    VAL("lat_bucket{le=\"0.01\"}", 0);
    ck_assert_int_eq(line("req:1|g|#a:1,b:2", 1), STATSD_R_TYPE_CONFLICT);
    ck_assert_int_eq(line("req:1|g|#a:1,b:3", 1), STATSD_R_TYPE_CONFLICT);
    ck_assert_int_eq(line("req:1|c|#a:1", 1), STATSD_R_LABELS);
    ck_assert_int_eq(line("req:1|c|#a:2,b:2", 1), STATSD_OK);    /* a new series */
    ck_assert_uint_eq(agg.nseries, 4);
}
END_TEST

START_TEST(sets_and_windows)
{
    ck_assert_int_eq(line("u:alice|s", 1), STATSD_OK);
    ck_assert_int_eq(line("u:bob|s", 1), STATSD_OK);
    ck_assert_int_eq(line("u:alice|s", 1), STATSD_OK);
    VAL("u", 2);                          /* the first window: so far */
    statsd_agg_set_window(&agg);
    VAL("u", 2);                          /* the window that ended */
    ck_assert_int_eq(line("u:carol|s", 1), STATSD_OK);
    VAL("u", 2);                          /* not the one going on */
    statsd_agg_set_window(&agg);
    VAL("u", 1);
    statsd_agg_set_window(&agg);
    VAL("u", 0);
    /* the cap: STATSD_SET_MAX distinct values, then set_full */
    char buf[64];
    for (unsigned i = 0; i < STATSD_SET_MAX; i++) {
        snprintf(buf, sizeof buf, "big:v%u|s", i);
        ck_assert_int_eq(line(buf, 1), STATSD_OK);
    }
    ck_assert_int_eq(line("big:v0|s", 1), STATSD_OK);            /* already in */
    ck_assert_int_eq(line("big:another|s", 1), STATSD_R_SET_FULL);
    statsd_agg_set_window(&agg);
    VAL("big", STATSD_SET_MAX);
    ck_assert_int_eq(line("big:another|s", 1), STATSD_OK);       /* room again */
}
END_TEST

START_TEST(sweep_expires_and_names_return)
{
    uint64_t t0 = 100 * TICK_SEC;
    ck_assert_int_eq(line("old:1|c", t0), STATSD_OK);
    ck_assert_int_eq(line("new:1|c", t0 + 5 * TICK_SEC), STATSD_OK);
    ck_assert_uint_eq(statsd_agg_sweep(&agg, t0 + 10 * TICK_SEC - 1, 100), 0);
    ck_assert_uint_eq(statsd_agg_sweep(&agg, t0 + 10 * TICK_SEC, 100), 1);
    ck_assert_uint_eq(agg.nseries, 1);
    char *t = render();
    ck_assert_msg(!strstr(t, "old_total"), "%s", t);   /* the family went too */
    free(t);
    ck_assert_int_eq(line("old:3|g", t0 + 11 * TICK_SEC), STATSD_OK);   /* another type */
    VAL("old", 3);
    ck_assert_uint_eq(agg.expired, 1);
}
END_TEST

START_TEST(max_series_and_many)
{
    agg.max_series = 20000;
    char buf[96];
    for (int i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "m%d:1|c|#k:v%d", i % 2000, i);
        ck_assert_int_eq(line(buf, 1), STATSD_OK);
    }
    ck_assert_int_eq(line("one_more:1|c", 1), STATSD_R_MAX_SERIES);
    ck_assert_uint_eq(agg.nseries, 20000);
    ck_assert_uint_eq(agg.nfamilies, 2000);
    /* the hot path on existing series */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    enum { N = 200000 };
    int bad = 0;                          /* no ck_assert in the loop: each writes */
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "m%d:1|c|#k:v%d", i % 2000, i % 20000);
        bad += line(buf, 2) != STATSD_OK;
    }
    ck_assert_int_eq(bad, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / N;
    fprintf(stderr, "statsd_agg: %.0f ns a line (snprintf, parse, find, add) over 20,000 series\n",
            ns);
    VAL("m7_total{k=\"v7\"}", 1 + N / 20000);
    /* the sweep is bounded: budget series a call */
    ck_assert_uint_eq(statsd_agg_sweep(&agg, 2 + 10 * TICK_SEC, 8192), 8192);
    ck_assert_uint_eq(agg.nseries, 20000 - 8192);
    while (statsd_agg_sweep(&agg, 2 + 10 * TICK_SEC, 8192) > 0)
        ;
    ck_assert_uint_eq(agg.nseries, 0);
    ck_assert_uint_eq(agg.nfamilies, 0);
    ck_assert_int_eq(line("one_more:1|c", 1), STATSD_OK);
}
END_TEST

static Suite *statsd_agg_suite(void)
{
    Suite *s = suite_create("statsd_agg");
    TCase *tc = tcase_create("agg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, counters_gauges_histograms);
    tcase_add_test(tc, sets_and_windows);
    tcase_add_test(tc, sweep_expires_and_names_return);
    tcase_add_test(tc, max_series_and_many);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(statsd_agg_suite)
