/*
 * attestd - private: the trust set and its chain cache (src/crypto only).
 */
#ifndef AV_TRUST_INT_H
#define AV_TRUST_INT_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "av/crypto.h"

/* Anchors of one platform. */
struct av_trust_plat {
	char		 *name;		/* owned: "aws-nitro", ... */
	STACK_OF(X509)	 *anchors;	/* owned (refs): operator anchors */
	uint8_t		(*pins)[32];	/* owned: built-in + operator pins */
	size_t		  npins;
};

struct av_chain_cache;			/* chain.c */

struct av_trust {
	struct av_trust_plat	*plats;	/* owned array */
	size_t			 nplats;
	STACK_OF(X509)		*empty;	/* owned, always empty */
	struct av_chain_cache	*cache;	/* owned; mutable under its lock */
};

/* The platform's anchors, or NULL when it has none. */
const struct av_trust_plat *av_trust_plat_find(const struct av_trust *,
    const char *platform);
/* Whether sha256 is pinned for plat (plat may be NULL). */
bool	av_trust_plat_pinned(const struct av_trust_plat *,
	    const uint8_t sha256[32]);

/* chain.c: new/free/flush of the chain cache. */
struct av_chain_cache *av_chain_cache_new(void);
void	av_chain_cache_free(struct av_chain_cache *);
void	av_chain_cache_flush(struct av_chain_cache *);

#endif
