/*
 * testcert.h - certificates made in memory for unit tests, with exactly
 * the subject attributes a case needs.
 */
#ifndef SITHS_TESTCERT_H
#define SITHS_TESTCERT_H

#include <openssl/x509.h>

struct testcert_attr {
	int nid;
	int type;       /* V_ASN1_PRINTABLESTRING, MBSTRING_UTF8, ... */
	const char *value;
};

/* A self-signed EC certificate with these subject attributes, in order. */
X509 *testcert_make(const struct testcert_attr *attrs, size_t n);

#endif
