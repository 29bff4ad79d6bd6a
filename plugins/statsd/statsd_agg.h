/*
 * statsd_agg.h — statsd lines into tick metrics: a hash table of series
 * keyed by the parser's series key (name + sorted tags), one metric family
 * per statsd name, expiry by a bounded sweep, set windows, max_series.
 *
 * Hot path (an existing series): hash the key, walk one chain, compare,
 * one add: no allocation. A new series: a family (the first of its name:
 * its label names are the tag keys of that line, fixed from then on) and
 * a tick_metric_get(), then an entry in the table.
 *
 * Families and series are the instance scope's (tick/metrics.h): they go
 * when the scope closes. statsd_agg_free() frees only the table.
 */
#ifndef STATSD_AGG_H
#define STATSD_AGG_H

#include <tick/tick.h>
#include "statsd_parse.h"

#define STATSD_SET_MAX 16384u    /* distinct values a set holds in a window */
#define STATSD_OBSERVE_MAX 1000u
#define STATSD_REFUSED_MAX 4096u /* names the metrics API refused, remembered */ /* a sampled timer is observed 1/rate times, at most */

struct sd_family;
struct sd_series;

struct statsd_agg {
    /* configuration */
    uint64_t max_series;
    uint64_t expire_ns;          /* without an update */
    const double *buckets;
    size_t nbuckets;
    /* metrics are registered in this scope (the instance's), not in the
     * current one (a TCP connection's, which closes with it) */
    tick_loop *loop;
    tick_scope *scope;
    /* the table of series */
    struct sd_series **tab;
    size_t tab_mask;
    struct sd_series **all;      /* dense, for the sweep: all[i]->idx == i */
    size_t nseries, all_cap;
    size_t sweep_at;             /* the sweep's position in all[] */
    /* the families by name */
    struct sd_family **ftab;
    size_t ftab_mask, nfamilies, nrefused;
    uint64_t expired;            /* series deleted by the sweep */
};

int statsd_agg_init(struct statsd_agg *a);
/* Apply one parsed line at time now_ns (tick_now()): STATSD_OK or why
 * it was dropped (the caller counts it). */
enum statsd_reason statsd_agg_apply(struct statsd_agg *a, const struct statsd_line *l,
                                    uint64_t now_ns);
/* Look at up to budget series from where the last sweep stopped; delete
 * those not updated for expire_ns. Returns how many were deleted. */
size_t statsd_agg_sweep(struct statsd_agg *a, uint64_t now_ns, size_t budget);
/* A set window ended: each set's gauge shows the distinct values of the
 * window that ended, and the next one starts empty. */
void statsd_agg_set_window(struct statsd_agg *a);
/* Free the table (not the metrics: the scope's). */
void statsd_agg_free(struct statsd_agg *a);

#endif
