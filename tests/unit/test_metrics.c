/* test_metrics.c — the metrics registry and the Prometheus text renderer
 * (tick/metrics.h): types and labels, deletion, callback families,
 * external sets, conflicts, the newest-incarnation rule, slices, escaping,
 * scope teardown, no allocation on update, an OOM walk, promtool. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "metrics_int.h"
#include "helpers.h"

unsigned long tick_test_alloc_calls(void);
unsigned long tick_test_alloc_pending(void);

/* ---- helpers ---- */

static char logged[4096];
static void log_capture(int level, const char *scope, const char *msg)
{
    (void)level;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof logged - n, "%s%s%s\n", scope ? scope : "",
             scope ? ": " : "", msg);
}

static void setup(void)
{
    loop_setup();
    logged[0] = '\0';
    tick__log_hook = log_capture;
}

static void teardown(void)
{
    loop_teardown();     /* frees the root scope's families */
    tick__log_hook = NULL;
    ck_assert_uint_eq(tick__metrics_family_count(), 0);
    ck_assert_uint_eq(tick__metrics_owner_count(), 0);
}

/* The whole text rendered in slices of cap bytes (malloc'd), or NULL with
 * *err set on a render error. */
static char *render_cap(size_t cap, int *err)
{
    tick_metrics_cursor *c;
    size_t len = 0, size = 256;
    char *out = malloc(size), *buf = malloc(cap);
    ssize_t n;
    *err = tick_metrics_render_begin(&c);
    if (*err < 0) {
        free(out);
        free(buf);
        return NULL;
    }
    while ((n = tick_metrics_render(c, buf, cap)) > 0) {
        ck_assert_uint_le((size_t)n, cap);
        while (len + (size_t)n + 1 > size)
            out = realloc(out, size *= 2);
        memcpy(out + len, buf, (size_t)n);
        len += (size_t)n;
    }
    tick_metrics_render_end(c);
    free(buf);
    out[len] = '\0';
    if (n < 0) {
        *err = (int)n;
        free(out);
        return NULL;
    }
    return out;
}

static char *render(void)
{
    int err;
    char *s = render_cap(65536, &err);
    ck_assert_msg(s, "render failed: %d", err);
    return s;
}

#define ASSERT_RENDER(expected)                                              \
    do {                                                                    \
        char *got_ = render();                                              \
        ck_assert_str_eq(got_, (expected));                                 \
        free(got_);                                                         \
    } while (0)

static const char *const method_label[] = { "method", NULL };
static const double buckets3[] = { 0.1, 1, 10 };

/* ---- types and labels ---- */

START_TEST(counter_gauge_histogram)
{
    tick_metric_family *reqs, *temp, *lat;
    tick_metric *get, *post, *t, *h;
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "app_requests",
                     .help = "Requests.", .type = TICK_METRIC_COUNTER,
                     .labels = method_label }, &reqs), 0);
    ck_assert_int_eq(tick_metric_get(reqs, (const char *[]){ "GET" }, &get), 0);
    ck_assert_int_eq(tick_metric_get(reqs, (const char *[]){ "POST" }, &post), 0);
    tick_metric *again;
    ck_assert_int_eq(tick_metric_get(reqs, (const char *[]){ "GET" }, &again), 0);
    ck_assert_ptr_eq(again, get);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "app_temp",
                     .help = "Temperature.", .type = TICK_METRIC_GAUGE }, &temp), 0);
    t = tick_metric_of(temp);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "app_latency_seconds",
                     .help = "Latency.", .type = TICK_METRIC_HISTOGRAM,
                     .buckets = buckets3, .nbuckets = 3 }, &lat), 0);
    h = tick_metric_of(lat);
    tick_counter_inc(get);
    tick_counter_add(get, 2);
    tick_counter_add(get, -5);          /* ignored */
    tick_counter_add(post, 0.5);
    tick_gauge_set(t, -3.25);
    tick_gauge_add(t, 1);
    tick_gauge_set(get, 100);           /* wrong kind: ignored */
    tick_counter_inc(NULL);             /* a no-op */
    tick_histogram_observe(h, 0.05);
    tick_histogram_observe(h, 0.1);     /* le is inclusive */
    tick_histogram_observe(h, 5);
    tick_histogram_observe(h, 100);
    ck_assert(tick_metric_value(get) == 3);
    ck_assert(tick_metric_value(h) == 4);
    ASSERT_RENDER(
        "# HELP app_latency_seconds Latency.\n"
        "# TYPE app_latency_seconds histogram\n"
        "app_latency_seconds_bucket{le=\"0.1\"} 2\n"
        "app_latency_seconds_bucket{le=\"1\"} 2\n"
        "app_latency_seconds_bucket{le=\"10\"} 3\n"
        "app_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "app_latency_seconds_sum 105.15\n"
        "app_latency_seconds_count 4\n"
        "# HELP app_requests_total Requests.\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{method=\"GET\"} 3\n"
        "app_requests_total{method=\"POST\"} 0.5\n"
        "# HELP app_temp Temperature.\n"
        "# TYPE app_temp gauge\n"
        "app_temp -2.25\n");
}
END_TEST

START_TEST(bad_descriptions)
{
    tick_metric_family *f;
    static const char *const le[] = { "le", NULL };
    static const char *const dup[] = { "a", "a", NULL };
    static const char *const under[] = { "__x", NULL };
    static const char *const inst[] = { "tickd_instance", NULL };
    static const double down[] = { 1, 0.5 };
    const tick_metric_desc bad[] = {
        { .name = "9lives", .type = TICK_METRIC_GAUGE },
        { .name = "", .type = TICK_METRIC_GAUGE },
        { .name = "a-b", .type = TICK_METRIC_GAUGE },
        { .name = "h", .type = TICK_METRIC_HISTOGRAM, .labels = le },
        { .name = "g", .type = TICK_METRIC_GAUGE, .labels = dup },
        { .name = "g", .type = TICK_METRIC_GAUGE, .labels = under },
        { .name = "g", .type = TICK_METRIC_GAUGE, .labels = inst },
        { .name = "h", .type = TICK_METRIC_HISTOGRAM, .buckets = down, .nbuckets = 2 },
        { .name = "u", .type = TICK_METRIC_UNTYPED },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(tick_metric_family_new(&bad[i], &f), -EINVAL);
    ck_assert_int_eq(tick_metric_family_new(NULL, &f), -EINVAL);
    ck_assert_uint_eq(tick__metrics_family_count(), 0);
    /* a label value missing */
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "c_total",
                     .type = TICK_METRIC_COUNTER, .labels = method_label }, &f), 0);
    tick_metric *m;
    ck_assert_int_eq(tick_metric_get(f, NULL, &m), -EINVAL);
    ck_assert_ptr_null(tick_metric_of(f));
}
END_TEST

/* ---- deletion ---- */

START_TEST(delete_series_and_family)
{
    tick_metric_family *f, *g;
    tick_metric *a, *b;
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "k_total",
                     .help = "K.", .type = TICK_METRIC_COUNTER, .labels = method_label }, &f), 0);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "z",
                     .help = "Z.", .type = TICK_METRIC_GAUGE }, &g), 0);
    tick_metric_get(f, (const char *[]){ "a" }, &a);
    tick_metric_get(f, (const char *[]){ "b" }, &b);
    tick_metric_delete(a);
    ASSERT_RENDER("# HELP k_total K.\n# TYPE k_total counter\nk_total{method=\"b\"} 0\n"
                  "# HELP z Z.\n# TYPE z gauge\nz 0\n");
    tick_metric_delete(b);
    /* a family without series keeps its header */
    ASSERT_RENDER("# HELP k_total K.\n# TYPE k_total counter\n"
                  "# HELP z Z.\n# TYPE z gauge\nz 0\n");
    tick_metric_family_delete(f);
    ASSERT_RENDER("# HELP z Z.\n# TYPE z gauge\nz 0\n");
    ck_assert_uint_eq(tick__metrics_family_count(), 1);
    /* the name is free again, with another type */
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "k_total",
                     .help = "K2.", .type = TICK_METRIC_GAUGE }, &f), 0);
    tick_metric_family_delete(g);
    ASSERT_RENDER("# HELP k_total K2.\n# TYPE k_total gauge\nk_total 0\n");
}
END_TEST

/* Many series: found again by label values (the index past 16), deleted
 * ones not, the order of registration kept. */
START_TEST(many_series)
{
    static const char *const two[] = { "a", "b", NULL };
    tick_metric_family *f;
    enum { N = 2000 };
    static tick_metric *ms[N];
    char a[16], b[16];
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "many",
                     .help = "M.", .type = TICK_METRIC_GAUGE, .labels = two }, &f), 0);
    for (int i = 0; i < N; i++) {
        snprintf(a, sizeof a, "%d", i / 10);
        snprintf(b, sizeof b, "%d", i % 10);
        ck_assert_int_eq(tick_metric_get(f, (const char *[]){ a, b }, &ms[i]), 0);
        tick_gauge_set(ms[i], i);
    }
    /* ("1", "23") is not ("12", "3") */
    tick_metric *x, *y;
    ck_assert_int_eq(tick_metric_get(f, (const char *[]){ "1", "23" }, &x), 0);
    ck_assert_int_eq(tick_metric_get(f, (const char *[]){ "12", "3" }, &y), 0);
    ck_assert_ptr_ne(x, y);
    ck_assert_ptr_eq(y, ms[123]);
    for (int i = 0; i < N; i += 2)
        tick_metric_delete(ms[i]);
    for (int i = 0; i < N; i++) {
        tick_metric *m;
        snprintf(a, sizeof a, "%d", i / 10);
        snprintf(b, sizeof b, "%d", i % 10);
        ck_assert_int_eq(tick_metric_get(f, (const char *[]){ a, b }, &m), 0);
        if (i % 2)
            ck_assert_ptr_eq(m, ms[i]);
        else
            ck_assert(tick_metric_value(m) == 0);    /* a new one */
    }
    char *out = render();
    ck_assert_ptr_nonnull(strstr(out, "many{a=\"0\",b=\"1\"} 1\nmany{a=\"0\",b=\"3\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(out, "many{a=\"199\",b=\"9\"} 1999\nmany{a=\"1\",b=\"23\"} 0\n"
                                 "many{a=\"0\",b=\"0\"} 0\n"));
    free(out);
}
END_TEST

/* ---- callback families ---- */

static int released;
static void release_count(void *user) { (void)user; released++; }

static void collect_queue(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    (void)f;
    int *q = user;
    tick_metric_emit(sink, (const char *[]){ "a" }, q[0]);
    tick_metric_emit(sink, (const char *[]){ "b" }, q[1]);
    tick_metric_emit(sink, NULL, 1);    /* missing values: ignored */
}

static void collect_hist(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    (void)f;
    (void)user;
    static const uint64_t counts[] = { 1, 0, 2, 1 };
    tick_metric_emit_histogram(sink, NULL, counts, 42.5);
    ck_assert_uint_gt(tick_metric_sink_scrape(sink), 0);
}

START_TEST(callback_families)
{
    static const char *const q_label[] = { "queue", NULL };
    int q[2] = { 3, 4 };
    tick_metric_family *f, *h;
    released = 0;
    ck_assert_int_eq(tick_metric_family_callback(&(tick_metric_desc){ .name = "q_depth",
                     .help = "Depth.", .type = TICK_METRIC_GAUGE, .labels = q_label },
                     collect_queue, release_count, q, &f), 0);
    ck_assert_int_eq(tick_metric_family_callback(&(tick_metric_desc){ .name = "q_wait_seconds",
                     .help = "Wait.", .type = TICK_METRIC_HISTOGRAM, .buckets = buckets3,
                     .nbuckets = 3 }, collect_hist, NULL, NULL, &h), 0);
    tick_metric_family *no;
    ck_assert_int_eq(tick_metric_family_callback(&(tick_metric_desc){ .name = "x",
                     .type = TICK_METRIC_GAUGE }, NULL, NULL, NULL, &no), -EINVAL);
    ck_assert_int_eq(tick_metric_family_callback(&(tick_metric_desc){ .name = "q_depth",
                     .help = "Depth.", .type = TICK_METRIC_GAUGE, .labels = q_label },
                     collect_queue, release_count, q, &no), -EEXIST);
    ck_assert_int_eq(released, 0);
    /* a callback family has no stored series */
    tick_metric *m;
    ck_assert_int_eq(tick_metric_get(f, (const char *[]){ "a" }, &m), -EINVAL);
    q[1] = 7;
    ASSERT_RENDER("# HELP q_depth Depth.\n# TYPE q_depth gauge\n"
                  "q_depth{queue=\"a\"} 3\nq_depth{queue=\"b\"} 7\n"
                  "# HELP q_wait_seconds Wait.\n# TYPE q_wait_seconds histogram\n"
                  "q_wait_seconds_bucket{le=\"0.1\"} 1\n"
                  "q_wait_seconds_bucket{le=\"1\"} 1\n"
                  "q_wait_seconds_bucket{le=\"10\"} 3\n"
                  "q_wait_seconds_bucket{le=\"+Inf\"} 4\n"
                  "q_wait_seconds_sum 42.5\nq_wait_seconds_count 4\n");
    tick_metric_family_delete(f);
    ck_assert_int_eq(released, 1);
}
END_TEST

/* ---- external sets ---- */

static tick_metric_set *make_set(double v, const char *help)
{
    tick_metric_set *set;
    static const char *const job[] = { "job", NULL };
    ck_assert_int_eq(tick_metric_set_new(&set), 0);
    int a = tick_metric_set_family(set, &(tick_metric_desc){ .name = "ext_up",
                                   .help = help, .type = TICK_METRIC_GAUGE, .labels = job });
    int b = tick_metric_set_family(set, &(tick_metric_desc){ .name = "ext_runs_total",
                                   .help = "Runs.", .type = TICK_METRIC_COUNTER });
    int c = tick_metric_set_family(set, &(tick_metric_desc){ .name = "ext_seconds",
                                   .help = "Time.", .type = TICK_METRIC_HISTOGRAM,
                                   .buckets = buckets3, .nbuckets = 3 });
    int d = tick_metric_set_family(set, &(tick_metric_desc){ .name = "ext_raw", .help = "Raw.",
                                   .type = TICK_METRIC_UNTYPED });
    ck_assert_int_eq(tick_metric_set_family(set, &(tick_metric_desc){ .name = "ext_up",
                     .help = help, .type = TICK_METRIC_GAUGE }), -EEXIST);
    ck_assert(a >= 0 && b >= 0 && c >= 0 && d >= 0);
    ck_assert_int_eq(tick_metric_set_sample(set, a, (const char *[]){ "x" }, v), 0);
    ck_assert_int_eq(tick_metric_set_sample(set, a, (const char *[]){ "y" }, 0), 0);
    ck_assert_int_eq(tick_metric_set_sample(set, a, (const char *[]){ "x" }, v), 0); /* same series */
    ck_assert_int_eq(tick_metric_set_sample(set, b, NULL, 10 * v), 0);
    ck_assert_int_eq(tick_metric_set_sample(set, c, NULL, 1), -EINVAL);
    ck_assert_int_eq(tick_metric_set_histogram(set, c, NULL, (const uint64_t[]){ 0, 1, 0, 0 }, 0.5), 0);
    ck_assert_int_eq(tick_metric_set_sample(set, d, NULL, -1), 0);
    ck_assert_int_eq(tick_metric_set_sample(set, 9, NULL, 1), -EINVAL);
    return set;
}

START_TEST(external_sets)
{
    tick_metric_slot *slot;
    tick_metric_family *mine;
    ck_assert_int_eq(tick_metric_slot_new(&slot), 0);
    ck_assert_int_eq(tick_metric_slot_publish(slot, make_set(1, "Up.")), 0);
    const char *one =
        "# HELP ext_raw Raw.\n# TYPE ext_raw untyped\next_raw -1\n"
        "# HELP ext_runs_total Runs.\n# TYPE ext_runs_total counter\next_runs_total 10\n"
        "# HELP ext_seconds Time.\n# TYPE ext_seconds histogram\n"
        "ext_seconds_bucket{le=\"0.1\"} 0\next_seconds_bucket{le=\"1\"} 1\n"
        "ext_seconds_bucket{le=\"10\"} 1\next_seconds_bucket{le=\"+Inf\"} 1\n"
        "ext_seconds_sum 0.5\next_seconds_count 1\n"
        "# HELP ext_up Up.\n# TYPE ext_up gauge\next_up{job=\"x\"} 1\next_up{job=\"y\"} 0\n";
    ASSERT_RENDER(one);
    /* replaced whole; a new HELP is fine: only this slot had the name */
    ck_assert_int_eq(tick_metric_slot_publish(slot, make_set(2, "Up again.")), 0);
    char *s = render();
    ck_assert_ptr_nonnull(strstr(s, "# HELP ext_up Up again.\n# TYPE ext_up gauge\next_up{job=\"x\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(s, "ext_runs_total 20\n"));
    ck_assert_ptr_null(strstr(s, "Up.\n"));
    free(s);
    /* a conflict with a family of someone else refuses the whole set and
     * keeps the old one */
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "ext_other",
                     .help = "Mine.", .type = TICK_METRIC_GAUGE }, &mine), 0);
    tick_metric_set *bad = make_set(3, "Up again.");
    ck_assert_int_ge(tick_metric_set_family(bad, &(tick_metric_desc){ .name = "ext_other",
                     .help = "Theirs.", .type = TICK_METRIC_GAUGE }), 0);
    logged[0] = '\0';
    ck_assert_int_eq(tick_metric_slot_publish(slot, bad), -EINVAL);
    ck_assert_ptr_nonnull(strstr(logged, "metric 'ext_other': HELP text differs"));
    s = render();
    ck_assert_ptr_nonnull(strstr(s, "ext_up{job=\"x\"} 2\n"));
    free(s);
    /* reserved names: refused as the set is built */
    tick_metric_set *res;
    ck_assert_int_eq(tick_metric_set_new(&res), 0);
    ck_assert_int_eq(tick_metric_set_family(res, &(tick_metric_desc){ .name = "process_x",
                     .type = TICK_METRIC_GAUGE }), -EINVAL);
    ck_assert_ptr_nonnull(strstr(logged, "metric 'process_x': the prefixes"));
    tick_metric_set_free(res);
    /* publishing nothing empties the slot */
    ck_assert_int_eq(tick_metric_slot_publish(slot, NULL), 0);
    tick_metric_family_delete(mine);
    ASSERT_RENDER("");
    ck_assert_int_eq(tick_metric_slot_publish(slot, make_set(1, "Up.")), 0);
    tick_metric_slot_delete(slot);
    ASSERT_RENDER("");
}
END_TEST

/* ---- conflicts ---- */

START_TEST(conflicts_refused_and_logged)
{
    tick_metric_family *f, *g;
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "c_total",
                     .help = "C.", .type = TICK_METRIC_COUNTER }, &f), 0);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "c_total",
                     .help = "C.", .type = TICK_METRIC_GAUGE }, &g), -EINVAL);
    ck_assert_ptr_nonnull(strstr(logged, "metric 'c_total': type gauge conflicts with "
                                 "counter registered by the daemon; not registered"));
    logged[0] = '\0';
    /* "c" is "c_total" for a counter */
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "c",
                     .help = "Other.", .type = TICK_METRIC_COUNTER }, &g), -EINVAL);
    ck_assert_ptr_nonnull(strstr(logged, "metric 'c_total': HELP text differs"));
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "c",
                     .help = "C.", .type = TICK_METRIC_COUNTER }, &g), -EEXIST);
    logged[0] = '\0';
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "tickd_mine",
                     .type = TICK_METRIC_GAUGE }, &g), -EINVAL);
    ck_assert_ptr_nonnull(strstr(logged, "metric 'tickd_mine': the prefixes tickd_ and "
                                 "process_ are the daemon's"));
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "process_cpu",
                     .type = TICK_METRIC_GAUGE }, &g), -EINVAL);
    /* the daemon may */
    ck_assert_int_eq(tick__metric_register(NULL, &(tick_metric_desc){ .name = "tickd_mine",
                     .type = TICK_METRIC_GAUGE }, TICK__METRIC_DAEMON, NULL, NULL, NULL, &g), 0);
    ck_assert_uint_eq(tick__metrics_family_count(), 2);
}
END_TEST

/* ---- scopes: labels, incarnations, teardown ---- */

static tick_metric_family *reg_in(tick_scope *s, const char *name, tick_metric **m)
{
    tick_metric_family *f;
    tick_scope *prev = tick_scope_enter(loop, s);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = name,
                     .help = "H.", .type = TICK_METRIC_COUNTER }, &f), 0);
    tick_scope_enter(loop, prev);
    *m = tick_metric_of(f);
    return f;
}

START_TEST(instance_label_and_incarnations)
{
    tick_scope a1, b, a2, conn;
    tick_metric *m_a1, *m_b, *m_a2, *m_conn;
    tick_scope_init(&a1, loop, tick_loop_scope(loop), "alpha");
    tick_scope_init(&b, loop, tick_loop_scope(loop), "beta");
    reg_in(&a1, "n_total", &m_a1);
    reg_in(&b, "n_total", &m_b);
    tick_counter_add(m_a1, 1);
    tick_counter_add(m_b, 2);
    const char *both = "# HELP n_total H.\n# TYPE n_total counter\n"
                       "n_total{tickd_instance=\"alpha\"} 1\n"
                       "n_total{tickd_instance=\"beta\"} 2\n";
    ASSERT_RENDER(both);
    /* a nested scope's series carry its top scope's name; one family name
     * per instance */
    tick_scope_init(&conn, loop, &b, "conn");
    tick_metric_family *f;
    tick_scope *prev = tick_scope_enter(loop, &conn);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "n_total",
                     .help = "H.", .type = TICK_METRIC_COUNTER }, &f), -EEXIST);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "conn_bytes",
                     .help = "B.", .type = TICK_METRIC_GAUGE }, &f), 0);
    m_conn = tick_metric_of(f);
    tick_scope_enter(loop, prev);
    tick_gauge_set(m_conn, 9);
    char *s = render();
    ck_assert_ptr_nonnull(strstr(s, "conn_bytes{tickd_instance=\"beta\"} 9\n"));
    free(s);
    /* a second incarnation of alpha: only the newest is shown */
    tick_scope_init(&a2, loop, tick_loop_scope(loop), "alpha");
    reg_in(&a2, "n_total", &m_a2);
    tick_counter_add(m_a2, 5);
    s = render();
    ck_assert_ptr_nonnull(strstr(s, "n_total{tickd_instance=\"alpha\"} 5\n"));
    ck_assert_ptr_null(strstr(s, "n_total{tickd_instance=\"alpha\"} 1\n"));
    free(s);
    /* the new one is cancelled (a failed start): the old one shows again */
    tick_scope_cancel(&a2);
    s = render();
    ck_assert_ptr_nonnull(strstr(s, "n_total{tickd_instance=\"alpha\"} 1\n"));
    ck_assert_ptr_null(strstr(s, "} 5\n"));
    free(s);
    ck_assert_int_eq(tick_scope_close(&a2), 0);
    ASSERT_RENDER("# HELP conn_bytes B.\n# TYPE conn_bytes gauge\n"
                  "conn_bytes{tickd_instance=\"beta\"} 9\n"
                  "# HELP n_total H.\n# TYPE n_total counter\n"
                  "n_total{tickd_instance=\"alpha\"} 1\n"
                  "n_total{tickd_instance=\"beta\"} 2\n");
    /* cancel hides a scope's metrics; close frees them */
    tick_scope_cancel(&b);
    ASSERT_RENDER("# HELP n_total H.\n# TYPE n_total counter\n"
                  "n_total{tickd_instance=\"alpha\"} 1\n");
    ck_assert_uint_eq(tick__metrics_family_count(), 3);
    ck_assert_int_eq(tick_scope_close(&conn), 0);
    ck_assert_int_eq(tick_scope_close(&b), 0);
    ck_assert_uint_eq(tick__metrics_family_count(), 1);
    tick_scope_cancel(&a1);
    ck_assert_int_eq(tick_scope_close(&a1), 0);
    ck_assert_uint_eq(tick__metrics_family_count(), 0);
    ck_assert_uint_eq(tick__metrics_owner_count(), 0);
    ASSERT_RENDER("");
}
END_TEST

/* A new incarnation may change a family's HELP or type (a new module
 * version): no conflict with its own older incarnation, and one header. */
START_TEST(new_incarnation_changes_help)
{
    tick_scope a1, a2, b;
    tick_metric_family *f;
    tick_scope *prev;
    tick_scope_init(&a1, loop, tick_loop_scope(loop), "alpha");
    prev = tick_scope_enter(loop, &a1);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "v",
                     .help = "Old.", .type = TICK_METRIC_GAUGE }, &f), 0);
    tick_gauge_set(tick_metric_of(f), 1);
    tick_scope_enter(loop, prev);
    tick_scope_init(&a2, loop, tick_loop_scope(loop), "alpha");
    prev = tick_scope_enter(loop, &a2);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "v",
                     .help = "New.", .type = TICK_METRIC_GAUGE }, &f), 0);
    tick_gauge_set(tick_metric_of(f), 2);
    tick_scope_enter(loop, prev);
    ASSERT_RENDER("# HELP v New.\n# TYPE v gauge\nv{tickd_instance=\"alpha\"} 2\n");
    /* another instance cannot pick either while both live */
    tick_scope_init(&b, loop, tick_loop_scope(loop), "beta");
    prev = tick_scope_enter(loop, &b);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "v",
                     .help = "New.", .type = TICK_METRIC_GAUGE }, &f), -EINVAL);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "v",
                     .help = "Old.", .type = TICK_METRIC_GAUGE }, &f), -EINVAL);
    tick_scope_enter(loop, prev);
    /* the new one fails: the old one shows again, under its own HELP */
    tick_scope_cancel(&a2);
    ASSERT_RENDER("# HELP v Old.\n# TYPE v gauge\nv{tickd_instance=\"alpha\"} 1\n");
    ck_assert_int_eq(tick_scope_close(&a2), 0);
    ASSERT_RENDER("# HELP v Old.\n# TYPE v gauge\nv{tickd_instance=\"alpha\"} 1\n");
    tick_scope_cancel(&a1);
    ck_assert_int_eq(tick_scope_close(&a1), 0);
    /* the name is free: beta takes it */
    prev = tick_scope_enter(loop, &b);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "v",
                     .help = "New.", .type = TICK_METRIC_HISTOGRAM }, &f), 0);
    tick_scope_enter(loop, prev);
    tick_scope_cancel(&b);
    ck_assert_int_eq(tick_scope_close(&b), 0);
}
END_TEST

/* ---- slices and escaping ---- */

static void build_sample(void)
{
    static const char *const two[] = { "path", "code", NULL };
    tick_metric_family *f, *h, *g;
    tick_metric *m;
    static int q[2] = { 1, 2 };
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "s_requests_total",
                     .help = "Requests with \\ and\nnewline \"quoted\".",
                     .type = TICK_METRIC_COUNTER, .labels = two }, &f), 0);
    for (int i = 0; i < 20; i++) {
        char p[32];
        snprintf(p, sizeof p, "/p\"%d\"\\\n", i);
        ck_assert_int_eq(tick_metric_get(f, (const char *[]){ p, "200" }, &m), 0);
        tick_counter_add(m, i * 1.5);
    }
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "s_latency_seconds",
                     .help = "Latency.", .type = TICK_METRIC_HISTOGRAM, .labels = two + 1,
                     .buckets = buckets3, .nbuckets = 3 }, &h), 0);
    ck_assert_int_eq(tick_metric_get(h, (const char *[]){ "500" }, &m), 0);
    tick_histogram_observe(m, 0.3);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "s_odd",
                     .help = "Odd values.", .type = TICK_METRIC_GAUGE,
                     .labels = two + 1 }, &g), 0);
    tick_metric_get(g, (const char *[]){ "inf" }, &m);
    tick_gauge_set(m, 1.0 / 0.0);
    tick_metric_get(g, (const char *[]){ "ninf" }, &m);
    tick_gauge_set(m, -1.0 / 0.0);
    tick_metric_get(g, (const char *[]){ "nan" }, &m);
    tick_gauge_set(m, 0.0 / 0.0);
    tick_metric_get(g, (const char *[]){ "tiny" }, &m);
    tick_gauge_set(m, 1e-300);
    tick_metric_get(g, (const char *[]){ "third" }, &m);
    tick_gauge_set(m, 1.0 / 3);
    tick_metric_get(g, (const char *[]){ "big" }, &m);
    tick_gauge_set(m, 1e20);
    ck_assert_int_eq(tick_metric_family_callback(&(tick_metric_desc){ .name = "s_queue",
                     .help = "Q.", .type = TICK_METRIC_GAUGE, .labels = (const char *[]){ "queue", NULL } },
                     collect_queue, NULL, q, &f), 0);
}

START_TEST(slices_equal_one_go)
{
    build_sample();
    char *whole = render();
    size_t caps[] = { 1, 7, 64, 100, 4096 };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        int err;
        char *s = render_cap(caps[i], &err);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, whole);
        free(s);
    }
    ck_assert_ptr_nonnull(strstr(whole, "# HELP s_requests_total Requests with \\\\ and\\nnewline "
                                 "\"quoted\".\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_requests_total{path=\"/p\\\"3\\\"\\\\\\n\",code=\"200\"} 4.5\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_odd{code=\"inf\"} +Inf\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_odd{code=\"ninf\"} -Inf\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_odd{code=\"nan\"} NaN\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_odd{code=\"tiny\"} 1e-300\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_odd{code=\"third\"} 0.33333333333333331\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_odd{code=\"big\"} 1e+20\n"));
    ck_assert_ptr_nonnull(strstr(whole, "s_latency_seconds_bucket{code=\"500\",le=\"1\"} 1\n"));
    free(whole);
}
END_TEST

/* Changes between slices: memory-safe, each header once, no series twice,
 * deleted things skipped, new things left for the next scrape. */
START_TEST(changes_between_slices)
{
    tick_metric_family *a, *b, *c;
    tick_metric *a1, *a2, *a3;
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "a_total",
                     .help = "A.", .type = TICK_METRIC_COUNTER, .labels = method_label }, &a), 0);
    tick_metric_get(a, (const char *[]){ "one" }, &a1);
    tick_metric_get(a, (const char *[]){ "two" }, &a2);
    tick_metric_get(a, (const char *[]){ "three" }, &a3);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "b",
                     .help = "B.", .type = TICK_METRIC_GAUGE }, &b), 0);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "c",
                     .help = "C.", .type = TICK_METRIC_GAUGE }, &c), 0);
    tick_metrics_cursor *cur;
    char buf[4096];
    size_t len = 0;
    ck_assert_int_eq(tick_metrics_render_begin(&cur), 0);
    ck_assert_int_eq(tick_metrics_render(cur, buf, 0), -EINVAL);
    ck_assert_int_eq(tick_metrics_render(cur, NULL, 10), -EINVAL);
    /* the header and the first series: 41 + 24 bytes, so that nothing
     * more is staged */
    ssize_t n = tick_metrics_render(cur, buf, 60);
    ck_assert_int_eq(n, 60);
    len += (size_t)n;
    n = tick_metrics_render(cur, buf + len, 5);
    ck_assert_int_eq(n, 5);
    len += (size_t)n;
    /* the cursor stands on a1's family; delete the series it stands on,
     * the next one, the whole family b, and re-make "two" */
    tick_metric_delete(a1);
    tick_metric_delete(a2);
    tick_metric *a2b;
    tick_metric_get(a, (const char *[]){ "two" }, &a2b);
    tick_metric_family_delete(b);
    tick_metric_family *b2, *d;
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "b",
                     .help = "B again.", .type = TICK_METRIC_COUNTER }, &b2), 0);
    ck_assert_int_eq(tick_metric_family_new(&(tick_metric_desc){ .name = "d",
                     .help = "D.", .type = TICK_METRIC_GAUGE }, &d), 0);
    while ((n = tick_metrics_render(cur, buf + len, 3)) > 0)
        len += (size_t)n;
    tick_metrics_render_end(cur);
    buf[len] = '\0';
    ck_assert_str_eq(buf, "# HELP a_total A.\n# TYPE a_total counter\n"
                          "a_total{method=\"one\"} 0\n"
                          "a_total{method=\"three\"} 0\n"
                          "# HELP c C.\n# TYPE c gauge\nc 0\n");
    /* the next scrape sees the new state */
    ASSERT_RENDER("# HELP a_total A.\n# TYPE a_total counter\n"
                  "a_total{method=\"three\"} 0\na_total{method=\"two\"} 0\n"
                  "# HELP b_total B again.\n# TYPE b_total counter\nb_total 0\n"
                  "# HELP c C.\n# TYPE c gauge\nc 0\n# HELP d D.\n# TYPE d gauge\nd 0\n");
    /* a cursor ended half-way releases what it held */
    ck_assert_int_eq(tick_metrics_render_begin(&cur), 0);
    ck_assert_int_gt(tick_metrics_render(cur, buf, 50), 0);
    tick_metric_family_delete(a);
    tick_metrics_render_end(cur);
    ck_assert_uint_eq(tick__metrics_family_count(), 3);
}
END_TEST

/* ---- the hot path does not allocate ---- */

START_TEST(no_allocation_on_update)
{
    tick_metric_family *f, *g, *h;
    tick_metric *c, *ga, *hi;
    tick_metric_family_new(&(tick_metric_desc){ .name = "u_total", .type = TICK_METRIC_COUNTER,
                           .labels = method_label }, &f);
    tick_metric_get(f, (const char *[]){ "x" }, &c);
    tick_metric_family_new(&(tick_metric_desc){ .name = "u_g", .type = TICK_METRIC_GAUGE }, &g);
    ga = tick_metric_of(g);
    tick_metric_family_new(&(tick_metric_desc){ .name = "u_h", .type = TICK_METRIC_HISTOGRAM,
                           .buckets = buckets3, .nbuckets = 3 }, &h);
    hi = tick_metric_of(h);
    unsigned long before = tick_test_alloc_calls();
    /* and with every allocation failing, nothing changes either */
    tick_test_fail_alloc_after(1);
    for (int i = 0; i < 100000; i++) {
        tick_counter_inc(c);
        tick_counter_add(c, 2);
        tick_gauge_set(ga, i);
        tick_gauge_add(ga, 1);
        tick_histogram_observe(hi, i * 0.001);
    }
    ck_assert_uint_eq(tick_test_alloc_calls(), before);
    ck_assert_uint_eq(tick_test_alloc_pending(), 1);
    tick_test_fail_alloc_after(0);
    ck_assert(tick_metric_value(c) == 300000);
    ck_assert(tick_metric_value(hi) == 100000);
}
END_TEST

/* ---- OOM walk over register + render ---- */

static void oom_scenario(tick_scope *s, int *failures)
{
    tick_metric_family *f, *h, *cb;
    tick_metric *m;
    tick_metric_slot *slot = NULL;
    tick_metric_set *set = NULL;
    tick_scope *prev = tick_scope_enter(loop, s);
    static int q[2] = { 1, 2 };
    int rc;
#define T(x) do { if ((rc = (x)) < 0) { ck_assert_int_eq(rc, -ENOMEM); (*failures)++; } } while (0)
    T(tick_metric_family_new(&(tick_metric_desc){ .name = "w_total", .help = "W.",
      .type = TICK_METRIC_COUNTER, .labels = method_label }, &f));
    if (f) {
        T(tick_metric_get(f, (const char *[]){ "a" }, &m));
        tick_counter_inc(m);
        T(tick_metric_get(f, (const char *[]){ "b" }, &m));
        tick_metric_delete(m);
    }
    T(tick_metric_family_new(&(tick_metric_desc){ .name = "w_h", .help = "H.",
      .type = TICK_METRIC_HISTOGRAM, .buckets = buckets3, .nbuckets = 3 }, &h));
    tick_histogram_observe(tick_metric_of(h), 2);
    T(tick_metric_family_callback(&(tick_metric_desc){ .name = "w_q", .help = "Q.",
      .type = TICK_METRIC_GAUGE, .labels = (const char *[]){ "queue", NULL } },
      collect_queue, NULL, q, &cb));
    T(tick_metric_slot_new(&slot));
    T(tick_metric_set_new(&set));
    if (set) {
        int i;
        T(i = tick_metric_set_family(set, &(tick_metric_desc){ .name = "w_ext",
          .help = "E.", .type = TICK_METRIC_GAUGE, .labels = method_label }));
        if (i >= 0)
            T(tick_metric_set_sample(set, i, (const char *[]){ "z" }, 1));
        if (slot)
            T(tick_metric_slot_publish(slot, set));
        else
            tick_metric_set_free(set);
    }
    tick_scope_enter(loop, prev);
    int err;
    char *out = render_cap(32, &err);
    if (!out) {
        ck_assert_int_eq(err, -ENOMEM);
        (*failures)++;
    }
    free(out);
    tick_metric_family_delete(h);
#undef T
}

START_TEST(oom_walk_register_render)
{
    unsigned long n;
    int sites = 0;
    for (n = 1; n < 10000; n++) {
        tick_scope s;
        int failures = 0;
        tick_scope_init(&s, loop, tick_loop_scope(loop), "walk");
        tick_test_fail_alloc_after(n);
        oom_scenario(&s, &failures);
        bool hit = tick_test_alloc_pending() == 0;
        tick_test_fail_alloc_after(0);
        tick_scope_cancel(&s);
        ck_assert_int_eq(tick_scope_close(&s), 0);
        ck_assert_uint_eq(tick__metrics_family_count(), 0);
        ck_assert_uint_eq(tick__metrics_owner_count(), 0);
        if (!hit)
            break;
        ck_assert_msg(failures > 0, "allocation %lu failed unreported", n);
        sites++;
    }
    ck_assert_uint_lt(n, 10000);
    printf("test_metrics: OOM walk over register+render: %d allocation sites\n", sites);
}
END_TEST

/* ---- promtool ---- */

START_TEST(promtool_accepts)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        printf("test_metrics: promtool_accepts skipped: promtool not installed "
               "(apt-get install prometheus)\n");
        return;
    }
    tick_scope inst;
    tick_scope_init(&inst, loop, tick_loop_scope(loop), "web");
    tick_scope *prev = tick_scope_enter(loop, &inst);
    build_sample();
    tick_metric_slot *slot;
    ck_assert_int_eq(tick_metric_slot_new(&slot), 0);
    ck_assert_int_eq(tick_metric_slot_publish(slot, make_set(1, "Up.")), 0);
    tick_scope_enter(loop, prev);
    char *s = render();
    char path[] = "/tmp/test_metrics.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    close(fd);
    char cmd[256], out[64] = "/tmp/test_metrics.out";
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s 2>&1", path, out);
    if (getenv("TEST_METRICS_KEEP"))
        printf("%s", s);
    int rc = system(cmd);
    char msg[4096] = "";
    FILE *fp = fopen(out, "r");
    if (fp) {
        size_t k = fread(msg, 1, sizeof msg - 1, fp);
        msg[k] = '\0';
        fclose(fp);
    }
    unlink(path);
    unlink(out);
    ck_assert_msg(rc == 0 && msg[0] == '\0', "promtool check metrics (rc %d):\n%s\n--- input:\n%s",
                  rc, msg, s);
    free(s);
    tick_scope_cancel(&inst);
    ck_assert_int_eq(tick_scope_close(&inst), 0);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, counter_gauge_histogram);
    tcase_add_test(tc, bad_descriptions);
    tcase_add_test(tc, delete_series_and_family);
    tcase_add_test(tc, many_series);
    tcase_add_test(tc, callback_families);
    tcase_add_test(tc, external_sets);
    tcase_add_test(tc, conflicts_refused_and_logged);
    tcase_add_test(tc, instance_label_and_incarnations);
    tcase_add_test(tc, new_incarnation_changes_help);
    tcase_add_test(tc, slices_equal_one_go);
    tcase_add_test(tc, changes_between_slices);
    tcase_add_test(tc, no_allocation_on_update);
    tcase_add_test(tc, oom_walk_register_render);
    tcase_add_test(tc, promtool_accepts);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(metrics_suite)
