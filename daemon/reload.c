/*
 * reload.c — SIGHUP: read the configuration again and apply the difference.
 *
 * A reload reads top-down as its four phases, each a function below:
 *
 *   plan     diff the new configuration against what actually runs (not
 *            against the last file: a start that failed last time is
 *            retried): each section is new, unchanged, changed (its
 *            section, or its module file on disk) or changeable in place
 *            (reconfigure()); running instances it lacks are removed.
 *   prepare  load and configure a new incarnation of every new or changed
 *            instance. Any error rejects the whole reload: nothing has
 *            changed yet, the running configuration stays.
 *   start    new instances start; a changed stateless instance's new
 *            incarnation starts while the old one serves, on the sockets
 *            the daemon leases to both (tick/listen.h), and replaces it
 *            only if its start succeeded (else the old one keeps serving
 *            and the error is logged with FILE:LINE); a changed stateful
 *            one is stopped first and started once it is gone, the daemon
 *            holding its sockets open meanwhile; in-place changes go
 *            through reconfigure().
 *   retire   every replaced or removed incarnation stops on its own: its
 *            leases end, it finishes its connections, and whatever is
 *            left after stop_timeout is cancelled. No instance waits for
 *            another. At most TICKD_MAX_DRAINING old incarnations of one
 *            instance drain at a time: one more forces the oldest on.
 *
 * The reload is done once every start is (stateful ones after their
 * stop): then listeners no lease uses are closed, READY=1 goes out, the
 * summary is logged, tickd_reload_verdict() is told, and a SIGHUP that came
 * meanwhile runs the next reload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "control.h"
#include "daemon.h"
#include "exitguard.h"
#include "listen.h"
#include "log.h"
#include "notify.h"

/* Old incarnations of one instance allowed to drain at once. */
#define TICKD_MAX_DRAINING 3

enum change { CH_NEW, CH_UNCHANGED, CH_CHANGED, CH_RECONFIGURE };

struct step {                       /* one section of the new configuration */
    struct tickd_reload *r;
    const struct tickd_section *sec;
    tick_instance *old;             /* the running incarnation, or NULL */
    tick_instance *next;            /* the prepared incarnation, or NULL */
    enum change change;
    bool module_changed;            /* the old one's file changed on disk */
};

struct tickd_reload {
    struct tickd *d;
    struct tickd_config *cfg;
    uint64_t t0;                    /* tick_now() at SIGHUP */
    struct step *steps;
    size_t nsteps;
    tick_link retire;               /* incarnations replaced: to retire */
    unsigned started, failed, stopped, unchanged, reconfigured;
    unsigned waiting;               /* stateful starts waiting for a stop */
    char error[sizeof((struct tickd_error *)0)->msg];   /* first failed start */
};

static uint64_t monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static tick_instance *find_running(struct tickd *d, const char *name)
{
    for (tick_link *l = d->running.next; l != &d->running; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        if (strcmp(in->conf->name, name) == 0)
            return in;
    }
    return NULL;
}

static void reload_free(struct tickd_reload *r)
{
    for (size_t i = 0; r->steps && i < r->nsteps; i++)
        if (r->steps[i].next && r->steps[i].next->state == TICKD_INSTANCE_CONFIGURED &&
            !tick_link_linked(&r->steps[i].next->link))
            tickd_instance_discard(r->steps[i].next);
    free(r->steps);
    free(r);
}

/* ---- 1. plan ------------------------------------------------------------ */

/* Classify every section of r->cfg against the running instances. Changes
 * nothing. 0 or -ENOMEM. */
static int plan(struct tickd_reload *r)
{
    struct tickd *d = r->d;

    r->nsteps = r->cfg->nsec;
    if (r->nsteps && !(r->steps = tick__calloc(r->nsteps, sizeof *r->steps)))
        return -ENOMEM;
    for (size_t i = 0; i < r->nsteps; i++) {
        struct step *st = &r->steps[i];
        st->r = r;
        st->sec = &r->cfg->sec[i];
        st->old = find_running(d, st->sec->name);
        if (!st->old) {
            st->change = CH_NEW;
            continue;
        }
        st->module_changed = tickd_module_changed(st->old->mod);
        if (st->module_changed)
            st->change = CH_CHANGED;      /* a rebuilt .so: the new load */
        else if (tickd_section_equal(st->old->conf, st->sec))
            st->change = CH_UNCHANGED;
        else if (tickd_instance_can_reconfigure(st->old, st->sec))
            st->change = CH_RECONFIGURE;
        else
            st->change = CH_CHANGED;
    }
    return 0;
}

/* ---- 2. prepare --------------------------------------------------------- */

/* Load and configure the incarnations the plan needs (a reconfigure
 * candidate too: its new values are checked by configure() like any,
 * and it is the fallback if reconfigure() refuses). 0, or < 0 with err
 * set and nothing left behind (reload_free discards what was made). */
static int prepare(struct tickd_reload *r, struct tickd_error *err)
{
    for (size_t i = 0; i < r->nsteps; i++) {
        struct step *st = &r->steps[i];
        const struct tickd_section *s = st->sec;
        int rc;

        if (st->change == CH_UNCHANGED)
            continue;
        if (st->module_changed)
            tickd_logp(TICK_LOG_INFO, st->old->scope_name, "module file %s "
                       "changed on disk (running load %u): loading it again",
                       st->old->mod->path, st->old->mod->load);
        tickd_exit_guard_enter("loading", s->module, s->module_path, s->name,
                               s->file, s->module_line);
        rc = tickd_instance_new(r->d->loop, s, &st->next, err);
        tickd_exit_guard_leave();
        if (rc < 0)
            return rc;
        st->next->reload_t0 = r->t0;
    }
    return 0;
}

/* ---- 3. start ----------------------------------------------------------- */

static void finish(struct tickd_reload *r);

/* start() under the exit guard; a failure is logged, counted and the
 * failed incarnation stopped (its partial start undone). */
static bool start_one(struct tickd_reload *r, tick_instance *in)
{
    struct tickd *d = r->d;
    struct tickd_error err = { 0 };
    tick_link failed = TICK_LINK_INIT(failed);
    int rc;

    tickd_exit_guard_enter("starting", in->conf->module, in->conf->module_path,
                           in->conf->name, in->conf->file, in->conf->line);
    rc = tickd_instance_start(in, &err);
    tickd_exit_guard_leave();
    if (rc >= 0) {
        r->started++;
        return true;
    }
    /* The configuration was valid; the world was not (a port taken by
     * another process, say). Whatever ran keeps running. */
    tickd_log(TICK_LOG_ERR, "%s", err.msg);
    if (!r->error[0])
        memcpy(r->error, err.msg, sizeof r->error);
    r->failed++;
    tick_link_remove(&in->link);
    tick_list_append(&failed, &in->link);
    d->batches++;
    tickd_stop_begin(d->loop, &failed, r->cfg->d.stop_timeout, TICKD_STOP_NOW,
                     tickd_batch_done, d);
    return false;
}

/* next takes old's place in the running list; old is to be retired. */
static void replace(struct tickd_reload *r, tick_instance *old, tick_instance *next)
{
    tick_list_append(&old->link, &next->link);    /* just before old */
    tick_link_remove(&old->link);
    old->retiring = true;
    old->retire_t0 = r->t0;
    tick_list_append(&r->retire, &old->link);
    r->stopped++;
}

/* A stateful instance's old incarnation is gone: start its successor on
 * the sockets the daemon kept open. */
static void stateful_stopped(void *arg)
{
    struct step *st = arg;
    struct tickd_reload *r = st->r;
    struct tickd *d = r->d;

    if (d->state != TICKD_STOPPING) {
        tick_link_remove(&st->next->link);       /* from d->pending */
        if (start_one(r, st->next))
            tick_list_append(&d->running, &st->next->link);
        st->next = NULL;
    } else {
        st->next = NULL;    /* begin_shutdown discarded it with d->pending */
    }
    if (--r->waiting == 0)
        finish(r);
    tickd_batch_done(d);
}

static void stop_first(struct tickd_reload *r, struct step *st)
{
    struct tickd *d = r->d;
    tick_link one = TICK_LINK_INIT(one);

    tick_link_remove(&st->old->link);
    st->old->retiring = true;
    st->old->retire_t0 = r->t0;
    tick_list_append(&one, &st->old->link);
    tick_list_append(&d->pending, &st->next->link);
    r->stopped++;
    r->waiting++;
    d->batches++;
    tickd_stop_begin(d->loop, &one, r->cfg->d.stop_timeout, TICKD_STOP_DRAIN,
                     stateful_stopped, st);
}

static void start(struct tickd_reload *r)
{
    struct tickd *d = r->d;

    /* instances the new file lacks may hand their address to a new name */
    for (tick_link *l = d->running.next; l != &d->running; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        if (!tickd_config_find(r->cfg, in->conf->name))
            in->retiring = true;
    }
    for (size_t i = 0; i < r->nsteps; i++) {
        struct step *st = &r->steps[i];

        switch (st->change) {
        case CH_UNCHANGED:
            r->unchanged++;
            break;
        case CH_NEW:
            if (start_one(r, st->next))
                tick_list_append(&d->running, &st->next->link);
            st->next = NULL;
            break;
        case CH_RECONFIGURE:
            if (tickd_instance_reconfigure(st->old, st->sec) >= 0) {
                tickd_logp(TICK_LOG_INFO, st->old->scope_name, "reconfigured in place");
                tickd_instance_discard(st->next);
                st->next = NULL;
                r->reconfigured++;
                break;
            }
            tickd_logp(TICK_LOG_INFO, st->old->scope_name, "reconfigure() refused "
                       "the change: restarting");
            /* fall through */
        case CH_CHANGED:
            if (st->old->mod->flags & TICK_PLUGIN_STATEFUL) {
                stop_first(r, st);          /* started by stateful_stopped */
                break;
            }
            if (start_one(r, st->next))
                replace(r, st->old, st->next);
            st->next = NULL;
            break;
        }
    }
}

/* ---- 4. retire ---------------------------------------------------------- */

static void retire_one(struct tickd_reload *r, tick_instance *in)
{
    struct tickd *d = r->d;
    tick_link one = TICK_LINK_INIT(one);

    /* bounded: a reload storm must not pile up draining generations */
    if (tickd_instance_draining(in->conf->name) >= TICKD_MAX_DRAINING)
        tickd_instance_hurry_oldest(in->conf->name);
    tick_link_remove(&in->link);
    tick_list_append(&one, &in->link);
    d->batches++;
    tickd_stop_begin(d->loop, &one, r->cfg->d.stop_timeout, TICKD_STOP_DRAIN,
                     tickd_batch_done, d);
}

/* Every replaced and every removed incarnation, each in a stop batch of
 * its own: one slow drain delays nobody else. */
static void retire(struct tickd_reload *r)
{
    struct tickd *d = r->d;

    while (!tick_list_empty(&r->retire))
        retire_one(r, tick_container_of(r->retire.next, tick_instance, link));
    for (tick_link *l = d->running.next, *next; l != &d->running; l = next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        next = l->next;
        if (!tickd_config_find(r->cfg, in->conf->name)) {
            in->retire_t0 = r->t0;
            r->stopped++;
            retire_one(r, in);
        }
    }
}

/* ---- the end of a reload ------------------------------------------------ */

/* Running instances in the order of the new file (status, stats). */
static void reorder(struct tickd *d, const struct tickd_config *cfg)
{
    for (size_t i = 0; i < cfg->nsec; i++) {
        tick_instance *in = find_running(d, cfg->sec[i].name);
        if (in) {
            tick_link_remove(&in->link);
            tick_list_append(&d->running, &in->link);
        }
    }
}

static void finish(struct tickd_reload *r)
{
    struct tickd *d = r->d;
    char summary[200];

    if (d->state == TICKD_STOPPING) {
        /* SIGTERM came while stateful restarts waited */
        tickd_config_free(r->cfg);
        d->new_cfg = NULL;
        d->reload = NULL;
        reload_free(r);
        tickd_reload_verdict(d, false, "not reloaded: tickd is stopping");
        return;
    }
    tickd_listen_sweep();
    tickd_config_free(d->cfg);
    d->cfg = r->cfg;
    d->new_cfg = NULL;
    d->reload = NULL;
    reorder(d, d->cfg);
    d->state = TICKD_RUNNING;
    if (r->failed) {
        snprintf(summary, sizeof summary, "%u started, %u failed to start, %u "
                 "stopped, %u unchanged, %u reconfigured", r->started, r->failed,
                 r->stopped, r->unchanged, r->reconfigured);
        tickd_log(TICK_LOG_WARNING, "reloaded with errors: %s; first: %s", summary,
                  r->error);
        snprintf(d->reload_error, sizeof d->reload_error, "reload failed: %u "
                 "failed to start (%.700s)", r->failed, r->error);
    } else {
        snprintf(summary, sizeof summary, "reloaded: %u started, %u stopped, %u "
                 "unchanged, %u reconfigured", r->started, r->stopped, r->unchanged,
                 r->reconfigured);
        tickd_log(TICK_LOG_INFO, "%s", summary);
        d->reload_error[0] = '\0';
    }
    tickd_notify_ready(d);
    if (r->failed) {
        /* `tickd reload` tells "in force, a start failed" by this prefix */
        char verdict[sizeof summary + sizeof r->error + 64];
        snprintf(verdict, sizeof verdict, TICKD_RELOADED_WITH_ERRORS ": %s; first: %s",
                 summary, r->error);
        tickd_reload_verdict(d, false, verdict);
    } else {
        tickd_reload_verdict(d, true, summary);
    }
    reload_free(r);
    if (d->reload_again) {
        d->reload_again = false;
        tickd_reload(d);
    }
}

/* The new file cannot run: nothing changed. */
static void reject(struct tickd *d, struct tickd_reload *r, const char *msg)
{
    tickd_log(TICK_LOG_ERR, "reload failed, keeping the running configuration: %s", msg);
    if (r) {
        tickd_config_free(r->cfg);
        reload_free(r);
    }
    tickd_notify_ready(d);
    tickd_reload_verdict(d, false, msg);
}

void tickd_reload(struct tickd *d)
{
    struct tickd_error err = { 0 };
    struct tickd_reload *r;

    if (d->state == TICKD_STOPPING || d->state == TICKD_STARTING)
        return;
    if (d->state == TICKD_RELOADING) {
        d->reload_again = true;   /* after this one, read the file again */
        return;
    }
    if (tickd_test_hook)
        tickd_test_hook(d, TICKD_TEST_RELOAD_BEGIN, true);
    tickd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
                 (unsigned long long)monotonic_usec());
    tickd_log(TICK_LOG_INFO, "reloading %s", d->config_path);
    if (!(r = tick__calloc(1, sizeof *r))) {
        reject(d, NULL, "out of memory");
        return;
    }
    r->d = d;
    r->t0 = tick_now(d->loop);
    tick_link_init(&r->retire);
    if (tickd_config_load(d->config_path, &r->cfg, &err) < 0) {
        free(r);
        reject(d, NULL, err.msg);
        return;
    }
    if (plan(r) < 0) {
        reject(d, r, "out of memory");
        return;
    }
    if (prepare(r, &err) < 0) {
        reject(d, r, err.msg);
        return;
    }
    /* Valid: from here on the new configuration wins. */
    d->state = TICKD_RELOADING;
    d->reload = r;
    d->new_cfg = r->cfg;
    tickd_apply_settings(d, r->cfg);
    start(r);
    retire(r);
    if (r->waiting == 0)
        finish(r);
}
