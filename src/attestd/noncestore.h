/*
 * attestd - the challenge nonce stores behind avd_nonce_*() (attestd.h):
 * "memory" (challenge.c, one process) and "redis" (noncestore.c, shared
 * by replicas).  Private to the daemon and its unit test.
 */
#ifndef AVD_NONCESTORE_H
#define AVD_NONCESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attestd.h"

enum avd_nstore_kind { AVD_NSTORE_MEMORY, AVD_NSTORE_REDIS };

/* A parsed --nonce-store value. */
struct avd_nstore_spec {
	enum avd_nstore_kind	 kind;
	char			 host[256];	/* redis: host or IPv6 address */
	unsigned		 port;		/* redis: 6379 unless given */
	unsigned		 db;		/* redis: SELECT db (0) */
	char			 user[128];	/* redis ACL user ("": none) */
};

/*
 * Parse "memory" or "redis://[USER@]HOST[:PORT][/DB]" (HOST may be
 * "[v6]").  A password in the URL, rediss:// and anything else are
 * refused.  Returns 0, or -1 with *why a client-safe literal.
 */
int	avd_nstore_parse(const char *s, struct avd_nstore_spec *out,
	    const char **why);

/*
 * Whether this build can talk to Redis (hiredis was found by CMake).
 */
bool	avd_nstore_redis_built(void);

/* ---- the in-process store (challenge.c) ------------------------------- */

/* Start it: capacity max entries, lifetime ttl_s.  Returns 0/-1. */
int	avd_nmem_init(size_t max, int64_t ttl_s);
/* Free it (at exit); a later avd_nmem_init() starts afresh. */
void	avd_nmem_free(void);
/* Issue: OK (out, *expires_at filled), or FULL (no room, no randomness). */
enum avd_nonce_state avd_nmem_issue(int64_t now, uint8_t out[32],
	    int64_t *expires_at);
enum avd_nonce_state avd_nmem_consume(const uint8_t *p, size_t n,
	    int64_t now);
size_t	avd_nmem_outstanding(int64_t now);

/* Seconds an entry is kept past its expiry (so a late use is a 410). */
int64_t	avd_nonce_retain(int64_t ttl_s);

#endif
