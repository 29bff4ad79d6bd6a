/*
 * test_kv_docs.c — COMMAND DOCS against a redis-server 7.0 of our own:
 * for every command kv implements (and each subcommand of CLIENT,
 * COMMAND and CONFIG it implements) the docs are redis's, field for
 * field, in one redis-cli call per server; the containers' own fields
 * match up to their (partial) subcommand maps; redis-cli's HELP, built
 * from the docs, prints the same for kv as for redis.
 */
#include "kv_e2e.h"

/* kv's commands in its table's order, the containers aside; then the
 * subcommands kv implements, and names neither has (left out by both) */
static const char *const plain =
    "get set setnx setex getset getdel mget mset msetnx append strlen incr decr incrby "
    "decrby incrbyfloat del unlink exists type rename expire pexpire expireat pexpireat ttl "
    "pttl persist keys scan hset hget hdel hgetall hlen hexists hincrby hmget lpush rpush "
    "lpop rpop llen lrange ping echo quit select hello info dbsize flushdb flushall auth "
    "bgrewriteaof";
static const char *const containers[] = { "client", "command", "config", NULL };
static const char *const subs =
    "'client|id' 'CLIENT|GETNAME' 'client|setname' 'command|count' 'command|docs' "
    "'command|info' 'config|get' nosuch 'client|nosuch' 'get|x'";

static void same(const char *what, char *a, char *b)
{
    if (strcmp(a, b) != 0) {
        FILE *f = fopen("/tmp/kv-docs.kv", "w");
        fputs(a, f);
        fclose(f);
        f = fopen("/tmp/kv-docs.redis", "w");
        fputs(b, f);
        fclose(f);
    }
    ck_assert_msg(strcmp(a, b) == 0, "%s: kv and redis-server differ "
                  "(diff /tmp/kv-docs.redis /tmp/kv-docs.kv)", what);
    free(a);
    free(b);
}

START_TEST(command_docs_match_redis_server)
{
    NEED("redis-cli");
    NEED("redis-server");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port(), rport;
    do
        rport = e2e_free_port();
    while (rport == port);
    kv_start(&d, port, "");
    pid_t r = redis_start(rport);
    /* the list above is the whole table (kv's count) */
    int n = 1;
    for (const char *p = plain; *p; p++)
        n += *p == ' ';
    char *out = sh("redis-cli -p %u COMMAND COUNT", port);
    ck_assert_int_eq(atoi(out), n + 3);
    free(out);
    /* every command and subcommand: one call per server */
    char *a = sh("redis-cli --no-raw -p %u COMMAND DOCS %s %s", port, plain, subs);
    char *b = sh("redis-cli --no-raw -p %u COMMAND DOCS %s %s", rport, plain, subs);
    ck_assert_msg(e2e_count_substr(a, "\"summary\"") == n + 7, "%.2000s", a);
    same("COMMAND DOCS (all)", a, b);
    /* a container's own fields, up to its subcommand map */
    for (int i = 0; containers[i]; i++) {
        a = sh("redis-cli --no-raw -p %u COMMAND DOCS %s | sed '/\"subcommands\"/q'", port,
               containers[i]);
        b = sh("redis-cli --no-raw -p %u COMMAND DOCS %s | sed '/\"subcommands\"/q'", rport,
               containers[i]);
        ck_assert_msg(strstr(a, "\"subcommands\""), "%s: %s", containers[i], a);
        same(containers[i], a, b);
    }
    /* no names: every command, in the table's order */
    out = sh("redis-cli -p %u COMMAND DOCS | grep -c '^summary$'", port);
    ck_assert_int_eq(atoi(out), n + 3 + 7);
    free(out);
    /* redis-cli's HELP is built from COMMAND DOCS */
    static const char *const help[] = { "get", "set", "getset", "hello", "client setname",
                                        "scan", "hset", NULL };
    for (int i = 0; help[i]; i++) {
        a = sh("redis-cli -p %u HELP %s", port, help[i]);
        b = sh("redis-cli -p %u HELP %s", rport, help[i]);
        ck_assert_msg(strstr(a, "summary:"), "HELP %s: '%s'", help[i], a);
        same(help[i], a, b);
    }
    redis_stop(r);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *kv_docs_suite(void)
{
    Suite *s = suite_create("kv_docs");
    TCase *tc = tcase_create("kv_docs");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, command_docs_match_redis_server);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(kv_docs_suite)
