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

#include "i18n.h"
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
static const struct refusal {
	int status;
	const char *msgid;
	int pam_result;
} refusals[] = {
	{ SITHS_ERR_PIN_MISMATCH, N_("The two new PINs differ. The PIN was not changed."),
	    PAM_AUTHTOK_ERR },
	{ SITHS_ERR_PIN_UNCHANGED, N_("The new PIN is the same as the current one."),
	    PAM_AUTHTOK_ERR },
	{ SITHS_ERR_PIN_INCORRECT, N_("Wrong PIN. The PIN was not changed."), PAM_AUTH_ERR },
	{ SITHS_ERR_PIN_LOCKED, N_("The PIN is locked. Unlock the card with its PUK."),
	    PAM_MAXTRIES },
	{ SITHS_ERR_PUK_INCORRECT, N_("Wrong PUK. The PIN is still locked."), PAM_AUTH_ERR },
	{ SITHS_ERR_PUK_LOCKED, N_("The PUK is locked too. The card's issuer can unblock the "
	    "card."), PAM_MAXTRIES },
	{ SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED, N_("This card cannot be unblocked here. The card's "
	    "issuer can unblock it."), PAM_AUTHTOK_ERR },
	{ SITHS_ERR_CARD_ABSENT, N_("The card was removed. The PIN was not changed."),
	    PAM_AUTHINFO_UNAVAIL },
	{ SITHS_ERR_CARD_REMOVED, N_("The card was removed. The PIN was not changed."),
	    PAM_AUTHINFO_UNAVAIL },
};

static int
change_result(struct login *l, int r, siths_pin_state after)
{
	size_t i;

	if (r == SITHS_ERR_PIN_EMPTY || r == SITHS_ERR_PIN_TOO_SHORT ||
	    r == SITHS_ERR_PIN_TOO_LONG || r == SITHS_ERR_PIN_FORMAT)
		return login_pin_form(l, r, PAM_AUTHTOK_ERR);
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		if (refusals[i].status != r)
			continue;
		login_tell(l, PAM_ERROR_MSG, refusals[i].msgid);
		if (r == SITHS_ERR_PIN_INCORRECT && (after & SITHS_PIN_FINAL_TRY))
			login_tell(l, PAM_ERROR_MSG,
			    "Warning: last try. A wrong PIN now locks the card.");
		return login_deny(l, r, refusals[i].pam_result);
	}
	login_tell(l, PAM_ERROR_MSG, "The card could not be read.");
	return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
}

/* A change, or an unblock: what is said and asked, and the library call. */
struct pin_step {
	const char *before;     /* said before the questions, or NULL */
	const char *first;      /* the first question: the current PIN, or the PUK */
	const char *done;       /* said when it worked */
	const char *logged;     /* "changed", "unblocked" */
	int (*call)(siths_card *card, const char *secret, const char *new_pin,
	    const char *new_again, siths_pin_state *state);
};

static const struct pin_step change_step = {
	NULL, N_("Current PIN: "), N_("The PIN was changed."), "changed", siths_card_change_pin,
};

static const struct pin_step unblock_step = {
	N_("The PIN is locked. Enter the card's PUK to unblock it and choose a new PIN."),
	N_("PUK: "), N_("The PIN was unblocked and changed."), "unblocked",
	siths_card_unblock_pin,
};

static int
run_step(struct login *l, const struct pin_step *step)
{
	struct secrets s = { NULL, NULL, NULL };
	siths_pin_state after = 0;
	int r;

	if (step->before != NULL)
		login_tell(l, PAM_TEXT_INFO, step->before);
	if ((r = ask_secrets(l, T(l, step->first), &s)) == PAM_SUCCESS) {
		r = step->call(l->card, s.current, s.new_pin, s.again, &after);
		r = r == 0 ? PAM_SUCCESS : change_result(l, r, after);
	}
	forget_secrets(&s);
	if (r == PAM_SUCCESS) {
		login_tell(l, PAM_TEXT_INFO, step->done);
		pam_syslog(l->pamh, LOG_NOTICE, "the PIN of the card in '%s' was %s",
		    siths_card_reader(l->card), step->logged);
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
		return run_step(l, &unblock_step);
	if (l->pin_state & SITHS_PIN_FINAL_TRY)
		login_tell(l, PAM_ERROR_MSG, "Warning: last try. A wrong PIN now locks the card.");
	else if (l->pin_state & SITHS_PIN_COUNT_LOW)
		login_tell(l, PAM_TEXT_INFO, "A wrong PIN has been entered before.");
	return run_step(l, &change_step);
}

int
pam_siths_password(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l;
	int r;

	/* the first pass only finds out whether there is a card to change */
	if ((r = login_begin(&l, pamh, flags, argc, argv)) == PAM_SUCCESS &&
	    (r = login_find_card(&l)) == PAM_SUCCESS && (flags & PAM_PRELIM_CHECK) == 0)
		r = (flags & PAM_UPDATE_AUTHTOK) != 0 ? update(&l) : PAM_SERVICE_ERR;
	login_end(&l);
	return r;
}
