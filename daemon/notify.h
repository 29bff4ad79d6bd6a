/*
 * notify.h — the systemd notification protocol, by hand.
 *
 * One AF_UNIX datagram per message to $NOTIFY_SOCKET (a path, or an
 * abstract name written "@name"), sent with MSG_DONTWAIT so a stuck
 * service manager can never block the loop. Without $NOTIFY_SOCKET every
 * call is a no-op. The variables are removed from the environment so
 * children of plugins do not talk to systemd in our name.
 * Loop-thread-only.
 */
#ifndef TICKD_NOTIFY_H
#define TICKD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Read $NOTIFY_SOCKET, $WATCHDOG_USEC, $WATCHDOG_PID and open the socket.
 * 0, or -errno when $NOTIFY_SOCKET is set but unusable (logged). */
int tickd_notify_init(void);
void tickd_notify_close(void);
bool tickd_notify_enabled(void);

/* Send one datagram (lines separated by '\n'). 0 or -errno; a failure is
 * logged once, not per message. */
int tickd_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd asked for (us), 0 if none, not for us, or
 * not valid (see below). */
uint64_t tickd_notify_watchdog_usec(void);

/*
 * $WATCHDOG_USEC, strictly: decimal digits only (no sign, no blanks, no
 * "0x"), no overflow, 1 us .. TICKD_WATCHDOG_MAX_USEC (a year; beyond,
 * "* 1000" to nanoseconds would come close to overflowing, and no one
 * means it). 0 and *usec, -EINVAL (not a number, or 0) or -ERANGE (too
 * big). tickd_notify_init() logs a value it ignores, with the reason.
 */
#define TICKD_WATCHDOG_MAX_USEC (UINT64_C(365) * 24 * 3600 * 1000000)
int tickd_notify_parse_watchdog_usec(const char *s, uint64_t *usec);

/* The ping period for a valid WATCHDOG_USEC, in ns: half of it, but never
 * less than TICKD_WATCHDOG_MIN_PERIOD (100 ms), so a tiny value cannot
 * turn the loop into a datagram pump (tickd_notify_init() warns then: a
 * watchdog under 200 ms will fire). */
#define TICKD_WATCHDOG_MIN_PERIOD (UINT64_C(100) * 1000000)
uint64_t tickd_notify_watchdog_period(uint64_t usec);

#endif
