/*
 * instance.c — plugin instances and the tick_instance_* API (instance.h,
 * tick/plugin.h).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "log.h"

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
};

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

void tickd_instance_set_status_hook(void (*fn)(void)) { status_hook = fn; }

/* ---- calling into the plugin ---------------------------------------- */

static void call_stop(tick_instance *in)
{
    const tick_plugin *d = in->mod->desc;
    tick_instance *prev = current;
    tick_task_group *prev_group;

    in->stop_called = true;
    if (!d->stop)
        return;
    /* tasks stop() might start belong to the instance too, so they are
     * waited for before release() and dlclose */
    prev_group = tick_task_group_enter(in->loop, &in->group);
    current = in;
    d->stop(in);
    current = prev;
    tick_task_group_enter(in->loop, prev_group);
}

static void instance_free(tick_instance *in)
{
    const tick_plugin *d = in->mod->desc;
    tick_instance *prev = current;

    /* the drained handle may be queued when a deadline beats it to us */
    tick_handle_cancel(&in->drained);
    in->group.on_empty = NULL;
    if (d->release) {
        current = in;
        d->release(in);
        current = prev;
    }
    /* after release(), which may be what forgot a timer */
    tickd_instance_disarm(in, in->mod->refs == 1);
    tick_link_remove(&in->link);
    tick_link_remove(&in->all);
    in->mod->instances--;
    tickd_module_put(in->mod);
    tickd_section_free(in->conf);
    free(in->data);
    free(in);
}

static void task_failed(tick_task_group *g, tick_task *t, int err)
{
    tick_instance *in = tick_container_of(g, tick_instance, group);

    in->tasks_failed++;
    plog(in, TICK_LOG_ERR, "task '%s' failed: %s",
         tick_task_name(t) ? tick_task_name(t) : "?", strerror(-err));
}

static void instance_drained(tick_handle *h);

static int configure_one(tick_instance *in, const char *key, const char *value,
                         int line, struct tickd_error *err)
{
    const tick_plugin *d = in->mod->desc;
    tick_instance *prev = current;
    int rc;

    in->has_err = false;
    if (!d->configure) {
        rc = key ? tick_instance_error(in, "unknown key '%s'", key) : 0;
    } else {
        current = in;
        rc = d->configure(in, key, value);
        current = prev;
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
    tick_instance *in = calloc(1, sizeof *in);
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
    in->data = calloc(1, in->mod->desc->instance_size ? in->mod->desc->instance_size : 1);
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
    tick_list_append(&registry, &in->all);
    tick_task_group_init(&in->group);
    in->group.on_failed = task_failed;
    tick_handle_init(&in->drained, in->conf->name, instance_drained);

    for (size_t i = 0; rc == 0 && i < in->conf->nkv; i++)
        rc = configure_one(in, in->conf->kv[i].key, in->conf->kv[i].value,
                           in->conf->kv[i].line, err);
    if (rc == 0)
        rc = configure_one(in, NULL, NULL, in->conf->line, err);
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
    tick_task_group *prev_group;
    tick_instance *prev = current;
    int rc;

    in->has_err = false;
    in->started_at = tick_now(in->loop);
    prev_group = tick_task_group_enter(in->loop, &in->group);
    current = in;
    rc = in->mod->desc->start(in);
    current = prev;
    tick_task_group_enter(in->loop, prev_group);
    if (rc < 0) {
        in->state = TICKD_INSTANCE_FAILED;
        tickd_error_set(err, NULL, 0, "plugin:%s: start failed: %s", iname(in),
                        in->has_err ? in->err : strerror(-rc));
        return rc;
    }
    in->state = TICKD_INSTANCE_RUNNING;
    plog(in, TICK_LOG_DEBUG, "started (module '%s' %s)", in->mod->name,
         in->mod->desc->version ? in->mod->desc->version : "");
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

/* Move an instance on: wait for its tasks, stop(), wait for anything
 * stop() left, release and free. Called again by the drained handle. */
static void instance_advance(tick_instance *in)
{
    if (in->group.count > 0) {
        in->group.on_empty = &in->drained;
        return;
    }
    in->group.on_empty = NULL;
    if (!in->stop_called) {
        call_stop(in);
        if (in->group.count > 0) {
            plog(in, TICK_LOG_WARNING, "stop() left %zu tasks running; "
                 "cancelling them", in->group.count);
            tick_task_group_cancel(&in->group);
            in->group.on_empty = &in->drained;
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
    instance_advance(tick_container_of(h, tick_instance, drained));
}

static void batch_deadline(tick_handle *h)
{
    struct tickd_stop *b = tick_container_of(h, struct tickd_stop, deadline.handle);

    while (!tick_list_empty(&b->members)) {
        tick_instance *in = tick_container_of(b->members.next, tick_instance, link);
        /* Past the deadline: stop() now so the plugin closes its sockets,
         * but keep its memory and module until the last task is gone. */
        plog(in, TICK_LOG_WARNING, "%zu tasks still running after the stop "
             "timeout; stopping anyway (the module stays loaded until they "
             "finish)", in->group.count);
        tick_link_remove(&in->link);
        in->batch = NULL;
        in->state = TICKD_INSTANCE_ZOMBIE;
        if (!in->stop_called)
            call_stop(in);
        if (in->group.count == 0)
            instance_advance(in);
        else
            in->group.on_empty = &in->drained;
    }
    b->pending = 0;
    tick_call_soon(b->loop, &b->finish);
}

static void batch_finish(tick_handle *h)
{
    struct tickd_stop *b = tick_container_of(h, struct tickd_stop, finish);
    tickd_stop_done_fn done = b->done;
    void *arg = b->arg;

    free(b);
    if (done)
        done(arg);
}

int tickd_stop_begin(tick_loop *loop, tick_link *list, uint64_t timeout,
                     tickd_stop_done_fn done, void *arg)
{
    struct tickd_stop *b = calloc(1, sizeof *b);
    tick_link *l, *next;

    if (!b) {
        /* No memory for a batch: stop without waiting for the tasks. */
        while (!tick_list_empty(list)) {
            tick_instance *in = tick_container_of(list->next, tick_instance, link);
            tick_link_remove(&in->link);
            in->state = TICKD_INSTANCE_ZOMBIE;
            tick_task_group_cancel(&in->group);
            instance_advance(in);
        }
        return -ENOMEM;
    }
    b->loop = loop;
    b->timeout = timeout;
    b->done = done;
    b->arg = arg;
    tick_link_init(&b->members);
    tick_timer_init(&b->deadline, "stop timeout", batch_deadline);
    tick_handle_init(&b->finish, "stop finished", batch_finish);
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
        tick_task_group_cancel(&in->group);
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

/*
 * Who called tick_log(): the instance whose callback the daemon is in,
 * else the instance owning the running task (its group is current), else
 * the module whose code made the call (a plain timer or handle callback):
 * its instance if it has just one. tick_log() itself is safe from any
 * thread (one write(2) of a stack buffer).
 */
static const char *log_context(const void *caller, char *buf, size_t len)
{
    tick_loop *loop = tick_loop_current();
    tick_instance *in;

    /* A worker thread (tick_run_in_thread) has no loop: it gets no prefix
     * rather than a look at lists only the loop thread may touch. */
    if (!loop)
        return NULL;
    in = current;
    if (!in) {
        tick_task_group *g = tick_task_group_enter(loop, NULL);
        tick_task_group_enter(loop, g);
        for (tick_instance *i = NULL; g && (i = tickd_instance_next(i));)
            if (&i->group == g) {
                in = i;
                break;
            }
    }
    if (!in) {
        struct tickd_module *m = tickd_module_by_addr(caller);
        if (!m)
            return NULL;
        if (m->instances != 1) {
            snprintf(buf, len, "module:%s", m->name);
            return buf;
        }
        for (tick_instance *i = NULL; (i = tickd_instance_next(i));)
            if (i->mod == m) {
                in = i;
                break;
            }
        if (!in)
            return NULL;
    }
    snprintf(buf, len, "plugin:%s", iname(in));
    return buf;
}

void tickd_instance_log_init(void) { tickd_log_set_context(log_context); }

void tickd_instance_log_stats(void)
{
    static const char *const states[] = {
        "configured", "running", "failed", "stopping", "zombie",
    };
    for (tick_instance *in = NULL; (in = tickd_instance_next(in));) {
        uint64_t up = in->started_at ? tick_now(in->loop) - in->started_at : 0;
        plog(in, TICK_LOG_NOTICE, "module=%s state=%s tasks=%zu tasks_failed=%llu "
             "up=%llus status='%s'", in->mod->name, states[in->state],
             in->group.count, (unsigned long long)in->tasks_failed,
             (unsigned long long)(up / TICK_SEC), in->status);
    }
}
