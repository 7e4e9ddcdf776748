/*
 * Fuzz target for the "gce-tpm" backend: the go-tpm-tools Attestation
 * protobuf (protobuf-c over gce_attest.proto) with its hardware
 * attestation -- the sevsnp.Report or tdx.QuoteV4 fields written back to
 * ABI bytes (gce_tee.c) and parsed by the sev-snp or tdx backend -- then
 * verification (no trust anchors: it stops at AK trust, after the quote
 * checks), claims and appraisal under a policy with the "hardware" rule
 * and nested "sev-snp" and "tdx" sections.  Seeds: evidence/gce-tpm/, made by
 * tests/unit/test_gce_tpm.c (AV_GCE_REGEN_SEEDS=1) from the test signers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/policy.h"
#include "av/result.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct av_policy *
fixed_policy(void)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;
	json_t			*doc;
	char			 zero[97];

	memset(zero, '0', 96);
	zero[96] = '\0';
	doc = json_pack("{s:s, s:i, s:{s:{s:s, s:s, s:{s:[s]}, s:{s:[s]}}}}",
	    "id", "fuzz", "version", 1, "evidence", "gce-tpm", "hardware",
	    "required", "ak_trust", "certificate", "sev-snp", "measurement",
	    zero, "tdx", "mrtd", zero);
	if (doc == NULL || av_policy_compile(doc, &p, &perr) != 0)
		abort();
	json_decref(doc);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct av_policy	*pol;
	static const uint8_t	 nonce[32] = { 0xa0 };
	const struct av_backend	*b = av_backend_find("gce-tpm");
	struct av_evidence	 ev = { .type = "gce-tpm", .name = "cpu" };
	struct av_ctx		 ctx = { .now = 1767225600, .max_age_s = -1,
	    .nonce = nonce, .nonce_len = sizeof(nonce) };
	struct av_submod	 sm;
	struct av_err		 e;
	void			*parsed = NULL;
	json_t			*claims = NULL;

	if (pol == NULL)
		pol = fixed_policy();
	if (b == NULL)
		abort();
	(void)b->detect(p, n);
	ev.data = p;
	ev.len = n;
	if (b->parse(&ev, &parsed, &e) != 0)
		return 0;
	if (av_submod_init(&sm, "cpu") == 0) {
		if (b->verify(parsed, &ctx, av_policy_section(pol, b), &sm,
		    &e) == 0)
			b->appraise(parsed, av_policy_section(pol, b), &ctx,
			    &sm);
		if (b->claims(parsed, &claims, &e) == 0)
			json_decref(claims);
		av_submod_cleanup(&sm);
	}
	b->free(parsed);
	return 0;
}
