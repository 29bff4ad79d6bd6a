/*
 * exitguard.c — turn a plugin's exit() during its load into an error
 * (exitguard.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "exitguard.h"
#include "log.h"

/* copies: the handler may run after the caller's strings are gone */
static struct {
    unsigned depth;
    char what[16], name[128], path[4096], instance[128], file[4096];
    int line;
} guard;
static bool guard_test;

static void exit_handler(int status, void *arg)
{
    struct tickd_error err = { 0 };
    (void)arg;

    if (guard.depth == 0)
        return;
    guard.depth = 0;
    tickd_error_set(&err, guard.file, guard.line, "plugin:%s: plugin module '%s' "
                    "(%s) called exit() while %s (exit status %d)", guard.instance,
                    guard.name, guard.path, guard.what, status);
    if (guard_test) {
        fprintf(stderr, "%s\n", err.msg);
        fflush(stderr);
    } else {
        tickd_log(TICK_LOG_ERR, "%s; exiting with status %d", err.msg, EX_SOFTWARE);
        tickd_log_flush_at_exit();
    }
    /* not the plugin's status: a failure, so systemd restarts us */
    _exit(EX_SOFTWARE);
}

void tickd_exit_guard_init(bool test)
{
    guard_test = test;
    on_exit(exit_handler, NULL);
}

void tickd_exit_guard_enter(const char *what, const char *name, const char *path,
                            const char *instance, const char *file, int line)
{
    if (guard.depth++ > 0)
        return;
    snprintf(guard.what, sizeof guard.what, "%s", what ? what : "loading");
    snprintf(guard.name, sizeof guard.name, "%s", name ? name : "?");
    snprintf(guard.path, sizeof guard.path, "%s", path ? path : "?");
    snprintf(guard.instance, sizeof guard.instance, "%s", instance ? instance : "?");
    snprintf(guard.file, sizeof guard.file, "%s", file ? file : "");
    guard.line = line;
}

void tickd_exit_guard_leave(void)
{
    if (guard.depth > 0)
        guard.depth--;
}
