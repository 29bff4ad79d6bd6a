/* kind: engine */
#include <stdio.h>
#include <tick/tick.h>

@PART0@

int main(void)
{
    tick_loop *loop;
    struct job jj = { 0 }, *j = &jj;
    if (tick_loop_new(&loop) < 0)
        return 1;
@PART1@
    tick_loop_run_once(loop, false);               /* the worker sleeps */
    tick_scope_stats st;
    tick_scope_get_stats(&j->scope, &st, false);
    if (st.count[TICK_SCOPE_TASK] != 1)
        return 2;
@PART2@
    if (tick_future_result(&j->task.future) != -ECANCELED)
        return 3;
    return tick_loop_close(loop) == 0 ? 0 : 4;
}
