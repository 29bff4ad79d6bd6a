/*
 * e2e.h — helpers for the end-to-end tests of the real daemon.
 *
 * Each test file drives build/tickd as a child process:
 *   - $TICKD is the daemon, $TICK_PLUGINS the shipped plugins, $TICK_SRC
 *     the source tree; fixture plugins are in $TICK_PLUGINS/../tests/plugins
 *     (or $TICK_FIXTURES).
 *   - Every test works in its own mkdtemp directory inside one root
 *     directory that main() creates and removes, so a test killed by
 *     Check's timeout still leaves nothing behind.
 *   - The daemon gets a fake $NOTIFY_SOCKET (an AF_UNIX datagram socket
 *     bound in the test directory), stdout/stderr redirected to files in
 *     it, PR_SET_PDEATHSIG so it dies with the test, and stays in the
 *     test's process group so Check's timeout kill reaches it too. An
 *     atexit handler kills every daemon still running (a failed assertion
 *     exits the forked test process).
 *   - Everything waits with a deadline; loopback only.
 *
 * Run them with `make e2e` (sets the variables), or one binary by hand:
 *     TICKD=$PWD/build/tickd TICK_PLUGINS=$PWD/build/plugins \
 *     TICK_SRC=$PWD build/tests/e2e_test_reload
 * CK_FORK=no runs the tests in one process (for gdb or valgrind of the
 * test itself); fixture plugins are built by `make e2e`.
 */
#ifndef TICK_E2E_H
#define TICK_E2E_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define E2E_FN static __attribute__((unused))

/* snprintf that fails the test instead of truncating (and so keeps gcc's
 * -Wformat-truncation quiet: the result is used). */
#define E2E_FMT(buf, len, ...)                                              \
    do {                                                                    \
        int e2e_n_ = snprintf((buf), (len), __VA_ARGS__);                   \
        ck_assert_msg(e2e_n_ >= 0 && (size_t)e2e_n_ < (size_t)(len),        \
                      "string too long for its buffer");                    \
    } while (0)

#define EX_OK_ 0
#define EX_USAGE_ 64
#define EX_CONFIG_ 78

/* ---- environment ------------------------------------------------------ */

E2E_FN const char *e2e_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

E2E_FN const char *e2e_tickd(void) { return e2e_env("TICKD", "build/tickd"); }
E2E_FN const char *e2e_src(void) { return e2e_env("TICK_SRC", "."); }

/* Absolute, so the configs in the temp dirs can name them. */
E2E_FN const char *e2e_plugins(void)
{
    static char path[PATH_MAX];
    if (!path[0] && !realpath(e2e_env("TICK_PLUGINS", "build/plugins"), path))
        snprintf(path, sizeof path, "%s", e2e_env("TICK_PLUGINS", "build/plugins"));
    return path;
}

E2E_FN const char *e2e_fixtures(void)
{
    static char path[PATH_MAX];
    if (!path[0]) {
        const char *f = getenv("TICK_FIXTURES");
        char tmp[PATH_MAX];
        if (f && *f)
            snprintf(tmp, sizeof tmp, "%s", f);
        else if (snprintf(tmp, sizeof tmp, "%s/../tests/plugins", e2e_plugins()) >=
                 (int)sizeof tmp)
            ck_abort_msg("TICK_PLUGINS is too long");   /* and gcc sees it checked */
        if (!realpath(tmp, path))
            snprintf(path, sizeof path, "%s", tmp);
    }
    return path;
}

/* ---- time ------------------------------------------------------------- */

E2E_FN int64_t e2e_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

E2E_FN void e2e_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- files and directories --------------------------------------------- */

static char e2e_root[200];   /* created by main(), removed at its end */

E2E_FN void e2e_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                char sub[PATH_MAX];
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                e2e_rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh private directory for one test; its path in out. */
E2E_FN void e2e_mkdtemp(char *out, size_t len)
{
    const char *base = e2e_root[0] ? e2e_root : "/tmp";
    snprintf(out, len, "%s/t.XXXXXX", base);
    ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
    /* mkdtemp makes 0700; the daemon checks plugin dirs, not config dirs,
     * but keep it conventional */
    chmod(out, 0755);
}

/* Write a file (printf format); mode 0644. */
E2E_FN void e2e_write_file(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
E2E_FN void e2e_write_file(const char *path, const char *fmt, ...)
{
    /* write a sibling and rename: a reload never sees a half-written file */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_msg(f != NULL, "fopen %s: %s", tmp, strerror(errno));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", path, strerror(errno));
}

/* Whole file as a NUL-terminated malloc'd string ("" if missing). */
E2E_FN char *e2e_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    if (f) {
        size_t n;
        while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
            len += n;
            if (cap - len < 2) {
                cap *= 2;
                buf = realloc(buf, cap);
                ck_assert_ptr_nonnull(buf);
            }
        }
        fclose(f);
    }
    buf[len] = '\0';
    return buf;
}

E2E_FN bool e2e_file_contains(const char *path, const char *needle)
{
    char *s = e2e_read_file(path);
    bool found = strstr(s, needle) != NULL;
    free(s);
    return found;
}

E2E_FN int e2e_count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

E2E_FN void e2e_copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(in >= 0, "open %s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(out >= 0, "open %s: %s", to, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    ck_assert_int_eq(n, 0);
    close(in);
    close(out);
    ck_assert_int_eq(chmod(to, mode), 0);   /* exact, whatever the umask */
}

/* ---- networking --------------------------------------------------------- */

/* A loopback port that was free a moment ago (bind 0, read, close). Two
 * calls in a row differ: the kernel hands out ephemeral ports in turn. */
E2E_FN uint16_t e2e_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Blocking connect to 127.0.0.1:port with 5 s send/receive timeouts.
 * Returns the fd or -errno. */
E2E_FN int e2e_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Send msg and read the same bytes back (5 s timeouts). true if they match. */
E2E_FN bool e2e_echo_roundtrip(int fd, const char *msg)
{
    size_t len = strlen(msg), got = 0;
    char buf[4096];
    if (len > sizeof buf || send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
        return false;
    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return memcmp(buf, msg, len) == 0;
}

/* true when the peer closed fd (EOF or reset) within timeout_ms. */
E2E_FN bool e2e_wait_closed(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN);
}

/* ---- the daemon --------------------------------------------------------- */

#define E2E_NOTES_MAX 16384
#define E2E_MAX_ENV 4

typedef struct e2e_daemon {
    char dir[256];               /* private temp dir */
    char conf[PATH_MAX];         /* dir/tickd.ini */
    char out[PATH_MAX];          /* dir/stdout */
    char err[PATH_MAX];          /* dir/stderr */
    char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int notify_fd;               /* our end of $NOTIFY_SOCKET, or -1 */
    pid_t pid;                   /* 0 when not running */
    int status;                  /* wait status once reaped */
    char notes[E2E_NOTES_MAX];   /* every notify datagram, "\n"-joined */
    size_t notes_len;
    size_t notes_seen;           /* e2e_wait_note() search start */
    char notify_env[128];        /* $NOTIFY_SOCKET override ("@abstract") */
    char *env[E2E_MAX_ENV];      /* extra "NAME=value" for the daemon */
    /* fake socket activation: these fds become 3, 4, ... in the daemon,
     * with LISTEN_FDS, LISTEN_PID (the daemon's own pid) and, if set,
     * LISTEN_FDNAMES, as systemd passes them */
    int listen_fds[8];
    int nlisten_fds;
    char listen_fdnames[256];
} e2e_daemon;

#define E2E_MAX_DAEMONS 8
static e2e_daemon *e2e_daemons[E2E_MAX_DAEMONS];

E2E_FN void e2e_daemon_forget(e2e_daemon *d)
{
    for (int i = 0; i < E2E_MAX_DAEMONS; i++)
        if (e2e_daemons[i] == d)
            e2e_daemons[i] = NULL;
}

/* Kill and reap whatever is still running: a failed assertion exits the
 * forked test process through exit(), which runs this. */
E2E_FN void e2e_atexit(void)
{
    for (int i = 0; i < E2E_MAX_DAEMONS; i++) {
        e2e_daemon *d = e2e_daemons[i];
        if (!d)
            continue;
        if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
            d->pid = 0;
        }
        if (d->notify_fd >= 0)
            close(d->notify_fd);
        d->notify_fd = -1;
        e2e_daemons[i] = NULL;
    }
}

/*
 * Prepare d: a temp dir with the config path, output files and a bound
 * notify socket. The config itself is written by the test (e2e_config).
 */
E2E_FN void e2e_daemon_init(e2e_daemon *d)
{
    static bool registered;
    if (!registered) {
        atexit(e2e_atexit);
        registered = true;
    }
    memset(d, 0, sizeof *d);
    d->notify_fd = -1;
    e2e_mkdtemp(d->dir, sizeof d->dir);
    snprintf(d->conf, sizeof d->conf, "%s/tickd.ini", d->dir);
    snprintf(d->out, sizeof d->out, "%s/stdout", d->dir);
    snprintf(d->err, sizeof d->err, "%s/stderr", d->dir);
    int n = snprintf(d->notify_path, sizeof d->notify_path, "%s/notify", d->dir);
    ck_assert_msg(n > 0 && (size_t)n < sizeof d->notify_path,
                  "temp dir path too long for a unix socket: %s", d->dir);

    d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(d->notify_fd, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, d->notify_path, strlen(d->notify_path) + 1);
    ck_assert_msg(bind(d->notify_fd, (struct sockaddr *)&sa, sizeof sa) == 0,
                  "bind %s: %s", d->notify_path, strerror(errno));

    for (int i = 0; i < E2E_MAX_DAEMONS; i++)
        if (!e2e_daemons[i]) {
            e2e_daemons[i] = d;
            return;
        }
    ck_abort_msg("too many daemons in one test");
}

/* Write the config file (printf format; pass e2e_plugins() or
 * e2e_fixtures() for plugin_dir). Atomic: a reload never reads half. */
#define e2e_config(d, ...) e2e_write_file((d)->conf, __VA_ARGS__)

/*
 * fork + exec argv (full, NULL-terminated; argv[0] a path). notify: pass
 * $NOTIFY_SOCKET (d->notify_env if set, else d->notify_path).
 * Stdout/stderr go to d->out/d->err (appended: restarts keep the history).
 */
E2E_FN void e2e_spawn_argv(e2e_daemon *d, bool notify, const char *const *argv)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Child: die with the test, own nothing of the test's fds. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open(d->out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int err = open(d->err, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        /* passed sockets to 3.. (via high numbers: they may sit there) */
        int high[8];
        for (int i = 0; i < d->nlisten_fds; i++)
            if ((high[i] = fcntl(d->listen_fds[i], F_DUPFD, 200)) < 0)
                _exit(127);
        for (int i = 0; i < d->nlisten_fds; i++)
            if (dup2(high[i], 3 + i) < 0)
                _exit(127);
        syscall(SYS_close_range, 3U + (unsigned)d->nlisten_fds, ~0U, 0U);
        /* default signal dispositions and mask, as systemd gives */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        unsetenv("JOURNAL_STREAM");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("RUNTIME_DIRECTORY");   /* the control socket's default */
        unsetenv("LISTEN_FDNAMES");
        if (d->nlisten_fds > 0) {
            char v[32];
            snprintf(v, sizeof v, "%d", d->nlisten_fds);
            setenv("LISTEN_FDS", v, 1);
            snprintf(v, sizeof v, "%d", (int)getpid());   /* exec keeps it */
            setenv("LISTEN_PID", v, 1);
            if (d->listen_fdnames[0])
                setenv("LISTEN_FDNAMES", d->listen_fdnames, 1);
        }
        if (notify)
            setenv("NOTIFY_SOCKET", d->notify_env[0] ? d->notify_env : d->notify_path, 1);
        for (int i = 0; i < E2E_MAX_ENV && d->env[i]; i++)
            putenv(d->env[i]);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "e2e: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    d->pid = pid;
    d->status = 0;
}

/* Run $TICKD with args (argv[0] excluded). */
E2E_FN void e2e_spawn(e2e_daemon *d, bool notify, const char *const *args)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = e2e_tickd();
    for (; args && *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    e2e_spawn_argv(d, notify, argv);
}

/* Drain pending notify datagrams into d->notes. */
E2E_FN void e2e_notes_drain(e2e_daemon *d)
{
    char buf[4096];
    ssize_t n;
    while (d->notify_fd >= 0 &&
           (n = recv(d->notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
        buf[n] = '\0';
        int w = snprintf(d->notes + d->notes_len, sizeof d->notes - d->notes_len,
                         "%s\n", buf);
        if (w > 0 && (size_t)w < sizeof d->notes - d->notes_len)
            d->notes_len += (size_t)w;
    }
}

/* Has the daemon exited? Reaps it (status in d->status). */
E2E_FN bool e2e_exited(e2e_daemon *d)
{
    if (d->pid <= 0)
        return true;
    int st;
    pid_t r = waitpid(d->pid, &st, WNOHANG);
    if (r == d->pid) {
        d->status = st;
        d->pid = 0;
        return true;
    }
    return false;
}

/*
 * Wait until a notify line equal to `line` (e.g. "READY=1") arrives after
 * the previous match; true if it did within timeout_ms. Returns early
 * (false) when the daemon exits.
 */
E2E_FN bool e2e_wait_note(e2e_daemon *d, const char *line, int timeout_ms)
{
    int64_t end = e2e_now_ms() + timeout_ms;
    size_t ll = strlen(line);
    for (;;) {
        bool gone = d->pid <= 0 || e2e_exited(d);
        e2e_notes_drain(d);
        /* the whole line, after the previous match */
        for (char *p = d->notes + d->notes_seen; (p = strstr(p, line)); p++) {
            bool start = p == d->notes || p[-1] == '\n';
            if (start && p[ll] == '\n') {
                d->notes_seen = (size_t)(p - d->notes) + ll + 1;
                return true;
            }
        }
        int64_t left = end - e2e_now_ms();
        if (left <= 0 || gone)
            return false;
        struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };
        poll(&p, 1, left > 50 ? 50 : (int)left);
    }
}

/* Wait for text in the daemon's stderr. */
E2E_FN bool e2e_wait_log(e2e_daemon *d, const char *needle, int timeout_ms)
{
    int64_t end = e2e_now_ms() + timeout_ms;
    for (;;) {
        if (e2e_file_contains(d->err, needle))
            return true;
        if (e2e_now_ms() >= end || (d->pid <= 0 || e2e_exited(d)))
            return e2e_file_contains(d->err, needle);
        e2e_sleep_ms(20);
    }
}

/* Start `tickd -c CONF` and wait for READY=1 (fails the test otherwise,
 * showing the daemon's stderr). */
E2E_FN void e2e_start(e2e_daemon *d)
{
    const char *args[] = { "-c", d->conf, NULL };
    e2e_spawn(d, true, args);
    if (!e2e_wait_note(d, "READY=1", 10000)) {
        char *log = e2e_read_file(d->err);
        ck_abort_msg("tickd not ready in 10 s (%s); stderr:\n%s",
                     d->pid > 0 ? "still running" : "exited", log);
    }
}

/* Wait for the daemon to exit; the wait status, or -ETIMEDOUT. */
E2E_FN int e2e_wait_exit(e2e_daemon *d, int timeout_ms)
{
    int64_t end = e2e_now_ms() + timeout_ms;
    while (!e2e_exited(d)) {
        if (e2e_now_ms() >= end)
            return -ETIMEDOUT;
        e2e_sleep_ms(5);
    }
    return d->status;
}

E2E_FN void e2e_signal(e2e_daemon *d, int sig)
{
    ck_assert_msg(d->pid > 0, "tickd is not running");
    ck_assert_int_eq(kill(d->pid, sig), 0);
}

/* SIGHUP and wait for the RELOADING=1 ... READY=1 pair. */
E2E_FN void e2e_reload(e2e_daemon *d)
{
    e2e_signal(d, SIGHUP);
    ck_assert_msg(e2e_wait_note(d, "RELOADING=1", 5000), "no RELOADING=1");
    ck_assert_msg(e2e_wait_note(d, "READY=1", 5000), "no READY=1 after reload");
}

/* SIGTERM, expect exit 0 within timeout_ms; then release d. */
E2E_FN void e2e_stop(e2e_daemon *d, int timeout_ms)
{
    if (d->pid > 0) {
        e2e_signal(d, SIGTERM);
        int st = e2e_wait_exit(d, timeout_ms);
        if (st == -ETIMEDOUT) {
            kill(d->pid, SIGKILL);
            e2e_wait_exit(d, 5000);
            ck_abort_msg("tickd did not exit within %d ms of SIGTERM", timeout_ms);
        }
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "tickd exit status 0x%x after SIGTERM; stderr:\n%s",
                      st, e2e_read_file(d->err));
    }
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->notify_fd = -1;
    e2e_daemon_forget(d);
}

/* Kill without checks (for tests that expect trouble). */
E2E_FN void e2e_kill(e2e_daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        e2e_wait_exit(d, 5000);
    }
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->notify_fd = -1;
    e2e_daemon_forget(d);
}

/*
 * Run tickd with args to completion (no notify socket), stdout/stderr in
 * d->out/d->err. Returns the exit code (or 128+signal); fails on timeout.
 */
E2E_FN int e2e_run(e2e_daemon *d, const char *const *args, int timeout_ms)
{
    unlink(d->out);
    unlink(d->err);
    e2e_spawn(d, false, args);
    int st = e2e_wait_exit(d, timeout_ms);
    if (st == -ETIMEDOUT) {
        kill(d->pid, SIGKILL);
        e2e_wait_exit(d, 5000);
        ck_abort_msg("tickd did not finish within %d ms", timeout_ms);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Number of open fds of a process. */
E2E_FN int e2e_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    ck_assert_msg(dir != NULL, "opendir %s: %s", path, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* ---- main ----------------------------------------------------------------- */

/* main() for an e2e file: one root temp dir for all tests, removed at the
 * end whatever happened to the tests (they run in forked children). */
#define E2E_MAIN(make_suite)                                                \
    int main(void)                                                          \
    {                                                                       \
        signal(SIGPIPE, SIG_IGN);                                           \
        snprintf(e2e_root, sizeof e2e_root, "%s/tickd-e2e.XXXXXX",         \
                 e2e_env("TMPDIR", "/tmp"));                                \
        if (!mkdtemp(e2e_root)) {                                           \
            perror("mkdtemp");                                              \
            return EXIT_FAILURE;                                            \
        }                                                                   \
        SRunner *sr = srunner_create(make_suite());                         \
        srunner_run_all(sr, CK_NORMAL);                                     \
        int failed = srunner_ntests_failed(sr);                             \
        srunner_free(sr);                                                   \
        e2e_rm_rf(e2e_root);                                                \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                        \
    }

#endif
