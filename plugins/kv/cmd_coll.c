/*
 * cmd_coll.c — hash and list commands.
 */
#include <limits.h>
#include <stdio.h>

#include "cmd.h"

/* The hash at argv[1], made if create (NULL with *bad: replied). */
static kv_dict *get_hash(kv_ctx *c, bool create, bool *bad)
{
    kv_ent **pp = lookup_type(c, 1, KV_HASH, bad);
    if (*bad)
        return NULL;
    if (pp)
        return ent_obj(*pp);
    if (!create)
        return NULL;
    kv_dict *h = hash_new(c->db);
    kv_ent *e = h ? ent_new(c->db, KV_HASH, c->argv[1], c->len[1], -1, &h, sizeof h) : NULL;
    if (!e)
        kv_free(&c->db->mem, h);
    if (!e || db_put(c->db, NULL, e) < 0) {      /* db_put freed e and h */
        rp_error(c->out, "OOM out of memory");
        *bad = true;
        return NULL;
    }
    return h;
}

static int hash_set(kv_db *db, kv_dict *h, const char *f, size_t fl, const char *v, size_t vl)
{
    kv_ent **pp = hash_find(h, f, fl);
    kv_ent *e = ent_new(db, KV_FIELD, f, fl, -1, v, vl);
    if (!e)
        return -1;
    if (pp) {
        e->next = (*pp)->next;
        kv_free(&db->mem, *pp);
        *pp = e;
        return 0;
    }
    if (dict_add(h, e) < 0) {
        kv_free(&db->mem, e);
        return -1;
    }
    return 1;
}

static void drop_if_empty(kv_ctx *c, size_t n)
{
    if (n == 0) {
        kv_ent **pp = db_find(c->db, c->argv[1], c->len[1]);
        if (pp)
            db_del(c->db, pp);
    }
}

void cmd_hset(kv_ctx *c)
{
    bool bad;
    if (c->argc % 2) {
        rp_error(c->out, "ERR wrong number of arguments for 'hset' command");
        return;
    }
    kv_dict *h = get_hash(c, true, &bad);
    if (bad)
        return;
    long long added = 0;
    for (int i = 2; i < c->argc; i += 2) {
        int rc = hash_set(c->db, h, c->argv[i], c->len[i], c->argv[i + 1], c->len[i + 1]);
        if (rc < 0) {
            rp_error(c->out, "OOM out of memory");
            return;
        }
        added += rc;
    }
    c->dirty++;
    rp_int(c->out, added);
}

void cmd_hget(kv_ctx *c)
{
    bool bad;
    kv_dict *h = get_hash(c, false, &bad);
    if (bad)
        return;
    kv_ent **fp = h ? hash_find(h, c->argv[2], c->len[2]) : NULL;
    if (fp)
        rp_bulk(c->out, ent_val(*fp), (*fp)->vlen);
    else
        rp_null(c->out);
}

void cmd_hmget(kv_ctx *c)
{
    bool bad;
    kv_dict *h = get_hash(c, false, &bad);
    if (bad)
        return;
    rp_array(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        kv_ent **fp = h ? hash_find(h, c->argv[i], c->len[i]) : NULL;
        if (fp)
            rp_bulk(c->out, ent_val(*fp), (*fp)->vlen);
        else
            rp_null(c->out);
    }
}

void cmd_hdel(kv_ctx *c)
{
    bool bad;
    kv_dict *h = get_hash(c, false, &bad);
    if (bad)
        return;
    long long n = 0;
    for (int i = 2; h && i < c->argc; i++) {
        kv_ent **fp = hash_find(h, c->argv[i], c->len[i]);
        if (fp) {
            kv_ent *e = *fp;
            dict_unlink(h, fp);
            kv_free(&c->db->mem, e);
            n++;
        }
    }
    if (n) {
        c->dirty++;
        drop_if_empty(c, h->count);
    }
    rp_int(c->out, n);
}

struct hwalk { kv_out *o; };

static void hgetall_visit(void *user, kv_ent *e)
{
    kv_out *o = user;
    rp_bulk(o, ent_key(e), e->klen);
    rp_bulk(o, ent_val(e), e->vlen);
}

void cmd_hgetall(kv_ctx *c)
{
    bool bad;
    kv_dict *h = get_hash(c, false, &bad);
    if (bad)
        return;
    if (!h) {
        rp_array(c->out, 0);
        return;
    }
    rp_array(c->out, (long long)h->count * 2);
    uint64_t cur = 0;
    while (h->rehash >= 0)               /* one table: each field once */
        dict_rehash_for(h, 1000000000ull);
    do
        cur = dict_scan(h, cur, hgetall_visit, c->out);
    while (cur);
}

void cmd_hlen(kv_ctx *c)
{
    bool bad;
    kv_dict *h = get_hash(c, false, &bad);
    if (!bad)
        rp_int(c->out, h ? (long long)h->count : 0);
}

void cmd_hexists(kv_ctx *c)
{
    bool bad;
    kv_dict *h = get_hash(c, false, &bad);
    if (!bad)
        rp_int(c->out, h && hash_find(h, c->argv[2], c->len[2]) ? 1 : 0);
}

void cmd_hincrby(kv_ctx *c)
{
    bool bad;
    long long by, v = 0;
    if (!arg_ll(c, 3, &by))
        return;
    kv_dict *h = get_hash(c, false, &bad);
    if (bad)
        return;
    kv_ent **fp = h ? hash_find(h, c->argv[2], c->len[2]) : NULL;
    if (fp && !resp_str2ll(ent_val(*fp), (*fp)->vlen, &v)) {
        rp_error(c->out, "ERR hash value is not an integer");
        return;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        rp_error(c->out, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    if (!h && !(h = get_hash(c, true, &bad)))
        return;
    char buf[24];
    size_t n = kv_ll2s(buf, v);
    if (hash_set(c->db, h, c->argv[2], c->len[2], buf, n) < 0) {
        rp_error(c->out, "OOM out of memory");
        return;
    }
    c->dirty++;
    rp_int(c->out, v);
}

/* ---- lists ---- */

static void push(kv_ctx *c, bool left)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_LIST, &bad);
    if (bad)
        return;
    kv_list *l;
    if (pp) {
        l = ent_obj(*pp);
    } else {
        l = list_new(c->db);
        kv_ent *e = l ? ent_new(c->db, KV_LIST, c->argv[1], c->len[1], -1, &l, sizeof l) : NULL;
        if (!e && l) {
            kv_free(&c->db->mem, l->a);
            kv_free(&c->db->mem, l);
        }
        if (!e || db_put(c->db, NULL, e) < 0) {  /* db_put freed e and l */
            rp_error(c->out, "OOM out of memory");
            return;
        }
    }
    for (int i = 2; i < c->argc; i++)
        if (list_push(c->db, l, left, c->argv[i], c->len[i]) < 0) {
            rp_error(c->out, "OOM out of memory");
            return;
        }
    c->dirty++;
    rp_int(c->out, l->n);
}

void cmd_lpush(kv_ctx *c) { push(c, true); }
void cmd_rpush(kv_ctx *c) { push(c, false); }

static void pop(kv_ctx *c, bool left)
{
    bool bad;
    long long count = -1;
    if (c->argc > 3) {
        rp_errorf(c->out, "ERR wrong number of arguments for '%s' command", left ? "lpop" : "rpop");
        return;
    }
    if (c->argc == 3) {
        if (!resp_str2ll(c->argv[2], c->len[2], &count) || count < 0) {
            rp_error(c->out, "ERR value is out of range, must be positive");
            return;
        }
    }
    kv_ent **pp = lookup_type(c, 1, KV_LIST, &bad);
    if (bad)
        return;
    if (!pp) {
        if (count >= 0)
            rp_null_array(c->out);
        else
            rp_null(c->out);
        return;
    }
    kv_list *l = ent_obj(*pp);
    if (count < 0) {
        kv_lel *x = list_pop(l, left);
        rp_bulk(c->out, x->data, x->len);
        kv_free(&c->db->mem, x);
    } else {
        if ((unsigned long long)count > l->n)
            count = l->n;
        rp_array(c->out, count);
        for (long long i = 0; i < count; i++) {
            kv_lel *x = list_pop(l, left);
            rp_bulk(c->out, x->data, x->len);
            kv_free(&c->db->mem, x);
        }
        if (count == 0)
            return;
    }
    c->dirty++;
    if (!l->n)
        db_del(c->db, pp);
}

void cmd_lpop(kv_ctx *c) { pop(c, true); }
void cmd_rpop(kv_ctx *c) { pop(c, false); }

void cmd_llen(kv_ctx *c)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_LIST, &bad);
    if (!bad)
        rp_int(c->out, pp ? ((kv_list *)ent_obj(*pp))->n : 0);
}

void cmd_lrange(kv_ctx *c)
{
    bool bad;
    long long a, b;
    if (!arg_ll(c, 2, &a) || !arg_ll(c, 3, &b))
        return;
    kv_ent **pp = lookup_type(c, 1, KV_LIST, &bad);
    if (bad)
        return;
    if (!pp) {
        rp_array(c->out, 0);
        return;
    }
    kv_list *l = ent_obj(*pp);
    long long n = l->n;
    if (a < 0) a += n;
    if (b < 0) b += n;
    if (a < 0) a = 0;
    if (a > b || a >= n) {
        rp_array(c->out, 0);
        return;
    }
    if (b >= n) b = n - 1;
    rp_array(c->out, b - a + 1);
    for (long long i = a; i <= b; i++) {
        kv_lel *x = list_at(l, (uint32_t)i);
        rp_bulk(c->out, x->data, x->len);
    }
}
