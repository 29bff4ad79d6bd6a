/*
 * statsd_parse.c — one statsd line into a series key and a value
 * (statsd_parse.h). Bounded: every output is checked against its buffer,
 * nothing is allocated, the input is never read past len.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_parse.h"

const char *const statsd_reason_names[STATSD_NREASONS] = {
    [STATSD_OK] = "ok",
    [STATSD_R_FORMAT] = "format",
    [STATSD_R_NAME] = "name",
    [STATSD_R_TYPE] = "type",
    [STATSD_R_VALUE] = "value",
    [STATSD_R_RATE] = "sample_rate",
    [STATSD_R_TAGS] = "tags",
    [STATSD_R_FIELD] = "field",
    [STATSD_R_NEGATIVE] = "negative_counter",
    [STATSD_R_EVENT] = "event",
    [STATSD_R_TRUNCATED] = "truncated",
    [STATSD_R_TYPE_CONFLICT] = "type_conflict",
    [STATSD_R_LABELS] = "label_mismatch",
    [STATSD_R_MAX_SERIES] = "max_series",
    [STATSD_R_SET_FULL] = "set_full",
    [STATSD_R_REGISTER] = "register",
};

static inline bool is_name_char(unsigned char c, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || (colon && c == ':');
}

/* Sanitise p[0..n) into out (cap bytes); the length, or -1 if too long. */
static long sanitise(const char *p, size_t n, bool colon, char *out, size_t cap)
{
    size_t o = 0;
    if (n && p[0] >= '0' && p[0] <= '9') {
        if (cap < 1)
            return -1;
        out[o++] = '_';
    }
    if (n > cap - o)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        out[o++] = is_name_char(c, colon) ? (char)c : '_';
    }
    return (long)o;
}

/* A finite number: digits fast, anything else through strtod on a copy
 * (the input is not NUL-terminated); only [0-9.eE+-] are let through, so
 * strtod's "inf", "nan" and hex forms never reach it. */
static bool parse_number(const char *p, size_t n, double *out)
{
    if (n == 0 || n > 63)
        return false;
    size_t i = 0;
    bool neg = false;
    if (p[0] == '-' || p[0] == '+') {
        neg = p[0] == '-';
        i = 1;
    }
    if (i < n && n - i <= 15) {
        uint64_t v = 0;
        size_t j = i;
        while (j < n && p[j] >= '0' && p[j] <= '9')
            v = v * 10 + (uint64_t)(p[j++] - '0');
        if (j == n) {
            *out = neg ? -(double)v : (double)v;
            return true;
        }
    }
    char buf[64];
    for (size_t k = 0; k < n; k++) {
        char c = p[k];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
              c == '+' || c == '-'))
            return false;
        buf[k] = c;
    }
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static const char *memchr_c(const char *p, const char *end, char c)
{
    const char *q = memchr(p, c, (size_t)(end - p));
    return q ? q : end;
}

struct tag { const char *k, *v; size_t kl, vl; };

static bool reserved_label(const char *k, size_t n)
{
    return (n >= 2 && k[0] == '_' && k[1] == '_') ||
           (n == 2 && memcmp(k, "le", 2) == 0) ||
           (n == 14 && memcmp(k, "tickd_instance", 14) == 0);
}

static int tag_cmp(const struct tag *a, const struct tag *b)
{
    size_t n = a->kl < b->kl ? a->kl : b->kl;
    int c = memcmp(a->k, b->k, n);
    return c ? c : (a->kl > b->kl) - (a->kl < b->kl);
}

/* Tags "k:v,k2:v2" into tags[] (keys sanitised into kbuf). */
static enum statsd_reason parse_tags(const char *p, const char *end, struct tag *tags,
                                     unsigned *ntags, unsigned *errors, char *kbuf,
                                     size_t kcap)
{
    size_t used = 0;
    while (p < end) {
        const char *comma = memchr_c(p, end, ',');
        const char *colon = memchr_c(p, comma, ':');
        if (colon == comma || colon == p || colon + 1 == comma) {
            if (comma > p)
                (*errors)++;             /* no key or no value: skipped */
            p = comma + (comma < end);
            continue;
        }
        long kl = sanitise(p, (size_t)(colon - p), false, kbuf + used, kcap - used);
        if (kl < 0)
            return STATSD_R_TAGS;
        if (reserved_label(kbuf + used, (size_t)kl)) {
            (*errors)++;
            p = comma + (comma < end);
            continue;
        }
        if (*ntags == STATSD_TAGS_MAX)
            return STATSD_R_TAGS;
        /* a value holding a separator (or a NUL) would make two keys one */
        for (const char *q = colon + 1; q < comma; q++)
            if ((unsigned char)*q <= (unsigned char)STATSD_SEP_VAL)
                return STATSD_R_TAGS;
        /* insertion sort: a few tags */
        struct tag t = { kbuf + used, colon + 1, (size_t)kl, (size_t)(comma - colon - 1) };
        used += (size_t)kl;
        unsigned i = *ntags;
        while (i > 0 && tag_cmp(&tags[i - 1], &t) > 0) {
            tags[i] = tags[i - 1];
            i--;
        }
        if (i > 0 && tag_cmp(&tags[i - 1], &t) == 0)
            return STATSD_R_TAGS;        /* a duplicate key */
        tags[i] = t;
        (*ntags)++;
        p = comma + (comma < end);
    }
    return STATSD_OK;
}

enum statsd_reason statsd_parse_line(const char *p, size_t len, struct statsd_line *out)
{
    const char *end = p + len;
    if (len && end[-1] == '\r')
        end--;
    if (end - p >= 3 && (memcmp(p, "_e{", 3) == 0 || memcmp(p, "_sc|", 3) == 0))
        return STATSD_R_EVENT;
    const char *colon = memchr_c(p, end, ':');
    if (colon == end)
        return STATSD_R_FORMAT;
    const char *bar = memchr_c(colon, end, '|');
    if (bar == end)
        return STATSD_R_FORMAT;
    if (colon == p)
        return STATSD_R_NAME;
    long nl = sanitise(p, (size_t)(colon - p), true, out->key, STATSD_NAME_MAX);
    if (nl < 0)
        return STATSD_R_NAME;
    out->name_len = (size_t)nl;

    /* the type */
    const char *tp = bar + 1, *te = memchr_c(tp, end, '|');
    size_t tl = (size_t)(te - tp);
    if (tl == 1 && tp[0] == 'c')
        out->type = STATSD_COUNTER;
    else if (tl == 1 && tp[0] == 'g')
        out->type = STATSD_GAUGE;
    else if (tl == 2 && tp[0] == 'm' && tp[1] == 's')
        out->type = STATSD_TIMER;
    else if (tl == 1 && (tp[0] == 'h' || tp[0] == 'd'))
        out->type = STATSD_HISTOGRAM;
    else if (tl == 1 && tp[0] == 's')
        out->type = STATSD_SET;
    else
        return STATSD_R_TYPE;

    /* the fields after it */
    struct tag tags[STATSD_TAGS_MAX];
    char kbuf[STATSD_KEY_MAX];
    out->ntags = 0;
    out->tag_errors = 0;
    out->rate = 1;
    bool have_rate = false, have_tags = false;
    for (const char *f = te; f < end;) {
        f++;                             /* the '|' */
        const char *fe = memchr_c(f, end, '|');
        if (fe > f && f[0] == '@' && !have_rate) {
            if (!parse_number(f + 1, (size_t)(fe - f - 1), &out->rate) ||
                !(out->rate > 0 && out->rate <= 1))
                return STATSD_R_RATE;
            have_rate = true;
        } else if (fe > f && f[0] == '#' && !have_tags) {
            enum statsd_reason r = parse_tags(f + 1, fe, tags, &out->ntags,
                                              &out->tag_errors, kbuf, sizeof kbuf);
            if (r != STATSD_OK)
                return r;
            have_tags = true;
        } else if (fe - f >= 2 && f[0] == 'c' && f[1] == ':') {
            ;                            /* DogStatsD container id: ignored */
        } else if (fe > f && f[0] == 'T') {
            ;                            /* DogStatsD timestamp: ignored */
        } else {
            return STATSD_R_FIELD;
        }
        f = fe;
    }

    /* the value */
    const char *v = colon + 1;
    size_t vl = (size_t)(bar - v);
    out->relative = false;
    if (out->type == STATSD_SET) {
        if (vl == 0)
            return STATSD_R_VALUE;
        out->set_value = v;
        out->set_len = vl;
        out->value = 0;
    } else {
        out->set_value = NULL;
        out->set_len = 0;
        if (!parse_number(v, vl, &out->value))
            return STATSD_R_VALUE;
        if (out->type == STATSD_GAUGE)
            out->relative = v[0] == '+' || v[0] == '-';
        if (out->type == STATSD_COUNTER) {
            if (out->value < 0)
                return STATSD_R_NEGATIVE;
            out->value /= out->rate;
        }
    }

    /* the series key: the name, then the sorted tags */
    size_t k = out->name_len;
    for (unsigned i = 0; i < out->ntags; i++) {
        if (2 + tags[i].kl + tags[i].vl > STATSD_KEY_MAX - k)
            return STATSD_R_TAGS;
        out->key[k++] = STATSD_SEP_KEY;
        memcpy(out->key + k, tags[i].k, tags[i].kl);
        k += tags[i].kl;
        out->key[k++] = STATSD_SEP_VAL;
        memcpy(out->key + k, tags[i].v, tags[i].vl);
        k += tags[i].vl;
    }
    out->key_len = k;
    return STATSD_OK;
}
