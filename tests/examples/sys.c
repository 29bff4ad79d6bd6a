/* kind: engine */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <tick/tick.h>

@PART0@

static const tick_task_class supervisor_class = { .step = supervisor_step };

static void send_hup(tick_handle *h) { (void)h; kill(getpid(), SIGHUP); }

int main(void)
{
    tick_loop *loop;
    tick_timer hup;
    struct supervisor s = { 0 };
    if (tick_loop_new(&loop) < 0)
        return 1;
    tick_loop_set_current(loop);
    if (tick_task_start(loop, &s.task, "supervisor", &supervisor_class) < 0)
        return 2;
    tick_timer_init(&hup, "hup", send_hup);
    tick_call_later(loop, &hup, 300 * TICK_MSEC);
    if (tick_loop_run_until_complete(loop, &s.task.future) < 0)
        return 3;
    return tick_future_result(&s.task.future) == SIGHUP ? 0 : 4;
}
