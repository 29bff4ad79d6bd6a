/* Fixture: a descriptor with the current ABI but no start function. The
 * daemon must refuse it at load time, not crash at start. */
#include <tick/plugin.h>

TICK_PLUGIN(.name = "nostart", .version = "1.0", .instance_size = 1);
