/*
 * httpfront.h - sithsd's HTTP front for a reverse proxy's forward
 * authentication (nginx auth_request, Caddy forward_auth, Traefik
 * ForwardAuth): [authd] in siths.conf, libmicrohttpd with a thread pool.
 *
 *   GET /auth      the client certificate from [authd] cert_header
 *                  (URL-encoded PEM, nginx's $ssl_client_escaped_cert),
 *                  validated and its holder resolved by sithsd's own
 *                  context: 200 with X-SITHS-* headers, 401 without a
 *                  certificate, 403 when refused, 503 when validation
 *                  cannot be completed, 400 for a malformed header
 *   GET /status    the siths status report as JSON
 *   GET /metrics   Prometheus text
 */
#ifndef SITHSD_HTTPFRONT_H
#define SITHSD_HTTPFRONT_H

#include "sithsd.h"

struct sithsd_front;

/* Start the front when [authd] listen is set (*out NULL when it is not); 0 or -1. */
int sithsd_front_start(struct sithsd *d, struct sithsd_front **out);
void sithsd_front_stop(struct sithsd_front **front);

#endif
