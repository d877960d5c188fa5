/*
 * handlers.h - one request of the protocol (libsiths/svc_frame.h) turned
 * into library calls on sithsd's context, and the answer.
 */
#ifndef SITHSD_HANDLERS_H
#define SITHSD_HANDLERS_H

#include <stddef.h>

#include <jansson.h>

#include "sithsd.h"

/*
 * The answer to req from caller c (never NULL unless out of memory): "v",
 * "code" and "status" (the status name), "message", and what the operation
 * gives. what receives a line for the log: the operation and its subject.
 */
json_t *sithsd_handle(struct sithsd *d, struct sithsd_caller *c, const json_t *req,
    char *what, size_t whatlen);

#endif
