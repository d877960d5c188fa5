/*
 * main.c - sithsd, the host's resident validator: one siths_ctx for its
 * life (trust store, caches in memory and on disk, the directory pool and
 * credentials), answering libsiths clients on a Unix socket and, with
 * [authd] listen, a reverse proxy's forward authentication over HTTP
 * (httpfront.c). It never touches a card and never sees a PIN.
 *
 *   sithsd [--config FILE] [--socket PATH] [--foreground]
 *
 * The socket comes from systemd (socket activation) or is made here. The
 * main thread takes connections and signals; each connection has a thread
 * (server.c). SIGHUP loads the configuration and trust again into a new
 * context, which answers the requests that start from then on; requests in
 * flight finish on the old one, freed when the last lets go. SIGTERM and
 * SIGINT stop taking connections and wait [service] timeout_ms for those
 * being served. Readiness and reloads are told to systemd (sd_notify).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "ctx.h"
#include "hsa.h"
#include "httpfront.h"
#include "server.h"
#include "siths.h"
#include "sithsd.h"
#include "timeutil.h"

#ifndef SITHS_DEFAULT_CONFIG
#define SITHS_DEFAULT_CONFIG "/etc/siths/siths.conf"
#endif
/* How often the disk store is kept within its bounds. */
#define SITHSD_HOUSEKEEPING_MS (60 * 1000)
/* Connections waiting to be taken. */
#define SITHSD_BACKLOG 128

static void
usage(FILE *f)
{
	fprintf(f, "usage: sithsd [--config FILE] [--socket PATH] [--foreground]\n");
}

/* Log lines: syslog, and stderr too in the foreground (journald takes either). */
static void
log_line(void *userdata, int level, const char *message)
{
	const struct sithsd *d = userdata;

	syslog(LOG_AUTHPRIV | level, "%s", message);
	if (d->foreground)
		fprintf(stderr, "sithsd: %s\n", message);
}

static void
say(struct sithsd *d, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(d, level, msg);
}

/* A new context from the configuration, validating in this process. */
static int
load_ctx(struct sithsd *d, struct sithsd_ctx **out)
{
	struct sithsd_ctx *h = NULL;
	siths_ctx *ctx = NULL;
	int r;

	*out = NULL;
	if ((r = siths_ctx_create(&ctx)) != 0)
		return r;
	ctx->service_side = 1;
	siths_ctx_set_log(ctx, log_line, d);
	siths_ctx_set_log_level(ctx, SITHS_LOG_INFO);
	if ((r = siths_ctx_load(ctx, d->config_path)) != 0) {
		say(d, LOG_ERR, "%s: %s", d->config_path, siths_ctx_errmsg(ctx));
		siths_ctx_free(&ctx);
		return r;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		siths_ctx_free(&ctx);
		return SITHS_ERR_NOMEM;
	}
	h->ctx = ctx;
	h->refs = 1;    /* the daemon's own */
	*out = h;
	return 0;
}

struct sithsd_ctx *
sithsd_ctx_hold(struct sithsd *d)
{
	struct sithsd_ctx *h;

	pthread_mutex_lock(&d->lock);
	h = d->current;
	h->refs++;
	pthread_mutex_unlock(&d->lock);
	return h;
}

void
sithsd_ctx_release(struct sithsd *d, struct sithsd_ctx *h)
{
	int last;

	pthread_mutex_lock(&d->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last) {
		siths_ctx_free(&h->ctx);
		free(h);
	}
}

static void
reload(struct sithsd *d)
{
	struct sithsd_ctx *fresh = NULL, *old;

	sd_notify(0, "RELOADING=1");
	say(d, LOG_NOTICE, "SIGHUP: loading %s again", d->config_path);
	if (load_ctx(d, &fresh) != 0) {
		say(d, LOG_ERR, "the new configuration is not used; the old one goes on");
		sd_notify(0, "READY=1");
		return;
	}
	pthread_mutex_lock(&d->lock);
	old = d->current;
	d->current = fresh;
	pthread_mutex_unlock(&d->lock);
	sithsd_ctx_release(d, old);     /* freed once its requests are done */
	say(d, LOG_NOTICE, "configuration and trust loaded again");
	sd_notify(0, "READY=1");
}

/* A socket of ours at path: a stale socket there is replaced, anything else kept. */
static int
make_socket(struct sithsd *d)
{
	struct sockaddr_un sa;
	struct stat st;
	const char *path = d->socket_path;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		say(d, LOG_ERR, "%s: longer than a Unix socket path may be", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			say(d, LOG_ERR, "%s: exists and is not a socket; not replaced", path);
			return -1;
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    /* anyone may connect: what each caller may ask is judged per request */
	    chmod(path, 0666) != 0 || listen(fd, SITHSD_BACKLOG) != 0) {
		say(d, LOG_ERR, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	d->listen_fd = fd;
	return 0;
}

/* The socket systemd passed, if it did: 1 taken, 0 none, -1 not usable. */
static int
take_activated_socket(struct sithsd *d)
{
	int n = sd_listen_fds(1), fl;

	if (n <= 0)
		return 0;
	if (n != 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
		say(d, LOG_ERR, "systemd passed %d sockets; sithsd takes one Unix stream socket",
		    n);
		return -1;
	}
	d->listen_fd = SD_LISTEN_FDS_START;
	fl = fcntl(d->listen_fd, F_GETFL);
	(void)fcntl(d->listen_fd, F_SETFL, fl | O_NONBLOCK);
	d->activated = 1;
	return 1;
}

static int
parse_args(struct sithsd *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	d->config_path = SITHS_DEFAULT_CONFIG;
	while ((o = getopt_long(argc, argv, "c:s:fhV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			d->config_path = optarg;
			break;
		case 's':
			free(d->socket_path);
			d->socket_path = strdup(optarg);
			break;
		case 'f':
			d->foreground = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("sithsd %s\n", siths_version());
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Settings read once, from the first configuration. */
static int
take_settings(struct sithsd *d)
{
	const struct siths_config *cfg = d->current->ctx->cfg;
	int i;

	d->max_clients = cfg->service_max_clients;
	d->max_per_uid = cfg->service_max_per_uid;
	d->timeout_ms = cfg->service_timeout_ms;
	if (d->socket_path == NULL && (d->socket_path = strdup(cfg->service_socket)) == NULL)
		return -1;
	d->uids = calloc((size_t)d->max_clients, sizeof(*d->uids));
	d->conn_fds = malloc((size_t)d->max_clients * sizeof(*d->conn_fds));
	if (d->uids == NULL || d->conn_fds == NULL)
		return -1;
	for (i = 0; i < d->max_clients; i++)
		d->conn_fds[i] = -1;
	return 0;
}

/* Keep the disk store within its bounds, every SITHSD_HOUSEKEEPING_MS however busy. */
static void
housekeeping(struct sithsd *d, struct timespec *next)
{
	struct sithsd_ctx *held;

	if (siths_deadline_left_ms(next) > 0)
		return;
	held = sithsd_ctx_hold(d);
	siths_hsa_disk_prune(held->ctx);
	sithsd_ctx_release(d, held);
	siths_deadline_in(next, SITHSD_HOUSEKEEPING_MS);
}

/* Connections and signals until SIGTERM or SIGINT; 0, or 1 on a failure. */
static int
run(struct sithsd *d, int sfd)
{
	struct pollfd p[2] = { { d->listen_fd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
	struct signalfd_siginfo si;
	struct timespec next;
	int n;

	siths_deadline_in(&next, SITHSD_HOUSEKEEPING_MS);
	for (;;) {
		n = poll(p, 2, siths_deadline_left_ms(&next) + 1);
		if (n < 0 && errno != EINTR)
			return 1;
		housekeeping(d, &next);
		if (n <= 0)
			continue;
		if ((p[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload(d);
				continue;
			}
			say(d, LOG_NOTICE, "signal %u: stopping", si.ssi_signo);
			return 0;
		}
		if ((p[0].revents & POLLIN) && sithsd_accept(d) != 0) {
			say(d, LOG_ERR, "accept: %s", strerror(errno));
			usleep(100 * 1000);     /* out of descriptors: do not spin */
		}
	}
}

/*
 * The daemon's state outlives main()'s frame: a connection thread still
 * finishing its answer when the process exits must not find it gone.
 */
static struct sithsd d;

int
main(int argc, char **argv)
{
	struct sithsd_front *front = NULL;
	sigset_t sigs;
	int sfd = -1, rc = 1, got;

	memset(&d, 0, sizeof(d));
	d.listen_fd = -1;
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.idle, NULL);
	openlog("sithsd", LOG_PID, LOG_AUTHPRIV);
	if (parse_args(&d, argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* before any thread exists (libsiths starts some), so that all inherit it */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) == -1 || load_ctx(&d, &d.current) != 0 ||
	    take_settings(&d) != 0)
		goto out;
	if ((got = take_activated_socket(&d)) < 0 || (got == 0 && make_socket(&d) != 0))
		goto out;
	if (sithsd_front_start(&d, &front) != 0)
		goto out;
	say(&d, LOG_NOTICE, "sithsd %s listening on %s (config %s)%s", siths_version(),
	    d.socket_path, d.config_path, d.activated ? ", socket from systemd" : "");
	sd_notify(0, "READY=1");
	rc = run(&d, sfd);
	sd_notify(0, "STOPPING=1");
	sithsd_front_stop(&front);
	close(d.listen_fd);
	if (!d.activated)
		(void)unlink(d.socket_path);
	d.listen_fd = -1;
	sithsd_drain(&d, d.timeout_ms);
out:
	if (d.listen_fd != -1)
		close(d.listen_fd);
	if (sfd != -1)
		close(sfd);
	pthread_mutex_lock(&d.lock);
	got = d.n_clients;
	pthread_mutex_unlock(&d.lock);
	if (got > 0) {
		/* a connection still busy past the drain: leave without freeing what it uses */
		say(&d, LOG_WARNING, "%d connections still busy; exiting without waiting", got);
		_exit(rc);
	}
	if (d.current != NULL)
		sithsd_ctx_release(&d, d.current);
	free(d.uids);
	free(d.conn_fds);
	free(d.socket_path);
	return rc;
}
