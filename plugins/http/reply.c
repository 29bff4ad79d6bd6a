/*
 * reply.c — response heads, the Date line, text replies, and the output
 * buffer that gathers the replies of one read batch.
 *
 * Why gather: a stream sends each write at once when its queue is empty
 * (tick/stream.h), so the replies to 16 pipelined requests written one
 * by one would be 16 send()s. The connection appends each reply here and
 * writes the buffer once before it waits for more bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"

const char *http_reason(unsigned status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

/* One process-wide cache: the line changes once a second. */
static struct {
    time_t sec;
    char line[HTTP_DATE_LEN + 1];
} date_cache = { .sec = -1 };

const char *http_date_line(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != date_cache.sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(date_cache.line, sizeof date_cache.line,
                 "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        date_cache.sec = ts.tv_sec;
    }
    return date_cache.line;
}

int http_out_flush(struct http_out *o, tick_stream *s)
{
    if (!o->len)
        return 0;
    int rc = tick_stream_write(s, o->buf, o->len);
    o->len = 0;
    return rc;
}

int http_out_add(struct http_out *o, tick_stream *s, const void *p, size_t n)
{
    if (n > sizeof o->buf - o->len) {
        int rc = http_out_flush(o, s);
        if (rc < 0)
            return rc;
        if (n > sizeof o->buf)
            return tick_stream_write(s, p, n);
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

#define ADD_LIT(o, s, lit) http_out_add((o), (s), (lit), sizeof(lit) - 1)

int http_reply_head(struct http_out *o, tick_stream *s, unsigned status,
                    const char *fields, size_t fields_len, bool len_known,
                    uint64_t content_length, enum http_conn_hdr ch)
{
    char line[160];
    int n = snprintf(line, sizeof line, "HTTP/1.1 %03u %s\r\n", status, http_reason(status));
    int rc = http_out_add(o, s, line, (size_t)n);
    if (!rc)
        rc = http_out_add(o, s, http_date_line(), HTTP_DATE_LEN);
    if (!rc && fields_len)
        rc = http_out_add(o, s, fields, fields_len);
    if (!rc && len_known) {
        n = snprintf(line, sizeof line, "Content-Length: %llu\r\n",
                     (unsigned long long)content_length);
        rc = http_out_add(o, s, line, (size_t)n);
    }
    if (!rc && ch == HTTP_CONN_KEEP)
        rc = ADD_LIT(o, s, "Connection: keep-alive\r\n");
    if (!rc && ch == HTTP_CONN_CLOSE)
        rc = ADD_LIT(o, s, "Connection: close\r\n");
    if (!rc)
        rc = ADD_LIT(o, s, "\r\n");
    return rc;
}

int http_reply_text(struct http_out *o, tick_stream *s, unsigned status,
                    const char *extra_fields, const char *body, bool head_only,
                    enum http_conn_hdr ch)
{
    char fields[512], text[600];
    int tn = snprintf(text, sizeof text, "%u %s%s%s\n", status, http_reason(status),
                      body ? ": " : "", body ? body : "");
    if (tn >= (int)sizeof text)
        tn = sizeof text - 1;
    int fn = snprintf(fields, sizeof fields, "Content-Type: text/plain; charset=utf-8\r\n%s",
                      extra_fields ? extra_fields : "");
    int rc = http_reply_head(o, s, status, fields, (size_t)fn, true, (uint64_t)tn, ch);
    if (!rc && !head_only)
        rc = http_out_add(o, s, text, (size_t)tn);
    return rc;
}
