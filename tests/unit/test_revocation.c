/*
 * test_revocation.c - OCSP and CRL checking without the outside world: a
 * PKI made in memory (testpki.c), responses and CRLs signed to order, and
 * for the fetching a small HTTP server on 127.0.0.1 in a thread of this
 * process (no network beyond loopback).
 *
 * Covered: OCSP verification (good, revoked, unknown, bad signature,
 * responders not authorised, nonce wrong / absent / optional, stale, future
 * thisUpdate, unsigned error status, garbage); CRL verification (revoked,
 * not revoked, bad signature, wrong issuer, expired, delta, PEM/DER); URL
 * rules; HTTP limits (status, redirect, size, timeout, truncation, proxy
 * variables ignored); the orchestration (method order, fallback,
 * soft/fail, caches in memory and on disk, time injection); and
 * partitioned CRLs (issuingDistributionPoint) from files, downloads, memory
 * and disk, in every order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "crl.h"
#include "ctx.h"
#include "http.h"
#include "ocsp.h"
#include "revocation.h"
#include "siths.h"
#include "testpki.h"

/* --- the loopback server ------------------------------------------------- */

enum srv_mode {
	SRV_OCSP,               /* answer OCSP requests per srv.ocsp */
	SRV_BODY,               /* 200 with srv.body */
	SRV_STATUS_500,
	SRV_REDIRECT,
	SRV_HANG,               /* read the request, never answer */
	SRV_HUGE_CLEN,          /* announce 100 MB */
	SRV_HUGE_BODY,          /* 200 without a length, then 1 MB */
	SRV_TRUNCATED,          /* announce 100 bytes, send 10 */
	SRV_NOT_HTTP,
};

struct server {
	pthread_mutex_t lock;
	int listen_fd;
	int port;
	pthread_t tid;
	int stop;
	int mode;               /* enum srv_mode, for paths other than /crl */
	int hits;               /* requests answered */
	struct testpki_ocsp ocsp;
	const struct testpki *pki;
	unsigned char *crl;     /* served at /crl; NULL: 404 */
	size_t crl_len;
	unsigned char *part[3]; /* served at /p1.crl, /p2.crl, /p3.crl; NULL: 404 */
	size_t part_len[3];
	const char *body;
};

static struct server srv;
static struct testpki pki;

static void
send_str(int fd, const void *p, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static void
send_lit(int fd, const char *s)
{
	send_str(fd, s, strlen(s));
}

static void
send_200(int fd, const unsigned char *body, size_t len)
{
	char head[128];

	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	send_str(fd, head, strlen(head));
	send_str(fd, body, len);
}

/* Read a request: the header, then Content-Length bytes of body. */
static size_t
read_request(int fd, char *buf, size_t cap, char **body)
{
	size_t len = 0, clen = 0;
	char *end = NULL, *cl;
	ssize_t n;
	struct pollfd p = { fd, POLLIN, 0 };

	*body = NULL;
	while (len < cap - 1 && poll(&p, 1, 2000) > 0 && (n = recv(fd, buf + len,
	    cap - 1 - len, 0)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			if ((cl = strcasestr(buf, "Content-Length:")) != NULL && cl < end)
				clen = strtoul(cl + 15, NULL, 10);
			*body = end + 4;
		}
		if (end != NULL && len >= (size_t)(*body - buf) + clen)
			break;
	}
	return end != NULL ? len - (size_t)(*body - buf) : 0;
}

static void
answer_ocsp(int fd, const unsigned char *body, size_t len, const struct testpki_ocsp *t)
{
	const unsigned char *p = body;
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	int n;

	if (req != NULL && (resp = testpki_ocsp_response(srv.pki, req, t)) != NULL &&
	    (n = i2d_OCSP_RESPONSE(resp, &der)) > 0)
		send_200(fd, der, (size_t)n);
	else
		send_lit(fd, "HTTP/1.0 400 Bad\r\n\r\n");
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
}

static void
serve_part(int fd, int i)
{
	pthread_mutex_lock(&srv.lock);
	if (srv.part[i] != NULL)
		send_200(fd, srv.part[i], srv.part_len[i]);
	else
		send_lit(fd, "HTTP/1.0 404 Not Found\r\n\r\n");
	pthread_mutex_unlock(&srv.lock);
}

static void
handle(int fd)
{
	static char buf[65536];
	static const char huge[] = "HTTP/1.0 200 OK\r\n\r\n";
	struct testpki_ocsp t;
	char *body, chunk[4096];
	size_t blen = read_request(fd, buf, sizeof(buf), &body);
	struct pollfd p = { fd, POLLIN, 0 };
	int mode, i;

	pthread_mutex_lock(&srv.lock);
	mode = srv.mode;
	t = srv.ocsp;
	srv.hits++;
	pthread_mutex_unlock(&srv.lock);
	if (strncmp(buf, "GET /p", 6) == 0 && buf[6] >= '1' && buf[6] <= '3' &&
	    strncmp(buf + 7, ".crl ", 5) == 0) {
		serve_part(fd, buf[6] - '1');
		return;
	}
	if (strncmp(buf, "GET /crl", 8) == 0) {
		if (srv.crl != NULL)
			send_200(fd, srv.crl, srv.crl_len);
		else
			send_lit(fd, "HTTP/1.0 404 Not Found\r\n\r\n");
		return;
	}
	switch (mode) {
	case SRV_OCSP:
		answer_ocsp(fd, (unsigned char *)body, blen, &t);
		break;
	case SRV_BODY:
		send_200(fd, (const unsigned char *)srv.body, strlen(srv.body));
		break;
	case SRV_STATUS_500:
		send_lit(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno");
		break;
	case SRV_REDIRECT:
		send_lit(fd, "HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/\r\n\r\n");
		break;
	case SRV_HANG:
		(void)poll(&p, 1, 3000);
		break;
	case SRV_HUGE_CLEN:
		send_lit(fd, "HTTP/1.0 200 OK\r\nContent-Length: 100000000\r\n\r\n");
		break;
	case SRV_HUGE_BODY:
		send_str(fd, huge, sizeof(huge) - 1);
		memset(chunk, 'x', sizeof(chunk));
		for (i = 0; i < 256; i++)
			send_str(fd, chunk, sizeof(chunk));
		break;
	case SRV_TRUNCATED:
		send_lit(fd, "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
		break;
	default:
		send_lit(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
		break;
	}
}

static void *
serve(void *arg)
{
	struct pollfd p = { srv.listen_fd, POLLIN, 0 };
	int fd, stop;

	for (;;) {
		pthread_mutex_lock(&srv.lock);
		stop = srv.stop;
		pthread_mutex_unlock(&srv.lock);
		if (stop)
			break;
		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((fd = accept(srv.listen_fd, NULL, NULL)) < 0)
			continue;
		handle(fd);
		close(fd);
	}
	return NULL;
}

static void
set_mode(int mode)
{
	pthread_mutex_lock(&srv.lock);
	srv.mode = mode;
	memset(&srv.ocsp, 0, sizeof(srv.ocsp));
	pthread_mutex_unlock(&srv.lock);
}

static void
set_ocsp(const struct testpki_ocsp *t)
{
	pthread_mutex_lock(&srv.lock);
	srv.mode = SRV_OCSP;
	srv.ocsp = *t;
	pthread_mutex_unlock(&srv.lock);
}

static int
hits(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.hits;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static void
set_crl(X509_CRL *crl)
{
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(crl, &der);

	assert_true(n > 0);
	pthread_mutex_lock(&srv.lock);
	free(srv.crl);
	srv.crl = malloc((size_t)n);
	memcpy(srv.crl, der, (size_t)n);
	srv.crl_len = (size_t)n;
	pthread_mutex_unlock(&srv.lock);
	OPENSSL_free(der);
}

static char ocsp_url[64], crl_url[64], dead_url[64];

static int
group_setup(void **state)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	if ((srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(srv.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(srv.listen_fd, 16) != 0 ||
	    getsockname(srv.listen_fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	srv.port = ntohs(sa.sin_port);
	snprintf(ocsp_url, sizeof(ocsp_url), "http://127.0.0.1:%d/ocsp", srv.port);
	snprintf(crl_url, sizeof(crl_url), "http://127.0.0.1:%d/crl", srv.port);
	/* Port 1 on loopback: nobody listens, the connection is refused at once. */
	snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:1/ocsp");
	if (testpki_new(&pki, ocsp_url, crl_url) != 0)
		return -1;
	srv.pki = &pki;
	return pthread_create(&srv.tid, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	int i;

	pthread_mutex_lock(&srv.lock);
	srv.stop = 1;
	pthread_mutex_unlock(&srv.lock);
	pthread_join(srv.tid, NULL);
	close(srv.listen_fd);
	free(srv.crl);
	for (i = 0; i < 3; i++)
		free(srv.part[i]);
	testpki_free(&pki);
	return 0;
}

/* --- a context around the test PKI ----------------------------------------- */

static char logged[2048];

static void
capture_log(void *userdata, int level, const char *message)
{
	if (level <= SITHS_LOG_WARNING)
		snprintf(logged, sizeof(logged), "%s", message);
}

static siths_ctx *
make_ctx(const char *mode, int soft, const char *ocsp_override, const char *cache_dir,
    const char *crl_file)
{
	struct siths_config *cfg;
	siths_ctx *ctx = NULL;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	siths_ctx_set_log(ctx, capture_log, NULL);
	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	ctx->cfg = cfg;
	if (strcmp(mode, "ocsp") == 0 || strcmp(mode, "ocsp,crl") == 0)
		cfg->rev_methods[cfg->n_rev_methods++] = SITHS_REV_OCSP;
	if (strcmp(mode, "crl") == 0 || strcmp(mode, "ocsp,crl") == 0)
		cfg->rev_methods[cfg->n_rev_methods++] = SITHS_REV_CRL;
	cfg->rev_soft = soft;
	cfg->rev_timeout_ms = 2000;
	if (ocsp_override != NULL)
		assert_non_null(cfg->ocsp_url = strdup(ocsp_override));
	if (cache_dir != NULL)
		assert_non_null(cfg->cache_dir = strdup(cache_dir));
	if (crl_file != NULL) {
		assert_non_null(cfg->crl_files.v = calloc(1, sizeof(char *)));
		assert_non_null(cfg->crl_files.v[0] = strdup(crl_file));
		cfg->crl_files.n = 1;
	}
	assert_int_equal(X509_STORE_up_ref(pki.store), 1);
	ctx->store = pki.store;
	assert_non_null(ctx->intermediates = X509_chain_up_ref(pki.untrusted));
	assert_int_equal(siths_revocation_init(ctx), 0);
	logged[0] = '\0';
	return ctx;
}

static void
expect_msg(const siths_ctx *ctx, const char *want)
{
	if (strstr(siths_ctx_errmsg(ctx), want) == NULL)
		fail_msg("message '%s' lacks '%s'", siths_ctx_errmsg(ctx), want);
}

/* --- OCSP verification ------------------------------------------------------ */

struct ocsp_case {
	siths_ctx *ctx;
	OCSP_CERTID *id;
	OCSP_REQUEST *req;
	struct siths_ocsp_verify v;
	struct siths_ocsp_answer ans;
};

static void
ocsp_case_init(struct ocsp_case *c, X509 *leaf)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(siths_ctx_create(&c->ctx), 0);
	assert_int_equal(siths_ocsp_certid(c->ctx, leaf, pki.ca, &c->id), 0);
	assert_non_null(c->req = OCSP_REQUEST_new());
	assert_non_null(OCSP_request_add0_id(c->req, OCSP_CERTID_dup(c->id)));
	assert_int_equal(OCSP_request_add1_nonce(c->req, NULL, SITHS_OCSP_NONCE_LEN), 1);
	c->v.store = pki.store;
	c->v.untrusted = pki.untrusted;
	c->v.issuer = pki.ca;
	c->v.id = c->id;
	c->v.req = c->req;
	c->v.source = "test responder";
}

static void
ocsp_case_free(struct ocsp_case *c)
{
	OCSP_CERTID_free(c->id);
	OCSP_REQUEST_free(c->req);
	siths_ctx_free(&c->ctx);
}

/* Make a response as t says and verify it; returns the status. */
static int
ocsp_run(struct ocsp_case *c, const struct testpki_ocsp *t)
{
	OCSP_RESPONSE *resp;
	int r;

	assert_non_null(resp = testpki_ocsp_response(&pki, c->req, t));
	r = siths_ocsp_verify_response(c->ctx, resp, &c->v, &c->ans);
	OCSP_RESPONSE_free(resp);
	return r;
}

static void
test_ocsp_good(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_GOOD };
	struct ocsp_case c;

	ocsp_case_init(&c, pki.leaf);
	assert_int_equal(ocsp_run(&c, &t), 0);
	assert_int_equal(c.ans.status, V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(c.ans.nonce_checked, 1);
	assert_true(c.ans.next_update > time(NULL) + 80000);
	assert_true(c.ans.this_update <= time(NULL));

	/* The CA may answer for itself. */
	t.signer = pki.ca;
	t.signer_key = pki.ca_key;
	assert_int_equal(ocsp_run(&c, &t), 0);
	ocsp_case_free(&c);
}

static void
test_ocsp_revoked_unknown(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_REVOKED, .reason = 1 };
	struct ocsp_case c;

	ocsp_case_init(&c, pki.leaf);
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_CERT_REVOKED);
	expect_msg(c.ctx, "keyCompromise");
	expect_msg(c.ctx, "revoked at 20");
	assert_int_equal(c.ans.status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(c.ans.reason, 1);
	assert_true(c.ans.revoked_at > 0 && c.ans.revoked_at < time(NULL));

	t.reason = -1;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_CERT_REVOKED);
	expect_msg(c.ctx, "no reason given");

	t.status = V_OCSP_CERTSTATUS_UNKNOWN;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_REVOCATION_UNKNOWN);
	ocsp_case_free(&c);
}

static void
test_ocsp_bad_signature(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_GOOD, .bad_signature = 1 };
	struct ocsp_case c;

	ocsp_case_init(&c, pki.leaf);
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	expect_msg(c.ctx, "signature or responder not valid");
	/* A revoked answer with a broken signature is no answer at all either. */
	t.status = V_OCSP_CERTSTATUS_REVOKED;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	ocsp_case_free(&c);
}

static void
test_ocsp_signer_not_authorised(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_GOOD };
	struct ocsp_case c;

	ocsp_case_init(&c, pki.leaf);
	/* issued by the CA, but without id-kp-OCSPSigning */
	t.signer = pki.noeku;
	t.signer_key = pki.noeku_key;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	/* a real responder, of another CA (the root) */
	t.signer = pki.root_responder;
	t.signer_key = pki.resp_key;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	/* self-signed, with the CA's name: no path to the anchor */
	t.signer = pki.rogue_ca;
	t.signer_key = pki.rogue_key;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	/* the root itself, for a certificate the root did not issue */
	t.signer = pki.root;
	t.signer_key = pki.root_key;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	ocsp_case_free(&c);
}

static void
test_ocsp_nonce(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_GOOD, .wrong_nonce = 1 };
	struct ocsp_case c;

	ocsp_case_init(&c, pki.leaf);
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_NONCE);
	expect_msg(c.ctx, "other than the one we sent");
	/* optional does not excuse a wrong one */
	c.v.nonce_optional = 1;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_NONCE);

	t.wrong_nonce = 0;
	t.no_nonce = 1;
	c.v.nonce_optional = 0;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_NONCE);
	expect_msg(c.ctx, "no nonce");
	c.v.nonce_optional = 1;
	assert_int_equal(ocsp_run(&c, &t), 0);
	assert_int_equal(c.ans.nonce_checked, 0);
	/* A revoked answer without a nonce still says revoked. */
	t.status = V_OCSP_CERTSTATUS_REVOKED;
	t.reason = 1;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_CERT_REVOKED);
	ocsp_case_free(&c);
}

static void
test_ocsp_freshness(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_GOOD };
	struct ocsp_case c;

	ocsp_case_init(&c, pki.leaf);
	/* nextUpdate passed an hour ago */
	t.this_off = -7200;
	t.next_off = -3600;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_REVOCATION_STALE);
	expect_msg(c.ctx, "expired at");
	/* a minute ago: within the clock-skew allowance */
	t.next_off = -60;
	assert_int_equal(ocsp_run(&c, &t), 0);
	/* thisUpdate an hour ahead */
	t.this_off = 3600;
	t.next_off = 7200;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	expect_msg(c.ctx, "in the future");

	/* checked as at a time after nextUpdate (one day): stale; before: fine */
	t.this_off = 0;
	t.next_off = 0;
	c.v.at = time(NULL) + 2 * 86400;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_REVOCATION_STALE);
	c.v.at = time(NULL) - 86400;
	assert_int_equal(ocsp_run(&c, &t), 0);
	c.v.at = 0;

	/* no nextUpdate: our nonce makes it fresh; without one, an old thisUpdate is stale */
	t.no_next = 1;
	t.this_off = -3600;
	assert_int_equal(ocsp_run(&c, &t), 0);
	t.no_nonce = 1;
	c.v.nonce_optional = 1;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_REVOCATION_STALE);
	ocsp_case_free(&c);
}

static void
test_ocsp_form(void **state)
{
	static const unsigned char garbage[] = "<html>Service Unavailable</html>";
	struct testpki_ocsp t = { .resp_status = OCSP_RESPONSE_STATUS_TRYLATER };
	struct ocsp_case c;
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *other = NULL;
	unsigned char *der = NULL, *big;
	int n;

	ocsp_case_init(&c, pki.leaf);
	/* an unsigned error status ends nothing: unavailable, another method may answer */
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(c.ctx, "trylater");

	/* garbage, trailing bytes, too large: unavailable */
	assert_int_equal(siths_ocsp_parse(c.ctx, garbage, sizeof(garbage), "x", &resp),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	memset(&t, 0, sizeof(t));
	assert_non_null(resp = testpki_ocsp_response(&pki, c.req, &t));
	assert_true((n = i2d_OCSP_RESPONSE(resp, &der)) > 0);
	OCSP_RESPONSE_free(resp);
	resp = NULL;
	assert_non_null(big = calloc(1, SITHS_OCSP_MAX_RESPONSE + 1));
	memcpy(big, der, (size_t)n);
	assert_int_equal(siths_ocsp_parse(c.ctx, big, (size_t)n + 1, "x", &resp),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_ocsp_parse(c.ctx, big, SITHS_OCSP_MAX_RESPONSE + 1, "x", &resp),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_ocsp_parse(c.ctx, big, (size_t)n, "x", &resp), 0);
	OCSP_RESPONSE_free(resp);
	free(big);
	OPENSSL_free(der);

	/* a valid response about another certificate */
	assert_int_equal(siths_ocsp_certid(c.ctx, pki.leaf2, pki.ca, &other), 0);
	t.id = other;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	expect_msg(c.ctx, "does not answer for the certificate");
	OCSP_CERTID_free(other);

	/* cached (no request): no nonce to check, everything else is */
	c.v.req = NULL;
	t.id = NULL;
	assert_int_equal(ocsp_run(&c, &t), 0);
	t.bad_signature = 1;
	assert_int_equal(ocsp_run(&c, &t), SITHS_ERR_OCSP_INVALID);
	ocsp_case_free(&c);
}

static void
test_ocsp_url(void **state)
{
	siths_ctx *ctx = NULL;
	char *url = NULL;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	assert_int_equal(siths_ocsp_url(ctx, pki.leaf, NULL, &url), 0);
	assert_string_equal(url, ocsp_url);
	free(url);
	assert_int_equal(siths_ocsp_url(ctx, pki.leaf, "http://override/", &url), 0);
	assert_string_equal(url, "http://override/");
	free(url);
	assert_int_equal(siths_ocsp_url(ctx, pki.ca, "", &url), SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_null(url);
	siths_ctx_free(&ctx);
}

/* --- CRL verification ---------------------------------------------------------- */

static const long revoked_1002[] = { 1002, 77 };

static int
crl_run(siths_ctx *ctx, X509_CRL *crl, X509 *leaf, X509 *issuer, time_t at,
    struct siths_crl_answer *ans)
{
	int r = siths_crl_verify(ctx, crl, leaf, issuer, at, "test CRL", ans);

	return r != 0 ? r : siths_crl_lookup(ctx, crl, leaf, "test CRL", ans);
}

static void
test_crl_revoked_or_not(void **state)
{
	struct testpki_crl t = { .revoked = revoked_1002, .n_revoked = 2 };
	struct siths_crl_answer ans;
	siths_ctx *ctx = NULL;
	X509_CRL *crl;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans), 0);
	assert_int_equal(ans.revoked, 0);
	assert_true(ans.next_update > time(NULL));
	assert_int_equal(crl_run(ctx, crl, pki.leaf2, pki.ca, 0, &ans), SITHS_ERR_CERT_REVOKED);
	assert_int_equal(ans.revoked, 1);
	assert_int_equal(ans.reason, 1);
	expect_msg(ctx, "keyCompromise");
	X509_CRL_free(crl);
	siths_ctx_free(&ctx);
}

static void
test_crl_invalid(void **state)
{
	struct testpki_crl t = { .revoked = revoked_1002, .n_revoked = 1 };
	struct siths_crl_answer ans;
	siths_ctx *ctx = NULL;
	X509_CRL *crl;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	/* the CA's name, another key: the signature does not verify */
	assert_non_null(crl = testpki_crl(pki.rogue_ca, pki.rogue_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf2, pki.ca, 0, &ans), SITHS_ERR_CRL_INVALID);
	expect_msg(ctx, "signature does not verify");
	X509_CRL_free(crl);
	/* a good CRL of another CA (the root) */
	assert_non_null(crl = testpki_crl(pki.root, pki.root_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans), SITHS_ERR_CRL_INVALID);
	expect_msg(ctx, "not by the certificate's issuer");
	/* ... even when the caller names the root as the issuer */
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.root, 0, &ans), SITHS_ERR_CRL_INVALID);
	X509_CRL_free(crl);
	/* a delta CRL */
	t.delta = 1;
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans), SITHS_ERR_CRL_INVALID);
	expect_msg(ctx, "critical extension");
	X509_CRL_free(crl);
	siths_ctx_free(&ctx);
}

static void
test_crl_freshness(void **state)
{
	struct testpki_crl t = { .last_off = -7200, .next_off = -3600 };
	struct siths_crl_answer ans;
	siths_ctx *ctx = NULL;
	X509_CRL *crl;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans),
	    SITHS_ERR_REVOCATION_STALE);
	expect_msg(ctx, "expired at");
	/* as at a time before its nextUpdate, it holds */
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, time(NULL) - 5400, &ans), 0);
	X509_CRL_free(crl);
	t.next_off = -60;       /* within the skew */
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans), 0);
	X509_CRL_free(crl);
	t.no_next = 1;
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans),
	    SITHS_ERR_REVOCATION_STALE);
	X509_CRL_free(crl);
	memset(&t, 0, sizeof(t));
	t.last_off = 7200;
	t.next_off = 86400;
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &t));
	assert_int_equal(crl_run(ctx, crl, pki.leaf, pki.ca, 0, &ans), SITHS_ERR_CRL_INVALID);
	X509_CRL_free(crl);
	siths_ctx_free(&ctx);
}

static void
test_crl_parse(void **state)
{
	struct testpki_crl t = { .revoked = revoked_1002, .n_revoked = 1 };
	X509_CRL *root_crl, *ca_crl, *out = NULL;
	siths_ctx *ctx = NULL;
	unsigned char *der = NULL;
	char *pem;
	long pem_len;
	BIO *bio;
	int n;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	assert_non_null(root_crl = testpki_crl(pki.root, pki.root_key, &t));
	assert_non_null(ca_crl = testpki_crl(pki.ca, pki.ca_key, &t));
	/* DER, exactly */
	assert_true((n = i2d_X509_CRL(ca_crl, &der)) > 0);
	assert_int_equal(siths_crl_parse(ctx, der, (size_t)n, NULL, "x", &out), 0);
	X509_CRL_free(out);
	assert_int_equal(siths_crl_parse(ctx, der, (size_t)n - 1, NULL, "x", &out),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_crl_parse(ctx, (const unsigned char *)"nonsense", 8, NULL, "x",
	    &out), SITHS_ERR_REVOCATION_UNAVAILABLE);
	OPENSSL_free(der);
	/* PEM with two CRLs: the one of the issuer asked for */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_true(PEM_write_bio_X509_CRL(bio, root_crl));
	assert_true(PEM_write_bio_X509_CRL(bio, ca_crl));
	pem_len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(siths_crl_parse(ctx, (unsigned char *)pem, (size_t)pem_len,
	    X509_get_subject_name(pki.ca), "x", &out), 0);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(out), X509_get_subject_name(pki.ca)),
	    0);
	X509_CRL_free(out);
	BIO_free(bio);
	X509_CRL_free(root_crl);
	X509_CRL_free(ca_crl);
	siths_ctx_free(&ctx);
}

static void
test_crl_url(void **state)
{
	siths_ctx *ctx = NULL;
	char *url = NULL;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	assert_int_equal(siths_crl_url(ctx, pki.leaf, &url), 0);
	assert_string_equal(url, crl_url);
	free(url);
	assert_int_equal(siths_crl_url(ctx, pki.ca, &url), SITHS_ERR_REVOCATION_UNAVAILABLE);
	siths_ctx_free(&ctx);
}

/* --- URLs and HTTP ---------------------------------------------------------------- */

static void
test_url(void **state)
{
	struct siths_http_url u;
	char err[256];

	assert_int_equal(siths_http_parse_url("http://ocsp1.siths.se", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "ocsp1.siths.se");
	assert_string_equal(u.port, "80");
	assert_string_equal(u.path, "/");
	assert_int_equal(siths_http_parse_url("HTTP://crl1.siths.se:8080/a/b.crl?x=1#frag", &u,
	    err, sizeof(err)), 0);
	assert_string_equal(u.port, "8080");
	assert_string_equal(u.path, "/a/b.crl?x=1");
	assert_int_equal(siths_http_parse_url("http://[::1]:8888", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.ipv6, 1);
	assert_int_equal(siths_http_parse_url("http://h?q", &u, err, sizeof(err)), 0);
	assert_string_equal(u.path, "/?q");

	assert_int_equal(siths_http_parse_url("https://ocsp1.siths.se/", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_non_null(strstr(err, "https is not used"));
	assert_int_equal(siths_http_parse_url("ldap://x/", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http://user@h/", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http://h:0/", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http://h:65536/", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http://h:80x/", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http://h/a\r\nX: y", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http://h/a b", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_int_equal(siths_http_parse_url("http:///x", &u, err, sizeof(err)),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* GET url in the given server mode; the status, *elapsed in ms. */
static int
fetch(siths_ctx *ctx, const char *url, int mode, size_t max_len, int timeout_ms,
    unsigned char **body, size_t *len, long long *elapsed)
{
	struct siths_http_request req;
	long long t0 = ms_now();
	int r;

	set_mode(mode);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.max_len = max_len;
	req.timeout_ms = timeout_ms;
	r = siths_http_fetch(ctx, &req, body, len);
	if (elapsed != NULL)
		*elapsed = ms_now() - t0;
	return r;
}

static void
test_http_limits(void **state)
{
	siths_ctx *ctx = NULL;
	unsigned char *body = NULL;
	size_t len = 0;
	long long ms;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	srv.body = "a body";
	assert_int_equal(fetch(ctx, ocsp_url, SRV_BODY, 100, 2000, &body, &len, NULL), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(body, "a body", 6);
	free(body);
	/* one byte over the cap */
	assert_int_equal(fetch(ctx, ocsp_url, SRV_BODY, 5, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	assert_null(body);

	assert_int_equal(fetch(ctx, ocsp_url, SRV_STATUS_500, 100, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "HTTP status 500");
	assert_int_equal(fetch(ctx, ocsp_url, SRV_REDIRECT, 100, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "redirects are not followed");
	assert_int_equal(fetch(ctx, ocsp_url, SRV_HUGE_CLEN, 65536, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "announces more than");
	assert_int_equal(fetch(ctx, ocsp_url, SRV_HUGE_BODY, 65536, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "larger than");
	assert_int_equal(fetch(ctx, ocsp_url, SRV_TRUNCATED, 65536, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "cut short");
	assert_int_equal(fetch(ctx, ocsp_url, SRV_NOT_HTTP, 65536, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "not an HTTP/1.x response");
	assert_int_equal(fetch(ctx, dead_url, SRV_BODY, 65536, 2000, &body, &len, NULL),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "cannot connect");
	assert_int_equal(fetch(ctx, "https://127.0.0.1/", SRV_BODY, 100, 2000, &body, &len,
	    NULL), SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "https");

	/* a server that never answers: the deadline, in milliseconds */
	assert_int_equal(fetch(ctx, ocsp_url, SRV_HANG, 65536, 300, &body, &len, &ms),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "timed out");
	assert_true(ms >= 290 && ms < 1000);
	siths_ctx_free(&ctx);
}

static void
test_http_no_proxy_name_lookup(void **state)
{
	struct addrinfo hints, *res = NULL;
	siths_ctx *ctx = NULL;
	unsigned char *body = NULL;
	size_t len = 0;
	char url[64];

	assert_int_equal(siths_ctx_create(&ctx), 0);
	/* Proxy variables pointing nowhere change nothing: they are never read. */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	srv.body = "direct";
	assert_int_equal(fetch(ctx, ocsp_url, SRV_BODY, 100, 2000, &body, &len, NULL), 0);
	assert_int_equal(len, 6);
	free(body);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");

	/* A name (not a literal) goes through the lookup thread. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	if (getaddrinfo("localhost", NULL, &hints, &res) == 0) {
		freeaddrinfo(res);
		snprintf(url, sizeof(url), "http://localhost:%d/x", srv.port);
		assert_int_equal(fetch(ctx, url, SRV_BODY, 100, 2000, &body, &len, NULL), 0);
		free(body);
	}
	siths_ctx_free(&ctx);
}

/* --- the whole check ------------------------------------------------------------------ */

static void
test_check_mode_none(void **state)
{
	struct siths_rev_result res;
	siths_ctx *ctx = make_ctx("none", 0, NULL, NULL, NULL);

	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_NONE);
	siths_ctx_free(&ctx);
}

static void
test_check_ocsp_and_caches(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_GOOD };
	struct siths_rev_result res;
	char dir[] = "/tmp/siths-rev-XXXXXX", cmd[128];
	siths_ctx *ctx;
	int h;

	assert_non_null(mkdtemp(dir));
	ctx = make_ctx("ocsp", 0, NULL, dir, NULL);
	set_ocsp(&t);
	h = hits();
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_OCSP);
	assert_int_equal(res.method, SITHS_REV_OCSP);
	assert_true(res.next_update > time(NULL));
	assert_int_equal(hits(), h + 1);
	/* again: from memory, no request */
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_CACHE);
	assert_true(res.this_update > 0 && res.next_update > time(NULL));
	assert_int_equal(hits(), h + 1);
	/* another time than now: no cache */
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, time(NULL) + 60, &res),
	    0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_OCSP);
	assert_int_equal(hits(), h + 2);
	siths_ctx_free(&ctx);

	/* a new process: from the disk, verified again, even with the responder down */
	ctx = make_ctx("ocsp", 0, dead_url, dir, NULL);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_CACHE);
	assert_int_equal(hits(), h + 2);
	siths_ctx_free(&ctx);

	/* responses without our nonce are never cached */
	t.no_nonce = 1;
	set_ocsp(&t);
	ctx = make_ctx("ocsp", 0, NULL, dir, NULL);
	ctx->cfg->ocsp_nonce_optional = 1;
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res), 0);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_OCSP);
	assert_int_equal(hits(), h + 4);
	siths_ctx_free(&ctx);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_check_definite_answers(void **state)
{
	struct testpki_ocsp t = { .status = V_OCSP_CERTSTATUS_REVOKED, .reason = 1 };
	struct testpki_crl c = { 0 };
	struct siths_rev_result res;
	siths_ctx *ctx = make_ctx("ocsp,crl", 1, NULL, NULL, NULL);
	X509_CRL *crl;

	/* a CRL that would say good, to show it is never asked */
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &c));
	set_crl(crl);
	X509_CRL_free(crl);

	set_ocsp(&t);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res),
	    SITHS_ERR_CERT_REVOKED);
	assert_int_equal(res.method, SITHS_REV_OCSP);
	t.status = V_OCSP_CERTSTATUS_UNKNOWN;
	set_ocsp(&t);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_REVOCATION_UNKNOWN);
	t.status = V_OCSP_CERTSTATUS_GOOD;
	t.wrong_nonce = 1;
	set_ocsp(&t);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_OCSP_NONCE);
	t.wrong_nonce = 0;
	t.bad_signature = 1;
	set_ocsp(&t);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_OCSP_INVALID);
	t.bad_signature = 0;
	t.next_off = -3600;
	t.this_off = -7200;
	set_ocsp(&t);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_REVOCATION_STALE);
	assert_int_equal(siths_revocation_soft_count(ctx), 0);
	siths_ctx_free(&ctx);
}

static void
test_check_fallback_to_crl(void **state)
{
	static const long revoked[] = { 1002 };
	struct testpki_crl c = { .revoked = revoked, .n_revoked = 1 };
	struct siths_rev_result res;
	siths_ctx *ctx = make_ctx("ocsp,crl", 0, dead_url, NULL, NULL);
	X509_CRL *crl;
	int h;

	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &c));
	set_crl(crl);
	X509_CRL_free(crl);
	h = hits();
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_CRL);
	assert_int_equal(res.method, SITHS_REV_CRL);
	assert_int_equal(hits(), h + 1);
	/* the parsed CRL stays in memory */
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_CERT_REVOKED);
	assert_int_equal(res.source, SITHS_REV_SOURCE_CACHE);
	assert_int_equal(hits(), h + 1);
	siths_ctx_free(&ctx);

	/* a garbage answer from the responder also lets the CRL answer */
	srv.body = "<html>busy</html>";
	set_mode(SRV_BODY);
	ctx = make_ctx("ocsp,crl", 0, NULL, NULL, NULL);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_CERT_REVOKED);
	assert_int_equal(res.method, SITHS_REV_CRL);
	siths_ctx_free(&ctx);
}

static void
test_check_crl_file(void **state)
{
	static const long revoked[] = { 1002 };
	struct testpki_crl c = { .revoked = revoked, .n_revoked = 1 };
	struct siths_rev_result res;
	char path[] = "/tmp/siths-crl-XXXXXX";
	siths_ctx *ctx;
	X509_CRL *crl;
	FILE *f;
	int fd, h;

	/* DER, as CAs publish them */
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &c));
	assert_true(i2d_X509_CRL_fp(f, crl));
	fclose(f);
	X509_CRL_free(crl);
	/* nothing served: the file must be enough */
	pthread_mutex_lock(&srv.lock);
	free(srv.crl);
	srv.crl = NULL;
	pthread_mutex_unlock(&srv.lock);
	h = hits();
	ctx = make_ctx("crl", 0, NULL, NULL, path);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_CRL);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf2, pki.ca, 0, &res),
	    SITHS_ERR_CERT_REVOKED);
	assert_int_equal(hits(), h);
	siths_ctx_free(&ctx);

	/* a file others may write is not read */
	assert_int_equal(chmod(path, 0666), 0);
	ctx = make_ctx("crl", 0, NULL, NULL, path);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "writable by group or others");
	siths_ctx_free(&ctx);
	assert_int_equal(chmod(path, 0600), 0);

	/* a stale file (PEM), and no distribution point to answer: stale */
	memset(&c, 0, sizeof(c));
	c.last_off = -7200;
	c.next_off = -3600;
	assert_non_null(f = fopen(path, "w"));
	assert_non_null(crl = testpki_crl(pki.ca, pki.ca_key, &c));
	assert_true(PEM_write_X509_CRL(f, crl));
	fclose(f);
	X509_CRL_free(crl);
	ctx = make_ctx("crl", 1, NULL, NULL, path);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res),
	    SITHS_ERR_REVOCATION_STALE);
	siths_ctx_free(&ctx);
	unlink(path);
}

static void
test_check_unavailable_soft_and_fail(void **state)
{
	struct siths_rev_result res;
	siths_ctx *ctx;

	set_mode(SRV_STATUS_500);
	pthread_mutex_lock(&srv.lock);
	free(srv.crl);
	srv.crl = NULL;         /* 404 */
	pthread_mutex_unlock(&srv.lock);

	ctx = make_ctx("ocsp,crl", 0, NULL, NULL, NULL);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "OCSP: ");
	expect_msg(ctx, "HTTP status 500");
	expect_msg(ctx, "CRL: ");
	expect_msg(ctx, "HTTP status 404");
	assert_int_equal(siths_revocation_soft_count(ctx), 0);
	siths_ctx_free(&ctx);

	ctx = make_ctx("ocsp,crl", 1, NULL, NULL, NULL);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(res.source, SITHS_REV_SOURCE_SOFT);
	assert_int_equal(siths_revocation_soft_count(ctx), 1);
	if (strstr(logged, "SE2120001231-1234") == NULL || strstr(logged, "soft") == NULL)
		fail_msg("warning '%s' lacks the HSA-id or the policy", logged);
	assert_int_equal(siths_revocation_check(ctx, pki.leaf, pki.ca, 0, &res), 0);
	assert_int_equal(siths_revocation_soft_count(ctx), 2);
	siths_ctx_free(&ctx);
}

/* --- partitioned CRLs -------------------------------------------------------------- */

/*
 * The CA splits its CRL in two partitions, each with an issuingDistributionPoint
 * naming its URL: A names p1; B (revoked, listed in p2 only) and C name p2.
 * stray names p3, where a CRL made for p1 is served; nocdp names no
 * distribution point at all.
 */
struct partitions {
	X509 *a, *b, *c, *stray, *nocdp;
	char url[3][64];
	char dir[32], file[2][64];      /* p1 and p2 as local DER files */
};

static struct partitions part;

/* Serve crl at /pN.crl (n 1..3); NULL: 404. */
static void
set_part(int n, X509_CRL *crl)
{
	unsigned char *der = NULL;
	int len = crl != NULL ? i2d_X509_CRL(crl, &der) : 0;

	pthread_mutex_lock(&srv.lock);
	free(srv.part[n - 1]);
	srv.part[n - 1] = NULL;
	if (len > 0 && (srv.part[n - 1] = malloc((size_t)len)) != NULL) {
		memcpy(srv.part[n - 1], der, (size_t)len);
		srv.part_len[n - 1] = (size_t)len;
	}
	pthread_mutex_unlock(&srv.lock);
	OPENSSL_free(der);
}

static void
serve_partitions(int on)
{
	static const long revoked_b[] = { 3002 };
	struct testpki_crl t1 = { .idp_uri = part.url[0] };
	struct testpki_crl t2 = { .revoked = revoked_b, .n_revoked = 1, .idp_uri = part.url[1] };
	X509_CRL *p1 = NULL, *p2 = NULL;

	if (on) {
		assert_non_null(p1 = testpki_crl(pki.ca, pki.ca_key, &t1));
		assert_non_null(p2 = testpki_crl(pki.ca, pki.ca_key, &t2));
	}
	set_part(1, p1);
	set_part(2, p2);
	set_part(3, p1);        /* p1's partition, where stray's CDP points */
	X509_CRL_free(p1);
	X509_CRL_free(p2);
}

static void
write_der_crl(const char *path, X509_CRL *crl)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_true(i2d_X509_CRL_fp(f, crl));
	assert_int_equal(fclose(f), 0);
}

static int
partitions_setup(void **state)
{
	static const long revoked_b[] = { 3002 };
	struct testpki_crl t1 = { 0 }, t2 = { .revoked = revoked_b, .n_revoked = 1 };
	X509_CRL *crl;
	int i;

	memset(&part, 0, sizeof(part));
	for (i = 0; i < 3; i++)
		snprintf(part.url[i], sizeof(part.url[i]), "http://127.0.0.1:%d/p%d.crl", srv.port,
		    i + 1);
	t1.idp_uri = part.url[0];
	t2.idp_uri = part.url[1];
	if ((part.a = testpki_leaf(&pki, 3001, ocsp_url, part.url[0])) == NULL ||
	    (part.b = testpki_leaf(&pki, 3002, ocsp_url, part.url[1])) == NULL ||
	    (part.c = testpki_leaf(&pki, 3003, ocsp_url, part.url[1])) == NULL ||
	    (part.stray = testpki_leaf(&pki, 3004, ocsp_url, part.url[2])) == NULL ||
	    (part.nocdp = testpki_leaf(&pki, 3005, ocsp_url, NULL)) == NULL)
		return -1;
	snprintf(part.dir, sizeof(part.dir), "/tmp/siths-part-XXXXXX");
	if (mkdtemp(part.dir) == NULL)
		return -1;
	snprintf(part.file[0], sizeof(part.file[0]), "%s/p1.crl", part.dir);
	snprintf(part.file[1], sizeof(part.file[1]), "%s/p2.crl", part.dir);
	if ((crl = testpki_crl(pki.ca, pki.ca_key, &t1)) == NULL)
		return -1;
	write_der_crl(part.file[0], crl);
	X509_CRL_free(crl);
	if ((crl = testpki_crl(pki.ca, pki.ca_key, &t2)) == NULL)
		return -1;
	write_der_crl(part.file[1], crl);
	X509_CRL_free(crl);
	return 0;
}

static int
partitions_teardown(void **state)
{
	char cmd[64];

	X509_free(part.a);
	X509_free(part.b);
	X509_free(part.c);
	X509_free(part.stray);
	X509_free(part.nocdp);
	serve_partitions(0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", part.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A context for CRLs only, with these crl_files (n may be 0). */
static siths_ctx *
crl_ctx(const char *cache_dir, const char *const *files, size_t n)
{
	siths_ctx *ctx = make_ctx("crl", 0, NULL, cache_dir, NULL);
	size_t i;

	if (n > 0)
		assert_non_null(ctx->cfg->crl_files.v = calloc(n, sizeof(char *)));
	for (i = 0; i < n; i++)
		assert_non_null(ctx->cfg->crl_files.v[i] = strdup(files[i]));
	ctx->cfg->crl_files.n = n;
	return ctx;
}

/*
 * Check each certificate seq names (A, B or C) in turn on ctx: A and C are
 * good, B is revoked, whatever came before. source >= 0: what each answer
 * must have come from.
 */
static void
check_sequence(siths_ctx *ctx, const char *seq, int source)
{
	struct siths_rev_result res;
	const char *p;
	X509 *x;
	int r, want;

	for (p = seq; *p != '\0'; p++) {
		x = *p == 'A' ? part.a : *p == 'B' ? part.b : part.c;
		want = *p == 'B' ? SITHS_ERR_CERT_REVOKED : 0;
		r = siths_revocation_check(ctx, x, pki.ca, 0, &res);
		if (r != want)
			fail_msg("%s, at %c: %s (%s), not %s", seq, *p, siths_status_name(r),
			    siths_ctx_errmsg(ctx), siths_status_name(want));
		if (source >= 0 && res.source != source)
			fail_msg("%s, at %c: source %d, not %d", seq, *p, res.source, source);
		assert_int_equal(res.method, SITHS_REV_CRL);
	}
}

/* A then B, B then A, B twice, C after B; and a context that starts with B. */
static const char *const sequences[] = { "ABABBC", "BACB" };

static void
test_partitions_from_files(void **state)
{
	const char *const forward[] = { part.file[0], part.file[1] };
	const char *const backward[] = { part.file[1], part.file[0] };
	siths_ctx *ctx;
	size_t i;
	int h;

	serve_partitions(0);    /* nothing served: the files must answer */
	h = hits();
	for (i = 0; i < 2; i++) {
		ctx = crl_ctx(NULL, forward, 2);
		check_sequence(ctx, sequences[i], SITHS_REV_SOURCE_CRL);
		siths_ctx_free(&ctx);
		ctx = crl_ctx(NULL, backward, 2);
		check_sequence(ctx, sequences[i], SITHS_REV_SOURCE_CRL);
		siths_ctx_free(&ctx);
	}
	assert_int_equal(hits(), h);
}

/* Write crl (DER) into the partitions' directory as name; the path into path. */
static void
partition_file(const char *name, X509_CRL *crl, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", part.dir, name);
	write_der_crl(path, crl);
	X509_CRL_free(crl);
}

/*
 * Other CRLs among the files that do not speak for A, B or C are passed
 * over wherever they stand: an authority revocation list, a stale or
 * badly signed partition for others; and a check at another time than now
 * (no cache) sees the partitions the same way.
 */
static void
test_partitions_among_others(void **state)
{
	struct testpki_crl arl = { .idp_only_ca = 1 }, stale = { .idp_uri = part.url[0],
	    .last_off = -7200, .next_off = -3600 };
	struct siths_rev_result res;
	char arl_path[128], stale_path[128], rogue_path[128];
	const char *files[4];
	siths_ctx *ctx;
	int r;

	serve_partitions(0);
	partition_file("arl.crl", testpki_crl(pki.ca, pki.ca_key, &arl), arl_path,
	    sizeof(arl_path));
	partition_file("stale-p1.crl", testpki_crl(pki.ca, pki.ca_key, &stale), stale_path,
	    sizeof(stale_path));
	stale.last_off = stale.next_off = 0;
	partition_file("rogue-p1.crl", testpki_crl(pki.rogue_ca, pki.rogue_key, &stale),
	    rogue_path, sizeof(rogue_path));
	files[0] = arl_path;
	files[1] = stale_path;
	files[2] = rogue_path;
	files[3] = part.file[1];
	ctx = crl_ctx(NULL, files, 4);
	check_sequence(ctx, "BCB", SITHS_REV_SOURCE_CRL);
	siths_ctx_free(&ctx);

	/* only the stale partition for others, and no distribution point: not covered */
	ctx = crl_ctx(NULL, &files[1], 1);
	assert_int_equal(siths_revocation_check(ctx, part.nocdp, pki.ca, 0, &res),
	    SITHS_ERR_CRL_NOT_COVERED);
	siths_ctx_free(&ctx);

	/* another time than now: no cache, the same answers */
	files[0] = part.file[0];
	files[1] = part.file[1];
	ctx = crl_ctx(NULL, files, 2);
	r = siths_revocation_check(ctx, part.b, pki.ca, time(NULL) + 60, &res);
	assert_int_equal(r, SITHS_ERR_CERT_REVOKED);
	assert_int_equal(siths_revocation_check(ctx, part.a, pki.ca, time(NULL) + 60, &res), 0);
	assert_int_equal(siths_revocation_check(ctx, part.b, pki.ca, time(NULL) + 60, &res),
	    SITHS_ERR_CERT_REVOKED);
	assert_int_equal(siths_revocation_check(ctx, part.c, pki.ca, time(NULL) + 60, &res), 0);
	siths_ctx_free(&ctx);
}

static void
test_partitions_from_cdp_and_disk(void **state)
{
	char dir[] = "/tmp/siths-partc-XXXXXX", cmd[64];
	siths_ctx *ctx;
	size_t i;
	int h;

	assert_non_null(mkdtemp(dir));
	serve_partitions(1);
	for (i = 0; i < 2; i++) {
		ctx = crl_ctx(dir, NULL, 0);
		check_sequence(ctx, sequences[i], -1);
		siths_ctx_free(&ctx);
	}
	/* a second context (process) from the disk store, the server gone */
	serve_partitions(0);
	h = hits();
	for (i = 0; i < 2; i++) {
		ctx = crl_ctx(dir, NULL, 0);
		check_sequence(ctx, sequences[i], SITHS_REV_SOURCE_CACHE);
		siths_ctx_free(&ctx);
	}
	assert_int_equal(hits(), h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_partition_covering_nothing(void **state)
{
	const char *const p1_only[] = { part.file[0] };
	struct siths_rev_result res;
	char dir[] = "/tmp/siths-partn-XXXXXX", cmd[64];
	siths_ctx *ctx;
	int h;

	/* the distribution point serves a partition made for another one */
	assert_non_null(mkdtemp(dir));
	serve_partitions(1);
	ctx = crl_ctx(dir, NULL, 0);
	assert_int_equal(siths_revocation_check(ctx, part.stray, pki.ca, 0, &res),
	    SITHS_ERR_CRL_NOT_COVERED);
	expect_msg(ctx, "distribution point the certificate does not name");
	/* the same CRL, now from memory, still covers A (p1) only */
	assert_int_equal(siths_revocation_check(ctx, part.stray, pki.ca, 0, &res),
	    SITHS_ERR_CRL_NOT_COVERED);
	assert_int_equal(siths_revocation_check(ctx, part.a, pki.ca, 0, &res), 0);
	siths_ctx_free(&ctx);
	/* and from the disk store in the next process, the server gone */
	serve_partitions(0);
	h = hits();
	ctx = crl_ctx(dir, NULL, 0);
	assert_int_equal(siths_revocation_check(ctx, part.stray, pki.ca, 0, &res),
	    SITHS_ERR_CRL_NOT_COVERED);
	assert_int_equal(hits(), h);
	siths_ctx_free(&ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	serve_partitions(1);

	/* a local partition for others, and nothing else to ask */
	ctx = crl_ctx(NULL, p1_only, 1);
	assert_int_equal(siths_revocation_check(ctx, part.nocdp, pki.ca, 0, &res),
	    SITHS_ERR_CRL_NOT_COVERED);
	expect_msg(ctx, "no CRL covers the certificate");
	/* passed over for the distribution point, which answers */
	check_sequence(ctx, "CB", -1);
	siths_ctx_free(&ctx);

	/* ... which, when it cannot be reached, is an outage, not a refusal */
	serve_partitions(0);
	ctx = crl_ctx(NULL, p1_only, 1);
	assert_int_equal(siths_revocation_check(ctx, part.c, pki.ca, 0, &res),
	    SITHS_ERR_REVOCATION_UNAVAILABLE);
	expect_msg(ctx, "HTTP status 404");
	siths_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ocsp_good),
		cmocka_unit_test(test_ocsp_revoked_unknown),
		cmocka_unit_test(test_ocsp_bad_signature),
		cmocka_unit_test(test_ocsp_signer_not_authorised),
		cmocka_unit_test(test_ocsp_nonce),
		cmocka_unit_test(test_ocsp_freshness),
		cmocka_unit_test(test_ocsp_form),
		cmocka_unit_test(test_ocsp_url),
		cmocka_unit_test(test_crl_revoked_or_not),
		cmocka_unit_test(test_crl_invalid),
		cmocka_unit_test(test_crl_freshness),
		cmocka_unit_test(test_crl_parse),
		cmocka_unit_test(test_crl_url),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_http_limits),
		cmocka_unit_test(test_http_no_proxy_name_lookup),
		cmocka_unit_test(test_check_mode_none),
		cmocka_unit_test(test_check_ocsp_and_caches),
		cmocka_unit_test(test_check_definite_answers),
		cmocka_unit_test(test_check_fallback_to_crl),
		cmocka_unit_test(test_check_crl_file),
		cmocka_unit_test(test_check_unavailable_soft_and_fail),
		cmocka_unit_test_setup_teardown(test_partitions_from_files, partitions_setup,
		    partitions_teardown),
		cmocka_unit_test_setup_teardown(test_partitions_among_others, partitions_setup,
		    partitions_teardown),
		cmocka_unit_test_setup_teardown(test_partitions_from_cdp_and_disk,
		    partitions_setup, partitions_teardown),
		cmocka_unit_test_setup_teardown(test_partition_covering_nothing,
		    partitions_setup, partitions_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
