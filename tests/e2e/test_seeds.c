/*
 * test_seeds.c — the ported seed examples (build/examples/seed_step10 and
 * seed_step12, found under $TICK_SRC) print exactly the seeds' trace and
 * result, both tasks' handles in one tick line; step 12's tasks are absent
 * from the tick in which only the timer runs. Then the same under valgrind
 * (no errors, no leaks), skipped when valgrind is not installed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char step10_out[] =
    "Loop step 1 [<Handle name='main' callback='step'>]\n"
    "Loop step 2 [<Handle name='Add X' callback='step'>, <Handle name='Add Y' callback='step'>]\n"
    "Loop step 3 [<Handle name='main' callback='step'>]\n"
    "Loop finished with result 3\n";

static const char step12_out[] =
    "Loop step 1 [<Handle name='main' callback='step'>]\n"
    "Loop step 2 [<Handle name='Add X' callback='step'>, <Handle name='Add Y' callback='step'>]\n"
    "Loop step 3 [<Handle name='results' callback='write_results'>]\n"
    "Loop step 4 [<Handle name='Add X' callback='step'>, <Handle name='Add Y' callback='step'>]\n"
    "Loop step 5 [<Handle name='main' callback='step'>]\n"
    "Loop finished with result 3\n";

static void example_path(char *buf, size_t len, const char *name)
{
    const char *src = getenv("TICK_SRC");
    int n = snprintf(buf, len, "%s/build/examples/%s", src && *src ? src : ".", name);
    ck_assert(n > 0 && (size_t)n < len);
    ck_assert_msg(access(buf, X_OK) == 0, "%s not built (make all)", buf);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run argv with stdout captured (stderr to *err_out when non-NULL, else
 * inherited), at most timeout_ms. Returns the exit status (-1 if killed);
 * out receives stdout, NUL-terminated. */
static int run_capture(char *const argv[], char *out, size_t outlen, int timeout_ms)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t used = 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = { .fd = p[0], .events = POLLIN };
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(p[0], out + used, outlen - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        if (used == outlen - 1)
            break;
    }
    out[used] = '\0';
    close(p[0]);
    int status;
    if (waitpid(pid, &status, WNOHANG) == 0) {
        /* give it the rest of the deadline, then kill */
        while (now_ms() < deadline && waitpid(pid, &status, WNOHANG) == 0)
            usleep(10000);
        if (waitpid(pid, &status, WNOHANG) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_example(const char *name, const char *want)
{
    char path[PATH_MAX], out[4096];
    example_path(path, sizeof path, name);
    char *argv[] = { path, NULL };
    int64_t t0 = now_ms();
    int rc = run_capture(argv, out, sizeof out, 10000);
    ck_assert_msg(rc == 0, "%s exited %d, output:\n%s", name, rc, out);
    ck_assert_str_eq(out, want);
    ck_assert_int_lt(now_ms() - t0, 5000);
}

START_TEST(seed_step10_trace)
{
    check_example("seed_step10", step10_out);
}
END_TEST

START_TEST(seed_step12_trace)
{
    check_example("seed_step12", step12_out);
}
END_TEST

/* Steady output: run step 12 a few times (the two pipes must always be
 * reported in one epoll batch, so both tasks share tick 4). */
START_TEST(seed_step12_repeatable)
{
    for (int i = 0; i < 5; i++)
        check_example("seed_step12", step12_out);
}
END_TEST

static const char *find_valgrind(void)
{
    static const char *const paths[] = { "/usr/bin/valgrind", "/usr/local/bin/valgrind" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static void check_valgrind(const char *name, const char *want)
{
    const char *vg = find_valgrind();
    if (!vg) {
        fprintf(stderr, "valgrind not installed: skipped\n");
        return;
    }
    char path[PATH_MAX], out[4096];
    example_path(path, sizeof path, name);
    char *argv[] = {
        (char *)vg, "--quiet", "--leak-check=full", "--show-leak-kinds=all",
        "--errors-for-leak-kinds=all", "--error-exitcode=99", path, NULL,
    };
    int rc = run_capture(argv, out, sizeof out, 60000);
    ck_assert_msg(rc == 0, "%s under valgrind exited %d (99 = errors or leaks, see stderr)",
                  name, rc);
    ck_assert_str_eq(out, want);
}

START_TEST(seed_step10_valgrind)
{
    check_valgrind("seed_step10", step10_out);
}
END_TEST

START_TEST(seed_step12_valgrind)
{
    check_valgrind("seed_step12", step12_out);
}
END_TEST

static Suite *seeds_suite(void)
{
    Suite *s = suite_create("seeds");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, seed_step10_trace);
    tcase_add_test(tc, seed_step12_trace);
    tcase_add_test(tc, seed_step12_repeatable);
    tcase_add_test(tc, seed_step10_valgrind);
    tcase_add_test(tc, seed_step12_valgrind);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(seeds_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
