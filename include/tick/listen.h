/*
 * tick/listen.h — listening sockets owned by the daemon, leased by address.
 *
 * A plugin never binds its own listener. It asks the daemon for a lease on
 * an address; the daemon owns the socket (and its one tick_fd) and hands
 * the lease what arrives on it. Because the socket is the daemon's, a
 * reload can start an instance's new incarnation on the very socket its
 * old incarnation serves: no connect is refused while one drains (the
 * successor leases the same address), a stateful instance is stopped and
 * started while the daemon holds its socket open (connects wait in the
 * backlog), and sockets passed by systemd (LISTEN_FDS) serve the
 * addresses they are bound to without the plugin knowing.
 *
 *     #include <unistd.h>
 *     #include <tick/tick.h>
 *
 *     struct srv { tick_task task; tick_lease *lease; unsigned served; };
 *
 *     static int srv_step(tick_task *t)
 *     {
 *         struct srv *s = tick_container_of(t, struct srv, task);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         for (;;) {
 *             TICK_AWAIT(t, tick_lease_accept(s->lease), rc);
 *             if (rc < 0)          // -ESHUTDOWN: replaced, finish up;
 *                 break;           // -ECANCELED: the instance is stopping
 *             s->served++;         // rc: a new non-blocking fd, ours
 *             close((int)rc);
 *         }
 *         TICK_RETURN(t, 0);
 *         TICK_END(t);
 *     }
 *     static const tick_task_class srv_class = { .step = srv_step };
 *
 *     static int srv_start(tick_instance *in)
 *     {
 *         struct srv *s = tick_instance_data(in);
 *         int rc = tick_instance_listen(in, "127.0.0.1:0", SOCK_STREAM, &s->lease);
 *         if (rc < 0)
 *             return rc;           // the error text is set for the log
 *         if ((rc = tick_task_start(tick_instance_loop(in), &s->task, "accept",
 *                                   &srv_class)) < 0)
 *             return rc;
 *         tick_future_unref(tick_task_future(&s->task));
 *         tick_log(TICK_LOG_INFO, "on %s", tick_lease_address(s->lease));
 *         return 0;
 *     }
 *     TICK_PLUGIN(.name = "srv", .version = "1.0",
 *                 .instance_size = sizeof(struct srv), .start = srv_start);
 *
 * Addresses: "HOST:PORT", "[V6]:PORT", ":PORT" (any IPv4 address), as
 * tick_parse_listen() reads them; HOST is numeric, or "localhost"
 * (127.0.0.1): nothing is resolved. A `listen =` key holding a list is
 * split at commas (blanks around items are ignored) by
 * tick_listen_check() and tick_instance_listen_list().
 *
 * Sharing: one socket per (type, family, address, port) as written. Every
 * incarnation of one instance (the old one draining and its successor)
 * may lease it; another instance asking for the same address gets
 * -EADDRINUSE. Connections (TCP) and readiness (UDP) go to the newest
 * lease that waits, so a successor gets new connections as soon as it
 * awaits. A socket passed by systemd whose bound address matches (a
 * wildcard address matches a wildcard address of either family) is used
 * instead of binding. Options: SO_REUSEADDR always; SO_REUSEPORT when the
 * instance section says `reuse_port = yes` (a daemon key, not passed to
 * configure()); IPV6_V6ONLY on IPv6 sockets; backlog SOMAXCONN.
 *
 * End of a lease: when the daemon retires the incarnation (a reload that
 * changed it, or it was removed), its leases end first: the pending
 * accept/readable completes with -ESHUTDOWN, and so does every later
 * call. That is the plugin's cue to stop accepting and finish its
 * connections; the daemon cancels what is still running after the
 * instance's stop_timeout. Cancelling the instance's scope (stop,
 * shutdown) ends its leases too, and a task of it awaiting one gets
 * -ECANCELED. The socket itself is never closed by a lease's end: the
 * daemon closes a socket no lease uses at the end of the reload (or at
 * shutdown); a socket passed by systemd is never closed.
 *
 * Waiting: one accept or readable pending per lease (a second gives a
 * future failed with -EBUSY). Await it from a task of the instance: the
 * scope's cancel then ends the wait. Every function returning a future
 * gives the caller one reference (TICK_AWAIT consumes it); NULL = -ENOMEM.
 *
 * Ownership: the lease is the daemon's memory and stays valid (ended or
 * not) until the instance is freed, after release(). Loop-thread-only.
 */
#ifndef TICK_LISTEN_H
#define TICK_LISTEN_H

#include <sys/socket.h>
#include "future.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tick_lease tick_lease;

/* Most addresses one list may hold. */
#define TICK_LISTEN_MAX 16

/* Check a comma-separated address list (for configure(): binds nothing).
 * Returns how many addresses it holds (1..TICK_LISTEN_MAX) or -EINVAL. */
TICK_API int tick_listen_check(const char *list);

/* Lease addr (one address) for in; type SOCK_STREAM or SOCK_DGRAM. 0 and
 * *out, or -errno (-EINVAL bad address or type, -EADDRINUSE leased by
 * another instance, bind()'s errno...) with tick_instance_error() text
 * set ("cannot listen on ADDR: ..."). Call from start() or later. */
TICK_API int tick_instance_listen(tick_instance *in, const char *addr, int type,
                                  tick_lease **out);
/* Lease every address of a comma-separated list into out[0..max-1]: the
 * number of leases, or -errno (then none of them is left). */
TICK_API int tick_instance_listen_list(tick_instance *in, const char *list, int type,
                                       tick_lease **out, size_t max);

/* TCP: completes with a new connection's fd (non-blocking, close-on-exec,
 * the caller's to close), or -ESHUTDOWN once the lease ended, -ECANCELED,
 * -EBUSY (an accept already pending), -EINVAL (not a stream lease).
 * Out of fds (EMFILE) the daemon sheds connections with a spare fd and
 * retries later: it never spins, and the wait simply stays pending. */
TICK_API tick_future *tick_lease_accept(tick_lease *l);
/* UDP: completes with EPOLLIN once a datagram waits. Then receive with
 * recvmmsg()/recvfrom(MSG_DONTWAIT) on tick_lease_fileno() until EAGAIN
 * before awaiting again (the daemon checks with a peek before it waits).
 * Errors as for accept. */
TICK_API tick_future *tick_lease_readable(tick_lease *l);

/* The socket (to recvfrom/sendto on a UDP lease), or -EBADF once the
 * lease ended. Never close it: it is the daemon's. */
TICK_API int tick_lease_fileno(const tick_lease *l);
/* The address bound, port resolved ("127.0.0.1:41234", "[::1]:7000"):
 * for logs, and to learn the port of ":0". Valid as long as the lease. */
TICK_API const char *tick_lease_address(const tick_lease *l);
/* SOCK_STREAM or SOCK_DGRAM. */
TICK_API int tick_lease_type(const tick_lease *l);
/* End the lease now (pending wait: -ESHUTDOWN). NULL or ended: nothing. */
TICK_API void tick_lease_end(tick_lease *l);

#ifdef __cplusplus
}
#endif
#endif /* TICK_LISTEN_H */
