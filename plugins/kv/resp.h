/*
 * resp.h — the RESP2 request parser of the kv plugin (multibulk and
 * inline commands), pure: bytes in, one command's arguments out.
 *
 * Zero-copy: a multibulk argument points into the caller's buffer; an
 * inline argument with quotes or escapes is unescaped into the command's
 * scratch (inline requests are at most RESP_INLINE_MAX bytes). The texts
 * and limits are redis 7.0's (networking.c processInlineBuffer and
 * processMultibulkBuffer), so clients see the same errors and the
 * connection is closed after the error reply, as redis does.
 */
#ifndef KV_RESP_H
#define KV_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nothing but the descriptor is exported (the plugin rule) */
#pragma GCC visibility push(hidden)

#define RESP_INLINE_MAX (64 * 1024)     /* redis's PROTO_INLINE_MAX_SIZE */

enum {
    RESP_NEED = 0,       /* incomplete: more bytes (resp_cmd.need: a total
                          * length the command needs at least, or 0) */
    RESP_CMD = 1,        /* a command (argc >= 1) of resp_cmd.used bytes */
    RESP_EMPTY = 2,      /* an empty request (*0, *-1, a blank line):
                          * skip resp_cmd.used bytes, no reply */
    RESP_ERROR = -1,     /* protocol error: reply resp_cmd.error, close */
};

struct resp_limits {
    long long max_bulk;        /* redis proto-max-bulk-len: 512 MiB */
    long long max_multibulk;   /* redis: INT_MAX; kv: 1024*1024 default */
    bool unauthenticated;      /* redis's stricter limits before AUTH */
};

typedef struct resp_cmd {
    int argc;
    int cap;                   /* of argv/len */
    const char **argv;
    size_t *len;
    size_t used;               /* bytes of the request (RESP_CMD/EMPTY) */
    size_t need;               /* RESP_NEED: total bytes needed, 0 unknown */
    bool need_line;            /* RESP_NEED: an inline request's newline */
    const char *error;         /* RESP_ERROR: the reply text, without '-' */
    char errbuf[64];
    char *scratch;             /* inline unescaping (RESP_INLINE_MAX) */
} resp_cmd;

/* 0 or -1 (out of memory). */
int resp_cmd_init(resp_cmd *c);
void resp_cmd_free(resp_cmd *c);
/* Parse one request at the start of buf[0..len). */
int resp_parse(resp_cmd *c, const char *buf, size_t len, const struct resp_limits *lim);
/* redis's string2ll: the whole of s[0..n) as a long long, strictly. */
bool resp_str2ll(const char *s, size_t n, long long *out);

#pragma GCC visibility pop

#endif
