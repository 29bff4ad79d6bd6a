/*
 * echo — a TCP echo server plugin for tickd.
 *
 *     [plugin:echo1]
 *     module = echo
 *     listen = 127.0.0.1:7000   ; HOST:PORT, [V6]:PORT, :PORT; required
 *     max_clients = 10000       ; over the limit new clients are closed
 *
 * One accept task, plus one task per connection that waits until its
 * socket is readable, takes a 16 KiB buffer, reads, writes it all back
 * (tick_fd_write finishes partial writes, so a slow reader just holds its
 * task and buffer at the write) and gives the buffer back. So an idle
 * connection costs this plugin 176 bytes (task, links), not 16 KiB: with
 * the engine's tick_fd, ten thousand idle clients take ~7 MB. Buffers come
 * from a per-instance free list (up to ECHO_SPARE_BUFS kept), so the
 * steady state does not allocate.
 *
 * Stopping: the daemon cancels the instance's tasks and waits for them
 * before calling stop(). Each task's pending await then returns
 * -ECANCELED: a connection task closes its socket and frees itself, the
 * accept task closes the listener. stop() only mops up what a task never
 * got to (the listener when start() failed half-way).
 *
 * Built only against the public headers, as an outside plugin would be.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tick/tick.h>

#define ECHO_BUF_SIZE (16 * 1024)
#define ECHO_SPARE_BUFS 256u         /* free buffers kept: 4 MiB at most */
#define ECHO_DEFAULT_MAX_CLIENTS 10000u
#define ECHO_MAX_MAX_CLIENTS 1000000u

struct echo_server;

struct echo_buf {
    tick_link link;                  /* in server->spare while free */
    char data[ECHO_BUF_SIZE];
};

struct echo_conn {
    tick_task task;
    tick_link link;                  /* in server->conns */
    struct echo_server *srv;         /* NULL once cut loose by stop() */
    tick_fd *fd;
    struct echo_buf *buf;            /* held only between read and write */
    size_t len;                      /* bytes in buf being written back */
};

struct echo_server {
    tick_instance *in;
    tick_task accept_task;
    bool accept_started;
    tick_fd *lfd;                    /* listener, NULL when closed */
    tick_link conns;                 /* live connections */
    tick_link spare;                 /* free buffers */
    unsigned nspare;
    unsigned nclients;
    unsigned max_clients;            /* 0 until configured */
    unsigned long long refused;      /* clients closed over the limit */
    bool have_listen;
    char listen[300];                /* as configured, for messages */
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* ---- configuration ------------------------------------------------------ */

/* Turn the configured HOST:PORT into a socket address. Numeric hosts
 * only (plus "localhost"): a DNS lookup has no place in a config check. */
static int echo_parse_address(struct echo_server *s, const char *value)
{
    char host[256];
    uint16_t port;

    if (tick_parse_listen(value, host, sizeof host, &port) < 0)
        return -EINVAL;
    memset(&s->addr, 0, sizeof s->addr);
    if (host[0] == '\0' || strcmp(host, "localhost") == 0) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&s->addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr.s_addr = htonl(host[0] ? INADDR_LOOPBACK : INADDR_ANY);
        s->addrlen = sizeof *sin;
        return 0;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)&s->addr;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        s->addrlen = sizeof *sin;
        return 0;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s->addr;
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        s->addrlen = sizeof *sin6;
        return 0;
    }
    return -EINVAL;
}

static int echo_parse_count(const char *value, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*value < '0' || *value > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(value, &end, 10);
    if (errno || *end || v < 1 || v > ECHO_MAX_MAX_CLIENTS)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int echo_configure(tick_instance *in, const char *key, const char *value)
{
    struct echo_server *s = tick_instance_data(in);

    if (!key) {
        if (!s->have_listen)
            return tick_instance_error(in, "missing required key 'listen'");
        if (s->max_clients == 0)
            s->max_clients = ECHO_DEFAULT_MAX_CLIENTS;
        return 0;
    }
    if (strcmp(key, "listen") == 0) {
        if (echo_parse_address(s, value) < 0)
            return tick_instance_error(in, "bad listen address '%s'", value);
        snprintf(s->listen, sizeof s->listen, "%s", value);
        s->have_listen = true;
        return 0;
    }
    if (strcmp(key, "max_clients") == 0) {
        if (echo_parse_count(value, &s->max_clients) < 0)
            return tick_instance_error(in,
                "bad max_clients '%s' (use 1 to %u)", value, ECHO_MAX_MAX_CLIENTS);
        return 0;
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

/* ---- buffers ------------------------------------------------------------ */

static struct echo_buf *echo_buf_get(struct echo_server *s)
{
    if (!tick_list_empty(&s->spare)) {
        tick_link *l = s->spare.next;
        tick_link_remove(l);
        s->nspare--;
        return tick_container_of(l, struct echo_buf, link);
    }
    /* Not initialised beyond the link: a buffer's pages are touched only
     * as far as reads fill it. */
    struct echo_buf *b = malloc(sizeof *b);
    if (b)
        tick_link_init(&b->link);
    return b;
}

/* s may be NULL (a connection cut loose by stop()): just free. */
static void echo_buf_put(struct echo_server *s, struct echo_buf *b)
{
    if (s && s->nspare < ECHO_SPARE_BUFS) {
        tick_list_append(&s->spare, &b->link);
        s->nspare++;
    } else {
        free(b);
    }
}

static void echo_buf_free_all(struct echo_server *s)
{
    while (s->spare.next && !tick_list_empty(&s->spare)) {
        tick_link *l = s->spare.next;
        tick_link_remove(l);
        free(tick_container_of(l, struct echo_buf, link));
    }
    s->nspare = 0;
}

/* ---- connections -------------------------------------------------------- */

static void echo_conn_free(tick_task *t)
{
    free(tick_container_of(t, struct echo_conn, task));
}

static void echo_conn_close(struct echo_conn *c)
{
    if (c->buf) {
        echo_buf_put(c->srv, c->buf);
        c->buf = NULL;
    }
    if (c->fd) {
        tick_fd_close(c->fd);
        c->fd = NULL;
    }
    if (c->srv) {
        tick_link_remove(&c->link);
        c->srv->nclients--;
        c->srv = NULL;
    }
}

static int echo_conn_step(tick_task *t)
{
    struct echo_conn *c = tick_container_of(t, struct echo_conn, task);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        /* Wait holding no buffer. The read is our own recv() rather than
         * tick_fd_read(): a pending read op would pin a buffer for as long
         * as the client stays quiet. Per io.h, our own read clears the
         * readiness cache on EAGAIN or after a short read. */
        TICK_AWAIT(t, tick_fd_readable(c->fd), rc);
        if (rc < 0 || !c->srv)
            break;
        if (!(c->buf = echo_buf_get(c->srv))) {
            tick_log(TICK_LOG_WARNING, "out of memory, closing a connection");
            rc = -ENOMEM;
            break;
        }
        rc = recv(tick_fd_fileno(c->fd), c->buf->data, sizeof c->buf->data,
                  MSG_DONTWAIT);
        if (rc < 0) {
            rc = -errno;
            if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR) {
                if (rc != -EINTR)
                    tick_fd_clear(c->fd, EPOLLIN);
                echo_buf_put(c->srv, c->buf);
                c->buf = NULL;
                continue;
            }
            break;                   /* reset, ...: the client is gone */
        }
        if (rc == 0)
            break;                   /* the client closed */
        c->len = (size_t)rc;
        /* a short read emptied the socket: no read() just to hear EAGAIN */
        if (c->len < sizeof c->buf->data)
            tick_fd_clear(c->fd, EPOLLIN);
        TICK_AWAIT(t, tick_fd_write(c->fd, c->buf->data, c->len), rc);
        if (rc < 0 || !c->srv)
            break;
        echo_buf_put(c->srv, c->buf);
        c->buf = NULL;
    }
    echo_conn_close(c);
    /* A client that resets or vanishes is ordinary for a server: only a
     * cancellation is reported as such (to the daemon draining us). */
    if (rc == -ECANCELED)
        TICK_FAIL(t, rc);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class echo_conn_class = {
    .step = echo_conn_step,
    .free = echo_conn_free,
};

/* Take ownership of an accepted fd: always closes or hands it on. */
static void echo_conn_new(struct echo_server *s, int fd)
{
    tick_loop *loop = tick_instance_loop(s->in);
    struct echo_conn *c;
    int rc;

    if (s->nclients >= s->max_clients) {
        /* Over the limit: close at once, so the client sees EOF rather
         * than a connection that never answers. Logged once per burst. */
        if (s->refused++ % 1000 == 0)
            tick_log(TICK_LOG_WARNING,
                     "max_clients (%u) reached, closing new connections "
                     "(%llu so far)", s->max_clients, s->refused);
        close(fd);
        return;
    }
    c = malloc(sizeof *c);
    if (!c) {
        tick_log(TICK_LOG_WARNING, "out of memory, closing a new connection");
        close(fd);
        return;
    }
    *c = (struct echo_conn){ .srv = s };
    tick_link_init(&c->link);
    rc = tick_fd_open(loop, fd, &c->fd);
    if (rc < 0) {
        tick_log(TICK_LOG_WARNING, "cannot watch a new connection: %s",
                 strerror(-rc));
        close(fd);
        free(c);
        return;
    }
    tick_list_append(&s->conns, &c->link);
    s->nclients++;
    /* Started from the accept task's step: joins the instance's group. */
    rc = tick_task_start(loop, &c->task, "echo conn", &echo_conn_class);
    if (rc < 0) {
        echo_conn_close(c);
        free(c);
        return;
    }
    /* The engine keeps the task alive while it runs; it frees itself. */
    tick_future_unref(tick_task_future(&c->task));
}

/* ---- the listener ------------------------------------------------------- */

static int echo_accept_step(tick_task *t)
{
    struct echo_server *s = tick_container_of(t, struct echo_server, accept_task);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_fd_accept(s->lfd), rc);
        if (rc >= 0) {
            echo_conn_new(s, (int)rc);
            continue;
        }
        if (rc == -ECANCELED)
            break;
        if (rc == -ECONNABORTED || rc == -EINTR || rc == -EAGAIN)
            continue;                /* the client gave up first: next */
        /* Anything else (ENOBUFS, EPERM from a firewall...) may persist:
         * say so and pause rather than spin. */
        tick_log(TICK_LOG_WARNING, "accept on %s: %s; retrying in 100ms",
                 s->listen, strerror((int)-rc));
        TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 100 * TICK_MSEC), rc);
        if (rc == -ECANCELED)
            break;
    }
    tick_fd_close(s->lfd);
    s->lfd = NULL;
    TICK_FAIL(t, rc);
    TICK_END(t);
}

static const tick_task_class echo_accept_class = {
    .step = echo_accept_step,
    .free = NULL,                    /* lives in the instance memory */
};

static void echo_format_address(const struct sockaddr_storage *ss, char *out,
                                size_t len)
{
    char host[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, len, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, len, "%s:%u", host, ntohs(a->sin_port));
    }
}

static int echo_start(tick_instance *in)
{
    struct echo_server *s = tick_instance_data(in);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    char where[INET6_ADDRSTRLEN + 16];
    int one = 1, fd, rc;

    s->in = in;
    s->nclients = 0;
    tick_link_init(&s->conns);
    tick_link_init(&s->spare);
    s->nspare = 0;

    fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        tick_instance_error(in, "cannot listen on %s: socket: %s",
                            s->listen, strerror(-rc));
        return rc;
    }
    /* SO_REUSEADDR: a restart or a reload that moves an instance can bind
     * again while old connections sit in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&s->addr, s->addrlen) < 0 ||
        listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
        rc = -errno;
        close(fd);
        tick_instance_error(in, "cannot listen on %s: %s", s->listen,
                            strerror(-rc));
        return rc;
    }
    rc = tick_fd_open(tick_instance_loop(in), fd, &s->lfd);
    if (rc < 0) {
        close(fd);
        tick_instance_error(in, "cannot watch the listener: %s", strerror(-rc));
        return rc;
    }
    rc = tick_task_start(tick_instance_loop(in), &s->accept_task, "echo accept",
                         &echo_accept_class);
    if (rc < 0) {
        tick_fd_close(s->lfd);
        s->lfd = NULL;
        tick_instance_error(in, "cannot start the accept task: %s",
                            strerror(-rc));
        return rc;
    }
    s->accept_started = true;
    /* the bound address: with port 0 this names the port the kernel chose */
    echo_format_address(&bound, where, sizeof where);
    tick_log(TICK_LOG_INFO, "listening on %s", where);
    tick_instance_set_status(in, "listening on %s", where);
    return 0;
}

static void echo_stop(tick_instance *in)
{
    struct echo_server *s = tick_instance_data(in);

    /* Normally every task has finished by now (the daemon cancelled and
     * drained them). A connection still here is cut loose: its socket is
     * closed (its pending await then ends with -ECANCELED), its buffer
     * freed and it is unlinked (srv = NULL), so when it runs it touches
     * nothing of this instance. */
    tick_link *l = s->conns.next, *next;
    for (; l && l != &s->conns; l = next) {
        struct echo_conn *c = tick_container_of(l, struct echo_conn, link);
        next = l->next;
        tick_task_cancel(&c->task);
        echo_conn_close(c);
    }
    if (s->accept_started) {
        tick_task_cancel(&s->accept_task);
        tick_future_unref(tick_task_future(&s->accept_task));
        s->accept_started = false;
    }
    if (s->lfd) {
        tick_fd_close(s->lfd);
        s->lfd = NULL;
    }
    echo_buf_free_all(s);
}

TICK_PLUGIN(.name = "echo", .version = "1.0",
            .instance_size = sizeof(struct echo_server),
            .configure = echo_configure,
            .start = echo_start,
            .stop = echo_stop);
