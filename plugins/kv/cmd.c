/*
 * cmd.c — dispatch (kv_exec): lookup in the command table (cmd_table.c),
 * arity, AUTH, -LOADING, max_memory, then the command; what it changed
 * goes to the AOF. The order of the checks is redis 7.0's processCommand().
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "aof.h"
#include "cmd.h"

/* open addressing over lowercase names: 256 slots for 58 commands (one
 * probe nearly always), no allocation */
#define SLOTS 256
static const struct kv_command *slots[SLOTS];

static unsigned name_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)(s[i] | 0x20)) * 16777619u;
    return h;
}

void kv_commands_init(void)
{
    /* name_eq's rule: the table's names are lowercase letters */
    for (size_t i = 0; i < KV_NCOMMANDS; i++)
        for (size_t j = 0; j < kv_cmd_table[i].nlen; j++)
            assert(kv_cmd_table[i].name[j] >= 'a' && kv_cmd_table[i].name[j] <= 'z');
    /* idempotent: a second instance finds its slots taken by itself */
    for (size_t i = 0; i < KV_NCOMMANDS; i++) {
        const struct kv_command *cmd = &kv_cmd_table[i];
        unsigned h = name_hash(cmd->name, cmd->nlen) & (SLOTS - 1);
        while (slots[h] && slots[h] != cmd)
            h = (h + 1) & (SLOTS - 1);
        slots[h] = cmd;
    }
}

/* Names are lowercase letters only: c | 0x20 equals a name's letter
 * exactly when c is that letter in either case (no locale, no call: the
 * libc strncasecmp was 1.6% of a -P 16 PING). */
static bool name_eq(const char *name, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((char)(s[i] | 0x20) != name[i])
            return false;
    return true;
}

const struct kv_command *kv_command_lookup(const char *s, size_t n)
{
    if (n > 16)
        return NULL;
    for (unsigned h = name_hash(s, n) & (SLOTS - 1); slots[h]; h = (h + 1) & (SLOTS - 1))
        if (slots[h]->nlen == n && name_eq(slots[h]->name, s, n))
            return slots[h];
    return NULL;
}

const char *kv_command_name(size_t i) { return kv_cmd_table[i].name; }

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
    const struct kv_command *cmd = kv_command_lookup(c->argv[0], c->len[0]);
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
    k->st.calls[cmd - kv_cmd_table]++;
    k->st.commands++;
    if (c->dirty && !c->logged && (cmd->flags & F_WRITE))
        kv_aof_log(k, c->argc, c->argv, c->len);
}
