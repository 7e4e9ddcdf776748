/*
 * attestd - X.509 path validation (RFC 5280 s.6) at an injected time,
 * to an anchor of one platform, with a per-trust-set cache of verified
 * chains keyed by their content.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "av/crypto.h"
#include "av/log.h"
#include "av/memo.h"
#include "crypto/trust_int.h"

/* Process-wide cache counters (see av_chain_stats_process()). */
static atomic_ulong proc_hits, proc_misses;

#define AV_CHAIN_DEFAULT_DEPTH	8
#define AV_CHAIN_MAX_UNTRUSTED	64	/* certificates in one bundle */
#define AV_CHAIN_MAX_CRLS	64
#define AV_CHAIN_CACHE_MAX	4096	/* entries per trust set */
#define AV_CHAIN_BUCKETS	1024
#define AV_CHAIN_PTR_MAX	256	/* identity entries per trust set */
#define AV_CHAIN_PTR_BUCKETS	64

/* A verified chain, valid (with its CRLs) for nb <= t < na. */
struct cache_ent {
	uint8_t			 key[32];
	int64_t			 nb, na;
	STACK_OF(X509)		*chain;	/* owned (refs), leaf first */
	struct cache_ent	*next;	/* owned by the bucket list */
};

/*
 * The same verified chain, known by the identity of the objects it was
 * asked with: parsed certificates and CRLs are shared through the parse
 * cache (av_x509_parse_any_cached() and the backends' memos), so a
 * repeated chain arrives as the same X509 and X509_CRL objects and is
 * found without re-encoding and hashing them.  The entry holds a
 * reference to every object of its key, so no address in it can be
 * reused by another object while the entry lives.
 */
struct ptr_ent {
	char			*platform;	/* owned */
	bool			 crl_check;
	int			 depth;
	X509			*leaf;		/* owned ref */
	STACK_OF(X509)		*untrusted;	/* owned refs, in order */
	STACK_OF(X509_CRL)	*crls;		/* owned refs, in order; NULL
						   without crl_check */
	int64_t			 nb, na;
	STACK_OF(X509)		*chain;		/* owned refs, leaf first */
	struct ptr_ent		*next;		/* owned by the bucket list */
};

struct av_chain_cache {
	pthread_mutex_t		 mtx;	/* guards everything below */
	struct cache_ent	*buckets[AV_CHAIN_BUCKETS];
	struct cache_ent	*ring[AV_CHAIN_CACHE_MAX]; /* borrowed: FIFO */
	size_t			 n, head;	/* entries, oldest slot */
	struct ptr_ent		*pbuckets[AV_CHAIN_PTR_BUCKETS];
	struct ptr_ent		*pring[AV_CHAIN_PTR_MAX]; /* borrowed: FIFO */
	size_t			 pn, phead;
	unsigned long		 hits, misses;
};

/* ---- the cache --------------------------------------------------------- */

/* New empty cache (caller: av_chain_cache_free), or NULL. */
struct av_chain_cache *
av_chain_cache_new(void)
{
	struct av_chain_cache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mtx, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void
ent_free(struct cache_ent *ent)
{
	if (ent == NULL)
		return;
	sk_X509_pop_free(ent->chain, X509_free);
	free(ent);
}

static void
pent_free(struct ptr_ent *pe)
{
	if (pe == NULL)
		return;
	free(pe->platform);
	X509_free(pe->leaf);
	sk_X509_pop_free(pe->untrusted, X509_free);
	sk_X509_CRL_pop_free(pe->crls, X509_CRL_free);
	sk_X509_pop_free(pe->chain, X509_free);
	free(pe);
}

/* Drop every entry; caller holds c->mtx. */
static void
cache_clear(struct av_chain_cache *c)
{
	struct cache_ent	*ent, *next;
	struct ptr_ent		*pe, *pnext;

	for (size_t i = 0; i < AV_CHAIN_PTR_BUCKETS; i++) {
		for (pe = c->pbuckets[i]; pe != NULL; pe = pnext) {
			pnext = pe->next;
			pent_free(pe);
		}
		c->pbuckets[i] = NULL;
	}
	memset(c->pring, 0, sizeof(c->pring));
	c->pn = c->phead = 0;

	for (size_t i = 0; i < AV_CHAIN_BUCKETS; i++) {
		for (ent = c->buckets[i]; ent != NULL; ent = next) {
			next = ent->next;
			ent_free(ent);
		}
		c->buckets[i] = NULL;
	}
	memset(c->ring, 0, sizeof(c->ring));
	c->n = c->head = 0;
}

/* Drop every entry (the trust set changed).  NULL-safe. */
void
av_chain_cache_flush(struct av_chain_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	cache_clear(c);
	pthread_mutex_unlock(&c->mtx);
}

/* Free the cache and its chains.  NULL-safe. */
void
av_chain_cache_free(struct av_chain_cache *c)
{
	if (c == NULL)
		return;
	cache_clear(c);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

static size_t
bucket_of(const uint8_t key[32])
{
	return ((size_t)key[0] | (size_t)key[1] << 8) % AV_CHAIN_BUCKETS;
}

/* Entry for key or NULL; caller holds c->mtx. */
static struct cache_ent *
cache_find(struct av_chain_cache *c, const uint8_t key[32])
{
	struct cache_ent	*ent;

	for (ent = c->buckets[bucket_of(key)]; ent != NULL; ent = ent->next)
		if (memcmp(ent->key, key, 32) == 0)
			return ent;
	return NULL;
}

/* Unlink and free victim; caller holds c->mtx. */
static void
cache_evict(struct av_chain_cache *c, struct cache_ent *victim)
{
	struct cache_ent	**pp;

	for (pp = &c->buckets[bucket_of(victim->key)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			break;
		}
	}
	ent_free(victim);
}

/*
 * Look key up at time at.  On a hit inside the window, *chain_out gets
 * new references and *nb, *na the window.  Returns true on a hit.
 */
static bool
cache_lookup(struct av_chain_cache *c, const uint8_t key[32], int64_t at,
    STACK_OF(X509) **chain_out, int64_t *nb, int64_t *na)
{
	struct cache_ent	*ent;
	STACK_OF(X509)		*dup = NULL;
	bool			 hit = false;

	pthread_mutex_lock(&c->mtx);
	ent = cache_find(c, key);
	if (ent != NULL && ent->nb <= at && at < ent->na &&
	    (dup = X509_chain_up_ref(ent->chain)) != NULL) {
		hit = true;
		*chain_out = dup;
		*nb = ent->nb;
		*na = ent->na;
	}
	if (hit) {
		c->hits++;
		atomic_fetch_add(&proc_hits, 1);
	} else {
		c->misses++;
		atomic_fetch_add(&proc_misses, 1);
	}
	pthread_mutex_unlock(&c->mtx);
	return hit;
}

/* ---- the identity cache ------------------------------------------------ */

static size_t
pbucket_of(const X509 *leaf)
{
	uintptr_t v = (uintptr_t)leaf;

	return (size_t)((v >> 4) ^ (v >> 12)) % AV_CHAIN_PTR_BUCKETS;
}

/* Does pe answer exactly this question?  Caller holds the lock. */
static bool
pent_match(const struct ptr_ent *pe, X509 *leaf, STACK_OF(X509) *untrusted,
    const struct av_chain_opts *o, int depth)
{
	int nu = untrusted != NULL ? sk_X509_num(untrusted) : 0;
	int nc = (o->crl_check && o->crls != NULL) ?
	    sk_X509_CRL_num(o->crls) : 0;

	if (pe->leaf != leaf || pe->depth != depth ||
	    pe->crl_check != o->crl_check ||
	    sk_X509_num(pe->untrusted) != nu ||
	    (pe->crl_check && sk_X509_CRL_num(pe->crls) != nc) ||
	    strcmp(pe->platform, o->platform) != 0)
		return false;
	for (int i = 0; i < nu; i++)
		if (sk_X509_value(pe->untrusted, i) !=
		    sk_X509_value(untrusted, i))
			return false;
	for (int i = 0; pe->crl_check && i < nc; i++)
		if (sk_X509_CRL_value(pe->crls, i) !=
		    sk_X509_CRL_value(o->crls, i))
			return false;
	return true;
}

/*
 * Look the question up by object identity at time at.  On a hit, if
 * chain_out is not NULL, *chain_out gets new references.  Counts a hit;
 * a miss is counted by the content lookup that follows.
 */
static bool
ptr_lookup(struct av_chain_cache *c, X509 *leaf, STACK_OF(X509) *untrusted,
    const struct av_chain_opts *o, int depth, int64_t at,
    STACK_OF(X509) **chain_out)
{
	struct ptr_ent	*pe;
	STACK_OF(X509)	*dup = NULL;
	bool		 hit = false;

	pthread_mutex_lock(&c->mtx);
	for (pe = c->pbuckets[pbucket_of(leaf)]; pe != NULL; pe = pe->next) {
		if (!pent_match(pe, leaf, untrusted, o, depth))
			continue;
		if (pe->nb <= at && at < pe->na && (chain_out == NULL ||
		    (dup = X509_chain_up_ref(pe->chain)) != NULL)) {
			hit = true;
			if (chain_out != NULL)
				*chain_out = dup;
			c->hits++;
			atomic_fetch_add(&proc_hits, 1);
		}
		break;
	}
	pthread_mutex_unlock(&c->mtx);
	return hit;
}

/*
 * Remember a verified chain by the identity of the objects asked with
 * (references taken on all of them); failures are ignored.
 */
static void
ptr_insert(struct av_chain_cache *c, X509 *leaf, STACK_OF(X509) *untrusted,
    const struct av_chain_opts *o, int depth, int64_t nb, int64_t na,
    STACK_OF(X509) *chain)
{
	struct ptr_ent	*pe, *old;
	size_t		 b;

	if ((pe = calloc(1, sizeof(*pe))) == NULL)
		return;
	pe->crl_check = o->crl_check;
	pe->depth = depth;
	pe->nb = nb;
	pe->na = na;
	if ((pe->platform = strdup(o->platform)) == NULL ||
	    X509_up_ref(leaf) != 1)
		goto fail;
	pe->leaf = leaf;
	if ((pe->untrusted = untrusted != NULL ?
	    X509_chain_up_ref(untrusted) : sk_X509_new_null()) == NULL ||
	    (pe->chain = X509_chain_up_ref(chain)) == NULL)
		goto fail;
	if (o->crl_check && (pe->crls = o->crls != NULL ?
	    av_memo_ref_crl_stack(o->crls) : sk_X509_CRL_new_null()) == NULL)
		goto fail;
	b = pbucket_of(leaf);
	pthread_mutex_lock(&c->mtx);
	for (old = c->pbuckets[b]; old != NULL; old = old->next)
		if (pent_match(old, leaf, untrusted, o, depth))
			break;
	if (old != NULL) {		/* raced, or a new window */
		old->nb = nb;
		old->na = na;
		sk_X509_pop_free(old->chain, X509_free);
		old->chain = pe->chain;
		pe->chain = NULL;
		pthread_mutex_unlock(&c->mtx);
		goto fail;
	}
	if (c->pn == AV_CHAIN_PTR_MAX) {	/* full: evict the oldest */
		struct ptr_ent **pp, *victim = c->pring[c->phead];

		for (pp = &c->pbuckets[pbucket_of(victim->leaf)]; *pp != NULL;
		    pp = &(*pp)->next)
			if (*pp == victim) {
				*pp = victim->next;
				break;
			}
		pent_free(victim);
		c->pring[c->phead] = pe;
		c->phead = (c->phead + 1) % AV_CHAIN_PTR_MAX;
	} else
		c->pring[(c->phead + c->pn++) % AV_CHAIN_PTR_MAX] = pe;
	pe->next = c->pbuckets[b];
	c->pbuckets[b] = pe;
	pthread_mutex_unlock(&c->mtx);
	return;
 fail:
	pent_free(pe);
}

/* Remember a verified chain (references taken); failures are ignored. */
static void
cache_insert(struct av_chain_cache *c, const uint8_t key[32], int64_t nb,
    int64_t na, STACK_OF(X509) *chain)
{
	struct cache_ent	*ent, *old;
	STACK_OF(X509)		*dup;
	size_t			 b;

	if ((dup = X509_chain_up_ref(chain)) == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	if ((old = cache_find(c, key)) != NULL) {	/* raced: refresh */
		sk_X509_pop_free(old->chain, X509_free);
		old->chain = dup;
		old->nb = nb;
		old->na = na;
		goto out;
	}
	if ((ent = calloc(1, sizeof(*ent))) == NULL) {
		sk_X509_pop_free(dup, X509_free);
		goto out;
	}
	memcpy(ent->key, key, 32);
	ent->nb = nb;
	ent->na = na;
	ent->chain = dup;
	if (c->n == AV_CHAIN_CACHE_MAX) {	/* full: evict the oldest */
		cache_evict(c, c->ring[c->head]);
		c->ring[c->head] = ent;
		c->head = (c->head + 1) % AV_CHAIN_CACHE_MAX;
	} else
		c->ring[(c->head + c->n++) % AV_CHAIN_CACHE_MAX] = ent;
	b = bucket_of(key);
	ent->next = c->buckets[b];
	c->buckets[b] = ent;
 out:
	pthread_mutex_unlock(&c->mtx);
}

/*
 * Cache hits and misses of every trust set this process has had, for
 * metrics: Prometheus counters must not go back to zero when a reload
 * replaces the trust set (and its cache).
 */
void
av_chain_stats_process(struct av_chain_stats *st)
{
	st->hits = atomic_load(&proc_hits);
	st->misses = atomic_load(&proc_misses);
}

/*
 * Cache hit and miss counts of t, for metrics and tests (a snapshot taken
 * under the cache lock).
 */
void
av_trust_chain_stats(const struct av_trust *t, struct av_chain_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (t == NULL || t->cache == NULL)
		return;
	pthread_mutex_lock(&t->cache->mtx);
	st->hits = t->cache->hits;
	st->misses = t->cache->misses;
	pthread_mutex_unlock(&t->cache->mtx);
}

/* ---- helpers ----------------------------------------------------------- */

static int
md_u32(EVP_MD_CTX *m, uint32_t v)
{
	uint8_t	b[4] = { v >> 24, v >> 16, v >> 8, v };

	return EVP_DigestUpdate(m, b, sizeof(b)) == 1 ? 0 : -1;
}

/* Hash a length-prefixed DER blob produced by i2d. */
static int
md_der(EVP_MD_CTX *m, unsigned char *der, int n)
{
	int	rc;

	if (n <= 0 || der == NULL)
		return -1;
	rc = (md_u32(m, (uint32_t)n) == 0 &&
	    EVP_DigestUpdate(m, der, (size_t)n) == 1) ? 0 : -1;
	OPENSSL_free(der);
	return rc;
}

static int
md_cert(EVP_MD_CTX *m, X509 *x)
{
	unsigned char	*der = NULL;
	int		 n;

	n = i2d_X509(x, &der);
	return md_der(m, der, n);
}

static int
md_crl(EVP_MD_CTX *m, X509_CRL *crl)
{
	unsigned char	*der = NULL;
	int		 n;

	n = i2d_X509_CRL(crl, &der);
	return md_der(m, der, n);
}

/*
 * Cache key: SHA-256 over the platform, the options that change the
 * outcome, every certificate's DER in the order given, and (when
 * revocation is checked) every CRL's DER.  Returns 0/-1.
 */
static int
chain_key(X509 *leaf, STACK_OF(X509) *untrusted,
    const struct av_chain_opts *o, int depth, uint8_t key[32])
{
	static const char	 tag[] = "attestd chain v1";
	EVP_MD_CTX		*m;
	unsigned int		 len;
	int			 i, rc = -1;

	if ((m = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(m, tag, sizeof(tag)) != 1 ||
	    md_u32(m, (uint32_t)strlen(o->platform)) == -1 ||
	    EVP_DigestUpdate(m, o->platform, strlen(o->platform)) != 1 ||
	    md_u32(m, o->crl_check ? 1 : 0) == -1 ||
	    md_u32(m, (uint32_t)depth) == -1 ||
	    md_cert(m, leaf) == -1 ||
	    md_u32(m, (uint32_t)(untrusted != NULL ?
	    sk_X509_num(untrusted) : 0)) == -1)
		goto out;
	for (i = 0; i < sk_X509_num(untrusted); i++)
		if (md_cert(m, sk_X509_value(untrusted, i)) == -1)
			goto out;
	if (o->crl_check) {
		if (md_u32(m, (uint32_t)(o->crls != NULL ?
		    sk_X509_CRL_num(o->crls) : 0)) == -1)
			goto out;
		for (i = 0; i < sk_X509_CRL_num(o->crls); i++)
			if (md_crl(m, sk_X509_CRL_value(o->crls, i)) == -1)
				goto out;
	}
	if (EVP_DigestFinal_ex(m, key, &len) != 1 || len != 32)
		goto out;
	rc = 0;
 out:
	EVP_MD_CTX_free(m);
	return rc;
}

/*
 * Validity window of a verified chain: latest notBefore to earliest
 * notAfter over every certificate and, when revocation was checked, every
 * CRL's thisUpdate/nextUpdate.  Returns 0/-1 (-1: do not cache).
 */
static int
chain_window(STACK_OF(X509) *chain, const struct av_chain_opts *o,
    int64_t *nb, int64_t *na)
{
	const ASN1_TIME	*nu;
	int64_t		 lo = INT64_MIN, hi = INT64_MAX, v;
	X509_CRL	*crl;
	X509		*x;

	for (int i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		if (av_asn1_time_unix(X509_get0_notBefore(x), &v) == -1)
			return -1;
		if (v > lo)
			lo = v;
		if (av_asn1_time_unix(X509_get0_notAfter(x), &v) == -1)
			return -1;
		if (v < hi)
			hi = v;
	}
	for (int i = 0; o->crl_check && i < sk_X509_CRL_num(o->crls); i++) {
		crl = sk_X509_CRL_value(o->crls, i);
		if (av_asn1_time_unix(X509_CRL_get0_lastUpdate(crl), &v) == -1)
			return -1;
		if (v > lo)
			lo = v;
		if ((nu = X509_CRL_get0_nextUpdate(crl)) == NULL)
			continue;
		if (av_asn1_time_unix(nu, &v) == -1)
			return -1;
		if (v < hi)
			hi = v;
	}
	*nb = lo;
	*na = hi;
	return 0;
}

/* Map an X509_V_ERR_* to our reason code; always returns -1. */
static int
map_verify_error(int err, struct av_err *e)
{
	switch (err) {
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return AV_FAIL(e, AV_E_CERT_TIME,
		    "certificate not yet valid at verification time");
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return AV_FAIL(e, AV_E_CERT_TIME,
		    "certificate expired at verification time");
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return AV_FAIL(e, AV_E_COLLATERAL_EXPIRED,
		    "CRL not yet valid at verification time");
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return AV_FAIL(e, AV_E_COLLATERAL_EXPIRED,
		    "CRL expired at verification time");
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "no CRL for a certificate of the chain");
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
		return AV_FAIL(e, AV_E_COLLATERAL_INVALID, "CRL invalid");
	case X509_V_ERR_CERT_REVOKED:
		return AV_FAIL(e, AV_E_CERT_REVOKED, "certificate revoked");
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
		return AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
		    "chain does not lead to a trusted root");
	case X509_V_ERR_OUT_OF_MEM:
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	default:
		return AV_FAIL(e, AV_E_CHAIN, "certificate chain invalid");
	}
}

static void
log_failure(const char *platform, X509_STORE_CTX *ctx, int err)
{
	char	 subj[256] = "", depth[16];
	X509	*cur;

	if ((cur = X509_STORE_CTX_get_current_cert(ctx)) != NULL &&
	    X509_NAME_oneline(X509_get_subject_name(cur), subj,
	    sizeof(subj)) == NULL)
		subj[0] = '\0';
	snprintf(depth, sizeof(depth), "%d",
	    X509_STORE_CTX_get_error_depth(ctx));
	av_log(AV_LOG_DEBUG, "chain_verify_failed", "platform", platform,
	    "x509_error", X509_verify_cert_error_string(err), "depth", depth,
	    "subject", subj, NULL);
}

/*
 * Trusted store for one verification: the platform's operator anchors and
 * every given certificate whose fingerprint is pinned for it.  *nanchors
 * counts them.  Returns a new store or NULL.
 */
static X509_STORE *
build_store(const struct av_trust *t, const char *platform, X509 *leaf,
    STACK_OF(X509) *untrusted, int *nanchors)
{
	const struct av_trust_plat	*pl;
	X509_STORE			*st;
	X509				*x;
	uint8_t				 h[32];
	int				 i, n = 0, nu;

	if ((st = X509_STORE_new()) == NULL)
		return NULL;
	if ((pl = av_trust_plat_find(t, platform)) != NULL) {
		for (i = 0; i < sk_X509_num(pl->anchors); i++, n++)
			if (X509_STORE_add_cert(st,
			    sk_X509_value(pl->anchors, i)) != 1)
				goto fail;
	}
	nu = untrusted != NULL ? sk_X509_num(untrusted) : 0;
	for (i = -1; pl != NULL && i < nu; i++) {
		x = (i < 0) ? leaf : sk_X509_value(untrusted, i);
		if (av_x509_sha256(x, h) == -1 ||
		    !av_trust_plat_pinned(pl, h))
			continue;
		if (X509_STORE_add_cert(st, x) != 1)
			goto fail;
		n++;
	}
	*nanchors = n;
	return st;
 fail:
	X509_STORE_free(st);
	return NULL;
}

/*
 * Verify leaf through untrusted to an anchor of opts->platform at time at
 * (RFC 5280 s.6.1; CRLs s.6.3).  On success *chain is the verified chain
 * (new references, leaf first).  Returns 0, or -1 with e set.
 */
static int
chain_full(const struct av_trust *t, X509 *leaf, STACK_OF(X509) *untrusted,
    int64_t at, const struct av_chain_opts *o, int depth,
    STACK_OF(X509) **chain, struct av_err *e)
{
	X509_STORE		*st = NULL;
	X509_STORE_CTX		*ctx = NULL;
	X509_VERIFY_PARAM	*param;
	unsigned long		 flags;
	int			 nanchors = 0, rc = -1, vr;

	if ((st = build_store(t, o->platform, leaf, untrusted,
	    &nanchors)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (nanchors == 0) {
		av_log(AV_LOG_DEBUG, "chain_no_anchor", "platform",
		    o->platform, NULL);
		AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
		    "no trusted root for this platform");
		goto out;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, st, leaf, untrusted) != 1) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)at);
	X509_VERIFY_PARAM_set_depth(param, depth);
	flags = X509_V_FLAG_USE_CHECK_TIME;
	if (o->crl_check) {
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
		if (o->crls != NULL)
			X509_STORE_CTX_set0_crls(ctx, o->crls);	/* borrowed */
	}
	if (X509_VERIFY_PARAM_set_flags(param, flags) != 1) {
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	/* No X509_V_FLAG_PARTIAL_CHAIN: chains end at a self-signed anchor. */
	if ((vr = X509_verify_cert(ctx)) != 1) {
		int err = X509_STORE_CTX_get_error(ctx);

		log_failure(o->platform, ctx, err);
		if (vr < 0 && err == X509_V_OK)
			AV_FAIL(e, AV_E_INTERNAL, "internal error");
		else
			map_verify_error(err, e);
		goto out;
	}
	if ((*chain = X509_STORE_CTX_get1_chain(ctx)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

/*
 * Verify leaf up to an anchor of opts->platform at time at (unix s),
 * using the cache of t (see include/av/crypto.h).  leaf, untrusted and
 * opts->crls are borrowed.  On success and if chain_out != NULL,
 * *chain_out is the verified chain, leaf first (caller:
 * sk_X509_pop_free(.., X509_free)).  Returns 0, or -1 with e set.
 */
int
av_chain_verify(const struct av_trust *t, X509 *leaf,
    STACK_OF(X509) *untrusted, int64_t at, const struct av_chain_opts *opts,
    STACK_OF(X509) **chain_out, struct av_err *e)
{
	STACK_OF(X509)	*chain = NULL;
	uint8_t		 key[32];
	int64_t		 nb, na;
	int		 depth;
	bool		 keyed;

	ERR_clear_error();
	if (chain_out != NULL)
		*chain_out = NULL;
	if (t == NULL || leaf == NULL || opts == NULL ||
	    opts->platform == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if (sk_X509_num(untrusted) > AV_CHAIN_MAX_UNTRUSTED)
		return AV_FAIL(e, AV_E_CHAIN, "too many certificates");
	if (opts->crl_check && sk_X509_CRL_num(opts->crls) > AV_CHAIN_MAX_CRLS)
		return AV_FAIL(e, AV_E_COLLATERAL_INVALID, "too many CRLs");
	depth = opts->max_depth > 0 ? opts->max_depth : AV_CHAIN_DEFAULT_DEPTH;

	/* The same objects as before: no encoding, no hashing. */
	if (ptr_lookup(t->cache, leaf, untrusted, opts, depth, at, chain_out))
		return 0;
	keyed = chain_key(leaf, untrusted, opts, depth, key) == 0;
	if (keyed && cache_lookup(t->cache, key, at, &chain, &nb, &na)) {
		ptr_insert(t->cache, leaf, untrusted, opts, depth, nb, na,
		    chain);
		goto done;
	}
	if (chain_full(t, leaf, untrusted, at, opts, depth, &chain, e) == -1)
		return -1;
	/* Only successes are cached, and only when at is inside the window. */
	if (keyed && chain_window(chain, opts, &nb, &na) == 0 &&
	    nb <= at && at < na) {
		cache_insert(t->cache, key, nb, na, chain);
		ptr_insert(t->cache, leaf, untrusted, opts, depth, nb, na,
		    chain);
	}
 done:
	ERR_clear_error();
	if (chain_out != NULL)
		*chain_out = chain;
	else
		sk_X509_pop_free(chain, X509_free);
	return 0;
}
