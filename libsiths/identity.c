/*
 * identity.c - siths_identity: building it inside the library, reading it
 * from outside, and its JSON form.
 */
#include <stddef.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <jansson.h>

#include "identity.h"
#include "identity_wire.h"
#include "revocation.h"
#include "siths.h"

/* More roles than this in one entry is not a person but a problem. */
#define SITHS_MAX_ROLES 64
/* Certificates carry one or two policies; a long list is an attack. */
#define SITHS_MAX_POLICIES 16
#define SITHS_MAX_UNITS 16
#define SITHS_MAX_COMMISSIONS 64
#define SITHS_MAX_RIGHTS 64

struct siths_identity *
siths_identity_new(void)
{
	return calloc(1, sizeof(struct siths_identity));
}

int
siths_identity_set(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return SITHS_ERR_NOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Append a copy of value to a bounded list of strings. */
static int
list_add(char ***list, size_t *n, size_t max, const char *value, int too_many)
{
	char **v;

	if (*n >= max)
		return too_many;
	if ((v = reallocarray(*list, *n + 1, sizeof(*v))) == NULL)
		return SITHS_ERR_NOMEM;
	*list = v;
	if ((v[*n] = strdup(value)) == NULL)
		return SITHS_ERR_NOMEM;
	(*n)++;
	return 0;
}

static void
list_free(char ***list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

int
siths_identity_add_role(struct siths_identity *id, const char *role)
{
	return list_add(&id->roles, &id->n_roles, SITHS_MAX_ROLES, role,
	    SITHS_ERR_HSA_ENTRY_TOO_LARGE);
}

int
siths_identity_add_unit(struct siths_identity *id, const char *unit)
{
	return list_add(&id->units, &id->n_units, SITHS_MAX_UNITS, unit,
	    SITHS_ERR_HSA_ENTRY_TOO_LARGE);
}

struct siths_commission *
siths_identity_add_commission(struct siths_identity *id)
{
	struct siths_commission *v;

	if (id->n_commissions >= SITHS_MAX_COMMISSIONS)
		return NULL;
	v = reallocarray(id->commissions, id->n_commissions + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	id->commissions = v;
	memset(&v[id->n_commissions], 0, sizeof(*v));
	return &v[id->n_commissions++];
}

int
siths_commission_add_right(struct siths_commission *c, const char *right)
{
	return list_add(&c->rights, &c->n_rights, SITHS_MAX_RIGHTS, right,
	    SITHS_ERR_HSA_ENTRY_TOO_LARGE);
}

static void
commissions_free(struct siths_identity *id)
{
	size_t i;

	for (i = 0; i < id->n_commissions; i++) {
		free(id->commissions[i].hsa_id);
		free(id->commissions[i].purpose);
		list_free(&id->commissions[i].rights, &id->commissions[i].n_rights);
	}
	free(id->commissions);
	id->commissions = NULL;
	id->n_commissions = 0;
}

static int
commissions_copy(struct siths_identity *dst, const struct siths_identity *src)
{
	struct siths_commission *c;
	size_t i, k;

	for (i = 0; i < src->n_commissions; i++) {
		if ((c = siths_identity_add_commission(dst)) == NULL ||
		    siths_identity_set(&c->hsa_id, src->commissions[i].hsa_id) != 0 ||
		    siths_identity_set(&c->purpose, src->commissions[i].purpose) != 0)
			return SITHS_ERR_NOMEM;
		for (k = 0; k < src->commissions[i].n_rights; k++) {
			if (siths_commission_add_right(c, src->commissions[i].rights[k]) != 0)
				return SITHS_ERR_NOMEM;
		}
	}
	return 0;
}

int
siths_identity_add_policy(struct siths_identity *id, const char *oid)
{
	return list_add(&id->policies, &id->n_policies, SITHS_MAX_POLICIES, oid,
	    SITHS_ERR_CERT_PARSE);
}

/* The string fields, in one list so that copying, freeing and the wire form miss none. */
#define FIELD(name) { #name, offsetof(struct siths_identity, name) }
static const struct {
	const char *name;
	size_t offset;
} string_fields[] = {
	FIELD(hsa_id), FIELD(cert_sha256), FIELD(cert_subject), FIELD(cert_issuer),
	FIELD(cert_not_after), FIELD(given_name), FIELD(surname), FIELD(display_name),
	FIELD(org_name), FIELD(dn), FIELD(mail), FIELD(title), FIELD(org_hsa_id),
	FIELD(org_number), FIELD(municipality_code), FIELD(municipality_name),
	FIELD(start_date), FIELD(end_date), FIELD(hsa_title), FIELD(pa_title_code),
	FIELD(personal_number), FIELD(county_code), FIELD(county_name), FIELD(map_login),
	FIELD(svc_login), FIELD(svc_map_message),
};
#undef FIELD
#define N_STRING_FIELDS (sizeof(string_fields) / sizeof(string_fields[0]))

size_t
siths_identity_field_count(void)
{
	return N_STRING_FIELDS;
}

const char *
siths_identity_field_name(size_t i)
{
	return i < N_STRING_FIELDS ? string_fields[i].name : NULL;
}

static char **
field_at(struct siths_identity *id, size_t i)
{
	return (char **)(void *)((char *)id + string_fields[i].offset);
}

char **
siths_identity_field(struct siths_identity *id, size_t i)
{
	return i < N_STRING_FIELDS ? field_at(id, i) : NULL;
}

static const char *
field_value(const struct siths_identity *id, size_t i)
{
	return *(char *const *)(const void *)((const char *)id + string_fields[i].offset);
}

const char *
siths_identity_field_value(const struct siths_identity *id, size_t i)
{
	return i < N_STRING_FIELDS ? field_value(id, i) : NULL;
}

struct siths_identity *
siths_identity_dup(const struct siths_identity *id)
{
	struct siths_identity *copy;
	size_t i;

	if ((copy = siths_identity_new()) == NULL)
		return NULL;
	copy->loa = id->loa;
	copy->rev_source = id->rev_source;
	copy->rev_this_update = id->rev_this_update;
	copy->rev_next_update = id->rev_next_update;
	copy->map_login_values = id->map_login_values;
	copy->from_directory = id->from_directory;
	copy->fetched = id->fetched;
	copy->stale = id->stale;
	copy->svc_mapped = id->svc_mapped;
	copy->svc_map_status = id->svc_map_status;
	for (i = 0; i < N_STRING_FIELDS; i++) {
		if (siths_identity_set(field_at(copy, i), field_value(id, i)) != 0)
			goto fail;
	}
	for (i = 0; i < id->n_roles; i++) {
		if (siths_identity_add_role(copy, id->roles[i]) != 0)
			goto fail;
	}
	for (i = 0; i < id->n_policies; i++) {
		if (siths_identity_add_policy(copy, id->policies[i]) != 0)
			goto fail;
	}
	for (i = 0; i < id->n_units; i++) {
		if (siths_identity_add_unit(copy, id->units[i]) != 0)
			goto fail;
	}
	if (commissions_copy(copy, id) != 0)
		goto fail;
	return copy;
fail:
	siths_identity_free(&copy);
	return NULL;
}

int
siths_identity_merge_cert(struct siths_identity *dir, const struct siths_identity *cert)
{
	size_t i;

	if (siths_identity_set(&dir->cert_sha256, cert->cert_sha256) != 0 ||
	    siths_identity_set(&dir->cert_subject, cert->cert_subject) != 0 ||
	    siths_identity_set(&dir->cert_issuer, cert->cert_issuer) != 0 ||
	    siths_identity_set(&dir->cert_not_after, cert->cert_not_after) != 0)
		return SITHS_ERR_NOMEM;
	dir->loa = cert->loa;
	list_free(&dir->policies, &dir->n_policies);
	for (i = 0; i < cert->n_policies; i++) {
		if (siths_identity_add_policy(dir, cert->policies[i]) != 0)
			return SITHS_ERR_NOMEM;
	}
	dir->rev_source = cert->rev_source;
	dir->rev_this_update = cert->rev_this_update;
	dir->rev_next_update = cert->rev_next_update;
	return 0;
}

void
siths_identity_free(siths_identity **idp)
{
	siths_identity *id;
	size_t i;

	if (idp == NULL || (id = *idp) == NULL)
		return;
	for (i = 0; i < N_STRING_FIELDS; i++)
		free(*field_at(id, i));
	list_free(&id->roles, &id->n_roles);
	list_free(&id->policies, &id->n_policies);
	list_free(&id->units, &id->n_units);
	commissions_free(id);
	free(id);
	*idp = NULL;
}

#define GETTER(name, field) \
	const char *siths_identity_##name(const siths_identity *id) \
	{ \
		return id != NULL ? id->field : NULL; \
	}
GETTER(hsa_id, hsa_id)
GETTER(given_name, given_name)
GETTER(surname, surname)
GETTER(display_name, display_name)
GETTER(mail, mail)
GETTER(title, title)
GETTER(org_hsa_id, org_hsa_id)
GETTER(org_name, org_name)
GETTER(org_number, org_number)
GETTER(municipality_code, municipality_code)
GETTER(municipality_name, municipality_name)
GETTER(dn, dn)
GETTER(cert_sha256, cert_sha256)
GETTER(hsa_title, hsa_title)
GETTER(pa_title_code, pa_title_code)
GETTER(personal_number, personal_number)
GETTER(county_code, county_code)
GETTER(county_name, county_name)
#undef GETTER

int
siths_identity_loa(const siths_identity *id)
{
	return id != NULL ? id->loa : 0;
}

const char *
siths_identity_revocation_source(const siths_identity *id)
{
	static const char *const names[] = {
		[SITHS_REV_SOURCE_NONE] = "none", [SITHS_REV_SOURCE_OCSP] = "ocsp",
		[SITHS_REV_SOURCE_CRL] = "crl", [SITHS_REV_SOURCE_CACHE] = "cache",
		[SITHS_REV_SOURCE_SOFT] = "soft",
	};

	if (id == NULL || id->rev_source < 0 ||
	    (size_t)id->rev_source >= sizeof(names) / sizeof(names[0]))
		return "none";
	return names[id->rev_source];
}

long
siths_identity_revocation_age(const siths_identity *id)
{
	time_t now = time(NULL);

	if (id == NULL || id->rev_this_update == 0)
		return -1;
	return now > id->rev_this_update ? (long)(now - id->rev_this_update) : 0;
}

int
siths_identity_stale(const siths_identity *id)
{
	return id != NULL && id->stale;
}

size_t
siths_identity_unit_count(const siths_identity *id)
{
	return id != NULL ? id->n_units : 0;
}

const char *
siths_identity_unit(const siths_identity *id, size_t i)
{
	return id != NULL && i < id->n_units ? id->units[i] : NULL;
}

size_t
siths_identity_commission_count(const siths_identity *id)
{
	return id != NULL ? id->n_commissions : 0;
}

const char *
siths_identity_commission_hsa_id(const siths_identity *id, size_t i)
{
	return id != NULL && i < id->n_commissions ? id->commissions[i].hsa_id : NULL;
}

const char *
siths_identity_commission_purpose(const siths_identity *id, size_t i)
{
	return id != NULL && i < id->n_commissions ? id->commissions[i].purpose : NULL;
}

size_t
siths_identity_commission_right_count(const siths_identity *id, size_t i)
{
	return id != NULL && i < id->n_commissions ? id->commissions[i].n_rights : 0;
}

const char *
siths_identity_commission_right(const siths_identity *id, size_t i, size_t k)
{
	if (id == NULL || i >= id->n_commissions || k >= id->commissions[i].n_rights)
		return NULL;
	return id->commissions[i].rights[k];
}

size_t
siths_identity_role_count(const siths_identity *id)
{
	return id != NULL ? id->n_roles : 0;
}

const char *
siths_identity_role(const siths_identity *id, size_t i)
{
	return id != NULL && i < id->n_roles ? id->roles[i] : NULL;
}

/* Set key to value, or leave it out when value is NULL. */
static int
json_put(json_t *obj, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	return json_object_set_new(obj, key, json_string(value));
}

json_t *
siths_json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
json_commissions(const siths_identity *id)
{
	json_t *a = json_array(), *o;
	const struct siths_commission *c;
	size_t i;

	for (i = 0; a != NULL && i < id->n_commissions; i++) {
		c = &id->commissions[i];
		o = json_object();
		if (o == NULL || json_put(o, "hsa_id", c->hsa_id) != 0 ||
		    json_put(o, "purpose", c->purpose) != 0 ||
		    json_object_set_new(o, "rights",
		    siths_json_strings(c->rights, c->n_rights)) != 0 ||
		    json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
json_revocation(const siths_identity *id)
{
	json_t *o = json_object();
	char when[32];
	struct tm tm;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "source", json_string(siths_identity_revocation_source(id)));
	if (id->rev_this_update != 0)
		json_object_set_new(o, "age_seconds",
		    json_integer(siths_identity_revocation_age(id)));
	if (id->rev_next_update != 0 && gmtime_r(&id->rev_next_update, &tm) != NULL) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(o, "next_update", json_string(when));
	}
	return o;
}

static json_t *
json_section(const siths_identity *id, int org)
{
	json_t *o = json_object();
	int r = 0;

	if (o == NULL)
		return NULL;
	if (org) {
		r |= json_put(o, "hsa_id", id->org_hsa_id);
		r |= json_put(o, "name", id->org_name);
		r |= json_put(o, "org_number", id->org_number);
		r |= json_put(o, "municipality_code", id->municipality_code);
		r |= json_put(o, "municipality_name", id->municipality_name);
		r |= json_put(o, "county_code", id->county_code);
		r |= json_put(o, "county_name", id->county_name);
	} else {
		r |= json_put(o, "sha256", id->cert_sha256);
		r |= json_put(o, "subject", id->cert_subject);
		r |= json_put(o, "issuer", id->cert_issuer);
		r |= json_put(o, "not_after", id->cert_not_after);
		if (id->loa > 0)
			r |= json_object_set_new(o, "loa", json_integer(id->loa));
		r |= json_object_set_new(o, "policies", siths_json_strings(id->policies,
		    id->n_policies));
		r |= json_object_set_new(o, "revocation", json_revocation(id));
	}
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
siths_identity_to_json(const siths_identity *id)
{
	json_t *root = NULL, *roles = NULL;
	char *out = NULL;
	int r = 0;

	if (id == NULL || (root = json_object()) == NULL)
		return NULL;
	r |= json_put(root, "hsa_id", id->hsa_id);
	r |= json_put(root, "given_name", id->given_name);
	r |= json_put(root, "surname", id->surname);
	r |= json_put(root, "display_name", id->display_name);
	r |= json_put(root, "mail", id->mail);
	r |= json_put(root, "title", id->title);
	r |= json_put(root, "dn", id->dn);
	r |= json_put(root, "hsa_title", id->hsa_title);
	r |= json_put(root, "pa_title_code", id->pa_title_code);
	r |= json_put(root, "personal_number", id->personal_number);
	r |= json_put(root, "start_date", id->start_date);
	r |= json_put(root, "end_date", id->end_date);
	if (id->from_directory) {
		r |= json_object_set_new(root, "units", siths_json_strings(id->units, id->n_units));
		r |= json_object_set_new(root, "commissions", json_commissions(id));
		r |= json_object_set_new(root, "stale", json_boolean(id->stale));
	}
	if (id->from_directory)
		r |= json_object_set_new(root, "organisation", json_section(id, 1));
	if (id->cert_sha256 != NULL)
		r |= json_object_set_new(root, "certificate", json_section(id, 0));
	if ((roles = siths_json_strings(id->roles, id->n_roles)) == NULL)
		r = -1;
	else
		r |= json_object_set_new(root, "roles", roles);
	if (r == 0)
		out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return out;
}
