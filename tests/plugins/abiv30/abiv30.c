/* Fixture: a plugin built for ABI 3.0, whose descriptor ends after
 * reconfigure (no .keys field): it must load, be configured by its
 * configure() (with the values unquoted), and the daemon must not read
 * past its descriptor. The bytes right after it are junk that would
 * crash a daemon taking them for a key table. */
#include <stdio.h>
#include <string.h>

#include <tick/plugin.h>

struct v30_descriptor {     /* tick_plugin as ABI 3.0 had it */
    uint32_t abi_major, abi_minor;
    const char *name, *version;
    size_t instance_size;
    int (*configure)(tick_instance *, const char *, const char *);
    int (*start)(tick_instance *);
    void (*stop)(tick_instance *);
    void (*release)(tick_instance *);
    unsigned flags;
    int (*reconfigure)(tick_instance *, const char *, const char *);
};

struct v30 { char who[128]; };

static int v30_configure(tick_instance *in, const char *key, const char *value)
{
    struct v30 *v = tick_instance_data(in);
    if (!key)
        return 0;
    if (strcmp(key, "who") != 0)
        return tick_instance_error(in, "unknown key '%s'", key);
    snprintf(v->who, sizeof v->who, "%s", value);
    return 0;
}

static int v30_start(tick_instance *in)
{
    struct v30 *v = tick_instance_data(in);
    tick_log(TICK_LOG_INFO, "who=<%s>", v->who);
    return 0;
}

struct v30_holder {
    struct v30_descriptor d;
    const void *junk;       /* where a 3.1 descriptor has .keys */
};
TICK_API extern const struct v30_holder tick_plugin_descriptor;
TICK_API const struct v30_holder tick_plugin_descriptor = {
    { .abi_major = TICK_PLUGIN_ABI_MAJOR, .abi_minor = 0, .name = "abiv30",
      .version = "3.0", .instance_size = sizeof(struct v30),
      .configure = v30_configure, .start = v30_start },
    (const void *)16,
};
