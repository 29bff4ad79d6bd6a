/* test_daemon_parse.c — tick_parse_duration and tick_parse_listen, the
 * value parsers the daemon exports to plugins. */
#include "helpers.h"

static uint64_t dur(const char *s)
{
    uint64_t ns = 12345;
    ck_assert_msg(tick_parse_duration(s, &ns) == 0, "'%s' refused", s);
    return ns;
}

static void dur_bad(const char *s)
{
    uint64_t ns = 12345;
    ck_assert_msg(tick_parse_duration(s, &ns) == -EINVAL, "'%s' accepted", s);
    ck_assert_uint_eq(ns, 12345);   /* untouched on error */
}

START_TEST(duration_units)
{
    ck_assert_uint_eq(dur("10ns"), 10);
    ck_assert_uint_eq(dur("100us"), 100 * TICK_USEC);
    ck_assert_uint_eq(dur("250ms"), 250 * TICK_MSEC);
    ck_assert_uint_eq(dur("5s"), 5 * TICK_SEC);
    ck_assert_uint_eq(dur("2m"), 120 * TICK_SEC);
    ck_assert_uint_eq(dur("2min"), 120 * TICK_SEC);
    ck_assert_uint_eq(dur("1h"), 3600 * TICK_SEC);
    ck_assert_uint_eq(dur("0"), 0);
    ck_assert_uint_eq(dur("0ms"), 0);
}
END_TEST

START_TEST(duration_bare_number_is_seconds)
{
    ck_assert_uint_eq(dur("7"), 7 * TICK_SEC);
    ck_assert_uint_eq(dur("007"), 7 * TICK_SEC);
}
END_TEST

START_TEST(duration_fractions)
{
    ck_assert_uint_eq(dur("1.5s"), 1500 * TICK_MSEC);
    ck_assert_uint_eq(dur("0.25"), 250 * TICK_MSEC);
    ck_assert_uint_eq(dur(".5ms"), 500 * TICK_USEC);
    ck_assert_uint_eq(dur("1.5m"), 90 * TICK_SEC);
    /* digits past the nanosecond are ignored, not rounded up or refused */
    ck_assert_uint_eq(dur("0.0000000019s"), 1);
}
END_TEST

START_TEST(duration_rejects)
{
    static const char *const bad[] = {
        "", "s", "ms", "-1s", "+1s", "5x", "5 s", " 5s", "5s ", "1e3",
        "1.2.3s", ".", "5sec", "5S", "1,5s", "0x10", "forever",
        "18446744073709551616ns",   /* 2^64 */
        "18446744074s",             /* > 2^64 ns */
        "5124096h",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dur_bad(bad[i]);
    ck_assert_int_eq(tick_parse_duration(NULL, &(uint64_t){ 0 }), -EINVAL);
    ck_assert_int_eq(tick_parse_duration("1s", NULL), -EINVAL);
}
END_TEST

START_TEST(duration_limits)
{
    ck_assert_uint_eq(dur("18446744073709551615ns"), UINT64_MAX);
    ck_assert_uint_eq(dur("18446744073s"), 18446744073 * TICK_SEC);
}
END_TEST

static void listen_ok(const char *s, const char *host, unsigned port)
{
    char h[64] = "junk";
    uint16_t p = 1;
    ck_assert_msg(tick_parse_listen(s, h, sizeof h, &p) == 0, "'%s' refused", s);
    ck_assert_str_eq(h, host);
    ck_assert_uint_eq(p, port);
}

static void listen_bad(const char *s)
{
    char h[64];
    uint16_t p;
    ck_assert_msg(tick_parse_listen(s, h, sizeof h, &p) == -EINVAL,
                  "'%s' accepted", s);
}

START_TEST(listen_forms)
{
    listen_ok("127.0.0.1:7000", "127.0.0.1", 7000);
    listen_ok("localhost:80", "localhost", 80);
    listen_ok("[::1]:7000", "::1", 7000);
    listen_ok("[fe80::1%eth0]:1", "fe80::1%eth0", 1);
    listen_ok(":7000", "", 7000);
    listen_ok("*:7000", "", 7000);
    listen_ok("7000", "", 7000);
    listen_ok("127.0.0.1:0", "127.0.0.1", 0);
    listen_ok("0.0.0.0:65535", "0.0.0.0", 65535);
}
END_TEST

START_TEST(listen_rejects)
{
    static const char *const bad[] = {
        "", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:80x", "::1:80", "[::1]", "[::1]80", "[]:80",
        "[::1:80", "a b:80", "host/x:80", "x", "80 ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        listen_bad(bad[i]);
}
END_TEST

START_TEST(listen_host_buffer_too_small)
{
    char h[4];
    uint16_t p;
    ck_assert_int_eq(tick_parse_listen("abcd:80", h, sizeof h, &p), -EINVAL);
    ck_assert_int_eq(tick_parse_listen("abc:80", h, sizeof h, &p), 0);
    ck_assert_str_eq(h, "abc");
    ck_assert_int_eq(tick_parse_listen(NULL, h, sizeof h, &p), -EINVAL);
    ck_assert_int_eq(tick_parse_listen("80", NULL, 0, &p), -EINVAL);
}
END_TEST

/* The documented failure outputs (tick/plugin.h): -EINVAL, *port never
 * written; host may be, so callers must use neither. */
START_TEST(listen_failure_leaves_port)
{
    static const char *const bad[] = {
        "::1:80", "[]:80", "[::1]", "[::1]80", "host:", "host:65536", "host:-1",
        "host:+80", "ho st:80", "a/b:80", "", ":", "80x", "1.2.3.4:80:90",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char host[64] = "untouched";
        uint16_t port = 4242;
        ck_assert_msg(tick_parse_listen(bad[i], host, sizeof host, &port) == -EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_msg(port == 4242, "'%s': port written on failure", bad[i]);
    }
    char host[64];
    uint16_t port = 0;
    ck_assert_int_eq(tick_parse_listen("localhost:80", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "localhost");     /* a name, not resolved */
    ck_assert_int_eq(tick_parse_listen("*:0", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "");
    ck_assert_uint_eq(port, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, duration_units);
    tcase_add_test(tc, duration_bare_number_is_seconds);
    tcase_add_test(tc, duration_fractions);
    tcase_add_test(tc, duration_rejects);
    tcase_add_test(tc, duration_limits);
    tcase_add_test(tc, listen_forms);
    tcase_add_test(tc, listen_rejects);
    tcase_add_test(tc, listen_host_buffer_too_small);
    tcase_add_test(tc, listen_failure_leaves_port);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
