/*
 * test_parent_dirs.c - the directories above a security file are checked
 * too: a configuration, a user map, a trust file, a trust directory and a
 * CRL file under a world-writable parent are refused with that directory
 * named; under a sticky world-writable one (as /tmp) they are read; a
 * path that goes through a symlink kept in a writable directory, or through
 * a chain of links one of which sits in one, is refused even where the links
 * lead somewhere safe; and so is a link another user owns.
 *
 * Everything goes through the library's own entry points (siths_ctx_load,
 * siths_map_user, siths_read_secure_data) on files made in a private
 * directory under /tmp.
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

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "error.h"
#include "identity.h"
#include "secfile.h"
#include "siths.h"
#include "testpki.h"
#include "testfile.h"

/*
 * top (0700) holds: open/ (0777, anyone may rename in it), sticky/ (01777,
 * as /tmp), safe/ (0700), and open/link -> safe.
 */
struct tree {
	char top[64];
	char open[128], sticky[128], safe[128], link[192];
	struct testpki pki;
};

static struct tree t;

static void
write_root_pem(const char *path)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_true(PEM_write_X509(f, t.pki.root));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

static int
mkdir_mode(const char *path, mode_t mode)
{
	/* chmod after mkdir: the umask must not decide the test */
	return mkdir(path, 0700) == 0 && chmod(path, mode) == 0 ? 0 : -1;
}

static int
group_setup(void **state)
{
	memset(&t, 0, sizeof(t));
	strcpy(t.top, "/tmp/siths-parents-XXXXXX");
	if (mkdtemp(t.top) == NULL)
		return -1;
	snprintf(t.open, sizeof(t.open), "%s/open", t.top);
	snprintf(t.sticky, sizeof(t.sticky), "%s/sticky", t.top);
	snprintf(t.safe, sizeof(t.safe), "%s/safe", t.top);
	snprintf(t.link, sizeof(t.link), "%s/link", t.open);
	if (mkdir_mode(t.open, 0777) != 0 || mkdir_mode(t.sticky, 01777) != 0 ||
	    mkdir_mode(t.safe, 0700) != 0 || symlink(t.safe, t.link) != 0)
		return -1;
	return testpki_new(&t.pki, "http://127.0.0.1:1/ocsp", "http://127.0.0.1:1/crl");
}

static int
group_teardown(void **state)
{
	char cmd[128];

	testpki_free(&t.pki);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t.top);
	return system(cmd) == 0 ? 0 : -1;
}

/* In dir: roots.pem, and siths.conf naming it (plus extra lines). */
static void
make_config(const char *dir, const char *anchors, const char *extra, char *conf,
    size_t conflen)
{
	char text[1024];

	snprintf(conf, conflen, "%s/siths.conf", dir);
	snprintf(text, sizeof(text), "[trust]\nanchors = %s\n[revocation]\nmode = none\n%s",
	    anchors, extra);
	test_write_file(conf, text, 0644);
}

/* siths_ctx_load(conf) gives want; the message must name dir. */
static void
expect_load(const char *conf, int want, const char *dir)
{
	siths_ctx *ctx = NULL;
	int r;

	assert_int_equal(siths_ctx_create(&ctx), 0);
	siths_ctx_set_log_level(ctx, SITHS_LOG_ERR);
	r = siths_ctx_load(ctx, conf);
	if (r != want)
		fail_msg("%s: %s (%s), not %s", conf, siths_status_name(r),
		    siths_ctx_errmsg(ctx), siths_status_name(want));
	if (dir != NULL && (strstr(siths_ctx_errmsg(ctx), dir) == NULL ||
	    strstr(siths_ctx_errmsg(ctx), "a directory above") == NULL))
		fail_msg("message '%s' does not name the directory %s", siths_ctx_errmsg(ctx), dir);
	siths_ctx_free(&ctx);
}

static void
test_config(void **state)
{
	char anchors[256], conf[256];

	snprintf(anchors, sizeof(anchors), "%s/roots.pem", t.safe);
	write_root_pem(anchors);
	make_config(t.open, anchors, "", conf, sizeof(conf));
	expect_load(conf, SITHS_ERR_CONFIG_UNSAFE, t.open);
	make_config(t.sticky, anchors, "", conf, sizeof(conf));
	expect_load(conf, 0, NULL);
	make_config(t.safe, anchors, "", conf, sizeof(conf));
	expect_load(conf, 0, NULL);
	/* through open/link -> safe: safe itself is fine, the link's directory is not */
	snprintf(conf, sizeof(conf), "%s/siths.conf", t.link);
	expect_load(conf, SITHS_ERR_CONFIG_UNSAFE, t.open);
}

static void
test_trust_file_and_directory(void **state)
{
	char anchors[256], conf[256], dir[200];

	snprintf(anchors, sizeof(anchors), "%s/roots.pem", t.open);
	write_root_pem(anchors);
	make_config(t.safe, anchors, "", conf, sizeof(conf));
	expect_load(conf, SITHS_ERR_CONFIG_UNSAFE, t.open);

	snprintf(anchors, sizeof(anchors), "%s/roots.pem", t.sticky);
	write_root_pem(anchors);
	make_config(t.safe, anchors, "", conf, sizeof(conf));
	expect_load(conf, 0, NULL);

	/* a directory of anchors: safe itself, under open/ */
	snprintf(dir, sizeof(dir), "%s/anchors.d", t.open);
	assert_int_equal(mkdir_mode(dir, 0755), 0);
	snprintf(anchors, sizeof(anchors), "%s/root.pem", dir);
	write_root_pem(anchors);
	make_config(t.safe, dir, "", conf, sizeof(conf));
	expect_load(conf, SITHS_ERR_CONFIG_UNSAFE, t.open);
	snprintf(dir, sizeof(dir), "%s/anchors.d", t.sticky);
	assert_int_equal(mkdir_mode(dir, 0755), 0);
	snprintf(anchors, sizeof(anchors), "%s/root.pem", dir);
	write_root_pem(anchors);
	make_config(t.safe, dir, "", conf, sizeof(conf));
	expect_load(conf, 0, NULL);
}

/* Map HSA-id SE2120001231-1001 with the map file at map. */
static int
map_with(const char *map, char **login, char *msg, size_t msglen)
{
	struct siths_identity *id = siths_identity_new();
	char anchors[256], conf[256], extra[256];
	siths_ctx *ctx = NULL;
	int r;

	snprintf(anchors, sizeof(anchors), "%s/roots.pem", t.safe);
	write_root_pem(anchors);
	snprintf(extra, sizeof(extra), "[pam]\nuser_map = file:%s\n", map);
	make_config(t.safe, anchors, extra, conf, sizeof(conf));
	assert_int_equal(siths_ctx_new(&ctx, conf), 0);
	assert_non_null(id);
	assert_int_equal(siths_identity_set(&id->hsa_id, "SE2120001231-1001"), 0);
	r = siths_map_user(ctx, id, login);
	snprintf(msg, msglen, "%s", siths_ctx_errmsg(ctx));
	siths_identity_free(&id);
	siths_ctx_free(&ctx);
	return r;
}

static void
test_user_map(void **state)
{
	char map[256], msg[SITHS_ERRMSG_MAX], *login = NULL;

	/* root is in every user database: a mapping that would succeed */
	snprintf(map, sizeof(map), "%s/users.map", t.open);
	test_write_file(map, "SE2120001231-1001 root\n", 0644);
	assert_int_equal(map_with(map, &login, msg, sizeof(msg)), SITHS_ERR_POLICY_MAP_FILE);
	assert_null(login);
	if (strstr(msg, t.open) == NULL || strstr(msg, "a directory above") == NULL)
		fail_msg("message '%s' does not name %s", msg, t.open);

	snprintf(map, sizeof(map), "%s/users.map", t.sticky);
	test_write_file(map, "SE2120001231-1001 root\n", 0644);
	/* the map is read (and root refused by policy, not by the file's place) */
	assert_int_equal(map_with(map, &login, msg, sizeof(msg)), SITHS_ERR_POLICY_ROOT_DENIED);
	assert_null(login);
}

static void
test_crl_file(void **state)
{
	unsigned char *buf = NULL;
	char path[256], err[SITHS_ERRMSG_MAX];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/ca.crl", t.open);
	test_write_file(path, "0", 0644);
	assert_int_equal(siths_read_secure_data(path, 64, &buf, &len, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_null(buf);
	assert_non_null(strstr(err, t.open));
	snprintf(path, sizeof(path), "%s/ca.crl", t.sticky);
	test_write_file(path, "0", 0644);
	assert_int_equal(siths_read_secure_data(path, 64, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 1);
	free(buf);
}

/* A directory owned by someone else above the file, and the root itself. */
static void
test_other_owner_and_root(void **state)
{
	char path[256], err[SITHS_ERRMSG_MAX], *buf = NULL;
	size_t len = 0;

	if (geteuid() != 0)
		skip();         /* chown to another user needs root */
	snprintf(path, sizeof(path), "%s/theirs", t.top);
	assert_int_equal(mkdir_mode(path, 0755), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(path, sizeof(path), "%s/theirs/siths.conf", t.top);
	test_write_file(path, "[trust]\n", 0644);
	assert_int_equal(siths_read_secure_file(path, 64, &buf, &len, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, "owned by uid 65534"));
	/* a path that names no file, or a directory */
	assert_int_equal(siths_read_secure_file("/", 64, &buf, &len, err, sizeof(err)),
	    SITHS_ERR_CONFIG_OPEN);
	assert_int_equal(siths_read_secure_file(t.safe, 64, &buf, &len, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, "not a regular file"));
}

/* siths_read_secure_file(path): want, and the message names who. */
static void
expect_read(const char *path, int want, const char *who)
{
	char err[SITHS_ERRMSG_MAX], *buf = NULL;
	size_t len = 0;
	int r = siths_read_secure_file(path, 4096, &buf, &len, err, sizeof(err));

	free(buf);
	if (r != want)
		fail_msg("%s: %s (%s), not %s", path, siths_status_name(r), r != 0 ? err : "",
		    siths_status_name(want));
	if (who != NULL && strstr(err, who) == NULL)
		fail_msg("message '%s' does not name %s", err, who);
}

/*
 * Links: a chain whose middle link sits in open/ is caught although both
 * ends are safe; a link another user owns in a sticky directory (it may
 * repoint it) is refused; "..", "." and doubled slashes resolve as the
 * kernel does.
 */
static void
test_links_and_path_forms(void **state)
{
	char good[200], l1[256], l2[256], path[512], conf[256];

	snprintf(conf, sizeof(conf), "%s/siths.conf", t.safe);
	test_write_file(conf, "[trust]\n", 0644);
	snprintf(good, sizeof(good), "%s/good", t.top);
	assert_int_equal(mkdir_mode(good, 0700), 0);
	snprintf(l2, sizeof(l2), "%s/l2", t.open);
	snprintf(l1, sizeof(l1), "%s/l1", good);
	assert_int_equal(symlink(t.safe, l2), 0);
	assert_int_equal(symlink(l2, l1), 0);
	snprintf(path, sizeof(path), "%s/siths.conf", l1);
	expect_read(path, SITHS_ERR_CONFIG_UNSAFE, t.open);

	snprintf(path, sizeof(path), "%s/../safe/./siths.conf", t.safe);
	expect_read(path, 0, NULL);
	snprintf(path, sizeof(path), "/%s//siths.conf", t.safe);
	expect_read(path, 0, NULL);
	snprintf(path, sizeof(path), "%s/../safe/siths.conf", t.open);
	expect_read(path, SITHS_ERR_CONFIG_UNSAFE, t.open);
	snprintf(path, sizeof(path), "%s/siths.conf/", t.safe);
	expect_read(path, SITHS_ERR_CONFIG_OPEN, NULL);

	if (geteuid() != 0)
		skip();         /* lchown to another user needs root */
	snprintf(l2, sizeof(l2), "%s/theirs-link", t.sticky);
	assert_int_equal(symlink(t.safe, l2), 0);
	assert_int_equal(lchown(l2, 65534, 65534), 0);
	snprintf(path, sizeof(path), "%s/siths.conf", l2);
	expect_read(path, SITHS_ERR_CONFIG_UNSAFE, "symbolic link");
}

/* The module and trust-directory checks walk the same way. */
static void
test_code_file_and_directory(void **state)
{
	char dir[256], module[256], err[SITHS_ERRMSG_MAX];

	snprintf(module, sizeof(module), "%s/module.so", t.open);
	test_write_file(module, "not really a module", 0644);
	assert_int_equal(siths_check_code_file(module, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, t.open));
	snprintf(module, sizeof(module), "%s/module.so", t.sticky);
	test_write_file(module, "not really a module", 0644);
	assert_int_equal(siths_check_code_file(module, err, sizeof(err)), 0);

	snprintf(dir, sizeof(dir), "%s/ca.d", t.open);
	assert_int_equal(mkdir_mode(dir, 0755), 0);
	assert_int_equal(siths_check_secure_dir(dir, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, t.open));
	assert_int_equal(siths_check_secure_dir(t.open, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_int_equal(siths_check_secure_dir(t.sticky, err, sizeof(err)), 0);
	assert_int_equal(siths_check_secure_dir(t.link, err, sizeof(err)), SITHS_ERR_CONFIG_UNSAFE);
	/* a TLS key another library opens: the way, and secret modes */
	snprintf(module, sizeof(module), "%s/key.pem", t.safe);
	test_write_file(module, "key", 0644);
	assert_int_equal(siths_check_secure_path(module, 1, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, "readable by group or others"));
	assert_int_equal(chmod(module, 0600), 0);
	assert_int_equal(siths_check_secure_path(module, 1, err, sizeof(err)), 0);
	snprintf(module, sizeof(module), "%s/key.pem", t.link);
	assert_int_equal(siths_check_secure_path(module, 1, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_trust_file_and_directory),
		cmocka_unit_test(test_user_map),
		cmocka_unit_test(test_crl_file),
		cmocka_unit_test(test_other_owner_and_root),
		cmocka_unit_test(test_links_and_path_forms),
		cmocka_unit_test(test_code_file_and_directory),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
