/*
 * parse.c — value parsers shared by the daemon and its plugins
 * (tick_parse_duration, tick_parse_listen in tick/plugin.h), so a duration
 * or an address reads the same in every section of the configuration.
 */
#include <ctype.h>
#include <string.h>

#include "tick/plugin.h"
#include "tick/config.h"

static const struct {
    const char *name;
    uint64_t ns;
} duration_units[] = {
    { "ns", TICK_NSEC },
    { "us", TICK_USEC },
    { "ms", TICK_MSEC },
    { "s", TICK_SEC },
    { "m", 60 * TICK_SEC },
    { "min", 60 * TICK_SEC },
    { "h", 3600 * TICK_SEC },
};

/*
 * "250ms", "5s", "1.5s", "2m", "1h", "100us", "10ns"; a bare number is
 * seconds. The fraction is kept to the nanosecond (digits past that are
 * ignored) and the result must fit in 64 bits of nanoseconds (~584 years).
 */
TICK_API int tick_parse_duration(const char *s, uint64_t *ns)
{
    unsigned __int128 whole = 0, frac = 0, frac_scale = 1, total, unit = TICK_SEC;
    const char *p = s;
    bool digits = false;

    if (!s || !ns)
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (unsigned)(*p - '0');
        if (whole > UINT64_MAX)
            return -EINVAL;
        digits = true;
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++) {
            if (frac_scale < TICK_SEC) {
                frac = frac * 10 + (unsigned)(*p - '0');
                frac_scale *= 10;
            }
            digits = true;
        }
    }
    if (!digits)
        return -EINVAL;
    if (*p) {
        size_t i;
        for (i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++)
            if (strcmp(p, duration_units[i].name) == 0)
                break;
        if (i == sizeof duration_units / sizeof duration_units[0])
            return -EINVAL;
        unit = duration_units[i].ns;
    }
    total = whole * unit + frac * unit / frac_scale;
    if (total > UINT64_MAX)
        return -EINVAL;
    *ns = (uint64_t)total;
    return 0;
}

static int parse_port(const char *p, uint16_t *port)
{
    unsigned long v = 0;
    size_t n = 0;

    for (; isdigit((unsigned char)*p); p++, n++) {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return -EINVAL;
    }
    if (n == 0 || *p)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static int copy_host(const char *h, size_t len, char *host, size_t hostlen)
{
    if (len >= hostlen)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)h[i]) || h[i] == '[' || h[i] == ']' ||
            h[i] == '/')
            return -EINVAL;
    memcpy(host, h, len);
    host[len] = '\0';
    return 0;
}

/*
 * "HOST:PORT", "[V6ADDR]:PORT", ":PORT", "*:PORT" or "PORT". host gets ""
 * for "any address". Port 0 is accepted (the kernel picks one). An IPv6
 * address must be bracketed: "::1:80" is ambiguous and refused.
 */
TICK_API int tick_parse_listen(const char *s, char *host, size_t hostlen,
                               uint16_t *port)
{
    const char *colon;
    int rc;

    if (!s || !host || hostlen == 0 || !port)
        return -EINVAL;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end || end == s + 1 || end[1] != ':')
            return -EINVAL;
        if ((rc = copy_host(s + 1, (size_t)(end - s - 1), host, hostlen)) < 0)
            return rc;
        return parse_port(end + 2, port);
    }
    colon = strchr(s, ':');
    if (!colon) {
        host[0] = '\0';
        return parse_port(s, port);
    }
    if (strchr(colon + 1, ':'))
        return -EINVAL;
    if (colon - s == 1 && *s == '*')
        rc = copy_host(s, 0, host, hostlen);
    else
        rc = copy_host(s, (size_t)(colon - s), host, hostlen);
    if (rc < 0)
        return rc;
    return parse_port(colon + 1, port);
}

/* ---- the quoting rule (tick/config.h) -------------------------------- */

/* One scan for both: blanks outside quotes are kept (unquote) or split
 * words (split). Writes at most strlen(s) + 1 bytes. */
static int quote_scan(const char *s, char *out, size_t outlen, bool split,
                      const char **words, size_t maxwords)
{
    size_t o = 0, n = 0;
    bool in_q = false, in_word = false;

    if (!s || !out || outlen == 0 || (split && (!words || maxwords == 0)))
        return -EINVAL;
    for (const char *p = s;; p++) {
        char c = *p;
        if (!in_q && (c == '\0' || (split && (c == ' ' || c == '\t')))) {
            if (split && in_word) {
                if (o == outlen)
                    return -ENOSPC;
                out[o++] = '\0';
                in_word = false;
            }
            if (c == '\0')
                break;
            continue;
        }
        if (c == '\0')
            return -EINVAL;              /* unterminated quote */
        if (split && !in_word) {
            if (n + 1 >= maxwords)
                return -ENOSPC;
            words[n++] = out + o;
            in_word = true;
        }
        if (c == '"') {
            in_q = !in_q;
            continue;
        }
        if (in_q && c == '\\' && (p[1] == '"' || p[1] == '\\'))
            c = *++p;
        if (o == outlen)
            return -ENOSPC;
        out[o++] = c;
    }
    if (split) {
        words[n] = NULL;
        return (int)n;
    }
    if (o == outlen)
        return -ENOSPC;
    out[o] = '\0';
    return (int)o;
}

TICK_API int tick_unquote(const char *s, char *out, size_t outlen)
{
    return quote_scan(s, out, outlen, false, NULL, 0);
}

TICK_API int tick_split_words(const char *s, char *buf, size_t buflen,
                              const char **words, size_t maxwords)
{
    return quote_scan(s, buf, buflen, true, words, maxwords);
}

TICK_API int tick_parse_size(const char *s, uint64_t *bytes)
{
    static const char units[] = "kmgt";
    unsigned __int128 v = 0;
    const char *p = s;
    const char *u;

    if (!s || !bytes || !isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > UINT64_MAX)
            return -EINVAL;
    }
    if (*p && (u = strchr(units, tolower((unsigned char)*p)))) {
        for (long i = 0; i <= u - units; i++)
            v *= 1024;
        p++;
        if (*p == 'i' && p[1] == 'B')
            p++;
    }
    if (*p == 'B' || *p == 'b')
        p++;
    if (*p || v > UINT64_MAX)
        return -EINVAL;
    *bytes = (uint64_t)v;
    return 0;
}
