/*
 * policy.h - local authorisation rules beyond the SITHS profile: the
 * organisations allowed, a required hsaSystemRole, a lowest level of
 * assurance. [pam] has them for the account phase (siths_check_policy),
 * [authd] for sithsd's HTTP front; both judge with siths_policy_judge().
 */
#ifndef SITHS_POLICY_H
#define SITHS_POLICY_H

#include <stddef.h>

#include "config.h"
#include "siths.h"

/*
 * Judge id: min_loa (0: not judged, as for an identity without a
 * certificate), orgs (none: any; an organisation HSA-id or number), role
 * (NULL: none). 0, SITHS_ERR_CERT_LOA_TOO_LOW, SITHS_ERR_POLICY_ORG_NOT_ALLOWED
 * or SITHS_ERR_POLICY_ROLE_MISSING, with a sentence in why.
 */
int siths_policy_judge(const siths_identity *id, int min_loa, const struct siths_strlist *orgs,
    const char *role, char *why, size_t len);

/*
 * sithsd's mapping for a client (siths_map_user in-process): a refusal for
 * naming root keeps the name in *login, so that a client allowed root
 * (siths_ctx_set_allow_root) can take it; any other refusal leaves NULL.
 */
int siths_map_user_service_side(siths_ctx *ctx, const siths_identity *id, char **login);

#endif
