/*
 * pcsc.h - card readers through PC/SC (pcsc-lite): which readers there are,
 * which hold a card, and waiting for one to be inserted (pcsc.c); a watcher
 * that reports cards and readers coming and going (pcsc_events.c). Tokens
 * are reached through PKCS#11 (p11.h); PC/SC tells when to look.
 */
#ifndef SITHS_PCSC_H
#define SITHS_PCSC_H

#include <stddef.h>

#include <winscard.h>

#include "siths.h"

struct siths_reader_info {
	char *name;
	int present;            /* a card is in the reader */
};

int siths_pcsc_init(siths_ctx *ctx);
void siths_pcsc_free(siths_ctx *ctx);

/* The readers now. SITHS_ERR_CARD_IO when pcscd cannot be reached. */
int siths_pcsc_list(siths_ctx *ctx, struct siths_reader_info **out, size_t *n);
void siths_pcsc_list_free(struct siths_reader_info *list, size_t n);

/*
 * Wait until a reader whose name contains pattern (NULL or "": any) holds a
 * card; *reader gets its name. Readers plugged in meanwhile count. Survives
 * a pcscd restart (a new PC/SC context). SITHS_ERR_CARD_ABSENT at the
 * deadline, SITHS_ERR_CARD_CANCELLED after siths_pcsc_cancel(),
 * SITHS_ERR_CARD_IO when pcscd is not running at all.
 */
int siths_pcsc_wait(siths_ctx *ctx, const char *pattern, int timeout_ms, char **reader);

/* Make every wait on ctx return SITHS_ERR_CARD_CANCELLED. */
void siths_pcsc_cancel(siths_ctx *ctx);
/* How many cancels there have been: a wait that polls instead of waiting
 * on PC/SC compares it with the count at its start. */
unsigned long siths_pcsc_cancel_gen(siths_ctx *ctx);

/* The reader names pcscd knows on sc, in one allocated multi-string (at
 * most 8 KiB); SCARD_E_NO_READERS_AVAILABLE when there are none. */
LONG siths_pcsc_list_names(SCARDCONTEXT sc, char **out);
/* Whether a reader name contains pattern; NULL or "" match every name. */
int siths_pcsc_name_matches(const char *name, const char *pattern);
/* Did pcscd go away (stopped, restarted, socket closed)? Then a new
 * context is the way on. */
int siths_pcsc_service_gone(LONG rv);

/* Keep at most max (1 to 64) queued events on ev, for tests of the
 * overflow without 65 card movements. */
void siths_pcsc_events_set_queue_max(siths_card_events *ev, size_t max);

#endif
