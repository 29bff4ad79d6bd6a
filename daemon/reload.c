/*
 * reload.c — SIGHUP: read the configuration again and apply the difference.
 *
 * Validation comes first and is complete: the new file is parsed and every
 * new or changed instance is loaded and configured (configure() only;
 * nothing starts). Any error leaves the running configuration untouched.
 * Then instances whose section changed (module file, keys or values) or
 * disappeared are stopped; when they are gone (their ports are free), the
 * new ones start. Unchanged instances are not touched at all: their tasks
 * and connections carry on.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "exitguard.h"
#include "log.h"
#include "notify.h"

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

static void discard_pending(struct tickd *d)
{
    while (!tick_list_empty(&d->pending)) {
        tick_instance *in = tick_container_of(d->pending.next, tick_instance, link);
        tick_link_remove(&in->link);
        tickd_instance_discard(in);
    }
}

/* The changed and removed instances are stopped: start the new ones. */
static void reload_stopped(void *arg)
{
    struct tickd *d = arg;
    struct tickd_error err;
    tick_link failed = TICK_LINK_INIT(failed);
    unsigned started = 0, nfailed = 0;
    int rc;

    if (d->state == TICKD_STOPPING) {
        /* SIGTERM came during the reload; begin_shutdown discarded the
         * pending instances already. */
        tickd_config_free(d->new_cfg);
        d->new_cfg = NULL;
        tickd_reload_verdict(d, false, "not reloaded: tickd is stopping");
        tickd_batch_done(d);
        return;
    }
    d->batches--;
    while (!tick_list_empty(&d->pending)) {
        tick_instance *in = tick_container_of(d->pending.next, tick_instance, link);
        tick_link_remove(&in->link);
        err.set = false;
        tickd_exit_guard_enter("starting", in->conf->module, in->conf->module_path,
                               in->conf->name, in->conf->file, in->conf->line);
        rc = tickd_instance_start(in, &err);
        tickd_exit_guard_leave();
        if (rc < 0) {
            /* The configuration was valid; the world was not (a port in
             * use, say). Keep the rest running and say so. */
            tickd_log(TICK_LOG_ERR, "%s", err.msg);
            tick_list_append(&failed, &in->link);
            nfailed++;
        } else {
            tick_list_append(&d->running, &in->link);
            started++;
        }
    }
    if (nfailed) {
        d->batches++;
        tickd_stop_begin(d->loop, &failed, d->new_cfg->d.stop_timeout,
                         tickd_batch_done, d);
    }
    tickd_config_free(d->cfg);
    d->cfg = d->new_cfg;
    d->new_cfg = NULL;
    d->state = TICKD_RUNNING;
    if (nfailed)
        tickd_log(TICK_LOG_WARNING, "reloaded with errors: %u started, %u "
                  "failed to start, %u stopped, %u unchanged", started, nfailed,
                  d->n_stopped, d->n_unchanged);
    else
        tickd_log(TICK_LOG_INFO, "reloaded: %u started, %u stopped, %u unchanged",
                  started, d->n_stopped, d->n_unchanged);
    tickd_notify_ready(d);
    {
        char verdict[sizeof err.msg + 160];
        if (nfailed)
            snprintf(verdict, sizeof verdict, "reloaded with errors: %u started, %u "
                     "failed to start, %u stopped, %u unchanged; last error: %s",
                     started, nfailed, d->n_stopped, d->n_unchanged, err.msg);
        else
            snprintf(verdict, sizeof verdict, "reloaded: %u started, %u stopped, "
                     "%u unchanged", started, d->n_stopped, d->n_unchanged);
        tickd_reload_verdict(d, nfailed == 0, verdict);
    }
    if (d->reload_again) {
        d->reload_again = false;
        tickd_reload(d);
    }
}

void tickd_reload(struct tickd *d)
{
    struct tickd_error err = { 0 };
    struct tickd_config *cfg;
    tick_link stop = TICK_LINK_INIT(stop);
    int rc;

    if (d->state == TICKD_STOPPING || d->state == TICKD_STARTING)
        return;
    if (d->state == TICKD_RELOADING) {
        d->reload_again = true;   /* after this one, read the file again */
        return;
    }
    tickd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
                 (unsigned long long)monotonic_usec());
    tickd_log(TICK_LOG_INFO, "reloading %s", d->config_path);

    if (tickd_config_load(d->config_path, &cfg, &err) < 0) {
        tickd_log(TICK_LOG_ERR, "reload failed, keeping the running "
                  "configuration: %s", err.msg);
        tickd_notify_ready(d);
        tickd_reload_verdict(d, false, err.msg);
        return;
    }
    d->n_unchanged = d->n_stopped = 0;
    for (size_t i = 0; i < cfg->nsec; i++) {
        const struct tickd_section *s = &cfg->sec[i];
        tick_instance *old = find_running(d, s->name), *in;
        if (old && tickd_section_equal(old->conf, s)) {
            d->n_unchanged++;
            continue;
        }
        tickd_exit_guard_enter("loading", s->module, s->module_path, s->name,
                               s->file, s->module_line);
        rc = tickd_instance_new(d->loop, s, &in, &err);
        tickd_exit_guard_leave();
        if (rc < 0) {
            discard_pending(d);
            tickd_config_free(cfg);
            tickd_log(TICK_LOG_ERR, "reload failed, keeping the running "
                      "configuration: %s", err.msg);
            tickd_notify_ready(d);
            tickd_reload_verdict(d, false, err.msg);
            return;
        }
        tick_list_append(&d->pending, &in->link);
    }
    /* Valid: from here on the new configuration wins. */
    for (tick_link *l = d->running.next, *next; l != &d->running; l = next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        const struct tickd_section *s = tickd_config_find(cfg, in->conf->name);
        next = l->next;
        if (!s || !tickd_section_equal(in->conf, s)) {
            tick_link_remove(&in->link);
            tick_list_append(&stop, &in->link);
            d->n_stopped++;
        }
    }
    d->new_cfg = cfg;
    d->state = TICKD_RELOADING;
    tickd_apply_settings(d, cfg);
    d->batches++;
    tickd_stop_begin(d->loop, &stop, cfg->d.stop_timeout, reload_stopped, d);
}
