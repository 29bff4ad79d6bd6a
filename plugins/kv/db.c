/*
 * db.c — the keyspace (db.h).
 */
#include <time.h>

#include "db.h"

void db_init(kv_db *db)
{
    memset(db, 0, sizeof *db);
    dict_init(&db->d, &db->mem);
}

kv_ent *ent_new(kv_db *db, int type, const char *k, size_t kl, int64_t exp, const void *v,
                size_t vl)
{
    size_t hdr = sizeof(kv_ent) + (exp >= 0 ? 8 : 0);
    kv_ent *e = kv_malloc(&db->mem, hdr + kl + vl + 1);
    if (!e)
        return NULL;
    e->next = NULL;
    e->type = (uint8_t)type;
    e->has_exp = exp >= 0;
    e->spare = 0;
    e->lru = 0;
    e->klen = (uint32_t)kl;
    e->vlen = (uint32_t)vl;
    e->hash = dict_hash(k, kl);
    if (exp >= 0)
        memcpy(e->data, &exp, 8);
    memcpy(ent_key(e), k, kl);
    if (v)
        memcpy(ent_val(e), v, vl);
    ent_val(e)[vl] = 0;              /* strtod/strtoll stop there */
    return e;
}

static void field_free(kv_ent *e, void *user)
{
    kv_free(user, e);
}

void ent_free(kv_db *db, kv_ent *e)
{
    if (e->type == KV_LIST) {
        kv_list *l = ent_obj(e);
        for (uint32_t i = 0; i < l->n; i++)
            kv_free(&db->mem, list_at(l, i));
        kv_free(&db->mem, l->a);
        kv_free(&db->mem, l);
    } else if (e->type == KV_HASH) {
        kv_dict *h = ent_obj(e);
        dict_clear(h, field_free, &db->mem);
        kv_free(&db->mem, h);
    }
    kv_free(&db->mem, e);
}

static void ent_free_cb(kv_ent *e, void *user)
{
    ent_free(user, e);
}

void db_flush(kv_db *db)
{
    dict_clear(&db->d, ent_free_cb, db);
    db->volatile_keys = 0;
    db->expire_cursor = 0;
}

void db_del(kv_db *db, kv_ent **pp)
{
    kv_ent *e = *pp;
    if (e->has_exp)
        db->volatile_keys--;
    dict_unlink(&db->d, pp);
    ent_free(db, e);
}

kv_ent **db_find(kv_db *db, const char *k, size_t kl)
{
    kv_ent **pp = dict_find(&db->d, k, kl, dict_hash(k, kl));
    if (pp && (*pp)->has_exp && ent_exp(*pp) <= db->now_ms) {
        db_del(db, pp);
        db->expired++;
        return NULL;
    }
    return pp;
}

kv_ent **db_lookup(kv_db *db, const char *k, size_t kl)
{
    kv_ent **pp = db_find(db, k, kl);
    if (pp) {
        db->hits++;
        (*pp)->lru = db->lru_clock;
    } else {
        db->misses++;
    }
    return pp;
}

int db_put(kv_db *db, kv_ent **pp, kv_ent *e)
{
    e->lru = db->lru_clock;
    if (pp) {
        kv_ent *old = *pp;
        if (old->has_exp)
            db->volatile_keys--;
        e->next = old->next;
        *pp = e;
        ent_free(db, old);
    } else if (dict_add(&db->d, e) < 0) {
        ent_free(db, e);
        return -1;
    }
    if (e->has_exp)
        db->volatile_keys++;
    return 0;
}

int db_set_exp(kv_db *db, kv_ent **pp, int64_t exp)
{
    kv_ent *e = *pp;
    if (exp >= 0 && e->has_exp) {
        memcpy(e->data, &exp, 8);
        return 0;
    }
    if (exp < 0 && !e->has_exp)
        return 0;
    /* the entry changes size: a new one, the value moved over */
    size_t vl = e->type == KV_STR ? e->vlen : sizeof(void *);
    kv_ent *n = ent_new(db, e->type, ent_key(e), e->klen, exp, ent_val(e), vl);
    if (!n)
        return -1;
    n->vlen = e->vlen;
    n->lru = e->lru;
    n->next = e->next;
    *pp = n;
    if (exp >= 0)
        db->volatile_keys++;
    else
        db->volatile_keys--;
    kv_free(&db->mem, e);            /* the object, if any, moved to n */
    return 0;
}

struct expire_scan {
    kv_db *db;
    kv_ent *due[64];
    unsigned n;
};

static void expire_visit(void *user, kv_ent *e)
{
    struct expire_scan *s = user;
    if (e->has_exp && ent_exp(e) <= s->db->now_ms && s->n < 64)
        s->due[s->n++] = e;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned db_expire_cycle(kv_db *db, uint64_t budget_ns)
{
    unsigned deleted = 0;
    uint64_t t0 = mono_ns();
    if (!db->volatile_keys)
        return 0;
    do {
        for (int i = 0; i < 16; i++) {
            struct expire_scan s = { .db = db };
            db->expire_cursor = dict_scan(&db->d, db->expire_cursor, expire_visit, &s);
            for (unsigned k = 0; k < s.n; k++) {
                kv_ent **pp = dict_find(&db->d, ent_key(s.due[k]), s.due[k]->klen,
                                        s.due[k]->hash);
                if (pp) {
                    db_del(db, pp);
                    db->expired++;
                    deleted++;
                }
            }
            if (!db->volatile_keys)
                return deleted;
        }
    } while (mono_ns() - t0 < budget_ns);
    return deleted;
}

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

unsigned db_evict(kv_db *db, size_t limit)
{
    unsigned n = 0;
    while (db->mem.used > limit && db->d.count) {
        kv_ent *best = NULL;
        for (int i = 0; i < 5; i++) {
            kv_ent *e = dict_random(&db->d, rnd);
            if (e && (!best || (uint32_t)(db->lru_clock - e->lru) >
                                   (uint32_t)(db->lru_clock - best->lru)))
                best = e;
        }
        if (!best)
            break;
        kv_ent **pp = dict_find(&db->d, ent_key(best), best->klen, best->hash);
        if (!pp)
            break;
        if (db->on_evict)
            db->on_evict(db->on_evict_user, *pp);
        db_del(db, pp);
        db->evicted++;
        n++;
    }
    return n;
}

kv_list *list_new(kv_db *db)
{
    kv_list *l = kv_calloc(&db->mem, 1, sizeof *l);
    if (!l)
        return NULL;
    l->cap = 4;
    if (!(l->a = kv_malloc(&db->mem, l->cap * sizeof *l->a))) {
        kv_free(&db->mem, l);
        return NULL;
    }
    return l;
}

int list_push(kv_db *db, kv_list *l, bool left, const char *p, size_t n)
{
    kv_lel *x = kv_malloc(&db->mem, sizeof *x + n);
    if (!x)
        return -1;
    x->len = (uint32_t)n;
    memcpy(x->data, p, n);
    if (l->n == l->cap) {
        kv_lel **a = kv_malloc(&db->mem, 2 * l->cap * sizeof *a);
        if (!a) {
            kv_free(&db->mem, x);
            return -1;
        }
        for (uint32_t i = 0; i < l->n; i++)
            a[i] = list_at(l, i);
        kv_free(&db->mem, l->a);
        l->a = a;
        l->head = 0;
        l->cap *= 2;
    }
    if (left) {
        l->head = (l->head + l->cap - 1) % l->cap;
        l->a[l->head] = x;
    } else {
        l->a[(l->head + l->n) % l->cap] = x;
    }
    l->n++;
    return 0;
}

kv_lel *list_pop(kv_list *l, bool left)
{
    kv_lel *x;
    if (!l->n)
        return NULL;
    if (left) {
        x = l->a[l->head];
        l->head = (l->head + 1) % l->cap;
    } else {
        x = list_at(l, l->n - 1);
    }
    l->n--;
    return x;
}

kv_dict *hash_new(kv_db *db)
{
    kv_dict *h = kv_malloc(&db->mem, sizeof *h);
    if (h)
        dict_init(h, &db->mem);
    return h;
}

kv_ent **hash_find(kv_dict *h, const char *f, size_t fl)
{
    return dict_find(h, f, fl, dict_hash(f, fl));
}
