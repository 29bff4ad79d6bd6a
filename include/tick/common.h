/*
 * tick/common.h — shared building blocks of the tickd public API.
 *
 * Conventions used by every tick_ function:
 *   - Functions that can fail return >= 0 on success and a negative errno
 *     value on failure (-EINVAL for a caller mistake, -ENOMEM, ...). There is
 *     no second error channel: errno is not meaningful after a tick_ call.
 *   - Everything is loop-thread-only unless its comment says otherwise.
 *     The only calls safe from any thread are tick_call_threadsafe() and
 *     tick_loop_wakeup().
 *   - Objects that the engine schedules (handles, timers, tasks) are
 *     intrusive: you embed them in your own struct and get back to it with
 *     tick_container_of(). Scheduling never allocates.
 */
#ifndef TICK_COMMON_H
#define TICK_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the symbols the daemon exports to plugins; everything else in the
 * daemon is hidden (-fvisibility=hidden). */
#define TICK_API __attribute__((visibility("default")))

#define tick_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * An intrusive circular doubly-linked list node (libuv's QUEUE idea).
 * An unlinked node points at itself, so "is it linked?" and "unlink" are
 * O(1) and need no reference to the list head. Embed; never allocate.
 */
typedef struct tick_link {
    struct tick_link *next;
    struct tick_link *prev;
} tick_link;

#define TICK_LINK_INIT(l) { &(l), &(l) }

static inline void tick_link_init(tick_link *l) { l->next = l->prev = l; }
static inline bool tick_link_linked(const tick_link *l) { return l->next != l; }
static inline bool tick_list_empty(const tick_link *head) { return head->next == head; }

/* Append n at the tail of the list whose head is h. n must be unlinked. */
static inline void tick_list_append(tick_link *h, tick_link *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

/* Remove n from whatever list holds it; n is left unlinked (self-pointing).
 * Safe on an unlinked node. */
static inline void tick_link_remove(tick_link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* Move every node of src to the tail of dst, in order; src ends empty. O(1). */
static inline void tick_list_splice(tick_link *dst, tick_link *src)
{
    if (tick_list_empty(src))
        return;
    src->next->prev = dst->prev;
    dst->prev->next = src->next;
    src->prev->next = dst;
    dst->prev = src->prev;
    tick_link_init(src);
}

/* Nanoseconds, the unit of every duration and deadline in the API. */
#define TICK_NSEC  ((uint64_t)1)
#define TICK_USEC  ((uint64_t)1000)
#define TICK_MSEC  ((uint64_t)1000000)
#define TICK_SEC   ((uint64_t)1000000000)

#ifdef __cplusplus
}
#endif
#endif /* TICK_COMMON_H */
