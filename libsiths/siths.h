/*
 * siths.h - the public interface of libsiths.
 *
 * libsiths logs a person in with a Swedish SITHS card: it reads the card
 * over PKCS#11, makes the card prove that it holds the key of its
 * certificate, validates that certificate against configured trust anchors
 * and the SITHS profile, and resolves the holder in an HSA directory.
 *
 * Conventions:
 *  - every type is opaque; x_new() allocates, x_free(&x) frees, accepts
 *    NULL and clears the caller's pointer;
 *  - functions return 0 (SITHS_OK) or a negative siths_status; out-params
 *    are cleared on entry and set only on success;
 *  - getters return borrowed pointers that live as long as their object;
 *  - one siths_ctx is meant to be shared by all threads of a process; a
 *    siths_card belongs to one thread at a time.
 */
#ifndef SITHS_H
#define SITHS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(SITHS_BUILDING)
#define SITHS_API __attribute__((visibility("default")))
#else
#define SITHS_API
#endif

/*
 * Status codes. Numbers are grouped by layer and never reused or
 * renumbered; siths_status_name() gives each its stable name.
 */
typedef enum siths_status {
	SITHS_OK = 0,

	/* general */
	SITHS_ERR_INTERNAL = -1,
	SITHS_ERR_NOMEM = -2,
	SITHS_ERR_INVALID_ARGUMENT = -3,

	/* configuration */
	SITHS_ERR_CONFIG_OPEN = -10,     /* cannot be opened or read */
	SITHS_ERR_CONFIG_UNSAFE = -11,   /* owner, mode, symlink, not absolute */
	SITHS_ERR_CONFIG_SYNTAX = -12,   /* not INI, line too long, too large */
	SITHS_ERR_CONFIG_KEY = -13,      /* unknown section or key, duplicate */
	SITHS_ERR_CONFIG_VALUE = -14,    /* a value out of range or malformed */
	SITHS_ERR_CONFIG_MISSING = -15,  /* a required key is absent */
	SITHS_ERR_TRUST_LOAD = -16,      /* anchors or intermediates unreadable */

	/* card and token */
	SITHS_ERR_CARD_MODULE = -20,     /* PKCS#11 module cannot be loaded */
	SITHS_ERR_CARD_ABSENT = -21,     /* no card in any matching reader */
	SITHS_ERR_CARD_NO_CERT = -22,    /* no usable authentication certificate */
	SITHS_ERR_CARD_IO = -23,         /* the token failed an operation */
	SITHS_ERR_CARD_REMOVED = -24,
	SITHS_ERR_CARD_TIMEOUT = -25,
	SITHS_ERR_CARD_SIGN = -26,       /* the card could not sign */
	SITHS_ERR_PROOF_FAILED = -27,    /* signature does not match certificate */
	SITHS_ERR_CARD_NOT_LOGGED_IN = -28,
	SITHS_ERR_CARD_CANCELLED = -29,  /* a wait or a PIN-pad entry was cancelled */

	/* PIN */
	SITHS_ERR_PIN_EMPTY = -30,
	SITHS_ERR_PIN_TOO_SHORT = -31,
	SITHS_ERR_PIN_TOO_LONG = -32,
	SITHS_ERR_PIN_FORMAT = -33,      /* not digits only */
	SITHS_ERR_PIN_INCORRECT = -34,
	SITHS_ERR_PIN_LOCKED = -35,
	SITHS_ERR_PIN_MUST_CHANGE = -36,
	SITHS_ERR_PIN_UNCHANGED = -37,   /* the new PIN is the old one */
	SITHS_ERR_PIN_MISMATCH = -38,    /* the new PIN and its repetition differ */
	SITHS_ERR_PUK_INCORRECT = -39,

	/* certificate */
	SITHS_ERR_CERT_PARSE = -40,      /* not a certificate, or trailing data */
	SITHS_ERR_CERT_UNTRUSTED = -41,  /* no path to a configured anchor */
	SITHS_ERR_CERT_EXPIRED = -42,
	SITHS_ERR_CERT_NOT_YET_VALID = -43,
	SITHS_ERR_CERT_SIGNATURE_ONLY = -44, /* nonRepudiation only: a signing certificate */
	SITHS_ERR_CERT_KEY_USAGE = -45,
	SITHS_ERR_CERT_EKU = -46,
	SITHS_ERR_CERT_NO_HSA_ID = -47,
	SITHS_ERR_CERT_HSA_ID_INVALID = -48,
	SITHS_ERR_CERT_POLICY = -49,     /* no configured policy OID present */
	SITHS_ERR_CERT_LOA_TOO_LOW = -50,
	SITHS_ERR_CERT_WEAK_KEY = -51,
	SITHS_ERR_CERT_CHAIN = -52,      /* path found but invalid (constraints, signature) */

	/* revocation */
	SITHS_ERR_REVOCATION_UNAVAILABLE = -60,
	SITHS_ERR_CERT_REVOKED = -61,
	SITHS_ERR_REVOCATION_UNKNOWN = -62,
	SITHS_ERR_OCSP_INVALID = -63,    /* bad signature, responder, or form */
	SITHS_ERR_OCSP_NONCE = -64,      /* the response lacks our nonce */
	SITHS_ERR_CRL_INVALID = -65,     /* bad signature, issuer, or form */
	SITHS_ERR_REVOCATION_STALE = -66,/* nextUpdate has passed */
	SITHS_ERR_CRL_NOT_COVERED = -67, /* no CRL's partition covers the certificate */

	/* directory */
	SITHS_ERR_HSA_UNREACHABLE = -70,
	SITHS_ERR_HSA_NOT_FOUND = -71,
	SITHS_ERR_HSA_AMBIGUOUS = -72,
	SITHS_ERR_HSA_INACTIVE = -73,    /* endDate passed or startDate ahead */
	SITHS_ERR_HSA_PROTOCOL = -74,    /* the server answered with an error */
	SITHS_ERR_HSA_BIND = -75,
	SITHS_ERR_HSA_TIMEOUT = -76,
	SITHS_ERR_HSA_ID_INVALID = -77,  /* the HSA-id asked for is malformed */
	SITHS_ERR_HSA_ENTRY_TOO_LARGE = -78,

	/* local policy */
	SITHS_ERR_POLICY_NO_MAPPING = -90,   /* HSA-id maps to no local user */
	SITHS_ERR_POLICY_USER_MISMATCH = -91,/* the card belongs to another user */
	SITHS_ERR_POLICY_ROOT_DENIED = -92,
	SITHS_ERR_POLICY_MAP_FILE = -93,     /* user map unreadable or malformed */
	SITHS_ERR_POLICY_UNKNOWN_USER = -94, /* mapped user not in the user database */
	SITHS_ERR_POLICY_ORG_NOT_ALLOWED = -95, /* the organisation is not among the allowed */
	SITHS_ERR_POLICY_ROLE_MISSING = -96, /* the required hsaSystemRole is absent */

	/* the validation service (sithsd) */
	SITHS_ERR_SERVICE_UNAVAILABLE = -100, /* sithsd cannot be reached */
	SITHS_ERR_SERVICE_PROTOCOL = -101,   /* a malformed, oversized or late message */
	SITHS_ERR_SERVICE_DENIED = -102,     /* sithsd's access rule refuses the caller */
	SITHS_ERR_SERVICE_UNTRUSTED = -103,  /* the socket's peer is not sithsd's user */

	/* unblocking a PIN */
	SITHS_ERR_PUK_LOCKED = -110,
	SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED = -111, /* not through this card's module */
} siths_status;

/* Never NULL; "unknown status" for numbers not listed above. */
SITHS_API const char *siths_strerror(int status);
/*
 * The sentence translated (gettext, text domain "libsiths"): in Swedish for
 * lang "sv" ("sv_SE.UTF-8" and "sv-FI" count as "sv": a locale can be passed
 * as it is), in the calling thread's locale (LC_MESSAGES) for NULL, else in
 * English. Always UTF-8; never NULL.
 */
SITHS_API const char *siths_strerror_lang(int status, const char *lang);
/* The stable name, e.g. "SITHS_ERR_CERT_REVOKED"; never NULL. */
SITHS_API const char *siths_status_name(int status);
/*
 * 1 when status means that no answer could be had: a card, reader, server,
 * file or the configuration was in the way (pam_siths: PAM_AUTHINFO_UNAVAIL,
 * siths: exit 2). 0 for SITHS_OK and for answers that refuse the person or
 * the certificate, which no fallback may turn into a login.
 */
SITHS_API int siths_status_unavailable(int status);

/* Log levels share syslog's numbers. */
enum {
	SITHS_LOG_ERR = 3,
	SITHS_LOG_WARNING = 4,
	SITHS_LOG_NOTICE = 5,
	SITHS_LOG_INFO = 6,
	SITHS_LOG_DEBUG = 7,
};
typedef void siths_log_fn(void *userdata, int level, const char *message);

typedef struct siths_ctx siths_ctx;
typedef struct siths_identity siths_identity;
typedef struct siths_card siths_card;
typedef struct siths_verify_opts siths_verify_opts;

/*
 * Context: configuration, trust store, directory connection and token
 * module, shared by the threads of a process.
 *
 * siths_ctx_new() = siths_ctx_create() + siths_ctx_load(); it frees the
 * context again on failure. Callers that want the failure's detail (the
 * file, line and key of a configuration error) or their own log callback
 * during loading use create, set_log, load, errmsg themselves.
 * A NULL config_path means the built-in default path.
 *
 * siths_ctx_free() is the one call that must not race with others: call it
 * after every thread has stopped using the context and every siths_card
 * opened on it has been freed (a card still open is leaked, not freed
 * under its owner, and an error is logged).
 */
SITHS_API int siths_ctx_new(siths_ctx **ctx, const char *config_path);
SITHS_API int siths_ctx_create(siths_ctx **ctx);
SITHS_API int siths_ctx_load(siths_ctx *ctx, const char *config_path);
SITHS_API void siths_ctx_free(siths_ctx **ctx);
/* Detail of the last failure in the calling thread on this context; never NULL. */
SITHS_API const char *siths_ctx_errmsg(const siths_ctx *ctx);
/* NULL fn restores the default (syslog). Messages above level are dropped. */
SITHS_API void siths_ctx_set_log(siths_ctx *ctx, siths_log_fn *fn, void *userdata);
SITHS_API void siths_ctx_set_log_level(siths_ctx *ctx, int level);
/* The [card] pin_min and pin_max of a loaded context, for prompts. */
SITHS_API int siths_ctx_pin_length(const siths_ctx *ctx, int *min, int *max);
/* [pam] on_card_removal: what a session does when its card leaves the reader. */
enum siths_card_removal {
	SITHS_REMOVAL_NONE = 0,
	SITHS_REMOVAL_LOCK = 1,     /* loginctl lock-session */
	SITHS_REMOVAL_LOGOUT = 2,   /* loginctl terminate-session */
};
/* The configured enum siths_card_removal; SITHS_REMOVAL_NONE for NULL or
 * before a configuration is loaded. */
SITHS_API int siths_ctx_card_removal(const siths_ctx *ctx);
/*
 * Whether pin passes [card] pin_min, pin_max and digits only: 0 or
 * SITHS_ERR_PIN_EMPTY, _TOO_SHORT, _TOO_LONG, _FORMAT. No card is touched;
 * siths_card_login() checks the same before it asks the card.
 */
SITHS_API int siths_ctx_check_pin(const siths_ctx *ctx, const char *pin);
/*
 * Forget what the context has cached in memory (validation results, OCSP
 * answers, CRLs, directory entries), e.g. after a revocation announced out
 * of band. The on-disk store under [revocation] cache_dir is not touched.
 */
SITHS_API void siths_ctx_flush_caches(siths_ctx *ctx);
/* How many certificates were accepted without a revocation answer because
 * [revocation] on_unreachable = soft (each also logged as a warning). */
SITHS_API unsigned long siths_ctx_soft_accepts(const siths_ctx *ctx);
/* The configuration file the context was loaded from. */
SITHS_API const char *siths_ctx_config_path(const siths_ctx *ctx);
/*
 * What the validator knows of itself, as a JSON object (allocated; free()
 * it): the directory servers' state, answers cached, stale answers served,
 * revocation answers' ages, soft accepts. With [service] mode = auto or
 * required, sithsd's (for root and [service] admin_group only), else this
 * context's own.
 */
SITHS_API int siths_status_json(siths_ctx *ctx, char **json);
/*
 * Forget the directory's answer for hsa_id, in memory and on disk; with
 * hsa_id NULL, every cached answer (validation, revocation, directory), in
 * memory and on disk. Through sithsd as siths_status_json().
 */
SITHS_API int siths_cache_flush(siths_ctx *ctx, const char *hsa_id);

/*
 * Certificates presented outside a card, e.g. over TLS.
 */
typedef enum siths_profile {
	SITHS_PROFILE_LOGIN = 0,    /* a person's authentication certificate */
	SITHS_PROFILE_FUNCTION = 1, /* a system's function certificate */
	SITHS_PROFILE_CHAIN = 2,    /* the certification path only */
} siths_profile;

SITHS_API int siths_verify_opts_new(siths_verify_opts **opts);
SITHS_API void siths_verify_opts_free(siths_verify_opts **opts);
SITHS_API int siths_verify_opts_set_profile(siths_verify_opts *opts, siths_profile profile);
/* Validate as at this time (seconds since the epoch) instead of now. */
SITHS_API int siths_verify_opts_set_time(siths_verify_opts *opts, int64_t at);
/* Extra certificates that may complete the path (DER); never trusted as anchors. */
SITHS_API int siths_verify_opts_add_untrusted(siths_verify_opts *opts,
    const unsigned char *der, size_t len);
/* Skip revocation checking for this call (diagnostics); logged. */
SITHS_API int siths_verify_opts_set_no_revocation(siths_verify_opts *opts, int no_revocation);

/* Validate a DER certificate; *out describes it (no directory lookup). */
SITHS_API int siths_verify_cert(siths_ctx *ctx, const unsigned char *der, size_t len,
    const siths_verify_opts *opts, siths_identity **out);
/* Validate with the login profile and resolve the holder in HSA: what a web
 * server does with a TLS client certificate. */
SITHS_API int siths_login_cert(siths_ctx *ctx, const unsigned char *der, size_t len,
    const siths_verify_opts *opts, siths_identity **out);

/* HSA: the directory's view of an HSA-id. */
SITHS_API int siths_hsa_resolve(siths_ctx *ctx, const char *hsa_id, siths_identity **out);

/*
 * Cards.
 */
/* PIN state flags, from the token; 0 means nothing to warn about. */
enum {
	/* a wrong PIN was entered since the last right one: the token says so,
	 * or this siths_card saw it (some modules never say) */
	SITHS_PIN_COUNT_LOW = 1 << 0,
	SITHS_PIN_FINAL_TRY = 1 << 1,   /* the next wrong PIN locks the card */
	SITHS_PIN_LOCKED = 1 << 2,
	SITHS_PIN_MUST_CHANGE = 1 << 3,
	SITHS_PIN_PAD = 1 << 4,         /* the reader has its own PIN pad */
};
typedef unsigned int siths_pin_state;

/*
 * Open the first card whose reader name contains reader_pattern (NULL or
 * "": the configured [card] reader, else any) and that holds a usable
 * authentication certificate. Waits up to timeout_ms for one to appear
 * (0: look once).
 */
SITHS_API int siths_card_wait(siths_ctx *ctx, const char *reader_pattern, int timeout_ms,
    siths_card **out);
/* Open the first card in a matching reader now, whatever certificates it
 * holds, to look at them. Open cards are skipped: calling again while
 * keeping the earlier ones open goes through every card. */
SITHS_API int siths_card_open(siths_ctx *ctx, const char *reader_pattern, siths_card **out);
SITHS_API void siths_card_free(siths_card **card);
/* End every siths_card_wait() running on ctx now, from any other thread
 * (not from a signal handler: it takes a lock): they return
 * SITHS_ERR_CARD_CANCELLED, those polling a software token's slots within
 * a quarter of a second. Waits started afterwards are not affected. */
SITHS_API void siths_ctx_cancel_wait(siths_ctx *ctx);

/* PC/SC readers: a snapshot of which readers there are and hold a card. */
typedef struct siths_readers siths_readers;
SITHS_API int siths_readers_list(siths_ctx *ctx, siths_readers **out);
SITHS_API size_t siths_readers_count(const siths_readers *r);
SITHS_API const char *siths_readers_name(const siths_readers *r, size_t i);
SITHS_API int siths_readers_card_present(const siths_readers *r, size_t i);
SITHS_API void siths_readers_free(siths_readers **r);

/*
 * Card events: cards put in and taken out, readers plugged in and out, for
 * a thread that blocks in siths_card_events_next() or a poll()/select()
 * loop on siths_card_events_fd(). A handle owns a watcher thread with its
 * own PC/SC context; a handle may be used from several threads at once.
 *
 * open: follow the readers whose name contains reader_pattern (NULL or "":
 * the configured [card] reader, else every reader). What is there already
 * is queued before open returns: READER_ADDED for each reader, then
 * CARD_INSERTED for each that holds a card. SITHS_ERR_CARD_IO when pcscd
 * cannot be reached.
 *
 * When pcscd goes away, each reader has its card removed (CARD_REMOVED) and
 * is removed (READER_REMOVED); once pcscd is back, readers and cards are
 * added and inserted again. The queue holds 64 events; when nobody reads,
 * the oldest are dropped (and logged).
 */
typedef struct siths_card_events siths_card_events;
enum {
	SITHS_EVENT_CARD_INSERTED = 1,
	SITHS_EVENT_CARD_REMOVED = 2,
	SITHS_EVENT_READER_ADDED = 3,
	SITHS_EVENT_READER_REMOVED = 4,
};
SITHS_API int siths_card_events_open(siths_ctx *ctx, const char *reader_pattern,
    siths_card_events **out);
/* An fd (eventfd) that is readable while events are queued; for poll() and
 * select() only: take the events with siths_card_events_next(ev, 0, ...).
 * Owned by the handle. -1 for NULL. */
SITHS_API int siths_card_events_fd(const siths_card_events *ev);
/*
 * The next event: its type and its reader's name (printable, at most 127
 * bytes; allocated, free() it). Waits up to timeout_ms (0: not at all,
 * -1: without limit). SITHS_ERR_CARD_TIMEOUT when none came in time,
 * SITHS_ERR_CARD_CANCELLED when the handle is being freed meanwhile.
 */
SITHS_API int siths_card_events_next(siths_card_events *ev, int timeout_ms, int *type,
    char **reader);
/* "card_inserted", "card_removed", "reader_added", "reader_removed"; never NULL. */
SITHS_API const char *siths_card_event_name(int type);
/*
 * Stop the watcher and free the handle, before the context. Threads
 * waiting in siths_card_events_next() return SITHS_ERR_CARD_CANCELLED;
 * none may start waiting once free has begun. Returns within about 3 s
 * even if pcscd does not answer (the watcher then frees the handle when it
 * finishes, and does not touch the context again).
 */
SITHS_API void siths_card_events_free(siths_card_events **ev);
SITHS_API const char *siths_card_token_label(const siths_card *card);
SITHS_API const char *siths_card_token_serial(const siths_card *card);
SITHS_API const char *siths_card_reader(const siths_card *card);
/* The HSA-id in the chosen authentication certificate, before any login;
 * not yet validated, for prompts only. */
SITHS_API const char *siths_card_hsa_id(const siths_card *card);

/*
 * The certificates on the card that have a private key beside it, in the
 * card's order, as the card presents them: not validated, for display and
 * for choosing. Strings are NULL when the certificate lacks the value.
 */
typedef enum {
	SITHS_CARD_CERT_LOGIN = 1,     /* fits the login profile: an identity */
	SITHS_CARD_CERT_SIGNATURE = 2, /* nonRepudiation only: never logs in */
	SITHS_CARD_CERT_OTHER = 3,     /* anything else */
} siths_card_cert_kind;
SITHS_API size_t siths_card_cert_count(const siths_card *card);
SITHS_API siths_card_cert_kind siths_card_cert_kind_of(const siths_card *card, size_t i);
SITHS_API const char *siths_card_cert_hsa_id(const siths_card *card, size_t i);
SITHS_API const char *siths_card_cert_name(const siths_card *card, size_t i);    /* CN */
SITHS_API const char *siths_card_cert_org(const siths_card *card, size_t i);     /* O */
SITHS_API const char *siths_card_cert_subject(const siths_card *card, size_t i); /* RFC 2253 */
SITHS_API const char *siths_card_cert_sha256(const siths_card *card, size_t i);  /* hex */
SITHS_API const char *siths_card_cert_not_after(const siths_card *card, size_t i);
/* The certificate's DER, allocated; free() it. */
SITHS_API int siths_card_cert_der(const siths_card *card, size_t i, unsigned char **der,
    size_t *len);
/*
 * Identities: the SITHS_CARD_CERT_LOGIN certificates. The first logs in
 * unless the caller lets the person choose another (a person with
 * commissions in two organisations may carry two). siths_card_choose()
 * takes a certificate index; a signature certificate gives
 * SITHS_ERR_CERT_SIGNATURE_ONLY. siths_card_chosen() is SIZE_MAX when none.
 */
SITHS_API size_t siths_card_identity_count(const siths_card *card);
SITHS_API int siths_card_choose(siths_card *card, size_t i);
SITHS_API size_t siths_card_chosen(const siths_card *card);

SITHS_API int siths_card_pin_state(siths_card *card, siths_pin_state *state);
/* Log in with the PIN (checked against pin_min/pin_max before the card is
 * touched). pin NULL on a reader with a PIN pad (SITHS_PIN_PAD): the pad
 * asks, within [card] pinpad_timeout_ms; SITHS_ERR_CARD_CANCELLED when the
 * person cancels there. state, when not NULL, receives the PIN state after
 * the try. The library keeps no copy of the PIN. */
SITHS_API int siths_card_login(siths_card *card, const char *pin, siths_pin_state *state);
/*
 * Change the card's PIN (C_SetPIN). Before the card is touched: both PINs
 * pass the PIN rules (siths_ctx_check_pin), new_again is new_pin
 * (SITHS_ERR_PIN_MISMATCH; NULL: the caller compared them) and differs from
 * old_pin (SITHS_ERR_PIN_UNCHANGED). Then the old PIN is tried as in a
 * login: SITHS_ERR_PIN_INCORRECT (a try used), SITHS_ERR_PIN_LOCKED. state,
 * when not NULL, receives the PIN state afterwards. Leaves the card logged
 * out; no copy of any PIN is kept.
 */
SITHS_API int siths_card_change_pin(siths_card *card, const char *old_pin, const char *new_pin,
    const char *new_again, siths_pin_state *state);
/*
 * Unblock a locked PIN with the card's PUK and set new_pin (checked as in
 * siths_card_change_pin, new_again likewise): the PUK is the token's
 * security officer PIN. SITHS_ERR_PUK_INCORRECT, SITHS_ERR_PUK_LOCKED, or
 * SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED when this card's module offers no way
 * to unblock (the card's issuer can).
 */
SITHS_API int siths_card_unblock_pin(siths_card *card, const char *puk, const char *new_pin,
    const char *new_again, siths_pin_state *state);
/* Prove possession with a fresh host challenge, validate the certificate
 * and resolve the holder in HSA. Needs siths_card_login() first. */
SITHS_API int siths_card_authenticate(siths_card *card, siths_identity **out);

/*
 * Identity: immutable result. String getters return NULL when the value is
 * not known.
 */
SITHS_API void siths_identity_free(siths_identity **id);
SITHS_API const char *siths_identity_hsa_id(const siths_identity *id);
SITHS_API const char *siths_identity_given_name(const siths_identity *id);
SITHS_API const char *siths_identity_surname(const siths_identity *id);
SITHS_API const char *siths_identity_display_name(const siths_identity *id);
SITHS_API const char *siths_identity_mail(const siths_identity *id);
SITHS_API const char *siths_identity_title(const siths_identity *id);
SITHS_API const char *siths_identity_org_hsa_id(const siths_identity *id);
SITHS_API const char *siths_identity_org_name(const siths_identity *id);
SITHS_API const char *siths_identity_org_number(const siths_identity *id);
SITHS_API const char *siths_identity_municipality_code(const siths_identity *id);
SITHS_API const char *siths_identity_municipality_name(const siths_identity *id);
SITHS_API const char *siths_identity_dn(const siths_identity *id);
SITHS_API const char *siths_identity_hsa_title(const siths_identity *id);
SITHS_API const char *siths_identity_pa_title_code(const siths_identity *id);
/* The personal identity number: only when [hsa] personal_number = yes. */
SITHS_API const char *siths_identity_personal_number(const siths_identity *id);
SITHS_API const char *siths_identity_county_code(const siths_identity *id);
SITHS_API const char *siths_identity_county_name(const siths_identity *id);
/* Units (ou) from the person's own up to the organisation. */
SITHS_API size_t siths_identity_unit_count(const siths_identity *id);
SITHS_API const char *siths_identity_unit(const siths_identity *id, size_t i);
/* Commissions (medarbetaruppdrag) whose member the person is. */
SITHS_API size_t siths_identity_commission_count(const siths_identity *id);
SITHS_API const char *siths_identity_commission_hsa_id(const siths_identity *id, size_t i);
SITHS_API const char *siths_identity_commission_purpose(const siths_identity *id, size_t i);
SITHS_API size_t siths_identity_commission_right_count(const siths_identity *id, size_t i);
SITHS_API const char *siths_identity_commission_right(const siths_identity *id, size_t i,
    size_t k);
/* 1 when the directory could not be reached and a cached entry younger than
 * [hsa] stale_max was served instead. */
SITHS_API int siths_identity_stale(const siths_identity *id);
/* Level of assurance from the certificate policy; 0 when not known. */
SITHS_API int siths_identity_loa(const siths_identity *id);
/* Hex SHA-256 of the certificate's DER; NULL for a directory-only identity. */
SITHS_API const char *siths_identity_cert_sha256(const siths_identity *id);
/* Where the revocation answer came from: "ocsp", "crl", "cache", "soft"
 * (no server answered and on_unreachable = soft accepted it) or "none". */
SITHS_API const char *siths_identity_revocation_source(const siths_identity *id);
/* Seconds since the revocation answer's thisUpdate; -1 when there was none. */
SITHS_API long siths_identity_revocation_age(const siths_identity *id);
SITHS_API size_t siths_identity_role_count(const siths_identity *id);
SITHS_API const char *siths_identity_role(const siths_identity *id, size_t i);
/* A newly allocated JSON object; free() it. NULL when out of memory. */
SITHS_API char *siths_identity_to_json(const siths_identity *id);

/*
 * Local policy: the login name for an identity per [pam] user_map (the map
 * file, or with attr: the one value of that attribute in the person's HSA
 * entry, so only for an identity resolved in the directory), checked
 * against the user database and allow_root. *login is allocated.
 */
SITHS_API int siths_map_user(siths_ctx *ctx, const siths_identity *id, char **login);
/*
 * For this context only, over [pam] allow_root: allow 1 lets the map name
 * root (uid 0), 0 refuses it, -1 goes back to the configuration. Set it
 * before the context is shared. Also over sithsd's refusal: a mapping
 * sithsd refused only for being root is taken when allowed here (the user
 * checked in this machine's user database again).
 */
SITHS_API int siths_ctx_set_allow_root(siths_ctx *ctx, int allow);
/*
 * The user map read backwards: the (first) HSA-id the map file maps to
 * login; *hsa_id is allocated. SITHS_ERR_POLICY_NO_MAPPING when none does,
 * or with user_map = attr: (which cannot be read backwards).
 */
SITHS_API int siths_map_user_hsa_id(siths_ctx *ctx, const char *login, char **hsa_id);
/*
 * [pam] allowed_orgs, required_role and (with have_cert) min_loa, judged
 * for id: 0, SITHS_ERR_POLICY_ORG_NOT_ALLOWED, SITHS_ERR_POLICY_ROLE_MISSING
 * or SITHS_ERR_CERT_LOA_TOO_LOW.
 */
SITHS_API int siths_check_policy(siths_ctx *ctx, const siths_identity *id, int have_cert);

/* "0.1.0" */
SITHS_API const char *siths_version(void);

#ifdef __cplusplus
}
#endif
#endif /* SITHS_H */
