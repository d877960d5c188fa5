/*
 * cert.c - the SITHS certificate profile, read from one certificate: the
 * HSA-id in the subject serialNumber, the holder's names, key usage,
 * extended key usage, key strength and level of assurance from the
 * certificate policies.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "ctx.h"
#include "error.h"
#include "log.h"

/* Smallest RSA modulus accepted for login and function certificates. */
#define SITHS_MIN_RSA_BITS 2048
/* Longest name component copied from a certificate. */
#define SITHS_NAME_MAX 256

/* Characters of ASN.1 PrintableString, which the local part is made of
 * (ASCII ranges: isalnum() would follow the locale). */
static int
printable_char(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c != '\0' && strchr(" '()+,-./:=?", c) != NULL);
}

static int
ascii_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Luhn over the digits of s, the last being the check digit. */
static int
luhn_valid(const char *s, size_t n)
{
	int sum = 0, d;
	size_t i;

	for (i = 0; i < n; i++) {
		d = s[n - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static int
org_number_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ascii_digit((unsigned char)s[i]))
			return 0;
	}
	/* 12 digits only with the century prefix 16 that organisations carry. */
	if (n == 12 && strncmp(s, "16", 2) == 0)
		return luhn_valid(s + 2, 10);
	return n == 10 && luhn_valid(s, 10);
}

/* The part after the prefix: organisation number, '-', local part. */
static int
hsa_id_rest_valid(const char *rest)
{
	const char *dash = strchr(rest, '-'), *p;

	if (dash == NULL || !org_number_valid(rest, (size_t)(dash - rest)) || dash[1] == '\0')
		return 0;
	for (p = dash + 1; *p != '\0'; p++) {
		if (!printable_char((unsigned char)*p))
			return 0;
	}
	return 1;
}

int
siths_hsa_id_check(const char *id, const struct siths_strlist *prefixes)
{
	char se[] = "SE", *se_list[] = { se };
	const struct siths_strlist default_prefixes = { se_list, 1 };
	size_t i, len, plen;

	if (id == NULL || (len = strlen(id)) == 0 || len > SITHS_HSA_ID_MAX)
		return SITHS_ERR_CERT_HSA_ID_INVALID;
	if (prefixes == NULL || prefixes->n == 0)
		prefixes = &default_prefixes;
	/* Every matching prefix is tried: "S" and "SE" may both be configured. */
	for (i = 0; i < prefixes->n; i++) {
		plen = strlen(prefixes->v[i]);
		if (strncmp(id, prefixes->v[i], plen) == 0 && hsa_id_rest_valid(id + plen))
			return 0;
	}
	return SITHS_ERR_CERT_HSA_ID_INVALID;
}

int
siths_cert_hsa_id(const siths_ctx *ctx, X509 *cert, char **out)
{
	const X509_NAME *subject = X509_get_subject_name(cert);
	const X509_NAME_ENTRY *entry;
	const ASN1_STRING *value;
	const unsigned char *data;
	char *id = NULL;
	int pos, len, i;

	*out = NULL;
	if ((pos = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1)) < 0)
		return siths_fail(ctx, SITHS_ERR_CERT_NO_HSA_ID,
		    "the subject has no serialNumber attribute");
	if (X509_NAME_get_index_by_NID(subject, NID_serialNumber, pos) >= 0)
		return siths_fail(ctx, SITHS_ERR_CERT_HSA_ID_INVALID,
		    "the subject has more than one serialNumber attribute");
	entry = X509_NAME_get_entry(subject, pos);
	value = X509_NAME_ENTRY_get_data(entry);
	data = ASN1_STRING_get0_data(value);
	len = ASN1_STRING_length(value);
	if (ASN1_STRING_type(value) != V_ASN1_PRINTABLESTRING)
		return siths_fail(ctx, SITHS_ERR_CERT_HSA_ID_INVALID,
		    "the serialNumber is not a PrintableString");
	if (len <= 0 || len > SITHS_HSA_ID_MAX)
		return siths_fail(ctx, SITHS_ERR_CERT_HSA_ID_INVALID,
		    "the serialNumber is %d characters long (1 to %d allowed)", len,
		    SITHS_HSA_ID_MAX);
	for (i = 0; i < len; i++) {
		if (!printable_char(data[i]))
			return siths_fail(ctx, SITHS_ERR_CERT_HSA_ID_INVALID,
			    "the serialNumber has a character outside PrintableString");
	}
	if ((id = strndup((const char *)data, (size_t)len)) == NULL)
		return SITHS_ERR_NOMEM;
	*out = id;
	return 0;
}

int
siths_cert_is_signature_only(X509 *cert)
{
	uint32_t ku = X509_get_key_usage(cert);

	return ku != UINT32_MAX && (ku & KU_NON_REPUDIATION) != 0 &&
	    (ku & KU_DIGITAL_SIGNATURE) == 0;
}

static int
check_key_usage(const siths_ctx *ctx, X509 *cert)
{
	uint32_t ku = X509_get_key_usage(cert);

	if (siths_cert_is_signature_only(cert))
		return siths_fail(ctx, SITHS_ERR_CERT_SIGNATURE_ONLY,
		    "keyUsage is nonRepudiation only: this is a signature certificate");
	if (ku == UINT32_MAX)
		return siths_fail(ctx, SITHS_ERR_CERT_KEY_USAGE, "the certificate has no keyUsage");
	if ((ku & KU_DIGITAL_SIGNATURE) == 0)
		return siths_fail(ctx, SITHS_ERR_CERT_KEY_USAGE,
		    "keyUsage lacks digitalSignature");
	return 0;
}

static int
check_eku(const siths_ctx *ctx, X509 *cert, unsigned int required)
{
	uint32_t xku = X509_get_extended_key_usage(cert);

	if (required == SITHS_EKU_NONE)
		return 0;
	/* UINT32_MAX: no EKU extension, which allows nothing specific here. */
	if (xku == UINT32_MAX)
		return siths_fail(ctx, SITHS_ERR_CERT_EKU,
		    "the certificate has no extendedKeyUsage");
	if ((required & SITHS_EKU_CLIENT_AUTH) && !(xku & XKU_SSL_CLIENT))
		return siths_fail(ctx, SITHS_ERR_CERT_EKU, "extendedKeyUsage lacks clientAuth");
	if ((required & SITHS_EKU_SERVER_AUTH) && !(xku & XKU_SSL_SERVER))
		return siths_fail(ctx, SITHS_ERR_CERT_EKU, "extendedKeyUsage lacks serverAuth");
	return 0;
}

static int
check_key_strength(const siths_ctx *ctx, X509 *cert)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	int bits;

	if (pk == NULL)
		return siths_fail(ctx, SITHS_ERR_CERT_PARSE, "the public key cannot be read");
	bits = EVP_PKEY_get_bits(pk);
	/* An allow-list: SITHS uses RSA; EC is what newer cards may bring. */
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (bits < SITHS_MIN_RSA_BITS)
			return siths_fail(ctx, SITHS_ERR_CERT_WEAK_KEY,
			    "RSA key of %d bits (at least %d needed)", bits, SITHS_MIN_RSA_BITS);
		return 0;
	case EVP_PKEY_EC:
		if (bits < 256)
			return siths_fail(ctx, SITHS_ERR_CERT_WEAK_KEY, "EC key of %d bits", bits);
		return 0;
	default:
		return siths_fail(ctx, SITHS_ERR_CERT_WEAK_KEY,
		    "key type %s is not accepted (RSA or EC only)",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
	}
}

/* Highest configured level among the certificate's policies; 0 if none. */
static int
check_loa(const siths_ctx *ctx, const struct siths_identity *id, int *loa)
{
	size_t i, k;
	int best = 0;

	for (i = 0; i < id->n_policies; i++) {
		for (k = 0; k < ctx->cfg->n_policy_loa; k++) {
			if (strcmp(ctx->cfg->policy_loa[k].oid, id->policies[i]) == 0 &&
			    ctx->cfg->policy_loa[k].loa > best)
				best = ctx->cfg->policy_loa[k].loa;
		}
	}
	if (best == 0)
		return siths_fail(ctx, SITHS_ERR_CERT_POLICY,
		    "no certificate policy in [trust] policy_loa%s%s",
		    id->n_policies > 0 ? "; the certificate has " : "",
		    id->n_policies > 0 ? id->policies[0] : "");
	if (best < ctx->cfg->min_loa)
		return siths_fail(ctx, SITHS_ERR_CERT_LOA_TOO_LOW,
		    "level of assurance %d, below min_loa %d", best, ctx->cfg->min_loa);
	*loa = best;
	return 0;
}

static int
check_hsa_id(const siths_ctx *ctx, X509 *cert, struct siths_identity *id)
{
	char *hsa_id = NULL;
	int r;

	if ((r = siths_cert_hsa_id(ctx, cert, &hsa_id)) != 0)
		return r;
	if (siths_hsa_id_check(hsa_id, &ctx->cfg->hsa_id_prefixes) != 0) {
		r = siths_fail(ctx, SITHS_ERR_CERT_HSA_ID_INVALID,
		    "'%s' is not an HSA-id (prefix, organisation number, check digit or form)",
		    hsa_id);
		free(hsa_id);
		return r;
	}
	free(id->hsa_id);
	id->hsa_id = hsa_id;    /* transferred */
	return 0;
}

int
siths_cert_check_profile(const siths_ctx *ctx, X509 *cert, siths_profile profile,
    struct siths_identity *id)
{
	int r;

	switch (profile) {
	case SITHS_PROFILE_CHAIN:
		return 0;
	case SITHS_PROFILE_LOGIN:
		if ((r = check_key_usage(ctx, cert)) != 0 ||
		    (r = check_eku(ctx, cert, ctx->cfg->require_eku)) != 0 ||
		    (r = check_key_strength(ctx, cert)) != 0 ||
		    (r = check_loa(ctx, id, &id->loa)) != 0)
			return r;
		return check_hsa_id(ctx, cert, id);
	case SITHS_PROFILE_FUNCTION:
		if ((r = check_key_strength(ctx, cert)) != 0)
			return r;
		if (X509_get_extended_key_usage(cert) == UINT32_MAX ||
		    !(X509_get_extended_key_usage(cert) & (XKU_SSL_CLIENT | XKU_SSL_SERVER)))
			return siths_fail(ctx, SITHS_ERR_CERT_EKU,
			    "a function certificate needs serverAuth or clientAuth");
		return check_hsa_id(ctx, cert, id);
	}
	return siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT, "unknown profile %d", (int)profile);
}

/* Copy the UTF-8 form of the first attribute nid of name into *dst. */
static int
name_entry(const X509_NAME *name, int nid, char **dst)
{
	const X509_NAME_ENTRY *entry;
	unsigned char *utf8 = NULL;
	int pos, len;

	if ((pos = X509_NAME_get_index_by_NID(name, nid, -1)) < 0)
		return 0;
	entry = X509_NAME_get_entry(name, pos);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
	if (len < 0)
		return SITHS_ERR_CERT_PARSE;
	if (len > SITHS_NAME_MAX || memchr(utf8, '\0', (size_t)len) != NULL) {
		OPENSSL_free(utf8);
		return SITHS_ERR_CERT_PARSE;
	}
	free(*dst);
	*dst = strndup((const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return *dst == NULL ? SITHS_ERR_NOMEM : 0;
}

/* RFC 2253 with UTF-8 kept as UTF-8, bounded. */
static int
name_string(const X509_NAME *name, char **dst)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	int r = SITHS_ERR_NOMEM;

	if (bio == NULL)
		return SITHS_ERR_NOMEM;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		r = SITHS_ERR_CERT_PARSE;
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len < 0 || len > 4096) {
		r = SITHS_ERR_CERT_PARSE;
		goto out;
	}
	free(*dst);
	if ((*dst = strndup(data, (size_t)len)) != NULL)
		r = 0;
out:
	BIO_free(bio);
	return r;
}

static int
sha256_hex(X509 *cert, char **dst)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *hex;

	if (X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return SITHS_ERR_CERT_PARSE;
	if ((hex = malloc(2 * n + 1)) == NULL)
		return SITHS_ERR_NOMEM;
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	free(*dst);
	*dst = hex;
	return 0;
}

static int
not_after(X509 *cert, char **dst)
{
	struct tm tm;
	char buf[32];

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return SITHS_ERR_CERT_PARSE;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return siths_identity_set(dst, buf);
}

/* The certificatePolicies OIDs; a policy extension that does not parse is
 * an error, not "no policy". */
static int
describe_policies(X509 *cert, struct siths_identity *id)
{
	CERTIFICATEPOLICIES *pols;
	char oid[128];
	int i, n, crit = 0, r = 0;

	pols = X509_get_ext_d2i(cert, NID_certificate_policies, &crit, NULL);
	if (pols == NULL)
		return crit == -1 ? 0 : SITHS_ERR_CERT_PARSE;
	for (i = 0; r == 0 && i < sk_POLICYINFO_num(pols); i++) {
		n = OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(pols, i)->policyid, 1);
		if (n <= 0 || (size_t)n >= sizeof(oid))
			r = SITHS_ERR_CERT_PARSE;
		else
			r = siths_identity_add_policy(id, oid);
	}
	CERTIFICATEPOLICIES_free(pols);
	return r;
}

int
siths_cert_describe(const siths_ctx *ctx, X509 *cert, struct siths_identity *id)
{
	const X509_NAME *subject = X509_get_subject_name(cert);
	int r;

	if ((r = sha256_hex(cert, &id->cert_sha256)) != 0 ||
	    (r = name_string(subject, &id->cert_subject)) != 0 ||
	    (r = name_string(X509_get_issuer_name(cert), &id->cert_issuer)) != 0 ||
	    (r = not_after(cert, &id->cert_not_after)) != 0 ||
	    (r = name_entry(subject, NID_givenName, &id->given_name)) != 0 ||
	    (r = name_entry(subject, NID_surname, &id->surname)) != 0 ||
	    (r = name_entry(subject, NID_commonName, &id->display_name)) != 0 ||
	    (r = name_entry(subject, NID_organizationName, &id->org_name)) != 0)
		return siths_fail(ctx, r, "the certificate's names cannot be read");
	if ((r = describe_policies(cert, id)) != 0)
		return siths_fail(ctx, r, "the certificate's policies cannot be read");
	return 0;
}
