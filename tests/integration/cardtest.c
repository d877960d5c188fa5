/*
 * cardtest.c - what the card tests in C share (cardtest.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cardtest.h"

siths_ctx *
cardtest_ctx(const char *env_var)
{
	const char *conf = getenv(env_var);
	siths_ctx *ctx = NULL;
	int r;

	if (conf == NULL)
		fail_msg("%s is not set", env_var);
	if ((r = siths_ctx_new(&ctx, conf)) != 0)
		fail_msg("siths_ctx_new(%s): %s", conf, siths_status_name(r));
	return ctx;
}

double
cardtest_seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}
