/*
 * metrics_daemon.h — the daemon's own metrics (tickd_*, process_*) and
 * the data an /status page needs. The hooks are single calls from
 * run.c (start-up), instance.c (an instance started) and control.c (a
 * reload's verdict). Loop-thread-only.
 */
#ifndef TICKD_METRICS_DAEMON_H
#define TICKD_METRICS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

/* Register the daemon's families in the loop's root scope and remember
 * the start time. Once, after the loop exists. Failures (no memory) are
 * logged and leave those families out. */
void tickd_metrics_init(struct tickd *d);
/* Register an instance's families (tickd_instance_*) in its scope: they
 * go with it (hidden at cancel, freed at close). After start(), ok or
 * not. */
void tickd_metrics_instance_started(tick_instance *in);
/* A reload ended (every end: tickd_reload_verdict). */
void tickd_metrics_reload(bool ok, const char *msg);

/* ---- /status data ---- */

struct tickd_status {
    const char *version;
    double start_time;            /* Unix time, seconds */
    double uptime_seconds;
    const char *config_path;
    size_t instances;             /* live instances, any state */
    uint64_t reloads_ok, reloads_failed;
    bool last_reload_ok;          /* true before any reload */
    double last_reload_time;      /* Unix time of the last reload's end, 0 */
    double last_reload_success_time;   /* or of the start-up */
    const char *last_reload_error;     /* "" after a success */
};

struct tickd_status_instance {
    const char *name, *module, *module_version, *state, *status;
    double up_seconds;            /* since start(), 0 if never started */
    double handler_seconds, pool_cpu_seconds;
    uint64_t tasks, fds, child_scopes, task_failures, handles_run;
    uint64_t bytes_in, bytes_out;
    bool ready;                   /* tick_instance_set_ready() */
    const char *ready_reason;
};

void tickd_status_get(struct tickd_status *st);
/* The i-th distinct configuration file of the running configuration
 * (the main file first, then the drop-ins and any other section file),
 * or NULL past the last. */
const char *tickd_status_config_file(size_t i);
void tickd_status_instance_get(tick_instance *in, struct tickd_status_instance *out);
/* The whole status as one JSON object into buf (snprintf's contract:
 * the length it needs, the text cut at cap - 1 and NUL-terminated). */
size_t tickd_status_json(char *buf, size_t cap);
/* Health: true when every instance that is not being retired runs and
 * is ready; else false and why (the first few culprits, "; "-joined). */
bool tickd_health(char *why, size_t cap);

#endif
