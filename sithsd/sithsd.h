/*
 * sithsd.h - what the parts of sithsd share: the daemon's state, the
 * context that answers (replaced whole on SIGHUP), and a caller as the
 * kernel names it.
 */
#ifndef SITHSD_H
#define SITHSD_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "siths.h"

/* The context that answers, shared by the requests that hold it. */
struct sithsd_ctx {
	siths_ctx *ctx;
	int refs;                       /* under sithsd.lock */
};

/* Connections of one uid being served. */
struct sithsd_uid_count {
	uid_t uid;
	int n;
};

struct sithsd {
	const char *config_path;
	char *socket_path;
	int foreground;
	int listen_fd;
	int activated;                  /* the socket came from systemd */

	pthread_mutex_t lock;           /* guards everything below */
	pthread_cond_t idle;            /* a connection ended */
	struct sithsd_ctx *current;
	int n_clients;
	struct sithsd_uid_count *uids;  /* max_clients entries */
	int *conn_fds;                  /* max_clients entries; -1: free (shut down on stop) */
	int stopping;

	/* from the first configuration; a reload does not change them */
	int max_clients, max_per_uid, timeout_ms;
};

/* A caller, from SO_PEERCRED; admin judged once, when it first matters (access.c). */
struct sithsd_caller {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int judged;                     /* admin has been worked out */
	int admin;                      /* root, or a member of [service] admin_group */
};

/* The answering context, held until sithsd_ctx_release(). */
struct sithsd_ctx *sithsd_ctx_hold(struct sithsd *d);
void sithsd_ctx_release(struct sithsd *d, struct sithsd_ctx *h);

#endif
