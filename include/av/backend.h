/*
 * attestd - the backend interface: one const table per platform, in
 * src/evidence/<platform>.c, listed once in src/evidence/registry.c.
 */
#ifndef AV_BACKEND_H
#define AV_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/err.h"
#include "av/result.h"

struct av_trust;
struct av_collateral;
struct av_policy_err;

/* One evidence item as received.  Everything is borrowed. */
struct av_evidence {
	const char	*type;		/* declared type, or NULL */
	const char	*name;		/* submod name */
	const uint8_t	*data;		/* primary bytes (decoded "data") */
	size_t		 len;
	const json_t	*item;		/* the request item object, for
					   companions ("certs", "cert_chain",
					   ...); may be NULL */
};

/* What a verification may use.  Everything is borrowed. */
struct av_ctx {
	int64_t			 now;		/* verification time, unix s */
	const struct av_trust	*trust;		/* anchors + chain cache */
	struct av_collateral	*coll;		/* may be NULL */
	const uint8_t		*nonce;		/* expected nonce, may be NULL */
	size_t			 nonce_len;
	const uint8_t		*runtime_data;	/* may be NULL */
	size_t			 runtime_data_len;
	bool			 nonce_required; /* policy demands binding */
	int64_t			 max_age_s;	/* policy freshness: -1 none */
};

struct av_backend {
	const char	*name;		/* "aws-nitro"; appears in verdicts */
	const char	*media_type;	/* "application/vnd.attestd.aws-nitro" */
	/* Sniff only: no allocation.  Confirms a declared type. */
	bool	(*detect)(const uint8_t *, size_t);
	/*
	 * Parse untrusted bytes (no crypto, no I/O).  On success *out is
	 * the backend's own struct, freed with free().
	 */
	int	(*parse)(const struct av_evidence *, void **out, struct av_err *);
	/*
	 * Verify signatures, chains, collateral and freshness.  Returns -1
	 * with e set on a fatal failure.  Non-fatal findings (for example a
	 * CRL the policy lets pass) are recorded in sm.  policy is this
	 * backend's compiled policy section, or NULL.
	 */
	int	(*verify)(void *parsed, const struct av_ctx *,
		    const void *policy, struct av_submod *sm, struct av_err *);
	/* Claims from verified fields only: a new object in *out. */
	int	(*claims)(const void *parsed, json_t **out, struct av_err *);
	/*
	 * Compile this backend's section of a policy.  path is the JSON path
	 * of the section ("evidence.aws-nitro"), for error messages.
	 */
	int	(*policy_compile)(const json_t *section, const char *path,
		    void **out, struct av_policy_err *);
	void	(*policy_free)(void *);
	/*
	 * Compare verified claims with the compiled policy section (never
	 * NULL here); record reasons and trust-vector values in sm.
	 */
	void	(*appraise)(const void *parsed, const void *policy,
		    const struct av_ctx *, struct av_submod *sm);
	void	(*free)(void *);
};

/* The registry (src/evidence/registry.c). */
const struct av_backend	*av_backend_find(const char *name);
/* Backend whose media type equals mt (parameters ignored), or NULL. */
const struct av_backend	*av_backend_by_media_type(const char *mt);
/*
 * Detect the type of raw bytes: exactly one backend's detect() must
 * match.  Returns it, or NULL with e = AV_E_UNKNOWN_TYPE.
 */
const struct av_backend	*av_backend_detect(const uint8_t *, size_t,
			    struct av_err *);
/* NULL-terminated list of every backend. */
const struct av_backend *const *av_backends(void);

#endif
