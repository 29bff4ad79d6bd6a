/* test_task_cancel_timeout.c — tasks, cancellation and timeouts together:
 * nested timeouts (outer first, inner first), a timeout around a gather of
 * tasks (all cancelled, cleanup awaited), a timeout around a shared Event
 * wait (other waiters unaffected), and cancellation counting: a timeout
 * never adds to or eats the awaiting task's own cancel requests. */
#include <stdio.h>
#include "helpers.h"

/* ---- a task that awaits "timeout(sleep(sleep_ns), limit_ns)" and records
 * the outcome; optionally swallows a cancellation and sleeps again ---- */
struct sleeper {
    tick_task task;
    uint64_t sleep_ns, limit_ns;  /* limit 0: no timeout of its own */
    intptr_t rc;
    bool done, swallow, cleaned;
};

static int sleeper_step(tick_task *t)
{
    struct sleeper *s = tick_container_of(t, struct sleeper, task);
    tick_loop *l = tick_task_loop(t);
    intptr_t rc;
    TICK_BEGIN(t);
    if (s->limit_ns)
        TICK_AWAIT(t, tick_timeout(l, tick_sleep(l, s->sleep_ns), s->limit_ns), rc);
    else
        TICK_AWAIT(t, tick_sleep(l, s->sleep_ns), rc);
    if (rc == -ECANCELED && s->swallow) {
        tick_task_uncancel(t);
        TICK_AWAIT(t, tick_sleep(l, 1 * TICK_MSEC), rc);   /* cleanup */
        s->cleaned = true;
        rc = 0;                                           /* "all fine" */
    }
    s->rc = rc;
    s->done = true;
    if (rc < 0)
        TICK_FAIL(t, rc);
    TICK_RETURN(t, 7);
    TICK_END(t);
}
static const tick_task_class sleeper_class = { sleeper_step, NULL };

static void sleeper_start(struct sleeper *s, uint64_t sleep_ns, uint64_t limit_ns)
{
    *s = (struct sleeper){ .sleep_ns = sleep_ns, .limit_ns = limit_ns };
    ck_assert_int_eq(tick_task_start(loop, &s->task, "sleeper", &sleeper_class), 0);
}

/* ---- a task that awaits timeout(f, limit) for a future f it is given ---- */
struct outer {
    tick_task task;
    tick_future *f;               /* consumed */
    uint64_t limit_ns;
    intptr_t rc;
    bool done;
};

static int outer_step(tick_task *t)
{
    struct outer *o = tick_container_of(t, struct outer, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_timeout(tick_task_loop(t), o->f, o->limit_ns), rc);
    o->f = NULL;
    o->rc = rc;
    o->done = true;
    TICK_RETURN(t, rc);
    TICK_END(t);
}
static const tick_task_class outer_class = { outer_step, NULL };

static void outer_start(struct outer *o, tick_future *f, uint64_t limit_ns)
{
    *o = (struct outer){ .f = f, .limit_ns = limit_ns };
    ck_assert_int_eq(tick_task_start(loop, &o->task, "outer", &outer_class), 0);
}

START_TEST(nested_outer_deadline_first)
{
    struct sleeper in;
    sleeper_start(&in, 10 * TICK_SEC, 1 * TICK_SEC);
    struct outer o;
    outer_start(&o, tick_future_ref(&in.task.future), 3 * TICK_MSEC);
    RUN_UNTIL(o.done, 1000);
    ck_assert_int_eq(o.rc, -ETIMEDOUT);
    ck_assert(in.done);
    ck_assert_int_eq(in.rc, -ECANCELED);         /* not its own -ETIMEDOUT */
    ck_assert_uint_eq(tick_task_cancelling(&o.task), 0);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);       /* every deadline disarmed */
    tick_future_unref(&in.task.future);
    tick_future_unref(&o.task.future);
}
END_TEST

START_TEST(nested_inner_deadline_first)
{
    struct sleeper in;
    sleeper_start(&in, 10 * TICK_SEC, 2 * TICK_MSEC);
    struct outer o;
    outer_start(&o, tick_future_ref(&in.task.future), 10 * TICK_SEC);
    RUN_UNTIL(o.done, 1000);
    ck_assert_int_eq(in.rc, -ETIMEDOUT);
    ck_assert_int_eq(o.rc, -ETIMEDOUT);          /* the inner's error, copied */
    ck_assert_uint_eq(tick_task_cancelling(&in.task), 0);  /* it was never cancelled */
    tick_future_unref(&in.task.future);
    tick_future_unref(&o.task.future);
}
END_TEST

/* A body that swallows the deadline's cancellation does not make the
 * timeout lose it, and the awaiting task's own cancel count is untouched. */
START_TEST(swallowed_by_inner_task)
{
    struct sleeper in;
    sleeper_start(&in, 10 * TICK_SEC, 0);
    in.swallow = true;
    struct outer o;
    outer_start(&o, tick_future_ref(&in.task.future), 2 * TICK_MSEC);
    RUN_UNTIL(o.done, 1000);
    ck_assert(in.cleaned);
    ck_assert_int_eq(tick_future_result(&in.task.future), 7);   /* "succeeded" */
    ck_assert_int_eq(o.rc, -ETIMEDOUT);                         /* not lost */
    ck_assert_uint_eq(tick_task_cancelling(&o.task), 0);
    tick_future_unref(&in.task.future);
    tick_future_unref(&o.task.future);
}
END_TEST

/* The awaiting task itself cancelled before the deadline: -ECANCELED, its
 * count is 1, and the timeout's inner task was cancelled too. */
START_TEST(outer_task_cancelled_before_deadline)
{
    struct sleeper in;
    sleeper_start(&in, 10 * TICK_SEC, 0);
    struct outer o;
    outer_start(&o, tick_future_ref(&in.task.future), 10 * TICK_SEC);
    tick_loop_run_once(loop, false);
    tick_loop_run_once(loop, false);
    tick_task_cancel(&o.task);
    RUN_UNTIL(o.done && in.done, 100);
    ck_assert_int_eq(o.rc, -ECANCELED);
    ck_assert_uint_eq(tick_task_cancelling(&o.task), 1);
    ck_assert_int_eq(in.rc, -ECANCELED);
    tick_future_unref(&in.task.future);
    tick_future_unref(&o.task.future);
}
END_TEST

/* Cancellation requests are counted in the task's own 16-bit field, not
 * in three spare bits of its future: 1000 requests are 1000, and each
 * uncancel undoes one. */
START_TEST(cancel_count_is_not_capped)
{
    struct sleeper s;
    sleeper_start(&s, 10 * TICK_SEC, 0);
    s.swallow = true;
    tick_loop_run_once(loop, false);                 /* suspended in its sleep */
    for (int i = 0; i < 1000; i++)
        ck_assert(tick_task_cancel(&s.task));
    ck_assert_uint_eq(tick_task_cancelling(&s.task), 1000);
    RUN_UNTIL(s.done, 100);                          /* one swallowed: 999 */
    ck_assert_uint_eq(tick_task_cancelling(&s.task), 999);
    ck_assert_uint_eq(tick_task_uncancel(&s.task), 998);
    tick_future_unref(&s.task.future);
}
END_TEST

/* timeout(gather(tasks)): every task is cancelled and cleans up before the
 * timeout reports. */
START_TEST(timeout_around_gather_of_tasks)
{
    struct sleeper s[3];
    tick_future *f[3];
    for (int i = 0; i < 3; i++) {
        sleeper_start(&s[i], (i + 1) * 10 * TICK_SEC, 0);
        s[i].swallow = (i == 1);                 /* one cleans up slowly */
        f[i] = &s[i].task.future;
    }
    struct outer o;
    outer_start(&o, tick_gather(loop, f, 3), 2 * TICK_MSEC);
    RUN_UNTIL(o.done, 1000);
    ck_assert_int_eq(o.rc, -ETIMEDOUT);
    for (int i = 0; i < 3; i++) {
        ck_assert(s[i].done);
        tick_future_unref(&s[i].task.future);
    }
    ck_assert(s[1].cleaned);
    ck_assert_int_eq(s[0].rc, -ECANCELED);
    tick_future_unref(&o.task.future);
}
END_TEST

/* Several tasks wait on one Event, one of them through a timeout: its
 * deadline leaves the others waiting on the same shared future. */
START_TEST(timeout_around_shared_event_wait)
{
    tick_event ev;
    tick_event_init(&ev, loop);
    struct outer plain[3], timed;
    for (int i = 0; i < 3; i++)
        outer_start(&plain[i], tick_event_wait(&ev), 10 * TICK_SEC);
    outer_start(&timed, tick_event_wait(&ev), 2 * TICK_MSEC);
    RUN_UNTIL(timed.done, 1000);
    ck_assert_int_eq(timed.rc, -ETIMEDOUT);
    ck_assert(!tick_future_done(ev.fut));        /* shared: not cancelled */
    for (int i = 0; i < 3; i++)
        ck_assert(!plain[i].done);
    tick_event_set(&ev);
    RUN_UNTIL(plain[0].done && plain[1].done && plain[2].done, 10);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(plain[i].rc, 0);
        tick_future_unref(&plain[i].task.future);
    }
    tick_future_unref(&timed.task.future);
    tick_event_destroy(&ev);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.timers_armed, 0);
}
END_TEST

static Suite *cancel_timeout_suite(void)
{
    Suite *s = suite_create("task_cancel_timeout");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, nested_outer_deadline_first);
    tcase_add_test(tc, nested_inner_deadline_first);
    tcase_add_test(tc, swallowed_by_inner_task);
    tcase_add_test(tc, outer_task_cancelled_before_deadline);
    tcase_add_test(tc, cancel_count_is_not_capped);
    tcase_add_test(tc, timeout_around_gather_of_tasks);
    tcase_add_test(tc, timeout_around_shared_event_wait);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(cancel_timeout_suite)
