/* mem.h — kv's allocation wrappers: every byte the keyspace holds is
 * counted (malloc_usable_size) for max_memory, INFO and the metric. */
#ifndef KV_MEM_H
#define KV_MEM_H

#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

/* nothing but the descriptor is exported (the plugin rule) */
#pragma GCC visibility push(hidden)

extern size_t kv_mem_used;

static inline void *kv_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        kv_mem_used += malloc_usable_size(p);
    return p;
}
static inline void *kv_calloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (p)
        kv_mem_used += malloc_usable_size(p);
    return p;
}
static inline void *kv_realloc(void *old, size_t n)
{
    size_t was = old ? malloc_usable_size(old) : 0;
    void *p = realloc(old, n);
    if (p)
        kv_mem_used += malloc_usable_size(p) - was;
    return p;
}
static inline void kv_free(void *p)
{
    if (p) {
        kv_mem_used -= malloc_usable_size(p);
        free(p);
    }
}

#pragma GCC visibility pop

#endif
