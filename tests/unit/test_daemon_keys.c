/* test_daemon_keys.c — key tables (daemon/keys.c, tick/config.h): the
 * quoting rule (tick_unquote, tick_split_words), sizes, every type's value
 * parsing into a struct, defaults, required/unknown/duplicate keys, the
 * table checks done at module load, and the live-reconfigure decision. */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "keys.h"

START_TEST(unquote_rule)
{
    static const struct { const char *in; int rc; const char *out; } cases[] = {
        { "plain", 5, "plain" },
        { "\"a ; b\"", 5, "a ; b" },
        { "a\"b c\"d", 5, "ab cd" },
        { "\"q\\\"x\\\\y\"", 5, "q\"x\\y" },
        { "c:\\dir\\n", 8, "c:\\dir\\n" },   /* outside quotes \ is literal */
        { "\"\\n\"", 2, "\\n" },             /* only \" and \\ are escapes */
        { "\"\"", 0, "" },
        { "x y  z", 6, "x y  z" },
        { "\"open", -EINVAL, NULL },
        { "a\"b", -EINVAL, NULL },
        { "\"\\\"", -EINVAL, NULL },
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tick_unquote(cases[i].in, out, sizeof out);
        ck_assert_msg(rc == cases[i].rc, "case %zu: %d", i, rc);
        if (rc >= 0)
            ck_assert_str_eq(out, cases[i].out);
    }
    ck_assert_int_eq(tick_unquote("abcdef", out, 6), -ENOSPC);
    ck_assert_int_eq(tick_unquote("abcde", out, 6), 5);
    ck_assert_int_eq(tick_unquote(NULL, out, 6), -EINVAL);
}
END_TEST

START_TEST(split_words_rule)
{
    char buf[128];
    const char *w[8];

    ck_assert_int_eq(tick_split_words("  a  b\tc ", buf, sizeof buf, w, 8), 3);
    ck_assert_str_eq(w[0], "a");
    ck_assert_str_eq(w[1], "b");
    ck_assert_str_eq(w[2], "c");
    ck_assert_ptr_null(w[3]);
    ck_assert_int_eq(tick_split_words("/ 200 text/plain \"hello ; world\"", buf, sizeof buf, w, 8), 4);
    ck_assert_str_eq(w[3], "hello ; world");
    ck_assert_int_eq(tick_split_words("\"\" x\"y z\"", buf, sizeof buf, w, 8), 2);
    ck_assert_str_eq(w[0], "");
    ck_assert_str_eq(w[1], "xy z");
    ck_assert_int_eq(tick_split_words("", buf, sizeof buf, w, 8), 0);
    ck_assert_ptr_null(w[0]);
    ck_assert_int_eq(tick_split_words("a \"b", buf, sizeof buf, w, 8), -EINVAL);
    ck_assert_int_eq(tick_split_words("a b c", buf, sizeof buf, w, 3), -ENOSPC);
    ck_assert_int_eq(tick_split_words("a b c", buf, sizeof buf, w, 4), 3);
    ck_assert_int_eq(tick_split_words("abc", buf, 3, w, 4), -ENOSPC);
}
END_TEST

START_TEST(sizes)
{
    static const struct { const char *in; int rc; uint64_t v; } cases[] = {
        { "0", 0, 0 }, { "512", 0, 512 }, { "64k", 0, 65536 }, { "64K", 0, 65536 },
        { "1M", 0, 1 << 20 }, { "1MB", 0, 1 << 20 }, { "1MiB", 0, 1 << 20 },
        { "2G", 0, (uint64_t)2 << 30 }, { "1T", 0, (uint64_t)1 << 40 }, { "10B", 0, 10 },
        { "", -EINVAL, 0 }, { "k", -EINVAL, 0 }, { "1x", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
        { "1 k", -EINVAL, 0 }, { "16777216T", -EINVAL, 0 }, { "1.5M", -EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 7;
        int rc = tick_parse_size(cases[i].in, &v);
        ck_assert_msg(rc == cases[i].rc, "case %zu '%s': %d", i, cases[i].in, rc);
        if (rc == 0)
            ck_assert_msg(v == cases[i].v, "case %zu: %llu", i, (unsigned long long)v);
    }
}
END_TEST

/* ---- a table and sections built by hand ------------------------------- */

struct all {
    const char *s;
    int8_t i8;
    uint16_t u16;
    int64_t i64;
    uint64_t size;
    bool b;
    uint64_t dur;
    int e;
    const char *addr;
    tick_words w;
    tick_words_list wl;
    tick_strings sl;
    uint32_t live;
};

static const char *const colours[] = { "red", "green", NULL };

static const tick_key all_keys[] = {
    TICK_KEY_STRING(struct all, s, "s", 1, 8, "dflt", 0, "a string"),
    TICK_KEY_INT(struct all, i8, "i8", -128, 127, "-1", 0, "int8"),
    TICK_KEY_INT(struct all, u16, "u16", 0, 65535, NULL, TICK_KEY_REQUIRED, "uint16"),
    TICK_KEY_INT(struct all, i64, "i64", INT64_MIN, INT64_MAX, "0", 0, "int64"),
    TICK_KEY_SIZE(struct all, size, "size", 0, 0, "1k", 0, "size"),
    TICK_KEY_BOOL(struct all, b, "b", "yes", 0, "bool"),
    TICK_KEY_DURATION(struct all, dur, "dur", 1, 0, "1s", 0, "duration"),
    TICK_KEY_ENUM(struct all, e, "colour", colours, "green", 0, "enum"),
    TICK_KEY_ADDRESSES(struct all, addr, "listen", "8080", 0, "addresses"),
    TICK_KEY_WORDS(struct all, w, "cmd", 0, 3, NULL, 0, "words"),
    TICK_KEY_WORDS(struct all, wl, "route", 2, 2, NULL, TICK_KEY_REPEATABLE, "routes"),
    TICK_KEY_STRING(struct all, sl, "tag", 0, 0, NULL, TICK_KEY_REPEATABLE, "tags"),
    TICK_KEY_INT(struct all, live, "live", 0, 10, "1", TICK_KEY_LIVE, "live"),
    TICK_KEY_ALIAS("old_live", "live"),
    TICK_KEY_END
};

static struct tickd_kv kvs[16];
static struct tickd_section sec = { .name = "t", .file = "f.ini", .line = 3 };

/* "key=raw" pairs, one per line from line 4 */
static void section(const char *const *pairs)
{
    size_t n = 0;
    for (; pairs[n]; n++) {
        static char keys[16][32];
        const char *eq = strchr(pairs[n], '=');
        snprintf(keys[n], sizeof keys[n], "%.*s", (int)(eq - pairs[n]), pairs[n]);
        kvs[n] = (struct tickd_kv){ .key = keys[n], .value = (char *)eq + 1,
                                    .raw = (char *)eq + 1, .line = 4 + (int)n };
    }
    sec.kv = kvs;
    sec.nkv = n;
}

static int fill(const char *const *pairs, struct all *a, struct tickd_arena **ar,
                struct tickd_error *err)
{
    memset(a, 0, sizeof *a);
    *err = (struct tickd_error){ 0 };
    section(pairs);
    return tickd_keys_fill(all_keys, &sec, a, ar, err);
}

START_TEST(fill_every_type)
{
    char why[300];
    ck_assert_ptr_null(tickd_keys_check(all_keys, sizeof(struct all), why, sizeof why));

    struct all a;
    struct tickd_arena *ar = NULL;
    struct tickd_error err;
    const char *p1[] = { "u16=65535", "i8=-128", "i64=-9223372036854775808", "size=64k",
                         "b=off", "dur=250ms", "colour=red", "listen=127.0.0.1:1,[::1]:2",
                         "cmd=\"a b\" c", "route=/ x", "route=\"/y z\" w", "tag=one",
                         "tag=\"t;2\"", "s=\"a;b\"", NULL };
    ck_assert_msg(fill(p1, &a, &ar, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(a.s, "a;b");
    ck_assert_int_eq(a.i8, -128);
    ck_assert_uint_eq(a.u16, 65535);
    ck_assert(a.i64 == INT64_MIN);
    ck_assert_uint_eq(a.size, 65536);
    ck_assert(!a.b);
    ck_assert_uint_eq(a.dur, 250 * TICK_MSEC);
    ck_assert_int_eq(a.e, 0);
    ck_assert_str_eq(a.addr, "127.0.0.1:1,[::1]:2");
    ck_assert_uint_eq(a.w.n, 2);
    ck_assert_str_eq(a.w.v[0], "a b");
    ck_assert_str_eq(a.w.v[1], "c");
    ck_assert_ptr_null(a.w.v[2]);
    ck_assert_uint_eq(a.wl.n, 2);
    ck_assert_str_eq(a.wl.v[1].v[0], "/y z");
    ck_assert_str_eq(a.wl.v[1].v[1], "w");
    ck_assert_uint_eq(a.sl.n, 2);
    ck_assert_str_eq(a.sl.v[1], "t;2");
    ck_assert_ptr_null(a.sl.v[2]);
    ck_assert_uint_eq(a.live, 1);
    tickd_arena_free(&ar);

    /* defaults */
    const char *p2[] = { "u16=0x10", "old_live=3", NULL };
    ck_assert_msg(fill(p2, &a, &ar, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(a.s, "dflt");
    ck_assert_int_eq(a.i8, -1);
    ck_assert_uint_eq(a.u16, 16);
    ck_assert_uint_eq(a.size, 1024);
    ck_assert(a.b);
    ck_assert_uint_eq(a.dur, TICK_SEC);
    ck_assert_int_eq(a.e, 1);
    ck_assert_str_eq(a.addr, "8080");
    ck_assert_uint_eq(a.w.n, 0);
    ck_assert_ptr_null(a.w.v);
    ck_assert_uint_eq(a.sl.n, 0);
    ck_assert_uint_eq(a.live, 3);
    tickd_arena_free(&ar);
}
END_TEST

START_TEST(fill_errors)
{
    static const struct { const char *pairs[4]; const char *msg; } cases[] = {
        { { "u16=65536" }, "f.ini:4: plugin:t: bad integer '65536' for key 'u16' (expected an integer from 0 to 65535)" },
        { { "u16=-1" }, "f.ini:4: plugin:t: bad integer '-1' for key 'u16'" },
        { { "u16=1", "i8=128" }, "f.ini:5: plugin:t: bad integer '128' for key 'i8' (expected an integer from -128 to 127)" },
        { { "u16=1", "i64=9223372036854775808" }, "f.ini:5: plugin:t: bad integer '9223372036854775808'" },
        { { "u16=1", "i8=1x" }, "bad integer '1x'" },
        { { "u16=1", "i8=" }, "bad integer ''" },
        { { "u16=1", "size=1q" }, "f.ini:5: plugin:t: bad size '1q' for key 'size' (expected a size (e.g. 512, 64k, 1M))" },
        { { "u16=1", "b=2" }, "bad boolean '2' for key 'b' (expected yes or no)" },
        { { "u16=1", "dur=0" }, "bad duration '0' for key 'dur' (use e.g. 250ms, 5s, 2m): expected a duration (e.g. 250ms, 5s, 2m) of at least 1ns" },
        { { "u16=1", "colour=Red" }, "bad value 'Red' for key 'colour' (expected one of: red, green)" },
        { { "u16=1", "listen=a b" }, "bad listen address 'a b'" },
        { { "u16=1", "cmd=a b c d" }, "bad value 'a b c d' for key 'cmd' (expected 0 to 3 words)" },
        { { "u16=1", "route=a" }, "f.ini:5: plugin:t: bad value 'a' for key 'route' (expected exactly 2 words)" },
        { { "u16=1", "route=a b", "route=c" }, "f.ini:6: plugin:t: bad value 'c' for key 'route'" },
        { { "u16=1", "s=" }, "bad value '' for key 's' (expected 1 to 8 characters)" },
        { { "u16=1", "s=\"x" }, "f.ini:5: plugin:t: unterminated quote in the value of key 's'" },
        { { "i8=1" }, "f.ini:3: plugin:t: missing required key 'u16'" },
        { { "u16=1", "nope=1" }, "f.ini:5: plugin:t: unknown key 'nope'" },
        { { "u16=1", "u16=2" }, "f.ini:5: plugin:t: duplicate key 'u16' (first at line 4)" },
        { { "u16=1", "live=2", "old_live=3" }, "f.ini:6: plugin:t: duplicate key 'old_live' (first at line 5)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct all a;
        struct tickd_arena *ar = NULL;
        struct tickd_error err;
        ck_assert_msg(fill(cases[i].pairs, &a, &ar, &err) == -EINVAL, "case %zu passed", i);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: want\n  %s\ngot\n  %s", i,
                      cases[i].msg, err.msg);
        tickd_arena_free(&ar);
    }
}
END_TEST

struct small { uint8_t u8; int16_t i16; int e; bool b; const char *s; uint64_t d; };
static const char *const one[] = { "x", NULL };

START_TEST(table_checks)
{
    static const struct { tick_key k[3]; const char *why; } cases[] = {
        { { TICK_KEY_INT(struct small, u8, "u8", 0, 256, NULL, 0, ""), TICK_KEY_END },
          "key 'u8': range 0 to 256 does not fit its 1-byte unsigned field (0 to 255)" },
        { { TICK_KEY_INT(struct small, u8, "u8", -1, 2, NULL, 0, ""), TICK_KEY_END },
          "does not fit its 1-byte unsigned field" },
        { { TICK_KEY_INT(struct small, i16, "i16", -32769, 0, NULL, 0, ""), TICK_KEY_END },
          "key 'i16': range -32769 to 0 does not fit its 2-byte signed field (-32768 to 32767)" },
        { { TICK_KEY_INT(struct small, i16, "i16", 5, 1, NULL, 0, ""), TICK_KEY_END },
          "key 'i16': range 5 to 1 is empty" },
        { { TICK_KEY_INT(struct small, i16, "i16", 0, 10, "11", 0, ""), TICK_KEY_END },
          "key 'i16': default '11' is refused: bad integer '11'" },
        { { TICK_KEY_BOOL(struct small, u8, "b", NULL, 0, ""), TICK_KEY_END }, NULL },
        { { TICK_KEY_SIZE(struct small, i16, "sz", 0, 0, NULL, 0, ""), TICK_KEY_END },
          "key 'sz': a size field must have 8 bytes, not 2" },
        { { TICK_KEY_STRING(struct small, i16, "s", 0, 0, NULL, 0, ""), TICK_KEY_END },
          "key 's': a string field must have 8 bytes, not 2" },
        { { TICK_KEY_ENUM(struct small, e, "e", NULL, NULL, 0, ""), TICK_KEY_END },
          "key 'e': an enum needs choices" },
        { { TICK_KEY_ENUM(struct small, e, "e", one, "y", 0, ""), TICK_KEY_END },
          "key 'e': default 'y' is refused" },
        { { TICK_KEY_BOOL(struct small, b, "b", "yes", TICK_KEY_REQUIRED, ""), TICK_KEY_END },
          "key 'b': required, yet has a default" },
        { { TICK_KEY_BOOL(struct small, b, "b", NULL, TICK_KEY_REPEATABLE, ""), TICK_KEY_END },
          "key 'b': only string, address list and words keys may be repeatable" },
        { { TICK_KEY_BOOL(struct small, b, "b", NULL, 0, ""),
            TICK_KEY_BOOL(struct small, b, "b", NULL, 0, ""), TICK_KEY_END },
          "key 'b' is declared twice" },
        { { TICK_KEY_BOOL(struct small, b, "module", NULL, 0, ""), TICK_KEY_END },
          "key 'module' is the daemon's" },
        { { TICK_KEY_BOOL(struct small, b, "a b", NULL, 0, ""), TICK_KEY_END },
          "key 'a b': not a valid key name" },
        { { TICK_KEY_ALIAS("x", "y"), TICK_KEY_END },
          "key 'x': alias of 'y', which is not a key of the table" },
        { { TICK_KEY_BOOL(struct small, b, "b", NULL, 0x80, ""), TICK_KEY_END },
          "key 'b': unknown flags 0x80" },
        { { TICK_KEY_DURATION(struct small, d, "d", 10, 5, NULL, 0, ""), TICK_KEY_END },
          "key 'd': bad range 10 to 5" },
        { { TICK_KEY_INT(struct small, u8, "u8", 0, 255, "255", 0, ""), TICK_KEY_END }, NULL },
    };
    char why[400];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = tickd_keys_check(cases[i].k, sizeof(struct small), why, sizeof why);
        if (!cases[i].why) {
            ck_assert_msg(!got, "case %zu: %s", i, got);
            continue;
        }
        ck_assert_msg(got && strstr(got, cases[i].why), "case %zu: want\n  %s\ngot\n  %s", i,
                      cases[i].why, got ? got : "(accepted)");
    }
    /* a field past the instance memory */
    tick_key k[] = { TICK_KEY_STRING(struct small, s, "s", 0, 0, NULL, 0, ""), TICK_KEY_END };
    ck_assert_ptr_nonnull(tickd_keys_check(k, offsetof(struct small, s) + 4, why, sizeof why));
    ck_assert_msg(strstr(why, "outside the instance memory"), "%s", why);
}
END_TEST

START_TEST(live_decision_and_apply)
{
    struct tickd_kv ka[3], kb[3];
    struct tickd_section a = { .name = "t", .file = "f", .kv = ka };
    struct tickd_section b = { .name = "t", .file = "f", .kv = kb };
    ka[0] = (struct tickd_kv){ .key = "u16", .value = "1", .raw = "1", .line = 1 };
    ka[1] = (struct tickd_kv){ .key = "live", .value = "2", .raw = "2", .line = 2 };
    a.nkv = 2;
    kb[0] = ka[0];
    kb[1] = (struct tickd_kv){ .key = "old_live", .value = "2", .raw = "2", .line = 2 };
    b.nkv = 2;
    ck_assert(tickd_keys_live_only(all_keys, &a, &b));       /* the alias: same */
    kb[1].raw = "7";
    ck_assert(tickd_keys_live_only(all_keys, &a, &b));       /* a live key changed */
    kb[0].raw = "9";
    ck_assert(!tickd_keys_live_only(all_keys, &a, &b));      /* u16 is not live */
    kb[0].raw = "1";
    b.nkv = 1;                                               /* live key removed */
    ck_assert(tickd_keys_live_only(all_keys, &a, &b));
    kb[1] = (struct tickd_kv){ .key = "cmd", .value = "x", .raw = "x", .line = 2 };
    b.nkv = 2;                                               /* a non-live key added */
    ck_assert(!tickd_keys_live_only(all_keys, &a, &b));
    kb[1] = (struct tickd_kv){ .key = "zzz", .value = "x", .raw = "x", .line = 2 };
    ck_assert(!tickd_keys_live_only(all_keys, &a, &b));      /* unknown key */

    struct all data = { .u16 = 1, .live = 2 };
    struct tickd_arena *ar = NULL;
    kb[1] = (struct tickd_kv){ .key = "old_live", .value = "7", .raw = "7", .line = 2 };
    ck_assert_int_eq(tickd_keys_apply_live(all_keys, &a, &b, &data, &ar), 0);
    ck_assert_uint_eq(data.live, 7);
    ck_assert_uint_eq(data.u16, 1);
    b.nkv = 1;                                               /* removed: the default */
    ck_assert_int_eq(tickd_keys_apply_live(all_keys, &a, &b, &data, &ar), 0);
    ck_assert_uint_eq(data.live, 1);
    tickd_arena_free(&ar);
}
END_TEST

/* A live pointer key after a 4-byte one: the scratch copy must keep it
 * aligned (it was packed: a misaligned store, UBSan's finding, under
 * make SAN=1, with the http plugin's max_conns and allow). */
struct pair { uint32_t n; const char *s; };
static const tick_key pair_keys[] = {
    TICK_KEY_INT(struct pair, n, "n", 0, 100, "1", TICK_KEY_LIVE, "n"),
    TICK_KEY_STRING(struct pair, s, "s", 0, 0, "a", TICK_KEY_LIVE, "s"),
    TICK_KEY_END
};

START_TEST(live_apply_aligned)
{
    struct tickd_kv ka[2], kb[2];
    struct tickd_section a = { .name = "t", .file = "f", .kv = ka, .nkv = 2 };
    struct tickd_section b = { .name = "t", .file = "f", .kv = kb, .nkv = 2 };
    ka[0] = (struct tickd_kv){ .key = "n", .value = "1", .raw = "1", .line = 1 };
    ka[1] = (struct tickd_kv){ .key = "s", .value = "x", .raw = "x", .line = 2 };
    kb[0] = (struct tickd_kv){ .key = "n", .value = "5", .raw = "5", .line = 1 };
    kb[1] = (struct tickd_kv){ .key = "s", .value = "yz", .raw = "yz", .line = 2 };
    struct pair data = { 1, "x" };
    struct tickd_arena *ar = NULL;
    ck_assert(tickd_keys_live_only(pair_keys, &a, &b));
    ck_assert_int_eq(tickd_keys_apply_live(pair_keys, &a, &b, &data, &ar), 0);
    ck_assert_uint_eq(data.n, 5);
    ck_assert_str_eq(data.s, "yz");
    tickd_arena_free(&ar);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon keys");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, unquote_rule);
    tcase_add_test(tc, split_words_rule);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, fill_every_type);
    tcase_add_test(tc, fill_errors);
    tcase_add_test(tc, table_checks);
    tcase_add_test(tc, live_apply_aligned);
    tcase_add_test(tc, live_decision_and_apply);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
