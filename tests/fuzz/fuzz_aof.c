/*
 * fuzz_aof.c — the kv plugin's AOF loader (plugins/kv/aof_replay.c):
 * the records replayed through the real commands into a keyspace.
 *
 * The input is a file's content. Invariants: the valid prefix is within
 * the file and "corrupt" is exactly "a tail is left"; replaying the
 * prefix alone into a fresh keyspace takes all of it and gives the same
 * key count; replaying a command at a time (the loader's slices) stops
 * at the same offset; flushing the keyspace gives every counted byte
 * back (the max_memory accounting is exact) and leaks nothing (ASan).
 */
#include <errno.h>

#include "fuzz.h"
#include "../../plugins/kv/aof.h"

/* what the commands need of the SDK and of kv.c/aof.c, stubbed */
int tick_stream_write(tick_stream *s, const void *buf, size_t len)
{
    (void)s; (void)buf; (void)len;
    return 0;
}
void tick_stream_cork(tick_stream *s) { (void)s; }
void tick_server_get_stats(const tick_server *srv, tick_server_stats *out)
{
    (void)srv;
    memset(out, 0, sizeof *out);
}
const char *tick_server_address(const tick_server *srv, unsigned i)
{
    (void)srv; (void)i;
    return NULL;
}
int64_t kv_now_ms(void) { return 1700000000000ll; }
void kv_aof_log(kv *k, int argc, const char *const *argv, const size_t *len)
{
    (void)k; (void)argc; (void)argv; (void)len;
}
uint64_t aof_size(const struct kv_aof *a) { (void)a; return 0; }
uint64_t aof_base_size(const struct kv_aof *a) { (void)a; return 0; }
int aof_rewriting(const struct kv_aof *a) { (void)a; return 0; }
uint64_t aof_writes(const struct kv_aof *a) { (void)a; return 0; }
int aof_rewrite_start(struct kv_aof *a) { (void)a; return -EBUSY; }
void aof_rewrite_before(struct kv_aof *a, kv_ctx *c, int first, int last, int step)
{
    (void)a; (void)c; (void)first; (void)last; (void)step;
}
void aof_rewrite_after(struct kv_aof *a, kv_ctx *c, int first, int last, int step)
{
    (void)a; (void)c; (void)first; (void)last; (void)step;
}

static kv k;

static size_t replay_all(const char *buf, size_t len, unsigned step, bool *corrupt)
{
    size_t off = 0, n;
    do {
        n = aof_replay(&k, buf + off, len - off, true, step, corrupt);
        off += n;
    } while (n && !*corrupt && off < len);
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    bool corrupt, c2;

    kv_commands_init();
    db_init(&k.db);
    size_t off = replay_all(buf, size, 1u << 30, &corrupt);
    if (off > size || corrupt != (off < size))
        abort();
    size_t keys = k.db.d.count;
    db_flush(&k.db);
    if (k.db.mem.used != 0)
        abort();                         /* accounting drifted */

    db_init(&k.db);
    if (replay_all(buf, off, 1u << 30, &c2) != off || c2 || k.db.d.count != keys)
        abort();
    db_flush(&k.db);

    db_init(&k.db);
    if (replay_all(buf, size, 1, &c2) != off || c2 != corrupt || k.db.d.count != keys)
        abort();
    db_flush(&k.db);
    if (k.db.mem.used != 0)
        abort();
    return 0;
}
