/* test_process.c — child processes through pidfds: exit statuses (true,
 * exit 3, killed), stdout redirection and environment, the loop's blocked
 * signals not inherited, many children at once, cancel = SIGKILL + reaped
 * in the background, spawn errors, the pidfds released. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "helpers.h"

/* Spawn argv and run the loop until it exits; returns the wait status. */
static int run_child(char *const *argv, char *const *envp, int out_fd)
{
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    pid_t pid;
    tick_future *exit_f;
    o.envp = envp;
    o.stdout_fd = out_fd;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
    ck_assert_int_gt(pid, 0);
    RUN_UNTIL(tick_future_done(exit_f), 1000);
    ck_assert_int_eq(tick_future_error(exit_f), 0);
    int status = (int)tick_future_result(exit_f);
    tick_future_unref(exit_f);
    return status;
}

START_TEST(true_exits_zero)
{
    char *argv[] = { "true", NULL };
    int st = run_child(argv, NULL, -1);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_uint_eq(loop->active, 0);
}
END_TEST

START_TEST(exit_status_three)
{
    char *argv[] = { "sh", "-c", "exit 3", NULL };
    int st = run_child(argv, NULL, -1);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 3);
}
END_TEST

START_TEST(stdout_and_environment)
{
    int p[2];
    char buf[32] = { 0 };
    char *argv[] = { "sh", "-c", "echo \"hi $X\"; exit $X", NULL };
    char *envp[] = { "X=42", NULL };
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int st = run_child(argv, envp, p[1]);
    close(p[1]);
    ck_assert_int_eq(read(p[0], buf, sizeof buf - 1), 6);
    ck_assert_str_eq(buf, "hi 42\n");
    close(p[0]);
    ck_assert_int_eq(WEXITSTATUS(st), 42);
}
END_TEST

START_TEST(killed_child_and_unblocked_signals)
{
    /* the loop owns SIGTERM (blocked here); the child must still die of it */
    tick_future *sig = tick_signal_wait(loop, SIGTERM);
    char *argv[] = { "sleep", "10", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    pid_t pid;
    tick_future *exit_f;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
    tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(exit_f));
    ck_assert_int_eq(tick_process_kill(exit_f, SIGTERM), 0);
    RUN_UNTIL(tick_future_done(exit_f), 1000);
    int st = (int)tick_future_result(exit_f);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGTERM);
    ck_assert_int_eq(tick_process_kill(exit_f, SIGTERM), -ESRCH);   /* reaped */
    ck_assert(!tick_future_done(sig));
    tick_future_cancel(sig);
    tick_future_unref(sig);
    tick_future_unref(exit_f);
}
END_TEST

START_TEST(many_children_at_once)
{
    enum { N = 64 };
    tick_future *f[N];
    pid_t pid[N];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        char code[8];
        snprintf(code, sizeof code, "exit %d", i);
        char *argv[] = { "sh", "-c", code, NULL };
        tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
        ck_assert_int_eq(tick_spawn(loop, &o, &pid[i], &f[i]), 0);
    }
    ck_assert_uint_eq(loop->active, N);
    int done = 0;
    for (int ticks = 0; done < N && ticks < 100000; ticks++) {
        tick_loop_run_once(loop, true);
        done = 0;
        for (int i = 0; i < N; i++)
            done += tick_future_done(f[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(done, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f[i])), i);
        tick_future_unref(f[i]);
    }
    fprintf(stderr, "many_children_at_once: %d spawned and reaped in %.1f ms\n", N,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}
END_TEST

START_TEST(cancel_kills_and_reaps_in_background)
{
    char *argv[] = { "sleep", "10", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    pid_t pid;
    tick_future *exit_f;
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    uint64_t w0 = st.fds_watched;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
    ck_assert(tick_future_cancel(exit_f));
    ck_assert(tick_future_cancelled(exit_f));
    ck_assert_uint_eq(loop->active, 0);
    tick_future_unref(exit_f);                        /* engine keeps its own */
    for (int i = 0; i < 1000; i++) {
        tick_loop_get_stats(loop, &st);
        if (st.fds_watched == w0)
            break;
        tick_loop_run_once(loop, true);
    }
    ck_assert_uint_eq(st.fds_watched, w0);            /* pidfd gone: reaped */
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* A child still running when the loop closes: SIGKILLed and reaped. */
START_TEST(loop_close_reaps_cancelled_child)
{
    char *argv[] = { "sleep", "10", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    pid_t pid;
    tick_future *exit_f;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);  /* someone waits on it */
    tick_future_cancel(exit_f);
    tick_future_unref(exit_f);
    ck_assert_int_eq(tick_loop_close(loop), 0);       /* no tick ran */
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(tick_loop_new(&loop), 0);        /* for the teardown */
}
END_TEST

START_TEST(spawn_errors)
{
    char *missing[] = { "/nonexistent/tick-no-such-program", NULL };
    char *empty[] = { NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(missing);
    pid_t pid;
    tick_future *f;
    int rc = tick_spawn(loop, &o, &pid, &f);
    if (rc == 0) {
        /* a fork-based posix_spawn (valgrind's) cannot report the exec
         * failure: the child exits 127 instead */
        RUN_UNTIL(tick_future_done(f), 1000);
        ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f)), 127);
        tick_future_unref(f);
    } else {
        ck_assert_int_eq(rc, -ENOENT);
    }
    o.argv = empty;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &f), -EINVAL);
    ck_assert_int_eq(tick_spawn(NULL, &o, &pid, &f), -EINVAL);
    ck_assert_uint_eq(loop->active, 0);
    ck_assert_int_eq(tick_process_kill(NULL, SIGTERM), -EINVAL);
}
END_TEST

static Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("process");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, true_exits_zero);
    tcase_add_test(tc, exit_status_three);
    tcase_add_test(tc, stdout_and_environment);
    tcase_add_test(tc, killed_child_and_unblocked_signals);
    tcase_add_test(tc, many_children_at_once);
    tcase_add_test(tc, cancel_kills_and_reaps_in_background);
    tcase_add_test(tc, loop_close_reaps_cancelled_child);
    tcase_add_test(tc, spawn_errors);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(process_suite)
