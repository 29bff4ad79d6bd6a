/*
 * heartbeat — a tickd plugin that logs a line at a fixed period.
 *
 *     [plugin:beat]
 *     module = heartbeat
 *     interval = 1s          ; tick_parse_duration syntax, default 1s
 *     message = alive        ; default "alive"
 *
 * Each beat logs the message at info and sets the instance status to
 * "beat N". One task sleeps until the next absolute deadline, advanced by
 * `deadline += interval` (never `now + interval`), so beats do not drift
 * with the time the loop spent elsewhere. Being a task, it belongs to the
 * instance: the daemon cancels it before stop(), and nothing is left
 * armed when the module is unloaded.
 *
 * Built only against the public headers, as an outside plugin would be.
 */
#include <stdio.h>
#include <string.h>

#include <tick/tick.h>

#define HEARTBEAT_DEFAULT_MESSAGE "alive"

struct heartbeat {
    tick_task task;              /* sleeps between beats */
    tick_instance *in;
    uint64_t interval;           /* ns, > 0 */
    uint64_t deadline;           /* next beat, absolute monotonic ns */
    uint64_t beats;
    bool started;                /* task started: stop() drops its reference */
    char message[256];
};

static int heartbeat_configure(tick_instance *in, const char *key,
                               const char *value)
{
    struct heartbeat *hb = tick_instance_data(in);

    if (!key) {
        /* The whole section was read: fill in the defaults. */
        if (hb->interval == 0)
            hb->interval = TICK_SEC;
        if (hb->message[0] == '\0')
            snprintf(hb->message, sizeof hb->message, "%s",
                     HEARTBEAT_DEFAULT_MESSAGE);
        return 0;
    }
    if (strcmp(key, "interval") == 0) {
        uint64_t ns;
        if (tick_parse_duration(value, &ns) < 0 || ns == 0)
            return tick_instance_error(in,
                "bad duration '%s' for key 'interval' (use e.g. 250ms, 5s, 2m)",
                value);
        hb->interval = ns;
        return 0;
    }
    if (strcmp(key, "message") == 0) {
        size_t len = strlen(value);
        if (len == 0 || len >= sizeof hb->message)
            return tick_instance_error(in,
                "bad message: must be 1 to %zu characters",
                sizeof hb->message - 1);
        memcpy(hb->message, value, len + 1);
        return 0;
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

/* a + b, or UINT64_MAX ("never") rather than a wrap to the past: the
 * longest interval tick_parse_duration accepts (~584 years) would
 * otherwise make the first deadline "now" */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The next deadline after a beat. Normally deadline + interval; when the
 * loop was held up for more than a whole period, skip the missed beats
 * rather than firing them back to back, staying on the original grid. */
static uint64_t heartbeat_next(const struct heartbeat *hb, uint64_t now)
{
    uint64_t next = sat_add(hb->deadline, hb->interval);
    if (next <= now)
        next = sat_add(next, ((now - next) / hb->interval + 1) * hb->interval);
    return next;
}

static int heartbeat_step(tick_task *t)
{
    struct heartbeat *hb = tick_container_of(t, struct heartbeat, task);
    tick_loop *loop = tick_task_loop(t);
    intptr_t rc;

    TICK_BEGIN(t);
    hb->deadline = sat_add(tick_now(loop), hb->interval);
    for (;;) {
        uint64_t now = tick_now(loop);
        uint64_t wait = hb->deadline > now ? hb->deadline - now : 0;
        TICK_AWAIT(t, tick_sleep(loop, wait), rc);
        if (rc < 0)
            TICK_FAIL(t, rc);     /* -ECANCELED on stop: nothing to clean */
        hb->beats++;
        tick_log(TICK_LOG_INFO, "%s", hb->message);
        tick_instance_set_status(hb->in, "beat %llu",
                                 (unsigned long long)hb->beats);
        hb->deadline = heartbeat_next(hb, tick_now(loop));
    }
    TICK_END(t);
}

static const tick_task_class heartbeat_task_class = {
    .step = heartbeat_step,
    .free = NULL,                /* lives in the instance memory */
};

static int heartbeat_start(tick_instance *in)
{
    struct heartbeat *hb = tick_instance_data(in);
    int rc;

    hb->in = in;
    hb->beats = 0;
    rc = tick_task_start(tick_instance_loop(in), &hb->task, "heartbeat",
                         &heartbeat_task_class);
    if (rc < 0)
        return tick_instance_error(in, "cannot start the beat task: %s",
                                   strerror(-rc));
    hb->started = true;
    tick_instance_set_status(in, "beat 0");
    return 0;
}

static void heartbeat_stop(tick_instance *in)
{
    struct heartbeat *hb = tick_instance_data(in);

    /* The daemon already cancelled and drained the task; cancel again in
     * case stop() is reached another way (harmless when finished). */
    if (hb->started) {
        tick_task_cancel(&hb->task);
        tick_future_unref(tick_task_future(&hb->task));
        hb->started = false;
    }
}

TICK_PLUGIN(.name = "heartbeat", .version = "1.0",
            .instance_size = sizeof(struct heartbeat),
            .configure = heartbeat_configure,
            .start = heartbeat_start,
            .stop = heartbeat_stop);
