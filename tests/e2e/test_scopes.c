/*
 * test_scopes.c — "no plugin code runs after its instance is gone" as a
 * property of scopes, not of a plugin's good manners.
 *
 * The escapes fixture (tests/plugins/escapes) does, from start() and plain
 * callbacks only, everything that used to escape the daemon at unload: a
 * handle parked on a never-completing future, a malloc'd timer that stays
 * armed, a pool job started from that timer's callback (it sleeps 300 ms,
 * then writes the instance memory), and `sh -c 'sleep 60 & sleep 60'`.
 * Two instances of it run beside echo; a reload removes one. The removed
 * instance's scope must end all four (and say so in the log) before its
 * memory is freed, while the other instance and echo keep serving. The
 * same binary runs against the ASan+UBSan daemon (make san-e2e), where
 * freeing the instance under the job is a reported use-after-free.
 */
#include "e2e.h"
#include "procs.h"

#define HEADER                                                              \
    "[daemon]\n"                                                            \
    "plugin_dir = %s\n"                                                     \
    "stop_timeout = 5s\n"

/* A private plugin directory holding echo.so and escapes.so. */
static void plugin_dir(e2e_daemon *d, char *dir, size_t len)
{
    static const char *const mods[] = { "echo", "escapes" };
    E2E_FMT(dir, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (size_t i = 0; i < 2; i++) {
        char src[PATH_MAX + 64], dst[PATH_MAX + 64];
        E2E_FMT(src, sizeof src, "%s/%s.so", i ? e2e_fixtures() : e2e_plugins(), mods[i]);
        E2E_FMT(dst, sizeof dst, "%s/%s.so", dir, mods[i]);
        e2e_copy_file(src, dst, 0755);
    }
}

struct escapes_run {
    e2e_daemon d;
    char dir[PATH_MAX];
    uint16_t port;
    pid_t sh[2];                 /* esc1's and esc2's sh */
    pid_t kids[2][4];            /* their children (the two sleeps) */
    int nkids[2];
    int64_t reloaded_ms;         /* when SIGHUP was sent */
};

/* sh's pid from the log, and its children once sh has forked them. */
static void record_processes(struct escapes_run *r, int i, const char *name)
{
    char prefix[64];
    E2E_FMT(prefix, sizeof prefix, "plugin:%s: spawned pid ", name);
    r->sh[i] = e2e_log_pid(&r->d, prefix);
    ck_assert_msg(r->sh[i] > 0, "no '%s' in the log:\n%s", prefix, e2e_read_file(r->d.err));
    e2e_leftover(r->sh[i], "sh");
    int64_t end = e2e_now_ms() + 3000;
    do {
        r->nkids[i] = e2e_proc_children(r->sh[i], r->kids[i], 4);
        /* dash forks both sleeps; a shell that execs the last command
         * becomes one of them itself */
        if (r->nkids[i] >= 2 || (r->nkids[i] == 1 && e2e_proc_comm_is(r->sh[i], "sleep")))
            break;
        e2e_sleep_ms(10);
    } while (e2e_now_ms() < end);
    ck_assert_msg(r->nkids[i] >= 1, "sh %d of %s has no children", (int)r->sh[i], name);
    for (int k = 0; k < r->nkids[i]; k++)
        e2e_leftover(r->kids[i][k], "sleep");
}

/* Start esc1 + esc2 + echo, wait until both escapes instances did all
 * four things, then reload without esc2. */
static void escapes_start_and_remove_one(struct escapes_run *r)
{
    e2e_daemon_init(&r->d);
    r->port = e2e_free_port();
    plugin_dir(&r->d, r->dir, sizeof r->dir);
    e2e_config(&r->d, HEADER
               "\n[plugin:esc1]\nmodule = escapes\n"
               "\n[plugin:esc2]\nmodule = escapes\n"
               "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               r->dir, r->port);
    e2e_start(&r->d);
    ck_assert_msg(e2e_wait_log(&r->d, "plugin:esc1: all four armed", 3000) &&
                  e2e_wait_log(&r->d, "plugin:esc2: all four armed", 3000),
                  "stderr:\n%s", e2e_read_file(r->d.err));
    record_processes(r, 0, "esc1");
    record_processes(r, 1, "esc2");
    /* the reload must come while esc2's 300 ms job still runs: the
     * cancel line below names the job only then */
    e2e_config(&r->d, HEADER
               "\n[plugin:esc1]\nmodule = escapes\n"
               "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               r->dir, r->port);
    r->reloaded_ms = e2e_now_ms();
    e2e_signal(&r->d, SIGHUP);
    ck_assert_msg(e2e_wait_note(&r->d, "RELOADING=1", 5000), "no RELOADING=1");
    ck_assert_msg(e2e_wait_note(&r->d, "READY=1", 10000), "no READY=1 after reload");
    ck_assert_msg(e2e_wait_log(&r->d, "reloaded: 0 started, 1 stopped, 2 unchanged", 5000),
                  "stderr:\n%s", e2e_read_file(r->d.err));
    /* the reload is done at once; the retired incarnation is freed once
     * its scope has drained (the job returned) */
    ck_assert_msg(e2e_wait_log(&r->d, "plugin:esc2: load 1 retired", 5000),
                  "stderr:\n%s", e2e_read_file(r->d.err));
}

/* The one line of log that starts at needle, as a new string. */
static char *log_line(const char *log, const char *needle)
{
    const char *p = strstr(log, needle);
    if (!p)
        return NULL;
    size_t n = strcspn(p, "\n");
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Position of needle in log, or -1. */
static long log_pos(const char *log, const char *needle)
{
    const char *p = strstr(log, needle);
    return p ? (long)(p - log) : -1;
}

START_TEST(removed_instance_is_cancelled_and_drained_before_free)
{
    struct escapes_run r;
    memset(&r, 0, sizeof r);
    escapes_start_and_remove_one(&r);
    char *log = e2e_read_file(r.d.err);

    /* the log names what the cancel ended: all four, from plain callbacks */
    char *line = log_line(log, "plugin:esc2: stopping: cancelling ");
    ck_assert_msg(line != NULL, "no cancel line; stderr:\n%s", log);
    static const char *const items[] = {
        "1 timer 'heap timer'", "1 handle 'parked callback'",
        "1 job 'thread job'", "1 child 'sh'",
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        ck_assert_msg(strstr(line, items[i]), "'%s' not in: %s", items[i], line);
    free(line);

    /* drained first: the job returned (writing the instance memory)
     * before stop(), which found everything ended; release() found
     * nothing armed; only then was the incarnation retired (freed) */
    long job = log_pos(log, "plugin:esc2: job finished: instance memory written");
    long stop = log_pos(log, "plugin:esc2: stop(): heap timer disarmed, parked handle "
                        "unparked, job returned, alive timer disarmed");
    long done = log_pos(log, "plugin:esc2: load 1 retired");
    ck_assert_msg(job >= 0 && stop > job && done > stop, "order job %ld, stop %ld, "
                  "reloaded %ld; stderr:\n%s", job, stop, done, log);
    ck_assert_msg(!strstr(log, "release():"), "stderr:\n%s", log);
    ck_assert_msg(!strstr(log, "parked callback ran"), "stderr:\n%s", log);
    free(log);

    /* the other instance keeps running, echo keeps answering; past the
     * jobs' end (esc1's too) nothing of esc2 runs any more */
    log = e2e_read_file(r.d.err);
    int beats = e2e_count_substr(log, "plugin:esc1: alive ");
    int esc2 = e2e_count_substr(log, "plugin:esc2:");
    free(log);
    int fd = e2e_connect(r.port);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "still serving"));
    e2e_sleep_ms(500);
    ck_assert(e2e_echo_roundtrip(fd, "still serving after the jobs"));
    close(fd);
    log = e2e_read_file(r.d.err);
    ck_assert_msg(e2e_count_substr(log, "plugin:esc1: alive ") >= beats + 2,
                  "esc1 stopped beating; stderr:\n%s", log);
    ck_assert_msg(e2e_count_substr(log, "plugin:esc2:") == esc2,
                  "esc2 still logs after its removal; stderr:\n%s", log);
    ck_assert_msg(strstr(log, "plugin:esc1: job finished"), "stderr:\n%s", log);
    free(log);

    /* the removed instance's own child was killed and reaped */
    int64_t end = e2e_now_ms() + 4000;
    char st;
    while (e2e_proc_stat(r.sh[1], &st, NULL, NULL) && e2e_now_ms() < end)
        e2e_sleep_ms(20);
    ck_assert_msg(!e2e_proc_stat(r.sh[1], &st, NULL, NULL),
                  "sh %d of the removed instance still exists (state %c)", (int)r.sh[1], st);

    /* past the cancel's SIGTERM-to-SIGKILL grace (2 s): the engine's kill
     * timer fires long after the scope drained and the instance was freed */
    e2e_sleep_ms((int)(r.reloaded_ms + 2300 - e2e_now_ms() > 0 ?
                       r.reloaded_ms + 2300 - e2e_now_ms() : 0));
    ck_assert_msg(!e2e_exited(&r.d), "tickd died; stderr:\n%s", e2e_read_file(r.d.err));

    /* the remaining instance (and the module, dlclosed) at shutdown */
    e2e_stop(&r.d, 8000);
    log = e2e_read_file(r.d.err);
    const char *san = e2e_sanitizer_report(log);
    ck_assert_msg(!san, "sanitizer report in stderr:\n%s", san);
    ck_assert_msg(strstr(log, "plugin:esc1: stop(): heap timer disarmed, parked handle "
                         "unparked, job returned"), "stderr:\n%s", log);
    ck_assert_msg(!strstr(log, "release():"), "stderr:\n%s", log);
    free(log);
    e2e_kill_leftovers();
}
END_TEST

/* No process of a removed instance is left: its child and every process
 * in the child's group (the backgrounded `sleep 60`) end with the scope's
 * cancel (SIGTERM, SIGKILL after the 2 s grace), and so do esc1's at
 * shutdown. Needs children in their own process group, killed as a
 * group by the cancel. */
START_TEST(removed_instance_leaves_no_process)
{
    struct escapes_run r;
    memset(&r, 0, sizeof r);
    escapes_start_and_remove_one(&r);

    char left[512] = "";
    int64_t end = e2e_now_ms() + 4000;
    for (;;) {
        size_t off = 0;
        left[0] = '\0';
        if (e2e_proc_alive(r.sh[1]))
            off += (size_t)snprintf(left + off, sizeof left - off, " sh %d;", (int)r.sh[1]);
        if (e2e_group_exists(r.sh[1]))
            off += (size_t)snprintf(left + off, sizeof left - off,
                                    " process group %d;", (int)r.sh[1]);
        for (int k = 0; k < r.nkids[1] && off < sizeof left; k++)
            if (e2e_proc_alive(r.kids[1][k]))
                off += (size_t)snprintf(left + off, sizeof left - off,
                                        " sh's child %d;", (int)r.kids[1][k]);
        if (!left[0] || e2e_now_ms() >= end)
            break;
        e2e_sleep_ms(50);
    }
    char removed[sizeof left];
    memcpy(removed, left, sizeof left);

    ck_assert(!e2e_exited(&r.d));
    e2e_stop(&r.d, 8000);
    end = e2e_now_ms() + 4000;
    for (;;) {
        size_t off = 0;
        left[0] = '\0';
        for (int k = -1; k < r.nkids[0] && off < sizeof left; k++) {
            pid_t p = k < 0 ? r.sh[0] : r.kids[0][k];
            if (e2e_proc_alive(p))
                off += (size_t)snprintf(left + off, sizeof left - off, " %d;", (int)p);
        }
        if (!left[0] || e2e_now_ms() >= end)
            break;
        e2e_sleep_ms(50);
    }
    e2e_kill_leftovers();
    ck_assert_msg(!removed[0], "left running 4 s after esc2 was removed:%s", removed);
    ck_assert_msg(!left[0], "left running 4 s after tickd exited (esc1's sh and "
                  "its children):%s", left);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e scopes");
    TCase *tc = tcase_create("scopes");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, removed_instance_is_cancelled_and_drained_before_free);
    tcase_add_test(tc, removed_instance_leaves_no_process);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
