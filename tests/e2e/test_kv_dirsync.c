/*
 * test_kv_dirsync.c — the AOF's directory is fsynced (on the pool) after
 * the file's creation and after a rewrite's rename, counted in INFO
 * aof_dir_fsyncs and kv_aof_dir_fsyncs_total: in always mode a write
 * acknowledged after the switch has its reply held until that sync
 * returned; in mode no the directory is synced though the file is not.
 * (The everysec case is in test_kv.c's aof_rewrite_under_write_load.)
 */
#include "kv_e2e.h"

static void rewrite(e2e_daemon *d, uint16_t port, int nth)
{
    char *out = sh("redis-cli -p %u BGREWRITEAOF", port);
    ck_assert_str_eq(out, "Background append only file rewriting started\n");
    free(out);
    for (int64_t end = e2e_now_ms() + 10000; e2e_now_ms() < end;) {
        char *log = e2e_read_file(d->err);
        int done = e2e_count_substr(log, "aof rewrite: done");
        free(log);
        if (done >= nth)
            return;
        e2e_sleep_ms(10);
    }
    ck_abort_msg("rewrite %d not done: %s", nth, e2e_read_file(d->err));
}

START_TEST(always_replies_after_the_directory_sync)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char extra[PATH_MAX + 128];
    E2E_FMT(extra, sizeof extra, "aof = %s/kv.aof\naof_fsync = always\naof_rewrite_growth = 0\n",
            d.dir);
    kv_start(&d, port, extra);
    /* the file was created: the first acknowledged write came after the
     * directory's sync */
    char *out = sh("redis-cli -p %u SET a 1; redis-cli -p %u INFO persistence "
                   "| tr -d '\\r' | grep aof_dir_fsyncs", port, port);
    ck_assert_str_eq(out, "OK\naof_dir_fsyncs:1\n");
    free(out);
    out = sh("for i in $(seq 1 300); do echo SET k$i $i; echo SET k$i v$i; done "
             "| redis-cli -p %u | sort -u", port);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    for (int i = 1; i <= 3; i++) {
        rewrite(&d, port, i);
        /* the reply of a write after the rename waited for its directory's
         * sync: the count is there as soon as the reply is */
        out = sh("redis-cli -p %u INCR n; redis-cli -p %u INFO persistence "
                 "| tr -d '\\r' | grep aof_dir_fsyncs", port, port);
        char want[64];
        E2E_FMT(want, sizeof want, "%d\naof_dir_fsyncs:%d\n", i, 1 + i);
        ck_assert_str_eq(out, want);
        free(out);
    }
    /* the file has it all */
    e2e_kill(&d);
    e2e_daemon_init(&d);
    kv_config(&d, port, extra);
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "aof: loaded", 5000));
    out = sh("redis-cli -p %u GET n; redis-cli -p %u GET k300; redis-cli -p %u DBSIZE", port, port,
             port);
    ck_assert_str_eq(out, "3\nv300\n302\n");
    free(out);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(no_syncs_the_directory_only)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port(), web;
    do
        web = e2e_free_port();
    while (web == port);
    char extra[PATH_MAX + 256];
    E2E_FMT(extra, sizeof extra, "aof = %s/kv.aof\naof_fsync = no\naof_rewrite_growth = 0\n"
            "\n[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\n", d.dir, web);
    kv_start(&d, port, extra);
    ck_assert_int_eq(kv_info_wait(port, "aof_dir_fsyncs", 1, 3000), 1);     /* the create */
    char *out = sh("for i in $(seq 1 200); do echo SET k$i $i; done | redis-cli -p %u | sort -u",
                   port);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    rewrite(&d, port, 1);
    ck_assert_int_eq(kv_info_wait(port, "aof_dir_fsyncs", 2, 3000), 2);     /* the rename */
    ck_assert_int_eq(kv_info(port, "aof_fsyncs"), 0);
    if (kv_have("curl")) {
        out = sh("curl -sf http://127.0.0.1:%u/metrics | grep -E '^kv_aof_(dir_)?fsyncs_total'"
                 " | sed 's/{.*}//' | sort", web);
        ck_assert_str_eq(out, "kv_aof_dir_fsyncs_total 2\nkv_aof_fsyncs_total 0\n");
        free(out);
    }
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *kv_dirsync_suite(void)
{
    Suite *s = suite_create("kv_dirsync");
    TCase *tc = tcase_create("kv_dirsync");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, always_replies_after_the_directory_sync);
    tcase_add_test(tc, no_syncs_the_directory_only);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(kv_dirsync_suite)
