/*
 * tick/metrics.h — counters, gauges and histograms with labels, owned by
 * scopes, rendered in the Prometheus text format (0.0.4).
 *
 *     static const char *const req_labels[] = { "method", NULL };
 *     static const double lat_buckets[] = { 0.001, 0.01, 0.1, 1 };
 *     static void queue_collect(tick_metric_family *f, tick_metric_sink *sink,
 *                               void *user)
 *     {
 *         tick_metric_emit(sink, NULL, (double)*(int *)user);   // at scrape time
 *     }
 *     ...
 *     tick_metric_family *reqs, *lat, *depth;
 *     tick_metric *get;
 *     static int queued = 3;
 *     tick_metric_family_new(&(tick_metric_desc){ .name = "demo_requests_total",
 *             .help = "Requests served.", .type = TICK_METRIC_COUNTER,
 *             .labels = req_labels }, &reqs);
 *     tick_metric_get(reqs, (const char *[]){ "GET" }, &get);
 *     tick_metric_family_new(&(tick_metric_desc){ .name = "demo_latency_seconds",
 *             .help = "Request latency.", .type = TICK_METRIC_HISTOGRAM,
 *             .buckets = lat_buckets, .nbuckets = 4 }, &lat);
 *     tick_metric_family_callback(&(tick_metric_desc){ .name = "demo_queue_depth",
 *             .help = "Jobs waiting.", .type = TICK_METRIC_GAUGE },
 *             queue_collect, NULL, &queued, &depth);
 *     ...
 *     tick_counter_inc(get);                                 // hot path
 *     tick_histogram_observe(tick_metric_of(lat), 0.004);
 *     ...
 *     char buf[256];
 *     tick_metrics_cursor *c;
 *     tick_metrics_render_begin(&c);
 *     ssize_t n;
 *     while ((n = tick_metrics_render(c, buf, sizeof buf)) > 0)
 *         fwrite(buf, 1, (size_t)n, stdout);   // one slice per tick, say
 *     tick_metrics_render_end(c);
 *
 * Model (plain data, so that a worker process can later ship it to the
 * master over a pipe, DESIGN 3d): a *family* has a name, HELP text, a
 * type, label names and (histograms) bucket bounds; a *series* (a
 * tick_metric) is one set of label values and its value. A family is
 * registered by code running in a scope and is owned by that scope: it
 * leaves the output when the scope is cancelled and is freed when the
 * scope is closed (tick_scope_close), with its series; pointers to it and
 * its series are valid until then or until tick_metric_family_delete().
 * Metrics are not scope sources: tick_scope_list() does not show them and
 * they never hold a drain up. No field was added to tick_scope: the
 * engine keeps each scope's metrics in a side table keyed by the scope.
 *
 * Rendering is by family name across all scopes: one # HELP and # TYPE per
 * name, families in name order, series in registration order. A series of
 * a family registered in an instance (a child scope of the loop's root
 * scope, or a scope below it) carries the label tickd_instance="NAME"
 * (the daemon's instance name; in a program of its own, the top scope's
 * name) before its own labels. Registering a name that exists with
 * another type or HELP text is refused (-EINVAL, logged), unless only
 * older incarnations of the same instance have it (a new module version
 * may change them; the newest rule shows one); so is one in the
 * same instance twice (-EEXIST) and, outside the daemon, the reserved
 * prefixes "tickd_" and "process_". Counter names get "_total" appended
 * unless they end with it. While two incarnations of one instance
 * overlap (a reload: same top scope name), only the newest (the one
 * created last, not cancelled) is shown. A counter that must survive a
 * restart of its instance belongs to the daemon, not to the incarnation.
 * Register in start(), not configure(): configure() also runs for a
 * reload that may be rejected, and a registration there would hide the
 * running incarnation until the candidate is discarded.
 *
 * Updates (tick_counter_add, tick_gauge_set, tick_histogram_observe, ...)
 * are plain adds and stores: no lock, no allocation, no syscall; NULL is
 * a no-op, so code that lost a registration to -ENOMEM keeps working.
 * Everything here is loop-thread-only: updates from pool jobs are not
 * supported (hand the figure back to the loop and update there).
 *
 * Slices: a cursor renders into a caller buffer of any size (a slice ends
 * anywhere, in a line too), so a large scrape can go out over several
 * ticks. Between slices anything may be registered or deleted: the cursor
 * holds a reference on where it stands, deleted families and series are
 * skipped, and what was created after tick_metrics_render_begin() is left
 * for the next scrape. So no series appears twice and each family header
 * once, but the output is not a snapshot of one instant: a series' text
 * is taken when the cursor reaches it (a callback family's whole output
 * at once), and a family deleted half-way keeps the lines already taken.
 * A render call does at most cap bytes of copying plus the making of one
 * piece (a header, a series, or one callback family's output).
 */
#ifndef TICK_METRICS_H
#define TICK_METRICS_H

#include <sys/types.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tick_metric_type {
    TICK_METRIC_COUNTER = 0,
    TICK_METRIC_GAUGE,
    TICK_METRIC_HISTOGRAM,
    TICK_METRIC_UNTYPED,      /* external sets (passed-through text) only */
};

typedef struct tick_metric_family tick_metric_family;
typedef struct tick_metric tick_metric;     /* one series */
typedef struct tick_metric_sink tick_metric_sink;
typedef struct tick_metric_set tick_metric_set;
typedef struct tick_metric_slot tick_metric_slot;
typedef struct tick_metrics_cursor tick_metrics_cursor;

/* What a family is. Strings and arrays are copied at registration. */
typedef struct tick_metric_desc {
    const char *name;          /* [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help;          /* one line or more; NULL = "" */
    enum tick_metric_type type;
    const char *const *labels; /* label names, NULL-terminated; NULL = none.
                                * Not "le", not "tickd_instance", no "__" start */
    const double *buckets;     /* histograms: upper bounds, increasing,
                                * finite; +Inf is implied */
    size_t nbuckets;
} tick_metric_desc;

/* Register a family owned by the current scope. 0 and *out, or -EINVAL
 * (a bad name, label or bucket list; a type or HELP conflict; a reserved
 * prefix: logged), -EEXIST (this instance has it already), -ENOMEM. */
TICK_API int tick_metric_family_new(const tick_metric_desc *d, tick_metric_family **out);
/* Unregister and free f and its series now (the output no longer shows
 * them; a cursor standing on one skips it). NULL is a no-op. */
TICK_API void tick_metric_family_delete(tick_metric_family *f);

/* The series of f with these label values (as many as f has label names;
 * NULL for none), made on first use. Made: allocation, a linear search of
 * f's series: keep the pointer rather than look it up on the hot path.
 * 0, -EINVAL (wrong family kind, NULL value), -ENOMEM. */
TICK_API int tick_metric_get(tick_metric_family *f, const char *const *values,
                             tick_metric **out);
/* The series of a family without labels, or NULL. */
TICK_API tick_metric *tick_metric_of(tick_metric_family *f);
/* Delete one series (statsd expiring a key). NULL is a no-op. */
TICK_API void tick_metric_delete(tick_metric *m);

/* Updates: no lock, no allocation. A counter only goes up (negative or
 * NaN adds are ignored); the wrong kind of metric is ignored. */
TICK_API void tick_counter_add(tick_metric *m, double v);
TICK_API void tick_counter_inc(tick_metric *m);
TICK_API void tick_gauge_set(tick_metric *m, double v);
TICK_API void tick_gauge_add(tick_metric *m, double v);
TICK_API void tick_histogram_observe(tick_metric *m, double v);
/* The value now (counter, gauge), the count (histogram); 0 for NULL. */
TICK_API double tick_metric_value(const tick_metric *m);

/*
 * Callback families: no stored series; at scrape time, when the cursor
 * reaches the family, fn(f, sink, user) emits its samples (label values
 * as in tick_metric_get). fn must not register or delete metrics. release
 * (optional) is called with user when the family is freed.
 */
typedef void (*tick_metric_collect_fn)(tick_metric_family *f, tick_metric_sink *sink,
                                       void *user);
TICK_API int tick_metric_family_callback(const tick_metric_desc *d,
                                         tick_metric_collect_fn fn,
                                         void (*release)(void *user), void *user,
                                         tick_metric_family **out);
TICK_API void tick_metric_emit(tick_metric_sink *sink, const char *const *values,
                               double v);
/* counts: nbuckets + 1 per-bucket (not cumulative) counts, +Inf last. */
TICK_API void tick_metric_emit_histogram(tick_metric_sink *sink, const char *const *values,
                                         const uint64_t *counts, double sum);
/* A number unique to this scrape (to share one read among families). */
TICK_API uint64_t tick_metric_sink_scrape(const tick_metric_sink *sink);

/*
 * External sets: families and samples a plugin builds (exec parsing a
 * command's output) and publishes at once. A slot, owned by the current
 * scope, holds the set last published; publishing replaces it whole, in
 * one call (a scrape sees the old set or the new one per family). A set
 * is plain memory until published: build it anywhere on the loop thread.
 */
TICK_API int tick_metric_set_new(tick_metric_set **out);
/* Add a family; returns its index (>= 0) for the samples, or -EINVAL/-ENOMEM. */
TICK_API int tick_metric_set_family(tick_metric_set *set, const tick_metric_desc *d);
TICK_API int tick_metric_set_sample(tick_metric_set *set, int family,
                                    const char *const *values, double v);
TICK_API int tick_metric_set_histogram(tick_metric_set *set, int family,
                                       const char *const *values,
                                       const uint64_t *counts, double sum);
TICK_API void tick_metric_set_free(tick_metric_set *set);

TICK_API int tick_metric_slot_new(tick_metric_slot **out);
/* Publish set in s (s takes set, on failure too). 0, or -EINVAL (a
 * conflict with another scope's family or a reserved name: logged; the
 * set published before stays), -ENOMEM. NULL set: publish nothing. */
TICK_API int tick_metric_slot_publish(tick_metric_slot *s, tick_metric_set *set);
TICK_API void tick_metric_slot_delete(tick_metric_slot *s);

/*
 * Rendering. begin: a cursor at the start (-ENOMEM). render: up to cap
 * (> 0) bytes of the text into buf; the count, 0 at the end, -EINVAL
 * (cap 0), -ENOMEM (the cursor stays valid: end it). end: free the
 * cursor (any time; NULL is a no-op). Several cursors may be open.
 */
TICK_API int tick_metrics_render_begin(tick_metrics_cursor **out);
TICK_API ssize_t tick_metrics_render(tick_metrics_cursor *c, char *buf, size_t cap);
TICK_API void tick_metrics_render_end(tick_metrics_cursor *c);

/* In tickd only (a program linked with libtick alone lacks it): the
 * daemon's status as one JSON object — version, start time, uptime,
 * configuration files, the last reload's result and error text, and per
 * instance its module, module version, state, status text, time up,
 * tasks, fds, child scopes (connections), task failures, handler and
 * pool CPU seconds, bytes. snprintf's contract: returns the length
 * needed; writes at most cap bytes, NUL-terminated. */
TICK_API size_t tick_daemon_status_json(char *buf, size_t cap);
/* In tickd only: true when every instance (old incarnations a reload is
 * retiring aside) runs and is ready (tick_instance_set_ready); else false
 * and the reason in why ("plugin:kv: not ready: loading", "; "-joined),
 * NUL-terminated within cap (why NULL or cap 0: no text). */
TICK_API bool tick_daemon_health(char *why, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TICK_METRICS_H */
