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

#pragma GCC visibility pop

#endif
