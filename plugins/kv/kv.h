/*
 * kv.h — what the kv plugin's files share: the instance, a client, the
 * reply writer and the command context.
 */
#ifndef KV_KV_H
#define KV_KV_H

#include <tick/tick.h>

#include "db.h"
#include "resp.h"

#pragma GCC visibility push(hidden)

#define KV_VERSION "7.0.15"          /* what HELLO and INFO claim: redis's API */

struct kv_aof;

/* Replies are built in one loop-wide buffer (the plugin is loop-thread-
 * only; a batch's replies go to one connection and are handed to the
 * corked stream when it fills and at the end of the batch). A large bulk
 * value is written straight from the keyspace. sink NULL: discard
 * (loading the AOF). */
typedef struct kv_out {
    char *buf;
    size_t len, cap;
    tick_stream *sink;
    int err;                         /* the stream's write error */
    bool corked;                     /* the sink was corked this batch */
} kv_out;

typedef struct kv_client {
    tick_conn conn;                  /* first: the server's part */
    struct kv *kv;
    resp_cmd cmd;
    uint64_t id;
    char *name;                      /* CLIENT SETNAME, malloc'd */
    bool authed;
    bool close_after;                /* QUIT, a protocol error */
    bool inited;
    size_t need;                     /* bytes the next read must buffer */
    bool need_line;                  /* the next read: up to a newline */
    bool corked;                     /* this batch corked the stream */
    tick_link commit_link;           /* in kv.committing: replies wait */
} kv_client;

#define KV_NCOMMANDS 58                 /* rows of the command table (cmd_table.c) */

/* The instance's own counters (nothing is counted module-wide: two
 * instances in one daemon report their own). */
struct kv_stats {
    uint64_t commands, connections, rejected_oom, rejected_loading;
    uint64_t fsyncs, fsync_ns;
    uint64_t dir_fsyncs;             /* of the AOF's directory (rename, create) */
    uint64_t replayed;               /* commands loaded from the AOF */
    uint64_t calls[KV_NCOMMANDS];    /* by command (the table's order) */
};

typedef struct kv {
    /* keys (tick/config.h fills them) */
    const char *listen;
    unsigned max_conns;
    uint64_t max_bulk, max_multibulk;
    uint64_t idle_timeout;
    const char *require_pass;
    uint64_t max_memory;
    int eviction;                    /* 0 noeviction, 1 allkeys-lru */
    const char *aof_path;
    int aof_fsync;                   /* 0 always, 1 everysec, 2 no */
    unsigned aof_rewrite_growth;     /* percent */
    uint64_t aof_rewrite_min;
    /* state */
    tick_instance *in;
    tick_server *srv;
    kv_db db;
    uint64_t next_id;
    uint64_t start_ms;
    bool loading;
    struct kv_stats st;
    tick_timer cron;
    struct kv_aof *aof;
    char aof_full[4096];             /* the resolved path */
    tick_metric *fsync_hist;
    /* everysec/no: one write() of the tick's AOF records at the end of
     * the tick, then the replies of the clients that waited for it */
    tick_handle commit;
    tick_link committing;            /* kv_client.commit_link */
    unsigned cron_ticks;
} kv;

typedef struct kv_ctx {
    kv *kv;
    kv_db *db;
    kv_client *cl;                   /* NULL: replaying the AOF */
    kv_out *out;
    int argc;
    const char **argv;
    size_t *len;
    int dirty;                       /* changes made: logged to the AOF */
    bool logged;                     /* the handler logged its own form */
} kv_ctx;

/* replies */
void out_flush(kv_out *o);          /* mid-batch: corks the sink */
void out_end(kv_out *o);            /* the batch's last write */
void rp_raw(kv_out *o, const void *p, size_t n);
void rp_status(kv_out *o, const char *s);     /* "+s\r\n" */
void rp_error(kv_out *o, const char *s);      /* "-s\r\n", \r\n in s blanked */
void rp_errorf(kv_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_int(kv_out *o, long long v);
void rp_bulk(kv_out *o, const void *p, size_t n);
void rp_cstr(kv_out *o, const char *s);
void rp_null(kv_out *o);                       /* $-1 */
void rp_null_array(kv_out *o);                 /* *-1 */
void rp_array(kv_out *o, long long n);
void rp_ok(kv_out *o);

/* commands (cmd.c) */
void kv_commands_init(void);
/* Execute c->argv: replies in c->out, AOF records through kv_aof_log. */
void kv_exec(kv_ctx *c);
/* The AOF records one command (argc args). */
void kv_aof_log(kv *k, int argc, const char *const *argv, const size_t *len);
/* the name of the table's row i (< KV_NCOMMANDS); k->st.calls[i] counts it */
const char *kv_command_name(size_t i);

/* glob.c: redis's stringmatchlen */
bool kv_glob(const char *pat, size_t pl, const char *s, size_t sl, bool nocase);

/* the wall clock in ms */
int64_t kv_now_ms(void);
/* v in decimal into p (at least 20 bytes, no NUL): the length. The AOF
 * formats every length: with sprintf that was 24% of kv's CPU at -P 16
 * SET everysec (perf). */
size_t kv_ll2s(char *p, long long v);
/* "<c><v>\r\n", a RESP header (reply or AOF record), into p (at least
 * 24 bytes): the length. */
size_t kv_put_num(char *p, char c, long long v);

/* kv.c: the fsync latency histogram */
void kv_fsync_observe(kv *k, double seconds);

#pragma GCC visibility pop

#endif

