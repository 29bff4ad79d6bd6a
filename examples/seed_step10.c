/*
 * seed_step10.c — the seeds' step 10 ("Scheduling all the time"), ported.
 *
 * The Python original:
 *
 *     def some_result(result):
 *         future = Future("Some Result")
 *         future.set_result(result)
 *         return (yield from future)
 *
 *     def add(coroutine1, coroutine2):
 *         task1 = Task(coroutine1, "Add X")
 *         task2 = Task(coroutine2, "Add Y")
 *         x = yield from task1
 *         y = yield from task2
 *         return x + y
 *
 * Both tasks are started before either is awaited, so they run
 * concurrently: their handles share one tick. Awaiting a future that is
 * already done (some_result's) continues without suspending. Output:
 *
 *     Loop step 1 [<Handle name='main' callback='step'>]
 *     Loop step 2 [<Handle name='Add X' callback='step'>, <Handle name='Add Y' callback='step'>]
 *     Loop step 3 [<Handle name='main' callback='step'>]
 *     Loop finished with result 3
 *
 * (The seed prints "Loop step 1 []" because its loop drives main() itself;
 * here main is a task like the others, so it shows in the trace.)
 */
#include <stdio.h>
#include <stdlib.h>
#include "tick/tick.h"

/* some_result(): completes its own future, then awaits it */
struct some_result {
    tick_task task;
    intptr_t value;
};

static int some_result_step(tick_task *t)
{
    struct some_result *s = tick_container_of(t, struct some_result, task);
    tick_future *future;
    intptr_t v;
    TICK_BEGIN(t);
    if (tick_future_new(tick_task_loop(t), &future) < 0)
        TICK_FAIL(t, -ENOMEM);
    tick_future_set_result(future, s->value);
    TICK_AWAIT(t, future, v);              /* done: no suspension */
    TICK_RETURN(t, v);
    TICK_END(t);
}

static const tick_task_class some_result_class = { some_result_step, NULL };

/* add(): start both tasks, then await each; state lives in the struct */
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

int main(void)
{
    tick_loop *loop;
    int rc = tick_loop_new(&loop);
    if (rc < 0) {
        fprintf(stderr, "tick_loop_new: %d\n", rc);
        return 1;
    }
    tick_loop_set_trace(loop, stdout);

    struct add main_task = { .x.value = 1, .y.value = 2 };
    tick_task_start(loop, &main_task.task, "main", &add_class);
    rc = tick_loop_run_until_complete(loop, &main_task.task.future);
    if (rc == 0)
        printf("Loop finished with result %ld\n",
               (long)tick_future_result(&main_task.task.future));
    else
        fprintf(stderr, "Loop failed: %d\n", rc);

    tick_future_unref(&main_task.x.task.future);
    tick_future_unref(&main_task.y.task.future);
    tick_future_unref(&main_task.task.future);
    int crc = tick_loop_close(loop);
    if (crc < 0)
        fprintf(stderr, "tick_loop_close: %d\n", crc);
    return rc == 0 && crc == 0 ? 0 : 1;
}
