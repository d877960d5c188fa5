/*
 * cache.c - the bounded LRU+TTL cache that contexts keep validation,
 * revocation and directory answers in (the disk store is diskstore.c).
 *
 * A hash table over the key (already a SHA-256 digest), a doubly linked
 * LRU list and a min-heap on expiry, all under one mutex per cache.
 * Values belong to the cache; callers only ever get copies (ops->dup), so
 * an entry can be replaced or evicted while a caller still uses its copy.
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

void
siths_cache_remove(struct siths_cache *cache, const unsigned char key[SITHS_CACHE_KEY_LEN])
{
	struct entry **link, *gone = NULL;

	if (cache == NULL)
		return;
	pthread_mutex_lock(&cache->lock);
	link = find_link(cache, key);
	if (*link != NULL) {
		gone = *link;
		detach(cache, link);
	}
	pthread_mutex_unlock(&cache->lock);
	entry_free(cache, gone);
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
