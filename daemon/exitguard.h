/*
 * exitguard.h — a plugin that calls exit() while it is being loaded.
 *
 * A plugin constructor (or configure/start) that calls exit(0) would make
 * `tickd -t` exit 0 without "configuration OK", and a running daemon exit
 * 0 at SIGHUP, which Restart=on-failure does not restart. An on_exit
 * handler registered at start-up checks whether such a call is in
 * progress (tickd_exit_guard_enter/leave around dlopen and the
 * descriptor's calls) and, if so, logs "plugin module 'X' (PATH) called
 * exit() while loading" and ends the process with _exit(EX_SOFTWARE).
 * An exit() anywhere else is left alone. Loop-thread-only.
 */
#ifndef TICKD_EXITGUARD_H
#define TICKD_EXITGUARD_H

#include <stdbool.h>

/* Register the handler. test: `tickd -t` (the error goes to stderr as
 * FILE:LINE: message, as -t prints every error), else through the log. */
void tickd_exit_guard_init(bool test);
/* Plugin code of module name (path) for instance at file:line may run
 * until the matching leave; what is "loading" or "starting". Nests: the
 * outermost names the module. */
void tickd_exit_guard_enter(const char *what, const char *name, const char *path,
                            const char *instance, const char *file, int line);
void tickd_exit_guard_leave(void);

#endif
