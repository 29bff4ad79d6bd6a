/*
 * main.c — tickd's entry point. Everything is in tickd_run() (run.c), so
 * the unit tests can run the daemon in-process (test_daemon_oom_walk.c).
 */
#include "daemon.h"

int main(int argc, char **argv)
{
    return tickd_run(argc, argv);
}
