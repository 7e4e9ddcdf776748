/*
 * attestd - error codes and their stable strings.
 */
#include <string.h>

#include <openssl/err.h>

#include "av/err.h"

static const char *const av_code_names[AV_E__COUNT] = {
	[AV_OK] = "ok",
	[AV_E_MALFORMED] = "evidence_malformed",
	[AV_E_UNKNOWN_TYPE] = "unknown_evidence_type",
	[AV_E_UNSUPPORTED_ALG] = "unsupported_algorithm",
	[AV_E_BAD_REQUEST] = "bad_request",
	[AV_E_UNTRUSTED_ROOT] = "untrusted_root",
	[AV_E_CHAIN] = "chain_invalid",
	[AV_E_CERT_TIME] = "cert_time_invalid",
	[AV_E_CERT_REVOKED] = "cert_revoked",
	[AV_E_SIGNATURE] = "signature_invalid",
	[AV_E_NONCE] = "nonce_mismatch",
	[AV_E_BINDING] = "binding_mismatch",
	[AV_E_TOO_OLD] = "evidence_too_old",
	[AV_E_FROM_FUTURE] = "evidence_from_future",
	[AV_E_MEASUREMENT] = "measurement_mismatch",
	[AV_E_DEBUG] = "debug_enabled",
	[AV_E_TCB_BELOW] = "tcb_below_minimum",
	[AV_E_VERSION_BELOW] = "version_below_minimum",
	[AV_E_POLICY_VIOLATION] = "policy_violation",
	[AV_E_NO_POLICY] = "no_reference_values",
	[AV_E_SUBMOD_MISSING] = "submod_missing",
	[AV_E_COLLATERAL_MISSING] = "collateral_missing",
	[AV_E_COLLATERAL_INVALID] = "collateral_invalid",
	[AV_E_COLLATERAL_EXPIRED] = "collateral_expired",
	[AV_E_QE_REPORT] = "qe_report_invalid",
	[AV_E_QE_IDENTITY] = "qe_identity_mismatch",
	[AV_E_TCB_OUT_OF_DATE] = "tcb_out_of_date",
	[AV_E_TCB_REVOKED] = "tcb_revoked",
	[AV_E_TCB_UNSUPPORTED] = "tcb_level_unsupported",
	[AV_E_PCR_DIGEST] = "pcr_digest_mismatch",
	[AV_E_AK_UNTRUSTED] = "ak_untrusted",
	[AV_E_EVENT_LOG] = "event_log_mismatch",
	[AV_E_FWID] = "fwid_mismatch",
	[AV_E_RIM_MISSING] = "rim_missing",
	[AV_E_RIM_INVALID] = "rim_invalid",
	[AV_E_OCSP] = "ocsp_unavailable",
	[AV_E_POLICY] = "policy_invalid",
	[AV_E_CONFIG] = "config_invalid",
	[AV_E_IO] = "io_error",
	[AV_E_NOMEM] = "internal_error",
	[AV_E_INTERNAL] = "internal_error",
};

int
av_fail_at(struct av_err *e, enum av_code c, const char *why,
    const char *file, int line)
{
	if (e == NULL)
		return -1;
	e->code = c;
	e->reason = why;
	e->file = file;
	e->line = line;
	e->ossl = ERR_peek_last_error();
	return -1;
}

const char *
av_code_str(enum av_code c)
{
	if ((unsigned)c >= AV_E__COUNT || av_code_names[c] == NULL)
		return "internal_error";
	return av_code_names[c];
}

enum av_code
av_code_from_str(const char *s)
{
	for (int c = 0; c < AV_E__COUNT; c++)
		if (av_code_names[c] != NULL && strcmp(av_code_names[c], s) == 0)
			return (enum av_code)c;
	return AV_E__COUNT;
}

void
av_err_clear(struct av_err *e)
{
	memset(e, 0, sizeof(*e));
}
