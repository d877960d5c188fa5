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

/* Symbolic links followed in one walk before it counts as a loop (as the kernel's 40). */
#define SECFILE_MAX_LINKS 40

/* A link on the way: its directory is checked already; the link itself must be ours. */
static int
check_link(const char *link, const struct stat *sb, const char *below, char *err,
    size_t errlen)
{
	if (owner_ok(sb))
		return 0;
	snprintf(err, errlen, "%s (a symbolic link on the way to %s): owned by uid %u, not by "
	    "root", link, below, (unsigned int)sb->st_uid);
	return SITHS_ERR_CONFIG_UNSAFE;
}

/* The next component of *rest (skipping slashes) into comp; 0 when there is none. */
static int
next_component(const char **rest, char *comp, size_t len)
{
	const char *p = *rest, *end;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return 0;
	end = strchrnul(p, '/');
	if ((size_t)(end - p) >= len)
		return -1;
	memcpy(comp, p, (size_t)(end - p));
	comp[end - p] = '\0';
	*rest = end;
	return 1;
}

/* a + "/" + b into buf; -1 when it does not fit. */
static int
join(char *buf, size_t len, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na + 1 + nb >= len)
		return -1;
	memcpy(buf, a, na);
	buf[na] = '/';
	memcpy(buf + na + 1, b, nb + 1);
	return 0;
}

static int
only_slashes(const char *s)
{
	return s[strspn(s, "/")] == '\0';
}

/*
 * Walk path one component at a time from /, as the kernel resolves it:
 * every directory passed through must pass check_component, and every
 * symbolic link be ours (the directory holding it is checked already, and
 * decides where it points); a link's target is walked the same way, so a
 * chain of links through another user's directory is caught wherever it
 * goes. *resolved receives the path without links. With follow_last 0 a
 * link in the last component is not followed: the caller opens it with
 * O_NOFOLLOW, which refuses it.
 */
static int
walk(const char *path, int follow_last, char resolved[PATH_MAX], char *err, size_t errlen)
{
	char todo[2 * PATH_MAX], next[2 * PATH_MAX], cand[PATH_MAX], target[PATH_MAX];
	char comp[NAME_MAX + 1];
	const char *rest;
	struct stat sb;
	ssize_t n;
	int links = 0, r, more, last;

	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path != NULL ? path : "(null)");
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	if (strlen(path) >= sizeof(todo)) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return SITHS_ERR_CONFIG_OPEN;
	}
	strcpy(todo, path);
	resolved[0] = '\0';    /* "": the root */
	if (stat("/", &sb) != 0) {
		snprintf(err, errlen, "/: %s", strerror(errno));
		return SITHS_ERR_CONFIG_OPEN;
	}
	if ((r = check_component("/", &sb, path, err, errlen)) != 0)
		return r;
	rest = todo;
	while ((more = next_component(&rest, comp, sizeof(comp))) != 0) {
		if (more < 0 || strlen(resolved) + 1 + strlen(comp) >= PATH_MAX) {
			snprintf(err, errlen, "%.64s...: path too long", path);
			return SITHS_ERR_CONFIG_OPEN;
		}
		last = only_slashes(rest);
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			/* resolved has no links: its parent is a checked directory */
			if (resolved[0] != '\0')
				*strrchr(resolved, '/') = '\0';
			continue;
		}
		if (join(cand, sizeof(cand), resolved, comp) != 0) {
			snprintf(err, errlen, "%.64s...: path too long", path);
			return SITHS_ERR_CONFIG_OPEN;
		}
		if (lstat(cand, &sb) != 0) {
			snprintf(err, errlen, "%s: %s", cand, strerror(errno));
			return SITHS_ERR_CONFIG_OPEN;
		}
		if (S_ISLNK(sb.st_mode) && (!last || follow_last)) {
			if ((r = check_link(cand, &sb, path, err, errlen)) != 0)
				return r;
			if (++links > SECFILE_MAX_LINKS ||
			    (n = readlink(cand, target, sizeof(target) - 1)) <= 0) {
				snprintf(err, errlen, "%s: %s", cand, links > SECFILE_MAX_LINKS ?
				    "too many levels of symbolic links" : strerror(errno));
				return SITHS_ERR_CONFIG_OPEN;
			}
			target[n] = '\0';
			if (join(next, sizeof(next), target, rest) != 0) {
				snprintf(err, errlen, "%.64s...: path too long", path);
				return SITHS_ERR_CONFIG_OPEN;
			}
			strcpy(todo, next);
			rest = todo;
			if (target[0] == '/')
				resolved[0] = '\0';
			continue;
		}
		memcpy(resolved, cand, strlen(cand) + 1);
		if (last)
			return 0;       /* the caller judges the file (or directory) itself */
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a directory", cand);
			return SITHS_ERR_CONFIG_OPEN;
		}
		if ((r = check_component(cand, &sb, path, err, errlen)) != 0)
			return r;
	}
	if (resolved[0] == '\0')
		strcpy(resolved, "/");
	return 0;
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
	if (path != NULL && path[0] != '\0' && path[strlen(path) - 1] == '/') {
		snprintf(err, errlen, "%s: names a directory, not a file", path);
		return SITHS_ERR_CONFIG_OPEN;
	}
	if ((r = walk(path, 0, opened, err, errlen)) != 0)
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

/* path walked (links followed) into real and lstat'ed into sb. */
static int
resolve(const char *path, char real[PATH_MAX], struct stat *sb, char *err, size_t errlen)
{
	int r;

	if ((r = walk(path, 1, real, err, errlen)) != 0)
		return r;
	if (lstat(real, sb) != 0) {
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
	 * the name leads to, every directory and link on the way included. */
	if ((r = resolve(path, real, &sb, err, errlen)) != 0)
		return r;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	return check_component(real, &sb, NULL, err, errlen);
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
	return check_component(real, &sb, NULL, err, errlen);
}

int
siths_check_secure_path(const char *path, int secret, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat sb;
	int r;

	if ((r = walk(path, 0, real, err, errlen)) != 0)
		return r;
	if (lstat(real, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SITHS_ERR_CONFIG_OPEN;
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link", path);
		return SITHS_ERR_CONFIG_UNSAFE;
	}
	return check_open_file(path, &sb, SIZE_MAX, secret ? SECFILE_SECRET : 0, err, errlen);
}
