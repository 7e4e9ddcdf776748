/*
 * attestd - memos of pure parse functions, keyed by the exact bytes
 * parsed: bounded, thread-safe, shared by every request of a process.
 *
 * Evidence repeats its certificates and collateral (a host sends the same
 * chain and CRLs with every report) and OpenSSL 3 decodes a certificate's
 * public key through its provider machinery, which costs about as much
 * as the signature check the certificate is there for.  A memo hands out
 * new references to the object parsed the first time, so the same bytes
 * give the same (immutable, shared) object: that identity also lets the
 * chain cache answer without hashing (src/crypto/chain.c).
 *
 * Keys are the input bytes themselves (a copy is kept and compared with
 * memcmp), found through a 64-bit hash; a hash collision costs a compare,
 * never a wrong answer.  Only successful parses are remembered.  When a
 * memo is full, a clock hand evicts entries not hit since it last passed
 * (a second chance for what every request shares).
 */
#ifndef AV_MEMO_H
#define AV_MEMO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define AV_MEMO_SLOTS		64		/* entries per memo */
#define AV_MEMO_MAX_KEY		(1u << 20)	/* larger inputs: not kept */
#define AV_MEMO_MAX_BYTES	(8u << 20)	/* key bytes per memo */

struct av_memo_ent;

/* One memo; define with AV_MEMO_INITIALIZER (static storage). */
struct av_memo {
	pthread_mutex_t		 mtx;
	void			*(*ref)(void *);  /* new reference or NULL */
	void			 (*unref)(void *);
	struct av_memo_ent	*slot[AV_MEMO_SLOTS];	/* owned; guarded */
	size_t			 next;			/* guarded: clock hand */
	size_t			 bytes;			/* guarded */
	unsigned long		 hits, misses;		/* guarded */
	/* tests only: hash keys with this instead of av_memo_hash() */
	uint64_t		 (*hash)(uint8_t, const void *, size_t,
				    const void *, size_t);
};

#define AV_MEMO_INITIALIZER(ref, unref) \
	{ PTHREAD_MUTEX_INITIALIZER, (ref), (unref), { NULL }, 0, 0, 0, 0, \
	    NULL }

/*
 * A new reference to the object remembered for (tag, a[0..an),
 * b[0..bn)), or NULL.  b may be NULL (bn 0).
 */
void	*av_memo_get(struct av_memo *, uint8_t tag, const void *a, size_t an,
	    const void *b, size_t bn);
/*
 * Remember obj for the key (a reference is taken with ref(); the oldest
 * entry goes when the memo is full).  Failures are ignored: a memo is
 * an optimisation.
 */
void	 av_memo_put(struct av_memo *, uint8_t tag, const void *a, size_t an,
	    const void *b, size_t bn, void *obj);
/* Drop every entry (tests; memory).  */
void	 av_memo_flush(struct av_memo *);
/*
 * The 64-bit hash a memo files the key (tag, a[0..an), b[0..bn)) under;
 * not cryptographic (a hit compares the whole key).  For tests.
 */
uint64_t av_memo_hash(uint8_t tag, const void *a, size_t an, const void *b,
	    size_t bn);

/* Common ref/unref pairs for OpenSSL objects. */
void	*av_memo_ref_x509(void *);
void	 av_memo_unref_x509(void *);
void	*av_memo_ref_x509_stack(void *);
void	 av_memo_unref_x509_stack(void *);
void	*av_memo_ref_crl(void *);
void	 av_memo_unref_crl(void *);
void	*av_memo_ref_crl_stack(void *);
void	 av_memo_unref_crl_stack(void *);
void	*av_memo_ref_pkey(void *);
void	 av_memo_unref_pkey(void *);

#endif
