/*
 * test_hardening.c — inputs and events that must not hurt the daemon:
 * a configuration that never ends, a huge one, and signals nobody owns.
 */
#include "e2e.h"

/* ---- a configuration that never ends ------------------------------------ */

/* A child writing head once, then line forever into the FIFO path, until
 * the reader goes away (EPIPE: the test ignores SIGPIPE). */
static pid_t endless_writer(const char *path, const char *head, const char *line)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            _exit(1);
        char buf[8192];
        size_t n = strlen(line), len = 0;
        while (len + n <= sizeof buf) {
            memcpy(buf + len, line, n);
            len += n;
        }
        if (write(fd, head, strlen(head)) < 0)
            _exit(0);
        while (write(fd, buf, len) > 0)
            ;
        _exit(0);
    }
    return pid;
}

static void expect_quick_78(const char *what, const char *head, const char *line,
                            const char *want_suffix)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char fifo[PATH_MAX];
    E2E_FMT(fifo, sizeof fifo, "%s/endless.ini", d.dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    pid_t writer = endless_writer(fifo, head, line);
    const char *args[] = { "-t", "-c", fifo, NULL };
    int64_t t0 = e2e_now_ms();
    int rc = e2e_run(&d, args, 10000);   /* fails the test past 10 s */
    int64_t ms = e2e_now_ms() - t0;
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    ck_assert_msg(rc == EX_CONFIG_, "%s: exit %d", what, rc);
    ck_assert_msg(ms < 1000, "%s: tickd -t took %lld ms on an endless file", what, (long long)ms);
    char want[PATH_MAX + 128];
    E2E_FMT(want, sizeof want, "%s%s\n", fifo, want_suffix);
    char *err = e2e_read_file(d.err);
    ck_assert_str_eq(err, want);
    free(err);
    e2e_kill(&d);
}

/* After the first error the reader stops: `tickd -t -c <(yes junk)` used
 * to read forever. */
START_TEST(endless_config_stops_at_the_first_error)
{
    expect_quick_78("syntax error", "", "junk\n",
                    ":1: syntax error (expected [section] or key = value)");
    expect_quick_78("bad key", "[daemon]\n", "x = 1\n", ":2: unknown key 'x' in [daemon]");
    expect_quick_78("bad section", "[nosuch]\n", "x = 1\n", ":1: unknown section [nosuch]");
    expect_quick_78("key outside", "", "x = 1\n", ":1: key 'x' outside of any section");
}
END_TEST

START_TEST(random_config_is_refused_quickly)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    const char *args[] = { "-t", "-c", "/dev/urandom", NULL };
    for (int i = 0; i < 5; i++) {
        int64_t t0 = e2e_now_ms();
        ck_assert_int_eq(e2e_run(&d, args, 10000), EX_CONFIG_);
        ck_assert_int_lt(e2e_now_ms() - t0, 1000);
        ck_assert(e2e_file_contains(d.err, "/dev/urandom:"));
    }
    e2e_kill(&d);
}
END_TEST

static Suite *hardening_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("hardening");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, endless_config_stops_at_the_first_error);
    tcase_add_test(tc, random_config_is_refused_quickly);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(hardening_suite)
