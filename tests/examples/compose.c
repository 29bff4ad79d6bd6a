/* kind: engine */
#include <tick/tick.h>

@PART0@

static const tick_task_class fetch_class = { .step = fetch_step };

int main(void)
{
    tick_loop *loop;
    struct fetch f = { 0 };
    if (tick_loop_new(&loop) < 0)
        return 1;
    tick_loop_set_current(loop);
    if (tick_task_start(loop, &f.task, "fetch", &fetch_class) < 0)
        return 2;
    if (tick_loop_run_until_complete(loop, &f.task.future) < 0)
        return 3;
    return tick_future_error(&f.task.future) == 0 ? 0 : 4;
}
