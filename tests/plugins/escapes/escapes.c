/* Fixture: everything that used to escape the daemon's reach at unload,
 * done from start() and plain callbacks (no task anywhere), and never
 * stopped by the plugin itself:
 *   1. a handle parked in the done-callback list of a heap future that is
 *      never completed ('parked callback');
 *   2. a malloc'd timer armed from a plain callback ('heap timer'), which
 *      re-arms itself for 60 s, so it is still armed when the instance is
 *      removed;
 *   3. a thread-pool job started from that timer's callback, which sleeps
 *      (`job = DURATION`, default 300 ms) and then writes the instance
 *      memory (memset through libc, so ASan's interceptor sees it too):
 *      freeing the instance before the job returned is a use-after-free;
 *   4. a child `sh -c 'sleep 60 & sleep 60'` ('sh'), whose pid is logged
 *      ("spawned pid N") so the test can look for it, and for its own
 *      child, in /proc.
 * A 100 ms 'alive' timer logs "alive N", so a test can see that another
 * instance of the module keeps running after this one is removed.
 *
 * The instance's scope owns all of it: the daemon cancels the scope and
 * waits until it has drained before it calls stop() and release(). So by
 * stop() the timer is disarmed, the handle unparked, the job returned and
 * the child reaped; stop() logs what it finds. release() frees the heap
 * timer and drops the never-completed future (so valgrind sees no leak);
 * should either still be armed/parked then, it says so and leaks them on
 * purpose rather than free memory the loop still links to. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tick/tick.h>

struct escapes;

/* The heap timer and a pointer back to its instance: one allocation. */
struct heap_timer {
    tick_timer timer;
    struct escapes *owner;
};

struct escapes {
    uint64_t job_ns;
    tick_timer alive;
    unsigned long beats;
    tick_future *never;          /* heap future, never completed */
    tick_handle parked;          /* waits in never's done-callback list */
    tick_handle kick;            /* the plain callback that arms the rest */
    struct heap_timer *heap;     /* malloc'd, armed by kick, never stopped */
    bool job_started;
    pid_t pid;                   /* sh */
    volatile int job_returned;   /* written by the pool worker */
    size_t scratch_len;          /* read at run time: memset is a real call */
    char scratch[256];           /* the job writes it after its sleep */
};

static int escapes_configure(tick_instance *in, const char *key, const char *value)
{
    struct escapes *e = tick_instance_data(in);

    if (!key) {                       /* the whole section: defaults */
        if (!e->job_ns)
            e->job_ns = 300 * TICK_MSEC;
        return 0;
    }
    if (strcmp(key, "job") == 0) {
        if (tick_parse_duration(value, &e->job_ns) < 0 || e->job_ns == 0)
            return tick_instance_error(in, "job: bad duration '%s'", value);
        return 0;
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

/* ---- the pool job: runs on a worker thread, in the instance's memory --- */

static intptr_t escapes_job(void *arg)
{
    struct escapes *e = arg;
    struct timespec ts = { (time_t)(e->job_ns / TICK_SEC), (long)(e->job_ns % TICK_SEC) };

    while (nanosleep(&ts, &ts) < 0)
        ;
    memset(e->scratch, 'j', e->scratch_len);
    e->job_returned = 1;
    tick_log(TICK_LOG_INFO, "job finished: instance memory written");
    return 0;
}

/* ---- plain callbacks ------------------------------------------------ */

static void escapes_never_called(tick_handle *h)
{
    (void)h;
    tick_log(TICK_LOG_ERR, "parked callback ran: its future never completes");
}

static void escapes_alive(tick_handle *h)
{
    struct escapes *e = tick_container_of(h, struct escapes, alive.handle);
    tick_loop *loop = tick_loop_current();

    tick_log(TICK_LOG_INFO, "alive %lu", ++e->beats);
    tick_timer_start_at(loop, &e->alive, e->alive.deadline + 100 * TICK_MSEC);
}

static void escapes_heap_fire(tick_handle *h)
{
    struct heap_timer *ht = tick_container_of(h, struct heap_timer, timer.handle);
    struct escapes *e = ht->owner;
    tick_loop *loop = tick_loop_current();

    if (!e->job_started) {
        tick_future *job = tick_run_in_thread(loop, escapes_job, e);
        if (!job || (tick_future_done(job) && tick_future_error(job) < 0)) {
            tick_log(TICK_LOG_ERR, "cannot start the pool job");
        } else {
            e->job_started = true;
            tick_log(TICK_LOG_INFO, "job started from the heap timer");
        }
        tick_future_unref(job);       /* the engine keeps its own */
        if (e->job_started && e->pid > 0)
            tick_log(TICK_LOG_INFO, "all four armed: parked handle, heap timer, "
                     "pool job, child %d", (int)e->pid);
    }
    /* still armed when the instance is removed */
    tick_call_later(loop, &ht->timer, 60 * TICK_SEC);
}

static void escapes_kick(tick_handle *h)
{
    struct escapes *e = tick_container_of(h, struct escapes, kick);
    tick_loop *loop = tick_loop_current();
    static char *const argv[] = { "sh", "-c", "sleep 60 & sleep 60", NULL };
    tick_spawn_opts opts = TICK_SPAWN_OPTS_INIT(argv);
    tick_future *exit;
    int rc;

    e->heap = malloc(sizeof *e->heap);
    if (!e->heap) {
        tick_log(TICK_LOG_ERR, "no memory for the heap timer");
        return;
    }
    e->heap->owner = e;
    tick_timer_init(&e->heap->timer, "heap timer", escapes_heap_fire);
    rc = tick_call_later(loop, &e->heap->timer, 10 * TICK_MSEC);
    tick_log(TICK_LOG_INFO, "armed the heap timer: %s", rc < 0 ? strerror(-rc) : "ok");

    rc = tick_spawn(loop, &opts, &e->pid, &exit);
    if (rc < 0) {
        tick_log(TICK_LOG_ERR, "cannot spawn sh: %s", strerror(-rc));
        return;
    }
    tick_future_unref(exit);          /* the engine reaps it */
    tick_log(TICK_LOG_INFO, "spawned pid %d", (int)e->pid);
}

/* ---- life cycle ----------------------------------------------------- */

static int escapes_start(tick_instance *in)
{
    struct escapes *e = tick_instance_data(in);
    tick_loop *loop = tick_instance_loop(in);
    int rc;

    e->scratch_len = sizeof e->scratch;
    if ((rc = tick_future_new(loop, &e->never)) < 0)
        return rc;
    tick_handle_init(&e->parked, "parked callback", escapes_never_called);
    tick_future_add_done_callback(e->never, &e->parked);
    tick_log(TICK_LOG_INFO, "parked a handle on a future that never completes");

    tick_handle_init(&e->kick, "kick", escapes_kick);
    tick_call_soon(loop, &e->kick);

    tick_timer_init(&e->alive, "alive", escapes_alive);
    return tick_call_later(loop, &e->alive, 100 * TICK_MSEC);
}

/* Deliberately stops nothing: the scope has cancelled and drained it all. */
static void escapes_stop(tick_instance *in)
{
    struct escapes *e = tick_instance_data(in);

    tick_log(TICK_LOG_INFO, "stop(): heap timer %s, parked handle %s, job %s, "
             "alive timer %s",
             e->heap && tick_timer_armed(&e->heap->timer) ? "ARMED" : "disarmed",
             tick_handle_scheduled(&e->parked) ? "PARKED" : "unparked",
             !e->job_started ? "never started" : e->job_returned ? "returned" : "RUNNING",
             tick_timer_armed(&e->alive) ? "ARMED" : "disarmed");
}

static void escapes_release(tick_instance *in)
{
    struct escapes *e = tick_instance_data(in);

    if (e->heap) {
        if (tick_timer_armed(&e->heap->timer) || tick_handle_scheduled(&e->heap->timer.handle))
            tick_log(TICK_LOG_ERR, "release(): heap timer still armed: leaking it");
        else
            free(e->heap);
        e->heap = NULL;
    }
    if (e->never) {
        if (tick_handle_scheduled(&e->parked))
            tick_log(TICK_LOG_ERR, "release(): handle still parked: leaking its future");
        else
            tick_future_unref(e->never);
        e->never = NULL;
    }
}

TICK_PLUGIN(.name = "escapes", .version = "1.0",
            .instance_size = sizeof(struct escapes),
            .configure = escapes_configure,
            .start = escapes_start, .stop = escapes_stop,
            .release = escapes_release);
