/* cmd.h — the command implementations' shared helpers (cmd*.c). */
#ifndef KV_CMD_H
#define KV_CMD_H

#include "kv.h"

#pragma GCC visibility push(hidden)

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"

bool arg_ll(kv_ctx *c, int i, long long *v);
bool arg_is(kv_ctx *c, int i, const char *word);
kv_ent **lookup_type(kv_ctx *c, int i, int type, bool *bad);
bool parse_ld(const char *s, size_t n, long double *out);
int ld_format(char *buf, size_t cap, long double v);

#define KV_CMDS(X) \
    X(get) X(set) X(setnx) X(setex) X(getset) X(getdel) X(mget) X(mset) X(msetnx) \
    X(append) X(strlen) X(incr) X(decr) X(incrby) X(decrby) X(incrbyfloat) \
    X(del) X(exists) X(type) X(rename) X(expire) X(pexpire) X(expireat) X(pexpireat) \
    X(ttl) X(pttl) X(persist) X(keys) X(scan) \
    X(hset) X(hget) X(hdel) X(hgetall) X(hlen) X(hexists) X(hincrby) X(hmget) \
    X(lpush) X(rpush) X(lpop) X(rpop) X(llen) X(lrange) \
    X(ping) X(echo) X(quit) X(select) X(hello) X(command) X(info) X(client) \
    X(dbsize) X(flushdb) X(auth) X(config) X(bgrewriteaof)

#define X(n) void cmd_##n(kv_ctx *c);
KV_CMDS(X)
#undef X

/* ---- the command table (cmd_table.c): dispatch and documentation ---- */

enum {
    F_WRITE = 1,          /* changes data: logged to the AOF */
    F_DENYOOM = 2,        /* refused over max_memory */
    F_NOAUTH = 4,         /* allowed before AUTH */
    F_LOADING = 8,        /* allowed while loading */
    F_FAST = 16,
};

/* argument flags, as redis 7 names them in COMMAND DOCS */
enum { ARG_OPTIONAL = 1, ARG_MULTIPLE = 2, ARG_MULTIPLE_TOKEN = 4 };

/* One argument of COMMAND DOCS (redis 7's argument map). */
struct kv_arg {
    const char *name;
    const char *type;     /* key, string, integer, double, pattern, unix-time,
                           * pure-token, oneof, block */
    int key_spec;         /* type key: its key_spec_index */
    const char *token;    /* the word before it (EX, MATCH), or NULL */
    const char *since;
    unsigned flags;       /* ARG_* */
    const struct kv_arg *args;     /* oneof, block: members, ended by name NULL */
};

/* A command's documentation, redis 7.0.15's texts (COMMAND DOCS). */
struct kv_doc {
    const char *name;     /* subcommands only: "client|id" */
    const char *summary, *since, *group, *complexity;
    const char *deprecated_since;  /* set: doc_flags [deprecated] */
    const char *replaced_by;
    const char *const *history;    /* version, text, ...; ended by NULL */
    const struct kv_arg *args;     /* ended by name NULL; NULL: none */
    const struct kv_doc *subs;     /* the subcommands kv implements; ended by name NULL */
};

struct kv_command {
    const char *name;     /* lowercase */
    size_t nlen;
    void (*fn)(kv_ctx *c);
    int arity;            /* > 0 exact, < 0 at least -arity */
    unsigned flags;       /* F_* */
    int first, last, step;         /* key positions (COMMAND INFO, the rewrite's hooks) */
    struct kv_doc doc;
};

/* The one list of commands: dispatch (cmd.c), COMMAND, COMMAND COUNT,
 * INFO and DOCS (cmd_command.c), the per-instance call counters. */
extern const struct kv_command kv_cmd_table[KV_NCOMMANDS];

/* The row of a command name (any case), or NULL. */
const struct kv_command *kv_command_lookup(const char *s, size_t n);

#pragma GCC visibility pop

#endif
