/*
 * service.h - the library as sithsd's client ([service] mode = auto or
 * required): validation, directory lookups and user mapping asked of the
 * host's resident validator over its Unix socket, the card work staying in
 * the caller. The public functions (siths_verify_cert, siths_login_cert,
 * siths_card_authenticate, siths_hsa_resolve, siths_map_user) call these
 * first and carry on in-process only where siths_service_fallback() says.
 */
#ifndef SITHS_SERVICE_H
#define SITHS_SERVICE_H

#include <stddef.h>

#include <jansson.h>

#include "identity.h"
#include "siths.h"

/* Does ctx ask sithsd first ([service] mode = auto or required)? */
int siths_service_enabled(const siths_ctx *ctx);

/*
 * sithsd could not be reached (r is SITHS_ERR_SERVICE_UNAVAILABLE) and
 * [service] mode = auto: say so in the log, make the context's own
 * validation ready (trust, caches, directory) and return 1, for the caller
 * to go on in-process. Otherwise 0, with *r the status to return (the
 * local setup's failure when that is what stood in the way).
 */
int siths_service_fallback(siths_ctx *ctx, int *r);

/*
 * One request and its answer: req (stolen) gets "v"; *answer is the
 * answer object, whatever status it carries. 0, or
 * SITHS_ERR_SERVICE_UNAVAILABLE (no sithsd at the socket),
 * SITHS_ERR_SERVICE_UNTRUSTED (the socket's peer is neither root nor
 * [service] user), SITHS_ERR_SERVICE_PROTOCOL (no usable answer in time).
 */
int siths_service_call(const siths_ctx *ctx, json_t *req, json_t **answer);

/* The answer's status (and its message as this thread's detail); 0 for success. */
int siths_service_answer_status(const siths_ctx *ctx, const json_t *answer);

/* Validate der through sithsd; login also resolves the holder and maps the user. */
int siths_service_verify(siths_ctx *ctx, const unsigned char *der, size_t len,
    const siths_verify_opts *opts, int login, struct siths_identity **out);
int siths_service_resolve(siths_ctx *ctx, const char *hsa_id, struct siths_identity **out);
int siths_service_map(siths_ctx *ctx, const char *hsa_id, char **login);
/* sithsd's own report (siths status), as JSON text; free() it. */
int siths_service_report(siths_ctx *ctx, char **json);
int siths_service_flush(siths_ctx *ctx, const char *hsa_id);

#endif
