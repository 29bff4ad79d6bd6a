/*
 * micro.c — the micro-benchmark driver: runs every workload for tick,
 * libuv and libev, each run in a fresh forked process pinned to one CPU,
 * interleaving the engines run by run, and prints the best run of each
 * (the machine is shared, and interference only ever adds time) as
 *
 *   BENCH <name> <tick> <unit> [libuv=<v>] [libev=<v>] [ratio_libuv=<r>] ...
 *
 * where a ratio is the median over runs of tick/peer, each quotient taken
 * within one run (see paired_ratio()).
 *
 * Usage: micro [-r RUNS] [-c CPU] [NAME...]   (default: 7 runs, CPU 0,
 * every workload). Lines starting with '#' are detail (every sample).
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tick/task.h"
#include "bench.h"

/* ---- helpers shared with the engine sides ---- */

void bench_fail(const char *what, int err)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
    _exit(3);
}

void bench_sleep_past_spread(void)
{
    uint64_t ns = BENCH_TIMER_SPREAD_NS + 20000000u;
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

uint64_t bench_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

uint64_t bench_rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        bench_fail("/proc/self/statm", -errno);
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ---- the workload table ---- */

enum { ENG_TICK, ENG_UV, ENG_EV, NENG };
static const char *const eng_name[NENG] = { "tick", "libuv", "libev" };

typedef struct workload {
    const char *name[2];     /* output lines: one per figure */
    const char *unit[2];
    bench_fn fn[NENG];
    unsigned runs_div;       /* runs = max(1, runs / runs_div) */
    double target[2];        /* the tick figure's target, 0 = none */
    const char *target_text[2];
} workload;

static const workload workloads[] = {
    { { "call_soon_run", NULL }, { "ns/op", NULL },
      { tick_call_soon_run, uv_call_soon_run, ev_call_soon_run }, 1,
      { 10, 0 }, { "< 10 ns/op", NULL } },
    { { "call_soon_switch_acct", "call_soon_switch_noacct" }, { "ns/op", "ns/op" },
      { tick_call_soon_switch, NULL, NULL }, 1, { 0, 0 }, { NULL, NULL } },
    { { "future_resolve_cb", NULL }, { "ns/op", NULL },
      { tick_future_resolve, NULL, NULL }, 1, { 0, 0 }, { NULL, NULL } },
    { { "task_await_rt", NULL }, { "ns/rt", NULL },
      { tick_task_await_rt, NULL, NULL }, 1,
      { 30, 0 }, { "< 30 ns/rt", NULL } },
    { { "task_pingpong_rt", NULL }, { "ns/rt", NULL },
      { tick_task_pingpong, NULL, NULL }, 1, { 0, 0 }, { NULL, NULL } },
    { { "empty_tick", NULL }, { "ns/tick", NULL },
      { tick_empty_tick, uv_empty_tick, ev_empty_tick }, 1, { 0, 0 }, { NULL, NULL } },
    { { "timer_insert_1m", "timer_fire_1m" }, { "ns/timer", "ns/timer" },
      { tick_timers_1m, uv_timers_1m, ev_timers_1m }, 2, { 0, 0 }, { NULL, NULL } },
    { { "task_bytes_1m", "task_rss_bytes_1m" }, { "bytes/task", "bytes/task" },
      { tick_task_memory, NULL, NULL }, 5,
      { 128, 0 }, { "<= 128 bytes/task", NULL } },
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

#define MAX_RUNS 15

/* Run fn in a child; its result comes back through a pipe. NaN on any
 * failure (the child printed why). */
static bench_result run_child(bench_fn fn)
{
    bench_result r = { { NAN, NAN } };
    int p[2];
    if (pipe(p) < 0) {
        perror("bench: pipe");
        return r;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench: fork");
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0) {
        close(p[0]);
        alarm(120);     /* a hung engine must not hang `make bench` */
        bench_result out = fn();
        ssize_t n = write(p[1], &out, sizeof out);
        _exit(n == (ssize_t)sizeof out ? 0 : 4);
    }
    close(p[1]);
    bench_result got;
    ssize_t n;
    while ((n = read(p[0], &got, sizeof got)) < 0 && errno == EINTR)
        ;
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (n == (ssize_t)sizeof got && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return got;
    if (WIFSIGNALED(status))
        fprintf(stderr, "bench: child killed by signal %d\n", WTERMSIG(status));
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median (mid = 1) or minimum (mid = 0) of the finite samples; NaN if
 * none. */
static double pick(const double *v, unsigned n, int mid)
{
    double s[MAX_RUNS];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (isfinite(v[i]))
            s[k++] = v[i];
    if (!k)
        return NAN;
    qsort(s, k, sizeof *s, cmp_double);
    if (!mid)
        return s[0];
    return k & 1 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

static void fmt(char *buf, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(buf, n, "FAILED");
    else if (v >= 100)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.1f", v);
}

/*
 * tick / peer for one figure, paired run by run: sample r of every engine
 * ran back to back (well under a second apart), so both sides of each
 * quotient saw the same machine; the median of those quotients is far
 * steadier on a shared machine than best / best, whose two halves may
 * come from different moments.
 */
static double paired_ratio(const double *tick, const double *peer, unsigned runs)
{
    double q[MAX_RUNS];
    for (unsigned r = 0; r < runs; r++)
        q[r] = isfinite(tick[r]) && isfinite(peer[r]) && peer[r] > 0 ? tick[r] / peer[r] : NAN;
    return pick(q, runs, 1);
}

static int report(const workload *w, double samples[NENG][2][MAX_RUNS], unsigned runs,
                  char *summary, size_t summary_len)
{
    int failed = 0;
    for (int k = 0; k < 2 && w->name[k]; k++) {
        double best[NENG], ratio[NENG];
        for (int e = 0; e < NENG; e++) {
            best[e] = NAN;
            if (!w->fn[e])
                continue;
            best[e] = pick(samples[e][k], runs, 0);
            ratio[e] = paired_ratio(samples[ENG_TICK][k], samples[e][k], runs);
            printf("# %s %s best=%.2f median=%.2f samples:", w->name[k], eng_name[e],
                   best[e], pick(samples[e][k], runs, 1));
            for (unsigned r = 0; r < runs; r++)
                printf(" %.2f", samples[e][k][r]);
            printf("\n");
            if (!isfinite(best[e]))
                failed = 1;
        }
        char b[32];
        fmt(b, sizeof b, best[ENG_TICK]);
        printf("BENCH %s %s %s", w->name[k], b, w->unit[k]);
        for (int e = ENG_UV; e < NENG; e++) {
            if (!w->fn[e])
                continue;
            fmt(b, sizeof b, best[e]);
            printf(" %s=%s", eng_name[e], b);
        }
        for (int e = ENG_UV; e < NENG; e++)
            if (w->fn[e] && isfinite(ratio[e]))
                printf(" ratio_%s=%.2f", eng_name[e], ratio[e]);
        if (w->fn[ENG_TICK] == tick_task_memory && k == 0)
            printf(" sizeof_tick_task=%zu", sizeof(tick_task));
        printf("\n");

        /* target lines, collected for the end */
        size_t used = strlen(summary);
        if (w->target[k] > 0)
            snprintf(summary + used, summary_len - used, "TARGET %s %s: %s (%.1f)\n",
                     w->name[k], w->target_text[k],
                     isfinite(best[ENG_TICK]) && round(best[ENG_TICK] * 10) <= w->target[k] * 10
                         ? "met" : "MISSED",
                     best[ENG_TICK]);
        used = strlen(summary);
        for (int e = ENG_UV; e < NENG; e++)
            if (w->fn[e] && isfinite(ratio[e]) && used < summary_len) {
                snprintf(summary + used, summary_len - used,
                         "TARGET %s <= %s: %s (ratio %.2f)\n", w->name[k], eng_name[e],
                         ratio[e] <= 1.0 ? "met" : "MISSED", ratio[e]);
                used = strlen(summary);
            }
    }
    fflush(stdout);
    return failed;
}

static bool selected(const workload *w, int argc, char **argv, int first)
{
    if (first >= argc)
        return true;
    for (int i = first; i < argc; i++)
        if (!strcmp(argv[i], w->name[0]) || (w->name[1] && !strcmp(argv[i], w->name[1])))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    unsigned runs = 7;
    int cpu = 0, opt;
    while ((opt = getopt(argc, argv, "r:c:")) != -1) {
        switch (opt) {
        case 'r':
            runs = (unsigned)atoi(optarg);
            break;
        case 'c':
            cpu = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s [-r RUNS] [-c CPU] [WORKLOAD...]\n", argv[0]);
            return 64;
        }
    }
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "micro: runs must be 1..%d\n", MAX_RUNS);
        return 64;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            perror("micro: sched_setaffinity (continuing unpinned)");
    }

    /* Bring the core out of its idle clock before the first sample. */
    for (uint64_t t0 = bench_now_ns(); bench_now_ns() - t0 < 300000000u;)
        ;

    static char summary[4096];
    int failed = 0;
    for (size_t i = 0; i < NWORKLOADS; i++) {
        const workload *w = &workloads[i];
        if (!selected(w, argc, argv, optind))
            continue;
        unsigned n = runs / w->runs_div ? runs / w->runs_div : 1;
        static double samples[NENG][2][MAX_RUNS];
        for (unsigned r = 0; r < n; r++)
            for (int e = 0; e < NENG; e++) {
                if (!w->fn[e])
                    continue;
                bench_result res = run_child(w->fn[e]);
                samples[e][0][r] = res.v[0];
                samples[e][1][r] = res.v[1];
            }
        failed |= report(w, samples, n, summary, sizeof summary);
    }
    fputs(summary, stdout);
    return failed ? 1 : 0;
}
