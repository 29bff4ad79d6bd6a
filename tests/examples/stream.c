/* kind: engine */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <tick/tick.h>

@PART0@

static const tick_task_class lines_class = { .step = lines_step };

/* The example's connection task echoes the lines a socketpair's far end
 * sends until that end closes. */
int main(void)
{
    tick_loop *loop;
    struct lines ll = { 0 }, *l = &ll;
    int sv[2];
    char back[16] = { 0 };
    if (tick_loop_new(&loop) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 1;
    tick_loop_set_current(loop);
@PART1@
    if (tick_stream_open(loop, sv[0], &l->s) < 0 ||
        tick_task_start(loop, &l->task, "lines", &lines_class) < 0)
        return 2;
    if (write(sv[1], "one\ntwo\n", 8) != 8)
        return 3;
    size_t got = 0;
    while (got < 8 && tick_loop_run_once(loop, false) >= 0) {
        ssize_t n = recv(sv[1], back + got, sizeof back - 1 - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);
    if (tick_loop_run_until_complete(loop, &l->task.future) < 0 || strcmp(back, "one\ntwo\n") != 0)
        return 4;
    close(sv[1]);
    tick_future_unref(&l->task.future);
    return tick_loop_close(loop) == 0 ? 0 : 5;
}
