/*
 * echo — a TCP echo server plugin for tickd, on the SDK's tick_server.
 *
 *     [plugin:echo1]
 *     module = echo
 *     listen = 127.0.0.1:7000   ; HOST:PORT, [V6]:PORT, :PORT, or a
 *                               ; comma-separated list of them; required
 *     max_clients = 10000       ; over the limit new clients are closed;
 *                               ; a reload changes it in place
 *
 * The server (tick/server.h) leases the daemon's sockets, accepts, and
 * gives each connection a task, a scope and a stream; echo only echoes.
 * An idle connection holds no buffer. A client that never reads stalls
 * only its own task, at tick_stream_drain() once 64 KiB are queued. On
 * a reload the server drains (tick/server.h); stopping cancels the tasks.
 * Built only against the public headers, as an outside plugin would be.
 */
#include <stdlib.h>
#include <string.h>

#include <tick/tick.h>

#define ECHO_DEFAULT_MAX_CLIENTS 10000u
#define ECHO_MAX_MAX_CLIENTS 1000000u

struct echo {
    tick_server *srv;
    unsigned max_clients;            /* 0 until configured */
    unsigned new_max_clients;        /* reconfigure(): committed at the end */
    bool have_listen;
    char listen[1024];               /* the address list, as configured */
};

/* ---- configuration (hand-written until the declarative key table) ---- */

static int echo_parse_count(const char *value, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*value < '0' || *value > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(value, &end, 10);
    if (errno || *end || v < 1 || v > ECHO_MAX_MAX_CLIENTS)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int echo_configure(tick_instance *in, const char *key, const char *value)
{
    struct echo *e = tick_instance_data(in);

    if (!key) {
        if (!e->have_listen)
            return tick_instance_error(in, "missing required key 'listen'");
        if (e->max_clients == 0)
            e->max_clients = ECHO_DEFAULT_MAX_CLIENTS;
        return 0;
    }
    if (strcmp(key, "listen") == 0) {
        if (strlen(value) >= sizeof e->listen || tick_listen_check(value) < 0)
            return tick_instance_error(in, "bad listen address '%s'", value);
        strcpy(e->listen, value);
        return e->have_listen = true, 0;
    }
    if (strcmp(key, "max_clients") == 0 || strcmp(key, "max_conns") == 0) {
        if (echo_parse_count(value, &e->max_clients) < 0)
            return tick_instance_error(in, "bad %s '%s' (use 1 to %u)", key, value,
                                       ECHO_MAX_MAX_CLIENTS);
        return 0;
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

/* On reload: max_clients changes in place; anything else restarts us. */
static int echo_reconfigure(tick_instance *in, const char *key, const char *value)
{
    struct echo *e = tick_instance_data(in);

    if (!key) {
        if (e->new_max_clients)
            e->max_clients = e->new_max_clients;
        e->new_max_clients = 0;
        tick_server_set_max_conns(e->srv, e->max_clients);
        tick_log(TICK_LOG_INFO, "max_clients is now %u", e->max_clients);
        return 0;
    }
    if ((strcmp(key, "max_clients") == 0 || strcmp(key, "max_conns") == 0) &&
        echo_parse_count(value, &e->new_max_clients) == 0)
        return 0;
    e->new_max_clients = 0;
    return -1;
}

/* ---- end of configuration ------------------------------------------------ */

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
        .listen = e->listen, .max_conns = e->max_clients,
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
            .instance_size = sizeof(struct echo),
            .configure = echo_configure,
            .start = echo_start,
            .reconfigure = echo_reconfigure);
