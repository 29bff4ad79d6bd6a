/*
 * daemon.c — the running daemon's state (daemon.h): status and watchdog
 * notifications, run-time settings, and the graceful shutdown. run.c
 * drives it from the command line and the signals; reload.c from SIGHUP.
 */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"

struct tickd tickd_main;
void (*tickd_test_hook)(struct tickd *d, enum tickd_test_event ev, bool ok);

size_t tickd_running_count(const struct tickd *d)
{
    size_t n = 0;
    for (const tick_link *l = d->running.next; l != &d->running; l = l->next)
        n++;
    return n;
}

void tickd_status_text(struct tickd *d, char *buf, size_t len)
{
    size_t n = tickd_running_count(d), off;
    int w = snprintf(buf, len, "running %zu instance%s", n, n == 1 ? "" : "s");

    off = w < 0 ? 0 : (size_t)w;
    for (tick_link *l = d->running.next; l != &d->running && off < len; l = l->next) {
        tick_instance *in = tick_container_of(l, tick_instance, link);
        if (!in->status[0])
            continue;
        w = snprintf(buf + off, len - off, "; %s: %s", in->conf->name, in->status);
        off = w < 0 ? len : off + (size_t)w;
    }
    if (d->reload_error[0] && off < len)
        snprintf(buf + off, len - off, "; %s", d->reload_error);
}

void tickd_notify_ready(struct tickd *d)
{
    tickd_status_text(d, d->status_sent, sizeof d->status_sent);
    tickd_notify("READY=1\nSTATUS=%s", d->status_sent);
}

static void send_status(tick_handle *h)
{
    struct tickd *d = tick_container_of(h, struct tickd, status_timer.handle);
    char status[1024];

    if (d->state != TICKD_RUNNING)
        return;   /* READY/RELOADING/STOPPING messages carry their own */
    tickd_status_text(d, status, sizeof status);
    if (strcmp(status, d->status_sent) == 0)
        return;
    memcpy(d->status_sent, status, sizeof status);
    tickd_notify("STATUS=%s", status);
}

/* An instance changed its status: send it within 100ms, coalesced, so a
 * plugin updating per request cannot flood the service manager. */
void tickd_status_changed(void)
{
    struct tickd *d = &tickd_main;
    if (tickd_notify_enabled() && !tick_timer_armed(&d->status_timer))
        tick_call_later(d->loop, &d->status_timer, 100 * TICK_MSEC);
}

static void watchdog_fire(tick_handle *h)
{
    struct tickd *d = tick_container_of(h, struct tickd, watchdog.handle);

    tickd_notify("WATCHDOG=1");
    /* Sent from the loop itself: a loop stuck in a handle stops pinging
     * and systemd restarts us. Missed pings are skipped, never burst. */
    if (tick_timer_repeat(d->loop, &d->watchdog, d->watchdog_period) < 0)
        tickd_log(TICK_LOG_ERR, "watchdog: cannot re-arm (out of memory)");
}

void tickd_apply_settings(struct tickd *d, const struct tickd_config *cfg)
{
    uint64_t usec = tickd_notify_watchdog_usec();

    const char *was = d->cfg ? d->cfg->d.control_socket : NULL;
    const char *now = cfg->d.control_socket;

    /* the socket is made once, at start-up, before any thread exists
     * (the umask): a new path takes effect at the next start */
    if (d->cfg != cfg && (!was != !now || (was && strcmp(was, now) != 0)))
        tickd_log(TICK_LOG_NOTICE, "control_socket changed: the new setting takes "
                  "effect when tickd is restarted (still serving %s)",
                  tickd_control_served() ? tickd_control_served() : "nothing");
    tickd_log_set_level(cfg->d.log_level);
    tick_loop_set_accounting(d->loop, cfg->d.accounting);
    tick_loop_set_slow_handler(d->loop, cfg->d.slow_handle,
                               cfg->d.slow_handle ? tickd_stats_slow_handle : NULL, d);
    d->watchdog_period = cfg->d.watchdog && usec ? tickd_notify_watchdog_period(usec) : 0;
    if (!d->watchdog_period)
        tick_timer_stop(d->loop, &d->watchdog);
    else if (!tick_timer_armed(&d->watchdog))
        tick_call_later(d->loop, &d->watchdog, d->watchdog_period);
}

static void shutdown_check(struct tickd *d)
{
    if (d->state == TICKD_STOPPING && d->batches == 0)
        tick_loop_stop(d->loop);
}

void tickd_batch_done(void *arg)
{
    struct tickd *d = arg;
    d->batches--;
    shutdown_check(d);
}

void tickd_begin_shutdown(struct tickd *d, const char *why)
{
    if (d->state == TICKD_STOPPING) {
        tickd_log(TICK_LOG_NOTICE, "%s: already stopping", why);
        return;
    }
    d->state = TICKD_STOPPING;
    tickd_notify("STOPPING=1\nSTATUS=stopping");
    /* waiting `tickd reload`s hear it now; no new connections */
    tickd_control_shutdown(d);
    tickd_log(TICK_LOG_INFO, "%s: stopping %zu instance%s", why,
              tickd_running_count(d), tickd_running_count(d) == 1 ? "" : "s");
    /* The watchdog keeps pinging while instances stop: a stop stuck in a
     * handle is as much a hang as any other. */
    tick_timer_stop(d->loop, &d->status_timer);
    /* A reload waiting for its stops: its new instances never start. */
    while (!tick_list_empty(&d->pending)) {
        tick_instance *in = tick_container_of(d->pending.next, tick_instance, link);
        tick_link_remove(&in->link);
        tickd_instance_discard(in);
    }
    /* incarnations a reload retired and still finishing their clients:
     * no more waiting for them either */
    tickd_instance_hurry_all();
    d->batches++;
    tickd_stop_begin(d->loop, &d->running, d->cfg->d.stop_timeout, TICKD_STOP_NOW,
                     tickd_batch_done, d);
}

/* Lines a stalled stderr did not take are written from here once it
 * drains, and so is the dropped-lines note, even when nothing else logs. */
static void log_flush_fire(tick_handle *h)
{
    struct tickd *d = tick_container_of(h, struct tickd, log_timer.handle);
    bool pending = tickd_log_flush();
    tick_call_later(d->loop, &d->log_timer, pending ? 100 * TICK_MSEC : TICK_SEC);
}

void tickd_log_timer_start(struct tickd *d)
{
    if (!tick_timer_armed(&d->log_timer))
        tick_call_later(d->loop, &d->log_timer, TICK_SEC);
}

void tickd_init(struct tickd *d)
{
    tick_link_init(&d->running);
    tick_link_init(&d->pending);
    d->state = TICKD_STARTING;
    tick_timer_init(&d->watchdog, "watchdog", watchdog_fire);
    tick_timer_init(&d->status_timer, "status", send_status);
    tick_timer_init(&d->log_timer, "log flush", log_flush_fire);

}
