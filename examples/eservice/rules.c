/*
 * rules.c - report deadlines (see rules.h).
 */
#include <stdio.h>
#include <string.h>

#include "rules.h"

int
rules_deadline(const char *category, const char *change_date, char *out, size_t len)
{
	int y, m, d, n = 0;

	if (strlen(change_date) != 10 || sscanf(change_date, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	/* permit: the last month of the quarter stands in for the month */
	if (strcmp(category, "permit") == 0)
		m = (m + 2) / 3 * 3;
	if (++m > 12) {
		m = 1;
		y++;
	}
	snprintf(out, len, "%04d-%02d-07", y, m);
	return 0;
}
