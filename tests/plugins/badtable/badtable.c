/* Fixture: a key table whose integer range does not fit its field: the
 * daemon refuses the module at load. */
#include <tick/tick.h>

struct badtable { uint8_t level; };

static const tick_key badtable_keys[] = {
    TICK_KEY_INT(struct badtable, level, "level", 0, 300, "1", 0, "too wide for a byte"),
    TICK_KEY_END
};

static int badtable_start(tick_instance *in) { (void)in; return 0; }

TICK_PLUGIN(.name = "badtable", .version = "1.0",
            .instance_size = sizeof(struct badtable),
            .keys = badtable_keys,
            .start = badtable_start);
