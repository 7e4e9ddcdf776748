/*
 * attestd - collateral: certificates, CRLs, Intel TCB info / QE identity,
 * NVIDIA RIMs and OCSP responses, indexed by content.  Sources, in order:
 * the request itself, this store (files given by the operator, the
 * on-disk cache), then the vendor service when fetching is enabled.
 */
#ifndef AV_COLLATERAL_H
#define AV_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "av/err.h"

enum av_coll_kind {
	AV_COLL_CERT,		/* X.509 certificate */
	AV_COLL_CRL,		/* X.509 CRL */
	AV_COLL_JSON,		/* JSON document (TCB info, QE identity, ...) */
	AV_COLL_XML,		/* XML document (RIM) */
	AV_COLL_OTHER,		/* anything else (OCSP responses, ...) */
};

/*
 * One piece of collateral.  data is the bytes as received, except that a
 * PEM certificate or CRL is kept as its DER (one blob per PEM block), so
 * the same certificate in PEM and DER is one blob.  sha256 is over data;
 * the store holds each content once.
 */
struct av_coll_blob {
	enum av_coll_kind	 kind;
	uint8_t			*data;		/* owned: bytes as received */
	size_t			 len;
	uint8_t			 sha256[32];
	char			*origin;	/* file name or URL (owned) */
	X509			*cert;		/* AV_COLL_CERT (owned) */
	X509_CRL		*crl;		/* AV_COLL_CRL (owned) */
	json_t			*json;		/* AV_COLL_JSON (owned) */
};

struct av_coll_fetch_cfg {
	bool		 online;	/* fetch from vendor services */
	const char	*cache_dir;	/* on-disk cache, or NULL */
	const char	*amd_kds_url;	/* "https://kdsintf.amd.com" */
	const char	*intel_pcs_url;	/* "https://api.trustedservices.intel.com" */
	const char	*nvidia_rim_url;	/* "https://rim.attestation.nvidia.com" */
	const char	*nvidia_ocsp_url;	/* "https://ocsp.ndis.nvidia.com" */
	long		 timeout_s;	/* whole transfer; <= 0: 10 s */
	/* --- appended fields (zero = the documented default) --- */
	long		 min_interval_ms;	/* least spacing between two
						   requests to one host; 0: none */
	long		 kds_min_interval_ms;	/* the same for the host of
						   amd_kds_url (AMD asks about
						   10000); the larger applies */
	long		 max_wait_ms;	/* longest a request waits for its
					   rate-limit slot before failing;
					   0: timeout_s */
	int		 max_redirects;	/* redirects followed, 0..3 */
};

struct av_collateral;	/* thread-safe: lookups and additions lock */

/*
 * New store with a copy of cfg (NULL: offline, no cache).  When
 * cfg->cache_dir has an imported/ folder (av_collateral_import()), its
 * files are loaded; a failure there is logged, not fatal.  Caller frees
 * (av_collateral_free(), after every fetch has returned).  NULL on
 * allocation failure.
 */
struct av_collateral *av_collateral_new(const struct av_coll_fetch_cfg *);
void	av_collateral_free(struct av_collateral *);
/*
 * Add every file below dir (recursively), classified by content: DER or
 * PEM certificates (several per file), DER or PEM CRLs, JSON, XML, other.
 * Names starting with '.' and symbolic links to folders are skipped;
 * files over 16 MiB are skipped with a warning; empty files are ignored.
 * All or nothing: the files are read and parsed first and added only if
 * every one could be read (at most 100000 files and blobs in all).
 * Returns 0, or -1 with e (AV_E_IO) when dir or a file in it cannot be
 * read, (AV_E_CONFIG) when the caps are exceeded.
 */
AV_MUST_USE int av_collateral_add_dir(struct av_collateral *, const char *dir,
    struct av_err *e);
/*
 * Add one blob (bytes copied), classified as by av_collateral_add_dir();
 * a duplicate is not an error.  For operator and vendor data: collateral
 * that came with a request belongs in a short-lived store of its own
 * (av_collateral_new(NULL)), or clients could grow the shared one.
 * Returns 0, or -1 with e (AV_E_COLLATERAL_INVALID: over 16 MiB; AV_E_CONFIG:
 * store full; AV_E_NOMEM).
 */
AV_MUST_USE int av_collateral_add(struct av_collateral *, const uint8_t *p,
    size_t n, const char *origin, struct av_err *e);
/*
 * Iterate over blobs of a kind: returns the i-th (borrowed; valid while
 * the store lives) or NULL past the end.
 */
const struct av_coll_blob *av_collateral_get(struct av_collateral *,
    enum av_coll_kind, size_t i);
/* All certificates (new stack of borrowed X509: sk_X509_free only). */
STACK_OF(X509) *av_collateral_certs(struct av_collateral *);
/* All CRLs (new stack of borrowed X509_CRL: sk_X509_CRL_free only). */
STACK_OF(X509_CRL) *av_collateral_crls(struct av_collateral *);
/* The fetch configuration the store was made with. */
const struct av_coll_fetch_cfg *av_collateral_cfg(const struct av_collateral *);

/*
 * Fetch url through the on-disk cache: a cached copy (key = SHA-256 of
 * url) is returned first when present; otherwise, if online, GET it
 * (libcurl, timeout from cfg) and store it.  On success *out is malloc'd.
 * Response headers named in hdr_names (NULL-terminated, may be NULL) are
 * returned in *hdrs as a JSON object (new ref) and cached beside the body.
 * Errors: AV_E_COLLATERAL_MISSING (offline and not cached, or HTTP
 * failure). Returns 0/-1.
 *
 * The cache does not judge freshness: the caller checks the content's own
 * validity (certificate notAfter, CRL nextUpdate, TCB info nextUpdate) and
 * calls av_collateral_fetch_flags(.., AV_FETCH_REFRESH, ..) when stale.
 * Header values are returned as received (Intel's issuer chains are
 * URL-encoded PEM: decode with curl_easy_unescape()); the keys of *hdrs
 * are the names as given in hdr_names, matched case-insensitively.
 * See docs/collateral.md.
 */
AV_MUST_USE int av_collateral_fetch(struct av_collateral *, const char *url,
    const char *const *hdr_names, uint8_t **out, size_t *outlen,
    json_t **hdrs, struct av_err *e);

/*
 * Flags for av_collateral_fetch_flags().
 * AV_FETCH_REFRESH: skip the cached copy and ask the vendor service (the
 * new copy replaces the cached one).  When that is impossible (offline,
 * unreachable, rate-limited, HTTP error) the cached copy, if any, is
 * returned instead, so the caller can report it as expired rather than
 * missing; the caller re-checks validity either way.
 */
#define AV_FETCH_REFRESH	0x01u

/* av_collateral_fetch() with flags (AV_FETCH_*).  Returns 0/-1. */
AV_MUST_USE int av_collateral_fetch_flags(struct av_collateral *,
    const char *url, const char *const *hdr_names, unsigned flags,
    uint8_t **out, size_t *outlen, json_t **hdrs, struct av_err *e);

/*
 * POST body (at most 64 KiB) with this Content-Type to url, e.g. an OCSP
 * request ("application/ocsp-request", RFC 6960 s.A.1), through the same
 * cache, coalescing and rate limits as av_collateral_fetch_flags().  The
 * cache key is the SHA-256 of the method, URL, type and body, so a request
 * carrying a fresh nonce is never answered from the cache.  Errors as for
 * av_collateral_fetch(); AV_E_INTERNAL for a bad type or size.
 * Returns 0/-1.
 */
AV_MUST_USE int av_collateral_post(struct av_collateral *, const char *url,
    const char *content_type, const uint8_t *body, size_t bodylen,
    const char *const *hdr_names, unsigned flags, uint8_t **out,
    size_t *outlen, json_t **hdrs, struct av_err *e);

/*
 * The blob whose content has this SHA-256 (see struct av_coll_blob), or
 * NULL.  Borrowed; valid while the store lives.
 */
const struct av_coll_blob *av_collateral_find(struct av_collateral *,
    const uint8_t sha256[32]);

/* Counters for metrics and tests (a snapshot taken under the lock). */
struct av_coll_stats {
	unsigned long	 blobs;		/* blobs in the store */
	unsigned long	 cache_hits;	/* fetches answered from disk */
	unsigned long	 cache_misses;	/* fetches not found on disk */
	unsigned long	 requests;	/* HTTP requests sent */
	unsigned long	 coalesced;	/* fetches that waited for another */
	unsigned long	 rate_limited;	/* fetches refused by a rate limit */
	unsigned long	 errors;	/* failed HTTP requests */
};
void	av_collateral_stats(struct av_collateral *, struct av_coll_stats *);

/*
 * Pre-seed a cache for offline use (attestctl collateral import FILE...):
 * copy each file (or every file below a directory) into
 * <cache_dir>/imported/ as <hex SHA-256 of the file>.<pem|der|crl|json|
 * xml|bin>, written atomically; files already there are skipped.
 * av_collateral_new() loads <cfg->cache_dir>/imported/ into the store.
 * The files are checked to be readable and at most 16 MiB; their content
 * is classified but not validated.  *nimported (may be NULL) is the
 * number of new files.  Returns 0, or -1 with e (AV_E_IO: unreadable
 * input or unwritable cache; AV_E_COLLATERAL_INVALID: file too large);
 * files copied before the failure stay.
 */
AV_MUST_USE int av_collateral_import(const char *cache_dir,
    const char *const *files, size_t nfiles, size_t *nimported,
    struct av_err *e);

#endif
