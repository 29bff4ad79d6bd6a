/*
 * tick/tick.h — everything a plugin author needs, in one include.
 * Build a plugin outside the tree with:
 *     cc -shared -fPIC $(pkg-config --cflags tickd) -o my.so my.c
 *
 * Map of the API:
 *   common.h   conventions (negative errno), intrusive lists, time units
 *   loop.h     the Loop and Handles: call_soon, run, stop, trace, stats
 *   future.h   Futures: results, errors, done-callbacks, references
 *   task.h     Tasks and the coroutine macros (read its rules)
 *   timer.h    call_later, sleep
 *   io.h       fd readiness and read/write/accept/connect futures
 *   sys.h      signals, child processes, the thread pool
 *   compose.h  gather, first-of, timeout
 *   sync.h     Event, Queue, Semaphore, Lock
 *   plugin.h   the plugin descriptor and instance API
 *   config.h   a plugin's keys declared in a table, parsed by the daemon
 *   listen.h   listening sockets leased from the daemon (TCP, UDP)
 *   stream.h   buffered streams: read_line/until/exact, a write queue
 *   server.h   TCP servers (a task per connection) and UDP receivers
 *   metrics.h  counters, gauges, histograms; the Prometheus renderer
 */
#ifndef TICK_TICK_H
#define TICK_TICK_H

#include "common.h"
#include "loop.h"
#include "scope.h"
#include "future.h"
#include "task.h"
#include "timer.h"
#include "io.h"
#include "sys.h"
#include "compose.h"
#include "sync.h"
#include "config.h"
#include "plugin.h"
#include "listen.h"
#include "stream.h"
#include "server.h"
#include "metrics.h"

#endif
