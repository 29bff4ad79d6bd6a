/*
 * test_keys.c — declarative configuration (tick/config.h) through the real
 * tickd: `--describe` of one module and of plugin_dir, every key type's
 * errors with FILE:LINE, the quoting rule reaching a table plugin and a
 * configure() plugin, duplicates, a live reconfigure, a table refused at
 * load and a 3.0 plugin that still loads. Fixtures: tests/plugins/keyed
 * (every type), badtable, abiv30.
 */
#include "e2e.h"

#define EX_UNAVAILABLE_ 69

/* "[daemon] plugin_dir = FIXTURES\n[plugin:k]\nmodule = keyed\n" + body:
 * the body's first line is line 5. */
static void keyed_config(e2e_daemon *d, const char *body)
{
    e2e_config(d, "[daemon]\n"
                  "plugin_dir = %s\n"
                  "[plugin:k]\n"
                  "module = keyed\n"
                  "%s", e2e_fixtures(), body);
}

static char *run_t(e2e_daemon *d, int *rc)
{
    const char *args[] = { "-t", "-c", d->conf, NULL };
    *rc = e2e_run(d, args, 5000);
    return e2e_read_file(d->err);
}

START_TEST(describe_one_module)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    keyed_config(&d, "name = x\n");
    const char *args[] = { "--describe", "-c", d.conf, "keyed", NULL };
    int rc = e2e_run(&d, args, 5000);
    char *out = e2e_read_file(d.out);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, e2e_read_file(d.err));
    static const char *const want[] = {
        "keyed 2.5\n",
        "  name (string)\n      a name, required\n      1 to 32 characters; required\n",
        "  count (integer)\n      how many\n      an integer from 1 to 100; default 10\n",
        "      a size (e.g. 512, 64k, 1M) from 1k to 1M; default 64k\n",
        "      yes or no; default no\n",
        "      a duration (e.g. 250ms, 5s, 2m) from 1ms to 1h; default 250ms\n",
        "      one of: fast, slow; default fast\n",
        "  listen (address list)\n",
        "      1 to 8 words; no default\n",
        "      exactly 4 words; no default; repeatable\n",
        "an integer from 1 to 100000; default 64; live (no restart on reload)\n",
        "  max_clients: alias of max_conns\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]), "no\n%s\nin:\n%s", want[i], out);
    free(out);

    /* roff for the man page */
    const char *man[] = { "--describe", "--man", "-c", d.conf, "keyed", NULL };
    ck_assert_int_eq(e2e_run(&d, man, 5000), 0);
    out = e2e_read_file(d.out);
    ck_assert_msg(strstr(out, ".SS \"keyed\"\n") && strstr(out, ".TP\n\\fBcount\\fR (\\fIinteger\\fR)\n"),
                  "roff:\n%s", out);
    free(out);

    /* a 3.0 module has no table, and says so */
    const char *old[] = { "--describe", "-c", d.conf, "abiv30", NULL };
    ck_assert_int_eq(e2e_run(&d, old, 5000), 0);
    out = e2e_read_file(d.out);
    ck_assert_msg(strstr(out, "abiv30 3.0\n  no key table: its configure() function reads "
                              "the keys"), "%s", out);
    free(out);

    /* a module that does not load: 69 and dlopen's words */
    const char *bad[] = { "--describe", "-c", d.conf, "notelf", NULL };
    ck_assert_int_eq(e2e_run(&d, bad, 5000), EX_UNAVAILABLE_);
    out = e2e_read_file(d.err);
    ck_assert_msg(strstr(out, "notelf.so") && strstr(out, "cannot load module 'notelf'"),
                  "%s", out);
    free(out);
    const char *none[] = { "--describe", "-c", d.conf, "nosuch", NULL };
    ck_assert_int_eq(e2e_run(&d, none, 5000), EX_UNAVAILABLE_);
    /* a table that does not fit its fields: refused, 69 */
    const char *bt[] = { "--describe", "-c", d.conf, "badtable", NULL };
    ck_assert_int_eq(e2e_run(&d, bt, 5000), EX_UNAVAILABLE_);
    /* usage and config errors */
    const char *man_alone[] = { "--man", NULL };
    ck_assert_int_eq(e2e_run(&d, man_alone, 5000), EX_USAGE_);
    char missing[PATH_MAX];
    E2E_FMT(missing, sizeof missing, "%s/missing.ini", d.dir);
    const char *nocfg[] = { "--describe", "-c", missing, NULL };
    ck_assert_int_eq(e2e_run(&d, nocfg, 5000), EX_CONFIG_);
    e2e_kill(&d);
}
END_TEST

/* The listing: every *.so of plugin_dir, in byte order. */
START_TEST(describe_lists_plugin_dir)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    E2E_FMT(dir, sizeof dir, "%s/mods", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    static const char *const mods[] = { "keyed", "abiv30" };
    for (size_t i = 0; i < 2; i++) {
        E2E_FMT(from, sizeof from, "%s/%s.so", e2e_fixtures(), mods[i]);
        E2E_FMT(to, sizeof to, "%s/%s.so", dir, mods[i]);
        e2e_copy_file(from, to, 0755);
    }
    E2E_FMT(from, sizeof from, "%s/heartbeat.so", e2e_plugins());
    E2E_FMT(to, sizeof to, "%s/heartbeat.so", dir);
    e2e_copy_file(from, to, 0755);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n", dir);
    const char *args[] = { "--describe", "-c", d.conf, NULL };
    int rc = e2e_run(&d, args, 5000);
    char *out = e2e_read_file(d.out);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, e2e_read_file(d.err));
    char head[PATH_MAX + 32];
    E2E_FMT(head, sizeof head, "modules in %s:\n\nabiv30 3.0\n", dir);
    ck_assert_msg(strncmp(out, head, strlen(head)) == 0, "want\n%s\ngot:\n%s", head, out);
    char *hb = strstr(out, "\nheartbeat 1.0\n"
                           "  Logs a line periodically and shows \"beat N\" in the service status.\n"
                           "  interval (duration)\n      time between two beats\n"
                           "      a duration (e.g. 250ms, 5s, 2m) of at least 1ns; default 1s\n");
    char *kd = strstr(out, "\nkeyed 2.5\n");
    ck_assert_msg(hb && kd && hb < kd, "%s", out);
    free(out);

    /* one module that does not load: 69, its reason, the others listed */
    E2E_FMT(from, sizeof from, "%s/notelf.so", e2e_fixtures());
    E2E_FMT(to, sizeof to, "%s/notelf.so", dir);
    e2e_copy_file(from, to, 0755);
    rc = e2e_run(&d, args, 5000);
    out = e2e_read_file(d.out);
    char *err = e2e_read_file(d.err);
    ck_assert_msg(rc == EX_UNAVAILABLE_, "exit %d", rc);
    ck_assert_msg(strstr(err, "cannot load module 'notelf'") && strstr(err, "invalid ELF header"),
                  "%s", err);
    ck_assert_msg(strstr(out, "\nkeyed 2.5\n") && strstr(out, "\nheartbeat 1.0\n"), "%s", out);
    free(out);
    free(err);

    /* no -c and no default configuration file: the build's plugin dir,
     * and a line saying so (only where the default file is absent) */
    char def[PATH_MAX];
    E2E_FMT(def, sizeof def, "%s/tickd/tickd.ini", e2e_env("TICKD_SYSCONFDIR", "/etc"));
    if (access(def, F_OK) != 0) {
        const char *nocfg[] = { "--describe", NULL };
        rc = e2e_run(&d, nocfg, 5000);
        err = e2e_read_file(d.err);
        char note[PATH_MAX + 64];
        E2E_FMT(note, sizeof note, "tickd: no configuration file %s: looking for modules in ", def);
        ck_assert_msg(strstr(err, note), "exit %d: %s", rc, err);
        free(err);
    }
    e2e_kill(&d);
}
END_TEST

/* Each wrong value: exit 78, "FILE:LINE: plugin:k: message". */
START_TEST(every_type_error_with_line)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    static const struct { const char *body; int line; const char *msg; } cases[] = {
        { "name = x\ncount = 0\n", 6,
          "bad integer '0' for key 'count' (expected an integer from 1 to 100)" },
        { "name = x\ncount = ten\n", 6,
          "bad integer 'ten' for key 'count' (expected an integer from 1 to 100)" },
        { "name = x\nsmall = -6\n", 6,
          "bad integer '-6' for key 'small' (expected an integer from -5 to 5)" },
        { "name = x\nport = 65536\n", 6,
          "bad integer '65536' for key 'port' (expected an integer from 0 to 65535)" },
        { "name = x\nbuf = 2M\n", 6,
          "bad size '2M' for key 'buf' (expected a size (e.g. 512, 64k, 1M) from 1k to 1M)" },
        { "name = x\nbuf = 12q\n", 6, "bad size '12q' for key 'buf'" },
        { "name = x\nverbose = maybe\n", 6,
          "bad boolean 'maybe' for key 'verbose' (expected yes or no)" },
        { "name = x\nwait = soon\n", 6,
          "bad duration 'soon' for key 'wait' (use e.g. 250ms, 5s, 2m)" },
        { "name = x\nwait = 2h\n", 6,
          "bad duration '2h' for key 'wait' (use e.g. 250ms, 5s, 2m): expected a duration "
          "(e.g. 250ms, 5s, 2m) from 1ms to 1h" },
        { "name = x\nmode = medium\n", 6,
          "bad value 'medium' for key 'mode' (expected one of: fast, slow)" },
        { "name = x\nlisten = nowhere:99999\n", 6,
          "bad listen address 'nowhere:99999'" },
        { "name = x\ncommand = \"\"\"\"\n\n", 6, NULL },   /* one empty word: fine */
        { "name = x\ncommand = 1 2 3 4 5 6 7 8 9\n", 6,
          "bad value '1 2 3 4 5 6 7 8 9' for key 'command' (expected 1 to 8 words)" },
        { "name = x\nroute = / 200 text/plain\n", 6,
          "bad value '/ 200 text/plain' for key 'route' (expected exactly 4 words)" },
        { "name = this-name-is-longer-than-32-characters\n", 5,
          "bad value 'this-name-is-longer-than-32-characters' for key 'name' (expected 1 "
          "to 32 characters)" },
        { "count = 3\n", 3, "missing required key 'name'" },
        { "name = x\ncolour = red\n", 6, "unknown key 'colour'" },
        { "name = x\ncount = 3\nsmall = 4\n", 3, "small (4) must not exceed count (3)" },
        { "name = x\ncount = 2\ncount = 3\n", 7, "duplicate key 'count' (first at line 6)" },
        { "name = x\nmax_conns = 2\nmax_clients = 3\n", 7,
          "duplicate key 'max_clients' (first at line 6)" },
        { "name = \"x\n", 5, "unterminated quote in the value of key 'name'" },
        { "name = x\nreuse_port = yes\nreuse_port = no\n", 7,
          "duplicate key 'reuse_port' (first at line 6)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        keyed_config(&d, cases[i].body);
        int rc;
        char *err = run_t(&d, &rc);
        if (!cases[i].msg) {
            ck_assert_msg(rc == 0, "case %zu: exit %d: %s", i, rc, err);
            free(err);
            continue;
        }
        char want[PATH_MAX + 512];
        E2E_FMT(want, sizeof want, "%s:%d: plugin:k: %s", d.conf, cases[i].line, cases[i].msg);
        ck_assert_msg(rc == EX_CONFIG_, "case %zu: exit %d: %s", i, rc, err);
        ck_assert_msg(strstr(err, want), "case %zu: no\n  %s\nin:\n%s", i, want, err);
        free(err);
    }
    e2e_kill(&d);
}
END_TEST

/* ';' and blanks inside quotes reach the plugin, with a table and with
 * configure(); a 3.0 plugin loads and runs. */
START_TEST(quoting_reaches_plugins)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    keyed_config(&d,
        "name = \"x ; y\"   ; a comment\n"
        "command = \"a ; b\" c\\d \"q\\\"uote\" \"\"\n"
        "route = / 200 text/plain \"hello ; world\"\n"
        "route = /x 404 text/plain gone\n"
        "tag = one\n"
        "tag = two\n"
        "max_clients = 7\n"
        "[plugin:v]\n"
        "module = abiv30\n"
        "who = \"hello ; world\" and \"more\"  ; comment\n");
    e2e_start(&d);
    ck_assert_msg(e2e_wait_log(&d, "plugin:k: name=<x ; y> count=10 small=0 port=80 buf=65536 "
                                   "verbose=0 wait=250000000 mode=0 listen=<(none)> "
                                   "max_conns=7 greeting=<hi> command=4 <a ; b> <c\\d> "
                                   "<q\"uote> <> route=2 [/|200|text/plain|hello ; world] "
                                   "[/x|404|text/plain|gone] tag=2 <one> <two>\n", 3000),
                  "stderr:\n%s", e2e_read_file(d.err));
    ck_assert_msg(e2e_wait_log(&d, "plugin:v: who=<hello ; world and more>\n", 3000),
                  "stderr:\n%s", e2e_read_file(d.err));
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(duplicates)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    int rc;
    char *err, want[PATH_MAX + 200];

    /* a [daemon] key twice in one file */
    e2e_config(&d, "[daemon]\nlog_level = info\nlog_level = debug\n");
    err = run_t(&d, &rc);
    E2E_FMT(want, sizeof want, "%s:3: duplicate key 'log_level' in [daemon] (first at line 2)",
            d.conf);
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, want), "exit %d: %s", rc, err);
    free(err);

    /* a drop-in overrides the main file's [daemon] key */
    char dropins[PATH_MAX], f[PATH_MAX];
    E2E_FMT(dropins, sizeof dropins, "%s/conf.d", d.dir);
    ck_assert_int_eq(mkdir(dropins, 0755), 0);
    E2E_FMT(f, sizeof f, "%s/10-level.ini", dropins);
    e2e_write_file(f, "[daemon]\nlog_level = debug\n");
    e2e_config(&d, "[daemon]\nlog_level = warning\ninclude_dir = conf.d\nplugin_dir = %s\n"
                   "[plugin:k]\nmodule = keyed\nname = x\n", e2e_fixtures());
    err = run_t(&d, &rc);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    e2e_start(&d);
    /* debug lines show only if the drop-in's level won */
    ck_assert_msg(e2e_wait_log(&d, "loaded module 'keyed'", 3000), "%s", e2e_read_file(d.err));
    e2e_stop(&d, 5000);

    /* a plugin section twice */
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:k]\nmodule = keyed\nname = x\n"
                   "[plugin:k]\nname = y\n", e2e_fixtures());
    err = run_t(&d, &rc);
    E2E_FMT(want, sizeof want, "%s:6: duplicate section [plugin:k], first defined at %s:3",
            d.conf, d.conf);
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, want), "exit %d: %s", rc, err);
    free(err);
    e2e_kill(&d);
}
END_TEST

/* Live keys change in place (reconfigure(NULL, NULL) sees them stored);
 * any other key restarts the instance. */
START_TEST(live_reconfigure)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    keyed_config(&d, "name = x\nmax_clients = 5\ngreeting = hi\n");
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "max_conns=5 greeting=<hi>", 3000));

    keyed_config(&d, "name = x\nmax_clients = 9\ngreeting = \"good ; day\"\n");
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "plugin:k: live: max_conns=9 greeting=<good ; day>\n", 3000),
                  "stderr:\n%s", e2e_read_file(d.err));
    ck_assert_msg(e2e_wait_log(&d, "plugin:k: reconfigured in place", 3000), "%s",
                  e2e_read_file(d.err));
    char *log = e2e_read_file(d.err);
    ck_assert_int_eq(e2e_count_substr(log, "running module 'keyed'"), 1);
    free(log);

    /* the alias spelled out: same value, nothing to do, no restart */
    keyed_config(&d, "name = x\nmax_conns = 9\ngreeting = \"good ; day\"\n");
    e2e_reload(&d);
    /* count is not live: a new incarnation */
    keyed_config(&d, "name = x\ncount = 20\nmax_conns = 9\ngreeting = \"good ; day\"\n");
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "count=20", 3000), "%s", e2e_read_file(d.err));
    log = e2e_read_file(d.err);
    ck_assert_int_eq(e2e_count_substr(log, "running module 'keyed'"), 2);
    free(log);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(bad_table_refused_old_abi_loads)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    int rc;
    char *err, want[PATH_MAX + 400];

    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:b]\nmodule = badtable\n", e2e_fixtures());
    err = run_t(&d, &rc);
    E2E_FMT(want, sizeof want, "%s:4: plugin:b: refusing module 'badtable' (%s/badtable.so): "
            "its key table is wrong: key 'level': range 0 to 300 does not fit its 1-byte "
            "unsigned field (0 to 255)", d.conf, e2e_fixtures());
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, want), "exit %d: no\n%s\nin:\n%s", rc, want, err);
    free(err);

    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:v]\nmodule = abiv30\nwho = me\n",
               e2e_fixtures());
    err = run_t(&d, &rc);
    char *out = e2e_read_file(d.out);
    ck_assert_msg(rc == 0 && strstr(out, "configuration OK"), "exit %d: %s", rc, err);
    free(out);
    free(err);
    e2e_kill(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e keys");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, describe_one_module);
    tcase_add_test(tc, describe_lists_plugin_dir);
    tcase_add_test(tc, every_type_error_with_line);
    tcase_add_test(tc, quoting_reaches_plugins);
    tcase_add_test(tc, duplicates);
    tcase_add_test(tc, live_reconfigure);
    tcase_add_test(tc, bad_table_refused_old_abi_loads);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
