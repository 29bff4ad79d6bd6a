/* test_sync.c — Event (many waiters, one cancelled, generations), Queue
 * (bound, backpressure, FIFO of getters and putters, cancelled waiters
 * take nothing), Semaphore/Lock (FIFO, no barging, cancelled waiters take
 * no permit), destroy with waiters, allocation failures. */
#include <malloc.h>
#include <stdio.h>
#include "helpers.h"

void tick_test_fail_alloc_after(unsigned long n);   /* engine, hidden */

/* ---- a task that makes one waiting call in its first step and records
 * the outcome and the order in which it woke ---- */
struct op {
    tick_task task;
    tick_future *(*make)(struct op *o);
    void *obj;                  /* the primitive */
    void *item;                 /* put: in; get: out */
    intptr_t rc;
    int woke;                   /* 1-based wake-up order, 0 = not yet */
    bool release_after;         /* semaphore: release when acquired */
};

static int wake_seq;

static int op_step(tick_task *t)
{
    struct op *o = tick_container_of(t, struct op, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, o->make(o), rc);
    o->rc = rc;
    o->woke = ++wake_seq;
    if (rc >= 0 && tick_task_awaited(t))
        o->item = tick_future_result_ptr(tick_task_awaited(t));
    if (rc == 0 && o->release_after)
        tick_semaphore_release(o->obj);
    TICK_RETURN(t, rc);
    TICK_END(t);
}
static const tick_task_class op_class = { op_step, NULL };

static tick_future *make_wait(struct op *o) { return tick_event_wait(o->obj); }
static tick_future *make_get(struct op *o) { return tick_queue_get(o->obj); }
static tick_future *make_put(struct op *o) { return tick_queue_put(o->obj, o->item); }
static tick_future *make_acquire(struct op *o) { return tick_semaphore_acquire(o->obj); }

static void op_start(struct op *o, tick_future *(*make)(struct op *), void *obj, void *item)
{
    *o = (struct op){ .make = make, .obj = obj, .item = item };
    ck_assert_int_eq(tick_task_start(loop, &o->task, "op", &op_class), 0);
}

static void op_done(struct op *o)
{
    ck_assert(tick_future_done(&o->task.future));
    tick_future_unref(&o->task.future);
}

static void run_ticks(int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_ge(tick_loop_run_once(loop, false), 0);
}

static void setup(void)
{
    loop_setup();
    wake_seq = 0;
}

/* ---- Event ---- */

START_TEST(event_set_clear_wait)
{
    tick_event ev;
    tick_event_init(&ev, loop);
    ck_assert(!tick_event_is_set(&ev));
    tick_future *w = tick_event_wait(&ev);
    ck_assert(!tick_future_done(w));
    tick_event_set(&ev);
    ck_assert(tick_event_is_set(&ev));
    ck_assert(tick_future_done(w));
    ck_assert_int_eq(tick_future_error(w), 0);
    tick_future *w2 = tick_event_wait(&ev);      /* set: complete at once */
    ck_assert(tick_future_done(w2));
    tick_event_clear(&ev);
    ck_assert(!tick_event_is_set(&ev));
    ck_assert(tick_future_done(w));              /* woken stay woken */
    tick_future *w3 = tick_event_wait(&ev);      /* new generation */
    ck_assert(!tick_future_done(w3));
    ck_assert_ptr_ne(w3, w);
    tick_event_destroy(&ev);                     /* wakes w3: -ECANCELED */
    ck_assert_int_eq(tick_future_error(w3), -ECANCELED);
    tick_future_unref(w);
    tick_future_unref(w2);
    tick_future_unref(w3);
}
END_TEST

/* Many tasks wait on one Event with no per-waiter allocation; cancelling
 * one waiter wakes only that one; set wakes the rest in one tick. */
#define MANY 100000
START_TEST(event_many_waiters_one_cancelled)
{
    tick_event ev;
    tick_event_init(&ev, loop);
    struct op *ops = calloc(MANY, sizeof *ops);
    ck_assert_ptr_nonnull(ops);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < MANY; i++)
        op_start(&ops[i], make_wait, &ev, NULL);
    run_ticks(1);                                /* all suspended now */
    struct mallinfo2 after = mallinfo2();
    /* one shared future, nothing per waiter (ASan's malloc reports 0) */
    ck_assert_uint_lt(after.uordblks - before.uordblks, 4096);
    ck_assert_int_eq(ops[0].woke, 0);

    tick_task_cancel(&ops[7].task);
    run_ticks(1);
    ck_assert_int_eq(ops[7].rc, -ECANCELED);
    ck_assert_int_eq(wake_seq, 1);               /* only the cancelled one */
    ck_assert(!tick_future_done(ev.fut));        /* shared future survives */

    tick_event_set(&ev);
    ck_assert_int_eq(tick_loop_run_once(loop, false), MANY - 1);  /* one tick */
    for (int i = 0; i < MANY; i++) {
        if (i != 7)
            ck_assert_int_eq(ops[i].rc, 0);
        op_done(&ops[i]);
    }
    free(ops);
    tick_event_destroy(&ev);
}
END_TEST

/* The last waiter leaving by cancellation cancels the generation's future;
 * the event then starts a fresh one and still works. */
START_TEST(event_last_waiter_cancelled)
{
    tick_event ev;
    tick_event_init(&ev, loop);
    struct op a, b;
    op_start(&a, make_wait, &ev, NULL);
    run_ticks(1);
    tick_task_cancel(&a.task);
    run_ticks(1);
    ck_assert_int_eq(a.rc, -ECANCELED);
    ck_assert(tick_future_cancelled(ev.fut));
    op_start(&b, make_wait, &ev, NULL);
    run_ticks(1);
    ck_assert_int_eq(b.woke, 0);                 /* waits on a fresh future */
    tick_event_set(&ev);
    run_ticks(1);
    ck_assert_int_eq(b.rc, 0);
    op_done(&a);
    op_done(&b);
    tick_event_destroy(&ev);
}
END_TEST

/* Cancelled, then set before anyone waits again. */
START_TEST(event_set_after_cancelled_generation)
{
    tick_event ev;
    tick_event_init(&ev, loop);
    tick_future *w = tick_event_wait(&ev);
    tick_future_cancel(w);
    tick_event_set(&ev);
    tick_future *w2 = tick_event_wait(&ev);
    ck_assert(tick_future_done(w2));
    ck_assert_int_eq(tick_future_error(w2), 0);
    tick_future_unref(w);
    tick_future_unref(w2);
    tick_event_destroy(&ev);
}
END_TEST

/* ---- Queue ---- */

START_TEST(queue_bound_and_fifo)
{
    tick_queue q;
    ck_assert_int_eq(tick_queue_init(&q, loop, 0), -EINVAL);
    ck_assert_int_eq(tick_queue_init(&q, loop, 3), 0);
    int v[5];
    void *out;
    ck_assert_int_eq(tick_queue_try_get(&q, &out), -EAGAIN);
    for (int round = 0; round < 3; round++) {    /* wraps around the ring */
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(tick_queue_try_put(&q, &v[i]), 0);
        ck_assert(tick_queue_full(&q));
        ck_assert_int_eq(tick_queue_try_put(&q, &v[3]), -EAGAIN);
        ck_assert_int_eq(tick_queue_try_get(&q, &out), 0);
        ck_assert_ptr_eq(out, &v[0]);
        ck_assert_int_eq(tick_queue_try_put(&q, &v[4]), 0);
        for (int i = 1; i < 3; i++) {
            ck_assert_int_eq(tick_queue_try_get(&q, &out), 0);
            ck_assert_ptr_eq(out, &v[i]);
        }
        ck_assert_int_eq(tick_queue_try_get(&q, &out), 0);
        ck_assert_ptr_eq(out, &v[4]);
        ck_assert(tick_queue_empty(&q));
    }
    /* a get on a non-empty queue is complete at once */
    tick_queue_try_put(&q, &v[2]);
    tick_future *g = tick_queue_get(&q);
    ck_assert(tick_future_done(g));
    ck_assert_ptr_eq(tick_future_result_ptr(g), &v[2]);
    tick_future_unref(g);
    tick_queue_destroy(&q);
}
END_TEST

/* A producer of 6 items into a queue of 2 blocks; the consumer gets them
 * all in order. */
struct producer { tick_task task; tick_queue *q; int i; int *items; int blocked; };

static int producer_step(tick_task *t)
{
    struct producer *p = tick_container_of(t, struct producer, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (p->i = 0; p->i < 6; p->i++) {
        if (tick_queue_full(p->q))
            p->blocked++;
        TICK_AWAIT(t, tick_queue_put(p->q, &p->items[p->i]), rc);
        ck_assert_int_eq(rc, 0);
    }
    TICK_END(t);
}
static const tick_task_class producer_class = { producer_step, NULL };

START_TEST(queue_backpressure)
{
    tick_queue q;
    ck_assert_int_eq(tick_queue_init(&q, loop, 2), 0);
    int items[6];
    struct producer p = { .q = &q, .items = items };
    tick_task_start(loop, &p.task, "producer", &producer_class);
    run_ticks(3);
    ck_assert_uint_eq(tick_queue_len(&q), 2);
    ck_assert(!tick_future_done(&p.task.future));  /* blocked on the third */
    struct op c[6];
    for (int i = 0; i < 6; i++) {
        op_start(&c[i], make_get, &q, NULL);
        run_ticks(3);
    }
    RUN_UNTIL(tick_future_done(&p.task.future), 20);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(c[i].rc, (intptr_t)&items[i]);   /* the pointer */
        ck_assert_ptr_eq(c[i].item, &items[i]);
        op_done(&c[i]);
    }
    ck_assert_int_ge(p.blocked, 3);
    ck_assert(tick_queue_empty(&q));
    tick_future_unref(&p.task.future);
    tick_queue_destroy(&q);
}
END_TEST

/* Getters are served in arrival order; a cancelled getter takes nothing. */
START_TEST(queue_getters_fifo_and_cancel)
{
    tick_queue q;
    tick_queue_init(&q, loop, 4);
    struct op g[4];
    for (int i = 0; i < 4; i++)
        op_start(&g[i], make_get, &q, NULL);
    run_ticks(1);
    tick_task_cancel(&g[1].task);
    run_ticks(1);
    ck_assert_int_eq(g[1].rc, -ECANCELED);
    int v[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick_queue_try_put(&q, &v[i]), 0);   /* handed over */
    ck_assert(tick_queue_empty(&q));
    run_ticks(1);
    ck_assert_ptr_eq(g[0].item, &v[0]);
    ck_assert_ptr_eq(g[2].item, &v[1]);
    ck_assert_ptr_eq(g[3].item, &v[2]);
    ck_assert(g[0].woke < g[2].woke && g[2].woke < g[3].woke);
    for (int i = 0; i < 4; i++)
        op_done(&g[i]);
    tick_queue_destroy(&q);
}
END_TEST

/* Putters enter in arrival order; a cancelled put never enqueues. */
START_TEST(queue_putters_fifo_and_cancel)
{
    tick_queue q;
    tick_queue_init(&q, loop, 1);
    int v[4];
    tick_queue_try_put(&q, &v[0]);
    struct op p[3];
    for (int i = 0; i < 3; i++)
        op_start(&p[i], make_put, &q, &v[i + 1]);
    run_ticks(1);
    tick_task_cancel(&p[0].task);
    run_ticks(1);
    ck_assert_int_eq(p[0].rc, -ECANCELED);
    void *out;
    int want[] = { 0, 2, 3 };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tick_queue_try_get(&q, &out), 0);
        ck_assert_ptr_eq(out, &v[want[i]]);
    }
    ck_assert_int_eq(tick_queue_try_get(&q, &out), -EAGAIN);
    run_ticks(1);
    ck_assert_int_eq(p[1].rc, 0);
    ck_assert_int_eq(p[2].rc, 0);
    ck_assert(p[1].woke < p[2].woke);
    for (int i = 0; i < 3; i++)
        op_done(&p[i]);
    tick_queue_destroy(&q);
}
END_TEST

/* A cancelled get, put or acquire future still referenced (not freed)
 * takes nothing and is skipped. */
START_TEST(cancelled_futures_take_nothing)
{
    tick_queue q;
    tick_queue_init(&q, loop, 1);
    int v[3];
    tick_future *g1 = tick_queue_get(&q), *g2 = tick_queue_get(&q);
    ck_assert(tick_future_cancel(g1));
    ck_assert_int_eq(tick_queue_try_put(&q, &v[0]), 0);
    ck_assert_ptr_eq(tick_future_result_ptr(g2), &v[0]);
    ck_assert_int_eq(tick_future_error(g1), -ECANCELED);
    tick_queue_try_put(&q, &v[0]);                     /* full again */
    tick_future *p1 = tick_queue_put(&q, &v[1]), *p2 = tick_queue_put(&q, &v[2]);
    ck_assert(tick_future_cancel(p1));
    void *out;
    tick_queue_try_get(&q, &out);
    ck_assert(tick_future_done(p2));
    tick_queue_try_get(&q, &out);
    ck_assert_ptr_eq(out, &v[2]);                      /* v[1] never went in */
    tick_queue_destroy(&q);

    tick_semaphore s;
    tick_semaphore_init(&s, loop, 0);
    tick_future *a1 = tick_semaphore_acquire(&s), *a2 = tick_semaphore_acquire(&s);
    ck_assert(tick_future_cancel(a1));
    tick_semaphore_release(&s);
    ck_assert(tick_future_done(a2) && tick_future_error(a2) == 0);
    tick_semaphore_release(&s);
    ck_assert_uint_eq(tick_semaphore_value(&s), 1);
    tick_semaphore_destroy(&s);
    tick_future *all[] = { g1, g2, p1, p2, a1, a2 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tick_future_unref(all[i]);
}
END_TEST

/* A get or put future dropped while pending leaves the line. */
START_TEST(queue_dropped_waiters)
{
    tick_queue q;
    tick_queue_init(&q, loop, 1);
    int v[2];
    tick_future *g = tick_queue_get(&q);
    tick_future_unref(g);
    ck_assert_int_eq(tick_queue_try_put(&q, &v[0]), 0);
    ck_assert_uint_eq(tick_queue_len(&q), 1);          /* not handed to g */
    tick_future *p = tick_queue_put(&q, &v[1]);
    ck_assert(!tick_future_done(p));
    tick_future_unref(p);
    void *out;
    tick_queue_try_get(&q, &out);
    ck_assert_ptr_eq(out, &v[0]);
    ck_assert(tick_queue_empty(&q));                   /* v[1] never went in */
    tick_queue_destroy(&q);
}
END_TEST

START_TEST(queue_destroy_wakes_waiters)
{
    tick_queue q;
    tick_queue_init(&q, loop, 1);
    tick_future *g = tick_queue_get(&q);
    tick_queue_destroy(&q);
    ck_assert_int_eq(tick_future_error(g), -ECANCELED);
    tick_future_unref(g);
    tick_queue_init(&q, loop, 1);
    int v;
    tick_queue_try_put(&q, &v);
    tick_future *p = tick_queue_put(&q, &v);
    tick_queue_destroy(&q);
    ck_assert_int_eq(tick_future_error(p), -ECANCELED);
    tick_future_unref(p);
    /* a destroyed queue refuses */
    void *out;
    ck_assert_int_eq(tick_queue_try_put(&q, &v), -EINVAL);
    ck_assert_int_eq(tick_queue_try_get(&q, &out), -EINVAL);
    p = tick_queue_put(&q, &v);
    ck_assert_int_eq(tick_future_error(p), -EINVAL);
    tick_future_unref(p);
    p = tick_queue_get(&q);
    ck_assert_int_eq(tick_future_error(p), -EINVAL);
    tick_future_unref(p);
    tick_queue_destroy(&q);                      /* twice: harmless */
}
END_TEST

START_TEST(queue_out_of_memory)
{
    tick_queue q;
    tick_test_fail_alloc_after(1);
    ck_assert_int_eq(tick_queue_init(&q, loop, 4), -ENOMEM);
    tick_test_fail_alloc_after(2);
    ck_assert_int_eq(tick_queue_init(&q, loop, 4), -ENOMEM);
    tick_test_fail_alloc_after(0);
    ck_assert_int_eq(tick_queue_init(&q, loop, 4), 0);
    int v;
    tick_queue_try_put(&q, &v);
    tick_test_fail_alloc_after(1);
    ck_assert_ptr_null(tick_queue_get(&q));
    ck_assert_uint_eq(tick_queue_len(&q), 1);          /* item not taken */
    tick_test_fail_alloc_after(0);
    tick_queue_destroy(&q);
}
END_TEST

/* ---- Semaphore and Lock ---- */

START_TEST(semaphore_counts)
{
    tick_semaphore s;
    ck_assert_int_eq(tick_semaphore_init(&s, loop, 2), 0);
    ck_assert(tick_semaphore_try_acquire(&s));
    tick_future *f = tick_semaphore_acquire(&s);
    ck_assert(tick_future_done(f));
    ck_assert_uint_eq(tick_semaphore_value(&s), 0);
    ck_assert(!tick_semaphore_try_acquire(&s));
    tick_semaphore_release(&s);
    tick_semaphore_release(&s);
    tick_semaphore_release(&s);                 /* unbounded */
    ck_assert_uint_eq(tick_semaphore_value(&s), 3);
    tick_future_unref(f);
    tick_semaphore_destroy(&s);
}
END_TEST

/* Waiters get the permit in arrival order, each releasing it on. */
START_TEST(semaphore_fifo)
{
    tick_semaphore s;
    tick_semaphore_init(&s, loop, 0);
    struct op w[5];
    for (int i = 0; i < 5; i++) {
        op_start(&w[i], make_acquire, &s, NULL);
        w[i].release_after = true;
    }
    run_ticks(1);
    ck_assert_int_eq(wake_seq, 0);
    tick_semaphore_release(&s);
    /* handed to w[0]: nobody can barge in before it runs */
    ck_assert(!tick_semaphore_try_acquire(&s));
    RUN_UNTIL(wake_seq == 5, 20);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(w[i].woke, i + 1);
        op_done(&w[i]);
    }
    ck_assert_uint_eq(tick_semaphore_value(&s), 1);    /* the last gave it back */
    tick_semaphore_destroy(&s);
}
END_TEST

/* A cancelled waiter takes no permit: the next waiter gets it. */
START_TEST(semaphore_cancelled_waiter)
{
    tick_semaphore s;
    tick_semaphore_init(&s, loop, 0);
    struct op w[3];
    for (int i = 0; i < 3; i++)
        op_start(&w[i], make_acquire, &s, NULL);
    run_ticks(1);
    tick_task_cancel(&w[0].task);
    run_ticks(1);
    ck_assert_int_eq(w[0].rc, -ECANCELED);
    tick_semaphore_release(&s);
    run_ticks(1);
    ck_assert_int_eq(w[1].rc, 0);
    ck_assert_int_eq(w[2].woke, 0);
    ck_assert_uint_eq(tick_semaphore_value(&s), 0);
    tick_semaphore_release(&s);                 /* w[1] done: to w[2] */
    run_ticks(1);
    ck_assert_int_eq(w[2].rc, 0);
    tick_semaphore_release(&s);
    ck_assert_uint_eq(tick_semaphore_value(&s), 1);
    for (int i = 0; i < 3; i++)
        op_done(&w[i]);
    tick_semaphore_destroy(&s);
}
END_TEST

/* A task cancelled while it was woken (its step queued) keeps the permit
 * it was handed: the await returns 0, the next await -ECANCELED. */
START_TEST(semaphore_cancel_after_handoff_keeps_permit)
{
    tick_semaphore s;
    tick_semaphore_init(&s, loop, 0);
    struct op w;
    op_start(&w, make_acquire, &s, NULL);
    run_ticks(1);
    tick_semaphore_release(&s);                 /* handed to w */
    tick_task_cancel(&w.task);                  /* before w runs */
    run_ticks(1);
    ck_assert_int_eq(w.rc, 0);                  /* it holds the permit */
    ck_assert_uint_eq(tick_semaphore_value(&s), 0);
    op_done(&w);
    tick_semaphore_destroy(&s);
}
END_TEST

START_TEST(semaphore_destroy_wakes_waiters)
{
    tick_semaphore s;
    tick_semaphore_init(&s, loop, 0);
    tick_future *a = tick_semaphore_acquire(&s);
    tick_semaphore_destroy(&s);
    ck_assert_int_eq(tick_future_error(a), -ECANCELED);
    tick_future_unref(a);
    a = tick_semaphore_acquire(&s);              /* destroyed: refused */
    ck_assert_int_eq(tick_future_error(a), -EINVAL);
    tick_future_unref(a);
    ck_assert(!tick_semaphore_try_acquire(&s));
    tick_semaphore_release(&s);
    tick_semaphore_destroy(&s);
}
END_TEST

START_TEST(lock_basics)
{
    tick_lock l;
    ck_assert_int_eq(tick_lock_init(&l, loop), 0);
    ck_assert(!tick_lock_locked(&l));
    ck_assert_int_eq(tick_lock_release(&l), -EPERM);
    ck_assert(tick_lock_try_acquire(&l));
    ck_assert(tick_lock_locked(&l));
    ck_assert(!tick_lock_try_acquire(&l));
    struct op w;
    op_start(&w, make_acquire, &l.sem, NULL);
    run_ticks(2);
    ck_assert_int_eq(w.woke, 0);
    ck_assert_int_eq(tick_lock_release(&l), 0); /* to w: still locked */
    ck_assert(tick_lock_locked(&l));
    run_ticks(1);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_int_eq(tick_lock_release(&l), 0);
    ck_assert(!tick_lock_locked(&l));
    op_done(&w);
    tick_lock_destroy(&l);
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, loop_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, event_set_clear_wait);
    tcase_add_test(tc, event_many_waiters_one_cancelled);
    tcase_add_test(tc, event_last_waiter_cancelled);
    tcase_add_test(tc, event_set_after_cancelled_generation);
    tcase_add_test(tc, queue_bound_and_fifo);
    tcase_add_test(tc, queue_backpressure);
    tcase_add_test(tc, queue_getters_fifo_and_cancel);
    tcase_add_test(tc, queue_putters_fifo_and_cancel);
    tcase_add_test(tc, cancelled_futures_take_nothing);
    tcase_add_test(tc, queue_dropped_waiters);
    tcase_add_test(tc, queue_destroy_wakes_waiters);
    tcase_add_test(tc, queue_out_of_memory);
    tcase_add_test(tc, semaphore_counts);
    tcase_add_test(tc, semaphore_fifo);
    tcase_add_test(tc, semaphore_cancelled_waiter);
    tcase_add_test(tc, semaphore_cancel_after_handoff_keeps_permit);
    tcase_add_test(tc, semaphore_destroy_wakes_waiters);
    tcase_add_test(tc, lock_basics);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(sync_suite)
