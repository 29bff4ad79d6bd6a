/* kind: engine */
#include <stdio.h>
#include <tick/tick.h>

@PART0@

static void stop_loop(tick_handle *h) { (void)h; tick_loop_stop(tick_loop_current()); }

int main(void)
{
    tick_loop *loop;
    tick_timer stop;
    struct beat bb = { .period = 10 * TICK_MSEC }, *b = &bb;
    if (tick_loop_new(&loop) < 0)
        return 1;
    tick_loop_set_current(loop);
    tick_timer_init(&stop, "stop", stop_loop);
    tick_call_later(loop, &stop, 55 * TICK_MSEC);
@PART1@
    tick_loop_run(loop);
    tick_timer_stop(loop, &b->t);
    return 0;
}
