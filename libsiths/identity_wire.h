/*
 * identity_wire.h - an identity's whole internal form as a JSON object:
 * what sithsd sends its clients and what the HSA disk store keeps. Unlike
 * siths_identity_to_json() (the caller's view), it carries every field,
 * times as numbers, so that the identity read back is the one written.
 */
#ifndef SITHS_IDENTITY_WIRE_H
#define SITHS_IDENTITY_WIRE_H

#include <jansson.h>

#include "identity.h"

/* Longest string field accepted when reading; longer is malformed. */
#define SITHS_WIRE_STRING_MAX 8192

enum {
	SITHS_WIRE_PERSONAL_NUMBER = 1 << 0,    /* include it (root callers, the store) */
	SITHS_WIRE_SERVICE = 1 << 1,            /* include sithsd's mapping (svc_*) */
	/* only what a login needs: who, the certificate, the organisation; not
	 * mail, titles, dates, the DN, units, roles, commissions */
	SITHS_WIRE_LOGIN_ONLY = 1 << 2,
};

/* A JSON array of the n strings of v (identity.c); NULL when out of memory. */
json_t *siths_json_strings(char *const *v, size_t n);

/* A new object (json_decref() it); NULL when out of memory. */
json_t *siths_identity_wire(const struct siths_identity *id, unsigned int flags);

/*
 * The identity in o, read as untrusted input: known keys of the right type
 * only, strings within SITHS_WIRE_STRING_MAX and valid UTF-8 (jansson's
 * own check), lists within the identity's caps. 0 with *out,
 * SITHS_ERR_NOMEM, or -1 when o is not an identity's wire form.
 */
int siths_identity_unwire(const json_t *o, unsigned int flags, struct siths_identity **out);

#endif
