/*
 * fuzz_http.c — the http plugin's request parser and chunked-body skipper
 * (plugins/http/http_parse.c).
 *
 * Byte 0 picks the limits (defaults, or small ones that the input can
 * reach: 414, 431, 413); byte 1 seeds the split sizes. The rest is a
 * connection's byte stream, served as the plugin does: a head, then its
 * body (skipped by Content-Length or by the chunked skipper), then the
 * next pipelined request, until an error or the end of the input.
 *
 * Invariants: a head's length is within the buffer and every view lies
 * inside the head; results are one of the documented values; parsing the
 * head from growing prefixes (with the prev_len hint) gives, at the first
 * answer, the one-shot answer and the same request (with the hint, a
 * refusal may come later, but no later than the limits); past them a
 * head is never "incomplete"; the chunked skipper fed in pieces ends at
 * the same byte with the same result as fed at once.
 */
#include "fuzz.h"
#include "../../plugins/http/http_parse.h"

static uint32_t rnd_state;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static bool inside(const char *p, size_t n, const char *base, size_t len)
{
    return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static void check_request(const struct http_request *r, const char *buf, int n,
                          const struct http_limits *lim)
{
    size_t len = (size_t)n;
    FUZZ_CHECK(inside(r->method_str, r->method_len, buf, len) && r->method_len > 0);
    FUZZ_CHECK(r->method_len <= HTTP_METHOD_MAX);
    FUZZ_CHECK(inside(r->target, r->target_len, buf, len) && r->target_len > 0);
    FUZZ_CHECK(r->target_len <= lim->max_uri);
    FUZZ_CHECK(r->minor == 0 || r->minor == 1);
    FUZZ_CHECK(r->n_headers <= lim->max_headers && r->n_headers <= HTTP_MAX_HEADERS);
    FUZZ_CHECK(!(r->chunked && r->has_content_length));
    FUZZ_CHECK(r->has_content_length || r->content_length == 0);
    FUZZ_CHECK(!lim->max_body || r->content_length <= lim->max_body);
    if (r->method == HTTP_M_GET)
        FUZZ_CHECK(r->method_len == 3 && !memcmp(r->method_str, "GET", 3));
    for (size_t k = 0; k < r->n_headers; k++) {
        const struct http_header *h = &r->headers[k];
        FUZZ_CHECK(inside(h->name, h->name_len, buf, len) && h->name_len > 0);
        FUZZ_CHECK(inside(h->value, h->value_len, buf, len));
        FUZZ_CHECK(h->name[h->name_len] == ':');
        FUZZ_CHECK(h->value_len == 0 || (h->value[0] != ' ' && h->value[h->value_len - 1] != ' '));
    }
}

static bool same_request(const struct http_request *a, const struct http_request *b)
{
    if (a->method != b->method || a->method_str != b->method_str ||
        a->method_len != b->method_len || a->target != b->target ||
        a->target_len != b->target_len || a->minor != b->minor ||
        a->keep_alive != b->keep_alive || a->chunked != b->chunked ||
        a->has_content_length != b->has_content_length ||
        a->content_length != b->content_length || a->n_headers != b->n_headers)
        return false;
    for (size_t k = 0; k < a->n_headers; k++)
        if (memcmp(&a->headers[k], &b->headers[k], sizeof a->headers[k]))
            return false;
    return true;
}

/* The head at buf[0..len): one shot, then in growing prefixes. */
static int head(const char *buf, size_t len, const struct http_limits *lim,
                struct http_request *req)
{
    static struct http_request split;
    int whole = http_parse_request(buf, len, 0, lim, req), got = HTTP_INCOMPLETE;
    size_t have = 0, prev = 0;

    FUZZ_CHECK(whole > 0 || whole == HTTP_INCOMPLETE || whole == -400 || whole == -413 ||
               whole == -414 || whole == -431 || whole == -505);
    if (whole > 0) {
        FUZZ_CHECK((size_t)whole <= len);
        check_request(req, buf, whole, lim);
    }
    if (whole == HTTP_INCOMPLETE)
        FUZZ_CHECK(len <= 60 + lim->max_uri + lim->max_head);

    /* without the hint every prefix is parsed in full: the first answer
     * must be the one-shot answer */
    while (have < len && got == HTTP_INCOMPLETE) {
        size_t step = rnd() % 4 == 0 ? rnd() % 64 + 1 : 1;
        have = len - have < step ? len : have + step;
        got = http_parse_request(buf, have, 0, lim, &split);
    }
    FUZZ_CHECK(got == whole);
    if (whole > 0)
        FUZZ_CHECK(same_request(req, &split));

    /* with it, a refusal may wait for an empty line or for the limits,
     * never more; anything else is the same */
    have = 0;
    got = HTTP_INCOMPLETE;
    while (have < len && got == HTTP_INCOMPLETE) {
        size_t step = rnd() % 4 == 0 ? rnd() % 64 + 1 : 1;
        have = len - have < step ? len : have + step;
        got = http_parse_request(buf, have, prev, lim, &split);
        prev = have;
    }
    if (got == HTTP_INCOMPLETE && whole < 0 && whole != HTTP_INCOMPLETE)
        FUZZ_CHECK(len <= 60 + lim->max_uri + lim->max_head);
    else
        FUZZ_CHECK(got == whole);
    if (whole > 0)
        FUZZ_CHECK(same_request(req, &split));
    return whole;
}

/* A chunked body at buf[0..len): the skipper at once, then in pieces. */
static int chunked(const char *buf, size_t len, uint64_t max_body, size_t *used)
{
    struct http_chunked a, b;
    size_t off = 0, n;
    int ra, rb = HTTP_INCOMPLETE;

    http_chunked_init(&a, max_body);
    ra = http_chunked_skip(&a, buf, len, used);
    FUZZ_CHECK(*used <= len);
    FUZZ_CHECK(ra == 0 || ra == HTTP_INCOMPLETE || ra == -400 || ra == -413);
    if (ra == HTTP_INCOMPLETE)
        FUZZ_CHECK(*used == len);

    http_chunked_init(&b, max_body);
    while (off < len && rb == HTTP_INCOMPLETE) {
        size_t step = rnd() % 3 == 0 ? rnd() % 200 + 1 : rnd() % 3 + 1;
        if (step > len - off)
            step = len - off;
        rb = http_chunked_skip(&b, buf + off, step, &n);
        FUZZ_CHECK(n <= step);
        if (rb == HTTP_INCOMPLETE)
            FUZZ_CHECK(n == step);
        off += n;
    }
    FUZZ_CHECK(rb == ra);
    if (ra != HTTP_INCOMPLETE)
        FUZZ_CHECK(off == *used);
    /* stuck on its answer */
    FUZZ_CHECK(http_chunked_skip(&b, buf, len, &n) == rb || rb == HTTP_INCOMPLETE);
    return ra;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_request req;
    struct http_limits lim = HTTP_LIMITS_DEFAULT;
    char *buf;
    size_t len, off = 0;

    if (size < 2)
        return 0;
    if (data[0] & 1)
        lim = (struct http_limits){ .max_uri = 16 + data[0] % 64, .max_head = 64 + data[0] % 200,
                                    .max_headers = data[0] % 9, .max_body = data[0] % 300 };
    rnd_state = 0x9e3779b9u ^ data[1] ^ ((uint32_t)data[0] << 8);
    len = size - 2;
    buf = malloc(len ? len : 1);   /* exactly len: ASan sees any overread */
    if (!buf)
        abort();
    memcpy(buf, data + 2, len);

    for (int k = 0; k < 16 && off < len; k++) {
        int n = head(buf + off, len - off, &lim, &req);
        if (n <= 0)
            break;
        off += (size_t)n;
        if (req.chunked) {
            size_t used;
            if (chunked(buf + off, len - off, lim.max_body, &used) != 0)
                break;
            off += used;
        } else if (req.content_length > len - off) {
            break;
        } else {
            off += req.content_length;
        }
    }
    free(buf);
    return 0;
}
