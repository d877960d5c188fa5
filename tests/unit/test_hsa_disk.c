/*
 * test_hsa_disk.c - the directory's answers on disk (libsiths/hsa_disk.c):
 * an identity written is read back whole; a corrupted file, a file of
 * another HSA-id under this one's name, an entry older than the longer of
 * cache_ttl and stale_max and a file of another owner are misses (the bad
 * ones removed); the personal number is kept only with personal_number =
 * yes; pruning keeps the store within its bounds.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "ctx.h"
#include "hsa.h"
#include "identity.h"
#include "siths.h"
#include "testfile.h"

struct fixture {
	char dir[64], store[96];
	siths_ctx *ctx;
	time_t pruned;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char conf[256], err[512];

	strcpy(f->dir, "/tmp/siths-hsadisk-XXXXXX");
	if (f == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->store, sizeof(f->store), "%s/hsa", f->dir);
	snprintf(conf, sizeof(conf), "[trust]\nanchors = /r.pem\n[revocation]\ncache_dir = %s\n"
	    "[hsa]\ncache_ttl = 60\nstale_max = 600\n", f->dir);
	if (siths_ctx_create(&f->ctx) != 0 ||
	    siths_config_parse_string(&f->ctx->cfg, conf, "test.conf", err, sizeof(err)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	siths_ctx_free(&f->ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

static struct siths_identity *
person(const char *hsa_id, time_t fetched)
{
	struct siths_identity *id = siths_identity_new();

	assert_non_null(id);
	assert_int_equal(siths_identity_set(&id->hsa_id, hsa_id), 0);
	assert_int_equal(siths_identity_set(&id->display_name, "Anna Åkesson"), 0);
	assert_int_equal(siths_identity_set(&id->org_hsa_id, "SE2120001231-0001"), 0);
	assert_int_equal(siths_identity_set(&id->personal_number, "198001019804"), 0);
	assert_int_equal(siths_identity_add_role(id, "SE2120001231-9001;admin"), 0);
	id->from_directory = 1;
	id->fetched = fetched;
	return id;
}

/* The one file in the store (its path into path); 0 when there is none. */
static int
only_file(const struct fixture *f, char *path, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(f->store);
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, len, "%s/", f->store) + strlen(de->d_name) < len)
			strcat(path, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct siths_identity *id = person("SE2120001231-1001", time(NULL) - 5), *back = NULL;
	struct stat st;

	siths_hsa_disk_write(f->ctx, id, &f->pruned);
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1001", &back), 0);
	assert_string_equal(back->display_name, "Anna Åkesson");
	assert_string_equal(back->org_hsa_id, "SE2120001231-0001");
	assert_int_equal(back->n_roles, 1);
	assert_int_equal(back->fetched, id->fetched);
	assert_int_equal(back->stale, 0);
	/* personal_number = no: never written, so never read back */
	assert_null(back->personal_number);
	siths_identity_free(&back);
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1099", &back), 1);
	assert_null(back);
	siths_identity_free(&id);
}

static void
test_bad_files_are_misses(void **state)
{
	struct fixture *f = *state;
	struct siths_identity *id = person("SE2120001231-1001", time(NULL) - 5), *back = NULL;
	char path[256], text[512];

	siths_hsa_disk_write(f->ctx, id, &f->pruned);
	assert_int_equal(only_file(f, path, sizeof(path)), 1);
	/* random bytes */
	test_write_file(path, "\x01\x02not json at all", 0600);
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1001", &back), 1);
	assert_int_equal(access(path, F_OK), -1);       /* removed */
	/* another person's entry under this one's name */
	siths_hsa_disk_write(f->ctx, id, &f->pruned);
	assert_int_equal(only_file(f, path, sizeof(path)), 1);
	snprintf(text, sizeof(text), "{\"format\":1,\"identity\":{\"hsa_id\":\"SE2120001231-1099\","
	    "\"from_directory\":1,\"fetched\":%lld}}", (long long)time(NULL));
	test_write_file(path, text, 0600);
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1001", &back), 1);
	/* an entry older than stale_max (600) */
	id->fetched = time(NULL) - 700;
	siths_hsa_disk_write(f->ctx, id, &f->pruned);
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1001", &back), 1);
	/* a file another user owns is not believed */
	id->fetched = time(NULL);
	siths_hsa_disk_write(f->ctx, id, &f->pruned);
	assert_int_equal(only_file(f, path, sizeof(path)), 1);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1001", &back), 1);
	}
	assert_null(back);
	siths_identity_free(&id);
}

static void
test_personal_number_kept_when_configured(void **state)
{
	struct fixture *f = *state;
	struct siths_identity *id = person("SE2120001231-1101", time(NULL)), *back = NULL;

	f->ctx->cfg->hsa_read_personal_number = 1;
	siths_hsa_disk_write(f->ctx, id, &f->pruned);
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1101", &back), 0);
	assert_string_equal(back->personal_number, "198001019804");
	siths_identity_free(&back);
	/* turned off since: dropped when read */
	f->ctx->cfg->hsa_read_personal_number = 0;
	assert_int_equal(siths_hsa_disk_read(f->ctx, "SE2120001231-1101", &back), 0);
	assert_null(back->personal_number);
	siths_identity_free(&back);
	siths_identity_free(&id);
}

static void
test_prune_bounds(void **state)
{
	struct fixture *f = *state;
	struct siths_identity *id;
	char hsa[32], path[256];
	int i;

	f->ctx->cfg->hsa_disk_entries = 3;
	for (i = 0; i < 6; i++) {
		snprintf(hsa, sizeof(hsa), "SE2120001231-20%02d", i);
		id = person(hsa, time(NULL));
		siths_hsa_disk_write(f->ctx, id, &f->pruned);
		siths_identity_free(&id);
	}
	siths_hsa_disk_prune(f->ctx);
	assert_true(only_file(f, path, sizeof(path)) <= 3);
	siths_hsa_disk_forget(f->ctx, NULL);
	assert_int_equal(only_file(f, path, sizeof(path)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_are_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_personal_number_kept_when_configured, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prune_bounds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
