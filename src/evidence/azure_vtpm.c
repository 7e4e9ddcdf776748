/*
 * attestd - Azure confidential-VM vTPM evidence, types "azure-snp-vtpm"
 * and "azure-tdx-vtpm" (docs/platforms/tpm.md), in the JSON forms that
 * confidential-containers/trustee's az-snp-vtpm and az-tdx-vtpm
 * verifiers take:
 *
 *   SNP v0     {"quote": {"signature": [u8], "message": [u8],
 *               "pcrs": [[u8; 32] x 24]}, "report": [u8] (HCL report),
 *               "vcek": "<PEM>"}
 *   SNP v1/v2  {"version": 1|2, "tpm_quote": {"signature": hex,
 *               "message": hex, "pcrs": [hex x 24]},
 *               "hcl_report": base64url, "vcek": base64url DER | PEM}
 *   TDX v0     {"tpm_quote": {byte arrays}, "hcl_report": [u8],
 *               "td_quote": [u8]}
 *   TDX v1     {"version": 1, "tpm_quote": {hex}, "hcl_report":
 *               base64url, "td_quote": base64url}
 *
 * The AK is not certified: it is bound to the hardware.  The HCL report
 * (Azure's "HCLA" wrapper) holds the SNP report or the TDREPORT, and the
 * runtime data JSON whose "HCLAkPub" JWK is the AK; the hardware report's
 * REPORT_DATA[0:32] (SNP) or the TD quote's report_data[0:32] (TDX) must
 * equal SHA-256 (the IGVM hash type) of the runtime data bytes.  The TPM
 * part is verified by tpm.c, the hardware report by the "sev-snp" or
 * "tdx" backend itself (av_backend_find), whose policy section nests in
 * ours.  Freshness comes from the TPM quote's extraData.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/result.h"
#include "evidence/tdx.h"
#include "evidence/tpm.h"

/* HCL report layout (IGVM attestation report, Azure CVM). */
#define HCL_MAGIC		"HCLA"
#define HCL_HDR_LEN		0x20
#define HCL_HW_LEN		1184	/* SNP report, or TDREPORT + padding */
#define HCL_TYPE_SNP		2
#define HCL_TYPE_TDX		4
#define HCL_MAX			(64u * 1024)
#define AZ_MAX_DOC		(4u << 20)
#define AZ_MAX_QUOTE		(16u * 1024)	/* TD quote with certs */
/* TDREPORT (TDX module spec, TDREPORT_STRUCT): REPORTMACSTRUCT first. */
#define TDREPORT_RD_OFF		128		/* REPORTMACSTRUCT.reportdata */
/* SNP ATTESTATION_REPORT: REPORT_DATA at 0x50 (SEV-SNP ABI s.7.3). */
#define SNP_RD_OFF		0x50

struct az_ev {
	struct tpm_ev		*t;		/* owned: quote, AK, PCRs */
	bool			 tdx;
	uint8_t			*hcl;		/* owned HCL report bytes */
	size_t			 hcl_len;
	const uint8_t		*hw;		/* in hcl: hardware report */
	uint32_t		 hash_type;	/* 1 SHA-256, 2 -384, 3 -512 */
	const uint8_t		*var;		/* in hcl: runtime data */
	size_t			 var_len;
	json_t			*runtime;	/* owned: runtime data JSON */
	void			*hwp;		/* hardware backend's parse */
	const struct av_backend	*hwb;		/* borrowed */
	int			 version;	/* evidence JSON version */
};

static void
az_free(void *v)
{
	struct az_ev *a = v;

	if (a == NULL)
		return;
	tpm_ev_free(a->t);
	free(a->hcl);
	json_decref(a->runtime);
	if (a->hwp != NULL && a->hwb != NULL)
		a->hwb->free(a->hwp);
	free(a);
}

/*
 * The HCL report: "HCLA" header (32 bytes), the hardware report (1184
 * bytes), then u32 data_size, version, report_type, hash_type,
 * variable_data_size and the variable (runtime) data; zero padding
 * after it.  Little-endian.
 */
static int
hcl_parse(struct az_ev *a, struct av_err *e)
{
	struct av_reader	 r;
	const uint8_t		*magic;
	uint32_t		 size, version, type, vsize;

	av_reader_init(&r, a->hcl, a->hcl_len);
	if (!av_read_bytes(&r, 4, &magic) || memcmp(magic, HCL_MAGIC, 4) != 0)
		return AV_FAIL(e, AV_E_MALFORMED, "azure: not an HCL report");
	if (!av_read_skip(&r, HCL_HDR_LEN - 4) ||
	    !av_read_bytes(&r, HCL_HW_LEN, &a->hw) ||
	    !av_read_u32le(&r, &size) || !av_read_u32le(&r, &version) ||
	    !av_read_u32le(&r, &type) || !av_read_u32le(&r, &a->hash_type) ||
	    !av_read_u32le(&r, &vsize))
		return AV_FAIL(e, AV_E_MALFORMED, "azure: HCL report truncated");
	if (type != (a->tdx ? HCL_TYPE_TDX : HCL_TYPE_SNP))
		return AV_FAIL(e, AV_E_MALFORMED, "azure: HCL report holds "
		    "another kind of hardware report");
	if (a->hash_type < 1 || a->hash_type > 3)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: unknown HCL runtime data hash type");
	if (vsize > r.left || size < 20 || (size_t)size - 20 != vsize)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: HCL runtime data length out of bounds");
	a->var = r.p;
	a->var_len = vsize;
	for (size_t i = vsize; i < r.left; i++)
		if (r.p[i] != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "azure: trailing bytes after the HCL report");
	(void)version;
	return 0;
}

/* The AK: the "HCLAkPub" RSA JWK of the runtime data. */
static int
runtime_ak(struct az_ev *a, struct av_err *e)
{
	json_error_t	 jerr;
	const json_t	*keys, *k;
	uint8_t		*n = NULL, *x = NULL;
	size_t		 nl, xl, i;
	EVP_PKEY	*pk;
	int		 rc;

	a->runtime = json_loadb((const char *)a->var, a->var_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(a->runtime))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: HCL runtime data is not a JSON object");
	keys = json_object_get(a->runtime, "keys");
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const char *kty = json_string_value(json_object_get(k, "kty"));

		if (kid == NULL || strcmp(kid, "HCLAkPub") != 0)
			continue;
		if (kty == NULL || strcmp(kty, "RSA") != 0)
			return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
			    "azure: HCLAkPub is not an RSA key");
		if (tpm_json_bytes(json_object_get(k, "n"), false, 1024, &n,
		    &nl) != 0 || tpm_json_bytes(json_object_get(k, "e"),
		    false, 8, &x, &xl) != 0) {
			free(n);
			return AV_FAIL(e, AV_E_MALFORMED,
			    "azure: HCLAkPub n or e is not base64url");
		}
		pk = tpm_rsa_pkey(n, nl, x, xl);
		free(n);
		free(x);
		if (pk == NULL)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "azure: HCLAkPub is not a valid RSA key");
		rc = tpm_ak_set_pkey(a->t, pk, e);
		EVP_PKEY_free(pk);
		return rc;
	}
	return AV_FAIL(e, AV_E_MALFORMED,
	    "azure: HCL runtime data has no HCLAkPub key");
}

/* TPM quote: message (TPMS_ATTEST), bare RSA signature, 24 SHA-256 PCRs. */
static int
parse_quote(struct az_ev *a, const json_t *q, struct av_err *e)
{
	uint8_t	*d;
	size_t	 dl;
	int	 rc;

	if (!json_is_object(q))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: no TPM quote in the evidence");
	if (tpm_json_bytes(json_object_get(q, "message"), true,
	    TPM_MAX_ATTEST, &d, &dl) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: TPM quote message is not bytes");
	rc = tpm_attest_parse(d, dl, &a->t->q[0], e);
	a->t->nquotes = 1;
	free(d);
	if (rc != 0)
		return -1;
	if (tpm_json_bytes(json_object_get(q, "signature"), true, 1024, &d,
	    &dl) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: TPM quote signature is not bytes");
	rc = tpm_sig_set_raw(d, dl, &a->t->q[0], e);
	free(d);
	if (rc != 0)
		return -1;
	if (!json_is_array(json_object_get(q, "pcrs")))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: TPM quote PCRs must be an array");
	return tpm_pcrs_from_json(&a->t->pcrs, json_object_get(q, "pcrs"), e);
}

/* The hardware backend's parse of the SNP report (with the VCEK). */
static int
parse_snp(struct az_ev *a, const json_t *doc, const struct av_evidence *in,
    struct av_err *e)
{
	struct av_evidence	 ev = { .type = "sev-snp", .name = in->name };
	const json_t		*vcek = json_object_get(doc, "vcek");
	json_t			*item = NULL;
	int			 rc;

	if ((a->hwb = av_backend_find("sev-snp")) == NULL)
		return AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "azure: the sev-snp backend is not available");
	/* companions on the request item win; else the evidence's VCEK */
	if (in->item != NULL && json_object_get(in->item, "certs") != NULL)
		item = json_incref((json_t *)in->item);
	else if (json_is_string(vcek))
		item = json_pack("{s:{s:O}}", "certs", "vcek", vcek);
	ev.data = a->hcl;
	ev.len = a->hcl_len;
	ev.item = item;
	rc = a->hwb->parse(&ev, &a->hwp, e);
	json_decref(item);
	return rc;
}

/* The hardware backend's parse of the TD quote. */
static int
parse_tdx(struct az_ev *a, const json_t *doc, const struct av_evidence *in,
    struct av_err *e)
{
	struct av_evidence	 ev = { .type = "tdx", .name = in->name };
	uint8_t			*q;
	size_t			 ql;
	int			 rc;

	if ((a->hwb = av_backend_find("tdx")) == NULL)
		return AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "azure: the tdx backend is not available");
	if (tpm_json_bytes(json_object_get(doc, "td_quote"), false,
	    AZ_MAX_QUOTE, &q, &ql) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: \"td_quote\" missing or not bytes");
	ev.data = q;
	ev.len = ql;
	ev.item = in->item;	/* collateral companions, if any */
	rc = a->hwb->parse(&ev, &a->hwp, e);
	free(q);
	return rc;
}

static int
az_parse(const struct av_evidence *in, void **out, struct av_err *e,
    bool tdx)
{
	struct az_ev	*a;
	json_t		*doc;
	json_error_t	 jerr;
	const json_t	*q, *h, *v;
	int		 rc = -1;

	if (in->len > AZ_MAX_DOC)
		return AV_FAIL(e, AV_E_MALFORMED, "azure: evidence too large");
	doc = json_loadb((const char *)in->data, in->len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return AV_FAIL(e, AV_E_MALFORMED,
		    "azure: evidence is not a JSON object");
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->t = tpm_ev_new(tdx ? "azure-tdx-vtpm" : "azure-snp-vtpm")) ==
	    NULL) {
		free(a);
		json_decref(doc);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	a->tdx = tdx;
	if ((v = json_object_get(doc, "version")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 2) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "azure: unsupported evidence version");
			goto out;
		}
		a->version = (int)json_integer_value(v);
	}
	/* v0 SNP: "quote" + "report"; otherwise "tpm_quote" + "hcl_report" */
	if ((q = json_object_get(doc, "tpm_quote")) == NULL)
		q = json_object_get(doc, "quote");
	if ((h = json_object_get(doc, "hcl_report")) == NULL)
		h = json_object_get(doc, "report");
	if (parse_quote(a, q, e) != 0)
		goto out;
	if (tpm_json_bytes(h, false, HCL_MAX, &a->hcl, &a->hcl_len) != 0) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "azure: HCL report missing or not bytes");
		goto out;
	}
	if (hcl_parse(a, e) != 0 || runtime_ak(a, e) != 0)
		goto out;
	if ((tdx ? parse_tdx(a, doc, in, e) : parse_snp(a, doc, in, e)) != 0)
		goto out;
	*out = a;
	a = NULL;
	rc = 0;
 out:
	az_free(a);
	json_decref(doc);
	return rc;
}

static int
az_snp_parse(const struct av_evidence *in, void **out, struct av_err *e)
{
	return az_parse(in, out, e, false);
}

static int
az_tdx_parse(const struct av_evidence *in, void **out, struct av_err *e)
{
	return az_parse(in, out, e, true);
}

/* The REPORT_DATA the hardware signed: SNP report, or the TD quote's. */
static const uint8_t *
hw_report_data(const struct az_ev *a)
{
	const struct tdx_quote *q = a->hwp;

	return a->tdx ? q->td.report_data : a->hw + SNP_RD_OFF;
}

/*
 * Trustee az-*-vtpm: REPORT_DATA[0:hl] = H(runtime data), hl by the HCL
 * hash type; for TDX the TDREPORT in the HCL report must carry the same
 * report_data as the TD quote.
 */
static int
check_hcl_binding(struct az_ev *a, struct av_err *e)
{
	static const EVP_MD	*(*const mds[])(void) = { EVP_sha256,
				    EVP_sha384, EVP_sha512 };
	const EVP_MD		*md = mds[a->hash_type - 1]();
	const uint8_t		*rd;
	uint8_t			 h[64];
	size_t			 hl = (size_t)EVP_MD_get_size(md);

	rd = hw_report_data(a);
	if (av_digest(md, a->var, a->var_len, h) != 0)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if (!av_memeq_ct(h, rd, hl))
		return AV_FAIL(e, AV_E_BINDING, "azure: the hardware report "
		    "does not bind the HCL runtime data (AK)");
	if (a->tdx && !av_memeq_ct(a->hw + TDREPORT_RD_OFF, rd, 64))
		return AV_FAIL(e, AV_E_BINDING, "azure: the TDREPORT in the "
		    "HCL report differs from the TD quote's report_data");
	return 0;
}

/*
 * Order (the manifest's check order): TPM quote signature and PCR
 * digest, nonce in extraData (reason), AK bound by the hardware report,
 * then the hardware report itself by its own backend (with no nonce: the
 * nonce lives in the TPM quote).
 */
static int
az_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	struct az_ev		*a = parsed;
	const struct tpm_pol	*pol = policy;
	struct av_ctx		 hctx = *ctx;
	json_t			*hc = NULL;

	if (tpm_quotes_verify(a->t, e) != 0)
		return -1;
	tpm_check_nonce(a->t, ctx, sm);
	if (check_hcl_binding(a, e) != 0)
		return -1;
	hctx.nonce = NULL;
	hctx.nonce_len = 0;
	hctx.runtime_data = NULL;
	hctx.runtime_data_len = 0;
	hctx.nonce_required = false;
	if (a->hwb->verify(a->hwp, &hctx, pol != NULL ? pol->hw_pol : NULL,
	    sm, e) != 0)
		return -1;
	a->t->trust |= TPM_TRUST_HCL;
	if (tpm_ak_trust(a->t, ctx, pol, e) != 0)
		return -1;
	av_submod_tv(sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	if (a->hwb->claims != NULL && a->hwb->claims(a->hwp, &hc, e) != 0)
		return -1;
	a->t->hw_claims = hc;
	a->t->hw_platform = a->hwb->name;
	return 0;
}

static int
az_claims(const void *parsed, json_t **out, struct av_err *e)
{
	const struct az_ev	*a = parsed;
	json_t			*o, *hcl;
	const json_t		*ud;
	uint8_t			 h[32];

	if ((o = tpm_claims_json(a->t)) == NULL ||
	    (hcl = json_object()) == NULL) {
		json_decref(o);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	av_sha256(a->var, a->var_len, h);
	json_object_set_new(hcl, "runtime_data_sha256", av_json_hex(h, 32));
	json_object_set_new(hcl, "report_type", json_string(a->tdx ? "TDX" :
	    "SNP"));
	json_object_set_new(hcl, "evidence_version", json_integer(a->version));
	if (json_is_object(json_object_get(a->runtime, "vm-configuration")))
		json_object_set(hcl, "vm_configuration",
		    json_object_get(a->runtime, "vm-configuration"));
	if (json_is_string(ud = json_object_get(a->runtime, "user-data")))
		json_object_set(hcl, "user_data", (json_t *)ud);
	json_object_set_new(o, "hcl", hcl);
	*out = o;
	return 0;
}

static int
az_snp_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	return tpm_pol_compile(sec, path, "sev-snp", (struct tpm_pol **)out,
	    perr);
}

static int
az_tdx_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	return tpm_pol_compile(sec, path, "tdx", (struct tpm_pol **)out, perr);
}

static void
az_policy_free(void *p)
{
	tpm_pol_free(p);
}

/* The TPM rules, then the nested hardware section with its backend. */
static void
az_appraise(const void *parsed, const void *policy, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	const struct az_ev	*a = parsed;
	const struct tpm_pol	*pol = policy;

	tpm_appraise_ev(a->t, pol, ctx, sm);
	if (pol->hw_pol != NULL && a->hwb->appraise != NULL)
		a->hwb->appraise(a->hwp, pol->hw_pol, ctx, sm);
}

/* Trustee's az-*-vtpm JSON: a TPM quote and an HCL report. */
static bool
az_json(const uint8_t *p, size_t n)
{
	return tpm_looks_json(p, n) &&
	    (tpm_has_key(p, n, "\"tpm_quote\"") ||
	    tpm_has_key(p, n, "\"quote\"")) &&
	    (tpm_has_key(p, n, "\"hcl_report\"") ||
	    tpm_has_key(p, n, "\"report\""));
}

static bool
az_snp_detect(const uint8_t *p, size_t n)
{
	return az_json(p, n) && !tpm_has_key(p, n, "\"td_quote\"");
}

static bool
az_tdx_detect(const uint8_t *p, size_t n)
{
	return az_json(p, n) && tpm_has_key(p, n, "\"td_quote\"");
}

/*
 * Azure SEV-SNP confidential VMs: vTPM quote + HCL report (SNP) + VCEK.
 */
const struct av_backend av_backend_azure_snp_vtpm = {
	.name = "azure-snp-vtpm",
	.media_type = "application/vnd.attestd.azure-snp-vtpm",
	.detect = az_snp_detect,
	.parse = az_snp_parse,
	.verify = az_verify,
	.claims = az_claims,
	.policy_compile = az_snp_policy_compile,
	.policy_free = az_policy_free,
	.appraise = az_appraise,
	.free = az_free,
};

/*
 * Azure TDX confidential VMs: vTPM quote + HCL report (TDREPORT) + TD
 * quote.
 */
const struct av_backend av_backend_azure_tdx_vtpm = {
	.name = "azure-tdx-vtpm",
	.media_type = "application/vnd.attestd.azure-tdx-vtpm",
	.detect = az_tdx_detect,
	.parse = az_tdx_parse,
	.verify = az_verify,
	.claims = az_claims,
	.policy_compile = az_tdx_policy_compile,
	.policy_free = az_policy_free,
	.appraise = az_appraise,
	.free = az_free,
};
