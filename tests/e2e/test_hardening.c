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

/* ---- many sections -------------------------------------------------------- */

#define MANY_SECTIONS 80000

/* MANY_SECTIONS instance sections (3 lines each after a 3-line [daemon]),
 * plus, if dup >= 0, a second [plugin:s<dup>] at the end. */
static void many_sections(e2e_daemon *d, int dup)
{
    FILE *f = fopen(d->conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[daemon]\nplugin_dir = %s\n\n", e2e_plugins());
    for (int i = 0; i < MANY_SECTIONS; i++)
        fprintf(f, "[plugin:s%d]\nmodule = heartbeat\n\n", i);
    if (dup >= 0)
        fprintf(f, "[plugin:s%d]\n", dup);
    ck_assert_int_eq(fclose(f), 0);
}

/* The duplicate check was a linear scan per section: 80k sections took
 * 9.5 s, and a SIGHUP with such a file blocked the loop as long. The
 * bound is generous for an ASan build on a busy machine; the hash set
 * needs well under a second. */
START_TEST(many_sections_check_quickly)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    const char *args[] = { "-t", "-c", d.conf, NULL };

    many_sections(&d, MANY_SECTIONS / 2);
    int64_t t0 = e2e_now_ms();
    ck_assert_int_eq(e2e_run(&d, args, 30000), EX_CONFIG_);
    int64_t ms = e2e_now_ms() - t0;
    char want[2 * PATH_MAX + 128];
    E2E_FMT(want, sizeof want, "%s:%d: duplicate section [plugin:s%d], first defined at %s:%d\n",
            d.conf, 4 + 3 * MANY_SECTIONS, MANY_SECTIONS / 2, d.conf, 4 + 3 * (MANY_SECTIONS / 2));
    char *err = e2e_read_file(d.err);
    ck_assert_str_eq(err, want);
    free(err);
    ck_assert_msg(ms < 3000, "%d sections and a duplicate: %lld ms", MANY_SECTIONS, (long long)ms);

    many_sections(&d, -1);
    t0 = e2e_now_ms();
    ck_assert_int_eq(e2e_run(&d, args, 30000), 0);
    ms = e2e_now_ms() - t0;
    ck_assert(e2e_file_contains(d.out, "configuration OK"));
    ck_assert_msg(ms < 3000, "%d sections: %lld ms", MANY_SECTIONS, (long long)ms);
    e2e_kill(&d);
}
END_TEST

/* ---- signals the daemon does not own ----------------------------------- */

/* Default action "terminate", owned by nobody: they used to kill tickd. */
static int stray_signals(int *out)
{
    static const int fixed[] = { SIGUSR2, SIGALRM, SIGIO, SIGPROF, SIGVTALRM, SIGPWR,
#ifdef SIGSTKFLT
                                 SIGSTKFLT,
#endif
    };
    int n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        out[n++] = fixed[i];
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        out[n++] = s;
    return n;
}

START_TEST(stray_signals_do_not_kill)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n"
        "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
        e2e_plugins(), port);
    e2e_start(&d);
    int sigs[128], n = stray_signals(sigs);
    int fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < n; i++) {
        e2e_signal(&d, sigs[i]);
        char msg[64];
        E2E_FMT(msg, sizeof msg, "after signal %d\n", sigs[i]);
        ck_assert_msg(e2e_echo_roundtrip(fd, msg), "no echo after signal %d (%s)",
                      sigs[i], strsignal(sigs[i]));
        ck_assert_msg(!e2e_exited(&d), "tickd died of signal %d (%s): status 0x%x",
                      sigs[i], strsignal(sigs[i]), d.status);
    }
    close(fd);
    /* a new connection too, then a clean stop */
    fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "still here\n"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* ...and a plugin that waits for one still gets it (a signal ignored with
 * SIG_IGN would be discarded by the kernel even while blocked). */
START_TEST(plugin_still_receives_stray_signals)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n"
        "[plugin:usr2]\nmodule = sigwait\n"
        "[plugin:rt]\nmodule = sigwait\nsigno = %d\n",
        e2e_fixtures(), SIGRTMIN + 3);
    e2e_start(&d);
    char want[128];
    E2E_FMT(want, sizeof want, "plugin:rt: waiting for signal %d\n", SIGRTMIN + 3);
    ck_assert(e2e_wait_log(&d, want, 5000));
    E2E_FMT(want, sizeof want, "plugin:usr2: waiting for signal %d\n", SIGUSR2);
    ck_assert(e2e_wait_log(&d, want, 5000));
    for (unsigned k = 1; k <= 3; k++) {
        e2e_signal(&d, SIGUSR2);
        E2E_FMT(want, sizeof want, "plugin:usr2: got signal %d (#%u)\n", SIGUSR2, k);
        ck_assert_msg(e2e_wait_log(&d, want, 5000), "no '%s' in:\n%s", want,
                      e2e_read_file(d.err));
        e2e_signal(&d, SIGRTMIN + 3);
        E2E_FMT(want, sizeof want, "plugin:rt: got signal %d (#%u)\n", SIGRTMIN + 3, k);
        ck_assert_msg(e2e_wait_log(&d, want, 5000), "no '%s' in:\n%s", want,
                      e2e_read_file(d.err));
    }
    /* the other stray ones, which no plugin waits for, still do no harm */
    e2e_signal(&d, SIGALRM);
    e2e_signal(&d, SIGPROF);
    e2e_sleep_ms(50);
    ck_assert(!e2e_exited(&d));
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *hardening_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("hardening");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, endless_config_stops_at_the_first_error);
    tcase_add_test(tc, random_config_is_refused_quickly);
    tcase_add_test(tc, many_sections_check_quickly);
    tcase_add_test(tc, stray_signals_do_not_kill);
    tcase_add_test(tc, plugin_still_receives_stray_signals);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(hardening_suite)
