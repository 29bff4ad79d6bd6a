/*
 * resp.c — RESP2 request parsing (resp.h), redis 7.0's behaviour.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

int resp_cmd_init(resp_cmd *c)
{
    memset(c, 0, sizeof *c);
    c->cap = 16;
    c->argv = malloc(sizeof *c->argv * (size_t)c->cap);
    c->len = malloc(sizeof *c->len * (size_t)c->cap);
    if (!c->argv || !c->len) {
        resp_cmd_free(c);
        return -1;
    }
    return 0;
}

void resp_cmd_free(resp_cmd *c)
{
    free(c->argv);
    free(c->len);
    free(c->scratch);
    c->argv = NULL;
    c->len = NULL;
    c->scratch = NULL;
}

/* Room for n arguments; the arrays grow by doubling (a connection keeps
 * its high-water mark: no allocation per command after the first). */
static int reserve(resp_cmd *c, long long n)
{
    if (n <= c->cap)
        return 0;
    size_t cap = (size_t)c->cap;
    while ((long long)cap < n)
        cap *= 2;
    const char **a = realloc(c->argv, sizeof *a * cap);
    if (!a)
        return -1;
    c->argv = a;
    size_t *l = realloc(c->len, sizeof *l * cap);
    if (!l)
        return -1;
    c->len = l;
    c->cap = (int)cap;
    return 0;
}

bool resp_str2ll(const char *s, size_t n, long long *out)
{
    const char *p = s;
    bool neg = false;
    unsigned long long v;

    if (n == 0 || n > 20)
        return false;
    if (n == 1 && p[0] == '0') {
        *out = 0;
        return true;
    }
    if (*p == '-') {
        neg = true;
        p++;
        n--;
        if (!n)
            return false;
    }
    if (*p < '1' || *p > '9')
        return false;
    v = (unsigned long long)(*p - '0');
    p++;
    n--;
    while (n) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > ULLONG_MAX / 10)
            return false;
        v *= 10;
        if (v > ULLONG_MAX - (unsigned long long)(*p - '0'))
            return false;
        v += (unsigned long long)(*p - '0');
        p++;
        n--;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > LLONG_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

static int error(resp_cmd *c, const char *text)
{
    c->error = text;
    return RESP_ERROR;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || ch == '\v' || ch == '\f';
}

/* redis's sdssplitargs over line[0..n): arguments unescaped into scratch. */
static int split_inline(resp_cmd *c, const char *line, size_t n)
{
    const char *p = line, *end = line + n;
    char *out = c->scratch;

    c->argc = 0;
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p >= end)
            return 0;
        bool inq = false, insq = false, done = false;
        char *start = out;
        while (!done) {
            if (inq) {
                if (p >= end)
                    return -1;                   /* unterminated quotes */
                if (*p == '\\' && p + 3 < end && p[1] == 'x' &&
                    hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                    *out++ = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (*p == '\\' && p + 1 < end) {
                    p++;
                    switch (*p) {
                    case 'n': *out++ = '\n'; break;
                    case 'r': *out++ = '\r'; break;
                    case 't': *out++ = '\t'; break;
                    case 'b': *out++ = '\b'; break;
                    case 'a': *out++ = '\a'; break;
                    default: *out++ = *p; break;
                    }
                } else if (*p == '"') {
                    if (p + 1 < end && !is_space(p[1]))
                        return -1;               /* closing quote glued */
                    done = true;
                } else {
                    *out++ = *p;
                }
            } else if (insq) {
                if (p >= end)
                    return -1;
                if (*p == '\\' && p + 1 < end && p[1] == '\'') {
                    p++;
                    *out++ = '\'';
                } else if (*p == '\'') {
                    if (p + 1 < end && !is_space(p[1]))
                        return -1;
                    done = true;
                } else {
                    *out++ = *p;
                }
            } else {
                if (p >= end) {
                    done = true;
                    break;
                }
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = true;
                    break;
                case '"': inq = true; break;
                case '\'': insq = true; break;
                default: *out++ = *p; break;
                }
            }
            if (p < end)
                p++;
        }
        if (reserve(c, c->argc + 1) < 0)
            return -2;
        c->argv[c->argc] = start;
        c->len[c->argc] = (size_t)(out - start);
        c->argc++;
    }
}

static int parse_inline(resp_cmd *c, const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    size_t n;

    if (!nl) {
        if (len > RESP_INLINE_MAX)
            return error(c, "ERR Protocol error: too big inline request");
        c->need = 0;
        c->need_line = true;
        return RESP_NEED;
    }
    n = (size_t)(nl - buf);
    c->used = n + 1;
    if (n && nl[-1] == '\r')
        n--;
    if (!c->scratch && !(c->scratch = malloc(RESP_INLINE_MAX + 16)))
        return error(c, "ERR Protocol error: out of memory");
    if (n > RESP_INLINE_MAX)          /* a long line that came in one read */
        return error(c, "ERR Protocol error: too big inline request");
    int rc = split_inline(c, buf, n);
    if (rc == -1)
        return error(c, "ERR Protocol error: unbalanced quotes in request");
    if (rc < 0)
        return error(c, "ERR Protocol error: out of memory");
    return c->argc ? RESP_CMD : RESP_EMPTY;
}

int resp_parse(resp_cmd *c, const char *buf, size_t len, const struct resp_limits *lim)
{
    const char *p, *nl, *end = buf + len;
    long long n, bl;

    c->argc = 0;
    c->need = 0;
    c->need_line = false;
    c->error = NULL;
    if (!len)
        return RESP_NEED;
    if (buf[0] != '*')
        return parse_inline(c, buf, len);
    nl = memchr(buf, '\r', len > RESP_INLINE_MAX ? RESP_INLINE_MAX + 1 : len);
    if (!nl) {
        if (len > RESP_INLINE_MAX)
            return error(c, "ERR Protocol error: too big mbulk count string");
        return RESP_NEED;
    }
    if (nl + 1 >= end)                  /* the \n of \r\n not there yet */
        return RESP_NEED;
    if (!resp_str2ll(buf + 1, (size_t)(nl - (buf + 1)), &n) || n > INT_MAX ||
        n > lim->max_multibulk)
        return error(c, "ERR Protocol error: invalid multibulk length");
    if (n > 10 && lim->unauthenticated)
        return error(c, "ERR Protocol error: unauthenticated multibulk length");
    p = nl + 2;
    if (n <= 0) {
        c->used = (size_t)(p - buf);
        return RESP_EMPTY;
    }
    /* don't trust the count for the allocation: grow as arguments come */
    for (long long i = 0; i < n; i++) {
        if (p >= end)
            return RESP_NEED;
        size_t left = (size_t)(end - p);
        nl = memchr(p, '\r', left > RESP_INLINE_MAX ? RESP_INLINE_MAX + 1 : left);
        if (!nl) {
            if (left > RESP_INLINE_MAX)
                return error(c, "ERR Protocol error: too big bulk count string");
            return RESP_NEED;
        }
        if (nl + 1 >= end)
            return RESP_NEED;
        if (*p != '$') {
            snprintf(c->errbuf, sizeof c->errbuf,
                     "ERR Protocol error: expected '$', got '%c'", *p);
            return error(c, c->errbuf);
        }
        if (!resp_str2ll(p + 1, (size_t)(nl - (p + 1)), &bl) || bl < 0 ||
            bl > lim->max_bulk)
            return error(c, "ERR Protocol error: invalid bulk length");
        if (bl > 16384 && lim->unauthenticated)
            return error(c, "ERR Protocol error: unauthenticated bulk length");
        p = nl + 2;
        if ((size_t)(end - p) < (size_t)bl + 2) {
            /* at least this argument; the rest is unknown */
            c->need = (size_t)(p - buf) + (size_t)bl + 2;
            return RESP_NEED;
        }
        if (reserve(c, i + 1) < 0)
            return error(c, "ERR Protocol error: out of memory");
        c->argv[i] = p;
        c->len[i] = (size_t)bl;
        p += bl + 2;                    /* redis skips the CRLF unchecked */
        c->argc = (int)i + 1;
    }
    c->used = (size_t)(p - buf);
    return RESP_CMD;
}
