/*
 * options.c - table-driven parsing of pam_siths module arguments.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "options.h"

/* The longest a login may wait for a card to be inserted. */
#define MAX_WAIT_SECONDS 600

struct option_spec {
	const char *name;       /* "debug" for a flag, "reader=" for a value */
	int (*apply)(struct pam_siths_options *opts, const char *value);
	size_t flag;            /* without apply: the int member a flag sets to 1 */
};

#define FLAG(member) NULL, offsetof(struct pam_siths_options, member)

static int
apply_config(struct pam_siths_options *opts, const char *value)
{
	if (value[0] != '/')
		return -1;
	opts->config = value;
	return 0;
}

static int
apply_reader(struct pam_siths_options *opts, const char *value)
{
	opts->reader = value;
	return 0;
}

static int
apply_wait_card(struct pam_siths_options *opts, const char *value)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0' || errno != 0 || v < 0 || v > MAX_WAIT_SECONDS)
		return -1;
	opts->wait_card_ms = (int)v * 1000;
	return 0;
}

/* The SITHS levels of assurance are 1 to 4. */
static int
apply_min_loa(struct pam_siths_options *opts, const char *value)
{
	if (value[0] < '1' || value[0] > '4' || value[1] != '\0')
		return -1;
	opts->min_loa = value[0] - '0';
	return 0;
}

static int
apply_try_first_pin(struct pam_siths_options *opts, const char *value)
{
	if (opts->first_pin == PAM_SITHS_FIRST_PIN_NO)
		opts->first_pin = PAM_SITHS_FIRST_PIN_TRY;
	return 0;
}

/* Beside try_first_pin, the stricter use_first_pin holds. */
static int
apply_use_first_pin(struct pam_siths_options *opts, const char *value)
{
	opts->first_pin = PAM_SITHS_FIRST_PIN_USE;
	return 0;
}

static int
apply_lang(struct pam_siths_options *opts, const char *value)
{
	/* the two languages there are catalogs for (English is the msgid) */
	if (strcmp(value, "sv") != 0 && strcmp(value, "en") != 0)
		return -1;
	opts->lang = value;
	return 0;
}

static const struct option_spec option_table[] = {
	{ "config=", apply_config, 0 },
	{ "reader=", apply_reader, 0 },
	{ "wait_card=", apply_wait_card, 0 },
	{ "lang=", apply_lang, 0 },
	{ "min_loa=", apply_min_loa, 0 },
	{ "card_only", FLAG(card_only) },
	{ "allow_root", FLAG(allow_root) },
	{ "quiet", FLAG(quiet) },
	{ "try_first_pin", apply_try_first_pin, 0 },
	{ "use_first_pin", apply_use_first_pin, 0 },
	{ "debug", FLAG(debug) },
};

static int
apply_one(const char *arg, struct pam_siths_options *opts)
{
	size_t i, n;
	const struct option_spec *os;

	for (i = 0; i < sizeof(option_table) / sizeof(option_table[0]); i++) {
		os = &option_table[i];
		n = strlen(os->name);
		if (!(os->name[n - 1] == '=' ? strncmp(arg, os->name, n) == 0 :
		    strcmp(arg, os->name) == 0))
			continue;
		if (os->apply != NULL)
			return os->apply(opts, arg + n);
		*(int *)((char *)opts + os->flag) = 1;
		return 0;
	}
	return -1;
}

int
pam_siths_parse_options(int argc, const char **argv, struct pam_siths_options *opts,
    char *err, size_t errlen)
{
	int i;

	memset(opts, 0, sizeof(*opts));
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0 && i != 0) {
			snprintf(err, errlen, "config= must be the first argument");
			return -1;
		}
		if (apply_one(argv[i], opts) != 0) {
			snprintf(err, errlen, "bad module argument '%s'", argv[i]);
			return -1;
		}
	}
	return 0;
}

const char *
pam_siths_lang(const struct pam_siths_options *opts)
{
	return opts->lang;
}

int
pam_siths_take_options(pam_handle_t *pamh, int argc, const char **argv,
    struct pam_siths_options *opts)
{
	char err[256];

	if (pam_siths_parse_options(argc, argv, opts, err, sizeof(err)) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s", err);
		return PAM_SERVICE_ERR;
	}
	/* not a fault of the stack: the person is still told, in English */
	if (!siths_i18n_available(opts->lang))
		pam_syslog(pamh, LOG_WARNING, "lang=%s: no catalog or no such locale installed "
		    "(locale-gen sv_SE.UTF-8); the person is told in English", opts->lang);
	return PAM_SUCCESS;
}
