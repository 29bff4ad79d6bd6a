/*
 * http_parse.c — the HTTP/1.1 request parser (see http_parse.h for what is
 * accepted, refused and why).
 *
 * The head is parsed in one forward pass with indexes into the caller's
 * buffer. Every check is made on the bytes read so far, in order, so that
 * a prefix of a request is either HTTP_INCOMPLETE or gets the answer the
 * whole request gets: that is what makes the stateless re-parse safe.
 */
#include "http_parse.h"

#include <string.h>

/* Byte classes, one table lookup per byte in the scanning loops. */
enum {
    C_TCHAR = 1,    /* token (RFC 9110 5.6.2) */
    C_TARGET = 2,   /* request-target: visible ASCII or obs-text */
    C_VALUE = 4,    /* field-value: visible, SP, HTAB, obs-text */
    C_HEX = 8,
};

/* Visible ASCII and obs-text: both a target byte and a value byte. */
#define V (C_TARGET | C_VALUE)
#define T (V | C_TCHAR)

/* The ranges do not overlap (-Woverride-init): the visible bytes from '!'
 * to '~' are split into token and non-token runs. */
static const unsigned char cls[256] = {
    ['\t'] = C_VALUE,
    [' '] = C_VALUE,
    ['!'] = T,
    ['"'] = V,
    ['#' ... '\''] = T,
    ['(' ... ')'] = V,
    ['*' ... '+'] = T,
    [','] = V,
    ['-' ... '.'] = T,
    ['/'] = V,
    ['0' ... '9'] = T | C_HEX,
    [':' ... '@'] = V,
    ['A' ... 'F'] = T | C_HEX,
    ['G' ... 'Z'] = T,
    ['[' ... ']'] = V,
    ['^' ... '`'] = T,
    ['a' ... 'f'] = T | C_HEX,
    ['g' ... 'z'] = T,
    ['{'] = V,
    ['|'] = T,
    ['}'] = V,
    ['~'] = T,
    [0x80 ... 0xff] = V,
};

#undef V
#undef T

static inline bool is(char c, unsigned k)
{
    return cls[(unsigned char)c] & k;
}

/* Limits are clamped so that a head's length always fits the int result. */
#define LIMIT_CAP ((size_t)1 << 30)
#define LEADING_EMPTY_MAX 8
/* The longest request line before the target, around it and after it:
 * empty lines (CRLF each), the method, two SP, "HTTP/1.1", CRLF. */
#define LINE_OVERHEAD (2 * LEADING_EMPTY_MAX + HTTP_METHOD_MAX + 2 + 8 + 2)

struct limits {
    size_t max_uri, max_head;
    unsigned max_headers;
    uint64_t max_body;
};

static struct limits limits_of(const struct http_limits *l)
{
    struct http_limits d = HTTP_LIMITS_DEFAULT;
    struct limits r;
    if (!l)
        l = &d;
    r.max_uri = l->max_uri < LIMIT_CAP ? l->max_uri : LIMIT_CAP;
    r.max_head = l->max_head < LIMIT_CAP ? l->max_head : LIMIT_CAP;
    r.max_headers = l->max_headers < HTTP_MAX_HEADERS ? l->max_headers : HTTP_MAX_HEADERS;
    r.max_body = l->max_body;
    return r;
}

/* A line end at buf[*i]: LF or CRLF (a CR without LF is 400). */
static int line_end(const char *buf, size_t stop, size_t *i, int short_by)
{
    size_t j = *i;
    if (j >= stop)
        return short_by;
    if (buf[j] == '\n') {
        *i = j + 1;
        return 0;
    }
    if (buf[j] != '\r')
        return -400;
    if (j + 1 >= stop)
        return short_by;
    if (buf[j + 1] != '\n')
        return -400;
    *i = j + 2;
    return 0;
}

static enum http_method method_of(const char *m, size_t n)
{
    static const struct { const char *s; size_t n; enum http_method m; } known[] = {
        { "GET", 3, HTTP_M_GET },       { "HEAD", 4, HTTP_M_HEAD },
        { "POST", 4, HTTP_M_POST },     { "PUT", 3, HTTP_M_PUT },
        { "DELETE", 6, HTTP_M_DELETE }, { "CONNECT", 7, HTTP_M_CONNECT },
        { "OPTIONS", 7, HTTP_M_OPTIONS }, { "TRACE", 5, HTTP_M_TRACE },
        { "PATCH", 5, HTTP_M_PATCH },
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (known[k].n == n && memcmp(known[k].s, m, n) == 0)
            return known[k].m;
    return HTTP_M_OTHER;
}

/*
 * The request line from buf[*i]: leading empty lines, method SP target SP
 * version line-end. Leaves *i after the line end.
 */
static int parse_request_line(const char *buf, size_t len, size_t *pos,
                              const struct limits *lim, struct http_request *req)
{
    size_t i = 0, start, stop;
    int rc;

    for (unsigned empty = 0; i < len && (buf[i] == '\r' || buf[i] == '\n'); empty++) {
        if (empty == LEADING_EMPTY_MAX)
            return -400;
        if ((rc = line_end(buf, len, &i, HTTP_INCOMPLETE)) != 0)
            return rc;
    }

    start = i;
    stop = len - start > HTTP_METHOD_MAX ? start + HTTP_METHOD_MAX : len;
    while (i < stop && is(buf[i], C_TCHAR))
        i++;
    if (i == len)
        return HTTP_INCOMPLETE;
    if (buf[i] != ' ' || i == start)
        return -400;   /* also a method over HTTP_METHOD_MAX */
    req->method_str = buf + start;
    req->method_len = i - start;
    req->method = method_of(req->method_str, req->method_len);

    /* the target: we must see the byte after max_uri of them to know */
    start = ++i;
    stop = len - start > lim->max_uri ? start + lim->max_uri + 1 : len;
    while (i < stop && is(buf[i], C_TARGET))
        i++;
    if (i - start > lim->max_uri)
        return -414;
    if (i == len)
        return HTTP_INCOMPLETE;
    if (buf[i] != ' ' || i == start)
        return -400;
    req->target = buf + start;
    req->target_len = i - start;
    i++;

    /* "HTTP/" DIGIT "." DIGIT, checked byte by byte as far as it goes */
    static const char version[] = "HTTP/0.0";
    for (size_t k = 0; k < 8; k++) {
        if (i + k >= len)
            return HTTP_INCOMPLETE;
        char c = buf[i + k];
        bool ok = version[k] == '0' ? (c >= '0' && c <= '9') : c == version[k];
        if (!ok)
            return -400;
    }
    if (buf[i + 5] != '1' || (buf[i + 7] != '0' && buf[i + 7] != '1'))
        return -505;
    req->minor = buf[i + 7] - '0';
    i += 8;
    if ((rc = line_end(buf, len, &i, HTTP_INCOMPLETE)) != 0)
        return rc;
    *pos = i;
    return 0;
}

/* p[0..n) equals lower (letters and '-') ignoring case: (c | 0x20) maps
 * no other token byte onto those. */
static bool ieq(const char *p, size_t n, const char *lower, size_t lower_n)
{
    if (n != lower_n)
        return false;
    for (size_t k = 0; k < n; k++)
        if ((p[k] | 0x20) != lower[k])
            return false;
    return true;
}

#define IEQ(p, n, lit) ieq((p), (n), lit, sizeof lit - 1)

/* What the framing and connection fields said, gathered over the lines. */
struct fields {
    unsigned hosts;
    bool cl_seen, te_seen, te_last_chunked, te_bad;
    unsigned te_chunked;
    uint64_t cl;
    bool conn_close, conn_keep;
};

/*
 * Calls fn on each non-empty element of a comma list (RFC 9110 5.6.1:
 * empty elements are accepted and ignored), OWS trimmed.
 */
static void each_elem(const char *v, size_t n, struct fields *f,
                      void (*fn)(struct fields *, const char *, size_t))
{
    size_t i = 0;
    while (i < n) {
        size_t s, e;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s)
            fn(f, v + s, e - s);
    }
}

static void te_elem(struct fields *f, const char *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!is(p[k], C_TCHAR))
            f->te_bad = true;   /* parameters or junk: not a coding we frame */
    f->te_last_chunked = IEQ(p, n, "chunked");
    if (f->te_last_chunked)
        f->te_chunked++;
}

static void conn_elem(struct fields *f, const char *p, size_t n)
{
    if (IEQ(p, n, "close"))
        f->conn_close = true;
    else if (IEQ(p, n, "keep-alive"))
        f->conn_keep = true;
}

/* 1*DIGIT up to INT64_MAX; a repeat must say the same. */
static int content_length(struct fields *f, const char *v, size_t n)
{
    uint64_t x = 0;
    if (n == 0)
        return -400;
    for (size_t k = 0; k < n; k++) {
        unsigned d = (unsigned char)v[k] - '0';
        if (d > 9 || x > ((uint64_t)INT64_MAX - d) / 10)
            return -400;
        x = x * 10 + d;
    }
    if (f->cl_seen && x != f->cl)
        return -400;
    f->cl_seen = true;
    f->cl = x;
    return 0;
}

/* The fields that decide framing and keep-alive, checked as they come. */
static int note_field(struct fields *f, const struct http_header *h)
{
    switch (h->name_len) {
    case 4:
        if (IEQ(h->name, h->name_len, "host") && ++f->hosts > 1)
            return -400;
        break;
    case 10:
        if (IEQ(h->name, h->name_len, "connection"))
            each_elem(h->value, h->value_len, f, conn_elem);
        break;
    case 14:
        if (IEQ(h->name, h->name_len, "content-length"))
            return content_length(f, h->value, h->value_len);
        break;
    case 17:
        if (IEQ(h->name, h->name_len, "transfer-encoding")) {
            f->te_seen = true;
            each_elem(h->value, h->value_len, f, te_elem);
        }
        break;
    }
    return 0;
}

/*
 * The field lines from buf[i] to the empty line. The whole section must lie
 * in the max_head bytes from its start: reading past them is 431, running
 * out of buffer before them HTTP_INCOMPLETE.
 */
static int parse_fields(const char *buf, size_t len, size_t *pos, const struct limits *lim,
                        struct http_request *req, struct fields *f)
{
    size_t i = *pos, stop = len, name, name_end, vs, ve;
    int short_by = HTTP_INCOMPLETE, rc;

    if (len - i >= lim->max_head) {
        stop = i + lim->max_head;
        short_by = -431;
    }
    req->n_headers = 0;
    for (;;) {
        if (i >= stop)
            return short_by;
        if (buf[i] == '\r' || buf[i] == '\n')
            break;
        if (buf[i] == ' ' || buf[i] == '\t')
            return -400;   /* obs-fold, or space before the first field */
        if (req->n_headers == lim->max_headers)
            return -431;

        name = i;
        while (i < stop && is(buf[i], C_TCHAR))
            i++;
        if (i >= stop)
            return short_by;
        if (buf[i] != ':' || i == name)
            return -400;   /* whitespace before ':' or a byte not in a token */
        name_end = i++;
        while (i < stop && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        vs = i;
        while (i < stop && is(buf[i], C_VALUE))
            i++;
        ve = i;   /* trailing OWS: trimmed backwards, off the hot loop */
        while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
            ve--;
        if ((rc = line_end(buf, stop, &i, short_by)) != 0)
            return rc;   /* a CTL, bare CR or NUL in the value is 400 */

        struct http_header *h = &req->headers[req->n_headers++];
        h->name = buf + name;
        h->name_len = name_end - name;
        h->value = buf + vs;
        h->value_len = ve - vs;
        if ((rc = note_field(f, h)) != 0)
            return rc;
    }
    if ((rc = line_end(buf, stop, &i, short_by)) != 0)
        return rc;
    *pos = i;
    return 0;
}

/* Framing and persistence once the head is complete (RFC 9112 6.1, 6.3, 9.3). */
static int finish(const struct fields *f, const struct limits *lim, struct http_request *req)
{
    if (req->minor == 1 && f->hosts != 1)
        return -400;
    req->chunked = false;
    if (f->te_seen) {
        if (f->cl_seen || req->minor == 0 || f->te_bad || !f->te_last_chunked ||
            f->te_chunked != 1)
            return -400;
        req->chunked = true;
    }
    req->has_content_length = f->cl_seen;
    req->content_length = f->cl_seen ? f->cl : 0;
    req->keep_alive = !f->conn_close && (req->minor == 1 || f->conn_keep);
    if (lim->max_body && req->content_length > lim->max_body)
        return -413;
    return 0;
}

/*
 * Can buf[0..len) hold the end of a head that buf[0..prev_len) did not?
 * Only if an empty line ends among the new bytes: "\n\n" or "\n\r\n" whose
 * last byte is at prev_len or later.
 */
static bool may_end(const char *buf, size_t len, size_t prev_len)
{
    size_t i = prev_len > 2 ? prev_len - 2 : 0;
    const char *p;
    while (i < len && (p = memchr(buf + i, '\n', len - i))) {
        i = (size_t)(p - buf);
        if (i + 1 < len && buf[i + 1] == '\n')
            return true;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return true;
        i++;
    }
    return false;
}

int http_parse_request(const char *buf, size_t len, size_t prev_len,
                       const struct http_limits *l, struct http_request *req)
{
    struct limits lim = limits_of(l);
    struct fields f = { 0 };
    size_t i = 0;
    int rc;

    if (!buf || !req)
        return -400;
    /* The hint: no empty line among the new bytes and the buffer still
     * short of every limit means nothing can be decided yet. Past the
     * limits a full parse is bound to give an answer. */
    if (prev_len && prev_len < len &&
        len <= LINE_OVERHEAD + lim.max_uri + lim.max_head && !may_end(buf, len, prev_len))
        return HTTP_INCOMPLETE;
    if ((rc = parse_request_line(buf, len, &i, &lim, req)) != 0)
        return rc;
    if ((rc = parse_fields(buf, len, &i, &lim, req, &f)) != 0)
        return rc;
    if ((rc = finish(&f, &lim, req)) != 0)
        return rc;
    return (int)i;
}

/* ---- chunked bodies ------------------------------------------------------ */

enum {
    CK_SIZE0,        /* first hex digit of a chunk-size */
    CK_SIZE,         /* more hex digits, or what ends them */
    CK_SIZE_WS,      /* BWS after the size: only ';' may follow */
    CK_EXT,          /* chunk-ext, skipped to the CR */
    CK_SIZE_LF,
    CK_DATA,
    CK_DATA_CR,
    CK_DATA_LF,
    CK_TRAILER,      /* start of a trailer line, or the final CRLF */
    CK_TRAILER_LINE,
    CK_TRAILER_LF,
    CK_END_LF,
    CK_DONE,
};

#define CK_LINE_MAX 4096      /* a size line with its extensions */
#define CK_TRAILER_MAX 8192   /* the whole trailer section */

void http_chunked_init(struct http_chunked *st, uint64_t max_body)
{
    *st = (struct http_chunked){ .state = CK_SIZE0, .max_body = max_body };
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* One byte of framing (everything but chunk data): 0, or an error. */
static int ck_byte(struct http_chunked *st, char c)
{
    switch (st->state) {
    case CK_SIZE0:
        if (!is(c, C_HEX))
            return -400;
        st->size = (uint64_t)hexval(c);
        st->line = 1;
        st->state = CK_SIZE;
        return 0;
    case CK_SIZE:
        if (++st->line > CK_LINE_MAX)
            return -400;   /* leading zeros without end */
        if (is(c, C_HEX)) {
            if (st->size >> 56)   /* keep sizes under 2^60 */
                return -400;
            st->size = st->size << 4 | (uint64_t)hexval(c);
        } else if (c == '\r') {
            st->state = CK_SIZE_LF;
        } else if (c == ';') {
            st->state = CK_EXT;
        } else if (c == ' ' || c == '\t') {
            st->state = CK_SIZE_WS;
        } else {
            return -400;   /* a bare LF, junk after the size */
        }
        return 0;
    case CK_SIZE_WS:
        if (++st->line > CK_LINE_MAX)
            return -400;
        if (c == ';')
            st->state = CK_EXT;
        else if (c != ' ' && c != '\t')
            return -400;   /* "5 \r\n", "5 6": whitespace only before ';' */
        return 0;
    case CK_EXT:
        if (++st->line > CK_LINE_MAX)
            return -400;
        if (c == '\r')
            st->state = CK_SIZE_LF;
        else if (!is(c, C_VALUE))
            return -400;   /* a bare LF or a CTL in an extension */
        return 0;
    case CK_SIZE_LF:
        if (c != '\n')
            return -400;
        if (st->size == 0) {
            st->state = CK_TRAILER;
            return 0;
        }
        st->total += st->size;
        if (st->max_body && st->total > st->max_body)
            return -413;
        st->state = CK_DATA;
        return 0;
    case CK_DATA_CR:
        st->state = CK_DATA_LF;
        return c == '\r' ? 0 : -400;
    case CK_DATA_LF:
        st->state = CK_SIZE0;
        return c == '\n' ? 0 : -400;
    case CK_TRAILER:
    case CK_TRAILER_LINE:
        if (++st->trailer > CK_TRAILER_MAX)
            return -400;
        if (c == '\r')
            st->state = st->state == CK_TRAILER ? CK_END_LF : CK_TRAILER_LF;
        else if (st->state == CK_TRAILER ? is(c, C_TCHAR) : is(c, C_VALUE))
            st->state = CK_TRAILER_LINE;
        else
            return -400;   /* obs-fold, bare LF, CTL */
        return 0;
    case CK_TRAILER_LF:
        st->state = CK_TRAILER;
        return c == '\n' ? 0 : -400;
    case CK_END_LF:
        st->state = CK_DONE;
        return c == '\n' ? 0 : -400;
    }
    return -400;
}

int http_chunked_skip(struct http_chunked *st, const char *buf, size_t len,
                      size_t *consumed)
{
    size_t i = 0;
    int rc;

    *consumed = 0;
    if (st->state < 0)
        return st->state;
    while (i < len && st->state != CK_DONE) {
        if (st->state == CK_DATA) {
            /* the data itself: skipped in one step, whatever its size */
            size_t n = len - i;
            if ((uint64_t)n > st->size)
                n = (size_t)st->size;
            i += n;
            st->size -= n;
            if (st->size == 0)
                st->state = CK_DATA_CR;
            continue;
        }
        if ((rc = ck_byte(st, buf[i++])) != 0) {
            st->state = rc;
            *consumed = i;
            return rc;
        }
    }
    *consumed = i;
    return st->state == CK_DONE ? 0 : HTTP_INCOMPLETE;
}
