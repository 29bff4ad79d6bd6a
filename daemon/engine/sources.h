/*
 * sources.h — teardown hooks of the result sources other than timers
 * (io.c, signal.c, process.c, pool.c). Not installed.
 *
 * Each module keeps its per-loop state behind one pointer in struct
 * tick_loop, created lazily on first use. tick_loop_close() calls the
 * hooks below once it knows no future can still be resolved from outside
 * (loop->active == 0): at that point the modules hold only internal
 * watches (the signalfd, the pool's eventfd, pidfds of cancelled children
 * being reaped, the EMFILE spare fd), which the hooks release. After a
 * hook the module is back to its initial state, so if tick_loop_close()
 * still refuses (-EBUSY, say for a user tick_fd left open) the loop stays
 * fully usable and the state is rebuilt on demand.
 *
 * Order (pool first: its workers may still be finishing an abandoned job
 * and ring the eventfd; they must be joined before anything is closed):
 *     tick__pool_shutdown(loop);
 *     tick__process_shutdown(loop);
 *     tick__signal_shutdown(loop);
 *     tick__io_shutdown(loop);
 */
#ifndef TICK_ENGINE_SOURCES_H
#define TICK_ENGINE_SOURCES_H

#include "internal.h"

/* Join the worker threads (waiting for running jobs, whose results are
 * discarded), drop abandoned jobs, close the eventfd. */
TICK_HIDDEN void tick__pool_shutdown(tick_loop *loop);
/* SIGKILL and reap (blocking, but only SIGKILLed children) every child
 * still watched; close the pidfds. */
TICK_HIDDEN void tick__process_shutdown(tick_loop *loop);
/* Close the signalfd. The signals stay blocked in the thread (unblocking
 * would run their default action on anything pending). */
TICK_HIDDEN void tick__signal_shutdown(tick_loop *loop);
/*
 * An engine-internal observer of a signal (process.c's SIGCHLD for the
 * subreaper): fn(loop, signo) is called in the resolve phase for each
 * delivery the signalfd reads, before the waiters complete, so it must
 * only complete futures or schedule handles. Unlike a tick_signal_wait()
 * it is no source: it keeps no scope open, does not count as something
 * that can still happen (loop->active), and never blocks
 * tick_loop_close(), which drops it with the signalfd. The signal is owned
 * by the loop from then on, as for a wait. One per signal; NULL removes it.
 * 0 or -errno.
 */
typedef void (*tick__signal_hook_fn)(tick_loop *loop, int signo);
TICK_HIDDEN int tick__signal_hook(tick_loop *loop, int signo, tick__signal_hook_fn fn);

/* Close the spare fd kept for EMFILE. */
TICK_HIDDEN void tick__io_shutdown(tick_loop *loop);
/* Free the stream buffers kept for reuse (bufpool.c). */
TICK_HIDDEN void tick__bufs_shutdown(tick_loop *loop);

#endif
