/*
 * allow.c — the `allow =` list: which peers may connect.
 *
 * Addresses are kept as 16 bytes, IPv4 ones mapped (::ffff:a.b.c.d), so a
 * peer that reached a dual-stack [::] socket over IPv4 matches the IPv4
 * entries and one prefix compare serves both families. The peer is read
 * from the server's "ADDR:PORT" text (tick_conn.peer), not with another
 * getpeername(). Pure: unit-tested and fuzzed alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* "a.b.c.d" or a v6 address (no brackets) into 16 bytes; *v4 set. */
static bool addr_parse(const char *s, uint8_t out[16], bool *v4)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, &a4, 4);
        *v4 = true;
        return true;
    }
    *v4 = false;
    return inet_pton(AF_INET6, s, out) == 1;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (a[full] & mask) == (b[full] & mask);
}

int http_allow_parse(struct http_allow *a, const char *s, char *err, size_t errlen)
{
    a->n = 0;
    while (*s) {
        char tok[64];
        size_t n = strcspn(s, ", \t");
        if (n == 0) {
            s++;
            continue;
        }
        if (n >= sizeof tok) {
            snprintf(err, errlen, "allow: '%.*s...' is not an address", 20, s);
            return -EINVAL;
        }
        memcpy(tok, s, n);
        tok[n] = '\0';
        s += n;
        if (a->n == HTTP_ALLOW_MAX) {
            snprintf(err, errlen, "allow: more than %d entries", HTTP_ALLOW_MAX);
            return -EINVAL;
        }
        struct http_cidr *c = &a->v[a->n];
        char *slash = strchr(tok, '/');
        long bits = -1;
        if (slash) {
            char *end;
            *slash = '\0';
            if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
                goto bad;
            bits = strtol(slash + 1, &end, 10);
            if (*end)
                goto bad;
        }
        bool v4;
        if (!addr_parse(tok, c->addr, &v4))
            goto bad;
        if (bits > (v4 ? 32 : 128))
            goto bad;
        if (bits < 0)
            bits = v4 ? 32 : 128;
        c->bits = (uint8_t)(v4 ? 96 + bits : bits);
        a->n++;
        continue;
    bad:
        if (slash)
            *slash = '/';
        snprintf(err, errlen, "allow: '%s' is not an address or CIDR "
                 "(A.B.C.D[/0-32] or IPV6[/0-128])", tok);
        return -EINVAL;
    }
    if (a->n == 0) {
        snprintf(err, errlen, "allow: empty list (nobody could connect)");
        return -EINVAL;
    }
    return 0;
}

bool http_allow_peer(const struct http_allow *a, const char *peer)
{
    char host[64];
    const char *h = peer, *end;
    uint8_t addr[16];
    bool v4;

    if (!peer)
        return false;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
    } else {
        end = strrchr(h, ':');
    }
    if (!end || (size_t)(end - h) >= sizeof host)
        return false;
    memcpy(host, h, (size_t)(end - h));
    host[end - h] = '\0';
    if (!addr_parse(host, addr, &v4))
        return false;
    for (unsigned i = 0; i < a->n; i++)
        if (prefix_eq(addr, a->v[i].addr, a->v[i].bits))
            return true;
    return false;
}
