/*
 * fuzz_watchdog.c — tickd_notify_parse_watchdog_usec (daemon/notify.c):
 * the strict $WATCHDOG_USEC parser. On success the value is in range and
 * the ping period computed from it does not overflow.
 */
#include <errno.h>

#include "fuzz.h"
#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    uint64_t usec = 0;
    int rc = tickd_notify_parse_watchdog_usec(s, &usec);

    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);
    if (rc == 0) {
        uint64_t period = tickd_notify_watchdog_period(usec);
        FUZZ_CHECK(usec >= 1 && usec <= TICKD_WATCHDOG_MAX_USEC);
        FUZZ_CHECK(strspn(s, "0123456789") == strlen(s));
        FUZZ_CHECK(period >= TICKD_WATCHDOG_MIN_PERIOD);
        /* half the interval, floored (notify.h) */
        FUZZ_CHECK(period == (usec * 500 < TICKD_WATCHDOG_MIN_PERIOD ?
                              TICKD_WATCHDOG_MIN_PERIOD : usec * 500));
    }
    free(s);
    return 0;
}
