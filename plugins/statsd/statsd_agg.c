/*
 * statsd_agg.c — the series table (statsd_agg.h).
 *
 * One owner: the table owns its entries (sd_series, sd_family, sd_set,
 * malloc'd); the metrics they point to are the instance scope's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_agg.h"

struct sd_set {
    uint64_t *slot;              /* open addressing; 0 = empty */
    uint32_t mask, n;
    bool shown;                  /* a window has ended: the gauge shows the last */
};

struct sd_family {
    struct sd_family *next;      /* hash chain */
    uint64_t hash;
    tick_metric_family *fam;
    enum statsd_type type;
    uint32_t nseries;
    uint32_t sig_len;            /* labels: "\1k1\1k2...", the tag keys */
    char *sig;
    uint32_t name_len;
    char name[];
};

struct sd_series {
    struct sd_series *next;      /* hash chain */
    uint64_t hash;
    tick_metric *m;
    struct sd_family *fam;
    struct sd_set *set;          /* sets only */
    uint64_t last_ns;            /* last update */
    uint32_t idx;                /* in a->all */
    uint32_t key_len;
    char key[];
};

int statsd_agg_init(struct statsd_agg *a)
{
    size_t n = 1024;
    a->tab = calloc(n, sizeof *a->tab);
    a->ftab = calloc(n, sizeof *a->ftab);
    if (!a->tab || !a->ftab) {
        free(a->tab);
        free(a->ftab);
        a->tab = NULL;
        a->ftab = NULL;
        return -ENOMEM;
    }
    a->tab_mask = a->ftab_mask = n - 1;
    return 0;
}

/* ---- sets -------------------------------------------------------------- */

static bool set_add(struct sd_set *s, uint64_t h)
{
    if (h == 0)
        h = 1;
    if (!s->slot || (s->n + 1) * 2 > s->mask + 1) {
        if (s->n >= STATSD_SET_MAX) {
            /* full: a value already in is fine, a new one is refused */
            for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
                if (s->slot[i] == h)
                    return true;
                if (!s->slot[i])
                    return false;
            }
        }
        uint32_t nn = s->slot ? (s->mask + 1) * 2 : 16;
        uint64_t *ns = calloc(nn, sizeof *ns);
        if (!ns)
            return false;
        for (uint32_t i = 0; s->slot && i <= s->mask; i++)
            if (s->slot[i])
                for (uint32_t j = (uint32_t)s->slot[i] & (nn - 1);; j = (j + 1) & (nn - 1))
                    if (!ns[j]) {
                        ns[j] = s->slot[i];
                        break;
                    }
        free(s->slot);
        s->slot = ns;
        s->mask = nn - 1;
    }
    for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == h)
            return true;
        if (!s->slot[i]) {
            s->slot[i] = h;
            s->n++;
            return true;
        }
    }
}

void statsd_agg_set_window(struct statsd_agg *a)
{
    for (size_t i = 0; i < a->nseries; i++) {
        struct sd_set *s = a->all[i]->set;
        if (!s)
            continue;
        tick_gauge_set(a->all[i]->m, s->n);
        s->shown = true;
        s->n = 0;
        if (s->slot) {
            /* a set that stays small gives its memory back */
            if (s->mask + 1 > 1024) {
                free(s->slot);
                s->slot = NULL;
                s->mask = 0;
            } else {
                memset(s->slot, 0, (s->mask + 1) * sizeof *s->slot);
            }
        }
    }
}

/* ---- families ---------------------------------------------------------- */

static const char *const help_of[STATSD_NTYPES] = {
    [STATSD_COUNTER] = "statsd counter (c).",
    [STATSD_GAUGE] = "statsd gauge (g).",
    [STATSD_TIMER] = "statsd timer (ms), in seconds.",
    [STATSD_HISTOGRAM] = "statsd histogram (h).",
    [STATSD_SET] = "statsd set (s): distinct values in the last set_window.",
};

static const enum tick_metric_type mtype_of[STATSD_NTYPES] = {
    [STATSD_COUNTER] = TICK_METRIC_COUNTER, [STATSD_GAUGE] = TICK_METRIC_GAUGE,
    [STATSD_TIMER] = TICK_METRIC_HISTOGRAM, [STATSD_HISTOGRAM] = TICK_METRIC_HISTOGRAM,
    [STATSD_SET] = TICK_METRIC_GAUGE,
};

/* The tag keys of the key's tags: "\1k1\1k2" into sig; its length. */
static size_t label_sig(const struct statsd_line *l, char *sig)
{
    size_t n = 0;
    for (size_t i = l->name_len; i < l->key_len; i++) {
        if (l->key[i] == STATSD_SEP_KEY) {
            sig[n++] = STATSD_SEP_KEY;
            for (i++; l->key[i] != STATSD_SEP_VAL; i++)
                sig[n++] = l->key[i];
        }
    }
    return n;
}

static void grow_ftab(struct statsd_agg *a)
{
    size_t n = (a->ftab_mask + 1) * 2;
    struct sd_family **t = calloc(n, sizeof *t);
    if (!t)
        return;                          /* longer chains, still correct */
    for (size_t i = 0; i <= a->ftab_mask; i++)
        for (struct sd_family *f = a->ftab[i], *next; f; f = next) {
            next = f->next;
            f->next = t[f->hash & (n - 1)];
            t[f->hash & (n - 1)] = f;
        }
    free(a->ftab);
    a->ftab = t;
    a->ftab_mask = n - 1;
}

static enum statsd_reason family_for(struct statsd_agg *a, const struct statsd_line *l,
                                     struct sd_family **out)
{
    uint64_t h = statsd_hash(l->key, l->name_len);
    char sig[STATSD_KEY_MAX];
    size_t sl = label_sig(l, sig);
    for (struct sd_family *f = a->ftab[h & a->ftab_mask]; f; f = f->next)
        if (f->hash == h && f->name_len == l->name_len &&
            memcmp(f->name, l->key, l->name_len) == 0) {
            if (!f->fam)
                return STATSD_R_REGISTER;    /* refused before: not again */
            if (f->type != l->type)
                return STATSD_R_TYPE_CONFLICT;
            if (f->sig_len != sl || memcmp(f->sig, sig, sl) != 0)
                return STATSD_R_LABELS;
            *out = f;
            return STATSD_OK;
        }

    /* a new family: NUL-terminated name and label names */
    struct sd_family *f = malloc(sizeof *f + l->name_len + 1 + sl + 1);
    if (!f)
        return STATSD_R_REGISTER;
    memcpy(f->name, l->key, l->name_len);
    f->name[l->name_len] = 0;
    f->name_len = (uint32_t)l->name_len;
    f->sig = f->name + l->name_len + 1;
    memcpy(f->sig, sig, sl);
    f->sig[sl] = 0;
    f->sig_len = (uint32_t)sl;
    f->hash = h;
    f->type = l->type;
    f->nseries = 0;

    char names[STATSD_KEY_MAX];
    const char *labels[STATSD_TAGS_MAX + 1];
    size_t nl = 0;
    memcpy(names, sig, sl);
    names[sl] = 0;
    for (size_t i = 0; i < sl; i++)
        if (names[i] == STATSD_SEP_KEY) {
            names[i] = 0;
            labels[nl++] = names + i + 1;
        }
    labels[nl] = NULL;
    bool hist = mtype_of[l->type] == TICK_METRIC_HISTOGRAM;
    tick_metric_desc d = {
        .name = f->name, .help = help_of[l->type], .type = mtype_of[l->type],
        .labels = nl ? labels : NULL,
        .buckets = hist ? a->buckets : NULL, .nbuckets = hist ? a->nbuckets : 0,
    };
    bool ok = tick_metric_family_new(&d, &f->fam) == 0;
    if (!ok) {
        /* a clash with another family (foo_total as a gauge beside the
         * counter foo; another instance's type; a reserved prefix): the
         * metrics API logs it. Remember the refusal, so that each later
         * line is a cheap drop and not one more log line; at most
         * STATSD_REFUSED_MAX names (beyond, not remembered: logged) */
        f->fam = NULL;
        if (a->nrefused >= STATSD_REFUSED_MAX) {
            free(f);
            return STATSD_R_REGISTER;
        }
        a->nrefused++;
    }
    if (a->nfamilies >= a->ftab_mask + 1)
        grow_ftab(a);
    f->next = a->ftab[h & a->ftab_mask];
    a->ftab[h & a->ftab_mask] = f;
    a->nfamilies++;
    *out = f;
    return ok ? STATSD_OK : STATSD_R_REGISTER;
}

static void family_unlink(struct statsd_agg *a, struct sd_family *f)
{
    for (struct sd_family **p = &a->ftab[f->hash & a->ftab_mask]; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    a->nfamilies--;
}

/* ---- series ------------------------------------------------------------ */

static void grow_tab(struct statsd_agg *a)
{
    size_t n = (a->tab_mask + 1) * 2;
    struct sd_series **t = calloc(n, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i <= a->tab_mask; i++)
        for (struct sd_series *s = a->tab[i], *next; s; s = next) {
            next = s->next;
            s->next = t[s->hash & (n - 1)];
            t[s->hash & (n - 1)] = s;
        }
    free(a->tab);
    a->tab = t;
    a->tab_mask = n - 1;
}

static enum statsd_reason series_make(struct statsd_agg *a, const struct statsd_line *l,
                                      uint64_t h, struct sd_series **out);

static enum statsd_reason series_new(struct statsd_agg *a, const struct statsd_line *l,
                                     uint64_t h, struct sd_series **out)
{
    if (a->nseries >= a->max_series)
        return STATSD_R_MAX_SERIES;
    tick_scope *prev = a->scope ? tick_scope_enter(a->loop, a->scope) : NULL;
    enum statsd_reason r = series_make(a, l, h, out);
    if (a->scope)
        tick_scope_enter(a->loop, prev);
    return r;
}

static enum statsd_reason series_make(struct statsd_agg *a, const struct statsd_line *l,
                                      uint64_t h, struct sd_series **out)
{
    struct sd_family *f;
    enum statsd_reason r = family_for(a, l, &f);
    if (r != STATSD_OK)
        return r;
    if (a->nseries == a->all_cap) {
        size_t cap = a->all_cap ? a->all_cap * 2 : 1024;
        struct sd_series **all = realloc(a->all, cap * sizeof *all);
        if (!all)
            goto fail;
        a->all = all;
        a->all_cap = cap;
    }
    struct sd_series *s = calloc(1, sizeof *s + l->key_len);
    if (!s)
        goto fail;
    /* the label values, NUL-terminated, in the family's label order */
    char vals[STATSD_KEY_MAX];
    const char *values[STATSD_TAGS_MAX + 1];
    size_t nv = 0, vl = l->key_len - l->name_len;
    memcpy(vals, l->key + l->name_len, vl);
    vals[vl] = 0;
    for (size_t i = 0; i < vl; i++) {
        if (vals[i] == STATSD_SEP_KEY)
            vals[i] = 0;
        else if (vals[i] == STATSD_SEP_VAL) {
            vals[i] = 0;
            values[nv++] = vals + i + 1;
        }
    }
    values[nv] = NULL;
    if (l->type == STATSD_SET && !(s->set = calloc(1, sizeof *s->set))) {
        free(s);
        goto fail;
    }
    if (tick_metric_get(f->fam, nv ? values : NULL, &s->m) < 0) {
        free(s->set);
        free(s);
        goto fail;
    }
    s->hash = h;
    s->fam = f;
    s->key_len = (uint32_t)l->key_len;
    memcpy(s->key, l->key, l->key_len);
    f->nseries++;
    if (a->nseries >= a->tab_mask + 1)
        grow_tab(a);
    s->next = a->tab[h & a->tab_mask];
    a->tab[h & a->tab_mask] = s;
    s->idx = (uint32_t)a->nseries;
    a->all[a->nseries++] = s;
    *out = s;
    return STATSD_OK;
fail:
    if (f->nseries == 0) {               /* made for this line alone */
        family_unlink(a, f);
        tick_metric_family_delete(f->fam);
        free(f);
    }
    return STATSD_R_REGISTER;
}

static void series_free(struct statsd_agg *a, struct sd_series *s, bool metrics)
{
    struct sd_family *f = s->fam;
    for (struct sd_series **p = &a->tab[s->hash & a->tab_mask]; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    a->all[s->idx] = a->all[--a->nseries];
    a->all[s->idx]->idx = s->idx;
    if (metrics)
        tick_metric_delete(s->m);
    if (s->set)
        free(s->set->slot);
    free(s->set);
    free(s);
    if (--f->nseries == 0) {
        /* the last series of its name: the name may come back with other
         * tag keys or another type */
        family_unlink(a, f);
        if (metrics)
            tick_metric_family_delete(f->fam);
        free(f);
    }
}

enum statsd_reason statsd_agg_apply(struct statsd_agg *a, const struct statsd_line *l,
                                    uint64_t now_ns)
{
    uint64_t h = statsd_hash(l->key, l->key_len);
    struct sd_series *s = a->tab[h & a->tab_mask];
    while (s && !(s->hash == h && s->key_len == l->key_len &&
                  memcmp(s->key, l->key, l->key_len) == 0))
        s = s->next;
    enum statsd_reason r;
    if (!s && (r = series_new(a, l, h, &s)) != STATSD_OK)
        return r;
    if (s->fam->type != l->type)
        return STATSD_R_TYPE_CONFLICT;
    s->last_ns = now_ns;
    switch (l->type) {
    case STATSD_COUNTER:
        tick_counter_add(s->m, l->value);
        break;
    case STATSD_GAUGE:
        if (l->relative)
            tick_gauge_add(s->m, l->value);
        else
            tick_gauge_set(s->m, l->value);
        break;
    case STATSD_TIMER:
    case STATSD_HISTOGRAM: {
        double v = l->type == STATSD_TIMER ? l->value / 1000 : l->value;
        unsigned times = 1;
        if (l->rate < 1) {
            double t = floor(1 / l->rate + 0.5);
            times = t > STATSD_OBSERVE_MAX ? STATSD_OBSERVE_MAX : (unsigned)t;
        }
        for (unsigned i = 0; i < times; i++)
            tick_histogram_observe(s->m, v);
        break;
    }
    case STATSD_SET:
        if (!set_add(s->set, statsd_hash(l->set_value, l->set_len)))
            return STATSD_R_SET_FULL;
        if (!s->set->shown)
            tick_gauge_set(s->m, s->set->n);
        break;
    default:
        break;
    }
    return STATSD_OK;
}

size_t statsd_agg_sweep(struct statsd_agg *a, uint64_t now_ns, size_t budget)
{
    size_t deleted = 0;
    while (budget-- > 0 && a->nseries > 0) {
        if (a->sweep_at >= a->nseries)
            a->sweep_at = 0;
        struct sd_series *s = a->all[a->sweep_at];
        if (now_ns - s->last_ns >= a->expire_ns) {
            series_free(a, s, true);     /* the last one moved here: look again */
            deleted++;
        } else {
            a->sweep_at++;
        }
    }
    a->expired += deleted;
    return deleted;
}

void statsd_agg_free(struct statsd_agg *a)
{
    while (a->nseries > 0)
        series_free(a, a->all[a->nseries - 1], false);
    for (size_t i = 0; i <= a->ftab_mask && a->ftab; i++)     /* refused ones */
        for (struct sd_family *f = a->ftab[i], *next; f; f = next) {
            next = f->next;
            free(f);
        }
    free(a->all);
    free(a->tab);
    free(a->ftab);
    a->all = NULL;
    a->tab = NULL;
    a->ftab = NULL;
}
