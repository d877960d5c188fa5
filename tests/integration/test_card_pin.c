/*
 * test_card_pin.c - siths_card_change_pin() and siths_card_unblock_pin()
 * on a SoftHSM2 token through the library's API: what is refused before the
 * card (the new PIN against the rules, the repetition, a new PIN that is
 * the old one) leaves the PIN as it was; a change takes the new PIN; the
 * token's security officer PIN serves as the PUK, a wrong one refused.
 *
 * Run by pam-password.test inside the environment. Environment:
 *   SITHS_TEST_CONF   siths.conf (SoftHSM2 as the module)
 *   SOFTHSM2_CONF     Anna's token, PIN 123456
 *   SITHS_TEST_SO_PIN the token's security officer PIN
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cardtest.h"
#include "siths.h"

static siths_card *
anna_card(siths_ctx *ctx)
{
	siths_card *card = NULL;

	assert_int_equal(siths_card_wait(ctx, NULL, 0, &card), SITHS_OK);
	return card;
}

/* Whether pin logs in (a fresh card handle each time). */
static int
logs_in(siths_ctx *ctx, const char *pin)
{
	siths_card *card = anna_card(ctx);
	int r = siths_card_login(card, pin, NULL);

	siths_card_free(&card);
	return r;
}

static void
test_refused_before_the_card(void **state)
{
	siths_ctx *ctx = cardtest_ctx("SITHS_TEST_CONF");
	siths_card *card = anna_card(ctx);

	/* a wrong old PIN would be PIN_INCORRECT: these never reach the card */
	assert_int_equal(siths_card_change_pin(card, "999999", "12", "12", NULL),
	    SITHS_ERR_PIN_TOO_SHORT);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "new PIN"));
	assert_int_equal(siths_card_change_pin(card, "999999", "123456789", NULL, NULL),
	    SITHS_ERR_PIN_TOO_LONG);
	assert_int_equal(siths_card_change_pin(card, "999999", "12ab56", "12ab56", NULL),
	    SITHS_ERR_PIN_FORMAT);
	assert_int_equal(siths_card_change_pin(card, "999999", "", "", NULL),
	    SITHS_ERR_PIN_EMPTY);
	assert_int_equal(siths_card_change_pin(card, "999999", "654321", "654320", NULL),
	    SITHS_ERR_PIN_MISMATCH);
	assert_int_equal(siths_card_change_pin(card, "123456", "123456", "123456", NULL),
	    SITHS_ERR_PIN_UNCHANGED);
	assert_int_equal(siths_card_change_pin(card, "12", "654321", "654321", NULL),
	    SITHS_ERR_PIN_TOO_SHORT);
	assert_int_equal(siths_card_unblock_pin(card, "", "654321", "654321", NULL),
	    SITHS_ERR_PIN_EMPTY);
	assert_int_equal(siths_card_unblock_pin(card, "00000000", "654321", "6543", NULL),
	    SITHS_ERR_PIN_MISMATCH);
	assert_int_equal(siths_card_change_pin(NULL, "123456", "654321", NULL, NULL),
	    SITHS_ERR_INVALID_ARGUMENT);
	assert_int_equal(siths_card_unblock_pin(card, NULL, "654321", NULL, NULL),
	    SITHS_ERR_INVALID_ARGUMENT);
	siths_card_free(&card);
	assert_int_equal(logs_in(ctx, "123456"), SITHS_OK);
	siths_ctx_free(&ctx);
}

static void
test_change_and_back(void **state)
{
	siths_ctx *ctx = cardtest_ctx("SITHS_TEST_CONF");
	siths_card *card = anna_card(ctx);
	siths_identity *id = NULL;
	siths_pin_state after = 0;

	assert_int_equal(siths_card_change_pin(card, "999999", "654321", "654321", &after),
	    SITHS_ERR_PIN_INCORRECT);
	assert_int_equal(siths_card_change_pin(card, "123456", "654321", "654321", &after),
	    SITHS_OK);
	assert_false(after & SITHS_PIN_LOCKED);
	/* the change leaves the card logged out: signing needs a login */
	assert_int_equal(siths_card_authenticate(card, &id), SITHS_ERR_CARD_NOT_LOGGED_IN);
	siths_card_free(&card);
	assert_int_equal(logs_in(ctx, "123456"), SITHS_ERR_PIN_INCORRECT);
	assert_int_equal(logs_in(ctx, "654321"), SITHS_OK);
	card = anna_card(ctx);
	assert_int_equal(siths_card_change_pin(card, "654321", "123456", NULL, NULL), SITHS_OK);
	siths_card_free(&card);
	assert_int_equal(logs_in(ctx, "123456"), SITHS_OK);
	siths_ctx_free(&ctx);
}

static void
test_unblock_with_the_puk(void **state)
{
	siths_ctx *ctx = cardtest_ctx("SITHS_TEST_CONF");
	siths_card *card = anna_card(ctx);
	siths_identity *id = NULL;
	const char *puk = getenv("SITHS_TEST_SO_PIN");

	assert_non_null(puk);
	assert_int_equal(siths_card_unblock_pin(card, "00000000", "246813", "246813", NULL),
	    SITHS_ERR_PUK_INCORRECT);
	assert_non_null(strstr(siths_ctx_errmsg(ctx), "PUK"));
	/* the card handle still works after an unblock closed its session */
	assert_int_equal(siths_card_login(card, "123456", NULL), SITHS_OK);
	assert_int_equal(siths_card_unblock_pin(card, puk, "246813", "246813", NULL), SITHS_OK);
	/* and a whole login on the same handle: the key is still found and signs */
	assert_int_equal(siths_card_login(card, "246813", NULL), SITHS_OK);
	assert_int_equal(siths_card_authenticate(card, &id), SITHS_OK);
	assert_string_equal(siths_identity_hsa_id(id), getenv("SITHS_TEST_HSA_ANNA"));
	siths_identity_free(&id);
	siths_card_free(&card);
	assert_int_equal(logs_in(ctx, "123456"), SITHS_ERR_PIN_INCORRECT);
	assert_int_equal(logs_in(ctx, "246813"), SITHS_OK);
	card = anna_card(ctx);
	assert_int_equal(siths_card_unblock_pin(card, puk, "123456", NULL, NULL), SITHS_OK);
	siths_card_free(&card);
	assert_int_equal(logs_in(ctx, "123456"), SITHS_OK);
	siths_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_before_the_card),
		cmocka_unit_test(test_change_and_back),
		cmocka_unit_test(test_unblock_with_the_puk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
