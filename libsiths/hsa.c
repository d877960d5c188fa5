/*
 * hsa.c - the HSA directory as the rest of libsiths sees it: the
 * directory state of a context (struct siths_hsa), finding a person by
 * HSA-id, turning the entry into a siths_identity (bounded, UTF-8 only),
 * refusing people whose employment has not started or has ended, and
 * finding their organisation above them in the tree.
 *
 * ldap.c owns the connection itself; this file decides when to open and
 * drop it and what the entries mean.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ldap.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "hsa.h"
#include "identity.h"
#include "ldapconn.h"
#include "log.h"

/* The attribute that holds the HSA-id; [hsa.attributes] will configure it. */
#define HSA_ATTR_ID "hsaIdentity"
#define HSA_CLASS_ORG "hsaOrganization"
/* Used when [hsa] base is not set. */
#define HSA_DEFAULT_BASE "c=SE"

/* Longest HSA-id looked up (the certificate layer holds ids to 31). */
#define HSA_ID_MAX 64
/* Caps on what one entry may bring: per value, per attribute, in all. */
#define HSA_VALUE_MAX 1024
#define HSA_VALUES_MAX 64
#define HSA_ENTRY_MAX (64 * 1024)
/* How many levels above a person the organisation is looked for. */
#define HSA_DEPTH_MAX 16

/*
 * The directory state of a context. One connection for now, opened on the
 * first lookup and dropped when its server goes away. A pool, per-server
 * health for failover and the cache of identities belong here later, all
 * under the same lock.
 */
struct siths_hsa {
	pthread_mutex_t lock;       /* guards everything below */
	struct siths_ldap *conn;    /* NULL when there is no open connection */
};

/* One entry being read, and how much of the budget its values have used. */
struct hsa_entry {
	LDAP *ld;
	LDAPMessage *msg;
	const char *dn;             /* for messages */
	size_t used;
};

static const char *const person_attrs[] = {
	HSA_ATTR_ID, "givenName", "sn", "fullName", "cn", "mail", "title",
	"hsaSystemRole", "startDate", "endDate", NULL
};
static const char *const org_attrs[] = {
	"objectClass", HSA_ATTR_ID, "o", "orgNo", "municipalityCode", "municipalityName", NULL
};

static const char *
hsa_base(const siths_ctx *ctx)
{
	const char *base = ctx->cfg->hsa_base;

	return base != NULL && *base != '\0' ? base : HSA_DEFAULT_BASE;
}

int
siths_hsa_init(siths_ctx *ctx)
{
	int r = SITHS_ERR_INTERNAL;
	struct siths_hsa *hsa = NULL;

	if (ctx == NULL || ctx->cfg == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (ctx->hsa != NULL)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: directory state set up twice");
	if ((r = siths_ldap_check_config(ctx)) != 0)
		goto out;
	if ((hsa = calloc(1, sizeof(*hsa))) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	if (pthread_mutex_init(&hsa->lock, NULL) != 0) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot create a mutex");
		goto out;
	}
	ctx->hsa = hsa;
	hsa = NULL; /* transferred */
	/* success */
	r = 0;
out:
	free(hsa);
	return r;
}

void
siths_hsa_free(siths_ctx *ctx)
{
	struct siths_hsa *hsa;

	if (ctx == NULL || (hsa = ctx->hsa) == NULL)
		return;
	siths_ldap_close(&hsa->conn);
	pthread_mutex_destroy(&hsa->lock);
	free(hsa);
	ctx->hsa = NULL;
}

/*
 * What can be asked for at all: PrintableString characters, as HSA-ids are,
 * and not absurdly long. The form (prefix, organisation number, Luhn) is the
 * certificate layer's concern: test and legacy ids do not follow it.
 */
static int
hsa_id_sane(const siths_ctx *ctx, const char *hsa_id)
{
	size_t i, len;
	char c;

	if (hsa_id == NULL || *hsa_id == '\0')
		return siths_fail(ctx, SITHS_ERR_HSA_ID_INVALID, "HSA-id is empty");
	if ((len = strnlen(hsa_id, HSA_ID_MAX + 1)) > HSA_ID_MAX)
		return siths_fail(ctx, SITHS_ERR_HSA_ID_INVALID,
		    "HSA-id is longer than %d characters", HSA_ID_MAX);
	for (i = 0; i < len; i++) {
		c = hsa_id[i];
		if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    strchr(" '()+,-./:=?", c) != NULL)
			continue;
		return siths_fail(ctx, SITHS_ERR_HSA_ID_INVALID,
		    "HSA-id has a character outside PrintableString at position %zu", i + 1);
	}
	return 0;
}

/*
 * The values of attr (*out NULL when absent), each checked: within the
 * caps, UTF-8 without NUL. libldap cannot tell an absent attribute from a
 * malformed entry; both read as absent.
 */
static int
entry_values(const siths_ctx *ctx, struct hsa_entry *ent, const char *attr,
    struct berval ***out)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	size_t i, n;

	*out = NULL;
	if ((v = ldap_get_values_len(ent->ld, ent->msg, attr)) == NULL)
		return 0;
	if ((n = (size_t)ldap_count_values_len(v)) > HSA_VALUES_MAX) {
		r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA entry %s: %s has %zu values (at most %d)", ent->dn, attr, n,
		    HSA_VALUES_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		ent->used += v[i]->bv_len;
		if (v[i]->bv_len > HSA_VALUE_MAX || ent->used > HSA_ENTRY_MAX) {
			r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
			    "HSA entry %s: %s is too large (%d bytes a value, %d in all)", ent->dn,
			    attr, HSA_VALUE_MAX, HSA_ENTRY_MAX);
			goto out;
		}
		if (!siths_utf8_valid(v[i]->bv_val, v[i]->bv_len)) {
			r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
			    "HSA entry %s: a value of %s is not UTF-8 text", ent->dn, attr);
			goto out;
		}
	}
	*out = v;
	v = NULL; /* transferred */
	/* success */
	r = 0;
out:
	if (v != NULL)
		ldap_value_free_len(v);
	return r;
}

/* A checked value as a C string (it holds no NUL). */
static char *
bv_strdup(const struct berval *bv)
{
	return strndup(bv->bv_val, bv->bv_len);
}

/*
 * Set *field to the first value of attr; leave it alone when attr is absent.
 * With single set, more than one value is an error: of two endDates, which
 * one holds?
 */
static int
entry_copy(const siths_ctx *ctx, struct hsa_entry *ent, const char *attr, int single,
    char **field)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	char *s = NULL;

	if ((r = entry_values(ctx, ent, attr, &v)) != 0 || v == NULL || v[0] == NULL)
		goto out;
	if (single && v[1] != NULL) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA entry %s has more than one %s",
		    ent->dn, attr);
		goto out;
	}
	if ((s = bv_strdup(v[0])) == NULL || siths_identity_set(field, s) != 0) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	/* success */
	r = 0;
out:
	free(s);
	if (v != NULL)
		ldap_value_free_len(v);
	return r;
}

static int
entry_roles(const siths_ctx *ctx, struct hsa_entry *ent, struct siths_identity *id)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	char *s = NULL;
	size_t i;

	if ((r = entry_values(ctx, ent, "hsaSystemRole", &v)) != 0 || v == NULL)
		goto out;
	for (i = 0; v[i] != NULL; i++) {
		if ((s = bv_strdup(v[i])) == NULL || siths_identity_add_role(id, s) != 0) {
			r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
			goto out;
		}
		free(s);
		s = NULL;
	}
	/* success */
	r = 0;
out:
	free(s);
	if (v != NULL)
		ldap_value_free_len(v);
	return r;
}

/*
 * The entry's own HSA-id, in the directory's spelling. The filter matched
 * it, so a server that hides the attribute still found the right entry;
 * one that returns a different id is not to be trusted.
 */
static int
entry_hsa_id(const siths_ctx *ctx, struct hsa_entry *ent, const char *hsa_id,
    struct siths_identity *id)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	const char *found = hsa_id;
	char *s = NULL;
	size_t i;

	if ((r = entry_values(ctx, ent, HSA_ATTR_ID, &v)) != 0)
		goto out;
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if (v[i]->bv_len == strlen(hsa_id) &&
		    strncasecmp(v[i]->bv_val, hsa_id, v[i]->bv_len) == 0)
			break;
	}
	if (v != NULL && v[i] == NULL) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
		    "HSA entry %s does not carry the HSA-id %s asked for", ent->dn, hsa_id);
		goto out;
	}
	if (v != NULL && (found = s = bv_strdup(v[i])) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	if (siths_identity_set(&id->hsa_id, found) != 0) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	/* success */
	r = 0;
out:
	free(s);
	if (v != NULL)
		ldap_value_free_len(v);
	return r;
}

/* The entry's DN, checked like a value and counted in its budget. */
static int
entry_dn(const siths_ctx *ctx, struct hsa_entry *ent, char **out)
{
	int r = SITHS_ERR_INTERNAL;
	char *dn = NULL;
	size_t len;

	*out = NULL;
	if ((dn = ldap_get_dn(ent->ld, ent->msg)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA: an entry without a DN");
		goto out;
	}
	if ((len = strlen(dn)) > HSA_VALUE_MAX) {
		r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA: an entry's DN is longer than %d bytes", HSA_VALUE_MAX);
		goto out;
	}
	if (!siths_utf8_valid(dn, len)) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA: an entry's DN is not UTF-8");
		goto out;
	}
	if ((*out = strdup(dn)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	ent->used += len;
	/* success */
	r = 0;
out:
	ldap_memfree(dn);
	return r;
}

static int
map_person(const siths_ctx *ctx, struct hsa_entry *ent, const char *hsa_id,
    struct siths_identity *id)
{
	int r;

	if ((r = entry_hsa_id(ctx, ent, hsa_id, id)) != 0 ||
	    (r = entry_copy(ctx, ent, "givenName", 0, &id->given_name)) != 0 ||
	    (r = entry_copy(ctx, ent, "sn", 0, &id->surname)) != 0 ||
	    (r = entry_copy(ctx, ent, "fullName", 0, &id->display_name)) != 0 ||
	    (id->display_name == NULL &&
	    (r = entry_copy(ctx, ent, "cn", 0, &id->display_name)) != 0) ||
	    (r = entry_copy(ctx, ent, "mail", 0, &id->mail)) != 0 ||
	    (r = entry_copy(ctx, ent, "title", 0, &id->title)) != 0 ||
	    (r = entry_copy(ctx, ent, "startDate", 1, &id->start_date)) != 0 ||
	    (r = entry_copy(ctx, ent, "endDate", 1, &id->end_date)) != 0)
		return r;
	return entry_roles(ctx, ent, id);
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The zone of a GeneralizedTime: Z, or +hhmm / -hhmm east of UTC. */
static int
parse_zone(const char *s, long *offset)
{
	int hh, mm;

	if (strcmp(s, "Z") == 0) {
		*offset = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 5 || digits(s + 1, 2, &hh) != 0 ||
	    digits(s + 3, 2, &mm) != 0 || hh > 23 || mm > 59)
		return -1;
	*offset = (hh * 60L + mm) * 60 * (s[0] == '-' ? -1 : 1);
	return 0;
}

/*
 * GeneralizedTime with seconds, as HSA writes it: YYYYMMDDHHMMSS, an
 * optional fraction, then Z or an offset. Anything else is refused rather
 * than guessed at.
 */
static int
parse_time(const char *s, time_t *out)
{
	struct tm tm;
	int year, mon, mday;
	long offset;
	time_t t;
	size_t i = 14;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 15 || digits(s, 4, &year) != 0 || digits(s + 4, 2, &mon) != 0 ||
	    digits(s + 6, 2, &mday) != 0 || digits(s + 8, 2, &tm.tm_hour) != 0 ||
	    digits(s + 10, 2, &tm.tm_min) != 0 || digits(s + 12, 2, &tm.tm_sec) != 0)
		return -1;
	if (s[i] == '.' || s[i] == ',') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 15)
			return -1;
	}
	if (parse_zone(s + i, &offset) != 0 || mon < 1 || mon > 12 || mday < 1 || mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	/* timegm() normalises 31 April into 1 May: such a date is not one. */
	if ((t = timegm(&tm)) == (time_t)-1 || tm.tm_mday != mday)
		return -1;
	*out = t - offset;
	return 0;
}

/* Is the person employed now? An unreadable date keeps them out. */
static int
check_active(const siths_ctx *ctx, const struct siths_identity *id, time_t now)
{
	time_t t;

	if (id->start_date != NULL) {
		if (parse_time(id->start_date, &t) != 0)
			return siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
			    "HSA entry %s: startDate %.40s is not a GeneralizedTime", id->dn,
			    id->start_date);
		if (t > now)
			return siths_fail(ctx, SITHS_ERR_HSA_INACTIVE,
			    "HSA-id %s: startDate %s is in the future", id->hsa_id, id->start_date);
	}
	if (id->end_date != NULL) {
		if (parse_time(id->end_date, &t) != 0)
			return siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
			    "HSA entry %s: endDate %.40s is not a GeneralizedTime", id->dn,
			    id->end_date);
		if (t <= now)
			return siths_fail(ctx, SITHS_ERR_HSA_INACTIVE,
			    "HSA-id %s: endDate %s has passed", id->hsa_id, id->end_date);
	}
	return 0;
}

static int
entry_is_org(const siths_ctx *ctx, struct hsa_entry *ent, int *is_org)
{
	struct berval **v = NULL;
	size_t i;
	int r;

	*is_org = 0;
	if ((r = entry_values(ctx, ent, "objectClass", &v)) != 0 || v == NULL)
		return r;
	for (i = 0; v[i] != NULL && !*is_org; i++) {
		*is_org = v[i]->bv_len == strlen(HSA_CLASS_ORG) &&
		    strncasecmp(v[i]->bv_val, HSA_CLASS_ORG, v[i]->bv_len) == 0;
	}
	ldap_value_free_len(v);
	return 0;
}

static int
map_org(const siths_ctx *ctx, struct hsa_entry *ent, struct siths_identity *id)
{
	int r;

	if ((r = entry_copy(ctx, ent, HSA_ATTR_ID, 0, &id->org_hsa_id)) != 0 ||
	    (r = entry_copy(ctx, ent, "o", 0, &id->org_name)) != 0 ||
	    (r = entry_copy(ctx, ent, "orgNo", 0, &id->org_number)) != 0 ||
	    (r = entry_copy(ctx, ent, "municipalityCode", 0, &id->municipality_code)) != 0 ||
	    (r = entry_copy(ctx, ent, "municipalityName", 0, &id->municipality_name)) != 0)
		return r;
	return 0;
}

/* Read the entry at dn; if it is an organisation, fill id's organisation. */
static int
org_at(const siths_ctx *ctx, struct siths_ldap *conn, const char *dn,
    struct siths_identity *id, int *found)
{
	int r = SITHS_ERR_INTERNAL, rc;
	LDAPMessage *res = NULL;
	struct hsa_entry ent;

	*found = 0;
	memset(&ent, 0, sizeof(ent));
	rc = siths_ldap_search(conn, dn, LDAP_SCOPE_BASE, "(objectClass=*)", org_attrs, 1, &res);
	/* A gap in the tree or an entry hidden from us: look further up. */
	if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_INSUFFICIENT_ACCESS) {
		r = 0;
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		r = siths_ldap_fail(ctx, conn, rc, 0, "organisation search");
		goto out;
	}
	ent.ld = siths_ldap_handle(conn);
	ent.dn = dn;
	if ((ent.msg = ldap_first_entry(ent.ld, res)) == NULL) {
		r = 0;
		goto out;
	}
	if ((r = entry_is_org(ctx, &ent, found)) != 0 || !*found)
		goto out;
	r = map_org(ctx, &ent, id);
out:
	ldap_msgfree(res);
	return r;
}

static int
dn_length(LDAPDN dn)
{
	int n = 0;

	while (dn != NULL && dn[n] != NULL)
		n++;
	return n;
}

/*
 * The organisation is the nearest entry above the person that is an
 * hsaOrganization, at [hsa] base at the highest. None is not an error.
 */
static int
find_org(const siths_ctx *ctx, struct siths_ldap *conn, struct siths_identity *id)
{
	int r = SITHS_ERR_INTERNAL, i, n, top, found = 0;
	LDAPDN dn = NULL, base = NULL;
	char *parent = NULL;

	if (ldap_str2dn(id->dn, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA: cannot parse the DN %s", id->dn);
		goto out;
	}
	if (ldap_str2dn(hsa_base(ctx), &base, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
		r = siths_fail(ctx, SITHS_ERR_CONFIG_VALUE, "[hsa] base %s is not a DN",
		    hsa_base(ctx));
		goto out;
	}
	/* The subtree search put the entry under base; never ask the root DSE. */
	n = dn_length(dn);
	top = n - dn_length(base);
	if (top >= n)
		top = n - 1;
	for (i = 1; i <= top && i <= HSA_DEPTH_MAX && !found; i++) {
		ldap_memfree(parent);
		parent = NULL;
		if (ldap_dn2str(&dn[i], &parent, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
			r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
			goto out;
		}
		if ((r = org_at(ctx, conn, parent, id, &found)) != 0)
			goto out;
	}
	if (!found)
		siths_debug(ctx, "HSA: no %s above %s", HSA_CLASS_ORG, id->dn);
	/* success */
	r = 0;
out:
	ldap_memfree(parent);
	ldap_dnfree(dn);
	ldap_dnfree(base);
	return r;
}

/* Exactly one entry, or why not. */
static int
one_entry(const siths_ctx *ctx, struct siths_ldap *conn, LDAPMessage *res, int rc,
    const char *hsa_id, LDAPMessage **out)
{
	LDAP *ld = siths_ldap_handle(conn);
	LDAPMessage *e1, *e2 = NULL;
	char *dn1 = NULL, *dn2 = NULL;
	int n, r;

	*out = NULL;
	n = res != NULL ? ldap_count_entries(ld, res) : 0;
	e1 = n > 0 ? ldap_first_entry(ld, res) : NULL;
	if (n <= 0 && rc != LDAP_SIZELIMIT_EXCEEDED)
		return siths_fail(ctx, SITHS_ERR_HSA_NOT_FOUND,
		    "HSA-id %s not found under %s on %s", hsa_id, hsa_base(ctx),
		    siths_ldap_uri(conn));
	if (n == 1 && rc != LDAP_SIZELIMIT_EXCEEDED) {
		*out = e1;
		return 0;
	}
	if (e1 != NULL) {
		dn1 = ldap_get_dn(ld, e1);
		if ((e2 = ldap_next_entry(ld, e1)) != NULL)
			dn2 = ldap_get_dn(ld, e2);
	}
	r = siths_fail(ctx, SITHS_ERR_HSA_AMBIGUOUS,
	    "HSA-id %s matches more than one entry on %s: %.200s and %.200s", hsa_id,
	    siths_ldap_uri(conn), dn1 != NULL ? dn1 : "(not sent)",
	    dn2 != NULL ? dn2 : "(not sent)");
	ldap_memfree(dn1);
	ldap_memfree(dn2);
	return r;
}

/* "(attr=value)"; value is already escaped. */
static char *
make_filter(const char *attr, const char *value)
{
	size_t len = strlen(attr) + strlen(value) + 4;
	char *f;

	if ((f = malloc(len)) != NULL)
		snprintf(f, len, "(%s=%s)", attr, value);
	return f;
}

/* The whole lookup of hsa_id over one connection. */
static int
query(const siths_ctx *ctx, struct siths_ldap *conn, const char *hsa_id,
    struct siths_identity **out)
{
	int r = SITHS_ERR_INTERNAL, rc;
	char *esc = NULL, *filter = NULL;
	LDAPMessage *res = NULL;
	struct hsa_entry ent;
	struct siths_identity *id = NULL;

	*out = NULL;
	memset(&ent, 0, sizeof(ent));
	if ((r = siths_ldap_escape(hsa_id, strlen(hsa_id), &esc)) != 0 ||
	    (filter = make_filter(HSA_ATTR_ID, esc)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	rc = siths_ldap_search(conn, hsa_base(ctx), LDAP_SCOPE_SUBTREE, filter, person_attrs, 2,
	    &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		r = siths_ldap_fail(ctx, conn, rc, 0, "search");
		goto out;
	}
	if ((r = one_entry(ctx, conn, res, rc, hsa_id, &ent.msg)) != 0)
		goto out;
	if ((id = siths_identity_new()) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	ent.ld = siths_ldap_handle(conn);
	if ((r = entry_dn(ctx, &ent, &id->dn)) != 0)
		goto out;
	ent.dn = id->dn;
	if ((r = map_person(ctx, &ent, hsa_id, id)) != 0 ||
	    (r = check_active(ctx, id, time(NULL))) != 0 ||
	    (r = find_org(ctx, conn, id)) != 0)
		goto out;
	id->from_directory = 1;
	*out = id;
	id = NULL; /* transferred */
	/* success */
	r = 0;
out:
	siths_identity_free(&id);
	free(filter);
	free(esc);
	ldap_msgfree(res);
	return r;
}

/* Open a connection to the first configured server that answers. */
static int
connect_any(const siths_ctx *ctx, struct siths_hsa *hsa)
{
	const struct siths_strlist *uris = &ctx->cfg->hsa_uris;
	char last[SITHS_ERRMSG_MAX];
	int r = SITHS_ERR_HSA_UNREACHABLE;
	size_t i;

	for (i = 0; i < uris->n; i++) {
		if ((r = siths_ldap_open(ctx, uris->v[i], &hsa->conn)) == 0)
			return 0;
		/* Only an absent server is worth passing over: a refused bind or
		 * a bad local setting would fail on the next one too. */
		if (r != SITHS_ERR_HSA_UNREACHABLE && r != SITHS_ERR_HSA_TIMEOUT)
			return r;
		if (i + 1 < uris->n)
			siths_warn(ctx, "%s; trying %s", siths_ctx_errmsg(ctx), uris->v[i + 1]);
	}
	if (uris->n > 1) {
		snprintf(last, sizeof(last), "%s", siths_ctx_errmsg(ctx));
		r = siths_fail(ctx, r, "no HSA server answered (%zu tried); last: %s", uris->n,
		    last);
	}
	return r;
}

int
siths_hsa_lookup(siths_ctx *ctx, const char *hsa_id, struct siths_identity **out)
{
	int r = SITHS_ERR_INTERNAL, attempt, fresh;
	struct siths_hsa *hsa;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if ((r = hsa_id_sane(ctx, hsa_id)) != 0)
		return r;
	if (ctx->cfg == NULL || (hsa = ctx->hsa) == NULL)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: the context is not loaded");
	if (ctx->cfg->hsa_uris.n == 0)
		return siths_fail(ctx, SITHS_ERR_CONFIG_MISSING, "%s: [hsa] uri is not set",
		    ctx->cfg->path != NULL ? ctx->cfg->path : "siths.conf");
	if (pthread_mutex_lock(&hsa->lock) != 0)
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot take the lock");
	for (attempt = 0; attempt < 2; attempt++) {
		if ((fresh = hsa->conn == NULL) && (r = connect_any(ctx, hsa)) != 0)
			break;
		r = query(ctx, hsa->conn, hsa_id, out);
		if (r == SITHS_ERR_HSA_UNREACHABLE || r == SITHS_ERR_HSA_TIMEOUT)
			siths_ldap_close(&hsa->conn);
		/* A connection kept from an earlier call may have been closed by
		 * the server since (idle timeout, restart): one fresh try. */
		if (r != SITHS_ERR_HSA_UNREACHABLE || fresh)
			break;
		siths_info(ctx, "HSA: connection lost, reconnecting");
	}
	/* Which server gave the answer, found or not, for whoever reads the logs. */
	if (hsa->conn != NULL)
		siths_info(ctx, "HSA: %s answered for %s: %s", siths_ldap_uri(hsa->conn), hsa_id,
		    r == 0 ? (*out)->dn : siths_status_name(r));
	pthread_mutex_unlock(&hsa->lock);
	return r;
}

int
siths_hsa_resolve(siths_ctx *ctx, const char *hsa_id, siths_identity **out)
{
	return siths_hsa_lookup(ctx, hsa_id, out);
}
