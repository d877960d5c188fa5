/*
 * pam_siths.c - the PAM module: asks which identity when the card holds
 * several, asks for the card's PIN (or lets a PIN-pad reader), lets libsiths
 * prove the card, validate its certificate and resolve the holder in HSA,
 * maps the HSA-id to a local user and sets or checks PAM_USER.
 *
 * Results follow pam_p11: no card -> PAM_AUTHINFO_UNAVAIL (PAM_AUTH_ERR with
 * card_only), wrong PIN -> PAM_AUTH_ERR, locked PIN -> PAM_MAXTRIES. PAM_IGNORE is never returned,
 * so no stack can turn "no card" into success.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "authdata.h"
#include "login.h"
#include "options.h"
#include "phases.h"
#include "siths.h"
#include "i18n.h"
#include "text.h"

#define PAM_SITHS_EXPORT __attribute__((visibility("default")))

/* Identities listed for a choice; a card holds at most 16 certificates. */
#define MAX_CHOICES 16

/* Warn before the PIN is asked, so nobody locks a card unwarned. */
static int
warn_pin_state(struct login *l)
{
	siths_pin_state state = 0;

	if (siths_card_pin_state(l->card, &state) != 0)
		return login_deny(l, SITHS_ERR_CARD_IO, PAM_AUTHINFO_UNAVAIL);
	if (state & SITHS_PIN_LOCKED) {
		login_tell(l, PAM_ERROR_MSG, "The PIN is locked. Unlock the card with its PUK.");
		return login_deny(l, SITHS_ERR_PIN_LOCKED, PAM_MAXTRIES);
	}
	if (state & SITHS_PIN_FINAL_TRY)
		login_tell(l, PAM_ERROR_MSG, "Warning: last try. A wrong PIN now locks the card.");
	else if (state & SITHS_PIN_COUNT_LOW)
		login_tell(l, PAM_TEXT_INFO, "A wrong PIN has been entered before.");
	l->pin_state = state;
	return PAM_SUCCESS;
}

/*
 * A card with several identities (a person with commissions in two
 * organisations): the person chooses, by number. The list is part of the
 * question, so it is shown even under PAM_SILENT.
 */
static int
choose_identity(struct login *l)
{
	size_t idx[MAX_CHOICES], n = 0, i, pick;
	char *answer = NULL, *end = NULL;
	const char *org;
	unsigned long v;

	if (siths_card_identity_count(l->card) <= 1)
		return PAM_SUCCESS;
	pam_prompt(l->pamh, PAM_TEXT_INFO, NULL, "%s", T(l, "The card holds several identities:"));
	for (i = 0; i < siths_card_cert_count(l->card) && n < MAX_CHOICES; i++) {
		if (siths_card_cert_kind_of(l->card, i) != SITHS_CARD_CERT_LOGIN)
			continue;
		idx[n++] = i;
		org = siths_card_cert_org(l->card, i);
		pam_prompt(l->pamh, PAM_TEXT_INFO, NULL, "%zu) %s%s%s (%s)", n,
		    siths_card_cert_name(l->card, i) ? siths_card_cert_name(l->card, i) : "?",
		    org != NULL ? ", " : "", org != NULL ? org : "",
		    siths_card_cert_hsa_id(l->card, i) ? siths_card_cert_hsa_id(l->card, i) : "?");
	}
	if (pam_prompt(l->pamh, PAM_PROMPT_ECHO_ON, &answer, "%s (1-%zu): ",
	    T(l, "Choose an identity"), n) != PAM_SUCCESS || answer == NULL)
		return login_deny(l, SITHS_ERR_INVALID_ARGUMENT, PAM_CONV_ERR);
	v = strtoul(answer, &end, 10);
	pick = (*answer >= '1' && *answer <= '9' && *end == '\0' && v <= n) ? (size_t)v : 0;
	free(answer);
	if (pick == 0) {
		login_tell(l, PAM_ERROR_MSG, "Not a valid choice.");
		return login_deny(l, SITHS_ERR_INVALID_ARGUMENT, PAM_AUTH_ERR);
	}
	if (siths_card_choose(l->card, idx[pick - 1]) != 0)
		return login_deny(l, SITHS_ERR_INTERNAL, PAM_AUTH_ERR);
	pam_syslog(l->pamh, LOG_INFO, "identity %zu of %zu chosen: %s", pick, n,
	    siths_card_hsa_id(l->card));
	return PAM_SUCCESS;
}

static int
pin_result(struct login *l, int r, siths_pin_state after)
{
	switch (r) {
	case 0:
		return PAM_SUCCESS;
	case SITHS_ERR_PIN_EMPTY:
	case SITHS_ERR_PIN_TOO_SHORT:
	case SITHS_ERR_PIN_TOO_LONG:
	case SITHS_ERR_PIN_FORMAT:
		return login_pin_form(l, r, PAM_AUTH_ERR);
	case SITHS_ERR_PIN_INCORRECT:
		login_tell(l, PAM_ERROR_MSG, "Wrong PIN.");
		if (after & SITHS_PIN_FINAL_TRY)
			login_tell(l, PAM_ERROR_MSG,
			    "Warning: last try. A wrong PIN now locks the card.");
		return login_deny(l, r, PAM_AUTH_ERR);
	case SITHS_ERR_PIN_LOCKED:
		login_tell(l, PAM_ERROR_MSG, "The PIN is locked. Unlock the card with its PUK.");
		return login_deny(l, r, PAM_MAXTRIES);
	case SITHS_ERR_CARD_CANCELLED:
		login_tell(l, PAM_ERROR_MSG, "The PIN entry was cancelled.");
		return login_deny(l, r, PAM_AUTH_ERR);
	case SITHS_ERR_PIN_MUST_CHANGE:
		login_say(l, PAM_ERROR_MSG, T(l, "Login refused: %s."), login_reason(l, r));
		return login_deny(l, r, PAM_AUTH_ERR);
	default:
		login_tell(l, PAM_ERROR_MSG, "The card could not be read.");
		return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
	}
}

/*
 * use_first_pin / try_first_pin: an earlier module's PAM_AUTHTOK, but only
 * when it passes the PIN rules, so a Unix password never reaches the card.
 * *pin is PAM's (borrowed) or NULL: ask. PAM_SUCCESS, or a refusal.
 */
static int
earlier_pin(struct login *l, const char **pin)
{
	const void *item = NULL;
	int r;

	*pin = NULL;
	if (l->opts.first_pin == PAM_SITHS_FIRST_PIN_NO)
		return PAM_SUCCESS;
	if (pam_get_item(l->pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS)
		item = NULL;
	if ((r = siths_ctx_check_pin(l->ctx, item)) == 0) {
		*pin = item;
		return PAM_SUCCESS;
	}
	pam_syslog(l->pamh, LOG_INFO, "the earlier module's password is %s (%s): the card is "
	    "not given it", item == NULL ? "absent" : "not a PIN", siths_status_name(r));
	if (l->opts.first_pin == PAM_SITHS_FIRST_PIN_TRY)
		return PAM_SUCCESS;
	login_say(l, PAM_ERROR_MSG, T(l, "Login refused: %s."), login_reason(l, r));
	return login_deny(l, r, PAM_AUTH_ERR);
}

static int
enter_pin(struct login *l)
{
	siths_pin_state after = 0;
	const char *first = NULL;
	char *pin = NULL;
	int r;

	/* the reader's own keypad asks: the PIN never passes through here */
	if (l->pin_state & SITHS_PIN_PAD) {
		/* it stands for the PIN question: shown under PAM_SILENT too */
		pam_prompt(l->pamh, PAM_TEXT_INFO, NULL, "%s",
		    T(l, "Enter the PIN on the card reader's keypad."));
		return pin_result(l, siths_card_login(l->card, NULL, &after), after);
	}
	if ((r = earlier_pin(l, &first)) != PAM_SUCCESS)
		return r;
	/* a wrong earlier PIN is not followed by a question: it cost a try */
	if (first != NULL)
		return pin_result(l, siths_card_login(l->card, first, &after), after);
	if (pam_prompt(l->pamh, PAM_PROMPT_ECHO_OFF, &pin, "%s", T(l, "PIN (authentication): ")) !=
	    PAM_SUCCESS || pin == NULL)
		return login_deny(l, SITHS_ERR_PIN_EMPTY, PAM_CONV_ERR);
	r = siths_card_login(l->card, pin, &after);
	explicit_bzero(pin, strlen(pin));
	free(pin);
	return pin_result(l, r, after);
}

static int
authenticate(struct login *l)
{
	int r = siths_card_authenticate(l->card, &l->id);

	if (r == 0 && siths_identity_stale(l->id)) {
		/* within [hsa] stale_max, for someone seen before: said and logged */
		login_tell(l, PAM_TEXT_INFO, "The HSA directory cannot be reached right now; this "
		    "login relies on your details from an earlier login.");
		pam_syslog(l->pamh, LOG_WARNING, "%s: the directory cannot be reached; its "
		    "earlier answer is used (stale)", siths_identity_hsa_id(l->id));
	}
	if (r == 0 && l->opts.min_loa > 0 && siths_identity_loa(l->id) < l->opts.min_loa) {
		/* the module's min_loa= comes on top of the configuration's */
		login_say(l, PAM_ERROR_MSG, T(l, "Login refused: %s."),
		    login_reason(l, SITHS_ERR_CERT_LOA_TOO_LOW));
		pam_syslog(l->pamh, LOG_NOTICE, "denied (%s): %s has level of assurance %d, "
		    "below min_loa=%d", siths_status_name(SITHS_ERR_CERT_LOA_TOO_LOW),
		    siths_identity_hsa_id(l->id), siths_identity_loa(l->id), l->opts.min_loa);
		return PAM_AUTH_ERR;
	}
	if (r == 0)
		return PAM_SUCCESS;
	if (r == SITHS_ERR_HSA_UNREACHABLE || r == SITHS_ERR_HSA_TIMEOUT) {
		login_tell(l, PAM_ERROR_MSG, "The HSA directory cannot be reached right now.");
		return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
	}
	login_say(l, PAM_ERROR_MSG, T(l, "Login refused: %s."), login_reason(l, r));
	/* something was in the way (card, server, file): not a refusal */
	if (siths_status_unavailable(r))
		return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
	return login_deny(l, r, PAM_AUTH_ERR);
}

/* Set PAM_USER when the application left it empty; else it must match. */
static int
settle_user(struct login *l)
{
	const void *item = NULL;
	const char *user;
	char shown[128];
	int r;

	if ((r = siths_map_user(l->ctx, l->id, &l->login)) != 0) {
		login_say(l, PAM_ERROR_MSG, T(l, "Login refused: %s."), login_reason(l, r));
		return login_deny(l, r, r == SITHS_ERR_POLICY_ROOT_DENIED ? PAM_PERM_DENIED :
		    r == SITHS_ERR_POLICY_MAP_FILE ? PAM_AUTHINFO_UNAVAIL : PAM_USER_UNKNOWN);
	}
	if (pam_get_item(l->pamh, PAM_USER, &item) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	user = item;
	if (user == NULL || *user == '\0')
		return pam_set_item(l->pamh, PAM_USER, l->login);
	if (strcmp(user, l->login) != 0) {
		login_tell(l, PAM_ERROR_MSG, "The card belongs to another user.");
		/* PAM_USER is whatever was typed at a login prompt */
		siths_text_printable(shown, user, sizeof(shown) - 1);
		pam_syslog(l->pamh, LOG_NOTICE, "card of %s maps to '%s', not '%s'",
		    siths_identity_hsa_id(l->id), l->login, shown);
		return login_deny(l, SITHS_ERR_POLICY_USER_MISMATCH, PAM_AUTH_ERR);
	}
	return PAM_SUCCESS;
}

/* An HSA-id as the environment may carry it: its own characters only. */
static int
env_safe(const char *value)
{
	size_t i;

	if (value == NULL || *value == '\0' || strlen(value) > 64)
		return 0;
	for (i = 0; value[i] != '\0'; i++) {
		if (!((value[i] >= 'A' && value[i] <= 'Z') || (value[i] >= 'a' && value[i] <= 'z') ||
		    (value[i] >= '0' && value[i] <= '9') || value[i] == '-'))
			return 0;
	}
	return 1;
}

/*
 * Which identity logged in, for the session (pam_getenv, or the process
 * environment after pam_getenvlist): SITHS_HSA_ID, SITHS_ORG_HSA_ID when
 * the directory named the organisation, and SITHS_STALE=1 when the
 * directory could not be reached and its earlier answer was used.
 */
static int
export_identity(struct login *l)
{
	const char *hsa = siths_identity_hsa_id(l->id), *org = siths_identity_org_hsa_id(l->id);
	char buf[96];

	if (env_safe(hsa)) {
		snprintf(buf, sizeof(buf), "SITHS_HSA_ID=%s", hsa);
		if (pam_putenv(l->pamh, buf) != PAM_SUCCESS)
			return PAM_BUF_ERR;
	}
	if (env_safe(org)) {
		snprintf(buf, sizeof(buf), "SITHS_ORG_HSA_ID=%s", org);
		if (pam_putenv(l->pamh, buf) != PAM_SUCCESS)
			return PAM_BUF_ERR;
	}
	if (siths_identity_stale(l->id) && pam_putenv(l->pamh, "SITHS_STALE=1") != PAM_SUCCESS)
		return PAM_BUF_ERR;
	return PAM_SUCCESS;
}

void
pam_siths_authdata_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct pam_siths_authdata *a = data;

	if (a == NULL)
		return;
	free(a->der);
	free(a);
}

/* For account and session: which certificate, card and reader logged in. */
static int
keep_authdata(struct login *l)
{
	struct pam_siths_authdata *a = calloc(1, sizeof(*a));
	const char *s;

	if (a == NULL || siths_card_cert_der(l->card, siths_card_chosen(l->card), &a->der,
	    &a->der_len) != 0) {
		free(a);
		return PAM_BUF_ERR;
	}
	snprintf(a->hsa_id, sizeof(a->hsa_id), "%s", siths_identity_hsa_id(l->id));
	s = siths_identity_org_hsa_id(l->id);
	snprintf(a->org_hsa_id, sizeof(a->org_hsa_id), "%s", s != NULL ? s : "");
	s = siths_identity_cert_sha256(l->id);
	snprintf(a->sha256, sizeof(a->sha256), "%s", s != NULL ? s : "");
	s = siths_card_token_label(l->card);
	snprintf(a->token, sizeof(a->token), "%s", s != NULL ? s : "");
	s = siths_card_reader(l->card);
	snprintf(a->reader, sizeof(a->reader), "%s", s != NULL ? s : "");
	a->loa = siths_identity_loa(l->id);
	a->stale = siths_identity_stale(l->id);
	if (pam_set_data(l->pamh, PAM_SITHS_AUTHDATA, a, pam_siths_authdata_cleanup) != PAM_SUCCESS) {
		pam_siths_authdata_cleanup(l->pamh, a, 0);
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

PAM_SITHS_EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l;
	char name[256];
	int r;

	if ((r = login_begin(&l, pamh, flags, argc, argv)) == PAM_SUCCESS &&
	    (r = login_find_card(&l)) == PAM_SUCCESS &&
	    (r = choose_identity(&l)) == PAM_SUCCESS && (r = warn_pin_state(&l)) == PAM_SUCCESS &&
	    (r = enter_pin(&l)) == PAM_SUCCESS && (r = authenticate(&l)) == PAM_SUCCESS &&
	    (r = settle_user(&l)) == PAM_SUCCESS && (r = export_identity(&l)) == PAM_SUCCESS &&
	    (r = keep_authdata(&l)) == PAM_SUCCESS && !l.opts.quiet) {
		/* the name is the directory's: shown without control characters */
		siths_text_printable(name, siths_identity_display_name(l.id), sizeof(name) - 1);
		pam_syslog(pamh, LOG_NOTICE, "%s (%s) logged in as %s",
		    siths_identity_hsa_id(l.id), name, l.login);
	}
	login_end(&l);
	return r;
}

PAM_SITHS_EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_SUCCESS;
}

/*
 * account: the identity auth left (the certificate, checked again: not
 * revoked, the person still active in HSA), or without auth in this handle
 * (sshd with a key, su from root) the user's HSA-id from the user map read
 * backwards; then [pam] allowed_orgs, required_role and min_loa.
 */
PAM_SITHS_EXPORT int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return pam_siths_account(pamh, flags, argc, argv);
}

PAM_SITHS_EXPORT int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return pam_siths_session(pamh, 1, argc, argv);
}

PAM_SITHS_EXPORT int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return pam_siths_session(pamh, 0, argc, argv);
}

/* password: the card's PIN changed, or a locked PIN unblocked with the PUK */
PAM_SITHS_EXPORT int
pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return pam_siths_password(pamh, flags, argc, argv);
}
