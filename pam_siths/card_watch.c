/*
 * card_watch.c - siths-card-watch, the small watcher pam_siths's session
 * starts when [pam] on_card_removal is lock or logout:
 *
 *   siths-card-watch lock|logout SESSION-ID READER
 *
 * It runs as the session's user (pam_siths drops to the user before it
 * starts this program), follows READER with the library's card events, and
 * when the card leaves it (or the reader goes, or pcscd stops: the card can
 * no longer be seen, so it counts as gone) runs `loginctl lock-session ID`
 * or `loginctl terminate-session ID`. lock goes on watching, for the next
 * time the card is taken out; logout ends after its one call.
 *
 * Once it follows the reader it writes one byte to fd 3 and closes it, so
 * that the session opens only with a watcher in place. A card already gone
 * by then is acted on at once. It ends on SIGTERM (the session's close) and
 * when its parent, the login process, ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "siths.h"

#define READY_FD 3
/* loginctl asks logind over D-Bus: it gets this long before it is killed */
#define LOGINCTL_TIMEOUT_S 10

/* A session id as logind writes them ("3", "c12"); nothing a shell or loginctl could misread. */
static int
session_id_ok(const char *id)
{
	size_t i;

	if (id[0] == '\0' || id[0] == '-' || strlen(id) > 64)
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
			return 0;
	}
	return 1;
}

/* Run loginctl VERB ID; its result is logged. */
static void
run_loginctl(const char *verb, const char *session)
{
	struct timespec pause = { 0, 100 * 1000000L };
	int status = 0, waited;
	pid_t pid = fork();

	if (pid < 0) {
		syslog(LOG_ERR, "cannot start loginctl %s %s: %s", verb, session, strerror(errno));
		return;
	}
	if (pid == 0) {
		execlp("loginctl", "loginctl", verb, session, (char *)NULL);
		_exit(127);
	}
	for (waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited++) {
		if (waited >= LOGINCTL_TIMEOUT_S * 10) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			syslog(LOG_ERR, "loginctl %s %s did not finish within %d s", verb, session,
			    LOGINCTL_TIMEOUT_S);
			return;
		}
		nanosleep(&pause, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		syslog(LOG_NOTICE, "the card left its reader: session %s %s", session,
		    strcmp(verb, "lock-session") == 0 ? "locked" : "ended");
	else
		syslog(LOG_ERR, "loginctl %s %s failed (status %d)", verb, session,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Queued events, without waiting: whether the card is in reader afterwards. */
static int
drain(siths_card_events *ev, const char *reader, int present)
{
	char *name = NULL;
	int type;

	while (siths_card_events_next(ev, 0, &type, &name) == 0) {
		if (strcmp(name, reader) == 0) {
			if (type == SITHS_EVENT_CARD_INSERTED)
				present = 1;
			else if (type == SITHS_EVENT_CARD_REMOVED || type == SITHS_EVENT_READER_REMOVED)
				present = 0;
		}
		free(name);
		name = NULL;
	}
	return present;
}

static void
tell_ready(void)
{
	char ready = 'R';

	if (write(READY_FD, &ready, 1) != 1)
		syslog(LOG_WARNING, "cannot tell pam_siths that the watcher is ready");
	close(READY_FD);
}

int
main(int argc, char **argv)
{
	const char *verb, *session, *reader;
	siths_card_events *ev = NULL;
	siths_ctx *ctx = NULL;
	char *name = NULL;
	int type, present, r;

	openlog("siths-card-watch", LOG_PID, LOG_AUTHPRIV);
	if (argc != 4 || (strcmp(argv[1], "lock") != 0 && strcmp(argv[1], "logout") != 0) ||
	    !session_id_ok(argv[2]) || argv[3][0] == '\0') {
		fprintf(stderr, "usage: siths-card-watch lock|logout SESSION-ID READER\n");
		return 2;
	}
	verb = strcmp(argv[1], "lock") == 0 ? "lock-session" : "terminate-session";
	session = argv[2];
	reader = argv[3];
	/* the login process ending ends the watch (pam_siths set this up too,
	 * but a credential change clears it) */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (siths_ctx_create(&ctx) != 0)
		return 1;
	if ((r = siths_card_events_open(ctx, reader, &ev)) != 0) {
		syslog(LOG_ERR, "cannot follow reader '%s': %s", reader, siths_ctx_errmsg(ctx));
		siths_ctx_free(&ctx);
		return 1;
	}
	present = drain(ev, reader, 0);
	syslog(LOG_INFO, "session %s: %s when the card leaves '%s'", session,
	    strcmp(argv[1], "lock") == 0 ? "locks" : "ends", reader);
	tell_ready();
	if (!present) {
		syslog(LOG_NOTICE, "the card is not in '%s' at the session's start", reader);
		run_loginctl(verb, session);
		if (strcmp(argv[1], "logout") == 0)
			goto out;
	}
	while ((r = siths_card_events_next(ev, -1, &type, &name)) == 0) {
		if (strcmp(name, reader) == 0) {
			if (type == SITHS_EVENT_CARD_INSERTED) {
				present = 1;
			} else if (present && (type == SITHS_EVENT_CARD_REMOVED ||
			    type == SITHS_EVENT_READER_REMOVED)) {
				present = 0;
				run_loginctl(verb, session);
				if (strcmp(argv[1], "logout") == 0)
					break;
			}
		}
		free(name);
		name = NULL;
	}
out:
	free(name);
	siths_card_events_free(&ev);
	siths_ctx_free(&ctx);
	return 0;
}
