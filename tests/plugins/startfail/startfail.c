/* Fixture: configures fine, fails in start(). At start-up the daemon must
 * refuse to run (exit 78); on reload it must keep the others running. */
#include <string.h>
#include <tick/tick.h>

static int startfail_configure(tick_instance *in, const char *key,
                               const char *value)
{
    (void)value;
    if (key && strcmp(key, "ignored") != 0)
        return tick_instance_error(in, "unknown key '%s'", key);
    return 0;
}

static int startfail_start(tick_instance *in)
{
    tick_instance_error(in, "no luck today");
    return -EIO;
}

static void startfail_stop(tick_instance *in) { (void)in; }

TICK_PLUGIN(.name = "startfail", .version = "1.0",
            .instance_size = 1,
            .configure = startfail_configure,
            .start = startfail_start, .stop = startfail_stop);
