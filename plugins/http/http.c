/*
 * http — an HTTP/1.1 server plugin: /metrics, /status, /healthz and
 * static routes, on the SDK's tick_server.
 *
 *     [plugin:http]
 *     module = http
 *     listen = 127.0.0.1:9464
 *     allow = 127.0.0.0/8 ::1            ; who may connect (the default)
 *     route = / 200 text/plain "tickd\n"  ; PATH STATUS CONTENT-TYPE BODY
 *     route_file = /index.html 200 text/html /srv/index.html
 *
 * One task per connection (tick/server.h). Its loop: parse the buffered
 * bytes (http_parse.h) for as many whole requests as they hold, gather
 * the replies in the instance's output buffer (reply.c), write that once
 * (one send() per read batch, however many requests were pipelined),
 * then wait for more bytes. Nothing is allocated per request: the read
 * buffer is the stream's pool buffer, the replies are copied into the
 * stream's pool buffers, the route replies were made at configure time.
 *
 * Timeouts: between requests the stream's idle timeout is idle_timeout
 * (then the connection is closed without a word); once a head has begun
 * it is what remains of header_timeout from its first byte, so a client
 * that trickles a byte a second still gets 408 when header_timeout is up
 * (slowloris). Bodies (Content-Length or chunked) are read and dropped
 * before the reply; a request with both is 400 (the parser).
 *
 * Closing: errors that leave the framing unknown (400, 408, 413, 414,
 * 431, 505) close the connection with "Connection: close", after a short
 * lingering read (half-close, then read and drop up to 1 s / 1 MiB), so
 * the client's unread bytes do not turn the close into a reset that
 * destroys the reply before it is read. 404 and 405 keep it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http.h"

#define LINGER_NS (1 * TICK_SEC)
#define LINGER_BYTES (1u << 20)
#define MAX_ROUTE_FILE (16u << 20)
/* metrics slices sent per step before the step yields to the loop */
#define SLICES_PER_STEP 4

static const unsigned counted_codes[] = {
    200, 400, 404, 405, 408, 413, 414, 431, 500, 503, 505,
};
#define N_CODES (sizeof counted_codes / sizeof counted_codes[0])

struct http {
    /* keys */
    const char *listen;
    unsigned max_conns;
    uint64_t header_timeout, idle_timeout;
    const char *allow_s;
    tick_words_list route_w, route_file_w;
    uint64_t max_uri, max_header, max_body;
    /* built by configure() */
    struct http_allow allow;
    struct http_routes routes;
    struct http_limits lim;
    /* running */
    tick_server *srv;
    struct http *next;               /* the list of running instances */
    tick_metric_family *f_req, *f_refused, *f_accepted;
    tick_metric *m_code[N_CODES], *m_other, *m_refused_allow;
    uint64_t refused_allow;
    struct http_out out;             /* one read batch's replies */
};

struct http_conn {
    tick_conn conn;                  /* first: the server's part */
    struct http *h;
    uint64_t head_t0;                /* tick_now() when this head began, 0 */
    uint64_t timeout;                /* the stream's idle timeout as set */
    size_t seen;                     /* http_parse_request's prev_len */
    uint64_t body_left;
    struct http_chunked ck;
    tick_metrics_cursor *cur;
    const struct http_route *route;
    enum http_endpoint ep;
    unsigned status;                 /* an error to answer (ep NONE) */
    unsigned slices;
    size_t lingered;
    bool chunked_in, keep, head_only, http10;
};

/* Connections find their instance by their server: the SDK's tick_conn
 * has no user pointer, and instances are few. */
static struct http *running;

static struct http *http_of(const tick_server *srv)
{
    for (struct http *h = running; h; h = h->next)
        if (h->srv == srv)
            return h;
    return NULL;
}

static void count_code(struct http *h, unsigned code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (counted_codes[i] == code) {
            tick_counter_inc(h->m_code[i]);
            return;
        }
    tick_counter_inc(h->m_other);
}

/* ---- configuration ---------------------------------------------------- */

static const tick_key http_keys[] = {
    TICK_KEY_ADDRESSES(struct http, listen, "listen", NULL, TICK_KEY_REQUIRED,
                       "address(es) to serve on, HOST:PORT[, ...]"),
    TICK_KEY_INT(struct http, max_conns, "max_conns", 1, 1000000, "10000", 0,
                 "connections at once; over it new ones are closed"),
    TICK_KEY_DURATION(struct http, header_timeout, "header_timeout", TICK_MSEC, 0, "10s", 0,
                      "time to send a request head from its first byte; 408 after it"),
    TICK_KEY_DURATION(struct http, idle_timeout, "idle_timeout", TICK_MSEC, 0, "60s", 0,
                      "an idle keep-alive connection is closed after it"),
    TICK_KEY_STRING(struct http, allow_s, "allow", 1, 0, "127.0.0.0/8 ::1", 0,
                    "CIDRs that may connect (blank or comma separated); "
                    "others are closed at accept"),
    TICK_KEY_WORDS(struct http, route_w, "route", 4, 4, NULL, TICK_KEY_REPEATABLE,
                   "PATH STATUS CONTENT-TYPE BODY: a static reply"),
    TICK_KEY_WORDS(struct http, route_file_w, "route_file", 4, 4, NULL, TICK_KEY_REPEATABLE,
                   "PATH STATUS CONTENT-TYPE FILE: a static reply read from "
                   "an absolute FILE (at most 16 MiB) at configure time"),
    TICK_KEY_SIZE(struct http, max_uri, "max_uri", 64, 1u << 20, "8k", 0,
                  "request-target bytes; more is 414"),
    TICK_KEY_SIZE(struct http, max_header, "max_header_bytes", 256, 1u << 20, "8k", 0,
                  "header bytes of a request; more is 431"),
    TICK_KEY_SIZE(struct http, max_body, "max_body", 0, 0, "1M", 0,
                  "request body bytes (read and dropped); more is 413; 0: no limit"),
    TICK_KEY_END
};

static int http_configure(tick_instance *in, const char *key, const char *value)
{
    struct http *h = tick_instance_data(in);
    char err[400];
    (void)key;
    (void)value;
    if (http_allow_parse(&h->allow, h->allow_s, err, sizeof err) < 0)
        return tick_instance_error(in, "%s", err);
    http_routes_free(&h->routes);
    if (http_routes_build(&h->routes, &h->route_w, &h->route_file_w, MAX_ROUTE_FILE,
                          err, sizeof err) < 0)
        return tick_instance_error(in, "%s", err);
    h->lim = HTTP_LIMITS_DEFAULT;
    h->lim.max_uri = h->max_uri;
    h->lim.max_head = h->max_header;
    h->lim.max_body = h->max_body;
    return 0;
}

static void http_release(tick_instance *in)
{
    struct http *h = tick_instance_data(in);
    http_routes_free(&h->routes);
}

/* ---- the connection --------------------------------------------------- */

/* Set the stream's idle timeout to ns if it is not that already. Off and
 * on again: a shorter timeout must not wait for the longer one's timer. */
static void conn_timeout(struct http_conn *c, uint64_t ns)
{
    if (c->timeout == ns)
        return;
    tick_stream_set_idle_timeout(c->conn.stream, 0);
    tick_stream_set_idle_timeout(c->conn.stream, ns);
    c->timeout = ns;
}

/* Decide what a parsed head asks for (before its bytes are consumed). */
static void conn_route(struct http_conn *c, const struct http_request *req)
{
    const char *path;
    size_t plen;

    c->keep = req->keep_alive;
    c->http10 = req->minor == 0;
    c->head_only = req->method == HTTP_M_HEAD;
    c->chunked_in = req->chunked;
    c->body_left = req->chunked ? 0 : req->content_length;
    c->route = NULL;
    c->ep = HTTP_EP_NONE;
    c->status = 0;
    http_target_path(req->target, req->target_len, &path, &plen);
    enum http_endpoint ep = http_builtin(path, plen);
    const struct http_route *rt = ep ? NULL : http_routes_find(&c->h->routes, path, plen);
    if (!ep && !rt)
        c->status = 404;
    else if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD)
        c->status = 405;
    else if (rt)
        c->ep = HTTP_EP_ROUTE, c->route = rt;
    else
        c->ep = ep;
}

static enum http_conn_hdr conn_hdr(const struct http_conn *c)
{
    if (!c->keep)
        return HTTP_CONN_CLOSE;
    return c->http10 ? HTTP_CONN_KEEP : HTTP_CONN_NONE;
}

/* The reply to a request whose body is gone (all but /metrics). */
static int conn_reply(struct http_conn *c)
{
    struct http *h = c->h;
    tick_stream *s = c->conn.stream;
    enum http_conn_hdr ch = conn_hdr(c);
    int rc;
    unsigned status = 200;

    switch (c->ep) {
    case HTTP_EP_ROUTE: {
        const struct http_route *rt = c->route;
        status = rt->status;
        rc = http_out_add(&h->out, s, rt->head, rt->head_len);
        if (!rc)
            rc = http_out_add(&h->out, s, http_date_line(), HTTP_DATE_LEN);
        if (!rc)
            rc = http_out_add(&h->out, s, rt->fields, rt->fields_len);
        if (!rc && ch == HTTP_CONN_KEEP)
            rc = http_out_add(&h->out, s, "Connection: keep-alive\r\n\r\n", 26);
        else if (!rc && ch == HTTP_CONN_CLOSE)
            rc = http_out_add(&h->out, s, "Connection: close\r\n\r\n", 21);
        else if (!rc)
            rc = http_out_add(&h->out, s, "\r\n", 2);
        if (!rc && !c->head_only)
            rc = http_out_add(&h->out, s, rt->body, rt->body_len);
        break;
    }
    case HTTP_EP_STATUS:
        rc = http_reply_status(&h->out, s, c->head_only, ch);
        break;
    case HTTP_EP_HEALTHZ:
        rc = http_reply_healthz(&h->out, s, c->head_only, ch, &status);
        break;
    default:
        status = c->status;
        rc = http_reply_text(&h->out, s, status,
                             status == 405 ? "Allow: GET, HEAD\r\n" : NULL, NULL,
                             c->head_only, ch);
        break;
    }
    count_code(h, status);
    return rc;
}

static int conn_step(tick_task *t)
{
    struct http_conn *c = (struct http_conn *)tick_conn_of(t);
    tick_stream *s = c->conn.stream;
    struct http_request req;
    const char *buf;
    size_t len;
    intptr_t rc;
    int n;

    TICK_BEGIN(t);
    c->h = http_of(c->conn.server);
    if (!c->h)
        TICK_RETURN(t, 0);
    if (!http_allow_peer(&c->h->allow, c->conn.peer)) {
        c->h->refused_allow++;
        tick_counter_inc(c->h->m_refused_allow);
        TICK_RETURN(t, 0);            /* closed before reading a byte */
    }
    c->timeout = c->h->idle_timeout; /* as the server set it */
    for (;;) {
        buf = tick_stream_peek(s, &len);
        if (len == 0) {                                   /* between requests */
            if (http_out_flush(&c->h->out, s) < 0)
                break;
            conn_timeout(c, c->h->idle_timeout);
            TICK_AWAIT(t, tick_stream_read_some(s), rc);
            if (rc <= 0)
                break;                /* EOF, idle timeout, reset, drain */
            continue;
        }
        n = http_parse_request(buf, len, c->seen, &c->h->lim, &req);
        if (n == HTTP_INCOMPLETE) {
            if (http_out_flush(&c->h->out, s) < 0)
                break;
            uint64_t now = tick_now(tick_task_loop(t));
            if (!c->head_t0)
                c->head_t0 = now;
            if (now - c->head_t0 >= c->h->header_timeout) {
                c->status = 408;
                goto fail;
            }
            c->seen = len;
            conn_timeout(c, c->head_t0 + c->h->header_timeout - now);
            /* at least one byte more; the head may not exceed what the
             * limits allow (the parser answers before that) */
            TICK_AWAIT(t, tick_stream_read_exact(s, len + 1), rc);
            if (rc == -ETIMEDOUT) {
                c->status = 408;
                goto fail;
            }
            if (rc == -EMSGSIZE) {
                c->status = 431;
                goto fail;
            }
            if (rc <= 0)
                break;                /* EOF or reset mid-head: nothing to say */
            continue;
        }
        c->seen = 0;
        c->head_t0 = 0;
        if (n < 0) {
            c->status = (unsigned)-n;
            goto fail;
        }
        conn_route(c, &req);
        tick_stream_consume(s, (size_t)n);
        /* the body, read and dropped */
        if (c->chunked_in)
            http_chunked_init(&c->ck, c->h->lim.max_body);
        for (;;) {
            buf = tick_stream_peek(s, &len);
            if (c->chunked_in) {
                size_t used;
                n = http_chunked_skip(&c->ck, buf, len, &used);
                tick_stream_consume(s, used);
                if (n == 0)
                    break;
                if (n != HTTP_INCOMPLETE) {
                    c->status = (unsigned)-n;
                    goto fail;
                }
            } else {
                size_t k = len < c->body_left ? len : (size_t)c->body_left;
                tick_stream_consume(s, k);
                c->body_left -= k;
                if (!c->body_left)
                    break;
            }
            if (http_out_flush(&c->h->out, s) < 0)
                goto out;
            conn_timeout(c, c->h->idle_timeout);
            TICK_AWAIT(t, tick_stream_read_some(s), rc);
            if (rc <= 0)
                goto out;
        }
        if (c->ep == HTTP_EP_METRICS) {
            if (c->http10)
                c->keep = false;      /* no chunked in 1.0: the close ends it */
            {
                static const char f10[] = "Content-Type: " HTTP_METRICS_CTYPE "\r\n";
                static const char f11[] = "Content-Type: " HTTP_METRICS_CTYPE "\r\n"
                                          "Transfer-Encoding: chunked\r\n";
                if (http_reply_head(&c->h->out, s, 200, c->http10 ? f10 : f11,
                                    c->http10 ? sizeof f10 - 1 : sizeof f11 - 1, false, 0,
                                    c->http10 ? HTTP_CONN_CLOSE : conn_hdr(c)) < 0 ||
                    http_out_flush(&c->h->out, s) < 0)
                    goto out;
            }
            count_code(c->h, 200);
            if (!c->head_only) {
                if (tick_metrics_render_begin(&c->cur) < 0)
                    goto out;
                rc = 0;
                for (c->slices = 0;; c->slices++) {
                    n = http_metrics_slice(c->cur, s, !c->http10);
                    if (n <= 0)
                        break;
                    TICK_AWAIT(t, tick_stream_drain(s), rc);   /* backpressure */
                    if (rc < 0)
                        break;
                    if (c->slices % SLICES_PER_STEP == SLICES_PER_STEP - 1) {
                        TICK_YIELD(t);            /* one slow scrape, many steps */
                        if (tick_task_cancelling(t)) {
                            rc = -ECANCELED;
                            break;
                        }
                    }
                }
                tick_metrics_render_end(c->cur);
                c->cur = NULL;
                if (n < 0 || rc < 0)
                    goto out;
            }
        } else if (conn_reply(c) < 0) {
            goto out;
        }
        if (!c->keep)
            goto close;
        /* backpressure: a client that pipelines and never reads */
        if (tick_stream_queued(s) > 65536) {
            if (http_out_flush(&c->h->out, s) < 0)
                goto out;
            TICK_AWAIT(t, tick_stream_drain(s), rc);
            if (rc < 0)
                goto out;
        }
    }
    goto out;

fail:
    /* an error that ends the connection (the framing is lost) */
    c->keep = false;
    c->ep = HTTP_EP_NONE;
    c->head_only = false;
    if (conn_reply(c) < 0)
        goto out;
    c->lingered = 1;              /* mark: linger after the flush */
close:
    if (http_out_flush(&c->h->out, s) < 0)
        goto out;
    TICK_AWAIT(t, tick_stream_flush(s), rc);
    if (rc < 0)
        goto out;
    buf = tick_stream_peek(s, &len);
    if (!c->lingered && !len)
        goto out;                 /* nothing unread: close now */
    /* lingering close: our reply is out; drop what the client still
     * sends for a while so that our close is a FIN, not a reset */
    shutdown(tick_stream_fileno(s), SHUT_WR);
    conn_timeout(c, LINGER_NS);
    c->lingered = 0;
    for (;;) {
        buf = tick_stream_peek(s, &len);
        tick_stream_consume(s, len);
        c->lingered += len;
        if (c->lingered > LINGER_BYTES)
            break;
        TICK_AWAIT(t, tick_stream_read_some(s), rc);
        if (rc <= 0)
            break;
    }
out:
    if (c->cur) {
        tick_metrics_render_end(c->cur);
        c->cur = NULL;
    }
    /* the out buffer is the instance's: nothing of ours may stay in it */
    if (c->h)
        c->h->out.len = 0;
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class http_conn_class = { .step = conn_step };

/* ---- metrics and start ------------------------------------------------- */

static void accepted_collect(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    struct http *h = user;
    tick_server_stats st;
    (void)f;
    tick_server_get_stats(h->srv, &st);
    tick_metric_emit(sink, NULL, (double)st.accepted);
}

static int http_metrics_init(struct http *h)
{
    static const char *const code_l[] = { "code", NULL };
    static const char *const reason_l[] = { "reason", NULL };
    int rc = tick_metric_family_new(&(tick_metric_desc){
        .name = "http_requests_total", .help = "HTTP requests answered, by status code.",
        .type = TICK_METRIC_COUNTER, .labels = code_l }, &h->f_req);
    for (size_t i = 0; !rc && i < N_CODES; i++) {
        char code[8];
        snprintf(code, sizeof code, "%u", counted_codes[i]);
        rc = tick_metric_get(h->f_req, (const char *[]){ code }, &h->m_code[i]);
    }
    if (!rc)
        rc = tick_metric_get(h->f_req, (const char *[]){ "other" }, &h->m_other);
    if (!rc)
        rc = tick_metric_family_new(&(tick_metric_desc){
            .name = "http_connections_refused_total",
            .help = "Connections closed at accept, by reason (allow: not in the allow list).",
            .type = TICK_METRIC_COUNTER, .labels = reason_l }, &h->f_refused);
    if (!rc)
        rc = tick_metric_get(h->f_refused, (const char *[]){ "allow" }, &h->m_refused_allow);
    if (!rc)
        rc = tick_metric_family_callback(&(tick_metric_desc){
            .name = "http_connections_accepted_total",
            .help = "Connections accepted (given a task).",
            .type = TICK_METRIC_COUNTER }, accepted_collect, NULL, h, &h->f_accepted);
    return rc;
}

static int http_start(tick_instance *in)
{
    struct http *h = tick_instance_data(in);
    struct tick_server_config cfg = {
        .listen = h->listen, .max_conns = h->max_conns,
        .idle_timeout = h->idle_timeout,
        .conn_size = sizeof(struct http_conn), .conn_class = &http_conn_class,
        .task_name = "http conn",
    };
    int rc = tick_server_start(in, &cfg, &h->srv);
    if (rc < 0)
        return rc;
    h->next = running;
    running = h;
    if (http_metrics_init(h) < 0)
        tick_log(TICK_LOG_WARNING, "http metrics not registered (out of memory?)");
    for (unsigned i = 0; tick_server_address(h->srv, i); i++)
        tick_log(TICK_LOG_NOTICE, "serving http://%s/ (/metrics, /status, /healthz, "
                 "%zu route%s)", tick_server_address(h->srv, i), h->routes.n,
                 h->routes.n == 1 ? "" : "s");
    tick_instance_set_status(in, "http on %s", tick_server_addresses(h->srv));
    return 0;
}

/* The scope has drained: no connection of ours runs any more. */
static void http_stop(tick_instance *in)
{
    struct http *h = tick_instance_data(in);
    for (struct http **p = &running; *p; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
}

TICK_PLUGIN(.name = "http", .version = "1.0",
            .instance_size = sizeof(struct http),
            .keys = http_keys,
            .configure = http_configure,
            .start = http_start,
            .stop = http_stop,
            .release = http_release);
