/*
 * out.c — the reply writer (kv.h): RESP2 replies into the loop-wide
 * buffer, handed to the corked stream when full and per batch.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kv.h"

/* Mid-batch (the buffer is full, or a large bulk): cork first, so the
 * batch still leaves in one send at the uncork. At the end of a batch
 * (out_end) an uncorked stream gets the buffer with one send() straight
 * from it: no copy into the stream's queue. */
void out_flush(kv_out *o)
{
    if (o->len && o->sink && !o->err && !o->corked) {
        tick_stream_cork(o->sink);
        o->corked = true;
    }
    out_end(o);
}

void out_end(kv_out *o)
{
    if (o->len && o->sink && !o->err) {
        int rc = tick_stream_write(o->sink, o->buf, o->len);
        if (rc < 0)
            o->err = rc;
    }
    o->len = 0;
}

void rp_raw(kv_out *o, const void *p, size_t n)
{
    if (!o->sink)
        return;
    if (o->len + n > o->cap) {
        out_flush(o);
        if (n > o->cap / 4) {            /* big: straight to the (corked) stream */
            if (!o->err) {
                int rc = tick_stream_write(o->sink, p, n);
                if (rc < 0)
                    o->err = rc;
            }
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static char *room(kv_out *o, size_t n)
{
    if (o->len + n > o->cap)
        out_flush(o);
    return o->buf + o->len;
}

size_t kv_ll2s(char *p, long long v)
{
    char tmp[24];
    size_t n = 0, i = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        p[i++] = '-';
    while (n)
        p[i++] = tmp[--n];
    return i;
}

size_t kv_put_num(char *p, char c, long long v)
{
    p[0] = c;
    size_t n = 1 + kv_ll2s(p + 1, v);
    p[n] = '\r';
    p[n + 1] = '\n';
    return n + 2;
}

static void prefixed(kv_out *o, char c, long long v)
{
    if (!o->sink)
        return;
    o->len += kv_put_num(room(o, 24), c, v);
}

void rp_int(kv_out *o, long long v) { prefixed(o, ':', v); }
void rp_array(kv_out *o, long long n) { prefixed(o, '*', n); }
void rp_null(kv_out *o) { rp_raw(o, "$-1\r\n", 5); }
void rp_null_array(kv_out *o) { rp_raw(o, "*-1\r\n", 5); }
void rp_ok(kv_out *o) { rp_raw(o, "+OK\r\n", 5); }

void rp_bulk(kv_out *o, const void *p, size_t n)
{
    if (!o->sink)
        return;
    if (n <= 4096) {                     /* header, value, CRLF in one go */
        char *q = room(o, n + 32);
        size_t h = kv_put_num(q, '$', (long long)n);
        memcpy(q + h, p, n);
        q[h + n] = '\r';
        q[h + n + 1] = '\n';
        o->len += h + n + 2;
        return;
    }
    prefixed(o, '$', (long long)n);
    rp_raw(o, p, n);
    rp_raw(o, "\r\n", 2);
}

void rp_cstr(kv_out *o, const char *s) { rp_bulk(o, s, strlen(s)); }

void rp_status(kv_out *o, const char *s)
{
    rp_raw(o, "+", 1);
    rp_raw(o, s, strlen(s));
    rp_raw(o, "\r\n", 2);
}

void rp_error(kv_out *o, const char *s)
{
    size_t n = strlen(s);
    if (!o->sink)
        return;
    rp_raw(o, "-", 1);
    for (size_t i = 0; i < n; i++) {     /* redis blanks \r and \n */
        char ch = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
        rp_raw(o, &ch, 1);
    }
    rp_raw(o, "\r\n", 2);
}

void rp_errorf(kv_out *o, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rp_error(o, buf);
}
