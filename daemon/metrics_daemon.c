/*
 * metrics_daemon.c — the daemon's own families and the /status data
 * (metrics_daemon.h).
 *
 * Almost every figure is read at scrape time by a callback family, so
 * nothing on the hot paths changes: the loop's and scopes' counters are
 * there already. Only the reload counters are stored series: they belong
 * to the daemon (the root scope) and so survive every reload.
 *
 * Per instance: the families are registered in the instance's own scope,
 * so each series gets tickd_instance="NAME" from the registry, goes when
 * the scope goes, and the registry's newest-incarnation rule shows one
 * incarnation while a reload overlaps two. One shared cache per instance
 * reads tick_scope_get_stats() once per scrape, not once per family.
 *
 * The process_* figures are read where the unit's sandbox lets us:
 * ProcSubset=pid hides /proc/stat (no btime), so the boot time is
 * CLOCK_REALTIME - CLOCK_BOOTTIME; /proc/self/stat (start time),
 * /proc/self/statm and /proc/self/fd are per-pid and visible; CPU from
 * getrusage, the fd limit from getrlimit.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "alloc.h"
#include "log.h"
#include "metrics_daemon.h"
#include "metrics_int.h"
#include "module.h"

static struct {
    struct tickd *d;
    double start_real;            /* Unix time at tickd_metrics_init */
    uint64_t start_mono;          /* CLOCK_MONOTONIC ns then */
    double process_start;         /* Unix time the process started */
    tick_metric *reload_ok, *reload_failed, *last_ok, *last_success_ts;
    uint64_t n_ok, n_failed;
    bool last_reload_ok;
    double last_reload_time, last_success_time;
    char last_error[800];
} M = { .last_reload_ok = true };

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec;
}

/* Unix time of a tick_now() value */
static double mono_to_unix(uint64_t ns)
{
    return M.start_real + ((double)ns - (double)M.start_mono) / 1e9;
}

/* Field 22 of /proc/self/stat (clock ticks after boot) plus the boot time. */
static double read_process_start(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    /* after "pid (comm)": state is field 3, starttime field 22 */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                     "%*d %*d %*d %*d %llu", &start) != 1)
        return M.start_real;
    double boot = clock_s(CLOCK_REALTIME) - clock_s(CLOCK_BOOTTIME);
    long hz = sysconf(_SC_CLK_TCK);
    return boot + (double)start / (double)(hz > 0 ? hz : 100);
}

static const char *instance_label(const tick_scope *top)
{
    const char *n = tick_scope_name(top);
    if (n && strncmp(n, "plugin:", 7) == 0)
        return n + 7;
    return n;
}

/* ---- the root scope's families ---- */

enum daemon_fam {
    D_BUILD, D_START, D_TICKS, D_HANDLES, D_LONGEST, D_SLOW, D_SLOW_BY_NAME,
    D_TASKS, D_FDS, D_TIMERS, D_INSTANCES, D_LOG_DROPPED,
    P_CPU, P_RSS, P_VSZ, P_FDS, P_MAX_FDS, P_START,
};

static void statm(double *vsz, double *rss)
{
    unsigned long long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &res) != 2)
            size = res = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    *vsz = (double)size * (double)page;
    *rss = (double)res * (double)page;
}

static double open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    double n = 0;
    if (!dir)
        return 0;
    for (struct dirent *e; (e = readdir(dir));)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1;       /* the directory's own fd */
}

static void daemon_collect(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    enum daemon_fam which = (enum daemon_fam)(uintptr_t)user;
    tick_loop_stats ls;
    double a, b;

    (void)f;
    if (M.d && M.d->loop)
        tick_loop_get_stats(M.d->loop, &ls);
    else
        memset(&ls, 0, sizeof ls);
    switch (which) {
    case D_BUILD:
        tick_metric_emit(sink, (const char *[]){ TICKD_VERSION }, 1);
        break;
    case D_START: tick_metric_emit(sink, NULL, M.start_real); break;
    case D_TICKS: tick_metric_emit(sink, NULL, (double)ls.ticks); break;
    case D_HANDLES: tick_metric_emit(sink, NULL, (double)ls.handles_run); break;
    case D_LONGEST: tick_metric_emit(sink, NULL, (double)ls.longest_tick_ns / 1e9); break;
    case D_SLOW: tick_metric_emit(sink, NULL, (double)ls.slow_handles); break;
    case D_SLOW_BY_NAME: {
        const char *name;
        uint64_t count, worst;
        for (size_t i = 0; tickd_stats_slow_get(i, &name, &count, &worst); i++)
            tick_metric_emit(sink, (const char *[]){ name }, (double)count);
        if (tickd_stats_slow_other())
            tick_metric_emit(sink, (const char *[]){ "(other)" },
                             (double)tickd_stats_slow_other());
        break;
    }
    case D_TASKS: tick_metric_emit(sink, NULL, (double)ls.tasks_alive); break;
    case D_FDS: tick_metric_emit(sink, NULL, (double)ls.fds_watched); break;
    case D_TIMERS: tick_metric_emit(sink, NULL, (double)ls.timers_armed); break;
    case D_INSTANCES: tick_metric_emit(sink, NULL, (double)tickd_instance_count()); break;
    case D_LOG_DROPPED: tick_metric_emit(sink, NULL, (double)tickd_log_dropped_total()); break;
    case P_CPU: {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0)
            tick_metric_emit(sink, NULL, (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                             ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6);
        break;
    }
    case P_RSS: statm(&a, &b); tick_metric_emit(sink, NULL, b); break;
    case P_VSZ: statm(&a, &b); tick_metric_emit(sink, NULL, a); break;
    case P_FDS: tick_metric_emit(sink, NULL, open_fds()); break;
    case P_MAX_FDS: {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
            tick_metric_emit(sink, NULL, rl.rlim_cur == RLIM_INFINITY ? 1.0 / 0.0
                                                                      : (double)rl.rlim_cur);
        break;
    }
    case P_START: tick_metric_emit(sink, NULL, M.process_start); break;
    }
}

static const char *const version_label[] = { "version", NULL };
static const char *const handle_label[] = { "handle", NULL };
static const char *const result_label[] = { "result", NULL };

static const struct {
    enum daemon_fam id;
    tick_metric_desc d;
} daemon_families[] = {
    { D_BUILD, { "tickd_build_info", "A constant 1, labelled with the tickd version.",
                 TICK_METRIC_GAUGE, version_label, NULL, 0 } },
    { D_START, { "tickd_start_time_seconds", "When the daemon started, Unix time.",
                 TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { D_TICKS, { "tickd_loop_ticks_total", "Ticks the loop ran.",
                 TICK_METRIC_COUNTER, NULL, NULL, 0 } },
    { D_HANDLES, { "tickd_loop_handles_run_total", "Handles (callbacks, task steps) run.",
                   TICK_METRIC_COUNTER, NULL, NULL, 0 } },
    { D_LONGEST, { "tickd_loop_longest_tick_seconds", "The longest run phase seen.",
                   TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { D_SLOW, { "tickd_loop_slow_handles_total", "Handles that ran longer than slow_handle.",
                TICK_METRIC_COUNTER, NULL, NULL, 0 } },
    { D_SLOW_BY_NAME, { "tickd_slow_handles_total",
                        "Slow handles by handle name (\"(other)\": the table was full).",
                        TICK_METRIC_COUNTER, handle_label, NULL, 0 } },
    { D_TASKS, { "tickd_loop_tasks", "Tasks alive.", TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { D_FDS, { "tickd_loop_fds", "Fds watched by the loop.", TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { D_TIMERS, { "tickd_loop_timers", "Timers armed.", TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { D_INSTANCES, { "tickd_instances", "Plugin instances alive, in any state.",
                     TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { D_LOG_DROPPED, { "tickd_log_lines_dropped_total",
                       "Log lines dropped because stderr did not drain.",
                       TICK_METRIC_COUNTER, NULL, NULL, 0 } },
    { P_CPU, { "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               TICK_METRIC_COUNTER, NULL, NULL, 0 } },
    { P_RSS, { "process_resident_memory_bytes", "Resident memory size in bytes.",
               TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { P_VSZ, { "process_virtual_memory_bytes", "Virtual memory size in bytes.",
               TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { P_FDS, { "process_open_fds", "Number of open file descriptors.",
               TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { P_MAX_FDS, { "process_max_fds", "Maximum number of open file descriptors.",
                   TICK_METRIC_GAUGE, NULL, NULL, 0 } },
    { P_START, { "process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.",
                 TICK_METRIC_GAUGE, NULL, NULL, 0 } },
};

static tick_metric_family *root_family(const tick_metric_desc *d)
{
    tick_metric_family *f;
    int rc = tick__metric_register(tick_loop_scope(M.d->loop), d, TICK__METRIC_DAEMON,
                                   NULL, NULL, NULL, &f);
    if (rc < 0)
        tickd_log(TICK_LOG_WARNING, "metric '%s' not registered: %s", d->name, strerror(-rc));
    return rc < 0 ? NULL : f;
}

void tickd_metrics_init(struct tickd *d)
{
    tick_metric_family *f;

    M.d = d;
    M.start_real = clock_s(CLOCK_REALTIME);
    M.start_mono = mono_ns();
    M.process_start = read_process_start();
    M.last_success_time = M.start_real;
    tick__metrics_set_name_hook(instance_label);
    for (size_t i = 0; i < sizeof daemon_families / sizeof daemon_families[0]; i++) {
        int rc = tick__metric_register(tick_loop_scope(d->loop), &daemon_families[i].d,
                                       TICK__METRIC_DAEMON, daemon_collect, NULL,
                                       (void *)(uintptr_t)daemon_families[i].id, &f);
        if (rc < 0)
            tickd_log(TICK_LOG_WARNING, "metric '%s' not registered: %s",
                      daemon_families[i].d.name, strerror(-rc));
    }
    /* stored: the daemon's own, so they survive every reload */
    f = root_family(&(tick_metric_desc){ .name = "tickd_config_reloads_total",
            .help = "Configuration reloads by result.", .type = TICK_METRIC_COUNTER,
            .labels = result_label });
    if (f) {
        tick_metric_get(f, (const char *[]){ "success" }, &M.reload_ok);
        tick_metric_get(f, (const char *[]){ "failure" }, &M.reload_failed);
    }
    f = root_family(&(tick_metric_desc){ .name = "tickd_config_last_reload_successful",
            .help = "Whether the last configuration reload attempt was successful.",
            .type = TICK_METRIC_GAUGE });
    M.last_ok = tick_metric_of(f);
    tick_gauge_set(M.last_ok, 1);
    f = root_family(&(tick_metric_desc){
            .name = "tickd_config_last_reload_success_timestamp_seconds",
            .help = "Timestamp of the last successful configuration reload.",
            .type = TICK_METRIC_GAUGE });
    M.last_success_ts = tick_metric_of(f);
    tick_gauge_set(M.last_success_ts, M.start_real);
}

void tickd_metrics_reload(bool ok, const char *msg)
{
    double now = clock_s(CLOCK_REALTIME);

    M.last_reload_ok = ok;
    M.last_reload_time = now;
    if (ok) {
        M.n_ok++;
        M.last_success_time = now;
        M.last_error[0] = '\0';
        tick_counter_inc(M.reload_ok);
        tick_gauge_set(M.last_success_ts, now);
    } else {
        M.n_failed++;
        snprintf(M.last_error, sizeof M.last_error, "%s", msg ? msg : "");
        tick_counter_inc(M.reload_failed);
    }
    tick_gauge_set(M.last_ok, ok);
}

/* ---- per instance ---- */

enum inst_fam {
    I_UP, I_HANDLER, I_POOL_CPU, I_HANDLES, I_TASKS, I_TASKS_STARTED, I_FDS,
    I_SCOPES, I_BYTES_IN, I_BYTES_OUT, I_FAILURES, I_START,
};

static const struct {
    enum inst_fam id;
    tick_metric_desc d;
} inst_families[] = {
#define L ((const char *const[]){ "module", NULL })
    { I_UP, { "tickd_instance_up", "1 while the instance runs (its start() succeeded).",
              TICK_METRIC_GAUGE, L, NULL, 0 } },
    { I_HANDLER, { "tickd_instance_handler_seconds_total",
                   "Loop-thread time spent in the instance's handles.",
                   TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_POOL_CPU, { "tickd_instance_pool_cpu_seconds_total",
                    "Thread CPU time of the instance's pool jobs.",
                    TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_HANDLES, { "tickd_instance_handles_run_total", "Handles of the instance run.",
                   TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_TASKS, { "tickd_instance_tasks", "Tasks of the instance alive.",
                 TICK_METRIC_GAUGE, L, NULL, 0 } },
    { I_TASKS_STARTED, { "tickd_instance_tasks_started_total", "Tasks the instance started.",
                         TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_FDS, { "tickd_instance_fds", "Fds of the instance open.",
               TICK_METRIC_GAUGE, L, NULL, 0 } },
    { I_SCOPES, { "tickd_instance_child_scopes",
                  "Open scopes below the instance (its servers and connections).",
                  TICK_METRIC_GAUGE, L, NULL, 0 } },
    { I_BYTES_IN, { "tickd_instance_bytes_in_total", "Bytes read by the instance's streams.",
                    TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_BYTES_OUT, { "tickd_instance_bytes_out_total",
                     "Bytes written by the instance's streams.",
                     TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_FAILURES, { "tickd_instance_task_failures_total",
                    "Tasks of the instance that failed (not cancelled).",
                    TICK_METRIC_COUNTER, L, NULL, 0 } },
    { I_START, { "tickd_instance_start_time_seconds",
                 "When the incarnation started, Unix time.",
                 TICK_METRIC_GAUGE, L, NULL, 0 } },
#undef L
};
#define N_INST_FAMILIES (sizeof inst_families / sizeof inst_families[0])

struct inst_cache {
    tick_instance *in;
    unsigned refs;                /* families sharing it */
    uint64_t scrape;              /* st is this scrape's */
    tick_scope_stats st;
    uint64_t scopes;
};

/* Open scopes below s. The daemon reads the children list itself (a
 * private field of tick_scope): the engine has no call for it yet. */
static uint64_t child_scopes(const tick_scope *s)
{
    uint64_t n = 0;
    for (const tick_link *l = s->children.next; l != &s->children; l = l->next)
        n += 1 + child_scopes(tick_container_of(l, tick_scope, sibling));
    return n;
}

static void inst_release(void *user)
{
    struct inst_cache *c = user;
    if (--c->refs == 0)
        free(c);
}

static void inst_collect(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    struct inst_cache *c = NULL;
    tick_instance *in;
    size_t which = (size_t)-1;

    /* user: the shared cache; which family: looked up by pointer */
    c = user;
    in = c->in;
    if (c->scrape != tick_metric_sink_scrape(sink)) {
        c->scrape = tick_metric_sink_scrape(sink);
        tick_scope_get_stats(&in->scope, &c->st, true);
        c->scopes = child_scopes(&in->scope);
    }
    for (size_t i = 0; i < N_INST_FAMILIES; i++)
        if (f == ((tick_metric_family **)(c + 1))[i])
            which = i;
    const char *const mod[] = { in->mod->name };
    const tick_scope_stats *st = &c->st;
    double v;
    switch (which < N_INST_FAMILIES ? inst_families[which].id : (enum inst_fam)-1) {
    case I_UP: v = in->state == TICKD_INSTANCE_RUNNING; break;
    case I_HANDLER: v = (double)st->handler_ns / 1e9; break;
    case I_POOL_CPU: v = (double)st->job_cpu_ns / 1e9; break;
    case I_HANDLES: v = (double)st->handles_run; break;
    case I_TASKS: v = (double)st->count[TICK_SCOPE_TASK]; break;
    case I_TASKS_STARTED: v = (double)st->tasks_started; break;
    case I_FDS: v = (double)st->count[TICK_SCOPE_FD]; break;
    case I_SCOPES: v = (double)c->scopes; break;
    case I_BYTES_IN: v = (double)st->bytes_in; break;
    case I_BYTES_OUT: v = (double)st->bytes_out; break;
    case I_FAILURES: v = (double)in->tasks_failed; break;
    case I_START:
        if (!in->started_at)
            return;
        v = mono_to_unix(in->started_at);
        break;
    default:
        return;
    }
    tick_metric_emit(sink, mod, v);
}

void tickd_metrics_instance_started(tick_instance *in)
{
    /* the cache, then the family pointers (to tell the families apart) */
    struct inst_cache *c = tick__calloc(1, sizeof *c + N_INST_FAMILIES * sizeof(void *));
    if (!c) {
        tickd_log(TICK_LOG_WARNING, "plugin:%s: no memory for its metrics", in->conf->name);
        return;
    }
    tick_metric_family **fams = (tick_metric_family **)(c + 1);
    c->in = in;
    c->refs = 1;                  /* ours, until the loop is done */
    if (!M.start_mono) {          /* a test without tickd_metrics_init */
        M.start_real = clock_s(CLOCK_REALTIME);
        M.start_mono = mono_ns();
        tick__metrics_set_name_hook(instance_label);
    }
    for (size_t i = 0; i < N_INST_FAMILIES; i++) {
        int rc = tick__metric_register(&in->scope, &inst_families[i].d, TICK__METRIC_DAEMON,
                                       inst_collect, inst_release, c, &fams[i]);
        if (rc == 0)
            c->refs++;
        else if (rc != -ENOMEM)
            tickd_log(TICK_LOG_WARNING, "plugin:%s: metric '%s' not registered: %s",
                      in->conf->name, inst_families[i].d.name, strerror(-rc));
    }
    inst_release(c);
}

/* ---- /status ---- */

void tickd_status_get(struct tickd_status *st)
{
    *st = (struct tickd_status){
        .version = TICKD_VERSION,
        .start_time = M.start_real,
        .uptime_seconds = M.start_mono ? (double)(mono_ns() - M.start_mono) / 1e9 : 0,
        .config_path = M.d ? M.d->config_path : NULL,
        .instances = tickd_instance_count(),
        .reloads_ok = M.n_ok,
        .reloads_failed = M.n_failed,
        .last_reload_ok = M.last_reload_ok,
        .last_reload_time = M.last_reload_time,
        .last_reload_success_time = M.last_success_time,
        .last_reload_error = M.last_error,
    };
}

const char *tickd_status_config_file(size_t i)
{
    const struct tickd_config *cfg = M.d ? M.d->cfg : NULL;
    size_t k = 0;

    if (!cfg)
        return NULL;
    if (cfg->path && i == k++)
        return cfg->path;
    for (size_t s = 0; s < cfg->nsec; s++) {
        const char *file = cfg->sec[s].file;
        bool seen = !file || (cfg->path && strcmp(file, cfg->path) == 0);
        for (size_t t = 0; !seen && t < s; t++)
            seen = cfg->sec[t].file && strcmp(cfg->sec[t].file, file) == 0;
        if (!seen && i == k++)
            return file;
    }
    return NULL;
}

void tickd_status_instance_get(tick_instance *in, struct tickd_status_instance *out)
{
    static const char *const states[] = {
        "configured", "running", "failed", "stopping", "zombie",
    };
    tick_scope_stats st;

    tick_scope_get_stats(&in->scope, &st, true);
    *out = (struct tickd_status_instance){
        .name = in->conf->name,
        .module = in->mod->name,
        .module_version = in->mod->desc->version ? in->mod->desc->version : "",
        .state = states[in->state],
        .status = in->status,
        .up_seconds = in->started_at ? (double)(tick_now(in->loop) - in->started_at) / 1e9 : 0,
        .handler_seconds = (double)st.handler_ns / 1e9,
        .pool_cpu_seconds = (double)st.job_cpu_ns / 1e9,
        .tasks = st.count[TICK_SCOPE_TASK],
        .fds = st.count[TICK_SCOPE_FD],
        .child_scopes = child_scopes(&in->scope),
        .task_failures = in->tasks_failed,
        .handles_run = st.handles_run,
        .bytes_in = st.bytes_in,
        .bytes_out = st.bytes_out,
        .ready = !in->unready,
        .ready_reason = in->ready_reason,
    };
}

/* snprintf into a buffer that may be full: the length needed goes on */
struct jbuf {
    char *p;
    size_t cap, len;
};

static void jputs(struct jbuf *j, const char *s, size_t n)
{
    if (j->len < j->cap) {
        size_t k = j->cap - j->len;
        memcpy(j->p + j->len, s, n < k ? n : k);
    }
    j->len += n;
}

#define JLIT(j, lit) jputs((j), (lit), sizeof(lit) - 1)

static void jprintf(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jprintf(struct jbuf *j, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        jputs(j, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void jstr(struct jbuf *j, const char *s)
{
    JLIT(j, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char)*p };
            jputs(j, e, 2);
        } else if (*p < 0x20) {
            jprintf(j, "\\u%04x", *p);
        } else {
            jputs(j, (const char *)p, 1);
        }
    }
    JLIT(j, "\"");
}

size_t tickd_status_json(char *buf, size_t cap)
{
    struct jbuf j = { buf, cap, 0 };
    struct tickd_status st;

    tickd_status_get(&st);
    JLIT(&j, "{\"version\":");
    jstr(&j, st.version);
    jprintf(&j, ",\"start_time\":%.3f,\"uptime_seconds\":%.3f,\"config\":", st.start_time,
            st.uptime_seconds);
    jstr(&j, st.config_path);
    JLIT(&j, ",\"config_files\":[");
    for (size_t i = 0; tickd_status_config_file(i); i++) {
        if (i)
            JLIT(&j, ",");
        jstr(&j, tickd_status_config_file(i));
    }
    jprintf(&j, "],\"last_reload\":{\"ok\":%s,\"time\":%.3f,\"success_time\":%.3f,"
            "\"reloads_ok\":%llu,\"reloads_failed\":%llu,\"error\":",
            st.last_reload_ok ? "true" : "false", st.last_reload_time,
            st.last_reload_success_time, (unsigned long long)st.reloads_ok,
            (unsigned long long)st.reloads_failed);
    jstr(&j, st.last_reload_error);
    JLIT(&j, "},\"instances\":[");
    size_t k = 0;
    for (tick_instance *in = NULL; (in = tickd_instance_next(in)); k++) {
        struct tickd_status_instance si;
        tickd_status_instance_get(in, &si);
        if (k)
            JLIT(&j, ",");
        JLIT(&j, "{\"name\":");
        jstr(&j, si.name);
        JLIT(&j, ",\"module\":");
        jstr(&j, si.module);
        JLIT(&j, ",\"module_version\":");
        jstr(&j, si.module_version);
        JLIT(&j, ",\"state\":");
        jstr(&j, si.state);
        JLIT(&j, ",\"status\":");
        jstr(&j, si.status);
        jprintf(&j, ",\"ready\":%s,\"ready_reason\":", si.ready ? "true" : "false");
        jstr(&j, si.ready_reason);
        jprintf(&j, ",\"up_seconds\":%.3f,\"handler_seconds\":%.6f,\"pool_cpu_seconds\":%.6f",
                si.up_seconds, si.handler_seconds, si.pool_cpu_seconds);
        jprintf(&j, ",\"tasks\":%llu,\"fds\":%llu,\"child_scopes\":%llu",
                (unsigned long long)si.tasks, (unsigned long long)si.fds,
                (unsigned long long)si.child_scopes);
        jprintf(&j, ",\"task_failures\":%llu,\"handles_run\":%llu,\"bytes_in\":%llu,"
                "\"bytes_out\":%llu}", (unsigned long long)si.task_failures,
                (unsigned long long)si.handles_run, (unsigned long long)si.bytes_in,
                (unsigned long long)si.bytes_out);
    }
    JLIT(&j, "]}");
    if (cap)
        buf[j.len < cap ? j.len : cap - 1] = '\0';
    return j.len;
}

bool tickd_health(char *why, size_t cap)
{
    struct jbuf j = { why, why ? cap : 0, 0 };
    unsigned bad = 0;

    for (tick_instance *in = NULL; (in = tickd_instance_next(in));) {
        const char *what;
        if (in->retiring || in->state == TICKD_INSTANCE_CONFIGURED)
            continue;   /* an old incarnation draining; a reload's candidate */
        if (in->state == TICKD_INSTANCE_RUNNING && !in->unready)
            continue;
        if (in->state == TICKD_INSTANCE_RUNNING)
            what = "not ready";
        else if (in->state == TICKD_INSTANCE_FAILED)
            what = "failed";
        else
            what = "stopping";
        if (bad < 4)
            jprintf(&j, "%splugin:%s: %s%s%s", bad ? "; " : "", in->conf->name, what,
                    in->unready && in->ready_reason[0] ? ": " : "",
                    in->unready ? in->ready_reason : "");
        else if (bad == 4)
            JLIT(&j, "; ...");
        bad++;
    }
    if (j.cap)
        why[j.len < j.cap ? j.len : j.cap - 1] = '\0';
    return bad == 0;
}

TICK_API bool tick_daemon_health(char *why, size_t cap)
{
    return tickd_health(why, cap);
}

TICK_API size_t tick_daemon_status_json(char *buf, size_t cap)
{
    if (!buf)
        cap = 0;
    return tickd_status_json(buf, cap);
}
