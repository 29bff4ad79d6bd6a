/*
 * test_server.c — the SDK's servers (tick/server.h) in the real daemon,
 * through the netfix fixture (tests/plugins/netfix): the idle timeout,
 * max_conns, EMFILE shedding logged and counted, UDP receive batches.
 */
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "clients.h"

/* The fixtures' directory, as e2e_fixtures() finds it (not called: in
 * this file gcc's -Wformat-truncation trips over its snprintf). */
static const char *fixtures(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        const char *f = getenv("TICK_FIXTURES");
        char tmp[PATH_MAX];
        if (f && *f)
            snprintf(tmp, sizeof tmp, "%.4000s", f);
        else
            snprintf(tmp, sizeof tmp, "%.4000s/../tests/plugins", e2e_plugins());
        if (!realpath(tmp, dir))
            snprintf(dir, sizeof dir, "%s", tmp);
    }
    return dir;
}

static void netfix_config(e2e_daemon *d, uint16_t port, const char *extra)
{
    e2e_config(d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 3s\n"
        "\n"
        "[plugin:nf]\n"
        "module = netfix\n"
        "listen = 127.0.0.1:%u\n"
        "%s",
        fixtures(), port, extra);
}

/* Send "stats\n" on fd and parse the reply's field (accepted=, ...). */
static long stat_of(int fd, const char *field)
{
    char buf[256];
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(send(fd, "stats\n", 6, MSG_NOSIGNAL), 6);
    size_t got = 0;
    while (got < sizeof buf - 1 && (got == 0 || buf[got - 1] != '\n')) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        ck_assert_msg(n > 0, "no stats reply");
        got += (size_t)n;
    }
    buf[got] = 0;
    char key[32];
    snprintf(key, sizeof key, "%s=", field);
    char *p = strstr(buf, key);
    ck_assert_msg(p, "no %s in '%s'", field, buf);
    return atol(p + strlen(key));
}

START_TEST(idle_timeout_closes_quiet_connections)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    netfix_config(&d, port, "idle_timeout = 300ms\n");
    e2e_start(&d);

    int quiet = e2e_connect(port), busy = e2e_connect(port);
    ck_assert_int_ge(quiet, 0);
    ck_assert_int_ge(busy, 0);
    ck_assert(e2e_echo_roundtrip(quiet, "hello\n"));
    /* the busy one talks every 100 ms for 900 ms: never idle that long */
    for (int i = 0; i < 9; i++) {
        ck_assert_msg(e2e_echo_roundtrip(busy, "tick\n"), "busy closed at %d", i);
        e2e_sleep_ms(100);
    }
    ck_assert_msg(e2e_wait_closed(quiet, 2000), "quiet connection not closed");
    ck_assert(e2e_wait_log(&d, "conn 127.0.0.1:", 1000));   /* its scope's name */
    ck_assert(e2e_wait_log(&d, "idle timeout", 1000));
    ck_assert_int_eq(stat_of(busy, "idle"), 1);
    ck_assert_int_eq(stat_of(busy, "accepted"), 2);
    ck_assert_int_eq(stat_of(busy, "active"), 1);
    close(quiet);
    close(busy);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(max_conns_closes_the_extra)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    netfix_config(&d, port, "max_conns = 2\n");
    e2e_start(&d);

    int a = e2e_connect(port), b = e2e_connect(port);
    ck_assert(e2e_echo_roundtrip(a, "a\n"));
    ck_assert(e2e_echo_roundtrip(b, "b\n"));
    int extra = e2e_connect(port);
    ck_assert_int_ge(extra, 0);
    ck_assert_msg(e2e_wait_closed(extra, 3000), "3rd client not closed");
    ck_assert(e2e_wait_log(&d, "max_conns (2) reached", 2000));
    ck_assert_int_eq(stat_of(a, "refused"), 1);
    close(extra);
    /* a slot comes back when a client leaves */
    close(b);
    bool served = false;
    for (int i = 0; i < 50 && !served; i++) {
        int c = e2e_connect(port);
        served = c >= 0 && e2e_echo_roundtrip(c, "again\n");
        if (c >= 0)
            close(c);
        if (!served)
            e2e_sleep_ms(20);
    }
    ck_assert(served);
    close(a);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(emfile_shed_is_logged_and_counted)
{
    enum { N = 80 };
    int fds[N];
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    netfix_config(&d, port, "");
    e2e_start(&d);
    int first = e2e_connect(port);      /* counts for us afterwards */
    ck_assert(e2e_echo_roundtrip(first, "first\n"));
    struct rlimit rl = { 48, 48 };
    ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, &rl, NULL), 0);
    for (int i = 0; i < N; i++) {
        fds[i] = e2e_connect(port);
        ck_assert_int_ge(fds[i], 0);
    }
    ck_assert_msg(e2e_wait_log(&d, "out of file descriptors (EMFILE): shed", 3000),
                  "no shed logged:\n%s", e2e_read_file(d.err));
    for (int i = 0; i < N; i++)
        close(fds[i]);
    e2e_sleep_ms(200);
    long shed = stat_of(first, "shed");
    ck_assert_msg(shed >= 20, "shed %ld", shed);
    char *log = e2e_read_file(d.err);
    int lines = e2e_count_substr(log, "out of file descriptors");
    free(log);
    ck_assert_msg(lines >= 1 && lines <= 3, "%d shed lines for %ld sheds", lines, shed);
    close(first);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(udp_datagrams_in_batches)
{
    enum { N = 200 };
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    char extra[64];
    snprintf(extra, sizeof extra, "udp = 127.0.0.1:%u\n", port);
    e2e_config(&d, "[daemon]\nplugin_dir = %s\n\n[plugin:nf]\nmodule = netfix\n%s",
               fixtures(), extra);
    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "udp on", 2000));

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    for (int i = 0; i < N; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "dgram %d", i);
        ck_assert_int_eq(sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&sa, sizeof sa),
                         len);
    }
    int back = 0;
    char buf[256];
    while (back < N && recv(fd, buf, sizeof buf, 0) > 0)
        back++;
    ck_assert_int_eq(back, N);
    ck_assert_int_eq(sendto(fd, "count", 5, 0, (struct sockaddr *)&sa, sizeof sa), 5);
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    long dg = 0, batches = 0;
    ck_assert_int_eq(sscanf(buf, "n=%ld b=%ld", &dg, &batches), 2);
    fprintf(stderr, "server: %ld datagrams in %ld recvmmsg batches\n", dg, batches);
    ck_assert_int_eq(dg, N + 1);
    ck_assert_int_le(batches, dg);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* A reload that restarts the instance drains its connections: one idle
 * between requests gets EOF at once, one that has not sent its first
 * request yet still gets it answered within the grace, then EOF; the
 * successor serves new clients meanwhile. */
START_TEST(drain_on_reload)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    netfix_config(&d, port, "max_conns = 100\n");
    e2e_start(&d);
    int idle = e2e_connect(port), fresh = e2e_connect(port);
    ck_assert(e2e_echo_roundtrip(idle, "one\n"));
    ck_assert_int_ge(fresh, 0);
    e2e_sleep_ms(100);                  /* accepted, no request yet */
    netfix_config(&d, port, "max_conns = 99\n");   /* a change: restart */
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped", 3000));
    ck_assert_msg(e2e_wait_closed(idle, 2000), "idle connection not closed");
    ck_assert_msg(e2e_echo_roundtrip(fresh, "late first request\n"),
                  "the first request was not answered in the grace");
    ck_assert_msg(e2e_wait_closed(fresh, 3000), "fresh connection not closed");
    int next = e2e_connect(port);
    ck_assert(e2e_echo_roundtrip(next, "successor\n"));
    close(next);
    close(idle);
    close(fresh);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("e2e server");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, idle_timeout_closes_quiet_connections);
    tcase_add_test(tc, max_conns_closes_the_extra);
    tcase_add_test(tc, emfile_shed_is_logged_and_counted);
    tcase_add_test(tc, udp_datagrams_in_batches);
    tcase_add_test(tc, drain_on_reload);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(server_suite)
