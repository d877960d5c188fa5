/*
 * test_card_events.c - siths_card_events_* against a real pcscd with vpcd's
 * two readers and two virtual cards (tests/vcard/siths-vcard), used from a
 * thread that blocks in siths_card_events_next() and from a poll() loop on
 * siths_card_events_fd().
 *
 * Run by card-events.test inside the environment, one case per run (the
 * case's name is the only argument), with both cards in their readers at
 * the start; every case leaves them there. Environment:
 *   PCSCLITE_CSOCK_NAME   the environment's pcscd
 *   SITHS_TEST_CARD0_PID  the card in "Virtual PCD 00 00"
 *   SITHS_TEST_CARD1_PID  the card in "Virtual PCD 00 01"
 *   SITHS_TEST_RUN_PCSCD  tests/vcard/run-pcscd.sh, SITHS_TEST_STATE its STATE
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pcsc.h"
#include "siths.h"

#define READER0 "Virtual PCD 00 00"
#define READER1 "Virtual PCD 00 01"
/* pcscd looks at vpcd's readers every ~0.4 s; a loaded machine is slower */
#define EVENT_WAIT_MS 8000

struct event {
	int type;
	char reader[128];
};

struct events {
	struct event v[64];
	size_t n;
};

static siths_ctx *ctx;
static char log_text[8192];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Log lines to stderr (kept by the test script) and in memory for asserts. */
static void
log_fn(void *userdata, int level, const char *message)
{
	fprintf(stderr, "# log %d: %s\n", level, message);
	pthread_mutex_lock(&log_lock);
	if (strlen(log_text) + strlen(message) + 2 < sizeof(log_text)) {
		strcat(log_text, message);
		strcat(log_text, "\n");
	}
	pthread_mutex_unlock(&log_lock);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void
sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static pid_t
card_pid(int n)
{
	const char *v = getenv(n == 0 ? "SITHS_TEST_CARD0_PID" : "SITHS_TEST_CARD1_PID");

	if (v == NULL || atoi(v) <= 1)
		fail_msg("SITHS_TEST_CARD%d_PID is not set", n);
	return (pid_t)atoi(v);
}

/* SIGUSR1 takes the virtual card out, SIGUSR2 puts it back. */
static void
card_signal(int n, int sig)
{
	if (kill(card_pid(n), sig) != 0)
		fail_msg("kill card %d: %s", n, strerror(errno));
}

/* Whether reader holds a card, per a fresh snapshot; -1 if not listed. */
static int
reader_present(const char *reader)
{
	siths_readers *rs = NULL;
	size_t i;
	int r = -1;

	if (siths_readers_list(ctx, &rs) != 0)
		return -1;
	for (i = 0; i < siths_readers_count(rs); i++) {
		if (strcmp(siths_readers_name(rs, i), reader) == 0)
			r = siths_readers_card_present(rs, i);
	}
	siths_readers_free(&rs);
	return r;
}

static int
wait_present(const char *reader, int want, long ms)
{
	double end = now_s() + ms / 1000.0;

	do {
		if (reader_present(reader) == want)
			return 1;
		sleep_ms(50);
	} while (now_s() < end);
	return 0;
}

static void
pcscd(const char *action)
{
	const char *script = getenv("SITHS_TEST_RUN_PCSCD"), *state = getenv("SITHS_TEST_STATE");
	char cmd[2048];

	if (script == NULL || state == NULL)
		fail_msg("SITHS_TEST_RUN_PCSCD and SITHS_TEST_STATE are not set");
	snprintf(cmd, sizeof(cmd), "'%s' %s '%s' >/dev/null", script, action, state);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

static int
setup(void **state)
{
	if (siths_ctx_create(&ctx) != 0)
		return -1;
	siths_ctx_set_log(ctx, log_fn, NULL);
	siths_ctx_set_log_level(ctx, SITHS_LOG_DEBUG);
	/* every case starts with both cards in, even after a case that failed */
	card_signal(0, SIGUSR2);
	card_signal(1, SIGUSR2);
	if (!wait_present(READER0, 1, 10000) || !wait_present(READER1, 1, 10000)) {
		fprintf(stderr, "# the cards are not both in their readers\n");
		return -1;
	}
	log_text[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	siths_ctx_free(&ctx);
	return 0;
}

static siths_card_events *
open_events(const char *pattern)
{
	siths_card_events *ev = NULL;
	int r;

	if ((r = siths_card_events_open(ctx, pattern, &ev)) != 0)
		fail_msg("siths_card_events_open: %s: %s", siths_status_name(r),
		    siths_ctx_errmsg(ctx));
	return ev;
}

/* Take one event within ms into out; the status of next(). */
static int
take(siths_card_events *ev, int ms, struct events *out)
{
	char *reader = NULL;
	int type = 0, r;

	r = siths_card_events_next(ev, ms, &type, &reader);
	if (r == 0) {
		assert_non_null(reader);
		assert_true(out->n < sizeof(out->v) / sizeof(out->v[0]));
		out->v[out->n].type = type;
		snprintf(out->v[out->n].reader, sizeof(out->v[0].reader), "%s", reader);
		fprintf(stderr, "# event %s, %s\n", siths_card_event_name(type), reader);
		out->n++;
		free(reader);
	} else {
		assert_int_equal(type, 0);
		assert_null(reader);
	}
	return r;
}

/* Everything queued now, without waiting. */
static void
drain(siths_card_events *ev, struct events *out)
{
	while (take(ev, 0, out) == 0)
		;
}

/* Take events until n are there, each within ms. */
static void
take_n(siths_card_events *ev, size_t n, int ms, struct events *out)
{
	int r;

	while (out->n < n) {
		if ((r = take(ev, ms, out)) != 0)
			fail_msg("%zu of %zu events, then %s", out->n, n, siths_status_name(r));
	}
}

/* Where type for reader first occurs in evs; -1 when it does not. */
static long
find(const struct events *evs, int type, const char *reader)
{
	size_t i;

	for (i = 0; i < evs->n; i++) {
		if (evs->v[i].type == type && strcmp(evs->v[i].reader, reader) == 0)
			return (long)i;
	}
	return -1;
}

static size_t
count(const struct events *evs, int type, const char *reader)
{
	size_t i, n = 0;

	for (i = 0; i < evs->n; i++)
		n += evs->v[i].type == type && strcmp(evs->v[i].reader, reader) == 0;
	return n;
}

static void
assert_event(const struct events *evs, size_t i, int type, const char *reader)
{
	assert_true(i < evs->n);
	assert_string_equal(siths_card_event_name(evs->v[i].type), siths_card_event_name(type));
	assert_string_equal(evs->v[i].reader, reader);
}

static int
fd_readable(siths_card_events *ev, int ms)
{
	struct pollfd p = { .fd = siths_card_events_fd(ev), .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* ---- cases ---- */

static void
test_bad_arguments(void **state)
{
	siths_card_events *ev = (siths_card_events *)&ev, *none = NULL;
	char long_pattern[300], dummy[] = "x", *reader = dummy;
	int type = 7;

	assert_int_equal(siths_card_events_open(NULL, NULL, &ev), SITHS_ERR_INVALID_ARGUMENT);
	assert_null(ev);
	assert_int_equal(siths_card_events_open(ctx, NULL, NULL), SITHS_ERR_INVALID_ARGUMENT);
	memset(long_pattern, 'a', sizeof(long_pattern) - 1);
	long_pattern[sizeof(long_pattern) - 1] = '\0';
	ev = (siths_card_events *)&ev;
	assert_int_equal(siths_card_events_open(ctx, long_pattern, &ev),
	    SITHS_ERR_INVALID_ARGUMENT);
	assert_null(ev);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "reader pattern"));

	assert_int_equal(siths_card_events_next(NULL, 0, &type, &reader),
	    SITHS_ERR_INVALID_ARGUMENT);
	assert_int_equal(type, 0);
	assert_null(reader);
	assert_int_equal(siths_card_events_fd(NULL), -1);
	ev = open_events(NULL);
	assert_true(siths_card_events_fd(ev) > 2);
	assert_int_equal(siths_card_events_next(ev, 0, NULL, &reader), SITHS_ERR_INVALID_ARGUMENT);
	assert_int_equal(siths_card_events_next(ev, 0, &type, NULL), SITHS_ERR_INVALID_ARGUMENT);
	reader = dummy;
	assert_int_equal(siths_card_events_next(ev, -2, &type, &reader),
	    SITHS_ERR_INVALID_ARGUMENT);
	assert_null(reader);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "timeout"));
	assert_string_equal(siths_card_event_name(0), "unknown");
	assert_string_equal(siths_card_event_name(SITHS_EVENT_READER_REMOVED), "reader_removed");
	siths_card_events_free(&ev);
	assert_null(ev);
	siths_card_events_free(&none);
	siths_card_events_free(NULL);
}

/* Both cards in at open: each reader is added, then its card inserted. */
static void
test_present_at_open(void **state)
{
	siths_card_events *ev = open_events(NULL);
	struct events evs = { .n = 0 };

	/* queued before open returned: no waiting needed, and the fd says so */
	assert_true(fd_readable(ev, 0));
	drain(ev, &evs);
	assert_int_equal(evs.n, 4);
	assert_int_equal(count(&evs, SITHS_EVENT_READER_ADDED, READER0), 1);
	assert_int_equal(count(&evs, SITHS_EVENT_READER_ADDED, READER1), 1);
	assert_int_equal(count(&evs, SITHS_EVENT_CARD_INSERTED, READER0), 1);
	assert_int_equal(count(&evs, SITHS_EVENT_CARD_INSERTED, READER1), 1);
	assert_true(find(&evs, SITHS_EVENT_READER_ADDED, READER0) <
	    find(&evs, SITHS_EVENT_CARD_INSERTED, READER0));
	assert_true(find(&evs, SITHS_EVENT_READER_ADDED, READER1) <
	    find(&evs, SITHS_EVENT_CARD_INSERTED, READER1));
	assert_false(fd_readable(ev, 0));
	siths_card_events_free(&ev);
}

static void
test_timeout(void **state)
{
	siths_card_events *ev = open_events(NULL);
	struct events evs = { .n = 0 };
	double start;

	drain(ev, &evs);
	start = now_s();
	assert_int_equal(take(ev, 400, &evs), SITHS_ERR_CARD_TIMEOUT);
	assert_true(now_s() - start >= 0.39);
	assert_true(now_s() - start < 3.0);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "within 400 ms"));
	start = now_s();
	assert_int_equal(take(ev, 0, &evs), SITHS_ERR_CARD_TIMEOUT);
	assert_true(now_s() - start < 0.2);
	assert_int_equal(evs.n, 4);
	siths_card_events_free(&ev);
}

struct waiter {
	siths_card_events *ev;
	int timeout_ms;
	size_t want;
	struct events evs;
	int status;
	double returned;
};

/* (a) a thread that blocks in next() */
static void *
wait_thread(void *arg)
{
	struct waiter *w = arg;
	char *reader = NULL;
	int type = 0;

	w->status = 0;
	while (w->evs.n < w->want) {
		w->status = siths_card_events_next(w->ev, w->timeout_ms, &type, &reader);
		if (w->status != 0)
			break;
		w->evs.v[w->evs.n].type = type;
		snprintf(w->evs.v[w->evs.n++].reader, sizeof(w->evs.v[0].reader), "%s", reader);
		free(reader);
		reader = NULL;
	}
	w->returned = now_s();
	return NULL;
}

/* A card taken out and put back, seen by a thread blocked in next(). */
static void
test_thread_remove_insert(void **state)
{
	struct waiter w = { .timeout_ms = EVENT_WAIT_MS, .want = 2 };
	struct events evs = { .n = 0 };
	pthread_t t;

	w.ev = open_events("PCD 00 00");
	drain(w.ev, &evs);
	/* the pattern leaves the other reader out from the start */
	assert_int_equal(evs.n, 2);
	assert_event(&evs, 0, SITHS_EVENT_READER_ADDED, READER0);
	assert_event(&evs, 1, SITHS_EVENT_CARD_INSERTED, READER0);
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	sleep_ms(200);
	card_signal(0, SIGUSR1);
	assert_true(wait_present(READER0, 0, EVENT_WAIT_MS));
	sleep_ms(300);
	card_signal(0, SIGUSR2);
	pthread_join(t, NULL);
	assert_int_equal(w.status, 0);
	assert_int_equal(w.evs.n, 2);
	assert_event(&w.evs, 0, SITHS_EVENT_CARD_REMOVED, READER0);
	assert_event(&w.evs, 1, SITHS_EVENT_CARD_INSERTED, READER0);
	siths_card_events_free(&w.ev);
}

/* The other reader's card comes and goes unseen; the own reader's is seen. */
static void
test_pattern_filters(void **state)
{
	siths_card_events *ev = open_events("PCD 00 00");
	struct events evs = { .n = 0 };

	drain(ev, &evs);
	assert_int_equal(evs.n, 2);
	card_signal(1, SIGUSR1);
	assert_true(wait_present(READER1, 0, EVENT_WAIT_MS));
	card_signal(1, SIGUSR2);
	assert_true(wait_present(READER1, 1, EVENT_WAIT_MS));
	assert_int_equal(take(ev, 1000, &evs), SITHS_ERR_CARD_TIMEOUT);
	assert_int_equal(evs.n, 2);
	/* and the handle is alive: its own reader still reports */
	card_signal(0, SIGUSR1);
	take_n(ev, 3, EVENT_WAIT_MS, &evs);
	assert_event(&evs, 2, SITHS_EVENT_CARD_REMOVED, READER0);
	card_signal(0, SIGUSR2);
	take_n(ev, 4, EVENT_WAIT_MS, &evs);
	assert_event(&evs, 3, SITHS_EVENT_CARD_INSERTED, READER0);
	siths_card_events_free(&ev);
}

/* (b) a poll() loop: take what is queued whenever the fd is readable */
static void
poll_until(siths_card_events *ev, size_t n, int ms, struct events *out)
{
	double end = now_s() + ms / 1000.0;
	struct pollfd p = { .fd = siths_card_events_fd(ev), .events = POLLIN };
	int left;

	while (out->n < n && (left = (int)((end - now_s()) * 1000)) > 0) {
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (p.revents & POLLIN)
			drain(ev, out);
	}
	if (out->n < n)
		fail_msg("%zu of %zu events before the poll loop's deadline", out->n, n);
}

/* Two readers, two cards, each with its own events, seen from a poll loop. */
static void
test_poll_two_readers(void **state)
{
	siths_card_events *ev = open_events(NULL);
	struct events evs = { .n = 0 };

	poll_until(ev, 4, 1000, &evs);
	assert_int_equal(evs.n, 4);
	assert_false(fd_readable(ev, 0));
	card_signal(0, SIGUSR1);
	card_signal(1, SIGUSR1);
	poll_until(ev, 6, EVENT_WAIT_MS, &evs);
	assert_int_equal(count(&evs, SITHS_EVENT_CARD_REMOVED, READER0), 1);
	assert_int_equal(count(&evs, SITHS_EVENT_CARD_REMOVED, READER1), 1);
	assert_false(fd_readable(ev, 0));
	card_signal(1, SIGUSR2);
	poll_until(ev, 7, EVENT_WAIT_MS, &evs);
	assert_event(&evs, 6, SITHS_EVENT_CARD_INSERTED, READER1);
	card_signal(0, SIGUSR2);
	poll_until(ev, 8, EVENT_WAIT_MS, &evs);
	assert_event(&evs, 7, SITHS_EVENT_CARD_INSERTED, READER0);
	/* nothing more: no echo of the other reader's movements */
	assert_int_equal(take(ev, 600, &evs), SITHS_ERR_CARD_TIMEOUT);
	assert_int_equal(evs.n, 8);
	siths_card_events_free(&ev);
}

/* The type of the last event for reader in evs; 0 when there is none. */
static int
last_of(const struct events *evs, const char *reader)
{
	size_t i = evs->n;

	while (i-- > 0) {
		if (strcmp(evs->v[i].reader, reader) == 0)
			return evs->v[i].type;
	}
	return 0;
}

/* Take events until the last one of each reader named is want; ms in all. */
static void
until_last(siths_card_events *ev, int want, int ms, struct events *out, const char *r0,
    const char *r1)
{
	double end = now_s() + ms / 1000.0;

	while (last_of(out, r0) != want || (r1 != NULL && last_of(out, r1) != want)) {
		if (now_s() >= end)
			fail_msg("the last events of %s%s%s are not %s", r0, r1 ? " and " : "",
			    r1 ? r1 : "", siths_card_event_name(want));
		take(ev, (int)((end - now_s()) * 1000) + 1, out);
	}
}

/* pcscd killed and started again: the readers and cards come back. */
static void
test_pcscd_restart(void **state)
{
	siths_card_events *ev = open_events(NULL), *spare = open_events(NULL), *none = NULL;
	struct events evs = { .n = 0 }, after = { .n = 0 };
	double start;

	drain(ev, &evs);
	assert_int_equal(evs.n, 4);
	pcscd("--stop");
	until_last(ev, SITHS_EVENT_READER_REMOVED, EVENT_WAIT_MS, &evs, READER0, READER1);
	/* the card went before its reader */
	assert_true(find(&evs, SITHS_EVENT_CARD_REMOVED, READER0) <
	    find(&evs, SITHS_EVENT_READER_REMOVED, READER0));
	assert_true(find(&evs, SITHS_EVENT_CARD_REMOVED, READER1) <
	    find(&evs, SITHS_EVENT_READER_REMOVED, READER1));
	assert_non_null(strstr(log_text, "pcscd went away"));
	/* meanwhile: no pcscd is a clear status, and free() does not hang */
	assert_int_equal(siths_card_events_open(ctx, NULL, &none), SITHS_ERR_CARD_IO);
	assert_null(none);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "pcscd cannot be reached"));
	start = now_s();
	siths_card_events_free(&spare);
	assert_true(now_s() - start < 1.0);

	pcscd("");
	until_last(ev, SITHS_EVENT_CARD_INSERTED, 30000, &after, READER0, READER1);
	assert_true(find(&after, SITHS_EVENT_READER_ADDED, READER0) <
	    find(&after, SITHS_EVENT_CARD_INSERTED, READER0));
	assert_true(find(&after, SITHS_EVENT_READER_ADDED, READER1) <
	    find(&after, SITHS_EVENT_CARD_INSERTED, READER1));
	assert_non_null(strstr(log_text, "pcscd is back"));
	/* and it goes on as before */
	card_signal(0, SIGUSR1);
	until_last(ev, SITHS_EVENT_CARD_REMOVED, EVENT_WAIT_MS, &after, READER0, NULL);
	card_signal(0, SIGUSR2);
	until_last(ev, SITHS_EVENT_CARD_INSERTED, EVENT_WAIT_MS, &after, READER0, NULL);
	assert_int_equal(last_of(&after, READER1), SITHS_EVENT_CARD_INSERTED);
	siths_card_events_free(&ev);
}

/* free() while another thread waits without a time limit. */
static void
test_free_while_waiting(void **state)
{
	struct waiter w = { .timeout_ms = -1, .want = 1 };
	struct events evs = { .n = 0 };
	double start;
	pthread_t t;

	w.ev = open_events(NULL);
	drain(w.ev, &evs);
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	sleep_ms(300);          /* the thread is in next() by now */
	start = now_s();
	siths_card_events_free(&w.ev);
	assert_null(w.ev);
	assert_true(now_s() - start < 2.0);
	pthread_join(t, NULL);
	assert_int_equal(w.status, SITHS_ERR_CARD_CANCELLED);
	assert_int_equal(w.evs.n, 0);
	assert_true(w.returned - start < 2.0);
}

static pid_t
pcscd_pid(void)
{
	const char *state = getenv("SITHS_TEST_STATE");
	char path[1024];
	FILE *f;
	int pid = 0;

	if (state == NULL)
		fail_msg("SITHS_TEST_STATE is not set");
	snprintf(path, sizeof(path), "%s/pcscd.pid", state);
	if ((f = fopen(path, "r")) == NULL || fscanf(f, "%d", &pid) != 1 || pid <= 1)
		fail_msg("no pid in %s", path);
	fclose(f);
	return (pid_t)pid;
}

/* A pcscd that does not answer (stopped): free() still returns, at its deadline. */
static void
test_free_hung_pcscd(void **state)
{
	siths_card_events *ev = open_events(NULL);
	struct events evs = { .n = 0 };
	pid_t pid = pcscd_pid();
	double took;

	drain(ev, &evs);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	sleep_ms(100);
	took = now_s();
	siths_card_events_free(&ev);
	took = now_s() - took;
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_null(ev);
	fprintf(stderr, "# free() took %.2f s\n", took);
	/* about 3 s (the deadline), and far below "hangs": the bound above is
	 * loose, as these shared machines can be slow by seconds under load */
	assert_true(took >= 2.5);
	assert_true(took < 20.0);
	assert_non_null(strstr(log_text, "did not stop within 3000 ms"));
	/* pcscd answers again, and the watcher left behind ends on its own */
	assert_true(wait_present(READER0, 1, EVENT_WAIT_MS));
	sleep_ms(500);
}

/* A reader that nobody reads loses its oldest events, and says so. */
static void
test_queue_overflow(void **state)
{
	siths_card_events *ev = open_events(NULL);
	struct events evs = { .n = 0 };

	drain(ev, &evs);
	siths_pcsc_events_set_queue_max(ev, 2);
	card_signal(0, SIGUSR1);
	assert_true(wait_present(READER0, 0, EVENT_WAIT_MS));
	card_signal(1, SIGUSR1);
	assert_true(wait_present(READER1, 0, EVENT_WAIT_MS));
	card_signal(0, SIGUSR2);
	assert_true(wait_present(READER0, 1, EVENT_WAIT_MS));
	sleep_ms(500);  /* the watcher has queued it */
	evs.n = 0;
	drain(ev, &evs);
	/* the first of three (card 0 out) went */
	assert_int_equal(evs.n, 2);
	assert_event(&evs, 0, SITHS_EVENT_CARD_REMOVED, READER1);
	assert_event(&evs, 1, SITHS_EVENT_CARD_INSERTED, READER0);
	assert_non_null(strstr(log_text, "dropped the oldest (card_removed, " READER0 ")"));
	card_signal(1, SIGUSR2);
	take_n(ev, 3, EVENT_WAIT_MS, &evs);
	assert_event(&evs, 2, SITHS_EVENT_CARD_INSERTED, READER1);
	siths_card_events_free(&ev);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_present_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_remove_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pattern_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_two_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_hung_pcscd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcscd_restart, setup, teardown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
