/*
 * internal.h — the engine's private structures. Not installed; plugins
 * never see these. Functions here are tick__-prefixed and hidden.
 */
#ifndef TICK_ENGINE_INTERNAL_H
#define TICK_ENGINE_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "tick/loop.h"
#include "tick/future.h"
#include "tick/task.h"
#include "tick/timer.h"
#include "tick/scope.h"

#define TICK_HIDDEN __attribute__((visibility("hidden")))

/*
 * An epoll source: one per fd, the only thing the poll phase dispatches.
 * Registered once (edge-triggered for I/O fds), so waiting again costs no
 * epoll_ctl. The epoll data carries fd | generation << 32; the loop's fd
 * table maps fd -> watch, and a mismatched generation means the fd was
 * closed (and maybe reused) earlier in this batch: the event is dropped.
 */
typedef struct tick__watch tick__watch;
struct tick__watch {
    int fd;
    uint32_t gen;           /* set by tick__watch_add */
    uint32_t events;        /* epoll mask registered */
    /* called in the resolve phase with the epoll event bits */
    void (*on_events)(tick__watch *w, uint32_t events);
};

/*
 * A doorbell (doorbell.c): an eventfd watch, a locked queue of links and
 * a rung flag, for work posted from other threads. post() is any-thread;
 * everything else is loop-thread-only. on_ring runs in the resolve phase
 * with the batch taken (links still linked in it; the callback empties it).
 */
typedef struct tick__doorbell tick__doorbell;
typedef void (*tick__doorbell_fn)(tick__doorbell *db, tick_link *batch);
struct tick__doorbell {
    tick__watch w;                /* the eventfd */
    pthread_mutex_t lock;
    tick_link queue;              /* posted, not taken yet (locked) */
    bool rung;                    /* written since the last take (locked) */
    tick__doorbell_fn on_ring;
};

/* 0 or -errno (eventfd, or the watch's -ENOMEM). */
TICK_HIDDEN int tick__doorbell_open(tick_loop *loop, tick__doorbell *db, tick__doorbell_fn fn);
/* Any thread: queue l (unlinked) and ring if not rung yet; -EBUSY if l
 * is linked already. */
TICK_HIDDEN int tick__doorbell_post(tick__doorbell *db, tick_link *l);
/* Any thread: wake the loop without posting. */
TICK_HIDDEN void tick__doorbell_ring(tick__doorbell *db);
/* Nothing posted and not taken yet. */
TICK_HIDDEN bool tick__doorbell_idle(tick__doorbell *db);
/* Take and hand over what is posted now, as a ring would. */
TICK_HIDDEN void tick__doorbell_collect(tick__doorbell *db);
TICK_HIDDEN void tick__doorbell_close(tick_loop *loop, tick__doorbell *db);

/* The timer heap: a 4-ary min-heap of (deadline, timer) pairs. */
typedef struct tick__heap_slot {
    uint64_t deadline;
    tick_timer *timer;
} tick__heap_slot;

typedef struct tick__heap {
    tick__heap_slot *slots;
    uint32_t len, cap;
} tick__heap;

struct tick_loop {
    tick_link ready;              /* handles for the next run phase */
    tick_link running;            /* the snapshot being run */
    tick_link before_poll;        /* tick_call_before_poll: this tick's end */
    tick_link deferred;           /* tick__deferred, for the next resolve */
    uint64_t now;                 /* cached CLOCK_MONOTONIC ns */
    uint64_t tick;                /* ticks started */
    int polled;                   /* events the last poll returned */
    int epoll_fd;
    bool stopping;
    bool in_run;                  /* inside tick_loop_run* */
    bool in_tick;                 /* inside tick_loop_run_once */

    /* fd table: watches[fd], grown on demand */
    tick__watch **watches;
    uint32_t nwatches;
    uint32_t watch_gen;

    tick__heap timers;
    uint64_t timer_seq;

    /* cross-thread call_soon (tick_call_threadsafe, tick_loop_wakeup) */
    tick__doorbell bell;

    /* number of things that may still resolve a future from outside the
     * ready queue (fd waiters, jobs, children); lets run_until_complete
     * detect that nothing can ever happen */
    uint64_t active;

    tick_task *current_task;

    /* scopes (scope.c): the root owns what no other scope was current
     * for; cur is the scope whose code runs now. While accounting, the
     * interval since acct_t0 is charged to cur at the next switch. */
    tick_scope root;
    tick_scope *cur_scope;
    tick_scope *acct_scope;       /* charged for the time since acct_t0: cur
                                   * or, for a scope that charges its
                                   * parent, that parent */
    uint64_t acct_t0;             /* 0: not timing (outside a run phase) */
    uint64_t acct_ran0;           /* handles_run when cur_scope was entered */
    uint64_t acct_ran;            /* handles run in this run phase so far */
    bool accounting;

    FILE *trace;
    uint64_t slow_ns;
    tick_slow_fn slow_fn;
    void *slow_user;

    tick_loop_stats stats;

    /* per-loop state of the other result sources (sources.h), lazily made */
    struct tick__io *io;          /* io.c: spare fd for EMFILE */
    struct tick__signals *sig;    /* signal.c: signalfd, mask, waiters */
    struct tick__procs *procs;    /* process.c: children being reaped */
    struct tick__pool *pool;      /* pool.c: worker threads, job queues */
    struct tick__bufs *bufs;      /* bufpool.c: free stream buffers */
};

/*
 * Deferred resolve-phase work (libuv's pending queue): an engine source
 * that stopped a bounded batch of work (a tick_fd over its burst, an
 * accept that shed enough connections) and must go on without an event —
 * an edge-triggered fd that is still ready sends none — defers itself to
 * the start of the next resolve phase. The list is taken whole before it
 * runs, so work deferred again waits one more tick, and a non-empty list
 * makes the poll not block. fn must only complete futures or schedule
 * handles. No allocation.
 */
typedef struct tick__deferred tick__deferred;
struct tick__deferred {
    tick_link link;
    void (*fn)(tick__deferred *d);
};
static inline void tick__deferred_init(tick__deferred *d, void (*fn)(tick__deferred *))
{
    tick_link_init(&d->link);
    d->fn = fn;
}
static inline void tick__defer(tick_loop *loop, tick__deferred *d);
static inline void tick__defer_cancel(tick__deferred *d) { tick_link_remove(&d->link); }

/* Register / unregister a watch. del always does EPOLL_CTL_DEL before the
 * caller closes the fd, and invalidates the fd's events still in the batch
 * being processed. Both return 0 or -errno. */
TICK_HIDDEN int tick__watch_add(tick_loop *loop, tick__watch *w, int fd, uint32_t events);
TICK_HIDDEN int tick__watch_del(tick_loop *loop, tick__watch *w);

/* A pending result (see the source protocol below): the engine holds a
 * reference on f and the loop counts it as something that can still
 * happen from outside the ready queue (run_until_complete's -EDEADLK
 * test), from arm until settle. Used directly only by a tick_fd's
 * operations, which belong to the tick_fd's own source. */
static inline void tick__pending_arm(tick_loop *loop, tick_future *f)
{
    tick_future_ref(f);
    loop->active++;
}
static inline void tick__pending_settle(tick_loop *loop)
{
    assert(loop->active > 0);
    loop->active--;
}
/* Complete f (err < 0, else value) and end it: settle, drop the ref. */
TICK_HIDDEN void tick__pending_complete(tick_future *f, intptr_t value, int err);

static inline void tick__defer(tick_loop *loop, tick__deferred *d)
{
    if (!tick_link_linked(&d->link))
        tick_list_append(&loop->deferred, &d->link);
}

/* Timer heap (heap.c; the insert path is inline in heap.h) */
TICK_HIDDEN void tick__heap_remove(tick__heap *h, tick_timer *t);
TICK_HIDDEN void tick__heap_free(tick__heap *h);
static inline tick_timer *tick__heap_top(const tick__heap *h)
{ return h->len ? h->slots[0].timer : NULL; }

/*
 * A resolver timer calls its handle's function directly in the resolve
 * phase instead of scheduling the handle, so the futures it completes wake
 * their waiters in the same tick (DESIGN section 1). Its function must only
 * complete futures or schedule handles — never run user code.
 */
#define TICK__TIMER_RESOLVER 1u
TICK_HIDDEN void tick__timer_init_resolver(tick_timer *t, const char *name,
                                           const tick_handle_class *cls);

/* timer.c: fire the due timers (resolve phase); ms until the next, -1 if
 * none. Timers are for time only: work that must go on in the next tick
 * is deferred (below), not put on a 0-delay timer. */
TICK_HIDDEN void tick__timers_run(tick_loop *loop);
TICK_HIDDEN int tick__timers_timeout_ms(const tick_loop *loop);

/*
 * The source protocol (scope.c): every engine source (a tick_fd, a pool
 * job, a child process, a signal wait, a sync wait) embeds a tick__source
 * and goes through these four calls, so scope membership, the engine's
 * reference and the loop's active count are kept in one place:
 *   arm(loop, src, kind, name, f)  join the current scope; when f is
 *        given (the future the source will complete), hold the engine's
 *        reference on it and count it active: f is pending;
 *   settle(src)   f will not be completed by the source any more (it was
 *        cancelled): no longer active, but membership and reference stay
 *        while the source can still run (a pool job already running, a
 *        child not reaped yet);
 *   complete(src, value, err)  complete f if it is still pending, then done;
 *   done(src)     settle, leave the scope, drop the engine's reference on
 *        f (which may free the memory holding src: done comes last).
 * A cancelled scope calls the kind's cancel hook, which must end in done()
 * now or later. The sync waits have no f (they are completed by code in
 * the ready queue, never from outside) and neither has a tick_fd, whose
 * operations are pending futures of their own (tick__pending_*).
 */
typedef struct tick__source {
    tick_link link;           /* in scope->sources */
    tick_scope *scope;
    const char *name;         /* for tick_scope_list(); may be NULL */
    uint8_t kind;             /* enum tick_scope_kind */
    bool pending;             /* the future is counted active */
    /* the future the engine holds a reference on, 0 if none: it lives in
     * the same object, before src (a 40-byte source, as test_scope's
     * sizes check wants, instead of a 48-byte one with a pointer) */
    uint16_t fut_off;
} tick__source;

TICK_HIDDEN void tick__source_arm(tick_loop *loop, tick__source *src,
                                  enum tick_scope_kind kind, const char *name,
                                  tick_future *f);
TICK_HIDDEN void tick__source_settle(tick__source *src);
TICK_HIDDEN void tick__source_complete(tick__source *src, intptr_t value, int err);
TICK_HIDDEN void tick__source_done(tick__source *src);
/* The source stays the scope's memory but holds nothing any more (an fd
 * a cancel closed before its owner did): not live, freed by
 * tick__fd_scope_free() at tick_scope_close() unless done() comes first. */
TICK_HIDDEN void tick__source_orphan(tick__source *src);
static inline bool tick__source_armed(const tick__source *src) { return src->scope != NULL; }

/* Per-kind cancel hooks called by tick_scope_cancel (io.c, pool.c,
 * process.c, signal.c, sync.c). */
TICK_HIDDEN void tick__fd_scope_cancel(tick__source *src);
TICK_HIDDEN void tick__fd_scope_close(tick__source *src);   /* fd_reaper */
TICK_HIDDEN void tick__fd_scope_free(tick__source *src);    /* scope close */
TICK_HIDDEN void tick__job_scope_cancel(tick__source *src);
TICK_HIDDEN void tick__child_scope_cancel(tick__source *src);
TICK_HIDDEN void tick__child_scope_kill(tick__source *src);  /* after grace */
TICK_HIDDEN void tick__signal_scope_cancel(tick__source *src);
TICK_HIDDEN void tick__wait_scope_cancel(tick__source *src);

/* scope.c: the hot-path parts, called by loop.c, future.c, task.c and
 * timer.c. A handle's scope is fixed at its first arm. */
static inline void tick__handle_claim(tick_loop *loop, tick_handle *h)
{
    if (__builtin_expect(h->scope == NULL, 0))
        h->scope = loop->cur_scope;
}
/* Membership counters of a scope changed: a plain handle parked or
 * unparked, a timer armed or disarmed, a task started or finished. */
TICK_HIDDEN void tick__scope_emptied(tick_scope *s);
/* Inline: a timer's arm and a task's start pay two increments, no call
 * (kind TICK_SCOPE_KINDS: an open child scope, counted in live only). */
static inline void tick__scope_join(tick_scope *s, enum tick_scope_kind kind)
{
    s->live++;
    if (kind < TICK_SCOPE_KINDS)
        s->st.count[kind]++;
}
static inline void tick__scope_leave(tick_scope *s, enum tick_scope_kind kind)
{
    assert(s->live > 0);
    if (kind < TICK_SCOPE_KINDS) {
        assert(s->st.count[kind] > 0);
        s->st.count[kind]--;
    }
    if (__builtin_expect(--s->live == 0, 0) && s->drain)
        tick__scope_emptied(s);
}
/* The task step class: the engine tells task handles from plain ones. */
TICK_HIDDEN extern const tick_handle_class tick__task_step_cls;
static inline bool tick__handle_is_task(const tick_handle *h)
{
    return h->cls == &tick__task_step_cls;
}
/* A plain handle left a done-callback list (removed, or the future
 * completed and it moved to the ready queue). */
static inline void tick__handle_unpark(tick_handle *h)
{
    if (!tick__handle_is_task(h) && tick_link_linked(&h->scope_link)) {
        tick_link_remove(&h->scope_link);
        tick__scope_leave(h->scope, TICK_SCOPE_HANDLE);
    }
}
/* Switch the running scope, charging the time since the last switch to
 * the scope that ran (only while a run phase is timing). */
TICK_HIDDEN void tick__scope_switch(tick_loop *loop, tick_scope *to);
/* loop.c: called at the start and end of a run phase. */
TICK_HIDDEN void tick__scope_run_begin(tick_loop *loop);
TICK_HIDDEN void tick__scope_run_end(tick_loop *loop, uint64_t now);
TICK_HIDDEN void tick__scope_root_init(tick_loop *loop);
/* future.c: a heap future already completed with err (< 0) or else with
 * result value, one reference for the caller; NULL when even that cannot
 * be allocated. How bad use and fast paths report through the one error
 * channel (a future) without a pending state. */
TICK_HIDDEN tick_future *tick__future_done_new(tick_loop *loop, int err, intptr_t value);
/*
 * future.c: the sole-waiter cancel. Waiter h leaves pending f, and f is
 * cancelled only if nobody else waits on it: a shared future (an Event's,
 * awaited by many tasks) survives one waiter leaving, and the others never
 * see that waiter's cancellation. h may be NULL or unregistered (a task
 * about to await f). With watch, a sole h stays registered to see the
 * cancellation finish (a task's ends only after its cleanup); otherwise,
 * and whenever others still wait, h is unlinked. True if f was cancelled.
 */
TICK_HIDDEN bool tick__future_leave(tick_future *f, tick_handle *h, bool watch);
/* future.c: register an engine-internal waiter (not parked in a scope). */
TICK_HIDDEN void tick__future_add_waiter(tick_future *f, tick_handle *h);
/* The current thread's scope in a pool worker (tick_log's prefix). */
TICK_HIDDEN extern __thread const tick_scope *tick__thread_scope;
/* Misuse of the API by a caller: logged once per object by the caller,
 * abort()s when TICK_ABORT_ON_MISUSE=1 is set (a debugging aid). */
TICK_HIDDEN void tick__misuse(const char *what, const char *name);
/* The daemon's log hook for engine messages (misuse, scope reports);
 * stderr when unset. */
typedef void (*tick__log_fn)(int level, const char *scope_name, const char *msg);
TICK_HIDDEN extern tick__log_fn tick__log_hook;
TICK_HIDDEN void tick__log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Heap-allocate with an injectable failure for the OOM tests. */
TICK_HIDDEN void *tick__malloc(size_t n);
TICK_HIDDEN void *tick__calloc(size_t n, size_t size);
TICK_HIDDEN void *tick__realloc(void *p, size_t n);
/* Tests: make the n-th allocation from now fail (0 = never). */
TICK_HIDDEN void tick_test_fail_alloc_after(unsigned long n);
/* Tests: what is left of that countdown (0: it fired, or none was set),
 * and how many allocations were made in all (the walk's counts). */
TICK_HIDDEN unsigned long tick_test_alloc_pending(void);
TICK_HIDDEN unsigned long tick_test_alloc_calls(void);
/* Tests: children are polled as if pidfd_open were ENOSYS (valgrind). */
TICK_HIDDEN extern bool tick_test_process_no_pidfd;

#endif
