/*
 * hsa_query.c - the searches of one lookup over one connection, and what
 * they ask for (the plan, built once per context).
 *
 * One search finds the person and their commissions together:
 *   (|(hsaIdentity=ID)(&(objectClass=hsaCommission)(hsaCommissionMember=ID)))
 * under [hsa] base, the entries told apart by objectClass. Then the
 * organisation (hsa_org.c), usually from its cache. So a lookup is one
 * round trip, or two when an organisation is not cached yet.
 *
 * Every search has a size limit and the lookup's deadline (the server gets
 * it as its time limit too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldap.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "identity.h"
#include "ldapconn.h"
#include "log.h"

/* Used when [hsa] base is not set. */
#define QUERY_DEFAULT_BASE "c=SE"
/* Commissions read for one person; more is refused, not cut. */
#define QUERY_COMMISSIONS_MAX 64
/* Two people with one HSA-id are enough to refuse it. */
#define QUERY_PERSONS_MAX 2
#define QUERY_ENTRIES_MAX (QUERY_PERSONS_MAX + QUERY_COMMISSIONS_MAX)

/* What the first search found. */
struct found {
	LDAPMessage *person[QUERY_PERSONS_MAX];
	size_t n_persons;
	size_t n_commissions;
};

static int
nomem(const siths_ctx *ctx)
{
	return siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
}

/* The strings in v up to NULL, in one new string; NULL when out of memory. */
static char *
concat(const char *const *v)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; v[i] != NULL; i++)
		len += strlen(v[i]);
	if ((s = malloc(len)) == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; v[i] != NULL; i++)
		strcat(s, v[i]);
	return s;
}

/* A NULL-terminated list of the names in v that are set. */
static const char **
name_list(const char *const *v, size_t n)
{
	const char **list;
	size_t i, k = 0;

	if ((list = calloc(n + 1, sizeof(*list))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (v[i] != NULL)
			list[k++] = v[i];
	}
	return list;
}

/* The number of RDNs in dn, or -1 when it is not a DN. */
static int
dn_depth(const char *dn)
{
	LDAPDN parsed = NULL;
	int n = 0;

	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return -1;
	while (parsed != NULL && parsed[n] != NULL)
		n++;
	ldap_dnfree(parsed);
	return n;
}

int
siths_hsa_plan_init(const siths_ctx *ctx, struct siths_hsa_plan *plan)
{
	const struct siths_config *cfg = ctx->cfg;
	const struct siths_hsa_attrs *a = &cfg->attrs;
	/*
	 * personalIdentityNumber is personal data: asked for only when
	 * configured. The login name attribute only when user_map = attr:
	 * says so (NULL otherwise).
	 */
	const char *first[] = {
		"objectClass", a->hsa_id, a->given_name, a->surname, a->full_name,
		a->common_name, a->mail, a->title, a->hsa_title, a->pa_title_code,
		a->system_role, a->start_date, a->end_date, a->commission_purpose,
		a->commission_right, cfg->hsa_read_personal_number ? a->personal_number : NULL,
		cfg->user_map_attr
	};
	const char *org[] = {
		a->hsa_id, a->org_name, a->org_number, a->municipality_code,
		a->municipality_name, a->county_code, a->county_name
	};
	/* The names passed config.c's check: letters, digits and '-', or an OID. */
	const char *prefix[] = { "(|(", a->hsa_id, "=", NULL };
	const char *middle[] = {
		")(&(objectClass=", a->commission_class, ")(", a->commission_member, "=", NULL
	};
	const char *org_filter[] = { "(objectClass=", a->org_class, ")", NULL };

	memset(plan, 0, sizeof(*plan));
	plan->base = cfg->hsa_base != NULL && *cfg->hsa_base != '\0' ? cfg->hsa_base :
	    QUERY_DEFAULT_BASE;
	plan->ttl = cfg->hsa_cache_ttl;
	if ((plan->base_depth = dn_depth(plan->base)) < 0)
		return siths_fail(ctx, SITHS_ERR_CONFIG_VALUE, "%s: [hsa] base %s is not a DN",
		    cfg->path != NULL ? cfg->path : "siths.conf", plan->base);
	if ((plan->first_attrs = name_list(first, sizeof(first) / sizeof(first[0]))) == NULL ||
	    (plan->org_attrs = name_list(org, sizeof(org) / sizeof(org[0]))) == NULL ||
	    (plan->first_prefix = concat(prefix)) == NULL ||
	    (plan->first_middle = concat(middle)) == NULL ||
	    (plan->org_filter = concat(org_filter)) == NULL) {
		siths_hsa_plan_free(plan);
		return nomem(ctx);
	}
	return 0;
}

void
siths_hsa_plan_free(struct siths_hsa_plan *plan)
{
	free(plan->first_attrs);
	free(plan->org_attrs);
	free(plan->first_prefix);
	free(plan->first_middle);
	free(plan->org_filter);
	memset(plan, 0, sizeof(*plan));
}

/* Is the entry a commission (else a person candidate)? */
static int
is_commission(const siths_ctx *ctx, LDAP *ld, LDAPMessage *e, int *yes)
{
	struct siths_hsa_entry ent;
	int r;

	*yes = 0;
	if ((r = siths_hsa_entry_open(ctx, ld, e, &ent)) == 0)
		r = siths_hsa_entry_has_class(ctx, &ent, ctx->cfg->attrs.commission_class, yes);
	siths_hsa_entry_clear(&ent);
	return r;
}

/* Sort the entries into people (the first two kept) and commissions. */
static int
sort_entries(const siths_ctx *ctx, LDAP *ld, LDAPMessage *res, struct found *f)
{
	LDAPMessage *e;
	int r, yes;

	memset(f, 0, sizeof(*f));
	for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
		if ((r = is_commission(ctx, ld, e, &yes)) != 0)
			return r;
		if (yes)
			f->n_commissions++;
		else if (f->n_persons++ < QUERY_PERSONS_MAX)
			f->person[f->n_persons - 1] = e;
	}
	return 0;
}

static int
ambiguous(const siths_ctx *ctx, struct siths_ldap *conn, const struct found *f,
    const char *hsa_id)
{
	LDAP *ld = siths_ldap_handle(conn);
	char *dn1 = ldap_get_dn(ld, f->person[0]), *dn2 = ldap_get_dn(ld, f->person[1]);
	int r;

	r = siths_fail(ctx, SITHS_ERR_HSA_AMBIGUOUS,
	    "HSA-id %s matches more than one entry on %s: %.200s and %.200s", hsa_id,
	    siths_ldap_uri(conn), dn1 != NULL ? dn1 : "?", dn2 != NULL ? dn2 : "?");
	ldap_memfree(dn1);
	ldap_memfree(dn2);
	return r;
}

/*
 * Exactly one person, or why not. Past the size limit the server chose
 * which entries to send: unless two people are among them, the person may
 * not be, so that is "too many commissions", never "not found".
 */
static int
one_person(const siths_ctx *ctx, const struct siths_hsa_plan *plan, struct siths_ldap *conn,
    const struct found *f, int rc, const char *hsa_id)
{
	if (f->n_persons >= QUERY_PERSONS_MAX)
		return ambiguous(ctx, conn, f, hsa_id);
	if (rc == LDAP_SIZELIMIT_EXCEEDED)
		return siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA: more than %d commissions name %s as a member", QUERY_COMMISSIONS_MAX,
		    hsa_id);
	if (f->n_persons == 0)
		return siths_fail(ctx, SITHS_ERR_HSA_NOT_FOUND,
		    "HSA-id %s not found under %s on %s", hsa_id, plan->base,
		    siths_ldap_uri(conn));
	return 0;
}

/* The person's entry and every commission entry into id. */
static int
map_found(const siths_ctx *ctx, LDAP *ld, LDAPMessage *res, const struct found *f,
    const char *hsa_id, struct siths_identity *id)
{
	struct siths_hsa_entry ent;
	LDAPMessage *e;
	int r, yes = 0;

	if ((r = siths_hsa_entry_open(ctx, ld, f->person[0], &ent)) == 0)
		r = siths_hsa_map_person(ctx, &ent, hsa_id, id);
	siths_hsa_entry_clear(&ent);
	for (e = ldap_first_entry(ld, res); e != NULL && r == 0; e = ldap_next_entry(ld, e)) {
		if ((r = siths_hsa_entry_open(ctx, ld, e, &ent)) == 0 &&
		    (r = siths_hsa_entry_has_class(ctx, &ent, ctx->cfg->attrs.commission_class,
		    &yes)) == 0 && yes)
			r = siths_hsa_map_commission(ctx, &ent, id);
		siths_hsa_entry_clear(&ent);
	}
	return r;
}

/* The first round trip: the person and their commissions. */
static int
find_person(const siths_ctx *ctx, const struct siths_hsa_plan *plan,
    struct siths_ldap *conn, const char *hsa_id, const char *esc,
    struct siths_identity *id)
{
	const char *parts[] = { plan->first_prefix, esc, plan->first_middle, esc, ")))", NULL };
	int r = SITHS_ERR_INTERNAL, rc;
	char *filter = NULL;
	LDAPMessage *res = NULL;
	struct found f;

	if ((filter = concat(parts)) == NULL) {
		r = nomem(ctx);
		goto out;
	}
	rc = siths_ldap_search(conn, plan->base, LDAP_SCOPE_SUBTREE, filter, plan->first_attrs,
	    QUERY_ENTRIES_MAX, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		r = siths_ldap_fail(ctx, conn, rc, 0, "search");
		goto out;
	}
	if ((r = sort_entries(ctx, siths_ldap_handle(conn), res, &f)) != 0 ||
	    (r = one_person(ctx, plan, conn, &f, rc, hsa_id)) != 0)
		goto out;
	r = map_found(ctx, siths_ldap_handle(conn), res, &f, hsa_id, id);
out:
	ldap_msgfree(res);
	free(filter);
	return r;
}

int
siths_hsa_query(const siths_ctx *ctx, const struct siths_hsa_plan *plan,
    struct siths_cache *orgs, struct siths_ldap *conn, const char *hsa_id,
    struct siths_identity **out)
{
	int r = SITHS_ERR_INTERNAL;
	char *esc = NULL;
	struct siths_identity *id = NULL;

	*out = NULL;
	if ((r = siths_ldap_escape(hsa_id, strlen(hsa_id), &esc)) != 0) {
		r = siths_fail(ctx, r, "HSA: cannot escape the HSA-id");
		goto out;
	}
	if ((id = siths_identity_new()) == NULL) {
		r = nomem(ctx);
		goto out;
	}
	if ((r = find_person(ctx, plan, conn, hsa_id, esc, id)) != 0 ||
	    (r = siths_hsa_find_org(ctx, plan, orgs, conn, id)) != 0)
		goto out;
	id->from_directory = 1;
	id->fetched = time(NULL);
	*out = id;
	id = NULL; /* transferred */
	/* success */
	r = 0;
out:
	siths_identity_free(&id);
	free(esc);
	return r;
}
