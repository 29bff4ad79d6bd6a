/*
 * cmd_server.c — connection and server commands: PING, ECHO, QUIT,
 * SELECT, HELLO, COMMAND, INFO, CLIENT, DBSIZE, FLUSHDB/FLUSHALL, AUTH,
 * CONFIG GET (what redis-benchmark asks for).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "aof.h"
#include "cmd.h"

void cmd_ping(kv_ctx *c)
{
    if (c->argc > 2)
        rp_error(c->out, "ERR wrong number of arguments for 'ping' command");
    else if (c->argc == 2)
        rp_bulk(c->out, c->argv[1], c->len[1]);
    else
        rp_raw(c->out, "+PONG\r\n", 7);
}

void cmd_echo(kv_ctx *c) { rp_bulk(c->out, c->argv[1], c->len[1]); }

void cmd_quit(kv_ctx *c)
{
    rp_ok(c->out);
    if (c->cl)
        c->cl->close_after = true;
}

void cmd_select(kv_ctx *c)
{
    long long v;
    if (!arg_ll(c, 1, &v))
        return;
    if (v != 0)
        rp_error(c->out, "ERR DB index is out of range");
    else
        rp_ok(c->out);
}

static bool check_pass(kv_ctx *c, int ui, int pi)
{
    const char *pass = c->kv->require_pass;
    if (ui >= 0 && !arg_is(c, ui, "default"))
        return false;
    if (!pass)
        return true;
    return c->len[pi] == strlen(pass) && memcmp(c->argv[pi], pass, c->len[pi]) == 0;
}

void cmd_auth(kv_ctx *c)
{
    if (c->argc > 3) {
        rp_error(c->out, "ERR syntax error");
        return;
    }
    if (c->argc == 2 && !c->kv->require_pass) {
        rp_error(c->out, "ERR AUTH <password> called without any password configured for "
                         "the default user. Are you sure your configuration is correct?");
        return;
    }
    if (!check_pass(c, c->argc == 3 ? 1 : -1, c->argc - 1)) {
        rp_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    if (c->cl)
        c->cl->authed = true;
    rp_ok(c->out);
}

void cmd_hello(kv_ctx *c)
{
    long long ver = 2;
    if (c->argc >= 2) {
        if (!resp_str2ll(c->argv[1], c->len[1], &ver)) {
            rp_error(c->out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver != 2) {
            rp_error(c->out, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "auth") && i + 2 < c->argc) {
            if (!check_pass(c, i + 1, i + 2)) {
                rp_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            if (c->cl)
                c->cl->authed = true;
            i += 2;
        } else if (arg_is(c, i, "setname") && i + 1 < c->argc) {
            i++;
        } else {
            rp_errorf(c->out, "ERR Syntax error in HELLO option '%.*s'", (int)c->len[i],
                      c->argv[i]);
            return;
        }
    }
    if (c->kv->require_pass && c->cl && !c->cl->authed) {
        rp_error(c->out, "NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                         "authenticate the client and select the RESP protocol version at the "
                         "same time");
        return;
    }
    rp_array(c->out, 14);
    rp_cstr(c->out, "server");
    rp_cstr(c->out, "redis");
    rp_cstr(c->out, "version");
    rp_cstr(c->out, KV_VERSION);
    rp_cstr(c->out, "proto");
    rp_int(c->out, 2);
    rp_cstr(c->out, "id");
    rp_int(c->out, c->cl ? (long long)c->cl->id : 0);
    rp_cstr(c->out, "mode");
    rp_cstr(c->out, "standalone");
    rp_cstr(c->out, "role");
    rp_cstr(c->out, "master");
    rp_cstr(c->out, "modules");
    rp_array(c->out, 0);
}

void cmd_client(kv_ctx *c)
{
    if (arg_is(c, 1, "id") && c->argc == 2) {
        rp_int(c->out, c->cl ? (long long)c->cl->id : 0);
    } else if (arg_is(c, 1, "getname") && c->argc == 2) {
        if (c->cl && c->cl->name)
            rp_cstr(c->out, c->cl->name);
        else
            rp_null(c->out);
    } else if (arg_is(c, 1, "setname") && c->argc == 3) {
        for (size_t i = 0; i < c->len[2]; i++)
            if (c->argv[2][i] < '!' || c->argv[2][i] > '~') {
                rp_error(c->out, "ERR Client names cannot contain spaces, newlines or "
                                 "special characters.");
                return;
            }
        if (c->cl) {
            free(c->cl->name);
            c->cl->name = NULL;
            if (c->len[2] && (c->cl->name = malloc(c->len[2] + 1))) {
                memcpy(c->cl->name, c->argv[2], c->len[2]);
                c->cl->name[c->len[2]] = 0;
            }
        }
        rp_ok(c->out);
    } else if (arg_is(c, 1, "id") || arg_is(c, 1, "getname") || arg_is(c, 1, "setname")) {
        rp_errorf(c->out, "ERR wrong number of arguments for 'client|%.*s' command",
                  (int)c->len[1], c->argv[1]);
    } else {
        rp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.", (int)(c->len[1] < 128 ? c->len[1] : 128), c->argv[1]);
    }
}

void cmd_dbsize(kv_ctx *c) { rp_int(c->out, (long long)c->db->d.count); }

void cmd_flushdb(kv_ctx *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "sync") && !arg_is(c, 1, "async"))) {
        rp_error(c->out, "ERR syntax error");
        return;
    }
    db_flush(c->db);
    c->dirty++;
    rp_ok(c->out);
}

void cmd_config(kv_ctx *c)
{
    if (!arg_is(c, 1, "get")) {
        rp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.", (int)(c->len[1] < 128 ? c->len[1] : 128), c->argv[1]);
        return;
    }
    /* what clients probe (redis-benchmark: save, appendonly) */
    static const char *const known[] = { "save", "appendonly", "maxmemory", "databases", NULL };
    char vals[4][32];
    snprintf(vals[0], 32, "%s", "");
    snprintf(vals[1], 32, "%s", c->kv->aof_path ? "yes" : "no");
    snprintf(vals[2], 32, "%llu", (unsigned long long)c->kv->max_memory);
    snprintf(vals[3], 32, "1");
    int hits[4], n = 0;
    for (int k = 0; known[k]; k++)
        for (int i = 2; i < c->argc; i++)
            if (kv_glob(c->argv[i], c->len[i], known[k], strlen(known[k]), true)) {
                hits[n++] = k;
                break;
            }
    rp_array(c->out, n * 2);
    for (int i = 0; i < n; i++) {
        rp_cstr(c->out, known[hits[i]]);
        rp_cstr(c->out, vals[hits[i]]);
    }
}

/* ---- INFO ---- */

static bool want(kv_ctx *c, const char *sec, bool deflt)
{
    if (c->argc == 1)
        return deflt;
    for (int i = 1; i < c->argc; i++)
        if (arg_is(c, i, sec) || arg_is(c, i, "all") || arg_is(c, i, "everything") ||
            (deflt && arg_is(c, i, "default")))
            return true;
    return false;
}

void cmd_info(kv_ctx *c)
{
    kv *k = c->kv;
    char *b = malloc(16384);
    size_t n = 0, cap = 16384;
    if (!b) {
        rp_error(c->out, "OOM out of memory");
        return;
    }
#define P(...) do { int w_ = snprintf(b + n, cap - n, __VA_ARGS__); \
                    if (w_ > 0 && (size_t)w_ < cap - n) n += (size_t)w_; } while (0)
    int64_t now = c->db->now_ms;
    if (want(c, "server", true)) {
        P("# Server\r\nredis_version:%s\r\nredis_mode:standalone\r\nserver_name:tickd-kv\r\n"
          "os:Linux\r\nprocess_id:%d\r\ntcp_port:%s\r\nuptime_in_seconds:%lld\r\n"
          "executable:tickd\r\n\r\n", KV_VERSION, (int)getpid(),
          k->srv && tick_server_address(k->srv, 0) ? strrchr(tick_server_address(k->srv, 0), ':') + 1 : "0",
          (long long)(now - (int64_t)k->start_ms) / 1000);
    }
    if (want(c, "clients", true)) {
        tick_server_stats ss = { 0 };
        if (k->srv)
            tick_server_get_stats(k->srv, &ss);
        P("# Clients\r\nconnected_clients:%llu\r\nmaxclients:%u\r\n\r\n",
          (unsigned long long)ss.active, k->max_conns);
    }
    if (want(c, "memory", true)) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        P("# Memory\r\nused_memory:%zu\r\nused_memory_rss:%lld\r\nmaxmemory:%llu\r\n"
          "maxmemory_policy:%s\r\n\r\n", c->db->mem.used, (long long)ru.ru_maxrss * 1024,
          (unsigned long long)k->max_memory, k->eviction ? "allkeys-lru" : "noeviction");
    }
    if (want(c, "persistence", true)) {
        P("# Persistence\r\nloading:%d\r\naof_enabled:%d\r\naof_current_size:%llu\r\n"
          "aof_base_size:%llu\r\naof_rewrite_in_progress:%d\r\naof_fsyncs:%llu\r\n"
          "aof_dir_fsyncs:%llu\r\naof_writes:%llu\r\n\r\n",
          k->loading, k->aof != NULL, (unsigned long long)aof_size(k->aof),
          (unsigned long long)aof_base_size(k->aof), aof_rewriting(k->aof),
          (unsigned long long)k->st.fsyncs, (unsigned long long)k->st.dir_fsyncs,
          (unsigned long long)aof_writes(k->aof));
    }
    if (want(c, "stats", true)) {
        P("# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
          "expired_keys:%llu\r\nevicted_keys:%llu\r\nkeyspace_hits:%llu\r\n"
          "keyspace_misses:%llu\r\n\r\n", (unsigned long long)k->st.connections,
          (unsigned long long)k->st.commands, (unsigned long long)c->db->expired,
          (unsigned long long)c->db->evicted, (unsigned long long)c->db->hits,
          (unsigned long long)c->db->misses);
    }
    if (want(c, "keyspace", true)) {
        P("# Keyspace\r\n");
        if (c->db->d.count)
            P("db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", c->db->d.count, c->db->volatile_keys);
    }
#undef P
    while (n >= 2 && b[n - 1] == '\n' && b[n - 2] == '\r' && n >= 4 && b[n - 3] == '\n')
        n -= 2;                          /* no blank line at the end */
    rp_bulk(c->out, b, n);
    free(b);
}

void cmd_bgrewriteaof(kv_ctx *c)
{
    if (!c->kv->aof) {
        rp_error(c->out, "ERR no append-only file configured (kv: aof =)");
        return;
    }
    if (aof_rewriting(c->kv->aof)) {
        rp_error(c->out, "ERR Background append only file rewriting already in progress");
        return;
    }
    if (aof_rewrite_start(c->kv->aof) < 0) {
        rp_error(c->out, "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
        return;
    }
    rp_status(c->out, "Background append only file rewriting started");
}
