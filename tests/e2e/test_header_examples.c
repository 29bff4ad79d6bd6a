/*
 * test_header_examples.c — the example at the top of each include/tick/ header
 * compiles and runs: tests/examples/run.sh extracts it, wraps it with
 * tests/examples/HEADER.c, builds it (a plugin against include/ alone, an
 * engine example linked with libtick.a) and runs it; the plugin.h example
 * goes through `tickd -t` and a short real run.
 */
#include "e2e.h"

static void run_example(const char *header)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char cmd[4 * PATH_MAX], log[PATH_MAX];
    E2E_FMT(log, sizeof log, "%s/run.log", d.dir);
    E2E_FMT(cmd, sizeof cmd, "TICK_SRC='%s' TICKD='%s' sh '%s/tests/examples/run.sh' %s '%s/ex' >'%s' 2>&1",
            e2e_src(), e2e_tickd(), e2e_src(), header, d.dir, log);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "the example of include/tick/%s.h failed (%d):\n%s", header, rc,
                  e2e_read_file(log));
    e2e_kill(&d);
}

#define EXAMPLE(h) START_TEST(example_##h) { run_example(#h); } END_TEST
EXAMPLE(loop)
EXAMPLE(future)
EXAMPLE(task)
EXAMPLE(timer)
EXAMPLE(compose)
EXAMPLE(sys)
EXAMPLE(plugin)
EXAMPLE(scope)
EXAMPLE(io)
EXAMPLE(sync)
EXAMPLE(listen)
EXAMPLE(stream)
EXAMPLE(server)
EXAMPLE(config)
EXAMPLE(metrics)

static Suite *examples_suite(void)
{
    Suite *s = suite_create("header examples");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, example_loop);
    tcase_add_test(tc, example_future);
    tcase_add_test(tc, example_task);
    tcase_add_test(tc, example_timer);
    tcase_add_test(tc, example_compose);
    tcase_add_test(tc, example_sys);
    tcase_add_test(tc, example_plugin);
    tcase_add_test(tc, example_scope);
    tcase_add_test(tc, example_io);
    tcase_add_test(tc, example_sync);
    tcase_add_test(tc, example_listen);
    tcase_add_test(tc, example_stream);
    tcase_add_test(tc, example_server);
    tcase_add_test(tc, example_config);
    tcase_add_test(tc, example_metrics);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(examples_suite)
