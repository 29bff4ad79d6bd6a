/* test_daemon_oom_walk.c — allocation failure injected on every daemon
 * path (part 2 of the OOM walk; test_oom_walk.c walks the engine's).
 *
 * The daemon runs in-process (tickd_run(), run.c), one forked child per
 * run, with the n-th allocation of the engine and the daemon failing
 * (alloc.h), for n = 1, 2, ... until a run completes without reaching
 * the injected failure. Paths: start-up; a reload that adds, changes
 * (in place and by restart) and removes instances; accepting and serving
 * an echo round trip over loopback, an HTTP request and a /metrics scrape
 * (the http plugin) and a control `status`; and each of them with a SIGHUP and
 * with a SIGTERM arriving during it. The daemon's test hook
 * (daemon.h) drives each path from the loop thread; signals come from
 * raise()/kill() and are read through the loop's signalfd, as in tickd.
 *
 * Every run must end in a completed operation or a clean error: an exit
 * status of 0, 70, 71 or 78 (not 0: with an error logged); with nothing injected, 0 and the path's
 * work done (the echo and http answered, the reload's verdicts given). Never a
 * hang (the parent kills a child after a deadline and names n and the
 * path), a lost signal (that is a hang here: the run ends only by the
 * SIGTERM), a loop that did not close, an fd left open, or a leak
 * (LeakSanitizer in the child, under make SAN=1). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "alloc.h"
#include "daemon.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define WALK_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WALK_LSAN 1
#endif
#endif
#ifdef WALK_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#ifndef TICK_TEST_PLUGIN_DIR
#define TICK_TEST_PLUGIN_DIR "build/plugins"
#endif

#define RUN_DEADLINE_MS 15000      /* a run longer than this is a hang */
#define MAX_N 5000

enum path { P_START, P_RELOAD, P_SERVE };
enum variant { V_PLAIN, V_HUP, V_TERM };
static const char *const path_names[] = { "start-up", "reload", "accept+serve" };
static const char *const variant_names[] = { "", " + SIGHUP", " + SIGTERM" };

/* child exit statuses */
enum {
    ST_DONE = 0,          /* completed, the failure not reached */
    ST_DONE_INJECTED,     /* completed although the failure was hit */
    ST_ERROR_INJECTED,    /* a clean error after the failure */
    ST_BAD_EXIT = 10,     /* an exit status that is not a clean one */
    ST_NOT_CLOSED,        /* the loop did not close */
    ST_FD_LEAK,
    ST_LEAK,
    ST_WORK_UNDONE,       /* nothing injected, yet the path's work failed */
    ST_SETUP,
    ST_SILENT,            /* a failed exit with no error logged */
};

static char dir[256], plugin_dir[300], cfg_path[300], new_path[300], sock_path[300], log_path[300];
static int echo_port, st_port, http_port;

/* ---- the child: the daemon and its driver ---------------------------- */

static enum path cur_path;
static enum variant cur_variant;
static unsigned long cur_n;
static int verdicts, verdicts_failed, reload_begins;
static volatile int echo_ok;      /* written by the client thread */
static volatile int ctl_ok;
static volatile int http_ok;     /* GET / and GET /metrics answered */
static pthread_t client;
static bool client_started;

/* A `status` over the control socket (the daemon's own server): true
 * when the answer ends with its "ok" line. */
static int control_status(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 2 };
    char buf[4096];
    size_t got = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;

    if (fd < 0)
        return 0;
    if (strlen(sock_path) >= sizeof a.sun_path) {
        close(fd);
        return 0;
    }
    memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        send(fd, "status\n", 7, MSG_NOSIGNAL) == 7) {
        while (got < sizeof buf - 1) {
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            if ((ok = got >= 3 && strcmp(buf + got - 3, "ok\n") == 0) ||
                (strncmp(buf, "error", 5) == 0 && strchr(buf, '\n')))
                break;
        }
    }
    close(fd);
    return ok;
}

/* One HTTP/1.0 request (the server closes after it): the reply, up to
 * cap - 1 bytes, NUL-terminated; its length, or 0. */
static size_t http_get(const char *req, char *out, size_t cap)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)http_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 2 };
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
        ssize_t r;
        while (got < cap - 1 && (r = recv(fd, out + got, cap - 1 - got, 0)) > 0)
            got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    return got;
}

static void *client_main(void *arg)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)echo_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 2 };
    char buf[16];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    (void)arg;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            send(fd, "hello\n", 6, MSG_NOSIGNAL) == 6) {
            if (cur_variant == V_HUP)
                kill(getpid(), SIGHUP);
            else if (cur_variant == V_TERM)
                kill(getpid(), SIGTERM);
            while (got < 6) {
                ssize_t r = recv(fd, buf + got, 6 - got, 0);
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            echo_ok = got == 6 && memcmp(buf, "hello\n", 6) == 0;
        }
        close(fd);
    }
    {
        static char reply[1 << 16];
        http_ok = http_get("GET / HTTP/1.0\r\n\r\n", reply, sizeof reply) &&
                  strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(reply, "\r\n\r\nhi");
        http_ok = http_ok && http_get("GET /metrics HTTP/1.0\r\n\r\n", reply, sizeof reply) &&
                  strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
                  strstr(reply, "\nprocess_open_fds ");
    }
    ctl_ok = control_status();
    kill(getpid(), SIGTERM);
    return NULL;
}

static void hook(struct tickd *d, enum tickd_test_event ev, bool ok)
{
    (void)d;
    switch (ev) {
    case TICKD_TEST_READY:
        if (cur_path == P_START) {
            if (cur_variant != V_TERM)   /* V_TERM: raised before start-up */
                raise(cur_variant == V_HUP ? SIGHUP : SIGTERM);
        } else if (cur_path == P_RELOAD) {
            if (rename(new_path, cfg_path) < 0)
                _exit(ST_SETUP);
            tick_test_fail_alloc_after(cur_n);
            raise(SIGHUP);
        } else {
            tick_test_fail_alloc_after(cur_n);
            /* the thread is not the engine's: it allocates nothing of ours */
            client_started = pthread_create(&client, NULL, client_main, NULL) == 0;
            if (!client_started)
                _exit(ST_SETUP);
        }
        break;
    case TICKD_TEST_RELOAD_BEGIN:
        if (reload_begins++ == 0 && cur_path == P_RELOAD && cur_variant != V_PLAIN)
            raise(cur_variant == V_HUP ? SIGHUP : SIGTERM);
        break;
    case TICKD_TEST_RELOADED:
        verdicts++;
        if (!ok)
            verdicts_failed++;
        /* start-up + SIGHUP: the reload it asked for; reload + SIGHUP: the
         * second reload; serve + SIGHUP: the client ends the run */
        if (cur_path == P_START || (cur_path == P_RELOAD && verdicts >= 1 + (cur_variant == V_HUP)))
            raise(SIGTERM);
        break;
    }
}

static int count_fds(void)
{
    DIR *dd = opendir("/proc/self/fd");
    int n = 0;
    if (!dd)
        return -1;
    while (readdir(dd))
        n++;
    closedir(dd);
    return n;
}

/* Whether the daemon's log (this child's stderr) has an error line. */
static bool logged_error(void)
{
    char line[1024];
    bool found = false;
    FILE *f;

    tickd_log_flush();
    fflush(stderr);
    if (!(f = fopen(log_path, "r")))
        return false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "error: ") != NULL;
    fclose(f);
    return found;
}

static int child_run(void)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
    char *argv[] = { "tickd", "-c", cfg_path, NULL };
    sigset_t mask;
    int fds, rc, logfd;
    bool injected;

    logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0 || dup2(logfd, 2) < 0)
        return ST_SETUP;
    close(logfd);
    /* as main() does before the loop runs: signals wait for the signalfd */
    sigemptyset(&mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&mask, sigs[i]);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    tickd_test_hook = hook;
    fds = count_fds();
    if (cur_path == P_START) {
        if (cur_variant == V_HUP)
            raise(SIGHUP);
        else if (cur_variant == V_TERM)
            raise(SIGTERM);
        tick_test_fail_alloc_after(cur_n);
    }
    rc = tickd_run(3, argv);
    injected = cur_n && tick_test_alloc_pending() == 0;
    tick_test_fail_alloc_after(0);
    if (client_started)
        pthread_join(client, NULL);
    fprintf(stderr, "walk child: n=%lu exit %d injected %d verdicts %d (%d failed) echo %d "
            "http %d control %d close %d\n", cur_n, rc, injected, verdicts, verdicts_failed,
            echo_ok, http_ok, ctl_ok, tickd_main.close_rc);
    if (rc != 0 && rc != 70 && rc != 71 && rc != 78)
        return ST_BAD_EXIT;
    if (rc != 0 && !logged_error())
        return ST_SILENT;
    if (tickd_main.close_rc != 0)
        return ST_NOT_CLOSED;
    if (count_fds() != fds) {
        fprintf(stderr, "walk child: %d fds before, %d after\n", fds, count_fds());
        return ST_FD_LEAK;
    }
#ifdef WALK_LSAN
    if (__lsan_do_recoverable_leak_check())
        return ST_LEAK;
#endif
    if (!injected) {
        if (rc != 0)
            return ST_BAD_EXIT;
        /* (a SIGTERM mid-exchange may cancel the echo before it answers) */
        if (cur_path == P_SERVE && cur_variant != V_TERM && (!echo_ok || !ctl_ok || !http_ok))
            return ST_WORK_UNDONE;
        /* every reload ends in a verdict; a SIGTERM during it may make
         * that "not reloaded" */
        if ((cur_path == P_RELOAD || (cur_path == P_START && cur_variant == V_HUP)) &&
            (!verdicts || (verdicts_failed && cur_variant != V_TERM)))
            return ST_WORK_UNDONE;
        return ST_DONE;
    }
    /* still running, but the path's work reported an error: a reload
     * rejected or one of its starts failed (logged, and kept in STATUS=),
     * the echo client refused or hung up on */
    if (rc == 0 && cur_path == P_RELOAD && (verdicts_failed || tickd_main.reload_error[0]))
        return ST_ERROR_INJECTED;
    if (rc == 0 && cur_path == P_SERVE && cur_variant != V_TERM &&
        (!echo_ok || !ctl_ok || !http_ok))
        return ST_ERROR_INJECTED;
    return rc == 0 ? ST_DONE_INJECTED : ST_ERROR_INJECTED;
}

/* ---- the parent ------------------------------------------------------ */

static void write_file(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[daemon]\nplugin_dir = %s\ncontrol_socket = %s\nstop_timeout = 1s\n"
            "log_level = debug\n%s", plugin_dir, sock_path, body);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_configs(void)
{
    char body[1024];

    snprintf(body, sizeof body,
             "[plugin:echo]\nmodule = echo\nlisten = 127.0.0.1:%d\nmax_clients = 4\n"
             "[plugin:hb]\nmodule = heartbeat\ninterval = 1s\nmessage = one\n"
             "[plugin:gone]\nmodule = heartbeat\ninterval = 1s\n"
             "[plugin:st]\nmodule = stateful\nlisten = 127.0.0.1:%d\n"
             "label = a\n"
             "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%d\nroute = / 200 text/plain hi\n",
             echo_port, st_port, http_port);
    write_file(cfg_path, body);
    /* echo changed in place, hb changed, gone removed, added added, st
     * (stateful) stopped before its successor starts */
    snprintf(body, sizeof body,
             "[plugin:echo]\nmodule = echo\nlisten = 127.0.0.1:%d\nmax_clients = 8\n"
             "[plugin:hb]\nmodule = heartbeat\ninterval = 2s\nmessage = two\n"
             "[plugin:added]\nmodule = heartbeat\ninterval = 1s\n"
             "[plugin:st]\nmodule = stateful\nlisten = 127.0.0.1:%d\n"
             "label = b\n"
             "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%d\nroute = / 200 text/plain hi\n",
             echo_port, st_port, http_port);
    write_file(new_path, body);
}

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* from/name.so into plugin_dir, mode 0755 (StrictModes) */
static void copy_plugin(const char *from, const char *name)
{
    char src[512], dst[512], buf[65536];
    ssize_t r;
    int in, out;

    snprintf(src, sizeof src, "%s/%s.so", from, name);
    snprintf(dst, sizeof dst, "%s/%s.so", plugin_dir, name);
    in = open(src, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(in >= 0, "%s: %s", src, strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    ck_assert_int_ge(out, 0);
    while ((r = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)r), r);
    ck_assert_int_eq(r, 0);
    close(in);
    ck_assert_int_eq(fchmod(out, 0755), 0);
    close(out);
}

static void setup_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/tickd-oomwalk-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg_path, sizeof cfg_path, "%s/tickd.ini", dir);
    snprintf(new_path, sizeof new_path, "%s/new.ini", dir);
    snprintf(sock_path, sizeof sock_path, "%s/control", dir);
    snprintf(log_path, sizeof log_path, "%s/run.log", dir);
    /* the shipped echo and heartbeat, and the stateful fixture, in a
     * directory of their own: plugin_dir is one directory */
    snprintf(plugin_dir, sizeof plugin_dir, "%s/plugins", dir);
    ck_assert_int_eq(mkdir(plugin_dir, 0755), 0);
    ck_assert_int_eq(chmod(plugin_dir, 0755), 0);
    copy_plugin(TICK_TEST_PLUGIN_DIR, "echo");
    copy_plugin(TICK_TEST_PLUGIN_DIR, "heartbeat");
    copy_plugin(TICK_TEST_PLUGIN_DIR, "http");
    copy_plugin(TICK_TEST_PLUGIN_DIR "/../tests/plugins", "stateful");
    echo_port = free_port();
    do
        st_port = free_port();
    while (st_port == echo_port);
    do
        http_port = free_port();
    while (http_port == echo_port || http_port == st_port);
}

static void teardown_dir(void)
{
    unlink(cfg_path);
    unlink(new_path);
    unlink(sock_path);
    unlink(log_path);
    static const char *const so[] = { "echo", "heartbeat", "stateful", "http" };
    for (size_t i = 0; i < 4; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s.so", plugin_dir, so[i]);
        unlink(p);
    }
    rmdir(plugin_dir);
    rmdir(dir);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void show_log(void)
{
    char line[512];
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "    | %s", line);
    fclose(f);
}

/* One run of p+v with the n-th allocation failing: the child's status. */
static int run_once(enum path p, enum variant v, unsigned long n)
{
    uint64_t t0 = now_ms();
    int status = 0;
    pid_t pid, w;

    write_configs();
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        cur_path = p;
        cur_variant = v;
        cur_n = n;
        _exit(child_run());
    }
    while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
        if (now_ms() - t0 > RUN_DEADLINE_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            show_log();
            ck_abort_msg("walk: %s%s: n=%lu: the daemon hangs (killed after %d ms)",
                         path_names[p], variant_names[v], n, RUN_DEADLINE_MS);
        }
        usleep(500);
    }
    ck_assert_int_eq(w, pid);
    /* TICKD_WALK_SHOW=N: the daemon's log of run N of every path */
    if (getenv("TICKD_WALK_SHOW") && strtoul(getenv("TICKD_WALK_SHOW"), NULL, 10) == n) {
        fprintf(stderr, "walk: %s%s: n=%lu:\n", path_names[p], variant_names[v], n);
        show_log();
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) >= ST_BAD_EXIT) {
        show_log();
        ck_abort_msg("walk: %s%s: n=%lu: %s %d", path_names[p], variant_names[v], n,
                     WIFEXITED(status) ? "child status" : "killed by signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    return WEXITSTATUS(status);
}

static void walk(enum path p, enum variant v)
{
    unsigned long n, errors = 0, completed = 0;
    int st;

    setup_dir();
    st = run_once(p, v, 0);
    ck_assert_msg(st == ST_DONE, "walk: %s%s fails with nothing injected (%d)",
                  path_names[p], variant_names[v], st);
    for (n = 1;; n++) {
        st = run_once(p, v, n);
        if (st == ST_DONE)
            break;
        if (st == ST_ERROR_INJECTED)
            errors++;
        else
            completed++;
        ck_assert_uint_lt(n, MAX_N);
    }
    fprintf(stderr, "walk: %s%s: %lu allocation sites failed, %lu runs ended in an error, "
            "%lu completed anyway\n", path_names[p], variant_names[v], n - 1, errors, completed);
    teardown_dir();
    ck_assert_uint_ge(n - 1, 1);
}

START_TEST(start_up) { walk(P_START, V_PLAIN); }
END_TEST
START_TEST(start_up_sighup) { walk(P_START, V_HUP); }
END_TEST
START_TEST(start_up_sigterm) { walk(P_START, V_TERM); }
END_TEST
START_TEST(reload) { walk(P_RELOAD, V_PLAIN); }
END_TEST
START_TEST(reload_sighup) { walk(P_RELOAD, V_HUP); }
END_TEST
START_TEST(reload_sigterm) { walk(P_RELOAD, V_TERM); }
END_TEST
START_TEST(serve) { walk(P_SERVE, V_PLAIN); }
END_TEST
START_TEST(serve_sighup) { walk(P_SERVE, V_HUP); }
END_TEST
START_TEST(serve_sigterm) { walk(P_SERVE, V_TERM); }
END_TEST

static Suite *walk_suite(void)
{
    Suite *s = suite_create("daemon_oom_walk");
    TCase *tc = tcase_create("walk");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, start_up);
    tcase_add_test(tc, start_up_sighup);
    tcase_add_test(tc, start_up_sigterm);
    tcase_add_test(tc, reload);
    tcase_add_test(tc, reload_sighup);
    tcase_add_test(tc, reload_sigterm);
    tcase_add_test(tc, serve);
    tcase_add_test(tc, serve_sighup);
    tcase_add_test(tc, serve_sigterm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(walk_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
