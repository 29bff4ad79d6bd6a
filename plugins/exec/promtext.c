/*
 * promtext.c — the Prometheus text format parser (promtext.h).
 *
 * One pass over the lines; each line is parsed in place with a cursor.
 * Family lookup: the family of the previous sample first (a family's
 * samples come together in practice), then a linear search; a document
 * with thousands of families interleaved would be quadratic, which the
 * plugin's output size cap bounds.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

struct cur {
    char *p, *end;             /* the line, without its '\n' */
    unsigned line;
    prom_error *err;
};

static int fail(struct cur *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct cur *c, const char *fmt, ...)
{
    va_list ap;
    c->err->line = c->line;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * size);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

const char *prom_type_name(enum prom_type t)
{
    static const char *const names[] = { "untyped", "counter", "gauge", "histogram", "summary" };
    return (unsigned)t < 5 ? names[t] : "?";
}

static bool name_start(char ch, bool colon)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (colon && ch == ':');
}

static bool name_char(char ch, bool colon)
{
    return name_start(ch, colon) || (ch >= '0' && ch <= '9');
}

static void skip_blanks(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* A name at the cursor; *c->p is left on the byte after it (not yet
 * NUL-terminated: the caller terminates once it has looked at that byte). */
static char *take_name(struct cur *c, bool colon)
{
    char *s = c->p;
    if (c->p >= c->end || !name_start(*c->p, colon))
        return NULL;
    while (c->p < c->end && name_char(*c->p, colon))
        c->p++;
    return s;
}

static int find_family(prom_doc *d, const char *name)
{
    for (size_t i = d->nfam; i-- > 0;)
        if (strcmp(d->fam[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int new_family(prom_doc *d, const char *name, unsigned line)
{
    if (grow((void **)&d->fam, &d->capfam, d->nfam, sizeof *d->fam) < 0)
        return -ENOMEM;
    d->fam[d->nfam] = (struct prom_family){ .name = name, .type = PROM_UNTYPED, .line = line };
    return (int)d->nfam++;
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && memcmp(s + n - k, suf, k) == 0;
}

/* Does sample name s belong to family f? */
static bool belongs(const struct prom_family *f, const char *s)
{
    size_t fl = strlen(f->name), sl = strlen(s);
    if (strcmp(f->name, s) == 0)
        return f->type != PROM_HISTOGRAM;
    if (sl <= fl || memcmp(s, f->name, fl) != 0)
        return false;
    s += fl;
    if (f->type == PROM_HISTOGRAM)
        return !strcmp(s, "_bucket") || !strcmp(s, "_sum") || !strcmp(s, "_count");
    if (f->type == PROM_SUMMARY)
        return !strcmp(s, "_sum") || !strcmp(s, "_count");
    return false;
}

/* The family of sample name s (made untyped if none fits). */
static int family_of(prom_doc *d, const char *s, int last, unsigned line)
{
    if (last >= 0 && belongs(&d->fam[last], s))
        return last;
    int i = find_family(d, s);
    if (i >= 0 && belongs(&d->fam[i], s))
        return i;
    size_t sl = strlen(s);
    static const char *const sufs[] = { "_bucket", "_sum", "_count" };
    for (size_t k = 0; k < 3; k++)
        if (ends_with(s, sl, sufs[k])) {
            size_t bl = sl - strlen(sufs[k]);
            for (size_t j = d->nfam; j-- > 0;)
                if (strlen(d->fam[j].name) == bl && !memcmp(d->fam[j].name, s, bl) &&
                    belongs(&d->fam[j], s))
                    return (int)j;
        }
    if (i >= 0)          /* a histogram's bare name: refused by the caller */
        return -2;
    return new_family(d, s, line);
}

/* Unescape in place from c->p (after the opening quote) up to the closing
 * quote; returns the start, NUL-terminated, cursor after the quote. */
static char *take_quoted(struct cur *c)
{
    char *s = c->p, *w = c->p;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"') {
            *w = '\0';
            return s;
        }
        if (ch == '\\') {
            if (c->p >= c->end)
                return NULL;
            ch = *c->p++;
            if (ch == 'n')
                ch = '\n';
            else if (ch != '\\' && ch != '"')
                return NULL;
        }
        *w++ = ch;
    }
    return NULL;
}

static int parse_value(struct cur *c, double *v)
{
    char *s = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        c->p++;
    size_t n = (size_t)(c->p - s);
    if (n == 0)
        return fail(c, "a value is missing");
    char save = *c->p;          /* a blank, the '\n' or text[len]: put back */
    *c->p = '\0';
    int rc = 0;
    if (!strcmp(s, "NaN"))
        *v = NAN;
    else if (!strcmp(s, "+Inf") || !strcmp(s, "Inf"))
        *v = INFINITY;
    else if (!strcmp(s, "-Inf"))
        *v = -INFINITY;
    else {
        /* strtod takes "nan", "infinity", hex; Go's ParseFloat takes them
         * too (case-insensitive): accept what strtod reads whole, but no
         * leading blank (excluded above) */
        char *e;
        errno = 0;
        *v = strtod(s, &e);
        if (e != s + n || (errno == ERANGE && fabs(*v) < 1))
            rc = fail(c, "bad value '%.32s'", s);
    }
    *c->p = save;
    return rc;
}

static int parse_comment(prom_doc *d, struct cur *c)
{
    c->p++;                                    /* '#' */
    skip_blanks(c);
    bool help;
    if (c->end - c->p >= 4 && !memcmp(c->p, "HELP", 4))
        help = true;
    else if (c->end - c->p >= 4 && !memcmp(c->p, "TYPE", 4))
        help = false;
    else
        return 0;                              /* a plain comment */
    c->p += 4;
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        return 0;                              /* "# HELPER": a comment */
    skip_blanks(c);
    char *name = take_name(c, true);
    if (!name)
        return fail(c, "# %s without a valid metric name", help ? "HELP" : "TYPE");
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        return fail(c, "bad byte in metric name");
    char *after = c->p;
    skip_blanks(c);
    *after = '\0';       /* after < end or == end: end holds '\n' or the NUL slot */
    int i = find_family(d, name);
    if (i < 0 && (i = new_family(d, name, c->line)) < 0)
        return -ENOMEM;
    struct prom_family *f = &d->fam[i];
    if (help) {
        if (f->help)
            return fail(c, "second HELP for %.40s", name);
        char *s = c->p, *w = c->p;
        while (c->p < c->end) {
            char ch = *c->p++;
            if (ch == '\\' && c->p < c->end && (*c->p == '\\' || *c->p == 'n')) {
                ch = *c->p++ == 'n' ? '\n' : '\\';
            }
            *w++ = ch;
        }
        *w = '\0';
        f->help = s;
        return 0;
    }
    if (f->typed)
        return fail(c, "second TYPE for %.40s", name);
    if (f->nsamples)
        return fail(c, "TYPE for %.40s after its samples", name);
    char *t = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        c->p++;
    size_t tl = (size_t)(c->p - t);
    skip_blanks(c);
    if (c->p != c->end)
        return fail(c, "bytes after the type");
    static const char *const names[] = { "untyped", "counter", "gauge", "histogram", "summary" };
    for (int k = 0; k < 5; k++)
        if (strlen(names[k]) == tl && !memcmp(names[k], t, tl)) {
            f->type = (enum prom_type)k;
            f->typed = 1;
            return 0;
        }
    return fail(c, "unknown type '%.*s'", (int)(tl > 20 ? 20 : tl), t);
}

static int parse_sample(prom_doc *d, struct cur *c, int *last)
{
    char *name = take_name(c, true);
    if (!name)
        return fail(c, "bad metric name");
    char *after = c->p;
    size_t label0 = d->nlbl;
    if (c->p < c->end && *c->p != '{' && *c->p != ' ' && *c->p != '\t')
        return fail(c, "bad byte in metric name");
    skip_blanks(c);
    bool braces = c->p < c->end && *c->p == '{';
    if (braces)
        c->p++;
    *after = '\0';              /* looked at: '{', a blank or the line end */
    while (braces) {
        skip_blanks(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            break;
        }
        char *ln = take_name(c, false);
        if (!ln)
            return fail(c, "bad label name");
        char *lend = c->p;
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '=')     /* ln is not terminated yet */
            return fail(c, "'=' expected after label %.*s",
                        (int)(lend - ln > 40 ? 40 : lend - ln), ln);
        c->p++;
        *lend = '\0';
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '"')
            return fail(c, "'\"' expected for label %.40s", ln);
        c->p++;
        char *lv = take_quoted(c);
        if (!lv)
            return fail(c, "bad or unterminated value of label %.40s", ln);
        for (size_t k = label0; k < d->nlbl; k++)
            if (!strcmp(d->lbl[k].name, ln))
                return fail(c, "label %.40s twice", ln);
        if (grow((void **)&d->lbl, &d->caplbl, d->nlbl, sizeof *d->lbl) < 0)
            return -ENOMEM;
        d->lbl[d->nlbl++] = (struct prom_label){ ln, lv };
        skip_blanks(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            break;
        }
        return fail(c, "',' or '}' expected after label %.40s", ln);
    }
    skip_blanks(c);
    double v = 0;
    int rc = parse_value(c, &v);
    if (rc < 0)
        return rc;
    skip_blanks(c);
    if (c->p != c->end)
        return fail(c, "a timestamp or other bytes after the value (timestamps are not supported)");
    int fi = family_of(d, name, *last, c->line);
    if (fi == -ENOMEM)
        return -ENOMEM;
    if (fi < 0)
        return fail(c, "sample %.40s does not fit its histogram's TYPE", name);
    if (grow((void **)&d->smp, &d->capsmp, d->nsmp, sizeof *d->smp) < 0)
        return -ENOMEM;
    d->smp[d->nsmp++] = (struct prom_sample){ .name = name, .family = (unsigned)fi,
        .line = c->line, .label0 = label0, .nlabels = d->nlbl - label0, .value = v };
    d->fam[fi].nsamples++;
    *last = fi;
    return 0;
}

int prom_parse(prom_doc *d, char *text, size_t len, prom_error *err)
{
    struct cur c = { .err = err };
    int last = -1;
    char *p = text, *end = text + len;

    d->nfam = d->nsmp = d->nlbl = 0;
    err->line = 0;
    err->msg[0] = '\0';
    /* A NUL anywhere would cut a name short silently. */
    if (memchr(text, '\0', len)) {
        c.line = 1;
        for (char *q = text; *q; q++)
            c.line += *q == '\n';
        return fail(&c, "a NUL byte");
    }
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        c.line++;
        c.p = p;
        c.end = nl ? nl : end;
        if (memchr(c.p, '\r', (size_t)(c.end - c.p)))
            return fail(&c, "a carriage return (lines end with \\n)");
        skip_blanks(&c);
        int rc = 0;
        if (c.p == c.end)
            ;
        else if (*c.p == '#')
            rc = parse_comment(d, &c);
        else
            rc = parse_sample(d, &c, &last);
        if (rc == -ENOMEM) {
            err->line = 0;
            snprintf(err->msg, sizeof err->msg, "out of memory");
            return rc;
        }
        if (rc < 0)
            return rc;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

void prom_doc_free(prom_doc *d)
{
    free(d->fam);
    free(d->smp);
    free(d->lbl);
    *d = (prom_doc){ 0 };
}
