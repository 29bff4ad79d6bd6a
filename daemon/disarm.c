/*
 * disarm.c — no plugin code may run after its module is unloaded.
 *
 * Tasks are covered by the instance's group (drained before stop() and
 * release()). Plain timers and handles are not: a plugin that arms a
 * tick_timer in start() and forgets it in stop() would have the loop
 * jump into a dlclosed module, or write into freed instance memory, long
 * after the instance is gone. So before an instance's memory is freed and
 * before its module's last reference is dropped, the daemon walks the
 * loop's timer heap and run queues for handles that live in the instance
 * memory or whose class or callback is in the module, logs each one as a
 * plugin bug and disarms it. This reads the engine's private structures
 * (the daemon is linked with the whole engine); it runs once per instance
 * stop, never on a hot path. Handles parked in a future's done-callback
 * list are out of reach: a future resolved later would still queue them.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

#include "instance.h"
#include "internal.h"
#include "log.h"

static bool in_module(const void *p, const void *base)
{
    Dl_info info;
    return p && base && dladdr(p, &info) && info.dli_fbase == base;
}

static bool owned(const tick_handle *h, const void *data, size_t size,
                  const void *base)
{
    uintptr_t a = (uintptr_t)h, lo = (uintptr_t)data;

    if (data && a >= lo && a < lo + size)
        return true;
    return base && (in_module(h, base) || in_module(h->cls, base) ||
                    (h->cls && in_module((const void *)h->cls->fn, base)));
}

static void report(tick_instance *in, const char *what, const tick_handle *h)
{
    char prefix[96];

    snprintf(prefix, sizeof prefix, "plugin:%s", in->conf->name);
    tickd_logp(TICK_LOG_ERR, prefix, "%s '%s' (callback %s) still armed "
               "after stop(); disarmed before unloading the module",
               what, h->name ? h->name : "?",
               h->cls && h->cls->fn_name ? h->cls->fn_name : "?");
}

static size_t disarm_list(tick_instance *in, tick_link *list, const void *data,
                          size_t size, const void *base)
{
    size_t n = 0;

    for (tick_link *l = list->next, *next; l != list; l = next) {
        tick_handle *h = tick_container_of(l, tick_handle, link);
        next = l->next;
        if (!owned(h, data, size, base))
            continue;
        report(in, "handle", h);
        tick_handle_cancel(h);
        n++;
    }
    return n;
}

size_t tickd_instance_disarm(tick_instance *in, bool last_ref)
{
    tick_loop *loop = in->loop;
    const void *data = in->data;
    size_t size = in->mod->desc->instance_size, n = 0;
    const void *base = last_ref ? in->mod->base : NULL;

    if (!loop)
        return 0;
    /* Stopping a timer reshapes the heap: restart the scan after each. */
    for (uint32_t i = 0; i < loop->timers.len;) {
        tick_timer *t = loop->timers.slots[i].timer;
        if (!owned(&t->handle, data, size, base)) {
            i++;
            continue;
        }
        report(in, "timer", &t->handle);
        tick_timer_stop(loop, t);
        n++;
        i = 0;
    }
    n += disarm_list(in, &loop->ready, data, size, base);
    n += disarm_list(in, &loop->running, data, size, base);
    return n;
}
