/*
 * ocsp.h - one OCSP check: the CertID, a request with a fresh nonce, the
 * POST to the responder, and the verification of what comes back. The
 * verification is separate from the fetching so that it can be applied
 * alike to a response from the network, from a cache, or from a test.
 */
#ifndef SITHS_OCSP_H
#define SITHS_OCSP_H

#include <stddef.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "siths.h"

/* Largest OCSP response accepted (real ones are 1-3 KiB). */
#define SITHS_OCSP_MAX_RESPONSE (64 * 1024)
/* Bytes of random nonce in every request (RFC 8954 allows 1 to 32). */
#define SITHS_OCSP_NONCE_LEN 32
/* Clock difference tolerated between us and the responder, seconds. */
#define SITHS_OCSP_SKEW 300

/* What a verified response says about the certificate asked about. */
struct siths_ocsp_answer {
	int status;             /* V_OCSP_CERTSTATUS_GOOD, _REVOKED or _UNKNOWN */
	int reason;             /* CRL reason code of a revocation; -1: none given */
	time_t revoked_at;      /* 0 unless revoked */
	time_t this_update;
	time_t next_update;     /* 0: the responder gave none */
	int nonce_checked;      /* the response carried the nonce we sent */
};

/* Everything a response is checked against. */
struct siths_ocsp_verify {
	X509_STORE *store;              /* the trust anchors */
	STACK_OF(X509) *untrusted;      /* issuer and intermediates for the responder's path */
	X509 *issuer;                   /* the CA of the certificate asked about */
	OCSP_CERTID *id;                /* the certificate asked about */
	OCSP_REQUEST *req;              /* holds our nonce; NULL: a cached response, see below */
	int nonce_optional;             /* a response without a nonce is accepted */
	time_t at;                      /* the time the status must hold at; 0: now */
	const char *source;             /* where the response is from, for messages */
};

/* The CertID of leaf under issuer, with SHA-1 as responders expect. */
int siths_ocsp_certid(const siths_ctx *ctx, X509 *leaf, X509 *issuer, OCSP_CERTID **out);

/*
 * The responder to ask: override when set, else the first http:// OCSP URL
 * in leaf's Authority Information Access. SITHS_ERR_REVOCATION_UNAVAILABLE
 * when there is none.
 */
int siths_ocsp_url(const siths_ctx *ctx, X509 *leaf, const char *override, char **url);

/*
 * Parse DER of at most SITHS_OCSP_MAX_RESPONSE bytes, nothing after it.
 * Anything else is SITHS_ERR_REVOCATION_UNAVAILABLE: garbage from the
 * network says nothing about the certificate.
 */
int siths_ocsp_parse(const siths_ctx *ctx, const unsigned char *der, size_t len,
    const char *source, OCSP_RESPONSE **out);

/*
 * Verify resp against v and fill *ans:
 *  - responseStatus successful, else SITHS_ERR_REVOCATION_UNAVAILABLE
 *    (an unsigned "tryLater" must not end the check);
 *  - signature and the responder's path to an anchor (OCSP_basic_verify,
 *    with no flag that skips a check), then the responder explicitly: the
 *    CA itself, or a certificate the CA issued with id-kp-OCSPSigning;
 *    else SITHS_ERR_OCSP_INVALID;
 *  - when v->req is set: the nonce, SITHS_ERR_OCSP_NONCE when it differs,
 *    or when it is absent unless v->nonce_optional. v->req NULL means a
 *    cached response: callers only cache responses that carried our nonce
 *    when they were fetched (ans->nonce_checked), and re-verify everything
 *    else here;
 *  - a single response for v->id, else SITHS_ERR_OCSP_INVALID;
 *  - thisUpdate not in the future and nextUpdate not passed at v->at, with
 *    SITHS_OCSP_SKEW either way; SITHS_ERR_REVOCATION_STALE when passed;
 *  - then the status: 0 (good), SITHS_ERR_CERT_REVOKED (reason and time in
 *    the message) or SITHS_ERR_REVOCATION_UNKNOWN.
 * *ans is filled whenever the response verified, whatever the status.
 */
int siths_ocsp_verify_response(const siths_ctx *ctx, OCSP_RESPONSE *resp,
    const struct siths_ocsp_verify *v, struct siths_ocsp_answer *ans);

/* The status (and message) an answer stands for: as verify returns it. */
int siths_ocsp_answer_status(const siths_ctx *ctx, const struct siths_ocsp_answer *ans,
    const char *source);

/*
 * Ask the responder at url about v->id (v->req is ignored: a request with
 * a fresh nonce is made here) within timeout_ms, and verify the response.
 * Returns what siths_ocsp_verify_response() returns, or
 * SITHS_ERR_REVOCATION_UNAVAILABLE when no usable response arrived. On 0
 * and SITHS_ERR_CERT_REVOKED, *der holds the response (malloc'd) for caching.
 */
int siths_ocsp_query(const siths_ctx *ctx, const char *url, const struct siths_ocsp_verify *v,
    int timeout_ms, struct siths_ocsp_answer *ans, unsigned char **der, size_t *der_len);

#endif
