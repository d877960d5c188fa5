/*
 * ctx.h - what a siths_ctx holds. Everything here is either immutable
 * after siths_ctx_load() or guarded by the lock of the layer that owns it.
 */
#ifndef SITHS_CTX_H
#define SITHS_CTX_H

#include <pthread.h>

#include <openssl/x509.h>

#include "config.h"
#include "siths.h"

struct siths_cache;
struct siths_errbuf;
struct siths_hsa;
struct siths_p11;
struct siths_pcsc;
struct siths_rev;

struct siths_ctx {
	struct siths_config *cfg;      /* NULL until loaded */
	int service_side;              /* sithsd's own: never a client of itself */

	/*
	 * In-process validation (trust, caches, directory): set up by load in
	 * [service] mode = local, else when auto first falls back to it
	 * (siths_ctx_local_init). local_status: 0 not yet, 1 ready, <0 failed.
	 */
	pthread_mutex_t local_lock;
	int local_status;              /* atomic reads; written under local_lock */

	/* per-thread detail message of the last failure (error.c) */
	pthread_key_t err_key;
	int have_err_key;
	pthread_mutex_t err_lock;      /* guards err_bufs */
	struct siths_errbuf *err_bufs; /* every thread's buffer, freed with the context */

	/* logging (log.c); set before the context is shared */
	siths_log_fn *log_fn;
	void *log_userdata;
	int log_level;

	/* siths_ctx_set_allow_root (usermap.c); set before the context is shared */
	int allow_root_set;            /* 0: [pam] allow_root decides */
	int allow_root;

	/* trust (verify.c): built once, read-only afterwards */
	X509_STORE *store;
	STACK_OF(X509) *intermediates;

	struct siths_cache *verify_cache; /* validation results by DER digest (verify.c) */
	unsigned long verify_hits;     /* answers from verify_cache (status); atomic */
	struct siths_rev *rev;         /* revocation caches and counters (revocation.c) */
	struct siths_hsa *hsa;         /* directory connection (hsa.c) */
	struct siths_p11 *p11;         /* token module (p11.c) */
	struct siths_pcsc *pcsc;       /* readers and waits (pcsc.c) */
};

/* Make in-process validation ready once (see local_status); 0 or its failure. */
int siths_ctx_local_init(siths_ctx *ctx);
/* Is in-process validation ready? */
int siths_ctx_local_ready(const siths_ctx *ctx);

#endif
