/*
 * publish.c — a job's parsed stdout into an external metric set
 * (tick/metrics.h), published whole in the job's slot: a scrape sees the
 * last good run's series or the new ones, never a mix.
 *
 * The metrics API gives a family fixed label names, the text format lets
 * each sample have its own: a family's label names are the union over
 * its samples (in order of first appearance), a sample lacking one gets
 * "" (Prometheus reads an empty label value as an absent label).
 * Counters and gauges keep their type (the API appends _total to a
 * counter name lacking it); histograms and summaries are published as
 * untyped families named after their samples (foo_bucket with its le
 * label, foo_sum, foo_count): the API's histograms have fixed buckets per
 * family, a text input has whatever it has. Untyped stays untyped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

struct outfam {
    const char *name;
    const char **lnames;         /* NULL-terminated once built */
    size_t nl, capl;
    int idx;                     /* in the set */
};

/* A sample's slot among its family's three: plain families use 0. */
static unsigned part(const struct prom_family *f, const char *sample)
{
    if (f->type != PROM_HISTOGRAM && f->type != PROM_SUMMARY)
        return 0;
    const char *s = sample + strlen(f->name);
    if (!strcmp(s, "_sum"))
        return 1;
    if (!strcmp(s, "_count"))
        return 2;
    return 0;                    /* _bucket, or a summary's quantiles */
}

static bool reserved(const char *name)
{
    return !strncmp(name, "tickd_", 6) || !strncmp(name, "process_", 8);
}

int exec_publish(struct exec_job *j, unsigned *line, char *msg, size_t msglen)
{
    prom_doc *d = &j->doc;
    struct outfam *of = NULL;
    const char **vals = NULL;
    tick_metric_set *set = NULL;
    size_t maxl = 0;
    int rc = -ENOMEM;

    *line = 0;
    if (d->nfam && !(of = calloc(d->nfam * 3, sizeof *of)))
        goto out;
    for (size_t i = 0; i < d->nsmp; i++) {
        const struct prom_sample *s = &d->smp[i];
        const struct prom_family *f = &d->fam[s->family];
        struct outfam *o = &of[s->family * 3 + part(f, s->name)];
        if (!o->name) {
            o->name = (f->type == PROM_HISTOGRAM || f->type == PROM_SUMMARY) ? s->name : f->name;
            if (reserved(o->name)) {
                *line = s->line;
                snprintf(msg, msglen, "%.40s: the prefixes tickd_ and process_ are the daemon's",
                         o->name);
                rc = -EINVAL;
                goto out;
            }
        }
        for (size_t k = 0; k < s->nlabels; k++) {
            const char *ln = d->lbl[s->label0 + k].name;
            size_t m = 0;
            while (m < o->nl && strcmp(o->lnames[m], ln))
                m++;
            if (m < o->nl)
                continue;
            if (o->nl + 2 > o->capl) {
                size_t cap = o->capl ? o->capl * 2 : 4;
                const char **p = realloc(o->lnames, cap * sizeof *p);
                if (!p)
                    goto out;
                o->lnames = p;
                o->capl = cap;
            }
            o->lnames[o->nl++] = ln;
            o->lnames[o->nl] = NULL;
            if (o->nl > maxl)
                maxl = o->nl;
        }
    }
    if ((rc = tick_metric_set_new(&set)) < 0)
        goto out;
    rc = -ENOMEM;
    if (!(vals = calloc(maxl + 1, sizeof *vals)))
        goto out;
    for (size_t i = 0; i < d->nfam * 3; i++) {
        struct outfam *o = &of[i];
        const struct prom_family *f = &d->fam[i / 3];
        if (!o->name)
            continue;
        enum tick_metric_type t = f->type == PROM_COUNTER ? TICK_METRIC_COUNTER :
                                  f->type == PROM_GAUGE ? TICK_METRIC_GAUGE : TICK_METRIC_UNTYPED;
        /* no HELP line: one text for every job, as node_exporter's textfile
         * collector gives one ("Metric read from FILE"), so two jobs
         * printing one name do not conflict over it */
        const char *help = f->help ? f->help : "Metric read from an exec job's output.";
        o->idx = tick_metric_set_family(set, &(tick_metric_desc){ .name = o->name,
                                        .help = help, .type = t, .labels = o->lnames });
        if (o->idx < 0) {
            rc = o->idx;
            if (rc == -ENOMEM)
                goto out;
            *line = f->line;
            snprintf(msg, msglen, "%.40s: %s", o->name,
                     rc == -EEXIST ? "a family of this name twice (after _total or a suffix)"
                                   : "refused by the metrics API (a label name like __x, "
                                     "tickd_instance or le?)");
            rc = -EINVAL;
            goto out;
        }
    }
    for (size_t i = 0; i < d->nsmp; i++) {
        const struct prom_sample *s = &d->smp[i];
        const struct prom_family *f = &d->fam[s->family];
        struct outfam *o = &of[s->family * 3 + part(f, s->name)];
        for (size_t m = 0; m < o->nl; m++) {
            vals[m] = "";
            for (size_t k = 0; k < s->nlabels; k++)
                if (!strcmp(d->lbl[s->label0 + k].name, o->lnames[m]))
                    vals[m] = d->lbl[s->label0 + k].value;
        }
        rc = tick_metric_set_sample(set, o->idx, o->nl ? vals : NULL, s->value);
        if (rc < 0)
            goto out;
    }
    rc = tick_metric_slot_publish(j->slot, set);      /* takes the set */
    set = NULL;
    if (rc == -EINVAL) {
        snprintf(msg, msglen, "refused by the metrics API: a name another instance or the "
                 "daemon has with another type or HELP (logged above)");
    }
out:
    if (rc == -ENOMEM)
        snprintf(msg, msglen, "out of memory");
    tick_metric_set_free(set);
    free(vals);
    for (size_t i = 0; of && i < d->nfam * 3; i++)
        free(of[i].lnames);
    free(of);
    return rc;
}
