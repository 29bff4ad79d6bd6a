/*
 * test_features.c — daemon features seen from outside: the drop-in
 * directory, relative plugin_dir, log levels, journald "<N>" prefixes,
 * the watchdog ping, STATUS= updates from instances, --trace.
 */
#include "e2e.h"

static void echo_ok(uint16_t port, const char *what)
{
    int fd = e2e_connect(port);
    ck_assert_msg(fd >= 0, "%s: connect %u: %s", what, port, strerror(-fd));
    ck_assert_msg(e2e_echo_roundtrip(fd, what), "%s: no echo", what);
    close(fd);
}

/* conf.d/NAME.ini files are read after the main file in lexical order; other
 * files there are ignored; a reload reads the directory again; an error
 * in a drop-in names that file and its line. */
START_TEST(dropin_directory)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port(), p2 = e2e_free_port(), p3 = e2e_free_port();
    char dir[PATH_MAX], f[PATH_MAX + 32];
    E2E_FMT(dir, sizeof dir, "%s/conf.d", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "include_dir = conf.d\n",
        e2e_plugins());
    /* 20- would be refused if read before 10- (echo1 defined twice is not
     * the point here: each file defines its own instance) */
    E2E_FMT(f, sizeof f, "%s/10-first.ini", dir);
    e2e_write_file(f, "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n", p1);
    E2E_FMT(f, sizeof f, "%s/20-second.ini", dir);
    e2e_write_file(f, "[plugin:echo2]\nmodule = echo\nlisten = 127.0.0.1:%u\n", p2);
    E2E_FMT(f, sizeof f, "%s/README", dir);
    e2e_write_file(f, "not an ini file: ignored\n");
    E2E_FMT(f, sizeof f, "%s/30-off.ini.disabled", dir);
    e2e_write_file(f, "garbage that would not parse\n");

    e2e_start(&d);
    echo_ok(p1, "from 10-first.ini");
    echo_ok(p2, "from 20-second.ini");

    /* a new drop-in appears: SIGHUP picks it up */
    E2E_FMT(f, sizeof f, "%s/25-third.ini", dir);
    e2e_write_file(f, "[plugin:echo3]\nmodule = echo\nlisten = 127.0.0.1:%u\n", p3);
    e2e_reload(&d);
    echo_ok(p3, "from 25-third.ini");
    echo_ok(p1, "echo1 after reload");
    e2e_stop(&d, 5000);

    /* an error in a drop-in: that file, that line */
    E2E_FMT(f, sizeof f, "%s/40-bad.ini", dir);
    e2e_write_file(f, "[plugin:echo4]\nmodule = echo\nlisten = 127.0.0.1:1\nfoo = 1\n");
    const char *args[] = { "-t", "-c", d.conf, NULL };
    int rc = e2e_run(&d, args, 10000);
    char *err = e2e_read_file(d.err), want[PATH_MAX + 128];
    E2E_FMT(want, sizeof want, "conf.d/40-bad.ini:4: plugin:echo4: unknown key 'foo'");
    ck_assert_msg(rc == EX_CONFIG_, "exit %d", rc);
    ck_assert_msg(strstr(err, want) != NULL, "no\n  %s\nin:\n%s", want, err);
    free(err);
    e2e_kill(&d);
}
END_TEST

/* plugin_dir relative to the config file's directory, not the cwd. */
START_TEST(relative_plugin_dir)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char dir[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32];
    E2E_FMT(dir, sizeof dir, "%s/mods", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/echo.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/echo.so", dir);
    e2e_copy_file(src, dst, 0755);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = mods\n"
        "[plugin:echo1]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n",
        port);
    e2e_start(&d);   /* the daemon's cwd is the test's, not d.dir */
    echo_ok(port, "relative plugin_dir");
    e2e_stop(&d, 5000);
}
END_TEST

static void beat_config(e2e_daemon *d, const char *level)
{
    e2e_config(d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "log_level = %s\n"
        "[plugin:beat]\n"
        "module = heartbeat\n"
        "interval = 50ms\n"
        "message = thump\n",
        e2e_plugins(), level);
}

START_TEST(log_level_filters)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    beat_config(&d, "warning");
    e2e_start(&d);
    e2e_sleep_ms(300);
    ck_assert_msg(!e2e_file_contains(d.err, "thump"), "info logged at warning:\n%s",
                  e2e_read_file(d.err));
    /* a reload that lowers the level takes effect */
    beat_config(&d, "info");
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "plugin:beat: thump\n", 2000));
    e2e_stop(&d, 5000);
}
END_TEST

/* $JOURNAL_STREAM naming our stderr (dev:inode) switches to "<N>"
 * priority prefixes; one naming anything else does not. */
START_TEST(journald_prefixes)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    beat_config(&d, "info");
    static char env[64];
    struct stat st;

    /* create stderr first so its inode is known (the child appends) */
    e2e_write_file(d.err, "%s", "");
    ck_assert_int_eq(stat(d.err, &st), 0);
    E2E_FMT(env, sizeof env, "JOURNAL_STREAM=%llu:%llu",
            (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    d.env[0] = env;
    e2e_start(&d);
    ck_assert_msg(e2e_wait_log(&d, "<6>plugin:beat: thump\n", 2000),
                  "stderr:\n%s", e2e_read_file(d.err));
    e2e_stop(&d, 5000);
    char *log = e2e_read_file(d.err);
    ck_assert_msg(strstr(log, "tickd: ") == NULL, "plain prefix in journal mode:\n%s", log);
    free(log);

    /* not our stderr: plain text */
    e2e_daemon_init(&d);
    beat_config(&d, "info");
    d.env[0] = "JOURNAL_STREAM=1:1";
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "tickd: plugin:beat: thump\n", 2000));
    e2e_stop(&d, 5000);
    ck_assert(!e2e_file_contains(d.err, "<6>"));
}
END_TEST

static int watchdog_pings(const char *pid_env, const char *watchdog_key)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "%s"
        "[plugin:beat]\n"
        "module = heartbeat\n",
        e2e_plugins(), watchdog_key);
    d.env[0] = "WATCHDOG_USEC=200000";   /* ping every 100 ms */
    d.env[1] = (char *)pid_env;
    e2e_start(&d);
    e2e_sleep_ms(600);
    e2e_notes_drain(&d);
    int n = e2e_count_substr(d.notes, "WATCHDOG=1");
    e2e_stop(&d, 5000);
    return n;
}

START_TEST(watchdog_pings_at_half_period)
{
    int n = watchdog_pings(NULL, "");
    ck_assert_msg(n >= 3 && n <= 8, "%d WATCHDOG=1 in 600 ms at a 100 ms period", n);
    /* WATCHDOG_PID names another process: not ours to ping */
    ck_assert_int_eq(watchdog_pings("WATCHDOG_PID=1", ""), 0);
    /* watchdog = no */
    ck_assert_int_eq(watchdog_pings(NULL, "watchdog = no\n"), 0);
}
END_TEST

/* A stop held up by a slow instance keeps pinging: systemd must not kill
 * a daemon that is stopping within its own deadline. */
START_TEST(watchdog_pings_while_stopping)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 800ms\n"
        "[plugin:mule]\n"
        "module = stubborn\n",
        e2e_fixtures());
    d.env[0] = "WATCHDOG_USEC=200000";
    e2e_start(&d);
    e2e_signal(&d, SIGTERM);
    ck_assert(e2e_wait_note(&d, "STOPPING=1", 2000));
    int st = e2e_wait_exit(&d, 3000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    e2e_notes_drain(&d);
    int n = e2e_count_substr(d.notes + d.notes_seen, "WATCHDOG=1");
    ck_assert_msg(n >= 4, "%d WATCHDOG=1 during an 800 ms stop at a 100 ms period", n);
    e2e_stop(&d, 1000);
}
END_TEST

/* tick_instance_set_status() reaches systemd as STATUS=: the heartbeat's
 * "beat N" shows up, coalesced, while it runs. */
START_TEST(instance_status_is_sent)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    beat_config(&d, "info");
    e2e_start(&d);
    int64_t end = e2e_now_ms() + 3000;
    while (!strstr(d.notes, "; beat: beat 2") && e2e_now_ms() < end) {
        e2e_sleep_ms(20);
        e2e_notes_drain(&d);
    }
    ck_assert_msg(strstr(d.notes, "; beat: beat 2") != NULL, "notes:\n%s", d.notes);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(trace_prints_ticks)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    beat_config(&d, "info");
    const char *args[] = { "-c", d.conf, "--trace", NULL };
    e2e_spawn(&d, true, args);
    ck_assert(e2e_wait_note(&d, "READY=1", 5000));
    e2e_sleep_ms(200);
    e2e_stop(&d, 5000);
    char *out = e2e_read_file(d.out);
    ck_assert_msg(strncmp(out, "Loop step 1 [", 13) == 0, "stdout:\n%.500s", out);
    ck_assert_msg(strstr(out, "<Handle name='heartbeat'") != NULL, "stdout:\n%.2000s", out);
    free(out);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e features");
    TCase *tc = tcase_create("features");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dropin_directory);
    tcase_add_test(tc, relative_plugin_dir);
    tcase_add_test(tc, log_level_filters);
    tcase_add_test(tc, journald_prefixes);
    tcase_add_test(tc, watchdog_pings_at_half_period);
    tcase_add_test(tc, watchdog_pings_while_stopping);
    tcase_add_test(tc, instance_status_is_sent);
    tcase_add_test(tc, trace_prints_ticks);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
