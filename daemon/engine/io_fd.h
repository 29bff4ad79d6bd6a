/*
 * io_fd.h — a tick_fd's layout, shared by its two halves (not installed):
 *   io.c      the fd core: the one epoll watch, the readiness cache, the
 *             sticky hang-up and error state, open, close and the scope
 *             hooks;
 *   io_ops.c  the operations on it: read, write, accept (with the EMFILE
 *             shedding), connect, the op slots and the burst limit.
 * The core calls the operations only through the four tick__fd_ops_*
 * functions below; the operations read the core's state directly.
 */
#ifndef TICK_ENGINE_IO_FD_H
#define TICK_ENGINE_IO_FD_H

#include "tick/io.h"
#include "internal.h"

#define FD_SLOTS 4                       /* a tick_fd_open()'s slots */

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
    uint8_t nslots;                      /* see slots */
    uint64_t shed;                       /* connections shed for EMFILE */
    /* An engine-internal observer (a tick_stream): called in the resolve
     * phase after each epoll event, once the operations were served, and
     * when `again` runs (the observer may defer itself with it, and use
     * burst_tick/burst, when the tick_fd has no operations of its own).
     * It may only do its own syscalls and complete futures. */
    void (*hook)(void *user);
    void *hook_user;
    /* Operation slots: FD_SLOTS for tick_fd_open(); none for a tick_fd
     * whose owner does its own syscalls (a tick_stream): its rare
     * operations take the allocated path. */
    fdop slots[];
};

/* What a readable/writable completes with: the cached events. */
static inline uint32_t tick__fd_events(const tick_fd *fd)
{
    return fd->ready | (fd->hup ? EPOLLHUP : 0) | (fd->rdhup ? EPOLLRDHUP : 0);
}

/* io.c: tick_fd_open() with nslots embedded operation slots. */
TICK_HIDDEN int tick__fd_open_slots(tick_loop *loop, int fd, unsigned nslots, tick_fd **out);
/* io.c: drop a reference; the last one frees the tick_fd. */
TICK_HIDDEN void tick__fd_unref(tick_fd *fd);

/* io_ops.c, called by the core: */
/* set up the operations' state of a new tick_fd */
TICK_HIDDEN void tick__fd_ops_init(tick_fd *fd);
/* serve the pending operation of each side from the readiness cache */
TICK_HIDDEN void tick__fd_ops_service(tick_fd *fd);
/* fail the pending operations with -ECANCELED */
TICK_HIDDEN void tick__fd_ops_cancel(tick_fd *fd);
/* the fd is leaving epoll: nothing may serve it later */
TICK_HIDDEN void tick__fd_ops_stop(tick_fd *fd);

/* io_ops.c: connections shed for EMFILE on a listening tick_fd so far. */
static inline uint64_t tick__fd_shed_count(const tick_fd *fd) { return fd->shed; }

#endif
