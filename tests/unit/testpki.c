/*
 * testpki.c - a tiny PKI in memory for unit tests (see testpki.h). Keys
 * are EC P-256 so that making the whole PKI takes milliseconds; the
 * certificates carry what OpenSSL's strict mode asks for (key
 * identifiers, critical basic constraints), as the library's store is
 * strict.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testpki.h"

struct ext {
	int nid;
	const char *value;
};

static X509_NAME *
make_name(const char *cn, const char *hsa_id)
{
	X509_NAME *name = X509_NAME_new();
	int ok = name != NULL;

	ok = ok && X509_NAME_add_entry_by_NID(name, NID_countryName, MBSTRING_ASC,
	    (const unsigned char *)"SE", -1, -1, 0);
	ok = ok && X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	if (hsa_id != NULL)
		ok = ok && X509_NAME_add_entry_by_NID(name, NID_serialNumber,
		    V_ASN1_PRINTABLESTRING, (const unsigned char *)hsa_id, -1, -1, 0);
	if (!ok) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/* issuer NULL: self-signed with key. */
static X509 *
make_cert(X509_NAME *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
    const struct ext *exts, size_t n_exts)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	size_t i;
	int ok = x != NULL && subject != NULL;

	ok = ok && X509_set_version(x, 2) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	    X509_set_subject_name(x, subject) &&
	    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) && X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; ok && i < n_exts; i++) {
		if (issuer == NULL && exts[i].nid == NID_authority_key_identifier)
			continue;
		ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
		ok = ext != NULL && X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ok = ok && X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0;
	X509_NAME_free(subject);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static const struct ext ca_exts[] = {
	{ NID_basic_constraints, "critical,CA:TRUE" },
	{ NID_key_usage, "critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
};

static const struct ext responder_exts[] = {
	{ NID_basic_constraints, "critical,CA:FALSE" },
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, "OCSPSigning" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
};

static const struct ext noeku_exts[] = {
	{ NID_basic_constraints, "critical,CA:FALSE" },
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, "clientAuth" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
};

X509 *
testpki_leaf(const struct testpki *pki, long serial, const char *ocsp_url, const char *crl_url)
{
	char aia[512], cdp[512];
	struct ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "clientAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
		{ NID_info_access, aia },
		{ NID_crl_distribution_points, cdp },
	};

	snprintf(aia, sizeof(aia), "OCSP;URI:%s", ocsp_url);
	snprintf(cdp, sizeof(cdp), "URI:%s", crl_url != NULL ? crl_url : "");
	/* the distribution points come last: without a URL, leave them out */
	return make_cert(make_name("Test Person", "SE2120001231-1234"), pki->leaf_key, pki->ca,
	    pki->ca_key, serial, exts, sizeof(exts) / sizeof(exts[0]) - (crl_url == NULL));
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int
testpki_new(struct testpki *pki, const char *ocsp_url, const char *crl_url)
{
	memset(pki, 0, sizeof(*pki));
	if ((pki->root_key = EVP_EC_gen("P-256")) == NULL ||
	    (pki->ca_key = EVP_EC_gen("P-256")) == NULL ||
	    (pki->resp_key = EVP_EC_gen("P-256")) == NULL ||
	    (pki->noeku_key = EVP_EC_gen("P-256")) == NULL ||
	    (pki->rogue_key = EVP_EC_gen("P-256")) == NULL ||
	    (pki->leaf_key = EVP_EC_gen("P-256")) == NULL)
		goto fail;
	pki->root = make_cert(make_name("Test Root CA", NULL), pki->root_key, NULL, NULL, 1,
	    ca_exts, N(ca_exts));
	if (pki->root == NULL)
		goto fail;
	pki->ca = make_cert(make_name("Test Issuing CA", NULL), pki->ca_key, pki->root,
	    pki->root_key, 2, ca_exts, N(ca_exts));
	pki->rogue_ca = make_cert(make_name("Test Issuing CA", NULL), pki->rogue_key, NULL, NULL,
	    2, ca_exts, N(ca_exts));
	pki->root_responder = make_cert(make_name("Test Root OCSP", NULL), pki->resp_key,
	    pki->root, pki->root_key, 3, responder_exts, N(responder_exts));
	if (pki->ca == NULL || pki->rogue_ca == NULL || pki->root_responder == NULL)
		goto fail;
	pki->responder = make_cert(make_name("Test OCSP Responder", NULL), pki->resp_key, pki->ca,
	    pki->ca_key, 10, responder_exts, N(responder_exts));
	pki->noeku = make_cert(make_name("Test Not A Responder", NULL), pki->noeku_key, pki->ca,
	    pki->ca_key, 11, noeku_exts, N(noeku_exts));
	pki->leaf = testpki_leaf(pki, 1001, ocsp_url, crl_url);
	pki->leaf2 = testpki_leaf(pki, 1002, ocsp_url, crl_url);
	if (pki->responder == NULL || pki->noeku == NULL || pki->leaf == NULL ||
	    pki->leaf2 == NULL)
		goto fail;
	if ((pki->store = X509_STORE_new()) == NULL ||
	    !X509_STORE_add_cert(pki->store, pki->root) ||
	    (pki->untrusted = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(pki->untrusted, pki->ca) || !X509_up_ref(pki->ca))
		goto fail;
	X509_STORE_set_flags(pki->store, X509_V_FLAG_X509_STRICT);
	return 0;
fail:
	testpki_free(pki);
	return -1;
}

void
testpki_free(struct testpki *pki)
{
	EVP_PKEY_free(pki->root_key);
	EVP_PKEY_free(pki->ca_key);
	EVP_PKEY_free(pki->resp_key);
	EVP_PKEY_free(pki->noeku_key);
	EVP_PKEY_free(pki->rogue_key);
	EVP_PKEY_free(pki->leaf_key);
	X509_free(pki->root);
	X509_free(pki->ca);
	X509_free(pki->responder);
	X509_free(pki->noeku);
	X509_free(pki->root_responder);
	X509_free(pki->rogue_ca);
	X509_free(pki->leaf);
	X509_free(pki->leaf2);
	X509_STORE_free(pki->store);
	sk_X509_pop_free(pki->untrusted, X509_free);
	memset(pki, 0, sizeof(*pki));
}

static int
add_nonce(OCSP_BASICRESP *bs, OCSP_REQUEST *req, const struct testpki_ocsp *t)
{
	static unsigned char other[32] = "not the nonce that was asked for";

	if (t->wrong_nonce)
		return OCSP_basic_add1_nonce(bs, other, sizeof(other));
	if (t->no_nonce || req == NULL)
		return 1;
	return OCSP_copy_nonce(bs, req) > 0;
}

/* Flip one bit of the signature value: still DER, no longer valid. */
static void
break_signature(OCSP_BASICRESP *bs)
{
	const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
	unsigned char *p = (unsigned char *)(uintptr_t)ASN1_STRING_get0_data(sig);
	int len = ASN1_STRING_length(sig);

	if (len > 0)
		p[len - 1] ^= 0x01;
}

OCSP_RESPONSE *
testpki_ocsp_response(const struct testpki *pki, OCSP_REQUEST *req,
    const struct testpki_ocsp *t)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *id = t->id;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	time_t now = time(NULL);
	int revoked = t->status == V_OCSP_CERTSTATUS_REVOKED, ok;

	if (t->resp_status != 0)
		return OCSP_response_create(t->resp_status, NULL);
	if (id == NULL && req != NULL)
		id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
	thisupd = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, t->this_off);
	if (!t->no_next)
		nextupd = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, t->next_off != 0 ? t->next_off :
		    86400);
	revtime = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, -7200);
	ok = id != NULL && thisupd != NULL && revtime != NULL && (t->no_next || nextupd != NULL) &&
	    (bs = OCSP_BASICRESP_new()) != NULL &&
	    OCSP_basic_add1_status(bs, id, t->status, revoked ? t->reason : 0,
	    revoked ? revtime : NULL, thisupd, nextupd) != NULL &&
	    add_nonce(bs, req, t) &&
	    OCSP_basic_sign(bs, t->signer != NULL ? t->signer : pki->responder,
	    t->signer_key != NULL ? t->signer_key : pki->resp_key, EVP_sha256(), NULL, 0);
	if (ok && t->bad_signature)
		break_signature(bs);
	if (ok)
		resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	return resp;
}

static int
add_revoked(X509_CRL *crl, long serial, time_t now)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *when = ASN1_TIME_adj(NULL, now, 0, -7200);
	ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
	int ok;

	ok = rev != NULL && sn != NULL && when != NULL && reason != NULL &&
	    ASN1_INTEGER_set(sn, serial) && X509_REVOKED_set_serialNumber(rev, sn) &&
	    X509_REVOKED_set_revocationDate(rev, when) &&
	    ASN1_ENUMERATED_set(reason, CRL_REASON_KEY_COMPROMISE) &&
	    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) &&
	    X509_CRL_add0_revoked(crl, rev);
	if (ok)
		rev = NULL;     /* transferred */
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(when);
	ASN1_ENUMERATED_free(reason);
	return ok;
}

/*
 * A critical issuingDistributionPoint: naming uri (a partition of the CA's
 * CRL, end-entity certificates only), or with uri NULL one for CA
 * certificates only (an authority revocation list).
 */
static int
add_idp(X509_CRL *crl, const char *uri)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	int ok;

	if (uri == NULL) {
		ok = idp != NULL;
		if (ok)
			idp->onlyCA = 0xff;
		goto add;
	}
	ok = idp != NULL && gn != NULL && ia5 != NULL && ASN1_STRING_set(ia5, uri, -1) &&
	    (idp->distpoint = DIST_POINT_NAME_new()) != NULL &&
	    (idp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) != NULL;
	if (ok) {
		idp->distpoint->type = 0;
		GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
		ia5 = NULL;     /* transferred */
		ok = sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn) > 0;
		if (ok)
			gn = NULL;      /* transferred */
		idp->onlyuser = 0xff;
	}
add:
	ok = ok && X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0);
	ISSUING_DIST_POINT_free(idp);
	GENERAL_NAME_free(gn);
	ASN1_IA5STRING_free(ia5);
	return ok;
}

X509_CRL *
testpki_crl(X509 *issuer, EVP_PKEY *key, const struct testpki_crl *t)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = NULL, *next = NULL;
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	time_t now = time(NULL);
	int i, ok;

	last = ASN1_TIME_adj(NULL, now, 0, t->last_off != 0 ? t->last_off : -3600);
	if (!t->no_next)
		next = ASN1_TIME_adj(NULL, now, 0, t->next_off != 0 ? t->next_off : 86400);
	ok = crl != NULL && num != NULL && last != NULL && (t->no_next || next != NULL) &&
	    X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
	    X509_CRL_set1_lastUpdate(crl, last) && (t->no_next || X509_CRL_set1_nextUpdate(crl,
	    next)) && ASN1_INTEGER_set(num, 7) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	for (i = 0; ok && i < t->n_revoked; i++)
		ok = add_revoked(crl, t->revoked[i], now);
	if (ok && t->delta)
		ok = X509_CRL_add1_ext_i2d(crl, NID_delta_crl, num, 1, 0);
	if (ok && (t->idp_uri != NULL || t->idp_only_ca))
		ok = add_idp(crl, t->idp_only_ca ? NULL : t->idp_uri);
	ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256()) > 0;
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}
