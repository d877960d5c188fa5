/*
 * identity.c - siths_identity: building it inside the library, reading it
 * from outside, and its JSON form.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "identity.h"
#include "siths.h"

/* More roles than this in one entry is not a person but a problem. */
#define SITHS_MAX_ROLES 64

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

int
siths_identity_add_role(struct siths_identity *id, const char *role)
{
	char **roles;

	if (id->n_roles >= SITHS_MAX_ROLES)
		return SITHS_ERR_HSA_ENTRY_TOO_LARGE;
	if ((roles = reallocarray(id->roles, id->n_roles + 1, sizeof(*roles))) == NULL)
		return SITHS_ERR_NOMEM;
	id->roles = roles;
	if ((roles[id->n_roles] = strdup(role)) == NULL)
		return SITHS_ERR_NOMEM;
	id->n_roles++;
	return 0;
}

int
siths_identity_merge_cert(struct siths_identity *dir, const struct siths_identity *cert)
{
	if (siths_identity_set(&dir->cert_sha256, cert->cert_sha256) != 0 ||
	    siths_identity_set(&dir->cert_subject, cert->cert_subject) != 0 ||
	    siths_identity_set(&dir->cert_issuer, cert->cert_issuer) != 0 ||
	    siths_identity_set(&dir->cert_not_after, cert->cert_not_after) != 0)
		return SITHS_ERR_NOMEM;
	dir->loa = cert->loa;
	return 0;
}

void
siths_identity_free(siths_identity **idp)
{
	siths_identity *id;
	size_t i;

	if (idp == NULL || (id = *idp) == NULL)
		return;
	free(id->hsa_id);
	free(id->cert_sha256);
	free(id->cert_subject);
	free(id->cert_issuer);
	free(id->cert_not_after);
	free(id->given_name);
	free(id->surname);
	free(id->display_name);
	free(id->org_name);
	free(id->dn);
	free(id->mail);
	free(id->title);
	free(id->org_hsa_id);
	free(id->org_number);
	free(id->municipality_code);
	free(id->municipality_name);
	free(id->start_date);
	free(id->end_date);
	for (i = 0; i < id->n_roles; i++)
		free(id->roles[i]);
	free(id->roles);
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
#undef GETTER

int
siths_identity_loa(const siths_identity *id)
{
	return id != NULL ? id->loa : 0;
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
	} else {
		r |= json_put(o, "sha256", id->cert_sha256);
		r |= json_put(o, "subject", id->cert_subject);
		r |= json_put(o, "issuer", id->cert_issuer);
		r |= json_put(o, "not_after", id->cert_not_after);
		if (id->loa > 0)
			r |= json_object_set_new(o, "loa", json_integer(id->loa));
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
	size_t i;
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
	r |= json_put(root, "start_date", id->start_date);
	r |= json_put(root, "end_date", id->end_date);
	if (id->from_directory)
		r |= json_object_set_new(root, "organisation", json_section(id, 1));
	if (id->cert_sha256 != NULL)
		r |= json_object_set_new(root, "certificate", json_section(id, 0));
	if ((roles = json_array()) == NULL)
		r = -1;
	for (i = 0; roles != NULL && i < id->n_roles; i++)
		r |= json_array_append_new(roles, json_string(id->roles[i]));
	if (roles != NULL)
		r |= json_object_set_new(root, "roles", roles);
	if (r == 0)
		out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return out;
}
