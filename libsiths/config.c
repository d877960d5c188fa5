/*
 * config.c - siths.conf: safe opening, strict INI parsing with libinih,
 * defaults, and the checks that make a bad file a clear error instead of a
 * silent surprise.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "siths.h"

#define DEFAULT_PKCS11_MODULE "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
#define DEFAULT_USER_MAP "file:/etc/siths/users.map"
#define DEFAULT_CACHE_DIR "/var/cache/siths"
#define DEFAULT_SERVICE_SOCKET "/run/siths/sithsd.sock"
/* sithsd's user, as the sysusers.d entry creates it */
#define DEFAULT_SERVICE_USER "siths"
/* Items in one list value (URIs, prefixes, policies, CRL files). */
#define MAX_LIST_ITEMS 32
/* Longest attribute name for [pam] user_map = attr:; HSA's are far shorter. */
#define USER_MAP_ATTR_MAX 64

struct parse_state {
	struct siths_config *cfg;
	const char *name;        /* file name for messages */
	const char *cursor;      /* reader position in the text */
	int lineno;              /* line the reader handed out last */
	int status;              /* first error, 0 if none */
	char *err;
	size_t errlen;
	unsigned char seen[136];  /* per key_table entry: given already */
};

struct key_spec;
typedef int parse_fn(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field);

struct key_spec {
	const char *section;
	const char *key;
	parse_fn *parse;
	size_t offset;
	int min, max;            /* for integers */
};

static void
set_error(struct parse_state *st, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_error(struct parse_state *st, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->status != 0)
		return;         /* the first error is the one people need */
	st->status = status;
	if (st->lineno > 0)
		n = snprintf(st->err, st->errlen, "%s:%d: ", st->name, st->lineno);
	else            /* about the file as a whole, e.g. a key it lacks */
		n = snprintf(st->err, st->errlen, "%s: ", st->name);
	if (n < 0 || (size_t)n >= st->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
strlist_free(struct siths_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
add_item(struct parse_state *st, const struct key_spec *ks, struct siths_strlist *out,
    const char *p, size_t len)
{
	char **v;

	if (out->n >= MAX_LIST_ITEMS) {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[%s] %s: more than %d items",
		    ks->section, ks->key, MAX_LIST_ITEMS);
		return -1;
	}
	if ((v = reallocarray(out->v, out->n + 1, sizeof(*v))) == NULL) {
		set_error(st, SITHS_ERR_NOMEM, "out of memory");
		return -1;
	}
	out->v = v;
	if ((v[out->n] = strndup(p, len)) == NULL) {
		set_error(st, SITHS_ERR_NOMEM, "out of memory");
		return -1;
	}
	out->n++;
	return 0;
}

/* Add the blank-separated words of p[0..len). */
static int
add_words(struct parse_state *st, const struct key_spec *ks, struct siths_strlist *out,
    const char *p, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		while (i < len && isspace((unsigned char)p[i]))
			i++;
		start = i;
		while (i < len && !isspace((unsigned char)p[i]))
			i++;
		if (i > start && add_item(st, ks, out, p + start, i - start) != 0)
			return -1;
	}
	return 0;
}

/*
 * Split a list value at commas, and also at blanks when words is set;
 * blanks around items are trimmed. An empty value is an empty list; an
 * empty item ("a,,b", "a,") is an error, since it is likely a typo.
 */
static int
split_list(struct parse_state *st, const struct key_spec *ks, const char *value, int words,
    struct siths_strlist *out)
{
	const char *p = value, *comma;
	size_t len;

	strlist_free(out);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0) {
			set_error(st, SITHS_ERR_CONFIG_VALUE, "[%s] %s: empty item in '%s'",
			    ks->section, ks->key, value);
			return -1;
		}
		if ((words ? add_words(st, ks, out, p, len) : add_item(st, ks, out, p, len)) != 0)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int
parse_string(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	char **dst = field;

	free(*dst);
	*dst = NULL;
	if (*value == '\0')
		return 0;
	if ((*dst = strdup(value)) == NULL) {
		set_error(st, SITHS_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

static int
check_absolute(struct parse_state *st, const struct key_spec *ks, const char *path)
{
	if (path[0] != '/') {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[%s] %s: '%s' is not an absolute path",
		    ks->section, ks->key, path);
		return -1;
	}
	return 0;
}

static int
parse_path(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	if (*value != '\0' && check_absolute(st, ks, value) != 0)
		return -1;
	return parse_string(st, ks, value, field);
}

static int
parse_path_list(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	struct siths_strlist *l = field;
	size_t i;

	if (split_list(st, ks, value, 1, l) != 0)
		return -1;
	for (i = 0; i < l->n; i++) {
		if (check_absolute(st, ks, l->v[i]) != 0)
			return -1;
	}
	return 0;
}

static int
parse_word_list(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	return split_list(st, ks, value, 1, field);
}

static int
parse_int(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0' || errno != 0 || v < ks->min || v > ks->max) {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[%s] %s: '%s' is not a whole number from %d to %d",
		    ks->section, ks->key, value, ks->min, ks->max);
		return -1;
	}
	*(int *)field = (int)v;
	return 0;
}

static int
parse_bool(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0) {
		*(int *)field = 1;
	} else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0) {
		*(int *)field = 0;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[%s] %s: '%s' is not yes or no",
		    ks->section, ks->key, value);
		return -1;
	}
	return 0;
}

/* A dotted OID: at least two arcs, digits only, no leading zeros. */
static int
oid_valid(const char *s)
{
	int arcs = 0;

	while (*s != '\0') {
		if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
		arcs++;
		if (*s == '.' && s[1] != '\0')
			s++;
		else if (*s != '\0')
			return 0;
	}
	return arcs >= 2;
}

static int
parse_policy_loa(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	struct siths_config *cfg = st->cfg;
	struct siths_strlist items = { 0 };
	char *colon, *end;
	long loa;
	size_t i;
	int r = -1;

	if (split_list(st, ks, value, 0, &items) != 0)
		goto out;
	if ((cfg->policy_loa = calloc(items.n + 1, sizeof(*cfg->policy_loa))) == NULL) {
		set_error(st, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < items.n; i++) {
		colon = strchr(items.v[i], ':');
		if (colon == NULL) {
			set_error(st, SITHS_ERR_CONFIG_VALUE,
			    "[trust] policy_loa: '%s' is not OID:LEVEL", items.v[i]);
			goto out;
		}
		*colon = '\0';
		loa = strtol(colon + 1, &end, 10);
		if (!oid_valid(items.v[i]) || colon[1] == '\0' || *end != '\0' || loa < 1 ||
		    loa > 4) {
			set_error(st, SITHS_ERR_CONFIG_VALUE,
			    "[trust] policy_loa: '%s:%s' needs a dotted OID and a level from 1 to 4",
			    items.v[i], colon + 1);
			goto out;
		}
		cfg->policy_loa[i].oid = items.v[i];
		items.v[i] = NULL;      /* transferred */
		cfg->policy_loa[i].loa = (int)loa;
		cfg->n_policy_loa++;
	}
	r = 0;
out:
	strlist_free(&items);
	return r;
}

static int
parse_eku(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	struct siths_strlist items = { 0 };
	unsigned int bits = 0;
	size_t i;
	int r = -1;

	if (split_list(st, ks, value, 1, &items) != 0)
		goto out;
	for (i = 0; i < items.n; i++) {
		if (strcmp(items.v[i], "clientAuth") == 0)
			bits |= SITHS_EKU_CLIENT_AUTH;
		else if (strcmp(items.v[i], "serverAuth") == 0)
			bits |= SITHS_EKU_SERVER_AUTH;
		else if (strcmp(items.v[i], "none") == 0 && items.n == 1)
			bits = SITHS_EKU_NONE;
		else {
			set_error(st, SITHS_ERR_CONFIG_VALUE,
			    "[trust] require_eku: '%s' is not clientAuth, serverAuth or none",
			    items.v[i]);
			goto out;
		}
	}
	*(unsigned int *)field = bits;
	r = 0;
out:
	strlist_free(&items);
	return r;
}

static int
parse_rev_mode(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	struct siths_config *cfg = st->cfg;
	struct siths_strlist items = { 0 };
	int method;
	size_t i;
	int r = -1;

	if (split_list(st, ks, value, 0, &items) != 0)
		goto out;
	cfg->n_rev_methods = 0;
	if (items.n == 1 && strcmp(items.v[0], "none") == 0) {
		r = 0;
		goto out;
	}
	for (i = 0; i < items.n; i++) {
		if (strcmp(items.v[i], "ocsp") == 0)
			method = SITHS_REV_OCSP;
		else if (strcmp(items.v[i], "crl") == 0)
			method = SITHS_REV_CRL;
		else
			method = 0;
		if (method == 0 || i >= 2 || (i == 1 && cfg->rev_methods[0] == method)) {
			set_error(st, SITHS_ERR_CONFIG_VALUE,
			    "[revocation] mode: '%s' is not one of ocsp,crl | crl,ocsp | ocsp | crl | none",
			    value);
			goto out;
		}
		cfg->rev_methods[cfg->n_rev_methods++] = method;
	}
	if (cfg->n_rev_methods == 0) {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[revocation] mode: empty (say none)");
		goto out;
	}
	r = 0;
out:
	strlist_free(&items);
	return r;
}

static int
parse_on_unreachable(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	if (strcmp(value, "fail") == 0) {
		*(int *)field = 0;
	} else if (strcmp(value, "soft") == 0) {
		*(int *)field = 1;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[revocation] on_unreachable: '%s' is not fail or soft", value);
		return -1;
	}
	return 0;
}

static int
parse_nonce(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	if (strcmp(value, "required") == 0) {
		*(int *)field = 0;
	} else if (strcmp(value, "optional") == 0) {
		*(int *)field = 1;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[revocation] ocsp_nonce: '%s' is not required or optional", value);
		return -1;
	}
	return 0;
}

static int
parse_bind(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	if (strcmp(value, "none") == 0) {
		*(int *)field = SITHS_BIND_NONE;
	} else if (strcmp(value, "simple") == 0) {
		*(int *)field = SITHS_BIND_SIMPLE;
	} else if (strcmp(value, "sasl-external") == 0) {
		*(int *)field = SITHS_BIND_SASL_EXTERNAL;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[hsa] bind: '%s' is not none, simple or sasl-external", value);
		return -1;
	}
	return 0;
}

static int
parse_service_mode(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	if (strcmp(value, "local") == 0) {
		*(int *)field = SITHS_SERVICE_LOCAL;
	} else if (strcmp(value, "auto") == 0) {
		*(int *)field = SITHS_SERVICE_AUTO;
	} else if (strcmp(value, "required") == 0) {
		*(int *)field = SITHS_SERVICE_REQUIRED;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[service] mode: '%s' is not local, auto or required", value);
		return -1;
	}
	return 0;
}

static int
parse_card_removal(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	if (strcmp(value, "none") == 0) {
		*(int *)field = SITHS_REMOVAL_NONE;
	} else if (strcmp(value, "lock") == 0) {
		*(int *)field = SITHS_REMOVAL_LOCK;
	} else if (strcmp(value, "logout") == 0) {
		*(int *)field = SITHS_REMOVAL_LOGOUT;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[pam] on_card_removal: '%s' is not lock, logout or none", value);
		return -1;
	}
	return 0;
}

/* A user or group as a name (letters, digits, '_', '-', '.') or a number. */
static int
parse_account(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	size_t i, len = strlen(value);

	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)value[i]) && strchr("_-.", value[i]) == NULL)
			break;
	}
	if (len == 0 || len > 32 || i < len || value[0] == '-') {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[%s] %s: '%s' is not a user or group name",
		    ks->section, ks->key, value);
		return -1;
	}
	return parse_string(st, ks, value, field);
}

/*
 * [authd] listen: 127.0.0.1:PORT (a loopback address: the front trusts the
 * proxy's header, so only the host may reach it) or unix:/PATH.
 */
static int
parse_listen(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	const char *colon = strrchr(value, ':');
	char *end;
	long port;

	if (strncmp(value, "unix:", 5) == 0) {
		if (check_absolute(st, ks, value + 5) != 0)
			return -1;
		return parse_string(st, ks, value, field);
	}
	port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
	if (colon == NULL || *end != '\0' || port < 1 || port > 65535 ||
	    (strncmp(value, "127.", 4) != 0 && strncmp(value, "[::1]:", 6) != 0)) {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[authd] listen: '%s' is not 127.x.y.z:PORT, [::1]:PORT or unix:/PATH", value);
		return -1;
	}
	return parse_string(st, ks, value, field);
}

/* An HTTP header name (RFC 9110 token characters). */
static int
parse_header_name(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	size_t i, len = strlen(value);

	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)value[i]) && strchr("!#$%&'*+-.^_`|~", value[i]) == NULL)
			break;
	}
	if (len == 0 || len > 64 || i < len) {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[%s] %s: '%s' is not a header name",
		    ks->section, ks->key, value);
		return -1;
	}
	return parse_string(st, ks, value, field);
}

static int
parse_tls(struct parse_state *st, const struct key_spec *ks, const char *value, void *field)
{
	if (strcmp(value, "required") == 0) {
		*(int *)field = 0;
	} else if (strcmp(value, "none") == 0) {
		*(int *)field = 1;
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[hsa] tls: '%s' is not required or none", value);
		return -1;
	}
	return 0;
}

/* An RFC 4512 descr: a letter, then letters, digits and '-'. */
static int
descr_valid(const char *s)
{
	int ok = isalpha((unsigned char)*s);

	for (s++; ok && *s != '\0'; s++)
		ok = isalnum((unsigned char)*s) || *s == '-';
	return ok;
}

/* An LDAP attribute or object class name (RFC 4512 descr) or a dotted OID:
 * these names go into filters and attribute lists, never anything else. */
static int
parse_attr_name(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	if (!descr_valid(value) && !oid_valid(value)) {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[%s] %s: '%s' is not an attribute name", ks->section, ks->key, value);
		return -1;
	}
	return parse_string(st, ks, value, field);
}

static int
parse_user_map(struct parse_state *st, const struct key_spec *ks, const char *value,
    void *field)
{
	if (strncmp(value, "file:", 5) == 0) {
		if (check_absolute(st, ks, value + 5) != 0)
			return -1;
	} else if (strncmp(value, "attr:", 5) == 0) {
		/*
		 * The name is added to the person search's attribute list and
		 * looked up by name in the entry returned. A descr only: the
		 * server names attributes by their descr, so an OID asked for
		 * would never be found; options (";lang-sv") are no name.
		 */
		if (strlen(value + 5) > USER_MAP_ATTR_MAX || !descr_valid(value + 5)) {
			set_error(st, SITHS_ERR_CONFIG_VALUE,
			    "[pam] user_map: '%s' is not attr: and an attribute name (a letter, "
			    "then letters, digits and '-', at most %d)", value, USER_MAP_ATTR_MAX);
			return -1;
		}
		free(st->cfg->user_map_attr);
		if ((st->cfg->user_map_attr = strdup(value + 5)) == NULL) {
			set_error(st, SITHS_ERR_NOMEM, "out of memory");
			return -1;
		}
	} else {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[pam] user_map: '%s' is not file:/PATH or attr:ATTRIBUTE", value);
		return -1;
	}
	return parse_string(st, ks, value, field);
}

#define F(member) offsetof(struct siths_config, member)
static const struct key_spec key_table[] = {
	{ "trust", "anchors", parse_path, F(anchors), 0, 0 },
	{ "trust", "intermediates", parse_path, F(intermediates), 0, 0 },
	{ "trust", "policy_loa", parse_policy_loa, 0, 0, 0 },
	{ "trust", "min_loa", parse_int, F(min_loa), 1, 4 },
	{ "trust", "require_eku", parse_eku, F(require_eku), 0, 0 },
	{ "trust", "hsa_id_prefixes", parse_word_list, F(hsa_id_prefixes), 0, 0 },
	{ "revocation", "mode", parse_rev_mode, 0, 0, 0 },
	{ "revocation", "ocsp_url", parse_string, F(ocsp_url), 0, 0 },
	{ "revocation", "on_unreachable", parse_on_unreachable, F(rev_soft), 0, 0 },
	{ "revocation", "ocsp_nonce", parse_nonce, F(ocsp_nonce_optional), 0, 0 },
	{ "revocation", "crl_files", parse_path_list, F(crl_files), 0, 0 },
	{ "revocation", "cache_dir", parse_path, F(cache_dir), 0, 0 },
	{ "revocation", "timeout_ms", parse_int, F(rev_timeout_ms), 100, 60000 },
	{ "hsa", "uri", parse_word_list, F(hsa_uris), 0, 0 },
	{ "hsa", "base", parse_string, F(hsa_base), 0, 0 },
	{ "hsa", "bind", parse_bind, F(hsa_bind), 0, 0 },
	{ "hsa", "bind_dn", parse_string, F(hsa_bind_dn), 0, 0 },
	{ "hsa", "bind_password_file", parse_path, F(hsa_bind_password_file), 0, 0 },
	{ "hsa", "tls_ca", parse_path, F(hsa_tls_ca), 0, 0 },
	{ "hsa", "tls_cert", parse_path, F(hsa_tls_cert), 0, 0 },
	{ "hsa", "tls_key", parse_path, F(hsa_tls_key), 0, 0 },
	{ "hsa", "timeout_ms", parse_int, F(hsa_timeout_ms), 100, 60000 },
	{ "hsa", "cache_ttl", parse_int, F(hsa_cache_ttl), 0, 86400 },
	{ "hsa", "negative_ttl", parse_int, F(hsa_negative_ttl), 0, 86400 },
	{ "hsa", "stale_max", parse_int, F(hsa_stale_max), 0, 7 * 86400 },
	{ "hsa", "tls", parse_tls, F(hsa_tls_none), 0, 0 },
	{ "hsa", "pool_size", parse_int, F(hsa_pool_size), 1, 64 },
	{ "hsa", "cache_size", parse_int, F(hsa_cache_size), 0, 1000000 },
	{ "hsa", "personal_number", parse_bool, F(hsa_read_personal_number), 0, 0 },
	{ "hsa", "disk_cache_entries", parse_int, F(hsa_disk_entries), 0, 1000000 },
	{ "hsa", "disk_cache_bytes", parse_int, F(hsa_disk_bytes), 0, 1073741824 },
#define A(key, member) { "hsa.attributes", key, parse_attr_name, F(attrs.member), 0, 0 }
	A("hsa_id", hsa_id), A("given_name", given_name), A("surname", surname),
	A("full_name", full_name), A("common_name", common_name), A("mail", mail),
	A("title", title), A("hsa_title", hsa_title), A("pa_title_code", pa_title_code),
	A("system_role", system_role), A("start_date", start_date), A("end_date", end_date),
	A("personal_number", personal_number), A("org_name", org_name),
	A("unit_name", unit_name), A("org_number", org_number),
	A("municipality_code", municipality_code), A("municipality_name", municipality_name),
	A("county_code", county_code), A("county_name", county_name),
	A("org_class", org_class), A("commission_class", commission_class),
	A("commission_member", commission_member),
	A("commission_purpose", commission_purpose),
	A("commission_right", commission_right),
#undef A
	{ "card", "pkcs11_module", parse_path, F(pkcs11_module), 0, 0 },
	{ "card", "reader", parse_string, F(card_reader), 0, 0 },
	{ "card", "pin_min", parse_int, F(pin_min), 4, 64 },
	{ "card", "pin_max", parse_int, F(pin_max), 4, 64 },
	{ "card", "timeout_ms", parse_int, F(card_timeout_ms), 100, 600000 },
	{ "card", "pinpad_timeout_ms", parse_int, F(pinpad_timeout_ms), 1000, 600000 },
	{ "pam", "user_map", parse_user_map, F(user_map), 0, 0 },
	{ "pam", "allow_root", parse_bool, F(allow_root), 0, 0 },
	{ "pam", "allowed_orgs", parse_word_list, F(pam_allowed_orgs), 0, 0 },
	{ "pam", "required_role", parse_string, F(pam_required_role), 0, 0 },
	{ "pam", "min_loa", parse_int, F(pam_min_loa), 1, 4 },
	{ "pam", "on_card_removal", parse_card_removal, F(on_card_removal), 0, 0 },
	{ "service", "mode", parse_service_mode, F(service_mode), 0, 0 },
	{ "service", "socket", parse_path, F(service_socket), 0, 0 },
	{ "service", "user", parse_account, F(service_user), 0, 0 },
	{ "service", "admin_group", parse_account, F(service_admin_group), 0, 0 },
	{ "service", "timeout_ms", parse_int, F(service_timeout_ms), 100, 60000 },
	{ "service", "max_clients", parse_int, F(service_max_clients), 1, 4096 },
	{ "service", "max_clients_per_user", parse_int, F(service_max_per_uid), 1, 4096 },
	{ "authd", "listen", parse_listen, F(authd_listen), 0, 0 },
	{ "authd", "cert_header", parse_header_name, F(authd_cert_header), 0, 0 },
	{ "authd", "chain_header", parse_header_name, F(authd_chain_header), 0, 0 },
	{ "authd", "min_loa", parse_int, F(authd_min_loa), 1, 4 },
	{ "authd", "allowed_orgs", parse_word_list, F(authd_allowed_orgs), 0, 0 },
	{ "authd", "required_role", parse_string, F(authd_required_role), 0, 0 },
	{ "authd", "threads", parse_int, F(authd_threads), 1, 64 },
	{ "authd", "max_connections", parse_int, F(authd_max_connections), 1, 65536 },
};
#undef F

_Static_assert(sizeof(key_table) / sizeof(key_table[0]) <=
    sizeof(((struct parse_state *)0)->seen), "seen[] too small for key_table");

static int
handle_key(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *st = user;
	const struct key_spec *ks;
	size_t i, nkeys = sizeof(key_table) / sizeof(key_table[0]);
	int known_section = 0;

	if (st->status != 0)
		return 1;       /* already failed; inih goes on, we do not */
	for (i = 0; i < nkeys; i++) {
		ks = &key_table[i];
		if (strcmp(ks->section, section) != 0)
			continue;
		known_section = 1;
		if (strcmp(ks->key, key) != 0)
			continue;
		if (st->seen[i]) {
			set_error(st, SITHS_ERR_CONFIG_KEY,
			    "[%s] %s: given twice (or followed by an indented line)", section, key);
			return 0;
		}
		st->seen[i] = 1;
		return ks->parse(st, ks, value, (char *)st->cfg + ks->offset) == 0;
	}
	if (!known_section)
		set_error(st, SITHS_ERR_CONFIG_KEY, "unknown section [%s] (key %s)", section, key);
	else
		set_error(st, SITHS_ERR_CONFIG_KEY, "[%s] %s: unknown key", section, key);
	return 0;
}

/*
 * inih reports a malformed line but goes on parsing after it, and the
 * handler's complaint about what follows would hide the real mistake; so
 * the shape of each line is checked before inih sees it.
 */
static int
check_line_shape(struct parse_state *st, const char *line)
{
	const char *p = line, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '\r' || *p == ';' || *p == '#')
		return 0;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end != NULL && end > p + 1)
			return 0;
	} else if (strcspn(p, "=:") < strlen(p) && p[strcspn(p, "=:")] == '=' && *p != '=') {
		return 0;       /* inih also splits at ':'; we take '=' only */
	}
	set_error(st, SITHS_ERR_CONFIG_SYNTAX, "not a [section] or key = value line");
	return -1;
}

/*
 * Hand inih one line at a time from memory. Debian's inih cuts lines at
 * 200 characters and would read the rest as a new line; we refuse long
 * lines instead, and counting lines here gives every message its number.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	const char *nl;
	size_t len;

	if (st->status != 0 || *st->cursor == '\0')
		return NULL;
	st->lineno++;
	nl = strchr(st->cursor, '\n');
	len = nl != NULL ? (size_t)(nl - st->cursor) + 1 : strlen(st->cursor);
	if (num <= 1 || len > (size_t)num - 1) {
		set_error(st, SITHS_ERR_CONFIG_SYNTAX, "line longer than %d characters", num - 2);
		return NULL;
	}
	memcpy(str, st->cursor, len);
	str[len] = '\0';
	st->cursor += len;
	if (check_line_shape(st, str) != 0)
		return NULL;
	return str;
}

static void
set_defaults(struct siths_config *cfg)
{
	cfg->min_loa = 3;
	cfg->require_eku = SITHS_EKU_CLIENT_AUTH;
	cfg->rev_methods[0] = SITHS_REV_OCSP;
	cfg->rev_methods[1] = SITHS_REV_CRL;
	cfg->n_rev_methods = 2;
	cfg->rev_timeout_ms = 3000;
	cfg->hsa_bind = SITHS_BIND_NONE;
	cfg->hsa_timeout_ms = 2000;
	cfg->hsa_cache_ttl = 300;
	cfg->hsa_negative_ttl = 30;
	cfg->hsa_stale_max = 3600;
	cfg->hsa_pool_size = 4;
	cfg->hsa_cache_size = 10000;
	cfg->pin_min = 6;
	cfg->pin_max = 8;
	cfg->card_timeout_ms = 10000;
	/* a person typing on the reader, not a module answering */
	cfg->pinpad_timeout_ms = 60000;
	cfg->allow_root = 0;
	cfg->hsa_disk_entries = 10000;
	cfg->hsa_disk_bytes = 64 << 20;
	cfg->service_mode = SITHS_SERVICE_LOCAL;
	cfg->service_timeout_ms = 5000;
	cfg->service_max_clients = 256;
	cfg->service_max_per_uid = 32;
	cfg->authd_threads = 4;
	cfg->authd_max_connections = 1024;
}

static int
dup_default(char **field, const char *value)
{
	if (*field != NULL)
		return 0;
	return (*field = strdup(value)) == NULL ? -1 : 0;
}

static int
attrs_defaults(struct siths_hsa_attrs *a)
{
	const struct {
		char **field;
		const char *name;
	} names[] = {
		{ &a->hsa_id, "hsaIdentity" }, { &a->given_name, "givenName" },
		{ &a->surname, "sn" }, { &a->full_name, "fullName" },
		{ &a->common_name, "cn" }, { &a->mail, "mail" }, { &a->title, "title" },
		{ &a->hsa_title, "hsaTitle" }, { &a->pa_title_code, "paTitleCode" },
		{ &a->system_role, "hsaSystemRole" }, { &a->start_date, "startDate" },
		{ &a->end_date, "endDate" }, { &a->personal_number, "personalIdentityNumber" },
		{ &a->org_name, "o" }, { &a->unit_name, "ou" }, { &a->org_number, "orgNo" },
		{ &a->municipality_code, "municipalityCode" },
		{ &a->municipality_name, "municipalityName" },
		{ &a->county_code, "countyCode" }, { &a->county_name, "countyName" },
		{ &a->org_class, "hsaOrganization" }, { &a->commission_class, "hsaCommission" },
		{ &a->commission_member, "hsaCommissionMember" },
		{ &a->commission_purpose, "hsaCommissionPurpose" },
		{ &a->commission_right, "hsaCommissionRight" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (dup_default(names[i].field, names[i].name) != 0)
			return -1;
	}
	return 0;
}

static void
attrs_free(struct siths_hsa_attrs *a)
{
	char **f = (char **)(void *)a;
	size_t i;

	/* every member is a char *: free them as the array they are laid out as */
	for (i = 0; i < sizeof(*a) / sizeof(char *); i++)
		free(f[i]);
}

/* Defaults for strings and lists the file left out, then cross-key checks. */
static int
finish(struct parse_state *st)
{
	struct siths_config *cfg = st->cfg;

	st->lineno = 0;
	if (dup_default(&cfg->pkcs11_module, DEFAULT_PKCS11_MODULE) != 0 ||
	    dup_default(&cfg->user_map, DEFAULT_USER_MAP) != 0 ||
	    dup_default(&cfg->cache_dir, DEFAULT_CACHE_DIR) != 0 ||
	    dup_default(&cfg->hsa_base, "c=SE") != 0 ||
	    dup_default(&cfg->service_socket, DEFAULT_SERVICE_SOCKET) != 0 ||
	    dup_default(&cfg->service_user, DEFAULT_SERVICE_USER) != 0 ||
	    dup_default(&cfg->authd_cert_header, "X-SSL-Client-Cert") != 0) {
		set_error(st, SITHS_ERR_NOMEM, "out of memory");
		return -1;
	}
	if (attrs_defaults(&cfg->attrs) != 0) {
		set_error(st, SITHS_ERR_NOMEM, "out of memory");
		return -1;
	}
	if (cfg->hsa_id_prefixes.n == 0) {
		struct key_spec ks = { "trust", "hsa_id_prefixes", NULL, 0, 0, 0 };

		if (split_list(st, &ks, "SE", 0, &cfg->hsa_id_prefixes) != 0)
			return -1;
	}
	if (cfg->anchors == NULL) {
		set_error(st, SITHS_ERR_CONFIG_MISSING, "[trust] anchors: required");
		return -1;
	}
	/* personal_number = no promises that the number is never read */
	if (cfg->user_map_attr != NULL && !cfg->hsa_read_personal_number &&
	    strcasecmp(cfg->user_map_attr, cfg->attrs.personal_number) == 0) {
		set_error(st, SITHS_ERR_CONFIG_VALUE,
		    "[pam] user_map: attr:%s reads the personal identity number, which needs "
		    "[hsa] personal_number = yes", cfg->user_map_attr);
		return -1;
	}
	if (cfg->pin_min > cfg->pin_max) {
		set_error(st, SITHS_ERR_CONFIG_VALUE, "[card] pin_min %d is above pin_max %d",
		    cfg->pin_min, cfg->pin_max);
		return -1;
	}
	if (cfg->hsa_bind == SITHS_BIND_SIMPLE &&
	    (cfg->hsa_bind_dn == NULL || cfg->hsa_bind_password_file == NULL)) {
		set_error(st, SITHS_ERR_CONFIG_MISSING,
		    "[hsa] bind = simple needs bind_dn and bind_password_file");
		return -1;
	}
	if (cfg->hsa_bind == SITHS_BIND_SASL_EXTERNAL &&
	    (cfg->hsa_tls_cert == NULL || cfg->hsa_tls_key == NULL)) {
		set_error(st, SITHS_ERR_CONFIG_MISSING,
		    "[hsa] bind = sasl-external needs tls_cert and tls_key");
		return -1;
	}
	return 0;
}

int
siths_config_parse_string(struct siths_config **out, const char *text, const char *name,
    char *err, size_t errlen)
{
	struct parse_state st;
	struct siths_config *cfg = NULL;
	int r = SITHS_ERR_INTERNAL, line;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || text == NULL || name == NULL || err == NULL || errlen == 0)
		return SITHS_ERR_INVALID_ARGUMENT;
	err[0] = '\0';
	memset(&st, 0, sizeof(st));
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->path = strdup(name)) == NULL) {
		r = SITHS_ERR_NOMEM;
		goto out;
	}
	set_defaults(cfg);
	st.cfg = cfg;
	st.name = name;
	st.cursor = text;
	st.err = err;
	st.errlen = errlen;
	line = ini_parse_stream(read_line, &st, handle_key, &st);
	if (st.status == 0 && line != 0) {
		st.lineno = line;
		set_error(&st, SITHS_ERR_CONFIG_SYNTAX,
		    "not a [section] or key = value line");
	}
	if (st.status == 0)
		finish(&st);
	if (st.status != 0) {
		r = st.status;
		goto out;
	}
	/* success */
	*out = cfg;
	cfg = NULL;     /* transferred */
	r = 0;
out:
	siths_config_free(&cfg);
	return r;
}

int
siths_config_load(struct siths_config **out, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || err == NULL || errlen == 0)
		return SITHS_ERR_INVALID_ARGUMENT;
	r = siths_read_secure_file(path, SITHS_CONFIG_MAX_BYTES, &text, &len, err, errlen);
	if (r == 0)
		r = siths_config_parse_string(out, text, path, err, errlen);
	free(text);
	return r;
}

void
siths_config_free(struct siths_config **cfgp)
{
	struct siths_config *cfg;
	size_t i;

	if (cfgp == NULL || (cfg = *cfgp) == NULL)
		return;
	free(cfg->path);
	free(cfg->anchors);
	free(cfg->intermediates);
	for (i = 0; i < cfg->n_policy_loa; i++)
		free(cfg->policy_loa[i].oid);
	free(cfg->policy_loa);
	strlist_free(&cfg->hsa_id_prefixes);
	free(cfg->ocsp_url);
	strlist_free(&cfg->crl_files);
	free(cfg->cache_dir);
	strlist_free(&cfg->hsa_uris);
	free(cfg->hsa_base);
	free(cfg->hsa_bind_dn);
	free(cfg->hsa_bind_password_file);
	free(cfg->hsa_tls_ca);
	free(cfg->hsa_tls_cert);
	free(cfg->hsa_tls_key);
	free(cfg->pkcs11_module);
	free(cfg->card_reader);
	free(cfg->user_map);
	free(cfg->user_map_attr);
	free(cfg->service_socket);
	free(cfg->service_user);
	free(cfg->service_admin_group);
	free(cfg->authd_listen);
	free(cfg->authd_cert_header);
	free(cfg->authd_chain_header);
	strlist_free(&cfg->authd_allowed_orgs);
	free(cfg->authd_required_role);
	strlist_free(&cfg->pam_allowed_orgs);
	free(cfg->pam_required_role);
	attrs_free(&cfg->attrs);
	free(cfg);
	*cfgp = NULL;
}
