/*
 * heap.c — the timer heap: a 4-ary min-heap of (deadline, timer) slots.
 *
 * Why 4-ary and slots: the deadline is copied into the slot, so sifting
 * compares keys in one contiguous array without touching the timers; a
 * 4-ary heap halves the depth of a binary one and its four children share
 * a cache line or two. Ties on the deadline compare the timers' start
 * sequence, so equal deadlines fire in start order (libuv's start_id).
 */
#include <stdlib.h>
#include "internal.h"

static inline bool slot_less(const tick__heap_slot *a, const tick__heap_slot *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->timer->seq < b->timer->seq;
}

static inline void slot_put(tick__heap *h, uint32_t i, tick__heap_slot s)
{
    h->slots[i] = s;
    s.timer->heap_index = i;
}

static void sift_up(tick__heap *h, uint32_t i, tick__heap_slot s)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 4;
        if (!slot_less(&s, &h->slots[parent]))
            break;
        slot_put(h, i, h->slots[parent]);
        i = parent;
    }
    slot_put(h, i, s);
}

static void sift_down(tick__heap *h, uint32_t i, tick__heap_slot s)
{
    for (;;) {
        uint32_t first = 4 * i + 1;
        if (first >= h->len)
            break;
        uint32_t end = first + 4 < h->len ? first + 4 : h->len;
        uint32_t min = first;
        for (uint32_t c = first + 1; c < end; c++)
            if (slot_less(&h->slots[c], &h->slots[min]))
                min = c;
        if (!slot_less(&h->slots[min], &s))
            break;
        slot_put(h, i, h->slots[min]);
        i = min;
    }
    slot_put(h, i, s);
}

int tick__heap_push(tick__heap *h, tick_timer *t)
{
    if (h->len == h->cap) {
        if (h->cap >= UINT32_MAX / 2)
            return -ENOMEM;
        uint32_t cap = h->cap ? h->cap * 2 : 64;
        tick__heap_slot *slots = tick__realloc(h->slots, (size_t)cap * sizeof *slots);
        if (!slots)
            return -ENOMEM;
        h->slots = slots;
        h->cap = cap;
    }
    sift_up(h, h->len++, (tick__heap_slot){ t->deadline, t });
    return 0;
}

void tick__heap_remove(tick__heap *h, tick_timer *t)
{
    uint32_t i = t->heap_index;
    assert(i < h->len && h->slots[i].timer == t);
    t->heap_index = UINT32_MAX;
    tick__heap_slot last = h->slots[--h->len];
    if (i == h->len)
        return;
    if (i > 0 && slot_less(&last, &h->slots[(i - 1) / 4]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

void tick__heap_free(tick__heap *h)
{
    free(h->slots);
    *h = (tick__heap){ 0 };
}
