/*
 * test_log_stall.c — a reader that stops reading stderr (a stalled
 * journald) must not freeze the loop: tickd's stderr is a FIFO the test
 * does not read while a heartbeat logs long lines every millisecond.
 * Echo keeps answering; once the test reads again the buffered lines
 * come out and "N log lines dropped: stderr was not draining" says what
 * was lost; stalled again, SIGTERM still stops it within the deadline.
 */
#include <sys/ioctl.h>

#include "e2e.h"

/* Read what is in the FIFO for up to ms; true once needle was seen
 * (buf keeps the last 64 KiB read, as text). */
static bool drain_until(int fd, const char *needle, int ms, char *buf, size_t cap)
{
    int64_t end = e2e_now_ms() + ms;
    size_t len = strlen(buf);
    while (e2e_now_ms() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        char chunk[16384];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0)
            break;
        if (len + (size_t)n >= cap) {   /* keep the tail */
            size_t keep = cap / 2;
            memmove(buf, buf + len - (len > keep ? keep : len), len > keep ? keep : len);
            len = len > keep ? keep : len;
        }
        memcpy(buf + len, chunk, (size_t)n);
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, needle))
            return true;
    }
    return false;
}

/* bytes waiting in the FIFO */
static int queued(int fd)
{
    int n = 0;
    ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
    return n;
}

START_TEST(stalled_stderr_does_not_block_the_loop)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char msg[151];   /* a config line holds at most 198 characters */
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"
        "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
        "[plugin:chatty]\nmodule = heartbeat\ninterval = 1ms\nmessage = %s\n",
        e2e_plugins(), port, msg);
    /* stderr: a FIFO whose read end we hold and do not read */
    ck_assert_int_eq(mkfifo(d.err, 0600), 0);
    int rd = open(d.err, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(rd, 0);
    int cap = fcntl(rd, F_GETPIPE_SZ);
    ck_assert_int_gt(cap, 0);
    e2e_start(&d);

    /* wait until the pipe is full, then some more so the daemon's own
     * buffer fills and lines are dropped */
    int64_t end = e2e_now_ms() + 10000;
    while (queued(rd) < cap - 4096 && e2e_now_ms() < end)
        e2e_sleep_ms(20);
    ck_assert_msg(queued(rd) >= cap - 4096, "the pipe never filled: %d of %d bytes",
                  queued(rd), cap);
    e2e_sleep_ms(1500);

    /* the O_NONBLOCK is on tickd's own open of the FIFO, never on the fd 2
     * it shares with whoever started it */
    char info[64];
    E2E_FMT(info, sizeof info, "/proc/%d/fdinfo/2", (int)d.pid);
    char *fdinfo = e2e_read_file(info), *fl = strstr(fdinfo, "flags:");
    ck_assert_ptr_nonnull(fl);
    ck_assert_msg(!(strtoul(fl + 6, NULL, 8) & O_NONBLOCK), "fd 2 is O_NONBLOCK:\n%s", fdinfo);
    free(fdinfo);

    int fd = e2e_connect(port);
    ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
    ck_assert_msg(e2e_echo_roundtrip(fd, "are you there?"),
                  "echo did not answer with stderr stalled");
    ck_assert(!e2e_exited(&d));

    /* read again: the buffered lines, then the note */
    static char seen[1 << 17];
    seen[0] = '\0';
    ck_assert_msg(drain_until(rd, " log lines dropped: stderr was not draining\n", 10000,
                              seen, sizeof seen),
                  "no dropped-lines note; last read:\n%.2000s",
                  seen + (strlen(seen) > 2000 ? strlen(seen) - 2000 : 0));
    ck_assert(e2e_echo_roundtrip(fd, "still"));

    /* stalled again: SIGTERM ends it within stop_timeout and a margin */
    end = e2e_now_ms() + 10000;
    while (queued(rd) < cap - 4096 && e2e_now_ms() < end)
        e2e_sleep_ms(20);
    e2e_sleep_ms(200);
    int64_t t0 = e2e_now_ms();
    e2e_signal(&d, SIGTERM);
    int st = e2e_wait_exit(&d, 4000);
    ck_assert_msg(st != -ETIMEDOUT, "tickd did not exit within 4 s of SIGTERM "
                  "with stderr stalled");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    fprintf(stderr, "log stall: exit %lld ms after SIGTERM\n",
            (long long)(e2e_now_ms() - t0));
    close(fd);
    close(rd);
    e2e_kill(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e log stall");
    TCase *tc = tcase_create("stall");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, stalled_stderr_does_not_block_the_loop);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
