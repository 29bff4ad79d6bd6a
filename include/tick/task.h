/*
 * tick/task.h — Tasks: futures that drive stackless coroutines.
 *
 * A Task is a Future (its first member) whose result is produced by a step
 * function written with the TICK_ macros below. One step runs the body from
 * its resume point until it
 *   - awaits a pending future: the task registers its step handle as a
 *     done-callback and is suspended — it is in no ready queue and costs
 *     nothing per tick until the future completes;
 *   - yields: rescheduled for the next tick;
 *   - returns a value or fails with an error: the task future completes.
 * Awaiting a future that is already done continues without suspending.
 * Awaiting another task works, because a task is a future.
 *
 *     struct greeter {
 *         tick_task task;          // first or anywhere: use container_of
 *         int i;                   // state that survives an await
 *     };
 *
 *     static int greeter_step(tick_task *t)
 *     {
 *         struct greeter *g = tick_container_of(t, struct greeter, task);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         for (g->i = 0; g->i < 3; g->i++) {
 *             TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 100 * TICK_MSEC), rc);
 *             if (rc < 0)
 *                 TICK_FAIL(t, rc);            // -ECANCELED when cancelled
 *             printf("hello %d\n", g->i);
 *         }
 *         TICK_RETURN(t, g->i);
 *         TICK_END(t);
 *     }
 *
 *     static const tick_task_class greeter_class = {
 *         .step = greeter_step, .free = NULL,   // memory is the caller's
 *     };
 *     ...
 *     tick_task_start(loop, &g->task, "greeter", &greeter_class);
 *
 * THE RULES OF A STACKLESS COROUTINE (read these):
 *   1. Local variables of the step function do NOT survive TICK_AWAIT or
 *      TICK_YIELD: the function returns and is called again. Keep anything
 *      needed after an await in the struct that embeds the task (g->i
 *      above). Locals are fine for values used between two awaits, and for
 *      the await's own output (rc above: it is assigned after resuming).
 *   2. Only the step function itself can await. A helper function cannot
 *      suspend its caller; to wait inside a helper, make it a task of its
 *      own and await that task.
 *   3. `t` must be a plain variable (it is evaluated more than once);
 *      the future expression and the output are evaluated once.
 *   4. switch statements are fine inside a body (the resume points are
 *      GCC/Clang label addresses, not case labels), and two macros may
 *      share one line.
 *   5. Every body starts with TICK_BEGIN(t) and ends with TICK_END(t).
 *
 * Awaiting: TICK_AWAIT(t, f, out) CONSUMES one reference to f, so a call
 * that returns a new future can be awaited directly. To await a future
 * you keep (another task, say), pass tick_future_ref(f). After resuming,
 * out is f's error (< 0) if it failed or was cancelled, else its integer
 * result; a NULL f (allocation failure) gives -ENOMEM. The finished future
 * stays readable through tick_task_awaited(t) until the next await or the
 * end of the task (for pointer results). Awaiting anywhere but in the
 * task's own running step (a helper called from another task, a plain
 * callback) does not suspend: out is -EINVAL, logged once per task.
 *
 * Cancellation: tick_task_cancel() (or tick_future_cancel() on the task)
 * cancels the future the task awaits and makes that await return
 * -ECANCELED in the body, which can clean up and then TICK_FAIL(t,
 * -ECANCELED) or carry on. A task cancelled while not suspended sees
 * -ECANCELED from its next await that would suspend (an await of a future
 * that is already done still returns its value, so nothing acquired is
 * lost). Cancellations are counted
 * (tick_task_cancelling()), so a body that swallows one can tell a
 * surrounding timeout still wants out. TICK_YIELD is not a delivery
 * point (it has no output): a body that loops on yields alone must test
 * tick_task_cancelling(t) itself, or it can never be cancelled.
 *
 * Ownership: starting a task gives the engine its own reference, dropped
 * when the task finishes; the caller keeps the reference that
 * tick_task_start() leaves (refs start at 1) and drops it with
 * tick_future_unref(&t->future) when done with it. When the last
 * reference goes, cls->free(t) releases the memory (if non-NULL).
 * Loop-thread-only.
 */
#ifndef TICK_TASK_H
#define TICK_TASK_H

#include "future.h"
#include "scope.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_task tick_task;

/* What a step function returns (the macros return these for you). */
enum tick_task_status {
    TICK_TASK_SUSPENDED = 0,
    TICK_TASK_YIELDED = 1,
    TICK_TASK_FINISHED = 2,
};

typedef struct tick_task_class {
    int (*step)(tick_task *t);
    void (*free)(tick_task *t);  /* NULL: the memory is the caller's */
} tick_task_class;

struct tick_task {
    tick_future future;          /* a Task is a Future: keep it first */
    /* private */
    tick_handle step;            /* runs the body; also the await callback */
    const tick_task_class *cls;
    tick_future *awaited;        /* last awaited future (one reference) */
    /* The resume point: the label's offset from cls->step, plus one (0
     * before the start). A 32-bit offset instead of a label address
     * leaves room in the 128 bytes for the task's own fields. */
    int32_t resume;
    uint16_t cancelling;         /* requests not undone, saturating */
    uint8_t flags;               /* engine use (task.c) */
    uint8_t spare_;
    /* The owning scope and the task's membership in it are step.scope and
     * step.scope_link: a task costs 128 bytes. */
};

/*
 * Start t: schedule its first step for the next tick. t is initialised
 * here (its name is shown in the trace; not copied). The task joins the
 * loop's current scope (scope.h), and its steps run with that scope
 * current, so whatever it creates is the scope's too. A task started in a
 * cancelled scope is cancelled at once.
 * Returns 0; -EINVAL for bad args; -EBUSY if t is alive (started and not
 * finished), or finished but still referenced or awaited by anyone but
 * the caller (a finished embedded task may be restarted only when the
 * caller holds the last reference). Misuse is logged once per task; with
 * TICK_ABORT_ON_MISUSE=1 in the environment it aborts instead (debugging).
 */
TICK_API int tick_task_start(tick_loop *loop, tick_task *t, const char *name,
                             const tick_task_class *cls);

/* Request cancellation (see above). Returns false if already finished. */
TICK_API bool tick_task_cancel(tick_task *t);
/* How many cancellations were requested and not undone. */
TICK_API unsigned tick_task_cancelling(const tick_task *t);
/* Undo one cancellation request (a body that handled it); returns the
 * remaining count. */
TICK_API unsigned tick_task_uncancel(tick_task *t);

static inline tick_loop *tick_task_loop(const tick_task *t) { return t->future.loop; }
static inline struct tick_scope *tick_task_scope(const tick_task *t) { return t->step.scope; }
static inline const char *tick_task_name(const tick_task *t) { return t->step.name; }
static inline tick_future *tick_task_future(tick_task *t) { return &t->future; }
/* The future the last await finished on (still referenced), or NULL. */
static inline tick_future *tick_task_awaited(const tick_task *t) { return t->awaited; }
/* The task whose step is running now, or NULL. */
TICK_API tick_task *tick_task_current(tick_loop *loop);

/* ---- coroutine macros (see the rules above) ---- */

#define TICK__CAT2(a, b) a##b
#define TICK__CAT(a, b) TICK__CAT2(a, b)
#define TICK__LABEL(n) TICK__CAT(tick__resume_, n)

/* A resume point is a label address kept as its offset from the task's
 * step function (t->cls->step, in the same object file as the label), so
 * it fits in 32 bits; the address is rebuilt for the goto. The end
 * label's address is taken so that a body without any await still has
 * one (clang refuses an indirect goto otherwise). */
#define TICK__SAVE_RESUME(t, n)                                             \
    (t)->resume = (int32_t)((intptr_t)(uintptr_t)&&TICK__LABEL(n) -         \
                            (intptr_t)(uintptr_t)(t)->cls->step) + 1;

#define TICK_BEGIN(t)                                                       \
    do {                                                                    \
        if ((t)->resume)                                                    \
            goto *(void *)((uintptr_t)(t)->cls->step +                      \
                           (uintptr_t)(intptr_t)((t)->resume - 1));         \
        (void)&&tick__end_;                                                 \
    } while (0)

#define TICK_AWAIT(t, f, out) TICK__AWAIT(t, f, out, __COUNTER__)
#define TICK__AWAIT(t, f, out, n)                                           \
    do {                                                                    \
        if (tick__task_await((t), (f))) {                                   \
            TICK__SAVE_RESUME(t, n)                                         \
            return TICK_TASK_SUSPENDED;                                     \
        }                                                                   \
    TICK__LABEL(n):                                                         \
        (out) = tick__task_await_value(t);                                  \
    } while (0)

#define TICK_YIELD(t) TICK__YIELD(t, __COUNTER__)
#define TICK__YIELD(t, n)                                                   \
    do {                                                                    \
        TICK__SAVE_RESUME(t, n)                                             \
        return TICK_TASK_YIELDED;                                           \
    TICK__LABEL(n):;                                                        \
    } while (0)

#define TICK_RETURN(t, v)                                                   \
    do {                                                                    \
        tick__task_finish((t), (intptr_t)(v), 0);                           \
        return TICK_TASK_FINISHED;                                          \
    } while (0)

#define TICK_RETURN_PTR(t, p)                                               \
    do {                                                                    \
        tick__task_finish_ptr((t), (p));                                    \
        return TICK_TASK_FINISHED;                                          \
    } while (0)

#define TICK_FAIL(t, err)                                                   \
    do {                                                                    \
        tick__task_finish((t), 0, (err));                                   \
        return TICK_TASK_FINISHED;                                          \
    } while (0)

#define TICK_END(t)                                                         \
    tick__end_: __attribute__((unused))                                     \
    TICK_RETURN(t, 0)

/* Used by the macros; not for direct use. */
TICK_API bool tick__task_await(tick_task *t, tick_future *f);
TICK_API intptr_t tick__task_await_value(tick_task *t);
TICK_API void tick__task_finish(tick_task *t, intptr_t value, int err);
TICK_API void tick__task_finish_ptr(tick_task *t, void *value);

#ifdef __cplusplus
}
#endif
#endif /* TICK_TASK_H */
