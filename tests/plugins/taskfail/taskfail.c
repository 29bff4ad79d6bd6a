/* Fixture: starts a task that fails with -EPIPE after a short sleep. The
 * daemon must log it with the instance and task names and keep running. */
#include <string.h>
#include <tick/tick.h>

struct taskfail { tick_task task; bool started; };

static int taskfail_configure(tick_instance *in, const char *key,
                              const char *value)
{
    (void)value;
    if (key)
        return tick_instance_error(in, "unknown key '%s'", key);
    return 0;
}

static int taskfail_step(tick_task *t)
{
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 20 * TICK_MSEC), rc);
    if (rc < 0)
        TICK_FAIL(t, rc);
    TICK_FAIL(t, -EPIPE);
    TICK_END(t);
}

static const tick_task_class taskfail_class = { .step = taskfail_step };

static int taskfail_start(tick_instance *in)
{
    struct taskfail *tf = tick_instance_data(in);
    int rc = tick_task_start(tick_instance_loop(in), &tf->task, "doomed",
                             &taskfail_class);
    if (rc < 0)
        return rc;
    tf->started = true;
    return 0;
}

static void taskfail_stop(tick_instance *in)
{
    struct taskfail *tf = tick_instance_data(in);
    if (tf->started)
        tick_future_unref(tick_task_future(&tf->task));
    tf->started = false;
}

TICK_PLUGIN(.name = "taskfail", .version = "1.0",
            .instance_size = sizeof(struct taskfail),
            .configure = taskfail_configure,
            .start = taskfail_start, .stop = taskfail_stop);
