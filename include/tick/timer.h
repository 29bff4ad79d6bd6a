/*
 * tick/timer.h — timers, call_later and sleep.
 *
 * Deadlines are CLOCK_MONOTONIC nanoseconds. A timer fires in the first
 * tick whose clock reading is >= its deadline (never earlier), and its
 * handle joins that tick's ready queue. Timers with equal deadlines fire in
 * the order they were started. The timers live in a 4-ary min-heap of
 * (deadline, timer) pairs: start, stop and fire are O(log n), one million
 * armed timers cost ~72 bytes each including the heap slot.
 *
 *     struct beat { tick_timer t; uint64_t period; };
 *     static void beat_fire(tick_handle *h)
 *     {
 *         struct beat *b = tick_container_of(h, struct beat, t.handle);
 *         puts("beat");
 *         // periodic: on the grid, missed beats skipped (see below)
 *         tick_timer_repeat(tick_loop_current(), &b->t, b->period);
 *     }
 *     ...
 *     tick_timer_init(&b->t, "beat", beat_fire);
 *     tick_call_later(loop, &b->t, b->period);
 *
 * Ownership: the timer is the caller's (embedded). Stop it before freeing.
 * tick_sleep() returns a new future (one reference for the caller, which
 * TICK_AWAIT consumes); cancelling it disarms its timer. Loop-thread-only.
 */
#ifndef TICK_TIMER_H
#define TICK_TIMER_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_timer {
    tick_handle handle;     /* scheduled when the timer fires */
    /* read-only */
    uint64_t deadline;      /* absolute, ns */
    /* private */
    uint64_t seq;           /* start order: FIFO among equal deadlines */
    uint32_t heap_index;    /* UINT32_MAX when not armed */
    uint32_t flags;         /* engine use */
} tick_timer;

#define tick_timer_init(t, name, fn)                                        \
    tick_timer_init_class((t), (name), __extension__({                      \
        static const tick_handle_class tick__cls_ = { (fn), #fn };          \
        &tick__cls_; }))
TICK_API void tick_timer_init_class(tick_timer *t, const char *name,
                                    const tick_handle_class *cls);

/* Arm t to fire delay_ns after tick_now() (re-arms an armed timer).
 * 0 or -ENOMEM (heap growth). */
TICK_API int tick_call_later(tick_loop *loop, tick_timer *t, uint64_t delay_ns);
/* Arm t for an absolute monotonic deadline. */
TICK_API int tick_timer_start_at(tick_loop *loop, tick_timer *t, uint64_t deadline);
/* Disarm t, and unschedule its handle if it fired but has not run yet.
 * Returns true if it was armed or scheduled. */
TICK_API bool tick_timer_stop(tick_loop *loop, tick_timer *t);
static inline bool tick_timer_armed(const tick_timer *t)
{ return t->heap_index != UINT32_MAX; }

/*
 * Periodic timers, one policy. Called from t's callback (t has just
 * fired), arm t for its next beat: t->deadline + period, so beats stay on
 * the grid of the first deadline and never drift with the time the loop
 * spent elsewhere (never now + period). When the loop was held up for a
 * whole period or more, the beats it missed are skipped, not fired back
 * to back: t is armed for the first grid point after tick_now(). Returns
 * the number of beats skipped (0 when on time), or -EINVAL (period 0) or
 * -ENOMEM (timer heap growth; t is then not armed). Arm the first beat
 * with tick_call_later() or tick_timer_start_at(). Deadlines saturate at
 * UINT64_MAX ("never") instead of wrapping.
 */
TICK_API int64_t tick_timer_repeat(tick_loop *loop, tick_timer *t, uint64_t period);

/* A future that completes with result 0 after ns (NULL on -ENOMEM). */
TICK_API tick_future *tick_sleep(tick_loop *loop, uint64_t ns);

#ifdef __cplusplus
}
#endif
#endif /* TICK_TIMER_H */
