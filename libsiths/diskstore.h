/*
 * diskstore.h - the on-disk store of answers (DER of OCSP responses and
 * CRLs, HSA identities), keyed like the memory caches, so that short-lived
 * processes such as a PAM login, and sithsd after a restart, reuse what was
 * fetched before.
 */
#ifndef SITHS_DISKSTORE_H
#define SITHS_DISKSTORE_H

#include <stddef.h>
#include <time.h>

#include "cache.h"
#include "siths.h"

/*
 * The on-disk store: one file per key under dir, named by the key in hex.
 * dir is created mode 0700 if missing; a dir or file that is not owned by
 * root (or the effective user), is group/world-accessible, is a symlink or
 * is larger than max_len is ignored (read) or replaced (write). Writes are
 * atomic (temporary file, fsync, rename). Contents are untrusted input:
 * callers verify what they read as if it came from the network.
 *
 * read: 0 with *data (malloc'd) and *len, 1 when absent or ignored (a
 * reason is logged at debug level), or SITHS_ERR_NOMEM.
 * write: 0, or a negative status (logged; callers carry on without the
 * disk copy).
 */
int siths_disk_cache_read(const siths_ctx *ctx, const char *dir,
    const unsigned char key[SITHS_CACHE_KEY_LEN], size_t max_len, unsigned char **data,
    size_t *len);
int siths_disk_cache_write(const siths_ctx *ctx, const char *dir,
    const unsigned char key[SITHS_CACHE_KEY_LEN], const unsigned char *data, size_t len);

/*
 * Remove the file of key (forget one answer), or with key NULL every
 * entry's file in dir. 0, or a negative status (dir unsafe or unreadable).
 */
int siths_disk_cache_remove(const siths_ctx *ctx, const char *dir,
    const unsigned char key[SITHS_CACHE_KEY_LEN]);

/*
 * Keep dir within bounds: entries last written more than max_age seconds
 * ago are removed, then the oldest until at most max_entries files of at
 * most max_bytes together are left (0: no bound). Returns how many were
 * removed, or a negative status.
 */
int siths_disk_cache_prune(const siths_ctx *ctx, const char *dir, long max_age,
    size_t max_entries, size_t max_bytes);

/* Create dir (mode 0700) if it is missing; 0, or a negative status. */
int siths_disk_cache_prepare(const siths_ctx *ctx, const char *dir);

#endif
