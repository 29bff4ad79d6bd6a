/*
 * statsd_parse.h — the statsd line parser (DogStatsD tags), pure: no
 * tickd dependency, no allocation, so the unit test and the fuzz harness
 * link it alone.
 *
 *     NAME:VALUE|TYPE[|@RATE][|#TAG[:VAL][,TAG[:VAL]...]][|c:ID][|T...]
 *
 * TYPE is c, g, ms, h, s (d, DogStatsD's distribution, reads as h).
 * The name is sanitised to Prometheus' rules (every byte outside
 * [a-zA-Z0-9_:] becomes '_', a leading digit gets a '_' before it, as
 * statsd_exporter does with '.' and '-'); a tag key likewise, without ':'.
 * A tag without a value, or whose key is reserved (starts with "__", or
 * is "le" or "tickd_instance"), is skipped and counted in tag_errors:
 * the line is kept (statsd_exporter's choice). Tags are sorted by key, so
 * the series key does not depend on their order.
 *
 * The result is a series key in key[] ("name", then "\1k\2v" per tag)
 * plus the value: what the aggregator hashes and compares.
 */
#ifndef STATSD_PARSE_H
#define STATSD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATSD_NAME_MAX 200      /* sanitised name bytes */
#define STATSD_TAGS_MAX 16
#define STATSD_KEY_MAX 1024      /* name + tags, the series key */
#define STATSD_SEP_KEY '\1'      /* before a tag key in the series key */
#define STATSD_SEP_VAL '\2'      /* before its value */

enum statsd_type { STATSD_COUNTER, STATSD_GAUGE, STATSD_TIMER, STATSD_HISTOGRAM,
                   STATSD_SET, STATSD_NTYPES };

/* Why a line was refused (the `reason` label of statsd_dropped_lines). The
 * parser's, then the aggregator's. */
enum statsd_reason {
    STATSD_OK = 0,
    STATSD_R_FORMAT,           /* no ':' or no '|' */
    STATSD_R_NAME,             /* empty or longer than STATSD_NAME_MAX */
    STATSD_R_TYPE,             /* an unknown type */
    STATSD_R_VALUE,            /* not a finite number (a set takes any) */
    STATSD_R_RATE,             /* @ not in (0, 1] */
    STATSD_R_TAGS,             /* too many, a duplicate key, key too long */
    STATSD_R_FIELD,            /* an unknown |field */
    STATSD_R_NEGATIVE,         /* a counter below zero */
    STATSD_R_EVENT,            /* a DogStatsD event or service check */
    STATSD_R_TRUNCATED,        /* the last line of a truncated datagram / an over-long TCP line */
    /* the aggregator's */
    STATSD_R_TYPE_CONFLICT,    /* the name has another type */
    STATSD_R_LABELS,           /* the name has other tag keys */
    STATSD_R_MAX_SERIES,       /* max_series reached */
    STATSD_R_SET_FULL,         /* a set's window holds its cap of values */
    STATSD_R_REGISTER,         /* the metrics API refused (a name clash, memory) */
    STATSD_NREASONS
};

extern const char *const statsd_reason_names[STATSD_NREASONS];

struct statsd_line {
    enum statsd_type type;
    bool relative;             /* gauge: +N / -N adds */
    double value;              /* counters: already divided by the rate */
    double rate;               /* 1 when absent */
    const char *set_value;     /* sets: the raw value, in the input */
    size_t set_len;
    unsigned ntags;
    unsigned tag_errors;       /* tags skipped (no value, reserved key) */
    size_t name_len;           /* key[0..name_len) is the name */
    size_t key_len;
    char key[STATSD_KEY_MAX];
};

/* Parse one line (no '\n'; a trailing '\r' is ignored). STATSD_OK and
 * *out, or the reason. An empty line is STATSD_R_FORMAT: the caller
 * skips empty lines before. */
enum statsd_reason statsd_parse_line(const char *p, size_t len, struct statsd_line *out);

/* 64-bit hash of n bytes (the series table, the sets). */
static inline uint64_t statsd_hash(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {          /* 8 bytes a round, then FNV tail */
        uint64_t w;
        __builtin_memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

#endif
