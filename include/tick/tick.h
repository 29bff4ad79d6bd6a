/*
 * tick/tick.h — everything a plugin author needs, in one include.
 * Build a plugin outside the tree with:
 *     cc -shared -fPIC $(pkg-config --cflags tickd) -o my.so my.c
 */
#ifndef TICK_TICK_H
#define TICK_TICK_H

#include "common.h"
#include "loop.h"
#include "future.h"
#include "task.h"
#include "timer.h"
#if __has_include("io.h")
#include "io.h"
#endif
#if __has_include("sys.h")
#include "sys.h"
#endif
#if __has_include("sync.h")
#include "sync.h"
#endif
#if __has_include("compose.h")
#include "compose.h"
#endif
#if __has_include("plugin.h")
#include "plugin.h"
#endif

#endif
