/* test_daemon_log.c — the daemon's log lines: plain prefixes on a
 * terminal or pipe, "<N>" priorities when $JOURNAL_STREAM names stderr,
 * level filtering, one line per message, and the plugin prefix that
 * tick_log() gets from the context hook. stderr is redirected to a file
 * for each test and restored. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "log.h"

static char path[64];
static int saved_stderr = -1;

static void setup(void)
{
    int fd;
    snprintf(path, sizeof path, "/tmp/tickd-log-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    saved_stderr = dup(2);
    ck_assert_int_ge(saved_stderr, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);
    unsetenv("JOURNAL_STREAM");
    tickd_log_init();
    tickd_log_set_level(TICK_LOG_INFO);
    tickd_log_engine_init();
}

static void teardown(void)
{
    dup2(saved_stderr, 2);
    close(saved_stderr);
    unlink(path);
}

static const char *captured(void)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return buf;
}

START_TEST(plain_prefixes)
{
    tickd_log(TICK_LOG_INFO, "hello %d", 1);
    tickd_log(TICK_LOG_NOTICE, "note");
    tickd_log(TICK_LOG_WARNING, "careful");
    tickd_log(TICK_LOG_ERR, "broken");
    tickd_log(TICK_LOG_DEBUG, "hidden at info");
    ck_assert_str_eq(captured(), "tickd: hello 1\ntickd: note\n"
                     "tickd: warning: careful\ntickd: error: broken\n");
}
END_TEST

START_TEST(level_filter)
{
    tickd_log_set_level(TICK_LOG_DEBUG);
    tickd_log(TICK_LOG_DEBUG, "now shown");
    tickd_log_set_level(TICK_LOG_ERR);
    tickd_log(TICK_LOG_WARNING, "dropped");
    tick_log(TICK_LOG_INFO, "dropped too");
    ck_assert_int_eq(tickd_log_level(), TICK_LOG_ERR);
    ck_assert_str_eq(captured(), "tickd: debug: now shown\n");
}
END_TEST

START_TEST(journal_priorities)
{
    struct stat st;
    char env[64];

    ck_assert_int_eq(fstat(2, &st), 0);
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    tickd_log_init();
    ck_assert(tickd_log_journal());
    tickd_log(TICK_LOG_INFO, "ready");
    tickd_log(TICK_LOG_ERR, "broken");
    tickd_logp(TICK_LOG_WARNING, "plugin:x", "slow");
    ck_assert_str_eq(captured(), "<6>ready\n<3>broken\n<4>plugin:x: slow\n");
}
END_TEST

START_TEST(journal_stream_of_another_file)
{
    setenv("JOURNAL_STREAM", "1:2", 1);
    tickd_log_init();
    ck_assert(!tickd_log_journal());
    setenv("JOURNAL_STREAM", "garbage", 1);
    tickd_log_init();
    ck_assert(!tickd_log_journal());
}
END_TEST

START_TEST(one_message_one_line)
{
    char big[6000];
    const char *out;

    tickd_log(TICK_LOG_INFO, "two\nlines\r");
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tickd_log(TICK_LOG_INFO, "%s", big);   /* truncated, still one line */
    out = captured();
    ck_assert(strncmp(out, "tickd: two lines \n", 18) == 0);
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, 2);
    ck_assert_int_eq(out[strlen(out) - 1], '\n');
    ck_assert_int_lt(strlen(out), 4200);
}
END_TEST

/* The prefix is the current scope's name chain, outermost first; the
 * root scope has none. Also the tail call that used to lose the prefix
 * when it was guessed from the return address. */
static void log_tail(void) { tick_log(TICK_LOG_INFO, "tail %d", 1); }

START_TEST(plugin_prefix_from_scope)
{
    tick_loop *l;
    tick_scope in, conn;
    ck_assert_int_eq(tick_loop_new(&l), 0);
    tick_loop_set_current(l);
    tick_log(TICK_LOG_INFO, "listening on %s", "127.0.0.1:7000");
    tick_scope_init(&in, l, NULL, "plugin:echo1");
    tick_scope_init(&conn, l, &in, "conn 7");
    tick_scope *prev = tick_scope_enter(l, &in);
    tick_log(TICK_LOG_INFO, "listening on %s", "127.0.0.1:7000");
    log_tail();
    tick_scope_enter(l, &conn);
    tick_log(TICK_LOG_INFO, "hello");
    tick_scope_enter(l, prev);
    tickd_log(TICK_LOG_INFO, "daemon lines have no plugin prefix");
    ck_assert_str_eq(captured(), "tickd: listening on 127.0.0.1:7000\n"
                     "tickd: plugin:echo1: listening on 127.0.0.1:7000\n"
                     "tickd: plugin:echo1: tail 1\n"
                     "tickd: plugin:echo1/conn 7: hello\n"
                     "tickd: daemon lines have no plugin prefix\n");
    ck_assert_int_eq(tick_scope_close(&conn), 0);
    ck_assert_int_eq(tick_scope_close(&in), 0);
    ck_assert_int_eq(tick_loop_close(l), 0);
}
END_TEST

/* docs/daemon.md and tick/plugin.h: tick_log is safe on a pool worker and
 * carries the job's scope; on a thread of the plugin's own, no prefix. */
static intptr_t worker_logs(void *arg)
{
    tick_log(TICK_LOG_INFO, "from the worker (%s)", (const char *)arg);
    return 7;
}

static void *own_thread(void *arg)
{
    tick_log(TICK_LOG_INFO, "from my thread (%s)", (const char *)arg);
    return NULL;
}

START_TEST(tick_log_from_other_threads)
{
    tick_loop *l;
    tick_scope in;
    pthread_t th;
    ck_assert_int_eq(tick_loop_new(&l), 0);
    tick_loop_set_current(l);
    tick_scope_init(&in, l, NULL, "plugin:pooled");
    tick_scope *prev = tick_scope_enter(l, &in);
    tick_future *f = tick_run_in_thread(l, worker_logs, "job");
    tick_scope_enter(l, prev);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tick_loop_run_until_complete(l, f), 0);
    ck_assert_int_eq(tick_future_result(f), 7);
    tick_future_unref(f);
    ck_assert_int_eq(pthread_create(&th, NULL, own_thread, "raw"), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_str_eq(captured(), "tickd: plugin:pooled: from the worker (job)\n"
                     "tickd: from my thread (raw)\n");
    for (int i = 0; i < 3 && tick_scope_close(&in) != 0; i++)
        tick_loop_run_once(l, false);
    ck_assert_int_eq(tick_scope_close(&in), 0);
    ck_assert_int_eq(tick_loop_close(l), 0);
}
END_TEST

START_TEST(level_names)
{
    int level = -1;
    ck_assert_int_eq(tickd_log_parse_level("warning", &level), 0);
    ck_assert_int_eq(level, TICK_LOG_WARNING);
    ck_assert_int_eq(tickd_log_parse_level("ERROR", &level), 0);
    ck_assert_int_eq(level, TICK_LOG_ERR);
    ck_assert_int_eq(tickd_log_parse_level("debug", &level), 0);
    ck_assert_int_eq(level, TICK_LOG_DEBUG);
    ck_assert_int_eq(tickd_log_parse_level("loud", &level), -EINVAL);
    ck_assert_str_eq(tickd_log_level_name(TICK_LOG_NOTICE), "notice");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_prefixes);
    tcase_add_test(tc, level_filter);
    tcase_add_test(tc, journal_priorities);
    tcase_add_test(tc, journal_stream_of_another_file);
    tcase_add_test(tc, one_message_one_line);
    tcase_add_test(tc, plugin_prefix_from_scope);
    tcase_add_test(tc, level_names);
    tcase_add_test(tc, tick_log_from_other_threads);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
