/*
 * cardinfo.h - a card and its PIN state as the siths tool prints them.
 */
#ifndef SITHS_TOOL_CARDINFO_H
#define SITHS_TOOL_CARDINFO_H

#include <jansson.h>

#include "siths.h"

/* {"reader", "label", "serial", "certificates": [...], "chosen"}; NULL when
 * out of memory. */
json_t *tool_card_json(const siths_card *card);
/* The PIN state's flags by name: ["count_low", "final_try", ...]. */
json_t *tool_pin_state_json(siths_pin_state state);
/*
 * Choose the login certificate with this HSA-id. SITHS_ERR_CARD_NO_CERT
 * when the card has none; the message is in the context.
 */
int tool_card_choose(siths_card *card, const char *hsa_id);

#endif
