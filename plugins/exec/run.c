/*
 * run.c — one run of a job: spawn, read stdout and stderr, enforce the
 * timeout, and tell exec.c when everything of the run is over.
 *
 * A run is over when the exit future is done *and* both pipes reached
 * EOF (a descendant may hold them open after the job's own process
 * exited: the end-of-run sweep kills the ones that left the group, the
 * engine's group kill the rest). Everything lives in the job struct (one
 * run at a time): the readers are tasks embedded in it, the exit
 * callback and the kill timer too; a run allocates nothing of its own but
 * the streams (and, once, the stdout buffer).
 *
 * Ownership: the exit future's reference is j->exit from spawn until the
 * run is finished; the streams are the readers' (closed when they end).
 * A cancel of the instance's scope (stop, reload) ends the readers
 * (-ECANCELED) and removes the parked exit callback; the engine sends the
 * group SIGTERM, then SIGKILL after the scope's kill grace (set to the
 * job's kill_grace), and stop() sweeps what left the group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"

/* "<N>" in front of a line is its syslog level, as systemd's journal
 * reads a service's stderr; 0-2 (emerg, alert, crit) log as err, the
 * highest level a plugin has. */
void exec_log_line(int dflt, const char *line, size_t len)
{
    int level = dflt;
    if (len >= 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
        level = line[1] - '0';
        if (level < TICK_LOG_ERR)
            level = TICK_LOG_ERR;
        line += 3;
        len -= 3;
    }
    if (len && line[len - 1] == '\n')
        len--;
    tick_log(level, "%.*s", (int)len, line);
}

static int obuf_append(struct exec_job *j, const char *p, size_t n)
{
    if (j->otoobig)
        return 0;
    if (j->olen + n + 1 > j->max_output) {
        j->otoobig = true;
        return 0;
    }
    if (j->olen + n + 1 > j->ocap) {
        size_t cap = j->ocap ? j->ocap : 16384;
        while (cap < j->olen + n + 1)
            cap *= 2;
        char *b = realloc(j->obuf, cap);
        if (!b)
            return -ENOMEM;
        j->obuf = b;
        j->ocap = cap;
    }
    memcpy(j->obuf + j->olen, p, n);
    j->olen += n;
    return 0;
}

static void maybe_finished(struct exec_job *j)
{
    if (j->running && j->exited && j->readers == 0)
        exec_run_finished(j);
}

static int reader_step(tick_task *t)
{
    struct exec_reader *r = tick_container_of(t, struct exec_reader, task);
    struct exec_job *j = r->job;
    bool collect = !r->is_err && j->output == EXEC_OUT_METRICS;
    int level = TICK_LOG_INFO;
    intptr_t rc;
    size_t len;
    const char *p;

    TICK_BEGIN(t);
    for (;;) {
        if (collect)
            TICK_AWAIT(t, tick_stream_read_some(r->s), rc);
        else
            TICK_AWAIT(t, tick_stream_read_line(r->s, EXEC_LINE_MAX), rc);
        p = tick_stream_peek(r->s, &len);
        if (rc == -EMSGSIZE || rc == -EPIPE) {
            /* a line over the cap: logged in pieces of the cap; the last
             * line without its '\n' (-EPIPE): logged as it is */
            size_t n = len < EXEC_LINE_MAX ? len : EXEC_LINE_MAX;
            exec_log_line(level, p, n);
            tick_stream_consume(r->s, n);
            if (rc == -EPIPE)
                break;
            continue;
        }
        if (rc <= 0)
            break;                       /* EOF, -ECANCELED, an error */
        if (collect) {
            if (obuf_append(j, p, len) < 0)
                j->otoobig = true;       /* no memory: the run fails */
            tick_stream_consume(r->s, len);
        } else {
            exec_log_line(level, p, (size_t)rc);
            tick_stream_consume(r->s, (size_t)rc);
        }
    }
    tick_stream_close(r->s);
    r->s = NULL;
    j->readers--;
    maybe_finished(j);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class reader_class = { .step = reader_step, .free = NULL };

static void on_exit_done(tick_handle *h)
{
    struct exec_job *j = tick_container_of(h, struct exec_job, exit_h);
    int err = tick_future_error(j->exit);
    j->status = err < 0 ? err : (int)tick_future_result(j->exit);
    j->exited = true;
    tick_timer_stop(j->loop, &j->kill_t);
    /* what left the group and outlives the job: killed now, also so that
     * a pipe it holds reaches EOF */
    if (exec_sweep(j->token, SIGKILL, !j->timed_out))
        tick_log(TICK_LOG_NOTICE, "killed processes of the run that left its process group");
    maybe_finished(j);
}

static void on_kill_timer(tick_handle *h)
{
    struct exec_job *j = tick_container_of(h, struct exec_job, kill_t.handle);
    if (j->exited || tick_future_done(j->exit))
        return;      /* reaped: its pid and group id may be recycled */
    if (j->kill_phase == 0) {
        j->timed_out = true;
        j->kill_phase = 1;
        tick_log(TICK_LOG_WARNING, "timed out after %.3f s: SIGTERM to its process group",
                 (double)j->timeout / 1e9);
        kill(-j->pid, SIGTERM);
        exec_sweep(j->token, SIGTERM, false);
        tick_call_later(j->loop, &j->kill_t, j->kill_grace);
    } else if (j->kill_phase == 1) {
        j->kill_phase = 2;
        tick_log(TICK_LOG_WARNING, "still running %.3f s after SIGTERM: SIGKILL",
                 (double)j->kill_grace / 1e9);
        kill(-j->pid, SIGKILL);
        exec_sweep(j->token, SIGKILL, false);
    }
}

static int open_reader(struct exec_job *j, struct exec_reader *r, int fd, bool is_err)
{
    r->job = j;
    r->is_err = is_err;
    int rc = tick_stream_open(j->loop, fd, &r->s);
    if (rc < 0) {
        close(fd);                 /* the child's writes then fail: EPIPE */
        return rc;
    }
    rc = tick_task_start(j->loop, &r->task, is_err ? "exec stderr" : "exec stdout",
                         &reader_class);
    if (rc < 0) {
        tick_stream_close(r->s);
        r->s = NULL;
        return rc;
    }
    j->readers++;
    return 0;
}

void exec_run_init(struct exec_job *j)
{
    tick_handle_init(&j->exit_h, "exec exit", on_exit_done);
    tick_timer_init(&j->kill_t, "exec timeout", on_kill_timer);
}

int exec_run_start(struct exec_job *j)
{
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, null = -1, rc;

    j->seq++;
    snprintf(j->token, sizeof j->token, "TICKD_EXEC_RUN=%d-%p-%llu", (int)getpid(),
             (void *)j, (unsigned long long)j->seq);
    j->exited = j->timed_out = j->otoobig = false;
    j->kill_phase = 0;
    j->olen = 0;
    j->status = 0;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = -errno;
        goto fail;
    }
    tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(j->argv);
    o.envp = j->envp;
    o.stdin_fd = null;
    o.stdout_fd = out[1];
    o.stderr_fd = err[1];
    rc = j->cwd ? tick_spawn_in(j->loop, &o, j->cwd, &j->pid, &j->exit)
                : tick_spawn(j->loop, &o, &j->pid, &j->exit);
    if (rc < 0)
        goto fail;
    close(out[1]);
    close(err[1]);
    close(null);
    j->running = true;
    j->t_start = tick_now(j->loop);
    j->readers = 0;
    if (open_reader(j, &j->out, out[0], false) < 0)
        tick_log(TICK_LOG_ERR, "cannot read the job's stdout: out of memory");
    if (open_reader(j, &j->err, err[0], true) < 0)
        tick_log(TICK_LOG_ERR, "cannot read the job's stderr: out of memory");
    tick_future_add_done_callback(j->exit, &j->exit_h);
    if (j->timeout && tick_call_later(j->loop, &j->kill_t, j->timeout) < 0)
        tick_log(TICK_LOG_ERR, "cannot arm the timeout: out of memory");
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    if (null >= 0)
        close(null);
    return rc;
}
