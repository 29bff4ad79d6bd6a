/*
 * dict.h — the kv keyspace's hash table: chained buckets, power-of-two
 * sizes, rehashed incrementally (redis's scheme) so that growing never
 * pauses in proportion to the table: while two tables exist every lookup
 * and insert moves one bucket, and dict_rehash_for() moves more within a
 * time budget from the loop. Entries (kv_ent) are the caller's memory,
 * linked through their first word; the table never allocates per entry.
 *
 * An entry is one allocation: a 28-byte header, then [expiry], the key,
 * then the value (strings: the bytes themselves, embedded; hashes and
 * lists: a pointer to the object). Hash fields are entries too, in the
 * hash's own dict (type KV_FIELD): field and value in one allocation.
 */
#ifndef KV_DICT_H
#define KV_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

/* nothing but the descriptor is exported (the plugin rule) */
#pragma GCC visibility push(hidden)

enum { KV_STR = 0, KV_LIST = 1, KV_HASH = 2, KV_FIELD = 3 };

typedef struct kv_ent {
    struct kv_ent *next;
    uint32_t hash;
    uint32_t lru;                /* LRU clock (seconds) of the last access */
    uint8_t type;                /* KV_* */
    uint8_t has_exp;             /* an int64 ms expiry leads data[] */
    uint16_t spare;
    uint32_t klen;
    uint32_t vlen;               /* strings and fields: the value's length */
    char data[];
} kv_ent;

static inline char *ent_key(kv_ent *e) { return e->data + (e->has_exp ? 8 : 0); }
static inline char *ent_val(kv_ent *e) { return ent_key(e) + e->klen; }
static inline int64_t ent_exp(const kv_ent *e)
{
    int64_t v = -1;
    if (e->has_exp)
        memcpy(&v, e->data, 8);
    return v;
}
static inline void *ent_obj(kv_ent *e)
{
    void *p;
    memcpy(&p, ent_val(e), sizeof p);
    return p;
}

typedef struct kv_dict {
    kv_ent **t[2];
    size_t size[2];              /* buckets, 0 or a power of two */
    size_t count;                /* entries in both tables */
    long rehash;                 /* next bucket of t[0] to move; -1: none */
    kv_mem *mem;                 /* the keyspace's counter: the buckets */
} kv_dict;

/* An empty table whose bucket arrays are counted in mem. */
void dict_init(kv_dict *d, kv_mem *mem);

uint32_t dict_hash(const void *key, size_t len);
void dict_seed(uint64_t seed);
/* The link (in a bucket or an entry's next) that points at the entry
 * with this key, or NULL. Moves one bucket when rehashing. */
kv_ent **dict_find(kv_dict *d, const char *key, size_t klen, uint32_t h);
/* Link e (its hash set; the key absent). 0 or -1 (out of memory: the
 * table could not grow and has no buckets). */
int dict_add(kv_dict *d, kv_ent *e);
/* Unlink the entry *pp points at (a dict_find() result). */
void dict_unlink(kv_dict *d, kv_ent **pp);
/* Move buckets for up to ns nanoseconds (or 100 buckets per step
 * until done); true while rehashing remains. */
bool dict_rehash_for(kv_dict *d, uint64_t ns);
/* redis's reverse-binary cursor scan: fn for every entry of the buckets
 * the cursor visits; returns the next cursor (0: done). Every entry
 * present during the whole scan is visited at least once, across
 * resizes. fn may not modify the dict. */
typedef void (*dict_scan_fn)(void *user, kv_ent *e);
uint64_t dict_scan(kv_dict *d, uint64_t cursor, dict_scan_fn fn, void *user);
/* A random entry (roughly uniform over buckets), or NULL when empty. */
kv_ent *dict_random(kv_dict *d, uint64_t (*rnd)(void));
/* Free the buckets; fn(e) frees each entry (may be NULL). */
void dict_clear(kv_dict *d, void (*fn)(kv_ent *e, void *user), void *user);
/* Bytes of the bucket arrays. */
size_t dict_buckets_bytes(const kv_dict *d);

#pragma GCC visibility pop

#endif
