/*
 * service.c - the library as sithsd's client (see service.h).
 *
 * One connection per request: a PAM login makes one or two, and connecting
 * to a local socket costs microseconds. Before a word of the answer is
 * believed, the peer's uid (SO_PEERCRED) must be root's or [service]
 * user's: anyone else listening on the path could otherwise answer "yes".
 * Each request, with its answer, has [service] timeout_ms.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "identity_wire.h"
#include "log.h"
#include "service.h"
#include "svc_frame.h"
#include "timeutil.h"
#include "verify.h"

int
siths_service_enabled(const siths_ctx *ctx)
{
	return ctx != NULL && ctx->cfg != NULL && !ctx->service_side &&
	    ctx->cfg->service_mode != SITHS_SERVICE_LOCAL;
}

int
siths_service_fallback(siths_ctx *ctx, int *r)
{
	char why[SITHS_ERRMSG_MAX];

	if (*r != SITHS_ERR_SERVICE_UNAVAILABLE || ctx->cfg->service_mode != SITHS_SERVICE_AUTO)
		return 0;
	snprintf(why, sizeof(why), "%s", siths_ctx_errmsg(ctx));
	siths_warn(ctx, "%s; validating in this process ([service] mode = auto)", why);
	if ((*r = siths_ctx_local_init(ctx)) != 0)
		return 0;
	siths_clear_error(ctx);
	return 1;
}

/* The uid a client believes: [service] user's (a name or a number); -1 if unknown. */
static long
service_uid(const siths_ctx *ctx)
{
	const char *user = ctx->cfg->service_user;
	struct passwd pw, *res = NULL;
	char buf[1024], *end;
	long uid;

	uid = strtol(user, &end, 10);
	if (*user != '\0' && *end == '\0' && uid >= 0)
		return uid;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	return (long)pw.pw_uid;
}

/* A connected socket to sithsd whose peer is trusted: 0 with *fd, or a status. */
static int
connect_service(const siths_ctx *ctx, const struct timespec *deadline, int *fd)
{
	const char *path = ctx->cfg->service_socket;
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	long want;
	int s, r, err;

	*fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
		    "[service] socket %s: longer than a Unix socket path may be (%zu)", path,
		    sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return siths_fail(ctx, SITHS_ERR_SERVICE_UNAVAILABLE, "socket: %s",
		    strerror(errno));
	/* a full backlog says EAGAIN at once: try again until the deadline */
	while ((r = connect(s, (struct sockaddr *)&sa, sizeof(sa))) == -1 &&
	    (errno == EAGAIN || errno == EINTR) && siths_deadline_left_ms(deadline) > 0)
		usleep(1000);
	if (r == -1) {
		err = errno;
		close(s);
		return siths_fail(ctx, SITHS_ERR_SERVICE_UNAVAILABLE,
		    "sithsd cannot be reached at %s: %s", path, strerror(err));
	}
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
		close(s);
		return siths_fail(ctx, SITHS_ERR_SERVICE_UNTRUSTED,
		    "%s: the peer's credentials cannot be read", path);
	}
	want = service_uid(ctx);
	if (cred.uid != 0 && (want < 0 || (long)cred.uid != want)) {
		close(s);
		return siths_fail(ctx, SITHS_ERR_SERVICE_UNTRUSTED,
		    "%s is held by uid %u, not by root or [service] user %s%s", path,
		    (unsigned int)cred.uid, ctx->cfg->service_user,
		    want < 0 ? " (no such user)" : "");
	}
	*fd = s;
	return 0;
}

int
siths_service_call(const siths_ctx *ctx, json_t *req, json_t **answer)
{
	struct timespec deadline;
	const json_t *v;
	int fd = -1, r, fr;

	*answer = NULL;
	siths_deadline_in(&deadline, ctx->cfg->service_timeout_ms);
	if (req == NULL || json_object_set_new(req, "v", json_integer(SITHS_SVC_VERSION)) != 0) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = connect_service(ctx, &deadline, &fd)) != 0)
		goto out;
	if ((fr = siths_frame_send(fd, req, SITHS_SVC_REQUEST_MAX, &deadline)) != 0 ||
	    (fr = siths_frame_recv(fd, SITHS_SVC_ANSWER_MAX, &deadline, answer)) != 0) {
		r = siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL, "sithsd at %s: %s",
		    ctx->cfg->service_socket, fr == SITHS_FRAME_CLOSED ?
		    "closed the connection without an answer" : siths_frame_result_text(fr));
		goto out;
	}
	v = json_object_get(*answer, "v");
	if (!json_is_integer(v) || json_integer_value(v) != SITHS_SVC_VERSION ||
	    !json_is_integer(json_object_get(*answer, "code"))) {
		json_decref(*answer);
		*answer = NULL;
		r = siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL,
		    "sithsd at %s answered in another protocol version or form",
		    ctx->cfg->service_socket);
		goto out;
	}
	/* success */
	r = 0;
out:
	if (fd != -1)
		close(fd);
	json_decref(req);
	return r;
}

int
siths_service_answer_status(const siths_ctx *ctx, const json_t *answer)
{
	json_int_t code = json_integer_value(json_object_get(answer, "code"));
	const char *msg = json_string_value(json_object_get(answer, "message"));

	if (code == 0)
		return 0;
	/* a status of the library's own numbering; anything else is no answer */
	if (code > 0 || code < -1000 || strcmp(siths_status_name((int)code),
	    "SITHS_ERR_UNKNOWN") == 0)
		return siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL,
		    "sithsd answered with an unknown status %lld", (long long)code);
	return siths_fail(ctx, (int)code, "%s", msg != NULL ? msg : "");
}

/* Send req (stolen); the answer when it says success, else its status. */
static int
ask(const siths_ctx *ctx, json_t *req, json_t **answer)
{
	int r;

	*answer = NULL;
	if ((r = siths_service_call(ctx, req, answer)) != 0)
		return r;
	if ((r = siths_service_answer_status(ctx, *answer)) != 0) {
		json_decref(*answer);
		*answer = NULL;
	}
	return r;
}

/* The identity in answer's "identity"; a malformed one is no answer. */
static int
identity_of(const siths_ctx *ctx, const json_t *answer, struct siths_identity **out)
{
	int r = siths_identity_unwire(json_object_get(answer, "identity"),
	    SITHS_WIRE_PERSONAL_NUMBER | SITHS_WIRE_SERVICE, out);

	if (r == SITHS_ERR_NOMEM)
		return siths_fail(ctx, r, "out of memory");
	if (r != 0)
		return siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL,
		    "sithsd's answer holds no identity that can be read");
	return 0;
}

static const char *
profile_name(siths_profile p)
{
	return p == SITHS_PROFILE_FUNCTION ? "function" : p == SITHS_PROFILE_CHAIN ? "chain" :
	    "login";
}

/* The b64 of x's DER appended to a; 0 or -1. */
static int
append_cert(json_t *a, X509 *x)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	int n, r = -1;

	if ((n = i2d_X509(x, &der)) > 0 && (b64 = siths_b64_encode(der, (size_t)n)) != NULL)
		r = json_array_append_new(a, json_string(b64));
	OPENSSL_free(der);
	free(b64);
	return r;
}

static json_t *
verify_request(const unsigned char *der, size_t len, const siths_verify_opts *opts, int login)
{
	const STACK_OF(X509) *untrusted;
	siths_profile profile;
	json_t *req = json_object(), *extra = json_array();
	char *b64 = siths_b64_encode(der, len);
	time_t at;
	int no_rev, i, r;

	siths_verify_opts_view(opts, &profile, &at, &untrusted, &no_rev);
	r = extra == NULL || b64 == NULL;
	for (i = 0; r == 0 && i < sk_X509_num(untrusted); i++)
		r = append_cert(extra, sk_X509_value(untrusted, i));
	/* first, as json_object_set_new() takes extra whether it succeeds or not */
	r = json_object_set_new(req, "untrusted", extra) || r ||
	    json_object_set_new(req, "op", json_string(login ? "login" : "verify")) ||
	    json_object_set_new(req, "cert", json_string(b64)) ||
	    json_object_set_new(req, "profile", json_string(profile_name(profile))) ||
	    json_object_set_new(req, "at", json_integer((json_int_t)at)) ||
	    json_object_set_new(req, "no_revocation", json_boolean(no_rev));
	free(b64);
	if (r != 0) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/*
 * Is id sithsd's answer about der? A sithsd that mixed up its answers (a
 * bug) must not log one person in as another: the fingerprint it reports
 * must be the certificate's that was sent.
 */
static int
answer_fits(const siths_ctx *ctx, const unsigned char *der, size_t len,
    const struct siths_identity *id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(der, len, md, &n, EVP_sha256(), NULL) != 1)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "cannot hash the certificate");
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (id->cert_sha256 == NULL || strcmp(id->cert_sha256, hex) != 0)
		return siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL,
		    "sithsd answered about another certificate than the one sent");
	return 0;
}

int
siths_service_verify(siths_ctx *ctx, const unsigned char *der, size_t len,
    const siths_verify_opts *opts, int login, struct siths_identity **out)
{
	json_t *answer = NULL;
	int r;

	*out = NULL;
	if (der == NULL || len == 0 || len > SITHS_SVC_REQUEST_MAX / 2)
		return siths_fail(ctx, SITHS_ERR_CERT_PARSE, "no certificate, or one too large");
	if ((r = ask(ctx, verify_request(der, len, opts, login), &answer)) == 0 &&
	    (r = identity_of(ctx, answer, out)) == 0 && (r = answer_fits(ctx, der, len, *out)) != 0)
		siths_identity_free(out);
	json_decref(answer);
	return r;
}

int
siths_service_resolve(siths_ctx *ctx, const char *hsa_id, struct siths_identity **out)
{
	json_t *answer = NULL;
	int r;

	*out = NULL;
	r = ask(ctx, json_pack("{s:s, s:s}", "op", "resolve", "hsa_id", hsa_id != NULL ? hsa_id :
	    ""), &answer);
	if (r == 0)
		r = identity_of(ctx, answer, out);
	json_decref(answer);
	return r;
}

int
siths_service_map(siths_ctx *ctx, const char *hsa_id, char **login)
{
	json_t *answer = NULL;
	const char *name;
	int r;

	*login = NULL;
	if ((r = siths_service_call(ctx, json_pack("{s:s, s:s}", "op", "map", "hsa_id",
	    hsa_id != NULL ? hsa_id : ""), &answer)) != 0)
		return r;
	r = siths_service_answer_status(ctx, answer);
	/* a refusal for naming root carries the name: the caller may allow root */
	if (r == 0 || r == SITHS_ERR_POLICY_ROOT_DENIED) {
		name = json_string_value(json_object_get(answer, "login"));
		if (name != NULL && (*login = strdup(name)) == NULL)
			r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
		else if (name == NULL && r == 0)
			r = siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL,
			    "sithsd's mapping answer holds no login name");
	}
	json_decref(answer);
	return r;
}

int
siths_service_report(siths_ctx *ctx, char **json)
{
	json_t *answer = NULL, *report;
	int r;

	*json = NULL;
	if ((r = ask(ctx, json_pack("{s:s}", "op", "status"), &answer)) != 0)
		return r;
	report = json_object_get(answer, "report");
	if (!json_is_object(report))
		r = siths_fail(ctx, SITHS_ERR_SERVICE_PROTOCOL, "sithsd's status answer is empty");
	else if ((*json = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	json_decref(answer);
	return r;
}

int
siths_service_flush(siths_ctx *ctx, const char *hsa_id)
{
	json_t *req = json_pack("{s:s}", "op", "flush"), *answer = NULL;
	int r;

	if (req != NULL && hsa_id != NULL && json_object_set_new(req, "hsa_id",
	    json_string(hsa_id)) != 0) {
		json_decref(req);
		req = NULL;
	}
	r = ask(ctx, req, &answer);
	json_decref(answer);
	return r;
}
