/*
 * test_cache.c - the in-memory LRU+TTL cache (ownership, replacement,
 * expiry, eviction order checked against a simple model, threads) and the
 * on-disk store (round trip, foreign or unsafe files and directories
 * ignored, symlinks never followed, atomic replacement, no temp files left).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "diskstore.h"
#include "siths.h"
#include "testfile.h"

/* --- values and ops that count what the cache does with them ------------- */

struct val {
	int id;
	char pad[28];
};

static int n_dups, n_frees, fail_dup;

static void *
val_dup(const void *v)
{
	struct val *copy;

	if (fail_dup)
		return NULL;
	if ((copy = malloc(sizeof(*copy))) != NULL)
		memcpy(copy, v, sizeof(*copy));
	n_dups++;
	return copy;
}

static void
val_free(void *v)
{
	n_frees++;
	free(v);
}

static const struct siths_cache_ops counting_ops = { val_dup, val_free };

/* No shared counters: the threaded test must not race in the test itself. */
static void *
plain_dup(const void *v)
{
	struct val *copy = malloc(sizeof(*copy));

	if (copy != NULL)
		memcpy(copy, v, sizeof(*copy));
	return copy;
}

static const struct siths_cache_ops plain_ops = { plain_dup, free };

static struct val *
val_new(int id)
{
	struct val *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->id = id;
	return v;
}

static void
make_key(unsigned char key[SITHS_CACHE_KEY_LEN], unsigned int i)
{
	memset(key, 0, SITHS_CACHE_KEY_LEN);
	memcpy(key, &i, sizeof(i));
	key[SITHS_CACHE_KEY_LEN - 1] = 0xa5;
}

/* The id of the value under key i, or -1 when get says there is none. */
static int
get_id(struct siths_cache *c, unsigned int i, time_t now)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];
	void *copy = (void *)1;
	int id, r;

	make_key(key, i);
	r = siths_cache_get(c, key, now, &copy);
	if (r == 1) {
		assert_null(copy);
		return -1;
	}
	assert_int_equal(r, 0);
	assert_non_null(copy);
	id = ((struct val *)copy)->id;
	free(copy);
	return id;
}

static void
put_id(struct siths_cache *c, unsigned int i, int id, time_t expires)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];

	make_key(key, i);
	assert_int_equal(siths_cache_put(c, key, val_new(id), expires), 0);
}

static int
reset_counters(void **state)
{
	n_dups = n_frees = fail_dup = 0;
	return 0;
}

/* --- the in-memory cache ---------------------------------------------------- */

static void
test_round_trip(void **state)
{
	struct siths_cache *c = siths_cache_new(10, &counting_ops);
	unsigned char key[SITHS_CACHE_KEY_LEN];
	struct val *v = val_new(7);
	void *copy = NULL;
	time_t now = time(NULL);

	assert_non_null(c);
	make_key(key, 1);
	assert_int_equal(siths_cache_put(c, key, v, now + 60), 0);
	assert_int_equal(siths_cache_get(c, key, now, &copy), 0);
	assert_non_null(copy);
	assert_ptr_not_equal(copy, v);          /* a copy, not the cache's own value */
	assert_int_equal(((struct val *)copy)->id, 7);
	assert_int_equal(n_dups, 1);
	free(copy);
	assert_int_equal(get_id(c, 2, now), -1);
	assert_int_equal(siths_cache_count(c), 1);
	assert_int_equal(n_frees, 0);
	siths_cache_free(&c);
	assert_null(c);
	assert_int_equal(n_frees, 1);
	siths_cache_free(&c);                   /* NULL is fine */
	siths_cache_free(NULL);
}

static void
test_replace(void **state)
{
	struct siths_cache *c = siths_cache_new(10, &counting_ops);
	time_t now = time(NULL);

	put_id(c, 1, 100, now + 60);
	put_id(c, 1, 200, now + 60);
	assert_int_equal(siths_cache_count(c), 1);
	assert_int_equal(n_frees, 1);           /* the replaced value */
	assert_int_equal(get_id(c, 1, now), 200);
	/* replacing also moves the expiry, both ways */
	put_id(c, 1, 300, now + 5);
	assert_int_equal(get_id(c, 1, now + 10), -1);
	assert_int_equal(siths_cache_count(c), 0);
	siths_cache_free(&c);
	assert_int_equal(n_frees, 3);
}

static void
test_expiry(void **state)
{
	struct siths_cache *c = siths_cache_new(10, &counting_ops);
	time_t now = time(NULL);

	put_id(c, 1, 1, now - 1);
	assert_int_equal(siths_cache_count(c), 1);
	assert_int_equal(get_id(c, 1, now), -1);
	assert_int_equal(siths_cache_count(c), 0);      /* dropped by the get */
	assert_int_equal(n_frees, 1);
	assert_int_equal(n_dups, 0);

	/* live before expires, gone at it */
	put_id(c, 2, 2, now + 100);
	assert_int_equal(get_id(c, 2, now + 99), 2);
	assert_int_equal(get_id(c, 2, now + 100), -1);
	assert_int_equal(siths_cache_count(c), 0);
	siths_cache_free(&c);
	assert_int_equal(n_frees, 2);
}

static void
test_lru_eviction(void **state)
{
	struct siths_cache *c = siths_cache_new(3, &counting_ops);
	time_t now = time(NULL);

	put_id(c, 1, 1, now + 60);
	put_id(c, 2, 2, now + 60);
	put_id(c, 3, 3, now + 60);
	assert_int_equal(get_id(c, 1, now), 1);         /* 1 is now the newest */
	put_id(c, 4, 4, now + 60);                      /* evicts 2 */
	assert_int_equal(siths_cache_count(c), 3);
	assert_int_equal(n_frees, 1);
	assert_int_equal(get_id(c, 2, now), -1);
	/* order now, oldest first: 3 1 4; touch 3, then two more puts evict 1 and 4 */
	assert_int_equal(get_id(c, 3, now), 3);
	put_id(c, 5, 5, now + 60);
	assert_int_equal(get_id(c, 1, now), -1);
	put_id(c, 6, 6, now + 60);
	assert_int_equal(get_id(c, 4, now), -1);
	assert_int_equal(get_id(c, 3, now), 3);
	assert_int_equal(get_id(c, 5, now), 5);
	assert_int_equal(get_id(c, 6, now), 6);
	assert_int_equal(siths_cache_count(c), 3);
	assert_int_equal(n_frees, 3);
	siths_cache_free(&c);
	assert_int_equal(n_frees, 6);
}

static void
test_expired_evicted_first(void **state)
{
	struct siths_cache *c = siths_cache_new(3, &counting_ops);
	time_t now = time(NULL);

	put_id(c, 1, 1, now + 60);      /* least recently used, but live */
	put_id(c, 2, 2, now - 5);       /* expired */
	put_id(c, 3, 3, now + 60);
	put_id(c, 4, 4, now + 60);
	assert_int_equal(siths_cache_count(c), 3);
	assert_int_equal(get_id(c, 1, now), 1);
	assert_int_equal(get_id(c, 3, now), 3);
	assert_int_equal(get_id(c, 4, now), 4);
	assert_int_equal(n_frees, 1);
	siths_cache_free(&c);
}

static void
test_capacity_zero(void **state)
{
	struct siths_cache *c = siths_cache_new(0, &counting_ops);
	time_t now = time(NULL);

	assert_non_null(c);
	put_id(c, 1, 1, now + 60);
	assert_int_equal(n_frees, 1);                   /* freed at once */
	assert_int_equal(siths_cache_count(c), 0);
	assert_int_equal(get_id(c, 1, now), -1);
	siths_cache_free(&c);
	assert_int_equal(n_frees, 1);
}

static void
test_count_and_free(void **state)
{
	struct siths_cache *c = siths_cache_new(10, &counting_ops);
	time_t now = time(NULL);
	unsigned int i;

	assert_int_equal(siths_cache_count(c), 0);
	for (i = 0; i < 5; i++)
		put_id(c, i, (int)i, now + 60);
	assert_int_equal(siths_cache_count(c), 5);
	put_id(c, 2, 20, now + 60);
	assert_int_equal(siths_cache_count(c), 5);
	for (i = 5; i < 15; i++)
		put_id(c, i, (int)i, now + 60);
	assert_int_equal(siths_cache_count(c), 10);
	assert_int_equal(n_frees, 6);                   /* 1 replaced, 5 evicted */
	siths_cache_free(&c);
	assert_int_equal(n_frees, 16);                  /* every value put */
	assert_int_equal(siths_cache_count(NULL), 0);
}

static void
test_clear(void **state)
{
	struct siths_cache *c = siths_cache_new(10, &counting_ops);
	time_t now = time(NULL);
	unsigned int i;

	for (i = 0; i < 4; i++)
		put_id(c, i, (int)i, now + 60);
	siths_cache_clear(c);
	assert_int_equal(siths_cache_count(c), 0);
	assert_int_equal(n_frees, 4);
	assert_int_equal(get_id(c, 1, now), -1);
	/* usable afterwards, to capacity */
	for (i = 0; i < 12; i++)
		put_id(c, i, (int)i, now + 60);
	assert_int_equal(siths_cache_count(c), 10);
	siths_cache_free(&c);
	assert_int_equal(n_frees, 16);
}

/* Keys equal in the 8 bytes used as the hash are still told apart. */
static void
test_hash_prefix_collision(void **state)
{
	struct siths_cache *c = siths_cache_new(4, &counting_ops);
	unsigned char k1[SITHS_CACHE_KEY_LEN], k2[SITHS_CACHE_KEY_LEN];
	void *copy = NULL;
	time_t now = time(NULL);

	memset(k1, 0x11, sizeof(k1));
	memcpy(k2, k1, sizeof(k2));
	k2[31] = 0x22;
	assert_int_equal(siths_cache_put(c, k1, val_new(1), now + 60), 0);
	assert_int_equal(siths_cache_put(c, k2, val_new(2), now + 60), 0);
	assert_int_equal(siths_cache_count(c), 2);
	assert_int_equal(siths_cache_get(c, k1, now, &copy), 0);
	assert_int_equal(((struct val *)copy)->id, 1);
	free(copy);
	assert_int_equal(siths_cache_get(c, k2, now, &copy), 0);
	assert_int_equal(((struct val *)copy)->id, 2);
	free(copy);
	siths_cache_free(&c);
}

static void
test_dup_failure_and_bad_ops(void **state)
{
	struct siths_cache *c = siths_cache_new(4, &counting_ops);
	const struct siths_cache_ops no_free = { val_dup, NULL };
	unsigned char key[SITHS_CACHE_KEY_LEN];
	void *copy = (void *)1;
	time_t now = time(NULL);

	put_id(c, 1, 1, now + 60);
	make_key(key, 1);
	fail_dup = 1;
	assert_int_equal(siths_cache_get(c, key, now, &copy), SITHS_ERR_NOMEM);
	assert_null(copy);
	fail_dup = 0;
	assert_int_equal(siths_cache_count(c), 1);      /* the entry stays */
	assert_int_equal(get_id(c, 1, now), 1);
	siths_cache_free(&c);

	assert_null(siths_cache_new(4, NULL));
	assert_null(siths_cache_new(4, &no_free));
	assert_null(siths_cache_new(SIZE_MAX, &counting_ops));
	assert_int_equal(siths_cache_get(NULL, key, now, &copy), 1);
	assert_null(copy);
}

/*
 * Random puts and gets against a model that scans everything: the cache
 * must keep exactly the entries the model keeps. Expiry times are distinct
 * and at least 10 s from now, so the model and the cache agree on which
 * entries have expired even if the clock ticks meanwhile.
 */
#define MODEL_CAP 8
#define MODEL_KEYS 20
#define MODEL_OPS 4000

struct model_entry {
	int present, id;
	time_t expires;
	unsigned long used;
};

static void
model_put(struct model_entry *m, unsigned int k, int id, time_t expires, time_t now,
    unsigned long tick)
{
	unsigned int i, held = 0, victim = MODEL_KEYS, oldest = MODEL_KEYS;

	for (i = 0; i < MODEL_KEYS; i++) {
		if (!m[i].present)
			continue;
		held++;
		if (m[i].expires <= now &&
		    (victim == MODEL_KEYS || m[i].expires < m[victim].expires))
			victim = i;             /* the soonest expired ... */
		if (oldest == MODEL_KEYS || m[i].used < m[oldest].used)
			oldest = i;             /* ... else the least recently used */
	}
	if (!m[k].present && held == MODEL_CAP)
		m[victim != MODEL_KEYS ? victim : oldest].present = 0;
	m[k].present = 1;
	m[k].id = id;
	m[k].expires = expires;
	m[k].used = tick;
}

static void
test_against_model(void **state)
{
	struct siths_cache *c = siths_cache_new(MODEL_CAP, &counting_ops);
	struct model_entry m[MODEL_KEYS];
	time_t now = time(NULL), expires;
	unsigned long tick;
	unsigned int k, seed = 12345, i, held;
	long spread;
	int want, puts = 0;

	memset(m, 0, sizeof(m));
	for (tick = 1; tick <= MODEL_OPS; tick++) {
		k = (unsigned int)rand_r(&seed) % MODEL_KEYS;
		if (rand_r(&seed) % 2 == 0) {
			spread = (long)((tick * 7919) % 4001) - 2000;
			expires = now + (spread >= 0 ? spread + 10 : spread - 10);
			put_id(c, k, (int)tick, expires);
			model_put(m, k, (int)tick, expires, now, tick);
			puts++;
		} else {
			want = -1;
			if (m[k].present && m[k].expires <= now)
				m[k].present = 0;
			if (m[k].present) {
				want = m[k].id;
				m[k].used = tick;
			}
			assert_int_equal(get_id(c, k, now), want);
		}
		for (i = 0, held = 0; i < MODEL_KEYS; i++)
			held += m[i].present;
		assert_int_equal(siths_cache_count(c), held);
	}
	assert_true(puts > MODEL_OPS / 4);
	siths_cache_free(&c);
	assert_int_equal(n_frees, puts);                /* every value freed exactly once */
}

/* 4 threads of mixed gets and puts on one small cache. */
#define THREADS 4
#define THREAD_OPS 50000
#define THREAD_CAP 100
#define THREAD_KEYS 250

struct worker {
	pthread_t tid;
	struct siths_cache *cache;
	unsigned int seed;
	int hits, errors;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned char key[SITHS_CACHE_KEY_LEN];
	struct val *v;
	void *copy;
	unsigned int k, i;
	time_t now = time(NULL);

	for (i = 0; i < THREAD_OPS; i++) {
		k = (unsigned int)rand_r(&w->seed) % THREAD_KEYS;
		make_key(key, k);
		if (rand_r(&w->seed) % 2 == 0) {
			if ((v = calloc(1, sizeof(*v))) == NULL) {
				w->errors++;
				continue;
			}
			v->id = (int)k;         /* every value names its key */
			/* a few already expired, so that gets drop some */
			if (siths_cache_put(w->cache, key, v, now + (k % 10 == 0 ? -1 : 60)) != 0)
				w->errors++;
			continue;
		}
		switch (siths_cache_get(w->cache, key, now, &copy)) {
		case 0:
			w->hits++;
			if (((struct val *)copy)->id != (int)k)
				w->errors++;
			free(copy);
			break;
		case 1:
			if (copy != NULL)
				w->errors++;
			break;
		default:
			w->errors++;
		}
		if (siths_cache_count(w->cache) > THREAD_CAP)
			w->errors++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct siths_cache *c = siths_cache_new(THREAD_CAP, &plain_ops);
	struct worker w[THREADS];
	int i, hits = 0;

	assert_non_null(c);
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].cache = c;
		w[i].seed = (unsigned int)i + 1;
		assert_int_equal(pthread_create(&w[i].tid, NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
		assert_int_equal(w[i].errors, 0);
		hits += w[i].hits;
	}
	assert_true(hits > 0);
	assert_true(siths_cache_count(c) <= THREAD_CAP);
	assert_true(siths_cache_count(c) > 0);
	siths_cache_free(&c);
}

/* --- the disk store --------------------------------------------------------- */

struct disk {
	char top[64];           /* private scratch directory */
	char dir[96];           /* the cache directory inside it */
	unsigned char key[SITHS_CACHE_KEY_LEN];
	char file[256];         /* dir/<hex of key> */
};

static int
disk_setup(void **state)
{
	struct disk *d = calloc(1, sizeof(*d));
	size_t i;

	if (d == NULL)
		return -1;
	snprintf(d->top, sizeof(d->top), "/tmp/siths-cache-XXXXXX");
	if (mkdtemp(d->top) == NULL)
		return -1;
	snprintf(d->dir, sizeof(d->dir), "%s/cache", d->top);
	for (i = 0; i < sizeof(d->key); i++)
		d->key[i] = (unsigned char)(0xf0 + i);
	snprintf(d->file, sizeof(d->file), "%s/f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	    "000102030405060708090a0b0c0d0e0f", d->dir);
	*state = d;
	return 0;
}

/* Remove path and, if it is a directory, what is in it (two levels at most). */
static void
remove_tree(const char *path, int depth)
{
	char sub[512];
	struct dirent *de;
	DIR *dh;

	if (unlink(path) == 0 || depth == 0 || (dh = opendir(path)) == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		remove_tree(sub, depth - 1);
	}
	closedir(dh);
	rmdir(path);
}

static int
disk_teardown(void **state)
{
	struct disk *d = *state;

	chmod(d->dir, 0700);
	remove_tree(d->top, 3);
	free(d);
	return 0;
}

/* The names in dir, counted; *tmp set when one looks like a temporary file. */
static int
count_names(const char *dir, int *tmp)
{
	struct dirent *de;
	DIR *dh;
	int n = 0;

	*tmp = 0;
	assert_non_null(dh = opendir(dir));
	while ((de = readdir(dh)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (strncmp(de->d_name, ".tmp", 4) == 0)
			*tmp = 1;
	}
	closedir(dh);
	return n;
}

static void
expect_absent(struct disk *d, size_t max_len)
{
	unsigned char *data = (unsigned char *)1;
	size_t len = 99;

	assert_int_equal(siths_disk_cache_read(NULL, d->dir, d->key, max_len, &data, &len), 1);
	assert_null(data);
	assert_int_equal(len, 0);
}

static void
expect_content(struct disk *d, const unsigned char *want, size_t want_len)
{
	unsigned char *data = NULL;
	size_t len = 0;

	assert_int_equal(siths_disk_cache_read(NULL, d->dir, d->key, 1 << 20, &data, &len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(data, want, want_len);
	free(data);
}

static void
test_disk_round_trip(void **state)
{
	struct disk *d = *state;
	unsigned char blob[1000];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)(i * 7);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	/* the directory was made private, the file is private and named by the key */
	assert_int_equal(lstat(d->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(d->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	expect_content(d, blob, sizeof(blob));
	/* a trailing slash does not change the directory used */
	strcat(d->dir, "/");
	expect_content(d, blob, sizeof(blob));
}

static void
test_disk_absent(void **state)
{
	struct disk *d = *state;
	struct stat st;

	expect_absent(d, 100);                          /* no directory */
	assert_int_equal(lstat(d->dir, &st), -1);       /* and a read does not make one */
	assert_int_equal(mkdir(d->dir, 0700), 0);
	expect_absent(d, 100);                          /* no file */
}

static void
test_disk_bad_arguments(void **state)
{
	struct disk *d = *state;
	unsigned char *big, small[4] = { 1, 2, 3, 4 };
	char nested[160];
	int tmp;

	assert_non_null(big = calloc(1, 16 * 1024 * 1024 + 1));
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, big, 16 * 1024 * 1024 + 1),
	    SITHS_ERR_INVALID_ARGUMENT);
	free(big);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, small, 0),
	    SITHS_ERR_INVALID_ARGUMENT);
	assert_int_equal(siths_disk_cache_write(NULL, "relative/dir", d->key, small, 4),
	    SITHS_ERR_CONFIG_UNSAFE);
	/* the directory is made, its parents are not */
	snprintf(nested, sizeof(nested), "%s/a/b", d->top);
	assert_true(siths_disk_cache_write(NULL, nested, d->key, small, 4) < 0);
	assert_int_equal(count_names(d->top, &tmp), 0);
}

static void
test_disk_file_mode(void **state)
{
	struct disk *d = *state;
	const unsigned char blob[] = "cached";
	struct stat st;

	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	assert_int_equal(chmod(d->file, 0644), 0);
	expect_absent(d, 100);
	assert_int_equal(lstat(d->file, &st), -1);      /* removed, so a write replaces it */
	assert_int_equal(errno, ENOENT);

	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	assert_int_equal(chmod(d->file, 0640), 0);
	expect_absent(d, 100);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	expect_content(d, blob, sizeof(blob));
}

static void
test_disk_file_owner(void **state)
{
	struct disk *d = *state;
	const unsigned char blob[] = "cached";
	struct stat st;

	if (geteuid() != 0)
		skip();
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	assert_int_equal(chown(d->file, 65534, 65534), 0);
	expect_absent(d, 100);
	assert_int_equal(lstat(d->file, &st), -1);
}

static void
test_disk_symlink(void **state)
{
	struct disk *d = *state;
	const unsigned char blob[] = "fresh";
	char target[128], buf[64] = "";
	struct stat st;
	FILE *f;

	assert_int_equal(mkdir(d->dir, 0700), 0);
	snprintf(target, sizeof(target), "%s/target", d->top);
	test_write_file(target, "precious", 0644);
	assert_int_equal(chmod(target, 0600), 0);
	assert_int_equal(symlink(target, d->file), 0);
	expect_absent(d, 100);
	assert_int_equal(lstat(d->file, &st), -1);      /* the link went ... */
	assert_non_null(f = fopen(target, "r"));        /* ... its target did not */
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious");

	/* a write over a link replaces the link, never writes through it */
	assert_int_equal(symlink(target, d->file), 0);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	assert_int_equal(lstat(d->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_non_null(f = fopen(target, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious");
	expect_content(d, blob, sizeof(blob));
}

static void
test_disk_fifo(void **state)
{
	struct disk *d = *state;

	assert_int_equal(mkdir(d->dir, 0700), 0);
	assert_int_equal(mkfifo(d->file, 0600), 0);
	expect_absent(d, 100);                          /* returns at once, no hang */
}

static void
test_disk_unsafe_dir(void **state)
{
	struct disk *d = *state;
	const unsigned char blob[] = "cached";
	char link[128];

	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	assert_int_equal(chmod(d->dir, 0755), 0);
	expect_absent(d, 100);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)),
	    SITHS_ERR_CONFIG_UNSAFE);
	assert_int_equal(chmod(d->dir, 0700), 0);
	expect_content(d, blob, sizeof(blob));          /* the file was not harmed */

	/* a directory reached through a symlink */
	snprintf(link, sizeof(link), "%s/link", d->top);
	assert_int_equal(symlink(d->dir, link), 0);
	strcpy(d->dir, link);
	expect_absent(d, 100);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)),
	    SITHS_ERR_CONFIG_UNSAFE);
}

static void
test_disk_dir_owner(void **state)
{
	struct disk *d = *state;
	const unsigned char blob[] = "cached";

	if (geteuid() != 0)
		skip();
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	assert_int_equal(chown(d->dir, 65534, 65534), 0);
	expect_absent(d, 100);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)),
	    SITHS_ERR_CONFIG_UNSAFE);
}

static void
test_disk_too_large(void **state)
{
	struct disk *d = *state;
	unsigned char blob[2000];
	struct stat st;

	memset(blob, 'x', sizeof(blob));
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	expect_absent(d, sizeof(blob) - 1);
	assert_int_equal(lstat(d->file, &st), -1);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)), 0);
	expect_content(d, blob, sizeof(blob));          /* exactly max_len is fine */
}

/* Reads running against writes see the old or the new content, whole. */
struct reader {
	struct disk *d;
	int stop;
	int reads, torn;
};

static void *
reader_run(void *arg)
{
	struct reader *rd = arg;
	unsigned char *data;
	size_t len, i;
	int r;

	while (!__atomic_load_n(&rd->stop, __ATOMIC_SEQ_CST)) {
		r = siths_disk_cache_read(NULL, rd->d->dir, rd->d->key, 1 << 16, &data, &len);
		rd->reads++;
		if (r != 0) {
			rd->torn++;
			continue;
		}
		if (len != 1000 && len != 3000)
			rd->torn++;
		for (i = 0; i < len; i++) {
			if (data[i] != (len == 1000 ? 'a' : 'b')) {
				rd->torn++;
				break;
			}
		}
		free(data);
	}
	return NULL;
}

static void
test_disk_atomic_replace(void **state)
{
	struct disk *d = *state;
	static unsigned char a[1000], b[3000];
	struct reader rd = { d, 0, 0, 0 };
	pthread_t tid;
	int i, tmp;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, a, sizeof(a)), 0);
	assert_int_equal(pthread_create(&tid, NULL, reader_run, &rd), 0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, i % 2 ? a : b,
		    i % 2 ? sizeof(a) : sizeof(b)), 0);
	}
	__atomic_store_n(&rd.stop, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_true(rd.reads > 0);
	assert_int_equal(rd.torn, 0);
	expect_content(d, a, sizeof(a));                /* the last write won */
	assert_int_equal(count_names(d->dir, &tmp), 1);
	assert_int_equal(tmp, 0);
}

/* A write that cannot be renamed into place leaves no temporary file behind. */
static void
test_disk_failed_write_cleans_up(void **state)
{
	struct disk *d = *state;
	const unsigned char blob[] = "cached";
	char inner[300];
	int tmp;

	assert_int_equal(mkdir(d->dir, 0700), 0);
	assert_int_equal(mkdir(d->file, 0700), 0);      /* a non-empty dir in the way */
	snprintf(inner, sizeof(inner), "%s/x", d->file);
	test_write_file(inner, "x", 0644);
	assert_int_equal(siths_disk_cache_write(NULL, d->dir, d->key, blob, sizeof(blob)),
	    SITHS_ERR_INTERNAL);
	assert_int_equal(count_names(d->dir, &tmp), 1);
	assert_int_equal(tmp, 0);
	expect_absent(d, 100);
}

#define DISK_TEST(f) cmocka_unit_test_setup_teardown(f, disk_setup, disk_teardown)
#define MEM_TEST(f) cmocka_unit_test_setup(f, reset_counters)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		MEM_TEST(test_round_trip),
		MEM_TEST(test_replace),
		MEM_TEST(test_expiry),
		MEM_TEST(test_lru_eviction),
		MEM_TEST(test_expired_evicted_first),
		MEM_TEST(test_capacity_zero),
		MEM_TEST(test_count_and_free),
		MEM_TEST(test_clear),
		MEM_TEST(test_hash_prefix_collision),
		MEM_TEST(test_dup_failure_and_bad_ops),
		MEM_TEST(test_against_model),
		MEM_TEST(test_threads),
		DISK_TEST(test_disk_round_trip),
		DISK_TEST(test_disk_absent),
		DISK_TEST(test_disk_bad_arguments),
		DISK_TEST(test_disk_file_mode),
		DISK_TEST(test_disk_file_owner),
		DISK_TEST(test_disk_symlink),
		DISK_TEST(test_disk_fifo),
		DISK_TEST(test_disk_unsafe_dir),
		DISK_TEST(test_disk_dir_owner),
		DISK_TEST(test_disk_too_large),
		DISK_TEST(test_disk_atomic_replace),
		DISK_TEST(test_disk_failed_write_cleans_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
