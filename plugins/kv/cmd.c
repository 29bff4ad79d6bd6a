/*
 * cmd.c — the command table and dispatch (kv_exec): lookup, arity, AUTH,
 * -LOADING, max_memory, then the command; what it changed goes to the
 * AOF. The order of the checks is redis 7.0's processCommand().
 */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "aof.h"
#include "cmd.h"

enum {
    F_WRITE = 1,          /* changes data: logged to the AOF */
    F_DENYOOM = 2,        /* refused over max_memory */
    F_NOAUTH = 4,         /* allowed before AUTH */
    F_LOADING = 8,        /* allowed while loading */
    F_FAST = 16,
};

struct kv_command {
    const char *name;
    void (*fn)(kv_ctx *c);
    int arity;            /* > 0 exact, < 0 at least -arity */
    unsigned flags;
    int first, last, step;
    size_t nlen;          /* strlen(name), set by kv_commands_init */
};

#define W F_WRITE
#define M F_DENYOOM
static struct kv_command table[] = {
    { "get", cmd_get, 2, F_FAST, 1, 1, 1, 0 },
    { "set", cmd_set, -3, W | M, 1, 1, 1, 0 },
    { "setnx", cmd_setnx, 3, W | M | F_FAST, 1, 1, 1, 0 },
    { "setex", cmd_setex, 4, W | M, 1, 1, 1, 0 },
    { "getset", cmd_getset, 3, W | M | F_FAST, 1, 1, 1, 0 },
    { "getdel", cmd_getdel, 2, W | F_FAST, 1, 1, 1, 0 },
    { "mget", cmd_mget, -2, F_FAST, 1, -1, 1, 0 },
    { "mset", cmd_mset, -3, W | M, 1, -1, 2, 0 },
    { "msetnx", cmd_msetnx, -3, W | M, 1, -1, 2, 0 },
    { "append", cmd_append, 3, W | M | F_FAST, 1, 1, 1, 0 },
    { "strlen", cmd_strlen, 2, F_FAST, 1, 1, 1, 0 },
    { "incr", cmd_incr, 2, W | M | F_FAST, 1, 1, 1, 0 },
    { "decr", cmd_decr, 2, W | M | F_FAST, 1, 1, 1, 0 },
    { "incrby", cmd_incrby, 3, W | M | F_FAST, 1, 1, 1, 0 },
    { "decrby", cmd_decrby, 3, W | M | F_FAST, 1, 1, 1, 0 },
    { "incrbyfloat", cmd_incrbyfloat, 3, W | M | F_FAST, 1, 1, 1, 0 },
    { "del", cmd_del, -2, W, 1, -1, 1, 0 },
    { "unlink", cmd_del, -2, W | F_FAST, 1, -1, 1, 0 },
    { "exists", cmd_exists, -2, F_FAST, 1, -1, 1, 0 },
    { "type", cmd_type, 2, F_FAST, 1, 1, 1, 0 },
    { "rename", cmd_rename, 3, W, 1, 2, 1, 0 },
    { "expire", cmd_expire, -3, W | F_FAST, 1, 1, 1, 0 },
    { "pexpire", cmd_pexpire, -3, W | F_FAST, 1, 1, 1, 0 },
    { "expireat", cmd_expireat, -3, W | F_FAST, 1, 1, 1, 0 },
    { "pexpireat", cmd_pexpireat, -3, W | F_FAST, 1, 1, 1, 0 },
    { "ttl", cmd_ttl, 2, F_FAST, 1, 1, 1, 0 },
    { "pttl", cmd_pttl, 2, F_FAST, 1, 1, 1, 0 },
    { "persist", cmd_persist, 2, W | F_FAST, 1, 1, 1, 0 },
    { "keys", cmd_keys, 2, 0, 0, 0, 0, 0 },
    { "scan", cmd_scan, -2, 0, 0, 0, 0, 0 },
    { "hset", cmd_hset, -4, W | M | F_FAST, 1, 1, 1, 0 },
    { "hget", cmd_hget, 3, F_FAST, 1, 1, 1, 0 },
    { "hdel", cmd_hdel, -3, W | F_FAST, 1, 1, 1, 0 },
    { "hgetall", cmd_hgetall, 2, 0, 1, 1, 1, 0 },
    { "hlen", cmd_hlen, 2, F_FAST, 1, 1, 1, 0 },
    { "hexists", cmd_hexists, 3, F_FAST, 1, 1, 1, 0 },
    { "hincrby", cmd_hincrby, 4, W | M | F_FAST, 1, 1, 1, 0 },
    { "hmget", cmd_hmget, -3, F_FAST, 1, 1, 1, 0 },
    { "lpush", cmd_lpush, -3, W | M | F_FAST, 1, 1, 1, 0 },
    { "rpush", cmd_rpush, -3, W | M | F_FAST, 1, 1, 1, 0 },
    { "lpop", cmd_lpop, -2, W | F_FAST, 1, 1, 1, 0 },
    { "rpop", cmd_rpop, -2, W | F_FAST, 1, 1, 1, 0 },
    { "llen", cmd_llen, 2, F_FAST, 1, 1, 1, 0 },
    { "lrange", cmd_lrange, 4, 0, 1, 1, 1, 0 },
    { "ping", cmd_ping, -1, F_FAST, 0, 0, 0, 0 },
    { "echo", cmd_echo, 2, F_FAST, 0, 0, 0, 0 },
    { "quit", cmd_quit, -1, F_NOAUTH | F_LOADING | F_FAST, 0, 0, 0, 0 },
    { "select", cmd_select, 2, F_LOADING | F_FAST, 0, 0, 0, 0 },
    { "hello", cmd_hello, -1, F_NOAUTH | F_LOADING | F_FAST, 0, 0, 0, 0 },
    { "command", cmd_command, -1, F_LOADING, 0, 0, 0, 0 },
    { "info", cmd_info, -1, F_LOADING, 0, 0, 0, 0 },
    { "client", cmd_client, -2, F_LOADING, 0, 0, 0, 0 },
    { "dbsize", cmd_dbsize, 1, F_FAST, 0, 0, 0, 0 },
    { "flushdb", cmd_flushdb, -1, W, 0, 0, 0, 0 },
    { "flushall", cmd_flushdb, -1, W, 0, 0, 0, 0 },
    { "auth", cmd_auth, -2, F_NOAUTH | F_LOADING | F_FAST, 0, 0, 0, 0 },
    { "config", cmd_config, -2, F_LOADING, 0, 0, 0, 0 },
    { "bgrewriteaof", cmd_bgrewriteaof, 1, 0, 0, 0, 0, 0 },
};
#undef W
#undef M
#define NCMD (sizeof table / sizeof table[0])
_Static_assert(NCMD == KV_NCOMMANDS, "KV_NCOMMANDS (kv.h) is the number of rows");

/* open addressing over lowercase names: 128 slots, no allocation */
static struct kv_command *slots[128];

static unsigned name_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)(s[i] | 0x20)) * 16777619u;
    return h;
}

void kv_commands_init(void)
{
    /* idempotent: a second instance finds its slots taken by itself */
    for (size_t i = 0; i < NCMD; i++) {
        table[i].nlen = strlen(table[i].name);
        unsigned h = name_hash(table[i].name, table[i].nlen) & 127;
        while (slots[h] && slots[h] != &table[i])
            h = (h + 1) & 127;
        slots[h] = &table[i];
    }
}

static struct kv_command *lookup(const char *s, size_t n)
{
    if (n > 16)
        return NULL;
    for (unsigned h = name_hash(s, n) & 127; slots[h]; h = (h + 1) & 127)
        if (slots[h]->nlen == n && strncasecmp(slots[h]->name, s, n) == 0)
            return slots[h];
    return NULL;
}

const char *kv_command_name(size_t i) { return table[i].name; }

static void unknown(kv_ctx *c)
{
    char args[256];
    size_t n = 0;
    args[0] = 0;
    for (int i = 1; i < c->argc && n < 128; i++) {
        int w = snprintf(args + n, sizeof args - n, "'%.*s' ",
                         (int)(c->len[i] < 128 - n ? c->len[i] : 128 - n), c->argv[i]);
        if (w < 0 || (size_t)w >= sizeof args - n)
            break;
        n += (size_t)w;
    }
    rp_errorf(c->out, "ERR unknown command '%.*s', with args beginning with: %s",
              (int)(c->len[0] < 128 ? c->len[0] : 128), c->argv[0], args);
}

void kv_exec(kv_ctx *c)
{
    struct kv_command *cmd = lookup(c->argv[0], c->len[0]);
    kv *k = c->kv;

    if (!cmd) {
        unknown(c);
        return;
    }
    if ((cmd->arity > 0 && c->argc != cmd->arity) || c->argc < -cmd->arity) {
        rp_errorf(c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    if (c->cl && k->require_pass && !c->cl->authed && !(cmd->flags & F_NOAUTH)) {
        rp_error(c->out, "NOAUTH Authentication required.");
        return;
    }
    if (c->cl && k->loading && !(cmd->flags & F_LOADING)) {
        k->st.rejected_loading++;
        rp_error(c->out, "LOADING Redis is loading the dataset in memory");
        return;
    }
    if (c->cl && k->max_memory && (cmd->flags & F_DENYOOM) && c->db->mem.used > k->max_memory) {
        if (k->eviction)
            db_evict(c->db, (size_t)k->max_memory);
        if (c->db->mem.used > k->max_memory) {
            k->st.rejected_oom++;
            rp_error(c->out, "OOM command not allowed when used memory > 'maxmemory'.");
            return;
        }
    }
    c->dirty = 0;
    c->logged = false;
    bool rw = (cmd->flags & F_WRITE) && k->aof && aof_rewriting(k->aof);
    if (rw)
        aof_rewrite_before(k->aof, c, cmd->first, cmd->last, cmd->step);
    cmd->fn(c);
    if (rw)
        aof_rewrite_after(k->aof, c, cmd->first, cmd->last, cmd->step);
    k->st.calls[cmd - table]++;
    k->st.commands++;
    if (c->dirty && !c->logged && (cmd->flags & F_WRITE))
        kv_aof_log(k, c->argc, c->argv, c->len);
}

/* ---- COMMAND ---- */

static void command_info(kv_out *o, const struct kv_command *cmd)
{
    rp_array(o, 10);
    rp_cstr(o, cmd->name);
    rp_int(o, cmd->arity);
    int nf = !!(cmd->flags & F_WRITE) + !(cmd->flags & F_WRITE) + !!(cmd->flags & F_DENYOOM) +
             !!(cmd->flags & F_FAST) + !!(cmd->flags & F_LOADING) + !!(cmd->flags & F_NOAUTH);
    rp_array(o, nf);
    rp_status(o, cmd->flags & F_WRITE ? "write" : "readonly");
    if (cmd->flags & F_DENYOOM) rp_status(o, "denyoom");
    if (cmd->flags & F_FAST) rp_status(o, "fast");
    if (cmd->flags & F_LOADING) rp_status(o, "loading");
    if (cmd->flags & F_NOAUTH) rp_status(o, "no_auth");
    rp_int(o, cmd->first);
    rp_int(o, cmd->last);
    rp_int(o, cmd->step);
    for (int i = 0; i < 4; i++)
        rp_array(o, 0);              /* acl categories, tips, key specs, subcommands */
}

void cmd_command(kv_ctx *c)
{
    if (c->argc == 1) {
        rp_array(c->out, (long long)NCMD);
        for (size_t i = 0; i < NCMD; i++)
            command_info(c->out, &table[i]);
    } else if (arg_is(c, 1, "count") && c->argc == 2) {
        rp_int(c->out, (long long)NCMD);
    } else if (arg_is(c, 1, "docs")) {
        rp_array(c->out, 0);             /* no docs: redis-cli shows no hints */
    } else if (arg_is(c, 1, "info")) {
        rp_array(c->out, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            struct kv_command *cmd = lookup(c->argv[i], c->len[i]);
            if (cmd)
                command_info(c->out, cmd);
            else
                rp_null(c->out);
        }
    } else {
        rp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.", (int)(c->len[1] < 128 ? c->len[1] : 128), c->argv[1]);
    }
}
