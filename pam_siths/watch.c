/*
 * watch.c - starting and stopping siths-card-watch for a session.
 *
 * The watcher is a child of the login process, so that close_session can
 * stop and reap it; a pidfd names it, so that a signal never reaches
 * another process that took its pid. Between fork and exec the child does
 * only what is safe in a child of a threaded process: its groups, gid and
 * uid become the user's (the watcher needs no privilege: pcscd and
 * loginctl lock-session serve the session's own user), it asks to end with
 * its parent, and it gets a small environment of its own. It tells that it
 * follows the reader by writing one byte to fd 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* close_range, pipe2, secure_getenv */
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modutil.h>

#include "siths.h"
#include "watch.h"

#define WATCH_DATA "pam_siths_watch"
#define READY_FD 3
#define READY_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 3000
#define MAX_GROUPS 256

#ifndef SITHS_CARD_WATCH_PATH
#define SITHS_CARD_WATCH_PATH "/usr/libexec/libsiths/siths-card-watch"
#endif

struct watch {
	pid_t pid;
	int pidfd;              /* -1 when pidfd_open failed: the pid is used */
};

/* Everything the child needs, made before fork. */
struct child_plan {
	const char *path;
	char name[24], action[8], session[72], reader[160];
	char *argv[5];
	char *envp[3];
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	pid_t parent;
	int ready_w;
};

/* The child: only async-signal-safe calls from here to exec. */
static void __attribute__((noreturn))
become_watcher(const struct child_plan *p)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(126);
	if (p->ready_w == READY_FD) {
		if (fcntl(READY_FD, F_SETFD, 0) < 0)
			_exit(126);
	} else if (dup2(p->ready_w, READY_FD) < 0) {
		_exit(126);
	}
	(void)close_range(READY_FD + 1, ~0U, 0);
	/* out of the login's process group: no signal from its terminal */
	(void)setsid();
	if (setgroups((size_t)p->ngroups, p->groups) != 0 || setgid(p->gid) != 0 ||
	    setuid(p->uid) != 0 || getuid() != p->uid || geteuid() != p->uid)
		_exit(126);
	/* after the uid change, which clears it */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != p->parent)
		_exit(126);
	execve(p->path, p->argv, p->envp);
	_exit(127);
}

/* The environment variable NAME=value from this process, copied; NULL when unset. */
static char *
env_copy(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	char *out = NULL;

	if (v == NULL)
		v = fallback;
	if (v == NULL || asprintf(&out, "%s=%s", name, v) < 0)
		return NULL;
	return out;
}

static int
plan_child(pam_handle_t *pamh, struct child_plan *p, int action, const char *session,
    const char *reader, const char *user)
{
	const char *watch = secure_getenv("SITHS_CARD_WATCH");
	struct passwd *pw = pam_modutil_getpwnam(pamh, user);
	int n = 0;

	memset(p, 0, sizeof(*p));
	if (pw == NULL) {
		pam_syslog(pamh, LOG_ERR, "card watch: no user '%s'", user);
		return -1;
	}
	p->path = watch != NULL && watch[0] == '/' ? watch : SITHS_CARD_WATCH_PATH;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	p->ngroups = MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, p->groups, &p->ngroups) < 0) {
		pam_syslog(pamh, LOG_ERR, "card watch: '%s' is in more than %d groups", user,
		    MAX_GROUPS);
		return -1;
	}
	p->parent = getpid();
	snprintf(p->name, sizeof(p->name), "siths-card-watch");
	snprintf(p->action, sizeof(p->action), "%s", action == SITHS_REMOVAL_LOCK ? "lock" :
	    "logout");
	if ((size_t)snprintf(p->session, sizeof(p->session), "%s", session) >= sizeof(p->session) ||
	    (size_t)snprintf(p->reader, sizeof(p->reader), "%s", reader) >= sizeof(p->reader)) {
		pam_syslog(pamh, LOG_ERR, "card watch: the session id or reader name is too long");
		return -1;
	}
	p->argv[0] = p->name;
	p->argv[1] = p->action;
	p->argv[2] = p->session;
	p->argv[3] = p->reader;
	/* loginctl from the login program's PATH; pcscd's socket where it was set */
	if ((p->envp[n] = env_copy("PATH", "/usr/bin:/bin")) != NULL)
		n++;
	if ((p->envp[n] = env_copy("PCSCLITE_CSOCK_NAME", NULL)) != NULL)
		n++;
	return 0;
}

static void
plan_free(struct child_plan *p)
{
	free(p->envp[0]);
	free(p->envp[1]);
}

/* Wait up to READY_TIMEOUT_MS for the watcher's one byte. */
static int
wait_ready(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char byte = 0;
	int r;

	do {
		r = poll(&pfd, 1, READY_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	return r == 1 && read(fd, &byte, 1) == 1 && byte == 'R' ? 0 : -1;
}

/* Signal the watcher and reap it, with SIGKILL when it does not end in time. */
static void
end_watcher(struct watch *w)
{
	struct timespec pause = { 0, 20 * 1000000L };
	int waited, status;

	if (w->pidfd >= 0)
		(void)pidfd_send_signal(w->pidfd, SIGTERM, NULL, 0);
	else
		(void)kill(w->pid, SIGTERM);
	for (waited = 0; waited < STOP_TIMEOUT_MS; waited += 20) {
		pid_t r = waitpid(w->pid, &status, WNOHANG);

		/* ECHILD: the application reaped it already */
		if (r == w->pid || (r < 0 && errno != EINTR))
			return;
		nanosleep(&pause, NULL);
	}
	if (w->pidfd >= 0)
		(void)pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0);
	else
		(void)kill(w->pid, SIGKILL);
	(void)waitpid(w->pid, &status, 0);
}

/*
 * pam_end without close_session ends the watcher too, except in a process
 * that only forked from the login (PAM_DATA_SILENT) or when the data is
 * replaced because close_session stopped it already.
 */
static void
watch_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct watch *w = data;

	if (w == NULL)
		return;
	if ((error_status & (PAM_DATA_SILENT | PAM_DATA_REPLACE)) == 0 && w->pid > 0)
		end_watcher(w);
	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w);
}

int
pam_siths_watch_start(pam_handle_t *pamh, int action, const char *reader, const char *user)
{
	const char *session = pam_getenv(pamh, "XDG_SESSION_ID");
	struct child_plan plan;
	struct watch *w = NULL;
	int ready[2] = { -1, -1 };
	pid_t pid;

	if (session == NULL)
		session = getenv("XDG_SESSION_ID");
	if (session == NULL || *session == '\0') {
		pam_syslog(pamh, LOG_ERR, "card watch: no XDG_SESSION_ID (pam_systemd before "
		    "pam_siths in the session stack sets it): the session is refused");
		return PAM_SESSION_ERR;
	}
	if (plan_child(pamh, &plan, action, session, reader, user) != 0)
		return PAM_SESSION_ERR;
	if ((w = calloc(1, sizeof(*w))) == NULL || pipe2(ready, O_CLOEXEC) != 0) {
		free(w);
		plan_free(&plan);
		return PAM_BUF_ERR;
	}
	plan.ready_w = ready[1];
	if ((pid = fork()) == 0)
		become_watcher(&plan);
	close(ready[1]);
	plan_free(&plan);
	if (pid < 0) {
		pam_syslog(pamh, LOG_ERR, "card watch: fork: %s", strerror(errno));
		close(ready[0]);
		free(w);
		return PAM_SESSION_ERR;
	}
	w->pid = pid;
	w->pidfd = pidfd_open(pid, 0);
	if (wait_ready(ready[0]) != 0) {
		close(ready[0]);
		end_watcher(w);
		pam_syslog(pamh, LOG_ERR, "card watch: %s did not start following '%s' (see "
		    "siths-card-watch in the log): the session is refused", plan.path, reader);
		watch_cleanup(pamh, w, PAM_DATA_REPLACE);
		return PAM_SESSION_ERR;
	}
	close(ready[0]);
	if (pam_set_data(pamh, WATCH_DATA, w, watch_cleanup) != PAM_SUCCESS) {
		watch_cleanup(pamh, w, 0);
		return PAM_BUF_ERR;
	}
	pam_syslog(pamh, LOG_INFO, "card watch started (pid %d): session %s %s when the card "
	    "leaves '%s'", (int)pid, session, action == SITHS_REMOVAL_LOCK ? "locks" : "ends",
	    reader);
	return PAM_SUCCESS;
}

void
pam_siths_watch_stop(pam_handle_t *pamh)
{
	const void *data = NULL;
	struct watch w;

	if (pam_get_data(pamh, WATCH_DATA, &data) != PAM_SUCCESS || data == NULL)
		return;
	w = *(const struct watch *)data;
	end_watcher(&w);
	pam_syslog(pamh, LOG_INFO, "card watch stopped (pid %d)", (int)w.pid);
	/* then the cleanup (PAM_DATA_REPLACE) closes the pidfd and frees */
	(void)pam_set_data(pamh, WATCH_DATA, NULL, NULL);
}
