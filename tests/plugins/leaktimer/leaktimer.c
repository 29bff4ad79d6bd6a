/* Fixture: a buggy plugin that arms plain timers (not tasks) in start()
 * and forgets them in stop(): one in the module's own .bss, one in the
 * instance memory. After stop() and release() the daemon frees the
 * instance and dlcloses the module, so unless it notices and disarms
 * them, the loop later calls into unmapped code or freed memory. */
#include <tick/tick.h>

struct leaktimer { tick_timer t; };

static tick_timer module_timer;

static void leaktimer_fire(tick_handle *h)
{
    (void)h;
    tick_log(TICK_LOG_INFO, "leaked timer fired");
}

static int leaktimer_configure(tick_instance *in, const char *key,
                               const char *value)
{
    (void)value;
    return key ? tick_instance_error(in, "unknown key '%s'", key) : 0;
}

static int leaktimer_start(tick_instance *in)
{
    struct leaktimer *lt = tick_instance_data(in);

    tick_timer_init(&module_timer, "leaked module timer", leaktimer_fire);
    tick_timer_init(&lt->t, "leaked instance timer", leaktimer_fire);
    tick_call_later(tick_instance_loop(in), &module_timer, 300 * TICK_MSEC);
    tick_call_later(tick_instance_loop(in), &lt->t, 300 * TICK_MSEC);
    return 0;
}

TICK_PLUGIN(.name = "leaktimer", .version = "1.0",
            .instance_size = sizeof(struct leaktimer),
            .configure = leaktimer_configure,
            .start = leaktimer_start);
