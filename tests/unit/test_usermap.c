/*
 * test_usermap.c - HSA-id to local user: the map file's format, unknown
 * users, root, and unsafe map files.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
