/*
 * error.h - recording why a call failed.
 *
 * A failure carries a status (siths.h) and a sentence for people. The
 * sentence lives in a per-thread buffer owned by the context, so threads
 * sharing one context never see each other's messages.
 */
#ifndef SITHS_ERROR_H
#define SITHS_ERROR_H

#include "siths.h"

/* Longest detail message kept; longer ones are cut. */
#define SITHS_ERRMSG_MAX 512

/*
 * Record status and a printf-style detail for the calling thread and log it
 * at debug level. Returns status so that callers can write
 * `return siths_fail(ctx, SITHS_ERR_X, "...")`.
 */
int siths_fail(const siths_ctx *ctx, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Forget the calling thread's last failure. */
void siths_clear_error(const siths_ctx *ctx);

/* The per-thread buffers' life (ctx.c): set up, and free every thread's. */
int siths_errbufs_init(siths_ctx *ctx);
void siths_errbufs_free(siths_ctx *ctx);

#endif
