/*
 * cmd_table.c — the one list of commands kv implements: what dispatch
 * needs (handler, arity, flags, key positions: cmd.c) and what COMMAND
 * DOCS replies (cmd_command.c), in one row each, so that COMMAND, COMMAND
 * COUNT, COMMAND INFO, COMMAND DOCS and the command counters cannot
 * disagree.
 *
 * The documentation is redis 7.0.15's own (its src/commands/ JSON files, as
 * its COMMAND DOCS returns them; BSD-3-Clause), since kv answers as that
 * version: redis-cli builds its hints and HELP from it. A container
 * (CLIENT, COMMAND, CONFIG) lists only the subcommands kv implements.
 */
#include "cmd.h"

#define W F_WRITE
#define M F_DENYOOM
#define OPT ARG_OPTIONAL
#define MULTI ARG_MULTIPLE

/* name, handler, arity, flags, first/last/step key; then summary, since,
 * group, complexity and any more kv_doc fields (designated) */
#define CMD(n, fn_, ar, fl, f, l, s, sum, ver, grp, ...)                    \
    { .name = n, .nlen = sizeof n - 1, .fn = fn_, .arity = ar, .flags = fl, \
      .first = f, .last = l, .step = s,                                     \
      .doc = { .summary = sum, .since = ver, .group = grp, .complexity = __VA_ARGS__ } }
#define SUB(n, sum, ver, grp, ...) \
    { .name = n, .summary = sum, .since = ver, .group = grp, .complexity = __VA_ARGS__ }
#define SUBS(...) ((const struct kv_doc[]){ __VA_ARGS__, { .name = NULL } })
/* KEY(name, key_spec_index, ...), ARG(name, type, ...) */
#define KEY(n, ...) { .name = n, .type = "key", .key_spec = __VA_ARGS__ }
#define ARG(n, ...) { .name = n, .type = __VA_ARGS__ }
#define ARGS(...) ((const struct kv_arg[]){ __VA_ARGS__, { .name = NULL } })
#define HIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

const struct kv_command kv_cmd_table[] = {
    CMD("get", cmd_get, 2, F_FAST, 1, 1, 1,
        "Get the value of a key", "1.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("set", cmd_set, -3, W | M, 1, 1, 1,
        "Set the string value of a key", "1.0.0", "string", "O(1)",
        .history = HIST("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options.",
                        "6.0.0", "Added the `KEEPTTL` option.",
                        "6.2.0", "Added the `GET`, `EXAT` and `PXAT` option.",
                        "7.0.0", "Allowed the `NX` and `GET` options to be used together."),
        .args = ARGS(
            KEY("key", 0),
            ARG("value", "string"),
            ARG("condition", "oneof", .since = "2.6.12", .flags = OPT, .args = ARGS(
                ARG("nx", "pure-token", .token = "NX"),
                ARG("xx", "pure-token", .token = "XX"))),
            ARG("get", "pure-token", .token = "GET", .since = "6.2.0", .flags = OPT),
            ARG("expiration", "oneof", .flags = OPT, .args = ARGS(
                ARG("seconds", "integer", .token = "EX", .since = "2.6.12"),
                ARG("milliseconds", "integer", .token = "PX", .since = "2.6.12"),
                ARG("unix-time-seconds", "unix-time", .token = "EXAT", .since = "6.2.0"),
                ARG("unix-time-milliseconds", "unix-time", .token = "PXAT", .since = "6.2.0"),
                ARG("keepttl", "pure-token", .token = "KEEPTTL", .since = "6.0.0"))))),
    CMD("setnx", cmd_setnx, 3, W | M | F_FAST, 1, 1, 1,
        "Set the value of a key, only if the key does not exist", "1.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("value", "string"))),
    CMD("setex", cmd_setex, 4, W | M, 1, 1, 1,
        "Set the value and expiration of a key", "2.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("seconds", "integer"), ARG("value", "string"))),
    CMD("getset", cmd_getset, 3, W | M | F_FAST, 1, 1, 1,
        "Set the string value of a key and return its old value", "1.0.0", "string", "O(1)",
        .deprecated_since = "6.2.0",
        .replaced_by = "`SET` with the `!GET` argument",
        .args = ARGS(KEY("key", 0), ARG("value", "string"))),
    CMD("getdel", cmd_getdel, 2, W | F_FAST, 1, 1, 1,
        "Get the value of a key and delete the key", "6.2.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("mget", cmd_mget, -2, F_FAST, 1, -1, 1,
        "Get the values of all the given keys", "1.0.0", "string",
        "O(N) where N is the number of keys to retrieve.",
        .args = ARGS(KEY("key", 0, .flags = MULTI))),
    CMD("mset", cmd_mset, -3, W | M, 1, -1, 2,
        "Set multiple keys to multiple values", "1.0.1", "string",
        "O(N) where N is the number of keys to set.",
        .args = ARGS(
            ARG("key_value", "block", .flags = MULTI, .args = ARGS(KEY("key", 0),
                                                                   ARG("value", "string"))))),
    CMD("msetnx", cmd_msetnx, -3, W | M, 1, -1, 2,
        "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", "string",
        "O(N) where N is the number of keys to set.",
        .args = ARGS(
            ARG("key_value", "block", .flags = MULTI, .args = ARGS(KEY("key", 0),
                                                                   ARG("value", "string"))))),
    CMD("append", cmd_append, 3, W | M | F_FAST, 1, 1, 1,
        "Append a value to a key", "2.0.0", "string",
        "O(1). The amortized time complexity is O(1) assuming the appended value is small and "
        "the already present value is of any size, since the dynamic string library used by "
        "Redis will double the free space available on every reallocation.",
        .args = ARGS(KEY("key", 0), ARG("value", "string"))),
    CMD("strlen", cmd_strlen, 2, F_FAST, 1, 1, 1,
        "Get the length of the value stored in a key", "2.2.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("incr", cmd_incr, 2, W | M | F_FAST, 1, 1, 1,
        "Increment the integer value of a key by one", "1.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("decr", cmd_decr, 2, W | M | F_FAST, 1, 1, 1,
        "Decrement the integer value of a key by one", "1.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("incrby", cmd_incrby, 3, W | M | F_FAST, 1, 1, 1,
        "Increment the integer value of a key by the given amount", "1.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("increment", "integer"))),
    CMD("decrby", cmd_decrby, 3, W | M | F_FAST, 1, 1, 1,
        "Decrement the integer value of a key by the given number", "1.0.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("decrement", "integer"))),
    CMD("incrbyfloat", cmd_incrbyfloat, 3, W | M | F_FAST, 1, 1, 1,
        "Increment the float value of a key by the given amount", "2.6.0", "string", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("increment", "double"))),
    CMD("del", cmd_del, -2, W, 1, -1, 1,
        "Delete a key", "1.0.0", "generic",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds "
        "a value other than a string, the individual complexity for this key is O(M) where M "
        "is the number of elements in the list, set, sorted set or hash. Removing a single "
        "key that holds a string value is O(1).",
        .args = ARGS(KEY("key", 0, .flags = MULTI))),
    CMD("unlink", cmd_del, -2, W | F_FAST, 1, -1, 1,
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
        "blocking.", "4.0.0", "generic",
        "O(1) for each key removed regardless of its size. Then the command does O(N) work in "
        "a different thread in order to reclaim memory, where N is the number of allocations "
        "the deleted objects where composed of.",
        .args = ARGS(KEY("key", 0, .flags = MULTI))),
    CMD("exists", cmd_exists, -2, F_FAST, 1, -1, 1,
        "Determine if a key exists", "1.0.0", "generic",
        "O(N) where N is the number of keys to check.",
        .history = HIST("3.0.3", "Accepts multiple `key` arguments."),
        .args = ARGS(KEY("key", 0, .flags = MULTI))),
    CMD("type", cmd_type, 2, F_FAST, 1, 1, 1,
        "Determine the type stored at key", "1.0.0", "generic", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("rename", cmd_rename, 3, W, 1, 2, 1,
        "Rename a key", "1.0.0", "generic", "O(1)",
        .args = ARGS(KEY("key", 0), KEY("newkey", 1))),
    CMD("expire", cmd_expire, -3, W | F_FAST, 1, 1, 1,
        "Set a key's time to live in seconds", "1.0.0", "generic", "O(1)",
        .history = HIST("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
        .args = ARGS(
            KEY("key", 0),
            ARG("seconds", "integer"),
            ARG("condition", "oneof", .since = "7.0.0", .flags = OPT, .args = ARGS(
                ARG("nx", "pure-token", .token = "NX"),
                ARG("xx", "pure-token", .token = "XX"),
                ARG("gt", "pure-token", .token = "GT"),
                ARG("lt", "pure-token", .token = "LT"))))),
    CMD("pexpire", cmd_pexpire, -3, W | F_FAST, 1, 1, 1,
        "Set a key's time to live in milliseconds", "2.6.0", "generic", "O(1)",
        .history = HIST("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
        .args = ARGS(
            KEY("key", 0),
            ARG("milliseconds", "integer"),
            ARG("condition", "oneof", .since = "7.0.0", .flags = OPT, .args = ARGS(
                ARG("nx", "pure-token", .token = "NX"),
                ARG("xx", "pure-token", .token = "XX"),
                ARG("gt", "pure-token", .token = "GT"),
                ARG("lt", "pure-token", .token = "LT"))))),
    CMD("expireat", cmd_expireat, -3, W | F_FAST, 1, 1, 1,
        "Set the expiration for a key as a UNIX timestamp", "1.2.0", "generic", "O(1)",
        .history = HIST("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
        .args = ARGS(
            KEY("key", 0),
            ARG("unix-time-seconds", "unix-time"),
            ARG("condition", "oneof", .since = "7.0.0", .flags = OPT, .args = ARGS(
                ARG("nx", "pure-token", .token = "NX"),
                ARG("xx", "pure-token", .token = "XX"),
                ARG("gt", "pure-token", .token = "GT"),
                ARG("lt", "pure-token", .token = "LT"))))),
    CMD("pexpireat", cmd_pexpireat, -3, W | F_FAST, 1, 1, 1,
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", "generic",
        "O(1)",
        .history = HIST("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
        .args = ARGS(
            KEY("key", 0),
            ARG("unix-time-milliseconds", "unix-time"),
            ARG("condition", "oneof", .since = "7.0.0", .flags = OPT, .args = ARGS(
                ARG("nx", "pure-token", .token = "NX"),
                ARG("xx", "pure-token", .token = "XX"),
                ARG("gt", "pure-token", .token = "GT"),
                ARG("lt", "pure-token", .token = "LT"))))),
    CMD("ttl", cmd_ttl, 2, F_FAST, 1, 1, 1,
        "Get the time to live for a key in seconds", "1.0.0", "generic", "O(1)",
        .history = HIST("2.8.0", "Added the -2 reply."),
        .args = ARGS(KEY("key", 0))),
    CMD("pttl", cmd_pttl, 2, F_FAST, 1, 1, 1,
        "Get the time to live for a key in milliseconds", "2.6.0", "generic", "O(1)",
        .history = HIST("2.8.0", "Added the -2 reply."),
        .args = ARGS(KEY("key", 0))),
    CMD("persist", cmd_persist, 2, W | F_FAST, 1, 1, 1,
        "Remove the expiration from a key", "2.2.0", "generic", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("keys", cmd_keys, 2, 0, 0, 0, 0,
        "Find all keys matching the given pattern", "1.0.0", "generic",
        "O(N) with N being the number of keys in the database, under the assumption that the "
        "key names in the database and the given pattern have limited length.",
        .args = ARGS(ARG("pattern", "pattern"))),
    CMD("scan", cmd_scan, -2, 0, 0, 0, 0,
        "Incrementally iterate the keys space", "2.8.0", "generic",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls "
        "for the cursor to return back to 0. N is the number of elements inside the "
        "collection.",
        .history = HIST("6.0.0", "Added the `TYPE` subcommand."),
        .args = ARGS(ARG("cursor", "integer"),
                     ARG("pattern", "pattern", .token = "MATCH", .flags = OPT),
                     ARG("count", "integer", .token = "COUNT", .flags = OPT),
                     ARG("type", "string", .token = "TYPE", .since = "6.0.0", .flags = OPT))),
    CMD("hset", cmd_hset, -4, W | M | F_FAST, 1, 1, 1,
        "Set the string value of a hash field", "2.0.0", "hash",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the "
        "command is called with multiple field/value pairs.",
        .history = HIST("4.0.0", "Accepts multiple `field` and `value` arguments."),
        .args = ARGS(
            KEY("key", 0),
            ARG("field_value", "block", .flags = MULTI, .args = ARGS(ARG("field", "string"),
                                                                     ARG("value", "string"))))),
    CMD("hget", cmd_hget, 3, F_FAST, 1, 1, 1,
        "Get the value of a hash field", "2.0.0", "hash", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("field", "string"))),
    CMD("hdel", cmd_hdel, -3, W | F_FAST, 1, 1, 1,
        "Delete one or more hash fields", "2.0.0", "hash",
        "O(N) where N is the number of fields to be removed.",
        .history = HIST("2.4.0", "Accepts multiple `field` arguments."),
        .args = ARGS(KEY("key", 0), ARG("field", "string", .flags = MULTI))),
    CMD("hgetall", cmd_hgetall, 2, 0, 1, 1, 1,
        "Get all the fields and values in a hash", "2.0.0", "hash",
        "O(N) where N is the size of the hash.",
        .args = ARGS(KEY("key", 0))),
    CMD("hlen", cmd_hlen, 2, F_FAST, 1, 1, 1,
        "Get the number of fields in a hash", "2.0.0", "hash", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("hexists", cmd_hexists, 3, F_FAST, 1, 1, 1,
        "Determine if a hash field exists", "2.0.0", "hash", "O(1)",
        .args = ARGS(KEY("key", 0), ARG("field", "string"))),
    CMD("hincrby", cmd_hincrby, 4, W | M | F_FAST, 1, 1, 1,
        "Increment the integer value of a hash field by the given number", "2.0.0", "hash",
        "O(1)",
        .args = ARGS(KEY("key", 0), ARG("field", "string"), ARG("increment", "integer"))),
    CMD("hmget", cmd_hmget, -3, F_FAST, 1, 1, 1,
        "Get the values of all the given hash fields", "2.0.0", "hash",
        "O(N) where N is the number of fields being requested.",
        .args = ARGS(KEY("key", 0), ARG("field", "string", .flags = MULTI))),
    CMD("lpush", cmd_lpush, -3, W | M | F_FAST, 1, 1, 1,
        "Prepend one or multiple elements to a list", "1.0.0", "list",
        "O(1) for each element added, so O(N) to add N elements when the command is called "
        "with multiple arguments.",
        .history = HIST("2.4.0", "Accepts multiple `element` arguments."),
        .args = ARGS(KEY("key", 0), ARG("element", "string", .flags = MULTI))),
    CMD("rpush", cmd_rpush, -3, W | M | F_FAST, 1, 1, 1,
        "Append one or multiple elements to a list", "1.0.0", "list",
        "O(1) for each element added, so O(N) to add N elements when the command is called "
        "with multiple arguments.",
        .history = HIST("2.4.0", "Accepts multiple `element` arguments."),
        .args = ARGS(KEY("key", 0), ARG("element", "string", .flags = MULTI))),
    CMD("lpop", cmd_lpop, -2, W | F_FAST, 1, 1, 1,
        "Remove and get the first elements in a list", "1.0.0", "list",
        "O(N) where N is the number of elements returned",
        .history = HIST("6.2.0", "Added the `count` argument."),
        .args = ARGS(KEY("key", 0), ARG("count", "integer", .since = "6.2.0", .flags = OPT))),
    CMD("rpop", cmd_rpop, -2, W | F_FAST, 1, 1, 1,
        "Remove and get the last elements in a list", "1.0.0", "list",
        "O(N) where N is the number of elements returned",
        .history = HIST("6.2.0", "Added the `count` argument."),
        .args = ARGS(KEY("key", 0), ARG("count", "integer", .since = "6.2.0", .flags = OPT))),
    CMD("llen", cmd_llen, 2, F_FAST, 1, 1, 1,
        "Get the length of a list", "1.0.0", "list", "O(1)",
        .args = ARGS(KEY("key", 0))),
    CMD("lrange", cmd_lrange, 4, 0, 1, 1, 1,
        "Get a range of elements from a list", "1.0.0", "list",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from "
        "nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the "
        "specified range.",
        .args = ARGS(KEY("key", 0), ARG("start", "integer"), ARG("stop", "integer"))),
    CMD("ping", cmd_ping, -1, F_FAST, 0, 0, 0,
        "Ping the server", "1.0.0", "connection", "O(1)",
        .args = ARGS(ARG("message", "string", .flags = OPT))),
    CMD("echo", cmd_echo, 2, F_FAST, 0, 0, 0,
        "Echo the given string", "1.0.0", "connection", "O(1)",
        .args = ARGS(ARG("message", "string"))),
    CMD("quit", cmd_quit, -1, F_NOAUTH | F_LOADING | F_FAST, 0, 0, 0,
        "Close the connection", "1.0.0", "connection", "O(1)"),
    CMD("select", cmd_select, 2, F_LOADING | F_FAST, 0, 0, 0,
        "Change the selected database for the current connection", "1.0.0", "connection",
        "O(1)",
        .args = ARGS(ARG("index", "integer"))),
    CMD("hello", cmd_hello, -1, F_NOAUTH | F_LOADING | F_FAST, 0, 0, 0,
        "Handshake with Redis", "6.0.0", "connection", "O(1)",
        .history = HIST("6.2.0", "`protover` made optional; when called without arguments the "
                                 "command reports the current connection's context."),
        .args = ARGS(
            ARG("arguments", "block", .flags = OPT, .args = ARGS(
                ARG("protover", "integer"),
                ARG("username_password", "block", .token = "AUTH", .flags = OPT, .args = ARGS(
                    ARG("username", "string"),
                    ARG("password", "string"))),
                ARG("clientname", "string", .token = "SETNAME", .flags = OPT))))),
    CMD("command", cmd_command, -1, F_LOADING, 0, 0, 0,
        "Get array of Redis command details", "2.8.13", "server",
        "O(N) where N is the total number of Redis commands",
        .subs = SUBS(SUB("command|count",
                         "Get total number of Redis commands", "2.8.13", "server", "O(1)"),
                     SUB("command|docs",
                         "Get array of specific Redis command documentation", "7.0.0", "server",
                         "O(N) where N is the number of commands to look up",
                         .args = ARGS(ARG("command-name", "string", .flags = OPT | MULTI))),
                     SUB("command|info",
                         "Get array of specific Redis command details, or all when no "
                         "argument is given.", "2.8.13", "server",
                         "O(N) where N is the number of commands to look up",
                         .history = HIST("7.0.0", "Allowed to be called with no argument to "
                                                  "get info on all commands."),
                         .args = ARGS(ARG("command-name", "string", .flags = OPT | MULTI))))),
    CMD("info", cmd_info, -1, F_LOADING, 0, 0, 0,
        "Get information and statistics about the server", "1.0.0", "server", "O(1)",
        .history = HIST("7.0.0", "Added support for taking multiple section arguments."),
        .args = ARGS(ARG("section", "string", .flags = OPT | MULTI))),
    CMD("client", cmd_client, -2, F_LOADING, 0, 0, 0,
        "A container for client connection commands", "2.4.0", "connection",
        "Depends on subcommand.",
        .subs = SUBS(SUB("client|id",
                         "Returns the client ID for the current connection", "5.0.0", "connection",
                         "O(1)"),
                     SUB("client|getname",
                         "Get the current connection name", "2.6.9", "connection", "O(1)"),
                     SUB("client|setname",
                         "Set the current connection name", "2.6.9", "connection", "O(1)",
                         .args = ARGS(ARG("connection-name", "string"))))),
    CMD("dbsize", cmd_dbsize, 1, F_FAST, 0, 0, 0,
        "Return the number of keys in the selected database", "1.0.0", "server", "O(1)"),
    CMD("flushdb", cmd_flushdb, -1, W, 0, 0, 0,
        "Remove all keys from the current database", "1.0.0", "server",
        "O(N) where N is the number of keys in the selected database",
        .history = HIST("4.0.0", "Added the `ASYNC` flushing mode modifier.",
                        "6.2.0", "Added the `SYNC` flushing mode modifier."),
        .args = ARGS(
            ARG("async", "oneof", .flags = OPT, .args = ARGS(
                ARG("async", "pure-token", .token = "ASYNC", .since = "4.0.0"),
                ARG("sync", "pure-token", .token = "SYNC", .since = "6.2.0"))))),
    CMD("flushall", cmd_flushdb, -1, W, 0, 0, 0,
        "Remove all keys from all databases", "1.0.0", "server",
        "O(N) where N is the total number of keys in all databases",
        .history = HIST("4.0.0", "Added the `ASYNC` flushing mode modifier.",
                        "6.2.0", "Added the `SYNC` flushing mode modifier."),
        .args = ARGS(
            ARG("async", "oneof", .flags = OPT, .args = ARGS(
                ARG("async", "pure-token", .token = "ASYNC", .since = "4.0.0"),
                ARG("sync", "pure-token", .token = "SYNC", .since = "6.2.0"))))),
    CMD("auth", cmd_auth, -2, F_NOAUTH | F_LOADING | F_FAST, 0, 0, 0,
        "Authenticate to the server", "1.0.0", "connection",
        "O(N) where N is the number of passwords defined for the user",
        .history = HIST("6.0.0", "Added ACL style (username and password)."),
        .args = ARGS(ARG("username", "string", .since = "6.0.0", .flags = OPT),
                     ARG("password", "string"))),
    CMD("config", cmd_config, -2, F_LOADING, 0, 0, 0,
        "A container for server configuration commands", "2.0.0", "server",
        "Depends on subcommand.",
        .subs = SUBS(SUB("config|get",
                         "Get the values of configuration parameters", "2.0.0", "server",
                         "O(N) when N is the number of configuration parameters provided",
                         .history = HIST("7.0.0", "Added the ability to pass multiple pattern "
                                                  "parameters in one call"),
                         .args = ARGS(
                             ARG("parameter", "block", .flags = MULTI, .args = ARGS(
                                 ARG("parameter", "string"))))))),
    CMD("bgrewriteaof", cmd_bgrewriteaof, 1, 0, 0, 0, 0,
        "Asynchronously rewrite the append-only file", "1.0.0", "server", "O(1)"),
};

_Static_assert(sizeof kv_cmd_table / sizeof kv_cmd_table[0] == KV_NCOMMANDS,
               "KV_NCOMMANDS (kv.h) is the number of rows");
