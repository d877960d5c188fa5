/*
 * hsa.h - the HSA directory behind one interface: find a person by HSA-id
 * and describe them, their organisation, units and commissions; plus what
 * the parts of the HSA layer (hsa*.c) share without speaking libldap.
 */
#ifndef SITHS_HSA_H
#define SITHS_HSA_H

#include <stddef.h>
#include <time.h>

#include "identity.h"
#include "siths.h"

struct siths_cache;
struct siths_ldap;

/* Allocate the directory state of a loaded context (no network yet). */
int siths_hsa_init(siths_ctx *ctx);
void siths_hsa_free(siths_ctx *ctx);
/* Forget every cached answer in memory (siths_ctx_flush_caches()). */
void siths_hsa_flush(siths_ctx *ctx);
/* Forget hsa_id's answer (NULL: every answer), in memory and on disk. */
void siths_hsa_forget(siths_ctx *ctx, const char *hsa_id);

/* What the directory layer can say about itself, for siths status. */
#define SITHS_HSA_STATS_SERVERS 32
struct siths_hsa_stats {
	size_t cached;                  /* answers in memory */
	unsigned long stale_served;     /* since the context was loaded */
	size_t n_servers;
	struct {
		const char *uri;        /* the configuration's */
		int resting;            /* failed lately: passed over for now */
	} servers[SITHS_HSA_STATS_SERVERS];
};
void siths_hsa_stats(const siths_ctx *ctx, struct siths_hsa_stats *st);

/*
 * Look hsa_id up under [hsa] base, from the cache when it is fresh.
 * Results: 0 with *out filled (from_directory = 1; stale = 1 when every
 * server was unreachable and a cached answer younger than [hsa] stale_max
 * was used), SITHS_ERR_HSA_NOT_FOUND, SITHS_ERR_HSA_AMBIGUOUS,
 * SITHS_ERR_HSA_INACTIVE (startDate ahead or endDate passed, checked at
 * every call), SITHS_ERR_HSA_UNREACHABLE, SITHS_ERR_HSA_TIMEOUT,
 * SITHS_ERR_HSA_BIND, SITHS_ERR_HSA_PROTOCOL, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
 * SITHS_ERR_HSA_ID_INVALID. Thread-safe.
 */
int siths_hsa_lookup(siths_ctx *ctx, const char *hsa_id, struct siths_identity **out);

/*
 * The directory's answers on disk under cache_dir/hsa (hsa_disk.c). read:
 * 0 with *out (from_directory, fetched as stored), 1 when there is none
 * fit to use, or SITHS_ERR_NOMEM. write keeps a copy of id (errors only
 * logged; last_prune paces pruning). forget removes hsa_id's (NULL: all).
 * prune keeps the store within [hsa] disk_cache_entries and
 * disk_cache_bytes and removes entries older than cache_ttl and stale_max.
 */
int siths_hsa_disk_read(const siths_ctx *ctx, const char *hsa_id, struct siths_identity **out);
void siths_hsa_disk_write(const siths_ctx *ctx, const struct siths_identity *id,
    time_t *last_prune);
void siths_hsa_disk_forget(const siths_ctx *ctx, const char *hsa_id);
void siths_hsa_disk_prune(const siths_ctx *ctx);

/*
 * RFC 4515 escaping of an assertion value for a search filter; the only way
 * a value reaches a filter. *out is allocated.
 */
int siths_ldap_escape(const char *value, size_t len, char **out);

/* --- inside the HSA layer ---------------------------------------------------- */

/* What the searches ask for, built once from [hsa] and [hsa.attributes]. */
struct siths_hsa_plan {
	const char *base;
	int base_depth;                 /* RDNs in base */
	const char **first_attrs;       /* the person's and commissions', objectClass */
	const char **org_attrs;         /* NULL-terminated */
	char *first_prefix;             /* "(|(<hsa_id>=": the escaped id follows, */
	char *first_middle;             /* ")(&(objectClass=<class>)(<member>=", the id, */
	char *org_filter;               /* (objectClass=<org_class>) */
	int ttl;                        /* [hsa] cache_ttl, for the entries above people */
};

int siths_hsa_plan_init(const siths_ctx *ctx, struct siths_hsa_plan *plan);
void siths_hsa_plan_free(struct siths_hsa_plan *plan);

/*
 * The whole directory side of one lookup over one connection, within the
 * deadline already set on it: the person and their commissions, their
 * organisation and units. orgs is the cache of the entries above people
 * (siths_hsa_org_cache_new()). The person's activity is not judged here
 * (cached answers are judged when used). Statuses as siths_hsa_lookup()
 * but INACTIVE.
 */
int siths_hsa_query(const siths_ctx *ctx, const struct siths_hsa_plan *plan,
    struct siths_cache *orgs, struct siths_ldap *conn, const char *hsa_id,
    struct siths_identity **out);

/*
 * The nearest organisation above id->dn (fields org_*, municipality_*,
 * county_*) and the unit path below it, from orgs where it has them and
 * else from the directory in one round trip. None is not an error.
 */
int siths_hsa_find_org(const siths_ctx *ctx, const struct siths_hsa_plan *plan,
    struct siths_cache *orgs, struct siths_ldap *conn, struct siths_identity *id);
/* A cache for siths_hsa_find_org(); NULL when out of memory. */
struct siths_cache *siths_hsa_org_cache_new(void);

/*
 * GeneralizedTime with seconds, as HSA writes it: YYYYMMDDHHMMSS, an
 * optional fraction, then Z or +hhmm/-hhmm. 0, or -1 for anything else.
 */
int siths_hsa_parse_time(const char *s, time_t *out);
/* Is the person employed at now? An unreadable date keeps them out. */
int siths_hsa_check_active(const siths_ctx *ctx, const struct siths_identity *id, time_t now);

#endif
