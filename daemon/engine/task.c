/*
 * task.c — Tasks: a future driving a stackless coroutine.
 *
 * The task's step handle does double duty: it is what the ready queue
 * runs, and it is the done-callback registered on the awaited future, so
 * suspending and waking a task never allocates. A suspended task is linked
 * only into its awaited future's waiter list: no tick ever looks at it.
 *
 * A task belongs to the scope current when it starts (step.scope), and is
 * linked into that scope's task list (step.scope_link) until it finishes.
 *
 * Per-task state in its own fields: flags (a cancellation waits to be
 * delivered at the next await, the current await was cut short by a
 * cancellation, a misuse was logged for this task) and the count of
 * cancellation requests (saturating at UINT16_MAX), as asyncio's
 * cancelling().
 */
#include "internal.h"

/* task.h's budget: a task is a future, its step handle and three words */
_Static_assert(sizeof(tick_task) <= 128, "tick_task must stay within 128 bytes");

#define TASK_MUST_CANCEL  0x1u
#define TASK_AWAIT_CUT    0x2u
#define TASK_MISUSED      0x4u

/* Log a misuse once per task (the flag survives a restart refused). */
static void misuse(tick_task *t, const char *what)
{
    if (t->flags & TASK_MISUSED)
        return;
    t->flags |= TASK_MISUSED;
    tick__misuse(what, t->step.name);
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
const tick_handle_class tick__task_step_cls = { task_step, "step" };

/*
 * A started task is alive (step.cls is the step class and the future is
 * pending) or finished. Starting an alive one again would link its step
 * and scope membership twice, corrupting both lists, so it is refused; a
 * finished one is restarted only when nothing else can still look at it:
 * the caller's reference is the only one and nobody waits on it.
 */
static bool task_alive(const tick_task *t)
{
    return t->step.cls == &tick__task_step_cls && !tick_future_done(&t->future) &&
           t->future.refs > 0;
}

int tick_task_start(tick_loop *loop, tick_task *t, const char *name, const tick_task_class *cls)
{
    if (!loop || !t || !cls || !cls->step)
        return -EINVAL;
    if (t->step.cls == &tick__task_step_cls && t->future.loop == loop) {
        if (task_alive(t)) {
            misuse(t, "tick_task_start() on a task that is running");
            return -EBUSY;
        }
        if (t->future.refs > 1 || !tick_list_empty(&t->future.waiters)) {
            misuse(t, "tick_task_start() on a finished task someone still holds");
            return -EBUSY;
        }
    }
    tick_future_init(&t->future, loop, &task_ops);
    t->future.refs = 2;            /* the caller's and the engine's */
    tick_handle_init_class(&t->step, name, &tick__task_step_cls);
    t->cls = cls;
    t->resume = 0;
    t->cancelling = 0;
    t->flags = 0;
    t->awaited = NULL;
    tick_scope *s = loop->cur_scope;
    t->step.scope = s;
    tick_list_append(&s->tasks, &t->step.scope_link);
    tick__scope_join(s, TICK_SCOPE_TASK);
    s->st.tasks_started++;
    loop->stats.tasks_alive++;
    tick_call_soon(loop, &t->step);
    if (tick_scope_cancelled(s))
        tick_task_cancel(t);      /* delivered at its first await */
    return 0;
}

static void task_step(tick_handle *h)
{
    tick_task *t = tick_container_of(h, tick_task, step);
    tick_loop *loop = t->future.loop;
    tick_task *prev_task = loop->current_task;
    loop->current_task = t;
    int status = t->cls->step(t);
    loop->current_task = prev_task;
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
    /* Only the task's own running step can suspend it: from anywhere else
     * the macro would return from a function that is not the step, and
     * the task's real await (if it is suspended) must stay untouched.
     * tick__task_await_value() then gives -EINVAL, by the same test. */
    if (t->future.loop->current_task != t) {
        misuse(t, "TICK_AWAIT outside the task's own step");
        tick_future_unref(f);
        return false;
    }
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
    if (t->flags & TASK_MUST_CANCEL) {
        t->flags &= ~TASK_MUST_CANCEL;
        t->flags |= TASK_AWAIT_CUT;
        tick__future_leave(f, NULL, false);
        return false;
    }
    tick_future_add_done_callback(f, &t->step);
    return true;
}

intptr_t tick__task_await_value(tick_task *t)
{
    if (t->future.loop->current_task != t)
        return -EINVAL;           /* the misused await above */
    if (t->flags & TASK_AWAIT_CUT) {
        t->flags &= ~TASK_AWAIT_CUT;
        return -ECANCELED;
    }
    tick_future *f = t->awaited;
    if (!f)
        return -ENOMEM;
    if (!tick_future_done(f))
        return -ECANCELED;
    return f->err ? f->err : f->result.i;
}

static void task_done(tick_task *t)
{
    t->awaited = tick_future_unref(t->awaited);
    tick_loop *loop = t->future.loop;
    loop->stats.tasks_alive--;
    tick_link_remove(&t->step.scope_link);
    tick__scope_leave(t->step.scope, TICK_SCOPE_TASK);
}

void tick__task_finish(tick_task *t, intptr_t value, int err)
{
    assert(!tick_future_done(&t->future));
    tick_scope *s = t->step.scope;
    if (err < 0 && err != -ECANCELED && s->on_failed)
        s->on_failed(s, t, err);
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
 * handle still waits on it (tick__future_leave: a shared future, such as
 * an Event's, must survive one waiter leaving). Otherwise the next await
 * delivers it.
 * The task completes itself, so the hook always returns false.
 */
static bool task_cancel(tick_future *f)
{
    tick_task *t = tick_container_of(f, tick_task, future);
    if (t->cancelling < UINT16_MAX)
        t->cancelling++;
    if (t->flags & TASK_AWAIT_CUT)
        return false;              /* already waking with -ECANCELED */
    tick_future *a = t->awaited;
    if (a && !tick_future_done(a) && tick_link_linked(&t->step.link)) {
        t->flags |= TASK_AWAIT_CUT;
        tick__future_leave(a, &t->step, false);
        tick_call_soon(f->loop, &t->step);
    } else {
        t->flags |= TASK_MUST_CANCEL;
    }
    return false;
}

bool tick_task_cancel(tick_task *t)
{
    return tick_future_cancel(&t->future);
}

unsigned tick_task_cancelling(const tick_task *t) { return t->cancelling; }

unsigned tick_task_uncancel(tick_task *t)
{
    unsigned n = t->cancelling;
    if (n > 0)
        t->cancelling = (uint16_t)--n;
    if (n == 0)
        t->flags &= ~TASK_MUST_CANCEL;
    return n;
}

tick_task *tick_task_current(tick_loop *loop) { return loop->current_task; }
