/*
 * http_parse.h — the HTTP/1.1 request parser of the http plugin.
 *
 * Plain C, no tickd dependency: unit-tested (tests/unit/test_http_parse.c),
 * fuzzed (tests/fuzz/fuzz_http.c) and benchmarked (bench/http_parse.c) alone.
 * Only the http_ names below are external; everything else is static.
 *
 * Ownership: nothing is allocated and nothing is copied. Every view in
 * struct http_request (method, target, header names and values) points
 * into the caller's buffer, and is valid only while those bytes stay where
 * they are: consume the request (or copy what you keep) before the buffer
 * is compacted or refilled. The parser keeps no state between calls; the
 * chunked skipper keeps its state in a struct http_chunked the caller owns.
 * Reentrant, no globals: any thread may call it on its own buffers.
 *
 * Usage, as the plugin calls it on a stream's peek view (buf, len):
 *
 *     struct http_request req;
 *     size_t seen = 0;    // bytes of this head already looked at, 0 first
 *     int n = http_parse_request(buf, len, seen, &lim, &req);
 *     if (n == HTTP_INCOMPLETE) { seen = len; wait for more bytes; }
 *     else if (n < 0)           { answer -n (400, 413, 414, 431, 505), close }
 *     else {
 *         consume n bytes; seen = 0;
 *         if (req.chunked) {
 *             struct http_chunked ck;
 *             http_chunked_init(&ck, lim.max_body);
 *             for (;;) {              // across as many reads as it takes
 *                 size_t used;
 *                 int r = http_chunked_skip(&ck, buf, len, &used);
 *                 consume used bytes;
 *                 if (r == 0) break;                // body done
 *                 if (r < 0) { answer -r, close; } // 400 or 413
 *                 wait for more bytes;              // HTTP_INCOMPLETE
 *             }
 *         } else {
 *             skip req.content_length bytes (0 if none), across reads;
 *         }
 *         answer (HEAD: no body); close unless req.keep_alive;
 *         loop: the next pipelined request starts at the next byte.
 *     }
 *
 * What is accepted (RFC 9112 and RFC 9110), and what is refused and why:
 *
 *   - Line ends: CRLF, or a bare LF (RFC 9112 2.2 allows a recipient to
 *     take LF as the terminator; nginx and picohttpparser do, and some
 *     hand-written clients send it). A CR not followed by LF is 400: a
 *     bare CR is read differently by different parsers. In chunked framing
 *     (sizes, the CRLF after data, trailers) only CRLF is accepted: that
 *     is where a front proxy and a back end that disagree on line ends can
 *     be made to frame a body differently (request smuggling).
 *   - Up to 8 empty lines before the request line are skipped (RFC 9112
 *     2.2: a stray CRLF after a body); more is 400.
 *   - Method: a token of at most HTTP_METHOD_MAX bytes (else 400),
 *     case-sensitive; the known ones are an enum, others HTTP_M_OTHER with
 *     the token in method/method_len (the plugin answers 405 or 501).
 *   - Request target: visible ASCII and bytes >= 0x80, no CTL, no space;
 *     longer than lim->max_uri is 414 (checked as the bytes arrive, so a
 *     client cannot make us buffer an endless target).
 *   - Version: exactly "HTTP/" DIGIT "." DIGIT; 1.0 and 1.1 are served,
 *     any other pair of digits is 505, anything else 400.
 *   - Header fields: name a token followed directly by ':' (whitespace
 *     before the colon is 400, RFC 9112 5.1), value without CTLs except
 *     HTAB (NUL, bare CR, DEL are 400), leading and trailing OWS stripped.
 *     A line starting with SP or HTAB (obs-fold) is 400 (RFC 9112 5.2
 *     lets a server reject it). More than lim->max_headers fields, or a
 *     field section (after the request line, up to and including the
 *     empty line) longer than lim->max_head bytes, is 431.
 *   - Host: HTTP/1.1 without Host, or with two, is 400 (RFC 9112 3.2).
 *   - Content-Length: 1*DIGIT up to 2^63-1 (else 400: negative, empty,
 *     lists, overflow). Repeated with the same value is accepted (RFC 9110
 *     8.6), with a different one 400.
 *   - Transfer-Encoding: a list (over one or several fields) whose last
 *     coding is "chunked", chunked only once, codings plain tokens; else
 *     400 (RFC 9112 6.3: a request whose final coding is not chunked has
 *     no reliable length). Codings before chunked are accepted because the
 *     body is only framed and discarded, never decoded. Content-Length
 *     together with Transfer-Encoding is 400 (the classic smuggling
 *     vector; RFC 9112 6.1 allows rejecting it). Transfer-Encoding in an
 *     HTTP/1.0 request is 400 (RFC 9112 6.1: faulty framing).
 *   - Connection: a token list; "close" ends the connection after the
 *     answer, "keep-alive" keeps an HTTP/1.0 one; default HTTP/1.1 keep,
 *     HTTP/1.0 close; close wins over keep-alive.
 *   - Body size: a Content-Length over lim->max_body (when not 0) is 413,
 *     reported after the whole head passed the checks above; chunked
 *     bodies are checked as they are skipped (http_chunked_init).
 *
 * Resumable strategy: stateless re-parse from the start, with a hint.
 * When more bytes arrive the caller passes the length it had before
 * (prev_len); if the new bytes cannot complete the head (no empty line
 * among them) and the buffer is still under the limits, the call returns
 * HTTP_INCOMPLETE after looking at the new bytes only. Otherwise the head
 * is parsed from its first byte. Every refusal is decided by the bytes up
 * to the offending one, so a prefix never gets an answer the whole would
 * not get: feeding a request in any split gives the one-shot result
 * (fuzzed). The price of the hint: a refusal found in bytes that came
 * with it waits until an empty line arrives or the buffer passes
 * max_uri + max_head + 60 bytes (16 KiB by default), where a full parse
 * is bound to answer; a client can make us hold no more than that. Pass
 * prev_len = 0 to have every call parse in full. A kept-state parser
 * would save re-reading the head when it comes in pieces, but heads are
 * small (wrk's 40 bytes, a browser's ~600) and most arrive in one read;
 * bench/http_parse.c measures both the one-read and the two-read case.
 *
 * Decision (issue 10): our own parser, not Debian's libhttp-parser-dev
 * (http_parser 2.9.4). Pinned, same heads, same views gathered: ours takes
 * 0.43 of its time on wrk's head, 0.32 on curl's, 0.31 on a 590-byte
 * browser head, 0.60 on wrk's head in two reads; http_parser also lets
 * through space before ':', obs-fold, HTTP/2.0 and a missing Host, which
 * the plugin would check again. Figures and command: bench/README.md
 * ("The HTTP request parser"), made by `make bench` (bench/http_parse.c).
 */
#ifndef TICKD_HTTP_PARSE_H
#define TICKD_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hidden in the plugin's .so (it exports only its descriptor). */
#pragma GCC visibility push(hidden)

/* Returned while the head (or a chunked body) needs more bytes. Errors
 * are the negated HTTP status to answer: -400, -413, -414, -431, -505. */
#define HTTP_INCOMPLETE (-1)

/* The header array's size: lim->max_headers is clamped to it. */
#define HTTP_MAX_HEADERS 64
/* A longer method token is 400 (the longest registered one is 17). */
#define HTTP_METHOD_MAX 32

enum http_method {
    HTTP_M_OTHER = 0,   /* a valid token we do not know: see method */
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_DELETE,
    HTTP_M_CONNECT,
    HTTP_M_OPTIONS,
    HTTP_M_TRACE,
    HTTP_M_PATCH,
};

/* max_uri and max_head are clamped to 1 GiB, so a head's length fits an int. */
struct http_limits {
    size_t max_uri;        /* request-target bytes; more is 414 */
    size_t max_head;       /* field section bytes; more is 431 */
    unsigned max_headers;  /* field lines (<= HTTP_MAX_HEADERS); more is 431 */
    uint64_t max_body;     /* body bytes, 0 = no limit; more is 413 */
};

/* nginx-like defaults: 8 KiB target, 8 KiB of fields, 64 fields, 1 MiB. */
#define HTTP_LIMITS_DEFAULT \
    ((struct http_limits){ 8192, 8192, HTTP_MAX_HEADERS, 1u << 20 })

struct http_header {
    const char *name;      /* as sent (compare case-insensitively) */
    size_t name_len;
    const char *value;     /* OWS stripped; may be empty */
    size_t value_len;
};

struct http_request {
    enum http_method method;
    const char *method_str;   /* the token, e.g. "GET" */
    size_t method_len;
    const char *target;       /* request-target as sent, e.g. "/a?b" */
    size_t target_len;
    int minor;                /* 0 or 1: HTTP/1.<minor> */
    bool keep_alive;          /* after this request, per version + Connection */
    bool chunked;             /* body framed by Transfer-Encoding: chunked */
    bool has_content_length;
    uint64_t content_length;  /* body bytes when !chunked (0 if none) */
    size_t n_headers;
    struct http_header headers[HTTP_MAX_HEADERS];
};

/*
 * Parse one request head at the start of buf[0..len). prev_len is the
 * length this same buffer had at the previous call that returned
 * HTTP_INCOMPLETE (0 on the first call for a request); it only saves work.
 * Returns the head's length in bytes (> 0: the body, if any, starts
 * there), HTTP_INCOMPLETE, or -400 / -413 / -414 / -431 / -505. *req is
 * filled on success only (a failed call leaves it unspecified). lim may
 * be NULL for HTTP_LIMITS_DEFAULT.
 */
int http_parse_request(const char *buf, size_t len, size_t prev_len,
                       const struct http_limits *lim, struct http_request *req);

/* The state of one chunked body being skipped; the caller owns it. */
struct http_chunked {
    /* private */
    int state;
    unsigned line;        /* bytes of the current size or trailer line */
    unsigned trailer;     /* bytes of the trailer section so far */
    uint64_t size;        /* chunk-size being read, then data left */
    uint64_t total;       /* data bytes so far */
    uint64_t max_body;    /* 0 = no limit */
};

/* Ready to skip a body of at most max_body data bytes (0 = no limit). */
void http_chunked_init(struct http_chunked *st, uint64_t max_body);

/*
 * Read and discard the chunked body in buf[0..len), continuing where the
 * previous call stopped. *consumed is set to the bytes used. Returns 0
 * when the body (last chunk and trailers) ended at buf + *consumed (the
 * next request starts there), HTTP_INCOMPLETE when all len bytes were
 * used and more are needed, -400 on bad framing (bare LF, bad or
 * overflowing size, size or trailer line over 4 KiB / 8 KiB), -413 when
 * the data exceeds max_body. After an error the state is stuck on it.
 */
int http_chunked_skip(struct http_chunked *st, const char *buf, size_t len,
                      size_t *consumed);

#pragma GCC visibility pop

#endif
