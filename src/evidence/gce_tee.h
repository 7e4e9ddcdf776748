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
#include "evidence/tpm.h"
#include "gce_attest.pb-c.h"

#define GCE_MAX_TEE_CERT	(64u * 1024)	/* one DER certificate */

/* Which hardware attestation the Attestation carries. */
enum gce_tee_kind {
	GCE_TEE_NONE = 0,
	GCE_TEE_SNP,		/* 8 sev_snp_attestation: verified */
	GCE_TEE_TDX,		/* 9 tdx_attestation: not verified yet */
};

/* The parsed gce-tpm evidence. */
struct gce_ev {
	struct tpm_ev		*t;	/* owned: quotes, AK, PCRs, log; for
					   SNP also t->hw (the sev-snp
					   backend's parse), t->hw_claims */
	enum gce_tee_kind	 tee;
	uint8_t			 report[SNP_REPORT_LEN]; /* SNP: rebuilt */
	/* Results of verification (read by claims and appraise). */
	bool			 tee_verified;	/* SNP report verified */
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
 * Parse the tee_attestation of m into g (g->t set): for SEV-SNP rebuild
 * the report and parse it with its certificate chain (or the request
 * item's "certs") by the sev-snp backend.  Returns 0, or -1 with e.
 */
AV_MUST_USE int	gce_tee_parse(struct gce_ev *g, const AttestdGce__Attestation *m,
		    const struct av_evidence *in, struct av_err *e);

/*
 * Verify the hardware attestation after the TPM part: the SNP report by
 * the sev-snp backend (no nonce: fatal failures keep their codes), then
 * its REPORT_DATA binding (binding_mismatch reason); a TDX quote gets a
 * warning reason (not verified).  Returns 0, or -1 with e set.
 */
AV_MUST_USE int	gce_tee_verify(struct gce_ev *g, const struct av_ctx *ctx,
		    const struct gce_pol *pol, struct av_submod *sm,
		    struct av_err *e);

/* The "tee" claims object (new reference), or NULL on ENOMEM. */
json_t		*gce_tee_claims(const struct gce_ev *g);

/* The policy's "hardware" rule and nested "sev-snp" section. */
void		 gce_tee_appraise(const struct gce_ev *g,
		    const struct gce_pol *pol, const struct av_ctx *ctx,
		    struct av_submod *sm);

#endif
