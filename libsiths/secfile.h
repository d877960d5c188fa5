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
 * Check a file that will be loaded as code (a PKCS#11 module): absolute,
 * a regular file, and neither it nor any directory above it writable by
 * anyone but root or the effective user (a sticky directory excepted).
 * 0 or SITHS_ERR_CONFIG_UNSAFE / SITHS_ERR_CONFIG_OPEN with err filled.
 */
int siths_check_code_file(const char *path, char *err, size_t errlen);

#endif
