/*
 * test_cli.c — the command line: -V, -h, bad usage (64), `-t` on the
 * shipped configuration and on a fresh one, and that -t starts nothing.
 */
#include "e2e.h"

START_TEST(version_prints_name_and_version)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    const char *args[] = { "-V", NULL };
    ck_assert_int_eq(e2e_run(&d, args, 5000), 0);
    char *out = e2e_read_file(d.out);
    ck_assert_str_eq(out, "tickd " TICKD_VERSION "\n");
    free(out);

    const char *args2[] = { "--version", NULL };
    ck_assert_int_eq(e2e_run(&d, args2, 5000), 0);
    out = e2e_read_file(d.out);
    ck_assert_str_eq(out, "tickd " TICKD_VERSION "\n");
    free(out);
    e2e_kill(&d);
}
END_TEST

START_TEST(help_goes_to_stdout_and_exits_0)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    const char *flags[] = { "-h", "--help" };
    for (int i = 0; i < 2; i++) {
        const char *args[] = { flags[i], NULL };
        ck_assert_int_eq(e2e_run(&d, args, 5000), 0);
        char *out = e2e_read_file(d.out), *err = e2e_read_file(d.err);
        ck_assert_msg(strcasestr(out, "usage") != NULL, "%s: stdout: %s", flags[i], out);
        ck_assert_msg(strstr(out, "-c") != NULL, "%s: -c not documented: %s", flags[i], out);
        ck_assert_msg(strstr(out, "-t") != NULL, "%s: -t not documented: %s", flags[i], out);
        ck_assert_str_eq(err, "");
        free(out);
        free(err);
    }
    e2e_kill(&d);
}
END_TEST

START_TEST(bad_usage_exits_64_with_usage_on_stderr)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    const char *bad[][4] = {   /* NULL-terminated rows */
        { "--no-such-option", NULL },
        { "-x", NULL },
        { "-c", NULL },                   /* missing argument */
        { "-c", "a.ini", "stray", NULL }, /* extra operand */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(e2e_run(&d, bad[i], 5000) == EX_USAGE_, "case %zu", i);
        char *out = e2e_read_file(d.out), *err = e2e_read_file(d.err);
        ck_assert_msg(strcasestr(err, "usage") != NULL, "case %zu stderr: %s", i, err);
        ck_assert_msg(strstr(out, "configuration OK") == NULL, "case %zu", i);
        free(out);
        free(err);
    }
    e2e_kill(&d);
}
END_TEST

START_TEST(shipped_config_is_ok)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char conf[PATH_MAX];
    E2E_FMT(conf, sizeof conf, "%s/conf/tickd.ini", e2e_src());
    ck_assert_msg(access(conf, R_OK) == 0, "%s: %s", conf, strerror(errno));
    const char *args[] = { "-t", "-c", conf, NULL };
    int rc = e2e_run(&d, args, 10000);
    char *out = e2e_read_file(d.out), *err = e2e_read_file(d.err);
    ck_assert_msg(rc == 0, "exit %d, stderr: %s", rc, err);
    ck_assert_str_eq(out, "configuration OK\n");
    free(out);
    free(err);

    const char *args2[] = { "--test", "-c", conf, NULL };
    ck_assert_int_eq(e2e_run(&d, args2, 10000), 0);
    e2e_kill(&d);
}
END_TEST

/* -t loads and configures every instance but starts none: it passes even
 * while the port it names is taken, and nothing listens afterwards. */
START_TEST(check_mode_configures_but_starts_nothing)
{
    e2e_daemon d;
    e2e_daemon_init(&d);

    int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(busy, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(busy, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(busy, 1), 0);
    ck_assert_int_eq(getsockname(busy, (struct sockaddr *)&sa, &len), 0);

    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:echo1]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n"
        "max_clients = 100\n"
        "\n"
        "[plugin:beat]\n"
        "module = heartbeat\n"
        "interval = 250ms\n"
        "message = still here\n",
        e2e_plugins(), ntohs(sa.sin_port));
    const char *args[] = { "-t", "-c", d.conf, NULL };
    int rc = e2e_run(&d, args, 10000);
    char *out = e2e_read_file(d.out), *err = e2e_read_file(d.err);
    ck_assert_msg(rc == 0, "exit %d, stderr: %s", rc, err);
    ck_assert_str_eq(out, "configuration OK\n");
    ck_assert_msg(strstr(err, "listening on") == NULL, "-t started echo: %s", err);
    ck_assert_msg(strstr(err, "still here") == NULL, "-t started heartbeat: %s", err);
    free(out);
    free(err);
    close(busy);
    e2e_kill(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, version_prints_name_and_version);
    tcase_add_test(tc, help_goes_to_stdout_and_exits_0);
    tcase_add_test(tc, bad_usage_exits_64_with_usage_on_stderr);
    tcase_add_test(tc, shipped_config_is_ok);
    tcase_add_test(tc, check_mode_configures_but_starts_nothing);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
