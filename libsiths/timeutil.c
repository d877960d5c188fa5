/*
 * timeutil.c - ASN.1 times as time_t, and time_t for messages.
 */
#include <stdio.h>

#include <openssl/err.h>

#include "timeutil.h"

int
siths_asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	*out = 0;
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return -1;
	}
	*out = timegm(&tm);
	return 0;
}

const char *
siths_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}
