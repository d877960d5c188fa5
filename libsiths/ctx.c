/*
 * ctx.c - the context's life: creation, loading siths.conf and the trust
 * store, and freeing everything the layers hang on it.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "log.h"
#include "p11.h"
#include "pcsc.h"
#include "revocation.h"
#include "verify.h"

#ifndef SITHS_DEFAULT_CONFIG
#define SITHS_DEFAULT_CONFIG "/etc/siths/siths.conf"
#endif

int
siths_ctx_create(siths_ctx **out)
{
	siths_ctx *ctx = NULL;

	if (out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return SITHS_ERR_NOMEM;
	if (siths_errbufs_init(ctx) != 0) {
		free(ctx);
		return SITHS_ERR_NOMEM;
	}
	if (pthread_mutex_init(&ctx->local_lock, NULL) != 0) {
		siths_errbufs_free(ctx);
		free(ctx);
		return SITHS_ERR_NOMEM;
	}
	/* before any configuration: a wait can be cancelled from the start */
	if (siths_pcsc_init(ctx) != 0) {
		siths_errbufs_free(ctx);
		free(ctx);
		return SITHS_ERR_NOMEM;
	}
	ctx->log_level = SITHS_LOG_NOTICE;
	*out = ctx;
	return 0;
}

/* Trust, caches and the directory, or none of them. Under local_lock. */
static int
local_setup(siths_ctx *ctx)
{
	int r;

	if ((r = siths_trust_load(ctx)) != 0 || (r = siths_verify_cache_init(ctx)) != 0 ||
	    (r = siths_revocation_init(ctx)) != 0 || (r = siths_hsa_init(ctx)) != 0) {
		siths_hsa_free(ctx);
		siths_revocation_free(ctx);
		siths_verify_cache_free(ctx);
		siths_trust_free(ctx);
		return r;
	}
	if (ctx->cfg->n_rev_methods == 0)
		siths_warn(ctx, "%s: revocation checking is off ([revocation] mode = none)",
		    ctx->cfg->path);
	return 0;
}

int
siths_ctx_local_ready(const siths_ctx *ctx)
{
	return __atomic_load_n(&ctx->local_status, __ATOMIC_ACQUIRE) == 1;
}

int
siths_ctx_local_init(siths_ctx *ctx)
{
	int r;

	if (siths_ctx_local_ready(ctx))
		return 0;
	pthread_mutex_lock(&ctx->local_lock);
	/* a failure is tried again next time: the file may be readable by then */
	if ((r = ctx->local_status == 1 ? 0 : local_setup(ctx)) == 0)
		__atomic_store_n(&ctx->local_status, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ctx->local_lock);
	return r;
}

int
siths_ctx_load(siths_ctx *ctx, const char *config_path)
{
	char err[SITHS_ERRMSG_MAX];
	int r;

	if (ctx == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (ctx->cfg != NULL)
		return siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT,
		    "the context has a configuration already");
	if (config_path == NULL)
		config_path = SITHS_DEFAULT_CONFIG;
	if ((r = siths_config_load(&ctx->cfg, config_path, err, sizeof(err))) != 0)
		return siths_fail(ctx, r, "%s", err);
	/*
	 * A client of sithsd needs none of this, nor may it be able to read
	 * it (a lock screen has no access to the directory's credentials):
	 * auto sets it up when it first has to validate by itself.
	 */
	if ((ctx->service_side || ctx->cfg->service_mode == SITHS_SERVICE_LOCAL) &&
	    (r = siths_ctx_local_init(ctx)) != 0) {
		siths_config_free(&ctx->cfg);
		return r;
	}
	siths_info(ctx, "configuration loaded from %s", config_path);
	return 0;
}

int
siths_ctx_new(siths_ctx **out, const char *config_path)
{
	siths_ctx *ctx = NULL;
	int r;

	if (out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((r = siths_ctx_create(&ctx)) != 0)
		return r;
	if ((r = siths_ctx_load(ctx, config_path)) != 0) {
		siths_ctx_free(&ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

void
siths_ctx_free(siths_ctx **ctxp)
{
	siths_ctx *ctx;

	if (ctxp == NULL || (ctx = *ctxp) == NULL)
		return;
	siths_p11_free(ctx);
	siths_hsa_free(ctx);
	siths_revocation_free(ctx);
	siths_verify_cache_free(ctx);
	siths_trust_free(ctx);
	siths_config_free(&ctx->cfg);
	siths_pcsc_free(ctx);
	siths_errbufs_free(ctx);
	pthread_mutex_destroy(&ctx->local_lock);
	free(ctx);
	*ctxp = NULL;
}

void
siths_ctx_flush_caches(siths_ctx *ctx)
{
	if (ctx == NULL)
		return;
	siths_cache_clear(ctx->verify_cache);
	siths_revocation_flush(ctx);
	siths_hsa_flush(ctx);
}

unsigned long
siths_ctx_soft_accepts(const siths_ctx *ctx)
{
	return siths_revocation_soft_count(ctx);
}

const char *
siths_ctx_config_path(const siths_ctx *ctx)
{
	return ctx != NULL && ctx->cfg != NULL ? ctx->cfg->path : NULL;
}

int
siths_ctx_card_removal(const siths_ctx *ctx)
{
	if (ctx == NULL || ctx->cfg == NULL)
		return SITHS_REMOVAL_NONE;
	return ctx->cfg->on_card_removal;
}

int
siths_ctx_pin_length(const siths_ctx *ctx, int *min, int *max)
{
	if (min != NULL)
		*min = 0;
	if (max != NULL)
		*max = 0;
	if (ctx == NULL || ctx->cfg == NULL || min == NULL || max == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	*min = ctx->cfg->pin_min;
	*max = ctx->cfg->pin_max;
	return 0;
}

const char *
siths_version(void)
{
	return PACKAGE_VERSION;
}
