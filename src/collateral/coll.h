/*
 * attestd - collateral store internals shared by store.c, cache.c and
 * fetch.c.  Not a public interface.
 */
#ifndef AV_COLL_INT_H
#define AV_COLL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/collateral.h"
#include "av/err.h"

#define COLL_MAX_FILE		(16u * 1024 * 1024)	/* one file or body */
#define COLL_MAX_BLOBS		100000u		/* blobs in one store */
#define COLL_MAX_FILES		100000u		/* files in one walk */
#define COLL_MAX_DEPTH		32		/* folder nesting in a walk */
#define COLL_NKINDS		5		/* enum av_coll_kind */

/* A growable list of blobs not yet in a store (owned). */
struct coll_blist {
	struct av_coll_blob	**v;
	size_t			  n, cap;
};

/* A fetch in flight: later callers for the same URL wait for it. */
struct coll_inflight {
	struct coll_inflight	*next;
	char			 key[65];	/* request key (hex SHA-256) */
	pthread_cond_t		 cv;
	bool			 refresh;	/* the leader skips the cache */
	unsigned		 refs;		/* leader + waiters */
	bool			 done;
	/* result, set by the leader before done */
	int			 rc;
	struct av_err		 err;
	uint8_t			*body;		/* owned */
	size_t			 len;
	json_t			*hdrs;		/* owned: every header, lower-case */
};

/* Rate-limit state of one host ("host:port"). */
struct coll_host {
	struct coll_host	*next;
	char			*name;		/* owned */
	int64_t			 next_slot_ms;	/* monotonic: earliest next request */
	int64_t			 backoff_ms;	/* monotonic: refused until then */
};

struct av_collateral {
	pthread_mutex_t		 mtx;
	struct av_coll_fetch_cfg cfg;		/* strings below are owned copies */
	char			*s_cache, *s_kds, *s_pcs, *s_rim, *s_ocsp;
	char			*kds_host;	/* "host:port" of amd_kds_url, or NULL */

	struct av_coll_blob	**kinds[COLL_NKINDS];	/* owned blobs by kind */
	size_t			  nkind[COLL_NKINDS], capkind[COLL_NKINDS];
	size_t			  nblobs;
	struct av_coll_blob	**tab;		/* borrowed: open addressing by sha256 */
	size_t			  tabcap;	/* power of two */

	struct coll_inflight	*inflight;
	struct coll_host	*hosts;
	struct av_coll_stats	 st;
};

/* ---- store.c ---------------------------------------------------------- */

void	coll_blob_free(struct av_coll_blob *);
void	coll_blist_cleanup(struct coll_blist *);
/*
 * Classify p[0..n) and append its blob(s) to l (one per PEM certificate or
 * CRL; none for an empty buffer).  *pem (may be NULL) says whether the
 * certificates/CRLs were PEM.  Returns 0, or -1 with e (AV_E_NOMEM).
 */
AV_MUST_USE int coll_classify(const uint8_t *p, size_t n, const char *origin,
    struct coll_blist *l, bool *pem, struct av_err *e);

/* ---- cache.c ---------------------------------------------------------- */

/*
 * Read a whole regular file of at most max bytes.  *out malloc'd (caller
 * frees).  Returns 0; 1 when it is larger than max (nothing read); -1 with
 * e (AV_E_IO) otherwise.
 */
AV_MUST_USE int coll_read_file(const char *path, size_t max, uint8_t **out,
    size_t *len, struct av_err *e);
/*
 * Call cb for every regular file below path (or path itself when it is a
 * file), in name order; see av_collateral_add_dir() for what is skipped.
 * cb returns 0 to go on or -1 (with e set) to stop.  Returns 0/-1.
 */
typedef int (*coll_walk_cb)(const char *path, void *arg, struct av_err *e);
AV_MUST_USE int coll_walk(const char *path, coll_walk_cb cb, void *arg,
    struct av_err *e);
/* mkdir -p with mode 0755.  Returns 0, or -1 with e (AV_E_IO). */
AV_MUST_USE int coll_mkdir_p(const char *dir, struct av_err *e);
/*
 * Write dir/name atomically: temporary file, fsync, rename, fsync of dir.
 * Returns 0, or -1 with e (AV_E_IO).
 */
AV_MUST_USE int coll_write_atomic(const char *dir, const char *name,
    const uint8_t *p, size_t n, struct av_err *e);
/* Lower-case hex SHA-256 of p (65 bytes with NUL). */
void	coll_sha256_hex(const uint8_t *p, size_t n, char out[65]);
void	coll_sha256(const uint8_t *p, size_t n, uint8_t out[32]);
/* Path a/b, malloc'd; NULL on allocation failure. */
char	*coll_path(const char *a, const char *b);

/* ---- fetch.c ---------------------------------------------------------- */

/* "host:port" (lower-case) of an http(s) URL, malloc'd; NULL if none. */
char	*coll_host_key(const char *url);
/* Free the fetch state (inflight list must be empty, hosts). */
void	coll_fetch_cleanup(struct av_collateral *);

#endif
