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
#include "heap.h"

static void sift_down(tick__heap *h, uint32_t i, tick__heap_slot s)
{
    for (;;) {
        uint32_t first = 4 * i + 1;
        if (first >= h->len)
            break;
        uint32_t end = first + 4 < h->len ? first + 4 : h->len;
        uint32_t min = first;
        for (uint32_t c = first + 1; c < end; c++)
            if (tick__slot_less(&h->slots[c], &h->slots[min]))
                min = c;
        if (!tick__slot_less(&h->slots[min], &s))
            break;
        tick__slot_put(h, i, h->slots[min]);
        i = min;
    }
    tick__slot_put(h, i, s);
}

int tick__heap_grow(tick__heap *h)
{
    if (h->cap >= UINT32_MAX / 2)
        return -ENOMEM;
    uint32_t cap = h->cap ? h->cap * 2 : 64;
    tick__heap_slot *slots = tick__realloc(h->slots, (size_t)cap * sizeof *slots);
    if (!slots)
        return -ENOMEM;
    h->slots = slots;
    h->cap = cap;
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
    if (i > 0 && tick__slot_less(&last, &h->slots[(i - 1) / 4]))
        tick__heap_sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

void tick__heap_free(tick__heap *h)
{
    free(h->slots);
    *h = (tick__heap){ 0 };
}
