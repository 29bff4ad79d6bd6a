/*
 * dict.c — incrementally rehashed chained hash table (dict.h).
 */
#include <stdlib.h>
#include <time.h>

#include "dict.h"

static uint64_t seed_ = 0x9e3779b97f4a7c15ull;

void dict_seed(uint64_t seed) { seed_ = seed | 1; }

void dict_init(kv_dict *d, kv_mem *mem)
{
    memset(d, 0, sizeof *d);
    d->rehash = -1;
    d->mem = mem;
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A wyhash-style keyed hash: 8 bytes at a time, one 128-bit multiply. */
uint32_t dict_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = seed_ ^ (len * 0xa0761d6478bd642full);
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = mix(h ^ v, 0xe7037ed1a0b428dbull);
        p += 8;
        len -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, len);
    h = mix(h ^ v ^ ((uint64_t)len << 59), 0x8ebc6af09c88c6e3ull);
    return (uint32_t)(h ^ (h >> 32));
}

static void rehash_step(kv_dict *d, int buckets)
{
    int empty = buckets * 10;
    while (buckets-- && d->rehash >= 0) {
        while (!d->t[0][d->rehash]) {
            d->rehash++;
            if ((size_t)d->rehash == d->size[0])
                goto done;
            if (--empty == 0)
                return;
        }
        kv_ent *e = d->t[0][d->rehash];
        while (e) {
            kv_ent *n = e->next;
            size_t i = e->hash & (d->size[1] - 1);
            e->next = d->t[1][i];
            d->t[1][i] = e;
            e = n;
        }
        d->t[0][d->rehash] = NULL;
        if ((size_t)++d->rehash == d->size[0])
            goto done;
    }
    return;
done:
    kv_free(d->mem, d->t[0]);
    d->t[0] = d->t[1];
    d->size[0] = d->size[1];
    d->t[1] = NULL;
    d->size[1] = 0;
    d->rehash = -1;
}

static int resize(kv_dict *d, size_t size)
{
    kv_ent **t = kv_calloc(d->mem, size, sizeof *t);
    if (!t)
        return -1;
    if (!d->t[0]) {
        d->t[0] = t;
        d->size[0] = size;
        d->rehash = -1;
        return 0;
    }
    d->t[1] = t;
    d->size[1] = size;
    d->rehash = 0;
    return 0;
}

kv_ent **dict_find(kv_dict *d, const char *key, size_t klen, uint32_t h)
{
    if (!d->count)
        return NULL;
    if (d->rehash >= 0)
        rehash_step(d, 1);
    for (int t = 0; t < 2; t++) {
        if (!d->size[t])
            break;
        size_t i = h & (d->size[t] - 1);
        if (t == 0 && d->rehash >= 0 && (long)i < d->rehash)
            continue;                    /* moved already */
        for (kv_ent **pp = &d->t[t][i]; *pp; pp = &(*pp)->next) {
            kv_ent *e = *pp;
            if (e->hash == h && e->klen == klen && memcmp(ent_key(e), key, klen) == 0)
                return pp;
        }
        if (d->rehash < 0)
            break;
    }
    return NULL;
}

int dict_add(kv_dict *d, kv_ent *e)
{
    if (!d->t[0]) {
        if (resize(d, 4) < 0)
            return -1;
    } else if (d->rehash < 0 && d->count >= d->size[0]) {
        (void)resize(d, d->size[0] * 2);     /* failing: just chain longer */
    }
    if (d->rehash >= 0)
        rehash_step(d, 1);
    int t = d->rehash >= 0 ? 1 : 0;
    size_t i = e->hash & (d->size[t] - 1);
    e->next = d->t[t][i];
    d->t[t][i] = e;
    d->count++;
    return 0;
}

void dict_unlink(kv_dict *d, kv_ent **pp)
{
    *pp = (*pp)->next;
    d->count--;
}

bool dict_rehash_for(kv_dict *d, uint64_t ns)
{
    struct timespec a, b;
    if (d->rehash < 0)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (d->rehash >= 0) {
        rehash_step(d, 100);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if ((uint64_t)((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec)) >= ns)
            break;
    }
    return d->rehash >= 0;
}

static uint64_t rev(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    return __builtin_bswap64(v);
}

static void scan_bucket(kv_ent *e, dict_scan_fn fn, void *user)
{
    while (e) {
        kv_ent *n = e->next;
        fn(user, e);
        e = n;
    }
}

uint64_t dict_scan(kv_dict *d, uint64_t v, dict_scan_fn fn, void *user)
{
    if (!d->count || !d->size[0])
        return 0;
    if (d->rehash < 0) {
        uint64_t m0 = d->size[0] - 1;
        scan_bucket(d->t[0][v & m0], fn, user);
        v |= ~m0;
        v = rev(v);
        v++;
        return rev(v);
    }
    /* two tables: the small one's bucket, then all its expansions */
    int s = d->size[0] <= d->size[1] ? 0 : 1, l = 1 - s;
    uint64_t m0 = d->size[s] - 1, m1 = d->size[l] - 1;
    if (!(s == 0 && (long)(v & m0) < d->rehash))
        scan_bucket(d->t[s][v & m0], fn, user);
    do {
        if (!(l == 0 && (long)(v & m1) < d->rehash))
            scan_bucket(d->t[l][v & m1], fn, user);
        v |= ~m1;
        v = rev(v);
        v++;
        v = rev(v);
    } while (v & (m0 ^ m1));
    return v;
}

kv_ent *dict_random(kv_dict *d, uint64_t (*rnd)(void))
{
    if (!d->count)
        return NULL;
    kv_ent *e = NULL;
    for (int tries = 0; !e && tries < 1000; tries++) {
        int t = d->rehash >= 0 ? (int)(rnd() & 1) : 0;
        size_t i = rnd() & (d->size[t] - 1);
        if (t == 0 && d->rehash >= 0 && (long)i < d->rehash)
            continue;
        e = d->t[t][i];
    }
    if (!e) {                        /* sparse: walk from a random bucket */
        for (int t = 0; t < 2 && !e; t++)
            for (size_t i = 0; i < d->size[t] && !e; i++)
                e = d->t[t][i];
        if (!e)
            return NULL;
    }
    unsigned n = 0;
    for (kv_ent *x = e; x; x = x->next)
        n++;
    for (unsigned k = (unsigned)(rnd() % n); k; k--)
        e = e->next;
    return e;
}

void dict_clear(kv_dict *d, void (*fn)(kv_ent *e, void *user), void *user)
{
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < d->size[t]; i++) {
            kv_ent *e = d->t[t][i];
            while (e) {
                kv_ent *n = e->next;
                if (fn)
                    fn(e, user);
                e = n;
            }
        }
        kv_free(d->mem, d->t[t]);
        d->t[t] = NULL;
        d->size[t] = 0;
    }
    d->count = 0;
    d->rehash = -1;
}

size_t dict_buckets_bytes(const kv_dict *d)
{
    return (d->size[0] + d->size[1]) * sizeof(kv_ent *);
}
