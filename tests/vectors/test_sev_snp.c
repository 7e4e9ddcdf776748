/*
 * Every entry of $AV_VECTORS/sev-snp/MANIFEST.json through the real
 * pipeline (av_verify_request) at the entry's verification time, with
 * the built-in pins only (the AMD ARKs arrive as companions).
 *
 * real (pass): not contraindicated; with no policy the only reasons are
 *   no_reference_values and the warning that no AMD CRL was available
 *   (the vectors carry none); every expected fact equals its claim
 *   (report fields, TCBs decoded per product, signer, CPUID, firmware,
 *   VCEK/VLEK facts, ARK/ASK names); then against a policy made from the
 *   report's own measurement: warning (CRL) or, for the debug guest,
 *   debug_enabled.  Each is also checked in the other evidence forms:
 *   the GHCB certificate table built from the same files, the PEM
 *   cert_chain alternative, the Azure HCL report, and the certificates
 *   loaded into a collateral store instead of the request.
 * negative (fail): contraindicated, first reason mapped from
 *   failure_stage: parse -> evidence_malformed, cert_chain ->
 *   chain_invalid or untrusted_root, cert_validity -> cert_time_invalid,
 *   report_signature -> signature_invalid, tcb_binding / chip_binding /
 *   runtime_data_binding -> binding_mismatch.
 * chain-only: the chain verifies at the verification time and the VCEK
 *   extensions equal the manifest's (Turin: fmc, 8-byte hwID).
 *
 * Exits 77 when the vectors are absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_manifest.h"
#include "avt_pki.h"
#include "avt_snp.h"
#include "evidence/sev_snp.h"

static char	 failmsg[1024];
static char	*dir;

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
load(const char *rel, size_t *n)
{
	return avt_read_at(dir, rel, n);
}

static bool
has_pem(const uint8_t *p, size_t n)
{
	for (size_t i = 0; n >= 10 && i <= n - 10; i++)
		if (memcmp(p + i, "-----BEGIN", 10) == 0)
			return true;
	return false;
}

/* A companion file as a request string: PEM text, or base64 of DER. */
static json_t *
companion(const char *rel)
{
	uint8_t	*p;
	size_t	 n;
	json_t	*j;
	char	*b;

	if ((p = load(rel, &n)) == NULL)
		return NULL;
	if (has_pem(p, n)) {
		j = json_stringn((const char *)p, n);
	} else {
		b = av_b64_encode(p, n);
		j = json_string(b);
		free(b);
	}
	free(p);
	return j;
}

static X509 *
load_cert(const char *rel)
{
	uint8_t		*p;
	size_t		 n;
	STACK_OF(X509)	*sk;
	X509		*x = NULL;

	if ((p = load(rel, &n)) == NULL)
		return NULL;
	if ((sk = av_x509_parse_any(p, n)) != NULL && sk_X509_num(sk) > 0)
		x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	free(p);
	return x;
}

enum form { F_CERTS, F_TABLE, F_CHAIN_ALT, F_STORE, F_VCEK_ALT };

/*
 * The request item for vector v with evidence bytes (p, n) in form.
 * *coll receives a store for F_STORE.
 */
static json_t *
item_for(const json_t *v, const uint8_t *p, size_t n, enum form form,
    struct av_collateral **coll)
{
	const json_t	*c = json_object_get(v, "companions");
	const char	*leaf = str(c, "leaf_vcek");
	bool		 vlek = leaf == NULL;
	const char	*ca = vlek ? str(c, "asvk") : str(c, "ask");
	json_t		*it, *certs = json_object();
	char		*b;

	if (vlek)
		leaf = str(c, "leaf_vlek");
	b = av_b64_encode(p, n);
	it = json_pack("{s:s s:s}", "type", "sev-snp", "data", b);
	free(b);
	switch (form) {
	case F_CERTS:
	case F_VCEK_ALT:
		json_object_set_new(certs, vlek ? "vlek" : "vcek",
		    companion(form == F_VCEK_ALT ? str(c, "vcek_alt") : leaf));
		json_object_set_new(certs, vlek ? "asvk" : "ask",
		    companion(ca));
		json_object_set_new(certs, "ark", companion(str(c, "ark")));
		break;
	case F_CHAIN_ALT:
		json_object_set_new(certs, "vcek", companion(leaf));
		json_object_set_new(certs, "cert_chain",
		    companion(str(c, "ask_ark_pem_alt")));
		break;
	case F_TABLE: {
		X509	*l = load_cert(leaf), *k = load_cert(ca);
		X509	*r = load_cert(str(c, "ark"));
		uint8_t	*t;
		size_t	 tl;

		t = avt_snp_cert_table(l, vlek, k, r, &tl);
		b = av_b64_encode(t, tl);
		json_object_set_new(it, "auxblob", json_string(b));
		free(b);
		free(t);
		X509_free(l);
		X509_free(k);
		X509_free(r);
		break;
	}
	case F_STORE: {
		const char	*files[3] = { leaf, ca, str(c, "ark") };
		struct av_err	 e = { 0 };

		*coll = av_collateral_new(NULL);
		for (int i = 0; i < 3 && *coll != NULL; i++) {
			uint8_t	*q;
			size_t	 ql;

			if ((q = load(files[i], &ql)) == NULL ||
			    av_collateral_add(*coll, q, ql, files[i], &e) != 0)
				fprintf(stderr, "store: %s\n", files[i]);
			free(q);
		}
		break;
	}
	default:
		break;
	}
	if (json_object_size(certs) > 0)
		json_object_set_new(it, "certs", certs);
	else
		json_decref(certs);
	return it;
}

static struct av_result *
verify(const struct av_trust *trust, json_t *item, int64_t now,
    const struct av_policy *pol, struct av_collateral *coll)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = now, .trust = trust,
				    .coll = coll };
	json_t			*body = json_pack("{s:[o]}", "evidence", item);

	if (av_request_from_json(body, &req, &e) != 0) {
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

static const json_t *
claim(const struct av_result *r, const char *a, const char *b)
{
	const json_t *o = json_object_get(r->submods[0].claims, a);

	return b != NULL ? json_object_get(o, b) : o;
}

/* The codes of the reasons, space separated, for messages. */
static void
codes(const struct av_result *r, char *buf, size_t len)
{
	size_t	 i;
	json_t	*x;

	buf[0] = '\0';
	json_array_foreach(r->submods[0].reasons, i, x) {
		strncat(buf, str(x, "code"), len - strlen(buf) - 1);
		strncat(buf, " ", len - strlen(buf) - 1);
	}
}

static const char *
first_contra(const struct av_result *r)
{
	size_t	 i;
	json_t	*x;

	json_array_foreach(r->submods[0].reasons, i, x)
		if (strcmp(str(x, "severity"), "contraindicated") == 0)
			return str(x, "code");
	return NULL;
}

static bool
hex_eq(const json_t *c, const json_t *x)
{
	if (x == NULL || json_is_null(x))
		return c == NULL || json_is_null(c);
	return json_is_string(c) && json_is_string(x) &&
	    strcasecmp(json_string_value(c), json_string_value(x)) == 0;
}

/* "0x3001f" (manifest) against the claim's "0x3001f". */
static bool
num_hex_eq(const json_t *c, const json_t *x)
{
	unsigned long long a, b;

	if (!json_is_string(c) || !json_is_string(x))
		return false;
	a = strtoull(json_string_value(c), NULL, 16);
	b = strtoull(json_string_value(x), NULL, 16);
	return a == b;
}

static int
check_tcb(const struct av_result *r, const char *name, const json_t *x)
{
	static const char *const m[][2] = {
		{ "bl", "bootloader" }, { "tee", "tee" }, { "snp", "snp" },
		{ "ucode", "microcode" }, { "fmc", "fmc" },
	};
	const json_t *c = claim(r, name, NULL);

	if (x == NULL)
		return 0;
	for (size_t i = 0; i < 5; i++) {
		const json_t *xv = json_object_get(x, m[i][0]);

		if (xv == NULL)
			continue;
		if (json_integer_value(json_object_get(c, m[i][1])) !=
		    json_integer_value(xv)) {
			snprintf(failmsg, sizeof(failmsg), "%s.%s", name,
			    m[i][1]);
			return -1;
		}
	}
	if (json_object_get(x, "raw") != NULL &&
	    !hex_eq(json_object_get(c, "raw"), json_object_get(x, "raw"))) {
		snprintf(failmsg, sizeof(failmsg), "%s.raw", name);
		return -1;
	}
	return 0;
}

/* Every expected fact against the claims. */
static int
check_facts(const struct av_result *r, const json_t *v)
{
	static const char *const hexes[] = {
		"measurement", "report_data", "host_data", "family_id",
		"image_id", "id_key_digest", "author_key_digest", "report_id",
		"chip_id", NULL
	};
	const json_t	*x = json_object_get(v, "expected");
	const json_t	*si = json_object_get(x, "signer_info");
	const json_t	*leaf = json_object_get(x, "leaf");
	const json_t	*cpuid = json_object_get(x, "cpuid");
	const json_t	*ch = json_object_get(x, "chain");
	const json_t	*cert = claim(r, "certificate", NULL);
	const char	*sk;

	if (json_integer_value(claim(r, "version", NULL)) !=
	    json_integer_value(json_object_get(x, "report_version")))
		FAIL("version");
	if (json_integer_value(claim(r, "signature_algo", NULL)) !=
	    json_integer_value(json_object_get(x, "signature_algo")))
		FAIL("signature_algo");
	if (json_integer_value(claim(r, "guest_svn", NULL)) !=
	    json_integer_value(json_object_get(x, "guest_svn")))
		FAIL("guest_svn");
	if (!num_hex_eq(claim(r, "policy", "raw"), json_object_get(x,
	    "policy")))
		FAIL("policy");
	if (json_is_true(claim(r, "debug", NULL)) !=
	    json_is_true(json_object_get(x, "debug")))
		FAIL("debug");
	if (json_integer_value(claim(r, "vmpl", NULL)) !=
	    json_integer_value(json_object_get(x, "vmpl")))
		FAIL("vmpl");
	if (!num_hex_eq(claim(r, "platform_info", "raw"), json_object_get(x,
	    "platform_info")))
		FAIL("platform_info");
	if (json_integer_value(claim(r, "signer_info", "raw")) !=
	    json_integer_value(json_object_get(si, "raw")) ||
	    json_is_true(claim(r, "signer_info", "author_key_en")) !=
	    (json_integer_value(json_object_get(si, "author_key_en")) != 0) ||
	    json_is_true(claim(r, "signer_info", "mask_chip_key")) !=
	    (json_integer_value(json_object_get(si, "mask_chip_key")) != 0))
		FAIL("signer_info");
	sk = str(si, "signing_key");
	if (sk == NULL || strcasecmp(json_string_value(claim(r, "signer_info",
	    "signing_key")), sk) != 0 ||
	    strcasecmp(json_string_value(claim(r, "signer", NULL)), sk) != 0)
		FAIL("signing_key");
	for (size_t i = 0; hexes[i] != NULL; i++)
		if (!hex_eq(claim(r, hexes[i], NULL), json_object_get(x,
		    hexes[i])))
			FAIL("%s", hexes[i]);
	if (check_tcb(r, "current_tcb", json_object_get(x, "current_tcb")) ||
	    check_tcb(r, "reported_tcb", json_object_get(x, "reported_tcb")) ||
	    check_tcb(r, "committed_tcb", json_object_get(x,
	    "committed_tcb")) ||
	    check_tcb(r, "launch_tcb", json_object_get(x, "launch_tcb")))
		return -1;
	if (str(x, "firmware_current") != NULL &&
	    strcmp(json_string_value(claim(r, "current_version", NULL)),
	    str(x, "firmware_current")) != 0)
		FAIL("firmware_current");
	if (cpuid != NULL) {
		if (json_integer_value(claim(r, "cpuid", "family")) !=
		    strtol(str(cpuid, "family"), NULL, 16) ||
		    json_integer_value(claim(r, "cpuid", "model")) !=
		    strtol(str(cpuid, "model"), NULL, 16) ||
		    json_integer_value(claim(r, "cpuid", "stepping")) !=
		    strtol(str(cpuid, "stepping"), NULL, 16))
			FAIL("cpuid");
	} else if (claim(r, "cpuid", NULL) != NULL)
		FAIL("cpuid on a v2 report");
	if (strcmp(json_string_value(claim(r, "product", NULL)),
	    str(v, "product")) != 0)
		FAIL("product %s", json_string_value(claim(r, "product", NULL)));
	/* the VCEK/VLEK and its chain */
	if (!hex_eq(json_object_get(cert, "sha256"), json_object_get(leaf,
	    "sha256_der")))
		FAIL("leaf sha256");
	if (!hex_eq(json_object_get(cert, "product_name"),
	    json_object_get(leaf, "product_name")) ||
	    !hex_eq(json_object_get(cert, "hwid"), json_object_get(leaf,
	    "hwid")) ||
	    !hex_eq(json_object_get(cert, "csp_id"), json_object_get(leaf,
	    "csp_id")) ||
	    !hex_eq(json_object_get(cert, "not_before"),
	    json_object_get(leaf, "not_before")) ||
	    !hex_eq(json_object_get(cert, "not_after"),
	    json_object_get(leaf, "not_after")) ||
	    json_integer_value(json_object_get(cert, "struct_version")) !=
	    json_integer_value(json_object_get(leaf, "struct_version")))
		FAIL("leaf facts");
	if (!hex_eq(json_object_get(cert, "ark"), json_object_get(ch, "ark")) ||
	    !hex_eq(json_object_get(cert, "ask"), json_object_get(ch, "ask")))
		FAIL("chain names");
	return 0;
 out:
	return -1;
}

/* A policy with the report's own measurement. */
static struct av_policy *
own_policy(const struct av_result *r)
{
	struct av_policy	*pol = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;

	doc = json_pack("{s:s s:i s:{s:{s:O s:s}}}", "id", "vector",
	    "version", 1, "evidence", "sev-snp", "measurement",
	    claim(r, "measurement", NULL), "crl", "optional");
	if (av_policy_compile(doc, &pol, &perr) != 0)
		fprintf(stderr, "policy: %s: %s\n", perr.path, perr.reason);
	json_decref(doc);
	return pol;
}

/* Verified, and only the expected warnings. */
static int
check_pass(const struct av_result *r, bool with_policy)
{
	char	 c[256];
	size_t	 i;
	json_t	*x;

	codes(r, c, sizeof(c));
	if (r->submods[0].status == AV_STATUS_CONTRAINDICATED)
		FAIL("contraindicated: %s", c);
	json_array_foreach(r->submods[0].reasons, i, x) {
		const char *k = str(x, "code");

		if (strcmp(k, "collateral_missing") == 0 &&
		    strcmp(str(x, "claim"), "crl") == 0)
			continue;
		if (!with_policy && strcmp(k, "no_reference_values") == 0)
			continue;
		FAIL("unexpected reason %s", k);
	}
	return 0;
 out:
	return -1;
}

static const char *const stage_codes[][3] = {
	{ "parse", "evidence_malformed", NULL },
	{ "cert_chain", "chain_invalid", "untrusted_root" },
	{ "cert_validity", "cert_time_invalid", NULL },
	{ "report_signature", "signature_invalid", NULL },
	{ "tcb_binding", "binding_mismatch", NULL },
	{ "chip_binding", "binding_mismatch", NULL },
	{ "runtime_data_binding", "binding_mismatch", NULL },
};

static bool
stage_ok(const char *stage, const char *code)
{
	for (size_t i = 0; i < sizeof(stage_codes) / sizeof(stage_codes[0]);
	    i++)
		if (strcmp(stage_codes[i][0], stage) == 0)
			return (stage_codes[i][1] != NULL &&
			    strcmp(stage_codes[i][1], code) == 0) ||
			    (stage_codes[i][2] != NULL &&
			    strcmp(stage_codes[i][2], code) == 0);
	return false;
}

static int
check_fail(const struct av_result *r, const json_t *v)
{
	const json_t	*x = json_object_get(v, "expected");
	const json_t	*alt = json_object_get(x, "acceptable_failure_stages");
	const char	*code = first_contra(r);
	char		 c[256];
	bool		 ok;
	size_t		 i;
	json_t		*s;

	codes(r, c, sizeof(c));
	if (r->submods[0].status != AV_STATUS_CONTRAINDICATED || code == NULL)
		FAIL("not contraindicated: %s", c);
	ok = stage_ok(str(x, "failure_stage"), code);
	json_array_foreach(alt, i, s)
		ok |= stage_ok(json_string_value(s), code);
	if (!ok)
		FAIL("stage %s, got %s", str(x, "failure_stage"), c);
	return 0;
 out:
	return -1;
}

static int
chain_only(const struct av_trust *trust, const json_t *v, int64_t now)
{
	const json_t		*c = json_object_get(v, "companions");
	const json_t		*leaf = json_object_get(json_object_get(v,
				    "expected"), "leaf");
	const json_t		*tcb = json_object_get(leaf, "tcb");
	struct av_chain_opts	 o = { .platform = "sev-snp" };
	struct av_err		 e = { 0 };
	struct snp_leaf_ext	 ext;
	STACK_OF(X509)		*un = sk_X509_new_null(), *alt = NULL;
	X509			*l = load_cert(str(c, "leaf_vcek"));
	char			*hw = NULL;
	uint8_t			*p;
	size_t			 n;
	int			 rc = -1;

	sk_X509_push(un, load_cert(str(c, "ask")));
	sk_X509_push(un, load_cert(str(c, "ark")));
	if (l == NULL || av_chain_verify(trust, l, un, now, &o, NULL, &e) != 0)
		FAIL("chain: %s", e.reason);
	/* the PEM alternative (ASK + ARK) */
	if ((p = load(str(c, "ask_ark_pem_alt"), &n)) != NULL) {
		alt = av_x509_parse_any(p, n);
		free(p);
		if (alt == NULL || av_chain_verify(trust, l, alt, now, &o, NULL,
		    &e) != 0)
			FAIL("alternative chain: %s", e.reason);
	}
	if (snp_leaf_ext_parse(l, &ext, &e) != 0)
		FAIL("extensions: %s", e.reason);
	hw = av_hex_encode(ext.hwid, ext.hwid_len);
	if (strcmp(ext.product_name, str(leaf, "product_name")) != 0 ||
	    ext.struct_version != json_integer_value(json_object_get(leaf,
	    "struct_version")) ||
	    (int64_t)ext.hwid_len != json_integer_value(json_object_get(leaf,
	    "hwid_len")) || strcasecmp(hw, str(leaf, "hwid")) != 0)
		FAIL("leaf facts");
	if (!ext.has_fmc ||
	    ext.tcb.fmc != json_integer_value(json_object_get(tcb, "fmc")) ||
	    ext.tcb.bootloader != json_integer_value(json_object_get(tcb,
	    "bl")) ||
	    ext.tcb.tee != json_integer_value(json_object_get(tcb, "tee")) ||
	    ext.tcb.snp != json_integer_value(json_object_get(tcb, "snp")) ||
	    ext.tcb.microcode != json_integer_value(json_object_get(tcb,
	    "ucode")))
		FAIL("leaf TCB");
	rc = 0;
 out:
	free(hw);
	X509_free(l);
	sk_X509_pop_free(un, X509_free);
	sk_X509_pop_free(alt, X509_free);
	return rc;
}

/* One real or negative entry in one form; 0 when as expected. */
static int
one_form(const struct av_trust *trust, const json_t *v, const uint8_t *p,
    size_t n, enum form form, int64_t now, bool pass)
{
	struct av_collateral	*coll = NULL;
	struct av_result	*r = NULL;
	struct av_policy	*pol = NULL;
	json_t			*it = item_for(v, p, n, form, &coll);
	int			 rc = -1;

	if ((r = verify(trust, it, now, NULL, coll)) == NULL)
		FAIL("pipeline failed");
	if (!pass) {
		rc = check_fail(r, v);
		goto out;
	}
	if (check_pass(r, false) != 0 || check_facts(r, v) != 0)
		goto out;
	if (form == F_STORE && strcmp(json_string_value(claim(r,
	    "certificate", "source")), "collateral") != 0)
		FAIL("VCEK not taken from the store");
	/* against its own measurement */
	if ((pol = own_policy(r)) == NULL)
		FAIL("policy");
	av_result_free(r);
	av_collateral_free(coll);
	coll = NULL;
	it = item_for(v, p, n, form, &coll);
	if ((r = verify(trust, it, now, pol, coll)) == NULL)
		FAIL("pipeline failed");
	if (json_is_true(json_object_get(json_object_get(v, "expected"),
	    "debug"))) {
		const char *c = first_contra(r);

		if (c == NULL || strcmp(c, "debug_enabled") != 0)
			FAIL("debug guest not rejected by the policy");
	} else if (check_pass(r, true) != 0)
		goto out;
	rc = 0;
 out:
	av_result_free(r);
	av_policy_free(pol);
	av_collateral_free(coll);
	return rc;
}

int
main(void)
{
	static const char *const fnames[] = { "certs", "cert table",
	    "PEM chain", "collateral store", "vcek_alt" };
	struct av_trust	*trust = NULL;
	json_t		*man, *vecs, *v;
	size_t		 i;
	int		 nfail = 0, nrun = 0;

	man = avt_manifest_load("sev-snp", &dir);
	trust = av_trust_new();
	vecs = json_object_get(man, "vectors");
	json_array_foreach(vecs, i, v) {
		const char	*id = str(v, "id"), *kind = str(v, "kind");
		const json_t	*x = json_object_get(v, "expected");
		const json_t	*evd = json_object_get(v, "evidence");
		const json_t	*c = json_object_get(v, "companions");
		int64_t		 now = json_integer_value(json_object_get(
				    json_object_get(v, "verification_time"),
				    "unix"));
		bool		 pass = strcmp(str(x, "verdict"), "pass") == 0;
		const char	*fmt = str(evd, "format");
		uint8_t		*p = NULL;
		size_t		 n = 0;
		int		 bad = 0;

		failmsg[0] = '\0';
		nrun++;
		if (strcmp(kind, "chain-only") == 0) {
			bad = chain_only(trust, v, now) != 0;
			goto report;
		}
		/* the SNP report itself: raw, or inside the HCL wrapper */
		if (strcmp(fmt, "trustee-az-snp-vtpm-evidence-json") == 0)
			p = load(str(evd, "report_file"), &n);
		else
			p = load(str(evd, "file"), &n);
		if (p == NULL) {
			snprintf(failmsg, sizeof(failmsg), "cannot read");
			bad = 1;
			goto report;
		}
		if (one_form(trust, v, p, n, F_CERTS, now, pass) != 0) {
			bad = 1;
			goto report;
		}
		if (pass || strcmp(str(x, "failure_stage"), "parse") != 0) {
			enum form more[] = { F_TABLE, F_STORE, F_CHAIN_ALT,
			    F_VCEK_ALT };

			for (size_t k = 0; k < 4 && !bad; k++) {
				if (more[k] == F_CHAIN_ALT &&
				    str(c, "ask_ark_pem_alt") == NULL)
					continue;
				if (more[k] == F_VCEK_ALT &&
				    str(c, "vcek_alt") == NULL)
					continue;
				/* a store cannot tell a swapped VCEK */
				if (more[k] == F_STORE && !pass)
					continue;
				if (one_form(trust, v, p, n, more[k], now,
				    pass) != 0) {
					fprintf(stderr, "  (%s form)\n",
					    fnames[more[k]]);
					bad = 1;
				}
			}
		}
		/* the Azure HCL report that wraps it */
		if (!bad && str(c, "hcl_report") != NULL) {
			free(p);
			if ((p = load(str(c, "hcl_report"), &n)) == NULL ||
			    one_form(trust, v, p, n, F_CERTS, now, pass) != 0) {
				fprintf(stderr, "  (HCL form)\n");
				bad = 1;
			}
		}
 report:
		free(p);
		printf("%s %s%s%s\n", bad ? "FAIL" : "ok  ", id,
		    bad ? ": " : "", bad ? failmsg : "");
		nfail += bad;
	}
	printf("%d vectors, %d failed\n", nrun, nfail);
	json_decref(man);
	av_trust_free(trust);
	free(dir);
	return nfail == 0 ? 0 : 1;
}
