/*
 * alloc.c — the engine's allocation wrappers. One place to inject
 * failures, so the tests can walk every out-of-memory path.
 */
#include <stdlib.h>
#include "internal.h"

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
