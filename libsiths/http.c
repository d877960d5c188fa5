/*
 * http.c - a small HTTP/1.0 client for revocation data: one request, one
 * connection, over a non-blocking socket and poll(), under one deadline
 * that covers the name lookup, connecting, sending and receiving.
 *
 * Why not OpenSSL's OSSL_HTTP_transfer(): it cannot say which status the
 * server answered (so "200 only" cannot be enforced), its timeouts are
 * whole seconds, and its name lookup blocks without any limit. What it
 * would give besides (no proxy, a body cap, no redirects) is simple to do
 * here. Proxies from the environment are never consulted: there is no code
 * that reads them.
 *
 * The name lookup runs in a short-lived thread so that a dead DNS server
 * cannot hold a login beyond the deadline: getaddrinfo() has no timeout of
 * its own. A lookup that outlives the deadline finishes (and frees its
 * state) on its own; nothing waits for it.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "log.h"

#define HTTP_SCHEME "http://"
#define HTTP_SCHEME_LEN (sizeof(HTTP_SCHEME) - 1)
/* First allocation for a response; it grows by doubling up to the cap. */
#define HTTP_BUF_START 4096
/* Longest piece of a Location header quoted in a message. */
#define HTTP_LOCATION_QUOTE 120

struct response {
	unsigned char *buf;
	size_t len, cap;
	size_t hdr_len;         /* bytes of status line and headers; 0 until all arrived */
	int status;
	int have_clen;
	size_t clen;
	char location[HTTP_LOCATION_QUOTE + 1];
};

/* A name lookup shared by the caller and the thread that runs it. */
struct lookup {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;               /* 2 while both hold it; the last one frees it */
	int done;
	int gai_status;
	int gai_errno;
	struct addrinfo *res;
	char host[SITHS_HTTP_HOST_MAX + 1];
	char port[6];
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
remaining_ms(long long deadline)
{
	long long left = deadline - now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int __attribute__((format(printf, 3, 4)))
url_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return SITHS_ERR_REVOCATION_UNAVAILABLE;
}

static int
host_char(int c, int ipv6)
{
	if (ipv6)
		return isxdigit(c) || c == ':' || c == '.';
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

/* The authority: host or [IPv6], then an optional :port. Returns the rest. */
static const char *
parse_authority(const char *p, struct siths_http_url *u, const char *url, char *err,
    size_t errlen, int *r)
{
	const char *host = p, *end;
	unsigned long port = 80;
	size_t n, i;

	*r = SITHS_ERR_REVOCATION_UNAVAILABLE;
	if (*host == '[') {
		if ((end = strchr(host, ']')) == NULL) {
			url_error(err, errlen, "'%s': unterminated IPv6 address", url);
			return NULL;
		}
		host++;
		n = (size_t)(end - host);
		p = end + 1;
		u->ipv6 = 1;
	} else {
		n = strcspn(host, ":/?#");
		p = host + n;
	}
	if (memchr(host, '@', n) != NULL) {
		url_error(err, errlen, "'%s': user information in a URL is not accepted", url);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (!host_char((unsigned char)host[i], u->ipv6)) {
			url_error(err, errlen, "'%s': a character not allowed in a host name",
			    url);
			return NULL;
		}
	}
	if (n == 0 || n > SITHS_HTTP_HOST_MAX) {
		url_error(err, errlen, "'%s': the host name is empty or longer than %d", url,
		    SITHS_HTTP_HOST_MAX);
		return NULL;
	}
	memcpy(u->host, host, n);
	u->host[n] = '\0';
	if (*p == ':') {
		p++;
		for (port = 0, i = 0; isdigit((unsigned char)p[i]) && i < 5; i++)
			port = port * 10 + (unsigned long)(p[i] - '0');
		if (i == 0 || isdigit((unsigned char)p[i]) || port == 0 || port > 65535) {
			url_error(err, errlen, "'%s': the port is not a number from 1 to 65535",
			    url);
			return NULL;
		}
		p += i;
	}
	snprintf(u->port, sizeof(u->port), "%lu", port);
	*r = 0;
	return p;
}

int
siths_http_parse_url(const char *url, struct siths_http_url *u, char *err, size_t errlen)
{
	const char *p;
	size_t n, pre;
	int r;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		return url_error(err, errlen, "no URL");
	for (p = url; *p != '\0'; p++) {
		/* Also keeps CR/LF out of the request line a URL becomes. */
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return url_error(err, errlen,
			    "a URL has a space, control or non-ASCII character");
	}
	if (strncasecmp(url, "https://", 8) == 0)
		return url_error(err, errlen, "'%s': https is not used for revocation data "
		    "(responses and CRLs are signed; only http:// is fetched)", url);
	if (strncasecmp(url, HTTP_SCHEME, HTTP_SCHEME_LEN) != 0)
		return url_error(err, errlen, "'%s' is not an http:// URL", url);
	if ((p = parse_authority(url + HTTP_SCHEME_LEN, u, url, err, errlen, &r)) == NULL)
		return r;
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		return url_error(err, errlen, "'%s': unexpected character after the host", url);
	n = strcspn(p, "#");
	pre = (n == 0 || *p != '/') ? 1 : 0;    /* the path of a request starts with '/' */
	if (n + pre > SITHS_HTTP_PATH_MAX)
		return url_error(err, errlen, "'%.80s...': the path is longer than %d", url,
		    SITHS_HTTP_PATH_MAX);
	u->path[0] = '/';
	memcpy(u->path + pre, p, n);
	u->path[n + pre] = '\0';
	return 0;
}

/* Called with lk->lock held; releases it and frees lk after the last user. */
static void
lookup_release(struct lookup *lk)
{
	int last = --lk->refs == 0;

	pthread_mutex_unlock(&lk->lock);
	if (!last)
		return;
	if (lk->res != NULL)
		freeaddrinfo(lk->res);
	pthread_cond_destroy(&lk->cond);
	pthread_mutex_destroy(&lk->lock);
	free(lk);
}

static void *
lookup_run(void *arg)
{
	struct lookup *lk = arg;
	struct addrinfo hints, *res = NULL;
	int status;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	status = getaddrinfo(lk->host, lk->port, &hints, &res);
	pthread_mutex_lock(&lk->lock);
	lk->gai_status = status;
	lk->gai_errno = errno;
	lk->res = res;
	lk->done = 1;
	pthread_cond_signal(&lk->cond);
	lookup_release(lk);
	return NULL;
}

static struct lookup *
lookup_new(const struct siths_http_url *u)
{
	struct lookup *lk = NULL;
	pthread_condattr_t ca;
	int ok;

	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return NULL;
	if (pthread_condattr_init(&ca) != 0) {
		free(lk);
		return NULL;
	}
	ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&lk->cond, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok) {
		free(lk);
		return NULL;
	}
	if (pthread_mutex_init(&lk->lock, NULL) != 0) {
		pthread_cond_destroy(&lk->cond);
		free(lk);
		return NULL;
	}
	lk->refs = 2;
	snprintf(lk->host, sizeof(lk->host), "%s", u->host);
	snprintf(lk->port, sizeof(lk->port), "%s", u->port);
	return lk;
}

/* Start the lookup thread: detached, with every signal blocked in it. */
static int
lookup_start(struct lookup *lk)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, &attr, lookup_run, lk);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

/* Addresses of u->host; a numeric host needs no lookup and no thread. */
static int
resolve(const siths_ctx *ctx, const struct siths_http_url *u, const char *url,
    long long deadline, struct addrinfo **out)
{
	struct addrinfo hints;
	struct lookup *lk = NULL;
	struct timespec ts;
	int r = SITHS_ERR_REVOCATION_UNAVAILABLE;

	*out = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(u->host, u->port, &hints, out) == 0)
		return 0;
	*out = NULL;
	if ((lk = lookup_new(u)) == NULL)
		return SITHS_ERR_NOMEM;
	if (lookup_start(lk) != 0) {
		pthread_mutex_lock(&lk->lock);
		lk->refs = 1;
		lookup_release(lk);
		return siths_fail(ctx, r, "%s: cannot start the name lookup", url);
	}
	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
	pthread_mutex_lock(&lk->lock);
	while (!lk->done) {
		if (pthread_cond_timedwait(&lk->cond, &lk->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (!lk->done)
		r = siths_fail(ctx, r, "%s: the name lookup of %s did not finish in time", url,
		    u->host);
	else if (lk->gai_status != 0)
		r = siths_fail(ctx, r, "%s: cannot look up %s: %s", url, u->host,
		    lk->gai_status == EAI_SYSTEM ? strerror(lk->gai_errno) :
		    gai_strerror(lk->gai_status));
	else {
		/* success */
		*out = lk->res;
		lk->res = NULL;         /* transferred */
		r = 0;
	}
	lookup_release(lk);
	return r;
}

/* Wait until fd is ready for events or the deadline passes (0: timed out). */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	int n;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, remaining_ms(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* One address; 0 with *fdp, or an errno value. */
static int
connect_one(const struct addrinfo *ai, long long deadline, int *fdp)
{
	socklen_t len = sizeof(int);
	int fd, err = 0, w;

	*fdp = -1;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto out;
		}
		if ((w = wait_fd(fd, POLLOUT, deadline)) <= 0) {
			err = w == 0 ? ETIMEDOUT : errno;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0)
			goto out;
	}
	/* success */
	*fdp = fd;
	fd = -1;        /* transferred */
out:
	if (fd >= 0)
		close(fd);
	return err;
}

static int
connect_any(const siths_ctx *ctx, const struct addrinfo *res, const char *url,
    long long deadline, int *fdp)
{
	const struct addrinfo *ai;
	int err = EHOSTUNREACH;

	*fdp = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((err = connect_one(ai, deadline, fdp)) == 0)
			return 0;
		if (err == ETIMEDOUT && remaining_ms(deadline) == 0)
			break;
	}
	if (err == ETIMEDOUT)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: no connection within the timeout", url);
	return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE, "%s: cannot connect: %s", url,
	    strerror(err));
}

static int
send_all(const siths_ctx *ctx, int fd, const unsigned char *p, size_t len, const char *url,
    long long deadline)
{
	ssize_t n;
	int w;

	while (len > 0) {
		if ((w = wait_fd(fd, POLLOUT, deadline)) <= 0)
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: %s while sending the request", url,
			    w == 0 ? "timed out" : strerror(errno));
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: cannot send the request: %s", url, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
send_request(const siths_ctx *ctx, int fd, const struct siths_http_request *req,
    const struct siths_http_url *u, long long deadline)
{
	char head[SITHS_HTTP_PATH_MAX + SITHS_HTTP_HOST_MAX + 512];
	int n, r;

	n = snprintf(head, sizeof(head),
	    "%s %s HTTP/1.0\r\n"
	    "Host: %s%s%s%s%s\r\n"
	    "User-Agent: libsiths/" PACKAGE_VERSION "\r\n"
	    "%s%s%s"
	    "Connection: close\r\n",
	    req->content_type != NULL ? "POST" : "GET", u->path,
	    u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "",
	    strcmp(u->port, "80") != 0 ? ":" : "", strcmp(u->port, "80") != 0 ? u->port : "",
	    req->accept != NULL ? "Accept: " : "", req->accept != NULL ? req->accept : "",
	    req->accept != NULL ? "\r\n" : "");
	if (n > 0 && (size_t)n < sizeof(head) && req->content_type != NULL)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Type: %s\r\nContent-Length: %zu\r\n", req->content_type,
		    req->body_len);
	if (n > 0 && (size_t)n < sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (n <= 0 || (size_t)n >= sizeof(head))
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the request header does not fit", req->url);
	if ((r = send_all(ctx, fd, (const unsigned char *)head, (size_t)n, req->url,
	    deadline)) != 0)
		return r;
	if (req->content_type != NULL && req->body_len > 0)
		return send_all(ctx, fd, req->body, req->body_len, req->url, deadline);
	return 0;
}

/* Offset just past the empty line that ends the header, or 0. */
static size_t
header_end(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* "HTTP/1.x NNN ..." */
static int
parse_status_line(const char *line, size_t n, int *status)
{
	if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (n > 12 && line[12] != ' '))
		return -1;
	*status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	return 0;
}

static int
parse_content_length(const char *v, size_t n, size_t max, size_t *out)
{
	size_t i, x = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		if (x > (max + 9) / 10)
			return 1;       /* over the cap; also keeps x from overflowing */
		x = x * 10 + (size_t)(v[i] - '0');
	}
	*out = x;
	return x > max ? 1 : 0;
}

/* One "Name: value" line. */
static int
parse_header_line(const siths_ctx *ctx, const char *line, size_t n, const char *url,
    size_t max_len, struct response *rs)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t name_len, vlen, clen = 0, i;
	int c;

	if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: malformed HTTP header line", url);
	name_len = (size_t)(colon - line);
	for (v = colon + 1; v < line + n && (*v == ' ' || *v == '\t'); v++)
		;
	for (vlen = (size_t)(line + n - v); vlen > 0 && (v[vlen - 1] == ' ' ||
	    v[vlen - 1] == '\t'); vlen--)
		;
	if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
		if ((c = parse_content_length(v, vlen, max_len, &clen)) < 0 ||
		    (rs->have_clen && clen != rs->clen))
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: malformed or conflicting Content-Length", url);
		if (c > 0)
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: the response announces more than the %zu bytes accepted", url,
			    max_len);
		rs->have_clen = 1;
		rs->clen = clen;
	} else if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0 &&
	    !(vlen == 8 && strncasecmp(v, "identity", 8) == 0)) {
		/* We ask with HTTP/1.0, which has no chunked encoding. */
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: unsupported Transfer-Encoding in the response", url);
	} else if (name_len == 8 && strncasecmp(line, "Location", 8) == 0) {
		/* Only quoted in a message: keep what is printable. */
		for (i = 0; i < vlen && i < HTTP_LOCATION_QUOTE; i++)
			rs->location[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
		rs->location[i] = '\0';
	}
	return 0;
}

/* The status line and headers in rs->buf[0 .. rs->hdr_len). */
static int
parse_header(const siths_ctx *ctx, const char *url, size_t max_len, struct response *rs)
{
	const char *p = (const char *)rs->buf, *end = p + rs->hdr_len, *nl;
	size_t n;
	int r, first = 1;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (first) {
			if (parse_status_line(p, n, &rs->status) != 0)
				return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
				    "%s: the answer is not an HTTP/1.x response", url);
			first = 0;
		} else if (n == 0) {
			break;
		} else if ((r = parse_header_line(ctx, p, n, url, max_len, rs)) != 0) {
			return r;
		}
	}
	return 0;
}

static int
check_status(const siths_ctx *ctx, const char *url, const struct response *rs)
{
	if (rs->status == 200)
		return 0;
	if (rs->status >= 300 && rs->status < 400)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the server redirects (HTTP %d to '%s'); redirects are not followed", url,
		    rs->status, rs->location);
	return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
	    "%s: the server answered HTTP status %d", url, rs->status);
}

/* Room for at least one more byte, never beyond limit. */
static int
grow(struct response *rs, size_t limit)
{
	unsigned char *p;
	size_t cap;

	if (rs->len < rs->cap)
		return 0;
	if (rs->cap >= limit)
		return 1;
	cap = rs->cap == 0 ? HTTP_BUF_START : rs->cap * 2;
	if (cap > limit || cap < rs->cap)
		cap = limit;
	if ((p = realloc(rs->buf, cap)) == NULL)
		return -1;
	rs->buf = p;
	rs->cap = cap;
	return 0;
}

/*
 * Has everything needed arrived? 1: yes, 0: read on, or a negative status.
 * Parses the header as soon as it is complete.
 */
static int
response_progress(const siths_ctx *ctx, const char *url, size_t max_len, struct response *rs)
{
	size_t end;
	int r;

	if (rs->hdr_len == 0) {
		end = header_end(rs->buf, rs->len < SITHS_HTTP_HEADER_MAX ? rs->len :
		    SITHS_HTTP_HEADER_MAX);
		if (end == 0) {
			if (rs->len >= SITHS_HTTP_HEADER_MAX)
				return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
				    "%s: the response header is larger than %d bytes", url,
				    SITHS_HTTP_HEADER_MAX);
			return 0;
		}
		rs->hdr_len = end;
		if ((r = parse_header(ctx, url, max_len, rs)) != 0 ||
		    (r = check_status(ctx, url, rs)) != 0)
			return r;
	}
	if (rs->len - rs->hdr_len > max_len)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the response is larger than the %zu bytes accepted", url, max_len);
	return rs->have_clen && rs->len - rs->hdr_len >= rs->clen;
}

static int
read_response(const siths_ctx *ctx, int fd, const char *url, size_t max_len, long long deadline,
    struct response *rs)
{
	size_t limit = SITHS_HTTP_HEADER_MAX + max_len + 1;
	ssize_t n;
	int r, w;

	for (;;) {
		if ((r = response_progress(ctx, url, max_len, rs)) != 0)
			return r < 0 ? r : 0;
		if ((r = grow(rs, limit)) != 0)
			return r < 0 ? SITHS_ERR_NOMEM : siths_fail(ctx,
			    SITHS_ERR_REVOCATION_UNAVAILABLE, "%s: the response is too large", url);
		if ((w = wait_fd(fd, POLLIN, deadline)) <= 0)
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: %s while waiting for the response", url,
			    w == 0 ? "timed out" : strerror(errno));
		n = recv(fd, rs->buf + rs->len, rs->cap - rs->len, 0);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: cannot read the response: %s", url, strerror(errno));
		}
		rs->len += (size_t)n;
	}
	/* The server closed the connection. */
	if ((r = response_progress(ctx, url, max_len, rs)) < 0)
		return r;
	if (rs->hdr_len == 0)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the connection closed before a complete response header", url);
	if (rs->have_clen && rs->len - rs->hdr_len < rs->clen)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the response was cut short (%zu of %zu bytes)", url,
		    rs->len - rs->hdr_len, rs->clen);
	return 0;
}

int
siths_http_fetch(const siths_ctx *ctx, const struct siths_http_request *req,
    unsigned char **body, size_t *len)
{
	struct siths_http_url u;
	struct response rs;
	struct addrinfo *res = NULL;
	long long deadline;
	char err[256];
	size_t blen;
	int fd = -1, r = SITHS_ERR_INTERNAL;

	*body = NULL;
	*len = 0;
	memset(&rs, 0, sizeof(rs));
	if (req->timeout_ms <= 0 || req->max_len == 0 || req->max_len > SIZE_MAX / 2)
		return siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT, "HTTP fetch without limits");
	if ((r = siths_http_parse_url(req->url, &u, err, sizeof(err))) != 0)
		return siths_fail(ctx, r, "%s", err);
	deadline = now_ms() + req->timeout_ms;
	siths_debug(ctx, "%s %s (timeout %d ms, at most %zu bytes)",
	    req->content_type != NULL ? "POST" : "GET", req->url, req->timeout_ms, req->max_len);
	if ((r = resolve(ctx, &u, req->url, deadline, &res)) != 0 ||
	    (r = connect_any(ctx, res, req->url, deadline, &fd)) != 0 ||
	    (r = send_request(ctx, fd, req, &u, deadline)) != 0 ||
	    (r = read_response(ctx, fd, req->url, req->max_len, deadline, &rs)) != 0)
		goto out;
	/* success: the body is moved to the start of the buffer, which goes to the caller */
	blen = rs.len - rs.hdr_len;
	if (rs.have_clen && blen > rs.clen)
		blen = rs.clen;         /* anything after Content-Length is not ours */
	memmove(rs.buf, rs.buf + rs.hdr_len, blen);
	*body = rs.buf;
	*len = blen;
	rs.buf = NULL;          /* transferred */
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	free(rs.buf);
	return r;
}
