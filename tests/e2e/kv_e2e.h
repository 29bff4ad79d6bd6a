/*
 * kv_e2e.h — what the kv plugin's e2e tests (tests/e2e/test_kv*.c)
 * share: skipping without the redis tools, shell commands with their
 * output, a redis-server of our own, INFO fields.
 */
#ifndef TICK_E2E_KV_H
#define TICK_E2E_KV_H

#include "e2e.h"

E2E_FN bool kv_have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

#define NEED(prog)                                                          \
    do {                                                                    \
        if (!kv_have(prog)) {                                               \
            fprintf(stderr, "SKIP %s: %s not installed (tools/deps.sh check)\n", \
                    __func__, prog);                                        \
            return;                                                         \
        }                                                                   \
    } while (0)

/* A daemon config with one kv instance on port, then extra lines. */
E2E_FN void kv_config(e2e_daemon *d, uint16_t port, const char *extra)
{
    e2e_config(d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "stop_timeout = 3s\n"
        "control_socket = no\n"
        "\n"
        "[plugin:kv]\n"
        "module = kv\n"
        "listen = 127.0.0.1:%u\n"
        "%s",
        e2e_plugins(), port, extra);
}

E2E_FN void kv_start(e2e_daemon *d, uint16_t port, const char *extra)
{
    char want[64];
    kv_config(d, port, extra);
    e2e_start(d);
    E2E_FMT(want, sizeof want, "listening on 127.0.0.1:%u", port);
    ck_assert_msg(e2e_wait_log(d, want, 3000), "kv did not start:\n%s", e2e_read_file(d->err));
}

/* Run a shell command; its stdout (malloc'd, NUL-terminated). */
E2E_FN char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
E2E_FN char *sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(n > 0 && (size_t)n < sizeof cmd, "command too long");
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (size_t r; (r = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += r;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    pclose(f);
    return buf;
}

/* A redis-server of our own on a free port (no persistence). */
E2E_FN pid_t redis_start(uint16_t port)
{
    char p[16];
    snprintf(p, sizeof p, "%u", port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("redis-server", "redis-server", "--save", "", "--appendonly", "no",
               "--port", p, "--daemonize", "no", "--bind", "127.0.0.1", NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok)
            return pid;
        e2e_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_abort_msg("redis-server did not start on %u", port);
    return -1;
}

E2E_FN void redis_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* An INFO field as a number (INFO ALL), -1 when absent. */
E2E_FN long kv_info(uint16_t port, const char *field)
{
    char *out = sh("redis-cli -p %u INFO ALL | tr -d '\\r' | grep '^%s:'", port, field);
    long v = -1;
    char fmt[64];
    snprintf(fmt, sizeof fmt, "%s:%%ld", field);
    sscanf(out, fmt, &v);
    free(out);
    return v;
}

/* Wait until INFO field >= want; its last value. */
E2E_FN long kv_info_wait(uint16_t port, const char *field, long want, int timeout_ms)
{
    long v = kv_info(port, field);
    for (int64_t end = e2e_now_ms() + timeout_ms; v < want && e2e_now_ms() < end;) {
        e2e_sleep_ms(20);
        v = kv_info(port, field);
    }
    return v;
}

#endif
