/* test_scope.c — scopes (scope.h): membership of every kind of source
 * (count[] and the list, one table row per kind, cancelled and drained),
 * a source's scope fixed at its first arm, the running handle's scope
 * current, nesting and folding at close, cancel (queued and running
 * handles, parked handles, pool jobs queued and running, fds reaped a
 * tick later, recursion, cancelling again, tasks started into a cancelled
 * scope), drain, accounting (handler time per scope, pool job CPU,
 * handles run, accounting off), misuse of tasks (start twice, restart
 * while held, await outside the task's step: refused, logged once), the
 * loop refusing to close over live sources, and the size budget. */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "tick/tick.h"
#include "helpers.h"

_Static_assert(sizeof(tick_task) <= 128, "a task costs at most 128 bytes");

/* ---- fixture: a fresh loop, and the engine's log captured ---- */

static int misuse_logs;
static int engine_logs;
static char last_log[512];

static void log_hook(int level, const char *scope_name, const char *msg)
{
    (void)level;
    (void)scope_name;
    engine_logs++;
    if (strstr(msg, "API misuse"))
        misuse_logs++;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static void scope_setup(void)
{
    unsetenv("TICK_ABORT_ON_MISUSE");
    misuse_logs = engine_logs = 0;
    last_log[0] = '\0';
    tick__log_hook = log_hook;
    loop_setup();
}

static void scope_teardown(void)
{
    loop_teardown();
    tick__log_hook = NULL;
}

/* Non-blocking ticks, for tests whose events all come from handles. */
static void run_ticks(int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_ge(tick_loop_run_once(loop, false), 0);
}

/* RUN_UNTIL without blocking in poll: for tests whose progress comes
 * from handles only (a bug then fails the check instead of hanging). */
#define UNTIL(cond, max_ticks)                                              \
    do {                                                                    \
        for (int until_i_ = 0; !(cond) && until_i_ < (max_ticks); until_i_++) \
            run_ticks(1);                                                   \
        ck_assert_msg((cond), "condition not reached: %s", #cond);          \
    } while (0)

static uint64_t clock_of(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * TICK_SEC + (uint64_t)ts.tv_nsec;
}

static void spin(clockid_t c, uint64_t ns)
{
    uint64_t t0 = clock_of(c);
    while (clock_of(c) - t0 < ns)
        ;
}

static tick_scope_stats stats_of(const tick_scope *s, bool inclusive)
{
    tick_scope_stats st;
    tick_scope_get_stats(s, &st, inclusive);
    return st;
}

/* ---- small actors ---- */

/* A plain handle that counts its runs, records the scope current while it
 * runs, and then does its `then` (if any). */
struct ph {
    tick_handle h;
    int ran;
    tick_scope *seen;
    void (*then)(struct ph *p);
    void *arg;
};

static void ph_run(tick_handle *h)
{
    struct ph *p = tick_container_of(h, struct ph, h);
    p->ran++;
    p->seen = tick_scope_current(loop);
    if (p->then)
        p->then(p);
}

static void ph_init(struct ph *p, const char *name, tick_scope *s)
{
    *p = (struct ph){ 0 };
    tick_handle_init(&p->h, name, ph_run);
    if (s)
        ck_assert_int_eq(tick_handle_set_scope(&p->h, s), 0);
}

/* A task that awaits f (its own reference) once, recording the scope
 * current at each step. */
struct aw {
    tick_task task;
    tick_future *f;
    intptr_t rc;
    int steps;
    tick_scope *seen[4];
};

static int aw_step(tick_task *t)
{
    struct aw *a = tick_container_of(t, struct aw, task);
    intptr_t rc;
    if (a->steps < 4)
        a->seen[a->steps] = tick_scope_current(tick_task_loop(t));
    a->steps++;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(a->f), rc);
    a->rc = rc;
    TICK_RETURN(t, rc);
    TICK_END(t);
}
static const tick_task_class aw_class = { aw_step, NULL };

static void start_in(tick_scope *s, tick_task *t, const char *name,
                     const tick_task_class *cls)
{
    tick_scope *prev = tick_scope_enter(loop, s);
    ck_assert_int_eq(tick_task_start(loop, t, name, cls), 0);
    ck_assert_ptr_eq(tick_scope_enter(loop, prev), s);
}

/* tick_scope_list() into a small array */
struct listed {
    size_t n;
    enum tick_scope_kind kind[8];
    char name[8][32];
};

static void list_cb(void *user, enum tick_scope_kind kind, const char *name)
{
    struct listed *l = user;
    if (l->n < 8) {
        l->kind[l->n] = kind;
        snprintf(l->name[l->n], sizeof l->name[0], "%s", name);
    }
    l->n++;
}

/* Pool jobs held at a gate. */
static atomic_int gate_open, jobs_started, jobs_ran;

static intptr_t gated_job(void *arg)
{
    (void)arg;
    atomic_fetch_add(&jobs_started, 1);
    while (!atomic_load(&gate_open))
        usleep(200);
    atomic_fetch_add(&jobs_ran, 1);
    return 7;
}

static intptr_t counted_job(void *arg)
{
    (void)arg;
    atomic_fetch_add(&jobs_ran, 1);
    return 0;
}

static void wait_jobs_started(int n)
{
    for (int i = 0; i < 20000 && atomic_load(&jobs_started) < n; i++)
        usleep(100);
    ck_assert_int_ge(atomic_load(&jobs_started), n);
}

/* ==== membership, cancel and drain per kind: one table ==== */

static struct kctx {
    tick_scope s;
    tick_future *f;       /* pending, for the task and the parked handle */
    tick_future *op;      /* the source's own future, if it has one */
    struct aw aw;
    struct ph ph;
    tick_timer tm;
    int tm_ran;
    tick_fd *fd;
    int pfd[2];
    char buf[16];
    tick_queue q;
    tick_semaphore sem;
    pid_t pid;
    int item_a, item_b;
} K;

static void tm_fire(tick_handle *h) { (void)h; K.tm_ran++; }

static void op_cancelled_now(tick_future *d)
{
    (void)d;
    ck_assert(tick_future_done(K.op));
    ck_assert_int_eq(tick_future_error(K.op), -ECANCELED);
}

static void op_release(void) { K.op = tick_future_unref(K.op); }

/* task */
static void mk_task(void)
{
    K.aw = (struct aw){ .f = K.f };
    ck_assert_int_eq(tick_task_start(loop, &K.aw.task, "worker", &aw_class), 0);
}
static void end_task(void)
{
    ck_assert_int_eq(K.aw.rc, -ECANCELED);
    ck_assert_int_eq(tick_future_result(&K.aw.task.future), -ECANCELED);
    ck_assert_ptr_eq(K.aw.seen[0], &K.s);
    tick_future_unref(&K.aw.task.future);
}

/* timer */
static void mk_timer(void)
{
    tick_timer_init(&K.tm, "alarm", tm_fire);
    ck_assert_int_eq(tick_call_later(loop, &K.tm, 3600 * TICK_SEC), 0);
}
static void end_timer(void)
{
    ck_assert(!tick_timer_armed(&K.tm));
    ck_assert(!tick_handle_scheduled(&K.tm.handle));
    ck_assert_int_eq(K.tm_ran, 0);
}

/* a plain handle parked in a future that completes only after the cancel */
static void mk_parked(void)
{
    ph_init(&K.ph, "on done", NULL);
    tick_future_add_done_callback(K.f, &K.ph.h);
}
static void end_parked(void)
{
    ck_assert(!tick_handle_scheduled(&K.ph.h));
    tick_future_set_result(K.f, 1);          /* must not run it now */
    run_ticks(3);
    ck_assert_int_eq(K.ph.ran, 0);
}

/* tick_fd with a pending read */
static void mk_fd(void)
{
    ck_assert_int_eq(pipe2(K.pfd, O_CLOEXEC), 0);
    ck_assert_int_eq(tick_fd_open(loop, K.pfd[0], &K.fd), 0);
    K.op = tick_fd_read(K.fd, K.buf, sizeof K.buf);
    ck_assert(!tick_future_done(K.op));
}
static void cancelled_fd(tick_future *d)
{
    op_cancelled_now(d);
    /* the owner gets one tick to close it itself */
    ck_assert_int_eq(tick_fd_fileno(K.fd), K.pfd[0]);
}
static void end_fd(void)
{
    ck_assert_int_eq(tick_fd_fileno(K.fd), -EBADF);   /* the scope closed it */
    ck_assert_int_eq(fcntl(K.pfd[1], F_GETFD), FD_CLOEXEC);
    ck_assert_int_eq(tick_fd_close(K.fd), 0);          /* owner: 0, freed */
    close(K.pfd[1]);
    op_release();
}

/* a pool job running (fn blocked at the gate) when the scope is cancelled */
static void mk_job(void)
{
    K.op = tick_run_in_thread(loop, gated_job, NULL);
    wait_jobs_started(1);
}
static void cancelled_job(tick_future *d)
{
    op_cancelled_now(d);
    run_ticks(3);
    ck_assert(!tick_future_done(d));             /* fn has not returned */
    ck_assert_uint_eq(stats_of(&K.s, false).count[TICK_SCOPE_JOB], 1);
    atomic_store(&gate_open, 1);
}
static void end_job(void)
{
    ck_assert_int_eq(atomic_load(&jobs_ran), 1);
    ck_assert_uint_eq(stats_of(&K.s, false).jobs_run, 1);
    op_release();
}

/* a child process */
static void mk_child(void)
{
    static char *const argv[] = { "sleep", "10", NULL };
    tick_spawn_opts opts = TICK_SPAWN_OPTS_INIT(argv);
    ck_assert_int_eq(tick_spawn(loop, &opts, &K.pid, &K.op), 0);
}
static void end_child(void)
{
    ck_assert(tick_future_done(K.op));
    if (tick_future_error(K.op) == 0) {
        int status = (int)tick_future_result(K.op);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    }
    ck_assert_uint_eq(stats_of(&K.s, false).children_spawned, 1);
    op_release();
}

/* a signal wait */
static void mk_signal(void) { K.op = tick_signal_wait(loop, SIGUSR2); }

/* sync waits: a get on an empty queue, a put on a full one, an acquire */
static void mk_get(void)
{
    ck_assert_int_eq(tick_queue_init(&K.q, loop, 1), 0);
    K.op = tick_queue_get(&K.q);
}
static void end_get(void)
{
    void *item = NULL;
    /* the cancelled get took nothing: the next item stays in the queue */
    ck_assert_int_eq(tick_queue_try_put(&K.q, &K.item_a), 0);
    ck_assert_int_eq(tick_queue_try_get(&K.q, &item), 0);
    ck_assert_ptr_eq(item, &K.item_a);
    tick_queue_destroy(&K.q);
    op_release();
}
static void mk_put(void)
{
    ck_assert_int_eq(tick_queue_init(&K.q, loop, 1), 0);
    ck_assert_int_eq(tick_queue_try_put(&K.q, &K.item_a), 0);
    K.op = tick_queue_put(&K.q, &K.item_b);
}
static void end_put(void)
{
    void *item = NULL;
    ck_assert_int_eq(tick_queue_try_get(&K.q, &item), 0);
    ck_assert_ptr_eq(item, &K.item_a);
    ck_assert_int_eq(tick_queue_try_get(&K.q, &item), -EAGAIN);   /* b not put */
    tick_queue_destroy(&K.q);
    op_release();
}
static void mk_acquire(void)
{
    ck_assert_int_eq(tick_semaphore_init(&K.sem, loop, 0), 0);
    K.op = tick_semaphore_acquire(&K.sem);
}
static void end_acquire(void)
{
    tick_semaphore_release(&K.sem);      /* nobody waits: the permit stays */
    ck_assert(tick_semaphore_try_acquire(&K.sem));
    tick_semaphore_destroy(&K.sem);
    op_release();
}

static const struct kcase {
    enum tick_scope_kind kind;
    const char *name;                    /* as tick_scope_list() shows it */
    void (*make)(void);                  /* with the scope current */
    void (*cancelled)(tick_future *drain);   /* right after the cancel */
    void (*drained)(void);               /* once drained, before close */
} kcases[] = {
    { TICK_SCOPE_TASK,   "worker",     mk_task,    NULL,             end_task },
    { TICK_SCOPE_TIMER,  "alarm",      mk_timer,   NULL,             end_timer },
    { TICK_SCOPE_HANDLE, "on done",    mk_parked,  NULL,             end_parked },
    { TICK_SCOPE_FD,     "fd",         mk_fd,      cancelled_fd,     end_fd },
    { TICK_SCOPE_JOB,    "thread job", mk_job,     cancelled_job,    end_job },
    { TICK_SCOPE_CHILD,  "sleep",      mk_child,   NULL,             end_child },
    { TICK_SCOPE_SIGNAL, "signal",     mk_signal,  op_cancelled_now, op_release },
    { TICK_SCOPE_WAIT,   "queue_get",  mk_get,     op_cancelled_now, end_get },
    { TICK_SCOPE_WAIT,   "queue_put",  mk_put,     op_cancelled_now, end_put },
    { TICK_SCOPE_WAIT,   "acquire",    mk_acquire, op_cancelled_now, end_acquire },
};
#define NKCASES ((int)(sizeof kcases / sizeof kcases[0]))

START_TEST(kind_membership_cancel_drain)
{
    const struct kcase *c = &kcases[_i];
    memset(&K, 0, sizeof K);
    atomic_store(&gate_open, 0);
    atomic_store(&jobs_started, 0);
    atomic_store(&jobs_ran, 0);
    ck_assert_int_eq(tick_future_new(loop, &K.f), 0);
    tick_scope_init(&K.s, loop, NULL, "kind");
    ck_assert_ptr_eq(tick_scope_parent(&K.s), tick_loop_scope(loop));
    tick_scope *prev = tick_scope_enter(loop, &K.s);
    c->make();
    tick_scope_enter(loop, prev);
    run_ticks(1);                        /* a task suspends, nothing ends */

    /* exactly one source, of this kind, in the scope; none in the root */
    tick_scope_stats st = stats_of(&K.s, false), root = stats_of(tick_loop_scope(loop), false);
    for (int k = 0; k < TICK_SCOPE_KINDS; k++) {
        ck_assert_uint_eq(st.count[k], k == (int)c->kind);
        ck_assert_uint_eq(root.count[k], 0);
    }
    struct listed l = { 0 };
    ck_assert_uint_eq(tick_scope_list(&K.s, list_cb, &l), 1);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(l.kind[0], c->kind);
    ck_assert_str_eq(l.name[0], c->name);
    ck_assert_str_eq(tick_scope_kind_name(c->kind), tick_scope_kind_name(l.kind[0]));
    ck_assert(!tick_scope_empty(&K.s));
    ck_assert_int_eq(tick_scope_close(&K.s), -EBUSY);

    ck_assert_uint_eq(tick_scope_cancel(&K.s), 1);
    ck_assert(tick_scope_cancelled(&K.s));
    tick_future *d = tick_scope_drain(&K.s);
    ck_assert_ptr_nonnull(d);
    if (c->cancelled)
        c->cancelled(d);
    RUN_UNTIL(tick_future_done(d), 500);
    ck_assert_int_eq(tick_future_error(d), 0);
    st = stats_of(&K.s, false);
    for (int k = 0; k < TICK_SCOPE_KINDS; k++)
        ck_assert_uint_eq(st.count[k], 0);
    ck_assert_uint_eq(tick_scope_list(&K.s, list_cb, &l), 0);
    ck_assert(tick_scope_empty(&K.s));
    c->drained();
    ck_assert_int_eq(tick_scope_close(&K.s), 0);
    tick_future_unref(d);
    tick_future_unref(K.f);
}
END_TEST

START_TEST(kind_names)
{
    static const char *const names[TICK_SCOPE_KINDS] = {
        "task", "timer", "handle", "fd", "job", "child", "signal", "wait",
    };
    for (int k = 0; k < TICK_SCOPE_KINDS; k++)
        ck_assert_str_eq(tick_scope_kind_name((enum tick_scope_kind)k), names[k]);
    ck_assert_str_eq(tick_scope_kind_name(TICK_SCOPE_KINDS), "?");
}
END_TEST

/* ==== a source's scope is fixed at its first arm ==== */

static tick_timer fixed_tm;
static tick_scope *fixed_tm_seen;
static int fixed_tm_ran;

static void fixed_tm_fire(tick_handle *h)
{
    (void)h;
    fixed_tm_ran++;
    fixed_tm_seen = tick_scope_current(loop);
}

static void rearm_timer(struct ph *p) { (void)p; tick_call_later(loop, &fixed_tm, 0); }
static void requeue_other(struct ph *p) { tick_call_soon(loop, &((struct ph *)p->arg)->h); }

START_TEST(first_arm_fixes_the_scope)
{
    tick_scope a, b;
    struct ph hb, hb2, plain;
    tick_scope_init(&a, loop, NULL, "A");
    tick_scope_init(&b, loop, NULL, "B");
    ph_init(&plain, "plain", NULL);
    ck_assert_ptr_null(tick_handle_scope(&plain.h));

    /* first armed in A */
    tick_timer_init(&fixed_tm, "fixed", fixed_tm_fire);
    tick_scope *prev = tick_scope_enter(loop, &a);
    tick_call_later(loop, &fixed_tm, 0);
    tick_call_soon(loop, &plain.h);
    tick_scope_enter(loop, prev);
    ck_assert_ptr_eq(tick_handle_scope(&fixed_tm.handle), &a);
    ck_assert_ptr_eq(tick_handle_scope(&plain.h), &a);
    run_ticks(2);
    ck_assert_int_eq(fixed_tm_ran, 1);
    ck_assert_ptr_eq(fixed_tm_seen, &a);
    ck_assert_ptr_eq(plain.seen, &a);

    /* re-armed from handles of B: still A's */
    ph_init(&hb, "B rearms", &b);
    hb.then = rearm_timer;
    ph_init(&hb2, "B requeues", &b);
    hb2.then = requeue_other;
    hb2.arg = &plain;
    tick_call_soon(loop, &hb.h);
    tick_call_soon(loop, &hb2.h);
    run_ticks(1);
    ck_assert_ptr_eq(hb.seen, &b);
    ck_assert_ptr_eq(tick_handle_scope(&fixed_tm.handle), &a);
    ck_assert_uint_eq(stats_of(&a, false).count[TICK_SCOPE_TIMER], 1);
    ck_assert_uint_eq(stats_of(&b, false).count[TICK_SCOPE_TIMER], 0);
    ck_assert_uint_eq(stats_of(&a, false).queued, 1);          /* plain */
    ck_assert_uint_eq(stats_of(&b, false).queued, 0);
    run_ticks(2);
    ck_assert_int_eq(fixed_tm_ran, 2);
    ck_assert_ptr_eq(fixed_tm_seen, &a);
    ck_assert_int_eq(plain.ran, 2);
    ck_assert_ptr_eq(plain.seen, &a);

    /* tick_handle_set_scope: only while unarmed */
    struct ph given;
    ph_init(&given, "given", NULL);
    ck_assert_int_eq(tick_handle_set_scope(&given.h, &b), 0);
    ck_assert_int_eq(tick_handle_set_scope(&given.h, NULL), -EINVAL);
    ck_assert_int_eq(tick_handle_set_scope(NULL, &b), -EINVAL);
    prev = tick_scope_enter(loop, &a);
    tick_call_soon(loop, &given.h);               /* armed in A, given to B */
    tick_scope_enter(loop, prev);
    ck_assert_int_eq(tick_handle_set_scope(&given.h, &a), -EBUSY);   /* queued */
    ck_assert_uint_eq(stats_of(&b, false).queued, 1);
    run_ticks(1);
    ck_assert_ptr_eq(given.seen, &b);
    tick_call_later(loop, &fixed_tm, 3600 * TICK_SEC);
    ck_assert_int_eq(tick_handle_set_scope(&fixed_tm.handle, &b), -EBUSY);   /* armed */
    tick_timer_stop(loop, &fixed_tm);

    ck_assert_int_eq(tick_scope_close(&a), 0);
    ck_assert_int_eq(tick_scope_close(&b), 0);
}
END_TEST

/* ==== a task woken by another scope's Event runs in its own scope ==== */

struct evt {
    tick_task task;
    tick_event *ev;
    struct aw child;
    tick_future *never;
    tick_scope *before, *after;
    intptr_t rc;
};

static int evt_step(tick_task *t)
{
    struct evt *e = tick_container_of(t, struct evt, task);
    intptr_t rc;
    TICK_BEGIN(t);
    e->before = tick_scope_current(tick_task_loop(t));
    /* started from this step: joins this task's scope */
    e->child.f = e->never;
    tick_task_start(tick_task_loop(t), &e->child.task, "child", &aw_class);
    TICK_AWAIT(t, tick_event_wait(e->ev), rc);
    e->rc = rc;
    e->after = tick_scope_current(tick_task_loop(t));
    tick_task_cancel(&e->child.task);
    TICK_RETURN(t, 0);
    TICK_END(t);
}
static const tick_task_class evt_class = { evt_step, NULL };

static void set_event(struct ph *p) { tick_event_set(p->arg); }

START_TEST(task_woken_by_other_scope_runs_in_its_own)
{
    tick_scope a, b;
    tick_event ev;
    struct evt e = { .ev = &ev, .rc = 1 };
    struct ph setter;
    tick_scope_init(&a, loop, NULL, "A");
    tick_scope_init(&b, loop, NULL, "B");
    tick_event_init(&ev, loop);
    tick_future_new(loop, &e.never);
    start_in(&a, &e.task, "waiter", &evt_class);
    ck_assert_ptr_eq(tick_task_scope(&e.task), &a);
    run_ticks(2);
    ck_assert_ptr_eq(e.before, &a);
    ck_assert_ptr_eq(tick_task_scope(&e.child.task), &a);
    ck_assert_ptr_eq(e.child.seen[0], &a);
    ck_assert_uint_eq(stats_of(&a, false).count[TICK_SCOPE_TASK], 2);
    ck_assert_uint_eq(stats_of(&a, false).tasks_started, 2);
    ck_assert_uint_eq(stats_of(&b, false).count[TICK_SCOPE_TASK], 0);

    ph_init(&setter, "B sets", &b);
    setter.then = set_event;
    setter.arg = &ev;
    tick_call_soon(loop, &setter.h);
    UNTIL(tick_future_done(&e.task.future), 5);
    ck_assert_ptr_eq(setter.seen, &b);
    ck_assert_int_eq(e.rc, 0);
    ck_assert_ptr_eq(e.after, &a);                 /* not B */
    ck_assert_ptr_eq(tick_task_scope(&e.task), &a);
    UNTIL(tick_future_done(&e.child.task.future), 5);
    ck_assert_ptr_eq(e.child.seen[1], &a);
    ck_assert_uint_eq(stats_of(&b, false).handles_run, 1);
    ck_assert_uint_ge(stats_of(&a, false).handles_run, 3);
    tick_event_destroy(&ev);
    tick_future_unref(&e.task.future);
    tick_future_unref(&e.child.task.future);
    tick_future_unref(e.never);
    ck_assert_int_eq(tick_scope_close(&a), 0);
    ck_assert_int_eq(tick_scope_close(&b), 0);
}
END_TEST

/* ==== nesting: inclusive figures, folding at close, close order ==== */

static void spin_2ms(struct ph *p) { (void)p; spin(CLOCK_MONOTONIC, 2 * TICK_MSEC); }

static uint64_t parent_incl_ns_seen;
static void spin_then_read_parent(struct ph *p)
{
    spin(CLOCK_MONOTONIC, 2 * TICK_MSEC);
    parent_incl_ns_seen = stats_of(p->arg, true).handler_ns;
}

START_TEST(nesting_folds_into_parent)
{
    tick_scope p, c, g;
    tick_timer tm;
    struct ph hc;
    tick_scope_init(&p, loop, NULL, "P");
    tick_scope_init(&c, loop, &p, "C");
    ck_assert_ptr_eq(tick_scope_parent(&c), &p);
    ck_assert_str_eq(tick_scope_name(&c), "C");
    /* a scope made while C is current is C's child */
    tick_scope *prev = tick_scope_enter(loop, &c);
    ck_assert_ptr_eq(tick_scope_current(loop), &c);
    tick_scope_init(&g, loop, NULL, "G");
    tick_timer_init(&tm, "c timer", tm_fire);
    tick_call_later(loop, &tm, 3600 * TICK_SEC);
    tick_scope_enter(loop, prev);
    ck_assert_ptr_eq(tick_scope_parent(&g), &c);

    ph_init(&hc, "in C", &c);
    hc.then = spin_then_read_parent;
    hc.arg = &p;
    tick_call_soon(loop, &hc.h);
    run_ticks(1);
    /* read from inside C's handle: the running child's time counts too */
    ck_assert_uint_ge(parent_incl_ns_seen, 2 * TICK_MSEC);

    tick_scope_stats pe = stats_of(&p, false), pi = stats_of(&p, true), cs = stats_of(&c, false);
    ck_assert_uint_eq(cs.handles_run, 1);
    ck_assert_uint_ge(cs.handler_ns, 2 * TICK_MSEC);
    ck_assert_uint_eq(pe.handles_run, 0);
    ck_assert_uint_eq(pe.handler_ns, 0);
    ck_assert_uint_eq(pi.handles_run, 1);
    ck_assert_uint_eq(pi.handler_ns, cs.handler_ns);
    ck_assert_uint_eq(pe.count[TICK_SCOPE_TIMER], 0);
    ck_assert_uint_eq(pi.count[TICK_SCOPE_TIMER], 1);

    /* close order: children first */
    ck_assert_int_eq(tick_scope_close(&p), -EBUSY);
    ck_assert_int_eq(tick_scope_close(&c), -EBUSY);       /* G open, timer */
    ck_assert_int_eq(tick_scope_close(&g), 0);
    ck_assert_int_eq(tick_scope_close(&c), -EBUSY);       /* the timer */
    tick_timer_stop(loop, &tm);
    ck_assert_int_eq(tick_scope_close(&c), 0);
    ck_assert_int_eq(tick_scope_close(&c), 0);            /* idempotent */
    pe = stats_of(&p, false);
    ck_assert_uint_eq(pe.handles_run, 1);                 /* folded in */
    ck_assert_uint_eq(pe.handler_ns, cs.handler_ns);
    ck_assert_uint_eq(stats_of(&p, true).handler_ns, cs.handler_ns);
    ck_assert_int_eq(tick_scope_close(&p), 0);
    ck_assert_int_eq(tick_scope_close(tick_loop_scope(loop)), -EINVAL);
}
END_TEST

/* ==== cancel ==== */

/* Queued plain handles are unscheduled, in the ready queue and in the
 * snapshot being run (cancelled by a handle that runs before them). */
static void cancel_scope_of(struct ph *p) { tick_scope_cancel(p->arg); }

START_TEST(cancel_unschedules_queued_handles)
{
    tick_scope s;
    struct ph first, h1, h2, later, other;
    tick_scope_init(&s, loop, NULL, "S");
    ph_init(&first, "canceller", NULL);       /* root */
    first.then = cancel_scope_of;
    first.arg = &s;
    ph_init(&h1, "s1", &s);
    ph_init(&h2, "s2", &s);
    ph_init(&other, "root", NULL);
    tick_call_soon(loop, &first.h);
    tick_call_soon(loop, &h1.h);
    tick_call_soon(loop, &other.h);
    tick_call_soon(loop, &h2.h);
    ck_assert_uint_eq(stats_of(&s, false).queued, 2);
    run_ticks(1);                              /* first cancels s mid-snapshot */
    ck_assert_int_eq(first.ran, 1);
    ck_assert_int_eq(other.ran, 1);
    ck_assert_int_eq(h1.ran, 0);
    ck_assert_int_eq(h2.ran, 0);
    ck_assert(!tick_handle_scheduled(&h1.h) && !tick_handle_scheduled(&h2.h));

    /* in the ready queue; cancelling again catches what was armed since */
    ph_init(&later, "s later", &s);
    tick_call_soon(loop, &later.h);
    ck_assert(!tick_scope_empty(&s));
    ck_assert_uint_eq(tick_scope_cancel(&s), 1);
    ck_assert_uint_eq(tick_scope_cancel(&s), 0);
    run_ticks(2);
    ck_assert_int_eq(later.ran, 0);
    ck_assert(tick_scope_empty(&s));
    ck_assert_uint_eq(stats_of(&s, false).handles_run, 0);
    ck_assert_int_eq(tick_scope_close(&s), 0);
}
END_TEST

START_TEST(cancel_is_recursive_and_catches_new_sources)
{
    tick_scope s, c;
    tick_timer t1, t2;
    struct aw w = { 0 };
    tick_future *never;
    tick_future_new(loop, &never);
    tick_scope_init(&s, loop, NULL, "S");
    tick_scope_init(&c, loop, &s, "C");
    tick_timer_init(&t1, "c timer", tm_fire);
    tick_timer_init(&t2, "s timer", tm_fire);
    tick_scope *prev = tick_scope_enter(loop, &c);
    tick_call_later(loop, &t1, TICK_SEC);
    tick_scope_enter(loop, prev);
    ck_assert_uint_eq(tick_scope_cancel(&s), 1);
    ck_assert(tick_scope_cancelled(&c));
    ck_assert(!tick_timer_armed(&t1));
    ck_assert_uint_eq(tick_scope_cancel(&s), 0);

    /* a cancelled scope still takes timers; a new cancel catches them */
    prev = tick_scope_enter(loop, &c);
    tick_call_later(loop, &t1, TICK_SEC);
    tick_scope_enter(loop, prev);
    prev = tick_scope_enter(loop, &s);
    tick_call_later(loop, &t2, TICK_SEC);
    tick_scope_enter(loop, prev);
    ck_assert(tick_timer_armed(&t1) && tick_timer_armed(&t2));
    ck_assert_uint_eq(tick_scope_cancel(&s), 2);
    ck_assert(!tick_timer_armed(&t1) && !tick_timer_armed(&t2));

    /* a scope made under a cancelled one is cancelled: its task too */
    tick_scope g;
    tick_scope_init(&g, loop, &c, "G");
    ck_assert(tick_scope_cancelled(&g));
    w.f = never;
    start_in(&g, &w.task, "late", &aw_class);
    UNTIL(tick_future_done(&w.task.future), 5);
    ck_assert_int_eq(w.rc, -ECANCELED);
    tick_future_unref(&w.task.future);
    ck_assert_int_eq(tick_scope_close(&g), 0);
    ck_assert_int_eq(tick_scope_close(&c), 0);
    ck_assert_int_eq(tick_scope_close(&s), 0);
    tick_future_unref(never);
}
END_TEST

/* A task started into a cancelled scope: an await of a done future still
 * gives its value; the first await that would suspend gives -ECANCELED. */
struct late {
    tick_task task;
    tick_future *done, *never;
    intptr_t rc1, rc2;
};

static int late_step(tick_task *t)
{
    struct late *l = tick_container_of(t, struct late, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_future_ref(l->done), rc);
    l->rc1 = rc;
    TICK_AWAIT(t, tick_future_ref(l->never), rc);
    l->rc2 = rc;
    TICK_RETURN(t, 0);
    TICK_END(t);
}
static const tick_task_class late_class = { late_step, NULL };

START_TEST(task_started_in_cancelled_scope)
{
    tick_scope s;
    struct late l = { .rc1 = 1, .rc2 = 1 };
    tick_future_new(loop, &l.done);
    tick_future_new(loop, &l.never);
    tick_future_set_result(l.done, 42);
    tick_scope_init(&s, loop, NULL, "S");
    tick_scope_cancel(&s);
    start_in(&s, &l.task, "late", &late_class);
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_TASK], 1);
    UNTIL(tick_future_done(&l.task.future), 5);
    ck_assert_int_eq(l.rc1, 42);
    ck_assert_int_eq(l.rc2, -ECANCELED);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_scope_close(&s), 0);
    tick_future_unref(&l.task.future);
    tick_future_unref(l.done);
    tick_future_unref(l.never);
}
END_TEST

/* Pool jobs: a queued job is dropped and its fn never runs (also when
 * nobody holds its future any more). */
START_TEST(cancel_drops_queued_jobs)
{
    tick_scope s;
    tick_future *block[TICK_POOL_THREADS], *held, *dropped;
    atomic_store(&gate_open, 0);
    atomic_store(&jobs_started, 0);
    atomic_store(&jobs_ran, 0);
    for (int i = 0; i < TICK_POOL_THREADS; i++)
        block[i] = tick_run_in_thread(loop, gated_job, NULL);   /* root's */
    wait_jobs_started(TICK_POOL_THREADS);
    tick_scope_init(&s, loop, NULL, "S");
    tick_scope *prev = tick_scope_enter(loop, &s);
    held = tick_run_in_thread(loop, counted_job, NULL);
    dropped = tick_run_in_thread(loop, counted_job, NULL);
    tick_scope_enter(loop, prev);
    tick_future_unref(dropped);                 /* fire and forget */
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_JOB], 2);
    ck_assert_uint_eq(tick_scope_cancel(&s), 2);
    ck_assert(tick_future_cancelled(held));
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_JOB], 0);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_scope_close(&s), 0);
    atomic_store(&gate_open, 1);
    for (int i = 0; i < TICK_POOL_THREADS; i++) {
        RUN_UNTIL(tick_future_done(block[i]), 1000);
        tick_future_unref(block[i]);
    }
    ck_assert_int_eq(atomic_load(&jobs_ran), TICK_POOL_THREADS);   /* not theirs */
    tick_future_unref(held);
}
END_TEST

/* A signal wait nobody holds any more (the engine's reference only). */
START_TEST(cancel_signal_wait_nobody_holds)
{
    tick_scope s;
    tick_scope_init(&s, loop, NULL, "S");
    tick_scope *prev = tick_scope_enter(loop, &s);
    tick_future_unref(tick_signal_wait(loop, SIGUSR2));
    tick_scope_enter(loop, prev);
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_SIGNAL], 1);
    ck_assert_uint_eq(tick_scope_cancel(&s), 1);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_scope_close(&s), 0);
}
END_TEST

/* tick_fds: an fd whose owner never releases it is freed by the scope's
 * close (ASan/valgrind: no leak); one the owner closes in time is not
 * touched by the reaper. */
START_TEST(cancel_fd_owner_never_releases)
{
    tick_scope s;
    int p1[2], p2[2];
    tick_fd *lost, *kept;
    ck_assert_int_eq(pipe2(p1, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(p2, O_CLOEXEC), 0);
    tick_scope_init(&s, loop, NULL, "S");
    tick_scope *prev = tick_scope_enter(loop, &s);
    ck_assert_int_eq(tick_fd_open(loop, p1[0], &lost), 0);
    ck_assert_int_eq(tick_fd_open(loop, p2[0], &kept), 0);
    tick_scope_enter(loop, prev);
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_FD], 2);
    ck_assert_uint_eq(stats_of(&s, false).fds_opened, 2);
    ck_assert_uint_eq(tick_scope_cancel(&s), 2);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);    /* fds still open */
    ck_assert_int_eq(tick_fd_close(kept), 0);          /* in time */
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_FD], 1);
    engine_logs = 0;
    run_ticks(1);
    ck_assert_int_eq(engine_logs, 1);                  /* "closed fd N ..." */
    ck_assert_ptr_nonnull(strstr(last_log, "closed fd"));
    ck_assert_int_eq(tick_fd_fileno(lost), -EBADF);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_scope_close(&s), 0);         /* frees `lost` */
    close(p1[1]);
    close(p2[1]);
}
END_TEST

/* ==== drain ==== */

static void resched_forever(struct ph *p) { tick_call_soon(loop, &p->h); }

START_TEST(drain_waits_for_the_last_member)
{
    tick_scope s;
    struct ph q, forever;
    tick_timer tm;
    tick_scope_init(&s, loop, NULL, "S");

    /* empty: done at once */
    tick_future *d = tick_scope_drain(&s);
    ck_assert_ptr_nonnull(d);
    ck_assert(tick_future_done(d));
    ck_assert_int_eq(tick_future_error(d), 0);
    tick_future_unref(d);

    /* a handle that is only queued: done when it has run, not before */
    ph_init(&q, "queued", &s);
    tick_call_soon(loop, &q.h);
    ck_assert(!tick_scope_empty(&s));
    d = tick_scope_drain(&s);
    ck_assert(!tick_future_done(d));
    tick_future *d2 = tick_scope_drain(&s);
    ck_assert_ptr_eq(d2, d);                   /* one drain future at a time */
    tick_future_unref(d2);
    run_ticks(1);
    ck_assert_int_eq(q.ran, 1);
    ck_assert(tick_future_done(d));            /* in the tick q ran */
    tick_future_unref(d);

    /* a timer then a task: not before the last one goes */
    struct aw w = { 0 };
    tick_future_new(loop, &w.f);
    tick_timer_init(&tm, "t", tm_fire);
    tick_scope *prev = tick_scope_enter(loop, &s);
    tick_call_later(loop, &tm, 3600 * TICK_SEC);
    tick_task_start(loop, &w.task, "w", &aw_class);
    tick_scope_enter(loop, prev);
    d = tick_scope_drain(&s);
    run_ticks(2);
    ck_assert(!tick_future_done(d));
    tick_timer_stop(loop, &tm);
    run_ticks(2);
    ck_assert(!tick_future_done(d));
    tick_future_set_result(w.f, 5);
    UNTIL(tick_future_done(&w.task.future), 3);
    UNTIL(tick_future_done(d), 3);
    tick_future_unref(d);
    tick_future_unref(w.f);
    tick_future_unref(&w.task.future);

    /* a handle that reschedules itself keeps it undrained until a cancel */
    ph_init(&forever, "forever", &s);
    forever.then = resched_forever;
    tick_call_soon(loop, &forever.h);
    d = tick_scope_drain(&s);
    run_ticks(20);
    ck_assert_int_ge(forever.ran, 19);
    ck_assert(!tick_future_done(d));
    ck_assert_uint_eq(tick_scope_cancel(&s), 1);
    UNTIL(tick_future_done(d), 3);
    int ran = forever.ran;
    run_ticks(2);
    ck_assert_int_eq(forever.ran, ran);
    tick_future_unref(d);
    ck_assert_int_eq(tick_scope_close(&s), 0);
}
END_TEST

/* Closing completes a pending drain future. */
START_TEST(close_completes_drain)
{
    tick_scope s;
    struct ph q;
    tick_scope_init(&s, loop, NULL, "S");
    ph_init(&q, "q", &s);
    tick_call_soon(loop, &q.h);
    tick_future *d = tick_scope_drain(&s);
    tick_handle_cancel(&q.h);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_scope_close(&s), 0);
    ck_assert(tick_future_done(d));
    tick_future_unref(d);
}
END_TEST

/* ==== accounting ==== */

START_TEST(accounting_per_scope)
{
    tick_scope a, b;
    struct ph ha, hb, hr;
    tick_scope_init(&a, loop, NULL, "A");
    tick_scope_init(&b, loop, NULL, "B");
    ph_init(&ha, "spin A", &a);
    ha.then = spin_2ms;
    ph_init(&hb, "spin B", &b);
    hb.then = spin_2ms;
    ph_init(&hr, "root", NULL);
    tick_scope_stats r0 = stats_of(tick_loop_scope(loop), false);
    tick_call_soon(loop, &ha.h);
    tick_call_soon(loop, &hr.h);
    tick_call_soon(loop, &hb.h);
    tick_call_soon(loop, &hr.h);                /* no-op: already queued */
    run_ticks(1);
    tick_scope_stats sa = stats_of(&a, false), sb = stats_of(&b, false);
    tick_scope_stats r1 = stats_of(tick_loop_scope(loop), false);
    ck_assert_uint_ge(sa.handler_ns, 2 * TICK_MSEC);
    ck_assert_uint_ge(sb.handler_ns, 2 * TICK_MSEC);
    ck_assert_uint_lt(sa.handler_ns, 200 * TICK_MSEC);
    ck_assert_uint_lt(sb.handler_ns, 200 * TICK_MSEC);
    /* the root ran one empty handle: far less than either spin (not a
     * fixed bound, which valgrind's slowness alone can exceed) */
    ck_assert_uint_lt(r1.handler_ns - r0.handler_ns, sa.handler_ns < sb.handler_ns
                                                    ? sa.handler_ns : sb.handler_ns);
    ck_assert_uint_eq(sa.handles_run, 1);
    ck_assert_uint_eq(sb.handles_run, 1);
    ck_assert_uint_eq(r1.handles_run - r0.handles_run, 1);

    /* off: counts go on, time stops */
    tick_loop_set_accounting(loop, false);
    tick_call_soon(loop, &ha.h);
    tick_call_soon(loop, &ha.h);
    run_ticks(1);
    tick_call_soon(loop, &hb.h);
    run_ticks(1);
    ck_assert_uint_eq(stats_of(&a, false).handler_ns, sa.handler_ns);
    ck_assert_uint_eq(stats_of(&b, false).handler_ns, sb.handler_ns);
    ck_assert_uint_eq(stats_of(&a, false).handles_run, 2);
    ck_assert_uint_eq(stats_of(&b, false).handles_run, 2);
    tick_loop_set_accounting(loop, true);
    tick_call_soon(loop, &hb.h);
    run_ticks(1);
    ck_assert_uint_ge(stats_of(&b, false).handler_ns, sb.handler_ns + 2 * TICK_MSEC);
    ck_assert_int_eq(tick_scope_close(&a), 0);
    ck_assert_int_eq(tick_scope_close(&b), 0);
}
END_TEST

/* Connection-like children that charge their parent: their handles'
 * time and count go to the parent, their own figures stay 0. */
START_TEST(accounting_charged_to_parent)
{
    tick_scope p, c1, c2;
    struct ph h1, h2;
    tick_scope_init(&p, loop, NULL, "P");
    tick_scope_init(&c1, loop, &p, "C1");
    tick_scope_init(&c2, loop, &p, "C2");
    tick_scope_charge_parent(&c1, true);
    tick_scope_charge_parent(&c2, true);
    ph_init(&h1, "spin C1", &c1);
    h1.then = spin_2ms;
    ph_init(&h2, "spin C2", &c2);
    h2.then = spin_2ms;
    tick_call_soon(loop, &h1.h);
    tick_call_soon(loop, &h2.h);
    run_ticks(1);
    tick_scope_stats sp = stats_of(&p, false), s1 = stats_of(&c1, false);
    ck_assert_uint_ge(sp.handler_ns, 4 * TICK_MSEC);
    ck_assert_uint_eq(sp.handles_run, 2);
    ck_assert_uint_eq(s1.handler_ns, 0);
    ck_assert_uint_eq(s1.handles_run, 0);
    /* off again: C1 times itself */
    tick_scope_charge_parent(&c1, false);
    tick_call_soon(loop, &h1.h);
    run_ticks(1);
    ck_assert_uint_ge(stats_of(&c1, false).handler_ns, 2 * TICK_MSEC);
    ck_assert_uint_eq(stats_of(&c1, false).handles_run, 1);
    ck_assert_int_eq(tick_scope_close(&c1), 0);
    ck_assert_int_eq(tick_scope_close(&c2), 0);
    ck_assert_int_eq(tick_scope_close(&p), 0);
}
END_TEST

static intptr_t cpu_job(void *arg)
{
    (void)arg;
    spin(CLOCK_THREAD_CPUTIME_ID, 5 * TICK_MSEC);
    return 1;
}

START_TEST(accounting_pool_job_cpu)
{
    tick_scope s;
    tick_scope_init(&s, loop, NULL, "S");
    tick_scope *prev = tick_scope_enter(loop, &s);
    tick_future *f = tick_run_in_thread(loop, cpu_job, NULL);
    tick_scope_enter(loop, prev);
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_JOB], 1);
    RUN_UNTIL(tick_future_done(f), 1000);
    tick_scope_stats st = stats_of(&s, false);
    ck_assert_uint_ge(st.job_cpu_ns, 4 * TICK_MSEC);
    ck_assert_uint_lt(st.job_cpu_ns, TICK_SEC);
    ck_assert_uint_eq(st.jobs_run, 1);
    ck_assert_uint_eq(st.count[TICK_SCOPE_JOB], 0);
    ck_assert_uint_eq(stats_of(tick_loop_scope(loop), false).job_cpu_ns, 0);
    tick_future_unref(f);
    ck_assert_int_eq(tick_scope_close(&s), 0);
    ck_assert_uint_ge(stats_of(tick_loop_scope(loop), false).job_cpu_ns, 4 * TICK_MSEC);
}
END_TEST

/* ==== misuse ==== */

/* start twice: refused, logged once, and nothing corrupted */
START_TEST(misuse_start_twice)
{
    tick_scope s;
    struct aw w = { 0 };
    tick_future_new(loop, &w.f);
    tick_scope_init(&s, loop, NULL, "S");
    start_in(&s, &w.task, "twice", &aw_class);
    run_ticks(1);
    tick_scope *prev = tick_scope_enter(loop, &s);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "twice", &aw_class), -EBUSY);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "twice", &aw_class), -EBUSY);
    tick_scope_enter(loop, prev);
    ck_assert_int_eq(misuse_logs, 1);
    ck_assert_ptr_nonnull(strstr(last_log, "twice"));
    ck_assert_uint_eq(stats_of(&s, false).count[TICK_SCOPE_TASK], 1);
    ck_assert_uint_eq(stats_of(&s, false).tasks_started, 1);
    tick_loop_stats ls;
    tick_loop_get_stats(loop, &ls);
    ck_assert_uint_eq(ls.tasks_alive, 1);
    /* still a good task: cancel reaches it, the scope drains and closes */
    ck_assert_uint_eq(tick_scope_cancel(&s), 1);
    UNTIL(tick_future_done(&w.task.future), 3);
    ck_assert_int_eq(w.rc, -ECANCELED);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_scope_close(&s), 0);
    tick_loop_get_stats(loop, &ls);
    ck_assert_uint_eq(ls.tasks_alive, 0);
    tick_future_unref(&w.task.future);
    tick_future_unref(w.f);
}
END_TEST

/* start twice, the task then completes normally */
START_TEST(misuse_start_twice_then_completes)
{
    struct aw w = { 0 };
    tick_future_new(loop, &w.f);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "t", &aw_class), 0);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "t", &aw_class), -EBUSY);  /* queued */
    run_ticks(1);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "t", &aw_class), -EBUSY);  /* parked */
    ck_assert_int_eq(misuse_logs, 1);
    tick_future_set_result(w.f, 9);
    UNTIL(tick_future_done(&w.task.future), 3);
    ck_assert_int_eq(tick_future_result(&w.task.future), 9);
    ck_assert_int_eq(w.steps, 2);
    tick_future_unref(&w.task.future);
    tick_future_unref(w.f);
}
END_TEST

static int held_ran;
static void on_task_done(tick_handle *h) { (void)h; held_ran++; }

/* restart a finished task: refused while anyone else holds or waits on it */
START_TEST(misuse_restart_finished)
{
    struct aw w = { 0 };
    tick_handle cb;
    tick_future_new(loop, &w.f);
    tick_future_set_result(w.f, 3);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), 0);
    run_ticks(1);
    ck_assert(tick_future_done(&w.task.future));

    /* a reference held elsewhere */
    tick_future *other = tick_future_ref(&w.task.future);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), -EBUSY);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), -EBUSY);
    ck_assert_int_eq(misuse_logs, 1);
    ck_assert_int_eq(tick_future_result(&w.task.future), 3);      /* untouched */
    tick_future_unref(other);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), 0);
    ck_assert(!tick_future_done(&w.task.future));

    /* a done-callback waiting (holding its reference, as future.h asks):
     * while the task runs, and once finished until the callback has run */
    tick_handle_init(&cb, "on task done", on_task_done);
    tick_future_add_done_callback(tick_future_ref(&w.task.future), &cb);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), -EBUSY);
    run_ticks(1);                                   /* finishes; cb queued */
    ck_assert(tick_future_done(&w.task.future));
    ck_assert_int_eq(held_ran, 0);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), -EBUSY);
    ck_assert_int_eq(misuse_logs, 2);               /* once per task life */
    run_ticks(1);
    ck_assert_int_eq(held_ran, 1);
    tick_future_unref(&w.task.future);              /* the callback's */
    ck_assert_int_eq(tick_task_start(loop, &w.task, "again", &aw_class), 0);
    UNTIL(tick_future_done(&w.task.future), 3);
    ck_assert_int_eq(tick_future_result(&w.task.future), 3);
    tick_loop_stats ls;
    tick_loop_get_stats(loop, &ls);
    ck_assert_uint_eq(ls.tasks_alive, 0);
    ck_assert_uint_eq(stats_of(tick_loop_scope(loop), false).tasks_started, 3);
    tick_future_unref(&w.task.future);
    tick_future_unref(w.f);
}
END_TEST

/* TICK_AWAIT from a helper called outside the task's own step: -EINVAL,
 * and the task it names is left exactly as it was. */
static int helper_await(tick_task *t, tick_future *f, intptr_t *out)
{
    intptr_t rc = 1;
    TICK_AWAIT(t, f, rc);
    *out = rc;
    return 0;
}

struct misuser {
    tick_task task;
    tick_task *victim;
    tick_future *f;
    intptr_t got;
};

static int misuser_step(tick_task *t)
{
    struct misuser *m = tick_container_of(t, struct misuser, task);
    TICK_BEGIN(t);
    helper_await(m->victim, tick_future_ref(m->f), &m->got);
    TICK_RETURN(t, 0);
    TICK_END(t);
}
static const tick_task_class misuser_class = { misuser_step, NULL };

static intptr_t plain_got;
static struct aw *plain_victim;
static tick_future *plain_f;
static void await_from_plain(struct ph *p)
{
    (void)p;
    helper_await(&plain_victim->task, tick_future_ref(plain_f), &plain_got);
}

START_TEST(misuse_await_outside_own_step)
{
    struct aw v = { 0 };
    struct misuser m1 = { .victim = &v.task, .got = 1 }, m2 = { .victim = &v.task, .got = 1 };
    struct ph plain;
    tick_future *other;
    tick_future_new(loop, &v.f);
    tick_future_new(loop, &other);
    m1.f = m2.f = other;
    tick_task_start(loop, &v.task, "victim", &aw_class);
    run_ticks(1);                                      /* v suspended on v.f */
    tick_task_start(loop, &m1.task, "misuser", &misuser_class);
    tick_task_start(loop, &m2.task, "misuser2", &misuser_class);
    run_ticks(1);
    ck_assert_int_eq(m1.got, -EINVAL);
    ck_assert_int_eq(m2.got, -EINVAL);
    ck_assert(tick_future_done(&m1.task.future) && tick_future_done(&m2.task.future));
    ck_assert_int_eq(misuse_logs, 1);                  /* once for the victim */
    ck_assert_ptr_eq(tick_task_awaited(&v.task), v.f); /* not disturbed */
    ck_assert(tick_handle_scheduled(&v.task.step));
    ck_assert(tick_list_empty(&other->waiters));
    ck_assert_int_eq(v.steps, 1);

    /* from a plain handle too */
    plain_victim = &v;
    plain_f = other;
    plain_got = 1;
    ph_init(&plain, "plain awaits", NULL);
    plain.then = await_from_plain;
    tick_call_soon(loop, &plain.h);
    run_ticks(1);
    ck_assert_int_eq(plain_got, -EINVAL);
    ck_assert_int_eq(misuse_logs, 1);
    ck_assert(!tick_future_done(&v.task.future));

    tick_future_set_result(v.f, 11);
    UNTIL(tick_future_done(&v.task.future), 3);
    ck_assert_int_eq(tick_future_result(&v.task.future), 11);
    ck_assert_int_eq(v.steps, 2);
    tick_future_unref(&v.task.future);
    tick_future_unref(&m1.task.future);
    tick_future_unref(&m2.task.future);
    tick_future_unref(v.f);
    tick_future_unref(other);
}
END_TEST

/* TICK_ABORT_ON_MISUSE=1: a debugging aid that aborts at the misuse. */
START_TEST(misuse_aborts_when_asked)
{
    struct aw w = { 0 };
    tick_future_new(loop, &w.f);
    tick_task_start(loop, &w.task, "t", &aw_class);
    setenv("TICK_ABORT_ON_MISUSE", "1", 1);
    tick_task_start(loop, &w.task, "t", &aw_class);
    ck_abort_msg("not reached");
}
END_TEST

/* ==== engine waiters are not the scope's to cut ==== */

static tick_future *made_gather, *gather_child;
static void make_gather(struct ph *p)
{
    (void)p;
    made_gather = tick_gather(loop, &gather_child, 1);
}

START_TEST(cancel_leaves_engine_waiters_alone)
{
    tick_scope c;
    struct ph maker;
    struct aw w = { .rc = 1 };
    tick_future_new(loop, &gather_child);
    tick_scope_init(&c, loop, NULL, "C");
    ph_init(&maker, "maker", &c);
    maker.then = make_gather;
    tick_call_soon(loop, &maker.h);
    run_ticks(1);
    ck_assert_ptr_nonnull(made_gather);
    w.f = made_gather;
    tick_task_start(loop, &w.task, "root awaits", &aw_class);   /* root's */
    run_ticks(1);
    tick_future_set_result(gather_child, 4);   /* gather's waiter queued */
    tick_scope_cancel(&c);                     /* C's cancel must not cut it */
    run_ticks(3);
    ck_assert(tick_future_done(made_gather));
    ck_assert(tick_future_done(&w.task.future));
    ck_assert_int_eq(w.rc, 0);
    ck_assert_int_eq(tick_scope_close(&c), 0);
    tick_future_unref(&w.task.future);
    tick_future_unref(made_gather);
    tick_future_unref(gather_child);
}
END_TEST

/* ==== the loop refuses to close over live sources ==== */

START_TEST(loop_close_refuses_live_sources)
{
    tick_scope s;
    tick_timer tm;
    struct aw w = { 0 };
    struct ph q;
    int p[2];
    tick_fd *fd;
    tick_future_new(loop, &w.f);
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    tick_scope_init(&s, loop, NULL, "S");
    tick_timer_init(&tm, "t", tm_fire);
    ph_init(&q, "q", &s);
    tick_scope *prev = tick_scope_enter(loop, &s);
    tick_call_later(loop, &tm, TICK_SEC);
    tick_task_start(loop, &w.task, "w", &aw_class);
    ck_assert_int_eq(tick_fd_open(loop, p[0], &fd), 0);
    tick_scope_enter(loop, prev);
    run_ticks(1);
    /* take them away one by one: each alone keeps the loop open */
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);
    tick_timer_stop(loop, &tm);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);     /* task, fd */
    tick_future_set_result(w.f, 0);
    UNTIL(tick_future_done(&w.task.future), 3);
    tick_future_unref(&w.task.future);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);     /* fd */
    ck_assert_int_eq(tick_fd_close(fd), 0);
    tick_call_soon(loop, &q.h);
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);     /* queued handle */
    run_ticks(1);
    ck_assert(tick_scope_empty(&s));
    ck_assert_int_eq(tick_loop_close(loop), -EBUSY);     /* the open scope */
    ck_assert_int_eq(tick_scope_close(&s), 0);
    tick_future_unref(w.f);
    close(p[1]);
    /* the fixture's close succeeds */
}
END_TEST

/* The root scope is never cancelled: it owns the other scopes' own
 * bookkeeping (here a drain check queued for S) and the daemon's. */
START_TEST(root_is_never_cancelled)
{
    tick_scope s;
    struct ph q;
    tick_scope_init(&s, loop, NULL, "S");
    ph_init(&q, "root handle", tick_loop_scope(loop));
    tick_call_soon(loop, &q.h);
    tick_future *d = tick_scope_drain(&s);
    ck_assert(tick_future_done(d));
    ck_assert_uint_eq(tick_scope_cancel(tick_loop_scope(loop)), 0);
    ck_assert(!tick_scope_cancelled(tick_loop_scope(loop)));
    ck_assert(tick_handle_scheduled(&q.h));
    run_ticks(1);
    tick_future_unref(d);
    ck_assert_int_eq(tick_scope_close(&s), 0);
}
END_TEST

/* A timeout made in scope C and awaited from the root: C's cancel must
 * not stop its deadline (the timer is the timeout future's). */
static tick_future *made_timeout, *timeout_inner;
static void make_timeout(struct ph *p)
{
    (void)p;
    made_timeout = tick_timeout(loop, tick_future_ref(timeout_inner), 20 * TICK_MSEC);
}

START_TEST(cancel_leaves_a_timeout_deadline_alone)
{
    tick_scope c;
    struct ph maker;
    struct aw w = { .rc = 1 };
    tick_future_new(loop, &timeout_inner);
    tick_scope_init(&c, loop, NULL, "C");
    ph_init(&maker, "maker", &c);
    maker.then = make_timeout;
    tick_call_soon(loop, &maker.h);
    run_ticks(1);
    ck_assert_ptr_nonnull(made_timeout);
    w.f = made_timeout;
    tick_task_start(loop, &w.task, "root awaits", &aw_class);   /* root's */
    run_ticks(1);
    tick_scope_cancel(&c);
    RUN_UNTIL(tick_future_done(&w.task.future), 100);
    ck_assert_int_eq(w.rc, -ETIMEDOUT);
    ck_assert_int_eq(tick_scope_close(&c), 0);
    tick_future_unref(&w.task.future);
    tick_future_unref(made_timeout);
    tick_future_unref(timeout_inner);
}
END_TEST

/* ==== sizes ==== */

START_TEST(sizes)
{
    ck_assert_uint_le(sizeof(tick_task), 128);
    ck_assert_uint_le(sizeof(tick__source), 40);
    fprintf(stderr,
            "sizes: tick_task %zu, tick_handle %zu, tick_timer %zu, tick_scope %zu, "
            "tick__source %zu, tick_future %zu\n",
            sizeof(tick_task), sizeof(tick_handle), sizeof(tick_timer),
            sizeof(tick_scope), sizeof(tick__source), sizeof(tick_future));
}
END_TEST

static Suite *scope_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = tcase_create("scope");
    tcase_add_checked_fixture(tc, scope_setup, scope_teardown);
    tcase_add_loop_test(tc, kind_membership_cancel_drain, 0, NKCASES);
    tcase_add_test(tc, kind_names);
    tcase_add_test(tc, first_arm_fixes_the_scope);
    tcase_add_test(tc, task_woken_by_other_scope_runs_in_its_own);
    tcase_add_test(tc, nesting_folds_into_parent);
    tcase_add_test(tc, cancel_unschedules_queued_handles);
    tcase_add_test(tc, cancel_is_recursive_and_catches_new_sources);
    tcase_add_test(tc, task_started_in_cancelled_scope);
    tcase_add_test(tc, cancel_drops_queued_jobs);
    tcase_add_test(tc, cancel_signal_wait_nobody_holds);
    tcase_add_test(tc, cancel_fd_owner_never_releases);
    tcase_add_test(tc, drain_waits_for_the_last_member);
    tcase_add_test(tc, close_completes_drain);
    tcase_add_test(tc, accounting_per_scope);
    tcase_add_test(tc, accounting_charged_to_parent);
    tcase_add_test(tc, accounting_pool_job_cpu);
    tcase_add_test(tc, misuse_start_twice);
    tcase_add_test(tc, misuse_start_twice_then_completes);
    tcase_add_test(tc, misuse_restart_finished);
    tcase_add_test(tc, misuse_await_outside_own_step);
    tcase_add_test_raise_signal(tc, misuse_aborts_when_asked, SIGABRT);
    tcase_add_test(tc, cancel_leaves_engine_waiters_alone);
    tcase_add_test(tc, loop_close_refuses_live_sources);
    tcase_add_test(tc, root_is_never_cancelled);
    tcase_add_test(tc, cancel_leaves_a_timeout_deadline_alone);
    tcase_add_test(tc, sizes);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(scope_suite)
