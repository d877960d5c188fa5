/*
 * card.h - what a siths_card holds: the token, what its certificates are,
 * which one logs in, and what the PIN tries on it have shown. card.c finds
 * and describes the card; auth.c logs in with it; pin.c changes and
 * unblocks its PIN.
 */
#ifndef SITHS_CARD_H
#define SITHS_CARD_H

#include <stddef.h>

#include "siths.h"

struct siths_p11_token;

/* A certificate on the card, described once when the card is opened. */
struct siths_card_cert {
	siths_card_cert_kind kind;
	char *hsa_id;           /* NULL when it has none or a malformed one */
	char *name;             /* subject CN */
	char *org;              /* subject O */
	char *subject;          /* RFC 2253 */
	char *sha256;           /* hex */
	char *not_after;        /* ISO 8601 UTC */
};

struct siths_card {
	siths_ctx *ctx;
	struct siths_p11_token *tok;
	struct siths_card_cert *certs;  /* as the token lists them */
	size_t ncerts;
	size_t chosen;          /* the certificate that logs in; SIZE_MAX none */
	int logged_in;
	int wrong_pin;          /* a wrong PIN was entered since the last good one */
};

/* The refusal of a card whose chosen certificate is SIZE_MAX. */
int siths_card_no_identity(const siths_card *card);

/*
 * The start of every PIN try (login, change, unblock): *state cleared,
 * card checked, the context's error cleared, the card counted as logged
 * out. SITHS_ERR_INVALID_ARGUMENT for a NULL card.
 */
int siths_card_start_try(siths_card *card, siths_pin_state *state);

/* The PIN state after a try into *state, keeping the try's own failure r's message. */
void siths_card_state_after(siths_card *card, int r, siths_pin_state *state);

#endif
