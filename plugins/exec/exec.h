/*
 * exec.h — the exec plugin's internals, shared by its files:
 *   exec.c     keys, start/stop, the schedule and the service restarts
 *   run.c      one run: spawn, the stdout/stderr readers, timeout and kill
 *   sweep.c    finding a run's processes that left its group (/proc)
 *   publish.c  a parsed stdout into a metric set (output = metrics)
 *   promtext.c the Prometheus text parser (promtext.h)
 * Nothing here is exported (plugins are built with hidden visibility).
 */
#ifndef EXEC_H
#define EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <tick/tick.h>

#include "promtext.h"

/* only the descriptor leaves the plugin */
#pragma GCC visibility push(hidden)

enum { EXEC_SCHEDULED, EXEC_SERVICE };
enum { EXEC_OUT_LOG, EXEC_OUT_METRICS };

#define EXEC_LINE_MAX 4096     /* a log line longer than this is split */

struct exec_job;

struct exec_reader {
    tick_task task;
    tick_stream *s;
    struct exec_job *job;
    bool is_err;
};

struct exec_job {
    /* keys (the daemon's strings, valid for the instance's life) */
    tick_words command;
    tick_strings args;
    bool shell;
    tick_strings env;
    const char *cwd;
    uint64_t every;
    const char *offset_s;
    int mode;
    uint64_t timeout, kill_grace;
    int output;
    uint64_t max_output;
    uint64_t restart_delay, restart_max, restart_reset;

    /* state */
    tick_instance *in;
    tick_loop *loop;
    const char *name;
    uint64_t offset;             /* ns past the grid point */
    uint64_t next_wall;          /* the grid point armed (CLOCK_REALTIME ns) */
    char **argv, **envp;         /* built by start(), freed by release() */
    char token[96];              /* "TICKD_EXEC_RUN=...", one of envp */
    uint64_t seq;                /* runs started, for the token */
    tick_timer sched;            /* next grid point, or the restart delay */
    tick_timer kill_t;           /* the timeout, then the kill grace */
    tick_handle exit_h;          /* on the exit future */
    int kill_phase;              /* 0, 1 = SIGTERM sent, 2 = SIGKILL sent */
    bool running, exited, timed_out, skip_logged, stopping;
    pid_t pid;
    tick_future *exit;           /* our reference while running */
    int status;                  /* wait status, or -errno */
    uint64_t t_start;
    int readers;                 /* reader tasks alive */
    struct exec_reader out, err;
    char *obuf;                  /* stdout, output = metrics */
    size_t olen, ocap;
    bool otoobig;
    prom_doc doc;
    tick_metric_slot *slot;
    uint64_t backoff;            /* service: the next restart delay */

    tick_metric *m_runs, *m_fail, *m_timeouts, *m_skipped, *m_restarts;
    tick_metric *m_exit, *m_dur, *m_last_ok, *m_parse_err;
};

/* run.c */
void exec_run_init(struct exec_job *j);       /* start(): timers, handles */
int exec_run_start(struct exec_job *j);
void exec_run_finished(struct exec_job *j);   /* exec.c: after a run ends */
void exec_log_line(int dflt, const char *line, size_t len);

/* sweep.c: signal every process (but us) whose environment holds token
 * ("NAME=VALUE"); the number signalled. quick: look only at our own
 * children (an orphan of the run is re-parented to us, the subreaper). */
unsigned exec_sweep(const char *token, int sig, bool quick);

/* publish.c: doc (parsed from j->obuf) into a set published in j->slot.
 * 0, or -EINVAL with *line and msg (the set is not published). */
int exec_publish(struct exec_job *j, unsigned *line, char *msg, size_t msglen);

#pragma GCC visibility pop

#endif /* EXEC_H */
