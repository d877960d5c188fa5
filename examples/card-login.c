/*
 * card-login.c - log a person in with a SITHS card through libsiths: the
 * steps pam_siths takes, without PAM, for a program of your own.
 *
 *   card-login [READER-PATTERN [SECONDS]]
 *
 * Waits up to SECONDS (default 30) for a card in a reader whose name
 * contains READER-PATTERN (empty or absent: [card] reader of siths.conf,
 * else any reader), lets the person choose an identity when the card holds
 * several, asks for the PIN, proves the card, validates its certificate,
 * resolves the holder in HSA and maps the HSA-id to a local user.
 *
 * The configuration is $SITHS_CONF, else libsiths' built-in default. The
 * PIN is read from the terminal with echo off, or as one line from standard
 * input when that is not a terminal; a reader with its own PIN pad asks for
 * the PIN itself. The library's sentences are in Swedish when LC_ALL,
 * LC_MESSAGES or LANG starts with "sv".
 *
 * Exit status, as for the siths tool: 0 logged in, 1 refused (wrong PIN,
 * revoked certificate, no local user ...), 2 no answer could be had (no
 * card, directory down, bad configuration ...).
 *
 * Build against an installed libsiths:
 *   cc -o card-login card-login.c $(pkg-config --cflags --libs libsiths)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <siths.h>

/* Longer than any PIN the library accepts (pin_max is at most 64). */
#define LINE_MAX_BYTES 80
/* A card holds at most 16 certificates that libsiths looks at. */
#define MAX_CHOICES 16

static const char *lang = "en";

/* "sv" when the locale asks for Swedish: siths_strerror_lang() knows both. */
static const char *
pick_lang(void)
{
	const char *vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if ((v = getenv(vars[i])) != NULL && *v != '\0')
			return strncmp(v, "sv", 2) == 0 ? "sv" : "en";
	}
	return "en";
}

static const char *
or_unknown(const char *s)
{
	return s != NULL ? s : "?";
}

/*
 * Say why a step failed: the status sentence in the person's language and
 * the library's detail for this thread (English, for the log). Returns the
 * exit status: 2 when no answer could be had, 1 when the answer is no.
 */
static int
fail(const siths_ctx *ctx, const char *step, int status)
{
	const char *detail = ctx != NULL ? siths_ctx_errmsg(ctx) : "";

	fprintf(stderr, "card-login: %s: %s%s%s%s [%s]\n", step,
	    siths_strerror_lang(status, lang), *detail != '\0' ? " (" : "", detail,
	    *detail != '\0' ? ")" : "", siths_status_name(status));
	return siths_status_unavailable(status) ? 2 : 1;
}

/* The library logs through this instead of syslog. */
static void
log_to_stderr(void *userdata, int level, const char *message)
{
	(void)userdata;
	fprintf(stderr, "card-login: libsiths (%d): %s\n", level, message);
}

/*
 * One line from standard input, without its newline. read(2) byte by byte,
 * not stdio: stdio would keep its own copy of a PIN in a buffer we cannot
 * wipe. On a terminal the prompt goes to stderr, and echo is off when
 * hide is set. Returns 0; SITHS_ERR_PIN_TOO_LONG for a line too long for
 * buf (refused, never cut); SITHS_ERR_INTERNAL when echo cannot be turned
 * off (then nothing is read).
 */
static int
read_line(const char *prompt, int hide, char *buf, size_t size)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), r = SITHS_ERR_PIN_TOO_LONG;
	size_t n = 0;
	ssize_t got;
	char c;

	if (tty && hide) {
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return SITHS_ERR_INTERNAL;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
			return SITHS_ERR_INTERNAL;
	}
	if (tty)
		fprintf(stderr, "%s", prompt);
	for (;;) {
		got = read(STDIN_FILENO, &c, 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0 || c == '\n') {
			r = 0;
			break;
		}
		if (n + 1 >= size)
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	c = 0;
	if (tty && hide) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return r;
}

/*
 * A person with commissions in two organisations may carry a card with two
 * login certificates: list them and let the person choose. With one, the
 * library has chosen it already.
 */
static int
choose_identity(siths_ctx *ctx, siths_card *card)
{
	size_t idx[MAX_CHOICES], n = 0, i, pick;
	char answer[16], *end = NULL;
	unsigned long v;
	int r;

	if (siths_card_identity_count(card) <= 1)
		return 0;
	fprintf(stderr, "The card holds several identities:\n");
	for (i = 0; i < siths_card_cert_count(card) && n < MAX_CHOICES; i++) {
		if (siths_card_cert_kind_of(card, i) != SITHS_CARD_CERT_LOGIN)
			continue;       /* signature and other certificates never log in */
		idx[n++] = i;
		fprintf(stderr, "%zu) %s, %s (%s)\n", n, or_unknown(siths_card_cert_name(card, i)),
		    or_unknown(siths_card_cert_org(card, i)),
		    or_unknown(siths_card_cert_hsa_id(card, i)));
	}
	pick = 0;
	if (read_line("Choose an identity: ", 0, answer, sizeof(answer)) == 0) {
		v = strtoul(answer, &end, 10);
		if (answer[0] >= '1' && answer[0] <= '9' && *end == '\0' && v <= n)
			pick = (size_t)v;
	}
	if (pick == 0) {
		fprintf(stderr, "card-login: not a valid choice\n");
		return 1;
	}
	/* siths_card_choose() takes the certificate's index, not the number shown */
	if ((r = siths_card_choose(card, idx[pick - 1])) != 0)
		return fail(ctx, "identity", r);
	return 0;
}

/* Warn before the PIN is asked, so that nobody locks a card unwarned. */
static int
warn_pin_state(siths_ctx *ctx, siths_card *card, siths_pin_state *state)
{
	int r;

	if ((r = siths_card_pin_state(card, state)) != 0)
		return fail(ctx, "PIN state", r);
	if (*state & SITHS_PIN_LOCKED) {
		fprintf(stderr, "card-login: the PIN is locked; unlock the card with its PUK\n");
		return 1;
	}
	if (*state & SITHS_PIN_FINAL_TRY)
		fprintf(stderr, "Warning: last try. A wrong PIN now locks the card.\n");
	else if (*state & SITHS_PIN_COUNT_LOW)
		fprintf(stderr, "A wrong PIN has been entered before.\n");
	if (*state & SITHS_PIN_MUST_CHANGE)
		fprintf(stderr, "The card says its PIN must be changed.\n");
	return 0;
}

/* Log in to the card: from the reader's PIN pad, or with a PIN read here. */
static int
enter_pin(siths_ctx *ctx, siths_card *card, siths_pin_state before)
{
	char pin[LINE_MAX_BYTES];
	siths_pin_state after = 0;
	int r;

	if (before & SITHS_PIN_PAD) {
		/* NULL: the reader asks, within [card] pinpad_timeout_ms */
		fprintf(stderr, "Enter the PIN on the card reader's keypad.\n");
		r = siths_card_login(card, NULL, &after);
	} else if ((r = read_line("PIN: ", 1, pin, sizeof(pin))) == 0) {
		/* the library checks the PIN's form before the card sees it */
		r = siths_card_login(card, pin, &after);
	}
	explicit_bzero(pin, sizeof(pin));
	if (r == 0)
		return 0;
	r = fail(ctx, "PIN", r);
	/* the state after the try: warn in time for the next one */
	if (after & SITHS_PIN_FINAL_TRY)
		fprintf(stderr, "Warning: one try left before the PIN locks.\n");
	return r;
}

static void
print_identity(const siths_identity *id)
{
	const char *name = siths_identity_display_name(id);
	size_t i, n = siths_identity_role_count(id);

	if (name != NULL)
		printf("name: %s\n", name);
	else
		printf("name: %s %s\n", or_unknown(siths_identity_given_name(id)),
		    or_unknown(siths_identity_surname(id)));
	printf("hsa_id: %s\n", siths_identity_hsa_id(id));
	printf("organisation: %s (%s)\n", or_unknown(siths_identity_org_name(id)),
	    or_unknown(siths_identity_org_hsa_id(id)));
	printf("roles:");
	for (i = 0; i < n; i++)
		printf("%s%s", i > 0 ? ", " : " ", siths_identity_role(id, i));
	printf("%s\n", n == 0 ? " (none)" : "");
	printf("loa: %d\n", siths_identity_loa(id));
	if (siths_identity_stale(id))
		printf("note: the directory was unreachable; a cached entry was used\n");
}

int
main(int argc, char **argv)
{
	const char *pattern = argc > 1 ? argv[1] : NULL;
	siths_ctx *ctx = NULL;
	siths_card *card = NULL;
	siths_identity *id = NULL;
	siths_pin_state state = 0;
	char *login = NULL, *end = NULL;
	long seconds = 30;
	int r, code = 2;

	if (argc > 3 || (argc > 2 && ((seconds = strtol(argv[2], &end, 10)) < 0 ||
	    seconds > 3600 || *argv[2] == '\0' || *end != '\0'))) {
		fprintf(stderr, "usage: card-login [READER-PATTERN [SECONDS]]\n");
		return 2;
	}
	lang = pick_lang();

	/* create + load rather than siths_ctx_new(): a configuration error keeps
	 * its detail (file, line, key) in siths_ctx_errmsg(), and the library
	 * logs through our callback from the start */
	if ((r = siths_ctx_create(&ctx)) != 0)
		return fail(NULL, "context", r);
	siths_ctx_set_log(ctx, log_to_stderr, NULL);
	siths_ctx_set_log_level(ctx, SITHS_LOG_WARNING);
	if ((r = siths_ctx_load(ctx, getenv("SITHS_CONF"))) != 0) {
		code = fail(ctx, "configuration", r);
		goto out;
	}

	if ((r = siths_card_wait(ctx, pattern, (int)seconds * 1000, &card)) != 0) {
		code = fail(ctx, "card", r);
		goto out;
	}
	fprintf(stderr, "Card '%s' in '%s'\n", or_unknown(siths_card_token_label(card)),
	    or_unknown(siths_card_reader(card)));

	if ((code = choose_identity(ctx, card)) != 0 ||
	    (code = warn_pin_state(ctx, card, &state)) != 0 ||
	    (code = enter_pin(ctx, card, state)) != 0)
		goto out;

	/* challenge, proof of possession, validation, HSA lookup */
	if ((r = siths_card_authenticate(card, &id)) != 0) {
		code = fail(ctx, "login refused", r);
		goto out;
	}
	print_identity(id);

	/* [pam] user_map: which local account this person gets */
	if ((r = siths_map_user(ctx, id, &login)) != 0) {
		code = fail(ctx, "local user", r);
		goto out;
	}
	printf("local_user: %s\n", login);
	/* success */
	code = 0;
out:
	free(login);
	siths_identity_free(&id);
	siths_card_free(&card);         /* every card before its context */
	siths_ctx_free(&ctx);
	return code;
}
