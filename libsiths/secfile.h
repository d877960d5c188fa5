/*
 * secfile.h - opening files that decide about security: configuration,
 * user maps, passwords, trust anchors, CRL files, and PKCS#11 modules before they are
 * loaded into (often root) processes.
 */
#ifndef SITHS_SECFILE_H
#define SITHS_SECFILE_H

#include <stddef.h>

/*
 * Read a file that decides about security: absolute path, O_NOFOLLOW,
 * regular file, owned by root or the effective user, not group/world-
 * writable, at most max_bytes. On success *buf holds the NUL-terminated
 * contents (free() it) and *len its length. Errors: SITHS_ERR_CONFIG_OPEN,
 * SITHS_ERR_CONFIG_UNSAFE, SITHS_ERR_CONFIG_SYNTAX (too large, NUL byte),
 * SITHS_ERR_NOMEM, with a sentence in err.
 */
int siths_read_secure_file(const char *path, size_t max_bytes, char **buf, size_t *len,
    char *err, size_t errlen);

/* The same for data that may be binary (DER certificates and CRLs): NUL
 * bytes are allowed, the buffer still ends in one past *len. */
int siths_read_secure_data(const char *path, size_t max_bytes, unsigned char **buf,
    size_t *len, char *err, size_t errlen);

/* The same for a secret (a password): also not group/world-readable; the
 * buffer is wiped before it is freed on every error path. */
int siths_read_secret_file(const char *path, size_t max_bytes, char **buf, size_t *len,
    char *err, size_t errlen);

/*
 * Each of the readers above also walks the path one component at a time,
 * as the kernel resolves it: every directory passed through, through
 * symbolic links too, must be owned by root or the effective user and not
 * be writable by group or others unless sticky (as /tmp); every symbolic
 * link on the way must be owned by root or the effective user. Whoever can
 * change a directory or a link on the way could swap the file for another
 * root-owned one (an old user map). The file is then opened by the path
 * the walk resolved, so that nothing checked can change in between.
 */

/* A directory of security files (trust anchors): itself and the way to it checked
 * like a file's. 0 or SITHS_ERR_CONFIG_UNSAFE / SITHS_ERR_CONFIG_OPEN. */
int siths_check_secure_dir(const char *path, char *err, size_t errlen);

/* A file another library opens by name (libldap's TLS CA, certificate and
 * key): the walk, then the file's own owner and mode (secret: not readable
 * by group or others either), without reading it. */
int siths_check_secure_path(const char *path, int secret, char *err, size_t errlen);

/*
 * Check a file that will be loaded as code (a PKCS#11 module): absolute,
 * a regular file, and neither it nor any directory above it writable by
 * anyone but root or the effective user (a sticky directory excepted).
 * 0 or SITHS_ERR_CONFIG_UNSAFE / SITHS_ERR_CONFIG_OPEN with err filled.
 */
int siths_check_code_file(const char *path, char *err, size_t errlen);

#endif
