/* Fixture: a UDP echo on a leased datagram socket (tick/listen.h):
 * `listen = ADDR[,ADDR...]`; every datagram goes back to its sender.
 * `linger = yes`: once its leases end it does not finish but sleeps for a
 * minute (until the daemon cancels it), so retired incarnations pile up
 * draining (the bound on draining generations is tested with it).
 * `tag = ANY` is ignored (a setting to change). */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <tick/tick.h>

struct udp_rx {
    tick_task task;
    tick_lease *lease;
    bool *linger;
};

struct udp_rx;
struct udpecho {
    bool linger;
    char listen[256];
    struct udp_rx rx[TICK_LISTEN_MAX];
    int n;
};

static int udp_configure(tick_instance *in, const char *key, const char *value)
{
    struct udpecho *u = tick_instance_data(in);
    if (!key)
        return u->listen[0] ? 0 : tick_instance_error(in, "missing 'listen'");
    if (strcmp(key, "tag") == 0)
        return 0;                       /* ignored: a change to reload with */
    if (strcmp(key, "linger") == 0) {
        u->linger = strcmp(value, "yes") == 0;
        return 0;
    }
    if (strcmp(key, "listen") != 0)
        return tick_instance_error(in, "unknown key '%s'", key);
    if (tick_listen_check(value) < 0 || strlen(value) >= sizeof u->listen)
        return tick_instance_error(in, "bad listen '%s'", value);
    strcpy(u->listen, value);
    return 0;
}

static int udp_step(tick_task *t)
{
    struct udp_rx *r = tick_container_of(t, struct udp_rx, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_lease_readable(r->lease), rc);
        if (rc == -ESHUTDOWN) {
            if (*r->linger)         /* until cancelled */
                TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 60 * TICK_SEC), rc);
            TICK_RETURN(t, 0);
        }
        if (rc < 0)
            TICK_FAIL(t, rc);
        for (;;) {                       /* until EAGAIN, as listen.h says */
            char buf[2048];
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(tick_lease_fileno(r->lease), buf, sizeof buf,
                                 MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
            if (n < 0)
                break;
            sendto(tick_lease_fileno(r->lease), buf, (size_t)n, MSG_DONTWAIT,
                   (struct sockaddr *)&from, fl);
        }
    }
    TICK_END(t);
}

static const tick_task_class udp_class = { .step = udp_step };

static int udp_start(tick_instance *in)
{
    struct udpecho *u = tick_instance_data(in);
    tick_lease *l[TICK_LISTEN_MAX];
    int n = tick_instance_listen_list(in, u->listen, SOCK_DGRAM, l, TICK_LISTEN_MAX);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        u->rx[i].lease = l[i];
        u->rx[i].linger = &u->linger;
        int rc = tick_task_start(tick_instance_loop(in), &u->rx[i].task, "udp rx", &udp_class);
        if (rc < 0)
            return rc;
        u->n++;
        tick_log(TICK_LOG_INFO, "udp on %s", tick_lease_address(l[i]));
    }
    return 0;
}

static void udp_stop(tick_instance *in)
{
    struct udpecho *u = tick_instance_data(in);
    for (int i = 0; i < u->n; i++)
        tick_future_unref(tick_task_future(&u->rx[i].task));
    u->n = 0;
}

TICK_PLUGIN(.name = "udpecho", .version = "1.0",
            .instance_size = sizeof(struct udpecho),
            .configure = udp_configure, .start = udp_start, .stop = udp_stop);
