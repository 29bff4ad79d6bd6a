/*
 * instance.c — plugin instances and the tick_instance_* API (instance.h,
 * tick/plugin.h).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "instance.h"
#include "listen.h"
#include "server.h"
#include "log.h"
#include "metrics_daemon.h"

/* Every instance alive in any state, for log prefixes and stats. */
static tick_link registry = TICK_LINK_INIT(registry);
/* The instance whose configure/start/stop/release is running now. */
static tick_instance *current;
static void (*status_hook)(void);

struct tickd_stop {
    tick_loop *loop;
    tick_link members;          /* instances not finished yet */
    size_t pending;
    uint64_t timeout;
    tick_timer deadline;
    tick_handle finish;
    tickd_stop_done_fn done;
    void *arg;
    bool reserved;              /* one of stop_reserve[], not malloc'd */
};

/* Batches for when one cannot be allocated: a stop must complete, out of
 * memory or not (SIGTERM would never finish otherwise). One is in use
 * from tickd_stop_begin() to batch_finish(); at most a handful of stop
 * batches are ever in flight at once (a shutdown, a reload's retirements). */
#define STOP_RESERVE 16
static struct tickd_stop stop_reserve[STOP_RESERVE];
static bool stop_reserve_used[STOP_RESERVE];

static struct tickd_stop *batch_alloc(void)
{
    struct tickd_stop *b = tick__calloc(1, sizeof *b);
    if (b)
        return b;
    for (size_t i = 0; i < STOP_RESERVE; i++)
        if (!stop_reserve_used[i]) {
            stop_reserve_used[i] = true;
            b = &stop_reserve[i];
            memset(b, 0, sizeof *b);
            b->reserved = true;
            return b;
        }
    return NULL;
}

/* With the reserve used up as well: the done(arg) calls owed, run from
 * one handle (root scope) so that the caller's stack unwinds first. */
#define STOP_LATE_MAX 64
static struct {
    tick_handle h;
    bool init;
    size_t n;
    struct { tickd_stop_done_fn done; void *arg; } q[STOP_LATE_MAX];
} stop_late;

static void stop_late_run(tick_handle *h)
{
    (void)h;
    while (stop_late.n) {
        tickd_stop_done_fn done = stop_late.q[0].done;
        void *arg = stop_late.q[0].arg;
        memmove(&stop_late.q[0], &stop_late.q[1], --stop_late.n * sizeof stop_late.q[0]);
        done(arg);
    }
}

/* Call done(arg) from a handle; at once only past STOP_LATE_MAX owed. */
static void stop_late_add(tick_loop *loop, tickd_stop_done_fn done, void *arg)
{
    if (!stop_late.init) {
        tick_handle_init(&stop_late.h, "stop finished (out of memory)", stop_late_run);
        stop_late.init = true;
    }
    if (stop_late.n == STOP_LATE_MAX) {
        done(arg);
        return;
    }
    if (stop_late.n == 0)      /* not scheduled: the loop's root scope */
        tick_handle_set_scope(&stop_late.h, tick_loop_scope(loop));
    stop_late.q[stop_late.n].done = done;
    stop_late.q[stop_late.n++].arg = arg;
    /* cannot fail: a handle is intrusive; a no-op when already queued */
    tick_call_soon(loop, &stop_late.h);
}

static void batch_release(struct tickd_stop *b)
{
    if (b->reserved)
        stop_reserve_used[b - stop_reserve] = false;
    else
        free(b);
}

static const char *iname(const tick_instance *in) { return in->conf->name; }

static void plog(const tick_instance *in, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plog(const tick_instance *in, int level, const char *fmt, ...)
{
    char prefix[96];
    va_list ap;

    snprintf(prefix, sizeof prefix, "plugin:%s", iname(in));
    va_start(ap, fmt);
    tickd_logv(level, prefix, fmt, ap);
    va_end(ap);
}

/* ---- the plugin-facing API ------------------------------------------ */

TICK_API void *tick_instance_data(tick_instance *in)
{
    return in ? in->data : NULL;
}

TICK_API const char *tick_instance_name(const tick_instance *in)
{
    return in ? in->conf->name : NULL;
}

TICK_API tick_loop *tick_instance_loop(const tick_instance *in)
{
    return in ? in->loop : NULL;
}

TICK_API int tick_instance_error(tick_instance *in, const char *fmt, ...)
{
    va_list ap;

    if (!in || !fmt)
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(in->err, sizeof in->err, fmt, ap);
    va_end(ap);
    in->has_err = true;
    return -EINVAL;
}

TICK_API void tick_instance_set_status(tick_instance *in, const char *fmt, ...)
{
    char buf[sizeof in->status];
    va_list ap;

    if (!in || !fmt)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == ';')
            *p = ' ';   /* one STATUS= line, instances split by ';' */
    if (strcmp(buf, in->status) == 0)
        return;
    memcpy(in->status, buf, sizeof buf);
    if (status_hook)
        status_hook();
}

TICK_API void tick_instance_set_ready(tick_instance *in, bool ready, const char *reason)
{
    if (!in)
        return;
    in->unready = !ready;
    snprintf(in->ready_reason, sizeof in->ready_reason, "%s", reason ? reason : "");
    for (char *p = in->ready_reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void tickd_instance_set_status_hook(void (*fn)(void)) { status_hook = fn; }

/* ---- calling into the plugin ---------------------------------------- */

/* Run plugin code with the instance's scope current: whatever it creates
 * belongs to the instance, and its log lines carry the instance's name. */
#define IN_SCOPE(in, call)                                                  \
    do {                                                                    \
        tick_instance *prev_ = current;                                     \
        tick_scope *prev_scope_ = tick_scope_enter((in)->loop, &(in)->scope); \
        current = (in);                                                     \
        call;                                                               \
        current = prev_;                                                    \
        tick_scope_enter((in)->loop, prev_scope_);                          \
    } while (0)

static void call_stop(tick_instance *in)
{
    const tick_plugin *d = in->mod->desc;

    in->stop_called = true;
    if (d->stop)
        IN_SCOPE(in, d->stop(in));
}

static void call_release(tick_instance *in)
{
    const tick_plugin *d = in->mod->desc;

    in->released = true;
    if (d->release)
        IN_SCOPE(in, d->release(in));
}

/* What a cancel is about to end, grouped by kind and name, in one line:
 * "cancelling 2 task 'conn', 1 timer 'leak', 1 child 'sh'". */
struct cancel_report {
    struct { enum tick_scope_kind kind; const char *name; size_t n; } e[8];
    size_t ne, more;
};

static void report_one(void *user, enum tick_scope_kind kind, const char *name)
{
    struct cancel_report *r = user;
    for (size_t i = 0; i < r->ne; i++)
        if (r->e[i].kind == kind && strcmp(r->e[i].name, name) == 0) {
            r->e[i].n++;
            return;
        }
    if (r->ne == sizeof r->e / sizeof r->e[0]) {
        r->more++;
        return;
    }
    r->e[r->ne].kind = kind;
    r->e[r->ne].name = name;
    r->e[r->ne++].n = 1;
}

static void cancel_scope(tick_instance *in, const char *why)
{
    struct cancel_report r = { .ne = 0 };
    char line[400];
    size_t off = 0;

    if (tick_scope_list(&in->scope, report_one, &r) > 0) {
        for (size_t i = 0; i < r.ne && off < sizeof line; i++) {
            int w = snprintf(line + off, sizeof line - off, "%s%zu %s '%s'",
                             i ? ", " : "", r.e[i].n, tick_scope_kind_name(r.e[i].kind),
                             r.e[i].name);
            off += w > 0 ? (size_t)w : 0;
        }
        if (r.more && off < sizeof line)
            snprintf(line + off, sizeof line - off, " and %zu more", r.more);
        plog(in, TICK_LOG_INFO, "%s: cancelling %s", why, line);
    }
    /* its waits on the daemon's listeners go with it (not the sockets) */
    tickd_listen_end_instance(in, -ECANCELED);
    in->graceful = false;
    tick_scope_cancel(&in->scope);
}

static void instance_free(tick_instance *in)
{
    /* the drained handle may be queued when a deadline beats it to us */
    tick_handle_cancel(&in->drained);
    in->drain = tick_future_unref(in->drain);
    if (!in->released)
        call_release(in);
    /* a configure or release that armed something: end it now; the
     * scope must be empty before its memory (and the module) go */
    if (!tick_scope_empty(&in->scope))
        cancel_scope(in, "released");
    if (tick_scope_close(&in->scope) < 0) {
        plog(in, TICK_LOG_ERR, "still owns running work after release(); "
             "keeping its memory and module loaded");
        return;
    }
    if (in->retire_t0)
        plog(in, TICK_LOG_INFO, "load %u retired %.1f ms after the reload began",
             in->mod->load, (double)(tick_now(in->loop) - in->retire_t0) / 1e6);
    tickd_listen_free_instance(in);
    tickd_server_free_instance(in);
    tick_link_remove(&in->link);
    tick_link_remove(&in->all);
    in->mod->instances--;
    tickd_module_put(in->mod);
    tickd_section_free(in->conf);
    free(in->data);
    tickd_arena_free(&in->arena);
    free(in);
}

static void task_failed(tick_scope *s, tick_task *t, int err)
{
    tick_instance *in = tick_scope_user(s);

    in->tasks_failed++;
    plog(in, TICK_LOG_ERR, "task '%s' failed: %s",
         tick_task_name(t) ? tick_task_name(t) : "?", strerror(-err));
}

static void instance_drained(tick_handle *h);

static int configure_one(tick_instance *in, const char *key, const char *value,
                         int line, struct tickd_error *err)
{
    const tick_plugin *d = in->mod->desc;
    int rc;

    in->has_err = false;
    if (!d->configure) {
        rc = key ? tick_instance_error(in, "unknown key '%s'", key) : 0;
    } else {
        IN_SCOPE(in, rc = d->configure(in, key, value));
    }
    if (rc >= 0)
        return 0;
    if (in->has_err)
        tickd_error_set(err, in->conf->file, line, "plugin:%s: %s", iname(in),
                        in->err);
    else if (key)
        tickd_error_set(err, in->conf->file, line, "plugin:%s: bad value for "
                        "key '%s': %s", iname(in), key, strerror(-rc));
    else
        tickd_error_set(err, in->conf->file, line, "plugin:%s: incomplete "
                        "configuration: %s", iname(in), strerror(-rc));
    return rc;
}

int tickd_instance_new(tick_loop *loop, const struct tickd_section *sec,
                       tick_instance **out, struct tickd_error *err)
{
    tick_instance *in = tick__calloc(1, sizeof *in);
    int rc;

    *out = NULL;
    if (!in || !(in->conf = tickd_section_dup(sec))) {
        free(in);
        tickd_error_set(err, sec->file, sec->line, "out of memory");
        return -ENOMEM;
    }
    rc = tickd_module_get(sec->module, sec->module_path, sec->name, sec->file,
                          sec->module_line, &in->mod, err);
    if (rc < 0) {
        tickd_section_free(in->conf);
        free(in);
        return rc;
    }
    in->data = tick__calloc(1, in->mod->desc->instance_size ? in->mod->desc->instance_size : 1);
    if (!in->data) {
        tickd_module_put(in->mod);
        tickd_section_free(in->conf);
        free(in);
        tickd_error_set(err, sec->file, sec->line, "out of memory");
        return -ENOMEM;
    }
    in->mod->instances++;
    in->loop = loop;
    in->state = TICKD_INSTANCE_CONFIGURED;
    tick_link_init(&in->link);
    tick_link_init(&in->leases);
    tick_link_init(&in->servers);
    tick_list_append(&registry, &in->all);
    snprintf(in->scope_name, sizeof in->scope_name, "plugin:%s", in->conf->name);
    tick_scope_init(&in->scope, loop, tick_loop_scope(loop), in->scope_name);
    tick_scope_set_failed_hook(&in->scope, task_failed, in);
    tick_handle_init(&in->drained, in->scope_name, instance_drained);
    tick_handle_set_scope(&in->drained, tick_loop_scope(loop));

    if (in->mod->keys) {
        /* the table: the daemon fills the memory; configure() may then
         * check the whole */
        rc = tickd_keys_fill(in->mod->keys, in->conf, in->data, &in->arena, err);
        if (rc == 0 && in->mod->desc->configure)
            rc = configure_one(in, NULL, NULL, in->conf->line, err);
    } else {
        for (size_t i = 0; rc == 0 && i < in->conf->nkv; i++)
            rc = configure_one(in, in->conf->kv[i].key, in->conf->kv[i].value,
                               in->conf->kv[i].line, err);
        if (rc == 0)
            rc = configure_one(in, NULL, NULL, in->conf->line, err);
    }
    if (rc < 0) {
        instance_free(in);   /* release() undoes a partial configure */
        return rc;
    }
    *out = in;
    return 0;
}

void tickd_instance_discard(tick_instance *in)
{
    if (!in)
        return;
    assert(in->state == TICKD_INSTANCE_CONFIGURED);
    instance_free(in);
}

int tickd_instance_start(tick_instance *in, struct tickd_error *err)
{
    int rc;

    in->has_err = false;
    in->started_at = tick_now(in->loop);
    IN_SCOPE(in, rc = in->mod->desc->start(in));
    tickd_metrics_instance_started(in);
    if (rc < 0) {
        in->state = TICKD_INSTANCE_FAILED;
        tickd_error_set(err, in->conf->file, in->conf->line,
                        "plugin:%s: start failed: %s", iname(in),
                        in->has_err ? in->err : strerror(-rc));
        return rc;
    }
    in->state = TICKD_INSTANCE_RUNNING;
    plog(in, TICK_LOG_INFO, "running module '%s' %s load %u from %s", in->mod->name,
         in->mod->desc->version ? in->mod->desc->version : "(no version)",
         in->mod->load, in->mod->path);
    return 0;
}

bool tickd_instance_can_reconfigure(const tick_instance *in,
                                    const struct tickd_section *sec)
{
    const struct tickd_section *a = in->conf;

    if (in->mod->keys)
        return strcmp(a->module_path, sec->module_path) == 0 &&
               a->reuse_port == sec->reuse_port &&
               tickd_keys_live_only(in->mod->keys, a, sec);
    if (!in->mod->reconfigure || strcmp(a->module_path, sec->module_path) != 0 ||
        a->nkv != sec->nkv || a->reuse_port != sec->reuse_port)
        return false;
    for (size_t i = 0; i < a->nkv; i++)
        if (strcmp(a->kv[i].key, sec->kv[i].key) != 0)
            return false;
    return true;
}

int tickd_instance_reconfigure(tick_instance *in, const struct tickd_section *sec)
{
    struct tickd_section *copy = tickd_section_dup(sec);
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    if (in->mod->keys) {
        rc = tickd_keys_apply_live(in->mod->keys, in->conf, sec, in->data, &in->arena);
        if (rc >= 0 && in->mod->reconfigure)
            IN_SCOPE(in, rc = in->mod->reconfigure(in, NULL, NULL));
        if (rc < 0) {
            tickd_section_free(copy);
            return rc;
        }
        tickd_section_free(in->conf);
        in->conf = copy;
        return 0;
    }
    for (size_t i = 0; rc >= 0 && i < sec->nkv; i++)
        if (strcmp(in->conf->kv[i].value, sec->kv[i].value) != 0)
            IN_SCOPE(in, rc = in->mod->reconfigure(in, sec->kv[i].key, sec->kv[i].value));
    if (rc >= 0)
        IN_SCOPE(in, rc = in->mod->reconfigure(in, NULL, NULL));
    if (rc < 0) {
        tickd_section_free(copy);
        return rc;
    }
    tickd_section_free(in->conf);
    in->conf = copy;
    return 0;
}

/* ---- stopping ------------------------------------------------------- */

static void batch_member_done(struct tickd_stop *b)
{
    if (--b->pending == 0) {
        tick_timer_stop(b->loop, &b->deadline);
        tick_call_soon(b->loop, &b->finish);
    }
}

/* Wait for the scope to drain, then advance again (the drained handle).
 * Returns false when the scope is empty already. */
static bool wait_drained(tick_instance *in)
{
    if (tick_scope_empty(&in->scope))
        return false;
    if (!in->drain) {
        in->drain = tick_scope_drain(&in->scope);
        if (!in->drain) {
            /* no memory for a future: look again in a while */
            tick_call_soon(in->loop, &in->drained);
            return true;
        }
        tick_future_add_done_callback(in->drain, &in->drained);
    }
    return true;
}

/* Move an instance on: wait for its scope to drain, stop(), wait for
 * anything stop() left, release, close and free. Called again by the
 * drained handle. */
static void instance_advance(tick_instance *in)
{
    if (wait_drained(in))
        return;
    if (!in->stop_called) {
        call_stop(in);
        if (!tick_scope_empty(&in->scope)) {
            cancel_scope(in, "left by stop()");
            if (wait_drained(in))
                return;
        }
    }
    struct tickd_stop *b = in->batch;
    plog(in, TICK_LOG_DEBUG, "stopped");
    instance_free(in);
    if (b)
        batch_member_done(b);
}

static void instance_drained(tick_handle *h)
{
    tick_instance *in = tick_container_of(h, tick_instance, drained);

    in->drain = tick_future_unref(in->drain);
    instance_advance(in);
}

static void batch_deadline(tick_handle *h)
{
    struct tickd_stop *b = tick_container_of(h, struct tickd_stop, deadline.handle);
    bool again = false;

    for (tick_link *l = b->members.next, *next; l != &b->members; l = next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        next = l->next;
        if (in->graceful) {
            /* Its leases ended a stop_timeout ago and it is still busy
             * (idle clients, say): cancel what is left, and give that the
             * same time again. The drain wait is armed already. */
            plog(in, TICK_LOG_NOTICE, "still draining after the stop timeout; "
                 "cancelling what is left");
            cancel_scope(in, "drain timeout");
            again = true;
            continue;
        }
        /* Past the deadline: stop() now so the plugin closes its sockets,
         * but keep its memory and module until the last task is gone. */
        tick_scope_stats st;
        tick_scope_get_stats(&in->scope, &st, true);
        plog(in, TICK_LOG_WARNING, "%llu tasks and %llu jobs still running "
             "after the stop timeout; stopping anyway (the module stays "
             "loaded until they finish)",
             (unsigned long long)st.count[TICK_SCOPE_TASK],
             (unsigned long long)st.count[TICK_SCOPE_JOB]);
        tick_link_remove(&in->link);
        in->batch = NULL;
        in->state = TICKD_INSTANCE_ZOMBIE;
        b->pending--;
        /* what was armed since the first cancel goes too */
        cancel_scope(in, "stop timeout");
        if (!in->stop_called)
            call_stop(in);
        instance_advance(in);
    }
    if (again && b->pending > 0 && tick_call_later(b->loop, &b->deadline, b->timeout) == 0)
        return;
    if (again && b->pending > 0) {
        batch_deadline(&b->deadline.handle);   /* no timer: now */
        return;
    }
    b->pending = 0;
    tick_call_soon(b->loop, &b->finish);
}

unsigned tickd_instance_draining(const char *name)
{
    unsigned n = 0;
    for (tick_link *l = registry.next; l != &registry; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, all);
        if ((in->state == TICKD_INSTANCE_STOPPING || in->state == TICKD_INSTANCE_ZOMBIE) &&
            strcmp(in->conf->name, name) == 0)
            n++;
    }
    return n;
}

void tickd_instance_hurry_all(void)
{
    for (tick_link *l = registry.next; l != &registry; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, all);
        if (in->state == TICKD_INSTANCE_STOPPING && in->graceful)
            cancel_scope(in, "shutting down");
    }
}

bool tickd_instance_hurry_oldest(const char *name)
{
    /* the registry is in creation order: the first match is the oldest */
    for (tick_link *l = registry.next; l != &registry; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, all);
        if (in->state == TICKD_INSTANCE_STOPPING && in->graceful &&
            strcmp(in->conf->name, name) == 0) {
            plog(in, TICK_LOG_NOTICE, "too many incarnations draining; cancelling "
                 "the oldest now");
            cancel_scope(in, "drain limit");
            return true;
        }
    }
    return false;
}

static void batch_finish(tick_handle *h)
{
    struct tickd_stop *b = tick_container_of(h, struct tickd_stop, finish);
    tickd_stop_done_fn done = b->done;
    void *arg = b->arg;

    batch_release(b);
    if (done)
        done(arg);
}

int tickd_stop_begin(tick_loop *loop, tick_link *list, uint64_t timeout,
                     enum tickd_stop_mode mode, tickd_stop_done_fn done, void *arg)
{
    struct tickd_stop *b = batch_alloc();
    tick_link *l, *next;

    if (!b) {
        /* No memory and every reserved batch in use (more than
         * STOP_RESERVE stops in flight whose allocation failed): stop
         * without waiting for the tasks, and report the end from a handle
         * all the same, so that the caller's count of batches comes down. */
        while (!tick_list_empty(list)) {
            tick_instance *in = tick_container_of(list->next, tick_instance, link);
            tick_link_remove(&in->link);
            in->state = TICKD_INSTANCE_ZOMBIE;
            cancel_scope(in, "stopping");
            instance_advance(in);
        }
        if (done)
            stop_late_add(loop, done, arg);
        return -ENOMEM;
    }
    b->loop = loop;
    b->timeout = timeout;
    b->done = done;
    b->arg = arg;
    tick_link_init(&b->members);
    tick_timer_init(&b->deadline, "stop timeout", batch_deadline);
    tick_handle_init(&b->finish, "stop finished", batch_finish);
    tick_handle_set_scope(&b->deadline.handle, tick_loop_scope(loop));
    tick_handle_set_scope(&b->finish, tick_loop_scope(loop));
    tick_list_splice(&b->members, list);
    for (l = b->members.next; l != &b->members; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        in->batch = b;
        in->state = TICKD_INSTANCE_STOPPING;
        b->pending++;
    }
    /* +1 so that instances finishing synchronously below cannot complete
     * the batch before every one was started on its way */
    b->pending++;
    for (l = b->members.next; l != &b->members; l = next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        next = l->next;
        if (mode == TICKD_STOP_DRAIN && tickd_listen_instance_leases(in)) {
            /* stop accepting; what it serves it finishes (or the deadline
             * cancels it) */
            in->graceful = true;
            tickd_listen_end_instance(in, -ESHUTDOWN);
        } else {
            cancel_scope(in, "stopping");
        }
        instance_advance(in);
    }
    if (b->pending > 1 && tick_call_later(loop, &b->deadline, timeout) < 0)
        batch_deadline(&b->deadline.handle);
    else
        batch_member_done(b);
    return 0;
}

/* ---- registry: log prefixes, status, stats -------------------------- */

size_t tickd_instance_count(void)
{
    size_t n = 0;
    for (tick_link *l = registry.next; l != &registry; l = l->next)
        n++;
    return n;
}

tick_instance *tickd_instance_next(tick_instance *prev)
{
    tick_link *l = prev ? prev->all.next : registry.next;
    return l == &registry ? NULL : tick_container_of(l, tick_instance, all);
}

int tickd_instance_format_stats(tick_instance *in, char *buf, size_t len)
{
    static const char *const states[] = {
        "configured", "running", "failed", "stopping", "zombie",
    };
    uint64_t up = in->started_at ? tick_now(in->loop) - in->started_at : 0;
    tick_scope_stats st;

    tick_scope_get_stats(&in->scope, &st, true);
    return snprintf(buf, len, "module=%s state=%s tasks=%llu tasks_failed=%llu "
             "timers=%llu handles=%llu fds=%llu jobs=%llu children=%llu "
             "handler_ms=%.3f job_cpu_ms=%.3f handles_run=%llu up=%llus status='%s'",
             in->mod->name, states[in->state],
             (unsigned long long)st.count[TICK_SCOPE_TASK],
             (unsigned long long)in->tasks_failed,
             (unsigned long long)st.count[TICK_SCOPE_TIMER],
             (unsigned long long)(st.count[TICK_SCOPE_HANDLE] + st.queued),
             (unsigned long long)st.count[TICK_SCOPE_FD],
             (unsigned long long)st.count[TICK_SCOPE_JOB],
             (unsigned long long)st.count[TICK_SCOPE_CHILD],
             (double)st.handler_ns / 1e6, (double)st.job_cpu_ns / 1e6,
             (unsigned long long)st.handles_run,
             (unsigned long long)(up / TICK_SEC), in->status);
}

void tickd_instance_log_stats(void)
{
    char line[1024];

    for (tick_instance *in = NULL; (in = tickd_instance_next(in));) {
        tickd_instance_format_stats(in, line, sizeof line);
        plog(in, TICK_LOG_NOTICE, "%s", line);
    }
}
