/*
 * test_hsa_live.c - the directory layer in one long-lived process, as a
 * web server or siths-authd would use it: 16 threads on one context, the
 * provider killed mid-run, and every server down with and without a cached
 * entry (served stale within [hsa] stale_max, refused beyond).
 *
 * Run by hsa-live.test inside the environment. Environment:
 *   SITHS_TEST_STATE       the environment's directory
 *   SITHS_TEST_CONF_BOTH   siths.conf listing provider then consumer
 *   SITHS_TEST_CONF_SHORT  the same with stale_max = 1
 *   SITHS_TEST_LDAP_CTL    the sithsenv script: run as
 *                          "sithsenv stop-ldap|start-ldap STATE provider|consumer"
 *   SITHS_TEST_HSA_*       HSA-ids from env.sh
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "siths.h"

#define THREADS 16
#define LOOKUPS_PER_THREAD 200

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL)
		fail_msg("%s is not set", name);
	return v;
}

/* stop-ldap / start-ldap through sithsenv. */
static void
ldap_ctl(const char *verb, const char *which)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "'%s' %s '%s' %s >/dev/null 2>&1", env("SITHS_TEST_LDAP_CTL"),
	    verb, env("SITHS_TEST_STATE"), which);
	if (system(cmd) != 0)
		fail_msg("'%s' failed", cmd);
}

static siths_ctx *
open_ctx(const char *conf_var)
{
	siths_ctx *ctx = NULL;
	int r = siths_ctx_new(&ctx, env(conf_var));

	if (r != 0)
		fail_msg("siths_ctx_new(%s): %s", env(conf_var), siths_status_name(r));
	return ctx;
}

struct worker {
	siths_ctx *ctx;
	int ok, wrong;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	const char *ids[] = { getenv("SITHS_TEST_HSA_ANNA"), getenv("SITHS_TEST_HSA_DAVID"),
		getenv("SITHS_TEST_HSA_ASA"), getenv("SITHS_TEST_HSA_FREDRIK_SODERAS") };
	siths_identity *id = NULL;
	int i, r;

	for (i = 0; i < LOOKUPS_PER_THREAD; i++) {
		const char *want = ids[i % 4];

		r = siths_hsa_resolve(w->ctx, want, &id);
		/* every answer must be the person asked for: no crossed wires */
		if (r == 0 && strcmp(siths_identity_hsa_id(id), want) == 0)
			w->ok++;
		else
			w->wrong++;
		siths_identity_free(&id);
		if (i % 50 == 0)
			siths_ctx_flush_caches(w->ctx);   /* keep the pool busy too */
	}
	return NULL;
}

static void
test_sixteen_threads(void **state)
{
	siths_ctx *ctx = open_ctx("SITHS_TEST_CONF_BOTH");
	struct worker w[THREADS];
	pthread_t t[THREADS];
	int i, ok = 0, wrong = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].ctx = ctx;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		wrong += w[i].wrong;
	}
	siths_ctx_free(&ctx);
	assert_int_equal(wrong, 0);
	assert_int_equal(ok, THREADS * LOOKUPS_PER_THREAD);
}

static void
expect_resolve(siths_ctx *ctx, const char *hsa_id, int status, int stale)
{
	siths_identity *id = NULL;
	int r = siths_hsa_resolve(ctx, hsa_id, &id);

	if (r != status)
		fail_msg("%s: expected %s, got %s (%s)", hsa_id, siths_status_name(status),
		    siths_status_name(r), siths_ctx_errmsg(ctx));
	if (r == 0 && siths_identity_stale(id) != stale)
		fail_msg("%s: stale = %d, expected %d", hsa_id, siths_identity_stale(id), stale);
	siths_identity_free(&id);
}

static void
test_provider_killed(void **state)
{
	siths_ctx *ctx = open_ctx("SITHS_TEST_CONF_BOTH");

	expect_resolve(ctx, env("SITHS_TEST_HSA_ANNA"), 0, 0);
	ldap_ctl("stop-ldap", "provider");
	siths_ctx_flush_caches(ctx);
	/* the pooled connection to the provider is dead: the consumer answers */
	expect_resolve(ctx, env("SITHS_TEST_HSA_ANNA"), 0, 0);
	expect_resolve(ctx, env("SITHS_TEST_HSA_DAVID"), 0, 0);
	ldap_ctl("start-ldap", "provider");
	siths_ctx_free(&ctx);
}

static void
test_all_down(void **state)
{
	siths_ctx *longer = open_ctx("SITHS_TEST_CONF_BOTH");
	siths_ctx *shorter = open_ctx("SITHS_TEST_CONF_SHORT");

	expect_resolve(longer, env("SITHS_TEST_HSA_ANNA"), 0, 0);
	expect_resolve(shorter, env("SITHS_TEST_HSA_ANNA"), 0, 0);
	ldap_ctl("stop-ldap", "provider");
	ldap_ctl("stop-ldap", "consumer");
	sleep(2);       /* older than the short context's stale_max = 1 */
	/* both contexts' fresh window is over (cache_ttl = 0): the directory is asked */
	expect_resolve(longer, env("SITHS_TEST_HSA_ANNA"), 0, 1);
	expect_resolve(shorter, env("SITHS_TEST_HSA_ANNA"), SITHS_ERR_HSA_UNREACHABLE, 0);
	/* forgotten (memory and disk, where an earlier test's context left him): nothing
	 * to serve */
	assert_int_equal(siths_cache_flush(longer, env("SITHS_TEST_HSA_DAVID")), 0);
	expect_resolve(longer, env("SITHS_TEST_HSA_DAVID"), SITHS_ERR_HSA_UNREACHABLE, 0);
	ldap_ctl("start-ldap", "provider");
	ldap_ctl("start-ldap", "consumer");
	/* back, once the servers' rest after failing is over: fresh, not stale */
	sleep(4);
	expect_resolve(longer, env("SITHS_TEST_HSA_ANNA"), 0, 0);
	siths_ctx_free(&longer);
	siths_ctx_free(&shorter);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sixteen_threads),
		cmocka_unit_test(test_provider_killed),
		cmocka_unit_test(test_all_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
