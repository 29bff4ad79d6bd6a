/*
 * tick/loop.h — the Loop and its Handles.
 *
 * A Loop runs tick by tick. One tick:
 *   1. Poll: epoll_wait, timeout 0 if handles are ready or the loop is
 *      stopping, else until the earliest timer (forever if none). The clock
 *      (CLOCK_MONOTONIC) is read once per tick: tick_now().
 *   2. Resolve: ready fds resolve the futures waiting on them; due timers
 *      fire. Resolving only *schedules* callbacks.
 *   3. Run: exactly the handles that are ready now, FIFO. A handle scheduled
 *      while they run goes to the next tick.
 *
 * A Handle is a named callback you embed in your own object:
 *
 *     struct job { tick_handle h; int n; };
 *     static void job_run(tick_handle *h)
 *     {
 *         struct job *j = tick_container_of(h, struct job, h);
 *         if (--j->n > 0)
 *             tick_call_soon(tick_loop_current(), &j->h);  // next tick
 *     }
 *     ...
 *     struct job j = { .n = 3 };
 *     tick_handle_init(&j.h, "job", job_run);
 *     tick_call_soon(loop, &j.h);
 *     tick_loop_run(loop);   // returns after tick_loop_stop()
 *
 * Ownership: the loop never owns a handle. The owner must keep it alive
 * while it is scheduled (tick_handle_scheduled()) and must cancel it before
 * freeing it. A handle may free its owner from inside its own callback: the
 * loop does not touch a handle after calling it.
 * Threads: everything here is loop-thread-only except tick_call_threadsafe()
 * and tick_loop_wakeup().
 */
#ifndef TICK_LOOP_H
#define TICK_LOOP_H

#include <stdio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_loop tick_loop;
typedef struct tick_handle tick_handle;
typedef void (*tick_handle_fn)(tick_handle *h);

/* What a handle calls, and the callback's name for the trace line. Usually
 * made for you by tick_handle_init(); static storage, never freed. */
typedef struct tick_handle_class {
    tick_handle_fn fn;
    const char *fn_name;
} tick_handle_class;

struct tick_scope;

struct tick_handle {
    /* private: ready-queue or done-callback list membership */
    tick_link link;
    const tick_handle_class *cls;
    /* read-only: shown in the trace and slow-handle counters; not owned */
    const char *name;
    /* private: the owning scope (scope.h), fixed at the first arm, and the
     * membership in it: a task's life, a timer while armed, a plain
     * handle while parked in a done-callback list */
    struct tick_scope *scope;
    tick_link scope_link;
};

/* Initialise h to call fn (a function name, not a variable) under name.
 * The trace shows <Handle name='name' callback='fn'>. The handle joins
 * the scope current when it is first armed (scope.h). */
#define tick_handle_init(h, name, fn)                                       \
    tick_handle_init_class((h), (name), __extension__({                     \
        static const tick_handle_class tick__cls_ = { (fn), #fn };          \
        &tick__cls_; }))

TICK_API void tick_handle_init_class(tick_handle *h, const char *name,
                                     const tick_handle_class *cls);

/* True while h sits in a ready queue, the before-poll list or a future's
 * done-callback list. */
static inline bool tick_handle_scheduled(const tick_handle *h)
{
    return tick_link_linked(&h->link);
}

/*
 * Create a loop (epoll fd, eventfd doorbell). The first loop created on a
 * thread becomes that thread's current loop. Returns 0 or -errno.
 * The caller owns *out and releases it with tick_loop_close().
 */
TICK_API int tick_loop_new(tick_loop **out);

/* Close and free the loop. -EBUSY (and nothing freed) while handles are
 * scheduled (tick_call_threadsafe() ones included), timers armed, fds
 * watched, tasks alive or scopes open (scope.h), and when called from inside the loop's own run
 * or tick. */
TICK_API int tick_loop_close(tick_loop *loop);

/* The calling thread's current loop, or NULL. */
TICK_API tick_loop *tick_loop_current(void);
TICK_API void tick_loop_set_current(tick_loop *loop);

/*
 * Schedule h to run in the next tick's run phase (or this tick's, when
 * called from poll/resolve code before the snapshot). No allocation.
 * Scheduling an already-scheduled handle is a no-op; scheduling a handle
 * that waits in a done-callback list is a caller bug (not detected: it
 * is a no-op too, and the handle stays in that list).
 */
TICK_API void tick_call_soon(tick_loop *loop, tick_handle *h);

/*
 * Schedule h to run once at the end of this tick: after the run phase's
 * handles, before the loop polls again (redis's beforeSleep, libuv's
 * prepare handles). For work that many handles of one tick produce and
 * that is cheaper done once for all of them: one write() of a log that
 * every connection appended to, then every connection's replies. No
 * allocation; arming an armed handle is a no-op. Called outside the run
 * phase (setup code, the resolve phase), h runs at the end of the coming
 * tick; called from a before-poll handle, at the end of the next tick,
 * whose poll then does not block. h belongs to the current scope like
 * any handle: cancelling the scope unschedules it, tick_handle_cancel()
 * too. It must not block, as no handle may.
 */
TICK_API void tick_call_before_poll(tick_loop *loop, tick_handle *h);

/* Unschedule h if it is scheduled (ready queue, before-poll list or
 * done-callback list).
 * Returns true if it was. O(1). */
TICK_API bool tick_handle_cancel(tick_handle *h);

/*
 * Any thread: run h on the loop's thread in a coming tick. h must not be
 * touched by the caller until it has run. Cross-thread wake-ups coalesce
 * (one eventfd write per batch), so this is a locked queue plus doorbell.
 * Returns 0, or -EBUSY if h is already queued.
 */
TICK_API int tick_call_threadsafe(tick_loop *loop, tick_handle *h);

/* Any thread: make a blocked epoll_wait return. */
TICK_API void tick_loop_wakeup(tick_loop *loop);

/* Run ticks until tick_loop_stop(). Returns 0, or -errno on a fatal
 * epoll failure. */
TICK_API int tick_loop_run(tick_loop *loop);

/* Run exactly one tick. Blocks in poll only when nothing is ready and
 * block is true. Returns the number of handles run, or -errno. */
TICK_API int tick_loop_run_once(tick_loop *loop, bool block);

/*
 * Run non-blocking ticks until the loop is idle: a tick that polled no
 * event, ran no handle and left nothing ready, so everything that could
 * happen without waiting (cancelled futures settling, finished tasks
 * freeing, closes completing) has happened. Timers not yet due are not
 * waited for. Returns 0 once idle, -EBUSY if still busy after max_ticks
 * (a handle that reschedules itself forever; 0 = no bound), -EINVAL when
 * called from inside a tick, or -errno on a fatal epoll failure. Replaces
 * "run a few ticks to let things settle" before tick_loop_close().
 */
TICK_API int tick_loop_run_until_idle(tick_loop *loop, unsigned max_ticks);

/* Declared in future.h; repeated so this header stands alone. */
struct tick_future;

/* Run ticks until f is complete. Returns f's error (0 on success), or
 * -EDEADLK when nothing left in the loop could ever complete f (no ready
 * handles, no armed timers, no fd/thread/child sources active). */
TICK_API int tick_loop_run_until_complete(tick_loop *loop, struct tick_future *f);

/* Ask tick_loop_run() to return after the current tick. */
TICK_API void tick_loop_stop(tick_loop *loop);
TICK_API bool tick_loop_stopping(const tick_loop *loop);

/* The monotonic time (ns) cached at the start of the current tick. */
TICK_API uint64_t tick_now(const tick_loop *loop);
/* Re-read the clock now (for long handles measuring themselves). */
TICK_API uint64_t tick_now_update(tick_loop *loop);

/* The tick number, starting at 1 for the first tick run. */
TICK_API uint64_t tick_loop_tick(const tick_loop *loop);

/* Print "Loop step N [<Handle name='..' callback='..'>, ...]" at the start
 * of every run phase to out (NULL turns tracing off). */
TICK_API void tick_loop_set_trace(tick_loop *loop, FILE *out);

/*
 * Counters, read-only snapshots for observability. Handles slower than the
 * slow threshold are counted (and reported through the slow hook).
 */
typedef struct tick_loop_stats {
    uint64_t ticks;           /* ticks run */
    uint64_t handles_run;     /* callbacks called */
    uint64_t tasks_alive;     /* tasks started and not finished */
    uint64_t fds_watched;     /* fds registered with epoll */
    uint64_t timers_armed;    /* timers in the heap */
    uint64_t longest_tick_ns; /* longest run phase seen */
    uint64_t slow_handles;    /* handles over the slow threshold */
} tick_loop_stats;

TICK_API void tick_loop_get_stats(const tick_loop *loop, tick_loop_stats *out);

/* Report handles whose callback ran longer than threshold_ns (0 = off):
 * fn(user, handle_name, duration_ns) is called after such a handle.
 * handle_name is a copy taken before the callback ran (which may have
 * freed the handle's owner and its name), truncated to
 * TICK_SLOW_NAME_MAX - 1 bytes and valid only during the call. */
#define TICK_SLOW_NAME_MAX 64
typedef void (*tick_slow_fn)(void *user, const char *name, uint64_t ns);
TICK_API void tick_loop_set_slow_handler(tick_loop *loop, uint64_t threshold_ns,
                                         tick_slow_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif /* TICK_LOOP_H */
