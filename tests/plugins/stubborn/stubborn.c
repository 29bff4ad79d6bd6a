/* Fixture: a task that swallows every cancellation and keeps sleeping.
 * The daemon's stop deadline (stop_timeout) must still bound a stop. */
#include <string.h>
#include <tick/tick.h>

struct stubborn { tick_task task; bool started; };

static int stubborn_configure(tick_instance *in, const char *key,
                              const char *value)
{
    (void)value;
    if (key)
        return tick_instance_error(in, "unknown key '%s'", key);
    return 0;
}

static int stubborn_step(tick_task *t)
{
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_sleep(tick_task_loop(t), 20 * TICK_MSEC), rc);
        if (rc == -ECANCELED)
            tick_task_uncancel(t);   /* "not now" */
    }
    TICK_END(t);
}

static const tick_task_class stubborn_class = { .step = stubborn_step };

static int stubborn_start(tick_instance *in)
{
    struct stubborn *s = tick_instance_data(in);
    int rc = tick_task_start(tick_instance_loop(in), &s->task, "stubborn",
                             &stubborn_class);
    if (rc < 0)
        return rc;
    s->started = true;
    return 0;
}

static void stubborn_stop(tick_instance *in)
{
    struct stubborn *s = tick_instance_data(in);
    if (s->started)
        tick_future_unref(tick_task_future(&s->task));
    s->started = false;
}

TICK_PLUGIN(.name = "stubborn", .version = "1.0",
            .instance_size = sizeof(struct stubborn),
            .configure = stubborn_configure,
            .start = stubborn_start, .stop = stubborn_stop);
