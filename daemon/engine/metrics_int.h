/*
 * metrics_int.h — the engine's metrics registry (metrics.c), the parts the
 * scopes and the daemon call. Hidden: not part of the plugin API.
 */
#ifndef TICK_METRICS_INT_H
#define TICK_METRICS_INT_H

#include "tick/metrics.h"
#include "tick/scope.h"

#define TICK__METRICS_HIDDEN __attribute__((visibility("hidden")))

/* flags of tick__metric_register: the daemon's own families may use the
 * reserved prefixes (tickd_, process_) and the tickd_instance label */
#define TICK__METRIC_DAEMON 0x1u

/* Register a family owned by scope s (NULL: the current scope); fn: a
 * callback family (release and user as in tick_metric_family_callback). */
TICK__METRICS_HIDDEN int tick__metric_register(tick_scope *s, const tick_metric_desc *d,
                                               unsigned flags, tick_metric_collect_fn fn,
                                               void (*release)(void *), void *user,
                                               tick_metric_family **out);

/* scope.c / loop.c: s is being cancelled (its metrics leave the output),
 * closed (they are freed). Cheap when s owns none. */
TICK__METRICS_HIDDEN void tick__metrics_scope_cancel(tick_scope *s);
TICK__METRICS_HIDDEN void tick__metrics_scope_close(tick_scope *s);

/* The tickd_instance label value for a top scope (a child of the root):
 * by default the scope's name; the daemon strips "plugin:". The returned
 * string is copied. */
typedef const char *(*tick__metrics_name_fn)(const tick_scope *top);
TICK__METRICS_HIDDEN void tick__metrics_set_name_hook(tick__metrics_name_fn fn);

/* Tests: families registered (live), owners in the side table. */
TICK__METRICS_HIDDEN size_t tick__metrics_family_count(void);
TICK__METRICS_HIDDEN size_t tick__metrics_owner_count(void);

#endif
