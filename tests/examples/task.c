/* kind: engine */
#include <stdio.h>
#include <tick/tick.h>

@PART0@

int main(void)
{
    tick_loop *loop;
    struct greeter gg = { 0 }, *g = &gg;
    if (tick_loop_new(&loop) < 0)
        return 1;
    tick_loop_set_current(loop);
@PART1@
    if (tick_loop_run_until_complete(loop, &g->task.future) < 0)
        return 2;
    return tick_future_result(&g->task.future) == 3 ? 0 : 3;
}
