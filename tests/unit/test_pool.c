/* test_pool.c — blocking work on the thread pool: results, workers with
 * every signal blocked, at most TICK_POOL_THREADS threads, coalesced
 * wake-ups, cancelling a queued job (never runs) and a running job (result
 * dropped), loop close joins the pool, and the sys.h example end to end. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "tick/tick.h"

/* ---- the example at the top of sys.h, verbatim (before helpers.h,
 * whose global `loop` its local would shadow) ---- */
struct supervisor {
    tick_task task;
    pid_t pid;
    tick_future *exit;             // kept across the read's await
    tick_fd *out;                  // the child's stdout
    char buf[64];
};

static intptr_t count(void *arg) { return (intptr_t)strlen(arg); }

static int supervisor_step(tick_task *t)
{
    struct supervisor *s = tick_container_of(t, struct supervisor, task);
    tick_loop *loop = tick_task_loop(t);
    intptr_t rc;
    TICK_BEGIN(t);
    // blocking work, off the loop thread
    TICK_AWAIT(t, tick_run_in_thread(loop, count, "data"), rc);
    // a child with its stdout on a pipe; the exit future resolves
    // with the wait status
    static char *const argv[] = { "sh", "-c", "echo hi; exit 7", NULL };
    tick_spawn_opts opts = TICK_SPAWN_OPTS_INIT(argv);
    opts.stdout_pipe = &s->out;
    if (tick_spawn(loop, &opts, &s->pid, &s->exit) < 0)
        TICK_FAIL(t, -EAGAIN);
    TICK_AWAIT(t, tick_fd_read(s->out, s->buf, sizeof s->buf - 1), rc);
    if (rc > 0)
        printf("child says %.*s", (int)rc, s->buf);
    tick_fd_close(s->out);         // the caller's: close it
    TICK_AWAIT(t, s->exit, rc);
    if (rc >= 0 && WIFEXITED(rc))
        printf("exit %d\n", WEXITSTATUS((int)rc));
    // wait for SIGHUP
    TICK_AWAIT(t, tick_signal_wait(loop, SIGHUP), rc);
    TICK_RETURN(t, rc);                   // SIGHUP
    TICK_END(t);
}
static const tick_task_class supervisor_class = { supervisor_step, NULL };

#include "helpers.h"

/* ---- a gate the test opens to let blocked jobs finish ---- */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gate_waiting;

static void gate_reset(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = false;
    gate_waiting = 0;
    pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static void gate_wait_for(int n)
{
    for (;;) {
        pthread_mutex_lock(&gate_lock);
        int w = gate_waiting;
        pthread_mutex_unlock(&gate_lock);
        if (w >= n)
            return;
        usleep(1000);
    }
}

struct job_arg {
    intptr_t value;
    bool ran;
    bool signals_blocked;
    pthread_t thread;
};

static intptr_t gated_job(void *p)
{
    struct job_arg *a = p;
    pthread_mutex_lock(&gate_lock);
    gate_waiting++;
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    a->ran = true;
    return a->value;
}

static intptr_t plain_job(void *p)
{
    struct job_arg *a = p;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    a->signals_blocked = sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT) &&
                         sigismember(&cur, SIGHUP) && sigismember(&cur, SIGUSR1);
    a->thread = pthread_self();
    a->ran = true;
    return a->value * 2;
}

START_TEST(job_result_on_a_worker)
{
    struct job_arg a = { .value = 21 };
    tick_future *f = tick_run_in_thread(loop, plain_job, &a);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(loop->active, 1);
    RUN_UNTIL(tick_future_done(f), 100);
    ck_assert_int_eq(tick_future_error(f), 0);
    ck_assert_int_eq(tick_future_result(f), 42);
    ck_assert(a.ran);
    ck_assert(a.signals_blocked);
    ck_assert(!pthread_equal(a.thread, pthread_self()));
    ck_assert_uint_eq(loop->active, 0);
    tick_future_unref(f);
    f = tick_run_in_thread(loop, NULL, NULL);
    ck_assert_int_eq(tick_future_error(f), -EINVAL);
    tick_future_unref(f);
    ck_assert_ptr_null(tick_run_in_thread(NULL, plain_job, &a));
}
END_TEST

START_TEST(many_jobs_few_threads_coalesced_wakeups)
{
    enum { N = 2000 };
    struct job_arg *a = calloc(N, sizeof *a);
    tick_future **f = calloc(N, sizeof *f);
    for (int i = 0; i < N; i++) {
        a[i].value = i;
        f[i] = tick_run_in_thread(loop, plain_job, &a[i]);
    }
    uint64_t t0 = tick_loop_tick(loop);
    int done = 0;
    while (done < N) {
        ck_assert_int_ge(tick_loop_run_once(loop, true), 0);
        done = 0;
        for (int i = 0; i < N; i++)
            done += tick_future_done(f[i]);
    }
    uint64_t ticks = tick_loop_tick(loop) - t0;
    pthread_t seen[TICK_POOL_THREADS + 1];
    int nseen = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tick_future_result(f[i]), 2 * i);
        int k = 0;
        while (k < nseen && !pthread_equal(seen[k], a[i].thread))
            k++;
        if (k == nseen) {
            ck_assert_int_lt(nseen, TICK_POOL_THREADS);
            seen[nseen++] = a[i].thread;
        }
        tick_future_unref(f[i]);
    }
    /* one doorbell ring carries many completions */
    ck_assert_uint_lt(ticks, N);
    fprintf(stderr, "pool: %d jobs, %d threads, %lu ticks\n", N, nseen, (unsigned long)ticks);
    free(a);
    free(f);
}
END_TEST

START_TEST(cancel_queued_job_never_runs)
{
    struct job_arg busy[TICK_POOL_THREADS], extra = { .value = 7 };
    tick_future *bf[TICK_POOL_THREADS];
    gate_reset();
    for (int i = 0; i < TICK_POOL_THREADS; i++) {
        busy[i] = (struct job_arg){ .value = i };
        bf[i] = tick_run_in_thread(loop, gated_job, &busy[i]);
    }
    gate_wait_for(TICK_POOL_THREADS);                 /* every worker is busy */
    tick_future *f = tick_run_in_thread(loop, gated_job, &extra);
    ck_assert(tick_future_cancel(f));
    ck_assert(tick_future_cancelled(f));
    ck_assert_uint_eq(loop->active, TICK_POOL_THREADS);
    tick_future_unref(f);                             /* freed now: no worker has it */
    gate_release();
    for (int i = 0; i < TICK_POOL_THREADS; i++) {
        RUN_UNTIL(tick_future_done(bf[i]), 1000);
        ck_assert_int_eq(tick_future_result(bf[i]), i);
        tick_future_unref(bf[i]);
    }
    ck_assert(!extra.ran);
}
END_TEST

START_TEST(cancel_running_job_discards_result)
{
    struct job_arg a = { .value = 5 }, b = { .value = 6 };
    gate_reset();
    tick_future *f = tick_run_in_thread(loop, gated_job, &a);
    gate_wait_for(1);
    ck_assert(tick_future_cancel(f));
    ck_assert_int_eq(tick_future_error(f), -ECANCELED);
    ck_assert_uint_eq(loop->active, 0);
    tick_future_unref(f);                             /* the engine still holds it */
    gate_release();
    tick_future *g = tick_run_in_thread(loop, plain_job, &b);
    RUN_UNTIL(tick_future_done(g), 1000);             /* the pool goes on */
    ck_assert_int_eq(tick_future_result(g), 12);
    tick_future_unref(g);
    /* g may have run on a second worker while a's was still returning:
     * the cancelled job stays a member of its scope until the loop takes
     * it back after fn returned, and that collection orders a.ran */
    tick_scope_stats st;
    for (;;) {
        tick_scope_get_stats(tick_loop_scope(loop), &st, false);
        if (st.count[TICK_SCOPE_JOB] == 0)
            break;
        ck_assert_int_ge(tick_loop_run_once(loop, true), 0);
    }
    ck_assert(a.ran);
}
END_TEST

/* A job runs plugin code (fn, on arg) and cannot be interrupted: the group
 * of the task that started it stays open until the job has returned, so
 * the daemon never frees an instance or dlcloses its module under a
 * running job. (The group used to drain as soon as the cancelled task
 * finished, while the worker still ran fn.) */
struct jobber { tick_task task; struct job_arg *arg; intptr_t rc; };
static int jobber_step(tick_task *t)
{
    struct jobber *j = tick_container_of(t, struct jobber, task);
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), gated_job, j->arg), j->rc);
    if (j->rc < 0)
        TICK_FAIL(t, j->rc);
    TICK_RETURN(t, j->rc);
    TICK_END(t);
}
static const tick_task_class jobber_class = { jobber_step, NULL };
static int group_drained;
static void on_group_drained(tick_handle *h) { (void)h; group_drained++; }

START_TEST(group_stays_open_while_an_abandoned_job_runs)
{
    struct job_arg a = { .value = 3 };
    struct jobber j = { .arg = &a };
    tick_scope g;
    tick_handle drained;
    tick_scope_stats st;
    gate_reset();
    group_drained = 0;
    tick_scope_init(&g, loop, NULL, "group");
    tick_handle_init(&drained, "drained", on_group_drained);
    tick_scope *prev = tick_scope_enter(loop, &g);
    tick_task_start(loop, &j.task, "jobber", &jobber_class);
    tick_scope_enter(loop, prev);
    tick_loop_run_once(loop, false);                  /* job submitted */
    gate_wait_for(1);                                 /* and running */
    ck_assert_uint_ge(tick_scope_cancel(&g), 1);
    tick_future *d = tick_scope_drain(&g);
    tick_future_add_done_callback(d, &drained);
    for (int i = 0; i < 5; i++)
        tick_loop_run_once(loop, false);
    ck_assert(tick_future_cancelled(&j.task.future)); /* the task is gone */
    ck_assert_int_eq(group_drained, 0);               /* but fn still runs */
    tick_scope_get_stats(&g, &st, false);
    ck_assert_uint_eq(st.count[TICK_SCOPE_JOB], 1);
    gate_release();
    RUN_UNTIL(group_drained == 1, 1000);
    ck_assert(a.ran);
    tick_scope_get_stats(&g, &st, false);
    ck_assert_uint_eq(st.count[TICK_SCOPE_JOB], 0);
    ck_assert_uint_eq(st.jobs_run, 1);
    tick_future_unref(d);
    ck_assert_int_eq(tick_scope_close(&g), 0);
    tick_future_unref(&j.task.future);
}
END_TEST

struct slow { int started, finished; };

static intptr_t slow_job(void *p)
{
    struct slow *s = p;
    __atomic_store_n(&s->started, 1, __ATOMIC_SEQ_CST);
    usleep(50 * 1000);
    __atomic_store_n(&s->finished, 1, __ATOMIC_SEQ_CST);
    return 0;
}

START_TEST(loop_close_joins_the_pool)
{
    struct slow s = { 0, 0 };
    tick_future *f = tick_run_in_thread(loop, slow_job, &s);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);  /* a job is awaited */
    while (!__atomic_load_n(&s.started, __ATOMIC_SEQ_CST))
        usleep(1000);
    tick_future_cancel(f);                            /* running: result dropped */
    tick_future_unref(f);
    ck_assert_int_eq(tick_loop_close(loop), 0);
    ck_assert(__atomic_load_n(&s.finished, __ATOMIC_SEQ_CST));   /* joined */
    ck_assert_int_eq(tick_loop_new(&loop), 0);        /* for the teardown */
}
END_TEST

START_TEST(sys_h_example)
{
    struct supervisor s = { .pid = 0, .exit = NULL };
    tick_task_start(loop, &s.task, "supervisor", &supervisor_class);
    RUN_UNTIL(s.pid > 0, 1000);
    RUN_UNTIL(loop->sig != NULL, 1000);               /* it waits for SIGHUP */
    /* thread-directed: under valgrind a process-directed signal can be
     * taken by a worker thread's emulated mask and never reach the
     * signalfd (valgrind emulates masks; the kernel does not do that) */
    pthread_kill(pthread_self(), SIGHUP);
    RUN_UNTIL(tick_future_done(&s.task.future), 100);
    ck_assert_int_eq(tick_future_result(&s.task.future), SIGHUP);
    ck_assert_int_eq(memcmp(s.buf, "hi\n", 3), 0);    /* through the pipe */
    tick_future_unref(&s.task.future);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, job_result_on_a_worker);
    tcase_add_test(tc, many_jobs_few_threads_coalesced_wakeups);
    tcase_add_test(tc, cancel_queued_job_never_runs);
    tcase_add_test(tc, cancel_running_job_discards_result);
    tcase_add_test(tc, group_stays_open_while_an_abandoned_job_runs);
    tcase_add_test(tc, loop_close_joins_the_pool);
    tcase_add_test(tc, sys_h_example);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(pool_suite)
