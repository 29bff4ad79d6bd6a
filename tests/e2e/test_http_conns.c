/*
 * test_http_conns.c — 10,000 concurrent keep-alive HTTP connections to
 * the http plugin, each making a request, all kept open, then a second
 * request on every one of them at once (reuse: the accepted count stays
 * 10,000), with the daemon's RSS reported. A C client on non-blocking
 * sockets and one epoll, so it takes a second or two, not minutes.
 */
#include "e2e.h"
#include "clients.h"

#include <sys/epoll.h>

enum { N = 10000, BATCH = 1000 };

static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

struct hc {
    int fd;
    size_t sent, got;
    bool done;
};

/* Reply size of the route: the head and "ok" (Date is fixed-width). */
static size_t reply_len;

/* Send req on each of cs[0..n) (connecting those with fd < 0) and read
 * one reply of reply_len bytes on each. Returns how many succeeded. */
static int round_trip(struct hc *cs, int n, uint16_t port, int timeout_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(ep, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    for (int i = 0; i < n; i++) {
        struct hc *c = &cs[i];
        c->sent = c->got = 0;
        c->done = false;
        if (c->fd < 0) {
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ck_assert_int_ge(c->fd, 0);
            if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                ck_assert_int_eq(errno, EINPROGRESS);
        }
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
        ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev), 0);
    }
    int ok = 0;
    int64_t end = e2e_now_ms() + timeout_ms;
    struct epoll_event evs[256];
    char buf[4096];
    while (ok < n && e2e_now_ms() < end) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int j = 0; j < k; j++) {
            struct hc *c = &cs[evs[j].data.u32];
            if (c->done)
                continue;
            if (c->sent < sizeof req - 1) {
                ssize_t w = send(c->fd, req + c->sent, sizeof req - 1 - c->sent, MSG_NOSIGNAL);
                if (w > 0)
                    c->sent += (size_t)w;
                if (c->sent == sizeof req - 1) {
                    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[j].data.u32 };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            ssize_t r;
            while ((r = recv(c->fd, buf, sizeof buf, 0)) > 0)
                c->got += (size_t)r;
            if (r == 0 || c->got >= reply_len) {
                c->done = true;
                if (c->got == reply_len && r != 0)
                    ok++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
    close(ep);
    return ok;
}

static long proc_status_kb(pid_t pid, const char *field)
{
    char path[64];
    E2E_FMT(path, sizeof path, "/proc/%d/status", (int)pid);
    char *st = e2e_read_file(path);
    char *p = st ? strstr(st, field) : NULL;
    long v = p ? strtol(p + strlen(field), NULL, 10) : 0;
    free(st);
    return v;
}

START_TEST(ten_thousand_keepalive)
{
    if (e2e_raise_nofile(N + 512) < N + 512) {
        fprintf(stderr, "ten_thousand_keepalive: skipped, RLIMIT_NOFILE too low\n");
        return;
    }
    struct hc *cs = calloc(N, sizeof *cs);
    ck_assert_ptr_nonnull(cs);
    for (int i = 0; i < N; i++)
        cs[i].fd = -1;
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t port = e2e_free_port();
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n\n"
        "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\nmax_conns = 20000\n"
        "route = / 200 text/plain ok\n", e2e_plugins(), port);
    e2e_start(&d);   /* inherits the raised limit */
    reply_len = strlen("HTTP/1.1 200 OK\r\n") + 37 +
                strlen("Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
    long rss0 = proc_status_kb(d.pid, "VmRSS:");

    int64_t t0 = e2e_now_ms();
    for (int b = 0; b < N; b += BATCH) {       /* under the listen backlog */
        int ok = round_trip(cs + b, BATCH, port, 10000);
        ck_assert_msg(ok == BATCH, "batch at %d: %d of %d answered", b, ok, BATCH);
    }
    int64_t t1 = e2e_now_ms();
    long rss1 = proc_status_kb(d.pid, "VmRSS:");
    int ok = round_trip(cs, N, port, 20000);   /* again, on every open one */
    ck_assert_msg(ok == N, "%d of %d answered on the kept connections", ok, N);
    int64_t t2 = e2e_now_ms();
    long rss2 = proc_status_kb(d.pid, "VmRSS:");
    int fds = e2e_count_fds(d.pid);
    ck_assert_int_ge(fds, N);

    /* reuse: the server accepted N connections for 2N requests */
    int fd = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    const char mreq[] = "GET /metrics HTTP/1.0\r\n\r\n";
    ck_assert_int_eq(write(fd, mreq, sizeof mreq - 1), (ssize_t)sizeof mreq - 1);
    size_t cap = 1 << 20, len = 0;
    char *m = malloc(cap);
    ssize_t r;
    while (len < cap - 1 && (r = read(fd, m + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    m[len] = '\0';
    close(fd);
    char *a = strstr(m, "\nhttp_connections_accepted_total{tickd_instance=\"web\"} ");
    ck_assert_ptr_nonnull(a);
    long accepted = strtol(strchr(a + 1, ' ') + 1, NULL, 10);
    ck_assert_int_eq(accepted, N + 1);
    char *q = strstr(m, "\nhttp_requests_total{tickd_instance=\"web\",code=\"200\"} ");
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(strtol(strchr(q + 1, ' ') + 1, NULL, 10), 2 * N + 1);   /* + this one */
    free(m);

    fprintf(stderr, "http: %d keep-alive connections opened (one request each) in %lld ms, "
            "a second request on all in %lld ms; %ld connections accepted for %d requests; "
            "tickd %d fds, VmRSS %ld kB idle, %ld kB after the first round, %ld kB after "
            "the second (%.2f kB per connection)\n", N, (long long)(t1 - t0),
            (long long)(t2 - t1), accepted - 1, 2 * N, fds, rss0, rss1, rss2,
            (double)(rss2 - rss0) / N);
    /* An idle keep-alive connection holds no read buffer: about 1 KB each
     * (echo's is 0.7); 48 MB catches a 16 KiB buffer pinned per one. */
    ck_assert_msg(rss2 < 48 * 1024, "tickd VmRSS %ld kB with %d connections", rss2, N);
    for (int i = 0; i < N; i++)
        close(cs[i].fd);
    free(cs);
    e2e_stop(&d, 10000);
}
END_TEST

static Suite *http_conns_suite(void)
{
    Suite *s = suite_create("http conns");
    TCase *tc = tcase_create("http conns");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, ten_thousand_keepalive);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(http_conns_suite)
