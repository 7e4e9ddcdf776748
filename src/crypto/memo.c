/*
 * attestd - memos of pure parse functions keyed by their input bytes
 * (include/av/memo.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "av/memo.h"

struct av_memo_ent {
	uint64_t	 h;		/* hash of tag, a, b */
	uint8_t		 tag;
	size_t		 an, bn;
	uint8_t		*key;		/* owned: a || b */
	void		*obj;		/* one reference owned here */
	bool		 used;		/* hit since the clock hand passed */
};

static inline uint64_t
rotl64(uint64_t v, int r)
{
	return (v << r) | (v >> (64 - r));
}

/*
 * One word into a lane: an xorshift, so that a flipped high bit also
 * flips a low one, then an odd multiplier, which carries every flipped
 * bit upwards by an amount that depends on the rest of the lane (no
 * difference of two words cancels out whatever the seed).
 */
static inline uint64_t
mix(uint64_t lane, uint64_t w)
{
	lane ^= w;
	return (lane ^ (lane >> 29)) * 0x9e3779b97f4a7c15ULL;
}

/*
 * 64-bit hash of p[0..n), seeded with h; not cryptographic (a hit
 * compares the whole key).  Four lanes take 8 bytes each per step, so a
 * step eats 32 bytes and the lanes' multiplications overlap instead of
 * waiting for one another (a TPM quote's look-ups hash some 3.5 kB of
 * keys).  The rest, under 32 bytes, goes through the first lane 8 bytes
 * at a time, the last few with the length; the lanes are folded and
 * finished by splitmix64's output function.
 */
static uint64_t
hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	uint64_t	a = h, b = ~h, c = rotl64(h, 21), d = rotl64(~h, 42);
	uint64_t	w0, w1, w2, w3;
	size_t		len = n;

	for (; n >= 32; p += 32, n -= 32) {
		/* word by word: loads the compiler folds into the xors */
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		a = mix(a, w0);
		b = mix(b, w1);
		c = mix(c, w2);
		d = mix(d, w3);
	}
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w0, p, 8);
		a = mix(a, w0);
	}
	w0 = 0;
	memcpy(&w0, p, n);
	a = mix(a, w0 ^ ((uint64_t)len << 56));
	h = a ^ rotl64(b, 16) ^ rotl64(c, 32) ^ rotl64(d, 48);
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/*
 * The hash of a memo key.  Returns it.
 */
uint64_t
av_memo_hash(uint8_t tag, const void *a, size_t an, const void *b, size_t bn)
{
	uint64_t h = 0x6a09e667f3bcc908ULL ^ tag ^ ((uint64_t)an << 8);

	h = hash_bytes(h, a, an);
	if (b != NULL)
		h = hash_bytes(h ^ bn, b, bn);
	return h;
}

static uint64_t
key_hash(const struct av_memo *m, uint8_t tag, const void *a, size_t an,
    const void *b, size_t bn)
{
	if (m->hash != NULL)
		return m->hash(tag, a, an, b, bn);
	return av_memo_hash(tag, a, an, b, bn);
}

static bool
ent_is(const struct av_memo_ent *ent, uint64_t h, uint8_t tag, const void *a,
    size_t an, const void *b, size_t bn)
{
	return ent != NULL && ent->h == h && ent->tag == tag &&
	    ent->an == an && ent->bn == bn &&
	    memcmp(ent->key, a, an) == 0 &&
	    (bn == 0 || memcmp(ent->key + an, b, bn) == 0);
}

static void
ent_free(struct av_memo *m, struct av_memo_ent *ent)
{
	if (ent == NULL)
		return;
	if (ent->obj != NULL)
		m->unref(ent->obj);
	free(ent->key);
	free(ent);
}

/*
 * A new reference to the object remembered for (tag, a, b), or NULL.
 */
void *
av_memo_get(struct av_memo *m, uint8_t tag, const void *a, size_t an,
    const void *b, size_t bn)
{
	void		*obj = NULL;
	uint64_t	 h;

	if (a == NULL || an > AV_MEMO_MAX_KEY || bn > AV_MEMO_MAX_KEY ||
	    (b == NULL && bn != 0))
		return NULL;
	h = key_hash(m, tag, a, an, b, bn);
	pthread_mutex_lock(&m->mtx);
	for (size_t i = 0; i < AV_MEMO_SLOTS; i++)
		if (ent_is(m->slot[i], h, tag, a, an, b, bn)) {
			obj = m->ref(m->slot[i]->obj);
			m->slot[i]->used = true;
			break;
		}
	if (obj != NULL)
		m->hits++;
	else
		m->misses++;
	pthread_mutex_unlock(&m->mtx);
	return obj;
}

/*
 * Remember obj for (tag, a, b), taking a reference; evicts the oldest
 * entries while the memo is full or over its byte budget.  Failures are
 * ignored.
 */
void
av_memo_put(struct av_memo *m, uint8_t tag, const void *a, size_t an,
    const void *b, size_t bn, void *obj)
{
	struct av_memo_ent	*ent, *gone[AV_MEMO_SLOTS];
	size_t			 ngone = 0;

	if (a == NULL || obj == NULL || an > AV_MEMO_MAX_KEY ||
	    bn > AV_MEMO_MAX_KEY || (b == NULL && bn != 0))
		return;
	if ((ent = calloc(1, sizeof(*ent))) == NULL)
		return;
	if ((ent->key = malloc(an + bn + 1)) == NULL) {
		free(ent);
		return;
	}
	memcpy(ent->key, a, an);
	if (bn > 0)
		memcpy(ent->key + an, b, bn);
	ent->h = key_hash(m, tag, a, an, b, bn);
	ent->tag = tag;
	ent->an = an;
	ent->bn = bn;
	if ((ent->obj = m->ref(obj)) == NULL) {
		ent_free(m, ent);
		return;
	}
	pthread_mutex_lock(&m->mtx);
	for (size_t i = 0; i < AV_MEMO_SLOTS; i++)
		if (ent_is(m->slot[i], ent->h, tag, a, an, b, bn)) {
			/* raced with another parse of the same bytes */
			pthread_mutex_unlock(&m->mtx);
			ent_free(m, ent);
			return;
		}
	/*
	 * The slots form a clock: from the hand, an entry hit since the hand
	 * last passed gets a second chance (so the chain and collateral every
	 * request shares outlive a stream of one-off leaves), others are
	 * evicted until the slot is free and the bytes fit (an empty memo
	 * always fits one key).  At most two turns.
	 */
	for (size_t i = 0; i < 2 * AV_MEMO_SLOTS; i++) {
		struct av_memo_ent *v = m->slot[m->next];

		if (v != NULL && v->used && i < AV_MEMO_SLOTS) {
			v->used = false;
			m->next = (m->next + 1) % AV_MEMO_SLOTS;
			continue;
		}
		if (v != NULL) {
			m->bytes -= v->an + v->bn;
			m->slot[m->next] = NULL;
			gone[ngone++] = v;
		}
		if (m->bytes + an + bn <= AV_MEMO_MAX_BYTES)
			break;
		m->next = (m->next + 1) % AV_MEMO_SLOTS;
	}
	m->slot[m->next] = ent;
	m->next = (m->next + 1) % AV_MEMO_SLOTS;
	m->bytes += an + bn;
	pthread_mutex_unlock(&m->mtx);
	/* outside the lock: unref may be costly */
	for (size_t i = 0; i < ngone; i++)
		ent_free(m, gone[i]);
}

/* Drop every entry. */
void
av_memo_flush(struct av_memo *m)
{
	struct av_memo_ent *ents[AV_MEMO_SLOTS];

	pthread_mutex_lock(&m->mtx);
	memcpy(ents, m->slot, sizeof(ents));
	memset(m->slot, 0, sizeof(m->slot));
	m->next = 0;
	m->bytes = 0;
	pthread_mutex_unlock(&m->mtx);
	for (size_t i = 0; i < AV_MEMO_SLOTS; i++)
		ent_free(m, ents[i]);
}

/* ---- reference helpers ---------------------------------------------------- */

void *
av_memo_ref_x509(void *p)
{
	return X509_up_ref(p) == 1 ? p : NULL;
}

void
av_memo_unref_x509(void *p)
{
	X509_free(p);
}

void *
av_memo_ref_x509_stack(void *p)
{
	return X509_chain_up_ref(p);
}

void
av_memo_unref_x509_stack(void *p)
{
	sk_X509_pop_free(p, X509_free);
}

void *
av_memo_ref_crl(void *p)
{
	return X509_CRL_up_ref(p) == 1 ? p : NULL;
}

void
av_memo_unref_crl(void *p)
{
	X509_CRL_free(p);
}

void *
av_memo_ref_crl_stack(void *p)
{
	STACK_OF(X509_CRL)	*in = p, *out;

	if ((out = sk_X509_CRL_new_null()) == NULL)
		return NULL;
	for (int i = 0; i < sk_X509_CRL_num(in); i++) {
		X509_CRL *crl = sk_X509_CRL_value(in, i);

		if (X509_CRL_up_ref(crl) != 1)
			goto fail;
		if (sk_X509_CRL_push(out, crl) <= 0) {
			X509_CRL_free(crl);
			goto fail;
		}
	}
	return out;
 fail:
	sk_X509_CRL_pop_free(out, X509_CRL_free);
	return NULL;
}

void
av_memo_unref_crl_stack(void *p)
{
	sk_X509_CRL_pop_free(p, X509_CRL_free);
}

void *
av_memo_ref_pkey(void *p)
{
	return EVP_PKEY_up_ref(p) == 1 ? p : NULL;
}

void
av_memo_unref_pkey(void *p)
{
	EVP_PKEY_free(p);
}
