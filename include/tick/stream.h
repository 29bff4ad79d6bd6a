/*
 * tick/stream.h — a buffered byte stream over a socket, for protocol code.
 *
 * A tick_stream owns a connected non-blocking socket (or a pipe) and
 * gives it a read buffer and a write queue. Reads complete with a count
 * of bytes ready in the buffer; the bytes are then looked at in place
 * (tick_stream_peek) and released (tick_stream_consume): a parser never
 * copies. Writes are copied into a queue and never refused for being
 * busy; a task that produces faster than the peer reads awaits
 * tick_stream_drain() (backpressure).
 *
 * A line-echo connection (the task owns the stream; state lives in the
 * struct):
 *
 *     struct lines {
 *         tick_task task;
 *         tick_stream *s;
 *     };
 *
 *     static int lines_step(tick_task *t)
 *     {
 *         struct lines *l = tick_container_of(t, struct lines, task);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         for (;;) {
 *             TICK_AWAIT(t, tick_stream_read_line(l->s, 1024), rc);
 *             if (rc <= 0)             // 0 = EOF; < 0 error, -EMSGSIZE...
 *                 break;
 *             size_t n = (size_t)rc, len;
 *             const char *line = tick_stream_peek(l->s, &len);
 *             rc = tick_stream_write(l->s, line, n);    // queued, copied
 *             tick_stream_consume(l->s, n);
 *             if (rc < 0)
 *                 break;
 *             TICK_AWAIT(t, tick_stream_drain(l->s), rc);      // backpressure
 *             if (rc < 0)
 *                 break;
 *         }
 *         TICK_AWAIT(t, tick_stream_flush(l->s), rc);          // all sent
 *         tick_stream_close(l->s);
 *         l->s = NULL;
 *         TICK_RETURN(t, 0);
 *         TICK_END(t);
 *     }
 *     ...
 *     // after accept: tick_stream_open(loop, newfd, &l->s); tick_task_start(...)
 *
 * Reading (one read pending at a time: a second gives a future failed
 * with -EBUSY). Every read completes with the number of bytes now in the
 * buffer that make up the item asked for, counted from the start of
 * tick_stream_peek(); nothing is consumed for you:
 *   read_some           what is buffered (reading first if nothing is): > 0
 *   read_line(max)      the length of the first line, '\n' included
 *   read_until(d, dl, max)  the length up to and including delimiter d
 *   read_exact(n)       n
 * and at the peer's end of stream: 0 when the buffer is empty; -EPIPE
 * from line/until/exact when a partial item is buffered (read_some then
 * gives the partial bytes first). A line or item longer than max gives
 * -EMSGSIZE (its bytes stay buffered: consume them or close). Other
 * errors: the recv() -errno (-ECONNRESET...), sticky once seen after the
 * buffered bytes; -ETIMEDOUT after the idle timeout; -ECANCELED when
 * cancelled or closed; -EBADF on a closed stream; -ENOMEM.
 * A read that is satisfied by what is buffered completes at once (an
 * await does not suspend); after 64 such completions on one stream in a
 * tick, the next waits for the next tick, so one fast peer cannot starve
 * the loop.
 *
 * Buffers: the read buffer is a 16 KiB buffer from a loop-wide pool,
 * taken only once the socket is readable and given back as soon as
 * everything buffered was consumed, so a connection waiting for its next
 * request holds no buffer. An item longer than 16 KiB (read_line/until
 * with a larger max, read_exact of more) grows the buffer into a heap
 * allocation of up to max bytes (at most 1 GiB: a larger max is read as
 * 1 GiB, read_exact of more gives -EMSGSIZE). The write queue is a chain of pool
 * buffers, given back as they are sent.
 *
 * Writing: tick_stream_write/writev copy the bytes: when nothing is
 * queued they are sent at once with one send(), and what the socket does
 * not take is queued and sent (with one writev of the whole queue) when
 * the socket becomes writable again, in the resolve phase, without any
 * task running. They return 0, or -errno: a send error (-EPIPE,
 * -ECONNRESET...) is sticky and every later write, flush and drain
 * reports it (the queue is dropped); -ENOBUFS when the queue would exceed
 * the hard cap (16 x the high-water mark, 1 MiB by default: a task that
 * ignores backpressure gets this instead of unbounded memory); -ENOMEM;
 * -EBADF on a closed stream. Writes never give -EBUSY.
 *   tick_stream_flush   a future done (0) when the queue is empty
 *   tick_stream_drain   a future done (0) when the queue is at or under
 *                       the high-water mark (64 KiB by default)
 * One flush or drain pending at a time (a second: -EBUSY).
 *
 * Idle timeout (tick_stream_set_idle_timeout): a read that waits with no
 * byte arriving for longer fails with -ETIMEDOUT. One timer per stream
 * (allocated by the first call), re-armed lazily (the arrival of bytes
 * only records the time), so a busy stream costs no timer operation per
 * read.
 *
 * Accounting: bytes received and sent are added to the bytes_in and
 * bytes_out of the scope current at tick_stream_open() (scope.h), which
 * must outlive the stream. The high-water mark is at most 64 MiB.
 *
 * Ownership and lifetime: tick_stream_open() takes over the fd on
 * success (the stream closes it); tick_stream_close() closes it, drops
 * the unsent queue (flush first if it matters), cancels pending reads
 * and flushes (-ECANCELED) and ends the caller's ownership; futures
 * obtained from the stream stay valid for whoever still holds them. The
 * stream's tick_fd belongs to the scope current at open, like any
 * tick_fd. Loop-thread-only.
 */
#ifndef TICK_STREAM_H
#define TICK_STREAM_H

#include <sys/uio.h>
#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_stream tick_stream;

/* Wrap fd (a connected socket or a pipe; made non-blocking). 0 and *out,
 * or -EINVAL, -ENOMEM, or tick_fd_open()'s error: then fd is still the
 * caller's. */
TICK_API int tick_stream_open(tick_loop *loop, int fd, tick_stream **out);
/* Close (see above). Returns close()'s 0 or -errno. NULL ok. */
TICK_API int tick_stream_close(tick_stream *s);

TICK_API int tick_stream_fileno(const tick_stream *s);
TICK_API tick_loop *tick_stream_loop(const tick_stream *s);

/* Reads (see above for results). */
TICK_API tick_future *tick_stream_read_some(tick_stream *s);
TICK_API tick_future *tick_stream_read_line(tick_stream *s, size_t max);
TICK_API tick_future *tick_stream_read_until(tick_stream *s, const void *delim,
                                             size_t delim_len, size_t max);
TICK_API tick_future *tick_stream_read_exact(tick_stream *s, size_t n);

/* The buffered bytes (NULL and *len 0 when none); valid until the next
 * read, consume or close. */
TICK_API const void *tick_stream_peek(const tick_stream *s, size_t *len);
/* Release the first n buffered bytes (at most what is buffered). */
TICK_API void tick_stream_consume(tick_stream *s, size_t n);

/* Writes (see above). delim_len of read_until: 1..8. */
TICK_API int tick_stream_write(tick_stream *s, const void *buf, size_t len);
TICK_API int tick_stream_writev(tick_stream *s, const struct iovec *iov, int iovcnt);
TICK_API tick_future *tick_stream_flush(tick_stream *s);
TICK_API tick_future *tick_stream_drain(tick_stream *s);
/* Cork: between tick_stream_cork(s) and tick_stream_uncork(s) writes
 * only queue (copied, as ever; the hard cap still applies) and nothing is
 * sent, not even on a writable edge; uncork then sends the whole queue
 * at once with one send/writev when the socket takes it (what it refuses
 * is sent on the next writable edge, as for any queued bytes). For a
 * protocol that answers a batch of pipelined requests parsed from one
 * read: cork, write each reply, uncork — one send() per batch instead of
 * one per reply. A flush or drain awaited while corked waits until after
 * the uncork. uncork returns 0 or the sticky write error (-EPIPE...),
 * -EBADF on a closed stream; cork on NULL is a no-op. Corking twice is
 * corking once (no nesting count). */
TICK_API void tick_stream_cork(tick_stream *s);
TICK_API int tick_stream_uncork(tick_stream *s);
/* Bytes queued and not sent yet. */
TICK_API size_t tick_stream_queued(const tick_stream *s);
/* High-water mark for drain (0: the default, 64 KiB); the hard cap is 16
 * times it. */
TICK_API void tick_stream_set_high_water(tick_stream *s, size_t bytes);
/* 0 turns it off (the default). 0, -EINVAL, or -ENOMEM (the first call
 * allocates the timer). */
TICK_API int tick_stream_set_idle_timeout(tick_stream *s, uint64_t ns);

/* Did a read of this stream end with -ETIMEDOUT (the idle timeout)? */
TICK_API bool tick_stream_timed_out(const tick_stream *s);
/* Has any byte been received on s? (Counts of bytes are the scope's:
 * tick_scope_get_stats() of the scope current at open, a server
 * connection's own scope.) */
TICK_API bool tick_stream_received(const tick_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* TICK_STREAM_H */
