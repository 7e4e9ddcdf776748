/*
 * Test-only TDX signer (see avt_tdx.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "avt_pki.h"
#include "avt_tdx.h"

/* ---- a growable buffer ------------------------------------------------- */

struct dbuf {
	uint8_t	*p;
	size_t	 n, cap;
	bool	 bad;
};

static void
db_put(struct dbuf *b, const void *p, size_t n)
{
	if (b->bad)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t	 cap = b->cap ? b->cap : 256;
		uint8_t	*np;

		while (cap < b->n + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->bad = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void
db_u8(struct dbuf *b, uint8_t v)
{
	db_put(b, &v, 1);
}

static void
db_u16(struct dbuf *b, uint16_t v)
{
	uint8_t x[2] = { v & 0xff, v >> 8 };

	db_put(b, x, 2);
}

static void
db_u32(struct dbuf *b, uint32_t v)
{
	uint8_t x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	db_put(b, x, 4);
}

static void
db_zero(struct dbuf *b, size_t n)
{
	static const uint8_t z[64];

	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		db_put(b, z, k);
		n -= k;
	}
}

static void db_printf(struct dbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
db_printf(struct dbuf *b, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		b->bad = true;
		return;
	}
	db_put(b, buf, (size_t)n);
}

static void
db_hex(struct dbuf *b, const uint8_t *p, size_t n, bool upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *d = upper ? up : lo;

	for (size_t i = 0; i < n; i++) {
		char c[2] = { d[p[i] >> 4], d[p[i] & 15] };

		db_put(b, c, 2);
	}
}

/* ---- DER ----------------------------------------------------------------- */

static void
der_tlv(struct dbuf *b, uint8_t tag, const uint8_t *p, size_t n)
{
	db_u8(b, tag);
	if (n < 0x80)
		db_u8(b, (uint8_t)n);
	else if (n < 0x100) {
		db_u8(b, 0x81);
		db_u8(b, (uint8_t)n);
	} else {
		db_u8(b, 0x82);
		db_u8(b, (uint8_t)(n >> 8));
		db_u8(b, (uint8_t)n);
	}
	db_put(b, p, n);
}

static void
der_uint(struct dbuf *b, uint8_t tag, unsigned v)
{
	uint8_t	x[5];
	size_t	n = 0;

	do {
		x[4 - n++] = v & 0xff;
		v >>= 8;
	} while (v > 0);
	if (x[5 - n] & 0x80)
		x[4 - n++] = 0;
	der_tlv(b, tag, x + 5 - n, n);
}

static const uint8_t oid_sgx[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01
};

/* SEQUENCE { OID sgx.a1[.a2], value-TLV } appended to b. */
static void
der_member(struct dbuf *b, int a1, int a2, const struct dbuf *val)
{
	struct dbuf	seq = { 0 }, oid = { 0 };

	db_put(&oid, oid_sgx, sizeof(oid_sgx));
	db_u8(&oid, (uint8_t)a1);
	if (a2 > 0)
		db_u8(&oid, (uint8_t)a2);
	der_tlv(&seq, 0x06, oid.p, oid.n);
	db_put(&seq, val->p, val->n);
	der_tlv(b, 0x30, seq.p, seq.n);
	if (seq.bad || oid.bad)
		b->bad = true;
	free(seq.p);
	free(oid.p);
}

static void
der_octets_member(struct dbuf *b, int a1, int a2, const uint8_t *p, size_t n)
{
	struct dbuf v = { 0 };

	der_tlv(&v, 0x04, p, n);
	der_member(b, a1, a2, &v);
	free(v.p);
}

/* The SGX Extensions value for spec. */
static int
sgx_ext_der(const struct avt_tdx_pck_spec *s, struct dbuf *out)
{
	struct dbuf	all = { 0 }, tcb = { 0 }, tcbseq = { 0 }, v = { 0 };
	struct dbuf	cfg = { 0 }, cfgseq = { 0 };
	uint8_t		ppid[16], piid[16];

	for (int i = 0; i < 16; i++) {
		ppid[i] = (uint8_t)(0xa0 + i);
		piid[i] = (uint8_t)(0x10 + i);
	}
	der_octets_member(&all, 1, 0, ppid, sizeof(ppid));
	for (int i = 0; i < 16; i++) {
		v.n = 0;
		der_uint(&v, 0x02, s->comp_svn[i]);
		der_member(&tcb, 2, i + 1, &v);
	}
	v.n = 0;
	der_uint(&v, 0x02, s->pcesvn);
	der_member(&tcb, 2, 17, &v);
	der_octets_member(&tcb, 2, 18, s->cpusvn, 16);
	der_tlv(&tcbseq, 0x30, tcb.p, tcb.n);
	der_member(&all, 2, 0, &tcbseq);
	der_octets_member(&all, 3, 0, s->pceid, 2);
	der_octets_member(&all, 4, 0, s->fmspc, 6);
	v.n = 0;
	der_uint(&v, 0x0a, (unsigned)s->sgx_type);
	der_member(&all, 5, 0, &v);
	der_octets_member(&all, 6, 0, piid, sizeof(piid));
	for (int i = 1; i <= 3; i++) {
		uint8_t t = (i == 2) ? 0xff : 0x00;

		v.n = 0;
		der_tlv(&v, 0x01, &t, 1);
		der_member(&cfg, 7, i, &v);
	}
	der_tlv(&cfgseq, 0x30, cfg.p, cfg.n);
	der_member(&all, 7, 0, &cfgseq);
	der_tlv(out, 0x30, all.p, all.n);
	free(all.p);
	free(tcb.p);
	free(tcbseq.p);
	free(v.p);
	free(cfg.p);
	free(cfgseq.p);
	return out->bad ? -1 : 0;
}

/* ---- the PKI --------------------------------------------------------------- */

static X509 *
issue(const char *cn, bool ca, long serial, int64_t nb, int64_t na,
    EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey)
{
	struct avt_cert_spec sp = {
		.cn = cn, .not_before = nb, .not_after = na, .ca = ca,
		.serial = serial, .md = EVP_sha256(),
	};

	return avt_cert_new(&sp, pub, issuer, ikey);
}

/* Re-issue the PCK certificate from spec.  Returns 0/-1. */
int
avt_tdx_set_pck(struct avt_tdx *t, const struct avt_tdx_pck_spec *s)
{
	struct dbuf		 der = { 0 };
	ASN1_OBJECT		*obj = NULL;
	ASN1_OCTET_STRING	*os = NULL;
	X509_EXTENSION		*ex = NULL;
	X509			*x = NULL, *ca = t->pca;
	EVP_PKEY		*cakey = t->pca_key;
	int			 rc = -1;

	if (s->issuer_cn != NULL && strstr(s->issuer_cn, "Processor") != NULL) {
		/* a processor CA beside the platform CA */
		ca = issue(s->issuer_cn, true, 0x7c02, t->now - 2 * 365 * 86400,
		    t->now + 10 * 365 * 86400, t->pca_key, t->root,
		    t->root_key);
		if (ca == NULL)
			goto out;
	}
	if (sgx_ext_der(s, &der) != 0)
		goto out;
	x = issue("Intel SGX PCK Certificate (test)", false, s->serial,
	    s->not_before, s->not_after, t->pck_key, ca, cakey);
	if (x == NULL ||
	    (obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1)) == NULL ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, der.p, (int)der.n) != 1 ||
	    (ex = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    X509_add_ext(x, ex, -1) != 1 ||
	    X509_sign(x, cakey, EVP_sha256()) <= 0)
		goto out;
	X509_free(t->pck);
	t->pck = x;
	x = NULL;
	if (ca != t->pca) {
		X509_free(t->pca);
		t->pca = ca;
		ca = t->pca;
	}
	t->pck_spec = *s;
	rc = 0;
 out:
	if (ca != t->pca)
		X509_free(ca);
	X509_free(x);
	X509_EXTENSION_free(ex);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	free(der.p);
	return rc;
}

struct avt_tdx *
avt_tdx_new(int64_t now)
{
	struct avt_tdx		*t;
	struct avt_tdx_pck_spec	 s;
	static const uint8_t	 comp[16] = { 3, 3, 2, 2, 4, 1, 0, 5 };
	static const uint8_t	 fmspc[6] = { 0x20, 0xa0, 0x6f, 0, 0, 0 };
	int64_t			 nb = now - 2 * 365 * 86400;
	int64_t			 na = now + 10 * 365 * 86400;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->now = now;
	if ((t->root_key = avt_key_new("P-256")) == NULL ||
	    (t->pca_key = avt_key_new("P-256")) == NULL ||
	    (t->pck_key = avt_key_new("P-256")) == NULL ||
	    (t->tcb_key = avt_key_new("P-256")) == NULL ||
	    (t->att_key = avt_key_new("P-256")) == NULL)
		goto bad;
	if ((t->root = issue("Intel SGX Root CA (test)", true, 0x7c00, nb, na,
	    t->root_key, NULL, t->root_key)) == NULL ||
	    (t->pca = issue("Intel SGX PCK Platform CA (test)", true, 0x7c01,
	    nb, na, t->pca_key, t->root, t->root_key)) == NULL ||
	    (t->tcb = issue("Intel SGX TCB Signing (test)", false, 0x7c03, nb,
	    na, t->tcb_key, t->root, t->root_key)) == NULL)
		goto bad;
	memset(&s, 0, sizeof(s));
	memcpy(s.fmspc, fmspc, 6);
	memcpy(s.comp_svn, comp, 16);
	memcpy(s.cpusvn, comp, 16);
	s.pcesvn = 13;
	s.sgx_type = 1;
	s.serial = 0x7d01;
	s.not_before = nb;
	s.not_after = now + 7 * 365 * 86400;
	if (avt_tdx_set_pck(t, &s) != 0)
		goto bad;
	return t;
 bad:
	avt_tdx_free(t);
	return NULL;
}

void
avt_tdx_free(struct avt_tdx *t)
{
	if (t == NULL)
		return;
	EVP_PKEY_free(t->root_key);
	EVP_PKEY_free(t->pca_key);
	EVP_PKEY_free(t->pck_key);
	EVP_PKEY_free(t->tcb_key);
	EVP_PKEY_free(t->att_key);
	X509_free(t->root);
	X509_free(t->pca);
	X509_free(t->pck);
	X509_free(t->tcb);
	free(t);
}

int
avt_tdx_pin(const struct avt_tdx *t, struct av_trust *tr)
{
	uint8_t h[32];

	if (av_x509_sha256(t->root, h) != 0)
		return -1;
	return av_trust_add_pin(tr, "tdx", h);
}

/* ---- quotes ---------------------------------------------------------------- */

static void
pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i);
}

void
avt_tdx_quote_spec_init(struct avt_tdx_quote_spec *s)
{
	static const uint8_t qe_mrsigner[32] = {
		0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17,
		0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
		0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf,
		0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
	};

	memset(s, 0, sizeof(*s));
	s->version = 4;
	s->body_type = 2;
	s->tee_tcb_svn[0] = 5;
	s->tee_tcb_svn[1] = 1;
	s->tee_tcb_svn[2] = 3;
	pattern(s->mrseam, 48, 0x10);
	s->td_attributes = 1ull << 28;
	s->xfam = 0x61ae7;
	pattern(s->mrtd, 48, 0x40);
	pattern(s->mrconfigid, 48, 0x70);
	pattern(s->mrowner, 48, 0x80);
	pattern(s->mrownerconfig, 48, 0x90);
	for (int i = 0; i < 4; i++)
		pattern(s->rtmr[i], 48, (uint8_t)(0xa0 + 0x10 * i));
	memset(s->report_data, 0x5a, 64);
	memcpy(s->tee_tcb_svn2, s->tee_tcb_svn, 16);
	pattern(s->mrservicetd, 48, 0x33);
	s->qe_isvsvn = 8;
	s->qe_isvprodid = 2;
	memcpy(s->qe_mrsigner, qe_mrsigner, 32);
	s->qe_attributes[0] = 0x15;
	s->qe_attributes[8] = 0xe7;
	s->qe_auth_len = 32;
	s->cert_type = 6;
	s->inner_type = 5;
	s->pem_nul = true;
	s->att_key_type = 2;
	s->tee_type = 0x81;
}

static void
db_u64(struct dbuf *b, uint64_t v)
{
	db_u32(b, (uint32_t)v);
	db_u32(b, (uint32_t)(v >> 32));
}

static char *
pem_of(X509 *x)
{
	return avt_cert_pem(x);
}

uint8_t *
avt_tdx_quote(const struct avt_tdx *t, const struct avt_tdx_quote_spec *s,
    size_t *len)
{
	struct dbuf	 q = { 0 }, cd = { 0 }, qe = { 0 }, pem = { 0 };
	uint8_t		 pub[65], auth[1024], h[32], *sig = NULL, *qsig = NULL;
	size_t		 publen = 0, siglen, qsiglen;
	EVP_PKEY	*signer = NULL;
	char		*p1 = NULL, *p2 = NULL, *p3 = NULL;
	uint8_t		*out = NULL;
	bool		 td15 = (s->version == 5 && s->body_type == 3);

	if (EVP_PKEY_get_octet_string_param(t->att_key,
	    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &publen) != 1 ||
	    publen != 65 || s->qe_auth_len > sizeof(auth))
		goto out;
	/* header */
	db_u16(&q, (uint16_t)s->version);
	db_u16(&q, s->att_key_type);
	db_u32(&q, s->tee_type);
	db_u16(&q, 0);
	db_u16(&q, 0);
	{
		static const uint8_t intel[16] = {
			0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
			0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
		};
		uint8_t v[16];

		memcpy(v, intel, 16);
		if (s->bad_vendor)
			v[0] ^= 0xff;
		db_put(&q, v, 16);
	}
	db_zero(&q, 20);
	if (s->version == 5) {
		db_u16(&q, (uint16_t)s->body_type);
		db_u32(&q, td15 ? 648 : 584);
	}
	db_put(&q, s->tee_tcb_svn, 16);
	db_put(&q, s->mrseam, 48);
	db_put(&q, s->mrsignerseam, 48);
	db_put(&q, s->seam_attributes, 8);
	db_u64(&q, s->td_attributes);
	db_u64(&q, s->xfam);
	db_put(&q, s->mrtd, 48);
	db_put(&q, s->mrconfigid, 48);
	db_put(&q, s->mrowner, 48);
	db_put(&q, s->mrownerconfig, 48);
	for (int i = 0; i < 4; i++)
		db_put(&q, s->rtmr[i], 48);
	db_put(&q, s->report_data, 64);
	if (td15) {
		db_put(&q, s->tee_tcb_svn2, 16);
		db_put(&q, s->mrservicetd, 48);
	}
	if (q.bad)
		goto out;

	/* quote signature over header || body */
	signer = t->att_key;
	if (s->sign_with_wrong_key && (signer = avt_key_new("P-256")) == NULL)
		goto out;
	if ((sig = avt_ecdsa_sign_rs(signer, EVP_sha256(), q.p, q.n,
	    &siglen)) == NULL || siglen != 64)
		goto out;
	if (s->corrupt_quote_sig)
		sig[5] ^= 0x01;

	/* PEM chain */
	if ((p1 = pem_of(t->pck)) == NULL || (p2 = pem_of(t->pca)) == NULL ||
	    (p3 = pem_of(t->root)) == NULL)
		goto out;
	db_put(&pem, p1, strlen(p1));
	if (!s->chain_leaf_only) {
		db_put(&pem, p2, strlen(p2));
		db_put(&pem, p3, strlen(p3));
	}
	if (s->pem_nul)
		db_u8(&pem, 0);

	/* QE report */
	for (size_t i = 0; i < s->qe_auth_len; i++)
		auth[i] = (uint8_t)i;
	{
		uint8_t *tmp = malloc(64 + s->qe_auth_len);

		if (tmp == NULL)
			goto out;
		memcpy(tmp, pub + 1, 64);
		memcpy(tmp + 64, auth, s->qe_auth_len);
		av_sha256(tmp, 64 + s->qe_auth_len, h);
		free(tmp);
	}
	if (s->corrupt_qe_binding)
		h[0] ^= 0x01;
	{
		uint8_t cpusvn[16];

		memcpy(cpusvn, t->pck_spec.cpusvn, 16);
		db_put(&qe, cpusvn, 16);
	}
	db_u32(&qe, s->qe_miscselect);
	db_zero(&qe, 28);
	db_put(&qe, s->qe_attributes, 16);
	{
		uint8_t mre[32];

		pattern(mre, 32, 0xe0);
		db_put(&qe, mre, 32);
	}
	db_zero(&qe, 32);
	db_put(&qe, s->qe_mrsigner, 32);
	db_zero(&qe, 96);
	db_u16(&qe, s->qe_isvprodid);
	db_u16(&qe, s->qe_isvsvn);
	db_zero(&qe, 60);
	db_put(&qe, h, 32);
	db_zero(&qe, 32);
	if (qe.bad || qe.n != 384)
		goto out;
	if ((qsig = avt_ecdsa_sign_rs(s->pck_signer != NULL ? s->pck_signer :
	    t->pck_key, EVP_sha256(), qe.p, qe.n, &qsiglen)) == NULL ||
	    qsiglen != 64)
		goto out;
	if (s->corrupt_qe_sig)
		qsig[7] ^= 0x01;

	/* certification data */
	if (s->cert_type == 6) {
		db_put(&cd, qe.p, qe.n);
		db_put(&cd, qsig, 64);
		db_u16(&cd, (uint16_t)s->qe_auth_len);
		db_put(&cd, auth, s->qe_auth_len);
		db_u16(&cd, (uint16_t)s->inner_type);
		db_u32(&cd, (uint32_t)pem.n);
		db_put(&cd, pem.p, pem.n);
	} else
		db_put(&cd, pem.p, pem.n);

	/* signature data */
	db_u32(&q, (uint32_t)(64 + 64 + 2 + 4 + cd.n));
	db_put(&q, sig, 64);
	db_put(&q, pub + 1, 64);
	db_u16(&q, (uint16_t)s->cert_type);
	db_u32(&q, (uint32_t)cd.n);
	db_put(&q, cd.p, cd.n);
	db_zero(&q, s->trailing);
	if (q.bad || cd.bad || pem.bad)
		goto out;
	out = q.p;
	*len = q.n;
	q.p = NULL;
 out:
	if (signer != t->att_key)
		EVP_PKEY_free(signer);
	free(q.p);
	free(cd.p);
	free(qe.p);
	free(pem.p);
	free(sig);
	free(qsig);
	free(p1);
	free(p2);
	free(p3);
	return out;
}

/* ---- collateral documents ----------------------------------------------------- */

const char *
avt_tdx_time(int64_t t)
{
	static char	buf[4][32];
	static int	slot;
	char		*b = buf[slot++ & 3];

	av_time_format(t, b, 32);
	return b;
}

static void
isv_levels_json(struct dbuf *b, const struct avt_tdx_isv_level *l, size_t n)
{
	db_printf(b, "[");
	for (size_t i = 0; i < n; i++) {
		db_printf(b, "%s{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\","
		    "\"tcbStatus\":\"%s\"", i ? "," : "", l[i].isvsvn,
		    l[i].date, l[i].status);
		if (l[i].advisories != NULL)
			db_printf(b, ",\"advisoryIDs\":%s", l[i].advisories);
		db_printf(b, "}");
	}
	db_printf(b, "]");
}

static void
components_json(struct dbuf *b, const char *name, const uint8_t *svn)
{
	db_printf(b, "\"%s\":[", name);
	for (int i = 0; i < 16; i++)
		db_printf(b, "%s{\"svn\":%u%s}", i ? "," : "", svn[i],
		    i == 0 ? ",\"category\":\"BIOS\"" : "");
	db_printf(b, "]");
}

void
avt_tdx_tcb_spec_init(struct avt_tdx_tcb_spec *s, const struct avt_tdx *t)
{
	static const struct avt_tdx_level lv[3] = {
		{ { 3, 3, 2, 2, 4, 1, 0, 5 }, 13, { 5, 0, 3 },
		  "2024-11-13T00:00:00Z", "UpToDate", NULL },
		{ { 2, 2, 2, 2, 3, 1, 0, 5 }, 13, { 5, 0, 2 },
		  "2024-03-13T00:00:00Z", "OutOfDate",
		  "[\"INTEL-SA-01036\",\"INTEL-SA-01099\"]" },
		{ { 2, 2, 2, 2, 3, 1, 0, 5 }, 5, { 5, 0, 2 },
		  "2018-01-04T00:00:00Z", "OutOfDate", "[\"INTEL-SA-00106\"]" },
	};
	static char issue[32], next[32];

	memset(s, 0, sizeof(*s));
	s->id = "TDX";
	s->version = 3;
	snprintf(issue, sizeof(issue), "%s", avt_tdx_time(t->now - 86400));
	snprintf(next, sizeof(next), "%s", avt_tdx_time(t->now + 29 * 86400));
	s->issue_date = issue;
	s->next_update = next;
	memcpy(s->fmspc, t->pck_spec.fmspc, 6);
	memcpy(s->pceid, t->pck_spec.pceid, 2);
	s->eval_num = 18;
	s->nmodules = 1;
	s->modules[0].id = "TDX_01";
	s->modules[0].nlevels = 2;
	s->modules[0].levels[0] = (struct avt_tdx_isv_level){ 5,
	    "2024-11-13T00:00:00Z", "UpToDate", NULL };
	s->modules[0].levels[1] = (struct avt_tdx_isv_level){ 2,
	    "2023-08-09T00:00:00Z", "OutOfDate", "[\"INTEL-SA-01036\"]" };
	s->nlevels = 3;
	memcpy(s->levels, lv, sizeof(lv));
}

/* {"<member>":<body>,"signature":"<hex>"} with body signed by key. */
static char *
signed_doc(const char *member, struct dbuf *body, EVP_PKEY *key,
    bool corrupt)
{
	struct dbuf	 d = { 0 };
	uint8_t		*sig;
	size_t		 siglen;

	if (body->bad || (sig = avt_ecdsa_sign_rs(key, EVP_sha256(), body->p,
	    body->n, &siglen)) == NULL)
		return NULL;
	db_printf(&d, "{\"%s\":", member);
	db_put(&d, body->p, body->n);
	db_printf(&d, ",\"signature\":\"");
	db_hex(&d, sig, siglen, false);
	db_printf(&d, "\"}");
	free(sig);
	if (d.bad) {
		free(d.p);
		return NULL;
	}
	if (corrupt) {
		/* edit the signed text after signing: 18 -> 19 */
		char *p = strstr((char *)d.p, "\"tcbEvaluationDataNumber\":");

		if (p != NULL)
			p[strlen("\"tcbEvaluationDataNumber\":") + 1] ^= 0x01;
	}
	return (char *)d.p;
}

char *
avt_tdx_tcb_info(const struct avt_tdx *t, const struct avt_tdx_tcb_spec *s)
{
	struct dbuf	 b = { 0 };
	char		*out;

	db_printf(&b, "{\"id\":\"%s\",\"version\":%d,\"issueDate\":\"%s\","
	    "\"nextUpdate\":\"%s\",\"fmspc\":\"", s->id, s->version,
	    s->issue_date, s->next_update);
	db_hex(&b, s->fmspc, 6, false);
	db_printf(&b, "\",\"pceId\":\"");
	db_hex(&b, s->pceid, 2, false);
	db_printf(&b, "\",\"tcbType\":0,\"tcbEvaluationDataNumber\":%d,"
	    "\"tdxModule\":{\"mrsigner\":\"", s->eval_num);
	db_hex(&b, s->tdx_module_mrsigner, 48, true);
	db_printf(&b, "\",\"attributes\":\"0000000000000000\","
	    "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}");
	if (s->nmodules > 0) {
		db_printf(&b, ",\"tdxModuleIdentities\":[");
		for (size_t i = 0; i < s->nmodules; i++) {
			db_printf(&b, "%s{\"id\":\"%s\",\"mrsigner\":\"",
			    i ? "," : "", s->modules[i].id);
			db_hex(&b, s->modules[i].mrsigner, 48, true);
			db_printf(&b, "\",\"attributes\":\"0000000000000000\","
			    "\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
			    "\"tcbLevels\":");
			isv_levels_json(&b, s->modules[i].levels,
			    s->modules[i].nlevels);
			db_printf(&b, "}");
		}
		db_printf(&b, "]");
	}
	db_printf(&b, ",\"tcbLevels\":[");
	for (size_t i = 0; i < s->nlevels; i++) {
		const struct avt_tdx_level *l = &s->levels[i];

		db_printf(&b, "%s{\"tcb\":{", i ? "," : "");
		components_json(&b, "sgxtcbcomponents", l->sgx);
		db_printf(&b, ",\"pcesvn\":%u,", l->pcesvn);
		components_json(&b, "tdxtcbcomponents", l->tdx);
		db_printf(&b, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"",
		    l->date, l->status);
		if (l->advisories != NULL)
			db_printf(&b, ",\"advisoryIDs\":%s", l->advisories);
		db_printf(&b, "}");
	}
	db_printf(&b, "]}");
	out = signed_doc("tcbInfo", &b, s->signer != NULL ? s->signer :
	    t->tcb_key, s->corrupt_sig);
	free(b.p);
	return out;
}

void
avt_tdx_qe_spec_init(struct avt_tdx_qe_spec *s, const struct avt_tdx *t)
{
	static const uint8_t mrsigner[32] = {
		0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17,
		0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
		0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf,
		0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
	};
	static char issue[32], next[32];

	memset(s, 0, sizeof(*s));
	s->id = "TD_QE";
	s->version = 2;
	snprintf(issue, sizeof(issue), "%s", avt_tdx_time(t->now - 86400));
	snprintf(next, sizeof(next), "%s", avt_tdx_time(t->now + 29 * 86400));
	s->issue_date = issue;
	s->next_update = next;
	memcpy(s->mrsigner, mrsigner, 32);
	s->isvprodid = 2;
	s->miscselect = 0;
	s->miscselect_mask = 0xffffffff;
	s->attributes[0] = 0x11;
	memset(s->attributes_mask, 0xff, 8);
	s->attributes_mask[0] = 0xfb;
	s->nlevels = 2;
	s->levels[0] = (struct avt_tdx_isv_level){ 8, "2024-03-13T00:00:00Z",
	    "UpToDate", NULL };
	s->levels[1] = (struct avt_tdx_isv_level){ 4, "2023-02-15T00:00:00Z",
	    "OutOfDate", "[\"INTEL-SA-00837\"]" };
}

char *
avt_tdx_qe_identity(const struct avt_tdx *t, const struct avt_tdx_qe_spec *s)
{
	struct dbuf	 b = { 0 };
	char		*out;

	db_printf(&b, "{\"id\":\"%s\",\"version\":%d,\"issueDate\":\"%s\","
	    "\"nextUpdate\":\"%s\",\"tcbEvaluationDataNumber\":18,"
	    "\"miscselect\":\"%08X\",\"miscselectMask\":\"%08X\","
	    "\"attributes\":\"", s->id, s->version, s->issue_date,
	    s->next_update, s->miscselect, s->miscselect_mask);
	db_hex(&b, s->attributes, 16, true);
	db_printf(&b, "\",\"attributesMask\":\"");
	db_hex(&b, s->attributes_mask, 16, true);
	db_printf(&b, "\",\"mrsigner\":\"");
	db_hex(&b, s->mrsigner, 32, true);
	db_printf(&b, "\",\"isvprodid\":%u,\"tcbLevels\":", s->isvprodid);
	isv_levels_json(&b, s->levels, s->nlevels);
	db_printf(&b, "}");
	out = signed_doc("enclaveIdentity", &b, t->tcb_key, s->corrupt_sig);
	if (out != NULL && s->corrupt_sig) {
		char *p = strstr(out, "\"isvprodid\":");

		if (p != NULL)
			p[strlen("\"isvprodid\":")] ^= 0x01;
	}
	free(b.p);
	return out;
}

static char *
two_pem(X509 *a, X509 *b)
{
	char	*p1 = avt_cert_pem(a), *p2 = avt_cert_pem(b), *out = NULL;

	if (p1 != NULL && p2 != NULL &&
	    (out = malloc(strlen(p1) + strlen(p2) + 1)) != NULL) {
		strcpy(out, p1);
		strcat(out, p2);
	}
	free(p1);
	free(p2);
	return out;
}

char *
avt_tdx_tcb_chain_pem(const struct avt_tdx *t)
{
	return two_pem(t->tcb, t->root);
}

char *
avt_tdx_pca_chain_pem(const struct avt_tdx *t)
{
	return two_pem(t->pca, t->root);
}

static char *
crl_pem(X509_CRL *crl)
{
	BIO	*bio;
	BUF_MEM	*bm;
	char	*out = NULL;

	if (crl == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
		X509_CRL_free(crl);
		return NULL;
	}
	if (PEM_write_bio_X509_CRL(bio, crl) == 1 &&
	    BIO_get_mem_ptr(bio, &bm) == 1 &&
	    (out = malloc(bm->length + 1)) != NULL) {
		memcpy(out, bm->data, bm->length);
		out[bm->length] = '\0';
	}
	BIO_free(bio);
	X509_CRL_free(crl);
	return out;
}

char *
avt_tdx_pck_crl_pem(const struct avt_tdx *t, int64_t this_update,
    int64_t next_update, const long *revoked, size_t n)
{
	return crl_pem(avt_crl_new(t->pca, t->pca_key, this_update,
	    next_update, revoked, n));
}

char *
avt_tdx_root_crl_pem(const struct avt_tdx *t, int64_t this_update,
    int64_t next_update, const long *revoked, size_t n)
{
	return crl_pem(avt_crl_new(t->root, t->root_key, this_update,
	    next_update, revoked, n));
}

json_t *
avt_tdx_item(const struct avt_tdx *t, const uint8_t *quote, size_t len,
    const char *tcb_info, const char *qe_identity, const char *pck_crl,
    const char *root_crl)
{
	json_t	*it = json_object(), *c = json_object();
	char	*b64 = av_b64_encode(quote, len);

	if (it == NULL || c == NULL || b64 == NULL) {
		json_decref(it);
		json_decref(c);
		free(b64);
		return NULL;
	}
	json_object_set_new(it, "type", json_string("tdx"));
	json_object_set_new(it, "data", json_string(b64));
	free(b64);
	if (tcb_info != NULL)
		json_object_set_new(c, "tcb_info", json_string(tcb_info));
	if (qe_identity != NULL)
		json_object_set_new(c, "qe_identity", json_string(qe_identity));
	if (t != NULL && (tcb_info != NULL || qe_identity != NULL)) {
		char *chain = avt_tdx_tcb_chain_pem(t);

		if (chain != NULL) {
			if (tcb_info != NULL)
				json_object_set_new(c, "tcb_info_issuer_chain",
				    json_string(chain));
			if (qe_identity != NULL)
				json_object_set_new(c,
				    "qe_identity_issuer_chain",
				    json_string(chain));
		}
		free(chain);
	}
	if (pck_crl != NULL)
		json_object_set_new(c, "pck_crl", json_string(pck_crl));
	if (root_crl != NULL)
		json_object_set_new(c, "root_ca_crl", json_string(root_crl));
	if (json_object_size(c) > 0)
		json_object_set_new(it, "collateral", c);
	else
		json_decref(c);
	return it;
}
