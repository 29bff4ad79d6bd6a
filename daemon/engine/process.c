/*
 * process.c — child processes watched through pidfds (tick/sys.h).
 *
 * posix_spawn starts the child in a process group of its own (its pgid is
 * its pid); pidfd_open gives an fd that becomes readable when it exits,
 * and waitid(P_PIDFD) reaps exactly that child. Until the leader is
 * reaped its pid stays a zombie, so neither the pid nor the group id
 * (the same number) can be recycled under a kill(): every kill(-pid) here
 * is sent while the child is known not to be reaped yet.
 *
 * Exit of the leader: the exit is first seen without reaping (WNOWAIT),
 * the rest of the group gets SIGKILL while the zombie still pins the
 * group id, and only then is the leader reaped. A child's helpers never
 * outlive it unless they left the group (setsid/setpgid); those are what
 * the subreaper is for.
 *
 * Without pidfd_open (ENOSYS: kernels before 5.3, or valgrind 3.19, which
 * does not know the syscall) a child is polled with waitid(P_PID, WNOHANG)
 * every POLL_NS by a timer that runs only while such a child is waited
 * for, and cancelling one reaps it at once (SIGKILL, then a short blocking
 * wait), so nothing is left to poll for a child nobody waits for.
 *
 * Subreaper (tick_process_set_subreaper): orphans re-parented to us are
 * reaped on SIGCHLD, read from the loop's signalfd through an engine hook
 * (no source: it keeps nothing open). waitid(P_ALL, WNOWAIT) names the
 * next exited child without reaping it; ours go through their own path
 * (group kill, then reap), anything else is reaped with waitpid(pid).
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tick/sys.h"
#include "tick/io.h"
#include "internal.h"
#include "sources.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define POLL_NS (10 * TICK_MSEC)

extern char **environ;

bool tick_test_process_no_pidfd;

typedef struct child {
    tick_future fut;         /* the exit future */
    tick__watch w;           /* the pidfd (w.fd), -1 when polled */
    tick_link link;          /* in procs->children until reaped */
    tick_loop *loop;
    pid_t pid;               /* and its process group id */
    bool reaped;
    tick__source src;        /* a member of its scope until reaped */
    char name[24];           /* argv[0]'s last component, for scope lists:
                              * the caller's argv need not outlive the call */
} child;

struct tick__procs {
    tick_link children;
    tick_loop *loop;
    tick_timer poll;         /* the no-pidfd fallback */
    unsigned npolled;        /* children without a pidfd, not reaped */
    bool subreaper;          /* tick_process_set_subreaper() was called */
    bool scanning;           /* inside reap_orphans() */
};

static int pidfd_open_(pid_t pid)
{
    if (tick_test_process_no_pidfd) {
        errno = ENOSYS;              /* tests: the polling fallback */
        return -1;
    }
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The leader alone, through its pidfd when there is one. */
static int child_kill(child *c, int sig)
{
    if (c->w.fd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, c->w.fd, sig, NULL, 0);
    return kill(c->pid, sig);
}

/* The whole group (callers check !c->reaped: the zombie pins the id). A
 * leader that moved itself to another group is signalled on its own too,
 * so it never escapes a cancel. */
static int child_kill_group(child *c, int sig)
{
    if (kill(-c->pid, sig) == 0 && getpgid(c->pid) == c->pid)
        return 0;
    return child_kill(c, sig);
}

static void child_finish(child *c, int status);
static int child_reap(child *c, bool block, int *status);
static void reap_orphans(struct tick__procs *p);

static void child_free(tick_future *f)
{
    free(tick_container_of(f, child, fut));
}

/* Cancel (a timeout, the awaiting task cancelled, tick_future_cancel) =
 * SIGKILL to the group; the pidfd watch stays until the child is reaped. */
static bool child_cancel(tick_future *f)
{
    child *c = tick_container_of(f, child, fut);
    int status = 0, rc;

    if (c->reaped || !c->src.pending)
        return true;
    tick__source_settle(&c->src);
    child_kill_group(c, SIGKILL);
    if (c->w.fd < 0) {
        /* polled: reap now rather than poll for nobody (a SIGKILLed
         * child exits at once); the canceller's reference keeps c */
        rc = child_reap(c, true, &status);
        child_finish(c, rc < 0 ? rc : status);
    }
    return true;
}

static const tick_future_ops child_ops = { "process", child_free, child_cancel };

/* Scope cancel: SIGTERM to the group now; the scope calls the kill hook
 * (SIGKILL to the group) after its grace if the leader is still there.
 * Members left once the leader is gone get SIGKILL when it is reaped. */
void tick__child_scope_cancel(tick__source *src)
{
    child *c = tick_container_of(src, child, src);
    if (!c->reaped)
        child_kill_group(c, SIGTERM);
}

void tick__child_scope_kill(tick__source *src)
{
    child *c = tick_container_of(src, child, src);
    if (!c->reaped)
        child_kill_group(c, SIGKILL);
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
    /* a cancelled child's future is complete already */
    tick__source_complete(&c->src, status, status < 0 ? status : 0);
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

/* waitid on this child only: 1 with *si filled, 0 still running
 * (WNOHANG), -errno. */
static int child_waitid(child *c, int flags, siginfo_t *si)
{
    idtype_t type = c->w.fd >= 0 ? (idtype_t)P_PIDFD : P_PID;
    id_t id = c->w.fd >= 0 ? (id_t)c->w.fd : (id_t)c->pid;

    *si = (siginfo_t){ .si_pid = 0 };
    while (waitid(type, id, si, flags) < 0)
        if (errno != EINTR)
            return -errno;
    return si->si_pid != 0;
}

/*
 * 1 reaped (*status set), 0 still running, -errno (-ECHILD: reaped
 * elsewhere). The exit is seen first without reaping (WNOWAIT), the rest
 * of the group gets SIGKILL while the leader's zombie still holds the
 * group id (so it can never be a recycled one), then the leader is reaped.
 */
static int child_reap(child *c, bool block, int *status)
{
    siginfo_t si;
    int rc = child_waitid(c, WEXITED | WNOWAIT | (block ? 0 : WNOHANG), &si);

    if (rc <= 0)
        return rc;
    kill(-c->pid, SIGKILL);          /* ESRCH: the leader was alone */
    rc = child_waitid(c, WEXITED | WNOHANG, &si);
    if (rc <= 0)
        return rc < 0 ? rc : -ECHILD;   /* a zombie is always reapable */
    *status = wait_status(&si);
    return 1;
}

/* Try to reap c now; true when it is finished. */
static bool child_poll_once(child *c)
{
    int status = 0;
    int rc = child_reap(c, false, &status);

    if (rc == 0)
        return false;
    child_finish(c, rc < 0 ? rc : status);   /* -ECHILD: reaped elsewhere */
    return true;
}

static void child_on_events(tick__watch *w, uint32_t events)
{
    child *c = tick_container_of(w, child, w);
    struct tick__procs *p = c->loop->procs;

    (void)events;
    /* with a subreaper, an orphan's SIGCHLD may have been taken by another
     * thread (a blocked signal is delivered to any thread that has it
     * unblocked); one more look per reaped child costs a syscall */
    if (child_poll_once(c) && p->subreaper)
        reap_orphans(p);
}

/* The fallback's timer (a resolver: it only completes futures). */
static void procs_poll(tick_handle *h)
{
    struct tick__procs *p = tick_container_of(h, struct tick__procs, poll.handle);
    tick_link *l = p->children.next;
    bool any = false;

    while (l != &p->children) {
        child *c = tick_container_of(l, child, link);
        l = l->next;                 /* c may leave the list */
        if (c->w.fd < 0)
            any |= child_poll_once(c);
    }
    if (any && p->subreaper)
        reap_orphans(p);
    if (p->npolled && !tick_timer_armed(&p->poll))
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

/* ---- subreaper ------------------------------------------------------- */

static child *find_child(struct tick__procs *p, pid_t pid)
{
    for (tick_link *l = p->children.next; l != &p->children; l = l->next) {
        child *c = tick_container_of(l, child, link);
        if (c->pid == pid)
            return c;
    }
    return NULL;
}

/*
 * Reap every exited child that is not one of ours (an orphan re-parented
 * to us). WNOWAIT names the next one without reaping it, so the status of
 * our own children is never taken from their exit futures: one of ours
 * is reaped through its own path (group kill first), which also keeps it
 * from hiding the orphans behind it. Runs in the resolve phase.
 */
static void reap_orphans(struct tick__procs *p)
{
    if (p->scanning)
        return;
    p->scanning = true;
    for (unsigned guard = 0; guard < 4096; guard++) {
        siginfo_t si = { .si_pid = 0 };
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            break;                   /* ECHILD: no children at all */
        }
        if (si.si_pid == 0)
            break;                   /* none has exited */
        child *c = find_child(p, si.si_pid);
        if (c) {
            if (!child_poll_once(c))
                break;               /* not reapable after all: no loop */
        } else if (waitpid(si.si_pid, NULL, WNOHANG) <= 0 && errno != EINTR) {
            break;
        }
    }
    p->scanning = false;
}

static void procs_sigchld(tick_loop *loop, int signo)
{
    (void)signo;
    if (loop->procs && loop->procs->subreaper)
        reap_orphans(loop->procs);
}

int tick_process_set_subreaper(tick_loop *loop)
{
    struct tick__procs *p;
    int rc;

    if (!loop)
        return -EINVAL;
    p = procs_state(loop);
    if (!p)
        return -ENOMEM;
    if (p->subreaper)
        return 0;
    /* listen before the first orphan can arrive */
    rc = tick__signal_hook(loop, SIGCHLD, procs_sigchld);
    if (rc < 0)
        return rc;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        rc = -errno;
        tick__signal_hook(loop, SIGCHLD, NULL);
        return rc;
    }
    p->subreaper = true;
    reap_orphans(p);
    return 0;
}

/* ---- spawn ----------------------------------------------------------- */

/* Give up on a child we could not watch: kill its group and reap it now. */
static void kill_and_reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* What a service manager handed to tickd itself: a child that saw these
 * would take tickd's sockets or speak for it to systemd. */
static bool env_scrubbed(const char *e)
{
    static const char *const names[] = {
        "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(e, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

/* The child's environment: env itself when nothing is to be dropped,
 * else a filtered copy of the pointers in *copy (freed by the caller),
 * built here in the parent: nothing may allocate between vfork and exec. */
static int env_filter(char *const *env, char ***copy, char *const **out)
{
    size_t n = 0, drop = 0, j = 0;

    *copy = NULL;
    *out = env;
    if (!env)
        return 0;
    for (; env[n]; n++)
        drop += env_scrubbed(env[n]);
    if (!drop)
        return 0;
    char **e = tick__malloc((n - drop + 1) * sizeof *e);
    if (!e)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!env_scrubbed(env[i]))
            e[j++] = env[i];
    e[j] = NULL;
    *copy = e;
    *out = e;
    return 0;
}

/* fds[i] >= 0 is dup2'ed onto i; everything else above 2 is closed. */
static int do_spawn(const tick_spawn_opts *o, const int fds[3], char *const *envp,
                    const char *cwd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int rc;

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
    /* after the dup2s (their sources may be above 2): the child gets 0-2
     * and nothing else, whatever a library left without O_CLOEXEC */
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* last: a relative path or program is looked up from the new cwd */
    if (rc == 0 && cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
    /* the loop blocks the signals it owns: the child must not inherit that */
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    /* a group of its own (pgid = pid), so a cancel reaches its helpers */
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                             POSIX_SPAWN_SETSIGDEF |
                                             POSIX_SPAWN_SETPGROUP);
    if (rc == 0)
        rc = o->path ? posix_spawn(pid, o->path, &fa, &attr, o->argv, envp)
                     : posix_spawnp(pid, o->argv[0], &fa, &attr, o->argv, envp);
    if (rc == 0) {
        /* as shells do: a fork-based posix_spawn (valgrind's) may return
         * before the child's own setpgid ran, and kill(-pid) must find the
         * group from now on (EACCES once it has exec'ed: already done) */
        setpgid(*pid, *pid);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

/* One requested stdio pipe: the child's end and the parent's tick_fd. */
struct stdio_pipe {
    int child_end;
    tick_fd *parent;
};

static void pipes_close(struct stdio_pipe sp[3], bool parents)
{
    for (int i = 0; i < 3; i++) {
        if (sp[i].child_end >= 0)
            close(sp[i].child_end);
        sp[i].child_end = -1;
        if (parents && sp[i].parent) {
            tick_fd_close(sp[i].parent);
            sp[i].parent = NULL;
        }
    }
}

/* Make the requested pipes. The child's end stays blocking (most programs
 * do not expect EAGAIN on their stdio); both ends are close-on-exec, the
 * dup2 in the child clears it on 0-2 only. The tick_fd joins the current
 * scope, like any tick_fd_open(). */
static int pipes_open(tick_loop *loop, tick_fd **const want[3], struct stdio_pipe sp[3])
{
    for (int i = 0; i < 3; i++) {
        int p[2], rc;
        if (!want[i])
            continue;
        if (pipe2(p, O_CLOEXEC) < 0)
            return -errno;
        int child_end = i == 0 ? p[0] : p[1];
        int parent_end = i == 0 ? p[1] : p[0];
        sp[i].child_end = child_end;
        rc = tick_fd_open(loop, parent_end, &sp[i].parent);   /* O_NONBLOCK */
        if (rc < 0) {
            close(parent_end);
            return rc;
        }
    }
    return 0;
}

static int spawn_(tick_loop *loop, const tick_spawn_opts *opts, const char *cwd, pid_t *pid,
               tick_future **exit)
{
    struct tick__procs *p;
    struct stdio_pipe sp[3] = { { -1, NULL }, { -1, NULL }, { -1, NULL } };
    char **env_copy = NULL;
    char *const *envp;
    child *c;
    pid_t cpid;
    int rc, pidfd;

    if (!loop || !opts || !opts->argv || !opts->argv[0] || !pid || !exit)
        return -EINVAL;
    tick_fd **const want[3] = { opts->stdin_pipe, opts->stdout_pipe, opts->stderr_pipe };
    const int given[3] = { opts->stdin_fd, opts->stdout_fd, opts->stderr_fd };
    for (int i = 0; i < 3; i++)
        if (want[i] && given[i] >= 0)
            return -EINVAL;          /* a pipe and an fd for one stream */
    p = procs_state(loop);
    if (!p)
        return -ENOMEM;
    c = tick__calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    rc = env_filter(opts->envp ? opts->envp : environ, &env_copy, &envp);
    if (rc == 0)
        rc = pipes_open(loop, want, sp);
    if (rc == 0) {
        int fds[3];
        for (int i = 0; i < 3; i++)
            fds[i] = want[i] ? sp[i].child_end : given[i];
        rc = do_spawn(opts, fds, envp, cwd, &cpid);
    }
    free(env_copy);
    pipes_close(sp, rc < 0);         /* the child's ends are the child's now */
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
            (rc = tick_call_later(loop, &p->poll, POLL_NS)) < 0)
            p->npolled--;
    } else if (pidfd < 0) {
        rc = -errno;
    } else if ((rc = tick__watch_add(loop, &c->w, pidfd, EPOLLIN | EPOLLET)) < 0) {
        close(pidfd);
    }
    if (rc < 0) {
        kill_and_reap(cpid);
        pipes_close(sp, true);
        free(c);
        return rc;
    }
    tick_future_init(&c->fut, loop, &child_ops);
    tick_list_append(&p->children, &c->link);
    const char *base = strrchr(opts->argv[0], '/');
    snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : opts->argv[0]);
    /* the engine's reference until reaped */
    tick__source_arm(loop, &c->src, TICK_SCOPE_CHILD, c->name, &c->fut);
    for (int i = 0; i < 3; i++)
        if (want[i])
            *want[i] = sp[i].parent;  /* the caller's from here on */
    *pid = cpid;
    *exit = &c->fut;
    return 0;
}

int tick_spawn(tick_loop *loop, const tick_spawn_opts *opts, pid_t *pid,
               tick_future **exit)
{
    return spawn_(loop, opts, NULL, pid, exit);
}

int tick_spawn_in(tick_loop *loop, const tick_spawn_opts *opts, const char *cwd,
                  pid_t *pid, tick_future **exit)
{
    if (!cwd || !*cwd)
        return -EINVAL;
    return spawn_(loop, opts, cwd, pid, exit);
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

        if (c->src.pending && !tick_future_done(&c->fut)) {
            tick__source_settle(&c->src);
            tick_future_set_error(&c->fut, -ECANCELED);
        }
        child_kill_group(c, SIGKILL);
        rc = child_reap(c, true, &status);
        child_finish(c, rc < 0 ? rc : status);
    }
    if (p->subreaper)
        reap_orphans(p);             /* the last zombies the loop can see */
    tick_timer_stop(loop, &p->poll);
    free(p);
    loop->procs = NULL;
}
