/*
 * attestd - test-only AMD SEV-SNP signer (tests/lib/avt_snp.h).
 *
 * Reports are written at the offsets of the SEV-SNP ABI specification's
 * ATTESTATION_REPORT table, independently of the verifier's parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "av/codec.h"
#include "avt_pki.h"
#include "avt_snp.h"

struct avt_snp_pki *
avt_snp_pki_new(const char *product, int64_t nb, int64_t na)
{
	struct avt_snp_pki	*k;
	struct avt_cert_spec	 sp = { 0 };
	char			 cn[64];

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	snprintf(k->product, sizeof(k->product), "%s", product);
	if ((k->ark_key = avt_key_new("RSA-2048")) == NULL ||
	    (k->ask_key = avt_key_new("RSA-2048")) == NULL ||
	    (k->asvk_key = avt_key_new("RSA-2048")) == NULL)
		goto bad;
	sp.not_before = nb;
	sp.not_after = na;
	sp.ca = true;
	sp.rsa_pss = true;
	sp.md = EVP_sha384();
	snprintf(cn, sizeof(cn), "ARK-%s", product);
	sp.cn = cn;
	if ((k->ark = avt_cert_new(&sp, k->ark_key, NULL, k->ark_key)) == NULL)
		goto bad;
	snprintf(cn, sizeof(cn), "SEV-%s", product);
	if ((k->ask = avt_cert_new(&sp, k->ask_key, k->ark,
	    k->ark_key)) == NULL)
		goto bad;
	snprintf(cn, sizeof(cn), "SEV-VLEK-%s", product);
	if ((k->asvk = avt_cert_new(&sp, k->asvk_key, k->ark,
	    k->ark_key)) == NULL)
		goto bad;
	return k;
 bad:
	avt_snp_pki_free(k);
	return NULL;
}

void
avt_snp_pki_free(struct avt_snp_pki *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->ark_key);
	EVP_PKEY_free(k->ask_key);
	EVP_PKEY_free(k->asvk_key);
	X509_free(k->ark);
	X509_free(k->ask);
	X509_free(k->asvk);
	free(k);
}

uint64_t
avt_snp_tcb_raw(const char *product, const struct avt_snp_tcb *t)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	if (strcmp(product, "Turin") == 0) {
		b[0] = t->fmc;
		b[1] = t->bl;
		b[2] = t->tee;
		b[3] = t->snp;
	} else {
		b[0] = t->bl;
		b[1] = t->tee;
		b[6] = t->snp;
	}
	b[7] = t->ucode;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* Add extension oid whose OCTET STRING holds der (n bytes). */
static int
add_raw_ext(X509 *x, const char *oid, const uint8_t *der, size_t n)
{
	ASN1_OBJECT		*obj = NULL;
	ASN1_OCTET_STRING	*os = NULL;
	X509_EXTENSION		*ex = NULL;
	int			 rc = -1;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, der, (int)n) != 1 ||
	    (ex = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    X509_add_ext(x, ex, -1) != 1)
		goto out;
	rc = 0;
 out:
	X509_EXTENSION_free(ex);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return rc;
}

/* DER INTEGER v (0..65535) as AMD encodes the SPLs. */
static int
add_int_ext(X509 *x, const char *oid, unsigned v)
{
	uint8_t	der[5];
	size_t	n;

	der[0] = 0x02;
	if (v < 0x80) {
		der[1] = 1;
		der[2] = (uint8_t)v;
		n = 3;
	} else if (v < 0x100) {
		der[1] = 2;
		der[2] = 0;
		der[3] = (uint8_t)v;
		n = 4;
	} else {
		der[1] = 2;
		der[2] = (uint8_t)(v >> 8);
		der[3] = (uint8_t)v;
		n = 4;
	}
	return add_raw_ext(x, oid, der, n);
}

static int
add_ia5_ext(X509 *x, const char *oid, const char *s)
{
	uint8_t	der[130];
	size_t	n = strlen(s);

	if (n > 127)
		return -1;
	der[0] = 0x16;
	der[1] = (uint8_t)n;
	memcpy(der + 2, s, n);
	return add_raw_ext(x, oid, der, n + 2);
}

static int
set_name(X509_NAME *nm, const char *cn)
{
	return X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"attestd tests", -1, -1, 0) == 1 &&
	    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) == 1 ? 0 : -1;
}

X509 *
avt_snp_leaf_new(const struct avt_snp_pki *k,
    const struct avt_snp_leaf_spec *sp, EVP_PKEY *key)
{
	X509		*x = NULL, *iss = sp->vlek ? k->asvk : k->ask;
	EVP_PKEY	*ikey = sp->vlek ? k->asvk_key : k->ask_key;
	X509_NAME	*nm = NULL;
	EVP_MD_CTX	*mctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	ASN1_INTEGER	*serial = NULL;
	bool		 ok = false;

	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1)
		goto out;
	if ((serial = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set(serial, sp->serial_zero ? 0 :
	    (long)(1 + (rand() & 0xffffff))) != 1 ||
	    X509_set_serialNumber(x, serial) != 1)
		goto out;
	if (ASN1_TIME_adj(X509_getm_notBefore(x), (time_t)sp->not_before, 0,
	    0) == NULL || ASN1_TIME_adj(X509_getm_notAfter(x),
	    (time_t)sp->not_after, 0, 0) == NULL)
		goto out;
	if ((nm = X509_NAME_new()) == NULL ||
	    set_name(nm, sp->vlek ? "SEV-VLEK" : "SEV-VCEK") != 0 ||
	    X509_set_subject_name(x, nm) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(iss)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	/* AMD 57230 s.3: the VCEK/VLEK extensions. */
	if (add_int_ext(x, "1.3.6.1.4.1.3704.1.1", 0) != 0)
		goto out;
	if (sp->product_name != NULL &&
	    add_ia5_ext(x, "1.3.6.1.4.1.3704.1.2", sp->product_name) != 0)
		goto out;
	if (!sp->no_tcb) {
		if (sp->fmc &&
		    add_int_ext(x, "1.3.6.1.4.1.3704.1.3.9", sp->tcb.fmc) != 0)
			goto out;
		if (add_int_ext(x, "1.3.6.1.4.1.3704.1.3.1", sp->tcb.bl) != 0 ||
		    add_int_ext(x, "1.3.6.1.4.1.3704.1.3.2", sp->tcb.tee) != 0 ||
		    add_int_ext(x, "1.3.6.1.4.1.3704.1.3.4", 0) != 0 ||
		    add_int_ext(x, "1.3.6.1.4.1.3704.1.3.3", sp->tcb.snp) != 0 ||
		    add_int_ext(x, "1.3.6.1.4.1.3704.1.3.8", sp->tcb.ucode) != 0)
			goto out;
	}
	if (sp->hwid != NULL &&
	    add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", sp->hwid, sp->hwid_len) != 0)
		goto out;
	if (sp->csp_id != NULL &&
	    add_ia5_ext(x, "1.3.6.1.4.1.3704.1.5", sp->csp_id) != 0)
		goto out;
	if (sp->extra_oid != NULL && add_raw_ext(x, sp->extra_oid,
	    sp->extra_der, sp->extra_len) != 0)
		goto out;
	/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: like AMD's ASK. */
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), NULL, ikey) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) <= 0 ||
	    X509_sign_ctx(x, mctx) <= 0)
		goto out;
	ok = true;
 out:
	EVP_MD_CTX_free(mctx);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(nm);
	if (!ok) {
		ERR_print_errors_fp(stderr);
		X509_free(x);
		x = NULL;
	}
	return x;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int
avt_snp_report(const struct avt_snp_fields *f, EVP_PKEY *key,
    uint8_t out[AVT_SNP_REPORT_LEN])
{
	uint8_t	*rs;
	size_t	 rslen;

	memset(out, 0, AVT_SNP_REPORT_LEN);
	put32(out + 0x000, f->version);
	put32(out + 0x004, f->guest_svn);
	put64(out + 0x008, f->policy != 0 ? f->policy : 0x30000);
	memcpy(out + 0x010, f->family_id, 16);
	memcpy(out + 0x020, f->image_id, 16);
	put32(out + 0x030, f->vmpl);
	put32(out + 0x034, f->sig_algo != 0 ? f->sig_algo : 1);
	put64(out + 0x038, f->current_tcb);
	put64(out + 0x040, f->platform_info);
	put32(out + 0x048, f->signer_info);
	memcpy(out + 0x050, f->report_data, 64);
	memcpy(out + 0x090, f->measurement, 48);
	memcpy(out + 0x0C0, f->host_data, 32);
	memcpy(out + 0x0E0, f->id_key_digest, 48);
	memcpy(out + 0x110, f->author_key_digest, 48);
	memcpy(out + 0x140, f->report_id, 32);
	memcpy(out + 0x160, f->report_id_ma, 32);
	put64(out + 0x180, f->reported_tcb);
	if (f->version >= 3) {
		out[0x188] = f->cpuid_fam;
		out[0x189] = f->cpuid_mod;
		out[0x18A] = f->cpuid_step;
	}
	memcpy(out + 0x1A0, f->chip_id, 64);
	put64(out + 0x1E0, f->committed_tcb);
	out[0x1E8] = f->current_build;
	out[0x1E9] = f->current_minor;
	out[0x1EA] = f->current_major;
	out[0x1EC] = f->committed_build;
	out[0x1ED] = f->committed_minor;
	out[0x1EE] = f->committed_major;
	put64(out + 0x1F0, f->launch_tcb);
	if (f->version >= 5) {
		put64(out + 0x1F8, f->launch_mit_vector);
		put64(out + 0x200, f->current_mit_vector);
	}
	if (key == NULL)
		return 0;
	if ((rs = avt_ecdsa_sign_rs(key, EVP_sha384(), out, 0x2A0,
	    &rslen)) == NULL || rslen != 96) {
		free(rs);
		return -1;
	}
	/* Big-endian r || s into 72-byte little-endian R and S. */
	for (int i = 0; i < 48; i++) {
		out[0x2A0 + i] = rs[47 - i];
		out[0x2A0 + 72 + i] = rs[95 - i];
	}
	free(rs);
	return 0;
}

static const uint8_t guid_vcek[16] = {
	0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd
};
static const uint8_t guid_vlek[16] = {
	0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1
};
static const uint8_t guid_ask[16] = {
	0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82
};
static const uint8_t guid_ark[16] = {
	0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae
};

uint8_t *
avt_snp_cert_table(X509 *leaf, bool vlek, X509 *ask, X509 *ark, size_t *len)
{
	X509		*certs[3] = { leaf, ask, ark };
	const uint8_t	*guids[3] = { vlek ? guid_vlek : guid_vcek, guid_ask,
			    guid_ark };
	uint8_t		*der[3] = { NULL, NULL, NULL }, *buf = NULL;
	size_t		 dlen[3] = { 0, 0, 0 }, n = 0, hdr, off;

	for (int i = 0; i < 3; i++) {
		if (certs[i] == NULL)
			continue;
		if ((der[i] = avt_cert_der(certs[i], &dlen[i])) == NULL)
			goto out;
		n++;
	}
	hdr = (n + 1) * 24;
	off = hdr;
	for (int i = 0; i < 3; i++)
		off += dlen[i];
	if ((buf = calloc(1, off)) == NULL)
		goto out;
	off = hdr;
	n = 0;
	for (int i = 0; i < 3; i++) {
		if (der[i] == NULL)
			continue;
		memcpy(buf + n * 24, guids[i], 16);
		put32(buf + n * 24 + 16, (uint32_t)off);
		put32(buf + n * 24 + 20, (uint32_t)dlen[i]);
		memcpy(buf + off, der[i], dlen[i]);
		off += dlen[i];
		n++;
	}
	*len = off;
 out:
	for (int i = 0; i < 3; i++)
		free(der[i]);
	return buf;
}

char *
avt_snp_b64_der(X509 *x)
{
	uint8_t	*der;
	size_t	 n;
	char	*s;

	if ((der = avt_cert_der(x, &n)) == NULL)
		return NULL;
	s = av_b64_encode(der, n);
	free(der);
	return s;
}
