/* test_statsd_parse.c — the statsd plugin's line parser
 * (plugins/statsd/statsd_parse.c), alone. */
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "statsd_parse.h"

static struct statsd_line l;

static enum statsd_reason parse(const char *s)
{
    return statsd_parse_line(s, strlen(s), &l);
}

/* the series key, with the separators shown as '{', '=' */
static const char *key(void)
{
    static char out[STATSD_KEY_MAX + 1];
    for (size_t i = 0; i < l.key_len; i++)
        out[i] = l.key[i] == STATSD_SEP_KEY ? '{' : l.key[i] == STATSD_SEP_VAL ? '=' : l.key[i];
    out[l.key_len] = 0;
    return out;
}

START_TEST(types)
{
    ck_assert_int_eq(parse("gorets:1|c"), STATSD_OK);
    ck_assert_int_eq(l.type, STATSD_COUNTER);
    ck_assert(l.value == 1 && l.rate == 1);
    ck_assert_str_eq(key(), "gorets");
    ck_assert_int_eq(parse("glork:320|ms"), STATSD_OK);
    ck_assert_int_eq(l.type, STATSD_TIMER);
    ck_assert(l.value == 320);
    ck_assert_int_eq(parse("gaugor:333|g"), STATSD_OK);
    ck_assert_int_eq(l.type, STATSD_GAUGE);
    ck_assert(l.value == 333 && !l.relative);
    ck_assert_int_eq(parse("gaugor:-10|g"), STATSD_OK);
    ck_assert(l.value == -10 && l.relative);
    ck_assert_int_eq(parse("gaugor:+4.5|g"), STATSD_OK);
    ck_assert(l.value == 4.5 && l.relative);
    ck_assert_int_eq(parse("uniques:765|s"), STATSD_OK);
    ck_assert_int_eq(l.type, STATSD_SET);
    ck_assert_int_eq(l.set_len, 3);
    ck_assert(memcmp(l.set_value, "765", 3) == 0);
    ck_assert_int_eq(parse("uniques:user@example.com|s"), STATSD_OK);
    ck_assert_int_eq(parse("hist:0.25|h"), STATSD_OK);
    ck_assert_int_eq(l.type, STATSD_HISTOGRAM);
    ck_assert_int_eq(parse("dist:7|d"), STATSD_OK);
    ck_assert_int_eq(l.type, STATSD_HISTOGRAM);
    ck_assert_int_eq(parse("big:1.5e3|ms"), STATSD_OK);
    ck_assert(l.value == 1500);
    ck_assert_int_eq(parse("crlf:2|c\r"), STATSD_OK);
    ck_assert(l.value == 2);
}
END_TEST

START_TEST(sampling)
{
    ck_assert_int_eq(parse("gorets:1|c|@0.1"), STATSD_OK);
    ck_assert(fabs(l.value - 10) < 1e-9 && l.rate == 0.1);
    ck_assert_int_eq(parse("t:5|ms|@0.5"), STATSD_OK);
    ck_assert(l.value == 5 && l.rate == 0.5);     /* timers keep the value */
    ck_assert_int_eq(parse("gorets:1|c|@1"), STATSD_OK);
    ck_assert_int_eq(parse("gorets:1|c|@0"), STATSD_R_RATE);
    ck_assert_int_eq(parse("gorets:1|c|@1.5"), STATSD_R_RATE);
    ck_assert_int_eq(parse("gorets:1|c|@-1"), STATSD_R_RATE);
    ck_assert_int_eq(parse("gorets:1|c|@"), STATSD_R_RATE);
    ck_assert_int_eq(parse("gorets:1|c|@x"), STATSD_R_RATE);
}
END_TEST

START_TEST(tags)
{
    ck_assert_int_eq(parse("req:1|c|#zone:b,app:web"), STATSD_OK);
    ck_assert_str_eq(key(), "req{app=web{zone=b");      /* sorted by key */
    ck_assert_int_eq(l.ntags, 2);
    ck_assert_int_eq(parse("req:1|c|#app:web,zone:b"), STATSD_OK);
    ck_assert_str_eq(key(), "req{app=web{zone=b");
    ck_assert_int_eq(parse("req:1|c|@0.5|#app:web"), STATSD_OK);
    ck_assert(l.value == 2);
    ck_assert_int_eq(parse("req:1|c|#app:web|@0.5"), STATSD_OK);
    ck_assert(l.value == 2);
    /* a key sanitised; a value kept as is (':' after the first too) */
    ck_assert_int_eq(parse("req:1|c|#my.tag-x:a:b c"), STATSD_OK);
    ck_assert_str_eq(key(), "req{my_tag_x=a:b c");
    /* no value, reserved: skipped and counted */
    ck_assert_int_eq(parse("req:1|c|#bare,le:1,__x:2,tickd_instance:3,ok:1"), STATSD_OK);
    ck_assert_str_eq(key(), "req{ok=1");
    ck_assert_int_eq(l.tag_errors, 4);
    ck_assert_int_eq(parse("req:1|c|#,,"), STATSD_OK);
    ck_assert_str_eq(key(), "req");
    ck_assert_int_eq(parse("req:1|c|#a:1,a:2"), STATSD_R_TAGS);
    ck_assert_int_eq(parse("req:1|c|#a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,"
                           "l:12,m:13,n:14,o:15,p:16"), STATSD_OK);
    ck_assert_int_eq(parse("req:1|c|#a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,"
                           "l:12,m:13,n:14,o:15,p:16,q:17"), STATSD_R_TAGS);
    /* a value with a separator byte would alias another key */
    ck_assert_int_eq(statsd_parse_line("r:1|c|#a:x\001b", 13, &l), STATSD_R_TAGS);
    ck_assert_int_eq(statsd_parse_line("r:1|c|#a:x\0b", 12, &l), STATSD_R_TAGS);
    /* DogStatsD's container id and timestamp are ignored */
    ck_assert_int_eq(parse("req:1|c|#a:1|c:abc123|T1656581400"), STATSD_OK);
    ck_assert_str_eq(key(), "req{a=1");
}
END_TEST

START_TEST(names)
{
    ck_assert_int_eq(parse("my.app-x/req:1|c"), STATSD_OK);
    ck_assert_str_eq(key(), "my_app_x_req");
    ck_assert_int_eq(parse("9lives:1|c"), STATSD_OK);
    ck_assert_str_eq(key(), "_9lives");
    ck_assert_int_eq(parse("ns:sub:1|c"), STATSD_R_VALUE);   /* the first ':' ends the name */
    char name[STATSD_NAME_MAX + 16];
    memset(name, 'a', STATSD_NAME_MAX);
    strcpy(name + STATSD_NAME_MAX, ":1|c");
    ck_assert_int_eq(parse(name), STATSD_OK);
    ck_assert_int_eq(l.name_len, STATSD_NAME_MAX);
    memset(name, 'a', STATSD_NAME_MAX + 1);
    strcpy(name + STATSD_NAME_MAX + 1, ":1|c");
    ck_assert_int_eq(parse(name), STATSD_R_NAME);
    ck_assert_int_eq(parse(":1|c"), STATSD_R_NAME);
}
END_TEST

START_TEST(malformed)
{
    ck_assert_int_eq(parse(""), STATSD_R_FORMAT);
    ck_assert_int_eq(parse("gorets"), STATSD_R_FORMAT);
    ck_assert_int_eq(parse("gorets:1"), STATSD_R_FORMAT);
    ck_assert_int_eq(parse("gorets:1|"), STATSD_R_TYPE);
    ck_assert_int_eq(parse("gorets:1|x"), STATSD_R_TYPE);
    ck_assert_int_eq(parse("gorets:1|cc"), STATSD_R_TYPE);
    ck_assert_int_eq(parse("gorets:|c"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:abc|c"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:inf|g"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:nan|g"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:0x10|g"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:1e999|g"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:1 |c"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("gorets:-1|c"), STATSD_R_NEGATIVE);
    ck_assert_int_eq(parse("gorets:1|c|x"), STATSD_R_FIELD);
    ck_assert_int_eq(parse("gorets:1|c|"), STATSD_R_FIELD);
    ck_assert_int_eq(parse("uniques:|s"), STATSD_R_VALUE);
    ck_assert_int_eq(parse("_e{5,4}:title|text"), STATSD_R_EVENT);
    ck_assert_int_eq(parse("_sc|svc|0"), STATSD_R_EVENT);
    /* the input is not read past len */
    ck_assert_int_eq(statsd_parse_line("gorets:1|cXXXX", 10, &l), STATSD_OK);
    ck_assert_int_eq(statsd_parse_line("gorets:12", 8, &l), STATSD_R_FORMAT);
}
END_TEST

static Suite *statsd_parse_suite(void)
{
    Suite *s = suite_create("statsd_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, types);
    tcase_add_test(tc, sampling);
    tcase_add_test(tc, tags);
    tcase_add_test(tc, names);
    tcase_add_test(tc, malformed);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(statsd_parse_suite)
