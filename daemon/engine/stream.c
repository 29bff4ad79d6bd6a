/*
 * stream.c — tick_stream (tick/stream.h): a read buffer and a write queue
 * over a tick_fd.
 *
 * The stream does its own recv()/send() on the tick_fd's socket and keeps
 * the tick_fd's readiness cache right (io.h's rule: clear after EAGAIN or
 * a short read). It waits through the tick_fd's internal hook (io_fd.h),
 * called in the resolve phase after each epoll event: a pending read or
 * flush is served there and its future completed there, so the task
 * awaiting it runs in the same tick — no extra handle between the event
 * and the task, as there would be with a done-callback on
 * tick_fd_readable().
 *
 * Writes: a write with nothing queued goes to send() at once; only what
 * the socket refuses is queued (and sent with one writev on the next
 * writable edge). The alternative, queueing every write and sending the
 * whole queue from one flush handle per stream at the end of the handle
 * batch, was measured with `make bench`'s echo (3 rounds each, a loaded
 * 2-core machine): immediate 4851 ns CPU per round trip (raw epoll 6610
 * in the same run), deferred 6587 (raw 6436), and 65.9k vs 56.8k round
 * trips/s: the deferred flush costs a copy, a handle run and a tick of
 * latency per reply. Pipelined replies written one by one in one step
 * cost a send() each; a parser that answers several requests at once
 * should hand them to tick_stream_writev() together, or cork the stream
 * (tick_stream_cork) around them: corked writes only queue, and uncork
 * sends the queue with one send/writev — one send() per batch of
 * pipelined replies, as redis does.
 *
 * Futures live in two slots embedded in the stream (a task alternating
 * reads and drains holds the one it awaits and the one before), beyond
 * that they are allocated. The stream's tick_fd has no operation slots
 * of its own (the stream does its own syscalls): 352 bytes less per
 * connection. Every
 * busy slot holds a reference on the stream, so the memory outlives
 * close() while someone holds a future of it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bufpool.h"
#include "io_fd.h"
#include "tick/stream.h"

#define STREAM_SLOTS 2                   /* a task's await and its one-behind */
#define STREAM_BURST 64
#define STREAM_HW_DEFAULT (64 * 1024)
#define STREAM_HW_MAX (64u << 20)
#define STREAM_IOV 64
#define STREAM_ITEM_MAX ((size_t)1 << 30)   /* read_until/exact: 1 GiB */

enum { RD_SOME, RD_UNTIL, RD_EXACT };
enum { WR_FLUSH, WR_DRAIN };

typedef struct sfut {
    tick_future fut;
    tick_stream *s;
    bool busy, heap;
} sfut;

/* A queued write: a pool buffer, this header then the bytes. */
struct wchunk {
    tick_link link;
    uint32_t off, len;
    char data[];
};
#define WCHUNK_CAP (TICK__BUF_SIZE - sizeof(struct wchunk))

struct tick_stream {
    tick_loop *loop;
    tick_fd *fd;
    uint32_t refs;               /* owner (until close) + busy slots */
    bool open;
    bool eof;                    /* recv() gave 0 */
    bool rb_pooled;              /* rb is a pool buffer (else heap) */
    bool timed_out;
    bool received;               /* some byte came, ever */
    bool corked;                 /* writes only queue (tick_stream_cork) */
    uint8_t rkind, dlen, wkind;
    int rerr, werr;              /* sticky errors */
    /* read buffer: bytes [roff, rlen) of rb; rb NULL when empty */
    char *rb;
    uint32_t rcap, roff, rlen;
    uint32_t scanned;            /* bytes after roff searched for delim */
    uint32_t rmax;               /* until: max length; exact: n */
    char delim[8];
    sfut *rd, *wr;               /* the pending read / flush-or-drain */
    /* write queue */
    tick_link wq;
    uint32_t queued, hw;         /* hw <= 64 MiB: queued <= 16 x hw fits */
    /* idle timeout: allocated by set_idle_timeout(), so a stream without
     * one is 88 bytes smaller */
    struct idle_timer *idle;
    /* the burst limit uses the tick_fd's again/burst_tick/burst: the
     * stream's tick_fd has no operations of its own (io_fd.h) */
    sfut slots[STREAM_SLOTS];
};

struct idle_timer {
    tick_timer t;
    tick_stream *s;
    uint64_t ns, last_rx;        /* the timeout; the last byte or wait start */
};

static void stream_unref(tick_stream *s)
{
    assert(s->refs > 0);
    if (--s->refs == 0)
        free(s);
}

/* ---- futures ----------------------------------------------------------- */

static void sfut_free(tick_future *f);
static bool sfut_cancel(tick_future *f);
static const tick_future_ops rd_ops = { "stream_read", sfut_free, sfut_cancel };
static const tick_future_ops wr_ops = { "stream_flush", sfut_free, sfut_cancel };

static void sfut_free(tick_future *f)
{
    sfut *op = tick_container_of(f, sfut, fut);
    tick_stream *s = op->s;

    if (op->heap)
        free(op);
    else
        op->busy = false;
    stream_unref(s);
}

static bool sfut_cancel(tick_future *f)
{
    sfut *op = tick_container_of(f, sfut, fut);
    tick_stream *s = op->s;
    sfut **side = s->rd == op ? &s->rd : s->wr == op ? &s->wr : NULL;

    if (side) {
        *side = NULL;
        assert(f->refs > 1);
        tick__pending_settle(s->loop);
        tick_future_unref(f);
    }
    return true;
}

static sfut *sfut_get(tick_stream *s, const tick_future_ops *ops)
{
    sfut *op = NULL;

    for (int i = 0; i < STREAM_SLOTS; i++) {
        if (!s->slots[i].busy) {
            op = &s->slots[i];
            op->heap = false;
            break;
        }
    }
    if (!op) {
        if (!(op = tick__malloc(sizeof *op)))
            return NULL;
        op->heap = true;
    }
    op->busy = true;
    op->s = s;
    tick_future_init(&op->fut, s->loop, ops);
    s->refs++;
    return op;
}

static tick_future *failed(tick_stream *s, const tick_future_ops *ops, int err)
{
    sfut *op = sfut_get(s, ops);
    if (!op)
        return NULL;
    tick_future_set_error(&op->fut, err);
    return &op->fut;
}

static void side_done(tick_stream *s, sfut **side, intptr_t v)
{
    sfut *op = *side;
    *side = NULL;
    (void)s;
    tick__pending_complete(&op->fut, v < 0 ? 0 : v, v < 0 ? (int)v : 0);
}

/* ---- the read buffer --------------------------------------------------- */

static void rb_release(tick_stream *s)
{
    if (s->rb_pooled)
        tick__buf_put(s->loop, s->rb);
    else
        free(s->rb);
    s->rb = NULL;
    s->rcap = s->roff = s->rlen = s->scanned = 0;
}

/* Room at the end of rb for more bytes: take a buffer, move the bytes to
 * the front, or grow towards want (the item's maximum). -ENOMEM, or 0
 * with no room at all when the buffer holds want bytes already. */
static int rb_room(tick_stream *s, size_t want)
{
    if (!s->rb) {
        if (!(s->rb = tick__buf_get(s->loop)))
            return -ENOMEM;
        s->rb_pooled = true;
        s->rcap = TICK__BUF_SIZE;
        return 0;
    }
    if (s->rlen < s->rcap)
        return 0;
    if (s->roff > 0) {
        memmove(s->rb, s->rb + s->roff, s->rlen - s->roff);
        s->rlen -= s->roff;
        s->roff = 0;
        return 0;
    }
    if (s->rcap >= want)
        return 0;
    size_t cap = s->rcap * 2 < want ? s->rcap * 2 : want;
    char *nb = tick__malloc(cap);
    if (!nb)
        return -ENOMEM;
    memcpy(nb, s->rb, s->rlen);
    size_t len = s->rlen, scanned = s->scanned;
    rb_release(s);
    s->rb = nb;
    s->rb_pooled = false;
    s->rcap = (uint32_t)cap;
    s->rlen = (uint32_t)len;
    s->scanned = (uint32_t)scanned;
    return 0;
}

/* Is the pending read's item in the buffer? true and *v (length, 0 for
 * EOF, or an error), or false: more bytes are needed. */
static bool rd_check(tick_stream *s, intptr_t *v)
{
    size_t avail = s->rlen - s->roff;

    switch (s->rkind) {
    case RD_SOME:
        if (avail) {
            *v = (intptr_t)avail;
            return true;
        }
        break;
    case RD_EXACT:
        if (avail >= s->rmax) {
            *v = (intptr_t)s->rmax;
            return true;
        }
        break;
    case RD_UNTIL: {
        const char *base = s->rb + s->roff;
        size_t from = s->scanned;
        while (avail >= s->dlen && from <= avail - s->dlen) {
            const char *p = memchr(base + from, s->delim[0], avail - s->dlen + 1 - from);
            if (!p)
                break;
            if (memcmp(p, s->delim, s->dlen) == 0) {
                size_t len = (size_t)(p - base) + s->dlen;
                *v = len <= s->rmax ? (intptr_t)len : -EMSGSIZE;
                return true;
            }
            from = (size_t)(p - base) + 1;
        }
        s->scanned = avail >= s->dlen ? (uint32_t)(avail - s->dlen + 1) : 0;
        if (avail >= s->rmax) {
            *v = -EMSGSIZE;
            return true;
        }
        break;
    }
    }
    if (s->rerr) {
        *v = s->rerr;
        return true;
    }
    if (s->eof) {
        *v = avail == 0 ? 0 : -EPIPE;
        return true;
    }
    return false;
}

/* Read from the socket until the pending item is there or it would block.
 * true and *v when the read is complete. */
static bool rd_fill(tick_stream *s, intptr_t *v)
{
    for (;;) {
        if (rd_check(s, v))
            return true;
        tick_fd *fd = s->fd;
        if (!fd->open) {             /* its scope's cancel closed it */
            *v = -ECANCELED;
            return true;
        }
        /* a pipe whose writer closed signals EPOLLHUP alone (no EPOLLIN):
         * the read must still be made, to see the EOF */
        if (!(fd->ready & EPOLLIN) && !fd->hup)
            return false;
        int rc = rb_room(s, s->rkind == RD_SOME ? TICK__BUF_SIZE : s->rmax);
        if (rc < 0) {
            *v = rc;
            return true;
        }
        size_t room = s->rcap - s->rlen;
        /* a pipe (the header's "or a pipe": a child's stdout) is not a
         * socket: recv() would fail with ENOTSOCK; the fd is non-blocking */
        ssize_t n = fd->is_sock ? recv(fd->w.fd, s->rb + s->rlen, room, MSG_DONTWAIT)
                                : read(fd->w.fd, s->rb + s->rlen, room);
        if (n > 0) {
            s->rlen += (uint32_t)n;
            s->received = true;
            fd->src.scope->st.bytes_in += (uint64_t)n;   /* the scope of open */
            if (s->idle)
                s->idle->last_rx = tick_now(s->loop);
            if ((size_t)n < room && fd->drains_on_short_read)
                tick_fd_clear(fd, EPOLLIN);
        } else if (n == 0) {
            s->eof = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            tick_fd_clear(fd, EPOLLIN);
            if (s->rlen == s->roff)
                rb_release(s);       /* waiting: hold no buffer */
            return false;
        } else if (errno != EINTR) {
            s->rerr = -errno;
        }
    }
}

/* ---- the write queue --------------------------------------------------- */

static void wq_drop(tick_stream *s)
{
    while (!tick_list_empty(&s->wq)) {
        tick_link *l = s->wq.next;
        tick_link_remove(l);
        tick__buf_put(s->loop, l);
    }
    s->queued = 0;
}

static void sent(tick_stream *s, size_t n)
{
    s->fd->src.scope->st.bytes_out += n;
}

/* Send as much of the queue as the socket takes, one writev at a time. */
static void wq_send(tick_stream *s)
{
    if (!s->fd->open && s->queued)
        s->werr = -ECANCELED;
    while (s->queued && !s->werr && (s->fd->ready & EPOLLOUT)) {
        struct iovec iov[STREAM_IOV];
        int n = 0;
        for (tick_link *l = s->wq.next; l != &s->wq && n < STREAM_IOV; l = l->next) {
            struct wchunk *c = tick_container_of(l, struct wchunk, link);
            iov[n++] = (struct iovec){ c->data + c->off, c->len - c->off };
        }
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t w = s->fd->is_sock ? sendmsg(s->fd->w.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT)
                                   : writev(s->fd->w.fd, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                tick_fd_clear(s->fd, EPOLLOUT);
            else if (errno != EINTR)
                s->werr = -errno;
            break;
        }
        sent(s, (size_t)w);
        s->queued -= (uint32_t)w;
        while (w > 0) {
            struct wchunk *c = tick_container_of(s->wq.next, struct wchunk, link);
            size_t left = c->len - c->off;
            if ((size_t)w < left) {
                c->off += (uint32_t)w;
                break;
            }
            w -= (ssize_t)left;
            tick_link_remove(&c->link);
            tick__buf_put(s->loop, c);
        }
        if (s->queued)                   /* short: the socket is full */
            tick_fd_clear(s->fd, EPOLLOUT);
    }
    if (s->werr)
        wq_drop(s);
}

static bool wr_check(tick_stream *s, intptr_t *v)
{
    if (s->werr) {
        *v = s->werr;
        return true;
    }
    if (s->queued <= (s->wkind == WR_FLUSH ? 0 : s->hw)) {
        *v = 0;
        return true;
    }
    return false;
}

/* ---- serving (resolve phase: the fd's hook, the idle timer, deferred) -- */

static void stream_service(void *user)
{
    tick_stream *s = user;
    intptr_t v;

    s->refs++;                           /* completing may drop a slot's ref */
    if (s->rd && rd_fill(s, &v))
        side_done(s, &s->rd, v);
    if (s->queued && !s->corked)
        wq_send(s);
    if (s->wr && wr_check(s, &v))
        side_done(s, &s->wr, v);
    stream_unref(s);
}

static void stream_idle_fire(tick_handle *h)
{
    tick_stream *s = tick_container_of(h, struct idle_timer, t.handle)->s;
    uint64_t due = s->idle->last_rx + s->idle->ns;

    if (!s->rd || !s->idle->ns)
        return;
    if (tick_now(s->loop) >= due) {
        s->timed_out = true;
        s->refs++;
        side_done(s, &s->rd, -ETIMEDOUT);
        stream_unref(s);
    } else {
        tick_timer_start_at(s->loop, &s->idle->t, due);   /* bytes came: the rest */
    }
}
static const tick_handle_class idle_cls = { stream_idle_fire, "stream_idle_fire" };

/* The burst limit: true if this immediate completion may happen now. */
static bool burst_ok(tick_stream *s)
{
    tick_fd *fd = s->fd;
    uint64_t t = tick_loop_tick(s->loop);
    if (fd->burst_tick != t) {
        fd->burst_tick = t;
        fd->burst = 0;
    }
    return ++fd->burst <= STREAM_BURST;
}

/* ---- public ------------------------------------------------------------ */

int tick_stream_open(tick_loop *loop, int fd, tick_stream **out)
{
    tick_stream *s;
    int rc;

    if (!loop || fd < 0 || !out)
        return -EINVAL;
    if (!(s = tick__calloc(1, sizeof *s)))
        return -ENOMEM;
    if ((rc = tick__fd_open_slots(loop, fd, 0, &s->fd)) < 0) {
        free(s);
        return rc;
    }
    s->loop = loop;
    s->refs = 1;
    s->open = true;
    s->hw = STREAM_HW_DEFAULT;
    tick_link_init(&s->wq);
    s->fd->hook = stream_service;
    s->fd->hook_user = s;
    *out = s;
    return 0;
}

int tick_stream_close(tick_stream *s)
{
    int rc;

    if (!s)
        return 0;
    if (!s->open)
        return -EBADF;
    s->open = false;                     /* the owner's ref keeps s until the end */
    if (s->idle) {
        tick_timer_stop(s->loop, &s->idle->t);
        free(s->idle);
        s->idle = NULL;
    }
    if (s->rd)
        side_done(s, &s->rd, -ECANCELED);
    if (s->wr)
        side_done(s, &s->wr, -ECANCELED);
    s->fd->hook = NULL;
    rc = tick_fd_close(s->fd);
    s->fd = NULL;
    if (s->rb)
        rb_release(s);
    wq_drop(s);
    stream_unref(s);                     /* the owner's */
    return rc;
}

int tick_stream_fileno(const tick_stream *s)
{
    return s && s->open ? s->fd->w.fd : -EBADF;
}

tick_loop *tick_stream_loop(const tick_stream *s) { return s->loop; }
bool tick_stream_timed_out(const tick_stream *s) { return s->timed_out; }
bool tick_stream_received(const tick_stream *s) { return s->received; }
size_t tick_stream_queued(const tick_stream *s) { return s->queued; }

void tick_stream_set_high_water(tick_stream *s, size_t bytes)
{
    s->hw = bytes == 0 ? STREAM_HW_DEFAULT : bytes > STREAM_HW_MAX ? STREAM_HW_MAX
                                                                 : (uint32_t)bytes;
}

int tick_stream_set_idle_timeout(tick_stream *s, uint64_t ns)
{
    if (!s || !s->open)
        return -EINVAL;
    if (ns && !s->idle) {
        if (!(s->idle = tick__malloc(sizeof *s->idle)))
            return -ENOMEM;
        tick__timer_init_resolver(&s->idle->t, "stream idle", &idle_cls);
        s->idle->s = s;
        s->idle->last_rx = tick_now(s->loop);
    }
    if (s->idle)
        s->idle->ns = ns;
    if (!ns && s->idle)
        tick_timer_stop(s->loop, &s->idle->t);
    else if (ns && s->rd && !tick_timer_armed(&s->idle->t))
        return tick_timer_start_at(s->loop, &s->idle->t, tick_now(s->loop) + ns);
    return 0;
}

static tick_future *read_start(tick_stream *s, int kind, size_t max)
{
    sfut *op;
    intptr_t v;

    if (!s)
        return NULL;
    if (!s->open)
        return failed(s, &rd_ops, -EBADF);
    if (s->rd)
        return failed(s, &rd_ops, -EBUSY);
    if (!(op = sfut_get(s, &rd_ops)))
        return NULL;
    if (max > STREAM_ITEM_MAX)           /* the buffer's offsets are 32-bit */
        max = STREAM_ITEM_MAX;
    s->rkind = (uint8_t)kind;
    s->rmax = (uint32_t)max;
    s->scanned = 0;
    if (burst_ok(s) && rd_fill(s, &v)) {
        if (v < 0)
            tick_future_set_error(&op->fut, (int)v);
        else
            tick_future_set_result(&op->fut, v);
        return &op->fut;
    }
    s->rd = op;
    tick__pending_arm(s->loop, &op->fut);
    if (s->fd->burst > STREAM_BURST)
        tick__defer(s->loop, &s->fd->again);     /* runs stream_service */
    if (s->idle && s->idle->ns) {        /* the wait starts the idle clock */
        s->idle->last_rx = tick_now(s->loop);
        if (!tick_timer_armed(&s->idle->t) &&
            tick_timer_start_at(s->loop, &s->idle->t, s->idle->last_rx + s->idle->ns) < 0)
            side_done(s, &s->rd, -ENOMEM);
    }
    return &op->fut;
}

tick_future *tick_stream_read_some(tick_stream *s)
{
    return read_start(s, RD_SOME, 0);
}

tick_future *tick_stream_read_exact(tick_stream *s, size_t n)
{
    if (s && n == 0)
        return failed(s, &rd_ops, -EINVAL);
    if (s && n > STREAM_ITEM_MAX)
        return failed(s, &rd_ops, -EMSGSIZE);
    return read_start(s, RD_EXACT, n);
}

tick_future *tick_stream_read_until(tick_stream *s, const void *delim, size_t dlen,
                                    size_t max)
{
    if (s && (!delim || dlen == 0 || dlen > sizeof s->delim || max < dlen))
        return failed(s, &rd_ops, -EINVAL);
    if (s && !s->rd) {
        memcpy(s->delim, delim, dlen);
        s->dlen = (uint8_t)dlen;
    }
    return read_start(s, RD_UNTIL, max);
}

tick_future *tick_stream_read_line(tick_stream *s, size_t max)
{
    return tick_stream_read_until(s, "\n", 1, max);
}

const void *tick_stream_peek(const tick_stream *s, size_t *len)
{
    *len = s->rb ? s->rlen - s->roff : 0;
    return *len ? s->rb + s->roff : NULL;
}

void tick_stream_consume(tick_stream *s, size_t n)
{
    size_t avail = s->rb ? s->rlen - s->roff : 0;

    if (n >= avail) {
        if (s->rb)
            rb_release(s);
        return;
    }
    s->roff += (uint32_t)n;
    s->scanned = s->scanned > n ? s->scanned - (uint32_t)n : 0;
}

/* Append bytes to the queue (chunks from the pool). */
static int wq_append(tick_stream *s, const char *p, size_t len)
{
    while (len) {
        struct wchunk *c = NULL;
        if (!tick_list_empty(&s->wq)) {
            c = tick_container_of(s->wq.prev, struct wchunk, link);
            if (c->len == WCHUNK_CAP)
                c = NULL;
        }
        if (!c) {
            if (!(c = tick__buf_get(s->loop)))
                return -ENOMEM;
            tick_link_init(&c->link);
            c->off = c->len = 0;
            tick_list_append(&s->wq, &c->link);
        }
        size_t n = WCHUNK_CAP - c->len < len ? WCHUNK_CAP - c->len : len;
        memcpy(c->data + c->len, p, n);
        c->len += (uint32_t)n;
        s->queued += (uint32_t)n;
        p += n;
        len -= n;
    }
    return 0;
}

int tick_stream_writev(tick_stream *s, const struct iovec *iov, int iovcnt)
{
    size_t total = 0, skip = 0;

    if (!s || iovcnt < 0 || (iovcnt && !iov))
        return -EINVAL;
    if (!s->open)
        return -EBADF;
    if (!s->fd->open && !s->werr)
        s->werr = -ECANCELED;
    if (s->werr)
        return s->werr;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if ((size_t)s->queued + total > 16 * (size_t)s->hw)
        return -ENOBUFS;
    if (!s->queued && total && !s->corked) {
        /* nothing queued: try the socket at once (one syscall) */
        ssize_t w;
        if (s->fd->is_sock && iovcnt == 1) {      /* send(): cheaper than sendmsg */
            w = send(s->fd->w.fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else if (s->fd->is_sock) {
            struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov,
                                 .msg_iovlen = (size_t)iovcnt };
            w = sendmsg(s->fd->w.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            w = writev(s->fd->w.fd, iov, iovcnt);
        }
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return s->werr = -errno;
            w = 0;
        } else {
            sent(s, (size_t)w);
        }
        skip = (size_t)w;
        if (skip < total)
            tick_fd_clear(s->fd, EPOLLOUT);
    }
    for (int i = 0; i < iovcnt && skip < total; i++) {
        size_t len = iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            total -= len;
            continue;
        }
        int rc = wq_append(s, (const char *)iov[i].iov_base + skip, len - skip);
        if (rc < 0)
            return s->werr = rc;     /* -ENOMEM: the stream is broken */
        total -= len;
        skip = 0;
    }
    return 0;
}

int tick_stream_write(tick_stream *s, const void *buf, size_t len)
{
    struct iovec iov = { (void *)(uintptr_t)buf, len };
    return tick_stream_writev(s, &iov, 1);
}

void tick_stream_cork(tick_stream *s)
{
    if (s)
        s->corked = true;
}

int tick_stream_uncork(tick_stream *s)
{
    if (!s)
        return -EINVAL;
    if (!s->open)
        return -EBADF;
    s->corked = false;
    if (!s->werr && s->queued) {
        if (!s->fd->open)
            s->werr = -ECANCELED;
        else if (s->fd->ready & EPOLLOUT)
            wq_send(s);                  /* one send/writev of the queue */
        if (s->werr)
            wq_drop(s);
        else if (s->queued)              /* a pending flush/drain waits on */
            tick_fd_clear(s->fd, EPOLLOUT);   /* the next writable edge */
    }
    /* A flush or drain awaited while corked (by another task or handle
     * than the one uncorking: kv's end-of-tick commit) is done now if the
     * queue went out; no writable edge would come to tell it. */
    intptr_t v;
    int err = s->werr;
    if (s->wr && wr_check(s, &v)) {
        s->refs++;
        side_done(s, &s->wr, v);
        stream_unref(s);
    }
    return err;
}

static tick_future *wr_start(tick_stream *s, int kind)
{
    sfut *op;
    intptr_t v;

    if (!s)
        return NULL;
    if (!s->open)
        return failed(s, &wr_ops, -EBADF);
    if (s->wr)
        return failed(s, &wr_ops, -EBUSY);
    if (!(op = sfut_get(s, &wr_ops)))
        return NULL;
    s->wkind = (uint8_t)kind;
    if (wr_check(s, &v)) {
        if (v < 0)
            tick_future_set_error(&op->fut, (int)v);
        else
            tick_future_set_result(&op->fut, 0);
        return &op->fut;
    }
    s->wr = op;
    tick__pending_arm(s->loop, &op->fut);
    return &op->fut;
}

tick_future *tick_stream_flush(tick_stream *s) { return wr_start(s, WR_FLUSH); }
tick_future *tick_stream_drain(tick_stream *s) { return wr_start(s, WR_DRAIN); }
_Static_assert(sizeof(struct tick_stream) <= 256, "with ASan's redzone a stream fits a 320-byte class (test_echo's 10k connections under SAN)");
