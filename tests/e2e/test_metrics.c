/*
 * test_metrics.c — /metrics from the real daemon, rendered by a plugin
 * (tests/plugins/metricsdump) through the public API, one slice per tick,
 * as the http plugin will: the daemon's and process_ families, a plugin's
 * own families labelled with its instance, the daemon's prefix refused,
 * promtool's verdict, one incarnation shown across a reload, and the
 * reload figures after a good and a rejected reload.
 */
#include "e2e.h"
#include "scrape.h"

static void write_conf(e2e_daemon *d, const char *out, int value, const char *extra)
{
    e2e_config(d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:dump]\n"
        "module = metricsdump\n"
        "path = %s\n"
        "slice = 200\n"
        "\n"
        "[plugin:other]\n"
        "module = metricsdump\n"
        "value = %d\n"
        "%s",
        e2e_fixtures(), out, value, extra);
}

#define HAS(s, x) ck_assert_msg(strstr((s), (x)) != NULL, "missing '%s' in:\n%s", (x), (s))

START_TEST(daemon_metrics_through_a_plugin)
{
    e2e_daemon d;
    char out[PATH_MAX];
    e2e_daemon_init(&d);
    E2E_FMT(out, sizeof out, "%s/metrics.prom", d.dir);
    write_conf(&d, out, 1, "");
    e2e_start(&d);
    char *s = e2e_next_scrape(out, 5000);
    HAS(s, "tickd_build_info{version=\"");
    HAS(s, "\ntickd_start_time_seconds ");
    HAS(s, "\ntickd_loop_ticks_total ");
    HAS(s, "\ntickd_config_last_reload_successful 1\n");
    HAS(s, "\nprocess_cpu_seconds_total ");
    HAS(s, "\nprocess_resident_memory_bytes ");
    HAS(s, "\nprocess_open_fds ");
    HAS(s, "\nprocess_max_fds ");
    HAS(s, "\nprocess_start_time_seconds ");
    HAS(s, "\ntickd_instance_up{tickd_instance=\"dump\",module=\"metricsdump\"} 1\n");
    HAS(s, "\ntickd_instance_up{tickd_instance=\"other\",module=\"metricsdump\"} 1\n");
    HAS(s, "\ndump_value{tickd_instance=\"other\",kind=\"configured\"} 1\n");
    HAS(s, "\n# TYPE dump_slice_bytes histogram\n");
    HAS(s, "dump_slice_bytes_bucket{tickd_instance=\"dump\",le=\"+Inf\"} ");
    HAS(s, "\ndump_renders_total{tickd_instance=\"dump\"} ");
    ck_assert_msg(strstr(s, "tickd_fake") == NULL, "%s", s);
    free(s);
    ck_assert(e2e_wait_log(&d, "metric 'tickd_fake': the prefixes tickd_ and process_ are "
                           "the daemon's", 1000));
    e2e_promtool_ok(out);

    /* a reload that changes "other": a new incarnation, shown alone */
    write_conf(&d, out, 2, "");
    e2e_reload(&d);
    for (int i = 0; i < 2; i++) {          /* one may have begun before */
        s = e2e_next_scrape(out, 5000);
        if (i == 0)
            free(s);
    }
    ck_assert_int_eq(e2e_count_substr(s, "tickd_instance_up{tickd_instance=\"other\""), 1);
    ck_assert_int_eq(e2e_count_substr(s, "dump_value{tickd_instance=\"other\""), 1);
    HAS(s, "\ndump_value{tickd_instance=\"other\",kind=\"configured\"} 2\n");
    HAS(s, "\ntickd_config_reloads_total{result=\"success\"} 1\n");
    HAS(s, "\ntickd_config_last_reload_successful 1\n");
    free(s);
    e2e_promtool_ok(out);

    /* a rejected reload: the old configuration runs on, the gauge says so */
    write_conf(&d, out, 3, "bogus_key = 1\n");
    e2e_signal(&d, SIGHUP);
    ck_assert(e2e_wait_log(&d, "reload failed, keeping the running configuration", 5000));
    for (int i = 0; i < 2; i++) {
        s = e2e_next_scrape(out, 5000);
        if (i == 0)
            free(s);
    }
    HAS(s, "\ntickd_config_last_reload_successful 0\n");
    HAS(s, "\ntickd_config_reloads_total{result=\"failure\"} 1\n");
    HAS(s, "\ndump_value{tickd_instance=\"other\",kind=\"configured\"} 2\n");
    free(s);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("e2e metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, daemon_metrics_through_a_plugin);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(metrics_suite)
