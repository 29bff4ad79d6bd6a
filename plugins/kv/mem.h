/* mem.h — kv's allocation wrappers: every byte a keyspace holds is
 * counted (malloc_usable_size) in that keyspace's own counter, for its
 * instance's max_memory, INFO used_memory and kv_memory_used_bytes. A
 * counter per kv_db, not one per module: two kv instances in one daemon
 * each see their own keys only.
 *
 * Loop-thread only: nothing counted is allocated or freed on a pool
 * thread (the pool jobs get file descriptors and the AOF's own buffers,
 * which are not keyspace memory). Hence a plain size_t. */
#ifndef KV_MEM_H
#define KV_MEM_H

#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

/* nothing but the descriptor is exported (the plugin rule) */
#pragma GCC visibility push(hidden)

typedef struct kv_mem {
    size_t used;                 /* bytes of the live allocations */
} kv_mem;

static inline void *kv_malloc(kv_mem *m, size_t n)
{
    void *p = malloc(n);
    if (p)
        m->used += malloc_usable_size(p);
    return p;
}
static inline void *kv_calloc(kv_mem *m, size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (p)
        m->used += malloc_usable_size(p);
    return p;
}
static inline void *kv_realloc(kv_mem *m, void *old, size_t n)
{
    size_t was = old ? malloc_usable_size(old) : 0;
    void *p = realloc(old, n);
    if (p)
        m->used += malloc_usable_size(p) - was;
    return p;
}
static inline void kv_free(kv_mem *m, void *p)
{
    if (p) {
        m->used -= malloc_usable_size(p);
        free(p);
    }
}

#pragma GCC visibility pop

#endif
