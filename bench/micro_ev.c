/*
 * micro_ev.c — libev's side of the shared micro-benchmarks (see README.md
 * for why each peer workload is the fair equivalent).
 */
#include <math.h>
#include <stdlib.h>
#include <ev.h>

#include "bench.h"

static uint64_t count;

static struct ev_loop *new_loop(void)
{
    /* epoll, like the other two; ignore LIBEV_FLAGS from the environment */
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (!loop)
        bench_fail("ev_loop_new", -ENOMEM);
    return loop;
}

static bench_result one(double v)
{
    return (bench_result){ { v, NAN } };
}

/* ---- 1. ev_feed_event: queue a watcher's callback for this iteration's
 * pending phase, without starting the watcher — libev's call_soon ---- */

static void fed_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    count++;
}

static void feed_batches(struct ev_loop *loop, ev_idle *ws, unsigned batches)
{
    for (unsigned b = 0; b < batches; b++) {
        for (unsigned i = 0; i < BENCH_BATCH; i++)
            ev_feed_event(loop, &ws[i], EV_CUSTOM);
        ev_run(loop, EVRUN_NOWAIT);
    }
}

bench_result ev_call_soon_run(void)
{
    struct ev_loop *loop = new_loop();
    ev_idle *ws = calloc(BENCH_BATCH, sizeof *ws);
    if (!ws)
        bench_fail("calloc", -ENOMEM);
    for (unsigned i = 0; i < BENCH_BATCH; i++)
        ev_idle_init(&ws[i], fed_cb);
    unsigned batches = BENCH_SOON_OPS / BENCH_BATCH;
    feed_batches(loop, ws, batches / 8);
    count = 0;
    uint64_t t0 = bench_now_ns();
    feed_batches(loop, ws, batches);
    uint64_t dt = bench_now_ns() - t0;
    if (count != (uint64_t)batches * BENCH_BATCH)
        bench_fail("ev feed: wrong callback count", -EPROTO);
    ev_loop_destroy(loop);
    free(ws);
    return one((double)dt / count);
}

/* ---- 4. empty iteration ---- */

static void never_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    bench_fail("ev empty: the far timer fired", -EPROTO);
}

bench_result ev_empty_tick(void)
{
    struct ev_loop *loop = new_loop();
    ev_timer far;
    ev_timer_init(&far, never_cb, 3600., 0.);
    ev_timer_start(loop, &far);
    for (unsigned i = 0; i < BENCH_EMPTY_OPS / 8; i++)
        ev_run(loop, EVRUN_NOWAIT);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_EMPTY_OPS; i++)
        ev_run(loop, EVRUN_NOWAIT);
    uint64_t dt = bench_now_ns() - t0;
    ev_timer_stop(loop, &far);
    ev_loop_destroy(loop);
    return one((double)dt / BENCH_EMPTY_OPS);
}

/* ---- 5. one million timers ---- */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    count++;
}

bench_result ev_timers_1m(void)
{
    struct ev_loop *loop = new_loop();
    ev_timer *ts = calloc(BENCH_TIMERS, sizeof *ts);
    double *off = malloc(BENCH_TIMERS * sizeof *off);
    if (!ts || !off)
        bench_fail("calloc", -ENOMEM);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < BENCH_TIMERS; i++) {
        off[i] = (double)bench_timer_offset(&seed) * 1e-9;
        ev_timer_init(&ts[i], timer_cb, off[i], 0.);
    }
    ev_now_update(loop);
    for (unsigned i = 0; i < BENCH_TIMERS; i++)
        ev_timer_start(loop, &ts[i]);
    for (unsigned i = 0; i < BENCH_TIMERS; i++)
        ev_timer_stop(loop, &ts[i]);

    ev_now_update(loop);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_TIMERS; i++) {
        ev_timer_set(&ts[i], off[i], 0.);
        ev_timer_start(loop, &ts[i]);
    }
    uint64_t t_ins = bench_now_ns() - t0;

    bench_sleep_past_spread();
    count = 0;
    t0 = bench_now_ns();
    while (count < BENCH_TIMERS)
        ev_run(loop, EVRUN_NOWAIT);
    uint64_t t_fire = bench_now_ns() - t0;
    ev_loop_destroy(loop);
    free(off);
    free(ts);
    return (bench_result){ { (double)t_ins / BENCH_TIMERS, (double)t_fire / BENCH_TIMERS } };
}
