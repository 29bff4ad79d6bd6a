/*
 * logbuf.c — bounded, non-blocking log output (logbuf.h).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logbuf.h"

void tickd_logbuf_init(struct tickd_logbuf *lb, int fd, enum tickd_logbuf_mode mode,
                       const char *note_prefix)
{
    /* set up again (tests, a new stderr): the mutex only the first time */
    if (!lb->ready) {
        pthread_mutex_init(&lb->mu, NULL);
        lb->ready = true;
    }
    pthread_mutex_lock(&lb->mu);
    lb->fd = fd;
    lb->mode = mode;
    lb->len = 0;
    lb->dropped = 0;
    snprintf(lb->note_prefix, sizeof lb->note_prefix, "%s", note_prefix ? note_prefix : "");
    pthread_mutex_unlock(&lb->mu);
}

/* One attempt to write p[0..n) without blocking: bytes written, 0 when
 * the stream is full, -1 when it is gone (the bytes are lost). */
static ssize_t out(struct tickd_logbuf *lb, const char *p, size_t n)
{
    ssize_t w;

    for (;;) {
        switch (lb->mode) {
        case TICKD_LOGBUF_SEND:
            w = send(lb->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
            break;
        case TICKD_LOGBUF_WRITE:
            w = write(lb->fd, p, n);
            break;
        default: {
            struct pollfd pf = { .fd = lb->fd, .events = POLLOUT };
            struct stat st;
            /* a regular file never waits for a reader; anything else
             * shared: poll says at least PIPE_BUF bytes fit, and a pipe
             * write of at most PIPE_BUF is all or nothing */
            if (fstat(lb->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
                int r = poll(&pf, 1, 0);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    return r == 0 ? 0 : -1;
                if (pf.revents & (POLLERR | POLLHUP | POLLNVAL))
                    return -1;
                if (n > PIPE_BUF)
                    n = PIPE_BUF;
            }
            w = write(lb->fd, p, n);
        }
        }
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
}

static void flush_locked(struct tickd_logbuf *lb)
{
    size_t done = 0;
    ssize_t w;

    while (done < lb->len) {
        w = out(lb, lb->buf + done, lb->len - done);
        if (w < 0) {
            done = lb->len;   /* nowhere to write them: forget them */
            break;
        }
        if (w == 0)
            break;
        done += (size_t)w;
    }
    if (done > 0) {
        memmove(lb->buf, lb->buf + done, lb->len - done);
        lb->len -= done;
    }
    if (lb->len == 0 && lb->dropped > 0) {
        char note[128];
        int n = snprintf(note, sizeof note, "%s%lu log line%s dropped: stderr was "
                         "not draining\n", lb->note_prefix, lb->dropped,
                         lb->dropped == 1 ? "" : "s");
        lb->dropped = 0;
        if (n > 0 && (size_t)n < sizeof note) {
            w = out(lb, note, (size_t)n);
            if (w >= 0 && (size_t)w < (size_t)n) {
                memcpy(lb->buf, note + w, (size_t)n - (size_t)w);
                lb->len = (size_t)n - (size_t)w;
            }
        }
    }
}

void tickd_logbuf_write(struct tickd_logbuf *lb, const char *line, size_t len)
{
    ssize_t w = 0;

    pthread_mutex_lock(&lb->mu);
    flush_locked(lb);
    if (lb->len == 0 && lb->dropped == 0) {
        w = out(lb, line, len);
        if (w < 0)
            w = (ssize_t)len;   /* gone: as if written */
        line += w;
        len -= (size_t)w;
    }
    if (len > 0) {
        /* the rest of a line partly written must follow it, or the next
         * line would be glued to half of it: it always fits an empty
         * buffer (a line is far shorter than the buffer) */
        if (len <= sizeof lb->buf - lb->len) {
            memcpy(lb->buf + lb->len, line, len);
            lb->len += len;
        } else {
            lb->dropped++;
            lb->dropped_total++;
        }
    }
    pthread_mutex_unlock(&lb->mu);
}

bool tickd_logbuf_flush(struct tickd_logbuf *lb)
{
    bool pending;

    pthread_mutex_lock(&lb->mu);
    flush_locked(lb);
    pending = lb->len > 0 || lb->dropped > 0;
    pthread_mutex_unlock(&lb->mu);
    return pending;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tickd_logbuf_drain(struct tickd_logbuf *lb, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;

    while (tickd_logbuf_flush(lb)) {
        long long left = end - now_ms();
        struct pollfd pf = { .fd = lb->fd, .events = POLLOUT };
        if (left <= 0)
            return;
        /* not holding the mutex while waiting */
        if (poll(&pf, 1, left > 50 ? 50 : (int)left) < 0 && errno != EINTR)
            return;
        if (pf.revents & (POLLERR | POLLHUP | POLLNVAL))
            return;
    }
}

unsigned long tickd_logbuf_dropped(struct tickd_logbuf *lb)
{
    unsigned long n;
    pthread_mutex_lock(&lb->mu);
    n = lb->dropped;
    pthread_mutex_unlock(&lb->mu);
    return n;
}

unsigned long tickd_logbuf_dropped_total(struct tickd_logbuf *lb)
{
    unsigned long n;
    if (!lb->ready)
        return 0;
    pthread_mutex_lock(&lb->mu);
    n = lb->dropped_total;
    pthread_mutex_unlock(&lb->mu);
    return n;
}
