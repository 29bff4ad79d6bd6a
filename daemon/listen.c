/*
 * listen.c — listeners owned by the daemon, leased by instances
 * (listen.h, tick/listen.h).
 *
 * Why the daemon owns them: a socket closed and bound again on reload
 * refuses every connect in between (DESIGN 6). Here the socket outlives
 * the incarnations that lease it: a changed instance's successor leases
 * the same socket before its predecessor lets go, and a stateful one is
 * restarted while the socket stays open, its connects waiting in the
 * backlog.
 *
 * The engine allows one pending operation per side of a tick_fd, so a
 * listener keeps one accept (or readable) armed whenever some lease
 * waits, and hands what it brings to the newest lease that waits. The
 * operation is cancelled when no lease waits any more: connections then
 * stay in the kernel's backlog rather than in our hands. An accepted fd
 * whose waiter went away in the meantime is kept (at most one) for the
 * next waiter.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include "alloc.h"
#include "instance.h"
#include "listen.h"
#include "log.h"
#include "io_fd.h"                  /* the EMFILE shed count of a tick_fd */

struct tickd_listener {
    tick_link link;                  /* in listeners */
    int type;                        /* SOCK_STREAM | SOCK_DGRAM */
    struct sockaddr_storage key;     /* as asked (port 0 stays 0) */
    socklen_t keylen;
    struct sockaddr_storage bound;   /* getsockname() */
    char text[INET6_ADDRSTRLEN + 16];/* bound, "127.0.0.1:7000" */
    char name[64];                   /* LISTEN_FDNAMES entry, "" */
    tick_fd *tfd;
    bool passed;                     /* by systemd: never closed */
    tick_link leases;                /* tick_lease.link, newest first */
    tick_future *op;                 /* the accept/readable armed, or NULL */
    tick_handle op_done;             /* its done-callback (root scope) */
    tick_timer retry;                /* after a persistent accept error */
    int stash;                       /* accepted, no waiter left; or -1 */
};

struct lease_wait;

struct tick_lease {
    tick_link link;                  /* in listener->leases */
    tick_link in_link;               /* in instance->leases */
    struct tickd_listener *ls;       /* NULL once ended */
    tick_instance *in;
    struct lease_wait *wait;         /* pending accept/readable, or NULL */
    int type;
    int end_err;                     /* why it ended (-ESHUTDOWN...) */
    bool delivered;                  /* something was handed over once */
    char addr[INET6_ADDRSTRLEN + 16];
};

/* A lease's pending wait: a future the lease holds one reference on. */
struct lease_wait {
    tick_future fut;
    tick_lease *lease;               /* NULL once completed */
};

static tick_loop *lloop;
static tick_link listeners = TICK_LINK_INIT(listeners);

static void pump(struct tickd_listener *ls);

/* ---- waits ------------------------------------------------------------ */

static void wait_free(tick_future *f)
{
    free(tick_container_of(f, struct lease_wait, fut));
}

/* Complete a lease's wait (result >= 0 or err < 0) and drop its hold. */
static void wait_complete(tick_lease *l, intptr_t value, int err)
{
    struct lease_wait *w = l->wait;

    l->wait = NULL;
    w->lease = NULL;
    if (err < 0)
        tick_future_set_error(&w->fut, err);
    else
        tick_future_set_result(&w->fut, value);
    tick_future_unref(&w->fut);
}

static void op_cancel(struct tickd_listener *ls);

static bool anyone_waits(const struct tickd_listener *ls)
{
    for (const tick_link *k = ls->leases.next; k != &ls->leases; k = k->next)
        if (tick_container_of(k, tick_lease, link)->wait)
            return true;
    return false;
}

/* A task awaiting the wait was cancelled (or someone cancelled the
 * future): leave the lease, complete it ourselves. */
static bool wait_cancel(tick_future *f)
{
    struct lease_wait *w = tick_container_of(f, struct lease_wait, fut);
    tick_lease *l = w->lease;

    if (l && l->wait == w) {
        struct tickd_listener *ls = l->ls;
        wait_complete(l, 0, -ECANCELED);
        if (ls && !anyone_waits(ls))
            op_cancel(ls);
    }
    return false;   /* completed above (or already done) */
}

static const tick_future_ops wait_ops = { "lease wait", wait_free, wait_cancel };

static tick_future *failed_future(int err)
{
    tick_future *f;
    if (tick_future_new(lloop, &f) < 0)
        return NULL;
    tick_future_set_error(f, err);
    return f;
}

/* ---- the listener's one operation -------------------------------------- */

static tick_lease *newest_waiting(struct tickd_listener *ls)
{
    for (tick_link *k = ls->leases.next; k != &ls->leases; k = k->next) {
        tick_lease *l = tick_container_of(k, tick_lease, link);
        if (l->wait)
            return l;
    }
    return NULL;
}

static void deliver(tick_lease *l, intptr_t value)
{
    if (!l->delivered && l->in->reload_t0)
        tickd_logp(TICK_LOG_DEBUG, l->in->scope_name, "first %s on %s %.1f ms "
                   "after the reload began", l->type == SOCK_STREAM ? "accept" :
                   "datagram", l->addr,
                   (double)(tick_now(lloop) - l->in->reload_t0) / 1e6);
    l->delivered = true;
    wait_complete(l, value, 0);
}

/* Take back the armed operation (nobody waits any more, or closing). An
 * fd it accepted meanwhile is kept for the next waiter. */
static void op_cancel(struct tickd_listener *ls)
{
    tick_future *op = ls->op;

    if (!op)
        return;
    ls->op = NULL;
    tick_handle_cancel(&ls->op_done);
    if (!tick_future_done(op))
        tick_future_cancel(op);
    else if (ls->type == SOCK_STREAM && tick_future_error(op) == 0) {
        int fd = (int)tick_future_result(op);
        if (ls->stash < 0)
            ls->stash = fd;
        else
            close(fd);
    }
    tick_future_unref(op);
}

static void op_finished(tick_handle *h)
{
    struct tickd_listener *ls = tick_container_of(h, struct tickd_listener, op_done);
    tick_future *op = ls->op;
    int err = tick_future_error(op);
    intptr_t res = tick_future_result(op);
    tick_lease *l;

    ls->op = NULL;
    tick_future_unref(op);
    if (err == -ECANCELED)
        return;
    l = newest_waiting(ls);
    if (err == 0) {
        if (l)
            deliver(l, res);
        else if (ls->type == SOCK_STREAM && ls->stash < 0)
            ls->stash = (int)res;
        else if (ls->type == SOCK_STREAM)
            close((int)res);
    } else if (err == -ECONNABORTED || err == -EINTR || err == -EAGAIN ||
               err == -EPROTO) {
        /* the client gave up first: next one */
    } else {
        /* ENOBUFS, EPERM from a firewall...: may persist. Say so and pause
         * rather than spin (EMFILE never gets here: io.c sheds it). */
        tickd_log(TICK_LOG_WARNING, "listener %s: %s; retrying in 100ms",
                  ls->text, strerror(-err));
        tick_call_later(lloop, &ls->retry, 100 * TICK_MSEC);
        return;
    }
    pump(ls);
}

static void retry_fire(tick_handle *h)
{
    pump(tick_container_of(h, struct tickd_listener, retry.handle));
}

/* Hand what is at hand to the newest waiter; arm the operation while
 * anyone still waits. */
static void pump(struct tickd_listener *ls)
{
    tick_lease *l = newest_waiting(ls);
    tick_scope *prev;

    if (!l || ls->op || tick_timer_armed(&ls->retry))
        return;
    if (ls->stash >= 0) {
        int fd = ls->stash;
        ls->stash = -1;
        deliver(l, fd);
        if (!(l = newest_waiting(ls)))
            return;
    }
    if (ls->type == SOCK_DGRAM) {
        char c;
        ssize_t n = recv(tick_fd_fileno(ls->tfd), &c, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
        if (n >= 0) {
            deliver(l, EPOLLIN);
            return;            /* the others wait for the next datagram */
        }
        tick_fd_clear(ls->tfd, EPOLLIN);
    }
    /* the daemon's: a wait of an instance must not make it the instance's */
    prev = tick_scope_enter(lloop, tick_loop_scope(lloop));
    ls->op = ls->type == SOCK_STREAM ? tick_fd_accept(ls->tfd) : tick_fd_readable(ls->tfd);
    if (ls->op)
        tick_future_add_done_callback(ls->op, &ls->op_done);
    else
        tick_call_later(lloop, &ls->retry, 100 * TICK_MSEC);   /* -ENOMEM */
    tick_scope_enter(lloop, prev);
}

/* ---- addresses --------------------------------------------------------- */

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, len, "[%s]:%u", host, ntohs(a->sin6_port));
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, len, "%s:%u", host, ntohs(a->sin_port));
    } else {
        snprintf(out, len, "(family %d)", ss->ss_family);
    }
}

/* "HOST:PORT" (numeric host or localhost) into a socket address. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 1];
    uint16_t port;

    if (tick_parse_listen(s, host, sizeof host, &port) < 0)
        return -EINVAL;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (!host[0] || strcmp(host, "localhost") == 0) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr.s_addr = htonl(host[0] ? INADDR_LOOPBACK : INADDR_ANY);
        *len = sizeof *sin;
    } else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        *len = sizeof *sin;
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        *len = sizeof *sin6;
    } else {
        return -EINVAL;
    }
    return 0;
}

static bool is_any(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family || port_of(a) != port_of(b))
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    return false;
}

/* The listener for (type, address): one bound for it, else a socket
 * systemd passed that is bound there (any address matches any address,
 * of either family: ListenStream=7000 binds [::]:7000). */
static struct tickd_listener *find(int type, const struct sockaddr_storage *ss)
{
    for (tick_link *k = listeners.next; k != &listeners; k = k->next) {
        struct tickd_listener *ls = tick_container_of(k, struct tickd_listener, link);
        if (ls->type == type && same_addr(&ls->key, ss))
            return ls;
    }
    for (tick_link *k = listeners.next; k != &listeners; k = k->next) {
        struct tickd_listener *ls = tick_container_of(k, struct tickd_listener, link);
        if (ls->passed && ls->type == type && port_of(ss) != 0 &&
            port_of(&ls->bound) == port_of(ss) && is_any(&ls->bound) && is_any(ss))
            return ls;
    }
    return NULL;
}

/* ---- listeners ---------------------------------------------------------- */

static struct tickd_listener *listener_new(int fd, int type)
{
    struct tickd_listener *ls = tick__calloc(1, sizeof *ls);
    socklen_t blen = sizeof ls->bound;
    tick_scope *prev;
    int rc;

    if (!ls)
        return NULL;
    ls->type = type;
    ls->stash = -1;
    tick_link_init(&ls->leases);
    tick_handle_init(&ls->op_done, "listener", op_finished);
    tick_handle_set_scope(&ls->op_done, tick_loop_scope(lloop));
    tick_timer_init(&ls->retry, "listener retry", retry_fire);
    tick_handle_set_scope(&ls->retry.handle, tick_loop_scope(lloop));
    if (getsockname(fd, (struct sockaddr *)&ls->bound, &blen) == 0)
        format_addr(&ls->bound, ls->text, sizeof ls->text);
    prev = tick_scope_enter(lloop, tick_loop_scope(lloop));
    rc = tick_fd_open(lloop, fd, &ls->tfd);
    tick_scope_enter(lloop, prev);
    if (rc < 0) {
        free(ls);
        errno = -rc;
        return NULL;
    }
    tick_list_append(&listeners, &ls->link);
    return ls;
}

static void listener_close(struct tickd_listener *ls)
{
    op_cancel(ls);
    tick_timer_stop(lloop, &ls->retry);
    if (ls->stash >= 0)
        close(ls->stash);
    tick_link_remove(&ls->link);
    tickd_log(TICK_LOG_DEBUG, "closing listener %s (%s)", ls->text,
              ls->type == SOCK_STREAM ? "tcp" : "udp");
    tick_fd_close(ls->tfd);
    free(ls);
}

/* Bind a new listener for ss. -errno with why set. */
static int listener_bind(int type, const struct sockaddr_storage *ss, socklen_t len,
                         bool reuse_port, struct tickd_listener **out, const char **why)
{
    int one = 1, fd, rc;

    fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = "socket";
        return -errno;
    }
    /* SO_REUSEADDR: bind again while old connections sit in TIME_WAIT */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)) {
        *why = "setsockopt";
        goto fail;
    }
    if (bind(fd, (const struct sockaddr *)ss, len) < 0) {
        *why = "bind";
        goto fail;
    }
    if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) {
        *why = "listen";
        goto fail;
    }
    /* after listen(): a fresh TCP socket reports EPOLLHUP (io.h) */
    if (!(*out = listener_new(fd, type))) {
        *why = "watching it";
        goto fail;
    }
    memcpy(&(*out)->key, ss, sizeof *ss);
    (*out)->keylen = len;
    tickd_log(TICK_LOG_DEBUG, "listening on %s (%s%s)", (*out)->text,
              type == SOCK_STREAM ? "tcp" : "udp", reuse_port ? ", SO_REUSEPORT" : "");
    return 0;
fail:
    rc = -errno;
    close(fd);
    return rc;
}

/* ---- the plugin API ------------------------------------------------------ */

/* A list must not start or end with a comma (an empty item). */
static bool list_ends_ok(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (*s == ' ' || *s == '\t')
        s++, n--;
    return n > 0 && s[0] != ',' && s[n - 1] != ',';
}

/* Next comma-separated item of *p into buf (blanks trimmed). 1, 0 at the
 * end, -EINVAL for an empty or too long item. */
static int next_item(const char **p, char *buf, size_t len)
{
    const char *s = *p, *e;
    size_t n;

    if (!*s)
        return 0;
    e = strchr(s, ',');
    if (!e)
        e = s + strlen(s);
    *p = *e ? e + 1 : e;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    n = (size_t)(e - s);
    if (n == 0 || n >= len)
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 1;
}

TICK_API int tick_listen_check(const char *list)
{
    char item[300];
    struct sockaddr_storage ss;
    socklen_t len;
    int n = 0, rc;

    if (!list || !list_ends_ok(list))
        return -EINVAL;
    while ((rc = next_item(&list, item, sizeof item)) > 0) {
        if (parse_addr(item, &ss, &len) < 0 || ++n > TICK_LISTEN_MAX)
            return -EINVAL;
    }
    if (rc < 0 || (*list == '\0' && n == 0))
        return -EINVAL;
    return n;
}

/* May `in` lease ls? Incarnations of one instance share a socket, and so
 * may an instance and one the running reload is removing (a rename). */
static const char *shared_with(const struct tickd_listener *ls, const tick_instance *in)
{
    for (const tick_link *k = ls->leases.next; k != &ls->leases; k = k->next) {
        const tick_lease *o = tick_container_of(k, tick_lease, link);
        if (strcmp(o->in->conf->name, in->conf->name) != 0 && !o->in->retiring)
            return o->in->conf->name;
    }
    return NULL;
}

TICK_API int tick_instance_listen(tick_instance *in, const char *addr, int type,
                                  tick_lease **out)
{
    struct sockaddr_storage ss;
    struct tickd_listener *ls;
    const char *why = NULL, *other;
    tick_lease *l;
    socklen_t len;
    int rc;

    if (!in || !addr || !out || (type != SOCK_STREAM && type != SOCK_DGRAM) || !lloop)
        return in ? tick_instance_error(in, "cannot listen on '%s': bad arguments",
                                        addr ? addr : "(null)") : -EINVAL;
    *out = NULL;
    if (parse_addr(addr, &ss, &len) < 0)
        return tick_instance_error(in, "cannot listen on '%s': not an address "
                                   "(HOST:PORT, [V6]:PORT or :PORT, numeric)", addr);
    ls = find(type, &ss);
    if (ls && (other = shared_with(ls, in))) {
        tick_instance_error(in, "cannot listen on %s: leased by plugin:%s", addr, other);
        return -EADDRINUSE;
    }
    if (!(l = tick__calloc(1, sizeof *l))) {
        tick_instance_error(in, "cannot listen on %s: out of memory", addr);
        return -ENOMEM;
    }
    if (!ls && (rc = listener_bind(type, &ss, len, in->conf->reuse_port, &ls, &why)) < 0) {
        free(l);
        tick_instance_error(in, "cannot listen on %s (%s): %s: %s", addr,
                            type == SOCK_STREAM ? "tcp" : "udp", why, strerror(-rc));
        return rc;
    }
    l->ls = ls;
    l->in = in;
    l->type = type;
    snprintf(l->addr, sizeof l->addr, "%s", ls->text);
    tick_list_append(ls->leases.next, &l->link);   /* at the front: newest first */
    tick_list_append(&in->leases, &l->in_link);
    *out = l;
    return 0;
}

TICK_API int tick_instance_listen_list(tick_instance *in, const char *list, int type,
                                       tick_lease **out, size_t max)
{
    char item[300];
    size_t n = 0;
    int rc;

    if (!in || !list || !out)
        return -EINVAL;
    if (!list_ends_ok(list))
        return tick_instance_error(in, "bad address list '%s'", list);
    while ((rc = next_item(&list, item, sizeof item)) > 0) {
        if (n == max) {
            rc = tick_instance_error(in, "more than %zu addresses in '%s'", max, list);
            break;
        }
        if ((rc = tick_instance_listen(in, item, type, &out[n])) < 0)
            break;
        n++;
    }
    if (rc == 0 && n == 0)
        rc = tick_instance_error(in, "no address to listen on");
    else if (rc == -EINVAL && !in->has_err)
        rc = tick_instance_error(in, "bad address list");
    if (rc < 0) {
        while (n > 0)
            tick_lease_end(out[--n]);
        return rc;
    }
    return (int)n;
}

static tick_future *lease_wait(tick_lease *l, int type)
{
    struct lease_wait *w;

    if (!l || l->type != type)
        return failed_future(-EINVAL);
    if (!l->ls)
        return failed_future(l->end_err ? l->end_err : -ESHUTDOWN);
    if (l->wait)
        return failed_future(-EBUSY);
    if (!(w = tick__calloc(1, sizeof *w)))
        return NULL;
    tick_future_init(&w->fut, lloop, &wait_ops);
    w->lease = l;
    l->wait = w;
    tick_future_ref(&w->fut);         /* the caller's; the lease keeps its own */
    pump(l->ls);
    return &w->fut;
}

TICK_API tick_future *tick_lease_accept(tick_lease *l) { return lease_wait(l, SOCK_STREAM); }
TICK_API tick_future *tick_lease_readable(tick_lease *l) { return lease_wait(l, SOCK_DGRAM); }

TICK_API int tick_lease_fileno(const tick_lease *l)
{
    return l && l->ls ? tick_fd_fileno(l->ls->tfd) : -EBADF;
}

uint64_t tickd_lease_shed(const tick_lease *l)
{
    return l && l->ls ? tick__fd_shed_count(l->ls->tfd) : 0;
}

TICK_API const char *tick_lease_address(const tick_lease *l) { return l ? l->addr : ""; }
TICK_API int tick_lease_type(const tick_lease *l) { return l ? l->type : -EINVAL; }

static void lease_end(tick_lease *l, int err)
{
    struct tickd_listener *ls = l->ls;

    if (!ls)
        return;
    l->ls = NULL;
    l->end_err = err;
    tick_link_remove(&l->link);
    if (l->wait)
        wait_complete(l, 0, err);
    if (!anyone_waits(ls))
        op_cancel(ls);         /* new connects wait in the backlog */
}

TICK_API void tick_lease_end(tick_lease *l)
{
    if (l)
        lease_end(l, -ESHUTDOWN);
}

/* ---- the daemon side ----------------------------------------------------- */

void tickd_listen_init(tick_loop *loop) { lloop = loop; }

void tickd_listen_end_instance(tick_instance *in, int err)
{
    for (tick_link *k = in->leases.next; k != &in->leases; k = k->next)
        lease_end(tick_container_of(k, tick_lease, in_link), err);
}

bool tickd_listen_instance_leases(const tick_instance *in)
{
    for (const tick_link *k = in->leases.next; k != &in->leases; k = k->next)
        if (tick_container_of(k, tick_lease, in_link)->ls)
            return true;
    return false;
}

void tickd_listen_free_instance(tick_instance *in)
{
    while (!tick_list_empty(&in->leases)) {
        tick_lease *l = tick_container_of(in->leases.next, tick_lease, in_link);
        lease_end(l, -ECANCELED);
        tick_link_remove(&l->in_link);
        free(l);
    }
}

size_t tickd_listen_sweep(void)
{
    size_t n = 0;
    for (tick_link *k = listeners.next, *next; k != &listeners; k = next) {
        struct tickd_listener *ls = tick_container_of(k, struct tickd_listener, link);
        next = k->next;
        if (!ls->passed && tick_list_empty(&ls->leases)) {
            listener_close(ls);
            n++;
        }
    }
    return n;
}

void tickd_listen_shutdown(void)
{
    while (!tick_list_empty(&listeners))
        listener_close(tick_container_of(listeners.next, struct tickd_listener, link));
}

size_t tickd_listen_count(void)
{
    size_t n = 0;
    for (tick_link *k = listeners.next; k != &listeners; k = k->next)
        n++;
    return n;
}

/* ---- socket activation --------------------------------------------------- */

#define SD_LISTEN_FDS_START 3

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno || *end || *out > max ? -EINVAL : 0;
}

/* The n-th ':'-separated name of LISTEN_FDNAMES into buf ("" if none). */
static void fdname(const char *names, unsigned i, char *buf, size_t len)
{
    buf[0] = '\0';
    for (; names && i > 0; i--)
        names = (names = strchr(names, ':')) ? names + 1 : NULL;
    if (!names)
        return;
    size_t n = strcspn(names, ":");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), names);
}

int tickd_listen_activation(void)
{
    const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    unsigned long pid, nfds;
    int taken = 0;

    if (!fds_s)
        goto out;
    if (parse_uint(pid_s, 1UL << 30, &pid) < 0 || parse_uint(fds_s, 4096, &nfds) < 0) {
        tickd_log(TICK_LOG_WARNING, "ignoring LISTEN_PID='%s' LISTEN_FDS='%s': not "
                  "numbers", pid_s ? pid_s : "", fds_s);
        goto out;
    }
    if ((pid_t)pid != getpid()) {
        tickd_log(TICK_LOG_DEBUG, "LISTEN_FDS is for pid %lu, not us", pid);
        goto out;
    }
    for (unsigned i = 0; i < nfds; i++) {
        int fd = SD_LISTEN_FDS_START + (int)i, type = 0, acc = 0;
        socklen_t tl = sizeof type, al = sizeof acc;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char name[64];

        fdname(names, i, name, sizeof name);
        fcntl(fd, F_SETFD, FD_CLOEXEC);   /* children must not inherit it */
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
            (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
            (type != SOCK_STREAM && type != SOCK_DGRAM)) {
            tickd_log(TICK_LOG_WARNING, "socket activation: fd %d ('%s') is not "
                      "an IPv4/IPv6 TCP or UDP socket; leaving it alone", fd, name);
            continue;
        }
        if (type == SOCK_STREAM &&
            (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc)) {
            tickd_log(TICK_LOG_WARNING, "socket activation: fd %d ('%s') is not "
                      "listening (Accept=yes is not supported); leaving it alone",
                      fd, name);
            continue;
        }
        struct tickd_listener *ls = listener_new(fd, type);
        if (!ls) {
            tickd_log(TICK_LOG_ERR, "socket activation: fd %d: %s", fd, strerror(errno));
            continue;
        }
        ls->passed = true;
        memcpy(&ls->key, &ss, sizeof ss);
        ls->keylen = sl;
        snprintf(ls->name, sizeof ls->name, "%s", name);
        tickd_log(TICK_LOG_INFO, "socket activation: fd %d%s%s%s is %s (%s)", fd,
                  name[0] ? " ('" : "", name, name[0] ? "')" : "", ls->text,
                  type == SOCK_STREAM ? "tcp" : "udp");
        taken++;
    }
out:
    /* children (and a re-exec) must not take them for theirs */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return taken;
}
