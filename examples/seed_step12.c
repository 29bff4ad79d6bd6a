/*
 * seed_step12.c — the seeds' step 12 ("Back to the Future"), ported.
 *
 * some_result() no longer has its result at hand: it waits for an
 * external event. Here the event is real fd readiness: each task reads its
 * value from its own pipe through the I/O API (tick_fd_read), and a timer
 * writes both pipes 50 ms after the second task started its read (armed
 * there, in step 2, not by add() in step 1: a step 2 late by more than
 * 50 ms — valgrind on a loaded machine — would otherwise find the timer
 * due in the same tick as the tasks, and the values could never arrive
 * before the tasks wait for them). While the tasks wait they are in no ready
 * queue at all — the trace shows ticks without them — and the epoll batch
 * that reports both pipes readable wakes both in one tick:
 *
 *     Loop step 1 [<Handle name='main' callback='step'>]
 *     Loop step 2 [<Handle name='Add X' callback='step'>, <Handle name='Add Y' callback='step'>]
 *     Loop step 3 [<Handle name='results' callback='write_results'>]
 *     Loop step 4 [<Handle name='Add X' callback='step'>, <Handle name='Add Y' callback='step'>]
 *     Loop step 5 [<Handle name='main' callback='step'>]
 *     Loop finished with result 3
 *
 * Step 2: both tasks start their read and suspend (the pipes are empty).
 * Step 3: nothing but the timer — the suspended tasks cost nothing.
 * Step 4: the poll phase finds both pipes readable, the reads complete and
 * the tasks' wake-ups join this very tick (DESIGN section 1).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tick/tick.h"

/* some_result(): await one byte from our pipe; that byte is the result */
struct some_result {
    tick_task task;
    tick_fd *in;                 /* owned: closed when done */
    unsigned char byte;          /* read buffer: must outlive the await */
    tick_timer *world;           /* Y only: armed in its first step */
};

static int some_result_step(tick_task *t)
{
    struct some_result *s = tick_container_of(t, struct some_result, task);
    intptr_t n;
    TICK_BEGIN(t);
    if (s->world && tick_call_later(tick_task_loop(t), s->world, 50 * TICK_MSEC) < 0)
        TICK_FAIL(t, -ENOMEM);
    TICK_AWAIT(t, tick_fd_read(s->in, &s->byte, 1), n);
    tick_fd_close(s->in);
    s->in = NULL;
    if (n < 0)
        TICK_FAIL(t, n);
    if (n == 0)
        TICK_FAIL(t, -EPIPE);    /* writer went away without a value */
    TICK_RETURN(t, s->byte);
    TICK_END(t);
}

static const tick_task_class some_result_class = { some_result_step, NULL };

/* add(): as in step 10, plus setting the outside world in motion */
struct add {
    tick_task task;
    struct some_result x, y;
    intptr_t xv;
};

static int add_step(tick_task *t)
{
    struct add *a = tick_container_of(t, struct add, task);
    tick_loop *loop = tick_task_loop(t);
    intptr_t v;
    TICK_BEGIN(t);
    tick_task_start(loop, &a->x.task, "Add X", &some_result_class);
    tick_task_start(loop, &a->y.task, "Add Y", &some_result_class);
    TICK_AWAIT(t, tick_future_ref(&a->x.task.future), v);
    if (v < 0)
        TICK_FAIL(t, v);
    a->xv = v;
    TICK_AWAIT(t, tick_future_ref(&a->y.task.future), v);
    if (v < 0)
        TICK_FAIL(t, v);
    TICK_RETURN(t, a->xv + v);
    TICK_END(t);
}

static const tick_task_class add_class = { add_step, NULL };

/* the external world: writes 1 into X's pipe and 2 into Y's */
struct results {
    tick_timer timer;
    int wx, wy;                  /* write ends */
};

static void write_results(tick_handle *h)
{
    struct results *r = tick_container_of(h, struct results, timer.handle);
    unsigned char one = 1, two = 2;
    if (write(r->wx, &one, 1) != 1 || write(r->wy, &two, 1) != 1)
        perror("write");
}

/* A pipe whose read end is watched by the loop. */
static int watched_pipe(tick_loop *loop, tick_fd **rd, int *wr)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    int rc = tick_fd_open(loop, p[0], rd);
    if (rc < 0) {
        close(p[0]);
        close(p[1]);
        return rc;
    }
    *wr = p[1];
    return 0;
}

int main(void)
{
    tick_loop *loop;
    int rc = tick_loop_new(&loop);
    if (rc < 0) {
        fprintf(stderr, "tick_loop_new: %d\n", rc);
        return 1;
    }
    struct add main_task = { 0 };
    struct results res = { .wx = -1, .wy = -1 };
    if ((rc = watched_pipe(loop, &main_task.x.in, &res.wx)) < 0 ||
        (rc = watched_pipe(loop, &main_task.y.in, &res.wy)) < 0) {
        fprintf(stderr, "pipe: %d\n", rc);
        return 1;
    }
    tick_timer_init(&res.timer, "results", write_results);
    main_task.y.world = &res.timer;     /* X reads first, then Y arms it */

    tick_loop_set_trace(loop, stdout);
    tick_task_start(loop, &main_task.task, "main", &add_class);
    rc = tick_loop_run_until_complete(loop, &main_task.task.future);
    if (rc == 0)
        printf("Loop finished with result %ld\n",
               (long)tick_future_result(&main_task.task.future));
    else
        fprintf(stderr, "Loop failed: %d\n", rc);

    tick_timer_stop(loop, &res.timer);
    close(res.wx);
    close(res.wy);
    tick_fd_close(main_task.x.in);       /* NULL unless a task failed early */
    tick_fd_close(main_task.y.in);
    tick_future_unref(&main_task.x.task.future);
    tick_future_unref(&main_task.y.task.future);
    tick_future_unref(&main_task.task.future);
    int crc = tick_loop_close(loop);
    if (crc < 0)
        fprintf(stderr, "tick_loop_close: %d\n", crc);
    return rc == 0 && crc == 0 ? 0 : 1;
}
