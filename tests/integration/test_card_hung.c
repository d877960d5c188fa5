/*
 * test_card_hung.c - what a long-lived process sees after a PKCS#11 module
 * hung: the login returns at the [card] timeout_ms deadline, and from then
 * on the module is never called again, on that context or a new one, until
 * the process restarts.
 *
 * Run by card-faults.test inside the environment, with the mock module
 * (tests/mock/mock-pkcs11.c) told to hang in C_Login. Environment:
 *   SITHS_TEST_CONF_MOCK  siths.conf naming the mock module, timeout_ms = 1000
 *   SOFTHSM2_CONF         Anna's token
 *   MOCK_PKCS11_FAULT     hang-login
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cardtest.h"
#include "siths.h"

static void
test_hung_module_is_not_used_again(void **state)
{
	siths_ctx *ctx = cardtest_ctx("SITHS_TEST_CONF_MOCK"), *ctx2 = NULL;
	siths_card *card = NULL, *card2 = NULL;
	siths_pin_state pin = 0;
	struct timespec start;

	assert_int_equal(siths_card_wait(ctx, NULL, 0, &card), SITHS_OK);
	/* no PIN and no PIN pad: refused before the module is asked (C_Login
	 * hangs here, so an answer at all shows it was not called) */
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(siths_card_login(card, NULL, NULL), SITHS_ERR_PIN_EMPTY);
	assert_true(cardtest_seconds_since(&start) < 0.9);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(siths_card_login(card, "123456", NULL), SITHS_ERR_CARD_TIMEOUT);
	/* 1 s deadline; generous for a loaded machine, far below "hangs" */
	assert_true(cardtest_seconds_since(&start) < 5.0);
	/* the same card, the same context, a new context: all refused at once */
	assert_int_equal(siths_card_pin_state(card, &pin), SITHS_ERR_CARD_MODULE);
	assert_int_equal(siths_card_login(card, "123456", NULL), SITHS_ERR_CARD_MODULE);
	siths_card_free(&card);
	assert_int_equal(siths_card_wait(ctx, NULL, 0, &card2), SITHS_ERR_CARD_MODULE);
	assert_null(card2);
	ctx2 = cardtest_ctx("SITHS_TEST_CONF_MOCK");
	assert_int_equal(siths_card_wait(ctx2, NULL, 0, &card2), SITHS_ERR_CARD_MODULE);
	assert_non_null(strstr(siths_ctx_errmsg(ctx2), "restart the process"));
	siths_ctx_free(&ctx2);
	siths_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hung_module_is_not_used_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
