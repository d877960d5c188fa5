/*
 * rules.h - when a report of changed circumstances is due: by the 7th of
 * the month after the month of the change for an asylum seeker, by the 7th
 * of the month after the quarter of the change for someone newly arrived
 * with a residence permit.
 */
#ifndef ESERVICE_RULES_H
#define ESERVICE_RULES_H

#include <stddef.h>

/* The deadline (YYYY-MM-DD) for a change on change_date (YYYY-MM-DD) of a
 * person in category ("asylum" or "permit"); 0, or -1 for a malformed date. */
int rules_deadline(const char *category, const char *change_date, char *out, size_t len);

#endif
