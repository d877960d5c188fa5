/*
 * svc_frame.h - messages between libsiths and sithsd over a Unix stream
 * socket: a 4-byte big-endian length, then that many bytes of one JSON
 * object (jansson). Every read and write has a deadline and a size cap.
 *
 * JSON through a well-kept decoder rather than hand-written binary parsing:
 * jansson already parses the configuration's neighbours (the tool's
 * output, the identity's JSON), checks UTF-8, rejects duplicate keys on
 * request and bounds nesting; the length prefix lets either side refuse an
 * oversized message before reading it.
 */
#ifndef SITHS_SVC_FRAME_H
#define SITHS_SVC_FRAME_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

/* The protocol's version: every message carries it as "v". */
#define SITHS_SVC_VERSION 1
/* Caps: a request holds a certificate and a few untrusted ones; an answer
 * one identity (a person with 64 roles and 64 commissions stays far below). */
#define SITHS_SVC_REQUEST_MAX (256 * 1024)
#define SITHS_SVC_ANSWER_MAX (1024 * 1024)

enum siths_frame_result {
	SITHS_FRAME_OK = 0,
	SITHS_FRAME_CLOSED = 1,         /* the peer closed before a new message began */
	SITHS_FRAME_TIMEOUT = -1,       /* the deadline passed */
	SITHS_FRAME_TOO_LARGE = -2,     /* announced or produced past the cap */
	SITHS_FRAME_TRUNCATED = -3,     /* closed in the middle of a message */
	SITHS_FRAME_MALFORMED = -4,     /* not one JSON object */
	SITHS_FRAME_IO = -5,            /* the socket failed */
};

/* Send msg (compact JSON) within the deadline. */
int siths_frame_send(int fd, const json_t *msg, size_t max, const struct timespec *deadline);
/* Receive one message of at most max bytes within the deadline into *out. */
int siths_frame_recv(int fd, size_t max, const struct timespec *deadline, json_t **out);
/* "timed out", "too large", ...: for log lines. */
const char *siths_frame_result_text(int r);

/* Certificates travel as base64 (RFC 4648, with padding). encode: NULL
 * when out of memory or too long; decode: 0, or -1 for anything but
 * well-formed base64 of at most max bytes. */
char *siths_b64_encode(const unsigned char *data, size_t len);
int siths_b64_decode(const char *text, size_t max, unsigned char **out, size_t *len);

#endif
