/*
 * timer.c — call_later, sleep, and the resolve-phase expiry of timers.
 *
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds and are never rounded
 * toward earlier: the poll timeout is rounded up to the next millisecond,
 * and a timer fires only once the cached clock has reached its deadline.
 */
#include <stdlib.h>
#include "heap.h"

void tick_timer_init_class(tick_timer *t, const char *name, const tick_handle_class *cls)
{
    tick_handle_init_class(&t->handle, name, cls);
    t->deadline = 0;
    t->seq = 0;
    t->heap_index = UINT32_MAX;
    t->flags = 0;
}

void tick__timer_init_resolver(tick_timer *t, const char *name, const tick_handle_class *cls)
{
    tick_timer_init_class(t, name, cls);
    t->flags = TICK__TIMER_RESOLVER;
}

/* A user timer is a member of its scope while it is in the heap;
 * resolver timers are the engine's, owned through the future they
 * resolve. */
static void scope_unlink(tick_timer *t)
{
    if (!(t->flags & TICK__TIMER_RESOLVER)) {
        tick_link_remove(&t->handle.scope_link);
        tick__scope_leave(t->handle.scope, TICK_SCOPE_TIMER);
    }
}

int tick_timer_start_at(tick_loop *loop, tick_timer *t, uint64_t deadline)
{
    if (!loop || !t || !t->handle.cls)
        return -EINVAL;
    bool was_armed = tick_timer_armed(t);
    if (was_armed)
        tick__heap_remove(&loop->timers, t);
    tick_link_remove(&t->handle.link);      /* fired but not run yet */
    t->deadline = deadline;
    t->seq = loop->timer_seq++;
    int rc = tick__heap_push(&loop->timers, t);
    if (rc < 0) {
        if (was_armed)
            scope_unlink(t);
        return rc;
    }
    if (!was_armed && !(t->flags & TICK__TIMER_RESOLVER)) {
        tick__handle_claim(loop, &t->handle);
        tick_list_append(&t->handle.scope->timers, &t->handle.scope_link);
        tick__scope_join(t->handle.scope, TICK_SCOPE_TIMER);
    }
    return 0;
}

int tick_call_later(tick_loop *loop, tick_timer *t, uint64_t delay_ns)
{
    if (!loop)
        return -EINVAL;
    uint64_t deadline = loop->now + delay_ns;
    if (deadline < loop->now)          /* saturate instead of wrapping */
        deadline = UINT64_MAX;
    return tick_timer_start_at(loop, t, deadline);
}

bool tick_timer_stop(tick_loop *loop, tick_timer *t)
{
    bool was = false;
    if (tick_timer_armed(t)) {
        tick__heap_remove(&loop->timers, t);
        scope_unlink(t);
        was = true;
    }
    if (tick_handle_cancel(&t->handle))
        was = true;
    return was;
}

void tick__timers_run(tick_loop *loop)
{
    tick_timer *t;
    while ((t = tick__heap_top(&loop->timers)) && t->deadline <= loop->now) {
        tick__heap_remove(&loop->timers, t);
        if (t->flags & TICK__TIMER_RESOLVER) {
            t->handle.cls->fn(&t->handle);
        } else {
            scope_unlink(t);
            tick_call_soon(loop, &t->handle);
        }
    }
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int64_t tick_timer_repeat(tick_loop *loop, tick_timer *t, uint64_t period)
{
    if (!loop || !t || period == 0)
        return -EINVAL;
    uint64_t next = sat_add(t->deadline, period), skipped = 0;
    if (next <= loop->now) {
        skipped = (loop->now - next) / period + 1;
        next = skipped > (UINT64_MAX - next) / period ? UINT64_MAX
                                                       : next + skipped * period;
    }
    int rc = tick_timer_start_at(loop, t, next);
    return rc < 0 ? rc : (int64_t)skipped;
}

int tick__timers_timeout_ms(const tick_loop *loop)
{
    tick_timer *t = tick__heap_top(&loop->timers);
    if (!t)
        return -1;
    if (t->deadline <= loop->now)
        return 0;
    uint64_t ns = t->deadline - loop->now;
    uint64_t ms = (ns + TICK_MSEC - 1) / TICK_MSEC;   /* round up: never early */
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* ---- sleep: a future completed by a resolver timer ---- */

struct sleep_future {
    tick_future future;
    tick_timer timer;
};

static void sleep_free(tick_future *f)
{
    free(tick_container_of(f, struct sleep_future, future));
}

static bool sleep_cancel(tick_future *f)
{
    struct sleep_future *s = tick_container_of(f, struct sleep_future, future);
    if (tick_timer_stop(f->loop, &s->timer))
        tick_future_unref(f);     /* the engine's reference, held while armed */
    return true;
}

static const tick_future_ops sleep_ops = { "sleep", sleep_free, sleep_cancel };

static void sleep_fire(tick_handle *h)
{
    struct sleep_future *s = tick_container_of(h, struct sleep_future, timer.handle);
    tick_future_set_result(&s->future, 0);
    tick_future_unref(&s->future);
}

static const tick_handle_class sleep_cls = { sleep_fire, "sleep" };

tick_future *tick_sleep(tick_loop *loop, uint64_t ns)
{
    if (!loop)
        return NULL;
    struct sleep_future *s = tick__malloc(sizeof *s);
    if (!s)
        return NULL;
    tick_future_init(&s->future, loop, &sleep_ops);
    tick__timer_init_resolver(&s->timer, "sleep", &sleep_cls);
    if (tick_call_later(loop, &s->timer, ns) < 0) {
        free(s);
        return NULL;
    }
    tick_future_ref(&s->future);   /* the engine's, dropped on fire/cancel */
    return &s->future;
}
