/*
 * test_unit.c — the systemd unit as `make install` writes it: a
 * configuration error at start must end the unit failed with the main
 * process's exit 78 and no restart (no ExecStartPre= check, whose failure
 * RestartPreventExitStatus= does not cover), reloads go through the
 * control socket, and `systemd-analyze verify` accepts the file when the
 * tool is there. The behaviour under a real systemd is `make check-systemd`.
 */
#include "e2e.h"

static void sh(const char *cmd)
{
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* Every "Key=value" of [section] in unit text, in order, as
 * "Key=value\n" lines (malloc'd): comments, blank lines and other
 * sections left out, continuation lines are not used by the unit. */
static char *unit_section(const char *text, const char *section)
{
    size_t cap = strlen(text) + 1, len = 0;
    char *out = malloc(cap), want[64];
    bool in = false;
    ck_assert_ptr_nonnull(out);
    E2E_FMT(want, sizeof want, "[%s]", section);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        if (n && *p == '[')
            in = n == strlen(want) && strncmp(p, want, n) == 0;
        else if (in && n && *p != '#' && *p != ';' && memchr(p, '=', n)) {
            memcpy(out + len, p, n);
            len += n;
            out[len++] = '\n';
        }
        p += n;
        if (*p == '\n')
            p++;
    }
    out[len] = '\0';
    return out;
}

/* The value of the last Key= line (systemd: later wins for most keys),
 * or NULL; static buffer. Lists (RestartPreventExitStatus=) are read
 * with unit_all(). */
static const char *unit_get(const char *sec, const char *key)
{
    static char val[1024];
    const char *found = NULL;
    size_t kl = strlen(key);
    for (const char *p = sec; (p = strstr(p, key)); p += kl)
        if ((p == sec || p[-1] == '\n') && p[kl] == '=')
            found = p + kl + 1;
    if (!found)
        return NULL;
    size_t n = strcspn(found, "\n");
    ck_assert_uint_lt(n, sizeof val);
    memcpy(val, found, n);
    val[n] = '\0';
    return val;
}

/* Every value of Key= joined by spaces (an empty assignment resets). */
static void unit_all(const char *sec, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key), off = 0;
    out[0] = '\0';
    for (const char *p = sec; (p = strstr(p, key)); p += kl) {
        if (!((p == sec || p[-1] == '\n') && p[kl] == '='))
            continue;
        const char *v = p + kl + 1;
        size_t n = strcspn(v, "\n");
        if (n == 0) {
            off = 0;
            out[0] = '\0';
            continue;
        }
        ck_assert_uint_lt(off + n + 2, len);
        if (off)
            out[off++] = ' ';
        memcpy(out + off, v, n);
        off += n;
        out[off] = '\0';
    }
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* make install into dir/root (PREFIX=/opt/t, the build's SYSCONFDIR so
 * nothing is rebuilt); the unit's text (malloc'd). */
static char *installed_unit(const char *dir)
{
    char cmd[4 * PATH_MAX], build[PATH_MAX], path[PATH_MAX];
    E2E_FMT(build, sizeof build, "%s", e2e_tickd());
    char *slash = strrchr(build, '/');
    ck_assert_ptr_nonnull(slash);
    *slash = '\0';
    E2E_FMT(cmd, sizeof cmd, "make -s -C '%s' BUILD='%s' DESTDIR='%s/root' PREFIX=/opt/t "
            "SYSCONFDIR='%s' install >/dev/null", e2e_src(), build, dir,
            e2e_env("TICKD_SYSCONFDIR", "/etc"));
    sh(cmd);
    E2E_FMT(path, sizeof path, "%s/root/opt/t/lib/systemd/system/tickd.service", dir);
    char *text = e2e_read_file(path);
    ck_assert_msg(text[0], "no unit at %s", path);
    return text;
}

/* A config error at start: only the main process may judge the
 * configuration, so its exit 78 reaches RestartPreventExitStatus=. */
START_TEST(config_error_at_start_is_not_restarted)
{
    char dir[PATH_MAX], list[1024];
    e2e_mkdtemp(dir, sizeof dir);
    char *text = installed_unit(dir);
    char *svc = unit_section(text, "Service");

    ck_assert_str_eq(unit_get(svc, "Type"), "notify");
    /* no ExecStartPre= at all, and certainly none running tickd -t */
    unit_all(svc, "ExecStartPre", list, sizeof list);
    ck_assert_msg(list[0] == '\0', "ExecStartPre= in the unit: %s", list);
    ck_assert_msg(!strstr(text, "ExecStartPre=@") && !strstr(svc, " -t ") &&
                  !strstr(svc, " --test"), "a tickd -t check in the unit:\n%s", svc);
    const char *start = unit_get(svc, "ExecStart");
    ck_assert_ptr_nonnull(start);
    ck_assert_msg(strncmp(start, "/opt/t/bin/tickd ", 17) == 0, "ExecStart=%s", start);
    ck_assert_msg(!strstr(start, " -t"), "ExecStart=%s", start);

    /* reloads through the control socket, which lives in the runtime
     * directory: systemctl reload hears a rejected configuration */
    const char *reload = unit_get(svc, "ExecReload");
    ck_assert_ptr_nonnull(reload);
    ck_assert_msg(strncmp(reload, "/opt/t/bin/tickd reload", 23) == 0 &&
                  (reload[23] == ' ' || !reload[23]), "ExecReload=%s", reload);
    ck_assert_str_eq(unit_get(svc, "RuntimeDirectory"), "tickd");
    const char *mode = unit_get(svc, "RuntimeDirectoryMode");
    ck_assert_msg(mode && (!strcmp(mode, "0700") || !strcmp(mode, "0750")),
                  "RuntimeDirectoryMode=%s", mode ? mode : "(unset)");

    ck_assert_str_eq(unit_get(svc, "Restart"), "on-failure");
    unit_all(svc, "RestartPreventExitStatus", list, sizeof list);
    ck_assert_msg(has_word(list, "78"), "RestartPreventExitStatus=%s", list);
    ck_assert_msg(has_word(list, "64"), "RestartPreventExitStatus=%s", list);
    /* 78 must leave the unit failed, not count as a clean exit */
    unit_all(svc, "SuccessExitStatus", list, sizeof list);
    ck_assert_msg(!has_word(list, "78"), "SuccessExitStatus=%s", list);

    /* a crash loop (not 64/78) still ends: the start limit can trip
     * with RestartSec=2s (5 starts need 8 s of waits) */
    char *unit = unit_section(text, "Unit");
    const char *v = unit_get(unit, "StartLimitBurst");
    ck_assert_msg(v, "no StartLimitBurst= in [Unit]:\n%s", unit);
    ck_assert_int_eq(atoi(v), 5);
    v = unit_get(unit, "StartLimitIntervalSec");
    ck_assert_msg(v, "no StartLimitIntervalSec= in [Unit]:\n%s", unit);
    ck_assert_int_ge(atoi(v), 30);
    free(unit);
    free(svc);
    free(text);
}
END_TEST

/* systemd-analyze verify of the installed unit, with ExecStart= and
 * ExecReload= pointing at the built binary (verify checks that the
 * commands exist). Skipped, with a note, without systemd-analyze. */
START_TEST(installed_unit_verifies)
{
    if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        fprintf(stderr, "installed_unit_verifies: no systemd-analyze here, skipped\n");
        return;
    }
    char dir[PATH_MAX], tickd[PATH_MAX], path[PATH_MAX], cmd[4 * PATH_MAX];
    e2e_mkdtemp(dir, sizeof dir);
    free(installed_unit(dir));
    ck_assert_ptr_nonnull(realpath(e2e_tickd(), tickd));
    E2E_FMT(path, sizeof path, "%s/tickd.service", dir);
    E2E_FMT(cmd, sizeof cmd, "sed -e 's|/opt/t/bin/tickd|%s|g' "
            "'%s/root/opt/t/lib/systemd/system/tickd.service' > '%s'", tickd, dir, path);
    sh(cmd);
    E2E_FMT(cmd, sizeof cmd, "timeout 60 systemd-analyze verify '%s' > '%s/verify.out' 2>&1",
            path, dir);
    int rc = system(cmd);
    E2E_FMT(path, sizeof path, "%s/verify.out", dir);
    char *out = e2e_read_file(path);
    ck_assert_msg(rc == 0, "systemd-analyze verify failed (%d):\n%s", rc, out);
    ck_assert_msg(!strstr(out, "tickd.service"), "systemd-analyze verify:\n%s", out);
    free(out);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("unit");
    TCase *tc = tcase_create("unit");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, config_error_at_start_is_not_restarted);
    tcase_add_test(tc, installed_unit_verifies);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(unit_suite)
