/*
 * keys.h — a plugin's key table (tick/config.h): checked at module load,
 * then used to fill an instance's memory from its section, to decide and
 * apply a live reconfigure, and to print `tickd --describe`.
 *
 * Values the daemon allocates for an instance (strings, word arrays,
 * lists) live in its arena, a list of blocks freed with the instance
 * (tickd_arena_free): never before, so a plugin may keep the pointers for
 * the instance's whole life, across live reconfigures too.
 */
#ifndef TICKD_KEYS_H
#define TICKD_KEYS_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "tick/config.h"

struct tickd_arena;
void tickd_arena_free(struct tickd_arena **a);

/* Is the table sound for instance memory of instance_size bytes? NULL if
 * so, else the reason in why ("key 'port': ..."). Defaults are parsed. */
const char *tickd_keys_check(const tick_key *keys, size_t instance_size,
                             char *why, size_t len);

/* Fill data from sec's keys (defaults for those absent). 0, or -EINVAL /
 * -ENOMEM with err "FILE:LINE: plugin:NAME: message". */
int tickd_keys_fill(const tick_key *keys, const struct tickd_section *sec,
                    void *data, struct tickd_arena **arena,
                    struct tickd_error *err);

/* Do a and b differ only in keys flagged TICK_KEY_LIVE (or not at all,
 * aliases resolved)? False when either has a key the table lacks. */
bool tickd_keys_live_only(const tick_key *keys, const struct tickd_section *a,
                          const struct tickd_section *b);
/* Store b's values of the live keys that differ from a's into data (all
 * or nothing). 0 or < 0. */
int tickd_keys_apply_live(const tick_key *keys, const struct tickd_section *a,
                          const struct tickd_section *b, void *data,
                          struct tickd_arena **arena);

/* `tickd --describe`: the module's keys, as text or roff (man page). */
void tickd_keys_describe(FILE *out, const char *module, const char *version,
                         const char *description,
                         const tick_key *keys, bool roff);

#endif
