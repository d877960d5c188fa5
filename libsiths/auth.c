/*
 * auth.c - a login with a card found by card.c: check the PIN's form,
 * log in, make the card sign a fresh host challenge and check that
 * signature before believing anything the card says, then validate the
 * certificate and resolve the holder in HSA. Also the same for a
 * certificate presented over TLS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <stdint.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "card.h"
#include "cert.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "identity.h"
#include "log.h"
#include "p11.h"
#include "verify.h"

/* Bytes of host randomness the card signs; 32 cannot be guessed or replayed. */
#define SITHS_CHALLENGE_LEN 32

/* The PIN's form, checked before the card is touched so a typo costs no try. */
static int
check_pin_form(const siths_ctx *ctx, const char *pin)
{
	size_t len, i, max = (size_t)ctx->cfg->pin_max;

	if (pin == NULL || pin[0] == '\0')
		return siths_fail(ctx, SITHS_ERR_PIN_EMPTY, "no PIN was entered");
	len = strnlen(pin, max + 1);
	if (len > max)
		return siths_fail(ctx, SITHS_ERR_PIN_TOO_LONG, "the PIN has more than %d digits",
		    ctx->cfg->pin_max);
	if (len < (size_t)ctx->cfg->pin_min)
		return siths_fail(ctx, SITHS_ERR_PIN_TOO_SHORT, "the PIN has fewer than %d digits",
		    ctx->cfg->pin_min);
	for (i = 0; i < len; i++) {
		if (pin[i] < '0' || pin[i] > '9')
			return siths_fail(ctx, SITHS_ERR_PIN_FORMAT, "the PIN may hold digits only");
	}
	return 0;
}

/* The PIN state after a try, keeping the try's own failure message. */
static void
read_state_after(siths_card *card, int r, siths_pin_state *state)
{
	char detail[SITHS_ERRMSG_MAX];

	snprintf(detail, sizeof(detail), "%s", siths_ctx_errmsg(card->ctx));
	if (siths_card_pin_state(card, state) != 0 && r != 0)
		siths_fail(card->ctx, r, "%s", detail);
}

int
siths_card_login(siths_card *card, const char *pin, siths_pin_state *state)
{
	siths_pin_state before = 0;
	int r;

	if (state != NULL)
		*state = 0;
	if (card == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(card->ctx);
	/* Every try starts logged out, so a failed try never rides on an earlier one. */
	card->logged_in = 0;
	siths_p11_logout(card->tok);
	if (pin != NULL && (r = check_pin_form(card->ctx, pin)) != 0)
		return r;
	if ((r = siths_p11_pin_state(card->tok, &before)) != 0)
		return r;
	if (pin == NULL && !(before & SITHS_PIN_PAD))
		return siths_fail(card->ctx, SITHS_ERR_PIN_EMPTY,
		    "no PIN was entered, and the reader has no PIN pad to ask for it");
	if (before & SITHS_PIN_LOCKED) {
		r = siths_fail(card->ctx, SITHS_ERR_PIN_LOCKED,
		    "the PIN is locked; unlock the card with its PUK");
	} else if ((r = siths_p11_login(card->tok, pin)) == 0) {
		card->logged_in = 1;
		card->wrong_pin = 0;
	} else if (r == SITHS_ERR_PIN_INCORRECT) {
		card->wrong_pin = 1;
	}
	if (state != NULL)
		read_state_after(card, r, state);
	return r;
}

static int
verify_signature(const siths_ctx *ctx, X509 *cert, const unsigned char *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	int ok = 0;

	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) == 1)
		ok = EVP_DigestVerify(md, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
		return siths_fail(ctx, SITHS_ERR_PROOF_FAILED,
		    "the card's signature over the challenge does not verify with its "
		    "certificate's key");
	return 0;
}

/* Proof of possession: the card signs host randomness; we check it. */
static int
prove_possession(siths_card *card, X509 *cert)
{
	unsigned char challenge[SITHS_CHALLENGE_LEN];
	unsigned char *sig = NULL;
	size_t siglen = 0;
	ssize_t got;
	int r;

	do {
		got = getrandom(challenge, sizeof(challenge), 0);
	} while (got == -1 && errno == EINTR);
	if (got != (ssize_t)sizeof(challenge))
		return siths_fail(card->ctx, SITHS_ERR_INTERNAL, "the host RNG failed");
	if ((r = siths_p11_sign(card->tok, card->chosen, challenge, sizeof(challenge), &sig,
	    &siglen)) == 0)
		r = verify_signature(card->ctx, cert, challenge, sizeof(challenge), sig, siglen);
	explicit_bzero(challenge, sizeof(challenge));
	free(sig);
	return r;
}

/* The directory's identity for a validated certificate's holder. */
static int
resolve_holder(siths_ctx *ctx, const struct siths_identity *cert_id, siths_identity **out)
{
	struct siths_identity *dir = NULL;
	int r;

	*out = NULL;
	if ((r = siths_hsa_lookup(ctx, cert_id->hsa_id, &dir)) != 0)
		return r;
	if ((r = siths_identity_merge_cert(dir, cert_id)) != 0) {
		siths_identity_free(&dir);
		return r;
	}
	*out = dir;
	return 0;
}

int
siths_card_authenticate(siths_card *card, siths_identity **out)
{
	struct siths_identity *cert_id = NULL;
	X509 *cert;
	int r;

	if (out != NULL)
		*out = NULL;
	if (card == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(card->ctx);
	if (!card->logged_in)
		return siths_fail(card->ctx, SITHS_ERR_CARD_NOT_LOGGED_IN,
		    "siths_card_login() must succeed first");
	if (card->chosen == SIZE_MAX)
		return siths_card_no_identity(card);
	cert = siths_p11_cert(card->tok, card->chosen);
	if ((r = prove_possession(card, cert)) != 0 ||
	    (r = siths_verify_x509(card->ctx, cert, NULL, &cert_id)) != 0 ||
	    (r = resolve_holder(card->ctx, cert_id, out)) != 0)
		goto out;
	siths_notice(card->ctx, "card login: %s (LoA %d) proved possession and is active in HSA",
	    cert_id->hsa_id, cert_id->loa);
out:
	siths_identity_free(&cert_id);
	return r;
}

int
siths_login_cert(siths_ctx *ctx, const unsigned char *der, size_t len,
    const siths_verify_opts *opts, siths_identity **out)
{
	struct siths_identity *cert_id = NULL;
	int r;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || ctx->cfg == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	/* A person logs in with a person's certificate, never a system's. */
	if (siths_verify_opts_profile(opts) != SITHS_PROFILE_LOGIN)
		return siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT,
		    "siths_login_cert takes the login profile only");
	if ((r = siths_verify_cert(ctx, der, len, opts, &cert_id)) != 0)
		return r;
	r = resolve_holder(ctx, cert_id, out);
	siths_identity_free(&cert_id);
	return r;
}
