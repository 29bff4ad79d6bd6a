/*
 * test_reload_handoff.c — a reload never refuses a connection.
 *
 * A client thread connects every ~2 ms and does an echo round trip while
 * the daemon reloads: a changed stateless instance starts its new
 * incarnation on the leased socket before the old one drains, a stateful
 * one stops and then starts while the daemon holds the socket (connects
 * wait in the backlog). Also: a failed start keeps the old incarnation
 * and the next reload retries it; an unrelated slow drain delays nobody;
 * a rebuilt .so is loaded; fds stay flat across 100 reloads; at most 3
 * generations of one instance drain at a time. Prints the reload
 * timeline (SIGHUP to the new incarnation's first accept, to the old
 * one's retirement) from the daemon's debug log.
 */
#include <pthread.h>

#include "e2e.h"

#define HEADER                                                              \
    "[daemon]\n"                                                            \
    "plugin_dir = %s\n"                                                     \
    "stop_timeout = 2s\n"

/* ---- the client ------------------------------------------------------- */

struct client {
    pthread_t thread;
    uint16_t port;
    volatile bool stop;
    volatile long ok, refused, errors;
    char last_error[128];
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    while (!c->stop) {
        int fd = e2e_connect(c->port);
        if (fd == -ECONNREFUSED) {
            c->refused++;
        } else if (fd < 0) {
            c->errors++;
            snprintf(c->last_error, sizeof c->last_error, "connect: %s", strerror(-fd));
        } else {
            if (e2e_echo_roundtrip(fd, "ping"))
                c->ok++;
            else {
                c->errors++;
                snprintf(c->last_error, sizeof c->last_error, "round trip: %s",
                         strerror(errno));
            }
            close(fd);
        }
        e2e_sleep_ms(2);
    }
    return NULL;
}

static void client_start(struct client *c, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->port = port;
    ck_assert_int_eq(pthread_create(&c->thread, NULL, client_run, c), 0);
}

static void client_stop(struct client *c)
{
    c->stop = true;
    pthread_join(c->thread, NULL);
}

/* ---- helpers ------------------------------------------------------------ */

static void plugin_dir(e2e_daemon *d, char *dir, size_t len, const char *fixture)
{
    const char *names[] = { "echo", "heartbeat", fixture };
    E2E_FMT(dir, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (int i = 0; i < 3; i++) {
        char src[PATH_MAX + 64], dst[PATH_MAX + 64];
        if (!names[i])
            continue;
        E2E_FMT(src, sizeof src, "%s/%s.so", i < 2 ? e2e_plugins() : e2e_fixtures(),
                names[i]);
        E2E_FMT(dst, sizeof dst, "%s/%s.so", dir, names[i]);
        e2e_copy_file(src, dst, 0755);
    }
}

static int count_log(e2e_daemon *d, const char *needle)
{
    char *log = e2e_read_file(d->err);
    int n = e2e_count_substr(log, needle);
    free(log);
    return n;
}

/* Wait until needle occurs at least n times in stderr. */
static bool wait_count(e2e_daemon *d, const char *needle, int n, int timeout_ms)
{
    int64_t end = e2e_now_ms() + timeout_ms;
    while (count_log(d, needle) < n) {
        if (e2e_now_ms() > end)
            return false;
        e2e_sleep_ms(5);
    }
    return true;
}

/* X of every line holding prefix and "X ms after the reload began". */
static int collect_ms(e2e_daemon *d, const char *prefix, double *out, int max)
{
    char *log = e2e_read_file(d->err), *p = log;
    const char *tail = " ms after the reload began";
    int n = 0;
    while (n < max && (p = strstr(p, prefix))) {
        char *eol = strchr(p, '\n'), *q = strstr(p, tail);
        if (q && (!eol || q < eol)) {
            char *num = q;
            while (num > p && num[-1] != ' ')
                num--;
            out[n++] = atof(num);
        }
        p += strlen(prefix);
    }
    free(log);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_timeline(const char *what, double *v, int n)
{
    if (n == 0)
        return;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    fprintf(stderr, "handoff: %s over %d reloads: median %.1f ms, max %.1f ms\n",
            what, n, v[n / 2], v[n - 1]);
}

/* An open connection: echoes, or was closed gracefully (EOF, no reset). */
static int idle_check(int fd, long *eof, long *ok)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;
    if (poll(&p, 1, 0) == 1) {
        ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0) {
            (*eof)++;
            return 0;
        }
        return -1;       /* a reset, or bytes nobody sent */
    }
    if (!e2e_echo_roundtrip(fd, "idle"))
        return -1;
    (*ok)++;
    return 0;
}

/* ---- stateless: start the new one, then retire the old one --------------- */

START_TEST(twenty_reloads_refuse_nothing)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p = e2e_free_port(), q = e2e_free_port(), p2 = e2e_free_port();
    struct client c;

    /* odd configs add Q to echo1's list: a real change of its settings */
    e2e_config(&d, HEADER "log_level = debug\n"
               "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
               "\n[plugin:echo2]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               e2e_plugins(), p, p2);
    e2e_start(&d);
    int est = e2e_connect(p2);                /* unchanged instance's client */
    ck_assert_int_ge(est, 0);
    ck_assert(e2e_echo_roundtrip(est, "established"));

    client_start(&c, p);
    long idle_eof = 0, idle_ok = 0, est_errors = 0;
    for (int i = 1; i <= 20; i++) {
        int idle[3];
        for (int k = 0; k < 3; k++) {
            idle[k] = e2e_connect(p);
            ck_assert_int_ge(idle[k], 0);
            ck_assert(e2e_echo_roundtrip(idle[k], "hello"));
        }
        if (i % 2)
            e2e_config(&d, HEADER "log_level = debug\n"
                       "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u,127.0.0.1:%u\n"
                       "\n[plugin:echo2]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
                       e2e_plugins(), p, q, p2);
        else
            e2e_config(&d, HEADER "log_level = debug\n"
                       "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
                       "\n[plugin:echo2]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
                       e2e_plugins(), p, p2);
        e2e_reload(&d);
        ck_assert_msg(wait_count(&d, "plugin:echo1: load ", i, 3000),
                      "reload %d: old incarnation not retired:\n%s", i, e2e_read_file(d.err));
        for (int k = 0; k < 3; k++) {
            ck_assert_msg(idle_check(idle[k], &idle_eof, &idle_ok) == 0,
                          "reload %d: idle connection %d reset", i, k);
            close(idle[k]);
        }
        if (!e2e_echo_roundtrip(est, "still here"))
            est_errors++;
        e2e_sleep_ms(10);
    }
    client_stop(&c);
    fprintf(stderr, "handoff: stateless, 20 reloads: %ld round trips, %ld refused, "
            "%ld errors; idle connections: %ld closed gracefully, %ld still echoing; "
            "unchanged instance: %ld errors\n", c.ok, c.refused, c.errors, idle_eof,
            idle_ok, est_errors);
    ck_assert_msg(c.refused == 0, "%ld connects refused", c.refused);
    ck_assert_msg(c.errors == 0, "%ld errors, last: %s", c.errors, c.last_error);
    ck_assert_int_gt(c.ok, 100);
    ck_assert_int_eq(est_errors, 0);
    ck_assert(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped, 1 unchanged", 100));

    double v[64];
    int n = collect_ms(&d, "plugin:echo1: first accept on ", v, 64);
    print_timeline("SIGHUP to the new incarnation's first accept", v, n);
    n = collect_ms(&d, "plugin:echo1: load ", v, 64);
    print_timeline("SIGHUP to the old incarnation retired", v, n);
    close(est);
    e2e_stop(&d, 5000);
}
END_TEST

/* ---- stateful: stop, then start, the socket held open ------------------- */

START_TEST(stateful_stop_then_start_refuses_nothing)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX];
    plugin_dir(&d, dir, sizeof dir, "stateful");
    uint16_t p = e2e_free_port();
    struct client c;

    e2e_config(&d, HEADER "\n[plugin:st]\nmodule = stateful\nlisten = 127.0.0.1:%u\n"
               "label = L0\nnote = n0\n", dir, p);
    e2e_start(&d);
    client_start(&c, p);
    for (int i = 1; i <= 10; i++) {
        e2e_config(&d, HEADER "\n[plugin:st]\nmodule = stateful\nlisten = 127.0.0.1:%u\n"
                   "label = L%d\nnote = n0\n", dir, p, i);
        e2e_reload(&d);
        char want[64];
        E2E_FMT(want, sizeof want, "plugin:st: serving as L%d on", i);
        ck_assert_msg(e2e_wait_log(&d, want, 3000), "stderr:\n%s", e2e_read_file(d.err));
        e2e_sleep_ms(20);
    }
    client_stop(&c);
    fprintf(stderr, "handoff: stateful, 10 reloads: %ld round trips, %ld refused, "
            "%ld errors\n", c.ok, c.refused, c.errors);
    ck_assert_msg(c.refused == 0, "%ld connects refused", c.refused);
    ck_assert_msg(c.errors == 0, "%ld errors, last: %s", c.errors, c.last_error);
    ck_assert_int_gt(c.ok, 20);
    /* stop, then start: each old one said goodbye before its successor */
    char *log = e2e_read_file(d.err);
    for (int i = 0; i < 10; i++) {
        char stop[64], start[64];
        E2E_FMT(stop, sizeof stop, "plugin:st: stopping L%d after", i);
        E2E_FMT(start, sizeof start, "plugin:st: serving as L%d on", i + 1);
        char *a = strstr(log, stop), *b = strstr(log, start);
        ck_assert_msg(a && b && a < b, "L%d: stop after the next start:\n%s", i, log);
    }
    free(log);

    /* note is changed in place: reconfigure(), nothing restarts */
    e2e_config(&d, HEADER "\n[plugin:st]\nmodule = stateful\nlisten = 127.0.0.1:%u\n"
               "label = L10\nnote = n1\n", dir, p);
    int fd = e2e_connect(p);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "kept"));
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "reloaded: 0 started, 0 stopped, 0 unchanged, 1 "
                               "reconfigured", 2000), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, "plugin:st: note is now 'n1'", 100));
    ck_assert(e2e_echo_roundtrip(fd, "same connection"));
    ck_assert_int_eq(count_log(&d, "plugin:st: serving as L10"), 1);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* ---- a start that fails keeps the old incarnation ------------------------ */

START_TEST(failed_start_keeps_old_and_next_reload_retries)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port(), p2 = e2e_free_port();
    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               e2e_plugins(), p1);
    e2e_start(&d);
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "old"));

    /* another process (this test) holds p2 */
    int squat = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p2),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(squat, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(squat, 8), 0);

    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               e2e_plugins(), p2);
    e2e_reload(&d);
    char want[PATH_MAX + 200];
    E2E_FMT(want, sizeof want, "tickd: error: %s:5: plugin:echo1: start failed: cannot "
            "listen on 127.0.0.1:%u (tcp): bind: Address already in use", d.conf, p2);
    ck_assert_msg(e2e_wait_log(&d, want, 2000), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, "reloaded with errors: 0 started, 1 failed to start, "
                           "0 stopped, 0 unchanged", 1000));
    ck_assert_msg(strstr(d.notes, "reload failed: 1 failed to start"), "notes:\n%s", d.notes);
    /* the old incarnation serves on, its client too */
    ck_assert(e2e_echo_roundtrip(fd, "still the old one"));
    int fd1 = e2e_connect(p1);
    ck_assert_int_ge(fd1, 0);
    ck_assert(e2e_echo_roundtrip(fd1, "new client, old incarnation"));
    close(fd1);

    /* the port is free again: the same file now applies */
    close(squat);
    e2e_reload(&d);
    ck_assert_msg(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped, 0 unchanged", 2000),
                  "stderr:\n%s", e2e_read_file(d.err));
    int fd2 = e2e_connect(p2);
    ck_assert_int_ge(fd2, 0);
    ck_assert(e2e_echo_roundtrip(fd2, "retried"));
    close(fd2);
    ck_assert(e2e_wait_closed(fd, 3000));
    close(fd);
    ck_assert_int_eq(e2e_connect(p1), -ECONNREFUSED);
    e2e_stop(&d, 5000);
}
END_TEST

/* ---- nobody waits for an unrelated drain ------------------------------- */

START_TEST(unrelated_slow_drain_does_not_delay_a_start)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX];
    plugin_dir(&d, dir, sizeof dir, "slowjob");
    uint16_t p = e2e_free_port(), q = e2e_free_port();
    e2e_config(&d, HEADER "\n[plugin:job]\nmodule = slowjob\n"
               "\n[plugin:echo1]\nmodule = echo\nlisten = 127.0.0.1:%u\n", dir, p);
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "plugin:job: job started", 2000));
    e2e_sleep_ms(50);                    /* the job runs ~350 ms more */
    /* remove the job (its drain waits for the job) and change echo1 */
    e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\n"
               "listen = 127.0.0.1:%u,127.0.0.1:%u\n", dir, p, q);
    int64_t t0 = e2e_now_ms();
    e2e_reload(&d);
    int64_t ready = e2e_now_ms() - t0;
    int fd = e2e_connect(q);
    int64_t serving = e2e_now_ms() - t0;
    ck_assert_msg(fd >= 0, "echo1's new address: %s", strerror(-fd));
    ck_assert(e2e_echo_roundtrip(fd, "not delayed"));
    close(fd);
    ck_assert_msg(!e2e_file_contains(d.err, "plugin:job: load "),
                  "the job was retired before echo1 started?\n%s", e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, "plugin:job: load ", 3000));
    int64_t retired = e2e_now_ms() - t0;
    fprintf(stderr, "handoff: READY %lld ms, echo1 serving %lld ms, slow job retired "
            "%lld ms after SIGHUP\n", (long long)ready, (long long)serving,
            (long long)retired);
    ck_assert_msg(ready < 200, "READY after %lld ms", (long long)ready);
    ck_assert_int_gt(retired, ready);
    e2e_stop(&d, 5000);
}
END_TEST

/* ---- a rebuilt .so ------------------------------------------------------- */

START_TEST(rebuilt_module_is_loaded_on_reload)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX], src[PATH_MAX + 64], dst[PATH_MAX + 64], tmp[PATH_MAX + 64];
    E2E_FMT(dir, sizeof dir, "%s/plugins", d.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    E2E_FMT(src, sizeof src, "%s/verone.so", e2e_fixtures());
    E2E_FMT(dst, sizeof dst, "%s/ver.so", dir);
    e2e_copy_file(src, dst, 0755);
    e2e_config(&d, HEADER "\n[plugin:v]\nmodule = ver\n", dir);
    e2e_start(&d);
    char want[PATH_MAX + 200];
    E2E_FMT(want, sizeof want, "plugin:v: running module 'ver' one load 1 from %s", dst);
    ck_assert_msg(e2e_wait_log(&d, want, 1000), "stderr:\n%s", e2e_read_file(d.err));

    /* unchanged file, unchanged section: nothing happens */
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 0 started, 0 stopped, 1 unchanged", 1000));

    /* "make install" of a new build: a new file under the same name */
    E2E_FMT(src, sizeof src, "%s/vertwo.so", e2e_fixtures());
    E2E_FMT(tmp, sizeof tmp, "%s/ver.so.new", dir);
    e2e_copy_file(src, tmp, 0755);
    ck_assert_int_eq(rename(tmp, dst), 0);
    e2e_reload(&d);
    E2E_FMT(want, sizeof want, "plugin:v: module file %s changed on disk (running load 1)",
            dst);
    ck_assert_msg(e2e_wait_log(&d, want, 1000), "stderr:\n%s", e2e_read_file(d.err));
    E2E_FMT(want, sizeof want, "plugin:v: running module 'ver' two load 2 from %s", dst);
    ck_assert_msg(e2e_wait_log(&d, want, 1000), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_wait_log(&d, "plugin:v: load 1 retired", 2000));
    ck_assert(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped, 0 unchanged", 1000));
    ck_assert_msg(strstr(d.notes, "v: version two"), "notes:\n%s", d.notes);
    e2e_stop(&d, 5000);
}
END_TEST

/* ---- resources ------------------------------------------------------------ */

START_TEST(hundred_reloads_keep_fds_flat)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p = e2e_free_port(), q = e2e_free_port();
    const char *beat = "\n[plugin:beat]\nmodule = heartbeat\ninterval = 50ms\n";
#define CFG_A() e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\n"          \
        "listen = 127.0.0.1:%u\n%s", e2e_plugins(), p, beat)
#define CFG_B() e2e_config(&d, HEADER "\n[plugin:echo1]\nmodule = echo\n"          \
        "listen = 127.0.0.1:%u,127.0.0.1:%u\n%s", e2e_plugins(), p, q, beat)
    CFG_A();
    e2e_start(&d);
    int fd = e2e_connect(p);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "warm up"));
    close(fd);
    e2e_sleep_ms(50);
    int before = e2e_count_fds(d.pid), most = before;
    int64_t t0 = e2e_now_ms();
    for (int i = 1; i <= 100; i++) {
        if (i % 2)
            CFG_B();
        else
            CFG_A();
        e2e_reload(&d);
        int n = e2e_count_fds(d.pid);
        if (n > most)
            most = n;
    }
    int64_t took = e2e_now_ms() - t0;
    ck_assert(wait_count(&d, "plugin:echo1: load ", 100, 3000));
    e2e_sleep_ms(50);
    fd = e2e_connect(p);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "after 100"));
    close(fd);
    e2e_sleep_ms(20);
    int after = e2e_count_fds(d.pid);
    fprintf(stderr, "handoff: 100 reloads in %lld ms; fds before %d, at most %d, after %d\n",
            (long long)took, before, most, after);
    ck_assert_msg(after == before, "fds before %d, after %d", before, after);
    ck_assert_int_le(most, before + 4);
    e2e_stop(&d, 5000);
#undef CFG_A
#undef CFG_B
}
END_TEST

/* At most 3 old incarnations of one instance drain at once: a fourth
 * forces the oldest on. */
START_TEST(draining_generations_are_bounded)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX];
    plugin_dir(&d, dir, sizeof dir, "udpecho");
    e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 20s\n"
               "\n[plugin:u]\nmodule = udpecho\nlinger = yes\nlisten = 127.0.0.1:0\n"
               "tag = 0\n", dir);
    e2e_start(&d);
    for (int i = 1; i <= 5; i++) {
        e2e_config(&d, "[daemon]\nplugin_dir = %s\nstop_timeout = 20s\n"
                   "\n[plugin:u]\nmodule = udpecho\nlinger = yes\nlisten = 127.0.0.1:0\n"
                   "tag = %d\n", dir, i);
        e2e_reload(&d);
    }
    /* generations 1..5 retired: 1 and 2 were forced, 3..5 still drain */
    ck_assert_msg(wait_count(&d, "plugin:u: too many incarnations draining; cancelling "
                             "the oldest now", 2, 2000), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(wait_count(&d, "plugin:u: load ", 2, 2000));
    e2e_sleep_ms(100);
    ck_assert_int_eq(count_log(&d, "plugin:u: load "), 2);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e reload handoff");
    TCase *tc = tcase_create("handoff");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, twenty_reloads_refuse_nothing);
    tcase_add_test(tc, stateful_stop_then_start_refuses_nothing);
    tcase_add_test(tc, failed_start_keeps_old_and_next_reload_retries);
    tcase_add_test(tc, unrelated_slow_drain_does_not_delay_a_start);
    tcase_add_test(tc, rebuilt_module_is_loaded_on_reload);
    tcase_add_test(tc, hundred_reloads_keep_fds_flat);
    tcase_add_test(tc, draining_generations_are_bounded);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
