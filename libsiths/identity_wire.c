/*
 * identity_wire.c - an identity's whole internal form as JSON (see
 * identity_wire.h), both ways.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "identity.h"
#include "identity_wire.h"
#include "siths.h"

/* The numbers an identity holds, by name; times are seconds since the epoch. */
enum num_kind { NUM_INT, NUM_SIZE, NUM_TIME };
#define NUM(name, kind) { #name, offsetof(struct siths_identity, name), kind }
static const struct {
	const char *name;
	size_t offset;
	enum num_kind kind;
} number_fields[] = {
	NUM(loa, NUM_INT), NUM(rev_source, NUM_INT), NUM(rev_this_update, NUM_TIME),
	NUM(rev_next_update, NUM_TIME), NUM(map_login_values, NUM_SIZE),
	NUM(from_directory, NUM_INT), NUM(fetched, NUM_TIME), NUM(stale, NUM_INT),
};
#undef NUM
#define N_NUMBER_FIELDS (sizeof(number_fields) / sizeof(number_fields[0]))

static int
is_service_field(const char *name)
{
	return strncmp(name, "svc_", 4) == 0;
}

/* The string fields a login-only form keeps (SITHS_WIRE_LOGIN_ONLY). */
static int
is_login_field(const char *name)
{
	static const char *const keep[] = { "hsa_id", "cert_sha256", "cert_subject", "cert_issuer",
		"cert_not_after", "given_name", "surname", "display_name", "org_name", "org_hsa_id",
		"org_number", "municipality_code", "municipality_name", "county_code", "county_name",
		NULL };
	size_t i;

	for (i = 0; keep[i] != NULL; i++) {
		if (strcmp(name, keep[i]) == 0)
			return 1;
	}
	return is_service_field(name);
}

static json_int_t
number_get(const struct siths_identity *id, size_t i)
{
	const char *p = (const char *)id + number_fields[i].offset;

	switch (number_fields[i].kind) {
	case NUM_INT:
		return *(const int *)(const void *)p;
	case NUM_SIZE:
		return (json_int_t)*(const size_t *)(const void *)p;
	default:
		return (json_int_t)*(const time_t *)(const void *)p;
	}
}

/* 0, or -1 when v does not fit the field. */
static int
number_set(struct siths_identity *id, size_t i, json_int_t v)
{
	char *p = (char *)id + number_fields[i].offset;

	switch (number_fields[i].kind) {
	case NUM_INT:
		if (v < -1000000 || v > 1000000)
			return -1;
		*(int *)(void *)p = (int)v;
		return 0;
	case NUM_SIZE:
		if (v < 0 || v > 1000000)
			return -1;
		*(size_t *)(void *)p = (size_t)v;
		return 0;
	default:
		if (v < 0 || v > INT64_C(1) << 40)
			return -1;
		*(time_t *)(void *)p = (time_t)v;
		return 0;
	}
}

static json_t *
commissions_wire(const struct siths_identity *id)
{
	const struct siths_commission *c;
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; a != NULL && i < id->n_commissions; i++) {
		c = &id->commissions[i];
		if ((o = json_object()) == NULL || json_array_append_new(a, o) != 0 ||
		    (c->hsa_id != NULL && json_object_set_new(o, "hsa_id",
		    json_string(c->hsa_id)) != 0) ||
		    (c->purpose != NULL && json_object_set_new(o, "purpose",
		    json_string(c->purpose)) != 0) ||
		    json_object_set_new(o, "rights",
		    siths_json_strings(c->rights, c->n_rights)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *
siths_identity_wire(const struct siths_identity *id, unsigned int flags)
{
	const char *name, *value;
	json_t *o = json_object();
	size_t i;
	int r = o == NULL;

	for (i = 0; r == 0 && i < siths_identity_field_count(); i++) {
		name = siths_identity_field_name(i);
		value = siths_identity_field_value(id, i);
		if (value == NULL || (is_service_field(name) && !(flags & SITHS_WIRE_SERVICE)) ||
		    (strcmp(name, "personal_number") == 0 &&
		    !(flags & SITHS_WIRE_PERSONAL_NUMBER)) ||
		    ((flags & SITHS_WIRE_LOGIN_ONLY) && !is_login_field(name)))
			continue;
		r = json_object_set_new(o, name, json_string(value));
	}
	for (i = 0; r == 0 && i < N_NUMBER_FIELDS; i++)
		r = json_object_set_new(o, number_fields[i].name, json_integer(number_get(id, i)));
	if (r == 0 && (flags & SITHS_WIRE_SERVICE))
		r = json_object_set_new(o, "svc_mapped", json_integer(id->svc_mapped)) ||
		    json_object_set_new(o, "svc_map_status", json_integer(id->svc_map_status));
	if (r == 0)
		r = json_object_set_new(o, "policies", siths_json_strings(id->policies,
		    id->n_policies));
	if (r == 0 && !(flags & SITHS_WIRE_LOGIN_ONLY))
		r = json_object_set_new(o, "roles", siths_json_strings(id->roles, id->n_roles)) ||
		    json_object_set_new(o, "units", siths_json_strings(id->units, id->n_units)) ||
		    json_object_set_new(o, "commissions", commissions_wire(id));
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A string member within the cap; NULL when absent, *bad when not a fitting string. */
static const char *
string_member(const json_t *v, int *bad)
{
	if (!json_is_string(v) || json_string_length(v) > SITHS_WIRE_STRING_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* Each string of array a through add; -1 malformed, NOMEM, or 0. */
static int
read_list(const json_t *a, int (*add)(struct siths_identity *, const char *),
    struct siths_identity *id)
{
	const json_t *v;
	const char *s;
	size_t i;
	int bad = 0, r;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	json_array_foreach(a, i, v) {
		if ((s = string_member(v, &bad)) == NULL)
			return -1;
		if ((r = add(id, s)) != 0)
			return r == SITHS_ERR_NOMEM ? r : -1;   /* past a cap */
	}
	return 0;
}

static int
read_commissions(const json_t *a, struct siths_identity *id)
{
	struct siths_commission *c;
	const json_t *o, *rights, *v;
	const char *s;
	size_t i, k;
	int bad = 0;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	json_array_foreach(a, i, o) {
		if (!json_is_object(o) || (c = siths_identity_add_commission(id)) == NULL)
			return -1;
		if ((v = json_object_get(o, "hsa_id")) != NULL &&
		    ((s = string_member(v, &bad)) == NULL ||
		    siths_identity_set(&c->hsa_id, s) != 0))
			return -1;
		if ((v = json_object_get(o, "purpose")) != NULL &&
		    ((s = string_member(v, &bad)) == NULL ||
		    siths_identity_set(&c->purpose, s) != 0))
			return -1;
		if ((rights = json_object_get(o, "rights")) != NULL && !json_is_array(rights))
			return -1;
		json_array_foreach(rights, k, v) {
			if ((s = string_member(v, &bad)) == NULL ||
			    siths_commission_add_right(c, s) != 0)
				return -1;
		}
	}
	return 0;
}

static int
read_strings(const json_t *o, unsigned int flags, struct siths_identity *id)
{
	const char *name, *s;
	const json_t *v;
	size_t i;
	int bad = 0;

	for (i = 0; i < siths_identity_field_count(); i++) {
		name = siths_identity_field_name(i);
		if ((v = json_object_get(o, name)) == NULL ||
		    (is_service_field(name) && !(flags & SITHS_WIRE_SERVICE)) ||
		    (strcmp(name, "personal_number") == 0 && !(flags & SITHS_WIRE_PERSONAL_NUMBER)))
			continue;
		if ((s = string_member(v, &bad)) == NULL)
			return -1;
		if (siths_identity_set(siths_identity_field(id, i), s) != 0)
			return SITHS_ERR_NOMEM;
	}
	return 0;
}

static int
read_numbers(const json_t *o, unsigned int flags, struct siths_identity *id)
{
	const json_t *v;
	size_t i;

	for (i = 0; i < N_NUMBER_FIELDS; i++) {
		if ((v = json_object_get(o, number_fields[i].name)) == NULL)
			continue;
		if (!json_is_integer(v) || number_set(id, i, json_integer_value(v)) != 0)
			return -1;
	}
	if (!(flags & SITHS_WIRE_SERVICE))
		return 0;
	if ((v = json_object_get(o, "svc_mapped")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1)
			return -1;
		id->svc_mapped = (int)json_integer_value(v);
	}
	if ((v = json_object_get(o, "svc_map_status")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) > 0 ||
		    json_integer_value(v) < -1000)
			return -1;
		id->svc_map_status = (int)json_integer_value(v);
	}
	return 0;
}

int
siths_identity_unwire(const json_t *o, unsigned int flags, struct siths_identity **out)
{
	struct siths_identity *id = NULL;
	int r = -1;

	*out = NULL;
	if (!json_is_object(o))
		return -1;
	if ((id = siths_identity_new()) == NULL)
		return SITHS_ERR_NOMEM;
	if ((r = read_strings(o, flags, id)) != 0 || (r = read_numbers(o, flags, id)) != 0 ||
	    (r = read_list(json_object_get(o, "policies"), siths_identity_add_policy, id)) != 0 ||
	    (r = read_list(json_object_get(o, "roles"), siths_identity_add_role, id)) != 0 ||
	    (r = read_list(json_object_get(o, "units"), siths_identity_add_unit, id)) != 0 ||
	    (r = read_commissions(json_object_get(o, "commissions"), id)) != 0)
		goto out;
	if (id->hsa_id == NULL) {
		r = -1;
		goto out;
	}
	/* success */
	*out = id;
	id = NULL;      /* transferred */
	r = 0;
out:
	siths_identity_free(&id);
	return r;
}
