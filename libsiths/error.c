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
#include "i18n.h"
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
	const char *en;         /* the msgid; po/sv.po has it in Swedish */
};

#define A(code, en) { code, #code, 1, en }  /* no answer could be had */
#define S(code, en) { code, #code, 0, en }  /* an answer */
static const struct status_text status_table[] = {
	S(SITHS_OK, N_("success")),
	A(SITHS_ERR_INTERNAL, N_("internal error")),
	A(SITHS_ERR_NOMEM, N_("out of memory")),
	A(SITHS_ERR_INVALID_ARGUMENT, N_("invalid argument")),
	A(SITHS_ERR_CONFIG_OPEN, N_("the configuration file cannot be read")),
	A(SITHS_ERR_CONFIG_UNSAFE,
	    N_("the configuration file is not protected (owner, mode or symlink)")),
	A(SITHS_ERR_CONFIG_SYNTAX, N_("the configuration file is malformed")),
	A(SITHS_ERR_CONFIG_KEY, N_("unknown or repeated configuration key")),
	A(SITHS_ERR_CONFIG_VALUE, N_("bad configuration value")),
	A(SITHS_ERR_CONFIG_MISSING, N_("a required configuration key is missing")),
	A(SITHS_ERR_TRUST_LOAD, N_("the trusted certificates cannot be loaded")),
	A(SITHS_ERR_CARD_MODULE, N_("the PKCS#11 module cannot be loaded")),
	A(SITHS_ERR_CARD_ABSENT, N_("no card found")),
	A(SITHS_ERR_CARD_NO_CERT, N_("the card holds no usable authentication certificate")),
	A(SITHS_ERR_CARD_IO, N_("the card failed an operation")),
	A(SITHS_ERR_CARD_REMOVED, N_("the card was removed")),
	A(SITHS_ERR_CARD_TIMEOUT, N_("the card did not answer in time")),
	A(SITHS_ERR_CARD_SIGN, N_("the card could not sign")),
	S(SITHS_ERR_PROOF_FAILED, N_("the card did not prove that it holds the certificate's key")),
	S(SITHS_ERR_CARD_NOT_LOGGED_IN, N_("the card needs the PIN first")),
	S(SITHS_ERR_CARD_CANCELLED, N_("the wait for a card or the PIN entry was cancelled")),
	S(SITHS_ERR_PIN_EMPTY, N_("no PIN was given")),
	S(SITHS_ERR_PIN_TOO_SHORT, N_("the PIN is too short")),
	S(SITHS_ERR_PIN_TOO_LONG, N_("the PIN is too long")),
	S(SITHS_ERR_PIN_FORMAT, N_("the PIN may contain digits only")),
	S(SITHS_ERR_PIN_INCORRECT, N_("wrong PIN")),
	S(SITHS_ERR_PIN_LOCKED, N_("the PIN is locked")),
	S(SITHS_ERR_PIN_MUST_CHANGE, N_("the PIN must be changed first")),
	S(SITHS_ERR_PIN_UNCHANGED, N_("the new PIN is the same as the old one")),
	S(SITHS_ERR_PIN_MISMATCH, N_("the two new PINs differ")),
	S(SITHS_ERR_PUK_INCORRECT, N_("wrong PUK")),
	S(SITHS_ERR_PUK_LOCKED, N_("the PUK is locked")),
	S(SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED,
	    N_("this card cannot be unblocked here; ask the card's issuer to unblock it")),
	S(SITHS_ERR_CERT_PARSE, N_("not a valid certificate")),
	S(SITHS_ERR_CERT_UNTRUSTED, N_("the certificate is not issued by a trusted CA")),
	S(SITHS_ERR_CERT_EXPIRED, N_("the certificate has expired")),
	S(SITHS_ERR_CERT_NOT_YET_VALID, N_("the certificate is not valid yet")),
	S(SITHS_ERR_CERT_SIGNATURE_ONLY, N_("a signature certificate cannot be used to log in")),
	S(SITHS_ERR_CERT_KEY_USAGE, N_("the certificate's key usage does not allow this")),
	S(SITHS_ERR_CERT_EKU, N_("the certificate's extended key usage does not allow this")),
	S(SITHS_ERR_CERT_NO_HSA_ID, N_("the certificate carries no HSA-id")),
	S(SITHS_ERR_CERT_HSA_ID_INVALID, N_("the certificate's HSA-id is malformed")),
	S(SITHS_ERR_CERT_POLICY, N_("the certificate has no accepted certificate policy")),
	S(SITHS_ERR_CERT_LOA_TOO_LOW, N_("the certificate's level of assurance is too low")),
	S(SITHS_ERR_CERT_WEAK_KEY, N_("the certificate's key is too weak")),
	S(SITHS_ERR_CERT_CHAIN, N_("the certification path is invalid")),
	A(SITHS_ERR_REVOCATION_UNAVAILABLE, N_("revocation status could not be checked")),
	S(SITHS_ERR_CERT_REVOKED, N_("the certificate is revoked")),
	S(SITHS_ERR_REVOCATION_UNKNOWN, N_("the revocation service does not know the certificate")),
	S(SITHS_ERR_OCSP_INVALID, N_("the OCSP response is not valid")),
	S(SITHS_ERR_OCSP_NONCE, N_("the OCSP response does not carry the nonce we sent")),
	S(SITHS_ERR_CRL_INVALID, N_("the revocation list is not valid")),
	S(SITHS_ERR_REVOCATION_STALE, N_("the revocation information is out of date")),
	S(SITHS_ERR_CRL_NOT_COVERED, N_("no revocation list covers the certificate")),
	A(SITHS_ERR_HSA_UNREACHABLE, N_("the HSA directory cannot be reached")),
	S(SITHS_ERR_HSA_NOT_FOUND, N_("the person is not in the HSA directory")),
	S(SITHS_ERR_HSA_AMBIGUOUS, N_("the HSA-id matches more than one directory entry")),
	S(SITHS_ERR_HSA_INACTIVE, N_("the person's HSA commission is not active")),
	A(SITHS_ERR_HSA_PROTOCOL, N_("the HSA directory answered with an error")),
	A(SITHS_ERR_HSA_BIND, N_("the HSA directory refused our credentials")),
	A(SITHS_ERR_HSA_TIMEOUT, N_("the HSA directory did not answer in time")),
	A(SITHS_ERR_HSA_ID_INVALID, N_("malformed HSA-id")),
	A(SITHS_ERR_HSA_ENTRY_TOO_LARGE, N_("the directory entry is too large")),
	S(SITHS_ERR_POLICY_NO_MAPPING, N_("no local user is mapped to this HSA-id")),
	S(SITHS_ERR_POLICY_USER_MISMATCH, N_("the card belongs to another user")),
	S(SITHS_ERR_POLICY_ROOT_DENIED, N_("logging in as root with a card is not allowed")),
	A(SITHS_ERR_POLICY_MAP_FILE, N_("the user map cannot be read")),
	S(SITHS_ERR_POLICY_UNKNOWN_USER, N_("the mapped local user does not exist")),
	S(SITHS_ERR_POLICY_ORG_NOT_ALLOWED, N_("the person's organisation is not allowed here")),
	S(SITHS_ERR_POLICY_ROLE_MISSING, N_("the person lacks the role this needs")),
	A(SITHS_ERR_SERVICE_UNAVAILABLE, N_("the validation service (sithsd) cannot be reached")),
	A(SITHS_ERR_SERVICE_PROTOCOL, N_("the validation service gave no usable answer")),
	S(SITHS_ERR_SERVICE_DENIED, N_("the validation service does not answer this caller that")),
	A(SITHS_ERR_SERVICE_UNTRUSTED,
	    N_("the validation service's socket is held by another user than the configured one")),
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

	return st != NULL ? st->en : N_("unknown status");
}

const char *
siths_strerror_lang(int status, const char *lang)
{
	/* NULL: the thread's locale; "sv", sv_SE.UTF-8, sv-FI: Swedish */
	return siths_i18n_text(lang, siths_strerror(status));
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
