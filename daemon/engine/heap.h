/*
 * heap.h — the timer heap's hot path, inline: arming a timer is the most
 * frequent heap operation, and keeping the comparison, the sift-up and the
 * push in the caller's translation unit saves three calls per insert
 * (callgrind: 91 -> 62 instructions per tick_timer_start_at). The rest
 * (removal, growth) is in heap.c. See heap.c for why 4-ary with slots.
 */
#ifndef TICK_ENGINE_HEAP_H
#define TICK_ENGINE_HEAP_H

#include "internal.h"

static inline bool tick__slot_less(const tick__heap_slot *a, const tick__heap_slot *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->timer->seq < b->timer->seq;
}

static inline void tick__slot_put(tick__heap *h, uint32_t i, tick__heap_slot s)
{
    h->slots[i] = s;
    s.timer->heap_index = i;
}

static inline void tick__heap_sift_up(tick__heap *h, uint32_t i, tick__heap_slot s)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 4;
        if (!tick__slot_less(&s, &h->slots[parent]))
            break;
        tick__slot_put(h, i, h->slots[parent]);
        i = parent;
    }
    tick__slot_put(h, i, s);
}

/* Double the slot array; 0 or -ENOMEM. */
TICK_HIDDEN int tick__heap_grow(tick__heap *h);

static inline int tick__heap_push(tick__heap *h, tick_timer *t)
{
    if (__builtin_expect(h->len == h->cap, 0)) {
        int rc = tick__heap_grow(h);
        if (rc < 0)
            return rc;
    }
    tick__heap_sift_up(h, h->len++, (tick__heap_slot){ t->deadline, t });
    return 0;
}

#endif
