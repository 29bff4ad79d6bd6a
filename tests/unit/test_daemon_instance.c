/* test_daemon_instance.c — plugin instances in-process, with the real
 * heartbeat and echo plugins: load and configure (errors at the key's
 * line), start in the instance's scope, status hook, log prefix,
 * stop batches that drain the tasks before stop() and unload the module
 * with its last instance, and modules shared by instances. */
#include <dlfcn.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "config.h"
#include "instance.h"
#include "log.h"
#include "module.h"

#ifndef TICK_TEST_PLUGIN_DIR
#define TICK_TEST_PLUGIN_DIR "build/plugins"
#endif

static char dir[64];
static struct tickd_config *cfg;
static int status_changes;
static bool stopped;

static void on_status(void) { status_changes++; }
static void on_stopped(void *arg) { *(bool *)arg = true; }

static void setup(void)
{
    loop_setup();
    snprintf(dir, sizeof dir, "/tmp/tickd-inst-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    tickd_log_set_level(TICK_LOG_ERR);   /* heartbeat's lines are noise here */
    tickd_log_engine_init();
    tickd_instance_set_status_hook(on_status);
    status_changes = 0;
    stopped = false;
    cfg = NULL;
}

static void teardown(void)
{
    char cmd[128];
    tickd_config_free(cfg);
    ck_assert_uint_eq(tickd_instance_count(), 0);
    ck_assert_uint_eq(tickd_module_count(), 0);
    loop_teardown();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Load "[daemon] plugin_dir = ..." + body as the configuration. */
static const char *load(const char *body)
{
    static char path[128];
    struct tickd_error err = { 0 };
    FILE *f;

    snprintf(path, sizeof path, "%s/tickd.ini", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[daemon]\nplugin_dir = %s\n%s", TICK_TEST_PLUGIN_DIR, body);
    fclose(f);
    tickd_config_free(cfg);
    ck_assert_msg(tickd_config_load(path, &cfg, &err) == 0, "%s", err.msg);
    return path;
}

static void stop_list(tick_link *list)
{
    stopped = false;
    ck_assert_int_eq(tickd_stop_begin(loop, list, 2 * TICK_SEC, TICKD_STOP_NOW, on_stopped,
                                      &stopped), 0);
    ck_assert(tick_list_empty(list));
    RUN_UNTIL(stopped, 1000);
}

START_TEST(heartbeat_lifecycle)
{
    struct tickd_error err = { 0 };
    tick_link list = TICK_LINK_INIT(list);
    tick_instance *in;

    load("[plugin:hb]\nmodule = heartbeat\ninterval = 5ms\n");
    ck_assert_int_eq(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    ck_assert_uint_eq(tickd_module_count(), 1);
    ck_assert_str_eq(tick_instance_name(in), "hb");
    ck_assert_ptr_eq(tick_instance_loop(in), loop);
    ck_assert_ptr_nonnull(tick_instance_data(in));
    ck_assert_int_eq(in->state, TICKD_INSTANCE_CONFIGURED);

    ck_assert_int_eq(tickd_instance_start(in, &err), 0);
    ck_assert_int_eq(in->state, TICKD_INSTANCE_RUNNING);
    /* the beat timer was armed with the instance's scope current */
    tick_scope_stats st;
    tick_scope_get_stats(&in->scope, &st, false);
    ck_assert_uint_eq(st.count[TICK_SCOPE_TIMER], 1);
    RUN_UNTIL(strcmp(in->status, "beat 3") == 0, 1000);
    ck_assert_int_ge(status_changes, 4);

    tick_list_append(&list, &in->link);
    stop_list(&list);
    ck_assert_uint_eq(tickd_instance_count(), 0);
    ck_assert_uint_eq(tickd_module_count(), 0);   /* dlclosed */
}
END_TEST

START_TEST(configure_error_at_key_line)
{
    struct tickd_error err = { 0 };
    tick_instance *in = (void *)1;
    char want[600];
    const char *path = load("[plugin:hb]\nmodule = heartbeat\n\ninterval = forever\n");

    ck_assert_int_lt(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    ck_assert_ptr_null(in);
    snprintf(want, sizeof want, "%s:6: plugin:hb: bad duration 'forever' for "
             "key 'interval' (use e.g. 250ms, 5s, 2m)", path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_uint_eq(tickd_instance_count(), 0);
    ck_assert_uint_eq(tickd_module_count(), 0);   /* released and unloaded */
}
END_TEST

START_TEST(whole_section_check_at_header_line)
{
    struct tickd_error err = { 0 };
    tick_instance *in;
    char want[600];
    const char *path = load("\n[plugin:e]\nmodule = echo\n");

    ck_assert_int_lt(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    snprintf(want, sizeof want, "%s:4: plugin:e: missing required key 'listen'",
             path);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(missing_module)
{
    struct tickd_error err = { 0 };
    tick_instance *in;
    char want[800];
    const char *path = load("[plugin:x]\nmodule = nosuch\n");

    ck_assert_int_lt(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    snprintf(want, sizeof want, "%s:4: plugin:x: cannot load module 'nosuch': "
             "%s/nosuch.so: cannot open shared object file: No such file or "
             "directory", path, TICK_TEST_PLUGIN_DIR);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(module_shared_by_instances)
{
    struct tickd_error err = { 0 };
    tick_link one = TICK_LINK_INIT(one), two = TICK_LINK_INIT(two);
    tick_instance *a, *b;

    load("[plugin:a]\nmodule = heartbeat\ninterval = 1h\n"
         "[plugin:b]\nmodule = heartbeat\ninterval = 1h\n");
    ck_assert_int_eq(tickd_instance_new(loop, &cfg->sec[0], &a, &err), 0);
    ck_assert_int_eq(tickd_instance_new(loop, &cfg->sec[1], &b, &err), 0);
    ck_assert_ptr_eq(a->mod, b->mod);
    ck_assert_uint_eq(tickd_module_count(), 1);
    ck_assert_uint_eq(a->mod->instances, 2);
    ck_assert_int_eq(tickd_instance_start(a, &err), 0);
    ck_assert_int_eq(tickd_instance_start(b, &err), 0);
    tick_loop_run_once(loop, false);

    tick_list_append(&one, &a->link);
    stop_list(&one);
    ck_assert_uint_eq(tickd_module_count(), 1);   /* b still uses it */
    ck_assert_uint_eq(b->mod->instances, 1);
    tick_list_append(&two, &b->link);
    stop_list(&two);
}
END_TEST

START_TEST(discard_never_started)
{
    struct tickd_error err = { 0 };
    tick_instance *in;

    load("[plugin:hb]\nmodule = heartbeat\n");
    ck_assert_int_eq(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    tickd_instance_discard(in);
}
END_TEST

START_TEST(empty_stop_batch_completes)
{
    tick_link none = TICK_LINK_INIT(none);
    stop_list(&none);
}
END_TEST

START_TEST(stop_long_sleeping_task_promptly)
{
    struct tickd_error err = { 0 };
    tick_link list = TICK_LINK_INIT(list);
    tick_instance *in;
    uint64_t t0;

    load("[plugin:hb]\nmodule = heartbeat\ninterval = 1h\n");
    ck_assert_int_eq(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    ck_assert_int_eq(tickd_instance_start(in, &err), 0);
    tick_loop_run_once(loop, false);
    t0 = tick_now_update(loop);
    tick_list_append(&list, &in->link);
    stop_list(&list);
    /* cancellation, not the 2 s deadline, ended it */
    ck_assert_uint_lt(tick_now_update(loop) - t0, TICK_SEC);
}
END_TEST

/* StrictModes without a window, and no SIGBUS: the module file is
 * opened, the opened file is checked (fstat) and copied into a memfd
 * sealed against any change, and what dlopen maps is that copy
 * (/proc/self/fd/N), not whatever the path names a moment later. The fd
 * lives as long as the module (the fixture checks it is closed). */
START_TEST(module_mapped_from_the_checked_fd)
{
    struct tickd_error err = { 0 };
    tick_link list = TICK_LINK_INIT(list);
    tick_instance *in;
    struct stat by_fd, by_path;
    char alias[64];
    Dl_info info;
    int seals;

    load("[plugin:hb]\nmodule = heartbeat\n");
    ck_assert_int_eq(tickd_instance_new(loop, &cfg->sec[0], &in, &err), 0);
    ck_assert_int_ge(in->mod->fd, 0);
    ck_assert_int_eq(fstat(in->mod->fd, &by_fd), 0);
    ck_assert_int_eq(stat(in->mod->path, &by_path), 0);
    ck_assert(by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev);
    ck_assert_int_eq(by_fd.st_size, by_path.st_size);
    seals = fcntl(in->mod->fd, F_GET_SEALS);
    ck_assert_int_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
                     F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    snprintf(alias, sizeof alias, "/proc/self/fd/%d", in->mod->fd);
    ck_assert(dladdr(in->mod->desc, &info));
    ck_assert_str_eq(info.dli_fname, alias);
    tick_list_append(&list, &in->link);
    stop_list(&list);
    ck_assert_uint_eq(tickd_module_count(), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon instance");
    TCase *tc = tcase_create("instance");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, heartbeat_lifecycle);
    tcase_add_test(tc, configure_error_at_key_line);
    tcase_add_test(tc, whole_section_check_at_header_line);
    tcase_add_test(tc, missing_module);
    tcase_add_test(tc, module_shared_by_instances);
    tcase_add_test(tc, discard_never_started);
    tcase_add_test(tc, empty_stop_batch_completes);
    tcase_add_test(tc, stop_long_sleeping_task_promptly);
    tcase_add_test(tc, module_mapped_from_the_checked_fd);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
