/* Fixture: an instance that runs but is not ready (as kv is while it
 * loads its file): tick_instance_set_ready(false, "loading") at start,
 * ready after `ready_after` (0: never). */
#include <tick/tick.h>

struct notready {
    uint64_t ready_after;
    tick_instance *in;
    tick_timer t;
};

static const tick_key notready_keys[] = {
    TICK_KEY_DURATION(struct notready, ready_after, "ready_after", 0, 0, "0", 0,
                      "when to become ready (0: never)"),
    TICK_KEY_END
};

static void notready_fire(tick_handle *h)
{
    struct notready *n = tick_container_of(h, struct notready, t.handle);
    tick_instance_set_ready(n->in, true, NULL);
    tick_log(TICK_LOG_INFO, "ready");
}

static int notready_start(tick_instance *in)
{
    struct notready *n = tick_instance_data(in);
    n->in = in;
    tick_instance_set_ready(in, false, "loading");
    if (!n->ready_after)
        return 0;
    tick_timer_init(&n->t, "notready", notready_fire);
    return tick_call_later(tick_instance_loop(in), &n->t, n->ready_after);
}

TICK_PLUGIN(.name = "notready", .version = "1.0",
            .instance_size = sizeof(struct notready),
            .keys = notready_keys,
            .start = notready_start);
