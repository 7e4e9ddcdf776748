/*
 * attestd - the hardware attestation of a GCE confidential VM inside a
 * go-tpm-tools Attestation (its tee_attestation oneof): private interface
 * between the "gce-tpm" backend (gce_tpm.c), the TEE part (gce_tee.c) and
 * the tests.  docs/platforms/tpm.md "gce-tpm: the hardware attestation".
 */
#ifndef AV_GCE_TEE_H
#define AV_GCE_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/err.h"
#include "av/policy.h"
#include "av/result.h"
#include "evidence/sev_snp.h"
#include "evidence/tdx.h"
#include "evidence/tpm.h"
#include "gce_attest.pb-c.h"

#define GCE_MAX_TEE_CERT	(64u * 1024)	/* one DER certificate */
#define GCE_MAX_TDX_EXTRA	(64u * 1024)	/* QuoteV4 extra_bytes */

/* Which hardware attestation the Attestation carries. */
enum gce_tee_kind {
	GCE_TEE_NONE = 0,
	GCE_TEE_SNP,		/* 8 sev_snp_attestation */
	GCE_TEE_TDX,		/* 9 tdx_attestation */
};

/* The parsed gce-tpm evidence. */
struct gce_ev {
	struct tpm_ev		*t;	/* owned: quotes, AK, PCRs, log; with
					   a TEE also t->hw (the sev-snp or
					   tdx backend's parse), t->hw_claims */
	enum gce_tee_kind	 tee;
	uint8_t			*hw;	/* owned: the rebuilt SNP report or
					   TD quote bytes, or NULL */
	size_t			 hw_len;
	size_t			 rd_off;	/* its 64-byte REPORT_DATA */
	/* Results of verification (read by claims and appraise). */
	bool			 tee_verified;	/* report/quote verified */
	const char		*binding;	/* form that bound it, or NULL */
};

/* "hardware" rule of the policy. */
enum gce_hw_rule {
	GCE_HW_OPTIONAL = 0,	/* verified when present (default) */
	GCE_HW_REQUIRED,	/* a verified hardware attestation */
};

/* The compiled "gce-tpm" policy section. */
struct gce_pol {
	struct tpm_pol		*tpm;	/* owned: the "tpm" keys */
	enum gce_hw_rule	 hw;
	const struct av_backend	*snp;	/* borrowed: sev-snp, when snp_pol */
	void			*snp_pol; /* owned by snp: nested "sev-snp" */
	const struct av_backend	*tdx;	/* borrowed: tdx, when tdx_pol */
	void			*tdx_pol; /* owned by tdx: nested "tdx" */
};

/*
 * go-sev-guest abi.ReportToAbiBytes: write the structured sevsnp.Report
 * r back to the ATTESTATION_REPORT bytes (SEV-SNP ABI s.7.3), reserved
 * bytes zero.  Every bytes field must have its exact ABI size, the
 * build/minor/major fields fit a byte, SIGNER_INFO has no reserved bits
 * or signing key, CPUID only from version 3, mitigation vectors only from
 * version 5.  Returns 0, or -1 with e (AV_E_MALFORMED).
 */
AV_MUST_USE int	gce_snp_report_bytes(const AttestdGce__SevSnpReport *r,
		    uint8_t out[SNP_REPORT_LEN], struct av_err *e);

/*
 * go-tdx-guest abi.QuoteToAbiBytes: write the structured tdx.QuoteV4 q
 * back to the DCAP quote v4 bytes (header, TD 1.0 body, signed data
 * size, signature, attestation key, certification data type 6 with the
 * QE report, its signature, QE authentication data and the type 5 PCK
 * chain, then extra_bytes).  Every bytes field must have its exact size,
 * version 4, key type 2, TEE type 0x81, 4 RTMRs, and every size field
 * must equal the size of what it counts.  On success *out is malloc'd
 * (*len bytes).  Returns 0, or -1 with e (AV_E_MALFORMED, AV_E_NOMEM).
 */
AV_MUST_USE int	gce_tdx_quote_bytes(const AttestdGce__TdxQuoteV4 *q,
		    uint8_t **out, size_t *len, struct av_err *e);

/*
 * Parse the tee_attestation of m into g (g->t set): rebuild the SEV-SNP
 * report or the TD quote and parse it by the sev-snp backend (with the
 * attestation's certificate chain, or the request item's "certs") or the
 * tdx backend (with the request item's "collateral").  Returns 0, or -1
 * with e.
 */
AV_MUST_USE int	gce_tee_parse(struct gce_ev *g, const AttestdGce__Attestation *m,
		    const struct av_evidence *in, struct av_err *e);

/*
 * Verify the hardware attestation after the TPM part: the SNP report or
 * TD quote by its backend (no nonce: fatal failures keep their codes),
 * then its REPORT_DATA binding (binding_mismatch reason).  Returns 0, or
 * -1 with e set.
 */
AV_MUST_USE int	gce_tee_verify(struct gce_ev *g, const struct av_ctx *ctx,
		    const struct gce_pol *pol, struct av_submod *sm,
		    struct av_err *e);

/* The "tee" claims object (new reference), or NULL on ENOMEM. */
json_t		*gce_tee_claims(const struct gce_ev *g);

/* The policy's "hardware" rule and nested "sev-snp"/"tdx" sections. */
void		 gce_tee_appraise(const struct gce_ev *g,
		    const struct gce_pol *pol, const struct av_ctx *ctx,
		    struct av_submod *sm);

#endif
