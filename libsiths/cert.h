/*
 * cert.h - the SITHS certificate profile: HSA-id, names, key usage,
 * extended key usage and level of assurance.
 */
#ifndef SITHS_CERT_H
#define SITHS_CERT_H

#include <openssl/x509.h>

#include "config.h"
#include "identity.h"
#include "siths.h"

/* An HSA-id is at most this long (Inera's rule). */
#define SITHS_HSA_ID_MAX 31

/*
 * The HSA-id in the subject serialNumber: exactly one, PrintableString.
 * *out is allocated. Errors: SITHS_ERR_CERT_NO_HSA_ID,
 * SITHS_ERR_CERT_HSA_ID_INVALID.
 */
int siths_cert_hsa_id(const siths_ctx *ctx, X509 *cert, char **out);

/*
 * Form of an HSA-id: an accepted prefix, an organisation number of 10
 * digits (or 12 starting with 16) with a valid Luhn digit, '-', a local
 * part of PrintableString characters, SITHS_HSA_ID_MAX characters at most.
 * prefixes may be NULL or empty: then "SE" alone is accepted.
 */
int siths_hsa_id_check(const char *hsa_id, const struct siths_strlist *prefixes);

/* Is this a signature-only certificate (nonRepudiation without digitalSignature)? */
int siths_cert_is_signature_only(X509 *cert);

/*
 * The checks of a profile that concern the certificate alone (not the
 * path): key usage, EKU, key size, policy -> LoA, HSA-id. On success fills
 * the certificate fields of id.
 */
int siths_cert_check_profile(const siths_ctx *ctx, X509 *cert, siths_profile profile,
    struct siths_identity *id);

/* Fill the certificate-derived fields that every profile reports. */
int siths_cert_describe(const siths_ctx *ctx, X509 *cert, struct siths_identity *id);

#endif
