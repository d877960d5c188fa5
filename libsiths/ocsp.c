/*
 * ocsp.c - one OCSP check (RFC 6960): CertID, request with a nonce, POST,
 * and the verification of the response: signature, the responder's
 * authority, our nonce, the CertID, the validity window, then the status.
 * What reaches us over plain HTTP is trusted only once all of that holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "http.h"
#include "timeutil.h"
#include "log.h"
#include "ocsp.h"

/* The last OpenSSL error, for a message; the queue is cleared. */
static const char *
openssl_reason(char *buf, size_t len)
{
	const char *data = NULL, *reason = NULL;
	unsigned long e;
	int flags = 0;

	e = ERR_peek_last_error_all(NULL, NULL, NULL, &data, &flags);
	if (e != 0)
		reason = ERR_reason_error_string(e);
	if (data == NULL || (flags & ERR_TXT_STRING) == 0)
		data = "";
	/* OCSP_basic_verify() refuses a responder without the CA's authority silently. */
	snprintf(buf, len, "%s%s%s", reason != NULL ? reason :
	    "the responder is neither the CA nor authorised by it", *data != '\0' ? ": " : "",
	    data);
	ERR_clear_error();
	return buf;
}

int
siths_ocsp_certid(const siths_ctx *ctx, X509 *leaf, X509 *issuer, OCSP_CERTID **out)
{
	*out = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	if (*out == NULL) {
		ERR_clear_error();
		return siths_fail(ctx, SITHS_ERR_NOMEM, "cannot make the OCSP CertID");
	}
	return 0;
}

int
siths_ocsp_url(const siths_ctx *ctx, X509 *leaf, const char *override, char **url)
{
	STACK_OF(OPENSSL_STRING) *aia = NULL;
	const char *u, *first = NULL;
	int i, r = SITHS_ERR_INTERNAL;

	*url = NULL;
	if (override != NULL && *override != '\0') {
		if ((*url = strdup(override)) == NULL)
			return SITHS_ERR_NOMEM;
		return 0;
	}
	aia = X509_get1_ocsp(leaf);
	for (i = 0; i < sk_OPENSSL_STRING_num(aia); i++) {
		u = sk_OPENSSL_STRING_value(aia, i);
		if (first == NULL)
			first = u;
		if (strncasecmp(u, "http://", 7) == 0) {
			if ((*url = strdup(u)) == NULL) {
				r = SITHS_ERR_NOMEM;
				goto out;
			}
			/* success */
			r = 0;
			goto out;
		}
	}
	if (first != NULL)
		r = siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "the certificate names no http:// OCSP responder (first: '%.100s')", first);
	else
		r = siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "the certificate names no OCSP responder and [revocation] ocsp_url is empty");
out:
	X509_email_free(aia);
	return r;
}

int
siths_ocsp_parse(const siths_ctx *ctx, const unsigned char *der, size_t len, const char *source,
    OCSP_RESPONSE **out)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp;

	*out = NULL;
	if (der == NULL || len == 0 || len > SITHS_OCSP_MAX_RESPONSE)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the response is empty or larger than %d bytes", source,
		    SITHS_OCSP_MAX_RESPONSE);
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the answer is not a DER OCSP response", source);
	}
	if (p != der + len) {
		OCSP_RESPONSE_free(resp);
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: %zu bytes of trailing data after the response", source,
		    (size_t)(der + len - p));
	}
	*out = resp;
	return 0;
}

/*
 * Who signed: the CA itself (same name and key), or a responder the CA
 * issued and marked with id-kp-OCSPSigning. OCSP_basic_verify() checks
 * this too, but it would also accept a root carrying explicit OCSP trust;
 * this is the rule written out, so that no store setting can widen it.
 */
static int
check_signer(const siths_ctx *ctx, OCSP_BASICRESP *bs, const struct siths_ocsp_verify *v)
{
	EVP_PKEY *ca_key = X509_get0_pubkey(v->issuer);
	X509 *signer = NULL;
	char name[256];
	int r = SITHS_ERR_OCSP_INVALID;

	if (!OCSP_resp_get0_signer(bs, &signer, v->untrusted) || signer == NULL || ca_key == NULL) {
		r = siths_fail(ctx, r, "%s: the responder's certificate cannot be found",
		    v->source);
		goto out;
	}
	if (X509_NAME_cmp(X509_get_subject_name(signer), X509_get_subject_name(v->issuer)) == 0 &&
	    EVP_PKEY_eq(X509_get0_pubkey(signer), ca_key) == 1) {
		/* success: the CA answered itself */
		r = 0;
		goto out;
	}
	X509_NAME_oneline(X509_get_subject_name(signer), name, sizeof(name));
	if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(v->issuer)) != 0 ||
	    X509_verify(signer, ca_key) != 1) {
		r = siths_fail(ctx, r, "%s: signed by %s, which is neither the certificate's CA "
		    "nor issued by it", v->source, name);
		goto out;
	}
	if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
		r = siths_fail(ctx, r, "%s: signed by %s, which the CA did not authorise to "
		    "answer OCSP (no id-kp-OCSPSigning)", v->source, name);
		goto out;
	}
	/* success: a delegated responder */
	r = 0;
out:
	ERR_clear_error();
	return r;
}

static int
check_nonce(const siths_ctx *ctx, OCSP_BASICRESP *bs, const struct siths_ocsp_verify *v,
    struct siths_ocsp_answer *ans)
{
	int n;

	ans->nonce_checked = 0;
	if (v->req == NULL)
		return 0;       /* cached: it carried our nonce when it was fetched */
	n = OCSP_check_nonce(v->req, bs);
	ERR_clear_error();
	if (n == 1) {
		ans->nonce_checked = 1;
		return 0;
	}
	if (n == 0)
		return siths_fail(ctx, SITHS_ERR_OCSP_NONCE,
		    "%s: the response carries a nonce other than the one we sent (a replay?)",
		    v->source);
	if (v->nonce_optional) {
		siths_debug(ctx, "%s: the response carries no nonce; accepted "
		    "([revocation] ocsp_nonce = optional)", v->source);
		return 0;
	}
	return siths_fail(ctx, SITHS_ERR_OCSP_NONCE,
	    "%s: the response carries no nonce, so it may be a replay "
	    "([revocation] ocsp_nonce = optional accepts that)", v->source);
}

/* Exactly one single response for v->id: its status and times. */
static int
find_single(const siths_ctx *ctx, OCSP_BASICRESP *bs, const struct siths_ocsp_verify *v,
    struct siths_ocsp_answer *ans, ASN1_GENERALIZEDTIME **thisupd,
    ASN1_GENERALIZEDTIME **nextupd)
{
	ASN1_GENERALIZEDTIME *rev = NULL;
	OCSP_SINGLERESP *single;
	int idx;

	if ((idx = OCSP_resp_find(bs, v->id, -1)) < 0 || OCSP_resp_find(bs, v->id, idx) >= 0) {
		ERR_clear_error();
		return siths_fail(ctx, SITHS_ERR_OCSP_INVALID, idx < 0 ?
		    "%s: the response does not answer for the certificate asked about" :
		    "%s: the response answers twice for the certificate asked about", v->source);
	}
	single = OCSP_resp_get0(bs, idx);
	ans->reason = -1;
	ans->status = OCSP_single_get0_status(single, &ans->reason, &rev, thisupd, nextupd);
	if (ans->status == V_OCSP_CERTSTATUS_REVOKED && siths_asn1_time(rev, &ans->revoked_at) != 0)
		return siths_fail(ctx, SITHS_ERR_OCSP_INVALID, "%s: malformed revocation time",
		    v->source);
	if (ans->status != V_OCSP_CERTSTATUS_GOOD && ans->status != V_OCSP_CERTSTATUS_REVOKED &&
	    ans->status != V_OCSP_CERTSTATUS_UNKNOWN)
		return siths_fail(ctx, SITHS_ERR_OCSP_INVALID, "%s: malformed status", v->source);
	return 0;
}

/*
 * thisUpdate must not be ahead of our clock, nextUpdate not behind the time
 * checked (v->at or now); SITHS_OCSP_SKEW either way. Without a nextUpdate,
 * "fresh" is either our nonce or a thisUpdate within the skew.
 */
static int
check_window(const siths_ctx *ctx, const ASN1_GENERALIZEDTIME *thisupd,
    const ASN1_GENERALIZEDTIME *nextupd, const struct siths_ocsp_verify *v,
    struct siths_ocsp_answer *ans)
{
	time_t now = time(NULL), t = v->at != 0 ? v->at : now;
	char a[64], b[64];

	if (siths_asn1_time(thisupd, &ans->this_update) != 0 ||
	    (nextupd != NULL && siths_asn1_time(nextupd, &ans->next_update) != 0))
		return siths_fail(ctx, SITHS_ERR_OCSP_INVALID, "%s: malformed thisUpdate or "
		    "nextUpdate", v->source);
	if (ans->this_update > now + SITHS_OCSP_SKEW)
		return siths_fail(ctx, SITHS_ERR_OCSP_INVALID, "%s: thisUpdate %s is in the "
		    "future (is a clock wrong?)", v->source, siths_fmt_time(ans->this_update, a,
		    sizeof(a)));
	if (nextupd != NULL && ans->next_update < ans->this_update)
		return siths_fail(ctx, SITHS_ERR_OCSP_INVALID,
		    "%s: nextUpdate is before thisUpdate", v->source);
	if (nextupd != NULL && ans->next_update + SITHS_OCSP_SKEW < t)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_STALE, "%s: the response expired at %s "
		    "(nextUpdate; checked at %s)", v->source, siths_fmt_time(ans->next_update, a,
		    sizeof(a)), siths_fmt_time(t, b, sizeof(b)));
	if (nextupd == NULL && !ans->nonce_checked && ans->this_update + SITHS_OCSP_SKEW < t)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_STALE, "%s: the response from %s has "
		    "neither our nonce nor a nextUpdate", v->source, siths_fmt_time(ans->this_update, a,
		    sizeof(a)));
	return 0;
}

int
siths_ocsp_answer_status(const siths_ctx *ctx, const struct siths_ocsp_answer *ans,
    const char *source)
{
	const char *why;
	char when[64];

	switch (ans->status) {
	case V_OCSP_CERTSTATUS_GOOD:
		return 0;
	case V_OCSP_CERTSTATUS_REVOKED:
		why = ans->reason >= 0 ? OCSP_crl_reason_str(ans->reason) : "no reason given";
		return siths_fail(ctx, SITHS_ERR_CERT_REVOKED,
		    "the certificate was revoked at %s (reason: %s), according to %s",
		    siths_fmt_time(ans->revoked_at, when, sizeof(when)), why, source);
	default:
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNKNOWN,
		    "%s does not know the certificate (status unknown)", source);
	}
}

int
siths_ocsp_verify_response(const siths_ctx *ctx, OCSP_RESPONSE *resp,
    const struct siths_ocsp_verify *v, struct siths_ocsp_answer *ans)
{
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
	char why[256];
	int st, r = SITHS_ERR_INTERNAL;

	memset(ans, 0, sizeof(*ans));
	if ((st = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		/* Unsigned: anyone on the path can send it, so it ends nothing. */
		r = siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the responder answered '%s'", v->source, OCSP_response_status_str(st));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_OCSP_INVALID, "%s: no basic OCSP response in it",
		    v->source);
		goto out;
	}
	/* OCSP_NOEXPLICIT: no root "trusted for OCSP" stands in for the CA's authority. */
	if (OCSP_basic_verify(bs, v->untrusted, v->store, OCSP_NOEXPLICIT) <= 0) {
		r = siths_fail(ctx, SITHS_ERR_OCSP_INVALID, "%s: signature or responder not valid "
		    "(%s)", v->source, openssl_reason(why, sizeof(why)));
		goto out;
	}
	if ((r = check_signer(ctx, bs, v)) != 0 ||
	    (r = check_nonce(ctx, bs, v, ans)) != 0 ||
	    (r = find_single(ctx, bs, v, ans, &thisupd, &nextupd)) != 0 ||
	    (r = check_window(ctx, thisupd, nextupd, v, ans)) != 0)
		goto out;
	r = siths_ocsp_answer_status(ctx, ans, v->source);
out:
	OCSP_BASICRESP_free(bs);
	ERR_clear_error();
	return r;
}

static int
make_request(const siths_ctx *ctx, OCSP_CERTID *id, OCSP_REQUEST **out,
    unsigned char **der, size_t *der_len)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *cid = NULL;
	unsigned char *p = NULL;
	int n, r = SITHS_ERR_NOMEM;

	*out = NULL;
	*der = NULL;
	*der_len = 0;
	if ((req = OCSP_REQUEST_new()) == NULL || (cid = OCSP_CERTID_dup(id)) == NULL)
		goto out;
	if (OCSP_request_add0_id(req, cid) == NULL)
		goto out;
	cid = NULL;     /* transferred */
	/* A fresh random nonce binds the answer to this request. */
	if (!OCSP_request_add1_nonce(req, NULL, SITHS_OCSP_NONCE_LEN) ||
	    (n = i2d_OCSP_REQUEST(req, &p)) <= 0) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "cannot make the OCSP request");
		goto out;
	}
	/* success */
	*out = req;
	req = NULL;     /* transferred */
	*der = p;
	*der_len = (size_t)n;
	r = 0;
out:
	OCSP_CERTID_free(cid);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return r;
}

int
siths_ocsp_query(const siths_ctx *ctx, const char *url, const struct siths_ocsp_verify *v,
    int timeout_ms, struct siths_ocsp_answer *ans, unsigned char **der, size_t *der_len)
{
	struct siths_ocsp_verify vv = *v;
	struct siths_http_request hr;
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	unsigned char *reqder = NULL, *body = NULL;
	size_t reqlen = 0, blen = 0;
	char source[SITHS_HTTP_PATH_MAX + 64];
	int r = SITHS_ERR_INTERNAL;

	*der = NULL;
	*der_len = 0;
	memset(ans, 0, sizeof(*ans));
	if ((r = make_request(ctx, v->id, &req, &reqder, &reqlen)) != 0)
		goto out;
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.content_type = "application/ocsp-request";
	hr.accept = "application/ocsp-response";
	hr.body = reqder;
	hr.body_len = reqlen;
	hr.max_len = SITHS_OCSP_MAX_RESPONSE;
	hr.timeout_ms = timeout_ms;
	snprintf(source, sizeof(source), "OCSP responder %s", url);
	if ((r = siths_http_fetch(ctx, &hr, &body, &blen)) != 0 ||
	    (r = siths_ocsp_parse(ctx, body, blen, source, &resp)) != 0)
		goto out;
	vv.req = req;
	vv.source = source;
	if ((r = siths_ocsp_verify_response(ctx, resp, &vv, ans)) != 0 &&
	    r != SITHS_ERR_CERT_REVOKED)
		goto out;
	/* a verified answer: the caller may cache it */
	*der = body;
	*der_len = blen;
	body = NULL;    /* transferred */
out:
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OPENSSL_free(reqder);
	free(body);
	return r;
}
