/*
 * options.h - pam_siths module arguments. `config=` names siths.conf and
 * comes first; the other arguments override what the file says.
 */
#ifndef PAM_SITHS_OPTIONS_H
#define PAM_SITHS_OPTIONS_H

#include <stddef.h>

#include <security/pam_modules.h>

#include "i18n.h"

/* Whether an earlier module's PAM_AUTHTOK may stand for the PIN. */
enum pam_siths_first_pin {
	PAM_SITHS_FIRST_PIN_NO = 0,     /* always ask (the default) */
	PAM_SITHS_FIRST_PIN_TRY = 1,    /* try_first_pin: use it if it is a PIN, else ask */
	PAM_SITHS_FIRST_PIN_USE = 2,    /* use_first_pin: use it if it is a PIN, else fail */
};

struct pam_siths_options {
	const char *config;     /* NULL: the library's default path */
	const char *reader;     /* NULL: [card] reader */
	int wait_card_ms;       /* how long to wait for a card to be inserted */
	int debug;
	const char *lang;       /* lang=: "sv" or "en"; NULL: the locale's */
	int card_only;          /* no card: PAM_AUTH_ERR, so no stack skips the module */
	int quiet;              /* no "no card" sentence, no success line in the log */
	int min_loa;            /* 0: none; else required beside [trust]/[pam] min_loa */
	int first_pin;          /* enum pam_siths_first_pin */
	int allow_root;         /* the card may log in as root, whatever [pam] allow_root says */
};

/*
 * Parse argv into opts (pointers borrow from argv). Returns 0, or -1 with
 * a sentence in err naming the bad argument.
 */
int pam_siths_parse_options(int argc, const char **argv, struct pam_siths_options *opts,
    char *err, size_t errlen);

/* The language for gettext: lang= when given, else NULL (the locale's). */
const char *pam_siths_lang(const struct pam_siths_options *opts);

/*
 * The module's arguments for one call: PAM_SUCCESS, or PAM_SERVICE_ERR with
 * the bad argument logged. A lang= this machine cannot show is logged too.
 */
int pam_siths_take_options(pam_handle_t *pamh, int argc, const char **argv,
    struct pam_siths_options *opts);

/* A sentence in the person's language; xgettext's keyword TR:2. */
#define TR(opts, msgid) siths_i18n_text(pam_siths_lang(opts), (msgid))

#endif
