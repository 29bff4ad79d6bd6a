/* test_daemon_config.c — the daemon's configuration reader: sections,
 * keys and their lines, defaults, drop-ins in order, every error with its
 * file and line, and the section comparison that drives a reload. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "config.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tickd-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Write dir/name; returns its path (static buffer per call site use). */
static const char *put(const char *name, const char *text)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    FILE *f;

    snprintf(p, 256, "%s/%s", dir, name);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static struct tickd_config *load_ok(const char *path)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg = NULL;
    int rc = tickd_config_load(path, &cfg, &err);
    ck_assert_msg(rc == 0, "load failed: %s", err.msg);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Load text as dir/tickd.ini and expect "tickd.ini:LINE: msg". */
static void expect_error(const char *text, int line, const char *msg)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg = (void *)1;
    const char *path = put("tickd.ini", text);
    char want[1200];

    ck_assert_int_lt(tickd_config_load(path, &cfg, &err), 0);
    ck_assert_ptr_null(cfg);
    ck_assert(err.set);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(defaults)
{
    struct tickd_config *cfg = load_ok(put("tickd.ini", "[daemon]\n"));
    char want[256];

    snprintf(want, sizeof want, "%s/plugins", dir);
    ck_assert_str_eq(cfg->d.plugin_dir, want);
    ck_assert_ptr_null(cfg->d.include_dir);
    ck_assert_int_eq(cfg->d.log_level, TICK_LOG_INFO);
    ck_assert_uint_eq(cfg->d.stop_timeout, 5 * TICK_SEC);
    ck_assert_uint_eq(cfg->d.slow_handle, 100 * TICK_MSEC);
    ck_assert(cfg->d.watchdog);
    ck_assert(cfg->d.accounting);
    ck_assert_uint_eq(cfg->nsec, 0);
    tickd_config_free(cfg);
}
END_TEST

START_TEST(daemon_keys)
{
    struct tickd_config *cfg = load_ok(put("tickd.ini",
        "; comment\n"
        "# comment\n"
        "[daemon]\n"
        "plugin_dir = /opt/tick/plugins ; inline comment\n"
        "log_level = debug\n"
        "stop_timeout = 250ms\n"
        "slow_handle = 0\n"
        "watchdog = no\n"
        "accounting = no\n"));
    ck_assert_str_eq(cfg->d.plugin_dir, "/opt/tick/plugins");
    ck_assert_int_eq(cfg->d.log_level, TICK_LOG_DEBUG);
    ck_assert_uint_eq(cfg->d.stop_timeout, 250 * TICK_MSEC);
    ck_assert_uint_eq(cfg->d.slow_handle, 0);
    ck_assert(!cfg->d.watchdog);
    ck_assert(!cfg->d.accounting);
    tickd_config_free(cfg);
}
END_TEST

START_TEST(instances_keys_and_lines)
{
    struct tickd_config *cfg = load_ok(put("tickd.ini",
        "[daemon]\n"                       /* 1 */
        "plugin_dir = mods\n"              /* 2 */
        "\n"                               /* 3 */
        "[plugin:echo1]\n"                 /* 4 */
        "module = echo\n"                  /* 5 */
        "listen = 127.0.0.1:7000\n"        /* 6 */
        "  max_clients = 10\n"             /* 7: indented, not a continuation */
        "[plugin:beat]\n"                  /* 8: no keys at all */
        "[plugin:x]\n"                     /* 9 */
        "empty =\n"));                     /* 10 */
    const struct tickd_section *s;
    char want[256];

    ck_assert_uint_eq(cfg->nsec, 3);
    s = tickd_config_find(cfg, "echo1");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->module, "echo");
    snprintf(want, sizeof want, "%s/mods/echo.so", dir);
    ck_assert_str_eq(s->module_path, want);
    ck_assert_int_eq(s->line, 4);
    ck_assert_int_eq(s->module_line, 5);
    ck_assert_uint_eq(s->nkv, 2);
    ck_assert_str_eq(s->kv[0].key, "listen");
    ck_assert_str_eq(s->kv[0].value, "127.0.0.1:7000");
    ck_assert_int_eq(s->kv[0].line, 6);
    ck_assert_str_eq(s->kv[1].key, "max_clients");
    ck_assert_str_eq(s->kv[1].value, "10");
    ck_assert_int_eq(s->kv[1].line, 7);

    s = tickd_config_find(cfg, "beat");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->module, "beat");     /* default: the instance name */
    ck_assert_int_eq(s->module_line, 8);
    ck_assert_uint_eq(s->nkv, 0);

    s = tickd_config_find(cfg, "x");
    ck_assert_uint_eq(s->nkv, 1);
    ck_assert_str_eq(s->kv[0].value, "");
    ck_assert_ptr_null(tickd_config_find(cfg, "nope"));
    tickd_config_free(cfg);
}
END_TEST

START_TEST(config_in_cwd_keeps_relative_paths)
{
    char cwd[512];
    struct tickd_config *cfg;

    put("tickd.ini", "[plugin:a]\n");
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    cfg = load_ok("tickd.ini");
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_str_eq(cfg->d.plugin_dir, "plugins");
    ck_assert_str_eq(cfg->sec[0].module_path, "plugins/a.so");
    ck_assert_str_eq(cfg->sec[0].file, "tickd.ini");
    tickd_config_free(cfg);
}
END_TEST

START_TEST(errors_have_file_and_line)
{
    expect_error("[daemon]\n[foo]\n", 2, "unknown section [foo]");
    expect_error("[daemon]\nfoo = 1\n", 2, "unknown key 'foo' in [daemon]");
    expect_error("[daemon]\n\nstop_timeout = 5x\n", 3,
                 "bad duration '5x' for key 'stop_timeout' (use e.g. 250ms, 5s, 2m)");
    expect_error("[daemon]\nstop_timeout = 0\n", 2,
                 "bad duration '0' for key 'stop_timeout' (use e.g. 250ms, 5s, 2m)");
    expect_error("[daemon]\nlog_level = loud\n", 2,
                 "bad log level 'loud' (use err, warning, notice, info or debug)");
    expect_error("[daemon]\nwatchdog = maybe\n", 2,
                 "bad boolean 'maybe' for key 'watchdog' (use yes or no)");
    expect_error("[daemon]\naccounting = 2\n", 2,
                 "bad boolean '2' for key 'accounting' (use yes or no)");
    expect_error("[daemon]\nplugin_dir =\n", 2, "empty value for key 'plugin_dir'");
    expect_error("x = 1\n", 1, "key 'x' outside of any section");
    expect_error("[daemon]\njunk\n", 2,
                 "syntax error (expected [section] or key = value)");
    expect_error("[daemon\n", 1, "syntax error: section header without ']'");
}
END_TEST

START_TEST(first_error_wins)
{
    /* a syntax error (found by inih) before one of ours (found by us) */
    expect_error("[daemon]\njunk\nfoo = 1\n", 2,
                 "syntax error (expected [section] or key = value)");
    /* and the other way round */
    expect_error("[daemon]\nfoo = 1\njunk\n", 2, "unknown key 'foo' in [daemon]");
    /* keys of a rejected section are not reported again */
    expect_error("[bar]\nfoo = 1\n", 1, "unknown section [bar]");
}
END_TEST

START_TEST(instance_errors)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg;
    const char *path = put("tickd.ini", "[plugin:a]\n\n[plugin:a]\n");
    char want[600];

    ck_assert_int_lt(tickd_config_load(path, &cfg, &err), 0);
    snprintf(want, sizeof want, "%s:3: duplicate section [plugin:a], first "
             "defined at %s:1", path, path);
    ck_assert_str_eq(err.msg, want);

    expect_error("[plugin:a b]\n", 1, "bad instance name in [plugin:a b] "
                 "(use up to 64 letters, digits, '_', '-' or '.')");
    expect_error("[plugin:]\n", 1, "bad instance name in [plugin:] "
                 "(use up to 64 letters, digits, '_', '-' or '.')");
    expect_error("[plugin:a]\nmodule = ../evil\n", 2, "plugin:a: bad module "
                 "name '../evil' (a file name in plugin_dir, without .so)");
    expect_error("[plugin:a]\nmodule = x\nmodule = y\n", 3,
                 "plugin:a: duplicate key 'module'");
}
END_TEST

START_TEST(long_line)
{
    char text[400];
    memset(text, 'x', sizeof text);
    memcpy(text, "[daemon]\nplugin_dir = ", 22);
    strcpy(text + 300, "\n");
    expect_error(text, 2, "line too long (more than 198 characters)");
}
END_TEST

/* The limit is on what is written, whatever ends the line: a 198-character
 * line is fine with "\n", with "\r\n" (CRLF file) and as the last line
 * without a newline; 199 characters are too many in all three cases. */
START_TEST(line_limit_same_for_lf_crlf_and_eof)
{
    static const char *const ends[] = { "\n", "\r\n", "" };
    char value[200], text[400];
    struct tickd_config *cfg;

    for (size_t i = 0; i < 3; i++) {
        /* "message = " is 10 characters: 188 + 10 = 198 */
        memset(value, 'v', 188);
        value[188] = '\0';
        snprintf(text, sizeof text, "[plugin:a]\r\nmessage = %s%s", value, ends[i]);
        cfg = load_ok(put("tickd.ini", text));
        ck_assert_uint_eq(cfg->sec[0].nkv, 1);
        ck_assert_str_eq(cfg->sec[0].kv[0].value, value);
        tickd_config_free(cfg);

        strcat(value, "v");
        snprintf(text, sizeof text, "[plugin:a]\r\nmessage = %s%s", value, ends[i]);
        expect_error(text, 2, "line too long (more than 198 characters)");
    }
}
END_TEST

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TICK_TEST_HAS_ASAN 1
#endif
#endif
#ifndef TICK_TEST_HAS_ASAN
#define TICK_TEST_HAS_ASAN 0
#endif

/* A line that never ends (a binary file, /dev/zero given by mistake) is
 * "line too long" at once, in bounded memory and time: the reader neither
 * buffers the whole line nor reads on to its end. */
START_TEST(endless_line_is_bounded)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg = (void *)1;
    struct rlimit old, lim;

    /* 512 MiB of address space is plenty for us; a reader that buffers
     * /dev/zero's "line" runs into it (and then took the failed read for
     * the end of an empty file). ASan reserves terabytes of shadow
     * address space, so under ASan there is no limit: the time bound
     * (the test timeout) remains. */
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = 512ul << 20;
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
        lim.rlim_cur = old.rlim_cur;
#if !defined(__SANITIZE_ADDRESS__) && !TICK_TEST_HAS_ASAN
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
#endif
    int rc = tickd_config_load("/dev/zero", &cfg, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(err.msg, "/dev/zero:1: line too long (more than 198 characters)");
}
END_TEST

START_TEST(missing_file)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg;
    char path[128], want[300];

    snprintf(path, sizeof path, "%s/nope.ini", dir);
    ck_assert_int_eq(tickd_config_load(path, &cfg, &err), -ENOENT);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(dropins_in_lexical_order)
{
    char d[128];
    struct tickd_config *cfg;

    snprintf(d, sizeof d, "%s/conf.d", dir);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    put("conf.d/20-b.ini", "[plugin:b]\n[daemon]\nlog_level = err\n");
    put("conf.d/10-a.ini", "[plugin:a]\n[daemon]\nlog_level = debug\n");
    put("conf.d/.hidden.ini", "[nonsense\n");
    put("conf.d/30-c.ini.disabled", "[nonsense\n");
    cfg = load_ok(put("tickd.ini", "[daemon]\ninclude_dir = conf.d\n[plugin:main]\n"));
    ck_assert_uint_eq(cfg->nsec, 3);
    ck_assert_str_eq(cfg->sec[0].name, "main");
    ck_assert_str_eq(cfg->sec[1].name, "a");
    ck_assert_str_eq(cfg->sec[2].name, "b");
    ck_assert_int_eq(cfg->d.log_level, TICK_LOG_ERR);   /* later file wins */
    ck_assert(strstr(cfg->sec[2].file, "conf.d/20-b.ini"));
    tickd_config_free(cfg);
}
END_TEST

START_TEST(dropin_errors)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg;
    char d[128], want[300];
    const char *path;

    snprintf(d, sizeof d, "%s/conf.d", dir);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    put("conf.d/10-a.ini", "[plugin:a]\nx = 1\n[daemon]\ninclude_dir = more\n");
    path = put("tickd.ini", "[daemon]\ninclude_dir = conf.d\n");
    ck_assert_int_lt(tickd_config_load(path, &cfg, &err), 0);
    snprintf(want, sizeof want, "%s/conf.d/10-a.ini:4: include_dir is only "
             "allowed in the main configuration file", dir);
    ck_assert_str_eq(err.msg, want);

    /* the same instance in the main file and a drop-in */
    put("conf.d/10-a.ini", "\n[plugin:a]\n");
    path = put("tickd.ini", "[daemon]\ninclude_dir = conf.d\n[plugin:a]\n");
    memset(&err, 0, sizeof err);
    ck_assert_int_lt(tickd_config_load(path, &cfg, &err), 0);
    snprintf(want, sizeof want, "%s/conf.d/10-a.ini:2: duplicate section "
             "[plugin:a], first defined at %s:3", dir, path);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(missing_dropin_dir_is_empty)
{
    struct tickd_config *cfg = load_ok(put("tickd.ini",
                                           "[daemon]\ninclude_dir = nowhere\n"));
    ck_assert_uint_eq(cfg->nsec, 0);
    tickd_config_free(cfg);
}
END_TEST

START_TEST(section_equality)
{
    struct tickd_config *a = load_ok(put("a.ini",
        "[plugin:e]\nmodule = echo\nlisten = 1\n[plugin:f]\nmodule = echo\nlisten = 1\n"));
    struct tickd_config *b = load_ok(put("b.ini",
        "\n\n[plugin:e]\nmodule = echo\n\nlisten = 1\n"
        "[plugin:f]\nmodule = echo\nlisten = 2\n"));
    struct tickd_section *copy;

    /* same keys and values, other lines: equal */
    ck_assert(tickd_section_equal(&a->sec[0], &b->sec[0]));
    ck_assert(!tickd_section_equal(&a->sec[1], &b->sec[1]));
    ck_assert(!tickd_section_equal(&a->sec[0], &a->sec[1]));   /* names */
    copy = tickd_section_dup(&a->sec[0]);
    ck_assert_ptr_nonnull(copy);
    ck_assert(tickd_section_equal(copy, &a->sec[0]));
    ck_assert_int_eq(copy->kv[0].line, 3);
    tickd_section_free(copy);
    tickd_config_free(a);
    tickd_config_free(b);
}
END_TEST

/* The quoting rule (tick/config.h): a quoted ';' survives inih, the
 * value is unquoted for configure(), raw keeps the quotes for tables. */
START_TEST(quoting)
{
    struct tickd_config *cfg = load_ok(put("tickd.ini",
        "[daemon]\n"
        "log_level = \"debug\"\n"
        "[plugin:a]\n"
        "module = \"echo\"\n"
        "cmd = \"x ; y\" z ; comment\n"
        "semi = a;b\n"
        "esc = \"q\\\" \\\\ ;\"\n"
        "hash = \"# not a comment\"\n"));
    const struct tickd_section *s = tickd_config_find(cfg, "a");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->module, "echo");
    ck_assert_int_eq(cfg->d.log_level, 7);
    ck_assert_uint_eq(s->nkv, 4);
    ck_assert_str_eq(s->kv[0].raw, "\"x ; y\" z");
    ck_assert_str_eq(s->kv[0].value, "x ; y z");
    ck_assert_str_eq(s->kv[1].value, "a;b");
    ck_assert_str_eq(s->kv[2].value, "q\" \\ ;");
    ck_assert_str_eq(s->kv[3].value, "# not a comment");
    tickd_config_free(cfg);

    expect_error("[plugin:a]\nx = \"open ; still\n", 2,
                 "plugin:a: unterminated quote in the value of key 'x'");
    expect_error("[daemon]\nlog_level = \"info\n", 2,
                 "unterminated quote in the value of key 'log_level'");
    expect_error("[plugin:a]\nx = a\x01" "b\n", 2, "byte 0x01 in a configuration file");
}
END_TEST

/* A [daemon] key twice in one file is an error; a drop-in overrides. */
START_TEST(daemon_duplicates)
{
    expect_error("[daemon]\nstop_timeout = 1s\n[daemon]\nstop_timeout = 2s\n", 4,
                 "duplicate key 'stop_timeout' in [daemon] (first at line 2)");
    expect_error("[plugin:a]\nreuse_port = yes\nreuse_port = yes\n", 3,
                 "plugin:a: duplicate key 'reuse_port' (first at line 2)");
    char d[128];
    snprintf(d, sizeof d, "%s/conf.d", dir);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    put("conf.d/a.ini", "[daemon]\nstop_timeout = 3s\n");
    struct tickd_config *cfg = load_ok(put("tickd.ini",
        "[daemon]\nstop_timeout = 1s\ninclude_dir = conf.d\n"));
    ck_assert_uint_eq(cfg->d.stop_timeout, 3 * (uint64_t)1000000000);
    tickd_config_free(cfg);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, daemon_keys);
    tcase_add_test(tc, instances_keys_and_lines);
    tcase_add_test(tc, config_in_cwd_keeps_relative_paths);
    tcase_add_test(tc, errors_have_file_and_line);
    tcase_add_test(tc, first_error_wins);
    tcase_add_test(tc, instance_errors);
    tcase_add_test(tc, long_line);
    tcase_add_test(tc, line_limit_same_for_lf_crlf_and_eof);
    tcase_add_test(tc, endless_line_is_bounded);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, dropins_in_lexical_order);
    tcase_add_test(tc, dropin_errors);
    tcase_add_test(tc, missing_dropin_dir_is_empty);
    tcase_add_test(tc, section_equality);
    tcase_add_test(tc, quoting);
    tcase_add_test(tc, daemon_duplicates);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
