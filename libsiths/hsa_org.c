/*
 * hsa_org.c - the organisation a person acts for: the nearest entry above
 * them whose objectClass is [hsa.attributes] org_class, and the units in
 * between; plus the cache of what the entries above people are.
 *
 * A municipality's staff share a handful of organisations and units, so
 * what each such entry is (an organisation with its attributes, or not one)
 * is kept for [hsa] cache_ttl by DN: a lookup then usually needs no search
 * for the organisation at all. The levels the cache does not know are
 * searched together, one base-scope search each, in one round trip, up to
 * [hsa] base and at most HSA_ORG_DEPTH_MAX levels up.
 *
 * The unit path comes from the person's DN (the unit_name RDNs between the
 * person and the organisation), not from the unit entries.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ldap.h>
#include <openssl/evp.h>

#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "identity.h"
#include "ldapconn.h"
#include "log.h"

/* How many levels above a person the organisation is looked for. */
#define HSA_ORG_DEPTH_MAX 16
/* Entries above people kept; a region has a few thousand units. */
#define HSA_ORG_CACHE_ENTRIES 4096

/*
 * The cache holds a siths_identity per DN with only the organisation
 * fields set; from_directory says whether the entry is an organisation.
 */
static void *
org_dup(const void *v)
{
	return siths_identity_dup(v);
}

static void
org_free(void *v)
{
	struct siths_identity *id = v;

	siths_identity_free(&id);
}

static const struct siths_cache_ops org_ops = { org_dup, org_free };

struct siths_cache *
siths_hsa_org_cache_new(void)
{
	return siths_cache_new(HSA_ORG_CACHE_ENTRIES, &org_ops);
}

/* One level above the person. */
struct level {
	char *dn;                       /* ldap_dn2str()'s */
	unsigned char key[SITHS_CACHE_KEY_LEN];
	struct siths_identity *known;   /* from the cache or the search; NULL: ask */
	int asked;                      /* searched, not recalled */
	int msgid;
	LDAPMessage *res;
};

struct walk {
	LDAPDN dn;                      /* the person's, parsed */
	int levels;                     /* 1 .. levels are looked at */
	struct level lv[HSA_ORG_DEPTH_MAX + 1];
};

static int
nomem(const siths_ctx *ctx)
{
	return siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
}

static void
walk_free(struct walk *w)
{
	int i;

	for (i = 0; i <= HSA_ORG_DEPTH_MAX; i++) {
		ldap_memfree(w->lv[i].dn);
		siths_identity_free(&w->lv[i].known);
		ldap_msgfree(w->lv[i].res);
	}
	ldap_dnfree(w->dn);
}

static int
dn_length(LDAPDN dn)
{
	int n = 0;

	while (dn != NULL && dn[n] != NULL)
		n++;
	return n;
}

/*
 * How many levels above the person to look at: up to [hsa] base, never
 * the root DSE, at most HSA_ORG_DEPTH_MAX. The subtree search put the
 * person under base, so their DN ends with it.
 */
static int
walk_levels(const siths_ctx *ctx, const struct siths_hsa_plan *plan, struct walk *w,
    const char *person_dn)
{
	int n, top;

	if (ldap_str2dn(person_dn, &w->dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA: cannot parse the DN %s",
		    person_dn);
	n = dn_length(w->dn);
	top = n - plan->base_depth;
	if (top >= n)
		top = n - 1;
	w->levels = top < 0 ? 0 : top > HSA_ORG_DEPTH_MAX ? HSA_ORG_DEPTH_MAX : top;
	return 0;
}

/*
 * Each level's DN and what the cache knows of it, from the person up to
 * the first organisation the cache knows: levels above that one do not
 * matter.
 */
static int
walk_recall(const siths_ctx *ctx, struct siths_cache *orgs, struct walk *w, time_t now)
{
	struct level *l;
	void *copy;
	int i;

	for (i = 1; i <= w->levels; i++) {
		l = &w->lv[i];
		if (ldap_dn2str(&w->dn[i], &l->dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
		    l->dn == NULL ||
		    EVP_Digest(l->dn, strlen(l->dn), l->key, NULL, EVP_sha256(), NULL) != 1)
			return nomem(ctx);
		if (siths_cache_get(orgs, l->key, now, &copy) == 0)
			l->known = copy;
		if (l->known != NULL && l->known->from_directory) {
			w->levels = i;
			break;
		}
	}
	return 0;
}

/*
 * The last level of the batch that starts at from: the first level named
 * by an org_name RDN (where HSA puts organisations), else the top. Which
 * levels go together changes only the number of searches and round trips,
 * never the answer: the nearest organisation is looked for below first.
 */
static int
batch_end(const siths_ctx *ctx, const struct walk *w, int from)
{
	const char *o = ctx->cfg->attrs.org_name;
	LDAPRDN rdn;
	int i, k;

	for (i = from; i < w->levels; i++) {
		rdn = w->dn[i];
		for (k = 0; rdn[k] != NULL; k++) {
			if (rdn[k]->la_attr.bv_len == strlen(o) &&
			    strncasecmp(rdn[k]->la_attr.bv_val, o, rdn[k]->la_attr.bv_len) == 0)
				return i;
		}
	}
	return w->levels;
}

/* Ask for every level in [from, to] the cache did not know; nothing is read yet. */
static int
walk_send(const siths_ctx *ctx, const struct siths_hsa_plan *plan, struct siths_ldap *conn,
    struct walk *w, int from, int to)
{
	int i, rc;

	for (i = from; i <= to; i++) {
		if (w->lv[i].known != NULL)
			continue;
		rc = siths_ldap_search_send(conn, w->lv[i].dn, LDAP_SCOPE_BASE, plan->org_filter,
		    plan->org_attrs, 1, &w->lv[i].msgid);
		w->lv[i].asked = rc == LDAP_SUCCESS;
		if (rc != LDAP_SUCCESS)
			return siths_ldap_fail(ctx, conn, rc, 0, "organisation search");
	}
	return 0;
}

/*
 * What the answer for one level says: an organisation (mapped) or not one.
 * A gap in the tree or an entry hidden from us is not one.
 */
static int
level_answer(const siths_ctx *ctx, struct siths_ldap *conn, struct level *l, int rc)
{
	struct siths_hsa_entry ent;
	LDAPMessage *e = NULL;
	int r;

	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT && rc != LDAP_INSUFFICIENT_ACCESS)
		return siths_ldap_fail(ctx, conn, rc, 0, "organisation search");
	if ((l->known = siths_identity_new()) == NULL)
		return nomem(ctx);
	if (rc == LDAP_SUCCESS)
		e = ldap_first_entry(siths_ldap_handle(conn), l->res);
	if (e == NULL)
		return 0;
	l->known->from_directory = 1;
	if ((r = siths_hsa_entry_open(ctx, siths_ldap_handle(conn), e, &ent)) == 0)
		r = siths_hsa_map_org(ctx, &ent, l->known);
	siths_hsa_entry_clear(&ent);
	return r;
}

/* Collect every answer in [from, to] (none may stay on the connection), then read them. */
static int
walk_wait(const siths_ctx *ctx, struct siths_ldap *conn, struct walk *w, int from, int to)
{
	int i, r = 0, rc[HSA_ORG_DEPTH_MAX + 1] = { 0 };

	for (i = from; i <= to; i++) {
		if (!w->lv[i].asked)
			continue;
		rc[i] = siths_ldap_search_wait(conn, w->lv[i].msgid, &w->lv[i].res);
		if (siths_ldap_broken(conn))
			return siths_ldap_fail(ctx, conn, rc[i], 0, "organisation search");
	}
	for (i = from; i <= to && r == 0; i++) {
		if (w->lv[i].asked)
			r = level_answer(ctx, conn, &w->lv[i], rc[i]);
	}
	return r;
}

/* The nearest level that is an organisation, or levels + 1. */
static int
walk_nearest(const struct walk *w)
{
	int i;

	for (i = 1; i <= w->levels; i++) {
		if (w->lv[i].known != NULL && w->lv[i].known->from_directory)
			break;
	}
	return i;
}

/* Batch after batch, until the nearest organisation or the top is known. */
static int
walk_ask(const siths_ctx *ctx, const struct siths_hsa_plan *plan, struct siths_ldap *conn,
    struct walk *w)
{
	int from, to, r;

	for (from = 1; from <= w->levels && walk_nearest(w) >= from; from = to + 1) {
		to = batch_end(ctx, w, from);
		if ((r = walk_send(ctx, plan, conn, w, from, to)) != 0 ||
		    (r = walk_wait(ctx, conn, w, from, to)) != 0)
			return r;
	}
	return 0;
}

/* Keep what the directory said of each level for [hsa] cache_ttl. */
static void
walk_remember(const struct siths_hsa_plan *plan, struct siths_cache *orgs, struct walk *w,
    time_t now)
{
	struct siths_identity *copy;
	int i;

	for (i = 1; i <= w->levels && plan->ttl > 0; i++) {
		if (!w->lv[i].asked || w->lv[i].known == NULL ||
		    (copy = siths_identity_dup(w->lv[i].known)) == NULL)
			continue;
		/* out of memory: the level is just not kept */
		(void)siths_cache_put(orgs, w->lv[i].key, copy, now + plan->ttl);
	}
}

static int
copy_org(struct siths_identity *id, const struct siths_identity *org)
{
	if (siths_identity_set(&id->org_hsa_id, org->org_hsa_id) != 0 ||
	    siths_identity_set(&id->org_name, org->org_name) != 0 ||
	    siths_identity_set(&id->org_number, org->org_number) != 0 ||
	    siths_identity_set(&id->municipality_code, org->municipality_code) != 0 ||
	    siths_identity_set(&id->municipality_name, org->municipality_name) != 0 ||
	    siths_identity_set(&id->county_code, org->county_code) != 0 ||
	    siths_identity_set(&id->county_name, org->county_name) != 0)
		return SITHS_ERR_NOMEM;
	return 0;
}

/* The nearest organisation into id, and the units below it. */
static int
walk_apply(const siths_ctx *ctx, struct walk *w, struct siths_identity *id)
{
	int i = walk_nearest(w);

	if (i > w->levels)
		siths_debug(ctx, "HSA: no %s above %s", ctx->cfg->attrs.org_class, id->dn);
	else if (copy_org(id, w->lv[i].known) != 0)
		return nomem(ctx);
	return siths_hsa_map_units(ctx, w->dn, 1, i, id);
}

int
siths_hsa_find_org(const siths_ctx *ctx, const struct siths_hsa_plan *plan,
    struct siths_cache *orgs, struct siths_ldap *conn, struct siths_identity *id)
{
	struct walk w;
	time_t now = time(NULL);
	int r;

	memset(&w, 0, sizeof(w));
	if ((r = walk_levels(ctx, plan, &w, id->dn)) == 0 &&
	    (r = walk_recall(ctx, orgs, &w, now)) == 0 &&
	    (r = walk_ask(ctx, plan, conn, &w)) == 0) {
		walk_remember(plan, orgs, &w, now);
		r = walk_apply(ctx, &w, id);
	}
	walk_free(&w);
	return r;
}
