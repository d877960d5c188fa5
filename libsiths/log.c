/*
 * log.c - delivery of log messages: to the caller's callback when one is
 * set, else to syslog. Messages never contain a PIN: callers pass none.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "ctx.h"
#include "log.h"
#include "text.h"

/* Longest message delivered; longer ones are cut. */
#define SITHS_LOG_MAX 1024

void
siths_vlog(const siths_ctx *ctx, int level, const char *fmt, va_list ap)
{
	char raw[SITHS_LOG_MAX], msg[SITHS_LOG_MAX];

	if (ctx == NULL || level > ctx->log_level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* Names and directory values come from outside: no control character
	 * (C0, DEL, C1) nor broken UTF-8 reaches a log line, where it could
	 * forge or hide other lines. */
	siths_text_printable(msg, raw, sizeof(msg) - 1);
	if (ctx->log_fn != NULL)
		ctx->log_fn(ctx->log_userdata, level, msg);
	else
		syslog(LOG_AUTHPRIV | level, "libsiths: %s", msg);
}

void
siths_log(const siths_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	siths_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

void
siths_ctx_set_log(siths_ctx *ctx, siths_log_fn *fn, void *userdata)
{
	if (ctx == NULL)
		return;
	ctx->log_fn = fn;
	ctx->log_userdata = fn != NULL ? userdata : NULL;
}

void
siths_ctx_set_log_level(siths_ctx *ctx, int level)
{
	if (ctx == NULL)
		return;
	if (level < SITHS_LOG_ERR)
		level = SITHS_LOG_ERR;
	if (level > SITHS_LOG_DEBUG)
		level = SITHS_LOG_DEBUG;
	ctx->log_level = level;
}
