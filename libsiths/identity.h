/*
 * identity.h - the identity structure, filled by the certificate and
 * directory layers and frozen once handed to the caller.
 */
#ifndef SITHS_IDENTITY_H
#define SITHS_IDENTITY_H

#include <stddef.h>
#include <time.h>

#include "siths.h"

struct siths_identity {
	/* from the certificate */
	char *hsa_id;
	char *cert_sha256;        /* hex */
	char *cert_subject;       /* RFC 2253, UTF-8 */
	char *cert_issuer;
	char *cert_not_after;     /* ISO 8601 UTC */
	int loa;
	char **policies;          /* certificatePolicies OIDs, dotted */
	size_t n_policies;
	int rev_source;           /* enum siths_rev_source (revocation.h) */
	time_t rev_this_update;   /* of the revocation answer used; 0 if none */
	time_t rev_next_update;

	/* from the certificate, replaced by the directory's values */
	char *given_name;
	char *surname;
	char *display_name;
	char *org_name;           /* O of the certificate, o of the directory */

	/* from the directory */
	char *dn;
	char *mail;
	char *title;
	char *hsa_title;          /* licensed profession */
	char *pa_title_code;
	char *personal_number;    /* only when [hsa] personal_number = yes */
	char *county_code;
	char *county_name;
	char *org_hsa_id;
	char *org_number;
	char *municipality_code;
	char *municipality_name;
	char *start_date;         /* as the directory has it (GeneralizedTime) */
	char *end_date;
	char **roles;             /* hsaSystemRole values */
	size_t n_roles;
	char **units;             /* ou names from the person's unit up to the organisation */
	size_t n_units;
	struct siths_commission *commissions;
	size_t n_commissions;
	/*
	 * [pam] user_map = attr:NAME: the value when NAME had exactly one,
	 * and how many it had; the mapping (usermap.c) judges them, so that
	 * a lookup that does not map users is never refused over them.
	 */
	char *map_login;
	size_t map_login_values;
	int from_directory;
	time_t fetched;           /* when the directory answered (cache age) */
	int stale;                /* served from cache while every server was down */

	/*
	 * An identity sithsd answered for (service.c): the mapping sithsd made
	 * ([pam] user_map), which siths_map_user() then gives as it is.
	 */
	int svc_mapped;
	int svc_map_status;       /* 0, or the mapping's refusal */
	char *svc_login;
	char *svc_map_message;
};

/* A commission (medarbetaruppdrag) the person is a member of. */
struct siths_commission {
	char *hsa_id;
	char *purpose;
	char **rights;            /* "activity;informationClass;scope" */
	size_t n_rights;
};

struct siths_identity *siths_identity_new(void);
/* A deep copy; NULL when out of memory. */
struct siths_identity *siths_identity_dup(const struct siths_identity *id);
/* Replace *field with a copy of value (NULL clears). 0 or SITHS_ERR_NOMEM. */
int siths_identity_set(char **field, const char *value);
int siths_identity_add_role(struct siths_identity *id, const char *role);
int siths_identity_add_policy(struct siths_identity *id, const char *oid);
int siths_identity_add_unit(struct siths_identity *id, const char *unit);
/* A new, empty commission at the end of id->commissions; NULL when out of
 * memory or past the cap. */
struct siths_commission *siths_identity_add_commission(struct siths_identity *id);
int siths_commission_add_right(struct siths_commission *c, const char *right);
/* The string fields by number, for the wire form (identity_wire.c). */
size_t siths_identity_field_count(void);
const char *siths_identity_field_name(size_t i);
char **siths_identity_field(struct siths_identity *id, size_t i);
const char *siths_identity_field_value(const struct siths_identity *id, size_t i);

/* Copy the certificate-derived fields of cert into dir (the directory's
 * identity of the same HSA-id). */
int siths_identity_merge_cert(struct siths_identity *dir, const struct siths_identity *cert);

#endif
