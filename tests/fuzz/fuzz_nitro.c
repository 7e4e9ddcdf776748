/*
 * Fuzz target for the AWS Nitro parsers (aws-nitro and aws-nitrotpm):
 * detect, parse, claims and appraisal against a fixed policy, plus the
 * COSE_Sign1 framing (libcbor behind a bounding walk) and the
 * Sig_structure builder underneath.  Seeds:
 * evidence/aws-nitro/{good,bad}/ (made by tests/unit/test_nitro.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/policy.h"
#include "av/result.h"
#include "evidence/cose.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One compiled policy per backend, made once. */
static struct av_policy *
fixed_policy(const char *type)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;
	json_t			*doc;
	char			 zero[97];

	memset(zero, '0', 96);
	zero[96] = '\0';
	doc = json_pack("{s:s, s:i, s:{s:{s:[s], s:s}}}", "id", "fuzz",
	    "version", 1, "evidence", type, "pcr0", zero, "pcr3", zero);
	if (doc == NULL || av_policy_compile(doc, &p, &perr) != 0)
		abort();
	json_decref(doc);
	return p;
}

static void
one(const struct av_backend *b, const struct av_policy *pol,
    const uint8_t *data, size_t size)
{
	struct av_evidence	 ev = { .type = b->name, .data = data,
				    .len = size };
	struct av_err		 e = { 0 };
	struct av_ctx		 ctx = { .max_age_s = -1 };
	struct av_submod	 sm;
	void			*parsed = NULL;
	json_t			*claims = NULL;

	(void)b->detect(data, size);
	if (b->parse(&ev, &parsed, &e) != 0) {
		if (parsed != NULL || e.reason == NULL)
			abort();	/* failure must set e, return nothing */
		return;
	}
	if (b->claims(parsed, &claims, &e) != 0 || !json_is_object(claims))
		abort();
	json_decref(claims);
	if (av_submod_init(&sm, "cpu") == 0) {
		b->appraise(parsed, av_policy_section(pol, b), &ctx, &sm);
		av_submod_cleanup(&sm);
	}
	b->free(parsed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct av_backend	*nitro, *tpm;
	static struct av_policy		*pnitro, *ptpm;
	struct av_cose_sign1		 cs;
	struct av_err			 e;
	uint8_t				*tbs;
	size_t				 len;

	if (nitro == NULL) {
		nitro = av_backend_find("aws-nitro");
		tpm = av_backend_find("aws-nitrotpm");
		if (nitro == NULL || tpm == NULL)
			abort();
		pnitro = fixed_policy("aws-nitro");
		ptpm = fixed_policy("aws-nitrotpm");
	}
	/* detection must never claim both types */
	if (nitro->detect(data, size) && tpm->detect(data, size))
		abort();
	one(nitro, pnitro, data, size);
	one(tpm, ptpm, data, size);
	/* the COSE layer alone is only fed what the backends would take */
	if (size <= 64 * 1024 && av_cose_sign1_parse(data, size, &cs,
	    &e) == 0) {
		(void)av_cose_prot_is_alg(&cs, -35);
		if ((tbs = av_cose_sig_structure(&cs, NULL, 0, &len)) != NULL) {
			if (len < cs.payload_len + cs.prot_len + 13)
				abort();
			free(tbs);
		}
		av_cose_sign1_cleanup(&cs);
	}
	return 0;
}
