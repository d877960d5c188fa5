/*
 * diskstore.c - the on-disk store through which short-lived processes (a
 * PAM login) and restarts of sithsd reuse what was fetched before: one
 * file per key in a directory that only root (or the effective user) can
 * enter, reached only through a descriptor on that directory so that no
 * path component can be swapped between check and use. Whatever looks
 * foreign is ignored and removed, never trusted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diskstore.h"
#include "error.h"
#include "log.h"
#include "secfile.h"

/* The largest file the disk store reads or writes. */
#define DISK_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define DISK_NAME_SIZE (2 * SITHS_CACHE_KEY_LEN + 1)
/* ".tmp-" and 16 hex digits: never a key's name, which is 64 hex digits. */
#define DISK_TMP_PREFIX ".tmp-"
#define DISK_TMP_RANDOM 8
#define DISK_TMP_SIZE (sizeof(DISK_TMP_PREFIX) + 2 * DISK_TMP_RANDOM)
#define DISK_TMP_TRIES 8
#define DISK_WHY_MAX (PATH_MAX + 128)

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
 * The way to the store (secfile.c's walk): whoever could change a directory
 * above it could put an older store, with answers still within their
 * validity, in its place.
 */
static int
check_parent(const char *path, char *why, size_t whylen)
{
	char parent[PATH_MAX], err[PATH_MAX + 64];
	char *slash;
	int r;

	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) == NULL)
		return SITHS_ERR_CONFIG_UNSAFE;
	slash[slash == parent ? 1 : 0] = '\0';
	if ((r = siths_check_secure_dir(parent, err, sizeof(err))) == 0)
		return 0;
	/* err names the directory at fault */
	snprintf(why, whylen, "cache directory: %s", err);
	if (r == SITHS_ERR_CONFIG_UNSAFE)
		return r;
	/* a missing parent: as for a missing directory */
	return SITHS_ERR_INTERNAL;
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
	if ((r = clean_dir(dir, path, sizeof(path), why, whylen)) != 0 ||
	    (r = check_parent(path, why, whylen)) != 0)
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

int
siths_disk_cache_prepare(const siths_ctx *ctx, const char *dir)
{
	char why[DISK_WHY_MAX];
	int dfd = -1, r;

	if ((r = open_dir(dir, 1, &dfd, why, sizeof(why))) != 0)
		return siths_fail(ctx, r, "disk cache: %s", why);
	close(dfd);
	return 0;
}

/* Is name what the store writes for a key (64 hex digits)? */
static int
is_entry_name(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	}
	return i == 2 * SITHS_CACHE_KEY_LEN;
}

/* One entry found by a scan, for pruning. */
struct scanned {
	char name[DISK_NAME_SIZE];
	time_t mtime;
	size_t size;
};

static int
older_first(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/*
 * The store's entries in dfd (regular files with entry names; anything
 * else is left alone), at most cap of them. *out is allocated.
 */
static int
scan_entries(int dfd, size_t cap, struct scanned **out, size_t *n)
{
	struct scanned *v = NULL, *grown;
	struct dirent *de;
	struct stat st;
	size_t room = 0;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return SITHS_ERR_INTERNAL;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && *n < cap) {
		if (!is_entry_name(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n == room) {
			room = room == 0 ? 64 : 2 * room;
			if ((grown = realloc(v, room * sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return SITHS_ERR_NOMEM;
			}
			v = grown;
		}
		memcpy(v[*n].name, de->d_name, DISK_NAME_SIZE);
		v[*n].mtime = st.st_mtime;
		v[*n].size = (size_t)st.st_size;
		(*n)++;
	}
	closedir(d);
	*out = v;
	return 0;
}

/* Entries looked at in one prune; a directory holding more is pruned in turns. */
#define DISK_SCAN_MAX ((size_t)1 << 20)

int
siths_disk_cache_prune(const siths_ctx *ctx, const char *dir, long max_age,
    size_t max_entries, size_t max_bytes)
{
	struct scanned *v = NULL;
	char why[DISK_WHY_MAX];
	size_t n = 0, i, kept = 0, bytes = 0;
	time_t now = time(NULL);
	int dfd = -1, r, removed = 0;

	if ((r = open_dir(dir, 0, &dfd, why, sizeof(why))) != 0)
		return r == 1 ? 0 : siths_fail(ctx, r, "disk cache: %s", why);
	if ((r = scan_entries(dfd, DISK_SCAN_MAX, &v, &n)) != 0)
		goto out;
	qsort(v, n, sizeof(*v), older_first);
	/* the newest are kept: count from the end */
	for (i = n; i-- > 0;) {
		int old = max_age >= 0 && now - v[i].mtime > max_age;
		int over = (max_entries > 0 && kept >= max_entries) ||
		    (max_bytes > 0 && bytes + v[i].size > max_bytes);

		if (old || over) {
			if (unlinkat(dfd, v[i].name, 0) == 0)
				removed++;
			continue;
		}
		kept++;
		bytes += v[i].size;
	}
	if (removed > 0)
		siths_debug(ctx, "disk cache: %d entries of %s removed (%zu kept)", removed, dir,
		    kept);
	r = removed;
out:
	free(v);
	close(dfd);
	return r;
}

int
siths_disk_cache_remove(const siths_ctx *ctx, const char *dir,
    const unsigned char key[SITHS_CACHE_KEY_LEN])
{
	struct scanned *v = NULL;
	char name[DISK_NAME_SIZE], why[DISK_WHY_MAX];
	size_t n = 0, i;
	int dfd = -1, r;

	if ((r = open_dir(dir, 0, &dfd, why, sizeof(why))) != 0)
		return r == 1 ? 0 : siths_fail(ctx, r, "disk cache: %s", why);
	if (key != NULL) {
		hex_encode(key, SITHS_CACHE_KEY_LEN, name);
		r = unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : SITHS_ERR_INTERNAL;
		goto out;
	}
	if ((r = scan_entries(dfd, DISK_SCAN_MAX, &v, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		(void)unlinkat(dfd, v[i].name, 0);
out:
	free(v);
	close(dfd);
	return r;
}
