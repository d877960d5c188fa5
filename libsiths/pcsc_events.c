/*
 * pcsc_events.c - card events (siths_card_events_*): cards put in and taken
 * out, readers plugged in and out, for a caller's thread or poll loop.
 *
 * Each handle owns one watcher thread with its own PC/SC context. The
 * watcher follows the matching readers and pcsc-lite's PnP pseudo reader
 * with SCardGetStatusChange and queues what changed; callers take events
 * from the queue (siths_card_events_next), and an eventfd is readable while
 * the queue is not empty. Everything lives in the handle: no globals.
 *
 * When pcscd goes away, every followed reader has its card removed and is
 * removed itself (without pcscd there are no readers); the watcher makes a
 * new context once pcscd is back, and the readers and cards it finds are
 * added and inserted again. The queue is bounded: a caller that does not
 * keep up loses the oldest events, and the log says so.
 *
 * free() stops the watcher with SCardCancel, sent from a short-lived
 * helper thread because pcsc-lite waits for pcscd's answer without a limit;
 * free() gives up after 3 s and leaves the watcher to free the handle.
 *
 * Locking: ev->lock guards the queue and the life of the handle (stopping,
 * waiters, the watcher's context). The followed readers belong to the
 * watcher alone, and to open() before the watcher starts.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <winscard.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "log.h"
#include "pcsc.h"

/* pcsc-lite takes at most PCSCLITE_MAX_READERS_CONTEXTS states in one
 * call (more is SCARD_E_INVALID_PARAMETER); one goes to the PnP reader. */
#define EV_MAX_READERS (PCSCLITE_MAX_READERS_CONTEXTS - 1)
/* Bytes kept of a reader name: pcsc-lite's own cap (MAX_READERNAME). */
#define EV_NAME_MAX (MAX_READERNAME - 1)
/* Events kept for a caller that is not reading; then the oldest go. */
#define EV_QUEUE_MAX 64
/* Longest single wait: pcsc-lite 1.9 does not see a reader plugged in
 * between our listing and its registration, so we list again this often. */
#define EV_RELIST_MS 5000
/* Pause before a new context after pcscd went away, doubling up to max. */
#define EV_RETRY_MIN_MS 100
#define EV_RETRY_MAX_MS 2000
/* How long free() waits for the watcher, cancelling its wait this often. */
#define EV_STOP_MS 3000
#define EV_CANCEL_EVERY_MS 50

static const char pnp_reader[] = "\\\\?PnP?\\Notification";

struct ev_item {
	int type;
	char reader[EV_NAME_MAX + 1];  /* printable (name_fit) */
};

struct ev_reader {
	char *name;                     /* as pcscd spells it */
	DWORD state;                    /* its last dwEventState: our next dwCurrentState */
	int present;
};

struct siths_card_events {
	siths_ctx *ctx;
	char *pattern;                  /* NULL: every reader */
	int efd;                        /* readable while the queue holds events */
	pthread_t thread;

	pthread_mutex_t lock;
	pthread_cond_t changed;         /* queued, stopping, watcher done, waiter left */
	struct ev_item queue[EV_QUEUE_MAX];
	size_t head, len;
	size_t queue_max;               /* EV_QUEUE_MAX; less in tests */
	unsigned long dropped;
	int stopping;                   /* free() began: nobody waits, the watcher logs no more */
	int watcher_done;
	int orphaned;                   /* free() gave up waiting: the last one out frees */
	unsigned int waiters;           /* threads inside siths_card_events_next() */
	SCARDCONTEXT sc;                /* the watcher's context, for SCardCancel; 0: none */

	/* the watcher's */
	struct ev_reader readers[EV_MAX_READERS];
	size_t n_readers;
	DWORD pnp_state;
	int said_too_many;
};

const char *
siths_card_event_name(int type)
{
	switch (type) {
	case SITHS_EVENT_CARD_INSERTED: return "card_inserted";
	case SITHS_EVENT_CARD_REMOVED: return "card_removed";
	case SITHS_EVENT_READER_ADDED: return "reader_added";
	case SITHS_EVENT_READER_REMOVED: return "reader_removed";
	}
	return "unknown";
}

/* --- time ----------------------------------------------------------------- */

static void
deadline_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int
passed(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* --- the queue ------------------------------------------------------------ */

/*
 * The watcher logs only while the handle is not being freed: once free()
 * has returned, the caller may free the context too. Called with the lock
 * held, so that free() cannot begin in the middle of a message.
 */
static void __attribute__((format(printf, 3, 4)))
ev_log_locked(struct siths_card_events *ev, int level, const char *fmt, ...)
{
	va_list ap;

	if (ev->stopping)
		return;
	va_start(ap, fmt);
	siths_vlog(ev->ctx, level, fmt, ap);
	va_end(ap);
}

/*
 * A printable, bounded copy of a reader name: names come from reader
 * drivers and reach logs, JSON and prompts. UTF-8 is kept whole; control
 * characters become '?'.
 */
static void
name_fit(char dst[EV_NAME_MAX + 1], const char *s)
{
	size_t i, len = strnlen(s, EV_NAME_MAX);

	if (len == EV_NAME_MAX) {
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[len] = '\0';
}

static void
ev_push(struct siths_card_events *ev, int type, const char *reader)
{
	const uint64_t one = 1;
	struct ev_item *it;

	pthread_mutex_lock(&ev->lock);
	while (ev->len > 0 && ev->len >= ev->queue_max) {
		it = &ev->queue[ev->head];
		ev->dropped++;
		ev_log_locked(ev, SITHS_LOG_WARNING, "card events are not being read: dropped "
		    "the oldest (%s, %s); %lu dropped so far", siths_card_event_name(it->type),
		    it->reader, ev->dropped);
		ev->head = (ev->head + 1) % EV_QUEUE_MAX;
		ev->len--;
	}
	it = &ev->queue[(ev->head + ev->len) % EV_QUEUE_MAX];
	it->type = type;
	name_fit(it->reader, reader);
	/* the fd turns readable with the first event; next() empties it with the last */
	if (ev->len++ == 0 && write(ev->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		ev_log_locked(ev, SITHS_LOG_ERR, "card events: the event fd cannot be "
		    "signalled: %s", strerror(errno));
	ev_log_locked(ev, SITHS_LOG_DEBUG, "card event: %s, %s", siths_card_event_name(type),
	    it->reader);
	pthread_cond_broadcast(&ev->changed);
	pthread_mutex_unlock(&ev->lock);
}

/* --- following readers (the watcher, and open() before it) ----------------- */

static void
ev_log(struct siths_card_events *ev, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ev_log(struct siths_card_events *ev, int level, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ev->lock);
	if (!ev->stopping) {
		va_start(ap, fmt);
		siths_vlog(ev->ctx, level, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&ev->lock);
}

/* Stop following reader i, saying so: its card goes first. */
static void
reader_drop(struct siths_card_events *ev, size_t i)
{
	struct ev_reader *r = &ev->readers[i];

	if (r->present)
		ev_push(ev, SITHS_EVENT_CARD_REMOVED, r->name);
	ev_push(ev, SITHS_EVENT_READER_REMOVED, r->name);
	free(r->name);
	ev->readers[i] = ev->readers[--ev->n_readers];
}

/* pcscd is gone, and with it every reader. */
static void
readers_lose_all(struct siths_card_events *ev)
{
	while (ev->n_readers > 0)
		reader_drop(ev, ev->n_readers - 1);
	ev->pnp_state = 0;
}

static int
in_list(const char *names, const char *name)
{
	const char *p;

	for (p = names; p != NULL && *p != '\0'; p += strlen(p) + 1) {
		if (strcmp(p, name) == 0)
			return 1;
	}
	return 0;
}

static int
followed(const struct siths_card_events *ev, const char *name)
{
	size_t i;

	for (i = 0; i < ev->n_readers; i++) {
		if (strcmp(ev->readers[i].name, name) == 0)
			return 1;
	}
	return 0;
}

/*
 * Bring the followed readers in line with pcscd's list: readers gone are
 * dropped, new matching ones are added as UNAWARE, so that the next status
 * change says at once whether they hold a card.
 */
static LONG
resync(struct siths_card_events *ev, SCARDCONTEXT sc)
{
	char *names = NULL, *name;
	const char *p;
	size_t i;
	LONG rv;

	rv = siths_pcsc_list_names(sc, &names);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_NO_READERS_AVAILABLE)
		return rv;
	rv = SCARD_S_SUCCESS;
	for (i = 0; i < ev->n_readers;) {
		if (!in_list(names, ev->readers[i].name))
			reader_drop(ev, i);     /* the last one moved into i */
		else
			i++;
	}
	for (p = names; p != NULL && *p != '\0'; p += strlen(p) + 1) {
		if (!siths_pcsc_name_matches(p, ev->pattern) || followed(ev, p))
			continue;
		if (ev->n_readers == EV_MAX_READERS) {
			if (!ev->said_too_many)
				ev_log(ev, SITHS_LOG_WARNING, "card events: more than %d readers "
				    "match; later ones are not followed", EV_MAX_READERS);
			ev->said_too_many = 1;
			continue;
		}
		if ((name = strdup(p)) == NULL) {
			rv = SCARD_E_NO_MEMORY;
			break;
		}
		ev->readers[ev->n_readers].name = name;
		ev->readers[ev->n_readers].state = SCARD_STATE_UNAWARE;
		ev->readers[ev->n_readers++].present = 0;
		ev_push(ev, SITHS_EVENT_READER_ADDED, name);
	}
	free(names);
	return rv;
}

/* What one status change says about a reader, as events. */
static void
reader_update(struct siths_card_events *ev, struct ev_reader *r, DWORD now)
{
	int present = (now & SCARD_STATE_PRESENT) != 0;
	unsigned int was_count = r->state >> 16, count = now >> 16;

	if (r->present && present && was_count != 0 && count != was_count) {
		/* taken out and put back between two looks: pcscd counted both */
		ev_push(ev, SITHS_EVENT_CARD_REMOVED, r->name);
		ev_push(ev, SITHS_EVENT_CARD_INSERTED, r->name);
	} else if (present != r->present) {
		ev_push(ev, present ? SITHS_EVENT_CARD_INSERTED : SITHS_EVENT_CARD_REMOVED,
		    r->name);
	}
	r->present = present;
	r->state = now & ~(DWORD)SCARD_STATE_CHANGED;
}

/*
 * One wait for a change on the followed readers and the PnP reader, then
 * the events it shows. SCARD_S_SUCCESS to go on; else why it ended.
 */
static LONG
watch_round(struct siths_card_events *ev, SCARDCONTEXT sc, DWORD timeout_ms)
{
	SCARD_READERSTATE st[EV_MAX_READERS + 1];
	DWORD n = 0, i;
	int relist = 0;
	LONG rv;

	memset(st, 0, sizeof(st));
	for (i = 0; i < ev->n_readers; i++) {
		st[n].szReader = ev->readers[i].name;
		st[n++].dwCurrentState = ev->readers[i].state;
	}
	/* pcsc-lite 2 keeps a reader-events counter in the high word */
	st[n].szReader = pnp_reader;
	st[n++].dwCurrentState = ev->pnp_state;
	rv = SCardGetStatusChange(sc, timeout_ms, st, n);
	/* nothing for a while, or a reader vanished before the call: look again */
	if (rv == SCARD_E_TIMEOUT || rv == SCARD_E_UNKNOWN_READER)
		return resync(ev, sc);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	for (i = 0; i + 1 < n; i++) {
		if (st[i].dwEventState & SCARD_STATE_UNKNOWN)
			relist = 1;     /* unplugged during the wait */
		else
			reader_update(ev, &ev->readers[i], st[i].dwEventState);
	}
	if (st[n - 1].dwEventState & SCARD_STATE_CHANGED)
		relist = 1;
	ev->pnp_state = st[n - 1].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
	return relist ? resync(ev, sc) : SCARD_S_SUCCESS;
}

/* --- the watcher thread ----------------------------------------------------- */

static int
stopping(struct siths_card_events *ev)
{
	int s;

	pthread_mutex_lock(&ev->lock);
	s = ev->stopping;
	pthread_mutex_unlock(&ev->lock);
	return s;
}

/* Sleep ms unless free() begins meanwhile; 1 when it did. */
static int
pause_unless_stopped(struct siths_card_events *ev, long ms)
{
	struct timespec until;
	int s;

	deadline_in(&until, ms);
	pthread_mutex_lock(&ev->lock);
	while (!ev->stopping && pthread_cond_timedwait(&ev->changed, &ev->lock, &until) !=
	    ETIMEDOUT)
		;
	s = ev->stopping;
	pthread_mutex_unlock(&ev->lock);
	return s;
}

static void
set_context(struct siths_card_events *ev, SCARDCONTEXT sc)
{
	pthread_mutex_lock(&ev->lock);
	ev->sc = sc;
	pthread_mutex_unlock(&ev->lock);
}

static void
ev_destroy(struct siths_card_events *ev)
{
	size_t i;

	for (i = 0; i < ev->n_readers; i++)
		free(ev->readers[i].name);
	if (ev->efd >= 0)
		close(ev->efd);
	pthread_cond_destroy(&ev->changed);
	pthread_mutex_destroy(&ev->lock);
	free(ev->pattern);
	free(ev);
}

/* Whoever leaves last frees a handle that free() had to give up on. */
static int
last_one_out(const struct siths_card_events *ev)
{
	return ev->orphaned && ev->watcher_done && ev->waiters == 0;
}

static void *
watcher(void *arg)
{
	struct siths_card_events *ev = arg;
	SCARDCONTEXT sc = ev->sc;       /* open()'s, set before the thread began */
	long pause_ms = EV_RETRY_MIN_MS;
	int destroy;
	LONG rv;

	while (!stopping(ev)) {
		if (sc == 0) {
			if (pause_unless_stopped(ev, pause_ms))
				break;
			pause_ms = pause_ms * 2 > EV_RETRY_MAX_MS ? EV_RETRY_MAX_MS : pause_ms * 2;
			if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &sc) !=
			    SCARD_S_SUCCESS) {
				sc = 0;
				continue;
			}
			set_context(ev, sc);
			ev_log(ev, SITHS_LOG_INFO, "card events: pcscd is back");
			rv = resync(ev, sc);
		} else if ((rv = watch_round(ev, sc, EV_RELIST_MS)) == SCARD_S_SUCCESS) {
			pause_ms = EV_RETRY_MIN_MS;
		}
		if (rv == SCARD_S_SUCCESS || rv == SCARD_E_CANCELLED)
			continue;       /* a cancel comes from free(): the loop sees it */
		/* Only a pcscd that went away takes the readers with it; after any
		 * other failure they are followed on from their last known state,
		 * so that no card is reported removed that was not. */
		if (siths_pcsc_service_gone(rv)) {
			ev_log(ev, SITHS_LOG_INFO, "card events: pcscd went away (%s); waiting "
			    "for it to come back", pcsc_stringify_error(rv));
			readers_lose_all(ev);
		} else {
			ev_log(ev, SITHS_LOG_WARNING, "card events: following the readers "
			    "failed (%s); starting again with a new PC/SC context",
			    pcsc_stringify_error(rv));
		}
		set_context(ev, 0);
		SCardReleaseContext(sc);
		sc = 0;
	}
	if (sc != 0) {
		set_context(ev, 0);
		SCardReleaseContext(sc);
	}
	pthread_mutex_lock(&ev->lock);
	ev->watcher_done = 1;
	destroy = last_one_out(ev);
	pthread_cond_broadcast(&ev->changed);
	pthread_mutex_unlock(&ev->lock);
	if (destroy)
		ev_destroy(ev);
	return NULL;
}

/* --- stopping the watcher --------------------------------------------------- */

/*
 * SCardCancel asks pcscd and waits for its answer without a time limit, and
 * it reaches only a wait that has begun (one about to begin misses it). So
 * free() leaves it to a helper thread that cancels again every 50 ms until
 * told to stop: free() stays bounded even when pcscd hangs. Normally free()
 * joins the helper; when pcscd hangs the helper is left to end once pcscd
 * answers. Shared by free() and the helper, never the handle; the last one
 * out frees it.
 */
struct ev_canceller {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	SCARDCONTEXT sc;                /* what to cancel; 0: nothing now */
	int stop;
	int refs;
};

static void
canceller_put(struct ev_canceller *c)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
}

static void *
canceller(void *arg)
{
	struct ev_canceller *c = arg;
	struct timespec tick;
	SCARDCONTEXT sc;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		sc = c->sc;
		pthread_mutex_unlock(&c->lock);
		if (sc != 0)
			SCardCancel(sc);
		deadline_in(&tick, EV_CANCEL_EVERY_MS);
		pthread_mutex_lock(&c->lock);
		if (!c->stop)
			pthread_cond_timedwait(&c->wake, &c->lock, &tick);
	}
	pthread_mutex_unlock(&c->lock);
	canceller_put(c);
	return NULL;
}

/* Library threads run with every signal blocked: the application's
 * handlers belong in the application's threads. */
static int
spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

static int
monotonic_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	int e;

	if ((e = pthread_condattr_init(&ca)) != 0)
		return e;
	/* timeouts on a monotonic clock: a clock step does not stretch them */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	e = pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
	return e;
}

static struct ev_canceller *
canceller_start(SCARDCONTEXT sc)
{
	struct ev_canceller *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	if (monotonic_cond_init(&c->wake) != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	c->sc = sc;
	c->refs = 2;
	if (spawn(&c->thread, canceller, c) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

static void
canceller_set(struct ev_canceller *c, SCARDCONTEXT sc)
{
	pthread_mutex_lock(&c->lock);
	c->sc = sc;
	pthread_mutex_unlock(&c->lock);
}

/* Stop the helper; join it unless it is stuck in SCardCancel past the deadline. */
static void
canceller_stop(struct ev_canceller *c, const struct timespec *give_up)
{
	pthread_t t = c->thread;
	struct timespec mono, real;
	long ns;
	int joined;

	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	/* pthread_timedjoin_np counts in CLOCK_REALTIME */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ns = (give_up->tv_sec - mono.tv_sec) * 1000000000L + (give_up->tv_nsec - mono.tv_nsec);
	if (ns < 100000000L)
		ns = 100000000L;        /* a moment to leave, even past the deadline */
	real.tv_sec += ns / 1000000000L;
	real.tv_nsec += ns % 1000000000L;
	if (real.tv_nsec >= 1000000000L) {
		real.tv_sec++;
		real.tv_nsec -= 1000000000L;
	}
	joined = pthread_timedjoin_np(t, NULL, &real) == 0;
	if (!joined)
		pthread_detach(t);
	canceller_put(c);
}

/* --- the API -------------------------------------------------------------- */

static int
ev_new(siths_ctx *ctx, const char *pattern, struct siths_card_events **out)
{
	struct siths_card_events *ev;
	int r = SITHS_ERR_NOMEM;

	*out = NULL;
	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory for card events");
	ev->ctx = ctx;
	ev->efd = -1;
	ev->queue_max = EV_QUEUE_MAX;
	if (pattern != NULL && *pattern != '\0' && (ev->pattern = strdup(pattern)) == NULL) {
		free(ev);
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory for card events");
	}
	if (pthread_mutex_init(&ev->lock, NULL) != 0) {
		free(ev->pattern);
		free(ev);
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory for card events");
	}
	if (monotonic_cond_init(&ev->changed) != 0) {
		pthread_mutex_destroy(&ev->lock);
		free(ev->pattern);
		free(ev);
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory for card events");
	}
	if ((ev->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = siths_fail(ctx, errno == ENOMEM ? SITHS_ERR_NOMEM : SITHS_ERR_INTERNAL,
		    "card events: cannot make an eventfd: %s", strerror(errno));
		ev_destroy(ev);
		return r;
	}
	*out = ev;
	return 0;
}

static int
start_watcher(struct siths_card_events *ev)
{
	int e;

	if ((e = spawn(&ev->thread, watcher, ev)) != 0)
		return siths_fail(ev->ctx, e == EAGAIN ? SITHS_ERR_NOMEM : SITHS_ERR_INTERNAL,
		    "card events: cannot start the watcher thread: %s", strerror(e));
	return 0;
}

int
siths_card_events_open(siths_ctx *ctx, const char *reader_pattern, siths_card_events **out)
{
	struct siths_card_events *ev = NULL;
	SCARDCONTEXT sc = 0;
	LONG rv;
	int r = SITHS_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	if ((reader_pattern == NULL || *reader_pattern == '\0') && ctx->cfg != NULL)
		reader_pattern = ctx->cfg->card_reader;
	if (reader_pattern != NULL && strlen(reader_pattern) > EV_NAME_MAX)
		return siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT, "a reader pattern longer "
		    "than %d bytes matches no reader", EV_NAME_MAX);
	if ((r = ev_new(ctx, reader_pattern, &ev)) != 0)
		return r;
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &sc)) != SCARD_S_SUCCESS) {
		r = siths_fail(ctx, SITHS_ERR_CARD_IO, "pcscd cannot be reached: %s",
		    pcsc_stringify_error(rv));
		sc = 0;
		goto out;
	}
	/* the readers and cards there are now, queued before we return: a card
	 * that is in a reader already is not missed */
	if ((rv = resync(ev, sc)) != SCARD_S_SUCCESS || (rv = watch_round(ev, sc, 0)) !=
	    SCARD_S_SUCCESS) {
		r = siths_fail(ctx, rv == SCARD_E_NO_MEMORY ? SITHS_ERR_NOMEM : SITHS_ERR_CARD_IO,
		    "reading reader states: %s", pcsc_stringify_error(rv));
		goto out;
	}
	ev->sc = sc;
	if ((r = start_watcher(ev)) != 0) {
		ev->sc = 0;
		goto out;
	}
	sc = 0;                 /* transferred to the watcher */
	*out = ev;
	ev = NULL;
	/* success */
	r = 0;
out:
	if (sc != 0)
		SCardReleaseContext(sc);
	if (ev != NULL)
		ev_destroy(ev);
	return r;
}

void
siths_pcsc_events_set_queue_max(siths_card_events *ev, size_t max)
{
	pthread_mutex_lock(&ev->lock);
	ev->queue_max = max >= 1 && max <= EV_QUEUE_MAX ? max : EV_QUEUE_MAX;
	pthread_mutex_unlock(&ev->lock);
}

int
siths_card_events_fd(const siths_card_events *ev)
{
	return ev != NULL ? ev->efd : -1;
}

int
siths_card_events_next(siths_card_events *ev, int timeout_ms, int *type, char **reader)
{
	struct timespec until;
	struct ev_item *it;
	uint64_t drain;
	char *name = NULL;
	int r = SITHS_ERR_INTERNAL, timed_out = 0, destroy;

	if (type != NULL)
		*type = 0;
	if (reader != NULL)
		*reader = NULL;
	if (ev == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (type == NULL || reader == NULL || timeout_ms < -1)
		return siths_fail(ev->ctx, SITHS_ERR_INVALID_ARGUMENT, "card events: type and "
		    "reader are needed, and a timeout of -1 (none) or more milliseconds");
	siths_clear_error(ev->ctx);
	if (timeout_ms > 0)
		deadline_in(&until, timeout_ms);
	pthread_mutex_lock(&ev->lock);
	ev->waiters++;
	while (ev->len == 0 && !ev->stopping && !timed_out) {
		if (timeout_ms < 0)
			pthread_cond_wait(&ev->changed, &ev->lock);
		else
			timed_out = timeout_ms == 0 ||
			    pthread_cond_timedwait(&ev->changed, &ev->lock, &until) == ETIMEDOUT;
	}
	if (ev->stopping) {
		r = SITHS_ERR_CARD_CANCELLED;
	} else if (ev->len == 0) {
		r = SITHS_ERR_CARD_TIMEOUT;
	} else if ((name = strdup(ev->queue[ev->head].reader)) == NULL) {
		r = SITHS_ERR_NOMEM;    /* the event stays queued for the next try */
	} else {
		it = &ev->queue[ev->head];
		*type = it->type;
		*reader = name;
		ev->head = (ev->head + 1) % EV_QUEUE_MAX;
		/* the last event out: the fd is not readable any more */
		if (--ev->len == 0 && read(ev->efd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
			siths_warn(ev->ctx, "card events: the event fd cannot be reset: %s",
			    strerror(errno));
		r = 0;
	}
	pthread_mutex_unlock(&ev->lock);
	/* still counted as a waiter: free() does not return, nor the context
	 * go, while this thread writes its message */
	if (r == SITHS_ERR_CARD_CANCELLED)
		siths_fail(ev->ctx, r, "card events: the handle is being freed");
	else if (r == SITHS_ERR_CARD_TIMEOUT)
		siths_fail(ev->ctx, r, "no card event within %d ms", timeout_ms);
	else if (r == SITHS_ERR_NOMEM)
		siths_fail(ev->ctx, r, "out of memory for a card event");
	pthread_mutex_lock(&ev->lock);
	ev->waiters--;
	destroy = last_one_out(ev);
	pthread_cond_broadcast(&ev->changed);
	pthread_mutex_unlock(&ev->lock);
	if (destroy)
		ev_destroy(ev);
	return r;
}

void
siths_card_events_free(siths_card_events **evp)
{
	struct siths_card_events *ev;
	struct ev_canceller *c;
	struct timespec give_up, tick;
	siths_ctx *ctx;
	pthread_t thread;
	SCARDCONTEXT sc;
	int done;

	if (evp == NULL || (ev = *evp) == NULL)
		return;
	*evp = NULL;
	ctx = ev->ctx;
	thread = ev->thread;
	deadline_in(&give_up, EV_STOP_MS);
	pthread_mutex_lock(&ev->lock);
	ev->stopping = 1;
	pthread_cond_broadcast(&ev->changed);
	sc = ev->sc;
	pthread_mutex_unlock(&ev->lock);
	/* without a helper, cancel from here: bounded unless pcscd hangs */
	c = canceller_start(sc);
	pthread_mutex_lock(&ev->lock);
	while ((!ev->watcher_done || ev->waiters > 0) && !passed(&give_up)) {
		/* the watcher may have moved to a new context meanwhile */
		sc = ev->watcher_done ? 0 : ev->sc;
		if (c != NULL) {
			canceller_set(c, sc);
		} else if (sc != 0) {
			pthread_mutex_unlock(&ev->lock);
			SCardCancel(sc);
			pthread_mutex_lock(&ev->lock);
		}
		deadline_in(&tick, EV_CANCEL_EVERY_MS);
		pthread_cond_timedwait(&ev->changed, &ev->lock, &tick);
	}
	done = ev->watcher_done && ev->waiters == 0;
	if (!done)
		ev->orphaned = 1;
	pthread_mutex_unlock(&ev->lock);
	if (c != NULL)
		canceller_stop(c, &give_up);
	if (done) {
		pthread_join(thread, NULL);
		ev_destroy(ev);
		return;
	}
	/* a pcscd that does not answer SCardCancel: do not hang the caller */
	siths_warn(ctx, "card events: the watcher did not stop within %d ms; it frees its "
	    "handle when it does", EV_STOP_MS);
	pthread_detach(thread);
}
