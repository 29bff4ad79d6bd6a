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
    uint64_t now;                 /* cached CLOCK_MONOTONIC ns */
    uint64_t tick;                /* ticks started */
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

    /* cross-thread call_soon: locked list + eventfd doorbell */
    pthread_mutex_t ts_lock;
    tick_link ts_queue;
    bool ts_rung;                 /* doorbell written, not yet drained */
    tick__watch ts_watch;         /* the eventfd */

    /* number of things that may still resolve a future from outside the
     * ready queue (fd waiters, jobs, children); lets run_until_complete
     * detect that nothing can ever happen */
    uint64_t active;

    tick_task *current_task;
    tick_task_group *current_group;

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
};

/* Register / unregister a watch. del always does EPOLL_CTL_DEL before the
 * caller closes the fd, and invalidates the fd's events still in the batch
 * being processed. Both return 0 or -errno. */
TICK_HIDDEN int tick__watch_add(tick_loop *loop, tick__watch *w, int fd, uint32_t events);
TICK_HIDDEN int tick__watch_del(tick_loop *loop, tick__watch *w);

/* Something that can resolve a future from outside began / ended. */
static inline void tick__loop_active_inc(tick_loop *loop) { loop->active++; }
static inline void tick__loop_active_dec(tick_loop *loop)
{
    assert(loop->active > 0);
    loop->active--;
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

/* timer.c: fire the due timers armed before the tick began, i.e. whose
 * seq is below armed_before, loop->timer_seq read then (resolve phase);
 * ms until the next, -1 if none */
TICK_HIDDEN void tick__timers_run(tick_loop *loop, uint64_t armed_before);
TICK_HIDDEN int tick__timers_timeout_ms(const tick_loop *loop);

/* task.c: keep a task group open for something other than a member task
 * (a thread-pool job, which runs the group owner's code and cannot be
 * interrupted); the release schedules on_empty when the count drops to 0. */
TICK_HIDDEN void tick__group_hold(tick_task_group *g);
TICK_HIDDEN void tick__group_release(tick_loop *loop, tick_task_group *g);

/* Heap-allocate with an injectable failure for the OOM tests. */
TICK_HIDDEN void *tick__malloc(size_t n);
TICK_HIDDEN void *tick__calloc(size_t n, size_t size);
TICK_HIDDEN void *tick__realloc(void *p, size_t n);
/* Tests: make the n-th allocation from now fail (0 = never). */
TICK_HIDDEN void tick_test_fail_alloc_after(unsigned long n);

#endif
