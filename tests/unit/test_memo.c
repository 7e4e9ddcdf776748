/*
 * Unit tests: the performance caches of src/crypto - av_memo (memos keyed
 * by bytes: hits, misses, eviction by count and by bytes, references),
 * the shared certificate parse cache (same bytes, same objects, in DER
 * and PEM), the chain cache's identity path (answers for the same
 * objects, the content path for equal copies, references kept after the
 * caller frees), the per-thread ECDSA contexts (more keys than slots, all
 * curves, DER lengths, threads) and the prefetched SHA-2 digests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "av/crypto.h"
#include "av/memo.h"
#include "avt_pki.h"
#include "avt_tpm.h"
#include "evidence/tpm.h"

#define DAY	86400
#define T0	1750000000	/* 2025-06-15T15:06:40Z */
#define PLAT	"memo-test"

/* ---- av_memo -------------------------------------------------------------- */

struct obj {
	int	refs;
	int	id;
};

static int live;	/* objects with references */

static void *
obj_ref(void *p)
{
	((struct obj *)p)->refs++;
	return p;
}

static void
obj_unref(void *p)
{
	struct obj *o = p;

	if (--o->refs == 0) {
		live--;
		free(o);
	}
}

static struct obj *
obj_new(int id)
{
	struct obj *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	o->refs = 1;
	o->id = id;
	live++;
	return o;
}

static struct av_memo M = AV_MEMO_INITIALIZER(obj_ref, obj_unref);

static void
test_memo_basic(void **state)
{
	struct obj	*a = obj_new(1), *b = obj_new(2), *g;
	const char	 k1[] = "key one", k2[] = "key two";

	(void)state;
	assert_null(av_memo_get(&M, 'x', k1, sizeof(k1), NULL, 0));
	av_memo_put(&M, 'x', k1, sizeof(k1), NULL, 0, a);
	av_memo_put(&M, 'x', k2, sizeof(k2), "sig", 4, b);
	assert_int_equal(a->refs, 2);

	g = av_memo_get(&M, 'x', k1, sizeof(k1), NULL, 0);
	assert_ptr_equal(g, a);
	assert_int_equal(a->refs, 3);
	obj_unref(g);
	/* the tag, the length and the second part are all in the key */
	assert_null(av_memo_get(&M, 'y', k1, sizeof(k1), NULL, 0));
	assert_null(av_memo_get(&M, 'x', k1, sizeof(k1) - 1, NULL, 0));
	assert_null(av_memo_get(&M, 'x', k2, sizeof(k2), NULL, 0));
	assert_null(av_memo_get(&M, 'x', k2, sizeof(k2), "sig", 3));
	assert_null(av_memo_get(&M, 'x', k2, sizeof(k2), "sIg", 4));
	g = av_memo_get(&M, 'x', k2, sizeof(k2), "sig", 4);
	assert_ptr_equal(g, b);
	obj_unref(g);
	/* a second put of the same key keeps the first object */
	av_memo_put(&M, 'x', k1, sizeof(k1), NULL, 0, b);
	g = av_memo_get(&M, 'x', k1, sizeof(k1), NULL, 0);
	assert_ptr_equal(g, a);
	obj_unref(g);

	obj_unref(a);
	obj_unref(b);
	assert_int_equal(live, 2);	/* the memo's references */
	av_memo_flush(&M);
	assert_int_equal(live, 0);
}

static void
test_memo_evict(void **state)
{
	struct obj	*o, *g;
	uint8_t		*big;
	int		 k;

	(void)state;
	/* by count: the oldest goes first */
	for (k = 0; k < AV_MEMO_SLOTS + 5; k++) {
		o = obj_new(k);
		av_memo_put(&M, 'c', &k, sizeof(k), NULL, 0, o);
		obj_unref(o);
	}
	assert_int_equal(live, AV_MEMO_SLOTS);
	for (k = 0; k < 5; k++)
		assert_null(av_memo_get(&M, 'c', &k, sizeof(k), NULL, 0));
	for (; k < AV_MEMO_SLOTS + 5; k++) {
		assert_non_null(g = av_memo_get(&M, 'c', &k, sizeof(k), NULL,
		    0));
		assert_int_equal(g->id, k);
		obj_unref(g);
	}
	av_memo_flush(&M);
	assert_int_equal(live, 0);

	/* an entry hit since the clock hand passed gets a second chance */
	for (k = 0; k < AV_MEMO_SLOTS; k++) {
		o = obj_new(k);
		av_memo_put(&M, 'c', &k, sizeof(k), NULL, 0, o);
		obj_unref(o);
	}
	k = 0;
	assert_non_null(g = av_memo_get(&M, 'c', &k, sizeof(k), NULL, 0));
	obj_unref(g);
	k = AV_MEMO_SLOTS;
	o = obj_new(k);
	av_memo_put(&M, 'c', &k, sizeof(k), NULL, 0, o);
	obj_unref(o);
	k = 0;
	assert_non_null(g = av_memo_get(&M, 'c', &k, sizeof(k), NULL, 0));
	obj_unref(g);
	k = 1;
	assert_null(av_memo_get(&M, 'c', &k, sizeof(k), NULL, 0));
	assert_int_equal(live, AV_MEMO_SLOTS);
	av_memo_flush(&M);
	assert_int_equal(live, 0);

	/* by bytes: at most AV_MEMO_MAX_BYTES of keys */
	assert_non_null(big = calloc(1, AV_MEMO_MAX_KEY + 1));
	for (k = 0; k < 10; k++) {
		big[0] = (uint8_t)k;
		o = obj_new(k);
		av_memo_put(&M, 'b', big, AV_MEMO_MAX_KEY, NULL, 0, o);
		obj_unref(o);
	}
	assert_int_equal(live, AV_MEMO_MAX_BYTES / AV_MEMO_MAX_KEY);
	big[0] = 0;
	assert_null(av_memo_get(&M, 'b', big, AV_MEMO_MAX_KEY, NULL, 0));
	big[0] = 9;
	assert_non_null(g = av_memo_get(&M, 'b', big, AV_MEMO_MAX_KEY, NULL,
	    0));
	obj_unref(g);
	/* over the key limit: never kept */
	o = obj_new(99);
	av_memo_put(&M, 'b', big, AV_MEMO_MAX_KEY + 1, NULL, 0, o);
	assert_null(av_memo_get(&M, 'b', big, AV_MEMO_MAX_KEY + 1, NULL, 0));
	obj_unref(o);
	av_memo_flush(&M);
	assert_int_equal(live, 0);
	free(big);
}

/* Every key hashes to one value: each look-up meets every entry. */
static uint64_t
collide_hash(uint8_t tag, const void *a, size_t an, const void *b, size_t bn)
{
	(void)tag;
	(void)a;
	(void)an;
	(void)b;
	(void)bn;
	return 42;
}

static struct av_memo C = AV_MEMO_INITIALIZER(obj_ref, obj_unref);

/*
 * Colliding hashes cost compares, never a wrong answer: with one hash
 * for all keys, every key (including the same bytes split differently
 * between a and b, and keys one byte or one bit apart) finds its own
 * object or none.
 */
static void
test_memo_collisions(void **state)
{
	struct obj	*o[AV_MEMO_SLOTS], *g;
	uint8_t		 key[100];
	int		 k;

	(void)state;
	C.hash = collide_hash;
	memset(key, 0x5a, sizeof(key));
	for (k = 0; k < AV_MEMO_SLOTS; k++) {
		o[k] = obj_new(k);
		if (k < 32) {	/* keys 1..32 bytes long, same bytes */
			av_memo_put(&C, 'h', key, (size_t)k + 1, NULL, 0,
			    o[k]);
		} else if (k < 48) {	/* 64 bytes, one bit differs */
			key[k - 32] ^= 1;
			av_memo_put(&C, 'h', key, 64, NULL, 0, o[k]);
			key[k - 32] ^= 1;
		} else		/* 64 bytes split at k - 40 */
			av_memo_put(&C, 'h', key, (size_t)k - 40, key + k - 40,
			    104 - (size_t)k, o[k]);
	}
	for (k = 0; k < AV_MEMO_SLOTS; k++) {
		if (k < 32)
			g = av_memo_get(&C, 'h', key, (size_t)k + 1, NULL, 0);
		else if (k < 48) {
			key[k - 32] ^= 1;
			g = av_memo_get(&C, 'h', key, 64, NULL, 0);
			key[k - 32] ^= 1;
		} else
			g = av_memo_get(&C, 'h', key, (size_t)k - 40,
			    key + k - 40, 104 - (size_t)k);
		assert_ptr_equal(g, o[k]);
		obj_unref(g);
	}
	/* the same bytes unsplit, another tag, a key never put: none */
	assert_null(av_memo_get(&C, 'h', key, 64, NULL, 0));
	assert_null(av_memo_get(&C, 'H', key, 1, NULL, 0));
	assert_null(av_memo_get(&C, 'h', key, 33, NULL, 0));
	key[0] ^= 0x80;
	assert_null(av_memo_get(&C, 'h', key, 1, NULL, 0));
	for (k = 0; k < AV_MEMO_SLOTS; k++)
		obj_unref(o[k]);
	assert_int_equal(live, AV_MEMO_SLOTS);
	av_memo_flush(&C);
	assert_int_equal(live, 0);
}

/*
 * The built-in hash: every length around the four-lane step (32 bytes),
 * every single bit of a key, the tag and the split between a and b give
 * different values (a collision would only cost a compare, but values
 * that differ keep compares rare).
 */
static void
test_memo_hash(void **state)
{
	uint8_t		 key[200];
	uint64_t	*h;
	size_t		 nh = 0, cap = 8 * sizeof(key) + 4 * sizeof(key) + 8;

	(void)state;
	assert_non_null(h = calloc(cap, sizeof(*h)));
	assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
	for (size_t n = 0; n <= sizeof(key); n++)	/* prefixes */
		h[nh++] = av_memo_hash('h', key, n, NULL, 0);
	for (size_t n = 1; n < sizeof(key); n++)	/* splits */
		h[nh++] = av_memo_hash('h', key, n, key + n, sizeof(key) - n);
	for (size_t i = 0; i < 8 * sizeof(key); i++) {	/* bit flips */
		key[i / 8] ^= (uint8_t)(1u << (i % 8));
		h[nh++] = av_memo_hash('h', key, sizeof(key), NULL, 0);
		key[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	h[nh++] = av_memo_hash('H', key, sizeof(key), NULL, 0);
	memset(key, 0, sizeof(key));		/* zeros of every length */
	for (size_t n = 1; n < 70; n++)
		h[nh++] = av_memo_hash('h', key, n, NULL, 0);
	assert_true(nh <= cap);
	for (size_t i = 0; i < nh; i++)
		for (size_t j = i + 1; j < nh; j++)
			if (h[i] == h[j])
				fail_msg("hash %zu equals hash %zu", i, j);
	/* the same key, the same hash */
	assert_true(av_memo_hash('h', key, 50, key, 3) ==
	    av_memo_hash('h', key, 50, key + 60, 3));
	free(h);
}

/* ---- the shared certificate parse cache --------------------------------- */

struct pki {
	EVP_PKEY	*rk, *ik, *lk;
	X509		*root, *inter, *leaf;
};

static X509 *
mk(const char *cn, bool ca, long serial, int64_t nb, int64_t na,
    EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey)
{
	struct avt_cert_spec	sp = { .cn = cn, .not_before = nb,
	    .not_after = na, .ca = ca, .serial = serial };
	X509			*x = avt_cert_new(&sp, pub, issuer, ikey);

	assert_non_null(x);
	return x;
}

static void
pki_make(struct pki *p)
{
	assert_non_null(p->rk = avt_key_new("P-256"));
	assert_non_null(p->ik = avt_key_new("P-256"));
	assert_non_null(p->lk = avt_key_new("P-256"));
	p->root = mk("memo root", true, 1, T0 - 365 * DAY, T0 + 365 * DAY,
	    p->rk, NULL, p->rk);
	p->inter = mk("memo inter", true, 2, T0 - 365 * DAY, T0 + 365 * DAY,
	    p->ik, p->root, p->rk);
	p->leaf = mk("memo leaf", false, 3, T0 - DAY, T0 + DAY, p->lk,
	    p->inter, p->ik);
}

static void
pki_free(struct pki *p)
{
	X509_free(p->leaf);
	X509_free(p->inter);
	X509_free(p->root);
	EVP_PKEY_free(p->lk);
	EVP_PKEY_free(p->ik);
	EVP_PKEY_free(p->rk);
}

/* PEM text of the certificates given (malloc'd). */
static char *
pem_of(X509 *a, X509 *b)
{
	char	*pa = avt_cert_pem(a), *pb = avt_cert_pem(b), *all;
	size_t	 n;

	assert_non_null(pa);
	assert_non_null(pb);
	n = strlen(pa) + strlen(pb) + 16;
	assert_non_null(all = malloc(n));
	snprintf(all, n, "junk\n%s\n%s", pa, pb);
	free(pa);
	free(pb);
	return all;
}

static void
test_parse_cached(void **state)
{
	struct pki	 p;
	uint8_t		*der;
	size_t		 dl;
	X509		*x1, *x2;
	STACK_OF(X509)	*s1, *s2, *s3;
	char		*pem;

	(void)state;
	pki_make(&p);
	assert_non_null(der = avt_cert_der(p.leaf, &dl));
	assert_non_null(x1 = av_x509_from_der_cached(der, dl));
	assert_non_null(x2 = av_x509_from_der_cached(der, dl));
	assert_ptr_equal(x1, x2);		/* same bytes, same object */
	assert_int_equal(X509_cmp(x1, p.leaf), 0);
	X509_free(x2);

	/* the PEM list shares the DER's object */
	pem = pem_of(p.leaf, p.inter);
	assert_non_null(s1 = av_x509_parse_any_cached((uint8_t *)pem,
	    strlen(pem)));
	assert_int_equal(sk_X509_num(s1), 2);
	assert_ptr_equal(sk_X509_value(s1, 0), x1);
	assert_non_null(s2 = av_x509_parse_any_cached((uint8_t *)pem,
	    strlen(pem)));
	assert_ptr_not_equal(s1, s2);		/* a new stack ... */
	assert_ptr_equal(sk_X509_value(s2, 0), sk_X509_value(s1, 0));
	assert_ptr_equal(sk_X509_value(s2, 1), sk_X509_value(s1, 1));
	/* ... the uncached parser makes new objects */
	assert_non_null(s3 = av_x509_parse_any((uint8_t *)pem, strlen(pem)));
	assert_ptr_not_equal(sk_X509_value(s3, 0), x1);
	assert_int_equal(X509_cmp(sk_X509_value(s3, 0), x1), 0);
	sk_X509_pop_free(s1, X509_free);
	sk_X509_pop_free(s2, X509_free);
	sk_X509_pop_free(s3, X509_free);

	/* one byte different: another object, or nothing */
	der[dl - 1] ^= 0x01;
	x2 = av_x509_from_der_cached(der, dl);
	assert_true(x2 == NULL || x2 != x1);
	X509_free(x2);
	/* failures are not remembered, and fail again */
	assert_null(av_x509_from_der_cached(der, dl - 1));
	assert_null(av_x509_from_der_cached(der, dl - 1));
	assert_null(av_x509_parse_any_cached((const uint8_t *)"nothing", 7));
	assert_null(av_x509_parse_any_cached(NULL, 0));

	X509_free(x1);
	free(der);
	free(pem);
	pki_free(&p);
}

/* ---- the chain cache by identity ----------------------------------------- */

/* A new copy of x (another object, same content). */
static X509 *
copy(X509 *x)
{
	uint8_t	*der;
	size_t	 n;
	X509	*y;

	assert_non_null(der = avt_cert_der(x, &n));
	assert_non_null(y = av_x509_from_der(der, n));
	free(der);
	return y;
}

static int
chain(struct av_trust *t, X509 *leaf, X509 *inter, int64_t at,
    STACK_OF(X509_CRL) *crls, struct av_err *e)
{
	struct av_chain_opts	 o = { .platform = PLAT };
	STACK_OF(X509)		*u = sk_X509_new_null(), *out = NULL;
	int			 rc;

	assert_non_null(u);
	assert_true(sk_X509_push(u, inter) > 0);
	if (crls != NULL) {
		o.crls = crls;
		o.crl_check = true;
	}
	av_err_clear(e);
	rc = av_chain_verify(t, leaf, u, at, &o, &out, e);
	if (rc == 0) {
		assert_int_equal(sk_X509_num(out), leaf == inter ? 2 : 3);
		assert_int_equal(X509_cmp(sk_X509_value(out, 0), leaf), 0);
	}
	sk_X509_pop_free(out, X509_free);
	sk_X509_free(u);
	return rc;
}

static void
test_chain_identity(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	struct av_chain_stats	 st;
	struct av_err		 e;
	X509			*l1, *i1, *l2, *i2;
	X509_CRL		*crl;
	STACK_OF(X509_CRL)	*crls;

	(void)state;
	pki_make(&p);
	assert_non_null(t = av_trust_new());
	assert_int_equal(av_trust_add_anchor(t, PLAT, p.root), 0);
	l1 = copy(p.leaf);
	i1 = copy(p.inter);
	l2 = copy(p.leaf);
	i2 = copy(p.inter);

	assert_int_equal(chain(t, l1, i1, T0, NULL, &e), 0);	/* miss */
	assert_int_equal(chain(t, l1, i1, T0 + 60, NULL, &e), 0); /* identity */
	assert_int_equal(chain(t, l2, i2, T0, NULL, &e), 0);	/* content */
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 2);
	/* the cache keeps its own references: the caller's go */
	X509_free(l1);
	X509_free(i1);
	assert_int_equal(chain(t, l2, i2, T0 + 120, NULL, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 3);
	/* outside the window: verified again, with the exact error */
	assert_int_equal(chain(t, l2, i2, T0 + 2 * DAY, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	/* the intermediate alone is another question (a chain of two) */
	assert_int_equal(chain(t, i2, i2, T0, NULL, &e), 0);

	/* with CRLs: the CRL objects are part of the identity */
	assert_non_null(crl = avt_crl_new(p.inter, p.ik, T0 - DAY,
	    T0 + 3600, NULL, 0));
	assert_non_null(crls = sk_X509_CRL_new_null());
	assert_true(sk_X509_CRL_push(crls, crl) > 0);
	av_trust_chain_stats(t, &st);
	/* no CRL for the root: the chain fails, and is not cached */
	assert_int_equal(chain(t, l2, i2, T0, crls, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_MISSING);
	{
		X509_CRL *rcrl = avt_crl_new(p.root, p.rk, T0 - DAY,
		    T0 + 30 * DAY, NULL, 0);

		assert_non_null(rcrl);
		assert_true(sk_X509_CRL_push(crls, rcrl) > 0);
		assert_int_equal(chain(t, l2, i2, T0, crls, &e), 0);
		assert_int_equal(chain(t, l2, i2, T0 + 60, crls, &e), 0);
		/* the CRL's nextUpdate bounds the window */
		assert_int_equal(chain(t, l2, i2, T0 + 7200, crls, &e), -1);
		assert_int_equal(e.code, AV_E_COLLATERAL_EXPIRED);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
	{
		struct av_chain_stats st2;

		av_trust_chain_stats(t, &st2);
		assert_int_equal(st2.hits, st.hits + 1);
	}

	/* changing the trust set drops both caches */
	assert_int_equal(av_trust_add_anchor(t, PLAT, p.inter), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(chain(t, l2, i2, T0, NULL, &e), 0);
	{
		struct av_chain_stats st2;

		av_trust_chain_stats(t, &st2);
		assert_int_equal(st2.misses, st.misses + 1);
	}
	X509_free(l2);
	X509_free(i2);
	av_trust_free(t);
	pki_free(&p);
}

/* ---- ECDSA with per-thread contexts --------------------------------------- */

static void
sign_verify(EVP_PKEY *k, EVP_PKEY *other, const EVP_MD *md, size_t half,
    int times)
{
	uint8_t		 msg[48], *sig;
	size_t		 len;
	struct av_err	 e;

	for (int i = 0; i < times; i++) {
		assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
		assert_non_null(sig = avt_ecdsa_sign_rs(k, md, msg,
		    sizeof(msg), &len));
		assert_int_equal(len, 2 * half);
		av_err_clear(&e);
		assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg),
		    sig, half, sig + half, half, &e), 0);
		if (other != NULL) {
			av_err_clear(&e);
			assert_int_equal(av_ecdsa_verify_rs(other, md, msg,
			    sizeof(msg), sig, half, sig + half, half, &e), -1);
			assert_int_equal(e.code, AV_E_SIGNATURE);
		}
		free(sig);
	}
}

static void
test_ecdsa_contexts(void **state)
{
	EVP_PKEY	*k[12];

	(void)state;
	/* many signatures: r and s with the top bit set, and shorter ones */
	assert_non_null(k[0] = avt_key_new("P-256"));
	sign_verify(k[0], NULL, EVP_sha256(), 32, 600);
	EVP_PKEY_free(k[0]);
	/* P-521: a DER signature over 127 bytes (long-form length) */
	assert_non_null(k[0] = avt_key_new("P-521"));
	sign_verify(k[0], NULL, EVP_sha512(), 66, 20);
	EVP_PKEY_free(k[0]);
	/* more keys than the per-thread slots, in turns */
	for (int i = 0; i < 12; i++)
		assert_non_null(k[i] = avt_key_new(i % 2 ? "P-384" : "P-256"));
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 12; i++)
			sign_verify(k[i], k[(i + 2) % 12], i % 2 ?
			    EVP_sha384() : EVP_sha256(), i % 2 ? 48 : 32, 2);
	/* a key freed by its owner while a context still holds it */
	EVP_PKEY_free(k[11]);
	assert_non_null(k[11] = avt_key_new("P-384"));
	sign_verify(k[11], k[9], EVP_sha384(), 48, 3);
	for (int i = 0; i < 12; i++)
		EVP_PKEY_free(k[i]);
}

struct thr {
	EVP_PKEY	*k;
	uint8_t		 msg[32];
	uint8_t		*sig;
	int		 bad;
};

static void *
thr_main(void *arg)
{
	struct thr	*t = arg;
	struct av_err	 e;
	uint8_t		 h[32], h2[32];

	for (int i = 0; i < 300; i++) {
		if (av_ecdsa_verify_rs(t->k, EVP_sha256(), t->msg,
		    sizeof(t->msg), t->sig, 32, t->sig + 32, 32, &e) != 0)
			t->bad++;
		av_sha256(t->msg, sizeof(t->msg), h);
		if (EVP_Digest(t->msg, sizeof(t->msg), h2, NULL, EVP_sha256(),
		    NULL) != 1 || memcmp(h, h2, 32) != 0)
			t->bad++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct thr	t[4];
	pthread_t	th[4];
	EVP_PKEY	*k;
	size_t		 len;

	(void)state;
	assert_non_null(k = avt_key_new("P-256"));
	for (int i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].k = k;
		memset(t[i].msg, i, sizeof(t[i].msg));
		assert_non_null(t[i].sig = avt_ecdsa_sign_rs(k, EVP_sha256(),
		    t[i].msg, sizeof(t[i].msg), &len));
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]),
		    0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].bad, 0);
		free(t[i].sig);
	}
	EVP_PKEY_free(k);
}

/* ---- RSA with per-thread contexts ----------------------------------------- */

/* An RSA signature over msg with md (PKCS#1 v1.5 or PSS, salt = digest). */
static uint8_t *
rsa_sign(EVP_PKEY *k, const EVP_MD *md, bool pss, const uint8_t *msg,
    size_t n, size_t *len)
{
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pc = NULL;
	uint8_t		*sig;

	assert_non_null(m);
	assert_int_equal(EVP_DigestSignInit(m, &pc, md, NULL, k), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc,
		    RSA_PSS_SALTLEN_DIGEST), 1);
	}
	assert_int_equal(EVP_DigestSign(m, NULL, len, msg, n), 1);
	assert_non_null(sig = malloc(*len));
	assert_int_equal(EVP_DigestSign(m, sig, len, msg, n), 1);
	EVP_MD_CTX_free(m);
	return sig;
}

static void
test_rsa(void **state)
{
	static const uint8_t	 msg[] = "attestd RSA test message";
	EVP_PKEY		*k, *k2, *ec;
	uint8_t			*sig;
	size_t			 len;
	struct av_err		 e;

	(void)state;
	assert_non_null(k = avt_key_new("RSA-2048"));
	assert_non_null(k2 = avt_key_new("RSA-2048"));
	assert_non_null(ec = avt_key_new("P-256"));
	for (int pss = 0; pss <= 1; pss++) {
		const EVP_MD *md = pss ? EVP_sha384() : EVP_sha256();

		sig = rsa_sign(k, md, pss, msg, sizeof(msg), &len);
		for (int i = 0; i < 3; i++) {	/* the context is reused */
			av_err_clear(&e);
			assert_int_equal(av_rsa_verify(k, md, pss, msg,
			    sizeof(msg), sig, len, &e), 0);
		}
		/* the other padding, digest, key or message: no */
		assert_int_equal(av_rsa_verify(k, md, !pss, msg, sizeof(msg),
		    sig, len, &e), -1);
		assert_int_equal(e.code, AV_E_SIGNATURE);
		assert_int_equal(av_rsa_verify(k, pss ? EVP_sha256() :
		    EVP_sha384(), pss, msg, sizeof(msg), sig, len, &e), -1);
		assert_int_equal(e.code, AV_E_SIGNATURE);
		assert_int_equal(av_rsa_verify(k2, md, pss, msg, sizeof(msg),
		    sig, len, &e), -1);
		assert_int_equal(e.code, AV_E_SIGNATURE);
		assert_int_equal(av_rsa_verify(k, md, pss, msg,
		    sizeof(msg) - 1, sig, len, &e), -1);
		assert_int_equal(e.code, AV_E_SIGNATURE);
		sig[len / 2] ^= 0x10;
		assert_int_equal(av_rsa_verify(k, md, pss, msg, sizeof(msg),
		    sig, len, &e), -1);
		assert_int_equal(e.code, AV_E_SIGNATURE);
		/* not an RSA key */
		av_err_clear(&e);
		assert_int_equal(av_rsa_verify(ec, md, pss, msg, sizeof(msg),
		    sig, len, &e), -1);
		assert_int_equal(e.code, AV_E_UNSUPPORTED_ALG);
		free(sig);
	}
	/* an EC key's ECDSA context and an RSA scheme never mix */
	sign_verify(ec, NULL, EVP_sha256(), 32, 2);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

/* ---- TPM AKs through the memo ------------------------------------------ */

/* Parse an AK into a new tpm_ev; NULL if it does not parse. */
static struct tpm_ev *
ak(const uint8_t *p, size_t n)
{
	struct tpm_ev	*ev = tpm_ev_new("tpm");
	struct av_err	 e;

	assert_non_null(ev);
	av_err_clear(&e);
	if (tpm_ak_parse(ev, p, n, &e) != 0) {
		assert_int_equal(e.code, AV_E_MALFORMED);
		tpm_ev_free(ev);
		return NULL;
	}
	return ev;
}

static void
test_tpm_ak(void **state)
{
	EVP_PKEY	*k;
	uint8_t		*pub;
	size_t		 pl;
	struct tpm_ev	*a, *b;

	(void)state;
	assert_non_null(k = avt_key_new("RSA-2048"));
	assert_non_null(pub = avt_tpm_public(k, true, &pl));
	assert_non_null(a = ak(pub, pl));	/* parsed */
	assert_non_null(b = ak(pub, pl));	/* from the memo */
	assert_ptr_equal(a->ak, b->ak);
	assert_int_equal(EVP_PKEY_eq(a->ak, k), 1);
	assert_true(a->has_tpmt && b->has_tpmt);
	assert_int_equal(a->ak_name_len, b->ak_name_len);
	assert_true(a->ak_name_len > 2);
	assert_memory_equal(a->ak_name, b->ak_name, a->ak_name_len);
	assert_memory_equal(a->ak_spki_sha256, b->ak_spki_sha256, 32);
	assert_memory_equal(&a->ak_pub, &b->ak_pub, sizeof(a->ak_pub));
	tpm_ev_free(a);
	tpm_ev_free(b);
	/* the shared key outlives the requests that used it */
	assert_non_null(a = ak(pub, pl));
	assert_int_equal(EVP_PKEY_eq(a->ak, k), 1);
	tpm_ev_free(a);
	/* one byte off: not the memo's key (another key, or no key) */
	pub[pl - 1] ^= 0x01;
	if ((a = ak(pub, pl)) != NULL) {
		assert_int_not_equal(EVP_PKEY_eq(a->ak, k), 1);
		tpm_ev_free(a);
	}
	/* failures fail again */
	assert_null(ak(pub, 3));
	assert_null(ak(pub, 3));
	free(pub);
	EVP_PKEY_free(k);
}

/* ---- the caches from several threads ------------------------------------- */

struct pthr {
	struct av_trust	*t;
	const char	*pem;
	X509		*leaf;		/* the shared object, for comparison */
	int		 bad;
};

static void *
pthr_main(void *arg)
{
	struct pthr	*a = arg;
	struct av_chain_opts o = { .platform = PLAT };
	struct av_err	 e;

	for (int i = 0; i < 200; i++) {
		STACK_OF(X509)	*sk, *u;
		char		 junk[64];

		/* a one-off input now and then pushes entries around */
		snprintf(junk, sizeof(junk), "%s", i % 7 ? "" : "x");
		sk = av_x509_parse_any_cached((const uint8_t *)a->pem,
		    strlen(a->pem) - (junk[0] != '\0'));
		if (sk == NULL || sk_X509_num(sk) != 2 ||
		    (junk[0] == '\0' && sk_X509_value(sk, 0) != a->leaf)) {
			a->bad++;
			sk_X509_pop_free(sk, X509_free);
			continue;
		}
		u = sk_X509_new_null();
		if (u == NULL || sk_X509_push(u, sk_X509_value(sk, 1)) <= 0 ||
		    av_chain_verify(a->t, sk_X509_value(sk, 0), u, T0 + i, &o,
		    NULL, &e) != 0)
			a->bad++;
		sk_X509_free(u);
		sk_X509_pop_free(sk, X509_free);
	}
	return NULL;
}

static void
test_cache_threads(void **state)
{
	struct pki	 p;
	struct pthr	 a[4];
	pthread_t	 th[4];
	STACK_OF(X509)	*sk;
	char		*pem;

	(void)state;
	pki_make(&p);
	pem = pem_of(p.leaf, p.inter);
	assert_non_null(sk = av_x509_parse_any_cached((uint8_t *)pem,
	    strlen(pem)));
	for (int i = 0; i < 4; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].pem = pem;
		a[i].leaf = sk_X509_value(sk, 0);
		if (i == 1) {
			/* two threads share a trust set and its chain cache */
			a[i].t = a[0].t;
			continue;
		}
		assert_non_null(a[i].t = av_trust_new());
		assert_int_equal(av_trust_add_anchor(a[i].t, PLAT, p.root), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, pthr_main, &a[i]),
		    0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(a[i].bad, 0);
	}
	for (int i = 0; i < 4; i++)
		if (i != 1)
			av_trust_free(a[i].t);
	sk_X509_pop_free(sk, X509_free);
	free(pem);
	pki_free(&p);
}

/* ---- SHA-2 ----------------------------------------------------------------- */

static void
test_digests(void **state)
{
	uint8_t		buf[300], a[64], b[64];
	unsigned int	n;

	(void)state;
	for (size_t len = 0; len <= sizeof(buf); len += 7) {
		assert_int_equal(RAND_bytes(buf, sizeof(buf)), 1);
		av_sha256(buf, len, a);
		assert_int_equal(EVP_Digest(buf, len, b, &n, EVP_sha256(),
		    NULL), 1);
		assert_memory_equal(a, b, 32);
		av_sha384(buf, len, a);
		assert_int_equal(EVP_Digest(buf, len, b, &n, EVP_sha384(),
		    NULL), 1);
		assert_memory_equal(a, b, 48);
		av_sha512(buf, len, a);
		assert_int_equal(EVP_Digest(buf, len, b, &n, EVP_sha512(),
		    NULL), 1);
		assert_memory_equal(a, b, 64);
		assert_int_equal(av_digest(EVP_sha1(), buf, len, a), 0);
		assert_int_equal(EVP_Digest(buf, len, b, &n, EVP_sha1(),
		    NULL), 1);
		assert_memory_equal(a, b, 20);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memo_basic),
		cmocka_unit_test(test_memo_evict),
		cmocka_unit_test(test_memo_collisions),
		cmocka_unit_test(test_memo_hash),
		cmocka_unit_test(test_parse_cached),
		cmocka_unit_test(test_chain_identity),
		cmocka_unit_test(test_ecdsa_contexts),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_cache_threads),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_tpm_ak),
		cmocka_unit_test(test_digests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
