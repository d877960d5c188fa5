/*
 * access.c - who may ask sithsd what (the rule is in access.h).
 */
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

/* [service] admin_group as a gid; 0 with *gid, or -1 when unset or unknown. */
static int
admin_gid(const siths_ctx *ctx, gid_t *gid)
{
	const char *name = ctx->cfg->service_admin_group;
	struct group gr, *res = NULL;
	char buf[4096], *end;
	long n;

	if (name == NULL)
		return -1;
	n = strtol(name, &end, 10);
	if (*end == '\0' && n >= 0) {
		*gid = (gid_t)n;
		return 0;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*gid = gr.gr_gid;
	return 0;
}

/* Is uid (primary group gid) a member of want, by the user database? */
static int
member_of(uid_t uid, gid_t gid, gid_t want)
{
	struct passwd pw, *res = NULL;
	gid_t groups[ACCESS_MAX_GROUPS];
	char buf[4096];
	int n = ACCESS_MAX_GROUPS, i;

	if (gid == want)
		return 1;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (groups[i] == want)
			return 1;
	}
	return 0;
}

int
sithsd_caller_from_socket(siths_ctx *ctx, int fd, struct sithsd_caller *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t want;

	memset(c, 0, sizeof(*c));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return -1;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->admin = cred.uid == 0 ||
	    (admin_gid(ctx, &want) == 0 && member_of(cred.uid, cred.gid, want));
	return 0;
}

int
sithsd_access_allowed(const struct sithsd_caller *c, const char *op, int no_revocation)
{
	if (strcmp(op, "ping") == 0 || strcmp(op, "login") == 0)
		return 1;
	if (strcmp(op, "verify") == 0)
		return !no_revocation || c->admin;
	if (strcmp(op, "resolve") == 0 || strcmp(op, "map") == 0 || strcmp(op, "status") == 0 ||
	    strcmp(op, "flush") == 0)
		return c->admin;
	return 0;
}

int
sithsd_access_personal_number(const struct sithsd_caller *c)
{
	return c->uid == 0;
}
