/*
 * control.c — the control socket, served by the daemon's own loop
 * (control.h has the protocol).
 *
 * Everything here belongs to the loop's root scope: the listener's
 * tick_fd, the accept task, one task per connection, and the handles.
 * Tasks are started with the root scope entered, so whatever code path
 * starts them, no instance scope owns them and no instance's stop can
 * cancel them.
 *
 * A reload request is not run from the connection's task: the kick
 * handle calls tickd_reload() exactly as the SIGHUP handle does. Each
 * reload ends with one tickd_reload_verdict() (reload.c); verdicts are
 * numbered, and a request waits for a number: the next verdict when no
 * reload runs, the one after when a reload runs (reload.c then reads the
 * file again once it has finished: that second reload includes our
 * request). "A reload runs" is d->state == TICKD_RELOADING.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "metrics_daemon.h"

#define CTL_IDLE (10 * TICK_SEC)       /* to send a command, or take a reply */

struct ctl_conn {
    tick_task task;
    tick_link link;                /* control.conns */
    tick_link wait;                /* control.requested or control.waiting */
    tick_fd *fd;
    tick_future *verdict;          /* resolved once the reply is in out */
    unsigned long long target;     /* the verdict that answers us */
    bool last;                     /* close after this reply */
    size_t inlen;
    char in[TICKD_CONTROL_LINE_MAX];
    char *out;                     /* reply (malloc'd) */
    size_t outlen;
};

static struct tickd_control {
    struct tickd *d;
    tick_loop *loop;
    char path[TICKD_CONTROL_PATH_MAX];
    dev_t dev;
    ino_t ino;
    bool bound;                    /* path is our socket file */
    bool closing;
    tick_fd *lfd;
    tick_task accept_task;
    bool accepting;                /* accept_task alive */
    tick_link conns;
    tick_link requested;           /* reload asked; kick not run yet */
    tick_link waiting;             /* waiting for verdict number target */
    tick_handle kick;
    unsigned nconns;
    unsigned long long verdicts;   /* reload verdicts so far */
} control = {
    .conns = TICK_LINK_INIT(control.conns),
    .requested = TICK_LINK_INIT(control.requested),
    .waiting = TICK_LINK_INIT(control.waiting),
};

bool tickd_control_path(const char *configured, char *buf, size_t len,
                        bool *from_env)
{
    const char *rt = getenv("RUNTIME_DIRECTORY");
    int n;

    *from_env = false;
    if (configured)
        n = snprintf(buf, len, "%s", configured);
    else if (rt && rt[0] == '/') {
        /* RuntimeDirectory= may list several: the first one is ours */
        n = snprintf(buf, len, "%.*s/control", (int)strcspn(rt, ":"), rt);
        *from_env = true;
    } else
        n = snprintf(buf, len, "%s", TICKD_CONTROL_DEFAULT);
    return n >= 0 && (size_t)n < len;
}

const char *tickd_control_served(void)
{
    return control.bound ? control.path : NULL;
}

/* ---- replies ----------------------------------------------------------- */

static void reply_set(struct ctl_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reply_set(struct ctl_conn *c, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = tick__vasprintf(&s, fmt, ap);
    va_end(ap);
    free(c->out);
    c->out = NULL;
    c->outlen = 0;
    if (n < 0) {
        /* no memory: a static answer, and hang up after it */
        static const char oom[] = "error out of memory\n";
        c->out = tick__strdup(oom);
        c->outlen = c->out ? sizeof oom - 1 : 0;
        c->last = true;
        return;
    }
    /* one line per message: a newline inside would end the answer early */
    for (int i = 0; i < n - 1; i++)
        if (s[i] == '\n' || s[i] == '\r')
            s[i] = ' ';
    c->out = s;
    c->outlen = (size_t)n;
}

/* Answer a connection waiting in requested/waiting and wake its task. */
static void answer(struct ctl_conn *c, bool ok, const char *msg)
{
    tick_link_remove(&c->wait);
    reply_set(c, "%s %s\n", ok ? "ok" : "error", msg);
    if (c->verdict)
        tick_future_set_result(c->verdict, 0);
}

static void answer_all(tick_link *list, bool ok, const char *msg)
{
    while (!tick_list_empty(list))
        answer(tick_container_of(list->next, struct ctl_conn, wait), ok, msg);
}

void tickd_reload_verdict(struct tickd *d, bool ok, const char *msg)
{
    struct tickd_control *ctl = &control;

    tickd_metrics_reload(ok, msg);
    ctl->verdicts++;
    for (tick_link *l = ctl->waiting.next, *next; l != &ctl->waiting; l = next) {
        struct ctl_conn *c = tick_container_of(l, struct ctl_conn, wait);
        next = l->next;
        if (c->target <= ctl->verdicts)
            answer(c, ok, msg ? msg : "");
    }
    if (tickd_test_hook)
        tickd_test_hook(d, TICKD_TEST_RELOADED, ok);
}

/* Run the requested reloads: one tickd_reload() for all, as SIGHUP. */
static void reload_kick(tick_handle *h)
{
    struct tickd_control *ctl = tick_container_of(h, struct tickd_control, kick);
    struct tickd *d = ctl->d;
    unsigned long long target;

    if (tick_list_empty(&ctl->requested))
        return;
    if (ctl->closing || d->state == TICKD_STOPPING || d->state == TICKD_STARTING) {
        answer_all(&ctl->requested, false, "not reloaded: tickd is stopping");
        return;
    }
    target = ctl->verdicts + (d->state == TICKD_RELOADING ? 2 : 1);
    while (!tick_list_empty(&ctl->requested)) {
        struct ctl_conn *c = tick_container_of(ctl->requested.next, struct ctl_conn, wait);
        tick_link_remove(&c->wait);
        c->target = target;
        tick_list_append(&ctl->waiting, &c->wait);
    }
    tickd_log(TICK_LOG_INFO, "reload requested on the control socket");
    tickd_reload(d);   /* may give its verdict before it returns */
}

/* "plugin:NAME: module=..." per instance, then "ok". */
static void status_reply(struct ctl_conn *c)
{
    char *buf = NULL, line[1024];
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    if (!f) {
        reply_set(c, "error out of memory\n");
        return;
    }
    for (tick_instance *in = NULL; (in = tickd_instance_next(in));) {
        tickd_instance_format_stats(in, line, sizeof line);
        fprintf(f, "plugin:%s: %s\n", tick_instance_name(in), line);
    }
    fputs("ok\n", f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        reply_set(c, "error out of memory\n");
        return;
    }
    free(c->out);
    c->out = buf;
    c->outlen = size;
}

/* ---- a connection ---------------------------------------------------------- */

/* Handle the command line c->in[0..len) ('\n' excluded). true when the
 * reply is in c->out; false when the task must wait for c->verdict. */
static bool command(struct ctl_conn *c, size_t len)
{
    struct tickd_control *ctl = &control;
    char cmd[TICKD_CONTROL_LINE_MAX];

    switch (tickd_control_command(c->in, len, cmd)) {
    case TICKD_CMD_STATUS:
        status_reply(c);
        return true;
    case TICKD_CMD_RELOAD:
        if (ctl->closing) {
            reply_set(c, "error not reloaded: tickd is stopping\n");
            return true;
        }
        if (tick_future_new(ctl->loop, &c->verdict) < 0) {
            reply_set(c, "error out of memory\n");
            return true;
        }
        tick_list_append(&ctl->requested, &c->wait);
        tick_call_soon(ctl->loop, &ctl->kick);   /* a no-op when queued */
        return false;
    case TICKD_CMD_UNKNOWN:
        break;
    }
    reply_set(c, "error unknown command '%.64s' (use reload or status)\n", cmd);
    return true;
}

static int conn_step(tick_task *t)
{
    struct ctl_conn *c = tick_container_of(t, struct ctl_conn, task);
    tick_loop *loop = tick_task_loop(t);
    intptr_t rc = 0;
    size_t len;
    int got;

    TICK_BEGIN(t);
    for (;;) {
        got = tickd_control_next_line(c->in, c->inlen, sizeof c->in, &len);
        if (got <= 0) {
            if (got < 0) {
                reply_set(c, "error command too long (at most %d bytes)\n",
                          TICKD_CONTROL_LINE_MAX - 1);
                c->last = true;
            } else {
                TICK_AWAIT(t, tick_timeout(loop, tick_fd_read(c->fd, c->in + c->inlen,
                                                              sizeof c->in - c->inlen),
                                           CTL_IDLE), rc);
                if (rc <= 0)
                    break;   /* end of file, idle, cancelled or an error */
                c->inlen += (size_t)rc;
                continue;
            }
        } else {
            bool ready = command(c, len);
            memmove(c->in, c->in + len + 1, c->inlen - len - 1);
            c->inlen -= len + 1;
            if (!ready) {
                /* the verdict: no deadline of ours (a reload always ends,
                 * each stop within stop_timeout); the client has one */
                TICK_AWAIT(t, tick_future_ref(c->verdict), rc);
                c->verdict = tick_future_unref(c->verdict);
                tick_link_remove(&c->wait);
                if (rc < 0 || !c->out)
                    break;   /* cancelled: the daemon is going away */
            }
        }
        TICK_AWAIT(t, tick_timeout(loop, tick_fd_write(c->fd, c->out, c->outlen),
                                   CTL_IDLE), rc);
        free(c->out);
        c->out = NULL;
        if (rc < 0 || c->last || control.closing)
            break;
    }
    tick_link_remove(&c->wait);
    c->verdict = tick_future_unref(c->verdict);
    tick_fd_close(c->fd);
    c->fd = NULL;
    tick_link_remove(&c->link);
    control.nconns--;
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static void conn_free(tick_task *t)
{
    struct ctl_conn *c = tick_container_of(t, struct ctl_conn, task);
    free(c->out);
    free(c);
}

static const tick_task_class conn_class = { .step = conn_step, .free = conn_free };

/* A refusal that needs no task: best effort, never blocks. */
static void refuse(int fd, const char *line)
{
    (void)!send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
    close(fd);
}

static void conn_start(struct tickd_control *ctl, int fd)
{
    struct ucred cr;
    socklen_t crlen = sizeof cr;
    struct ctl_conn *c;
    tick_scope *prev;

    /* The file mode already keeps others out; this holds when someone
     * loosened it (or the directory) too: root and our own user only. */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0 &&
        cr.uid != 0 && cr.uid != geteuid()) {
        tickd_log(TICK_LOG_WARNING, "control socket: refused a connection "
                  "from uid %u (pid %d)", (unsigned)cr.uid, (int)cr.pid);
        refuse(fd, "error permission denied\n");
        return;
    }
    if (ctl->nconns >= TICKD_CONTROL_MAX_CONNS) {
        refuse(fd, "error too many control connections\n");
        return;
    }
    if (!(c = tick__calloc(1, sizeof *c))) {
        refuse(fd, "error out of memory\n");
        return;
    }
    tick_link_init(&c->link);
    tick_link_init(&c->wait);
    prev = tick_scope_enter(ctl->loop, tick_loop_scope(ctl->loop));
    if (tick_fd_open(ctl->loop, fd, &c->fd) < 0) {
        tick_scope_enter(ctl->loop, prev);
        refuse(fd, "error out of memory\n");
        free(c);
        return;
    }
    tick_list_append(&ctl->conns, &c->link);
    ctl->nconns++;
    tick_task_start(ctl->loop, &c->task, "control connection", &conn_class);
    tick_future_unref(&c->task.future);   /* the engine's reference keeps it */
    tick_scope_enter(ctl->loop, prev);
}

static int accept_step(tick_task *t)
{
    struct tickd_control *ctl = tick_container_of(t, struct tickd_control, accept_task);
    intptr_t rc;

    TICK_BEGIN(t);
    while (!ctl->closing) {
        TICK_AWAIT(t, tick_fd_accept(ctl->lfd), rc);
        if (rc == -ECANCELED)
            break;
        if (rc < 0) {
            /* EMFILE is handled by the engine; anything else: breathe */
            tickd_log(TICK_LOG_WARNING, "control socket: accept: %s",
                      strerror((int)-rc));
            TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 100 * TICK_MSEC), rc);
            if (rc == -ECANCELED)
                break;
            continue;
        }
        conn_start(ctl, (int)rc);
    }
    tick_fd_close(ctl->lfd);
    ctl->lfd = NULL;
    ctl->accepting = false;
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class accept_class = { .step = accept_step };

/* ---- the socket file ------------------------------------------------------- */

/* Bind and listen on path; a socket file nobody serves any more is
 * replaced, a live one or any other file is not. The fd, or -errno with
 * why filled in. */
static int make_socket(const char *path, char *why, size_t whylen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    mode_t old;
    int fd, rc;

    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        int probe, err;
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(why, whylen, "exists and is not a socket (not replaced)");
            return -EEXIST;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (probe < 0) {
            err = errno;
            snprintf(why, whylen, "socket: %s", strerror(err));
            return -err;
        }
        rc = connect(probe, (struct sockaddr *)&sa, sizeof sa);
        err = rc < 0 ? errno : 0;
        close(probe);
        if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
            snprintf(why, whylen, "another daemon is serving it");
            return -EADDRINUSE;
        }
        if (err != ECONNREFUSED) {
            snprintf(why, whylen, "cannot tell whether it is in use: %s", strerror(err));
            return -err;
        }
        tickd_log(TICK_LOG_INFO, "control socket %s: replacing a stale socket file", path);
        if (unlink(path) < 0 && errno != ENOENT) {
            err = errno;
            snprintf(why, whylen, "cannot remove the stale socket file: %s", strerror(err));
            return -err;
        }
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, whylen, "socket: %s", strerror(-rc));
        return rc;
    }
    /* 0600 from the start: there is no moment when others could connect
     * (the owner is the service user; root passes anyway) */
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc < 0)
        rc = -errno;
    umask(old);
    if (rc < 0) {
        snprintf(why, whylen, "bind: %s", strerror(-rc));
        close(fd);
        return rc;
    }
    if (listen(fd, TICKD_CONTROL_MAX_CONNS) < 0 || stat(path, &st) < 0) {
        rc = -errno;
        snprintf(why, whylen, "listen: %s", strerror(-rc));
        unlink(path);
        close(fd);
        return rc;
    }
    control.dev = st.st_dev;
    control.ino = st.st_ino;
    return fd;
}

/* Remove the socket file if it is still the one we made. */
static void remove_socket(struct tickd_control *ctl)
{
    struct stat st;

    if (!ctl->bound)
        return;
    ctl->bound = false;
    if (lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
        unlink(ctl->path);
}

int tickd_control_start(struct tickd *d, struct tickd_error *err)
{
    struct tickd_control *ctl = &control;
    const struct tickd_daemon_conf *conf = &d->cfg->d;
    char why[256];
    bool from_env, asked;
    tick_scope *prev;
    int fd, rc;

    ctl->d = d;
    ctl->loop = d->loop;
    tick_handle_init(&ctl->kick, "control reload", reload_kick);
    tick_handle_set_scope(&ctl->kick, tick_loop_scope(d->loop));
    if (!tickd_control_path(conf->control_socket, ctl->path, sizeof ctl->path, &from_env)) {
        tickd_error_set(err, NULL, 0, "control socket: $RUNTIME_DIRECTORY is too long "
                        "for a unix socket path");
        return -1;
    }
    if (!ctl->path[0])
        return 0;   /* control_socket = no */
    asked = conf->control_socket || from_env;
    fd = make_socket(ctl->path, why, sizeof why);
    if (fd < 0) {
        if (!asked) {
            /* the built-in default, outside systemd: a tickd run by hand
             * without /run/tickd simply has no control socket */
            tickd_log(fd == -ENOENT ? TICK_LOG_DEBUG : TICK_LOG_WARNING,
                      "no control socket: %s: %s (set control_socket = PATH)",
                      ctl->path, why);
            return 0;
        }
        if (conf->control_socket)
            tickd_error_set(err, d->cfg->path, conf->control_socket_line,
                            "control_socket %s: %s", ctl->path, why);
        else
            tickd_error_set(err, NULL, 0, "control socket %s ($RUNTIME_DIRECTORY): %s",
                            ctl->path, why);
        return -1;
    }
    ctl->bound = true;
    prev = tick_scope_enter(d->loop, tick_loop_scope(d->loop));
    rc = tick_fd_open(d->loop, fd, &ctl->lfd);
    if (rc == 0) {
        ctl->accepting = true;
        tick_task_start(d->loop, &ctl->accept_task, "control accept", &accept_class);
        tick_future_unref(&ctl->accept_task.future);
    }
    tick_scope_enter(d->loop, prev);
    if (rc < 0) {
        close(fd);
        remove_socket(ctl);
        tickd_error_set(err, NULL, 0, "control socket %s: %s", ctl->path, strerror(-rc));
        return -1;
    }
    tickd_log(TICK_LOG_DEBUG, "control socket %s", ctl->path);
    return 0;
}

void tickd_control_shutdown(struct tickd *d)
{
    struct tickd_control *ctl = &control;

    (void)d;
    if (ctl->closing)
        return;
    ctl->closing = true;
    /* the reloads still waiting never finish: say so */
    answer_all(&ctl->requested, false, "not reloaded: tickd is stopping");
    answer_all(&ctl->waiting, false, "not reloaded: tickd is stopping "
               "(the reload was interrupted)");
    if (ctl->accepting)
        tick_task_cancel(&ctl->accept_task);
    remove_socket(ctl);
    /* idle connections end now; those writing a reply finish it */
    for (tick_link *l = ctl->conns.next; l != &ctl->conns; l = l->next) {
        struct ctl_conn *c = tick_container_of(l, struct ctl_conn, link);
        if (!c->out)
            tick_task_cancel(&c->task);
    }
}

void tickd_control_close(struct tickd *d)
{
    struct tickd_control *ctl = &control;

    tickd_control_shutdown(d);
    if (ctl->loop)
        tick_handle_cancel(&ctl->kick);
    for (tick_link *l = ctl->conns.next; l != &ctl->conns; l = l->next)
        tick_task_cancel(&tick_container_of(l, struct ctl_conn, link)->task);
    if (ctl->accepting)
        tick_task_cancel(&ctl->accept_task);
}
