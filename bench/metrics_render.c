/*
 * metrics_render.c — the /metrics render time for N instances' worth of
 * series (default 1000): each instance is a scope with the daemon's 12
 * per-instance callback families (one tick_scope_get_stats per scrape,
 * shared, as metrics_daemon.c does) plus a labelled counter and a
 * 10-bucket histogram. Renders in slices of 16 KiB (as the http plugin
 * would, one per tick) and prints the best full-scrape time of R runs,
 * the longest slice, and the output size.
 *
 *   metrics_render [-n INSTANCES] [-r RUNS] [-s SLICE_BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <tick/tick.h>

#define PER_INSTANCE 12

struct inst {
    tick_scope scope;
    char name[32];
    uint64_t scrape;
    tick_scope_stats st;
    tick_metric_family *fams[PER_INSTANCE];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void collect(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    struct inst *in = user;
    if (in->scrape != tick_metric_sink_scrape(sink)) {
        in->scrape = tick_metric_sink_scrape(sink);
        tick_scope_get_stats(&in->scope, &in->st, true);
    }
    size_t i = 0;
    while (i < PER_INSTANCE && in->fams[i] != f)
        i++;
    double v = i == 0 ? 1 : (double)in->st.handles_run + (double)i;
    tick_metric_emit(sink, (const char *[]){ "heartbeat" }, v);
}

static const char *const names[PER_INSTANCE] = {
    "bench_instance_up", "bench_instance_handler_seconds_total",
    "bench_instance_pool_cpu_seconds_total", "bench_instance_handles_run_total",
    "bench_instance_tasks", "bench_instance_tasks_started_total", "bench_instance_fds",
    "bench_instance_child_scopes", "bench_instance_bytes_in_total",
    "bench_instance_bytes_out_total", "bench_instance_task_failures_total",
    "bench_instance_start_time_seconds",
};

int main(int argc, char **argv)
{
    int n = 1000, runs = 7, opt;
    size_t slice = 16384;
    while ((opt = getopt(argc, argv, "n:r:s:")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'r': runs = atoi(optarg); break;
        case 's': slice = (size_t)atol(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n INSTANCES] [-r RUNS] [-s SLICE_BYTES]\n", argv[0]);
            return 64;
        }
    }
    tick_loop *loop;
    if (tick_loop_new(&loop) < 0)
        return 1;
    struct inst *insts = calloc((size_t)n, sizeof *insts);
    uint64_t reg0 = now_ns();
    static const double buckets[] = { .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1 };
    static const char *const method[] = { "method", NULL };
    static const char *const module[] = { "module", NULL };
    for (int i = 0; i < n; i++) {
        struct inst *in = &insts[i];
        snprintf(in->name, sizeof in->name, "plugin:web%04d", i);
        tick_scope_init(&in->scope, loop, tick_loop_scope(loop), in->name);
        tick_scope *prev = tick_scope_enter(loop, &in->scope);
        for (int k = 0; k < PER_INSTANCE; k++) {
            enum tick_metric_type t = strstr(names[k], "_total") ? TICK_METRIC_COUNTER
                                                                 : TICK_METRIC_GAUGE;
            if (tick_metric_family_callback(&(tick_metric_desc){ .name = names[k],
                    .help = "A per-instance figure.", .type = t, .labels = module },
                    collect, NULL, in, &in->fams[k]) < 0)
                return 2;
        }
        tick_metric_family *c, *h;
        tick_metric *m;
        if (tick_metric_family_new(&(tick_metric_desc){ .name = "bench_requests_total",
                .help = "Requests.", .type = TICK_METRIC_COUNTER, .labels = method }, &c) < 0 ||
            tick_metric_family_new(&(tick_metric_desc){ .name = "bench_latency_seconds",
                .help = "Latency.", .type = TICK_METRIC_HISTOGRAM, .buckets = buckets,
                .nbuckets = 10 }, &h) < 0)
            return 3;
        tick_metric_get(c, (const char *[]){ "GET" }, &m);
        tick_counter_add(m, i);
        for (int k = 0; k < 20; k++)
            tick_histogram_observe(tick_metric_of(h), k * 0.013);
        tick_scope_enter(loop, prev);
    }
    uint64_t reg_ns = now_ns() - reg0;
    char *buf = malloc(slice);
    uint64_t best = UINT64_MAX, worst_slice = 0;
    size_t bytes = 0, slices = 0;
    for (int r = 0; r < runs; r++) {
        tick_metrics_cursor *cur;
        uint64_t t0 = now_ns(), longest = 0;
        size_t total = 0, ns = 0;
        ssize_t w;
        if (tick_metrics_render_begin(&cur) < 0)
            return 4;
        for (;;) {
            uint64_t s0 = now_ns();
            w = tick_metrics_render(cur, buf, slice);
            uint64_t d = now_ns() - s0;
            if (w <= 0)
                break;
            longest = d > longest ? d : longest;
            total += (size_t)w;
            ns++;
        }
        tick_metrics_render_end(cur);
        if (w < 0)
            return 5;
        uint64_t dt = now_ns() - t0;
        if (dt < best) {
            best = dt;
            worst_slice = longest;
        }
        bytes = total;
        slices = ns;
    }
    printf("metrics_render: %d instances x (%d callback families + a counter + a 10-bucket "
           "histogram) = %d series lines' worth, %zu bytes: %.2f ms per scrape (best of %d), "
           "%zu slices of %zu bytes, longest slice %.1f us; registering all: %.1f ms\n",
           n, PER_INSTANCE, n * (PER_INSTANCE + 1 + 13), bytes, (double)best / 1e6, runs,
           slices, slice, (double)worst_slice / 1e3, (double)reg_ns / 1e6);
    for (int i = 0; i < n; i++) {
        tick_scope_cancel(&insts[i].scope);
        tick_scope_close(&insts[i].scope);
    }
    free(insts);
    free(buf);
    return tick_loop_close(loop) == 0 ? 0 : 6;
}
