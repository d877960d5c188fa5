/*
 * policy.c - local authorisation rules (see policy.h).
 */
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "policy.h"

int
siths_policy_judge(const siths_identity *id, int min_loa, const struct siths_strlist *orgs,
    const char *role, char *why, size_t len)
{
	const char *org = siths_identity_org_hsa_id(id), *num = siths_identity_org_number(id);
	size_t i, n;
	int found;

	if (min_loa > 0 && siths_identity_loa(id) < min_loa) {
		snprintf(why, len, "level of assurance %d, below the %d required",
		    siths_identity_loa(id), min_loa);
		return SITHS_ERR_CERT_LOA_TOO_LOW;
	}
	for (i = 0, found = orgs->n == 0; !found && i < orgs->n; i++)
		found = (org != NULL && strcmp(org, orgs->v[i]) == 0) ||
		    (num != NULL && strcmp(num, orgs->v[i]) == 0);
	if (!found) {
		snprintf(why, len, "organisation %s is not among those allowed",
		    org != NULL ? org : "(none)");
		return SITHS_ERR_POLICY_ORG_NOT_ALLOWED;
	}
	if (role == NULL)
		return 0;
	for (i = 0, n = siths_identity_role_count(id); i < n; i++) {
		if (strcmp(siths_identity_role(id, i), role) == 0)
			return 0;
	}
	snprintf(why, len, "no hsaSystemRole %.200s", role);
	return SITHS_ERR_POLICY_ROLE_MISSING;
}

int
siths_check_policy(siths_ctx *ctx, const siths_identity *id, int have_cert)
{
	const struct siths_config *cfg;
	char why[SITHS_ERRMSG_MAX];
	int r, min;

	if (ctx == NULL || (cfg = ctx->cfg) == NULL || id == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	min = !have_cert ? 0 : cfg->pam_min_loa > 0 ? cfg->pam_min_loa : cfg->min_loa;
	if ((r = siths_policy_judge(id, min, &cfg->pam_allowed_orgs, cfg->pam_required_role, why,
	    sizeof(why))) != 0)
		return siths_fail(ctx, r, "%s: [pam] %s", siths_identity_hsa_id(id), why);
	return 0;
}
