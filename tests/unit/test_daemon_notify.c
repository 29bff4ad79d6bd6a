/* test_daemon_notify.c — the hand-written sd_notify: path and abstract
 * sockets, one datagram per message, the environment cleared, the
 * watchdog interval only for our pid, silence without NOTIFY_SOCKET. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"
#include "log.h"
#include "notify.h"

/* the expected warnings would only be noise in the test output */
static void quiet(void) { tickd_log_set_level(TICK_LOG_ERR); }

static int listener(const char *name, socklen_t *len, struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    size_t n = strlen(name);

    ck_assert_int_ge(fd, 0);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@')
        sa->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, *len), 0);
    return fd;
}

static void expect(int fd, const char *want)
{
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

static void roundtrip(const char *name)
{
    struct sockaddr_un sa;
    socklen_t len;
    int fd = listener(name, &len, &sa);

    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(tickd_notify_init(), 0);
    ck_assert(tickd_notify_enabled());
    ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));   /* not for our children */
    ck_assert_int_eq(tickd_notify("READY=1\nSTATUS=running %d instances", 2), 0);
    expect(fd, "READY=1\nSTATUS=running 2 instances");
    ck_assert_int_eq(tickd_notify("STOPPING=1"), 0);
    expect(fd, "STOPPING=1");
    tickd_notify_close();
    ck_assert(!tickd_notify_enabled());
    close(fd);
}

START_TEST(path_socket)
{
    char name[64];
    snprintf(name, sizeof name, "/tmp/tickd-notify-%ld", (long)getpid());
    unlink(name);
    roundtrip(name);
    unlink(name);
}
END_TEST

START_TEST(abstract_socket)
{
    char name[64];
    snprintf(name, sizeof name, "@tickd-notify-%ld", (long)getpid());
    roundtrip(name);
}
END_TEST

START_TEST(no_socket_is_silent)
{
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(tickd_notify_init(), 0);
    ck_assert(!tickd_notify_enabled());
    ck_assert_int_eq(tickd_notify("READY=1"), 0);
}
END_TEST

START_TEST(bad_socket_name)
{
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ck_assert_int_eq(tickd_notify_init(), -EINVAL);
    ck_assert(!tickd_notify_enabled());
}
END_TEST

START_TEST(send_failure_is_reported)
{
    char name[64];
    snprintf(name, sizeof name, "/tmp/tickd-notify-gone-%ld", (long)getpid());
    unlink(name);
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(tickd_notify_init(), 0);
    ck_assert_int_lt(tickd_notify("READY=1"), 0);   /* nobody listening */
    tickd_notify_close();
}
END_TEST

/* A service manager that stops reading: the socket's queue fills, sends
 * fail with -EAGAIN at once instead of blocking the loop (a blocking send
 * would hang here until Check's timeout). */
START_TEST(full_socket_never_blocks)
{
    char name[64];
    struct sockaddr_un sa;
    socklen_t len;
    snprintf(name, sizeof name, "@tickd-notify-full-%ld", (long)getpid());
    int fd = listener(name, &len, &sa);      /* bound, never read */
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(tickd_notify_init(), 0);
    int eagain = 0;
    for (int i = 0; i < 5000; i++) {
        int rc = tickd_notify("STATUS=message %d of a flood", i);
        if (rc == -EAGAIN)
            eagain++;
        else
            ck_assert_int_eq(rc, 0);
    }
    ck_assert_int_gt(eagain, 0);             /* the queue did fill */
    tickd_notify_close();
    close(fd);
}
END_TEST

START_TEST(watchdog_for_us_only)
{
    char pid[32];

    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "3000000", 1);
    unsetenv("WATCHDOG_PID");
    tickd_notify_init();
    ck_assert_uint_eq(tickd_notify_watchdog_usec(), 3000000);
    ck_assert_ptr_null(getenv("WATCHDOG_USEC"));

    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("WATCHDOG_USEC", "1000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    tickd_notify_init();
    ck_assert_uint_eq(tickd_notify_watchdog_usec(), 1000);

    setenv("WATCHDOG_USEC", "1000", 1);
    setenv("WATCHDOG_PID", "1", 1);                 /* someone else's */
    tickd_notify_init();
    ck_assert_uint_eq(tickd_notify_watchdog_usec(), 0);

    setenv("WATCHDOG_USEC", "soon", 1);
    tickd_notify_init();
    ck_assert_uint_eq(tickd_notify_watchdog_usec(), 0);
}
END_TEST

/* WATCHDOG_USEC strictly: "18446744073709552" used to overflow "* 1000"
 * into a 192 ns period, "1" meant ~1000 datagrams a second, "-1" wrapped
 * to 292 years. */
static const struct {
    const char *in;
    int rc;                 /* 0, -EINVAL or -ERANGE */
    uint64_t usec;          /* when rc == 0 */
    uint64_t period_ns;     /* when rc == 0 */
} watchdog_table[] = {
    { "3000000", 0, 3000000, 1500 * TICK_MSEC },
    { "30000000", 0, 30000000, 15 * TICK_SEC },
    { "1000000", 0, 1000000, 500 * TICK_MSEC },
    { "200000", 0, 200000, 100 * TICK_MSEC },
    { "199999", 0, 199999, 100 * TICK_MSEC },          /* floor */
    { "1", 0, 1, 100 * TICK_MSEC },                    /* floor, not 500 ns */
    { "1000", 0, 1000, 100 * TICK_MSEC },
    { "31536000000000", 0, 31536000000000u, 15768000000000000u },   /* a year */
    { "31536000000001", -ERANGE, 0, 0 },
    { "18446744073709552", -ERANGE, 0, 0 },            /* *1000 overflows */
    { "18446744073709551615", -ERANGE, 0, 0 },         /* UINT64_MAX */
    { "18446744073709551616", -ERANGE, 0, 0 },         /* UINT64_MAX + 1 */
    { "99999999999999999999999", -ERANGE, 0, 0 },
    { "-1", -EINVAL, 0, 0 },
    { "+5000000", -EINVAL, 0, 0 },
    { " 5000000", -EINVAL, 0, 0 },
    { "5000000 ", -EINVAL, 0, 0 },
    { "5000000\n", -EINVAL, 0, 0 },
    { "0x10", -EINVAL, 0, 0 },
    { "5e6", -EINVAL, 0, 0 },
    { "5.0", -EINVAL, 0, 0 },
    { "0", -EINVAL, 0, 0 },
    { "000", -EINVAL, 0, 0 },
    { "", -EINVAL, 0, 0 },
    { "soon", -EINVAL, 0, 0 },
};

START_TEST(watchdog_usec_table)
{
    for (size_t i = 0; i < sizeof watchdog_table / sizeof watchdog_table[0]; i++) {
        uint64_t usec = 12345;
        int rc = tickd_notify_parse_watchdog_usec(watchdog_table[i].in, &usec);
        ck_assert_msg(rc == watchdog_table[i].rc, "'%s': rc %d, want %d",
                      watchdog_table[i].in, rc, watchdog_table[i].rc);
        if (rc < 0) {
            ck_assert_msg(usec == 12345, "'%s': output written on failure",
                          watchdog_table[i].in);
            /* and tickd_notify_init() ignores it */
            unsetenv("WATCHDOG_PID");
            setenv("WATCHDOG_USEC", watchdog_table[i].in, 1);
            tickd_notify_init();
            ck_assert_msg(tickd_notify_watchdog_usec() == 0, "'%s' accepted",
                          watchdog_table[i].in);
            continue;
        }
        ck_assert_msg(usec == watchdog_table[i].usec, "'%s': %llu", watchdog_table[i].in,
                      (unsigned long long)usec);
        uint64_t period = tickd_notify_watchdog_period(usec);
        ck_assert_msg(period == watchdog_table[i].period_ns, "'%s': period %llu ns",
                      watchdog_table[i].in, (unsigned long long)period);
        ck_assert_uint_ge(period, TICKD_WATCHDOG_MIN_PERIOD);
        unsetenv("WATCHDOG_PID");
        setenv("WATCHDOG_USEC", watchdog_table[i].in, 1);
        tickd_notify_init();
        ck_assert_uint_eq(tickd_notify_watchdog_usec(), watchdog_table[i].usec);
    }
}
END_TEST

/* What tickd_notify_init() logs for WATCHDOG_USEC=value (stderr captured). */
static char *init_log(const char *value)
{
    static char buf[4096];
    char path[64];
    snprintf(path, sizeof path, "/tmp/tickd-notify-log-%ld", (long)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), saved = dup(2);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    tickd_log_init();                    /* log to this fd 2 */
    tickd_log_set_level(TICK_LOG_INFO);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", value, 1);
    tickd_notify_init();
    tickd_log_set_level(TICK_LOG_ERR);
    dup2(saved, 2);
    close(saved);
    tickd_log_init();
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return buf;
}

START_TEST(watchdog_usec_ignored_is_logged)
{
    ck_assert_str_eq(init_log("-1"), "tickd: warning: ignoring WATCHDOG_USEC='-1': not a "
                     "positive decimal number of microseconds; not pinging the watchdog\n");
    ck_assert_str_eq(init_log("18446744073709552"), "tickd: warning: ignoring "
                     "WATCHDOG_USEC='18446744073709552': more than a year (31536000000000 us); "
                     "not pinging the watchdog\n");
    ck_assert_str_eq(init_log("1"), "tickd: warning: WATCHDOG_USEC=1 is under 200 ms: pinging "
                     "every 100 ms (the floor), too late for it\n");
    ck_assert_str_eq(init_log("30000000"), "");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon notify");
    TCase *tc = tcase_create("notify");
    tcase_add_checked_fixture(tc, quiet, NULL);
    tcase_add_test(tc, path_socket);
    tcase_add_test(tc, abstract_socket);
    tcase_add_test(tc, no_socket_is_silent);
    tcase_add_test(tc, bad_socket_name);
    tcase_add_test(tc, send_failure_is_reported);
    tcase_add_test(tc, full_socket_never_blocks);
    tcase_add_test(tc, watchdog_for_us_only);
    tcase_add_test(tc, watchdog_usec_table);
    tcase_add_test(tc, watchdog_usec_ignored_is_logged);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
