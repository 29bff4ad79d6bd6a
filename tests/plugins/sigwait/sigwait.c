/* Fixture: a task that waits for a signal (`signo`, default SIGUSR2) with
 * tick_signal_wait, again and again, and logs `got signal N (#K)` each
 * time: the daemon's start-up handling of the signals it does not own
 * must leave them to a plugin that waits for one. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <tick/tick.h>

struct sigwait { tick_task task; int signo; unsigned count; bool started; };

static int sigwait_configure(tick_instance *in, const char *key, const char *value)
{
    struct sigwait *s = tick_instance_data(in);
    if (!key) {
        if (!s->signo)
            s->signo = SIGUSR2;
        return 0;
    }
    if (strcmp(key, "signo") == 0) {
        s->signo = atoi(value);
        return s->signo > 0 ? 0 : tick_instance_error(in, "bad signo '%s'", value);
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

static int sigwait_step(tick_task *t)
{
    struct sigwait *s = tick_container_of(t, struct sigwait, task);
    tick_future *f;
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        /* logged once the wait is registered (the signal blocked), so a
         * test may send the signal as soon as it reads the line */
        f = tick_signal_wait(tick_task_loop(t), s->signo);
        tick_log(TICK_LOG_INFO, "waiting for signal %d", s->signo);
        TICK_AWAIT(t, f, rc);
        if (rc < 0)
            TICK_FAIL(t, rc);
        tick_log(TICK_LOG_INFO, "got signal %d (#%u)", (int)rc, ++s->count);
    }
    TICK_END(t);
}

static const tick_task_class sigwait_class = { .step = sigwait_step };

static int sigwait_start(tick_instance *in)
{
    struct sigwait *s = tick_instance_data(in);
    int rc = tick_task_start(tick_instance_loop(in), &s->task, "sigwait", &sigwait_class);
    if (rc < 0)
        return rc;
    s->started = true;
    return 0;
}

static void sigwait_stop(tick_instance *in)
{
    struct sigwait *s = tick_instance_data(in);
    if (s->started)
        tick_future_unref(tick_task_future(&s->task));
    s->started = false;
}

TICK_PLUGIN(.name = "sigwait", .version = "1.0",
            .instance_size = sizeof(struct sigwait),
            .configure = sigwait_configure,
            .start = sigwait_start, .stop = sigwait_stop);
