/*
 * p11.h - the one internal interface to cards: a PKCS#11 module through
 * libp11. Nothing outside p11.c touches PKCS#11.
 *
 * Every call that reaches the module waits at most [card] timeout_ms for
 * it and then fails with SITHS_ERR_CARD_TIMEOUT. A
 * module that overran a deadline is never called again in this process:
 * every later call fails with SITHS_ERR_CARD_MODULE until a restart.
 */
#ifndef SITHS_P11_H
#define SITHS_P11_H

#include <stddef.h>

#include <openssl/x509.h>

#include "siths.h"

struct siths_p11_token;

/* Load the configured module once per context (lazily); thread-safe. */
int siths_p11_init(siths_ctx *ctx);
void siths_p11_free(siths_ctx *ctx);

/*
 * Open the first initialised token present in a slot whose description
 * contains pattern (NULL or "": any). Uninitialised tokens are skipped.
 * SITHS_ERR_CARD_ABSENT when there is none.
 */
int siths_p11_open(siths_ctx *ctx, const char *pattern, struct siths_p11_token **out);
void siths_p11_close(struct siths_p11_token **tok);

const char *siths_p11_reader(const struct siths_p11_token *tok);
const char *siths_p11_label(const struct siths_p11_token *tok);
const char *siths_p11_serial(const struct siths_p11_token *tok);

/* The certificates on the token that have a private key beside them
 * (borrowed; valid until close). */
size_t siths_p11_cert_count(const struct siths_p11_token *tok);
X509 *siths_p11_cert(const struct siths_p11_token *tok, size_t i);

/* SITHS_PIN_* flags from the token's flags. */
int siths_p11_pin_state(struct siths_p11_token *tok, siths_pin_state *state);

/* C_Login as user. SITHS_ERR_PIN_INCORRECT, SITHS_ERR_PIN_LOCKED, ...
 * pin == NULL: the reader's PIN pad asks (within [card] pinpad_timeout_ms);
 * SITHS_ERR_CARD_CANCELLED when the person cancels there. */
int siths_p11_login(struct siths_p11_token *tok, const char *pin);

/*
 * C_SetPIN: the user PIN from old_pin to new_pin (whose form the caller
 * checked). SITHS_ERR_PIN_INCORRECT, SITHS_ERR_PIN_LOCKED, the form
 * statuses when the card refuses the new PIN, ...
 */
int siths_p11_change_pin(struct siths_p11_token *tok, const char *old_pin, const char *new_pin);
/*
 * Unblock: the PUK as the token's security officer PIN, then C_InitPIN with
 * new_pin. SITHS_ERR_PUK_INCORRECT, SITHS_ERR_PUK_LOCKED, or
 * SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED when the token or module offers no way.
 */
int siths_p11_unblock_pin(struct siths_p11_token *tok, const char *puk, const char *new_pin);

/* Forget a login: the card asks for the PIN again before it signs. */
void siths_p11_logout(struct siths_p11_token *tok);

/* How a card signed; every scheme hashes with SHA-256. */
enum siths_p11_mech {
	SITHS_P11_MECH_NONE = 0,
	SITHS_P11_RSA_PKCS1,   /* RSA PKCS#1 v1.5 */
	SITHS_P11_RSA_PSS,     /* RSA-PSS, MGF1-SHA-256, salt of SITHS_P11_PSS_SALT bytes */
	SITHS_P11_ECDSA,       /* ECDSA; the signature is PKCS#11's r || s */
};
#define SITHS_P11_PSS_SALT 32

/* "RSA-PSS/SHA-256" and so on; never NULL. */
const char *siths_p11_mech_name(enum siths_p11_mech mech);

/*
 * Sign data with the private key of certificate i, after a login, in the
 * best way the token offers for the key: ECDSA for EC; RSA-PSS, else PKCS#1
 * v1.5, for RSA. *mech says which, for the verifier; *sig is allocated.
 */
int siths_p11_sign(struct siths_p11_token *tok, size_t i, const unsigned char *data,
    size_t len, enum siths_p11_mech *mech, unsigned char **sig, size_t *siglen);

#endif
