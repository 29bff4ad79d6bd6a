/*
 * raw_resp.c — the physical floor for the RESP workload: the smallest
 * honest single-threaded epoll RESP responder. Level-triggered; per
 * readable event one read(), every complete command in the buffer
 * answered into one output buffer, one write(). Commands: PING (inline
 * and multibulk), GET and SET on a fixed-size open-addressing table
 * (keys and values up to 64 bytes, copied in place: no allocation),
 * CONFIG GET (an empty reply, for redis-benchmark); anything else gets
 * an error. A short write keeps the rest and waits for EPOLLOUT.
 *
 * Usage: raw_resp HOST:PORT   (runs until killed)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE 65536
#define OUT_SIZE 131072
#define SLOTS (1u << 20)
#define ITEM 64

struct slot { uint8_t kl, vl; char k[ITEM], v[ITEM]; };
static struct slot *table;

struct conn {
    int fd;
    size_t in_len, out_off, out_len;
    char in[IN_SIZE], out[OUT_SIZE];
};

static int ep;

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    long port = strtol(colon + 1, NULL, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static uint32_t hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static struct slot *find(const char *k, size_t kl, int create)
{
    for (uint32_t i = hash(k, kl) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
        struct slot *s = &table[i];
        if (s->kl == kl && memcmp(s->k, k, kl) == 0)
            return s;
        if (!s->kl) {
            if (!create)
                return NULL;
            s->kl = (uint8_t)kl;
            memcpy(s->k, k, kl);
            return s;
        }
    }
}

static void out(struct conn *c, const void *p, size_t n)
{
    if (c->out_len + n <= OUT_SIZE) {
        memcpy(c->out + c->out_len, p, n);
        c->out_len += n;
    }
}

static long num(const char *p, const char *end, const char **next)
{
    long v = 0;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    *next = p;
    return v;
}

/* One command at in[off..]: its length, 0 if incomplete, -1 bad. */
static long command(struct conn *c, size_t off)
{
    const char *p = c->in + off, *end = c->in + c->in_len, *q;
    const char *argv[8];
    size_t len[8];
    if (*p != '*') {                                  /* inline: PING */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
        out(c, "+PONG\r\n", 7);
        return nl + 1 - p;
    }
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    if (!cr || cr + 2 > end)
        return 0;
    long n = num(p + 1, cr, &q);
    if (n < 1 || n > 8)
        return -1;
    p = cr + 2;
    for (long i = 0; i < n; i++) {
        if (p >= end)
            return 0;
        cr = memchr(p, '\r', (size_t)(end - p));
        if (!cr || cr + 2 > end)
            return 0;
        long bl = num(p + 1, cr, &q);
        p = cr + 2;
        if (end - p < bl + 2)
            return 0;
        argv[i] = p;
        len[i] = (size_t)bl;
        p += bl + 2;
    }
    if (len[0] == 4 && strncasecmp(argv[0], "PING", 4) == 0) {
        out(c, "+PONG\r\n", 7);
    } else if (len[0] == 3 && strncasecmp(argv[0], "GET", 3) == 0 && n == 2 && len[1] <= ITEM) {
        struct slot *s = find(argv[1], len[1], 0);
        if (!s) {
            out(c, "$-1\r\n", 5);
        } else {
            char h[16];
            int hl = snprintf(h, sizeof h, "$%u\r\n", s->vl);
            out(c, h, (size_t)hl);
            out(c, s->v, s->vl);
            out(c, "\r\n", 2);
        }
    } else if (len[0] == 3 && strncasecmp(argv[0], "SET", 3) == 0 && n == 3 &&
               len[1] <= ITEM && len[2] <= ITEM) {
        struct slot *s = find(argv[1], len[1], 1);
        s->vl = (uint8_t)len[2];
        memcpy(s->v, argv[2], len[2]);
        out(c, "+OK\r\n", 5);
    } else if (len[0] == 6 && strncasecmp(argv[0], "CONFIG", 6) == 0) {
        out(c, "*0\r\n", 4);
    } else {
        out(c, "-ERR unknown command\r\n", 22);
    }
    return p - (c->in + off);
}

static void conn_close(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void set_events(struct conn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) {
            if (errno == EAGAIN)
                return 1;
            return -1;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

static void on_event(struct conn *c, uint32_t events)
{
    if (events & EPOLLOUT) {
        int rc = flush_out(c);
        if (rc < 0) {
            conn_close(c);
            return;
        }
        if (rc == 0)
            set_events(c, EPOLLIN);
        return;
    }
    ssize_t r = read(c->fd, c->in + c->in_len, IN_SIZE - c->in_len);
    if (r <= 0) {
        if (r < 0 && errno == EAGAIN)
            return;
        conn_close(c);
        return;
    }
    c->in_len += (size_t)r;
    size_t off = 0;
    for (;;) {
        if (off >= c->in_len)
            break;
        long n = command(c, off);
        if (n < 0) {
            conn_close(c);
            return;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    int rc = flush_out(c);
    if (rc < 0)
        conn_close(c);
    else if (rc > 0)
        set_events(c, EPOLLOUT);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    if (argc != 2 || parse_addr(argv[1], &sa) < 0) {
        fprintf(stderr, "usage: raw_resp HOST:PORT\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    table = calloc(SLOTS, sizeof *table);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!table || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1024) < 0) {
        perror("raw_resp");
        return 71;
    }
    ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct conn *c = malloc(sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    c->in_len = c->out_off = c->out_len = 0;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            on_event(evs[i].data.ptr, evs[i].events);
        }
    }
}
