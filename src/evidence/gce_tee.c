/*
 * attestd - the hardware attestation of a Google Compute Engine
 * confidential VM inside a go-tpm-tools Attestation (type "gce-tpm";
 * docs/platforms/tpm.md "gce-tpm: the hardware attestation").
 *
 * `gotpm attest` on an SEV-SNP confidential VM adds field 8
 * sev_snp_attestation: go-sev-guest's sevsnp.Attestation, the
 * ATTESTATION_REPORT as protobuf fields (sevsnp.Report) and its
 * certificates (sevsnp.CertificateChain).  The signature covers the ABI
 * bytes, so the report is written back to them exactly as go-sev-guest's
 * abi.ReportToAbiBytes does (SEV-SNP ABI s.7.3 offsets, reserved bytes
 * zero) and handed to the "sev-snp" backend, which verifies it as any
 * other report (VCEK/VLEK from the chain given, the collateral store or
 * AMD KDS; pinned ARKs).  REPORT_DATA carries the attestation's nonce:
 * go-tpm-tools copies AttestOpts.Nonce (the TPM quote's nonce) into the
 * 64 bytes, zero-filled or truncated, unless the caller gives its own
 * 64-byte TEENonce.
 *
 * On a TDX confidential VM it adds field 9 tdx_attestation (go-tdx-guest's
 * tdx.QuoteV4); that is recognised and reported as not verified.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "av/binding.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/reader.h"
#include "evidence/gce_tee.h"

#define FMS_MASK	0x0fff0fffu	/* CPUID(1).EAX bits FmsToCpuid1Eax sets */

/* The bytes fields of sevsnp.Report and where they go (ABI s.7.3). */
static const struct {
	size_t	field;		/* offsetof in AttestdGce__SevSnpReport */
	size_t	off;		/* offset in the report */
	size_t	len;		/* exact length */
} snp_bytes[] = {
	{ offsetof(AttestdGce__SevSnpReport, family_id),	0x010, 16 },
	{ offsetof(AttestdGce__SevSnpReport, image_id),		0x020, 16 },
	{ offsetof(AttestdGce__SevSnpReport, report_data),	0x050, 64 },
	{ offsetof(AttestdGce__SevSnpReport, measurement),	0x090, 48 },
	{ offsetof(AttestdGce__SevSnpReport, host_data),	0x0c0, 32 },
	{ offsetof(AttestdGce__SevSnpReport, id_key_digest),	0x0e0, 48 },
	{ offsetof(AttestdGce__SevSnpReport, author_key_digest), 0x110, 48 },
	{ offsetof(AttestdGce__SevSnpReport, report_id),	0x140, 32 },
	{ offsetof(AttestdGce__SevSnpReport, report_id_ma),	0x160, 32 },
	{ offsetof(AttestdGce__SevSnpReport, chip_id),		0x1a0, 64 },
	{ offsetof(AttestdGce__SevSnpReport, signature),	0x2a0, 512 },
};

/* Little-endian n-byte value at p. */
static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The whole of d (untrusted) into dst: exactly n bytes. */
static bool
copy_exact(const ProtobufCBinaryData *d, uint8_t *dst, size_t n)
{
	struct av_reader r;

	av_reader_init(&r, d->data, d->len);
	return av_read_copy(&r, dst, n) && r.left == 0;
}

int
gce_snp_report_bytes(const AttestdGce__SevSnpReport *r,
    uint8_t out[SNP_REPORT_LEN], struct av_err *e)
{
	const uint32_t	 b[6] = { r->current_build, r->current_minor,
			    r->current_major, r->committed_build,
			    r->committed_minor, r->committed_major };
	static const size_t boff[6] = { 0x1e8, 0x1e9, 0x1ea, 0x1ec, 0x1ed,
			    0x1ee };
	unsigned	 key = SNP_SI_SIGNING_KEY(r->signer_info);
	uint32_t	 fam, mod;

	memset(out, 0, SNP_REPORT_LEN);
	for (size_t i = 0; i < sizeof(snp_bytes) / sizeof(snp_bytes[0]); i++)
		if (!copy_exact((const ProtobufCBinaryData *)(const void *)
		    ((const uint8_t *)r + snp_bytes[i].field),
		    out + snp_bytes[i].off, snp_bytes[i].len))
			return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: an SEV-SNP "
			    "report bytes field does not have its ABI size");
	for (size_t i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: SEV-SNP "
			    "firmware build/minor/major does not fit a byte");
		out[boff[i]] = (uint8_t)b[i];
	}
	/* abi.ParseSignerInfo: bits 31:5 reserved, keys 2..6 reserved */
	if ((r->signer_info >> 5) != 0 || (key > SNP_SIGNING_KEY_VLEK &&
	    key < SNP_SIGNING_KEY_NONE))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: SEV-SNP SIGNER_INFO has reserved bits set");
	/* CPUID_FAM_ID/MOD_ID/STEP (v3+) as abi.FmsFromCpuid1Eax reads them */
	if (r->version < 3 && r->cpuid1eax_fms != 0)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: SEV-SNP CPUID "
		    "given for a report version without it");
	if ((r->cpuid1eax_fms & ~FMS_MASK) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: SEV-SNP cpuid1eax_fms has reserved bits set");
	fam = ((r->cpuid1eax_fms >> 20) & 0xff) + ((r->cpuid1eax_fms >> 8) & 0xf);
	mod = (((r->cpuid1eax_fms >> 16) & 0xf) << 4) |
	    ((r->cpuid1eax_fms >> 4) & 0xf);
	if (fam > 0xff)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: SEV-SNP CPUID family does not fit a byte");
	if (r->version < 5 && (r->launch_mit_vector != 0 ||
	    r->current_mit_vector != 0))
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: SEV-SNP "
		    "mitigation vectors given for a report version before 5");
	put_le(out + 0x000, r->version, 4);
	put_le(out + 0x004, r->guest_svn, 4);
	put_le(out + 0x008, r->policy, 8);
	put_le(out + 0x030, r->vmpl, 4);
	put_le(out + 0x034, r->signature_algo, 4);
	put_le(out + 0x038, r->current_tcb, 8);
	put_le(out + 0x040, r->platform_info, 8);
	put_le(out + 0x048, r->signer_info, 4);
	put_le(out + 0x180, r->reported_tcb, 8);
	if (r->version >= 3) {
		out[0x188] = (uint8_t)fam;
		out[0x189] = (uint8_t)mod;
		out[0x18a] = (uint8_t)(r->cpuid1eax_fms & 0xf);
	}
	put_le(out + 0x1e0, r->committed_tcb, 8);
	put_le(out + 0x1f0, r->launch_tcb, 8);
	put_le(out + 0x1f8, r->launch_mit_vector, 8);
	put_le(out + 0x200, r->current_mit_vector, 8);
	return 0;
}

/* Add the DER certificate d (if any) as certs[key], base64. */
static int
add_cert(json_t *certs, const char *key, const ProtobufCBinaryData *d,
    struct av_err *e)
{
	char *s;

	if (d->len == 0)
		return 0;
	if (d->len > GCE_MAX_TEE_CERT)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: SEV-SNP certificate too large");
	if ((s = av_b64_encode(d->data, d->len)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (json_object_set_new(certs, key, json_string(s)) != 0) {
		free(s);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	free(s);
	return 0;
}

/*
 * The companions for the sev-snp backend: the request item's "certs"
 * when it has them (the operator's choice wins, as for azure-snp-vtpm),
 * else the attestation's CertificateChain.  New reference or NULL.
 */
static int
snp_item(const AttestdGce__SevSnpAttestation *a, const struct av_evidence *in,
    json_t **out, struct av_err *e)
{
	const AttestdGce__SevSnpCertificateChain *c = a->certificate_chain;
	json_t	*certs;

	*out = NULL;
	if (in->item != NULL && json_object_get(in->item, "certs") != NULL) {
		*out = json_pack("{s:O}", "certs",
		    json_object_get(in->item, "certs"));
		return *out != NULL ? 0 : AV_FAIL(e, AV_E_NOMEM,
		    "out of memory");
	}
	if (c == NULL)
		return 0;
	if ((certs = json_object()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (add_cert(certs, "vcek", &c->vcek_cert, e) != 0 ||
	    add_cert(certs, "vlek", &c->vlek_cert, e) != 0 ||
	    add_cert(certs, "ask", &c->ask_cert, e) != 0 ||
	    add_cert(certs, "ark", &c->ark_cert, e) != 0) {
		json_decref(certs);
		return -1;
	}
	if (json_object_size(certs) == 0) {
		json_decref(certs);
		return 0;
	}
	if ((*out = json_pack("{s:o}", "certs", certs)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	return 0;
}

int
gce_tee_parse(struct gce_ev *g, const AttestdGce__Attestation *m,
    const struct av_evidence *in, struct av_err *e)
{
	const AttestdGce__SevSnpAttestation	*a;
	struct av_evidence			 ev = { .type = "sev-snp" };
	json_t					*item = NULL;
	int					 rc;

	switch (m->tee_attestation_case) {
	case ATTESTD_GCE__ATTESTATION__TEE_ATTESTATION_SEV_SNP_ATTESTATION:
		break;
	case ATTESTD_GCE__ATTESTATION__TEE_ATTESTATION_TDX_ATTESTATION:
		g->tee = GCE_TEE_TDX;
		return 0;
	case ATTESTD_GCE__ATTESTATION__TEE_ATTESTATION__NOT_SET:
	default:
		g->tee = GCE_TEE_NONE;
		return 0;
	}
	g->tee = GCE_TEE_SNP;
	if ((a = m->sev_snp_attestation) == NULL || a->report == NULL)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: sev_snp_attestation without a report");
	if (gce_snp_report_bytes(a->report, g->report, e) != 0)
		return -1;
	if ((g->t->hw_backend = av_backend_find("sev-snp")) == NULL)
		return AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "gce-tpm: the sev-snp backend is not available");
	if (snp_item(a, in, &item, e) != 0)
		return -1;
	ev.name = in->name;
	ev.data = g->report;
	ev.len = sizeof(g->report);
	ev.item = item;
	rc = g->t->hw_backend->parse(&ev, &g->t->hw, e);
	json_decref(item);
	return rc;
}

/*
 * REPORT_DATA binds the attestation (docs/platforms/tpm.md): with a
 * request nonce, the shared forms (include/av/binding.h) SHA-512(nonce ||
 * runtime_data), the nonce zero-padded to 64 bytes, or its first 64
 * bytes (go-tpm-tools truncates a longer Nonce); in any case the TPM
 * quotes' extraData zero-padded (or truncated) to 64 bytes -- the Nonce
 * go-tpm-tools gave both, which the quote check compares with the
 * request.  Anything else is binding_mismatch.
 */
static void
check_binding(struct gce_ev *g, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	const uint8_t		*rd = g->report + 0x50;
	const TPM2B_DATA	*x = &g->t->q[0].attest->extraData;
	struct av_binding	 b;
	uint8_t			 want[64] = { 0 };
	size_t			 n = x->size < 64 ? x->size : 64;
	bool			 have_nonce;

	have_nonce = ctx->nonce != NULL && ctx->nonce_len > 0;
	if (have_nonce) {
		if (av_binding_match(ctx, rd, 64, AV_BIND_SHA512 |
		    AV_BIND_PADDED | AV_BIND_PREFIX, AV_BIND_F_EMPTY_RT,
		    &b) != 0) {
			av_submod_reason(sm, AV_E_INTERNAL,
			    AV_STATUS_CONTRAINDICATED, "tee.report_data",
			    NULL, NULL, "internal error");
			return;
		}
		if (b.matched & AV_BIND_SHA512) {
			g->binding = b.rt ? "sha512(nonce||runtime_data)" :
			    "sha512(nonce)";
			/* out of memory: no key attestation */
			if (b.rt)
				(void)av_submod_key_attestation(sm,
				    ctx->runtime_data, ctx->runtime_data_len);
			return;
		}
		if (b.matched & (AV_BIND_PADDED | AV_BIND_PREFIX)) {
			g->binding = "nonce";
			return;
		}
	}
	memcpy(want, x->buffer, n);
	if (av_memeq_ct(want, rd, 64)) {
		g->binding = "quote_extra_data";
		return;
	}
	if (have_nonce) {
		memset(want, 0, sizeof(want));
		memcpy(want, ctx->nonce, ctx->nonce_len < 64 ?
		    ctx->nonce_len : 64);
	}
	av_submod_reason(sm, AV_E_BINDING, AV_STATUS_CONTRAINDICATED,
	    "tee.report_data", av_json_hex(want, 64), av_json_hex(rd, 64),
	    "gce-tpm: the SEV-SNP REPORT_DATA does not carry the "
	    "attestation's nonce");
}

int
gce_tee_verify(struct gce_ev *g, const struct av_ctx *ctx,
    const struct gce_pol *pol, struct av_submod *sm, struct av_err *e)
{
	struct av_ctx	 hctx = *ctx;
	json_t		*hc = NULL;

	switch (g->tee) {
	case GCE_TEE_SNP:
		break;
	case GCE_TEE_TDX:
		av_submod_reason(sm, AV_E_UNSUPPORTED_ALG, AV_STATUS_WARNING,
		    "tee", NULL, json_string("tdx"), "gce-tpm: the TDX quote "
		    "(tdx_attestation) is not verified by this version: the "
		    "hardware attestation counts as absent");
		return 0;
	case GCE_TEE_NONE:
	default:
		return 0;
	}
	/* The nonce is ours to compare (check_binding), not the backend's. */
	hctx.nonce = NULL;
	hctx.nonce_len = 0;
	hctx.runtime_data = NULL;
	hctx.runtime_data_len = 0;
	hctx.nonce_required = false;
	if (g->t->hw_backend->verify(g->t->hw, &hctx, pol != NULL ?
	    pol->snp_pol : NULL, sm, e) != 0)
		return -1;
	g->tee_verified = true;
	check_binding(g, ctx, sm);
	if (g->t->hw_backend->claims != NULL &&
	    g->t->hw_backend->claims(g->t->hw, &hc, e) != 0)
		return -1;
	json_decref(g->t->hw_claims);
	g->t->hw_claims = hc;
	g->t->hw_platform = g->t->hw_backend->name;
	return 0;
}

json_t *
gce_tee_claims(const struct gce_ev *g)
{
	switch (g->tee) {
	case GCE_TEE_SNP:
		return json_pack("{s:s, s:b, s:s?}", "type", "sev-snp",
		    "verified", g->tee_verified, "binding", g->binding);
	case GCE_TEE_TDX:
		return json_pack("{s:s, s:b}", "type", "tdx", "verified", 0);
	case GCE_TEE_NONE:
	default:
		return json_pack("{s:n, s:b}", "type", "verified", 0);
	}
}

void
gce_tee_appraise(const struct gce_ev *g, const struct gce_pol *pol,
    const struct av_ctx *ctx, struct av_submod *sm)
{
	bool ok = g->tee == GCE_TEE_SNP && g->tee_verified;

	if (pol->hw == GCE_HW_REQUIRED && !ok)
		av_submod_reason(sm, AV_E_POLICY_VIOLATION,
		    AV_STATUS_CONTRAINDICATED, "tee", json_string("sev-snp"),
		    g->tee == GCE_TEE_TDX ? json_string("tdx") : json_null(),
		    g->tee == GCE_TEE_TDX ? "gce-tpm: the policy requires a "
		    "verified hardware attestation and the TDX quote is not "
		    "verified by this version" : "gce-tpm: the policy "
		    "requires a verified hardware attestation and the "
		    "attestation has none");
	if (ok && pol->snp_pol != NULL && pol->snp->appraise != NULL)
		pol->snp->appraise(g->t->hw, pol->snp_pol, ctx, sm);
}
