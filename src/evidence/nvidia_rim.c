/*
 * attestd - NVIDIA reference integrity manifests (RIMs): TCG SWID tags
 * (ISO/IEC 19770-2:2015, TCG RIM information model binding) with an
 * enveloped W3C XML signature (xmldsig-core1: c14n 1.1, ecdsa-sha384,
 * sha384 digest) whose KeyInfo carries the signer's chain to the NVIDIA
 * CoRIM signing root (pinned, platform "nvidia-rim").
 *
 * What is read is what is signed: only the root element's own Meta and
 * Payload children, and only when the one ds:Signature in the document
 * is a child of the root with one same-document reference (URI=""), so
 * its digest covers the whole document but the signature itself.
 * libxml2 parses without DTDs, entities or network; xmlsec1 checks the
 * signature with the key of the certificate our own chain check accepts
 * (KeyInfo is never used to find a key).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
/*
 * xmlsec's OpenSSL header names the legacy key types that
 * OPENSSL_NO_DEPRECATED hides; we never use them.  (C11 allows the same
 * typedef twice.)
 */
typedef struct dsa_st DSA;
typedef struct rsa_st RSA;
typedef struct ec_key_st EC_KEY;
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/log.h"
#include "evidence/nvgpu.h"

#define NS_SWID		"http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_DSIG		"http://www.w3.org/2000/09/xmldsig#"
#define NS_SHA256	"http://www.w3.org/2001/04/xmlenc#sha256"
#define NS_SHA384	"http://www.w3.org/2001/04/xmlenc#sha384"
#define NS_SHA512	"http://www.w3.org/2001/04/xmlenc#sha512"

#define RIM_CACHE_SIZE	64
#define RIM_MAX_NODES	20000	/* elements in one document */

/* ---- one-time library set-up ------------------------------------------ */

static pthread_once_t	xml_once = PTHREAD_ONCE_INIT;
static bool		xml_ok;

/* xmlsec reports through this: nothing reaches stderr from evidence. */
static void
xmlsec_quiet(const char *file, int line, const char *func,
    const char *obj, const char *subj, int reason, const char *msg)
{
	(void)file;
	(void)line;
	(void)func;
	(void)obj;
	(void)subj;
	(void)reason;
	(void)msg;
}

static void
xml_init(void)
{
	xmlInitParser();
	if (xmlSecInit() < 0)
		return;
	if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 ||
	    xmlSecCryptoInit() < 0)
		return;
	xmlSecErrorsSetCallback(xmlsec_quiet);
	xml_ok = true;
}

/*
 * One-time libxml2 + xmlsec1 (OpenSSL) set-up, thread-safe.  Returns
 * whether it succeeded.
 */
bool
nv_xml_ready(void)
{
	(void)pthread_once(&xml_once, xml_init);
	return xml_ok;
}

/* ---- RIM objects ------------------------------------------------------ */

/* Take a reference to r (NULL-safe); returns r. */
struct nv_rim *
nv_rim_ref(struct nv_rim *r)
{
	if (r != NULL)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

/* Drop a reference; the last frees the RIM (NULL-safe). */
void
nv_rim_free(struct nv_rim *r)
{
	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(r->meas);
	sk_X509_pop_free(r->certs, X509_free);
	free(r);
}

/* The resource with this 0-based index (borrowed), or NULL. */
const struct nv_rim_meas *
nv_rim_find(const struct nv_rim *r, unsigned index)
{
	for (size_t i = 0; i < r->nmeas; i++)
		if (r->meas[i].index == index)
			return &r->meas[i];
	return NULL;
}

/* ---- versions and ids ------------------------------------------------- */

/* One component: decimal (or hex), 1-8 digits.  Advances *s. */
static bool
version_part(const char **s, bool hex, unsigned long *v)
{
	const char	*p = *s;
	size_t		 n = 0;

	*v = 0;
	while (hex ? isxdigit((unsigned char)p[n]) :
	    isdigit((unsigned char)p[n])) {
		int d = isdigit((unsigned char)p[n]) ? p[n] - '0' :
		    tolower((unsigned char)p[n]) - 'a' + 10;

		*v = *v * (hex ? 16 : 10) + (unsigned long)d;
		if (++n > 8)
			return false;
	}
	if (n == 0)
		return false;
	*s = p + n;
	return true;
}

/*
 * Compare dotted versions per component, numerically (decimal, or hex
 * when hex); a missing component counts as 0.  Returns -1, 0, 1, or -2
 * when either does not parse.
 */
int
nv_version_cmp(const char *a, const char *b, bool hex)
{
	unsigned long	 x, y;
	int		 parts = 0;

	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return -2;
	while (*a != '\0' || *b != '\0') {
		if (++parts > 8)
			return -2;
		x = y = 0;
		if (*a != '\0' && !version_part(&a, hex, &x))
			return -2;
		if (*b != '\0' && !version_part(&b, hex, &y))
			return -2;
		if ((*a != '\0' && *a != '.') || (*b != '\0' && *b != '.'))
			return -2;
		if (*a == '.' && *++a == '\0')
			return -2;
		if (*b == '.' && *++b == '\0')
			return -2;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static bool
id_part_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
			return false;
	return true;
}

/*
 * The RIM service id of kind k for the report's opaque data (NVIDIA RIM
 * naming: NV_GPU_DRIVER_<chip>_<version>, NV_GPU_VBIOS_<project>_<sku>_
 * <chip sku>_<version without dots>).  Returns 0, or -1 (does not fit,
 * or a part has characters other than [A-Za-z0-9.-]).
 */
int
nv_rim_id(char *buf, size_t len, enum nv_rim_kind k, const char *chip,
    const struct nv_opaque *op)
{
	char	vb[24];
	size_t	j = 0;
	int	n;

	if (k == NV_RIM_DRIVER) {
		if (!op->has_driver || !id_part_ok(chip) ||
		    !id_part_ok(op->driver))
			return -1;
		n = snprintf(buf, len, "NV_GPU_DRIVER_%s_%s", chip,
		    op->driver);
	} else {
		if (!op->has_vbios || !id_part_ok(op->project) ||
		    !id_part_ok(op->project_sku) || !id_part_ok(op->chip_sku))
			return -1;
		for (const char *c = op->vbios; *c != '\0' && j + 1 < sizeof(vb);
		    c++)
			if (*c != '.')
				vb[j++] = (char)toupper((unsigned char)*c);
		vb[j] = '\0';
		n = snprintf(buf, len, "NV_GPU_VBIOS_%s_%s_%s_%s",
		    op->project, op->project_sku, op->chip_sku, vb);
		for (char *c = buf; n > 0 && (size_t)n < len && *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
	}
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* ---- parsing ---------------------------------------------------------- */

static bool
is_elem(const xmlNode *n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0 &&
	    strcmp((const char *)n->name, name) == 0;
}

/* An attribute without namespace, copied into buf; false when absent. */
static bool
attr(const xmlNode *n, const char *name, const char *ns, char *buf,
    size_t len)
{
	xmlChar	*v = xmlGetNsProp(n, (const xmlChar *)name,
	    (const xmlChar *)ns);
	bool	 ok;

	if (v == NULL)
		return false;
	ok = strlen((const char *)v) < len;
	if (ok)
		snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return ok;
}

static bool
attr_uint(const xmlNode *n, const char *name, unsigned long max,
    unsigned long *out)
{
	char	 buf[16], *end;

	if (!attr(n, name, NULL, buf, sizeof(buf)) ||
	    !isdigit((unsigned char)buf[0]))
		return false;
	*out = strtoul(buf, &end, 10);
	return *end == '\0' && *out <= max;
}

/* Count elements in the tree (caps the work of every walk after). */
static size_t
count_nodes(const xmlNode *n, size_t sofar)
{
	for (; n != NULL && sofar <= RIM_MAX_NODES; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		sofar = count_nodes(n->children, sofar + 1);
	}
	return sofar;
}

/* ds:Signature elements anywhere below n. */
static size_t
count_signatures(const xmlNode *n)
{
	size_t c = 0;

	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			c += is_elem(n, NS_DSIG, "Signature") +
			    count_signatures(n->children);
	return c;
}

static int
parse_resource(const xmlNode *n, struct nv_rim_meas *m, struct av_err *e)
{
	static const char *const hns[] = { NS_SHA384, NS_SHA256, NS_SHA512 };
	unsigned long	 v;
	char		 buf[16], name[32], hex[2 * NV_MAX_VALUE + 2];

	memset(m, 0, sizeof(*m));
	if (!attr_uint(n, "index", NV_MAX_BLOCKS - 2, &v))
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM resource without a valid index");
	m->index = (unsigned)v;
	if (!attr(n, "active", NULL, buf, sizeof(buf)))
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM resource without \"active\"");
	if (strcasecmp(buf, "true") == 0)
		m->active = true;
	else if (strcasecmp(buf, "false") != 0)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM resource \"active\" is not a boolean");
	if (!attr_uint(n, "alternatives", NV_RIM_MAX_ALT, &v) || v == 0)
		return AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM resource "
		    "alternatives missing or more than 16");
	m->nalt = v;
	if (!attr_uint(n, "size", NV_MAX_VALUE, &v) || v == 0)
		return AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM resource "
		    "size missing or more than 64 bytes");
	m->size = v;
	if (!attr(n, "name", NULL, m->name, sizeof(m->name)))
		m->name[0] = '\0';
	for (size_t a = 0; a < m->nalt; a++) {
		bool found = false;

		snprintf(name, sizeof(name), "Hash%zu", a);
		for (size_t h = 0; !found && h < 3; h++)
			found = attr(n, name, hns[h], hex, sizeof(hex));
		if (!found || strlen(hex) != 2 * m->size ||
		    av_hex_decode_fixed(hex, m->alt[a], m->size) != 0)
			return AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM "
			    "resource hash missing or not of its size");
	}
	return 0;
}

/* KeyInfo/X509Data/X509Certificate of the one signature. */
static int
parse_keyinfo(const xmlNode *sig, struct nv_rim *r, struct av_err *e)
{
	const xmlNode	*ki, *xd, *c;
	xmlChar		*txt;
	uint8_t		*der;
	size_t		 dlen;
	X509		*x;

	for (ki = sig->children; ki != NULL; ki = ki->next) {
		if (!is_elem(ki, NS_DSIG, "KeyInfo"))
			continue;
		for (xd = ki->children; xd != NULL; xd = xd->next) {
			if (!is_elem(xd, NS_DSIG, "X509Data"))
				continue;
			for (c = xd->children; c != NULL; c = c->next) {
				if (!is_elem(c, NS_DSIG, "X509Certificate"))
					continue;
				if (sk_X509_num(r->certs) >= NV_RIM_MAX_CERTS)
					return AV_FAIL(e, AV_E_RIM_INVALID,
					    "nvidia-gpu: too many RIM "
					    "certificates");
				if ((txt = xmlNodeGetContent(c)) == NULL)
					return AV_FAIL(e, AV_E_NOMEM,
					    "out of memory");
				der = NULL;
				x = NULL;
				if (av_b64_decode((const char *)txt,
				    strlen((const char *)txt), &der,
				    &dlen) == 0)
					x = av_x509_from_der(der, dlen);
				xmlFree(txt);
				free(der);
				if (x == NULL)
					return AV_FAIL(e, AV_E_RIM_INVALID,
					    "nvidia-gpu: RIM KeyInfo "
					    "certificate does not parse");
				if (!sk_X509_push(r->certs, x)) {
					X509_free(x);
					return AV_FAIL(e, AV_E_NOMEM,
					    "out of memory");
				}
			}
		}
	}
	if (sk_X509_num(r->certs) == 0)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM signature has no certificate");
	/*
	 * The signer: the certificate that issued none of the others (a
	 * self-signed one only when it is alone).
	 */
	for (int i = 0; i < sk_X509_num(r->certs); i++) {
		X509	*cand = sk_X509_value(r->certs, i);
		bool	 issuer = false;

		if (sk_X509_num(r->certs) > 1 &&
		    X509_check_issued(cand, cand) == X509_V_OK)
			continue;
		for (int j = 0; j < sk_X509_num(r->certs); j++)
			if (j != i && X509_check_issued(cand,
			    sk_X509_value(r->certs, j)) == X509_V_OK)
				issuer = true;
		if (!issuer) {
			if (r->signer != NULL)
				return AV_FAIL(e, AV_E_RIM_INVALID,
				    "nvidia-gpu: RIM KeyInfo holds more than "
				    "one end-entity certificate");
			r->signer = cand;
		}
	}
	if (r->signer == NULL)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM KeyInfo has no signer certificate");
	return 0;
}

/*
 * The document's structure into r; *sig_out is the ds:Signature node.
 */
static int
parse_doc(xmlDoc *doc, struct nv_rim *r, xmlNode **sig_out,
    struct av_err *e)
{
	xmlNode		*root = xmlDocGetRootElement(doc), *c, *meta = NULL;
	xmlNode		*payload = NULL, *sig = NULL;
	size_t		 nres = 0;

	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM with a DTD");
	if (!is_elem(root, NS_SWID, "SoftwareIdentity"))
		return AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "nvidia-gpu: XML is not a SWID tag");
	if (count_nodes(root, 0) > RIM_MAX_NODES)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM has too many elements");
	if (!attr(root, "tagId", NULL, r->tag_id, sizeof(r->tag_id)))
		r->tag_id[0] = '\0';
	for (c = root->children; c != NULL; c = c->next) {
		xmlNode **slot = NULL;

		if (is_elem(c, NS_SWID, "Meta"))
			slot = &meta;
		else if (is_elem(c, NS_SWID, "Payload"))
			slot = &payload;
		else if (is_elem(c, NS_DSIG, "Signature"))
			slot = &sig;
		if (slot == NULL)
			continue;
		if (*slot != NULL)
			return AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM "
			    "with more than one Meta, Payload or Signature");
		*slot = c;
	}
	if (meta == NULL || payload == NULL || sig == NULL)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM without Meta, Payload or Signature");
	if (count_signatures(root) != 1)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM with a nested signature");
	if (!attr(meta, "colloquialVersion", NULL, r->version,
	    sizeof(r->version)) || r->version[0] == '\0')
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM without colloquialVersion");
	if (!attr(meta, "product", NULL, r->product, sizeof(r->product)))
		r->product[0] = '\0';
	for (c = payload->children; c != NULL; c = c->next)
		if (is_elem(c, NS_SWID, "Resource"))
			nres++;
	if (nres == 0 || nres > NV_RIM_MAX_RESOURCES)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM with no or too many resources");
	if ((r->meas = calloc(nres, sizeof(*r->meas))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	for (c = payload->children; c != NULL; c = c->next) {
		char type[32];

		if (!is_elem(c, NS_SWID, "Resource"))
			continue;
		if (attr(c, "type", NULL, type, sizeof(type)) &&
		    strcmp(type, "Measurement") != 0)
			continue;
		if (parse_resource(c, &r->meas[r->nmeas], e) != 0)
			return -1;
		if (nv_rim_find(r, r->meas[r->nmeas].index) != NULL)
			return AV_FAIL(e, AV_E_RIM_INVALID,
			    "nvidia-gpu: RIM with a duplicate index");
		r->nmeas++;
	}
	if (parse_keyinfo(sig, r, e) != 0)
		return -1;
	*sig_out = sig;
	return 0;
}

static xmlDoc *
read_doc(const uint8_t *p, size_t n, struct av_err *e)
{
	xmlDoc *doc;

	if (!nv_xml_ready()) {
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		return NULL;
	}
	if (p == NULL || n == 0 || n > NV_RIM_MAX_BYTES) {
		AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM empty or larger than 2 MiB");
		return NULL;
	}
	doc = xmlReadMemory((const char *)p, (int)n, "rim.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM is not XML");
	return doc;
}

static struct nv_rim *
rim_new(const uint8_t *p, size_t n)
{
	struct nv_rim *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->certs = sk_X509_new_null()) == NULL) {
		free(r);
		return NULL;
	}
	r->refs = 1;
	av_sha256(p, n, r->sha256);
	return r;
}

/*
 * Parse a RIM (SWID tag) without checking its signature.  On success
 * *out is a new reference (nv_rim_free()).  Returns 0, or -1 with e
 * (AV_E_RIM_INVALID, AV_E_COLLATERAL_INVALID, AV_E_NOMEM).
 */
int
nv_rim_parse(const uint8_t *p, size_t n, struct nv_rim **out,
    struct av_err *e)
{
	struct nv_rim	*r;
	xmlDoc		*doc;
	xmlNode		*sig;
	int		 rc;

	if ((doc = read_doc(p, n, e)) == NULL)
		return -1;
	if ((r = rim_new(p, n)) == NULL) {
		xmlFreeDoc(doc);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	rc = parse_doc(doc, r, &sig, e);
	xmlFreeDoc(doc);
	if (rc != 0) {
		nv_rim_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* ---- the XML signature ------------------------------------------------ */

static int
enable_transforms(xmlSecDSigCtxPtr ctx)
{
	xmlSecTransformId c14n[] = {
		xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId,
		xmlSecTransformInclC14N11Id,
		xmlSecTransformInclC14N11WithCommentsId,
		xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId,
	};
	xmlSecTransformId ref[] = {
		xmlSecTransformEnvelopedId, xmlSecTransformSha256Id,
		xmlSecTransformSha384Id, xmlSecTransformSha512Id,
	};
	xmlSecTransformId sig[] = {
		xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
		xmlSecTransformEcdsaSha512Id,
	};

	for (size_t i = 0; i < sizeof(c14n) / sizeof(c14n[0]); i++)
		if (xmlSecDSigCtxEnableReferenceTransform(ctx, c14n[i]) < 0 ||
		    xmlSecDSigCtxEnableSignatureTransform(ctx, c14n[i]) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++)
		if (xmlSecDSigCtxEnableReferenceTransform(ctx, ref[i]) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
		if (xmlSecDSigCtxEnableSignatureTransform(ctx, sig[i]) < 0)
			return -1;
	return 0;
}

/*
 * Verify the enveloped signature sig with the signer's public key.
 * Sets r->sig_ok or r->sig_err.  Returns -1 only on internal failure.
 */
static int
verify_sig(struct nv_rim *r, xmlNode *sig, struct av_err *e)
{
	xmlSecDSigCtxPtr	 ctx = NULL;
	xmlSecKeyDataPtr	 kd = NULL;
	xmlSecKeyPtr		 key = NULL;
	xmlSecDSigReferenceCtxPtr ref;
	EVP_PKEY		*pk = X509_get0_pubkey(r->signer);
	int			 rc = -1;

	if (pk == NULL || !EVP_PKEY_is_a(pk, "EC")) {
		r->sig_err = "nvidia-gpu: RIM signer key is not ECDSA";
		return 0;
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL ||
	    enable_transforms(ctx) != 0 || !EVP_PKEY_up_ref(pk)) {
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	if ((kd = xmlSecOpenSSLEvpKeyAdopt(pk)) == NULL) {
		EVP_PKEY_free(pk);
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	if ((key = xmlSecKeyCreate()) == NULL ||
	    xmlSecKeySetValue(key, kd) < 0) {
		xmlSecKeyDataDestroy(kd);
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	ctx->signKey = key;
	key = NULL;
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
	rc = 0;
	if (xmlSecDSigCtxVerify(ctx, sig) < 0 ||
	    ctx->status != xmlSecDSigStatusSucceeded) {
		r->sig_err = "nvidia-gpu: RIM XML signature invalid";
		goto out;
	}
	if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1 ||
	    (ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0)) ==
	    NULL || (ref->uri != NULL && ref->uri[0] != '\0') ||
	    ref->status != xmlSecDSigStatusSucceeded) {
		r->sig_err = "nvidia-gpu: RIM signature does not cover the "
		    "whole document";
		goto out;
	}
	r->sig_ok = true;
 out:
	if (key != NULL)
		xmlSecKeyDestroy(key);
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	return rc;
}

/* ---- cache of parsed, signature-checked RIMs --------------------------- */

static pthread_mutex_t	 cache_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct nv_rim	*cache[RIM_CACHE_SIZE];
static size_t		 cache_next;

static struct nv_rim *
cache_get(const uint8_t sha[32])
{
	struct nv_rim *r = NULL;

	pthread_mutex_lock(&cache_mtx);
	for (size_t i = 0; i < RIM_CACHE_SIZE; i++)
		if (cache[i] != NULL && memcmp(cache[i]->sha256, sha, 32) == 0) {
			r = nv_rim_ref(cache[i]);
			break;
		}
	pthread_mutex_unlock(&cache_mtx);
	return r;
}

static void
cache_put(struct nv_rim *r)
{
	struct nv_rim *old;

	pthread_mutex_lock(&cache_mtx);
	for (size_t i = 0; i < RIM_CACHE_SIZE; i++)
		if (cache[i] != NULL &&
		    memcmp(cache[i]->sha256, r->sha256, 32) == 0) {
			pthread_mutex_unlock(&cache_mtx);
			return;
		}
	old = cache[cache_next];
	cache[cache_next] = nv_rim_ref(r);
	cache_next = (cache_next + 1) % RIM_CACHE_SIZE;
	pthread_mutex_unlock(&cache_mtx);
	nv_rim_free(old);
}

/* The signer's chain to an "nvidia-rim" anchor at `at`. */
static int
check_rim_chain(const struct av_trust *trust, const struct nv_rim *r,
    int64_t at, struct av_err *e)
{
	STACK_OF(X509)		*others;
	struct av_chain_opts	 opts = { 0 };
	struct av_err		 ce = { 0 };
	int			 rc;

	if (trust == NULL)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: no RIM trust anchors configured");
	if ((others = sk_X509_new_null()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	for (int i = 0; i < sk_X509_num(r->certs); i++)
		if (sk_X509_value(r->certs, i) != r->signer &&
		    !sk_X509_push(others, sk_X509_value(r->certs, i))) {
			sk_X509_free(others);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
	opts.platform = NV_RIM_PLATFORM;
	opts.max_depth = NV_RIM_MAX_CERTS;
	rc = av_chain_verify(trust, r->signer, others, at, &opts, NULL, &ce);
	sk_X509_free(others);
	if (rc == 0)
		return 0;
	switch (ce.code) {
	case AV_E_CERT_TIME:
		return AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM signing "
		    "certificate not valid at the verification time");
	case AV_E_UNTRUSTED_ROOT:
		return AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM not "
		    "signed under a trusted NVIDIA RIM root");
	case AV_E_NOMEM:
		*e = ce;
		return -1;
	default:
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM signing certificate chain invalid");
	}
}

/*
 * Parse (or take from the cache) and verify a RIM: XML signature with the
 * KeyInfo signer's key, signer chain to an "nvidia-rim" anchor at `at`.
 * On success *out is a new reference (nv_rim_free()).  Returns 0, or -1
 * with e (AV_E_RIM_INVALID with the reason; AV_E_COLLATERAL_INVALID).
 */
int
nv_rim_load(const struct av_trust *trust, const uint8_t *p, size_t n,
    const uint8_t *sha256, int64_t at, struct nv_rim **out,
    struct av_err *e)
{
	struct nv_rim	*r;
	uint8_t		 sha[32];
	xmlDoc		*doc = NULL;
	xmlNode		*sig;

	if (p == NULL || n == 0 || n > NV_RIM_MAX_BYTES)
		return AV_FAIL(e, AV_E_RIM_INVALID,
		    "nvidia-gpu: RIM empty or larger than 2 MiB");
	if (sha256 != NULL)
		memcpy(sha, sha256, 32);
	else
		av_sha256(p, n, sha);
	if ((r = cache_get(sha)) == NULL) {
		if ((doc = read_doc(p, n, e)) == NULL)
			return -1;
		if ((r = rim_new(p, n)) == NULL) {
			xmlFreeDoc(doc);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
		memcpy(r->sha256, sha, 32);
		if (parse_doc(doc, r, &sig, e) != 0 ||
		    verify_sig(r, sig, e) != 0) {
			xmlFreeDoc(doc);
			nv_rim_free(r);
			return -1;
		}
		xmlFreeDoc(doc);
		cache_put(r);
	}
	if (!r->sig_ok) {
		AV_FAIL(e, AV_E_RIM_INVALID, "nvidia-gpu: RIM XML signature "
		    "invalid");
		if (r->sig_err != NULL && e != NULL)
			e->reason = r->sig_err;
		nv_rim_free(r);
		return -1;
	}
	if (check_rim_chain(trust, r, at, e) != 0) {
		nv_rim_free(r);
		return -1;
	}
	*out = r;
	return 0;
}
