/*
 * sync.c — Event, bounded Queue, Semaphore (and Lock, in sync.h).
 *
 * Invariants that make FIFO fairness and "a cancelled waiter takes
 * nothing" hold by construction:
 *   - an item or permit is handed straight to the first waiter when it
 *     becomes available (the waiter is unlinked, then its future
 *     completed), so nobody can barge in between the wake-up and the run;
 *   - a waiter that is cancelled (or whose last reference goes) only
 *     unlinks itself: it never held anything to give back;
 *   - queue: getters wait only while the queue is empty, putters only while
 *     it is full; semaphore: waiters wait only while value is 0.
 * The Event has no per-waiter state at all: every waiter of a generation
 * awaits one shared future (the task rules keep it alive when one waiter
 * is cancelled), so a million waiting tasks cost no allocation here.
 */
#include <stdlib.h>
#include "internal.h"
#include "tick/sync.h"

/* ---- a blocked get / put / acquire ---- */

struct waiter {
    tick_future future;
    tick_link link;              /* in the primitive's wait list while pending */
    void *item;                  /* put: the item to enqueue */
    tick__source src;            /* a member of its scope while in line */
};

static void waiter_free(tick_future *f)
{
    struct waiter *w = tick_container_of(f, struct waiter, future);
    tick_link_remove(&w->link);  /* dropped while waiting: leave the line */
    tick__source_done(&w->src);
    free(w);
}

static bool waiter_cancel(tick_future *f)
{
    struct waiter *w = tick_container_of(f, struct waiter, future);
    tick_link_remove(&w->link);
    tick__source_done(&w->src);
    return true;
}

/* Join the line (and the current scope). */
static void waiter_enqueue(tick_link *list, struct waiter *w)
{
    tick_list_append(list, &w->link);
    tick__source_arm(w->future.loop, &w->src, TICK_SCOPE_WAIT, w->future.ops->kind, NULL);
}

/* A scope cancel: leave the line with -ECANCELED (a put's item is not
 * enqueued, a permit not taken). */
void tick__wait_scope_cancel(tick__source *src)
{
    struct waiter *w = tick_container_of(src, struct waiter, src);
    tick_future_cancel(&w->future);
}

static const tick_future_ops get_ops = { "queue_get", waiter_free, waiter_cancel };
static const tick_future_ops put_ops = { "queue_put", waiter_free, waiter_cancel };
static const tick_future_ops acquire_ops = { "acquire", waiter_free, waiter_cancel };

static struct waiter *waiter_new(tick_loop *loop, const tick_future_ops *ops)
{
    struct waiter *w = tick__malloc(sizeof *w);
    if (!w)
        return NULL;
    tick_future_init(&w->future, loop, ops);
    tick_link_init(&w->link);
    w->item = NULL;
    w->src = (tick__source){ .scope = NULL };
    tick_link_init(&w->src.link);
    return w;
}

static struct waiter *waiter_pop(tick_link *list)
{
    if (tick_list_empty(list))
        return NULL;
    struct waiter *w = tick_container_of(list->next, struct waiter, link);
    tick_link_remove(&w->link);
    tick__source_done(&w->src);
    return w;
}

static void cancel_all(tick_link *list)
{
    struct waiter *w;
    while ((w = waiter_pop(list)))
        tick_future_set_error(&w->future, -ECANCELED);
}


/* ---- Event ---- */

void tick_event_init(tick_event *ev, tick_loop *loop)
{
    *ev = (tick_event){ .loop = loop };
}

void tick_event_destroy(tick_event *ev)
{
    if (!ev)
        return;
    if (ev->fut && !tick_future_done(ev->fut))
        tick_future_cancel(ev->fut);
    ev->fut = tick_future_unref(ev->fut);
    ev->set = false;
}

void tick_event_set(tick_event *ev)
{
    if (ev->set)
        return;
    ev->set = true;
    if (!ev->fut)
        return;
    if (tick_future_done(ev->fut))          /* cancelled: its waiters left */
        ev->fut = tick_future_unref(ev->fut);
    else
        tick_future_set_result(ev->fut, 0);
}

void tick_event_clear(tick_event *ev)
{
    if (!ev->set)
        return;
    ev->set = false;
    /* the set generation's waiters are already woken; they keep their
     * references. Next wait starts a new generation. */
    ev->fut = tick_future_unref(ev->fut);
}

tick_future *tick_event_wait(tick_event *ev)
{
    /* cancelled because its last waiter left: start a fresh generation */
    if (ev->fut && tick_future_cancelled(ev->fut))
        ev->fut = tick_future_unref(ev->fut);
    if (!ev->fut) {
        if (ev->set)
            ev->fut = tick__future_done_new(ev->loop, 0, 0);
        else if (tick_future_new(ev->loop, &ev->fut) < 0)
            ev->fut = NULL;
        if (!ev->fut)
            return NULL;
    }
    return tick_future_ref(ev->fut);
}

/* ---- Queue ---- */

int tick_queue_init(tick_queue *q, tick_loop *loop, size_t capacity)
{
    if (!q || !loop || capacity == 0 || capacity > SIZE_MAX / sizeof(void *))
        return -EINVAL;
    *q = (tick_queue){ .loop = loop, .cap = capacity };
    tick_link_init(&q->getters);
    tick_link_init(&q->putters);
    q->items = tick__malloc(capacity * sizeof(void *));
    if (!q->items)
        return -ENOMEM;
    /* done0: a completed future with result 0, shared by every fast-path
     * put (or acquire, below) of one primitive so those never allocate */
    q->done0 = tick__future_done_new(loop, 0, 0);
    if (!q->done0) {
        free(q->items);
        q->items = NULL;
        return -ENOMEM;
    }
    return 0;
}

void tick_queue_destroy(tick_queue *q)
{
    if (!q || !q->items)
        return;
    cancel_all(&q->getters);
    cancel_all(&q->putters);
    free(q->items);
    q->items = NULL;
    q->len = q->head = 0;
    q->done0 = tick_future_unref(q->done0);
}

static void ring_push(tick_queue *q, void *item)
{
    assert(q->len < q->cap);
    size_t i = q->head + q->len;
    if (i >= q->cap)
        i -= q->cap;
    q->items[i] = item;
    q->len++;
}

static void *ring_pop(tick_queue *q)
{
    assert(q->len > 0);
    void *item = q->items[q->head];
    if (++q->head == q->cap)
        q->head = 0;
    q->len--;
    return item;
}

/* Room was made: the first blocked put goes in now, in its turn. */
static void admit_putter(tick_queue *q)
{
    struct waiter *w = waiter_pop(&q->putters);
    if (!w)
        return;
    ring_push(q, w->item);
    tick_future_set_result(&w->future, 0);
}

int tick_queue_try_put(tick_queue *q, void *item)
{
    if (!q || !q->items)
        return -EINVAL;            /* not initialised, or destroyed */
    struct waiter *w = waiter_pop(&q->getters);
    if (w) {                       /* queue empty and someone waits: hand over */
        tick_future_set_result_ptr(&w->future, item);
        return 0;
    }
    if (q->len == q->cap)
        return -EAGAIN;
    ring_push(q, item);
    return 0;
}

int tick_queue_try_get(tick_queue *q, void **item)
{
    if (!q || !q->items || !item)
        return -EINVAL;
    if (q->len == 0)
        return -EAGAIN;
    *item = ring_pop(q);
    admit_putter(q);
    return 0;
}

tick_future *tick_queue_put(tick_queue *q, void *item)
{
    int rc = tick_queue_try_put(q, item);
    if (rc == 0)
        return tick_future_ref(q->done0);
    if (rc == -EINVAL)
        return q ? tick__future_done_new(q->loop, -EINVAL, 0) : NULL;
    struct waiter *w = waiter_new(q->loop, &put_ops);
    if (!w)
        return NULL;
    w->item = item;
    waiter_enqueue(&q->putters, w);
    return &w->future;
}

tick_future *tick_queue_get(tick_queue *q)
{
    if (!q || !q->items)
        return q ? tick__future_done_new(q->loop, -EINVAL, 0) : NULL;
    /* allocate first: a failed get must not have taken an item */
    struct waiter *w = waiter_new(q->loop, &get_ops);
    if (!w)
        return NULL;
    void *item;
    if (tick_queue_try_get(q, &item) == 0)
        tick_future_set_result_ptr(&w->future, item);
    else
        waiter_enqueue(&q->getters, w);
    return &w->future;
}

/* ---- Semaphore ---- */

int tick_semaphore_init(tick_semaphore *s, tick_loop *loop, size_t value)
{
    if (!s || !loop)
        return -EINVAL;
    *s = (tick_semaphore){ .loop = loop, .value = value };
    tick_link_init(&s->waiters);
    s->done0 = tick__future_done_new(loop, 0, 0);
    return s->done0 ? 0 : -ENOMEM;
}

void tick_semaphore_destroy(tick_semaphore *s)
{
    if (!s || !s->done0)
        return;
    cancel_all(&s->waiters);
    s->done0 = tick_future_unref(s->done0);
}

bool tick_semaphore_try_acquire(tick_semaphore *s)
{
    if (!s || !s->done0 || s->value == 0)             /* also true whenever someone waits */
        return false;
    s->value--;
    return true;
}

tick_future *tick_semaphore_acquire(tick_semaphore *s)
{
    if (!s || !s->done0)
        return s ? tick__future_done_new(s->loop, -EINVAL, 0) : NULL;   /* destroyed */
    if (tick_semaphore_try_acquire(s))
        return tick_future_ref(s->done0);
    struct waiter *w = waiter_new(s->loop, &acquire_ops);
    if (!w)
        return NULL;
    waiter_enqueue(&s->waiters, w);
    return &w->future;
}

void tick_semaphore_release(tick_semaphore *s)
{
    if (!s || !s->done0)
        return;
    struct waiter *w = waiter_pop(&s->waiters);
    if (w)
        tick_future_set_result(&w->future, 0);   /* the permit is its now */
    else
        s->value++;
}
