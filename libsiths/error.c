/*
 * error.c - status names and sentences, and the per-thread detail message
 * of the last failure on a context.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "log.h"
#include "text.h"

/*
 * unavailable: no answer could be had (a card, reader, server, file or the
 * configuration was in the way), as opposed to an answer that refuses the
 * person or certificate. Callers may offer another way in for the first,
 * never for the second. A card without any login certificate counts as no
 * SITHS card; a directory that answers with an error or an entry beyond the
 * caps gave no answer that can be used.
 */
struct status_text {
	int status;
	const char *name;
	int unavailable;
	const char *en;
	const char *sv;
};

#define A(code, en, sv) { code, #code, 1, en, sv }  /* no answer could be had */
#define S(code, en, sv) { code, #code, 0, en, sv }  /* an answer */
static const struct status_text status_table[] = {
	S(SITHS_OK, "success", "klart"),
	A(SITHS_ERR_INTERNAL, "internal error", "internt fel"),
	A(SITHS_ERR_NOMEM, "out of memory", "minnet räcker inte"),
	A(SITHS_ERR_INVALID_ARGUMENT, "invalid argument", "ogiltigt argument"),
	A(SITHS_ERR_CONFIG_OPEN, "the configuration file cannot be read",
	    "konfigurationsfilen kan inte läsas"),
	A(SITHS_ERR_CONFIG_UNSAFE, "the configuration file is not protected (owner, mode or symlink)",
	    "konfigurationsfilen är inte skyddad (ägare, rättigheter eller symbolisk länk)"),
	A(SITHS_ERR_CONFIG_SYNTAX, "the configuration file is malformed",
	    "konfigurationsfilen är felaktigt skriven"),
	A(SITHS_ERR_CONFIG_KEY, "unknown or repeated configuration key",
	    "okänd eller upprepad inställning i konfigurationen"),
	A(SITHS_ERR_CONFIG_VALUE, "bad configuration value", "felaktigt värde i konfigurationen"),
	A(SITHS_ERR_CONFIG_MISSING, "a required configuration key is missing",
	    "en nödvändig inställning saknas i konfigurationen"),
	A(SITHS_ERR_TRUST_LOAD, "the trusted certificates cannot be loaded",
	    "de betrodda certifikaten kan inte läsas in"),
	A(SITHS_ERR_CARD_MODULE, "the PKCS#11 module cannot be loaded",
	    "PKCS#11-modulen kan inte läsas in"),
	A(SITHS_ERR_CARD_ABSENT, "no card found", "inget kort hittades"),
	A(SITHS_ERR_CARD_NO_CERT, "the card holds no usable authentication certificate",
	    "kortet har inget användbart legitimeringscertifikat"),
	A(SITHS_ERR_CARD_IO, "the card failed an operation", "kortet kunde inte utföra en åtgärd"),
	A(SITHS_ERR_CARD_REMOVED, "the card was removed", "kortet togs ut"),
	A(SITHS_ERR_CARD_TIMEOUT, "the card did not answer in time", "kortet svarade inte i tid"),
	A(SITHS_ERR_CARD_SIGN, "the card could not sign", "kortet kunde inte signera"),
	S(SITHS_ERR_PROOF_FAILED, "the card did not prove that it holds the certificate's key",
	    "kortet kunde inte visa att det har certifikatets nyckel"),
	S(SITHS_ERR_CARD_NOT_LOGGED_IN, "the card needs the PIN first",
	    "kortet behöver PIN-koden först"),
	S(SITHS_ERR_CARD_CANCELLED, "the wait for a card or the PIN entry was cancelled",
	    "väntan på kortet eller inmatningen av PIN-koden avbröts"),
	S(SITHS_ERR_PIN_EMPTY, "no PIN was given", "ingen PIN-kod angavs"),
	S(SITHS_ERR_PIN_TOO_SHORT, "the PIN is too short", "PIN-koden är för kort"),
	S(SITHS_ERR_PIN_TOO_LONG, "the PIN is too long", "PIN-koden är för lång"),
	S(SITHS_ERR_PIN_FORMAT, "the PIN may contain digits only",
	    "PIN-koden får bara innehålla siffror"),
	S(SITHS_ERR_PIN_INCORRECT, "wrong PIN", "fel PIN-kod"),
	S(SITHS_ERR_PIN_LOCKED, "the PIN is locked", "PIN-koden är låst"),
	S(SITHS_ERR_PIN_MUST_CHANGE, "the PIN must be changed first",
	    "PIN-koden måste bytas först"),
	S(SITHS_ERR_CERT_PARSE, "not a valid certificate", "inget giltigt certifikat"),
	S(SITHS_ERR_CERT_UNTRUSTED, "the certificate is not issued by a trusted CA",
	    "certifikatet är inte utfärdat av en betrodd utfärdare"),
	S(SITHS_ERR_CERT_EXPIRED, "the certificate has expired", "certifikatet har gått ut"),
	S(SITHS_ERR_CERT_NOT_YET_VALID, "the certificate is not valid yet",
	    "certifikatet gäller inte än"),
	S(SITHS_ERR_CERT_SIGNATURE_ONLY, "a signature certificate cannot be used to log in",
	    "ett underskriftscertifikat kan inte användas för inloggning"),
	S(SITHS_ERR_CERT_KEY_USAGE, "the certificate's key usage does not allow this",
	    "certifikatets nyckelanvändning tillåter inte detta"),
	S(SITHS_ERR_CERT_EKU, "the certificate's extended key usage does not allow this",
	    "certifikatets utökade nyckelanvändning tillåter inte detta"),
	S(SITHS_ERR_CERT_NO_HSA_ID, "the certificate carries no HSA-id",
	    "certifikatet har inget HSA-id"),
	S(SITHS_ERR_CERT_HSA_ID_INVALID, "the certificate's HSA-id is malformed",
	    "certifikatets HSA-id är felaktigt"),
	S(SITHS_ERR_CERT_POLICY, "the certificate has no accepted certificate policy",
	    "certifikatet har ingen godkänd certifikatpolicy"),
	S(SITHS_ERR_CERT_LOA_TOO_LOW, "the certificate's level of assurance is too low",
	    "certifikatets tillitsnivå är för låg"),
	S(SITHS_ERR_CERT_WEAK_KEY, "the certificate's key is too weak",
	    "certifikatets nyckel är för svag"),
	S(SITHS_ERR_CERT_CHAIN, "the certification path is invalid",
	    "certifikatkedjan är ogiltig"),
	A(SITHS_ERR_REVOCATION_UNAVAILABLE, "revocation status could not be checked",
	    "det gick inte att kontrollera om certifikatet är spärrat"),
	S(SITHS_ERR_CERT_REVOKED, "the certificate is revoked", "certifikatet är spärrat"),
	S(SITHS_ERR_REVOCATION_UNKNOWN, "the revocation service does not know the certificate",
	    "spärrtjänsten känner inte till certifikatet"),
	S(SITHS_ERR_OCSP_INVALID, "the OCSP response is not valid", "OCSP-svaret är ogiltigt"),
	S(SITHS_ERR_OCSP_NONCE, "the OCSP response does not carry the nonce we sent",
	    "OCSP-svaret saknar det engångsvärde som skickades"),
	S(SITHS_ERR_CRL_INVALID, "the revocation list is not valid", "spärrlistan är ogiltig"),
	S(SITHS_ERR_REVOCATION_STALE, "the revocation information is out of date",
	    "spärrinformationen är inaktuell"),
	S(SITHS_ERR_CRL_NOT_COVERED, "no revocation list covers the certificate",
	    "ingen spärrlista omfattar certifikatet"),
	A(SITHS_ERR_HSA_UNREACHABLE, "the HSA directory cannot be reached",
	    "HSA-katalogen kan inte nås"),
	S(SITHS_ERR_HSA_NOT_FOUND, "the person is not in the HSA directory",
	    "personen finns inte i HSA-katalogen"),
	S(SITHS_ERR_HSA_AMBIGUOUS, "the HSA-id matches more than one directory entry",
	    "HSA-id:t matchar mer än en post i katalogen"),
	S(SITHS_ERR_HSA_INACTIVE, "the person's HSA commission is not active",
	    "personens uppdrag i HSA är inte aktivt"),
	A(SITHS_ERR_HSA_PROTOCOL, "the HSA directory answered with an error",
	    "HSA-katalogen svarade med ett fel"),
	A(SITHS_ERR_HSA_BIND, "the HSA directory refused our credentials",
	    "HSA-katalogen godtog inte våra inloggningsuppgifter"),
	A(SITHS_ERR_HSA_TIMEOUT, "the HSA directory did not answer in time",
	    "HSA-katalogen svarade inte i tid"),
	A(SITHS_ERR_HSA_ID_INVALID, "malformed HSA-id", "felaktigt HSA-id"),
	A(SITHS_ERR_HSA_ENTRY_TOO_LARGE, "the directory entry is too large",
	    "katalogposten är för stor"),
	S(SITHS_ERR_POLICY_NO_MAPPING, "no local user is mapped to this HSA-id",
	    "ingen lokal användare är kopplad till detta HSA-id"),
	S(SITHS_ERR_POLICY_USER_MISMATCH, "the card belongs to another user",
	    "kortet tillhör en annan användare"),
	S(SITHS_ERR_POLICY_ROOT_DENIED, "logging in as root with a card is not allowed",
	    "inloggning som root med kort är inte tillåten"),
	A(SITHS_ERR_POLICY_MAP_FILE, "the user map cannot be read",
	    "användarkopplingen kan inte läsas"),
	S(SITHS_ERR_POLICY_UNKNOWN_USER, "the mapped local user does not exist",
	    "den kopplade lokala användaren finns inte"),
	S(SITHS_ERR_POLICY_ORG_NOT_ALLOWED, "the person's organisation is not allowed here",
	    "personens organisation har inte tillgång här"),
	S(SITHS_ERR_POLICY_ROLE_MISSING, "the person lacks the role this needs",
	    "personen saknar den roll som krävs"),
	A(SITHS_ERR_SERVICE_UNAVAILABLE, "the validation service (sithsd) cannot be reached",
	    "valideringstjänsten (sithsd) kan inte nås"),
	A(SITHS_ERR_SERVICE_PROTOCOL, "the validation service gave no usable answer",
	    "valideringstjänsten gav inget användbart svar"),
	S(SITHS_ERR_SERVICE_DENIED, "the validation service does not answer this caller that",
	    "valideringstjänsten besvarar inte den frågan från den här användaren"),
	A(SITHS_ERR_SERVICE_UNTRUSTED,
	    "the validation service's socket is held by another user than the configured one",
	    "valideringstjänstens uttag hålls av en annan användare än den inställda"),
};
#undef A
#undef S

static const struct status_text *
status_lookup(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++) {
		if (status_table[i].status == status)
			return &status_table[i];
	}
	return NULL;
}

const char *
siths_strerror(int status)
{
	const struct status_text *st = status_lookup(status);

	return st != NULL ? st->en : "unknown status";
}

const char *
siths_strerror_lang(int status, const char *lang)
{
	const struct status_text *st = status_lookup(status);

	/* "sv", or a locale or language tag for Swedish: sv_SE.UTF-8, sv-FI */
	if (lang == NULL || strncmp(lang, "sv", 2) != 0 ||
	    (lang[2] != '\0' && strchr("_-.@", lang[2]) == NULL))
		return siths_strerror(status);
	return st != NULL ? st->sv : "okänd status";
}

const char *
siths_status_name(int status)
{
	const struct status_text *st = status_lookup(status);

	return st != NULL ? st->name : "SITHS_ERR_UNKNOWN";
}

int
siths_status_unavailable(int status)
{
	const struct status_text *st = status_lookup(status);

	/* a status this version does not know is no answer either */
	return st != NULL ? st->unavailable : 1;
}

/*
 * A thread's buffer on one context. The context lists them all, so that
 * siths_ctx_free() frees the buffers of threads that outlive it, and a
 * thread that exits first unlinks and frees its own.
 */
struct siths_errbuf {
	siths_ctx *ctx;
	struct siths_errbuf *prev, *next;
	char msg[SITHS_ERRMSG_MAX];
};

static void
errbuf_unlink(struct siths_errbuf *eb)
{
	if (eb->prev != NULL)
		eb->prev->next = eb->next;
	else
		eb->ctx->err_bufs = eb->next;
	if (eb->next != NULL)
		eb->next->prev = eb->prev;
}

/* pthread key destructor: the thread is exiting. */
static void
errbuf_release(void *p)
{
	struct siths_errbuf *eb = p;
	siths_ctx *ctx = eb->ctx;

	pthread_mutex_lock(&ctx->err_lock);
	errbuf_unlink(eb);
	pthread_mutex_unlock(&ctx->err_lock);
	free(eb);
}

int
siths_errbufs_init(siths_ctx *ctx)
{
	if (pthread_mutex_init(&ctx->err_lock, NULL) != 0)
		return SITHS_ERR_NOMEM;
	if (pthread_key_create(&ctx->err_key, errbuf_release) != 0) {
		pthread_mutex_destroy(&ctx->err_lock);
		return SITHS_ERR_NOMEM;
	}
	ctx->have_err_key = 1;
	return 0;
}

void
siths_errbufs_free(siths_ctx *ctx)
{
	struct siths_errbuf *eb, *next;

	if (!ctx->have_err_key)
		return;
	/* After this no destructor runs for the key; free what is left here. */
	pthread_setspecific(ctx->err_key, NULL);
	pthread_key_delete(ctx->err_key);
	ctx->have_err_key = 0;
	pthread_mutex_lock(&ctx->err_lock);
	for (eb = ctx->err_bufs; eb != NULL; eb = next) {
		next = eb->next;
		free(eb);
	}
	ctx->err_bufs = NULL;
	pthread_mutex_unlock(&ctx->err_lock);
	pthread_mutex_destroy(&ctx->err_lock);
}

/* The calling thread's buffer on ctx, allocated on first use; NULL if none. */
static char *
thread_errbuf(const siths_ctx *cctx, int create)
{
	siths_ctx *ctx = (siths_ctx *)(uintptr_t)cctx; /* the list is not the caller's state */
	struct siths_errbuf *eb;

	if (ctx == NULL || !ctx->have_err_key)
		return NULL;
	eb = pthread_getspecific(ctx->err_key);
	if (eb == NULL && create) {
		if ((eb = calloc(1, sizeof(*eb))) == NULL)
			return NULL;
		eb->ctx = ctx;
		pthread_mutex_lock(&ctx->err_lock);
		eb->next = ctx->err_bufs;
		if (eb->next != NULL)
			eb->next->prev = eb;
		ctx->err_bufs = eb;
		pthread_mutex_unlock(&ctx->err_lock);
		if (pthread_setspecific(ctx->err_key, eb) != 0) {
			errbuf_release(eb);
			return NULL;
		}
	}
	return eb != NULL ? eb->msg : NULL;
}

/*
 * The detail is formatted aside, then made printable into the thread's
 * buffer: its arguments often come from outside (a directory's DN and
 * dates, a server's text), and every caller of siths_ctx_errmsg() hands it
 * on to syslog, a terminal or JSON, where a CR, LF or escape sequence could
 * forge or hide lines. Formatting aside also lets a caller pass the
 * previous message as an argument.
 */
int
siths_fail(const siths_ctx *ctx, int status, const char *fmt, ...)
{
	char raw[SITHS_ERRMSG_MAX], *buf;
	va_list ap;

	if ((buf = thread_errbuf(ctx, 1)) == NULL)
		return status;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	siths_text_printable(buf, raw, SITHS_ERRMSG_MAX - 1);
	siths_debug(ctx, "%s: %s", siths_status_name(status), buf);
	return status;
}

void
siths_clear_error(const siths_ctx *ctx)
{
	char *buf = thread_errbuf(ctx, 0);

	if (buf != NULL)
		buf[0] = '\0';
}

const char *
siths_ctx_errmsg(const siths_ctx *ctx)
{
	const char *buf = thread_errbuf(ctx, 0);

	return buf != NULL ? buf : "";
}
