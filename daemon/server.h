/*
 * server.h — the daemon's side of tick/server.h (server.c).
 */
#ifndef TICKD_SERVER_H
#define TICKD_SERVER_H

#include "tick/tick.h"
#include "tick/server.h"

/* Free the servers of an instance being freed (its scope is closed:
 * nothing of them runs any more). */
void tickd_server_free_instance(tick_instance *in);

#endif
