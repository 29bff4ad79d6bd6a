/*
 * bufpool.c — the loop's free list of stream buffers (bufpool.h).
 *
 * A free buffer holds its own list link in its first bytes, so the pool
 * needs no memory of its own beyond one small head, made on first use.
 */
#include <stdlib.h>

#include "bufpool.h"
#include "sources.h"

struct tick__bufs {
    tick_link free;
    unsigned nfree;
};

void *tick__buf_get(tick_loop *loop)
{
    struct tick__bufs *p = loop->bufs;

    if (p && p->nfree) {
        /* LIFO: the buffer put back last is still in the cache; taking
         * the oldest walked all 256 (4 MiB) and missed on every one */
        tick_link *l = p->free.prev;
        tick_link_remove(l);
        p->nfree--;
        return l;
    }
    return tick__malloc(TICK__BUF_SIZE);
}

void tick__buf_put(tick_loop *loop, void *b)
{
    struct tick__bufs *p = loop->bufs;

    if (!b)
        return;
    if (!p) {
        p = loop->bufs = tick__malloc(sizeof *p);
        if (p) {
            tick_link_init(&p->free);
            p->nfree = 0;
        }
    }
    if (!p || p->nfree >= TICK__BUFS_KEEP) {
        free(b);
        return;
    }
    tick_link *l = b;
    tick_list_append(&p->free, l);
    p->nfree++;
}

unsigned tick__bufs_free(const tick_loop *loop)
{
    return loop->bufs ? loop->bufs->nfree : 0;
}

void tick__bufs_shutdown(tick_loop *loop)
{
    struct tick__bufs *p = loop->bufs;

    if (!p)
        return;
    while (!tick_list_empty(&p->free)) {
        tick_link *l = p->free.next;
        tick_link_remove(l);
        free(l);
    }
    free(p);
    loop->bufs = NULL;
}
