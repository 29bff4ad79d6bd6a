/* test_daemon_notify.c — the hand-written sd_notify: path and abstract
 * sockets, one datagram per message, the environment cleared, the
 * watchdog interval only for our pid, silence without NOTIFY_SOCKET. */
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
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
