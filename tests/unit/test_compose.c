/* test_compose.c — gather (result order, errors in argument order,
 * cancellation), first-of (index, losers kept or cancelled), timeout
 * (firing, not firing, cancels inner, swallowed cancellation stays
 * -ETIMEDOUT, outer cancel wins, shared inner left alone), early release
 * and allocation failures. */
#include <stdio.h>
#include "helpers.h"

void tick_test_fail_alloc_after(unsigned long n);   /* engine, hidden */

/* ---- a task that awaits one future and records what it saw ---- */
struct awaiter {
    tick_task task;
    tick_future *f;              /* consumed by the await */
    intptr_t rc;
    bool done;
};

static int awaiter_step(tick_task *t)
{
    struct awaiter *a = tick_container_of(t, struct awaiter, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, a->f, rc);
    a->f = NULL;
    a->rc = rc;
    a->done = true;
    TICK_RETURN(t, rc);
    TICK_END(t);
}
static const tick_task_class awaiter_class = { awaiter_step, NULL };

static void awaiter_start(struct awaiter *a, tick_future *f)
{
    *a = (struct awaiter){ .f = f };
    ck_assert_int_eq(tick_task_start(loop, &a->task, "awaiter", &awaiter_class), 0);
}

static tick_future *new_future(void)
{
    tick_future *f;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    return f;
}

static void run_ticks(int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_ge(tick_loop_run_once(loop, false), 0);
}

/* ---- gather ---- */

START_TEST(gather_waits_for_all)
{
    tick_future *c[3] = { new_future(), new_future(), new_future() };
    tick_future *g = tick_gather(loop, c, 3);
    ck_assert_ptr_nonnull(g);
    tick_future_set_result(c[1], 11);
    run_ticks(2);
    ck_assert(!tick_future_done(g));
    tick_future_set_result(c[0], 10);
    tick_future_set_result(c[2], 12);
    run_ticks(1);
    ck_assert(tick_future_done(g));
    ck_assert_int_eq(tick_future_error(g), 0);
    ck_assert_int_eq(tick_future_result(g), 0);
    /* children stay readable through the caller's references */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tick_future_result(c[i]), 10 + i);
        tick_future_unref(c[i]);
    }
    tick_future_unref(g);
}
END_TEST

START_TEST(gather_error_is_first_in_argument_order)
{
    tick_future *c[3] = { new_future(), new_future(), new_future() };
    tick_future *g = tick_gather(loop, c, 3);
    tick_future_set_error(c[2], -EPIPE);         /* fails first in time */
    run_ticks(1);
    tick_future_set_result(c[1], 1);
    run_ticks(1);
    ck_assert(!tick_future_done(g));             /* does not stop early */
    tick_future_set_error(c[0], -EIO);           /* fails last, but is first */
    run_ticks(1);
    ck_assert(tick_future_done(g));
    ck_assert_int_eq(tick_future_error(g), -EIO);
    ck_assert(!tick_future_cancelled(g));
    for (int i = 0; i < 3; i++)
        tick_future_unref(c[i]);
    tick_future_unref(g);
}
END_TEST

START_TEST(gather_awaited_by_task)
{
    tick_future *c[2] = { tick_sleep(loop, 1 * TICK_MSEC), tick_sleep(loop, 2 * TICK_MSEC) };
    struct awaiter a;
    awaiter_start(&a, tick_gather(loop, c, 2));
    RUN_UNTIL(a.done, 1000);
    ck_assert_int_eq(a.rc, 0);
    ck_assert(tick_future_done(c[0]) && tick_future_done(c[1]));
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
    tick_future_unref(&a.task.future);
}
END_TEST

START_TEST(gather_edge_cases)
{
    /* no children: done at once */
    tick_future *g = tick_gather(loop, NULL, 0);
    ck_assert(tick_future_done(g));
    ck_assert_int_eq(tick_future_error(g), 0);
    tick_future_unref(g);
    /* all done already: done at once, with the first error in order */
    tick_future *c[2] = { new_future(), new_future() };
    tick_future_set_error(c[1], -EIO);
    tick_future_set_result(c[0], 5);
    g = tick_gather(loop, c, 2);
    ck_assert(tick_future_done(g));
    ck_assert_int_eq(tick_future_error(g), -EIO);
    tick_future_unref(g);
    /* a NULL child: a future failed with -EINVAL */
    tick_future *bad[2] = { c[0], NULL };
    g = tick_gather(loop, bad, 2);
    ck_assert_int_eq(tick_future_error(g), -EINVAL);
    tick_future_unref(g);
    /* the same child twice is fine */
    tick_future *p = new_future();
    tick_future *dup[2] = { p, p };
    g = tick_gather(loop, dup, 2);
    tick_future_set_result(p, 1);
    run_ticks(1);
    ck_assert(tick_future_done(g));
    ck_assert_int_eq(tick_future_error(g), 0);
    tick_future_unref(g);
    tick_future_unref(p);
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
}
END_TEST

START_TEST(gather_cancel_cancels_children)
{
    tick_future *c[2] = { new_future(), tick_sleep(loop, 10 * TICK_SEC) };
    tick_future *g = tick_gather(loop, c, 2);
    ck_assert(tick_future_cancel(g));
    ck_assert(tick_future_cancelled(c[0]));
    ck_assert(tick_future_cancelled(c[1]));
    run_ticks(1);                        /* children report, then the gather */
    ck_assert(tick_future_cancelled(g));
    ck_assert_int_eq(tick_future_error(g), -ECANCELED);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
    tick_future_unref(g);
}
END_TEST

/* A task awaiting a gather is cancelled: the gather is cancelled (nobody
 * else waits on it), and so are its children. */
START_TEST(gather_cancelled_through_task)
{
    tick_future *c[2] = { new_future(), new_future() };
    struct awaiter a;
    awaiter_start(&a, tick_gather(loop, c, 2));
    run_ticks(1);
    ck_assert(!a.done);
    tick_task_cancel(&a.task);
    RUN_UNTIL(a.done, 10);
    ck_assert_int_eq(a.rc, -ECANCELED);
    ck_assert(tick_future_cancelled(c[0]) && tick_future_cancelled(c[1]));
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
    tick_future_unref(&a.task.future);
}
END_TEST

/* A child someone else also waits on is left alone, not cancelled. */
static int other_ran;
static void other_cb(tick_handle *h) { (void)h; other_ran++; }

START_TEST(gather_cancel_leaves_shared_child)
{
    tick_future *c[2] = { new_future(), new_future() };
    tick_handle other;
    tick_handle_init(&other, "other", other_cb);
    tick_future_add_done_callback(c[1], &other);
    tick_future *g = tick_gather(loop, c, 2);
    tick_future_cancel(g);
    ck_assert(tick_future_cancelled(c[0]));
    ck_assert(!tick_future_done(c[1]));          /* shared: survives */
    run_ticks(1);
    ck_assert(tick_future_cancelled(g));
    other_ran = 0;
    tick_future_set_result(c[1], 7);
    run_ticks(1);
    ck_assert_int_eq(other_ran, 1);
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
    tick_future_unref(g);
}
END_TEST

/* Dropping the last reference of a pending combinator detaches it. */
START_TEST(gather_dropped_while_pending)
{
    tick_future *c[2] = { new_future(), new_future() };
    tick_future *g = tick_gather(loop, c, 2);
    tick_future_set_result(c[0], 1);     /* its callback is now queued */
    tick_future_unref(g);
    run_ticks(2);
    ck_assert(!tick_future_done(c[1]));  /* not cancelled */
    tick_future_set_result(c[1], 2);
    run_ticks(1);
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
}
END_TEST

/* ---- first-of ---- */

START_TEST(first_of_reports_index)
{
    tick_future *c[3] = { new_future(), new_future(), new_future() };
    tick_future *f = tick_first_of(loop, c, 3, 0);
    run_ticks(1);
    ck_assert(!tick_future_done(f));
    tick_future_set_error(c[2], -EIO);           /* an error wins too */
    run_ticks(1);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_error(f), 0);
    ck_assert_int_eq(tick_future_result(f), 2);
    ck_assert(!tick_future_done(c[0]) && !tick_future_done(c[1]));  /* kept */
    tick_future_set_result(c[0], 1);
    tick_future_set_result(c[1], 1);
    run_ticks(1);
    for (int i = 0; i < 3; i++)
        tick_future_unref(c[i]);
    tick_future_unref(f);
}
END_TEST

START_TEST(first_of_cancel_others)
{
    tick_future *c[3] = { tick_sleep(loop, 10 * TICK_SEC), tick_sleep(loop, 1 * TICK_MSEC),
                          new_future() };
    struct awaiter a;
    awaiter_start(&a, tick_first_of(loop, c, 3, TICK_FIRST_CANCEL_OTHERS));
    RUN_UNTIL(a.done, 1000);
    ck_assert_int_eq(a.rc, 1);
    ck_assert(tick_future_cancelled(c[0]));
    ck_assert(!tick_future_cancelled(c[1]));
    ck_assert(tick_future_cancelled(c[2]));
    for (int i = 0; i < 3; i++)
        tick_future_unref(c[i]);
    tick_future_unref(&a.task.future);
}
END_TEST

START_TEST(first_of_edge_cases)
{
    tick_future *c[3] = { new_future(), new_future(), new_future() };
    tick_future_set_result(c[2], 1);
    tick_future_set_result(c[1], 1);
    /* done children win at once, lowest index first */
    tick_future *f = tick_first_of(loop, c, 3, TICK_FIRST_CANCEL_OTHERS);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_result(f), 1);
    ck_assert(tick_future_cancelled(c[0]));
    tick_future_unref(f);
    /* no children, bad flags: -EINVAL */
    f = tick_first_of(loop, c, 0, 0);
    ck_assert_int_eq(tick_future_error(f), -EINVAL);
    tick_future_unref(f);
    f = tick_first_of(loop, c, 3, 0x80);
    ck_assert_int_eq(tick_future_error(f), -EINVAL);
    tick_future_unref(f);
    for (int i = 0; i < 3; i++)
        tick_future_unref(c[i]);
}
END_TEST

START_TEST(first_of_cancel)
{
    tick_future *c[2] = { new_future(), new_future() };
    tick_future *f = tick_first_of(loop, c, 2, 0);
    tick_future_cancel(f);
    ck_assert(tick_future_cancelled(c[0]) && tick_future_cancelled(c[1]));
    run_ticks(1);
    ck_assert(tick_future_cancelled(f));     /* not "index 0 won" */
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
    tick_future_unref(f);
}
END_TEST

/* ---- timeout ---- */

START_TEST(timeout_not_firing)
{
    struct awaiter a;
    uint64_t t0 = tick_now_update(loop);
    awaiter_start(&a, tick_timeout(loop, tick_sleep(loop, 1 * TICK_MSEC), 10 * TICK_SEC));
    RUN_UNTIL(a.done, 1000);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_uint_lt(tick_now_update(loop) - t0, TICK_SEC);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);       /* deadline disarmed */
    tick_future_unref(&a.task.future);
}
END_TEST

START_TEST(timeout_copies_result_and_error)
{
    tick_future *in = new_future();
    tick_future *t = tick_timeout(loop, tick_future_ref(in), TICK_SEC);
    static int x;
    tick_future_set_result_ptr(in, &x);
    run_ticks(1);
    ck_assert_int_eq(tick_future_error(t), 0);
    ck_assert_ptr_eq(tick_future_result_ptr(t), &x);
    tick_future_unref(t);
    tick_future_unref(in);

    in = new_future();
    t = tick_timeout(loop, tick_future_ref(in), TICK_SEC);
    tick_future_set_error(in, -ECONNRESET);
    run_ticks(1);
    ck_assert_int_eq(tick_future_error(t), -ECONNRESET);
    tick_future_unref(t);
    tick_future_unref(in);

    /* inner already done: a done future at once */
    in = new_future();
    tick_future_set_result(in, 9);
    t = tick_timeout(loop, in, TICK_SEC);      /* consumes in */
    ck_assert(tick_future_done(t));
    ck_assert_int_eq(tick_future_result(t), 9);
    tick_future_unref(t);

    /* NULL inner (upstream -ENOMEM) passes NULL on */
    ck_assert_ptr_null(tick_timeout(loop, NULL, TICK_SEC));
}
END_TEST

START_TEST(timeout_fires_and_cancels_inner)
{
    tick_future *in = tick_sleep(loop, 10 * TICK_SEC);
    struct awaiter a;
    uint64_t t0 = tick_now_update(loop);
    awaiter_start(&a, tick_timeout(loop, tick_future_ref(in), 5 * TICK_MSEC));
    RUN_UNTIL(a.done, 1000);
    uint64_t took = tick_now_update(loop) - t0;
    ck_assert_int_eq(a.rc, -ETIMEDOUT);
    ck_assert(tick_future_cancelled(in));
    ck_assert_uint_ge(took, 5 * TICK_MSEC);      /* never early */
    ck_assert_uint_lt(took, TICK_SEC);
    tick_future_unref(in);
    tick_future_unref(&a.task.future);
}
END_TEST

/* An inner task that swallows its cancellation (catches -ECANCELED,
 * uncancels, cleans up for a while and returns 42) still yields
 * -ETIMEDOUT: the deadline is never lost (CPython #116720). And the
 * timeout waits for that cleanup before reporting. */
struct swallower {
    tick_task task;
    bool cleaned;
};

static int swallower_step(tick_task *t)
{
    struct swallower *s = tick_container_of(t, struct swallower, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 10 * TICK_SEC), rc);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_uint_eq(tick_task_uncancel(t), 0);       /* swallowed */
    TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 2 * TICK_MSEC), rc);  /* cleanup */
    ck_assert_int_eq(rc, 0);
    s->cleaned = true;
    TICK_RETURN(t, 42);
    TICK_END(t);
}
static const tick_task_class swallower_class = { swallower_step, NULL };

START_TEST(timeout_swallowed_cancellation_still_times_out)
{
    struct swallower s = { 0 };
    tick_task_start(loop, &s.task, "swallower", &swallower_class);
    struct awaiter a;
    awaiter_start(&a, tick_timeout(loop, tick_future_ref(&s.task.future), 3 * TICK_MSEC));
    RUN_UNTIL(a.done, 1000);
    ck_assert_int_eq(a.rc, -ETIMEDOUT);
    ck_assert(s.cleaned);                        /* reported after cleanup */
    ck_assert(tick_future_done(&s.task.future));
    ck_assert_int_eq(tick_future_result(&s.task.future), 42);  /* late result kept */
    tick_future_unref(&s.task.future);
    tick_future_unref(&a.task.future);
}
END_TEST

/* Cancelling the task that awaits a timeout cancels the timeout and the
 * inner future; the task sees -ECANCELED, not -ETIMEDOUT. */
START_TEST(timeout_outer_cancel)
{
    tick_future *in = tick_sleep(loop, 10 * TICK_SEC);
    struct awaiter a;
    awaiter_start(&a, tick_timeout(loop, tick_future_ref(in), 10 * TICK_SEC));
    run_ticks(1);
    tick_task_cancel(&a.task);
    RUN_UNTIL(a.done, 10);
    ck_assert_int_eq(a.rc, -ECANCELED);
    ck_assert(tick_future_cancelled(in));
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);
    tick_future_unref(in);
    tick_future_unref(&a.task.future);
}
END_TEST

/* Cancelling a gather waits for its children's cleanup (asyncio). */
START_TEST(gather_cancel_waits_for_cleanup)
{
    struct swallower s = { 0 };
    tick_task_start(loop, &s.task, "swallower", &swallower_class);
    tick_future *c[2] = { &s.task.future, new_future() };
    run_ticks(1);                                /* the task is sleeping */
    tick_future *g = tick_gather(loop, c, 2);
    tick_future_cancel(g);
    run_ticks(2);
    ck_assert(!s.cleaned);
    ck_assert(!tick_future_done(g));             /* still cleaning up */
    RUN_UNTIL(tick_future_done(g), 1000);
    ck_assert(s.cleaned);
    ck_assert(tick_future_cancelled(g));
    tick_future_unref(c[1]);
    tick_future_unref(g);
    tick_future_unref(&s.task.future);
}
END_TEST

/* Outer cancel while the expired timeout waits for inner's cleanup: the
 * outer cancellation wins (-ECANCELED). */
START_TEST(timeout_outer_cancel_wins_over_deadline)
{
    struct swallower s = { 0 };
    tick_task_start(loop, &s.task, "swallower", &swallower_class);
    tick_future *t = tick_timeout(loop, tick_future_ref(&s.task.future), 1 * TICK_MSEC);
    RUN_UNTIL(tick_task_cancelling(&s.task) > 0 || tick_future_done(&s.task.future), 1000);
    ck_assert(!tick_future_done(t));             /* waiting for the cleanup */
    tick_future_cancel(t);
    RUN_UNTIL(tick_future_done(t), 1000);
    ck_assert_int_eq(tick_future_error(t), -ECANCELED);
    ck_assert(s.cleaned);
    tick_future_unref(t);
    tick_future_unref(&s.task.future);
}
END_TEST

/* Timing out on a future others wait on too only leaves it. */
START_TEST(timeout_leaves_shared_inner)
{
    tick_future *in = new_future();
    tick_handle other;
    tick_handle_init(&other, "other", other_cb);
    tick_future_add_done_callback(in, &other);
    tick_future *t = tick_timeout(loop, tick_future_ref(in), 1 * TICK_MSEC);
    RUN_UNTIL(tick_future_done(t), 1000);
    ck_assert_int_eq(tick_future_error(t), -ETIMEDOUT);
    ck_assert(!tick_future_done(in));
    other_ran = 0;
    tick_future_set_result(in, 1);
    run_ticks(1);
    ck_assert_int_eq(other_ran, 1);
    tick_future_unref(t);
    tick_future_unref(in);
}
END_TEST

START_TEST(timeout_dropped_while_pending)
{
    tick_future *in = new_future();
    tick_future *t = tick_timeout(loop, tick_future_ref(in), 10 * TICK_SEC);
    tick_future_unref(t);                         /* timer stopped, detached */
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);
    ck_assert(!tick_future_done(in));
    tick_future_unref(in);
}
END_TEST

/* ---- out of memory: NULL, nothing leaked, the await sees -ENOMEM ---- */

START_TEST(compose_out_of_memory)
{
    tick_future *c[2] = { new_future(), new_future() };
    tick_test_fail_alloc_after(1);
    ck_assert_ptr_null(tick_gather(loop, c, 2));
    tick_test_fail_alloc_after(1);
    ck_assert_ptr_null(tick_first_of(loop, c, 2, 0));
    ck_assert(!tick_future_done(c[0]) && !tick_future_done(c[1]));
    /* a timeout that cannot be made ends as one cancelled at once: its
     * inner future, which nobody waits on, is cancelled (compose.h) */
    tick_test_fail_alloc_after(1);
    ck_assert_ptr_null(tick_timeout(loop, tick_future_ref(c[0]), TICK_SEC));
    tick_test_fail_alloc_after(0);
    ck_assert(tick_future_cancelled(c[0]));
    struct awaiter a;
    tick_test_fail_alloc_after(1);
    awaiter_start(&a, tick_gather(loop, c, 2));
    tick_test_fail_alloc_after(0);
    RUN_UNTIL(a.done, 10);
    ck_assert_int_eq(a.rc, -ENOMEM);
    tick_future_unref(&a.task.future);
    tick_future_unref(c[0]);
    tick_future_unref(c[1]);
}
END_TEST

static Suite *compose_suite(void)
{
    Suite *s = suite_create("compose");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, gather_waits_for_all);
    tcase_add_test(tc, gather_error_is_first_in_argument_order);
    tcase_add_test(tc, gather_awaited_by_task);
    tcase_add_test(tc, gather_edge_cases);
    tcase_add_test(tc, gather_cancel_cancels_children);
    tcase_add_test(tc, gather_cancelled_through_task);
    tcase_add_test(tc, gather_cancel_leaves_shared_child);
    tcase_add_test(tc, gather_dropped_while_pending);
    tcase_add_test(tc, first_of_reports_index);
    tcase_add_test(tc, first_of_cancel_others);
    tcase_add_test(tc, first_of_edge_cases);
    tcase_add_test(tc, first_of_cancel);
    tcase_add_test(tc, timeout_not_firing);
    tcase_add_test(tc, timeout_copies_result_and_error);
    tcase_add_test(tc, timeout_fires_and_cancels_inner);
    tcase_add_test(tc, timeout_swallowed_cancellation_still_times_out);
    tcase_add_test(tc, timeout_outer_cancel);
    tcase_add_test(tc, timeout_outer_cancel_wins_over_deadline);
    tcase_add_test(tc, gather_cancel_waits_for_cleanup);
    tcase_add_test(tc, timeout_leaves_shared_inner);
    tcase_add_test(tc, timeout_dropped_while_pending);
    tcase_add_test(tc, compose_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(compose_suite)
