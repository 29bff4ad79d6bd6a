/*
 * tick/sys.h — results from the system: signals, child processes, and
 * blocking work run on a thread pool.
 *
 *     struct supervisor {
 *         tick_task task;
 *         pid_t pid;
 *     };
 *
 *     static intptr_t count(void *arg) { return (intptr_t)strlen(arg); }
 *
 *     static int supervisor_step(tick_task *t)
 *     {
 *         struct supervisor *s = tick_container_of(t, struct supervisor, task);
 *         tick_loop *loop = tick_task_loop(t);
 *         tick_future *child;
 *         intptr_t rc;
 *         TICK_BEGIN(t);
 *         // blocking work, off the loop thread
 *         TICK_AWAIT(t, tick_run_in_thread(loop, count, "data"), rc);
 *         // a child: the exit future resolves with the wait status
 *         static char *const argv[] = { "sh", "-c", "exit 7", NULL };
 *         tick_spawn_opts opts = TICK_SPAWN_OPTS_INIT(argv);
 *         if (tick_spawn(loop, &opts, &s->pid, &child) < 0)
 *             TICK_FAIL(t, -EAGAIN);
 *         TICK_AWAIT(t, child, rc);
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
} tick_spawn_opts;

#define TICK_SPAWN_OPTS_INIT(av) \
    { .path = NULL, .argv = (av), .envp = NULL, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 }

/*
 * Start a child (posix_spawn: vfork speed, safe in a threaded process)
 * with every signal unblocked and at its default action, and watch it
 * through a pidfd (pidfd_open + waitid(P_PIDFD)); no SIGCHLD handler is
 * involved, but SIGCHLD must not be SIG_IGN (the kernel would reap the
 * child first). On success *pid is the child and *exit a new future
 * (one reference for the caller) that completes with the wait status:
 * use WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG on the result.
 * Returns 0 or -errno (-ENOENT: program not found, ...); on failure
 * nothing is left running.
 *
 * Kill and cancel: signal the child yourself with tick_process_kill() (or
 * kill(2) on *pid, safe while the exit future is pending: the child is not
 * reaped before the loop sees it exit, so the pid cannot be reused).
 * Cancelling the exit future sends SIGKILL and completes the future with
 * -ECANCELED at once; the engine still reaps the child in the background.
 * tick_loop_close() SIGKILLs and reaps children still running.
 */
TICK_API int tick_spawn(tick_loop *loop, const tick_spawn_opts *opts,
                        pid_t *pid, tick_future **exit);

/* Send sig to the child whose exit future is exit (through its pidfd, so
 * never to a recycled pid). 0, -ESRCH once it was reaped, -EINVAL. */
TICK_API int tick_process_kill(tick_future *exit, int sig);

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
