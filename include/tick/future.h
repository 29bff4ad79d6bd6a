/*
 * tick/future.h — a result that arrives later.
 *
 * A Future is pending, then done (a result, or an error) or cancelled
 * (error -ECANCELED). Completing a future moves its done-callbacks (plain
 * tick_handles) to the loop's ready queue; they are never called inline.
 * Adding a callback to a future that is already complete schedules it at
 * once (seed Future v3).
 *
 *     static void on_done(tick_handle *h)
 *     {
 *         struct req *r = tick_container_of(h, struct req, done);
 *         printf("%ld\n", (long)tick_future_result(r->fut));
 *         tick_future_unref(r->fut);
 *     }
 *     ...
 *     tick_future *f;
 *     if (tick_future_new(loop, &f) < 0)
 *         return -ENOMEM;
 *     r->fut = f;
 *     tick_handle_init(&r->done, "req done", on_done);
 *     tick_future_add_done_callback(f, &r->done);
 *     tick_future_set_result(f, 42);       // on_done runs next tick
 *
 * Ownership: futures are reference counted. tick_future_new() and every
 * function returning a new future give the caller one reference; release
 * it with tick_future_unref(). The engine holds its own reference while an
 * fd, timer, thread or child process can still resolve a future, so
 * dropping yours early is safe. A done-callback handle is owned by the
 * caller and must stay alive until it has run or has been removed; the
 * caller must also keep a reference on the future while its callback is
 * registered. Loop-thread-only.
 *
 * Embedding: a future may be embedded in a larger object (a Task is one):
 * initialise it with tick_future_init() and give ops->free to release the
 * object when the last reference goes.
 */
#ifndef TICK_FUTURE_H
#define TICK_FUTURE_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_future tick_future;

enum tick_future_state {
    TICK_FUTURE_PENDING = 0,
    TICK_FUTURE_DONE = 1,      /* result or error set */
    TICK_FUTURE_CANCELLED = 2, /* error is -ECANCELED */
};

typedef struct tick_future_ops {
    const char *kind;                  /* "future", "task", "sleep", ... */
    /* Release the object; called when the last reference goes. NULL: the
     * memory is not the engine's to free (a static or stack future). */
    void (*free)(tick_future *f);
    /*
     * Called by tick_future_cancel() on a pending future before it is
     * marked cancelled. Return true to let the cancel complete now; false
     * if the implementation will complete the future later itself (a Task
     * delivers -ECANCELED to its body first). NULL = always complete.
     */
    bool (*cancel)(tick_future *f);
} tick_future_ops;

struct tick_future {
    /* private — use the accessors */
    tick_link waiters;           /* done-callback handles, in order */
    tick_loop *loop;
    union { intptr_t i; void *p; } result;
    const tick_future_ops *ops;
    int32_t err;                 /* 0 or -errno once done */
    uint32_t refs : 24;
    uint32_t state : 2;          /* 6 bits left: an embedding type keeps
                                  * its own state in its own fields */
};

/* Heap future with one reference for the caller. 0 or -ENOMEM. */
TICK_API int tick_future_new(tick_loop *loop, tick_future **out);
/* Initialise an embedded future with one reference. ops may be NULL. */
TICK_API void tick_future_init(tick_future *f, tick_loop *loop,
                               const tick_future_ops *ops);

TICK_API tick_future *tick_future_ref(tick_future *f);
/* Drop one reference; frees through ops->free at zero. Returns NULL so
 * that `f = tick_future_unref(f);` clears the caller's pointer. */
TICK_API tick_future *tick_future_unref(tick_future *f);

static inline bool tick_future_done(const tick_future *f)
{ return f->state != TICK_FUTURE_PENDING; }
static inline bool tick_future_cancelled(const tick_future *f)
{ return f->state == TICK_FUTURE_CANCELLED; }
static inline tick_loop *tick_future_loop(const tick_future *f)
{ return f->loop; }
/* 0 on success, the error (< 0) otherwise; 0 while pending. */
static inline int tick_future_error(const tick_future *f) { return f->err; }
static inline intptr_t tick_future_result(const tick_future *f)
{ return f->result.i; }
static inline void *tick_future_result_ptr(const tick_future *f)
{ return f->result.p; }

/* Complete a pending future. -EINVAL if it is already complete (the caller
 * lost a race it should not have: asyncio's InvalidStateError). */
TICK_API int tick_future_set_result(tick_future *f, intptr_t value);
TICK_API int tick_future_set_result_ptr(tick_future *f, void *value);
/* err must be < 0; -ECANCELED marks the future cancelled. */
TICK_API int tick_future_set_error(tick_future *f, int err);

/* Cancel a pending future. Returns true if it is cancelled now or will be
 * (a Task), false if it was already complete. */
TICK_API bool tick_future_cancel(tick_future *f);

/* Register h (initialised, not scheduled) to be scheduled when f completes;
 * scheduled at once if f is complete. Handles run in registration order. */
TICK_API void tick_future_add_done_callback(tick_future *f, tick_handle *h);
/* Unregister h. Returns true if it was waiting on f. */
TICK_API bool tick_future_remove_done_callback(tick_future *f, tick_handle *h);

#ifdef __cplusplus
}
#endif
#endif /* TICK_FUTURE_H */
