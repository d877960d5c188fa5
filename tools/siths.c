/*
 * siths.c - the `siths` command: verify a certificate, look a person up in
 * HSA, log in with a card, follow card events, see sithsd's status and
 * flush its caches. One JSON object on stdout
 * (events: one a line); exit 0 yes, 1 no, 2 usage, configuration or
 * environment trouble.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cardinfo.h"
#include "i18n.h"
#include "output.h"
#include "siths.h"

/* What a person reads, in the locale's language (xgettext's keyword _). */
#define _(msgid) siths_i18n_text(NULL, msgid)

/* A certificate file larger than this is not a certificate. */
#define MAX_CERT_FILE (1024 * 1024)
/* A PIN line longer than this is refused without being looked at. */
#define MAX_PIN_LINE 64

struct args {
	const char *config;
	const char *command;
	const char *operand;
	const char *operand2;           /* cache flush's HSA-ID */
	const char *profile;
	const char *at;
	const char *untrusted;
	const char *reader;
	const char *wait;
	const char *identity;
	const char *count;
	int no_revocation;
	int pin_stdin;
	int debug;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: siths [--config FILE] [--debug] COMMAND ...\n"
	    "  siths verify [--profile login|function|chain] [--at UNIXTIME]\n"
	    "               [--untrusted FILE] [--no-revocation] CERT\n"
	    "  siths lookup HSA-ID\n"
	    "  siths login [--reader PATTERN] [--wait SECONDS] [--identity HSA-ID]\n"
	    "              [--pin-stdin]\n"
	    "  siths readers\n"
	    "  siths events [--reader PATTERN] [--count N] [--wait SECONDS]\n"
	    "  siths status\n"
	    "  siths cache flush [HSA-ID]\n"
	    "  siths --version\n");
	fprintf(f, "%s\n",
	    _("The configuration is --config, else $SITHS_CONF, else the built-in default."));
}

static void
log_to_stderr(void *userdata, int level, const char *message)
{
	static const char *const names[] = { "", "", "", "error", "warning", "notice", "info",
		"debug" };

	fprintf(stderr, "siths: %s: %s\n", names[level & 7], message);
}

static int
open_context(const struct args *a, siths_ctx **ctx)
{
	const char *path = a->config != NULL ? a->config : getenv("SITHS_CONF");
	int r;

	if ((r = siths_ctx_create(ctx)) != 0)
		return tool_print_error(r, NULL);
	siths_ctx_set_log(*ctx, log_to_stderr, NULL);
	siths_ctx_set_log_level(*ctx, a->debug ? SITHS_LOG_DEBUG : SITHS_LOG_WARNING);
	if ((r = siths_ctx_load(*ctx, path)) != 0)
		return tool_print_error(r, siths_ctx_errmsg(*ctx));
	return 0;
}

/* Read a whole small file; PEM is turned into DER. */
static int
read_cert(const char *path, unsigned char **der, size_t *len, char *err, size_t errlen)
{
	unsigned char *buf = NULL, *p;
	BIO *bio = NULL;
	X509 *x = NULL;
	FILE *f;
	size_t n;
	int dlen, r = -1;

	*der = NULL;
	snprintf(err, errlen, _("%s: out of memory"), path);
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(MAX_CERT_FILE + 1)) == NULL)
		goto out;
	n = fread(buf, 1, MAX_CERT_FILE + 1, f);
	if (n > MAX_CERT_FILE) {
		snprintf(err, errlen, _("%s: larger than %d bytes"), path, MAX_CERT_FILE);
		goto out;
	}
	if (n >= 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(buf, (int)n)) == NULL ||
		    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
		    (dlen = i2d_X509(x, NULL)) <= 0 || (p = malloc((size_t)dlen)) == NULL) {
			snprintf(err, errlen, _("%s: not a PEM certificate"), path);
			goto out;
		}
		*der = p;
		*len = (size_t)i2d_X509(x, &p);
	} else {
		*der = buf;
		*len = n;
		buf = NULL;     /* transferred */
	}
	r = 0;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	free(buf);
	fclose(f);
	return r;
}

/* Every certificate of a PEM file as an untrusted path helper. */
static int
add_untrusted(siths_verify_opts *opts, const char *path, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	X509 *x;
	BIO *bio;
	int n = 0, dlen, r = 0;

	if ((bio = BIO_new_file(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SITHS_ERR_INVALID_ARGUMENT;
	}
	while (r == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		der = NULL;
		if ((dlen = i2d_X509(x, &der)) <= 0)
			r = SITHS_ERR_CERT_PARSE;
		else
			r = siths_verify_opts_add_untrusted(opts, der, (size_t)dlen);
		OPENSSL_free(der);
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (r == 0 && n == 0)
		r = SITHS_ERR_CERT_PARSE;
	if (r != 0)
		snprintf(err, errlen, _("%s: unusable as --untrusted"), path);
	return r;
}

static int
build_verify_opts(const struct args *a, siths_verify_opts *opts, char *err, size_t errlen)
{
	char *end = NULL;
	long long at;

	if (a->profile != NULL) {
		siths_profile p;

		if (strcmp(a->profile, "login") == 0)
			p = SITHS_PROFILE_LOGIN;
		else if (strcmp(a->profile, "function") == 0)
			p = SITHS_PROFILE_FUNCTION;
		else if (strcmp(a->profile, "chain") == 0)
			p = SITHS_PROFILE_CHAIN;
		else {
			snprintf(err, errlen, "%s", _("--profile takes login, function or chain"));
			return SITHS_ERR_INVALID_ARGUMENT;
		}
		siths_verify_opts_set_profile(opts, p);
	}
	if (a->at != NULL) {
		errno = 0;
		at = strtoll(a->at, &end, 10);
		if (*a->at == '\0' || *end != '\0' || errno != 0 ||
		    siths_verify_opts_set_time(opts, at) != 0) {
			snprintf(err, errlen, "%s", _("--at takes seconds since 1970"));
			return SITHS_ERR_INVALID_ARGUMENT;
		}
	}
	if (a->untrusted != NULL && add_untrusted(opts, a->untrusted, err, errlen) != 0)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_verify_opts_set_no_revocation(opts, a->no_revocation);
	return 0;
}

static int
cmd_verify(const struct args *a, siths_ctx *ctx)
{
	siths_verify_opts *opts = NULL;
	siths_identity *id = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char err[512];
	json_t *extra;
	int r, code;

	if (read_cert(a->operand, &der, &len, err, sizeof(err)) != 0)
		return tool_print_error(SITHS_ERR_INVALID_ARGUMENT, err);
	if ((r = siths_verify_opts_new(&opts)) != 0) {
		code = tool_print_error(r, NULL);
	} else if ((r = build_verify_opts(a, opts, err, sizeof(err))) != 0) {
		code = tool_print_error(r, err);
	} else if ((r = siths_verify_cert(ctx, der, len, opts, &id)) != 0) {
		code = tool_print_error(r, siths_ctx_errmsg(ctx));
	} else {
		extra = json_pack("{s:s}", "profile", a->profile ? a->profile : "login");
		code = tool_print_identity("certificate_holder", id, extra);
	}
	siths_identity_free(&id);
	siths_verify_opts_free(&opts);
	free(der);
	return code;
}

static int
cmd_lookup(const struct args *a, siths_ctx *ctx)
{
	siths_identity *id = NULL;
	int r, code;

	if ((r = siths_hsa_resolve(ctx, a->operand, &id)) != 0)
		return tool_print_error(r, siths_ctx_errmsg(ctx));
	code = tool_print_identity("identity", id, NULL);
	siths_identity_free(&id);
	return code;
}

/* What the validator (sithsd, or this process's context) knows of itself. */
static int
cmd_status(const struct args *a, siths_ctx *ctx)
{
	json_t *o, *report;
	char *text = NULL;
	int r;

	if ((r = siths_status_json(ctx, &text)) != 0)
		return tool_print_error(r, siths_ctx_errmsg(ctx));
	report = json_loads(text, 0, NULL);
	free(text);
	if (report == NULL || (o = json_pack("{s:s, s:o}", "code", "SITHS_OK", "status",
	    report)) == NULL)
		return tool_print_error(SITHS_ERR_NOMEM, "out of memory");
	return tool_print_json(o);
}

static int
cmd_cache(const struct args *a, siths_ctx *ctx)
{
	int r;

	if ((r = siths_cache_flush(ctx, a->operand2)) != 0)
		return tool_print_error(r, siths_ctx_errmsg(ctx));
	return tool_print_json(json_pack("{s:s, s:s}", "code", "SITHS_OK", "flushed",
	    a->operand2 != NULL ? a->operand2 : "everything"));
}

/*
 * One line from stdin, byte by byte with read(2): stdio would keep its own
 * copy of the PIN in its buffer, beyond our reach to wipe. From a terminal
 * without echo; if echo cannot be turned off, nothing is read.
 * Returns 0, SITHS_ERR_PIN_TOO_LONG, or SITHS_ERR_INTERNAL (terminal trouble).
 */
static int
read_pin(int from_stdin, char *pin, size_t size)
{
	struct termios old, quiet;
	int tty = !from_stdin && isatty(STDIN_FILENO);
	size_t n = 0;
	ssize_t got;
	char c;
	int r = SITHS_ERR_PIN_TOO_LONG;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return SITHS_ERR_INTERNAL;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
			return SITHS_ERR_INTERNAL;
		fprintf(stderr, "%s", _("PIN: "));
	}
	for (;;) {
		got = read(STDIN_FILENO, &c, 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0 || c == '\n') {
			r = 0;
			break;
		}
		if (n + 1 >= size)
			break;  /* longer than any PIN: refuse, never cut */
		pin[n++] = c;
	}
	pin[n] = '\0';
	c = 0;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return r;
}

/* The PIN from stdin, or from the reader's own PIN pad when it has one. */
static int
login_with_pin(const struct args *a, siths_card *card, siths_identity **id,
    siths_pin_state *after)
{
	char pin[MAX_PIN_LINE + 2];
	siths_pin_state state = 0;
	int r;

	if ((r = siths_card_pin_state(card, &state)) != 0)
		return r;
	if (state & SITHS_PIN_FINAL_TRY)
		fprintf(stderr, "siths: %s\n", _("warning: last try before the PIN locks"));
	if (state & SITHS_PIN_PAD) {
		fprintf(stderr, "siths: %s\n", _("enter the PIN on the card reader's PIN pad"));
		r = siths_card_login(card, NULL, after);
	} else {
		if ((r = read_pin(a->pin_stdin, pin, sizeof(pin))) == 0)
			r = siths_card_login(card, pin, after);
		explicit_bzero(pin, sizeof(pin));
	}
	if (r == 0)
		r = siths_card_authenticate(card, id);
	return r;
}

static int
cmd_login(const struct args *a, siths_ctx *ctx)
{
	siths_identity *id = NULL;
	siths_card *card = NULL;
	siths_pin_state state = 0;
	json_t *extra;
	int r, code;

	char *end = NULL;
	long wait_s = 0;

	if (a->wait != NULL) {
		wait_s = strtol(a->wait, &end, 10);
		if (*a->wait == '\0' || *end != '\0' || wait_s < 0 || wait_s > 3600)
			return tool_print_error(SITHS_ERR_INVALID_ARGUMENT,
			    _("--wait takes whole seconds from 0 to 3600"));
	}
	if ((r = siths_card_wait(ctx, a->reader, (int)wait_s * 1000, &card)) != 0)
		return tool_print_error(r, siths_ctx_errmsg(ctx));
	if (a->identity != NULL && (r = tool_card_choose(card, a->identity)) != 0) {
		code = tool_print_error(r, r == SITHS_ERR_CARD_NO_CERT ?
		    _("the card holds no login certificate for that HSA-id") :
		    siths_ctx_errmsg(ctx));
		siths_card_free(&card);
		return code;
	}
	if ((r = login_with_pin(a, card, &id, &state)) != 0) {
		/* the PIN state after the try, so that a person is warned in time */
		code = tool_print_error_with(r, siths_ctx_errmsg(ctx),
		    json_pack("{s:o}", "pin_state", tool_pin_state_json(state)));
		if (state & SITHS_PIN_FINAL_TRY)
			fprintf(stderr, "siths: %s\n",
			    _("warning: one try left before the PIN locks"));
	} else {
		extra = json_pack("{s:s, s:s, s:i, s:i}", "reader", siths_card_reader(card),
		    "token", siths_card_token_label(card), "identities",
		    (int)siths_card_identity_count(card), "certificate",
		    (int)siths_card_chosen(card));
		code = tool_print_identity("identity", id, extra);
	}
	siths_identity_free(&id);
	siths_card_free(&card);
	return code;
}

/* One JSON object on one line: the events command's output is a stream. */
static int
print_line(json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int r = -1;

	json_decref(obj);
	if (text != NULL && printf("%s\n", text) > 0 && fflush(stdout) == 0)
		r = 0;
	free(text);
	return r;
}

/*
 * Card events, one JSON line each, until --count of them (0 when not given:
 * no end) or --wait seconds in all have passed: then a line with
 * SITHS_ERR_CARD_TIMEOUT and exit 1.
 */
static int
cmd_events(const struct args *a, siths_ctx *ctx)
{
	siths_card_events *ev = NULL;
	struct timespec end, now;
	long count = 0, wait_s = -1, seen = 0, left_ms = -1;
	char *reader = NULL, *stop = NULL, msg[128];
	int r, type, code = EXIT_YES;

	if (a->count != NULL) {
		count = strtol(a->count, &stop, 10);
		if (*a->count == '\0' || *stop != '\0' || count < 1 || count > 1000000)
			return tool_print_error(SITHS_ERR_INVALID_ARGUMENT,
			    "--count takes a number of events from 1 to 1000000");
	}
	if (a->wait != NULL) {
		wait_s = strtol(a->wait, &stop, 10);
		if (*a->wait == '\0' || *stop != '\0' || wait_s < 0 || wait_s > 3600)
			return tool_print_error(SITHS_ERR_INVALID_ARGUMENT,
			    _("--wait takes whole seconds from 0 to 3600"));
	}
	if ((r = siths_card_events_open(ctx, a->reader, &ev)) != 0)
		return tool_print_error(r, siths_ctx_errmsg(ctx));
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += wait_s;
	while (count == 0 || seen < count) {
		if (wait_s >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left_ms = (end.tv_sec - now.tv_sec) * 1000L +
			    (end.tv_nsec - now.tv_nsec) / 1000000L;
			left_ms = left_ms < 0 ? 0 : left_ms;
		}
		if ((r = siths_card_events_next(ev, (int)left_ms, &type, &reader)) ==
		    SITHS_ERR_CARD_TIMEOUT) {
			snprintf(msg, sizeof(msg), _("no card event within %ld s (--wait)"),
			    wait_s);
			print_line(json_pack("{s:s, s:s, s:i}", "code", siths_status_name(r),
			    "message", msg, "events", (int)seen));
			code = EXIT_NO;
			break;
		}
		if (r != 0) {
			code = tool_print_error(r, siths_ctx_errmsg(ctx));
			break;
		}
		r = print_line(json_pack("{s:s, s:s}", "event", siths_card_event_name(type),
		    "reader", reader));
		free(reader);
		reader = NULL;
		if (r != 0) {
			code = EXIT_TROUBLE;    /* stdout is gone */
			break;
		}
		seen++;
	}
	siths_card_events_free(&ev);
	return code;
}

/* Most cards looked at in one listing. */
#define MAX_LISTED_CARDS 16

/*
 * PC/SC readers, and every card the PKCS#11 module shows with the
 * certificates on it. Cards are kept open until the end, so that each
 * siths_card_open() finds the next one.
 */
static int
cmd_readers(const struct args *a, siths_ctx *ctx)
{
	siths_readers *rs = NULL;
	siths_card *cards[MAX_LISTED_CARDS];
	json_t *obj, *list = json_null(), *clist, *pcsc_error = NULL;
	size_t i, n = 0;
	int r, pcsc;

	(void)a;
	/* a software token has no reader: without pcscd its cards still count */
	if ((pcsc = siths_readers_list(ctx, &rs)) != 0) {
		pcsc_error = json_pack("{s:s, s:s}", "code", siths_status_name(pcsc), "message",
		    siths_ctx_errmsg(ctx));
	} else {
		list = json_array();
		for (i = 0; i < siths_readers_count(rs); i++)
			json_array_append_new(list, json_pack("{s:s, s:b}", "name",
			    siths_readers_name(rs, i), "card_present",
			    siths_readers_card_present(rs, i)));
		siths_readers_free(&rs);
	}
	clist = json_array();
	while (n < MAX_LISTED_CARDS && (r = siths_card_open(ctx, NULL, &cards[n])) == 0) {
		json_array_append_new(clist, tool_card_json(cards[n]));
		n++;
	}
	/* no (further) card is the listing's end; anything else is told */
	if (r != 0 && r != SITHS_ERR_CARD_ABSENT && r != SITHS_ERR_CARD_NO_CERT)
		fprintf(stderr, "siths: %s: %s\n", siths_status_name(r), siths_ctx_errmsg(ctx));
	for (i = 0; i < n; i++)
		siths_card_free(&cards[i]);
	if (pcsc != 0 && n == 0) {
		json_decref(clist);
		json_decref(list);
		return tool_print_error_with(pcsc, json_string_value(json_object_get(pcsc_error,
		    "message")), NULL);
	}
	obj = json_pack("{s:s, s:o, s:o}", "code", siths_status_name(SITHS_OK), "readers", list,
	    "cards", clist);
	if (pcsc_error != NULL)
		json_object_set(obj, "pcsc_error", pcsc_error);
	json_decref(pcsc_error);
	return tool_print_json(obj);
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "profile", required_argument, NULL, 'p' },
		{ "at", required_argument, NULL, 'a' },
		{ "untrusted", required_argument, NULL, 'u' },
		{ "no-revocation", no_argument, NULL, 'n' },
		{ "reader", required_argument, NULL, 'r' },
		{ "pin-stdin", no_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		{ "identity", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'd': a->debug = 1; break;
		case 'h': usage(stdout); exit(EXIT_YES);
		case 'V': a->command = "version"; break;
		case 'p': a->profile = optarg; break;
		case 'a': a->at = optarg; break;
		case 'u': a->untrusted = optarg; break;
		case 'n': a->no_revocation = 1; break;
		case 'r': a->reader = optarg; break;
		case 's': a->pin_stdin = 1; break;
		case 'w': a->wait = optarg; break;
		case 'i': a->identity = optarg; break;
		case 'k': a->count = optarg; break;
		default: return -1;
		}
	}
	if (a->command == NULL && optind < argc)
		a->command = argv[optind++];
	if (optind < argc)
		a->operand = argv[optind++];
	if (optind < argc)
		a->operand2 = argv[optind++];
	return optind == argc ? 0 : -1;
}

/* Options belong to their command; a stray one is a usage error. */
static int
args_fit(const struct args *a)
{
	int verify_opts = a->profile || a->at || a->untrusted || a->no_revocation;
	int login_opts = a->reader || a->pin_stdin || a->wait || a->identity;

	if (a->command == NULL)
		return 0;
	if (strcmp(a->command, "cache") == 0)
		return a->operand != NULL && strcmp(a->operand, "flush") == 0 && !login_opts &&
		    !verify_opts && a->count == NULL;
	if (a->operand2 != NULL)
		return 0;
	if (strcmp(a->command, "events") == 0)
		return a->operand == NULL && !verify_opts && !a->pin_stdin && !a->identity;
	if (a->count != NULL)
		return 0;
	if (strcmp(a->command, "verify") == 0)
		return a->operand != NULL && !login_opts;
	if (strcmp(a->command, "lookup") == 0)
		return a->operand != NULL && !login_opts && !verify_opts;
	if (strcmp(a->command, "login") == 0)
		return a->operand == NULL && !verify_opts;
	if (strcmp(a->command, "version") == 0 || strcmp(a->command, "readers") == 0 ||
	    strcmp(a->command, "status") == 0)
		return a->operand == NULL && !login_opts && !verify_opts;
	return 0;
}

int
main(int argc, char **argv)
{
	siths_ctx *ctx = NULL;
	struct args a;
	int code;

	setlocale(LC_ALL, "");
	if (parse_args(argc, argv, &a) != 0 || !args_fit(&a)) {
		usage(stderr);
		return tool_print_error(SITHS_ERR_INVALID_ARGUMENT, _("usage: see siths --help"));
	}
	if (strcmp(a.command, "version") == 0) {
		printf("{\n  \"code\": \"SITHS_OK\",\n  \"version\": \"%s\"\n}\n", siths_version());
		return EXIT_YES;
	}
	if ((code = open_context(&a, &ctx)) != 0) {
		siths_ctx_free(&ctx);
		return code;
	}
	if (strcmp(a.command, "verify") == 0)
		code = cmd_verify(&a, ctx);
	else if (strcmp(a.command, "lookup") == 0)
		code = cmd_lookup(&a, ctx);
	else if (strcmp(a.command, "readers") == 0)
		code = cmd_readers(&a, ctx);
	else if (strcmp(a.command, "events") == 0)
		code = cmd_events(&a, ctx);
	else if (strcmp(a.command, "status") == 0)
		code = cmd_status(&a, ctx);
	else if (strcmp(a.command, "cache") == 0)
		code = cmd_cache(&a, ctx);
	else
		code = cmd_login(&a, ctx);
	siths_ctx_free(&ctx);
	return code;
}
