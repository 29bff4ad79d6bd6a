/*
 * pool.c — blocking work on a small per-loop thread pool (tick/sys.h).
 *
 * Jobs go into a locked FIFO; workers take them, run them with every
 * signal blocked, and post them back through a doorbell (doorbell.c, the
 * same as tick_call_threadsafe's), whose ring the loop collects in the
 * resolve phase.
 * Job memory is kept alive by the engine's future reference until the
 * loop has taken the job back from the completion list, so a cancel while
 * a worker runs the job never frees what the worker touches.
 */
#include <signal.h>
#include <stdlib.h>

#include "tick/sys.h"
#include "internal.h"
#include "sources.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

typedef struct job {
    tick_future fut;
    tick_link link;          /* queue (under the lock), then the doorbell */
    tick_thread_fn fn;
    void *arg;
    intptr_t result;         /* written by the worker under the lock */
    uint8_t state;           /* under the lock */
    uint64_t cpu_ns;         /* thread CPU time of fn, written by the worker */
    const tick_scope *scope; /* for the worker's log prefix (read-only) */
    tick__source src;        /* scope membership until fn has returned */
} job;

/* fn is the scope owner's code (a plugin's) and runs on arg, often the
 * owner's memory: the job stays a member of its scope until fn can no
 * longer run, so an owner that waits for its scope to drain (the daemon,
 * before freeing an instance and dlclosing its module) never pulls either
 * from under it, even when the awaiting task was cancelled and finished
 * long before. The thread CPU time fn used is charged to the scope. */
static void job_finish(job *j, intptr_t value, int err)
{
    tick_scope *s = j->src.scope;
    if (s) {
        s->st.job_cpu_ns += j->cpu_ns;
        if (j->state == JOB_DONE)
            s->st.jobs_run++;
    }
    tick__source_complete(&j->src, value, err);   /* a cancelled one stays so */
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec;
}

struct tick__pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    tick_link queue;
    unsigned queued, idle, nthreads;
    bool stop;
    pthread_t threads[TICK_POOL_THREADS];
    tick__doorbell done;     /* finished jobs, back to the loop */
    tick_loop *loop;
};

static void job_free(tick_future *f)
{
    free(tick_container_of(f, job, fut));
}

static bool job_cancel(tick_future *f)
{
    job *j = tick_container_of(f, job, fut);
    struct tick__pool *p = f->loop->pool;
    bool queued;

    if (!j->src.pending)
        return true;             /* not queued yet, or cancelled already */
    pthread_mutex_lock(&p->lock);
    queued = j->state == JOB_QUEUED;
    if (queued) {
        tick_link_remove(&j->link);
        p->queued--;
    }
    pthread_mutex_unlock(&p->lock);
    tick__source_settle(&j->src);
    if (queued) {
        assert(f->refs > 1);     /* the canceller holds one */
        job_finish(j, 0, 0);     /* fn will never run: no worker will see it */
    }
    /* else a worker has it: the collection ends the source */
    return true;
}

static const tick_future_ops job_ops = { "thread", job_free, job_cancel };

/* Scope cancel: a queued job is dropped (its future cancelled); a running
 * one cannot be interrupted and stays a member until fn returns. The
 * scope holds no reference of its own, and a fire-and-forget job's only
 * one is the engine's, which dropping a queued job releases: hold one
 * across the cancel, as any other canceller does. */
void tick__job_scope_cancel(tick__source *src)
{
    job *j = tick_container_of(src, job, src);
    if (!j->src.pending)
        return;
    tick_future_ref(&j->fut);
    tick_future_cancel(&j->fut);
    tick_future_unref(&j->fut);
}

static void *worker(void *arg)
{
    struct tick__pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (tick_list_empty(&p->queue) && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->cond, &p->lock);
            p->idle--;
        }
        if (p->stop)
            break;
        job *j = tick_container_of(p->queue.next, job, link);
        tick_link_remove(&j->link);
        p->queued--;
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&p->lock);

        tick__thread_scope = j->scope;
        uint64_t t0 = thread_cpu_ns();
        intptr_t r = j->fn(j->arg);
        uint64_t cpu = thread_cpu_ns() - t0;
        tick__thread_scope = NULL;

        pthread_mutex_lock(&p->lock);
        j->result = r;
        j->cpu_ns = cpu;
        j->state = JOB_DONE;
        /* cannot fail: j left the queue, so its link is free */
        tick__doorbell_post(&p->done, &j->link);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Resolve phase: take the finished jobs back and complete their futures. */
static void pool_collect(tick__doorbell *db, tick_link *done)
{
    (void)db;
    while (!tick_list_empty(done)) {
        job *j = tick_container_of(done->next, job, link);
        tick_link_remove(&j->link);
        job_finish(j, j->result, 0);     /* fn has returned */
    }
}

static int pool_state(tick_loop *loop, struct tick__pool **out)
{
    struct tick__pool *p = loop->pool;
    int rc;

    if (p) {
        *out = p;
        return 0;
    }
    p = tick__calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->loop = loop;
    tick_link_init(&p->queue);
    rc = tick__doorbell_open(loop, &p->done, pool_collect);
    if (rc < 0) {
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    loop->pool = p;
    *out = p;
    return 0;
}

/* Start one more worker, with every signal blocked from its first
 * instruction (signals belong to the loop thread's signalfd). Locked. */
static int pool_grow(struct tick__pool *p)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return -rc;
    p->nthreads++;
    return 0;
}

tick_future *tick_run_in_thread(tick_loop *loop, tick_thread_fn fn, void *arg)
{
    struct tick__pool *p = NULL;
    job *j;
    int rc;

    if (!loop)
        return NULL;
    j = tick__calloc(1, sizeof *j);
    if (!j)
        return NULL;
    tick_future_init(&j->fut, loop, &job_ops);
    j->fn = fn;
    j->arg = arg;
    tick_link_init(&j->link);
    rc = fn ? pool_state(loop, &p) : -EINVAL;
    if (rc < 0) {
        tick_future_set_error(&j->fut, rc);
        return &j->fut;
    }
    rc = 0;

    pthread_mutex_lock(&p->lock);
    if (p->queued + 1 > p->idle && p->nthreads < TICK_POOL_THREADS)
        rc = pool_grow(p);
    if (p->nthreads == 0) {
        /* not a single thread could start: fail this job, not later ones */
        pthread_mutex_unlock(&p->lock);
        tick_future_set_error(&j->fut, rc < 0 ? rc : -EAGAIN);
        return &j->fut;
    }
    tick_list_append(&p->queue, &j->link);
    /* pending from here: until then a cancel is a no-op */
    tick__source_arm(loop, &j->src, TICK_SCOPE_JOB, "thread job", &j->fut);
    j->scope = j->src.scope;
    p->queued++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return &j->fut;
}

void tick__pool_shutdown(tick_loop *loop)
{
    struct tick__pool *p = loop->pool;

    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* no worker left: queued jobs will never run */
    while (!tick_list_empty(&p->queue)) {
        job *j = tick_container_of(p->queue.next, job, link);
        tick_link_remove(&j->link);
        job_finish(j, 0, -ECANCELED);
    }
    tick__doorbell_collect(&p->done);
    tick__doorbell_close(loop, &p->done);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
    loop->pool = NULL;
}
