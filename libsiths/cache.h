/*
 * cache.h - a bounded, thread-safe LRU cache with expiry, keyed by 32-byte
 * digests (callers hash what identifies an entry with SHA-256). The disk
 * store beside it is diskstore.h.
 */
#ifndef SITHS_CACHE_H
#define SITHS_CACHE_H

#include <stddef.h>
#include <time.h>

#include "siths.h"

#define SITHS_CACHE_KEY_LEN 32

/* How the cache copies a value out and frees one it drops. */
struct siths_cache_ops {
	void *(*dup)(const void *value);   /* NULL result: out of memory */
	void (*free)(void *value);
};

struct siths_cache;

/* A cache of at most max_entries; 0 entries means caching is off. */
struct siths_cache *siths_cache_new(size_t max_entries, const struct siths_cache_ops *ops);
void siths_cache_free(struct siths_cache **cache);

/*
 * Store value (ownership moves to the cache, also on failure) under key
 * until expires (absolute, seconds since the epoch). Replaces an entry with
 * the same key; evicts the least recently used entry when full.
 * Returns 0 or SITHS_ERR_NOMEM.
 */
int siths_cache_put(struct siths_cache *cache, const unsigned char key[SITHS_CACHE_KEY_LEN],
    void *value, time_t expires);

/*
 * A copy (ops->dup) of the entry under key if it has not expired at now;
 * expired entries are dropped. 0 with *copy set, SITHS_ERR_NOMEM, or 1 when
 * there is no live entry (*copy NULL).
 */
int siths_cache_get(struct siths_cache *cache, const unsigned char key[SITHS_CACHE_KEY_LEN],
    time_t now, void **copy);

/* Drop the entry under key, if any. */
void siths_cache_remove(struct siths_cache *cache, const unsigned char key[SITHS_CACHE_KEY_LEN]);

/* Drop every entry (an operator's flush, a benchmark's cold start). */
void siths_cache_clear(struct siths_cache *cache);

/* Entries held now (live or not yet dropped). */
size_t siths_cache_count(struct siths_cache *cache);

#endif
