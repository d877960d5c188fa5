/*
 * verify.h - certification paths to the configured anchors.
 */
#ifndef SITHS_VERIFY_H
#define SITHS_VERIFY_H

#include <time.h>

#include <openssl/x509.h>

#include "siths.h"

/* Load [trust] anchors and intermediates into ctx->store once. */
int siths_trust_load(siths_ctx *ctx);
void siths_trust_free(siths_ctx *ctx);

/*
 * Build and check the path from leaf to a configured anchor, in strict mode,
 * at time `at` (0: now). untrusted may add certificates to build the path.
 * chain, when not NULL, receives the path (leaf first; free with
 * sk_X509_pop_free).
 */
int siths_verify_path(const siths_ctx *ctx, X509 *leaf, STACK_OF(X509) *untrusted, time_t at,
    STACK_OF(X509) **chain);

/* The profile opts ask for; SITHS_PROFILE_LOGIN for NULL opts. */
siths_profile siths_verify_opts_profile(const siths_verify_opts *opts);
/* Everything opts ask for (NULL opts: the defaults), to hand on to sithsd. */
void siths_verify_opts_view(const siths_verify_opts *opts, siths_profile *profile, time_t *at,
    const STACK_OF(X509) **untrusted, int *no_revocation);

/* The cache of validation results (verify.c). */
int siths_verify_cache_init(siths_ctx *ctx);
void siths_verify_cache_free(siths_ctx *ctx);

/* Parse exactly one DER certificate; trailing bytes are an error. */
int siths_cert_from_der(const siths_ctx *ctx, const unsigned char *der, size_t len, X509 **out);

/* The whole of a validation: path, profile, identity fields. */
int siths_verify_x509(siths_ctx *ctx, X509 *leaf, const siths_verify_opts *opts,
    struct siths_identity **out);

#endif
