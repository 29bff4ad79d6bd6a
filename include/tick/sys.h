/*
 * tick/sys.h — results from the system: signals, child processes, and
 * blocking work run on a thread pool.
 *
 *     struct supervisor {
 *         tick_task task;
 *         pid_t pid;
 *         tick_future *exit;             // kept across the read's await
 *         tick_fd *out;                  // the child's stdout
 *         char buf[64];
 *     };
 *
 *     static intptr_t count(void *arg) { return (intptr_t)strlen(arg); }
 *
 *     static int supervisor_step(tick_task *t)
 *     {
 *         struct supervisor *s = tick_container_of(t, struct supervisor, task);
 *         tick_loop *loop = tick_task_loop(t);
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         // blocking work, off the loop thread
 *         TICK_AWAIT(t, tick_run_in_thread(loop, count, "data"), rc);
 *         // a child with its stdout on a pipe; the exit future resolves
 *         // with the wait status
 *         static char *const argv[] = { "sh", "-c", "echo hi; exit 7", NULL };
 *         tick_spawn_opts opts = TICK_SPAWN_OPTS_INIT(argv);
 *         opts.stdout_pipe = &s->out;
 *         if (tick_spawn(loop, &opts, &s->pid, &s->exit) < 0)
 *             TICK_FAIL(t, -EAGAIN);
 *         TICK_AWAIT(t, tick_fd_read(s->out, s->buf, sizeof s->buf - 1), rc);
 *         if (rc > 0)
 *             printf("child says %.*s", (int)rc, s->buf);
 *         tick_fd_close(s->out);         // the caller's: close it
 *         TICK_AWAIT(t, s->exit, rc);
 *         if (rc >= 0 && WIFEXITED(rc))
 *             printf("exit %d\n", WEXITSTATUS((int)rc));
 *         // wait for SIGHUP
 *         TICK_AWAIT(t, tick_signal_wait(loop, SIGHUP), rc);
 *         TICK_RETURN(t, rc);                   // SIGHUP
 *         TICK_END(t);
 *     }
 *
 * Every function returning a future gives the caller one reference, which
 * TICK_AWAIT consumes; NULL means -ENOMEM. The engine keeps its own
 * reference while a signal, child or thread can still resolve it, so the
 * caller may drop its reference early. Loop-thread-only, except the fn
 * given to tick_run_in_thread(), which runs on a worker thread.
 */
#ifndef TICK_SYS_H
#define TICK_SYS_H

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- signals -------------------------------------------------------- */

/*
 * A future that completes with signo when the signal is delivered.
 * The loop reads signals from one signalfd whose mask grows with each new
 * signal waited on; the first wait for a signal blocks it with
 * pthread_sigmask() in the calling thread, and it stays blocked (and
 * consumed by the loop) until the process exits.
 * Threads: a blocked signal is still delivered to any other thread that
 * has it unblocked, and then never reaches the signalfd (for SIGTERM the
 * default action kills the process). The daemon therefore blocks its
 * signals in main() before it starts any thread; a plugin must do nothing
 * less than start its threads with every signal blocked (the pool does).
 * Delivery: every waiter of the signal completes. Signals coalesce as the
 * kernel's do: several deliveries before the loop reads them count once,
 * and one delivery with nobody waiting is remembered, so the next wait for
 * that signal completes at once (a SIGHUP sent between two reloads is not
 * lost). Cancelling the future just removes the waiter.
 * -EINVAL (as a failed future) for SIGKILL, SIGSTOP or a bad number.
 * Out of memory (NULL, or a future failed with -ENOMEM): the wait was not
 * made and the signal is as it was. One not owned yet is left alone (not
 * blocked, not in the mask: nothing is left blocked and unread). One the
 * loop owns stays in the signalfd's mask and is read as ever, a delivery
 * with nobody waiting is remembered, and the next wait that can be made
 * completes with it at once: a caller whose wait failed must try again
 * (later, say from a timer), or it never hears the signal.
 */
TICK_API tick_future *tick_signal_wait(tick_loop *loop, int signo);

/* ---- child processes ------------------------------------------------ */

typedef struct tick_spawn_opts {
    const char *path;        /* program; NULL = argv[0], searched in PATH */
    char *const *argv;       /* NULL-terminated, argv[0] required */
    char *const *envp;       /* NULL = the current environ */
    int stdin_fd;            /* dup'ed onto 0/1/2 in the child; -1 = inherit */
    int stdout_fd;
    int stderr_fd;
    /* Non-NULL: that stream is a pipe, and on success *stdin_pipe etc.
     * is the parent's end as a new tick_fd (stdin: write to the child;
     * stdout/stderr: read from it). -EINVAL together with the same
     * stream's *_fd >= 0. */
    tick_fd **stdin_pipe;
    tick_fd **stdout_pipe;
    tick_fd **stderr_pipe;
} tick_spawn_opts;

/* Fields not named are 0/NULL: no pipes. */
#define TICK_SPAWN_OPTS_INIT(av) \
    { .path = NULL, .argv = (av), .envp = NULL, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 }

/*
 * Start a child (posix_spawn: vfork speed, safe in a threaded process)
 * with every signal unblocked and at its default action, in a process
 * group of its own (pgid = pid), and watch it through a pidfd
 * (pidfd_open + waitid(P_PIDFD)); no SIGCHLD handler is involved, but
 * SIGCHLD must not be SIG_IGN (the kernel would reap the child first).
 * On success *pid is the child and *exit a new future (one reference for
 * the caller) that completes with the wait status: use
 * WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG on the result.
 * Returns 0 or -errno (-ENOENT: program not found, -EINVAL: bad options,
 * ...); on failure nothing is left open or running.
 *
 * What the child gets: fds 0-2 (inherited, or the *_fd / pipes above)
 * and no other fd, whether close-on-exec or not; the environment (envp,
 * or environ) without LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES and
 * NOTIFY_SOCKET, which describe tickd's own service-manager hand-over
 * and must not be taken over by a child. Being in its own group, a child
 * on a terminal is a background job (reading the tty stops it) and a
 * Ctrl-C aimed at tickd does not reach it.
 *
 * Pipes: both ends are made close-on-exec in the parent, the child's end
 * stays blocking (as its stdio expects), the parent's is a tick_fd of the
 * scope current at the call, like any tick_fd_open(). The caller owns the
 * returned tick_fds and closes them with tick_fd_close(), also after the
 * child has exited (a pipe can still hold the child's last output, read
 * it first); their life is independent of the exit future's. A scope
 * cancel cancels their pending operations and closes them in the next
 * tick if the owner did not (scope.h).
 *
 * The group: the child's descendants stay in its group unless they leave
 * it, and the engine treats the group as the child's:
 *   - when the child exits, the rest of its group gets SIGKILL, after the
 *     exit is seen and before the child is reaped (its zombie holds the
 *     group id, so the signal can never reach a recycled one): a child's
 *     background helpers do not outlive it;
 *   - cancelling the exit future (tick_future_cancel, a tick_timeout()
 *     around it, cancelling the task awaiting it) SIGKILLs the group and
 *     completes the future with -ECANCELED at once; the engine still
 *     reaps the child in the background;
 *   - cancelling the child's scope sends SIGTERM to the group, then
 *     SIGKILL after the scope's kill grace (tick_scope_set_kill_grace);
 *   - tick_loop_close() SIGKILLs the groups of children still running and
 *     reaps them.
 * Signal the child yourself with tick_process_kill() (the child alone),
 * or kill(-pid, sig) for its group (safe while the exit future is
 * pending: the child is not reaped before the loop sees it exit, so
 * neither its pid nor its group id can be reused).
 */
TICK_API int tick_spawn(tick_loop *loop, const tick_spawn_opts *opts,
                        pid_t *pid, tick_future **exit);

/* tick_spawn() with the child's working directory set to cwd (a chdir
 * after the stdio set-up, before the exec: a relative path, or argv[0]
 * without a '/' when PATH has relative entries, is looked up from cwd).
 * -EINVAL for a NULL or empty cwd; a cwd that does not exist or cannot
 * be entered gives its errno (-ENOENT, -EACCES, -ENOTDIR), or with a
 * fork-based posix_spawn (valgrind's) a child exiting with 127.
 * A function of its own rather than a field of tick_spawn_opts, so
 * plugins built against the older struct keep working (since 3.1's
 * exec plugin). */
TICK_API int tick_spawn_in(tick_loop *loop, const tick_spawn_opts *opts, const char *cwd,
                           pid_t *pid, tick_future **exit);

/* Send sig to the child whose exit future is exit (through its pidfd, so
 * never to a recycled pid; the child alone, not its group). 0, -ESRCH
 * once it was reaped, -EINVAL. */
TICK_API int tick_process_kill(tick_future *exit, int sig);

/*
 * Make the process a child subreaper (prctl(PR_SET_CHILD_SUBREAPER)):
 * descendants orphaned by their parent are re-parented to this process
 * instead of init, and the loop reaps them, so they never linger as
 * zombies. Orphans are found on SIGCHLD, which the loop then owns (read
 * from its signalfd, as for tick_signal_wait(); several children exiting
 * at once coalesce into one scan), and after each child of tick_spawn()
 * is reaped (a SIGCHLD taken by another thread is not lost for good).
 * Only exited children that are not tick_spawn() children are reaped:
 * waitid(WNOWAIT) names each first, so no exit future loses its status.
 * Returns 0 (also if called before), -EINVAL, or -errno.
 *
 * The daemon calls this at start-up; a plugin never needs to. A process
 * that is a subreaper must not wait for children by other means (a plain
 * fork + waitpid, popen/pclose, system() from another thread): the loop
 * may reap them first. It stays a subreaper until it exits; the loop's
 * reaping ends with tick_loop_close().
 *
 * What can still escape:
 *   - a descendant that double-forks and setsid()s (or otherwise leaves
 *     its child's group) is reaped when it exits, but never killed: no
 *     group kill, scope cancel or loop close reaches it;
 *   - a process that moved to another process group with setpgid() is
 *     likewise out of reach of the group kills;
 *   - anything that leaves and is never re-parented to tickd (tickd is
 *     not the subreaper, or a nearer ancestor of it is one) is not even
 *     reaped by tickd.
 * Sandboxing a child for good takes a cgroup (systemd's KillMode) or a
 * PID namespace; this is the best a plain process can do.
 */
TICK_API int tick_process_set_subreaper(tick_loop *loop);

/* ---- thread pool ---------------------------------------------------- */

typedef intptr_t (*tick_thread_fn)(void *arg);

/*
 * Run fn(arg) on the loop's worker pool; the future completes with fn's
 * return value (as a result, even if negative: TICK_AWAIT makes no
 * difference). The pool starts lazily with the first job and grows to
 * TICK_POOL_THREADS threads, each with every signal blocked. Jobs run
 * FIFO; results come back through a locked list and an eventfd doorbell
 * (rings coalesce), in the resolve phase.
 * Cancel: a job still queued is removed and never runs; a running job
 * cannot be interrupted, so it finishes and its result is discarded (arg
 * must stay valid until then: keep it out of memory the cancel frees, or
 * make the job own it). The task group current at the call (task.h)
 * stays open until fn has returned, so draining a group also waits for
 * its abandoned jobs. tick_loop_close() joins the pool and so waits for
 * running jobs. A NULL fn gives a future failed with -EINVAL; failing to
 * start any worker, one failed with pthread_create's error. fn must not call the loop's API (it is not the loop's
 * thread), except tick_call_threadsafe()/tick_loop_wakeup().
 */
#define TICK_POOL_THREADS 4
TICK_API tick_future *tick_run_in_thread(tick_loop *loop, tick_thread_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* TICK_SYS_H */
