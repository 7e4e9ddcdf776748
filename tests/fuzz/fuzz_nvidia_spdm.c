/*
 * Fuzz target for the NVIDIA GPU report parser (src/evidence/
 * nvidia_spdm.c): detect, parse (raw or hex text) through the backend,
 * claims, verification without anchors (fails at the chain) and
 * appraisal against a fixed policy; the opaque data TLV reader alone.
 * Seeds: evidence/nvidia-gpu/spdm/{good,bad}/ (made by
 * tests/unit/test_nvidia_gpu.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/policy.h"
#include "av/result.h"
#include "evidence/nvgpu.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct av_policy *
fixed_policy(void)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;
	json_t			*doc;

	doc = json_pack("{s:s, s:i, s:{s:{s:s, s:s, s:s, s:[s], s:b}}}",
	    "id", "fuzz", "version", 1, "evidence", "nvidia-gpu",
	    "min_driver", "550.54.15", "min_vbios", "96.00.5E.00.01",
	    "rim", "required", "chips", "GH100", "ppcie", 1);
	if (doc == NULL || av_policy_compile(doc, &p, &perr) != 0)
		abort();
	json_decref(doc);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct av_policy	*pol;
	const struct av_backend	*b = av_backend_find("nvidia-gpu");
	struct av_evidence	 ev = { .type = "nvidia-gpu", .data = data,
				    .len = size };
	struct av_ctx		 ctx = { .max_age_s = -1 };
	struct av_err		 e = { 0 };
	struct av_submod	 sm;
	struct nv_opaque	 op;
	void			*parsed = NULL;
	json_t			*claims = NULL;

	if (b == NULL)
		abort();
	if (pol == NULL)
		pol = fixed_policy();
	if (nv_opaque_parse(data, size, &op, &e) != 0 && e.reason == NULL)
		abort();
	(void)b->detect(data, size);
	if (b->parse(&ev, &parsed, &e) != 0) {
		if (parsed != NULL || e.reason == NULL)
			abort();	/* a failure sets e, returns nothing */
		return 0;
	}
	if (b->claims(parsed, &claims, &e) != 0 || !json_is_object(claims))
		abort();
	json_decref(claims);
	if (av_submod_init(&sm, "gpu0") == 0) {
		if (b->verify(parsed, &ctx, av_policy_section(pol, b), &sm,
		    &e) == 0)
			abort();	/* no certificates, no anchors */
		b->appraise(parsed, av_policy_section(pol, b), &ctx, &sm);
		av_submod_cleanup(&sm);
	}
	b->free(parsed);
	return 0;
}
