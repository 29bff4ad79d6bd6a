/*
 * test_signals.c — systemd notifications and signals: READY=1,
 * RELOADING=1 (+MONOTONIC_USEC), READY=1, STOPPING=1 in order across a
 * start, SIGHUP and SIGTERM; abstract notify sockets; SIGTERM/SIGINT exit
 * 0 within the stop deadline, even with a task that ignores cancellation.
 */
#include "e2e.h"

static void base_config(e2e_daemon *d, uint16_t port, const char *stop_timeout)
{
    e2e_config(d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = %s\n"
        "\n"
        "[plugin:echo1]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n"
        "\n"
        "[plugin:beat]\n"
        "module = heartbeat\n"
        "interval = 50ms\n",
        e2e_plugins(), stop_timeout, port);
}

static uint64_t monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The datagram line "NAME=value" after the previous match, as a number. */
static bool note_value(const e2e_daemon *d, const char *name, uint64_t *v)
{
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    for (const char *p = d->notes; (p = strstr(p, key)); p++)
        if (p == d->notes || p[-1] == '\n') {
            *v = strtoull(p + strlen(key), NULL, 10);
            return true;
        }
    return false;
}

START_TEST(notify_sequence_start_reload_stop)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    base_config(&d, port, "2s");
    e2e_start(&d);

    /* READY=1 comes only once every instance has started: the echo port
     * answers right away */
    int fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "ready means ready"));
    close(fd);

    uint64_t before = monotonic_usec();
    e2e_signal(&d, SIGHUP);
    ck_assert_msg(e2e_wait_note(&d, "RELOADING=1", 5000), "notes: %s", d.notes);
    ck_assert_msg(e2e_wait_note(&d, "READY=1", 5000), "notes: %s", d.notes);
    uint64_t after = monotonic_usec(), usec = 0;
    ck_assert_msg(note_value(&d, "MONOTONIC_USEC", &usec), "no MONOTONIC_USEC: %s", d.notes);
    ck_assert_msg(usec >= before && usec <= after,
                  "MONOTONIC_USEC=%llu outside [%llu, %llu]",
                  (unsigned long long)usec, (unsigned long long)before,
                  (unsigned long long)after);
    /* RELOADING=1 and MONOTONIC_USEC travel in the same datagram */
    ck_assert_msg(strstr(d.notes, "RELOADING=1\nMONOTONIC_USEC=") != NULL,
                  "notes: %s", d.notes);

    e2e_signal(&d, SIGTERM);
    ck_assert_msg(e2e_wait_note(&d, "STOPPING=1", 5000), "notes: %s", d.notes);
    int st = e2e_wait_exit(&d, 5000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);

    /* the whole order, with nothing out of place: READY RELOADING READY
     * STOPPING and exactly two READY=1 */
    const char *p = d.notes;
    const char *seq[] = { "READY=1\n", "RELOADING=1\n", "READY=1\n", "STOPPING=1\n" };
    for (int i = 0; i < 4; i++) {
        const char *q = strstr(p, seq[i]);
        ck_assert_msg(q != NULL, "%s missing after position %td in:\n%s",
                      seq[i], p - d.notes, d.notes);
        p = q + strlen(seq[i]);
    }
    ck_assert_int_eq(e2e_count_substr(d.notes, "READY=1\n"), 2);
    ck_assert_int_eq(e2e_count_substr(d.notes, "STOPPING=1\n"), 1);
    e2e_stop(&d, 1000);
}
END_TEST

/* NOTIFY_SOCKET=@name is a Linux abstract socket (systemd uses them). */
START_TEST(notify_abstract_socket)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    base_config(&d, port, "2s");

    close(d.notify_fd);
    d.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(d.notify_fd, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "tickd-e2e-%d-%u",
                     (int)getpid(), (unsigned)e2e_now_ms());
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(bind(d.notify_fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)), 0);
    E2E_FMT(d.notify_env, sizeof d.notify_env, "@%s", sa.sun_path + 1);

    e2e_start(&d);
    e2e_signal(&d, SIGTERM);
    ck_assert_msg(e2e_wait_note(&d, "STOPPING=1", 5000), "notes: %s", d.notes);
    e2e_stop(&d, 5000);
}
END_TEST

/* Without $NOTIFY_SOCKET the daemon runs and stops just the same. */
START_TEST(no_notify_socket)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char want[64];
    base_config(&d, port, "2s");
    const char *args[] = { "-c", d.conf, NULL };
    e2e_spawn(&d, false, args);
    E2E_FMT(want, sizeof want, "listening on 127.0.0.1:%u", port);
    ck_assert(e2e_wait_log(&d, want, 5000));
    int fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "hi"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

static void stop_with(int sig)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    base_config(&d, port, "2s");
    e2e_start(&d);
    int fds[20];
    for (int i = 0; i < 20; i++) {
        fds[i] = e2e_connect(port);
        ck_assert_int_ge(fds[i], 0);
    }
    ck_assert(e2e_echo_roundtrip(fds[0], "bye"));
    int64_t t0 = e2e_now_ms();
    e2e_signal(&d, sig);
    int st = e2e_wait_exit(&d, 2000 + 1000);
    int64_t took = e2e_now_ms() - t0;
    ck_assert_msg(st != -ETIMEDOUT, "still running %lld ms after signal %d",
                  (long long)took, sig);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x:\n%s", st,
                  e2e_read_file(d.err));
    /* nothing holds it up: well under the 2 s deadline */
    ck_assert_msg(took < 1000, "took %lld ms", (long long)took);
    for (int i = 0; i < 20; i++)
        close(fds[i]);
    e2e_stop(&d, 1000);
}

START_TEST(sigterm_exits_0_promptly) { stop_with(SIGTERM); }
END_TEST

START_TEST(sigint_exits_0_promptly) { stop_with(SIGINT); }
END_TEST

/* A task that swallows its cancellation cannot hold the daemon past
 * stop_timeout; the daemon still exits cleanly (never by a crash). */
START_TEST(stop_deadline_bounds_a_stubborn_task)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 500ms\n"
        "\n"
        "[plugin:mule]\n"
        "module = stubborn\n",
        e2e_fixtures());
    e2e_start(&d);
    int64_t t0 = e2e_now_ms();
    e2e_signal(&d, SIGTERM);
    int st = e2e_wait_exit(&d, 500 + 2000);
    int64_t took = e2e_now_ms() - t0;
    ck_assert_msg(st != -ETIMEDOUT, "still running %lld ms after SIGTERM", (long long)took);
    ck_assert_msg(WIFEXITED(st), "killed by signal %d:\n%s", WTERMSIG(st),
                  e2e_read_file(d.err));
    ck_assert_msg(WEXITSTATUS(st) == 0, "exit %d", WEXITSTATUS(st));
    ck_assert_msg(took >= 400, "did not wait for the task: %lld ms", (long long)took);
    ck_assert_msg(e2e_file_contains(d.err, "plugin:mule: 1 tasks and 0 jobs still running after "
                                    "the stop timeout; stopping anyway"),
                  "stderr:\n%s", e2e_read_file(d.err));
    e2e_stop(&d, 1000);
}
END_TEST

/* SIGUSR1 logs the counters: the loop line and one line per instance. */
START_TEST(sigusr1_logs_stats)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    base_config(&d, port, "2s");
    e2e_start(&d);
    int fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "count me"));
    e2e_signal(&d, SIGUSR1);
    ck_assert_msg(e2e_wait_log(&d, "loop: ticks=", 2000), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, "plugin:echo1: module=", 2000));
    ck_assert(e2e_wait_log(&d, "plugin:beat: module=", 2000));
    char *log = e2e_read_file(d.err);
    const char *loop = strstr(log, "loop: ticks=");
    ck_assert_msg(strstr(loop, "instances=2") != NULL, "%s", loop);
    ck_assert_msg(strstr(loop, "modules=2") != NULL, "%s", loop);
    /* the instance's scope accounting: one accept task and one connection
     * task, one fd (the client's: the listener is the daemon's, leased),
     * handler time and handles run */
    const char *echo = strstr(log, "plugin:echo1: module=");
    unsigned long long handles_run = 0;
    double handler_ms = -1;
    ck_assert_msg(strstr(echo, "tasks=2 ") && strstr(echo, "fds=1 "), "%s", echo);
    const char *h = strstr(echo, "handler_ms="), *r = strstr(echo, "handles_run=");
    ck_assert_msg(h && r, "%s", echo);
    ck_assert_int_eq(sscanf(h, "handler_ms=%lf", &handler_ms), 1);
    ck_assert_int_eq(sscanf(r, "handles_run=%llu", &handles_run), 1);
    /* 2, not 3: READY=1 goes out before the loop's first tick, so the
     * client's connect can be in the backlog when the accept task first
     * runs, and that accept completes without a suspension (a step) */
    ck_assert_msg(handler_ms > 0 && handles_run >= 2, "%s", echo);
    free(log);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A second SIGTERM while stopping changes nothing but a log line. */
START_TEST(second_sigterm_while_stopping)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 400ms\n"
        "\n"
        "[plugin:mule]\n"
        "module = stubborn\n",
        e2e_fixtures());
    e2e_start(&d);
    e2e_signal(&d, SIGTERM);
    ck_assert(e2e_wait_note(&d, "STOPPING=1", 2000));
    e2e_signal(&d, SIGTERM);
    int st = e2e_wait_exit(&d, 3000);
    ck_assert_msg(st != -ETIMEDOUT && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "status %d", st);
    ck_assert_msg(e2e_file_contains(d.err, "already stopping"), "stderr:\n%s",
                  e2e_read_file(d.err));
    e2e_stop(&d, 1000);
}
END_TEST

/* Before the loop exists nothing reads the signalfd: a tickd stuck there
 * (here: opening a configuration that is a FIFO nobody writes) must still
 * die of SIGTERM / SIGINT, and `tickd -t` is never in a loop at all, so
 * Ctrl-C must interrupt it wherever it hangs. */
static void killable_while_reading_config(bool test, int sig)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char fifo[PATH_MAX + 16];
    E2E_FMT(fifo, sizeof fifo, "%s/fifo.ini", d.dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    const char *args_t[] = { "-t", "-c", fifo, NULL };
    const char *args_run[] = { "-c", fifo, NULL };
    e2e_spawn(&d, true, test ? args_t : args_run);
    /* let it reach the open() */
    e2e_sleep_ms(300);
    ck_assert(!e2e_exited(&d));
    e2e_signal(&d, sig);
    int st = e2e_wait_exit(&d, 3000);
    if (st == -ETIMEDOUT)
        kill(d.pid, SIGKILL);
    ck_assert_msg(st != -ETIMEDOUT, "%s ignored signal %d while reading its "
                  "configuration", test ? "tickd -t" : "tickd", sig);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == sig, "status 0x%x", st);
    e2e_stop(&d, 1000);
}

START_TEST(sigint_interrupts_a_hung_config_test) { killable_while_reading_config(true, SIGINT); }
END_TEST

START_TEST(sigterm_kills_a_start_up_stuck_reading_config) { killable_while_reading_config(false, SIGTERM); }
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e signals");
    TCase *tc = tcase_create("signals");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, notify_sequence_start_reload_stop);
    tcase_add_test(tc, notify_abstract_socket);
    tcase_add_test(tc, no_notify_socket);
    tcase_add_test(tc, sigterm_exits_0_promptly);
    tcase_add_test(tc, sigint_exits_0_promptly);
    tcase_add_test(tc, stop_deadline_bounds_a_stubborn_task);
    tcase_add_test(tc, sigusr1_logs_stats);
    tcase_add_test(tc, second_sigterm_while_stopping);
    tcase_add_test(tc, sigint_interrupts_a_hung_config_test);
    tcase_add_test(tc, sigterm_kills_a_start_up_stuck_reading_config);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
