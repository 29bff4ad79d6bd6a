/*
 * exec — a tickd plugin that runs a command on a schedule, or supervises
 * a long-running one, with its output in the log or as metrics.
 *
 *     [plugin:disk]
 *     module = exec
 *     command = /usr/local/bin/disk-metrics --all
 *     every = 1m             ; on the wall-clock grid, + offset
 *     timeout = 20s          ; SIGTERM to its group, SIGKILL kill_grace later
 *     output = metrics       ; stdout in the Prometheus text format
 *
 *     [plugin:tunnel]
 *     module = exec
 *     mode = service         ; restarted when it exits, with backoff
 *     command = ssh -N -L 5432:db:5432 relay
 *
 * One section is one job (see README "exec" and `tickd --describe exec`).
 * Files: exec.h lists them. This one: the keys, start/stop, the schedule
 * (a grid on CLOCK_REALTIME: runs start at multiples of `every` since
 * the epoch plus `offset`, so a job's runs line up with the minute on
 * every host; by default the offset is a stable hash of the instance
 * name, so 100 jobs with one `every` spread over the period), overlap
 * skipping, and the service restarts (delay doubling from restart_delay
 * to restart_max, back to restart_delay once the command stayed up for
 * restart_reset, by default 10 x the delay then in force).
 *
 * STATEFUL: one module-wide flag. A reload that changes a job stops the
 * old incarnation (its run is killed: SIGTERM, kill_grace, SIGKILL)
 * before the new one starts: for a service that is the point (two copies
 * must not run); for a scheduled job it means a run in progress when its
 * own section changes is cut short, which is acceptable (the new
 * configuration is what the operator asked for). Jobs whose sections did
 * not change are not touched by a reload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"

extern char **environ;

static const char *const modes[] = { "scheduled", "service", NULL };
static const char *const outputs[] = { "log", "metrics", NULL };

static const tick_key exec_keys[] = {
    TICK_KEY_WORDS(struct exec_job, command, "command", 1, 0, NULL, TICK_KEY_REQUIRED,
                   "the program and its arguments, split at blanks (quotes group), no shell"),
    TICK_KEY_STRING(struct exec_job, args, "arg", 0, 0, NULL, TICK_KEY_REPEATABLE,
                    "one more argument, appended (one a line; with shell = yes, script text)"),
    TICK_KEY_BOOL(struct exec_job, shell, "shell", "no", 0,
                  "run the command's words, joined by blanks, with /bin/sh -c"),
    TICK_KEY_STRING(struct exec_job, env, "env", 3, 0, NULL, TICK_KEY_REPEATABLE,
                    "NAME=VALUE added to (or replacing in) the daemon's environment"),
    TICK_KEY_STRING(struct exec_job, cwd, "cwd", 1, 4095, NULL, 0,
                    "working directory (default: the daemon's, / under systemd)"),
    TICK_KEY_DURATION(struct exec_job, every, "every", TICK_MSEC, 0, NULL, 0,
                      "scheduled: the period; runs start on the wall-clock grid"),
    TICK_KEY_STRING(struct exec_job, offset_s, "offset", 1, 32, NULL, 0,
                    "scheduled: the phase past the grid (default: a hash of the name)"),
    TICK_KEY_ENUM(struct exec_job, mode, "mode", modes, "scheduled", 0,
                  "scheduled (every) or service (kept running, restarted)"),
    TICK_KEY_DURATION(struct exec_job, timeout, "timeout", 0, 0, "0", 0,
                      "scheduled: a run is killed after this long (0: never)"),
    TICK_KEY_DURATION(struct exec_job, kill_grace, "kill_grace", TICK_MSEC, 0, "2s", 0,
                      "from SIGTERM to SIGKILL (timeout, stop, reload)"),
    TICK_KEY_ENUM(struct exec_job, output, "output", outputs, "log", 0,
                  "stdout: log lines, or metrics (Prometheus text format)"),
    TICK_KEY_SIZE(struct exec_job, max_output, "max_output", 1024, 1 << 30, "4M", 0,
                  "output = metrics: a larger stdout fails the run"),
    TICK_KEY_DURATION(struct exec_job, restart_delay, "restart_delay", TICK_MSEC, 0, "1s", 0,
                      "service: the first restart's delay (doubling)"),
    TICK_KEY_DURATION(struct exec_job, restart_max, "restart_max", TICK_MSEC, 0, "60s", 0,
                      "service: the longest restart delay"),
    TICK_KEY_DURATION(struct exec_job, restart_reset, "restart_reset", 0, 0, "0", 0,
                      "service: up this long resets the delay (0: 10 x the delay)"),
    TICK_KEY_END
};

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec;
}

/* FNV-1a, then splitmix64's finaliser (FNV alone clumps for names that
 * differ in their last byte, "j01".."j99", once taken modulo a period):
 * stable across runs, hosts and versions (a phase people see). */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static int exec_configure(tick_instance *in, const char *key, const char *value)
{
    struct exec_job *j = tick_instance_data(in);
    (void)key;
    (void)value;
    if (j->mode == EXEC_SCHEDULED) {
        if (!j->every)
            return tick_instance_error(in, "every = is required (or mode = service)");
        if (j->offset_s) {
            if (tick_parse_duration(j->offset_s, &j->offset) < 0)
                return tick_instance_error(in, "offset: bad duration '%s'", j->offset_s);
            if (j->offset >= j->every)
                return tick_instance_error(in, "offset = %s is not less than every",
                                           j->offset_s);
        } else {
            j->offset = name_hash(tick_instance_name(in)) % j->every;
        }
        if (j->timeout && j->timeout < TICK_MSEC)
            return tick_instance_error(in, "timeout: at least 1ms (or 0: none)");
    } else {
        if (j->every || j->offset_s || j->timeout)
            return tick_instance_error(in, "every, offset and timeout are for mode = scheduled");
        if (j->output == EXEC_OUT_METRICS)
            return tick_instance_error(in, "output = metrics needs mode = scheduled "
                                       "(a run's whole stdout is one scrape)");
        if (j->restart_max < j->restart_delay)
            return tick_instance_error(in, "restart_max is less than restart_delay");
    }
    for (size_t i = 0; i < j->env.n; i++) {
        const char *eq = strchr(j->env.v[i], '=');
        if (!eq || eq == j->env.v[i])
            return tick_instance_error(in, "env = %s: NAME=VALUE expected", j->env.v[i]);
    }
    return 0;
}

/* argv and envp, once per incarnation (a run only points at them). */
static int build_exec(struct exec_job *j)
{
    size_t n = j->command.n + j->args.n;
    if (j->shell) {
        size_t len = 1;
        for (size_t i = 0; i < j->command.n; i++)
            len += strlen(j->command.v[i]) + 1;
        for (size_t i = 0; i < j->args.n; i++)
            len += strlen(j->args.v[i]) + 1;
        char *script = malloc(len), *p = script;
        j->argv = calloc(4, sizeof *j->argv);
        if (!script || !j->argv) {
            free(script);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const char *w = i < j->command.n ? j->command.v[i] : j->args.v[i - j->command.n];
            p += sprintf(p, "%s%s", i ? " " : "", w);
        }
        j->argv[0] = "/bin/sh";
        j->argv[1] = "-c";
        j->argv[2] = script;
    } else {
        if (!(j->argv = calloc(n + 1, sizeof *j->argv)))
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            j->argv[i] = (char *)(i < j->command.n ? j->command.v[i]
                                                   : j->args.v[i - j->command.n]);
    }
    size_t ne = 0;
    while (environ[ne])
        ne++;
    if (!(j->envp = calloc(ne + j->env.n + 2, sizeof *j->envp)))
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        const char *e = environ[i], *eq = strchr(e, '=');
        size_t nl = eq ? (size_t)(eq - e) : strlen(e);
        bool replaced = !strncmp(e, "TICKD_EXEC_RUN=", 15);
        for (size_t m = 0; m < j->env.n && !replaced; m++)
            replaced = !strncmp(j->env.v[m], e, nl) && j->env.v[m][nl] == '=';
        if (!replaced)
            j->envp[k++] = (char *)e;
    }
    for (size_t m = 0; m < j->env.n; m++)
        j->envp[k++] = (char *)j->env.v[m];
    j->envp[k++] = j->token;
    j->envp[k] = NULL;
    return 0;
}

static tick_metric *reg(const char *name, const char *help, enum tick_metric_type t)
{
    static const double buckets[] = { 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300 };
    tick_metric_family *f;
    tick_metric_desc d = { .name = name, .help = help, .type = t };
    if (t == TICK_METRIC_HISTOGRAM) {
        d.buckets = buckets;
        d.nbuckets = sizeof buckets / sizeof buckets[0];
    }
    if (tick_metric_family_new(&d, &f) < 0)
        return NULL;             /* logged; updates to NULL are no-ops */
    return tick_metric_of(f);
}

static void register_metrics(struct exec_job *j)
{
    j->m_runs = reg("exec_runs_total", "Runs of the job's command started.",
                    TICK_METRIC_COUNTER);
    j->m_fail = reg("exec_failures_total", "Runs that failed: exit status not 0, killed, "
                    "not started, or output = metrics that did not parse or publish.",
                    TICK_METRIC_COUNTER);
    j->m_timeouts = reg("exec_timeouts_total", "Runs killed for overrunning timeout.",
                        TICK_METRIC_COUNTER);
    j->m_skipped = reg("exec_skipped_total", "Grid points skipped because the previous "
                       "run was still going.", TICK_METRIC_COUNTER);
    j->m_exit = reg("exec_last_exit_code", "Exit status of the last run (128 + the signal "
                    "if killed, -1 if it could not start).", TICK_METRIC_GAUGE);
    j->m_dur = reg("exec_duration_seconds", "Wall time of each run.", TICK_METRIC_HISTOGRAM);
    j->m_last_ok = reg("exec_last_success_timestamp_seconds", "Unix time at which the last "
                       "successful run ended (0: none yet).", TICK_METRIC_GAUGE);
    if (j->output == EXEC_OUT_METRICS)
        j->m_parse_err = reg("exec_output_errors_total", "Runs whose stdout did not parse "
                             "or publish (the last good series are kept).",
                             TICK_METRIC_COUNTER);
    if (j->mode == EXEC_SERVICE)
        j->m_restarts = reg("exec_restarts_total", "Restarts of the service's command.",
                            TICK_METRIC_COUNTER);
}

static void arm_next(struct exec_job *j)
{
    /* the timer's base is tick_now(), read once per tick: refresh it, or
     * the run starts early by however long this tick has been running */
    uint64_t mono = tick_now_update(j->loop);
    uint64_t now = wall_ns();
    uint64_t r = (now % j->every + j->every - j->offset) % j->every;
    uint64_t t = now - r + j->every;          /* the next grid point after now */
    /* never the point just run again: the timer is monotonic, and the
     * wall clock may be a hair behind it (or stepped back) */
    if (t <= j->next_wall)
        t = j->next_wall + j->every;
    j->next_wall = t;
    if (tick_timer_start_at(j->loop, &j->sched, mono + (t - now)) < 0)
        tick_log(TICK_LOG_ERR, "cannot arm the next run: out of memory; the job stops");
}

static void start_failed(struct exec_job *j, int rc)
{
    tick_log(TICK_LOG_ERR, "cannot start %s: %s", j->argv[0], strerror(-rc));
    tick_counter_inc(j->m_runs);
    tick_counter_inc(j->m_fail);
    tick_gauge_set(j->m_exit, -1);
}

static void service_restart(struct exec_job *j, uint64_t up)
{
    uint64_t reset = j->restart_reset ? j->restart_reset : 10 * j->backoff;
    if (up >= reset)
        j->backoff = j->restart_delay;
    uint64_t delay = j->backoff;
    j->backoff = j->backoff * 2 > j->restart_max ? j->restart_max : j->backoff * 2;
    tick_log(TICK_LOG_NOTICE, "restarting in %.3f s", (double)delay / 1e9);
    if (tick_call_later(j->loop, &j->sched, delay) < 0)
        tick_log(TICK_LOG_ERR, "cannot arm the restart: out of memory; the service stays down");
}

static void on_sched(tick_handle *h)
{
    struct exec_job *j = tick_container_of(h, struct exec_job, sched.handle);
    if (j->mode == EXEC_SERVICE) {
        tick_counter_inc(j->m_restarts);
        int rc = exec_run_start(j);
        if (rc < 0) {
            start_failed(j, rc);
            service_restart(j, 0);
        }
        return;
    }
    arm_next(j);
    if (j->running) {
        tick_counter_inc(j->m_skipped);
        if (!j->skip_logged)
            tick_log(TICK_LOG_NOTICE, "the previous run is still going: this one is "
                     "skipped (counted in exec_skipped_total)");
        j->skip_logged = true;
        return;
    }
    j->skip_logged = false;
    int rc = exec_run_start(j);
    if (rc < 0)
        start_failed(j, rc);
}

static void publish_output(struct exec_job *j, bool *ok)
{
    prom_error pe;
    unsigned line;
    char msg[160];
    if (j->otoobig) {
        tick_log(TICK_LOG_WARNING, "stdout is over max_output (%llu bytes): the last good "
                 "series are kept", (unsigned long long)j->max_output);
        goto bad;
    }
    if (!j->obuf && !(j->obuf = malloc(j->ocap = 1)))
        goto bad;
    j->obuf[j->olen] = '\0';              /* the parser's extra byte */
    int rc = prom_parse(&j->doc, j->obuf, j->olen, &pe);
    if (rc < 0) {
        tick_log(TICK_LOG_WARNING, "stdout line %u: %s; the last good series are kept",
                 pe.line, pe.msg);
        goto bad;
    }
    if (exec_publish(j, &line, msg, sizeof msg) < 0) {
        if (line)
            tick_log(TICK_LOG_WARNING, "stdout line %u: %s; the last good series are kept",
                     line, msg);
        else
            tick_log(TICK_LOG_WARNING, "stdout: %s; the last good series are kept", msg);
        goto bad;
    }
    return;
bad:
    tick_counter_inc(j->m_parse_err);
    *ok = false;
}

void exec_run_finished(struct exec_job *j)
{
    uint64_t now = tick_now(j->loop), up = now - j->t_start;
    bool ok = false;
    int code = -1;

    j->running = false;
    j->exit = tick_future_unref(j->exit);
    if (tick_scope_cancelled(tick_scope_current(j->loop)))
        return;                           /* stopping: no restart, no publish */
    tick_counter_inc(j->m_runs);
    tick_histogram_observe(j->m_dur, (double)up / 1e9);
    if (j->status < 0) {
        tick_log(TICK_LOG_WARNING, "lost the run: %s", strerror(-j->status));
    } else if (WIFEXITED(j->status)) {
        code = WEXITSTATUS(j->status);
        ok = code == 0 && !j->timed_out;
        if (code)
            tick_log(TICK_LOG_WARNING, "exited with status %d after %.3f s", code,
                     (double)up / 1e9);
    } else if (WIFSIGNALED(j->status)) {
        code = 128 + WTERMSIG(j->status);
        tick_log(TICK_LOG_WARNING, "killed by signal %d (%s) after %.3f s",
                 WTERMSIG(j->status), strsignal(WTERMSIG(j->status)), (double)up / 1e9);
    }
    if (j->timed_out)
        tick_counter_inc(j->m_timeouts);
    tick_gauge_set(j->m_exit, code);
    if (ok && j->output == EXEC_OUT_METRICS)
        publish_output(j, &ok);
    if (ok)
        tick_gauge_set(j->m_last_ok, (double)wall_ns() / 1e9);
    else
        tick_counter_inc(j->m_fail);
    tick_instance_set_status(j->in, "%s, last exit %d", ok ? "ok" : "failing", code);
    if (j->mode == EXEC_SERVICE)
        service_restart(j, up);
}

static int exec_start(tick_instance *in)
{
    struct exec_job *j = tick_instance_data(in);
    int rc;

    j->in = in;
    j->loop = tick_instance_loop(in);
    j->name = tick_instance_name(in);
    j->backoff = j->restart_delay;
    tick_timer_init(&j->sched, "exec schedule", on_sched);
    exec_run_init(j);
    tick_scope_set_kill_grace(tick_scope_current(j->loop), j->kill_grace);
    if (build_exec(j) < 0)
        return tick_instance_error(in, "out of memory");
    register_metrics(j);
    if (j->output == EXEC_OUT_METRICS && (rc = tick_metric_slot_new(&j->slot)) < 0)
        return tick_instance_error(in, "cannot make the metric slot: %s", strerror(-rc));
    if (j->mode == EXEC_SERVICE) {
        rc = exec_run_start(j);
        if (rc < 0) {
            start_failed(j, rc);
            service_restart(j, 0);
        }
        tick_instance_set_status(in, "service started");
    } else {
        arm_next(j);
        tick_instance_set_status(in, "every %.3f s, offset %.3f s", (double)j->every / 1e9,
                                 (double)j->offset / 1e9);
    }
    return 0;
}

static void exec_stop(tick_instance *in)
{
    struct exec_job *j = tick_instance_data(in);
    if (!j->in)
        return;
    tick_timer_stop(j->loop, &j->sched);
    tick_timer_stop(j->loop, &j->kill_t);
    /* the engine killed the group with the scope; what left it: */
    if (j->seq && exec_sweep(j->token, SIGKILL, false))
        tick_log(TICK_LOG_NOTICE, "killed processes of the last run that left its group");
    j->exit = tick_future_unref(j->exit);
}

static void exec_release(tick_instance *in)
{
    struct exec_job *j = tick_instance_data(in);
    if (j->argv && j->shell)
        free(j->argv[2]);
    free(j->argv);
    free(j->envp);
    free(j->obuf);
    prom_doc_free(&j->doc);
}

TICK_PLUGIN(.name = "exec", .version = "1.0",
            .instance_size = sizeof(struct exec_job),
            .flags = TICK_PLUGIN_STATEFUL,
            .keys = exec_keys,
            .configure = exec_configure,
            .start = exec_start,
            .stop = exec_stop,
            .release = exec_release);
