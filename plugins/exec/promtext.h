/*
 * promtext.h — the exec plugin's parser of the Prometheus text format
 * (0.0.4), for a job's stdout with `output = metrics`.
 *
 * Plain C, no tickd dependency: unit-tested (tests/unit/test_promtext.c)
 * and fuzzed (tests/fuzz/fuzz_promtext.c) alone.
 *
 * In place: the parser writes into the caller's text (NULs after names,
 * escapes resolved), and every string of the result points into it; the
 * arrays of struct prom_doc are grown once and reused by the next parse
 * (no allocation once they are big enough: a job's steady run).
 *
 * What is accepted, and what is refused (with the line number):
 *   - Lines end with '\n' (the last one may lack it). Blank lines and
 *     comments other than HELP and TYPE are ignored.
 *   - "# HELP name text": text escapes \\ and \n resolved; once per name.
 *   - "# TYPE name counter|gauge|untyped|histogram|summary": once per
 *     name, and before the family's first sample.
 *   - sample: name [{label="value",...}] value. Names as Prometheus's,
 *     label values with \\, \" and \n escapes, an optional trailing comma,
 *     a label name at most once per sample. Values: Go's float syntax as
 *     strtod reads it, plus NaN, +Inf, -Inf.
 *   - A timestamp after the value is refused, as node_exporter's textfile
 *     collector does: the daemon shows a value at scrape time, and a
 *     stale timestamp would make Prometheus drop the sample silently.
 *   - Histograms and summaries: a sample name_bucket / _sum / _count (and
 *     a summary's bare name) belongs to the family declared by TYPE; the
 *     plugin publishes their samples as untyped families of those names.
 *   - Refused too: a sample name or label name with a NUL or a bad byte,
 *     an unterminated label value, a '\r', bytes after the value.
 */
#ifndef PROMTEXT_H
#define PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

/* only the descriptor leaves the plugin */
#pragma GCC visibility push(hidden)

enum prom_type { PROM_UNTYPED, PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM, PROM_SUMMARY };

struct prom_family {
    const char *name;
    const char *help;          /* NULL: no HELP line */
    enum prom_type type;
    unsigned line;             /* of its first line */
    unsigned typed : 1;        /* a TYPE line was seen */
    unsigned nsamples;
};

struct prom_label {
    const char *name, *value;
};

struct prom_sample {
    const char *name;          /* the sample's own name (foo_bucket) */
    unsigned family;           /* index in doc->fam */
    unsigned line;
    size_t label0, nlabels;    /* doc->lbl[label0 .. label0 + nlabels) */
    double value;
};

typedef struct prom_doc {
    struct prom_family *fam;
    size_t nfam, capfam;
    struct prom_sample *smp;
    size_t nsmp, capsmp;
    struct prom_label *lbl;
    size_t nlbl, caplbl;
} prom_doc;

typedef struct prom_error {
    unsigned line;             /* 1-based; 0 for out of memory */
    char msg[96];
} prom_error;

/* Parse text[0..len) (written into: see above; text[len] must exist and
 * may be written too; a NUL byte in the text is an error) into doc (zeroed at first, reset here). 0, -EINVAL (err says
 * where and why; doc holds what came before), -ENOMEM. */
int prom_parse(prom_doc *doc, char *text, size_t len, prom_error *err);
void prom_doc_free(prom_doc *doc);
const char *prom_type_name(enum prom_type t);

#pragma GCC visibility pop

#endif /* PROMTEXT_H */
