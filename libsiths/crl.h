/*
 * crl.h - certificate revocation lists: reading them from a local file or
 * the certificate's CRL distribution point, and checking a certificate
 * against one. Checking is separate from fetching, so that a CRL from the
 * network, a file, a cache or a test goes through the same verification.
 */
#ifndef SITHS_CRL_H
#define SITHS_CRL_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "siths.h"

/* Largest CRL accepted, DER or PEM. */
#define SITHS_CRL_MAX_BYTES (16 * 1024 * 1024)
/* Clock difference tolerated between us and the CA, seconds. */
#define SITHS_CRL_SKEW 300
/* CRLs looked at in one PEM file. */
#define SITHS_CRL_MAX_PER_FILE 64

/* What a verified CRL says about one certificate. */
struct siths_crl_answer {
	int revoked;
	int reason;             /* CRL reason code; -1: none given */
	time_t revoked_at;
	time_t this_update;
	time_t next_update;
};

/* The first http:// URI among leaf's CRL distribution points. */
int siths_crl_url(const siths_ctx *ctx, X509 *leaf, char **url);

/*
 * Parse one CRL, DER or PEM, of at most SITHS_CRL_MAX_BYTES. From a PEM
 * file holding several, the first issued by issuer_name is taken (else the
 * first). Unparsable input is SITHS_ERR_REVOCATION_UNAVAILABLE.
 */
int siths_crl_parse(const siths_ctx *ctx, const unsigned char *data, size_t len,
    const X509_NAME *issuer_name, const char *source, X509_CRL **out);

/*
 * A CRL for leaf's issuer from a local file (absolute path, no symlink,
 * regular, owned by root or us, not group/world-writable, size-capped; DER
 * or PEM). 0 with *out, 1 when the file holds no CRL of that issuer, or
 * SITHS_ERR_REVOCATION_UNAVAILABLE.
 */
int siths_crl_read_file(const siths_ctx *ctx, const char *path, X509 *leaf, X509_CRL **out);

/*
 * Download the CRL at url (http:// only) within timeout_ms. *der keeps the
 * bytes received (malloc'd) for the disk cache.
 */
int siths_crl_download(const siths_ctx *ctx, const char *url, int timeout_ms, X509 *leaf,
    X509_CRL **out, unsigned char **der, size_t *der_len);

/*
 * Verify crl as the CRL of issuer for leaf, as at `at` (0: now): issuer
 * name equal to leaf's issuer, issuer allowed to sign CRLs, signature with
 * the issuer's key, no delta, indirect or reason-partitioned CRL and no
 * unknown critical extension (SITHS_ERR_CRL_INVALID); lastUpdate not in the
 * future; a nextUpdate present and not passed, with SITHS_CRL_SKEW
 * (SITHS_ERR_REVOCATION_STALE). Fills the times of *ans. What holds for
 * every certificate of the issuer: whether the CRL covers leaf is
 * siths_crl_covers(), which siths_crl_lookup() asks every time.
 */
int siths_crl_verify(const siths_ctx *ctx, X509_CRL *crl, X509 *leaf, X509 *issuer, time_t at,
    const char *source, struct siths_crl_answer *ans);

/*
 * Does the (verified) crl speak for leaf? A CRL without an
 * issuingDistributionPoint covers every certificate of its issuer; a
 * partitioned one only those naming its distribution point (and, marked
 * onlyContainsUserCerts, no CA). 0, or SITHS_ERR_CRL_NOT_COVERED.
 */
int siths_crl_covers(const siths_ctx *ctx, X509_CRL *crl, X509 *leaf, const char *source);

/*
 * Is leaf on the (verified) crl? SITHS_ERR_CRL_NOT_COVERED when the CRL
 * does not cover leaf (siths_crl_covers), else 0 when leaf is not on it,
 * SITHS_ERR_CERT_REVOKED with the reason and time in the message when it
 * is; fills *ans, the CRL's times included.
 */
int siths_crl_lookup(const siths_ctx *ctx, X509_CRL *crl, X509 *leaf, const char *source,
    struct siths_crl_answer *ans);

#endif
