/*
 * access.c - who may ask sithsd what (the rule is in access.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "access.h"
#include "config.h"
#include "ctx.h"

/* Supplementary groups looked at per caller; more is no longer a person. */
#define ACCESS_MAX_GROUPS 256

/* getgrnam_r/getpwuid_r with a buffer that grows for large entries (up to 1 MiB). */
#define ACCESS_BUF_MAX (1024 * 1024)

/* [service] admin_group as a gid; 0 with *gid, or -1 when unset or unknown. */
static int
admin_gid(const siths_ctx *ctx, gid_t *gid)
{
	const char *name = ctx->cfg->service_admin_group;
	struct group gr, *res = NULL;
	size_t len;
	char *buf = NULL, *end;
	long n;
	int r = ERANGE;

	if (name == NULL)
		return -1;
	n = strtol(name, &end, 10);
	if (*end == '\0' && n >= 0) {
		*gid = (gid_t)n;
		return 0;
	}
	for (len = 4096; r == ERANGE && len <= ACCESS_BUF_MAX; len *= 4) {
		free(buf);
		if ((buf = malloc(len)) == NULL)
			return -1;
		r = getgrnam_r(name, &gr, buf, len, &res);
	}
	if (r == 0 && res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	return r == 0 && res != NULL ? 0 : -1;
}

/*
 * Is uid a member of want by the user database (its primary group and its
 * supplementary groups)? The connecting process's own gid is not asked: a
 * setgid program is no member.
 */
static int
member_of(uid_t uid, gid_t want)
{
	struct passwd pw, *res = NULL;
	gid_t groups[ACCESS_MAX_GROUPS];
	size_t len;
	char *buf = NULL;
	int n = ACCESS_MAX_GROUPS, i, r = ERANGE, found = 0;

	for (len = 4096; r == ERANGE && len <= ACCESS_BUF_MAX; len *= 4) {
		free(buf);
		if ((buf = malloc(len)) == NULL)
			return 0;
		r = getpwuid_r(uid, &pw, buf, len, &res);
	}
	if (r == 0 && res != NULL && getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) >= 0) {
		for (i = 0; i < n && !found; i++)
			found = groups[i] == want;
	}
	free(buf);
	return found;
}

int
sithsd_caller_from_socket(int fd, struct sithsd_caller *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(c, 0, sizeof(*c));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return -1;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	return 0;
}

int
sithsd_caller_admin(siths_ctx *ctx, struct sithsd_caller *c)
{
	gid_t want;

	if (!c->judged) {
		c->admin = c->uid == 0 || (admin_gid(ctx, &want) == 0 && member_of(c->uid, want));
		c->judged = 1;
	}
	return c->admin;
}

int
sithsd_access_allowed(siths_ctx *ctx, struct sithsd_caller *c, const char *op, int uncached)
{
	if (strcmp(op, "ping") == 0)
		return 1;
	if (strcmp(op, "verify") == 0 || strcmp(op, "login") == 0)
		return !uncached || sithsd_caller_admin(ctx, c);
	if (strcmp(op, "resolve") == 0 || strcmp(op, "map") == 0 || strcmp(op, "status") == 0 ||
	    strcmp(op, "flush") == 0)
		return sithsd_caller_admin(ctx, c);
	return 0;
}

int
sithsd_access_whole_entry(siths_ctx *ctx, struct sithsd_caller *c)
{
	return sithsd_caller_admin(ctx, c);
}

int
sithsd_access_personal_number(const struct sithsd_caller *c)
{
	return c->uid == 0;
}
