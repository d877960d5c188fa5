/*
 * verify_bench.c - validations per second on one core, three ways, in one
 * run so that the ratios mean something on a shared, noisy machine:
 *
 *  cold  - siths_verify_cert with every cache emptied before each call: the
 *          DER is parsed, the path built, the OCSP responder asked;
 *  warm  - siths_verify_cert on a certificate seen before (the cache);
 *  plain - the same work written directly against OpenSSL: d2i_X509,
 *          X509_verify_cert, an OCSP request with a nonce POSTed to the same
 *          responder, OCSP_basic_verify, nonce and status checks.
 *
 * Usage: verify_bench CONFIG CERT.der ISSUER.pem ANCHORS.pem INTERMEDIATES.pem
 *        OCSP_URL CACHE_DIR ITERATIONS
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "siths.h"

#include "clock.h"

struct input {
	unsigned char *der;
	size_t len;
	X509 *issuer;
	X509_STORE *store;
	STACK_OF(X509) *intermediates;
	const char *ocsp_url;
	const char *cache_dir;
};

static void
die(const char *what)
{
	fprintf(stderr, "verify_bench: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	unsigned char *buf = malloc(1 << 20);
	FILE *f = fopen(path, "rb");

	if (buf == NULL || f == NULL)
		die(path);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static X509 *
read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL || (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		die(path);
	fclose(f);
	return x;
}

/* Remove the on-disk OCSP/CRL store so a cold call cannot read it. */
static void
empty_dir(const char *dir)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static double
bench_cold(siths_ctx *ctx, const struct input *in, int n)
{
	siths_identity *id = NULL;
	double t = 0, t0;
	int i, r;

	for (i = 0; i < n; i++) {
		siths_ctx_flush_caches(ctx);
		empty_dir(in->cache_dir);
		t0 = bench_now_s();
		r = siths_verify_cert(ctx, in->der, in->len, NULL, &id);
		t += bench_now_s() - t0;
		if (r != 0) {
			fprintf(stderr, "cold: %s: %s\n", siths_status_name(r), siths_ctx_errmsg(ctx));
			exit(1);
		}
		siths_identity_free(&id);
	}
	return n / t;
}

static double
bench_warm(siths_ctx *ctx, const struct input *in, int n)
{
	siths_identity *id = NULL;
	double t0;
	int i;

	if (siths_verify_cert(ctx, in->der, in->len, NULL, &id) != 0)
		die("warm: the priming call failed");
	siths_identity_free(&id);
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		if (siths_verify_cert(ctx, in->der, in->len, NULL, &id) != 0)
			die("warm: a cached call failed");
		siths_identity_free(&id);
	}
	return n / (bench_now_s() - t0);
}

/* One plain OpenSSL validation with an OCSP round trip. */
static void
plain_once(const struct input *in)
{
	const unsigned char *p = in->der;
	X509 *leaf = d2i_X509(NULL, &p, (long)in->len);
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id, *id_copy;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *basic = NULL;
	ASN1_GENERALIZEDTIME *thisupd, *nextupd;
	char *host = NULL, *port = NULL, *path = NULL;
	BIO *body = NULL, *rsp = NULL;
	int status = -1, reason, use_ssl;

	if (leaf == NULL || sctx == NULL || req == NULL ||
	    !X509_STORE_CTX_init(sctx, in->store, leaf, in->intermediates) ||
	    X509_verify_cert(sctx) != 1)
		die("plain: path");
	id = OCSP_cert_to_id(NULL, leaf, in->issuer);
	id_copy = OCSP_CERTID_dup(id);
	if (id == NULL || OCSP_request_add0_id(req, id) == NULL || !OCSP_request_add1_nonce(req,
	    NULL, -1))
		die("plain: request");
	if (!OSSL_HTTP_parse_url(in->ocsp_url, &use_ssl, NULL, &host, &port, NULL, &path, NULL,
	    NULL) || (body = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req)) == NULL)
		die("plain: url");
	rsp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, "", NULL, NULL, NULL, NULL,
	    0, NULL, "application/ocsp-request", body, "application/ocsp-response", 1,
	    64 * 1024, 3, 0);
	if (rsp == NULL || (resp = (OCSP_RESPONSE *)ASN1_item_d2i_bio(ASN1_ITEM_rptr(OCSP_RESPONSE),
	    rsp, NULL)) == NULL || (basic = OCSP_response_get1_basic(resp)) == NULL)
		die("plain: response");
	if (OCSP_basic_verify(basic, in->intermediates, in->store, 0) != 1 ||
	    OCSP_check_nonce(req, basic) != 1 ||
	    !OCSP_resp_find_status(basic, id_copy, &status, &reason, NULL, &thisupd, &nextupd) ||
	    !OCSP_check_validity(thisupd, nextupd, 300, -1) || status != V_OCSP_CERTSTATUS_GOOD)
		die("plain: verification");
	OCSP_CERTID_free(id_copy);
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(resp);
	BIO_free(rsp);
	BIO_free(body);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	OCSP_REQUEST_free(req);
	X509_STORE_CTX_free(sctx);
	X509_free(leaf);
}

static double
bench_plain(const struct input *in, int n)
{
	double t0 = bench_now_s();
	int i;

	for (i = 0; i < n; i++)
		plain_once(in);
	return n / (bench_now_s() - t0);
}

static STACK_OF(X509) *
read_pem_stack(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *f = fopen(path, "r");
	X509 *x;

	if (sk == NULL || f == NULL)
		die(path);
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();
	fclose(f);
	return sk;
}

int
main(int argc, char **argv)
{
	struct input in;
	siths_ctx *ctx = NULL;
	double cold, warm, plain;
	int n, r;

	if (argc != 9)
		die("usage: CONFIG CERT.der ISSUER.pem ANCHORS.pem INTERMEDIATES.pem OCSP_URL "
		    "CACHE_DIR ITERATIONS");
	if ((r = siths_ctx_new(&ctx, argv[1])) != 0)
		die(siths_strerror(r));
	memset(&in, 0, sizeof(in));
	in.der = read_file(argv[2], &in.len);
	in.issuer = read_pem(argv[3]);
	if ((in.store = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(in.store, argv[4]) != 1)
		die("anchors");
	X509_STORE_set_flags(in.store, X509_V_FLAG_X509_STRICT);
	in.intermediates = read_pem_stack(argv[5]);
	in.ocsp_url = argv[6];
	in.cache_dir = argv[7];
	n = atoi(argv[8]);

	plain = bench_plain(&in, n);
	cold = bench_cold(ctx, &in, n);
	warm = bench_warm(ctx, &in, n * 1000);
	printf("plain_per_s %.1f\ncold_per_s %.1f\nwarm_per_s %.0f\n", plain, cold, warm);
	printf("cold_time_vs_plain %.3f\n", plain / cold);
	printf("warm_vs_cold %.0f\n", warm / cold);
	siths_ctx_free(&ctx);
	return 0;
}
