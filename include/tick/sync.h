/*
 * tick/sync.h — Event, bounded Queue, Semaphore and Lock for tasks of one
 * loop (asyncio.Event/Queue/Semaphore/Lock). Not thread-safe: to feed a
 * queue from another thread, hop onto the loop with tick_call_threadsafe().
 *
 * Each waiting operation returns a new future (one reference for the
 * caller, consumed by TICK_AWAIT; NULL = -ENOMEM, which TICK_AWAIT turns
 * into -ENOMEM). Waiters are served strictly FIFO and an item or permit is
 * handed straight to the first waiter, so a newcomer cannot barge in.
 *
 * Event — many tasks wait until it is set:
 *
 *     tick_event ready;                        // in some long-lived struct
 *     tick_event_init(&ready, loop);
 *     ...   in a task body:
 *     TICK_AWAIT(t, tick_event_wait(&ready), rc);   // 0, or -ECANCELED
 *     ...   elsewhere:
 *     tick_event_set(&ready);                  // wakes every waiter
 *     ...
 *     tick_event_destroy(&ready);
 *     ...
 *
 * Queue — a bounded FIFO of void * items, producers wait while it is full:
 *
 *     struct consumer { tick_task task; tick_queue *q; };
 *     static int consumer_step(tick_task *t)
 *     {
 *         struct consumer *c = tick_container_of(t, struct consumer, task);
 *         void *item;
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         for (;;) {
 *             // fast path without allocation, then wait
 *             if (tick_queue_try_get(c->q, &item) < 0) {
 *                 TICK_AWAIT(t, tick_queue_get(c->q), rc);
 *                 if (rc < 0)
 *                     TICK_FAIL(t, rc);
 *                 item = tick_future_result_ptr(tick_task_awaited(t));
 *             }
 *             if (!item)                       // NULL: our "stop" message
 *                 break;
 *             free(item);                      // items are the consumer's now
 *         }
 *         TICK_END(t);
 *     }
 *     ...   producer, in another task:
 *     TICK_AWAIT(t, tick_queue_put(q, item), rc);    // waits while full
 *     ...
 *
 * Semaphore and Lock — at most N (1) holders:
 *
 *     TICK_AWAIT(t, tick_lock_acquire(&s->lock), rc);
 *     if (rc < 0)
 *         TICK_FAIL(t, rc);                    // not acquired
 *     ...   critical section, may await ...
 *     tick_lock_release(&s->lock);
 *
 * Cancellation: cancelling a waiting future (or the task awaiting it)
 * removes the waiter; it never takes an item or a permit, and the next
 * waiter is served instead. A cancelled put leaves the item with the
 * caller. A task cancelled while it was not suspended (from another
 * handle in the same tick, say) gets -ECANCELED only from its next await
 * that would suspend: a get or acquire that succeeds at once returns its
 * item or permit as usual, so nothing acquired is ever lost.
 *
 * Ownership: the primitives are embedded in the caller's memory; init them
 * on the loop thread, destroy them before freeing that memory. Destroying
 * one wakes its remaining waiters with -ECANCELED. Futures obtained from a
 * primitive stay valid after it is destroyed (they are reference counted
 * on their own). Calls on a destroyed queue or semaphore are refused:
 * -EINVAL from the try_ calls, a future failed with -EINVAL from the
 * others. Memory: an Event allocates one future per generation
 * (set/clear cycle), however many tasks wait on it: a waiting task costs
 * nothing beyond its own struct, so a million tasks can wait on one
 * Event. A blocked get, put or acquire allocates one small future (80
 * bytes); the try_ calls never allocate, and the fast paths of put and
 * acquire return a shared completed future instead of allocating.
 * Loop-thread-only.
 */
#ifndef TICK_SYNC_H
#define TICK_SYNC_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Event ---- */

typedef struct tick_event {
    /* private */
    tick_loop *loop;
    tick_future *fut;    /* the current generation's shared future, or NULL */
    bool set;
} tick_event;

/* Initialise ev, clear. Never fails (allocation is lazy). */
TICK_API void tick_event_init(tick_event *ev, tick_loop *loop);
/* Wake the remaining waiters with -ECANCELED and drop the event's
 * reference. ev may be re-initialised afterwards. */
TICK_API void tick_event_destroy(tick_event *ev);
/* Set: every waiter wakes (result 0) and later waits complete at once,
 * until tick_event_clear(). Setting a set event does nothing. */
TICK_API void tick_event_set(tick_event *ev);
/* Clear: later waits block until the next set. Waiters already woken by a
 * set stay woken. */
TICK_API void tick_event_clear(tick_event *ev);
static inline bool tick_event_is_set(const tick_event *ev) { return ev->set; }
/*
 * A future that completes (result 0) when ev is set: already complete if
 * it is set now. All waiters of one generation share a single future, so
 * do NOT cancel it yourself (that would wake every waiter with
 * -ECANCELED): cancel the task that awaits it, which only detaches that
 * one task (task.h), or drop the future. When the last waiter of a
 * generation leaves by cancellation, the next wait starts a fresh one.
 * NULL on -ENOMEM.
 */
TICK_API tick_future *tick_event_wait(tick_event *ev);

/* ---- Queue ---- */

typedef struct tick_queue {
    /* private */
    tick_loop *loop;
    void **items;        /* ring buffer of cap slots */
    size_t cap, head, len;
    tick_link getters;   /* blocked gets, FIFO (only while empty) */
    tick_link putters;   /* blocked puts, FIFO (only while full) */
    tick_future *done0;  /* shared completed future (result 0) */
} tick_queue;

/* capacity >= 1 items. 0, -EINVAL or -ENOMEM. */
TICK_API int tick_queue_init(tick_queue *q, tick_loop *loop, size_t capacity);
/* Wake blocked gets and puts with -ECANCELED, free the buffer. Items
 * still queued are dropped, not freed: drain with tick_queue_try_get()
 * first if they own memory. */
TICK_API void tick_queue_destroy(tick_queue *q);
/* Enqueue without waiting: 0, or -EAGAIN when full. */
TICK_API int tick_queue_try_put(tick_queue *q, void *item);
/* Dequeue without waiting: 0 and *item, or -EAGAIN when empty. */
TICK_API int tick_queue_try_get(tick_queue *q, void **item);
/* A future that completes (result 0) once item is in the queue (at once
 * if there is room). Until then the item is not in the queue; if the put
 * is cancelled it never will be. NULL on -ENOMEM (item not queued). */
TICK_API tick_future *tick_queue_put(tick_queue *q, void *item);
/* A future whose tick_future_result_ptr() is the next item (complete at
 * once if one is queued). TICK_AWAIT's output is then the item as an
 * intptr_t (Linux user-space pointers are never negative, so rc < 0 still
 * means an error); read the pointer with tick_future_result_ptr(
 * tick_task_awaited(t)). The item is taken from the queue only when the
 * future completes, so a cancelled get takes nothing. NULL on -ENOMEM. */
TICK_API tick_future *tick_queue_get(tick_queue *q);
static inline size_t tick_queue_len(const tick_queue *q) { return q->len; }
static inline size_t tick_queue_capacity(const tick_queue *q) { return q->cap; }
static inline bool tick_queue_empty(const tick_queue *q) { return q->len == 0; }
static inline bool tick_queue_full(const tick_queue *q) { return q->len == q->cap; }

/* ---- Semaphore ---- */

typedef struct tick_semaphore {
    /* private */
    tick_loop *loop;
    size_t value;        /* free permits; 0 while anyone waits */
    tick_link waiters;   /* blocked acquires, FIFO */
    tick_future *done0;  /* shared completed future (result 0) */
} tick_semaphore;

/* value = initial permits. 0, -EINVAL or -ENOMEM. */
TICK_API int tick_semaphore_init(tick_semaphore *s, tick_loop *loop, size_t value);
/* Wake blocked acquires with -ECANCELED. */
TICK_API void tick_semaphore_destroy(tick_semaphore *s);
/* A future that completes (result 0) when a permit is ours: at once if
 * one is free and nobody waits. NULL on -ENOMEM. */
TICK_API tick_future *tick_semaphore_acquire(tick_semaphore *s);
/* Take a permit without waiting: true if taken. */
TICK_API bool tick_semaphore_try_acquire(tick_semaphore *s);
/* Give a permit back: to the first waiter if any (it wakes in a coming
 * tick), else to the pool. Not bounded: each release adds a permit. */
TICK_API void tick_semaphore_release(tick_semaphore *s);
static inline size_t tick_semaphore_value(const tick_semaphore *s) { return s->value; }

/* ---- Lock: a semaphore of one permit that refuses a release when free ---- */

typedef struct tick_lock {
    tick_semaphore sem;  /* private */
} tick_lock;

static inline int tick_lock_init(tick_lock *l, tick_loop *loop)
{ return tick_semaphore_init(&l->sem, loop, 1); }
static inline void tick_lock_destroy(tick_lock *l) { tick_semaphore_destroy(&l->sem); }
static inline tick_future *tick_lock_acquire(tick_lock *l)
{ return tick_semaphore_acquire(&l->sem); }
static inline bool tick_lock_try_acquire(tick_lock *l)
{ return tick_semaphore_try_acquire(&l->sem); }
static inline bool tick_lock_locked(const tick_lock *l) { return l->sem.value == 0; }
/* Release: to the first waiter if any. -EPERM if the lock is not held.
 * (The lock does not record its holder: any task may release it.) */
static inline int tick_lock_release(tick_lock *l)
{
    if (!tick_lock_locked(l))
        return -EPERM;
    tick_semaphore_release(&l->sem);
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif /* TICK_SYNC_H */
