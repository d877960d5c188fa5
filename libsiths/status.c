/*
 * status.c - what a validator knows of itself (siths status, sithsd's
 * "status" answer, monitoring), and forgetting what it cached (siths cache
 * flush). A client of sithsd asks sithsd; a context of its own reports on
 * itself.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "diskstore.h"
#include "error.h"
#include "hsa.h"
#include "log.h"
#include "revocation.h"
#include "service.h"

static json_t *
age_or_null(time_t when, time_t now)
{
	return when != 0 ? json_integer((json_int_t)(now - when)) : json_null();
}

static json_t *
directory_report(const siths_ctx *ctx)
{
	struct siths_hsa_stats st;
	json_t *o = json_object(), *servers = json_array();
	size_t i;

	siths_hsa_stats(ctx, &st);
	for (i = 0; servers != NULL && i < st.n_servers; i++)
		json_array_append_new(servers, json_pack("{s:s, s:s}", "uri", st.servers[i].uri,
		    "state", st.servers[i].resting ? "resting after a failure" : "up"));
	json_object_set_new(o, "servers", servers);
	json_object_set_new(o, "cached", json_integer((json_int_t)st.cached));
	json_object_set_new(o, "stale_served", json_integer((json_int_t)st.stale_served));
	json_object_set_new(o, "stale_max", json_integer(ctx->cfg->hsa_stale_max));
	return o;
}

static json_t *
revocation_report(const siths_ctx *ctx, time_t now)
{
	struct siths_rev_stats st;

	siths_revocation_stats(ctx, &st);
	return json_pack("{s:I, s:I, s:I, s:o, s:o}", "ocsp_cached", (json_int_t)st.ocsp_cached,
	    "crl_cached", (json_int_t)st.crl_cached, "soft_accepts", (json_int_t)st.soft_accepts,
	    "ocsp_answer_age", age_or_null(st.ocsp_heard, now),
	    "crl_fetch_age", age_or_null(st.crl_heard, now));
}

/* This context's own report. */
static int
local_report(siths_ctx *ctx, char **json)
{
	json_t *o = json_object();
	time_t now = time(NULL);

	if (o == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "config", json_string(ctx->cfg->path));
	json_object_set_new(o, "validates", json_string(siths_ctx_local_ready(ctx) ?
	    "in this process" : "not yet"));
	json_object_set_new(o, "directory", directory_report(ctx));
	json_object_set_new(o, "revocation", revocation_report(ctx, now));
	json_object_set_new(o, "validation", json_pack("{s:I, s:I}", "cached",
	    (json_int_t)siths_cache_count(ctx->verify_cache), "cache_hits",
	    (json_int_t)__atomic_load_n(&ctx->verify_hits, __ATOMIC_RELAXED)));
	*json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *json != NULL ? 0 : siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
}

int
siths_status_json(siths_ctx *ctx, char **json)
{
	int r;

	if (json != NULL)
		*json = NULL;
	if (ctx == NULL || ctx->cfg == NULL || json == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	if (siths_service_enabled(ctx)) {
		r = siths_service_report(ctx, json);
		if (!siths_service_fallback(ctx, &r))
			return r;
	}
	return local_report(ctx, json);
}

/* Forget everything: memory caches, the directory's answers and revocation answers on disk. */
static void
flush_all(siths_ctx *ctx)
{
	siths_ctx_flush_caches(ctx);
	siths_hsa_forget(ctx, NULL);
	if (ctx->cfg->cache_dir != NULL)
		(void)siths_disk_cache_remove(ctx, ctx->cfg->cache_dir, NULL);
}

int
siths_cache_flush(siths_ctx *ctx, const char *hsa_id)
{
	int r;

	if (ctx == NULL || ctx->cfg == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	if (siths_service_enabled(ctx)) {
		r = siths_service_flush(ctx, hsa_id);
		if (!siths_service_fallback(ctx, &r))
			return r;
	}
	if (hsa_id == NULL)
		flush_all(ctx);
	else
		siths_hsa_forget(ctx, hsa_id);
	siths_notice(ctx, "cache flushed: %s", hsa_id != NULL ? hsa_id : "everything");
	return 0;
}
