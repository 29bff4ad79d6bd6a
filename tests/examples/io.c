/* kind: engine */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <tick/tick.h>

@PART0@

static const tick_task_class echo_class = { .step = echo_step };

/* The example's connection task echoes what a socketpair's far end sends
 * until that end closes. */
int main(void)
{
    tick_loop *loop;
    struct echo ee = { 0 }, *e = &ee;
    int sv[2];
    char back[8] = { 0 };
    if (tick_loop_new(&loop) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 1;
    tick_loop_set_current(loop);
@PART1@
    if (tick_fd_open(loop, sv[0], &e->conn) < 0 ||
        tick_task_start(loop, &e->task, "echo", &echo_class) < 0)
        return 2;
    if (write(sv[1], "ping", 4) != 4)
        return 3;
    while (tick_loop_run_once(loop, false) >= 0 && recv(sv[1], back, 4, MSG_DONTWAIT) < 0)
        ;
    shutdown(sv[1], SHUT_WR);
    if (tick_loop_run_until_complete(loop, &e->task.future) < 0 || strcmp(back, "ping") != 0)
        return 4;
    close(sv[1]);
    tick_future_unref(&e->task.future);
    return tick_loop_close(loop) == 0 ? 0 : 5;
}
