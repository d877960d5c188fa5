/*
 * authcheck.c - a forwarded client certificate judged (see authcheck.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "authcheck.h"
#include "config.h"
#include "ctx.h"
#include "policy.h"
#include "siths.h"
#include "svc_frame.h"

/* Certificates a chain header may bring (the library takes 8). */
#define AUTHCHECK_CHAIN_MAX 8

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* %XX decoding (nginx's $ssl_client_escaped_cert); NULL when malformed. */
static char *
url_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	char *out;
	int hi, lo;

	if (n > SITHSD_CERT_HEADER_MAX || (out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* One certificate as bare base64 DER (Traefik's, Caddy's _der_base64): 1, or -1. */
static int
read_b64_der(const char *text, STACK_OF(X509) *certs)
{
	const unsigned char *p;
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *x = NULL;
	int r = -1;

	if (siths_b64_decode(text, SITHSD_CERT_HEADER_MAX, &der, &len) != 0)
		return -1;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL && p == der + len && sk_X509_push(certs, x))
		r = 1;
	else
		X509_free(x);
	ERR_clear_error();
	free(der);
	return r;
}

/*
 * The certificates in value, at most max of them, into certs: URL-encoded
 * PEM (nginx's $ssl_client_escaped_cert), or one bare base64 DER.
 */
static int
read_pem(const char *value, int max, STACK_OF(X509) *certs)
{
	BIO *bio = NULL;
	X509 *x;
	char *pem;
	size_t len = 0;
	int n = 0;

	if ((pem = url_decode(value, &len)) == NULL)
		return -1;
	if (strstr(pem, "-----BEGIN") == NULL) {
		n = read_b64_der(pem, certs);
		free(pem);
		return n;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		free(pem);
		return -1;
	}
	while (n <= max && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			break;
		}
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	free(pem);
	return n >= 1 && n <= max ? n : -1;
}

static void
set(struct sithsd_verdict *v, int http, int status, const char *msg)
{
	v->http = http;
	v->status = status;
	snprintf(v->message, sizeof(v->message), "%s", msg != NULL ? msg : "");
}

/* The options for the chain header's certificates; 0, or -1 when malformed. */
static int
chain_opts(const char *chain, siths_verify_opts *opts)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	unsigned char *der = NULL;
	int i, n, r = 0;

	if (certs == NULL || read_pem(chain, AUTHCHECK_CHAIN_MAX, certs) < 0)
		r = -1;
	for (i = 0; r == 0 && i < sk_X509_num(certs); i++) {
		der = NULL;
		if ((n = i2d_X509(sk_X509_value(certs, i), &der)) <= 0 ||
		    siths_verify_opts_add_untrusted(opts, der, (size_t)n) != 0)
			r = -1;
		OPENSSL_free(der);
	}
	sk_X509_pop_free(certs, X509_free);
	return r;
}

/* [authd] policy beyond the library's own: 0, or the refusal (with a message in v). */
static int
policy(const struct siths_config *cfg, const siths_identity *id, struct sithsd_verdict *v)
{
	return siths_policy_judge(id, cfg->authd_min_loa > 0 ? cfg->authd_min_loa : cfg->min_loa,
	    &cfg->authd_allowed_orgs, cfg->authd_required_role, v->message, sizeof(v->message));
}

/*
 * The DER of the one certificate in a header, without parsing it: the
 * library looks its validation up by the DER's digest before it parses
 * anything, so a certificate seen before costs no decoding here either
 * (parsing it first was most of a warm answer's time). Its length, or -1.
 */
static int
header_der(const char *value, unsigned char **der)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----",
	    end[] = "-----END CERTIFICATE-----";
	char *text = NULL, *b, *e, *src, *dst;
	size_t len = 0, n = 0;
	int r = -1;

	*der = NULL;
	if ((text = url_decode(value, &len)) == NULL)
		return -1;
	if ((b = strstr(text, begin)) == NULL) {
		b = text;       /* bare base64 DER */
		e = text + len;
	} else if ((e = strstr(b += sizeof(begin) - 1, end)) == NULL ||
	    strstr(e + sizeof(end) - 1, begin) != NULL) {
		goto out;       /* not one certificate */
	}
	/* the base64 between the armour lines, white space taken out */
	for (src = dst = b; src < e; src++) {
		if (*src != '\r' && *src != '\n' && *src != ' ' && *src != '\t')
			*dst++ = *src;
	}
	*dst = '\0';
	if (siths_b64_decode(b, SITHSD_CERT_HEADER_MAX, der, &n) == 0 && n > 0 && n < 65536)
		r = (int)n;
out:
	free(text);
	return r;
}

void
sithsd_auth_check(siths_ctx *ctx, const char *cert, const char *chain, int copies,
    struct sithsd_verdict *v)
{
	siths_verify_opts *opts = NULL;
	unsigned char *der = NULL;
	int n, r;

	memset(v, 0, sizeof(*v));
	if (copies > 1) {
		set(v, 400, SITHS_ERR_INVALID_ARGUMENT, "the certificate header came more than once");
		goto out;
	}
	if (cert == NULL || *cert == '\0') {
		set(v, 401, SITHS_ERR_CARD_NO_CERT, "no client certificate");
		goto out;
	}
	if ((n = header_der(cert, &der)) <= 0) {
		set(v, 400, SITHS_ERR_CERT_PARSE, "the certificate header is not one URL-encoded "
		    "PEM certificate");
		goto out;
	}
	if (siths_verify_opts_new(&opts) != 0 ||
	    (chain != NULL && *chain != '\0' && chain_opts(chain, opts) != 0)) {
		set(v, 400, SITHS_ERR_CERT_PARSE, "the chain header is not URL-encoded PEM "
		    "certificates (at most 8)");
		goto out;
	}
	if ((r = siths_login_cert(ctx, der, (size_t)n, opts, &v->id)) != 0) {
		/* an outage is not a refusal: the proxy shows it as one (503); bytes that
		 * are no certificate are a malformed header */
		set(v, r == SITHS_ERR_CERT_PARSE ? 400 : siths_status_unavailable(r) ? 503 : 403, r,
		    siths_ctx_errmsg(ctx));
		goto out;
	}
	if ((r = policy(ctx->cfg, v->id, v)) != 0) {
		v->http = 403;
		v->status = r;
		siths_identity_free(&v->id);
		goto out;
	}
	set(v, 200, 0, "");
out:
	siths_verify_opts_free(&opts);
	free(der);
}

void
sithsd_verdict_clear(struct sithsd_verdict *v)
{
	siths_identity_free(&v->id);
}

/* value percent-encoded into buf (see authcheck.h); extra: more bytes to encode. */
static void
header_safe(const char *value, const char *extra, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)(value != NULL ? value : "");
	size_t o = 0;

	for (; *p != '\0' && o + 4 < len; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '%' && strchr(extra, *p) == NULL) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	buf[o] = '\0';
}

static void
add_safe(void (*add)(void *, const char *, const char *), void *cls, const char *name,
    const char *value)
{
	char buf[1024];

	if (value == NULL)
		return;
	header_safe(value, "", buf, sizeof(buf));
	add(cls, name, buf);
}

/* The roles, each encoded (',' too), joined by ", ". */
static void
add_roles(void (*add)(void *, const char *, const char *), void *cls, const siths_identity *id)
{
	char buf[8192], one[512];
	size_t i, n = siths_identity_role_count(id), o = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		header_safe(siths_identity_role(id, i), ",", one, sizeof(one));
		if (o + strlen(one) + 3 >= sizeof(buf))
			break;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i > 0 ? ", " : "", one);
	}
	add(cls, "X-SITHS-Roles", buf);
}

void
sithsd_verdict_headers(const struct sithsd_verdict *v,
    void (*add)(void *cls, const char *name, const char *value), void *cls)
{
	const siths_identity *id = v->id;
	char loa[16];

	add(cls, "X-SITHS-Status", siths_status_name(v->status));
	if (v->http != 200 || id == NULL)
		return;
	snprintf(loa, sizeof(loa), "%d", siths_identity_loa(id));
	add_safe(add, cls, "X-SITHS-HSA-Id", siths_identity_hsa_id(id));
	add_safe(add, cls, "X-SITHS-Name", siths_identity_display_name(id));
	add_safe(add, cls, "X-SITHS-Given-Name", siths_identity_given_name(id));
	add_safe(add, cls, "X-SITHS-Surname", siths_identity_surname(id));
	add_safe(add, cls, "X-SITHS-Org-HSA-Id", siths_identity_org_hsa_id(id));
	add_safe(add, cls, "X-SITHS-Org-Name", siths_identity_org_name(id));
	add_safe(add, cls, "X-SITHS-Org-Number", siths_identity_org_number(id));
	add_safe(add, cls, "X-SITHS-Municipality-Code", siths_identity_municipality_code(id));
	add(cls, "X-SITHS-LoA", loa);
	add_roles(add, cls, id);
	add(cls, "X-SITHS-Stale", siths_identity_stale(id) ? "1" : "0");
}
