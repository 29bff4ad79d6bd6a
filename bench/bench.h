/*
 * bench.h — shared by the micro-benchmark driver and its three engine
 * sides (tick, libuv, libev). Every workload function runs one complete
 * measurement in a fresh process (the driver forks) and returns its
 * figures; the driver repeats, takes medians and prints BENCH lines.
 */
#ifndef TICK_BENCH_H
#define TICK_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Sizes, shared by all engines so the workloads are the same. */
#define BENCH_BATCH      1024u      /* handles/futures scheduled per tick */
#define BENCH_SOON_OPS   (8u << 20) /* call_soon+run: handles per run */
#define BENCH_FUT_OPS    (4u << 20) /* future resolve: futures per run */
#define BENCH_RT_TASKS   1024u      /* task await: concurrent tasks */
#define BENCH_RT_ROUNDS  1024u      /* task await: round trips per task */
#define BENCH_EMPTY_OPS  200000u    /* empty ticks per run */
#define BENCH_TIMERS     1000000u   /* timers inserted and fired */
#define BENCH_TIMER_SPREAD_NS 200000000ull /* deadlines in now + [1ms, 201ms) */
#define BENCH_MEM_TASKS  1000000u   /* suspended tasks for the memory figure */

/* What one run of a workload reports: up to two figures (the timer
 * workload has insert and fire); NaN when not measured. */
typedef struct bench_result {
    double v[2];
} bench_result;

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: deterministic, identical sequences for every engine. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Timer offsets (ns from "now"), the same for all engines. */
static inline uint64_t bench_timer_offset(uint64_t *s)
{
    return 1000000u + bench_rand(s) % BENCH_TIMER_SPREAD_NS;
}

/* Let every timer deadline pass before the fire phase is timed. */
void bench_sleep_past_spread(void);

/* Bytes of heap in use (mallinfo2: arena + mmapped) and resident set. */
uint64_t bench_heap_bytes(void);
uint64_t bench_rss_bytes(void);

/* Abort the run (the driver reports the workload as failed). */
void bench_fail(const char *what, int err) __attribute__((noreturn));

/* The workloads, one set per engine. NULL entries: no such workload. */
typedef bench_result (*bench_fn)(void);

bench_result tick_call_soon_run(void);
bench_result tick_call_soon_switch(void);
bench_result tick_future_resolve(void);
bench_result tick_task_await_rt(void);
bench_result tick_task_pingpong(void);
bench_result tick_empty_tick(void);
bench_result tick_timers_1m(void);
bench_result tick_task_memory(void);

bench_result uv_call_soon_run(void);
bench_result uv_empty_tick(void);
bench_result uv_timers_1m(void);

bench_result ev_call_soon_run(void);
bench_result ev_empty_tick(void);
bench_result ev_timers_1m(void);

#endif
