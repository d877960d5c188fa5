/*
 * access.h - who may ask sithsd what: the written rule (sithsd(8), ACCESS),
 * checked for every request from the caller's SO_PEERCRED.
 *
 *   ping, verify, login     any local user (what a lock screen needs); the
 *                           answer speaks only of the certificate sent
 *   verify no_revocation    root and [service] admin_group (diagnostics)
 *   resolve, map            root and admin_group: lookups by HSA-id
 *   status, flush           root and admin_group
 *   personal number         in answers to root only
 */
#ifndef SITHSD_ACCESS_H
#define SITHSD_ACCESS_H

#include "siths.h"
#include "sithsd.h"

/* Fill c from the connected socket fd; 0, or -1 when the kernel cannot say. */
int sithsd_caller_from_socket(siths_ctx *ctx, int fd, struct sithsd_caller *c);

/* May c ask op (with no_revocation for verify)? 1 or 0. */
int sithsd_access_allowed(const struct sithsd_caller *c, const char *op, int no_revocation);

/* May c see the personal identity number? */
int sithsd_access_personal_number(const struct sithsd_caller *c);

#endif
