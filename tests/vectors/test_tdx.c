/*
 * Every entry of $AV_VECTORS/tdx/MANIFEST.json through the real pipeline
 * (av_verify_request) at the entry's verification time, with the built-in
 * pins only (the Intel SGX Root CA arrives in the quote's PCK chain) and
 * the entry's companions passed as the request item's "collateral"
 * (docs/platforms/tdx.md).
 *
 * verdict "pass": not contraindicated; the claims equal the manifest's
 *   expected facts (quote header, every TD report field, PCK extension
 *   values, QE report, FMSPC, TCB status, TDX module identity and status,
 *   QE TCB status, TCB level date, advisory IDs); each item of
 *   collateral_missing is reported as collateral_missing.
 * verdict "fail": contraindicated, with a reason whose code is the
 *   failure_stage mapped to ours (or one of acceptable_failure_stages):
 *     parse -> evidence_malformed; pck_chain -> untrusted_root |
 *     chain_invalid; cert_validity -> cert_time_invalid;
 *     qe_report_signature, qe_report_data_binding -> qe_report_invalid;
 *     quote_signature -> signature_invalid; tcb_info_signature,
 *     qe_identity_signature, fmspc_mismatch -> collateral_invalid;
 *     tcb_info_signer, qe_identity_signer -> cert_time_invalid |
 *     untrusted_root | chain_invalid; collateral_expired ->
 *     collateral_expired; qe_identity -> qe_identity_mismatch;
 *     tcb_evaluation -> tcb_level_unsupported | tcb_revoked; and the
 *     manifest's TCB status is never reported once an earlier stage
 *     failed.
 *
 * Then the same collateral served by the mock PCS
 * (tests/tools/mock_vendor_server.py) from the vector folder itself at
 * the Intel PCS v4 paths, for the entries that have a full set.
 *
 * Exits 77 when the vectors are absent.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/verify.h"
#include "avt_manifest.h"
#include "avt_mock.h"
#include "avt_pki.h"

static char	*vdir;		/* $AV_VECTORS/tdx */
static int	 nfail;

static void
bad_msg(const char *id, const char *msg)
{
	fprintf(stderr, "FAIL %s: %s\n", id, msg);
	nfail++;
}

#define bad(id, ...) do {						\
	char m_[4096];							\
	snprintf(m_, sizeof(m_), __VA_ARGS__);				\
	bad_msg((id), m_);						\
} while (0)

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Read a vector file (malloc'd, NUL-terminated). */
static uint8_t *
vfile(const char *rel, size_t *len)
{
	return avt_read_at(vdir, rel, len);
}

/* A companion as a string: text as is, binary (CRLs) as base64. */
static char *
companion(const char *rel)
{
	uint8_t	*p;
	size_t	 n;
	char	*s;

	if ((p = vfile(rel, &n)) == NULL)
		return NULL;
	if (n > 0 && (p[0] == '{' || p[0] == '-'))
		return (char *)p;
	s = av_b64_encode(p, n);
	free(p);
	return s;
}

/* The request item for a vector entry (new reference). */
static json_t *
item_for(const json_t *v, const uint8_t *q, size_t n)
{
	const json_t	*cp = json_object_get(v, "companions");
	json_t		*it, *coll;
	char		*b64 = av_b64_encode(q, n);
	static const struct {
		const char *from, *to;
	} map[] = {
		{ "tcb_info", "tcb_info" },
		{ "qe_identity", "qe_identity" },
		{ "tcb_signing_chain", "tcb_info_issuer_chain" },
		{ "tcb_signing_chain", "qe_identity_issuer_chain" },
		{ "pck_crl", "pck_crl" },
		{ "root_ca_crl", "root_ca_crl" },
	};

	it = json_pack("{s:s, s:s}", "type", "tdx", "data", b64);
	free(b64);
	coll = json_object();
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const char	*rel = str(cp, map[i].from);
		char		*s;

		if (rel == NULL)
			continue;
		if ((s = companion(rel)) == NULL) {
			fprintf(stderr, "cannot read %s\n", rel);
			exit(1);
		}
		json_object_set_new(coll, map[i].to, json_string(s));
		free(s);
	}
	if (json_object_size(coll) > 0)
		json_object_set_new(it, "collateral", coll);
	else
		json_decref(coll);
	return it;
}

static struct av_result *
verify(const struct av_trust *trust, struct av_collateral *coll, json_t *item,
    int64_t now)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = now, .trust = trust,
				    .coll = coll };
	json_t			*body = json_pack("{s:[o]}", "evidence", item);

	if (av_request_from_json(body, &req, &e) != 0) {
		json_decref(body);
		return NULL;
	}
	json_decref(body);
	if (av_verify_request(&env, req, NULL, &res, &e) != 0)
		res = NULL;
	av_request_free(req);
	return res;
}

/* Does sm carry a contraindicated reason with this code (and claim)? */
static bool
has(const struct av_submod *sm, const char *code, const char *claim,
    bool contra)
{
	const json_t	*r;
	size_t		 i;

	json_array_foreach(sm->reasons, i, r) {
		const char *c = str(r, "claim");

		if (strcmp(str(r, "code"), code) != 0)
			continue;
		if (contra && strcmp(str(r, "severity"), "contraindicated") != 0)
			continue;
		if (claim == NULL || (c != NULL && strcmp(c, claim) == 0))
			return true;
	}
	return false;
}

/* Our codes for a manifest failure stage (NULL-terminated). */
static const char *const *
codes_for(const char *stage)
{
	static const struct {
		const char	*stage;
		const char	*codes[4];
	} map[] = {
		{ "parse", { "evidence_malformed", "unsupported_algorithm" } },
		{ "pck_chain", { "untrusted_root", "chain_invalid" } },
		{ "cert_validity", { "cert_time_invalid" } },
		{ "qe_report_signature", { "qe_report_invalid" } },
		{ "qe_report_data_binding", { "qe_report_invalid" } },
		{ "quote_signature", { "signature_invalid" } },
		{ "tcb_info_signature", { "collateral_invalid" } },
		{ "qe_identity_signature", { "collateral_invalid" } },
		{ "fmspc_mismatch", { "collateral_invalid" } },
		{ "tcb_info_signer", { "cert_time_invalid", "untrusted_root",
		    "chain_invalid" } },
		{ "qe_identity_signer", { "cert_time_invalid",
		    "untrusted_root", "chain_invalid" } },
		{ "collateral_expired", { "collateral_expired" } },
		{ "qe_identity", { "qe_identity_mismatch" } },
		{ "tcb_evaluation", { "tcb_level_unsupported", "tcb_revoked" } },
		{ "pck_revoked", { "cert_revoked" } },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].stage, stage) == 0)
			return map[i].codes;
	return NULL;
}

/* Compare claim (hex/strings, case-insensitively) with the expected. */
static void
cmp_str(const char *id, const json_t *claims, const char *path,
    const char *want)
{
	const json_t	*v = claims;
	char		 buf[256], *save = NULL, *tok;

	if (want == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL;
	    tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	if (!json_is_string(v) || strcasecmp(json_string_value(v), want) != 0)
		bad(id, "claim %s != %s", path, want);
}

static void
cmp_int(const char *id, const json_t *claims, const char *path,
    const json_t *want)
{
	const json_t	*v = claims;
	char		 buf[256], *save = NULL, *tok, w[32];

	if (!json_is_integer(want))
		return;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL;
	    tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	snprintf(w, sizeof(w), "%lld", (long long)json_integer_value(want));
	if (!json_is_integer(v) ||
	    json_integer_value(v) != json_integer_value(want))
		bad(id, "claim %s != %s", path, w);
}

/* The expected facts a passing entry must show in its claims. */
static void
check_facts(const char *id, const json_t *x, const struct av_submod *sm)
{
	static const char *const td[] = {
		"tee_tcb_svn", "mrseam", "mrsignerseam", "seam_attributes",
		"td_attributes", "xfam", "mrtd", "mrconfigid", "mrowner",
		"mrownerconfig", "rtmr0", "rtmr1", "rtmr2", "rtmr3",
		"report_data", "tee_tcb_svn2", "qe_vendor_id", "fmspc",
	};
	static const char *const pck[] = {
		"fmspc", "pceid", "cpusvn", "serial",
	};
	static const char *const qe[] = {
		"mrsigner", "mrenclave", "miscselect", "attributes",
	};
	const json_t	*c = sm->claims, *p = json_object_get(x, "pck");
	const json_t	*qr = json_object_get(x, "qe_report");
	const json_t	*te = json_object_get(x, "tcb_evaluation");
	char		 k[64];

	for (size_t i = 0; i < sizeof(td) / sizeof(td[0]); i++)
		cmp_str(id, c, td[i], str(x, td[i]));
	cmp_int(id, c, "quote_version", json_object_get(x, "quote_version"));
	cmp_int(id, c, "body_type", json_object_get(x, "body_type"));
	if (json_is_boolean(json_object_get(x, "debug")) &&
	    json_equal(json_object_get(x, "debug"),
	    json_object_get(c, "debug")) == 0)
		bad(id, "claim %s differs%s", "debug", "");
	for (size_t i = 0; i < sizeof(pck) / sizeof(pck[0]); i++) {
		snprintf(k, sizeof(k), "pck.%s", pck[i]);
		cmp_str(id, c, k, str(p, pck[i]));
	}
	cmp_int(id, c, "pck.pcesvn", json_object_get(p, "pcesvn"));
	cmp_int(id, c, "pck.sgx_type", json_object_get(p, "sgx_type"));
	if (p != NULL && !json_equal(json_object_get(p, "comp_svns"),
	    json_object_get(json_object_get(c, "pck"), "comp_svns")))
		bad(id, "claim %s differs%s", "pck.comp_svns", "");
	for (size_t i = 0; i < sizeof(qe) / sizeof(qe[0]); i++) {
		snprintf(k, sizeof(k), "qe.%s", qe[i]);
		cmp_str(id, c, k, str(qr, qe[i]));
	}
	cmp_int(id, c, "qe.isvsvn", json_object_get(qr, "isvsvn"));
	cmp_int(id, c, "qe.isvprodid", json_object_get(qr, "isvprodid"));
	/* TCB */
	if (str(x, "tcb_status") != NULL)
		cmp_str(id, c, "tcb.status", str(x, "tcb_status"));
	else
		cmp_str(id, c, "tcb.status", "Unknown");
	if (te != NULL && str(x, "tcb_status") != NULL) {
		cmp_str(id, c, "tcb.tdx_module_identity",
		    str(te, "tdx_module_identity"));
		cmp_str(id, c, "tcb.tdx_module_status",
		    str(te, "tdx_module_status"));
		cmp_str(id, c, "tcb.qe_status", str(te, "qe_tcb_status"));
		cmp_str(id, c, "tcb.tcb_date", str(te, "matched_level_tcbDate"));
		if (json_is_array(json_object_get(te, "advisory_ids")) &&
		    !json_equal(json_object_get(te, "advisory_ids"),
		    json_object_get(json_object_get(c, "tcb"),
		    "advisory_ids")))
			bad(id, "claim %s differs%s", "tcb.advisory_ids", "");
	}
}

/* One manifest entry.  Returns after recording failures. */
static void
one(const struct av_trust *trust, const json_t *v, struct av_collateral *coll,
    bool from_pcs)
{
	const char		*id = str(v, "id");
	const json_t		*x = json_object_get(v, "expected");
	const char		*verdict = str(x, "verdict");
	const struct av_submod	*sm;
	struct av_result	*res;
	json_t			*item;
	uint8_t			*q;
	size_t			 n, i;
	int64_t			 now;
	const json_t		*m;

	if ((q = vfile(str(json_object_get(v, "evidence"), "file"), &n)) ==
	    NULL) {
		bad(id, "cannot read %s%s", str(json_object_get(v, "evidence"),
		    "file"), "");
		return;
	}
	now = json_integer_value(json_object_get(json_object_get(v,
	    "verification_time"), "unix"));
	if (from_pcs) {
		char *b64 = av_b64_encode(q, n);

		item = json_pack("{s:s, s:s}", "type", "tdx", "data", b64);
		free(b64);
	} else
		item = item_for(v, q, n);
	free(q);
	if ((res = verify(trust, coll, item, now)) == NULL) {
		bad(id, "pipeline failed%s%s", "", "");
		return;
	}
	sm = &res->submods[0];
	if (strcmp(verdict, "pass") == 0) {
		if (sm->status == AV_STATUS_CONTRAINDICATED) {
			char *r = json_dumps(sm->reasons, JSON_COMPACT);

			bad(id, "contraindicated: %s%s", r, "");
			free(r);
		}
		check_facts(id, x, sm);
		json_array_foreach(json_object_get(x, "collateral_missing"), i,
		    m) {
			char claim[64];

			snprintf(claim, sizeof(claim), "collateral.%s",
			    json_string_value(m));
			if (!from_pcs && !has(sm, "collateral_missing", claim,
			    false))
				bad(id, "no collateral_missing for %s%s", claim,
				    "");
		}
	} else {
		const json_t	*acc = json_object_get(x,
				    "acceptable_failure_stages");
		bool		 ok = false;
		json_t		*stages = json_array();

		json_array_append_new(stages,
		    json_string(str(x, "failure_stage")));
		json_array_foreach(acc, i, m)
			json_array_append(stages, (json_t *)m);
		json_array_foreach(stages, i, m) {
			const char *const *codes = codes_for(
			    json_string_value(m));

			for (size_t k = 0; codes != NULL && codes[k] != NULL;
			    k++)
				if (has(sm, codes[k], NULL, true))
					ok = true;
		}
		if (sm->status != AV_STATUS_CONTRAINDICATED || !ok) {
			char *r = json_dumps(sm->reasons, JSON_COMPACT);

			bad(id, "expected failure at %s, got %s",
			    str(x, "failure_stage"), r);
			free(r);
		}
		/* no TCB status once an earlier stage failed */
		if (strcmp(str(x, "failure_stage"), "tcb_evaluation") != 0) {
			const json_t *t = json_object_get(json_object_get(
			    sm->claims, "tcb"), "status");

			if (t != NULL && strcmp(json_string_value(t),
			    "Unknown") != 0)
				bad(id, "reported TCB status %s after %s",
				    json_string_value(t), str(x,
				    "failure_stage"));
		} else
			cmp_str(id, sm->claims, "tcb.status",
			    str(x, "tcb_status"));
		json_decref(stages);
	}
	printf("%-34s %s%s: %s\n", id, from_pcs ? "(pcs) " : "",
	    av_status_str(sm->status), json_string_value(json_object_get(
	    json_object_get(sm->claims, "tcb"), "status")) ?
	    json_string_value(json_object_get(json_object_get(sm->claims,
	    "tcb"), "status")) : "-");
	av_result_free(res);
}

/* ---- mock PCS ------------------------------------------------------------ */

/*
 * Serve an entry's collateral at the PCS v4 paths (files referenced in
 * place, never copied) and verify it with nothing in the request.
 */
static void
via_pcs(const struct av_trust *trust, const json_t *v)
{
	const json_t			*cp = json_object_get(v, "companions");
	const json_t			*x = json_object_get(v, "expected");
	struct av_coll_fetch_cfg	 cfg = { .online = true, .timeout_s = 10 };
	struct av_collateral		*coll;
	struct avt_mock			 mock;
	char				*tmp, routes[1024], fm[16];
	json_t				*r, *doc;
	FILE				*f;

	if ((tmp = avt_tmpdir()) == NULL)
		return;
	snprintf(fm, sizeof(fm), "%s", str(json_object_get(x, "pck"),
	    "fmspc"));
	for (char *s = fm; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 'a' + 'A');
	r = json_object();
	{
		char key[128];

		snprintf(key, sizeof(key),
		    "/tdx/certification/v4/tcb?fmspc=%s", fm);
		json_object_set_new(r, key, json_pack("{s:s, s:{s:{s:s, s:b}}}",
		    "file", str(cp, "tcb_info"), "headers",
		    "TCB-Info-Issuer-Chain", "file",
		    str(cp, "tcb_signing_chain"), "urlencode", 1));
	}
	json_object_set_new(r, "/tdx/certification/v4/qe/identity",
	    json_pack("{s:s, s:{s:{s:s, s:b}}}", "file",
	    str(cp, "qe_identity"), "headers",
	    "SGX-Enclave-Identity-Issuer-Chain", "file",
	    str(cp, "tcb_signing_chain"), "urlencode", 1));
	json_object_set_new(r,
	    "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
	    json_pack("{s:s, s:{s:{s:s, s:b}}}", "file", str(cp, "pck_crl"),
	    "headers", "SGX-PCK-CRL-Issuer-Chain", "file",
	    "certs/intel/pck-crl-issuer-chain.pem", "urlencode", 1));
	json_object_set_new(r, "/sgx/certification/v4/rootcacrl",
	    json_pack("{s:s}", "file", str(cp, "root_ca_crl")));
	doc = json_pack("{s:o, s:{s:i}}", "routes", r, "default", "status",
	    404);
	snprintf(routes, sizeof(routes), "%s/routes.json", tmp);
	if ((f = fopen(routes, "w")) == NULL || json_dumpf(doc, f, 0) != 0) {
		bad(str(v, "id"), "cannot write %s%s", routes, "");
		if (f != NULL)
			fclose(f);
		goto out;
	}
	fclose(f);
	if (!avt_mock_available() ||
	    avt_mock_start(&mock, vdir, routes) != 0) {
		printf("mock PCS not runnable: skipping the PCS pass\n");
		goto out;
	}
	cfg.intel_pcs_url = mock.base;
	cfg.cache_dir = tmp;
	if ((coll = av_collateral_new(&cfg)) != NULL) {
		one(trust, v, coll, true);
		av_collateral_free(coll);
	}
	avt_mock_stop(&mock);
 out:
	json_decref(doc);
	avt_rmtree(tmp);
	free(tmp);
}

int
main(void)
{
	struct av_trust	*trust;
	json_t		*man;
	const json_t	*v;
	size_t		 i, npcs = 0;

	man = avt_manifest_load("tdx", &vdir);
	if ((trust = av_trust_new()) == NULL)
		return 1;
	json_array_foreach(json_object_get(man, "vectors"), i, v)
		one(trust, v, NULL, false);
	/* collateral from the mock PCS: entries with the full set */
	json_array_foreach(json_object_get(man, "vectors"), i, v) {
		const json_t *cp = json_object_get(v, "companions");

		if (str(cp, "tcb_info") == NULL ||
		    str(cp, "qe_identity") == NULL ||
		    str(cp, "pck_crl") == NULL ||
		    str(cp, "root_ca_crl") == NULL ||
		    str(cp, "tcb_signing_chain") == NULL)
			continue;
		via_pcs(trust, v);
		npcs++;
	}
	printf("%zu entries, %zu through the mock PCS, %d failures\n",
	    json_array_size(json_object_get(man, "vectors")), npcs, nfail);
	av_trust_free(trust);
	json_decref(man);
	free(vdir);
	return nfail == 0 ? 0 : 1;
}
