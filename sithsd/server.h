/*
 * server.h - sithsd's Unix socket: taking connections within the limits
 * ([service] max_clients, max_clients_per_user) and serving each in a
 * thread of its own, so that a slow client never blocks another.
 */
#ifndef SITHSD_SERVER_H
#define SITHSD_SERVER_H

#include "sithsd.h"

/*
 * Take one waiting connection from d->listen_fd and start serving it (or
 * refuse it, with an answer saying why, when a limit is reached). Returns
 * 0, or -1 when accept() failed.
 */
int sithsd_accept(struct sithsd *d);

/* Wait until every connection has ended, at most ms milliseconds. */
void sithsd_drain(struct sithsd *d, int ms);

#endif
