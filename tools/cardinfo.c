/*
 * cardinfo.c - a card and its PIN state as the siths tool prints them, and
 * the choice of a card's identity by HSA-id.
 */
#include <stdint.h>
#include <string.h>

#include "cardinfo.h"

static const char *
kind_name(siths_card_cert_kind kind)
{
	switch (kind) {
	case SITHS_CARD_CERT_LOGIN:
		return "login";
	case SITHS_CARD_CERT_SIGNATURE:
		return "signature";
	default:
		return "other";
	}
}

static json_t *
cert_json(const siths_card *card, size_t i)
{
	return json_pack("{s:i, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
	    "index", (int)i,
	    "kind", kind_name(siths_card_cert_kind_of(card, i)),
	    "hsa_id", siths_card_cert_hsa_id(card, i),
	    "name", siths_card_cert_name(card, i),
	    "organisation", siths_card_cert_org(card, i),
	    "subject", siths_card_cert_subject(card, i),
	    "not_after", siths_card_cert_not_after(card, i),
	    "sha256", siths_card_cert_sha256(card, i));
}

json_t *
tool_card_json(const siths_card *card)
{
	json_t *certs = json_array(), *obj;
	size_t i, chosen = siths_card_chosen(card);

	if (certs == NULL)
		return NULL;
	for (i = 0; i < siths_card_cert_count(card); i++) {
		if (json_array_append_new(certs, cert_json(card, i)) != 0) {
			json_decref(certs);
			return NULL;
		}
	}
	obj = json_pack("{s:s?, s:s?, s:s?, s:i, s:o}",
	    "reader", siths_card_reader(card),
	    "label", siths_card_token_label(card),
	    "serial", siths_card_token_serial(card),
	    "identities", (int)siths_card_identity_count(card),
	    "certificates", certs);
	if (obj != NULL)
		json_object_set_new(obj, "chosen",
		    chosen == SIZE_MAX ? json_null() : json_integer((json_int_t)chosen));
	return obj;
}

json_t *
tool_pin_state_json(siths_pin_state state)
{
	static const struct {
		siths_pin_state flag;
		const char *name;
	} flags[] = {
		{ SITHS_PIN_COUNT_LOW, "count_low" },
		{ SITHS_PIN_FINAL_TRY, "final_try" },
		{ SITHS_PIN_LOCKED, "locked" },
		{ SITHS_PIN_MUST_CHANGE, "must_change" },
		{ SITHS_PIN_PAD, "pin_pad" },
	};
	json_t *list = json_array();
	size_t i;

	for (i = 0; list != NULL && i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (state & flags[i].flag)
			json_array_append_new(list, json_string(flags[i].name));
	}
	return list;
}

int
tool_card_choose(siths_card *card, const char *hsa_id)
{
	size_t i;
	const char *have;

	for (i = 0; i < siths_card_cert_count(card); i++) {
		have = siths_card_cert_hsa_id(card, i);
		if (siths_card_cert_kind_of(card, i) == SITHS_CARD_CERT_LOGIN && have != NULL &&
		    strcmp(have, hsa_id) == 0)
			return siths_card_choose(card, i);
	}
	return SITHS_ERR_CARD_NO_CERT;
}
