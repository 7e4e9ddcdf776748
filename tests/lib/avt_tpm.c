/*
 * attestd - test-only TPM 2.0 evidence (see avt_tpm.h).  Never linked
 * into the verifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "avt_pb.h"
#include "avt_pki.h"
#include "avt_tpm.h"

static const struct {
	uint16_t	 alg;
	size_t		 size;
	const char	*name;
} avt_banks[AVT_NBANKS] = {
	{ TPM2_ALG_SHA1, 20, "sha1" },
	{ TPM2_ALG_SHA256, 32, "sha256" },
	{ TPM2_ALG_SHA384, 48, "sha384" },
};

static const EVP_MD *
bank_md(int b)
{
	return b == AVT_SHA1 ? EVP_sha1() : b == AVT_SHA256 ? EVP_sha256() :
	    EVP_sha384();
}

static const EVP_MD *
alg_md(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:
		return EVP_sha1();
	case TPM2_ALG_SHA384:
		return EVP_sha384();
	case TPM2_ALG_SHA512:
		return EVP_sha512();
	case TPM2_ALG_SHA256:
	default:
		return EVP_sha256();
	}
}

size_t
avt_bank_size(int bank)
{
	return avt_banks[bank].size;
}

void
avt_pcr_extend(struct avt_pcrs *p, int b, unsigned pcr, const uint8_t *d)
{
	uint8_t		buf[96];
	size_t		n = avt_banks[b].size;
	unsigned int	olen;

	memcpy(buf, p->v[b][pcr], n);
	memcpy(buf + n, d, n);
	EVP_Digest(buf, 2 * n, p->v[b][pcr], &olen, bank_md(b), NULL);
}

uint8_t *
avt_tpm_attest(const struct avt_quote_spec *s, const struct avt_pcrs *pcrs,
    size_t *len)
{
	TPMS_ATTEST	*a;
	EVP_MD_CTX	*m;
	uint8_t		*buf;
	size_t		 off = 0;
	unsigned int	 dl;
	uint16_t	 h = s->sig_hash ? s->sig_hash : TPM2_ALG_SHA256;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (buf = malloc(sizeof(*a))) == NULL) {
		free(a);
		return NULL;
	}
	a->magic = s->magic ? s->magic : TPM2_GENERATED_VALUE;
	a->type = s->type ? s->type : TPM2_ST_ATTEST_QUOTE;
	a->qualifiedSigner.size = 34;
	a->qualifiedSigner.name[0] = 0x00;
	a->qualifiedSigner.name[1] = 0x0b;
	memset(a->qualifiedSigner.name + 2, 0x5a, 32);
	a->extraData.size = (UINT16)s->nonce_len;
	if (s->nonce_len > 0)
		memcpy(a->extraData.buffer, s->nonce, s->nonce_len);
	a->clockInfo.clock = 123456789;
	a->clockInfo.resetCount = 7;
	a->clockInfo.restartCount = 1;
	a->clockInfo.safe = 1;
	a->firmwareVersion = 0x2019102300163636ULL;
	m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, alg_md(h), NULL);
	for (int b = 0; b < AVT_NBANKS; b++) {
		TPMS_PCR_SELECTION *ps;

		if (s->sel[b] == 0)
			continue;
		ps = &a->attested.quote.pcrSelect.pcrSelections[
		    a->attested.quote.pcrSelect.count++];
		ps->hash = avt_banks[b].alg;
		ps->sizeofSelect = 3;
		for (unsigned i = 0; i < AVT_TPM_NPCR; i++)
			if (s->sel[b] & (1u << i)) {
				ps->pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
				EVP_DigestUpdate(m, pcrs->v[b][i],
				    avt_banks[b].size);
			}
	}
	EVP_DigestFinal_ex(m, a->attested.quote.pcrDigest.buffer, &dl);
	EVP_MD_CTX_free(m);
	a->attested.quote.pcrDigest.size = (UINT16)dl;
	if (s->bad_digest)
		a->attested.quote.pcrDigest.buffer[0] ^= 1;
	if (Tss2_MU_TPMS_ATTEST_Marshal(a, buf, sizeof(*a), &off) !=
	    TSS2_RC_SUCCESS) {
		free(a);
		free(buf);
		return NULL;
	}
	free(a);
	*len = off;
	return buf;
}

uint8_t *
avt_tpm_sign(EVP_PKEY *key, enum avt_sig scheme, uint16_t hash,
    const uint8_t *msg, size_t n, size_t *len)
{
	TPMT_SIGNATURE	 sig;
	EVP_MD_CTX	*mctx;
	EVP_PKEY_CTX	*pctx = NULL;
	uint8_t		*rs, *buf = NULL, raw[1024];
	size_t		 rl = sizeof(raw), half, off = 0;

	memset(&sig, 0, sizeof(sig));
	if (scheme == AVT_ECDSA) {
		if ((rs = avt_ecdsa_sign_rs(key, alg_md(hash), msg, n,
		    &rl)) == NULL)
			return NULL;
		half = rl / 2;
		sig.sigAlg = TPM2_ALG_ECDSA;
		sig.signature.ecdsa.hash = hash;
		sig.signature.ecdsa.signatureR.size = (UINT16)half;
		memcpy(sig.signature.ecdsa.signatureR.buffer, rs, half);
		sig.signature.ecdsa.signatureS.size = (UINT16)half;
		memcpy(sig.signature.ecdsa.signatureS.buffer, rs + half, half);
		free(rs);
	} else {
		if ((mctx = EVP_MD_CTX_new()) == NULL)
			return NULL;
		if (EVP_DigestSignInit(mctx, &pctx, alg_md(hash), NULL,
		    key) != 1 ||
		    (scheme == AVT_RSAPSS &&
		    (EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_MAX) != 1)) ||
		    EVP_DigestSign(mctx, raw, &rl, msg, n) != 1) {
			EVP_MD_CTX_free(mctx);
			return NULL;
		}
		EVP_MD_CTX_free(mctx);
		sig.sigAlg = scheme == AVT_RSAPSS ? TPM2_ALG_RSAPSS :
		    TPM2_ALG_RSASSA;
		sig.signature.rsassa.hash = hash;
		sig.signature.rsassa.sig.size = (UINT16)rl;
		memcpy(sig.signature.rsassa.sig.buffer, raw, rl);
	}
	if ((buf = malloc(sizeof(sig))) == NULL)
		return NULL;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, buf, sizeof(sig), &off) !=
	    TSS2_RC_SUCCESS) {
		free(buf);
		return NULL;
	}
	*len = off;
	return buf;
}

uint8_t *
avt_tpm_public(EVP_PKEY *key, bool restricted, size_t *len)
{
	TPM2B_PUBLIC	 pub;
	TPMT_PUBLIC	*t = &pub.publicArea;
	BIGNUM		*bn = NULL;
	uint8_t		*buf, pt[1 + 2 * 48];
	size_t		 off = 0, ptlen, fs;
	char		 grp[32];

	memset(&pub, 0, sizeof(pub));
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_SIGN_ENCRYPT;
	if (restricted)
		t->objectAttributes |= TPMA_OBJECT_RESTRICTED;
	if (EVP_PKEY_is_a(key, "RSA")) {
		t->type = TPM2_ALG_RSA;
		t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
		t->parameters.rsaDetail.scheme.details.rsassa.hashAlg =
		    TPM2_ALG_SHA256;
		t->parameters.rsaDetail.keyBits =
		    (TPMI_RSA_KEY_BITS)EVP_PKEY_get_bits(key);
		t->parameters.rsaDetail.exponent = 0;
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &bn) != 1)
			return NULL;
		t->unique.rsa.size = (UINT16)BN_num_bytes(bn);
		BN_bn2bin(bn, t->unique.rsa.buffer);
		BN_free(bn);
	} else {
		t->type = TPM2_ALG_ECC;
		t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		t->parameters.eccDetail.scheme.details.ecdsa.hashAlg =
		    TPM2_ALG_SHA256;
		t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		if (EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), NULL) != 1)
			return NULL;
		if (strcmp(grp, "prime256v1") == 0) {
			t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
			fs = 32;
		} else {
			t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
			fs = 48;
		}
		if (EVP_PKEY_get_octet_string_param(key,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen) != 1 ||
		    ptlen != 1 + 2 * fs)
			return NULL;
		t->unique.ecc.x.size = (UINT16)fs;
		memcpy(t->unique.ecc.x.buffer, pt + 1, fs);
		t->unique.ecc.y.size = (UINT16)fs;
		memcpy(t->unique.ecc.y.buffer, pt + 1 + fs, fs);
	}
	if ((buf = malloc(sizeof(pub))) == NULL)
		return NULL;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(pub), &off) !=
	    TSS2_RC_SUCCESS) {
		free(buf);
		return NULL;
	}
	*len = off;
	return buf;
}

/* ---- go-tpm-tools Attestation (protobuf) -------------------------------- */

uint8_t *
avt_gce_attestation(const uint8_t *tpmt, size_t tlen,
    const struct avt_gce_quote *q, size_t nq, const uint8_t *evlog,
    size_t evlen, const uint8_t *cert, size_t certlen, size_t *len)
{
	struct avt_pb out = { 0 };

	avt_pb_bytes(&out, 1, tpmt, tlen);
	for (size_t i = 0; i < nq; i++) {
		struct avt_pb qb = { 0 }, pc = { 0 };

		avt_pb_bytes(&qb, 1, q[i].msg, q[i].msglen);
		avt_pb_bytes(&qb, 2, q[i].sig, q[i].siglen);
		avt_pb_varint(&pc, 1 << 3 | 0);		/* hash */
		avt_pb_varint(&pc, avt_banks[q[i].bank].alg);
		for (unsigned k = 0; k < AVT_TPM_NPCR; k++) {
			struct avt_pb ent = { 0 };

			if (!(q[i].mask & (1u << k)))
				continue;
			avt_pb_varint(&ent, 1 << 3 | 0);	/* key */
			avt_pb_varint(&ent, k);
			avt_pb_bytes(&ent, 2, q[i].pcrs->v[q[i].bank][k],
			    avt_banks[q[i].bank].size);
			avt_pb_bytes(&pc, 2, ent.p, ent.len);
			free(ent.p);
		}
		avt_pb_bytes(&qb, 3, pc.p, pc.len);
		avt_pb_bytes(&out, 2, qb.p, qb.len);
		free(qb.p);
		free(pc.p);
	}
	if (evlog != NULL)
		avt_pb_bytes(&out, 3, evlog, evlen);
	if (cert != NULL)
		avt_pb_bytes(&out, 6, cert, certlen);
	*len = out.len;
	return out.p;
}

/* ---- event logs --------------------------------------------------------- */

struct avt_evlog {
	bool		 sha1_only;
	uint8_t		*buf;
	size_t		 len, cap;
	struct avt_pcrs	 pcrs;
	char		*ext;		/* extend lines */
	size_t		 extlen;
};

static void
put(struct avt_evlog *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2 + 256;
		l->buf = realloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void
put32(struct avt_evlog *l, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 24) };

	put(l, b, 4);
}

static void
put16(struct avt_evlog *l, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(l, b, 2);
}

struct avt_evlog *
avt_evlog_new(bool sha1_only)
{
	struct avt_evlog	*l = calloc(1, sizeof(*l));
	uint8_t			 zero[20] = { 0 };

	l->sha1_only = sha1_only;
	if (sha1_only)
		return l;
	/* PFP s.10.4.5.1: the Spec ID event, in the SHA-1 event format */
	put32(l, 0);
	put32(l, 3);		/* EV_NO_ACTION */
	put(l, zero, 20);
	put32(l, 16 + 4 + 4 + 4 + 3 * 4 + 1);
	put(l, "Spec ID Event03", 16);
	put32(l, 0);		/* platformClass */
	put(l, "\x00\x02\x00\x02", 4);	/* 2.0 errata 0, uintnSize 2 */
	put32(l, AVT_NBANKS);
	for (int b = 0; b < AVT_NBANKS; b++) {
		put16(l, avt_banks[b].alg);
		put16(l, (uint16_t)avt_banks[b].size);
	}
	put(l, "", 1);		/* vendorInfoSize 0 */
	return l;
}

void
avt_evlog_free(struct avt_evlog *l)
{
	if (l == NULL)
		return;
	free(l->buf);
	free(l->ext);
	free(l);
}

static void
add_ext(struct avt_evlog *l, const char *s)
{
	size_t n = strlen(s);

	l->ext = realloc(l->ext, l->extlen + n + 1);
	memcpy(l->ext + l->extlen, s, n + 1);
	l->extlen += n;
}

void
avt_evlog_add(struct avt_evlog *l, uint32_t pcr, uint32_t type,
    const void *data, size_t len, const void *hashed, size_t hlen)
{
	uint8_t		 d[AVT_NBANKS][48];
	unsigned int	 dl;
	char		 line[512], hex[97];
	int		 nb = l->sha1_only ? 1 : AVT_NBANKS;

	if (hashed == NULL) {
		hashed = data;
		hlen = len;
	}
	for (int b = 0; b < nb; b++)
		EVP_Digest(hashed, hlen, d[b], &dl, bank_md(b), NULL);
	put32(l, pcr);
	put32(l, type);
	if (l->sha1_only)
		put(l, d[0], 20);
	else {
		put32(l, AVT_NBANKS);
		for (int b = 0; b < AVT_NBANKS; b++) {
			put16(l, avt_banks[b].alg);
			put(l, d[b], avt_banks[b].size);
		}
	}
	put32(l, (uint32_t)len);
	put(l, data, len);
	if (type == 3)		/* EV_NO_ACTION: not extended */
		return;
	snprintf(line, sizeof(line), "%u:", pcr);
	for (int b = 0; b < nb; b++) {
		avt_pcr_extend(&l->pcrs, b, pcr, d[b]);
		for (size_t i = 0; i < avt_banks[b].size; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[b][i]);
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    "%s%s=%s", b ? "," : "", avt_banks[b].name, hex);
	}
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	add_ext(l, line);
}

void
avt_evlog_locality(struct avt_evlog *l, uint8_t locality)
{
	uint8_t ev[17];

	memcpy(ev, "StartupLocality", 16);
	ev[16] = locality;
	avt_evlog_add(l, 0, 3, ev, sizeof(ev), NULL, 0);
	for (int b = 0; b < AVT_NBANKS; b++)
		l->pcrs.v[b][0][avt_banks[b].size - 1] = locality;
}

void
avt_evlog_efivar(struct avt_evlog *l, const char *name, const void *data,
    size_t len)
{
	/* EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c */
	static const uint8_t guid[16] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93,
	    0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
	size_t	 nl = strlen(name), n = 16 + 8 + 8 + 2 * nl + len;
	uint8_t	*v = calloc(1, n), *p = v;

	memcpy(p, guid, 16);
	p += 16;
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)((uint64_t)nl >> (8 * i));
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)((uint64_t)len >> (8 * i));
	for (size_t i = 0; i < nl; i++) {
		*p++ = (uint8_t)name[i];
		*p++ = 0;
	}
	memcpy(p, data, len);
	avt_evlog_add(l, 7, 0x80000001u, v, n, NULL, 0);
	free(v);
}

void
avt_evlog_image(struct avt_evlog *l, const void *pe, size_t len)
{
	/* PFP s.10.4.3 UEFI_IMAGE_LOAD_EVENT: 4 x UINT64 + device path */
	uint8_t ev[32 + 4] = { 0 };

	ev[0] = 0x18;		/* ImageLocationInMemory 0x10000018 */
	ev[3] = 0x10;
	ev[9] = 0x10;		/* ImageLengthInMemory 0x1000 */
	ev[24] = 4;		/* LengthOfDevicePath */
	ev[32] = 0x7f;		/* End of Hardware Device Path */
	ev[33] = 0xff;
	ev[34] = 0x04;
	avt_evlog_add(l, 4, 0x80000003u, ev, sizeof(ev), pe, len);
}

const uint8_t *
avt_evlog_bytes(const struct avt_evlog *l, size_t *len)
{
	*len = l->len;
	return l->buf;
}

const struct avt_pcrs *
avt_evlog_pcrs(const struct avt_evlog *l)
{
	return &l->pcrs;
}

char *
avt_evlog_extends(const struct avt_evlog *l)
{
	return strdup(l->ext != NULL ? l->ext : "");
}
