/* test_oom_walk.c — allocation failure injected on every engine path, as
 * neco does: one scenario that starts a loop, serves an echo exchange
 * over a socketpair with tasks (the server side on a tick_stream), arms timers, waits for a signal (SIGUSR2,
 * raised here), spawns a child, runs a pool job, uses gather / first_of /
 * timeout, an Event, a Queue and a Semaphore, and cancels and drains a
 * scope; run with the n-th engine allocation failing, for n = 1, 2, ...
 * until a run completes with no failure injected at all. Every run must
 * end in an error reported through the one error channel (the scenario
 * task's result) or in success: never a hang (a guard timer), a lost
 * wake-up (-EDEADLK), a loop that will not close, an fd left open, or a
 * leak (LeakSanitizer, under make SAN=1). Prints the number of allocation
 * sites failed. */
#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "helpers.h"

#define GUARD_NS (10 * TICK_SEC)   /* a run longer than this is a hang */

struct walk;

/* The echo server: one task per connection, in the conn scope. */
struct echo {
    tick_task task;
    struct walk *w;
    char buf[64];
    intptr_t n;
};

struct walk {
    tick_task task;               /* the scenario; its result is the run's */
    tick_scope scope;             /* everything the scenario makes */
    tick_scope conn;              /* the echo connection and an idler */
    tick_fd *cli, *lst, *con;
    tick_stream *srv;             /* the echo server's side */
    struct sockaddr_in addr;
    tick_future *connecting;
    struct echo echo;
    tick_task idler;              /* waits in conn until the cancel */
    tick_task waiter;             /* waits for the Event */
    bool echo_started, idler_started, waiter_started;
    tick_event ev, never;
    tick_queue q, idle_q;
    bool idle_q_init;
    tick_semaphore sem;
    bool q_init, sem_init;
    tick_timer timer;
    bool fired;
    tick_future *parts[2];
    tick_future *exit;
    char buf[64];
    int i;
};

#define CHECK(t, rc)                                                        \
    do {                                                                    \
        if ((rc) < 0)                                                       \
            TICK_FAIL(t, (rc));                                             \
    } while (0)

static int echo_step(tick_task *t)
{
    struct echo *e = tick_container_of(t, struct echo, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_stream_read_exact(e->w->srv, 4), rc);
        if (rc <= 0)
            break;
        size_t len;
        const void *p = tick_stream_peek(e->w->srv, &len);
        rc = tick_stream_write(e->w->srv, p, 4);
        tick_stream_consume(e->w->srv, 4);
        if (rc < 0)
            break;
        TICK_AWAIT(t, tick_stream_flush(e->w->srv), rc);
        if (rc < 0)
            break;
    }
    /* the peer must learn the connection is gone: close on any error */
    tick_stream_close(e->w->srv);
    e->w->srv = NULL;
    if (rc < 0)
        TICK_FAIL(t, rc);
    TICK_END(t);
}
static const tick_task_class echo_class = { echo_step, NULL };

static int idler_step(tick_task *t)
{
    struct walk *w = tick_container_of(t, struct walk, idler);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_queue_get(&w->idle_q), rc);  /* empty: until cancelled */
    TICK_FAIL(t, rc < 0 ? rc : -EPROTO);
    TICK_END(t);
}
static const tick_task_class idler_class = { idler_step, NULL };

static int waiter_step(tick_task *t)
{
    struct walk *w = tick_container_of(t, struct walk, waiter);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_event_wait(&w->ev), rc);
    CHECK(t, rc);
    TICK_END(t);
}
static const tick_task_class waiter_class = { waiter_step, NULL };

static void timer_fired(tick_handle *h)
{
    tick_container_of(h, struct walk, timer.handle)->fired = true;
}

static intptr_t job_fn(void *arg)
{
    return (intptr_t)arg;
}

/* Both parts made, or -ENOMEM with neither kept. */
static int two_sleeps(struct walk *w, uint64_t a, uint64_t b)
{
    w->parts[0] = tick_sleep(loop, a);
    w->parts[1] = tick_sleep(loop, b);
    if (w->parts[0] && w->parts[1])
        return 0;
    for (int i = 0; i < 2; i++) {
        if (w->parts[i])
            tick_future_cancel(w->parts[i]);
        w->parts[i] = tick_future_unref(w->parts[i]);
    }
    return -ENOMEM;
}

/* A sleep nobody waits for still holds its timer: cancel what is left
 * (the combinator failed to allocate, or first_of left the loser). */
static void drop_parts(struct walk *w)
{
    for (int i = 0; i < 2; i++) {
        tick_future_cancel(w->parts[i]);
        w->parts[i] = tick_future_unref(w->parts[i]);
    }
}

/* A listening socket on 127.0.0.1 and a socket to connect to it, both
 * as tick_fds of the scenario. 0 or -errno. */
static int listen_and_connect(struct walk *w)
{
    socklen_t len = sizeof w->addr;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), c, rc;
    if (l < 0)
        return -errno;
    w->addr = (struct sockaddr_in){ .sin_family = AF_INET,
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(l, (struct sockaddr *)&w->addr, sizeof w->addr) < 0 || listen(l, 4) < 0 ||
        getsockname(l, (struct sockaddr *)&w->addr, &len) < 0) {
        rc = -errno;
        close(l);
        return rc;
    }
    rc = tick_fd_open(loop, l, &w->lst);
    if (rc < 0) {
        close(l);
        return rc;
    }
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c < 0)
        return -errno;
    rc = tick_fd_open(loop, c, &w->con);
    if (rc < 0)
        close(c);
    return rc;
}

static int walk_step(tick_task *t)
{
    struct walk *w = tick_container_of(t, struct walk, task);
    intptr_t rc;
    TICK_BEGIN(t);

    rc = tick_queue_init(&w->idle_q, loop, 1);
    CHECK(t, rc);
    w->idle_q_init = true;

    /* ---- an echo connection over a socketpair, served by a task ---- */
    {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            TICK_FAIL(t, -errno);
        rc = tick_fd_open(loop, sv[0], &w->cli);
        if (rc < 0) {
            close(sv[0]);
            close(sv[1]);
            TICK_FAIL(t, rc);
        }
        tick_scope *prev = tick_scope_enter(loop, &w->conn);
        rc = tick_stream_open(loop, sv[1], &w->srv);
        if (rc == 0) {
            w->echo.w = w;
            tick_task_start(loop, &w->echo.task, "echo", &echo_class);
            w->echo_started = true;
            tick_task_start(loop, &w->idler, "idler", &idler_class);
            w->idler_started = true;
        } else {
            close(sv[1]);
        }
        tick_scope_enter(loop, prev);
        CHECK(t, rc);
    }
    for (w->i = 0; w->i < 2; w->i++) {
        TICK_AWAIT(t, tick_fd_write(w->cli, "ping", 4), rc);
        CHECK(t, rc);
        TICK_AWAIT(t, tick_fd_read(w->cli, w->buf, sizeof w->buf), rc);
        if (rc == 0) {            /* the server is gone: say why */
            TICK_AWAIT(t, tick_future_ref(&w->echo.task.future), rc);
            TICK_FAIL(t, rc < 0 ? rc : -EPIPE);
        }
        CHECK(t, rc);
        if (rc != 4 || memcmp(w->buf, "ping", 4) != 0)
            TICK_FAIL(t, -EPROTO);
    }

    /* ---- timers ---- */
    tick_timer_init(&w->timer, "walk timer", timer_fired);
    rc = tick_call_later(loop, &w->timer, 1 * TICK_MSEC);
    CHECK(t, rc);
    TICK_AWAIT(t, tick_sleep(loop, 2 * TICK_MSEC), rc);
    CHECK(t, rc);
    if (!w->fired)
        TICK_FAIL(t, -EPROTO);

    /* ---- a signal: raised only once the wait owns it (else SIGUSR2's
     * default action would end the test) ---- */
    {
        tick_future *f = tick_signal_wait(loop, SIGUSR2);
        if (f && !tick_future_done(f))
            raise(SIGUSR2);
        TICK_AWAIT(t, f, rc);
    }
    CHECK(t, rc);
    if (rc != SIGUSR2)
        TICK_FAIL(t, -EPROTO);

    /* ---- a child ---- */
    {
        static char *const argv[] = { "/bin/true", NULL };
        tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
        pid_t pid;
        o.path = "/bin/true";
        rc = tick_spawn(loop, &o, &pid, &w->exit);
        CHECK(t, rc);
    }
    TICK_AWAIT(t, w->exit, rc);
    w->exit = NULL;
    CHECK(t, rc);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        TICK_FAIL(t, -EPROTO);

    /* ---- a pool job ---- */
    TICK_AWAIT(t, tick_run_in_thread(loop, job_fn, (void *)(intptr_t)42), rc);
    CHECK(t, rc);
    if (rc != 42)
        TICK_FAIL(t, -EPROTO);

    /* ---- gather, first_of, timeout ---- */
    rc = two_sleeps(w, 1 * TICK_MSEC, 2 * TICK_MSEC);
    CHECK(t, rc);
    TICK_AWAIT(t, tick_gather(loop, w->parts, 2), rc);
    drop_parts(w);
    CHECK(t, rc);
    rc = two_sleeps(w, 1 * TICK_MSEC, 10 * TICK_SEC);
    CHECK(t, rc);
    TICK_AWAIT(t, tick_first_of(loop, w->parts, 2, TICK_FIRST_CANCEL_OTHERS), rc);
    drop_parts(w);
    CHECK(t, rc);
    if (rc != 0)
        TICK_FAIL(t, -EPROTO);
    TICK_AWAIT(t, tick_timeout(loop, tick_sleep(loop, 10 * TICK_SEC), 1 * TICK_MSEC), rc);
    if (rc != -ETIMEDOUT)
        TICK_FAIL(t, rc < 0 ? rc : -EPROTO);

    /* ---- Event, Queue, Semaphore ---- */
    tick_task_start(loop, &w->waiter, "waiter", &waiter_class);
    w->waiter_started = true;
    TICK_YIELD(t);                /* the waiter blocks on the Event */
    tick_event_set(&w->ev);
    TICK_AWAIT(t, tick_future_ref(&w->waiter.future), rc);
    CHECK(t, rc);
    rc = tick_queue_init(&w->q, loop, 1);
    CHECK(t, rc);
    w->q_init = true;
    TICK_AWAIT(t, tick_queue_put(&w->q, w), rc);
    CHECK(t, rc);
    TICK_AWAIT(t, tick_queue_get(&w->q), rc);
    CHECK(t, rc);
    if (tick_future_result_ptr(tick_task_awaited(t)) != w)
        TICK_FAIL(t, -EPROTO);
    rc = tick_semaphore_init(&w->sem, loop, 1);
    CHECK(t, rc);
    w->sem_init = true;
    TICK_AWAIT(t, tick_semaphore_acquire(&w->sem), rc);
    CHECK(t, rc);
    tick_semaphore_release(&w->sem);

    /* ---- a child of the connection's scope, which its cancel ends ---- */
    {
        static char *const argv[] = { "/bin/sleep", "10", NULL };
        tick_spawn_opts o = TICK_SPAWN_OPTS_INIT(argv);
        pid_t pid;
        o.path = "/bin/sleep";
        tick_scope *prev = tick_scope_enter(loop, &w->conn);
        rc = tick_spawn(loop, &o, &pid, &w->exit);
        tick_scope_enter(loop, prev);
        CHECK(t, rc);
        w->exit = tick_future_unref(w->exit);   /* the scope owns it */
    }

    /* ---- accept and connect over loopback TCP ---- */
    rc = listen_and_connect(w);
    CHECK(t, rc);
    w->connecting = tick_fd_connect(w->con, (struct sockaddr *)&w->addr, sizeof w->addr);
    if (!w->connecting)
        TICK_FAIL(t, -ENOMEM);
    TICK_AWAIT(t, tick_fd_accept(w->lst), rc);
    CHECK(t, rc);
    tick_fd_close(w->lst);
    w->lst = NULL;
    close((int)rc);
    TICK_AWAIT(t, w->connecting, rc);
    w->connecting = NULL;
    CHECK(t, rc);
    tick_fd_close(w->con);
    w->con = NULL;

    /* ---- cancel the connection's scope and drain it ---- */
    tick_scope_cancel(&w->conn);
    TICK_AWAIT(t, tick_scope_drain(&w->conn), rc);
    CHECK(t, rc);
    rc = tick_scope_close(&w->conn);
    CHECK(t, rc);
    TICK_RETURN(t, 0);
    TICK_END(t);
}
static const tick_task_class walk_class = { walk_step, NULL };

struct guard {
    tick_timer t;
    bool fired;
};

static void guard_fired(tick_handle *h)
{
    tick_container_of(h, struct guard, t.handle)->fired = true;
}

static void list_one(void *user, enum tick_scope_kind kind, const char *name)
{
    fprintf(stderr, "  %s: %s %s\n", (const char *)user, tick_scope_kind_name(kind), name);
}

/* After a run: cancel and drain what is left, close the scopes, the fds
 * and the primitives; the loop must then close. No failure injected. */
static void drain(tick_scope *s, struct guard *g)
{
    tick_future *drained = tick_scope_drain(s);
    ck_assert_ptr_nonnull(drained);
    while (!tick_future_done(drained)) {
        if (g->fired)
            tick_scope_list(s, list_one, (void *)tick_scope_name(s));
        ck_assert_msg(!g->fired, "scope %s never drained", tick_scope_name(s));
        ck_assert_int_ge(tick_loop_run_once(loop, true), 0);
    }
    tick_future_unref(drained);
}

static void walk_cleanup(struct walk *w, struct guard *g)
{
    tick_scope_cancel(&w->scope);             /* and conn with it */
    drain(&w->conn, g);
    ck_assert_int_eq(tick_scope_close(&w->conn), 0);
    drain(&w->scope, g);
    tick_fd_close(w->cli);        /* the scope's cancel left it to us */
    tick_stream_close(w->srv);
    tick_fd_close(w->lst);
    tick_fd_close(w->con);           /* cancels a pending connect */
    w->connecting = tick_future_unref(w->connecting);
    ck_assert_int_eq(tick_scope_close(&w->scope), 0);
    if (w->echo_started)
        tick_future_unref(&w->echo.task.future);
    if (w->idler_started)
        tick_future_unref(&w->idler.future);
    if (w->waiter_started)
        tick_future_unref(&w->waiter.future);
    tick_future_unref(&w->task.future);
    tick_event_destroy(&w->ev);
    tick_event_destroy(&w->never);
    if (w->q_init)
        tick_queue_destroy(&w->q);
    if (w->idle_q_init)
        tick_queue_destroy(&w->idle_q);
    if (w->sem_init)
        tick_semaphore_destroy(&w->sem);
    tick_timer_stop(loop, &g->t);
    ck_assert_int_eq(tick_loop_run_until_idle(loop, 1000), 0);
}

/* One run with the n-th allocation failing (0: none). Returns the
 * scenario's result; *injected tells whether the failure was hit. */
static unsigned long scenario_calls;   /* allocations of the last run */

static int walk_once(unsigned long n, bool *injected)
{
    unsigned long c0 = tick_test_alloc_calls(), c1, c2;
    int fds = count_open_fds();
    struct guard g = { .fired = false };
    struct walk w;
    int rc;

    memset(&w, 0, sizeof w);
    tick_test_fail_alloc_after(n);
    rc = tick_loop_new(&loop);
    if (rc < 0) {
        ck_assert_int_eq(rc, -ENOMEM);     /* start-up: a clear error */
        *injected = n && tick_test_alloc_pending() == 0;
        ck_assert(*injected);
        tick_test_fail_alloc_after(0);
        loop = NULL;
        ck_assert_int_eq(count_open_fds(), fds);
        return rc;
    }
    /* the guard is the test's, not the scenario's: armed with the
     * injection paused, so that a hang is reported as one */
    unsigned long left = tick_test_alloc_pending();
    c1 = tick_test_alloc_calls();
    tick_test_fail_alloc_after(0);
    tick_timer_init(&g.t, "guard", guard_fired);
    ck_assert_int_eq(tick_call_later(loop, &g.t, GUARD_NS), 0);
    c2 = tick_test_alloc_calls();
    tick_test_fail_alloc_after(left);

    tick_event_init(&w.ev, loop);
    tick_event_init(&w.never, loop);
    tick_scope_init(&w.scope, loop, NULL, "walk");
    tick_scope_init(&w.conn, loop, &w.scope, "conn");
    tick_scope *prev = tick_scope_enter(loop, &w.scope);
    ck_assert_int_eq(tick_task_start(loop, &w.task, "walk", &walk_class), 0);
    tick_scope_enter(loop, prev);
    while (!tick_future_done(&w.task.future)) {
        ck_assert_msg(!g.fired, "n=%lu: the scenario hangs", n);
        ck_assert_int_ge(tick_loop_run_once(loop, true), 0);
    }
    rc = tick_future_error(&w.task.future);
    scenario_calls = (c1 - c0) + (tick_test_alloc_calls() - c2);
    *injected = n && tick_test_alloc_pending() == 0;
    tick_test_fail_alloc_after(0);
    /* a complete operation, or an error through the one channel */
    ck_assert_msg(rc == 0 || *injected, "n=%lu: failed (%d) with no failure injected", n, rc);
    walk_cleanup(&w, &g);
    int crc = tick_loop_close(loop);
    if (crc != 0)
        fprintf(stderr, "n=%lu rc=%d: close %d: timers %u tasks %llu active %llu fds %llu "
                "ready %d children %d orphans %d\n", n, rc, crc, (unsigned)loop->timers.len,
                (unsigned long long)loop->stats.tasks_alive, (unsigned long long)loop->active,
                (unsigned long long)loop->stats.fds_watched, !tick_list_empty(&loop->ready),
                !tick_list_empty(&loop->root.children), !tick_list_empty(&loop->root.orphans));
    ck_assert_int_eq(crc, 0);
    loop = NULL;
    ck_assert_int_eq(count_open_fds(), fds);
    return rc;
}

START_TEST(every_allocation_of_the_engine_paths)
{
    unsigned long n, errors = 0, completed = 0;
    bool injected;
    char survived[256] = "";

    int rc0 = walk_once(0, &injected);
    ck_assert_msg(rc0 == 0, "the scenario fails with nothing injected: %d", rc0);
    unsigned long per_run = scenario_calls;
    for (n = 1;; n++) {
        int rc = walk_once(n, &injected);
        if (!injected) {
            ck_assert_int_eq(rc, 0);
            break;
        }
        if (rc < 0) {
            errors++;
        } else {
            completed++;
            size_t len = strlen(survived);
            snprintf(survived + len, sizeof survived - len, " %lu", n);
        }
        ck_assert_uint_lt(n, 10000);
    }
    fprintf(stderr, "walk: engine paths: %lu allocation sites failed of %lu allocations "
            "per run; %lu runs ended in an error, %lu completed anyway (n =%s)\n",
            n - 1, per_run, errors, completed, survived);
    ck_assert_uint_ge(n - 1, 1);
}
END_TEST

static Suite *walk_suite(void)
{
    Suite *s = suite_create("oom_walk");
    TCase *tc = tcase_create("walk");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_allocation_of_the_engine_paths);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(walk_suite)
