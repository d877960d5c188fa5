/*
 * testcert.c - in-memory certificates for unit tests.
 */
#include <stddef.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "testcert.h"

X509 *
testcert_make(const struct testcert_attr *attrs, size_t n)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	size_t i;
	int ok = key != NULL && x != NULL && name != NULL;

	for (i = 0; ok && i < n; i++) {
		ok = X509_NAME_add_entry_by_NID(name, attrs[i].nid, attrs[i].type,
		    (const unsigned char *)attrs[i].value, -1, -1, 0);
	}
	ok = ok && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	    X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, key) &&
	    X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}
