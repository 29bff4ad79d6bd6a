/*
 * test_config_errors.c — every kind of bad input gives its exact message,
 * as FILE:LINE: message, and exit 78 (EX_CONFIG), both from `tickd -t -c`
 * and from a normal start (which must not get as far as READY=1).
 */
#include "e2e.h"
#include "tick/plugin.h"   /* the ABI numbers the daemon was built with */

/*
 * Run `tickd -t -c CONF` and `tickd -c CONF`; both must exit 78. With -t
 * stderr is exactly the line "CONF:LINE: msg" (line 0: "CONF: msg"); a
 * normal start logs it as "tickd: error: CONF:LINE: msg".
 */
static void expect_error(e2e_daemon *d, int line, const char *msg)
{
    char want[2 * PATH_MAX + 1024], logged[2 * PATH_MAX + 1100];
    if (line > 0)
        E2E_FMT(want, sizeof want, "%s:%d: %s\n", d->conf, line, msg);
    else
        E2E_FMT(want, sizeof want, "%s: %s\n", d->conf, msg);
    E2E_FMT(logged, sizeof logged, "tickd: error: %s", want);

    const char *check[] = { "-t", "-c", d->conf, NULL };
    const char *run[] = { "-c", d->conf, NULL };
    const char *const *modes[] = { check, run };
    for (int m = 0; m < 2; m++) {
        int rc = e2e_run(d, modes[m], 10000);
        char *out = e2e_read_file(d->out), *err = e2e_read_file(d->err);
        ck_assert_msg(rc == EX_CONFIG_, "%s: exit %d, want 78; stderr:\n%s",
                      m ? "start" : "-t", rc, err);
        if (m == 0)
            ck_assert_msg(strcmp(err, want) == 0,
                          "-t: stderr is not exactly\n  %sit was:\n%s", want, err);
        else
            ck_assert_msg(strstr(err, logged) != NULL,
                          "start: stderr lacks\n  %sstderr was:\n%s", logged, err);
        ck_assert_msg(strstr(out, "configuration OK") == NULL, "%s", out);
        free(out);
        free(err);
    }
}

static void expect_ok(e2e_daemon *d)
{
    const char *check[] = { "-t", "-c", d->conf, NULL };
    int rc = e2e_run(d, check, 10000);
    char *out = e2e_read_file(d->out), *err = e2e_read_file(d->err);
    ck_assert_msg(rc == 0, "-t: exit %d; stderr:\n%s", rc, err);
    ck_assert_str_eq(out, "configuration OK\n");
    free(out);
    free(err);
}

START_TEST(missing_config_file)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    /* d.conf is never written */
    expect_error(&d, 0, "cannot open: No such file or directory");
    e2e_kill(&d);
}
END_TEST

START_TEST(syntax_error)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "this line has no equals sign\n"      /* 3 */
        "log_level = info\n",                 /* 4 */
        e2e_plugins());
    expect_error(&d, 3, "syntax error (expected [section] or key = value)");
    e2e_kill(&d);
}
END_TEST

START_TEST(unknown_section)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[foo]\n"                             /* 4 */
        "bar = 1\n",                          /* 5 */
        e2e_plugins());
    expect_error(&d, 4, "unknown section [foo]");
    e2e_kill(&d);
}
END_TEST

START_TEST(unknown_daemon_key)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "log_level = info\n"                  /* 3 */
        "foo = 1\n",                          /* 4 */
        e2e_plugins());
    expect_error(&d, 4, "unknown key 'foo' in [daemon]");
    e2e_kill(&d);
}
END_TEST

START_TEST(unknown_plugin_key)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:echo1]\n"                    /* 4 */
        "module = echo\n"                     /* 5 */
        "listen = 127.0.0.1:%u\n"             /* 6 */
        "foo = bar\n",                        /* 7 */
        e2e_plugins(), e2e_free_port());
    expect_error(&d, 7, "plugin:echo1: unknown key 'foo'");
    e2e_kill(&d);
}
END_TEST

START_TEST(bad_port)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:echo1]\n"                    /* 4 */
        "module = echo\n"                     /* 5 */
        "listen = 127.0.0.1:99999\n",         /* 6 */
        e2e_plugins());
    expect_error(&d, 6, "plugin:echo1: bad listen address '127.0.0.1:99999'");
    e2e_kill(&d);
}
END_TEST

/* echo without listen: the configure(in, NULL, NULL) check reports it at
 * the section's line (there is no key line to blame). */
START_TEST(missing_required_key)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:echo1]\n"                    /* 4 */
        "module = echo\n"                     /* 5 */
        "max_clients = 5\n",                  /* 6 */
        e2e_plugins());
    expect_error(&d, 4, "plugin:echo1: missing required key 'listen'");
    e2e_kill(&d);
}
END_TEST

START_TEST(section_header_without_bracket)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "[plugin:echo1\n",                    /* 3 */
        e2e_plugins());
    expect_error(&d, 3, "syntax error: section header without ']'");
    e2e_kill(&d);
}
END_TEST

START_TEST(key_outside_any_section)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "; comment\n"                         /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "[daemon]\n",                         /* 3 */
        e2e_plugins());
    expect_error(&d, 2, "key 'plugin_dir' outside of any section");
    e2e_kill(&d);
}
END_TEST

START_TEST(duplicate_instance)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char msg[PATH_MAX + 128];
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "[plugin:beat]\n"                     /* 3 */
        "module = heartbeat\n"                /* 4 */
        "[plugin:beat]\n"                     /* 5 */
        "module = heartbeat\n",               /* 6 */
        e2e_plugins());
    E2E_FMT(msg, sizeof msg, "duplicate section [plugin:beat], first defined at %s:3",
            d.conf);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(bad_instance_name)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "[plugin:a b]\n"                      /* 3 */
        "module = heartbeat\n",               /* 4 */
        e2e_plugins());
    expect_error(&d, 3, "bad instance name in [plugin:a b] (use up to 64 letters, "
                 "digits, '_', '-' or '.')");
    e2e_kill(&d);
}
END_TEST

START_TEST(bad_log_level_and_boolean)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "log_level = loud\n",                 /* 3 */
        e2e_plugins());
    expect_error(&d, 3, "bad log level 'loud' (use err, warning, notice, info or debug)");
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "watchdog = maybe\n",                 /* 3 */
        e2e_plugins());
    expect_error(&d, 3, "bad boolean 'maybe' for key 'watchdog' (use yes or no)");
    e2e_kill(&d);
}
END_TEST

START_TEST(bad_duration_daemon)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "stop_timeout = soon\n",              /* 3 */
        e2e_plugins());
    expect_error(&d, 3,
        "bad duration 'soon' for key 'stop_timeout' (use e.g. 250ms, 5s, 2m)");
    e2e_kill(&d);
}
END_TEST

START_TEST(bad_duration_plugin)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:beat]\n"                     /* 4 */
        "module = heartbeat\n"                /* 5 */
        "message = hi\n"                      /* 6 */
        "interval = 5 parsecs\n",             /* 7 */
        e2e_plugins());
    expect_error(&d, 7,
        "plugin:beat: bad duration '5 parsecs' for key 'interval' (use e.g. 250ms, 5s, 2m)");
    e2e_kill(&d);
}
END_TEST

/* A config naming a fixture module from the fixture directory; returns the
 * module path the daemon will try. The `module =` line is line 5. */
static void fixture_config(e2e_daemon *d, const char *dir, const char *module,
                           char *path, size_t len)
{
    e2e_config(d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "\n"                                  /* 3 */
        "[plugin:x]\n"                        /* 4 */
        "module = %s\n",                      /* 5 */
        dir, module);
    E2E_FMT(path, len, "%s/%s.so", dir, module);
}

START_TEST(unknown_module)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char path[PATH_MAX], msg[3 * PATH_MAX];
    fixture_config(&d, e2e_plugins(), "nosuch", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: cannot load module 'nosuch': %s: cannot open shared "
             "object file: No such file or directory", path);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

/* Without `module =` the module is the instance name; the error then sits
 * on the section line. */
START_TEST(unknown_module_from_section_name)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char msg[3 * PATH_MAX];
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "[plugin:nosuch]\n",                  /* 3 */
        e2e_plugins());
    E2E_FMT(msg, sizeof msg,
             "plugin:nosuch: cannot load module 'nosuch': %s/nosuch.so: cannot "
             "open shared object file: No such file or directory", e2e_plugins());
    expect_error(&d, 3, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(not_an_elf_file)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char path[PATH_MAX], msg[3 * PATH_MAX];
    fixture_config(&d, e2e_fixtures(), "notelf", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: cannot load module 'notelf': %s: invalid ELF header", path);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(no_descriptor)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char path[PATH_MAX], msg[4 * PATH_MAX];
    fixture_config(&d, e2e_fixtures(), "nodesc", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: module 'nodesc' (%s) has no tick_plugin_descriptor "
             "symbol: %s: undefined symbol: tick_plugin_descriptor", path, path);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(abi_major_mismatch)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char path[PATH_MAX], msg[3 * PATH_MAX];
    fixture_config(&d, e2e_fixtures(), "abinextmajor", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: module 'abinextmajor' (%s) was built for plugin ABI %d.0, "
             "tickd provides %d.%d: rebuild the plugin against the installed tickd "
             "headers", path, TICK_PLUGIN_ABI_MAJOR + 1, TICK_PLUGIN_ABI_MAJOR,
             TICK_PLUGIN_ABI_MINOR);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(abi_newer_minor_refused)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char path[PATH_MAX], msg[3 * PATH_MAX];
    fixture_config(&d, e2e_fixtures(), "abinextminor", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: module 'abinextminor' (%s) was built for plugin ABI %d.%d, "
             "tickd provides %d.%d: rebuild the plugin against the installed tickd "
             "headers", path, TICK_PLUGIN_ABI_MAJOR, TICK_PLUGIN_ABI_MINOR + 1,
             TICK_PLUGIN_ABI_MAJOR, TICK_PLUGIN_ABI_MINOR);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(descriptor_without_start)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char path[PATH_MAX], msg[3 * PATH_MAX];
    fixture_config(&d, e2e_fixtures(), "nostart", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
            "plugin:x: module 'nostart' (%s): its descriptor has no start function", path);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(line_too_long)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char longval[260];
    memset(longval, 'a', sizeof longval - 1);
    longval[sizeof longval - 1] = '\0';
    e2e_config(&d,
        "[daemon]\n"                          /* 1 */
        "plugin_dir = %s\n"                   /* 2 */
        "[plugin:beat]\n"                     /* 3 */
        "module = heartbeat\n"                /* 4 */
        "message = %s\n",                     /* 5 */
        e2e_plugins(), longval);
    expect_error(&d, 5, "line too long (more than 198 characters)");
    e2e_kill(&d);
}
END_TEST

START_TEST(include_dir_only_in_main_file)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], f[PATH_MAX + 32];
    E2E_FMT(dir, sizeof dir, "%s/conf.d", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(f, sizeof f, "%s/10-x.ini", dir);
    e2e_write_file(f, "[daemon]\ninclude_dir = elsewhere\n");
    e2e_config(&d, "[daemon]\nplugin_dir = %s\ninclude_dir = conf.d\n", e2e_plugins());

    const char *args[] = { "-t", "-c", d.conf, NULL };
    int rc = e2e_run(&d, args, 10000);
    char *err = e2e_read_file(d.err);
    ck_assert_msg(rc == EX_CONFIG_, "exit %d", rc);
    ck_assert_msg(strstr(err, "conf.d/10-x.ini:2: include_dir is only allowed in the "
                         "main configuration file\n") != NULL, "stderr:\n%s", err);
    free(err);
    e2e_kill(&d);
}
END_TEST

/* A *.ini in the drop-in directory that cannot be examined (here a
 * symlink loop: ELOOP; for a non-root tickd also EACCES on a directory
 * it may list but not search) is an error naming the file, not a drop-in
 * silently left out. A subdirectory named *.ini is skipped. */
START_TEST(dropin_that_cannot_be_read)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], f[PATH_MAX + 32];
    E2E_FMT(dir, sizeof dir, "%s/conf.d", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(f, sizeof f, "%s/10-dir.ini", dir);
    ck_assert_int_eq(mkdir(f, 0755), 0);
    E2E_FMT(f, sizeof f, "%s/20-loop.ini", dir);
    ck_assert_int_eq(symlink("20-loop.ini", f), 0);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\ninclude_dir = conf.d\n", e2e_plugins());

    const char *args[] = { "-t", "-c", d.conf, NULL };
    int rc = e2e_run(&d, args, 10000);
    char *err = e2e_read_file(d.err);
    ck_assert_msg(rc == EX_CONFIG_, "exit %d, stderr:\n%s", rc, err);
    ck_assert_msg(strstr(err, "conf.d/20-loop.ini: cannot open: Too many levels of "
                         "symbolic links\n") != NULL, "stderr:\n%s", err);
    free(err);
    e2e_kill(&d);
}
END_TEST

/* A private plugin dir holding a copy of the heartbeat module. */
static void private_plugin_dir(e2e_daemon *d, char *dir, size_t len,
                               mode_t dir_mode, mode_t file_mode)
{
    char src[PATH_MAX], dst[PATH_MAX + 32];
    E2E_FMT(dir, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/heartbeat.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/heartbeat.so", dir);
    e2e_copy_file(src, dst, file_mode);
    ck_assert_int_eq(chmod(dir, dir_mode), 0);
}

START_TEST(group_writable_module)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], path[PATH_MAX + 32], msg[3 * PATH_MAX];

    /* the same copy at 0755 is accepted: only the mode differs */
    private_plugin_dir(&d, dir, sizeof dir, 0755, 0755);
    fixture_config(&d, dir, "heartbeat", path, sizeof path);
    expect_ok(&d);

    ck_assert_int_eq(chmod(path, 0775), 0);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: refusing module %s: file is writable by group or "
             "others (chmod go-w)", path);
    expect_error(&d, 5, msg);

    ck_assert_int_eq(chmod(path, 0757), 0);   /* world-writable too */
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

START_TEST(group_writable_plugin_dir)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], path[PATH_MAX + 32], msg[4 * PATH_MAX];
    private_plugin_dir(&d, dir, sizeof dir, 0775, 0755);
    fixture_config(&d, dir, "heartbeat", path, sizeof path);
    E2E_FMT(msg, sizeof msg,
             "plugin:x: refusing module %s: directory %s is writable by group "
             "or others (chmod go-w)", path, dir);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

/* StrictModes' owner rule: a module (or its directory) owned by another
 * user is refused. Needs root to give the copy away; skipped otherwise. */
START_TEST(module_owned_by_another_user)
{
    if (geteuid() != 0) {
        fprintf(stderr, "module_owned_by_another_user: needs root, skipped\n");
        return;
    }
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], path[PATH_MAX + 32], msg[3 * PATH_MAX];
    private_plugin_dir(&d, dir, sizeof dir, 0755, 0755);
    fixture_config(&d, dir, "heartbeat", path, sizeof path);

    ck_assert_int_eq(chown(path, 4242, 4242), 0);
    E2E_FMT(msg, sizeof msg,
            "plugin:x: refusing module %s: file is owned by uid 4242, not by root "
            "or uid 0 (the user tickd runs as)", path);
    expect_error(&d, 5, msg);

    ck_assert_int_eq(chown(path, 0, 0), 0);
    ck_assert_int_eq(chown(dir, 4242, 4242), 0);
    E2E_FMT(msg, sizeof msg,
            "plugin:x: refusing module %s: directory %s is owned by uid 4242, not "
            "by root or uid 0 (the user tickd runs as)", path, dir);
    expect_error(&d, 5, msg);
    e2e_kill(&d);
}
END_TEST

/* start() failing at start-up: the daemon refuses to run (exit 78, the
 * plugin's own message), after stopping what it had started — the echo
 * port is free again. -t does not call start(), so it passes. */
START_TEST(start_failure_refuses_to_run)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    /* a private plugin dir with both modules */
    char dir[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32];
    E2E_FMT(dir, sizeof dir, "%s/plugins", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/echo.so", e2e_plugins());
    E2E_FMT(dst, sizeof dst, "%s/echo.so", dir);
    e2e_copy_file(src, dst, 0755);
    E2E_FMT(src, sizeof src, "%s/startfail.so", e2e_fixtures());
    E2E_FMT(dst, sizeof dst, "%s/startfail.so", dir);
    e2e_copy_file(src, dst, 0755);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 2s\n"
        "\n"
        "[plugin:echo1]\n"
        "module = echo\n"
        "listen = 127.0.0.1:%u\n"
        "\n"
        "[plugin:sf]\n"
        "module = startfail\n",
        dir, port);

    expect_ok(&d);

    const char *run[] = { "-c", d.conf, NULL };
    int64_t t0 = e2e_now_ms();
    /* with the notify socket: READY=1 must never be sent */
    e2e_spawn(&d, true, run);
    int st = e2e_wait_exit(&d, 10000);
    ck_assert_msg(st != -ETIMEDOUT, "tickd kept running with a failed start");
    char *err = e2e_read_file(d.err);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG_,
                  "status 0x%x; stderr:\n%s", st, err);
    char want[PATH_MAX + 64];
    E2E_FMT(want, sizeof want, "tickd: error: %s:9: plugin:sf: start failed: no luck today\n",
            d.conf);
    ck_assert_msg(strstr(err, want) != NULL, "stderr:\n%s", err);
    ck_assert_msg(e2e_now_ms() - t0 < 5000, "took %lld ms",
                  (long long)(e2e_now_ms() - t0));
    e2e_notes_drain(&d);
    ck_assert_msg(strstr(d.notes, "READY=1") == NULL, "READY=1 sent: %s", d.notes);
    free(err);

    /* and the echo listener it had opened is gone */
    int fd = e2e_connect(port);
    ck_assert_int_eq(fd, -ECONNREFUSED);
    e2e_kill(&d);
}
END_TEST

/* A task that fails is logged with its instance and task names, and the
 * daemon keeps running. */
START_TEST(failing_task_is_logged_daemon_continues)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:tf]\n"
        "module = taskfail\n",
        e2e_fixtures());
    e2e_start(&d);
    ck_assert_msg(e2e_wait_log(&d, "tickd: error: plugin:tf: task 'doomed' failed: Broken pipe\n", 5000),
                  "stderr:\n%s", e2e_read_file(d.err));
    e2e_sleep_ms(100);
    ck_assert_msg(!e2e_exited(&d), "tickd exited after a task failure");
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e config errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, missing_config_file);
    tcase_add_test(tc, syntax_error);
    tcase_add_test(tc, unknown_section);
    tcase_add_test(tc, unknown_daemon_key);
    tcase_add_test(tc, unknown_plugin_key);
    tcase_add_test(tc, bad_port);
    tcase_add_test(tc, missing_required_key);
    tcase_add_test(tc, section_header_without_bracket);
    tcase_add_test(tc, key_outside_any_section);
    tcase_add_test(tc, duplicate_instance);
    tcase_add_test(tc, bad_instance_name);
    tcase_add_test(tc, bad_log_level_and_boolean);
    tcase_add_test(tc, bad_duration_daemon);
    tcase_add_test(tc, bad_duration_plugin);
    tcase_add_test(tc, unknown_module);
    tcase_add_test(tc, unknown_module_from_section_name);
    tcase_add_test(tc, not_an_elf_file);
    tcase_add_test(tc, no_descriptor);
    tcase_add_test(tc, abi_major_mismatch);
    tcase_add_test(tc, abi_newer_minor_refused);
    tcase_add_test(tc, descriptor_without_start);
    tcase_add_test(tc, line_too_long);
    tcase_add_test(tc, include_dir_only_in_main_file);
    tcase_add_test(tc, dropin_that_cannot_be_read);
    tcase_add_test(tc, group_writable_module);
    tcase_add_test(tc, group_writable_plugin_dir);
    tcase_add_test(tc, module_owned_by_another_user);
    tcase_add_test(tc, start_failure_refuses_to_run);
    tcase_add_test(tc, failing_task_is_logged_daemon_continues);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
