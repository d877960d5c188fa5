/*
 * test_secfile.c - files that decide about security: secrets must not be
 * readable by others, and code (a PKCS#11 module) must sit where only root
 * could have put it.
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

#include "secfile.h"
#include "siths.h"

struct dir {
	char path[64];
	char file[128];
};

static int
setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	FILE *f;

	strcpy(d->path, "/tmp/siths-secfile-XXXXXX");
	if (mkdtemp(d->path) == NULL)
		return -1;
	snprintf(d->file, sizeof(d->file), "%s/secret", d->path);
	if ((f = fopen(d->file, "w")) == NULL)
		return -1;
	fputs("hunter22\n", f);
	fclose(f);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	struct dir *d = *state;

	unlink(d->file);
	rmdir(d->path);
	free(d);
	return 0;
}

static void
test_secret_modes(void **state)
{
	struct dir *d = *state;
	char *buf = NULL, err[256];
	size_t len = 0;

	assert_int_equal(chmod(d->file, 0600), 0);
	assert_int_equal(siths_read_secret_file(d->file, 64, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 9);
	assert_string_equal(buf, "hunter22\n");
	explicit_bzero(buf, len);
	free(buf);
	buf = NULL;

	assert_int_equal(chmod(d->file, 0640), 0);
	assert_int_equal(siths_read_secret_file(d->file, 64, &buf, &len, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, "readable by group or others"));
	/* the same file is fine where it is not a secret */
	assert_int_equal(siths_read_secure_file(d->file, 64, &buf, &len, err, sizeof(err)), 0);
	free(buf);
	buf = NULL;
	assert_int_equal(siths_read_secure_file(d->file, 4, &buf, &len, err, sizeof(err)),
	    SITHS_ERR_CONFIG_SYNTAX);
	assert_null(buf);
}

static void
test_code_file(void **state)
{
	struct dir *d = *state;
	char err[256];

	/* a module where only root can write: Debian's SoftHSM2, if installed */
	if (access("/usr/lib/softhsm/libsofthsm2.so", R_OK) == 0)
		assert_int_equal(siths_check_code_file("/usr/lib/softhsm/libsofthsm2.so", err,
		    sizeof(err)), 0);
	assert_int_equal(chmod(d->file, 0644), 0);
	assert_int_equal(chmod(d->path, 0700), 0);
	assert_int_equal(siths_check_code_file(d->file, err, sizeof(err)), 0);
	assert_int_equal(chmod(d->file, 0666), 0);
	assert_int_equal(siths_check_code_file(d->file, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_int_equal(chmod(d->file, 0644), 0);
	/* a directory on the way that others can write to */
	assert_int_equal(chmod(d->path, 0777), 0);
	assert_int_equal(siths_check_code_file(d->file, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_non_null(strstr(err, d->path));
	assert_int_equal(chmod(d->path, 0700), 0);
	assert_int_equal(siths_check_code_file("relative.so", err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_int_equal(siths_check_code_file("/nonexistent/module.so", err, sizeof(err)),
	    SITHS_ERR_CONFIG_OPEN);
	assert_int_equal(siths_check_code_file(d->path, err, sizeof(err)),
	    SITHS_ERR_CONFIG_UNSAFE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secret_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
