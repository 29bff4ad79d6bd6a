/* test_loop.c — the tick contract: snapshot FIFO, next-tick scheduling,
 * cancellation, threadsafe call_soon, trace format, stats, close. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "helpers.h"

struct rec {
    tick_handle h;
    int id;
    int *log;
    int *nlog;
    int resched;            /* reschedule itself this many times */
    uint64_t ran_tick;
};

static void rec_run(tick_handle *h)
{
    struct rec *r = tick_container_of(h, struct rec, h);
    r->log[(*r->nlog)++] = r->id;
    r->ran_tick = tick_loop_tick(loop);
    if (r->resched-- > 0)
        tick_call_soon(loop, &r->h);
}

START_TEST(fifo_in_one_tick)
{
    int log[16], n = 0;
    struct rec r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = (struct rec){ .id = i, .log = log, .nlog = &n };
        tick_handle_init(&r[i].h, "rec", rec_run);
        tick_call_soon(loop, &r[i].h);
    }
    ck_assert_int_eq(tick_loop_run_once(loop, false), 5);
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(log[i], i);
        ck_assert_uint_eq(r[i].ran_tick, 1);
    }
}
END_TEST

START_TEST(scheduled_while_running_goes_to_next_tick)
{
    int log[16], n = 0;
    struct rec a = { .id = 1, .log = log, .nlog = &n, .resched = 2 };
    tick_handle_init(&a.h, "a", rec_run);
    tick_call_soon(loop, &a.h);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 0);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(double_schedule_is_noop_and_cancel_unschedules)
{
    int log[16], n = 0;
    struct rec a = { .id = 1, .log = log, .nlog = &n }, b = { .id = 2, .log = log, .nlog = &n };
    tick_handle_init(&a.h, "a", rec_run);
    tick_handle_init(&b.h, "b", rec_run);
    tick_call_soon(loop, &a.h);
    tick_call_soon(loop, &a.h);
    tick_call_soon(loop, &b.h);
    ck_assert(tick_handle_scheduled(&a.h));
    ck_assert(tick_handle_cancel(&a.h));
    ck_assert(!tick_handle_cancel(&a.h));
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(log[0], 2);
}
END_TEST

/* A handle cancels a later handle of the same snapshot: it must not run. */
static tick_handle *victim;
static void killer_run(tick_handle *h) { (void)h; tick_handle_cancel(victim); }

START_TEST(cancel_within_snapshot)
{
    int log[4], n = 0;
    tick_handle k;
    struct rec v = { .id = 9, .log = log, .nlog = &n };
    tick_handle_init(&k, "killer", killer_run);
    tick_handle_init(&v.h, "victim", rec_run);
    victim = &v.h;
    tick_call_soon(loop, &k);
    tick_call_soon(loop, &v.h);
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(n, 0);
}
END_TEST

/* A handle may free its owner from its own callback. */
struct selffree { tick_handle h; };
static int freed;
static void selffree_run(tick_handle *h)
{
    free(tick_container_of(h, struct selffree, h));
    freed++;
}

START_TEST(handle_frees_itself)
{
    struct selffree *s = malloc(sizeof *s);
    tick_handle_init(&s->h, "self", selffree_run);
    tick_call_soon(loop, &s->h);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(freed, 1);
}
END_TEST

START_TEST(trace_line_format)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    tick_loop_set_trace(loop, out);
    int log[4], n = 0;
    struct rec a = { .id = 1, .log = log, .nlog = &n }, b = { .id = 2, .log = log, .nlog = &n };
    tick_handle_init(&a.h, "Add X", rec_run);
    tick_handle_init(&b.h, "Add Y", rec_run);
    tick_loop_run_once(loop, false);
    tick_call_soon(loop, &a.h);
    tick_call_soon(loop, &b.h);
    tick_loop_run_once(loop, false);
    tick_loop_set_trace(loop, NULL);
    fclose(out);
    ck_assert_str_eq(buf, "Loop step 1 []\n"
                          "Loop step 2 [<Handle name='Add X' callback='rec_run'>, "
                          "<Handle name='Add Y' callback='rec_run'>]\n");
    free(buf);
}
END_TEST

/* Cross-thread call_soon: many threads, one handle each, all run once. */
#define NTHREADS 4
#define PER_THREAD 1000
static int ts_count;
static void ts_run(tick_handle *h) { (void)h; ts_count++; }

struct ts_arg { tick_handle h[PER_THREAD]; };

static void *ts_thread(void *p)
{
    struct ts_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++)
        ck_assert_int_eq(tick_call_threadsafe(loop, &a->h[i]), 0);
    return NULL;
}

START_TEST(call_threadsafe_many_threads)
{
    static struct ts_arg args[NTHREADS];
    pthread_t th[NTHREADS];
    ts_count = 0;
    for (int t = 0; t < NTHREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            tick_handle_init(&args[t].h[i], "ts", ts_run);
    for (int t = 0; t < NTHREADS; t++)
        pthread_create(&th[t], NULL, ts_thread, &args[t]);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    RUN_UNTIL(ts_count == NTHREADS * PER_THREAD, 100);
}
END_TEST

/* The threadsafe handle runs in the same tick as the doorbell is polled. */
START_TEST(threadsafe_wakes_blocked_poll)
{
    tick_handle h;
    ts_count = 0;
    tick_handle_init(&h, "ts", ts_run);
    ck_assert_int_eq(tick_call_threadsafe(loop, &h), 0);
    ck_assert_int_eq(tick_call_threadsafe(loop, &h), -EBUSY);
    ck_assert_int_eq(tick_loop_run_once(loop, true), 1);   /* would block forever otherwise */
    ck_assert_int_eq(ts_count, 1);
}
END_TEST

static void stopper_run(tick_handle *h) { (void)h; tick_loop_stop(loop); }

START_TEST(run_until_stop)
{
    tick_handle s;
    tick_handle_init(&s, "stop", stopper_run);
    tick_call_soon(loop, &s);
    ck_assert_int_eq(tick_loop_run(loop), 0);
    ck_assert(!tick_loop_stopping(loop));
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.ticks, 1);
    ck_assert_uint_eq(st.handles_run, 1);
}
END_TEST

START_TEST(close_refuses_while_scheduled)
{
    tick_handle h;
    tick_handle_init(&h, "x", ts_run);
    tick_call_soon(loop, &h);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);
    tick_handle_cancel(&h);
}
END_TEST

/* A handle posted from a thread and not yet run is scheduled too: close
 * must refuse rather than drop it (its poster may not touch it until it
 * ran). So must a close from inside a tick, which would free the loop
 * under run_once. */
static tick_loop *closing_loop;
static int close_rc;
static void closer_run(tick_handle *h) { (void)h; close_rc = tick_loop_close(closing_loop); }

START_TEST(close_refuses_threadsafe_queued_and_in_tick)
{
    tick_loop *l2;
    tick_handle h;
    ts_count = 0;
    ck_assert_int_eq(tick_loop_new(&l2), 0);
    tick_handle_init(&h, "ts", ts_run);
    ck_assert_int_eq(tick_call_threadsafe(l2, &h), 0);
    ck_assert_int_eq(tick_loop_close(l2), -EBUSY);
    ck_assert_int_eq(tick_loop_run_once(l2, true), 1);
    ck_assert_int_eq(ts_count, 1);

    closing_loop = l2;
    close_rc = 1;
    tick_handle_init(&h, "closer", closer_run);
    tick_call_soon(l2, &h);
    ck_assert_int_eq(tick_loop_run_once(l2, false), 1);
    ck_assert_int_eq(close_rc, -EBUSY);
    ck_assert_int_eq(tick_loop_close(l2), 0);
}
END_TEST

START_TEST(run_until_complete_deadlock)
{
    tick_future *f;
    ck_assert_int_eq(tick_future_new(loop, &f), 0);
    ck_assert_int_eq(tick_loop_run_until_complete(loop, f), -EDEADLK);
    tick_future_unref(f);
}
END_TEST

static void slow_run(tick_handle *h) { (void)h; usleep(30000); }
static int slow_seen;
static void on_slow(void *u, const char *name, uint64_t ns)
{
    (void)u;
    ck_assert_str_eq(name, "sluggish");
    ck_assert_uint_ge(ns, 10 * TICK_MSEC);
    slow_seen++;
}

START_TEST(slow_handle_reported)
{
    tick_handle h;
    tick_handle_init(&h, "sluggish", slow_run);
    tick_loop_set_slow_handler(loop, 10 * TICK_MSEC, on_slow, NULL);
    tick_call_soon(loop, &h);
    tick_loop_run_once(loop, false);
    ck_assert_int_eq(slow_seen, 1);
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    ck_assert_uint_eq(st.slow_handles, 1);
    ck_assert_uint_ge(st.longest_tick_ns, 25 * TICK_MSEC);
}
END_TEST

/* A handle may free its owner from its callback, name included: the slow
 * hook must still get the name (the daemon names handles after heap
 * strings, such as an instance's name, freed by the handle itself). */
struct named { tick_handle h; char *name; };
static char slow_name_seen[64];
static void on_slow_copy(void *u, const char *name, uint64_t ns)
{
    (void)u;
    (void)ns;
    snprintf(slow_name_seen, sizeof slow_name_seen, "%s", name);
}
static void slow_free_run(tick_handle *h)
{
    struct named *n = tick_container_of(h, struct named, h);
    usleep(30000);
    free(n->name);
    free(n);
}

START_TEST(slow_handle_that_frees_its_name)
{
    struct named *n = malloc(sizeof *n);
    ck_assert_ptr_nonnull(n);
    n->name = strdup("a handle named on the heap");
    tick_handle_init(&n->h, n->name, slow_free_run);
    slow_name_seen[0] = 0;
    tick_loop_set_slow_handler(loop, 10 * TICK_MSEC, on_slow_copy, NULL);
    tick_call_soon(loop, &n->h);
    tick_loop_run_once(loop, false);
    ck_assert_str_eq(slow_name_seen, "a handle named on the heap");
}
END_TEST

START_TEST(oom_on_new)
{
    tick_loop *l2 = NULL;
    tick_test_fail_alloc_after(1);
    ck_assert_int_eq(tick_loop_new(&l2), -ENOMEM);
    ck_assert_ptr_null(l2);
}
END_TEST

/* run_until_idle: a chain of handles each scheduling the next runs to
 * its end (one per tick) and the call returns 0 once nothing is ready;
 * a handle that reschedules itself forever gives -EBUSY at the bound. */
struct chain { tick_handle h; int left, ran; bool forever; };
static void chain_run(tick_handle *h)
{
    struct chain *c = tick_container_of(h, struct chain, h);
    c->ran++;
    if (c->forever || --c->left > 0)
        tick_call_soon(loop, h);
}

START_TEST(run_until_idle_settles_chains)
{
    struct chain c = { .left = 5 };
    tick_handle_init(&c.h, "chain", chain_run);
    tick_call_soon(loop, &c.h);
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 0), 0);
    ck_assert_int_eq(c.ran, 5);
    ck_assert(!tick_handle_scheduled(&c.h));

    c.forever = true;
    tick_call_soon(loop, &c.h);
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 10), -EBUSY);
    ck_assert_int_eq(c.ran, 15);
    tick_handle_cancel(&c.h);
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 10), 0);
}
END_TEST

/* ---- tick_call_before_poll: the end of the tick ---- */

struct bp {
    tick_handle h;
    int id, *log, *nlog;
    int rearm;                  /* arm itself again this many times */
    tick_handle *arm;           /* a before-poll handle to arm when run */
    tick_handle *soon;          /* a handle to call_soon when run */
    uint64_t ran_tick;
};

static void bp_run(tick_handle *h)
{
    struct bp *b = tick_container_of(h, struct bp, h);
    b->log[(*b->nlog)++] = b->id;
    b->ran_tick = tick_loop_tick(loop);
    if (b->arm)
        tick_call_before_poll(loop, b->arm);
    if (b->soon)
        tick_call_soon(loop, b->soon);
    if (b->rearm-- > 0)
        tick_call_before_poll(loop, &b->h);
}

START_TEST(before_poll_runs_after_the_run_phase)
{
    int log[16], n = 0;
    struct bp p = { .id = 9, .log = log, .nlog = &n };
    struct bp c = { .id = 3, .log = log, .nlog = &n };
    struct bp a = { .id = 1, .log = log, .nlog = &n, .arm = &p.h, .soon = &c.h };
    struct bp b = { .id = 2, .log = log, .nlog = &n, .arm = &p.h };   /* armed twice: once */
    tick_handle_init(&p.h, "p", bp_run);
    tick_handle_init(&c.h, "c", bp_run);
    tick_handle_init(&a.h, "a", bp_run);
    tick_handle_init(&b.h, "b", bp_run);
    tick_call_soon(loop, &a.h);
    tick_call_soon(loop, &b.h);
    /* a, b, then p at the end of the same tick; c (call_soon) the next */
    ck_assert_int_eq(tick_loop_run_once(loop, false), 3);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(log[0], 1);
    ck_assert_int_eq(log[1], 2);
    ck_assert_int_eq(log[2], 9);
    ck_assert_uint_eq(p.ran_tick, 1);
    ck_assert(!tick_handle_scheduled(&p.h));
    ck_assert_int_eq(tick_loop_run_once(loop, false), 1);
    ck_assert_int_eq(log[3], 3);
    ck_assert_uint_eq(c.ran_tick, 2);
}
END_TEST

/* Armed from a before-poll handle: the end of the next tick, and that
 * tick's poll must not block (a blocking run_once would hang here). */
START_TEST(before_poll_rearmed_runs_next_tick_without_blocking)
{
    int log[16], n = 0;
    struct bp p = { .id = 1, .log = log, .nlog = &n, .rearm = 2 };
    tick_handle_init(&p.h, "p", bp_run);
    tick_call_before_poll(loop, &p.h);          /* outside a tick: the coming one */
    ck_assert(tick_handle_scheduled(&p.h));
    ck_assert_int_eq(tick_loop_run_once(loop, true), 1);
    ck_assert_uint_eq(p.ran_tick, 1);
    ck_assert_int_eq(tick_loop_run_once(loop, true), 1);
    ck_assert_uint_eq(p.ran_tick, 2);
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 10), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(p.ran_tick, 3);
}
END_TEST

START_TEST(before_poll_cancel_and_close)
{
    int log[16], n = 0;
    struct bp p = { .id = 1, .log = log, .nlog = &n };
    tick_handle_init(&p.h, "p", bp_run);
    tick_call_before_poll(loop, &p.h);
    tick_call_soon(loop, &p.h);                 /* armed already: a no-op */
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);
    ck_assert(tick_handle_cancel(&p.h));
    ck_assert(!tick_handle_scheduled(&p.h));
    ck_assert_int_eq(tick_loop_run_once(loop, false), 0);
    ck_assert_int_eq(n, 0);
}
END_TEST

/* A before-poll handle belongs to the scope it was armed in: the scope is
 * not empty while it is armed, and cancelling the scope unschedules it. */
START_TEST(before_poll_belongs_to_its_scope)
{
    int log[16], n = 0;
    struct bp p = { .id = 1, .log = log, .nlog = &n };
    tick_scope sc;
    tick_handle_init(&p.h, "p", bp_run);
    tick_scope_init(&sc, loop, NULL, "sc");
    tick_scope *prev = tick_scope_enter(loop, &sc);
    tick_call_before_poll(loop, &p.h);
    tick_scope_enter(loop, prev);
    ck_assert_ptr_eq(tick_handle_scope(&p.h), &sc);
    ck_assert(!tick_scope_empty(&sc));
    ck_assert_int_eq(tick_scope_close(&sc), -EBUSY);
    ck_assert_uint_eq(tick_scope_cancel(&sc), 1);
    ck_assert(!tick_handle_scheduled(&p.h));
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 10), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(tick_scope_close(&sc), 0);
}
END_TEST

static Suite *loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("tick");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, fifo_in_one_tick);
    tcase_add_test(tc, scheduled_while_running_goes_to_next_tick);
    tcase_add_test(tc, double_schedule_is_noop_and_cancel_unschedules);
    tcase_add_test(tc, cancel_within_snapshot);
    tcase_add_test(tc, handle_frees_itself);
    tcase_add_test(tc, trace_line_format);
    tcase_add_test(tc, call_threadsafe_many_threads);
    tcase_add_test(tc, threadsafe_wakes_blocked_poll);
    tcase_add_test(tc, close_refuses_threadsafe_queued_and_in_tick);
    tcase_add_test(tc, run_until_stop);
    tcase_add_test(tc, close_refuses_while_scheduled);
    tcase_add_test(tc, run_until_complete_deadlock);
    tcase_add_test(tc, slow_handle_reported);
    tcase_add_test(tc, slow_handle_that_frees_its_name);
    tcase_add_test(tc, oom_on_new);
    tcase_add_test(tc, run_until_idle_settles_chains);
    tcase_add_test(tc, before_poll_runs_after_the_run_phase);
    tcase_add_test(tc, before_poll_rearmed_runs_next_tick_without_blocking);
    tcase_add_test(tc, before_poll_cancel_and_close);
    tcase_add_test(tc, before_poll_belongs_to_its_scope);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(loop_suite)
