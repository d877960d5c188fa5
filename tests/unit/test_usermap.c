/*
 * test_usermap.c - HSA-id to local user: the map file's format, unknown
 * users, root, and unsafe map files; and the login name from an attribute
 * of the person's HSA entry (user_map = attr:), under the same rules.
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
#include "ctx.h"
#include "identity.h"
#include "siths.h"

struct fixture {
	char dir[64];
	char map[128];
	siths_ctx *ctx;
	struct siths_identity *id;
};

static void
write_map(struct fixture *f, const char *text, mode_t mode)
{
	FILE *fp = fopen(f->map, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(f->map, mode), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char conf[512], err[512];

	strcpy(f->dir, "/tmp/siths-map-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->map, sizeof(f->map), "%s/users.map", f->dir);
	snprintf(conf, sizeof(conf), "[trust]\nanchors = /r.pem\n[pam]\nuser_map = file:%s\n",
	    f->map);
	if (siths_ctx_create(&f->ctx) != 0 ||
	    siths_config_parse_string(&f->ctx->cfg, conf, "test.conf", err, sizeof(err)) != 0)
		return -1;
	f->id = siths_identity_new();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->map);
	rmdir(f->dir);
	siths_identity_free(&f->id);
	siths_ctx_free(&f->ctx);
	free(f);
	return 0;
}

static int
map(struct fixture *f, const char *hsa_id, char **login)
{
	siths_identity_set(&f->id->hsa_id, hsa_id);
	return siths_map_user(f->ctx, f->id, login);
}

static void
test_mapping(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	write_map(f, "# HSA-id  login\n\nSE2120001231-1001   nobody   # a comment\n"
	    "SE2120001231-1002\troot\nSE2120001231-1003 no-such-user-xyz\n", 0644);
	assert_int_equal(map(f, "SE2120001231-1001", &login), 0);
	assert_string_equal(login, "nobody");
	free(login);
	login = NULL;
	assert_int_equal(map(f, "SE2120001231-1002", &login), SITHS_ERR_POLICY_ROOT_DENIED);
	assert_int_equal(map(f, "SE2120001231-1003", &login), SITHS_ERR_POLICY_UNKNOWN_USER);
	assert_int_equal(map(f, "SE2120001231-1009", &login), SITHS_ERR_POLICY_NO_MAPPING);
	/* a prefix of a listed id is not that id */
	assert_int_equal(map(f, "SE2120001231-100", &login), SITHS_ERR_POLICY_NO_MAPPING);
	assert_null(login);
}

static void
test_allow_root(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	write_map(f, "SE2120001231-1002 root\n", 0644);
	f->ctx->cfg->allow_root = 1;
	assert_int_equal(map(f, "SE2120001231-1002", &login), 0);
	assert_string_equal(login, "root");
	free(login);
}

static void
test_malformed(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	write_map(f, "SE2120001231-1001 nobody\nSE2120001231-1002\n", 0644);
	assert_int_equal(map(f, "SE2120001231-1001", &login), SITHS_ERR_POLICY_MAP_FILE);
	assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "users.map:2:"));
	write_map(f, "\n\nSE2120001231-1001 nobody extra\n", 0644);
	assert_int_equal(map(f, "SE2120001231-1001", &login), SITHS_ERR_POLICY_MAP_FILE);
	assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "users.map:3:"));
	write_map(f, "SE2120001231-1001 bad/name\n", 0644);
	assert_int_equal(map(f, "SE2120001231-1001", &login), SITHS_ERR_POLICY_MAP_FILE);
	assert_null(login);
}

static void
test_unsafe_file(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	write_map(f, "SE2120001231-1001 nobody\n", 0666);
	assert_int_equal(map(f, "SE2120001231-1001", &login), SITHS_ERR_POLICY_MAP_FILE);
	assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "writable"));
	unlink(f->map);
	assert_int_equal(map(f, "SE2120001231-1001", &login), SITHS_ERR_POLICY_MAP_FILE);
	assert_null(login);
}

/* A context with user_map = attr:uid and an identity as the directory gives it. */
static int
setup_attr(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL || siths_ctx_create(&f->ctx) != 0 ||
	    siths_config_parse_string(&f->ctx->cfg,
	    "[trust]\nanchors = /r.pem\n[pam]\nuser_map = attr:uid\n", "test.conf", err,
	    sizeof(err)) != 0 || (f->id = siths_identity_new()) == NULL)
		return -1;
	siths_identity_set(&f->id->hsa_id, "SE2120001231-1001");
	f->id->from_directory = 1;
	*state = f;
	return 0;
}

static int
teardown_attr(void **state)
{
	struct fixture *f = *state;

	siths_identity_free(&f->id);
	siths_ctx_free(&f->ctx);
	free(f);
	return 0;
}

/* Map with the attribute holding value (NULL: absent) as its only value. */
static int
map_attr(struct fixture *f, const char *value, char **login)
{
	siths_identity_set(&f->id->map_login, value);
	f->id->map_login_values = value != NULL;
	return siths_map_user(f->ctx, f->id, login);
}

static void
test_attr_mapping(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	assert_int_equal(map_attr(f, "nobody", &login), 0);
	assert_string_equal(login, "nobody");
	free(login);
	login = NULL;
	assert_int_equal(map_attr(f, "root", &login), SITHS_ERR_POLICY_ROOT_DENIED);
	assert_int_equal(map_attr(f, "no-such-user-xyz", &login), SITHS_ERR_POLICY_UNKNOWN_USER);
	assert_int_equal(map_attr(f, NULL, &login), SITHS_ERR_POLICY_NO_MAPPING);
	assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "has no uid"));
	assert_null(login);
	/* no map file is read: with one the fixture never wrote, nobody would fail */
	f->ctx->cfg->allow_root = 1;
	assert_int_equal(map_attr(f, "root", &login), 0);
	assert_string_equal(login, "root");
	free(login);
}

static void
test_attr_not_one_value(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	/* hsa_map.c keeps no value when there are several: none to pick from */
	siths_identity_set(&f->id->map_login, NULL);
	f->id->map_login_values = 2;
	assert_int_equal(siths_map_user(f->ctx, f->id, &login), SITHS_ERR_POLICY_NO_MAPPING);
	assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "ambiguous"));
	/* and were one kept anyway, the count still decides */
	siths_identity_set(&f->id->map_login, "nobody");
	assert_int_equal(siths_map_user(f->ctx, f->id, &login), SITHS_ERR_POLICY_NO_MAPPING);
	assert_null(login);
}

static void
test_attr_bad_names(void **state)
{
	static const char *const bad[] = {
		"", "-nobody", "no body", "nobody\n", "bad/name", "nobody@example",
		"n\xc3\xb6" "body", "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
	};
	struct fixture *f = *state;
	char *login = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (map_attr(f, bad[i], &login) != SITHS_ERR_POLICY_NO_MAPPING)
			fail_msg("'%s' taken as a login name", bad[i]);
		assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "not a login name"));
		/* the directory's value is not repeated in the message */
		if (*bad[i] != '\0')
			assert_null(strstr(siths_ctx_errmsg(f->ctx), bad[i]));
		assert_null(login);
	}
	/* 32 characters is the longest name: refused only as unknown */
	assert_int_equal(map_attr(f, "abcdefghijklmnopqrstuvwxyz012345", &login),
	    SITHS_ERR_POLICY_UNKNOWN_USER);
}

static void
test_attr_needs_directory(void **state)
{
	struct fixture *f = *state;
	char *login = NULL;

	f->id->from_directory = 0;
	assert_int_equal(map_attr(f, "nobody", &login), SITHS_ERR_POLICY_NO_MAPPING);
	assert_non_null(strstr(siths_ctx_errmsg(f->ctx), "directory"));
	assert_null(login);
}

/* The HSA cache hands out copies: the value and its count must survive them. */
static void
test_attr_copied(void **state)
{
	struct fixture *f = *state;
	struct siths_identity *copy;
	char *login = NULL;

	siths_identity_set(&f->id->map_login, "nobody");
	f->id->map_login_values = 1;
	assert_non_null(copy = siths_identity_dup(f->id));
	assert_int_equal(siths_map_user(f->ctx, copy, &login), 0);
	assert_string_equal(login, "nobody");
	free(login);
	login = NULL;
	siths_identity_free(&copy);
	f->id->map_login_values = 3;
	assert_non_null(copy = siths_identity_dup(f->id));
	assert_int_equal(siths_map_user(f->ctx, copy, &login), SITHS_ERR_POLICY_NO_MAPPING);
	siths_identity_free(&copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attr_mapping, setup_attr, teardown_attr),
		cmocka_unit_test_setup_teardown(test_attr_not_one_value, setup_attr, teardown_attr),
		cmocka_unit_test_setup_teardown(test_attr_bad_names, setup_attr, teardown_attr),
		cmocka_unit_test_setup_teardown(test_attr_needs_directory, setup_attr,
		    teardown_attr),
		cmocka_unit_test_setup_teardown(test_attr_copied, setup_attr, teardown_attr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
