/* test_future.c — states, results, done-callbacks scheduled (never inline),
 * callbacks added after completion, removal, refcounts, OOM. */
#include "helpers.h"

struct cb {
    tick_handle h;
    tick_future *f;
    int runs;
    intptr_t seen;
    int order;
};
static int order_counter;

static void cb_run(tick_handle *h)
{
    struct cb *c = tick_container_of(h, struct cb, h);
    c->runs++;
    c->seen = tick_future_error(c->f) ? tick_future_error(c->f) : tick_future_result(c->f);
    c->order = ++order_counter;
}

START_TEST(result_schedules_callbacks_in_order_not_inline)
{
    tick_future *f;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    struct cb a = { .f = f }, b = { .f = f };
    tick_handle_init(&a.h, "a", cb_run);
    tick_handle_init(&b.h, "b", cb_run);
    tick_future_add_done_callback(f, &a.h);
    tick_future_add_done_callback(f, &b.h);
    ck_assert(!tick_future_done(f));
    ck_assert_int_eq(tick_future_set_result(f, 42), 0);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(a.runs, 0);                 /* not inline */
    ck_assert_int_eq(tick_loop_run_once(loop, false), 2);
    ck_assert_int_eq(a.runs, 1);
    ck_assert_int_eq(b.runs, 1);
    ck_assert_int_eq(a.seen, 42);
    ck_assert_int_lt(a.order, b.order);
    ck_assert_int_eq(tick_future_set_result(f, 1), -EINVAL);   /* already done */
    tick_future_unref(f);
}
END_TEST

START_TEST(callback_added_after_completion_runs_next_tick)
{
    tick_future *f;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    tick_future_set_error(f, -EIO);
    struct cb a = { .f = f };
    tick_handle_init(&a.h, "late", cb_run);
    tick_future_add_done_callback(f, &a.h);
    ck_assert(tick_handle_scheduled(&a.h));
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(a.runs, 1);
    ck_assert_int_eq(a.seen, -EIO);
    tick_future_unref(f);
}
END_TEST

START_TEST(remove_done_callback)
{
    tick_future *f;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    struct cb a = { .f = f };
    tick_handle_init(&a.h, "a", cb_run);
    tick_future_add_done_callback(f, &a.h);
    ck_assert(tick_future_remove_done_callback(f, &a.h));
    ck_assert(!tick_future_remove_done_callback(f, &a.h));
    tick_future_set_result(f, 1);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(a.runs, 0);
    tick_future_unref(f);
}
END_TEST

START_TEST(cancel_and_states)
{
    tick_future *f;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    struct cb a = { .f = f };
    tick_handle_init(&a.h, "a", cb_run);
    tick_future_add_done_callback(f, &a.h);
    ck_assert(tick_future_cancel(f));
    ck_assert(tick_future_cancelled(f));
    ck_assert_int_eq(tick_future_error(f), -ECANCELED);
    ck_assert(!tick_future_cancel(f));
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(a.seen, -ECANCELED);
    ck_assert_int_eq(tick_future_set_error(f, 5), -EINVAL);
    tick_future_unref(f);
}
END_TEST

static int embedded_freed;
static void embedded_free(tick_future *f) { (void)f; embedded_freed++; }
static const tick_future_ops embedded_ops = { "embedded", embedded_free, NULL };

START_TEST(refcount_frees_at_zero)
{
    tick_future f;
    embedded_freed = 0;
    tick_future_init(&f, loop, &embedded_ops);
    tick_future_ref(&f);
    ck_assert_ptr_null(tick_future_unref(&f));
    ck_assert_int_eq(embedded_freed, 0);
    tick_future_unref(&f);
    ck_assert_int_eq(embedded_freed, 1);
}
END_TEST

START_TEST(pointer_results)
{
    tick_future *f;
    int x;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    tick_future_set_result_ptr(f, &x);
    ck_assert_ptr_eq(tick_future_result_ptr(f), &x);
    tick_future_unref(f);
}
END_TEST

START_TEST(oom)
{
    tick_future *f = NULL;
    tick_test_fail_alloc_after(1);
    ck_assert_int_eq(tick_future_new(loop, &f), -ENOMEM);
    ck_assert_int_eq(tick_future_new(NULL, &f), -EINVAL);
}
END_TEST

/* A done-callback that resolves another future: the second callback runs
 * in the next tick (resolved by a running handle). */
struct chain { tick_handle h; tick_future *next; };
static void chain_run(tick_handle *h)
{
    struct chain *c = tick_container_of(h, struct chain, h);
    tick_future_set_result(c->next, 7);
}

START_TEST(resolved_by_handle_wakes_next_tick)
{
    tick_future *f1, *f2;
    tick_future_new(loop, &f1);
    tick_future_new(loop, &f2);
    struct chain c = { .next = f2 };
    struct cb b = { .f = f2 };
    tick_handle_init(&c.h, "chain", chain_run);
    tick_handle_init(&b.h, "b", cb_run);
    tick_future_add_done_callback(f1, &c.h);
    tick_future_add_done_callback(f2, &b.h);
    tick_future_set_result(f1, 1);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(b.runs, 0);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(b.runs, 1);
    ck_assert_int_eq(b.seen, 7);
    tick_future_unref(f1);
    tick_future_unref(f2);
}
END_TEST

static Suite *future_suite(void)
{
    Suite *s = suite_create("future");
    TCase *tc = tcase_create("future");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, result_schedules_callbacks_in_order_not_inline);
    tcase_add_test(tc, callback_added_after_completion_runs_next_tick);
    tcase_add_test(tc, remove_done_callback);
    tcase_add_test(tc, cancel_and_states);
    tcase_add_test(tc, refcount_frees_at_zero);
    tcase_add_test(tc, pointer_results);
    tcase_add_test(tc, oom);
    tcase_add_test(tc, resolved_by_handle_wakes_next_tick);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(future_suite)
