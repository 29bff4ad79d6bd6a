/*
 * io.c — fd readiness and I/O operations (tick/io.h).
 *
 * One tick_fd per fd, one edge-triggered epoll registration for its whole
 * life. Events only update a readiness cache and service the (at most one)
 * pending operation of each side; starting an operation services it at
 * once, so a ready fd completes without a suspension or any epoll_ctl.
 *
 * Operation futures live in slots embedded in the tick_fd. A slot is free
 * exactly when its future has no reference left (ops->free marks it so);
 * a slot whose finished future is still held (a task keeps the future it
 * last awaited until its next await) is never reset under its holder's
 * feet. Four slots cover the steady state of one reader and one writer,
 * including the one-behind reference a task keeps; beyond that a slot is
 * allocated and freed with its future. Every busy slot holds a reference
 * on the tick_fd, so the memory outlives tick_fd_close() as long as a
 * future of it is referenced.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tick/io.h"
#include "internal.h"
#include "sources.h"

#define FD_SLOTS 4
#define FD_BURST 64                      /* immediate completions per tick */
#define EMFILE_SHED_MAX 64               /* connections shed per service */
#define EMFILE_BACKOFF (100 * TICK_MSEC)

enum op_kind { OP_READABLE, OP_WRITABLE, OP_READ, OP_WRITE, OP_ACCEPT, OP_CONNECT };

typedef struct fdop {
    tick_future fut;
    tick_fd *owner;
    void *buf;
    size_t len, done;
    uint8_t kind;
    bool busy;                           /* handed out: fut has references */
    bool heap;                           /* allocated beyond the slots */
} fdop;

struct tick__io {
    int spare;                           /* /dev/null kept for EMFILE, or -1 */
};

struct tick_fd {
    tick__watch w;
    tick_loop *loop;
    uint32_t refs;                       /* owner (until close) + busy slots */
    uint32_t ready;                      /* cached EPOLLIN | EPOLLOUT */
    int err;                             /* sticky error after EPOLLERR */
    bool hup, rdhup, is_sock, open;
    bool reaped;                         /* closed by its scope's cancel */
    bool drains_on_short_read;           /* stream socket or pipe */
    fdop *rd, *wr;                       /* the pending op of each side */
    tick__source src;                    /* membership of its scope */
    tick__deferred again;                /* service next tick (burst, shed) */
    tick_timer backoff;                  /* EMFILE without a spare: retry */
    uint64_t burst_tick;
    unsigned burst;
    fdop slots[FD_SLOTS];
};

static void op_free(tick_future *f);
static bool op_cancel(tick_future *f);

static const tick_future_ops op_ops[] = {
    [OP_READABLE] = { "fd_readable", op_free, op_cancel },
    [OP_WRITABLE] = { "fd_writable", op_free, op_cancel },
    [OP_READ]     = { "fd_read", op_free, op_cancel },
    [OP_WRITE]    = { "fd_write", op_free, op_cancel },
    [OP_ACCEPT]   = { "fd_accept", op_free, op_cancel },
    [OP_CONNECT]  = { "fd_connect", op_free, op_cancel },
};

static void fd_unref(tick_fd *fd)
{
    assert(fd->refs > 0);
    if (--fd->refs == 0)
        free(fd);
}

static void op_free(tick_future *f)
{
    fdop *op = tick_container_of(f, fdop, fut);
    tick_fd *fd = op->owner;

    if (op->heap)
        free(op);
    else
        op->busy = false;
    fd_unref(fd);
}

static fdop **op_side(tick_fd *fd, fdop *op)
{
    if (fd->rd == op)
        return &fd->rd;
    if (fd->wr == op)
        return &fd->wr;
    return NULL;
}

/* Someone cancelled a pending op: forget the waiter and drop the engine's
 * reference. The epoll registration stays as it is. */
static bool op_cancel(tick_future *f)
{
    fdop *op = tick_container_of(f, fdop, fut);
    tick_fd *fd = op->owner;
    fdop **side = op_side(fd, op);

    if (side) {
        *side = NULL;
        /* the canceller holds a reference, so this is not the last one */
        assert(f->refs > 1);
        tick__pending_settle(fd->loop);
        tick_future_unref(f);
    }
    return true;
}

/* Complete the pending op of a side and drop the engine's reference. */
static void op_done(fdop **side, intptr_t value, int err)
{
    fdop *op = *side;

    *side = NULL;
    tick__pending_complete(&op->fut, value, err);
}

/* The error to report after EPOLLERR: the socket's pending error, or
 * -EPIPE (a pipe whose reader left, or an error someone else consumed). */
static int fd_error(tick_fd *fd)
{
    int e = 0;
    socklen_t len = sizeof e;

    if (fd->is_sock && getsockopt(fd->w.fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e)
        return -e;
    return -EPIPE;
}

static uint32_t fd_events(const tick_fd *fd)
{
    return fd->ready | (fd->hup ? EPOLLHUP : 0) | (fd->rdhup ? EPOLLRDHUP : 0);
}

static struct tick__io *io_state(tick_loop *loop)
{
    if (!loop->io) {
        struct tick__io *io = tick__malloc(sizeof *io);
        if (!io)
            return NULL;
        io->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        loop->io = io;
    }
    return loop->io;
}

void tick__io_shutdown(tick_loop *loop)
{
    struct tick__io *io = loop->io;

    if (!io)
        return;
    if (io->spare >= 0)
        close(io->spare);
    free(io);
    loop->io = NULL;
}

/*
 * Out of fds: close the spare, accept the connection and drop it, reopen
 * the spare (libuv's trick). Returns 1 if one connection was shed, 0 if
 * the backlog is empty, -1 if there is no spare to give up.
 */
static int emfile_shed(tick_fd *fd)
{
    struct tick__io *io = fd->loop->io;
    int conn, e;

    if (!io || io->spare < 0)
        return -1;
    close(io->spare);
    conn = accept4(fd->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    e = errno;
    if (conn >= 0)
        close(conn);
    io->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (conn >= 0)
        return 1;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        fd->ready &= ~(uint32_t)EPOLLIN;
        return 0;
    }
    return -1;
}

static void service_accept(tick_fd *fd)
{
    for (int shed = 0;;) {
        int conn = accept4(fd->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn >= 0) {
            op_done(&fd->rd, conn, 0);
            return;
        }
        int e = errno;
        switch (e) {
        case EINTR:
        case ECONNABORTED:               /* that one connection is gone */
        case EPROTO:
            continue;
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            fd->ready &= ~(uint32_t)EPOLLIN;
            return;
        case EMFILE:
        case ENFILE: {
            int r = shed < EMFILE_SHED_MAX ? emfile_shed(fd) : -2;
            if (r == 1) {
                shed++;
                continue;
            }
            if (r == 0)
                return;
            /* no spare, or shed enough this tick: retry later, never spin */
            if (r == -2)
                tick__defer(fd->loop, &fd->again);
            else
                tick_call_later(fd->loop, &fd->backoff, EMFILE_BACKOFF);
            return;
        }
        default:
            op_done(&fd->rd, 0, -e);
            return;
        }
    }
}

static void service_rd(tick_fd *fd)
{
    fdop *op = fd->rd;

    if (!op)
        return;
    if (fd->err) {
        op_done(&fd->rd, 0, fd->err);
        return;
    }
    switch (op->kind) {
    case OP_READABLE:
        if (fd->ready & EPOLLIN)
            op_done(&fd->rd, fd_events(fd), 0);
        else if (fd->hup)
            op_done(&fd->rd, 0, -EPIPE);
        return;
    case OP_READ:
        /* after a hang-up the read returns what is left, then 0 */
        if (!(fd->ready & EPOLLIN) && !fd->hup)
            return;
        for (;;) {
            ssize_t n = read(fd->w.fd, op->buf, op->len);
            if (n >= 0) {
                /* A short read of a stream socket or pipe emptied the
                 * kernel buffer: forget the readiness now instead of
                 * learning it from one more read() that says EAGAIN (that
                 * read doubled the syscalls of a ping-pong server). Data
                 * arriving after this read raises a new edge. An EOF
                 * already signalled keeps the fd readable. */
                if (n > 0 && (size_t)n < op->len && fd->drains_on_short_read &&
                    !fd->rdhup && !fd->hup)
                    fd->ready &= ~(uint32_t)EPOLLIN;
                op_done(&fd->rd, n, 0);
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                fd->ready &= ~(uint32_t)EPOLLIN;
                if (fd->hup)
                    op_done(&fd->rd, 0, 0);
            } else {
                op_done(&fd->rd, 0, -errno);
            }
            return;
        }
    case OP_ACCEPT:
        if (fd->ready & EPOLLIN)
            service_accept(fd);
        return;
    default:
        assert(!"write-side op on the read side");
    }
}

static void service_wr(tick_fd *fd)
{
    fdop *op = fd->wr;

    if (!op)
        return;
    if (fd->err) {
        op_done(&fd->wr, 0, fd->err);
        return;
    }
    if (!(fd->ready & EPOLLOUT)) {
        if (fd->hup)
            op_done(&fd->wr, 0, -EPIPE);
        return;
    }
    switch (op->kind) {
    case OP_WRITABLE:
        op_done(&fd->wr, fd_events(fd), 0);
        return;
    case OP_WRITE:
        while (op->done < op->len) {
            const char *p = (const char *)op->buf + op->done;
            size_t left = op->len - op->done;
            ssize_t n = fd->is_sock ? send(fd->w.fd, p, left, MSG_NOSIGNAL)
                                    : write(fd->w.fd, p, left);
            if (n >= 0) {
                op->done += (size_t)n;
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                fd->ready &= ~(uint32_t)EPOLLOUT;
                if (fd->hup)
                    op_done(&fd->wr, 0, -EPIPE);
                return;                  /* the next EPOLLOUT edge resumes */
            } else {
                op_done(&fd->wr, 0, -errno);
                return;
            }
        }
        op_done(&fd->wr, (intptr_t)op->len, 0);
        return;
    case OP_CONNECT: {
        int e = 0;
        socklen_t len = sizeof e;
        if (getsockopt(fd->w.fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
            e = errno;
        op_done(&fd->wr, 0, -e);
        return;
    }
    default:
        assert(!"read-side op on the write side");
    }
}

static void fd_service(tick_fd *fd)
{
    fd->refs++;                          /* completing may drop the last slot */
    service_rd(fd);
    service_wr(fd);
    fd_unref(fd);
}

static void fd_on_events(tick__watch *w, uint32_t ev)
{
    tick_fd *fd = tick_container_of(w, tick_fd, w);

    if (ev & (EPOLLIN | EPOLLRDHUP))
        fd->ready |= EPOLLIN;
    if (ev & EPOLLRDHUP)
        fd->rdhup = true;
    if (ev & EPOLLOUT)
        fd->ready |= EPOLLOUT;
    if (ev & EPOLLHUP)
        fd->hup = true;
    if ((ev & EPOLLERR) && !fd->err)
        fd->err = fd_error(fd);
    fd_service(fd);
}

static void fd_again(tick__deferred *d)
{
    tick_fd *fd = tick_container_of(d, tick_fd, again);

    if (fd->open)
        fd_service(fd);
}

static void fd_backoff(tick_handle *h)
{
    tick_fd *fd = tick_container_of(h, tick_fd, backoff.handle);

    if (fd->open)
        fd_service(fd);
}

static const tick_handle_class backoff_cls = { fd_backoff, "fd_backoff" };

int tick_fd_open(tick_loop *loop, int fd, tick_fd **out)
{
    int fl, type, rc;
    socklen_t len = sizeof type;
    tick_fd *f;

    if (!loop || fd < 0 || !out)
        return -EINVAL;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    f = tick__calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->loop = loop;
    f->refs = 1;
    f->open = true;
    f->is_sock = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    struct stat st;
    f->drains_on_short_read = f->is_sock ? type == SOCK_STREAM
                                         : fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
    f->w.on_events = fd_on_events;
    f->burst_tick = UINT64_MAX;
    tick__deferred_init(&f->again, fd_again);
    tick__timer_init_resolver(&f->backoff, "fd emfile backoff", &backoff_cls);
    rc = tick__watch_add(loop, &f->w, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    if (rc < 0) {
        free(f);
        return rc;
    }
    tick__source_arm(loop, &f->src, TICK_SCOPE_FD, "fd", NULL);
    *out = f;
    return 0;
}

/* Cancel waiters, leave epoll (before any close), end the owner's ref. */
static int fd_detach(tick_fd *fd)
{
    int raw = fd->w.fd;

    if (!fd->open)
        return -EBADF;
    fd->open = false;
    tick__source_done(&fd->src);
    tick__defer_cancel(&fd->again);
    tick_timer_stop(fd->loop, &fd->backoff);
    tick__watch_del(fd->loop, &fd->w);
    fd->refs++;
    if (fd->rd)
        op_done(&fd->rd, 0, -ECANCELED);
    if (fd->wr)
        op_done(&fd->wr, 0, -ECANCELED);
    fd->refs--;                          /* the owner's ref remains */
    return raw;
}

/* The owner's close of a tick_fd its scope already closed: just end the
 * ownership (the scope no longer frees it). */
static bool fd_unreap(tick_fd *fd)
{
    if (!fd->reaped)
        return false;
    fd->reaped = false;
    tick__source_done(&fd->src);
    fd_unref(fd);
    return true;
}

int tick_fd_close(tick_fd *fd)
{
    int raw, rc = 0;

    if (!fd)
        return 0;
    if (fd_unreap(fd))
        return 0;
    raw = fd_detach(fd);
    if (raw < 0)
        return raw;
    if (close(raw) < 0)
        rc = -errno;
    fd_unref(fd);
    return rc;
}

int tick_fd_release(tick_fd *fd)
{
    int raw;

    if (!fd)
        return -EBADF;
    if (fd_unreap(fd))
        return -EBADF;               /* the scope closed it: nothing to return */
    raw = fd_detach(fd);
    if (raw >= 0)
        fd_unref(fd);
    return raw;
}

/* ---- scope hooks (scope.c) ---- */

/* Cancel: fail the pending operations; the fd stays open one more tick
 * for the owner's cleanup to close it itself. */
void tick__fd_scope_cancel(tick__source *src)
{
    tick_fd *fd = tick_container_of(src, tick_fd, src);
    fd->refs++;
    if (fd->rd)
        op_done(&fd->rd, 0, -ECANCELED);
    if (fd->wr)
        op_done(&fd->wr, 0, -ECANCELED);
    fd->refs--;
}

/* The tick after a cancel: close what the owner left open. The tick_fd
 * memory stays for the owner's tick_fd_close() (or the scope's close). */
void tick__fd_scope_close(tick__source *src)
{
    tick_fd *fd = tick_container_of(src, tick_fd, src);
    tick_scope *s = src->scope;
    if (!fd->open)
        return;
    int raw = fd->w.fd;
    fd->open = false;
    tick__defer_cancel(&fd->again);
    tick_timer_stop(fd->loop, &fd->backoff);
    tick__watch_del(fd->loop, &fd->w);
    tick__fd_scope_cancel(src);
    close(raw);
    fd->reaped = true;
    src->scope = s;
    tick__source_orphan(src);
    tick__log(4, "closed fd %d left open after its scope was cancelled", raw);
}

/* Scope close: the owner never released a reaped tick_fd. */
void tick__fd_scope_free(tick__source *src)
{
    tick_fd *fd = tick_container_of(src, tick_fd, src);
    assert(fd->reaped);
    fd_unreap(fd);
}

int tick_fd_fileno(const tick_fd *fd)
{
    return fd->open ? fd->w.fd : -EBADF;
}

tick_loop *tick_fd_loop(const tick_fd *fd)
{
    return fd->loop;
}

void tick_fd_clear(tick_fd *fd, uint32_t events)
{
    /* after the peer's FIN no new edge will come: the EOF must stay
     * readable, or a reader that clears after a short read would wait
     * forever for it */
    if (fd->rdhup || fd->hup)
        events &= ~(uint32_t)EPOLLIN;
    fd->ready &= ~(events & (EPOLLIN | EPOLLOUT));
}

static fdop *op_get(tick_fd *fd, enum op_kind kind)
{
    fdop *op = NULL;

    for (int i = 0; i < FD_SLOTS; i++) {
        if (!fd->slots[i].busy) {
            op = &fd->slots[i];
            op->heap = false;
            break;
        }
    }
    if (!op) {
        op = tick__malloc(sizeof *op);
        if (!op)
            return NULL;
        op->heap = true;
    }
    op->busy = true;
    op->owner = fd;
    op->buf = NULL;
    op->len = op->done = 0;
    op->kind = (uint8_t)kind;
    tick_future_init(&op->fut, fd->loop, &op_ops[kind]);
    fd->refs++;
    return op;
}

/* Get an op for a side; a future already failed if the side is taken. */
static fdop *op_begin(tick_fd *fd, enum op_kind kind, fdop ***sidep)
{
    bool rd = kind == OP_READABLE || kind == OP_READ || kind == OP_ACCEPT;
    fdop **side = rd ? &fd->rd : &fd->wr;
    fdop *op = op_get(fd, kind);

    *sidep = NULL;
    if (!op)
        return NULL;
    if (!fd->open)
        tick_future_set_error(&op->fut, -EBADF);
    else if (*side)
        tick_future_set_error(&op->fut, -EBUSY);
    else
        *sidep = side;
    return op;
}

/* Make op the pending op of its side and try it now (or next tick, when
 * this fd has completed too many at once in this tick). */
static tick_future *op_arm(tick_fd *fd, fdop *op, fdop **side)
{
    uint64_t now_tick = tick_loop_tick(fd->loop);

    *side = op;
    tick__pending_arm(fd->loop, &op->fut);   /* until completion */
    if (fd->burst_tick != now_tick) {
        fd->burst_tick = now_tick;
        fd->burst = 0;
    }
    /* Over the burst: serve it at the start of the next resolve phase (an
     * edge-triggered fd that is already ready sends no event that would
     * ever serve it later). */
    if (++fd->burst > FD_BURST) {
        tick__defer(fd->loop, &fd->again);
        return &op->fut;
    }
    fd_service(fd);
    return &op->fut;
}

tick_future *tick_fd_readable(tick_fd *fd)
{
    fdop **side, *op = op_begin(fd, OP_READABLE, &side);

    return op && side ? op_arm(fd, op, side) : op ? &op->fut : NULL;
}

tick_future *tick_fd_writable(tick_fd *fd)
{
    fdop **side, *op = op_begin(fd, OP_WRITABLE, &side);

    return op && side ? op_arm(fd, op, side) : op ? &op->fut : NULL;
}

tick_future *tick_fd_read(tick_fd *fd, void *buf, size_t len)
{
    fdop **side, *op = op_begin(fd, OP_READ, &side);

    if (!op || !side)
        return op ? &op->fut : NULL;
    op->buf = buf;
    op->len = len;
    return op_arm(fd, op, side);
}

tick_future *tick_fd_write(tick_fd *fd, const void *buf, size_t len)
{
    fdop **side, *op = op_begin(fd, OP_WRITE, &side);

    if (!op || !side)
        return op ? &op->fut : NULL;
    op->buf = (void *)(uintptr_t)buf;
    op->len = len;
    return op_arm(fd, op, side);
}

tick_future *tick_fd_accept(tick_fd *fd)
{
    fdop **side, *op = op_begin(fd, OP_ACCEPT, &side);

    if (!op || !side)
        return op ? &op->fut : NULL;
    io_state(fd->loop);                  /* the spare fd, made before EMFILE */
    return op_arm(fd, op, side);
}

tick_future *tick_fd_connect(tick_fd *fd, const struct sockaddr *addr,
                             socklen_t addrlen)
{
    fdop **side, *op = op_begin(fd, OP_CONNECT, &side);
    int rc;

    if (!op || !side)
        return op ? &op->fut : NULL;
    /* a new connection: forget the hang-up an unconnected socket reports */
    fd->hup = fd->rdhup = false;
    fd->err = 0;
    do
        rc = connect(fd->w.fd, addr, addrlen);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        tick_future_set_result(&op->fut, 0);
    } else if (errno != EINPROGRESS) {
        tick_future_set_error(&op->fut, -errno);
    } else {
        /* the writable edge that ends the handshake has not come yet */
        fd->ready &= ~(uint32_t)EPOLLOUT;
        op_arm(fd, op, side);
    }
    return &op->fut;
}
