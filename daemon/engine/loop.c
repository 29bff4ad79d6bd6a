/*
 * loop.c — the tick loop: poll, resolve, run the ready snapshot.
 *
 * The ready queue is an intrusive list of handles. A tick splices the
 * whole queue into `running` in O(1) and runs exactly those handles; what
 * they schedule lands in the (now empty) ready queue for the next tick. So
 * a handle that reschedules itself forever cannot starve I/O or timers
 * (curio #112), and scheduling is four pointer stores.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sources.h"
#include "metrics_int.h"

static __thread tick_loop *current_loop;

#define POLL_BATCH 256

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec;
}

void tick_handle_init_class(tick_handle *h, const char *name, const tick_handle_class *cls)
{
    tick_link_init(&h->link);
    h->cls = cls;
    h->name = name;
    h->scope = NULL;
    tick_link_init(&h->scope_link);
}

tick_loop *tick_loop_current(void) { return current_loop; }
void tick_loop_set_current(tick_loop *loop) { current_loop = loop; }

/* ---- fd watches ---- */

static inline uint64_t watch_key(const tick__watch *w)
{
    return (uint32_t)w->fd | (uint64_t)w->gen << 32;
}

int tick__watch_add(tick_loop *loop, tick__watch *w, int fd, uint32_t events)
{
    if (fd < 0)
        return -EBADF;
    if ((uint32_t)fd >= loop->nwatches) {
        uint32_t n = loop->nwatches ? loop->nwatches : 64;
        while (n <= (uint32_t)fd)
            n *= 2;
        tick__watch **tab = tick__realloc(loop->watches, n * sizeof *tab);
        if (!tab)
            return -ENOMEM;
        memset(tab + loop->nwatches, 0, (n - loop->nwatches) * sizeof *tab);
        loop->watches = tab;
        loop->nwatches = n;
    }
    if (loop->watches[fd])
        return -EEXIST;
    w->fd = fd;
    w->gen = ++loop->watch_gen;
    w->events = events;
    struct epoll_event ev = { .events = events, .data.u64 = watch_key(w) };
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    loop->watches[fd] = w;
    loop->stats.fds_watched++;
    return 0;
}

int tick__watch_del(tick_loop *loop, tick__watch *w)
{
    int rc = 0;
    assert(w->fd >= 0 && (uint32_t)w->fd < loop->nwatches && loop->watches[w->fd] == w);
    /* DEL before the caller closes: epoll tracks the open file description,
     * so a dup'ed or inherited copy of the fd would keep firing. */
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL) < 0)
        rc = -errno;
    loop->watches[w->fd] = NULL;
    loop->stats.fds_watched--;
    /* Events of this fd still in the current batch carry the old
     * generation; bumping it makes them miss even if the fd number is
     * reused before the batch is done. */
    w->gen = 0;
    return rc;
}

static void dispatch(tick_loop *loop, const struct epoll_event *ev)
{
    uint32_t fd = (uint32_t)ev->data.u64, gen = (uint32_t)(ev->data.u64 >> 32);
    if (fd >= loop->nwatches)
        return;
    tick__watch *w = loop->watches[fd];
    if (w && w->gen == gen)
        w->on_events(w, ev->events);
}

/* ---- cross-thread call_soon ---- */

static void threadsafe_ring(tick__doorbell *db, tick_link *batch)
{
    tick_loop *loop = tick_container_of(db, tick_loop, bell);
    /* a handle posted from another thread belongs to the root scope
     * unless it was given one: only the loop thread may read cur_scope */
    for (tick_link *l = batch->next; l != batch; l = l->next) {
        tick_handle *h = tick_container_of(l, tick_handle, link);
        if (!h->scope)
            h->scope = &loop->root;
    }
    tick_list_splice(&loop->ready, batch);
}

void tick_loop_wakeup(tick_loop *loop) { tick__doorbell_ring(&loop->bell); }

int tick_call_threadsafe(tick_loop *loop, tick_handle *h)
{
    if (!loop || !h)
        return -EINVAL;
    return tick__doorbell_post(&loop->bell, &h->link);
}

/* ---- life cycle ---- */

int tick_loop_new(tick_loop **out)
{
    if (!out)
        return -EINVAL;
    tick_loop *loop = tick__calloc(1, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    tick_link_init(&loop->ready);
    tick_link_init(&loop->running);
    tick_link_init(&loop->deferred);
    tick_link_init(&loop->before_poll);
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0) {
        int err = -errno;
        free(loop);
        return err;
    }
    tick__scope_root_init(loop);
    int rc = tick__doorbell_open(loop, &loop->bell, threadsafe_ring);
    if (rc < 0) {
        close(loop->epoll_fd);
        free(loop->watches);
        free(loop);
        return rc;
    }
    loop->now = clock_ns(CLOCK_MONOTONIC);
    if (!current_loop)
        current_loop = loop;
    *out = loop;
    return 0;
}

int tick_loop_close(tick_loop *loop)
{
    if (!loop)
        return -EINVAL;
    /* in_tick: a handle closing its own loop would free it under run_once */
    if (loop->in_run || loop->in_tick || !tick_list_empty(&loop->ready) ||
        !tick_list_empty(&loop->before_poll) ||
        loop->timers.len || loop->stats.tasks_alive || loop->active)
        return -EBUSY;
    /* a scope still open would point into freed memory, and fds a cancel
     * closed for it would never be freed */
    if (!tick_list_empty(&loop->root.children) || !tick_list_empty(&loop->root.orphans))
        return -EBUSY;
    /* a handle posted from a thread is scheduled as well: dropping it would
     * strand its poster, which may not touch it until it has run */
    if (!tick__doorbell_idle(&loop->bell))
        return -EBUSY;
    /* pool first: its workers may still ring the eventfd */
    tick__pool_shutdown(loop);
    tick__process_shutdown(loop);
    tick__signal_shutdown(loop);
    tick__io_shutdown(loop);
    tick__bufs_shutdown(loop);
    /* the doorbell is the only fd left: anything else is a leak */
    if (loop->stats.fds_watched != 1)
        return -EBUSY;
    tick__metrics_scope_close(&loop->root);   /* the root's families */
    tick__doorbell_close(loop, &loop->bell);
    close(loop->epoll_fd);
    tick__heap_free(&loop->timers);
    free(loop->watches);
    if (current_loop == loop)
        current_loop = NULL;
    free(loop);
    return 0;
}

/* ---- scheduling ---- */

void tick_call_soon(tick_loop *loop, tick_handle *h)
{
    if (tick_link_linked(&h->link))
        return;
    tick__handle_claim(loop, h);
    tick_list_append(&loop->ready, &h->link);
}

void tick_call_before_poll(tick_loop *loop, tick_handle *h)
{
    if (tick_link_linked(&h->link))
        return;
    tick__handle_claim(loop, h);
    tick_list_append(&loop->before_poll, &h->link);
}

bool tick_handle_cancel(tick_handle *h)
{
    if (!tick_link_linked(&h->link))
        return false;
    tick_link_remove(&h->link);
    tick__handle_unpark(h);
    return true;
}

/* ---- the tick ---- */

static void trace_line(tick_loop *loop)
{
    FILE *out = loop->trace;
    fprintf(out, "Loop step %llu [", (unsigned long long)loop->tick);
    for (tick_link *l = loop->running.next; l != &loop->running; l = l->next) {
        tick_handle *h = tick_container_of(l, tick_handle, link);
        fprintf(out, "%s<Handle name='%s' callback='%s'>", l == loop->running.next ? "" : ", ",
                h->name ? h->name : "", h->cls && h->cls->fn_name ? h->cls->fn_name : "?");
    }
    fputs("]\n", out);
    fflush(out);
}

static int poll_timeout_ms(tick_loop *loop, bool block)
{
    if (!block || loop->stopping || !tick_list_empty(&loop->ready) ||
        !tick_list_empty(&loop->deferred) || !tick_list_empty(&loop->before_poll))
        return 0;
    return tick__timers_timeout_ms(loop);
}

/* The start of the resolve phase: what was deferred before this tick
 * (taken whole: deferring again means the next tick). */
static void run_deferred(tick_loop *loop)
{
    tick_link batch;
    tick_link_init(&batch);
    tick_list_splice(&batch, &loop->deferred);
    while (!tick_list_empty(&batch)) {
        tick__deferred *d = tick_container_of(batch.next, tick__deferred, link);
        tick_link_remove(&d->link);
        d->fn(d);
    }
}

static int poll_phase(tick_loop *loop, int timeout_ms)
{
    struct epoll_event evs[POLL_BATCH];
    int n = epoll_wait(loop->epoll_fd, evs, POLL_BATCH, timeout_ms);
    int err = n < 0 ? errno : 0;
    loop->now = clock_ns(CLOCK_MONOTONIC);
    loop->polled = n > 0 ? n : 0;
    if (n < 0)
        return err == EINTR ? 0 : -err;
    run_deferred(loop);
    for (int i = 0; i < n; i++)
        dispatch(loop, &evs[i]);
    return n;
}

static void run_handle_timed(tick_loop *loop, tick_handle *h)
{
    /* The coarse clock is ~4 ms grained and costs no syscall: plenty to
     * catch a handle slower than a threshold of tens of milliseconds. */
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC_COARSE);
    /* The callback may free its owner, and the name with it (the name is
     * the owner's, often a heap string): report from a copy. A short copy
     * per handle, only while slow-handle reporting is on. */
    char name[TICK_SLOW_NAME_MAX];
    size_t n = h->name ? strnlen(h->name, sizeof name - 1) : 0;
    memcpy(name, h->name ? h->name : "", n);
    name[n] = '\0';
    h->cls->fn(h);
    uint64_t dt = clock_ns(CLOCK_MONOTONIC_COARSE) - t0;
    if (dt >= loop->slow_ns) {
        loop->stats.slow_handles++;
        if (loop->slow_fn)
            loop->slow_fn(loop->slow_user, name, dt);
    }
}

/* Run the handles in loop->running, FIFO; ran: the count so far. */
static int run_running(tick_loop *loop, int ran, bool timed)
{
    while (!tick_list_empty(&loop->running)) {
        tick_link *l = loop->running.next;
        tick_link_remove(l);
        tick_handle *h = tick_container_of(l, tick_handle, link);
        assert(h->scope && "a handle armed without a scope");
        /* the running handle's scope is current; the clock is read only
         * when it changes (scope.c charges the interval) */
        if (h->scope != loop->cur_scope) {
            loop->acct_ran = (uint64_t)ran;
            tick__scope_switch(loop, h->scope);
        }
        if (timed)
            run_handle_timed(loop, h);
        else
            h->cls->fn(h);
        ran++;
    }
    return ran;
}

int tick_loop_run_once(tick_loop *loop, bool block)
{
    assert(!loop->in_tick && "tick_loop_run_once called from a handle");
    loop->in_tick = true;
    loop->tick++;
    loop->stats.ticks++;
    int rc = poll_phase(loop, poll_timeout_ms(loop, block));
    if (rc < 0) {
        loop->in_tick = false;
        return rc;
    }
    tick__timers_run(loop);

    tick_list_splice(&loop->running, &loop->ready);
    if (loop->trace)
        trace_line(loop);
    bool timed = loop->slow_ns != 0;
    tick__scope_run_begin(loop);
    int ran = run_running(loop, 0, timed);
    /* The end of the tick: what the run phase armed with
     * tick_call_before_poll (one write for what many handles produced).
     * Armed again from here: the end of the next tick, whose poll does
     * not block (poll_timeout_ms). */
    if (!tick_list_empty(&loop->before_poll)) {
        tick_list_splice(&loop->running, &loop->before_poll);
        ran = run_running(loop, ran, timed);
    }
    loop->acct_ran = (uint64_t)ran;
    loop->stats.handles_run += (uint64_t)ran;
    uint64_t end = 0;
    if (ran) {
        end = clock_ns(CLOCK_MONOTONIC);
        uint64_t dt = end - loop->now;
        if (dt > loop->stats.longest_tick_ns)
            loop->stats.longest_tick_ns = dt;
    }
    tick__scope_run_end(loop, end);
    loop->in_tick = false;
    return ran;
}

int tick_loop_run(tick_loop *loop)
{
    if (!loop)
        return -EINVAL;
    loop->in_run = true;
    int rc = 0;
    while (!loop->stopping) {
        rc = tick_loop_run_once(loop, true);
        if (rc < 0)
            break;
    }
    loop->stopping = false;
    loop->in_run = false;
    return rc < 0 ? rc : 0;
}

int tick_loop_run_until_idle(tick_loop *loop, unsigned max_ticks)
{
    if (!loop || loop->in_tick)
        return -EINVAL;
    for (unsigned i = 0; max_ticks == 0 || i < max_ticks; i++) {
        int rc = tick_loop_run_once(loop, false);
        if (rc < 0)
            return rc;
        if (rc == 0 && loop->polled == 0 && tick_list_empty(&loop->ready) &&
            tick_list_empty(&loop->deferred) && tick_list_empty(&loop->before_poll))
            return 0;
    }
    return -EBUSY;
}

static bool nothing_can_happen(const tick_loop *loop)
{
    return tick_list_empty(&loop->ready) && tick_list_empty(&loop->deferred) &&
           tick_list_empty(&loop->before_poll) && loop->timers.len == 0 && loop->active == 0;
}

int tick_loop_run_until_complete(tick_loop *loop, tick_future *f)
{
    if (!loop || !f)
        return -EINVAL;
    tick_future_ref(f);
    loop->in_run = true;
    int rc = 0;
    while (!tick_future_done(f)) {
        if (nothing_can_happen(loop)) {
            rc = -EDEADLK;
            break;
        }
        rc = tick_loop_run_once(loop, true);
        if (rc < 0)
            break;
        rc = 0;
        if (loop->stopping && !tick_future_done(f)) {
            rc = -EINTR;
            break;
        }
    }
    loop->stopping = false;
    loop->in_run = false;
    if (rc == 0)
        rc = tick_future_error(f);
    tick_future_unref(f);
    return rc;
}

void tick_loop_stop(tick_loop *loop) { loop->stopping = true; }
bool tick_loop_stopping(const tick_loop *loop) { return loop->stopping; }
uint64_t tick_now(const tick_loop *loop) { return loop->now; }
uint64_t tick_now_update(tick_loop *loop) { return loop->now = clock_ns(CLOCK_MONOTONIC); }
uint64_t tick_loop_tick(const tick_loop *loop) { return loop->tick; }
void tick_loop_set_trace(tick_loop *loop, FILE *out) { loop->trace = out; }

void tick_loop_get_stats(const tick_loop *loop, tick_loop_stats *out)
{
    *out = loop->stats;
    out->timers_armed = loop->timers.len;
}

void tick_loop_set_slow_handler(tick_loop *loop, uint64_t threshold_ns,
                                tick_slow_fn fn, void *user)
{
    loop->slow_ns = threshold_ns;
    loop->slow_fn = fn;
    loop->slow_user = user;
}
