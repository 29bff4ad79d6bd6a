/*
 * micro_uv.c — libuv's side of the shared micro-benchmarks (see README.md
 * for why each peer workload is the fair equivalent).
 */
#include <math.h>
#include <stdlib.h>
#include <uv.h>

#include "bench.h"

static uint64_t count;

static uv_loop_t *new_loop(void)
{
    uv_loop_t *loop = malloc(sizeof *loop);
    if (!loop)
        bench_fail("malloc", -ENOMEM);
    int rc = uv_loop_init(loop);
    if (rc < 0)
        bench_fail("uv_loop_init", rc);
    return loop;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_loop(uv_loop_t *loop)
{
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(loop);
    if (rc < 0)
        bench_fail("uv_loop_close", rc);
    free(loop);
}

static bench_result one(double v)
{
    return (bench_result){ { v, NAN } };
}

/* ---- 1. "run this callback next iteration": a one-shot idle handle ---- */

static void idle_cb(uv_idle_t *h)
{
    count++;
    uv_idle_stop(h);
}

static void idle_batches(uv_loop_t *loop, uv_idle_t *hs, unsigned batches)
{
    for (unsigned b = 0; b < batches; b++) {
        for (unsigned i = 0; i < BENCH_BATCH; i++)
            uv_idle_start(&hs[i], idle_cb);
        uv_run(loop, UV_RUN_NOWAIT);
    }
}

bench_result uv_call_soon_run(void)
{
    uv_loop_t *loop = new_loop();
    uv_idle_t *hs = calloc(BENCH_BATCH, sizeof *hs);
    if (!hs)
        bench_fail("calloc", -ENOMEM);
    for (unsigned i = 0; i < BENCH_BATCH; i++)
        uv_idle_init(loop, &hs[i]);
    unsigned batches = BENCH_SOON_OPS / BENCH_BATCH;
    idle_batches(loop, hs, batches / 8);
    count = 0;
    uint64_t t0 = bench_now_ns();
    idle_batches(loop, hs, batches);
    uint64_t dt = bench_now_ns() - t0;
    if (count != (uint64_t)batches * BENCH_BATCH)
        bench_fail("uv idle: wrong callback count", -EPROTO);
    close_loop(loop);
    free(hs);
    return one((double)dt / count);
}

/* ---- 4. empty iteration ---- */

static void never_cb(uv_timer_t *t)
{
    (void)t;
    bench_fail("uv empty: the far timer fired", -EPROTO);
}

bench_result uv_empty_tick(void)
{
    uv_loop_t *loop = new_loop();
    uv_timer_t far;
    uv_timer_init(loop, &far);
    uv_timer_start(&far, never_cb, 3600 * 1000, 0);
    for (unsigned i = 0; i < BENCH_EMPTY_OPS / 8; i++)
        uv_run(loop, UV_RUN_NOWAIT);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_EMPTY_OPS; i++)
        uv_run(loop, UV_RUN_NOWAIT);
    uint64_t dt = bench_now_ns() - t0;
    close_loop(loop);
    return one((double)dt / BENCH_EMPTY_OPS);
}

/* ---- 5. one million timers ---- */

static void timer_cb(uv_timer_t *t)
{
    (void)t;
    count++;
}

bench_result uv_timers_1m(void)
{
    uv_loop_t *loop = new_loop();
    uv_timer_t *ts = calloc(BENCH_TIMERS, sizeof *ts);
    uint64_t *off = malloc(BENCH_TIMERS * sizeof *off);
    if (!ts || !off)
        bench_fail("calloc", -ENOMEM);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < BENCH_TIMERS; i++) {
        uv_timer_init(loop, &ts[i]);
        /* libuv's timeouts are whole milliseconds: round up, never early */
        off[i] = (bench_timer_offset(&seed) + 999999) / 1000000;
    }
    uv_update_time(loop);
    for (unsigned i = 0; i < BENCH_TIMERS; i++)
        uv_timer_start(&ts[i], timer_cb, off[i], 0);
    for (unsigned i = 0; i < BENCH_TIMERS; i++)
        uv_timer_stop(&ts[i]);

    uv_update_time(loop);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_TIMERS; i++) {
        int rc = uv_timer_start(&ts[i], timer_cb, off[i], 0);
        if (rc < 0)
            bench_fail("uv_timer_start", rc);
    }
    uint64_t t_ins = bench_now_ns() - t0;

    bench_sleep_past_spread();
    count = 0;
    t0 = bench_now_ns();
    while (count < BENCH_TIMERS)
        uv_run(loop, UV_RUN_NOWAIT);
    uint64_t t_fire = bench_now_ns() - t0;
    close_loop(loop);
    free(off);
    free(ts);
    return (bench_result){ { (double)t_ins / BENCH_TIMERS, (double)t_fire / BENCH_TIMERS } };
}
