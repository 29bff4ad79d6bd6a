/*
 * tick/plugin.h — writing a task plugin.
 *
 * A plugin is a shared object that exports one descriptor symbol,
 * `tick_plugin_descriptor`, made with TICK_PLUGIN(). The daemon loads it
 * with dlopen(RTLD_NOW | RTLD_LOCAL) and resolves the tick_ API from
 * itself, so a plugin links against nothing:
 *
 *     cc -shared -fPIC $(pkg-config --cflags tickd) -o hello.so hello.c
 *
 * Each config section [plugin:NAME] with `module = hello` is one
 * *instance*; a module can run as many instances as it has sections.
 *
 *     #include <tick/tick.h>
 *     #include <string.h>
 *
 *     struct hello { char who[64]; tick_timer t; };
 *
 *     static int hello_configure(tick_instance *in, const char *key, const char *val)
 *     {
 *         struct hello *h = tick_instance_data(in);
 *         if (!key) {                        // the whole section: defaults
 *             if (!h->who[0])
 *                 snprintf(h->who, sizeof h->who, "world");
 *             return 0;
 *         }
 *         if (strcmp(key, "who") != 0)
 *             return tick_instance_error(in, "unknown key '%s'", key);
 *         snprintf(h->who, sizeof h->who, "%s", val);
 *         return 0;
 *     }
 *     static void hello_fire(tick_handle *hd)
 *     {
 *         struct hello *h = tick_container_of(hd, struct hello, t.handle);
 *         tick_log(TICK_LOG_INFO, "hello, %s", h->who);
 *     }
 *     static int hello_start(tick_instance *in)
 *     {
 *         struct hello *h = tick_instance_data(in);
 *         tick_timer_init(&h->t, "hello", hello_fire);
 *         return tick_call_later(tick_instance_loop(in), &h->t, TICK_SEC);
 *     }
 *     // no stop() needed: the instance's scope disarms h->t (below)
 *     TICK_PLUGIN(.name = "hello", .version = "1.0",
 *                 .instance_size = sizeof(struct hello),
 *                 .configure = hello_configure,
 *                 .start = hello_start);
 *
 * Life of an instance (all on the loop thread):
 *   1. The daemon allocates instance_size zeroed bytes (tick_instance_data).
 *   2. With a key table (.keys, tick/config.h: the way to write a new
 *      plugin) the daemon parses the section into the instance memory,
 *      then calls configure(in, NULL, NULL) if there is one. Without:
 *      configure(in, key, value) once per key of the section, in file
 *      order (module = and reuse_port = are the daemon's and are not
 *      passed; the value unquoted, tick/config.h), then
 *      configure(in, NULL, NULL) once to check the whole (required keys).
 *      Return 0, or the value of tick_instance_error(): the daemon reports
 *      it as FILE:LINE: message for the offending key. configure must not
 *      start anything: it also runs for `tickd -t` and for a reload that
 *      may be rejected.
 *   3. start(in): open sockets, start tasks, arm timers. Return 0 or a
 *      negative errno (with tick_instance_error() for the message).
 *   4. On stop/reload/shutdown the daemon cancels the instance's scope,
 *      waits until it has drained (bounded by the stop deadline), then
 *      calls stop(in), then release(in), closes the scope, frees the
 *      instance memory and, with the module's last instance, dlcloses it.
 *      Past the deadline stop() runs anyway, and the memory and module
 *      stay until the scope has drained.
 *   5. release(in) is also called for an instance that was configured
 *      and never started (a failed -t check or rejected reload). The
 *      instance memory itself is freed by the daemon after release.
 * The instance is a scope (scope.h): everything the plugin creates while
 * its code runs (start, stop, configure, release, any callback or task
 * step of the instance) belongs to the instance: tasks, timers, handles
 * queued or parked in a future's done-callback list, tick_fds, thread-pool
 * jobs, child processes, signal and sync waits, and whatever those create.
 * Cancelling the scope ends them all (a running pool job cannot be
 * interrupted: the scope waits until fn has returned; children get
 * SIGTERM, then SIGKILL after 2 s); the log names what was cancelled. So
 * by stop() nothing of the instance is armed or running any more, stop()
 * only has to undo what is not a source (say, tell a peer goodbye), and
 * release() may free the plugin's own heap objects (a malloc'd timer)
 * safely. Nothing is left armed at dlclose: no plugin code runs after it.
 * An instance whose task fails is logged with its name; other instances
 * are not disturbed.
 *
 * Reload: a changed instance is replaced by a new incarnation (a new
 * instance memory, configure() and start() again). A stateless module's
 * new incarnation starts while the old one still serves, on the same
 * leased sockets (tick/listen.h); the old one's leases then end
 * (-ESHUTDOWN: finish your connections) and what is left of it is
 * cancelled after stop_timeout. A module with TICK_PLUGIN_STATEFUL is
 * stopped, then started. reconfigure() changes values in place.
 *
 * ABI: major must equal the daemon's; a plugin built for an older minor
 * still loads. Rebuild plugins against the installed headers when the
 * daemon says the major differs.
 */
#ifndef TICK_PLUGIN_H
#define TICK_PLUGIN_H

#include <stdarg.h>
#include "loop.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TICK_PLUGIN_ABI_MAJOR 3   /* 3.2: tick_call_before_poll,
                                     tick_server_draining (a 3.1
                                     daemon refuses a 3.2 plugin);
                                     3.1: descriptor keys (tick/config.h)
                                     and description; new functions: the
                                     SDK (stream.h, server.h), metrics.h,
                                     tick_instance_set_ready, tick_spawn_in
                                     (a 3.0 daemon refuses a 3.1 plugin);
                                     3.0: tick_task's own flags, resume offset;
                                     descriptor flags and reconfigure();
                                     2.0: scopes (tick_task, tick_handle) */
#define TICK_PLUGIN_ABI_MINOR 2
#define TICK_PLUGIN_SYMBOL "tick_plugin_descriptor"

typedef struct tick_instance tick_instance;  /* owned by the daemon */

typedef struct tick_plugin {
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *name;
    const char *version;
    size_t instance_size;
    int (*configure)(tick_instance *in, const char *key, const char *value);
    int (*start)(tick_instance *in);
    void (*stop)(tick_instance *in);
    void (*release)(tick_instance *in);   /* optional */
    /* ---- since ABI 3.0 (every 3.x descriptor has these) ---- */
    unsigned flags;                       /* TICK_PLUGIN_* below */
    /* Optional: change keys of a running instance in place on reload.
     * Called (with the instance's scope current) once per key whose value
     * changed, with the new value, then once with (NULL, NULL) to commit.
     * Only when the section differs in values alone (same keys in the
     * same order, same module file): adding, removing or reordering keys
     * restarts the instance. Return 0 to accept; < 0 means "restart
     * instead" (the daemon then starts a new incarnation, configured from
     * the new section, as for any change; keys already accepted by this
     * call are the plugin's to forget on (NULL, NULL) never coming: the
     * old incarnation is retired anyway). The new values were validated
     * by configure() on a fresh incarnation before this is called. */
    int (*reconfigure)(tick_instance *in, const char *key, const char *value);
    /* ---- since ABI 3.1 (the daemon reads it only from a descriptor
     * whose abi_minor is >= 1) ---- */
    /* Optional: the keys, a table ended by TICK_KEY_END (tick/config.h).
     * With a table the daemon parses the section into the instance
     * memory; configure() (optional then) is only called once with
     * (NULL, NULL), to check constraints between keys, and reconfigure()
     * only with (NULL, NULL), after live keys were stored. */
    const tick_key *keys;
    /* Optional: one line saying what the module does, for `tickd
     * --describe` and the tickd.ini(5) page ("A TCP echo server."). */
    const char *description;
} tick_plugin;

/* flags: the module keeps state that two incarnations must not share (a
 * data file, counters, a supervised child): on reload its old incarnation
 * is stopped first and the new one started after, while the daemon holds
 * its listening sockets open (connects wait in the backlog). Without it
 * (stateless, the default) the new incarnation starts first on the same
 * sockets and the old one then drains. */
#define TICK_PLUGIN_STATEFUL 0x1u

#define TICK_PLUGIN(...)                                                    \
    TICK_API extern const tick_plugin tick_plugin_descriptor;               \
    TICK_API const tick_plugin tick_plugin_descriptor = {                   \
        .abi_major = TICK_PLUGIN_ABI_MAJOR,                                 \
        .abi_minor = TICK_PLUGIN_ABI_MINOR,                                 \
        __VA_ARGS__ }

/* The instance's zeroed private memory (instance_size bytes). */
TICK_API void *tick_instance_data(tick_instance *in);
/* The section name after "plugin:". Valid for the instance's life. */
TICK_API const char *tick_instance_name(const tick_instance *in);
TICK_API tick_loop *tick_instance_loop(const tick_instance *in);

/* Record why configure/start failed; returns -EINVAL for `return`. */
TICK_API int tick_instance_error(tick_instance *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Per-instance STATUS= text for systemd (the daemon joins instances). */
TICK_API void tick_instance_set_status(tick_instance *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Readiness: an instance that runs but cannot serve yet (kv loading its
 * data file) says so; the http plugin's /healthz then answers 503 with
 * the reason and /status shows it. Every instance starts ready. reason
 * (NULL ok) is copied (at most 159 bytes), newlines become spaces.
 * Loop-thread-only. */
TICK_API void tick_instance_set_ready(tick_instance *in, bool ready, const char *reason);

/* Log levels are syslog's. */
enum {
    TICK_LOG_ERR = 3, TICK_LOG_WARNING = 4, TICK_LOG_NOTICE = 5,
    TICK_LOG_INFO = 6, TICK_LOG_DEBUG = 7,
};
/* Log a line (printf format; newlines in it become spaces) at level
 * TICK_LOG_ERR..TICK_LOG_DEBUG; lines above the daemon's log_level are
 * dropped. Prefixed with the current scope's name ("plugin:NAME: ", and
 * any server or connection scope below it) when called from an
 * instance's code. Threads: safe from any thread — it formats into a stack
 * buffer and writes the line with one write(2) on stderr, so lines never
 * interleave and nothing is shared. On a pool worker (tick_run_in_thread's
 * fn) the prefix is the scope of the job (the one current when it was
 * submitted); on a thread of your own there is no prefix. A full stderr
 * pipe blocks the caller for as long as the write takes. */
TICK_API void tick_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parsers plugins share with the daemon, so values read the same way
 * everywhere. Return 0 or -EINVAL. */
/* "250ms", "5s", "2m", "1h", "100us", "10ns"; a bare number is seconds. */
TICK_API int tick_parse_duration(const char *s, uint64_t *ns);
/* A listen address. Accepted: "HOST:PORT" (HOST an IPv4 address or a
 * name, not resolved here), "[V6ADDR]:PORT", ":PORT", "*:PORT" and "PORT"
 * (the last three: any address, host = ""). PORT is decimal digits only,
 * 0..65535 (0: the kernel picks one). Refused with -EINVAL: an unbracketed
 * IPv6 address ("::1:80" is ambiguous), "[]:PORT", a missing or bad port,
 * blanks, '/', '[' or ']' inside HOST, a HOST that does not fit in hostlen
 * (with its NUL), NULL arguments. On failure *port is left untouched but
 * host may have been written (with "" or the HOST part): use neither. */
TICK_API int tick_parse_listen(const char *s, char *host, size_t hostlen,
                               uint16_t *port);

#ifdef __cplusplus
}
#endif
#endif /* TICK_PLUGIN_H */
