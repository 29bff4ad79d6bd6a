/*
 * sweep.c — find and signal a run's processes that left its process
 * group.
 *
 * The group kill reaches what stays in the job's group. A descendant that
 * calls setsid() (or setpgid()) leaves it, and the engine documents that
 * nothing reaches it then (tick/sys.h). No cgroup is ours in general, so
 * each run gets a marker in its environment (TICKD_EXEC_RUN=<tickd's
 * pid>-<job>-<run>), which every descendant inherits unless it clears its
 * environment; a sweep signals the processes whose /proc/PID/environ
 * holds it. Through a pidfd opened before the environment is read, so a
 * pid recycled in between is never signalled (the new process would not
 * have the marker, and the pidfd pins the one that was read).
 *
 * A full sweep reads every process's environ: done at a timeout (SIGTERM,
 * then SIGKILL) and when the instance stops. At the end of each run only
 * our own children are looked at (quick): a descendant outliving the run
 * was orphaned and re-parented to tickd, the subreaper; only if one of
 * them has the marker does a full sweep follow (it may have children).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exec.h"

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal_(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Does /proc/PID/environ hold token as one whole entry? */
static bool has_token(pid_t pid, const char *token, size_t tlen)
{
    static char buf[65536];      /* loop thread only; an environ is small */
    char path[48];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = '\0';
    for (size_t i = 0; i + tlen <= n;) {
        size_t l = strnlen(buf + i, n - i);
        if (l == tlen && memcmp(buf + i, token, tlen) == 0)
            return true;
        i += l + 1;
    }
    return false;
}

static bool signal_if_marked(pid_t pid, const char *token, size_t tlen, int sig)
{
    int pfd = pidfd_open_(pid);
    if (pfd < 0)
        return false;
    bool hit = has_token(pid, token, tlen);
    if (hit)
        pidfd_signal_(pfd, sig);
    close(pfd);
    return hit;
}

static unsigned sweep_all(const char *token, size_t tlen, int sig)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t self = getpid();
    unsigned n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid != self && signal_if_marked(pid, token, tlen, sig))
            n++;
    }
    closedir(d);
    return n;
}

/* Our children, from /proc/self/task/TID/children (every thread's: an
 * orphan goes to one of the subreaper's threads). false if the kernel
 * lacks the file (CONFIG_PROC_CHILDREN): the caller sweeps in full. */
static bool quick_hit(const char *token, size_t tlen, bool *hit)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    bool any_file = false;
    *hit = false;
    if (!d)
        return false;
    while (!*hit && (e = readdir(d))) {
        char path[300], buf[4096];
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        any_file = true;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        for (char *p = buf, *q; *p && !*hit; p = q) {
            long pid = strtol(p, &q, 10);
            if (q == p)
                break;
            if (pid > 0 && has_token((pid_t)pid, token, tlen))
                *hit = true;
        }
    }
    closedir(d);
    return any_file;
}

unsigned exec_sweep(const char *token, int sig, bool quick)
{
    size_t tlen = strlen(token);
    if (quick) {
        bool hit;
        if (quick_hit(token, tlen, &hit) && !hit)
            return 0;
    }
    /* twice: a process forking while it is signalled may leave a child
     * the first pass read before its parent's signal landed */
    unsigned n = sweep_all(token, tlen, sig);
    if (n && sig == SIGKILL)
        n += sweep_all(token, tlen, sig);
    return n;
}
