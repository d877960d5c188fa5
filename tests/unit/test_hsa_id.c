/*
 * test_hsa_id.c - the HSA-id: taken from exactly one PrintableString
 * serialNumber, and checked for prefix, organisation number with its Luhn
 * digit, local part and length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cert.h"
#include "siths.h"
#include "testcert.h"

#define PS V_ASN1_PRINTABLESTRING
#define UTF8 MBSTRING_UTF8

/* Extract with the subject shape of a SITHS person certificate. */
static int
extract(const char *serial, int type, int twice, char **out)
{
	struct testcert_attr attrs[] = {
		{ NID_countryName, PS, "SE" },
		{ NID_localityName, UTF8, "Västra Götalands län" },
		{ NID_organizationName, UTF8, "Norrby kommun" },
		{ NID_commonName, UTF8, "Anna Åkesson" },
		{ NID_surname, UTF8, "Åkesson" },
		{ NID_givenName, UTF8, "Anna" },
		{ NID_serialNumber, type, serial },
		{ NID_serialNumber, type, serial },
	};
	size_t n = serial == NULL ? 6 : twice ? 8 : 7;
	X509 *x = testcert_make(attrs, n);
	int r;

	assert_non_null(x);
	r = siths_cert_hsa_id(NULL, x, out);
	X509_free(x);
	return r;
}

static void
test_extract(void **state)
{
	char *id = NULL;

	assert_int_equal(extract("SE2120001231-1001", PS, 0, &id), 0);
	assert_string_equal(id, "SE2120001231-1001");
	free(id);
	id = NULL;
	assert_int_equal(extract(NULL, PS, 0, &id), SITHS_ERR_CERT_NO_HSA_ID);
	assert_null(id);
	assert_int_equal(extract("SE2120001231-1001", PS, 1, &id), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(extract("SE2120001231-1001", V_ASN1_UTF8STRING, 0, &id),
	    SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(extract("SE2120001231-1234567890123456789", PS, 0, &id),
	    SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_null(id);
}

static void
test_form(void **state)
{
	char tst[] = "TSTNMT", se[] = "SE", s[] = "S", *both[] = { se, tst }, *nested[] = { s, se };
	struct siths_strlist test_prefixes = { both, 2 }, nested_prefixes = { nested, 2 };

	/* 212000-1231: a municipality's number, Luhn digit 1 */
	assert_int_equal(siths_hsa_id_check("SE2120001231-1001", NULL), 0);
	assert_int_equal(siths_hsa_id_check("SE2321000016-ABC(1)=/?", NULL), 0);
	/* 12 digits only with the 16 prefix */
	assert_int_equal(siths_hsa_id_check("SE162120001231-1", NULL), 0);
	assert_int_equal(siths_hsa_id_check("SE172120001231-1", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	/* bad Luhn digit */
	assert_int_equal(siths_hsa_id_check("SE2120001232-1001", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	/* wrong or missing prefix; test prefixes only when configured */
	assert_int_equal(siths_hsa_id_check("TSTNMT2321000156-B02", NULL),
	    SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("TSTNMT2321000156-B02", &test_prefixes), 0);
	assert_int_equal(siths_hsa_id_check("2120001231-1001", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	/* a shorter prefix that also matches does not hide the right one */
	assert_int_equal(siths_hsa_id_check("SE2120001231-1001", &nested_prefixes), 0);
	/* no dash, empty local part, short number, characters outside PrintableString */
	assert_int_equal(siths_hsa_id_check("SE21200012311001", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("SE2120001231-", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("SE212000123-1", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("SE2120001231-1*", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("SE2120001231-1\\", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("SE2120001231-Ö", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	/* 31 characters at most */
	assert_int_equal(siths_hsa_id_check("SE2120001231-123456789012345678", NULL), 0);
	assert_int_equal(siths_hsa_id_check("SE2120001231-1234567890123456789", NULL),
	    SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check("", NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
	assert_int_equal(siths_hsa_id_check(NULL, NULL), SITHS_ERR_CERT_HSA_ID_INVALID);
}

static void
test_signature_only(void **state)
{
	struct testcert_attr attrs[] = { { NID_commonName, UTF8, "x" } };
	X509 *x = testcert_make(attrs, 1);

	assert_non_null(x);
	/* no keyUsage extension at all: not a signature certificate by that rule */
	assert_int_equal(siths_cert_is_signature_only(x), 0);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_signature_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
