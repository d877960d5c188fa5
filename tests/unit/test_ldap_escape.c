/*
 * test_ldap_escape.c - siths_ldap_escape(): RFC 4515 escaping of the values
 * that reach an LDAP search filter. The HSA-id comes from a certificate,
 * so anything a certificate can hold must come out as a plain value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hsa.h"

/* Escape len bytes of value and compare with want. */
static void
check(const char *value, size_t len, const char *want)
{
	char *out = NULL;

	assert_int_equal(siths_ldap_escape(value, len, &out), 0);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void
test_specials(void **state)
{
	(void)state;
	check("(", 1, "\\28");
	check(")", 1, "\\29");
	check("*", 1, "\\2A");
	check("\\", 1, "\\5C");
	check("a(b)c*d\\e", 9, "a\\28b\\29c\\2Ad\\5Ce");
}

/* The classic injection: it must stay one value, not become filter syntax. */
static void
test_injection(void **state)
{
	const char *v = "*)(hsaIdentity=*))(|(hsaIdentity=*";

	(void)state;
	check(v, strlen(v), "\\2A\\29\\28hsaIdentity=\\2A\\29\\29\\28|\\28hsaIdentity=\\2A");
}

/* A NUL inside the length is data, not the end of the string. */
static void
test_nul_inside(void **state)
{
	(void)state;
	check("SE\0x", 4, "SE\\00x");
	check("\0", 1, "\\00");
	check("ab", 3, "ab\\00");
}

/* Only len bytes are read. */
static void
test_length_bounds(void **state)
{
	(void)state;
	check("abc)", 3, "abc");
}

static void
test_utf8_unchanged(void **state)
{
	const char *v = "\xc3\xa5\xc3\xa4\xc3\xb6 \xc3\x85\xc3\x84\xc3\x96"; /* åäö ÅÄÖ */

	(void)state;
	check(v, strlen(v), v);
	v = "S\xc3\xb6" "der\xc3\xa5s (kommun)";
	check(v, strlen(v), "S\xc3\xb6" "der\xc3\xa5s \\28kommun\\29");
}

/* Octets that are not well-formed UTF-8 are escaped, one by one. */
static void
test_bad_utf8_escaped(void **state)
{
	(void)state;
	check("\xc3(", 2, "\\C3\\28");            /* lead byte without continuation */
	check("\xc0\xa8", 2, "\\C0\\A8");         /* overlong '(' */
	check("\xed\xa0\x80", 3, "\\ED\\A0\\80"); /* surrogate */
	check("\xff", 1, "\\FF");
	check("\xc3", 1, "\\C3");                 /* cut short */
}

/* Control characters are escaped too (libldap's choice; harmless). */
static void
test_controls(void **state)
{
	(void)state;
	check("a\nb", 3, "a\\0Ab");
}

static void
test_empty(void **state)
{
	(void)state;
	check("", 0, "");
}

static void
test_hsa_ids_unchanged(void **state)
{
	const char *id = "SE2120001231-A1B2C3D4E5F6G7H8I9";
	const char *test_id = "TSTNMT2321000156-1003";
	const char *printable = "SE0123456789-az AZ'+,-./:=?";

	(void)state;
	assert_int_equal(strlen(id), 31);
	check(id, strlen(id), id);
	check(test_id, strlen(test_id), test_id);
	check(printable, strlen(printable), printable);
}

static void
test_bad_arguments(void **state)
{
	char *out = (char *)(uintptr_t)"not cleared";

	(void)state;
	assert_int_equal(siths_ldap_escape(NULL, 0, &out), SITHS_ERR_INVALID_ARGUMENT);
	assert_null(out);
	assert_int_equal(siths_ldap_escape("x", 1, NULL), SITHS_ERR_INVALID_ARGUMENT);
	assert_int_equal(siths_ldap_escape("x", SIZE_MAX, &out), SITHS_ERR_INVALID_ARGUMENT);
	assert_null(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_nul_inside),
		cmocka_unit_test(test_length_bounds),
		cmocka_unit_test(test_utf8_unchanged),
		cmocka_unit_test(test_bad_utf8_escaped),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_hsa_ids_unchanged),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
