/*
 * config.h - siths.conf, parsed once into an immutable structure.
 *
 * The file is opened safely (absolute path, no symlink, regular file owned
 * by root or the caller, not group/world-writable, size-capped); unknown
 * sections and keys, duplicates and bad values are errors naming the file,
 * line and key.
 */
#ifndef SITHS_CONFIG_H
#define SITHS_CONFIG_H

#include <stddef.h>

/* Largest siths.conf accepted. */
#define SITHS_CONFIG_MAX_BYTES (64 * 1024)

struct siths_strlist {
	char **v;
	size_t n;
};

struct siths_policy_loa {
	char *oid;  /* dotted form */
	int loa;
};

enum siths_eku {
	SITHS_EKU_NONE = 0,
	SITHS_EKU_CLIENT_AUTH = 1 << 0,
	SITHS_EKU_SERVER_AUTH = 1 << 1,
};

enum siths_revocation_method {
	SITHS_REV_OCSP = 1,
	SITHS_REV_CRL = 2,
};

/* [service] mode: who validates (sithsd, or this process). */
enum siths_service_mode {
	SITHS_SERVICE_LOCAL = 0,        /* in this process, never sithsd */
	SITHS_SERVICE_AUTO,             /* sithsd; in-process when it cannot be reached */
	SITHS_SERVICE_REQUIRED,         /* sithsd or nothing */
};

enum siths_hsa_bind {
	SITHS_BIND_NONE = 0,
	SITHS_BIND_SIMPLE,
	SITHS_BIND_SASL_EXTERNAL,
};

/*
 * [hsa.attributes]: the directory's attribute and object class names, HSA's
 * own by default; regional catalogues name some of them differently.
 */
struct siths_hsa_attrs {
	char *hsa_id;               /* hsaIdentity */
	char *given_name;           /* givenName */
	char *surname;              /* sn */
	char *full_name;            /* fullName */
	char *common_name;          /* cn */
	char *mail;                 /* mail */
	char *title;                /* title */
	char *hsa_title;            /* hsaTitle: licensed profession */
	char *pa_title_code;        /* paTitleCode */
	char *system_role;          /* hsaSystemRole */
	char *start_date;           /* startDate */
	char *end_date;             /* endDate */
	char *personal_number;      /* personalIdentityNumber */
	char *org_name;             /* o */
	char *unit_name;            /* ou */
	char *org_number;           /* orgNo */
	char *municipality_code;    /* municipalityCode */
	char *municipality_name;    /* municipalityName */
	char *county_code;          /* countyCode */
	char *county_name;          /* countyName */
	char *org_class;            /* hsaOrganization: what makes an entry an organisation */
	char *commission_class;     /* hsaCommission */
	char *commission_member;    /* hsaCommissionMember */
	char *commission_purpose;   /* hsaCommissionPurpose */
	char *commission_right;     /* hsaCommissionRight */
};

struct siths_config {
	char *path;

	/* [trust] */
	char *anchors;
	char *intermediates;
	struct siths_policy_loa *policy_loa;
	size_t n_policy_loa;
	int min_loa;
	unsigned int require_eku;      /* enum siths_eku bits */
	struct siths_strlist hsa_id_prefixes;

	/* [revocation] */
	int rev_methods[2];            /* enum siths_revocation_method, in order */
	size_t n_rev_methods;          /* 0: mode = none */
	char *ocsp_url;
	int rev_soft;                  /* on_unreachable = soft */
	int ocsp_nonce_optional;       /* ocsp_nonce = optional */
	struct siths_strlist crl_files;
	char *cache_dir;
	int rev_timeout_ms;

	/* [hsa] */
	struct siths_strlist hsa_uris;
	char *hsa_base;
	int hsa_bind;                  /* enum siths_hsa_bind */
	char *hsa_bind_dn;
	char *hsa_bind_password_file;
	char *hsa_tls_ca;
	char *hsa_tls_cert;
	char *hsa_tls_key;
	int hsa_timeout_ms;
	int hsa_cache_ttl;
	int hsa_negative_ttl;          /* not-found answers, shorter */
	int hsa_stale_max;
	int hsa_tls_none;              /* tls = none: plain ldap:// allowed */
	int hsa_pool_size;
	int hsa_cache_size;
	int hsa_read_personal_number;  /* personal_number = yes */
	int hsa_disk_entries;          /* answers kept on disk under cache_dir/hsa, at most */
	int hsa_disk_bytes;
	struct siths_hsa_attrs attrs;

	/* [card] */
	char *pkcs11_module;
	char *card_reader;
	int pin_min;
	int pin_max;
	int card_timeout_ms;           /* deadline of one call into the module */
	int pinpad_timeout_ms;         /* deadline of a login on a reader's PIN pad */

	/* [pam] */
	char *user_map;                /* as written: file:PATH or attr:NAME */
	char *user_map_attr;           /* attr:'s NAME, else NULL: a file map */
	int allow_root;
	struct siths_strlist pam_allowed_orgs;  /* organisation HSA-ids or numbers; none: any */
	char *pam_required_role;       /* an hsaSystemRole value */
	int pam_min_loa;               /* 0: [trust] min_loa */
	int on_card_removal;           /* enum siths_card_removal */

	/* [service]: sithsd, the resident validator */
	int service_mode;              /* enum siths_service_mode */
	char *service_socket;
	char *service_user;            /* whom a client believes: sithsd's user (or root) */
	char *service_admin_group;     /* may look up, see status, flush; NULL: root only */
	int service_timeout_ms;        /* a client's whole request */
	int service_max_clients;       /* sithsd: connections at once */
	int service_max_per_uid;

	/* [authd]: sithsd's HTTP front for a reverse proxy's auth_request */
	char *authd_listen;            /* 127.x:PORT, [::1]:PORT or unix:/PATH; NULL: off */
	char *authd_cert_header;       /* the URL-encoded PEM client certificate */
	char *authd_chain_header;      /* its chain, the same way; NULL: none */
	int authd_min_loa;             /* 0: [trust] min_loa */
	struct siths_strlist authd_allowed_orgs;  /* organisation HSA-ids or numbers */
	char *authd_required_role;     /* an hsaSystemRole value */
	int authd_threads;
	int authd_max_connections;
};

/*
 * Parse the file at path. On failure returns a negative siths_status and
 * writes a sentence naming file, line and key into err.
 */
int siths_config_load(struct siths_config **out, const char *path, char *err, size_t errlen);
/* The same over a string, for tests; name stands in for the file name. */
int siths_config_parse_string(struct siths_config **out, const char *text, const char *name,
    char *err, size_t errlen);
void siths_config_free(struct siths_config **cfg);

#include "secfile.h"

#endif
