/*
 * test_heartbeat.c — the shipped heartbeat plugin: its message at the
 * configured interval, prefixed with the instance name, two instances of
 * one module side by side, and the defaults.
 */
#include "e2e.h"

START_TEST(beats_at_the_interval)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:beat]\n"
        "module = heartbeat\n"
        "interval = 100ms\n"
        "message = tock-e2e\n",
        e2e_plugins());
    e2e_start(&d);
    int64_t t0 = e2e_now_ms();
    e2e_sleep_ms(1050);
    int64_t t1 = e2e_now_ms();
    char *log = e2e_read_file(d.err);
    int beats = e2e_count_substr(log, "plugin:beat: tock-e2e\n");
    /* One beat per 100 ms of the time that really passed (our own sleep
     * may overrun on a loaded machine): a heartbeat that never fires, or
     * fires in bursts, fails; a late beat or two does not. */
    int64_t want = (t1 - t0) / 100;
    ck_assert_msg(beats >= want * 7 / 10 && beats <= want + 2,
                  "%d beats in %lld ms:\n%s", beats, (long long)(t1 - t0), log);
    free(log);
    e2e_stop(&d, 5000);
}
END_TEST

/* A stall (SIGSTOP for 4.5 intervals) is not followed by a burst of the
 * missed beats: one beat on waking, then back on the original grid. */
START_TEST(no_burst_after_a_stall)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "watchdog = no\n"
        "\n"
        "[plugin:beat]\n"
        "module = heartbeat\n"
        "interval = 100ms\n"
        "message = grid\n",
        e2e_plugins());
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "plugin:beat: grid\n", 2000));
    e2e_signal(&d, SIGSTOP);
    e2e_sleep_ms(30);   /* let a beat being written land */
    char *log = e2e_read_file(d.err);
    int before = e2e_count_substr(log, "plugin:beat: grid\n");
    free(log);
    e2e_sleep_ms(420);
    e2e_signal(&d, SIGCONT);
    /* the first beat after waking: whenever the loaded machine runs tickd
     * again; then 40 ms (under half an interval) for a burst to show */
    int burst = 0;
    for (int64_t end = e2e_now_ms() + 2000; burst == 0 && e2e_now_ms() < end;) {
        e2e_sleep_ms(5);
        log = e2e_read_file(d.err);
        burst = e2e_count_substr(log, "plugin:beat: grid\n") - before;
        free(log);
    }
    e2e_sleep_ms(40);
    log = e2e_read_file(d.err);
    burst = e2e_count_substr(log, "plugin:beat: grid\n") - before;
    free(log);
    ck_assert_msg(burst >= 1 && burst <= 2,
                  "%d beats within 40 ms of the first after a 450 ms stall", burst);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(two_instances_one_module)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:fast]\n"
        "module = heartbeat\n"
        "interval = 50ms\n"
        "message = fast one\n"
        "\n"
        "[plugin:slow]\n"
        "module = heartbeat\n"
        "interval = 200ms\n"
        "message = slow one\n",
        e2e_plugins());
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "plugin:slow: slow one\n", 2000));
    ck_assert(e2e_wait_log(&d, "plugin:fast: fast one\n", 2000));
    e2e_sleep_ms(500);
    char *log = e2e_read_file(d.err);
    int fast = e2e_count_substr(log, "plugin:fast: fast one\n");
    int slow = e2e_count_substr(log, "plugin:slow: slow one\n");
    ck_assert_msg(fast > 2 * slow, "fast %d, slow %d", fast, slow);
    free(log);
    e2e_stop(&d, 5000);
}
END_TEST

/* The longest interval tick_parse_duration accepts (~584 years) is a beat
 * in ~584 years, not one at once: now + interval must not wrap around. */
START_TEST(longest_interval_does_not_wrap)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:beat]\n"
        "module = heartbeat\n"
        "interval = 5124095h\n"
        "message = wrapped\n",
        e2e_plugins());
    e2e_start(&d);
    e2e_sleep_ms(300);
    char *log = e2e_read_file(d.err);
    ck_assert_msg(!strstr(log, "wrapped"), "beat at once:\n%s", log);
    free(log);
    e2e_stop(&d, 5000);
}
END_TEST

/* Defaults: interval 1s, message "alive". The section name is the module. */
START_TEST(defaults)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:heartbeat]\n",
        e2e_plugins());
    e2e_start(&d);
    int64_t t0 = e2e_now_ms();
    ck_assert_msg(e2e_wait_log(&d, "plugin:heartbeat: alive\n", 3000),
                  "stderr:\n%s", e2e_read_file(d.err));
    int64_t took = e2e_now_ms() - t0;
    ck_assert_msg(took >= 700, "first beat after %lld ms, want ~1 s", (long long)took);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(bad_keys)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    static const struct { const char *line; const char *msg; } cases[] = {
        { "interval = 0", "plugin:hb: bad duration '0' for key 'interval' (use e.g. 250ms, 5s, 2m)" },
        { "interval = -1s", "plugin:hb: bad duration '-1s' for key 'interval' (use e.g. 250ms, 5s, 2m)" },
        { "colour = red", "plugin:hb: unknown key 'colour'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[PATH_MAX + 256];
        e2e_config(&d,
            "[daemon]\n"
            "plugin_dir = %s\n"
            "[plugin:hb]\n"
            "module = heartbeat\n"
            "%s\n",
            e2e_plugins(), cases[i].line);
        const char *args[] = { "-t", "-c", d.conf, NULL };
        int rc = e2e_run(&d, args, 5000);
        char *err = e2e_read_file(d.err);
        E2E_FMT(want, sizeof want, "%s:5: %s", d.conf, cases[i].msg);
        ck_assert_msg(rc == EX_CONFIG_, "case %zu: exit %d", i, rc);
        ck_assert_msg(strstr(err, want) != NULL, "case %zu: no\n  %s\nin:\n%s", i, want, err);
        free(err);
    }
    e2e_kill(&d);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e heartbeat");
    TCase *tc = tcase_create("heartbeat");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, beats_at_the_interval);
    tcase_add_test(tc, no_burst_after_a_stall);
    tcase_add_test(tc, two_instances_one_module);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, longest_interval_does_not_wrap);
    tcase_add_test(tc, bad_keys);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
