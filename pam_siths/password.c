/*
 * password.c - pam_siths's password phase: the card's PIN is the "password"
 * passwd(1) and a desktop's "change password" change.
 *
 * PAM_PRELIM_CHECK only finds the card. PAM_UPDATE_AUTHTOK asks the current
 * PIN, then the new one twice, and lets the library check the new PIN
 * against the PIN rules and the repetition before the card is touched, so a
 * typo costs no try. A locked PIN is unblocked with the card's PUK instead,
 * where the card's module offers a way; else the person is told who can.
 * PAM_AUTHTOK and PAM_OLDAUTHTOK are neither read nor set: a PIN is never
 * shared with another module in the stack.
 *
 * Results: changed -> PAM_SUCCESS; no card -> PAM_AUTHINFO_UNAVAIL
 * (PAM_AUTH_ERR with card_only); wrong current PIN or PUK -> PAM_AUTH_ERR;
 * locked -> PAM_MAXTRIES; a new PIN refused -> PAM_AUTHTOK_ERR.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "login.h"
#include "phases.h"

/* The secrets one change asks for, wiped and freed by forget_secrets(). */
struct secrets {
	char *current;          /* the old PIN, or the PUK */
	char *new_pin;
	char *again;
};

static void
forget(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static void
forget_secrets(struct secrets *s)
{
	forget(&s->current);
	forget(&s->new_pin);
	forget(&s->again);
}

/* One hidden answer; PAM_SUCCESS, or PAM_CONV_ERR when the person gave none. */
static int
ask(struct login *l, const char *question, char **answer)
{
	if (pam_prompt(l->pamh, PAM_PROMPT_ECHO_OFF, answer, "%s", question) != PAM_SUCCESS ||
	    *answer == NULL)
		return login_deny(l, SITHS_ERR_PIN_EMPTY, PAM_CONV_ERR);
	return PAM_SUCCESS;
}

static int
ask_secrets(struct login *l, const char *current_question, struct secrets *s)
{
	int r;

	if ((r = ask(l, current_question, &s->current)) == PAM_SUCCESS &&
	    (r = ask(l, T(l, "New PIN: "), &s->new_pin)) == PAM_SUCCESS)
		r = ask(l, T(l, "New PIN again: "), &s->again);
	return r;
}

/* What a refused change or unblock means to the person and to PAM. */
static int
change_result(struct login *l, int r, siths_pin_state after)
{
	int min = 0, max = 0;

	switch (r) {
	case SITHS_ERR_PIN_EMPTY:
	case SITHS_ERR_PIN_TOO_SHORT:
	case SITHS_ERR_PIN_TOO_LONG:
	case SITHS_ERR_PIN_FORMAT:
		siths_ctx_pin_length(l->ctx, &min, &max);
		login_say(l, PAM_ERROR_MSG, T(l, "The PIN must be %d to %d digits."), min, max);
		return login_deny(l, r, PAM_AUTHTOK_ERR);
	case SITHS_ERR_PIN_MISMATCH:
		login_tell(l, PAM_ERROR_MSG, "The two new PINs differ. The PIN was not changed.");
		return login_deny(l, r, PAM_AUTHTOK_ERR);
	case SITHS_ERR_PIN_UNCHANGED:
		login_tell(l, PAM_ERROR_MSG, "The new PIN is the same as the current one.");
		return login_deny(l, r, PAM_AUTHTOK_ERR);
	case SITHS_ERR_PIN_INCORRECT:
		login_tell(l, PAM_ERROR_MSG, "Wrong PIN. The PIN was not changed.");
		if (after & SITHS_PIN_FINAL_TRY)
			login_tell(l, PAM_ERROR_MSG,
			    "Warning: last try. A wrong PIN now locks the card.");
		return login_deny(l, r, PAM_AUTH_ERR);
	case SITHS_ERR_PIN_LOCKED:
		login_tell(l, PAM_ERROR_MSG, "The PIN is locked. Unlock the card with its PUK.");
		return login_deny(l, r, PAM_MAXTRIES);
	case SITHS_ERR_PUK_INCORRECT:
		login_tell(l, PAM_ERROR_MSG, "Wrong PUK. The PIN is still locked.");
		return login_deny(l, r, PAM_AUTH_ERR);
	case SITHS_ERR_PUK_LOCKED:
		login_tell(l, PAM_ERROR_MSG, "The PUK is locked too. The card's issuer can "
		    "unblock the card.");
		return login_deny(l, r, PAM_MAXTRIES);
	case SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED:
		login_tell(l, PAM_ERROR_MSG, "This card cannot be unblocked here. The card's "
		    "issuer can unblock it.");
		return login_deny(l, r, PAM_AUTHTOK_ERR);
	case SITHS_ERR_CARD_ABSENT:
	case SITHS_ERR_CARD_REMOVED:
		login_tell(l, PAM_ERROR_MSG, "The card was removed. The PIN was not changed.");
		return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
	default:
		login_tell(l, PAM_ERROR_MSG, "The card could not be read.");
		return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
	}
}

static int
change_pin(struct login *l)
{
	struct secrets s = { NULL, NULL, NULL };
	siths_pin_state after = 0;
	int r;

	if (l->pin_state & SITHS_PIN_FINAL_TRY)
		login_tell(l, PAM_ERROR_MSG, "Warning: last try. A wrong PIN now locks the card.");
	else if (l->pin_state & SITHS_PIN_COUNT_LOW)
		login_tell(l, PAM_TEXT_INFO, "A wrong PIN has been entered before.");
	if ((r = ask_secrets(l, T(l, "Current PIN: "), &s)) == PAM_SUCCESS) {
		r = siths_card_change_pin(l->card, s.current, s.new_pin, s.again, &after);
		r = r == 0 ? PAM_SUCCESS : change_result(l, r, after);
	}
	forget_secrets(&s);
	if (r == PAM_SUCCESS) {
		login_tell(l, PAM_TEXT_INFO, "The PIN was changed.");
		pam_syslog(l->pamh, LOG_NOTICE, "the PIN of the card in '%s' was changed",
		    siths_card_reader(l->card));
	}
	return r;
}

static int
unblock_pin(struct login *l)
{
	struct secrets s = { NULL, NULL, NULL };
	siths_pin_state after = 0;
	int r;

	login_tell(l, PAM_TEXT_INFO, "The PIN is locked. Enter the card's PUK to unblock it "
	    "and choose a new PIN.");
	if ((r = ask_secrets(l, T(l, "PUK: "), &s)) == PAM_SUCCESS) {
		r = siths_card_unblock_pin(l->card, s.current, s.new_pin, s.again, &after);
		r = r == 0 ? PAM_SUCCESS : change_result(l, r, after);
	}
	forget_secrets(&s);
	if (r == PAM_SUCCESS) {
		login_tell(l, PAM_TEXT_INFO, "The PIN was unblocked and changed.");
		pam_syslog(l->pamh, LOG_NOTICE, "the PIN of the card in '%s' was unblocked",
		    siths_card_reader(l->card));
	}
	return r;
}

/* The card's PIN state decides between a change and an unblock. */
static int
update(struct login *l)
{
	if (siths_card_pin_state(l->card, &l->pin_state) != 0)
		return login_deny(l, SITHS_ERR_CARD_IO, PAM_AUTHINFO_UNAVAIL);
	/* the keypad would ask, but not for three PINs in an order we can say */
	if (l->pin_state & SITHS_PIN_PAD) {
		login_tell(l, PAM_ERROR_MSG, "The PIN of a card in a reader with a keypad cannot "
		    "be changed here.");
		return login_deny(l, SITHS_ERR_INVALID_ARGUMENT, PAM_AUTHTOK_ERR);
	}
	if (l->pin_state & SITHS_PIN_LOCKED)
		return unblock_pin(l);
	return change_pin(l);
}

int
pam_siths_password(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l;
	int r;

	memset(&l, 0, sizeof(l));
	l.pamh = pamh;
	l.silent = (flags & PAM_SILENT) != 0;
	if (pam_siths_take_options(pamh, argc, argv, &l.opts) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	/* the first pass only finds out whether there is a card to change */
	if ((r = login_open_context(&l)) == PAM_SUCCESS && (r = login_find_card(&l)) ==
	    PAM_SUCCESS && (flags & PAM_PRELIM_CHECK) == 0)
		r = (flags & PAM_UPDATE_AUTHTOK) != 0 ? update(&l) : PAM_SERVICE_ERR;
	login_end(&l);
	return r;
}
