/* Fixture: a line server and a UDP echo on the SDK's servers
 * (tick/server.h). Keys: `listen = ADDRS` (TCP), `udp = ADDRS`,
 * `idle_timeout = DURATION`, `max_conns = N`. A TCP line comes back as it
 * was sent; the line "stats" gets the server's counters instead
 * ("accepted=A active=N refused=R shed=S idle=I"). A datagram comes back
 * to its sender; the datagram "count" gets "n=DATAGRAMS b=BATCHES". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tick/tick.h>

struct netfix {
    char listen[256], udp[256];
    uint64_t idle;
    unsigned max_conns;
    tick_server *srv;
    tick_dgram_server *dg;
};

static int nf_configure(tick_instance *in, const char *key, const char *value)
{
    struct netfix *n = tick_instance_data(in);
    if (!key)
        return 0;
    if (strcmp(key, "listen") == 0)
        snprintf(n->listen, sizeof n->listen, "%s", value);
    else if (strcmp(key, "udp") == 0)
        snprintf(n->udp, sizeof n->udp, "%s", value);
    else if (strcmp(key, "idle_timeout") == 0)
        return tick_parse_duration(value, &n->idle) < 0 ?
               tick_instance_error(in, "bad idle_timeout") : 0;
    else if (strcmp(key, "max_conns") == 0)
        n->max_conns = (unsigned)atoi(value);
    else
        return tick_instance_error(in, "unknown key '%s'", key);
    return 0;
}

static int line_step(tick_task *t)
{
    tick_conn *c = tick_conn_of(t);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_stream_read_line(c->stream, 256), rc);
        if (rc == -ETIMEDOUT)
            tick_log(TICK_LOG_INFO, "idle timeout");
        if (rc <= 0)
            break;
        size_t len;
        const char *p = tick_stream_peek(c->stream, &len);
        if (rc == 6 && memcmp(p, "stats\n", 6) == 0) {
            tick_server_stats st;
            char out[160];
            tick_server_get_stats(c->server, &st);
            int w = snprintf(out, sizeof out, "accepted=%llu active=%llu refused=%llu "
                             "shed=%llu idle=%llu\n", (unsigned long long)st.accepted,
                             (unsigned long long)st.active, (unsigned long long)st.refused,
                             (unsigned long long)st.shed_emfile,
                             (unsigned long long)st.idle_timeouts);
            rc = tick_stream_write(c->stream, out, (size_t)w);
        } else {
            rc = tick_stream_write(c->stream, p, (size_t)rc);
        }
        tick_stream_consume(c->stream, len);
        if (rc < 0)
            break;
    }
    TICK_RETURN(t, 0);
    TICK_END(t);
}
static const tick_task_class line_class = { .step = line_step };

static void nf_datagrams(void *user, int fd, const tick_dgram *m, unsigned n)
{
    struct netfix *nf = user;
    for (unsigned i = 0; i < n; i++) {
        char out[64];
        const void *data = m[i].data;
        size_t len = m[i].len;
        if (len == 5 && memcmp(data, "count", 5) == 0) {
            uint64_t d, b;
            tick_dgram_server_counts(nf->dg, &d, &b);
            len = (size_t)snprintf(out, sizeof out, "n=%llu b=%llu",
                                   (unsigned long long)d, (unsigned long long)b);
            data = out;
        }
        sendto(fd, data, len, MSG_DONTWAIT, m[i].peer, m[i].peer_len);
    }
}

static int nf_start(tick_instance *in)
{
    struct netfix *n = tick_instance_data(in);
    int rc = 0;
    if (n->listen[0]) {
        struct tick_server_config cfg = {
            .listen = n->listen, .max_conns = n->max_conns, .idle_timeout = n->idle,
            .conn_size = sizeof(tick_conn), .conn_class = &line_class,
        };
        if ((rc = tick_server_start(in, &cfg, &n->srv)) < 0)
            return rc;
        tick_log(TICK_LOG_INFO, "listening on %s", tick_server_addresses(n->srv));
    }
    if (n->udp[0]) {
        if ((rc = tick_dgram_server_start(in, n->udp, nf_datagrams, n, &n->dg)) < 0)
            return rc;
        tick_log(TICK_LOG_INFO, "udp on %s", n->udp);
    }
    return 0;
}

TICK_PLUGIN(.name = "netfix", .version = "1.0", .instance_size = sizeof(struct netfix),
            .configure = nf_configure, .start = nf_start);
