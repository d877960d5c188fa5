/*
 * pcsc.c - PC/SC readers and waiting for a card. Every call makes its own
 * PC/SC context, so a pcscd that restarted is simply found again; waits are
 * registered on the siths_ctx so that siths_ctx_cancel_wait() can reach
 * them from another thread. The long-lived event watcher is pcsc_events.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "ctx.h"
#include "error.h"
#include "log.h"
#include "pcsc.h"

/* Readers considered at once; more is not a workstation. */
#define PCSC_MAX_READERS 16
/* Readers one wait follows: pcsc-lite takes PCSCLITE_MAX_READERS_CONTEXTS
 * states in one call, and one of them is the pnp notification. */
#define PCSC_WAIT_READERS (PCSCLITE_MAX_READERS_CONTEXTS - 1)
/* Longest reader list pcscd may hand us. */
#define PCSC_MAX_LIST 8192
/* Waits that may run at once on one context. */
#define PCSC_MAX_WAITS 32
/* Between tries to reach a pcscd that went away. */
#define PCSC_RETRY_MS 200

struct siths_pcsc {
	pthread_mutex_t lock;
	SCARDCONTEXT waits[PCSC_MAX_WAITS];
	size_t n_waits;
	unsigned long cancel_gen;       /* bumped by every cancel */
};

int
siths_pcsc_init(siths_ctx *ctx)
{
	struct siths_pcsc *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return SITHS_ERR_NOMEM;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return SITHS_ERR_NOMEM;
	}
	ctx->pcsc = p;
	return 0;
}

void
siths_pcsc_free(siths_ctx *ctx)
{
	if (ctx->pcsc == NULL)
		return;
	pthread_mutex_destroy(&ctx->pcsc->lock);
	free(ctx->pcsc);
	ctx->pcsc = NULL;
}

LONG
siths_pcsc_list_names(SCARDCONTEXT sc, char **out)
{
	DWORD len = 0;
	char *buf;
	LONG rv = SCARD_E_INSUFFICIENT_BUFFER;
	int tries;

	*out = NULL;
	/* a reader plugged in between the two calls makes the list longer than
	 * the first call said: ask again */
	for (tries = 0; tries < 3 && rv == SCARD_E_INSUFFICIENT_BUFFER; tries++) {
		if ((rv = SCardListReaders(sc, NULL, NULL, &len)) != SCARD_S_SUCCESS)
			return rv;
		if (len == 0 || len > PCSC_MAX_LIST)
			return SCARD_E_NO_READERS_AVAILABLE;
		if ((buf = calloc(1, len + 1)) == NULL)
			return SCARD_E_NO_MEMORY;
		if ((rv = SCardListReaders(sc, NULL, buf, &len)) == SCARD_S_SUCCESS) {
			*out = buf;
			return rv;
		}
		free(buf);
	}
	return rv;
}

int
siths_pcsc_name_matches(const char *name, const char *pattern)
{
	return pattern == NULL || *pattern == '\0' || strstr(name, pattern) != NULL;
}

int
siths_pcsc_list(siths_ctx *ctx, struct siths_reader_info **out, size_t *n)
{
	SCARD_READERSTATE st[PCSC_MAX_READERS];
	struct siths_reader_info *list = NULL;
	SCARDCONTEXT sc = 0;
	char *names = NULL, *p;
	size_t count = 0, i;
	LONG rv;
	int r = SITHS_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &sc)) != SCARD_S_SUCCESS)
		return siths_fail(ctx, SITHS_ERR_CARD_IO, "pcscd cannot be reached: %s",
		    pcsc_stringify_error(rv));
	rv = siths_pcsc_list_names(sc, &names);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		r = 0;          /* no readers: an empty list */
		goto out;
	}
	if (rv != SCARD_S_SUCCESS) {
		r = siths_fail(ctx, SITHS_ERR_CARD_IO, "listing readers: %s",
		    pcsc_stringify_error(rv));
		goto out;
	}
	memset(st, 0, sizeof(st));
	for (p = names; *p != '\0' && count < PCSC_MAX_READERS; p += strlen(p) + 1) {
		st[count].szReader = p;
		st[count++].dwCurrentState = SCARD_STATE_UNAWARE;
	}
	if ((rv = SCardGetStatusChange(sc, 0, st, (DWORD)count)) != SCARD_S_SUCCESS &&
	    rv != SCARD_E_TIMEOUT) {
		r = siths_fail(ctx, SITHS_ERR_CARD_IO, "reading reader states: %s",
		    pcsc_stringify_error(rv));
		goto out;
	}
	if ((list = calloc(count, sizeof(*list))) == NULL) {
		r = SITHS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if ((list[i].name = strdup(st[i].szReader)) == NULL) {
			siths_pcsc_list_free(list, i);
			list = NULL;
			r = SITHS_ERR_NOMEM;
			goto out;
		}
		list[i].present = (st[i].dwEventState & SCARD_STATE_PRESENT) != 0;
	}
	*out = list;
	*n = count;
	r = 0;
out:
	free(names);
	SCardReleaseContext(sc);
	return r;
}

void
siths_pcsc_list_free(struct siths_reader_info *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		free(list[i].name);
	free(list);
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000L +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Register sc as a wait that cancel must reach; 0, or -1 when cancelled already. */
static int
wait_register(struct siths_pcsc *p, SCARDCONTEXT sc, unsigned long gen)
{
	int r = -1;

	pthread_mutex_lock(&p->lock);
	if (p->cancel_gen == gen && p->n_waits < PCSC_MAX_WAITS) {
		p->waits[p->n_waits++] = sc;
		r = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void
wait_unregister(struct siths_pcsc *p, SCARDCONTEXT sc)
{
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n_waits; i++) {
		if (p->waits[i] == sc) {
			p->waits[i] = p->waits[--p->n_waits];
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

unsigned long
siths_pcsc_cancel_gen(siths_ctx *ctx)
{
	struct siths_pcsc *p;
	unsigned long gen;

	if (ctx == NULL || (p = ctx->pcsc) == NULL)
		return 0;
	pthread_mutex_lock(&p->lock);
	gen = p->cancel_gen;
	pthread_mutex_unlock(&p->lock);
	return gen;
}

void
siths_pcsc_cancel(siths_ctx *ctx)
{
	struct siths_pcsc *p;
	size_t i;

	if (ctx == NULL || (p = ctx->pcsc) == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->cancel_gen++;
	for (i = 0; i < p->n_waits; i++)
		SCardCancel(p->waits[i]);
	pthread_mutex_unlock(&p->lock);
}

int
siths_pcsc_service_gone(LONG rv)
{
	/* F_COMM_ERROR: pcscd closed the socket under a wait (1.9 clients) */
	return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
	    rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

/*
 * One round on one PC/SC context: the matching readers plus pnp
 * notification, then wait for a change. 0 with *reader set when a card is
 * present; 1 to go round again; a negative status to stop; 2 when the
 * service went away (make a new context).
 */
static int
wait_round(siths_ctx *ctx, SCARDCONTEXT sc, const char *pattern, const struct timespec *deadline,
    char **reader)
{
	SCARD_READERSTATE st[PCSC_WAIT_READERS + 1];
	char *names = NULL, *p;
	DWORD count = 0, i;
	long left;
	LONG rv;
	int r = 1;

	memset(st, 0, sizeof(st));
	rv = siths_pcsc_list_names(sc, &names);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_NO_READERS_AVAILABLE)
		return siths_pcsc_service_gone(rv) ? 2 :
		    siths_fail(ctx, SITHS_ERR_CARD_IO, "listing readers: %s",
		    pcsc_stringify_error(rv));
	for (p = names; p != NULL && *p != '\0' && count < PCSC_WAIT_READERS; p += strlen(p) + 1) {
		if (siths_pcsc_name_matches(p, pattern))
			st[count++].szReader = p;
	}
	/* readers plugged in while we wait wake us too */
	st[count++].szReader = "\\\\?PnP?\\Notification";
	rv = SCardGetStatusChange(sc, 0, st, count);
	for (i = 0; rv == SCARD_S_SUCCESS && i + 1 < count; i++) {
		if (st[i].dwEventState & SCARD_STATE_PRESENT) {
			r = (*reader = strdup(st[i].szReader)) != NULL ? 0 : SITHS_ERR_NOMEM;
			goto out;
		}
		st[i].dwCurrentState = st[i].dwEventState;
	}
	st[count - 1].dwCurrentState = st[count - 1].dwEventState;
	if ((left = ms_left(deadline)) <= 0) {
		r = siths_fail(ctx, SITHS_ERR_CARD_ABSENT, "no card in any reader matching '%s'",
		    pattern != NULL ? pattern : "");
		goto out;
	}
	rv = SCardGetStatusChange(sc, (DWORD)left, st, count);
	if (rv == SCARD_E_CANCELLED)
		r = siths_fail(ctx, SITHS_ERR_CARD_CANCELLED, "the wait for a card was cancelled");
	else if (siths_pcsc_service_gone(rv))
		r = 2;
	else if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
		r = siths_fail(ctx, SITHS_ERR_CARD_IO, "waiting for a card: %s",
		    pcsc_stringify_error(rv));
out:
	free(names);
	return r;
}

int
siths_pcsc_wait(siths_ctx *ctx, const char *pattern, int timeout_ms, char **reader)
{
	struct siths_pcsc *p = ctx->pcsc;
	struct timespec deadline, pause = { 0, PCSC_RETRY_MS * 1000000L };
	SCARDCONTEXT sc = 0;
	unsigned long gen;
	int r, have = 0, ever = 0;
	LONG rv;

	*reader = NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	gen = p->cancel_gen;
	pthread_mutex_unlock(&p->lock);
	for (;;) {
		if (!have) {
			rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &sc);
			if (rv != SCARD_S_SUCCESS && !ever)
				return siths_fail(ctx, SITHS_ERR_CARD_IO,
				    "pcscd cannot be reached: %s", pcsc_stringify_error(rv));
			if (rv == SCARD_S_SUCCESS && wait_register(p, sc, gen) != 0) {
				SCardReleaseContext(sc);
				return siths_fail(ctx, SITHS_ERR_CARD_CANCELLED,
				    "the wait for a card was cancelled");
			}
			have = ever = rv == SCARD_S_SUCCESS;
		}
		r = have ? wait_round(ctx, sc, pattern, &deadline, reader) : 2;
		if (r == 2) {   /* pcscd went away: a new context once it is back */
			if (have) {
				wait_unregister(p, sc);
				SCardReleaseContext(sc);
				have = 0;
				siths_info(ctx, "pcscd went away; waiting for it to come back");
			}
			if (ms_left(&deadline) <= 0)
				return siths_fail(ctx, SITHS_ERR_CARD_ABSENT,
				    "pcscd did not come back before the deadline");
			nanosleep(&pause, NULL);
			continue;
		}
		if (r != 1)
			break;
	}
	wait_unregister(p, sc);
	SCardReleaseContext(sc);
	return r;
}
