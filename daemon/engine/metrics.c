/*
 * metrics.c — the registry of families and series, and the Prometheus
 * text renderer (tick/metrics.h).
 *
 * Objects:
 *   mname   one per family name in the output: HELP, TYPE, and the list
 *           of registrations (families) of that name from every scope;
 *           kept in name order, so the output order is stable;
 *   family  one registration (tick_metric_family), owned by a scope's
 *           owner record; its series (tick_metric) in registration order;
 *   owner   the side table entry of a scope that registered anything
 *           (hash by scope address: no field in tick_scope, no ABI change);
 *   top     the instance an owner belongs to (the scope under the root):
 *           its tickd_instance label, creation order, cancelled and
 *           superseded flags (the newest-incarnation rule).
 * Deletion while a cursor stands on an object: every object has a
 * reference count (cursors only) and a dead flag; a dead object stays
 * linked, so the cursor can step on from it, and is freed with its last
 * reference. Every object records the generation it was made in; a
 * cursor skips what is newer than its begin, so a series replaced between
 * two slices cannot be printed twice under one header.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "metrics_int.h"

enum fkind { F_PLAIN, F_CALLBACK, F_EXTERNAL };

struct mtop {
    tick_link link;             /* in tops */
    tick_link owners;           /* mowner.tlink: the scopes under it */
    const tick_scope *scope;
    char *label;
    uint64_t seq;
    unsigned refs;              /* owners below it */
    bool cancelled, superseded;
};

struct mowner {
    tick_link hlink;            /* in its hash bucket */
    tick_link tlink;            /* in top->owners */
    const tick_scope *scope;
    struct mtop *top;           /* NULL for the root scope */
    tick_link fams;             /* family.olink */
    tick_link slots;            /* slot.link */
    bool hidden;                /* the scope was cancelled */
};

struct mname {
    tick_link link;             /* in names, sorted */
    char *name, *help;          /* one block with the struct */
    enum tick_metric_type type;
    tick_link regs;             /* family.nlink, live and dead */
    unsigned live;              /* live families */
    unsigned refs;              /* cursors, publish in progress */
};

struct tick_metric_family {
    tick_link nlink;            /* in mn->regs once attached */
    tick_link olink;            /* in owner->fams, or set->fams */
    tick_link slink;            /* in slot->fams */
    struct mname *mn;
    struct mowner *owner;
    struct tick_metric_slot *slot;
    char *name, *help;
    enum tick_metric_type type;
    enum fkind kind;
    size_t nlabels, nbuckets;
    char **labels;
    double *buckets;
    tick_link series;
    tick_metric *single;        /* the series of a label-less plain family */
    tick_link *hb;              /* hash of the live series by label values, */
    size_t hnb, nlive;          /* made past HASH_MIN series (NULL before) */
    tick_metric_collect_fn fn;
    void (*release)(void *);
    void *user;
    unsigned refs;
    bool dead;
    uint64_t gen;
};

struct tick_metric {
    tick_link link;             /* in fam->series */
    tick_link hlink;            /* in fam->hb[], while live */
    uint32_t hash;
    tick_metric_family *fam;
    enum tick_metric_type type;
    unsigned refs;
    bool dead;
    uint64_t gen;
    double value;               /* counter, gauge; histogram: the sum */
    uint64_t count;             /* histogram */
    uint64_t *bucket;           /* histogram: nbuckets + 1, not cumulative */
    char **values;              /* nlabels */
};

struct tick_metric_set {
    tick_link fams;             /* family.olink, not attached */
    tick_metric_family **idx;
    size_t n, cap;
};

struct tick_metric_slot {
    tick_link link;             /* in owner->slots */
    struct mowner *owner;
    tick_link fams;             /* published: family.slink */
};

struct tick_metric_sink {
    tick_metrics_cursor *c;
    tick_metric_family *f;
};

enum cstate { C_NAME, C_REG, C_SERIES, C_END };

struct tick_metrics_cursor {
    uint64_t gen0, scrape;
    enum cstate state;
    struct mname *mn;
    tick_metric_family *fam;
    tick_metric *m;
    char *stage;
    size_t slen, soff, scap;
    int err;
};

static tick_link names = TICK_LINK_INIT(names);
/* The same entries in a sorted array, for binary search: registering N
 * names is O(N log N) comparisons, not O(N^2) list walks (statsd makes a
 * family per metric name: 10,000 and more). An insert or removal moves
 * the pointers after it (memmove: cheap, but O(N) bytes). */
static struct mname **nsorted;
static size_t nsorted_n, nsorted_cap;
static tick_link tops = TICK_LINK_INIT(tops);
static tick_link *obuckets;
static size_t onbuckets, nowners, nfamilies;
static uint64_t generation, scrapes, top_seq;
static tick__metrics_name_fn name_hook;

void tick__metrics_set_name_hook(tick__metrics_name_fn fn) { name_hook = fn; }
size_t tick__metrics_family_count(void) { return nfamilies; }
size_t tick__metrics_owner_count(void) { return nowners; }

/* ---- validation ------------------------------------------------------ */

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                  (colon && ch == ':') || (p != s && ch >= '0' && ch <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool reserved(const char *name)
{
    return strncmp(name, "tickd_", 6) == 0 || strncmp(name, "process_", 8) == 0;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* ---- families: making and freeing ------------------------------------ */

static void series_free(tick_metric *m)
{
    tick_link_remove(&m->link);
    tick_link_remove(&m->hlink);
    free(m);
}

/* ---- the series index: label values -> series ------------------------ */

/* Below this many series a family is searched linearly. */
#define HASH_MIN 16

static uint32_t values_hash(size_t n, const char *const *values)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
            h = (h ^ *p) * 16777619u;
        h = (h ^ 0xffu) * 16777619u;     /* a separator: ("ab","") != ("a","b") */
    }
    return h;
}

static void index_grow(tick_metric_family *f, size_t n)
{
    tick_link *hb = tick__malloc(n * sizeof *hb);
    if (!hb)
        return;                         /* longer chains or a linear search */
    for (size_t i = 0; i < n; i++)
        tick_link_init(&hb[i]);
    for (tick_link *l = f->series.next; l != &f->series; l = l->next) {
        tick_metric *m = tick_container_of(l, tick_metric, link);
        if (!m->dead) {
            tick_link_remove(&m->hlink);
            tick_list_append(&hb[m->hash & (n - 1)], &m->hlink);
        }
    }
    free(f->hb);
    f->hb = hb;
    f->hnb = n;
}

/* Append a new series to f (and its index). */
static void series_add(tick_metric_family *f, tick_metric *m)
{
    tick_list_append(&f->series, &m->link);
    f->nlive++;
    if (f->hb)
        tick_list_append(&f->hb[m->hash & (f->hnb - 1)], &m->hlink);
    if (f->nlabels && f->nlive >= HASH_MIN && f->nlive > 2 * f->hnb)
        index_grow(f, f->hnb ? f->hnb * 4 : 32);
}

/* The first index whose name is >= name (upper: > name). */
static size_t nsorted_bound(const char *name, bool upper)
{
    size_t lo = 0, hi = nsorted_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(nsorted[mid]->name, name);
        if (c < 0 || (upper && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void mname_maybe_free(struct mname *mn)
{
    if (mn->live == 0 && mn->refs == 0 && tick_list_empty(&mn->regs)) {
        for (size_t i = nsorted_bound(mn->name, false); i < nsorted_n; i++)
            if (nsorted[i] == mn) {
                memmove(nsorted + i, nsorted + i + 1, (nsorted_n - i - 1) * sizeof *nsorted);
                if (--nsorted_n == 0) {     /* nothing left: no memory held */
                    free(nsorted);
                    nsorted = NULL;
                    nsorted_cap = 0;
                }
                break;
            }
        tick_link_remove(&mn->link);
        free(mn);
    }
}

static void fam_free(tick_metric_family *f)
{
    while (!tick_list_empty(&f->series))
        series_free(tick_container_of(f->series.next, tick_metric, link));
    free(f->hb);
    struct mname *mn = f->mn;
    tick_link_remove(&f->nlink);
    tick_link_remove(&f->olink);
    tick_link_remove(&f->slink);
    free(f);
    if (mn)
        mname_maybe_free(mn);
}

/* From the desc: one block holding the family, its strings and arrays. */
static int fam_make(const tick_metric_desc *d, unsigned flags, enum fkind kind,
                    tick_metric_family **out)
{
    *out = NULL;
    if (!d || !valid_name(d->name, true) || (unsigned)d->type > TICK_METRIC_UNTYPED)
        return -EINVAL;
    if (d->type == TICK_METRIC_UNTYPED && kind != F_EXTERNAL)
        return -EINVAL;
    if (reserved(d->name) && !(flags & TICK__METRIC_DAEMON)) {
        tick__log(4, "metric '%s': the prefixes tickd_ and process_ are the "
                  "daemon's; not registered", d->name);
        return -EINVAL;
    }
    size_t nl = 0, strl = 0;
    for (; d->labels && d->labels[nl]; nl++) {
        const char *l = d->labels[nl];
        if (!valid_name(l, false) || strncmp(l, "__", 2) == 0 ||
            (d->type == TICK_METRIC_HISTOGRAM && strcmp(l, "le") == 0) ||
            (strcmp(l, "tickd_instance") == 0 && !(flags & TICK__METRIC_DAEMON)))
            return -EINVAL;
        for (size_t j = 0; j < nl; j++)
            if (strcmp(d->labels[j], l) == 0)
                return -EINVAL;
        strl += strlen(l) + 1;
    }
    size_t nb = d->type == TICK_METRIC_HISTOGRAM ? d->nbuckets : 0;
    if (nb && !d->buckets)
        return -EINVAL;
    for (size_t i = 0; i < nb; i++)
        if (!isfinite(d->buckets[i]) || (i && d->buckets[i] <= d->buckets[i - 1]))
            return -EINVAL;
    bool add_total = d->type == TICK_METRIC_COUNTER && !ends_with(d->name, "_total");
    const char *help = d->help ? d->help : "";
    size_t namel = strlen(d->name) + (add_total ? 6 : 0) + 1, helpl = strlen(help) + 1;
    size_t sz = sizeof(tick_metric_family) + nb * sizeof(double) + nl * sizeof(char *) +
                namel + helpl + strl;
    tick_metric_family *f = tick__calloc(1, sz);
    if (!f)
        return -ENOMEM;
    char *p = (char *)(f + 1);
    f->buckets = (double *)(void *)p;
    if (nb)
        memcpy(f->buckets, d->buckets, nb * sizeof(double));
    p += nb * sizeof(double);
    f->labels = (char **)(void *)p;
    p += nl * sizeof(char *);
    f->name = p;
    snprintf(p, namel, "%s%s", d->name, add_total ? "_total" : "");
    p += namel;
    f->help = p;
    memcpy(p, help, helpl);
    p += helpl;
    for (size_t i = 0; i < nl; i++) {
        size_t n = strlen(d->labels[i]) + 1;
        f->labels[i] = p;
        memcpy(p, d->labels[i], n);
        p += n;
    }
    f->nlabels = nl;
    f->nbuckets = nb;
    f->type = d->type;
    f->kind = kind;
    tick_link_init(&f->nlink);
    tick_link_init(&f->olink);
    tick_link_init(&f->slink);
    tick_link_init(&f->series);
    *out = f;
    return 0;
}

/* A series of f, not linked yet (one block). */
static tick_metric *series_make(tick_metric_family *f, const char *const *values)
{
    size_t strl = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values || !values[i])
            return NULL;
        strl += strlen(values[i]) + 1;
    }
    size_t nb = f->type == TICK_METRIC_HISTOGRAM ? f->nbuckets + 1 : 0;
    tick_metric *m = tick__calloc(1, sizeof *m + nb * sizeof(uint64_t) +
                                          f->nlabels * sizeof(char *) + strl);
    if (!m)
        return NULL;
    char *p = (char *)(m + 1);
    m->bucket = (uint64_t *)(void *)p;
    p += nb * sizeof(uint64_t);
    m->values = (char **)(void *)p;
    p += f->nlabels * sizeof(char *);
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = strlen(values[i]) + 1;
        m->values[i] = p;
        memcpy(p, values[i], n);
        p += n;
    }
    m->fam = f;
    m->type = f->type;
    m->gen = ++generation;
    m->hash = values_hash(f->nlabels, values);
    tick_link_init(&m->link);
    tick_link_init(&m->hlink);
    return m;
}

static bool series_is(const tick_metric *m, size_t n, const char *const *values)
{
    size_t i = 0;
    while (i < n && strcmp(m->values[i], values[i]) == 0)
        i++;
    return i == n;
}

static tick_metric *series_find(tick_metric_family *f, const char *const *values)
{
    if (f->hb) {
        uint32_t h = values_hash(f->nlabels, values);
        tick_link *b = &f->hb[h & (f->hnb - 1)];
        for (tick_link *l = b->next; l != b; l = l->next) {
            tick_metric *m = tick_container_of(l, tick_metric, hlink);
            if (m->hash == h && series_is(m, f->nlabels, values))
                return m;
        }
        return NULL;
    }
    for (tick_link *l = f->series.next; l != &f->series; l = l->next) {
        tick_metric *m = tick_container_of(l, tick_metric, link);
        if (!m->dead && series_is(m, f->nlabels, values))
            return m;
    }
    return NULL;
}

static void series_kill(tick_metric *m)
{
    if (m->dead)
        return;
    m->dead = true;
    m->fam->nlive--;
    tick_link_remove(&m->hlink);        /* never found again */
    if (m->fam->single == m)
        m->fam->single = NULL;
    if (m->refs == 0)
        series_free(m);
}

static void fam_kill(tick_metric_family *f)
{
    if (f->dead)
        return;
    f->dead = true;
    tick_link_remove(&f->olink);
    tick_link_remove(&f->slink);
    f->owner = NULL;                    /* read only while not dead */
    if (f->mn) {
        f->mn->live--;
        nfamilies--;
    }
    for (tick_link *l = f->series.next, *next; l != &f->series; l = next) {
        next = l->next;
        series_kill(tick_container_of(l, tick_metric, link));
    }
    if (f->release) {
        void (*rel)(void *) = f->release;
        f->release = NULL;
        rel(f->user);
    }
    f->fn = NULL;
    if (f->refs == 0)
        fam_free(f);
}

/* ---- owners (the side table) and tops ------------------------------- */

static size_t ohash(const tick_scope *s, size_t n)
{
    uintptr_t x = (uintptr_t)s;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 20) & (n - 1);
}

static struct mowner *owner_find(const tick_scope *s)
{
    if (!nowners)
        return NULL;
    tick_link *b = &obuckets[ohash(s, onbuckets)];
    for (tick_link *l = b->next; l != b; l = l->next) {
        struct mowner *o = tick_container_of(l, struct mowner, hlink);
        if (o->scope == s)
            return o;
    }
    return NULL;
}

static void rehash(size_t n)
{
    tick_link *nb = tick__malloc(n * sizeof *nb);
    if (!nb)
        return;                         /* longer chains, no harm */
    for (size_t i = 0; i < n; i++)
        tick_link_init(&nb[i]);
    for (size_t i = 0; i < onbuckets; i++)
        while (!tick_list_empty(&obuckets[i])) {
            tick_link *l = obuckets[i].next;
            struct mowner *o = tick_container_of(l, struct mowner, hlink);
            tick_link_remove(l);
            tick_list_append(&nb[ohash(o->scope, n)], l);
        }
    free(obuckets);
    obuckets = nb;
    onbuckets = n;
}

static const tick_scope *top_of(const tick_scope *s)
{
    if (!s->parent)
        return NULL;                    /* the root */
    while (s->parent->parent)
        s = s->parent;
    return s;
}

/* The newest incarnation of a label not cancelled is shown; older ones
 * of the same label are superseded while it lives. */
static void tops_recompute(const char *label)
{
    struct mtop *best = NULL;
    for (tick_link *l = tops.next; l != &tops; l = l->next) {
        struct mtop *t = tick_container_of(l, struct mtop, link);
        if (strcmp(t->label, label) != 0)
            continue;
        t->superseded = true;
        if (!t->cancelled && (!best || t->seq > best->seq))
            best = t;
    }
    if (best)
        best->superseded = false;
}

static struct mtop *top_get(const tick_scope *ts)
{
    for (tick_link *l = tops.next; l != &tops; l = l->next) {
        struct mtop *t = tick_container_of(l, struct mtop, link);
        if (t->scope == ts) {
            t->refs++;
            return t;
        }
    }
    const char *name = name_hook ? name_hook(ts) : tick_scope_name(ts);
    if (!name)
        name = "";
    size_t n = strlen(name) + 1;
    struct mtop *t = tick__calloc(1, sizeof *t + n);
    if (!t)
        return NULL;
    t->label = (char *)(t + 1);
    memcpy(t->label, name, n);
    t->scope = ts;
    t->seq = ++top_seq;
    t->refs = 1;
    t->cancelled = tick_scope_cancelled(ts);
    tick_link_init(&t->owners);
    tick_list_append(&tops, &t->link);
    tops_recompute(t->label);
    return t;
}

static void top_put(struct mtop *t)
{
    if (!t || --t->refs)
        return;
    tick_link_remove(&t->link);
    tops_recompute(t->label);
    free(t);
}

static struct mowner *owner_get(const tick_scope *s)
{
    struct mowner *o = owner_find(s);
    if (o)
        return o;
    if (!onbuckets) {
        rehash(64);
        if (!onbuckets)
            return NULL;
    } else if (nowners >= 2 * onbuckets) {
        rehash(onbuckets * 4);
    }
    o = tick__calloc(1, sizeof *o);
    if (!o)
        return NULL;
    const tick_scope *ts = top_of(s);
    if (ts && !(o->top = top_get(ts))) {
        free(o);
        return NULL;
    }
    o->scope = s;
    o->hidden = tick_scope_cancelled(s);
    tick_link_init(&o->tlink);
    if (o->top)
        tick_list_append(&o->top->owners, &o->tlink);
    tick_link_init(&o->fams);
    tick_link_init(&o->slots);
    tick_list_append(&obuckets[ohash(s, onbuckets)], &o->hlink);
    nowners++;
    return o;
}

static void slot_free(tick_metric_slot *sl);

static void owner_free(struct mowner *o)
{
    while (!tick_list_empty(&o->fams))
        fam_kill(tick_container_of(o->fams.next, tick_metric_family, olink));
    while (!tick_list_empty(&o->slots))
        slot_free(tick_container_of(o->slots.next, tick_metric_slot, link));
    tick_link_remove(&o->hlink);
    tick_link_remove(&o->tlink);
    top_put(o->top);
    nowners--;
    free(o);
    if (nowners == 0) {
        free(obuckets);
        obuckets = NULL;
        onbuckets = 0;
    }
}

void tick__metrics_scope_cancel(tick_scope *s)
{
    if (!nowners)
        return;
    struct mowner *o = owner_find(s);
    if (o)
        o->hidden = true;
    if (s->parent && !s->parent->parent)
        for (tick_link *l = tops.next; l != &tops; l = l->next) {
            struct mtop *t = tick_container_of(l, struct mtop, link);
            if (t->scope == s && !t->cancelled) {
                t->cancelled = true;
                tops_recompute(t->label);
                break;
            }
        }
}

void tick__metrics_scope_close(tick_scope *s)
{
    struct mowner *o = owner_find(s);
    if (o)
        owner_free(o);
}

/* ---- registration ---------------------------------------------------- */

/* The live name entry f joins: same name, type and HELP. A name can
 * have two entries for a while: an older incarnation's, with another
 * type or HELP, and its successor's; the newest rule shows one. */
static struct mname *mname_find(const tick_metric_family *f)
{
    for (size_t i = nsorted_bound(f->name, false); i < nsorted_n; i++) {
        struct mname *mn = nsorted[i];
        if (strcmp(mn->name, f->name) != 0)
            break;
        if (mn->live && mn->type == f->type && strcmp(mn->help, f->help) == 0)
            return mn;
    }
    return NULL;
}

static struct mname *mname_new(const tick_metric_family *f)
{
    size_t nl = strlen(f->name) + 1, hl = strlen(f->help) + 1;
    if (nsorted_n == nsorted_cap) {
        size_t cap = nsorted_cap ? nsorted_cap * 2 : 256;
        struct mname **ns = tick__realloc(nsorted, cap * sizeof *ns);
        if (!ns)
            return NULL;
        nsorted = ns;
        nsorted_cap = cap;
    }
    struct mname *mn = tick__calloc(1, sizeof *mn + nl + hl);
    if (!mn)
        return NULL;
    mn->name = (char *)(mn + 1);
    memcpy(mn->name, f->name, nl);
    mn->help = mn->name + nl;
    memcpy(mn->help, f->help, hl);
    mn->type = f->type;
    tick_link_init(&mn->regs);
    /* after every name <= it: a replacement of a dead one of the same name
     * comes after it, in the order cursors walk */
    size_t pos = nsorted_bound(f->name, true);
    tick_link *at = pos < nsorted_n ? &nsorted[pos]->link : &names;
    memmove(nsorted + pos + 1, nsorted + pos, (nsorted_n - pos) * sizeof *nsorted);
    nsorted[pos] = mn;
    nsorted_n++;
    /* insert before at */
    mn->link.next = at;
    mn->link.prev = at->prev;
    at->prev->next = &mn->link;
    at->prev = &mn->link;
    return mn;
}

static const char *const type_names[] = { "counter", "gauge", "histogram", "untyped" };

/* g belongs to an older incarnation of o's instance: one the newest
 * rule hides while o's lives. Its type and HELP may differ (a new module
 * version), so it is no conflict. */
static bool older_incarnation(const tick_metric_family *g, const struct mowner *o)
{
    const struct mtop *a = g->owner->top, *b = o->top;
    return a && b && a != b && a->seq < b->seq && strcmp(a->label, b->label) == 0;
}

/* Does o's instance (every scope under its top; the root scope alone
 * for the daemon's) have a live registered family named name? */
static bool instance_has(const struct mowner *o, const char *name)
{
    /* through the name's entries (the families of that name, few), not
     * the instance's families (statsd: thousands) */
    for (size_t i = nsorted_bound(name, false); i < nsorted_n; i++) {
        const struct mname *mn = nsorted[i];
        if (strcmp(mn->name, name) != 0)
            break;
        for (const tick_link *r = mn->regs.next; r != &mn->regs; r = r->next) {
            const tick_metric_family *g = tick_container_of(r, tick_metric_family, nlink);
            if (!g->dead && !g->slot &&
                (o->top ? g->owner->top == o->top : g->owner == o))
                return true;
        }
    }
    return false;
}

/* Does f clash with a live family of its name (other than those of
 * skip_slot and of older incarnations)? -EINVAL (logged) for type or
 * HELP, -EEXIST for one of the same instance. A name entry with f's
 * type and HELP cannot clash on them: only entries that differ are
 * walked, so that registering one family name in N instances is not
 * O(N) each. */
static int check_conflict(const tick_metric_family *f, const struct mowner *o,
                          const tick_metric_slot *skip_slot)
{
    for (size_t i = nsorted_bound(f->name, false); i < nsorted_n; i++) {
        struct mname *mn = nsorted[i];
        if (strcmp(mn->name, f->name) != 0)
            break;
        if (!mn->live || (mn->type == f->type && strcmp(mn->help, f->help) == 0))
            continue;
        for (tick_link *r = mn->regs.next; r != &mn->regs; r = r->next) {
            const tick_metric_family *g = tick_container_of(r, tick_metric_family, nlink);
            if (g->dead || (skip_slot && g->slot == skip_slot) || older_incarnation(g, o))
                continue;
            const char *who = g->owner->top ? g->owner->top->label : "the daemon";
            if (g->type != f->type) {
                tick__log(4, "metric '%s': type %s conflicts with %s registered by %s; "
                          "not registered", f->name, type_names[f->type],
                          type_names[g->type], who);
                return -EINVAL;
            }
            tick__log(4, "metric '%s': HELP text differs from the one registered "
                      "by %s; not registered", f->name, who);
            return -EINVAL;
        }
    }
    if (!skip_slot && !f->slot && instance_has(o, f->name))
        return -EEXIST;
    return 0;
}

/* Attach f to mn and o (no allocation). */
static void attach(tick_metric_family *f, struct mname *mn, struct mowner *o)
{
    f->mn = mn;
    f->owner = o;
    f->gen = ++generation;
    tick_list_append(&mn->regs, &f->nlink);
    tick_list_append(&o->fams, &f->olink);
    mn->live++;
    nfamilies++;
}

int tick__metric_register(tick_scope *s, const tick_metric_desc *d, unsigned flags,
                          tick_metric_collect_fn fn, void (*release)(void *), void *user,
                          tick_metric_family **out)
{
    tick_metric_family *f;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!s) {
        tick_loop *loop = tick_loop_current();
        if (!loop)
            return -EINVAL;
        s = tick_scope_current(loop);
    }
    int rc = fam_make(d, flags, fn ? F_CALLBACK : F_PLAIN, &f);
    if (rc < 0)
        return rc;
    struct mowner *o = owner_get(s);
    if (!o) {
        free(f);
        return -ENOMEM;
    }
    rc = check_conflict(f, o, NULL);
    struct mname *mn = rc < 0 ? NULL : mname_find(f);
    if (rc == 0 && !mn && !(mn = mname_new(f)))
        rc = -ENOMEM;
    if (rc == 0 && !fn && f->nlabels == 0) {
        /* the one series of a label-less family, made now: updating it
         * needs no lookup, and tick_metric_of() cannot fail */
        tick_metric *m = series_make(f, NULL);
        if (!m)
            rc = -ENOMEM;
        else {
            series_add(f, m);
            f->single = m;
        }
    }
    if (rc < 0) {
        fam_free(f);
        if (mn)
            mname_maybe_free(mn);
        if (tick_list_empty(&o->fams) && tick_list_empty(&o->slots))
            owner_free(o);
        return rc;
    }
    f->fn = fn;
    f->release = release;
    f->user = user;
    attach(f, mn, o);
    *out = f;
    return 0;
}

int tick_metric_family_new(const tick_metric_desc *d, tick_metric_family **out)
{
    return tick__metric_register(NULL, d, 0, NULL, NULL, NULL, out);
}

int tick_metric_family_callback(const tick_metric_desc *d, tick_metric_collect_fn fn,
                                void (*release)(void *), void *user,
                                tick_metric_family **out)
{
    if (!fn)
        return -EINVAL;
    return tick__metric_register(NULL, d, 0, fn, release, user, out);
}

void tick_metric_family_delete(tick_metric_family *f)
{
    if (f && f->kind != F_EXTERNAL)
        fam_kill(f);
}

int tick_metric_get(tick_metric_family *f, const char *const *values, tick_metric **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!f || f->dead || f->kind != F_PLAIN)
        return -EINVAL;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values || !values[i])
            return -EINVAL;
    tick_metric *m = f->nlabels ? series_find(f, values) : f->single;
    if (!m) {
        if (!(m = series_make(f, values)))
            return -ENOMEM;
        series_add(f, m);
        if (!f->nlabels)
            f->single = m;
    }
    *out = m;
    return 0;
}

tick_metric *tick_metric_of(tick_metric_family *f)
{
    return f && !f->dead && f->kind == F_PLAIN ? f->single : NULL;
}

void tick_metric_delete(tick_metric *m)
{
    if (m && m->fam->kind == F_PLAIN)
        series_kill(m);
}

/* ---- updates: plain stores ------------------------------------------- */

void tick_counter_add(tick_metric *m, double v)
{
    if (m && m->type == TICK_METRIC_COUNTER && v >= 0)
        m->value += v;
}

void tick_counter_inc(tick_metric *m)
{
    if (m && m->type == TICK_METRIC_COUNTER)
        m->value += 1;
}

void tick_gauge_set(tick_metric *m, double v)
{
    if (m && m->type == TICK_METRIC_GAUGE)
        m->value = v;
}

void tick_gauge_add(tick_metric *m, double v)
{
    if (m && m->type == TICK_METRIC_GAUGE)
        m->value += v;
}

void tick_histogram_observe(tick_metric *m, double v)
{
    if (!m || m->type != TICK_METRIC_HISTOGRAM)
        return;
    const double *b = m->fam->buckets;
    size_t lo = 0, hi = m->fam->nbuckets;
    /* the first bucket whose bound is >= v (le); NaN lands in +Inf */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= b[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    m->bucket[lo]++;
    m->count++;
    m->value += v;
}

double tick_metric_value(const tick_metric *m)
{
    if (!m)
        return 0;
    return m->type == TICK_METRIC_HISTOGRAM ? (double)m->count : m->value;
}

/* ---- external sets and slots ----------------------------------------- */

int tick_metric_set_new(tick_metric_set **out)
{
    if (!out)
        return -EINVAL;
    tick_metric_set *set = tick__calloc(1, sizeof *set);
    *out = set;
    if (!set)
        return -ENOMEM;
    tick_link_init(&set->fams);
    return 0;
}

void tick_metric_set_free(tick_metric_set *set)
{
    if (!set)
        return;
    while (!tick_list_empty(&set->fams))
        fam_free(tick_container_of(set->fams.next, tick_metric_family, olink));
    free(set->idx);
    free(set);
}

int tick_metric_set_family(tick_metric_set *set, const tick_metric_desc *d)
{
    tick_metric_family *f;
    if (!set)
        return -EINVAL;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        tick_metric_family **idx = tick__realloc(set->idx, cap * sizeof *idx);
        if (!idx)
            return -ENOMEM;
        set->idx = idx;
        set->cap = cap;
    }
    int rc = fam_make(d, 0, F_EXTERNAL, &f);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->idx[i]->name, f->name) == 0) {
            fam_free(f);
            return -EEXIST;
        }
    tick_list_append(&set->fams, &f->olink);
    set->idx[set->n] = f;
    return (int)set->n++;
}

static tick_metric *set_series(tick_metric_set *set, int family, const char *const *values)
{
    if (!set || family < 0 || (size_t)family >= set->n)
        return NULL;
    tick_metric_family *f = set->idx[family];
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values || !values[i])
            return NULL;
    tick_metric *m = series_find(f, values);
    if (!m && (m = series_make(f, values)))
        series_add(f, m);
    return m;
}

int tick_metric_set_sample(tick_metric_set *set, int family, const char *const *values,
                           double v)
{
    if (!set || family < 0 || (size_t)family >= set->n ||
        set->idx[family]->type == TICK_METRIC_HISTOGRAM)
        return -EINVAL;
    tick_metric *m = set_series(set, family, values);
    if (!m)
        return -ENOMEM;
    m->value = v;
    return 0;
}

int tick_metric_set_histogram(tick_metric_set *set, int family, const char *const *values,
                              const uint64_t *counts, double sum)
{
    if (!set || !counts || family < 0 || (size_t)family >= set->n ||
        set->idx[family]->type != TICK_METRIC_HISTOGRAM)
        return -EINVAL;
    tick_metric *m = set_series(set, family, values);
    if (!m)
        return -ENOMEM;
    m->count = 0;
    for (size_t i = 0; i <= set->idx[family]->nbuckets; i++) {
        m->bucket[i] = counts[i];
        m->count += counts[i];
    }
    m->value = sum;
    return 0;
}

int tick_metric_slot_new(tick_metric_slot **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    tick_loop *loop = tick_loop_current();
    if (!loop)
        return -EINVAL;
    struct mowner *o = owner_get(tick_scope_current(loop));
    if (!o)
        return -ENOMEM;
    tick_metric_slot *sl = tick__calloc(1, sizeof *sl);
    if (!sl) {
        if (tick_list_empty(&o->fams) && tick_list_empty(&o->slots))
            owner_free(o);
        return -ENOMEM;
    }
    sl->owner = o;
    tick_link_init(&sl->fams);
    tick_list_append(&o->slots, &sl->link);
    *out = sl;
    return 0;
}

static void slot_clear(tick_metric_slot *sl)
{
    while (!tick_list_empty(&sl->fams))
        fam_kill(tick_container_of(sl->fams.next, tick_metric_family, slink));
}

static void slot_free(tick_metric_slot *sl)
{
    slot_clear(sl);
    tick_link_remove(&sl->link);
    free(sl);
}

void tick_metric_slot_delete(tick_metric_slot *sl)
{
    if (sl)
        slot_free(sl);
}

int tick_metric_slot_publish(tick_metric_slot *sl, tick_metric_set *set)
{
    if (!sl) {
        tick_metric_set_free(set);
        return -EINVAL;
    }
    struct mowner *o = sl->owner;
    size_t n = set ? set->n : 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        set->idx[i]->slot = sl;
        if (reserved(set->idx[i]->name)) {
            tick__log(4, "metric '%s': the prefixes tickd_ and process_ are the "
                      "daemon's; set not published", set->idx[i]->name);
            rc = -EINVAL;
        } else {
            rc = check_conflict(set->idx[i], o, sl);
        }
    }
    /* every name found or made first (held by a reference), so that the
     * swap below cannot fail half-way */
    struct mname **mns = NULL;
    if (rc == 0 && n && !(mns = tick__calloc(n, sizeof *mns)))
        rc = -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        tick_metric_family *f = set->idx[i];
        struct mname *mn = mname_find(f);
        if (!mn)
            for (size_t j = 0; j < i; j++)
                if (strcmp(mns[j]->name, f->name) == 0)
                    mn = mns[j];
        if (!mn && !(mn = mname_new(f)))
            rc = -ENOMEM;
        if (mn) {
            mn->refs++;
            mns[i] = mn;
        }
    }
    if (rc == 0) {
        slot_clear(sl);
        for (size_t i = 0; i < n; i++) {
            tick_metric_family *f = set->idx[i];
            tick_link_remove(&f->olink);
            attach(f, mns[i], o);
            tick_list_append(&sl->fams, &f->slink);
            for (tick_link *l = f->series.next; l != &f->series; l = l->next)
                tick_container_of(l, tick_metric, link)->gen = f->gen;
        }
        if (set)
            set->n = 0;
    }
    for (size_t i = 0; mns && i < n; i++)
        if (mns[i]) {
            mns[i]->refs--;
            mname_maybe_free(mns[i]);
        }
    free(mns);
    tick_metric_set_free(set);
    return rc;
}

/* ---- rendering ------------------------------------------------------- */

static bool stage_grow(tick_metrics_cursor *c, size_t need)
{
    if (c->err)
        return false;
    if (c->slen + need <= c->scap)
        return true;
    size_t cap = c->scap ? c->scap : 1024;
    while (cap < c->slen + need)
        cap *= 2;
    char *p = tick__realloc(c->stage, cap);
    if (!p) {
        c->err = -ENOMEM;
        return false;
    }
    c->stage = p;
    c->scap = cap;
    return true;
}

static void put(tick_metrics_cursor *c, const char *s, size_t n)
{
    if (stage_grow(c, n)) {
        memcpy(c->stage + c->slen, s, n);
        c->slen += n;
    }
}

static void puts_(tick_metrics_cursor *c, const char *s) { put(c, s, strlen(s)); }

/* Label values escape \ " and newline; HELP escapes \ and newline. */
static void put_escaped(tick_metrics_cursor *c, const char *s, bool quote)
{
    size_t n = strlen(s);
    if (!stage_grow(c, 2 * n))
        return;
    char *o = c->stage + c->slen;
    for (; *s; s++) {
        if (*s == '\\') { *o++ = '\\'; *o++ = '\\'; }
        else if (*s == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else if (*s == '"' && quote) { *o++ = '\\'; *o++ = '"'; }
        else *o++ = *s;
    }
    c->slen = (size_t)(o - c->stage);
}

/* Go's strconv 'g' -1 is what Prometheus prints; the shortest of %.15g
 * and %.17g that reads back equal is close, and integers print plainly. */
static size_t fmt_double(char *out, double v)
{
    if (isnan(v))
        return (size_t)sprintf(out, "NaN");
    if (isinf(v))
        return (size_t)sprintf(out, v > 0 ? "+Inf" : "-Inf");
    if (v < 1e15 && v > -1e15 && v == (double)(int64_t)v) {
        int64_t x = (int64_t)v;
        char tmp[24];
        size_t n = 0;
        bool neg = x < 0;
        uint64_t u = neg ? (uint64_t)-x : (uint64_t)x;
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        size_t k = 0;
        if (neg)
            out[k++] = '-';
        while (n)
            out[k++] = tmp[--n];
        out[k] = '\0';
        return k;
    }
    int n = sprintf(out, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = sprintf(out, "%.17g", v);
    return (size_t)n;
}

static void put_double(tick_metrics_cursor *c, double v)
{
    char b[40];
    put(c, b, fmt_double(b, v));
}

static void put_u64(tick_metrics_cursor *c, uint64_t v)
{
    char b[24];
    put(c, b, (size_t)sprintf(b, "%llu", (unsigned long long)v));
}

/* {tickd_instance="..",name="value",...,le=".."} or nothing */
static void put_labels(tick_metrics_cursor *c, const tick_metric_family *f,
                       const char *const *values, const char *le)
{
    const char *inst = f->owner && f->owner->top ? f->owner->top->label : NULL;
    bool any = false;
    if (!inst && !f->nlabels && !le)
        return;
    put(c, "{", 1);
    if (inst) {
        puts_(c, "tickd_instance=\"");
        put_escaped(c, inst, true);
        put(c, "\"", 1);
        any = true;
    }
    for (size_t i = 0; i < f->nlabels; i++) {
        if (any)
            put(c, ",", 1);
        puts_(c, f->labels[i]);
        put(c, "=\"", 2);
        put_escaped(c, values[i], true);
        put(c, "\"", 1);
        any = true;
    }
    if (le) {
        if (any)
            put(c, ",", 1);
        puts_(c, "le=\"");
        puts_(c, le);
        put(c, "\"", 1);
    }
    put(c, "}", 1);
}

/* One line: NAME SUFFIX {labels[,le]} VALUE (an integer when ival). */
static void put_line(tick_metrics_cursor *c, const tick_metric_family *f, const char *suffix,
                     const char *const *values, const char *le, bool ival, double v,
                     uint64_t u)
{
    puts_(c, f->name);
    puts_(c, suffix);
    put_labels(c, f, values, le);
    put(c, " ", 1);
    if (ival)
        put_u64(c, u);
    else
        put_double(c, v);
    put(c, "\n", 1);
}

static void put_sample(tick_metrics_cursor *c, const tick_metric_family *f,
                       const char *const *values, double v, const uint64_t *buckets,
                       uint64_t count)
{
    if (f->type != TICK_METRIC_HISTOGRAM) {
        put_line(c, f, "", values, NULL, false, v, 0);
        return;
    }
    uint64_t cum = 0;
    char le[40];
    for (size_t i = 0; i <= f->nbuckets; i++) {
        cum += buckets[i];
        if (i < f->nbuckets)
            fmt_double(le, f->buckets[i]);
        else
            strcpy(le, "+Inf");
        put_line(c, f, "_bucket", values, le, true, 0, cum);
    }
    put_line(c, f, "_sum", values, NULL, false, v, 0);
    put_line(c, f, "_count", values, NULL, true, 0, count);
}

void tick_metric_emit(tick_metric_sink *sink, const char *const *values, double v)
{
    if (!sink || sink->f->type == TICK_METRIC_HISTOGRAM)
        return;
    for (size_t i = 0; i < sink->f->nlabels; i++)
        if (!values || !values[i])
            return;
    put_sample(sink->c, sink->f, values, v, NULL, 0);
}

void tick_metric_emit_histogram(tick_metric_sink *sink, const char *const *values,
                                const uint64_t *counts, double sum)
{
    if (!sink || !counts || sink->f->type != TICK_METRIC_HISTOGRAM)
        return;
    for (size_t i = 0; i < sink->f->nlabels; i++)
        if (!values || !values[i])
            return;
    uint64_t n = 0;
    for (size_t i = 0; i <= sink->f->nbuckets; i++)
        n += counts[i];
    put_sample(sink->c, sink->f, values, sum, counts, n);
}

uint64_t tick_metric_sink_scrape(const tick_metric_sink *sink)
{
    return sink ? sink->c->scrape : 0;
}

static bool fam_visible(const tick_metrics_cursor *c, const tick_metric_family *f)
{
    return !f->dead && f->gen <= c->gen0 && !f->owner->hidden &&
           !(f->owner->top && f->owner->top->superseded);
}

static tick_metric_family *next_reg(const tick_metrics_cursor *c, struct mname *mn,
                                    tick_metric_family *from)
{
    for (tick_link *l = from ? from->nlink.next : mn->regs.next; l != &mn->regs; l = l->next) {
        tick_metric_family *f = tick_container_of(l, tick_metric_family, nlink);
        if (fam_visible(c, f))
            return f;
    }
    return NULL;
}

static tick_metric *next_series(const tick_metrics_cursor *c, tick_metric_family *f,
                                tick_metric *from)
{
    for (tick_link *l = from ? from->link.next : f->series.next; l != &f->series; l = l->next) {
        tick_metric *m = tick_container_of(l, tick_metric, link);
        if (!m->dead && m->gen <= c->gen0)
            return m;
    }
    return NULL;
}

static void set_m(tick_metrics_cursor *c, tick_metric *m)
{
    if (m)
        m->refs++;
    tick_metric *old = c->m;
    c->m = m;
    if (old && --old->refs == 0 && old->dead)
        series_free(old);
}

static void set_fam(tick_metrics_cursor *c, tick_metric_family *f)
{
    set_m(c, NULL);
    if (f)
        f->refs++;
    tick_metric_family *old = c->fam;
    c->fam = f;
    if (old && --old->refs == 0 && old->dead)
        fam_free(old);
}

static void set_mn(tick_metrics_cursor *c, struct mname *mn)
{
    set_fam(c, NULL);
    if (mn)
        mn->refs++;
    struct mname *old = c->mn;
    c->mn = mn;
    if (old) {
        old->refs--;
        mname_maybe_free(old);
    }
}

/* The next piece of text into the stage (a header, a series, a callback's
 * output), or the end. */
static void produce(tick_metrics_cursor *c)
{
    for (;;) {
        switch (c->state) {
        case C_NAME: {
            tick_link *l = c->mn ? c->mn->link.next : names.next;
            struct mname *mn = l == &names ? NULL : tick_container_of(l, struct mname, link);
            set_mn(c, mn);
            if (!mn) {
                c->state = C_END;
                return;
            }
            if (!next_reg(c, mn, NULL))
                continue;
            c->state = C_REG;
            puts_(c, "# HELP ");
            puts_(c, mn->name);
            if (mn->help[0]) {
                put(c, " ", 1);
                put_escaped(c, mn->help, false);
            }
            puts_(c, "\n# TYPE ");
            puts_(c, mn->name);
            put(c, " ", 1);
            puts_(c, type_names[mn->type]);
            put(c, "\n", 1);
            return;
        }
        case C_REG: {
            tick_metric_family *f = next_reg(c, c->mn, c->fam);
            set_fam(c, f);
            if (!f) {
                c->state = C_NAME;
                continue;
            }
            if (f->kind == F_CALLBACK) {
                tick_metric_sink sink = { c, f };
                f->fn(f, &sink, f->user);
                if (c->slen)
                    return;
                continue;
            }
            c->state = C_SERIES;
            continue;
        }
        case C_SERIES: {
            tick_metric *m = c->fam->dead ? NULL : next_series(c, c->fam, c->m);
            set_m(c, m);
            if (!m) {
                c->state = C_REG;
                continue;
            }
            put_sample(c, c->fam, (const char *const *)m->values, m->value, m->bucket,
                       m->count);
            return;
        }
        case C_END:
            return;
        }
    }
}

int tick_metrics_render_begin(tick_metrics_cursor **out)
{
    if (!out)
        return -EINVAL;
    tick_metrics_cursor *c = tick__calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return -ENOMEM;
    c->gen0 = generation;
    c->scrape = ++scrapes;
    c->state = C_NAME;
    return 0;
}

ssize_t tick_metrics_render(tick_metrics_cursor *c, char *buf, size_t cap)
{
    if (!c || !buf || !cap)
        return -EINVAL;
    if (c->err)
        return c->err;
    size_t w = 0;
    while (w < cap) {
        if (c->soff < c->slen) {
            size_t n = c->slen - c->soff;
            if (n > cap - w)
                n = cap - w;
            memcpy(buf + w, c->stage + c->soff, n);
            c->soff += n;
            w += n;
            continue;
        }
        c->slen = c->soff = 0;
        if (c->state == C_END)
            break;
        produce(c);
        if (c->err) {
            c->slen = c->soff = 0;
            return w ? (ssize_t)w : c->err;
        }
    }
    return (ssize_t)w;
}

void tick_metrics_render_end(tick_metrics_cursor *c)
{
    if (!c)
        return;
    set_mn(c, NULL);
    free(c->stage);
    free(c);
}
