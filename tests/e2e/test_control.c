/*
 * test_control.c — the control socket: `tickd reload` waits for the
 * reload's verdict (ok, a rejected configuration, a failed start),
 * `tickd status` lists the instances, the socket's mode, stale and live
 * socket files, two reloads at once, SIGHUP unchanged, the socket gone
 * after SIGTERM, $RUNTIME_DIRECTORY, and the protocol's limits.
 */
#include "e2e.h"

#define EX_UNAVAILABLE_ 69

/* d's config: control_socket in its dir, then the sections (printf). */
static char sock_path[PATH_MAX];

static void sock_of(const e2e_daemon *d)
{
    E2E_FMT(sock_path, sizeof sock_path, "%s/control", d->dir);
}

/* Run `tickd ARGS...` as a client; exit code, stdout and stderr (malloc'd). */
static int client(const char *const *args, char **out, char **err)
{
    e2e_daemon c;
    e2e_daemon_init(&c);
    int rc = e2e_run(&c, args, 30000);
    *out = e2e_read_file(c.out);
    *err = e2e_read_file(c.err);
    e2e_kill(&c);
    return rc;
}

static int ctl(const char *cmd, const e2e_daemon *d, char **out, char **err)
{
    const char *args[] = { cmd, "-c", d->conf, NULL };
    return client(args, out, err);
}

static void echo_config(e2e_daemon *d, uint16_t port, const char *extra)
{
    sock_of(d);
    e2e_config(d, "[daemon]\nplugin_dir = %s\ncontrol_socket = %s\nstop_timeout = 2s\n"
               "[plugin:echo]\nlisten = 127.0.0.1:%u\n%s", e2e_plugins(), sock_path,
               (unsigned)port, extra);
}

static void expect_echo(uint16_t port)
{
    int fd = e2e_connect(port);
    ck_assert_msg(fd >= 0, "echo on %u: %s", (unsigned)port, strerror(-fd));
    ck_assert(e2e_echo_roundtrip(fd, "still here\n"));
    close(fd);
}

START_TEST(reload_good_config_says_reloaded)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    echo_config(&d, port, "[plugin:beat]\nmodule = heartbeat\ninterval = 1s\n");
    e2e_start(&d);
    echo_config(&d, port, "[plugin:beat]\nmodule = heartbeat\ninterval = 2s\n");
    char *out, *err;
    ck_assert_int_eq(ctl("reload", &d, &out, &err), 0);
    ck_assert_str_eq(out, "reloaded: 1 started, 1 stopped, 1 unchanged, 0 reconfigured\n");
    ck_assert_str_eq(err, "");
    ck_assert(e2e_wait_note(&d, "RELOADING=1", 1000));
    ck_assert(e2e_wait_note(&d, "READY=1", 1000));
    free(out);
    free(err);
    expect_echo(port);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(reload_rejected_config_keeps_the_old_one)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    echo_config(&d, port, "");
    e2e_start(&d);
    echo_config(&d, port, "[plugin:beat]\nmodule = heartbeat\ninterval = soon\n");
    char *out, *err, want[PATH_MAX + 64];
    ck_assert_int_eq(ctl("reload", &d, &out, &err), 78);
    ck_assert_str_eq(out, "");
    E2E_FMT(want, sizeof want, "%s:9: plugin:beat: ", d.conf);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0 && e2e_count_substr(err, "\n") == 1,
                  "want %s..., got: %s", want, err);
    free(out);
    free(err);
    expect_echo(port);
    /* a syntax error elsewhere: the same, from the config reader */
    e2e_write_file(d.conf, "[daemon]\ncontrol_socket = %s\nplugin_dir = %s\nbogus = 1\n",
                   sock_path, e2e_plugins());
    ck_assert_int_eq(ctl("reload", &d, &out, &err), 78);
    E2E_FMT(want, sizeof want, "%s:4: unknown key 'bogus' in [daemon]\n", d.conf);
    ck_assert_str_eq(err, want);
    free(out);
    free(err);
    expect_echo(port);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(reload_with_a_failed_start_is_an_error)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port(), taken = e2e_free_port();
    int hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(taken),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(hold, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(hold, 1), 0);
    echo_config(&d, port, "");
    e2e_start(&d);
    char extra[128], *out, *err;
    E2E_FMT(extra, sizeof extra, "[plugin:echo2]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
            (unsigned)taken);
    echo_config(&d, port, extra);
    ck_assert_int_eq(ctl("reload", &d, &out, &err), 1);
    ck_assert_msg(strstr(err, "reloaded with errors: 0 started, 1 failed to start") &&
                  strstr(err, "plugin:echo2: start failed: ") &&
                  e2e_count_substr(err, "\n") == 1, "stderr: %s", err);
    free(out);
    free(err);
    expect_echo(port);
    close(hold);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(status_lists_the_instances)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    echo_config(&d, port, "[plugin:beat]\nmodule = heartbeat\n");
    e2e_start(&d);
    char *out, *err;
    const char *args[] = { "status", "--socket", sock_path, NULL };
    ck_assert_int_eq(client(args, &out, &err), 0);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(e2e_count_substr(out, "\n"), 2);
    ck_assert_msg(strncmp(out, "plugin:echo: module=echo state=running tasks=", 45) == 0,
                  "%s", out);
    ck_assert_msg(strstr(out, "\nplugin:beat: module=heartbeat state=running ") &&
                  strstr(out, " status='beat "), "%s", out);
    /* the same fields as SIGUSR1's lines */
    ck_assert_msg(strstr(out, " handler_ms=") && strstr(out, " fds="), "%s", out);
    free(out);
    free(err);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(socket_is_0600_and_removed_at_exit)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    echo_config(&d, e2e_free_port(), "");
    e2e_start(&d);
    struct stat st;
    ck_assert_int_eq(lstat(sock_path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_msg((st.st_mode & 0777) == 0600, "mode %o", st.st_mode & 0777);
    ck_assert_uint_eq(st.st_uid, geteuid());
    e2e_stop(&d, 10000);
    ck_assert_msg(lstat(sock_path, &st) < 0 && errno == ENOENT, "socket left after SIGTERM");
    char *out, *err;
    ck_assert_int_eq(ctl("status", &d, &out, &err), EX_UNAVAILABLE_);
    ck_assert_msg(strstr(err, "no daemon answers on "), "%s", err);
    free(out);
    free(err);
}
END_TEST

/* Two `tickd reload` at once: the second arrives while the first reload
 * waits for a stubborn instance's stop, and gets the verdict of the
 * reload after it, which read the file it wrote. */
START_TEST(two_reloads_at_once)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    sock_of(&d);
    const char *head = "[daemon]\nplugin_dir = %s\ncontrol_socket = %s\nstop_timeout = 1s\n%s";
    e2e_config(&d, head, e2e_fixtures(), sock_path,
               "[plugin:s1]\nmodule = stubborn\n[plugin:s2]\nmodule = stubborn\n");
    e2e_start(&d);
    e2e_config(&d, head, e2e_fixtures(), sock_path, "[plugin:s1]\nmodule = stubborn\n");
    e2e_daemon a, b;
    e2e_daemon_init(&a);
    e2e_daemon_init(&b);
    const char *args[] = { "reload", "-c", d.conf, NULL };
    e2e_spawn(&a, false, args);
    ck_assert(e2e_wait_log(&d, "reloading", 5000));
    e2e_config(&d, head, e2e_fixtures(), sock_path, "");
    e2e_spawn(&b, false, args);
    int sa = e2e_wait_exit(&a, 15000), sb = e2e_wait_exit(&b, 15000);
    char *oa = e2e_read_file(a.out), *ob = e2e_read_file(b.out);
    ck_assert_msg(WIFEXITED(sa) && WEXITSTATUS(sa) == 0, "first: 0x%x %s", sa, oa);
    ck_assert_msg(WIFEXITED(sb) && WEXITSTATUS(sb) == 0, "second: 0x%x %s", sb, ob);
    ck_assert_str_eq(oa, "reloaded: 0 started, 1 stopped, 1 unchanged, 0 reconfigured\n");
    ck_assert_str_eq(ob, "reloaded: 0 started, 1 stopped, 0 unchanged, 0 reconfigured\n");
    free(oa);
    free(ob);
    e2e_kill(&a);
    e2e_kill(&b);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(sighup_still_reloads)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    echo_config(&d, port, "");
    e2e_start(&d);
    echo_config(&d, port, "[plugin:beat]\nmodule = heartbeat\n");
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 1 started, 0 stopped, 1 unchanged", 2000));
    char *out, *err;
    ck_assert_int_eq(ctl("status", &d, &out, &err), 0);
    ck_assert_msg(strstr(out, "plugin:beat: module=heartbeat"), "%s", out);
    free(out);
    free(err);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(stale_socket_replaced_live_one_refused)
{
    e2e_daemon d, d2;
    e2e_daemon_init(&d);
    echo_config(&d, e2e_free_port(), "");
    /* a socket file nobody listens on, as a killed tickd leaves */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "replacing a stale socket file", 1000));
    char *out, *err;
    ck_assert_int_eq(ctl("status", &d, &out, &err), 0);
    free(out);
    free(err);
    /* a second daemon on the same socket: refused at start, 78 */
    e2e_daemon_init(&d2);
    e2e_write_file(d2.conf, "[daemon]\ncontrol_socket = %s\n", sock_path);
    const char *args[] = { "-c", d2.conf, NULL };
    e2e_spawn(&d2, true, args);
    int st = e2e_wait_exit(&d2, 5000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "status 0x%x", st);
    char want[PATH_MAX + 64];
    E2E_FMT(want, sizeof want, "%s:2: control_socket %s: another daemon is serving it",
            d2.conf, sock_path);
    ck_assert_msg(e2e_file_contains(d2.err, want), "%s", e2e_read_file(d2.err));
    e2e_kill(&d2);
    /* the first one still answers */
    ck_assert_int_eq(ctl("status", &d, &out, &err), 0);
    free(out);
    free(err);
    e2e_stop(&d, 10000);
}
END_TEST

START_TEST(runtime_directory_is_the_default)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char rt[PATH_MAX], env[PATH_MAX + 32], path[PATH_MAX + 16];
    E2E_FMT(rt, sizeof rt, "%s/rt", d.dir);
    ck_assert_int_eq(mkdir(rt, 0700), 0);
    E2E_FMT(env, sizeof env, "RUNTIME_DIRECTORY=%s", rt);
    E2E_FMT(path, sizeof path, "%s/control", rt);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:beat]\nmodule = heartbeat\n",
               e2e_plugins());
    d.env[0] = env;
    e2e_start(&d);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    /* the client finds it the same way */
    e2e_daemon c;
    e2e_daemon_init(&c);
    c.env[0] = env;
    const char *args[] = { "status", "-c", d.conf, NULL };
    ck_assert_int_eq(e2e_run(&c, args, 10000), 0);
    ck_assert(e2e_file_contains(c.out, "plugin:beat: module=heartbeat"));
    e2e_kill(&c);
    e2e_stop(&d, 10000);
    ck_assert(lstat(path, &st) < 0);
}
END_TEST

START_TEST(turned_off_and_absent)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\ncontrol_socket = no\n"
               "[plugin:beat]\nmodule = heartbeat\n", e2e_plugins());
    e2e_start(&d);
    char *out, *err;
    ck_assert_int_eq(ctl("reload", &d, &out, &err), EX_UNAVAILABLE_);
    ck_assert_msg(strstr(err, "turned off"), "%s", err);
    free(out);
    free(err);
    char nosuch[PATH_MAX];
    E2E_FMT(nosuch, sizeof nosuch, "%s/nosuch", d.dir);
    const char *args[] = { "reload", "--socket", nosuch, NULL };
    ck_assert_int_eq(client(args, &out, &err), EX_UNAVAILABLE_);
    ck_assert_msg(strstr(err, "No such file or directory"), "%s", err);
    free(out);
    free(err);
    /* a relative path is a config error */
    e2e_config(&d, "[daemon]\ncontrol_socket = control\n");
    const char *check[] = { "-t", "-c", d.conf, NULL };
    e2e_daemon t;
    e2e_daemon_init(&t);
    ck_assert_int_eq(e2e_run(&t, check, 5000), 78);
    ck_assert(e2e_file_contains(t.err, ":2: control_socket 'control' is not an absolute path"));
    e2e_kill(&t);
    e2e_stop(&d, 10000);
}
END_TEST

/* Raw protocol: unknown commands and overlong lines are answered. */
START_TEST(protocol_limits)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    echo_config(&d, e2e_free_port(), "");
    e2e_start(&d);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char *q = "bogus\nstatus\n";
    ck_assert_int_eq(send(fd, q, strlen(q), 0), (ssize_t)strlen(q));
    char buf[4096] = "";
    size_t got = 0;
    while (!strstr(buf, "\nok\n") && got < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
        buf[got] = '\0';
    }
    ck_assert_msg(strncmp(buf, "error unknown command 'bogus' (use reload or status)\n"
                          "plugin:echo: module=echo ", 78) == 0, "%s", buf);
    char big[600];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(send(fd, big, sizeof big, MSG_NOSIGNAL), (ssize_t)sizeof big);
    got = 0;
    ssize_t n;
    while ((n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    ck_assert_str_eq(buf, "error command too long (at most 255 bytes)\n");
    close(fd);
    e2e_stop(&d, 10000);
}
END_TEST

static Suite *control_suite(void)
{
    Suite *s = suite_create("control");
    TCase *tc = tcase_create("control");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reload_good_config_says_reloaded);
    tcase_add_test(tc, reload_rejected_config_keeps_the_old_one);
    tcase_add_test(tc, reload_with_a_failed_start_is_an_error);
    tcase_add_test(tc, status_lists_the_instances);
    tcase_add_test(tc, socket_is_0600_and_removed_at_exit);
    tcase_add_test(tc, two_reloads_at_once);
    tcase_add_test(tc, sighup_still_reloads);
    tcase_add_test(tc, stale_socket_replaced_live_one_refused);
    tcase_add_test(tc, runtime_directory_is_the_default);
    tcase_add_test(tc, turned_off_and_absent);
    tcase_add_test(tc, protocol_limits);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(control_suite)
