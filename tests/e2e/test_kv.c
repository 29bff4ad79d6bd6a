/*
 * test_kv.c — the kv plugin in the real daemon with the real redis
 * clients: the redis-cli scripts of tests/e2e/kv/ run against kv and
 * against a redis-server of our own and must print the same; protocol
 * errors byte for byte against redis too; redis-benchmark and
 * redis-cli --pipe; expiry to the millisecond; max_memory; AUTH and
 * protected mode; the AOF's durability, fsync cadence, tail repair,
 * and loading (-LOADING, /healthz 503).
 */
#include <sys/resource.h>

#include "kv_e2e.h"

static const char *const scripts[] = { "strings", "keys", "coll", "conn", NULL };

START_TEST(scripts_match_redis_server)
{
    NEED("redis-cli");
    NEED("redis-server");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port(), rport = e2e_free_port();
    kv_start(&d, port, "");
    pid_t r = redis_start(rport);
    for (int i = 0; scripts[i]; i++) {
        char *a = sh("redis-cli -p %u < %s/tests/e2e/kv/%s.redis 2>&1", port, e2e_src(),
                     scripts[i]);
        char *b = sh("redis-cli -p %u < %s/tests/e2e/kv/%s.redis 2>&1", rport, e2e_src(),
                     scripts[i]);
        if (strcmp(a, b) != 0) {
            FILE *f = fopen("/tmp/kv-mismatch.kv", "w");
            fputs(a, f);
            fclose(f);
            f = fopen("/tmp/kv-mismatch.redis", "w");
            fputs(b, f);
            fclose(f);
        }
        ck_assert_msg(strcmp(a, b) == 0, "%s.redis: kv and redis-server differ "
                      "(diff /tmp/kv-mismatch.redis /tmp/kv-mismatch.kv)", scripts[i]);
        ck_assert_msg(strlen(a) > 20, "%s: no output", scripts[i]);
        free(a);
        free(b);
    }
    redis_stop(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* Send raw bytes, read until the peer closes or 300 ms pass. */
static char *raw(uint16_t port, const char *req, size_t n, bool *closed)
{
    int fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, req, n), (ssize_t)n);
    static char buf[65536];
    size_t got = 0;
    *closed = false;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 300) <= 0)
            break;
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0) {
            *closed = true;
            break;
        }
        got += (size_t)r;
    }
    buf[got] = 0;
    close(fd);
    return strdup(buf);
}

START_TEST(protocol_errors_match_redis_server)
{
    NEED("redis-server");
    static const struct { const char *req; size_t n; } cases[] = {
#define C(s) { s, sizeof s - 1 }
        C("*abc\r\n"),
        C("*2\r\n$3\r\nGET\r\n+x\r\n"),
        C("*1\r\n$-5\r\n"),
        C("*1\r\n$abc\r\n"),
        C("*3000000000\r\n"),
        C("PING\r\nSET \"a b\" c\r\nGET \"a b\"\r\n"),
        C("SET \"unbalanced x\r\nPING\r\n"),
        C("SET 'a'b c\r\n"),
        C("*0\r\n*-1\r\nPING\r\n\r\n\n  \r\nECHO \"\\x41\\n\"\r\n"),
        C("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING x y\r\n"),
        C("*2\r\n$4\r\nECHO\r\n$3\r\nabcXY*1\r\n$4\r\nPING\r\n"),
        C("QUIT\r\nPING\r\n"),
#undef C
    };
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port(), rport = e2e_free_port();
    kv_start(&d, port, "");
    pid_t r = redis_start(rport);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ca, cb;
        char *a = raw(port, cases[i].req, cases[i].n, &ca);
        char *b = raw(rport, cases[i].req, cases[i].n, &cb);
        ck_assert_msg(strcmp(a, b) == 0 && ca == cb, "case %zu %.40s: kv '%s' (%s) redis '%s' (%s)",
                      i, cases[i].req, a, ca ? "closed" : "open", b, cb ? "closed" : "open");
        free(a);
        free(b);
    }
    /* an inline request over 64 KiB with no newline */
    char *big = malloc(70000);
    memset(big, 'a', 70000);
    bool ca, cb;
    char *a = raw(port, big, 70000, &ca), *b = raw(rport, big, 70000, &cb);
    ck_assert_str_eq(a, "-ERR Protocol error: too big inline request\r\n");
    ck_assert_str_eq(a, b);
    ck_assert(ca && cb);
    free(a);
    free(b);
    free(big);
    redis_stop(r);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(redis_benchmark_and_pipe)
{
    NEED("redis-benchmark");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    kv_start(&d, port, "");
    char *out = sh("timeout 60 redis-benchmark -p %u -q -n 20000 "
                   "-t ping,set,get,incr,lpush,rpush,lpop,rpop,lrange,mset,hset 2>&1 "
                   "| tr '\\r' '\\n' | grep 'requests per second'", port);
    ck_assert_msg(e2e_count_substr(out, "requests per second") == 16,
                  "redis-benchmark:\n%s", out);
    ck_assert_msg(!strstr(out, "rror"), "%s", out);
    free(out);
    /* 100,000 commands through redis-cli --pipe */
    char path[PATH_MAX];
    E2E_FMT(path, sizeof path, "%s/pipe.txt", d.dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 100000; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof k, "pk:%d", i), vl = snprintf(v, sizeof v, "v%d", i);
        fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, k, vl, v);
    }
    fclose(f);
    out = sh("redis-cli -p %u --pipe < %s 2>&1", port, path);
    ck_assert_msg(strstr(out, "errors: 0, replies: 100000"), "%s", out);
    free(out);
    out = sh("redis-cli -p %u GET pk:99999; redis-cli -p %u EXISTS pk:0", port, port);
    ck_assert_str_eq(out, "v99999\n1\n");
    free(out);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(expiry_to_the_millisecond)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    kv_start(&d, port, "");
    int fd = e2e_connect(port);
    char buf[256];
    /* PX 300; PTTL just after is within (290, 300] */
    const char *req = "SET e v PX 300\r\nPTTL e\r\n";
    int64_t t0 = e2e_now_ms();
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    e2e_sleep_ms(50);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    long pttl = 0;
    ck_assert_msg(sscanf(buf, "+OK\r\n:%ld", &pttl) == 1, "%s", buf);
    ck_assert_msg(pttl > 290 && pttl <= 300, "pttl %ld", pttl);
    /* still there 20 ms before, gone 5 ms after */
    while (e2e_now_ms() - t0 < 275)
        e2e_sleep_ms(1);
    ck_assert_int_eq(write(fd, "GET e\r\n", 7), 7);
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    ck_assert_str_eq(buf, "$1\r\nv\r\n");
    while (e2e_now_ms() - t0 < 306)
        e2e_sleep_ms(1);
    ck_assert_int_eq(write(fd, "GET e\r\n", 7), 7);
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    ck_assert_str_eq(buf, "$-1\r\n");
    close(fd);
    /* the active cycle deletes keys nobody reads */
    char *out = sh("for i in $(seq 1 200); do echo SET x$i v PX 50; done | redis-cli -p %u >/dev/null;"
                   " sleep 0.5; redis-cli -p %u DBSIZE; redis-cli -p %u INFO stats | grep expired_keys",
                   port, port, port);
    ck_assert_msg(strncmp(out, "0\n", 2) == 0 && strstr(out, "expired_keys:201"), "%s", out);
    free(out);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(max_memory_noeviction_and_lru)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    kv_start(&d, port, "max_memory = 1M\n");
    char *out = sh("for i in $(seq 1 20000); do echo SET key:$i 0123456789012345678901234567890123456789; done"
                   " | redis-cli -p %u | sort | uniq -c", port);
    ck_assert_msg(strstr(out, "OOM command not allowed when used memory > 'maxmemory'."), "%s", out);
    free(out);
    out = sh("redis-cli -p %u GET key:1; redis-cli -p %u DEL key:1", port, port);
    ck_assert_str_eq(out, "0123456789012345678901234567890123456789\n1\n");   /* reads and DEL work */
    free(out);
    /* eviction = allkeys-lru, live (no restart) */
    kv_config(&d, port, "max_memory = 1M\neviction = allkeys-lru\n");
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "eviction allkeys-lru", 3000));
    out = sh("for i in $(seq 1 40000); do echo SET key:$i 0123456789012345678901234567890123456789; done"
             " | redis-cli -p %u | sort | uniq -c; redis-cli -p %u INFO | grep -E 'evicted_keys|used_memory:'",
             port, port);
    ck_assert_msg(!strstr(out, "OOM") && strstr(out, "evicted_keys:"), "%s", out);
    long ev = 0;
    sscanf(strstr(out, "evicted_keys:"), "evicted_keys:%ld", &ev);
    ck_assert_msg(ev > 10000, "%s", out);
    long used = 0;
    sscanf(strstr(out, "used_memory:"), "used_memory:%ld", &used);
    ck_assert_msg(used <= 1024 * 1024 + 4096, "%s", out);
    free(out);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(auth_and_protected_mode)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    kv_start(&d, port, "require_pass = s3cret\n");
    char *out = sh("printf 'GET a\\nAUTH bad\\nAUTH default bad\\nAUTH s3cret\\nSET a 1\\nGET a\\n'"
                   " | redis-cli -p %u 2>&1", port);
    ck_assert_str_eq(out, "NOAUTH Authentication required.\n\n"
                          "WRONGPASS invalid username-password pair or user is disabled.\n\n"
                          "WRONGPASS invalid username-password pair or user is disabled.\n\n"
                          "OK\nOK\n1\n");
    free(out);
    /* before AUTH, redis's stricter limits: a big multibulk closes */
    bool closed;
    char *r = raw(port, "*20\r\n", 5, &closed);
    ck_assert_str_eq(r, "-ERR Protocol error: unauthenticated multibulk length\r\n");
    ck_assert(closed);
    free(r);
    e2e_stop(&d, 5000);
    /* protected mode: a non-loopback listener without a password */
    e2e_daemon t;
    e2e_daemon_init(&t);
    e2e_config(&t, "[daemon]\nplugin_dir = %s\ncontrol_socket = no\n[plugin:kv]\nmodule = kv\n"
               "listen = 0.0.0.0:%u\n", e2e_plugins(), port);
    const char *args[] = { "-t", "-c", t.conf, NULL };
    int rc = e2e_run(&t, args, 5000);
    char *err = e2e_read_file(t.err);
    ck_assert_msg(rc == EX_CONFIG_ && strstr(err, "tickd.ini:4: plugin:kv: protected mode: listen "
                  "address '0.0.0.0:"), "rc %d: %s", rc, err);
    free(err);
}
END_TEST

/* SIGKILL after acknowledged writes: every one is in the file. */
START_TEST(aof_acknowledged_writes_survive_sigkill)
{
    NEED("redis-cli");
    static const char *modes[] = { "no", "everysec", "always" };
    for (int m = 0; m < 3; m++) {
        e2e_daemon d;
        e2e_daemon_init(&d);
        uint16_t port = e2e_free_port();
        char extra[512];
        E2E_FMT(extra, sizeof extra, "aof = %s/kv.aof\naof_fsync = %s\n", d.dir, modes[m]);
        kv_start(&d, port, extra);
        char *out = sh("for i in $(seq 1 500); do echo INCR n; echo RPUSH l $i; echo SET s$i x EX 1000; done"
                       " | redis-cli -p %u | tail -1", port);
        ck_assert_str_eq(out, "OK\n");
        free(out);
        long fs = kv_info(port, "aof_fsyncs");
        e2e_kill(&d);                    /* SIGKILL: no chance to flush anything */
        char path[PATH_MAX];
        E2E_FMT(path, sizeof path, "%s/kv.aof", d.dir);
        char *aof = e2e_read_file(path);
        ck_assert_msg(strstr(aof, "$4\r\ns500\r\n$1\r\nx\r\n$4\r\nPXAT\r\n"), "mode %s", modes[m]);
        free(aof);
        if (m == 0)
            ck_assert_int_eq(fs, 0);
        if (m == 2)                      /* group commit: a sync per batch that wrote */
            ck_assert_msg(fs >= 100, "always: %ld fsyncs", fs);
        /* restart: everything is back */
        e2e_daemon_init(&d);
        kv_config(&d, port, extra);
        e2e_start(&d);
        ck_assert(e2e_wait_log(&d, "aof: loaded 1500 commands", 5000));
        out = sh("redis-cli -p %u GET n; redis-cli -p %u LLEN l; redis-cli -p %u DBSIZE", port, port, port);
        ck_assert_str_eq(out, "500\n500\n502\n");
        free(out);
        e2e_stop(&d, 5000);
    }
}
END_TEST

/* everysec: about one fdatasync a second while writes come, none idle. */
START_TEST(aof_everysec_cadence)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char extra[512];
    E2E_FMT(extra, sizeof extra, "aof = %s/kv.aof\naof_fsync = everysec\n", d.dir);
    kv_start(&d, port, extra);
    long f0 = kv_info(port, "aof_fsyncs");
    int64_t t0 = e2e_now_ms();
    char *out = sh("for i in $(seq 1 25); do redis-cli -p %u SET k $i >/dev/null; sleep 0.1; done", port);
    free(out);
    long f1 = kv_info(port, "aof_fsyncs"), secs = (long)(e2e_now_ms() - t0) / 1000;
    /* one a second while writes come (the machine may stretch the loop) */
    ck_assert_msg(f1 - f0 >= secs - 1 && f1 - f0 <= secs + 1, "%ld fsyncs in %ld s", f1 - f0, secs);
    e2e_sleep_ms(1500);
    long f2 = kv_info(port, "aof_fsyncs");
    ck_assert_msg(f2 - f1 <= 1, "idle: %ld fsyncs", f2 - f1);   /* the last write's, at most */
    e2e_stop(&d, 5000);
}
END_TEST

/* everysec and no: the AOF records of every batch in a tick go out in
 * one write() at the end of the tick, before those batches' replies. 50
 * connections each send 16 pipelined SETs while the daemon is stopped
 * (SIGSTOP), so on SIGCONT one poll finds all 50 batches: one write()
 * per batch (kv before the group commit) would be 50. */
START_TEST(aof_group_commit_one_write_per_tick)
{
    NEED("redis-cli");
    enum { NCONN = 50, PIPE = 16 };
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char extra[512];
    E2E_FMT(extra, sizeof extra, "aof = %s/kv.aof\naof_fsync = everysec\n", d.dir);
    kv_start(&d, port, extra);
    int fds[NCONN];
    char buf[PIPE * 5 + 1];
    for (int i = 0; i < NCONN; i++) {        /* accepted, each task reading */
        ck_assert_int_ge(fds[i] = e2e_connect(port), 0);
        ck_assert_int_eq(send(fds[i], "PING\r\n", 6, MSG_NOSIGNAL), 6);
        ck_assert_int_eq(recv(fds[i], buf, 7, MSG_WAITALL), 7);
    }
    long w0 = kv_info(port, "aof_writes");
    char req[PIPE * 32];
    size_t n = 0;
    kill(d.pid, SIGSTOP);
    for (int i = 0; i < NCONN; i++) {
        n = 0;
        for (int j = 0; j < PIPE; j++)
            n += (size_t)snprintf(req + n, sizeof req - n, "SET k%d:%d v\r\n", i, j);
        ck_assert_int_eq(send(fds[i], req, n, MSG_NOSIGNAL), (ssize_t)n);
    }
    e2e_sleep_ms(100);                       /* every batch in its socket */
    kill(d.pid, SIGCONT);
    for (int i = 0; i < NCONN; i++) {
        ck_assert_int_eq(recv(fds[i], buf, PIPE * 5, MSG_WAITALL), PIPE * 5);
        buf[PIPE * 5] = '\0';
        ck_assert_msg(strncmp(buf, "+OK\r\n+OK\r\n", 10) == 0, "%s", buf);
        close(fds[i]);
    }
    long w1 = kv_info(port, "aof_writes");
    ck_assert_msg(w1 - w0 >= 1 && w1 - w0 <= 5, "%ld writes for %d batches", w1 - w0, NCONN);
    /* and every acknowledged SET is in the file */
    e2e_kill(&d);
    char path[PATH_MAX];
    E2E_FMT(path, sizeof path, "%s/kv.aof", d.dir);
    char *aof = e2e_read_file(path);
    size_t sets = 0;
    for (const char *p = aof; (p = strstr(p, "\r\nSET\r\n")); p++)
        sets++;
    ck_assert_uint_eq(sets, NCONN * PIPE);
    free(aof);
}
END_TEST

/* A reload that restarts kv (stateful: stop, then start) must not wait
 * the stop_timeout (3 s here) for kv's own cron and AOF syncer: once the
 * old incarnation's leases ended and its connections are done, it stops
 * them (tick_server_draining) after a last sync, and the new one starts. */
START_TEST(reload_restart_does_not_wait_the_stop_timeout)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char extra[512], extra2[600];
    E2E_FMT(extra, sizeof extra, "aof = %s/kv.aof\naof_fsync = everysec\n", d.dir);
    E2E_FMT(extra2, sizeof extra2, "%smax_conns = 200\n", extra);
    kv_start(&d, port, extra);
    char *out = sh("redis-cli -p %u SET a 1", port);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    kv_config(&d, port, extra2);
    int64_t t0 = e2e_now_ms();
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped", 5000), "%s",
                  e2e_read_file(d.err));
    int64_t ms = e2e_now_ms() - t0;
    char *log = e2e_read_file(d.err);
    ck_assert_msg(!strstr(log, "drain timeout"), "%s", log);
    ck_assert_msg(ms < 2000, "the restart took %lld ms (stop_timeout 3 s)", (long long)ms);
    free(log);
    ck_assert(e2e_wait_log(&d, "aof: loaded 1 commands", 3000));
    out = sh("redis-cli -p %u GET a", port);
    ck_assert_str_eq(out, "1\n");
    free(out);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(aof_truncated_tail_repaired)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char path[PATH_MAX], extra[512];
    E2E_FMT(path, sizeof path, "%s/kv.aof", d.dir);
    const char *good = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n";
    e2e_write_file(path, "%s*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\n12", good);
    E2E_FMT(extra, sizeof extra, "aof = %s\n", path);
    kv_start(&d, port, extra);
    char want[128];
    E2E_FMT(want, sizeof want, "truncated record at offset %zu", strlen(good));
    ck_assert_msg(e2e_wait_log(&d, want, 3000), "%s", e2e_read_file(d.err));
    char *out = sh("redis-cli -p %u MGET a b c", port);
    ck_assert_str_eq(out, "1\n2\n\n");
    free(out);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)strlen(good));
    /* writes go on after the repaired prefix */
    out = sh("redis-cli -p %u SET c 3", port);
    free(out);
    e2e_stop(&d, 5000);
    char *aof = e2e_read_file(path);
    ck_assert(strncmp(aof, good, strlen(good)) == 0 && strstr(aof + strlen(good), "$1\r\nc\r\n$1\r\n3\r\n"));
    free(aof);
}
END_TEST

/* A 50 MB file: the loop answers -LOADING meanwhile, /healthz is 503. */
START_TEST(aof_loading_answers_loading)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port(), hport = e2e_free_port();
    char path[PATH_MAX], extra[1024];
    E2E_FMT(path, sizeof path, "%s/kv.aof", d.dir);
    FILE *f = fopen(path, "w");
    char val[200];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = 0;
    long n = 0;
    for (; ftell(f) < 50l << 20; n++)
        fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%ld\r\n$%zu\r\n%s\r\n",
                snprintf(NULL, 0, "key:%ld", n), n, strlen(val), val);
    fclose(f);
    bool http = access("build/plugins/http.so", F_OK) == 0 ||
                strstr(e2e_plugins(), "plugins") != NULL;
    E2E_FMT(extra, sizeof extra, "aof = %s\n\n[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\n",
            path, hport);
    kv_start(&d, port, extra);
    int loading = 0, healthz503 = 0;
    for (int i = 0; i < 2000; i++) {
        char *out = sh("redis-cli -p %u GET key:0 2>&1", port);
        bool l = strstr(out, "LOADING Redis is loading the dataset in memory") != NULL;
        free(out);
        if (!l)
            break;
        loading++;
        out = sh("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/healthz 2>&1", hport);
        healthz503 += strcmp(out, "503") == 0;
        free(out);
    }
    ck_assert_msg(e2e_wait_log(&d, "aof: loaded", 20000), "%s", e2e_read_file(d.err));
    fprintf(stderr, "kv: %ld commands loading: %d -LOADING replies, %d /healthz 503\n",
            n, loading, healthz503);
    ck_assert_msg(loading >= 2, "only %d LOADING replies", loading);
    if (http && kv_have("curl"))
        ck_assert_msg(healthz503 >= 1, "/healthz never 503 while loading");
    char *out = sh("redis-cli -p %u DBSIZE; curl -s -o /dev/null -w '%%{http_code}' "
                   "http://127.0.0.1:%u/healthz", port, hport);
    char want[64];
    E2E_FMT(want, sizeof want, "%ld\n200", n);
    ck_assert_str_eq(out, want);
    free(out);
    e2e_stop(&d, 10000);
}
END_TEST

/* A rewrite while clients write: nothing lost, nothing applied twice. */
START_TEST(aof_rewrite_under_write_load)
{
    NEED("redis-cli");
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char extra[512], path[PATH_MAX];
    E2E_FMT(path, sizeof path, "%s/kv.aof", d.dir);
    E2E_FMT(extra, sizeof extra, "aof = %s\naof_fsync = everysec\naof_rewrite_growth = 0\n", path);
    kv_start(&d, port, extra);
    /* 100k keys, each overwritten once (the rewrite halves the file), a
     * hash and a list with TTLs */
    char *out = sh("redis-cli -p %u DEBUG x >/dev/null; for r in 1 2; do "
                   "awk 'BEGIN { for (i = 0; i < 50000; i++) printf \"SET key:%%d %%d\\n\", i, i }' "
                   "| redis-cli -p %u --pipe | tail -1; done", port, port);
    free(out);
    struct stat st0, st1;
    ck_assert_int_eq(stat(path, &st0), 0);
    /* the file was created: its directory synced once (in the background) */
    long dirsyncs = kv_info_wait(port, "aof_dir_fsyncs", 1, 3000);
    ck_assert_msg(dirsyncs == 1, "aof_dir_fsyncs %ld after the create", dirsyncs);
    /* start the rewrite and write meanwhile: INCR, RPUSH, HSET on keys the
     * scan has or has not reached, SET over dumped keys, DEL, EXPIRE */
    out = sh("redis-cli -p %u BGREWRITEAOF; awk 'BEGIN { for (i = 0; i < 20000; i++) {"
             " printf \"INCR ctr\\nRPUSH lst %%d\\nHSET hsh f%%d %%d\\nSET key:%%d new%%d\\n\", i, i %% 500, i, (i * 7) %% 50000, i;"
             " if (i %% 100 == 0) printf \"DEL key:%%d\\nPEXPIRE lst 100000000\\n\", (i * 13) %% 50000 } }'"
             " | redis-cli -p %u --pipe | tail -1", port, port);
    ck_assert_msg(strstr(out, "Background append only file rewriting started") &&
                  strstr(out, "errors: 0"), "%s", out);
    free(out);
    ck_assert_msg(e2e_wait_log(&d, "aof rewrite: done", 20000), "%s", e2e_read_file(d.err));
    /* everysec: the rename's directory sync follows in the background */
    dirsyncs = kv_info_wait(port, "aof_dir_fsyncs", 2, 3000);
    ck_assert_msg(dirsyncs == 2, "aof_dir_fsyncs %ld after the rewrite", dirsyncs);
    /* more writes after the switch go to the new file */
    out = sh("redis-cli -p %u INCR ctr; redis-cli -p %u DBSIZE; redis-cli -p %u LLEN lst; "
             "redis-cli -p %u HLEN hsh; redis-cli -p %u GET key:7; redis-cli -p %u GET key:49999",
             port, port, port, port, port, port);
    char *before = out;
    e2e_stop(&d, 5000);
    ck_assert_int_eq(stat(path, &st1), 0);
    /* compacted: the file it replaced was longer */
    char *log = e2e_read_file(d.err);
    const char *done = strstr(log, "aof rewrite: done in ");
    long long from = 0, to = 0;
    ck_assert(done && sscanf(strchr(done, ':') + 1, " done in %*f s: %lld -> %lld", &from, &to) == 2);
    ck_assert_msg(to < from, "not compacted: %lld -> %lld", from, to);
    free(log);
    e2e_daemon_init(&d);
    kv_config(&d, port, extra);
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "aof: loaded", 10000));
    out = sh("redis-cli -p %u GET ctr; redis-cli -p %u DBSIZE; redis-cli -p %u LLEN lst; "
             "redis-cli -p %u HLEN hsh; redis-cli -p %u GET key:7; redis-cli -p %u GET key:49999",
             port, port, port, port, port, port);
    /* same state as before the restart (ctr as the INCR left it) */
    ck_assert_msg(strncmp(before, "20001\n", 6) == 0, "%s", before);
    ck_assert_str_eq(out, before);
    fprintf(stderr, "kv rewrite: %lld -> %lld bytes (file %lld before the load, %lld at the end); "
            "state after reload: %s", from, to, (long long)st0.st_size,
            (long long)st1.st_size, out);
    free(out);
    free(before);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *kv_suite(void)
{
    Suite *s = suite_create("kv");
    TCase *tc = tcase_create("kv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, scripts_match_redis_server);
    tcase_add_test(tc, protocol_errors_match_redis_server);
    tcase_add_test(tc, redis_benchmark_and_pipe);
    tcase_add_test(tc, expiry_to_the_millisecond);
    tcase_add_test(tc, max_memory_noeviction_and_lru);
    tcase_add_test(tc, auth_and_protected_mode);
    tcase_add_test(tc, aof_acknowledged_writes_survive_sigkill);
    tcase_add_test(tc, aof_everysec_cadence);
    tcase_add_test(tc, aof_group_commit_one_write_per_tick);
    tcase_add_test(tc, reload_restart_does_not_wait_the_stop_timeout);
    tcase_add_test(tc, aof_truncated_tail_repaired);
    tcase_add_test(tc, aof_loading_answers_loading);
    tcase_add_test(tc, aof_rewrite_under_write_load);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(kv_suite)
