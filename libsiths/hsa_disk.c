/*
 * hsa_disk.c - the directory's answers on disk, under [revocation]
 * cache_dir/hsa beside the revocation answers, so that a login after a
 * restart (of sithsd, of the host, or a new PAM process) still knows the
 * people it has seen while every directory server is down.
 *
 * Read only when no directory server answers (hsa.c), to stand in as a
 * stale answer within stale_max.
 * One file per HSA-id (the name is the SHA-256 of the id, as in memory),
 * holding the identity's wire form (identity_wire.c) and when the directory
 * gave it. What is read back is checked like outside input: the form, the
 * HSA-id it is for, and its age; a file that fails is a miss and removed.
 * The personal identity number is written only with [hsa] personal_number
 * = yes, and dropped when read without it. Bounds: [hsa] disk_cache_entries
 * and disk_cache_bytes, and no entry older than the longer of cache_ttl and
 * stale_max (after that it may not stand in for the directory anyway).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "config.h"
#include "ctx.h"
#include "diskstore.h"
#include "error.h"
#include "hsa.h"
#include "identity_wire.h"
#include "log.h"

/* An identity's file is a few KiB; a person with hundreds of roles some tens. */
#define HSA_DISK_MAX_FILE (256 * 1024)
#define HSA_DISK_FORMAT 1
/* Prune at most this often per context (seconds), from the writes. */
#define HSA_DISK_PRUNE_EVERY 60

/* cache_dir/hsa into path; 0, or 1 when there is no cache_dir. */
static int
store_dir(const siths_ctx *ctx, char *path, size_t len)
{
	int n;

	if (ctx->cfg->cache_dir == NULL || ctx->cfg->cache_dir[0] == '\0')
		return 1;
	n = snprintf(path, len, "%s/hsa", ctx->cfg->cache_dir);
	return n > 0 && (size_t)n < len ? 0 : 1;
}

static long
keep_seconds(const siths_ctx *ctx)
{
	const struct siths_config *cfg = ctx->cfg;

	return cfg->hsa_cache_ttl > cfg->hsa_stale_max ? cfg->hsa_cache_ttl : cfg->hsa_stale_max;
}

static int
entry_key(const char *hsa_id, unsigned char key[SITHS_CACHE_KEY_LEN])
{
	unsigned int len = 0;

	return EVP_Digest(hsa_id, strlen(hsa_id), key, &len, EVP_sha256(), NULL) == 1 &&
	    len == SITHS_CACHE_KEY_LEN ? 0 : SITHS_ERR_INTERNAL;
}

/* The identity in data if it is a sound entry for hsa_id; NULL otherwise. */
static struct siths_identity *
parse_entry(const siths_ctx *ctx, const unsigned char *data, size_t len, const char *hsa_id)
{
	struct siths_identity *id = NULL;
	unsigned int flags = ctx->cfg->hsa_read_personal_number ? SITHS_WIRE_PERSONAL_NUMBER : 0;
	json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *v = json_object_get(root, "format");
	time_t now = time(NULL);

	if (!json_is_integer(v) || json_integer_value(v) != HSA_DISK_FORMAT ||
	    siths_identity_unwire(json_object_get(root, "identity"), flags, &id) != 0)
		goto fail;
	if (strcmp(id->hsa_id, hsa_id) != 0 || !id->from_directory || id->fetched > now + 60 ||
	    now - id->fetched >= keep_seconds(ctx))
		goto fail;
	id->stale = 0;
	json_decref(root);
	return id;
fail:
	siths_identity_free(&id);
	json_decref(root);
	return NULL;
}

int
siths_hsa_disk_read(const siths_ctx *ctx, const char *hsa_id, struct siths_identity **out)
{
	unsigned char key[SITHS_CACHE_KEY_LEN], *data = NULL;
	char dir[PATH_MAX];
	size_t len = 0;
	int r;

	*out = NULL;
	if (store_dir(ctx, dir, sizeof(dir)) != 0 || entry_key(hsa_id, key) != 0)
		return 1;
	if ((r = siths_disk_cache_read(ctx, dir, key, HSA_DISK_MAX_FILE, &data, &len)) != 0)
		return r == SITHS_ERR_NOMEM ? r : 1;
	if ((*out = parse_entry(ctx, data, len, hsa_id)) == NULL) {
		siths_debug(ctx, "HSA: the stored entry for %s is not used (malformed, another "
		    "id's, or too old) and is removed", hsa_id);
		(void)siths_disk_cache_remove(ctx, dir, key);
		r = 1;
	}
	free(data);
	return r;
}

/* The writes of one context prune now and then, not every time: one thread wins. */
static int
prune_due(time_t *last_prune)
{
	time_t now = time(NULL), last = __atomic_load_n(last_prune, __ATOMIC_RELAXED);

	return now - last >= HSA_DISK_PRUNE_EVERY &&
	    __atomic_compare_exchange_n(last_prune, &last, now, 0, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED);
}

void
siths_hsa_disk_prune(const siths_ctx *ctx)
{
	char dir[PATH_MAX];

	if (store_dir(ctx, dir, sizeof(dir)) != 0)
		return;
	(void)siths_disk_cache_prune(ctx, dir, keep_seconds(ctx),
	    (size_t)ctx->cfg->hsa_disk_entries, (size_t)ctx->cfg->hsa_disk_bytes);
}

void
siths_hsa_disk_write(const siths_ctx *ctx, const struct siths_identity *id, time_t *last_prune)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];
	unsigned int flags = ctx->cfg->hsa_read_personal_number ? SITHS_WIRE_PERSONAL_NUMBER : 0;
	json_t *root = NULL;
	char dir[PATH_MAX], *text = NULL;

	if (ctx->cfg->hsa_disk_entries == 0 || store_dir(ctx, dir, sizeof(dir)) != 0 ||
	    entry_key(id->hsa_id, key) != 0)
		return;
	if ((root = json_object()) == NULL ||
	    json_object_set_new(root, "format", json_integer(HSA_DISK_FORMAT)) != 0 ||
	    json_object_set_new(root, "identity", siths_identity_wire(id, flags)) != 0 ||
	    (text = json_dumps(root, JSON_COMPACT)) == NULL || strlen(text) > HSA_DISK_MAX_FILE)
		goto out;
	/* cache_dir itself first: the store creates only its own last component */
	if (siths_disk_cache_prepare(ctx, ctx->cfg->cache_dir) != 0 ||
	    siths_disk_cache_write(ctx, dir, key, (const unsigned char *)text, strlen(text)) != 0)
		siths_debug(ctx, "HSA: the answer for %s is not kept on disk: %s", id->hsa_id,
		    siths_ctx_errmsg(ctx));
	if (prune_due(last_prune))
		siths_hsa_disk_prune(ctx);
out:
	free(text);
	json_decref(root);
}

void
siths_hsa_disk_forget(const siths_ctx *ctx, const char *hsa_id)
{
	unsigned char key[SITHS_CACHE_KEY_LEN];
	char dir[PATH_MAX];

	if (store_dir(ctx, dir, sizeof(dir)) != 0)
		return;
	if (hsa_id == NULL)
		(void)siths_disk_cache_remove(ctx, dir, NULL);
	else if (entry_key(hsa_id, key) == 0)
		(void)siths_disk_cache_remove(ctx, dir, key);
}
