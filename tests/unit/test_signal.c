/* test_signal.c — signal futures: delivery through the signalfd, the
 * signal blocked in the thread, several waiters, coalescing and the
 * remembered delivery, cancel, bad signals, a task waiting for SIGHUP,
 * the signalfd released at loop close. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "helpers.h"

START_TEST(signal_resolves_with_its_number)
{
    tick_future *f = tick_signal_wait(loop, SIGUSR1);
    ck_assert_ptr_nonnull(f);
    ck_assert(!tick_future_done(f));
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert(sigismember(&cur, SIGUSR1));           /* blocked by the wait */
    ck_assert_uint_eq(loop->active, 1);
    tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(f));
    kill(getpid(), SIGUSR1);                          /* would kill us if not blocked */
    RUN_UNTIL(tick_future_done(f), 5);
    ck_assert_int_eq(tick_future_error(f), 0);
    ck_assert_int_eq(tick_future_result(f), SIGUSR1);
    ck_assert_uint_eq(loop->active, 0);
    tick_future_unref(f);
}
END_TEST

START_TEST(every_waiter_completes_and_only_its_signal)
{
    tick_future *a = tick_signal_wait(loop, SIGUSR1);
    tick_future *b = tick_signal_wait(loop, SIGUSR1);
    tick_future *c = tick_signal_wait(loop, SIGUSR2);
    kill(getpid(), SIGUSR1);
    RUN_UNTIL(tick_future_done(a) && tick_future_done(b), 5);
    ck_assert_int_eq(tick_future_result(a), SIGUSR1);
    ck_assert_int_eq(tick_future_result(b), SIGUSR1);
    ck_assert(!tick_future_done(c));
    kill(getpid(), SIGUSR2);
    RUN_UNTIL(tick_future_done(c), 5);
    ck_assert_int_eq(tick_future_result(c), SIGUSR2);
    tick_future_unref(a);
    tick_future_unref(b);
    tick_future_unref(c);
}
END_TEST

START_TEST(coalesced_and_remembered)
{
    tick_future *f = tick_signal_wait(loop, SIGUSR1);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);                          /* coalesces in the kernel */
    RUN_UNTIL(tick_future_done(f), 5);
    tick_future_unref(f);
    for (int i = 0; i < 3; i++)
        tick_loop_run_once(loop, false);
    /* nobody waits: the next delivery is remembered, once */
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 3; i++)
        tick_loop_run_once(loop, false);
    f = tick_signal_wait(loop, SIGUSR1);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_result(f), SIGUSR1);
    tick_future_unref(f);
    f = tick_signal_wait(loop, SIGUSR1);
    ck_assert(!tick_future_done(f));                  /* consumed */
    tick_future_cancel(f);
    tick_future_unref(f);
}
END_TEST

START_TEST(signal_pending_before_the_first_wait_is_seen)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &one, NULL);           /* as the daemon's main() */
    kill(getpid(), SIGHUP);
    tick_future *f = tick_signal_wait(loop, SIGHUP);
    RUN_UNTIL(tick_future_done(f), 5);
    ck_assert_int_eq(tick_future_result(f), SIGHUP);
    tick_future_unref(f);
}
END_TEST

START_TEST(cancel_removes_the_waiter)
{
    tick_future *f = tick_signal_wait(loop, SIGUSR2);
    ck_assert(tick_future_cancel(f));
    ck_assert(tick_future_cancelled(f));
    ck_assert_uint_eq(loop->active, 0);
    tick_future_unref(f);
    kill(getpid(), SIGUSR2);                          /* now remembered */
    for (int i = 0; i < 3; i++)
        tick_loop_run_once(loop, false);
    f = tick_signal_wait(loop, SIGUSR2);
    ck_assert(tick_future_done(f));
    tick_future_unref(f);
}
END_TEST

START_TEST(bad_signals_fail)
{
    int bad[] = { 0, -1, SIGKILL, SIGSTOP, _NSIG };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tick_future *f = tick_signal_wait(loop, bad[i]);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(tick_future_error(f), -EINVAL);
        tick_future_unref(f);
    }
    ck_assert_ptr_null(tick_signal_wait(NULL, SIGUSR1));
}
END_TEST

/* ---- a task waiting for SIGHUP, as a daemon's reload loop does ---- */
struct reloader {
    tick_task task;
    int reloads;
};

static int reloader_step(tick_task *t)
{
    struct reloader *r = tick_container_of(t, struct reloader, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_signal_wait(tick_task_loop(t), SIGHUP), rc);
        if (rc < 0)
            break;
        r->reloads++;
    }
    TICK_RETURN(t, r->reloads);
    TICK_END(t);
}
static const tick_task_class reloader_class = { reloader_step, NULL };

START_TEST(task_waits_for_sighup)
{
    struct reloader r = { 0 };
    tick_task_start(loop, &r.task, "reloader", &reloader_class);
    tick_loop_run_once(loop, false);
    for (int i = 1; i <= 3; i++) {
        kill(getpid(), SIGHUP);
        RUN_UNTIL(r.reloads == i, 5);
    }
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);  /* a waiter is active */
    tick_task_cancel(&r.task);
    RUN_UNTIL(tick_future_done(&r.task.future), 5);
    ck_assert_int_eq(tick_future_result(&r.task.future), 3);
    tick_future_unref(&r.task.future);
}
END_TEST

static bool blocked(int signo)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, signo);
}

/* Allocation failure on every allocation of a signal wait: the first wait
 * of a signal leaves it unblocked when it fails (nothing blocked and
 * unread); once the loop owns it, a failed wait leaves it in the mask,
 * the delivery is remembered and the next wait gets it. */
START_TEST(wait_out_of_memory_loses_no_signal)
{
    tick_future *f = NULL;
    unsigned long n;
    for (n = 1; n < 100; n++) {
        tick_test_fail_alloc_after(n);
        f = tick_signal_wait(loop, SIGUSR2);
        bool failed = !f || tick_future_error(f) == -ENOMEM;
        tick_test_fail_alloc_after(0);
        if (!failed)
            break;
        ck_assert_msg(!blocked(SIGUSR2), "failed wait %lu left SIGUSR2 blocked", n);
        tick_future_unref(f);
        f = NULL;
    }
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_ge(n, 2);                         /* the waiter and the state */
    ck_assert(blocked(SIGUSR2) && !tick_future_done(f));
    tick_future_cancel(f);
    tick_future_unref(f);

    /* owned now: a failed wait, then a delivery nobody waits for */
    tick_test_fail_alloc_after(1);
    ck_assert_ptr_null(tick_signal_wait(loop, SIGUSR2));
    ck_assert(blocked(SIGUSR2));
    raise(SIGUSR2);
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 100), 0);
    f = tick_signal_wait(loop, SIGUSR2);            /* the retry gets it */
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_result(f), SIGUSR2);
    tick_future_unref(f);
}
END_TEST

static Suite *signal_suite(void)
{
    Suite *s = suite_create("signal");
    TCase *tc = tcase_create("signal");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_add_test(tc, signal_resolves_with_its_number);
    tcase_add_test(tc, every_waiter_completes_and_only_its_signal);
    tcase_add_test(tc, coalesced_and_remembered);
    tcase_add_test(tc, signal_pending_before_the_first_wait_is_seen);
    tcase_add_test(tc, cancel_removes_the_waiter);
    tcase_add_test(tc, bad_signals_fail);
    tcase_add_test(tc, task_waits_for_sighup);
    tcase_add_test(tc, wait_out_of_memory_loses_no_signal);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(signal_suite)
