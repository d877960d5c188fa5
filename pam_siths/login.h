/*
 * login.h - one card conversation of pam_siths (auth or password): the
 * options, the context and the card it holds, and the ways it speaks to the
 * person and the log. login.c.
 */
#ifndef PAM_SITHS_LOGIN_H
#define PAM_SITHS_LOGIN_H

#include <security/pam_modules.h>

#include "options.h"
#include "siths.h"

struct login {
	pam_handle_t *pamh;
	int silent;             /* PAM_SILENT: prompts only, no messages */
	struct pam_siths_options opts;
	siths_ctx *ctx;
	siths_card *card;
	siths_identity *id;
	char *login;
	siths_pin_state pin_state; /* before the PIN is asked */
};

/* What the person reads, in their language: lang=, else the locale. */
#define T(l, msgid) TR(&(l)->opts, msgid)

/* The library's sentence for status, in the person's language. */
const char *login_reason(const struct login *l, int status);

/* A message to the person (nothing under PAM_SILENT). */
void login_say(const struct login *l, int style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A whole sentence, translated; xgettext's keyword login_tell:3. */
void login_tell(const struct login *l, int style, const char *msgid);

/* Log a denial with its status name and the library's detail; returns pam_result. */
int login_deny(const struct login *l, int status, int pam_result);

/* A PIN refused for its form: the configured lengths said, the denial logged. */
int login_pin_form(const struct login *l, int status, int pam_result);

/*
 * Start a card conversation: the module's arguments (PAM_SERVICE_ERR when
 * bad) and the context from config=, logging to PAM. PAM_SUCCESS or the
 * PAM result; login_end() afterwards either way.
 */
int login_begin(struct login *l, pam_handle_t *pamh, int flags, int argc, const char **argv);
/* Wait for the card (wait_card=, reader=); refusals said and logged. */
int login_find_card(struct login *l);

/* Free what the login holds. */
void login_end(struct login *l);

#endif
