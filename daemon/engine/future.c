/*
 * future.c — pending -> done | cancelled, with done-callbacks.
 *
 * Done-callbacks are the caller's handles, linked through their own ready-
 * queue link; completing a future splices that list onto the loop's ready
 * queue in O(1), in registration order. Nothing is called inline.
 */
#include <stdlib.h>
#include "internal.h"

#define REFS_MAX ((1u << 24) - 1)

static void heap_future_free(tick_future *f) { free(f); }
static const tick_future_ops heap_future_ops = { "future", heap_future_free, NULL };

void tick_future_init(tick_future *f, tick_loop *loop, const tick_future_ops *ops)
{
    *f = (tick_future){ .loop = loop, .ops = ops, .refs = 1 };
    tick_link_init(&f->waiters);
}

int tick_future_new(tick_loop *loop, tick_future **out)
{
    if (!loop || !out)
        return -EINVAL;
    tick_future *f = tick__malloc(sizeof *f);
    if (!f)
        return -ENOMEM;
    tick_future_init(f, loop, &heap_future_ops);
    *out = f;
    return 0;
}

tick_future *tick__future_done_new(tick_loop *loop, int err, intptr_t value)
{
    tick_future *f;
    if (tick_future_new(loop, &f) < 0)
        return NULL;
    if (err < 0)
        tick_future_set_error(f, err);
    else
        tick_future_set_result(f, value);
    return f;
}

tick_future *tick_future_ref(tick_future *f)
{
    assert(f->refs > 0 && f->refs < REFS_MAX);
    f->refs++;
    return f;
}

tick_future *tick_future_unref(tick_future *f)
{
    if (!f)
        return NULL;
    assert(f->refs > 0);
    if (--f->refs == 0) {
        /* a registered callback must hold its own reference */
        assert(tick_list_empty(&f->waiters));
        if (f->ops && f->ops->free)
            f->ops->free(f);
    }
    return NULL;
}

static void complete(tick_future *f, unsigned state, int err)
{
    f->state = state;
    f->err = err;
    /* plain handles leave their scope's parked list as they become
     * queued (tasks stay members of theirs for life) */
    for (tick_link *l = f->waiters.next; l != &f->waiters; l = l->next)
        tick__handle_unpark(tick_container_of(l, tick_handle, link));
    tick_list_splice(&f->loop->ready, &f->waiters);
}

int tick_future_set_result(tick_future *f, intptr_t value)
{
    if (!f || tick_future_done(f))
        return -EINVAL;
    f->result.i = value;
    complete(f, TICK_FUTURE_DONE, 0);
    return 0;
}

int tick_future_set_result_ptr(tick_future *f, void *value)
{
    if (!f || tick_future_done(f))
        return -EINVAL;
    f->result.p = value;
    complete(f, TICK_FUTURE_DONE, 0);
    return 0;
}

int tick_future_set_error(tick_future *f, int err)
{
    if (!f || err >= 0 || tick_future_done(f))
        return -EINVAL;
    complete(f, err == -ECANCELED ? TICK_FUTURE_CANCELLED : TICK_FUTURE_DONE, err);
    return 0;
}

bool tick_future_cancel(tick_future *f)
{
    if (!f || tick_future_done(f))
        return false;
    if (f->ops && f->ops->cancel && !f->ops->cancel(f))
        return true;              /* the implementation completes it later */
    if (!tick_future_done(f))     /* the hook may have completed it */
        complete(f, TICK_FUTURE_CANCELLED, -ECANCELED);
    return true;
}

/* A plain handle parked in a pending future's list joins its scope's
 * parked list, so a cancel of the scope finds it wherever it waits. */
void tick_future_add_done_callback(tick_future *f, tick_handle *h)
{
    assert(!tick_link_linked(&h->link) && "handle already scheduled");
    if (tick_future_done(f)) {
        tick_call_soon(f->loop, h);
        return;
    }
    tick__handle_claim(f->loop, h);
    tick_list_append(&f->waiters, &h->link);
    if (!tick__handle_is_task(h)) {
        tick_list_append(&h->scope->parked, &h->scope_link);
        tick__scope_join(h->scope, TICK_SCOPE_HANDLE);
    }
}

/* The engine's own waiters (gather, first_of, timeout): not parked in a
 * scope, since they run engine code only and go with the future that
 * owns them; a cancel must not cut them out from under that future.
 * They belong to the root scope, like the scopes' own bookkeeping
 * handles: once queued, a handle of the current scope would be dropped
 * by that scope's cancel (a queued handle is unscheduled), and a gather
 * awaited from another scope would never learn its child finished. */
void tick__future_add_waiter(tick_future *f, tick_handle *h)
{
    assert(!tick_link_linked(&h->link) && "handle already scheduled");
    if (!h->scope)
        h->scope = &f->loop->root;
    if (tick_future_done(f)) {
        tick_call_soon(f->loop, h);
        return;
    }
    tick_list_append(&f->waiters, &h->link);
}

bool tick_future_remove_done_callback(tick_future *f, tick_handle *h)
{
    if (tick_future_done(f) || !tick_link_linked(&h->link))
        return false;
    tick_link_remove(&h->link);
    tick__handle_unpark(h);
    return true;
}

bool tick__future_leave(tick_future *f, tick_handle *h, bool watch)
{
    assert(!tick_future_done(f));
    bool mine = h && tick_link_linked(&h->link);
    bool sole = mine ? f->waiters.next == &h->link && f->waiters.prev == &h->link
                     : tick_list_empty(&f->waiters);
    if (mine && !(watch && sole)) {
        tick_link_remove(&h->link);
        tick__handle_unpark(h);
    }
    if (!sole)
        return false;
    tick_future_cancel(f);
    return true;
}
