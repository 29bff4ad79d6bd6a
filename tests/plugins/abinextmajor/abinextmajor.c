/* Fixture: a plugin built for the next major ABI (the daemon's major + 1,
 * minor 0). The daemon must refuse it and say which numbers differ. Written out by hand because
 * TICK_PLUGIN() always stamps the current ABI. */
#include <tick/plugin.h>

TICK_API extern const tick_plugin tick_plugin_descriptor;
TICK_API const tick_plugin tick_plugin_descriptor = {
    .abi_major = TICK_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "abinextmajor",
    .version = "1.0",
};
