/*
 * io.c — the fd core of tick/io.h: one tick_fd per fd, one edge-triggered
 * epoll registration for its whole life. Events only update the readiness
 * cache and the sticky hang-up and error state, then let the operations
 * (io_ops.c) serve the pending operation of each side. Closing cancels
 * them, leaves epoll before close(), and ends the owner's reference; the
 * memory lives on while a future of it is referenced (io_ops.c's slots
 * each hold a reference on the tick_fd).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_fd.h"

void tick__fd_unref(tick_fd *fd)
{
    assert(fd->refs > 0);
    if (--fd->refs == 0)
        free(fd);
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
    tick__fd_ops_service(fd);
    if (fd->hook && fd->open)
        fd->hook(fd->hook_user);
}

int tick_fd_open(tick_loop *loop, int fd, tick_fd **out)
{
    return tick__fd_open_slots(loop, fd, FD_SLOTS, out);
}

int tick__fd_open_slots(tick_loop *loop, int fd, unsigned nslots, tick_fd **out)
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
    f = tick__calloc(1, sizeof *f + nslots * sizeof f->slots[0]);
    if (!f)
        return -ENOMEM;
    f->nslots = (uint8_t)nslots;
    f->loop = loop;
    f->refs = 1;
    f->open = true;
    f->is_sock = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    struct stat st;
    f->drains_on_short_read = f->is_sock ? type == SOCK_STREAM
                                         : fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
    f->w.on_events = fd_on_events;
    tick__fd_ops_init(f);
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
    tick__fd_ops_stop(fd);
    tick__watch_del(fd->loop, &fd->w);
    tick__fd_ops_cancel(fd);             /* the owner's ref remains */
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
    tick__fd_unref(fd);
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
    tick__fd_unref(fd);
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
        tick__fd_unref(fd);
    return raw;
}

/* ---- scope hooks (scope.c) ---- */

/* Cancel: fail the pending operations; the fd stays open one more tick
 * for the owner's cleanup to close it itself. */
void tick__fd_scope_cancel(tick__source *src)
{
    tick__fd_ops_cancel(tick_container_of(src, tick_fd, src));
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
    tick__fd_ops_stop(fd);
    tick__watch_del(fd->loop, &fd->w);
    tick__fd_ops_cancel(fd);
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
