/*
 * login.c - what auth and password share in a card conversation: the
 * context, waiting for the card, and speaking to the person and the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "i18n.h"
#include "login.h"

const char *
login_reason(const struct login *l, int status)
{
	return siths_strerror_lang(status, pam_siths_lang(&l->opts));
}

void
login_say(const struct login *l, int style, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (l->silent)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pam_prompt(l->pamh, style, NULL, "%s", text);
}

void
login_tell(const struct login *l, int style, const char *msgid)
{
	login_say(l, style, "%s", T(l, msgid));
}

static void
log_to_pam(void *userdata, int level, const char *message)
{
	pam_syslog(userdata, level, "%s", message);
}

int
login_deny(const struct login *l, int status, int pam_result)
{
	pam_syslog(l->pamh, LOG_NOTICE, "denied (%s): %s%s%s", siths_status_name(status),
	    siths_strerror(status), *siths_ctx_errmsg(l->ctx) ? ": " : "",
	    siths_ctx_errmsg(l->ctx));
	return pam_result;
}

static int
open_context(struct login *l)
{
	int r;

	if ((r = siths_ctx_create(&l->ctx)) != 0)
		return PAM_BUF_ERR;
	siths_ctx_set_log(l->ctx, log_to_pam, l->pamh);
	siths_ctx_set_log_level(l->ctx, l->opts.debug ? SITHS_LOG_DEBUG : SITHS_LOG_NOTICE);
	if ((r = siths_ctx_load(l->ctx, l->opts.config)) != 0) {
		pam_syslog(l->pamh, LOG_ERR, "configuration: %s", siths_ctx_errmsg(l->ctx));
		return PAM_AUTHINFO_UNAVAIL;
	}
	/* this service's stack may let a card in as root where others may not */
	if (l->opts.allow_root)
		siths_ctx_set_allow_root(l->ctx, 1);
	return PAM_SUCCESS;
}

int
login_begin(struct login *l, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	memset(l, 0, sizeof(*l));
	l->pamh = pamh;
	l->silent = (flags & PAM_SILENT) != 0;
	if (pam_siths_take_options(pamh, argc, argv, &l->opts) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	return open_context(l);
}

int
login_find_card(struct login *l)
{
	int r = siths_card_wait(l->ctx, l->opts.reader, l->opts.wait_card_ms, &l->card);

	if (r == 0)
		return PAM_SUCCESS;
	if (r == SITHS_ERR_CERT_SIGNATURE_ONLY) {
		login_tell(l, PAM_ERROR_MSG, "The card holds only a signature certificate, which "
		    "cannot be used to log in.");
		return login_deny(l, r, PAM_AUTH_ERR);
	}
	if (r == SITHS_ERR_CARD_ABSENT || r == SITHS_ERR_CARD_NO_CERT) {
		/* quiet: a stack that goes on to a password shows no card noise */
		if (!l->opts.quiet)
			login_tell(l, PAM_TEXT_INFO, "No SITHS card found.");
		/* card_only: a failure, which no [authinfo_unavail=ignore] skips */
		return login_deny(l, r, l->opts.card_only ? PAM_AUTH_ERR : PAM_AUTHINFO_UNAVAIL);
	}
	if (siths_status_unavailable(r)) {
		login_tell(l, PAM_ERROR_MSG, "The card could not be read.");
		return login_deny(l, r, PAM_AUTHINFO_UNAVAIL);
	}
	/* the card's certificate is refused before any PIN is asked */
	login_say(l, PAM_ERROR_MSG, T(l, "Login refused: %s."), login_reason(l, r));
	return login_deny(l, r, PAM_AUTH_ERR);
}

void
login_end(struct login *l)
{
	free(l->login);
	l->login = NULL;
	siths_identity_free(&l->id);
	siths_card_free(&l->card);
	siths_ctx_free(&l->ctx);
}

int
login_pin_form(const struct login *l, int status, int pam_result)
{
	int min = 0, max = 0;

	siths_ctx_pin_length(l->ctx, &min, &max);
	login_say(l, PAM_ERROR_MSG, T(l, "The PIN must be %d to %d digits."), min, max);
	return login_deny(l, status, pam_result);
}
