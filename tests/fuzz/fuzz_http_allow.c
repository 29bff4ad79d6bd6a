/*
 * fuzz_http_allow.c — the http plugin's `allow =` parser and peer match
 * (plugins/http/allow.c): the first line is the list, every further line
 * a peer ("ADDR:PORT" or "[V6]:PORT", as tick_conn.peer gives them).
 *
 * Invariants: the parser gives 0 with 1..HTTP_ALLOW_MAX entries whose
 * prefix fits 128 bits, or -EINVAL with a message; an entry's own
 * address, as a peer, is allowed by the list; matching never reads past
 * the peer text (ASan) and a list of 0.0.0.0/0 and ::/0 allows every peer
 * that parses.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "fuzz.h"
#include "../../plugins/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *nl = strchr(s, '\n');
    char *peers = nl ? nl + 1 : s + strlen(s);
    if (nl)
        *nl = '\0';

    static struct http_allow a, all;
    char err[256] = "";
    int rc = http_allow_parse(&a, s, err, sizeof err);
    if (rc != 0 && rc != -EINVAL)
        abort();
    if (rc == -EINVAL && !err[0])
        abort();
    if (rc == 0) {
        if (a.n < 1 || a.n > HTTP_ALLOW_MAX)
            abort();
        for (unsigned i = 0; i < a.n; i++) {
            if (a.v[i].bits > 128)
                abort();
            char txt[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN + 16];
            if (!inet_ntop(AF_INET6, a.v[i].addr, txt, sizeof txt))
                abort();
            snprintf(peer, sizeof peer, "[%s]:1", txt);
            if (!http_allow_peer(&a, peer))
                abort();
        }
    }
    if (http_allow_parse(&all, "0.0.0.0/0 ::/0", err, sizeof err) != 0)
        abort();
    for (char *p = peers; *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        bool in_all = http_allow_peer(&all, p);
        if (rc == 0 && http_allow_peer(&a, p) && !in_all)
            abort();          /* allowed by some list: a valid address */
        if (!e)
            break;
        p = e + 1;
    }
    free(s);
    return 0;
}
