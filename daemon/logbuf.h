/*
 * logbuf.h — a log stream that never blocks its writer.
 *
 * Lines are written to the stream without blocking (send(MSG_DONTWAIT) on
 * a socket, write on a non-blocking private fd, or poll-then-write); what
 * does not fit is kept in a bounded buffer, in order, and written when the
 * stream takes it again (the next line, tickd_logbuf_flush from a timer).
 * A line that does not fit in the buffer either is dropped and counted;
 * once the buffer has drained, one note says how many were dropped. A
 * stalled reader (journald) thus costs lines, never the loop.
 *
 * Thread-safe: a mutex guards the buffer, and nothing blocks while it is
 * held (no blocking write, no allocation).
 */
#ifndef TICKD_LOGBUF_H
#define TICKD_LOGBUF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define TICKD_LOGBUF_SIZE 65536

enum tickd_logbuf_mode {
    TICKD_LOGBUF_SEND,     /* a socket: send(MSG_DONTWAIT | MSG_NOSIGNAL) */
    TICKD_LOGBUF_WRITE,    /* an fd opened O_NONBLOCK for us alone */
    TICKD_LOGBUF_POLL,     /* a shared blocking fd: write only what poll()
                            * says fits (at most PIPE_BUF); for a regular
                            * file, a plain write */
};

struct tickd_logbuf {
    bool ready;                      /* mu initialised (zero the struct first) */
    pthread_mutex_t mu;
    int fd;
    enum tickd_logbuf_mode mode;
    size_t len;                      /* bytes waiting in buf */
    unsigned long dropped;           /* lines lost since the last note */
    unsigned long dropped_total;     /* lines lost in all (metrics) */
    char note_prefix[32];            /* before "N log lines dropped..." */
    char buf[TICKD_LOGBUF_SIZE];
};

/* Set up lb, zeroed before its first use (its previous fd is not closed). note_prefix starts the
 * dropped-lines note ("tickd: warning: ", "<4>"). */
void tickd_logbuf_init(struct tickd_logbuf *lb, int fd, enum tickd_logbuf_mode mode,
                       const char *note_prefix);
/* Queue one whole line (with its "\n"): written now if the stream takes
 * it, buffered if not, dropped (and counted) if the buffer is full. */
void tickd_logbuf_write(struct tickd_logbuf *lb, const char *line, size_t len);
/* Write what is buffered, as far as the stream takes it. true while
 * something is still waiting (lines, or the dropped note). */
bool tickd_logbuf_flush(struct tickd_logbuf *lb);
/* Flush, waiting up to timeout_ms for the stream (at exit). */
void tickd_logbuf_drain(struct tickd_logbuf *lb, int timeout_ms);
/* Lines dropped and not yet reported (tests). */
unsigned long tickd_logbuf_dropped(struct tickd_logbuf *lb);
/* Lines dropped since the process started (init does not reset it). */
unsigned long tickd_logbuf_dropped_total(struct tickd_logbuf *lb);

#endif
