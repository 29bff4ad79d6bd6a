/* test_daemon_logbuf.c — the log buffer (logbuf.c): lines a full pipe
 * does not take are kept in order and written once it drains; past the
 * buffer's size they are dropped and counted, and one note says how
 * many; nothing ever blocks, from several threads at once. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "logbuf.h"

static struct tickd_logbuf lb;
static int p[2];

static void setup(void)
{
    ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
    tickd_logbuf_init(&lb, p[1], TICKD_LOGBUF_WRITE, "W: ");
}

static void teardown(void)
{
    close(p[0]);
    close(p[1]);
}

/* everything in the pipe now, appended to out */
static size_t drain(char *out, size_t cap, size_t len)
{
    ssize_t n;
    while (len < cap - 1 && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    return len;
}

static int pipe_capacity(void)
{
    return fcntl(p[1], F_GETPIPE_SZ);
}

START_TEST(lines_wait_in_order_then_flush)
{
    static char out[1 << 18];
    char line[64];
    size_t len = 0;
    int n = 0;

    /* fill the pipe and some of the buffer: 20 KiB more than the pipe */
    while ((size_t)n * 20 < (size_t)pipe_capacity() + 20000) {
        snprintf(line, sizeof line, "line %08d .....\n", n++);   /* 20 bytes */
        tickd_logbuf_write(&lb, line, strlen(line));
    }
    ck_assert(tickd_logbuf_flush(&lb));      /* still waiting */
    ck_assert_uint_eq(tickd_logbuf_dropped(&lb), 0);
    for (int i = 0; i < 1000 && tickd_logbuf_flush(&lb); i++)
        len = drain(out, sizeof out, len);
    len = drain(out, sizeof out, len);
    ck_assert_uint_eq(len, (size_t)n * 20);
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof line, "line %08d .....\n", i);
        ck_assert_msg(memcmp(out + (size_t)i * 20, line, 20) == 0, "line %d", i);
    }
    ck_assert_ptr_null(strstr(out, "dropped"));
}
END_TEST

START_TEST(full_buffer_drops_and_says_so)
{
    static char out[1 << 18];
    char line[100];
    size_t len = 0, total = (size_t)pipe_capacity() + TICKD_LOGBUF_SIZE;
    int n = 0;

    memset(line, 'x', sizeof line);
    line[99] = '\n';
    for (size_t sent = 0; sent < total + 5 * 100; sent += 100, n++)
        tickd_logbuf_write(&lb, line, 100);
    ck_assert_uint_ge(tickd_logbuf_dropped(&lb), 5);
    unsigned long dropped = tickd_logbuf_dropped(&lb);
    for (int i = 0; i < 1000 && tickd_logbuf_flush(&lb); i++)
        len = drain(out, sizeof out, len);
    len = drain(out, sizeof out, len);
    char want[100];
    snprintf(want, sizeof want, "W: %lu log lines dropped: stderr was not draining\n",
             dropped);
    ck_assert_msg(len > strlen(want) && strcmp(out + len - strlen(want), want) == 0,
                  "tail: %s", out + (len > 200 ? len - 200 : 0));
    /* whole lines only: everything before the note is 'x' lines */
    ck_assert_uint_eq((len - strlen(want)) % 100, 0);
    ck_assert_uint_eq((len - strlen(want)) / 100 + dropped, (size_t)n);
    ck_assert_uint_eq(tickd_logbuf_dropped(&lb), 0);
}
END_TEST

static void *spam(void *arg)
{
    char line[80];
    for (int i = 0; i < 20000; i++) {
        int k = snprintf(line, sizeof line, "thread %ld line %d\n", (long)(intptr_t)arg, i);
        tickd_logbuf_write(&lb, line, (size_t)k);
    }
    return NULL;
}

/* Four threads logging into a pipe nobody reads: they all finish (no
 * write blocks), and what comes out is whole lines. */
START_TEST(threads_never_block)
{
    static char out[1 << 18];
    pthread_t t[4];
    size_t len = 0;

    for (long i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, spam, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_gt(tickd_logbuf_dropped(&lb), 0);
    for (int i = 0; i < 1000 && tickd_logbuf_flush(&lb); i++)
        len = drain(out, sizeof out, len);
    len = drain(out, sizeof out, len);
    for (char *s = out, *nl; *s; s = nl + 1) {
        nl = strchr(s, '\n');
        ck_assert_ptr_nonnull(nl);
        ck_assert_msg(strncmp(s, "thread ", 7) == 0 || strncmp(s, "W: ", 3) == 0,
                      "torn line: %.40s", s);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon logbuf");
    TCase *tc = tcase_create("logbuf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lines_wait_in_order_then_flush);
    tcase_add_test(tc, full_buffer_drops_and_says_so);
    tcase_add_test(tc, threads_never_block);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
