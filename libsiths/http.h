/*
 * http.h - the one HTTP client of the library: fetching OCSP responses and
 * CRLs. Plain http:// only (revocation data is signed; SITHS publishes it
 * over HTTP), one request per connection, no proxy, no redirects, status
 * 200 only, a deadline over everything (name lookup, connect, send,
 * receive) and a cap on the body the caller names.
 */
#ifndef SITHS_HTTP_H
#define SITHS_HTTP_H

#include <stddef.h>

#include "siths.h"

/* Longest host name, path and whole response header block accepted. */
#define SITHS_HTTP_HOST_MAX 255
#define SITHS_HTTP_PATH_MAX 2048
#define SITHS_HTTP_HEADER_MAX (16 * 1024)

struct siths_http_url {
	char host[SITHS_HTTP_HOST_MAX + 1];     /* without the brackets of an IPv6 literal */
	char port[6];                           /* decimal, "80" when the URL has none */
	char path[SITHS_HTTP_PATH_MAX + 1];     /* with the query; never the fragment */
	int ipv6;                               /* host was [an IPv6 literal] */
};

struct siths_http_request {
	const char *url;                /* http://host[:port][/path] */
	const char *content_type;       /* of the body; NULL: GET without a body */
	const unsigned char *body;
	size_t body_len;
	const char *accept;             /* Accept header, or NULL */
	size_t max_len;                 /* largest response body accepted */
	int timeout_ms;                 /* for the whole exchange, name lookup included */
};

/*
 * Split an http:// URL. Any other scheme (https included), user info,
 * a bad port, control characters or spaces, and over-long parts are
 * refused: SITHS_ERR_REVOCATION_UNAVAILABLE with a sentence in err.
 */
int siths_http_parse_url(const char *url, struct siths_http_url *u, char *err, size_t errlen);

/*
 * Send req and return the body of a 200 response in *body (malloc'd, free
 * it) and *len. Every failure (bad URL, name lookup, refused, timeout, a
 * status other than 200, a redirect, a body over max_len, a truncated body)
 * is SITHS_ERR_REVOCATION_UNAVAILABLE with the reason recorded on ctx;
 * SITHS_ERR_NOMEM when memory runs out. Proxy settings in the environment
 * are never used.
 */
int siths_http_fetch(const siths_ctx *ctx, const struct siths_http_request *req,
    unsigned char **body, size_t *len);

#endif
