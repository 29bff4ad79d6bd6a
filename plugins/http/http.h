/*
 * http.h — the http plugin's parts, shared between its files:
 *   http.c       the descriptor, keys, start/stop, the connection's step
 *   routes.c     static routes (route =, route_file =): parse, look up
 *   allow.c      the allow = CIDR list: parse, match a peer
 *   reply.c      response heads, the cached Date, error replies
 *   endpoints.c  /metrics (sliced, chunked), /status, /healthz
 * Everything here is hidden: the .so exports only its descriptor.
 * Loop-thread-only.
 */
#ifndef TICKD_HTTP_H
#define TICKD_HTTP_H

#pragma GCC visibility push(hidden)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <tick/tick.h>

#include "http_parse.h"

/* ---- allow.c --------------------------------------------------------- */

struct http_cidr {
    uint8_t addr[16];      /* IPv4 as ::ffff:a.b.c.d, so one compare fits both */
    uint8_t bits;          /* prefix length over the 128 bits */
};

#define HTTP_ALLOW_MAX 64

struct http_allow {
    unsigned n;
    struct http_cidr v[HTTP_ALLOW_MAX];
};

/* Parse "127.0.0.0/8, ::1 10.0.0.0/8" (comma or blank separated; a bare
 * address is /32 or /128). 0, or -EINVAL with a message in err. */
int http_allow_parse(struct http_allow *a, const char *s, char *err, size_t errlen);
/* Does the list allow the peer "1.2.3.4:PORT" / "[::1]:PORT"? (an
 * IPv4-mapped IPv6 peer matches the IPv4 entries) */
bool http_allow_peer(const struct http_allow *a, const char *peer);

/* ---- routes.c -------------------------------------------------------- */

struct http_route {
    const char *path;
    size_t path_len;
    char *head;            /* "HTTP/1.1 S R\r\n", malloc'd */
    size_t head_len;
    char *fields;          /* "Content-Type: T\r\nContent-Length: N\r\n" */
    size_t fields_len;
    const char *body;      /* the config word, or the file (owned_body) */
    size_t body_len;
    char *owned_body;
    unsigned status;
};

struct http_routes {
    size_t n;
    struct http_route *v;  /* sorted by (length, bytes) for bsearch */
};

/* Build the table from `route = PATH STATUS TYPE BODY` and `route_file =
 * PATH STATUS TYPE FILE` values (FILE read here, at most max_file bytes).
 * 0, or -EINVAL / -ENOMEM with a message in err. */
int http_routes_build(struct http_routes *r, const tick_words_list *routes,
                      const tick_words_list *files, uint64_t max_file,
                      char *err, size_t errlen);
void http_routes_free(struct http_routes *r);
const struct http_route *http_routes_find(const struct http_routes *r,
                                          const char *path, size_t len);
/* The path of a request target: "/a?b" -> "/a"; "http://h/a" -> "/a". */
void http_target_path(const char *target, size_t len, const char **path, size_t *plen);

/* ---- reply.c --------------------------------------------------------- */

/* The reason phrase of a status ("OK", "Not Found"...; "" if unknown). */
const char *http_reason(unsigned status);
/* "Date: Tue, 01 Dec 2026 12:00:00 GMT\r\n" (HTTP_DATE_LEN bytes),
 * formatted once per second. */
#define HTTP_DATE_LEN 37
const char *http_date_line(void);

/* An output buffer the replies of one read batch are gathered in, then
 * written with one tick_stream_write (one send()). */
struct http_out {
    size_t len;
    char buf[32768];
};
/* Append; on overflow the buffer is written to s first (and a piece
 * larger than the buffer goes straight to s). 0 or the write's -errno. */
int http_out_add(struct http_out *o, tick_stream *s, const void *p, size_t n);
/* Write what is gathered to s (nothing if empty). 0 or -errno. */
int http_out_flush(struct http_out *o, tick_stream *s);

/* Connection header choice for a reply. */
enum http_conn_hdr { HTTP_CONN_NONE, HTTP_CONN_KEEP, HTTP_CONN_CLOSE };
/* Append a head: status line, Date, the extra fields (ready-made, may be
 * NULL), Content-Length unless len_known is false, Connection. */
int http_reply_head(struct http_out *o, tick_stream *s, unsigned status,
                    const char *fields, size_t fields_len, bool len_known,
                    uint64_t content_length, enum http_conn_hdr ch);
/* A whole text/plain reply "STATUS REASON\n" + extra (may be NULL):
 * for the errors and /healthz. extra_fields e.g. "Allow: GET, HEAD\r\n". */
int http_reply_text(struct http_out *o, tick_stream *s, unsigned status,
                    const char *extra_fields, const char *body, bool head_only,
                    enum http_conn_hdr ch);

/* ---- endpoints.c ----------------------------------------------------- */

enum http_endpoint {
    HTTP_EP_NONE = 0,      /* an error reply (status in the conn) */
    HTTP_EP_ROUTE,
    HTTP_EP_METRICS,
    HTTP_EP_STATUS,
    HTTP_EP_HEALTHZ,
};

/* Which built-in endpoint is path, or HTTP_EP_NONE. */
enum http_endpoint http_builtin(const char *path, size_t len);
/* The /healthz reply (200 "ok", or 503 with the reason). */
int http_reply_healthz(struct http_out *o, tick_stream *s, bool head_only,
                       enum http_conn_hdr ch, unsigned *status);
/* The /status reply (the daemon's JSON). */
int http_reply_status(struct http_out *o, tick_stream *s, bool head_only,
                      enum http_conn_hdr ch);

#define HTTP_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"
/* One slice of /metrics as a chunk ("%x\r\n" data "\r\n"), or the data
 * alone when !chunked (HTTP/1.0: the end of the body is the close). The
 * last chunk "0\r\n\r\n" after the end. Returns > 0 while there is more,
 * 0 when done (the last chunk written), < 0 on error. */
int http_metrics_slice(tick_metrics_cursor *c, tick_stream *s, bool chunked);

#pragma GCC visibility pop

#endif
