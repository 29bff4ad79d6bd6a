/*
 * micro_tick.c — the tick engine's side of the micro-benchmarks. Each
 * function is one complete run in a fresh process (the driver forks):
 * create a loop, warm up, time, tear down, return ns per operation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tick/tick.h"
#include "bench.h"

static tick_loop *new_loop(void)
{
    tick_loop *loop;
    int rc = tick_loop_new(&loop);
    if (rc < 0)
        bench_fail("tick_loop_new", rc);
    return loop;
}

static void close_loop(tick_loop *loop)
{
    int rc = tick_loop_close(loop);
    if (rc < 0)
        bench_fail("tick_loop_close", rc);
}

static bench_result one(double v)
{
    return (bench_result){ { v, NAN } };
}

/* ---- 1. call_soon + run ---- */

static uint64_t soon_count;

static void soon_cb(tick_handle *h)
{
    (void)h;
    soon_count++;
}

static void soon_batches(tick_loop *loop, tick_handle *hs, unsigned batches)
{
    for (unsigned b = 0; b < batches; b++) {
        for (unsigned i = 0; i < BENCH_BATCH; i++)
            tick_call_soon(loop, &hs[i]);
        tick_loop_run_once(loop, false);
    }
}

bench_result tick_call_soon_run(void)
{
    tick_loop *loop = new_loop();
    tick_handle *hs = calloc(BENCH_BATCH, sizeof *hs);
    if (!hs)
        bench_fail("calloc", -ENOMEM);
    for (unsigned i = 0; i < BENCH_BATCH; i++)
        tick_handle_init(&hs[i], "soon", soon_cb);

    unsigned batches = BENCH_SOON_OPS / BENCH_BATCH;
    soon_batches(loop, hs, batches / 8);          /* warm-up */
    soon_count = 0;
    uint64_t t0 = bench_now_ns();
    soon_batches(loop, hs, batches);
    uint64_t dt = bench_now_ns() - t0;
    if (soon_count != (uint64_t)batches * BENCH_BATCH)
        bench_fail("call_soon: wrong callback count", -EPROTO);
    free(hs);
    close_loop(loop);
    return one((double)dt / soon_count);
}

/* ---- 1b. call_soon + run, every handle in another scope than the last:
 * the worst case of scope accounting (a clock read per handle), measured
 * with accounting on and off in the same process, alternately ---- */

static uint64_t switch_batches(tick_loop *loop, tick_handle *hs, unsigned batches, bool acct)
{
    tick_loop_set_accounting(loop, acct);
    uint64_t t0 = bench_now_ns();
    soon_batches(loop, hs, batches);
    return bench_now_ns() - t0;
}

bench_result tick_call_soon_switch(void)
{
    tick_loop *loop = new_loop();
    tick_scope a, b;
    tick_scope_init(&a, loop, NULL, "a");
    tick_scope_init(&b, loop, NULL, "b");
    tick_handle *hs = calloc(BENCH_BATCH, sizeof *hs);
    if (!hs)
        bench_fail("calloc", -ENOMEM);
    for (unsigned i = 0; i < BENCH_BATCH; i++) {
        tick_handle_init(&hs[i], "soon", soon_cb);
        tick_handle_set_scope(&hs[i], i & 1 ? &b : &a);
    }
    unsigned batches = BENCH_SOON_OPS / BENCH_BATCH / 4;
    soon_batches(loop, hs, batches / 8);          /* warm-up */
    uint64_t on = 0, off = 0;
    soon_count = 0;
    for (int rep = 0; rep < 4; rep++) {           /* interleaved halves */
        on += switch_batches(loop, hs, batches / 4, true);
        off += switch_batches(loop, hs, batches / 4, false);
    }
    uint64_t ops = (uint64_t)(batches / 4) * 4 * BENCH_BATCH;
    if (soon_count != 2 * ops)
        bench_fail("call_soon_switch: wrong callback count", -EPROTO);
    free(hs);
    if (tick_scope_close(&a) < 0 || tick_scope_close(&b) < 0)
        bench_fail("tick_scope_close", -EBUSY);
    close_loop(loop);
    return (bench_result){ { (double)on / ops, (double)off / ops } };
}

/* ---- 2. future resolve -> done-callback ---- */

static void fut_cb(tick_handle *h)
{
    (void)h;
    soon_count++;
}

/* Futures are embedded (no ops->free): the figure is the engine's
 * set_result -> ready queue -> callback path, not malloc. Registration
 * happens outside the timed section; set_result + the tick that runs the
 * callbacks are timed. */
static uint64_t fut_batches(tick_loop *loop, tick_future *fs, tick_handle *hs,
                            unsigned batches)
{
    uint64_t total = 0;
    for (unsigned b = 0; b < batches; b++) {
        for (unsigned i = 0; i < BENCH_BATCH; i++) {
            tick_future_init(&fs[i], loop, NULL);
            tick_future_add_done_callback(&fs[i], &hs[i]);
        }
        uint64_t t0 = bench_now_ns();
        for (unsigned i = 0; i < BENCH_BATCH; i++)
            tick_future_set_result(&fs[i], (intptr_t)i);
        tick_loop_run_once(loop, false);
        total += bench_now_ns() - t0;
    }
    return total;
}

bench_result tick_future_resolve(void)
{
    tick_loop *loop = new_loop();
    tick_future *fs = calloc(BENCH_BATCH, sizeof *fs);
    tick_handle *hs = calloc(BENCH_BATCH, sizeof *hs);
    if (!fs || !hs)
        bench_fail("calloc", -ENOMEM);
    for (unsigned i = 0; i < BENCH_BATCH; i++)
        tick_handle_init(&hs[i], "done", fut_cb);

    unsigned batches = BENCH_FUT_OPS / BENCH_BATCH;
    fut_batches(loop, fs, hs, batches / 8);
    soon_count = 0;
    uint64_t dt = fut_batches(loop, fs, hs, batches);
    if (soon_count != (uint64_t)batches * BENCH_BATCH)
        bench_fail("future: wrong callback count", -EPROTO);
    free(hs);
    free(fs);
    close_loop(loop);
    return one((double)dt / soon_count);
}

/* ---- 3. task await round trip ---- */

/*
 * A round trip: the task makes a pending future, schedules a resolver
 * handle and awaits the future (suspends); the resolver sets the result
 * (the task's wake-up joins the ready queue); the task resumes. Two
 * handle runs and two ticks per round trip; BENCH_RT_TASKS tasks run at
 * once, so the per-tick poll is shared by all of them, as in a busy
 * daemon. Futures are embedded; two alternate, because the task keeps a
 * reference on the last awaited future until its next await.
 */
struct rt_task {
    tick_task task;
    tick_future fut[2];
    tick_handle resolver;
    unsigned i, n;
};

static void rt_resolve(tick_handle *h)
{
    struct rt_task *r = tick_container_of(h, struct rt_task, resolver);
    tick_future_set_result(&r->fut[r->i & 1], 1);
}

static int rt_step(tick_task *t)
{
    struct rt_task *r = tick_container_of(t, struct rt_task, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (r->i = 0; r->i < r->n; r->i++) {
        tick_future_init(&r->fut[r->i & 1], tick_task_loop(t), NULL);
        tick_call_soon(tick_task_loop(t), &r->resolver);
        TICK_AWAIT(t, tick_future_ref(&r->fut[r->i & 1]), rc);
        if (rc != 1)
            TICK_FAIL(t, -EPROTO);
    }
    TICK_END(t);
}

static const tick_task_class rt_class = { .step = rt_step, .free = NULL };

static uint64_t rt_run(tick_loop *loop, struct rt_task *rs, unsigned rounds)
{
    for (unsigned i = 0; i < BENCH_RT_TASKS; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        rs[i].n = rounds;
        tick_handle_init(&rs[i].resolver, "resolver", rt_resolve);
    }
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_RT_TASKS; i++) {
        int rc = tick_task_start(loop, &rs[i].task, "rt", &rt_class);
        if (rc < 0)
            bench_fail("tick_task_start", rc);
    }
    for (;;) {
        int ran = tick_loop_run_once(loop, false);
        if (ran < 0)
            bench_fail("tick_loop_run_once", ran);
        if (ran == 0)
            break;
    }
    uint64_t dt = bench_now_ns() - t0;
    for (unsigned i = 0; i < BENCH_RT_TASKS; i++) {
        tick_task *t = &rs[i].task;
        if (!tick_future_done(&t->future) || tick_future_error(&t->future) != 0 ||
            rs[i].i != rounds)
            bench_fail("task await: a task did not finish cleanly", -EPROTO);
        tick_future_unref(&t->future);
    }
    return dt;
}

bench_result tick_task_await_rt(void)
{
    tick_loop *loop = new_loop();
    struct rt_task *rs = calloc(BENCH_RT_TASKS, sizeof *rs);
    if (!rs)
        bench_fail("calloc", -ENOMEM);
    rt_run(loop, rs, BENCH_RT_ROUNDS / 8);
    uint64_t dt = rt_run(loop, rs, BENCH_RT_ROUNDS);
    free(rs);
    close_loop(loop);
    return one((double)dt / ((double)BENCH_RT_TASKS * BENCH_RT_ROUNDS));
}

/* ---- 3b. task <-> task ping-pong ---- */

/*
 * The same round trip with a task on both sides: A resolves B's future and
 * awaits its own; B wakes, resolves A's and awaits its own again. One
 * round trip = A -> B -> A: two wake-ups, two ticks. BENCH_RT_TASKS / 2
 * pairs run at once. Each side alternates two embedded futures, for the
 * reason given above.
 */
struct pp_side {
    tick_task task;
    tick_future fut[2];           /* what this side awaits */
    struct pp_side *peer;
    unsigned i, n;
    bool first;                   /* A starts the volley */
};

static int pp_step(tick_task *t)
{
    struct pp_side *s = tick_container_of(t, struct pp_side, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (s->i = 0; s->i < s->n; s->i++) {
        tick_future_init(&s->fut[s->i & 1], tick_task_loop(t), NULL);
        /* the peer is already awaiting fut[i & 1] of its own: resolve it */
        if (s->first || s->i > 0)
            tick_future_set_result(&s->peer->fut[s->first ? s->i & 1 : (s->i - 1) & 1], 1);
        TICK_AWAIT(t, tick_future_ref(&s->fut[s->i & 1]), rc);
        if (rc != 1)
            TICK_FAIL(t, -EPROTO);
    }
    /* B still owes A the last wake-up */
    if (!s->first)
        tick_future_set_result(&s->peer->fut[(s->i - 1) & 1], 1);
    TICK_END(t);
}

static const tick_task_class pp_class = { .step = pp_step, .free = NULL };

static uint64_t pp_run(tick_loop *loop, struct pp_side *ps, unsigned rounds)
{
    unsigned pairs = BENCH_RT_TASKS / 2;
    for (unsigned p = 0; p < pairs; p++) {
        struct pp_side *a = &ps[2 * p], *b = &ps[2 * p + 1];
        memset(a, 0, sizeof *a);
        memset(b, 0, sizeof *b);
        a->peer = b;
        b->peer = a;
        a->first = true;
        a->n = b->n = rounds;
    }
    uint64_t t0 = bench_now_ns();
    /* B first, so it is awaiting when A's first step resolves its future */
    for (unsigned i = 0; i < 2 * pairs; i++) {
        struct pp_side *s = &ps[i ^ 1];
        int rc = tick_task_start(loop, &s->task, s->first ? "ping" : "pong", &pp_class);
        if (rc < 0)
            bench_fail("tick_task_start", rc);
    }
    for (;;) {
        int ran = tick_loop_run_once(loop, false);
        if (ran < 0)
            bench_fail("tick_loop_run_once", ran);
        if (ran == 0)
            break;
    }
    uint64_t dt = bench_now_ns() - t0;
    for (unsigned i = 0; i < 2 * pairs; i++) {
        tick_task *t = &ps[i].task;
        if (!tick_future_done(&t->future) || tick_future_error(&t->future) != 0 ||
            ps[i].i != rounds)
            bench_fail("task ping-pong: a task did not finish cleanly", -EPROTO);
        tick_future_unref(&t->future);
    }
    return dt;
}

bench_result tick_task_pingpong(void)
{
    tick_loop *loop = new_loop();
    struct pp_side *ps = calloc(BENCH_RT_TASKS, sizeof *ps);
    if (!ps)
        bench_fail("calloc", -ENOMEM);
    pp_run(loop, ps, BENCH_RT_ROUNDS / 8);
    uint64_t dt = pp_run(loop, ps, BENCH_RT_ROUNDS);
    free(ps);
    close_loop(loop);
    return one((double)dt / ((double)(BENCH_RT_TASKS / 2) * BENCH_RT_ROUNDS));
}

/* ---- 4. empty tick ---- */

static void never_cb(tick_handle *h)
{
    (void)h;
    bench_fail("empty tick: the far timer fired", -EPROTO);
}

/* One timer armed an hour ahead in every engine: a realistic idle daemon,
 * and it keeps libuv's loop "alive" so uv_run really polls. */
bench_result tick_empty_tick(void)
{
    tick_loop *loop = new_loop();
    tick_timer far;
    tick_timer_init(&far, "far", never_cb);
    int rc = tick_call_later(loop, &far, 3600 * TICK_SEC);
    if (rc < 0)
        bench_fail("tick_call_later", rc);
    for (unsigned i = 0; i < BENCH_EMPTY_OPS / 8; i++)
        tick_loop_run_once(loop, false);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_EMPTY_OPS; i++)
        tick_loop_run_once(loop, false);
    uint64_t dt = bench_now_ns() - t0;
    tick_timer_stop(loop, &far);
    close_loop(loop);
    return one((double)dt / BENCH_EMPTY_OPS);
}

/* ---- 5. one million timers ---- */

static void timer_cb(tick_handle *h)
{
    (void)h;
    soon_count++;
}

bench_result tick_timers_1m(void)
{
    tick_loop *loop = new_loop();
    tick_timer *ts = calloc(BENCH_TIMERS, sizeof *ts);
    uint64_t *off = malloc(BENCH_TIMERS * sizeof *off);
    if (!ts || !off)
        bench_fail("calloc", -ENOMEM);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < BENCH_TIMERS; i++) {
        tick_timer_init(&ts[i], "t", timer_cb);
        off[i] = bench_timer_offset(&seed);
    }
    /* Warm the heap's storage once (a daemon's heap has grown already),
     * then disarm; the timed insert starts from an empty heap. */
    uint64_t now = tick_now_update(loop);
    for (unsigned i = 0; i < BENCH_TIMERS; i++)
        tick_timer_start_at(loop, &ts[i], now + off[i]);
    for (unsigned i = 0; i < BENCH_TIMERS; i++)
        tick_timer_stop(loop, &ts[i]);

    now = tick_now_update(loop);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < BENCH_TIMERS; i++) {
        int rc = tick_timer_start_at(loop, &ts[i], now + off[i]);
        if (rc < 0)
            bench_fail("tick_timer_start_at", rc);
    }
    uint64_t t_ins = bench_now_ns() - t0;

    bench_sleep_past_spread();
    soon_count = 0;
    t0 = bench_now_ns();
    while (soon_count < BENCH_TIMERS) {
        int ran = tick_loop_run_once(loop, false);
        if (ran < 0)
            bench_fail("tick_loop_run_once", ran);
    }
    uint64_t t_fire = bench_now_ns() - t0;
    free(off);
    free(ts);
    close_loop(loop);
    return (bench_result){ { (double)t_ins / BENCH_TIMERS, (double)t_fire / BENCH_TIMERS } };
}

/* ---- 6. bytes per suspended task ---- */

/* The plugin's own task struct: the engine's tick_task plus 8 bytes of
 * plugin state. Allocated as one array so malloc's per-chunk header is
 * not counted against the engine. */
struct mem_task {
    tick_task task;
    uint64_t plugin_state;
};

static tick_future *mem_shared;

static int mem_step(tick_task *t)
{
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(mem_shared), rc);
    TICK_RETURN(t, rc);
    TICK_END(t);
}

static const tick_task_class mem_class = { .step = mem_step, .free = NULL };

bench_result tick_task_memory(void)
{
    tick_loop *loop = new_loop();
    int rc = tick_future_new(loop, &mem_shared);
    if (rc < 0)
        bench_fail("tick_future_new", rc);
    /* Touch the allocator and the stack once so their first-use pages are
     * not charged to the tasks. */
    free(malloc(1 << 20));
    tick_loop_run_once(loop, false);

    /* Heap: mallinfo2 before the task array is allocated and after every
     * task is suspended. RSS: the slope between half and all of the tasks
     * started (calloc'd pages are touched only as tasks are initialised),
     * so fixed costs such as page rounding cancel out. */
    uint64_t heap0 = bench_heap_bytes();
    struct mem_task *ms = calloc(BENCH_MEM_TASKS, sizeof *ms);
    if (!ms)
        bench_fail("calloc", -ENOMEM);
    uint64_t rss_half = 0;
    for (unsigned i = 0; i < BENCH_MEM_TASKS; i++) {
        if (i == BENCH_MEM_TASKS / 2) {
            tick_loop_run_once(loop, false);   /* every task runs and suspends */
            tick_loop_run_once(loop, false);
            rss_half = bench_rss_bytes();
        }
        rc = tick_task_start(loop, &ms[i].task, "mem", &mem_class);
        if (rc < 0)
            bench_fail("tick_task_start", rc);
    }
    tick_loop_run_once(loop, false);
    tick_loop_run_once(loop, false);
    for (unsigned i = 0; i < BENCH_MEM_TASKS; i += 997)
        if (tick_future_done(&ms[i].task.future))
            bench_fail("task memory: a task finished early", -EPROTO);
    uint64_t heap1 = bench_heap_bytes(), rss1 = bench_rss_bytes();
    double plugin = (double)(sizeof(struct mem_task) - sizeof(tick_task));
    double heap_per = (double)(heap1 - heap0) / BENCH_MEM_TASKS - plugin;
    double rss_per = (double)(rss1 - rss_half) / (BENCH_MEM_TASKS - BENCH_MEM_TASKS / 2) - plugin;

    /* Wake them all and let them finish so the loop closes cleanly. */
    tick_future_set_result(mem_shared, 7);
    while (tick_loop_run_once(loop, false) > 0)
        ;
    for (unsigned i = 0; i < BENCH_MEM_TASKS; i++)
        tick_future_unref(&ms[i].task.future);
    mem_shared = tick_future_unref(mem_shared);
    free(ms);
    close_loop(loop);
    return (bench_result){ { heap_per, rss_per } };
}
