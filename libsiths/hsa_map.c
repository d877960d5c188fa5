/*
 * hsa_map.c - what HSA entries mean: a person's, an organisation's and a
 * commission's attributes copied into a siths_identity under the names of
 * [hsa.attributes], every value bounded and checked as UTF-8 text; the
 * unit path from the person's DN; and whether a person is employed at a
 * given time (startDate, endDate).
 *
 * Entries are untrusted input. The caps: 64 KiB for all a server sends for
 * one entry, 1 KiB a value, 64 values an attribute. Anything over them is
 * refused with SITHS_ERR_HSA_ENTRY_TOO_LARGE, never cut short: a role list
 * cut at an arbitrary place would give different answers from server to
 * server, and an attacker who can add values could push out the ones that
 * matter.
 */
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

/* Caps on what one entry may bring: in all, per value, per attribute. */
#define MAP_ENTRY_MAX (64 * 1024)
#define MAP_VALUE_MAX 1024
#define MAP_VALUES_MAX 64

static const struct siths_hsa_attrs *
attrs_of(const siths_ctx *ctx)
{
	return &ctx->cfg->attrs;
}

static int
nomem(const siths_ctx *ctx)
{
	return siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
}

int
siths_hsa_entry_open(const siths_ctx *ctx, LDAP *ld, LDAPMessage *msg,
    struct siths_hsa_entry *ent)
{
	int r = SITHS_ERR_INTERNAL;
	BerElement *ber = NULL;
	struct berval dn = { 0, NULL };
	ber_len_t left = 0;

	memset(ent, 0, sizeof(*ent));
	ent->ld = ld;
	ent->msg = msg;
	if (ldap_get_dn_ber(ld, msg, &ber, &dn) != LDAP_SUCCESS || dn.bv_val == NULL) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA: an entry without a DN");
		goto out;
	}
	if (dn.bv_len > MAP_VALUE_MAX) {
		r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA: an entry's DN is longer than %d bytes", MAP_VALUE_MAX);
		goto out;
	}
	if (!siths_utf8_valid(dn.bv_val, dn.bv_len)) {
		r = siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL, "HSA: an entry's DN is not UTF-8");
		goto out;
	}
	if ((ent->dn = strndup(dn.bv_val, dn.bv_len)) == NULL) {
		r = nomem(ctx);
		goto out;
	}
	/* What follows the DN is the attributes as sent, whichever they are. */
	if (ber_get_option(ber, LBER_OPT_REMAINING_BYTES, &left) != LBER_OPT_SUCCESS ||
	    left > MAP_ENTRY_MAX) {
		r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA entry %s is larger than %d bytes", ent->dn, MAP_ENTRY_MAX);
		goto out;
	}
	/* success */
	r = 0;
out:
	if (ber != NULL)
		ber_free(ber, 0);
	if (r != 0)
		siths_hsa_entry_clear(ent);
	return r;
}

void
siths_hsa_entry_clear(struct siths_hsa_entry *ent)
{
	free(ent->dn);
	memset(ent, 0, sizeof(*ent));
}

/*
 * The values of attr (*out NULL when absent), each checked: within the
 * caps, UTF-8 without NUL. libldap cannot tell an absent attribute from a
 * malformed entry; both read as absent.
 */
static int
entry_values(const siths_ctx *ctx, struct siths_hsa_entry *ent, const char *attr,
    struct berval ***out)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	size_t i, n;

	*out = NULL;
	if ((v = ldap_get_values_len(ent->ld, ent->msg, attr)) == NULL)
		return 0;
	if ((n = (size_t)ldap_count_values_len(v)) > MAP_VALUES_MAX) {
		r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA entry %s: %s has %zu values (at most %d)", ent->dn, attr, n,
		    MAP_VALUES_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (v[i]->bv_len > MAP_VALUE_MAX) {
			r = siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
			    "HSA entry %s: a value of %s is longer than %d bytes", ent->dn, attr,
			    MAP_VALUE_MAX);
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
entry_copy(const siths_ctx *ctx, struct siths_hsa_entry *ent, const char *attr, int single,
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
		r = nomem(ctx);
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

/* Every value of attr, through add (a list with its own cap). */
static int
entry_list(const siths_ctx *ctx, struct siths_hsa_entry *ent, const char *attr,
    int (*add)(void *, const char *), void *list)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	char *s = NULL;
	size_t i;

	if ((r = entry_values(ctx, ent, attr, &v)) != 0 || v == NULL)
		goto out;
	for (i = 0; v[i] != NULL; i++) {
		if ((s = bv_strdup(v[i])) == NULL) {
			r = nomem(ctx);
			goto out;
		}
		if ((r = add(list, s)) != 0) {
			r = r == SITHS_ERR_NOMEM ? nomem(ctx) : siths_fail(ctx, r,
			    "HSA entry %s: too many values of %s", ent->dn, attr);
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

static int
add_role(void *id, const char *role)
{
	return siths_identity_add_role(id, role);
}

static int
add_right(void *commission, const char *right)
{
	return siths_commission_add_right(commission, right);
}

/*
 * The entry's own HSA-id, in the directory's spelling. The filter matched
 * it, so a server that hides the attribute still found the right entry;
 * one that returns a different id is not to be trusted.
 */
static int
entry_hsa_id(const siths_ctx *ctx, struct siths_hsa_entry *ent, const char *hsa_id,
    struct siths_identity *id)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	const char *found = hsa_id;
	char *s = NULL;
	size_t i;

	if ((r = entry_values(ctx, ent, attrs_of(ctx)->hsa_id, &v)) != 0)
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
	if ((v != NULL && (found = s = bv_strdup(v[i])) == NULL) ||
	    siths_identity_set(&id->hsa_id, found) != 0 ||
	    siths_identity_set(&id->dn, ent->dn) != 0) {
		r = nomem(ctx);
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

int
siths_hsa_entry_has_class(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    const char *name, int *yes)
{
	struct berval **v = NULL;
	size_t i;
	int r;

	*yes = 0;
	if ((r = entry_values(ctx, ent, "objectClass", &v)) != 0 || v == NULL)
		return r;
	for (i = 0; v[i] != NULL && !*yes; i++) {
		*yes = v[i]->bv_len == strlen(name) &&
		    strncasecmp(v[i]->bv_val, name, v[i]->bv_len) == 0;
	}
	ldap_value_free_len(v);
	return 0;
}

/*
 * [pam] user_map = attr:NAME: NAME's value, kept only when there is
 * exactly one, and the number of values. Zero or several do not fail the
 * lookup: they refuse a login, which is the mapping's to say.
 */
static int
entry_map_login(const siths_ctx *ctx, struct siths_hsa_entry *ent, const char *attr,
    struct siths_identity *id)
{
	int r = SITHS_ERR_INTERNAL;
	struct berval **v = NULL;
	char *s = NULL;

	if ((r = entry_values(ctx, ent, attr, &v)) != 0 || v == NULL)
		goto out;
	id->map_login_values = (size_t)ldap_count_values_len(v);
	if (id->map_login_values == 1 &&
	    ((s = bv_strdup(v[0])) == NULL || siths_identity_set(&id->map_login, s) != 0)) {
		r = nomem(ctx);
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

int
siths_hsa_map_person(const siths_ctx *ctx, struct siths_hsa_entry *ent, const char *hsa_id,
    struct siths_identity *id)
{
	const struct siths_hsa_attrs *a = attrs_of(ctx);
	int r;

	if ((r = entry_hsa_id(ctx, ent, hsa_id, id)) != 0 ||
	    (r = entry_copy(ctx, ent, a->given_name, 0, &id->given_name)) != 0 ||
	    (r = entry_copy(ctx, ent, a->surname, 0, &id->surname)) != 0 ||
	    (r = entry_copy(ctx, ent, a->full_name, 0, &id->display_name)) != 0 ||
	    (id->display_name == NULL &&
	    (r = entry_copy(ctx, ent, a->common_name, 0, &id->display_name)) != 0) ||
	    (r = entry_copy(ctx, ent, a->mail, 0, &id->mail)) != 0 ||
	    (r = entry_copy(ctx, ent, a->title, 0, &id->title)) != 0 ||
	    (r = entry_copy(ctx, ent, a->hsa_title, 0, &id->hsa_title)) != 0 ||
	    (r = entry_copy(ctx, ent, a->pa_title_code, 0, &id->pa_title_code)) != 0 ||
	    (r = entry_copy(ctx, ent, a->start_date, 1, &id->start_date)) != 0 ||
	    (r = entry_copy(ctx, ent, a->end_date, 1, &id->end_date)) != 0)
		return r;
	/* Personal data: never asked for unless configured, never kept otherwise. */
	if (ctx->cfg->hsa_read_personal_number &&
	    (r = entry_copy(ctx, ent, a->personal_number, 1, &id->personal_number)) != 0)
		return r;
	if (ctx->cfg->user_map_attr != NULL &&
	    (r = entry_map_login(ctx, ent, ctx->cfg->user_map_attr, id)) != 0)
		return r;
	return entry_list(ctx, ent, a->system_role, add_role, id);
}

int
siths_hsa_map_org(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    struct siths_identity *id)
{
	const struct siths_hsa_attrs *a = attrs_of(ctx);
	int r;

	if ((r = entry_copy(ctx, ent, a->hsa_id, 0, &id->org_hsa_id)) != 0 ||
	    (r = entry_copy(ctx, ent, a->org_name, 0, &id->org_name)) != 0 ||
	    (r = entry_copy(ctx, ent, a->org_number, 0, &id->org_number)) != 0 ||
	    (r = entry_copy(ctx, ent, a->municipality_code, 0, &id->municipality_code)) != 0 ||
	    (r = entry_copy(ctx, ent, a->municipality_name, 0, &id->municipality_name)) != 0 ||
	    (r = entry_copy(ctx, ent, a->county_code, 0, &id->county_code)) != 0 ||
	    (r = entry_copy(ctx, ent, a->county_name, 0, &id->county_name)) != 0)
		return r;
	return 0;
}

int
siths_hsa_map_commission(const siths_ctx *ctx, struct siths_hsa_entry *ent,
    struct siths_identity *id)
{
	const struct siths_hsa_attrs *a = attrs_of(ctx);
	struct siths_commission *c;
	int r;

	if ((c = siths_identity_add_commission(id)) == NULL)
		return siths_fail(ctx, SITHS_ERR_HSA_ENTRY_TOO_LARGE,
		    "HSA: %s is a member of too many commissions", id->hsa_id);
	if ((r = entry_copy(ctx, ent, a->hsa_id, 0, &c->hsa_id)) != 0 ||
	    (r = entry_copy(ctx, ent, a->commission_purpose, 0, &c->purpose)) != 0)
		return r;
	return entry_list(ctx, ent, a->commission_right, add_right, c);
}

/* The value of the RDN's unit_name AVA as text, or NULL. */
static const struct berval *
rdn_unit(LDAPRDN rdn, const char *unit_name)
{
	size_t i;

	for (i = 0; rdn[i] != NULL; i++) {
		if ((rdn[i]->la_flags & LDAP_AVA_BINARY) == 0 &&
		    rdn[i]->la_attr.bv_len == strlen(unit_name) &&
		    strncasecmp(rdn[i]->la_attr.bv_val, unit_name, rdn[i]->la_attr.bv_len) == 0)
			return &rdn[i]->la_value;
	}
	return NULL;
}

/*
 * The RDNs say it without another search: an entry's DN names the units
 * it sits in, and the search already placed the person under [hsa] base.
 */
int
siths_hsa_map_units(const siths_ctx *ctx, LDAPDN dn, int from, int to,
    struct siths_identity *id)
{
	const struct berval *v;
	char *s = NULL;
	int i, r = 0;

	for (i = from; i < to && dn[i] != NULL && r == 0; i++) {
		if ((v = rdn_unit(dn[i], attrs_of(ctx)->unit_name)) == NULL)
			continue;
		if (v->bv_len > MAP_VALUE_MAX || !siths_utf8_valid(v->bv_val, v->bv_len))
			return siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
			    "HSA entry %s: a unit name in the DN is not UTF-8 text", id->dn);
		if ((s = bv_strdup(v)) == NULL)
			return nomem(ctx);
		if ((r = siths_identity_add_unit(id, s)) != 0)
			r = r == SITHS_ERR_NOMEM ? nomem(ctx) : siths_fail(ctx, r,
			    "HSA entry %s: too many units above it", id->dn);
		free(s);
	}
	return r;
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

int
siths_hsa_parse_time(const char *s, time_t *out)
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

int
siths_hsa_check_active(const siths_ctx *ctx, const struct siths_identity *id, time_t now)
{
	time_t t;

	if (id->start_date != NULL) {
		if (siths_hsa_parse_time(id->start_date, &t) != 0)
			return siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
			    "HSA entry %s: startDate %.40s is not a GeneralizedTime", id->dn,
			    id->start_date);
		if (t > now)
			return siths_fail(ctx, SITHS_ERR_HSA_INACTIVE,
			    "HSA-id %s: startDate %s is in the future", id->hsa_id, id->start_date);
	}
	if (id->end_date != NULL) {
		if (siths_hsa_parse_time(id->end_date, &t) != 0)
			return siths_fail(ctx, SITHS_ERR_HSA_PROTOCOL,
			    "HSA entry %s: endDate %.40s is not a GeneralizedTime", id->dn,
			    id->end_date);
		if (t <= now)
			return siths_fail(ctx, SITHS_ERR_HSA_INACTIVE,
			    "HSA-id %s: endDate %s has passed", id->hsa_id, id->end_date);
	}
	return 0;
}
