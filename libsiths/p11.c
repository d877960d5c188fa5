/*
 * p11.c - the card layer: the PKCS#11 module of a context, the choice of a
 * card, the certificates on it that have a key beside them, PIN state, user
 * login and signing with a card key. Nothing else in libsiths touches
 * PKCS#11.
 *
 * libp11 (0.4.12 on Debian 12) enumerates slots, certificates and keys. The
 * rest goes to the module directly, through its own function list, because
 * libp11 gets it wrong for us:
 *  - C_Login on a session of our own: PKCS11_login keeps a copy of the PIN
 *    for as long as the slot lives; we keep none.
 *  - C_GetTokenInfo and C_GetSessionInfo: libp11 reads token flags once per
 *    enumeration, and its PKCS11_update_slots frees slots still in use.
 *  - C_Logout and C_CloseSession at close, so that a card never stays logged
 *    in for the next caller in this process.
 *  - Signing: libp11 signs RSA with PKCS#1 v1.5 only; we choose the best
 *    mechanism the token offers (see the signing section).
 *
 * Releasing a libp11 slot list calls C_CloseAllSessions on every slot in it,
 * which logs out and kills the sessions of any token open on those slots.
 * So the context keeps one slot list, shared by its open tokens: enumerated
 * afresh when no token is open, released when the last one closes. A card
 * inserted while another card is open in this process is seen once that one
 * is closed. One token per slot at a time, so that no login is shared by
 * two callers.
 *
 * Threads: the module and its slot list belong to the context and are
 * guarded by one mutex; a token is used by one thread at a time and must be
 * closed before its context is freed.
 *
 * Deadlines: every module call that can reach a card or reader (C_Initialize,
 * listing slots and objects, token and session state, opening and closing
 * sessions, login, logout, signing) runs on a worker thread while the caller
 * waits at most [card] timeout_ms. Only releasing the slot list
 * (C_CloseAllSessions) and unloading (C_Finalize) run on the caller's
 * thread: both are skipped once the module hung. A thread stuck in a module
 * cannot be stopped safely, so at the deadline it is left where it is, and
 * (except at a PIN pad, where a person may simply be slow: that session is
 * given up and the worker closes it when the pad returns) the module counts
 * as hung for the rest of the process: nothing calls into it, frees or
 * unloads it again, and every card call fails with SITHS_ERR_CARD_MODULE
 * ("restart the process"). Only a restart clears it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "log.h"
#include "p11.h"
#include "secfile.h"
#include "text.h"

/* What a card may make us hold: a malicious card must not make us allocate
 * without bound, nor put control characters into logs and prompts. */
#define P11_MAX_CERTS 16     /* certificates considered per token */
#define P11_MAX_TEXT 64      /* bytes kept of a reader name, label, serial */
#define P11_MAX_ID 255       /* CKA_ID bytes; libp11 keeps no more either */
#define P11_MAX_SIG 1024     /* signature bytes accepted (RSA-8192) */
#define P11_MAX_PIN 64       /* PIN bytes passed to a card */
#define P11_MAX_MECHS 1024   /* mechanisms a token may list */

#define P11_MAX_OPEN 16      /* tokens open at once in a context */

struct siths_p11 {
	pthread_mutex_t lock;          /* guards everything below */
	PKCS11_CTX *pctx;              /* NULL until the module is loaded */
	void *dl;                      /* our own reference to the module */
	CK_FUNCTION_LIST_PTR fn;       /* the module's functions */
	PKCS11_SLOT *slots;            /* shared by the open tokens; NULL when none */
	unsigned int nslots;
	CK_SLOT_ID busy[P11_MAX_OPEN]; /* slots of the open tokens */
	size_t nopen;
};

struct p11_cert {
	X509 *x509;
	unsigned char id[P11_MAX_ID];  /* finds the key again at sign time */
	size_t id_len;
};

struct siths_p11_token {
	siths_ctx *ctx;
	struct siths_p11 *p11;
	PKCS11_SLOT *slot;             /* in p11->slots */
	CK_SLOT_ID slot_id;
	CK_SESSION_HANDLE session;     /* ours, for login and logout */
	int have_session;
	int logged_in;
	int pad_abandoned;             /* the session went to a PIN pad's worker */
	char *reader;
	char *label;
	char *serial;
	struct p11_cert certs[P11_MAX_CERTS];
	size_t ncerts;
};

/* --- the module --------------------------------------------------------- */

static struct siths_p11 *
p11_get(const siths_ctx *ctx)
{
	return __atomic_load_n(&ctx->p11, __ATOMIC_ACQUIRE);
}

/*
 * The context's card state, created on first use. Two threads may get here
 * first at once: the loser of the exchange frees its copy.
 */
static int
p11_state(siths_ctx *ctx, struct siths_p11 **out)
{
	struct siths_p11 *p11 = NULL, *expected = NULL;

	*out = NULL;
	if ((p11 = p11_get(ctx)) != NULL) {
		*out = p11;
		return 0;
	}
	if ((p11 = calloc(1, sizeof(*p11))) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&p11->lock, NULL) != 0) {
		free(p11);
		return siths_fail(ctx, SITHS_ERR_INTERNAL, "cannot create the card lock");
	}
	if (!__atomic_compare_exchange_n(&ctx->p11, &expected, p11, 0, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE)) {
		pthread_mutex_destroy(&p11->lock);
		free(p11);
		p11 = expected;
	}
	*out = p11;
	return 0;
}

/*
 * The first CKR value libp11 put on the OpenSSL error queue (it reports a
 * module's CKR as the reason of its own error library); 0 when none. The
 * queue is emptied either way.
 */
static CK_RV
queue_ckr(void)
{
	unsigned long e;
	CK_RV rv = 0;
	int lib = ERR_get_CKR_code();

	while ((e = ERR_get_error()) != 0) {
		if (rv == 0 && ERR_GET_LIB(e) == lib)
			rv = ERR_GET_REASON(e);
	}
	return rv;
}

/* A failure of the module, removal told apart from the rest. */
static int
ckr_status(CK_RV rv, int otherwise)
{
	switch (rv) {
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
		return SITHS_ERR_CARD_REMOVED;
	case CKR_USER_NOT_LOGGED_IN:
		return SITHS_ERR_CARD_NOT_LOGGED_IN;
	default:
		return otherwise;
	}
}

/* --- deadlines ---------------------------------------------------------- */

/*
 * Set once a module call overran its deadline; never cleared (see the top).
 * The one piece of process-wide state in libsiths, on purpose: a module is
 * loaded once per process whatever the number of contexts (dlopen shares
 * it, and its own state with it), so a thread stuck inside it is a fact
 * about the process. Kept per context, every new context (pam_siths makes
 * one per login) would call into the stuck module again and leave one more
 * thread behind at each try.
 */
static int p11_hung;

static int
module_hung(void)
{
	return __atomic_load_n(&p11_hung, __ATOMIC_ACQUIRE);
}

static int
hung_fail(const siths_ctx *ctx)
{
	return siths_fail(ctx, SITHS_ERR_CARD_MODULE,
	    "the PKCS#11 module hung earlier; restart the process");
}

/*
 * One module call on a worker thread. The caller and the worker each hold
 * a reference and the last to let go frees the job, so that a caller gone
 * at the deadline leaves the worker nothing freed under it. The worker
 * touches only the job and the module's own state, never the context or
 * the token: everything a call needs is copied into the job.
 */
struct p11_job {
	pthread_mutex_t lock;          /* guards refs and done */
	pthread_cond_t cv;             /* done was set */
	int refs;
	int done;
	int left;                      /* the caller left at the deadline */
	/* Run by the worker when the caller left: a call that may take long
	 * for a good reason (a person at a PIN pad) cleans up after itself.
	 * NULL: the module counts as hung. */
	void (*abandoned)(struct p11_job *);
	void (*run)(struct p11_job *);
	int ok;                        /* results, read once done */
	CK_RV rv;

	PKCS11_CTX *pctx;              /* loading the module, listing the slots */
	char *path;                    /* the module, the job's own copy */
	PKCS11_SLOT *slots;            /* left to leak if the caller is gone */
	unsigned int nslots;

	PKCS11_TOKEN *token;           /* listing a token's objects (libp11's arrays) */
	int hidden_keys;
	PKCS11_CERT *certs;
	unsigned int ncerts;
	PKCS11_KEY *prv, *pub;
	unsigned int nprv, npub;
	const char *failed;            /* which listing failed */

	CK_SLOT_ID slot;               /* token and session state */
	CK_TOKEN_INFO token_info;
	CK_SESSION_INFO session_info;

	CK_FUNCTION_LIST_PTR fn;       /* login */
	CK_SESSION_HANDLE session;
	CK_UTF8CHAR pin[P11_MAX_PIN];  /* the job's own copy, wiped */
	CK_ULONG pin_len;
	int pin_pad;                   /* the reader's PIN pad asks instead */
	CK_UTF8CHAR new_pin[P11_MAX_PIN]; /* PIN change and unblock: the new PIN, wiped */
	CK_ULONG new_pin_len;

	/* finding the key to sign with (in slot) */
	CK_BYTE id[P11_MAX_ID];
	CK_ULONG id_len;
	CK_OBJECT_HANDLE key;          /* (and signing with it) */
	CK_ULONG nkeys;
	CK_KEY_TYPE key_type;
	CK_MECHANISM_TYPE *mechs;      /* the token's list */
	unsigned int offered;          /* bits of sign_ways the token offers */
	const char *what;              /* the step that failed */

	CK_MECHANISM mech;             /* signing */
	CK_RSA_PKCS_PSS_PARAMS pss;    /* mech's parameter, for RSA-PSS */
	unsigned char *data;
	size_t len;
	unsigned char *sig;
	size_t siglen;
};

static struct p11_job *
job_new(void (*run)(struct p11_job *))
{
	struct p11_job *job = NULL;
	pthread_condattr_t ca;
	int ok;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	if (pthread_condattr_init(&ca) != 0) {
		free(job);
		return NULL;
	}
	/* a deadline on the monotonic clock: setting the date does not move it */
	ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&job->cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok) {
		free(job);
		return NULL;
	}
	if (pthread_mutex_init(&job->lock, NULL) != 0) {
		pthread_cond_destroy(&job->cv);
		free(job);
		return NULL;
	}
	job->refs = 1;
	job->run = run;
	return job;
}

static void
job_release(struct p11_job *job)
{
	int last;

	if (job == NULL)
		return;
	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	explicit_bzero(job->pin, sizeof(job->pin));
	free(job->path);
	free(job->mechs);
	free(job->data);
	free(job->sig);
	pthread_cond_destroy(&job->cv);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

static void *
job_main(void *arg)
{
	struct p11_job *job = arg;

	int left;

	job->run(job);
	pthread_mutex_lock(&job->lock);
	job->done = 1;
	left = job->left;
	pthread_cond_signal(&job->cv);
	pthread_mutex_unlock(&job->lock);
	if (left && job->abandoned != NULL)
		job->abandoned(job);
	job_release(job);
	return NULL;
}

/*
 * A worker left in a module returns, if ever, into this library: keep it
 * loaded even when the application lets go of it (libpam unloads pam_siths,
 * and with it libsiths, at pam_end). The module itself is never unloaded
 * once hung.
 */
static void
library_pin(void)
{
	void *(*fn)(void *) = job_main;
	void *addr;
	Dl_info info;

	memcpy(&addr, &fn, sizeof(addr)); /* function to object pointer, without a warning */
	if (dladdr(addr, &info) != 0 && info.dli_fname != NULL)
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static void
deadline_at(struct timespec *until, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/*
 * Run job on a worker thread and wait for it until the context's deadline.
 * The caller keeps its reference either way. At the deadline the module is
 * marked hung and SITHS_ERR_CARD_TIMEOUT returned; what names the call.
 */
static int
job_run_within(const siths_ctx *ctx, struct p11_job *job, const char *what, int ms,
    const char *setting)
{
	struct timespec until;
	pthread_t tid;
	sigset_t all, old;
	int err, done;

	/* signals belong to the application's threads, never to the worker */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	job->refs++; /* the worker's; no other thread sees the job yet */
	err = pthread_create(&tid, NULL, job_main, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		job->refs--;
		return siths_fail(ctx, SITHS_ERR_NOMEM, "cannot start a thread for a card call");
	}
	deadline_at(&until, ms);
	pthread_mutex_lock(&job->lock);
	err = 0;
	while (!job->done && err == 0)
		err = pthread_cond_timedwait(&job->cv, &job->lock, &until);
	done = job->done;
	job->left = !done;
	pthread_mutex_unlock(&job->lock);
	if (done) {
		/* the worker still runs our code after done: joined, it has left it,
		 * before anyone can unload this library */
		pthread_join(tid, NULL);
		return 0;
	}
	library_pin();
	pthread_detach(tid);
	if (job->abandoned != NULL)
		return siths_fail(ctx, SITHS_ERR_CARD_TIMEOUT, "%s took longer than %d ms "
		    "([card] %s)", what, ms, setting);
	__atomic_store_n(&p11_hung, 1, __ATOMIC_RELEASE);
	return siths_fail(ctx, SITHS_ERR_CARD_TIMEOUT,
	    "the PKCS#11 module did not finish %s within %d ms ([card] %s); "
	    "it is not used again in this process", what, ms, setting);
}

static int
job_run(const siths_ctx *ctx, struct p11_job *job, const char *what)
{
	return job_run_within(ctx, job, what, ctx->cfg->card_timeout_ms, "timeout_ms");
}

/*
 * The short module calls, each under the deadline like the long ones: a
 * reader that stops answering can hang any call that reaches the card.
 */
static void
token_info_run(struct p11_job *job)
{
	job->rv = job->fn->C_GetTokenInfo(job->slot, &job->token_info);
}

static void
session_info_run(struct p11_job *job)
{
	job->rv = job->fn->C_GetSessionInfo(job->session, &job->session_info);
}

static void
session_open_run(struct p11_job *job)
{
	job->rv = job->fn->C_OpenSession(job->slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &job->session);
}

static void
logout_run(struct p11_job *job)
{
	(void)job->fn->C_Logout(job->session);
}

static void
session_end_run(struct p11_job *job)
{
	(void)job->fn->C_Logout(job->session);
	(void)job->fn->C_CloseSession(job->session);
}

/*
 * Run one of the calls above on fn for slot and session; the job, with
 * its results, is returned in *out for the caller to read and release.
 */
static int
module_call(const siths_ctx *ctx, CK_FUNCTION_LIST_PTR fn, void (*run)(struct p11_job *),
    CK_SLOT_ID slot, CK_SESSION_HANDLE session, const char *what, struct p11_job **out)
{
	struct p11_job *job;
	int r;

	*out = NULL;
	if (module_hung())
		return hung_fail(ctx);
	if ((job = job_new(run)) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	job->fn = fn;
	job->slot = slot;
	job->session = session;
	if ((r = job_run(ctx, job, what)) != 0) {
		job_release(job);
		return r;
	}
	*out = job;
	return 0;
}

/*
 * Our own handle on the module: loading it ourselves first gives dlerror()'s
 * reason for a module that does not load (libp11 prints it on stderr), and
 * its function list serves login and token flags.
 */
static int
module_open(siths_ctx *ctx, const char *path, void **dlp, CK_FUNCTION_LIST_PTR *fnp)
{
	CK_C_GetFunctionList get = NULL;
	void *dl = NULL, *sym;
	const char *why;
	int r = SITHS_ERR_INTERNAL;

	*dlp = NULL;
	*fnp = NULL;
	if ((dl = dlopen(path, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		return siths_fail(ctx, SITHS_ERR_CARD_MODULE,
		    "cannot load the PKCS#11 module %s: %s", path,
		    why != NULL ? why : "unknown reason");
	}
	if ((sym = dlsym(dl, "C_GetFunctionList")) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_CARD_MODULE, "%s is not a PKCS#11 module", path);
		goto out;
	}
	memcpy(&get, &sym, sizeof(get)); /* object to function pointer, without a warning */
	if (get(fnp) != CKR_OK || *fnp == NULL) {
		r = siths_fail(ctx, SITHS_ERR_CARD_MODULE,
		    "the PKCS#11 module %s gives no function list", path);
		goto out;
	}
	*dlp = dl;
	dl = NULL; /* transferred */
	/* success */
	r = 0;
 out:
	if (dl != NULL)
		dlclose(dl);
	return r;
}

/* libp11 loads the module again (its own dlopen) and calls C_Initialize. */
static void
load_run(struct p11_job *job)
{
	job->ok = PKCS11_CTX_load(job->pctx, job->path) == 0;
	job->rv = job->ok ? CKR_OK : queue_ckr();
	ERR_clear_error();
}

/* Load the module into p11; called with its lock held. */
static int
module_load(siths_ctx *ctx, struct siths_p11 *p11, const char *path)
{
	PKCS11_CTX *pctx = NULL;
	CK_FUNCTION_LIST_PTR fn = NULL;
	struct p11_job *job = NULL;
	void *dl = NULL;
	char why[512];
	int r = SITHS_ERR_INTERNAL;

	if (path == NULL || *path == '\0')
		return siths_fail(ctx, SITHS_ERR_CARD_MODULE,
		    "no PKCS#11 module configured ([card] pkcs11_module)");
	/* a bare name would be searched for along the library path */
	if (*path != '/')
		return siths_fail(ctx, SITHS_ERR_CARD_MODULE,
		    "the PKCS#11 module %s is not an absolute path", path);
	/* Loaded as code into a login process: nobody but root may have put it there. */
	if ((r = siths_check_code_file(path, why, sizeof(why))) != 0)
		return siths_fail(ctx, r == SITHS_ERR_CONFIG_UNSAFE ? r : SITHS_ERR_CARD_MODULE,
		    "refusing the PKCS#11 module: %s", why);
	if ((r = module_open(ctx, path, &dl, &fn)) != 0)
		goto out;
	if ((pctx = PKCS11_CTX_new()) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((job = job_new(load_run)) == NULL || (job->path = strdup(path)) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	job->pctx = pctx;
	if ((r = job_run(ctx, job, "C_Initialize")) != 0) {
		pctx = NULL; /* the worker may still use it: left to leak */
		goto out;
	}
	if (!job->ok) {
		r = siths_fail(ctx, SITHS_ERR_CARD_MODULE,
		    "the PKCS#11 module %s does not initialise (CKR 0x%lx)", path,
		    (unsigned long)job->rv);
		goto out;
	}
	siths_debug(ctx, "PKCS#11 module %s loaded", path);
	p11->pctx = pctx;
	p11->dl = dl;
	p11->fn = fn;
	pctx = NULL; /* transferred */
	dl = NULL; /* transferred */
	/* success */
	r = 0;
 out:
	job_release(job);
	if (pctx != NULL)
		PKCS11_CTX_free(pctx); /* never loaded: libp11 0.4.12 cannot unload it */
	if (dl != NULL && !module_hung())
		dlclose(dl);
	ERR_clear_error();
	return r;
}

int
siths_p11_init(siths_ctx *ctx)
{
	struct siths_p11 *p11 = NULL;
	int r = SITHS_ERR_INTERNAL;

	if (ctx == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (module_hung())
		return hung_fail(ctx);
	if ((r = p11_state(ctx, &p11)) != 0)
		return r;
	pthread_mutex_lock(&p11->lock);
	if (p11->pctx != NULL)
		r = 0;
	else
		r = module_load(ctx, p11, ctx->cfg != NULL ? ctx->cfg->pkcs11_module : NULL);
	pthread_mutex_unlock(&p11->lock);
	return r;
}

/* Release the slot list once no token uses it; called with the lock held. */
static void
slots_release(struct siths_p11 *p11)
{
	/* releasing closes sessions: a call into a hung module */
	if (p11->nopen > 0 || p11->slots == NULL || module_hung())
		return;
	PKCS11_release_all_slots(p11->pctx, p11->slots, p11->nslots);
	p11->slots = NULL;
	p11->nslots = 0;
}

void
siths_p11_free(siths_ctx *ctx)
{
	struct siths_p11 *p11;

	if (ctx == NULL || (p11 = ctx->p11) == NULL)
		return;
	ctx->p11 = NULL;
	if (p11->nopen > 0) {
		/* a leak is better than a token closing into freed memory */
		siths_err(ctx, "%zu card token(s) still open when the context is freed",
		    p11->nopen);
		return;
	}
	/* a worker may still be inside the module, using its slots */
	if (module_hung())
		return;
	slots_release(p11);
	if (p11->pctx != NULL) {
		PKCS11_CTX_unload(p11->pctx);
		PKCS11_CTX_free(p11->pctx);
	}
	if (p11->dl != NULL)
		dlclose(p11->dl);
	pthread_mutex_destroy(&p11->lock);
	free(p11);
}

/* --- choosing a card ---------------------------------------------------- */

/*
 * A bounded, printable copy of a string a reader or card chose: it reaches
 * logs, login prompts and JSON (text.c).
 */
static void
text_fit(char dst[P11_MAX_TEXT + 1], const char *s)
{
	siths_text_printable(dst, s, P11_MAX_TEXT);
}

static char *
text_copy(const char *s)
{
	return siths_text_printable_dup(s, P11_MAX_TEXT);
}

static int
key_has_id(const PKCS11_KEY *key, const unsigned char *id, size_t len)
{
	return key->id_len == len && memcmp(key->id, id, len) == 0;
}

static int
key_with_id(const PKCS11_KEY *keys, unsigned int n, const unsigned char *id, size_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (key_has_id(&keys[i], id, len))
			return 1;
	}
	return 0;
}

/*
 * Keep cert if a private key with its CKA_ID is on the card. Before login a
 * token may hide its private keys (SoftHSM does): a public key with the ID
 * stands in for it then, and signing looks for the private key again.
 * Certificates without an ID cannot be paired with a key and are skipped.
 */
static int
cert_take(struct siths_p11_token *tok, const PKCS11_CERT *cert, const PKCS11_KEY *prv,
    unsigned int nprv, const PKCS11_KEY *pub, unsigned int npub, int hidden_keys)
{
	struct p11_cert *c = &tok->certs[tok->ncerts];

	if (cert->x509 == NULL || cert->id_len == 0 || cert->id_len > P11_MAX_ID)
		return 0;
	if (!key_with_id(prv, nprv, cert->id, cert->id_len) &&
	    !(hidden_keys && key_with_id(pub, npub, cert->id, cert->id_len)))
		return 0;
	if ((c->x509 = X509_dup(cert->x509)) == NULL)
		return siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
	memcpy(c->id, cert->id, cert->id_len);
	c->id_len = cert->id_len;
	tok->ncerts++;
	return 0;
}

/* The failure of a module call on a card that returned rv. */
static int
card_fail_rv(struct siths_p11_token *tok, CK_RV rv, int otherwise, const char *what,
    const char *reader)
{
	return siths_fail(tok->ctx, ckr_status(rv, otherwise),
	    "cannot %s on the card in '%s' (CKR 0x%lx)", what, reader, (unsigned long)rv);
}

/*
 * Read the certificates of the card in slot and keep those with a key.
 * SITHS_ERR_CARD_NO_CERT when there is none.
 */
static void
objects_run(struct p11_job *job)
{
	PKCS11_TOKEN *t = job->token;

	job->ok = 0;
	job->failed = "list the certificates";
	if (PKCS11_enumerate_certs(t, &job->certs, &job->ncerts) != 0)
		goto out;
	job->failed = "list the private keys";
	if (PKCS11_enumerate_keys(t, &job->prv, &job->nprv) != 0)
		goto out;
	job->failed = "list the public keys";
	if (job->hidden_keys && PKCS11_enumerate_public_keys(t, &job->pub, &job->npub) != 0)
		goto out;
	job->ok = 1;
	job->failed = NULL;
 out:
	job->rv = job->ok ? CKR_OK : queue_ckr();
	ERR_clear_error();
}

static int
token_take(struct siths_p11_token *tok, PKCS11_SLOT *slot, const char *reader)
{
	PKCS11_TOKEN *t = slot->token;
	struct p11_job *job = NULL;
	unsigned int i;
	int r = SITHS_ERR_INTERNAL;

	/* libp11 reads the objects into arrays of its token, which stay its own */
	if ((job = job_new(objects_run)) == NULL)
		return siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
	job->token = t;
	job->hidden_keys = t->loginRequired;
	if ((r = job_run(tok->ctx, job, "listing the card's objects")) != 0)
		goto out;
	if (!job->ok) {
		r = card_fail_rv(tok, job->rv, SITHS_ERR_CARD_IO, job->failed, reader);
		goto out;
	}
	/* libp11 has read them all already; we consider the first few */
	for (i = 0; i < job->ncerts && tok->ncerts < P11_MAX_CERTS; i++) {
		if ((r = cert_take(tok, &job->certs[i], job->prv, job->nprv, job->pub, job->npub,
		    job->hidden_keys)) != 0)
			goto out;
	}
	if (tok->ncerts == 0) {
		r = SITHS_ERR_CARD_NO_CERT;
		goto out;
	}
	if ((tok->reader = text_copy(slot->description)) == NULL ||
	    (tok->label = text_copy(t->label)) == NULL ||
	    (tok->serial = text_copy(t->serialnr)) == NULL) {
		r = siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	tok->slot = slot;
	tok->slot_id = PKCS11_get_slotid_from_slot(slot);
	/* success */
	r = 0;
 out:
	job_release(job);
	return r;
}

static int
slot_busy(const struct siths_p11 *p11, CK_SLOT_ID id)
{
	size_t i;

	for (i = 0; i < p11->nopen; i++) {
		if (p11->busy[i] == id)
			return 1;
	}
	return 0;
}

/*
 * Is an initialised token in the slot now? The shared list may be older
 * than the last card removal. 1 yes, 0 no, or the failure of the call.
 */
static int
slot_ready(const siths_ctx *ctx, const struct siths_p11 *p11, CK_SLOT_ID id)
{
	struct p11_job *job = NULL;
	int r;

	if ((r = module_call(ctx, p11->fn, token_info_run, id, 0, "C_GetTokenInfo", &job)) != 0)
		return r;
	r = job->rv == CKR_OK && (job->token_info.flags & CKF_TOKEN_INITIALIZED) != 0;
	job_release(job);
	return r;
}

/*
 * The first slot of the shared list whose description contains pattern and
 * whose card holds a certificate with a key. Uninitialised tokens are skipped
 * unread: libp11 0.4.12 can hang on them (SoftHSM always shows one).
 */
static int
token_choose(struct siths_p11_token *tok, const char *pattern)
{
	struct siths_p11 *p11 = tok->p11;
	PKCS11_SLOT *slot;
	char reader[P11_MAX_TEXT + 1], where[P11_MAX_TEXT + 40];
	CK_SLOT_ID id;
	unsigned int i;
	int r, nocert = 0, busy = 0, err = 0;

	for (i = 0; i < p11->nslots; i++) {
		slot = &p11->slots[i];
		if (slot->description == NULL || slot->token == NULL || !slot->token->initialized)
			continue;
		if (pattern != NULL && strstr(slot->description, pattern) == NULL)
			continue;
		id = PKCS11_get_slotid_from_slot(slot);
		if (slot_busy(p11, id)) {
			busy = 1;
			continue;
		}
		if ((r = slot_ready(tok->ctx, p11, id)) < 0)
			return r;
		if (r == 0)
			continue;
		text_fit(reader, slot->description);
		if ((r = token_take(tok, slot, reader)) == 0)
			return 0;
		/* after a timeout the module is not asked about another slot: the
		 * timeout, naming the call that hung, is the answer */
		if (r == SITHS_ERR_NOMEM || r == SITHS_ERR_INTERNAL || r == SITHS_ERR_CARD_TIMEOUT ||
		    r == SITHS_ERR_CARD_MODULE)
			return r;
		if (r == SITHS_ERR_CARD_NO_CERT)
			nocert = 1;
		else if (err == 0)
			err = r;
	}
	if (pattern != NULL)
		snprintf(where, sizeof(where), "any reader matching '%.*s'", P11_MAX_TEXT, pattern);
	else
		snprintf(where, sizeof(where), "any reader");
	if (nocert)
		return siths_fail(tok->ctx, SITHS_ERR_CARD_NO_CERT,
		    "no certificate with a private key on the card in %s", where);
	if (err != 0)
		return err; /* the message of the card that failed stands */
	return siths_fail(tok->ctx, SITHS_ERR_CARD_ABSENT,
	    "no card with a certificate and key in %s%s", where,
	    busy ? " that is not already in use" : "");
}

/* Our own session, opened when the card is chosen, for login and logout. */
static int
token_session(struct siths_p11_token *tok)
{
	struct p11_job *job = NULL;
	CK_RV rv;
	int r;

	if ((r = module_call(tok->ctx, tok->p11->fn, session_open_run, tok->slot_id, 0,
	    "C_OpenSession", &job)) != 0)
		return r;
	rv = job->rv;
	tok->session = job->session;
	job_release(job);
	if (rv != CKR_OK)
		return siths_fail(tok->ctx, ckr_status(rv, SITHS_ERR_CARD_IO),
		    "cannot open a session with the card in '%s' (CKR 0x%lx)", tok->reader,
		    (unsigned long)rv);
	tok->have_session = 1;
	return 0;
}

/* Log out and end our session, so that no later caller finds the card
 * logged in. */
static void
token_end_session(struct siths_p11_token *tok)
{
	struct p11_job *job = NULL;

	if (!tok->have_session)
		return;
	/* also when a failed login left tok->logged_in unset: some cards keep
	 * an earlier login across a failed one */
	if (module_call(tok->ctx, tok->p11->fn, session_end_run, tok->slot_id, tok->session,
	    "closing the session", &job) == 0)
		job_release(job);
	tok->have_session = 0;
	tok->logged_in = 0;
}

/* Free a token that holds no claim on a slot. */
static void
token_free(struct siths_p11_token *tok)
{
	size_t i;

	if (tok == NULL)
		return;
	for (i = 0; i < tok->ncerts; i++)
		X509_free(tok->certs[i].x509);
	free(tok->reader);
	free(tok->label);
	free(tok->serial);
	free(tok);
}

/*
 * The slot list to choose from: enumerated afresh when no token is open, so
 * that new cards are seen; else the one the open tokens share. Called with
 * the lock held.
 */
static void
slots_run(struct p11_job *job)
{
	job->ok = PKCS11_enumerate_slots(job->pctx, &job->slots, &job->nslots) == 0;
	/* libp11 puts the module's CKR on this thread's error queue */
	job->rv = job->ok ? CKR_OK : queue_ckr();
	ERR_clear_error();
}

static int
slots_get(siths_ctx *ctx, struct siths_p11 *p11)
{
	struct p11_job *job = NULL;
	int r = SITHS_ERR_INTERNAL;

	if (p11->slots != NULL)
		return 0;
	if ((job = job_new(slots_run)) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	job->pctx = p11->pctx;
	if ((r = job_run(ctx, job, "listing the card readers")) != 0)
		goto out;
	if (!job->ok) {
		r = siths_fail(ctx, SITHS_ERR_CARD_IO, "cannot list the card readers (CKR 0x%lx)",
		    (unsigned long)job->rv);
		goto out;
	}
	p11->slots = job->slots;
	p11->nslots = job->nslots;
	job->slots = NULL; /* transferred */
	/* success */
	r = 0;
 out:
	job_release(job);
	return r;
}

int
siths_p11_open(siths_ctx *ctx, const char *pattern, struct siths_p11_token **out)
{
	struct siths_p11 *p11 = NULL;
	struct siths_p11_token *tok = NULL;
	int r = SITHS_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (out == NULL)
		return siths_fail(ctx, SITHS_ERR_INVALID_ARGUMENT, "siths_p11_open: no out");
	if (pattern != NULL && *pattern == '\0')
		pattern = NULL;
	if ((r = siths_p11_init(ctx)) != 0)
		return r;
	p11 = p11_get(ctx);
	if ((tok = calloc(1, sizeof(*tok))) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	tok->ctx = ctx;
	tok->p11 = p11;

	pthread_mutex_lock(&p11->lock);
	if (p11->nopen >= P11_MAX_OPEN) {
		r = siths_fail(ctx, SITHS_ERR_CARD_IO, "too many cards open in this process");
		goto out;
	}
	if ((r = slots_get(ctx, p11)) != 0 || (r = token_choose(tok, pattern)) != 0 ||
	    (r = token_session(tok)) != 0)
		goto out;
	p11->busy[p11->nopen++] = tok->slot_id;
	siths_debug(ctx, "card '%s' (serial %s) in '%s': %zu certificate(s) with a key",
	    tok->label, tok->serial, tok->reader, tok->ncerts);
	*out = tok;
	tok = NULL; /* transferred */
	/* success */
	r = 0;
 out:
	if (tok != NULL)
		token_end_session(tok);
	slots_release(p11);
	pthread_mutex_unlock(&p11->lock);
	token_free(tok);
	ERR_clear_error();
	return r;
}

void
siths_p11_close(struct siths_p11_token **tokp)
{
	struct siths_p11_token *tok;
	struct siths_p11 *p11;
	size_t i;

	if (tokp == NULL || (tok = *tokp) == NULL)
		return;
	*tokp = NULL;
	p11 = tok->p11;
	token_end_session(tok);
	pthread_mutex_lock(&p11->lock);
	for (i = 0; i < p11->nopen; i++) {
		if (p11->busy[i] == tok->slot_id) {
			p11->busy[i] = p11->busy[--p11->nopen];
			break;
		}
	}
	slots_release(p11);
	pthread_mutex_unlock(&p11->lock);
	token_free(tok);
	ERR_clear_error();
}

const char *
siths_p11_reader(const struct siths_p11_token *tok)
{
	return tok != NULL ? tok->reader : NULL;
}

const char *
siths_p11_label(const struct siths_p11_token *tok)
{
	return tok != NULL ? tok->label : NULL;
}

const char *
siths_p11_serial(const struct siths_p11_token *tok)
{
	return tok != NULL ? tok->serial : NULL;
}

size_t
siths_p11_cert_count(const struct siths_p11_token *tok)
{
	return tok != NULL ? tok->ncerts : 0;
}

X509 *
siths_p11_cert(const struct siths_p11_token *tok, size_t i)
{
	if (tok == NULL || i >= tok->ncerts)
		return NULL;
	return tok->certs[i].x509;
}

/* --- PIN ---------------------------------------------------------------- */

/* Is our session, and so the card we chose, still there? */
static int
token_present(struct siths_p11_token *tok)
{
	struct p11_job *job = NULL;
	CK_RV rv;
	int r;

	if (module_hung())
		return hung_fail(tok->ctx);
	if (tok->pad_abandoned)
		return siths_fail(tok->ctx, SITHS_ERR_CARD_TIMEOUT,
		    "the PIN pad of '%s' was left waiting earlier; open the card again",
		    tok->reader);
	if (!tok->have_session)
		return siths_fail(tok->ctx, SITHS_ERR_CARD_REMOVED,
		    "the card in '%s' was removed", tok->reader);
	if ((r = module_call(tok->ctx, tok->p11->fn, session_info_run, tok->slot_id,
	    tok->session, "C_GetSessionInfo", &job)) != 0)
		return r;
	rv = job->rv;
	job_release(job);
	if (rv != CKR_OK)
		return siths_fail(tok->ctx, ckr_status(rv, SITHS_ERR_CARD_IO),
		    "the card in '%s' does not answer (CKR 0x%lx)", tok->reader,
		    (unsigned long)rv);
	return 0;
}

/* Fresh token flags: libp11 keeps those of its last enumeration. */
static int
token_info(struct siths_p11_token *tok, CK_TOKEN_INFO *info)
{
	struct p11_job *job = NULL;
	CK_RV rv;
	int r;

	memset(info, 0, sizeof(*info));
	if ((r = token_present(tok)) != 0)
		return r;
	if ((r = module_call(tok->ctx, tok->p11->fn, token_info_run, tok->slot_id, 0,
	    "C_GetTokenInfo", &job)) != 0)
		return r;
	rv = job->rv;
	*info = job->token_info;
	job_release(job);
	if (rv != CKR_OK)
		return siths_fail(tok->ctx, ckr_status(rv, SITHS_ERR_CARD_IO),
		    "cannot read the state of the card in '%s' (CKR 0x%lx)", tok->reader,
		    (unsigned long)rv);
	return 0;
}

int
siths_p11_pin_state(struct siths_p11_token *tok, siths_pin_state *state)
{
	CK_TOKEN_INFO info;
	siths_pin_state st = 0;
	int r;

	if (state != NULL)
		*state = 0;
	if (tok == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (state == NULL)
		return siths_fail(tok->ctx, SITHS_ERR_INVALID_ARGUMENT,
		    "siths_p11_pin_state: no out");
	if ((r = token_info(tok, &info)) != 0)
		return r;
	if (info.flags & CKF_USER_PIN_COUNT_LOW)
		st |= SITHS_PIN_COUNT_LOW;
	if (info.flags & CKF_USER_PIN_FINAL_TRY)
		st |= SITHS_PIN_FINAL_TRY;
	if (info.flags & CKF_USER_PIN_LOCKED)
		st |= SITHS_PIN_LOCKED;
	if (info.flags & CKF_USER_PIN_TO_BE_CHANGED)
		st |= SITHS_PIN_MUST_CHANGE;
	if (info.flags & CKF_PROTECTED_AUTHENTICATION_PATH)
		st |= SITHS_PIN_PAD;
	*state = st;
	return 0;
}

static int
login_fail(struct siths_p11_token *tok, CK_RV rv, size_t len)
{
	CK_TOKEN_INFO info;
	const char *reader = tok->reader;

	switch (rv) {
	case CKR_PIN_INCORRECT:
		return siths_fail(tok->ctx, SITHS_ERR_PIN_INCORRECT,
		    "the card in '%s' did not accept the PIN", reader);
	case CKR_PIN_LOCKED:
		return siths_fail(tok->ctx, SITHS_ERR_PIN_LOCKED,
		    "the PIN of the card in '%s' is locked", reader);
	case CKR_PIN_EXPIRED:
		return siths_fail(tok->ctx, SITHS_ERR_PIN_MUST_CHANGE,
		    "the PIN of the card in '%s' has expired and must be changed", reader);
	case CKR_FUNCTION_CANCELED:
		return siths_fail(tok->ctx, SITHS_ERR_CARD_CANCELLED,
		    "the PIN entry on the reader '%s' was cancelled", reader);
	case CKR_PIN_INVALID:
		return siths_fail(tok->ctx, SITHS_ERR_PIN_FORMAT,
		    "the card in '%s' does not accept the characters of the PIN", reader);
	case CKR_PIN_LEN_RANGE:
		if (token_info(tok, &info) == 0 && info.ulMinPinLen != CK_UNAVAILABLE_INFORMATION &&
		    len < info.ulMinPinLen)
			return siths_fail(tok->ctx, SITHS_ERR_PIN_TOO_SHORT,
			    "the PIN is too short for the card in '%s'", reader);
		return siths_fail(tok->ctx, SITHS_ERR_PIN_TOO_LONG,
		    "the PIN is too long for the card in '%s'", reader);
	default:
		return siths_fail(tok->ctx, ckr_status(rv, SITHS_ERR_CARD_IO),
		    "login to the card in '%s' failed (CKR 0x%lx)", reader, (unsigned long)rv);
	}
}

static void
login_run(struct p11_job *job)
{
	CK_FUNCTION_LIST_PTR fn = job->fn;
	/* no PIN on a protected authentication path: the reader's pad asks */
	CK_UTF8CHAR_PTR pin = job->pin_pad ? NULL : job->pin;
	CK_ULONG len = job->pin_pad ? 0 : job->pin_len;

	job->rv = fn->C_Login(job->session, CKU_USER, pin, len);
	if (job->rv == CKR_USER_ALREADY_LOGGED_IN) {
		/* logged in before, by us or by other code in this process: the
		 * card has not checked this PIN, so log out and let it */
		(void)fn->C_Logout(job->session);
		job->rv = fn->C_Login(job->session, CKU_USER, pin, len);
	}
	/* not kept a moment longer than the module needs it */
	explicit_bzero(job->pin, sizeof(job->pin));
}

/*
 * A PIN pad nobody finished with before the deadline: the session is the
 * worker's now. Whatever was typed late, the card does not stay logged in.
 */
static void
pad_abandoned(struct p11_job *job)
{
	(void)job->fn->C_Logout(job->session);
	(void)job->fn->C_CloseSession(job->session);
}

int
siths_p11_login(struct siths_p11_token *tok, const char *pin)
{
	struct p11_job *job = NULL;
	size_t len = 0;
	int r = SITHS_ERR_INTERNAL;

	if (tok == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	/* pin == NULL: the reader's PIN pad asks (the caller checked it has one) */
	if (pin != NULL && (len = strnlen(pin, P11_MAX_PIN + 1)) == 0)
		return siths_fail(tok->ctx, SITHS_ERR_PIN_EMPTY, "no PIN given");
	if (len > P11_MAX_PIN)
		return siths_fail(tok->ctx, SITHS_ERR_PIN_TOO_LONG, "the PIN is too long");
	if (module_hung())
		return hung_fail(tok->ctx);
	if (tok->pad_abandoned || !tok->have_session)
		return token_present(tok);
	if ((job = job_new(login_run)) == NULL)
		return siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
	job->fn = tok->p11->fn;
	job->session = tok->session;
	/* the job's own copy: a caller gone at the deadline takes its PIN with
	 * it while the worker may still be in C_Login */
	if (pin != NULL)
		memcpy(job->pin, pin, len);
	job->pin_len = len;
	job->pin_pad = pin == NULL;
	tok->logged_in = 0;
	if (pin == NULL) {
		/* a person, not a module, may be slow here: the module is not
		 * given up on, only this session */
		job->abandoned = pad_abandoned;
		r = job_run_within(tok->ctx, job, "the PIN entry on the reader's PIN pad",
		    tok->ctx->cfg->pinpad_timeout_ms, "pinpad_timeout_ms");
		if (r == SITHS_ERR_CARD_TIMEOUT) {
			tok->have_session = 0;
			tok->pad_abandoned = 1;
		}
	} else {
		r = job_run(tok->ctx, job, "the PIN login");
	}
	if (r != 0)
		goto out;
	if (job->rv != CKR_OK) {
		r = login_fail(tok, job->rv, len);
		goto out;
	}
	tok->logged_in = 1;
	siths_debug(tok->ctx, "logged in to the card in '%s'", tok->reader);
	/* success */
	r = 0;
 out:
	job_release(job);
	return r;
}

void
siths_p11_logout(struct siths_p11_token *tok)
{
	if (tok == NULL || !tok->have_session)
		return;
	struct p11_job *job = NULL;

	/* also when tok->logged_in is unset: the card may hold an older login */
	if (module_call(tok->ctx, tok->p11->fn, logout_run, tok->slot_id, tok->session,
	    "C_Logout", &job) == 0)
		job_release(job);
	tok->logged_in = 0;
}

/* --- changing and unblocking the PIN ------------------------------------ */

/*
 * Both run in a read-write session of their own (C_SetPIN and an SO login
 * need one), opened and closed by the job; job->what names the call that
 * failed, for pin_change_fail(). A change logs the user in first: in a
 * session without a login, some modules take C_SetPIN for an unblock with
 * the PUK (OpenSC's pin_unblock_style = set_pin_in_unlogged_session).
 */
static void
set_pin_run(struct p11_job *job)
{
	CK_FUNCTION_LIST_PTR fn = job->fn;
	CK_SESSION_HANDLE s;

	job->what = "C_OpenSession";
	job->rv = fn->C_OpenSession(job->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &s);
	if (job->rv == CKR_OK) {
		job->what = "C_Login";
		job->rv = fn->C_Login(s, CKU_USER, job->pin, job->pin_len);
		if (job->rv == CKR_USER_ALREADY_LOGGED_IN)
			job->rv = CKR_OK;
		if (job->rv == CKR_OK) {
			job->what = "C_SetPIN";
			job->rv = fn->C_SetPIN(s, job->pin, job->pin_len, job->new_pin,
			    job->new_pin_len);
			(void)fn->C_Logout(s);
		}
		(void)fn->C_CloseSession(s);
	}
	explicit_bzero(job->pin, sizeof(job->pin));
	explicit_bzero(job->new_pin, sizeof(job->new_pin));
}

/*
 * The PUK is the token's security officer PIN (C_Login as CKU_SO); C_InitPIN
 * sets the new PIN. An SO login is refused while any read-only session of
 * this process is open on the token (CKR_SESSION_READ_ONLY_EXISTS), and
 * libp11 keeps the one it listed the objects in: all are closed first. The
 * card's objects are read already; the token's own session opens again
 * afterwards (siths_p11_unblock_pin).
 */
static void
unblock_run(struct p11_job *job)
{
	CK_FUNCTION_LIST_PTR fn = job->fn;
	CK_SESSION_HANDLE s;

	(void)fn->C_CloseAllSessions(job->slot);
	job->what = "C_OpenSession";
	job->rv = fn->C_OpenSession(job->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &s);
	if (job->rv == CKR_OK) {
		job->what = "C_Login(CKU_SO)";
		job->rv = fn->C_Login(s, CKU_SO, job->pin, job->pin_len);
		if (job->rv == CKR_OK) {
			job->what = "C_InitPIN";
			job->rv = fn->C_InitPIN(s, job->new_pin, job->new_pin_len);
			(void)fn->C_Logout(s);
		}
		(void)fn->C_CloseSession(s);
	}
	explicit_bzero(job->pin, sizeof(job->pin));
	explicit_bzero(job->new_pin, sizeof(job->new_pin));
}

/*
 * Whether an SO login's refusal says the module has no way to unblock with
 * the PUK (no SO user, or one it cannot verify, as OpenSC's PIV driver,
 * whose card takes the PUK only inside RESET RETRY COUNTER), rather than
 * that the card is gone or the PUK wrong.
 */
static int
so_login_unsupported(CK_RV rv)
{
	switch (rv) {
	case CKR_FUNCTION_NOT_SUPPORTED:
	case CKR_USER_TYPE_INVALID:
	case CKR_GENERAL_ERROR:
	case CKR_FUNCTION_FAILED:
	case CKR_USER_PIN_NOT_INITIALIZED:
		return 1;
	default:
		return 0;
	}
}

/* What a failed change or unblock means; the new PIN had new_len bytes. */
static int
pin_change_fail(struct siths_p11_token *tok, const char *step, CK_RV rv, int unblock,
    size_t new_len)
{
	const char *reader = tok->reader;
	int so = strcmp(step, "C_Login(CKU_SO)") == 0;
	CK_TOKEN_INFO info;

	if (so && so_login_unsupported(rv))
		return siths_fail(tok->ctx, SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED, "the module of the "
		    "card in '%s' has no PUK login (C_Login(CKU_SO): CKR 0x%lx)", reader,
		    (unsigned long)rv);
	switch (rv) {
	case CKR_PIN_INCORRECT:
		return unblock ? siths_fail(tok->ctx, SITHS_ERR_PUK_INCORRECT,
		    "the card in '%s' did not accept the PUK", reader) :
		    siths_fail(tok->ctx, SITHS_ERR_PIN_INCORRECT,
		    "the card in '%s' did not accept the old PIN", reader);
	case CKR_PIN_LOCKED:
		return unblock ? siths_fail(tok->ctx, SITHS_ERR_PUK_LOCKED,
		    "the PUK of the card in '%s' is locked", reader) :
		    siths_fail(tok->ctx, SITHS_ERR_PIN_LOCKED,
		    "the PIN of the card in '%s' is locked", reader);
	case CKR_PIN_INVALID:
		if (so)
			break;
		return siths_fail(tok->ctx, SITHS_ERR_PIN_FORMAT,
		    "the card in '%s' does not accept the characters of the new PIN", reader);
	case CKR_PIN_LEN_RANGE:
		if (so)
			break;
		return siths_fail(tok->ctx, token_info(tok, &info) == 0 &&
		    info.ulMinPinLen != CK_UNAVAILABLE_INFORMATION && new_len < info.ulMinPinLen ?
		    SITHS_ERR_PIN_TOO_SHORT : SITHS_ERR_PIN_TOO_LONG,
		    "the card in '%s' does not take a new PIN of %zu digits", reader, new_len);
	case CKR_FUNCTION_NOT_SUPPORTED:
	case CKR_USER_TYPE_INVALID:
	case CKR_SESSION_READ_ONLY:
	case CKR_SESSION_READ_ONLY_EXISTS:
	case CKR_TOKEN_WRITE_PROTECTED:
		return siths_fail(tok->ctx, unblock ? SITHS_ERR_PIN_UNBLOCK_UNSUPPORTED :
		    SITHS_ERR_CARD_IO, "the card in '%s' does not let its PIN be %s here (%s: CKR "
		    "0x%lx)", reader, unblock ? "unblocked" : "changed", step, (unsigned long)rv);
	default:
		break;
	}
	return siths_fail(tok->ctx, ckr_status(rv, SITHS_ERR_CARD_IO),
	    "%s on the card in '%s' failed (CKR 0x%lx)", step, reader, (unsigned long)rv);
}

/* Run a change (unblock 0: secret is the old PIN) or an unblock (secret is the PUK). */
static int
pin_change_job(struct siths_p11_token *tok, const char *secret, const char *new_pin,
    int unblock)
{
	size_t len = strnlen(secret, P11_MAX_PIN + 1), new_len = strnlen(new_pin, P11_MAX_PIN + 1);
	struct p11_job *job = NULL;
	int r;

	if (len == 0 || new_len == 0)
		return siths_fail(tok->ctx, SITHS_ERR_PIN_EMPTY, "no PIN given");
	if (len > P11_MAX_PIN || new_len > P11_MAX_PIN)
		return siths_fail(tok->ctx, SITHS_ERR_PIN_TOO_LONG, "the PIN is too long");
	/* an unblock has closed our session: its caller asked first */
	if (!unblock && (r = token_present(tok)) != 0)
		return r;
	if ((job = job_new(unblock ? unblock_run : set_pin_run)) == NULL)
		return siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
	job->fn = tok->p11->fn;
	job->slot = tok->slot_id;
	/* the job's own copies, as for login */
	memcpy(job->pin, secret, len);
	job->pin_len = len;
	memcpy(job->new_pin, new_pin, new_len);
	job->new_pin_len = new_len;
	r = job_run(tok->ctx, job, unblock ? "the PIN unblock" : "the PIN change");
	if (r == 0 && job->rv != CKR_OK)
		r = pin_change_fail(tok, job->what, job->rv, unblock, new_len);
	job_release(job);
	return r;
}

int
siths_p11_change_pin(struct siths_p11_token *tok, const char *old_pin, const char *new_pin)
{
	int r;

	if (tok == NULL || old_pin == NULL || new_pin == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_p11_logout(tok);
	if ((r = pin_change_job(tok, old_pin, new_pin, 0)) == 0)
		siths_info(tok->ctx, "the PIN of the card in '%s' was changed", tok->reader);
	return r;
}

int
siths_p11_unblock_pin(struct siths_p11_token *tok, const char *puk, const char *new_pin)
{
	int r, r2;

	if (tok == NULL || puk == NULL || new_pin == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	/* an SO login wants no user logged in and no read-only session open
	 * (unblock_run): ours ends for it and opens again */
	if ((r = token_present(tok)) != 0)
		return r;
	token_end_session(tok);
	if ((r = pin_change_job(tok, puk, new_pin, 1)) == 0)
		siths_info(tok->ctx, "the PIN of the card in '%s' was unblocked", tok->reader);
	if ((r2 = token_session(tok)) != 0 && r == 0)
		r = r2;
	return r;
}

/* --- signing ------------------------------------------------------------ */

/*
 * The proof of possession is signed on our own session, through the
 * module's function list: the login on that session covers every session
 * of this process with the token, and the mechanism is ours to choose, not
 * libp11's. The ways to sign, best first; the first one the token offers
 * for the key's type is used:
 *  - an EC key: ECDSA over a SHA-256 digest made here (CKM_ECDSA), or
 *    hashed by the module (CKM_ECDSA_SHA256) where only that is offered;
 *  - an RSA key: RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt,
 *    hashed by the module or here; else PKCS#1 v1.5 with SHA-256, hashed by
 *    the module or wrapped here into a DigestInfo for CKM_RSA_PKCS.
 * Every digest is SHA-256 and made by us or the card over our challenge:
 * nothing the card chooses reaches the signature input.
 */
enum sign_input {
	INPUT_DATA,        /* the challenge itself; the module hashes */
	INPUT_DIGEST,      /* its SHA-256 digest */
	INPUT_DIGEST_INFO, /* its digest in a DER DigestInfo, for raw PKCS#1 v1.5 */
};

static const struct sign_way {
	CK_KEY_TYPE key;
	CK_MECHANISM_TYPE ckm;
	enum sign_input input;
	enum siths_p11_mech mech;
	const char *name;  /* the mechanism, for the debug log */
} sign_ways[] = {
	{ CKK_EC, CKM_ECDSA, INPUT_DIGEST, SITHS_P11_ECDSA, "CKM_ECDSA" },
	{ CKK_EC, CKM_ECDSA_SHA256, INPUT_DATA, SITHS_P11_ECDSA, "CKM_ECDSA_SHA256" },
	{ CKK_RSA, CKM_SHA256_RSA_PKCS_PSS, INPUT_DATA, SITHS_P11_RSA_PSS,
	    "CKM_SHA256_RSA_PKCS_PSS" },
	{ CKK_RSA, CKM_RSA_PKCS_PSS, INPUT_DIGEST, SITHS_P11_RSA_PSS, "CKM_RSA_PKCS_PSS" },
	{ CKK_RSA, CKM_SHA256_RSA_PKCS, INPUT_DATA, SITHS_P11_RSA_PKCS1, "CKM_SHA256_RSA_PKCS" },
	{ CKK_RSA, CKM_RSA_PKCS, INPUT_DIGEST_INFO, SITHS_P11_RSA_PKCS1, "CKM_RSA_PKCS" },
};
#define SIGN_WAYS (sizeof(sign_ways) / sizeof(sign_ways[0]))

/* DER of DigestInfo { sha256, NULL } up to the digest's 32 bytes (RFC 8017, 9.2) */
static const unsigned char sha256_digest_info[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x01, 0x05, 0x00, 0x04, 0x20,
};

const char *
siths_p11_mech_name(enum siths_p11_mech mech)
{
	switch (mech) {
	case SITHS_P11_RSA_PKCS1:
		return "RSA PKCS#1 v1.5/SHA-256";
	case SITHS_P11_RSA_PSS:
		return "RSA-PSS/SHA-256";
	case SITHS_P11_ECDSA:
		return "ECDSA/SHA-256";
	default:
		return "none";
	}
}

/* What the key of a certificate is and how the token can sign with it. */
struct sign_key {
	CK_OBJECT_HANDLE handle;
	CK_KEY_TYPE type;
	unsigned int offered;  /* bit w: sign_ways[w] can sign on this token */
};

/*
 * Which of sign_ways the token offers for signing: its mechanism list, and
 * for those of ours in it, their flags. Runs on the worker.
 */
static CK_RV
offered_ways(struct p11_job *job)
{
	CK_FUNCTION_LIST_PTR fn = job->fn;
	CK_MECHANISM_INFO info;
	CK_ULONG n = 0, room, k;
	size_t w;
	CK_RV rv;

	job->what = "list the signing mechanisms";
	if ((rv = fn->C_GetMechanismList(job->slot, NULL, &n)) != CKR_OK)
		return rv;
	/* a list this long is no card's: refuse rather than allocate for it */
	if (n > P11_MAX_MECHS)
		return CKR_BUFFER_TOO_SMALL;
	if (n == 0)
		return CKR_OK;
	if ((job->mechs = calloc(n, sizeof(*job->mechs))) == NULL)
		return CKR_HOST_MEMORY;
	room = n;
	if ((rv = fn->C_GetMechanismList(job->slot, job->mechs, &n)) != CKR_OK)
		return rv;
	/* what the module says it wrote, never more than it was given */
	if (n > room)
		n = room;
	for (k = 0; k < n; k++) {
		for (w = 0; w < SIGN_WAYS; w++) {
			if (job->mechs[k] != sign_ways[w].ckm)
				continue;
			/* a mechanism the token lists but cannot tell about is not offered */
			if (fn->C_GetMechanismInfo(job->slot, sign_ways[w].ckm, &info) == CKR_OK &&
			    (info.flags & CKF_SIGN))
				job->offered |= 1u << w;
		}
	}
	return CKR_OK;
}

/*
 * The private key with the certificate's CKA_ID, its type, and the ways the
 * token offers to sign. Runs on the worker. A card holding two private keys
 * with one ID gets its first: the signature is checked against the
 * certificate either way.
 */
static void
key_run(struct p11_job *job)
{
	CK_FUNCTION_LIST_PTR fn = job->fn;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, job->id, job->id_len },
	};
	CK_ATTRIBUTE type = { CKA_KEY_TYPE, &job->key_type, sizeof(job->key_type) };
	CK_RV rv;

	job->what = "find the private key";
	if ((job->rv = fn->C_FindObjectsInit(job->session, find, 2)) != CKR_OK)
		return;
	job->rv = fn->C_FindObjects(job->session, &job->key, 1, &job->nkeys);
	/* also after a failed search: the session must not stay in one */
	rv = fn->C_FindObjectsFinal(job->session);
	if (job->rv == CKR_OK)
		job->rv = rv;
	if (job->rv != CKR_OK || job->nkeys == 0)
		return;
	job->what = "read the type of the private key";
	if ((job->rv = fn->C_GetAttributeValue(job->session, job->key, &type, 1)) != CKR_OK)
		return;
	if (type.ulValueLen != sizeof(job->key_type)) {
		job->rv = CKR_ATTRIBUTE_VALUE_INVALID;
		return;
	}
	job->rv = offered_ways(job);
}

/* The key of certificate i on the card, found on our logged-in session. */
static int
sign_key_find(struct siths_p11_token *tok, size_t i, struct sign_key *key)
{
	const struct p11_cert *c = &tok->certs[i];
	struct p11_job *job = NULL;
	int r = SITHS_ERR_INTERNAL;

	memset(key, 0, sizeof(*key));
	if ((job = job_new(key_run)) == NULL)
		return siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
	job->fn = tok->p11->fn;
	job->session = tok->session;
	job->slot = tok->slot_id;
	memcpy(job->id, c->id, c->id_len);
	job->id_len = c->id_len;
	if ((r = job_run(tok->ctx, job, "finding the card's key")) != 0)
		goto out;
	if (job->rv != CKR_OK) {
		r = card_fail_rv(tok, job->rv, SITHS_ERR_CARD_SIGN, job->what, tok->reader);
		goto out;
	}
	if (job->nkeys == 0) {
		r = siths_fail(tok->ctx, SITHS_ERR_CARD_SIGN,
		    "no private key for certificate %zu on the card in '%s'", i, tok->reader);
		goto out;
	}
	key->handle = job->key;
	key->type = job->key_type;
	key->offered = job->offered;
	/* success */
	r = 0;
 out:
	job_release(job);
	return r;
}

/* The first way from index w on that suits the key and the token; SIGN_WAYS: none. */
static size_t
sign_way_next(const struct sign_key *key, size_t w)
{
	for (; w < SIGN_WAYS; w++) {
		if (sign_ways[w].key == key->type && (key->offered & (1u << w)))
			return w;
	}
	return SIGN_WAYS;
}

static void
sign_run(struct p11_job *job)
{
	CK_ULONG n = job->siglen;

	job->rv = job->fn->C_SignInit(job->session, &job->mech, job->key);
	if (job->rv == CKR_OK)
		job->rv = job->fn->C_Sign(job->session, job->data, job->len, job->sig, &n);
	job->siglen = n;
}

/* What the card signs for way: the challenge, its digest or its DigestInfo. */
static int
sign_input(const siths_ctx *ctx, enum sign_input input, const unsigned char *data, size_t len,
    unsigned char **out, size_t *outlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t pre = input == INPUT_DIGEST_INFO ? sizeof(sha256_digest_info) : 0, n;
	unsigned char *buf = NULL;

	*out = NULL;
	*outlen = 0;
	n = input == INPUT_DATA ? len : pre + sizeof(md);
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return siths_fail(ctx, SITHS_ERR_NOMEM, "out of memory");
	if (input == INPUT_DATA) {
		if (len > 0)
			memcpy(buf, data, len);
	} else {
		if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1) {
			free(buf);
			return siths_fail(ctx, SITHS_ERR_INTERNAL, "cannot hash the challenge");
		}
		memcpy(buf, sha256_digest_info, pre);
		memcpy(buf + pre, md, sizeof(md));
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/*
 * One try to sign with way: a job with its own copy of the input, room for
 * max bytes of signature. The caller reads the job's rv and releases it.
 */
static int
sign_try(struct siths_p11_token *tok, const struct sign_key *key, const struct sign_way *way,
    const unsigned char *data, size_t len, size_t max, struct p11_job **out)
{
	struct p11_job *job = NULL;
	int r = SITHS_ERR_INTERNAL;

	*out = NULL;
	if ((job = job_new(sign_run)) == NULL || (job->sig = malloc(max)) == NULL) {
		r = siths_fail(tok->ctx, SITHS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = sign_input(tok->ctx, way->input, data, len, &job->data, &job->len)) != 0)
		goto out;
	job->fn = tok->p11->fn;
	job->session = tok->session;
	job->key = key->handle;
	job->siglen = max;
	job->mech.mechanism = way->ckm;
	if (way->mech == SITHS_P11_RSA_PSS) {
		job->pss.hashAlg = CKM_SHA256;
		job->pss.mgf = CKG_MGF1_SHA256;
		job->pss.sLen = SITHS_P11_PSS_SALT;
		job->mech.pParameter = &job->pss; /* the job's own: the worker may outlive us */
		job->mech.ulParameterLen = sizeof(job->pss);
	}
	siths_debug(tok->ctx, "signing with %s on the card in '%s'", way->name, tok->reader);
	if ((r = job_run(tok->ctx, job, "signing")) != 0)
		goto out;
	*out = job;
	job = NULL; /* transferred */
	/* success */
	r = 0;
 out:
	job_release(job);
	return r;
}

/*
 * A token that lists RSA-PSS but turns down the mechanism or its parameters
 * when asked (some drivers offer PSS with other hashes or salts only) signs
 * with PKCS#1 v1.5 instead: for a fresh random challenge both are sound
 * proofs of possession, and the scheme used is what the verifier checks, so
 * the card gains nothing by it, while refusing would lock the holder of such
 * a card out. Any other failure of PSS stands.
 */
static int
pss_turned_down(const struct sign_way *way, CK_RV rv)
{
	return way->mech == SITHS_P11_RSA_PSS &&
	    (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID);
}

/* The first way after w that is not RSA-PSS. */
static size_t
sign_way_after_pss(const struct sign_key *key, size_t w)
{
	while (w < SIGN_WAYS && sign_ways[w].mech == SITHS_P11_RSA_PSS)
		w++;
	return sign_way_next(key, w);
}

/* The most a signature with the certificate's key can take, capped. */
static int
sign_max(struct siths_p11_token *tok, size_t i, size_t *max)
{
	int size = EVP_PKEY_get_size(X509_get0_pubkey(tok->certs[i].x509));

	*max = 0;
	/* for EC the DER form's size: more than PKCS#11's r || s needs */
	if (size <= 0 || (size_t)size > P11_MAX_SIG)
		return siths_fail(tok->ctx, SITHS_ERR_CARD_SIGN,
		    "the key of the certificate on the card in '%s' has an unusable size (%d)",
		    tok->reader, size);
	*max = (size_t)size;
	return 0;
}

int
siths_p11_sign(struct siths_p11_token *tok, size_t i, const unsigned char *data, size_t len,
    enum siths_p11_mech *mech, unsigned char **sig, size_t *siglen)
{
	struct sign_key key;
	struct p11_job *job = NULL;
	size_t max = 0, n, w, v;
	int r = SITHS_ERR_INTERNAL;

	if (mech != NULL)
		*mech = SITHS_P11_MECH_NONE;
	if (sig != NULL)
		*sig = NULL;
	if (siglen != NULL)
		*siglen = 0;
	if (tok == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	if (mech == NULL || sig == NULL || siglen == NULL || (data == NULL && len > 0) ||
	    i >= tok->ncerts)
		return siths_fail(tok->ctx, SITHS_ERR_INVALID_ARGUMENT,
		    "siths_p11_sign: bad arguments");
	/* the proof of possession stands for the card holder only after the PIN */
	if (!tok->logged_in)
		return siths_fail(tok->ctx, SITHS_ERR_CARD_NOT_LOGGED_IN,
		    "the card in '%s' is asked to sign before a PIN login", tok->reader);
	if (module_hung())
		return hung_fail(tok->ctx);
	if (!tok->have_session)
		return siths_fail(tok->ctx, SITHS_ERR_CARD_REMOVED,
		    "the card in '%s' was removed", tok->reader);
	if ((r = sign_max(tok, i, &max)) != 0 || (r = sign_key_find(tok, i, &key)) != 0)
		goto out;
	if (key.type != CKK_RSA && key.type != CKK_EC) {
		r = siths_fail(tok->ctx, SITHS_ERR_CARD_SIGN,
		    "the key on the card in '%s' is neither RSA nor EC (CKK 0x%lx)", tok->reader,
		    (unsigned long)key.type);
		goto out;
	}
	if ((w = sign_way_next(&key, 0)) == SIGN_WAYS) {
		r = siths_fail(tok->ctx, SITHS_ERR_CARD_SIGN,
		    "the card in '%s' offers no way to sign with its %s key (%s)", tok->reader,
		    key.type == CKK_EC ? "EC" : "RSA",
		    key.type == CKK_EC ? "ECDSA" : "RSA-PSS or PKCS#1 v1.5");
		goto out;
	}
	if ((r = sign_try(tok, &key, &sign_ways[w], data, len, max, &job)) != 0)
		goto out;
	if (pss_turned_down(&sign_ways[w], job->rv) &&
	    (v = sign_way_after_pss(&key, w)) != SIGN_WAYS) {
		siths_debug(tok->ctx, "the card in '%s' turned down %s (CKR 0x%lx)", tok->reader,
		    sign_ways[w].name, (unsigned long)job->rv);
		job_release(job);
		job = NULL;
		w = v;
		if ((r = sign_try(tok, &key, &sign_ways[w], data, len, max, &job)) != 0)
			goto out;
	}
	if (job->rv != CKR_OK) {
		r = card_fail_rv(tok, job->rv, SITHS_ERR_CARD_SIGN, "sign", tok->reader);
		goto out;
	}
	if ((n = job->siglen) == 0 || n > max) {
		r = siths_fail(tok->ctx, SITHS_ERR_CARD_SIGN,
		    "the card in '%s' returned a signature of %zu bytes", tok->reader, n);
		goto out;
	}
	*sig = job->sig;
	job->sig = NULL; /* transferred */
	*siglen = n;
	*mech = sign_ways[w].mech;
	/* success */
	r = 0;
 out:
	/* the card forgot the PIN (reset, another process): say so from now on */
	if (r == SITHS_ERR_CARD_NOT_LOGGED_IN)
		tok->logged_in = 0;
	job_release(job);
	return r;
}
