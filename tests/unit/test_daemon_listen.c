/* test_daemon_listen.c — the daemon's listeners and the instances' leases
 * (daemon/listen.c) in-process: address lists, one socket shared by the
 * incarnations of one instance with the newest lease served first, a
 * lease's end (-ESHUTDOWN) never closing the socket, the sweep closing
 * an unleased one, another instance refused, UDP readiness. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "helpers.h"
#include "config.h"
#include "instance.h"
#include "listen.h"
#include "log.h"
#include "module.h"

#ifndef TICK_TEST_PLUGIN_DIR
#define TICK_TEST_PLUGIN_DIR "build/plugins"
#endif

static char dir[64];
static struct tickd_config *cfg;

static void setup(void)
{
    loop_setup();
    snprintf(dir, sizeof dir, "/tmp/tickd-listen-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    tickd_log_set_level(TICK_LOG_ERR);
    tickd_log_engine_init();
    tickd_listen_init(loop);
    cfg = NULL;
}

static void teardown(void)
{
    char cmd[128];
    tickd_listen_shutdown();
    tickd_config_free(cfg);
    ck_assert_uint_eq(tickd_instance_count(), 0);
    loop_teardown();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Heartbeat instances named a and b (no sockets of their own). */
static tick_instance *instance(const char *name)
{
    struct tickd_error err = { 0 };
    char path[128];
    tick_instance *in;
    if (!cfg) {
        snprintf(path, sizeof path, "%s/tickd.ini", dir);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "[daemon]\nplugin_dir = %s\n[plugin:a]\nmodule = heartbeat\n"
                "[plugin:b]\nmodule = heartbeat\n", TICK_TEST_PLUGIN_DIR);
        fclose(f);
        ck_assert_msg(tickd_config_load(path, &cfg, &err) == 0, "%s", err.msg);
    }
    ck_assert_int_eq(tickd_instance_new(loop, tickd_config_find(cfg, name), &in, &err), 0);
    return in;
}

static uint16_t port_of(const tick_lease *l)
{
    const char *colon = strrchr(tick_lease_address(l), ':');
    ck_assert_ptr_nonnull(colon);
    return (uint16_t)atoi(colon + 1);
}

static int connect_to(uint16_t port, int type)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

START_TEST(address_lists)
{
    static const struct { const char *list; int want; } cases[] = {
        { "127.0.0.1:7000", 1 },
        { "127.0.0.1:7000,[::1]:7001", 2 },
        { " :7000 , 127.0.0.1:0 ,localhost:1 ", 3 },
        { "", -EINVAL },
        { ",", -EINVAL },
        { "127.0.0.1:1,", -EINVAL },
        { ",127.0.0.1:1", -EINVAL },
        { "127.0.0.1:1,,127.0.0.1:2", -EINVAL },
        { "::1:80", -EINVAL },
        { "example.com:80", -EINVAL },     /* numeric only: nothing resolved */
        { "127.0.0.1:65536", -EINVAL },
        { "1:1,1:2,1:3,1:4,1:5,1:6,1:7,1:8,1:9,1:10,1:11,1:12,1:13,1:14,1:15,1:16,1:17",
          -EINVAL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(tick_listen_check(cases[i].list) == cases[i].want,
                      "'%s': %d, want %d", cases[i].list,
                      tick_listen_check(cases[i].list), cases[i].want);
}
END_TEST

static int accept_one(tick_lease *l)
{
    tick_future *f = tick_lease_accept(l);
    ck_assert_ptr_nonnull(f);
    RUN_UNTIL(tick_future_done(f), 100);
    int rc = tick_future_error(f) ? tick_future_error(f) : (int)tick_future_result(f);
    tick_future_unref(f);
    return rc;
}

START_TEST(incarnations_share_newest_first)
{
    tick_instance *old = instance("a"), *next = instance("a"), *other = instance("b");
    tick_lease *lo, *ln, *lx;

    ck_assert_int_eq(tick_instance_listen(old, "127.0.0.1:0", SOCK_STREAM, &lo), 0);
    ck_assert_int_eq(tick_instance_listen(next, "127.0.0.1:0", SOCK_STREAM, &ln), 0);
    ck_assert_uint_eq(tickd_listen_count(), 1);          /* one socket */
    ck_assert_str_eq(tick_lease_address(lo), tick_lease_address(ln));
    ck_assert_int_eq(tick_lease_fileno(lo), tick_lease_fileno(ln));
    /* another instance: refused with the reason */
    ck_assert_int_eq(tick_instance_listen(other, "127.0.0.1:0", SOCK_STREAM, &lx),
                     -EADDRINUSE);
    ck_assert_ptr_nonnull(strstr(other->err, "leased by plugin:a"));

    uint16_t port = port_of(lo);
    tick_future *fo = tick_lease_accept(lo);            /* old waits first */
    int c1 = connect_to(port, SOCK_STREAM);
    int fd = accept_one(ln);                            /* ...the newest gets it */
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(!tick_future_done(fo));
    /* a second wait on one lease: -EBUSY */
    tick_future *busy = tick_lease_accept(lo);
    ck_assert_int_eq(tick_future_error(busy), -EBUSY);
    tick_future_unref(busy);

    /* the newest retires: its end is -ESHUTDOWN, the socket stays open
     * and the old one gets the next connection */
    tick_lease_end(ln);
    int c2 = connect_to(port, SOCK_STREAM);
    RUN_UNTIL(tick_future_done(fo), 100);
    ck_assert_int_ge(tick_future_result(fo), 0);
    close((int)tick_future_result(fo));
    tick_future_unref(fo);
    ck_assert_int_eq(accept_one(ln), -ESHUTDOWN);
    ck_assert_int_eq(tick_lease_fileno(ln), -EBADF);

    /* every lease ended: connects wait in the backlog until the sweep */
    tickd_listen_end_instance(old, -ESHUTDOWN);
    ck_assert_uint_eq(tickd_listen_count(), 1);
    int c3 = connect_to(port, SOCK_STREAM);
    ck_assert_uint_eq(tickd_listen_sweep(), 1);
    ck_assert_uint_eq(tickd_listen_count(), 0);
    close(c1);
    close(c2);
    close(c3);
    tickd_instance_discard(old);
    tickd_instance_discard(next);
    tickd_instance_discard(other);
}
END_TEST

/* A cancelled wait leaves the lease; the connection goes to the next. */
START_TEST(cancelled_wait_hands_on)
{
    tick_instance *in = instance("a");
    tick_lease *l;
    ck_assert_int_eq(tick_instance_listen(in, "127.0.0.1:0", SOCK_STREAM, &l), 0);
    tick_future *f = tick_lease_accept(l);
    ck_assert(tick_future_cancel(f));
    ck_assert_int_eq(tick_future_error(f), -ECANCELED);
    tick_future_unref(f);
    int c = connect_to(port_of(l), SOCK_STREAM);
    int fd = accept_one(l);
    ck_assert_int_ge(fd, 0);
    close(fd);
    close(c);
    tickd_instance_discard(in);       /* frees the lease: ends it */
    ck_assert_uint_eq(tickd_listen_sweep(), 1);
}
END_TEST

START_TEST(udp_readable)
{
    tick_instance *in = instance("a");
    tick_lease *l;
    ck_assert_int_eq(tick_instance_listen(in, "127.0.0.1:0", SOCK_DGRAM, &l), 0);
    ck_assert_int_eq(tick_lease_type(l), SOCK_DGRAM);
    tick_future *wrong = tick_lease_accept(l);
    ck_assert_int_eq(tick_future_error(wrong), -EINVAL);
    tick_future_unref(wrong);
    int c = connect_to(port_of(l), SOCK_DGRAM);
    for (int round = 0; round < 3; round++) {
        tick_future *f = tick_lease_readable(l);
        ck_assert(!tick_future_done(f));                /* nothing yet */
        ck_assert_int_eq(send(c, "x", 1, 0), 1);
        RUN_UNTIL(tick_future_done(f), 100);
        ck_assert_int_eq(tick_future_result(f) & EPOLLIN, EPOLLIN);
        tick_future_unref(f);
        char buf[8];
        ck_assert_int_eq(recv(tick_lease_fileno(l), buf, sizeof buf, MSG_DONTWAIT), 1);
    }
    close(c);
    tickd_instance_discard(in);
    ck_assert_uint_eq(tickd_listen_sweep(), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon listen");
    TCase *tc = tcase_create("leases");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, address_lists);
    tcase_add_test(tc, incarnations_share_newest_first);
    tcase_add_test(tc, cancelled_wait_hands_on);
    tcase_add_test(tc, udp_readable);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
