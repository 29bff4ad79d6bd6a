/* hello.c — the README's tutorial plugin: greets someone every `every`. */
#include <stdio.h>
#include <string.h>
#include <tick/tick.h>

struct hello {
    char who[64];
    uint64_t every;          /* ns */
    tick_task task;          /* the greeting loop */
    unsigned count;          /* state that survives an await lives here */
};

static int hello_configure(tick_instance *in, const char *key, const char *value)
{
    struct hello *h = tick_instance_data(in);
    if (!key) {                                   /* end of the section */
        if (!h->every)
            h->every = TICK_SEC;
        if (!h->who[0])
            strcpy(h->who, "world");
        return 0;
    }
    if (strcmp(key, "who") == 0) {
        snprintf(h->who, sizeof h->who, "%s", value);
        return 0;
    }
    if (strcmp(key, "every") == 0) {
        if (tick_parse_duration(value, &h->every) < 0 || h->every == 0)
            return tick_instance_error(in, "bad duration '%s' for 'every'", value);
        return 0;
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

static int hello_step(tick_task *t)
{
    struct hello *h = tick_container_of(t, struct hello, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_sleep(tick_task_loop(t), h->every), rc);
        if (rc < 0)                        /* -ECANCELED: we are stopping */
            TICK_FAIL(t, rc);
        tick_log(TICK_LOG_INFO, "hello, %s (#%u)", h->who, ++h->count);
    }
    TICK_END(t);
}

static const tick_task_class hello_class = { .step = hello_step };

static int hello_start(tick_instance *in)
{
    struct hello *h = tick_instance_data(in);
    int rc = tick_task_start(tick_instance_loop(in), &h->task, "hello", &hello_class);
    if (rc < 0)
        return rc;
    tick_future_unref(&h->task.future);    /* the engine keeps it running */
    return 0;
}

static void hello_stop(tick_instance *in)
{
    (void)in;   /* the daemon already cancelled and drained our task */
}

TICK_PLUGIN(.name = "hello", .version = "1.0",
            .instance_size = sizeof(struct hello),
            .configure = hello_configure,
            .start = hello_start, .stop = hello_stop);
