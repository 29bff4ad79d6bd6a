/*
 * task.c — Tasks: a future driving a stackless coroutine.
 *
 * The task's step handle does double duty: it is what the ready queue
 * runs, and it is the done-callback registered on the awaited future, so
 * suspending and waking a task never allocates. A suspended task is linked
 * only into its awaited future's waiter list: no tick ever looks at it.
 *
 * Per-task flags live in the future's six spare bits (tick_future.sub):
 * bit 0 a cancellation waits to be delivered at the next await, bit 1 the
 * current await was cut short by a cancellation, bits 2-5 count the
 * cancellation requests (saturating at 15), as asyncio's cancelling().
 */
#include "internal.h"

#define SUB_MUST_CANCEL   0x1u
#define SUB_AWAIT_CUT     0x2u
#define SUB_COUNT_SHIFT   2
#define SUB_COUNT_MAX     15u

static inline unsigned cancel_count(const tick_task *t) { return t->future.sub >> SUB_COUNT_SHIFT; }
static inline void set_cancel_count(tick_task *t, unsigned n)
{
    t->future.sub = (t->future.sub & 0x3u) | (n << SUB_COUNT_SHIFT);
}

static void task_free(tick_future *f)
{
    tick_task *t = tick_container_of(f, tick_task, future);
    if (t->cls->free)
        t->cls->free(t);
}

static bool task_cancel(tick_future *f);
static const tick_future_ops task_ops = { "task", task_free, task_cancel };

static void task_step(tick_handle *h);
static const tick_handle_class task_step_cls = { task_step, "step" };

int tick_task_start(tick_loop *loop, tick_task *t, const char *name, const tick_task_class *cls)
{
    if (!loop || !t || !cls || !cls->step)
        return -EINVAL;
    tick_future_init(&t->future, loop, &task_ops);
    t->future.refs = 2;            /* the caller's and the engine's */
    tick_handle_init_class(&t->step, name, &task_step_cls);
    t->cls = cls;
    t->resume = NULL;
    t->awaited = NULL;
    t->group = loop->current_group;
    tick_link_init(&t->group_link);
    if (t->group) {
        tick_list_append(&t->group->tasks, &t->group_link);
        t->group->count++;
    }
    loop->stats.tasks_alive++;
    tick_call_soon(loop, &t->step);
    return 0;
}

static void task_step(tick_handle *h)
{
    tick_task *t = tick_container_of(h, tick_task, step);
    tick_loop *loop = t->future.loop;
    tick_task *prev_task = loop->current_task;
    tick_task_group *prev_group = loop->current_group;
    loop->current_task = t;
    loop->current_group = t->group;
    int status = t->cls->step(t);
    loop->current_task = prev_task;
    loop->current_group = prev_group;
    if (status == TICK_TASK_YIELDED) {
        /* A yielded task waits on nothing. If its last await was cut short
         * by a cancellation, the future it left can still be pending (shared
         * with other waiters, or finishing its own cancellation): forget it,
         * or task_cancel() would take the task, now in the ready queue, for
         * one suspended on that future and cut the next await, losing the
         * value of a done future. */
        if (t->awaited && !tick_future_done(t->awaited))
            t->awaited = tick_future_unref(t->awaited);
        tick_call_soon(loop, &t->step);
    } else if (status == TICK_TASK_FINISHED) {
        tick_future_unref(&t->future);   /* the engine's reference */
    }
}

bool tick__task_await(tick_task *t, tick_future *f)
{
    tick_future_unref(t->awaited);
    t->awaited = f;
    if (!f)
        return false;
    /* An await of a done future never suspends, so it is not a delivery
     * point for a pending cancellation: the body gets the value (a permit
     * acquired, an item taken) and the cancellation waits for the next
     * await that would suspend, as in asyncio. */
    if (tick_future_done(f))
        return false;
    if (t->future.sub & SUB_MUST_CANCEL) {
        t->future.sub &= ~SUB_MUST_CANCEL;
        t->future.sub |= SUB_AWAIT_CUT;
        if (tick_list_empty(&f->waiters))
            tick_future_cancel(f);
        return false;
    }
    tick_future_add_done_callback(f, &t->step);
    return true;
}

intptr_t tick__task_await_value(tick_task *t)
{
    if (t->future.sub & SUB_AWAIT_CUT) {
        t->future.sub &= ~SUB_AWAIT_CUT;
        return -ECANCELED;
    }
    tick_future *f = t->awaited;
    if (!f)
        return -ENOMEM;
    if (!tick_future_done(f))
        return -ECANCELED;
    return f->err ? f->err : f->result.i;
}

void tick__group_hold(tick_task_group *g) { g->count++; }

void tick__group_release(tick_loop *loop, tick_task_group *g)
{
    assert(g->count > 0);
    if (--g->count == 0 && g->on_empty)
        tick_call_soon(loop, g->on_empty);
}

static void task_done(tick_task *t)
{
    t->awaited = tick_future_unref(t->awaited);
    tick_loop *loop = t->future.loop;
    loop->stats.tasks_alive--;
    tick_task_group *g = t->group;
    if (g) {
        tick_link_remove(&t->group_link);
        t->group = NULL;
        tick__group_release(loop, g);
    }
}

void tick__task_finish(tick_task *t, intptr_t value, int err)
{
    assert(!tick_future_done(&t->future));
    if (err < 0 && err != -ECANCELED && t->group && t->group->on_failed)
        t->group->on_failed(t->group, t, err);
    task_done(t);
    if (err < 0)
        tick_future_set_error(&t->future, err);
    else
        tick_future_set_result(&t->future, value);
}

void tick__task_finish_ptr(tick_task *t, void *value)
{
    assert(!tick_future_done(&t->future));
    task_done(t);
    tick_future_set_result_ptr(&t->future, value);
}

/*
 * Cancel: if the task is suspended on a future, detach it and wake it with
 * -ECANCELED now; the awaited future is cancelled too unless another
 * handle still waits on it (a shared future, such as an Event's, must
 * survive one waiter leaving). Otherwise the next await delivers it.
 * The task completes itself, so the hook always returns false.
 */
static bool task_cancel(tick_future *f)
{
    tick_task *t = tick_container_of(f, tick_task, future);
    unsigned n = cancel_count(t);
    if (n < SUB_COUNT_MAX)
        set_cancel_count(t, n + 1);
    if (t->future.sub & SUB_AWAIT_CUT)
        return false;              /* already waking with -ECANCELED */
    tick_future *a = t->awaited;
    if (a && !tick_future_done(a) && tick_link_linked(&t->step.link)) {
        tick_link_remove(&t->step.link);
        t->future.sub |= SUB_AWAIT_CUT;
        if (tick_list_empty(&a->waiters))
            tick_future_cancel(a);
        tick_call_soon(f->loop, &t->step);
    } else {
        t->future.sub |= SUB_MUST_CANCEL;
    }
    return false;
}

bool tick_task_cancel(tick_task *t)
{
    return tick_future_cancel(&t->future);
}

unsigned tick_task_cancelling(const tick_task *t) { return cancel_count(t); }

unsigned tick_task_uncancel(tick_task *t)
{
    unsigned n = cancel_count(t);
    if (n > 0)
        set_cancel_count(t, --n);
    if (n == 0)
        t->future.sub &= ~SUB_MUST_CANCEL;
    return n;
}

tick_task *tick_task_current(tick_loop *loop) { return loop->current_task; }

void tick_task_group_init(tick_task_group *g)
{
    tick_link_init(&g->tasks);
    g->count = 0;
    g->on_empty = NULL;
    g->on_failed = NULL;
}

tick_task_group *tick_task_group_enter(tick_loop *loop, tick_task_group *g)
{
    tick_task_group *prev = loop->current_group;
    loop->current_group = g;
    return prev;
}

size_t tick_task_group_cancel(tick_task_group *g)
{
    size_t n = 0;
    /* task_cancel never finishes a task synchronously, so the list is
     * stable while we walk it */
    for (tick_link *l = g->tasks.next; l != &g->tasks; l = l->next) {
        tick_task *t = tick_container_of(l, tick_task, group_link);
        if (tick_task_cancel(t))
            n++;
    }
    return n;
}
