/*
 * hsa.h - the HSA directory behind one interface: find a person by HSA-id
 * and describe them, their organisation and their roles.
 */
#ifndef SITHS_HSA_H
#define SITHS_HSA_H

#include <stddef.h>

#include "identity.h"
#include "siths.h"

/* Allocate the directory state of a loaded context (no network yet). */
int siths_hsa_init(siths_ctx *ctx);
void siths_hsa_free(siths_ctx *ctx);

/*
 * Look hsa_id up under [hsa] base. Results: 0 with *out filled
 * (from_directory = 1), SITHS_ERR_HSA_NOT_FOUND, SITHS_ERR_HSA_AMBIGUOUS,
 * SITHS_ERR_HSA_INACTIVE (startDate ahead or endDate passed),
 * SITHS_ERR_HSA_UNREACHABLE, SITHS_ERR_HSA_TIMEOUT, SITHS_ERR_HSA_BIND,
 * SITHS_ERR_HSA_PROTOCOL, SITHS_ERR_HSA_ID_INVALID. Thread-safe.
 */
int siths_hsa_lookup(siths_ctx *ctx, const char *hsa_id, struct siths_identity **out);

/*
 * RFC 4515 escaping of an assertion value for a search filter; the only way
 * a value reaches a filter. *out is allocated.
 */
int siths_ldap_escape(const char *value, size_t len, char **out);

#endif
