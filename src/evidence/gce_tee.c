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
 * On a TDX confidential VM it adds field 9 tdx_attestation: go-tdx-guest's
 * tdx.QuoteV4, the DCAP quote v4 as fields, written back to the quote
 * bytes as abi.QuoteToAbiBytes does and verified by the "tdx" backend
 * (PCK chain in the quote, collateral from the request item or the
 * store).  The same nonce rule applies to its report_data.
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

	if (n == 0)		/* an empty field may have no data pointer */
		return d->len == 0;
	av_reader_init(&r, d->data, d->len);
	return av_read_copy(&r, dst, n) && r.left == 0;
}

/* A bounded writer over a buffer sized in advance. */
struct wcur {
	uint8_t	*p;
	size_t	 off, cap;
};

static bool
w_bytes(struct wcur *w, const ProtobufCBinaryData *d, size_t n)
{
	struct av_reader r;

	if (n > w->cap - w->off)
		return false;
	if (n == 0)		/* an empty field may have no data pointer */
		return d->len == 0;
	av_reader_init(&r, d->data, d->len);
	if (!av_read_copy(&r, w->p + w->off, n) || r.left != 0)
		return false;
	w->off += n;
	return true;
}

static bool
w_le(struct wcur *w, uint64_t v, size_t n)
{
	if (n > w->cap - w->off)
		return false;
	put_le(w->p + w->off, v, n);
	w->off += n;
	return true;
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

/* DCAP quote v4 sizes (Intel TDX DCAP Quote Generation Library, A.3). */
#define TDX_QE_REPORT_LEN	384
#define TDX_SIG_LEN		64
#define TDX_KNOWN_QE_CERT	(TDX_QE_REPORT_LEN + TDX_SIG_LEN + 2 + 6)
#define TDX_KNOWN_SIGNED	(TDX_SIG_LEN + 64 + 6)

/* The message's sub-messages are all there (abi.CheckQuoteV4). */
static bool
tdx_complete(const AttestdGce__TdxQuoteV4 *q)
{
	const AttestdGce__TdxSignedData			*sd = q->signed_data;
	const AttestdGce__TdxQeReportCertificationData	*qc;

	if (q->header == NULL || q->td_quote_body == NULL || sd == NULL ||
	    sd->certification_data == NULL ||
	    (qc = sd->certification_data->qe_report_certification_data) ==
	    NULL)
		return false;
	return qc->qe_report != NULL && qc->qe_auth_data != NULL &&
	    qc->pck_certificate_chain_data != NULL;
}

int
gce_tdx_quote_bytes(const AttestdGce__TdxQuoteV4 *q, uint8_t **out,
    size_t *len, struct av_err *e)
{
	const AttestdGce__TdxHeader			*h;
	const AttestdGce__TdxQuoteBody			*b;
	const AttestdGce__TdxSignedData			*sd;
	const AttestdGce__TdxCertificationData		*cd;
	const AttestdGce__TdxQeReportCertificationData	*qc;
	const AttestdGce__TdxEnclaveReport		*er;
	const AttestdGce__TdxQeAuthData			*ad;
	const AttestdGce__TdxPckCertificateChainData	*pc;
	struct wcur					 w = { 0 };
	size_t						 certlen, total;
	bool						 ok;

	*out = NULL;
	if (!tdx_complete(q))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: TDX quote without a required part");
	h = q->header;
	b = q->td_quote_body;
	sd = q->signed_data;
	cd = sd->certification_data;
	qc = cd->qe_report_certification_data;
	er = qc->qe_report;
	ad = qc->qe_auth_data;
	pc = qc->pck_certificate_chain_data;
	if (h->version != 4 || h->attestation_key_type != TDX_ATT_KEY_ECDSA_P256 ||
	    h->tee_type != TDX_TEE_TYPE)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: TDX quote is not "
		    "a version 4 ECDSA P-256 TDX quote");
	if (cd->certificate_data_type != TDX_CERT_QE_REPORT ||
	    pc->certificate_data_type != TDX_CERT_PCK_CHAIN)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: TDX certification "
		    "data is not a QE report with a PCK chain");
	if (b->n_rtmrs != 4)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: TDX quote body without 4 RTMRs");
	if (er->isv_prod_id > 0xffff || er->isv_svn > 0xffff)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: TDX QE ISV fields do not fit 2 bytes");
	if (ad->data.len > TDX_MAX_QE_AUTH ||
	    ad->parsed_data_size != ad->data.len)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: TDX QE "
		    "authentication data size differs from its length");
	if (pc->pck_cert_chain.len > TDX_MAX_CERT_DATA ||
	    pc->size != pc->pck_cert_chain.len)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: TDX PCK chain size differs from its length");
	if (q->extra_bytes.len > GCE_MAX_TDX_EXTRA)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: TDX quote extra bytes too large");
	/* The size fields count what follows them, as in the quote. */
	certlen = TDX_KNOWN_QE_CERT + ad->data.len + pc->pck_cert_chain.len;
	if (cd->size != certlen ||
	    q->signed_data_size != TDX_KNOWN_SIGNED + certlen)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: TDX signed data "
		    "or certification data size differs from its content");
	total = TDX_HEADER_LEN + TDX_TD10_BODY_LEN + 4 + TDX_KNOWN_SIGNED +
	    certlen + q->extra_bytes.len;
	if ((w.p = malloc(total)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	w.cap = total;
	/* header: pce_svn at 8, qe_svn at 10 (abi.HeaderToAbiBytes) */
	ok = w_le(&w, h->version, 2) && w_le(&w, h->attestation_key_type, 2) &&
	    w_le(&w, h->tee_type, 4) && w_bytes(&w, &h->pce_svn, 2) &&
	    w_bytes(&w, &h->qe_svn, 2) && w_bytes(&w, &h->qe_vendor_id, 16) &&
	    w_bytes(&w, &h->user_data, 20);
	/* TD 1.0 body */
	ok = ok && w_bytes(&w, &b->tee_tcb_svn, 16) &&
	    w_bytes(&w, &b->mr_seam, 48) && w_bytes(&w, &b->mr_signer_seam, 48) &&
	    w_bytes(&w, &b->seam_attributes, 8) &&
	    w_bytes(&w, &b->td_attributes, 8) && w_bytes(&w, &b->xfam, 8) &&
	    w_bytes(&w, &b->mr_td, 48) && w_bytes(&w, &b->mr_config_id, 48) &&
	    w_bytes(&w, &b->mr_owner, 48) &&
	    w_bytes(&w, &b->mr_owner_config, 48);
	for (size_t i = 0; ok && i < 4; i++)
		ok = w_bytes(&w, &b->rtmrs[i], 48);
	ok = ok && w_bytes(&w, &b->report_data, 64);
	/* signed data */
	ok = ok && w_le(&w, q->signed_data_size, 4) &&
	    w_bytes(&w, &sd->signature, TDX_SIG_LEN) &&
	    w_bytes(&w, &sd->ecdsa_attestation_key, 64) &&
	    w_le(&w, cd->certificate_data_type, 2) && w_le(&w, cd->size, 4);
	/* QE report (abi.EnclaveReportToAbiBytes) */
	ok = ok && w_bytes(&w, &er->cpu_svn, 16) &&
	    w_le(&w, er->misc_select, 4) && w_bytes(&w, &er->reserved1, 28) &&
	    w_bytes(&w, &er->attributes, 16) &&
	    w_bytes(&w, &er->mr_enclave, 32) &&
	    w_bytes(&w, &er->reserved2, 32) &&
	    w_bytes(&w, &er->mr_signer, 32) &&
	    w_bytes(&w, &er->reserved3, 96) &&
	    w_le(&w, er->isv_prod_id, 2) && w_le(&w, er->isv_svn, 2) &&
	    w_bytes(&w, &er->reserved4, 60) &&
	    w_bytes(&w, &er->report_data, 64);
	ok = ok && w_bytes(&w, &qc->qe_report_signature, TDX_SIG_LEN) &&
	    w_le(&w, ad->parsed_data_size, 2) &&
	    w_bytes(&w, &ad->data, ad->data.len) &&
	    w_le(&w, pc->certificate_data_type, 2) && w_le(&w, pc->size, 4) &&
	    w_bytes(&w, &pc->pck_cert_chain, pc->pck_cert_chain.len) &&
	    w_bytes(&w, &q->extra_bytes, q->extra_bytes.len);
	if (!ok || w.off != total) {
		free(w.p);
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: a TDX quote bytes "
		    "field does not have its ABI size");
	}
	*out = w.p;
	*len = total;
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

/* The SNP report, rebuilt, parsed by the sev-snp backend. */
static int
parse_snp(struct gce_ev *g, const AttestdGce__SevSnpAttestation *a,
    const struct av_evidence *in, struct av_err *e)
{
	struct av_evidence	 ev = { .type = "sev-snp", .name = in->name };
	json_t			*item = NULL;
	int			 rc;

	if (a == NULL || a->report == NULL)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: sev_snp_attestation without a report");
	if ((g->hw = malloc(SNP_REPORT_LEN)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	g->hw_len = SNP_REPORT_LEN;
	g->rd_off = 0x50;			/* REPORT_DATA */
	if (gce_snp_report_bytes(a->report, g->hw, e) != 0)
		return -1;
	if ((g->t->hw_backend = av_backend_find("sev-snp")) == NULL)
		return AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "gce-tpm: the sev-snp backend is not available");
	if (snp_item(a, in, &item, e) != 0)
		return -1;
	ev.data = g->hw;
	ev.len = g->hw_len;
	ev.item = item;
	rc = g->t->hw_backend->parse(&ev, &g->t->hw, e);
	json_decref(item);
	return rc;
}

/* The TD quote, rebuilt, parsed by the tdx backend. */
static int
parse_tdx(struct gce_ev *g, const AttestdGce__TdxQuoteV4 *q,
    const struct av_evidence *in, struct av_err *e)
{
	struct av_evidence	 ev = { .type = "tdx", .name = in->name };

	if (q == NULL)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: tdx_attestation without a quote");
	if (gce_tdx_quote_bytes(q, &g->hw, &g->hw_len, e) != 0)
		return -1;
	/* report_data: the last 64 bytes of the TD 1.0 body */
	g->rd_off = TDX_HEADER_LEN + TDX_TD10_BODY_LEN - 64;
	if ((g->t->hw_backend = av_backend_find("tdx")) == NULL)
		return AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "gce-tpm: the tdx backend is not available");
	ev.data = g->hw;
	ev.len = g->hw_len;
	ev.item = in->item;	/* "collateral" companions, if any */
	return g->t->hw_backend->parse(&ev, &g->t->hw, e);
}

int
gce_tee_parse(struct gce_ev *g, const AttestdGce__Attestation *m,
    const struct av_evidence *in, struct av_err *e)
{
	switch (m->tee_attestation_case) {
	case ATTESTD_GCE__ATTESTATION__TEE_ATTESTATION_SEV_SNP_ATTESTATION:
		g->tee = GCE_TEE_SNP;
		return parse_snp(g, m->sev_snp_attestation, in, e);
	case ATTESTD_GCE__ATTESTATION__TEE_ATTESTATION_TDX_ATTESTATION:
		g->tee = GCE_TEE_TDX;
		return parse_tdx(g, m->tdx_attestation, in, e);
	case ATTESTD_GCE__ATTESTATION__TEE_ATTESTATION__NOT_SET:
	default:
		g->tee = GCE_TEE_NONE;
		return 0;
	}
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
	const uint8_t		*rd = g->hw + g->rd_off;
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
	    "gce-tpm: the hardware report's REPORT_DATA does not carry the "
	    "attestation's nonce");
}

int
gce_tee_verify(struct gce_ev *g, const struct av_ctx *ctx,
    const struct gce_pol *pol, struct av_submod *sm, struct av_err *e)
{
	struct av_ctx	 hctx = *ctx;
	json_t		*hc = NULL;
	const void	*hpol;

	switch (g->tee) {
	case GCE_TEE_SNP:
		hpol = pol != NULL ? pol->snp_pol : NULL;
		break;
	case GCE_TEE_TDX:
		hpol = pol != NULL ? pol->tdx_pol : NULL;
		break;
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
	if (g->t->hw_backend->verify(g->t->hw, &hctx, hpol, sm, e) != 0)
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
	case GCE_TEE_TDX:
		return json_pack("{s:s, s:b, s:s?}", "type", g->tee ==
		    GCE_TEE_SNP ? "sev-snp" : "tdx", "verified",
		    g->tee_verified, "binding", g->binding);
	case GCE_TEE_NONE:
	default:
		return json_pack("{s:n, s:b}", "type", "verified", 0);
	}
}

void
gce_tee_appraise(const struct gce_ev *g, const struct gce_pol *pol,
    const struct av_ctx *ctx, struct av_submod *sm)
{
	/* verify failures are fatal: here a TEE present is verified */
	if (pol->hw == GCE_HW_REQUIRED && !g->tee_verified)
		av_submod_reason(sm, AV_E_POLICY_VIOLATION,
		    AV_STATUS_CONTRAINDICATED, "tee", json_pack("[s,s]",
		    "sev-snp", "tdx"), json_null(), "gce-tpm: the policy "
		    "requires a hardware attestation and the attestation has "
		    "none");
	if (!g->tee_verified)
		return;
	if (g->tee == GCE_TEE_SNP && pol->snp_pol != NULL &&
	    pol->snp->appraise != NULL)
		pol->snp->appraise(g->t->hw, pol->snp_pol, ctx, sm);
	if (g->tee == GCE_TEE_TDX && pol->tdx_pol != NULL &&
	    pol->tdx->appraise != NULL)
		pol->tdx->appraise(g->t->hw, pol->tdx_pol, ctx, sm);
}
