/*
 * tick/server.h — TCP servers and UDP receivers on leased sockets.
 *
 * tick_server_start() leases every address of a list (tick/listen.h),
 * runs one accept task per lease, and gives each connection its own task,
 * scope and stream: the plugin writes only the connection's step.
 *
 *     #include <tick/tick.h>
 *
 *     struct hello_conn {
 *         tick_conn conn;          // first member: the server's part
 *         unsigned lines;          // the plugin's, zeroed per connection
 *     };
 *
 *     static int hello_step(tick_task *t)
 *     {
 *         struct hello_conn *c = (struct hello_conn *)tick_conn_of(t);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         for (;;) {
 *             TICK_AWAIT(t, tick_stream_read_line(c->conn.stream, 256), rc);
 *             if (rc <= 0)         // EOF, -ETIMEDOUT (idle), -ECANCELED...
 *                 break;
 *             tick_stream_consume(c->conn.stream, (size_t)rc);
 *             c->lines++;
 *             if (tick_stream_write(c->conn.stream, "hello\n", 6) < 0)
 *                 break;
 *         }
 *         TICK_RETURN(t, 0);       // the server closes the stream
 *         TICK_END(t);
 *     }
 *     static const tick_task_class hello_class = { .step = hello_step };
 *
 *     static int hello_start(tick_instance *in)
 *     {
 *         struct tick_server_config cfg = {
 *             .listen = "127.0.0.1:0", .max_conns = 100,
 *             .idle_timeout = 30 * TICK_SEC,
 *             .conn_size = sizeof(struct hello_conn), .conn_class = &hello_class,
 *         };
 *         tick_server *srv;
 *         return tick_server_start(in, &cfg, &srv);   // message set on error
 *     }
 *     TICK_PLUGIN(.name = "hello", .version = "1.0", .start = hello_start);
 *
 * Connections: for each accepted socket the server allocates conn_size
 * zeroed bytes (a struct whose first member is a tick_conn), makes a
 * child scope of the instance's named "conn ADDR:PORT" (the peer: logs
 * and `tickd status` show it), opens the stream in it, applies the idle
 * timeout, and starts the task (named cfg->task_name, "conn" by default)
 * in it. The task's step is conn_class->step; conn_class->free must be
 * NULL: the memory is the server's. When the task ends (returns, fails or
 * is cancelled), in the next tick the server closes the stream (unsent
 * bytes are dropped: await tick_stream_flush() first if they matter),
 * cancels what the task left in its scope, closes the scope once it has
 * drained and frees the memory. Do not keep references to the task or
 * pointers into the struct past its end.
 *
 * Limits: over max_conns a new connection is closed at once (the client
 * sees EOF), counted, and logged at most once per 1000 as "NAME (N)
 * reached, closing new connections (M so far)", NAME being
 * cfg->max_conns_name ("max_conns"). Out of fds (EMFILE), the engine
 * sheds connections (accepts and closes them) rather than spin, logs that
 * at most once a second, and the server counts those on its sockets.
 *
 * Drain: when the leases end (a reload retired the instance: the accept
 * tasks see -ESHUTDOWN) the server stops accepting and shuts the read
 * side of its connections down: one that has received bytes at once, the
 * others (connected just before the handoff, first request not there
 * yet) after cfg->first_request_grace (1 s by default). A read then still
 * gets the bytes the client already sent, then the end of stream (0), so
 * a connection idle between requests finishes at once and a busy one
 * finishes its request; the daemon cancels what is left after the
 * instance's stop_timeout. Stopping the instance cancels everything
 * (-ECANCELED in the tasks).
 *
 * Ownership: the tick_server (and a tick_dgram_server) is the daemon's
 * memory, valid until the instance is freed; nothing to free. Start them
 * from start() or a task of the instance. Loop-thread-only.
 */
#ifndef TICK_SERVER_H
#define TICK_SERVER_H

#include <sys/socket.h>
#include "listen.h"
#include "stream.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_server tick_server;

typedef struct tick_conn {
    tick_task task;              /* the connection's task (keep first) */
    /* read-only */
    tick_stream *stream;         /* the connection's (closed by the server) */
    tick_server *server;
    const char *peer;            /* "127.0.0.1:5555", "[::1]:5555" */
    /* private */
    tick_scope scope;
    tick_link link;
    tick_handle reap;
    tick_future *drained;
    char name[64];               /* "conn " + peer: the scope's name */
} tick_conn;

/* The tick_conn whose task t is (in the connection's step). */
static inline tick_conn *tick_conn_of(tick_task *t)
{ return tick_container_of(t, tick_conn, task); }

struct tick_server_config {
    const char *listen;          /* "HOST:PORT[, ...]" (tick/listen.h) */
    unsigned max_conns;          /* 0: 10000 */
    uint64_t idle_timeout;       /* ns a read may wait for bytes; 0: none */
    uint64_t first_request_grace;/* drain, see above; 0: 1 s */
    size_t conn_size;            /* >= sizeof(tick_conn) */
    const tick_task_class *conn_class;   /* step; free must be NULL */
    const char *task_name;       /* NULL: "conn" */
    const char *max_conns_name;  /* for the log; NULL: "max_conns" */
    bool conn_cpu;               /* time each connection scope's handles
                                  * itself; false (default): charged to
                                  * the instance (tick_scope_charge_parent:
                                  * no clock read between connections) */
    void *user;                  /* for the connections: tick_server_user()
                                  * (say, the instance's data) */
};

typedef struct tick_server_stats {
    uint64_t accepted;           /* connections given a task */
    uint64_t active;             /* connections alive now */
    uint64_t refused;            /* closed over max_conns (or out of memory) */
    uint64_t shed_emfile;        /* shed on its sockets for lack of fds */
    uint64_t idle_timeouts;      /* reads that gave -ETIMEDOUT */
} tick_server_stats;

/* Lease cfg->listen and start accepting. 0 and *out, or -errno with
 * tick_instance_error() text set (-EINVAL for a bad config). cfg is
 * copied; the strings in it must outlive the server. */
TICK_API int tick_server_start(tick_instance *in, const struct tick_server_config *cfg,
                               tick_server **out);
/* Change max_conns at run time (existing connections are kept). */
TICK_API void tick_server_set_max_conns(tick_server *srv, unsigned max_conns);
TICK_API unsigned tick_server_max_conns(const tick_server *srv);
/* cfg->user, as given to tick_server_start(): a connection's step reaches
 * its instance's data with tick_server_user(tick_conn_of(t)->server). Or
 * set it with tick_server_set_user() right after tick_server_start(): no
 * connection runs before start() returns. */
TICK_API void tick_server_set_user(tick_server *srv, void *user);
TICK_API void *tick_server_user(const tick_server *srv);
TICK_API void tick_server_get_stats(const tick_server *srv, tick_server_stats *out);
/* True once the server's leases have ended (a reload retired this
 * incarnation, which now drains; not on a cancel). With the stats'
 * `active` at 0 every connection is done: the cue to stop what else keeps
 * the instance from draining (a periodic timer, a task waiting for work),
 * or the reload waits the instance's stop_timeout for it. ABI 3.2. */
TICK_API bool tick_server_draining(const tick_server *srv);
/* The bound addresses ("127.0.0.1:7000, [::1]:7000"), for logs; and the
 * i-th alone, NULL past the last. */
TICK_API const char *tick_server_addresses(const tick_server *srv);
TICK_API const char *tick_server_address(const tick_server *srv, unsigned i);

/* ---- UDP ---------------------------------------------------------------
 * tick_dgram_server_start() leases every address of a list as SOCK_DGRAM
 * and runs one task per lease that awaits readiness, then receives with
 * recvmmsg() in batches of up to TICK_DGRAM_BATCH datagrams until EAGAIN,
 * calling fn once per batch. A datagram longer than TICK_DGRAM_MAX is
 * truncated (its `truncated` flag set). fn runs in that task's step (the
 * instance's scope); it may reply with sendto() on fd. The buffers are
 * the server's and valid only during the call. When the lease ends the
 * task ends; tick_dgram_server_stats gives the counts. */
#define TICK_DGRAM_BATCH 32
#define TICK_DGRAM_MAX 2048

typedef struct tick_dgram {
    const void *data;
    size_t len;
    bool truncated;
    const struct sockaddr *peer;
    socklen_t peer_len;
} tick_dgram;

typedef void (*tick_dgram_fn)(void *user, int fd, const tick_dgram *msgs, unsigned n);
typedef struct tick_dgram_server tick_dgram_server;

TICK_API int tick_dgram_server_start(tick_instance *in, const char *listen,
                                     tick_dgram_fn fn, void *user,
                                     tick_dgram_server **out);

/* The same with options: max_datagram (0: TICK_DGRAM_MAX; at most
 * TICK_DGRAM_MAX_LIMIT) sizes each of the batch's buffers, so a larger
 * one (statsd: 64 KiB datagrams) is received whole, and a longer one is
 * truncated (flagged) at that size. The buffers are
 * allocated once, at start; the pages a short datagram does not reach
 * are never touched (not resident). */
#define TICK_DGRAM_MAX_LIMIT (1u << 20)
struct tick_dgram_config {
    const char *listen;          /* "HOST:PORT[, ...]" (tick/listen.h) */
    tick_dgram_fn fn;
    void *user;
    size_t max_datagram;
    /* optional: called (with user) once every lease has ended (a reload
     * retired the incarnation; not on a cancel): the cue to stop what
     * else keeps the instance from draining, a periodic timer say */
    void (*ended)(void *user);
};
TICK_API int tick_dgram_server_start_cfg(tick_instance *in, const struct tick_dgram_config *cfg,
                                         tick_dgram_server **out);
/* The socket of the i-th lease (for setsockopt: SO_RCVBUF), -1 past the
 * last. The daemon's: do not close it. */
TICK_API int tick_dgram_server_fileno(const tick_dgram_server *d, unsigned i);
/* datagrams received, batches (recvmmsg calls that returned some) */
TICK_API void tick_dgram_server_counts(const tick_dgram_server *d, uint64_t *datagrams,
                                       uint64_t *batches);

#ifdef __cplusplus
}
#endif
#endif /* TICK_SERVER_H */
