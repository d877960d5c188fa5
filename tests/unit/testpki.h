/*
 * testpki.h - a tiny PKI made in memory for unit tests: root, issuing CA,
 * OCSP responders (authorised and not), leaves; and OCSP responses and
 * CRLs signed to order, including the broken ones a test needs.
 */
#ifndef SITHS_TESTPKI_H
#define SITHS_TESTPKI_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

struct testpki {
	EVP_PKEY *root_key, *ca_key, *resp_key, *noeku_key, *rogue_key, *leaf_key;
	X509 *root;             /* self-signed, the only anchor */
	X509 *ca;               /* issued by root; issues everything below */
	X509 *responder;        /* issued by ca, EKU id-kp-OCSPSigning */
	X509 *noeku;            /* issued by ca, EKU clientAuth only */
	X509 *root_responder;   /* issued by root (another CA), EKU id-kp-OCSPSigning */
	X509 *rogue_ca;         /* self-signed, with ca's name but its own key */
	X509 *leaf;             /* issued by ca, serial 1001, AIA and CDP */
	X509 *leaf2;            /* issued by ca, serial 1002 */
	X509_STORE *store;      /* root, strict, like the library's */
	STACK_OF(X509) *untrusted; /* ca */
};

/* Make the whole PKI; the URLs go into the leaves' AIA and CDP. */
int testpki_new(struct testpki *pki, const char *ocsp_url, const char *crl_url);
/* One more leaf of pki->ca (with pki->leaf_key); crl_url NULL: no CDP at all. */
X509 *testpki_leaf(const struct testpki *pki, long serial, const char *ocsp_url,
    const char *crl_url);
void testpki_free(struct testpki *pki);

/* What a test OCSP response should look like; zero means the normal case. */
struct testpki_ocsp {
	int status;             /* V_OCSP_CERTSTATUS_* */
	int reason;             /* for revoked; -1: none */
	long this_off;          /* thisUpdate = now + this_off */
	long next_off;          /* nextUpdate = now + next_off; 0: one day */
	int no_next;            /* no nextUpdate at all */
	int no_nonce;           /* do not copy the request's nonce */
	int wrong_nonce;        /* a nonce, but not the request's */
	int bad_signature;      /* flip a bit of the signature */
	int resp_status;        /* OCSP_RESPONSE_STATUS_*; != 0: an unsigned error response */
	X509 *signer;           /* NULL: pki->responder */
	EVP_PKEY *signer_key;
	OCSP_CERTID *id;        /* NULL: the request's first CertID */
};

/* A response to req (which may be NULL when t->id is set and no nonce is wanted). */
OCSP_RESPONSE *testpki_ocsp_response(const struct testpki *pki, OCSP_REQUEST *req,
    const struct testpki_ocsp *t);

/* A CRL signed by key with issuer's name; revoked serials with keyCompromise. */
struct testpki_crl {
	const long *revoked;
	int n_revoked;
	long last_off;          /* lastUpdate = now + last_off; 0: an hour ago */
	long next_off;          /* nextUpdate = now + next_off; 0: a day ahead */
	int no_next;
	int delta;              /* add a (critical) delta CRL indicator */
	const char *idp_uri;    /* a partition: a critical issuingDistributionPoint
	                         * with this URI (and onlyContainsUserCerts) */
	int idp_only_ca;        /* an authority revocation list (onlyContainsCACerts) */
};
X509_CRL *testpki_crl(X509 *issuer, EVP_PKEY *key, const struct testpki_crl *t);

#endif
