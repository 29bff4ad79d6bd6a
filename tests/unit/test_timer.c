/* test_timer.c — call_later, sleep, FIFO among equal deadlines, never early,
 * stop/cancel, drift-free periodic re-arm, a million timers. */
#include <time.h>
#include "helpers.h"

struct tm_rec { tick_timer t; int id; int *log; int *n; uint64_t fired_at; };

static void tm_fire(tick_handle *h)
{
    struct tm_rec *r = tick_container_of(h, struct tm_rec, t.handle);
    r->log[(*r->n)++] = r->id;
    r->fired_at = tick_now(loop);
}

START_TEST(equal_deadlines_fire_fifo)
{
    int log[8], n = 0;
    struct tm_rec r[8];
    uint64_t deadline = tick_now(loop) + 2 * TICK_MSEC;
    for (int i = 0; i < 8; i++) {
        r[i] = (struct tm_rec){ .id = i, .log = log, .n = &n };
        tick_timer_init(&r[i].t, "tm", tm_fire);
        ck_assert_int_eq(tick_timer_start_at(loop, &r[i].t, deadline), 0);
    }
    RUN_UNTIL(n == 8, 1000);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(log[i], i);
}
END_TEST

START_TEST(never_fires_early)
{
    int log[1], n = 0;
    struct tm_rec r = { .id = 1, .log = log, .n = &n };
    tick_timer_init(&r.t, "tm", tm_fire);
    uint64_t start = tick_now(loop);
    tick_call_later(loop, &r.t, 3 * TICK_MSEC + 123);
    RUN_UNTIL(n == 1, 1000);
    ck_assert_uint_ge(r.fired_at, start + 3 * TICK_MSEC + 123);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ck_assert_uint_ge((uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec, start + 3 * TICK_MSEC);
}
END_TEST

START_TEST(stop_disarms)
{
    int log[2], n = 0;
    struct tm_rec a = { .id = 1, .log = log, .n = &n }, b = { .id = 2, .log = log, .n = &n };
    tick_timer_init(&a.t, "a", tm_fire);
    tick_timer_init(&b.t, "b", tm_fire);
    tick_call_later(loop, &a.t, 1 * TICK_MSEC);
    tick_call_later(loop, &b.t, 2 * TICK_MSEC);
    ck_assert(tick_timer_armed(&a.t));
    ck_assert(tick_timer_stop(loop, &a.t));
    ck_assert(!tick_timer_stop(loop, &a.t));
    RUN_UNTIL(n == 1, 1000);
    ck_assert_int_eq(log[0], 2);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);
}
END_TEST

/* tick_timer_repeat, the one periodic policy: on the first deadline's
 * grid (no drift), and a stall of several periods skips the missed beats
 * (counted) instead of firing them back to back. */
struct periodic { tick_timer t; uint64_t first, period, skipped; int beats; };
static void periodic_fire(tick_handle *h)
{
    struct periodic *p = tick_container_of(h, struct periodic, t.handle);
    p->beats++;
    if (p->beats == 2) {              /* a handle holds the loop up 3.5 periods */
        struct timespec ts = { 0, (long)(7 * TICK_MSEC) };
        nanosleep(&ts, NULL);
        tick_now_update(loop);
    }
    if (p->beats < 5) {
        int64_t k = tick_timer_repeat(loop, &p->t, p->period);
        ck_assert_int_ge(k, 0);
        p->skipped += (uint64_t)k;
        ck_assert_uint_gt(p->t.deadline, tick_now(loop));
    }
}

START_TEST(periodic_repeat_on_the_grid_skips_missed_beats)
{
    struct periodic p = { .period = 2 * TICK_MSEC };
    tick_timer_init(&p.t, "beat", periodic_fire);
    tick_call_later(loop, &p.t, p.period);
    p.first = p.t.deadline;
    RUN_UNTIL(p.beats == 5, 10000);
    ck_assert_uint_ge(p.skipped, 3);
    ck_assert_uint_eq(p.t.deadline, p.first + (4 + p.skipped) * p.period);
    ck_assert_int_eq(tick_timer_repeat(loop, &p.t, 0), -EINVAL);
}
END_TEST

/* A sleep resolved by the timer wakes its awaiting task in the same tick. */
struct napper { tick_task task; intptr_t rc; uint64_t woke_tick; uint64_t slept_tick; };
static int napper_step(tick_task *t)
{
    struct napper *n = tick_container_of(t, struct napper, task);
    TICK_BEGIN(t);
    n->slept_tick = tick_loop_tick(loop);
    TICK_AWAIT(t, tick_sleep(loop, 1 * TICK_MSEC), n->rc);
    n->woke_tick = tick_loop_tick(loop);
    TICK_END(t);
}
static const tick_task_class napper_class = { napper_step, NULL };

START_TEST(sleep_wakes_in_the_resolving_tick)
{
    struct napper n = { 0 };
    tick_task_start(loop, &n.task, "nap", &napper_class);
    tick_loop_run_once(loop, false);
    /* block until the timer: one tick both expires it and runs the task */
    tick_loop_run_once(loop, true);
    ck_assert(tick_future_done(&n.task.future));
    ck_assert_uint_eq(n.woke_tick, n.slept_tick + 1);
    ck_assert_int_eq(n.rc, 0);
    tick_future_unref(&n.task.future);
}
END_TEST

START_TEST(cancel_sleep_disarms_and_frees)
{
    tick_future *s = tick_sleep(loop, TICK_SEC);
    ck_assert_ptr_nonnull(s);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 1);
    ck_assert(tick_future_cancel(s));
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);
    ck_assert(tick_future_cancelled(s));
    tick_future_unref(s);        /* valgrind/ASan check the free */
}
END_TEST

START_TEST(sleep_oom)
{
    tick_test_fail_alloc_after(1);
    ck_assert_ptr_null(tick_sleep(loop, 1));
}
END_TEST

/* Heap order under many random deadlines: fire in nondecreasing order. */
#define MANY 1000000
static uint64_t last_deadline;
static int many_fired, order_ok = 1;
static void many_fire(tick_handle *h)
{
    tick_timer *t = tick_container_of(h, tick_timer, handle);
    if (t->deadline < last_deadline)
        order_ok = 0;
    last_deadline = t->deadline;
    many_fired++;
}

START_TEST(million_timers_fire_in_order)
{
    tick_timer *ts = malloc(MANY * sizeof *ts);
    uint64_t base = tick_now(loop);
    unsigned seed = 12345;
    for (int i = 0; i < MANY; i++) {
        tick_timer_init(&ts[i], "m", many_fire);
        seed = seed * 1103515245u + 12345u;
        ck_assert_int_eq(tick_timer_start_at(loop, &ts[i], base - (seed % 1000000)), 0);
    }
    /* stop every tenth one: removal from the middle keeps heap order */
    for (int i = 0; i < MANY; i += 10)
        ck_assert(tick_timer_stop(loop, &ts[i]));
    tick_loop_run_once(loop, false);   /* all are due: one tick expires all */
    ck_assert_int_eq(many_fired, MANY - MANY / 10);
    ck_assert(order_ok);
    free(ts);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("timer");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, equal_deadlines_fire_fifo);
    tcase_add_test(tc, never_fires_early);
    tcase_add_test(tc, stop_disarms);
    tcase_add_test(tc, periodic_repeat_on_the_grid_skips_missed_beats);
    tcase_add_test(tc, sleep_wakes_in_the_resolving_tick);
    tcase_add_test(tc, cancel_sleep_disarms_and_frees);
    tcase_add_test(tc, sleep_oom);
    tcase_add_test(tc, million_timers_fire_in_order);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(timer_suite)
