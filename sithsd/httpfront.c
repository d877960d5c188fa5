/*
 * httpfront.c - sithsd's HTTP front (see httpfront.h): the listening
 * socket, libmicrohttpd's thread pool, routing, /status and /metrics.
 *
 * It listens only on loopback or a Unix socket ([authd] listen refuses
 * anything else): the proxy in front of it has made the TLS handshake, and
 * a client that reaches the front directly gains nothing a certificate
 * would not give it, since the certificate is validated here again. Caps:
 * the request's header block within FRONT_MEMORY (libmicrohttpd answers
 * 431 or closes past it), no request body, a connection idle for
 * FRONT_IDLE_S closed, [authd] max_connections at once. Each request holds
 * the context that answers (sithsd_ctx_hold), so SIGHUP's reload of trust
 * applies to the next request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "authcheck.h"
#include "config.h"
#include "ctx.h"
#include "httpfront.h"
#include "log.h"
#include "timeutil.h"

/* Memory for one connection's request: its header block must fit. */
#define FRONT_MEMORY (64 * 1024)
#define FRONT_IDLE_S 15
/* Statuses counted for /metrics: SITHS_OK down to -FRONT_STATUSES + 1. */
#define FRONT_STATUSES 128
/* Latency buckets (seconds) of the auth answers. */
static const double front_buckets[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5 };
#define FRONT_NBUCKETS (sizeof(front_buckets) / sizeof(front_buckets[0]))
static const int front_codes[] = { 200, 400, 401, 403, 503 };
#define FRONT_NCODES (sizeof(front_codes) / sizeof(front_codes[0]))

struct sithsd_front {
	struct sithsd *d;
	struct MHD_Daemon *mhd;
	int fd;
	char *unix_path;
	/* counters for /metrics; atomic */
	unsigned long answers[FRONT_NCODES][FRONT_STATUSES];
	unsigned long buckets[FRONT_NBUCKETS + 1];
	unsigned long latency_us, requests;
};

/* Per request: whether a body was sent (refused), and the header count. */
struct front_request {
	int body;
};

static int
code_index(int http)
{
	size_t i;

	for (i = 0; i < FRONT_NCODES; i++) {
		if (front_codes[i] == http)
			return (int)i;
	}
	return -1;
}

static void
count(struct sithsd_front *f, const struct sithsd_verdict *v, long us)
{
	int c = code_index(v->http), s = -v->status;
	size_t b;

	if (c >= 0 && s >= 0 && s < FRONT_STATUSES)
		__atomic_add_fetch(&f->answers[c][s], 1, __ATOMIC_RELAXED);
	for (b = 0; b < FRONT_NBUCKETS && us > front_buckets[b] * 1e6; b++)
		;
	__atomic_add_fetch(&f->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->latency_us, (unsigned long)us, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->requests, 1, __ATOMIC_RELAXED);
}

static void
add_header(void *cls, const char *name, const char *value)
{
	(void)MHD_add_response_header(cls, name, value);
}

static enum MHD_Result
respond(struct MHD_Connection *c, int http, const char *type, const char *body,
    const struct sithsd_verdict *v)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (v != NULL)
		sithsd_verdict_headers(v, add_header, r);
	ret = MHD_queue_response(c, (unsigned int)http, r);
	MHD_destroy_response(r);
	return ret;
}

/* How many times the certificate header came (headers are case-insensitive). */
struct header_count {
	const char *name;
	int n;
};

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_count *hc = cls;

	if (key != NULL && strcasecmp(key, hc->name) == 0)
		hc->n++;
	return MHD_YES;
}

static enum MHD_Result
answer_auth(struct sithsd_front *f, struct MHD_Connection *c)
{
	struct sithsd_ctx *held = sithsd_ctx_hold(f->d);
	const struct siths_config *cfg = held->ctx->cfg;
	struct header_count hc = { cfg->authd_cert_header, 0 };
	struct sithsd_verdict v;
	struct timespec t0, t1;
	enum MHD_Result r;
	long us;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
	sithsd_auth_check(held->ctx, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    cfg->authd_cert_header), cfg->authd_chain_header != NULL ?
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, cfg->authd_chain_header) : NULL,
	    hc.n, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
	count(f, &v, us);
	/* refusals and outages are worth a line each; a success at debug level */
	siths_log(held->ctx, v.http == 200 ? SITHS_LOG_DEBUG : SITHS_LOG_INFO,
	    "authd: %d %s %s%s%s", v.http, siths_status_name(v.status),
	    v.id != NULL ? siths_identity_hsa_id(v.id) : "", v.message[0] != '\0' ? ": " : "",
	    v.message);
	/* no body: the status is in the headers, and nginx keeps an upstream
	 * connection for the next subrequest only when there is nothing to read */
	r = respond(c, v.http, "text/plain; charset=utf-8", "", &v);
	sithsd_verdict_clear(&v);
	sithsd_ctx_release(f->d, held);
	return r;
}

static enum MHD_Result
answer_status(struct sithsd_front *f, struct MHD_Connection *c)
{
	struct sithsd_ctx *held = sithsd_ctx_hold(f->d);
	enum MHD_Result r;
	char *json = NULL;

	if (siths_status_json(held->ctx, &json) != 0)
		r = respond(c, 500, "text/plain", "status unavailable\n", NULL);
	else
		r = respond(c, 200, "application/json", json, NULL);
	free(json);
	sithsd_ctx_release(f->d, held);
	return r;
}

/* Append to buf (at *o of len); silently stops at the end. */
static void
put(char *buf, size_t len, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	*o = n < 0 ? len : *o + (size_t)n;
}

static enum MHD_Result
answer_metrics(struct sithsd_front *f, struct MHD_Connection *c)
{
	struct sithsd_ctx *held = sithsd_ctx_hold(f->d);
	size_t len = 64 * 1024, o = 0, i, s;
	unsigned long n, cum = 0;
	char *buf = malloc(len);
	enum MHD_Result r;
	char *json = NULL;

	if (buf == NULL) {
		sithsd_ctx_release(f->d, held);
		return MHD_NO;
	}
	put(buf, len, &o, "# HELP sithsd_auth_requests_total Forward-authentication answers "
	    "by HTTP code and status.\n# TYPE sithsd_auth_requests_total counter\n");
	for (i = 0; i < FRONT_NCODES; i++) {
		for (s = 0; s < FRONT_STATUSES; s++) {
			if ((n = __atomic_load_n(&f->answers[i][s], __ATOMIC_RELAXED)) != 0)
				put(buf, len, &o, "sithsd_auth_requests_total{code=\"%d\",status="
				    "\"%s\"} %lu\n", front_codes[i], siths_status_name(-(int)s), n);
		}
	}
	put(buf, len, &o, "# HELP sithsd_auth_seconds Time to answer.\n"
	    "# TYPE sithsd_auth_seconds histogram\n");
	for (i = 0; i <= FRONT_NBUCKETS; i++) {
		cum += __atomic_load_n(&f->buckets[i], __ATOMIC_RELAXED);
		if (i < FRONT_NBUCKETS)
			put(buf, len, &o, "sithsd_auth_seconds_bucket{le=\"%g\"} %lu\n",
			    front_buckets[i], cum);
		else
			put(buf, len, &o, "sithsd_auth_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	}
	put(buf, len, &o, "sithsd_auth_seconds_sum %.6f\nsithsd_auth_seconds_count %lu\n",
	    __atomic_load_n(&f->latency_us, __ATOMIC_RELAXED) / 1e6,
	    __atomic_load_n(&f->requests, __ATOMIC_RELAXED));
	/* the context's own counters, from its status report */
	if (siths_status_json(held->ctx, &json) == 0) {
		json_t *st = json_loads(json, 0, NULL);

		put(buf, len, &o, "# TYPE sithsd_validation_cache_hits_total counter\n"
		    "sithsd_validation_cache_hits_total %lld\n"
		    "# TYPE sithsd_stale_answers_total counter\nsithsd_stale_answers_total %lld\n"
		    "# TYPE sithsd_soft_accepts_total counter\nsithsd_soft_accepts_total %lld\n",
		    (long long)json_integer_value(json_object_get(json_object_get(st,
		    "validation"), "cache_hits")),
		    (long long)json_integer_value(json_object_get(json_object_get(st,
		    "directory"), "stale_served")),
		    (long long)json_integer_value(json_object_get(json_object_get(st,
		    "revocation"), "soft_accepts")));
		json_decref(st);
	}
	free(json);
	r = respond(c, 200, "text/plain; version=0.0.4", buf, NULL);
	free(buf);
	sithsd_ctx_release(f->d, held);
	return r;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct sithsd_front *f = cls;
	struct front_request *req = *req_cls;

	if (req == NULL) {
		if ((req = calloc(1, sizeof(*req))) == NULL)
			return MHD_NO;
		*req_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* forward authentication has no body: it is read away and refused */
		req->body = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->body)
		return respond(c, 413, "text/plain", "no request body is taken\n", NULL);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(c, 405, "text/plain", "GET only\n", NULL);
	if (strcmp(url, "/auth") == 0)
		return answer_auth(f, c);
	if (strcmp(url, "/status") == 0)
		return answer_status(f, c);
	if (strcmp(url, "/metrics") == 0)
		return answer_metrics(f, c);
	return respond(c, 404, "text/plain", "/auth, /status, /metrics\n", NULL);
}

static void
request_done(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	free(*req_cls);
	*req_cls = NULL;
}

/* The listening socket for [authd] listen; -1 (logged) on failure. */
static int
listen_on(struct sithsd_front *f, siths_ctx *ctx, const char *where)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un *un = (struct sockaddr_un *)&ss;
	socklen_t sl;
	char host[64];
	const char *colon = strrchr(where, ':');
	int fd = -1, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(where, "unix:", 5) == 0) {
		if (strlen(where + 5) >= sizeof(un->sun_path))
			goto fail;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, where + 5, strlen(where + 5));
		sl = sizeof(*un);
		(void)unlink(where + 5);
		if ((f->unix_path = strdup(where + 5)) == NULL)
			goto fail;
	} else {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - where), where);
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			host[strcspn(host, "]")] = '\0';
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
				goto fail;
			sl = sizeof(*in6);
		} else {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
				goto fail;
			sl = sizeof(*in4);
		}
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    (ss.ss_family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    (ss.ss_family == AF_UNIX && chmod(where + 5, 0666) != 0) || listen(fd, 256) != 0)
		goto fail;
	return fd;
fail:
	siths_warn(ctx, "authd: cannot listen on %s: %s", where, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int
sithsd_front_start(struct sithsd *d, struct sithsd_front **out)
{
	struct sithsd_ctx *held = sithsd_ctx_hold(d);
	const struct siths_config *cfg = held->ctx->cfg;
	struct sithsd_front *f = NULL;
	int r = -1;

	*out = NULL;
	if (cfg->authd_listen == NULL) {
		r = 0;
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto out;
	f->d = d;
	f->fd = -1;
	if ((f->fd = listen_on(f, held->ctx, cfg->authd_listen)) == -1)
		goto out;
	f->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
	    handle, f, MHD_OPTION_LISTEN_SOCKET, f->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->authd_threads,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FRONT_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)FRONT_IDLE_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->authd_max_connections,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, f, MHD_OPTION_END);
	if (f->mhd == NULL) {
		siths_warn(held->ctx, "authd: libmicrohttpd did not start on %s", cfg->authd_listen);
		goto out;
	}
	siths_notice(held->ctx, "authd: forward authentication on %s (header %s, %d threads)",
	    cfg->authd_listen, cfg->authd_cert_header, cfg->authd_threads);
	*out = f;
	f = NULL;       /* transferred */
	r = 0;
out:
	if (f != NULL) {
		if (f->fd != -1)
			close(f->fd);
		free(f->unix_path);
		free(f);
	}
	sithsd_ctx_release(d, held);
	return r;
}

void
sithsd_front_stop(struct sithsd_front **fp)
{
	struct sithsd_front *f;

	if (fp == NULL || (f = *fp) == NULL)
		return;
	MHD_stop_daemon(f->mhd);
	close(f->fd);
	if (f->unix_path != NULL)
		(void)unlink(f->unix_path);
	free(f->unix_path);
	free(f);
	*fp = NULL;
}
