/* test_daemon_metrics.c — the daemon's own metrics (metrics_daemon.c)
 * with the real heartbeat plugin: the tickd_ and process_ families,
 * per-instance families labelled tickd_instance and module, the newest
 * incarnation only, gone with the instance; the reload figures; promtool
 * on the whole daemon output; the /status data and its JSON. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "config.h"
#include "daemon.h"
#include "instance.h"
#include "log.h"
#include "metrics_daemon.h"
#include "metrics_int.h"
#include "module.h"

#ifndef TICK_TEST_PLUGIN_DIR
#define TICK_TEST_PLUGIN_DIR "build/plugins"
#endif


static char dir[64];
static struct tickd_config *cfg;
static bool stopped;
static void on_stopped(void *arg) { *(bool *)arg = true; }

static void setup(void)
{
    loop_setup();
    snprintf(dir, sizeof dir, "/tmp/tickd-metrics-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    tickd_log_set_level(TICK_LOG_ERR);
    tickd_log_engine_init();
    cfg = NULL;
    memset(&tickd_main, 0, sizeof tickd_main);
    tickd_main.loop = loop;
}

static void teardown(void)
{
    char cmd[128];
    ck_assert_uint_eq(tickd_instance_count(), 0);
    loop_teardown();
    tickd_config_free(cfg);
    ck_assert_uint_eq(tick__metrics_family_count(), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void load(const char *body)
{
    static char path[128];
    struct tickd_error err = { 0 };
    snprintf(path, sizeof path, "%s/tickd.ini", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[daemon]\nplugin_dir = %s\n%s", TICK_TEST_PLUGIN_DIR, body);
    fclose(f);
    tickd_config_free(cfg);
    ck_assert_msg(tickd_config_load(path, &cfg, &err) == 0, "%s", err.msg);
    tickd_main.cfg = cfg;
    tickd_main.config_path = path;
}

static char *render(void)
{
    tick_metrics_cursor *c;
    size_t len = 0, size = 4096;
    char *out = malloc(size), buf[97];
    ssize_t n;
    ck_assert_int_eq(tick_metrics_render_begin(&c), 0);
    while ((n = tick_metrics_render(c, buf, sizeof buf)) > 0) {
        while (len + (size_t)n + 1 > size)
            out = realloc(out, size *= 2);
        memcpy(out + len, buf, (size_t)n);
        len += (size_t)n;
    }
    ck_assert_int_eq(n, 0);
    tick_metrics_render_end(c);
    out[len] = '\0';
    return out;
}

static tick_instance *start(size_t sec)
{
    tick_instance *in;
    struct tickd_error err = { 0 };
    ck_assert_msg(tickd_instance_new(loop, &cfg->sec[sec], &in, &err) == 0, "%s", err.msg);
    ck_assert_msg(tickd_instance_start(in, &err) == 0, "%s", err.msg);
    return in;
}

static void stop(tick_instance *in)
{
    tick_link list;
    tick_link_init(&list);
    tick_list_append(&list, &in->link);
    stopped = false;
    ck_assert_int_eq(tickd_stop_begin(loop, &list, 2 * TICK_SEC, TICKD_STOP_NOW, on_stopped,
                                      &stopped), 0);
    RUN_UNTIL(stopped, 1000);
}

#define HAS(s, x) ck_assert_msg(strstr((s), (x)) != NULL, "missing '%s' in:\n%s", (x), (s))
#define HASNT(s, x) ck_assert_msg(strstr((s), (x)) == NULL, "unexpected '%s' in:\n%s", (x), (s))

static void promtool(const char *text)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        printf("test_daemon_metrics: promtool check skipped: promtool not installed\n");
        return;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/m.prom", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s/m.prom' > '%s/m.out' 2>&1", dir, dir);
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/m.out", dir);
    char msg[2048] = "";
    f = fopen(path, "r");
    if (f) {
        msg[fread(msg, 1, sizeof msg - 1, f)] = '\0';
        fclose(f);
    }
    ck_assert_msg(rc == 0 && !msg[0], "promtool (%d): %s\n--- input:\n%s", rc, msg, text);
}

START_TEST(daemon_and_process_families)
{
    load("");
    tickd_metrics_init(&tickd_main);
    tick_loop_run_once(loop, false);
    char *s = render();
    HAS(s, "# TYPE tickd_build_info gauge\ntickd_build_info{version=\"" TICKD_VERSION "\"} 1\n");
    HAS(s, "\ntickd_start_time_seconds 1");
    HAS(s, "\n# TYPE tickd_loop_ticks_total counter\ntickd_loop_ticks_total ");
    HAS(s, "\ntickd_loop_handles_run_total ");
    HAS(s, "\ntickd_loop_longest_tick_seconds ");
    HAS(s, "\ntickd_loop_slow_handles_total ");
    HAS(s, "# TYPE tickd_slow_handles_total counter\n");
    HAS(s, "\ntickd_config_last_reload_successful 1\n");
    HAS(s, "\ntickd_config_last_reload_success_timestamp_seconds 1");
    HAS(s, "\ntickd_config_reloads_total{result=\"success\"} 0\n");
    HAS(s, "\ntickd_log_lines_dropped_total 0\n");
    HAS(s, "\nprocess_cpu_seconds_total ");
    HAS(s, "\nprocess_resident_memory_bytes ");
    HAS(s, "\nprocess_virtual_memory_bytes ");
    HAS(s, "\nprocess_open_fds ");
    HAS(s, "\nprocess_max_fds ");
    HAS(s, "\nprocess_start_time_seconds 1");
    promtool(s);
    free(s);

    /* a reload refused, then one that worked */
    tickd_metrics_reload(false, "tickd.ini:3: unknown key 'x'");
    s = render();
    HAS(s, "\ntickd_config_last_reload_successful 0\n");
    HAS(s, "\ntickd_config_reloads_total{result=\"failure\"} 1\n");
    free(s);
    struct tickd_status st;
    tickd_status_get(&st);
    ck_assert(!st.last_reload_ok);
    ck_assert_str_eq(st.last_reload_error, "tickd.ini:3: unknown key 'x'");
    tickd_metrics_reload(true, "reloaded: 0 started");
    s = render();
    HAS(s, "\ntickd_config_last_reload_successful 1\n");
    HAS(s, "\ntickd_config_reloads_total{result=\"success\"} 1\n");
    free(s);
    tickd_status_get(&st);
    ck_assert(st.last_reload_ok);
    ck_assert_str_eq(st.last_reload_error, "");
    ck_assert_uint_eq(st.reloads_ok, 1);
    ck_assert_uint_eq(st.reloads_failed, 1);
}
END_TEST

START_TEST(instance_families)
{
    load("[plugin:a]\nmodule = heartbeat\ninterval = 1h\n"
         "[plugin:b]\nmodule = heartbeat\ninterval = 1h\n");
    tickd_metrics_init(&tickd_main);
    tick_instance *a = start(0), *b = start(1);
    tick_loop_run_once(loop, false);
    char *s = render();
    HAS(s, "# TYPE tickd_instance_up gauge\n"
           "tickd_instance_up{tickd_instance=\"a\",module=\"heartbeat\"} 1\n"
           "tickd_instance_up{tickd_instance=\"b\",module=\"heartbeat\"} 1\n");
    HAS(s, "\ntickd_instance_handler_seconds_total{tickd_instance=\"a\",module=\"heartbeat\"} ");
    HAS(s, "\ntickd_instance_pool_cpu_seconds_total{tickd_instance=\"a\",module=\"heartbeat\"} 0\n");
    HAS(s, "\ntickd_instance_handles_run_total{tickd_instance=\"b\",module=\"heartbeat\"} ");
    HAS(s, "\ntickd_instance_tasks{tickd_instance=\"a\",module=\"heartbeat\"} ");
    HAS(s, "\ntickd_instance_fds{tickd_instance=\"a\",module=\"heartbeat\"} 0\n");
    HAS(s, "\ntickd_instance_child_scopes{tickd_instance=\"a\",module=\"heartbeat\"} 0\n");
    HAS(s, "\ntickd_instance_bytes_in_total{tickd_instance=\"a\",module=\"heartbeat\"} 0\n");
    HAS(s, "\ntickd_instance_bytes_out_total{tickd_instance=\"a\",module=\"heartbeat\"} 0\n");
    HAS(s, "\ntickd_instance_task_failures_total{tickd_instance=\"a\",module=\"heartbeat\"} 0\n");
    HAS(s, "\ntickd_instance_start_time_seconds{tickd_instance=\"a\",module=\"heartbeat\"} 1");
    promtool(s);
    free(s);

    /* a second incarnation of a (a reload): only the newest shows; its
     * figures are its own */
    tick_instance *a2 = start(0);
    ck_assert_ptr_ne(a2, a);
    s = render();
    const char *p = strstr(s, "tickd_instance_up{tickd_instance=\"a\"");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(strstr(p + 1, "tickd_instance_up{tickd_instance=\"a\""));
    promtool(s);
    free(s);
    stop(a);
    s = render();
    HAS(s, "tickd_instance_up{tickd_instance=\"a\",module=\"heartbeat\"} 1\n");
    free(s);

    /* status data */
    char json[8192];
    size_t need = tickd_status_json(json, sizeof json);
    ck_assert_uint_lt(need, sizeof json);
    ck_assert_uint_eq(strlen(json), need);
    HAS(json, "\"version\":\"" TICKD_VERSION "\"");
    HAS(json, "\"config_files\":[\"");
    HAS(json, "{\"name\":\"b\",\"module\":\"heartbeat\",\"module_version\":\"");
    HAS(json, "\"state\":\"running\"");
    /* cut short: the length needed all the same, NUL-terminated */
    char small[16];
    ck_assert_uint_eq(tick_daemon_status_json(small, sizeof small), need);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    char path[96], cmd[256];
    snprintf(path, sizeof path, "%s/status.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 -m json.tool '%s' >/dev/null 2>&1 || "
             "! command -v python3 >/dev/null", path);
    ck_assert_msg(system(cmd) == 0, "not JSON: %s", json);
    struct tickd_status_instance si;
    tickd_status_instance_get(b, &si);
    ck_assert_str_eq(si.name, "b");
    ck_assert_str_eq(si.module, "heartbeat");
    ck_assert_str_eq(si.state, "running");
    ck_assert(si.ready);

    /* readiness (tick_instance_set_ready): health and status show it */
    char why[256];
    ck_assert(tick_daemon_health(why, sizeof why));
    ck_assert_str_eq(why, "");
    tick_instance_set_ready(b, false, "loading\n12%");
    ck_assert(!tick_daemon_health(why, sizeof why));
    ck_assert_str_eq(why, "plugin:b: not ready: loading 12%");
    tickd_status_json(json, sizeof json);
    HAS(json, "\"ready\":false,\"ready_reason\":\"loading 12%\"");
    ck_assert(!tick_daemon_health(NULL, 0));
    tick_instance_set_ready(b, true, NULL);
    ck_assert(tick_daemon_health(why, sizeof why));

    size_t before = tick__metrics_family_count();
    stop(a2);
    stop(b);
    ck_assert_uint_eq(tick__metrics_family_count(), before - 2 * 12);
    s = render();
    HASNT(s, "tickd_instance_up{");
    free(s);
}
END_TEST

static Suite *daemon_metrics_suite(void)
{
    Suite *s = suite_create("daemon metrics");
    TCase *tc = tcase_create("daemon metrics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, daemon_and_process_families);
    tcase_add_test(tc, instance_families);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(daemon_metrics_suite)
