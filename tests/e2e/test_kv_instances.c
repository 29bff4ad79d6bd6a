/*
 * test_kv_instances.c — two kv instances in one daemon share nothing:
 * each counts its own keyspace's memory (max_memory, INFO used_memory,
 * kv_memory_used_bytes) and its own commands (kv_commands_total); one
 * restarting keeps the other's keys findable (the hash seed); two AOFs
 * loading at once each report their own command count; one AOF file is
 * one instance's (locked).
 */
#include "kv_e2e.h"

struct two {
    e2e_daemon d;
    uint16_t a, b, web;
};

static void two_config(struct two *t, const char *a_extra, const char *b_extra)
{
    e2e_config(&t->d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 5s\n"                /* b restarts at once: kv stops its cron when drained */
        "control_socket = no\n"
        "\n"
        "[plugin:a]\n"
        "module = kv\n"
        "listen = 127.0.0.1:%u\n"
        "%s"
        "\n"
        "[plugin:b]\n"
        "module = kv\n"
        "listen = 127.0.0.1:%u\n"
        "%s"
        "\n"
        "[plugin:web]\n"
        "module = http\n"
        "listen = 127.0.0.1:%u\n",
        e2e_plugins(), t->a, a_extra, t->b, b_extra, t->web);
}

static void two_start(struct two *t, const char *a_extra, const char *b_extra)
{
    e2e_daemon_init(&t->d);
    t->a = e2e_free_port();
    do
        t->b = e2e_free_port();
    while (t->b == t->a);
    do
        t->web = e2e_free_port();
    while (t->web == t->a || t->web == t->b);
    two_config(t, a_extra, b_extra);
    e2e_start(&t->d);
    char want[64];
    E2E_FMT(want, sizeof want, "listening on 127.0.0.1:%u", t->b);
    ck_assert_msg(e2e_wait_log(&t->d, want, 3000), "%s", e2e_read_file(t->d.err));
}

/* A sample of the daemon's /metrics: "NAME{...tickd_instance="INST"...} V". */
static double metric(const struct two *t, const char *name, const char *inst, const char *label)
{
    char *out = sh("curl -sf http://127.0.0.1:%u/metrics | grep '^%s{' | grep 'tickd_instance=\"%s\"'"
                   " | grep -F '%s' | awk '{ print $NF }'", t->web, name, inst, label);
    double v = -1;
    sscanf(out, "%lf", &v);
    free(out);
    return v;
}

/* SET key:0..n-1 on port through redis-cli --pipe; its summary line. */
static void fill(uint16_t port, int n, const char *prefix)
{
    char *out = sh("awk 'BEGIN { for (i = 0; i < %d; i++) printf \"SET %s:%%d "
                   "0123456789012345678901234567890123456789\\n\", i }' | redis-cli -p %u --pipe "
                   "| tail -1", n, prefix, port);
    ck_assert_msg(strstr(out, "errors: 0"), "%s", out);
    free(out);
}

START_TEST(max_memory_and_used_memory_per_instance)
{
    NEED("redis-cli");
    struct two t;
    two_start(&t, "max_memory = 1M\n", "");
    /* b holds about 10 MB; a, with max_memory = 1M, has nothing yet */
    fill(t.b, 100000, "key");
    long ua = kv_info(t.a, "used_memory"), ub = kv_info(t.b, "used_memory");
    ck_assert_msg(ua >= 0 && ua < 4096 && ub > 8l << 20, "used_memory: a %ld, b %ld", ua, ub);
    /* a's limit is a's alone: it accepts writes */
    char *out = sh("redis-cli -p %u SET mine 1; redis-cli -p %u GET mine", t.a, t.a);
    ck_assert_str_eq(out, "OK\n1\n");
    free(out);
    /* and refuses them when its own keyspace is over 1M, not b's */
    out = sh("awk 'BEGIN { for (i = 0; i < 30000; i++) printf \"SET key:%%d "
             "0123456789012345678901234567890123456789\\n\", i }' | redis-cli -p %u "
             "| sort | uniq -c", t.a);
    ck_assert_msg(strstr(out, "OOM command not allowed when used memory > 'maxmemory'."), "%s", out);
    free(out);
    ua = kv_info(t.a, "used_memory");             /* over by the last SET's entry at most */
    ck_assert_msg(ua > 1l << 20 && ua < (1l << 20) + (256l << 10), "a: used_memory %ld", ua);
    out = sh("redis-cli -p %u SET more 1", t.b);           /* b has no limit */
    ck_assert_str_eq(out, "OK\n");
    free(out);
    /* the metric is per instance too, and equals INFO's */
    if (kv_have("curl")) {
        ub = kv_info(t.b, "used_memory");
        ck_assert_msg(metric(&t, "kv_memory_used_bytes", "a", "") == (double)ua &&
                      metric(&t, "kv_memory_used_bytes", "b", "") == (double)ub,
                      "kv_memory_used_bytes a %.0f (INFO %ld), b %.0f (INFO %ld)",
                      metric(&t, "kv_memory_used_bytes", "a", ""), ua,
                      metric(&t, "kv_memory_used_bytes", "b", ""), ub);
        /* commands: b ran 100,001 SETs and a 30,001 (the refused ones are
         * not executed: 'set' counts those that ran) */
        double sa = metric(&t, "kv_commands_total", "a", "command=\"set\"");
        double sb = metric(&t, "kv_commands_total", "b", "command=\"set\"");
        ck_assert_msg(sa > 0 && sa < 30002 && sb == 100001, "set: a %.0f, b %.0f", sa, sb);
    }
    /* FLUSHALL gives b's bytes back, to b alone */
    out = sh("redis-cli -p %u FLUSHALL", t.b);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    ck_assert_int_eq(kv_info(t.b, "used_memory"), 0);
    ck_assert_int_eq(kv_info(t.a, "used_memory"), ua);
    /* and a, emptied, takes writes again */
    out = sh("redis-cli -p %u FLUSHALL; redis-cli -p %u SET again 1; redis-cli -p %u INFO memory "
             "| tr -d '\\r' | grep '^used_memory:'", t.a, t.a, t.a);
    ck_assert_msg(strncmp(out, "OK\nOK\nused_memory:", 18) == 0 && atol(out + 18) < 4096, "%s", out);
    free(out);
    e2e_stop(&t.d, 5000);
}
END_TEST

/* b restarts on reload (a non-live key changed): a's keys, hashed before
 * b started again, are still found; b, stopped before it starts again,
 * takes its AOF's lock back and loads it. */
START_TEST(restart_of_one_keeps_the_others_keys)
{
    NEED("redis-cli");
    struct two t;
    e2e_daemon_init(&t.d);
    char eb[PATH_MAX + 64], eb2[PATH_MAX + 64];
    E2E_FMT(eb, sizeof eb, "aof = %s/b.aof\n", t.d.dir);
    E2E_FMT(eb2, sizeof eb2, "aof = %s/b.aof\nmax_conns = 100\n", t.d.dir);
    two_start(&t, "", eb);
    char *out = sh("redis-cli -p %u SET k v; redis-cli -p %u HSET h f 1; redis-cli -p %u RPUSH l x;"
                   " redis-cli -p %u SET kb vb", t.a, t.a, t.a, t.b);
    ck_assert_str_eq(out, "OK\n1\n1\nOK\n");
    free(out);
    fill(t.a, 1000, "many");
    two_config(&t, "", eb2);
    e2e_reload(&t.d);
    ck_assert_msg(e2e_wait_log(&t.d, "reloaded: 1 started, 1 stopped", 3000), "%s",
                  e2e_read_file(t.d.err));
    ck_assert_msg(e2e_wait_log(&t.d, "plugin:b: aof: loaded 1 commands", 3000), "%s",
                  e2e_read_file(t.d.err));
    out = sh("redis-cli -p %u GET k; redis-cli -p %u HGET h f; redis-cli -p %u LLEN l; "
             "redis-cli -p %u EXISTS many:0 many:999; redis-cli -p %u DBSIZE; redis-cli -p %u GET kb",
             t.a, t.a, t.a, t.a, t.a, t.b);
    ck_assert_str_eq(out, "v\n1\n1\n2\n1003\nvb\n");
    free(out);
    e2e_stop(&t.d, 5000);
}
END_TEST

/* Two instances given one AOF: the second is refused at start (the
 * file's lock), with the line of its section. */
START_TEST(one_aof_one_instance)
{
    struct two t;
    e2e_daemon_init(&t.d);
    char e[PATH_MAX + 64];
    E2E_FMT(e, sizeof e, "aof = %s/same.aof\n", t.d.dir);
    t.a = e2e_free_port();
    do
        t.b = e2e_free_port();
    while (t.b == t.a);
    do
        t.web = e2e_free_port();
    while (t.web == t.a || t.web == t.b);
    two_config(&t, e, e);
    const char *args[] = { "-c", t.d.conf, NULL };
    int rc = e2e_run(&t.d, args, 5000);
    char *err = e2e_read_file(t.d.err);
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, "tickd.ini:11: plugin:b: start failed: aof '") &&
                  strstr(err, "same.aof' is in use by another kv instance or process (locked)"),
                  "rc %d: %s", rc, err);
    free(err);
}
END_TEST

/* Two AOFs loading at once (interleaved slices): each instance's log
 * line counts its own commands, and both keyspaces are complete. */
START_TEST(concurrent_loads_count_their_own)
{
    NEED("redis-cli");
    struct two t;
    e2e_daemon_init(&t.d);
    char pa[PATH_MAX], pb[PATH_MAX], ea[PATH_MAX + 16], eb[PATH_MAX + 16];
    E2E_FMT(pa, sizeof pa, "%s/a.aof", t.d.dir);
    E2E_FMT(pb, sizeof pb, "%s/b.aof", t.d.dir);
    const long n[2] = { 150000, 250000 };
    const char *paths[2] = { pa, pb };
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "w");
        ck_assert_ptr_nonnull(f);
        for (long j = 0; j < n[i]; j++)
            fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%ld\r\n$8\r\nvalue%03ld\r\n",
                    snprintf(NULL, 0, "key:%ld", j), j, j % 1000);
        fclose(f);
    }
    E2E_FMT(ea, sizeof ea, "aof = %s\n", pa);
    E2E_FMT(eb, sizeof eb, "aof = %s\n", pb);
    /* two_start without its wait: the loaders start with the instances */
    t.a = e2e_free_port();
    do
        t.b = e2e_free_port();
    while (t.b == t.a);
    do
        t.web = e2e_free_port();
    while (t.web == t.a || t.web == t.b);
    two_config(&t, ea, eb);
    e2e_start(&t.d);
    char want[128];
    E2E_FMT(want, sizeof want, "plugin:a: aof: loaded %ld commands, %ld keys", n[0], n[0]);
    ck_assert_msg(e2e_wait_log(&t.d, want, 20000), "%s", e2e_read_file(t.d.err));
    E2E_FMT(want, sizeof want, "plugin:b: aof: loaded %ld commands, %ld keys", n[1], n[1]);
    ck_assert_msg(e2e_wait_log(&t.d, want, 20000), "%s", e2e_read_file(t.d.err));
    char *out = sh("redis-cli -p %u DBSIZE; redis-cli -p %u DBSIZE; redis-cli -p %u GET key:149999",
                   t.a, t.b, t.b);
    E2E_FMT(want, sizeof want, "%ld\n%ld\nvalue999\n", n[0], n[1]);
    ck_assert_str_eq(out, want);
    free(out);
    e2e_stop(&t.d, 5000);
}
END_TEST

static Suite *kv_instances_suite(void)
{
    Suite *s = suite_create("kv_instances");
    TCase *tc = tcase_create("kv_instances");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, max_memory_and_used_memory_per_instance);
    tcase_add_test(tc, restart_of_one_keeps_the_others_keys);
    tcase_add_test(tc, one_aof_one_instance);
    tcase_add_test(tc, concurrent_loads_count_their_own);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(kv_instances_suite)
