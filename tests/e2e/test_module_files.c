/*
 * test_module_files.c — what the loader does with plugin files that are
 * not what they should be: a truncated copy (refused with the reason, at
 * -t, at start-up and at SIGHUP, never SIGBUS), a file truncated or
 * overwritten under a running daemon (the daemon runs a sealed copy, so
 * it carries on; a later load reports the bad file), a symlink to a file
 * in a directory anyone may write to (refused, naming that directory), and
 * a constructor that calls exit() (an error with status 70, never a quiet
 * exit 0 from -t or from a SIGHUP).
 */
#include "e2e.h"

#define EX_SOFTWARE_ 70

/* dir = d->dir/plugins (0755) with a good copy of echo.so */
static void echo_dir(e2e_daemon *d, char *dir, size_t len)
{
    char src[PATH_MAX + 64], dst[PATH_MAX + 64];
    E2E_FMT(dir, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/echo.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/echo.so", dir);
    e2e_copy_file(src, dst, 0755);
}

/* dir/NAME.so = the first n bytes of echo.so, as a half-finished copy */
static void truncated_copy(const char *dir, const char *name, off_t n)
{
    char src[PATH_MAX + 64], dst[PATH_MAX + 64];
    E2E_FMT(src, sizeof src, "%s/echo.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/%s.so", dir, name);
    e2e_copy_file(src, dst, 0755);
    ck_assert_int_eq(truncate(dst, n), 0);
}

static char *run_check(e2e_daemon *d, int *rc)
{
    const char *args[] = { "-t", "-c", d->conf, NULL };
    *rc = e2e_run(d, args, 10000);
    return e2e_read_file(d->err);
}

START_TEST(truncated_module_refused_by_check)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], want[3 * PATH_MAX];
    echo_dir(&d, dir, sizeof dir);
    truncated_copy(dir, "echo", 8000);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:x]\n"                        /* 4 */
        "module = echo\n"                     /* 5 */
        "listen = 127.0.0.1:%u\n",            /* 6 */
        dir, e2e_free_port());
    int rc;
    char *err = run_check(&d, &rc);
    ck_assert_msg(rc == EX_CONFIG_, "exit %d, want 78; stderr:\n%s", rc, err);
    /* which segment and where it ends depend on the compiler's layout */
    E2E_FMT(want, sizeof want, "%s:5: plugin:x: cannot load module 'echo': "
            "%s/echo.so: segment ", d.conf, dir);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "stderr:\n%s", err);
    ck_assert_msg(strstr(err, " but the file has 8000 bytes (truncated copy?)\n"),
                  "stderr:\n%s", err);
    free(err);

    /* cut inside the ELF header and inside the program headers */
    truncated_copy(dir, "echo", 40);
    err = run_check(&d, &rc);
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, "echo.so: file too short\n"),
                  "exit %d, stderr:\n%s", rc, err);
    free(err);
    truncated_copy(dir, "echo", 100);
    err = run_check(&d, &rc);
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, "echo.so: the program headers end "
                  "at byte ") && strstr(err, "but the file has 100 bytes (truncated copy?)\n"),
                  "exit %d, stderr:\n%s", rc, err);
    free(err);
    e2e_kill(&d);
}
END_TEST

#define RELOAD_FAILED "reload failed, keeping the running configuration: "

START_TEST(truncated_module_on_sighup_keeps_serving)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], want[3 * PATH_MAX];
    uint16_t p1 = e2e_free_port(), p2 = e2e_free_port();
    echo_dir(&d, dir, sizeof dir);
    truncated_copy(dir, "half", 8000);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"
               "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n", dir, p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "before"));

    e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"   /* 1-3 */
               "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n" /* 4-6 */
               "[plugin:echo2]\nmodule = half\nlisten = 127.0.0.1:%u\n", /* 7-9 */
               dir, p1, p2);
    e2e_reload(&d);
    E2E_FMT(want, sizeof want, RELOAD_FAILED "%s:8: plugin:echo2: cannot load "
            "module 'half': %s/half.so: segment ", d.conf, dir);
    ck_assert_msg(e2e_wait_log(&d, want, 3000), "no\n  %s\nin:\n%s", want,
                  e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, " but the file has 8000 bytes (truncated copy?)\n", 1000));
    ck_assert_msg(!e2e_exited(&d), "tickd died: status 0x%x", d.status);
    ck_assert(e2e_echo_roundtrip(fd, "still here"));
    ck_assert_int_eq(e2e_connect(p2), -ECONNREFUSED);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* Bytes of page-sized garbage: no ELF magic. */
static void overwrite_in_place(const char *path)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    char junk[5000];
    memset(junk, 'x', sizeof junk);
    ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
}

/* The daemon maps its own sealed copy: truncating or overwriting the file
 * it was loaded from does not reach it (before: SIGBUS at the next page
 * fault in the plugin's code). A later load of that file (echo1 changed,
 * so reloaded) reports what is on disk now and keeps the old instance. */
START_TEST(module_changed_under_running_daemon)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], so[PATH_MAX + 16], want[3 * PATH_MAX];
    uint16_t p1 = e2e_free_port();
    echo_dir(&d, dir, sizeof dir);
    E2E_FMT(so, sizeof so, "%s/echo.so", dir);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"
               "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n", dir, p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "before"));

    for (int round = 0; round < 2; round++) {
        if (round == 0)
            ck_assert_int_eq(truncate(so, 8000), 0);
        else
            overwrite_in_place(so);
        /* old and new connections run the plugin's code */
        ck_assert_msg(e2e_echo_roundtrip(fd, "after the change"), "round %d", round);
        int fd2 = e2e_connect(p1);
        ck_assert_msg(fd2 >= 0, "round %d: connect: %s", round, strerror(-fd2));
        ck_assert(e2e_echo_roundtrip(fd2, "new client"));
        close(fd2);
        ck_assert_msg(!e2e_exited(&d), "round %d: tickd died: status 0x%x", round,
                      d.status);

        e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n" /* 1-3 */
                   "[plugin:echo1]\nmodule = echo\n"                     /* 4-5 */
                   "listen = 127.0.0.1:%u\nmax_clients = %d\n",          /* 6-7 */
                   dir, p1, 50 + round);
        e2e_reload(&d);
        E2E_FMT(want, sizeof want, RELOAD_FAILED "%s:5: plugin:echo1: cannot load "
                "module 'echo': %s: %s", d.conf, so,
                round == 0 ? "segment " : "invalid ELF header\n");
        ck_assert_msg(e2e_wait_log(&d, want, 3000), "round %d: no\n  %s\nin:\n%s",
                      round, want, e2e_read_file(d.err));
        ck_assert(e2e_echo_roundtrip(fd, "old instance"));
        /* put the config back, so the next round's change is a change */
        e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"
                   "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n", dir, p1);
        e2e_reload(&d);
    }
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A symlink in a good directory to a module in a directory anyone may
 * write to (not sticky): refused, naming the directory of the real file.
 * The same directory made sticky (like /tmp) is accepted. A parent of the
 * plugin directory writable by others is refused the same way. */
START_TEST(symlink_into_world_writable_dir)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], bad[PATH_MAX], so[PATH_MAX + 16], link[PATH_MAX + 16];
    char want[3 * PATH_MAX], src[PATH_MAX + 16];
    E2E_FMT(dir, sizeof dir, "%s/good", d.dir);
    E2E_FMT(bad, sizeof bad, "%s/open", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkdir(bad, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/heartbeat.so", e2e_plugins());
    E2E_FMT(so, sizeof so, "%s/heartbeat.so", bad);
    e2e_copy_file(src, so, 0755);
    ck_assert_int_eq(chmod(bad, 0777), 0);
    E2E_FMT(link, sizeof link, "%s/heartbeat.so", dir);
    ck_assert_int_eq(symlink(so, link), 0);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n\n[plugin:x]\nmodule = heartbeat\n", dir);

    int rc;
    char *err = run_check(&d, &rc);
    E2E_FMT(want, sizeof want, "%s:5: plugin:x: refusing module %s: directory %s is "
            "writable by group or others (chmod go-w)\n", d.conf, link, bad);
    ck_assert_msg(rc == EX_CONFIG_, "exit %d; stderr:\n%s", rc, err);
    ck_assert_str_eq(err, want);
    free(err);

    ck_assert_int_eq(chmod(bad, 01777), 0);   /* sticky, owned by root: fine */
    if (geteuid() == 0) {
        err = run_check(&d, &rc);
        ck_assert_msg(rc == 0, "sticky dir: exit %d; stderr:\n%s", rc, err);
        free(err);
    }

    /* a parent of the directory as written */
    ck_assert_int_eq(chmod(bad, 0755), 0);
    char sub[PATH_MAX + 16];
    E2E_FMT(sub, sizeof sub, "%s/sub", bad);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    E2E_FMT(so, sizeof so, "%s/heartbeat.so", sub);
    e2e_copy_file(src, so, 0755);
    ck_assert_int_eq(chmod(bad, 0777), 0);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n\n[plugin:x]\nmodule = heartbeat\n", sub);
    err = run_check(&d, &rc);
    E2E_FMT(want, sizeof want, "%s:5: plugin:x: refusing module %s: directory %s is "
            "writable by group or others (chmod go-w)\n", d.conf, so, bad);
    ck_assert_msg(rc == EX_CONFIG_, "exit %d; stderr:\n%s", rc, err);
    ck_assert_str_eq(err, want);
    free(err);
    ck_assert_int_eq(chmod(bad, 0755), 0);
    e2e_kill(&d);
}
END_TEST

/* exitctor.so's constructor calls exit(0): -t must not exit 0 without
 * "configuration OK" but say so and exit 70. */
START_TEST(constructor_exit_in_check)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char want[3 * PATH_MAX];
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:x]\n"                        /* 4 */
        "module = exitctor\n",                /* 5 */
        e2e_fixtures());
    int rc;
    char *err = run_check(&d, &rc), *out = e2e_read_file(d.out);
    ck_assert_msg(rc == EX_SOFTWARE_, "exit %d, want 70; stderr:\n%s", rc, err);
    E2E_FMT(want, sizeof want, "%s:5: plugin:x: plugin module 'exitctor' (%s/exitctor.so) "
            "called exit() while loading (exit status 0)\n", d.conf, e2e_fixtures());
    ck_assert_str_eq(err, want);
    ck_assert_str_eq(out, "");
    free(err);
    free(out);

    /* and a normal start exits 70 the same way, before READY=1 */
    const char *run[] = { "-c", d.conf, NULL };
    rc = e2e_run(&d, run, 10000);
    err = e2e_read_file(d.err);
    ck_assert_msg(rc == EX_SOFTWARE_, "start: exit %d; stderr:\n%s", rc, err);
    ck_assert_msg(strstr(err, "tickd: error: ") && strstr(err, "called exit() while loading"),
                  "stderr:\n%s", err);
    free(err);
    e2e_kill(&d);
}
END_TEST

/* A SIGHUP adding an instance of it: the daemon exits 70 (a failure that
 * Restart=on-failure restarts), not 0, and says why. */
START_TEST(constructor_exit_on_sighup)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32], want[3 * PATH_MAX];
    uint16_t p1 = e2e_free_port();
    echo_dir(&d, dir, sizeof dir);
    E2E_FMT(src, sizeof src, "%s/exitctor.so", e2e_fixtures());
    E2E_FMT(dst, sizeof dst, "%s/exitctor.so", dir);
    e2e_copy_file(src, dst, 0755);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"
               "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n", dir, p1);
    e2e_start(&d);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 2s\n"   /* 1-3 */
               "[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n" /* 4-6 */
               "[plugin:bye]\nmodule = exitctor\n",                     /* 7-8 */
               dir, p1);
    e2e_signal(&d, SIGHUP);
    int st = e2e_wait_exit(&d, 5000);
    ck_assert_msg(st != -ETIMEDOUT, "tickd still running");
    char *err = e2e_read_file(d.err);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == EX_SOFTWARE_,
                  "status 0x%x, want exit 70; stderr:\n%s", st, err);
    E2E_FMT(want, sizeof want, "tickd: error: %s:8: plugin:bye: plugin module "
            "'exitctor' (%s) called exit() while loading (exit status 0); "
            "exiting with status 70\n", d.conf, dst);
    ck_assert_msg(strstr(err, want), "no\n  %sin:\n%s", want, err);
    free(err);
    e2e_kill(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e module files");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, truncated_module_refused_by_check);
    tcase_add_test(tc, truncated_module_on_sighup_keeps_serving);
    tcase_add_test(tc, module_changed_under_running_daemon);
    tcase_add_test(tc, symlink_into_world_writable_dir);
    tcase_add_test(tc, constructor_exit_in_check);
    tcase_add_test(tc, constructor_exit_on_sighup);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
