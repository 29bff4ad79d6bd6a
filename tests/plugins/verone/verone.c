/* Fixture: a plugin that does nothing but run, built twice with two
 * version strings (verone "one", vertwo "two"): a test copies one over
 * the other in the plugin directory to show a rebuilt .so is loaded on
 * reload. */
#include <tick/tick.h>

#ifndef VER_STRING
#define VER_STRING "one"
#endif

static int ver_start(tick_instance *in)
{
    tick_instance_set_status(in, "version " VER_STRING);
    return 0;
}

TICK_PLUGIN(.name = "ver", .version = VER_STRING, .start = ver_start);
