/*
 * attestd - one error type for the whole verifier.
 *
 * Every failure carries a stable reason code (sent to clients as a
 * snake_case string), a client-safe message (a string literal), and a
 * location plus OpenSSL error for the logs only.
 */
#ifndef AV_ERR_H
#define AV_ERR_H

#include <stdbool.h>
#include <stddef.h>

#define AV_MUST_USE __attribute__((warn_unused_result))

/*
 * Stable reason codes.  The string form (av_code_str()) is a contract:
 * add codes at the end of a group, never rename one.
 */
enum av_code {
	AV_OK = 0,
	/* request / input */
	AV_E_MALFORMED,		/* evidence_malformed */
	AV_E_UNKNOWN_TYPE,	/* unknown_evidence_type */
	AV_E_UNSUPPORTED_ALG,	/* unsupported_algorithm */
	AV_E_BAD_REQUEST,	/* bad_request */
	/* signatures and chains */
	AV_E_UNTRUSTED_ROOT,	/* untrusted_root */
	AV_E_CHAIN,		/* chain_invalid */
	AV_E_CERT_TIME,		/* cert_time_invalid */
	AV_E_CERT_REVOKED,	/* cert_revoked */
	AV_E_SIGNATURE,		/* signature_invalid */
	/* freshness and binding */
	AV_E_NONCE,		/* nonce_mismatch */
	AV_E_BINDING,		/* binding_mismatch */
	AV_E_TOO_OLD,		/* evidence_too_old */
	AV_E_FROM_FUTURE,	/* evidence_from_future */
	/* appraisal */
	AV_E_MEASUREMENT,	/* measurement_mismatch */
	AV_E_DEBUG,		/* debug_enabled */
	AV_E_TCB_BELOW,		/* tcb_below_minimum */
	AV_E_VERSION_BELOW,	/* version_below_minimum */
	AV_E_POLICY_VIOLATION,	/* policy_violation (generic rule) */
	AV_E_NO_POLICY,		/* no_reference_values */
	AV_E_SUBMOD_MISSING,	/* submod_missing */
	/* collateral */
	AV_E_COLLATERAL_MISSING,	/* collateral_missing */
	AV_E_COLLATERAL_INVALID,	/* collateral_invalid */
	AV_E_COLLATERAL_EXPIRED,	/* collateral_expired */
	/* TDX / DCAP */
	AV_E_QE_REPORT,		/* qe_report_invalid */
	AV_E_QE_IDENTITY,	/* qe_identity_mismatch */
	AV_E_TCB_OUT_OF_DATE,	/* tcb_out_of_date */
	AV_E_TCB_REVOKED,	/* tcb_revoked */
	AV_E_TCB_UNSUPPORTED,	/* tcb_level_unsupported */
	/* TPM */
	AV_E_PCR_DIGEST,	/* pcr_digest_mismatch */
	AV_E_AK_UNTRUSTED,	/* ak_untrusted */
	AV_E_EVENT_LOG,		/* event_log_mismatch */
	/* NVIDIA */
	AV_E_FWID,		/* fwid_mismatch */
	AV_E_RIM_MISSING,	/* rim_missing */
	AV_E_RIM_INVALID,	/* rim_invalid */
	AV_E_OCSP,		/* ocsp_unavailable */
	/* configuration and internals (never caused by evidence) */
	AV_E_POLICY,		/* policy_invalid */
	AV_E_CONFIG,		/* config_invalid */
	AV_E_IO,		/* io_error */
	AV_E_NOMEM,		/* internal_error */
	AV_E_INTERNAL,		/* internal_error */
	AV_E__COUNT
};

struct av_err {
	enum av_code	 code;
	const char	*reason;	/* string literal: safe for clients */
	const char	*file;		/* logs only */
	int		 line;		/* logs only */
	unsigned long	 ossl;		/* ERR_peek_last_error(): logs only */
};

/* Set *e (if e != NULL); always returns -1 so callers can "return AV_FAIL()". */
int	av_fail_at(struct av_err *e, enum av_code c, const char *why,
	    const char *file, int line);

/* The leading "" makes any non-literal reason a compile error. */
#define AV_FAIL(e, c, why) av_fail_at((e), (c), "" why, __FILE__, __LINE__)

/* Stable snake_case string for a code ("evidence_malformed", ...). */
const char	*av_code_str(enum av_code c);
/* Parse a code string back; returns AV_E__COUNT when unknown. */
enum av_code	 av_code_from_str(const char *s);

/* Clear an error struct. */
void	av_err_clear(struct av_err *e);

#endif
