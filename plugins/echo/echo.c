/*
 * echo — a TCP echo server plugin for tickd, on the SDK's tick_server.
 *
 *     [plugin:echo1]
 *     module = echo
 *     listen = 127.0.0.1:7000   ; HOST:PORT, [V6]:PORT, :PORT, or a
 *                               ; comma-separated list of them; required
 *     max_conns = 10000         ; over the limit new clients are closed;
 *                               ; a reload changes it in place
 *                               ; (max_clients: the old name, an alias)
 *
 * The server (tick/server.h) leases the daemon's sockets, accepts, and
 * gives each connection a task, a scope and a stream; echo only echoes.
 * An idle connection holds no buffer. A client that never reads stalls
 * only its own task, at tick_stream_drain() once 64 KiB are queued. On
 * a reload the server drains (tick/server.h); stopping cancels the tasks.
 * Built only against the public headers, as an outside plugin would be.
 */
#include <tick/tick.h>

struct echo {
    tick_server *srv;
    const char *listen;              /* the daemon fills these (key table) */
    uint32_t max_conns;
};

static const tick_key echo_keys[] = {
    TICK_KEY_ADDRESSES(struct echo, listen, "listen", NULL, TICK_KEY_REQUIRED,
                       "addresses to accept on, comma-separated"),
    TICK_KEY_INT(struct echo, max_conns, "max_conns", 1, 1000000, "10000", TICK_KEY_LIVE,
                 "connections at most; over it new clients are closed"),
    TICK_KEY_ALIAS("max_clients", "max_conns"),
    TICK_KEY_END
};

/* A reload that changed only max_conns: the daemon stored it; apply it. */
static int echo_reconfigure(tick_instance *in, const char *key, const char *value)
{
    struct echo *e = tick_instance_data(in);
    (void)key, (void)value;              /* (NULL, NULL) with a key table */
    tick_server_set_max_conns(e->srv, e->max_conns);
    tick_log(TICK_LOG_INFO, "max_clients is now %u", (unsigned)e->max_conns);
    return 0;
}

static int echo_conn_step(tick_task *t)
{
    tick_conn *c = tick_conn_of(t);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_stream_read_some(c->stream), rc);
        if (rc <= 0)
            break;                       /* EOF, reset, cancelled */
        size_t len;
        const void *p = tick_stream_peek(c->stream, &len);
        rc = tick_stream_write(c->stream, p, len);   /* sent or queued */
        tick_stream_consume(c->stream, len);
        if (rc < 0)
            break;
        TICK_AWAIT(t, tick_stream_drain(c->stream), rc);  /* backpressure */
        if (rc < 0)
            break;
    }
    if (rc == 0)                         /* the client half-closed: finish */
        TICK_AWAIT(t, tick_stream_flush(c->stream), rc);
    if (rc == -ECANCELED)                /* resets are ordinary: not failures */
        TICK_FAIL(t, rc);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class echo_conn_class = { .step = echo_conn_step };

static int echo_start(tick_instance *in)
{
    struct echo *e = tick_instance_data(in);
    struct tick_server_config cfg = {
        .listen = e->listen, .max_conns = e->max_conns,
        .conn_size = sizeof(tick_conn), .conn_class = &echo_conn_class,
        .task_name = "echo conn", .max_conns_name = "max_clients",
    };
    int rc = tick_server_start(in, &cfg, &e->srv);
    if (rc < 0)
        return rc;                       /* the message is set */
    for (unsigned i = 0; tick_server_address(e->srv, i); i++)
        tick_log(TICK_LOG_INFO, "listening on %s", tick_server_address(e->srv, i));
    tick_instance_set_status(in, "listening on %s", tick_server_addresses(e->srv));
    return 0;
}

TICK_PLUGIN(.name = "echo", .version = "2.0",
            .description = "A TCP echo server.",
            .instance_size = sizeof(struct echo),
            .keys = echo_keys,
            .start = echo_start,
            .reconfigure = echo_reconfigure);
