/*
 * clients.h — many non-blocking echo clients driven by one epoll loop in
 * the test process, for the e2e tests of the echo plugin.
 *
 * Each client sends `total` bytes of its own pattern while reading the
 * echo back at the same time (so neither side's buffers deadlock), and
 * checks every byte. The fds stay open after an exchange so a test can
 * hold many connections open and exchange again.
 */
#ifndef TICK_E2E_CLIENTS_H
#define TICK_E2E_CLIENTS_H

#include <sys/epoll.h>
#include <sys/resource.h>
#include "e2e.h"

typedef struct e2e_client {
    int fd;                  /* -1 before connecting */
    bool connected;
    bool done;               /* this exchange complete */
    uint32_t seed;
    size_t total, sent, recvd;
} e2e_client;

static inline uint8_t e2e_pattern(uint32_t seed, size_t i)
{
    return (uint8_t)(seed * 131u + i * 7u + (i >> 9));
}

/* Start a non-blocking connect to 127.0.0.1:port. 0 or -errno. */
E2E_FN int e2e_client_connect(e2e_client *c, uint16_t port)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    c->connected = false;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        c->connected = true;
    else if (errno != EINPROGRESS)
        return -errno;
    return 0;
}

E2E_FN void e2e_clients_close(e2e_client *cs, int n)
{
    for (int i = 0; i < n; i++)
        if (cs[i].fd >= 0) {
            close(cs[i].fd);
            cs[i].fd = -1;
        }
}

/*
 * One exchange of cs[i].total bytes on clients [0, n): connects those with
 * fd < 0 first. Returns the number of clients whose bytes all came back
 * intact within timeout_ms; *why gets the first failure's description.
 */
E2E_FN int e2e_clients_exchange(e2e_client *cs, int n, uint16_t port,
                                int timeout_ms, char *why, size_t whylen)
{
    int ep = epoll_create1(EPOLL_CLOEXEC), ok = 0, live = 0;
    int64_t end = e2e_now_ms() + timeout_ms;
    static char buf[65536];
    struct epoll_event evs[256];

    ck_assert_int_ge(ep, 0);
    why[0] = '\0';
    for (int i = 0; i < n; i++) {
        e2e_client *c = &cs[i];
        c->sent = c->recvd = 0;
        c->done = false;
        if (c->fd < 0) {
            int rc = e2e_client_connect(c, port);
            if (rc < 0) {
                if (!why[0])
                    snprintf(why, whylen, "client %d: connect: %s", i, strerror(-rc));
                c->done = true;
                continue;
            }
        }
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
        ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev), 0);
        live++;
    }

    while (live > 0) {
        int64_t left = end - e2e_now_ms();
        if (left <= 0) {
            if (!why[0])
                snprintf(why, whylen, "%d clients unfinished at the deadline", live);
            break;
        }
        int k = epoll_wait(ep, evs, 256, (int)(left > 200 ? 200 : left));
        if (k < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(k, 0);
        for (int j = 0; j < k; j++) {
            e2e_client *c = &cs[evs[j].data.u32];
            const char *fail = NULL;
            if (c->done)
                continue;
            if (!c->connected && (evs[j].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    errno = err;
                    fail = "connect";
                } else {
                    c->connected = true;
                }
            }
            if (!fail && c->connected && (evs[j].events & EPOLLOUT) && c->sent < c->total) {
                size_t chunk = c->total - c->sent;
                if (chunk > sizeof buf)
                    chunk = sizeof buf;
                for (size_t b = 0; b < chunk; b++)
                    buf[b] = (char)e2e_pattern(c->seed, c->sent + b);
                ssize_t w = send(c->fd, buf, chunk, MSG_NOSIGNAL);
                if (w > 0)
                    c->sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN)
                    fail = "send";
            }
            if (!fail && c->connected && (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                if (r > 0) {
                    for (ssize_t b = 0; b < r; b++)
                        if ((uint8_t)buf[b] != e2e_pattern(c->seed, c->recvd + (size_t)b)) {
                            errno = EILSEQ;
                            fail = "wrong byte echoed";
                            break;
                        }
                    if (c->recvd + (size_t)r > c->total) {
                        errno = E2BIG;
                        fail = "more bytes than sent";
                    }
                    c->recvd += (size_t)r;
                } else if (r == 0) {
                    errno = EPIPE;
                    fail = "unexpected EOF";
                } else if (errno != EAGAIN) {
                    fail = "recv";
                }
            }
            if (fail || c->recvd == c->total) {
                if (fail && !why[0])
                    snprintf(why, whylen, "client %u: %s: %s (sent %zu, got %zu of %zu)",
                             evs[j].data.u32, fail, strerror(errno), c->sent,
                             c->recvd, c->total);
                if (!fail)
                    ok++;
                c->done = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                live--;
            } else if (c->sent == c->total) {
                struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[j].data.u32 };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    close(ep);
    return ok;
}

/* Raise RLIMIT_NOFILE's soft limit toward want; returns the new limit. */
E2E_FN rlim_t e2e_raise_nofile(rlim_t want)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

#endif
