/*
 * ldapconn.h - one libldap connection to one directory server (ldap.c),
 * shared by the HSA layer (hsa.c). Not thread-safe by itself: the owner of
 * a connection serialises its use.
 *
 * (Not named ldap.h: libsiths/ is on the include path and would shadow
 * libldap's <ldap.h>.)
 */
#ifndef SITHS_LDAPCONN_H
#define SITHS_LDAPCONN_H

#include <stddef.h>

#include <ldap.h>

#include "siths.h"

struct siths_ldap;

/*
 * Refuse what this version cannot use safely: anything but one ldaps://
 * URI with a host name. SITHS_ERR_CONFIG_VALUE with a message.
 */
int siths_ldap_uri_check(const siths_ctx *ctx, const char *uri);
/*
 * The [hsa] settings a connection needs, checked once when the context is
 * loaded: every URI, tls_cert with tls_key, what each bind method needs.
 * Nothing to check when no URI is configured.
 */
int siths_ldap_check_config(const siths_ctx *ctx);

/*
 * Connect to uri with the [hsa] TLS, timeout and bind settings, so that a
 * server that is down or presents a bad certificate fails here and not in
 * the first search. Errors: SITHS_ERR_HSA_UNREACHABLE, SITHS_ERR_HSA_TIMEOUT,
 * SITHS_ERR_HSA_BIND, SITHS_ERR_CONFIG_*, SITHS_ERR_NOMEM.
 */
int siths_ldap_open(const siths_ctx *ctx, const char *uri, struct siths_ldap **out);
void siths_ldap_close(struct siths_ldap **conn);

const char *siths_ldap_uri(const struct siths_ldap *conn);
LDAP *siths_ldap_handle(const struct siths_ldap *conn);

/*
 * A synchronous search bounded by the configured timeout, both on the
 * client (LDAP_OPT_TIMEOUT) and as the server's time limit. Returns the
 * LDAP result code; *res is set whenever the server sent anything (also
 * with LDAP_SIZELIMIT_EXCEEDED) and must be freed with ldap_msgfree().
 */
int siths_ldap_search(struct siths_ldap *conn, const char *base, int scope, const char *filter,
    const char *const *attrs, int sizelimit, LDAPMessage **res);

/*
 * Record a failed LDAP operation (what: "search", "bind", ...) with the
 * server's URI, ldap_err2string() and the diagnostic message, and return
 * its status: SITHS_ERR_HSA_UNREACHABLE, _TIMEOUT, _BIND (when bind is
 * set and the server answered) or _PROTOCOL.
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

#endif
