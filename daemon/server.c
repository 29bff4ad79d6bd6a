/*
 * server.c — tick_server and tick_dgram_server (tick/server.h): accept
 * tasks on an instance's leases, one task, scope and stream per
 * connection; UDP receive tasks with recvmmsg batches.
 *
 * The servers are the daemon's memory, listed in their instance and freed
 * with it (tickd_server_free_instance), after its scope has drained, so
 * no accept task, connection or reap handle can still point at them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "instance.h"
#include "listen.h"
#include "server.h"

#define DEFAULT_MAX_CONNS 10000u
#define DEFAULT_GRACE (1 * TICK_SEC)
#define ACCEPT_RETRY (100 * TICK_MSEC)

struct acceptor {
    tick_task task;
    tick_server *srv;
    tick_lease *lease;
    uint64_t shed0;              /* the socket's shed count at start */
};

struct tick_server {
    tick_link in_link;           /* in instance->servers */
    void *owned;                 /* freed with it (none for a TCP server) */
    void *user;                  /* tick_server_set_user() */
    tick_instance *in;
    tick_loop *loop;
    struct tick_server_config cfg;
    tick_link conns;             /* tick_conn.link */
    bool draining;
    tick_timer grace;            /* then the rest stop reading too */
    tick_server_stats st;
    unsigned nacc;
    char addrs[256];
    struct acceptor acc[TICK_LISTEN_MAX];
};

/* ---- connections ------------------------------------------------------ */

static void peer_text(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
            snprintf(out, len, "[%s]:%u", host, port);
            return;
        }
    }
    snprintf(out, len, "%s:%u", host, port);
}

static void conn_free(tick_conn *c)
{
    tick_server *srv = c->server;

    tick_link_remove(&c->link);
    srv->st.active--;
    if (srv->draining && srv->st.active == 0)
        tick_timer_stop(srv->loop, &srv->grace);
    tick_future_unref(&c->task.future);
    free(c);
}

/* The task ended (or the scope drained since): close the stream and the
 * scope, free the memory. Runs in the root scope (see conn_new). */
static void conn_reap(tick_handle *h)
{
    tick_conn *c = tick_container_of(h, tick_conn, reap);

    c->drained = tick_future_unref(c->drained);
    if (c->stream) {
        if (tick_stream_timed_out(c->stream))
            c->server->st.idle_timeouts++;
        tick_stream_close(c->stream);
        c->stream = NULL;
    }
    if (tick_scope_close(&c->scope) == 0) {
        conn_free(c);
        return;
    }
    /* the task left work in its scope: end it, close once drained */
    tick_scope_cancel(&c->scope);
    c->drained = tick_scope_drain(&c->scope);
    if (c->drained)
        tick_future_add_done_callback(c->drained, &c->reap);
    else
        tick_call_soon(c->server->loop, &c->reap);     /* -ENOMEM: retry */
}

static void refuse(tick_server *srv, int fd, const char *why)
{
    close(fd);
    if (srv->st.refused++ % 1000 == 0)
        tick_log(TICK_LOG_WARNING, "%s, closing new connections (%llu so far)", why,
                 (unsigned long long)srv->st.refused);
}

/* Take ownership of an accepted fd: always closes it or hands it on. */
static void conn_new(tick_server *srv, int fd)
{
    tick_loop *loop = srv->loop;
    char why[96];
    tick_conn *c;
    int rc;

    if (srv->st.active >= srv->cfg.max_conns) {
        snprintf(why, sizeof why, "%s (%u) reached", srv->cfg.max_conns_name,
                 srv->cfg.max_conns);
        refuse(srv, fd, why);
        return;
    }
    if (!(c = tick__calloc(1, srv->cfg.conn_size))) {
        refuse(srv, fd, "out of memory");
        return;
    }
    c->server = srv;
    memcpy(c->name, "conn ", 5);
    peer_text(fd, c->name + 5, sizeof c->name - 5);
    c->peer = c->name + 5;
    tick_link_init(&c->link);
    tick_scope_init(&c->scope, loop, NULL, c->name);   /* under the instance's */
    tick_scope_set_failed_hook(&c->scope, srv->in->scope.on_failed, srv->in->scope.user);
    tick_scope_charge_parent(&c->scope, !srv->cfg.conn_cpu);
    tick_scope *prev = tick_scope_enter(loop, &c->scope);
    rc = tick_stream_open(loop, fd, &c->stream);
    if (rc == 0 && srv->cfg.idle_timeout)
        rc = tick_stream_set_idle_timeout(c->stream, srv->cfg.idle_timeout);
    if (rc == 0)
        rc = tick_task_start(loop, &c->task, srv->cfg.task_name, srv->cfg.conn_class);
    tick_scope_enter(loop, prev);
    if (rc < 0) {
        if (c->stream)
            tick_stream_close(c->stream);
        else
            close(fd);
        tick_scope_close(&c->scope);
        free(c);
        snprintf(why, sizeof why, "cannot start a connection: %s", strerror(-rc));
        srv->st.refused++;
        tick_log(TICK_LOG_WARNING, "%s", why);
        return;
    }
    /* The reap handle is the root scope's: a cancel of the instance
     * (stop, shutdown) must not unpark it, or the connection's scope
     * would never close and the instance never drain. */
    tick_handle_init(&c->reap, "conn reap", conn_reap);
    tick_handle_set_scope(&c->reap, tick_loop_scope(loop));
    tick_future_add_done_callback(&c->task.future, &c->reap);
    tick_list_append(&srv->conns, &c->link);
    srv->st.active++;
    srv->st.accepted++;
}

/* ---- drain ------------------------------------------------------------ */

static void shut_reads(tick_server *srv, bool all)
{
    for (tick_link *l = srv->conns.next; l != &srv->conns; l = l->next) {
        tick_conn *c = tick_container_of(l, tick_conn, link);
        if (c->stream && (all || tick_stream_received(c->stream)))
            shutdown(tick_stream_fileno(c->stream), SHUT_RD);
    }
}

static void grace_over(tick_handle *h)
{
    shut_reads(tick_container_of(h, tick_server, grace.handle), true);
}

bool tick_server_draining(const tick_server *srv) { return srv && srv->draining; }

static void server_drain(tick_server *srv)
{
    if (srv->draining)
        return;
    srv->draining = true;
    shut_reads(srv, false);
    if (srv->st.active > 0)
        tick_call_later(srv->loop, &srv->grace, srv->cfg.first_request_grace);
}

/* ---- accepting -------------------------------------------------------- */

static int accept_step(tick_task *t)
{
    struct acceptor *a = tick_container_of(t, struct acceptor, task);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_lease_accept(a->lease), rc);
        if (rc >= 0) {
            conn_new(a->srv, (int)rc);
            continue;
        }
        if (rc == -ECANCELED)
            TICK_FAIL(t, rc);
        if (rc == -ESHUTDOWN) {          /* retired: finish and go */
            server_drain(a->srv);
            TICK_RETURN(t, 0);
        }
        /* ENOBUFS, EPERM from a firewall...: may persist; never spin */
        tick_log(TICK_LOG_WARNING, "accept on %s: %s; retrying in 100ms",
                 tick_lease_address(a->lease), strerror((int)-rc));
        TICK_AWAIT(t, tick_sleep(tick_task_loop(t), ACCEPT_RETRY), rc);
        if (rc == -ECANCELED)
            TICK_FAIL(t, rc);
    }
    TICK_END(t);
}

static const tick_task_class accept_class = { .step = accept_step };

int tick_server_start(tick_instance *in, const struct tick_server_config *cfg,
                      tick_server **out)
{
    tick_lease *leases[TICK_LISTEN_MAX];
    tick_server *srv;
    int n;

    if (!in || !cfg || !out || !cfg->listen || !cfg->conn_class ||
        !cfg->conn_class->step || cfg->conn_class->free || cfg->conn_size < sizeof(tick_conn))
        return in ? tick_instance_error(in, "bad server configuration") : -EINVAL;
    if (!(srv = tick__calloc(1, sizeof *srv)))
        return tick_instance_error(in, "out of memory"), -ENOMEM;
    srv->in = in;
    srv->loop = tick_instance_loop(in);
    srv->cfg = *cfg;
    srv->user = cfg->user;
    if (!srv->cfg.max_conns)
        srv->cfg.max_conns = DEFAULT_MAX_CONNS;
    if (!srv->cfg.first_request_grace)
        srv->cfg.first_request_grace = DEFAULT_GRACE;
    if (!srv->cfg.task_name)
        srv->cfg.task_name = "conn";
    if (!srv->cfg.max_conns_name)
        srv->cfg.max_conns_name = "max_conns";
    tick_link_init(&srv->conns);
    tick_timer_init(&srv->grace, "server drain grace", grace_over);
    /* listed before anything can fail: freed with the instance either way */
    tick_list_append(&in->servers, &srv->in_link);
    n = tick_instance_listen_list(in, cfg->listen, SOCK_STREAM, leases, TICK_LISTEN_MAX);
    if (n < 0)
        return n;                        /* the message is set */
    for (int i = 0; i < n; i++) {
        struct acceptor *a = &srv->acc[i];
        a->srv = srv;
        a->lease = leases[i];
        a->shed0 = tickd_lease_shed(a->lease);
        int rc = tick_task_start(srv->loop, &a->task, "accept", &accept_class);
        if (rc < 0)
            return tick_instance_error(in, "cannot start the accept task: %s",
                                       strerror(-rc));
        tick_future_unref(&a->task.future);   /* the engine keeps it going */
        srv->nacc++;
        size_t off = strlen(srv->addrs);
        snprintf(srv->addrs + off, sizeof srv->addrs - off, "%s%s", i ? ", " : "",
                 tick_lease_address(a->lease));
    }
    *out = srv;
    return 0;
}

void tick_server_set_max_conns(tick_server *srv, unsigned max_conns)
{
    if (srv)
        srv->cfg.max_conns = max_conns ? max_conns : DEFAULT_MAX_CONNS;
}

unsigned tick_server_max_conns(const tick_server *srv) { return srv->cfg.max_conns; }
const char *tick_server_addresses(const tick_server *srv) { return srv->addrs; }

const char *tick_server_address(const tick_server *srv, unsigned i)
{
    return i < srv->nacc ? tick_lease_address(srv->acc[i].lease) : NULL;
}

void tick_server_set_user(tick_server *srv, void *user)
{
    srv->user = user;
}

void *tick_server_user(const tick_server *srv)
{
    return srv ? srv->user : NULL;
}

void tick_server_get_stats(const tick_server *srv, tick_server_stats *out)
{
    *out = srv->st;
    for (unsigned i = 0; i < srv->nacc; i++) {
        uint64_t now = tickd_lease_shed(srv->acc[i].lease);
        if (now > srv->acc[i].shed0)
            out->shed_emfile += now - srv->acc[i].shed0;
    }
}

/* ---- UDP -------------------------------------------------------------- */

struct dgram_rx {
    tick_task task;
    tick_dgram_server *d;
    tick_lease *lease;
};

struct tick_dgram_server {
    tick_link in_link;           /* in instance->servers (the same list) */
    void *owned;                 /* the big buffers, if any: freed with it */
    tick_dgram_fn fn;
    void *user;
    uint64_t datagrams, batches;
    unsigned nrx, nended;
    void (*ended)(void *user);
    size_t max;                  /* bytes per datagram buffer */
    struct dgram_rx rx[TICK_LISTEN_MAX];
    /* one batch's buffers, shared by the receive tasks (one runs at once) */
    struct mmsghdr hdr[TICK_DGRAM_BATCH];
    struct iovec iov[TICK_DGRAM_BATCH];
    struct sockaddr_storage from[TICK_DGRAM_BATCH];
    tick_dgram msg[TICK_DGRAM_BATCH];
    char *big;                   /* TICK_DGRAM_BATCH * max when max > TICK_DGRAM_MAX
                                  * (calloc'd: pages a short datagram never
                                  * reaches are never touched) */
    char buf[TICK_DGRAM_BATCH][TICK_DGRAM_MAX];
};

/* Receive until EAGAIN: recvmmsg batches, fn once per batch. */
static void dgram_batches(tick_dgram_server *d, int fd)
{
    for (;;) {
        for (unsigned i = 0; i < TICK_DGRAM_BATCH; i++) {
            d->iov[i] = (struct iovec){ d->big ? d->big + i * d->max : d->buf[i], d->max };
            d->hdr[i].msg_hdr = (struct msghdr){
                .msg_name = &d->from[i], .msg_namelen = sizeof d->from[i],
                .msg_iov = &d->iov[i], .msg_iovlen = 1 };
        }
        int n = recvmmsg(fd, d->hdr, TICK_DGRAM_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return;                      /* EAGAIN (or an error: next wake) */
        }
        for (int i = 0; i < n; i++)
            d->msg[i] = (tick_dgram){
                .data = d->iov[i].iov_base, .len = d->hdr[i].msg_len,
                .truncated = (d->hdr[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
                .peer = (struct sockaddr *)&d->from[i],
                .peer_len = d->hdr[i].msg_hdr.msg_namelen };
        d->datagrams += (unsigned)n;
        d->batches++;
        d->fn(d->user, fd, d->msg, (unsigned)n);
        if (n < TICK_DGRAM_BATCH)
            return;                      /* short batch: the queue is empty */
    }
}

static int dgram_step(tick_task *t)
{
    struct dgram_rx *r = tick_container_of(t, struct dgram_rx, task);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_lease_readable(r->lease), rc);
        if (rc == -ECANCELED)
            TICK_FAIL(t, rc);
        if (rc == -ESHUTDOWN) {
            if (++r->d->nended == r->d->nrx && r->d->ended)
                r->d->ended(r->d->user);
            TICK_RETURN(t, 0);
        }
        if (rc < 0) {
            TICK_AWAIT(t, tick_sleep(tick_task_loop(t), ACCEPT_RETRY), rc);
            if (rc == -ECANCELED)
                TICK_FAIL(t, rc);
            continue;
        }
        dgram_batches(r->d, tick_lease_fileno(r->lease));
    }
    TICK_END(t);
}

static const tick_task_class dgram_class = { .step = dgram_step };

int tick_dgram_server_start(tick_instance *in, const char *listen, tick_dgram_fn fn,
                            void *user, tick_dgram_server **out)
{
    return tick_dgram_server_start_cfg(in, &(struct tick_dgram_config){
        .listen = listen, .fn = fn, .user = user }, out);
}

int tick_dgram_server_start_cfg(tick_instance *in, const struct tick_dgram_config *cfg,
                                tick_dgram_server **out)
{
    tick_lease *leases[TICK_LISTEN_MAX];
    tick_dgram_server *d;
    int n;

    if (!in || !cfg || !cfg->listen || !cfg->fn || !out ||
        cfg->max_datagram > TICK_DGRAM_MAX_LIMIT)
        return in ? tick_instance_error(in, "bad datagram server arguments") : -EINVAL;
    if (!(d = tick__calloc(1, sizeof *d)))
        return tick_instance_error(in, "out of memory"), -ENOMEM;
    d->fn = cfg->fn;
    d->user = cfg->user;
    d->ended = cfg->ended;
    d->max = cfg->max_datagram ? cfg->max_datagram : TICK_DGRAM_MAX;
    tick_list_append(&in->servers, &d->in_link);
    if (d->max > TICK_DGRAM_MAX) {
        if (!(d->big = d->owned = tick__calloc(TICK_DGRAM_BATCH, d->max)))
            return tick_instance_error(in, "out of memory"), -ENOMEM;
    }
    n = tick_instance_listen_list(in, cfg->listen, SOCK_DGRAM, leases, TICK_LISTEN_MAX);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        struct dgram_rx *r = &d->rx[i];
        r->d = d;
        r->lease = leases[i];
        int rc = tick_task_start(tick_instance_loop(in), &r->task, "dgram rx", &dgram_class);
        if (rc < 0)
            return tick_instance_error(in, "cannot start the receive task: %s",
                                       strerror(-rc));
        tick_future_unref(&r->task.future);
        d->nrx++;
    }
    *out = d;
    return 0;
}

int tick_dgram_server_fileno(const tick_dgram_server *d, unsigned i)
{
    return d && i < d->nrx ? tick_lease_fileno(d->rx[i].lease) : -1;
}

void tick_dgram_server_counts(const tick_dgram_server *d, uint64_t *datagrams,
                              uint64_t *batches)
{
    if (datagrams)
        *datagrams = d->datagrams;
    if (batches)
        *batches = d->batches;
}

/* Both kinds start with their in_link, then owned: free them alike. */
struct server_head { tick_link in_link; void *owned; };

void tickd_server_free_instance(tick_instance *in)
{
    while (in->servers.next && !tick_list_empty(&in->servers)) {
        tick_link *l = in->servers.next;
        tick_link_remove(l);
        free(((struct server_head *)l)->owned);
        free(l);
    }
}
