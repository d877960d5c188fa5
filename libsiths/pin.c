/*
 * pin.c - changing a card's PIN and unblocking it with the PUK. The PINs'
 * form and the repetition are checked before the card is touched, so a
 * typo costs no try; the card itself judges the old PIN and the PUK.
 */
#include <stdio.h>
#include <string.h>

#include "card.h"
#include "ctx.h"
#include "error.h"
#include "p11.h"

/*
 * What can be refused without the card: secret (the old PIN, or NULL for a
 * PUK, whose form the card alone knows), new_pin against the PIN rules,
 * new_again against new_pin, and a new PIN that is the old one.
 */
static int
check_before_card(siths_card *card, const char *old_pin, const char *puk, const char *new_pin,
    const char *new_again)
{
	char why[SITHS_ERRMSG_MAX];
	int r;

	if (puk != NULL && *puk == '\0')
		return siths_fail(card->ctx, SITHS_ERR_PIN_EMPTY, "no PUK was entered");
	if (puk == NULL && (r = siths_ctx_check_pin(card->ctx, old_pin)) != 0)
		return r;
	if ((r = siths_ctx_check_pin(card->ctx, new_pin)) != 0) {
		snprintf(why, sizeof(why), "%s", siths_ctx_errmsg(card->ctx));
		return siths_fail(card->ctx, r, "the new PIN: %s", why);
	}
	if (new_again != NULL && strcmp(new_pin, new_again) != 0)
		return siths_fail(card->ctx, SITHS_ERR_PIN_MISMATCH,
		    "the new PIN and its repetition differ");
	if (old_pin != NULL && strcmp(old_pin, new_pin) == 0)
		return siths_fail(card->ctx, SITHS_ERR_PIN_UNCHANGED,
		    "the new PIN is the same as the old one");
	return 0;
}

int
siths_card_change_pin(siths_card *card, const char *old_pin, const char *new_pin,
    const char *new_again, siths_pin_state *state)
{
	siths_pin_state before = 0;
	int r;

	if ((r = siths_card_start_try(card, state)) != 0)
		return r;
	if ((r = check_before_card(card, old_pin, NULL, new_pin, new_again)) != 0)
		goto out;
	if ((r = siths_p11_pin_state(card->tok, &before)) != 0)
		return r;
	if (before & SITHS_PIN_LOCKED)
		r = siths_fail(card->ctx, SITHS_ERR_PIN_LOCKED,
		    "the PIN is locked; unblock the card with its PUK");
	else if ((r = siths_p11_change_pin(card->tok, old_pin, new_pin)) == 0)
		card->wrong_pin = 0;
	else if (r == SITHS_ERR_PIN_INCORRECT)
		card->wrong_pin = 1;
out:
	/* a refusal before the card still shows a final try, to warn of it */
	if (state != NULL)
		siths_card_state_after(card, r, state);
	return r;
}

int
siths_card_unblock_pin(siths_card *card, const char *puk, const char *new_pin,
    const char *new_again, siths_pin_state *state)
{
	int r;

	if ((r = siths_card_start_try(card, state)) != 0)
		return r;
	if (puk == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((r = check_before_card(card, NULL, puk, new_pin, new_again)) == 0 &&
	    (r = siths_p11_unblock_pin(card->tok, puk, new_pin)) == 0)
		card->wrong_pin = 0;
	if (state != NULL)
		siths_card_state_after(card, r, state);
	return r;
}
