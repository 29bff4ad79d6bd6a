/*
 * aof_replay.c — replaying AOF records into the keyspace (aof.h), apart
 * from aof.c so the fuzz harness (tests/fuzz/fuzz_aof.c) links it with
 * the commands alone.
 */
#include "aof.h"

/* The parser's arrays, shared by the instances' loaders: safe because a
 * call parses whole records from the start of its buffer and keeps
 * nothing from one call to the next but the arrays' capacity. */
static resp_cmd cmd;

void aof_replay_release(void)
{
    resp_cmd_free(&cmd);
}

size_t aof_replay(kv *k, const char *buf, size_t len, bool at_eof, unsigned max_cmds,
                  bool *corrupt)
{
    static kv_out out;                   /* no sink: replies dropped */
    struct resp_limits lim = { .max_bulk = 512ll << 20, .max_multibulk = 1 << 24 };
    size_t off = 0;

    *corrupt = false;
    if (!cmd.argv && resp_cmd_init(&cmd) < 0)
        return 0;
    k->db.now_ms = kv_now_ms();
    while (off < len && max_cmds--) {
        if (buf[off] != '*') {           /* records are multibulk only */
            *corrupt = true;
            break;
        }
        int rc = resp_parse(&cmd, buf + off, len - off, &lim);
        if (rc == RESP_NEED) {
            if (at_eof)
                *corrupt = true;
            break;
        }
        if (rc == RESP_ERROR) {
            *corrupt = true;
            break;
        }
        if (rc == RESP_CMD) {
            kv_ctx c = { .kv = k, .db = &k->db, .out = &out, .argc = cmd.argc,
                         .argv = cmd.argv, .len = cmd.len };
            kv_exec(&c);
            k->st.replayed++;
        }
        off += cmd.used;
    }
    return off;
}

