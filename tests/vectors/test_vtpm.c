/*
 * Every entry of $AV_VECTORS/vtpm/MANIFEST.json through the real pipeline
 * (av_verify_request) at the entry's verification time, with the
 * entry's expected nonce.
 *
 * Forms:
 *   swtpm-generated-*   each AK's quote as a "tpm" request item (AK as
 *                       TPM2B_PUBLIC, the 24 SHA-256 PCRs of pcrs.json),
 *                       the AK enrolled by a policy made from its PEM;
 *   az-snp-* / az-tdx-* the evidence JSON as is ("azure-snp-vtpm",
 *                       "azure-tdx-vtpm"), or, for split files, a v1
 *                       document assembled from them (hcl_report,
 *                       tpm_quote JSON, VCEK PEM chain);
 *   gce-*               go-tpm-tools Attestation protobuf ("gce-tpm"),
 *                       the manifest's root and intermediates as a trust
 *                       directory and collateral.
 * AMD ASK/ARK (roots/amd) are given as collateral; the ARKs, the Intel
 * SGX root and the Google roots are also pinned built-ins.
 *
 * pass: not contraindicated; every tpm_quote fact equals its claim, the
 *   quoted SHA-256 PCRs equal pcrs_sha256, HCL facts (report type,
 *   runtime data hash, user data) and the hardware report's facts
 *   (measurement or MRTD, report_data) equal theirs; then a policy made
 *   from the facts (PCRs, AK trust "hcl"/"enrolled"/"certificate")
 *   does not contraindicate.
 * fail: contraindicated, and the first contraindicated reason is the
 *   code of first_failing_check: attest_parse -> evidence_malformed,
 *   quote_signature / snp_report_signature / td_quote_signature ->
 *   signature_invalid, pcr_digest -> pcr_digest_mismatch, nonce ->
 *   nonce_mismatch, hcl_ak_bound -> binding_mismatch,
 *   vcek_valid_at_time -> cert_time_invalid, ak_cert_chain ->
 *   untrusted_root or chain_invalid.
 *
 * Exits 77 when the vectors are absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_manifest.h"
#include "avt_pki.h"

static char	 failmsg[2048];
static char	*dir;
static bool	 verbose;

#define FAIL(...) do {							\
	snprintf(failmsg, sizeof(failmsg), __VA_ARGS__);		\
	goto out;							\
} while (0)

static uint8_t *
load(const char *rel, size_t *n)
{
	return avt_read_at(dir, rel, n);
}

static char *
load_text(const char *rel)
{
	size_t	 n;
	uint8_t	*p = load(rel, &n);
	char	*s;

	if (p == NULL || (s = malloc(n + 1)) == NULL) {
		free(p);
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	free(p);
	return s;
}

static const char *
file_path(const json_t *v, const char *key)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(v, "files"), key), "path"));
}

static void
dump(const struct av_result *r)
{
	json_t	*j = av_result_json(r, NULL);
	char	*s = json_dumps(j, JSON_INDENT(1));

	fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(j);
}

/* Map a manifest check name to our reason codes ("a|b"). */
static const char *
code_for(const char *check)
{
	static const struct { const char *check, *code; } map[] = {
		{ "attest_parse", "evidence_malformed" },
		{ "attest_magic_type", "evidence_malformed" },
		{ "quote_signature", "signature_invalid" },
		{ "pcr_digest", "pcr_digest_mismatch" },
		{ "nonce", "nonce_mismatch" },
		{ "hcl_ak_bound", "binding_mismatch" },
		{ "hcl_tdreport_binds", "binding_mismatch" },
		{ "snp_report_signature", "signature_invalid" },
		{ "td_quote_signature", "signature_invalid" },
		{ "qe_report_signature", "qe_report_invalid" },
		{ "vcek_valid_at_time", "cert_time_invalid" },
		{ "vcek_chain", "chain_invalid|untrusted_root" },
		{ "pck_chain", "chain_invalid|untrusted_root" },
		{ "ak_cert_chain", "untrusted_root|chain_invalid" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].check, check) == 0)
			return map[i].code;
	return NULL;
}

static bool
code_in(const char *code, const char *alts)
{
	size_t n = strlen(code);

	for (const char *p = alts; p != NULL && *p != '\0';) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == n && strncmp(p, code, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/*
 * Collateral: the entry's intermediates when it names them (GCE: its
 * trusted root goes to the trust directory, nothing else), else every
 * certificate under roots/ (AMD ASK/ARK).
 */
static struct av_collateral *
collateral(const json_t *v)
{
	struct av_coll_fetch_cfg	 cfg = { 0 };
	struct av_collateral		*c = av_collateral_new(&cfg);
	struct av_err			 e = { 0 };
	char				 p[2048];
	const json_t			*x;
	size_t				 i;

	snprintf(p, sizeof(p), "%s/roots/amd", dir);
	if (c == NULL || (json_object_get(json_object_get(v, "inputs"),
	    "intermediates") == NULL && av_collateral_add_dir(c, p, &e) != 0)) {
		av_collateral_free(c);
		return NULL;
	}
	json_array_foreach(json_object_get(json_object_get(v, "inputs"),
	    "intermediates"), i, x) {
		uint8_t	*b;
		size_t	 n;

		if ((b = load(json_string_value(x), &n)) != NULL &&
		    av_collateral_add(c, b, n, json_string_value(x), &e) != 0)
			fprintf(stderr, "collateral: %s\n", e.reason);
		free(b);
	}
	return c;
}

/* Run one request body (consumed). */
static struct av_result *
run(const json_t *v, json_t *body, const struct av_policy *pol,
    struct av_trust *trust)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { 0 };
	struct av_collateral	*coll = collateral(v);

	env.now = json_integer_value(json_object_get(json_object_get(v,
	    "verification_time"), "unix"));
	env.trust = trust;
	env.coll = coll;
	if (av_request_from_json(body, &req, &e) != 0) {
		fprintf(stderr, "request: %s\n", e.reason);
		goto out;
	}
	if (av_verify_request(&env, req, pol, &res, &e) != 0)
		fprintf(stderr, "verify: %s\n", e.reason);
 out:
	av_request_free(req);
	av_collateral_free(coll);
	json_decref(body);
	return res;
}

/* {"nonce": b64(expected nonce), "evidence": [item]} */
static json_t *
body_for(const json_t *v, json_t *item)
{
	const char	*nh = json_string_value(json_object_get(json_object_get(
	    v, "inputs"), "expected_nonce_hex"));
	json_t		*b = json_pack("{s:[o]}", "evidence", item);
	uint8_t		*nb;
	size_t		 nl;
	char		*s;

	if (nh != NULL && *nh != '\0' &&
	    av_hex_decode(nh, strlen(nh), &nb, &nl) == 0) {
		s = av_b64url_encode(nb, nl);
		json_object_set_new(b, "nonce", json_string(s));
		free(s);
		free(nb);
	}
	return b;
}

static json_t *
b64_item(const char *type, const uint8_t *p, size_t n)
{
	char	*s = av_b64_encode(p, n);
	json_t	*it = json_pack("{s:s, s:s}", "type", type, "data", s);

	free(s);
	return it;
}

/* First contraindicated reason code, or NULL. */
static const char *
first_contra(const struct av_submod *sm)
{
	for (size_t i = 0; i < json_array_size(sm->reasons); i++) {
		const json_t *r = json_array_get(sm->reasons, i);

		if (strcmp(json_string_value(json_object_get(r, "severity")),
		    "contraindicated") == 0)
			return json_string_value(json_object_get(r, "code"));
	}
	return NULL;
}

/* Claim lookup by a dotted path ("quotes.0.clock"). */
static const json_t *
claim(const json_t *c, const char *path)
{
	char		 buf[256], *tok, *save = NULL;
	const json_t	*j = c;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); j != NULL && tok != NULL;
	    tok = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, strtoul(tok, NULL,
		    10)) : json_object_get(j, tok);
	return j;
}

static bool
eq_str(const json_t *c, const char *path, const char *want)
{
	const char *got = json_string_value(claim(c, path));

	if (got != NULL && want != NULL && strcmp(got, want) == 0)
		return true;
	snprintf(failmsg, sizeof(failmsg), "claim %s = %s, expected %s", path,
	    got ? got : "(none)", want ? want : "(none)");
	return false;
}

static bool
eq_int(const json_t *c, const char *path, json_int_t want)
{
	const json_t *j = claim(c, path);

	if (json_is_integer(j) && json_integer_value(j) == want)
		return true;
	snprintf(failmsg, sizeof(failmsg), "claim %s = %lld, expected %lld",
	    path, json_is_integer(j) ? (long long)json_integer_value(j) : -1,
	    (long long)want);
	return false;
}

/* "RSASSA-PKCS1v1_5-sha256" / "RSASSA-sha256" -> "rsassa-sha256". */
static void
scheme_name(const char *m, char *out, size_t len)
{
	const char	*h = strrchr(m, '-');
	size_t		 k = 0;

	for (const char *p = m; *p != '\0' && *p != '-' && k + 1 < len; p++)
		out[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	snprintf(out + k, len - k, "%s", h ? h : "");
}

/* The tpm_quote facts (one quote) against quotes.<qi> claims. */
static bool
check_quote_facts(const json_t *c, const json_t *f, int qi, bool pcrs256)
{
	char		 p[64], sch[64], sel[64];
	const json_t	*x;
	const char	*k;
	size_t		 i;

	scheme_name(json_string_value(json_object_get(f, "sig_scheme")), sch,
	    sizeof(sch));
#define QP(key) (snprintf(p, sizeof(p), "quotes.%d.%s", qi, key), p)
	if (!eq_str(c, QP("sig_scheme"), sch) ||
	    !eq_str(c, QP("pcr_digest"), json_string_value(json_object_get(f,
	    "pcr_digest_hex"))) ||
	    !eq_str(c, QP("extra_data"), json_string_value(json_object_get(f,
	    "extra_data_hex"))) ||
	    !eq_str(c, QP("qualified_signer"), json_string_value(
	    json_object_get(f, "qualified_signer_hex"))) ||
	    !eq_int(c, QP("clock"), json_integer_value(json_object_get(f,
	    "clock"))) ||
	    !eq_int(c, QP("reset_count"), json_integer_value(json_object_get(
	    f, "reset_count"))) ||
	    !eq_int(c, QP("restart_count"), json_integer_value(
	    json_object_get(f, "restart_count"))) ||
	    !eq_str(c, QP("firmware_version"), json_string_value(
	    json_object_get(f, "firmware_version"))))
		return false;
	snprintf(sel, sizeof(sel), "quotes.%d.pcr_selection.%s", qi,
	    json_string_value(json_object_get(f, "pcr_bank")));
	x = claim(c, sel);
	if (!json_equal((json_t *)x, json_object_get(f, "pcr_selection"))) {
		snprintf(failmsg, sizeof(failmsg), "%s differs", sel);
		return false;
	}
#undef QP
	/* the quoted PCR values of the quote's bank */
	if (json_object_get(f, "pcrs") != NULL && !pcrs256) {
		json_t *v;

		json_object_foreach(json_object_get(f, "pcrs"), k, v) {
			snprintf(p, sizeof(p), "pcrs.%s.%s", json_string_value(
			    json_object_get(f, "pcr_bank")), k);
			if (!eq_str(c, p, json_string_value(v)))
				return false;
		}
	}
	(void)i;
	return true;
}

static bool
check_pcrs256(const json_t *c, const json_t *facts)
{
	const char	*k;
	json_t		*v;
	char		 p[64];

	json_object_foreach(json_object_get(facts, "pcrs_sha256"), k, v) {
		snprintf(p, sizeof(p), "pcrs.sha256.%s", k);
		if (!eq_str(c, p, json_string_value(v)))
			return false;
	}
	return true;
}

static struct av_policy *
make_policy(const char *type, json_t *section)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc = json_pack("{s:s, s:i, s:{s:o}}", "id",
	    "vtpm-vectors", "version", 1, "evidence", type, section);

	if (av_policy_compile(doc, &p, &perr) != 0)
		fprintf(stderr, "policy: %s: %s\n", perr.path, perr.reason);
	json_decref(doc);
	return p;
}

/* {"pcrs": {"sha256": {i: v}}} from the verified claims. */
static json_t *
pcr_section(const json_t *c)
{
	json_t *s = json_object(), *pc = json_object();

	json_object_set(pc, "sha256", json_object_get(json_object_get(c,
	    "pcrs"), "sha256"));
	json_object_set_new(s, "pcrs", pc);
	return s;
}

/* Outcome of one run against the manifest's expectation. */
static bool
judge(const json_t *v, const struct av_result *r, bool pass)
{
	const struct av_submod	*sm;
	const char		*first, *want;

	if (r == NULL || r->nsubmods != 1) {
		snprintf(failmsg, sizeof(failmsg), "no result");
		return false;
	}
	sm = &r->submods[0];
	if (getenv("AV_DUMP") != NULL)
		dump(r);
	if (pass) {
		if (sm->status == AV_STATUS_CONTRAINDICATED) {
			if (verbose)
				dump(r);
			snprintf(failmsg, sizeof(failmsg), "contraindicated: %s",
			    first_contra(sm));
			return false;
		}
		return true;
	}
	want = code_for(json_string_value(json_object_get(json_object_get(v,
	    "expected"), "first_failing_check")));
	first = first_contra(sm);
	if (sm->status != AV_STATUS_CONTRAINDICATED || first == NULL ||
	    want == NULL || !code_in(first, want)) {
		if (verbose)
			dump(r);
		snprintf(failmsg, sizeof(failmsg), "expected %s (%s), got %s %s",
		    want ? want : "?", json_string_value(json_object_get(
		    json_object_get(v, "expected"), "first_failing_check")),
		    av_status_str(sm->status), first ? first : "");
		return false;
	}
	return true;
}

/* ---- swtpm ---------------------------------------------------------- */

static char *
spki_hex(const char *rel)
{
	size_t		 n;
	uint8_t		*pem = load(rel, &n), h[32];
	unsigned char	*der = NULL;
	BIO		*b;
	EVP_PKEY	*pk;
	int		 dl;
	char		*hx = NULL;

	if (pem == NULL)
		return NULL;
	b = BIO_new_mem_buf(pem, (int)n);
	if ((pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL)) != NULL &&
	    (dl = i2d_PUBKEY(pk, &der)) > 0) {
		av_sha256(der, (size_t)dl, h);
		hx = av_hex_encode(h, 32);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	BIO_free(b);
	free(pem);
	return hx;
}

static bool
run_swtpm(const json_t *v, struct av_trust *trust)
{
	static const char *const aks[] = { "ak_rsa", "ak_ecc" };
	const json_t	*per = json_object_get(json_object_get(v, "expected"),
	    "per_ak");
	bool		 ok = false;

	for (size_t i = 0; i < 2; i++) {
		char		 key[64], akname[16];
		uint8_t		*msg = NULL, *sig = NULL, *pub = NULL;
		size_t		 ml, sl, pl;
		char		*pcrs = NULL, *hx = NULL;
		json_t		*it = NULL, *pj = NULL, *sec;
		struct av_policy *pol = NULL;
		struct av_result *r = NULL;
		const json_t	*f;

		snprintf(akname, sizeof(akname), "ak-%s", aks[i] + 3);
		f = json_object_get(json_object_get(per, akname), "facts");
		snprintf(key, sizeof(key), "%s_quote_msg", aks[i]);
		msg = load(file_path(v, key), &ml);
		snprintf(key, sizeof(key), "%s_quote_sig", aks[i]);
		sig = load(file_path(v, key), &sl);
		snprintf(key, sizeof(key), "%s_pub", aks[i]);
		pub = load(file_path(v, key), &pl);
		snprintf(key, sizeof(key), "%s_pem", aks[i]);
		hx = spki_hex(file_path(v, key));
		pcrs = load_text(file_path(v, "pcrs_json"));
		if (msg == NULL || sig == NULL || pub == NULL || hx == NULL ||
		    pcrs == NULL || f == NULL)
			FAIL("%s: files missing", akname);
		it = b64_item("tpm", msg, ml);
		{
			char *s = av_b64_encode(sig, sl);

			json_object_set_new(it, "signature", json_string(s));
			free(s);
			s = av_b64_encode(pub, pl);
			json_object_set_new(it, "ak_pub", json_string(s));
			free(s);
		}
		pj = json_loads(pcrs, 0, NULL);
		json_object_set_new(it, "pcrs", json_pack("{s:O}", "sha256",
		    json_object_get(pj, "pcrs")));
		sec = json_pack("{s:[s]}", "enrolled_aks", hx);
		pol = make_policy("tpm", sec);
		r = run(v, body_for(v, it), pol, trust);
		it = NULL;
		if (!judge(v, r, true))
			goto out;
		if (r->submods[0].status != AV_STATUS_AFFIRMING)
			FAIL("%s: %s, expected affirming", akname,
			    av_status_str(r->submods[0].status));
		if (!check_quote_facts(r->submods[0].claims, f, 0, false))
			goto out;
		ok = true;
 out:
		if (!ok && failmsg[0] == '\0')
			snprintf(failmsg, sizeof(failmsg), "%s failed", akname);
		av_result_free(r);
		av_policy_free(pol);
		json_decref(it);
		json_decref(pj);
		free(msg);
		free(sig);
		free(pub);
		free(pcrs);
		free(hx);
		if (!ok)
			return false;
		ok = false;
	}
	return true;
}

/* ---- Azure ------------------------------------------------------------ */

/* The split files of az-snp-vtpm-hcl-bin as a v1 evidence document. */
static char *
assemble_v1(const json_t *v)
{
	size_t	 hl;
	uint8_t	*hcl = load(file_path(v, "hcl_report"), &hl);
	char	*q = load_text(file_path(v, "tpm_quote_json"));
	char	*vcek = load_text(file_path(v, "vcek_pem_chain"));
	char	*h64, *out = NULL;
	json_t	*doc;

	if (hcl != NULL && q != NULL && vcek != NULL &&
	    (h64 = av_b64url_encode(hcl, hl)) != NULL) {
		doc = json_pack("{s:i, s:o, s:s, s:s}", "version", 1,
		    "tpm_quote", json_loads(q, 0, NULL), "hcl_report", h64,
		    "vcek", vcek);
		out = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		free(h64);
	}
	free(hcl);
	free(q);
	free(vcek);
	return out;
}

static bool
run_azure(const json_t *v, struct av_trust *trust)
{
	const char		*id = json_string_value(json_object_get(v, "id"));
	const json_t		*exp = json_object_get(v, "expected");
	const json_t		*facts = json_object_get(exp, "facts");
	bool			 pass = strcmp(json_string_value(json_object_get(
	    exp, "result")), "pass") == 0;
	bool			 tdx = strstr(id, "tdx") != NULL;
	const char		*type = tdx ? "azure-tdx-vtpm" : "azure-snp-vtpm";
	uint8_t			*doc = NULL;
	size_t			 dl = 0;
	struct av_result	*r = NULL;
	struct av_policy	*pol = NULL;
	const json_t		*c;
	bool			 ok = false;

	if (file_path(v, "evidence") != NULL)
		doc = load(file_path(v, "evidence"), &dl);
	else if ((doc = (uint8_t *)assemble_v1(v)) != NULL)
		dl = strlen((char *)doc);
	if (doc == NULL)
		FAIL("evidence files missing");
	/* detection must agree with the type */
	if (av_backend_detect(doc, dl, NULL) != av_backend_find(type))
		FAIL("detected as another type");
	r = run(v, body_for(v, b64_item(type, doc, dl)), NULL, trust);
	if (!judge(v, r, pass))
		goto out;
	if (!pass) {
		ok = true;
		goto out;
	}
	c = r->submods[0].claims;
	if (!check_quote_facts(c, json_object_get(facts, "tpm_quote"), 0,
	    true) || !check_pcrs256(c, facts) ||
	    !eq_str(c, "hcl.report_type", json_string_value(json_object_get(
	    json_object_get(facts, "hcl"), "report_type"))) ||
	    !eq_str(c, "hcl.runtime_data_sha256", json_string_value(
	    json_object_get(json_object_get(facts, "hcl"),
	    "runtime_data_sha256"))) ||
	    !eq_str(c, "hcl.user_data", json_string_value(json_object_get(
	    json_object_get(facts, "hcl"), "user_data_hex"))) ||
	    !eq_str(c, "ak.trust.0", "hcl"))
		goto out;
	if (!tdx && (!eq_str(c, "sev-snp.measurement", json_string_value(
	    json_object_get(json_object_get(facts, "snp"),
	    "measurement_hex"))) || !eq_str(c, "sev-snp.report_data",
	    json_string_value(json_object_get(json_object_get(facts, "snp"),
	    "report_data_hex")))))
		goto out;
	if (tdx && (!eq_str(c, "tdx.mrtd", json_string_value(json_object_get(
	    json_object_get(facts, "tdx"), "mrtd"))) ||
	    !eq_str(c, "tdx.report_data", json_string_value(json_object_get(
	    json_object_get(facts, "tdx"), "report_data")))))
		goto out;
	/* a policy made of its own PCRs, requiring the HCL binding */
	{
		json_t *sec = pcr_section(c);

		json_object_set_new(sec, "ak_trust", json_string("hcl"));
		pol = make_policy(type, sec);
		av_result_free(r);
		r = run(v, body_for(v, b64_item(type, doc, dl)), pol, trust);
		if (pol == NULL || !judge(v, r, true))
			goto out;
		if (r->submods[0].compared != true)
			FAIL("policy not compared");
	}
	ok = true;
 out:
	av_result_free(r);
	av_policy_free(pol);
	free(doc);
	return ok;
}

/* ---- GCE --------------------------------------------------------------- */

/* Trust dir <tmp>/tpm/ holding the entry's trusted_root. */
static struct av_trust *
gce_trust(const json_t *v, char **tmp)
{
	struct av_trust	*t = av_trust_new();
	struct av_err	 e = { 0 };
	const char	*root = json_string_value(json_object_get(
	    json_object_get(v, "inputs"), "trusted_root"));
	char		 p[2048];
	uint8_t		*b;
	size_t		 n;
	STACK_OF(X509)	*sk;

	*tmp = avt_tmpdir();
	snprintf(p, sizeof(p), "%s/tpm", *tmp);
	mkdir(p, 0700);
	if (root == NULL || (b = load(root, &n)) == NULL)
		return t;
	if ((sk = av_x509_parse_any(b, n)) != NULL) {
		snprintf(p, sizeof(p), "%s/tpm/root.pem", *tmp);
		avt_cert_write_pem(sk_X509_value(sk, 0), p);
		sk_X509_pop_free(sk, X509_free);
	}
	free(b);
	/*
	 * The built-in Google pins stay, but their certificates come only
	 * from here: the chain must end at this anchor.
	 */
	if (av_trust_load_dir(t, *tmp, &e) != 0)
		fprintf(stderr, "trust: %s\n", e.reason);
	return t;
}

static bool
run_gce(const json_t *v)
{
	const json_t		*exp = json_object_get(v, "expected");
	bool			 pass = strcmp(json_string_value(json_object_get(
	    exp, "result")), "pass") == 0;
	uint8_t			*doc;
	size_t			 dl;
	char			*tmp = NULL;
	struct av_trust		*t = NULL;
	struct av_result	*r = NULL;
	struct av_policy	*pol = NULL;
	const json_t		*qs, *c;
	size_t			 i;
	bool			 ok = false;

	if (av_backend_find("gce-tpm") == NULL) {
		snprintf(failmsg, sizeof(failmsg), "PENDING: gce-tpm not built");
		return false;
	}
	if ((doc = load(file_path(v, "evidence"), &dl)) == NULL)
		FAIL("evidence missing");
	t = gce_trust(v, &tmp);
	r = run(v, body_for(v, b64_item("gce-tpm", doc, dl)), NULL, t);
	if (!judge(v, r, pass))
		goto out;
	if (pass) {
		c = r->submods[0].claims;
		qs = json_object_get(json_object_get(exp, "facts"), "quotes");
		for (i = 0; i < json_array_size(qs); i++)
			if (!check_quote_facts(c, json_array_get(qs, i), (int)i,
			    false))
				goto out;
		if (!eq_str(c, "ak.name", json_string_value(json_object_get(
		    json_object_get(json_object_get(exp, "facts"), "ak_pub"),
		    "name_hex"))) || !eq_str(c, "ak.trust.0", "certificate"))
			goto out;
		/* its own PCRs, Secure Boot and the verified A-image cmdline */
		{
			json_t *sec = pcr_section(c);

			json_object_set_new(sec, "ak_trust",
			    json_string("certificate"));
			json_object_set_new(sec, "secure_boot", json_true());
			json_object_set_new(sec, "kernel_cmdline", json_pack(
			    "{s:s}", "prefix", "/syslinux/vmlinuz.A "));
			pol = make_policy("gce-tpm", sec);
			av_result_free(r);
			r = run(v, body_for(v, b64_item("gce-tpm", doc, dl)),
			    pol, t);
			if (pol == NULL || !judge(v, r, true))
				goto out;
			if (r->submods[0].status != AV_STATUS_AFFIRMING)
				FAIL("own policy: %s",
				    av_status_str(r->submods[0].status));
		}
	}
	ok = true;
 out:
	av_result_free(r);
	av_policy_free(pol);
	av_trust_free(t);
	if (tmp != NULL)
		avt_rmtree(tmp);
	free(tmp);
	free(doc);
	return ok;
}

int
main(void)
{
	json_t		*m;
	const json_t	*v;
	size_t		 i, npass = 0, nfail = 0, npending = 0;
	struct av_trust	*trust;

	verbose = getenv("AV_VERBOSE") != NULL;
	m = avt_manifest_load("vtpm", &dir);
	trust = av_trust_new();
	json_array_foreach(json_object_get(m, "vectors"), i, v) {
		const char	*id = json_string_value(json_object_get(v, "id"));
		bool		 ok;

		failmsg[0] = '\0';
		if (strncmp(id, "swtpm", 5) == 0)
			ok = run_swtpm(v, trust);
		else if (strstr(id, "az-") != NULL)
			ok = run_azure(v, trust);
		else if (strstr(id, "gce") != NULL)
			ok = run_gce(v);
		else {
			ok = false;
			snprintf(failmsg, sizeof(failmsg), "unknown entry");
		}
		if (ok) {
			printf("PASS %s\n", id);
			npass++;
		} else if (strncmp(failmsg, "PENDING", 7) == 0) {
			printf("%s %s\n", failmsg, id);
			npending++;
		} else {
			printf("FAIL %s: %s\n", id, failmsg);
			nfail++;
		}
	}
	printf("%zu passed, %zu failed, %zu pending\n", npass, nfail, npending);
	av_trust_free(trust);
	json_decref(m);
	free(dir);
	return nfail == 0 ? 0 : 1;
}
