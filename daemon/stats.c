/*
 * stats.c — counters for operators: the loop's, each instance's, and the
 * handles that ran longer than slow_handle, by name. SIGUSR1 logs them.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "module.h"

/* Slow handles by name. Names are copied: a handle's name may belong to
 * a plugin instance that is gone by the time anyone asks. A small table
 * is enough: the point is to name the few offenders, not to index all. */
#define SLOW_SLOTS 32
static struct slow_entry {
    char name[64];
    uint64_t count;
    uint64_t worst_ns;
} slow[SLOW_SLOTS];
static uint64_t slow_other;   /* slow handles that found no free slot */

static struct slow_entry *slow_find(const char *name)
{
    for (size_t i = 0; i < SLOW_SLOTS; i++) {
        if (!slow[i].name[0]) {
            snprintf(slow[i].name, sizeof slow[i].name, "%s", name);
            return &slow[i];
        }
        if (strncmp(slow[i].name, name, sizeof slow[i].name - 1) == 0)
            return &slow[i];
    }
    return NULL;
}

void tickd_stats_slow_handle(void *user, const char *name, uint64_t ns)
{
    struct slow_entry *e = slow_find(name ? name : "?");

    (void)user;
    if (!e) {
        slow_other++;
        return;
    }
    e->count++;
    if (ns > e->worst_ns)
        e->worst_ns = ns;
    /* The first time, then every 100th: visible, but no log storm from a
     * handle that is always slow. */
    if (e->count == 1 || e->count % 100 == 0)
        tickd_log(TICK_LOG_WARNING, "slow handle '%s': ran %llu.%03llums "
                  "(%llu times so far)", e->name,
                  (unsigned long long)(ns / TICK_MSEC),
                  (unsigned long long)(ns % TICK_MSEC / TICK_USEC),
                  (unsigned long long)e->count);
}

bool tickd_stats_slow_get(size_t i, const char **name, uint64_t *count, uint64_t *worst_ns)
{
    if (i >= SLOW_SLOTS || !slow[i].name[0])
        return false;
    *name = slow[i].name;
    *count = slow[i].count;
    *worst_ns = slow[i].worst_ns;
    return true;
}

uint64_t tickd_stats_slow_other(void) { return slow_other; }

void tickd_stats_log(struct tickd *d)
{
    tick_loop_stats st;

    tick_loop_get_stats(d->loop, &st);
    tickd_log(TICK_LOG_NOTICE, "loop: ticks=%llu handles_run=%llu tasks_alive=%llu "
              "fds_watched=%llu timers_armed=%llu longest_tick=%lluus "
              "slow_handles=%llu modules=%zu instances=%zu listeners=%zu",
              (unsigned long long)st.ticks, (unsigned long long)st.handles_run,
              (unsigned long long)st.tasks_alive,
              (unsigned long long)st.fds_watched,
              (unsigned long long)st.timers_armed,
              (unsigned long long)(st.longest_tick_ns / TICK_USEC),
              (unsigned long long)st.slow_handles, tickd_module_count(),
              tickd_instance_count(), tickd_listen_count());
    tickd_instance_log_stats();
    for (size_t i = 0; i < SLOW_SLOTS && slow[i].name[0]; i++)
        tickd_log(TICK_LOG_NOTICE, "slow handle '%s': %llu times, worst %lluus",
                  slow[i].name, (unsigned long long)slow[i].count,
                  (unsigned long long)(slow[i].worst_ns / TICK_USEC));
    if (slow_other)
        tickd_log(TICK_LOG_NOTICE, "slow handles with other names: %llu",
                  (unsigned long long)slow_other);
}
