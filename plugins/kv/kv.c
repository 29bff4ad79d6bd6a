/*
 * kv — a RESP2 key-value server plugin for tickd (redis clients work).
 *
 *     [plugin:kv]
 *     module = kv
 *     listen = 127.0.0.1:6380   ; required; a non-loopback address needs
 *                               ; require_pass (protected mode)
 *     max_conns = 10000
 *     max_bulk = 512M           ; redis's proto-max-bulk-len
 *     max_multibulk = 1048576   ; arguments per command
 *     idle_timeout = 0          ; close clients idle that long (0: never)
 *     require_pass = secret     ; AUTH
 *     max_memory = 0            ; bytes of keyspace (0: unlimited); live
 *     eviction = noeviction     ; or allkeys-lru; live
 *     aof = kv.aof              ; relative: in $STATE_DIRECTORY, else
 *                               ; /var/lib/tickd
 *     aof_fsync = everysec      ; always | everysec | no
 *
 * A connection's task reads what the socket has, parses every complete
 * command in the buffer (resp.c, zero-copy), executes them with the
 * stream corked, writes the batch's AOF records, and uncorks: one recv
 * and one send per batch, as redis does. Stateful (one incarnation owns
 * the AOF at a time).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "aof.h"
#include "kv.h"

static const char *const eviction_choices[] = { "noeviction", "allkeys-lru", NULL };
static const char *const fsync_choices[] = { "always", "everysec", "no", NULL };

static const tick_key kv_keys[] = {
    TICK_KEY_ADDRESSES(kv, listen, "listen", NULL, TICK_KEY_REQUIRED,
                       "addresses to serve RESP on"),
    TICK_KEY_INT(kv, max_conns, "max_conns", 1, 1000000, "10000", 0,
                 "clients at once; over it new ones are closed"),
    TICK_KEY_SIZE(kv, max_bulk, "max_bulk", 1, 1ll << 30, "512M", 0,
                  "largest bulk argument (redis proto-max-bulk-len)"),
    TICK_KEY_INT(kv, max_multibulk, "max_multibulk", 1, 2147483647, "1048576", 0,
                 "most arguments in one command"),
    TICK_KEY_DURATION(kv, idle_timeout, "idle_timeout", 0, 0, "0", 0,
                      "close a client idle that long (0: never)"),
    TICK_KEY_STRING(kv, require_pass, "require_pass", 1, 512, NULL, 0,
                    "password clients must AUTH with"),
    TICK_KEY_SIZE(kv, max_memory, "max_memory", 0, 0, "0", TICK_KEY_LIVE,
                  "keyspace memory limit (0: none)"),
    TICK_KEY_ENUM(kv, eviction, "eviction", eviction_choices, "noeviction", TICK_KEY_LIVE,
                  "over max_memory: refuse writes, or evict approximately least recently used"),
    TICK_KEY_STRING(kv, aof_path, "aof", 1, 4000, NULL, 0,
                    "append-only file (relative: in $STATE_DIRECTORY, else /var/lib/tickd)"),
    TICK_KEY_ENUM(kv, aof_fsync, "aof_fsync", fsync_choices, "everysec", 0,
                  "fdatasync: before each reply (group commit), every second, never"),
    TICK_KEY_INT(kv, aof_rewrite_growth, "aof_rewrite_growth", 0, 100000, "100", 0,
                 "rewrite when the AOF grew this percent over its size after the last "
                 "load or rewrite (0: never)"),
    TICK_KEY_SIZE(kv, aof_rewrite_min, "aof_rewrite_min_size", 0, 0, "64M", 0,
                  "no rewrite below this size"),
    TICK_KEY_END
};

static bool seeded;                      /* dict_seed() done */
static char out_buf[64 * 1024];
static kv_out out = { .buf = out_buf, .cap = sizeof out_buf };

int64_t kv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kv_aof_log(kv *k, int argc, const char *const *argv, const size_t *len)
{
    if (k->aof && !k->loading)
        aof_append(k->aof, argc, argv, len);
}

/* An evicted key is gone for the AOF too (replay must not bring it back). */
static void log_evict(void *user, kv_ent *e)
{
    const char *av[] = { "DEL", ent_key(e) };
    size_t al[] = { 3, e->klen };
    kv_aof_log(user, 2, av, al);
}

/* ---- configuration ---- */

static bool loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static int kv_configure(tick_instance *in, const char *key, const char *value)
{
    kv *k = tick_instance_data(in);
    (void)key;
    (void)value;
    /* protected mode (redis's): no password, loopback only */
    if (!k->require_pass) {
        const char *p = k->listen;
        while (*p) {
            char one[300], host[256];
            uint16_t port;
            size_t n = strcspn(p, ",");
            snprintf(one, sizeof one, "%.*s", (int)n, p);
            char *s = one;
            while (*s == ' ' || *s == '\t')
                s++;
            for (char *e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t');)
                *--e = 0;
            if (tick_parse_listen(s, host, sizeof host, &port) == 0 && !loopback(host))
                return tick_instance_error(in,
                    "protected mode: listen address '%s' is not a loopback address and "
                    "require_pass is not set (set require_pass, or listen on 127.0.0.1 "
                    "or [::1] only)", s);
            p += n;
            if (*p == ',')
                p++;
        }
    }
    if (k->aof_path) {
        const char *dir = getenv("STATE_DIRECTORY");
        char first[2048];
        if (k->aof_path[0] == '/') {
            snprintf(k->aof_full, sizeof k->aof_full, "%s", k->aof_path);
        } else {
            if (!dir || !*dir)
                dir = "/var/lib/tickd";
            snprintf(first, sizeof first, "%.*s", (int)strcspn(dir, ":"), dir);
            if ((size_t)snprintf(k->aof_full, sizeof k->aof_full, "%s/%s", first,
                                 k->aof_path) >= sizeof k->aof_full)
                return tick_instance_error(in, "aof path too long");
        }
    }
    return 0;
}

static int kv_reconfigure(tick_instance *in, const char *key, const char *value)
{
    kv *k = tick_instance_data(in);
    (void)key;
    (void)value;
    tick_log(TICK_LOG_INFO, "max_memory is now %llu, eviction %s",
             (unsigned long long)k->max_memory, eviction_choices[k->eviction]);
    if (k->max_memory && k->eviction && k->db.mem.used > k->max_memory)
        db_evict(&k->db, (size_t)k->max_memory);
    return 0;
}

/* ---- connections ---- */

/* Parse and execute every complete command buffered; the bytes used. */
static size_t run_batch(kv_client *cl, size_t *need, bool *line)
{
    kv *k = cl->kv;
    size_t len, off = 0;
    const char *p = tick_stream_peek(cl->conn.stream, &len);
    struct resp_limits lim = {
        .max_bulk = (long long)k->max_bulk, .max_multibulk = (long long)k->max_multibulk,
        .unauthenticated = k->require_pass && !cl->authed,
    };
    kv_ctx c = { .kv = k, .db = &k->db, .cl = cl, .out = &out };

    *need = 0;
    *line = false;
    k->db.now_ms = kv_now_ms();
    k->db.lru_clock = (uint32_t)(k->db.now_ms / 1000);
    while (off < len) {
        int rc = resp_parse(&cl->cmd, p + off, len - off, &lim);
        if (rc == RESP_NEED) {
            /* the bytes known to be missing; an inline request: up to its
             * newline (read_until grows the buffer geometrically); else
             * one byte more than buffered */
            *need = cl->cmd.need ? cl->cmd.need : len - off + 1;
            *line = cl->cmd.need_line;
            break;
        }
        if (rc == RESP_ERROR) {
            rp_error(&out, cl->cmd.error);
            cl->close_after = true;
            return len;
        }
        if (rc == RESP_CMD) {
            c.argc = cl->cmd.argc;
            c.argv = cl->cmd.argv;
            c.len = cl->cmd.len;
            kv_exec(&c);
            if (cl->close_after)
                return len;
            lim.unauthenticated = k->require_pass && !cl->authed;
        }
        off += cl->cmd.used;
    }
    return off;
}

/*
 * Group commit of the AOF's write() (everysec and no; always keeps its
 * per-batch write and group fdatasync): a batch that appended records,
 * or that reads while another batch's records wait (its replies may show
 * them), leaves its replies corked on kv.committing, and one before-poll
 * handle (the end of the tick, redis's beforeSleep) writes every record
 * of the tick with one write() and then uncorks those streams: a reply
 * still never leaves before the write it acknowledges is in the file.
 * With 50 pipelining clients a tick holds many batches: at -P 16 the
 * write() calls per request fell from 0.063 to 0.003 (perf stat).
 */
static void commit_run(tick_handle *h)
{
    kv *k = tick_container_of(h, kv, commit);
    if (k->aof)
        aof_write(k->aof);
    while (!tick_list_empty(&k->committing)) {
        kv_client *cl = tick_container_of(k->committing.next, kv_client, commit_link);
        tick_link_remove(&cl->commit_link);
        tick_stream_uncork(cl->conn.stream);     /* an error: the task's next await sees it */
    }
}

static bool commit_later(kv_client *cl)
{
    kv *k = cl->kv;
    if (!k->aof || k->aof_fsync == AOF_ALWAYS || cl->close_after || !aof_pending(k->aof))
        return false;
    if (!tick_link_linked(&cl->commit_link))
        tick_list_append(&k->committing, &cl->commit_link);
    tick_call_before_poll(tick_instance_loop(k->in), &k->commit);
    return true;
}

static int conn_step(tick_task *t)
{
    kv_client *cl = (kv_client *)tick_conn_of(t);
    tick_stream *s = cl->conn.stream;
    intptr_t rc;
    size_t need;
    bool line;

    TICK_BEGIN(t);
    cl->kv = tick_server_user(cl->conn.server);
    tick_link_init(&cl->commit_link);
    if (resp_cmd_init(&cl->cmd) < 0)
        TICK_RETURN(t, 0);
    cl->inited = true;
    cl->id = ++cl->kv->next_id;
    cl->kv->st.connections++;
    cl->authed = !cl->kv->require_pass;
    for (;;) {
        if (cl->need_line)
            TICK_AWAIT(t, tick_stream_read_until(s, "\n", 1, RESP_INLINE_MAX + 2), rc);
        else if (cl->need)
            TICK_AWAIT(t, tick_stream_read_exact(s, cl->need), rc);
        else
            TICK_AWAIT(t, tick_stream_read_some(s), rc);
        if (rc <= 0 && rc != -EMSGSIZE)  /* too long a line: the parser says so */
            break;                       /* EOF, reset, idle timeout, cancel */
        out.sink = s;
        out.err = 0;
        out.corked = false;
        if (cl->kv->aof && cl->kv->aof_fsync == AOF_ALWAYS) {
            tick_stream_cork(s);         /* replies wait for the sync */
            out.corked = true;
        }
        tick_stream_consume(s, run_batch(cl, &need, &line));
        cl->need = need;
        cl->need_line = line;
        cl->corked = out.corked;
        bool later = commit_later(cl);
        if (later)
            tick_stream_cork(s);         /* queued: commit_run writes, then uncorks */
        else if (cl->kv->aof)
            aof_write(cl->kv->aof);      /* in the file before the replies */
        out_end(&out);                   /* one send, or queued if corked */
        out.sink = NULL;
        if (out.err < 0)
            break;                       /* the peer is gone */
        if (later)
            cl->corked = false;          /* not ours to uncork */
        if (cl->kv->aof && cl->corked) {
            tick_future *w = aof_sync_wait(cl->kv->aof);
            if (w) {                     /* always: replies held for the sync */
                TICK_AWAIT(t, w, rc);
                s = cl->conn.stream;
                if (rc == -ECANCELED)
                    break;
            }
        }
        if (cl->corked && tick_stream_uncork(s) < 0)
            break;
        if (cl->close_after) {
            TICK_AWAIT(t, tick_stream_flush(s), rc);
            break;
        }
        if (tick_stream_queued(s) > 64 * 1024) {
            TICK_AWAIT(t, tick_stream_drain(s), rc);   /* backpressure */
            s = cl->conn.stream;
            if (rc < 0)
                break;
        }
    }
    if (cl->inited) {
        if (tick_link_linked(&cl->commit_link))
            tick_link_remove(&cl->commit_link);   /* the replies die with it */
        resp_cmd_free(&cl->cmd);
        free(cl->name);
        cl->name = NULL;
    }
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class conn_class = { .step = conn_step };

/* ---- the cron: active expiry, rehashing, the everysec kick ---- */

static void cron_fire(tick_handle *h)
{
    kv *k = tick_container_of(h, kv, cron.handle);
    if (tick_server_draining(k->srv)) {
        tick_server_stats ss;
        tick_server_get_stats(k->srv, &ss);
        if (ss.active == 0) {
            /* retired by a reload and every connection done: the last
             * sync, and nothing re-armed, so the instance drains now and
             * its next incarnation starts (not after stop_timeout) */
            aof_finish(k->aof);
            return;
        }
    }
    k->db.now_ms = kv_now_ms();
    k->db.lru_clock = (uint32_t)(k->db.now_ms / 1000);
    if (!k->loading)
        db_expire_cycle(&k->db, 1000 * 1000);    /* at most 1 ms per 100 ms */
    dict_rehash_for(&k->db.d, 1000 * 1000);
    if (++k->cron_ticks % 10 == 0) {
        aof_tick(k->aof);
        aof_rewrite_maybe(k->aof, k->aof_rewrite_growth, k->aof_rewrite_min);
    }
    tick_timer_repeat(tick_instance_loop(k->in), &k->cron, 100 * TICK_MSEC);
}

/* ---- metrics ---- */

enum { M_HITS, M_MISSES, M_EXPIRED, M_EVICTED, M_KEYS, M_MEM, M_AOF, M_FSYNCS, M_DIR_FSYNCS,
       M_WRITES, M_N };
static struct { const char *name, *help; enum tick_metric_type type; } mdesc[M_N] = {
    { "kv_keyspace_hits_total", "Key lookups that found the key.", TICK_METRIC_COUNTER },
    { "kv_keyspace_misses_total", "Key lookups that did not.", TICK_METRIC_COUNTER },
    { "kv_expired_keys_total", "Keys deleted for their expiry.", TICK_METRIC_COUNTER },
    { "kv_evicted_keys_total", "Keys evicted over max_memory.", TICK_METRIC_COUNTER },
    { "kv_keys", "Keys in the keyspace.", TICK_METRIC_GAUGE },
    { "kv_memory_used_bytes", "Bytes the keyspace holds (allocator's usable sizes).",
      TICK_METRIC_GAUGE },
    { "kv_aof_size_bytes", "Size of the append-only file.", TICK_METRIC_GAUGE },
    { "kv_aof_fsyncs_total", "fdatasync calls on the append-only file.", TICK_METRIC_COUNTER },
    { "kv_aof_dir_fsyncs_total", "fsync calls on the append-only file's directory (after "
      "a rewrite's rename or the file's creation).", TICK_METRIC_COUNTER },
    { "kv_aof_writes_total", "write() calls on the append-only file (one per tick that wrote).",
      TICK_METRIC_COUNTER },
};
struct mref { kv *k; int which; };
static const char *const cmd_labels[] = { "command", NULL };

static void collect(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    struct mref *r = user;
    kv *k = r->k;
    double v = 0;
    (void)f;
    switch (r->which) {
    case M_HITS: v = (double)k->db.hits; break;
    case M_MISSES: v = (double)k->db.misses; break;
    case M_EXPIRED: v = (double)k->db.expired; break;
    case M_EVICTED: v = (double)k->db.evicted; break;
    case M_KEYS: v = (double)k->db.d.count; break;
    case M_MEM: v = (double)k->db.mem.used; break;
    case M_AOF: v = (double)aof_size(k->aof); break;
    case M_FSYNCS: v = (double)k->st.fsyncs; break;
    case M_DIR_FSYNCS: v = (double)k->st.dir_fsyncs; break;
    case M_WRITES: v = (double)aof_writes(k->aof); break;
    }
    tick_metric_emit(sink, NULL, v);
}

static void collect_cmds(tick_metric_family *f, tick_metric_sink *sink, void *user)
{
    kv *k = user;
    (void)f;
    for (size_t i = 0; i < KV_NCOMMANDS; i++)
        if (k->st.calls[i]) {
            const char *v[] = { kv_command_name(i) };
            tick_metric_emit(sink, v, (double)k->st.calls[i]);
        }
}

void kv_fsync_observe(kv *k, double seconds)
{
    tick_histogram_observe(k->fsync_hist, seconds);
}

static void metrics_start(kv *k)
{
    static const double buckets[] = { 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1 };
    tick_metric_family *f;
    for (int i = 0; i < M_N; i++) {
        struct mref *r = calloc(1, sizeof *r);
        if (!r)
            continue;
        r->k = k;
        r->which = i;
        if (tick_metric_family_callback(&(tick_metric_desc){ .name = mdesc[i].name,
                .help = mdesc[i].help, .type = mdesc[i].type }, collect, free, r, &f) < 0)
            free(r);
    }
    tick_metric_family_callback(&(tick_metric_desc){ .name = "kv_commands_total",
            .help = "Commands executed, by name.", .type = TICK_METRIC_COUNTER,
            .labels = cmd_labels }, collect_cmds, NULL, k, &f);
    if (tick_metric_family_new(&(tick_metric_desc){ .name = "kv_aof_fsync_seconds",
            .help = "fdatasync latency of the append-only file.", .type = TICK_METRIC_HISTOGRAM,
            .buckets = buckets, .nbuckets = 9 }, &f) == 0)
        k->fsync_hist = tick_metric_of(f);
}

/* ---- lifecycle ---- */

static int kv_start(tick_instance *in)
{
    kv *k = tick_instance_data(in);
    uint64_t seed;
    int rc;

    k->in = in;
    kv_commands_init();
    db_init(&k->db);
    k->db.on_evict = log_evict;
    k->db.on_evict_user = k;
    /* One seed for the module, chosen by the first instance: an entry
     * keeps the hash it was linked with, so seeding again when a second
     * instance starts (or one restarts on reload) would lose every key of
     * the others. */
    if (!seeded && getrandom(&seed, sizeof seed, 0) == sizeof seed) {
        dict_seed(seed);
        seeded = true;
    }
    k->start_ms = (uint64_t)kv_now_ms();
    metrics_start(k);
    if (k->aof_path) {
        if ((rc = aof_open(k, k->aof_full, k->aof_fsync, &k->aof)) < 0)
            return rc;
        if ((rc = aof_start(k->aof)) < 0)
            return tick_instance_error(in, "aof: cannot start its tasks (%d)", rc);
    }
    struct tick_server_config cfg = {
        .listen = k->listen, .max_conns = k->max_conns, .idle_timeout = k->idle_timeout,
        .conn_size = sizeof(kv_client), .conn_class = &conn_class, .task_name = "kv conn",
        .user = k,
    };
    if ((rc = tick_server_start(in, &cfg, &k->srv)) < 0)
        return rc;
    tick_handle_init(&k->commit, "kv commit", commit_run);
    tick_link_init(&k->committing);
    /* the instance's, not the first connection's that arms it */
    tick_handle_set_scope(&k->commit, tick_scope_current(tick_instance_loop(in)));
    tick_timer_init(&k->cron, "kv cron", cron_fire);
    tick_call_later(tick_instance_loop(in), &k->cron, 100 * TICK_MSEC);
    for (unsigned i = 0; tick_server_address(k->srv, i); i++)
        tick_log(TICK_LOG_INFO, "listening on %s", tick_server_address(k->srv, i));
    tick_instance_set_status(in, "RESP on %s%s%s", tick_server_addresses(k->srv),
                             k->aof ? ", aof " : "", k->aof ? k->aof_full : "");
    return 0;
}

static void kv_release(tick_instance *in)
{
    kv *k = tick_instance_data(in);
    if (k->aof)
        aof_close(k->aof);
    k->aof = NULL;
    if (k->in)
        db_flush(&k->db);
}

TICK_PLUGIN(.name = "kv", .version = "1.0",
            .instance_size = sizeof(kv),
            .flags = TICK_PLUGIN_STATEFUL,
            .keys = kv_keys,
            .configure = kv_configure,
            .start = kv_start,
            .release = kv_release,
            .reconfigure = kv_reconfigure);
