/*
 * attestd - the in-process challenge nonce store ("memory", the default;
 * noncestore.c is the front and the Redis store): 32 random bytes,
 * single use, short-lived.
 *
 * Entries live in a ring in issue order (which, with one lifetime, is
 * expiry order) with a hash index over it.  An entry is kept for a while
 * after it expires (600 s, or one more lifetime if longer) so a late
 * use is told "expired" (410) rather than "unknown"; when the ring is
 * full the oldest expired entry makes room, and if none has expired the
 * store refuses (503).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "av/codec.h"

#include "attestd.h"
#include "noncestore.h"

#define NONE		UINT32_MAX

struct nonce {
	uint8_t		v[32];
	int64_t		expires;
	uint32_t	next;		/* hash chain */
	bool		used;
};

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct nonce	*ring;
static size_t		 cap, head, count;	/* oldest at head */
static uint32_t		*buckets;
static size_t		 nbuckets;
static int64_t		 ttl, retain;

static size_t
bucket_of(const uint8_t *v)
{
	uint64_t h;

	memcpy(&h, v, sizeof(h));	/* the bytes are random */
	return (size_t)(h % nbuckets);
}

/* Start the store: capacity max entries, lifetime ttl_s. Returns 0/-1. */
int
avd_nmem_init(size_t max, int64_t ttl_s)
{
	if (max == 0)
		max = 1;
	if (max > UINT32_MAX - 1)
		return -1;
	pthread_mutex_lock(&mtx);
	free(ring);
	free(buckets);
	cap = max;
	nbuckets = max < 1024 ? 1024 : max;
	ttl = ttl_s;
	retain = avd_nonce_retain(ttl_s);
	ring = calloc(cap, sizeof(*ring));
	buckets = malloc(nbuckets * sizeof(*buckets));
	head = count = 0;
	if (ring == NULL || buckets == NULL) {
		free(ring);
		free(buckets);
		ring = NULL;
		buckets = NULL;
		pthread_mutex_unlock(&mtx);
		return -1;
	}
	for (size_t i = 0; i < nbuckets; i++)
		buckets[i] = NONE;
	pthread_mutex_unlock(&mtx);
	return 0;
}

/* Free the store (at exit). */
void
avd_nmem_free(void)
{
	pthread_mutex_lock(&mtx);
	free(ring);
	free(buckets);
	ring = NULL;
	buckets = NULL;
	head = count = 0;
	pthread_mutex_unlock(&mtx);
}

static void
unlink_slot(uint32_t slot)
{
	uint32_t *pp = &buckets[bucket_of(ring[slot].v)];

	while (*pp != NONE) {
		if (*pp == slot) {
			*pp = ring[slot].next;
			return;
		}
		pp = &ring[*pp].next;
	}
}

/* Drop the oldest entries while they are past expiry + retain. */
static void
purge(int64_t now, bool make_room)
{
	while (count > 0) {
		struct nonce *n = &ring[head];

		if (n->expires + retain >= now &&
		    !(make_room && count == cap && n->expires < now))
			break;
		unlink_slot((uint32_t)head);
		head = (head + 1) % cap;
		count--;
	}
}

/*
 * Issue a fresh nonce at time now.  Returns AVD_NONCE_OK with out and
 * *expires_at, or AVD_NONCE_FULL when the store is full of live nonces
 * (or randomness failed).
 */
enum avd_nonce_state
avd_nmem_issue(int64_t now, uint8_t out[32], int64_t *expires_at)
{
	enum avd_nonce_state	 rc = AVD_NONCE_FULL;
	struct nonce		*n;
	size_t			 slot, b;

	if (RAND_bytes(out, 32) != 1)
		return AVD_NONCE_FULL;
	pthread_mutex_lock(&mtx);
	if (ring == NULL)
		goto out;
	purge(now, true);
	if (count == cap)
		goto out;
	slot = (head + count) % cap;
	n = &ring[slot];
	memcpy(n->v, out, 32);
	n->expires = now + ttl;
	n->used = false;
	b = bucket_of(n->v);
	n->next = buckets[b];
	buckets[b] = (uint32_t)slot;
	count++;
	*expires_at = n->expires;
	rc = AVD_NONCE_OK;
 out:
	pthread_mutex_unlock(&mtx);
	return rc;
}

/*
 * Consume a nonce at time now: OK once, then USED; EXPIRED past its
 * lifetime; UNKNOWN if this store never issued it (or forgot it).
 */
enum avd_nonce_state
avd_nmem_consume(const uint8_t *p, size_t len, int64_t now)
{
	enum avd_nonce_state	 st = AVD_NONCE_UNKNOWN;
	uint32_t		 i;

	if (len != 32)
		return AVD_NONCE_UNKNOWN;
	pthread_mutex_lock(&mtx);
	if (ring == NULL)
		goto out;
	purge(now, false);
	for (i = buckets[bucket_of(p)]; i != NONE; i = ring[i].next) {
		if (!av_memeq_ct(ring[i].v, p, 32))
			continue;
		if (ring[i].used)
			st = AVD_NONCE_USED;
		else if (ring[i].expires < now)
			st = AVD_NONCE_EXPIRED;
		else {
			ring[i].used = true;
			st = AVD_NONCE_OK;
		}
		break;
	}
 out:
	pthread_mutex_unlock(&mtx);
	return st;
}

/* Issued, unused and unexpired nonces. */
size_t
avd_nmem_outstanding(int64_t now)
{
	size_t n = 0;

	pthread_mutex_lock(&mtx);
	if (ring == NULL) {
		pthread_mutex_unlock(&mtx);
		return 0;
	}
	for (size_t k = count; k > 0; k--) {
		const struct nonce *e = &ring[(head + k - 1) % cap];

		if (e->expires < now)
			break;	/* older ones expired too */
		if (!e->used)
			n++;
	}
	pthread_mutex_unlock(&mtx);
	return n;
}
