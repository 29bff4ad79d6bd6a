/* http_peer.h — libhttp-parser-dev's side of bench/http_parse.c. */
#ifndef TICK_BENCH_HTTP_PEER_H
#define TICK_BENCH_HTTP_PEER_H

#include <stddef.h>

/* Parse one request head (in two reads if first != 0); 0 if accepted
 * whole, -1 otherwise. */
int http_peer_parse(const char *buf, size_t len, size_t first, volatile size_t *sink);
/* major << 16 | minor << 8 | patch */
unsigned long http_peer_version(void);

#endif
