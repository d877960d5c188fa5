/*
 * phases.c - pam_siths's account and session phases.
 *
 * account checks again what auth found, or, when auth did not run in this
 * handle (sshd with a key, su from root), what the directory says of the
 * user the map names: revoked certificate or broken rules -> PAM_PERM_DENIED,
 * an employment ended (or not begun) -> PAM_ACCT_EXPIRED, no mapping ->
 * PAM_USER_UNKNOWN (for [user_unknown=ignore] stacks), no answer to be had
 * -> PAM_AUTHINFO_UNAVAIL. Every refusal is logged and said.
 *
 * session logs the opening and closing with who logged in (never a PIN)
 * and puts PKCS11_LOGIN_TOKEN_NAME and SITHS_READER into the environment,
 * which lock screens read to wait for the same card. With [pam]
 * on_card_removal = lock or logout it starts the card watcher (watch.c),
 * and stops it at the close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "authdata.h"
#include "options.h"
#include "phases.h"
#include "siths.h"
#include "text.h"
#include "watch.h"

/* The PAM result for an account refusal of status r. */
static int
account_result(int r)
{
	if (r == SITHS_ERR_HSA_INACTIVE)
		return PAM_ACCT_EXPIRED;
	if (r == SITHS_ERR_POLICY_NO_MAPPING)
		return PAM_USER_UNKNOWN;
	if (siths_status_unavailable(r))
		return PAM_AUTHINFO_UNAVAIL;
	return PAM_PERM_DENIED;
}

static int
refuse(pam_handle_t *pamh, const struct pam_siths_options *o, int silent, siths_ctx *ctx,
    const char *who, int r)
{
	char shown[128];

	siths_text_printable(shown, who, sizeof(shown) - 1);
	pam_syslog(pamh, LOG_NOTICE, "account of %s refused (%s): %s", shown,
	    siths_status_name(r), siths_ctx_errmsg(ctx));
	if (!silent)
		pam_error(pamh, TR(o, "Account refused: %s."),
		    siths_strerror_lang(r, pam_siths_lang(o)));
	return account_result(r);
}

/* The identity to judge: from auth's certificate, or from the map and the directory. */
static int
identity_for(pam_handle_t *pamh, siths_ctx *ctx, const char *user, siths_identity **id,
    int *have_cert, char *who, size_t wholen)
{
	const struct pam_siths_authdata *a = NULL;
	char *hsa_id = NULL;
	int r;

	*have_cert = 0;
	if (pam_get_data(pamh, PAM_SITHS_AUTHDATA, (const void **)&a) == PAM_SUCCESS &&
	    a != NULL) {
		snprintf(who, wholen, "%s", a->hsa_id);
		*have_cert = 1;
		/* validated again: revocation (a cached answer within its validity is
		 * fine) and the person's employment, as now */
		return siths_login_cert(ctx, a->der, a->der_len, NULL, id);
	}
	snprintf(who, wholen, "%s", user);
	if ((r = siths_map_user_hsa_id(ctx, user, &hsa_id)) != 0)
		return r;
	snprintf(who, wholen, "%s (%s)", user, hsa_id);
	r = siths_hsa_resolve(ctx, hsa_id, id);
	free(hsa_id);
	return r;
}

int
pam_siths_account(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pam_siths_options o;
	siths_identity *id = NULL;
	siths_ctx *ctx = NULL;
	const char *user = NULL;
	char who[160];
	int r, have_cert, silent = (flags & PAM_SILENT) != 0, result = PAM_SERVICE_ERR;

	if (pam_siths_take_options(pamh, argc, argv, &o) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || *user == '\0')
		return PAM_USER_UNKNOWN;
	if (siths_ctx_create(&ctx) != 0)
		return PAM_BUF_ERR;
	siths_ctx_set_log_level(ctx, o.debug ? SITHS_LOG_DEBUG : SITHS_LOG_NOTICE);
	if ((r = siths_ctx_load(ctx, o.config)) != 0) {
		pam_syslog(pamh, LOG_ERR, "configuration: %s", siths_ctx_errmsg(ctx));
		result = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	if ((r = identity_for(pamh, ctx, user, &id, &have_cert, who, sizeof(who))) != 0 ||
	    (r = siths_check_policy(ctx, id, have_cert)) != 0) {
		result = refuse(pamh, &o, silent, ctx, who, r);
		goto out;
	}
	if (have_cert && o.min_loa > 0 && siths_identity_loa(id) < o.min_loa) {
		pam_syslog(pamh, LOG_NOTICE, "%s: level of assurance %d, below min_loa=%d",
		    who, siths_identity_loa(id), o.min_loa);
		result = refuse(pamh, &o, silent, ctx, who, SITHS_ERR_CERT_LOA_TOO_LOW);
		goto out;
	}
	pam_syslog(pamh, LOG_INFO, "account of %s allowed%s", siths_identity_hsa_id(id),
	    siths_identity_stale(id) ? " (the directory's answer is stale)" : "");
	result = PAM_SUCCESS;
out:
	siths_identity_free(&id);
	siths_ctx_free(&ctx);
	return result;
}

/* NAME=value into the PAM environment when value is printable and fits. */
static void
put_env(pam_handle_t *pamh, const char *name, const char *value)
{
	char buf[256], shown[160];

	if (value == NULL || *value == '\0')
		return;
	siths_text_printable(shown, value, sizeof(shown) - 1);
	snprintf(buf, sizeof(buf), "%s=%s", name, shown);
	(void)pam_putenv(pamh, buf);
}

/* The watcher [pam] on_card_removal asks for, if any. */
static int
start_watch(pam_handle_t *pamh, const struct pam_siths_options *o,
    const struct pam_siths_authdata *a, const char *user)
{
	siths_ctx *ctx = NULL;
	int action;

	if (siths_ctx_create(&ctx) != 0)
		return PAM_BUF_ERR;
	if (siths_ctx_load(ctx, o->config) != 0) {
		pam_syslog(pamh, LOG_ERR, "configuration: %s", siths_ctx_errmsg(ctx));
		siths_ctx_free(&ctx);
		return PAM_SESSION_ERR;
	}
	action = siths_ctx_card_removal(ctx);
	siths_ctx_free(&ctx);
	if (action == SITHS_REMOVAL_NONE)
		return PAM_SUCCESS;
	if (user == NULL || *user == '\0' || a->reader[0] == '\0') {
		pam_syslog(pamh, LOG_ERR, "card watch: no user or reader to watch");
		return PAM_SESSION_ERR;
	}
	return pam_siths_watch_start(pamh, action, a->reader, user);
}

int
pam_siths_session(pam_handle_t *pamh, int open, int argc, const char **argv)
{
	const struct pam_siths_authdata *a = NULL;
	struct pam_siths_options o;
	const char *user = NULL;
	char shown[128];

	if (pam_siths_take_options(pamh, argc, argv, &o) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	(void)pam_get_item(pamh, PAM_USER, (const void **)&user);
	siths_text_printable(shown, user, sizeof(shown) - 1);
	if (pam_get_data(pamh, PAM_SITHS_AUTHDATA, (const void **)&a) != PAM_SUCCESS || a == NULL) {
		/* no card login in this handle: nothing of ours to tell */
		pam_syslog(pamh, LOG_INFO, "session %s for %s (no SITHS login in this handle)",
		    open ? "opened" : "closed", shown);
		return PAM_SUCCESS;
	}
	pam_syslog(pamh, LOG_NOTICE, "session %s for %s: HSA-id %s, organisation %s, LoA %d, "
	    "certificate %s%s", open ? "opened" : "closed", shown, a->hsa_id,
	    a->org_hsa_id[0] != '\0' ? a->org_hsa_id : "(none)", a->loa, a->sha256,
	    a->stale ? ", stale directory answer" : "");
	if (!open) {
		pam_siths_watch_stop(pamh);
		return PAM_SUCCESS;
	}
	put_env(pamh, "PKCS11_LOGIN_TOKEN_NAME", a->token);
	put_env(pamh, "SITHS_READER", a->reader);
	return start_watch(pamh, &o, a, user);
}
