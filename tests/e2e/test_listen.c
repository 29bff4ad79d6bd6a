/*
 * test_listen.c — listeners owned by the daemon, leased by instances
 * (tick/listen.h): address lists, :0, UDP, reuse_port, and socket
 * activation with a fake systemd environment (LISTEN_FDS, LISTEN_PID,
 * LISTEN_FDNAMES), TCP and UDP.
 */
#include "e2e.h"

#define HEADER                                                              \
    "[daemon]\n"                                                            \
    "plugin_dir = %s\n"                                                     \
    "stop_timeout = 2s\n"

/* A private plugin directory with echo.so and the fixtures named (up to
 * two, NULL for none). */
static void plugin_dir2(e2e_daemon *d, char *dir, size_t len, const char *f1,
                        const char *f2)
{
    const char *names[] = { "echo", f1, f2 };
    E2E_FMT(dir, len, "%s/plugins", d->dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (int i = 0; i < 3; i++) {
        char src[PATH_MAX + 64], dst[PATH_MAX + 64];
        if (!names[i])
            continue;
        E2E_FMT(src, sizeof src, "%s/%s.so", i ? e2e_fixtures() : e2e_plugins(), names[i]);
        E2E_FMT(dst, sizeof dst, "%s/%s.so", dir, names[i]);
        e2e_copy_file(src, dst, 0755);
    }
}

static void plugin_dir(e2e_daemon *d, char *dir, size_t len, const char *fixture)
{
    plugin_dir2(d, dir, len, fixture, NULL);
}

static int tcp_listener(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s",
                  strerror(errno));
    ck_assert_int_eq(listen(fd, 128), 0);
    return fd;
}

static int udp_socket(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s",
                  strerror(errno));
    return fd;
}

static uint16_t free_udp_port(void)
{
    int fd = udp_socket(0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Send msg to 127.0.0.1:port over UDP, true if the same bytes come back
 * within 2 s. */
static bool udp_roundtrip(uint16_t port, const char *msg)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct timeval tv = { 2, 0 };
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char buf[256];
    bool ok = false;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof sa) ==
        (ssize_t)strlen(msg)) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        ok = n == (ssize_t)strlen(msg) && memcmp(buf, msg, (size_t)n) == 0;
    }
    close(fd);
    return ok;
}

/* The port the daemon logged for "listening on 127.0.0.1:PORT" (the
 * n-th such line), 0 if none. */
static uint16_t logged_port(e2e_daemon *d, int nth)
{
    char *log = e2e_read_file(d->err), *p = log;
    unsigned port = 0;
    for (int i = 0; (p = strstr(p, "listening on 127.0.0.1:")); p++, i++)
        if (i == nth) {
            port = (unsigned)atoi(p + strlen("listening on 127.0.0.1:"));
            break;
        }
    free(log);
    return (uint16_t)port;
}

/* A comma-separated list with a :0 among the addresses: every address
 * serves; the log and STATUS= name the port the kernel chose. */
START_TEST(address_list_and_port_zero)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\n"
               "listen = 127.0.0.1:%u , 127.0.0.1:0\n", e2e_plugins(), p1);
    e2e_start(&d);
    uint16_t p0 = logged_port(&d, 1);
    ck_assert_msg(p0 != 0 && p0 != p1, "stderr:\n%s", e2e_read_file(d.err));
    uint16_t ports[] = { p1, p0 };
    for (int i = 0; i < 2; i++) {
        int fd = e2e_connect(ports[i]);
        ck_assert_msg(fd >= 0, "port %u: %s", ports[i], strerror(-fd));
        ck_assert(e2e_echo_roundtrip(fd, "listed"));
        close(fd);
    }
    char want[64];
    E2E_FMT(want, sizeof want, "127.0.0.1:%u, 127.0.0.1:%u", p1, p0);
    ck_assert_msg(strstr(d.notes, want), "notes:\n%s", d.notes);
    /* a reload that changes the instance keeps the :0 socket (same
     * address as written) for the successor: the same port serves */
    e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\n"
               "listen = 127.0.0.1:%u,127.0.0.1:0\n", e2e_plugins(), p1);
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 1 started, 1 stopped", 2000));
    int fd = e2e_connect(p0);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "same :0 port"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* Bad lists are configuration errors with FILE:LINE; reuse_port is the
 * daemon's key (checked, not passed to the plugin). */
START_TEST(bad_lists_and_reuse_port_values)
{
    static const struct { const char *keys; const char *msg; } bad[] = {
        { "listen = 127.0.0.1:1,,127.0.0.1:2\n",
          "plugin:e: bad listen address '127.0.0.1:1,,127.0.0.1:2'" },
        { "listen = 127.0.0.1:1,\n", "plugin:e: bad listen address '127.0.0.1:1,'" },
        { "listen = 127.0.0.1:1, ::1:80\n", "plugin:e: bad listen address" },
        { "listen = 127.0.0.1:1\nreuse_port = maybe\n",
          "plugin:e: bad value 'maybe' for 'reuse_port' (yes or no)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e2e_daemon d;
        e2e_daemon_init(&d);
        e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\n%s", e2e_plugins(), bad[i].keys);
        const char *args[] = { "-t", "-c", d.conf, NULL };
        ck_assert_int_eq(e2e_run(&d, args, 5000), EX_CONFIG_);
        ck_assert_msg(e2e_file_contains(d.err, bad[i].msg), "case %zu: stderr:\n%s", i,
                      e2e_read_file(d.err));
        e2e_kill(&d);
    }
}
END_TEST

/* reuse_port = yes: another socket with SO_REUSEPORT can bind the port
 * too (the kernel spreads connections; a later worker split needs it). */
START_TEST(reuse_port_sets_so_reuseport)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\nreuse_port = yes\n"
               "listen = 127.0.0.1:%u\n", e2e_plugins(), p1);
    e2e_start(&d);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p1),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
                  "second SO_REUSEPORT bind: %s", strerror(errno));
    close(fd);
    e2e_stop(&d, 5000);

    /* without it the same bind is refused */
    e2e_daemon_init(&d);
    e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               e2e_plugins(), p1);
    e2e_start(&d);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    ck_assert_int_ne(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* Another instance may not lease an address one is serving. */
START_TEST(second_instance_same_address_refused)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    e2e_config(&d, HEADER "\n[plugin:a]\nmodule = echo\nlisten = 127.0.0.1:%u\n"
               "\n[plugin:b]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               e2e_plugins(), p1, p1);
    const char *args[] = { "-c", d.conf, NULL };
    e2e_spawn(&d, true, args);
    ck_assert_int_ne(e2e_wait_exit(&d, 10000), -ETIMEDOUT);
    ck_assert_msg(e2e_file_contains(d.err, "plugin:b: start failed: cannot listen on "
                                    "127.0.0.1:"), "stderr:\n%s", e2e_read_file(d.err));
    ck_assert(e2e_file_contains(d.err, "leased by plugin:a"));
    e2e_kill(&d);
}
END_TEST

static bool environ_has(pid_t pid, const char *name)
{
    char path[64], buf[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
        if (strncmp(buf + i, name, strlen(name)) == 0 && buf[i + strlen(name)] == '=')
            return true;
    return false;
}

/*
 * Socket activation: a TCP and a UDP socket bound by "systemd" (this
 * test) are passed as fds 3 and 4. The instances naming their addresses
 * use them (the daemon cannot bind them: they are bound already); the
 * variables are gone from the daemon's environment; a configuration
 * without the TCP instance keeps the socket open (connects wait in the
 * backlog, none is refused) and the next one that names it serves them.
 */
START_TEST(socket_activation_tcp_and_udp)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX];
    plugin_dir2(&d, dir, sizeof dir, "udpecho", "escapes");
    uint16_t pt = e2e_free_port(), pu = free_udp_port();
    d.listen_fds[0] = tcp_listener(pt);
    d.listen_fds[1] = udp_socket(pu);
    d.nlisten_fds = 2;
    snprintf(d.listen_fdnames, sizeof d.listen_fdnames, "echo:statsd");
#define BOTH() e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\nlisten = 127.0.0.1:%u\n" \
        "\n[plugin:u]\nmodule = udpecho\nlisten = 127.0.0.1:%u\n" \
        "\n[plugin:x]\nmodule = escapes\n", dir, pt, pu)
    BOTH();
    e2e_start(&d);
    close(d.listen_fds[0]);
    close(d.listen_fds[1]);
    char want[128];
    E2E_FMT(want, sizeof want, "socket activation: fd 3 ('echo') is 127.0.0.1:%u (tcp)", pt);
    ck_assert_msg(e2e_file_contains(d.err, want), "stderr:\n%s", e2e_read_file(d.err));
    E2E_FMT(want, sizeof want, "socket activation: fd 4 ('statsd') is 127.0.0.1:%u (udp)", pu);
    ck_assert_msg(e2e_file_contains(d.err, want), "stderr:\n%s", e2e_read_file(d.err));
    /* children never see the variables (the escapes fixture's sh) */
    ck_assert(e2e_wait_log(&d, "plugin:x: spawned pid ", 2000));
    char *log = e2e_read_file(d.err);
    pid_t child = (pid_t)atoi(strstr(log, "plugin:x: spawned pid ") + 22);
    free(log);
    ck_assert_int_gt(child, 0);
    ck_assert(!environ_has(child, "LISTEN_FDS"));
    ck_assert(!environ_has(child, "LISTEN_PID"));
    ck_assert(!environ_has(child, "LISTEN_FDNAMES"));

    int fd = e2e_connect(pt);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "activated"));
    close(fd);
    ck_assert(udp_roundtrip(pu, "datagram"));

    /* no instance names the TCP socket: it stays open, unserved */
    e2e_config(&d, HEADER "\n[plugin:u]\nmodule = udpecho\nlisten = 127.0.0.1:%u\n"
               "\n[plugin:x]\nmodule = escapes\n", dir, pu);
    e2e_reload(&d);
    ck_assert(e2e_wait_log(&d, "reloaded: 0 started, 1 stopped, 2 unchanged", 2000));
    int waiting = e2e_connect(pt);
    ck_assert_msg(waiting >= 0, "connect to the kept socket: %s", strerror(-waiting));
    ck_assert(send(waiting, "queued", 6, MSG_NOSIGNAL) == 6);
    ck_assert(udp_roundtrip(pu, "still"));

    /* named again: the connection from the backlog is served */
    BOTH();
    e2e_reload(&d);
    char buf[16];
    ssize_t n = recv(waiting, buf, sizeof buf, 0);
    ck_assert_msg(n == 6 && memcmp(buf, "queued", 6) == 0, "recv %zd", n);
    close(waiting);
    e2e_stop(&d, 5000);
#undef BOTH
}
END_TEST

/* A LISTEN_PID that is not the daemon's: the fds are not taken. */
START_TEST(socket_activation_other_pid_ignored)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    uint16_t p1 = e2e_free_port();
    static char fds[] = "LISTEN_FDS=1", pid[] = "LISTEN_PID=1";
    d.env[0] = fds;
    d.env[1] = pid;
    e2e_config(&d, HEADER "\n[plugin:e]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
               e2e_plugins(), p1);
    e2e_start(&d);
    ck_assert(!e2e_file_contains(d.err, "socket activation"));
    int fd = e2e_connect(p1);
    ck_assert_int_ge(fd, 0);
    ck_assert(e2e_echo_roundtrip(fd, "bound by the daemon"));
    close(fd);
    e2e_stop(&d, 5000);
}
END_TEST

/* UDP without activation: the daemon binds the datagram socket. */
START_TEST(udp_lease_bound_by_daemon)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char dir[PATH_MAX];
    plugin_dir(&d, dir, sizeof dir, "udpecho");
    uint16_t pu = free_udp_port();
    e2e_config(&d, HEADER "\n[plugin:u]\nmodule = udpecho\nlisten = 127.0.0.1:%u\n",
               dir, pu);
    e2e_start(&d);
    for (int i = 0; i < 20; i++)
        ck_assert_msg(udp_roundtrip(pu, "dgram"), "round %d", i);
    e2e_stop(&d, 5000);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("e2e listen");
    TCase *tc = tcase_create("listen");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, address_list_and_port_zero);
    tcase_add_test(tc, bad_lists_and_reuse_port_values);
    tcase_add_test(tc, reuse_port_sets_so_reuseport);
    tcase_add_test(tc, second_instance_same_address_refused);
    tcase_add_test(tc, socket_activation_tcp_and_udp);
    tcase_add_test(tc, socket_activation_other_pid_ignored);
    tcase_add_test(tc, udp_lease_bound_by_daemon);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(make_suite)
