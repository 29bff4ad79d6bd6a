/*
 * log.h — the daemon's logging (internal; plugins use tick_log()).
 *
 * Lines go to stderr, one write each, never blocking: a stream that does
 * not take them (a stalled journald) gets them later from a bounded
 * buffer, or loses them, counted ("N log lines dropped: stderr was not
 * draining"), see logbuf.h. When journald reads stderr ($JOURNAL_STREAM
 * names our fd 2) each line starts with a syslog priority "<N>" so the
 * journal keeps the level; on a terminal or a pipe the line is
 * "tickd: [level: ]message". Logging is thread-safe (tick_log from pool
 * workers); the settings (init, level) are loop-thread-only.
 */
#ifndef TICKD_LOG_H
#define TICKD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "tick/plugin.h"

/* Detect journald on stderr and how to write it without blocking. Call
 * at start-up (again after stderr changed). */
void tickd_log_init(void);
/* Write what is buffered as far as stderr takes it; true while lines
 * (or the dropped note) still wait. Call from a timer. */
bool tickd_log_flush(void);
/* At exit: flush, waiting at most half a second for stderr. */
void tickd_log_flush_at_exit(void);
/* Messages above this level (TICK_LOG_*) are dropped. Default info. */
void tickd_log_set_level(int level);
int tickd_log_level(void);
bool tickd_log_journal(void);
/* Log lines dropped because stderr did not drain, since start (metrics). */
unsigned long tickd_log_dropped_total(void);

/* Log one line from the daemon itself. */
void tickd_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Log one line with "prefix: " before the message (prefix may be NULL). */
void tickd_logv(int level, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* tickd_logv with varargs. */
void tickd_logp(int level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Route the engine's own messages (API misuse, fds a cancel closed)
 * through the daemon's log, prefixed like tick_log(). */
void tickd_log_engine_init(void);

/* A `tickd -t` error: the bare "FILE:LINE: message" line on stderr (what
 * scripts and tests read), with the "<3>" priority in front when stderr
 * is the journal, so a failed ExecStartPre= is recorded as an error. One
 * write(2); never filtered by log_level. */
void tickd_log_check_error(const char *msg);

/* Parse "err|warning|notice|info|debug" (and a few aliases). 0 or -EINVAL. */
int tickd_log_parse_level(const char *s, int *level);
const char *tickd_log_level_name(int level);

#endif
