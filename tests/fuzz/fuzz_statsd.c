/*
 * fuzz_statsd.c — the statsd plugin's line parser
 * (plugins/statsd/statsd_parse.c), fed a datagram's worth of lines split
 * at '\n' as the plugin splits them.
 *
 * Invariants per line: the result is a known reason; on success the name
 * follows Prometheus' rules, the series key is "name" then "\1k\2v" per
 * tag with keys strictly increasing and valid label names, every length
 * within its buffer, the value finite, the rate in (0, 1], a set's value
 * inside the input; the same bytes parse to the same result twice.
 */
#include <assert.h>
#include <math.h>

#include "fuzz.h"
#include "../../plugins/statsd/statsd_parse.h"

static bool name_char(char c, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || (colon && c == ':');
}

static void check(const char *p, size_t n)
{
    static struct statsd_line l, l2;
    enum statsd_reason r = statsd_parse_line(p, n, &l);
    assert(r >= STATSD_OK && r < STATSD_R_TYPE_CONFLICT);
    assert(statsd_parse_line(p, n, &l2) == r);
    if (r != STATSD_OK)
        return;
    assert(l.name_len >= 1 && l.name_len <= STATSD_NAME_MAX);
    assert(l.key_len >= l.name_len && l.key_len <= STATSD_KEY_MAX);
    assert(!(l.key[0] >= '0' && l.key[0] <= '9'));
    for (size_t i = 0; i < l.name_len; i++)
        assert(name_char(l.key[i], true));
    assert(l.type < STATSD_NTYPES);
    assert(l.rate > 0 && l.rate <= 1);
    assert(isfinite(l.value));
    if (l.type == STATSD_COUNTER)
        assert(l.value >= 0);
    if (l.type == STATSD_SET)
        assert(l.set_len > 0 && l.set_value >= p && l.set_value + l.set_len <= p + n);
    /* the tags: \1 key \2 value, keys increasing */
    unsigned tags = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (size_t i = l.name_len; i < l.key_len;) {
        assert(l.key[i] == STATSD_SEP_KEY);
        size_t k = ++i;
        while (i < l.key_len && l.key[i] != STATSD_SEP_VAL) {
            assert(name_char(l.key[i], false));
            i++;
        }
        assert(i < l.key_len && i > k);
        assert(!(l.key[k] >= '0' && l.key[k] <= '9') || l.key[k] == '_');
        size_t kl = i - k;
        if (prev) {
            size_t m = kl < prev_len ? kl : prev_len;
            int c = memcmp(prev, l.key + k, m);
            assert(c < 0 || (c == 0 && prev_len < kl));
        }
        prev = l.key + k;
        prev_len = kl;
        i++;
        while (i < l.key_len && l.key[i] != STATSD_SEP_KEY) {
            assert((unsigned char)l.key[i] > (unsigned char)STATSD_SEP_VAL);
            i++;
        }
        tags++;
    }
    assert(tags == l.ntags && tags <= STATSD_TAGS_MAX);
    assert(memcmp(l.key, l2.key, l.key_len) == 0 && l.key_len == l2.key_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes: ASan catches a read past the end */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    const char *p = buf, *end = buf + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        check(p, (size_t)(le - p));
        p = le + 1;
    }
    free(buf);
    return 0;
}
