/* test_http_plugin.c — the http plugin's pure parts: the allow list
 * (allow.c), static routes and request paths (routes.c), reason phrases
 * and the Date line (reply.c). Linked with those sources and libtick.a. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "http.h"

static struct http_allow a;
static char err[400];

START_TEST(allow_lists)
{
    ck_assert_int_eq(http_allow_parse(&a, "127.0.0.0/8 ::1", err, sizeof err), 0);
    ck_assert_uint_eq(a.n, 2);
    ck_assert(http_allow_peer(&a, "127.0.0.1:5555"));
    ck_assert(http_allow_peer(&a, "127.255.0.9:1"));
    ck_assert(http_allow_peer(&a, "[::1]:80"));
    ck_assert(http_allow_peer(&a, "[::ffff:127.0.0.2]:80"));   /* dual-stack v4 */
    ck_assert(!http_allow_peer(&a, "128.0.0.1:1"));
    ck_assert(!http_allow_peer(&a, "[::2]:80"));
    ck_assert(!http_allow_peer(&a, "garbage"));
    ck_assert(!http_allow_peer(&a, NULL));

    ck_assert_int_eq(http_allow_parse(&a, "10.1.2.3/32,192.168.0.0/23 , fe80::/10",
                                      err, sizeof err), 0);
    ck_assert_uint_eq(a.n, 3);
    ck_assert(http_allow_peer(&a, "10.1.2.3:9"));
    ck_assert(!http_allow_peer(&a, "10.1.2.4:9"));
    ck_assert(http_allow_peer(&a, "192.168.1.255:9"));
    ck_assert(!http_allow_peer(&a, "192.168.2.0:9"));
    ck_assert(http_allow_peer(&a, "[fe80::1234]:9"));
    ck_assert(!http_allow_peer(&a, "[fec0::1]:9"));
    ck_assert_int_eq(http_allow_parse(&a, "0.0.0.0/0", err, sizeof err), 0);
    ck_assert(http_allow_peer(&a, "8.8.8.8:53"));
    ck_assert(!http_allow_peer(&a, "[2001:db8::1]:53"));       /* v4 only */

    static const char *const bad[] = {
        "", " , ", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8",
        "localhost", "10.0.0.0/8x", "1.2.3.4/0008", "[::1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(http_allow_parse(&a, bad[i], err, sizeof err) == -EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert(err[0]);
    }
    ck_assert_int_eq(http_allow_parse(&a, "10.0.0.0/33", err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "allow: '10.0.0.0/33' is not an address or CIDR "
                          "(A.B.C.D[/0-32] or IPV6[/0-128])");
    char many[64 * 12 + 16] = "";
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d ", i);
    ck_assert_int_eq(http_allow_parse(&a, many, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "allow: more than 64 entries");
}
END_TEST

static const char *w1[] = { "/", "200", "text/plain", "hello", NULL };
static const char *w2[] = { "/b", "404", "text/html; charset=utf-8", "<p>gone</p>", NULL };
static const char *w3[] = { "/a", "301", "text/plain", "moved", NULL };

static tick_words words(const char **v) { return (tick_words){ 4, v }; }

START_TEST(routes_table)
{
    struct http_routes r;
    tick_words ws[3] = { words(w1), words(w2), words(w3) };
    tick_words_list routes = { 3, ws }, none = { 0, NULL };
    ck_assert_int_eq(http_routes_build(&r, &routes, &none, 1 << 20, err, sizeof err), 0);
    ck_assert_uint_eq(r.n, 3);
    const struct http_route *rt = http_routes_find(&r, "/b", 2);
    ck_assert_ptr_nonnull(rt);
    ck_assert_uint_eq(rt->status, 404);
    ck_assert_str_eq(rt->head, "HTTP/1.1 404 Not Found\r\n");
    ck_assert_str_eq(rt->fields, "Content-Type: text/html; charset=utf-8\r\n"
                                 "Content-Length: 11\r\n");
    ck_assert_ptr_nonnull(http_routes_find(&r, "/", 1));
    ck_assert_ptr_nonnull(http_routes_find(&r, "/a", 2));
    ck_assert_ptr_null(http_routes_find(&r, "/c", 2));
    ck_assert_ptr_null(http_routes_find(&r, "/bb", 3));
    http_routes_free(&r);

    /* refusals, each with its reason */
    static const char *const bad[][4] = {
        { "nopath", "200", "t", "b" },
        { "/x?y", "200", "t", "b" },
        { "/metrics", "200", "t", "b" },
        { "/x", "99", "t", "b" },
        { "/x", "204", "t", "b" },
        { "/x", "600", "t", "b" },
        { "/x", "2000", "t", "b" },
        { "/x", "200", "a\tb", "b" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *v[5] = { bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL };
        tick_words w = words(v);
        tick_words_list one = { 1, &w };
        err[0] = '\0';
        ck_assert_msg(http_routes_build(&r, &one, &none, 1 << 20, err, sizeof err) == -EINVAL,
                      "route %zu accepted", i);
        ck_assert(err[0]);
    }
    tick_words dup[2] = { words(w1), words(w1) };
    tick_words_list two = { 2, dup };
    ck_assert_int_eq(http_routes_build(&r, &two, &none, 1 << 20, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "route '/' is given twice");

    /* route_file: an absolute path, read whole, bounded */
    char path[] = "/tmp/test_http_plugin.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "<html>file</html>\n", 18), 18);
    close(fd);
    const char *fv[] = { "/f", "200", "text/html", path, NULL };
    tick_words fw = words(fv);
    tick_words_list files = { 1, &fw };
    ck_assert_int_eq(http_routes_build(&r, &none, &files, 1 << 20, err, sizeof err), 0);
    rt = http_routes_find(&r, "/f", 2);
    ck_assert_ptr_nonnull(rt);
    ck_assert_uint_eq(rt->body_len, 18);
    ck_assert(memcmp(rt->body, "<html>file</html>\n", 18) == 0);
    http_routes_free(&r);
    ck_assert_int_eq(http_routes_build(&r, &none, &files, 10, err, sizeof err), -EINVAL);
    ck_assert(strstr(err, "is larger than 10 bytes"));
    unlink(path);
    ck_assert_int_eq(http_routes_build(&r, &none, &files, 1 << 20, err, sizeof err), -EINVAL);
    ck_assert(strstr(err, "cannot open"));
    const char *rv[] = { "/f", "200", "text/html", "rel/file", NULL };
    fw = words(rv);
    ck_assert_int_eq(http_routes_build(&r, &none, &files, 1 << 20, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "route_file '/f': 'rel/file' is not an absolute path");
}
END_TEST

START_TEST(target_paths)
{
    const char *p;
    size_t n;
#define PATH(t, want)                                                        \
    do {                                                                     \
        http_target_path(t, strlen(t), &p, &n);                              \
        ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0,          \
                      "'%s' -> '%.*s', want '%s'", t, (int)n, p, want);      \
    } while (0)
    PATH("/", "/");
    PATH("/a?b=c", "/a");
    PATH("/metrics?", "/metrics");
    PATH("http://h:80/status", "/status");
    PATH("http://h", "");
    PATH("*", "*");
    PATH("", "");
#undef PATH
    ck_assert_int_eq(http_builtin("/metrics", 8), HTTP_EP_METRICS);
    ck_assert_int_eq(http_builtin("/healthz", 8), HTTP_EP_HEALTHZ);
    ck_assert_int_eq(http_builtin("/status", 7), HTTP_EP_STATUS);
    ck_assert_int_eq(http_builtin("/statu", 6), HTTP_EP_NONE);
}
END_TEST

START_TEST(reasons_and_date)
{
    ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
    ck_assert_str_eq(http_reason(299), "");
    const char *d = http_date_line();
    ck_assert_uint_eq(strlen(d), HTTP_DATE_LEN);
    ck_assert(strncmp(d, "Date: ", 6) == 0);
    ck_assert(strcmp(d + HTTP_DATE_LEN - 5, "GMT\r\n") == 0);
}
END_TEST

static Suite *http_plugin_suite(void)
{
    Suite *s = suite_create("http plugin");
    TCase *tc = tcase_create("http plugin");
    tcase_add_test(tc, allow_lists);
    tcase_add_test(tc, routes_table);
    tcase_add_test(tc, target_paths);
    tcase_add_test(tc, reasons_and_date);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(http_plugin_suite)
