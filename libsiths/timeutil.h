/*
 * timeutil.h - ASN.1 times as time_t, time_t for messages, and deadlines
 * on the monotonic clock.
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

/* Deadlines: absolute CLOCK_MONOTONIC times. *dl = now + ms. */
void siths_deadline_in(struct timespec *dl, int ms);
/* Milliseconds left until dl; 0 once it has passed. */
int siths_deadline_left_ms(const struct timespec *dl);

#endif
