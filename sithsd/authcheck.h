/*
 * authcheck.h - one forward-authentication question: the client
 * certificate a proxy forwards, validated and resolved by sithsd's context
 * and judged by [authd] policy (min_loa, allowed_orgs, required_role), as
 * an HTTP status and the headers that carry the identity to the
 * application. Nothing the proxy says about the certificate is believed.
 */
#ifndef SITHSD_AUTHCHECK_H
#define SITHSD_AUTHCHECK_H

#include "siths.h"

/* Largest certificate header accepted (URL-encoded PEM, or a chain of them). */
#define SITHSD_CERT_HEADER_MAX (32 * 1024)

struct sithsd_verdict {
	int http;                       /* 200, 400, 401, 403 or 503 */
	int status;                     /* the SITHS_* status behind it */
	char message[512];              /* the library's detail, printable */
	siths_identity *id;             /* for 200; freed by sithsd_verdict_clear() */
};

/*
 * cert: the certificate header's value (NULL: absent); chain: the chain
 * header's (NULL: none); copies: how many certificate headers the request
 * carried (more than one is malformed: which would the proxy have meant?).
 */
void sithsd_auth_check(siths_ctx *ctx, const char *cert, const char *chain, int copies,
    struct sithsd_verdict *v);
void sithsd_verdict_clear(struct sithsd_verdict *v);

/*
 * Each header of the answer (X-SITHS-Status always; on 200 the identity's),
 * values safe for a header: printable ASCII as it is, every other byte and
 * '%' percent-encoded (so UTF-8 names arrive as %C3%85...).
 */
void sithsd_verdict_headers(const struct sithsd_verdict *v,
    void (*add)(void *cls, const char *name, const char *value), void *cls);

#endif
