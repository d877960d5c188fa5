/*
 * test_i18n.c - every sentence of the libsiths text domain
 * (po/libsiths.pot) in Swedish for lang "sv" and under a Swedish locale,
 * in English for "en" and under the C locale; a translation whose printf
 * conversions differ from its msgid's is never used.
 *
 * Needs the build tree's catalog (SITHS_LOCALEDIR) and a Swedish locale
 * (LOCPATH), both set by make check.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "i18n.h"
#include "siths.h"

#define MAX_IDS 512
#define MAX_ID_LEN 1024

static char *ids[MAX_IDS];
static size_t n_ids;

/* Append the C string literal at p ("...") to out, unescaped. */
static void
append_literal(const char *p, char *out, size_t cap)
{
	size_t n = strlen(out);

	for (p = strchr(p, '"') + 1; *p != '\0' && *p != '"' && n + 1 < cap; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* The msgids of po/libsiths.pot, the header's empty one left out. */
static int
read_template(void **state)
{
	char path[4096], line[MAX_ID_LEN], id[MAX_ID_LEN] = "";
	const char *src = getenv("SITHS_SRCDIR");
	int in_id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/po/libsiths.pot", src != NULL ? src : "../..");
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "msgid \"", 7) == 0) {
			id[0] = '\0';
			append_literal(line, id, sizeof(id));
			in_id = 1;
		} else if (in_id && line[0] == '"') {
			append_literal(line, id, sizeof(id));
		} else if (in_id) {
			in_id = 0;
			if (id[0] != '\0' && n_ids < MAX_IDS)
				ids[n_ids++] = strdup(id);
		}
	}
	fclose(f);
	return n_ids >= 90 ? 0 : -1;
}

static int
free_template(void **state)
{
	while (n_ids > 0)
		free(ids[--n_ids]);
	return 0;
}

static void
test_swedish_for_sv(void **state)
{
	size_t i;

	assert_true(siths_i18n_available("sv"));
	for (i = 0; i < n_ids; i++) {
		const char *sv = siths_i18n_text("sv", ids[i]);

		/* every sentence reads differently in Swedish */
		if (strcmp(sv, ids[i]) == 0)
			fail_msg("no Swedish for \"%s\"", ids[i]);
		assert_string_equal(siths_i18n_text("sv_SE.UTF-8", ids[i]), sv);
		assert_string_equal(siths_i18n_text("sv-FI", ids[i]), sv);
	}
	assert_string_equal(siths_i18n_text("sv", "Wrong PIN."), "Fel PIN-kod.");
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, "sv"), "fel PIN-kod");
}

static void
test_english_otherwise(void **state)
{
	size_t i;

	for (i = 0; i < n_ids; i++) {
		assert_string_equal(siths_i18n_text("en", ids[i]), ids[i]);
		assert_string_equal(siths_i18n_text("C", ids[i]), ids[i]);
		/* not Swedish though it starts alike */
		assert_string_equal(siths_i18n_text("svx", ids[i]), ids[i]);
		/* the process's locale is C: the locale's language is English */
		assert_string_equal(siths_i18n_text(NULL, ids[i]), ids[i]);
	}
}

/* lang NULL follows the thread's locale, as a login program sets it. */
static void
test_locale_decides_without_lang(void **state)
{
	locale_t sv = newlocale(LC_ALL_MASK, "sv_SE.UTF-8", (locale_t)0), before;
	size_t i;

	if (sv == (locale_t)0)
		fail_msg("no sv_SE.UTF-8 locale (LOCPATH=%s)", getenv("LOCPATH"));
	before = uselocale(sv);
	for (i = 0; i < n_ids; i++)
		assert_string_equal(siths_i18n_text(NULL, ids[i]), siths_i18n_text("sv", ids[i]));
	/* an explicit language wins over the locale */
	assert_string_equal(siths_i18n_text("en", "Wrong PIN."), "Wrong PIN.");
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, NULL), "fel PIN-kod");
	uselocale(before);
	freelocale(sv);
	assert_string_equal(siths_strerror_lang(SITHS_ERR_PIN_INCORRECT, NULL), "wrong PIN");
}

/* A catalog cannot change what a sentence's arguments are read as. */
static void
test_conversions_must_match(void **state)
{
	assert_true(siths_i18n_same_conversions("Login refused: %s.", "Nekad: %s."));
	assert_true(siths_i18n_same_conversions("%d to %d", "%d till %d"));
	assert_true(siths_i18n_same_conversions("100%% sure", "helt säker"));
	assert_true(siths_i18n_same_conversions("no format", "inget format"));
	assert_false(siths_i18n_same_conversions("Login refused: %s.", "Nekad: %n%s."));
	assert_false(siths_i18n_same_conversions("Login refused: %s.", "Nekad."));
	assert_false(siths_i18n_same_conversions("%d to %d", "%s till %d"));
	assert_false(siths_i18n_same_conversions("%d to %d", "%d till %d %d"));
	assert_false(siths_i18n_same_conversions("%ld s", "%d s"));
	assert_false(siths_i18n_same_conversions("plain", "%s"));
	assert_false(siths_i18n_same_conversions("plain", "%"));
	assert_string_equal(siths_i18n_text("sv", NULL), "");
	assert_string_equal(siths_i18n_text("sv", ""), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swedish_for_sv),
		cmocka_unit_test(test_english_otherwise),
		cmocka_unit_test(test_locale_decides_without_lang),
		cmocka_unit_test(test_conversions_must_match),
	};

	/* the Swedish locale make check compiled (tests/Makefile.inc) */
	if (getenv("SITHS_TEST_LOCPATH") != NULL)
		setenv("LOCPATH", getenv("SITHS_TEST_LOCPATH"), 1);

	return cmocka_run_group_tests(tests, read_template, free_template);
}
