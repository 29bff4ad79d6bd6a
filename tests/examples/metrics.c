/* kind: engine */
#include <stdio.h>
#include <string.h>
#include <tick/tick.h>

@PART0@

int main(void)
{
    tick_loop *loop;
    if (tick_loop_new(&loop) < 0)
        return 1;
@PART1@
@PART2@
@PART3@
    if (tick_metric_value(get) != 1)
        return 2;
    return tick_loop_close(loop) == 0 ? 0 : 4;
}
