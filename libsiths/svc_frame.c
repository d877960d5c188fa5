/*
 * svc_frame.c - length-prefixed JSON messages with deadlines and caps (see
 * svc_frame.h). Sockets may be blocking or not: every transfer waits in
 * poll() for the time left, so a peer that stalls costs at most the
 * deadline.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "svc_frame.h"
#include "timeutil.h"

/* Wait for fd to be ready for events within the deadline: 0, or a frame result. */
static int
wait_ready(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { fd, events, 0 };
	int ms, n;

	for (;;) {
		if ((ms = siths_deadline_left_ms(deadline)) <= 0)
			return SITHS_FRAME_TIMEOUT;
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return SITHS_FRAME_TIMEOUT;
		if (errno != EINTR)
			return SITHS_FRAME_IO;
	}
}

static int
send_all(int fd, const unsigned char *p, size_t len, const struct timespec *deadline)
{
	ssize_t n;
	int r;

	while (len > 0) {
		if ((r = wait_ready(fd, POLLOUT, deadline)) != 0)
			return r;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return SITHS_FRAME_IO;
		p += n;
		len -= (size_t)n;
	}
	return SITHS_FRAME_OK;
}

/* Read exactly len bytes; *got says how many came before a close. */
static int
recv_all(int fd, unsigned char *p, size_t len, const struct timespec *deadline, size_t *got)
{
	ssize_t n;
	int r;

	*got = 0;
	while (*got < len) {
		if ((r = wait_ready(fd, POLLIN, deadline)) != 0)
			return r;
		n = recv(fd, p + *got, len - *got, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return SITHS_FRAME_IO;
		if (n == 0)
			return SITHS_FRAME_TRUNCATED;
		*got += (size_t)n;
	}
	return SITHS_FRAME_OK;
}

int
siths_frame_send(int fd, const json_t *msg, size_t max, const struct timespec *deadline)
{
	unsigned char head[4];
	char *text = NULL;
	size_t len;
	int r;

	if ((text = json_dumps(msg, JSON_COMPACT)) == NULL)
		return SITHS_FRAME_MALFORMED;
	if ((len = strlen(text)) > max || len > UINT32_MAX) {
		free(text);
		return SITHS_FRAME_TOO_LARGE;
	}
	head[0] = (unsigned char)(len >> 24);
	head[1] = (unsigned char)(len >> 16);
	head[2] = (unsigned char)(len >> 8);
	head[3] = (unsigned char)len;
	if ((r = send_all(fd, head, sizeof(head), deadline)) == 0)
		r = send_all(fd, (const unsigned char *)text, len, deadline);
	free(text);
	return r;
}

int
siths_frame_recv(int fd, size_t max, const struct timespec *deadline, json_t **out)
{
	unsigned char head[4], *body = NULL;
	size_t len, got = 0;
	int r;

	*out = NULL;
	if ((r = recv_all(fd, head, sizeof(head), deadline, &got)) != 0)
		return r == SITHS_FRAME_TRUNCATED && got == 0 ? SITHS_FRAME_CLOSED : r;
	len = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
	/* refused before a byte of it is read, or memory is given for it */
	if (len == 0)
		return SITHS_FRAME_MALFORMED;
	if (len > max)
		return SITHS_FRAME_TOO_LARGE;
	if ((body = malloc(len)) == NULL)
		return SITHS_FRAME_IO;
	if ((r = recv_all(fd, body, len, deadline, &got)) == 0) {
		*out = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
		if (*out != NULL && !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
		}
		r = *out != NULL ? SITHS_FRAME_OK : SITHS_FRAME_MALFORMED;
	}
	free(body);
	return r;
}

const char *
siths_frame_result_text(int r)
{
	switch (r) {
	case SITHS_FRAME_OK:
		return "ok";
	case SITHS_FRAME_CLOSED:
		return "closed";
	case SITHS_FRAME_TIMEOUT:
		return "timed out";
	case SITHS_FRAME_TOO_LARGE:
		return "too large";
	case SITHS_FRAME_TRUNCATED:
		return "truncated";
	case SITHS_FRAME_MALFORMED:
		return "not a JSON object";
	default:
		return "socket error";
	}
}

char *
siths_b64_encode(const unsigned char *data, size_t len)
{
	char *out;

	if (len > SITHS_SVC_REQUEST_MAX || (out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int
siths_b64_decode(const char *text, size_t max, unsigned char **out, size_t *len)
{
	size_t n = strlen(text), pad = 0, i;
	unsigned char *buf;
	int got;

	*out = NULL;
	*len = 0;
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)text[i]) && text[i] != '+' && text[i] != '/' &&
		    !(text[i] == '=' && i >= n - 2))
			return -1;
	}
	pad = (text[n - 1] == '=') + (text[n - 2] == '=');
	if (text[n - 2] == '=' && text[n - 1] != '=')
		return -1;
	if ((buf = malloc(n / 4 * 3)) == NULL)
		return -1;
	if ((got = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n)) < 0 ||
	    (size_t)got < pad || (size_t)got - pad > max) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = (size_t)got - pad;
	return 0;
}
