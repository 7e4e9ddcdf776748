/*
 * Azure confidential-VM vTPM evidence (azure-snp-vtpm, azure-tdx-vtpm)
 * through av_verify_request, made entirely by test signers so the suite
 * runs without ../shared: an RSA AK whose JWK sits in the HCL runtime
 * data, an HCL report around an SNP report from tests/lib/avt_snp (test
 * ARK -> ASK -> VCEK, operator anchor) or around a TDREPORT with a TD
 * quote from tests/lib/avt_tdx (test Intel root pinned), and a TPM quote
 * (tests/lib/avt_tpm) signed by the AK with the request nonce.  Each case
 * asserts the exact status, reason and claims.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <tss2/tss2_tpm2_types.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_pki.h"
#include "avt_snp.h"
#include "avt_tdx.h"
#include "avt_tpm.h"

#define T0		1767225600LL
#define HCL_LEN		2600
#define HW_OFF		32
#define VAR_OFF		(32 + 1184 + 20)

struct fx {
	struct avt_snp_pki	*snp;
	EVP_PKEY		*vcek_key;
	X509			*vcek;
	struct avt_tdx		*tdx;
	EVP_PKEY		*ak, *other;
	struct av_trust		*trust;
	struct av_collateral	*coll;
	struct avt_pcrs		 pcrs;
	uint8_t			 chip_id[64];
	uint8_t			 nonce[9];
};

static struct fx *F;
static const struct avt_snp_tcb tcb = { .bl = 4, .tee = 0, .snp = 22,
    .ucode = 213 };

static int
setup(void **state)
{
	struct avt_snp_leaf_spec	 ls = { 0 };
	struct av_coll_fetch_cfg	 cfg = { 0 };
	struct av_err			 e = { 0 };
	uint8_t				*der;
	size_t				 n;

	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL)
		return -1;
	memset(F->chip_id, 0xc1, sizeof(F->chip_id));
	memcpy(F->nonce, "challenge", 9);
	F->snp = avt_snp_pki_new("Milan", T0 - 86400 * 365, T0 + 86400 * 365);
	F->vcek_key = avt_key_new("P-384");
	ls.product_name = "Milan-B0";
	ls.hwid = F->chip_id;
	ls.hwid_len = 64;
	ls.tcb = tcb;
	ls.not_before = T0 - 86400;
	ls.not_after = T0 + 86400 * 30;
	F->vcek = avt_snp_leaf_new(F->snp, &ls, F->vcek_key);
	F->tdx = avt_tdx_new(T0);
	F->ak = avt_key_new("RSA-2048");
	F->other = avt_key_new("RSA-2048");
	F->trust = av_trust_new();
	F->coll = av_collateral_new(&cfg);
	if (F->snp == NULL || F->vcek == NULL || F->tdx == NULL ||
	    F->ak == NULL || F->trust == NULL || F->coll == NULL ||
	    av_trust_add_anchor(F->trust, "sev-snp", F->snp->ark) != 0 ||
	    avt_tdx_pin(F->tdx, F->trust) != 0)
		return -1;
	/* the ASK and ARK come as collateral, like AMD KDS's chain */
	der = avt_cert_der(F->snp->ask, &n);
	if (av_collateral_add(F->coll, der, n, "ask", &e) != 0)
		return -1;
	free(der);
	der = avt_cert_der(F->snp->ark, &n);
	if (av_collateral_add(F->coll, der, n, "ark", &e) != 0)
		return -1;
	free(der);
	for (unsigned i = 0; i < 24; i++)
		memset(F->pcrs.v[AVT_SHA256][i], (int)(0x10 + i), 32);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	avt_snp_pki_free(F->snp);
	EVP_PKEY_free(F->vcek_key);
	X509_free(F->vcek);
	avt_tdx_free(F->tdx);
	EVP_PKEY_free(F->ak);
	EVP_PKEY_free(F->other);
	av_trust_free(F->trust);
	av_collateral_free(F->coll);
	free(F);
	return 0;
}

/* ---- building evidence ------------------------------------------------- */

struct az {
	bool		 tdx;
	int		 version;	/* 0 (byte arrays) or 1 (hex/base64url) */
	EVP_PKEY	*signer;	/* signs the quote (NULL: F->ak) */
	const uint8_t	*nonce;		/* extraData (NULL: F->nonce) */
	size_t		 nonce_len;
	const char	*user_data;	/* runtime "user-data" hex */
	bool		 alter_runtime;	/* change it after hashing */
	bool		 flip_report_sig;
	bool		 bad_hcl_type;
	uint8_t		 measurement[48];
	bool		 truncate_message;
};

static char *
b64u(const uint8_t *p, size_t n)
{
	char *s = av_b64url_encode(p, n);

	assert_non_null(s);
	return s;
}

static char *
hex(const uint8_t *p, size_t n)
{
	char *s = av_hex_encode(p, n);

	assert_non_null(s);
	return s;
}

/* {"keys":[HCLAkPub JWK], "vm-configuration": {...}, "user-data": hex} */
static char *
runtime_json(const char *user_data)
{
	BIGNUM	*bn = NULL;
	uint8_t	 nb[256];
	char	*n, *out;
	json_t	*j;

	assert_int_equal(EVP_PKEY_get_bn_param(F->ak, OSSL_PKEY_PARAM_RSA_N,
	    &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, nb, sizeof(nb)), 256);
	BN_free(bn);
	n = b64u(nb, sizeof(nb));
	j = json_pack("{s:[{s:s,s:s,s:s,s:s,s:[s]}], s:{s:b,s:b,s:s},"
	    " s:s}", "keys", "kid", "HCLAkPub", "kty", "RSA", "n", n, "e",
	    "AQAB", "key_ops", "sign", "vm-configuration", "secure-boot", 1,
	    "tpm-enabled", 1, "vmUniqueId", "TEST-VM", "user-data",
	    user_data != NULL ? user_data : "00");
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(n);
	return out;
}

/* The 2600-byte HCL report around hw (1184 bytes) and the runtime data. */
static uint8_t *
hcl_report(const uint8_t *hw, const char *rt, uint32_t type)
{
	uint8_t	*h = calloc(1, HCL_LEN);
	size_t	 rl = strlen(rt);
	uint32_t f[5] = { (uint32_t)(20 + rl), 1, type, 1, (uint32_t)rl };

	assert_non_null(h);
	assert_true(VAR_OFF + rl <= HCL_LEN);
	memcpy(h, "HCLA", 4);
	h[4] = 1;		/* version */
	h[8] = 0x28;		/* report size 0x0a28 */
	h[9] = 0x0a;
	h[12] = 2;		/* request type */
	memcpy(h + HW_OFF, hw, 1184);
	for (int i = 0; i < 5; i++)
		for (int k = 0; k < 4; k++)
			h[HW_OFF + 1184 + 4 * i + k] = (uint8_t)(f[i] >> (8 * k));
	memcpy(h + VAR_OFF, rt, rl);
	return h;
}

/* A JSON value for bytes: array of integers (v0) or hex (v1). */
static json_t *
bytes_json(int version, const uint8_t *p, size_t n)
{
	json_t	*a;
	char	*s;

	if (version == 1) {
		s = hex(p, n);
		a = json_string(s);
		free(s);
		return a;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

/* The evidence document for spec a; *type gets the backend name. */
static char *
evidence(const struct az *a, const char **type)
{
	struct avt_quote_spec	 qs = { 0 };
	struct avt_snp_fields	 sf = { 0 };
	struct avt_tdx_quote_spec ts;
	uint8_t			 hw[1184] = { 0 }, rd[64] = { 0 };
	uint8_t			*msg, *sig, *hcl, *tdq = NULL;
	size_t			 ml, sl, tdl = 0;
	char			*rt, *s;
	json_t			*doc, *pcrs, *tq;

	rt = runtime_json(a->user_data);
	av_sha256((const uint8_t *)rt, strlen(rt), rd);
	if (!a->tdx) {
		sf.version = 3;
		sf.cpuid_fam = 0x19;
		sf.cpuid_mod = 0x01;
		sf.vmpl = 0;
		sf.reported_tcb = sf.current_tcb = sf.committed_tcb =
		    sf.launch_tcb = avt_snp_tcb_raw("Milan", &tcb);
		memcpy(sf.chip_id, F->chip_id, 64);
		memcpy(sf.report_data, rd, 64);
		memcpy(sf.measurement, a->measurement, 48);
		sf.current_major = 1;
		sf.current_minor = 55;
		assert_int_equal(avt_snp_report(&sf, F->vcek_key, hw), 0);
		if (a->flip_report_sig)
			hw[0x2a0] ^= 1;
	} else {
		avt_tdx_quote_spec_init(&ts);
		memcpy(ts.report_data, rd, 64);
		ts.corrupt_quote_sig = a->flip_report_sig;
		tdq = avt_tdx_quote(F->tdx, &ts, &tdl);
		assert_non_null(tdq);
		/* the TDREPORT in the HCL report: reportdata at 128 */
		memcpy(hw + 128, rd, 64);
		memcpy(hw + 528, ts.mrtd, 48);
	}
	if (a->alter_runtime) {
		char *u = strstr(rt, "TEST-VM");

		assert_non_null(u);
		u[0] = 'B';
	}
	hcl = hcl_report(hw, rt, a->bad_hcl_type ? (a->tdx ? 2 : 4) :
	    (a->tdx ? 4 : 2));
	qs.nonce = a->nonce ? a->nonce : F->nonce;
	qs.nonce_len = a->nonce ? a->nonce_len : sizeof(F->nonce);
	qs.sel[AVT_SHA256] = 0x00ffffff;
	msg = avt_tpm_attest(&qs, &F->pcrs, &ml);
	sig = avt_tpm_sign(a->signer ? a->signer : F->ak, AVT_RSASSA,
	    TPM2_ALG_SHA256, msg, ml, &sl);
	assert_non_null(sig);
	pcrs = json_array();
	for (unsigned i = 0; i < 24; i++)
		json_array_append_new(pcrs, bytes_json(a->version,
		    F->pcrs.v[AVT_SHA256][i], 32));
	/* Azure signs with a bare RSASSA signature: skip TPMT's 6 bytes */
	tq = json_pack("{s:o, s:o, s:o}", "signature", bytes_json(a->version,
	    sig + 6, sl - 6), "message", bytes_json(a->version, msg,
	    a->truncate_message ? ml - 1 : ml), "pcrs", pcrs);
	if (a->version == 0 && !a->tdx) {
		char *pem = avt_cert_pem(F->vcek);

		doc = json_pack("{s:o, s:o, s:s}", "quote", tq, "report",
		    bytes_json(0, hcl, HCL_LEN), "vcek", pem);
		free(pem);
	} else if (a->version == 0) {
		doc = json_pack("{s:o, s:o, s:o}", "tpm_quote", tq,
		    "hcl_report", bytes_json(0, hcl, HCL_LEN), "td_quote",
		    bytes_json(0, tdq, tdl));
	} else {
		char *h = b64u(hcl, HCL_LEN);

		doc = json_pack("{s:i, s:o, s:s}", "version", a->version,
		    "tpm_quote", tq, "hcl_report", h);
		free(h);
		if (a->tdx) {
			h = b64u(tdq, tdl);
			json_object_set_new(doc, "td_quote", json_string(h));
		} else {
			uint8_t	*der;
			size_t	 dn;

			der = avt_cert_der(F->vcek, &dn);
			h = b64u(der, dn);
			free(der);
			json_object_set_new(doc, "vcek", json_string(h));
		}
		free(h);
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(rt);
	free(hcl);
	free(msg);
	free(sig);
	free(tdq);
	*type = a->tdx ? "azure-tdx-vtpm" : "azure-snp-vtpm";
	return s;
}

static struct av_result *
run(const struct az *a, const struct av_policy *pol, bool declare)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust,
	    .coll = F->coll };
	const char		*type;
	char			*doc = evidence(a, &type);

	assert_int_equal(av_request_from_raw(declare ? type : NULL,
	    (const uint8_t *)doc, strlen(doc), &req, &e), 0);
	req->nonce = malloc(sizeof(F->nonce));
	memcpy(req->nonce, F->nonce, sizeof(F->nonce));
	req->nonce_len = sizeof(F->nonce);
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	av_request_free(req);
	free(doc);
	return res;
}

/* Status st, and code among the contraindicated/warning reasons. */
static void
expect(const struct av_result *r, enum av_status st, const char *code)
{
	avt_expect(&r->submods[0], st, code);
}

static const json_t *
claim(const struct av_result *r, const char *a, const char *b)
{
	const json_t *j = json_object_get(r->submods[0].claims, a);

	return b != NULL ? json_object_get(j, b) : j;
}

/* ---- tests -------------------------------------------------------------- */

static void
check_good(bool tdx, int version)
{
	struct az		 a = { .tdx = tdx, .version = version };
	struct av_result	*r = run(&a, NULL, version == 1);

	/* no policy: at best a warning (and no CRL for the test VCEK) */
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_string_equal(json_string_value(json_array_get(claim(r, "ak",
	    "trust"), 0)), "hcl");
	assert_string_equal(json_string_value(claim(r, "hcl",
	    "report_type")), tdx ? "TDX" : "SNP");
	assert_true(json_is_true(json_object_get(claim(r, "hcl",
	    "vm_configuration"), "secure-boot")));
	assert_string_equal(json_string_value(claim(r, "extra_data", NULL)),
	    "6368616c6c656e6765");
	assert_non_null(claim(r, tdx ? "tdx" : "sev-snp", NULL));
	assert_string_equal(json_string_value(claim(r, "format", NULL)),
	    tdx ? "azure-tdx-vtpm" : "azure-snp-vtpm");
	av_result_free(r);
}

static void
t_snp_v0(void **state)
{
	(void)state;
	check_good(false, 0);
}

static void
t_snp_v1(void **state)
{
	(void)state;
	check_good(false, 1);
}

static void
t_tdx_v0(void **state)
{
	(void)state;
	check_good(true, 0);
}

static void
t_tdx_v1(void **state)
{
	(void)state;
	check_good(true, 1);
}

/* TPM PCRs and the nested sev-snp section in one policy. */
static void
t_snp_policy(void **state)
{
	struct az		 a = { .version = 1 };
	struct av_policy	*pol;
	struct av_result	*r;
	char			*m, *p7, *bad;
	uint8_t			 other[48];

	(void)state;
	memset(a.measurement, 0x4d, 48);
	memset(other, 0x4e, 48);
	m = hex(a.measurement, 48);
	bad = hex(other, 48);
	p7 = hex(F->pcrs.v[AVT_SHA256][7], 32);
	pol = avt_policy("azure-snp-vtpm", json_pack("{s:s, s:{s:{s:s}},"
	    " s:{s:[s]}}", "ak_trust", "hcl", "pcrs", "sha256", "7", p7,
	    "sev-snp", "measurement", m), NULL);
	r = run(&a, pol, true);
	/* compared; the missing AMD CRL of the test hierarchy is a warning */
	assert_true(r->submods[0].compared);
	assert_int_not_equal(r->submods[0].status, AV_STATUS_CONTRAINDICATED);
	av_result_free(r);
	av_policy_free(pol);
	pol = avt_policy("azure-snp-vtpm", json_pack("{s:{s:[s]}}", "sev-snp",
	    "measurement", bad), NULL);
	r = run(&a, pol, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	/* a certificate path is not what vouches for this AK */
	pol = avt_policy("azure-snp-vtpm", json_pack("{s:s}", "ak_trust",
	    "certificate"), NULL);
	r = run(&a, pol, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	av_policy_free(pol);
	free(m);
	free(bad);
	free(p7);
}

static void
t_tdx_policy(void **state)
{
	struct az		 a = { .tdx = true, .version = 1 };
	struct avt_tdx_quote_spec ts;
	struct av_policy	*pol;
	struct av_result	*r;
	char			*m;
	uint8_t			 other[48];

	(void)state;
	avt_tdx_quote_spec_init(&ts);
	memset(other, 0x77, 48);
	m = hex(other, 48);
	pol = avt_policy("azure-tdx-vtpm", json_pack("{s:{s:[s]}}", "tdx",
	    "mrtd", m), NULL);
	r = run(&a, pol, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	free(m);
}

static void
t_wrong_nonce(void **state)
{
	static const uint8_t	 other[9] = "challengf";
	struct az		 a = { .version = 1, .nonce = other,
	    .nonce_len = 9 };
	struct av_result	*r = run(&a, NULL, true);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
	av_result_free(r);
	a.tdx = true;
	r = run(&a, NULL, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
	av_result_free(r);
}

/* The quote signed by a key that is not the HCL's AK. */
static void
t_ak_not_bound(void **state)
{
	struct az		 a = { .version = 1, .signer = F->other };
	struct av_result	*r = run(&a, NULL, true);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
	a.tdx = true;
	r = run(&a, NULL, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
}

/* Runtime data changed after the hardware report was made. */
static void
t_runtime_altered(void **state)
{
	struct az		 a = { .version = 1, .alter_runtime = true };
	struct av_result	*r = run(&a, NULL, true);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "binding_mismatch");
	av_result_free(r);
	a.tdx = true;
	r = run(&a, NULL, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "binding_mismatch");
	av_result_free(r);
}

static void
t_report_signature(void **state)
{
	struct az		 a = { .version = 0, .flip_report_sig = true };
	struct av_result	*r = run(&a, NULL, true);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
	a.tdx = true;
	r = run(&a, NULL, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
}

static void
t_malformed(void **state)
{
	struct az		 a = { .version = 1, .truncate_message = true };
	struct az		 b = { .version = 1, .bad_hcl_type = true };
	struct av_result	*r = run(&a, NULL, true);
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust };
	static const char	*const docs[] = {
		"{}", "[]", "{\"tpm_quote\": 1, \"hcl_report\": \"AA\"}",
		"{\"version\": 9, \"tpm_quote\": {}, \"hcl_report\": \"\"}",
		("{\"tpm_quote\": {\"message\": \"ff\", \"signature\": \"00\","
		    " \"pcrs\": []}, \"hcl_report\": \"SENMQQ\"}"),
	};

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
	av_result_free(r);
	r = run(&b, NULL, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
	av_result_free(r);
	b.tdx = true;
	r = run(&b, NULL, true);
	expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
	av_result_free(r);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(av_request_from_raw("azure-snp-vtpm",
		    (const uint8_t *)docs[i], strlen(docs[i]), &req, &e), 0);
		assert_int_equal(av_verify_request(&env, req, NULL, &res, &e),
		    0);
		expect(res, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
		av_result_free(res);
		av_request_free(req);
	}
}

static void
t_policy_errors(void **state)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;

	(void)state;
	/* a tdx section under the SNP form, and a bad nested key */
	doc = json_pack("{s:s, s:i, s:{s:{s:{}}}}", "id", "t", "version", 1,
	    "evidence", "azure-snp-vtpm", "tdx");
	assert_int_equal(av_policy_compile(doc, &p, &perr), -1);
	assert_string_equal(perr.path, "evidence.azure-snp-vtpm.tdx");
	json_decref(doc);
	doc = json_pack("{s:s, s:i, s:{s:{s:{s:i}}}}", "id", "t", "version",
	    1, "evidence", "azure-snp-vtpm", "sev-snp", "nope", 1);
	assert_int_equal(av_policy_compile(doc, &p, &perr), -1);
	assert_string_equal(perr.path, "evidence.azure-snp-vtpm.sev-snp.nope");
	json_decref(doc);
	doc = json_pack("{s:s, s:i, s:{s:{s:s}}}", "id", "t", "version", 1,
	    "evidence", "azure-tdx-vtpm", "ak_trust", "hcl");
	assert_int_equal(av_policy_compile(doc, &p, &perr), 0);
	av_policy_free(p);
	json_decref(doc);
}

/* AV_TPM_REGEN_SEEDS=1: synthetic evidence as evidence/tpm/ fuzz seeds. */
static void
t_regen_seeds(void **state)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	const char	*regen = getenv("AV_TPM_REGEN_SEEDS");
	static const struct { bool tdx; int version; const char *name; } s[] = {
		{ false, 0, "azure-snp-v0.json" },
		{ false, 1, "azure-snp-v1.json" },
		{ true, 0, "azure-tdx-v0.json" },
		{ true, 1, "azure-tdx-v1.json" },
	};
	char		 p[1200];
	FILE		*f;

	(void)state;
	if (regen == NULL || strcmp(regen, "1") != 0 || src == NULL)
		skip();
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct az	 a = { .tdx = s[i].tdx, .version = s[i].version };
		const char	*type;
		char		*doc = evidence(&a, &type);

		snprintf(p, sizeof(p), "%s/evidence/tpm/%s", src, s[i].name);
		assert_non_null(f = fopen(p, "w"));
		fputs(doc, f);
		fclose(f);
		free(doc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_snp_v0),
		cmocka_unit_test(t_snp_v1),
		cmocka_unit_test(t_tdx_v0),
		cmocka_unit_test(t_tdx_v1),
		cmocka_unit_test(t_snp_policy),
		cmocka_unit_test(t_tdx_policy),
		cmocka_unit_test(t_wrong_nonce),
		cmocka_unit_test(t_ak_not_bound),
		cmocka_unit_test(t_runtime_altered),
		cmocka_unit_test(t_report_signature),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_policy_errors),
		cmocka_unit_test(t_regen_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
