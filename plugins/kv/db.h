/*
 * db.h — the kv keyspace: entries in a dict (dict.h), lazy expiry on
 * every lookup, an active expiry cycle and approximate LRU eviction.
 * Values: strings embedded in their entry; lists (a ring of pointers
 * to packed elements); hashes (a dict of field entries).
 */
#ifndef KV_DB_H
#define KV_DB_H

#include "dict.h"
#include "mem.h"

#pragma GCC visibility push(hidden)

typedef struct kv_lel {
    uint32_t len;
    char data[];
} kv_lel;

typedef struct kv_list {
    uint32_t head, n, cap;       /* ring: element i is a[(head + i) % cap] */
    kv_lel **a;
} kv_list;

typedef struct kv_db {
    kv_dict d;
    kv_mem mem;                  /* every byte of this keyspace (mem.h); d and
                                  * each hash's dict point at it: not movable */
    size_t volatile_keys;        /* entries with an expiry */
    uint64_t expire_cursor;      /* the active cycle's scan cursor */
    uint64_t expired, evicted, hits, misses;
    int64_t now_ms;              /* the clock of the current batch */
    uint32_t lru_clock;          /* seconds */
    /* called with each evicted entry before it is freed (the AOF logs a DEL) */
    void (*on_evict)(void *user, kv_ent *e);
    void *on_evict_user;
} kv_db;

void db_init(kv_db *db);
void db_flush(kv_db *db);
/* The link to a live key (an expired one is deleted first), or NULL. */
kv_ent **db_find(kv_db *db, const char *k, size_t kl);
/* Same and counts a hit or a miss, touching the LRU clock. */
kv_ent **db_lookup(kv_db *db, const char *k, size_t kl);
/* A new entry of db (counted in db->mem): type, key, expiry (-1 none),
 * vlen bytes of value room (copied from v unless NULL). Not linked.
 * NULL: out of memory. */
kv_ent *ent_new(kv_db *db, int type, const char *k, size_t kl, int64_t exp, const void *v,
                size_t vl);
/* Free e and its object (list, hash and its fields). */
void ent_free(kv_db *db, kv_ent *e);
/* Put e in place of *pp (pp NULL: add). 0 or -1 (e freed). */
int db_put(kv_db *db, kv_ent **pp, kv_ent *e);
void db_del(kv_db *db, kv_ent **pp);
/* Set or clear (exp -1) the expiry: may reallocate the entry. 0/-1. */
int db_set_exp(kv_db *db, kv_ent **pp, int64_t exp);
/* Active expiry: scan for at most budget_ns; the number deleted. */
unsigned db_expire_cycle(kv_db *db, uint64_t budget_ns);
/* Evict (allkeys-lru, 5 samples) until db->mem.used <= limit or empty;
 * the number evicted. */
unsigned db_evict(kv_db *db, size_t limit);

/* lists (their memory counted in db->mem) */
kv_list *list_new(kv_db *db);
int list_push(kv_db *db, kv_list *l, bool left, const char *p, size_t n);
kv_lel *list_pop(kv_list *l, bool left);      /* the caller kv_frees it */
static inline kv_lel *list_at(kv_list *l, uint32_t i) { return l->a[(l->head + i) % l->cap]; }
/* hashes */
kv_dict *hash_new(kv_db *db);
kv_ent **hash_find(kv_dict *h, const char *f, size_t fl);

#pragma GCC visibility pop

#endif
