/*
 * hsa_pool.c - the connections a context keeps to its directory servers,
 * shared by the threads that look people up, and the memory of which
 * servers failed lately.
 *
 * At most [hsa] pool_size connections, each lent to one lookup at a time.
 * The lock guards only this bookkeeping: connecting, binding, searching
 * and closing happen outside it, so lookups run side by side.
 *
 * Servers are tried in the configured order. One that was unreachable or
 * too slow rests for POOL_REST_S: lookups go straight to the next one
 * instead of each waiting out the timeout on it. After the rest, one
 * lookup (and only one, the probe) tries it again; the others keep to the
 * next server until the probe has succeeded. A failure also retires the
 * server's idle connections (a generation number): after a restart they
 * are all dead.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "ldapconn.h"
#include "log.h"

/* How long a failed server is passed over. */
#define POOL_REST_S 3
/* Bounds [hsa] pool_size (config.c allows 1-64). */
#define POOL_MAX 64

struct pool_server {
	const char *uri;                /* the config's */
	int resting;                    /* failed lately: passed over until rest_until */
	struct timespec rest_until;
	unsigned int gen;               /* of its current connections */
	int probing;                    /* a lookup is trying it after its rest */
};

struct pool_slot {
	struct siths_ldap *conn;        /* NULL: empty, or being opened when busy */
	size_t server;
	unsigned int gen;
	int busy;                       /* lent out */
};

struct siths_hsa_pool {
	pthread_mutex_t lock;           /* guards everything below but the warning flag */
	pthread_cond_t freed;           /* a slot was given back */
	size_t n_servers, n_slots;
	struct pool_server *servers;
	struct pool_slot *slots;
	atomic_flag warned_plain;       /* "no TLS" said once per context */
};

int
siths_hsa_pool_new(const siths_ctx *ctx, struct siths_hsa_pool **out)
{
	const struct siths_config *cfg = ctx->cfg;
	struct siths_hsa_pool *pool = NULL;
	pthread_condattr_t attr;
	size_t i;
	int r = SITHS_ERR_INTERNAL, have_lock = 0;

	*out = NULL;
	if ((pool = calloc(1, sizeof(*pool))) == NULL ||
	    (pool->servers = calloc(cfg->hsa_uris.n + 1, sizeof(*pool->servers))) == NULL ||
	    (pool->slots = calloc(POOL_MAX, sizeof(*pool->slots))) == NULL) {
		r = siths_fail(ctx, SITHS_ERR_NOMEM, "HSA: out of memory");
		goto out;
	}
	pool->n_servers = cfg->hsa_uris.n;
	pool->n_slots = cfg->hsa_pool_size < 1 ? 1 : cfg->hsa_pool_size > POOL_MAX ? POOL_MAX :
	    (size_t)cfg->hsa_pool_size;
	for (i = 0; i < pool->n_servers; i++)
		pool->servers[i].uri = cfg->hsa_uris.v[i];
	atomic_flag_clear(&pool->warned_plain);
	/* Deadlines are CLOCK_MONOTONIC: a clock set back must not stretch a wait. */
	if (pthread_mutex_init(&pool->lock, NULL) != 0) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot create a mutex");
		goto out;
	}
	have_lock = 1;
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pool->freed, &attr) != 0) {
		r = siths_fail(ctx, SITHS_ERR_INTERNAL, "HSA: cannot create a condition variable");
		goto out;
	}
	pthread_condattr_destroy(&attr);
	*out = pool;
	pool = NULL; /* transferred */
	/* success */
	r = 0;
out:
	if (pool != NULL) {
		if (have_lock)
			pthread_mutex_destroy(&pool->lock);
		free(pool->servers);
		free(pool->slots);
		free(pool);
	}
	return r;
}

/* The pool is freed with its context: no lookup holds a lease any more. */
void
siths_hsa_pool_free(struct siths_hsa_pool **poolp)
{
	struct siths_hsa_pool *pool;
	size_t i;

	if (poolp == NULL || (pool = *poolp) == NULL)
		return;
	for (i = 0; i < pool->n_slots; i++)
		siths_ldap_close(&pool->slots[i].conn);
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->servers);
	free(pool->slots);
	free(pool);
	*poolp = NULL;
}

static int
time_reached(const struct timespec *now, const struct timespec *t)
{
	return now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

int
siths_hsa_pool_resting(struct siths_hsa_pool *pool, size_t i)
{
	struct timespec now;
	int r;

	if (i >= pool->n_servers)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&pool->lock);
	r = pool->servers[i].resting && !time_reached(&now, &pool->servers[i].rest_until);
	pthread_mutex_unlock(&pool->lock);
	return r;
}

/*
 * The first server from first on that may be tried now (*probe set when
 * it is the first try after a rest), or n_servers. Under the lock.
 */
static size_t
pick_server(const struct siths_hsa_pool *pool, size_t first, int *probe)
{
	const struct pool_server *s;
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = first; i < pool->n_servers; i++) {
		s = &pool->servers[i];
		*probe = s->resting;
		if (!s->resting || (!s->probing && time_reached(&now, &s->rest_until)))
			return i;
	}
	return pool->n_servers;
}

/* An idle connection to server, or n_slots. Under the lock. */
static size_t
find_idle(const struct siths_hsa_pool *pool, size_t server)
{
	const struct pool_slot *sl;
	size_t i;

	for (i = 0; i < pool->n_slots; i++) {
		sl = &pool->slots[i];
		if (!sl->busy && sl->conn != NULL && sl->server == server &&
		    sl->gen == pool->servers[server].gen)
			return i;
	}
	return pool->n_slots;
}

/*
 * A slot for a new connection to server: an empty one, else one whose idle
 * connection is of no use to it (another server, an old generation), else
 * any idle one; or n_slots when all are lent out. Under the lock.
 */
static size_t
find_free(const struct siths_hsa_pool *pool, size_t server)
{
	const struct pool_slot *sl;
	size_t i, other = pool->n_slots, any = pool->n_slots;

	for (i = 0; i < pool->n_slots; i++) {
		sl = &pool->slots[i];
		if (sl->busy)
			continue;
		if (sl->conn == NULL)
			return i;
		if (other == pool->n_slots &&
		    (sl->server != server || sl->gen != pool->servers[server].gen))
			other = i;
		any = i;
	}
	return other != pool->n_slots ? other : any;
}

/*
 * Server i failed: rest it, and retire its connections. Under the lock;
 * the idle ones are moved to *victims (room for n_slots) to be closed
 * outside it.
 */
static void
server_failed(struct siths_hsa_pool *pool, size_t i, int rest,
    struct siths_ldap **victims, size_t *n_victims)
{
	struct pool_server *s = &pool->servers[i];
	struct pool_slot *sl;
	size_t k;

	s->gen++;
	if (rest) {
		s->resting = 1;
		clock_gettime(CLOCK_MONOTONIC, &s->rest_until);
		s->rest_until.tv_sec += POOL_REST_S;
	}
	for (k = 0; k < pool->n_slots; k++) {
		sl = &pool->slots[k];
		if (!sl->busy && sl->conn != NULL && sl->server == i) {
			victims[(*n_victims)++] = sl->conn;
			sl->conn = NULL;
		}
	}
}

/*
 * A lookup is done with server i. If it was the probe after a rest, the
 * server is back in use unless it failed again (server_failed() rested it).
 * Other lookups' answers do not end a rest: they may have been sent before
 * the failure.
 */
static void
server_tried(struct siths_hsa_pool *pool, size_t i, int probe, int down)
{
	struct pool_server *s = &pool->servers[i];

	if (!probe)
		return;
	s->probing = 0;
	if (!down)
		s->resting = 0;
}

static void
close_all(struct siths_ldap **victims, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		siths_ldap_close(&victims[i]);
}

static int
is_server_failure(int r)
{
	return r == SITHS_ERR_HSA_UNREACHABLE || r == SITHS_ERR_HSA_TIMEOUT;
}

/* Say once per context that the directory is read without TLS. */
static void
warn_plain(const siths_ctx *ctx, struct siths_hsa_pool *pool, const struct siths_ldap *conn)
{
	if (siths_ldap_plain(conn) && !atomic_flag_test_and_set(&pool->warned_plain))
		siths_warn(ctx, "HSA: %s is used without TLS ([hsa] tls = none): directory "
		    "answers%s can be read and changed on the network", siths_ldap_uri(conn),
		    ctx->cfg->hsa_bind == SITHS_BIND_SIMPLE ? " and the bind password" : "");
}

/*
 * Open a connection into the slot reserved for it (busy, empty). Outside
 * the lock; takes it to record the result.
 */
static int
open_into(const siths_ctx *ctx, struct siths_hsa_pool *pool, struct siths_hsa_lease *lease,
    const struct timespec *deadline, struct siths_ldap *victim)
{
	struct siths_ldap *conn = NULL, *victims[POOL_MAX];
	struct pool_slot *sl = &pool->slots[lease->slot];
	size_t n_victims = 0;
	unsigned int gen;
	int r, down;

	siths_ldap_close(&victim);
	r = siths_ldap_open(ctx, pool->servers[lease->server].uri, deadline, &conn);
	down = r != 0 && is_server_failure(r);
	pthread_mutex_lock(&pool->lock);
	gen = pool->servers[lease->server].gen;
	if (down)
		server_failed(pool, lease->server, 1, victims, &n_victims);
	if (r == 0) {
		sl->conn = conn;
		sl->server = lease->server;
		sl->gen = gen;
	} else {
		server_tried(pool, lease->server, lease->probe, down);
		sl->busy = 0;
		pthread_cond_signal(&pool->freed);
	}
	pthread_mutex_unlock(&pool->lock);
	close_all(victims, n_victims);
	if (r != 0) {
		if (down)
			siths_warn(ctx, "%s; %s is passed over for %d s", siths_ctx_errmsg(ctx),
			    pool->servers[lease->server].uri, POOL_REST_S);
		lease->conn = NULL;
		return r;
	}
	warn_plain(ctx, pool, conn);
	siths_ldap_set_deadline(conn, deadline);
	lease->conn = conn;
	lease->reused = 0;
	return 0;
}

/* Lend slot i's idle connection. Under the lock. */
static void
lend_idle(struct siths_hsa_pool *pool, size_t i, struct siths_hsa_lease *lease)
{
	pool->slots[i].busy = 1;
	lease->slot = i;
	lease->conn = pool->slots[i].conn;
	lease->reused = 1;
	lease->probe = 0;
}

/* Reserve slot i for a new connection to server. Under the lock. */
static struct siths_ldap *
reserve(struct siths_hsa_pool *pool, size_t i, size_t server, int probe,
    struct siths_hsa_lease *lease)
{
	struct siths_ldap *victim = pool->slots[i].conn;

	pool->slots[i].conn = NULL;
	pool->slots[i].busy = 1;
	if (probe)
		pool->servers[server].probing = 1;
	lease->slot = i;
	lease->probe = probe;
	return victim;
}

int
siths_hsa_pool_get(const siths_ctx *ctx, struct siths_hsa_pool *pool, size_t first,
    int fresh, const struct timespec *deadline, struct siths_hsa_lease *lease)
{
	struct siths_ldap *victim;
	size_t server, i;
	int probe = 0, rc = 0;

	memset(lease, 0, sizeof(*lease));
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		lease->server = server = pick_server(pool, first, &probe);
		if (server == pool->n_servers) {
			pthread_mutex_unlock(&pool->lock);
			return siths_fail(ctx, SITHS_ERR_HSA_UNREACHABLE,
			    "HSA: every server failed within the last %d s", POOL_REST_S);
		}
		if (!fresh && !probe && (i = find_idle(pool, server)) < pool->n_slots) {
			lend_idle(pool, i, lease);
			pthread_mutex_unlock(&pool->lock);
			siths_ldap_set_deadline(lease->conn, deadline);
			return 0;
		}
		if ((i = find_free(pool, server)) < pool->n_slots) {
			victim = reserve(pool, i, server, probe, lease);
			pthread_mutex_unlock(&pool->lock);
			return open_into(ctx, pool, lease, deadline, victim);
		}
		if (rc == ETIMEDOUT)
			break;
		rc = pthread_cond_timedwait(&pool->freed, &pool->lock, deadline);
	}
	pthread_mutex_unlock(&pool->lock);
	lease->server = pool->n_servers;
	return siths_fail(ctx, SITHS_ERR_HSA_TIMEOUT,
	    "HSA: all %zu directory connections stayed busy until the deadline", pool->n_slots);
}

void
siths_hsa_pool_put(const siths_ctx *ctx, struct siths_hsa_pool *pool,
    struct siths_hsa_lease *lease, enum siths_hsa_outcome outcome)
{
	struct siths_ldap *victims[POOL_MAX + 1];
	struct pool_slot *sl;
	size_t n_victims = 0;

	if (lease->conn == NULL)
		return;
	siths_ldap_set_deadline(lease->conn, NULL);
	/* A broken connection cannot be kept, whatever the lookup thought. */
	if (outcome == SITHS_HSA_KEEP && siths_ldap_broken(lease->conn))
		outcome = SITHS_HSA_CLOSE;
	pthread_mutex_lock(&pool->lock);
	sl = &pool->slots[lease->slot];
	/* Its server failed while it was lent out: it is of the old generation. */
	if (outcome == SITHS_HSA_KEEP && sl->gen != pool->servers[lease->server].gen)
		outcome = SITHS_HSA_CLOSE;
	if (outcome != SITHS_HSA_KEEP) {
		victims[n_victims++] = sl->conn;
		sl->conn = NULL;
	}
	if (outcome == SITHS_HSA_LOST || outcome == SITHS_HSA_SERVER_DOWN)
		server_failed(pool, lease->server, outcome == SITHS_HSA_SERVER_DOWN, victims,
		    &n_victims);
	server_tried(pool, lease->server, lease->probe, outcome == SITHS_HSA_SERVER_DOWN);
	sl->busy = 0;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
	close_all(victims, n_victims);
	if (outcome == SITHS_HSA_SERVER_DOWN)
		siths_warn(ctx, "%s; %s is passed over for %d s", siths_ctx_errmsg(ctx),
		    pool->servers[lease->server].uri, POOL_REST_S);
	memset(lease, 0, sizeof(*lease));
}
