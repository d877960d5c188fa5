/*
 * access.h - who may ask sithsd what: the written rule (sithsd(8), ACCESS),
 * checked for every request from the caller's SO_PEERCRED.
 *
 *   ping, verify, login     any local user (what a lock screen needs); the
 *                           answer speaks only of the certificate sent, and
 *                           to others than root and admin_group only what a
 *                           login needs (who, which organisation, the
 *                           mapping), not the rest of the directory's entry
 *   verify no_revocation,   root and [service] admin_group (diagnostics;
 *   verify at another time  either skips the caches: work for sithsd)
 *   resolve, map            root and admin_group: lookups by HSA-id
 *   status, flush           root and admin_group
 *   personal number         in answers to root only
 */
#ifndef SITHSD_ACCESS_H
#define SITHSD_ACCESS_H

#include "siths.h"
#include "sithsd.h"

/*
 * Fill c from the connected socket fd (the kernel's word, no user database
 * lookup: the accepting thread must stay quick); 0, or -1 when it cannot say.
 */
int sithsd_caller_from_socket(int fd, struct sithsd_caller *c);

/* Is c root or a member of [service] admin_group? Worked out once per caller. */
int sithsd_caller_admin(siths_ctx *ctx, struct sithsd_caller *c);

/* May c ask op (uncached: a verify that skips revocation or asks about another time)? */
int sithsd_access_allowed(siths_ctx *ctx, struct sithsd_caller *c, const char *op,
    int uncached);

/* Does c get the directory's whole entry, or only what a login needs? */
int sithsd_access_whole_entry(siths_ctx *ctx, struct sithsd_caller *c);

/* May c see the personal identity number? */
int sithsd_access_personal_number(const struct sithsd_caller *c);

#endif
