/*
 * attestd - test-only NVIDIA GPU signer (see avt_nvgpu.h).  Never linked
 * into the verifier.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
typedef struct dsa_st DSA;	/* for xmlsec's OpenSSL header */
typedef struct rsa_st RSA;
typedef struct ec_key_st EC_KEY;
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "avt_nvgpu.h"
#include "avt_pki.h"
#include "evidence/nvgpu.h"

/* ---- a growable buffer ------------------------------------------------ */

struct buf {
	uint8_t	*p;
	size_t	 n, cap;
	bool	 bad;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	uint8_t *np;

	if (b->bad)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;

		if ((np = realloc(b->p, cap)) == NULL) {
			b->bad = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void
put8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void
put16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(b, x, 2);
}

static void __attribute__((format(printf, 2, 3)))
putf(struct buf *b, const char *fmt, ...)
{
	char	 small[512], *s = small;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->bad = true;
		return;
	}
	if ((size_t)n >= sizeof(small)) {
		if ((s = malloc((size_t)n + 1)) == NULL) {
			b->bad = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	put(b, s, (size_t)n);
	if (s != small)
		free(s);
}

/* ---- device PKI ------------------------------------------------------- */

/* DER TLV (definite length) of content c. */
static void
der(struct buf *b, uint8_t tag, const uint8_t *c, size_t n)
{
	put8(b, tag);
	if (n < 0x80)
		put8(b, (uint8_t)n);
	else if (n < 0x100) {
		put8(b, 0x81);
		put8(b, (uint8_t)n);
	} else {
		put8(b, 0x82);
		put8(b, (uint8_t)(n >> 8));
		put8(b, (uint8_t)n);
	}
	put(b, c, n);
}

/* The TCG DICE extension value: SEQ { INT 1, SPKI, SEQ { OID, OCTET } }. */
static int
add_fwid_ext(X509 *x, EVP_PKEY *key, const uint8_t fwid[48])
{
	static const uint8_t sha384_oid[] = { 0x60, 0x86, 0x48, 0x01, 0x65,
	    0x03, 0x04, 0x02, 0x02 };
	struct buf		 inner = { 0 }, fw = { 0 }, seq = { 0 };
	uint8_t			*spki = NULL;
	int			 sl, rc = -1;
	ASN1_OBJECT		*oid = NULL;
	ASN1_OCTET_STRING	*os = NULL;
	X509_EXTENSION		*ext = NULL;
	const uint8_t		 one = 1;

	if ((sl = i2d_PUBKEY(key, &spki)) <= 0)
		goto out;
	der(&fw, 0x06, sha384_oid, sizeof(sha384_oid));
	der(&fw, 0x04, fwid, 48);
	der(&inner, 0x02, &one, 1);
	put(&inner, spki, (size_t)sl);
	der(&inner, 0x30, fw.p, fw.n);
	der(&seq, 0x30, inner.p, inner.n);
	if (seq.bad || (oid = OBJ_txt2obj("2.23.133.5.4.1", 1)) == NULL ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, seq.p, (int)seq.n) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	rc = 0;
 out:
	OPENSSL_free(spki);
	free(inner.p);
	free(fw.p);
	free(seq.p);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
	X509_EXTENSION_free(ext);
	return rc;
}

static int
add_conf_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 rc;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, val)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

void
avt_nv_pki_free(struct avt_nv_pki *pki)
{
	if (pki == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		EVP_PKEY_free(pki->key[i]);
		X509_free(pki->cert[i]);
	}
	free(pki);
}

struct avt_nv_pki *
avt_nv_pki_new(const struct avt_nv_pki_spec *sp)
{
	static const char *const cn[5] = { "GH100 A01 GSP FMC LF",
	    "GH100 A01 GSP BROM", "NVIDIA GH100 Provisioner ICA 1",
	    "NVIDIA GH100 Identity", "NVIDIA Device Identity CA" };
	struct avt_nv_pki	*pki;
	struct avt_cert_spec	 cs = { 0 };
	char			 san[128];

	if ((pki = calloc(1, sizeof(*pki))) == NULL)
		return NULL;
	if (sp->fwid != NULL)
		memcpy(pki->fwid, sp->fwid, 48);
	else
		for (int i = 0; i < 48; i++)
			pki->fwid[i] = (uint8_t)(0xF0 ^ i);
	for (int i = 4; i >= 0; i--) {
		if ((pki->key[i] = avt_key_new("P-384")) == NULL)
			goto bad;
		cs.cn = cn[i];
		cs.ca = i > 0;
		cs.not_before = sp->not_before;
		cs.not_after = sp->not_after;
		cs.md = EVP_sha384();
		pki->cert[i] = avt_cert_new(&cs, pki->key[i],
		    i == 4 ? NULL : pki->cert[i + 1], pki->key[i == 4 ? 4 : i + 1]);
		if (pki->cert[i] == NULL)
			goto bad;
	}
	/* the leaf's SAN and FWID, then sign it again */
	snprintf(san, sizeof(san),
	    "otherName:1.3.6.1.4.1.412.274.1;UTF8:NVIDIA:%s:48B02D92494BADF4",
	    sp->chip != NULL ? sp->chip : "GH100");
	if (add_conf_ext(pki->cert[0], pki->cert[1], NID_subject_alt_name,
	    san) != 0)
		goto bad;
	if (!sp->no_fwid_ext && add_fwid_ext(pki->cert[0], pki->key[0],
	    pki->fwid) != 0)
		goto bad;
	if (X509_sign(pki->cert[0], pki->key[1], EVP_sha384()) <= 0)
		goto bad;
	return pki;
 bad:
	avt_nv_pki_free(pki);
	return NULL;
}

char *
avt_nv_chain_pem(const struct avt_nv_pki *pki, int from, int to)
{
	struct buf b = { 0 };

	for (int i = from; i <= to && i < 5; i++) {
		char *pem = avt_cert_pem(pki->cert[i]);

		if (pem == NULL) {
			free(b.p);
			return NULL;
		}
		put(&b, pem, strlen(pem));
		free(pem);
	}
	if (b.bad) {
		free(b.p);
		return NULL;
	}
	return (char *)b.p;
}

/* ---- reports ---------------------------------------------------------- */

void
avt_nv_meas_default(unsigned rim_index, uint8_t out[48])
{
	for (unsigned j = 0; j < 48; j++)
		out[j] = (uint8_t)(rim_index * 31 + j * 7 + 1);
}

void
avt_nv_report_defaults(struct avt_nv_report_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	for (unsigned i = 0; i < AVT_NV_BLOCKS; i++)
		avt_nv_meas_default(i, sp->meas[i]);
	for (unsigned i = 0; i < 32; i++) {
		sp->nonce[i] = (uint8_t)(0xA0 + i);
		sp->resp_nonce[i] = (uint8_t)(0x10 + i);
	}
}

/* A NUL-padded string TLV of at least pad bytes. */
static void
tlv_str(struct buf *o, uint16_t type, const char *s, size_t pad)
{
	size_t	n = strlen(s) + 1;
	uint8_t	z[64] = { 0 };

	if (n < pad)
		n = pad;
	put16(o, type);
	put16(o, (uint16_t)n);
	put(o, s, strlen(s));
	put(o, z, n - strlen(s));
}

static void
tlv(struct buf *o, uint16_t type, const void *p, size_t n)
{
	put16(o, type);
	put16(o, (uint16_t)n);
	put(o, p, n);
}

uint8_t *
avt_nv_report(const struct avt_nv_pki *pki,
    const struct avt_nv_report_spec *sp, size_t *len)
{
	static const uint8_t vb_default[8] = { 0x00, 0x9F, 0x00, 0x96, 0x01 };
	static const uint8_t zero8[8];
	struct buf	 b = { 0 }, op = { 0 };
	uint8_t		*sig = NULL, cnt[256] = { 0 }, pdi[8];
	size_t		 slen;
	uint8_t		 v1;
	uint16_t	 v2;

	/* GET_MEASUREMENTS request */
	put8(&b, 0x11);
	put8(&b, 0xE0);
	put8(&b, 0x01);
	put8(&b, 0xFF);
	put(&b, sp->nonce, 32);
	put8(&b, 0x00);
	/* MEASUREMENTS response */
	put8(&b, 0x11);
	put8(&b, 0x60);
	put8(&b, 0x00);
	put8(&b, 0x00);
	put8(&b, AVT_NV_BLOCKS);
	put8(&b, (uint8_t)(AVT_NV_BLOCKS * 55));
	put8(&b, (uint8_t)((AVT_NV_BLOCKS * 55) >> 8));
	put8(&b, 0);
	for (unsigned i = 0; i < AVT_NV_BLOCKS; i++) {
		put8(&b, (uint8_t)(i + 1));
		put8(&b, 0x01);
		put16(&b, 51);
		put8(&b, 0x01);
		put16(&b, 48);
		put(&b, sp->meas[i], 48);
	}
	put(&b, sp->resp_nonce, 32);
	/* opaque data, in the order NVIDIA's firmware uses */
	tlv(&op, NV_TLV_VBIOS_VERSION, memcmp(sp->vbios, zero8, 8) == 0 ?
	    vb_default : sp->vbios, 8);
	tlv(&op, NV_TLV_BOARD_ID, "\xb1\x03\0\0", 4);
	tlv_str(&op, NV_TLV_CHIP_SKU, sp->chip_sku ? sp->chip_sku : "882", 9);
	tlv_str(&op, NV_TLV_CHIP_SKU_MOD, "0", 5);
	tlv_str(&op, NV_TLV_PROJECT, sp->project ? sp->project : "1010", 5);
	tlv_str(&op, NV_TLV_PROJECT_SKU,
	    sp->project_sku ? sp->project_sku : "0200", 5);
	tlv_str(&op, NV_TLV_PROJECT_SKU_MOD, "", 2);
	tlv_str(&op, NV_TLV_DRIVER_VERSION,
	    sp->driver ? sp->driver : "550.90.07", 0);
	tlv(&op, NV_TLV_GPU_INFO, "\x80\x01\0\0\0\0\0\0", 8);
	tlv(&op, NV_TLV_MSRSCNT, cnt, sizeof(cnt));
	tlv(&op, NV_TLV_CPRINFO, "\0\xc0\x01\0", 4);
	v1 = sp->nvdec0 ? sp->nvdec0 : NV_STATUS_DISABLED;
	tlv(&op, NV_TLV_NVDEC0_STATUS, &v1, 1);
	if (!sp->no_fwid)
		tlv(&op, NV_TLV_FWID, sp->fwid ? sp->fwid : pki->fwid, 48);
	v1 = sp->ppcie ? sp->ppcie : NV_STATUS_DISABLED;
	tlv(&op, NV_TLV_PROTECTED_PCIE_STATUS, &v1, 1);
	if (sp->nswitch_pdis > 0) {
		put16(&op, NV_TLV_SWITCH_PDI);
		put16(&op, (uint16_t)(8 * sp->nswitch_pdis));
		for (size_t i = 0; i < sp->nswitch_pdis; i++) {
			memset(pdi, (int)(0x40 + i), sizeof(pdi));
			put(&op, pdi, 8);
		}
	}
	v2 = 1;
	tlv(&op, NV_TLV_OPAQUE_DATA_VERSION, &v2, 2);	/* little-endian */
	v2 = sp->feature;
	tlv(&op, NV_TLV_FEATURE_FLAG, &v2, 2);
	put16(&b, (uint16_t)op.n);
	put(&b, op.p, op.n);
	if (b.bad || op.bad ||
	    (sig = avt_ecdsa_sign_rs(sp->sign_key ? sp->sign_key : pki->key[0],
	    EVP_sha384(), b.p, b.n, &slen)) == NULL || slen != 96) {
		free(sig);
		free(b.p);
		free(op.p);
		return NULL;
	}
	if (sp->flip_sig)
		sig[10] ^= 0x01;
	put(&b, sig, 96);
	for (size_t i = 0; i < sp->trailing; i++)
		put8(&b, 0);
	free(sig);
	free(op.p);
	if (b.bad) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}

/* ---- RIM PKI and RIMs ------------------------------------------------- */

void
avt_nv_rim_pki_free(struct avt_nv_rim_pki *rp)
{
	if (rp == NULL)
		return;
	for (int i = 0; i < 4; i++) {
		EVP_PKEY_free(rp->key[i]);
		X509_free(rp->cert[i]);
	}
	free(rp);
}

struct avt_nv_rim_pki *
avt_nv_rim_pki_new(int64_t signer_nb, int64_t signer_na)
{
	static const char *const cn[4] = { "HCC RIM L4 Signer",
	    "NVIDIA Reference Value L3 GH100 002",
	    "NVIDIA Reference Value GH100 CA", "NVIDIA CoRIM signing Root CA" };
	struct avt_nv_rim_pki	*rp;
	struct avt_cert_spec	 cs = { 0 };

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	for (int i = 3; i >= 0; i--) {
		if ((rp->key[i] = avt_key_new("P-384")) == NULL)
			goto bad;
		cs.cn = cn[i];
		cs.ca = i > 0;
		cs.not_before = i == 0 ? signer_nb : 946684800;	/* 2000 */
		cs.not_after = i == 0 ? signer_na : 4102444799;	/* 2099 */
		cs.md = EVP_sha384();
		rp->cert[i] = avt_cert_new(&cs, rp->key[i],
		    i == 3 ? NULL : rp->cert[i + 1], rp->key[i == 3 ? 3 : i + 1]);
		if (rp->cert[i] == NULL)
			goto bad;
	}
	return rp;
 bad:
	avt_nv_rim_pki_free(rp);
	return NULL;
}

#define XNS_SWID	"http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define XNS_DSIG	"http://www.w3.org/2000/09/xmldsig#"

static void
put_hex(struct buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putf(b, "%02x", p[i]);
}

/* The unsigned document with an empty signature template. */
static void
rim_text(struct buf *b, const struct avt_nv_rim_spec *sp)
{
	const char *product = sp->product ? sp->product : "GH100";

	if (sp->with_dtd)
		putf(b, "<!DOCTYPE SoftwareIdentity [<!ENTITY x \"y\">]>\n");
	putf(b, "<SoftwareIdentity xmlns=\"%s\" xmlns:ns0=\"%s\" "
	    "xmlns:ns2=\"http://www.w3.org/2001/04/xmlenc#sha384\" "
	    "corpus=\"false\" name=\"%s\" patch=\"false\" "
	    "supplemental=\"false\" tagId=\"attestd-test-%s\" version=\"1.0\" "
	    "tagVersion=\"0\">\n", XNS_SWID, XNS_SWID, product, sp->version);
	putf(b, "    <ns0:Entity name=\"NVIDIA Corporation\" "
	    "role=\"softwareCreator tagCreator\"/>\n");
	for (int m = 0; m < (sp->duplicate_meta ? 2 : 1); m++)
		putf(b, "    <ns0:Meta colloquialVersion=\"%s\" edition=\"GPU\" "
		    "product=\"%s\" revision=\"r1\" PayloadType=\"direct\"/>\n",
		    sp->version, product);
	putf(b, "    <ns0:Payload%s>\n",
	    sp->reference_uri_id ? " Id=\"x\"" : "");
	for (size_t i = 0; i < sp->nres; i++) {
		const struct avt_nv_rim_res *r = &sp->res[i];

		putf(b, "        <ns0:Resource type=\"Measurement\" "
		    "index=\"%u\" active=\"%s\" alternatives=\"%zu\"", r->index,
		    r->active ? "True" : "False", r->nalt);
		for (size_t a = 0; a < r->nalt; a++) {
			putf(b, " ns2:Hash%zu=\"", a);
			put_hex(b, r->alt[a], 48);
			putf(b, "\"");
		}
		putf(b, " name=\"Measurement_%u\" size=\"48\"/>\n", r->index);
	}
	if (sp->nested_signature)
		putf(b, "        <ds:Signature xmlns:ds=\"%s\"/>\n", XNS_DSIG);
	putf(b, "    </ns0:Payload>\n");
	putf(b, "<ds:Signature xmlns:ds=\"%s\"><ds:SignedInfo>"
	    "<ds:CanonicalizationMethod "
	    "Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>"
	    "<ds:SignatureMethod Algorithm="
	    "\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\"/>"
	    "<ds:Reference URI=\"%s\"><ds:Transforms>"
	    "<ds:Transform Algorithm="
	    "\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
	    "<ds:Transform Algorithm="
	    "\"http://www.w3.org/2006/12/xml-c14n11\"/></ds:Transforms>"
	    "<ds:DigestMethod Algorithm="
	    "\"http://www.w3.org/2001/04/xmldsig-more#sha384\"/>"
	    "<ds:DigestValue/></ds:Reference></ds:SignedInfo>"
	    "<ds:SignatureValue/></ds:Signature></SoftwareIdentity>\n",
	    XNS_DSIG, sp->reference_uri_id ? "#x" : "");
}

static xmlNode *
child(xmlNode *n, const char *name)
{
	for (n = n->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* Root-level ds:Signature (the last child element named Signature). */
static xmlNode *
root_signature(xmlDoc *doc)
{
	xmlNode *n, *sig = NULL;

	for (n = xmlDocGetRootElement(doc)->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "Signature") == 0)
			sig = n;
	return sig;
}

char *
avt_nv_rim(const struct avt_nv_rim_pki *rp, const struct avt_nv_rim_spec *sp,
    size_t *len)
{
	struct buf		 t = { 0 };
	xmlDoc			*doc = NULL;
	xmlNode			*sig, *ki, *xd, *pl;
	xmlSecDSigCtxPtr	 ctx = NULL;
	xmlSecKeyDataPtr	 kd;
	xmlSecKeyPtr		 key = NULL;
	EVP_PKEY		*pk = sp->sign_key ? sp->sign_key : rp->key[0];
	xmlChar			*out = NULL;
	int			 olen = 0;
	char			*res = NULL;

	if (!nv_xml_ready())
		return NULL;
	rim_text(&t, sp);
	if (t.bad || (doc = xmlReadMemory((const char *)t.p, (int)t.n,
	    "rim.xml", NULL, XML_PARSE_NONET)) == NULL)
		goto out;
	if ((sig = root_signature(doc)) == NULL)
		goto out;
	if (sp->reference_uri_id) {
		xmlAttr *a;

		pl = child(xmlDocGetRootElement(doc), "Payload");
		if (pl == NULL || (a = xmlHasProp(pl, (const xmlChar *)"Id")) ==
		    NULL || xmlAddID(NULL, doc, (const xmlChar *)"x", a) == NULL)
			goto out;
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL || !EVP_PKEY_up_ref(pk))
		goto out;
	if ((kd = xmlSecOpenSSLEvpKeyAdopt(pk)) == NULL) {
		EVP_PKEY_free(pk);
		goto out;
	}
	if ((key = xmlSecKeyCreate()) == NULL ||
	    xmlSecKeySetValue(key, kd) < 0) {
		xmlSecKeyDataDestroy(kd);
		goto out;
	}
	ctx->signKey = key;
	key = NULL;
	if (xmlSecDSigCtxSign(ctx, sig) < 0)
		goto out;
	/* KeyInfo after signing: the signature never covers it */
	if (!sp->no_keyinfo) {
		if ((ki = xmlNewChild(sig, sig->ns, (const xmlChar *)"KeyInfo",
		    NULL)) == NULL || (xd = xmlNewChild(ki, sig->ns,
		    (const xmlChar *)"X509Data", NULL)) == NULL)
			goto out;
		for (int i = 0; i < 4; i++) {
			uint8_t	*d;
			size_t	 dl;
			char	*b64;

			if ((d = avt_cert_der(rp->cert[i], &dl)) == NULL)
				goto out;
			b64 = av_b64_encode(d, dl);
			free(d);
			if (b64 == NULL || xmlNewTextChild(xd, sig->ns,
			    (const xmlChar *)"X509Certificate",
			    (const xmlChar *)b64) == NULL) {
				free(b64);
				goto out;
			}
			free(b64);
		}
	}
	if (sp->tamper_after_sign) {
		xmlNode *r;

		pl = child(xmlDocGetRootElement(doc), "Payload");
		for (r = pl != NULL ? pl->children : NULL; r != NULL;
		    r = r->next)
			if (r->type == XML_ELEMENT_NODE)
				break;
		if (r == NULL || xmlSetProp(r, (const xmlChar *)"active",
		    (const xmlChar *)"False") == NULL)
			goto out;
	}
	xmlDocDumpMemory(doc, &out, &olen);
	if (out == NULL || olen <= 0 || (res = malloc((size_t)olen + 1)) ==
	    NULL)
		goto out;
	memcpy(res, out, (size_t)olen);
	res[olen] = '\0';
	*len = (size_t)olen;
 out:
	if (out != NULL)
		xmlFree(out);
	if (key != NULL)
		xmlSecKeyDestroy(key);
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(t.p);
	return res;
}

char *
avt_nv_rim_default(const struct avt_nv_rim_pki *rp, bool vbios,
    const char *version, bool alt1, size_t *len)
{
	struct avt_nv_rim_res	 res[AVT_NV_BLOCKS];
	struct avt_nv_rim_spec	 sp = { 0 };

	for (unsigned i = 0; i < AVT_NV_BLOCKS; i++) {
		bool drv = i == 7 || (i >= 21 && i <= 40);
		bool vb = i <= 12 && i != 7;

		memset(&res[i], 0, sizeof(res[i]));
		res[i].index = i;
		res[i].active = vbios ? vb : drv;
		res[i].nalt = alt1 ? 2 : 1;
		avt_nv_meas_default(i, res[i].alt[alt1 ? 1 : 0]);
		if (alt1)
			memset(res[i].alt[0], 0xEE, 48);
	}
	sp.version = version;
	sp.res = res;
	sp.nres = AVT_NV_BLOCKS;
	return avt_nv_rim(rp, &sp, len);
}

struct av_trust *
avt_nv_trust(const struct avt_nv_pki *pki, const struct avt_nv_rim_pki *rp)
{
	struct av_trust	*t;
	uint8_t		 h[32];

	if ((t = av_trust_new()) == NULL)
		return NULL;
	if ((pki != NULL && (av_x509_sha256(pki->cert[4], h) != 0 ||
	    av_trust_add_pin(t, "nvidia-gpu", h) != 0)) ||
	    (rp != NULL && (av_x509_sha256(rp->cert[3], h) != 0 ||
	    av_trust_add_pin(t, "nvidia-rim", h) != 0))) {
		av_trust_free(t);
		return NULL;
	}
	return t;
}

/* ---- OCSP ------------------------------------------------------------- */

X509 *
avt_nv_ocsp_responder(const struct avt_nv_pki *pki, int issuer, int64_t nb,
    int64_t na, EVP_PKEY **key_out)
{
	struct avt_cert_spec	 cs = { 0 };
	EVP_PKEY		*k;
	X509			*x;

	if ((k = avt_key_new("P-384")) == NULL)
		return NULL;
	cs.cn = "NVIDIA OCSP Responder (test)";
	cs.not_before = nb;
	cs.not_after = na;
	cs.md = EVP_sha384();
	if ((x = avt_cert_new(&cs, k, pki->cert[issuer], pki->key[issuer])) ==
	    NULL || add_conf_ext(x, pki->cert[issuer], NID_ext_key_usage,
	    "OCSPSigning") != 0 ||
	    X509_sign(x, pki->key[issuer], EVP_sha384()) <= 0) {
		X509_free(x);
		EVP_PKEY_free(k);
		return NULL;
	}
	*key_out = k;
	return x;
}

uint8_t *
avt_nv_ocsp_response(X509 *const *certs, X509 *const *issuers,
    const int *status, size_t n, X509 *signer, EVP_PKEY *signer_key,
    int64_t this_upd, int64_t next_upd, const EVP_MD *md, size_t *len)
{
	OCSP_BASICRESP		*bs = NULL;
	OCSP_RESPONSE		*resp = NULL;
	OCSP_CERTID		*id = NULL;
	ASN1_GENERALIZEDTIME	*tu = NULL, *nu = NULL, *rt = NULL;
	uint8_t			*der = NULL, *out = NULL;
	int			 dl, st;

	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (tu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)this_upd)) == NULL ||
	    (rt = ASN1_GENERALIZEDTIME_set(NULL,
	    (time_t)(this_upd - 86400))) == NULL ||
	    (next_upd != 0 && (nu = ASN1_GENERALIZEDTIME_set(NULL,
	    (time_t)next_upd)) == NULL))
		goto out;
	for (size_t i = 0; i < n; i++) {
		st = status[i] == 0 ? V_OCSP_CERTSTATUS_GOOD : status[i] == 1 ?
		    V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_UNKNOWN;
		if ((id = OCSP_cert_to_id(md, certs[i], issuers[i])) == NULL ||
		    OCSP_basic_add1_status(bs, id, st, status[i] == 1 ?
		    OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
		    status[i] == 1 ? rt : NULL, tu, nu) == NULL)
			goto out;
		OCSP_CERTID_free(id);
		id = NULL;
	}
	if (OCSP_basic_sign(bs, signer, signer_key, EVP_sha384(), NULL, 0) != 1 ||
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (dl = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
		goto out;
	if ((out = malloc((size_t)dl)) != NULL) {
		memcpy(out, der, (size_t)dl);
		*len = (size_t)dl;
	}
 out:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_GENERALIZEDTIME_free(tu);
	ASN1_GENERALIZEDTIME_free(nu);
	ASN1_GENERALIZEDTIME_free(rt);
	return out;
}
