/*
 * tick/io.h — file descriptors: readiness futures and I/O operations.
 *
 * Wrap a non-blocking fd in a tick_fd once; then await as often as you like.
 * The fd is registered with epoll exactly once, edge-triggered, for
 * EPOLLIN|EPOLLOUT|EPOLLRDHUP, and the engine keeps a readiness cache, so a
 * wait never calls epoll_ctl and an operation on a ready fd completes at once
 * without suspending the task.
 *
 * An echo connection (the task owns the tick_fd; state lives in the struct):
 *
 *     struct echo {
 *         tick_task task;
 *         tick_fd *conn;
 *         char buf[4096];
 *         ssize_t n;
 *     };
 *
 *     static int echo_step(tick_task *t)
 *     {
 *         struct echo *e = tick_container_of(t, struct echo, task);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         for (;;) {
 *             TICK_AWAIT(t, tick_fd_read(e->conn, e->buf, sizeof e->buf), rc);
 *             if (rc <= 0)                 // 0 = EOF, < 0 = error/cancel
 *                 break;
 *             e->n = rc;
 *             TICK_AWAIT(t, tick_fd_write(e->conn, e->buf, (size_t)e->n), rc);
 *             if (rc < 0)
 *                 break;
 *         }
 *         tick_fd_close(e->conn);          // cancels nothing left, closes fd
 *         e->conn = NULL;
 *         TICK_RETURN(t, rc);
 *         TICK_END(t);
 *     }
 *     ...
 *     // after accept: tick_fd_open(loop, newfd, &e->conn); tick_task_start(...)
 *
 * Operations, one pending at a time per side:
 *   read side:  tick_fd_readable, tick_fd_read, tick_fd_accept
 *   write side: tick_fd_writable, tick_fd_write, tick_fd_connect
 * Starting a second one on a busy side gives a future failed with -EBUSY.
 * Every function returning a future gives the caller one reference (which
 * TICK_AWAIT consumes); NULL means -ENOMEM (TICK_AWAIT turns NULL into
 * -ENOMEM). Errors are reported through the future, never as a NULL.
 *
 * Results (tick_future_result, or the TICK_AWAIT output):
 *   readable/writable  the epoll event bits seen (EPOLLIN, EPOLLOUT, ...)
 *   read               bytes read, 0 = end of file
 *   write              len: partial writes are continued until all is
 *                      written (bytes written before an error are lost
 *                      with the error)
 *   accept             the new fd, non-blocking and close-on-exec (accept4);
 *                      the caller owns it (wrap it in its own tick_fd)
 *   connect            0 once connected
 * and errors: the syscall's -errno; -ECANCELED when cancelled or when the
 * tick_fd is closed; -EBADF on a closed tick_fd.
 *
 * Errors and hang-ups never spin: EPOLLERR fails every waiter, now and
 * later, with the socket's pending error (SO_ERROR) or -EPIPE for other
 * fds. After EPOLLHUP, writable waiters fail with -EPIPE; readable waiters
 * get EPOLLIN|EPOLLHUP while data or the EOF remain to be read, -EPIPE when
 * not even that is signalled; read completes with what is left, then 0.
 *
 * Readiness cache: tick_fd_readable/writable complete at once while the
 * cache says ready. The operations above maintain it themselves. If you do
 * your own syscalls after readable/writable, do them until EAGAIN and then
 * call tick_fd_clear(fd, EPOLLIN or EPOLLOUT): with edge triggering no
 * event will come again before the kernel buffer changes, and without the
 * clear the next readable() would complete at once, forever. A short
 * read (fewer bytes than asked) of a stream socket or a pipe also means
 * the buffer is empty: clearing then saves the read() that would only say
 * EAGAIN (tick_fd_read does this itself). Once the peer's EOF has been
 * signalled, clearing EPOLLIN is ignored so the EOF stays readable.
 *
 * Fairness: operations that can complete at once do so, but after 64 such
 * starts on one tick_fd in a tick the next one waits for the next tick, so
 * one busy connection cannot starve the loop.
 *
 * Accept and EMFILE: when the process is out of fds, the accept operation
 * closes a spare fd kept by the loop, accepts and closes the connection
 * (the peer sees it reset), and reopens the spare; if even that fails it
 * retries every 100 ms. It never spins and the operation stays pending.
 *
 * Writes use send(MSG_NOSIGNAL) on sockets; on a pipe a write to a closed
 * reader raises SIGPIPE unless the process ignores it (tickd does).
 *
 * Cancelling an operation (or the task awaiting it) only removes the
 * waiter: the single epoll registration stays, so the next operation costs
 * nothing extra. Bytes a cancelled write had already sent stay sent.
 *
 * Ownership and lifetime: tick_fd_open() returns a tick_fd owned by the
 * caller; tick_fd_close() (or tick_fd_release()) ends that ownership and the
 * tick_fd must not be used afterwards, but futures obtained from it stay
 * valid for whoever still holds a reference (the memory is freed when the
 * last of them goes). Closing cancels pending operations, removes the fd
 * from epoll before closing it, and any of its events still queued in the
 * current epoll batch are dropped, even if the fd number is reused at once.
 * The loop refuses to close (-EBUSY) while a tick_fd is open.
 * Loop-thread-only.
 */
#ifndef TICK_IO_H
#define TICK_IO_H

#include <sys/socket.h>
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_fd tick_fd;

/*
 * Watch fd on loop. fd is made non-blocking if it is not. Allocates the
 * tick_fd (once per fd; operations on it then allocate nothing in the
 * steady state). Returns 0, -EINVAL, -ENOMEM, or epoll's -errno (-EPERM for
 * a regular file, which epoll cannot watch). The fd stays the caller's
 * until tick_fd_close(): do not close it behind the tick_fd's back.
 * Open a listening socket after listen(): a fresh TCP socket reports
 * EPOLLHUP, which would stick. (tick_fd_connect() starts from a clean
 * state, so a socket to be connected may be opened before.)
 */
TICK_API int tick_fd_open(tick_loop *loop, int fd, tick_fd **out);

/* Cancel pending operations (-ECANCELED), EPOLL_CTL_DEL, close(fd), and
 * give up the caller's ownership. Returns close()'s 0 or -errno. NULL ok. */
TICK_API int tick_fd_close(tick_fd *fd);

/* Like tick_fd_close but keeps the fd open and returns it (the caller owns
 * it again), or -EBADF. */
TICK_API int tick_fd_release(tick_fd *fd);

TICK_API int tick_fd_fileno(const tick_fd *fd);
TICK_API tick_loop *tick_fd_loop(const tick_fd *fd);

/* Readiness futures (see above for the cache). */
TICK_API tick_future *tick_fd_readable(tick_fd *fd);
TICK_API tick_future *tick_fd_writable(tick_fd *fd);
/* Forget cached readiness after your own syscall returned EAGAIN (or a
 * short stream read). events: EPOLLIN and/or EPOLLOUT. */
TICK_API void tick_fd_clear(tick_fd *fd, uint32_t events);

/* I/O operations. buf must stay valid until the future completes or is
 * cancelled. */
TICK_API tick_future *tick_fd_read(tick_fd *fd, void *buf, size_t len);
TICK_API tick_future *tick_fd_write(tick_fd *fd, const void *buf, size_t len);
TICK_API tick_future *tick_fd_accept(tick_fd *fd);
/* fd must be a non-blocking socket; addr is copied. */
TICK_API tick_future *tick_fd_connect(tick_fd *fd, const struct sockaddr *addr,
                                      socklen_t addrlen);

#ifdef __cplusplus
}
#endif
#endif /* TICK_IO_H */
