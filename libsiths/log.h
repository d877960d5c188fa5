/*
 * log.h - the library's logging: a caller's callback or syslog.
 */
#ifndef SITHS_LOG_H
#define SITHS_LOG_H

#include <stdarg.h>

#include "siths.h"

void siths_log(const siths_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void siths_vlog(const siths_ctx *ctx, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define siths_err(ctx, ...) siths_log((ctx), SITHS_LOG_ERR, __VA_ARGS__)
#define siths_warn(ctx, ...) siths_log((ctx), SITHS_LOG_WARNING, __VA_ARGS__)
#define siths_notice(ctx, ...) siths_log((ctx), SITHS_LOG_NOTICE, __VA_ARGS__)
#define siths_info(ctx, ...) siths_log((ctx), SITHS_LOG_INFO, __VA_ARGS__)
#define siths_debug(ctx, ...) siths_log((ctx), SITHS_LOG_DEBUG, __VA_ARGS__)

#endif
