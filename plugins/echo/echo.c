/*
 * echo — a TCP echo server plugin for tickd.
 *
 *     [plugin:echo1]
 *     module = echo
 *     listen = 127.0.0.1:7000   ; HOST:PORT, [V6]:PORT, :PORT, or a
 *                               ; comma-separated list of them; required
 *     max_clients = 10000       ; over the limit new clients are closed;
 *                               ; a reload changes it in place
 *
 * The listening sockets are the daemon's (tick/listen.h): echo leases one
 * per address and runs one accept task per lease, plus one task per connection that waits until its
 * socket is readable, takes a 16 KiB buffer, reads, writes it all back
 * (tick_fd_write finishes partial writes, so a slow reader just holds its
 * task and buffer at the write) and gives the buffer back. So an idle
 * connection costs this plugin 176 bytes (task, links), not 16 KiB: with
 * the engine's tick_fd, ten thousand idle clients take ~7 MB. Buffers come
 * from a per-instance free list (up to ECHO_SPARE_BUFS kept), so the
 * steady state does not allocate.
 *
 * Retiring (a reload replaced or removed us): our leases end, the accept
 * tasks see -ESHUTDOWN and shut the read side of the connections down
 * (echo_drain): each finishes what its client already sent, then reads
 * EOF and closes; one that has not sent its first request yet gets a
 * grace to send it.
 * The successor incarnation accepts on the same sockets meanwhile.
 * Stopping: the daemon cancels the instance's tasks and waits for them
 * before calling stop(). Each task's pending await then returns
 * -ECANCELED: a connection task closes its socket and frees itself.
 * stop() only mops up what a task never got to (start() failing
 * half-way).
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
/* Retiring: a connection that has not sent its first request yet gets
 * this long to send it (its client connected just before the handoff). */
#define ECHO_FIRST_REQUEST_GRACE (1 * TICK_SEC)

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
    bool served;                     /* answered once: idle means keep-alive */
};

/* One accept task per leased address. */
struct echo_acceptor {
    tick_task task;
    struct echo_server *srv;
    tick_lease *lease;
    bool started;
};

struct echo_server {
    tick_instance *in;
    struct echo_acceptor acc[TICK_LISTEN_MAX];
    unsigned nacc;
    bool draining;                   /* our leases ended: finish, then go */
    tick_timer drain_grace;          /* then new connections stop reading too */
    tick_link conns;                 /* live connections */
    tick_link spare;                 /* free buffers */
    unsigned nspare;
    unsigned nclients;
    unsigned max_clients;            /* 0 until configured */
    unsigned new_max_clients;        /* reconfigure(): committed at the end */
    unsigned long long refused;      /* clients closed over the limit */
    bool have_listen;
    char listen[1024];               /* the address list, as configured */
};

/* ---- configuration ------------------------------------------------------ */

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
        if (strlen(value) >= sizeof s->listen || tick_listen_check(value) < 0)
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

/* On reload: max_clients changes in place; anything else restarts us. */
static int echo_reconfigure(tick_instance *in, const char *key, const char *value)
{
    struct echo_server *s = tick_instance_data(in);

    if (!key) {
        if (s->new_max_clients)
            s->max_clients = s->new_max_clients;
        s->new_max_clients = 0;
        tick_log(TICK_LOG_INFO, "max_clients is now %u", s->max_clients);
        return 0;
    }
    if (strcmp(key, "max_clients") == 0 &&
        echo_parse_count(value, &s->new_max_clients) == 0)
        return 0;
    s->new_max_clients = 0;
    return -1;
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
        struct echo_server *s = c->srv;
        tick_link_remove(&c->link);
        s->nclients--;
        c->srv = NULL;
        if (s->draining && s->nclients == 0)   /* drained: nothing to wait for */
            tick_timer_stop(tick_instance_loop(s->in), &s->drain_grace);
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
        c->served = true;
        if (c->srv->draining)        /* answered: now it is only idle */
            shutdown(tick_fd_fileno(c->fd), SHUT_RD);
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

/* ---- the listeners ------------------------------------------------------ */

/* Our leases ended (a reload replaces or removes us): stop reading new
 * requests. shutdown(SHUT_RD) wakes every connection waiting to read:
 * what a client already sent is still read and echoed, then the read
 * sees EOF and the connection closes. A connection in the middle of a
 * write finishes it first. So idle clients are closed gracefully at once
 * and none in flight loses its answer. */
static void echo_shut_reads(struct echo_server *s, bool all)
{
    for (tick_link *l = s->conns.next; l != &s->conns; l = l->next) {
        struct echo_conn *c = tick_container_of(l, struct echo_conn, link);
        if (all || c->served)
            shutdown(tick_fd_fileno(c->fd), SHUT_RD);
    }
}

static void echo_grace_over(tick_handle *h)
{
    struct echo_server *s = tick_container_of(h, struct echo_server, drain_grace.handle);
    echo_shut_reads(s, true);
}

static void echo_drain(struct echo_server *s)
{
    if (s->draining)
        return;
    s->draining = true;
    /* Idle keep-alive connections (answered at least once) go now. One
     * accepted a moment ago may not have sent its request yet (reading
     * now would see EOF before it, and the client a reset): it gets
     * ECHO_FIRST_REQUEST_GRACE to send it, as nginx lets a new
     * connection's first request in during a graceful stop. */
    echo_shut_reads(s, false);
    if (s->nclients > 0)
        tick_call_later(tick_instance_loop(s->in), &s->drain_grace,
                        ECHO_FIRST_REQUEST_GRACE);
}

static int echo_accept_step(tick_task *t)
{
    struct echo_acceptor *a = tick_container_of(t, struct echo_acceptor, task);
    struct echo_server *s = a->srv;
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_lease_accept(a->lease), rc);
        if (rc >= 0) {
            echo_conn_new(s, (int)rc);
            continue;
        }
        if (rc == -ECANCELED)
            TICK_FAIL(t, rc);
        if (rc == -ESHUTDOWN) {          /* retired: finish and go */
            echo_drain(s);
            TICK_RETURN(t, 0);
        }
        /* Anything else (ENOBUFS, EPERM from a firewall...) may persist:
         * say so and pause rather than spin. */
        tick_log(TICK_LOG_WARNING, "accept on %s: %s; retrying in 100ms",
                 tick_lease_address(a->lease), strerror((int)-rc));
        TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 100 * TICK_MSEC), rc);
        if (rc == -ECANCELED)
            TICK_FAIL(t, rc);
    }
    TICK_END(t);
}

static const tick_task_class echo_accept_class = {
    .step = echo_accept_step,
    .free = NULL,                    /* lives in the instance memory */
};

static int echo_start(tick_instance *in)
{
    struct echo_server *s = tick_instance_data(in);
    tick_lease *leases[TICK_LISTEN_MAX];
    char where[512] = "";
    size_t off = 0;
    int n, rc;

    s->in = in;
    s->nclients = 0;
    tick_timer_init(&s->drain_grace, "echo drain grace", echo_grace_over);
    tick_link_init(&s->conns);
    tick_link_init(&s->spare);
    s->nspare = 0;

    /* the daemon's sockets: a reload hands them to our successor */
    n = tick_instance_listen_list(in, s->listen, SOCK_STREAM, leases, TICK_LISTEN_MAX);
    if (n < 0)
        return n;                    /* the message is set */
    for (int i = 0; i < n; i++) {
        struct echo_acceptor *a = &s->acc[i];
        a->srv = s;
        a->lease = leases[i];
        rc = tick_task_start(tick_instance_loop(in), &a->task, "echo accept",
                             &echo_accept_class);
        if (rc < 0)
            return tick_instance_error(in, "cannot start the accept task: %s",
                                       strerror(-rc));
        a->started = true;
        s->nacc++;
        tick_log(TICK_LOG_INFO, "listening on %s", tick_lease_address(a->lease));
        if (off < sizeof where) {
            int w = snprintf(where + off, sizeof where - off, "%s%s", i ? ", " : "",
                             tick_lease_address(a->lease));
            off += w > 0 ? (size_t)w : 0;
        }
    }
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
    for (unsigned i = 0; i < s->nacc; i++) {
        struct echo_acceptor *a = &s->acc[i];
        if (a->started) {
            tick_task_cancel(&a->task);
            tick_future_unref(tick_task_future(&a->task));
            a->started = false;
        }
    }
    s->nacc = 0;
    /* the leases are the daemon's: they end with the instance */
    echo_buf_free_all(s);
}

TICK_PLUGIN(.name = "echo", .version = "1.0",
            .instance_size = sizeof(struct echo_server),
            .configure = echo_configure,
            .start = echo_start,
            .stop = echo_stop,
            .reconfigure = echo_reconfigure);
