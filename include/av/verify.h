/*
 * attestd - the pipeline: request -> per-item parse/verify/claims ->
 * binding -> appraisal against a policy -> result.  Used by attestd and
 * attestctl alike.
 */
#ifndef AV_VERIFY_H
#define AV_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/err.h"
#include "av/result.h"

struct av_trust;
struct av_collateral;
struct av_policy;

/* Limits on what one request may carry. */
#define AV_MAX_ITEMS		16
#define AV_MAX_EVIDENCE_BYTES	(4u << 20)
#define AV_MAX_NONCE_BYTES	1024

struct av_item {
	char		*name;		/* submod name (owned) */
	char		*type;		/* declared type (owned) or NULL */
	uint8_t		*data;		/* decoded bytes (owned) */
	size_t		 len;
	json_t		*item;		/* the item object (owned ref) or NULL */
};

struct av_request {
	char		*policy_id;	/* owned or NULL */
	uint8_t		*nonce;		/* owned or NULL */
	size_t		 nonce_len;
	uint8_t		*runtime_data;	/* owned or NULL */
	size_t		 runtime_data_len;
	size_t		 nitems;
	struct av_item	 items[AV_MAX_ITEMS];
};

/*
 * Parse the JSON request body (docs/api.md): {"nonce"?, "policy"?,
 * "runtime_data"?, "evidence": [{"type"?, "name"?, "data", ...}]}.
 * nonce and runtime_data are base64url or base64.
 * Returns 0 and *out (av_request_free) or -1 with e (AV_E_BAD_REQUEST,
 * AV_E_MALFORMED).
 */
AV_MUST_USE int av_request_from_json(const json_t *body,
    struct av_request **out, struct av_err *e);
/* One raw evidence item (type may be NULL: detected). */
AV_MUST_USE int av_request_from_raw(const char *type, const uint8_t *p,
    size_t n, struct av_request **out, struct av_err *e);
void	av_request_free(struct av_request *);

struct av_result {
	enum av_status		 status;	/* worst submod */
	char			*policy_ref;	/* "<id>@<version>" or NULL */
	uint8_t			*nonce;		/* copy, or NULL */
	size_t			 nonce_len;
	size_t			 nsubmods;
	/* one per item, then one per required submod the request lacks */
	struct av_submod	 submods[2 * AV_MAX_ITEMS];
};

struct av_env {
	int64_t			 now;		/* verification time */
	const struct av_trust	*trust;
	struct av_collateral	*coll;		/* may be NULL */
};

/*
 * Verify and appraise every item of req against policy (may be NULL:
 * evidence-only appraisal, status at best "warning").  A failed
 * verification is not an error: it is a contraindicated submod with
 * reasons.  Returns 0 and *out (av_result_free), or -1 only on internal
 * failure.
 */
AV_MUST_USE int av_verify_request(const struct av_env *,
    const struct av_request *, const struct av_policy *,
    struct av_result **out, struct av_err *e);
void	av_result_free(struct av_result *);

/*
 * The response body: {"status", "submods": {name: {"status", "platform",
 * "reasons", "claims"}}, "policy"?} plus "verdict" when jwt != NULL.
 * New reference.
 */
json_t	*av_result_json(const struct av_result *, const char *jwt);

#endif
