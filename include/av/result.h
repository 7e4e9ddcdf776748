/*
 * attestd - the outcome of appraising one evidence item (a "submod" in
 * EAR terms): status, AR4SI trustworthiness vector, claims and reasons.
 */
#ifndef AV_RESULT_H
#define AV_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "av/err.h"

/* EAR status, ordered so that a larger value is worse. */
enum av_status {
	AV_STATUS_NONE = 0,
	AV_STATUS_AFFIRMING,
	AV_STATUS_WARNING,
	AV_STATUS_CONTRAINDICATED,
};
const char	*av_status_str(enum av_status);	/* "affirming", ... */

/* AR4SI trustworthiness vector categories (draft-ietf-rats-ar4si). */
enum av_tv {
	AV_TV_INSTANCE,		/* instance-identity */
	AV_TV_CONFIG,		/* configuration */
	AV_TV_EXECUTABLES,	/* executables */
	AV_TV_FILESYSTEM,	/* file-system */
	AV_TV_HARDWARE,		/* hardware */
	AV_TV_RUNTIME_OPAQUE,	/* runtime-opaque */
	AV_TV_STORAGE_OPAQUE,	/* storage-opaque */
	AV_TV_SOURCED_DATA,	/* sourced-data */
	AV_TV__COUNT
};
const char	*av_tv_str(enum av_tv);

/* AR4SI values used here. */
#define AV_AR_NO_CLAIM		0
#define AV_AR_AFFIRM		2	/* trustworthy instance, approved
					   config/runtime, genuine hw, ... */
#define AV_AR_AFFIRM_ALT	3	/* no config vulns / approved boot */
#define AV_AR_ISOLATED_MEMORY	32	/* runtime-opaque: isolated memory */
#define AV_AR_WARN		32	/* unsafe config/runtime/hw */
#define AV_AR_UNRECOGNIZED_RT	33	/* executables: unrecognized runtime */
#define AV_AR_CONTRA		96	/* untrustworthy / contraindicated */
#define AV_AR_UNRECOGNIZED	97	/* unrecognized instance / hardware */
#define AV_AR_CRYPTO_FAILED	99	/* cryptographic validation failed */

struct av_backend;

struct av_submod {
	char			*name;		/* owned: "cpu", "gpu0", ... */
	const struct av_backend	*backend;	/* borrowed; NULL: unknown type */
	enum av_status		 status;	/* worst of reasons and baseline */
	bool			 compared;	/* reference values were compared */
	int			 tv[AV_TV__COUNT];
	json_t			*claims;	/* owned object (never NULL) */
	json_t			*reasons;	/* owned array (never NULL) */
	json_t			*key_attestation; /* owned object or NULL */
};

/* Initialise an empty submod named name (copied). Returns 0/-1 (ENOMEM). */
AV_MUST_USE int av_submod_init(struct av_submod *, const char *name);
void	av_submod_cleanup(struct av_submod *);

/*
 * Record a reason.  severity is AV_STATUS_WARNING or
 * AV_STATUS_CONTRAINDICATED; the submod's status and trust vector are
 * updated from a table keyed by code.  claim may be NULL; expected and
 * actual are stolen (json_t or NULL); message is a client-safe literal.
 */
void	av_submod_reason(struct av_submod *, enum av_code code,
	    enum av_status severity, const char *claim, json_t *expected,
	    json_t *actual, const char *message);
/* Record a fatal verification error (severity contraindicated). */
void	av_submod_fail(struct av_submod *, const struct av_err *);
/*
 * Affirm a trust-vector category: set tv[cat] = value unless a worse
 * value is already recorded there.
 */
void	av_submod_tv(struct av_submod *, enum av_tv cat, int value);
/* Whether any reason has been recorded with a contraindicated severity. */
bool	av_submod_failed(const struct av_submod *);
/*
 * Record the key the evidence attests (EAR ear.veraison.key-attestation):
 * sm->key_attestation = {"akpub": base64url of p[0..n)}, replacing any
 * earlier one.  Returns 0, or -1 when out of memory (sm unchanged).
 */
int	av_submod_key_attestation(struct av_submod *, const uint8_t *p,
	    size_t n);

#endif
