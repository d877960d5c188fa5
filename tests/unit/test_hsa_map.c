/*
 * test_hsa_map.c - the parts of an HSA lookup that need no directory: the
 * dates that decide whether a person is employed (judged at the time of
 * use), the unit path read from a DN, what may be asked for at all, and
 * that a server that refuses connections is passed over for a while
 * instead of being tried by every lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <ldap.h>

#include "config.h"
#include "ctx.h"
#include "hsa.h"
#include "identity.h"
#include "ldapconn.h"
#include "siths.h"

/* 2024-02-29 12:00:00 UTC */
#define NOON ((time_t)1709208000)

/* A context with cfg parsed from [hsa] lines (and the HSA layer set up). */
static siths_ctx *
ctx_with(const char *hsa_lines)
{
	char text[1024], err[512];
	siths_ctx *ctx = NULL;

	snprintf(text, sizeof(text), "[trust]\nanchors = /etc/siths/roots.pem\n[hsa]\n%s",
	    hsa_lines);
	assert_int_equal(siths_ctx_create(&ctx), 0);
	if (siths_config_parse_string(&ctx->cfg, text, "/etc/siths/siths.conf", err,
	    sizeof(err)) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(siths_hsa_init(ctx), 0);
	return ctx;
}

static void
expect_time(const char *s, time_t want)
{
	time_t t = 0;

	if (siths_hsa_parse_time(s, &t) != 0)
		fail_msg("%s refused", s);
	assert_int_equal(t, want);
}

static void
test_parse_time(void **state)
{
	time_t t;

	(void)state;
	expect_time("20240229120000Z", NOON);
	expect_time("20240229120000.5Z", NOON);
	expect_time("20240229120000,123Z", NOON);
	/* an hour east of UTC is an hour earlier in UTC */
	expect_time("20240229130000+0100", NOON);
	expect_time("20240229110000-0100", NOON);
	assert_int_equal(siths_hsa_parse_time("20240229120000", &t), -1);      /* no zone */
	assert_int_equal(siths_hsa_parse_time("202402291200Z", &t), -1);       /* no seconds */
	assert_int_equal(siths_hsa_parse_time("20230229120000Z", &t), -1);     /* not a leap year */
	assert_int_equal(siths_hsa_parse_time("20240431120000Z", &t), -1);     /* 31 April */
	assert_int_equal(siths_hsa_parse_time("20241301120000Z", &t), -1);
	assert_int_equal(siths_hsa_parse_time("20240229240000Z", &t), -1);
	assert_int_equal(siths_hsa_parse_time("20240229120000.Z", &t), -1);
	assert_int_equal(siths_hsa_parse_time("20240229120000+01", &t), -1);
	assert_int_equal(siths_hsa_parse_time("2024022912000xZ", &t), -1);
	assert_int_equal(siths_hsa_parse_time("", &t), -1);
}

static void
test_active(void **state)
{
	siths_ctx *ctx = ctx_with("");
	struct siths_identity *id = siths_identity_new();

	(void)state;
	assert_non_null(id);
	assert_int_equal(siths_hsa_check_active(ctx, id, NOON), 0);     /* no dates */
	assert_int_equal(siths_identity_set(&id->start_date, "20240229120000Z"), 0);
	assert_int_equal(siths_hsa_check_active(ctx, id, NOON), 0);     /* starts now */
	assert_int_equal(siths_hsa_check_active(ctx, id, NOON - 1), SITHS_ERR_HSA_INACTIVE);
	assert_int_equal(siths_identity_set(&id->end_date, "20240229130000Z"), 0);
	assert_int_equal(siths_hsa_check_active(ctx, id, NOON + 3599), 0);
	/* the end date itself is no longer a working day's start */
	assert_int_equal(siths_hsa_check_active(ctx, id, NOON + 3600), SITHS_ERR_HSA_INACTIVE);
	assert_int_equal(siths_identity_set(&id->end_date, "tomorrow"), 0);
	assert_int_equal(siths_hsa_check_active(ctx, id, NOON), SITHS_ERR_HSA_PROTOCOL);
	siths_identity_free(&id);
	siths_ctx_free(&ctx);
}

/* The unit path of dn at levels [from, to), joined with '/'. */
static void
expect_units(siths_ctx *ctx, const char *dn, int from, int to, int status, const char *want)
{
	struct siths_identity *id = siths_identity_new();
	LDAPDN parsed = NULL;
	char got[256] = "";
	size_t i;

	assert_non_null(id);
	assert_int_equal(ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3), LDAP_SUCCESS);
	assert_int_equal(siths_identity_set(&id->dn, dn), 0);
	assert_int_equal(siths_hsa_map_units(ctx, parsed, from, to, id), status);
	for (i = 0; status == 0 && i < id->n_units; i++) {
		if (i > 0)
			strcat(got, "/");
		strcat(got, id->units[i]);
	}
	if (status == 0)
		assert_string_equal(got, want);
	ldap_dnfree(parsed);
	siths_identity_free(&id);
}

static void
test_units(void **state)
{
	siths_ctx *ctx = ctx_with("");
	const char *dn = "cn=Åsa Ödegård,ou=Äldreomsorgen,ou=Omsorgsförvaltningen,"
	    "o=Söderås kommun,l=Östergötlands län,c=SE";

	(void)state;
	/* nearest first, stopping below the organisation (level 3) */
	expect_units(ctx, dn, 1, 3, 0, "Äldreomsorgen/Omsorgsförvaltningen");
	/* the organisation is the parent: no units */
	expect_units(ctx, "cn=A,o=Norrby kommun,c=SE", 1, 1, 0, "");
	/* only ou RDNs count; no organisation found: up to the top */
	expect_units(ctx, "cn=A,ou=X,l=Y,c=SE", 1, 4, 0, "X");
	/* escapes are undone; a multi-valued RDN gives its ou */
	expect_units(ctx, "cn=A,ou=Hem\\2Ctj\\C3\\A4nsten+l=Z,c=SE", 1, 3, 0, "Hem,tjänsten");
	/* a unit name that is not UTF-8 */
	expect_units(ctx, "cn=A,ou=\\FF,c=SE", 1, 3, SITHS_ERR_HSA_PROTOCOL, NULL);
	siths_ctx_free(&ctx);
}

static void
test_units_configured(void **state)
{
	siths_ctx *ctx = ctx_with("");

	(void)state;
	/* [hsa.attributes] unit_name, as a regional catalogue may name it */
	free(ctx->cfg->attrs.unit_name);
	ctx->cfg->attrs.unit_name = strdup("hsaUnit");
	assert_non_null(ctx->cfg->attrs.unit_name);
	expect_units(ctx, "cn=A,hsaUnit=B,ou=C,c=SE", 1, 3, 0, "B");
	siths_ctx_free(&ctx);
}

/* What may not be asked for fails before any server is tried. */
static void
test_bad_ids(void **state)
{
	siths_ctx *ctx = ctx_with("uri = ldaps://127.0.0.1:1\n");
	struct siths_identity *id = NULL;
	char big[100];

	(void)state;
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(siths_hsa_lookup(ctx, "SE2120001231-100*", &id), SITHS_ERR_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_lookup(ctx, "SE2120001231-1\\2a", &id),
	    SITHS_ERR_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_lookup(ctx, "", &id), SITHS_ERR_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_lookup(ctx, NULL, &id), SITHS_ERR_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_lookup(ctx, big, &id), SITHS_ERR_HSA_ID_INVALID);
	assert_null(id);
	siths_ctx_free(&ctx);
}

/*
 * Nothing listens on port 1: the first lookup is refused by both servers
 * and rests them; the next one fails at once without a connection try.
 */
static void
test_servers_rest(void **state)
{
	siths_ctx *ctx = ctx_with("uri = ldaps://127.0.0.1:1 ldap://127.0.0.1:1\n");
	struct siths_identity *id = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(siths_hsa_lookup(ctx, "SE2120001231-1001", &id),
	    SITHS_ERR_HSA_UNREACHABLE);
	msg = siths_ctx_errmsg(ctx);
	if (strstr(msg, "no HSA server answered (2 configured)") == NULL)
		fail_msg("message: %s", msg);
	assert_int_equal(siths_hsa_lookup(ctx, "SE2120001231-1001", &id),
	    SITHS_ERR_HSA_UNREACHABLE);
	msg = siths_ctx_errmsg(ctx);
	if (strstr(msg, "every server failed within the last") == NULL)
		fail_msg("message: %s", msg);
	assert_null(id);
	siths_ctx_free(&ctx);
}

/* No [hsa] uri: lookups say so. */
static void
test_no_uri(void **state)
{
	siths_ctx *ctx = ctx_with("");
	struct siths_identity *id = NULL;

	(void)state;
	assert_int_equal(siths_hsa_lookup(ctx, "SE2120001231-1001", &id),
	    SITHS_ERR_CONFIG_MISSING);
	siths_hsa_flush(ctx);
	siths_ctx_free(&ctx);
}

/* URIs the layer refuses when the context is loaded. */
static void
test_uri_check(void **state)
{
	siths_ctx *ctx = ctx_with("");

	(void)state;
	assert_int_equal(siths_ldap_uri_check(ctx, "ldaps://hsa.example"), 0);
	assert_int_equal(siths_ldap_uri_check(ctx, "ldap://hsa.example:389"), 0);
	assert_int_equal(siths_ldap_uri_check(ctx, "ldapi://%2Frun%2Fslapd"),
	    SITHS_ERR_CONFIG_VALUE);
	assert_int_equal(siths_ldap_uri_check(ctx, "ldaps://hsa.example/c=SE"),
	    SITHS_ERR_CONFIG_VALUE);
	assert_int_equal(siths_ldap_uri_check(ctx, "ldaps://a,ldaps://b"), SITHS_ERR_CONFIG_VALUE);
	assert_int_equal(siths_ldap_uri_check(ctx, "ldaps://"), SITHS_ERR_CONFIG_VALUE);
	assert_int_equal(siths_ldap_uri_check(ctx, "http://hsa.example"), SITHS_ERR_CONFIG_VALUE);
	siths_ctx_free(&ctx);
}

/* Is name in the plan's person-search attribute list? */
static int
asks_for(const struct siths_hsa_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; plan->first_attrs[i] != NULL; i++) {
		if (strcmp(plan->first_attrs[i], name) == 0)
			return 1;
	}
	return 0;
}

/* user_map = attr:NAME adds NAME to the person search, and only then. */
static void
test_plan_map_attr(void **state)
{
	siths_ctx *ctx = ctx_with("[pam]\nuser_map = attr:localLogin\n");
	struct siths_hsa_plan plan;

	(void)state;
	assert_int_equal(siths_hsa_plan_init(ctx, &plan), 0);
	assert_true(asks_for(&plan, "localLogin"));
	assert_true(asks_for(&plan, "hsaIdentity"));
	assert_false(asks_for(&plan, "personalIdentityNumber"));
	siths_hsa_plan_free(&plan);
	siths_ctx_free(&ctx);
	ctx = ctx_with("[pam]\nuser_map = file:/etc/siths/users.map\n");
	assert_int_equal(siths_hsa_plan_init(ctx, &plan), 0);
	assert_false(asks_for(&plan, "localLogin"));
	assert_true(asks_for(&plan, "hsaIdentity"));
	siths_hsa_plan_free(&plan);
	siths_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_active),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_units_configured),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_servers_rest),
		cmocka_unit_test(test_no_uri),
		cmocka_unit_test(test_uri_check),
		cmocka_unit_test(test_plan_map_attr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
