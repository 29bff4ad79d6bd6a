/*
 * listen.h — the daemon's listeners and the instances' leases on them
 * (tick/listen.h is the plugin side).
 *
 * A registry of listening sockets keyed by (type, family, address, port).
 * Each listener owns its socket and one tick_fd, in the loop's root scope
 * (the daemon's own work never belongs to an instance), and multiplexes
 * that tick_fd's one accept (TCP) or readable (UDP) operation to the
 * waits of its leases, newest lease first. Leases belong to an instance
 * (tick_instance.leases) and are ended by the instance's stop path: when
 * it retires (tickd_listen_end_instance(in, -ESHUTDOWN)) and when its
 * scope is cancelled (-ECANCELED); their memory goes with the instance
 * (tickd_listen_free_instance). A listener no lease uses is closed by
 * tickd_listen_sweep() at the end of a reload and at shutdown, so a
 * stateful instance's socket stays open between its stop and its start;
 * a socket passed by systemd is never closed before exit.
 * Loop-thread-only.
 */
#ifndef TICKD_LISTEN_H
#define TICKD_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "tick/tick.h"

/* Before any lease: the loop the listeners' tick_fds belong to. */
void tickd_listen_init(tick_loop *loop);
/* Socket activation: take the sockets passed in LISTEN_FDS (LISTEN_PID
 * must be ours; names from LISTEN_FDNAMES), then unset the three
 * variables. Returns how many sockets were taken (logged), or 0. */
int tickd_listen_activation(void);
/* End every lease of in: pending waits complete with err (-ESHUTDOWN on
 * retirement, -ECANCELED on a scope cancel), later calls fail with it. */
void tickd_listen_end_instance(tick_instance *in, int err);
/* Free the leases of an instance being freed (after release()). */
void tickd_listen_free_instance(tick_instance *in);
/* Does in hold a lease that has not ended? */
bool tickd_listen_instance_leases(const tick_instance *in);
/* Close the listeners no lease uses (not those systemd passed). Returns
 * how many were closed. */
size_t tickd_listen_sweep(void);
/* Close every listener, passed ones too (before the loop closes). */
void tickd_listen_shutdown(void);
/* Connections the engine shed for EMFILE on l's socket so far (0 once
 * the lease ended). */
uint64_t tickd_lease_shed(const tick_lease *l);
/* Listeners open now (tests, stats). */
size_t tickd_listen_count(void);

#endif
