/*
 * notify.c — sd_notify without libsystemd (notify.h). The protocol is a
 * datagram of "KEY=VALUE" lines on a unix socket; writing it ourselves
 * keeps libsystemd and its dependencies out of the daemon's address space.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;
static uint64_t watchdog_usec;
static bool warned;

int tickd_notify_parse_watchdog_usec(const char *s, uint64_t *usec)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9)
            return -EINVAL;
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v == 0)
        return -EINVAL;
    if (v > TICKD_WATCHDOG_MAX_USEC)
        return -ERANGE;
    *usec = v;
    return 0;
}

uint64_t tickd_notify_watchdog_period(uint64_t usec)
{
    uint64_t ns = usec * 1000 / 2;   /* usec <= a year: no overflow */
    return ns < TICKD_WATCHDOG_MIN_PERIOD ? TICKD_WATCHDOG_MIN_PERIOD : ns;
}

int tickd_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    size_t len;
    int rc = 0;

    watchdog_usec = 0;
    /* WATCHDOG_PID, when set, names the process that must ping */
    if (usec && *usec && (!pid || !*pid || strtol(pid, NULL, 10) == (long)getpid())) {
        uint64_t v;
        int err = tickd_notify_parse_watchdog_usec(usec, &v);
        if (err == -EINVAL)
            tickd_log(TICK_LOG_WARNING, "ignoring WATCHDOG_USEC='%.40s': not a "
                      "positive decimal number of microseconds; not pinging the "
                      "watchdog", usec);
        else if (err < 0)
            tickd_log(TICK_LOG_WARNING, "ignoring WATCHDOG_USEC='%.40s': more than "
                      "a year (%llu us); not pinging the watchdog", usec,
                      (unsigned long long)TICKD_WATCHDOG_MAX_USEC);
        else {
            watchdog_usec = v;
            if (v * 1000 / 2 < TICKD_WATCHDOG_MIN_PERIOD)
                tickd_log(TICK_LOG_WARNING, "WATCHDOG_USEC=%llu is under 200 ms: "
                          "pinging every %llu ms (the floor), too late for it",
                          (unsigned long long)v,
                          (unsigned long long)(TICKD_WATCHDOG_MIN_PERIOD / 1000000));
        }
    }
    if (path && *path) {
        len = strlen(path);
        memset(&notify_addr, 0, sizeof notify_addr);
        notify_addr.sun_family = AF_UNIX;
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof notify_addr.sun_path) {
            tickd_log(TICK_LOG_WARNING, "NOTIFY_SOCKET '%s' is not a usable "
                      "socket address; not notifying systemd", path);
            rc = -EINVAL;
        } else {
            memcpy(notify_addr.sun_path, path, len);
            if (path[0] == '@')
                notify_addr.sun_path[0] = '\0';   /* abstract namespace */
            notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                         (path[0] == '@' ? 0 : 1));
            notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (notify_fd < 0) {
                rc = -errno;
                tickd_log(TICK_LOG_WARNING, "cannot create the notification "
                          "socket: %s", strerror(-rc));
            }
        }
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return rc;
}

void tickd_notify_close(void)
{
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
}

bool tickd_notify_enabled(void) { return notify_fd >= 0; }

uint64_t tickd_notify_watchdog_usec(void) { return watchdog_usec; }

int tickd_notify(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    ssize_t n;
    int len;

    if (notify_fd < 0)
        return 0;
    va_start(ap, fmt);
    len = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -EINVAL;
    if ((size_t)len >= sizeof msg)
        len = sizeof msg - 1;
    n = sendto(notify_fd, msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
               (const struct sockaddr *)&notify_addr, notify_addrlen);
    if (n < 0) {
        int rc = -errno;
        if (!warned)
            tickd_log(TICK_LOG_WARNING, "cannot notify systemd: %s "
                      "(further failures are not logged)", strerror(-rc));
        warned = true;
        return rc;
    }
    return 0;
}
