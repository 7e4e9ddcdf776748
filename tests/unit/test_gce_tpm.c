/*
 * gce-tpm on a GCE confidential VM: go-tpm-tools Attestation protobufs
 * that carry the hardware attestation (field 8 sev_snp_attestation,
 * go-sev-guest's sevsnp.Attestation; field 9 tdx_attestation), made by
 * the test signers and run through av_verify_request.
 *
 * The TPM part comes from tests/lib/avt_tpm (quotes signed by an RSA AK
 * certified by a test "tpm" anchor); the SEV-SNP report from
 * tests/lib/avt_snp (test ARK -> ASK -> VCEK, the ARK an operator
 * anchor), the TD quote from tests/lib/avt_tdx (test Intel root pinned,
 * TCB info and QE identity as request collateral), each written in ABI
 * bytes, then taken apart into the fields of sevsnp.Report /
 * tdx.QuoteV4.  The protobuf is encoded here by hand with the field
 * numbers of the published schemas (go-tpm-tools proto/attest.proto,
 * go-sev-guest proto/sevsnp.proto, go-tdx-guest proto/tdx.proto),
 * independently of our decoder's gce_attest.proto: a wrong field number
 * on either side fails.  Each case asserts the exact status, reason and
 * claims.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_pb.h"
#include "avt_pki.h"
#include "avt_snp.h"
#include "avt_tdx.h"
#include "avt_tpm.h"

#define T0	1767225600LL	/* 2026-01-01T00:00:00Z */
#define ALL24	0x00ffffffu
#define RLEN	AVT_SNP_REPORT_LEN
#define DAY	86400

struct fx {
	struct avt_snp_pki	*snp;
	EVP_PKEY		*vcek_key, *other_key;
	X509			*vcek;
	X509_CRL		*crl;		/* the ARK's (empty) CRL */
	EVP_PKEY		*ak, *ca_key;
	X509			*ca, *akcert;
	struct avt_tdx		*tdx;
	char			*tcb, *qe, *pck_crl, *root_crl;
	struct av_trust		*trust;
	struct av_collateral	*coll;
	struct avt_pcrs		 pcrs;
	uint8_t			 chip_id[64];
	uint8_t			 nonce[32];
};

static struct fx *F;
static const struct avt_snp_tcb tcb = { .bl = 4, .tee = 0, .snp = 22,
    .ucode = 213 };

static int
setup(void **state)
{
	struct avt_snp_leaf_spec ls = { 0 };
	struct avt_cert_spec	 cs = { .cn = "attestd test TPM CA",
	    .not_before = T0 - 86400, .not_after = T0 + 86400, .ca = true,
	    .md = EVP_sha256() };
	struct av_coll_fetch_cfg cfg = { 0 };

	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL)
		return -1;
	memset(F->chip_id, 0xc1, sizeof(F->chip_id));
	for (size_t i = 0; i < sizeof(F->nonce); i++)
		F->nonce[i] = (uint8_t)(0xa0 + i);
	F->snp = avt_snp_pki_new("Milan", T0 - 86400 * 365, T0 + 86400 * 365);
	F->vcek_key = avt_key_new("P-384");
	F->other_key = avt_key_new("P-384");
	ls.product_name = "Milan-B0";
	ls.hwid = F->chip_id;
	ls.hwid_len = 64;
	ls.tcb = tcb;
	ls.not_before = T0 - 86400;
	ls.not_after = T0 + 86400 * 30;
	F->vcek = avt_snp_leaf_new(F->snp, &ls, F->vcek_key);
	F->ak = avt_key_new("RSA-2048");
	F->ca_key = avt_key_new("P-256");
	F->ca = avt_cert_new(&cs, F->ca_key, NULL, F->ca_key);
	cs.cn = "gce test AK";
	cs.ca = false;
	F->akcert = avt_cert_new(&cs, F->ak, F->ca, F->ca_key);
	F->trust = av_trust_new();
	F->coll = av_collateral_new(&cfg);
	F->tdx = avt_tdx_new(T0);
	if (F->snp == NULL || F->vcek == NULL || F->ak == NULL ||
	    F->ca == NULL || F->akcert == NULL || F->trust == NULL ||
	    F->coll == NULL || F->tdx == NULL ||
	    av_trust_add_anchor(F->trust, "sev-snp", F->snp->ark) != 0 ||
	    av_trust_add_anchor(F->trust, "tpm", F->ca) != 0 ||
	    avt_tdx_pin(F->tdx, F->trust) != 0)
		return -1;
	{
		struct avt_tdx_tcb_spec	ts;
		struct avt_tdx_qe_spec	qs;

		avt_tdx_tcb_spec_init(&ts, F->tdx);
		avt_tdx_qe_spec_init(&qs, F->tdx);
		F->tcb = avt_tdx_tcb_info(F->tdx, &ts);
		F->qe = avt_tdx_qe_identity(F->tdx, &qs);
	}
	F->pck_crl = avt_tdx_pck_crl_pem(F->tdx, T0 - DAY, T0 + 29 * DAY,
	    NULL, 0);
	F->root_crl = avt_tdx_root_crl_pem(F->tdx, T0 - DAY, T0 + 300 * DAY,
	    NULL, 0);
	if (F->tcb == NULL || F->qe == NULL || F->pck_crl == NULL ||
	    F->root_crl == NULL)
		return -1;
	/* AMD's CRL for the hierarchy, as the collateral store has it */
	F->crl = avt_crl_new(F->snp->ark, F->snp->ark_key, T0 - 3600,
	    T0 + 86400, NULL, 0);
	if (F->crl == NULL)
		return -1;
	{
		struct av_err	 e = { 0 };
		unsigned char	*der = NULL;
		int		 n = i2d_X509_CRL(F->crl, &der);

		if (n <= 0 || av_collateral_add(F->coll, der, (size_t)n,
		    "crl", &e) != 0)
			return -1;
		OPENSSL_free(der);
	}
	for (unsigned i = 0; i < AVT_TPM_NPCR; i++)
		memset(F->pcrs.v[AVT_SHA256][i], (int)(0x10 + i), 32);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	avt_snp_pki_free(F->snp);
	EVP_PKEY_free(F->vcek_key);
	EVP_PKEY_free(F->other_key);
	X509_free(F->vcek);
	X509_CRL_free(F->crl);
	EVP_PKEY_free(F->ak);
	EVP_PKEY_free(F->ca_key);
	X509_free(F->ca);
	X509_free(F->akcert);
	avt_tdx_free(F->tdx);
	free(F->tcb);
	free(F->qe);
	free(F->pck_crl);
	free(F->root_crl);
	av_trust_free(F->trust);
	av_collateral_free(F->coll);
	free(F);
	return 0;
}

/* ---- sevsnp.Report from ABI bytes -------------------------------------- */

/* The fields of sevsnp.Report (proto/sevsnp.proto), by number. */
struct sr {
	uint64_t	 v[32];		/* scalars */
	const uint8_t	*b[32];		/* bytes fields (borrowed) */
	size_t		 bl[32];
};

static uint64_t
le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

/* go-sev-guest abi.FmsToCpuid1Eax (published): extended family over 0xF. */
static uint32_t
fms_to_eax(uint8_t fam, uint8_t mod, uint8_t step)
{
	uint32_t ext = 0, f = fam;

	if (fam >= 0xf) {
		ext = fam - 0xfu;
		f = 0xf;
	}
	return ext << 20 | (uint32_t)(mod >> 4) << 16 | f << 8 |
	    (uint32_t)(mod & 0xf) << 4 | (step & 0xfu);
}

/* abi.ReportToProto, as the facts of SEV-SNP ABI s.7.3 give it. */
static void
report_fields(const uint8_t *r, struct sr *s)
{
	static const struct { unsigned n; size_t off, len; } sc[] = {
		{ 1, 0x00, 4 }, { 2, 0x04, 4 }, { 3, 0x08, 8 },
		{ 6, 0x30, 4 }, { 7, 0x34, 4 }, { 8, 0x38, 8 },
		{ 9, 0x40, 8 }, { 10, 0x48, 4 }, { 18, 0x180, 8 },
		{ 20, 0x1e0, 8 }, { 21, 0x1e8, 1 }, { 22, 0x1e9, 1 },
		{ 23, 0x1ea, 1 }, { 24, 0x1ec, 1 }, { 25, 0x1ed, 1 },
		{ 26, 0x1ee, 1 }, { 27, 0x1f0, 8 },
	}, by[] = {
		{ 4, 0x10, 16 }, { 5, 0x20, 16 }, { 11, 0x50, 64 },
		{ 12, 0x90, 48 }, { 13, 0xc0, 32 }, { 14, 0xe0, 48 },
		{ 15, 0x110, 48 }, { 16, 0x140, 32 }, { 17, 0x160, 32 },
		{ 19, 0x1a0, 64 }, { 28, 0x2a0, 512 },
	};

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
		s->v[sc[i].n] = le(r + sc[i].off, sc[i].len);
	for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++) {
		s->b[by[i].n] = r + by[i].off;
		s->bl[by[i].n] = by[i].len;
	}
	if (s->v[1] >= 3)
		s->v[29] = fms_to_eax(r[0x188], r[0x189], r[0x18a]);
	if (s->v[1] >= 5) {
		s->v[30] = le(r + 0x1f8, 8);
		s->v[31] = le(r + 0x200, 8);
	}
}

static void
report_pb(const struct sr *s, struct avt_pb *out)
{
	for (unsigned n = 1; n <= 31; n++) {
		if (s->b[n] != NULL)
			avt_pb_bytes(out, n, s->b[n], s->bl[n]);
		else
			avt_pb_uint(out, n, s->v[n]);
	}
}

/* ---- evidence ----------------------------------------------------------- */

enum tee { TEE_NONE, TEE_SNP, TEE_TDX };

struct spec {
	enum tee	 tee;
	uint32_t	 version;	/* report version (0: 3) */
	const uint8_t	*extra;		/* TPM extraData (NULL: F->nonce) */
	size_t		 extra_len;
	const uint8_t	*report_data;	/* 64 bytes (NULL: extraData padded) */
	bool		 flip_sig;	/* a bit of the report signature R */
	EVP_PKEY	*signer;	/* report signer (NULL: the VCEK) */
	uint8_t		 measurement[48];
	bool		 no_vcek, no_ask_ark;	/* leave them out of the chain */
	bool		 extras;	/* chain extras + product (skipped) */
	/* hostile structured fields */
	unsigned	 resize;	/* bytes field number made 1 byte longer
					   (or shorter with shrink) */
	bool		 shrink;
	unsigned	 set_field;	/* scalar field number ... */
	uint64_t	 set_value;	/* ... set to this */
	bool		 no_report;	/* a sev_snp_attestation without one */
	/* TDX */
	size_t		 trailing;	/* extra_bytes after the quote */
	bool		 no_collateral;	/* no TCB info etc. in the request */
	unsigned	 tdx_msg;	/* message of a hostile field: 1 header,
					   2 body, 3 quote, 4 certification
					   data, 5 QE report, 6 QE auth data,
					   7 QE report certification data,
					   8 signed data */
	unsigned	 tdx_field;	/* its field number */
	int		 tdx_delta;	/* bytes field: length change; scalar:
					   value added */
	bool		 tdx_rtmr3;	/* only 3 RTMRs */
};

/* The SevSnpAttestation message of spec s. */
static void
snp_attestation(const struct spec *s, struct avt_pb *out)
{
	struct avt_snp_fields	 f = { 0 };
	uint8_t			 raw[RLEN], *big = NULL;
	struct avt_pb		 rep = { 0 }, ch = { 0 };
	struct sr		 sr;
	size_t			 x = s->extra != NULL ? s->extra_len :
				    sizeof(F->nonce);

	f.version = s->version != 0 ? s->version : 3;
	f.cpuid_fam = 0x19;
	f.cpuid_mod = 0x01;
	f.cpuid_step = 1;
	f.reported_tcb = f.current_tcb = f.committed_tcb = f.launch_tcb =
	    avt_snp_tcb_raw("Milan", &tcb);
	memcpy(f.chip_id, F->chip_id, 64);
	if (s->report_data != NULL)
		memcpy(f.report_data, s->report_data, 64);
	else
		memcpy(f.report_data, s->extra != NULL ? s->extra : F->nonce,
		    x < 64 ? x : 64);
	memcpy(f.measurement, s->measurement, 48);
	f.current_major = 1;
	f.current_minor = 55;
	f.current_build = 7;
	f.committed_major = 1;
	f.committed_minor = 55;
	f.committed_build = 5;
	memset(f.family_id, 0xf1, 16);
	memset(f.report_id, 0x1d, 32);
	f.platform_info = 0x3;
	if (f.version >= 5) {
		f.launch_mit_vector = 0x11;
		f.current_mit_vector = 0x13;
	}
	assert_int_equal(avt_snp_report(&f, s->signer != NULL ? s->signer :
	    F->vcek_key, raw), 0);
	if (s->flip_sig)
		raw[0x2a0 + 5] ^= 0x40;
	report_fields(raw, &sr);
	if (s->resize != 0) {
		assert_non_null(sr.b[s->resize]);
		big = calloc(1, sr.bl[s->resize] + 1);
		assert_non_null(big);
		memcpy(big, sr.b[s->resize], sr.bl[s->resize]);
		sr.b[s->resize] = big;
		sr.bl[s->resize] += s->shrink ? (size_t)-1 : 1;
	}
	if (s->set_field != 0)
		sr.v[s->set_field] = s->set_value;
	report_pb(&sr, &rep);
	if (!s->no_report)
		avt_pb_bytes(out, 1, rep.p, rep.len);
	if (!s->no_vcek) {
		uint8_t *d;
		size_t	 n;

		d = avt_cert_der(F->vcek, &n);
		avt_pb_bytes(&ch, 1, d, n);		/* vcek_cert */
		free(d);
	}
	if (!s->no_ask_ark) {
		uint8_t *d;
		size_t	 n;

		d = avt_cert_der(F->snp->ask, &n);
		avt_pb_bytes(&ch, 2, d, n);		/* ask_cert */
		free(d);
		d = avt_cert_der(F->snp->ark, &n);
		avt_pb_bytes(&ch, 3, d, n);		/* ark_cert */
		free(d);
	}
	if (s->extras) {
		struct avt_pb ent = { 0 }, prod = { 0 };

		avt_pb_bytes(&ent, 1, "ecae0c0f-9502-43b1-afa2-0ae2e0d565b6", 36);
		avt_pb_bytes(&ent, 2, "\x08\x00\x00\x00\x11\x0f\xa0\x00", 8);
		avt_pb_bytes(&ch, 7, ent.p, ent.len);	/* extras map entry */
		avt_pb_uint(&prod, 1, 1);			/* SEV_PRODUCT_MILAN */
		avt_pb_bytes(out, 3, prod.p, prod.len);	/* product */
		free(ent.p);
		free(prod.p);
	}
	if (ch.len > 0)
		avt_pb_bytes(out, 2, ch.p, ch.len);
	free(rep.p);
	free(ch.p);
	free(big);
}

/*
 * A bytes field n from q[off..off+len), its length changed by delta when
 * (msg, n) is the hostile field of s.
 */
static void
tb(struct avt_pb *o, const struct spec *s, unsigned msg, unsigned n,
    const uint8_t *q, size_t off, size_t len)
{
	uint8_t	*big;
	size_t	 l = len;

	if (s->tdx_msg == msg && s->tdx_field == n)
		l = (size_t)((long)len + s->tdx_delta);
	big = calloc(1, l + 1);
	assert_non_null(big);
	memcpy(big, q + off, l < len ? l : len);
	avt_pb_bytes(o, n, big, l);
	free(big);
}

/* A scalar field n, plus delta when (msg, n) is the hostile field. */
static void
tu(struct avt_pb *o, const struct spec *s, unsigned msg, unsigned n, uint64_t v)
{
	if (s->tdx_msg == msg && s->tdx_field == n)
		v = (uint64_t)((int64_t)v + s->tdx_delta);
	avt_pb_uint(o, n, v);
}

/*
 * go-tdx-guest abi.QuoteToProto of a DCAP quote v4 (published layout:
 * header 48, TD 1.0 body 584, signed data size, signature, attestation
 * key, certification data 6 {QE report 384, signature, QE auth data,
 * certification data 5 {PCK chain}}, extra bytes).
 */
static void
tdx_quote_pb(const uint8_t *q, size_t n, const struct spec *s,
    struct avt_pb *out)
{
	struct avt_pb	 h = { 0 }, b = { 0 }, sd = { 0 }, cd = { 0 }, qc = { 0 };
	struct avt_pb	 er = { 0 }, ad = { 0 }, pc = { 0 };
	uint32_t	 sds = (uint32_t)le(q + 632, 4);
	size_t		 alen, clen, o;

	assert_true(n >= 1220 && 636 + (size_t)sds <= n);
	tu(&h, s, 1, 1, le(q, 2));
	tu(&h, s, 1, 2, le(q + 2, 2));
	tu(&h, s, 1, 3, le(q + 4, 4));
	tb(&h, s, 1, 4, q, 10, 2);		/* qe_svn */
	tb(&h, s, 1, 5, q, 8, 2);		/* pce_svn */
	tb(&h, s, 1, 6, q, 12, 16);
	tb(&h, s, 1, 7, q, 28, 20);
	{
		static const size_t len[] = { 16, 48, 48, 8, 8, 8, 48, 48,
		    48, 48 };

		o = 48;
		for (unsigned i = 0; i < 10; i++) {
			tb(&b, s, 2, i + 1, q, o, len[i]);
			o += len[i];
		}
		for (unsigned i = 0; i < (s->tdx_rtmr3 ? 3u : 4u); i++)
			tb(&b, s, 2, 11, q, o + 48 * i, 48);
		o += 4 * 48;
		tb(&b, s, 2, 12, q, o, 64);
	}
	/* QE report */
	{
		static const struct { unsigned n; size_t len; bool u; } f[] = {
			{ 1, 16, false }, { 2, 4, true }, { 3, 28, false },
			{ 4, 16, false }, { 5, 32, false }, { 6, 32, false },
			{ 7, 32, false }, { 8, 96, false }, { 9, 2, true },
			{ 10, 2, true }, { 11, 60, false }, { 12, 64, false },
		};

		o = 770;
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			if (f[i].u)
				tu(&er, s, 5, f[i].n, le(q + o, f[i].len));
			else
				tb(&er, s, 5, f[i].n, q, o, f[i].len);
			o += f[i].len;
		}
	}
	alen = le(q + 1218, 2);
	tu(&ad, s, 6, 1, alen);
	tb(&ad, s, 6, 2, q, 1220, alen);
	o = 1220 + alen;
	clen = le(q + o + 2, 4);
	avt_pb_uint(&pc, 1, le(q + o, 2));
	avt_pb_uint(&pc, 2, clen);
	avt_pb_bytes(&pc, 3, q + o + 6, clen);
	avt_pb_bytes(&qc, 1, er.p, er.len);
	tb(&qc, s, 7, 2, q, 1154, 64);		/* qe_report_signature */
	avt_pb_bytes(&qc, 3, ad.p, ad.len);
	avt_pb_bytes(&qc, 4, pc.p, pc.len);
	tu(&cd, s, 4, 1, le(q + 764, 2));
	tu(&cd, s, 4, 2, le(q + 766, 4));
	avt_pb_bytes(&cd, 3, qc.p, qc.len);
	tb(&sd, s, 8, 1, q, 636, 64);		/* signature */
	tb(&sd, s, 8, 2, q, 700, 64);		/* ecdsa_attestation_key */
	avt_pb_bytes(&sd, 3, cd.p, cd.len);
	avt_pb_bytes(out, 1, h.p, h.len);
	avt_pb_bytes(out, 2, b.p, b.len);
	tu(out, s, 3, 3, sds);
	avt_pb_bytes(out, 4, sd.p, sd.len);
	if (n > 636 + (size_t)sds)
		avt_pb_bytes(out, 5, q + 636 + sds, n - 636 - sds);
	free(h.p);
	free(b.p);
	free(sd.p);
	free(cd.p);
	free(qc.p);
	free(er.p);
	free(ad.p);
	free(pc.p);
}

/* The QuoteV4 message of spec s. */
static void
tdx_attestation(const struct spec *s, struct avt_pb *out)
{
	struct avt_tdx_quote_spec	 ts;
	uint8_t				*q;
	size_t				 n, x = s->extra != NULL ?
					    s->extra_len : sizeof(F->nonce);

	avt_tdx_quote_spec_init(&ts);
	memset(ts.report_data, 0, sizeof(ts.report_data));
	if (s->report_data != NULL)
		memcpy(ts.report_data, s->report_data, 64);
	else
		memcpy(ts.report_data, s->extra != NULL ? s->extra :
		    F->nonce, x < 64 ? x : 64);
	memset(ts.mrtd, 0x7d, sizeof(ts.mrtd));
	ts.corrupt_quote_sig = s->flip_sig;
	ts.trailing = s->trailing;
	q = avt_tdx_quote(F->tdx, &ts, &n);
	assert_non_null(q);
	tdx_quote_pb(q, n, s, out);
	free(q);
}

/* The whole Attestation of spec s. */
static uint8_t *
attestation(const struct spec *s, size_t *len)
{
	struct avt_quote_spec	 qs = { .sig_hash = TPM2_ALG_SHA256 };
	struct avt_gce_quote	 q;
	struct avt_pb		 out = { 0 }, tee = { 0 };
	uint8_t			*m, *g, *pub, *der, *base;
	size_t			 ml, gl, pl, dl, bl;

	qs.nonce = s->extra != NULL ? s->extra : F->nonce;
	qs.nonce_len = s->extra != NULL ? s->extra_len : sizeof(F->nonce);
	qs.sel[AVT_SHA256] = ALL24;
	m = avt_tpm_attest(&qs, &F->pcrs, &ml);
	g = avt_tpm_sign(F->ak, AVT_RSASSA, TPM2_ALG_SHA256, m, ml, &gl);
	pub = avt_tpm_public(F->ak, true, &pl);
	der = avt_cert_der(F->akcert, &dl);
	assert_non_null(m);
	assert_non_null(g);
	assert_non_null(pub);
	q = (struct avt_gce_quote){ m, ml, g, gl, AVT_SHA256, ALL24,
	    &F->pcrs };
	/* ak_pub is a bare TPMT_PUBLIC: skip TPM2B_PUBLIC's size */
	base = avt_gce_attestation(pub + 2, pl - 2, &q, 1, NULL, 0, der, dl,
	    &bl);
	assert_non_null(base);
	avt_pb_put(&out, base, bl);
	switch (s->tee) {
	case TEE_SNP:
		snp_attestation(s, &tee);
		avt_pb_bytes(&out, 8, tee.p, tee.len);	/* sev_snp_attestation */
		break;
	case TEE_TDX:
		tdx_attestation(s, &tee);
		avt_pb_bytes(&out, 9, tee.p, tee.len);	/* tdx_attestation */
		break;
	case TEE_NONE:
	default:
		break;
	}
	free(tee.p);
	free(base);
	free(m);
	free(g);
	free(pub);
	free(der);
	*len = out.len;
	return out.p;
}

/* Verify p[0..n) with the request nonce (NULL: none) and runtime data. */
static struct av_result *
run_bytes(const uint8_t *p, size_t n, const uint8_t *nonce, size_t nl,
    const uint8_t *rt, size_t rl, const struct av_policy *pol)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust,
	    .coll = F->coll };

	assert_int_equal(av_request_from_raw("gce-tpm", p, n, &req, &e), 0);
	if (nonce != NULL) {
		req->nonce = malloc(nl);
		memcpy(req->nonce, nonce, nl);
		req->nonce_len = nl;
	}
	if (rt != NULL) {
		req->runtime_data = malloc(rl);
		memcpy(req->runtime_data, rt, rl);
		req->runtime_data_len = rl;
	}
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	av_request_free(req);
	return res;
}

/*
 * Spec s with the request nonce F->nonce; a TDX attestation comes as a
 * request item with the TCB info, QE identity and CRLs as "collateral".
 */
static struct av_result *
run(const struct spec *s, const struct av_policy *pol)
{
	struct av_request	*req = NULL;
	struct av_result	*r = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust,
	    .coll = F->coll };
	json_t			*it, *body;
	uint8_t			*d;
	size_t			 n;

	d = attestation(s, &n);
	if (s->tee != TEE_TDX || s->no_collateral) {
		r = run_bytes(d, n, F->nonce, sizeof(F->nonce), NULL, 0, pol);
		free(d);
		return r;
	}
	it = avt_tdx_item(F->tdx, d, n, F->tcb, F->qe, F->pck_crl,
	    F->root_crl);
	assert_non_null(it);
	json_object_set_new(it, "type", json_string("gce-tpm"));
	body = json_pack("{s:[o]}", "evidence", it);
	assert_int_equal(av_request_from_json(body, &req, &e), 0);
	json_decref(body);
	req->nonce = malloc(sizeof(F->nonce));
	memcpy(req->nonce, F->nonce, sizeof(F->nonce));
	req->nonce_len = sizeof(F->nonce);
	assert_int_equal(av_verify_request(&env, req, pol, &r, &e), 0);
	av_request_free(req);
	free(d);
	return r;
}

static const json_t *
claim(const struct av_result *r, const char *a, const char *b)
{
	const json_t *j = json_object_get(r->submods[0].claims, a);

	return b != NULL ? json_object_get(j, b) : j;
}

static void
expect(const struct av_result *r, enum av_status st, const char *code)
{
	avt_expect(&r->submods[0], st, code);
}

static char *
hex(const uint8_t *p, size_t n)
{
	char *s = av_hex_encode(p, n);

	assert_non_null(s);
	return s;
}

/* {"ak_trust": "certificate", "hardware": hw, "sev-snp": snp?} */
static struct av_policy *
policy(const char *hw, json_t *snp)
{
	json_t *sec = json_pack("{s:s}", "ak_trust", "certificate");

	if (hw != NULL)
		json_object_set_new(sec, "hardware", json_string(hw));
	if (snp != NULL)
		json_object_set_new(sec, "sev-snp", snp);
	return avt_policy("gce-tpm", sec, NULL);
}

/* ---- tests -------------------------------------------------------------- */

/* A verified SNP report, its claims, and a policy that needs it. */
static void
t_snp_good(void **state)
{
	struct spec		 s = { .tee = TEE_SNP };
	struct av_policy	*pol;
	struct av_result	*r;
	char			*m, *rd;
	uint8_t			 pad[64] = { 0 };

	(void)state;
	memset(s.measurement, 0x4d, 48);
	m = hex(s.measurement, 48);
	memcpy(pad, F->nonce, sizeof(F->nonce));
	rd = hex(pad, 64);
	/* without a policy: verified, no reference values */
	r = run(&s, NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	assert_string_equal(json_string_value(claim(r, "tee", "type")),
	    "sev-snp");
	assert_true(json_is_true(claim(r, "tee", "verified")));
	assert_string_equal(json_string_value(claim(r, "tee", "binding")),
	    "nonce");
	assert_string_equal(json_string_value(claim(r, "sev-snp",
	    "measurement")), m);
	assert_string_equal(json_string_value(claim(r, "sev-snp",
	    "report_data")), rd);
	assert_string_equal(json_string_value(claim(r, "sev-snp",
	    "product")), "Milan");
	assert_string_equal(json_string_value(claim(r, "sev-snp", "signer")),
	    "vcek");
	assert_true(json_is_true(claim(r, "sev-snp", "crl_checked")));
	assert_int_equal(json_integer_value(json_object_get(claim(r,
	    "sev-snp", "cpuid"), "family")), 0x19);
	assert_int_equal(json_integer_value(json_object_get(claim(r,
	    "sev-snp", "cpuid"), "stepping")), 1);
	assert_string_equal(json_string_value(claim(r, "format", NULL)),
	    "gce-tpm");
	assert_string_equal(json_string_value(json_array_get(claim(r, "ak",
	    "trust"), 0)), "certificate");
	assert_int_equal(r->submods[0].tv[AV_TV_HARDWARE], AV_AR_AFFIRM);
	av_result_free(r);
	/* required hardware, nested sev-snp rules: affirming */
	pol = policy("required", json_pack("{s:[s], s:{s:b}}", "measurement",
	    m, "guest_policy", "debug", 0));
	r = run(&s, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_int_equal(json_array_size(r->submods[0].reasons), 0);
	av_result_free(r);
	/* the chain's extras and the product are skipped */
	s.extras = true;
	r = run(&s, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	free(m);
	free(rd);
}

/* Report versions 2 and 5 rebuild to the bytes signed (CPUID, vectors). */
static void
t_snp_versions(void **state)
{
	struct spec		 s = { .tee = TEE_SNP, .version = 2 };
	struct av_result	*r;

	(void)state;
	r = run(&s, NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_int_equal(json_integer_value(claim(r, "sev-snp", "version")),
	    2);
	assert_null(claim(r, "sev-snp", "cpuid"));
	av_result_free(r);
	s.version = 5;
	r = run(&s, NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_int_equal(json_integer_value(claim(r, "sev-snp", "version")),
	    5);
	assert_string_equal(json_string_value(claim(r, "sev-snp",
	    "current_mit_vector")), "0x13");
	assert_int_equal(json_integer_value(json_object_get(claim(r,
	    "sev-snp", "cpuid"), "model")), 1);
	av_result_free(r);
}

/* A flipped bit of the report signature. */
static void
t_snp_bad_signature(void **state)
{
	struct spec		 s = { .tee = TEE_SNP, .flip_sig = true };
	struct av_result	*r;

	(void)state;
	r = run(&s, NULL);
	avt_expect_only(&r->submods[0], "signature_invalid");
	av_result_free(r);
	/* signed by another key than the VCEK's */
	s.flip_sig = false;
	s.signer = F->other_key;
	r = run(&s, NULL);
	avt_expect_only(&r->submods[0], "signature_invalid");
	av_result_free(r);
}

/* REPORT_DATA that does not carry the nonce. */
static void
t_snp_binding(void **state)
{
	struct spec		 s = { .tee = TEE_SNP };
	struct av_result	*r;
	const json_t		*why;
	uint8_t			 rd[64], pad[64] = { 0 }, rt[] = "workload key";
	uint8_t			 h[64];
	char			*x;
	EVP_MD_CTX		*mc;

	(void)state;
	memset(rd, 0x5a, sizeof(rd));
	s.report_data = rd;
	r = run(&s, NULL);
	/* a reason, not fatal: the claims stay; no policy adds a warning */
	expect(r, AV_STATUS_CONTRAINDICATED, "binding_mismatch");
	assert_int_equal(json_array_size(r->submods[0].reasons), 2);
	assert_true(json_is_null(claim(r, "tee", "binding")));
	why = avt_find_reason(&r->submods[0], "binding_mismatch",
	    "tee.report_data");
	memcpy(pad, F->nonce, sizeof(F->nonce));
	x = hex(pad, 64);
	assert_string_equal(json_string_value(json_object_get(why,
	    "expected")), x);
	free(x);
	x = hex(rd, 64);
	assert_string_equal(json_string_value(json_object_get(why,
	    "actual")), x);
	free(x);
	av_result_free(r);
	/* a nonce in REPORT_DATA, the request without one: the quotes' */
	s.report_data = NULL;
	{
		uint8_t	*d;
		size_t	 n;

		d = attestation(&s, &n);
		r = run_bytes(d, n, NULL, 0, NULL, 0, NULL);
		expect(r, AV_STATUS_WARNING, "no_reference_values");
		assert_string_equal(json_string_value(claim(r, "tee",
		    "binding")), "quote_extra_data");
		av_result_free(r);
		free(d);
	}
	/* runtime data: SHA-512(nonce || runtime_data) in both */
	assert_non_null(mc = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(mc, EVP_sha512(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(mc, F->nonce, sizeof(F->nonce)), 1);
	assert_int_equal(EVP_DigestUpdate(mc, rt, sizeof(rt)), 1);
	assert_int_equal(EVP_DigestFinal_ex(mc, h, NULL), 1);
	EVP_MD_CTX_free(mc);
	s.extra = h;
	s.extra_len = 64;
	{
		uint8_t	*d;
		size_t	 n;

		d = attestation(&s, &n);
		r = run_bytes(d, n, F->nonce, sizeof(F->nonce), rt,
		    sizeof(rt), NULL);
		expect(r, AV_STATUS_WARNING, "no_reference_values");
		assert_string_equal(json_string_value(claim(r, "tee",
		    "binding")), "sha512(nonce||runtime_data)");
		assert_non_null(r->submods[0].key_attestation);
		av_result_free(r);
		/*
		 * Another request nonce: the quotes fail it; the report
		 * stays bound to the quotes (their extraData).
		 */
		r = run_bytes(d, n, rt, sizeof(rt), NULL, 0, NULL);
		expect(r, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
		assert_null(avt_reason(&r->submods[0], "binding_mismatch",
		    NULL));
		assert_string_equal(json_string_value(claim(r, "tee",
		    "binding")), "quote_extra_data");
		av_result_free(r);
		free(d);
	}
}

/* Certificates from the collateral store; a VCEK from nowhere. */
static void
t_snp_chain(void **state)
{
	struct spec		 s = { .tee = TEE_SNP, .no_ask_ark = true };
	struct av_result	*r;
	struct av_err		 e = { 0 };
	struct av_env		 env;
	uint8_t			*der;
	size_t			 n;

	(void)state;
	/* no ASK/ARK in the chain and none in the store: collateral_missing */
	r = run(&s, NULL);
	avt_expect_only(&r->submods[0], "collateral_missing");
	av_result_free(r);
	/* the ASK and ARK in the store, like AMD KDS's chain */
	der = avt_cert_der(F->snp->ask, &n);
	assert_int_equal(av_collateral_add(F->coll, der, n, "ask", &e), 0);
	free(der);
	der = avt_cert_der(F->snp->ark, &n);
	assert_int_equal(av_collateral_add(F->coll, der, n, "ark", &e), 0);
	free(der);
	r = run(&s, NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_true(json_is_true(claim(r, "tee", "verified")));
	av_result_free(r);
	/* no VCEK anywhere (the store has none, KDS is offline) */
	s.no_vcek = true;
	r = run(&s, NULL);
	avt_expect_only(&r->submods[0], "collateral_missing");
	av_result_free(r);
	(void)env;
}

/* The hardware attestation required and absent. */
static void
t_hardware_required(void **state)
{
	struct spec		 s = { .tee = TEE_NONE };
	struct av_policy	*pol = policy("required", NULL);
	struct av_policy	*opt = policy("optional", NULL);
	struct av_result	*r;
	const json_t		*why;

	(void)state;
	r = run(&s, pol);
	avt_expect_only(&r->submods[0], "policy_violation");
	why = avt_find_reason(&r->submods[0], "policy_violation", "tee");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    why, "expected"), 0)), "sev-snp");
	assert_true(json_is_null(json_object_get(why, "actual")));
	assert_true(json_is_null(claim(r, "tee", "type")));
	assert_true(json_is_false(claim(r, "tee", "verified")));
	av_result_free(r);
	/* optional: a plain vTPM attestation is affirmed */
	r = run(&s, opt);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	/* no "hardware" rule: the same */
	av_policy_free(opt);
	opt = policy(NULL, NULL);
	r = run(&s, opt);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	av_policy_free(opt);
}

/* A TD quote as tdx.QuoteV4 fields, verified by the tdx backend. */
static void
t_tdx_good(void **state)
{
	struct spec		 s = { .tee = TEE_TDX };
	struct av_policy	*pol;
	struct av_result	*r;
	uint8_t			 mrtd[48], pad[64] = { 0 };
	char			*m, *rd;

	(void)state;
	memset(mrtd, 0x7d, sizeof(mrtd));
	m = hex(mrtd, 48);
	memcpy(pad, F->nonce, sizeof(F->nonce));
	rd = hex(pad, 64);
	r = run(&s, NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	assert_string_equal(json_string_value(claim(r, "tee", "type")), "tdx");
	assert_true(json_is_true(claim(r, "tee", "verified")));
	assert_string_equal(json_string_value(claim(r, "tee", "binding")),
	    "nonce");
	assert_string_equal(json_string_value(claim(r, "tdx", "mrtd")), m);
	assert_string_equal(json_string_value(claim(r, "tdx", "report_data")),
	    rd);
	assert_null(claim(r, "sev-snp", NULL));
	av_result_free(r);
	/* required hardware, nested tdx rules: affirming */
	pol = avt_policy("gce-tpm", json_pack("{s:s, s:s, s:{s:[s]}}",
	    "ak_trust", "certificate", "hardware", "required", "tdx", "mrtd",
	    m), NULL);
	r = run(&s, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_int_equal(json_array_size(r->submods[0].reasons), 0);
	av_result_free(r);
	/* extra_bytes after the quote */
	s.trailing = 16;
	r = run(&s, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	/* another MRTD in the policy */
	memset(mrtd, 0x7e, sizeof(mrtd));
	free(m);
	m = hex(mrtd, 48);
	pol = avt_policy("gce-tpm", json_pack("{s:{s:[s]}}", "tdx", "mrtd",
	    m), NULL);
	s.trailing = 0;
	r = run(&s, pol);
	avt_expect_only(&r->submods[0], "measurement_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	free(m);
	free(rd);
}

/* TDX: a bad quote signature, a wrong report_data, no collateral. */
static void
t_tdx_bad(void **state)
{
	struct spec		 s = { .tee = TEE_TDX, .flip_sig = true };
	struct av_result	*r;
	uint8_t			 rd[64];

	(void)state;
	r = run(&s, NULL);
	avt_expect_only(&r->submods[0], "signature_invalid");
	av_result_free(r);
	s.flip_sig = false;
	memset(rd, 0x5a, sizeof(rd));
	s.report_data = rd;
	r = run(&s, NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "binding_mismatch");
	assert_non_null(avt_reason(&r->submods[0], "binding_mismatch",
	    "tee.report_data"));
	av_result_free(r);
	/*
	 * No TCB info, QE identity or CRLs anywhere: the tdx backend's
	 * warnings (its policy may require collateral), still verified.
	 */
	s.report_data = NULL;
	s.no_collateral = true;
	r = run(&s, NULL);
	expect(r, AV_STATUS_WARNING, "collateral_missing");
	assert_non_null(avt_reason(&r->submods[0], "collateral_missing",
	    "collateral.tcb_info"));
	assert_non_null(avt_reason(&r->submods[0], "collateral_missing",
	    "collateral.qe_identity"));
	assert_true(json_is_true(claim(r, "tee", "verified")));
	av_result_free(r);
}

/* Hostile tdx.QuoteV4 fields: malformed. */
static void
t_tdx_malformed(void **state)
{
	static const struct { unsigned msg, field; int delta; } f[] = {
		{ 1, 1, 1 },		/* header version 5 */
		{ 1, 1, 65536 },	/* version beyond 2 bytes */
		{ 1, 2, 1 },		/* attestation key type 3 */
		{ 1, 3, 1 },		/* tee type 0x82 */
		{ 1, 4, 1 },		/* qe_svn 3 bytes */
		{ 1, 7, -1 },		/* user_data 19 bytes */
		{ 2, 7, -1 },		/* mr_td 47 bytes */
		{ 2, 12, 1 },		/* report_data 65 bytes */
		{ 3, 3, 1 },		/* signed_data_size off by one */
		{ 4, 1, -1 },		/* certification data type 5 */
		{ 4, 2, 1 },		/* certification data size */
		{ 5, 3, 1 },		/* reserved1 29 bytes */
		{ 5, 10, 65536 },	/* isv_svn beyond 2 bytes */
		{ 6, 1, 1 },		/* auth data size differs */
		{ 7, 2, -1 },		/* QE report signature 63 bytes */
		{ 8, 2, 1 },		/* attestation key 65 bytes */
	};
	struct av_result	*r;

	(void)state;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		struct spec s = { .tee = TEE_TDX, .tdx_msg = f[i].msg,
		    .tdx_field = f[i].field, .tdx_delta = f[i].delta };

		r = run(&s, NULL);
		if (r->submods[0].status != AV_STATUS_CONTRAINDICATED ||
		    avt_reason(&r->submods[0], "evidence_malformed",
		    NULL) == NULL)
			fail_msg("hostile field %u.%u: not malformed",
			    f[i].msg, f[i].field);
		avt_expect_only(&r->submods[0], "evidence_malformed");
		av_result_free(r);
	}
	{
		struct spec s = { .tee = TEE_TDX, .tdx_rtmr3 = true };

		r = run(&s, NULL);
		avt_expect_only(&r->submods[0], "evidence_malformed");
		av_result_free(r);
	}
}

/* The nested sev-snp section is appraised by the sev-snp backend. */
static void
t_snp_policy(void **state)
{
	struct spec		 s = { .tee = TEE_SNP };
	struct av_policy	*pol;
	struct av_result	*r;
	uint8_t			 other[48];
	char			*m;

	(void)state;
	memset(s.measurement, 0x4d, 48);
	memset(other, 0x4e, 48);
	m = hex(other, 48);
	pol = policy(NULL, json_pack("{s:[s]}", "measurement", m));
	r = run(&s, pol);
	avt_expect_only(&r->submods[0], "measurement_mismatch");
	av_result_free(r);
	/* without SNP evidence and no "hardware" rule the section is idle */
	s.tee = TEE_NONE;
	r = run(&s, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	free(m);
}

/* Structured fields of the wrong size or out of range: malformed. */
static void
t_snp_malformed(void **state)
{
	static const unsigned bytes_fields[] = { 4, 5, 11, 12, 13, 14, 15,
	    16, 17, 19, 28 };
	static const struct { unsigned field; uint64_t v; uint32_t ver; }
	    scalars[] = {
		{ 21, 256, 3 },		/* current_build */
		{ 26, 0x1ff, 3 },	/* committed_major */
		{ 10, 1u << 5, 3 },	/* signer_info reserved bit */
		{ 10, 2u << 2, 3 },	/* signing key 2 (reserved) */
		{ 29, 0x00a00f11, 2 },	/* cpuid on a version 2 report */
		{ 29, 0x10a00f11, 3 },	/* cpuid reserved bits */
		{ 29, 0x0ff00f11, 3 },	/* family over a byte */
		{ 30, 1, 3 },		/* mitigation vector before v5 */
		{ 31, 1, 4 },
		{ 1, 6, 3 },		/* unknown report version */
	};
	struct av_result	*r;

	(void)state;
	for (size_t i = 0; i < sizeof(bytes_fields) / sizeof(bytes_fields[0]);
	    i++)
		for (int shrink = 0; shrink <= 1; shrink++) {
			struct spec s = { .tee = TEE_SNP,
			    .resize = bytes_fields[i], .shrink = shrink };

			r = run(&s, NULL);
			avt_expect_only(&r->submods[0], "evidence_malformed");
			av_result_free(r);
		}
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		struct spec s = { .tee = TEE_SNP, .version = scalars[i].ver,
		    .set_field = scalars[i].field, .set_value = scalars[i].v };

		r = run(&s, NULL);
		avt_expect_only(&r->submods[0], "evidence_malformed");
		av_result_free(r);
	}
	{
		struct spec s = { .tee = TEE_SNP, .no_report = true };

		r = run(&s, NULL);
		avt_expect_only(&r->submods[0], "evidence_malformed");
		av_result_free(r);
	}
	/* the Attestation cut anywhere inside the hardware attestation */
	{
		struct spec	 s = { .tee = TEE_SNP }, b = { .tee = TEE_NONE };
		uint8_t		*d, *base;
		size_t		 n, bn;

		d = attestation(&s, &n);
		base = attestation(&b, &bn);
		assert_true(n > bn + 2);
		for (size_t cut = bn + 1; cut < n; cut += (n - bn) / 13 + 1) {
			r = run_bytes(d, cut, F->nonce, sizeof(F->nonce),
			    NULL, 0, NULL);
			avt_expect_only(&r->submods[0], "evidence_malformed");
			av_result_free(r);
		}
		free(d);
		free(base);
	}
}

/*
 * Both members of the tee_attestation oneof, or one twice: protobuf's
 * rule (the last one on the wire wins, as in Go), nothing leaks.
 */
static void
t_oneof(void **state)
{
	struct spec		 snp = { .tee = TEE_SNP }, tdx = { .tee = TEE_TDX };
	struct spec		 none = { .tee = TEE_NONE };
	struct av_result	*r;
	uint8_t			*a, *b, *base, *d;
	size_t			 an, bn, basen;

	(void)state;
	a = attestation(&snp, &an);
	b = attestation(&tdx, &bn);
	base = attestation(&none, &basen);
	/* SNP attestation, then the TDX field appended */
	d = malloc(an + bn - basen);
	assert_non_null(d);
	memcpy(d, a, an);
	memcpy(d + an, b + basen, bn - basen);
	r = run_bytes(d, an + bn - basen, F->nonce, sizeof(F->nonce), NULL,
	    0, NULL);
	/* no TDX collateral in a raw request: its warnings, verified */
	expect(r, AV_STATUS_WARNING, "collateral_missing");
	assert_string_equal(json_string_value(claim(r, "tee", "type")), "tdx");
	assert_true(json_is_true(claim(r, "tee", "verified")));
	av_result_free(r);
	/* the SNP field twice */
	memcpy(d, a, an);
	d = realloc(d, an + an - basen);
	assert_non_null(d);
	memcpy(d + an, a + basen, an - basen);
	r = run_bytes(d, an + an - basen, F->nonce, sizeof(F->nonce), NULL,
	    0, NULL);
	/* the same message twice merges into itself */
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	assert_string_equal(json_string_value(claim(r, "tee", "type")),
	    "sev-snp");
	assert_true(json_is_true(claim(r, "tee", "verified")));
	av_result_free(r);
	free(d);
	free(a);
	free(b);
	free(base);
}

/* Policy keys of gce-tpm: refused values. */
static void
t_policy_errors(void **state)
{
	static const char *const bad[] = {
		"{\"hardware\": \"always\"}",
		"{\"hardware\": true}",
		"{\"sev-snp\": []}",
		"{\"sev-snp\": {\"measurement\": \"zz\"}}",
		"{\"tdx\": []}",
		"{\"tdx\": {\"mrtd\": \"00\"}}",
		"{\"ak_trust\": \"hcl\"}",
		"{\"nonsense\": 1}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct av_policy	*p = NULL;
		struct av_policy_err	 perr = { 0 };
		json_error_t		 je;
		json_t			*doc = json_pack("{s:s, s:i, s:{s:o}}",
		    "id", "x", "version", 1, "evidence", "gce-tpm",
		    json_loads(bad[i], 0, &je));

		assert_non_null(doc);
		assert_int_not_equal(av_policy_compile(doc, &p, &perr), 0);
		assert_null(p);
		assert_non_null(strstr(perr.path, "evidence.gce-tpm"));
		json_decref(doc);
	}
}

/*
 * AV_GCE_REGEN_SEEDS=1: the fuzz seeds in evidence/gce-tpm/, all made
 * here by the test signers.
 */
static void
t_regen_seeds(void **state)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	const char	*regen = getenv("AV_GCE_REGEN_SEEDS");
	static const struct { const char *name; struct spec s; } seeds[] = {
		{ "snp-v3.pb", { .tee = TEE_SNP } },
		{ "snp-v5-extras.pb", { .tee = TEE_SNP, .version = 5,
		    .extras = true } },
		{ "snp-no-chain.pb", { .tee = TEE_SNP, .no_vcek = true,
		    .no_ask_ark = true } },
		{ "snp-short-report-data.pb", { .tee = TEE_SNP, .resize = 11,
		    .shrink = true } },
		{ "tdx.pb", { .tee = TEE_TDX } },
		{ "tdx-trailing.pb", { .tee = TEE_TDX, .trailing = 8 } },
		{ "tdx-3-rtmrs.pb", { .tee = TEE_TDX, .tdx_rtmr3 = true } },
		{ "no-tee.pb", { .tee = TEE_NONE } },
	};
	char		*dir;

	(void)state;
	if (regen == NULL || strcmp(regen, "1") != 0 || src == NULL)
		skip();
	dir = avt_strf("%s/evidence/gce-tpm", src);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		uint8_t	*d;
		size_t	 n;

		d = attestation(&seeds[i].s, &n);
		avt_put(dir, seeds[i].name, d, n);
		free(d);
	}
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_snp_good),
		cmocka_unit_test(t_snp_versions),
		cmocka_unit_test(t_snp_bad_signature),
		cmocka_unit_test(t_snp_binding),
		cmocka_unit_test(t_hardware_required),
		cmocka_unit_test(t_snp_policy),
		cmocka_unit_test(t_tdx_good),
		cmocka_unit_test(t_tdx_bad),
		cmocka_unit_test(t_tdx_malformed),
		cmocka_unit_test(t_snp_malformed),
		cmocka_unit_test(t_oneof),
		cmocka_unit_test(t_policy_errors),
		cmocka_unit_test(t_snp_chain),
		cmocka_unit_test(t_regen_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
