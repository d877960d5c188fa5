/*
 * ldap.c - one libldap connection to one HSA directory server: the checks
 * on [hsa] that decide whether a connection may be made at all, opening
 * (options, TLS or StartTLS, bind), searching within a deadline, closing,
 * mapping libldap errors to siths statuses, and the escaping through which
 * every value reaches a search filter.
 *
 * Which server to use, when to reconnect (hsa_pool.c) and what the entries
 * mean (hsa_query.c, hsa_map.c) is decided elsewhere.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <ldap.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "ldapconn.h"
#include "log.h"
#include "secfile.h"

/* Largest bind password file read. */
#define CONN_PASSWORD_MAX 1024
/*
 * Largest LDAP message accepted from a server. hsa_map.c caps an entry at
 * 64 KiB; this bounds what libldap reads into memory before that check.
 */
#define CONN_MESSAGE_MAX (128 * 1024)
/* Longest part of a server's diagnostic message kept in our messages. */
#define CONN_DIAG_MAX 160
/*
 * How long one blocking read or write on the socket may take before it
 * comes back to the deadline layer below, which then waits for exactly
 * what is left of the deadline.
 */
#define CONN_IO_SLICE_MS 100

/* The time the current lookup (or opening) may take. */
struct deadline {
	struct timespec end;    /* CLOCK_MONOTONIC */
	int armed;
	int expired;            /* an operation ran out of time */
};

struct siths_ldap {
	LDAP *ld;
	char *uri;              /* for messages */
	int starttls;           /* ldap:// upgraded with StartTLS */
	int plain;              /* ldap:// without TLS ([hsa] tls = none) */
	int broken;             /* see siths_ldap_broken() */
	int oversized;          /* a message over CONN_MESSAGE_MAX arrived */
	struct deadline dl;
	struct ldap_conncb cb;  /* libldap keeps a pointer to it */
};

/*
 * A layer of ours in libldap's socket stack, just above its TCP layer, for
 * two things libldap 2.5 does not do:
 *  - a deadline. With GnuTLS, libldap sets the socket non-blocking for the
 *    TLS handshake and retries the handshake in a tight loop, whatever
 *    LDAP_OPT_NETWORK_TIMEOUT says: a server that accepted the connection
 *    and stayed silent kept a thread spinning at full CPU for as long as it
 *    held the connection open (90 s in a test). Here, while a deadline is
 *    armed, a read or write that would block waits in poll() for what is
 *    left of it and then fails with ETIMEDOUT. Blocking reads and writes
 *    give up after CONN_IO_SLICE_MS (SO_RCVTIMEO) and come back here, so a
 *    server that sends half a message and stops is cut off on time too.
 *  - no SIGPIPE. libldap writes with write(); once a server has closed the
 *    connection (idle timeout, restart) that raised SIGPIPE and killed the
 *    test program. A PAM stack or web server must not die of a directory
 *    restart, so writes go out with send(MSG_NOSIGNAL) instead.
 * Reads go to the next layer first and poll only when it has nothing: the
 * read-ahead layer below may hold data that poll() cannot see.
 */
static int
deadline_wait(Sockbuf_IO_Desc *sbiod, short events)
{
	struct deadline *dl = sbiod->sbiod_pvt;
	struct pollfd pfd;
	int n, ms;

	if (!dl->armed || (errno != EAGAIN && errno != EWOULDBLOCK))
		return -1;
	pfd.events = events;
	if (ber_sockbuf_ctrl(sbiod->sbiod_sb, LBER_SB_OPT_GET_FD, &pfd.fd) != 1)
		return -1;
	do {
		ms = siths_deadline_left_ms(&dl->end);
		n = ms > 0 ? poll(&pfd, 1, ms) : 0;
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		dl->expired = 1;
		errno = ETIMEDOUT;
	}
	return n > 0 ? 0 : -1;
}

static ber_slen_t
deadline_read(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	ber_slen_t n;

	while ((n = LBER_SBIOD_READ_NEXT(sbiod, buf, len)) < 0 &&
	    deadline_wait(sbiod, POLLIN) == 0)
		;
	return n;
}

static ber_slen_t
deadline_write(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	ber_socket_t fd;
	ber_slen_t n;

	if (ber_sockbuf_ctrl(sbiod->sbiod_sb, LBER_SB_OPT_GET_FD, &fd) != 1) {
		errno = EBADF;
		return -1;
	}
	while ((n = send(fd, buf, len, MSG_NOSIGNAL)) < 0 && deadline_wait(sbiod, POLLOUT) == 0)
		;
	return n;
}

static int
deadline_setup(Sockbuf_IO_Desc *sbiod, void *arg)
{
	sbiod->sbiod_pvt = arg;
	return 0;
}

static int
deadline_ctrl(Sockbuf_IO_Desc *sbiod, int opt, void *arg)
{
	return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg);
}

static int
deadline_none(Sockbuf_IO_Desc *sbiod)
{
	return 0;
}

static Sockbuf_IO deadline_io = {
	deadline_setup, deadline_none, deadline_ctrl, deadline_read, deadline_write,
	deadline_none
};

/* libldap's connect callback: the socket is connected, TLS not started. */
static int
conn_socket_added(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
    struct ldap_conncb *cb)
{
	struct siths_ldap *conn = cb->lc_arg;
	struct timeval slice = { 0, CONN_IO_SLICE_MS * 1000 };
	int fd;

	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &slice, sizeof(slice)) != 0 ||
	    ber_sockbuf_add_io(sb, &deadline_io, LBER_SBIOD_LEVEL_PROVIDER + 1, &conn->dl) != 0)
		return LDAP_LOCAL_ERROR;
	return 0;
}

static void
conn_socket_removed(LDAP *ld, Sockbuf *sb, struct ldap_conncb *cb)
{
}

void
siths_ldap_set_deadline(struct siths_ldap *conn, const struct timespec *deadline)
{
	if (deadline == NULL) {
		conn->dl.armed = 0;
		return;
	}
	conn->dl.end = *deadline;
	conn->dl.expired = 0;
	conn->dl.armed = 1;
}

/* What is left of the deadline as libldap takes it, or 0 when it has passed. */
static int
conn_time_left(struct siths_ldap *conn, struct timeval *tv)
{
	int ms = conn->dl.armed ? siths_deadline_left_ms(&conn->dl.end) : 0;

	if (ms <= 0) {
		conn->dl.expired = 1;
		conn->broken = 1;
		return 0;
	}
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return 1;
}

static int
is_set(const char *s)
{
	return s != NULL && *s != '\0';
}

static const char *
cfg_path(const siths_ctx *ctx)
{
	return ctx->cfg != NULL && ctx->cfg->path != NULL ? ctx->cfg->path : "siths.conf";
}

/*
 * libldap sets up its process-wide defaults and its TLS library on first
 * use without a lock (helgrind saw two threads' first ldap_initialize()
 * and LDAP_OPT_X_TLS_NEWCTX race). Doing both once, before a context is
 * shared, leaves only the counters libldap bumps on every TLS context
 * (benign: they are only ever compared with zero).
 */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	LDAP *ld = NULL;
	int version, server = 0;

	(void)ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
	/* a handle that never connects: for the TLS library's set-up alone */
	if (ldap_initialize(&ld, "ldaps://127.0.0.1") != LDAP_SUCCESS)
		return;
	(void)ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

/* Is uri an ldap:// URI (StartTLS, or plain under tls = none)? */
static int
uri_is_ldap(const char *uri)
{
	return strncasecmp(uri, "ldap://", 7) == 0;
}

int
siths_ldap_uri_check(const siths_ctx *ctx, const char *uri)
{
	int r = SITHS_ERR_INTERNAL;
	LDAPURLDesc *lud = NULL;
	const char *path = cfg_path(ctx);

	if (!is_set(uri)) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE, "%s: [hsa] uri: empty URI", path);
		goto out;
	}
	/* ldap_initialize() takes a list; one configured URI must stay one server. */
	if (strpbrk(uri, " \t,") != NULL) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
		    "%s: [hsa] uri %s: one URI per entry, separated by white space", path, uri);
		goto out;
	}
	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE, "%s: [hsa] uri %s: not an LDAP URI",
		    path, uri);
		goto out;
	}
	/* ldapi:// and cldap:// would bypass the TLS rules below. */
	if (lud->lud_scheme == NULL || (strcasecmp(lud->lud_scheme, "ldaps") != 0 &&
	    strcasecmp(lud->lud_scheme, "ldap") != 0)) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
		    "%s: [hsa] uri %s: only ldaps:// and ldap:// (with StartTLS) are supported",
		    path, uri);
		goto out;
	}
	/* The server certificate is checked against this name. */
	if (!is_set(lud->lud_host)) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE, "%s: [hsa] uri %s: no host name",
		    path, uri);
		goto out;
	}
	if (is_set(lud->lud_dn) || lud->lud_attrs != NULL || lud->lud_filter != NULL ||
	    lud->lud_exts != NULL) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
		    "%s: [hsa] uri %s: give scheme, host and port only (the base is [hsa] base)",
		    path, uri);
		goto out;
	}
	/* success */
	r = 0;
out:
	if (lud != NULL)
		ldap_free_urldesc(lud);
	return r;
}

/* Would a connection to one of the URIs go without TLS? */
static int
any_plain_uri(const struct siths_config *cfg)
{
	size_t i;

	for (i = 0; cfg->hsa_tls_none && i < cfg->hsa_uris.n; i++) {
		if (uri_is_ldap(cfg->hsa_uris.v[i]))
			return 1;
	}
	return 0;
}

static int
check_bind_config(const siths_ctx *ctx)
{
	const struct siths_config *cfg = ctx->cfg;
	const char *path = cfg_path(ctx);

	switch (cfg->hsa_bind) {
	case SITHS_BIND_NONE:
		return 0;
	case SITHS_BIND_SIMPLE:
		if (!is_set(cfg->hsa_bind_dn) || !is_set(cfg->hsa_bind_password_file))
			return siths_fail(ctx, SITHS_ERR_CONFIG_MISSING,
			    "%s: [hsa] bind = simple needs bind_dn and bind_password_file", path);
		return 0;
	case SITHS_BIND_SASL_EXTERNAL:
		/* The client certificate is the identity EXTERNAL binds as. */
		if (!is_set(cfg->hsa_tls_cert))
			return siths_fail(ctx, SITHS_ERR_CONFIG_MISSING,
			    "%s: [hsa] bind = sasl-external needs tls_cert and tls_key", path);
		if (cfg->hsa_tls_none && any_plain_uri(cfg))
			return siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
			    "%s: [hsa] bind = sasl-external needs TLS, which tls = none turns off "
			    "for ldap:// URIs", path);
		return 0;
	default:
		return siths_fail(ctx, SITHS_ERR_CONFIG_VALUE, "%s: [hsa] bind: unknown method %d",
		    path, cfg->hsa_bind);
	}
}

/*
 * libldap opens the TLS files by name: they are checked like the files we
 * read ourselves (secfile.c), the key as a secret. Whoever can replace
 * tls_ca chooses which directory server is believed.
 */
static int
check_tls_files(const siths_ctx *ctx)
{
	const struct siths_config *cfg = ctx->cfg;
	const struct {
		const char *key, *path;
		int secret;
	} files[] = {
		{ "tls_ca", cfg->hsa_tls_ca, 0 },
		{ "tls_cert", cfg->hsa_tls_cert, 0 },
		{ "tls_key", cfg->hsa_tls_key, 1 },
	};
	char err[SITHS_ERRMSG_MAX];
	size_t i;
	int r;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (is_set(files[i].path) &&
		    (r = siths_check_secure_path(files[i].path, files[i].secret, err,
		    sizeof(err))) != 0)
			return siths_fail(ctx, r, "%s: [hsa] %s: %s", cfg_path(ctx), files[i].key,
			    err);
	}
	return 0;
}

int
siths_ldap_check_config(const siths_ctx *ctx)
{
	const struct siths_config *cfg = ctx->cfg;
	size_t i;
	int r;

	/* No [hsa] uri: the directory is not used, lookups say so. */
	if (cfg->hsa_uris.n == 0)
		return 0;
	pthread_once(&global_once, global_init);
	for (i = 0; i < cfg->hsa_uris.n; i++) {
		if ((r = siths_ldap_uri_check(ctx, cfg->hsa_uris.v[i])) != 0)
			return r;
	}
	if (is_set(cfg->hsa_tls_cert) != is_set(cfg->hsa_tls_key))
		return siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
		    "%s: [hsa] tls_cert and tls_key must be given together", cfg_path(ctx));
	if ((r = check_tls_files(ctx)) != 0)
		return r;
	return check_bind_config(ctx);
}

/* The server's diagnostic text, cut and made printable ASCII for logs. */
static void
conn_diag(const struct siths_ldap *conn, char *buf, size_t len)
{
	char *msg = NULL;
	size_t i;
	unsigned char c;

	buf[0] = '\0';
	if (conn == NULL || conn->ld == NULL ||
	    ldap_get_option(conn->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) != LDAP_OPT_SUCCESS ||
	    msg == NULL)
		return;
	for (i = 0; msg[i] != '\0' && i + 1 < len; i++) {
		c = (unsigned char)msg[i];
		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[i] = '\0';
	ldap_memfree(msg);
}

static int
ldap_status(int ldap_rc, int bind)
{
	switch (ldap_rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	/* A server that says it cannot serve now is as good as down: try the next. */
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		return SITHS_ERR_HSA_UNREACHABLE;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return SITHS_ERR_HSA_TIMEOUT;
	case LDAP_NO_MEMORY:
		return SITHS_ERR_NOMEM;
	default:
		return bind ? SITHS_ERR_HSA_BIND : SITHS_ERR_HSA_PROTOCOL;
	}
}

int
siths_ldap_fail(const siths_ctx *ctx, const struct siths_ldap *conn, int ldap_rc, int bind,
    const char *what)
{
	char diag[CONN_DIAG_MAX];

	/* libldap drops the connection when a message is over the cap. */
	if (conn != NULL && conn->oversized)
		return siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA %s on %s: the server sent a message larger than %d bytes", what,
		    conn->uri, CONN_MESSAGE_MAX);
	/* Our deadline closed the connection: libldap only saw it break. */
	if (conn != NULL && conn->dl.expired &&
	    (ldap_rc == LDAP_SERVER_DOWN || ldap_rc == LDAP_CONNECT_ERROR))
		ldap_rc = LDAP_TIMEOUT;
	conn_diag(conn, diag, sizeof(diag));
	return siths_fail(ctx, ldap_status(ldap_rc, bind), "HSA %s on %s failed: %s%s%s%s",
	    what, conn != NULL ? conn->uri : "(no server)", ldap_err2string(ldap_rc),
	    diag[0] != '\0' ? " (" : "", diag, diag[0] != '\0' ? ")" : "");
}

static int
conn_set(const siths_ctx *ctx, struct siths_ldap *conn, int option, const void *value,
    const char *name)
{
	if (ldap_set_option(conn->ld, option, value) == LDAP_OPT_SUCCESS)
		return 0;
	return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot set %s for %s", name, conn->uri);
}

/*
 * The handle's options. The timeouts are what is left of the deadline:
 * libldap waits that long for the TCP connection, the StartTLS answer and
 * the bind, and the deadline layer holds the TLS handshake to it.
 */
static int
conn_options(const siths_ctx *ctx, struct siths_ldap *conn, const struct timeval *left)
{
	int version = LDAP_VERSION3, deref = LDAP_DEREF_NEVER, r;
	ber_len_t max = CONN_MESSAGE_MAX;
	Sockbuf *sb = NULL;

	if ((r = conn_set(ctx, conn, LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_NETWORK_TIMEOUT, left, "net timeout")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_TIMEOUT, left, "timeout")) ||
	    /* a referral could send the lookup to a server nobody configured */
	    (r = conn_set(ctx, conn, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_RESTART, LDAP_OPT_ON, "restart")) ||
	    /* aliases could lead a search out of [hsa] base; ldap.conf may say otherwise */
	    (r = conn_set(ctx, conn, LDAP_OPT_DEREF, &deref, "alias dereferencing")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_CONNECT_CB, &conn->cb, "connect callback")))
		return r;
	if (ldap_get_option(conn->ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == NULL ||
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max) != 1)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot limit message size for %s",
		    conn->uri);
	return 0;
}

/*
 * TLS on this handle only, never in libldap's process-wide defaults, which
 * other code in the process may own. NEWCTX makes the settings take effect
 * (and loads the files, so a bad file fails here).
 */
static int
conn_tls(const siths_ctx *ctx, struct siths_ldap *conn)
{
	const struct siths_config *cfg = ctx->cfg;
	int demand = LDAP_OPT_X_TLS_DEMAND, min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, server = 0, r;

	if ((r = conn_set(ctx, conn, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "TLS_REQCERT")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min, "TLS_PROTOCOL_MIN")))
		return r;
	/* Trust exactly tls_ca: no CA directory from ldap.conf or LDAPTLS_CACERTDIR. */
	if (is_set(cfg->hsa_tls_ca) &&
	    ((r = conn_set(ctx, conn, LDAP_OPT_X_TLS_CACERTFILE, cfg->hsa_tls_ca, "TLS_CACERT")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_X_TLS_CACERTDIR, NULL, "TLS_CACERTDIR"))))
		return r;
	if (is_set(cfg->hsa_tls_cert) &&
	    ((r = conn_set(ctx, conn, LDAP_OPT_X_TLS_CERTFILE, cfg->hsa_tls_cert, "TLS_CERT")) ||
	    (r = conn_set(ctx, conn, LDAP_OPT_X_TLS_KEYFILE, cfg->hsa_tls_key, "TLS_KEY"))))
		return r;
	if (ldap_set_option(conn->ld, LDAP_OPT_X_TLS_NEWCTX, &server) != LDAP_OPT_SUCCESS)
		return siths_fail(ctx, SITHS_ERR_CONFIG_VALUE,
		    "%s: TLS setup for %s failed: check [hsa] tls_ca, tls_cert and tls_key",
		    cfg_path(ctx), conn->uri);
	return 0;
}

/* A failed connection or StartTLS, with a hint when TLS may be the cause. */
static int
conn_open_fail(const siths_ctx *ctx, struct siths_ldap *conn, int rc, const char *what)
{
	char msg[SITHS_ERRMSG_MAX];
	int r;

	if ((r = siths_ldap_fail(ctx, conn, rc, 0, what)) != SITHS_ERR_HSA_UNREACHABLE ||
	    conn->plain)
		return r;
	/* libldap reports a refused certificate as an absent server. */
	snprintf(msg, sizeof(msg), "%s", siths_ctx_errmsg(ctx));
	return siths_fail(ctx, r, "%s; if the server is up, check that its certificate chains to "
	    "[hsa] tls_ca and names the host in the URI", msg);
}

/*
 * Connect, and finish the TLS handshake (ldaps://) or StartTLS (ldap://),
 * so that failures name the step.
 */
static int
conn_connect(const siths_ctx *ctx, struct siths_ldap *conn)
{
	int rc;

	if ((rc = ldap_connect(conn->ld)) != LDAP_SUCCESS) {
		/* ldap_connect() may say only -1; the handle knows why. */
		if (rc < 0 && (ldap_get_option(conn->ld, LDAP_OPT_RESULT_CODE, &rc) !=
		    LDAP_OPT_SUCCESS || rc == LDAP_SUCCESS))
			rc = LDAP_SERVER_DOWN;
		return conn_open_fail(ctx, conn, rc, "connection");
	}
	if (conn->starttls && (rc = ldap_start_tls_s(conn->ld, NULL, NULL)) != LDAP_SUCCESS)
		return conn_open_fail(ctx, conn, rc, "StartTLS");
	return 0;
}

static int
conn_bind_simple(const siths_ctx *ctx, struct siths_ldap *conn)
{
	const struct siths_config *cfg = ctx->cfg;
	int r = SITHS_ERR_INTERNAL, rc;
	char *pw = NULL, err[256];
	size_t pwlen = 0, len;
	struct berval cred;

	if ((r = siths_read_secret_file(cfg->hsa_bind_password_file, CONN_PASSWORD_MAX, &pw,
	    &pwlen, err, sizeof(err))) != 0) {
		r = siths_fail(ctx, r, "%s: [hsa] bind_password_file: %s", cfg_path(ctx), err);
		goto out;
	}
	for (len = pwlen; len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'); len--)
		;
	/* RFC 4513 5.1.2: a name with an empty password is an unauthenticated
	 * bind, which many servers accept without checking anything. */
	if (len == 0) {
		r = siths_fail(ctx, SITHS_ERR_HSA_BIND, "%s: [hsa] bind_password_file %s is empty",
		    cfg_path(ctx), cfg->hsa_bind_password_file);
		goto out;
	}
	cred.bv_val = pw;
	cred.bv_len = len;
	rc = ldap_sasl_bind_s(conn->ld, cfg->hsa_bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
	if (rc != LDAP_SUCCESS) {
		r = siths_ldap_fail(ctx, conn, rc, 1, "simple bind");
		goto out;
	}
	/* success */
	r = 0;
out:
	if (pw != NULL) {
		explicit_bzero(pw, pwlen);
		free(pw);
	}
	return r;
}

/*
 * EXTERNAL takes the identity from the TLS client certificate. With an
 * empty authorisation id as its initial response it is one request, so the
 * plain SASL bind call does it and Cyrus SASL's prompting is not needed.
 * (Without the initial response the server asks for it in a second round.)
 */
static int
conn_bind_external(const siths_ctx *ctx, struct siths_ldap *conn)
{
	struct berval authzid = { 0, (char *)(uintptr_t)"" }; /* libldap only reads it */
	int rc;

	rc = ldap_sasl_bind_s(conn->ld, NULL, "EXTERNAL", &authzid, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return siths_ldap_fail(ctx, conn, rc, 1, "SASL EXTERNAL bind");
	return 0;
}

static int
conn_bind(const siths_ctx *ctx, struct siths_ldap *conn)
{
	switch (ctx->cfg->hsa_bind) {
	case SITHS_BIND_NONE:
		return 0;
	case SITHS_BIND_SIMPLE:
		return conn_bind_simple(ctx, conn);
	case SITHS_BIND_SASL_EXTERNAL:
		return conn_bind_external(ctx, conn);
	default:
		return check_bind_config(ctx);
	}
}

static const char *
bind_name(const siths_ctx *ctx)
{
	switch (ctx->cfg->hsa_bind) {
	case SITHS_BIND_SIMPLE:
		return "simple bind";
	case SITHS_BIND_SASL_EXTERNAL:
		return "SASL EXTERNAL bind";
	default:
		return "anonymous";
	}
}

static const char *
tls_name(const struct siths_ldap *conn)
{
	return conn->plain ? "no TLS" : conn->starttls ? "StartTLS" : "TLS";
}

int
siths_ldap_open(const siths_ctx *ctx, const char *uri, const struct timespec *deadline,
    struct siths_ldap **out)
{
	int r = SITHS_ERR_INTERNAL, rc;
	struct siths_ldap *conn = NULL;
	struct timeval left;

	*out = NULL;
	if ((r = siths_ldap_uri_check(ctx, uri)) != 0)
		goto out;
	if ((conn = calloc(1, sizeof(*conn))) == NULL || (conn->uri = strdup(uri)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	conn->plain = uri_is_ldap(uri) && ctx->cfg->hsa_tls_none;
	conn->starttls = uri_is_ldap(uri) && !conn->plain;
	conn->cb.lc_add = conn_socket_added;
	conn->cb.lc_del = conn_socket_removed;
	conn->cb.lc_arg = conn;
	siths_ldap_set_deadline(conn, deadline);
	if (!conn_time_left(conn, &left)) {
		r = siths_fail(ctx, SITHS_ERR_HSA_TIMEOUT, "HSA: no time left to connect to %s",
		    uri);
		goto out;
	}
	if ((rc = ldap_initialize(&conn->ld, uri)) != LDAP_SUCCESS) {
		r = siths_ldap_fail(ctx, conn, rc, 0, "initialisation");
		goto out;
	}
	if ((r = conn_options(ctx, conn, &left)) != 0 ||
	    (!conn->plain && (r = conn_tls(ctx, conn)) != 0))
		goto out;
	if ((r = conn_connect(ctx, conn)) != 0 || (r = conn_bind(ctx, conn)) != 0)
		goto out;
	siths_ldap_set_deadline(conn, NULL);
	siths_info(ctx, "HSA: connected to %s (%s, %s)", uri, tls_name(conn), bind_name(ctx));
	*out = conn;
	conn = NULL; /* transferred */
	/* success */
	r = 0;
out:
	siths_ldap_close(&conn);
	return r;
}

void
siths_ldap_close(struct siths_ldap **connp)
{
	struct siths_ldap *conn;

	if (connp == NULL || (conn = *connp) == NULL)
		return;
	if (conn->ld != NULL)
		ldap_unbind_ext_s(conn->ld, NULL, NULL);
	free(conn->uri);
	free(conn);
	*connp = NULL;
}

const char *
siths_ldap_uri(const struct siths_ldap *conn)
{
	return conn->uri;
}

LDAP *
siths_ldap_handle(const struct siths_ldap *conn)
{
	return conn->ld;
}

int
siths_ldap_plain(const struct siths_ldap *conn)
{
	return conn->plain;
}

int
siths_ldap_broken(const struct siths_ldap *conn)
{
	return conn->broken;
}

int
siths_ldap_search_send(struct siths_ldap *conn, const char *base, int scope,
    const char *filter, const char *const *attrs, int sizelimit, int *msgid)
{
	struct timeval tv;
	int rc;

	*msgid = -1;
	if (!conn_time_left(conn, &tv))
		return LDAP_TIMEOUT;
	/* libldap's prototype lacks const on attrs; it only reads them. */
	rc = ldap_search_ext(conn->ld, base, scope, filter, (char **)(uintptr_t)attrs, 0, NULL,
	    NULL, &tv, sizelimit, msgid);
	if (rc != LDAP_SUCCESS)
		conn->broken = 1;
	return rc;
}

int
siths_ldap_search_wait(struct siths_ldap *conn, int msgid, LDAPMessage **res)
{
	struct timeval tv;
	int n, rc = LDAP_OTHER;

	*res = NULL;
	if (!conn_time_left(conn, &tv))
		return LDAP_TIMEOUT;
	errno = 0;
	if ((n = ldap_result(conn->ld, msgid, LDAP_MSG_ALL, &tv, res)) > 0) {
		/* The result code is in the chain's last message, after the entries. */
		if (ldap_parse_result(conn->ld, *res, &rc, NULL, NULL, NULL, NULL, 0) !=
		    LDAP_SUCCESS)
			return LDAP_DECODING_ERROR;
		return rc;
	}
	/* Whatever was left unread of the answer makes the connection useless. */
	conn->broken = 1;
	if (n == 0) {
		conn->dl.expired = 1;
		return LDAP_TIMEOUT;
	}
	/* liblber refuses a message over the cap with ERANGE; libldap then
	 * drops the connection and says only that the server is gone. */
	if (errno == ERANGE)
		conn->oversized = 1;
	if (ldap_get_option(conn->ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS ||
	    rc == LDAP_SUCCESS)
		rc = LDAP_SERVER_DOWN;
	return rc;
}

int
siths_ldap_search(struct siths_ldap *conn, const char *base, int scope, const char *filter,
    const char *const *attrs, int sizelimit, LDAPMessage **res)
{
	int msgid, rc;

	*res = NULL;
	if ((rc = siths_ldap_search_send(conn, base, scope, filter, attrs, sizelimit,
	    &msgid)) != LDAP_SUCCESS)
		return rc;
	return siths_ldap_search_wait(conn, msgid, res);
}

size_t
siths_utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* RFC 3629's table: these lead bytes narrow the second byte's range. */
	if (s[0] == 0xe0)
		lo = 0xa0;      /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;      /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;      /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;      /* above U+10FFFF */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

int
siths_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;

	while (i < n) {
		if (p[i] == 0 || (len = siths_utf8_char_len(p + i, n - i)) == 0)
			return 0;
		i += len;
	}
	return 1;
}

/* Append the RFC 4515 escaping of s[0..n) to buf at *pos (room: 3 * n). */
static int
escape_run(const char *s, size_t n, char *buf, size_t *pos)
{
	struct berval in, esc = { 0, NULL };

	if (n == 0)
		return 0;
	in.bv_len = n;
	in.bv_val = (char *)(uintptr_t)s; /* libldap's prototype lacks const; it only reads */
	if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
		return SITHS_ERR_NOMEM;
	/* Every octet becomes at most \XX: anything longer is not what we asked for. */
	if (esc.bv_val == NULL || esc.bv_len > 3 * n) {
		ber_memfree(esc.bv_val);
		return SITHS_ERR_INTERNAL;
	}
	memcpy(buf + *pos, esc.bv_val, esc.bv_len);
	*pos += esc.bv_len;
	ber_memfree(esc.bv_val);
	return 0;
}

/*
 * libldap escapes every octet above 0x7f; RFC 4515 lets well-formed UTF-8
 * characters stand as they are, which keeps Swedish names readable in the
 * server's logs. So runs of anything else (ASCII, stray octets, NUL) go
 * through ldap_bv2escaped_filter_value() and only characters that
 * siths_utf8_char_len() accepts as multi-octet UTF-8 are copied, and
 * those contain no octet below 0x80.
 */
int
siths_ldap_escape(const char *value, size_t len, char **out)
{
	int r = SITHS_ERR_INTERNAL;
	const unsigned char *s = (const unsigned char *)value;
	char *buf = NULL;
	size_t i = 0, start = 0, pos = 0, n;

	if (out != NULL)
		*out = NULL;
	if (value == NULL || out == NULL || len > (SIZE_MAX - 1) / 3)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((buf = malloc(3 * len + 1)) == NULL) {
		r = SITHS_ERR_NOMEM;
		goto out;
	}
	while (i < len) {
		if ((n = siths_utf8_char_len(s + i, len - i)) < 2) {
			i++;
			continue;
		}
		if ((r = escape_run(value + start, i - start, buf, &pos)) != 0)
			goto out;
		memcpy(buf + pos, value + i, n);
		pos += n;
		i += n;
		start = i;
	}
	if ((r = escape_run(value + start, i - start, buf, &pos)) != 0)
		goto out;
	buf[pos] = '\0';
	*out = buf;
	buf = NULL; /* transferred */
	/* success */
	r = 0;
out:
	free(buf);
	return r;
}
