/*
 * timeutil.c - ASN.1 times as time_t, time_t for messages, and deadlines
 * on the monotonic clock.
 */
#include <stdint.h>
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

void
siths_deadline_in(struct timespec *dl, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

int
siths_deadline_left_ms(const struct timespec *dl)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (dl->tv_sec - now.tv_sec) * 1000LL + (dl->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}
