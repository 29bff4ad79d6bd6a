/*
 * process.c — child processes watched through pidfds (tick/sys.h).
 *
 * posix_spawn starts the child; pidfd_open gives an fd that becomes
 * readable when it exits, and waitid(P_PIDFD) reaps exactly that child.
 * Until it is reaped the pid stays a zombie, so it cannot be recycled
 * under a kill(). No SIGCHLD handler: nothing process-global is touched.
 *
 * Without pidfd_open (ENOSYS: kernels before 5.3, or valgrind 3.19, which
 * does not know the syscall) a child is polled with waitid(P_PID, WNOHANG)
 * every POLL_NS by a timer that runs only while such a child is waited
 * for, and cancelling one reaps it at once (SIGKILL, then a short blocking
 * wait), so nothing is left to poll for a child nobody waits for.
 */
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tick/sys.h"
#include "internal.h"
#include "sources.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define POLL_NS (10 * TICK_MSEC)

extern char **environ;

typedef struct child {
    tick_future fut;         /* the exit future */
    tick__watch w;           /* the pidfd (w.fd), -1 when polled */
    tick_link link;          /* in procs->children until reaped */
    tick_loop *loop;
    pid_t pid;
    bool reaped;
    bool cancelled;          /* the exit future was cancelled */
    tick__source src;        /* a member of its scope until reaped */
} child;

struct tick__procs {
    tick_link children;
    tick_loop *loop;
    tick_timer poll;         /* the no-pidfd fallback */
    unsigned npolled;        /* children without a pidfd, not reaped */
};

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int child_kill(child *c, int sig)
{
    if (c->w.fd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, c->w.fd, sig, NULL, 0);
    return kill(c->pid, sig);
}

static void child_finish(child *c, int status);
static int child_reap(child *c, int flags, int *status);

static void child_free(tick_future *f)
{
    free(tick_container_of(f, child, fut));
}

/* Cancel = SIGKILL; the pidfd watch stays until the child is reaped. */
static bool child_cancel(tick_future *f)
{
    child *c = tick_container_of(f, child, fut);
    int status = 0, rc;

    if (c->reaped || c->cancelled)
        return true;
    c->cancelled = true;
    tick__loop_active_dec(c->loop);
    child_kill(c, SIGKILL);
    if (c->w.fd < 0) {
        /* polled: reap now rather than poll for nobody (a SIGKILLed
         * child exits at once); the canceller's reference keeps c */
        rc = child_reap(c, 0, &status);
        child_finish(c, rc < 0 ? rc : status);
    }
    return true;
}

static const tick_future_ops child_ops = { "process", child_free, child_cancel };

/* Scope cancel: SIGTERM now; the scope sends SIGKILL after its grace. */
void tick__child_scope_cancel(tick__source *src)
{
    child *c = tick_container_of(src, child, src);
    if (!c->reaped)
        child_kill(c, SIGTERM);
}

void tick__child_scope_kill(tick__source *src)
{
    child *c = tick_container_of(src, child, src);
    if (!c->reaped)
        child_kill(c, SIGKILL);
}

/* Reaped (status >= 0) or lost (< 0): unwatch, close, complete. */
static void child_finish(child *c, int status)
{
    if (c->w.fd >= 0) {
        tick__watch_del(c->loop, &c->w);
        close(c->w.fd);
    } else if (--c->loop->procs->npolled == 0) {
        tick_timer_stop(c->loop, &c->loop->procs->poll);   /* nobody to poll */
    }
    c->reaped = true;
    tick_link_remove(&c->link);
    tick__source_done(&c->src);
    if (!tick_future_done(&c->fut) && !c->cancelled) {
        if (status < 0)
            tick_future_set_error(&c->fut, status);
        else
            tick_future_set_result(&c->fut, status);
        tick__loop_active_dec(c->loop);
    }
    tick_future_unref(&c->fut);      /* the engine's */
}

/* The wait status waitpid() would have given. */
static int wait_status(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED:
        return (si->si_status & 0xff) << 8;
    case CLD_KILLED:
        return si->si_status & 0x7f;
    case CLD_DUMPED:
        return (si->si_status & 0x7f) | 0x80;
    default:
        return 0;
    }
}

static int child_reap(child *c, int flags, int *status)
{
    siginfo_t si = { .si_pid = 0 };
    idtype_t type = c->w.fd >= 0 ? (idtype_t)P_PIDFD : P_PID;
    id_t id = c->w.fd >= 0 ? (id_t)c->w.fd : (id_t)c->pid;

    for (;;) {
        if (waitid(type, id, &si, WEXITED | flags) == 0)
            break;
        if (errno != EINTR)
            return -errno;
    }
    if (si.si_pid == 0)
        return 0;                    /* WNOHANG: still running */
    *status = wait_status(&si);
    return 1;
}

static void child_on_events(tick__watch *w, uint32_t events)
{
    child *c = tick_container_of(w, child, w);
    int status = 0, rc;

    (void)events;
    rc = child_reap(c, WNOHANG, &status);
    if (rc == 0)
        return;
    child_finish(c, rc < 0 ? rc : status);   /* -ECHILD: reaped elsewhere */
}

/* The fallback's timer (a resolver: it only completes futures). */
static void procs_poll(tick_handle *h)
{
    struct tick__procs *p = tick_container_of(h, struct tick__procs, poll.handle);
    tick_link *l = p->children.next;

    while (l != &p->children) {
        child *c = tick_container_of(l, child, link);
        int status = 0;
        l = l->next;                 /* c may leave the list */
        if (c->w.fd < 0) {
            int rc = child_reap(c, WNOHANG, &status);
            if (rc != 0)
                child_finish(c, rc < 0 ? rc : status);
        }
    }
    if (p->npolled)
        tick_call_later(p->loop, &p->poll, POLL_NS);
}

static const tick_handle_class poll_cls = { procs_poll, "procs_poll" };

static struct tick__procs *procs_state(tick_loop *loop)
{
    if (!loop->procs) {
        struct tick__procs *p = tick__calloc(1, sizeof *p);
        if (!p)
            return NULL;
        p->loop = loop;
        tick_link_init(&p->children);
        tick__timer_init_resolver(&p->poll, "process poll", &poll_cls);
        loop->procs = p;
    }
    return loop->procs;
}

/* Give up on a child we could not watch: kill it and reap it now. */
static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static int do_spawn(const tick_spawn_opts *o, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int rc;
    const int fds[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd };

    rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return -rc;
    rc = posix_spawnattr_init(&attr);
    if (rc) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    for (int i = 0; i < 3 && rc == 0; i++)
        if (fds[i] >= 0)
            rc = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    /* the loop blocks the signals it owns: the child must not inherit that */
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) {
        char *const *envp = o->envp ? o->envp : environ;
        rc = o->path ? posix_spawn(pid, o->path, &fa, &attr, o->argv, envp)
                     : posix_spawnp(pid, o->argv[0], &fa, &attr, o->argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

int tick_spawn(tick_loop *loop, const tick_spawn_opts *opts, pid_t *pid,
               tick_future **exit)
{
    struct tick__procs *p;
    child *c;
    pid_t cpid;
    int rc, pidfd;

    if (!loop || !opts || !opts->argv || !opts->argv[0] || !pid || !exit)
        return -EINVAL;
    p = procs_state(loop);
    if (!p)
        return -ENOMEM;
    c = tick__calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    rc = do_spawn(opts, &cpid);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->loop = loop;
    c->pid = cpid;
    c->w.on_events = child_on_events;
    c->w.fd = -1;
    pidfd = pidfd_open_(cpid);
    if (pidfd < 0 && errno == ENOSYS) {
        p->npolled++;                /* the fallback: poll this one */
        if (!tick_timer_armed(&p->poll) &&
            (rc = tick_call_later(loop, &p->poll, POLL_NS)) < 0) {
            p->npolled--;
            kill_and_reap(cpid);
            free(c);
            return rc;
        }
    } else if (pidfd < 0) {
        rc = -errno;
        kill_and_reap(cpid);
        free(c);
        return rc;
    } else if ((rc = tick__watch_add(loop, &c->w, pidfd, EPOLLIN | EPOLLET)) < 0) {
        close(pidfd);
        kill_and_reap(cpid);
        free(c);
        return rc;
    }
    tick_future_init(&c->fut, loop, &child_ops);
    tick_future_ref(&c->fut);        /* the engine's, until reaped */
    tick_list_append(&p->children, &c->link);
    tick__source_arm(loop, &c->src, TICK_SCOPE_CHILD, opts->argv[0]);
    tick__loop_active_inc(loop);
    *pid = cpid;
    *exit = &c->fut;
    return 0;
}

int tick_process_kill(tick_future *exit, int sig)
{
    child *c;

    if (!exit || exit->ops != &child_ops)
        return -EINVAL;
    c = tick_container_of(exit, child, fut);
    if (c->reaped)
        return -ESRCH;
    if (child_kill(c, sig) < 0)
        return -errno;
    return 0;
}

void tick__process_shutdown(tick_loop *loop)
{
    struct tick__procs *p = loop->procs;

    if (!p)
        return;
    while (!tick_list_empty(&p->children)) {
        child *c = tick_container_of(p->children.next, child, link);
        int status = 0, rc;

        if (!c->cancelled && !tick_future_done(&c->fut)) {
            c->cancelled = true;
            tick__loop_active_dec(loop);
            tick_future_set_error(&c->fut, -ECANCELED);
        }
        child_kill(c, SIGKILL);
        rc = child_reap(c, 0, &status);
        child_finish(c, rc < 0 ? rc : status);
    }
    tick_timer_stop(loop, &p->poll);
    free(p);
    loop->procs = NULL;
}
