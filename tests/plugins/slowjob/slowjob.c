/* Fixture: a task awaiting a 400 ms job on the thread pool, whose fn and
 * arg live in this module and in the instance memory. Cancelling the task
 * abandons the job, but the module must not be unloaded (nor the instance
 * freed) before the worker has left fn: the engine keeps the instance's
 * task group open until the job is collected. */
#include <string.h>
#include <time.h>
#include <tick/tick.h>

struct slowjob {
    tick_task task;
    volatile unsigned long spins;   /* written by the worker */
};

static int slowjob_configure(tick_instance *in, const char *key, const char *value)
{
    (void)value;
    if (key)
        return tick_instance_error(in, "unknown key '%s'", key);
    return 0;
}

static intptr_t slowjob_work(void *arg)
{
    struct slowjob *s = arg;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {                                   /* 400 ms inside this module */
        s->spins++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 400000000L);
    return (intptr_t)s->spins;
}

static int slowjob_step(tick_task *t)
{
    struct slowjob *s = tick_container_of(t, struct slowjob, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), slowjob_work, s), rc);
        if (rc < 0)
            TICK_FAIL(t, rc);
        tick_log(TICK_LOG_INFO, "job done");
    }
    TICK_END(t);
}

static const tick_task_class slowjob_class = { .step = slowjob_step };

static int slowjob_start(tick_instance *in)
{
    struct slowjob *s = tick_instance_data(in);
    int rc = tick_task_start(tick_instance_loop(in), &s->task, "slowjob", &slowjob_class);
    if (rc < 0)
        return rc;
    tick_future_unref(tick_task_future(&s->task));
    tick_log(TICK_LOG_INFO, "job started");
    return 0;
}

static void slowjob_stop(tick_instance *in) { (void)in; }

TICK_PLUGIN(.name = "slowjob", .version = "1.0",
            .instance_size = sizeof(struct slowjob),
            .configure = slowjob_configure,
            .start = slowjob_start, .stop = slowjob_stop);
