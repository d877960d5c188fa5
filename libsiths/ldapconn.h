/*
 * ldapconn.h - the parts of the HSA layer that speak libldap: one
 * connection to one directory server (ldap.c), the pool of connections a
 * context shares between threads with its failover between servers
 * (hsa_pool.c), and reading an entry within bounds (hsa_map.c).
 *
 * (Not named ldap.h: libsiths/ is on the include path and would shadow
 * libldap's <ldap.h>.)
 */
#ifndef SITHS_LDAPCONN_H
#define SITHS_LDAPCONN_H

#include <stddef.h>
#include <time.h>

#include <ldap.h>

#include "config.h"
#include "identity.h"
#include "siths.h"
#include "timeutil.h"

struct siths_ldap;

/* --- one connection (ldap.c); its owner serialises its use ------------------ */

/*
 * Refuse what cannot be used: anything but one ldaps:// or ldap:// URI with
 * a host name and nothing else. SITHS_ERR_CONFIG_VALUE with a message.
 */
int siths_ldap_uri_check(const siths_ctx *ctx, const char *uri);
/*
 * The [hsa] settings a connection needs, checked once when the context is
 * loaded: every URI, tls_cert with tls_key, what each bind method needs.
 * Nothing to check when no URI is configured. Also sets up libldap's
 * process-wide state once, which is not safe to do from several threads.
 */
int siths_ldap_check_config(const siths_ctx *ctx);

/*
 * Connect to uri with the [hsa] TLS and bind settings before deadline, so
 * that a server that is down or presents a bad certificate fails here and
 * not in the first search. ldaps:// is TLS from the start; ldap:// is
 * upgraded with StartTLS, or stays plain when [hsa] tls = none. Errors:
 * SITHS_ERR_HSA_UNREACHABLE, _TIMEOUT, _BIND, _PROTOCOL, SITHS_ERR_CONFIG_*,
 * SITHS_ERR_NOMEM.
 */
int siths_ldap_open(const siths_ctx *ctx, const char *uri, const struct timespec *deadline,
    struct siths_ldap **out);
void siths_ldap_close(struct siths_ldap **conn);

const char *siths_ldap_uri(const struct siths_ldap *conn);
LDAP *siths_ldap_handle(const struct siths_ldap *conn);
/* Does the connection run without TLS ([hsa] tls = none and ldap://)? */
int siths_ldap_plain(const struct siths_ldap *conn);
/*
 * Has an operation on it failed in a way that leaves its state unknown
 * (timeout, lost connection, a message over the size cap)? Such a
 * connection is closed, never reused.
 */
int siths_ldap_broken(const struct siths_ldap *conn);

/*
 * Bind the connection's next operations to deadline (NULL: none, for a
 * connection going back to the pool). Every wait below ends by then; a
 * search on a connection without a deadline fails with LDAP_TIMEOUT.
 */
void siths_ldap_set_deadline(struct siths_ldap *conn, const struct timespec *deadline);

/*
 * Send a search; its answer is collected with siths_ldap_search_wait(), so
 * that several searches can travel in one round trip. The server gets the
 * deadline's whole seconds (at least 1) as its time limit. Returns an LDAP
 * result code; LDAP_TIMEOUT when the deadline has passed already.
 */
int siths_ldap_search_send(struct siths_ldap *conn, const char *base, int scope,
    const char *filter, const char *const *attrs, int sizelimit, int *msgid);
/*
 * Wait until the deadline for the whole answer to msgid. Returns the LDAP
 * result code (LDAP_TIMEOUT when the deadline passed); *res is set whenever
 * the server answered (also with LDAP_SIZELIMIT_EXCEEDED) and must be freed
 * with ldap_msgfree().
 */
int siths_ldap_search_wait(struct siths_ldap *conn, int msgid, LDAPMessage **res);
/* Both of the above. */
int siths_ldap_search(struct siths_ldap *conn, const char *base, int scope, const char *filter,
    const char *const *attrs, int sizelimit, LDAPMessage **res);

/*
 * Record a failed LDAP operation (what: "search", "bind", ...) with the
 * server's URI, ldap_err2string() and the diagnostic message, and return
 * its status: SITHS_ERR_HSA_UNREACHABLE, _TIMEOUT, _BIND (when bind is
 * set and the server answered), _ENTRY_TOO_LARGE (a message over the cap)
 * or _PROTOCOL.
 */
int siths_ldap_fail(const siths_ctx *ctx, const struct siths_ldap *conn, int ldap_rc,
    int bind, const char *what);

/*
 * Length (1-4) of the well-formed UTF-8 character at s (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
size_t siths_utf8_char_len(const unsigned char *s, size_t n);
/* Is s[0..n) well-formed UTF-8 without NUL bytes? */
int siths_utf8_valid(const char *s, size_t n);

/* --- the pool (hsa_pool.c) --------------------------------------------------- */

struct siths_hsa_pool;

/* A connection lent to one lookup. */
struct siths_hsa_lease {
	struct siths_ldap *conn;
	size_t slot;
	size_t server;              /* index in [hsa] uri; the count when none was chosen */
	int reused;                 /* opened by an earlier lookup */
	int probe;                  /* the first try of a server since it failed */
};

/* How a lookup left its connection. */
enum siths_hsa_outcome {
	SITHS_HSA_KEEP,             /* fine: back to the pool */
	SITHS_HSA_CLOSE,            /* unusable (broken), the server is fine */
	SITHS_HSA_LOST,             /* the server dropped it: its other idle ones too */
	SITHS_HSA_SERVER_DOWN,      /* the server failed: rest it for a while */
};

int siths_hsa_pool_new(const siths_ctx *ctx, struct siths_hsa_pool **out);
void siths_hsa_pool_free(struct siths_hsa_pool **pool);
/* Is server i resting after a failure (passed over for now)? */
int siths_hsa_pool_resting(struct siths_hsa_pool *pool, size_t i);

/*
 * Lend a connection to the first server at index first or later that is
 * not resting after a failure: an idle one (unless fresh), else a new one,
 * else wait for one to come back until deadline. Errors: open's (then
 * lease->server is the server that failed, already put to rest when it was
 * unreachable), SITHS_ERR_HSA_UNREACHABLE when every server from first on
 * is resting (lease->server is the count of servers), SITHS_ERR_HSA_TIMEOUT
 * when no connection came free in time (likewise).
 */
int siths_hsa_pool_get(const siths_ctx *ctx, struct siths_hsa_pool *pool, size_t first,
    int fresh, const struct timespec *deadline, struct siths_hsa_lease *lease);
/* Take the connection back; see enum siths_hsa_outcome. Clears *lease. */
void siths_hsa_pool_put(const siths_ctx *ctx, struct siths_hsa_pool *pool,
    struct siths_hsa_lease *lease, enum siths_hsa_outcome outcome);

/* --- entries (hsa_map.c) ----------------------------------------------------- */

/* One entry being read. */
struct siths_hsa_entry {
	LDAP *ld;
	LDAPMessage *msg;
	char *dn;                   /* owned; checked UTF-8 */
};

/*
 * Start reading msg: its DN (at most a value's size, UTF-8) and its size
 * (all the server sent for it at most 64 KiB, else
 * SITHS_ERR_HSA_ENTRY_TOO_LARGE). siths_hsa_entry_clear() frees it.
 */
int siths_hsa_entry_open(const siths_ctx *ctx, LDAP *ld, LDAPMessage *msg,
    struct siths_hsa_entry *ent);
void siths_hsa_entry_clear(struct siths_hsa_entry *ent);

/* Does the entry's objectClass include name? */
int siths_hsa_entry_has_class(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    const char *name, int *yes);
/* The person's own attributes; hsa_id is the one asked for. */
int siths_hsa_map_person(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    const char *hsa_id, struct siths_identity *id);
/* The organisation's attributes into id's organisation fields. */
int siths_hsa_map_org(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    struct siths_identity *id);
/* One commission entry appended to id's commissions. */
int siths_hsa_map_commission(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    struct siths_identity *id);
/*
 * The unit path from the person's DN: the values of the unit_name RDNs at
 * levels [from, to) (1 is the person's parent), nearest first.
 */
int siths_hsa_map_units(const siths_ctx *ctx, LDAPDN dn, int from, int to,
    struct siths_identity *id);

#endif
