/*
 * echo_load.c — the echo workload's load generator: N connections, each
 * sending one M-byte message, waiting for all M bytes back, and sending
 * again (ping-pong: one message in flight per connection). Single
 * threaded, epoll. After a warm-up it counts round trips for a fixed time
 * and reads the server's CPU time (utime+stime from /proc/PID/stat) at the
 * start and the end of that window.
 *
 * It busy-polls (epoll_wait timeout 0) unless -b 1 is given: it has a
 * core of its own, and a client that never sleeps answers every reply at
 * once, so the figures depend on the server, not on how long the
 * hypervisor takes to wake an idle client CPU (tens of microseconds on a
 * VM, which otherwise makes ping-pong rates swing by 2x from run to run).
 *
 * Usage:
 *   echo_load -a HOST:PORT [-n CONNS] [-m BYTES] [-d SECS] [-w SECS] [-p PID] [-b 0|1]
 *   echo_load --free-port      print a currently free loopback TCP port
 * Output, one line:
 *   rt=<round trips> secs=<window> rate=<rt/s> server_cpu_ns=<ns>
 *   cpu_per_rt=<ns> client_cpu=<fraction of one core> server_cpu=<fraction>
 *   sleeps_per_rt=<server voluntary context switches per round trip>
 *   server_rq_wait=<fraction of the window the server was runnable but
 *   waiting for its CPU> client_rq_wait=<the same for this process>
 * Exit status 0, or 1 with a message on stderr (connect timeout, server
 * closed a connection, data mismatch).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 4096

struct client {
    int fd;
    size_t got;             /* bytes of the reply received so far */
};

static char msg[MAX_MSG];
static size_t msg_len = 64;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        perror("echo_load: free port");
        return 1;
    }
    printf("%u\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

/* Server CPU time in ns (all threads), or -1 if unreadable. */
static long long proc_cpu_ns(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields resume after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (long long)((utime + stime) * (1000000000ull / (unsigned long long)hz));
}

/* One counter from a /proc/PID file of "name: value" lines, or -1: used
 * for the server's voluntary context switches (each one a blocking
 * epoll_wait that had to be woken up). (/proc/PID/io syscr would count
 * read() but not recv(), so syscalls are left to strace/perf.) */
static long long proc_counter(pid_t pid, const char *file, const char *name)
{
    char path[64], line[256];
    size_t len = strlen(name);
    long long v = -1;
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, name, len) && line[len] == ':') {
            v = atoll(line + len + 1);
            break;
        }
    fclose(f);
    return v;
}

/* Nanoseconds the thread (group leader) spent runnable but waiting for a
 * CPU, from /proc/PID/schedstat (field 2), or -1: the direct measure of
 * another process competing for the pinned core. */
static long long proc_rq_wait_ns(const char *pid)
{
    char path[64];
    unsigned long long run = 0, wait = 0;
    snprintf(path, sizeof path, "/proc/%s/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    return n == 2 ? (long long)wait : -1;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static int connect_retry(const struct sockaddr_in *sa, uint64_t deadline)
{
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
            return fd;
        int err = errno;
        close(fd);
        if (err != ECONNREFUSED || now_ns() > deadline) {
            errno = err;
            return -1;
        }
        usleep(20000);
    }
}

static int send_msg(struct client *c)
{
    size_t off = 0;
    /* 64 bytes into an empty socket buffer: one write; loop for safety */
    while (off < msg_len) {
        ssize_t n = write(c->fd, msg + off, msg_len - off);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        off += (size_t)n;
    }
    c->got = 0;
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    unsigned nconn = 50;
    double secs = 10, warm = 1;
    pid_t server = 0;
    int poll_ms = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--free-port"))
            return free_port();
        if (!v)
            goto usage;
        if (!strcmp(a, "-a"))
            addr = v;
        else if (!strcmp(a, "-n"))
            nconn = (unsigned)atoi(v);
        else if (!strcmp(a, "-m"))
            msg_len = (size_t)atoi(v);
        else if (!strcmp(a, "-d"))
            secs = atof(v);
        else if (!strcmp(a, "-w"))
            warm = atof(v);
        else if (!strcmp(a, "-p"))
            server = (pid_t)atoi(v);
        else if (!strcmp(a, "-b"))
            poll_ms = atoi(v) ? 100 : 0;
        else
            goto usage;
    }
    struct sockaddr_in sa;
    if (!addr || parse_addr(addr, &sa) < 0 || nconn < 1 || nconn > 10000 ||
        msg_len < 1 || msg_len > MAX_MSG || secs <= 0 || warm < 0)
        goto usage;
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < msg_len; i++)
        msg[i] = (char)('a' + i % 26);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct client *cs = calloc(nconn, sizeof *cs);
    if (ep < 0 || !cs) {
        perror("echo_load");
        return 1;
    }
    uint64_t deadline = now_ns() + 5000000000ull;
    for (unsigned i = 0; i < nconn; i++) {
        int fd = connect_retry(&sa, deadline);
        if (fd < 0) {
            fprintf(stderr, "echo_load: connect %s: %s\n", addr, strerror(errno));
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cs[i].fd = fd;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("echo_load: epoll_ctl");
            return 1;
        }
    }
    for (unsigned i = 0; i < nconn; i++)
        if (send_msg(&cs[i]) < 0) {
            perror("echo_load: write");
            return 1;
        }

    uint64_t start = now_ns(), t_begin = start + (uint64_t)(warm * 1e9);
    uint64_t t_end = t_begin + (uint64_t)(secs * 1e9);
    bool measuring = false;
    uint64_t rt = 0, rt0 = 0, m0 = 0, m1 = 0;
    long long cpu0 = -1, cpu1 = -1, sw0 = -1, sw1 = -1, sq0 = -1, sq1 = -1, cq0 = -1, cq1 = -1;
    char spid[24];
    snprintf(spid, sizeof spid, "%d", (int)server);
    double self0 = 0, self1 = 0;
    static char buf[MAX_MSG];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, poll_ms);
        if (n < 0 && errno != EINTR) {
            perror("echo_load: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, buf, msg_len - c->got);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                fprintf(stderr, "echo_load: server closed a connection (%s)\n",
                        r == 0 ? "EOF" : strerror(errno));
                return 1;
            }
            if (memcmp(buf, msg + c->got, (size_t)r) != 0) {
                fprintf(stderr, "echo_load: reply does not match what was sent\n");
                return 1;
            }
            c->got += (size_t)r;
            if (c->got == msg_len) {
                rt++;
                if (send_msg(c) < 0) {
                    perror("echo_load: write");
                    return 1;
                }
            }
        }
        uint64_t t = now_ns();
        if (!measuring && t >= t_begin) {
            measuring = true;
            rt0 = rt;
            m0 = t;
            if (server) {
                cpu0 = proc_cpu_ns(server);
                sw0 = proc_counter(server, "status", "voluntary_ctxt_switches");
                sq0 = proc_rq_wait_ns(spid);
            }
            cq0 = proc_rq_wait_ns("self");
            self0 = self_cpu_s();
        } else if (measuring && t >= t_end) {
            m1 = t;
            if (server) {
                cpu1 = proc_cpu_ns(server);
                sw1 = proc_counter(server, "status", "voluntary_ctxt_switches");
                sq1 = proc_rq_wait_ns(spid);
            }
            cq1 = proc_rq_wait_ns("self");
            self1 = self_cpu_s();
            break;
        }
    }
    uint64_t count = rt - rt0;
    double window = (double)(m1 - m0) * 1e-9;
    long long cpu = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    double per = count ? 1.0 / (double)count : 0;
    printf("rt=%llu secs=%.3f rate=%.0f server_cpu_ns=%lld cpu_per_rt=%.1f client_cpu=%.2f "
           "server_cpu=%.2f sleeps_per_rt=%.4f server_rq_wait=%.3f client_rq_wait=%.3f\n",
           (unsigned long long)count, window, (double)count / window, cpu,
           cpu >= 0 ? (double)cpu * per : -1.0, (self1 - self0) / window,
           cpu >= 0 ? (double)cpu * 1e-9 / window : -1.0,
           sw0 >= 0 && sw1 >= 0 ? (double)(sw1 - sw0) * per : -1.0,
           sq0 >= 0 && sq1 >= 0 ? (double)(sq1 - sq0) * 1e-9 / window : -1.0,
           cq0 >= 0 && cq1 >= 0 ? (double)(cq1 - cq0) * 1e-9 / window : -1.0);
    for (unsigned i = 0; i < nconn; i++)
        close(cs[i].fd);
    free(cs);
    close(ep);
    return 0;

usage:
    fprintf(stderr, "usage: echo_load -a HOST:PORT [-n CONNS] [-m BYTES] [-d SECS] "
                    "[-w SECS] [-p SERVER_PID] [-b 0|1] | --free-port\n");
    return 64;
}
