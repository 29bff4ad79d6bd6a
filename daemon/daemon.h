/*
 * daemon.h — the state of the running daemon, shared by run.c (start-up,
 * signals, shutdown), reload.c and stats.c. One per process.
 */
#ifndef TICKD_DAEMON_H
#define TICKD_DAEMON_H

#include "config.h"
#include "instance.h"
#include "tick/tick.h"

enum tickd_state {
    TICKD_STARTING,
    TICKD_RUNNING,
    TICKD_RELOADING,   /* between SIGHUP and the last start (reload.c) */
    TICKD_STOPPING,
};

struct tickd_sigwatch {
    tick_handle fired;
    tick_future *f;
    tick_timer retry;              /* re-arms a wait that could not be made */
    int signo;
};

struct tickd {
    tick_loop *loop;
    const char *config_path;
    struct tickd_config *cfg;      /* the configuration running */
    tick_link running;             /* instances running (config order) */
    enum tickd_state state;
    int exit_code;
    unsigned batches;              /* stop batches in flight */

    /* reload in progress (reload.c) */
    struct tickd_reload *reload;   /* its plan and counts, or NULL */
    struct tickd_config *new_cfg;  /* its configuration, freed at exit */
    tick_link pending;             /* stateful: start once the old one stopped */
    bool reload_again;             /* SIGHUP arrived during a reload */
    char reload_error[800];        /* the last reload's failure, "" if none:
                                    * shown in STATUS= until one succeeds */

    struct tickd_sigwatch sig[4];
    tick_timer watchdog;
    uint64_t watchdog_period;      /* ns; 0 = off */
    tick_timer status_timer;       /* coalesces STATUS= updates */
    tick_timer log_timer;          /* flushes log lines stderr did not take */
    char status_sent[1024];        /* last STATUS= text sent */
    int close_rc;                  /* tick_loop_close() at exit (-EBUSY: not closed) */
};

extern struct tickd tickd_main;

/* run.c: the whole daemon (main.c calls it): the exit status */
int tickd_run(int argc, char **argv);

/* Tests only (test_daemon_oom_walk.c): called from the loop thread when
 * start-up succeeded, when a reload begins and at each reload verdict.
 * ok: the verdict's (true for the others). NULL in tickd. */
enum tickd_test_event { TICKD_TEST_READY, TICKD_TEST_RELOAD_BEGIN, TICKD_TEST_RELOADED };
extern void (*tickd_test_hook)(struct tickd *d, enum tickd_test_event ev, bool ok);

/* daemon.c: lists and timers of d (d->loop set later, before use) */
void tickd_init(struct tickd *d);
/* daemon.c: SIGTERM/SIGINT or a failed start-up: stop every instance,
 * then stop the loop */
void tickd_begin_shutdown(struct tickd *d, const char *why);
/* daemon.c: start the log flush timer (every second; 100 ms while lines
 * wait for a stalled stderr) */
void tickd_log_timer_start(struct tickd *d);
/* daemon.c: instance status hook (sends STATUS= soon) */
void tickd_status_changed(void);

/* reload.c */
void tickd_reload(struct tickd *d);
/* control.c: the end of a reload, called by reload.c exactly once per
 * reload, at every end: ok=false with the FILE:LINE error for a rejected
 * configuration, ok=false with "reloaded with errors: ..." when the new
 * configuration is in force but an instance failed to start, ok=true
 * with "reloaded: ..." otherwise. Answers the `tickd reload` clients
 * waiting for this reload. */
void tickd_reload_verdict(struct tickd *d, bool ok, const char *msg);
/* daemon.c: apply [daemon] settings that can change at run time */
void tickd_apply_settings(struct tickd *d, const struct tickd_config *cfg);
/* daemon.c: a stop batch finished (reload, failed starts); ends the shutdown
 * when it was the last one */
void tickd_batch_done(void *arg);
/* daemon.c: READY=1 with the current STATUS= */
void tickd_notify_ready(struct tickd *d);
/* daemon.c: "running N instances; NAME: status; ..." into buf */
void tickd_status_text(struct tickd *d, char *buf, size_t len);
size_t tickd_running_count(const struct tickd *d);

/* stats.c */
void tickd_stats_slow_handle(void *user, const char *name, uint64_t ns);
void tickd_stats_log(struct tickd *d);
/* The slow-handle table, entry i (false past the last), and the count of
 * slow handles that found no slot (metrics_daemon.c). */
bool tickd_stats_slow_get(size_t i, const char **name, uint64_t *count, uint64_t *worst_ns);
uint64_t tickd_stats_slow_other(void);

#endif
