/*
 * handlers.c - the operations sithsd answers (see handlers.h), each through
 * the public API of its context as any caller of libsiths would, under the
 * access rule of access.c. A request is untrusted input: every member is
 * checked for its type and size before use, and anything else is refused
 * with SITHS_ERR_SERVICE_PROTOCOL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "access.h"
#include "handlers.h"
#include "identity.h"
#include "identity_wire.h"
#include "policy.h"
#include "siths.h"
#include "svc_frame.h"

/* Largest certificate taken, DER (the library's own cap). */
#define HANDLER_CERT_MAX (64 * 1024)
/* Extra certificates one request may bring (the library takes 8). */
#define HANDLER_UNTRUSTED_MAX 8
#define HANDLER_HSA_ID_MAX 64

static json_t *
answer_new(int code, const char *message)
{
	return json_pack("{s:i, s:i, s:s, s:s}", "v", SITHS_SVC_VERSION, "code", code, "status",
	    siths_status_name(code), "message", message != NULL ? message : "");
}

/* The answer for status r on ctx: its name and the library's detail. */
static json_t *
answer_status(siths_ctx *ctx, int r)
{
	return answer_new(r, r != 0 ? siths_ctx_errmsg(ctx) : "");
}

static json_t *
refuse(int code, const char *message)
{
	return answer_new(code, message);
}

/* req[key] as a string of at most max bytes, or NULL (absent or not fitting). */
static const char *
get_string(const json_t *req, const char *key, size_t max)
{
	const json_t *v = json_object_get(req, key);

	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* One base64 certificate into opts' untrusted list; 0 or a status. */
static int
add_untrusted(siths_verify_opts *opts, const json_t *v)
{
	unsigned char *der = NULL;
	size_t len = 0;
	int r;

	if (!json_is_string(v) || siths_b64_decode(json_string_value(v), HANDLER_CERT_MAX, &der,
	    &len) != 0)
		return SITHS_ERR_SERVICE_PROTOCOL;
	r = siths_verify_opts_add_untrusted(opts, der, len);
	free(der);
	return r;
}

/* The verification options a request asks for; 0 or a status (with why). */
static int
read_opts(const json_t *req, siths_verify_opts *opts, const char **why)
{
	const json_t *v, *e;
	const char *profile;
	size_t i;
	int r;

	if ((v = json_object_get(req, "profile")) != NULL) {
		if ((profile = get_string(req, "profile", 16)) == NULL) {
			*why = "profile: not a string";
			return SITHS_ERR_SERVICE_PROTOCOL;
		}
		r = strcmp(profile, "login") == 0 ? siths_verify_opts_set_profile(opts,
		    SITHS_PROFILE_LOGIN) : strcmp(profile, "function") == 0 ?
		    siths_verify_opts_set_profile(opts, SITHS_PROFILE_FUNCTION) :
		    strcmp(profile, "chain") == 0 ? siths_verify_opts_set_profile(opts,
		    SITHS_PROFILE_CHAIN) : SITHS_ERR_SERVICE_PROTOCOL;
		if (r != 0) {
			*why = "profile: not login, function or chain";
			return SITHS_ERR_SERVICE_PROTOCOL;
		}
	}
	if ((v = json_object_get(req, "at")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > ((json_int_t)1 << 40)) {
			*why = "at: not a time";
			return SITHS_ERR_SERVICE_PROTOCOL;
		}
		if (json_integer_value(v) > 0 && siths_verify_opts_set_time(opts,
		    json_integer_value(v)) != 0)
			return SITHS_ERR_SERVICE_PROTOCOL;
	}
	if ((v = json_object_get(req, "no_revocation")) != NULL) {
		if (!json_is_boolean(v)) {
			*why = "no_revocation: not a boolean";
			return SITHS_ERR_SERVICE_PROTOCOL;
		}
		siths_verify_opts_set_no_revocation(opts, json_is_true(v));
	}
	if ((v = json_object_get(req, "untrusted")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > HANDLER_UNTRUSTED_MAX) {
			*why = "untrusted: not a list of at most 8 certificates";
			return SITHS_ERR_SERVICE_PROTOCOL;
		}
		json_array_foreach(v, i, e) {
			if ((r = add_untrusted(opts, e)) != 0) {
				*why = "untrusted: a certificate that cannot be read";
				return r == SITHS_ERR_NOMEM ? r : SITHS_ERR_SERVICE_PROTOCOL;
			}
		}
	}
	return 0;
}

/* The mapping sithsd makes for an identity it answers with (siths_map_user). */
static void
map_into(siths_ctx *ctx, struct siths_identity *id)
{
	char *login = NULL;
	/* a refusal for root keeps the name: a client may allow root itself */
	int r = siths_map_user_service_side(ctx, id, &login);

	id->svc_mapped = 1;
	id->svc_map_status = r;
	(void)siths_identity_set(&id->svc_login, login);
	(void)siths_identity_set(&id->svc_map_message, r != 0 ? siths_ctx_errmsg(ctx) : NULL);
	free(login);
}

/* A success answer carrying id, as c may see it. */
static json_t *
answer_identity(siths_ctx *ctx, struct sithsd_caller *c, const struct siths_identity *id)
{
	unsigned int flags = SITHS_WIRE_SERVICE |
	    (sithsd_access_personal_number(c) ? SITHS_WIRE_PERSONAL_NUMBER : 0) |
	    (sithsd_access_whole_entry(ctx, c) ? 0 : SITHS_WIRE_LOGIN_ONLY);
	json_t *a = answer_new(0, "");

	if (a != NULL && json_object_set_new(a, "identity", siths_identity_wire(id, flags)) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
do_verify(siths_ctx *ctx, struct sithsd_caller *c, const json_t *req, int login,
    char *what, size_t whatlen)
{
	siths_verify_opts *opts = NULL;
	siths_identity *id = NULL;
	unsigned char *der = NULL;
	const char *why = "cert: not a base64 certificate", *b64;
	json_t *a = NULL;
	size_t len = 0;
	int r;

	if ((b64 = get_string(req, "cert", 4 * HANDLER_CERT_MAX / 3 + 4)) == NULL ||
	    siths_b64_decode(b64, HANDLER_CERT_MAX, &der, &len) != 0) {
		a = refuse(SITHS_ERR_SERVICE_PROTOCOL, why);
		goto out;
	}
	if ((r = siths_verify_opts_new(&opts)) != 0 || (r = read_opts(req, opts, &why)) != 0) {
		a = refuse(r, r == SITHS_ERR_NOMEM ? "out of memory" : why);
		goto out;
	}
	/* what skips the caches costs sithsd a fetch each time: not for everyone */
	if (!sithsd_access_allowed(ctx, c, "verify", json_is_true(json_object_get(req,
	    "no_revocation")) || json_integer_value(json_object_get(req, "at")) > 0)) {
		a = refuse(SITHS_ERR_SERVICE_DENIED, "skipping revocation or validating at "
		    "another time is for root and [service] admin_group");
		goto out;
	}
	r = login ? siths_login_cert(ctx, der, len, opts, &id) :
	    siths_verify_cert(ctx, der, len, opts, &id);
	if (r == 0 && login)
		map_into(ctx, id);
	snprintf(what, whatlen, "%s %s", login ? "login" : "verify",
	    id != NULL && siths_identity_hsa_id(id) != NULL ? siths_identity_hsa_id(id) :
	    "(certificate)");
	a = r == 0 ? answer_identity(ctx, c, id) : answer_status(ctx, r);
out:
	siths_identity_free(&id);
	siths_verify_opts_free(&opts);
	free(der);
	return a;
}

/* A person by HSA-id, mapped; for resolve the identity, for map the login name. */
static json_t *
do_lookup(siths_ctx *ctx, struct sithsd_caller *c, const json_t *req, int map,
    char *what, size_t whatlen)
{
	const char *hsa_id = get_string(req, "hsa_id", HANDLER_HSA_ID_MAX);
	siths_identity *id = NULL;
	json_t *a;
	int r;

	if (hsa_id == NULL)
		return refuse(SITHS_ERR_SERVICE_PROTOCOL, "hsa_id: not an HSA-id");
	snprintf(what, whatlen, "%s %s", map ? "map" : "resolve", hsa_id);
	if ((r = siths_hsa_resolve(ctx, hsa_id, &id)) != 0)
		return answer_status(ctx, r);
	map_into(ctx, id);
	if (!map) {
		a = answer_identity(ctx, c, id);
	} else if (id->svc_map_status != 0) {
		a = refuse(id->svc_map_status, id->svc_map_message);
		if (a != NULL && id->svc_map_status == SITHS_ERR_POLICY_ROOT_DENIED &&
		    id->svc_login != NULL &&
		    json_object_set_new(a, "login", json_string(id->svc_login)) != 0) {
			json_decref(a);
			a = NULL;
		}
	} else {
		a = answer_new(0, "");
		if (a != NULL && json_object_set_new(a, "login", json_string(id->svc_login)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	siths_identity_free(&id);
	return a;
}

static json_t *
do_status(struct sithsd *d, siths_ctx *ctx)
{
	json_t *a, *report = NULL;
	char *text = NULL;
	int r, clients;

	if ((r = siths_status_json(ctx, &text)) != 0)
		return answer_status(ctx, r);
	report = json_loads(text, 0, NULL);
	free(text);
	pthread_mutex_lock(&d->lock);
	clients = d->n_clients;
	pthread_mutex_unlock(&d->lock);
	if (report != NULL)
		json_object_set_new(report, "sithsd", json_pack("{s:s, s:i, s:i, s:s}", "version",
		    siths_version(), "pid", (int)getpid(), "clients", clients, "socket",
		    d->socket_path));
	if ((a = answer_new(0, "")) != NULL && json_object_set_new(a, "report", report) != 0) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

static json_t *
do_flush(siths_ctx *ctx, const json_t *req, char *what, size_t whatlen)
{
	const char *hsa_id = NULL;
	int r;

	if (json_object_get(req, "hsa_id") != NULL &&
	    (hsa_id = get_string(req, "hsa_id", HANDLER_HSA_ID_MAX)) == NULL)
		return refuse(SITHS_ERR_SERVICE_PROTOCOL, "hsa_id: not an HSA-id");
	snprintf(what, whatlen, "flush %s", hsa_id != NULL ? hsa_id : "everything");
	r = siths_cache_flush(ctx, hsa_id);
	return answer_status(ctx, r);
}

json_t *
sithsd_handle(struct sithsd *d, struct sithsd_caller *c, const json_t *req, char *what,
    size_t whatlen)
{
	const json_t *v = json_object_get(req, "v");
	struct sithsd_ctx *held;
	const char *op = get_string(req, "op", 16);
	json_t *a;

	snprintf(what, whatlen, "%s", op != NULL ? op : "(no operation)");
	if (!json_is_integer(v) || json_integer_value(v) != SITHS_SVC_VERSION)
		return refuse(SITHS_ERR_SERVICE_PROTOCOL, "protocol version: not 1");
	if (op == NULL)
		return refuse(SITHS_ERR_SERVICE_PROTOCOL, "op: not a string");
	if (strcmp(op, "ping") != 0 && strcmp(op, "verify") != 0 && strcmp(op, "login") != 0 &&
	    strcmp(op, "resolve") != 0 && strcmp(op, "map") != 0 && strcmp(op, "status") != 0 &&
	    strcmp(op, "flush") != 0)
		return refuse(SITHS_ERR_SERVICE_PROTOCOL, "op: not an operation of sithsd");
	if (strcmp(op, "ping") == 0)
		return answer_new(0, siths_version());
	held = sithsd_ctx_hold(d);
	if (!sithsd_access_allowed(held->ctx, c, op, 0)) {
		sithsd_ctx_release(d, held);
		return refuse(SITHS_ERR_SERVICE_DENIED, "lookups by HSA-id, status and flushing "
		    "are for root and [service] admin_group");
	}
	if (strcmp(op, "verify") == 0 || strcmp(op, "login") == 0)
		a = do_verify(held->ctx, c, req, strcmp(op, "login") == 0, what, whatlen);
	else if (strcmp(op, "resolve") == 0 || strcmp(op, "map") == 0)
		a = do_lookup(held->ctx, c, req, strcmp(op, "map") == 0, what, whatlen);
	else if (strcmp(op, "status") == 0)
		a = do_status(d, held->ctx);
	else
		a = do_flush(held->ctx, req, what, whatlen);
	sithsd_ctx_release(d, held);
	return a;
}
