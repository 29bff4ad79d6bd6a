/* lines.c — the README's second tutorial plugin: a line-protocol TCP
 * service. Each line a client sends is answered with `prefix` and the
 * line; "quit" says goodbye and closes. The daemon parses the keys, the
 * server accepts, and each connection is one task reading lines. */
#include <string.h>
#include <tick/tick.h>

struct lines {
    const char *listen;                 /* the key table fills these */
    const char *prefix;
    uint32_t max_conns;
    uint64_t idle_timeout;
    tick_server *srv;
};

static const tick_key lines_keys[] = {
    TICK_KEY_ADDRESSES(struct lines, listen, "listen", NULL, TICK_KEY_REQUIRED,
                       "where clients connect"),
    TICK_KEY_STRING(struct lines, prefix, "prefix", 0, 64, "\"you said: \"", 0,
                    "put before each line sent back"),
    TICK_KEY_INT(struct lines, max_conns, "max_conns", 1, 100000, "100", 0,
                 "clients served at once"),
    TICK_KEY_DURATION(struct lines, idle_timeout, "idle_timeout", TICK_SEC, 0, "5m", 0,
                      "a client quiet this long is closed"),
    TICK_KEY_END
};

static int lines_step(tick_task *t)
{
    tick_conn *c = tick_conn_of(t);
    struct lines *l = tick_server_user(c->server);
    intptr_t rc;

    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_stream_read_line(c->stream, 1024), rc);
        if (rc <= 0)                    /* EOF, too long, idle, cancelled */
            break;
        size_t len;
        const char *line = tick_stream_peek(c->stream, &len);
        len = (size_t)rc;               /* the line, its '\n' included */
        if (len >= 5 && memcmp(line, "quit", 4) == 0 && (line[4] == '\n' || line[4] == '\r')) {
            tick_stream_write(c->stream, "bye\n", 4);
            break;
        }
        struct iovec iov[2] = { { (void *)l->prefix, strlen(l->prefix) },
                                { (void *)line, len } };
        rc = tick_stream_writev(c->stream, iov, 2);   /* copied: consume now */
        tick_stream_consume(c->stream, len);
        if (rc < 0)
            break;
        TICK_AWAIT(t, tick_stream_drain(c->stream), rc);   /* a slow reader */
        if (rc < 0)
            break;
    }
    TICK_AWAIT(t, tick_stream_flush(c->stream), rc);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class lines_class = { .step = lines_step };

static int lines_start(tick_instance *in)
{
    struct lines *l = tick_instance_data(in);
    struct tick_server_config cfg = {
        .listen = l->listen, .max_conns = l->max_conns, .idle_timeout = l->idle_timeout,
        .conn_size = sizeof(tick_conn), .conn_class = &lines_class, .user = l,
    };
    int rc = tick_server_start(in, &cfg, &l->srv);
    if (rc == 0)
        tick_log(TICK_LOG_INFO, "serving lines on %s", tick_server_addresses(l->srv));
    return rc;
}

TICK_PLUGIN(.name = "lines", .version = "1.0",
            .description = "Answers each line with a prefix and the line.",
            .instance_size = sizeof(struct lines),
            .keys = lines_keys, .start = lines_start);
