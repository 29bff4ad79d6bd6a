/*
 * fuzz_parse.c — tick_parse_duration and tick_parse_listen (daemon/parse.c)
 * on any string: never a crash, and on success the results are sane.
 */
#include <errno.h>

#include "fuzz.h"
#include "tick/plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    uint64_t ns = 0;
    /* sizes a plugin might pass, the smallest being 1 ("" only) */
    static const size_t hostlens[] = { 1, 2, 16, 64, 256 };
    int rc;

    rc = tick_parse_duration(s, &ns);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0)
        FUZZ_CHECK(strlen(s) > 0);

    for (size_t i = 0; i < sizeof hostlens / sizeof hostlens[0]; i++) {
        size_t hostlen = hostlens[i];
        char *host = malloc(hostlen);   /* exactly hostlen: ASan bounds */
        unsigned port = 70000;
        uint16_t p = 0;
        if (!host)
            abort();
        memset(host, 'X', hostlen);
        rc = tick_parse_listen(s, host, hostlen, &p);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL);
        if (rc == 0) {
            port = p;
            FUZZ_CHECK(port <= 65535);
            FUZZ_CHECK(memchr(host, '\0', hostlen) != NULL);
            FUZZ_CHECK(strchr(host, '[') == NULL && strchr(host, ']') == NULL);
            FUZZ_CHECK(strlen(host) < strlen(s));
        }
        free(host);
    }
    free(s);
    return 0;
}
