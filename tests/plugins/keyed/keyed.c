/* Fixture: a plugin whose keys are a table of every type (tick/config.h).
 * start() logs every value as the daemon stored it; reconfigure(NULL,
 * NULL) logs the live keys after a live reload; configure(NULL, NULL)
 * checks a constraint between two keys. */
#include <stdio.h>
#include <string.h>

#include <tick/tick.h>

struct keyed {
    const char *name;
    int32_t count;
    int8_t small;
    uint16_t port;
    uint64_t buf;
    bool verbose;
    uint64_t wait;
    int mode;
    const char *listen;
    tick_words command;
    tick_words_list route;
    tick_strings tag;
    uint32_t max_conns;
    const char *greeting;
};

static const char *const modes[] = { "fast", "slow", NULL };

static const tick_key keyed_keys[] = {
    TICK_KEY_STRING(struct keyed, name, "name", 1, 32, NULL, TICK_KEY_REQUIRED,
                    "a name, required"),
    TICK_KEY_INT(struct keyed, count, "count", 1, 100, "10", 0, "how many"),
    TICK_KEY_INT(struct keyed, small, "small", -5, 5, "0", 0, "a signed byte"),
    TICK_KEY_INT(struct keyed, port, "port", 0, 65535, "80", 0, "an unsigned short"),
    TICK_KEY_SIZE(struct keyed, buf, "buf", 1024, 1 << 20, "64k", 0, "a buffer size"),
    TICK_KEY_BOOL(struct keyed, verbose, "verbose", "no", 0, "say more"),
    TICK_KEY_DURATION(struct keyed, wait, "wait", TICK_MSEC, 3600 * TICK_SEC, "250ms", 0,
                      "how long to wait"),
    TICK_KEY_ENUM(struct keyed, mode, "mode", modes, "fast", 0, "how to go"),
    TICK_KEY_ADDRESSES(struct keyed, listen, "listen", NULL, 0, "where to listen"),
    TICK_KEY_WORDS(struct keyed, command, "command", 1, 8, NULL, 0, "a command line"),
    TICK_KEY_WORDS(struct keyed, route, "route", 4, 4, NULL, TICK_KEY_REPEATABLE,
                   "PATH STATUS CONTENT-TYPE BODY"),
    TICK_KEY_STRING(struct keyed, tag, "tag", 0, 0, NULL, TICK_KEY_REPEATABLE, "a tag"),
    TICK_KEY_INT(struct keyed, max_conns, "max_conns", 1, 100000, "64", TICK_KEY_LIVE,
                 "connections at most"),
    TICK_KEY_ALIAS("max_clients", "max_conns"),
    TICK_KEY_STRING(struct keyed, greeting, "greeting", 0, 0, "hi", TICK_KEY_LIVE,
                    "what to say"),
    TICK_KEY_END
};

static int keyed_configure(tick_instance *in, const char *key, const char *value)
{
    struct keyed *k = tick_instance_data(in);
    (void)value;
    if (key)
        return tick_instance_error(in, "configure() got key '%s' despite a table", key);
    if (k->small > k->count)
        return tick_instance_error(in, "small (%d) must not exceed count (%d)",
                                   k->small, (int)k->count);
    return 0;
}

static int keyed_start(tick_instance *in)
{
    struct keyed *k = tick_instance_data(in);
    char line[1024];
    int off = 0;

    off += snprintf(line + off, sizeof line - (size_t)off,
                    "name=<%s> count=%d small=%d port=%u buf=%llu verbose=%d wait=%llu "
                    "mode=%d listen=<%s> max_conns=%u greeting=<%s> command=%zu",
                    k->name, (int)k->count, k->small, k->port, (unsigned long long)k->buf,
                    k->verbose, (unsigned long long)k->wait, k->mode,
                    k->listen ? k->listen : "(none)", (unsigned)k->max_conns,
                    k->greeting, k->command.n);
    for (size_t i = 0; i < k->command.n; i++)
        off += snprintf(line + off, sizeof line - (size_t)off, " <%s>", k->command.v[i]);
    off += snprintf(line + off, sizeof line - (size_t)off, " route=%zu", k->route.n);
    for (size_t i = 0; i < k->route.n; i++)
        off += snprintf(line + off, sizeof line - (size_t)off, " [%s|%s|%s|%s]",
                        k->route.v[i].v[0], k->route.v[i].v[1], k->route.v[i].v[2],
                        k->route.v[i].v[3]);
    off += snprintf(line + off, sizeof line - (size_t)off, " tag=%zu", k->tag.n);
    for (size_t i = 0; i < k->tag.n; i++)
        off += snprintf(line + off, sizeof line - (size_t)off, " <%s>", k->tag.v[i]);
    tick_log(TICK_LOG_INFO, "%s", line);
    return 0;
}

static int keyed_reconfigure(tick_instance *in, const char *key, const char *value)
{
    struct keyed *k = tick_instance_data(in);
    (void)value;
    if (key)
        return tick_instance_error(in, "reconfigure() got key '%s' despite a table", key);
    tick_log(TICK_LOG_INFO, "live: max_conns=%u greeting=<%s>", (unsigned)k->max_conns,
             k->greeting);
    return 0;
}

TICK_PLUGIN(.name = "keyed", .version = "2.5",
            .instance_size = sizeof(struct keyed),
            .keys = keyed_keys,
            .configure = keyed_configure,
            .start = keyed_start,
            .reconfigure = keyed_reconfigure);
