/*
 * instance.h — plugin instances: one per [plugin:NAME] section.
 *
 * Life: tickd_instance_new() loads the module and runs configure() for
 * every key and once with (NULL, NULL); tickd_instance_start() calls
 * start() with the instance's scope current, so every source it creates
 * (tasks, timers, handles, fds, jobs, children, waits — and whatever those
 * create) belongs to the instance. Stopping is a batch (tickd_stop_begin):
 * cancel the scopes, wait until each is drained or the deadline passes,
 * then stop(), release(), close the scope, free, and drop the module
 * (dlclose with the last instance). The scope is closed only when nothing
 * of it is left, so no code of an unloaded .so can ever run: an instance
 * whose tasks or jobs outlive the deadline still gets stop(), but its
 * memory and module stay until its scope has drained.
 * Loop-thread-only.
 */
#ifndef TICKD_INSTANCE_H
#define TICKD_INSTANCE_H

#include "config.h"
#include "keys.h"
#include "module.h"
#include "tick/tick.h"

enum tickd_instance_state {
    TICKD_INSTANCE_CONFIGURED,  /* configure() passed; not started */
    TICKD_INSTANCE_RUNNING,     /* start() returned 0 */
    TICKD_INSTANCE_FAILED,      /* start() failed; must still be stopped */
    TICKD_INSTANCE_STOPPING,    /* in a stop batch */
    TICKD_INSTANCE_ZOMBIE,      /* stopped past the deadline, tasks alive */
};

struct tickd_stop;

struct tick_instance {
    tick_link link;             /* in the owner's list (running, pending) */
    tick_link all;              /* in the registry of live instances */
    struct tickd_section *conf; /* own copy of the section */
    struct tickd_module *mod;
    tick_loop *loop;
    void *data;                 /* instance_size zeroed bytes */
    struct tickd_arena *arena;  /* values of its key table (keys.h) */
    tick_scope scope;           /* owns everything the plugin created */
    char scope_name[80];        /* "plugin:NAME", the scope's and logs' */
    tick_future *drain;         /* while waiting for the scope to drain */
    tick_handle drained;        /* drain's done-callback (root scope) */
    struct tickd_stop *batch;   /* while STOPPING */
    tick_link leases;           /* tick_lease.in_link (listen.c) */
    tick_link servers;          /* tick_server/tick_dgram_server (server.c) */
    enum tickd_instance_state state;
    bool retiring;              /* a reload is removing or replacing it */
    bool graceful;              /* STOPPING: its leases ended, not cancelled
                                 * yet: it finishes its work by itself */
    uint64_t reload_t0;         /* tick_now() of the reload that made it, 0 */
    uint64_t retire_t0;         /* tick_now() of the reload retiring it, 0 */
    bool stop_called;
    bool released;
    bool has_err;
    uint64_t started_at;        /* tick_now() at start */
    uint64_t tasks_failed;
    char err[512];              /* tick_instance_error() text */
    char status[160];           /* tick_instance_set_status() text */
    bool unready;               /* tick_instance_set_ready(false): starts ready */
    char ready_reason[160];     /* its reason ("" when ready) */
};

/* Load and configure an instance of sec. 0, or < 0 with err set and
 * nothing left behind. */
int tickd_instance_new(tick_loop *loop, const struct tickd_section *sec,
                       tick_instance **out, struct tickd_error *err);
/* Free a configured instance that was never started: release(), free,
 * drop the module. */
void tickd_instance_discard(tick_instance *in);
/* start(). On failure err is "FILE:LINE: plugin:NAME: start failed:
 * MESSAGE" (the section's header line), the state FAILED, and the
 * instance must go through a stop batch (its tasks drained, stop() and
 * release() called). On success logs which module file and which load
 * of it the incarnation runs. */
int tickd_instance_start(tick_instance *in, struct tickd_error *err);
/* The module's reconfigure() for every key whose value differs between
 * in's section and sec (same keys in the same order: the caller checked
 * with tickd_instance_can_reconfigure), then (NULL, NULL). 0: accepted,
 * in's section is now a copy of sec; < 0: restart instead. With a key
 * table: the changed live keys are stored into the instance memory, then
 * reconfigure(NULL, NULL) if the module has it. */
int tickd_instance_reconfigure(tick_instance *in, const struct tickd_section *sec);
/* Does the module have reconfigure() and do the sections differ in
 * values only? With a key table: do they differ in TICK_KEY_LIVE keys
 * only (reconfigure() optional)? */
bool tickd_instance_can_reconfigure(const tick_instance *in,
                                    const struct tickd_section *sec);

/* Stop every instance of list (it ends empty) within timeout; then
 * done(arg) runs from a handle, exactly once (done may be NULL). Out of
 * memory, the batch is one of a static reserve, and all is as ever (0).
 * -ENOMEM only when that reserve is used up too: then the instances were
 * stopped without waiting for their tasks, and done(arg) still runs from
 * a handle (at once, before the return, only with 64 such owed).
 * TICKD_STOP_NOW cancels each scope at once. TICKD_STOP_DRAIN (a reload
 * retiring an incarnation) ends the leases of an instance that holds any
 * (-ESHUTDOWN: it stops accepting and finishes its connections by
 * itself) and cancels its scope only after timeout, then waits up to
 * timeout once more; an instance without leases is cancelled at once. */
enum tickd_stop_mode { TICKD_STOP_NOW, TICKD_STOP_DRAIN };
typedef void (*tickd_stop_done_fn)(void *arg);
int tickd_stop_begin(tick_loop *loop, tick_link *list, uint64_t timeout,
                     enum tickd_stop_mode mode, tickd_stop_done_fn done, void *arg);
/* Old incarnations of instance NAME still stopping (draining or past
 * their deadline), and: force the oldest still draining on (cancel its
 * scope now, as its deadline would); false if none was draining. */
unsigned tickd_instance_draining(const char *name);
bool tickd_instance_hurry_oldest(const char *name);
/* Shutdown: cancel every incarnation still draining on its own. */
void tickd_instance_hurry_all(void);

/* Called when an instance's status text changes (main sends STATUS=). */
void tickd_instance_set_status_hook(void (*fn)(void));
/* Live instances in the registry (any state), and an iterator. */
size_t tickd_instance_count(void);
tick_instance *tickd_instance_next(tick_instance *prev);
/* Log a summary line per live instance (SIGUSR1). */
void tickd_instance_log_stats(void);
/* That line's text, "module=... state=... status='...'" (one line: the
 * status text has no newline), as `tickd status` prints it after
 * "plugin:NAME: ". Returns snprintf's count. */
int tickd_instance_format_stats(tick_instance *in, char *buf, size_t len);

#endif
