/*
 * test_status.c - every status has a stable name and a sentence, and
 * unknown numbers still get text, never NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "siths.h"

static const int all_statuses[] = {
	SITHS_OK, SITHS_ERR_INTERNAL, SITHS_ERR_NOMEM, SITHS_ERR_INVALID_ARGUMENT,
	SITHS_ERR_CONFIG_OPEN, SITHS_ERR_CONFIG_UNSAFE, SITHS_ERR_CONFIG_SYNTAX,
	SITHS_ERR_CONFIG_KEY, SITHS_ERR_CONFIG_VALUE, SITHS_ERR_CONFIG_MISSING,
	SITHS_ERR_TRUST_LOAD, SITHS_ERR_CARD_MODULE, SITHS_ERR_CARD_ABSENT,
	SITHS_ERR_CARD_NO_CERT, SITHS_ERR_CARD_IO, SITHS_ERR_CARD_REMOVED, SITHS_ERR_CARD_TIMEOUT,
	SITHS_ERR_CARD_SIGN, SITHS_ERR_PROOF_FAILED, SITHS_ERR_CARD_NOT_LOGGED_IN,
	SITHS_ERR_CARD_CANCELLED,
	SITHS_ERR_PIN_EMPTY, SITHS_ERR_PIN_TOO_SHORT, SITHS_ERR_PIN_TOO_LONG, SITHS_ERR_PIN_FORMAT,
	SITHS_ERR_PIN_INCORRECT, SITHS_ERR_PIN_LOCKED, SITHS_ERR_PIN_MUST_CHANGE,
	SITHS_ERR_PIN_UNCHANGED, SITHS_ERR_PIN_MISMATCH, SITHS_ERR_PUK_INCORRECT,
	SITHS_ERR_PUK_LOCKED, SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED,
	SITHS_ERR_CERT_PARSE, SITHS_ERR_CERT_UNTRUSTED, SITHS_ERR_CERT_EXPIRED,
	SITHS_ERR_CERT_NOT_YET_VALID, SITHS_ERR_CERT_SIGNATURE_ONLY, SITHS_ERR_CERT_KEY_USAGE,
	SITHS_ERR_CERT_EKU, SITHS_ERR_CERT_NO_HSA_ID, SITHS_ERR_CERT_HSA_ID_INVALID,
	SITHS_ERR_CERT_POLICY, SITHS_ERR_CERT_LOA_TOO_LOW, SITHS_ERR_CERT_WEAK_KEY,
	SITHS_ERR_CERT_CHAIN, SITHS_ERR_REVOCATION_UNAVAILABLE, SITHS_ERR_CERT_REVOKED,
	SITHS_ERR_REVOCATION_UNKNOWN, SITHS_ERR_OCSP_INVALID, SITHS_ERR_OCSP_NONCE,
	SITHS_ERR_CRL_INVALID, SITHS_ERR_REVOCATION_STALE, SITHS_ERR_HSA_UNREACHABLE,
	SITHS_ERR_HSA_NOT_FOUND,
	SITHS_ERR_HSA_AMBIGUOUS, SITHS_ERR_HSA_INACTIVE, SITHS_ERR_HSA_PROTOCOL, SITHS_ERR_HSA_BIND,
	SITHS_ERR_HSA_TIMEOUT, SITHS_ERR_HSA_ID_INVALID, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
	SITHS_ERR_POLICY_NO_MAPPING, SITHS_ERR_POLICY_USER_MISMATCH, SITHS_ERR_POLICY_ROOT_DENIED,
	SITHS_ERR_POLICY_MAP_FILE, SITHS_ERR_POLICY_UNKNOWN_USER,
};
#define N_STATUSES (sizeof(all_statuses) / sizeof(all_statuses[0]))

static void
test_every_status_named(void **state)
{
	size_t i, j;

	for (i = 0; i < N_STATUSES; i++) {
		const char *name = siths_status_name(all_statuses[i]);

		assert_non_null(name);
		assert_true(strncmp(name, "SITHS_", 6) == 0);
		assert_string_not_equal(name, "SITHS_ERR_UNKNOWN");
		assert_string_not_equal(siths_strerror(all_statuses[i]), "unknown status");
		for (j = 0; j < i; j++)
			assert_string_not_equal(name, siths_status_name(all_statuses[j]));
	}
}

/* The numbers are a contract: a few pinned so a renumbering fails here. */
static void
test_numbers_stable(void **state)
{
	assert_int_equal(SITHS_ERR_CONFIG_OPEN, -10);
	assert_int_equal(SITHS_ERR_CARD_ABSENT, -21);
	assert_int_equal(SITHS_ERR_PIN_INCORRECT, -34);
	assert_int_equal(SITHS_ERR_CERT_UNTRUSTED, -41);
	assert_int_equal(SITHS_ERR_CERT_SIGNATURE_ONLY, -44);
	assert_int_equal(SITHS_ERR_CERT_REVOKED, -61);
	assert_int_equal(SITHS_ERR_HSA_NOT_FOUND, -71);
	assert_int_equal(SITHS_ERR_POLICY_NO_MAPPING, -90);
	assert_string_equal(siths_status_name(SITHS_ERR_CERT_REVOKED), "SITHS_ERR_CERT_REVOKED");
	assert_string_equal(siths_status_name(SITHS_OK), "SITHS_OK");
}

static void
test_unknown_status(void **state)
{
	assert_string_equal(siths_strerror(-9999), "unknown status");
	assert_string_equal(siths_strerror(42), "unknown status");
	assert_string_equal(siths_status_name(-9999), "SITHS_ERR_UNKNOWN");
}

/* Swedish and English sentences: every status has both, and they differ. */
static void
test_swedish_sentences(void **state)
{
	size_t i;

	for (i = 0; i < N_STATUSES; i++) {
		const char *sv = siths_strerror_lang(all_statuses[i], "sv");

		assert_non_null(sv);
		assert_string_not_equal(sv, "okänd status");
		assert_string_not_equal(sv, siths_strerror(all_statuses[i]));
		assert_string_equal(siths_strerror_lang(all_statuses[i], "en"),
		    siths_strerror(all_statuses[i]));
		assert_string_equal(siths_strerror_lang(all_statuses[i], NULL),
		    siths_strerror(all_statuses[i]));
	}
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, "sv"), "fel PIN-kod");
	/* a locale or language tag as it comes */
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, "sv_SE.UTF-8"),
	    "fel PIN-kod");
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, "sv-FI"), "fel PIN-kod");
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, "svx"), "wrong PIN");
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, "en_GB"), "wrong PIN");
	assert_string_equal(siths_strerror_lang(-9999, "sv"), "okänd status");
}

/*
 * "No answer could be had" against "the answer is no": a fallback (PAM's
 * authinfo_unavail) must never be offered for a refusal.
 */
static void
test_unavailable_or_refused(void **state)
{
	static const int unavailable[] = {
		SITHS_ERR_INTERNAL, SITHS_ERR_CONFIG_OPEN, SITHS_ERR_TRUST_LOAD,
		SITHS_ERR_CARD_MODULE, SITHS_ERR_CARD_ABSENT, SITHS_ERR_CARD_IO,
		SITHS_ERR_CARD_REMOVED, SITHS_ERR_CARD_TIMEOUT, SITHS_ERR_CARD_SIGN,
		SITHS_ERR_REVOCATION_UNAVAILABLE, SITHS_ERR_HSA_UNREACHABLE, SITHS_ERR_HSA_BIND,
		SITHS_ERR_HSA_TIMEOUT, SITHS_ERR_HSA_PROTOCOL, SITHS_ERR_POLICY_MAP_FILE, -9999,
	};
	static const int refused[] = {
		SITHS_OK, SITHS_ERR_PROOF_FAILED, SITHS_ERR_PIN_INCORRECT, SITHS_ERR_PIN_LOCKED,
		SITHS_ERR_CERT_UNTRUSTED, SITHS_ERR_CERT_REVOKED, SITHS_ERR_CERT_EXPIRED,
		SITHS_ERR_CERT_SIGNATURE_ONLY, SITHS_ERR_OCSP_INVALID, SITHS_ERR_OCSP_NONCE,
		SITHS_ERR_REVOCATION_STALE, SITHS_ERR_HSA_NOT_FOUND, SITHS_ERR_HSA_INACTIVE,
		SITHS_ERR_POLICY_USER_MISMATCH, SITHS_ERR_POLICY_ROOT_DENIED,
	};
	size_t i;

	for (i = 0; i < sizeof(unavailable) / sizeof(unavailable[0]); i++)
		assert_int_equal(siths_status_unavailable(unavailable[i]), 1);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(siths_status_unavailable(refused[i]), 0);
}

static void
test_errmsg_without_context(void **state)
{
	assert_non_null(siths_ctx_errmsg(NULL));
	assert_string_equal(siths_ctx_errmsg(NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_status_named),
		cmocka_unit_test(test_numbers_stable),
		cmocka_unit_test(test_unknown_status),
		cmocka_unit_test(test_swedish_sentences),
		cmocka_unit_test(test_unavailable_or_refused),
		cmocka_unit_test(test_errmsg_without_context),
	};

	/* the Swedish locale make check compiled (tests/Makefile.inc) */
	if (getenv("SITHS_TEST_LOCPATH") != NULL)
		setenv("LOCPATH", getenv("SITHS_TEST_LOCPATH"), 1);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
