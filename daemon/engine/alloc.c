/*
 * alloc.c — the engine's allocation wrappers. One place to inject
 * failures, so the tests can walk every out-of-memory path.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "../alloc.h"

/* 0 = never fail; n = the n-th allocation from now fails (once). Only the
 * test suites set this, from the loop thread. */
static unsigned long fail_countdown;
static unsigned long alloc_calls;       /* every call, for the walk's report */

void tick_test_fail_alloc_after(unsigned long n) { fail_countdown = n; }
unsigned long tick_test_alloc_pending(void) { return fail_countdown; }
unsigned long tick_test_alloc_calls(void) { return alloc_calls; }

static bool should_fail(void)
{
    alloc_calls++;
    if (__builtin_expect(fail_countdown == 0, 1))
        return false;
    return --fail_countdown == 0;
}

void *tick__malloc(size_t n) { return should_fail() ? NULL : malloc(n); }
void *tick__calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n, size); }
void *tick__realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n); }

/* The daemon's own allocations (daemon/alloc.h) go through the same
 * countdown, so the daemon's out-of-memory paths can be walked too. */
char *tick__strdup(const char *s)
{
    return should_fail() ? NULL : strdup(s);
}

char *tick__strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : strndup(s, n);
}

int tick__vasprintf(char **out, const char *fmt, va_list ap)
{
    if (should_fail()) {
        *out = NULL;
        return -1;
    }
    return vasprintf(out, fmt, ap);
}

int tick__asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = tick__vasprintf(out, fmt, ap);
    va_end(ap);
    return n;
}
