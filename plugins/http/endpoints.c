/*
 * endpoints.c — the built-in endpoints: /metrics, /status, /healthz.
 *
 * /metrics is rendered in slices (tick/metrics.h's cursor): one slice of
 * HTTP_SLICE bytes per call, sent as one chunk of a chunked body, so the
 * length need not be known first (computing it would render everything
 * twice) and the connection's step yields between slices: a scrape of a
 * million series is many short steps, never one slow tick.
 * /status is the daemon's JSON (tick_daemon_status_json), /healthz its
 * health (tick_daemon_health: every instance runs and is ready).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define HTTP_SLICE 16384

enum http_endpoint http_builtin(const char *path, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(path, lit, len) == 0)
    if (IS("/metrics"))
        return HTTP_EP_METRICS;
    if (IS("/status"))
        return HTTP_EP_STATUS;
    if (IS("/healthz"))
        return HTTP_EP_HEALTHZ;
    return HTTP_EP_NONE;
#undef IS
}

int http_reply_healthz(struct http_out *o, tick_stream *s, bool head_only,
                       enum http_conn_hdr ch, unsigned *status)
{
    char why[512];
    if (tick_daemon_health(why, sizeof why)) {
        *status = 200;
        return http_reply_text(o, s, 200, NULL, NULL, head_only, ch);
    }
    *status = 503;
    return http_reply_text(o, s, 503, "Cache-Control: no-store\r\n", why, head_only, ch);
}

int http_reply_status(struct http_out *o, tick_stream *s, bool head_only,
                      enum http_conn_hdr ch)
{
    static const char fields[] = "Content-Type: application/json\r\n"
                                 "Cache-Control: no-store\r\n";
    size_t need = tick_daemon_status_json(NULL, 0);
    char *json = malloc(need + 2);
    if (!json)
        return -ENOMEM;
    size_t n = tick_daemon_status_json(json, need + 1);
    if (n > need)          /* cannot grow between two calls on the loop */
        n = need;          /* thread; bounded all the same */
    json[n++] = '\n';
    int rc = http_reply_head(o, s, 200, fields, sizeof fields - 1, true, n, ch);
    if (!rc && !head_only)
        rc = http_out_add(o, s, json, n);
    free(json);
    return rc;
}

int http_metrics_slice(tick_metrics_cursor *c, tick_stream *s, bool chunked)
{
    /* room for "%x\r\n" before and "\r\n" after; one buffer per process:
     * the slice is written before the step yields */
    static char buf[16 + HTTP_SLICE + 2];
    ssize_t n = tick_metrics_render(c, buf + 16, HTTP_SLICE);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return chunked ? tick_stream_write(s, "0\r\n\r\n", 5) : 0;
    if (!chunked) {
        int rc = tick_stream_write(s, buf + 16, (size_t)n);
        return rc < 0 ? rc : 1;
    }
    char hex[16];
    int h = snprintf(hex, sizeof hex, "%zx\r\n", (size_t)n);
    memcpy(buf + 16 - h, hex, (size_t)h);
    memcpy(buf + 16 + n, "\r\n", 2);
    int rc = tick_stream_write(s, buf + 16 - h, (size_t)h + (size_t)n + 2);
    return rc < 0 ? rc : 1;
}
