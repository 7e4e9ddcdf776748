/*
 * Fuzz target for the TPM evidence parsers: TPMS_ATTEST, TPMT_SIGNATURE
 * and TPM2B_PUBLIC/TPMT_PUBLIC/SPKI unmarshalling (Tss2_MU underneath),
 * the "tpm" backend's envelopes (our JSON document and Trustee's), then
 * quote verification, claims and appraisal on whatever parsed; and the
 * parsers of the other TPM forms: "azure-snp-vtpm", "azure-tdx-vtpm"
 * (evidence JSON, HCL report) and "gce-tpm" (protobuf).  Seeds:
 * evidence/tpm/ (swtpm runs, made by tests/unit/test_tpm_swtpm.c; Azure
 * and GCE forms by tests/unit/test_azure_vtpm.c and test_tpm.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/policy.h"
#include "av/result.h"
#include "evidence/tpm.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Most inputs fail; the outcome does not matter here, only safety. */
static void
ignore(int rc)
{
	(void)rc;
}

static struct av_policy *
fixed_policy(void)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;
	json_t			*doc;
	char			 zero[65];

	memset(zero, '0', 64);
	zero[64] = '\0';
	doc = json_pack("{s:s, s:i, s:{s:{s:{s:{s:s}}, s:b, s:[s],"
	    " s:{s:[s]}}}}", "id", "fuzz", "version", 1, "evidence", "tpm",
	    "pcrs", "sha256", "0", zero, "secure_boot", 1, "boot_apps", zero,
	    "kernel_cmdline", "prefix", "/vmlinuz");
	if (doc == NULL || av_policy_compile(doc, &p, &perr) != 0)
		abort();
	json_decref(doc);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct av_policy	*pol;
	const struct av_backend	*b = av_backend_find("tpm");
	struct av_evidence	 ev = { .type = "tpm", .name = "cpu" };
	struct av_ctx		 ctx = { .now = 1767225600, .max_age_s = -1 };
	struct av_submod	 sm;
	struct av_err		 e;
	struct tpm_quote	 q;
	struct tpm_ev		*t;
	void			*parsed = NULL;
	json_t			*claims = NULL;

	if (pol == NULL)
		pol = fixed_policy();
	if (b == NULL)
		abort();
	(void)b->detect(p, n);
	/* the TPM structures on their own */
	memset(&q, 0, sizeof(q));
	ignore(tpm_attest_parse(p, n, &q, &e));
	free(q.msg);
	free(q.attest);
	memset(&q, 0, sizeof(q));
	ignore(tpm_sig_parse(p, n, &q, &e));
	if ((t = tpm_ev_new("fuzz")) != NULL) {
		ignore(tpm_ak_parse(t, p, n, &e));
		tpm_ev_free(t);
	}
	/* the envelopes, and everything after parsing */
	ev.data = p;
	ev.len = n;
	for (int k = 0; k < 3; k++) {
		static const char *const other[] = { "azure-snp-vtpm",
		    "azure-tdx-vtpm", "gce-tpm" };
		const struct av_backend *ob = av_backend_find(other[k]);

		if (ob == NULL)
			abort();
		(void)ob->detect(p, n);
		if (ob->parse(&ev, &parsed, &e) == 0) {
			if (ob->claims(parsed, &claims, &e) == 0)
				json_decref(claims);
			ob->free(parsed);
			parsed = NULL;
		}
	}
	if (b->parse(&ev, &parsed, &e) != 0)
		return 0;
	if (av_submod_init(&sm, "cpu") == 0) {
		t = parsed;
		ignore(tpm_quotes_verify(t, &e));
		ignore(tpm_evlog_check(t, &e));
		tpm_check_nonce(t, &ctx, &sm);
		if (b->claims(parsed, &claims, &e) == 0)
			json_decref(claims);
		b->appraise(parsed, av_policy_section(pol, b), &ctx, &sm);
		av_submod_cleanup(&sm);
	}
	b->free(parsed);
	return 0;
}
