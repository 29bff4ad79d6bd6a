/*
 * run.c — tickd_run(): command line, signal mask and signal dispatch,
 * start-up, `-t`, and the exit after the loop (the shutdown itself is
 * daemon.c's). main.c only calls it; the unit tests call it in-process.
 *
 * Start-up is all or nothing (collectd's lessons): every instance is
 * configured before any starts, every instance must start, and only then
 * does systemd hear READY=1. Any error exits with EX_CONFIG (78) after
 * stopping what had started.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "control.h"
#include "daemon.h"
#include "exitguard.h"
#include "keys.h"
#include "module.h"
#include "listen.h"
#include "log.h"
#include "metrics_daemon.h"
#include "notify.h"

#ifndef TICKD_VERSION
#define TICKD_VERSION "0.0.0"
#endif
/* the build's SYSCONFDIR (Makefile), as the unit's @SYSCONFDIR@ */
#ifndef TICKD_SYSCONFDIR
#define TICKD_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG TICKD_SYSCONFDIR "/tickd/tickd.ini"
/* the build's PLUGINDIR: --describe without a configuration file */
#ifndef TICKD_DEFAULT_PLUGINDIR
#define TICKD_DEFAULT_PLUGINDIR "/usr/local/lib/tickd/plugins"
#endif

static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
#define NSIG_HANDLED (sizeof handled_signals / sizeof handled_signals[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tickd [-c FILE] [-t] [--trace]\n"
            "       tickd [-c FILE] --describe [--man] [MODULE...]\n"
            "       tickd reload [-c FILE] [--socket PATH] [--timeout DURATION]\n"
            "       tickd status [-c FILE] [--socket PATH] [--timeout DURATION]\n"
            "       tickd -V | -h\n"
            "Run the tick loop and the plugin instances FILE configures, in the\n"
            "foreground (default FILE: " DEFAULT_CONFIG ").\n"
            "\n"
            "  -c, --config FILE  configuration file\n"
            "  -t, --test         check the configuration and every plugin it\n"
            "                     names, print 'configuration OK' and exit\n"
            "      --trace        print a line per tick on stdout\n"
            "      --describe     print each MODULE's name, version and keys (a\n"
            "                     name in FILE's plugin_dir, or a path to a .so);\n"
            "                     no MODULE: every module in plugin_dir\n"
            "      --man          with --describe: roff for the man page\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "\n"
            "Control commands, over the running daemon's control socket\n"
            "(control_socket of FILE, else $RUNTIME_DIRECTORY/control, else\n"
            TICKD_CONTROL_DEFAULT "):\n"
            "  reload             reload FILE as SIGHUP does and wait for the verdict:\n"
            "                     exit 0, 78 rejected (FILE:LINE: message on stderr),\n"
            "                     1 in force but an instance failed to start\n"
            "  status             print one line per instance (as SIGUSR1 logs)\n"
            "  --socket PATH      the control socket to use\n"
            "  --timeout DURATION how long to wait (reload: 2 x stop_timeout + 10s)\n"
            "They exit 69 when no daemon answers, 75 when it does not answer in time.\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop, SIGHUP reloads FILE, SIGUSR1 logs\n"
            "counters. Exit status: 0, 64 usage, 78 configuration, 70/71 internal,\n"
            "69 (--describe) a module that cannot be loaded.\n");
}

/*
 * Signals nobody owns whose default action terminates the process
 * (SIGUSR2, SIGALRM, SIGIO, SIGPROF, SIGVTALRM, SIGPWR, SIGSTKFLT and the
 * real-time signals) would kill tickd: a stray `kill -USR2` or a
 * library's timer signal ends every instance. They get a handler that does
 * nothing, not SIG_IGN: the kernel discards an ignored signal at
 * generation even while it is blocked, so a plugin's tick_signal_wait()
 * (which blocks the signal and reads it from a signalfd) would never see
 * it; a caught signal that is blocked stays pending for the signalfd.
 * Handlers are reset to the default at exec, so children are unaffected.
 * Not touched: the daemon's own (SIGHUP, SIGTERM, SIGINT, SIGUSR1, which
 * must still kill a tickd stuck before the loop runs), SIGPIPE (ignored
 * below), SIGCHLD (default "ignore" without SIG_IGN's auto-reaping:
 * children are reaped through pidfds), SIGQUIT and the fault and limit
 * signals (SIGSEGV, SIGABRT, SIGXCPU, ...), whose core dump is wanted.
 */
static void stray_signal(int signo)
{
    (void)signo;
}

static void catch_stray_signals(void)
{
    static const int stray[] = {
        SIGUSR2, SIGALRM, SIGIO, SIGPROF, SIGVTALRM, SIGPWR,
#ifdef SIGSTKFLT
        SIGSTKFLT,
#endif
    };
    struct sigaction sa = { .sa_handler = stray_signal, .sa_flags = SA_RESTART };

    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stray / sizeof stray[0]; i++)
        sigaction(stray[i], &sa, NULL);
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        sigaction(s, &sa, NULL);
}

static void signal_fired(tick_handle *h);

#define SIGNAL_RETRY_NS (100 * TICK_MSEC)

/* The wait could not be made (out of memory): try again in 100 ms. The
 * engine keeps a delivery that arrives meanwhile (sys.h), and a signal it
 * does not own yet stays blocked and pending in the kernel, so none is
 * lost. If even the timer cannot be armed, the next tick tries again. */
static void signal_retry_later(struct tickd *d, struct tickd_sigwatch *w)
{
    if (tick_call_later(d->loop, &w->retry, SIGNAL_RETRY_NS) < 0)
        /* cannot fail: a handle is intrusive, scheduling it allocates nothing */
        tick_call_soon(d->loop, &w->retry.handle);
}

/* Arm the wait for w's signal, or schedule a retry. 0 when armed. */
static int signal_arm(struct tickd *d, struct tickd_sigwatch *w)
{
    w->f = tick_signal_wait(d->loop, w->signo);
    if (!w->f) {
        signal_retry_later(d, w);
        return -ENOMEM;
    }
    /* an error future (out of memory too) comes back through
     * signal_fired, which retries */
    tick_future_add_done_callback(w->f, &w->fired);
    return 0;
}

static void signal_retry(tick_handle *h)
{
    struct tickd_sigwatch *w = tick_container_of(h, struct tickd_sigwatch, retry.handle);
    signal_arm(&tickd_main, w);
}

static void signal_fired(tick_handle *h)
{
    struct tickd_sigwatch *w = tick_container_of(h, struct tickd_sigwatch, fired);
    struct tickd *d = &tickd_main;
    int err = tick_future_error(w->f);

    w->f = tick_future_unref(w->f);
    if (err == -ECANCELED)
        return;   /* signals_disarm */
    if (err < 0) {
        tickd_log(TICK_LOG_ERR, "waiting for signal %s: %s (trying again)",
                  strsignal(w->signo), strerror(-err));
        signal_retry_later(d, w);
        return;
    }
    if (signal_arm(d, w) < 0)
        tickd_log(TICK_LOG_ERR, "cannot wait for signal %s: out of memory "
                  "(trying again)", strsignal(w->signo));
    switch (w->signo) {
    case SIGTERM:
        tickd_begin_shutdown(d, "SIGTERM");
        break;
    case SIGINT:
        tickd_begin_shutdown(d, "SIGINT");
        break;
    case SIGHUP:
        tickd_reload(d);
        break;
    case SIGUSR1:
        tickd_stats_log(d);
        break;
    }
}

static void signals_disarm(struct tickd *d)
{
    for (size_t i = 0; i < NSIG_HANDLED; i++) {
        struct tickd_sigwatch *w = &d->sig[i];
        tick_timer_stop(d->loop, &w->retry);
        tick_handle_cancel(&w->retry.handle);   /* a retry scheduled without a timer */
        if (!w->f)
            continue;
        tick_future_remove_done_callback(w->f, &w->fired);
        tick_future_cancel(w->f);
        w->f = tick_future_unref(w->f);
    }
}

/* ---- tickd --describe ------------------------------------------------ */

static int describe_one(const char *arg, const char *plugin_dir, bool roff)
{
    char path[4096], name[256];
    struct tickd_error err = { 0 };
    struct tickd_module *m;
    const char *base = strrchr(arg, '/');
    size_t n;

    if (base) {
        snprintf(path, sizeof path, "%s", arg);
        base++;
    } else {
        snprintf(path, sizeof path, "%s/%s.so", plugin_dir, arg);
        base = arg;
    }
    n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".so") == 0)
        n -= 3;
    if (n == 0 || n >= sizeof name) {
        fprintf(stderr, "tickd: --describe: bad module name '%s'\n", arg);
        return EX_USAGE;
    }
    memcpy(name, base, n);
    name[n] = '\0';
    if (tickd_module_get(name, path, name, NULL, 0, &m, &err) < 0) {
        fprintf(stderr, "tickd: %s\n", err.msg);
        return EX_UNAVAILABLE;
    }
    tickd_keys_describe(stdout, m->desc->name ? m->desc->name : name,
                        m->desc->version, m->description, m->keys, roff);
    tickd_module_put(m);
    return 0;
}

static int so_filter(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 3 && strcmp(e->d_name + n - 3, ".so") == 0;
}

static int byte_order(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* argv[0..argc-1]: the modules; none: every *.so of plugin_dir. */
static int describe(const char *config, bool config_given, int argc, char **argv,
                    bool roff)
{
    struct tickd_config *cfg = NULL;
    struct tickd_error err = { 0 };
    const char *dir = TICKD_DEFAULT_PLUGINDIR;
    struct dirent **names = NULL;
    bool need_dir = argc == 0;
    int rc = 0, n;

    for (int i = 0; i < argc; i++)
        need_dir |= !strchr(argv[i], '/');
    if (need_dir) {
        struct stat st;
        if (!config_given && stat(config, &st) < 0 && errno == ENOENT) {
            fprintf(stderr, "tickd: no configuration file %s: looking for modules "
                    "in %s (the build's default)\n", config, dir);
        } else if (tickd_config_load(config, &cfg, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return EX_CONFIG;
        } else {
            dir = cfg->d.plugin_dir;
        }
    }
    tickd_exit_guard_init(true);
    for (int i = 0; i < argc; i++) {
        int r = describe_one(argv[i], dir, roff);
        if (r && !rc)
            rc = r;
        if (i + 1 < argc && !roff)
            putchar('\n');
    }
    if (argc == 0) {
        if ((n = scandir(dir, &names, so_filter, byte_order)) < 0) {
            fprintf(stderr, "tickd: plugin_dir %s: %s\n", dir, strerror(errno));
            tickd_config_free(cfg);
            return EX_UNAVAILABLE;
        }
        if (!roff)
            printf("modules in %s:%s\n", dir, n ? "" : " none");
        for (int i = 0; i < n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            if (!roff)
                putchar('\n');
            int r = describe_one(path, dir, roff);
            if (r && !rc)
                rc = r;
            free(names[i]);
        }
        free(names);
    }
    tickd_config_free(cfg);
    fflush(stdout);
    return rc;
}

/* Configure every instance (load + configure); all or nothing. */
static int configure_all(struct tickd *d, tick_link *out, struct tickd_error *err)
{
    for (size_t i = 0; i < d->cfg->nsec; i++) {
        const struct tickd_section *sec = &d->cfg->sec[i];
        tick_instance *in;
        int rc;
        /* dlopen (constructors) and configure(): an exit() there is ours */
        tickd_exit_guard_enter("loading", sec->module, sec->module_path,
                               sec->name, sec->file, sec->module_line);
        rc = tickd_instance_new(d->loop, sec, &in, err);
        tickd_exit_guard_leave();
        if (rc < 0) {
            while (!tick_list_empty(out)) {
                in = tick_container_of(out->next, tick_instance, link);
                tick_link_remove(&in->link);
                tickd_instance_discard(in);
            }
            return -EINVAL;
        }
        tick_list_append(out, &in->link);
    }
    return 0;
}

static int check_config(struct tickd *d)
{
    struct tickd_error err = { 0 };
    tick_link list = TICK_LINK_INIT(list);

    if (configure_all(d, &list, &err) < 0) {
        tickd_log_check_error(err.msg);
        return EX_CONFIG;
    }
    while (!tick_list_empty(&list)) {
        tick_instance *in = tick_container_of(list.next, tick_instance, link);
        tick_link_remove(&in->link);
        tickd_instance_discard(in);
    }
    printf("configuration OK\n");
    return 0;
}

/* Start every configured instance; on the first failure stop the others
 * and return -1 (the loop then runs until they are stopped). */
static int start_all(struct tickd *d, tick_link *configured)
{
    struct tickd_error err = { 0 };
    int rc;

    while (!tick_list_empty(configured)) {
        tick_instance *in = tick_container_of(configured->next, tick_instance, link);
        tick_link_remove(&in->link);
        tick_list_append(&d->running, &in->link);
        tickd_exit_guard_enter("starting", in->conf->module, in->conf->module_path,
                               in->conf->name, in->conf->file, in->conf->line);
        rc = tickd_instance_start(in, &err);
        tickd_exit_guard_leave();
        if (rc < 0) {
            tickd_log(TICK_LOG_ERR, "%s", err.msg);
            while (!tick_list_empty(configured)) {
                in = tick_container_of(configured->next, tick_instance, link);
                tick_link_remove(&in->link);
                tickd_instance_discard(in);
            }
            return -1;
        }
    }
    return 0;
}

static void cleanup(struct tickd *d)
{
    int rc;

    signals_disarm(d);
    tickd_control_close(d);   /* its tasks end in the loop turns below */
    tick_timer_stop(d->loop, &d->watchdog);
    tick_timer_stop(d->loop, &d->status_timer);
    tick_timer_stop(d->loop, &d->log_timer);
    /* let cancelled futures and finished tasks settle */
    if ((rc = tick_loop_run_until_idle(d->loop, 1000)) < 0)
        tickd_log(TICK_LOG_DEBUG, "loop not idle: %s", strerror(-rc));
    tickd_config_free(d->new_cfg);
    tickd_config_free(d->cfg);
    d->cfg = d->new_cfg = NULL;
    /* the listeners (systemd's too): their tick_fds would keep the loop */
    if (tickd_instance_count() == 0)
        tickd_listen_shutdown();
    d->close_rc = -EBUSY;
    if (tickd_instance_count() == 0 && (rc = d->close_rc = tick_loop_close(d->loop)) < 0)
        tickd_log(TICK_LOG_DEBUG, "loop not closed: %s", strerror(-rc));
    tickd_notify_close();
}

int tickd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "test", no_argument, NULL, 't' },
        { "trace", no_argument, NULL, 'T' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { "describe", no_argument, NULL, 'D' },
        { "man", no_argument, NULL, 'M' },
        { NULL, 0, NULL, 0 },
    };
    struct tickd *d = &tickd_main;
    struct tickd_error err = { 0 };
    tick_link configured = TICK_LINK_INIT(configured);
    bool test = false, trace = false, describe_mode = false, roff = false;
    bool config_given = false;
    sigset_t mask;
    int c, rc;

    d->config_path = DEFAULT_CONFIG;
    /* `tickd reload|status`: a client of the running daemon (control.h);
     * none of the daemon's options or set-up applies */
    if (argc > 1 && (strcmp(argv[1], "reload") == 0 || strcmp(argv[1], "status") == 0)) {
        signal(SIGPIPE, SIG_IGN);
        tickd_log_init();   /* errors at priority 3 when stderr is the journal */
        return tickd_ctl_main(argc - 1, argv + 1, DEFAULT_CONFIG);
    }
    while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': d->config_path = optarg; config_given = true; break;
        case 'D': describe_mode = true; break;
        case 'M': roff = true; break;
        case 't': test = true; break;
        case 'T': trace = true; break;
        case 'V': printf("tickd %s\n", TICKD_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (roff && !describe_mode) {
        fprintf(stderr, "tickd: --man goes with --describe\n");
        usage(stderr);
        return EX_USAGE;
    }
    if (describe_mode) {
        if (test || trace) {
            fprintf(stderr, "tickd: --describe goes with -c and --man only\n");
            usage(stderr);
            return EX_USAGE;
        }
        tickd_log_init();
        return describe(d->config_path, config_given, argc - optind, argv + optind, roff);
    }
    if (optind < argc) {
        fprintf(stderr, "tickd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }

    signal(SIGPIPE, SIG_IGN);
    catch_stray_signals();

    tickd_log_init();
    /* whatever a stalled stderr did not take yet, on every way out */
    atexit(tickd_log_flush_at_exit);
    tickd_exit_guard_init(test);
    tickd_log_engine_init();
    tickd_init(d);

    if (tickd_config_load(d->config_path, &d->cfg, &err) < 0) {
        if (test)
            tickd_log_check_error(err.msg);
        else
            tickd_log(TICK_LOG_ERR, "%s", err.msg);
        return EX_CONFIG;
    }
    tickd_log_set_level(d->cfg->d.log_level);
    if ((rc = tick_loop_new(&d->loop)) < 0) {
        tickd_log(TICK_LOG_ERR, "cannot create the loop: %s", strerror(-rc));
        tickd_config_free(d->cfg);
        return EX_OSERR;
    }
    /* the daemon's own handles: first armed from inside an instance's
     * code (a status change in start()), they would join its scope */
    tick_handle_set_scope(&d->watchdog.handle, tick_loop_scope(d->loop));
    tick_handle_set_scope(&d->status_timer.handle, tick_loop_scope(d->loop));
    tick_handle_set_scope(&d->log_timer.handle, tick_loop_scope(d->loop));
    for (size_t i = 0; i < NSIG_HANDLED; i++) {
        d->sig[i].signo = handled_signals[i];
        tick_handle_init(&d->sig[i].fired, "signal", signal_fired);
        tick_handle_set_scope(&d->sig[i].fired, tick_loop_scope(d->loop));
        tick_timer_init(&d->sig[i].retry, "signal re-arm", signal_retry);
        tick_handle_set_scope(&d->sig[i].retry.handle, tick_loop_scope(d->loop));
    }

    if (test) {
        rc = check_config(d);
        cleanup(d);
        return rc;
    }
    tickd_metrics_init(d);

    /* Before any thread exists (plugins may start some, the pool does):
     * these signals are read from the loop's signalfd, so no thread may
     * take them with the default action. Not earlier: until here nothing
     * would ever read them, and a tickd stuck opening its configuration
     * (a FIFO, a hung NFS mount) must still die of SIGTERM. Not at all
     * for -t, which never runs the loop: Ctrl-C must stop it wherever a
     * plugin's configure() hangs. */
    sigemptyset(&mask);
    for (size_t i = 0; i < NSIG_HANDLED; i++)
        sigaddset(&mask, handled_signals[i]);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    /* Orphans of the plugins' children (a helper that setsid()s and whose
     * parent exits) are re-parented to tickd and reaped here, instead of
     * escaping to init. Here: before a plugin can spawn anything, and not
     * for -t, which starts no child worth reaping. */
    if ((rc = tick_process_set_subreaper(d->loop)) < 0)
        tickd_log(TICK_LOG_WARNING, "cannot become a child subreaper: %s "
                  "(orphaned helpers will be reaped by init)", strerror(-rc));

    tickd_notify_init();
    /* sockets systemd passed (LISTEN_FDS): before any instance leases */
    tickd_listen_init(d->loop);
    tickd_listen_activation();
    tickd_log_timer_start(d);
    tickd_instance_set_status_hook(tickd_status_changed);
    if (trace) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        tick_loop_set_trace(d->loop, stdout);
    }
    /* Here: the loop exists, no plugin code has run (so no thread: the
     * socket's umask is the process's), and a failure still ends the
     * start-up before any instance starts. */
    if (tickd_control_start(d, &err) < 0 ||
        configure_all(d, &configured, &err) < 0) {
        tickd_log(TICK_LOG_ERR, "%s", err.msg);
        cleanup(d);
        return EX_CONFIG;
    }
    /* a wait that cannot be made now is retried (signal_arm) */
    for (size_t i = 0; i < NSIG_HANDLED; i++)
        if (signal_arm(d, &d->sig[i]) < 0)
            tickd_log(TICK_LOG_ERR, "cannot wait for signal %s: out of memory "
                      "(trying again)", strsignal(d->sig[i].signo));
    if (d->exit_code || start_all(d, &configured) < 0) {
        /* Refuse to run half configured: stop what started, then exit. */
        while (!tick_list_empty(&configured)) {
            tick_instance *in = tick_container_of(configured.next, tick_instance, link);
            tick_link_remove(&in->link);
            tickd_instance_discard(in);
        }
        if (!d->exit_code)
            d->exit_code = EX_CONFIG;
        tickd_begin_shutdown(d, "start-up failed");
    } else {
        d->state = TICKD_RUNNING;
        tickd_apply_settings(d, d->cfg);
        tickd_notify_ready(d);
        tickd_log(TICK_LOG_INFO, "tickd %s ready: %zu instance%s from %s",
                  TICKD_VERSION, tickd_running_count(d),
                  tickd_running_count(d) == 1 ? "" : "s", d->config_path);
        if (tickd_test_hook)
            tickd_test_hook(d, TICKD_TEST_READY, true);
    }

    rc = tick_loop_run(d->loop);
    if (rc < 0) {
        tickd_log(TICK_LOG_ERR, "the loop failed: %s", strerror(-rc));
        d->exit_code = EX_SOFTWARE;
    }
    if (tickd_instance_count() > 0)
        tickd_log(TICK_LOG_WARNING, "%zu instance%s did not finish stopping",
                  tickd_instance_count(), tickd_instance_count() == 1 ? "" : "s");
    cleanup(d);
    if (d->exit_code == 0)
        tickd_log(TICK_LOG_INFO, "stopped");
    return d->exit_code;
}
