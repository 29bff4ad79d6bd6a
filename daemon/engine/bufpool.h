/*
 * bufpool.h — the loop's pool of fixed-size stream buffers (not installed).
 *
 * A tick_stream takes a buffer only while it holds bytes (read data not
 * consumed yet, or queued writes) and gives it back as soon as it is
 * empty, so an idle connection holds none. Free buffers are kept on a
 * per-loop list (up to TICK__BUFS_KEEP, 4 MiB), so the steady state of a
 * busy server allocates nothing; beyond that they go back to malloc.
 * Loop-thread-only.
 */
#ifndef TICK_ENGINE_BUFPOOL_H
#define TICK_ENGINE_BUFPOOL_H

#include "internal.h"

#define TICK__BUF_SIZE (16 * 1024)
#define TICK__BUFS_KEEP 256u

/* A TICK__BUF_SIZE buffer, or NULL (-ENOMEM). */
TICK_HIDDEN void *tick__buf_get(tick_loop *loop);
/* Give b (from tick__buf_get; NULL ok) back. */
TICK_HIDDEN void tick__buf_put(tick_loop *loop, void *b);
/* Buffers free in the pool now (tests). */
TICK_HIDDEN unsigned tick__bufs_free(const tick_loop *loop);

#endif
