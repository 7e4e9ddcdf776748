/*
 * Every entry of $AV_VECTORS/nvidia-gpu/MANIFEST.json at its verification
 * time, with the built-in pins only (both NVIDIA roots arrive with the
 * evidence: the device chain's last certificate, the RIMs' KeyInfo).
 *
 * Report entries go through av_verify_request: a request with the
 * manifest's nonce and one item {"type": "nvidia-gpu", "data": <base64
 * report>, "cert_chain": <PEM>}, or the SDK evidence list expanded by
 * av_nvgpu_expand_sdk_list; the RIMs the entry lists are added to an
 * offline collateral store, read from $AV_VECTORS (never copied).
 *
 *   result "pass": not contraindicated, claims equal the manifest's facts
 *     (nonce, versions, SKUs, FWID, PPCIe), every compared measurement
 *     matches; "passes_fully": affirming under {"rim": "required"};
 *     otherwise contraindicated under it (no RIM offline).
 *   result "fail": contraindicated; the code of first_failing_check is
 *     among the reasons, and every contraindicating reason belongs to
 *     one of failing_checks.
 * RIM-only entries go through nv_rim_load (signature and chain).
 *
 * Exits 77 when the vectors are absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/log.h"
#include "av/nvgpu.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_manifest.h"
#include "avt_pki.h"
#include "evidence/nvgpu.h"

static char	 failmsg[2048];
static char	*vdir;

#define FAIL(...) do {							\
	snprintf(failmsg, sizeof(failmsg), __VA_ARGS__);		\
	goto out;							\
} while (0)

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static uint8_t *
vec_file(const char *rel, size_t *len)
{
	return avt_read_at(vdir, rel, len);
}

/* The reason codes a manifest check may produce. */
static bool
code_for_check(const char *check, const char *code)
{
	static const struct {
		const char *check, *code;
	} map[] = {
		{ "report_parse", "evidence_malformed" },
		{ "nonce", "nonce_mismatch" },
		{ "cert_chain_length_5", "chain_invalid" },
		{ "cert_chain", "chain_invalid" },
		{ "cert_chain", "untrusted_root" },
		{ "fwid_match", "fwid_mismatch" },
		{ "report_signature", "signature_invalid" },
		{ "driver_rim_signature_and_chain", "rim_invalid" },
		{ "vbios_rim_signature_and_chain", "rim_invalid" },
		{ "rim_signature_and_chain", "rim_invalid" },
		{ "driver_rim_version_match", "rim_invalid" },
		{ "vbios_rim_version_match", "rim_invalid" },
		{ "rim_no_index_conflict", "rim_invalid" },
		{ "measurements_match_rim", "measurement_mismatch" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].check, check) == 0 &&
		    strcmp(map[i].code, code) == 0)
			return true;
	return false;
}

/* A request item for a hex report file and a PEM chain file. */
static json_t *
report_item(const json_t *files)
{
	uint8_t	*hex = NULL, *bin = NULL, *pem = NULL;
	size_t	 hl, bl, pl, k = 0;
	char	*b64 = NULL;
	json_t	*it = NULL;

	if ((hex = vec_file(str(json_object_get(files, "report_hex"), "path"),
	    &hl)) == NULL || (pem = vec_file(str(json_object_get(files,
	    "cert_chain_pem"), "path"), &pl)) == NULL)
		goto out;
	for (size_t i = 0; i < hl; i++)	/* drop the newline */
		if (hex[i] != '\n' && hex[i] != '\r' && hex[i] != ' ')
			hex[k++] = hex[i];
	if (av_hex_decode((const char *)hex, k, &bin, &bl) != 0 ||
	    (b64 = av_b64_encode(bin, bl)) == NULL)
		goto out;
	it = json_pack("{s:s, s:s, s:s%}", "type", "nvidia-gpu", "data", b64,
	    "cert_chain", (const char *)pem, pl);
 out:
	free(hex);
	free(bin);
	free(pem);
	free(b64);
	return it;
}

static struct av_policy *
rim_policy(const char *rim)
{
	struct av_policy	*pol = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;

	doc = json_pack("{s:s, s:i, s:{s:{s:s, s:s}}}", "id", "vec",
	    "version", 1, "evidence", "nvidia-gpu", "rim", rim, "ocsp", "off");
	if (av_policy_compile(doc, &pol, &perr) != 0) {
		fprintf(stderr, "policy: %s: %s\n", perr.path, perr.reason);
		pol = NULL;
	}
	json_decref(doc);
	return pol;
}

static struct av_result *
run(const struct av_trust *trust, struct av_collateral *coll,
    const json_t *items, const char *nonce_hex, int64_t now,
    const struct av_policy *pol)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = now, .trust = trust,
				    .coll = coll };
	uint8_t			 nonce[32];
	char			*nb = NULL;
	json_t			*body;

	if (av_hex_decode_fixed(nonce_hex, nonce, 32) != 0 ||
	    (nb = av_b64url_encode(nonce, 32)) == NULL)
		return NULL;
	body = json_pack("{s:s, s:O}", "nonce", nb, "evidence", items);
	free(nb);
	if (body == NULL || av_request_from_json(body, &req, &e) != 0) {
		fprintf(stderr, "request: %s\n", e.reason);
		json_decref(body);
		return NULL;
	}
	json_decref(body);
	if (av_verify_request(&env, req, pol, &res, &e) != 0)
		res = NULL;
	av_request_free(req);
	return res;
}

static bool
has_code(const struct av_submod *sm, const char *code)
{
	const json_t	*r;
	size_t		 i;

	json_array_foreach(sm->reasons, i, r)
		if (strcmp(str(r, "code"), code) == 0)
			return true;
	return false;
}

/* Claims against the manifest's facts (report + opaque). */
static bool
check_facts(const json_t *c, const json_t *facts, const char *nonce_hex)
{
	const json_t	*op = json_object_get(facts, "opaque");
	const json_t	*m, *x;
	size_t		 i, nmatch = 0;
	bool		 ok = false;

	if (str(c, "nonce") == NULL || strcasecmp(str(c, "nonce"),
	    nonce_hex) != 0)
		FAIL("claim nonce %s", str(c, "nonce"));
	if (op == NULL) {
		ok = true;
		goto out;
	}
	if ((x = json_object_get(op, "DRIVER_VERSION")) != NULL &&
	    (str(c, "driver_version") == NULL || strcmp(str(c,
	    "driver_version"), json_string_value(x)) != 0))
		FAIL("driver_version %s", str(c, "driver_version"));
	if ((x = json_object_get(op, "VBIOS_VERSION")) != NULL &&
	    (str(c, "vbios_version") == NULL || strcasecmp(str(c,
	    "vbios_version"), json_string_value(x)) != 0))
		FAIL("vbios_version %s", str(c, "vbios_version"));
	if ((x = json_object_get(op, "CHIP_SKU")) != NULL &&
	    strcmp(str(c, "chip_sku"), json_string_value(x)) != 0)
		FAIL("chip_sku");
	if ((x = json_object_get(op, "PROJECT")) != NULL &&
	    strcmp(str(c, "project"), json_string_value(x)) != 0)
		FAIL("project");
	if ((x = json_object_get(op, "PROJECT_SKU")) != NULL &&
	    strcmp(str(c, "project_sku"), json_string_value(x)) != 0)
		FAIL("project_sku");
	if ((x = json_object_get(op, "FWID")) != NULL) {
		if (str(c, "fwid") == NULL || strcasecmp(str(c, "fwid"),
		    json_string_value(x)) != 0 ||
		    !json_is_true(json_object_get(c, "fwid_checked")))
			FAIL("fwid");
	} else if (!json_is_null(json_object_get(c, "fwid")))
		FAIL("fwid claimed without an FWID field");
	if ((x = json_object_get(op, "PROTECTED_PCIE_STATUS")) != NULL &&
	    json_is_true(json_object_get(c, "protected_pcie")) !=
	    (strcasecmp(json_string_value(x), "aa") == 0))
		FAIL("protected_pcie");
	if ((x = json_object_get(op, "SWITCH_PDI")) != NULL &&
	    json_array_size(json_object_get(c, "switch_pdis")) !=
	    json_array_size(x))
		FAIL("switch_pdis");
	json_array_foreach(json_object_get(c, "measurements"), i, m) {
		if (strcmp(str(m, "result"), "mismatch") == 0)
			FAIL("measurement %lld mismatches",
			    (long long)json_integer_value(
			    json_object_get(m, "index")));
		nmatch += strcmp(str(m, "result"), "match") == 0 ||
		    strcmp(str(m, "result"), "skipped") == 0;
	}
	ok = true;
 out:
	(void)nmatch;
	return ok;
}

static bool
check_report_entry(const struct av_trust *trust, const json_t *ent)
{
	const json_t		*files = json_object_get(ent, "files");
	const json_t		*exp = json_object_get(ent, "expected");
	const json_t		*perg = json_object_get(exp, "per_gpu");
	const char		*nonce = str(json_object_get(ent, "inputs"),
				    "expected_nonce_hex");
	const char		*result = str(exp, "result");
	int64_t			 now = json_integer_value(json_object_get(
				    json_object_get(ent, "verification_time"),
				    "unix"));
	struct av_collateral	*coll = NULL;
	struct av_result	*res = NULL, *res2 = NULL;
	struct av_policy	*pol = NULL;
	struct av_err		 e = { 0 };
	json_t			*items = NULL, *sdk = NULL, *r;
	const char		*k;
	const json_t		*f;
	size_t			 i, ngpu;
	bool			 ok = false, fully;

	if ((coll = av_collateral_new(NULL)) == NULL)
		FAIL("collateral store");
	json_object_foreach((json_t *)files, k, f) {
		uint8_t	*b;
		size_t	 bl;

		if (strstr(k, "rim") == NULL)
			continue;
		if ((b = vec_file(str(f, "path"), &bl)) == NULL)
			FAIL("cannot read %s", str(f, "path"));
		if (av_collateral_add(coll, b, bl, str(f, "path"), &e) != 0) {
			free(b);
			FAIL("collateral: %s", e.reason);
		}
		free(b);
	}
	if (json_object_get(files, "evidence") != NULL) {
		uint8_t		*b;
		size_t		 bl;
		json_error_t	 jerr;

		if ((b = vec_file(str(json_object_get(files, "evidence"),
		    "path"), &bl)) == NULL ||
		    (sdk = json_loadb((const char *)b, bl, 0, &jerr)) == NULL) {
			free(b);
			FAIL("SDK evidence JSON");
		}
		free(b);
		if (!av_nvgpu_is_sdk_list(sdk))
			FAIL("not recognised as an SDK list");
		if (av_nvgpu_expand_sdk_list(sdk, &items, &e) != 0)
			FAIL("expand: %s", e.reason);
		nonce = str(json_array_get(perg, 0), "nonce_hex");
	} else {
		if ((items = json_array()) == NULL ||
		    (r = report_item(files)) == NULL ||
		    json_array_append_new(items, r) != 0)
			FAIL("cannot build the item");
	}
	ngpu = json_array_size(items);
	if ((res = run(trust, coll, items, nonce, now, NULL)) == NULL)
		FAIL("internal error");
	if (res->nsubmods != ngpu)
		FAIL("%zu submods for %zu GPUs", res->nsubmods, ngpu);
	for (i = 0; i < res->nsubmods; i++) {
		const struct av_submod	*sm = &res->submods[i];
		const json_t		*facts = perg != NULL ?
		    json_object_get(json_array_get(perg, i), "facts") :
		    json_object_get(exp, "facts");
		const json_t		*fc = json_object_get(exp,
		    "failing_checks");
		const char		*first = str(exp,
		    "first_failing_check");
		char			 nm[32];
		size_t			 j;

		snprintf(nm, sizeof(nm), "gpu%zu", i);
		if (strcmp(sm->name, nm) != 0)
			FAIL("submod %s", sm->name);
		if (strcmp(result, "pass") == 0) {
			if (sm->status == AV_STATUS_CONTRAINDICATED)
				FAIL("%s contraindicated: %s", sm->name,
				    json_dumps(sm->reasons, 0));
			if (!check_facts(sm->claims, facts, perg != NULL ?
			    str(json_array_get(perg, i), "nonce_hex") : nonce))
				goto out;
			continue;
		}
		if (sm->status != AV_STATUS_CONTRAINDICATED)
			FAIL("%s not contraindicated", sm->name);
		if (first != NULL) {
			bool hit = false;

			json_array_foreach(sm->reasons, j, r)
				hit |= code_for_check(first, str(r, "code"));
			if (!hit)
				FAIL("no reason for %s: %s", first,
				    json_dumps(sm->reasons, 0));
		}
		json_array_foreach(sm->reasons, j, r) {
			const json_t	*c;
			size_t		 q;
			bool		 known = false;

			if (strcmp(str(r, "severity"), "contraindicated") != 0)
				continue;
			json_array_foreach(fc, q, c)
				known |= code_for_check(json_string_value(c),
				    str(r, "code"));
			if (!known)
				FAIL("reason %s (%s) for a check that passes",
				    str(r, "code"), str(r, "message"));
		}
	}
	if (strcmp(result, "pass") != 0) {
		ok = true;
		goto out;
	}
	/* with "rim": "required": affirming only when fully passing */
	fully = json_is_true(json_object_get(exp, "passes_fully"));
	if ((pol = rim_policy("required")) == NULL)
		FAIL("policy");
	if ((res2 = run(trust, coll, items, nonce, now, pol)) == NULL)
		FAIL("internal error");
	for (i = 0; i < res2->nsubmods; i++) {
		const struct av_submod *sm = &res2->submods[i];

		if (fully && sm->status != AV_STATUS_AFFIRMING)
			FAIL("rim required: %s %s: %s", sm->name,
			    av_status_str(sm->status),
			    json_dumps(sm->reasons, 0));
		if (!fully && (sm->status != AV_STATUS_CONTRAINDICATED ||
		    !has_code(sm, "rim_missing")))
			FAIL("rim required without RIMs: %s %s", sm->name,
			    av_status_str(sm->status));
	}
	ok = true;
 out:
	av_result_free(res);
	av_result_free(res2);
	av_policy_free(pol);
	av_collateral_free(coll);
	json_decref(items);
	json_decref(sdk);
	return ok;
}

static bool
check_rim_entry(const struct av_trust *trust, const json_t *ent)
{
	const json_t	*exp = json_object_get(ent, "expected");
	int64_t		 now = json_integer_value(json_object_get(
			    json_object_get(ent, "verification_time"), "unix"));
	struct nv_rim	*rim = NULL;
	struct av_err	 e = { 0 };
	uint8_t		*b;
	size_t		 bl;
	bool		 want = strcmp(str(exp, "result"), "pass") == 0;
	bool		 ok = false;
	int		 rc;

	if ((b = vec_file(str(json_object_get(json_object_get(ent, "files"),
	    "rim"), "path"), &bl)) == NULL)
		FAIL("cannot read the RIM");
	rc = nv_rim_load(trust, b, bl, NULL, now, &rim, &e);
	free(b);
	if (want && rc != 0)
		FAIL("RIM rejected: %s", e.reason);
	if (!want && rc == 0)
		FAIL("RIM accepted");
	if (!want && e.code != AV_E_RIM_INVALID)
		FAIL("code %d", e.code);
	if (!want)
		snprintf(failmsg, sizeof(failmsg), "%s", e.reason);
	ok = true;
 out:
	nv_rim_free(rim);
	return ok;
}

int
main(void)
{
	json_t		*man, *vecs, *ent;
	struct av_trust	*trust;
	size_t		 i, npass = 0, nfail = 0;

	man = avt_manifest_load("nvidia-gpu", &vdir);
	if ((trust = av_trust_new()) == NULL)
		return 1;
	av_log_set_level(AV_LOG_WARN);	/* offline misses are expected */
	vecs = json_object_get(man, "vectors");
	json_array_foreach(vecs, i, ent) {
		const json_t	*files = json_object_get(ent, "files");
		bool		 ok;

		failmsg[0] = '\0';
		if (json_object_get(files, "rim") != NULL)
			ok = check_rim_entry(trust, ent);
		else
			ok = check_report_entry(trust, ent);
		printf("%s %s (%s)%s%s\n", ok ? "ok  " : "FAIL", str(ent, "id"),
		    str(json_object_get(ent, "expected"), "result"),
		    failmsg[0] != '\0' ? ": " : "", failmsg);
		if (ok)
			npass++;
		else
			nfail++;
	}
	printf("%zu passed, %zu failed\n", npass, nfail);
	av_trust_free(trust);
	json_decref(man);
	free(vdir);
	return nfail == 0 ? 0 : 1;
}
