/*
 * ctl.c — `tickd reload` and `tickd status`: the client of the control
 * socket (control.h has the protocol).
 *
 *     tickd reload [-c FILE] [--socket PATH] [--timeout DURATION]
 *     tickd status [-c FILE] [--socket PATH] [--timeout DURATION]
 *
 * The socket: --socket, else FILE's control_socket (read leniently: the
 * file may be the broken one we are about to be told about), else the
 * default (control.h). Exit status (sysexits.h):
 *     0   ok (the reload is in force; status printed)
 *     78  EX_CONFIG: the new configuration was rejected, nothing changed
 *     1   the new configuration is in force, but an instance failed to
 *         start (the others run; the failed one's error is printed)
 *     69  EX_UNAVAILABLE: no daemon answers (no socket, refused, turned
 *         off, the daemon stopping, or gone before it answered)
 *     75  EX_TEMPFAIL: no answer within the timeout (a reload may still
 *         finish: see the daemon's log)
 *     64  EX_USAGE
 * Errors go to stderr as one line; a rejected configuration's line is
 * the daemon's "FILE:LINE: message", with the <3> priority when stderr
 * is the journal (ExecReload= under systemd), as `tickd -t` prints it.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "control.h"
#include "log.h"
#include "tick/plugin.h"

struct lenient {
    bool in_daemon;
    bool have_socket;
    char socket[TICKD_CONTROL_PATH_MAX + 1];
    uint64_t stop_timeout;
};

/* [daemon] control_socket and stop_timeout of the main file; anything
 * else (and any error) is the daemon's business. */
static int lenient_handler(void *user, const char *section, const char *key,
                           const char *value)
{
    struct lenient *l = user;
    uint64_t ns;

    if (strcmp(section, "daemon") != 0)
        return 1;
    if (strcmp(key, "control_socket") == 0) {
        l->have_socket = true;
        if (!*value || strcasecmp(value, "no") == 0)
            l->socket[0] = '\0';
        else
            snprintf(l->socket, sizeof l->socket, "%s", value);
    } else if (strcmp(key, "stop_timeout") == 0 &&
               tick_parse_duration(value, &ns) == 0 && ns > 0) {
        l->stop_timeout = ns;
    }
    return 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ctl_usage(FILE *out, const char *cmd)
{
    fprintf(out, "usage: tickd %s [-c FILE] [--socket PATH] [--timeout DURATION]\n"
            "(tickd -h explains)\n", cmd);
}

/* Connect to path; the fd or -errno. A unix connect does not wait, except
 * for a full backlog: that waits until the deadline. */
static int ctl_connect(const char *path, int64_t deadline)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, err;

    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        err = errno;
        if (err == EINTR)
            continue;
        if (err == EAGAIN && now_ms() < deadline) {
            struct timespec ts = { 0, 20 * 1000000L };
            nanosleep(&ts, NULL);
            continue;
        }
        close(fd);
        return err == EAGAIN ? -ETIMEDOUT : -err;
    }
    return fd;
}

/* Wait for fd to be ready for events until deadline: 1, 0 on timeout,
 * -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = { .fd = fd, .events = events };
        int n;
        if (left <= 0)
            return 0;
        n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

int tickd_ctl_main(int argc, char **argv, const char *default_config)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "socket", required_argument, NULL, 'S' },
        { "timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cmd = argv[0], *config = default_config, *sock = NULL;
    struct lenient l = { .stop_timeout = TICKD_DEFAULT_STOP_TIMEOUT };
    bool reload = strcmp(cmd, "reload") == 0, from_env;
    uint64_t timeout = 0;
    char path[TICKD_CONTROL_PATH_MAX], req[16];
    char *buf = NULL;
    size_t cap = 0, len = 0, off = 0;
    int64_t deadline;
    int c, fd, rc = EX_UNAVAILABLE;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'S': sock = optarg; break;
        case 'T':
            if (tick_parse_duration(optarg, &timeout) < 0 || timeout == 0) {
                fprintf(stderr, "tickd %s: bad duration '%s' for --timeout "
                        "(use e.g. 500ms, 30s, 2m)\n", cmd, optarg);
                return EX_USAGE;
            }
            break;
        case 'h': ctl_usage(stdout, cmd); return 0;
        default: ctl_usage(stderr, cmd); return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tickd %s: unexpected argument '%s'\n", cmd, argv[optind]);
        ctl_usage(stderr, cmd);
        return EX_USAGE;
    }
    /* an unreadable or broken file: the defaults (the daemon judges it) */
    (void)ini_parse(config, lenient_handler, &l);
    if (sock) {
        if (!*sock || strlen(sock) >= sizeof path) {
            fprintf(stderr, "tickd %s: bad socket path '%s'\n", cmd, sock);
            return EX_USAGE;
        }
        snprintf(path, sizeof path, "%s", sock);
    } else if (!tickd_control_path(l.have_socket ? l.socket : NULL, path,
                                   sizeof path, &from_env)) {
        fprintf(stderr, "tickd %s: the control socket path is too long\n", cmd);
        return EX_USAGE;
    } else if (!path[0]) {
        fprintf(stderr, "tickd %s: the control socket is turned off in %s "
                "(control_socket = no)\n", cmd, config);
        return EX_UNAVAILABLE;
    }
    if (!timeout)
        timeout = reload ? 2 * l.stop_timeout + 10 * TICK_SEC : 10 * TICK_SEC;
    deadline = now_ms() + (int64_t)(timeout / TICK_MSEC);

    fd = ctl_connect(path, deadline);
    if (fd < 0) {
        fprintf(stderr, "tickd %s: no daemon answers on %s: %s\n", cmd, path,
                strerror(-fd));
        return fd == -ETIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE;
    }
    snprintf(req, sizeof req, "%s\n", cmd);
    for (size_t sent = 0; sent < strlen(req);) {
        ssize_t n = send(fd, req + sent, strlen(req) - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "tickd %s: sending to %s: %s\n", cmd, path,
                    n < 0 ? strerror(errno) : "nothing sent");
            close(fd);
            return EX_UNAVAILABLE;
        }
        sent += (size_t)n;
    }

    /* lines until the one that starts with "ok" or "error" */
    if (!(buf = tick__malloc(cap = 4096))) {
        fprintf(stderr, "tickd %s: out of memory\n", cmd);
        close(fd);
        return EX_OSERR;
    }
    for (;;) {
        char *nl;
        ssize_t n;
        while ((nl = memchr(buf + off, '\n', len - off))) {
            char *line = buf + off;
            const char *text;
            int st;
            *nl = '\0';
            off = (size_t)(nl - buf) + 1;
            st = tickd_ctl_reply_line(line, reload, &text);
            if (st == 0) {
                if (text)
                    printf("%s\n", text);
                rc = 0;
                goto out;
            }
            if (st > 0) {
                rc = st;
                tickd_log_check_error(text);
                goto out;
            }
            printf("%s\n", line);         /* a status line */
        }
        if (cap - len < 512) {
            char *nb;
            if (off) {
                memmove(buf, buf + off, len - off);
                len -= off;
                off = 0;
            }
            if (cap - len < 512) {
                nb = tick__realloc(buf, cap * 2);
                if (!nb) {
                    fprintf(stderr, "tickd %s: out of memory\n", cmd);
                    rc = EX_OSERR;
                    goto out;
                }
                buf = nb;
                cap *= 2;
            }
        }
        n = recv(fd, buf + len, cap - len - 1, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            int w = wait_fd(fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0) {
                fprintf(stderr, "tickd %s: no answer from %s within %llu ms%s\n",
                        cmd, path, (unsigned long long)(timeout / TICK_MSEC),
                        reload ? " (the reload may still finish: see the "
                        "daemon's log)" : "");
                rc = EX_TEMPFAIL;
                goto out;
            }
        }
        fprintf(stderr, "tickd %s: %s closed the connection without an answer%s%s\n",
                cmd, path, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
        rc = EX_UNAVAILABLE;
        goto out;
    }
out:
    fflush(stdout);
    free(buf);
    close(fd);
    return rc;
}
