/*
 * crl.c - certificate revocation lists (RFC 5280 5, 6.3): from a local file
 * or the certificate's http:// distribution point, verified with the
 * issuer's key, checked for scope and freshness, then searched for the
 * certificate. Full CRLs of the CA and partitioned ones (an
 * issuingDistributionPoint naming one of the certificate's distribution
 * points, or end-entity or CA certificates only) are used, each only for
 * the certificates it covers; delta, indirect and reason-partitioned CRLs
 * are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crl.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "secfile.h"
#include "timeutil.h"

/* The URI of a GENERAL_NAME if it is an http:// one, else NULL. */
static char *
http_uri(const GENERAL_NAME *gn)
{
	const unsigned char *p;
	int len;

	if (gn->type != GEN_URI)
		return NULL;
	p = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
	len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
	if (len <= 7 || len > SITHS_HTTP_PATH_MAX || memchr(p, '\0', (size_t)len) != NULL ||
	    strncasecmp((const char *)p, "http://", 7) != 0)
		return NULL;
	return strndup((const char *)p, (size_t)len);
}

int
siths_crl_url(const siths_ctx *ctx, X509 *leaf, char **url)
{
	STACK_OF(DIST_POINT) *dps = NULL;
	const DIST_POINT *dp;
	int i, j, r = SITHS_ERR_REVOCATION_UNAVAILABLE;

	*url = NULL;
	dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; i < sk_DIST_POINT_num(dps) && *url == NULL; i++) {
		dp = sk_DIST_POINT_value(dps, i);
		/* A CRL issued by someone else than the CA (indirect) is not used. */
		if (dp->CRLissuer != NULL || dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) &&
		    *url == NULL; j++)
			*url = http_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j));
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	if (*url == NULL)
		return siths_fail(ctx, r,
		    "the certificate names no http:// CRL distribution point");
	return 0;
}

/*
 * OpenSSL sorts a CRL's entries on the first lookup. Doing one lookup
 * before the CRL is shared between threads (through the cache) keeps that
 * sort out of concurrent lookups.
 */
static void
presort(X509_CRL *crl)
{
	ASN1_INTEGER *zero = ASN1_INTEGER_new();
	X509_REVOKED *rev = NULL;

	if (zero != NULL)
		(void)X509_CRL_get0_by_serial(crl, &rev, zero);
	ASN1_INTEGER_free(zero);
	ERR_clear_error();
}

/* From PEM: the first CRL issued by issuer_name, else the first. */
static X509_CRL *
parse_pem(const unsigned char *data, size_t len, const X509_NAME *issuer_name)
{
	BIO *bio = NULL;
	X509_CRL *crl, *first = NULL;
	int i;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return NULL;
	for (i = 0; i < SITHS_CRL_MAX_PER_FILE; i++) {
		if ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) == NULL)
			break;
		if (issuer_name != NULL && X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    issuer_name) == 0) {
			X509_CRL_free(first);
			first = crl;
			break;
		}
		if (first == NULL)
			first = crl;
		else
			X509_CRL_free(crl);
	}
	BIO_free(bio);
	ERR_clear_error();
	return first;
}

int
siths_crl_parse(const siths_ctx *ctx, const unsigned char *data, size_t len,
    const X509_NAME *issuer_name, const char *source, X509_CRL **out)
{
	const unsigned char *p = data;
	X509_CRL *crl = NULL;

	*out = NULL;
	if (data == NULL || len == 0 || len > SITHS_CRL_MAX_BYTES)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: the CRL is empty or larger than %d bytes", source, SITHS_CRL_MAX_BYTES);
	if (data[0] == 0x30) {  /* a DER SEQUENCE; PEM starts with text */
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl != NULL && p != data + len) {
			X509_CRL_free(crl);
			return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
			    "%s: %zu bytes of trailing data after the CRL", source,
			    (size_t)(data + len - p));
		}
	} else {
		crl = parse_pem(data, len, issuer_name);
	}
	ERR_clear_error();
	if (crl == NULL)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s: not a CRL (DER or PEM)", source);
	presort(crl);
	*out = crl;
	return 0;
}

/*
 * A local CRL file, opened like a configuration file (secfile.c): a
 * writable file would let a local user put back an older CRL that is still
 * within its validity. The bytes may be DER.
 */
static int
read_crl_file(const siths_ctx *ctx, const char *path, unsigned char **out, size_t *out_len)
{
	char err[SITHS_ERRMSG_MAX];
	int r;

	if ((r = siths_read_secure_data(path, SITHS_CRL_MAX_BYTES, out, out_len, err,
	    sizeof(err))) != 0)
		return siths_fail(ctx, r == SITHS_ERR_NOMEM ? r : SITHS_ERR_REVOCATION_UNAVAILABLE,
		    "%s", err);
	return 0;
}

int
siths_crl_read_file(const siths_ctx *ctx, const char *path, X509 *leaf, X509_CRL **out)
{
	X509_CRL *crl = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	int r = SITHS_ERR_INTERNAL;

	*out = NULL;
	if ((r = read_crl_file(ctx, path, &buf, &len)) != 0 ||
	    (r = siths_crl_parse(ctx, buf, len, X509_get_issuer_name(leaf), path, &crl)) != 0)
		goto out;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(leaf)) != 0) {
		r = 1;  /* another CA's CRL */
		goto out;
	}
	/* success */
	*out = crl;
	crl = NULL;     /* transferred */
	r = 0;
out:
	X509_CRL_free(crl);
	free(buf);
	return r;
}

int
siths_crl_download(const siths_ctx *ctx, const char *url, int timeout_ms, X509 *leaf,
    X509_CRL **out, unsigned char **der, size_t *der_len)
{
	struct siths_http_request hr;
	unsigned char *body = NULL;
	size_t blen = 0;
	int r;

	*out = NULL;
	*der = NULL;
	*der_len = 0;
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.accept = "application/pkix-crl";
	hr.max_len = SITHS_CRL_MAX_BYTES;
	hr.timeout_ms = timeout_ms;
	if ((r = siths_http_fetch(ctx, &hr, &body, &blen)) != 0)
		return r;
	if ((r = siths_crl_parse(ctx, body, blen, X509_get_issuer_name(leaf), url, out)) != 0) {
		free(body);
		return r;
	}
	*der = body;    /* transferred */
	*der_len = blen;
	return 0;
}

/* Does one of the IDP's names appear among leaf's distribution points? */
static int
idp_matches(const DIST_POINT_NAME *idpname, X509 *leaf)
{
	STACK_OF(DIST_POINT) *dps = NULL;
	const DIST_POINT *dp;
	int i, j, k, found = 0;

	if (idpname->type != 0)
		return 0;       /* relative names: not used by SITHS, not supported */
	dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; i < sk_DIST_POINT_num(dps) && !found; i++) {
		dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) && !found; j++) {
			for (k = 0; k < sk_GENERAL_NAME_num(idpname->name.fullname) && !found;
			    k++)
				found = GENERAL_NAME_cmp(
				    sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j),
				    sk_GENERAL_NAME_value(idpname->name.fullname, k)) == 0;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return found;
}

/*
 * What a CRL may be, whoever it is for: nothing critical we do not
 * understand (a delta CRL), and not one that leaves out revocations in
 * ways this code does not follow (indirect, some reasons only). Which
 * certificates it is for (a distribution point's partition, CA or
 * attribute certificates only) is judged per certificate by
 * siths_crl_covers().
 */
static int
check_form(const siths_ctx *ctx, X509_CRL *crl, const char *source)
{
	ISSUING_DIST_POINT *idp = NULL;
	X509_EXTENSION *ext;
	char oid[80];
	int i, crit = -1, r = SITHS_ERR_CRL_INVALID;

	for (i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		ext = X509_CRL_get_ext(crl, i);
		if (!X509_EXTENSION_get_critical(ext) ||
		    OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_issuing_distribution_point)
			continue;
		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 0);
		r = siths_fail(ctx, r, "%s: unsupported critical extension %s (a delta CRL?)",
		    source, oid);
		goto out;
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	if (idp == NULL && crit != -1) {
		r = siths_fail(ctx, r, "%s: malformed issuing distribution point", source);
		goto out;
	}
	if (idp != NULL && (idp->indirectCRL > 0 || idp->onlysomereasons != NULL)) {
		r = siths_fail(ctx, r, "%s: covers only some reasons, or is indirect", source);
		goto out;
	}
	/* success */
	r = 0;
out:
	ISSUING_DIST_POINT_free(idp);
	ERR_clear_error();
	return r;
}

int
siths_crl_covers(const siths_ctx *ctx, X509_CRL *crl, X509 *leaf, const char *source)
{
	ISSUING_DIST_POINT *idp = NULL;
	int crit = -1, r = SITHS_ERR_CRL_NOT_COVERED;

	if ((idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL)) == NULL) {
		ERR_clear_error();
		if (crit != -1)         /* there, but unreadable (or no memory): no answer */
			return siths_fail(ctx, r, "%s: its issuing distribution point cannot "
			    "be read", source);
		return 0;       /* a full CRL: every certificate of the CA */
	}
	if (idp->onlyattr > 0) {
		r = siths_fail(ctx, r, "%s: lists attribute certificates only", source);
		goto out;
	}
	if (idp->onlyuser > 0 && X509_check_ca(leaf) != 0) {
		r = siths_fail(ctx, r, "%s: lists end-entity certificates only, and this one "
		    "is a CA", source);
		goto out;
	}
	if (idp->onlyCA > 0 && X509_check_ca(leaf) == 0) {
		r = siths_fail(ctx, r, "%s: lists CA certificates only (an authority revocation "
		    "list)", source);
		goto out;
	}
	if (idp->distpoint != NULL && !idp_matches(idp->distpoint, leaf)) {
		r = siths_fail(ctx, r, "%s: a partition made for a distribution point the "
		    "certificate does not name", source);
		goto out;
	}
	/* success */
	r = 0;
out:
	ISSUING_DIST_POINT_free(idp);
	ERR_clear_error();
	return r;
}

static int
check_window(const siths_ctx *ctx, X509_CRL *crl, time_t at, const char *source,
    struct siths_crl_answer *ans)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	time_t now = time(NULL), t = at != 0 ? at : now;
	char a[64], b[64];

	if (siths_asn1_time(X509_CRL_get0_lastUpdate(crl), &ans->this_update) != 0 ||
	    (next != NULL && siths_asn1_time(next, &ans->next_update) != 0))
		return siths_fail(ctx, SITHS_ERR_CRL_INVALID,
		    "%s: malformed thisUpdate or nextUpdate", source);
	if (ans->this_update > now + SITHS_CRL_SKEW)
		return siths_fail(ctx, SITHS_ERR_CRL_INVALID,
		    "%s: issued in the future, at %s (is a clock wrong?)", source,
		    siths_fmt_time(ans->this_update, a, sizeof(a)));
	if (next == NULL)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_STALE,
		    "%s: no nextUpdate, so its freshness cannot be judged", source);
	if (ans->next_update < ans->this_update)
		return siths_fail(ctx, SITHS_ERR_CRL_INVALID,
		    "%s: nextUpdate is before thisUpdate", source);
	if (ans->next_update + SITHS_CRL_SKEW < t)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_STALE,
		    "%s: expired at %s (nextUpdate; checked at %s)", source,
		    siths_fmt_time(ans->next_update, a, sizeof(a)), siths_fmt_time(t, b, sizeof(b)));
	return 0;
}

int
siths_crl_verify(const siths_ctx *ctx, X509_CRL *crl, X509 *leaf, X509 *issuer, time_t at,
    const char *source, struct siths_crl_answer *ans)
{
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	char name[256];
	int r = SITHS_ERR_CRL_INVALID;

	memset(ans, 0, sizeof(*ans));
	ans->reason = -1;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(leaf)) != 0 ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		X509_NAME_oneline(X509_CRL_get_issuer(crl), name, sizeof(name));
		r = siths_fail(ctx, r, "%s: issued by %s, not by the certificate's issuer", source,
		    name);
		goto out;
	}
	if ((X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
		r = siths_fail(ctx, r, "%s: the issuer's key usage does not allow CRL signing",
		    source);
		goto out;
	}
	if (key == NULL || X509_CRL_verify(crl, key) != 1) {
		r = siths_fail(ctx, r, "%s: the signature does not verify with the issuer's key",
		    source);
		goto out;
	}
	if ((r = check_form(ctx, crl, source)) != 0 ||
	    (r = check_window(ctx, crl, at, source, ans)) != 0)
		goto out;
	/* success */
	r = 0;
out:
	ERR_clear_error();
	return r;
}

int
siths_crl_lookup(const siths_ctx *ctx, X509_CRL *crl, X509 *leaf, const char *source,
    struct siths_crl_answer *ans)
{
	X509_REVOKED *rev = NULL;
	ASN1_ENUMERATED *reason = NULL;
	char when[64];

	int r;

	ans->revoked = 0;
	ans->reason = -1;
	ans->revoked_at = 0;
	/* Verified before (maybe when it was cached): the times parse. */
	(void)siths_asn1_time(X509_CRL_get0_lastUpdate(crl), &ans->this_update);
	(void)siths_asn1_time(X509_CRL_get0_nextUpdate(crl), &ans->next_update);
	/* Here, not in verification: one CRL, verified and cached once, is
	 * asked about many certificates, and a partition answers only for its own. */
	if ((r = siths_crl_covers(ctx, crl, leaf, source)) != 0)
		return r;
	/* 2 means "removeFromCRL", which only delta CRLs carry: not revoked. */
	if (X509_CRL_get0_by_cert(crl, &rev, leaf) != 1 || rev == NULL) {
		ERR_clear_error();
		return 0;
	}
	ans->revoked = 1;
	if ((reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL)) != NULL)
		ans->reason = (int)ASN1_ENUMERATED_get(reason);
	ASN1_ENUMERATED_free(reason);
	(void)siths_asn1_time(X509_REVOKED_get0_revocationDate(rev), &ans->revoked_at);
	ERR_clear_error();
	return siths_fail(ctx, SITHS_ERR_CERT_REVOKED,
	    "the certificate was revoked at %s (reason: %s), according to %s",
	    siths_fmt_time(ans->revoked_at, when, sizeof(when)),
	    ans->reason >= 0 ? OCSP_crl_reason_str(ans->reason) : "no reason given", source);
}
