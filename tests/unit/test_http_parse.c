/* test_http_parse.c — the http plugin's request parser and chunked-body
 * skipper (plugins/http/http_parse.c), alone. */
#include <string.h>

#include "helpers.h"
#include "http_parse.h"

static struct http_request req;

/* Parse a NUL-terminated request once, with the default limits. */
static int parse(const char *s)
{
    return http_parse_request(s, strlen(s), 0, NULL, &req);
}

static int parse_lim(const char *s, struct http_limits lim)
{
    return http_parse_request(s, strlen(s), 0, &lim, &req);
}

static bool view_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

#define WRK "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
#define CURL "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
#define H11(fields) "GET / HTTP/1.1\r\nHost: a\r\n" fields "\r\n"
#define POST(fields) "POST /up HTTP/1.1\r\nHost: a\r\n" fields "\r\n"

START_TEST(wrk_and_curl_heads)
{
    ck_assert_int_eq(parse(WRK), (int)strlen(WRK));
    ck_assert_int_eq(req.method, HTTP_M_GET);
    ck_assert(view_is(req.method_str, req.method_len, "GET"));
    ck_assert(view_is(req.target, req.target_len, "/"));
    ck_assert_int_eq(req.minor, 1);
    ck_assert(req.keep_alive && !req.chunked && !req.has_content_length);
    ck_assert_uint_eq(req.content_length, 0);
    ck_assert_uint_eq(req.n_headers, 1);
    ck_assert(view_is(req.headers[0].name, req.headers[0].name_len, "Host"));
    ck_assert(view_is(req.headers[0].value, req.headers[0].value_len, "127.0.0.1:8080"));

    ck_assert_int_eq(parse(CURL), (int)strlen(CURL));
    ck_assert(view_is(req.target, req.target_len, "/metrics"));
    ck_assert_uint_eq(req.n_headers, 3);
    ck_assert(view_is(req.headers[1].value, req.headers[1].value_len, "curl/7.88.1"));
    ck_assert(view_is(req.headers[2].value, req.headers[2].value_len, "*/*"));
}
END_TEST

START_TEST(ows_stripped_and_empty_value)
{
    ck_assert_int_gt(parse(H11("X-A: \t v a \t\r\nX-B:\r\nX-C:x\r\n")), 0);
    ck_assert(view_is(req.headers[1].value, req.headers[1].value_len, "v a"));
    ck_assert_uint_eq(req.headers[2].value_len, 0);
    ck_assert(view_is(req.headers[3].value, req.headers[3].value_len, "x"));
}
END_TEST

/* One case of the status table: a request and what it must give. */
struct status_case {
    const char *why;
    const char *req;
    int want;   /* 1: accepted (the whole string is the head) */
};

static const struct status_case status_cases[] = {
    { "wrk", WRK, 1 },
    { "bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 1 },
    { "mixed line ends", "GET / HTTP/1.1\r\nHost: a\n\r\n", 1 },
    { "one leading CRLF", "\r\n" WRK, 1 },
    { "eight leading empty lines", "\r\n\r\n\n\n\r\n\r\n\n\n" WRK, 1 },
    { "nine leading empty lines", "\r\n\r\n\n\n\r\n\r\n\n\n\n" WRK, -400 },
    { "HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 1 },
    { "unknown method token", "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
    { "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
    { "obs-text in target and value", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX: \xff\r\n\r\n", 1 },
    /* 400: malformed */
    { "two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "bad method byte", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "method over 32", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "CTL in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "DEL in target", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
    { "lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", -400 },
    { "version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", -400 },
    { "no version", "GET /\r\nHost: a\r\n\r\n", -400 },
    { "bare CR after version", "GET / HTTP/1.1\rHost: a\r\n\r\n", -400 },
    { "bare CR in value", H11("X: a\rb\r\n"), -400 },
    { "NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", -400 },
    { "space before colon", H11("Content-Length : 5\r\n"), -400 },
    { "tab before colon", H11("X\t: 5\r\n"), -400 },
    { "bad byte in name", H11("X(y): 5\r\n"), -400 },
    { "empty name", H11(": 5\r\n"), -400 },
    { "no colon", H11("X-A\r\n"), -400 },
    { "obs-fold", H11("X-A: 1\r\n  folded\r\n"), -400 },
    { "space before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", -400 },
    { "HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", -400 },
    { "two Hosts", H11("Host: b\r\n"), -400 },
    { "bare CR ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\rX", -400 },
    /* 505 */
    { "HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", -505 },
    { "HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", -505 },
    { "HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", -505 },
    /* Content-Length */
    { "CL 0", POST("Content-Length: 0\r\n"), 1 },
    { "CL repeated, same", POST("Content-Length: 5\r\nContent-Length: 5\r\n"), 1 },
    { "CL repeated, differing", POST("Content-Length: 5\r\nContent-Length: 6\r\n"), -400 },
    { "CL list", POST("Content-Length: 5, 5\r\n"), -400 },
    { "CL negative", POST("Content-Length: -1\r\n"), -400 },
    { "CL plus sign", POST("Content-Length: +1\r\n"), -400 },
    { "CL empty", POST("Content-Length:\r\n"), -400 },
    { "CL junk", POST("Content-Length: 12a\r\n"), -400 },
    { "CL overflowing 64 bits", POST("Content-Length: 99999999999999999999\r\n"), -400 },
    { "CL 2^63", POST("Content-Length: 9223372036854775808\r\n"), -400 },
    { "CL over max_body", POST("Content-Length: 1048577\r\n"), -413 },
    { "CL at max_body", POST("Content-Length: 1048576\r\n"), 1 },
    /* Transfer-Encoding and smuggling */
    { "TE chunked", POST("Transfer-Encoding: chunked\r\n"), 1 },
    { "TE Chunked", POST("transfer-encoding: Chunked\r\n"), 1 },
    { "TE gzip, chunked", POST("Transfer-Encoding: gzip, chunked\r\n"), 1 },
    { "TE over two lines", POST("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), 1 },
    { "TE chunked, gzip", POST("Transfer-Encoding: chunked, gzip\r\n"), -400 },
    { "TE gzip", POST("Transfer-Encoding: gzip\r\n"), -400 },
    { "TE chunked twice", POST("Transfer-Encoding: chunked, chunked\r\n"), -400 },
    { "TE with a parameter", POST("Transfer-Encoding: chunked;q=1\r\n"), -400 },
    { "TE empty", POST("Transfer-Encoding: \r\n"), -400 },
    { "TE chunked then identity line", POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"), -400 },
    { "CL + TE", POST("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"), -400 },
    { "TE + CL", POST("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"), -400 },
    { "TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400 },
    { "TE with space before colon", POST("Transfer-Encoding : chunked\r\n"), -400 },
};

START_TEST(statuses)
{
    const struct status_case *c = &status_cases[_i];
    int want = c->want == 1 ? (int)strlen(c->req) : c->want;
    size_t len = strlen(c->req);
    if (strstr(c->why, "NUL"))
        len = strlen(c->req) + 1 + strlen(c->req + strlen(c->req) + 1);
    if (c->want == 1)
        want = (int)len;
    int got = http_parse_request(c->req, len, 0, NULL, &req);
    ck_assert_msg(got == want, "%s: got %d, want %d", c->why, got, want);
}
END_TEST

START_TEST(smuggling_fields_reported)
{
    ck_assert_int_gt(parse(POST("Transfer-Encoding: gzip, chunked\r\n")), 0);
    ck_assert(req.chunked && !req.has_content_length);
    ck_assert_int_gt(parse(POST("Content-Length: 5\r\nContent-Length: 5\r\n")), 0);
    ck_assert(!req.chunked && req.has_content_length);
    ck_assert_uint_eq(req.content_length, 5);
    struct http_limits lim = HTTP_LIMITS_DEFAULT;
    lim.max_body = 0;
    ck_assert_int_gt(parse_lim(POST("Content-Length: 9223372036854775807\r\n"), lim), 0);
    ck_assert_uint_eq(req.content_length, 9223372036854775807ull);
}
END_TEST

START_TEST(methods)
{
    static const struct { const char *m; enum http_method e; } known[] = {
        { "GET", HTTP_M_GET },         { "HEAD", HTTP_M_HEAD },     { "POST", HTTP_M_POST },
        { "PUT", HTTP_M_PUT },         { "DELETE", HTTP_M_DELETE }, { "CONNECT", HTTP_M_CONNECT },
        { "OPTIONS", HTTP_M_OPTIONS }, { "TRACE", HTTP_M_TRACE },   { "PATCH", HTTP_M_PATCH },
        { "get", HTTP_M_OTHER },       { "GETS", HTTP_M_OTHER },    { "M-SEARCH", HTTP_M_OTHER },
    };
    char buf[128];
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        snprintf(buf, sizeof buf, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", known[k].m);
        ck_assert_int_eq(parse(buf), (int)strlen(buf));
        ck_assert_int_eq(req.method, known[k].e);
        ck_assert(view_is(req.method_str, req.method_len, known[k].m));
    }
    /* 32 bytes is the longest method */
    ck_assert_int_gt(parse("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    ck_assert_uint_eq(req.method_len, 32);
}
END_TEST

START_TEST(keep_alive)
{
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    ck_assert(req.keep_alive && req.minor == 1);
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 0);
    ck_assert(!req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nconnection: Upgrade, CLOSE\r\n\r\n"), 0);
    ck_assert(!req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\n\r\n"), 0);
    ck_assert(!req.keep_alive && req.minor == 0);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    ck_assert(req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0);
    ck_assert(req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), 0);
    ck_assert(!req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive-not\r\n\r\n"), 0);
    ck_assert(!req.keep_alive);
}
END_TEST

/* A request with a target of n bytes, or n bytes of one field's value. */
static char *big(size_t target, size_t value)
{
    char *s = malloc(target + value + 64), *p = s;
    p += sprintf(p, "GET /");
    memset(p, 'a', target - 1);
    p += target - 1;
    p += sprintf(p, " HTTP/1.1\r\nHost: a\r\nX: ");
    memset(p, 'b', value);
    p += value;
    sprintf(p, "\r\n\r\n");
    return s;
}

START_TEST(uri_limit_414)
{
    char *ok = big(8192, 1), *over = big(8193, 1);
    ck_assert_int_eq(parse(ok), (int)strlen(ok));
    ck_assert_uint_eq(req.target_len, 8192);
    ck_assert_int_eq(parse(over), -414);
    /* decided before the request line ends: no buffering without end */
    ck_assert_int_eq(http_parse_request(over, 5 + 8192, 0, NULL, &req), -414);
    ck_assert_int_eq(http_parse_request(over, 4 + 8192, 0, NULL, &req), HTTP_INCOMPLETE);
    struct http_limits lim = HTTP_LIMITS_DEFAULT;
    lim.max_uri = 3;
    ck_assert_int_gt(parse_lim("GET /ab HTTP/1.1\r\nHost: a\r\n\r\n", lim), 0);
    ck_assert_int_eq(parse_lim("GET /abc HTTP/1.1\r\nHost: a\r\n\r\n", lim), -414);
    free(ok);
    free(over);
}
END_TEST

START_TEST(head_limit_431)
{
    /* the field section: "Host: a\r\n" (9) + "X: " (3) + value + CRLF CRLF */
    size_t fit = 8192 - 9 - 3 - 4;
    char *ok = big(1, fit), *over = big(1, fit + 1);
    ck_assert_int_eq(parse(ok), (int)strlen(ok));
    ck_assert_int_eq(parse(over), -431);
    ck_assert_int_eq(http_parse_request(over, strlen(over) - 1, 0, NULL, &req), -431);
    struct http_limits lim = HTTP_LIMITS_DEFAULT;
    lim.max_head = 11;   /* "Host: a\r\n\r\n" */
    ck_assert_int_gt(parse_lim(WRK, (struct http_limits){ 8192, 24, 64, 0 }), 0);
    ck_assert_int_eq(parse_lim(WRK, (struct http_limits){ 8192, 23, 64, 0 }), -431);
    ck_assert_int_gt(parse_lim("GET / HTTP/1.1\r\nHost: a\r\n\r\n", lim), 0);
    lim.max_head = 10;
    ck_assert_int_eq(parse_lim("GET / HTTP/1.1\r\nHost: a\r\n\r\n", lim), -431);
    free(ok);
    free(over);
}
END_TEST

START_TEST(header_count_431)
{
    char buf[4096], *p = buf;
    p += sprintf(p, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int k = 1; k < HTTP_MAX_HEADERS; k++)
        p += sprintf(p, "X-%d: %d\r\n", k, k);
    sprintf(p, "\r\n");
    ck_assert_int_eq(parse(buf), (int)strlen(buf));
    ck_assert_uint_eq(req.n_headers, HTTP_MAX_HEADERS);
    sprintf(p, "X-65: 1\r\n\r\n");
    ck_assert_int_eq(parse(buf), -431);
    /* a smaller configured count, and more than the array is clamped */
    ck_assert_int_eq(parse_lim(CURL, (struct http_limits){ 8192, 8192, 2, 0 }), -431);
    ck_assert_int_gt(parse_lim(CURL, (struct http_limits){ 8192, 8192, 3, 0 }), 0);
    sprintf(p, "X-65: 1\r\n\r\n");
    ck_assert_int_eq(parse_lim(buf, (struct http_limits){ 8192, 8192, 1000, 0 }), -431);
}
END_TEST

/* Requests fed in pieces (the table's too). */
static const char *split_cases[] = {
    WRK, CURL, "GET / HTTP/1.1\nHost: a\n\n", "\r\nGET / HTTP/1.0\r\n\r\n",
    POST("Transfer-Encoding: gzip, chunked\r\n"), POST("Content-Length: 10\r\n"),
    "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", H11("Host : a\r\n"),
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n", POST("Content-Length: 1048577\r\n"),
    POST("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"),
};

/* With the hint, a refusal waits for an empty line (or the limits). */
static bool deferred(const char *buf, size_t len, int whole)
{
    for (size_t k = 0; k + 1 < len; k++)
        if (buf[k] == '\n' && (buf[k + 1] == '\n' ||
                               (k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n')))
            return false;
    return whole < 0 && whole != HTTP_INCOMPLETE;
}

static void check_splits(const char *s, size_t len)
{
    struct http_request whole_req, part;
    int whole = http_parse_request(s, len, 0, NULL, &whole_req);
    char *buf = malloc(len);   /* exactly len bytes: no reading past */
    memcpy(buf, s, len);
    for (size_t k = 1; k < len; k++) {
        /* every prefix alone: "incomplete", or the whole's answer */
        int a = http_parse_request(buf, k, 0, NULL, &part);
        ck_assert_msg(a == HTTP_INCOMPLETE || a == whole, "prefix %zu: %d, whole %d", k, a, whole);
        /* two reads, the second with the hint */
        if (a == HTTP_INCOMPLETE) {
            int b = http_parse_request(buf, len, k, NULL, &part);
            ck_assert_msg(b == whole || (b == HTTP_INCOMPLETE && deferred(buf, len, whole)),
                          "split at %zu: %d, whole %d", k, b, whole);
            if (whole > 0) {
                ck_assert_uint_eq(part.n_headers, whole_req.n_headers);
                ck_assert_int_eq(part.target - buf, whole_req.target - s);
                ck_assert_int_eq(part.keep_alive, whole_req.keep_alive);
                ck_assert_int_eq(part.chunked, whole_req.chunked);
            }
        }
    }
    /* byte by byte with the hint */
    int r = HTTP_INCOMPLETE;
    for (size_t k = 1; k <= len && r == HTTP_INCOMPLETE; k++)
        r = http_parse_request(buf, k, k - 1, NULL, &part);
    ck_assert(r == whole || (r == HTTP_INCOMPLETE && deferred(buf, len, whole)));
    free(buf);
}

START_TEST(split_at_every_byte)
{
    for (size_t k = 0; k < sizeof split_cases / sizeof split_cases[0]; k++)
        check_splits(split_cases[k], strlen(split_cases[k]));
    for (size_t k = 0; k < sizeof status_cases / sizeof status_cases[0]; k++)
        if (!strstr(status_cases[k].why, "NUL"))
            check_splits(status_cases[k].req, strlen(status_cases[k].req));
}
END_TEST

START_TEST(incomplete_with_hint_is_cheap_and_bounded)
{
    /* an endless field value: the hint says "incomplete" until the
     * limits make a full parse answer 431 */
    size_t cap = 20000;
    char *buf = malloc(cap);
    size_t n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(buf + n, 'v', cap - n);
    int r = http_parse_request(buf, n, 0, NULL, &req);
    ck_assert_int_eq(r, HTTP_INCOMPLETE);
    size_t k;
    for (k = n + 1; k <= cap && r == HTTP_INCOMPLETE; k++)
        r = http_parse_request(buf, k, k - 1, NULL, &req);
    ck_assert_int_eq(r, -431);
    ck_assert_uint_le(k - 1, 60 + 8192 + 8192 + 1);   /* k - 1: the answered length */
    free(buf);
}
END_TEST

START_TEST(pipelined)
{
    const char *s = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                    "HEAD /b HTTP/1.1\r\nHost: a\r\n\r\n"
                    "POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
                    "GET /d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                    "GET /e HTTP/1.1\r\nHo";
    static const char *targets[] = { "/a", "/b", "/c", "/d" };
    size_t len = strlen(s), off = 0;
    for (int k = 0; k < 4; k++) {
        int n = http_parse_request(s + off, len - off, 0, NULL, &req);
        ck_assert_int_gt(n, 0);
        ck_assert(view_is(req.target, req.target_len, targets[k]));
        ck_assert_int_eq(req.keep_alive, k != 3);
        ck_assert_int_eq(req.method, k == 1 ? HTTP_M_HEAD : k == 2 ? HTTP_M_POST : HTTP_M_GET);
        off += (size_t)n + req.content_length;
    }
    ck_assert_int_eq(http_parse_request(s + off, len - off, 0, NULL, &req), HTTP_INCOMPLETE);
}
END_TEST

START_TEST(http10_keep_alive_pipeline)
{
    const char *s = "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                    "GET /2 HTTP/1.0\r\n\r\n";
    int n = parse(s);
    ck_assert_int_gt(n, 0);
    ck_assert(req.keep_alive && req.minor == 0);
    ck_assert_int_eq(http_parse_request(s + n, strlen(s) - (size_t)n, 0, NULL, &req),
                     (int)strlen(s) - n);
    ck_assert(!req.keep_alive);
}
END_TEST

/* ---- chunked bodies ----------------------------------------------------- */

/* The skipper over buf[0..len) at once; the result, *used set. */
static int skip_all(const char *buf, size_t len, uint64_t max, size_t *used)
{
    struct http_chunked st;
    http_chunked_init(&st, max);
    return http_chunked_skip(&st, buf, len, used);
}

struct chunk_case {
    const char *why;
    const char *body;   /* followed by "NEXT" when it ends */
    int want;
};

static const struct chunk_case chunk_cases[] = {
    { "one chunk", "5\r\nhello\r\n0\r\n\r\n", 0 },
    { "empty body", "0\r\n\r\n", 0 },
    { "hex sizes", "A\r\n0123456789\r\n1f\r\n0123456789012345678901234567890\r\n0\r\n\r\n", 0 },
    { "leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 0 },
    { "extensions", "5;a=b;c=\"d e\"\r\nhello\r\n0;last\r\n\r\n", 0 },
    { "BWS before ';'", "5 \t;a\r\nhello\r\n0\r\n\r\n", 0 },
    { "trailers", "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n", 0 },
    { "LF-only size line", "5\nhello\r\n0\r\n\r\n", -400 },
    { "LF-only after data", "5\r\nhello\n0\r\n\r\n", -400 },
    { "CR-only after data", "5\r\nhello\r0\r\n\r\n", -400 },
    { "data longer than size", "5\r\nhelloX\r\n0\r\n\r\n", -400 },
    { "LF-only last chunk", "0\n\n", -400 },
    { "LF-only final line", "0\r\n\n", -400 },
    { "LF-only trailer", "0\r\nX: 1\n\r\n", -400 },
    { "obs-fold in trailer", "0\r\nX: 1\r\n 2\r\n\r\n", -400 },
    { "no size", "\r\nhello\r\n0\r\n\r\n", -400 },
    { "negative size", "-5\r\nhello\r\n0\r\n\r\n", -400 },
    { "0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", -400 },
    { "space after size", "5 \r\nhello\r\n0\r\n\r\n", -400 },
    { "space inside size", "5 5\r\n", -400 },
    { "size of 16 hex digits", "ffffffffffffffff\r\n", -400 },
    { "size overflowing", "10000000000000000\r\n", -400 },
    { "CTL in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", -400 },
};

START_TEST(chunked_cases)
{
    const struct chunk_case *c = &chunk_cases[_i];
    char buf[256];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%sNEXT", c->body), used;
    int r = skip_all(buf, len, 0, &used);
    ck_assert_msg(r == c->want, "%s: %d, want %d", c->why, r, c->want);
    if (r == 0)
        ck_assert_msg(used == strlen(c->body), "%s: used %zu", c->why, used);
}
END_TEST

START_TEST(chunked_limits)
{
    size_t used;
    /* 2^60 - 1 is the largest size: accepted, then waits for data */
    ck_assert_int_eq(skip_all("fffffffffffffff\r\n", 17, 0, &used), HTTP_INCOMPLETE);
    ck_assert_uint_eq(used, 17);
    /* max_body counts the data over all chunks */
    const char *s = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    ck_assert_int_eq(skip_all(s, strlen(s), 10, &used), 0);
    ck_assert_int_eq(skip_all(s, strlen(s), 9, &used), -413);
    /* a size line without end */
    char line[5000];
    memset(line, '0', sizeof line);
    ck_assert_int_eq(skip_all(line, sizeof line, 0, &used), -400);
    /* an error is final */
    struct http_chunked st;
    http_chunked_init(&st, 0);
    ck_assert_int_eq(http_chunked_skip(&st, "5\nhello", 7, &used), -400);
    ck_assert_int_eq(http_chunked_skip(&st, "0\r\n\r\n", 5, &used), -400);
    /* so is the end */
    http_chunked_init(&st, 0);
    ck_assert_int_eq(http_chunked_skip(&st, "0\r\n\r\n", 5, &used), 0);
    ck_assert_int_eq(http_chunked_skip(&st, "GET", 3, &used), 0);
    ck_assert_uint_eq(used, 0);
}
END_TEST

/* Fed in two reads split at every byte, and one byte at a time. */
START_TEST(chunked_split_at_every_byte)
{
    for (size_t c = 0; c < sizeof chunk_cases / sizeof chunk_cases[0]; c++) {
        char buf[256];
        size_t len = (size_t)snprintf(buf, sizeof buf, "%sNEXT", chunk_cases[c].body), used;
        int whole = skip_all(buf, len, 0, &used);
        for (size_t k = 0; k <= len; k++) {
            struct http_chunked st;
            size_t a, b = 0;
            http_chunked_init(&st, 0);
            int r = http_chunked_skip(&st, buf, k, &a);
            if (r == HTTP_INCOMPLETE) {
                ck_assert_uint_eq(a, k);
                r = http_chunked_skip(&st, buf + k, len - k, &b);
            }
            ck_assert_msg(r == whole, "%s split at %zu: %d", chunk_cases[c].why, k, r);
            if (whole == 0)
                ck_assert_uint_eq(a + b, used);
        }
        struct http_chunked st;
        size_t off = 0, n;
        int r = HTTP_INCOMPLETE;
        http_chunked_init(&st, 0);
        while (r == HTTP_INCOMPLETE && off < len) {
            r = http_chunked_skip(&st, buf + off, 1, &n);
            off += n;
        }
        ck_assert_int_eq(r, whole);
        if (whole == 0)
            ck_assert_uint_eq(off, used);
    }
}
END_TEST

/* The plugin's loop: heads and chunked bodies of a pipeline, the stream
 * split at every byte into two reads. */
START_TEST(chunked_upload_pipeline_split)
{
    const char *s = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
                    "GET /after HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = strlen(s);
    for (size_t cut = 0; cut <= len; cut++) {
        size_t avail = cut, off = 0, prev = 0;
        int served = 0;
        bool in_body = false;
        struct http_chunked ck;
        while (served < 2) {
            if (!in_body) {
                int n = http_parse_request(s + off, avail - off, prev, NULL, &req);
                if (n == HTTP_INCOMPLETE) {
                    ck_assert_uint_lt(avail, len);
                    prev = avail - off;
                    avail = len;   /* the second read */
                    continue;
                }
                ck_assert_int_gt(n, 0);
                off += (size_t)n;
                prev = 0;
                if (served == 1) {
                    ck_assert(view_is(req.target, req.target_len, "/after"));
                    served++;
                    break;
                }
                ck_assert(req.chunked);
                http_chunked_init(&ck, 0);
                in_body = true;
            }
            size_t used;
            int r = http_chunked_skip(&ck, s + off, avail - off, &used);
            off += used;
            if (r == HTTP_INCOMPLETE) {
                ck_assert_uint_lt(avail, len);
                avail = len;
                continue;
            }
            ck_assert_int_eq(r, 0);
            in_body = false;
            served++;
        }
        ck_assert_uint_eq(off, len);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("http_parse");
    TCase *t = tcase_create("head");
    tcase_add_test(t, wrk_and_curl_heads);
    tcase_add_test(t, ows_stripped_and_empty_value);
    tcase_add_loop_test(t, statuses, 0, sizeof status_cases / sizeof status_cases[0]);
    tcase_add_test(t, smuggling_fields_reported);
    tcase_add_test(t, methods);
    tcase_add_test(t, keep_alive);
    tcase_add_test(t, uri_limit_414);
    tcase_add_test(t, head_limit_431);
    tcase_add_test(t, header_count_431);
    tcase_add_test(t, split_at_every_byte);
    tcase_add_test(t, incomplete_with_hint_is_cheap_and_bounded);
    tcase_add_test(t, pipelined);
    tcase_add_test(t, http10_keep_alive_pipeline);
    suite_add_tcase(s, t);
    t = tcase_create("chunked");
    tcase_add_loop_test(t, chunked_cases, 0, sizeof chunk_cases / sizeof chunk_cases[0]);
    tcase_add_test(t, chunked_limits);
    tcase_add_test(t, chunked_split_at_every_byte);
    tcase_add_test(t, chunked_upload_pipeline_split);
    suite_add_tcase(s, t);
    return s;
}

TICK_TEST_MAIN(make_suite)
