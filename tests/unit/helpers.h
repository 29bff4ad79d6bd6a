/* helpers.h — shared fixtures for the Check unit tests. */
#ifndef TICK_TEST_HELPERS_H
#define TICK_TEST_HELPERS_H

#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include "tick/tick.h"

/* engine test hook (alloc.c): the n-th allocation from now fails */
void tick_test_fail_alloc_after(unsigned long n);

/* Open fds of this process (for leak checks). */
static inline int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A fresh loop per test; every test must leave it closable, and leave no
 * fd open that it did not find open. */
static tick_loop *loop;
static int fds_before_loop;

static inline void loop_setup(void)
{
    fds_before_loop = count_open_fds();
    ck_assert_int_eq(tick_loop_new(&loop), 0);
}

static inline void loop_teardown(void)
{
    tick_test_fail_alloc_after(0);
    /* let pending frees and closes complete */
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 1000), 0);
    ck_assert_int_eq(tick_loop_close(loop), 0);
    loop = NULL;
    ck_assert_int_eq(count_open_fds(), fds_before_loop);
}

/* Run ticks until *flag becomes true or max ticks pass. */
#define RUN_UNTIL(cond, max_ticks)                                          \
    do {                                                                    \
        for (int run_i_ = 0; !(cond) && run_i_ < (max_ticks); run_i_++)     \
            ck_assert_int_ge(tick_loop_run_once(loop, true), 0);            \
        ck_assert_msg((cond), "condition not reached: %s", #cond);          \
    } while (0)

/* main() for a test file with one suite built by make_suite(). */
#define TICK_TEST_MAIN(make_suite)                                          \
    int main(void)                                                          \
    {                                                                       \
        SRunner *sr = srunner_create(make_suite());                         \
        srunner_run_all(sr, CK_NORMAL);                                     \
        int failed = srunner_ntests_failed(sr);                             \
        srunner_free(sr);                                                   \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                        \
    }

#endif
