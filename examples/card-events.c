/*
 * card-events.c - follow cards put in and taken out, and readers plugged in
 * and out, from a poll() loop that also watches standard input: the shape
 * of an event loop that has other work besides the cards. One line per
 * event on standard output, until end of input (Ctrl-D on a terminal).
 *
 *   card-events [READER-PATTERN]
 *
 * READER-PATTERN, empty or absent: [card] reader of siths.conf, else every
 * reader. The configuration is $SITHS_CONF, else libsiths' built-in
 * default. Needs pcscd.
 *
 * Build against an installed libsiths:
 *   cc -o card-events card-events.c $(pkg-config --cflags --libs libsiths)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <siths.h>

static int
fail(const siths_ctx *ctx, const char *step, int status)
{
	const char *detail = ctx != NULL ? siths_ctx_errmsg(ctx) : "";

	fprintf(stderr, "card-events: %s: %s%s%s [%s]\n", step, siths_strerror(status),
	    *detail != '\0' ? ": " : "", detail, siths_status_name(status));
	return 1;
}

/*
 * Take every queued event. The fd stays readable while events are queued
 * and is reset by the library when the last one is taken: never read() it
 * yourself. A timeout of 0 returns SITHS_ERR_CARD_TIMEOUT once the queue
 * is empty.
 */
static int
take_events(siths_ctx *ctx, siths_card_events *ev)
{
	char *reader = NULL;
	int type, r;

	while ((r = siths_card_events_next(ev, 0, &type, &reader)) == 0) {
		printf("%s %s\n", siths_card_event_name(type), reader);
		free(reader);   /* each event's reader name is ours to free */
	}
	fflush(stdout);
	return r == SITHS_ERR_CARD_TIMEOUT ? 0 : fail(ctx, "card events", r);
}

/* Read and drop what stdin has; 1 at end of input, -1 on error. */
static int
drain_stdin(void)
{
	char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	return n == 0;
}

int
main(int argc, char **argv)
{
	siths_ctx *ctx = NULL;
	siths_card_events *ev = NULL;
	struct pollfd fds[2];
	int r, code = 1, done = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: card-events [READER-PATTERN]\n");
		return 2;
	}
	/* siths_ctx_new() is create + load in one call; on failure the context
	 * is gone, and with it the detail of a configuration error (use
	 * siths_ctx_create() and siths_ctx_load() to keep it) */
	if ((r = siths_ctx_new(&ctx, getenv("SITHS_CONF"))) != 0)
		return fail(NULL, "configuration", r);

	/* what is there already (readers, then cards in them) is queued now */
	if ((r = siths_card_events_open(ctx, argc > 1 ? argv[1] : NULL, &ev)) != 0) {
		fail(ctx, "card events", r);
		goto out;
	}

	fds[0].fd = siths_card_events_fd(ev);   /* owned by the handle: no close() */
	fds[0].events = POLLIN;
	fds[1].fd = STDIN_FILENO;
	fds[1].events = POLLIN;
	while (!done) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("card-events: poll");
			goto out;
		}
		if ((fds[0].revents & POLLIN) && take_events(ctx, ev) != 0)
			goto out;
		/* POLLHUP: the other end of a pipe has gone */
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			if ((r = drain_stdin()) < 0) {
				perror("card-events: stdin");
				goto out;
			}
			done = r;
		}
	}
	/* success */
	code = 0;
out:
	siths_card_events_free(&ev);    /* stops the watcher thread; before the context */
	siths_ctx_free(&ctx);
	return code;
}
