/*
 * card.c - finding a card and telling what it holds: the wait for a card in
 * a reader, its certificates described for display, the choice of the one
 * that logs in (a signature certificate never does), and its PIN state.
 * Logging in with the card is auth.c's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "card.h"
#include "cert.h"
#include "ctx.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "p11.h"
#include "pcsc.h"
#include "text.h"

/* Bytes kept of a name or subject on a card, for display. */
#define SITHS_CARD_TEXT_MAX 512
/* How often a waiting call looks for a card again where PC/SC cannot tell. */
#define SITHS_CARD_POLL_MS 250

static long
ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/*
 * Wait for the card with PC/SC events where pcscd runs; where it does not
 * (a software token such as SoftHSM2), look at the PKCS#11 slots now and
 * then instead.
 */
static int
open_token(siths_ctx *ctx, const char *pattern, int timeout_ms, struct siths_p11_token **tok)
{
	struct timespec start, pause = { 0, SITHS_CARD_POLL_MS * 1000000L };
	unsigned long gen = siths_pcsc_cancel_gen(ctx);
	char *reader = NULL;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (timeout_ms > 0) {
		r = siths_pcsc_wait(ctx, pattern, timeout_ms, &reader);
		if (r == SITHS_ERR_CARD_CANCELLED)
			return r;
		if (r == 0) {
			/* The module's slot for that reader is named after it. Right
			 * after pcscd restarted, the module may not have found its
			 * readers again yet: ask again until the deadline. */
			while ((r = siths_p11_open(ctx, reader, tok)) == SITHS_ERR_CARD_IO ||
			    r == SITHS_ERR_CARD_ABSENT) {
				if (ms_since(&start) >= timeout_ms)
					break;
				nanosleep(&pause, NULL);
			}
			free(reader);
			return r;
		}
		siths_clear_error(ctx);
	}
	for (;;) {
		r = siths_p11_open(ctx, pattern, tok);
		/* a reader layer that fails for a moment (a module reconnecting
		 * to a restarted pcscd) is waited out like an absent card */
		if ((r != SITHS_ERR_CARD_ABSENT && r != SITHS_ERR_CARD_IO) ||
		    ms_since(&start) >= timeout_ms)
			return r;
		if (r == SITHS_ERR_CARD_IO)
			siths_debug(ctx, "while waiting for a card: %s", siths_ctx_errmsg(ctx));
		nanosleep(&pause, NULL);
		if (siths_pcsc_cancel_gen(ctx) != gen)
			return siths_fail(ctx, SITHS_ERR_CARD_CANCELLED,
			    "the wait for a card was cancelled");
	}
}

/* --- what the certificates are ------------------------------------------- */

/* A printable copy of value (NULL stays NULL) in *dst; 0 when out of memory. */
static int
shown(char **dst, const char *value)
{
	if (value == NULL)
		return 1;
	return (*dst = siths_text_printable_dup(value, SITHS_CARD_TEXT_MAX)) != NULL;
}

/*
 * Describe one certificate for display. What cannot be read stays NULL: a
 * card's odd certificate is refused with its reason at login, not here.
 */
static int
cert_describe(siths_ctx *ctx, X509 *x509, struct siths_card_cert *c)
{
	struct siths_identity *id = NULL;

	int described;

	if ((id = siths_identity_new()) == NULL)
		return SITHS_ERR_NOMEM;
	if (siths_cert_hsa_id(ctx, x509, &c->hsa_id) != 0)
		c->hsa_id = NULL;
	/* one description serves the profile check and the display */
	described = siths_cert_describe(ctx, x509, id) == 0;
	c->kind = SITHS_CARD_CERT_OTHER;
	if (siths_cert_is_signature_only(x509))
		c->kind = SITHS_CARD_CERT_SIGNATURE;
	else if (described &&
	    siths_cert_check_profile(ctx, x509, SITHS_PROFILE_LOGIN, id) == 0)
		c->kind = SITHS_CARD_CERT_LOGIN;
	/* Nothing on the card is validated yet, and these reach prompts: a
	 * card's own names must not steer a terminal. */
	if (described &&
	    (!shown(&c->name, id->display_name) || !shown(&c->org, id->org_name) ||
	    !shown(&c->subject, id->cert_subject) || !shown(&c->sha256, id->cert_sha256) ||
	    !shown(&c->not_after, id->cert_not_after))) {
		siths_identity_free(&id);
		return SITHS_ERR_NOMEM;
	}
	siths_identity_free(&id);
	/* the profile's refusals above describe, they do not fail the call */
	siths_clear_error(ctx);
	return 0;
}

static void
cert_clear(struct siths_card_cert *c)
{
	free(c->hsa_id);
	free(c->name);
	free(c->org);
	free(c->subject);
	free(c->sha256);
	free(c->not_after);
}

/* The certificate that logs in unless the caller chooses: the first that
 * fits the login profile; SIZE_MAX when none does. */
static size_t
default_choice(const siths_card *card)
{
	size_t i;

	for (i = 0; i < card->ncerts; i++) {
		if (card->certs[i].kind == SITHS_CARD_CERT_LOGIN)
			return i;
	}
	return SIZE_MAX;
}

/*
 * Why a card has no identity, before any PIN is asked. A certificate meant
 * for login (digitalSignature) that the profile refuses is refused with the
 * profile's own reason, so that a person learns what is wrong with the card
 * rather than that nothing was found.
 */
int
siths_card_no_identity(const siths_card *card)
{
	struct siths_identity *scratch = NULL;
	size_t i, signing = 0;
	uint32_t ku;
	X509 *x509;
	int r;

	for (i = 0; i < card->ncerts; i++) {
		x509 = siths_p11_cert(card->tok, i);
		ku = X509_get_key_usage(x509);
		signing += card->certs[i].kind == SITHS_CARD_CERT_SIGNATURE;
		if (card->certs[i].kind == SITHS_CARD_CERT_SIGNATURE || ku == UINT32_MAX ||
		    !(ku & KU_DIGITAL_SIGNATURE))
			continue;
		if ((scratch = siths_identity_new()) == NULL)
			return siths_fail(card->ctx, SITHS_ERR_NOMEM, "out of memory");
		if ((r = siths_cert_describe(card->ctx, x509, scratch)) == 0)
			r = siths_cert_check_profile(card->ctx, x509, SITHS_PROFILE_LOGIN, scratch);
		siths_identity_free(&scratch);
		if (r != 0)
			return r; /* the profile's status and message stand */
	}
	if (card->ncerts > 0 && signing == card->ncerts)
		return siths_fail(card->ctx, SITHS_ERR_CERT_SIGNATURE_ONLY,
		    "the card in '%s' holds only signature certificates (nonRepudiation), "
		    "which never log anyone in", siths_p11_reader(card->tok));
	return siths_fail(card->ctx, SITHS_ERR_CARD_NO_CERT,
	    "the card in '%s' holds %zu certificate(s) with a key, none for authentication "
	    "(keyUsage digitalSignature)", siths_p11_reader(card->tok), card->ncerts);
}

/* A card around an open token; the token is the card's from here on. */
static int
card_new(siths_ctx *ctx, struct siths_p11_token **tokp, siths_card **out)
{
	siths_card *card = NULL;
	size_t i, n = siths_p11_cert_count(*tokp);
	int r = SITHS_ERR_INTERNAL;

	*out = NULL;
	if ((card = calloc(1, sizeof(*card))) == NULL ||
	    (card->certs = calloc(n > 0 ? n : 1, sizeof(*card->certs))) == NULL) {
		free(card);
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	}
	card->ctx = ctx;
	card->tok = *tokp;
	*tokp = NULL; /* transferred */
	for (i = 0; i < n; i++) {
		if ((r = cert_describe(ctx, siths_p11_cert(card->tok, i), &card->certs[i])) != 0) {
			card->ncerts = i + 1;
			siths_card_free(&card);
			return siths_fail(ctx, r, "out of memory");
		}
	}
	card->ncerts = n;
	card->chosen = default_choice(card);
	*out = card;
	return 0;
}

static int
card_find(siths_ctx *ctx, const char *reader_pattern, int timeout_ms, int need_identity,
    siths_card **out)
{
	struct siths_p11_token *tok = NULL;
	siths_card *card = NULL;
	int r = SITHS_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || ctx->cfg == NULL || out == NULL || timeout_ms < 0)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	if (reader_pattern == NULL || *reader_pattern == '\0')
		reader_pattern = ctx->cfg->card_reader;
	if ((r = siths_p11_init(ctx)) != 0 ||
	    (r = open_token(ctx, reader_pattern, timeout_ms, &tok)) != 0 ||
	    (r = card_new(ctx, &tok, &card)) != 0)
		goto out;
	if (need_identity && card->chosen == SIZE_MAX) {
		r = siths_card_no_identity(card);
		goto out;
	}
	siths_info(ctx, "card '%s' in '%s': %zu login identit%s", siths_p11_label(card->tok),
	    siths_p11_reader(card->tok), siths_card_identity_count(card),
	    siths_card_identity_count(card) == 1 ? "y" : "ies");
	*out = card;
	card = NULL; /* transferred */
	/* success */
	r = 0;
out:
	siths_card_free(&card);
	siths_p11_close(&tok);
	return r;
}

int
siths_card_wait(siths_ctx *ctx, const char *reader_pattern, int timeout_ms, siths_card **out)
{
	return card_find(ctx, reader_pattern, timeout_ms, 1, out);
}

int
siths_card_open(siths_ctx *ctx, const char *reader_pattern, siths_card **out)
{
	return card_find(ctx, reader_pattern, 0, 0, out);
}

void
siths_card_free(siths_card **cardp)
{
	siths_card *card;
	size_t i;

	if (cardp == NULL || (card = *cardp) == NULL)
		return;
	*cardp = NULL;
	siths_p11_close(&card->tok);
	for (i = 0; i < card->ncerts; i++)
		cert_clear(&card->certs[i]);
	free(card->certs);
	free(card);
}

void
siths_ctx_cancel_wait(siths_ctx *ctx)
{
	siths_pcsc_cancel(ctx);
}

const char *
siths_card_token_label(const siths_card *card)
{
	return card != NULL ? siths_p11_label(card->tok) : NULL;
}

const char *
siths_card_token_serial(const siths_card *card)
{
	return card != NULL ? siths_p11_serial(card->tok) : NULL;
}

const char *
siths_card_reader(const siths_card *card)
{
	return card != NULL ? siths_p11_reader(card->tok) : NULL;
}

const char *
siths_card_hsa_id(const siths_card *card)
{
	if (card == NULL || card->chosen == SIZE_MAX)
		return NULL;
	return card->certs[card->chosen].hsa_id;
}

/* --- the certificates, for display and choice ------------------------------ */

size_t
siths_card_cert_count(const siths_card *card)
{
	return card != NULL ? card->ncerts : 0;
}

static const struct siths_card_cert *
card_cert(const siths_card *card, size_t i)
{
	return card != NULL && i < card->ncerts ? &card->certs[i] : NULL;
}

/* A string of certificate i, by its place in struct siths_card_cert. */
static const char *
cert_string(const siths_card *card, size_t i, size_t offset)
{
	const struct siths_card_cert *c = card_cert(card, i);

	return c != NULL ? *(char *const *)(const void *)((const char *)c + offset) : NULL;
}

#define CERT_STRING(field) offsetof(struct siths_card_cert, field)

siths_card_cert_kind
siths_card_cert_kind_of(const siths_card *card, size_t i)
{
	const struct siths_card_cert *c = card_cert(card, i);

	return c != NULL ? c->kind : SITHS_CARD_CERT_OTHER;
}

const char *
siths_card_cert_hsa_id(const siths_card *card, size_t i)
{
	return cert_string(card, i, CERT_STRING(hsa_id));
}

const char *
siths_card_cert_name(const siths_card *card, size_t i)
{
	return cert_string(card, i, CERT_STRING(name));
}

const char *
siths_card_cert_org(const siths_card *card, size_t i)
{
	return cert_string(card, i, CERT_STRING(org));
}

const char *
siths_card_cert_subject(const siths_card *card, size_t i)
{
	return cert_string(card, i, CERT_STRING(subject));
}

const char *
siths_card_cert_sha256(const siths_card *card, size_t i)
{
	return cert_string(card, i, CERT_STRING(sha256));
}

const char *
siths_card_cert_not_after(const siths_card *card, size_t i)
{
	return cert_string(card, i, CERT_STRING(not_after));
}

int
siths_card_cert_der(const siths_card *card, size_t i, unsigned char **der, size_t *len)
{
	unsigned char *buf = NULL;
	int n;

	if (der != NULL)
		*der = NULL;
	if (len != NULL)
		*len = 0;
	if (card == NULL || i >= card->ncerts || der == NULL || len == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((n = i2d_X509(siths_p11_cert(card->tok, i), &buf)) <= 0)
		return siths_fail(card->ctx, SITHS_ERR_NOMEM, "cannot encode certificate %zu", i);
	/* the caller free()s it: not OpenSSL's allocator, which may be its own */
	if ((*der = malloc((size_t)n)) == NULL) {
		OPENSSL_free(buf);
		return siths_fail(card->ctx, SITHS_ERR_NOMEM, "out of memory");
	}
	memcpy(*der, buf, (size_t)n);
	OPENSSL_free(buf);
	*len = (size_t)n;
	return 0;
}

size_t
siths_card_identity_count(const siths_card *card)
{
	size_t i, n = 0;

	for (i = 0; card != NULL && i < card->ncerts; i++)
		n += card->certs[i].kind == SITHS_CARD_CERT_LOGIN;
	return n;
}

int
siths_card_choose(siths_card *card, size_t i)
{
	if (card == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(card->ctx);
	if (i >= card->ncerts)
		return siths_fail(card->ctx, SITHS_ERR_INVALID_ARGUMENT,
		    "the card holds %zu certificate(s); there is no number %zu", card->ncerts, i);
	if (card->certs[i].kind == SITHS_CARD_CERT_SIGNATURE)
		return siths_fail(card->ctx, SITHS_ERR_CERT_SIGNATURE_ONLY,
		    "certificate %zu is a signature certificate, which never logs anyone in", i);
	if (card->certs[i].kind != SITHS_CARD_CERT_LOGIN)
		return siths_fail(card->ctx, SITHS_ERR_CARD_NO_CERT,
		    "certificate %zu does not fit the login profile", i);
	card->chosen = i;
	return 0;
}

size_t
siths_card_chosen(const siths_card *card)
{
	return card != NULL ? card->chosen : SIZE_MAX;
}

/* --- PIN state ------------------------------------------------------------ */

int
siths_card_pin_state(siths_card *card, siths_pin_state *state)
{
	int r;

	if (state != NULL)
		*state = 0;
	if (card == NULL || state == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((r = siths_p11_pin_state(card->tok, state)) != 0)
		return r;
	/*
	 * PKCS#11's COUNT_LOW means a wrong PIN since the last good one. Some
	 * modules never say so (OpenSC's PIV driver does not know the maximum
	 * and reports only the final try): what this card saw itself counts.
	 */
	if (card->wrong_pin && !(*state & (SITHS_PIN_FINAL_TRY | SITHS_PIN_LOCKED)))
		*state |= SITHS_PIN_COUNT_LOW;
	return 0;
}

int
siths_card_start_try(siths_card *card, siths_pin_state *state)
{
	if (state != NULL)
		*state = 0;
	if (card == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(card->ctx);
	card->logged_in = 0;
	return 0;
}

void
siths_card_state_after(siths_card *card, int r, siths_pin_state *state)
{
	char detail[SITHS_ERRMSG_MAX];

	snprintf(detail, sizeof(detail), "%s", siths_ctx_errmsg(card->ctx));
	if (siths_card_pin_state(card, state) != 0 && r != 0)
		siths_fail(card->ctx, r, "%s", detail);
}
