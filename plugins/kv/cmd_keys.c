/*
 * cmd_keys.c — key commands: DEL/UNLINK, EXISTS, TYPE, RENAME, the
 * expiry family, KEYS and SCAN.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

void cmd_del(kv_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        kv_ent **pp = db_find(c->db, c->argv[i], c->len[i]);
        if (pp) {
            db_del(c->db, pp);
            n++;
        }
    }
    c->dirty += (int)n;
    rp_int(c->out, n);
}

void cmd_exists(kv_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += db_find(c->db, c->argv[i], c->len[i]) != NULL;
    rp_int(c->out, n);
}

void cmd_type(kv_ctx *c)
{
    kv_ent **pp = db_find(c->db, c->argv[1], c->len[1]);
    static const char *names[] = { "string", "list", "hash" };
    rp_status(c->out, pp ? names[(*pp)->type] : "none");
}

void cmd_rename(kv_ctx *c)
{
    kv_ent **pp = db_find(c->db, c->argv[1], c->len[1]);
    if (!pp) {
        rp_error(c->out, "ERR no such key");
        return;
    }
    if (c->len[1] == c->len[2] && memcmp(c->argv[1], c->argv[2], c->len[1]) == 0) {
        rp_ok(c->out);
        return;
    }
    kv_ent *e = *pp;
    int64_t exp = ent_exp(e);
    size_t vl = e->type == KV_STR ? e->vlen : sizeof(void *);
    kv_ent *n = ent_new(c->db, e->type, c->argv[2], c->len[2], exp, ent_val(e), vl);
    if (!n) {
        rp_error(c->out, "OOM out of memory");
        return;
    }
    n->vlen = e->vlen;
    if (e->has_exp)
        c->db->volatile_keys--;
    dict_unlink(&c->db->d, pp);
    kv_free(&c->db->mem, e);             /* its object moved to n */
    kv_ent **dp = db_find(c->db, c->argv[2], c->len[2]);
    if (db_put(c->db, dp, n) < 0) {
        rp_error(c->out, "OOM out of memory");
        return;
    }
    c->dirty++;
    rp_ok(c->out);
}

/* EXPIRE key n [NX|XX|GT|LT], and PEXPIRE, EXPIREAT, PEXPIREAT */
static void expire_generic(kv_ctx *c, int64_t base, int unit, const char *name)
{
    enum { NX = 1, XX = 2, GT = 4, LT = 8 };
    unsigned f = 0;
    long long v;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "nx")) f |= NX;
        else if (arg_is(c, i, "xx")) f |= XX;
        else if (arg_is(c, i, "gt")) f |= GT;
        else if (arg_is(c, i, "lt")) f |= LT;
        else {
            rp_errorf(c->out, "ERR Unsupported option %.*s", (int)c->len[i], c->argv[i]);
            return;
        }
    }
    if ((f & NX) && (f & (XX | GT | LT))) {
        rp_error(c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((f & GT) && (f & LT)) {
        rp_error(c->out, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    if (!arg_ll(c, 2, &v))
        return;
    if (v > LLONG_MAX / unit || v < LLONG_MIN / unit) {
        rp_errorf(c->out, "ERR invalid expire time in '%s' command", name);
        return;
    }
    v *= unit;
    if ((v > 0 && base > LLONG_MAX - v) || (v < 0 && base < LLONG_MIN - v)) {
        rp_errorf(c->out, "ERR invalid expire time in '%s' command", name);
        return;
    }
    v += base;
    kv_ent **pp = db_find(c->db, c->argv[1], c->len[1]);
    if (!pp) {
        rp_int(c->out, 0);
        return;
    }
    int64_t cur = ent_exp(*pp);          /* -1: none, i.e. infinite */
    if (((f & NX) && cur >= 0) || ((f & XX) && cur < 0) ||
        ((f & GT) && (cur < 0 || v <= cur)) || ((f & LT) && cur >= 0 && v >= cur)) {
        rp_int(c->out, 0);
        return;
    }
    if (v <= c->db->now_ms) {            /* in the past: deleted */
        db_del(c->db, pp);
        const char *av[] = { "DEL", c->argv[1] };
        size_t al[] = { 3, c->len[1] };
        kv_aof_log(c->kv, 2, av, al);
    } else {
        if (db_set_exp(c->db, pp, v) < 0) {
            rp_error(c->out, "OOM out of memory");
            return;
        }
        char ts[24];
        int n = snprintf(ts, sizeof ts, "%lld", v);
        const char *av[] = { "PEXPIREAT", c->argv[1], ts };
        size_t al[] = { 9, c->len[1], (size_t)n };
        kv_aof_log(c->kv, 3, av, al);
    }
    c->logged = true;
    c->dirty++;
    rp_int(c->out, 1);
}

void cmd_expire(kv_ctx *c) { expire_generic(c, c->db->now_ms, 1000, "expire"); }
void cmd_pexpire(kv_ctx *c) { expire_generic(c, c->db->now_ms, 1, "pexpire"); }
void cmd_expireat(kv_ctx *c) { expire_generic(c, 0, 1000, "expireat"); }
void cmd_pexpireat(kv_ctx *c) { expire_generic(c, 0, 1, "pexpireat"); }

static void ttl_generic(kv_ctx *c, bool ms)
{
    kv_ent **pp = db_find(c->db, c->argv[1], c->len[1]);
    if (!pp) {
        rp_int(c->out, -2);
        return;
    }
    int64_t e = ent_exp(*pp);
    if (e < 0) {
        rp_int(c->out, -1);
        return;
    }
    int64_t left = e - c->db->now_ms;
    if (left < 0)
        left = 0;
    rp_int(c->out, ms ? left : (left + 500) / 1000);
}

void cmd_ttl(kv_ctx *c) { ttl_generic(c, false); }
void cmd_pttl(kv_ctx *c) { ttl_generic(c, true); }

void cmd_persist(kv_ctx *c)
{
    kv_ent **pp = db_find(c->db, c->argv[1], c->len[1]);
    if (!pp || !(*pp)->has_exp) {
        rp_int(c->out, 0);
        return;
    }
    if (db_set_exp(c->db, pp, -1) < 0) {
        rp_error(c->out, "OOM out of memory");
        return;
    }
    c->dirty++;
    rp_int(c->out, 1);
}

struct collect {
    kv_ctx *c;
    const char *pat;
    size_t pl;
    int type;                            /* -1: any */
    kv_ent **v;
    size_t n, cap;
};

static void collect_visit(void *user, kv_ent *e)
{
    struct collect *k = user;
    if (e->has_exp && ent_exp(e) <= k->c->db->now_ms)
        return;
    if (k->type >= 0 && e->type != k->type)
        return;
    if (k->pat && !(k->pl == 1 && k->pat[0] == '*') &&
        !kv_glob(k->pat, k->pl, ent_key(e), e->klen, false))
        return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        kv_ent **v = realloc(k->v, cap * sizeof *v);
        if (!v)
            return;
        k->v = v;
        k->cap = cap;
    }
    k->v[k->n++] = e;
}

void cmd_keys(kv_ctx *c)
{
    struct collect k = { .c = c, .pat = c->argv[1], .pl = c->len[1], .type = -1 };
    uint64_t cur = 0;
    /* the whole table at once, as redis does (KEYS is O(N) by contract) */
    do
        cur = dict_scan(&c->db->d, cur, collect_visit, &k);
    while (cur);
    rp_array(c->out, (long long)k.n);
    for (size_t i = 0; i < k.n; i++)
        rp_bulk(c->out, ent_key(k.v[i]), k.v[i]->klen);
    free(k.v);
}

void cmd_scan(kv_ctx *c)
{
    struct collect k = { .c = c, .type = -1 };
    unsigned long long cur;
    long long count = 10;
    char *end;
    char buf[32];

    if (c->len[1] >= sizeof buf) {
        rp_error(c->out, "ERR invalid cursor");
        return;
    }
    memcpy(buf, c->argv[1], c->len[1]);
    buf[c->len[1]] = 0;
    errno = 0;
    cur = strtoull(buf, &end, 10);
    if (!c->len[1] || *end || errno || buf[0] == '-' || buf[0] == ' ' || buf[0] == '+') {
        rp_error(c->out, "ERR invalid cursor");
        return;
    }
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            rp_error(c->out, "ERR syntax error");
            return;
        }
        if (arg_is(c, i, "count")) {
            if (!arg_ll(c, i + 1, &count))
                return;
            if (count < 1) {
                rp_error(c->out, "ERR syntax error");
                return;
            }
        } else if (arg_is(c, i, "match")) {
            k.pat = c->argv[i + 1];
            k.pl = c->len[i + 1];
        } else if (arg_is(c, i, "type")) {
            if (arg_is(c, i + 1, "string")) k.type = KV_STR;
            else if (arg_is(c, i + 1, "list")) k.type = KV_LIST;
            else if (arg_is(c, i + 1, "hash")) k.type = KV_HASH;
            else k.type = 99;            /* a type kv lacks: nothing */
        } else {
            rp_error(c->out, "ERR syntax error");
            return;
        }
    }
    long long visits = count * 10;       /* redis's bound on empty buckets */
    do {
        size_t before = k.n;
        cur = dict_scan(&c->db->d, cur, collect_visit, &k);
        (void)before;
    } while (cur && visits-- && (long long)k.n < count);
    int n = snprintf(buf, sizeof buf, "%llu", cur);
    rp_array(c->out, 2);
    rp_bulk(c->out, buf, (size_t)n);
    rp_array(c->out, (long long)k.n);
    for (size_t i = 0; i < k.n; i++)
        rp_bulk(c->out, ent_key(k.v[i]), k.v[i]->klen);
    free(k.v);
}
