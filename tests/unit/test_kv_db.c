/* test_kv_db.c — the kv plugin's keyspace (plugins/kv/db.c, dict.c),
 * alone: each kv_db counts its own bytes (two instances in one daemon
 * see their own keys only), to the byte, through every way an entry,
 * list, hash, field or bucket array is made, resized or freed; eviction
 * looks at its own keyspace's count and evicts its own keys. */
#include <stdio.h>

#include "helpers.h"
#include "db.h"

static kv_db a, b;

static void setup(void)
{
    db_init(&a);
    db_init(&b);
    a.now_ms = b.now_ms = 1000;
}

static void teardown(void)
{
    db_flush(&a);
    db_flush(&b);
}

static void put_str(kv_db *db, const char *k, const char *v, int64_t exp)
{
    kv_ent *e = ent_new(db, KV_STR, k, strlen(k), exp, v, strlen(v));
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(db_put(db, db_find(db, k, strlen(k)), e), 0);
}

/* the bytes a keyspace holds, counted by walking it */
static size_t walked;
static void walk_field(void *user, kv_ent *e)
{
    (void)user;
    walked += malloc_usable_size(e);
}
static void walk(void *user, kv_ent *e)
{
    (void)user;
    walked += malloc_usable_size(e);
    if (e->type == KV_LIST) {
        kv_list *l = ent_obj(e);
        walked += malloc_usable_size(l) + malloc_usable_size(l->a);
        for (uint32_t i = 0; i < l->n; i++)
            walked += malloc_usable_size(list_at(l, i));
    } else if (e->type == KV_HASH) {
        kv_dict *h = ent_obj(e);
        walked += malloc_usable_size(h);
        for (int t = 0; t < 2; t++)
            walked += h->t[t] ? malloc_usable_size(h->t[t]) : 0;
        uint64_t c = 0;
        do
            c = dict_scan(h, c, walk_field, NULL);
        while (c);
    }
}
static size_t held(kv_db *db)
{
    walked = 0;
    for (int t = 0; t < 2; t++)
        walked += db->d.t[t] ? malloc_usable_size(db->d.t[t]) : 0;
    uint64_t c = 0;
    do
        c = dict_scan(&db->d, c, walk, NULL);
    while (c);
    return walked;
}

START_TEST(each_keyspace_counts_its_own)
{
    char k[32], v[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        snprintf(v, sizeof v, "value-%d-0123456789", i);
        put_str(&a, k, v, i % 3 ? -1 : 5000 + i);
    }
    ck_assert_uint_eq(b.mem.used, 0);
    ck_assert_uint_gt(a.mem.used, 5000 * 40);
    ck_assert_uint_eq(a.mem.used, held(&a));
    /* a list and a hash in b, grown past their first sizes */
    kv_list *l = list_new(&b);
    kv_ent *le = ent_new(&b, KV_LIST, "l", 1, -1, &l, sizeof l);
    ck_assert_int_eq(db_put(&b, NULL, le), 0);
    kv_dict *h = hash_new(&b);
    kv_ent *he = ent_new(&b, KV_HASH, "h", 1, -1, &h, sizeof h);
    ck_assert_int_eq(db_put(&b, NULL, he), 0);
    for (int i = 0; i < 300; i++) {
        snprintf(v, sizeof v, "element %d", i);
        ck_assert_int_eq(list_push(&b, l, i & 1, v, strlen(v)), 0);
        snprintf(k, sizeof k, "f%d", i);
        kv_ent *f = ent_new(&b, KV_FIELD, k, strlen(k), -1, v, strlen(v));
        ck_assert_int_eq(dict_add(h, f), 0);
        dict_rehash_for(h, 1000000);
    }
    size_t a_bytes = a.mem.used;
    ck_assert_uint_eq(b.mem.used, held(&b));
    /* an expiry added and removed (the entry is reallocated) */
    kv_ent **pp = db_find(&a, "key:1", 5);
    ck_assert_int_eq(db_set_exp(&a, pp, 123456), 0);
    ck_assert_uint_eq(a.mem.used, held(&a));
    ck_assert_int_eq(db_set_exp(&a, db_find(&a, "key:1", 5), -1), 0);
    ck_assert_uint_eq(a.mem.used, held(&a));
    ck_assert_uint_eq(a.mem.used, a_bytes);
    /* b flushed: b back to zero, a untouched */
    size_t b_bytes = b.mem.used;
    db_flush(&b);
    ck_assert_uint_eq(b.mem.used, 0);
    ck_assert_uint_eq(a.mem.used, a_bytes);
    ck_assert_uint_gt(b_bytes, 300 * 2 * 16);
    /* expiry deletes (lazily and actively) give the bytes back to a */
    a.now_ms = 1000000;
    db_expire_cycle(&a, 1000000000ull);
    ck_assert_uint_eq(a.mem.used, held(&a));
    ck_assert_uint_lt(a.mem.used, a_bytes);
    db_flush(&a);
    ck_assert_uint_eq(a.mem.used, 0);
}
END_TEST

START_TEST(eviction_is_per_keyspace)
{
    char k[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        put_str(&a, k, "0123456789012345678901234567890123456789", -1);
        put_str(&b, k, "0123456789012345678901234567890123456789", -1);
    }
    size_t bb = b.mem.used, limit = a.mem.used / 2;
    ck_assert_uint_eq(a.mem.used, bb);
    /* a over its limit: a is evicted down to it, b keeps every key */
    unsigned n = db_evict(&a, limit);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_le(a.mem.used, limit);
    ck_assert_uint_eq(a.d.count, 2000 - n);
    ck_assert_uint_eq(a.evicted, n);
    ck_assert_uint_eq(b.mem.used, bb);
    ck_assert_uint_eq(b.d.count, 2000);
    ck_assert_uint_eq(b.evicted, 0);
    /* b under a limit a's keyspace would exceed: nothing to do */
    ck_assert_uint_eq(db_evict(&b, bb), 0);
    ck_assert_uint_eq(a.mem.used, held(&a));
}
END_TEST

static Suite *kv_db_suite(void)
{
    Suite *s = suite_create("kv_db");
    TCase *tc = tcase_create("kv_db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, each_keyspace_counts_its_own);
    tcase_add_test(tc, eviction_is_per_keyspace);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(kv_db_suite)
