/*
 * revocation.h - is this certificate revoked? OCSP and CRL in the order
 * [revocation] mode gives, with caches, and the on_unreachable policy.
 */
#ifndef SITHS_REVOCATION_H
#define SITHS_REVOCATION_H

#include <time.h>

#include <openssl/x509.h>

#include "siths.h"

enum siths_rev_source {
	SITHS_REV_SOURCE_NONE = 0,      /* not checked (mode = none, or skipped) */
	SITHS_REV_SOURCE_OCSP,          /* a response fetched now */
	SITHS_REV_SOURCE_CRL,           /* a CRL fetched now or read from crl_files */
	SITHS_REV_SOURCE_CACHE,         /* a cached OCSP response or CRL */
	SITHS_REV_SOURCE_SOFT,          /* unreachable, accepted by on_unreachable = soft */
};

struct siths_rev_result {
	int source;                     /* enum siths_rev_source */
	int method;                     /* SITHS_REV_OCSP or SITHS_REV_CRL that answered; 0 */
	time_t this_update;             /* of the answer used; 0 if none */
	time_t next_update;             /* until when the answer holds; 0 if unknown */
};

/* Forget every cached OCSP answer and CRL held in memory. */
void siths_revocation_flush(siths_ctx *ctx);

/* Allocate the revocation caches of a loaded context. */
int siths_revocation_init(siths_ctx *ctx);
void siths_revocation_free(siths_ctx *ctx);

/*
 * Check leaf, issued by issuer (both already path-validated), at time at
 * (0: now). Returns 0 (good, or accepted by policy: see res->source),
 * SITHS_ERR_CERT_REVOKED, SITHS_ERR_REVOCATION_UNKNOWN,
 * SITHS_ERR_REVOCATION_UNAVAILABLE, SITHS_ERR_OCSP_INVALID,
 * SITHS_ERR_OCSP_NONCE, SITHS_ERR_CRL_INVALID, SITHS_ERR_REVOCATION_STALE.
 * Thread-safe.
 */
int siths_revocation_check(siths_ctx *ctx, X509 *leaf, X509 *issuer, time_t at,
    struct siths_rev_result *res);

/* What the revocation layer can say about itself, for siths status. */
struct siths_rev_stats {
	size_t ocsp_cached, crl_cached;         /* answers in memory */
	unsigned long soft_accepts;
	time_t ocsp_heard, crl_heard;           /* last answer from the network; 0: none */
};
void siths_revocation_stats(const siths_ctx *ctx, struct siths_rev_stats *st);

/* How many checks on_unreachable = soft has accepted since the context was loaded. */
unsigned long siths_revocation_soft_count(const siths_ctx *ctx);

#endif
