/* kind: engine */
#include <stdio.h>
#include <tick/tick.h>

struct req { tick_future *fut; tick_handle done; };

@PART0@

static void stop_loop(tick_handle *h) { (void)h; tick_loop_stop(tick_loop_current()); }

int main(void)
{
    tick_loop *loop;
    tick_timer stop;
    struct req rr, *r = &rr;
    if (tick_loop_new(&loop) < 0)
        return 1;
    tick_loop_set_current(loop);
    tick_timer_init(&stop, "stop", stop_loop);
    tick_call_later(loop, &stop, 20 * TICK_MSEC);
@PART1@
    tick_loop_run(loop);
    return 0;
}
