/*
 * hsa_bench.c - HSA lookups per second, three ways, in one run:
 *
 *  uncached - siths_hsa_resolve with the context's caches emptied before
 *             each call: pooled connection, person search, organisation
 *             walk, commissions search;
 *  cached   - siths_hsa_resolve answered from the cache;
 *  plain    - the same LDAP operations written directly against libldap on
 *             one persistent ldaps connection: the person search, a base
 *             search on each ancestor up to the organisation, the
 *             commissions search.
 *
 * Usage: hsa_bench CONFIG LDAPS_URI CA_FILE BASE HSA_ID ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldap.h>

#include "siths.h"

#include "clock.h"

static void
die(const char *what)
{
	fprintf(stderr, "hsa_bench: %s\n", what);
	exit(2);
}

static LDAP *
plain_connect(const char *uri, const char *ca)
{
	struct berval cred = { 0, NULL };
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	LDAP *ld = NULL;

	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS ||
	    ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) != LDAP_SUCCESS)
		die("plain: connect");
	return ld;
}

static int
has_class(LDAP *ld, LDAPMessage *e, const char *cls)
{
	struct berval **v = ldap_get_values_len(ld, e, "objectClass");
	int i, found = 0;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		found |= strcasecmp(v[i]->bv_val, cls) == 0;
	ldap_value_free_len(v);
	return found;
}

/* libldap takes attribute lists as char *[]; string literals are const. */
#define A(s) ((char[]){ s })

static void
plain_once(LDAP *ld, const char *base, const char *hsa_id)
{
	char *person_attrs[] = { A("hsaIdentity"), A("givenName"), A("sn"), A("fullName"),
		A("cn"), A("mail"), A("title"), A("hsaTitle"), A("paTitleCode"),
		A("hsaSystemRole"), A("startDate"), A("endDate"), NULL };
	char *org_attrs[] = { A("objectClass"), A("hsaIdentity"), A("o"), A("ou"), A("orgNo"),
		A("municipalityCode"), A("municipalityName"), A("countyCode"), A("countyName"),
		NULL };
	char *com_attrs[] = { A("hsaIdentity"), A("hsaCommissionPurpose"), A("hsaCommissionRight"), NULL };
	struct timeval tv = { 2, 0 };
	LDAPMessage *res = NULL, *e;
	char filter[256], *dn, *p;

	snprintf(filter, sizeof(filter), "(hsaIdentity=%s)", hsa_id);
	if (ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, person_attrs, 0, NULL, NULL,
	    &tv, 2, &res) != LDAP_SUCCESS || (e = ldap_first_entry(ld, res)) == NULL)
		die("plain: person");
	dn = ldap_get_dn(ld, e);
	ldap_msgfree(res);
	/* up the tree to the organisation */
	for (p = strchr(dn, ','); p != NULL && strcasecmp(p + 1, base) != 0; p = strchr(p + 1, ',')) {
		int org;

		if (ldap_search_ext_s(ld, p + 1, LDAP_SCOPE_BASE, "(objectClass=*)", org_attrs, 0,
		    NULL, NULL, &tv, 1, &res) != LDAP_SUCCESS)
			die("plain: ancestor");
		e = ldap_first_entry(ld, res);
		org = e != NULL && has_class(ld, e, "hsaOrganization");
		ldap_msgfree(res);
		if (org)
			break;
	}
	ldap_memfree(dn);
	snprintf(filter, sizeof(filter), "(&(objectClass=hsaCommission)(hsaCommissionMember=%s))",
	    hsa_id);
	if (ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, com_attrs, 0, NULL, NULL, &tv,
	    64, &res) != LDAP_SUCCESS)
		die("plain: commissions");
	ldap_msgfree(res);
}

int
main(int argc, char **argv)
{
	siths_identity *id = NULL;
	siths_ctx *ctx = NULL;
	double t0, plain, uncached, cached, t = 0;
	LDAP *ld;
	int i, n;

	if (argc != 7)
		die("usage: CONFIG LDAPS_URI CA_FILE BASE HSA_ID ITERATIONS");
	n = atoi(argv[6]);
	if (siths_ctx_new(&ctx, argv[1]) != 0)
		die("context");
	ld = plain_connect(argv[2], argv[3]);
	plain_once(ld, argv[4], argv[5]);       /* warm the server's own caches alike */
	t0 = bench_now_s();
	for (i = 0; i < n; i++)
		plain_once(ld, argv[4], argv[5]);
	plain = n / (bench_now_s() - t0);

	for (i = 0; i < n; i++) {
		siths_ctx_flush_caches(ctx);
		t0 = bench_now_s();
		if (siths_hsa_resolve(ctx, argv[5], &id) != 0)
			die(siths_ctx_errmsg(ctx));
		t += bench_now_s() - t0;
		siths_identity_free(&id);
	}
	uncached = n / t;

	t0 = bench_now_s();
	for (i = 0; i < n * 100; i++) {
		if (siths_hsa_resolve(ctx, argv[5], &id) != 0)
			die("cached lookup failed");
		siths_identity_free(&id);
	}
	cached = n * 100 / (bench_now_s() - t0);

	printf("plain_per_s %.1f\nuncached_per_s %.1f\ncached_per_s %.0f\n", plain, uncached,
	    cached);
	printf("uncached_time_vs_plain %.3f\ncached_vs_uncached %.0f\n", plain / uncached,
	    cached / uncached);
	ldap_unbind_ext_s(ld, NULL, NULL);
	siths_ctx_free(&ctx);
	return 0;
}
