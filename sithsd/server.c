/*
 * server.c - connections to sithsd (see server.h).
 *
 * A connection is served by a detached thread: requests one after another,
 * each of which must arrive whole within [service] timeout_ms of the
 * previous answer (a stalled or slow client is closed then, a slow-loris
 * costs one thread of its uid's quota for that long), at most
 * SITHS_SVC_REQUEST_MAX bytes, answered within the same time. A malformed,
 * oversized or truncated request closes the connection; nothing else is
 * affected. Every request is logged with the caller's uid and pid.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "access.h"
#include "handlers.h"
#include "log.h"
#include "server.h"
#include "sithsd.h"
#include "svc_frame.h"
#include "timeutil.h"

struct conn {
	struct sithsd *d;
	int fd;
	int slot;                       /* in d->conn_fds */
	struct sithsd_caller caller;
};

/* Remember fd (or with -1, forget *slot) so that a stop can wake it; under d->lock. */
static void
track_fd(struct sithsd *d, int fd, int *slot)
{
	int i;

	if (fd == -1) {
		if (*slot >= 0)
			d->conn_fds[*slot] = -1;
		*slot = -1;
		return;
	}
	for (i = 0; i < d->max_clients; i++) {
		if (d->conn_fds[i] == -1) {
			d->conn_fds[i] = fd;
			*slot = i;
			return;
		}
	}
}

/* Count c in (1) or out (-1); 0, or -1 when a limit refuses it. Under d->lock. */
static int
count_client(struct sithsd *d, uid_t uid, int delta)
{
	struct sithsd_uid_count *slot = NULL;
	int i;

	for (i = 0; i < d->max_clients; i++) {
		if (d->uids[i].n > 0 && d->uids[i].uid == uid) {
			slot = &d->uids[i];
			break;
		}
		if (slot == NULL && d->uids[i].n == 0)
			slot = &d->uids[i];
	}
	if (delta > 0) {
		if (d->n_clients >= d->max_clients || slot == NULL ||
		    (slot->n > 0 && slot->uid == uid && slot->n >= d->max_per_uid))
			return -1;
		slot->uid = uid;
		slot->n++;
		d->n_clients++;
		return 0;
	}
	if (slot != NULL && slot->uid == uid && slot->n > 0)
		slot->n--;
	d->n_clients--;
	pthread_cond_broadcast(&d->idle);
	return 0;
}

/* One answer to a refused connection, then it is closed. */
static void
refuse_connection(struct sithsd *d, int fd, const char *why)
{
	struct timespec deadline;
	json_t *a = json_pack("{s:i, s:i, s:s, s:s}", "v", SITHS_SVC_VERSION, "code",
	    SITHS_ERR_SERVICE_UNAVAILABLE, "status", "SITHS_ERR_SERVICE_UNAVAILABLE",
	    "message", why);

	siths_deadline_in(&deadline, 200);
	if (a != NULL)
		(void)siths_frame_send(fd, a, SITHS_SVC_ANSWER_MAX, &deadline);
	json_decref(a);
}

static void
log_request(struct sithsd *d, const struct conn *c, const char *what, const json_t *answer)
{
	struct sithsd_ctx *held = sithsd_ctx_hold(d);
	const char *status = json_string_value(json_object_get(answer, "status"));

	siths_info(held->ctx, "uid %u pid %d: %s: %s", (unsigned int)c->caller.uid,
	    (int)c->caller.pid, what, status != NULL ? status : "(no answer)");
	sithsd_ctx_release(d, held);
}

static void
log_dropped(struct sithsd *d, const struct conn *c, int fr)
{
	struct sithsd_ctx *held = sithsd_ctx_hold(d);

	siths_notice(held->ctx, "uid %u pid %d: connection closed: the request was %s",
	    (unsigned int)c->caller.uid, (int)c->caller.pid, siths_frame_result_text(fr));
	sithsd_ctx_release(d, held);
}

static void *
serve(void *arg)
{
	struct conn *c = arg;
	struct timespec deadline;
	json_t *req = NULL, *answer = NULL;
	char what[160];
	int fr;

	for (;;) {
		siths_deadline_in(&deadline, c->d->timeout_ms);
		if ((fr = siths_frame_recv(c->fd, SITHS_SVC_REQUEST_MAX, &deadline, &req)) != 0 ||
		    __atomic_load_n(&c->d->stopping, __ATOMIC_RELAXED)) {
			json_decref(req);
			req = NULL;
			if (fr < 0 && fr != SITHS_FRAME_TIMEOUT)
				log_dropped(c->d, c, fr);
			break;
		}
		answer = sithsd_handle(c->d, &c->caller, req, what, sizeof(what));
		json_decref(req);
		log_request(c->d, c, what, answer);
		siths_deadline_in(&deadline, c->d->timeout_ms);
		fr = answer != NULL ? siths_frame_send(c->fd, answer, SITHS_SVC_ANSWER_MAX,
		    &deadline) : SITHS_FRAME_IO;
		json_decref(answer);
		if (fr != 0)
			break;
	}
	pthread_mutex_lock(&c->d->lock);
	track_fd(c->d, -1, &c->slot);
	close(c->fd);
	count_client(c->d, c->caller.uid, -1);
	pthread_mutex_unlock(&c->d->lock);
	free(c);
	return NULL;
}

/* A thread for c, with every signal blocked (the main thread takes them). */
static int
start_thread(struct conn *c)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&tid, &attr, serve, c);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int
sithsd_accept(struct sithsd *d)
{
	struct sithsd_ctx *held = NULL;
	struct conn *c = NULL;
	int fd, ok;

	if ((fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -1;
	/* the kernel's word only: the limits come before any slower judgement */
	if ((c = calloc(1, sizeof(*c))) == NULL || sithsd_caller_from_socket(fd, &c->caller) != 0)
		goto fail;
	c->d = d;
	c->fd = fd;
	c->slot = -1;
	pthread_mutex_lock(&d->lock);
	ok = !d->stopping && count_client(d, c->caller.uid, 1) == 0;
	if (ok)
		track_fd(d, fd, &c->slot);
	pthread_mutex_unlock(&d->lock);
	if (!ok) {
		held = sithsd_ctx_hold(d);
		siths_warn(held->ctx, "uid %u pid %d: connection refused: too many connections",
		    (unsigned int)c->caller.uid, (int)c->caller.pid);
		sithsd_ctx_release(d, held);
		refuse_connection(d, fd, "sithsd serves too many connections (of this user)");
		goto fail;
	}
	if (start_thread(c) != 0) {
		pthread_mutex_lock(&d->lock);
		track_fd(d, -1, &c->slot);
		count_client(d, c->caller.uid, -1);
		pthread_mutex_unlock(&d->lock);
		goto fail;
	}
	return 0;
fail:
	close(fd);
	free(c);
	return 0;
}

void
sithsd_drain(struct sithsd *d, int ms)
{
	struct timespec until;
	int i;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	__atomic_store_n(&d->stopping, 1, __ATOMIC_RELAXED);
	/* wake every connection waiting for a request: it ends after its answer */
	for (i = 0; i < d->max_clients; i++) {
		if (d->conn_fds[i] != -1)
			(void)shutdown(d->conn_fds[i], SHUT_RD);
	}
	while (d->n_clients > 0 && pthread_cond_timedwait(&d->idle, &d->lock, &until) == 0)
		;
	pthread_mutex_unlock(&d->lock);
}
