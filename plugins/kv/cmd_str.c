/*
 * cmd_str.c — string commands, redis 7.0's replies and errors.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cmd.h"

bool arg_ll(kv_ctx *c, int i, long long *v)
{
    if (!resp_str2ll(c->argv[i], c->len[i], v)) {
        rp_error(c->out, "ERR value is not an integer or out of range");
        return false;
    }
    return true;
}

bool arg_is(kv_ctx *c, int i, const char *word)
{
    return c->len[i] == strlen(word) && strncasecmp(c->argv[i], word, c->len[i]) == 0;
}

/* The key's entry if it is a string (else WRONGTYPE is replied and *bad). */
kv_ent **lookup_type(kv_ctx *c, int i, int type, bool *bad)
{
    kv_ent **pp = db_lookup(c->db, c->argv[i], c->len[i]);
    *bad = false;
    if (pp && (*pp)->type != type) {
        rp_error(c->out, WRONGTYPE);
        *bad = true;
        return NULL;
    }
    return pp;
}

static bool put_str(kv_ctx *c, kv_ent **pp, int ki, const char *v, size_t vl, int64_t exp)
{
    /* A string over a string, the expiry's layout unchanged, that fits
     * the old entry's allocation: in place, no malloc, free or rehash
     * of the key (SET over an existing key, the common case). The
     * rewrite's mark (spare) stays: aof_rewrite_after sets it anyway. */
    if (pp && (*pp)->type == KV_STR && (bool)(*pp)->has_exp == (exp >= 0)) {
        kv_ent *e = *pp;
        size_t need = sizeof(kv_ent) + (exp >= 0 ? 8 : 0) + e->klen + vl + 1;
        if (need <= malloc_usable_size(e)) {
            if (exp >= 0)
                memcpy(e->data, &exp, 8);
            memmove(ent_val(e), v, vl);  /* v may be the old value (APPEND) */
            ent_val(e)[vl] = 0;
            e->vlen = (uint32_t)vl;
            e->lru = c->db->lru_clock;
            c->dirty++;
            return true;
        }
    }
    kv_ent *e = ent_new(c->db, KV_STR, c->argv[ki], c->len[ki], exp, v, vl);
    if (!e || db_put(c->db, pp, e) < 0) {
        rp_error(c->out, "OOM out of memory");
        return false;
    }
    c->dirty++;
    return true;
}

void cmd_get(kv_ctx *c)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (bad)
        return;
    if (!pp)
        rp_null(c->out);
    else
        rp_bulk(c->out, ent_val(*pp), (*pp)->vlen);
}

/* EX/PX/EXAT/PXAT value into an absolute ms time; false: replied. */
static bool expire_arg(kv_ctx *c, int i, int unit_ms, bool absolute, const char *cmd,
                       int64_t *out)
{
    long long v;
    if (!arg_ll(c, i, &v))
        return false;
    if (v <= 0 || (unit_ms == 1000 && v > LLONG_MAX / 1000)) {
        rp_errorf(c->out, "ERR invalid expire time in '%s' command", cmd);
        return false;
    }
    v *= unit_ms;
    if (!absolute) {
        if (v > LLONG_MAX - c->db->now_ms) {
            rp_errorf(c->out, "ERR invalid expire time in '%s' command", cmd);
            return false;
        }
        v += c->db->now_ms;
    }
    *out = v;
    return true;
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] */
void cmd_set(kv_ctx *c)
{
    enum { NX = 1, XX = 2, GET = 4, EX = 8, KEEP = 16 };
    unsigned f = 0;
    int64_t exp = -1;

    for (int i = 3; i < c->argc; i++) {
        bool more = i + 1 < c->argc;
        if (arg_is(c, i, "nx") && !(f & (XX))) {
            f |= NX;
        } else if (arg_is(c, i, "xx") && !(f & NX)) {
            f |= XX;
        } else if (arg_is(c, i, "get")) {
            f |= GET;
        } else if (arg_is(c, i, "keepttl") && !(f & EX)) {
            f |= KEEP;
        } else if (!(f & (EX | KEEP)) && more &&
                   (arg_is(c, i, "ex") || arg_is(c, i, "px") ||
                    arg_is(c, i, "exat") || arg_is(c, i, "pxat"))) {
            f |= EX;
            i++;
        } else {
            rp_error(c->out, "ERR syntax error");
            return;
        }
    }
    /* the expiry's value is checked after the syntax, as redis does */
    for (int i = 3; i < c->argc; i++) {
        int unit = 0;
        bool abs = false;
        if (arg_is(c, i, "ex")) unit = 1000;
        else if (arg_is(c, i, "px")) unit = 1;
        else if (arg_is(c, i, "exat")) unit = 1000, abs = true;
        else if (arg_is(c, i, "pxat")) unit = 1, abs = true;
        if (unit && i + 1 < c->argc) {
            if (!expire_arg(c, i + 1, unit, abs, "set", &exp))
                return;
            i++;
        }
    }
    kv_ent **pp = db_lookup(c->db, c->argv[1], c->len[1]);
    if ((f & GET) && pp && (*pp)->type != KV_STR) {
        rp_error(c->out, WRONGTYPE);
        return;
    }
    if ((f & NX && pp) || (f & XX && !pp)) {
        if (f & GET) {
            if (pp)
                rp_bulk(c->out, ent_val(*pp), (*pp)->vlen);
            else
                rp_null(c->out);
        } else {
            rp_null(c->out);
        }
        return;
    }
    if ((f & KEEP) && pp)
        exp = ent_exp(*pp);
    if (f & GET) {
        if (pp)
            rp_bulk(c->out, ent_val(*pp), (*pp)->vlen);
        else
            rp_null(c->out);
    }
    if (!put_str(c, pp, 1, c->argv[2], c->len[2], exp))
        return;
    if (exp >= 0 && !(f & KEEP)) {
        /* logged with an absolute time, so a replay expires it alike */
        char ts[24];
        int n = snprintf(ts, sizeof ts, "%lld", (long long)exp);
        const char *av[] = { "SET", c->argv[1], c->argv[2], "PXAT", ts };
        size_t al[] = { 3, c->len[1], c->len[2], 4, (size_t)n };
        kv_aof_log(c->kv, 5, av, al);
        c->logged = true;
    } else if (f & GET) {
        const char *av[] = { "SET", c->argv[1], c->argv[2], "KEEPTTL" };
        size_t al[] = { 3, c->len[1], c->len[2], 7 };
        kv_aof_log(c->kv, (f & KEEP) ? 4 : 3, av, al);
        c->logged = true;
    }
    if (exp >= 0 && exp <= c->db->now_ms) {       /* already past */
        kv_ent **q = db_find(c->db, c->argv[1], c->len[1]);
        (void)q;
    }
    if (!(f & GET))
        rp_ok(c->out);
}

void cmd_setnx(kv_ctx *c)
{
    kv_ent **pp = db_lookup(c->db, c->argv[1], c->len[1]);
    if (pp) {
        rp_int(c->out, 0);
        return;
    }
    if (put_str(c, NULL, 1, c->argv[2], c->len[2], -1))
        rp_int(c->out, 1);
}

void cmd_setex(kv_ctx *c)
{
    int64_t exp;
    if (!expire_arg(c, 2, 1000, false, "setex", &exp))
        return;
    kv_ent **pp = db_lookup(c->db, c->argv[1], c->len[1]);
    if (!put_str(c, pp, 1, c->argv[3], c->len[3], exp))
        return;
    char ts[24];
    int n = snprintf(ts, sizeof ts, "%lld", (long long)exp);
    const char *av[] = { "SET", c->argv[1], c->argv[3], "PXAT", ts };
    size_t al[] = { 3, c->len[1], c->len[3], 4, (size_t)n };
    kv_aof_log(c->kv, 5, av, al);
    c->logged = true;
    rp_ok(c->out);
}

void cmd_getset(kv_ctx *c)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (bad)
        return;
    if (pp)
        rp_bulk(c->out, ent_val(*pp), (*pp)->vlen);
    else
        rp_null(c->out);
    put_str(c, pp, 1, c->argv[2], c->len[2], -1);
}

void cmd_getdel(kv_ctx *c)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (bad)
        return;
    if (!pp) {
        rp_null(c->out);
        return;
    }
    rp_bulk(c->out, ent_val(*pp), (*pp)->vlen);
    db_del(c->db, pp);
    c->dirty++;
}

void cmd_mget(kv_ctx *c)
{
    rp_array(c->out, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        kv_ent **pp = db_lookup(c->db, c->argv[i], c->len[i]);
        if (!pp || (*pp)->type != KV_STR)
            rp_null(c->out);
        else
            rp_bulk(c->out, ent_val(*pp), (*pp)->vlen);
    }
}

static bool mset_args(kv_ctx *c)
{
    if (c->argc % 2 == 0) {
        rp_errorf(c->out, "ERR wrong number of arguments for '%s' command",
                  arg_is(c, 0, "msetnx") ? "msetnx" : "mset");
        return false;
    }
    return true;
}

void cmd_mset(kv_ctx *c)
{
    if (!mset_args(c))
        return;
    for (int i = 1; i < c->argc; i += 2) {
        kv_ent **pp = db_find(c->db, c->argv[i], c->len[i]);
        if (!put_str(c, pp, i, c->argv[i + 1], c->len[i + 1], -1))
            return;
    }
    rp_ok(c->out);
}

void cmd_msetnx(kv_ctx *c)
{
    if (!mset_args(c))
        return;
    for (int i = 1; i < c->argc; i += 2)
        if (db_find(c->db, c->argv[i], c->len[i])) {
            rp_int(c->out, 0);
            return;
        }
    for (int i = 1; i < c->argc; i += 2) {
        kv_ent **pp = db_find(c->db, c->argv[i], c->len[i]);
        if (!put_str(c, pp, i, c->argv[i + 1], c->len[i + 1], -1))
            return;
    }
    rp_int(c->out, 1);
}

void cmd_append(kv_ctx *c)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (bad)
        return;
    if (!pp) {
        if (put_str(c, NULL, 1, c->argv[2], c->len[2], -1))
            rp_int(c->out, (long long)c->len[2]);
        return;
    }
    kv_ent *e = *pp;
    size_t old = e->vlen, add = c->len[2];
    if (old + add > 512ull * 1024 * 1024) {
        rp_error(c->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    size_t hdr = (size_t)(ent_val(e) - (char *)e);
    kv_ent *n = kv_realloc(&c->db->mem, e, hdr + old + add + 1);
    if (!n) {
        rp_error(c->out, "OOM out of memory");
        return;
    }
    *pp = n;
    memcpy(ent_val(n) + old, c->argv[2], add);
    n->vlen = (uint32_t)(old + add);
    ent_val(n)[n->vlen] = 0;
    c->dirty++;
    rp_int(c->out, (long long)n->vlen);
}

void cmd_strlen(kv_ctx *c)
{
    bool bad;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (!bad)
        rp_int(c->out, pp ? (long long)(*pp)->vlen : 0);
}

/* Store the decimal v as the string value of argv[1] (keeping the TTL). */
static bool store_num(kv_ctx *c, kv_ent **pp, const char *s, size_t n)
{
    if (pp && (*pp)->vlen >= n) {        /* in place: no allocation */
        memcpy(ent_val(*pp), s, n);
        (*pp)->vlen = (uint32_t)n;
        ent_val(*pp)[n] = 0;
        c->dirty++;
        return true;
    }
    return put_str(c, pp, 1, s, n, pp ? ent_exp(*pp) : -1);
}

static void incr_by(kv_ctx *c, long long by)
{
    bool bad;
    long long v = 0;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (bad)
        return;
    if (pp && !resp_str2ll(ent_val(*pp), (*pp)->vlen, &v)) {
        rp_error(c->out, "ERR value is not an integer or out of range");
        return;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        rp_error(c->out, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    char buf[24];
    size_t n = kv_ll2s(buf, v);
    if (store_num(c, pp, buf, n))
        rp_int(c->out, v);
}

void cmd_incr(kv_ctx *c) { incr_by(c, 1); }
void cmd_decr(kv_ctx *c) { incr_by(c, -1); }

void cmd_incrby(kv_ctx *c)
{
    long long by;
    if (arg_ll(c, 2, &by))
        incr_by(c, by);
}

void cmd_decrby(kv_ctx *c)
{
    long long by;
    if (!arg_ll(c, 2, &by))
        return;
    if (by == LLONG_MIN) {
        rp_error(c->out, "ERR decrement would overflow");
        return;
    }
    incr_by(c, -by);
}

/* redis's string2ld: strict, no spaces, no nan. */
bool parse_ld(const char *s, size_t n, long double *out)
{
    char buf[5600];
    char *end;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
        return false;
    errno = 0;
    long double v = strtold(buf, &end);
    if (*end || isnan(v) || (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)))
        return false;
    *out = v;
    return true;
}

/* redis's ld2string(LD_STR_HUMAN): %.17Lf with trailing zeros cut. */
int ld_format(char *buf, size_t cap, long double v)
{
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n <= 0 || (size_t)n >= cap)
        return -1;
    if (strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0')
            n--;
        if (n > 0 && buf[n - 1] == '.')
            n--;
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        n = 1;
    }
    buf[n] = 0;
    return n;
}

void cmd_incrbyfloat(kv_ctx *c)
{
    bool bad;
    long double v = 0, by;
    kv_ent **pp = lookup_type(c, 1, KV_STR, &bad);
    if (bad)
        return;
    if (pp && !parse_ld(ent_val(*pp), (*pp)->vlen, &v)) {
        rp_error(c->out, "ERR value is not a valid float");
        return;
    }
    if (!parse_ld(c->argv[2], c->len[2], &by)) {
        rp_error(c->out, "ERR value is not a valid float");
        return;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        rp_error(c->out, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5600];
    int n = ld_format(buf, sizeof buf, v);
    if (n < 0) {
        rp_error(c->out, "ERR value is not a valid float");
        return;
    }
    if (!store_num(c, pp, buf, (size_t)n))
        return;
    /* logged as the resulting value (a replay must not round twice) */
    const char *av[] = { "SET", c->argv[1], buf, "KEEPTTL" };
    size_t al[] = { 3, c->len[1], (size_t)n, 7 };
    kv_aof_log(c->kv, 4, av, al);
    c->logged = true;
    rp_bulk(c->out, buf, (size_t)n);
}
