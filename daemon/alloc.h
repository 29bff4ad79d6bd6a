/*
 * alloc.h — the daemon's allocations go through the engine's allocator
 * (daemon/engine/alloc.c), whose failure injector the OOM walk uses
 * (tests/unit/test_daemon_oom_walk.c). The memory is malloc's: free()
 * releases it. Hidden: not part of what plugins can link against.
 */
#ifndef TICKD_ALLOC_H
#define TICKD_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

#define TICKD_ALLOC_HIDDEN __attribute__((visibility("hidden")))

TICKD_ALLOC_HIDDEN void *tick__malloc(size_t n);
TICKD_ALLOC_HIDDEN void *tick__calloc(size_t n, size_t size);
TICKD_ALLOC_HIDDEN void *tick__realloc(void *p, size_t n);
TICKD_ALLOC_HIDDEN char *tick__strdup(const char *s);
TICKD_ALLOC_HIDDEN char *tick__strndup(const char *s, size_t n);
TICKD_ALLOC_HIDDEN int tick__vasprintf(char **out, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
TICKD_ALLOC_HIDDEN int tick__asprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* tests: make the n-th allocation from now fail (0 = never); how many
 * are still to go before it (0 once it was hit); every call so far */
TICKD_ALLOC_HIDDEN void tick_test_fail_alloc_after(unsigned long n);
TICKD_ALLOC_HIDDEN unsigned long tick_test_alloc_pending(void);
TICKD_ALLOC_HIDDEN unsigned long tick_test_alloc_calls(void);

#endif
