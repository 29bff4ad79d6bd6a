/*
 * fuzz_promtext.c — the exec plugin's Prometheus text parser
 * (plugins/exec/promtext.c), on a job's stdout as the plugin hands it
 * over: len bytes and one more writable byte after them.
 *
 * Invariants: the result is 0, -EINVAL (with a line within the input's
 * line count and a message) or -ENOMEM; on success every family, sample
 * and label string lies inside the buffer and is NUL-terminated there,
 * names are valid Prometheus names, each sample's family exists, its
 * labels are within the label array, and a sample's line is within the
 * input; parsing the same input again (the arrays reused) gives the same
 * counts.
 */
#include <errno.h>
#include <stdbool.h>
#include "fuzz.h"
#include "../../plugins/exec/promtext.h"

static bool inside(const char *p, const char *buf, size_t cap)
{
    return p >= buf && p < buf + cap && memchr(p, '\0', (size_t)(buf + cap - p));
}

static bool valid_name(const char *s, bool colon)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                  (colon && *p == ':') || (p > s && *p >= '0' && *p <= '9');
        if (!ok)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static prom_doc doc;
    prom_error err;
    size_t lines = 1;
    char *buf = malloc(size + 1);      /* exactly len + 1: ASan sees past it */
    if (!buf)
        abort();
    memcpy(buf, data, size);
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    int rc = prom_parse(&doc, buf, size, &err);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    if (rc == -EINVAL) {
        FUZZ_CHECK(err.line >= 1 && err.line <= lines && err.msg[0]);
    } else if (rc == 0) {
        size_t nfam = doc.nfam, nsmp = doc.nsmp;
        for (size_t i = 0; i < doc.nfam; i++) {
            FUZZ_CHECK(inside(doc.fam[i].name, buf, size + 1));
            FUZZ_CHECK(valid_name(doc.fam[i].name, true));
            FUZZ_CHECK(!doc.fam[i].help || inside(doc.fam[i].help, buf, size + 1));
            FUZZ_CHECK((unsigned)doc.fam[i].type <= PROM_SUMMARY);
        }
        for (size_t i = 0; i < doc.nsmp; i++) {
            const struct prom_sample *s = &doc.smp[i];
            FUZZ_CHECK(inside(s->name, buf, size + 1) && valid_name(s->name, true));
            FUZZ_CHECK(s->family < doc.nfam);
            FUZZ_CHECK(!strncmp(s->name, doc.fam[s->family].name,
                                strlen(doc.fam[s->family].name)));
            FUZZ_CHECK(s->line >= 1 && s->line <= lines);
            FUZZ_CHECK(s->label0 + s->nlabels <= doc.nlbl);
            for (size_t k = 0; k < s->nlabels; k++) {
                FUZZ_CHECK(inside(doc.lbl[s->label0 + k].name, buf, size + 1));
                FUZZ_CHECK(valid_name(doc.lbl[s->label0 + k].name, false));
                FUZZ_CHECK(inside(doc.lbl[s->label0 + k].value, buf, size + 1));
            }
        }
        /* again, from the original bytes, into the reused arrays */
        memcpy(buf, data, size);
        FUZZ_CHECK(prom_parse(&doc, buf, size, &err) == 0);
        FUZZ_CHECK(doc.nfam == nfam && doc.nsmp == nsmp);
    }
    free(buf);
    if (size % 64 == 0)
        prom_doc_free(&doc);           /* now and then: LSan sees the rest */
    return 0;
}
