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

/* The watchdog interval systemd asked for (us), 0 if none or not for us. */
uint64_t tickd_notify_watchdog_usec(void);

#endif
