/*
 * timeutil.h - ASN.1 times as time_t, and time_t for messages.
 */
#ifndef SITHS_TIMEUTIL_H
#define SITHS_TIMEUTIL_H

#include <stddef.h>
#include <time.h>

#include <openssl/asn1.h>

/* 0 with *out set, or -1 (NULL or unreadable time; *out = 0). */
int siths_asn1_time(const ASN1_TIME *t, time_t *out);
/* "YYYY-MM-DD HH:MM:SS UTC" in buf; returns buf. */
const char *siths_fmt_time(time_t t, char *buf, size_t len);

#endif
