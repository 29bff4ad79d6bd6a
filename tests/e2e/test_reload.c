/*
 * test_reload.c — SIGHUP: new instances start while unchanged ones keep
 * their connections; changed and removed ones stop; a broken config keeps
 * the running one (error logged with file:line); 20 reloads that load and
 * unload modules leak no fds and really unmap the module.
 */
#include "e2e.h"

#define HEADER                                                              \
    "[daemon]\n"                                                            \
    "plugin_dir = %s\n"                                                     \
    "stop_timeout = 2s\n"

static void config1(e2e_daemon *d, uint16_t p1)
{
    e2e_config(d, HEADER
        "\n"
        "[plugin:echo1]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n",
        e2e_plugins(), p1);
}

static void config2(e2e_daemon *d, uint16_t p1, uint16_t p2)
{
    e2e_config(d, HEADER
        "\n"
        "[plugin:echo1]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n"
        "\n"
        "[plugin:echo2]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n",
        e2e_plugins(), p1, p2);
}

START_TEST(sighup_adds_instance_keeps_connections)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port(), p2 = e2e_free_port();
    config1(&d, p1);
    e2e_start(&d);
    ck_assert_int_eq(e2e_connect(p2), -ECONNREFUSED);

    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "before the reload"));

    config2(&d, p1, p2);
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "reloaded: 1 started, 0 stopped, 1 unchanged", 2000),
                  "stderr:\n%s", e2e_read_file(d.err));

    /* the same connection, untouched, still echoes */
    ck_assert(e2e_echo_roundtrip(fd, "after the reload"));
    int fd2 = e2e_connect(p2);
    ck_assert_int_ge(fd2, 0);
    ck_assert(e2e_echo_roundtrip(fd2, "new instance"));
    ck_assert(e2e_echo_roundtrip(fd, "still the first"));

    /* remove echo2: its client is closed, echo1's is not */
    config1(&d, p1);
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 0 started, 1 stopped, 1 unchanged", 2000));
    ck_assert_msg(e2e_wait_closed(fd2, 3000), "echo2's client still open");
    ck_assert_int_eq(e2e_connect(p2), -ECONNREFUSED);
    ck_assert(e2e_echo_roundtrip(fd, "survived two reloads"));
    close(fd2);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A changed section restarts its instance. Here the change moves it to
 * another port: the new incarnation serves on p3 before the old one
 * retires; the old one's idle client is closed gracefully (EOF) as it
 * drains, and p1, which no lease uses any more, is closed at the end of
 * the reload. (A change that keeps the port hands the socket over with
 * no refused connect: test_reload_handoff.c.) */
START_TEST(sighup_restarts_changed_instance)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port(), p3 = e2e_free_port();
    config1(&d, p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "old"));

    config1(&d, p3);
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped, 0 unchanged", 2000));
    ck_assert_msg(e2e_wait_closed(fd, 3000), "old instance's client still open");
    close(fd);
    ck_assert_int_eq(e2e_connect(p1), -ECONNREFUSED);
    fd = e2e_connect(p3);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "new"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* Each broken config is rejected as a whole: the error is logged with
 * file:line, READY=1 follows, the old instance keeps its client and the
 * new one (echo2, present in every broken file) never starts. */
START_TEST(broken_config_on_sighup_keeps_old_instances)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port(), p2 = e2e_free_port();
    config1(&d, p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "before"));

    static const struct {
        const char *tail;   /* appended after a valid echo1 + echo2 */
        int line;
        const char *msg;
    } broken[] = {
        { "this is not ini\n", 12, "syntax error" },
        { "[plugin:bad]\nmodule = nosuch\n", 13, "plugin:bad: cannot load module 'nosuch'" },
        { "[plugin:bad]\nmodule = echo\nlisten = 127.0.0.1:99999\n", 14,
          "plugin:bad: bad listen address '127.0.0.1:99999'" },
        { "[plugin:hb]\nmodule = heartbeat\ninterval = forever\n", 14,
          "plugin:hb: bad duration 'forever' for key 'interval' (use e.g. 250ms, 5s, 2m)" },
        { "[foo]\n", 12, "unknown section [foo]" },
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        char want[PATH_MAX + 256];
        e2e_config(&d, HEADER                 /* 1-3 */
            "\n"                              /* 4 */
            "[plugin:echo1]\n"                /* 5 */
            "module = echo\n"                 /* 6 */
            "listen = 127.0.0.1:%u\n"         /* 7 */
            "\n"                              /* 8 */
            "[plugin:echo2]\n"                /* 9 */
            "module = echo\n"                 /* 10 */
            "listen = 127.0.0.1:%u\n"         /* 11 */
            "%s",                             /* 12... */
            e2e_plugins(), p1, p2, broken[i].tail);
        e2e_reload(&d);
        E2E_FMT(want, sizeof want,
                "reload failed, keeping the running configuration: %s:%d: %s",
                d.conf, broken[i].line, broken[i].msg);
        ck_assert_msg(e2e_wait_log(&d, want, 2000), "case %zu: no\n  %s\nin:\n%s",
                      i, want, e2e_read_file(d.err));
        ck_assert_msg(e2e_echo_roundtrip(fd, "still here"), "case %zu", i);
        ck_assert_msg(e2e_connect(p2) == -ECONNREFUSED, "case %zu: echo2 started", i);
        ck_assert_msg(!e2e_exited(&d), "case %zu: tickd exited", i);
    }
    /* a good config afterwards applies normally */
    config2(&d, p1, p2);
    e2e_reload(&d);
    int fd2 = e2e_connect(p2);
    ck_assert_int_ge(fd2, 0);
    ck_assert(e2e_echo_roundtrip(fd2, "finally"));
    ck_assert(e2e_echo_roundtrip(fd, "and the first"));
    close(fd2);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A new instance whose start() fails on reload: the daemon keeps running
 * and the unchanged instance keeps serving. */
START_TEST(start_failure_on_reload_keeps_daemon_running)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    char dir[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32];
    E2E_FMT(dir, sizeof dir, "%s/plugins", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/echo.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/echo.so", dir);
    e2e_copy_file(src, dst, 0755);
    E2E_FMT(src, sizeof src, "%s/startfail.so", e2e_fixtures());
    E2E_FMT(dst, sizeof dst, "%s/startfail.so", dir);
    e2e_copy_file(src, dst, 0755);

    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               dir, p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "before"));

    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
               "\n[plugin:sf]\nmodule = startfail\n", dir, p1);
    e2e_reload(&d);
    char want[PATH_MAX + 64];
    E2E_FMT(want, sizeof want, "tickd: error: %s:9: plugin:sf: start failed: no luck today\n",
            d.conf);
    ck_assert_msg(e2e_wait_log(&d, want, 2000), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, "reloaded with errors: 0 started, 1 failed to start, "
                           "0 stopped, 1 unchanged", 2000));
    ck_assert(!e2e_exited(&d));
    ck_assert(e2e_echo_roundtrip(fd, "after"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A burst of SIGHUPs while the config changes under them: the daemon
 * stays up and ends on the last file (a SIGHUP during a reload runs one
 * more reload after it). */
START_TEST(sighup_burst_ends_on_last_config)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port(), p2 = e2e_free_port();
    config1(&d, p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 10; i++) {
        if (i % 2)
            config1(&d, p1);
        else
            config2(&d, p1, p2);
        e2e_signal(&d, SIGHUP);
        e2e_sleep_ms(i * 3);
    }
    config2(&d, p1, p2);
    e2e_signal(&d, SIGHUP);
    /* settle: wait until echo2 answers (bounded) */
    int fd2 = -1;
    for (int i = 0; i < 100 && fd2 < 0; i++) {
        fd2 = e2e_connect(p2);
        if (fd2 < 0)
            e2e_sleep_ms(20);
    }
    ck_assert_msg(fd2 >= 0, "echo2 never came up:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_echo_roundtrip(fd2, "after the storm"));
    ck_assert_msg(e2e_echo_roundtrip(fd, "echo1 untouched"), "echo1's client lost");
    ck_assert(!e2e_exited(&d));
    close(fd2);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

static bool maps_contain(pid_t pid, const char *needle)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    return e2e_file_contains(path, needle);
}

/*
 * 20 reloads cycling through: echo1 + heartbeat; echo1 changed (restarted)
 * + heartbeat; heartbeat alone (echo.so unloaded); back. The fd count
 * afterwards equals the count before, and with no echo instance left the
 * module is no longer mapped (what is mapped is the daemon's sealed copy,
 * "/memfd:echo.so (deleted)", not the file).
 */
START_TEST(twenty_reloads_leak_no_fds)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    const char *echo_so = "/memfd:echo.so ";
    const char *beat = "\n[plugin:beat]\nmodule = heartbeat\ninterval = 20ms\n";

#define CONFIG_A() e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\n" \
        "listen = 127.0.0.1:%u\nmax_clients = 100\n%s", e2e_plugins(), p1, beat)
#define CONFIG_B() e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\n" \
        "listen = 127.0.0.1:%u\nmax_clients = 200\n%s", e2e_plugins(), p1, beat)
#define CONFIG_C() e2e_config(&d, HEADER "%s", e2e_plugins(), beat)

    CONFIG_A();
    e2e_start(&d);
    /* one client round so the listener has accepted at least once */
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "warm up"));
    close(fd);
    e2e_sleep_ms(50);
    int before = e2e_count_fds(d.pid);
    ck_assert(maps_contain(d.pid, echo_so));

    for (int i = 1; i <= 20; i++) {
        switch (i % 3) {
        case 0: CONFIG_A(); break;
        case 1: CONFIG_B(); break;
        case 2: CONFIG_C(); break;
        }
        e2e_reload(&d);
        if (i % 3 == 2) {
            /* the removed incarnation retires after READY: give it time */
            for (int w = 0; w < 200 && maps_contain(d.pid, echo_so); w++)
                e2e_sleep_ms(10);
            ck_assert_msg(!maps_contain(d.pid, echo_so),
                          "reload %d: echo.so still mapped with no echo instance", i);
            ck_assert_int_eq(e2e_connect(p1), -ECONNREFUSED);
        } else {
            fd = e2e_connect(p1);
            ck_assert_msg(fd >= 0, "reload %d: connect: %s", i, strerror(-fd));
            ck_assert(e2e_echo_roundtrip(fd, "cycle"));
            close(fd);
        }
    }
    /* reload 20 left config C (heartbeat alone): end on A, the start */
    CONFIG_A();
    e2e_reload(&d);
    fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "last"));
    close(fd);
    e2e_sleep_ms(50);
    int after = e2e_count_fds(d.pid);
    ck_assert_msg(after == before, "fds before %d, after 21 reloads %d", before, after);
    fprintf(stderr, "reload: tickd has %d fds before and after 21 reloads\n", after);
    ck_assert(!e2e_exited(&d));
    e2e_stop(&d, 5000);
#undef CONFIG_A
#undef CONFIG_B
#undef CONFIG_C
}
END_TEST

/* A plugin that leaves plain timers armed after stop() (one in its .bss,
 * one in its instance memory): removing it on reload must not leave the
 * loop calling into the dlclosed module or the freed instance. The
 * daemon disarms them before the unload and says so. */
/* A private plugin directory holding echo.so and one fixture module. */
static void plugin_dir_with_fixture(e2e_daemon *d, char *dir, size_t len, const char *fixture)
{
    char src[PATH_MAX + 64], dst[PATH_MAX + 64];
    E2E_FMT(dir, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/echo.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/echo.so", dir);
    e2e_copy_file(src, dst, 0755);
    E2E_FMT(src, sizeof src, "%s/%s.so", e2e_fixtures(), fixture);
    E2E_FMT(dst, sizeof dst, "%s/%s.so", dir, fixture);
    e2e_copy_file(src, dst, 0755);
}

START_TEST(timers_left_armed_are_disarmed_before_unload)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    char dir[PATH_MAX];
    plugin_dir_with_fixture(&d, dir, sizeof dir, "leaktimer");

    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
               "\n[plugin:lt]\nmodule = leaktimer\n", dir, p1);
    e2e_start(&d);
    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               dir, p1);
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "reloaded: 0 started, 1 stopped, 1 unchanged", 2000),
                  "stderr:\n%s", e2e_read_file(d.err));
    ck_assert_msg(e2e_wait_log(&d, "plugin:lt: stopping: cancelling 1 timer 'leaked "
                               "module timer', 1 timer 'leaked instance timer'", 100),
                  "stderr:\n%s", e2e_read_file(d.err));
    /* past the timers' 300 ms: nothing fired, nothing crashed */
    usleep(500 * 1000);
    ck_assert_msg(!e2e_exited(&d), "stderr:\n%s", e2e_read_file(d.err));
    char *log = e2e_read_file(d.err);
    ck_assert_msg(!strstr(log, "leaked timer fired"), "stderr:\n%s", log);
    free(log);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "still serving"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A worker-thread job cannot be interrupted: removing its instance while
 * the job runs must wait for it before freeing the instance and unloading
 * the module (this crashed with SIGSEGV before the engine counted jobs in
 * the task group). */
START_TEST(removed_instance_waits_for_its_thread_job)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    char dir[PATH_MAX];
    plugin_dir_with_fixture(&d, dir, sizeof dir, "slowjob");

    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
               "\n[plugin:job]\nmodule = slowjob\n", dir, p1);
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "plugin:job: job started", 2000));
    usleep(100 * 1000);                       /* the job is running now */
    int64_t t0 = e2e_now_ms();
    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               dir, p1);
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "reloaded: 0 started, 1 stopped, 1 unchanged", 3000),
                  "stderr:\n%s", e2e_read_file(d.err));
    /* the reload is done at once (nothing to start); the retirement
     * waited for the job (~300 ms left), not for nothing */
    ck_assert_msg(e2e_wait_log(&d, "plugin:job: load ", 3000), "stderr:\n%s",
                  e2e_read_file(d.err));
    ck_assert_int_ge(e2e_now_ms() - t0, 150);
    usleep(300 * 1000);
    ck_assert_msg(!e2e_exited(&d), "tickd died; stderr:\n%s", e2e_read_file(d.err));
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "still serving"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e reload");
    TCase *tc = tcase_create("reload");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sighup_adds_instance_keeps_connections);
    tcase_add_test(tc, sighup_restarts_changed_instance);
    tcase_add_test(tc, broken_config_on_sighup_keeps_old_instances);
    tcase_add_test(tc, start_failure_on_reload_keeps_daemon_running);
    tcase_add_test(tc, sighup_burst_ends_on_last_config);
    tcase_add_test(tc, twenty_reloads_leak_no_fds);
    tcase_add_test(tc, timers_left_armed_are_disarmed_before_unload);
    tcase_add_test(tc, removed_instance_waits_for_its_thread_job);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
