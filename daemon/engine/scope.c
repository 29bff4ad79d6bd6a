/*
 * scope.c — scopes: the engine records who owns every source (scope.h).
 *
 * Membership is kept where it costs nothing extra on the hot paths:
 *   - tasks: step.scope_link in scope->tasks, for the task's life;
 *   - timers: handle.scope_link in scope->timers while in the heap;
 *   - plain handles: handle.scope_link in scope->parked while in a
 *     done-callback list; a handle merely queued for the next run phase
 *     is found by scanning the ready queue (cancel and drain are rare,
 *     call_soon is not: it stays four pointer stores);
 *   - fds, pool jobs, children, signal and sync waits: a tick__source in
 *     scope->sources, with a per-kind cancel hook.
 * `live` counts all of them plus the open child scopes, so "is anything
 * left?" is one comparison until the ready queue has to be looked at.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>

#include "internal.h"
#include "metrics_int.h"

#define SCOPE_CANCELLED 0x1u
#define SCOPE_CLOSED    0x2u
#define SCOPE_CHARGE_PARENT 0x4u   /* its handles' time goes to its parent */

#define DEFAULT_KILL_GRACE (2 * TICK_SEC)

__thread const tick_scope *tick__thread_scope;
tick__log_fn tick__log_hook;

static const char *const kind_names[TICK_SCOPE_KINDS] = {
    "task", "timer", "handle", "fd", "job", "child", "signal", "wait",
};

const char *tick_scope_kind_name(enum tick_scope_kind kind)
{
    return (unsigned)kind < TICK_SCOPE_KINDS ? kind_names[kind] : "?";
}

void tick__log(int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tick_loop *loop = tick_loop_current();
    const tick_scope *s = loop ? loop->cur_scope : tick__thread_scope;
    if (tick__log_hook)
        tick__log_hook(level, s ? s->name : NULL, msg);
    else
        fprintf(stderr, "tick: %s\n", msg);
}

void tick__misuse(const char *what, const char *name)
{
    tick__log(3, "API misuse: %s (task '%s')", what, name ? name : "?");
    const char *env = getenv("TICK_ABORT_ON_MISUSE");
    if (env && strcmp(env, "1") == 0)
        abort();
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- life cycle ------------------------------------------------------ */

static void drain_check_run(tick_handle *h);
static void fd_reaper_run(tick_handle *h);
static const tick_handle_class drain_check_cls = { drain_check_run, "drain_check" };
static const tick_handle_class fd_reaper_cls = { fd_reaper_run, "fd_reaper" };

static void scope_fields_init(tick_scope *s, tick_loop *loop, tick_scope *parent,
                              const char *name)
{
    *s = (tick_scope){ .loop = loop, .parent = parent, .name = name,
                       .kill_grace = DEFAULT_KILL_GRACE };
    tick_link_init(&s->sibling);
    tick_link_init(&s->children);
    tick_link_init(&s->tasks);
    tick_link_init(&s->timers);
    tick_link_init(&s->parked);
    tick_link_init(&s->sources);
    tick_link_init(&s->orphans);
    /* the scope's own bookkeeping handles belong to the root scope: a
     * cancel of s must never unschedule them */
    tick_handle_init_class(&s->drain_check, name, &drain_check_cls);
    tick_handle_init_class(&s->fd_reaper, name, &fd_reaper_cls);
    s->drain_check.scope = &loop->root;
    s->fd_reaper.scope = &loop->root;
}

void tick__scope_root_init(tick_loop *loop)
{
    scope_fields_init(&loop->root, loop, NULL, NULL);
    loop->cur_scope = loop->acct_scope = &loop->root;
    loop->accounting = true;
}

void tick_scope_init(tick_scope *s, tick_loop *loop, tick_scope *parent, const char *name)
{
    assert(s && loop);
    if (!parent)
        parent = loop->cur_scope;
    scope_fields_init(s, loop, parent, name);
    /* cancel is recursive: a scope made under a cancelled one is born
     * cancelled, or a task started in it would outlive the cancel and
     * the parent would never drain */
    s->flags |= parent->flags & SCOPE_CANCELLED;
    tick_list_append(&parent->children, &s->sibling);
    tick__scope_join(parent, TICK_SCOPE_KINDS);   /* an open child scope */
}

tick_scope *tick_loop_scope(tick_loop *loop) { return loop ? &loop->root : NULL; }
tick_scope *tick_scope_current(tick_loop *loop) { return loop ? loop->cur_scope : NULL; }

tick_scope *tick_scope_enter(tick_loop *loop, tick_scope *s)
{
    tick_scope *prev = loop->cur_scope;
    if (!s)
        s = &loop->root;
    if (s != prev)
        tick__scope_switch(loop, s);
    return prev;
}

const char *tick_scope_name(const tick_scope *s) { return s ? s->name : NULL; }
tick_scope *tick_scope_parent(const tick_scope *s) { return s ? s->parent : NULL; }
bool tick_scope_cancelled(const tick_scope *s) { return s && (s->flags & SCOPE_CANCELLED); }
void tick_scope_set_kill_grace(tick_scope *s, uint64_t ns) { s->kill_grace = ns; }
void *tick_scope_user(const tick_scope *s) { return s ? s->user : NULL; }
tick_scope *tick_handle_scope(const tick_handle *h) { return h ? h->scope : NULL; }

void tick_scope_set_failed_hook(tick_scope *s, tick_scope_failed_fn fn, void *user)
{
    s->on_failed = fn;
    s->user = user;
}

int tick_handle_set_scope(tick_handle *h, tick_scope *s)
{
    if (!h || !s)
        return -EINVAL;
    if (tick_link_linked(&h->link) || tick_link_linked(&h->scope_link))
        return -EBUSY;
    h->scope = s;
    return 0;
}

void tick_loop_set_accounting(tick_loop *loop, bool on) { loop->accounting = on; }

void tick_scope_charge_parent(tick_scope *s, bool on)
{
    if (!s || !s->parent)
        return;                      /* the root has no parent to charge */
    if (on)
        s->flags |= SCOPE_CHARGE_PARENT;
    else
        s->flags &= ~SCOPE_CHARGE_PARENT;
}

/* ---- accounting ------------------------------------------------------ */

static void charge(tick_loop *loop, uint64_t now)
{
    tick_scope *s = loop->acct_scope;
    if (loop->acct_t0 && now > loop->acct_t0)
        s->st.handler_ns += now - loop->acct_t0;
    s->st.handles_run += loop->acct_ran - loop->acct_ran0;
    loop->acct_ran0 = loop->acct_ran;
}

/* The clock is read only when the charged scope changes: going from one
 * connection scope to a sibling that both charge their parent reads
 * nothing. */
void tick__scope_switch(tick_loop *loop, tick_scope *to)
{
    tick_scope *target = (to->flags & SCOPE_CHARGE_PARENT) ? to->parent : to;

    if (target != loop->acct_scope) {
        if (loop->acct_t0) {
            uint64_t now = mono_ns();
            charge(loop, now);
            loop->acct_t0 = now;
        } else {
            charge(loop, 0);
        }
        loop->acct_scope = target;
    }
    loop->cur_scope = to;
}

void tick__scope_run_begin(tick_loop *loop)
{
    loop->cur_scope = loop->acct_scope = &loop->root;
    loop->acct_ran = loop->acct_ran0 = 0;
    /* the clock read after poll is free: the resolve phase is the root's */
    loop->acct_t0 = loop->accounting ? loop->now : 0;
}

void tick__scope_run_end(tick_loop *loop, uint64_t now)
{
    charge(loop, loop->acct_t0 ? now : 0);
    loop->acct_t0 = 0;
    loop->cur_scope = loop->acct_scope = &loop->root;
}

/* ---- membership ------------------------------------------------------ */

static void maybe_drained(tick_scope *s);

/* The last member left a scope someone waits to drain (internal.h's
 * inline tick__scope_leave calls this off the hot path). */
void tick__scope_emptied(tick_scope *s)
{
    maybe_drained(s);
}

static tick_future *source_fut(const tick__source *src)
{
    return src->fut_off ? (tick_future *)(void *)((char *)src - src->fut_off) : NULL;
}

void tick__pending_complete(tick_future *f, intptr_t value, int err)
{
    if (err < 0)
        tick_future_set_error(f, err);
    else
        tick_future_set_result(f, value);
    tick__pending_settle(f->loop);
    tick_future_unref(f);
}

void tick__source_arm(tick_loop *loop, tick__source *src, enum tick_scope_kind kind,
                      const char *name, tick_future *f)
{
    tick_scope *s = loop->cur_scope;
    src->scope = s;
    src->kind = kind;
    src->name = name;
    src->fut_off = 0;
    src->pending = f != NULL;
    if (f) {
        assert((char *)f < (char *)src && (char *)src - (char *)f <= UINT16_MAX);
        src->fut_off = (uint16_t)((char *)src - (char *)f);
        tick__pending_arm(loop, f);
    }
    tick_list_append(&s->sources, &src->link);
    tick__scope_join(s, kind);
    switch (kind) {
    case TICK_SCOPE_FD:    s->st.fds_opened++; break;
    case TICK_SCOPE_CHILD: s->st.children_spawned++; break;
    default: break;
    }
}

#define SOURCE_ORPHAN TICK_SCOPE_KINDS

void tick__source_settle(tick__source *src)
{
    if (!src->pending)
        return;
    src->pending = false;
    tick__pending_settle(source_fut(src)->loop);
}

void tick__source_complete(tick__source *src, intptr_t value, int err)
{
    tick_future *f = source_fut(src);
    if (src->pending && !tick_future_done(f)) {
        if (err < 0)
            tick_future_set_error(f, err);
        else
            tick_future_set_result(f, value);
    }
    tick__source_done(src);
}

void tick__source_done(tick__source *src)
{
    tick_scope *s = src->scope;
    tick_future *f = source_fut(src);
    tick__source_settle(src);
    src->fut_off = 0;
    if (s) {
        tick_link_remove(&src->link);
        src->scope = NULL;
        if (src->kind != SOURCE_ORPHAN)
            tick__scope_leave(s, (enum tick_scope_kind)src->kind);
    }
    tick_future_unref(f);             /* last: it may free src */
}

void tick__source_orphan(tick__source *src)
{
    tick_scope *s = src->scope;
    if (!s || src->kind == SOURCE_ORPHAN)
        return;
    tick_link_remove(&src->link);
    tick_list_append(&s->orphans, &src->link);
    enum tick_scope_kind kind = (enum tick_scope_kind)src->kind;
    src->kind = SOURCE_ORPHAN;
    tick__scope_leave(s, kind);
}

/* ---- queued handles: found by scanning the run queues ---------------- */

static bool within(const tick_scope *x, const tick_scope *s)
{
    for (; x; x = x->parent)
        if (x == s)
            return true;
    return false;
}

static size_t queued_in(const tick_link *q, const tick_scope *s, bool deep)
{
    size_t n = 0;
    for (const tick_link *l = q->next; l != q; l = l->next) {
        const tick_handle *h = tick_container_of(l, tick_handle, link);
        if (!tick__handle_is_task(h) && (deep ? within(h->scope, s) : h->scope == s))
            n++;
    }
    return n;
}

static size_t queued(const tick_scope *s, bool deep)
{
    return queued_in(&s->loop->ready, s, deep) + queued_in(&s->loop->running, s, deep) +
           queued_in(&s->loop->before_poll, s, deep);
}

static size_t unqueue_in(tick_link *q, const tick_scope *s)
{
    size_t n = 0;
    for (tick_link *l = q->next, *next; l != q; l = next) {
        tick_handle *h = tick_container_of(l, tick_handle, link);
        next = l->next;
        if (h->scope == s && !tick__handle_is_task(h)) {
            tick_link_remove(&h->link);
            n++;
        }
    }
    return n;
}

/* ---- drain ----------------------------------------------------------- */

bool tick_scope_empty(const tick_scope *s)
{
    /* orphans (closed fds) wait only for their owner's release */
    return s->live == 0 && queued(s, true) == 0;
}

static void maybe_drained(tick_scope *s)
{
    /* a handle: the caller may be deep in the engine (a task finishing) */
    if (!tick_link_linked(&s->drain_check.link))
        tick_call_soon(s->loop, &s->drain_check);
}

static void drain_check_run(tick_handle *h)
{
    tick_scope *s = tick_container_of(h, tick_scope, drain_check);
    if (!s->drain)
        return;
    if (s->live)
        return;                         /* re-armed when live drops again */
    if (queued(s, true)) {
        tick_call_soon(s->loop, h);     /* queued handles still to run */
        return;
    }
    tick_future *f = s->drain;
    s->drain = NULL;
    tick_future_set_result(f, 0);
    tick_future_unref(f);               /* the scope's reference */
}

tick_future *tick_scope_drain(tick_scope *s)
{
    if (!s)
        return NULL;
    if (!s->drain) {
        /* empty now: done now, as scope.h promises (not a tick later) */
        if (tick_scope_empty(s))
            return tick__future_done_new(s->loop, 0, 0);
        tick_future *f;
        if (tick_future_new(s->loop, &f) < 0)
            return NULL;
        s->drain = f;                   /* the scope's reference */
        if (s->live == 0)
            maybe_drained(s);           /* only queued handles are left */
    }
    return tick_future_ref(s->drain);
}

/* ---- cancel ---------------------------------------------------------- */

typedef void (*source_hook)(tick__source *);
static const source_hook cancel_hooks[TICK_SCOPE_KINDS] = {
    [TICK_SCOPE_FD] = tick__fd_scope_cancel,
    [TICK_SCOPE_JOB] = tick__job_scope_cancel,
    [TICK_SCOPE_CHILD] = tick__child_scope_cancel,
    [TICK_SCOPE_SIGNAL] = tick__signal_scope_cancel,
    [TICK_SCOPE_WAIT] = tick__wait_scope_cancel,
};

static void kill_timer_run(tick_handle *h);

/* The SIGKILL after the grace lives in a small heap block of the root
 * scope, not in the scope itself: the timer must not be stopped by the
 * cancel it follows. The scope points at it (kill_timer) and stops it
 * when it closes: children that die of the SIGTERM let the scope close
 * before the grace is over, and the timer must not fire on its memory. */
struct kill_timer {
    tick_timer timer;
    tick_scope *scope;
};

static void kill_timer_run(tick_handle *h)
{
    struct kill_timer *k = tick_container_of(h, struct kill_timer, timer.handle);
    tick_scope *s = k->scope;
    free(k);
    s->kill_timer = NULL;
    for (tick_link *l = s->sources.next, *next; l != &s->sources; l = next) {
        tick__source *src = tick_container_of(l, tick__source, link);
        next = l->next;
        if (src->kind == TICK_SCOPE_CHILD)
            tick__child_scope_kill(src);
    }
}

static void arm_kill_timer(tick_scope *s)
{
    if (s->kill_timer)
        return;
    struct kill_timer *k = tick__malloc(sizeof *k);
    if (!k) {
        /* no memory for a grace period: no grace */
        for (tick_link *l = s->sources.next, *next; l != &s->sources; l = next) {
            tick__source *src = tick_container_of(l, tick__source, link);
            next = l->next;
            if (src->kind == TICK_SCOPE_CHILD)
                tick__child_scope_kill(src);
        }
        return;
    }
    tick_timer_init(&k->timer, "kill grace", kill_timer_run);
    k->timer.handle.scope = &s->loop->root;
    k->scope = s;
    if (tick_call_later(s->loop, &k->timer, s->kill_grace) < 0) {
        free(k);
        return;
    }
    s->kill_timer = k;
}

static void stop_kill_timer(tick_scope *s)
{
    struct kill_timer *k = s->kill_timer;
    if (!k)
        return;
    tick_timer_stop(s->loop, &k->timer);
    free(k);
    s->kill_timer = NULL;
}

size_t tick_scope_cancel(tick_scope *s)
{
    size_t n = 0;
    /* the root owns the scopes' own bookkeeping (drain checks, fd
     * reapers, kill timers) and the daemon's: never cancelled */
    if (!s || !s->parent)
        return 0;
    s->flags |= SCOPE_CANCELLED;
    tick__metrics_scope_cancel(s);      /* its metrics leave the output */
    for (tick_link *l = s->children.next; l != &s->children; l = l->next)
        n += tick_scope_cancel(tick_container_of(l, tick_scope, sibling));

    /* task_cancel never finishes a task synchronously: the list is stable */
    for (tick_link *l = s->tasks.next; l != &s->tasks; l = l->next) {
        tick_task *t = tick_container_of(l, tick_task, step.scope_link);
        if (tick_task_cancel(t))
            n++;
    }
    while (!tick_list_empty(&s->timers)) {
        tick_timer *t = tick_container_of(s->timers.next, tick_timer, handle.scope_link);
        tick_timer_stop(s->loop, t);
        n++;
    }
    while (!tick_list_empty(&s->parked)) {
        tick_handle *h = tick_container_of(s->parked.next, tick_handle, scope_link);
        tick_handle_cancel(h);
        n++;
    }
    n += unqueue_in(&s->loop->ready, s) + unqueue_in(&s->loop->running, s) +
         unqueue_in(&s->loop->before_poll, s);

    /* Engine sources: a hook may end sources other than its own (closing
     * an fd completes futures, nothing else), so walk a detached copy and
     * put each back before its hook runs, where its done() can find it. */
    tick_link todo;
    tick_link_init(&todo);
    tick_list_splice(&todo, &s->sources);
    bool children = false;
    while (!tick_list_empty(&todo)) {
        tick__source *src = tick_container_of(todo.next, tick__source, link);
        tick_link_remove(&src->link);
        tick_list_append(&s->sources, &src->link);
        if (src->kind == TICK_SCOPE_CHILD)
            children = true;
        source_hook hook = src->kind < TICK_SCOPE_KINDS ? cancel_hooks[src->kind] : NULL;
        if (hook)
            hook(src);
        n++;
    }
    if (children)
        arm_kill_timer(s);
    if (s->st.count[TICK_SCOPE_FD] && !tick_link_linked(&s->fd_reaper.link))
        tick_call_soon(s->loop, &s->fd_reaper);
    return n;
}

/* One tick after a cancel: close the fds whose owners did not. */
static void fd_reaper_run(tick_handle *h)
{
    tick_scope *s = tick_container_of(h, tick_scope, fd_reaper);
    tick_link todo;
    tick_link_init(&todo);
    tick_list_splice(&todo, &s->sources);
    while (!tick_list_empty(&todo)) {
        tick__source *src = tick_container_of(todo.next, tick__source, link);
        tick_link_remove(&src->link);
        tick_list_append(&s->sources, &src->link);
        if (src->kind == TICK_SCOPE_FD)
            tick__fd_scope_close(src);
    }
}

/* ---- close ----------------------------------------------------------- */

static void fold_into(tick_scope_stats *dst, const tick_scope_stats *src)
{
    dst->handler_ns += src->handler_ns;
    dst->job_cpu_ns += src->job_cpu_ns;
    dst->handles_run += src->handles_run;
    dst->tasks_started += src->tasks_started;
    dst->fds_opened += src->fds_opened;
    dst->jobs_run += src->jobs_run;
    dst->children_spawned += src->children_spawned;
    dst->bytes_in += src->bytes_in;
    dst->bytes_out += src->bytes_out;
}

int tick_scope_close(tick_scope *s)
{
    if (!s || !s->parent)
        return -EINVAL;
    if (s->flags & SCOPE_CLOSED)
        return 0;
    if (!tick_list_empty(&s->children) || !tick_scope_empty(s))
        return -EBUSY;
    /* the handler time up to now is the scope's, if it is running */
    if (s->loop->cur_scope == s)
        tick__scope_switch(s->loop, s->parent);
    /* fds closed by a cancel whose owner never released them */
    while (!tick_list_empty(&s->orphans)) {
        tick__source *src = tick_container_of(s->orphans.next, tick__source, link);
        tick__fd_scope_free(src);       /* frees src: compare, never read */
        assert(s->orphans.next != &src->link);
    }
    tick_handle_cancel(&s->drain_check);
    tick_handle_cancel(&s->fd_reaper);
    stop_kill_timer(s);           /* its children are reaped already */
    if (s->drain) {
        tick_future *f = s->drain;
        s->drain = NULL;
        tick_future_set_result(f, 0);
        tick_future_unref(f);
    }
    tick__metrics_scope_close(s);       /* its families are freed */
    fold_into(&s->parent->st, &s->st);
    tick_link_remove(&s->sibling);
    s->flags |= SCOPE_CLOSED;
    tick__scope_leave(s->parent, TICK_SCOPE_KINDS);
    return 0;
}

/* ---- stats and lists ------------------------------------------------- */

/* The running scope's time since the last switch, not charged yet. */
static uint64_t uncharged_ns(const tick_scope *s)
{
    const tick_loop *loop = s->loop;
    if (loop->acct_scope != s || !loop->acct_t0)
        return 0;
    uint64_t now = mono_ns();
    return now > loop->acct_t0 ? now - loop->acct_t0 : 0;
}

static void add_stats(tick_scope_stats *dst, const tick_scope *s)
{
    fold_into(dst, &s->st);
    dst->handler_ns += uncharged_ns(s);
    for (int k = 0; k < TICK_SCOPE_KINDS; k++)
        dst->count[k] += s->st.count[k];
    for (const tick_link *l = s->children.next; l != &s->children; l = l->next)
        add_stats(dst, tick_container_of(l, tick_scope, sibling));
}

void tick_scope_get_stats(const tick_scope *s, tick_scope_stats *out, bool inclusive)
{
    *out = s->st;
    /* the running scope (s, or with inclusive one of its descendants) has
     * time since the last switch that is not charged yet */
    out->handler_ns += uncharged_ns(s);
    if (inclusive)
        for (const tick_link *l = s->children.next; l != &s->children; l = l->next)
            add_stats(out, tick_container_of(l, tick_scope, sibling));
    out->queued = queued(s, inclusive);
}

size_t tick_scope_list(const tick_scope *s, tick_scope_list_fn fn, void *user)
{
    size_t n = 0;
    for (const tick_link *l = s->tasks.next; l != &s->tasks; l = l->next, n++)
        fn(user, TICK_SCOPE_TASK,
           tick_container_of(l, tick_handle, scope_link)->name ?: "?");
    for (const tick_link *l = s->timers.next; l != &s->timers; l = l->next, n++)
        fn(user, TICK_SCOPE_TIMER,
           tick_container_of(l, tick_handle, scope_link)->name ?: "?");
    for (const tick_link *l = s->parked.next; l != &s->parked; l = l->next, n++)
        fn(user, TICK_SCOPE_HANDLE,
           tick_container_of(l, tick_handle, scope_link)->name ?: "?");
    for (const tick_link *l = s->sources.next; l != &s->sources; l = l->next, n++) {
        const tick__source *src = tick_container_of(l, tick__source, link);
        fn(user, (enum tick_scope_kind)src->kind, src->name ?: "?");
    }
    /* handles queued for the next run phase (a timer that just fired) */
    const tick_link *queues[3] = { &s->loop->ready, &s->loop->running, &s->loop->before_poll };
    for (int q = 0; q < 3; q++)
        for (const tick_link *l = queues[q]->next; l != queues[q]; l = l->next) {
            const tick_handle *h = tick_container_of(l, tick_handle, link);
            if (h->scope == s && !tick__handle_is_task(h)) {
                fn(user, TICK_SCOPE_HANDLE, h->name ?: "?");
                n++;
            }
        }
    return n;
}
