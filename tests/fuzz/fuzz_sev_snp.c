/*
 * Fuzz target for the AMD SEV-SNP parsers: the backend (report, Azure
 * HCL wrapper, request item with companions) through parse, verify
 * (built-in pins only, no collateral), claims and appraisal; the
 * extended-report certificate table; the VCEK/VLEK extensions of a DER
 * certificate.  Seeds: evidence/sev-snp/{good,bad}/ (made by
 * tests/unit/test_sev_snp.c with AV_SNP_REGEN_SEEDS=1).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/result.h"
#include "evidence/sev_snp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct av_policy	*pol;
static struct av_trust	*trust;

static void
init(void)
{
	struct av_policy_err	 perr;
	json_t			*doc;
	char			 zero[97];

	if (pol != NULL)
		return;
	memset(zero, '0', 96);
	zero[96] = '\0';
	doc = json_pack("{s:s s:i s:{s:{s:[s] s:{s:i} s:[i] s:{s:b} "
	    "s:{s:b}}}}", "id", "fuzz", "version", 1, "evidence", "sev-snp",
	    "measurement", zero, "min_tcb", "snp", 8, "vmpl", 0,
	    "guest_policy", "migrate_ma", 0, "platform_info", "tsme", 1);
	if (doc == NULL || av_policy_compile(doc, &pol, &perr) != 0)
		abort();
	json_decref(doc);
	if ((trust = av_trust_new()) == NULL)
		abort();
}

static void
one(const uint8_t *data, size_t size, const json_t *item)
{
	const struct av_backend	*b = av_backend_find("sev-snp");
	struct av_evidence	 ev = { .type = "sev-snp", .data = data,
				    .len = size, .item = item };
	struct av_err		 e = { 0 };
	struct av_ctx		 ctx = { .now = 1751328000, .max_age_s = -1 };
	struct av_submod	 sm;
	void			*parsed = NULL;
	json_t			*claims = NULL;

	if (b == NULL)
		abort();
	(void)b->detect(data, size);
	if (b->parse(&ev, &parsed, &e) != 0)
		return;
	ctx.trust = trust;
	if (av_submod_init(&sm, "cpu") != 0)
		abort();
	(void)b->verify(parsed, &ctx, av_policy_section(pol, b), &sm, &e);
	if (b->claims(parsed, &claims, &e) == 0)
		json_decref(claims);
	b->appraise(parsed, av_policy_section(pol, b), &ctx, &sm);
	av_submod_cleanup(&sm);
	b->free(parsed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snp_cert_entry	 ent[SNP_CERT_TABLE_MAX];
	struct snp_leaf_ext	 ext;
	struct snp_hcl		 hcl;
	struct av_err		 e = { 0 };
	size_t			 n;
	X509			*x;

	init();
	one(data, size, NULL);
	if (snp_cert_table_parse(data, size, ent, &n, &e) == 0 && n > 0)
		(void)ent[n - 1].len;
	if (snp_hcl_parse(data, size, &hcl, &e) == 0)
		(void)hcl.var_len;
	if ((x = av_x509_from_der(data, size)) != NULL) {
		if (snp_leaf_ext_parse(x, &ext, &e) == 0)
			(void)ext.hwid_len;
		X509_free(x);
	}
	/* A request item: {"data": base64, "certs": {...}, ...}. */
	if (size > 0 && data[0] == '{') {
		json_error_t	 jerr;
		json_t		*item, *d;
		uint8_t		*raw = NULL;
		size_t		 rl = 0;

		item = json_loadb((const char *)data, size,
		    JSON_REJECT_DUPLICATES, &jerr);
		d = json_object_get(item, "data");
		if (json_is_string(d) && av_b64_decode(json_string_value(d),
		    json_string_length(d), &raw, &rl) == 0) {
			one(raw, rl, item);
			free(raw);
		}
		json_decref(item);
	}
	return 0;
}
