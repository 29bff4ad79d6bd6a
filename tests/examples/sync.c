/* kind: engine */
#include <stdlib.h>
#include <string.h>
#include <tick/tick.h>

/* The three fragments run for real: a task waits on the Event, a consumer
 * drains a queue a producer fills (and stops on NULL), and a task takes
 * and gives back a Lock. */
static tick_event *ready_ptr;

struct waiter { tick_task task; int woke; };
static int waiter_step(tick_task *t)
{
    struct waiter *w = tick_container_of(t, struct waiter, task);
    intptr_t rc;
    TICK_BEGIN(t);
#define ready (*ready_ptr)
@PART1@
#undef ready
    w->woke = rc == 0;
    TICK_END(t);
}
static const tick_task_class waiter_class = { .step = waiter_step };

@PART4@
static const tick_task_class consumer_class = { .step = consumer_step };

struct producer { tick_task task; tick_queue *q; int i; };
static int producer_step(tick_task *t)
{
    struct producer *p = tick_container_of(t, struct producer, task);
    tick_queue *q = p->q;
    intptr_t rc;
    TICK_BEGIN(t);
    for (p->i = 0; p->i <= 3; p->i++) {
        void *item = p->i < 3 ? strdup("item") : NULL;
@PART5@
        if (rc < 0)
            TICK_FAIL(t, rc);
        q = p->q;
    }
    TICK_END(t);
}
static const tick_task_class producer_class = { .step = producer_step };

struct holder { tick_task task; tick_lock lock; int held; };
static int holder_step(tick_task *t)
{
    struct holder *s = tick_container_of(t, struct holder, task);
    intptr_t rc;
    TICK_BEGIN(t);
@PART6@
    s->held++;
@PART7@
    TICK_END(t);
}
static const tick_task_class holder_class = { .step = holder_step };

int main(void)
{
    tick_loop *loop;
    struct waiter w = { 0 };
    struct consumer c = { 0 };
    struct producer p = { 0 };
    struct holder h = { 0 };
    tick_queue q;
    if (tick_loop_new(&loop) < 0)
        return 1;
    tick_loop_set_current(loop);
@PART0@
    ready_ptr = &ready;
    tick_task_start(loop, &w.task, "waiter", &waiter_class);
    tick_loop_run_once(loop, false);
@PART2@
    if (tick_loop_run_until_complete(loop, &w.task.future) < 0 || !w.woke)
        return 2;
@PART3@
    if (tick_queue_init(&q, loop, 1) < 0)
        return 3;
    c.q = p.q = &q;
    tick_task_start(loop, &c.task, "consumer", &consumer_class);
    tick_task_start(loop, &p.task, "producer", &producer_class);
    if (tick_loop_run_until_complete(loop, &c.task.future) < 0 ||
        tick_loop_run_until_complete(loop, &p.task.future) < 0)
        return 4;
    tick_queue_destroy(&q);
    tick_lock_init(&h.lock, loop);
    tick_task_start(loop, &h.task, "holder", &holder_class);
    if (tick_loop_run_until_complete(loop, &h.task.future) < 0 || h.held != 1)
        return 5;
    tick_lock_destroy(&h.lock);
    tick_future_unref(&w.task.future);
    tick_future_unref(&c.task.future);
    tick_future_unref(&p.task.future);
    tick_future_unref(&h.task.future);
    return tick_loop_close(loop) == 0 ? 0 : 6;
}
