/*
 * test_card_pad.c - a PIN-pad reader through the library's API, in one
 * long-lived process, with the mock PKCS#11 module as the pad:
 *  - a person slower than [card] pinpad_timeout_ms gives CARD_TIMEOUT, and
 *    unlike a hung module the module stays in use: the next card login in
 *    the same process works;
 *  - siths_ctx_cancel_wait() ends a wait that polls the module's slots
 *    (no pcscd), not only one that waits on PC/SC.
 *
 * Run by card-faults.test inside the environment. Environment:
 *   SITHS_TEST_CONF_MOCK_PAD  siths.conf naming the mock, pinpad_timeout_ms = 1000
 *   SOFTHSM2_CONF             Anna's token
 *   MOCK_PKCS11_PAD_PIN       Anna's PIN
 *   MOCK_PKCS11_FAULT         pinpad-slow
 *   MOCK_PKCS11_PAD_DELAY_MS  the first pad login's slowness, above the deadline
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cardtest.h"
#include "siths.h"

/* The slow pad: a timeout for this try, and the module still in use. */
static void
test_slow_pad_is_no_hung_module(void **state)
{
	siths_ctx *ctx = cardtest_ctx("SITHS_TEST_CONF_MOCK_PAD");
	siths_card *card = NULL;
	siths_identity *id = NULL;
	siths_pin_state pin = 0;
	struct timespec start;

	assert_int_equal(siths_card_wait(ctx, NULL, 0, &card), SITHS_OK);
	assert_int_equal(siths_card_pin_state(card, &pin), SITHS_OK);
	assert_true(pin & SITHS_PIN_PAD);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(siths_card_login(card, NULL, NULL), SITHS_ERR_CARD_TIMEOUT);
	assert_true(cardtest_seconds_since(&start) < 4.0);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "pinpad_timeout_ms"));
	/* this card's session went to the pad's worker */
	assert_int_equal(siths_card_authenticate(card, &id), SITHS_ERR_CARD_NOT_LOGGED_IN);
	siths_card_free(&card);
	/* the person finishes typing late; the worker logs out and closes */
	sleep(3);
	assert_int_equal(siths_card_wait(ctx, NULL, 0, &card), SITHS_OK);
	assert_int_equal(siths_card_pin_state(card, &pin), SITHS_OK);
	/* not logged in by the late PIN: signing asks for a login first */
	assert_int_equal(siths_card_authenticate(card, &id), SITHS_ERR_CARD_NOT_LOGGED_IN);
	/* and a whole login on the pad works: the module was not given up on */
	assert_int_equal(siths_card_login(card, NULL, NULL), SITHS_OK);
	assert_int_equal(siths_card_authenticate(card, &id), SITHS_OK);
	assert_string_equal(siths_identity_hsa_id(id), getenv("SITHS_TEST_HSA_ANNA"));
	siths_identity_free(&id);
	siths_card_free(&card);
	siths_ctx_free(&ctx);
}

static void *
cancel_soon(void *arg)
{
	struct timespec pause = { 0, 500 * 1000000L };

	nanosleep(&pause, NULL);
	siths_ctx_cancel_wait(arg);
	return NULL;
}

/*
 * No pcscd here: a wait for a card polls the module's slots. Cancelling
 * from another thread ends that wait too, long before its deadline.
 */
static void
test_cancel_ends_a_polling_wait(void **state)
{
	siths_ctx *ctx = cardtest_ctx("SITHS_TEST_CONF_MOCK_PAD");
	siths_card *card = NULL;
	struct timespec start;
	pthread_t tid;

	assert_int_equal(pthread_create(&tid, NULL, cancel_soon, ctx), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(siths_card_wait(ctx, "no such reader", 20000, &card),
	    SITHS_ERR_CARD_CANCELLED);
	assert_true(cardtest_seconds_since(&start) < 5.0);
	assert_null(card);
	pthread_join(tid, NULL);
	siths_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_pad_is_no_hung_module),
		cmocka_unit_test(test_cancel_ends_a_polling_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
