/*
 * scrape.h — e2e helpers for the Prometheus text the daemon renders: wait
 * for the next scrape the metricsdump fixture writes, and judge a text
 * with `promtool check metrics` (Debian's prometheus; skipped with the
 * reason when it is not installed).
 */
#ifndef TICK_E2E_SCRAPE_H
#define TICK_E2E_SCRAPE_H

#include "e2e.h"

/* The next complete scrape written to path after now: wait for the file
 * to be replaced (metricsdump renames a complete one into place). */
E2E_FN char *e2e_next_scrape(const char *path, int timeout_ms)
{
    char *prev = e2e_read_file(path);
    for (int64_t end = e2e_now_ms() + timeout_ms; e2e_now_ms() < end;) {
        e2e_sleep_ms(20);
        char *s = e2e_read_file(path);
        if (s && s[0] && (!prev || strcmp(s, prev) != 0)) {
            free(prev);
            return s;
        }
        free(s);
    }
    free(prev);
    ck_abort_msg("no new scrape in %s within %d ms", path, timeout_ms);
    return NULL;
}

/* promtool check metrics on the file at path: no error, no lint. */
E2E_FN void e2e_promtool_ok(const char *path)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        printf("promtool check skipped: promtool not installed\n");
        return;
    }
    char cmd[PATH_MAX * 2 + 64];
    E2E_FMT(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s.lint' 2>&1", path, path);
    int rc = system(cmd);
    E2E_FMT(cmd, sizeof cmd, "%s.lint", path);
    char *lint = e2e_read_file(cmd);
    char *text = rc == 0 && (!lint || !lint[0]) ? NULL : e2e_read_file(path);
    ck_assert_msg(rc == 0 && (!lint || !lint[0]), "promtool check metrics (%d): %.2000s\n--- %s:\n%.4000s",
                  rc, lint ? lint : "", path, text ? text : "");
    free(text);
    free(lint);
}

#endif
