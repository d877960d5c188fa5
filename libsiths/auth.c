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

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
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
#include "service.h"
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

int
siths_ctx_check_pin(const siths_ctx *ctx, const char *pin)
{
	if (ctx == NULL || ctx->cfg == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	return check_pin_form(ctx, pin);
}

int
siths_card_login(siths_card *card, const char *pin, siths_pin_state *state)
{
	siths_pin_state before = 0;
	int r;

	/* Every try starts logged out, so a failed try never rides on an earlier one. */
	if ((r = siths_card_start_try(card, state)) != 0)
		return r;
	siths_p11_logout(card->tok);
	if (pin != NULL && (r = check_pin_form(card->ctx, pin)) != 0) {
		/* no try was used; the state still warns of a final try */
		if (state != NULL)
			siths_card_state_after(card, r, state);
		return r;
	}
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
		siths_card_state_after(card, r, state);
	return r;
}

/* Does the scheme the card says it used belong to the certificate's key? */
static int
scheme_fits(int key_type, enum siths_p11_mech mech)
{
	switch (mech) {
	case SITHS_P11_RSA_PKCS1:
	case SITHS_P11_RSA_PSS:
		return key_type == EVP_PKEY_RSA;
	case SITHS_P11_ECDSA:
		return key_type == EVP_PKEY_EC;
	default:
		return 0;
	}
}

/*
 * PKCS#11 gives an ECDSA signature as r || s, each as long as the group's
 * order; OpenSSL verifies DER. -1 when sig has the wrong length for pub.
 */
static int
ecdsa_der(EVP_PKEY *pub, const unsigned char *sig, size_t siglen, unsigned char **der,
    size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int bits = EVP_PKEY_get_bits(pub), n, ret = -1;
	size_t half;

	*der = NULL;
	*derlen = 0;
	if (bits <= 0)
		return -1;
	half = ((size_t)bits + 7) / 8;
	if (siglen != 2 * half)
		return -1;
	if ((r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + half, (int)half, NULL)) == NULL || (es = ECDSA_SIG_new()) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* transferred */
	if ((n = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	*derlen = (size_t)n;
	/* success */
	ret = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return ret;
}

/* SHA-256 and the padding of mech on an RSA key; nothing to set for ECDSA. */
static int
verify_params(EVP_PKEY_CTX *pctx, enum siths_p11_mech mech)
{
	switch (mech) {
	case SITHS_P11_RSA_PKCS1:
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	case SITHS_P11_RSA_PSS:
		/* the salt exactly as the card was asked for it */
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, SITHS_P11_PSS_SALT) > 0;
	default:
		return 1;
	}
}

/* The card's signature checked with its certificate's key, in the scheme it used. */
static int
verify_signature(const siths_ctx *ctx, X509 *cert, enum siths_p11_mech mech,
    const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL; /* borrowed from md */
	unsigned char *der = NULL;
	size_t derlen = 0;
	int type = pub != NULL ? EVP_PKEY_get_base_id(pub) : EVP_PKEY_NONE;
	int r = SITHS_ERR_INTERNAL;

	/* a card must not pick a scheme its certificate's key does not have */
	if (!scheme_fits(type, mech)) {
		r = siths_fail(ctx, SITHS_ERR_PROOF_FAILED,
		    "the card signed with %s, which does not fit its certificate's %s key",
		    siths_p11_mech_name(mech), type != EVP_PKEY_NONE ? OBJ_nid2sn(type) : "missing");
		goto out;
	}
	if (mech == SITHS_P11_ECDSA) {
		if (ecdsa_der(pub, sig, siglen, &der, &derlen) != 0) {
			r = siths_fail(ctx, SITHS_ERR_PROOF_FAILED,
			    "the card's ECDSA signature has the wrong length (%zu bytes)", siglen);
			goto out;
		}
		sig = der;
		siglen = derlen;
	}
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub) != 1 ||
	    !verify_params(pctx, mech)) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "cannot set up %s verification",
		    siths_p11_mech_name(mech));
		goto out;
	}
	if (EVP_DigestVerify(md, sig, siglen, data, len) != 1) {
		r = siths_fail(ctx, SITHS_ERR_PROOF_FAILED,
		    "the card's signature over the challenge (%s) does not verify with its "
		    "certificate's key", siths_p11_mech_name(mech));
		goto out;
	}
	siths_debug(ctx, "proof of possession with %s", siths_p11_mech_name(mech));
	/* success */
	r = 0;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

/* Proof of possession: the card signs host randomness; we check it. */
static int
prove_possession(siths_card *card, X509 *cert)
{
	unsigned char challenge[SITHS_CHALLENGE_LEN];
	unsigned char *sig = NULL;
	size_t siglen = 0;
	enum siths_p11_mech mech = SITHS_P11_MECH_NONE;
	ssize_t got;
	int r;

	do {
		got = getrandom(challenge, sizeof(challenge), 0);
	} while (got == -1 && errno == EINTR);
	if (got != (ssize_t)sizeof(challenge))
		return siths_fail(card->ctx, SITHS_ERR_INTERNAL, "the host RNG failed");
	if ((r = siths_p11_sign(card->tok, card->chosen, challenge, sizeof(challenge), &mech,
	    &sig, &siglen)) == 0)
		r = verify_signature(card->ctx, cert, mech, challenge, sizeof(challenge), sig,
		    siglen);
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

/*
 * The card's certificate validated, its holder resolved and mapped by
 * sithsd: its status, or 1 when the caller is to go on in-process.
 */
static int
validate_by_service(siths_ctx *ctx, X509 *cert, siths_identity **out)
{
	unsigned char *der = NULL;
	int n, r;

	if ((n = i2d_X509(cert, &der)) <= 0) {
		ERR_clear_error();
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	}
	r = siths_service_verify(ctx, der, (size_t)n, NULL, 1, out);
	OPENSSL_free(der);
	if (siths_service_fallback(ctx, &r))
		return 1;
	if (r == 0)
		siths_notice(ctx, "card login: %s proved possession; sithsd validated it%s",
		    (*out)->hsa_id, (*out)->stale ? " (the directory's answer is stale)" : "");
	return r;
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
	if ((r = prove_possession(card, cert)) != 0)
		return r;
	/* the card's part is done here; sithsd, when asked, does the rest */
	if (siths_service_enabled(card->ctx) && (r = validate_by_service(card->ctx, cert,
	    out)) != 1)
		return r;
	if ((r = siths_verify_x509(card->ctx, cert, NULL, &cert_id)) != 0 ||
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
	if (siths_service_enabled(ctx)) {
		r = siths_service_verify(ctx, der, len, opts, 1, out);
		if (!siths_service_fallback(ctx, &r))
			return r;
	}
	if ((r = siths_verify_cert(ctx, der, len, opts, &cert_id)) != 0)
		return r;
	r = resolve_holder(ctx, cert_id, out);
	siths_identity_free(&cert_id);
	return r;
}
