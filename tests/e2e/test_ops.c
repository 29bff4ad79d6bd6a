/*
 * test_ops.c — operations: what tools/deps.sh makes sure of, the default
 * configuration path following the build's SYSCONFDIR, the man pages and
 * the README against `tickd -h`, and `-t` errors at journal priority 3.
 */
#include <ctype.h>

#include "e2e.h"

static void sh(const char *cmd)
{
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* The output of a shell command (malloc'd, NUL-terminated). */
static char *sh_out(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(buf);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            buf = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(buf);
        }
    }
    buf[len] = '\0';
    int rc = pclose(p);
    ck_assert_msg(rc == 0, "command failed (%d): %s\n%s", rc, cmd, buf);
    return buf;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* ---- 1. tools/deps.sh ---------------------------------------------------- */

/* gcc installed with --no-install-recommends brings no libc headers: every
 * purpose must ensure libc6-dev; check also needs man-db and groff-base. */
START_TEST(deps_lists_libc6_dev)
{
    const char *purposes[] = { "build", "check", "bench" };
    char cmd[PATH_MAX + 64];
    for (size_t i = 0; i < 3; i++) {
        E2E_FMT(cmd, sizeof cmd, "'%s/tools/deps.sh' --list %s", e2e_src(), purposes[i]);
        char *out = sh_out(cmd);
        ck_assert_msg(has_line(out, "libc6-dev"), "%s: no libc6-dev in:\n%s", purposes[i], out);
        ck_assert_msg(has_line(out, "gcc"), "%s:\n%s", purposes[i], out);
        if (i == 1) {
            ck_assert_msg(has_line(out, "man-db"), "check: no man-db in:\n%s", out);
            ck_assert_msg(has_line(out, "groff-base"), "check: no groff-base in:\n%s", out);
        }
        free(out);
    }
}
END_TEST

/* The install path itself, not only the list: with a dpkg-query that says
 * only libc6-dev is missing, deps.sh asks apt-get for exactly libc6-dev. */
START_TEST(deps_installs_missing_libc6_dev)
{
    char dir[PATH_MAX], cmd[4 * PATH_MAX];
    e2e_mkdtemp(dir, sizeof dir);
    E2E_FMT(cmd, sizeof cmd,
            "cd '%s' && mkdir bin && "
            "printf '#!/bin/sh\\n"
            "for a; do p=$a; done\\n"
            "[ \"$p\" = libc6-dev ] && exit 1\\n"
            "printf \"install ok installed\"\\n' > bin/dpkg-query && "
            "printf '#!/bin/sh\\necho \"$@\" >> \"%s/apt.log\"\\n' > bin/apt-get && "
            "printf '#!/bin/sh\\nexec \"$@\"\\n' > bin/sudo && "
            "chmod 0755 bin/*", dir, dir);
    sh(cmd);
    E2E_FMT(cmd, sizeof cmd, "PATH='%s/bin':\"$PATH\" '%s/tools/deps.sh' build 2>/dev/null",
            dir, e2e_src());
    sh(cmd);
    char log[PATH_MAX];
    E2E_FMT(log, sizeof log, "%s/apt.log", dir);
    char *apt = e2e_read_file(log);
    ck_assert_msg(strstr(apt, "install") && strstr(apt, " libc6-dev"),
                  "apt-get was not asked for libc6-dev:\n%s", apt);
    ck_assert_msg(!strstr(apt, " gcc"), "asked for what is installed:\n%s", apt);
    free(apt);
}
END_TEST

/* ---- 2. the default configuration path ----------------------------------- */

/* `tickd -h` names the default, and `tickd -t` without -c reads it. */
static void expect_default(const char *tickd, const char *sysconfdir)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char want[PATH_MAX + 64];
    setenv("TICKD", tickd, 1);
    const char *help[] = { "-h", NULL };
    ck_assert_int_eq(e2e_run(&d, help, 5000), 0);
    E2E_FMT(want, sizeof want, "(default FILE: %s/tickd/tickd.ini)", sysconfdir);
    char *out = e2e_read_file(d.out);
    ck_assert_msg(strstr(out, want), "%s -h does not say %s:\n%s", tickd, want, out);
    free(out);
    const char *check[] = { "-t", NULL };
    ck_assert_int_eq(e2e_run(&d, check, 5000), EX_CONFIG_);
    E2E_FMT(want, sizeof want, "%s/tickd/tickd.ini: cannot open: ", sysconfdir);
    char *err = e2e_read_file(d.err);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "want %s..., got: %s", want, err);
    free(err);
    e2e_kill(&d);
}

START_TEST(default_config_is_the_builds_sysconfdir)
{
    char tickd[PATH_MAX];
    E2E_FMT(tickd, sizeof tickd, "%s", e2e_tickd());
    /* `make e2e` passes the SYSCONFDIR $TICKD was built with */
    expect_default(tickd, e2e_env("TICKD_SYSCONFDIR", "/etc"));
}
END_TEST

/* A build with a SYSCONFDIR other than /etc (which the old hard-coded
 * path happened to match): quick, unoptimised, in a scratch BUILD. */
START_TEST(default_config_follows_another_sysconfdir)
{
    char dir[PATH_MAX], cmd[4 * PATH_MAX], tickd[PATH_MAX];
    e2e_mkdtemp(dir, sizeof dir);
    E2E_FMT(cmd, sizeof cmd, "make -s -j2 -C '%s' BUILD='%s/build' OPT=-O0 DEBUG= "
            "SYSCONFDIR=/srv/tickd-e2e/etc '%s/build/tickd' >/dev/null", e2e_src(), dir, dir);
    sh(cmd);
    E2E_FMT(tickd, sizeof tickd, "%s/build/tickd", dir);
    expect_default(tickd, "/srv/tickd-e2e/etc");
}
END_TEST

/* ---- 6. `-t` errors at priority 3 in the journal ------------------------ */

/* tickd -t ARGS with $JOURNAL_STREAM naming its stderr (or not): the exit
 * code, stderr in *err. */
static int check_run(e2e_daemon *d, const char *conf, bool journal, char **err)
{
    static char env[64];
    struct stat st;
    unlink(d->err);
    e2e_write_file(d->err, "%s", "");    /* its inode, before the child appends */
    ck_assert_int_eq(stat(d->err, &st), 0);
    E2E_FMT(env, sizeof env, "JOURNAL_STREAM=%llu:%llu",
            (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    d->env[0] = journal ? env : NULL;
    const char *args[] = { "-t", "-c", conf, NULL };
    e2e_spawn(d, false, args);
    int status = e2e_wait_exit(d, 10000);
    ck_assert_int_ne(status, -ETIMEDOUT);
    d->env[0] = NULL;
    *err = e2e_read_file(d->err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(check_errors_are_priority_3_in_the_journal)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char want[2 * PATH_MAX], missing[PATH_MAX], *err;

    /* a parse error, from the config reader */
    e2e_config(&d, "[daemon]\nbogus = 1\n");
    ck_assert_int_eq(check_run(&d, d.conf, true, &err), EX_CONFIG_);
    E2E_FMT(want, sizeof want, "<3>%s:2: unknown key 'bogus' in [daemon]\n", d.conf);
    ck_assert_str_eq(err, want);
    free(err);
    /* on a terminal (or a file): the bare line */
    ck_assert_int_eq(check_run(&d, d.conf, false, &err), EX_CONFIG_);
    ck_assert_str_eq(err, want + 3);
    free(err);

    /* no such file */
    E2E_FMT(missing, sizeof missing, "%s/nosuch.ini", d.dir);
    ck_assert_int_eq(check_run(&d, missing, true, &err), EX_CONFIG_);
    E2E_FMT(want, sizeof want, "<3>%s: cannot open: No such file or directory\n", missing);
    ck_assert_str_eq(err, want);
    free(err);

    /* a plugin's configure() refusing: the check_config path */
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n[plugin:beat]\nmodule = heartbeat\n"
               "interval = soon\n", e2e_plugins());
    ck_assert_int_eq(check_run(&d, d.conf, true, &err), EX_CONFIG_);
    E2E_FMT(want, sizeof want, "<3>%s:5: plugin:beat: ", d.conf);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0 && e2e_count_substr(err, "\n") == 1,
                  "want %s..., got: %s", want, err);
    free(err);
    ck_assert_int_eq(check_run(&d, d.conf, false, &err), EX_CONFIG_);
    ck_assert_msg(strncmp(err, want + 3, strlen(want + 3)) == 0, "got: %s", err);
    free(err);
    e2e_kill(&d);
}
END_TEST

/* ---- 3. documentation ---------------------------------------------------- */

/* tickd.ini.5 is generated into the build directory (from its .in and
 * the plugins' key tables) */
static const char *const man_pages[] = { "man/tickd.8", "man/tickd.ini.5", "man/tick.3" };

static void man_page_path(size_t i, char *out, size_t len)
{
    if (strcmp(man_pages[i], "man/tickd.ini.5") == 0) {
        char build[PATH_MAX];
        E2E_FMT(build, sizeof build, "%s", e2e_tickd());
        char *slash = strrchr(build, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
        E2E_FMT(out, len, "%s/%s", build, man_pages[i]);
    } else {
        E2E_FMT(out, len, "%s/%s", e2e_src(), man_pages[i]);
    }
}

/* man-db + groff render each page without a warning (they go to stderr
 * with exit status 0, so stderr is what is checked). */
START_TEST(man_pages_render_without_warnings)
{
    char cmd[2 * PATH_MAX], page[PATH_MAX];
    for (size_t i = 0; i < 3; i++) {
        man_page_path(i, page, sizeof page);
        E2E_FMT(cmd, sizeof cmd, "MANWIDTH=80 man --warnings -l '%s' 2>&1 >/dev/null", page);
        char *warnings = sh_out(cmd);
        ck_assert_msg(warnings[0] == '\0', "%s:\n%s", man_pages[i], warnings);
        free(warnings);
        E2E_FMT(cmd, sizeof cmd, "MANWIDTH=80 man -l '%s' 2>/dev/null | grep -c .", page);
        char *lines = sh_out(cmd);
        ck_assert_msg(atoi(lines) > 20, "%s renders %s lines", man_pages[i], lines);
        free(lines);
    }
}
END_TEST

/* make install puts the pages and the documentation in place. */
START_TEST(install_lays_out_the_documentation)
{
    char dir[PATH_MAX], cmd[4 * PATH_MAX], build[PATH_MAX];
    e2e_mkdtemp(dir, sizeof dir);
    E2E_FMT(build, sizeof build, "%s", e2e_tickd());
    char *slash = strrchr(build, '/');
    ck_assert_ptr_nonnull(slash);
    *slash = '\0';
    E2E_FMT(cmd, sizeof cmd, "make -s -C '%s' BUILD='%s' DESTDIR='%s/root' PREFIX=/opt/t "
            "SYSCONFDIR='%s' install >/dev/null", e2e_src(), build, dir,
            e2e_env("TICKD_SYSCONFDIR", "/etc"));
    sh(cmd);
    static const char *const files[] = {
        "share/man/man8/tickd.8", "share/man/man5/tickd.ini.5", "share/man/man3/tick.3",
        "share/doc/tickd/README.md", "share/doc/tickd/docs/daemon.md",
        "share/doc/tickd/docs/tutorial/hello.c",
        "lib/systemd/system/tickd.socket",
        "share/doc/tickd/systemd/tickd-socket-activated.conf",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[PATH_MAX];
        struct stat st;
        E2E_FMT(path, sizeof path, "%s/root/opt/t/%s", dir, files[i]);
        ck_assert_msg(stat(path, &st) == 0 && S_ISREG(st.st_mode), "not installed: %s", files[i]);
        ck_assert_msg((st.st_mode & 0777) == 0644, "%s: mode %o", files[i], st.st_mode & 0777);
    }
    /* the installed page is found by man through its MANPATH */
    E2E_FMT(cmd, sizeof cmd, "MANWIDTH=80 man -M '%s/root/opt/t/share/man' 5 tickd.ini 2>&1 "
            "| grep -q stop_timeout", dir);
    sh(cmd);
}
END_TEST

/* The installed unit's sandbox as systemd rates it, alone and with the
 * socket-activated drop-in (PrivateNetwork=yes, no Internet sockets):
 * printed for the record, and held to 1.1 and 0.2. Skipped without
 * systemd-analyze. */
static double exposure(const char *unitdir)
{
    char cmd[2 * PATH_MAX];
    E2E_FMT(cmd, sizeof cmd, "cd '%s' && systemd-analyze security --offline=yes "
            "./tickd.service 2>&1", unitdir);
    char *out = sh_out(cmd), *p = strstr(out, "Overall exposure level for tickd.service: ");
    ck_assert_msg(p != NULL, "systemd-analyze said:\n%s", out);
    double v = atof(p + strlen("Overall exposure level for tickd.service: "));
    free(out);
    return v;
}

START_TEST(socket_activated_unit_is_safer)
{
    if (system("command -v systemd-analyze >/dev/null 2>&1") != 0)
        return;
    char dir[PATH_MAX], cmd[4 * PATH_MAX], build[PATH_MAX], units[PATH_MAX + 32];
    e2e_mkdtemp(dir, sizeof dir);
    E2E_FMT(build, sizeof build, "%s", e2e_tickd());
    *strrchr(build, '/') = '\0';
    E2E_FMT(cmd, sizeof cmd, "make -s -C '%s' BUILD='%s' DESTDIR='%s/root' PREFIX=/usr "
            "SYSCONFDIR=/etc install >/dev/null", e2e_src(), build, dir);
    sh(cmd);
    E2E_FMT(units, sizeof units, "%s/root/usr/lib/systemd/system", dir);
    double plain = exposure(units);
    E2E_FMT(cmd, sizeof cmd, "mkdir -p '%s/tickd.service.d' && cp '%s/root/usr/share/doc/"
            "tickd/systemd/tickd-socket-activated.conf' '%s/tickd.service.d/'", units, dir,
            units);
    sh(cmd);
    double activated = exposure(units);
    fprintf(stderr, "ops: systemd-analyze security --offline=yes: tickd.service %.1f, "
            "with tickd-socket-activated.conf %.1f\n", plain, activated);
    ck_assert_msg(plain <= 1.1 + 1e-9, "tickd.service exposure %.1f", plain);
    ck_assert_msg(activated <= 0.2 + 1e-9, "socket-activated exposure %.1f", activated);
}
END_TEST

/* The exit codes `tickd -h` lists ("Exit status: 0, 64 usage, ...") are
 * each named in README.md and in tickd(8). */
START_TEST(exit_codes_agree)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    const char *help[] = { "-h", NULL };
    ck_assert_int_eq(e2e_run(&d, help, 5000), 0);
    char *out = e2e_read_file(d.out);
    char *p = strstr(out, "Exit status:");
    ck_assert_msg(p != NULL, "no 'Exit status:' in tickd -h:\n%s", out);
    char path[PATH_MAX];
    E2E_FMT(path, sizeof path, "%s/README.md", e2e_src());
    char *readme = e2e_read_file(path);
    E2E_FMT(path, sizeof path, "%s/man/tickd.8", e2e_src());
    char *man = e2e_read_file(path);
    char *sec = strstr(man, ".SH EXIT STATUS");
    ck_assert_ptr_nonnull(sec);
    char *sec_end = strstr(sec + 1, ".SH ");
    if (sec_end)
        *sec_end = '\0';
    int n = 0;
    /* up to the end of the sentence, which may wrap */
    for (p += strlen("Exit status:"); *p && *p != '.'; p++) {
        if (!isdigit((unsigned char)*p) || isdigit((unsigned char)p[-1]))
            continue;
        int code = atoi(p);
        char pat[32], mpat[32];
        E2E_FMT(pat, sizeof pat, " %d ", code);
        E2E_FMT(mpat, sizeof mpat, ".B %d\n", code);
        bool in_readme = false;
        /* "Exit codes ..." paragraph of the README */
        char *ex = strstr(readme, "Exit codes");
        ck_assert_ptr_nonnull(ex);
        char *ex_end = strstr(ex, "\n\n");
        for (char *q = ex; (q = strstr(q, pat)) && (!ex_end || q < ex_end); q++)
            in_readme = true;
        if (!in_readme) {     /* at the start of a line, or before a comma */
            char alt[32];
            E2E_FMT(alt, sizeof alt, "\n%d ", code);
            char *q = strstr(ex, alt);
            in_readme = q && (!ex_end || q < ex_end);
        }
        ck_assert_msg(in_readme, "exit code %d of tickd -h is not in README.md's "
                      "'Exit codes' paragraph", code);
        ck_assert_msg(strstr(sec, mpat), "exit code %d of tickd -h is not in tickd(8)", code);
        n++;
    }
    ck_assert_int_ge(n, 5);   /* 0, 64, 78, 70, 71 */
    free(out);
    free(readme);
    free(man);
    e2e_kill(&d);
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deps_lists_libc6_dev);
    tcase_add_test(tc, deps_installs_missing_libc6_dev);
    tcase_add_test(tc, default_config_is_the_builds_sysconfdir);
    tcase_add_test(tc, default_config_follows_another_sysconfdir);
    tcase_add_test(tc, check_errors_are_priority_3_in_the_journal);
    tcase_add_test(tc, man_pages_render_without_warnings);
    tcase_add_test(tc, install_lays_out_the_documentation);
    tcase_add_test(tc, socket_activated_unit_is_safer);
    tcase_add_test(tc, exit_codes_agree);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(ops_suite)
