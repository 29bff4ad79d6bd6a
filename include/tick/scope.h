/*
 * tick/scope.h — scopes: who owns every source of work on the loop.
 *
 * A scope owns every source created while it is current:
 *   tasks; timers, and handles scheduled with tick_call_soon() or parked
 *   in a future's done-callback list; tick_fds; thread-pool jobs; child
 *   processes; signal waits; waits on an Event, Queue, Semaphore or Lock.
 * A source's scope is fixed when it is initialised (a task, a tick_fd) or
 * first armed (a handle, a timer). Scheduling or waking it never moves it:
 * a task woken by another instance's Event still runs in its own scope.
 * While the loop runs a handle, that handle's scope is current, so code
 * creates into its own scope without passing one around.
 *
 * Scopes nest (the daemon's instance > a server > a connection); the
 * loop's root scope (tick_loop_scope()) is the parent of last resort and
 * owns whatever no other scope was current for.
 *
 *     struct job {
 *         tick_scope scope;        // owns whatever the worker creates
 *         tick_task task;
 *     };
 *
 *     static int worker_step(tick_task *t)
 *     {
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 10 * TICK_SEC), rc);
 *         TICK_RETURN(t, rc);      // -ECANCELED once the scope is cancelled
 *         TICK_END(t);
 *     }
 *     static const tick_task_class worker_class = { .step = worker_step };
 *     ...
 *     tick_scope_init(&j->scope, loop, NULL, "job");  // a child of the current
 *     tick_scope *prev = tick_scope_enter(loop, &j->scope);
 *     tick_task_start(loop, &j->task, "worker", &worker_class);
 *     tick_future_unref(&j->task.future);            // the engine keeps it going
 *     tick_scope_enter(loop, prev);
 *     ...
 *     tick_scope_cancel(&j->scope);                  // the worker sees -ECANCELED
 *     tick_future *drained = tick_scope_drain(&j->scope);
 *     tick_loop_run_until_complete(loop, drained);   // or await it in a task
 *     tick_future_unref(drained);
 *     tick_scope_close(&j->scope);                   // 0: nothing of it is left
 *
 * Cancel (tick_scope_cancel), recursively for child scopes:
 *   - tasks are cancelled (their pending await returns -ECANCELED);
 *   - timers are stopped, handles unscheduled (queued or parked);
 *   - waits on signals and sync primitives are cancelled;
 *   - queued pool jobs are dropped (running ones finish: they cannot be
 *     interrupted, and the scope stays open until fn has returned);
 *   - tick_fds get their pending operations cancelled now, and are closed
 *     in the next tick if their owner has not closed them by then (the
 *     tick_fd memory stays valid for the owner's tick_fd_close() until
 *     tick_scope_close());
 *   - child processes' process groups get SIGTERM, then SIGKILL after the
 *     scope's kill grace (tick_scope_set_kill_grace, default 2 s).
 * A cancelled scope still accepts new timers and handles (cleanup code may
 * need them); a task started in it is cancelled at once, and a scope
 * initialised under it starts cancelled.
 *
 * Drain: tick_scope_drain() returns a future that completes (result 0)
 * once nothing of the scope is left: no task alive, no timer armed, no
 * handle queued or parked, no tick_fd open, no pool job queued or running,
 * no child process unreaped, no wait pending, no child scope open.
 *
 * Accounting: the loop reads CLOCK_MONOTONIC only when the running scope
 * changes, and charges the interval to the scope that ran (its handler
 * time); pool jobs charge their thread CPU time (CLOCK_THREAD_CPUTIME_ID).
 * Counts of handles run, tasks, fds, jobs and children are kept as well.
 * A child scope's figures fold into its parent when it is closed, so
 * inclusive totals never lose time.
 *
 * Ownership and threads: a scope is the embedder's memory. It must be
 * closed (tick_scope_close() returning 0) before that memory is freed, and
 * it must be closed before its parent; tick_loop_close() refuses (-EBUSY)
 * while any scope is open. A handle keeps the scope it was first armed
 * in: once that scope is closed, re-initialise the handle (or give it a
 * scope with tick_handle_set_scope()) before arming it again. Loop-thread-only, except
 * tick_scope_name() from a pool job of the scope.
 */
#ifndef TICK_SCOPE_H
#define TICK_SCOPE_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tick_future;
struct tick_task;

/* The kinds of source a scope counts (tick_scope_stats.count[]). */
enum tick_scope_kind {
    TICK_SCOPE_TASK = 0,     /* tasks alive */
    TICK_SCOPE_TIMER,        /* timers armed */
    TICK_SCOPE_HANDLE,       /* handles parked in a done-callback list */
    TICK_SCOPE_FD,           /* tick_fds open */
    TICK_SCOPE_JOB,          /* pool jobs queued or running */
    TICK_SCOPE_CHILD,        /* child processes not yet reaped */
    TICK_SCOPE_SIGNAL,       /* signal waits pending */
    TICK_SCOPE_WAIT,         /* Event/Queue/Semaphore/Lock waits pending */
    TICK_SCOPE_KINDS
};

/* A read-only snapshot. Times in nanoseconds. */
typedef struct tick_scope_stats {
    uint64_t handler_ns;      /* loop-thread time of the scope's handles */
    uint64_t job_cpu_ns;      /* thread CPU time of its pool jobs */
    uint64_t handles_run;     /* handles (task steps included) run */
    uint64_t tasks_started;
    uint64_t fds_opened;
    uint64_t jobs_run;        /* pool jobs whose fn returned */
    uint64_t children_spawned;
    uint64_t bytes_in, bytes_out;   /* counted by the SDK's streams */
    uint64_t count[TICK_SCOPE_KINDS];   /* alive now, per kind */
    uint64_t queued;          /* handles in the ready queue now */
} tick_scope_stats;

typedef struct tick_scope tick_scope;
typedef void (*tick_scope_failed_fn)(tick_scope *s, struct tick_task *t, int err);

struct tick_scope {
    /* private: use the functions below */
    tick_loop *loop;
    tick_scope *parent;
    const char *name;          /* not owned */
    tick_link sibling;         /* in parent->children */
    tick_link children;
    tick_link tasks;           /* tick_task.step.scope_link */
    tick_link timers;          /* tick_timer.handle.scope_link, while armed */
    tick_link parked;          /* plain handles in done-callback lists */
    tick_link sources;         /* fds, jobs, children, waits (engine) */
    tick_link orphans;         /* fds a cancel closed, owner not released */
    uint64_t live;             /* members of every kind + open child scopes */
    uint64_t kill_grace;       /* ns between SIGTERM and SIGKILL */
    uint32_t flags;
    struct tick_future *drain; /* pending drain future, or NULL */
    void *kill_timer;          /* SIGKILL after the grace (scope.c), or NULL */
    tick_handle drain_check;
    tick_handle fd_reaper;
    tick_scope_failed_fn on_failed;
    void *user;
    tick_scope_stats st;       /* exclusive; children fold in on close */
};

/* Initialise s as a child of parent (NULL: the loop's current scope).
 * name is shown in logs and lists; it must outlive the scope. */
TICK_API void tick_scope_init(tick_scope *s, tick_loop *loop, tick_scope *parent,
                              const char *name);

/* The loop's root scope, and the scope current now. */
TICK_API tick_scope *tick_loop_scope(tick_loop *loop);
TICK_API tick_scope *tick_scope_current(tick_loop *loop);
/* Make s current (for code run outside a handle of it, such as a plugin's
 * start()); returns the previous one, to be restored the same way. */
TICK_API tick_scope *tick_scope_enter(tick_loop *loop, tick_scope *s);

TICK_API const char *tick_scope_name(const tick_scope *s);
TICK_API tick_scope *tick_scope_parent(const tick_scope *s);
/* The scope a handle belongs to (NULL before its first arm). */
TICK_API tick_scope *tick_handle_scope(const tick_handle *h);
/* Give an unarmed handle to s explicitly (daemon-owned handles armed from
 * inside an instance's code, say). -EBUSY if h is armed. */
TICK_API int tick_handle_set_scope(tick_handle *h, tick_scope *s);

/* Cancel everything s and its child scopes own (see above). Returns how
 * many sources were cancelled. Idempotent: cancelling again catches what
 * was armed since. The root scope is never cancelled (0): it owns the
 * scopes' own bookkeeping; cancel the scopes you made. */
TICK_API size_t tick_scope_cancel(tick_scope *s);
TICK_API bool tick_scope_cancelled(const tick_scope *s);
/* SIGTERM-to-SIGKILL delay for the scope's children (default 2 s). */
TICK_API void tick_scope_set_kill_grace(tick_scope *s, uint64_t ns);

/* True when nothing of s is left (see Drain above). */
TICK_API bool tick_scope_empty(const tick_scope *s);
/* A future (one reference for the caller) done once s is empty: at once
 * if it is empty now. NULL on -ENOMEM. */
TICK_API struct tick_future *tick_scope_drain(tick_scope *s);
/* Close an empty scope: its figures fold into its parent and it leaves the
 * parent's children. -EBUSY (nothing changed) if anything is left, or if
 * it has child scopes; -EINVAL for the root scope. Tick_fds the cancel
 * closed and their owner never released are freed here. */
TICK_API int tick_scope_close(tick_scope *s);

/* Called inline when a task of s (not of a child scope) finishes with an
 * error other than -ECANCELED. */
TICK_API void tick_scope_set_failed_hook(tick_scope *s, tick_scope_failed_fn fn,
                                         void *user);
TICK_API void *tick_scope_user(const tick_scope *s);

/* Snapshot: inclusive adds the open child scopes' figures (closed ones
 * are folded in already). */
TICK_API void tick_scope_get_stats(const tick_scope *s, tick_scope_stats *out,
                                   bool inclusive);
/* Call fn for each live source of s (not of child scopes), with its kind
 * and name ("?" if it has none); handles queued for the next run phase
 * are listed as TICK_SCOPE_HANDLE. Returns how many. fn must not change
 * the scope. */
typedef void (*tick_scope_list_fn)(void *user, enum tick_scope_kind kind,
                                   const char *name);
TICK_API size_t tick_scope_list(const tick_scope *s, tick_scope_list_fn fn, void *user);
/* "task", "timer", ... for a kind. */
TICK_API const char *tick_scope_kind_name(enum tick_scope_kind kind);

/* Charge the time and handle count of s's handles to its parent instead
 * of s (on), or to s (off, the default). With many small sibling scopes
 * (one per connection) this spares a clock read at every switch between
 * them; s still counts its own tasks, fds and bytes. A child scope of s
 * charges itself unless set too. Ignored for the root scope. */
TICK_API void tick_scope_charge_parent(tick_scope *s, bool on);

/* Scope accounting on/off for the loop (on by default): off, the loop
 * still tracks ownership but reads no clock on scope switches. */
TICK_API void tick_loop_set_accounting(tick_loop *loop, bool on);

#ifdef __cplusplus
}
#endif
#endif /* TICK_SCOPE_H */
