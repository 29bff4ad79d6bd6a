/*
 * tick/compose.h — futures made of futures: gather (all), first-of (any)
 * and timeout.
 *
 *     struct fetch {
 *         tick_task task;
 *         tick_future *parts[2];       // kept: read them after the gather
 *     };
 *
 *     static int fetch_step(tick_task *t)
 *     {
 *         struct fetch *f = tick_container_of(t, struct fetch, task);
 *         tick_loop *loop = tick_task_loop(t);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         f->parts[0] = tick_sleep(loop, 10 * TICK_MSEC);
 *         f->parts[1] = tick_sleep(loop, 20 * TICK_MSEC);
 *         // both, but give up after one second (the sleeps get cancelled)
 *         TICK_AWAIT(t, tick_timeout(loop, tick_gather(loop, f->parts, 2),
 *                                    TICK_SEC), rc);
 *         tick_future_unref(f->parts[0]);
 *         tick_future_unref(f->parts[1]);
 *         if (rc < 0)
 *             TICK_FAIL(t, rc);         // -ETIMEDOUT, -ECANCELED, -ENOMEM...
 *         TICK_RETURN(t, 0);
 *         TICK_END(t);
 *     }
 *
 * (A NULL part is fine here: tick_gather() then gives a future failed with
 * -EINVAL, and tick_future_unref(NULL) is a no-op.)
 *
 * Errors: every function returns a new future (one reference for the
 * caller, which TICK_AWAIT consumes) or NULL when memory ran out (TICK_AWAIT
 * turns NULL into -ENOMEM). Bad arguments (no children, a NULL child, a
 * child of another loop) give a future already failed with -EINVAL, so
 * there is one error channel.
 *
 * Children and references: tick_gather() and tick_first_of() do NOT take
 * the caller's references: they add their own (released as soon as the
 * combinator completes), and the caller keeps its own to read each child's
 * result afterwards. tick_timeout() DOES consume one reference to the
 * inner future, like TICK_AWAIT, because its own result is the inner
 * future's: pass tick_future_ref(f) to keep yours. A NULL inner future
 * (a failed allocation upstream) makes tick_timeout() return NULL, so the
 * -ENOMEM reaches the await. When the timeout itself cannot be allocated
 * (NULL too), inner is consumed as a timeout cancelled at once: it is
 * cancelled unless another handle waits on it, so a tick_sleep() inside
 * is not left holding its timer. (gather and first_of leave their
 * children alone when they fail: the caller still holds them, and
 * cancels what it no longer wants.)
 *
 * Cancellation: cancelling a combinator cancels every child still pending
 * (or the inner future), then completes with -ECANCELED once they have all
 * completed, as asyncio's gather and wait_for do: their cleanup is over
 * before the combinator reports. (A task awaiting the combinator is woken
 * with -ECANCELED at once by the task rules; only the combinator future
 * itself waits.) A child that some other handle also waits on (a shared
 * future, such as an Event's) is never cancelled by a combinator, only
 * left — the same rule as a task's cancellation (task.h) — so the other
 * waiters are not disturbed. A combinator whose last reference goes while
 * it is still pending detaches from its children without cancelling them.
 *
 * Memory: one allocation per combinator (the future, and for each child a
 * reference and an embedded done-callback handle); nothing per tick.
 * Loop-thread-only.
 */
#ifndef TICK_COMPOSE_H
#define TICK_COMPOSE_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * All: completes when every one of the n futures has completed (n may be
 * 0: done at once). Result 0, or the error of the FIRST child IN ARGUMENT
 * ORDER that failed (not the first to fail in time), so the outcome is
 * deterministic. A child that was cancelled counts as failed with
 * -ECANCELED, which the gather then reports as cancelled. The gather does
 * not stop early on an error and does not cancel the other children: read
 * each child through your own reference. Duplicate children are allowed.
 */
TICK_API tick_future *tick_gather(tick_loop *loop, tick_future *const *futs,
                                  size_t n);

/* tick_first_of() flags */
enum {
    /* When the first child completes, cancel the others (and do not wait
     * for them: they finish on their own). */
    TICK_FIRST_CANCEL_OTHERS = 1u << 0,
};

/*
 * Any: completes as soon as one of the n (>= 1) futures completes, with
 * result = the index of that future in futs (error 0, whatever that child's
 * own outcome: read it through your reference). Children already complete
 * at the call win at once, lowest index first; among children completing
 * later the first whose done-callback runs wins. The others keep running
 * unless flags has TICK_FIRST_CANCEL_OTHERS.
 */
TICK_API tick_future *tick_first_of(tick_loop *loop, tick_future *const *futs,
                                    size_t n, unsigned flags);

/*
 * Timeout: completes with inner's outcome (result, pointer result or
 * error, copied) if inner completes before ns have passed (counted from
 * tick_now()). Otherwise, when the deadline is reached, inner is cancelled
 * and the timeout completes with -ETIMEDOUT once inner has completed.
 *
 * -ETIMEDOUT is final once the deadline cancelled inner, whatever inner
 * then does: a task that swallows its -ECANCELED and returns normally, or
 * fails otherwise, still yields -ETIMEDOUT here (the deadline is never
 * lost, CPython #116720). Keep a reference to inner (tick_future_ref) if
 * you want its late result anyway. This differs from asyncio.timeout(),
 * which lets a body that swallowed the cancellation return its value; in
 * C the caller cannot tell "finished the work" from "gave up quietly".
 * An inner future that completed before the deadline handler ran (same
 * tick) wins: its outcome is reported.
 *
 * The timeout waits for inner to finish its cleanup, so the total time may
 * exceed ns by that much; an inner task that ignores cancellation forever
 * keeps the timeout pending, as with asyncio.wait_for(). Cancelling the
 * timeout itself (an outer cancellation) wins over the deadline:
 * -ECANCELED. Consumes one reference to inner (see above).
 */
TICK_API tick_future *tick_timeout(tick_loop *loop, tick_future *inner,
                                   uint64_t ns);
/* Same with an absolute CLOCK_MONOTONIC deadline in ns. */
TICK_API tick_future *tick_timeout_at(tick_loop *loop, tick_future *inner,
                                      uint64_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* TICK_COMPOSE_H */
