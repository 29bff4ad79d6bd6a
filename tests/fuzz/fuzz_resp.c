/*
 * fuzz_resp.c — the kv plugin's RESP2 request parser, multibulk and
 * inline (plugins/kv/resp.c).
 *
 * Byte 0 picks the limits (redis's, or small ones the input can reach,
 * or the unauthenticated ones). The rest is a connection's byte stream,
 * parsed as the plugin does: request after request until an error or
 * an incomplete one. Invariants: a request's length is within the
 * buffer and not 0; every argument lies in the buffer (multibulk) or in
 * the scratch (inline) and within the limits; an error has its text; a
 * "need" hint is past what is buffered; parsing growing prefixes of the
 * request gives "incomplete" (or the same error) until the whole is
 * there, then the same answer with the same arguments.
 */
#include "fuzz.h"
#include "../../plugins/kv/resp.h"

static resp_cmd cmd, cmd2;

static bool inside(const char *p, size_t n, const char *base, size_t len)
{
    return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!cmd.argv && (resp_cmd_init(&cmd) < 0 || resp_cmd_init(&cmd2) < 0))
        abort();
    struct resp_limits lim = { .max_bulk = 512ll << 20, .max_multibulk = 1024 * 1024 };
    if (data[0] & 1) {
        lim.max_bulk = 64;
        lim.max_multibulk = 8;
    }
    lim.unauthenticated = data[0] & 2;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1, off = 0;
    while (off < len) {
        int rc = resp_parse(&cmd, buf + off, len - off, &lim);
        if (rc == RESP_NEED) {
            if (cmd.need && cmd.need <= len - off)
                abort();
            break;
        }
        if (rc == RESP_ERROR) {
            if (!cmd.error || strncmp(cmd.error, "ERR Protocol error: ", 20) != 0)
                abort();
            break;
        }
        if (rc != RESP_CMD && rc != RESP_EMPTY)
            abort();
        if (cmd.used == 0 || cmd.used > len - off)
            abort();
        if (rc == RESP_CMD && cmd.argc < 1)
            abort();
        for (int i = 0; rc == RESP_CMD && i < cmd.argc; i++) {
            bool in_buf = inside(cmd.argv[i], cmd.len[i], buf + off, cmd.used);
            bool in_scratch = cmd.scratch && inside(cmd.argv[i], cmd.len[i], cmd.scratch,
                                                    RESP_INLINE_MAX + 16);
            if (!in_buf && !in_scratch)
                abort();
            if (buf[off] == '*' && (long long)cmd.len[i] > lim.max_bulk)
                abort();
        }
        if (buf[off] == '*' && cmd.argc > lim.max_multibulk)
            abort();
        /* prefixes: incomplete until the whole request */
        for (size_t k = 1; k < cmd.used; k += 1 + k / 3) {
            int r2 = resp_parse(&cmd2, buf + off, k, &lim);
            if (r2 != RESP_NEED)
                abort();
        }
        int r3 = resp_parse(&cmd2, buf + off, cmd.used, &lim);
        if (r3 != rc || cmd2.used != cmd.used || cmd2.argc != cmd.argc)
            abort();
        for (int i = 0; i < cmd.argc; i++)
            if (cmd2.len[i] != cmd.len[i] ||
                (buf[off] == '*' && cmd2.argv[i] != cmd.argv[i]))
                abort();
        off += cmd.used;
    }
    return 0;
}
