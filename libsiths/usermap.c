/*
 * usermap.c - local policy: which login name an identity gets. It comes
 * from the map file's "HSA-ID login" lines (file:) or from an attribute of
 * the person's HSA entry (attr:); either way the name must be a plain login
 * name, exist in the user database, and be root only when allow_root says
 * so.
 */
#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "service.h"

/* A user map larger than this is a mistake, not a municipality. */
#define SITHS_USERMAP_MAX_BYTES (4 * 1024 * 1024)
#define SITHS_LOGIN_MAX 32

static int
login_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > SITHS_LOGIN_MAX || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Next blank-separated word of line at *p; its length, 0 at the end. */
static size_t
next_word(const char **p, const char **word)
{
	size_t len = 0;

	while (**p == ' ' || **p == '\t' || **p == '\r')
		(*p)++;
	*word = *p;
	while ((*p)[len] != '\0' && !isspace((unsigned char)(*p)[len]))
		len++;
	*p += len;
	return len;
}

/*
 * Find hsa_id in the map text; *login allocated when found, else NULL.
 * backwards: hsa_id is a login name, and *login receives its first HSA-id.
 */
static int
search_map(const siths_ctx *ctx, const char *path, char *text, const char *hsa_id,
    char **login, int backwards)
{
	const char *p, *id, *name, *extra;
	char *line, *next, *hash;
	size_t idlen, namelen;
	int lineno = 0;

	*login = NULL;
	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		p = line;
		if ((idlen = next_word(&p, &id)) == 0)
			continue;
		namelen = next_word(&p, &name);
		if (namelen == 0 || next_word(&p, &extra) != 0 || !login_name_valid(name, namelen))
			return siths_fail(ctx, SITHS_ERR_POLICY_MAP_FILE,
			    "%s:%d: expected 'HSA-ID login-name'", path, lineno);
		if (backwards) {
			if (*login == NULL && namelen == strlen(hsa_id) &&
			    memcmp(name, hsa_id, namelen) == 0 && (*login = strndup(id, idlen)) == NULL)
				return SITHS_ERR_NOMEM;
			continue;
		}
		if (*login == NULL && idlen == strlen(hsa_id) && memcmp(id, hsa_id, idlen) == 0 &&
		    (*login = strndup(name, namelen)) == NULL)
			return SITHS_ERR_NOMEM;
	}
	return 0;
}

/* Whether the map may name root for ctx: its own setting, else the configuration's. */
static int
root_allowed(const siths_ctx *ctx)
{
	return ctx->allow_root_set ? ctx->allow_root : ctx->cfg->allow_root;
}

int
siths_ctx_set_allow_root(siths_ctx *ctx, int allow)
{
	if (ctx == NULL || allow < -1 || allow > 1)
		return SITHS_ERR_INVALID_ARGUMENT;
	ctx->allow_root_set = allow >= 0;
	ctx->allow_root = allow == 1;
	return 0;
}

static int
check_local_user(siths_ctx *ctx, const char *login)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(login, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return siths_fail(ctx, SITHS_ERR_POLICY_UNKNOWN_USER,
		    "the mapped user '%s' does not exist", login);
	if (pw.pw_uid == 0 && !root_allowed(ctx))
		return siths_fail(ctx, SITHS_ERR_POLICY_ROOT_DENIED, "'%s' has uid 0 and %s", login,
		    ctx->allow_root_set ? "this caller does not allow root" :
		    "[pam] allow_root = no");
	return 0;
}

/* The login name for id from the map file at path; *login allocated. */
static int
map_from_file(siths_ctx *ctx, const struct siths_identity *id, const char *path, char **login)
{
	char err[SITHS_ERRMSG_MAX], *text = NULL;
	size_t len = 0;
	int r;

	*login = NULL;
	r = siths_read_secure_file(path, SITHS_USERMAP_MAX_BYTES, &text, &len, err, sizeof(err));
	if (r != 0) {
		r = siths_fail(ctx, SITHS_ERR_POLICY_MAP_FILE, "user map: %s", err);
		goto out;
	}
	if ((r = search_map(ctx, path, text, id->hsa_id, login, 0)) != 0)
		goto out;
	if (*login == NULL) {
		r = siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING, "%s maps no user to %s", path,
		    id->hsa_id);
		goto out;
	}
	/* success */
	r = 0;
out:
	if (r != 0) {
		free(*login);
		*login = NULL;
	}
	free(text);
	return r;
}

/*
 * The login name for id from attribute attr of the person's HSA entry
 * (hsa_map.c kept it); *login allocated.
 *
 * Every refusal here is SITHS_ERR_POLICY_NO_MAPPING: no one local user is
 * named for this person. Several values are not SITHS_ERR_HSA_AMBIGUOUS,
 * whose meaning (and sentence) is one HSA-id on several entries; nor
 * SITHS_ERR_POLICY_MAP_FILE, which says the administrator's whole map is
 * unusable and makes pam_siths answer "unavailable": one person's entry
 * refuses that person only. The value is directory data, so it is never
 * put into a message before it has passed login_name_valid().
 */
static int
map_from_attr(siths_ctx *ctx, const struct siths_identity *id, const char *attr,
    char **login)
{
	*login = NULL;
	if (!id->from_directory)
		return siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING,
		    "[pam] user_map = attr:%s needs the HSA entry of %s, and this identity "
		    "does not come from the directory", attr, id->hsa_id);
	if (id->map_login_values == 0)
		return siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING,
		    "the HSA entry of %s has no %s to name a local user", id->hsa_id, attr);
	if (id->map_login_values > 1 || id->map_login == NULL)
		return siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING,
		    "the HSA entry of %s has %zu values of %s: which local user is ambiguous",
		    id->hsa_id, id->map_login_values, attr);
	if (!login_name_valid(id->map_login, strlen(id->map_login)))
		return siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING,
		    "the %s of %s in HSA is not a login name (1 to %d letters, digits, '.', "
		    "'_', '-', not starting with '-')", attr, id->hsa_id, SITHS_LOGIN_MAX);
	if ((*login = strdup(id->map_login)) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "user map: out of memory");
	return 0;
}

/*
 * The map's login name for id, checked in the user database; *name is
 * allocated, and kept when the refusal is for root.
 */
static int
map_here(siths_ctx *ctx, const siths_identity *id, char **name)
{
	const struct siths_config *cfg = ctx->cfg;
	int r;

	/* config.c accepts file:/PATH and attr:NAME only */
	if (cfg->user_map_attr != NULL)
		r = map_from_attr(ctx, id, cfg->user_map_attr, name);
	else
		r = map_from_file(ctx, id, cfg->user_map + strlen("file:"), name);
	return r != 0 ? r : check_local_user(ctx, *name);
}

int
siths_map_user_service_side(siths_ctx *ctx, const siths_identity *id, char **login)
{
	char *name = NULL;
	int r;

	*login = NULL;
	if (ctx == NULL || ctx->cfg == NULL || id == NULL || id->hsa_id == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	r = map_here(ctx, id, &name);
	if (r == 0 || r == SITHS_ERR_POLICY_ROOT_DENIED)
		*login = name;
	else
		free(name);
	return r;
}

/*
 * sithsd refused a mapping for naming root, under its own [pam] allow_root:
 * this context may allow it (siths_ctx_set_allow_root), after checking the
 * user in this machine's database; else sithsd's refusal stands.
 */
static int
take_root_refused(siths_ctx *ctx, const char *name, const char *why, char **login)
{
	int r;

	if (!ctx->allow_root_set || !ctx->allow_root)
		return siths_fail(ctx, SITHS_ERR_POLICY_ROOT_DENIED, "%s", why != NULL ? why : "");
	if ((r = check_local_user(ctx, name)) != 0)
		return r;
	if ((*login = strdup(name)) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "user map: out of memory");
	siths_log(ctx, SITHS_LOG_NOTICE, "'%s' is root: sithsd's configuration refuses it, this "
	    "caller allows it (allow_root)", name);
	return 0;
}

int
siths_map_user(siths_ctx *ctx, const siths_identity *id, char **login)
{
	const struct siths_config *cfg;
	char why[SITHS_ERRMSG_MAX], *name = NULL;
	int r = SITHS_ERR_INTERNAL;

	if (login != NULL)
		*login = NULL;
	if (ctx == NULL || (cfg = ctx->cfg) == NULL || id == NULL || id->hsa_id == NULL ||
	    login == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	/* sithsd mapped the identity it answered with: its word stands */
	if (id->svc_mapped) {
		if (id->svc_map_status == SITHS_ERR_POLICY_ROOT_DENIED && id->svc_login != NULL)
			return take_root_refused(ctx, id->svc_login, id->svc_map_message, login);
		if (id->svc_map_status != 0)
			return siths_fail(ctx, id->svc_map_status, "%s",
			    id->svc_map_message != NULL ? id->svc_map_message : "");
		if (id->svc_login == NULL || (*login = strdup(id->svc_login)) == NULL)
			return siths_fail(ctx, id->svc_login == NULL ? SITHS_ERR_SERVICE_PROTOCOL :
			    SITHS_ERR_NOMEM, "sithsd's mapping holds no login name");
		return 0;
	}
	if (siths_service_enabled(ctx)) {
		r = siths_service_map(ctx, id->hsa_id, &name);
		if (r == SITHS_ERR_POLICY_ROOT_DENIED && name != NULL) {
			snprintf(why, sizeof(why), "%s", siths_ctx_errmsg(ctx));
			r = take_root_refused(ctx, name, why, login);
		} else if (r == 0) {
			*login = name;
			name = NULL;    /* transferred */
		}
		if (!siths_service_fallback(ctx, &r))
			goto out;
		free(name);
		name = NULL;
	}
	if ((r = map_here(ctx, id, &name)) != 0)
		goto out;
	/* success */
	*login = name;
	name = NULL;    /* transferred */
	r = 0;
out:
	free(name);
	return r;
}

int
siths_map_user_hsa_id(siths_ctx *ctx, const char *login, char **hsa_id)
{
	const struct siths_config *cfg;
	char err[SITHS_ERRMSG_MAX], *text = NULL;
	const char *path;
	size_t len = 0;
	int r;

	if (hsa_id != NULL)
		*hsa_id = NULL;
	if (ctx == NULL || (cfg = ctx->cfg) == NULL || login == NULL || hsa_id == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	/* an attribute in the directory cannot be read backwards without a search by it */
	if (cfg->user_map_attr != NULL)
		return siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING,
		    "[pam] user_map = attr:%s cannot name the HSA-id of a local user",
		    cfg->user_map_attr);
	path = cfg->user_map + strlen("file:");
	if ((r = siths_read_secure_file(path, SITHS_USERMAP_MAX_BYTES, &text, &len, err,
	    sizeof(err))) != 0)
		return siths_fail(ctx, SITHS_ERR_POLICY_MAP_FILE, "user map: %s", err);
	if ((r = search_map(ctx, path, text, login, hsa_id, 1)) == 0 && *hsa_id == NULL)
		r = siths_fail(ctx, SITHS_ERR_POLICY_NO_MAPPING, "%s maps no HSA-id to the user %s",
		    path, login_name_valid(login, strlen(login)) ? login : "(not a login name)");
	free(text);
	return r;
}
