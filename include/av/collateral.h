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
	long		 timeout_s;
};

struct av_collateral;	/* thread-safe: lookups and additions lock */

struct av_collateral *av_collateral_new(const struct av_coll_fetch_cfg *);
void	av_collateral_free(struct av_collateral *);
/*
 * Add every file below dir (recursively), classified by content: DER or
 * PEM certificates (several per file), DER or PEM CRLs, JSON, XML, other.
 * Returns 0, or -1 with e (AV_E_IO) when dir cannot be read.
 */
AV_MUST_USE int av_collateral_add_dir(struct av_collateral *, const char *dir,
    struct av_err *e);
/* Add one blob (bytes copied).  Returns 0/-1. */
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
 */
AV_MUST_USE int av_collateral_fetch(struct av_collateral *, const char *url,
    const char *const *hdr_names, uint8_t **out, size_t *outlen,
    json_t **hdrs, struct av_err *e);

#endif
