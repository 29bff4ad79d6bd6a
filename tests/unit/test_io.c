/* test_io.c — fd readiness: one registration per fd, reads awaited by
 * tasks on 10 000 socketpairs, EPOLLHUP/EPOLLERR resolve with an error
 * without spinning, closing an fd cancels its waiters, an fd number
 * reused within one epoll batch gets none of the old owner's events,
 * cancelling a task's read leaves the fd clean, no fd leaks. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"     /* first: helpers.h defines a global `loop` */
#include "helpers.h"

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    loop_setup();
}

static void pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static uint64_t watched(void)
{
    tick_loop_stats st;
    tick_loop_get_stats(loop, &st);
    return st.fds_watched;
}

/* ---- a task that awaits one read ---- */
struct reader {
    tick_task task;
    tick_fd *fd;
    char buf[64];
    intptr_t rc;
    bool done;
};

static int reader_step(tick_task *t)
{
    struct reader *r = tick_container_of(t, struct reader, task);
    intptr_t rc;
    TICK_BEGIN(t);
    TICK_AWAIT(t, tick_fd_read(r->fd, r->buf, sizeof r->buf), rc);
    r->rc = rc;
    r->done = true;
    TICK_RETURN(t, rc);
    TICK_END(t);
}
static const tick_task_class reader_class = { reader_step, NULL };

START_TEST(read_awaited_by_task)
{
    int sv[2];
    struct reader r = { 0 };
    pair(sv);
    uint64_t w0 = watched();
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &r.fd), 0);
    ck_assert_uint_eq(watched(), w0 + 1);
    tick_task_start(loop, &r.task, "reader", &reader_class);
    for (int i = 0; i < 3; i++)
        tick_loop_run_once(loop, false);
    ck_assert(!r.done);                               /* asleep on the fd */
    ck_assert_int_eq(write(sv[1], "hello", 5), 5);
    RUN_UNTIL(r.done, 10);
    ck_assert_int_eq(r.rc, 5);
    ck_assert_int_eq(memcmp(r.buf, "hello", 5), 0);
    tick_future_unref(&r.task.future);
    ck_assert_int_eq(tick_fd_close(r.fd), 0);
    ck_assert_uint_eq(watched(), w0);
    close(sv[1]);
}
END_TEST

/* Data already there: the read completes without suspending. */
START_TEST(ready_fd_completes_without_suspending)
{
    int sv[2];
    struct reader r = { 0 };
    pair(sv);
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &r.fd), 0);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    tick_loop_run_once(loop, false);                  /* readiness cached */
    tick_task_start(loop, &r.task, "reader", &reader_class);
    tick_loop_run_once(loop, false);                  /* the first step */
    ck_assert(r.done);
    ck_assert_int_eq(r.rc, 1);
    tick_future_unref(&r.task.future);
    tick_fd_close(r.fd);
    close(sv[1]);
}
END_TEST

/* ---- 10 000 socketpairs, a task reading each ----
 * 20 000 fds do not fit the 20 000 hard limit of the test machine (and
 * raising it needs CAP_SYS_RESOURCE), so the writing ends live in a helper
 * process: each peer is passed to it with SCM_RIGHTS and closed here. The
 * helper is forked before any pair exists, so it holds no copy of the
 * reading ends (an inherited copy would keep them alive). */
static int raise_nofile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    return (int)rl.rlim_cur;
}

enum { PEERS_PER_MSG = 200 };

static void send_fds(int ctl, const int *fds, int n)
{
    char byte = n ? 'f' : 'g';
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * PEERS_PER_MSG)]; } u;
    struct iovec iov = { &byte, 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (n) {
        m.msg_control = u.buf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    }
    ck_assert_int_eq(sendmsg(ctl, &m, 0), 1);
}

/* The helper: collect peers until 'g', write its index into each, then
 * wait for the parent to hang up. */
static void peer_holder(int ctl, int n)
{
    int *peer = malloc(sizeof(int) * (size_t)n), got = 0;
    for (;;) {
        char byte;
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * PEERS_PER_MSG)]; } u;
        struct iovec iov = { &byte, 1 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        if (recvmsg(ctl, &m, MSG_CMSG_CLOEXEC) != 1)
            _exit(2);
        if (byte == 'g')
            break;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (!c || c->cmsg_type != SCM_RIGHTS)
            _exit(3);
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(peer + got, CMSG_DATA(c), sizeof(int) * (size_t)k);
        got += k;
    }
    for (int i = 0; i < got; i++)
        if (write(peer[i], &i, sizeof i) != (ssize_t)sizeof i)
            _exit(4);
    char byte;
    while (read(ctl, &byte, 1) > 0)                   /* until the parent hangs up */
        ;
    _exit(got == n ? 0 : 5);
}

START_TEST(ten_thousand_socketpairs)
{
    enum { N = 10000 };
    ck_assert_int_ge(raise_nofile(), N + 64);
    int ctl[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ctl[0]);
        peer_holder(ctl[1], N);
    }
    close(ctl[1]);

    struct reader *r = calloc(N, sizeof *r);
    int batch[PEERS_PER_MSG], nb = 0;
    struct timespec t0, t1;
    for (int i = 0; i < N; i++) {
        int sv[2];
        pair(sv);
        batch[nb++] = sv[1];
        if (nb == PEERS_PER_MSG || i == N - 1) {
            send_fds(ctl[0], batch, nb);
            for (int j = 0; j < nb; j++)
                close(batch[j]);
            nb = 0;
        }
        ck_assert_int_eq(tick_fd_open(loop, sv[0], &r[i].fd), 0);
        tick_task_start(loop, &r[i].task, "reader", &reader_class);
    }
    tick_loop_run_once(loop, false);                  /* all suspended */
    ck_assert_uint_eq(loop->active, N);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    send_fds(ctl[0], NULL, 0);                        /* go: write them all */
    int done = 0, ticks = 0;
    for (; done < N && ticks < 10000; ticks++) {
        tick_loop_run_once(loop, true);
        done = 0;
        for (int i = 0; i < N; i++)
            done += r[i].done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(done, N);
    for (int i = 0; i < N; i++) {
        int v;
        memcpy(&v, r[i].buf, sizeof v);
        ck_assert_int_eq(r[i].rc, (intptr_t)sizeof v);
        ck_assert_int_eq(v, i);
        tick_future_unref(&r[i].task.future);
        tick_fd_close(r[i].fd);
    }
    close(ctl[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(status, 0);
    fprintf(stderr, "ten_thousand_socketpairs: %d reads completed in %.1f ms, %d ticks\n",
            N, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
            ticks);
    free(r);
}
END_TEST

/* ---- errors and hang-ups: resolve with an error, then stay quiet ---- */
static void assert_quiet(void)
{
    /* nothing scheduled, nothing to resolve: ticks run no handle */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(tick_loop_run_once(loop, false), 0);
    /* and a blocking poll really blocks: an fd that kept reporting its
     * error would make these 30 ms take thousands of ticks */
    tick_future *nap = tick_sleep(loop, 30 * TICK_MSEC);
    uint64_t t0 = tick_loop_tick(loop);
    RUN_UNTIL(tick_future_done(nap), 1000);
    ck_assert_uint_le(tick_loop_tick(loop) - t0, 3);
    tick_future_unref(nap);
}

START_TEST(epollerr_fails_writable_and_does_not_spin)
{
    int p[2];
    tick_fd *w;
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    ck_assert_int_eq(tick_fd_open(loop, p[1], &w), 0);
    close(p[0]);                                      /* the reader leaves: EPOLLERR */
    tick_loop_run_once(loop, false);
    tick_future *f = tick_fd_writable(w);
    RUN_UNTIL(tick_future_done(f), 5);
    ck_assert_int_eq(tick_future_error(f), -EPIPE);
    tick_future_unref(f);
    assert_quiet();
    /* sticky: the next wait fails at once, on both sides */
    f = tick_fd_readable(w);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_error(f), -EPIPE);
    tick_future_unref(f);
    f = tick_fd_write(w, "x", 1);                     /* no SIGPIPE either */
    ck_assert_int_eq(tick_future_error(f), -EPIPE);
    tick_future_unref(f);
    tick_fd_close(w);
}
END_TEST

START_TEST(epollhup_fails_readable_and_does_not_spin)
{
    int p[2];
    tick_fd *r;
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    ck_assert_int_eq(tick_fd_open(loop, p[0], &r), 0);
    tick_future *f = tick_fd_readable(r);
    tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(f));
    close(p[1]);                                      /* EPOLLHUP, no data */
    RUN_UNTIL(tick_future_done(f), 5);
    ck_assert_int_eq(tick_future_error(f), -EPIPE);
    tick_future_unref(f);
    assert_quiet();
    /* a read after the hang-up is the end of file, not a hang */
    f = tick_fd_read(r, (char[8]){ 0 }, 8);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_error(f), 0);
    ck_assert_int_eq(tick_future_result(f), 0);
    tick_future_unref(f);
    tick_fd_close(r);
}
END_TEST

/* A socket peer gone with data left: readable (data, then EOF), writes fail. */
START_TEST(socket_hangup_data_then_eof)
{
    int sv[2];
    char buf[8];
    tick_fd *a;
    pair(sv);
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &a), 0);
    ck_assert_int_eq(write(sv[1], "bye", 3), 3);
    close(sv[1]);
    tick_loop_run_once(loop, false);
    tick_future *f = tick_fd_readable(a);
    ck_assert(tick_future_done(f));
    ck_assert_int_eq(tick_future_error(f), 0);
    ck_assert(tick_future_result(f) & EPOLLIN);
    ck_assert(tick_future_result(f) & EPOLLHUP);
    tick_future_unref(f);
    f = tick_fd_read(a, buf, sizeof buf);
    ck_assert_int_eq(tick_future_result(f), 3);
    tick_future_unref(f);
    f = tick_fd_read(a, buf, sizeof buf);
    ck_assert_int_eq(tick_future_error(f), 0);
    ck_assert_int_eq(tick_future_result(f), 0);       /* EOF */
    tick_future_unref(f);
    f = tick_fd_write(a, "x", 1);
    RUN_UNTIL(tick_future_done(f), 3);
    ck_assert_int_lt(tick_future_error(f), 0);
    tick_future_unref(f);
    assert_quiet();
    tick_fd_close(a);
}
END_TEST

/* ---- closing / releasing cancels the waiters ---- */
START_TEST(close_cancels_waiters)
{
    int sv[2];
    struct reader r = { 0 };
    pair(sv);
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &r.fd), 0);
    tick_task_start(loop, &r.task, "reader", &reader_class);
    tick_loop_run_once(loop, false);
    tick_future *w = tick_fd_writable(r.fd);          /* the other side too */
    tick_future_ref(w);
    tick_future_unref(w);
    tick_loop_run_once(loop, false);
    ck_assert(tick_future_done(w));                   /* a socket is writable */
    tick_future_unref(w);
    w = tick_fd_readable(r.fd);                       /* busy: reader has the side */
    ck_assert_int_eq(tick_future_error(w), -EBUSY);
    tick_future_unref(w);
    ck_assert_int_eq(tick_fd_close(r.fd), 0);
    r.fd = NULL;
    RUN_UNTIL(r.done, 5);
    ck_assert_int_eq(r.rc, -ECANCELED);
    ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);      /* closed */
    tick_future_unref(&r.task.future);
    close(sv[1]);
}
END_TEST

START_TEST(release_returns_open_fd)
{
    int sv[2];
    tick_fd *a;
    pair(sv);
    uint64_t w0 = watched();
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &a), 0);
    tick_future *f = tick_fd_read(a, (char[4]){ 0 }, 4);
    ck_assert_int_eq(tick_fd_release(a), sv[0]);
    ck_assert(tick_future_cancelled(f));
    tick_future_unref(f);                             /* last ref frees the tick_fd */
    ck_assert_uint_eq(watched(), w0);
    ck_assert_int_ge(fcntl(sv[0], F_GETFD), 0);       /* still open */
    /* and it can be watched again */
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &a), 0);
    tick_fd_close(a);
    close(sv[1]);
}
END_TEST

/* ---- cancelling a task's read removes only the waiter ---- */
START_TEST(cancel_task_read_is_clean)
{
    int sv[2];
    struct reader r = { 0 }, r2 = { 0 };
    pair(sv);
    ck_assert_int_eq(tick_fd_open(loop, sv[0], &r.fd), 0);
    uint64_t w0 = watched();
    tick_task_start(loop, &r.task, "reader", &reader_class);
    tick_loop_run_once(loop, false);
    ck_assert(tick_task_cancel(&r.task));
    RUN_UNTIL(r.done, 5);
    ck_assert_int_eq(r.rc, -ECANCELED);
    ck_assert_uint_eq(loop->active, 0);               /* nobody waits on the fd */
    ck_assert_uint_eq(watched(), w0);                 /* registration kept */
    /* data arriving now is for the next reader, not the cancelled one */
    ck_assert_int_eq(write(sv[1], "ab", 2), 2);
    assert_quiet();
    r2.fd = r.fd;
    tick_task_start(loop, &r2.task, "reader2", &reader_class);
    RUN_UNTIL(r2.done, 5);
    ck_assert_int_eq(r2.rc, 2);
    tick_future_unref(&r.task.future);
    tick_future_unref(&r2.task.future);
    tick_fd_close(r.fd);
    close(sv[1]);
}
END_TEST

/* ---- an fd number reused within one epoll batch ---- */
struct killer {
    tick__watch w;
    struct killer *other;
};

static struct {
    struct killer *first;    /* the watch whose event came first */
    int fired;
    int spare_end;           /* the new pair's end that is not reborn */
    tick_fd *reborn;         /* new tick_fd on the closed fd's number */
    tick_future *reborn_f;
} kb_state;

static void killer_events(tick__watch *w, uint32_t ev)
{
    struct killer *k = tick_container_of(w, struct killer, w);
    int sv[2];
    (void)ev;
    if (kb_state.fired++)
        return;
    kb_state.first = k;
    /* Close the other watch's fd and reuse its number at once: the other
     * fd's event is still in this batch. */
    int num = k->other->w.fd;
    tick__watch_del(loop, &k->other->w);
    close(num);
    pair(sv);                                         /* lowest free: num */
    ck_assert(sv[0] == num || sv[1] == num);
    kb_state.spare_end = sv[0] == num ? sv[1] : sv[0];
    ck_assert_int_eq(tick_fd_open(loop, num, &kb_state.reborn), 0);
    kb_state.reborn_f = tick_fd_readable(kb_state.reborn);   /* nothing to read */
    ck_assert(!tick_future_done(kb_state.reborn_f));
}

START_TEST(fd_reused_in_batch_gets_no_stale_event)
{
    int a[2], b[2];
    struct killer ka = { .other = NULL }, kb = { .other = &ka };
    ka.other = &kb;
    pair(a);
    pair(b);
    ka.w.on_events = killer_events;
    kb.w.on_events = killer_events;
    ck_assert_int_eq(tick__watch_add(loop, &ka.w, a[0], EPOLLIN), 0);
    ck_assert_int_eq(tick__watch_add(loop, &kb.w, b[0], EPOLLIN), 0);
    ck_assert_int_eq(write(a[1], "1", 1), 1);
    ck_assert_int_eq(write(b[1], "1", 1), 1);
    tick_loop_run_once(loop, false);                  /* one batch, two events */
    ck_assert_int_eq(kb_state.fired, 1);              /* the stale one dropped */
    tick_loop_run_once(loop, false);
    ck_assert(!tick_future_done(kb_state.reborn_f));  /* no stale EPOLLIN */
    tick_future_cancel(kb_state.reborn_f);
    tick_future_unref(kb_state.reborn_f);
    tick_fd_close(kb_state.reborn);
    close(kb_state.spare_end);
    int fd = kb_state.first->w.fd;
    tick__watch_del(loop, &kb_state.first->w);
    close(fd);
    close(a[1]);
    close(b[1]);
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("io");
    tcase_add_checked_fixture(tc, setup, loop_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, read_awaited_by_task);
    tcase_add_test(tc, ready_fd_completes_without_suspending);
    tcase_add_test(tc, ten_thousand_socketpairs);
    tcase_add_test(tc, epollerr_fails_writable_and_does_not_spin);
    tcase_add_test(tc, epollhup_fails_readable_and_does_not_spin);
    tcase_add_test(tc, socket_hangup_data_then_eof);
    tcase_add_test(tc, close_cancels_waiters);
    tcase_add_test(tc, release_returns_open_fd);
    tcase_add_test(tc, cancel_task_read_is_clean);
    tcase_add_test(tc, fd_reused_in_batch_gets_no_stale_event);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(io_suite)
