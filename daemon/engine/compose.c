/*
 * compose.c — gather (all), first-of (any) and timeout.
 *
 * Each combinator is one allocation: its future, plus per child a
 * reference and an embedded done-callback handle. Nothing is allocated
 * per tick, and a combinator that completes releases its children at once.
 *
 * Who may free what: a combinator holds no reference on itself. While it
 * is pending, its handles sit in its children's waiter lists (or in the
 * ready queue once a child completed); its ops->free therefore detaches
 * them before freeing, so dropping the last reference early is safe.
 *
 * Cancelling a child is the sole-waiter cancel (tick__future_leave): a
 * child on which another handle still waits is shared (an Event's future,
 * say) and is only left, never cancelled, so other waiters do not see our
 * cancellation.
 */
#include <stdlib.h>
#include "internal.h"
#include "tick/compose.h"

/* ---- helpers ---- */

/* Complete dst with src's outcome (src done). The result is a union, so
 * copying .i carries a pointer result too. */
static void complete_like(tick_future *dst, const tick_future *src)
{
    if (src->err < 0)
        tick_future_set_error(dst, src->err);
    else
        tick_future_set_result(dst, src->result.i);
}

/* Stop waiting on f with h: h is either in f's waiter list (f pending) or
 * already in the ready queue (f done, h not yet run). */
static void detach(tick_future *f, tick_handle *h)
{
    if (!tick_future_remove_done_callback(f, h))
        tick_handle_cancel(h);
}

/* ---- gather and first-of: one block with a slot per child ---- */

struct combo;

struct combo_slot {
    tick_handle done;           /* our done-callback on child */
    tick_future *child;         /* our reference; NULL once released */
    struct combo *owner;
};

struct combo {
    tick_future future;
    uint32_t n;
    uint32_t pending;           /* slots whose callback is still to run */
    unsigned flags;
    bool cancelling;
    struct combo_slot slot[];
};

static void slot_release(struct combo_slot *s)
{
    if (!s->child)
        return;
    detach(s->child, &s->done);
    s->child = tick_future_unref(s->child);
}

static void combo_release_all(struct combo *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        slot_release(&c->slot[i]);
    c->pending = 0;
}

static void combo_free(tick_future *f)
{
    struct combo *c = tick_container_of(f, struct combo, future);
    combo_release_all(c);
    free(c);
}

/*
 * Cancel hook shared by gather and first-of: cancel every child still
 * pending, and complete once their callbacks have all come in. Children
 * shared with other waiters are only left, and no longer waited for.
 */
static bool combo_cancel(tick_future *f)
{
    struct combo *c = tick_container_of(f, struct combo, future);
    if (c->cancelling)
        return false;
    c->cancelling = true;
    for (uint32_t i = 0; i < c->n; i++) {
        struct combo_slot *s = &c->slot[i];
        /* a done child's callback is already queued: just let it run */
        if (!s->child || tick_future_done(s->child))
            continue;
        if (!tick__future_leave(s->child, &s->done, true)) {
            s->child = tick_future_unref(s->child);
            c->pending--;
        }
    }
    if (c->pending > 0)
        return false;              /* completed by the last callback */
    combo_release_all(c);
    return true;
}

static struct combo *combo_new(tick_loop *loop, size_t n, const tick_future_ops *ops,
                               unsigned flags)
{
    if (n > (SIZE_MAX - sizeof(struct combo)) / sizeof(struct combo_slot))
        return NULL;
    struct combo *c = tick__malloc(sizeof *c + n * sizeof c->slot[0]);
    if (!c)
        return NULL;
    tick_future_init(&c->future, loop, ops);
    c->n = (uint32_t)n;
    c->pending = 0;
    c->flags = flags;
    c->cancelling = false;
    return c;
}

/* Arguments shared by both: -EINVAL or 0. */
static int check_children(tick_loop *loop, tick_future *const *futs, size_t n)
{
    if (n > UINT32_MAX || (n && !futs))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!futs[i] || futs[i]->loop != loop)
            return -EINVAL;
    return 0;
}

/* ---- gather ---- */

static const tick_future_ops gather_ops = { "gather", combo_free, combo_cancel };

/* 0 or the error of the first failed child in argument order. */
static int first_error(tick_future *const *futs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (futs[i]->err < 0)
            return futs[i]->err;
    return 0;
}

static void gather_finish(struct combo *c)
{
    int err = -ECANCELED;
    if (!c->cancelling) {
        err = 0;
        for (uint32_t i = 0; i < c->n && !err; i++)
            err = c->slot[i].child->err;
    }
    combo_release_all(c);
    if (err < 0)
        tick_future_set_error(&c->future, err);
    else
        tick_future_set_result(&c->future, 0);
}

static void gather_child_done(tick_handle *h)
{
    struct combo_slot *s = tick_container_of(h, struct combo_slot, done);
    struct combo *c = s->owner;
    assert(c->pending > 0 && !tick_future_done(&c->future));
    if (--c->pending == 0)
        gather_finish(c);
}

tick_future *tick_gather(tick_loop *loop, tick_future *const *futs, size_t n)
{
    if (!loop)
        return NULL;
    if (check_children(loop, futs, n) < 0)
        return tick__future_done_new(loop, -EINVAL, 0);
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += !tick_future_done(futs[i]);
    if (pending == 0)              /* nothing to wait for: no block needed */
        return tick__future_done_new(loop, first_error(futs, n), 0);

    struct combo *c = combo_new(loop, n, &gather_ops, 0);
    if (!c)
        return NULL;
    for (uint32_t i = 0; i < c->n; i++) {
        struct combo_slot *s = &c->slot[i];
        tick_handle_init(&s->done, "gather", gather_child_done);
        s->owner = c;
        s->child = tick_future_ref(futs[i]);
        if (!tick_future_done(s->child)) {
            tick__future_add_waiter(s->child, &s->done);
            c->pending++;
        }
    }
    return &c->future;
}

/* ---- first-of ---- */

static const tick_future_ops first_ops = { "first_of", combo_free, combo_cancel };

/* Winner found: let the others go (cancelling them if asked; shared ones
 * are only left), then report the index. */
static void first_finish(struct combo *c, uint32_t winner)
{
    for (uint32_t i = 0; i < c->n; i++) {
        struct combo_slot *s = &c->slot[i];
        if (!s->child)
            continue;
        tick_future *child = s->child;
        if ((c->flags & TICK_FIRST_CANCEL_OTHERS) && i != winner && !tick_future_done(child))
            tick__future_leave(child, &s->done, false);
        else
            detach(child, &s->done);
        s->child = tick_future_unref(child);
    }
    c->pending = 0;
    tick_future_set_result(&c->future, winner);
}

static void first_child_done(tick_handle *h)
{
    struct combo_slot *s = tick_container_of(h, struct combo_slot, done);
    struct combo *c = s->owner;
    assert(c->pending > 0 && !tick_future_done(&c->future));
    c->pending--;
    if (!c->cancelling) {
        first_finish(c, (uint32_t)(s - c->slot));
    } else if (c->pending == 0) {
        combo_release_all(c);
        tick_future_set_error(&c->future, -ECANCELED);
    }
}

tick_future *tick_first_of(tick_loop *loop, tick_future *const *futs, size_t n,
                           unsigned flags)
{
    if (!loop)
        return NULL;
    if (n == 0 || check_children(loop, futs, n) < 0 || (flags & ~TICK_FIRST_CANCEL_OTHERS))
        return tick__future_done_new(loop, -EINVAL, 0);
    for (size_t i = 0; i < n; i++) {
        if (!tick_future_done(futs[i]))
            continue;
        /* a winner already: no block needed */
        tick_future *f = tick__future_done_new(loop, 0, (intptr_t)i);
        if (f && (flags & TICK_FIRST_CANCEL_OTHERS))
            for (size_t j = 0; j < n; j++)
                if (j != i && !tick_future_done(futs[j]))
                    tick__future_leave(futs[j], NULL, false);
        return f;
    }

    struct combo *c = combo_new(loop, n, &first_ops, flags);
    if (!c)
        return NULL;
    for (uint32_t i = 0; i < c->n; i++) {
        struct combo_slot *s = &c->slot[i];
        tick_handle_init(&s->done, "first_of", first_child_done);
        s->owner = c;
        s->child = tick_future_ref(futs[i]);
        tick__future_add_waiter(s->child, &s->done);
        c->pending++;
    }
    return &c->future;
}

/* ---- timeout ---- */

enum timeout_state {
    TO_RUNNING,      /* waiting for inner or the deadline */
    TO_EXPIRED,      /* deadline cancelled inner; waiting for it to finish */
    TO_CANCELLED,    /* we were cancelled; waiting for inner to finish */
};

struct timeout {
    tick_future future;
    tick_future *inner;          /* our reference; NULL once released */
    tick_handle on_inner;        /* our done-callback on inner */
    tick_timer timer;
    enum timeout_state state;
};

static void timeout_release(struct timeout *to)
{
    tick_timer_stop(to->future.loop, &to->timer);
    if (to->inner) {
        detach(to->inner, &to->on_inner);
        to->inner = tick_future_unref(to->inner);
    }
}

static void timeout_free(tick_future *f)
{
    struct timeout *to = tick_container_of(f, struct timeout, future);
    timeout_release(to);
    free(to);
}

/* Outer cancellation: it wins over the deadline (asyncio: a cancel request
 * that is not the timeout's own propagates as CancelledError). */
static bool timeout_cancel(tick_future *f)
{
    struct timeout *to = tick_container_of(f, struct timeout, future);
    tick_timer_stop(f->loop, &to->timer);
    if (to->state == TO_CANCELLED)
        return false;
    enum timeout_state was = to->state;
    to->state = TO_CANCELLED;
    if (!to->inner)
        return true;
    if (tick_future_done(to->inner))
        return false;              /* its callback is queued and reports */
    if (was == TO_EXPIRED)
        return false;              /* inner already cancelled by us */
    if (tick__future_leave(to->inner, &to->on_inner, true))
        return false;              /* wait for inner's cleanup */
    to->inner = tick_future_unref(to->inner);
    return true;                   /* shared inner left alone: done now */
}

static const tick_future_ops timeout_ops = { "timeout", timeout_free, timeout_cancel };

static void timeout_inner_done(tick_handle *h)
{
    struct timeout *to = tick_container_of(h, struct timeout, on_inner);
    assert(!tick_future_done(&to->future));
    tick_future *inner = to->inner;
    to->inner = NULL;
    tick_timer_stop(to->future.loop, &to->timer);
    if (to->state == TO_CANCELLED)
        tick_future_set_error(&to->future, -ECANCELED);
    else if (to->state == TO_EXPIRED)
        tick_future_set_error(&to->future, -ETIMEDOUT);   /* final: #116720 */
    else
        complete_like(&to->future, inner);
    tick_future_unref(inner);
}

static void timeout_expired(tick_handle *h)
{
    struct timeout *to = tick_container_of(h, struct timeout, timer.handle);
    if (to->state != TO_RUNNING || !to->inner)
        return;
    if (tick_future_done(to->inner))
        return;                    /* inner made it: its callback is queued */
    to->state = TO_EXPIRED;
    if (tick__future_leave(to->inner, &to->on_inner, true))
        return;                    /* report once inner has finished */
    /* inner is shared with other waiters: leave it to them */
    to->inner = tick_future_unref(to->inner);
    tick_future_set_error(&to->future, -ETIMEDOUT);
}

/* A timeout that cannot be made (-ENOMEM) consumes inner all the same,
 * and ends as a timeout cancelled at once would: inner is cancelled unless
 * another handle waits on it (the sole-waiter rule). Dropped uncancelled,
 * a sleep nobody can reach any more would hold its timer, and keep the
 * loop from closing, until it fired. */
static void drop_inner(tick_future *inner)
{
    if (!tick_future_done(inner))
        tick__future_leave(inner, NULL, false);
    tick_future_unref(inner);
}

tick_future *tick_timeout_at(tick_loop *loop, tick_future *inner, uint64_t deadline)
{
    if (!inner)
        return NULL;               /* -ENOMEM upstream: pass it on */
    if (!loop || inner->loop != loop) {
        tick_future_unref(inner);
        return loop ? tick__future_done_new(loop, -EINVAL, 0) : NULL;
    }
    if (tick_future_done(inner)) {
        tick_future *f = tick__future_done_new(loop, inner->err, inner->result.i);
        tick_future_unref(inner);
        return f;
    }
    struct timeout *to = tick__malloc(sizeof *to);
    if (!to) {
        drop_inner(inner);
        return NULL;
    }
    tick_future_init(&to->future, loop, &timeout_ops);
    to->inner = inner;
    to->state = TO_RUNNING;
    tick_handle_init(&to->on_inner, "timeout", timeout_inner_done);
    tick_timer_init(&to->timer, "timeout", timeout_expired);
    /* the deadline is the timeout future's, not the caller scope's: a
     * cancel of that scope must not stop it for a waiter elsewhere (the
     * future itself is cancelled through its waiters) */
    to->timer.handle.scope = &loop->root;
    if (tick_timer_start_at(loop, &to->timer, deadline) < 0) {
        drop_inner(inner);
        free(to);
        return NULL;
    }
    tick__future_add_waiter(inner, &to->on_inner);
    return &to->future;
}

tick_future *tick_timeout(tick_loop *loop, tick_future *inner, uint64_t ns)
{
    if (!loop) {
        tick_future_unref(inner);
        return NULL;
    }
    uint64_t deadline = tick_now(loop) + ns;
    if (deadline < ns)             /* saturate instead of wrapping */
        deadline = UINT64_MAX;
    return tick_timeout_at(loop, inner, deadline);
}
