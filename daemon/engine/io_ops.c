/*
 * io_ops.c — the operations of tick/io.h on a tick_fd (io.c is the core).
 *
 * Starting an operation serves it at once from the readiness cache, so a
 * ready fd completes without a suspension or any epoll_ctl; otherwise the
 * next event serves it. Operation futures live in slots embedded in the
 * tick_fd. A slot is free exactly when its future has no reference left
 * (ops->free marks it so); a slot whose finished future is still held (a
 * task keeps the future it last awaited until its next await) is never
 * reset under its holder's feet. Four slots cover the steady state of one
 * reader and one writer, including the one-behind reference a task keeps;
 * beyond that a slot is allocated and freed with its future. Every busy
 * slot holds a reference on the tick_fd.
 *
 * Fairness: after FD_BURST immediate completions in one tick the next
 * operation is deferred to the next resolve phase (the loop's deferred
 * list), so one busy connection cannot starve the loop.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_fd.h"
#include "sources.h"

#define FD_BURST 64                      /* immediate completions per tick */
#define EMFILE_SHED_MAX 64               /* connections shed per service */
#define EMFILE_BACKOFF (100 * TICK_MSEC)

struct tick__io {
    int spare;                           /* /dev/null kept for EMFILE, or -1 */
    uint64_t shed_total;                 /* every fd's sheds, for the log */
    uint64_t shed_logged;                /* shed_total at the last log line */
    uint64_t shed_log_at;                /* tick_now() of that line */
};

/* Shedding is logged, at most once a second, with the count since the
 * last line: a client reset for lack of fds must not be silent, and a
 * flood of them must not flood the log. */
static void shed_log(tick_fd *fd)
{
    struct tick__io *io = fd->loop->io;
    uint64_t now = tick_now(fd->loop);

    if (io->shed_logged && now - io->shed_log_at < TICK_SEC)
        return;
    tick__log(4, "out of file descriptors (EMFILE): shed %llu connection(s) on fd %d "
              "(%llu in all); raise LimitNOFILE or lower max_conns",
              (unsigned long long)(io->shed_total - io->shed_logged), fd->w.fd,
              (unsigned long long)io->shed_total);
    io->shed_logged = io->shed_total;
    io->shed_log_at = now;
}

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

static void op_free(tick_future *f)
{
    fdop *op = tick_container_of(f, fdop, fut);
    tick_fd *fd = op->owner;

    if (op->heap)
        free(op);
    else
        op->busy = false;
    tick__fd_unref(fd);
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

static struct tick__io *io_state(tick_loop *loop)
{
    if (!loop->io) {
        struct tick__io *io = tick__malloc(sizeof *io);
        if (!io)
            return NULL;
        *io = (struct tick__io){ .spare = open("/dev/null", O_RDONLY | O_CLOEXEC) };
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

/* What one emfile_shed() did. */
enum shed_result {
    SHED_ONE,          /* one connection accepted and dropped */
    SHED_DRAINED,      /* the backlog is empty: wait for the next edge */
    SHED_NO_SPARE,     /* no spare fd to give up: back off, retry later */
    SHED_QUOTA,        /* shed EMFILE_SHED_MAX this service: next tick */
};

/*
 * Out of fds: close the spare, accept the connection and drop it, reopen
 * the spare (libuv's trick).
 */
static enum shed_result emfile_shed(tick_fd *fd)
{
    struct tick__io *io = fd->loop->io;
    int conn, e;

    if (!io || io->spare < 0)
        return SHED_NO_SPARE;
    close(io->spare);
    conn = accept4(fd->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    e = errno;
    if (conn >= 0)
        close(conn);
    io->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (conn >= 0) {
        fd->shed++;
        io->shed_total++;
        shed_log(fd);
        return SHED_ONE;
    }
    if (e == EAGAIN || e == EWOULDBLOCK) {
        fd->ready &= ~(uint32_t)EPOLLIN;
        return SHED_DRAINED;
    }
    return SHED_NO_SPARE;
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
            enum shed_result r = shed < EMFILE_SHED_MAX ? emfile_shed(fd) : SHED_QUOTA;
            switch (r) {
            case SHED_ONE:
                shed++;
                continue;
            case SHED_DRAINED:
                return;
            case SHED_QUOTA:          /* shed enough this tick: never spin */
                tick__defer(fd->loop, &fd->again);
                return;
            case SHED_NO_SPARE:       /* nothing to give up: back off */
                tick_call_later(fd->loop, &fd->backoff, EMFILE_BACKOFF);
                return;
            }
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
            op_done(&fd->rd, tick__fd_events(fd), 0);
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
        op_done(&fd->wr, tick__fd_events(fd), 0);
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

void tick__fd_ops_service(tick_fd *fd)
{
    fd->refs++;                          /* completing may drop the last slot */
    service_rd(fd);
    service_wr(fd);
    tick__fd_unref(fd);
}

static void fd_again(tick__deferred *d)
{
    tick_fd *fd = tick_container_of(d, tick_fd, again);

    if (fd->open)
        tick__fd_ops_service(fd);
    if (fd->open && fd->hook)            /* a stream over its burst */
        fd->hook(fd->hook_user);
}

static void fd_backoff(tick_handle *h)
{
    tick_fd *fd = tick_container_of(h, tick_fd, backoff.handle);

    if (fd->open)
        tick__fd_ops_service(fd);
}

static const tick_handle_class backoff_cls = { fd_backoff, "fd_backoff" };

void tick__fd_ops_init(tick_fd *fd)
{
    fd->burst_tick = UINT64_MAX;
    tick__deferred_init(&fd->again, fd_again);
    tick__timer_init_resolver(&fd->backoff, "fd emfile backoff", &backoff_cls);
}

void tick__fd_ops_stop(tick_fd *fd)
{
    tick__defer_cancel(&fd->again);
    tick_timer_stop(fd->loop, &fd->backoff);
}

void tick__fd_ops_cancel(tick_fd *fd)
{
    fd->refs++;                          /* completing may drop the last slot */
    if (fd->rd)
        op_done(&fd->rd, 0, -ECANCELED);
    if (fd->wr)
        op_done(&fd->wr, 0, -ECANCELED);
    tick__fd_unref(fd);
}

static fdop *op_get(tick_fd *fd, enum op_kind kind)
{
    fdop *op = NULL;

    for (unsigned i = 0; i < fd->nslots; i++) {
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
    tick__fd_ops_service(fd);
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
