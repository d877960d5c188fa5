/*
 * revocation.c - is a certificate revoked? The methods of [revocation] mode
 * in order, the caches in front of them, and the on_unreachable policy.
 *
 * Only "unavailable" moves on to the next method; every other answer (good,
 * revoked, unknown, invalid, stale) ends the check. When every method was
 * unavailable, on_unreachable = soft accepts, logs and counts; fail refuses.
 *
 * Caches (skipped when the caller asks about another time than now):
 *  - memory: verified OCSP answers by SHA-256 of the CertID, parsed and
 *    verified CRLs by SHA-256 of issuer and source, each until nextUpdate.
 *    A CRL is one per issuer and source, but a partitioned CRL answers only
 *    for the certificates naming its distribution point: its scope is
 *    judged again for each certificate (siths_crl_lookup), on every hit;
 *  - disk ([revocation] cache_dir): the DER of OCSP responses and CRLs, so
 *    that a PAM login reuses what an earlier process fetched. What is read
 *    back is verified again like a network answer (signature, responder or
 *    issuer, freshness). A stored OCSP response cannot carry the nonce of a
 *    later request, so only responses that carried the nonce of the request
 *    they answered are ever stored: a cached response was bound to one of
 *    our requests once, and its window bounds how long it may be reused.
 * A cached good answer is used until its nextUpdate whatever on_unreachable
 * says; only answers that may be cached (good or revoked) are.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "cache.h"
#include "diskstore.h"
#include "config.h"
#include "crl.h"
#include "ctx.h"
#include "error.h"
#include "log.h"
#include "ocsp.h"
#include "revocation.h"

#define REV_OCSP_CACHE_ENTRIES 4096
#define REV_CRL_CACHE_ENTRIES 64
/* Longest certificate label in a log line. */
#define REV_LABEL_MAX 300

struct siths_rev {
	struct siths_cache *ocsp;       /* struct siths_ocsp_answer by CertID */
	struct siths_cache *crl;        /* X509_CRL by issuer and source */
	unsigned long soft_count;       /* accepted by on_unreachable = soft; atomic */
	time_t ocsp_heard;              /* when a responder last answered (status); atomic */
	time_t crl_heard;               /* when a CRL was last fetched; atomic */
};

static void *
answer_dup(const void *v)
{
	struct siths_ocsp_answer *a = malloc(sizeof(*a));

	if (a != NULL)
		memcpy(a, v, sizeof(*a));
	return a;
}

static void
answer_free(void *v)
{
	free(v);
}

/* Cached CRLs are shared, never changed: a copy is one more reference. */
static void *
crl_dup(const void *v)
{
	X509_CRL *crl = (X509_CRL *)(uintptr_t)v;

	return X509_CRL_up_ref(crl) ? crl : NULL;
}

static void
crl_free(void *v)
{
	X509_CRL_free(v);
}

static const struct siths_cache_ops answer_ops = { answer_dup, answer_free };
static const struct siths_cache_ops crl_ops = { crl_dup, crl_free };

int
siths_revocation_init(siths_ctx *ctx)
{
	struct siths_rev *rev = NULL;

	if ((rev = calloc(1, sizeof(*rev))) == NULL ||
	    (rev->ocsp = siths_cache_new(REV_OCSP_CACHE_ENTRIES, &answer_ops)) == NULL ||
	    (rev->crl = siths_cache_new(REV_CRL_CACHE_ENTRIES, &crl_ops)) == NULL) {
		if (rev != NULL)
			siths_cache_free(&rev->ocsp);
		free(rev);
		return siths_fail(ctx, SITHS_ERR_NOMEM, "no memory for the revocation caches");
	}
	ctx->rev = rev;
	return 0;
}

void
siths_revocation_free(siths_ctx *ctx)
{
	if (ctx == NULL || ctx->rev == NULL)
		return;
	siths_cache_free(&ctx->rev->ocsp);
	siths_cache_free(&ctx->rev->crl);
	free(ctx->rev);
	ctx->rev = NULL;
}

void
siths_revocation_flush(siths_ctx *ctx)
{
	if (ctx == NULL || ctx->rev == NULL)
		return;
	siths_cache_clear(ctx->rev->ocsp);
	siths_cache_clear(ctx->rev->crl);
}

void
siths_revocation_stats(const siths_ctx *ctx, struct siths_rev_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (ctx == NULL || ctx->rev == NULL)
		return;
	st->ocsp_cached = siths_cache_count(ctx->rev->ocsp);
	st->crl_cached = siths_cache_count(ctx->rev->crl);
	st->soft_accepts = __atomic_load_n(&ctx->rev->soft_count, __ATOMIC_RELAXED);
	st->ocsp_heard = __atomic_load_n(&ctx->rev->ocsp_heard, __ATOMIC_RELAXED);
	st->crl_heard = __atomic_load_n(&ctx->rev->crl_heard, __ATOMIC_RELAXED);
}

unsigned long
siths_revocation_soft_count(const siths_ctx *ctx)
{
	if (ctx == NULL || ctx->rev == NULL)
		return 0;
	return __atomic_load_n(&ctx->rev->soft_count, __ATOMIC_RELAXED);
}

/* Length-prefixed, so that no two different inputs hash alike. */
static int
key_add(EVP_MD_CTX *md, const void *p, size_t len)
{
	unsigned char n[8];
	int i;

	for (i = 0; i < 8; i++)
		n[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return EVP_DigestUpdate(md, n, sizeof(n)) && EVP_DigestUpdate(md, p, len);
}

/* SHA-256 over a domain name and two parts. */
static int
make_key(unsigned char key[SITHS_CACHE_KEY_LEN], const char *domain, const void *a,
    size_t alen, const void *b, size_t blen)
{
	EVP_MD_CTX *md = NULL;
	unsigned int n = 0;
	int ok;

	ok = (md = EVP_MD_CTX_new()) != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    key_add(md, domain, strlen(domain)) && key_add(md, a, alen) &&
	    key_add(md, b, blen) && EVP_DigestFinal_ex(md, key, &n) &&
	    n == SITHS_CACHE_KEY_LEN;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? 0 : SITHS_ERR_INTERNAL;
}

static int
ocsp_key(OCSP_CERTID *id, unsigned char key[SITHS_CACHE_KEY_LEN])
{
	unsigned char *der = NULL;
	int n, r;

	if ((n = i2d_OCSP_CERTID(id, &der)) <= 0) {
		ERR_clear_error();
		return SITHS_ERR_INTERNAL;
	}
	r = make_key(key, "libsiths ocsp", der, (size_t)n, "", 0);
	OPENSSL_free(der);
	return r;
}

/*
 * The issuer by name and key (a CA re-keyed under the same name must not
 * find the other key's CRL), and the source: a URL, or a file path with
 * the file's identity, so that a replaced file is read again.
 */
static int
crl_key(X509 *issuer, const char *source, const struct stat *sb,
    unsigned char key[SITHS_CACHE_KEY_LEN])
{
	unsigned char id[2 * EVP_MAX_MD_SIZE];
	unsigned int n1 = 0, n2 = 0;
	char src[SITHS_ERRMSG_MAX];
	int n;

	if (!X509_NAME_digest(X509_get_subject_name(issuer), EVP_sha256(), id, &n1) ||
	    !X509_pubkey_digest(issuer, EVP_sha256(), id + n1, &n2)) {
		ERR_clear_error();
		return SITHS_ERR_INTERNAL;
	}
	if (sb != NULL)
		n = snprintf(src, sizeof(src), "file:%s:%ju:%ju:%jd:%jd.%09ld", source,
		    (uintmax_t)sb->st_dev, (uintmax_t)sb->st_ino, (intmax_t)sb->st_size,
		    (intmax_t)sb->st_mtim.tv_sec, (long)sb->st_mtim.tv_nsec);
	else
		n = snprintf(src, sizeof(src), "url:%s", source);
	if (n < 0 || (size_t)n >= sizeof(src))
		return SITHS_ERR_INTERNAL;
	return make_key(key, "libsiths crl", id, n1 + n2, src, (size_t)n);
}

static void
cache_ocsp(siths_ctx *ctx, const unsigned char key[SITHS_CACHE_KEY_LEN],
    const struct siths_ocsp_answer *ans)
{
	struct siths_ocsp_answer *copy;

	if (ctx->rev == NULL || (copy = answer_dup(ans)) == NULL)
		return;
	(void)siths_cache_put(ctx->rev->ocsp, key, copy, ans->next_update);
}

/* A reference of crl goes to the cache; the caller keeps its own. */
static void
cache_crl(siths_ctx *ctx, const unsigned char key[SITHS_CACHE_KEY_LEN], X509_CRL *crl,
    time_t next_update)
{
	if (ctx->rev == NULL || !X509_CRL_up_ref(crl))
		return;
	(void)siths_cache_put(ctx->rev->crl, key, crl, next_update);
}

static void
set_result(struct siths_rev_result *res, int source, int method, time_t this_update,
    time_t next_update)
{
	res->source = source;
	res->method = method;
	res->this_update = this_update;
	res->next_update = next_update;
}

/* What holds every OCSP answer about this certificate to account. */
static int
ocsp_setup(const siths_ctx *ctx, X509 *issuer, OCSP_CERTID *id, time_t at,
    struct siths_ocsp_verify *v)
{
	memset(v, 0, sizeof(*v));
	v->untrusted = ctx->intermediates != NULL ? sk_X509_dup(ctx->intermediates) :
	    sk_X509_new_null();
	if (v->untrusted == NULL || !sk_X509_push(v->untrusted, issuer)) {
		sk_X509_free(v->untrusted);
		v->untrusted = NULL;
		return SITHS_ERR_NOMEM;
	}
	v->store = ctx->store;
	v->issuer = issuer;
	v->id = id;
	v->nonce_optional = ctx->cfg->ocsp_nonce_optional;
	v->at = at;
	return 0;
}

/*
 * A cached answer: memory first, then disk (verified again). 1 when there
 * is none to use; else the status the answer stands for.
 */
static int
ocsp_from_cache(siths_ctx *ctx, const unsigned char key[SITHS_CACHE_KEY_LEN],
    struct siths_ocsp_verify *v, struct siths_rev_result *res)
{
	struct siths_ocsp_answer *hit = NULL, ans;
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	void *copy = NULL;
	size_t len = 0;
	int r = 1;

	if (ctx->rev != NULL && siths_cache_get(ctx->rev->ocsp, key, time(NULL), &copy) == 0) {
		hit = copy;
		r = siths_ocsp_answer_status(ctx, hit, "a cached OCSP response");
		set_result(res, SITHS_REV_SOURCE_CACHE, SITHS_REV_OCSP, hit->this_update,
		    hit->next_update);
		goto out;
	}
	if (ctx->cfg->cache_dir == NULL || siths_disk_cache_read(ctx, ctx->cfg->cache_dir, key,
	    SITHS_OCSP_MAX_RESPONSE, &der, &len) != 0)
		goto out;
	v->req = NULL;  /* it carried our nonce when it was stored */
	v->source = "an OCSP response from the disk cache";
	if (siths_ocsp_parse(ctx, der, len, v->source, &resp) != 0)
		goto out;
	r = siths_ocsp_verify_response(ctx, resp, v, &ans);
	if ((r != 0 && r != SITHS_ERR_CERT_REVOKED) || ans.next_update == 0) {
		siths_debug(ctx, "%s not used: %s", v->source, siths_ctx_errmsg(ctx));
		r = 1;
		goto out;
	}
	cache_ocsp(ctx, key, &ans);
	set_result(res, SITHS_REV_SOURCE_CACHE, SITHS_REV_OCSP, ans.this_update, ans.next_update);
out:
	OCSP_RESPONSE_free(resp);
	free(der);
	free(hit);
	return r;
}

static int
check_ocsp(siths_ctx *ctx, X509 *leaf, X509 *issuer, time_t at, struct siths_rev_result *res)
{
	struct siths_ocsp_verify v;
	struct siths_ocsp_answer ans;
	OCSP_CERTID *id = NULL;
	unsigned char key[SITHS_CACHE_KEY_LEN], *der = NULL;
	size_t len = 0;
	char *url = NULL;
	int r = SITHS_ERR_INTERNAL;

	memset(&v, 0, sizeof(v));
	if ((r = siths_ocsp_certid(ctx, leaf, issuer, &id)) != 0 ||
	    (r = ocsp_key(id, key)) != 0 ||
	    (r = ocsp_setup(ctx, issuer, id, at, &v)) != 0)
		goto out;
	/* An answer about another time than now is never cached nor taken from a cache. */
	if (at == 0 && (r = ocsp_from_cache(ctx, key, &v, res)) != 1)
		goto out;
	if ((r = siths_ocsp_url(ctx, leaf, ctx->cfg->ocsp_url, &url)) != 0)
		goto out;
	r = siths_ocsp_query(ctx, url, &v, ctx->cfg->rev_timeout_ms, &ans, &der, &len);
	if (r != 0 && r != SITHS_ERR_CERT_REVOKED)
		goto out;
	set_result(res, SITHS_REV_SOURCE_OCSP, SITHS_REV_OCSP, ans.this_update, ans.next_update);
	if (ctx->rev != NULL)
		__atomic_store_n(&ctx->rev->ocsp_heard, time(NULL), __ATOMIC_RELAXED);
	if (at == 0 && ans.nonce_checked && ans.next_update > time(NULL)) {
		cache_ocsp(ctx, key, &ans);
		if (ctx->cfg->cache_dir != NULL)
			(void)siths_disk_cache_write(ctx, ctx->cfg->cache_dir, key, der, len);
	}
out:
	sk_X509_free(v.untrusted);      /* borrowed members */
	OCSP_CERTID_free(id);
	free(url);
	free(der);
	return r;
}

/* Verify crl for leaf, cache it when asked, and look leaf up in it. */
static int
crl_answer(siths_ctx *ctx, X509_CRL *crl, X509 *leaf, X509 *issuer, time_t at,
    const char *source, const unsigned char *key, struct siths_crl_answer *ans)
{
	int r;

	/* A partition for others says nothing here, fresh or not, sound or not. */
	if ((r = siths_crl_verify(ctx, crl, leaf, issuer, at, source, ans)) != 0)
		return siths_crl_covers(ctx, crl, leaf, source) != 0 ? SITHS_ERR_CRL_NOT_COVERED : r;
	if (key != NULL)
		cache_crl(ctx, key, crl, ans->next_update);
	return siths_crl_lookup(ctx, crl, leaf, source, ans);
}

/* A CRL cached in memory (verified when it was stored): 1 when there is none. */
static int
crl_from_memory(siths_ctx *ctx, const unsigned char key[SITHS_CACHE_KEY_LEN], X509 *leaf,
    const char *source, struct siths_crl_answer *ans)
{
	X509_CRL *crl = NULL;
	void *copy = NULL;
	int r;

	memset(ans, 0, sizeof(*ans));
	if (ctx->rev == NULL || siths_cache_get(ctx->rev->crl, key, time(NULL), &copy) != 0)
		return 1;
	crl = copy;
	r = siths_crl_lookup(ctx, crl, leaf, source, ans);
	X509_CRL_free(crl);
	return r;
}

/*
 * One of [revocation] crl_files. Parsed once while the file stays the same
 * (its identity is in the key); 1 when it holds no CRL of this issuer.
 */
static int
crl_from_file(siths_ctx *ctx, const char *path, X509 *leaf, X509 *issuer, time_t at,
    struct siths_rev_result *res)
{
	struct siths_crl_answer ans;
	struct stat sb;
	X509_CRL *crl = NULL;
	unsigned char key[SITHS_CACHE_KEY_LEN];
	char source[SITHS_ERRMSG_MAX];
	int r;

	snprintf(source, sizeof(source), "the CRL file %s", path);
	if (stat(path, &sb) != 0)
		return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	if ((r = crl_key(issuer, path, &sb, key)) != 0)
		return r;
	if (at == 0 && (r = crl_from_memory(ctx, key, leaf, source, &ans)) != 1)
		goto done;
	if ((r = siths_crl_read_file(ctx, path, leaf, &crl)) != 0)
		return r;
	r = crl_answer(ctx, crl, leaf, issuer, at, source, at == 0 ? key : NULL, &ans);
	X509_CRL_free(crl);
done:
	if (r == 0 || r == SITHS_ERR_CERT_REVOKED)
		set_result(res, SITHS_REV_SOURCE_CRL, SITHS_REV_CRL, ans.this_update,
		    ans.next_update);
	return r;
}

/* The disk copy of the distribution point's CRL, verified again: 1 when none is usable. */
static int
crl_from_disk(siths_ctx *ctx, const unsigned char key[SITHS_CACHE_KEY_LEN], const char *url,
    X509 *leaf, X509 *issuer, struct siths_rev_result *res)
{
	struct siths_crl_answer ans;
	X509_CRL *crl = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char source[SITHS_ERRMSG_MAX];
	int r = 1;

	if (ctx->cfg->cache_dir == NULL || siths_disk_cache_read(ctx, ctx->cfg->cache_dir, key,
	    SITHS_CRL_MAX_BYTES, &der, &len) != 0)
		goto out;
	snprintf(source, sizeof(source), "the cached copy of the CRL at %s", url);
	if (siths_crl_parse(ctx, der, len, X509_get_issuer_name(leaf), source, &crl) != 0)
		goto out;
	r = crl_answer(ctx, crl, leaf, issuer, 0, source, key, &ans);
	if (r == SITHS_ERR_CRL_NOT_COVERED)
		goto out;       /* verified, and not for this certificate */
	if (r != 0 && r != SITHS_ERR_CERT_REVOKED) {
		siths_debug(ctx, "%s not used: %s", source, siths_ctx_errmsg(ctx));
		r = 1;
		goto out;
	}
	set_result(res, SITHS_REV_SOURCE_CACHE, SITHS_REV_CRL, ans.this_update, ans.next_update);
out:
	X509_CRL_free(crl);
	free(der);
	return r;
}

/*
 * The CRL of leaf's http:// distribution point: memory, disk, network. 1
 * when the certificate names none (with the message set).
 */
static int
crl_from_cdp(siths_ctx *ctx, X509 *leaf, X509 *issuer, time_t at,
    struct siths_rev_result *res)
{
	struct siths_crl_answer ans;
	X509_CRL *crl = NULL;
	unsigned char key[SITHS_CACHE_KEY_LEN], *der = NULL;
	size_t len = 0;
	char *url = NULL, source[SITHS_ERRMSG_MAX];
	int r;

	if (siths_crl_url(ctx, leaf, &url) != 0)
		return 1;
	if ((r = crl_key(issuer, url, NULL, key)) != 0)
		goto out;
	snprintf(source, sizeof(source), "the CRL at %s", url);
	if (at == 0 && (r = crl_from_memory(ctx, key, leaf, source, &ans)) != 1) {
		if (r == 0 || r == SITHS_ERR_CERT_REVOKED)
			set_result(res, SITHS_REV_SOURCE_CACHE, SITHS_REV_CRL, ans.this_update,
			    ans.next_update);
		goto out;
	}
	if (at == 0 && (r = crl_from_disk(ctx, key, url, leaf, issuer, res)) != 1)
		goto out;
	if ((r = siths_crl_download(ctx, url, ctx->cfg->rev_timeout_ms, leaf, &crl, &der,
	    &len)) != 0)
		goto out;
	r = crl_answer(ctx, crl, leaf, issuer, at, source, at == 0 ? key : NULL, &ans);
	/* a verified CRL is kept even when it covers others only: it is the
	 * distribution point's, and the next process need not fetch it again */
	if (r != 0 && r != SITHS_ERR_CERT_REVOKED && r != SITHS_ERR_CRL_NOT_COVERED)
		goto out;
	if (r != SITHS_ERR_CRL_NOT_COVERED)
		set_result(res, SITHS_REV_SOURCE_CRL, SITHS_REV_CRL, ans.this_update,
		    ans.next_update);
	if (ctx->rev != NULL)
		__atomic_store_n(&ctx->rev->crl_heard, time(NULL), __ATOMIC_RELAXED);
	if (at == 0 && ctx->cfg->cache_dir != NULL)
		(void)siths_disk_cache_write(ctx, ctx->cfg->cache_dir, key, der, len);
out:
	X509_CRL_free(crl);
	free(der);
	free(url);
	return r;
}

static void
append_reason(char *buf, size_t len, const char *what, const char *why)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s%s: %s", n > 0 ? "; " : "", what, why);
}

/*
 * Local files first (no network for a CA whose CRL the administrator
 * provides), then the distribution point. A file with another CA's CRL, or
 * a partition that does not cover the certificate, is passed over. An
 * unreadable or stale local file lets the distribution point answer; if it
 * cannot either, a stale local CRL is the answer (stale), else unavailable.
 * When every CRL there was covers other certificates only and nothing else
 * could be asked, that is SITHS_ERR_CRL_NOT_COVERED.
 */
static int
check_crl(siths_ctx *ctx, X509 *leaf, X509 *issuer, time_t at, struct siths_rev_result *res)
{
	const struct siths_strlist *files = &ctx->cfg->crl_files;
	char why[SITHS_ERRMSG_MAX] = "";
	int r, stale = 0, unreadable = 0, uncovered = 0;
	size_t i;

	for (i = 0; i < files->n; i++) {
		r = crl_from_file(ctx, files->v[i], leaf, issuer, at, res);
		if (r == 1)
			continue;
		if (r != SITHS_ERR_REVOCATION_UNAVAILABLE && r != SITHS_ERR_REVOCATION_STALE &&
		    r != SITHS_ERR_CRL_NOT_COVERED)
			return r;
		stale |= r == SITHS_ERR_REVOCATION_STALE;
		unreadable |= r == SITHS_ERR_REVOCATION_UNAVAILABLE;
		uncovered |= r == SITHS_ERR_CRL_NOT_COVERED;
		append_reason(why, sizeof(why), "file", siths_ctx_errmsg(ctx));
	}
	r = crl_from_cdp(ctx, leaf, issuer, at, res);
	if (r == 1 && uncovered && !stale && !unreadable)
		return siths_fail(ctx, SITHS_ERR_CRL_NOT_COVERED, "no CRL covers the "
		    "certificate (%s), and it names no distribution point to ask", why);
	if (r == 1)
		r = SITHS_ERR_REVOCATION_UNAVAILABLE;
	if (r != SITHS_ERR_REVOCATION_UNAVAILABLE || why[0] == '\0')
		return r;
	append_reason(why, sizeof(why), "distribution point", siths_ctx_errmsg(ctx));
	return siths_fail(ctx, stale ? SITHS_ERR_REVOCATION_STALE :
	    SITHS_ERR_REVOCATION_UNAVAILABLE, "%s", why);
}

/* "HSA-id X (subject)" for a log line. */
static void
cert_label(X509 *cert, char *buf, size_t len)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	char hsa[64] = "", subject[256];
	size_t i;

	X509_NAME_oneline(name, subject, sizeof(subject));
	if (X509_NAME_get_text_by_NID(name, NID_serialNumber, hsa, sizeof(hsa)) < 0)
		hsa[0] = '\0';
	for (i = 0; hsa[i] != '\0'; i++) {
		if (!isprint((unsigned char)hsa[i]))
			hsa[i] = '?';
	}
	ERR_clear_error();
	snprintf(buf, len, "%s%s%s%s%s", hsa[0] != '\0' ? "HSA-id " : "", hsa,
	    hsa[0] != '\0' ? " (" : "", subject, hsa[0] != '\0' ? ")" : "");
}

static int
soft_accept(siths_ctx *ctx, X509 *leaf, const char *why, struct siths_rev_result *res)
{
	char label[REV_LABEL_MAX];
	unsigned long n = 0;

	if (ctx->rev != NULL)
		n = __atomic_add_fetch(&ctx->rev->soft_count, 1, __ATOMIC_RELAXED);
	cert_label(leaf, label, sizeof(label));
	siths_warn(ctx, "revocation of %s not checked (%s); accepted because [revocation] "
	    "on_unreachable = soft (soft accept %lu)", label, why, n);
	set_result(res, SITHS_REV_SOURCE_SOFT, 0, 0, 0);
	return 0;
}

int
siths_revocation_check(siths_ctx *ctx, X509 *leaf, X509 *issuer, time_t at,
    struct siths_rev_result *res)
{
	char why[SITHS_ERRMSG_MAX] = "";
	const char *what;
	size_t i;
	int m, r;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (ctx == NULL || ctx->cfg == NULL || leaf == NULL || issuer == NULL || res == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	for (i = 0; i < ctx->cfg->n_rev_methods && i < 2; i++) {
		m = ctx->cfg->rev_methods[i];
		what = m == SITHS_REV_OCSP ? "OCSP" : "CRL";
		r = m == SITHS_REV_OCSP ? check_ocsp(ctx, leaf, issuer, at, res) :
		    check_crl(ctx, leaf, issuer, at, res);
		siths_debug(ctx, "revocation by %s: %s", what, r == 0 ? "good" :
		    siths_status_name(r));
		/* Any answer but "unavailable" is the answer. */
		if (r != SITHS_ERR_REVOCATION_UNAVAILABLE)
			return r;
		append_reason(why, sizeof(why), what, siths_ctx_errmsg(ctx));
	}
	if (i == 0) {
		res->source = SITHS_REV_SOURCE_NONE;
		return 0;
	}
	if (ctx->cfg->rev_soft)
		return soft_accept(ctx, leaf, why, res);
	return siths_fail(ctx, SITHS_ERR_REVOCATION_UNAVAILABLE, "no method answered: %s", why);
}
