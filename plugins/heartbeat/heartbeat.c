/*
 * heartbeat — a tickd plugin that logs a line at a fixed period.
 *
 *     [plugin:beat]
 *     module = heartbeat
 *     interval = 1s          ; tick_parse_duration syntax, default 1s
 *     message = alive        ; default "alive" (1 to 255 characters)
 *
 * Each beat logs the message at info and sets the instance status to
 * "beat N". One timer re-arms itself with tick_timer_repeat(), the
 * engine's periodic policy: on the grid of the first beat (never
 * `now + interval`, so beats do not drift), and beats missed while the
 * loop was held up are skipped and counted, not fired back to back.
 * Armed in start(), the timer belongs to the instance's scope: the daemon
 * stops it with the scope before stop(), and nothing is left armed when
 * the module is unloaded.
 *
 * Its keys are a table (tick/config.h): the daemon parses and checks them;
 * `tickd --describe heartbeat` lists them. Built only against the public
 * headers, as an outside plugin would be.
 */
#include <stdio.h>
#include <string.h>

#include <tick/tick.h>

struct heartbeat {
    tick_timer beat;
    tick_instance *in;
    uint64_t interval;           /* ns, > 0: the key table fills it */
    const char *message;         /* the daemon's, for the instance's life */
    uint64_t beats;
    uint64_t skipped;            /* beats missed while the loop was held up */
};

/* The daemon parses the section into struct heartbeat (tick/config.h). */
static const tick_key heartbeat_keys[] = {
    TICK_KEY_DURATION(struct heartbeat, interval, "interval", 1, 0, "1s", 0,
                      "time between two beats"),
    TICK_KEY_STRING(struct heartbeat, message, "message", 1, 255, "alive", 0,
                    "the line logged at each beat (info level)"),
    TICK_KEY_END
};

static void heartbeat_fire(tick_handle *h)
{
    struct heartbeat *hb = tick_container_of(h, struct heartbeat, beat.handle);
    int64_t skipped;

    hb->beats++;
    tick_log(TICK_LOG_INFO, "%s", hb->message);
    tick_instance_set_status(hb->in, "beat %llu", (unsigned long long)hb->beats);
    skipped = tick_timer_repeat(tick_instance_loop(hb->in), &hb->beat, hb->interval);
    if (skipped < 0) {
        tick_log(TICK_LOG_ERR, "cannot arm the next beat: %s", strerror((int)-skipped));
        tick_instance_set_status(hb->in, "stopped after beat %llu: %s",
                                 (unsigned long long)hb->beats, strerror((int)-skipped));
    } else if (skipped > 0) {
        hb->skipped += (uint64_t)skipped;
        tick_log(TICK_LOG_NOTICE, "%lld beat%s skipped (the loop was held up), %llu in all",
                 (long long)skipped, skipped == 1 ? "" : "s",
                 (unsigned long long)hb->skipped);
    }
}

static int heartbeat_start(tick_instance *in)
{
    struct heartbeat *hb = tick_instance_data(in);
    int rc;

    hb->in = in;
    hb->beats = hb->skipped = 0;
    tick_timer_init(&hb->beat, "heartbeat", heartbeat_fire);
    rc = tick_call_later(tick_instance_loop(in), &hb->beat, hb->interval);
    if (rc < 0)
        return tick_instance_error(in, "cannot arm the beat timer: %s",
                                   strerror(-rc));
    tick_instance_set_status(in, "beat 0");
    return 0;
}

static void heartbeat_stop(tick_instance *in)
{
    struct heartbeat *hb = tick_instance_data(in);

    /* The daemon already stopped the timer with the instance's scope; stop
     * it again in case stop() is reached another way (harmless). Instance
     * memory starts zeroed, not as an initialised timer: only a started
     * instance has one. */
    if (hb->in)
        tick_timer_stop(tick_instance_loop(in), &hb->beat);
}

TICK_PLUGIN(.name = "heartbeat", .version = "1.0",
            .instance_size = sizeof(struct heartbeat),
            .description = "Logs a line periodically and shows \"beat N\" in the service status.",
            .keys = heartbeat_keys,
            .start = heartbeat_start,
            .stop = heartbeat_stop);
