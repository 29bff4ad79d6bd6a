/* Fixture: a plugin built for a newer minor ABI than the daemon's (the
 * daemon's minor + 1; it may use entry points the daemon lacks): refused
 * as well. */
#include <tick/plugin.h>

TICK_API extern const tick_plugin tick_plugin_descriptor;
TICK_API const tick_plugin tick_plugin_descriptor = {
    .abi_major = TICK_PLUGIN_ABI_MAJOR,
    .abi_minor = TICK_PLUGIN_ABI_MINOR + 1,
    .name = "abinextminor",
    .version = "1.0",
};
