/* test_stream.c — tick_stream (tick/stream.h) over socketpairs: lines
 * split at every byte boundary, the maximum, EOF mid-item, read_exact
 * past one pool buffer, the write queue past the high-water mark, a peer
 * that never reads, the idle timeout, byte accounting and buffers given
 * back while idle. */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

unsigned tick__bufs_free(const tick_loop *loop);   /* bufpool.c (hidden) */

static int sv[2];
static tick_stream *st;

static void setup(void)
{
    loop_setup();
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(tick_stream_open(loop, sv[0], &st), 0);
}

static void teardown(void)
{
    if (st)
        ck_assert_int_eq(tick_stream_close(st), 0);
    st = NULL;
    if (sv[1] >= 0)
        close(sv[1]);
    loop_teardown();
}

/* Run until f is done; its error or result. Consumes f. */
static intptr_t wait_f(tick_future *f)
{
    ck_assert_ptr_nonnull(f);
    RUN_UNTIL(tick_future_done(f), 200);
    intptr_t v = tick_future_error(f) ? tick_future_error(f) : tick_future_result(f);
    tick_future_unref(f);
    return v;
}

static void put(const char *s, size_t n)
{
    ck_assert_int_eq(write(sv[1], s, n), (ssize_t)n);
}

/* Take the item of length n off the stream as a string. */
static void take(char *out, size_t n)
{
    size_t len;
    const char *p = tick_stream_peek(st, &len);
    ck_assert_uint_ge(len, n);
    memcpy(out, p, n);
    out[n] = 0;
    tick_stream_consume(st, n);
}

START_TEST(lines_split_at_every_byte)
{
    static const char text[] = "alpha\nbe\n\ngamma delta\nz\n";
    static const char *const want[] = { "alpha\n", "be\n", "\n", "gamma delta\n", "z\n" };
    size_t total = strlen(text);
    for (size_t cut = 0; cut <= total; cut++) {
        bool rest_sent = false;
        char got[64];
        put(text, cut);
        for (int i = 0; i < 5; i++) {
            tick_future *f = tick_stream_read_line(st, 64);
            ck_assert_ptr_nonnull(f);
            for (int k = 0; k < 3 && !tick_future_done(f); k++)
                tick_loop_run_once(loop, false);
            if (!tick_future_done(f)) {  /* the line waits for part two */
                ck_assert(!rest_sent);
                put(text + cut, total - cut);
                rest_sent = true;
            }
            ck_assert_int_eq(wait_f(f), (intptr_t)strlen(want[i]));
            take(got, strlen(want[i]));
            ck_assert_str_eq(got, want[i]);
        }
        ck_assert(rest_sent || cut == total);
        /* nothing left over: the stream gave its buffer back */
        size_t len;
        ck_assert_ptr_null(tick_stream_peek(st, &len));
        ck_assert_uint_eq(len, 0);
    }
}
END_TEST

START_TEST(read_until_multibyte_delimiter_split)
{
    static const char text[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
    size_t total = strlen(text), head = strlen("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (size_t cut = 1; cut < total; cut++) {
        put(text, cut);
        tick_future *f = tick_stream_read_until(st, "\r\n\r\n", 4, 1024);
        for (int k = 0; k < 3 && !tick_future_done(f); k++)
            tick_loop_run_once(loop, false);
        put(text + cut, total - cut);
        ck_assert_int_eq(wait_f(f), (intptr_t)head);
        tick_stream_consume(st, head);
        ck_assert_int_eq(wait_f(tick_stream_read_exact(st, 4)), 4);
        char got[8];
        take(got, 4);
        ck_assert_str_eq(got, "rest");
    }
}
END_TEST

START_TEST(line_over_the_maximum)
{
    put("0123456789abcdef", 16);
    ck_assert_int_eq(wait_f(tick_stream_read_line(st, 8)), -EMSGSIZE);
    /* the bytes stay buffered */
    size_t len;
    ck_assert_ptr_nonnull(tick_stream_peek(st, &len));
    ck_assert_uint_eq(len, 16);
    tick_stream_consume(st, len);
    /* a line of exactly max bytes, '\n' included, is fine */
    put("1234567\n", 8);
    ck_assert_int_eq(wait_f(tick_stream_read_line(st, 8)), 8);
    tick_stream_consume(st, 8);
    /* a long line arriving in pieces fails once max bytes came */
    tick_future *f = tick_stream_read_line(st, 10);
    put("12345", 5);
    for (int k = 0; k < 3; k++)
        tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(f));
    put("67890", 5);
    ck_assert_int_eq(wait_f(f), -EMSGSIZE);
}
END_TEST

START_TEST(eof_mid_line)
{
    put("partial", 7);
    shutdown(sv[1], SHUT_WR);
    ck_assert_int_eq(wait_f(tick_stream_read_line(st, 64)), -EPIPE);
    ck_assert_int_eq(wait_f(tick_stream_read_exact(st, 100)), -EPIPE);
    ck_assert_int_eq(wait_f(tick_stream_read_some(st)), 7);
    tick_stream_consume(st, 7);
    ck_assert_int_eq(wait_f(tick_stream_read_some(st)), 0);
    ck_assert_int_eq(wait_f(tick_stream_read_line(st, 64)), 0);
}
END_TEST

/* A pipe (a child's stdout): read() rather than recv(), which would give
 * ENOTSOCK; lines, then the EOF when the writer closes. */
START_TEST(pipe_lines_and_eof)
{
    int p[2];
    tick_stream *ps;
    char out[16];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(tick_stream_open(loop, p[0], &ps), 0);
    ck_assert_int_eq(write(p[1], "one\ntwo\n", 8), 8);
    ck_assert_int_eq(wait_f(tick_stream_read_line(ps, 64)), 4);
    size_t len;
    const char *v = tick_stream_peek(ps, &len);
    memcpy(out, v, 4);
    out[4] = 0;
    ck_assert_str_eq(out, "one\n");
    tick_stream_consume(ps, 4);
    ck_assert_int_eq(wait_f(tick_stream_read_line(ps, 64)), 4);
    tick_stream_consume(ps, 4);
    close(p[1]);
    ck_assert_int_eq(wait_f(tick_stream_read_line(ps, 64)), 0);
    ck_assert_int_eq(tick_stream_close(ps), 0);
}
END_TEST

START_TEST(read_exact_past_one_buffer)
{
    enum { N = 100000 };
    static char out[N];
    for (int i = 0; i < N; i++)
        out[i] = (char)('a' + i % 26);
    tick_future *f = tick_stream_read_exact(st, N);
    size_t sent = 0;
    while (sent < N && !tick_future_done(f)) {
        ssize_t w = send(sv[1], out + sent, N - sent, MSG_DONTWAIT);
        if (w > 0)
            sent += (size_t)w;
        tick_loop_run_once(loop, false);
    }
    ck_assert_int_eq(wait_f(f), N);
    size_t len;
    const char *p = tick_stream_peek(st, &len);
    ck_assert_uint_eq(len, N);
    ck_assert(memcmp(p, out, N) == 0);
    tick_stream_consume(st, N);
    ck_assert(tick_stream_received(st));
}
END_TEST

START_TEST(writes_queue_past_the_high_water_mark)
{
    static char chunk[4096];
    memset(chunk, 'w', sizeof chunk);
    tick_stream_set_high_water(st, 32 * 1024);
    /* fill the socket, then well past the mark: never -EBUSY */
    size_t wrote = 0;
    while (tick_stream_queued(st) < 100 * 1024) {
        ck_assert_int_eq(tick_stream_write(st, chunk, sizeof chunk), 0);
        wrote += sizeof chunk;
    }
    tick_future *drain = tick_stream_drain(st), *flush = NULL;
    for (int k = 0; k < 3; k++)
        tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(drain));
    ck_assert_int_eq(wait_f(tick_stream_drain(st)), -EBUSY);   /* one at a time */
    /* the peer reads: drain completes under the mark, flush at zero */
    size_t got = 0;
    char buf[65536];
    while (!tick_future_done(drain)) {
        ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        tick_loop_run_once(loop, false);
    }
    ck_assert_int_eq(wait_f(drain), 0);
    ck_assert_uint_le(tick_stream_queued(st), 32 * 1024);
    flush = tick_stream_flush(st);
    while (!tick_future_done(flush)) {
        ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        tick_loop_run_once(loop, false);
    }
    ck_assert_int_eq(wait_f(flush), 0);
    for (ssize_t n; (n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)) > 0;)
        got += (size_t)n;
    ck_assert_uint_eq(got, wrote);
}
END_TEST

/* A peer that never reads: a writer that honours drain() holds at most
 * the mark plus one write queued; one that ignores it is stopped at the
 * hard cap with -ENOBUFS. Memory stays bounded either way. */
START_TEST(a_peer_that_never_reads)
{
    static char chunk[8192];
    memset(chunk, 'x', sizeof chunk);
    size_t hw = 16 * 1024, peak = 0;
    tick_stream_set_high_water(st, hw);
    for (int i = 0; i < 200; i++) {
        tick_future *d = tick_stream_drain(st);
        for (int k = 0; k < 2 && !tick_future_done(d); k++)
            tick_loop_run_once(loop, false);
        if (!tick_future_done(d)) {      /* blocked: the honest writer waits */
            tick_future_unref(d);
            break;
        }
        tick_future_unref(d);
        ck_assert_int_eq(tick_stream_write(st, chunk, sizeof chunk), 0);
        if (tick_stream_queued(st) > peak)
            peak = tick_stream_queued(st);
    }
    ck_assert_uint_le(peak, hw + sizeof chunk);
    /* ignoring backpressure: refused at 16 x the mark */
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = tick_stream_write(st, chunk, sizeof chunk);
    ck_assert_int_eq(rc, -ENOBUFS);
    ck_assert_uint_le(tick_stream_queued(st), 16 * hw);
}
END_TEST

/* Cork: writes only queue (nothing sent, not on a loop tick either, a
 * flush waits); uncork sends them with one send. Over SOCK_SEQPACKET
 * each send is one record, so one recv of all three replies proves one
 * send. */
START_TEST(cork_batches_writes_into_one_send)
{
    int sp[2];
    tick_stream *q;
    char buf[64];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
    ck_assert_int_eq(tick_stream_open(loop, sp[0], &q), 0);
    tick_stream_cork(q);
    tick_stream_cork(q);                 /* twice is once */
    ck_assert_int_eq(tick_stream_write(q, "+OK\r\n", 5), 0);
    ck_assert_int_eq(tick_stream_write(q, "$1\r\na\r\n", 7), 0);
    ck_assert_int_eq(tick_stream_write(q, ":42\r\n", 5), 0);
    ck_assert_uint_eq(tick_stream_queued(q), 17);
    tick_future *flush = tick_stream_flush(q);
    for (int k = 0; k < 3; k++)
        tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(flush));
    ck_assert_int_eq(recv(sp[1], buf, sizeof buf, MSG_DONTWAIT), -1);
    ck_assert_int_eq(tick_stream_uncork(q), 0);
    ck_assert_uint_eq(tick_stream_queued(q), 0);
    /* the queue went out: the flush is done by uncork itself, as no
     * writable edge may ever come (kv uncorks from another handle than
     * the task awaiting) */
    ck_assert(tick_future_done(flush));
    ck_assert_int_eq(recv(sp[1], buf, sizeof buf, MSG_DONTWAIT), 17);
    ck_assert(memcmp(buf, "+OK\r\n$1\r\na\r\n:42\r\n", 17) == 0);
    ck_assert_int_eq(recv(sp[1], buf, sizeof buf, MSG_DONTWAIT), -1);
    ck_assert_int_eq(wait_f(flush), 0);
    /* uncorked again: a write goes out at once */
    ck_assert_int_eq(tick_stream_write(q, "x", 1), 0);
    ck_assert_int_eq(recv(sp[1], buf, sizeof buf, MSG_DONTWAIT), 1);
    /* a write error is reported by uncork */
    tick_stream_cork(q);
    ck_assert_int_eq(tick_stream_write(q, "y", 1), 0);
    close(sp[1]);
    ck_assert_int_eq(tick_stream_uncork(q), -EPIPE);
    ck_assert_uint_eq(tick_stream_queued(q), 0);
    ck_assert_int_eq(tick_stream_close(q), 0);
    ck_assert_int_eq(tick_stream_uncork(NULL), -EINVAL);
    tick_stream_cork(NULL);
}
END_TEST

START_TEST(idle_timeout)
{
    ck_assert_int_eq(tick_stream_set_idle_timeout(st, 50 * TICK_MSEC), 0);
    uint64_t t0 = tick_now_update(loop);
    /* bytes before the deadline keep it alive */
    tick_future *f = tick_stream_read_line(st, 64);
    while (tick_now_update(loop) - t0 < 30 * TICK_MSEC)
        tick_loop_run_once(loop, false);
    put("a", 1);
    while (tick_now_update(loop) - t0 < 70 * TICK_MSEC)
        tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(f));
    ck_assert_int_eq(wait_f(f), -ETIMEDOUT);
    ck_assert_uint_ge(tick_now_update(loop) - t0, 80 * TICK_MSEC);
    /* the buffered byte is still there */
    size_t len;
    tick_stream_peek(st, &len);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(idle_holds_no_buffer_and_bytes_are_counted)
{
    tick_scope sc;
    tick_stream *s2;
    int p[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
    tick_scope_init(&sc, loop, NULL, "conn");
    tick_scope *prev = tick_scope_enter(loop, &sc);
    ck_assert_int_eq(tick_stream_open(loop, p[0], &s2), 0);
    tick_scope_enter(loop, prev);

    unsigned free0 = tick__bufs_free(loop);
    ck_assert_int_eq(write(p[1], "ping\n", 5), 5);
    ck_assert_int_eq(wait_f(tick_stream_read_line(s2, 100)), 5);
    ck_assert_int_eq(tick_stream_write(s2, "pong\n", 5), 0);
    tick_stream_consume(s2, 5);
    /* waiting for the next request: no buffer held */
    tick_future *f = tick_stream_read_line(s2, 100);
    tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(f));
    ck_assert_uint_ge(tick__bufs_free(loop), free0 + 1);
    tick_stream_close(s2);
    ck_assert_int_eq(wait_f(f), -ECANCELED);
    tick_scope_stats ss;
    tick_scope_get_stats(&sc, &ss, false);
    ck_assert_uint_eq(ss.bytes_in, 5);
    ck_assert_uint_eq(ss.bytes_out, 5);
    ck_assert_int_eq(tick_scope_close(&sc), 0);
    close(p[1]);
}
END_TEST

START_TEST(busy_and_closed)
{
    tick_future *f = tick_stream_read_some(st);
    ck_assert_int_eq(wait_f(tick_stream_read_some(st)), -EBUSY);
    ck_assert_int_eq(wait_f(tick_stream_read_exact(st, 0)), -EINVAL);
    put("x", 1);
    ck_assert_int_eq(wait_f(f), 1);
    close(sv[1]);
    sv[1] = -1;
    /* the peer is gone: a write error is sticky */
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = tick_stream_write(st, "y", 1);
    ck_assert_int_eq(rc, -EPIPE);
    ck_assert_int_eq(tick_stream_write(st, "y", 1), -EPIPE);
    ck_assert_int_eq(wait_f(tick_stream_flush(st)), -EPIPE);
}
END_TEST

START_TEST(alloc_failures)
{
    /* every allocation on the read and write paths fails cleanly */
    static char big[40000];
    for (unsigned long n = 1; n < 20; n++) {
        put("line\n", 5);
        tick_test_fail_alloc_after(n);
        int it = tick_stream_set_idle_timeout(st, 10 * TICK_SEC);
        ck_assert(it == 0 || it == -ENOMEM);
        tick_future *f = tick_stream_read_line(st, 64);
        intptr_t v = f ? wait_f(f) : -ENOMEM;
        int w = tick_stream_write(st, big, sizeof big);
        tick_test_fail_alloc_after(0);
        ck_assert(v == 5 || v == -ENOMEM);
        ck_assert(w == 0 || w == -ENOMEM);
        size_t len;
        tick_stream_peek(st, &len);
        tick_stream_consume(st, len);
        tick_stream_close(st);
        close(sv[1]);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(tick_stream_open(loop, sv[0], &st), 0);
    }
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("stream");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lines_split_at_every_byte);
    tcase_add_test(tc, read_until_multibyte_delimiter_split);
    tcase_add_test(tc, line_over_the_maximum);
    tcase_add_test(tc, pipe_lines_and_eof);
    tcase_add_test(tc, eof_mid_line);
    tcase_add_test(tc, read_exact_past_one_buffer);
    tcase_add_test(tc, writes_queue_past_the_high_water_mark);
    tcase_add_test(tc, a_peer_that_never_reads);
    tcase_add_test(tc, cork_batches_writes_into_one_send);
    tcase_add_test(tc, idle_timeout);
    tcase_add_test(tc, idle_holds_no_buffer_and_bytes_are_counted);
    tcase_add_test(tc, busy_and_closed);
    tcase_add_test(tc, alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(stream_suite)
