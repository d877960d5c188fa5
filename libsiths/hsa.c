/*
 * hsa.c - the HSA directory as the rest of libsiths sees it: the
 * directory state of a context (struct siths_hsa), and the policy of a
 * lookup: what may be asked, when a cached answer is good enough, which
 * server to ask next, when a stale answer may stand in for the directory,
 * and whether the person is employed at the time of the call.
 *
 * The cache holds answers by SHA-256 of the HSA-id: identities (active or
 * not: the dates are judged at every use, never only when fetched) and
 * "not found" markers; identities are also kept on disk (hsa_disk.c), read
 * back only when no server answers, so that a restart does not forget whom
 * the host may let in during an outage. An identity is kept for the longer of [hsa]
 * cache_ttl and stale_max; this file decides from its age what it may be
 * used for: younger than cache_ttl, instead of the directory; younger than
 * stale_max, only when no server answers, marked stale and logged.
 *
 * The searches are hsa_query.c's, the connections hsa_pool.c's and
 * ldap.c's, the meaning of entries hsa_map.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "identity.h"
#include "ldapconn.h"
#include "log.h"
#include "service.h"

/* Longest HSA-id looked up (the certificate layer holds ids to 31). */
#define HSA_ID_MAX 64

struct siths_hsa {
	struct siths_hsa_plan plan;     /* immutable after init */
	struct siths_hsa_pool *pool;    /* NULL when no [hsa] uri is set */
	struct siths_cache *cache;      /* of struct hsa_answer */
	struct siths_cache *orgs;       /* the entries above people (hsa_org.c) */
	time_t disk_pruned;             /* when the disk store was last pruned; atomic */
	unsigned long stale_served;     /* answers served stale (sithsd's status); atomic */
};

/* What the cache holds for an HSA-id. */
struct hsa_answer {
	struct siths_identity *id;      /* NULL: the directory said "not found" */
	time_t fetched;
};

static void
answer_free(void *v)
{
	struct hsa_answer *a = v;

	if (a == NULL)
		return;
	siths_identity_free(&a->id);
	free(a);
}

static void *
answer_dup(const void *v)
{
	const struct hsa_answer *a = v;
	struct hsa_answer *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fetched = a->fetched;
	if (a->id != NULL && (c->id = siths_identity_dup(a->id)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static const struct siths_cache_ops answer_ops = { answer_dup, answer_free };

int
siths_hsa_init(siths_ctx *ctx)
{
	int r = SITHS_ERR_INTERNAL;
	struct siths_hsa *hsa = NULL;

	if (ctx == NULL || ctx->cfg == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (ctx->hsa != NULL)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: directory state set up twice");
	if ((r = siths_ldap_check_config(ctx)) != 0)
		goto out;
	if ((hsa = calloc(1, sizeof(*hsa))) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	if ((r = siths_hsa_plan_init(ctx, &hsa->plan)) != 0 ||
	    (ctx->cfg->hsa_uris.n > 0 && (r = siths_hsa_pool_new(ctx, &hsa->pool)) != 0))
		goto out;
	if ((hsa->cache = siths_cache_new((size_t)ctx->cfg->hsa_cache_size,
	    &answer_ops)) == NULL || (hsa->orgs = siths_hsa_org_cache_new()) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: cannot create the cache");
		goto out;
	}
	ctx->hsa = hsa;
	hsa = NULL; /* transferred */
	/* success */
	r = 0;
out:
	if (hsa != NULL) {
		siths_cache_free(&hsa->cache);
		siths_cache_free(&hsa->orgs);
		siths_hsa_pool_free(&hsa->pool);
		siths_hsa_plan_free(&hsa->plan);
		free(hsa);
	}
	return r;
}

void
siths_hsa_free(siths_ctx *ctx)
{
	struct siths_hsa *hsa;

	if (ctx == NULL || (hsa = ctx->hsa) == NULL)
		return;
	siths_cache_free(&hsa->cache);
	siths_cache_free(&hsa->orgs);
	siths_hsa_pool_free(&hsa->pool);
	siths_hsa_plan_free(&hsa->plan);
	free(hsa);
	ctx->hsa = NULL;
}

void
siths_hsa_flush(siths_ctx *ctx)
{
	if (ctx == NULL || ctx->hsa == NULL)
		return;
	siths_cache_clear(ctx->hsa->cache);
	siths_cache_clear(ctx->hsa->orgs);
}

void
siths_hsa_forget(siths_ctx *ctx, const char *hsa_id)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];
	unsigned int len = 0;

	if (ctx == NULL || ctx->hsa == NULL)
		return;
	if (hsa_id == NULL) {
		siths_hsa_flush(ctx);
	} else if (EVP_Digest(hsa_id, strlen(hsa_id), key, &len, EVP_sha256(), NULL) == 1 &&
	    len == SITHS_CACHE_KEY_LEN) {
		siths_cache_remove(ctx->hsa->cache, key);
	}
	siths_hsa_disk_forget(ctx, hsa_id);
}

void
siths_hsa_stats(const siths_ctx *ctx, struct siths_hsa_stats *st)
{
	const struct siths_hsa *hsa = ctx != NULL ? ctx->hsa : NULL;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (hsa == NULL)
		return;
	st->cached = siths_cache_count(hsa->cache);
	st->stale_served = __atomic_load_n(&hsa->stale_served, __ATOMIC_RELAXED);
	st->n_servers = ctx->cfg->hsa_uris.n < SITHS_HSA_STATS_SERVERS ? ctx->cfg->hsa_uris.n :
	    SITHS_HSA_STATS_SERVERS;
	for (i = 0; i < st->n_servers; i++) {
		st->servers[i].uri = ctx->cfg->hsa_uris.v[i];
		st->servers[i].resting = hsa->pool != NULL &&
		    siths_hsa_pool_resting(hsa->pool, i);
	}
}

/*
 * What can be asked for at all: PrintableString characters, as HSA-ids are,
 * and not absurdly long. The form (prefix, organisation number, Luhn) is the
 * certificate layer's concern: test and legacy ids do not follow it.
 */
static int
hsa_id_sane(const siths_ctx *ctx, const char *hsa_id)
{
	size_t i, len;
	char c;

	if (hsa_id == NULL || *hsa_id == '\0')
		return siths_fail(ctx, SITHS_ERR_HSA_ID_INVALID, "HSA-id is empty");
	if ((len = strnlen(hsa_id, HSA_ID_MAX + 1)) > HSA_ID_MAX)
		return siths_fail(ctx, SITHS_ERR_HSA_ID_INVALID,
		    "HSA-id is longer than %d characters", HSA_ID_MAX);
	for (i = 0; i < len; i++) {
		c = hsa_id[i];
		if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    strchr(" '()+,-./:=?", c) != NULL)
			continue;
		return siths_fail(ctx, SITHS_ERR_HSA_ID_INVALID,
		    "HSA-id has a character outside PrintableString at position %zu", i + 1);
	}
	return 0;
}

static int
is_server_failure(int r)
{
	return r == SITHS_ERR_HSA_UNREACHABLE || r == SITHS_ERR_HSA_TIMEOUT;
}

/*
 * How a lookup leaves its connection. A connection kept from an earlier
 * lookup may have been closed by the server since (idle timeout, restart):
 * that alone does not make the server down.
 */
static enum siths_hsa_outcome
outcome_of(int r, const struct siths_hsa_lease *lease)
{
	if (r == SITHS_ERR_HSA_UNREACHABLE && lease->reused)
		return SITHS_HSA_LOST;
	if (is_server_failure(r))
		return SITHS_HSA_SERVER_DOWN;
	return SITHS_HSA_KEEP;
}

/* One try on one pooled connection; *server is the server it went to. */
static int
query_once(const siths_ctx *ctx, struct siths_hsa *hsa, const char *hsa_id, size_t first,
    int fresh, const struct timespec *deadline, size_t *server, int *lost,
    struct siths_identity **out)
{
	struct siths_hsa_lease lease;
	enum siths_hsa_outcome outcome;
	int r;

	*lost = 0;
	r = siths_hsa_pool_get(ctx, hsa->pool, first, fresh, deadline, &lease);
	*server = lease.server;
	if (r != 0)
		return r;
	r = siths_hsa_query(ctx, &hsa->plan, hsa->orgs, lease.conn, hsa_id, out);
	/* Which server gave the answer, found or not, for whoever reads the logs. */
	if (!is_server_failure(r))
		siths_info(ctx, "HSA: %s answered for %s: %s", siths_ldap_uri(lease.conn), hsa_id,
		    r == 0 ? (*out)->dn : siths_status_name(r));
	outcome = outcome_of(r, &lease);
	*lost = outcome == SITHS_HSA_LOST;
	siths_hsa_pool_put(ctx, hsa->pool, &lease, outcome);
	return r;
}

/*
 * Ask the servers in order until one answers. Each server tried gets the
 * whole [hsa] timeout_ms for everything (waiting for a connection,
 * connecting, all searches); a lost kept connection gets one fresh retry
 * on the same server within the same time.
 */
static int
query_servers(const siths_ctx *ctx, struct siths_hsa *hsa, const char *hsa_id,
    struct siths_identity **out)
{
	size_t n = ctx->cfg->hsa_uris.n, first = 0, server;
	struct timespec deadline;
	char last[SITHS_ERRMSG_MAX];
	int r, lost, retried = 0;

	siths_deadline_in(&deadline, ctx->cfg->hsa_timeout_ms);
	for (;;) {
		r = query_once(ctx, hsa, hsa_id, first, retried == 1, &deadline, &server, &lost,
		    out);
		if (lost && !retried) {
			siths_info(ctx, "HSA: connection to %s lost, reconnecting",
			    ctx->cfg->hsa_uris.v[server]);
			retried = 1;
			first = server;
			continue;
		}
		retried = retried ? 2 : 0;
		if (!is_server_failure(r) || server + 1 >= n)
			break;
		first = server + 1;
		siths_deadline_in(&deadline, ctx->cfg->hsa_timeout_ms);
	}
	if (is_server_failure(r) && n > 1) {
		snprintf(last, sizeof(last), "%s", siths_ctx_errmsg(ctx));
		r = siths_fail(ctx, r, "no HSA server answered (%zu configured); last: %s", n,
		    last);
	}
	return r;
}

static int
answer_key(const siths_ctx *ctx, const char *hsa_id, unsigned char key[SITHS_CACHE_KEY_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(hsa_id, strlen(hsa_id), key, &len, EVP_sha256(), NULL) != 1 ||
	    len != SITHS_CACHE_KEY_LEN)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot hash the HSA-id");
	return 0;
}

/* Keep the answer (a copy of id, or "not found" when id is NULL). */
static void
remember(const siths_ctx *ctx, struct siths_hsa *hsa, const unsigned char *key,
    const struct siths_identity *id, time_t now)
{
	const struct siths_config *cfg = ctx->cfg;
	struct hsa_answer *a;
	int keep;

	keep = id == NULL ? cfg->hsa_negative_ttl :
	    cfg->hsa_cache_ttl > cfg->hsa_stale_max ? cfg->hsa_cache_ttl : cfg->hsa_stale_max;
	if (keep <= 0 || (a = calloc(1, sizeof(*a))) == NULL)
		return;
	a->fetched = id != NULL ? id->fetched : now;
	if (id != NULL && (a->id = siths_identity_dup(id)) == NULL) {
		free(a);
		return;
	}
	/* out of memory: the answer is just not kept */
	(void)siths_cache_put(hsa->cache, key, a, a->fetched + keep);
}

/* Seconds since the answer was fetched; -1 when the clock says it is ahead. */
static long long
answer_age(const struct hsa_answer *a, time_t now)
{
	return now >= a->fetched ? (long long)(now - a->fetched) : -1;
}

/*
 * No server answered (status r). A cached identity younger than
 * stale_max stands in for the directory, marked and logged; otherwise r
 * stands, with the reason no cached answer was used.
 */
static int
serve_stale(const siths_ctx *ctx, struct hsa_answer *hit, const char *hsa_id, int r,
    time_t now, struct siths_identity **out)
{
	char msg[SITHS_ERRMSG_MAX];
	long long age;

	*out = NULL;
	if (hit == NULL || hit->id == NULL)
		return r;
	age = answer_age(hit, now);
	if (age < 0 || age >= ctx->cfg->hsa_stale_max) {
		/* first, so that a long server message is what gets cut */
		snprintf(msg, sizeof(msg), "%s", siths_ctx_errmsg(ctx));
		return siths_fail(ctx, r, "the cached entry for %s is %lld s old, past [hsa] "
		    "stale_max (%d s); %s", hsa_id, age, ctx->cfg->hsa_stale_max, msg);
	}
	siths_warn(ctx, "HSA: no directory server answered; using the cached entry for %s "
	    "fetched %lld s ago ([hsa] stale_max %d s)", hsa_id, age, ctx->cfg->hsa_stale_max);
	__atomic_add_fetch(&ctx->hsa->stale_served, 1, __ATOMIC_RELAXED);
	*out = hit->id;
	hit->id = NULL; /* transferred */
	(*out)->stale = 1;
	return 0;
}

/*
 * No server answered and nothing is in memory: the disk store's answer, if
 * any, becomes the hit (and goes into memory), for serve_stale() to judge.
 * The disk copy never stands in for a directory that answers: a new
 * process asks the directory as before. 0 (with or without *hit), or
 * SITHS_ERR_NOMEM.
 */
static int
from_disk(const siths_ctx *ctx, struct siths_hsa *hsa, const char *hsa_id,
    const unsigned char *key, time_t now, struct hsa_answer **hit)
{
	struct siths_identity *stored = NULL;
	int r;

	if ((r = siths_hsa_disk_read(ctx, hsa_id, &stored)) != 0)
		return r == SITHS_ERR_NOMEM ? siths_fail(ctx, r, "HSA: out of memory") : 0;
	if ((*hit = calloc(1, sizeof(**hit))) == NULL) {
		siths_identity_free(&stored);
		return siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
	}
	siths_debug(ctx, "HSA: %s from the disk store (%lld s old)", hsa_id,
	    (long long)(now - stored->fetched));
	remember(ctx, hsa, key, stored, now);
	(*hit)->fetched = stored->fetched;
	(*hit)->id = stored;    /* transferred */
	return 0;
}

/*
 * The answer for hsa_id from the cache when it is fresh enough, else from
 * the directory (and kept), else a stale one. *hit keeps whatever the
 * cache held, for the caller to free.
 */
static int
answer(const siths_ctx *ctx, struct siths_hsa *hsa, const char *hsa_id,
    struct hsa_answer **hit, struct siths_identity **out)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];
	time_t now = time(NULL);
	void *copy = NULL;
	long long age;
	int r, r2 = 0;

	*out = NULL;
	if ((r = answer_key(ctx, hsa_id, key)) != 0)
		return r;
	if ((r = siths_cache_get(hsa->cache, key, now, &copy)) < 0)
		return siths_fail(ctx, r, "HSA: out of memory");
	*hit = copy;
	/* "not found" is kept only as long as it may be believed */
	if (*hit != NULL && (*hit)->id == NULL)
		return siths_fail(ctx, SITHS_ERR_HSA_NOT_FOUND,
		    "HSA-id %s not found (the directory's answer %lld s ago)", hsa_id,
		    answer_age(*hit, now));
	if (*hit != NULL && (age = answer_age(*hit, now)) >= 0 &&
	    age < ctx->cfg->hsa_cache_ttl) {
		siths_debug(ctx, "HSA: %s from the cache (%lld s old)", hsa_id, age);
		*out = (*hit)->id;
		(*hit)->id = NULL; /* transferred */
		return 0;
	}
	r = query_servers(ctx, hsa, hsa_id, out);
	if (r == 0 || r == SITHS_ERR_HSA_NOT_FOUND)
		remember(ctx, hsa, key, *out, now);
	/* the disk copy follows the directory: a person gone from it is forgotten */
	if (r == 0)
		siths_hsa_disk_write(ctx, *out, &hsa->disk_pruned);
	else if (r == SITHS_ERR_HSA_NOT_FOUND)
		siths_hsa_disk_forget(ctx, hsa_id);
	else if (is_server_failure(r) && (*hit != NULL ||
	    (r2 = from_disk(ctx, hsa, hsa_id, key, now, hit)) == 0))
		r = serve_stale(ctx, *hit, hsa_id, r, now, out);
	else if (is_server_failure(r))
		r = r2;
	return r;
}

int
siths_hsa_lookup(siths_ctx *ctx, const char *hsa_id, struct siths_identity **out)
{
	int r = SITHS_ERR_INTERNAL;
	struct siths_hsa *hsa;
	struct hsa_answer *hit = NULL;
	struct siths_identity *id = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((r = hsa_id_sane(ctx, hsa_id)) != 0)
		return r;
	if (ctx->cfg == NULL || (hsa = ctx->hsa) == NULL)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: the context is not loaded");
	if (hsa->pool == NULL)
		return siths_fail(ctx, SITHS_ERR_CONFIG_MISSING, "%s: [hsa] uri is not set",
		    ctx->cfg->path != NULL ? ctx->cfg->path : "siths.conf");
	if ((r = answer(ctx, hsa, hsa_id, &hit, &id)) != 0)
		goto out;
	/* Employment is judged now, whether the answer is new, cached or stale. */
	if ((r = siths_hsa_check_active(ctx, id, time(NULL))) != 0)
		goto out;
	*out = id;
	id = NULL; /* transferred */
	/* success */
	r = 0;
out:
	answer_free(hit);
	siths_identity_free(&id);
	return r;
}

int
siths_hsa_resolve(siths_ctx *ctx, const char *hsa_id, siths_identity **out)
{
	int r;

	/* a success must not leave an older failure's message behind */
	if (ctx != NULL)
		siths_clear_error(ctx);
	if (out != NULL && siths_service_enabled(ctx)) {
		r = siths_service_resolve(ctx, hsa_id, out);
		if (!siths_service_fallback(ctx, &r))
			return r;
	}
	return siths_hsa_lookup(ctx, hsa_id, out);
}
