/*
 * cache.c - the bounded LRU+TTL cache that contexts keep validation,
 * revocation and directory answers in, and the on-disk store through which
 * short-lived processes (a PAM login) reuse what an earlier one fetched.
 *
 * Memory: a hash table over the key (already a SHA-256 digest), a doubly
 * linked LRU list and a min-heap on expiry, all under one mutex per cache.
 * Values belong to the cache; callers only ever get copies (ops->dup), so
 * an entry can be replaced or evicted while a caller still uses its copy.
 *
 * Disk: one file per key in a directory that only root (or the effective
 * user) can enter, reached only through a descriptor on that directory so
 * that no path component can be swapped between check and use. Whatever
 * looks foreign is ignored and removed, never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "error.h"
#include "log.h"

/* More entries is a mistake; the bound also keeps the table arithmetic simple. */
#define CACHE_MAX_ENTRIES ((size_t)1 << 28)
/* Used to mix bucket numbers when the kernel has no randomness to give yet. */
#define CACHE_FALLBACK_MULT UINT64_C(0x9e3779b97f4a7c15)

/* The largest file the disk store reads or writes. */
#define DISK_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define DISK_NAME_SIZE (2 * SITHS_CACHE_KEY_LEN + 1)
/* ".tmp-" and 16 hex digits: never a key's name, which is 64 hex digits. */
#define DISK_TMP_PREFIX ".tmp-"
#define DISK_TMP_RANDOM 8
#define DISK_TMP_SIZE (sizeof(DISK_TMP_PREFIX) + 2 * DISK_TMP_RANDOM)
#define DISK_TMP_TRIES 8
#define DISK_WHY_MAX (PATH_MAX + 128)

struct entry {
	unsigned char key[SITHS_CACHE_KEY_LEN];
	void *value;
	time_t expires;
	size_t heap_pos;               /* index in cache->heap */
	struct entry *chain;           /* next in the same bucket */
	struct entry *newer, *older;   /* LRU list */
};

struct siths_cache {
	pthread_mutex_t lock;
	struct siths_cache_ops ops;
	size_t max;
	size_t count;                  /* entries in the table, the list and the heap */
	struct entry **buckets;
	unsigned int shift;            /* 64 - log2(number of buckets) */
	uint64_t mult;                 /* odd, secret: bucket = (hash * mult) >> shift */
	struct entry *newest, *oldest;
	struct entry **heap;           /* min-heap on expires, max entries long */
};

/* --- the table -------------------------------------------------------------- */

static size_t
bucket_of(const struct siths_cache *c, const unsigned char *key)
{
	uint64_t h;

	/*
	 * The key is a digest, so its first 8 bytes are a good hash; the secret
	 * multiplier (multiply-shift hashing) still matters because anyone who
	 * shows us certificates can grind digests whose low bits collide.
	 */
	memcpy(&h, key, sizeof(h));
	return (size_t)((h * c->mult) >> c->shift);
}

/* The link that points at key's entry, or the empty link at its bucket's end. */
static struct entry **
find_link(struct siths_cache *c, const unsigned char *key)
{
	struct entry **link = &c->buckets[bucket_of(c, key)];

	while (*link != NULL && memcmp((*link)->key, key, SITHS_CACHE_KEY_LEN) != 0)
		link = &(*link)->chain;
	return link;
}

/* --- the LRU list ----------------------------------------------------------- */

static void
lru_unlink(struct siths_cache *c, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(struct siths_cache *c, struct entry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

static void
lru_touch(struct siths_cache *c, struct entry *e)
{
	if (c->newest == e)
		return;
	lru_unlink(c, e);
	lru_push(c, e);
}

/* --- the expiry heap: the soonest to expire on top, so expired go first ----- */

static void
heap_set(struct siths_cache *c, size_t i, struct entry *e)
{
	c->heap[i] = e;
	e->heap_pos = i;
}

static void
heap_up(struct siths_cache *c, size_t i)
{
	struct entry *e = c->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (c->heap[parent]->expires <= e->expires)
			break;
		heap_set(c, i, c->heap[parent]);
		i = parent;
	}
	heap_set(c, i, e);
}

static void
heap_down(struct siths_cache *c, size_t i)
{
	struct entry *e = c->heap[i];
	size_t child;

	while ((child = 2 * i + 1) < c->count) {
		if (child + 1 < c->count && c->heap[child + 1]->expires < c->heap[child]->expires)
			child++;
		if (e->expires <= c->heap[child]->expires)
			break;
		heap_set(c, i, c->heap[child]);
		i = child;
	}
	heap_set(c, i, e);
}

/* Restore the heap after e's expiry changed. */
static void
heap_fix(struct siths_cache *c, struct entry *e)
{
	heap_up(c, e->heap_pos);
	heap_down(c, e->heap_pos);
}

/* --- entries ---------------------------------------------------------------- */

/* Take e out of table, list and heap; *link is the link that points at it. */
static void
detach(struct siths_cache *c, struct entry **link)
{
	struct entry *e = *link, *last;

	*link = e->chain;
	lru_unlink(c, e);
	last = c->heap[--c->count];
	if (last != e) {
		heap_set(c, e->heap_pos, last);
		heap_fix(c, last);
	}
}

static void
attach(struct siths_cache *c, struct entry *e)
{
	struct entry **head = &c->buckets[bucket_of(c, e->key)];

	e->chain = *head;
	*head = e;
	lru_push(c, e);
	heap_set(c, c->count++, e);
	heap_up(c, e->heap_pos);
}

/* Make room: an expired entry if there is one, else the least recently used. */
static struct entry *
evict(struct siths_cache *c)
{
	struct entry *victim = c->oldest;

	if (c->heap[0]->expires <= time(NULL))
		victim = c->heap[0];
	detach(c, find_link(c, victim->key));
	return victim;
}

static void
entry_free(const struct siths_cache *c, struct entry *e)
{
	if (e == NULL)
		return;
	if (e->value != NULL)
		c->ops.free(e->value);
	free(e);
}

/* --- the cache -------------------------------------------------------------- */

static uint64_t
random_odd(void)
{
	uint64_t m;

	/* Never block: a cache made early at boot still works, only less guarded. */
	if (getrandom(&m, sizeof(m), GRND_NONBLOCK) != (ssize_t)sizeof(m))
		m = CACHE_FALLBACK_MULT;
	return m | 1;
}

struct siths_cache *
siths_cache_new(size_t max_entries, const struct siths_cache_ops *ops)
{
	struct siths_cache *c = NULL, *ret = NULL;
	unsigned int bits = 1;

	if (ops == NULL || ops->dup == NULL || ops->free == NULL ||
	    max_entries > CACHE_MAX_ENTRIES)
		return NULL;
	/* At least one bucket per entry, so chains stay about one long. */
	while (((size_t)1 << bits) < max_entries)
		bits++;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->ops = *ops;
	c->max = max_entries;
	c->shift = 64 - bits;
	c->mult = random_odd();
	if ((c->buckets = calloc((size_t)1 << bits, sizeof(*c->buckets))) == NULL)
		goto out;
	if (max_entries > 0 && (c->heap = calloc(max_entries, sizeof(*c->heap))) == NULL)
		goto out;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto out;
	/* success */
	ret = c;
	c = NULL;       /* transferred */
out:
	if (c != NULL) {
		free(c->buckets);
		free(c->heap);
		free(c);
	}
	return ret;
}

void
siths_cache_free(struct siths_cache **cache)
{
	struct siths_cache *c;
	struct entry *e, *next;

	if (cache == NULL || (c = *cache) == NULL)
		return;
	for (e = c->newest; e != NULL; e = next) {
		next = e->older;
		entry_free(c, e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c->heap);
	free(c);
	*cache = NULL;
}

void
siths_cache_clear(struct siths_cache *c)
{
	struct entry *e, *next;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	e = c->newest;
	c->newest = c->oldest = NULL;
	c->count = 0;
	memset(c->buckets, 0, ((size_t)1 << (64 - c->shift)) * sizeof(*c->buckets));
	pthread_mutex_unlock(&c->lock);
	/* values may be slow to free (X509_CRL): outside the lock */
	for (; e != NULL; e = next) {
		next = e->older;
		entry_free(c, e);
	}
}

/*
 * Under the lock: store fresh, or move its value into the entry already
 * under its key. What is left over for the caller to free comes back in
 * *old (a replaced value) and *dropped (an evicted entry).
 */
static void
put_locked(struct siths_cache *c, struct entry **fresh, void **old, struct entry **dropped)
{
	struct entry *e = *find_link(c, (*fresh)->key);

	if (e != NULL) {
		*old = e->value;
		e->value = (*fresh)->value;
		(*fresh)->value = NULL;         /* transferred */
		e->expires = (*fresh)->expires;
		heap_fix(c, e);
		lru_touch(c, e);
		return;
	}
	if (c->count == c->max)
		*dropped = evict(c);
	attach(c, *fresh);
	*fresh = NULL;                          /* transferred */
}

int
siths_cache_put(struct siths_cache *cache, const unsigned char key[SITHS_CACHE_KEY_LEN],
    void *value, time_t expires)
{
	struct entry *fresh = NULL, *dropped = NULL;
	void *old = NULL;
	int r = SITHS_ERR_INTERNAL;

	/* Without a cache there are no ops to free value with. */
	if (cache == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (cache->max == 0) {
		/* caching is off: the value goes as if evicted at once */
		r = 0;
		goto out;
	}
	/* Allocated before locking, so that no other thread waits for malloc. */
	if ((fresh = calloc(1, sizeof(*fresh))) == NULL) {
		r = SITHS_ERR_NOMEM;
		goto out;
	}
	memcpy(fresh->key, key, SITHS_CACHE_KEY_LEN);
	fresh->value = value;
	fresh->expires = expires;
	value = NULL;   /* transferred */
	pthread_mutex_lock(&cache->lock);
	put_locked(cache, &fresh, &old, &dropped);
	pthread_mutex_unlock(&cache->lock);
	/* success */
	r = 0;
out:
	/* Values are freed outside the lock: ops->free may be slow (X509_free). */
	if (value != NULL)
		cache->ops.free(value);
	if (old != NULL)
		cache->ops.free(old);
	entry_free(cache, dropped);
	free(fresh);
	return r;
}

int
siths_cache_get(struct siths_cache *cache, const unsigned char key[SITHS_CACHE_KEY_LEN],
    time_t now, void **copy)
{
	struct entry **link, *expired = NULL;
	int r = SITHS_ERR_INTERNAL;

	*copy = NULL;
	if (cache == NULL)
		return 1;
	pthread_mutex_lock(&cache->lock);
	link = find_link(cache, key);
	if (*link == NULL) {
		r = 1;
	} else if ((*link)->expires <= now) {
		expired = *link;
		detach(cache, link);
		r = 1;
	} else {
		lru_touch(cache, *link);
		/* Copied under the lock: another thread may replace the entry right after. */
		*copy = cache->ops.dup((*link)->value);
		r = *copy != NULL ? 0 : SITHS_ERR_NOMEM;
	}
	pthread_mutex_unlock(&cache->lock);
	entry_free(cache, expired);
	return r;
}

size_t
siths_cache_count(struct siths_cache *cache)
{
	size_t n;

	if (cache == NULL)
		return 0;
	pthread_mutex_lock(&cache->lock);
	n = cache->count;
	pthread_mutex_unlock(&cache->lock);
	return n;
}

/* --- the disk store --------------------------------------------------------- */

static void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/* Why st cannot be trusted as ours, or NULL: type, owner root or us, private. */
static const char *
unsafe_reason(const struct stat *st, mode_t type)
{
	if ((st->st_mode & S_IFMT) != type)
		return type == S_IFDIR ? "not a directory" : "not a regular file";
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "owned by another user";
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return "accessible by group or others";
	return NULL;
}

/* dir, absolute and without trailing slashes (which would make O_NOFOLLOW follow). */
static int
clean_dir(const char *dir, char *path, size_t size, char *why, size_t whylen)
{
	size_t n;

	if (dir == NULL || dir[0] != '/') {
		snprintf(why, whylen, "cache directory %s: not an absolute path",
		    dir != NULL ? dir : "(none)");
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		;
	if (n >= size) {
		snprintf(why, whylen, "cache directory %.64s...: path too long", dir);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	memcpy(path, dir, n);
	path[n] = '\0';
	return 0;
}

/*
 * A descriptor on dir once it is known to be private to root or us: 0 with
 * *dfd; 1 when it does not exist and create is 0; SITHS_ERR_CONFIG_UNSAFE;
 * or SITHS_ERR_INTERNAL. why says what went wrong.
 */
static int
open_dir(const char *dir, int create, int *dfd, char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct stat st;
	const char *bad;
	int fd = -1, err, r = SITHS_ERR_INTERNAL;

	*dfd = -1;
	if ((r = clean_dir(dir, path, sizeof(path), why, whylen)) != 0)
		goto out;
	/* Only the last component: a missing parent is a configuration error. */
	if (create && mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(why, whylen, "cache directory %s: %s", path, strerror(errno));
		r = SITHS_ERR_INTERNAL;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		err = errno;
		snprintf(why, whylen, "cache directory %s: %s", path,
		    err == ELOOP ? "a symbolic link" : strerror(err));
		if (err == ELOOP || err == ENOTDIR)
			r = SITHS_ERR_CONFIG_UNSAFE;
		else if (err == ENOENT && !create)
			r = 1;
		else
			r = SITHS_ERR_INTERNAL;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "cache directory %s: %s", path, strerror(errno));
		r = SITHS_ERR_INTERNAL;
		goto out;
	}
	if ((bad = unsafe_reason(&st, S_IFDIR)) != NULL) {
		snprintf(why, whylen, "cache directory %s: %s (uid %u, mode %03o)", path, bad,
		    (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777));
		r = SITHS_ERR_CONFIG_UNSAFE;
		goto out;
	}
	/* success */
	*dfd = fd;
	fd = -1;        /* transferred */
	r = 0;
out:
	if (fd != -1)
		close(fd);
	return r;
}

/* Log why name is ignored and remove it, so that the next write replaces it. */
static void
discard(const siths_ctx *ctx, int dfd, const char *name, const struct stat *seen,
    const char *why)
{
	struct stat now;

	siths_debug(ctx, "disk cache: %s ignored and removed: %s", name, why);
	/* Remove only what was judged: a fresh file renamed into place since stays. */
	if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == seen->st_dev &&
	    now.st_ino == seen->st_ino)
		(void)unlinkat(dfd, name, 0);
}

/* Read exactly size bytes and then end of file: a file that changes under us is not used. */
static int
read_exact(int fd, size_t size, unsigned char **out)
{
	unsigned char *buf = NULL, extra;
	size_t got = 0;
	ssize_t n;
	int r = SITHS_ERR_INTERNAL;

	*out = NULL;
	if ((buf = malloc(size)) == NULL)
		return SITHS_ERR_NOMEM;
	while (got < size) {
		if ((n = read(fd, buf + got, size - got)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = 1;
			goto out;
		}
		got += (size_t)n;
	}
	while ((n = read(fd, &extra, 1)) == -1 && errno == EINTR)
		;
	if (n != 0) {
		r = 1;
		goto out;
	}
	/* success */
	*out = buf;
	buf = NULL;     /* transferred */
	r = 0;
out:
	free(buf);
	return r;
}

/* The file name in dfd, if it is ours and sane: 0, 1 (absent or ignored) or NOMEM. */
static int
read_entry(const siths_ctx *ctx, int dfd, const char *name, size_t max_len,
    unsigned char **data, size_t *len)
{
	struct stat st;
	const char *why;
	int fd = -1, err, r = SITHS_ERR_INTERNAL;

	/* O_NONBLOCK: a FIFO planted here must not hang the login. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		err = errno;
		if (err == ELOOP && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			discard(ctx, dfd, name, &st, "a symbolic link");
		else if (err != ENOENT)
			siths_debug(ctx, "disk cache: %s: %s", name, strerror(err));
		r = 1;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		siths_debug(ctx, "disk cache: %s: %s", name, strerror(errno));
		r = 1;
		goto out;
	}
	if ((why = unsafe_reason(&st, S_IFREG)) == NULL && st.st_size <= 0)
		why = "empty";
	if (why == NULL && (uintmax_t)st.st_size > max_len)
		why = "larger than the limit";
	if (why == NULL && (r = read_exact(fd, (size_t)st.st_size, data)) == 1)
		why = "changed while read";
	if (why != NULL) {
		discard(ctx, dfd, name, &st, why);
		r = 1;
		goto out;
	}
	if (r != 0)
		goto out;
	/* success */
	*len = (size_t)st.st_size;
	r = 0;
out:
	if (fd != -1)
		close(fd);
	return r;
}

int
siths_disk_cache_read(const siths_ctx *ctx, const char *dir,
    const unsigned char key[SITHS_CACHE_KEY_LEN], size_t max_len, unsigned char **data,
    size_t *len)
{
	char name[DISK_NAME_SIZE], why[DISK_WHY_MAX];
	int dfd = -1, r = SITHS_ERR_INTERNAL;

	*data = NULL;
	*len = 0;
	if ((r = open_dir(dir, 0, &dfd, why, sizeof(why))) != 0) {
		/* An unsafe directory needs an operator; a missing one is only a miss. */
		if (r == SITHS_ERR_CONFIG_UNSAFE)
			siths_warn(ctx, "disk cache not used: %s", why);
		else
			siths_debug(ctx, "disk cache: %s", why);
		r = 1;
		goto out;
	}
	hex_encode(key, SITHS_CACHE_KEY_LEN, name);
	r = read_entry(ctx, dfd, name, max_len < DISK_MAX_BYTES ? max_len : DISK_MAX_BYTES,
	    data, len);
out:
	if (dfd != -1)
		close(dfd);
	return r;
}

/*
 * Create a new private file in dfd under a random name. O_EXCL|O_NOFOLLOW
 * make sure it is a file we created, never an existing file or a link.
 */
static int
create_temp(const siths_ctx *ctx, int dfd, char tmp[DISK_TMP_SIZE], int *fd)
{
	unsigned char rnd[DISK_TMP_RANDOM];
	int i;

	*fd = -1;
	memcpy(tmp, DISK_TMP_PREFIX, sizeof(DISK_TMP_PREFIX));
	for (i = 0; i < DISK_TMP_TRIES; i++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			break;
		hex_encode(rnd, sizeof(rnd), tmp + sizeof(DISK_TMP_PREFIX) - 1);
		*fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY, 0600);
		if (*fd != -1)
			return 0;
		if (errno != EEXIST)
			break;
	}
	/* Not ours: the caller must not unlink whatever has this name. */
	tmp[0] = '\0';
	return siths_fail(ctx, SITHS_ERR_INTERNAL, "disk cache: cannot create a temporary file: %s",
	    strerror(errno));
}

static int
write_all(int fd, const unsigned char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write data to a temporary file in dfd and rename it over name. */
static int
replace_file(const siths_ctx *ctx, int dfd, const char *name, const unsigned char *data,
    size_t len)
{
	char tmp[DISK_TMP_SIZE] = "";
	int fd = -1, r = SITHS_ERR_INTERNAL;

	if ((r = create_temp(ctx, dfd, tmp, &fd)) != 0)
		goto out;
	/*
	 * No fsync: it costs a login about a millisecond, and what a crash could
	 * leave (a short or empty file) is read back as untrusted input, fails
	 * verification and is replaced; the rename keeps readers from ever seeing
	 * a half-written file while the system runs.
	 */
	if (write_all(fd, data, len) != 0) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "disk cache: writing %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r != 0 || renameat(dfd, tmp, dfd, name) != 0) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "disk cache: replacing %s: %s", name,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';  /* it is name now */
	/* success */
	r = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		(void)unlinkat(dfd, tmp, 0);
	return r;
}

int
siths_disk_cache_write(const siths_ctx *ctx, const char *dir,
    const unsigned char key[SITHS_CACHE_KEY_LEN], const unsigned char *data, size_t len)
{
	char name[DISK_NAME_SIZE], why[DISK_WHY_MAX];
	int dfd = -1, r = SITHS_ERR_INTERNAL;

	/* Empty files are never written, so a reader can ignore them as torn. */
	if (data == NULL || len == 0 || len > DISK_MAX_BYTES) {
		r = siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT,
		    "disk cache: refusing to write %zu bytes (1 to %zu)", len, DISK_MAX_BYTES);
		goto out;
	}
	if ((r = open_dir(dir, 1, &dfd, why, sizeof(why))) != 0) {
		if (r == SITHS_ERR_CONFIG_UNSAFE)
			siths_warn(ctx, "disk cache not used: %s", why);
		r = siths_fail(ctx, r, "disk cache: %s", why);
		goto out;
	}
	hex_encode(key, SITHS_CACHE_KEY_LEN, name);
	if ((r = replace_file(ctx, dfd, name, data, len)) != 0)
		goto out;
	/* success */
	r = 0;
out:
	if (dfd != -1)
		close(dfd);
	return r;
}
