/* test_task.c — stackless coroutines: await (done / pending / task),
 * yield fairness, return/fail, cancellation delivery and counting, shared
 * futures surviving one waiter's cancel, task groups, size budget. */
#include <stdio.h>
#include <string.h>
#include "helpers.h"

START_TEST(task_fits_budget)
{
    ck_assert_uint_le(sizeof(tick_task), 128);
}
END_TEST

/* ---- awaiting a done future continues in the same step ---- */
struct adder {
    tick_task task;
    tick_future *in;
    int steps;
};

static int adder_step(tick_task *t)
{
    struct adder *a = tick_container_of(t, struct adder, task);
    intptr_t v;
    a->steps++;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(a->in), v);
    TICK_RETURN(t, v + 1);
    TICK_END(t);
}
static const tick_task_class adder_class = { adder_step, NULL };

START_TEST(await_done_future_does_not_suspend)
{
    struct adder a = { 0 };
    tick_future_new(loop, &a.in);
    tick_future_set_result(a.in, 41);
    ck_assert_int_eq(tick_task_start(loop, &a.task, "adder", &adder_class), 0);
    tick_loop_run_once(loop, false);
    ck_assert(tick_future_done(&a.task.future));
    ck_assert_int_eq(tick_future_result(&a.task.future), 42);
    ck_assert_int_eq(a.steps, 1);
    tick_future_unref(&a.task.future);
    tick_future_unref(a.in);
}
END_TEST

START_TEST(await_pending_suspends_until_resolved)
{
    struct adder a = { 0 };
    tick_future_new(loop, &a.in);
    tick_task_start(loop, &a.task, "adder", &adder_class);
    for (int i = 0; i < 5; i++)
        tick_loop_run_once(loop, false);
    ck_assert_int_eq(a.steps, 1);                     /* asleep: no steps */
    ck_assert(!tick_handle_scheduled(&a.task.step) ||
              !tick_future_done(a.in));
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    uint64_t ran = st.handles_run;
    tick_loop_run_once(loop, false);
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.handles_run, ran);           /* costs nothing per tick */
    ck_assert_uint_eq(st.tasks_alive, 1);
    tick_future_set_result(a.in, 1);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(a.steps, 2);
    ck_assert_int_eq(tick_future_result(&a.task.future), 2);
    tick_future_unref(&a.task.future);
    tick_future_unref(a.in);
}
END_TEST

/* ---- awaiting a task, and the seeds' add() ---- */
struct some { tick_task task; intptr_t value; };
static int some_step(tick_task *t)
{
    struct some *s = tick_container_of(t, struct some, task);
    TICK_BEGIN(t);
    TICK_RETURN(t, s->value);
    TICK_END(t);
}
static const tick_task_class some_class = { some_step, NULL };

struct add {
    tick_task task;
    struct some x, y;
    intptr_t xv;
};
static int add_step(tick_task *t)
{
    struct add *a = tick_container_of(t, struct add, task);
    intptr_t v;
    TICK_BEGIN(t);
    tick_task_start(tick_task_loop(t), &a->x.task, "Add X", &some_class);
    tick_task_start(tick_task_loop(t), &a->y.task, "Add Y", &some_class);
    TICK_AWAIT(t, &a->x.task.future, a->xv);     /* consumes our start reference */
    TICK_AWAIT(t, &a->y.task.future, v);
    TICK_RETURN(t, a->xv + v);
    TICK_END(t);
}
static const tick_task_class add_class = { add_step, NULL };

START_TEST(await_tasks_seed_trace)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct add a = { .x.value = 1, .y.value = 2 };
    tick_task_start(loop, &a.task, "main", &add_class);
    tick_loop_set_trace(loop, out);
    ck_assert_int_eq(tick_loop_run_until_complete(loop, &a.task.future), 0);
    tick_loop_set_trace(loop, NULL);
    fclose(out);
    ck_assert_int_eq(tick_future_result(&a.task.future), 3);
    ck_assert_ptr_nonnull(strstr(buf, "[<Handle name='Add X' callback='step'>, "
                                      "<Handle name='Add Y' callback='step'>]"));
    free(buf);
    tick_future_unref(&a.task.future);
}
END_TEST

/* ---- a task yielding forever does not starve timers ---- */
struct spinner { tick_task task; unsigned long spins; };
static int spinner_step(tick_task *t)
{
    struct spinner *s = tick_container_of(t, struct spinner, task);
    TICK_BEGIN(t);
    for (;;) {
        s->spins++;
        TICK_YIELD(t);
    }
    TICK_END(t);
}
static const tick_task_class spinner_class = { spinner_step, NULL };

struct sleeper { tick_task task; intptr_t rc; };
static int sleeper_step(tick_task *t)
{
    struct sleeper *s = tick_container_of(t, struct sleeper, task);
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 5 * TICK_MSEC), s->rc);
    TICK_RETURN(t, s->rc);
    TICK_END(t);
}
static const tick_task_class sleeper_class = { sleeper_step, NULL };

START_TEST(yield_forever_does_not_starve_timers)
{
    struct spinner sp = { 0 };
    struct sleeper sl = { 0 };
    tick_task_start(loop, &sp.task, "spin", &spinner_class);
    tick_task_start(loop, &sl.task, "sleep", &sleeper_class);
    RUN_UNTIL(tick_future_done(&sl.task.future), 10000000);
    ck_assert_int_eq(tick_future_result(&sl.task.future), 0);
    ck_assert_uint_gt(sp.spins, 1);
    tick_task_cancel(&sp.task);        /* delivered at its next await: none */
    ck_assert_uint_eq(tick_task_cancelling(&sp.task), 1);
    /* a spinner never awaits; stop it the hard way for the test */
    tick_handle_cancel(&sp.task.step);
    tick__task_finish(&sp.task, 0, -ECANCELED);
    tick_future_unref(&sp.task.future);   /* engine's */
    tick_future_unref(&sp.task.future);   /* ours */
    tick_future_unref(&sl.task.future);
}
END_TEST

/* ---- cancellation ---- */
struct waiter {
    tick_task task;
    tick_future *on;
    intptr_t rc;
    int cleaned;
    int phase;
};
static int waiter_step(tick_task *t)
{
    struct waiter *w = tick_container_of(t, struct waiter, task);
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(w->on), w->rc);
    if (w->rc == -ECANCELED) {
        w->cleaned = 1;
        TICK_FAIL(t, -ECANCELED);
    }
    TICK_RETURN(t, w->rc);
    TICK_END(t);
}
static const tick_task_class waiter_class = { waiter_step, NULL };

START_TEST(cancel_pending_await_returns_ecanceled)
{
    struct waiter w = { 0 };
    tick_future_new(loop, &w.on);
    tick_task_start(loop, &w.task, "w", &waiter_class);
    tick_loop_run_once(loop, false);
    ck_assert(tick_task_cancel(&w.task));
    ck_assert(!tick_future_done(&w.task.future));     /* completes itself */
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(w.cleaned, 1);
    ck_assert(tick_future_cancelled(&w.task.future));
    ck_assert(tick_future_cancelled(w.on));          /* nobody else waited */
    ck_assert(!tick_task_cancel(&w.task));
    tick_future_unref(&w.task.future);
    tick_future_unref(w.on);
}
END_TEST

START_TEST(cancel_shared_future_survives)
{
    struct waiter a = { 0 }, b = { 0 };
    tick_future *shared;
    tick_future_new(loop, &shared);
    a.on = b.on = shared;
    tick_task_start(loop, &a.task, "a", &waiter_class);
    tick_task_start(loop, &b.task, "b", &waiter_class);
    tick_loop_run_once(loop, false);
    tick_task_cancel(&a.task);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(a.cleaned, 1);
    ck_assert(!tick_future_done(shared));            /* b still waits on it */
    tick_future_set_result(shared, 5);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(b.rc, 5);
    ck_assert_int_eq(tick_future_result(&b.task.future), 5);
    tick_future_unref(&a.task.future);
    tick_future_unref(&b.task.future);
    tick_future_unref(shared);
}
END_TEST

START_TEST(cancel_before_first_step_delivered_at_await)
{
    struct waiter w = { 0 };
    tick_future_new(loop, &w.on);
    tick_task_start(loop, &w.task, "w", &waiter_class);
    tick_task_cancel(&w.task);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(w.cleaned, 1);
    ck_assert(tick_future_cancelled(&w.task.future));
    tick_future_unref(&w.task.future);
    tick_future_unref(w.on);
}
END_TEST

/* A body that swallows a cancellation keeps running; the count stays. */
struct stubborn { tick_task task; tick_future *on; intptr_t rc1, rc2; };
static int stubborn_step(tick_task *t)
{
    struct stubborn *s = tick_container_of(t, struct stubborn, task);
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(s->on), s->rc1);
    TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 1 * TICK_MSEC), s->rc2);
    TICK_RETURN(t, 9);
    TICK_END(t);
}
static const tick_task_class stubborn_class = { stubborn_step, NULL };

START_TEST(swallowed_cancellation_is_counted)
{
    struct stubborn s = { 0 };
    tick_future_new(loop, &s.on);
    tick_task_start(loop, &s.task, "s", &stubborn_class);
    tick_loop_run_once(loop, false);
    tick_task_cancel(&s.task);
    tick_task_cancel(&s.task);
    RUN_UNTIL(tick_future_done(&s.task.future), 1000);
    ck_assert_int_eq(s.rc1, -ECANCELED);
    ck_assert_int_eq(s.rc2, 0);
    ck_assert_int_eq(tick_future_result(&s.task.future), 9);
    ck_assert_uint_eq(tick_task_cancelling(&s.task), 2);
    ck_assert_uint_eq(tick_task_uncancel(&s.task), 1);
    tick_future_unref(&s.task.future);
    tick_future_unref(s.on);
}
END_TEST

/* Cancelled after its future completed but before it ran: the value is
 * delivered; the next await that would suspend gets -ECANCELED. */
START_TEST(cancel_after_wakeup_keeps_value)
{
    struct stubborn s = { 0 };
    tick_future_new(loop, &s.on);
    tick_task_start(loop, &s.task, "s", &stubborn_class);
    tick_loop_run_once(loop, false);
    tick_future_set_result(s.on, 77);        /* task is now ready */
    tick_task_cancel(&s.task);
    RUN_UNTIL(tick_future_done(&s.task.future), 1000);
    ck_assert_int_eq(s.rc1, 77);
    ck_assert_int_eq(s.rc2, -ECANCELED);
    tick_future_unref(&s.task.future);
    tick_future_unref(s.on);
}
END_TEST

/* A cut await leaves the shared future pending (others wait on it). After
 * the body swallows that cancellation and yields, a second cancel finds the
 * task in the ready queue, not suspended: it must be delivered at the next
 * await that would suspend, and an await of a done future keeps its value
 * (it used to be taken for a suspension on the stale future: the done
 * await then returned -ECANCELED and its value was lost). */
struct cutyield { tick_task task; tick_future *on, *done; intptr_t rc1, rc2, rc3; };
static int cutyield_step(tick_task *t)
{
    struct cutyield *c = tick_container_of(t, struct cutyield, task);
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(c->on), c->rc1);
    tick_task_uncancel(t);
    TICK_YIELD(t);
    TICK_AWAIT(t, tick_future_ref(c->done), c->rc2);
    TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 1 * TICK_MSEC), c->rc3);
    TICK_RETURN(t, 0);
    TICK_END(t);
}
static const tick_task_class cutyield_class = { cutyield_step, NULL };
static void nop_cb(tick_handle *h) { (void)h; }

START_TEST(cancel_while_yielded_after_cut_await)
{
    struct cutyield c = { 0 };
    tick_handle other;
    tick_handle_init(&other, "other", nop_cb);
    tick_future_new(loop, &c.on);
    tick_future_new(loop, &c.done);
    tick_future_set_result(c.done, 5);
    tick_future_add_done_callback(c.on, &other);      /* c.on is shared */
    tick_task_start(loop, &c.task, "c", &cutyield_class);
    tick_loop_run_once(loop, false);                  /* suspended on c.on */
    tick_task_cancel(&c.task);
    tick_loop_run_once(loop, false);                  /* cut, uncancel, yield */
    ck_assert_int_eq(c.rc1, -ECANCELED);
    ck_assert(!tick_future_done(c.on));
    tick_task_cancel(&c.task);                        /* while yielded */
    RUN_UNTIL(tick_future_done(&c.task.future), 1000);
    ck_assert_int_eq(c.rc2, 5);
    ck_assert_int_eq(c.rc3, -ECANCELED);
    ck_assert(!tick_future_done(c.on));               /* still the other's */
    ck_assert(tick_future_remove_done_callback(c.on, &other));
    tick_future_unref(&c.task.future);
    tick_future_unref(c.on);
    tick_future_unref(c.done);
}
END_TEST

/* ---- switch inside a body and two macros on one line ---- */
struct sw { tick_task task; int i; int acc; };
static int sw_step(tick_task *t)
{
    struct sw *s = tick_container_of(t, struct sw, task);
    TICK_BEGIN(t);
    for (s->i = 0; s->i < 4; s->i++) {
        switch (s->i % 2) {
        case 0: s->acc += 1; TICK_YIELD(t); break;
        default: s->acc += 10; TICK_YIELD(t); TICK_YIELD(t); break;
        }
    }
    TICK_RETURN(t, s->acc);
    TICK_END(t);
}
static const tick_task_class sw_class = { sw_step, NULL };

START_TEST(switch_and_two_macros_per_line)
{
    struct sw s = { 0 };
    tick_task_start(loop, &s.task, "sw", &sw_class);
    ck_assert_int_eq(tick_loop_run_until_complete(loop, &s.task.future), 0);
    ck_assert_int_eq(tick_future_result(&s.task.future), 22);
    tick_future_unref(&s.task.future);
}
END_TEST

/* ---- ownership: cls->free after the last reference ---- */
static int heap_tasks_freed;
struct heaptask { tick_task task; };
static int heaptask_step(tick_task *t) { TICK_BEGIN(t); TICK_RETURN_PTR(t, t); TICK_END(t); }
static void heaptask_free(tick_task *t)
{
    heap_tasks_freed++;
    free(tick_container_of(t, struct heaptask, task));
}
static const tick_task_class heaptask_class = { heaptask_step, heaptask_free };

START_TEST(fire_and_forget_frees)
{
    heap_tasks_freed = 0;
    struct heaptask *h = malloc(sizeof *h);
    tick_task_start(loop, &h->task, "h", &heaptask_class);
    tick_future_unref(&h->task.future);        /* fire and forget */
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(heap_tasks_freed, 1);
}
END_TEST

/* ---- groups: spawned tasks inherit; cancel and drain ---- */
struct parent { tick_task task; struct waiter child; tick_future *on; };
static int parent_step(tick_task *t)
{
    struct parent *p = tick_container_of(t, struct parent, task);
    intptr_t rc;
    TICK_BEGIN(t);
    p->child.on = p->on;
    tick_task_start(tick_task_loop(t), &p->child.task, "child", &waiter_class);
    tick_future_unref(&p->child.task.future);
    TICK_AWAIT(t, tick_future_ref(p->on), rc);
    TICK_FAIL(t, rc < 0 ? rc : -EIO);
    TICK_END(t);
}
static const tick_task_class parent_class = { parent_step, NULL };

static int drained;
static void on_drained(tick_handle *h) { (void)h; drained++; }

START_TEST(scope_cancel_and_drain)
{
    tick_scope g;
    tick_handle empty;
    struct parent p = { 0 };
    tick_scope_init(&g, loop, NULL, "group");
    tick_handle_init(&empty, "drained", on_drained);
    tick_future_new(loop, &p.on);
    tick_scope *prev = tick_scope_enter(loop, &g);
    tick_task_start(loop, &p.task, "parent", &parent_class);
    tick_scope_enter(loop, prev);
    tick_loop_run_once(loop, false);
    tick_loop_run_once(loop, false);
    tick_scope_stats st;
    tick_scope_get_stats(&g, &st, false);
    ck_assert_uint_eq(st.count[TICK_SCOPE_TASK], 2);
    ck_assert_uint_eq(tick_scope_cancel(&g), 2);
    tick_future *d = tick_scope_drain(&g);
    tick_future_add_done_callback(d, &empty);
    RUN_UNTIL(drained == 1, 10);
    tick_future_unref(d);
    tick_scope_get_stats(&g, &st, false);
    ck_assert_uint_eq(st.count[TICK_SCOPE_TASK], 0);
    ck_assert_int_eq(tick_scope_close(&g), 0);
    ck_assert(tick_future_cancelled(&p.task.future));
    ck_assert_int_eq(p.child.cleaned, 1);
    tick_future_unref(&p.task.future);
    tick_future_unref(p.on);
}
END_TEST

START_TEST(start_rejects_bad_args)
{
    struct sw s;
    ck_assert_int_eq(tick_task_start(loop, &s.task, "x", NULL), -EINVAL);
    ck_assert_int_eq(tick_task_start(NULL, &s.task, "x", &sw_class), -EINVAL);
}
END_TEST

static Suite *task_suite(void)
{
    Suite *s = suite_create("task");
    TCase *tc = tcase_create("task");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, task_fits_budget);
    tcase_add_test(tc, await_done_future_does_not_suspend);
    tcase_add_test(tc, await_pending_suspends_until_resolved);
    tcase_add_test(tc, await_tasks_seed_trace);
    tcase_add_test(tc, yield_forever_does_not_starve_timers);
    tcase_add_test(tc, cancel_pending_await_returns_ecanceled);
    tcase_add_test(tc, cancel_shared_future_survives);
    tcase_add_test(tc, cancel_before_first_step_delivered_at_await);
    tcase_add_test(tc, swallowed_cancellation_is_counted);
    tcase_add_test(tc, cancel_after_wakeup_keeps_value);
    tcase_add_test(tc, cancel_while_yielded_after_cut_await);
    tcase_add_test(tc, switch_and_two_macros_per_line);
    tcase_add_test(tc, fire_and_forget_frees);
    tcase_add_test(tc, scope_cancel_and_drain);
    tcase_add_test(tc, start_rejects_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(task_suite)
