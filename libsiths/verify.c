/*
 * verify.c - the trust store and certificate validation: path to a
 * configured anchor in OpenSSL's strict mode, then the profile, then
 * revocation. The store is built once per context and only read after.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cert.h"
#include "ctx.h"
#include "error.h"
#include "cache.h"
#include "identity.h"
#include "log.h"
#include "revocation.h"
#include "secfile.h"
#include "service.h"
#include "timeutil.h"
#include "verify.h"

/* Largest certificate accepted, DER. Real SITHS certificates are ~2 KiB. */
#define SITHS_CERT_MAX_DER (64 * 1024)
/* Extra certificates one call may bring to complete a path. */
#define SITHS_MAX_UNTRUSTED 8
/* Certificates read from one trust file or directory. */
#define SITHS_MAX_TRUST_CERTS 256
/* A trust file larger than this holds more than any SITHS trust store. */
#define SITHS_MAX_TRUST_FILE (4 * 1024 * 1024)

struct siths_verify_opts {
	siths_profile profile;
	time_t at;                      /* 0: now */
	STACK_OF(X509) *untrusted;
	int no_revocation;
};

/*
 * Append every certificate in one file (PEM, or a single DER) to certs.
 * Opened like a configuration file (secfile.c): whoever can write a trust
 * anchor decides who logs in.
 */
static int
read_cert_file(const siths_ctx *ctx, const char *path, STACK_OF(X509) *certs)
{
	unsigned char *data = NULL;
	const unsigned char *p;
	size_t len = 0;
	char err[SITHS_ERRMSG_MAX];
	BIO *bio = NULL;
	X509 *x = NULL;
	int n = 0, r = SITHS_ERR_TRUST_LOAD;

	if ((r = siths_read_secure_data(path, SITHS_MAX_TRUST_FILE, &data, &len, err,
	    sizeof(err))) != 0) {
		r = siths_fail(ctx, r == SITHS_ERR_NOMEM || r == SITHS_ERR_CONFIG_UNSAFE ? r :
		    SITHS_ERR_TRUST_LOAD, "%s", err);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(certs) >= SITHS_MAX_TRUST_CERTS || !sk_X509_push(certs, x)) {
			X509_free(x);
			r = siths_fail(ctx, SITHS_ERR_TRUST_LOAD, "%s: too many certificates",
			    path);
			goto out;
		}
		n++;
	}
	ERR_clear_error();
	if (n == 0) {
		/* Not PEM: the CA's own .cer files are a single DER certificate. */
		p = data;
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || !sk_X509_push(certs, x)) {
			X509_free(x);
			ERR_clear_error();
			r = siths_fail(ctx, SITHS_ERR_TRUST_LOAD, "%s: no certificate in it", path);
			goto out;
		}
	}
	r = 0;
out:
	BIO_free(bio);
	free(data);
	return r;
}

/*
 * A file, or every regular file in a directory (sorted, not recursive). The
 * directory must be no more open than the files: no one but root or us may
 * add an anchor to it.
 */
static int
read_certs(const siths_ctx *ctx, const char *path, STACK_OF(X509) *certs)
{
	struct dirent **names = NULL;
	struct stat sb;
	char file[4096], err[SITHS_ERRMSG_MAX];
	int i, n, r = 0;

	if (lstat(path, &sb) != 0)
		return siths_fail(ctx, SITHS_ERR_TRUST_LOAD, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return read_cert_file(ctx, path, certs);
	if ((r = siths_check_secure_dir(path, err, sizeof(err))) != 0)
		return siths_fail(ctx, r == SITHS_ERR_CONFIG_UNSAFE ? r : SITHS_ERR_TRUST_LOAD,
		    "%s", err);
	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return siths_fail(ctx, SITHS_ERR_TRUST_LOAD, "%s: %s", path, strerror(errno));
	for (i = 0; i < n; i++) {
		if (r == 0 && names[i]->d_name[0] != '.') {
			snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
			/* a symbolic link is refused by read_cert_file, with its name */
			if (lstat(file, &sb) == 0 && (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)))
				r = read_cert_file(ctx, file, certs);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int
siths_trust_load(siths_ctx *ctx)
{
	STACK_OF(X509) *anchors = NULL;
	int i, r = SITHS_ERR_NOMEM;

	if ((anchors = sk_X509_new_null()) == NULL ||
	    (ctx->intermediates = sk_X509_new_null()) == NULL ||
	    (ctx->store = X509_STORE_new()) == NULL)
		goto out;
	if ((r = read_certs(ctx, ctx->cfg->anchors, anchors)) != 0)
		goto out;
	if (ctx->cfg->intermediates != NULL &&
	    (r = read_certs(ctx, ctx->cfg->intermediates, ctx->intermediates)) != 0)
		goto out;
	for (i = 0; i < sk_X509_num(anchors); i++) {
		if (!X509_STORE_add_cert(ctx->store, sk_X509_value(anchors, i))) {
			r = siths_fail(ctx, SITHS_ERR_TRUST_LOAD, "%s: cannot add anchor %d",
			    ctx->cfg->anchors, i);
			goto out;
		}
	}
	/* Strict DER and profile rules; no partial chains: paths end at a root we hold. */
	X509_STORE_set_flags(ctx->store, X509_V_FLAG_X509_STRICT);
	siths_info(ctx, "trust: %d anchors, %d intermediates", sk_X509_num(anchors),
	    sk_X509_num(ctx->intermediates));
	r = 0;
out:
	sk_X509_pop_free(anchors, X509_free);
	ERR_clear_error();
	if (r != 0)
		siths_trust_free(ctx);
	return r;
}

void
siths_trust_free(siths_ctx *ctx)
{
	X509_STORE_free(ctx->store);
	ctx->store = NULL;
	sk_X509_pop_free(ctx->intermediates, X509_free);
	ctx->intermediates = NULL;
}

static int
map_verify_error(const siths_ctx *ctx, int err, int depth)
{
	const char *what = depth == 0 ? "the certificate" : "a CA certificate in its path";
	const char *why = X509_verify_cert_error_string(err);

	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return siths_fail(ctx, SITHS_ERR_CERT_EXPIRED, "%s has expired", what);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return siths_fail(ctx, SITHS_ERR_CERT_NOT_YET_VALID, "%s is not valid yet", what);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return siths_fail(ctx, SITHS_ERR_CERT_UNTRUSTED,
		    "no path to a configured anchor (%s at depth %d)", why, depth);
	default:
		return siths_fail(ctx, SITHS_ERR_CERT_CHAIN, "invalid path: %s at depth %d", why,
		    depth);
	}
}

int
siths_verify_path(const siths_ctx *ctx, X509 *leaf, STACK_OF(X509) *untrusted, time_t at,
    STACK_OF(X509) **chain)
{
	X509_STORE_CTX *sctx = NULL;
	int r = SITHS_ERR_NOMEM;

	if (chain != NULL)
		*chain = NULL;
	if ((sctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	if (!X509_STORE_CTX_init(sctx, ctx->store, leaf, untrusted))
		goto out;
	if (at != 0)
		X509_STORE_CTX_set_time(sctx, 0, at);
	if (X509_verify_cert(sctx) != 1) {
		r = map_verify_error(ctx, X509_STORE_CTX_get_error(sctx),
		    X509_STORE_CTX_get_error_depth(sctx));
		goto out;
	}
	if (chain != NULL && (*chain = X509_STORE_CTX_get1_chain(sctx)) == NULL)
		goto out;
	r = 0;
out:
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return r;
}

int
siths_cert_from_der(const siths_ctx *ctx, const unsigned char *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509 *x;

	*out = NULL;
	if (der == NULL || len == 0)
		return siths_fail(ctx, SITHS_ERR_CERT_PARSE, "empty certificate");
	if (len > SITHS_CERT_MAX_DER)
		return siths_fail(ctx, SITHS_ERR_CERT_PARSE, "certificate larger than %d bytes",
		    SITHS_CERT_MAX_DER);
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return siths_fail(ctx, SITHS_ERR_CERT_PARSE, "not a DER X.509 certificate");
	}
	if (p != der + len) {
		X509_free(x);
		return siths_fail(ctx, SITHS_ERR_CERT_PARSE,
		    "%zu bytes of trailing data after the certificate", (size_t)(der + len - p));
	}
	*out = x;
	return 0;
}

/* Revocation of the leaf, issued by the next certificate of its path. */
static int
check_revocation(siths_ctx *ctx, STACK_OF(X509) *chain, const siths_verify_opts *opts,
    struct siths_identity *id)
{
	struct siths_rev_result res;
	int r;

	if (opts != NULL && opts->no_revocation) {
		siths_notice(ctx, "revocation not checked: turned off for this call");
		return 0;
	}
	if (sk_X509_num(chain) < 2)
		return 0;       /* a trusted root itself: nothing issued it */
	memset(&res, 0, sizeof(res));
	r = siths_revocation_check(ctx, sk_X509_value(chain, 0), sk_X509_value(chain, 1),
	    opts != NULL ? opts->at : 0, &res);
	if (r != 0)
		return r;
	id->rev_source = res.source;
	id->rev_this_update = res.this_update;
	id->rev_next_update = res.next_update;
	return 0;
}

int
siths_verify_x509(siths_ctx *ctx, X509 *leaf, const siths_verify_opts *opts,
    struct siths_identity **out)
{
	struct siths_identity *id = NULL;
	STACK_OF(X509) *untrusted = NULL, *chain = NULL;
	siths_profile profile = opts != NULL ? opts->profile : SITHS_PROFILE_LOGIN;
	time_t at = opts != NULL ? opts->at : 0;
	int i, r = SITHS_ERR_NOMEM;

	*out = NULL;
	if ((id = siths_identity_new()) == NULL ||
	    (untrusted = sk_X509_dup(ctx->intermediates)) == NULL)
		goto out;
	for (i = 0; opts != NULL && opts->untrusted != NULL &&
	    i < sk_X509_num(opts->untrusted); i++) {
		if (!sk_X509_push(untrusted, sk_X509_value(opts->untrusted, i)))
			goto out;
	}
	/* Cheapest first: the certificate alone, then its path, then the network. */
	if ((r = siths_cert_describe(ctx, leaf, id)) != 0 ||
	    (r = siths_cert_check_profile(ctx, leaf, profile, id)) != 0 ||
	    (r = siths_verify_path(ctx, leaf, untrusted, at, &chain)) != 0 ||
	    (r = check_revocation(ctx, chain, opts, id)) != 0)
		goto out;
	/* success */
	*out = id;
	id = NULL;      /* transferred */
	r = 0;
out:
	sk_X509_free(untrusted);        /* borrowed members */
	sk_X509_pop_free(chain, X509_free);
	siths_identity_free(&id);
	return r;
}

/*
 * The validation cache: successful results by SHA-256 of the DER, so that a
 * certificate seen before costs a hash and a lookup instead of parsing
 * (which costs more than the signature checks). Results accepted without a
 * revocation answer (soft) are not kept: the next call asks again.
 */
#define SITHS_VERIFY_CACHE_ENTRIES 4096
#define SITHS_VERIFY_CACHE_TTL 300

static void *
identity_dup(const void *v)
{
	return siths_identity_dup(v);
}

static void
identity_free(void *v)
{
	struct siths_identity *id = v;

	siths_identity_free(&id);
}

static const struct siths_cache_ops identity_ops = { identity_dup, identity_free };

int
siths_verify_cache_init(siths_ctx *ctx)
{
	ctx->verify_cache = siths_cache_new(SITHS_VERIFY_CACHE_ENTRIES, &identity_ops);
	return ctx->verify_cache == NULL ? SITHS_ERR_NOMEM : 0;
}

void
siths_verify_cache_free(siths_ctx *ctx)
{
	siths_cache_free(&ctx->verify_cache);
}

/* The key: the certificate's bytes and every option that changes the answer. */
static int
cache_key(const unsigned char *der, size_t len, const siths_verify_opts *opts,
    unsigned char key[SITHS_CACHE_KEY_LEN])
{
	unsigned char tail[2] = {
		(unsigned char)(opts != NULL ? opts->profile : SITHS_PROFILE_LOGIN),
		(unsigned char)(opts != NULL && opts->no_revocation),
	};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, der, len) == 1 && EVP_DigestUpdate(md, tail, 2) == 1 &&
	    EVP_DigestFinal_ex(md, key, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : SITHS_ERR_INTERNAL;
}

/* A time-travelling or path-helping call is answered afresh, and not kept. */
static int
cacheable(const siths_verify_opts *opts)
{
	return opts == NULL || (opts->at == 0 && opts->untrusted == NULL);
}

static time_t
cache_expiry(const struct siths_identity *id, X509 *leaf, time_t now)
{
	time_t until = now + SITHS_VERIFY_CACHE_TTL;
	time_t not_after = 0;

	(void)siths_asn1_time(X509_get0_notAfter(leaf), &not_after);
	if (not_after != 0 && not_after < until)
		until = not_after;
	if (id->rev_next_update != 0 && id->rev_next_update < until)
		until = id->rev_next_update;
	return until;
}

static void
cache_result(siths_ctx *ctx, const unsigned char key[SITHS_CACHE_KEY_LEN],
    const struct siths_identity *id, X509 *leaf)
{
	struct siths_identity *copy;
	time_t now = time(NULL);

	if (id->rev_source == SITHS_REV_SOURCE_SOFT || (copy = siths_identity_dup(id)) == NULL)
		return;
	siths_cache_put(ctx->verify_cache, key, copy, cache_expiry(id, leaf, now));
}

int
siths_verify_cert(siths_ctx *ctx, const unsigned char *der, size_t len,
    const siths_verify_opts *opts, siths_identity **out)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];
	void *hit = NULL;
	X509 *leaf = NULL;
	int r, use_cache;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || ctx->cfg == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	if (siths_service_enabled(ctx)) {
		r = siths_service_verify(ctx, der, len, opts, 0, out);
		if (!siths_service_fallback(ctx, &r))
			return r;
	}
	use_cache = cacheable(opts) && der != NULL && len > 0 && len <= SITHS_CERT_MAX_DER &&
	    cache_key(der, len, opts, key) == 0;
	if (use_cache && siths_cache_get(ctx->verify_cache, key, time(NULL), &hit) == 0) {
		__atomic_add_fetch(&ctx->verify_hits, 1, __ATOMIC_RELAXED);
		*out = hit;
		if ((*out)->rev_source != SITHS_REV_SOURCE_NONE)
			(*out)->rev_source = SITHS_REV_SOURCE_CACHE;
		return 0;
	}
	if ((r = siths_cert_from_der(ctx, der, len, &leaf)) == 0)
		r = siths_verify_x509(ctx, leaf, opts, out);
	if (r == 0 && use_cache)
		cache_result(ctx, key, *out, leaf);
	X509_free(leaf);
	return r;
}

int
siths_verify_opts_new(siths_verify_opts **out)
{
	if (out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? SITHS_ERR_NOMEM : 0;
}

void
siths_verify_opts_free(siths_verify_opts **optsp)
{
	if (optsp == NULL || *optsp == NULL)
		return;
	sk_X509_pop_free((*optsp)->untrusted, X509_free);
	free(*optsp);
	*optsp = NULL;
}

siths_profile
siths_verify_opts_profile(const siths_verify_opts *opts)
{
	return opts != NULL ? opts->profile : SITHS_PROFILE_LOGIN;
}

void
siths_verify_opts_view(const siths_verify_opts *opts, siths_profile *profile, time_t *at,
    const STACK_OF(X509) **untrusted, int *no_revocation)
{
	*profile = siths_verify_opts_profile(opts);
	*at = opts != NULL ? opts->at : 0;
	*untrusted = opts != NULL ? opts->untrusted : NULL;
	*no_revocation = opts != NULL && opts->no_revocation;
}

int
siths_verify_opts_set_profile(siths_verify_opts *opts, siths_profile profile)
{
	if (opts == NULL || (profile != SITHS_PROFILE_LOGIN && profile != SITHS_PROFILE_FUNCTION &&
	    profile != SITHS_PROFILE_CHAIN))
		return SITHS_ERR_INVALID_ARGUMENT;
	opts->profile = profile;
	return 0;
}

int
siths_verify_opts_set_time(siths_verify_opts *opts, int64_t at)
{
	if (opts == NULL || at <= 0)
		return SITHS_ERR_INVALID_ARGUMENT;
	opts->at = (time_t)at;
	return 0;
}

int
siths_verify_opts_add_untrusted(siths_verify_opts *opts, const unsigned char *der, size_t len)
{
	X509 *x = NULL;
	int r;

	if (opts == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (opts->untrusted == NULL && (opts->untrusted = sk_X509_new_null()) == NULL)
		return SITHS_ERR_NOMEM;
	if (sk_X509_num(opts->untrusted) >= SITHS_MAX_UNTRUSTED)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((r = siths_cert_from_der(NULL, der, len, &x)) != 0)
		return r;
	if (!sk_X509_push(opts->untrusted, x)) {
		X509_free(x);
		return SITHS_ERR_NOMEM;
	}
	return 0;
}

int
siths_verify_opts_set_no_revocation(siths_verify_opts *opts, int no_revocation)
{
	if (opts == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	opts->no_revocation = no_revocation != 0;
	return 0;
}
