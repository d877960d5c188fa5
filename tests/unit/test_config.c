/*
 * test_config.c - siths.conf parsing: defaults, every kind of bad value,
 * and safe opening (symlink, mode, relative path, size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "siths.h"

static const char minimal[] = "[trust]\nanchors = /etc/siths/roots.pem\n";

static int
parse(const char *text, struct siths_config **cfg, char *err, size_t errlen)
{
	return siths_config_parse_string(cfg, text, "/etc/siths/siths.conf", err, errlen);
}

/* Parse text expecting status; the message must contain want. */
static void
expect_error(const char *text, int status, const char *want)
{
	struct siths_config *cfg = NULL;
	char err[512];

	assert_int_equal(parse(text, &cfg, err, sizeof(err)), status);
	assert_null(cfg);
	if (strstr(err, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err, want);
}

static void
test_defaults(void **state)
{
	struct siths_config *cfg = NULL;
	char err[512];

	assert_int_equal(parse(minimal, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->anchors, "/etc/siths/roots.pem");
	assert_int_equal(cfg->min_loa, 3);
	assert_int_equal(cfg->require_eku, SITHS_EKU_CLIENT_AUTH);
	assert_int_equal(cfg->n_rev_methods, 2);
	assert_int_equal(cfg->rev_methods[0], SITHS_REV_OCSP);
	assert_int_equal(cfg->rev_soft, 0);
	assert_int_equal(cfg->pin_min, 6);
	assert_int_equal(cfg->pin_max, 8);
	assert_int_equal(cfg->card_timeout_ms, 10000);
	assert_int_equal(cfg->allow_root, 0);
	assert_int_equal(cfg->on_card_removal, SITHS_REMOVAL_NONE);
	assert_string_equal(cfg->user_map, "file:/etc/siths/users.map");
	assert_null(cfg->user_map_attr);
	assert_string_equal(cfg->hsa_base, "c=SE");
	assert_int_equal(cfg->hsa_id_prefixes.n, 1);
	assert_string_equal(cfg->hsa_id_prefixes.v[0], "SE");
	siths_config_free(&cfg);
	assert_null(cfg);
}

static void
test_full_contract(void **state)
{
	static const char text[] =
	    "[trust]\n"
	    "anchors        = /etc/siths/trust/roots.pem      ; trusted roots\n"
	    "intermediates  = /etc/siths/trust/intermediates\n"
	    "policy_loa     = 1.2.752.74.8.650:3, 2.999.74.8.2:2\n"
	    "min_loa        = 2\n"
	    "require_eku    = clientAuth\n"
	    "hsa_id_prefixes = SE, TSTNMT\n"
	    "[revocation]\n"
	    "mode = crl\n"
	    "on_unreachable = soft\n"
	    "crl_files = /a.crl /b.crl\n"
	    "timeout_ms = 3000\n"
	    "[hsa]\n"
	    "uri = ldaps://hsa1.example ldaps://hsa2.example\n"
	    "base = c=SE\n"
	    "bind = simple\n"
	    "bind_dn = cn=reader,c=SE\n"
	    "bind_password_file = /etc/siths/hsa.pw\n"
	    "[card]\n"
	    "pin_min = 6\n"
	    "pin_max = 8\n"
	    "timeout_ms = 2500\n"
	    "[pam]\n"
	    "user_map = file:/etc/siths/users.map\n"
	    "allow_root = yes\n"
	    "on_card_removal = logout\n";
	struct siths_config *cfg = NULL;
	char err[512];

	assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->n_policy_loa, 2);
	assert_string_equal(cfg->policy_loa[0].oid, "1.2.752.74.8.650");
	assert_int_equal(cfg->policy_loa[1].loa, 2);
	assert_int_equal(cfg->min_loa, 2);
	assert_int_equal(cfg->hsa_id_prefixes.n, 2);
	assert_string_equal(cfg->hsa_id_prefixes.v[1], "TSTNMT");
	assert_int_equal(cfg->n_rev_methods, 1);
	assert_int_equal(cfg->rev_methods[0], SITHS_REV_CRL);
	assert_int_equal(cfg->rev_soft, 1);
	assert_int_equal(cfg->crl_files.n, 2);
	assert_int_equal(cfg->hsa_uris.n, 2);
	assert_string_equal(cfg->hsa_uris.v[1], "ldaps://hsa2.example");
	assert_int_equal(cfg->hsa_bind, SITHS_BIND_SIMPLE);
	assert_int_equal(cfg->card_timeout_ms, 2500);
	assert_int_equal(cfg->allow_root, 1);
	assert_int_equal(cfg->on_card_removal, SITHS_REMOVAL_LOGOUT);
	assert_null(cfg->user_map_attr);
	siths_config_free(&cfg);
}

/* [pam] user_map = attr:NAME with text as NAME; cfg->user_map_attr must be want. */
static void
expect_map_attr(const char *text, const char *want)
{
	struct siths_config *cfg = NULL;
	char conf[512], err[512];

	snprintf(conf, sizeof(conf), "[trust]\nanchors = /r.pem\n[pam]\nuser_map = attr:%s\n",
	    text);
	if (parse(conf, &cfg, err, sizeof(err)) != 0)
		fail_msg("attr:%s refused: %s", text, err);
	assert_non_null(cfg->user_map_attr);
	assert_string_equal(cfg->user_map_attr, want);
	siths_config_free(&cfg);
}

static void
expect_map_attr_refused(const char *text)
{
	char conf[512];

	snprintf(conf, sizeof(conf), "[trust]\nanchors = /r.pem\n[pam]\nuser_map = attr:%s\n",
	    text);
	expect_error(conf, SITHS_ERR_CONFIG_VALUE, ":4: [pam] user_map:");
}

static void
test_user_map_attr(void **state)
{
	char name[80];

	expect_map_attr("uid", "uid");
	expect_map_attr("hsa-Login2", "hsa-Login2");
	/* 64 characters: the longest name taken */
	snprintf(name, sizeof(name), "a%063d", 0);
	expect_map_attr(name, name);
	expect_map_attr_refused("");
	expect_map_attr_refused("1uid");
	expect_map_attr_refused("-uid");
	expect_map_attr_refused("u_id");
	expect_map_attr_refused("u id");
	expect_map_attr_refused("uid;lang-sv");
	expect_map_attr_refused("uid)(objectClass=*");
	expect_map_attr_refused("0.9.2342.19200300.100.1.1");
	expect_map_attr_refused("\xc3\xa5ngest");
	snprintf(name, sizeof(name), "a%064d", 0);
	expect_map_attr_refused(name);
	/* the personal identity number only when the file allows it to be read */
	expect_error("[trust]\nanchors = /r.pem\n[pam]\n"
	    "user_map = attr:personalIdentityNumber\n", SITHS_ERR_CONFIG_VALUE,
	    "[hsa] personal_number = yes");
	expect_error("[trust]\nanchors = /r.pem\n[hsa.attributes]\npersonal_number = pnr\n"
	    "[pam]\nuser_map = attr:PNR\n", SITHS_ERR_CONFIG_VALUE, "personal_number = yes");
	expect_map_attr("personalIdentityNumber\n[hsa]\npersonal_number = yes",
	    "personalIdentityNumber");
}

static void
test_mode_none(void **state)
{
	struct siths_config *cfg = NULL;
	char err[512];

	assert_int_equal(parse("[trust]\nanchors=/r.pem\n[revocation]\nmode = none\n", &cfg, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->n_rev_methods, 0);
	siths_config_free(&cfg);
}

static void
test_errors_name_line_and_key(void **state)
{
	expect_error("[trust]\nanchors = /r.pem\nanchor = /x\n", SITHS_ERR_CONFIG_KEY,
	    "siths.conf:3: [trust] anchor: unknown key");
	expect_error("[trust]\nanchors = /r.pem\n[trusty]\nx = 1\n", SITHS_ERR_CONFIG_KEY,
	    ":4: unknown section [trusty]");
	expect_error("[trust]\nanchors = /r.pem\nanchors = /s.pem\n", SITHS_ERR_CONFIG_KEY,
	    ":3: [trust] anchors: given twice");
	expect_error("[trust]\nanchors = roots.pem\n", SITHS_ERR_CONFIG_VALUE,
	    ":2: [trust] anchors: 'roots.pem' is not an absolute path");
	expect_error("[trust]\nanchors = /r.pem\nmin_loa = 5\n", SITHS_ERR_CONFIG_VALUE,
	    ":3: [trust] min_loa: '5' is not a whole number from 1 to 4");
	expect_error("[trust]\nanchors = /r.pem\nmin_loa = 3x\n", SITHS_ERR_CONFIG_VALUE,
	    "min_loa");
	expect_error("[trust]\nanchors = /r.pem\npolicy_loa = 1.2.x:3\n", SITHS_ERR_CONFIG_VALUE,
	    "policy_loa");
	expect_error("[trust]\nanchors = /r.pem\npolicy_loa = 1.2.3\n", SITHS_ERR_CONFIG_VALUE,
	    "is not OID:LEVEL");
	expect_error("[trust]\nanchors = /r.pem\npolicy_loa = 1.2.3:9\n", SITHS_ERR_CONFIG_VALUE,
	    "level from 1 to 4");
	expect_error("[trust]\nanchors = /r.pem\nrequire_eku = emailProtection\n",
	    SITHS_ERR_CONFIG_VALUE, "require_eku");
	expect_error("[trust]\nanchors = /r.pem\n[revocation]\nmode = ocsp,ocsp\n",
	    SITHS_ERR_CONFIG_VALUE, "[revocation] mode");
	expect_error("[trust]\nanchors = /r.pem\n[revocation]\non_unreachable = maybe\n",
	    SITHS_ERR_CONFIG_VALUE, "on_unreachable");
	expect_error("[trust]\nanchors = /r.pem\n[pam]\non_card_removal = suspend\n",
	    SITHS_ERR_CONFIG_VALUE, "[pam] on_card_removal: 'suspend' is not lock, logout or none");
	expect_error("[trust]\nanchors = /r.pem\n[hsa]\nbind = kerberos\n",
	    SITHS_ERR_CONFIG_VALUE, "[hsa] bind");
	expect_error("[trust]\nanchors = /r.pem\n[hsa]\nbind = simple\n",
	    SITHS_ERR_CONFIG_MISSING, "bind_dn and bind_password_file");
	expect_error("[trust]\nanchors = /r.pem\n[card]\npin_min = 8\npin_max = 6\n",
	    SITHS_ERR_CONFIG_VALUE, "pin_min 8 is above pin_max 6");
	expect_error("[trust]\nanchors = /r.pem\n[card]\ntimeout_ms = 99\n",
	    SITHS_ERR_CONFIG_VALUE, "[card] timeout_ms: '99' is not a whole number from 100");
	expect_error("[trust]\nanchors = /r.pem\n[card]\ntimeout_ms = 600001\n",
	    SITHS_ERR_CONFIG_VALUE, "[card] timeout_ms");
	expect_error("[trust]\nanchors = /r.pem\n[pam]\nallow_root = maybe\n",
	    SITHS_ERR_CONFIG_VALUE, "allow_root");
	expect_error("[trust]\nanchors = /r.pem\n[pam]\nuser_map = users.map\n",
	    SITHS_ERR_CONFIG_VALUE, "user_map");
	expect_error("[hsa]\nbase = c=SE\n", SITHS_ERR_CONFIG_MISSING, "[trust] anchors: required");
	expect_error("[trust]\nanchors = /r.pem\nhsa_id_prefixes = SE,,TST\n",
	    SITHS_ERR_CONFIG_VALUE, "empty item");
	expect_error("[trust]\nanchors = /r.pem\npolicy_loa = 1.2.3:3,\n",
	    SITHS_ERR_CONFIG_VALUE, "empty item");
	expect_error("[trust]\nanchors = /r.pem\n[revocation]\nocsp_nonce = sometimes\n",
	    SITHS_ERR_CONFIG_VALUE, "ocsp_nonce");
}

static void
test_syntax(void **state)
{
	char longline[400];

	expect_error("[trust\nanchors = /r.pem\n", SITHS_ERR_CONFIG_SYNTAX, ":1: not a [section]");
	expect_error("[trust]\nanchors /r.pem\n", SITHS_ERR_CONFIG_SYNTAX, ":2: not a [section]");
	snprintf(longline, sizeof(longline), "[trust]\nanchors = /%0300d\n", 0);
	expect_error(longline, SITHS_ERR_CONFIG_SYNTAX, ":2: line longer than");
	/* an indented line would continue the previous value in inih: refused */
	expect_error("[trust]\nanchors = /r.pem\n  /more.pem\n", SITHS_ERR_CONFIG_SYNTAX, ":3:");
	expect_error("[trust]\nanchors = /r.pem\n  min_loa = 2\n", SITHS_ERR_CONFIG_KEY,
	    ":3: [trust] anchors: given twice");
	expect_error("[]\nanchors = /r.pem\n", SITHS_ERR_CONFIG_SYNTAX, ":1:");
	expect_error("[trust]\n= /r.pem\n", SITHS_ERR_CONFIG_SYNTAX, ":2:");
	/* inih would also split at ':'; a path with '=' in it must not sneak through */
	expect_error("[trust]\nanchors: /a=b\n", SITHS_ERR_CONFIG_SYNTAX, ":2:");
}

/* Files: written into a private directory for each case. */
static char *
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = NULL;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
test_safe_open(void **state)
{
	char dir[] = "/tmp/siths-config-XXXXXX", err[512], *good, *bad, *link = NULL;
	struct siths_config *cfg = NULL;
	char big[SITHS_CONFIG_MAX_BYTES + 100];

	assert_non_null(mkdtemp(dir));
	good = write_file(dir, "good.conf", minimal, 0644);
	assert_int_equal(siths_config_load(&cfg, good, err, sizeof(err)), 0);
	assert_string_equal(cfg->path, good);
	siths_config_free(&cfg);

	bad = write_file(dir, "world.conf", minimal, 0666);
	assert_int_equal(siths_config_load(&cfg, bad, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, "writable by group or others"));
	unlink(bad);
	free(bad);

	bad = write_file(dir, "group.conf", minimal, 0620);
	assert_int_equal(siths_config_load(&cfg, bad, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);
	unlink(bad);
	free(bad);

	assert_true(asprintf(&link, "%s/link.conf", dir) > 0);
	assert_int_equal(symlink(good, link), 0);
	assert_int_equal(siths_config_load(&cfg, link, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, "symbolic link"));
	unlink(link);

	assert_int_equal(siths_config_load(&cfg, "siths.conf", err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_int_equal(siths_config_load(&cfg, "/nonexistent/siths.conf", err, sizeof(err)),
	    SITHS_ERR_CONFIG_OPEN);
	assert_int_equal(siths_config_load(&cfg, dir, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);

	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad = write_file(dir, "big.conf", big, 0644);
	assert_int_equal(siths_config_load(&cfg, bad, err, sizeof(err)), SITHS_ERR_CONFIG_SYNTAX);
	assert_non_null(strstr(err, "larger than"));
	unlink(bad);
	free(bad);

	assert_null(cfg);
	unlink(good);
	free(good);
	free(link);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_contract),
		cmocka_unit_test(test_user_map_attr),
		cmocka_unit_test(test_mode_none),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_safe_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
