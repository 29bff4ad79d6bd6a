/* test_process.c — child processes through pidfds: exit statuses (true,
 * exit 3, killed), stdout redirection and environment, the loop's blocked
 * signals not inherited, many children at once, cancel = SIGKILL + reaped
 * in the background, spawn errors, the pidfds released; each child in its
 * own process group, which scope cancel (SIGTERM, SIGKILL after the
 * grace), exit-future cancel, a timeout and the leader's exit all kill;
 * stdio pipes as tick_fds; only fds 0-2 and a scrubbed environment
 * inherited; the subreaper reaping escaped grandchildren. The group and
 * subreaper tests run with the pidfd and with the polling fallback. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
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

/* tick_spawn_in: the child runs in cwd (a relative program path too),
 * and a cwd that cannot be entered is an error (or exit 127), no child. */
START_TEST(spawn_in_cwd)
{
    int p[2];
    char buf[64] = { 0 };
    char *argv[] = { "sh", "-c", "pwd", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    pid_t pid;
    tick_future *f;
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    o.stdout_fd = p[1];
    ck_assert_int_eq(tick_spawn_in(loop, &o, "/tmp", &pid, &f), 0);
    close(p[1]);
    RUN_UNTIL(tick_future_done(f), 1000);
    ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f)), 0);
    tick_future_unref(f);
    ck_assert_int_eq(read(p[0], buf, sizeof buf - 1), 5);
    ck_assert_str_eq(buf, "/tmp\n");
    close(p[0]);

    char *rel[] = { "./sh", "-c", "exit 5", NULL };    /* /bin/sh from /bin */
    o = (tick_spawn_opts)TICK_SPAWN_OPTS_INIT(rel);
    o.path = "./sh";
    ck_assert_int_eq(tick_spawn_in(loop, &o, "/bin", &pid, &f), 0);
    RUN_UNTIL(tick_future_done(f), 1000);
    ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f)), 5);
    tick_future_unref(f);

    o = (tick_spawn_opts)TICK_SPAWN_OPTS_INIT(argv);
    int rc = tick_spawn_in(loop, &o, "/nonexistent/tick-dir", &pid, &f);
    if (rc == 0) {
        RUN_UNTIL(tick_future_done(f), 1000);
        ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f)), 127);
        tick_future_unref(f);
    } else {
        ck_assert_int_eq(rc, -ENOENT);
    }
    ck_assert_int_eq(tick_spawn_in(loop, &o, "", &pid, &f), -EINVAL);
    ck_assert_int_eq(tick_spawn_in(loop, &o, NULL, &pid, &f), -EINVAL);
    ck_assert_uint_eq(loop->active, 0);
}
END_TEST

/* ---- process groups, pipes, inheritance, subreaper ------------------- */

/* The polling fallback is a process-wide switch: reset it for the next
 * test even under CK_FORK=no. */
static void proc_teardown(void)
{
    tick_test_process_no_pidfd = false;
    loop_teardown();
}

/* Run the loop for about ms milliseconds. */
static void run_ms(unsigned ms)
{
    tick_future *s = tick_sleep(loop, (uint64_t)ms * TICK_MSEC);
    ck_assert_ptr_nonnull(s);
    RUN_UNTIL(tick_future_done(s), 1000000);
    tick_future_unref(s);
}

/* Run the loop until cond holds, for at most ms milliseconds. */
#define WAIT_FOR(cond, ms)                                                  \
    do {                                                                    \
        for (unsigned wf_ = 0; !(cond) && wf_ < (ms) / 5u; wf_++)           \
            run_ms(5);                                                      \
        ck_assert_msg((cond), "not within %u ms: %s", (unsigned)(ms), #cond); \
    } while (0)

/* From /proc/PID/stat: the state letter ('Z': zombie), 0 if there is no
 * such process; its process group and command name. */
static char proc_stat(pid_t pid, pid_t *pgrp, char comm[16])
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
    char st;
    int ppid, pg;
    if (!open_p || !close_p || sscanf(close_p + 2, "%c %d %d", &st, &ppid, &pg) != 3)
        return 0;
    if (pgrp)
        *pgrp = pg;
    if (comm) {
        size_t len = (size_t)(close_p - open_p - 1);
        len = len < 15 ? len : 15;
        memcpy(comm, open_p + 1, len);
        comm[len] = '\0';
    }
    return st;
}

/* Members of group pgid that are not zombies (PID 1 of a container may
 * never reap what is re-parented to it, so kill(-pgid, 0) can succeed on
 * zombies alone), named comm or any. */
static int group_alive(pid_t pgid, const char *comm)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pg = 0;
        char name[16];
        char st = proc_stat((pid_t)atoi(e->d_name), &pg, name);
        if (st && st != 'Z' && pg == pgid && (!comm || strcmp(name, comm) == 0))
            n++;
    }
    closedir(d);
    return n;
}

static bool alive(pid_t pid)
{
    char st = proc_stat(pid, NULL, NULL);
    return st && st != 'Z';
}

/* Nothing left that this process could wait for, running or not. */
static bool no_children(void)
{
    siginfo_t si;
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

static void set_mode(int polled)
{
    tick_test_process_no_pidfd = polled != 0;
}

static pid_t spawn_sh(const char *script, tick_future **exit_f)
{
    char *argv[] = { "sh", "-c", (char *)script, NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    pid_t pid;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, exit_f), 0);
    return pid;
}

/* _i: 0 = pidfd, 1 = polled */
START_TEST(own_process_group)
{
    set_mode(_i);
    tick_future *exit_f;
    pid_t pid = spawn_sh("sleep 10", &exit_f);
    ck_assert_int_eq(getpgid(pid), pid);
    ck_assert_int_ne(getpgid(pid), getpgrp());
    tick_future_cancel(exit_f);
    tick_future_unref(exit_f);
    WAIT_FOR(proc_stat(pid, NULL, NULL) == 0, 1000);      /* reaped */
}
END_TEST

static const struct scope_case {
    const char *script;
    int polled;
    int sig;            /* what ends the leader */
} scope_cases[] = {
    { "sleep 60 & sleep 60", 0, SIGTERM },
    { "sleep 60 & sleep 60", 1, SIGTERM },
    { "trap '' TERM; sleep 60 & sleep 60", 0, SIGKILL },
    { "trap '' TERM; sleep 60 & sleep 60", 1, SIGKILL },
};
#define N_SCOPE_CASES (int)(sizeof scope_cases / sizeof scope_cases[0])

START_TEST(scope_cancel_kills_group)
{
    const struct scope_case *k = &scope_cases[_i];
    set_mode(k->polled);
    tick_scope sc;
    tick_scope_init(&sc, loop, NULL, "children");
    tick_scope_set_kill_grace(&sc, 50 * TICK_MSEC);
    tick_scope *prev = tick_scope_enter(loop, &sc);
    tick_future *exit_f;
    pid_t pid = spawn_sh(k->script, &exit_f);
    tick_scope_enter(loop, prev);
    WAIT_FOR(group_alive(pid, "sleep") == 2, 1000);

    /* the grace runs on the loop's clock (cached per tick), so measure
     * on it too: a wall-clock t0 can be later than the timer's start */
    uint64_t t0 = tick_now(loop);
    ck_assert_uint_ge(tick_scope_cancel(&sc), 1);
    RUN_UNTIL(tick_future_done(exit_f), 100000);
    uint64_t ms = (tick_now(loop) - t0) / TICK_MSEC;
    int st = (int)tick_future_result(exit_f);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), k->sig);
    if (k->sig == SIGKILL)
        ck_assert_msg(ms >= 50, "SIGKILL came %u ms after the cancel, before the grace",
                      (unsigned)ms);
    WAIT_FOR(group_alive(pid, NULL) == 0, 1000);
    tick_future_unref(exit_f);
    run_ms(60);                          /* the grace timer has fired */
    ck_assert_int_eq(tick_scope_close(&sc), 0);
}
END_TEST

/* Ways to give up on the exit future: all SIGKILL the group. */
struct waiter {
    tick_task task;
    tick_future *exit;
};

static int waiter_step(tick_task *t)
{
    struct waiter *w = tick_container_of(t, struct waiter, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, w->exit, rc);
    TICK_RETURN(t, rc);
    TICK_END(t);
}
static const tick_task_class waiter_class = { waiter_step, NULL };

enum { BY_FUTURE_CANCEL, BY_TASK_CANCEL, BY_TIMEOUT };
static const struct cancel_case { int how, polled; } cancel_cases[] = {
    { BY_FUTURE_CANCEL, 0 }, { BY_FUTURE_CANCEL, 1 },
    { BY_TASK_CANCEL, 0 }, { BY_TASK_CANCEL, 1 },
    { BY_TIMEOUT, 0 }, { BY_TIMEOUT, 1 },
};
#define N_CANCEL_CASES (int)(sizeof cancel_cases / sizeof cancel_cases[0])

START_TEST(exit_cancel_kills_group)
{
    const struct cancel_case *k = &cancel_cases[_i];
    set_mode(k->polled);
    tick_future *exit_f;
    pid_t pid = spawn_sh("sleep 60 & sleep 60", &exit_f);
    WAIT_FOR(group_alive(pid, "sleep") == 2, 1000);
    switch (k->how) {
    case BY_FUTURE_CANCEL:
        ck_assert(tick_future_cancel(exit_f));
        break;
    case BY_TASK_CANCEL: {
        struct waiter w = { .exit = tick_future_ref(exit_f) };   /* the await's */
        tick_task_start(loop, &w.task, "waiter", &waiter_class);
        run_ms(5);                                                /* suspended */
        ck_assert(tick_task_cancel(&w.task));
        RUN_UNTIL(tick_future_done(&w.task.future), 1000);
        ck_assert_int_eq(tick_future_result(&w.task.future), -ECANCELED);   /* the await's rc */
        tick_future_unref(&w.task.future);
        break;
    }
    case BY_TIMEOUT: {
        tick_future *to = tick_timeout(loop, tick_future_ref(exit_f), 20 * TICK_MSEC);
        ck_assert_ptr_nonnull(to);
        RUN_UNTIL(tick_future_done(to), 100000);
        ck_assert_int_eq(tick_future_error(to), -ETIMEDOUT);
        tick_future_unref(to);
        break;
    }
    }
    ck_assert(tick_future_cancelled(exit_f));
    WAIT_FOR(group_alive(pid, NULL) == 0, 1000);
    tick_future_unref(exit_f);
    WAIT_FOR(proc_stat(pid, NULL, NULL) == 0, 1000);      /* reaped */
}
END_TEST

/* The leader exits normally: its background job is killed with it. */
START_TEST(leader_exit_kills_group)
{
    set_mode(_i);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    char *argv[] = { "sh", "-c", "sleep 60 & echo $!; exit 0", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    o.stdout_fd = p[1];
    pid_t pid;
    tick_future *exit_f;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
    close(p[1]);
    RUN_UNTIL(tick_future_done(exit_f), 100000);
    ck_assert_int_eq(tick_future_result(exit_f), 0);
    char buf[32] = { 0 };
    ck_assert_int_gt(read(p[0], buf, sizeof buf - 1), 0);
    close(p[0]);
    pid_t bg = (pid_t)atoi(buf);
    ck_assert_int_gt(bg, 0);
    /* SIGKILLed before the leader was reaped; dying takes a moment */
    for (int i = 0; i < 200 && alive(bg); i++)
        usleep(5000);
    ck_assert(!alive(bg));
    ck_assert_int_eq(group_alive(pid, NULL), 0);
    tick_future_unref(exit_f);
}
END_TEST

/* Read fd to EOF into buf (NUL-terminated). */
static size_t read_all(tick_fd *fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        tick_future *r = tick_fd_read(fd, buf + n, cap - 1 - n);
        ck_assert_ptr_nonnull(r);
        RUN_UNTIL(tick_future_done(r), 100000);
        ck_assert_int_eq(tick_future_error(r), 0);
        intptr_t got = tick_future_result(r);
        tick_future_unref(r);
        if (got == 0 || n + (size_t)got == cap - 1)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    return n;
}

static const struct pipe_case {
    const char *script;
    const char *input;       /* written to the stdin pipe, NULL: no pipe */
    int out;                 /* 1 = stdout pipe, 2 = stderr pipe */
    const char *expect;
} pipe_cases[] = {
    { "echo hello", NULL, 1, "hello\n" },
    { "echo oops >&2; echo not-here", NULL, 2, "oops\n" },
    { "cat", "ping\n", 1, "ping\n" },
    { "tr a-z A-Z", "loud\n", 1, "LOUD\n" },
};

START_TEST(stdio_pipes)
{
    for (size_t i = 0; i < sizeof pipe_cases / sizeof pipe_cases[0]; i++) {
        const struct pipe_case *k = &pipe_cases[i];
        char *argv[] = { "sh", "-c", (char *)k->script, NULL };
        tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
        tick_fd *in = NULL, *out = NULL;
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (k->input)
            o.stdin_pipe = &in;
        if (k->out == 1) {
            o.stdout_pipe = &out;
        } else {
            o.stderr_pipe = &out;
            o.stdout_fd = devnull;
        }
        pid_t pid;
        tick_future *exit_f;
        ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
        close(devnull);
        ck_assert_ptr_nonnull(out);
        ck_assert(!k->input || in);
        if (k->input) {
            tick_future *w = tick_fd_write(in, k->input, strlen(k->input));
            RUN_UNTIL(tick_future_done(w), 100000);
            ck_assert_int_eq(tick_future_result(w), (intptr_t)strlen(k->input));
            tick_future_unref(w);
            ck_assert_int_eq(tick_fd_close(in), 0);     /* EOF for the child */
        }
        char buf[64];
        read_all(out, buf, sizeof buf);
        ck_assert_str_eq(buf, k->expect);
        ck_assert_int_eq(tick_fd_close(out), 0);
        RUN_UNTIL(tick_future_done(exit_f), 100000);
        ck_assert_int_eq(tick_future_result(exit_f), 0);
        tick_future_unref(exit_f);
    }
}
END_TEST

START_TEST(pipe_and_fd_for_one_stream_is_einval)
{
    char *argv[] = { "true", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    tick_fd *out = NULL;
    pid_t pid;
    tick_future *f;
    o.stdout_pipe = &out;
    o.stdout_fd = 2;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &f), -EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(loop->active, 0);
}
END_TEST

/* Out of memory at each allocation in turn, and a missing program, with
 * every pipe asked for: no fd stays open, no child runs. */
START_TEST(failed_spawn_leaves_nothing)
{
    char *missing[] = { "/nonexistent/tick-no-such-program", NULL };
    char *argv[] = { "sh", "-c", "exit 5", NULL };
    tick_fd *in = NULL, *out = NULL, *err = NULL;
    pid_t pid;
    tick_future *f;
    int fds0 = count_open_fds();
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(missing);
    o.stdin_pipe = &in;
    o.stdout_pipe = &out;
    o.stderr_pipe = &err;
    setenv("NOTIFY_SOCKET", "/nonexistent", 1);     /* the env copy allocates */
    int rc = tick_spawn(loop, &o, &pid, &f);
    if (rc == 0) {                                  /* fork-based spawn */
        RUN_UNTIL(tick_future_done(f), 100000);
        tick_future_unref(f);
        tick_fd_close(in);
        tick_fd_close(out);
        tick_fd_close(err);
        in = out = err = NULL;
    } else {
        ck_assert_int_eq(rc, -ENOENT);
    }
    ck_assert_int_eq(count_open_fds(), fds0);
    o.argv = argv;
    bool ok = false;
    for (unsigned long n = 1; n < 20 && !ok; n++) {
        tick_test_fail_alloc_after(n);
        rc = tick_spawn(loop, &o, &pid, &f);
        tick_test_fail_alloc_after(0);
        if (rc == 0) {
            ok = true;
            break;
        }
        ck_assert_int_eq(rc, -ENOMEM);
        ck_assert_ptr_null(in);
        ck_assert_ptr_null(out);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(loop->active, 0);
        ck_assert_int_eq(count_open_fds(), fds0);
        ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);   /* no child left */
        ck_assert_int_eq(errno, ECHILD);
    }
    unsetenv("NOTIFY_SOCKET");
    ck_assert(ok);
    tick_fd_close(in);
    tick_fd_close(out);
    tick_fd_close(err);
    RUN_UNTIL(tick_future_done(f), 100000);
    ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f)), 5);
    tick_future_unref(f);
}
END_TEST

/* An fd the parent left without O_CLOEXEC does not reach the child. */
START_TEST(only_stdio_fds_inherited)
{
    int leaky = open("/dev/null", O_RDONLY);        /* no O_CLOEXEC on purpose */
    ck_assert_int_ge(leaky, 3);
    char script[96];
    snprintf(script, sizeof script,
             "[ -e /proc/self/fd/0 ] && [ -e /proc/self/fd/2 ] && [ ! -e /proc/self/fd/%d ]",
             leaky);
    char *argv[] = { "sh", "-c", script, NULL };
    int st = run_child(argv, NULL, -1);
    close(leaky);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* _i: 0 = the service manager's variables in environ, 1 = in envp */
START_TEST(service_env_scrubbed)
{
    static char *const vars[] = {
        "NOTIFY_SOCKET=/run/systemd/notify", "LISTEN_FDS=2", "LISTEN_PID=1",
        "LISTEN_FDNAMES=a:b", "KEEP=yes", NULL,
    };
    char *argv[] = { "sh", "-c",
        "test -z \"$NOTIFY_SOCKET$LISTEN_FDS$LISTEN_PID$LISTEN_FDNAMES\" && test \"$KEEP\" = yes",
        NULL };
    int st;
    if (_i == 0) {
        for (int i = 0; vars[i]; i++)
            ck_assert_int_eq(putenv(vars[i]), 0);
        st = run_child(argv, NULL, -1);
        for (int i = 0; vars[i]; i++) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(vars[i], "="), vars[i]);
            unsetenv(name);
        }
    } else {
        st = run_child(argv, vars, -1);
    }
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* _i: 0 = pidfd, 1 = polled. The grandchild leaves the group (setsid),
 * so the leader's exit does not kill it; re-parented to us, it is
 * reaped when it exits. */
START_TEST(subreaper_reaps_escaped_grandchild)
{
    set_mode(_i);
    ck_assert_int_eq(tick_process_set_subreaper(loop), 0);
    ck_assert_int_eq(tick_process_set_subreaper(loop), 0);   /* idempotent */
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    char *argv[] = { "sh", "-c", "setsid sleep 0.15 & sleep 0.03; echo $!", NULL };
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
    o.stdout_fd = p[1];
    pid_t pid;
    tick_future *exit_f;
    ck_assert_int_eq(tick_spawn(loop, &o, &pid, &exit_f), 0);
    close(p[1]);
    RUN_UNTIL(tick_future_done(exit_f), 100000);
    ck_assert_int_eq(tick_future_result(exit_f), 0);
    tick_future_unref(exit_f);
    char buf[32] = { 0 };
    ck_assert_int_gt(read(p[0], buf, sizeof buf - 1), 0);
    close(p[0]);
    pid_t gc = (pid_t)atoi(buf);
    ck_assert_int_gt(gc, 0);
    pid_t pg = 0;
    ck_assert(alive(gc));                     /* escaped the group kill */
    ck_assert_int_eq(proc_stat(gc, &pg, NULL) != 0, 1);
    ck_assert_int_eq(pg, gc);                 /* its own session and group */
    WAIT_FOR(proc_stat(gc, NULL, NULL) == 0, 2000);   /* exited and reaped */
    ck_assert_int_eq(waitpid(gc, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* Orphans and our own children exit together: every exit future still
 * gets its own child's status, and no orphan is left a zombie. */
START_TEST(subreaper_keeps_exit_statuses)
{
    enum { N = 12 };
    tick_future *f[N];
    pid_t pid[N];
    ck_assert_int_eq(tick_process_set_subreaper(loop), 0);
    for (int i = 0; i < N; i++) {
        char script[64];
        snprintf(script, sizeof script, "setsid sh -c 'exit 9' & exit %d", i);
        pid[i] = spawn_sh(script, &f[i]);
    }
    for (int i = 0; i < N; i++) {
        RUN_UNTIL(tick_future_done(f[i]), 100000);
        ck_assert_int_eq(tick_future_error(f[i]), 0);
        ck_assert_int_eq(WEXITSTATUS((int)tick_future_result(f[i])), i);
        tick_future_unref(f[i]);
    }
    /* the orphans were reaped on their SIGCHLD (or killed with their
     * group if they had not yet left it): none is left as our child */
    WAIT_FOR(no_children(), 2000);
    (void)pid;
}
END_TEST

static Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("process");
    tcase_add_checked_fixture(tc, loop_setup, proc_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, true_exits_zero);
    tcase_add_test(tc, exit_status_three);
    tcase_add_test(tc, stdout_and_environment);
    tcase_add_test(tc, killed_child_and_unblocked_signals);
    tcase_add_test(tc, many_children_at_once);
    tcase_add_test(tc, cancel_kills_and_reaps_in_background);
    tcase_add_test(tc, loop_close_reaps_cancelled_child);
    tcase_add_test(tc, spawn_errors);
    tcase_add_test(tc, spawn_in_cwd);
    tcase_add_loop_test(tc, own_process_group, 0, 2);
    tcase_add_loop_test(tc, scope_cancel_kills_group, 0, N_SCOPE_CASES);
    tcase_add_loop_test(tc, exit_cancel_kills_group, 0, N_CANCEL_CASES);
    tcase_add_loop_test(tc, leader_exit_kills_group, 0, 2);
    tcase_add_test(tc, stdio_pipes);
    tcase_add_test(tc, pipe_and_fd_for_one_stream_is_einval);
    tcase_add_test(tc, failed_spawn_leaves_nothing);
    tcase_add_test(tc, only_stdio_fds_inherited);
    tcase_add_loop_test(tc, service_env_scrubbed, 0, 2);
    tcase_add_loop_test(tc, subreaper_reaps_escaped_grandchild, 0, 2);
    tcase_add_test(tc, subreaper_keeps_exit_statuses);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(process_suite)
