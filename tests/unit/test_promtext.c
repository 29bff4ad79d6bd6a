/* test_promtext.c — the exec plugin's Prometheus text parser
 * (plugins/exec/promtext.c), alone: what node_exporter's textfile
 * collector reads, and every refusal with its line number. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "promtext.h"

static prom_doc doc;
static prom_error err;
static char text[8192];

/* Parse s (copied: the parser writes into its text). */
static int parse(const char *s)
{
    size_t n = strlen(s);
    ck_assert_uint_lt(n, sizeof text);
    memcpy(text, s, n + 1);
    return prom_parse(&doc, text, n, &err);
}

static void teardown(void)
{
    prom_doc_free(&doc);
}

static const char *label(const struct prom_sample *s, const char *name)
{
    for (size_t k = 0; k < s->nlabels; k++)
        if (!strcmp(doc.lbl[s->label0 + k].name, name))
            return doc.lbl[s->label0 + k].value;
    return NULL;
}

START_TEST(node_exporter_style)
{
    ck_assert_int_eq(parse(
        "# HELP node_textfile_demo A demo gauge.\n"
        "# TYPE node_textfile_demo gauge\n"
        "node_textfile_demo{device=\"sda\",mode=\"rw\"} 42.5\n"
        "node_textfile_demo{device=\"sdb\"} -1e3\n"
        "\n"
        "# a comment\n"
        "# TYPE jobs_total counter\n"
        "jobs_total 7\n"
        "untyped_thing{a=\"x\",} +Inf\n"
        "nan_one NaN\n"
        "last_line_without_newline 1"), 0);
    ck_assert_uint_eq(doc.nfam, 4 + 1);
    ck_assert_uint_eq(doc.nsmp, 6);
    ck_assert_str_eq(doc.fam[0].name, "node_textfile_demo");
    ck_assert_str_eq(doc.fam[0].help, "A demo gauge.");
    ck_assert_int_eq(doc.fam[0].type, PROM_GAUGE);
    ck_assert_str_eq(label(&doc.smp[0], "device"), "sda");
    ck_assert_str_eq(label(&doc.smp[0], "mode"), "rw");
    ck_assert(doc.smp[0].value == 42.5);
    ck_assert(doc.smp[1].value == -1000);
    ck_assert_int_eq(doc.fam[doc.smp[2].family].type, PROM_COUNTER);
    ck_assert(isinf(doc.smp[3].value) && doc.smp[3].value > 0);
    ck_assert_int_eq(doc.fam[doc.smp[3].family].type, PROM_UNTYPED);
    ck_assert(isnan(doc.smp[4].value));
    ck_assert_str_eq(doc.smp[5].name, "last_line_without_newline");
    ck_assert_uint_eq(doc.smp[5].line, 11);
}
END_TEST

START_TEST(escapes)
{
    ck_assert_int_eq(parse(
        "# HELP e Back\\\\slash and\\nnewline.\n"
        "e{path=\"C:\\\\x\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\"} 1\n"), 0);
    ck_assert_str_eq(doc.fam[0].help, "Back\\slash and\nnewline.");
    ck_assert_str_eq(label(&doc.smp[0], "path"), "C:\\x");
    ck_assert_str_eq(label(&doc.smp[0], "q"), "say \"hi\"");
    ck_assert_str_eq(label(&doc.smp[0], "nl"), "a\nb");
}
END_TEST

START_TEST(histogram_and_summary_members)
{
    ck_assert_int_eq(parse(
        "# TYPE lat histogram\n"
        "lat_bucket{le=\"0.1\"} 1\n"
        "lat_bucket{le=\"+Inf\"} 3\n"
        "lat_sum 0.7\n"
        "lat_count 3\n"
        "# TYPE rpc summary\n"
        "rpc{quantile=\"0.5\"} 0.2\n"
        "rpc_sum 9\n"
        "rpc_count 40\n"), 0);
    ck_assert_uint_eq(doc.nfam, 2);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(doc.smp[i].family, 0);
    for (size_t i = 4; i < 7; i++)
        ck_assert_uint_eq(doc.smp[i].family, 1);
    ck_assert_str_eq(doc.smp[3].name, "lat_count");
}
END_TEST

/* Every refusal names its line. */
static const struct { const char *in; unsigned line; const char *msg; } bad[] = {
    { "ok 1\nbad{a=\"1\" 2\n", 2, "',' or '}'" },
    { "ok 1\n\nx 1 1700000000000\n", 3, "timestamp" },
    { "x{a=\"1\",a=\"2\"} 1\n", 1, "twice" },
    { "x{a=\"unterminated} 1\n", 1, "unterminated" },
    { "x{a=\"bad\\escape\"} 1\n", 1, "unterminated" },
    { "x one\n", 1, "bad value" },
    { "x\n", 1, "missing" },
    { "9x 1\n", 1, "bad metric name" },
    { "x-y 1\n", 1, "bad byte" },
    { "x{9=\"a\"} 1\n", 1, "bad label name" },
    { "# TYPE x gauge\n# TYPE x counter\n", 2, "second TYPE" },
    { "# HELP x a\n# HELP x b\n", 2, "second HELP" },
    { "x 1\n# TYPE x gauge\n", 2, "after its samples" },
    { "# TYPE x meter\n", 1, "unknown type" },
    { "# TYPE h histogram\nh 1\n", 2, "histogram" },
    { "a 1\r\n", 1, "carriage return" },
    { "# HELP\n", 1, "valid metric name" },
};

START_TEST(refusals)
{
    ck_assert_int_eq(parse(bad[_i].in), -EINVAL);
    ck_assert_msg(err.line == bad[_i].line, "case %d: line %u, want %u (%s)", _i, err.line,
                  bad[_i].line, err.msg);
    ck_assert_msg(strstr(err.msg, bad[_i].msg), "case %d: '%s' lacks '%s'", _i, err.msg,
                  bad[_i].msg);
}
END_TEST

START_TEST(nul_byte_refused)
{
    memcpy(text, "a 1\nb\0 2\n", 10);
    ck_assert_int_eq(prom_parse(&doc, text, 9, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 2);
}
END_TEST

/* The arrays are reused: a second parse starts empty; a big document
 * grows them. */
START_TEST(reuse_and_growth)
{
    static char big[200000];
    size_t n = 0;
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "m%d{k=\"%d\"} %d\n", i % 50, i, i);
    ck_assert_int_eq(prom_parse(&doc, big, n, &err), 0);
    ck_assert_uint_eq(doc.nsmp, 5000);
    ck_assert_uint_eq(doc.nfam, 50);
    ck_assert_int_eq(parse("one 1\n"), 0);
    ck_assert_uint_eq(doc.nsmp, 1);
    ck_assert_uint_eq(doc.nfam, 1);
    ck_assert_int_eq(parse(""), 0);
    ck_assert_uint_eq(doc.nsmp, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("promtext");
    TCase *t = tcase_create("parse");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, node_exporter_style);
    tcase_add_test(t, escapes);
    tcase_add_test(t, histogram_and_summary_members);
    tcase_add_loop_test(t, refusals, 0, sizeof bad / sizeof bad[0]);
    tcase_add_test(t, nul_byte_refused);
    tcase_add_test(t, reuse_and_growth);
    suite_add_tcase(s, t);
    return s;
}

TICK_TEST_MAIN(make_suite)
