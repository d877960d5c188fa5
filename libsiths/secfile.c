/*
 * secfile.c - opening files that decide about security without trusting
 * their path: no symlinks, the right owner, no write access for others,
 * bounded size.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secfile.h"
#include "siths.h"

enum {
	SECFILE_SECRET = 1 << 0,        /* not readable by group or others either */
	SECFILE_BINARY = 1 << 1,        /* DER: NUL bytes are data, not an attack */
};

static int
owner_ok(const struct stat *sb)
{
	return sb->st_uid == 0 || sb->st_uid == geteuid();
}

/*
 * One component of a path: nobody but root or us may change it. A sticky
 * directory (as /tmp) lets others add names but not replace ours. below
 * names the file the directory leads to, for the message; NULL for the
 * file itself.
 */
static int
check_component(const char *path, const struct stat *sb, const char *below, char *err,
    size_t errlen)
{
	int sticky_dir = S_ISDIR(sb->st_mode) && (sb->st_mode & S_ISVTX);
	char who[2 * PATH_MAX + 32];

	if (below != NULL)
		snprintf(who, sizeof(who), "%s (a directory above %s)", path, below);
	else
		snprintf(who, sizeof(who), "%s", path);
	if (!owner_ok(sb)) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root", who,
		    (unsigned int)sb->st_uid);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_dir) {
		snprintf(err, errlen, "%s: writable by group or others (mode %03o)", who,
		    (unsigned int)(sb->st_mode & 0777));
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	return 0;
}

/* dir (cut up here) becomes its parent; 0 when it was / already. */
static int
cut_to_parent(char *dir)
{
	char *slash = strrchr(dir, '/');

	if (slash == NULL || strcmp(dir, "/") == 0)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 1;
}

/*
 * Every directory from dir (absolute; cut up here) up to / passes
 * check_component. For a realpath() result, no one else can then swap a
 * directory or a file on that path after the check.
 */
static int
check_dirs_upward(char *dir, const char *below, char *err, size_t errlen)
{
	struct stat sb;
	int r;

	for (;;) {
		if (stat(dir, &sb) != 0) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return SITHS_ERR_CONFIG_OPEN;
		}
		if ((r = check_component(dir, &sb, below, err, errlen)) != 0)
			return r;
		if (!cut_to_parent(dir))
			return 0;
	}
}

/*
 * The directory part of path resolved (realpath) and checked upward, and
 * the name to open: that resolved directory and path's last component. The
 * file is then opened through checked directories only; its own last
 * component is still opened with O_NOFOLLOW. Where the path as written goes
 * through a symlink, the directories as written are checked too: the
 * directory holding the link decides where it points.
 */
static int
resolve_parents(const char *path, char *opened, size_t openedlen, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/') + 1;      /* path is absolute */
	char dir[PATH_MAX], real[PATH_MAX];
	size_t dlen = (size_t)(base - path) - 1;
	int r, n, written_differs;

	if (*base == '\0' || dlen >= sizeof(dir)) {
		snprintf(err, errlen, "%s: not a file name", path);
		return SITHS_ERR_CONFIG_OPEN;
	}
	memcpy(dir, path, dlen);
	strcpy(dir + dlen, dlen == 0 ? "/" : "");
	if (realpath(dir, real) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return SITHS_ERR_CONFIG_OPEN;
	}
	n = snprintf(opened, openedlen, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
	if (n < 0 || (size_t)n >= openedlen) {
		snprintf(err, errlen, "%s: path too long", path);
		return SITHS_ERR_CONFIG_OPEN;
	}
	written_differs = strcmp(dir, real) != 0;
	if ((r = check_dirs_upward(real, path, err, errlen)) != 0)
		return r;
	return written_differs ? check_dirs_upward(dir, path, err, errlen) : 0;
}

/* Owner and mode of an open file; 0 or a status with err filled. */
static int
check_open_file(const char *path, const struct stat *sb, size_t max_bytes, int flags,
    char *err, size_t errlen)
{
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if (!owner_ok(sb)) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root", path,
		    (unsigned int)sb->st_uid);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "%s: writable by group or others (mode %03o)", path,
		    (unsigned int)(sb->st_mode & 0777));
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if ((flags & SECFILE_SECRET) && (sb->st_mode & (S_IRGRP | S_IROTH)) != 0) {
		snprintf(err, errlen, "%s: a secret readable by group or others (mode %03o)", path,
		    (unsigned int)(sb->st_mode & 0777));
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if (sb->st_size < 0 || (size_t)sb->st_size > max_bytes) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max_bytes);
		return SITHS_ERR_CONFIG_SYNTAX;
	}
	return 0;
}

/* Read all of fd into a buffer of the file's size plus one byte, so that a
 * file that grew since fstat() is caught rather than cut. */
static int
read_all(int fd, const char *path, size_t size, size_t max_bytes, char **out, size_t *len,
    char *err, size_t errlen)
{
	size_t cap = size + 1, got = 0;
	char *data;
	ssize_t n;

	if ((data = malloc(cap + 1)) == NULL)
		return SITHS_ERR_NOMEM;
	while (got < cap) {
		n = read(fd, data + got, cap - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			explicit_bzero(data, cap + 1);
			free(data);
			return SITHS_ERR_CONFIG_OPEN;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > size || got > max_bytes) {
		snprintf(err, errlen, "%s: changed while being read", path);
		explicit_bzero(data, cap + 1);
		free(data);
		return SITHS_ERR_CONFIG_OPEN;
	}
	data[got] = '\0';
	*out = data;
	*len = got;
	return 0;
}

static int
read_file(const char *path, size_t max_bytes, int flags, char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct stat sb;
	char opened[PATH_MAX], *data = NULL;
	size_t got = 0;
	int fd = -1, r = SITHS_ERR_INTERNAL;

	*buf = NULL;
	*len = 0;
	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path != NULL ? path : "(null)");
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if ((r = resolve_parents(path, opened, sizeof(opened), err, errlen)) != 0)
		return r;
	if ((fd = open(opened, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return errno == ELOOP ? SITHS_ERR_CONFIG_UNSAFE : SITHS_ERR_CONFIG_OPEN;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		r = SITHS_ERR_CONFIG_OPEN;
		goto out;
	}
	if ((r = check_open_file(path, &sb, max_bytes, flags, err, errlen)) != 0 ||
	    (r = read_all(fd, path, (size_t)sb.st_size, max_bytes, &data, &got, err,
	    errlen)) != 0)
		goto out;
	if (!(flags & SECFILE_BINARY) && strlen(data) != got) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		r = SITHS_ERR_CONFIG_SYNTAX;
		goto out;
	}
	/* success */
	*buf = data;
	*len = got;
	data = NULL;    /* transferred */
	r = 0;
out:
	close(fd);
	if (data != NULL) {
		explicit_bzero(data, got);
		free(data);
	}
	return r;
}

int
siths_read_secure_file(const char *path, size_t max_bytes, char **buf, size_t *len,
    char *err, size_t errlen)
{
	return read_file(path, max_bytes, 0, buf, len, err, errlen);
}

int
siths_read_secret_file(const char *path, size_t max_bytes, char **buf, size_t *len,
    char *err, size_t errlen)
{
	return read_file(path, max_bytes, SECFILE_SECRET, buf, len, err, errlen);
}

int
siths_read_secure_data(const char *path, size_t max_bytes, unsigned char **buf, size_t *len,
    char *err, size_t errlen)
{
	char *data = NULL;
	int r;

	*buf = NULL;
	r = read_file(path, max_bytes, SECFILE_BINARY, &data, len, err, errlen);
	*buf = (unsigned char *)data;
	return r;
}

/*
 * real (path's realpath() result, stat'ed into sb) and every directory
 * above it; and, where path as written differs, the directories it names.
 */
static int
check_resolved(char *real, const char *path, const struct stat *sb, char *err, size_t errlen)
{
	char written[PATH_MAX];
	int r;

	if ((r = check_component(real, sb, NULL, err, errlen)) != 0)
		return r;
	if (cut_to_parent(real) && (r = check_dirs_upward(real, path, err, errlen)) != 0)
		return r;
	if (strlen(path) >= sizeof(written))
		return 0;       /* realpath() took it, so it resolved within PATH_MAX */
	strcpy(written, path);
	if (!cut_to_parent(written) || strcmp(written, real) == 0)
		return 0;
	return check_dirs_upward(written, path, err, errlen);
}

/* path resolved into real and stat'ed into sb; 0 or a status with err filled. */
static int
resolve(const char *path, char real[PATH_MAX], struct stat *sb, char *err, size_t errlen)
{
	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path != NULL ? path : "(null)");
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if (realpath(path, real) == NULL || stat(real, sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SITHS_ERR_CONFIG_OPEN;
	}
	return 0;
}

int
siths_check_code_file(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat sb;
	int r;

	/* Distributions link modules through /usr/lib/... symlinks: judge what
	 * the name resolves to, every directory on the way included. */
	if ((r = resolve(path, real, &sb, err, errlen)) != 0)
		return r;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	return check_resolved(real, path, &sb, err, errlen);
}

int
siths_check_secure_dir(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat sb;
	int r;

	if ((r = resolve(path, real, &sb, err, errlen)) != 0)
		return r;
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	return check_resolved(real, path, &sb, err, errlen);
}
