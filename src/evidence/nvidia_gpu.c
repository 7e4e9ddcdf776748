/*
 * attestd - NVIDIA GPU attestation (Hopper, Blackwell), type
 * "nvidia-gpu".
 *
 * Evidence: the SPDM 1.1 GET_MEASUREMENTS request || MEASUREMENTS
 * response the GPU signs (nvidia_spdm.c), with the device certificate
 * chain in the item's "cert_chain": exactly five certificates, leaf
 * (GSP FMC LF) first, ending in the NVIDIA Device Identity CA (pinned).
 *
 * Checks, in order (docs/platforms/nvidia-gpu.md): the chain at the
 * verification time; the leaf's TCG DICE FWID against the report's FWID
 * field when it has one; the ECDSA P-384 / SHA-384 signature over the
 * report up to the signature; the nonce; OCSP for every certificate of
 * the chain (policy "ocsp"); the driver and VBIOS RIMs (nvidia_rim.c)
 * from the collateral store or the RIM service, and every active RIM
 * measurement against the report (policy "rim").  Appraisal adds
 * minimum versions, allowed chips and SKUs, protected PCIe.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "av/backend.h"
#include "av/binding.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/nvgpu.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/result.h"
#include "av/verify.h"
#include "evidence/nvgpu.h"

#define NV_MAX_CHAIN_BYTES	(256u * 1024)
#define NV_MAX_CHAIN_CERTS	16
#define NV_NVDEC0_RIM_INDEX	35	/* skipped when NVDEC0 is disabled */
#define NV_MAX_STAPLED		8	/* OCSP responses with one item */
#define NV_MAX_STAPLED_BYTES	(64u * 1024)

/* ---- policy ----------------------------------------------------------- */

enum nv_mode { NV_MODE_DEFAULT = 0, NV_MODE_OFF, NV_MODE_OPTIONAL,
    NV_MODE_REQUIRED };
enum nv_nonce { NV_NONCE_EQUAL = 0, NV_NONCE_PREFIX, NV_NONCE_SHA256 };

struct nv_policy {
	int64_t		 count;		/* -1: not stated */
	enum nv_mode	 rim;		/* default: optional */
	enum nv_mode	 ocsp;		/* default: optional */
	enum nv_nonce	 nonce;
	char		*min_driver;	/* owned or NULL */
	char		*min_vbios;	/* owned or NULL */
	char		**chips;	/* owned list of n_chips */
	size_t		 nchips;
	char		**skus;		/* "<project>_<project sku>_<chip sku>" */
	size_t		 nskus;
	bool		 ppcie;		/* protected PCIe required */
};

/* ---- parsed evidence -------------------------------------------------- */

enum nv_mres {
	NV_M_NOT_IN_RIM = 0,
	NV_M_MATCH,
	NV_M_MISMATCH,
	NV_M_SKIPPED,
};

enum nv_rim_state { NV_RS_NONE = 0, NV_RS_OK, NV_RS_MISSING, NV_RS_INVALID,
    NV_RS_OFF };

struct nv_rim_use {
	enum nv_rim_state	 state;
	char			 id[160];
	const char		*source;	/* "collateral", "service" */
	struct nv_rim		*rim;		/* owned reference or NULL */
	struct av_err		 err;		/* why missing / invalid */
	size_t			 tried;		/* candidates looked at */
};

struct nv_ev {
	struct nv_report	 rep;
	STACK_OF(X509)		*certs;		/* owned: as given, in order */
	char			 arch[24];	/* from the item, or "" */
	bool			 hex_input;	/* "data" was hex text */
	uint8_t			*stapled[NV_MAX_STAPLED]; /* owned DER OCSP */
	size_t			 stapled_len[NV_MAX_STAPLED];
	size_t			 nstapled;
	/* set by verify */
	bool			 verified;
	char			 chip[16];	/* "GH100" (leaf SAN) */
	char			 ueid[40];
	char			 leaf_cn[80];
	bool			 fwid_checked;
	const char		*nonce_rule;	/* satisfied rule, or NULL */
	bool			 ocsp_checked;
	struct nv_ocsp_cert	 ocsp[NV_CHAIN_LEN - 1];
	struct nv_rim_use	 rims[2];	/* NV_RIM_DRIVER, NV_RIM_VBIOS */
	bool			 rims_done;
	uint8_t			 mres[NV_MAX_BLOCKS];	/* by RIM index */
	uint8_t			 mrim[NV_MAX_BLOCKS];	/* which RIM matched */
	uint8_t			 malt[NV_MAX_BLOCKS];	/* which alternative */
	size_t			 nmatch, nmismatch;
};

static void
nv_free(void *parsed)
{
	struct nv_ev *d = parsed;

	if (d == NULL)
		return;
	nv_report_cleanup(&d->rep);
	sk_X509_pop_free(d->certs, X509_free);
	for (size_t i = 0; i < d->nstapled; i++)
		free(d->stapled[i]);
	for (int k = 0; k < 2; k++)
		nv_rim_free(d->rims[k].rim);
	free(d);
}

/* "11e001ff..." as text: the report in hex (vectors, nvtrust samples). */
static bool
is_hex_text(const uint8_t *p, size_t n)
{
	size_t digits = 0;

	if (n < 8 || strncasecmp((const char *)p, "11e0", 4) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (isxdigit(p[i]))
			digits++;
		else if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ' &&
		    p[i] != '\t')
			return false;
	}
	return digits % 2 == 0;
}

static bool
nv_detect(const uint8_t *p, size_t n)
{
	if (is_hex_text(p, n))
		return true;
	return n >= NV_REQUEST_LEN + 2 && p[0] == NV_SPDM_VERSION_11 &&
	    p[1] == NV_SPDM_GET_MEASUREMENTS &&
	    p[NV_REQUEST_LEN] == NV_SPDM_VERSION_11 &&
	    p[NV_REQUEST_LEN + 1] == NV_SPDM_MEASUREMENTS;
}

static bool
has_pem(const char *s, size_t n)
{
	static const char	tag[] = "-----BEGIN";
	size_t			tl = sizeof(tag) - 1;

	for (size_t i = 0; n >= tl && i <= n - tl; i++)
		if (memcmp(s + i, tag, tl) == 0)
			return true;
	return false;
}

/*
 * Parsed certificate chains: a GPU fleet sends the same few chains again
 * and again, and decoding five P-384 certificates costs about as much as
 * the report's signature, so they go through the process-wide parse
 * cache (av_x509_parse_any_cached(): shared, immutable X509 objects).
 */
static STACK_OF(X509) *
chain_parse_cached(const char *s, size_t n)
{
	STACK_OF(X509)	*sk = NULL;
	uint8_t		*dec = NULL;
	size_t		 dlen = 0;

	if (has_pem(s, n))
		sk = av_x509_parse_any_cached((const uint8_t *)s, n);
	else if (av_b64_decode(s, n, &dec, &dlen) == 0 && dlen > 0)
		sk = av_x509_parse_any_cached(dec, dlen);
	free(dec);
	return sk;
}

/* Certificates from one string: PEM, or base64 of PEM or of DER. */
static int
add_chain_string(struct nv_ev *d, const json_t *v, struct av_err *e)
{
	STACK_OF(X509)	*sk = NULL;
	const char	*s = json_string_value(v);
	size_t		 n = json_string_length(v);
	int		 rc = -1;

	if (s == NULL || n == 0 || n > NV_MAX_CHAIN_BYTES)
		return AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: \"cert_chain\" "
		    "must be a non-empty string of at most 256 KiB");
	sk = chain_parse_cached(s, n);
	if (sk == NULL || sk_X509_num(sk) == 0) {
		AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: \"cert_chain\" holds no "
		    "certificates (PEM, or base64 of PEM or DER)");
		goto out;
	}
	while (sk_X509_num(sk) > 0) {
		X509 *x = sk_X509_shift(sk);

		if (sk_X509_num(d->certs) >= NV_MAX_CHAIN_CERTS) {
			X509_free(x);
			AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: too many certificates");
			goto out;
		}
		if (!sk_X509_push(d->certs, x)) {
			X509_free(x);
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = 0;
 out:
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int
parse_item(struct nv_ev *d, const json_t *item, struct av_err *e)
{
	const json_t	*v, *x;
	size_t		 i;

	if (item == NULL || !json_is_object(item))
		return 0;
	if ((v = json_object_get(item, "cert_chain")) != NULL &&
	    !json_is_null(v)) {
		if (json_is_string(v)) {
			if (add_chain_string(d, v, e) != 0)
				return -1;
		} else if (json_is_array(v) &&
		    json_array_size(v) <= NV_MAX_CHAIN_CERTS) {
			json_array_foreach(v, i, x) {
				if (!json_is_string(x))
					return AV_FAIL(e, AV_E_MALFORMED,
					    "nvidia-gpu: \"cert_chain\" entries "
					    "must be strings");
				if (add_chain_string(d, x, e) != 0)
					return -1;
			}
		} else
			return AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: "
			    "\"cert_chain\" must be PEM text or a list");
	}
	if ((v = json_object_get(item, "ocsp")) != NULL && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > NV_MAX_STAPLED)
			return AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: \"ocsp\" "
			    "must be a list of at most 8 base64 responses");
		json_array_foreach(v, i, x) {
			uint8_t	*der = NULL;
			size_t	 dl = 0;

			if (!json_is_string(x) || json_string_length(x) >
			    NV_MAX_STAPLED_BYTES / 3 * 4 + 8 ||
			    av_b64_decode(json_string_value(x),
			    json_string_length(x), &der, &dl) != 0 || dl == 0) {
				free(der);
				return AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: "
				    "\"ocsp\" entries must be base64 DER");
			}
			d->stapled[d->nstapled] = der;
			d->stapled_len[d->nstapled++] = dl;
		}
	}
	if ((v = json_object_get(item, "arch")) != NULL && !json_is_null(v)) {
		const char *s = json_string_value(v);

		if (s == NULL || json_string_length(v) == 0 ||
		    json_string_length(v) >= sizeof(d->arch))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: \"arch\" must be a short string");
		for (i = 0; s[i] != '\0'; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '_')
				return AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: "
				    "\"arch\" must be letters and digits");
		snprintf(d->arch, sizeof(d->arch), "%s", s);
	}
	return 0;
}

static int
nv_parse(const struct av_evidence *ev, void **out, struct av_err *e)
{
	struct nv_ev	*d;
	uint8_t		*bin = NULL, *q;
	size_t		 blen = 0;
	const uint8_t	*p = ev->data;
	size_t		 n = ev->len;
	int		 rc;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->certs = sk_X509_new_null()) == NULL) {
		free(d);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	if (p != NULL && n <= 2 * NV_MAX_REPORT + 1024 && is_hex_text(p, n)) {
		/* strip whitespace, then decode */
		if ((q = malloc(n)) == NULL) {
			nv_free(d);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
		for (size_t i = 0; i < n; i++)
			if (isxdigit(p[i]))
				q[blen++] = p[i];
		rc = av_hex_decode((const char *)q, blen, &bin, &blen);
		free(q);
		if (rc != 0) {
			nv_free(d);
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: report hex text does not decode");
		}
		p = bin;
		n = blen;
		d->hex_input = true;
	}
	rc = nv_report_parse(p, n, &d->rep, e);
	free(bin);
	if (rc != 0 || parse_item(d, ev->item, e) != 0) {
		nv_free(d);
		return -1;
	}
	*out = d;
	return 0;
}

/* ---- verify: chain, FWID, signature ----------------------------------- */

/*
 * The leaf's SAN otherName 1.3.6.1.4.1.412.274.1 = "NVIDIA:<chip>:<UEID>"
 * gives the chip ("GH100") and UEID; else the chip is the first word of
 * the subject CN ("GH100 A01 GSP FMC LF").
 */
static void
leaf_identity(struct nv_ev *d, X509 *leaf)
{
	GENERAL_NAMES	*gens;
	ASN1_OBJECT	*oid;
	X509_NAME	*sn = X509_get_subject_name(leaf);
	char		 buf[128];
	int		 n;

	if (sn != NULL && X509_NAME_get_text_by_NID(sn, NID_commonName,
	    d->leaf_cn, sizeof(d->leaf_cn)) < 0)
		d->leaf_cn[0] = '\0';
	oid = OBJ_txt2obj("1.3.6.1.4.1.412.274.1", 1);
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; oid != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME	*g = sk_GENERAL_NAME_value(gens, i);
		ASN1_OBJECT	*t;
		ASN1_TYPE	*val;
		char		*c1, *c2;

		if (GENERAL_NAME_get0_otherName(g, &t, &val) != 1 ||
		    OBJ_cmp(t, oid) != 0 || val == NULL ||
		    (val->type != V_ASN1_UTF8STRING &&
		    val->type != V_ASN1_IA5STRING &&
		    val->type != V_ASN1_PRINTABLESTRING))
			continue;
		n = ASN1_STRING_length(val->value.asn1_string);
		if (n <= 0 || (size_t)n >= sizeof(buf))
			continue;
		memcpy(buf, ASN1_STRING_get0_data(val->value.asn1_string),
		    (size_t)n);
		buf[n] = '\0';
		if (strncmp(buf, "NVIDIA:", 7) != 0 ||
		    (c1 = strchr(buf + 7, ':')) == NULL)
			continue;
		*c1 = '\0';
		c2 = c1 + 1;
		if (strlen(buf + 7) < sizeof(d->chip) &&
		    strlen(c2) < sizeof(d->ueid)) {
			snprintf(d->chip, sizeof(d->chip), "%s", buf + 7);
			snprintf(d->ueid, sizeof(d->ueid), "%s", c2);
		}
		break;
	}
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(oid);
	if (d->chip[0] == '\0' && d->leaf_cn[0] != '\0') {
		size_t k = strcspn(d->leaf_cn, " ");

		if (k > 0 && k < sizeof(d->chip)) {
			memcpy(d->chip, d->leaf_cn, k);
			d->chip[k] = '\0';
		}
	}
	for (char *c = d->chip; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c))
			*c = '_';
}

/* Exactly five certificates, leaf first, to a pinned Device Identity CA. */
static int
check_chain(struct nv_ev *d, const struct av_ctx *ctx, struct av_err *e)
{
	STACK_OF(X509)		*inter = NULL, *chain = NULL;
	struct av_chain_opts	 opts = { 0 };
	int			 rc = -1;

	if (sk_X509_num(d->certs) == 0)
		return AV_FAIL(e, AV_E_CHAIN, "nvidia-gpu: no device "
		    "certificate chain (\"cert_chain\")");
	if (sk_X509_num(d->certs) != NV_CHAIN_LEN)
		return AV_FAIL(e, AV_E_CHAIN, "nvidia-gpu: the device "
		    "certificate chain must have exactly 5 certificates");
	if (ctx->trust == NULL)
		return AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
		    "nvidia-gpu: no trust anchors configured");
	if ((inter = sk_X509_new_null()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	for (int i = 1; i < NV_CHAIN_LEN; i++)
		if (!sk_X509_push(inter, sk_X509_value(d->certs, i))) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
	opts.platform = NV_PLATFORM;
	opts.max_depth = NV_CHAIN_LEN;
	if (av_chain_verify(ctx->trust, sk_X509_value(d->certs, 0), inter,
	    ctx->now, &opts, &chain, e) != 0)
		goto out;
	/* The chain built must be the one given, in its order. */
	if (sk_X509_num(chain) != NV_CHAIN_LEN) {
		AV_FAIL(e, AV_E_CHAIN, "nvidia-gpu: the device certificate "
		    "chain is not the 5-certificate identity chain");
		goto out;
	}
	for (int i = 0; i < NV_CHAIN_LEN; i++)
		if (X509_cmp(sk_X509_value(chain, i),
		    sk_X509_value(d->certs, i)) != 0) {
			AV_FAIL(e, AV_E_CHAIN, "nvidia-gpu: the device "
			    "certificates are not in issuing order");
			goto out;
		}
	rc = 0;
 out:
	sk_X509_free(inter);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* TCG DICE FWID of the leaf equals the report's FWID field, if any. */
static int
check_fwid(struct nv_ev *d, struct av_err *e)
{
	uint8_t	fwid[NV_FWID_LEN];
	int	have;

	if (!d->rep.op.has_fwid)
		return 0;	/* older firmware (driver 535): no field */
	if ((have = nv_leaf_fwid(sk_X509_value(d->certs, 0), fwid, e)) < 0)
		return -1;
	if (have == 0)
		return AV_FAIL(e, AV_E_FWID, "nvidia-gpu: the device "
		    "certificate has no FWID and the report has one");
	if (!av_memeq_ct(fwid, d->rep.op.fwid, NV_FWID_LEN))
		return AV_FAIL(e, AV_E_FWID, "nvidia-gpu: the report's FWID "
		    "differs from the device certificate's");
	d->fwid_checked = true;
	return 0;
}

static int
check_signature(struct nv_ev *d, struct av_err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(sk_X509_value(d->certs, 0));

	if (!av_ec_is_curve(pk, "P-384"))
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "nvidia-gpu: device key is not ECDSA P-384");
	if (av_ecdsa_verify_rs(pk, EVP_sha384(), d->rep.raw,
	    d->rep.signed_len, d->rep.sig, NV_SIG_LEN / 2,
	    d->rep.sig + NV_SIG_LEN / 2, NV_SIG_LEN / 2, e) != 0)
		return AV_FAIL(e, AV_E_SIGNATURE,
		    "nvidia-gpu: report signature invalid");
	return 0;
}

/*
 * The report's nonce against the request's, as the policy says: equal,
 * the request nonce's first 32 bytes, or SHA-256(nonce); runtime data
 * takes no part (src/verify/binding.c).
 */
static void
check_nonce(struct nv_ev *d, const struct av_ctx *ctx,
    const struct nv_policy *pol, struct av_submod *sm)
{
	struct av_binding_rule	 r = {
		.claim = "nonce",
		.flags = AV_BIND_F_IGNORE_RT,
		.nonce_msg = "nvidia-gpu: the report's nonce is not the "
		    "request nonce",
	};
	struct av_binding	 b;
	const char		*name;

	switch (pol != NULL ? pol->nonce : NV_NONCE_EQUAL) {
	case NV_NONCE_PREFIX:
		r.forms = AV_BIND_PREFIX;
		name = "prefix";
		break;
	case NV_NONCE_SHA256:
		r.forms = AV_BIND_SHA256;
		name = "sha256(nonce)";
		break;
	case NV_NONCE_EQUAL:
	default:
		r.forms = AV_BIND_EQUAL;
		name = "equal";
		break;
	}
	if (av_binding_check(ctx, d->rep.nonce, NV_NONCE_LEN, &r, sm, &b))
		d->nonce_rule = name;
	else if (b.nonce)
		d->nonce_rule = NULL;
}

/* ---- verify: OCSP ----------------------------------------------------- */

static int
check_ocsp(struct nv_ev *d, const struct av_ctx *ctx,
    const struct nv_policy *pol, struct av_submod *sm, struct av_err *e)
{
	enum nv_mode	 mode = pol != NULL ? pol->ocsp : NV_MODE_DEFAULT;
	bool		 missing = false;
	const char	*why = NULL;
	struct nv_blob	 st[NV_MAX_STAPLED];

	if (mode == NV_MODE_OFF)
		return 0;
	for (size_t i = 0; i < d->nstapled; i++) {
		st[i].p = d->stapled[i];
		st[i].len = d->stapled_len[i];
	}
	nv_ocsp_check(ctx->coll, ctx->trust, NV_PLATFORM, d->certs, st,
	    d->nstapled, ctx->now, d->ocsp);
	d->ocsp_checked = true;
	for (int i = 0; i < NV_CHAIN_LEN - 1; i++) {
		if (d->ocsp[i].status == NV_OCSP_REVOKED)
			return AV_FAIL(e, AV_E_CERT_REVOKED, "nvidia-gpu: a "
			    "device certificate is revoked (OCSP)");
		if (d->ocsp[i].status != NV_OCSP_GOOD) {
			missing = true;
			if (why == NULL)
				why = d->ocsp[i].why;
		}
	}
	if (!missing)
		return 0;
	if (mode == NV_MODE_REQUIRED)
		av_submod_reason(sm, AV_E_OCSP, AV_STATUS_CONTRAINDICATED,
		    "ocsp", NULL, NULL, why != NULL ? why :
		    "nvidia-gpu: OCSP status unavailable");
	else
		av_submod_reason(sm, AV_E_OCSP, AV_STATUS_WARNING, "ocsp",
		    NULL, NULL, why != NULL ? why :
		    "nvidia-gpu: OCSP status unavailable");
	return 0;
}

/* ---- verify: RIMs ----------------------------------------------------- */

static const char *const rim_kind_name[2] = { "driver", "vbios" };

/*
 * The colloquialVersion a stored XML blob declares, found by a plain
 * scan (no XML parsing) and remembered by the blob's SHA-256, so a large
 * store of RIMs costs a table lookup per blob per request.  "" when the
 * blob has none.  The real check is nv_rim_load()'s, on the parsed
 * document; this only picks candidates.
 */
#define VIDX_SIZE	4096
#define VIDX_VER	48

struct vidx_ent {
	uint8_t	sha[32];
	bool	used;
	char	ver[VIDX_VER];
};
static pthread_mutex_t	vidx_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct vidx_ent	vidx[VIDX_SIZE];

static void
scan_version(const uint8_t *p, size_t n, char *out, size_t len)
{
	static const char	key[] = "colloquialVersion=";
	size_t			kl = sizeof(key) - 1, j;

	out[0] = '\0';
	for (size_t i = 0; i + kl + 2 <= n; i++) {
		uint8_t q;

		if (memcmp(p + i, key, kl) != 0)
			continue;
		q = p[i + kl];
		if (q != '"' && q != '\'')
			continue;
		for (j = 0; i + kl + 1 + j < n && p[i + kl + 1 + j] != q &&
		    j + 1 < len; j++)
			out[j] = (char)p[i + kl + 1 + j];
		out[j] = '\0';
		return;
	}
}

static void
blob_version(const struct av_coll_blob *b, char *out, size_t len)
{
	struct vidx_ent	*v;
	char		 ver[VIDX_VER];
	size_t		 slot;

	slot = ((size_t)b->sha256[0] << 8 | b->sha256[1]) % VIDX_SIZE;
	pthread_mutex_lock(&vidx_mtx);
	v = &vidx[slot];
	if (v->used && memcmp(v->sha, b->sha256, 32) == 0) {
		snprintf(out, len, "%s", v->ver);
		pthread_mutex_unlock(&vidx_mtx);
		return;
	}
	pthread_mutex_unlock(&vidx_mtx);
	scan_version(b->data, b->len, ver, sizeof(ver));
	pthread_mutex_lock(&vidx_mtx);
	memcpy(v->sha, b->sha256, 32);
	snprintf(v->ver, sizeof(v->ver), "%s", ver);
	v->used = true;
	pthread_mutex_unlock(&vidx_mtx);
	snprintf(out, len, "%s", ver);
}

/* How many active RIM measurements differ from the report (-1: none). */
static int
rim_score(const struct nv_ev *d, const struct nv_rim *rim)
{
	int bad = 0;

	for (size_t i = 0; i < rim->nmeas; i++) {
		const struct nv_rim_meas	*m = &rim->meas[i];
		const struct nv_block		*b;
		bool				 hit = false;

		if (!m->active || (m->index == NV_NVDEC0_RIM_INDEX &&
		    d->rep.op.nvdec0 == NV_STATUS_DISABLED))
			continue;
		b = nv_report_block(&d->rep, m->index + 1);
		for (size_t a = 0; b != NULL && a < m->nalt; a++)
			if (b->len == m->size &&
			    memcmp(b->value, m->alt[a], m->size) == 0)
				hit = true;
		bad += !hit;
	}
	return bad;
}

/*
 * Take candidate XML p as the RIM of kind k when it is one (version and
 * chip), verifies, and fits the report better than the one held.
 */
static void
consider_rim(struct nv_ev *d, const struct av_ctx *ctx, enum nv_rim_kind k,
    const char *version, const uint8_t *p, size_t n, const uint8_t *sha,
    const char *source)
{
	struct nv_rim_use	*u = &d->rims[k];
	struct nv_rim		*rim = NULL;
	struct av_err		 e = { 0 };

	if (u->state == NV_RS_OK && rim_score(d, u->rim) == 0)
		return;		/* already a perfect one */
	u->tried++;
	if (nv_rim_load(ctx->trust, p, n, sha, ctx->now, &rim, &e) != 0) {
		if (e.code != AV_E_RIM_INVALID)
			return;	/* not a RIM at all */
		if (u->state != NV_RS_OK) {
			u->state = NV_RS_INVALID;
			u->err = e;
			u->source = source;
		}
		return;
	}
	if (strcasecmp(rim->version, version) != 0 ||
	    (d->chip[0] != '\0' && rim->product[0] != '\0' &&
	    strcasecmp(rim->product, d->chip) != 0)) {
		/* a RIM, but for another version or chip */
		if (strcmp(source, "service") == 0 && u->state != NV_RS_OK) {
			u->state = NV_RS_INVALID;
			AV_FAIL(&u->err, AV_E_RIM_INVALID, "nvidia-gpu: the RIM "
			    "service returned a RIM for another version");
		}
		nv_rim_free(rim);
		return;
	}
	if (u->state == NV_RS_OK && rim_score(d, rim) >= rim_score(d, u->rim)) {
		nv_rim_free(rim);
		return;
	}
	nv_rim_free(u->rim);
	u->rim = rim;
	u->state = NV_RS_OK;
	u->source = source;
}

static void
find_rim(struct nv_ev *d, const struct av_ctx *ctx, enum nv_rim_kind k)
{
	struct nv_rim_use		*u = &d->rims[k];
	const struct av_coll_blob	*b;
	const char			*version;
	uint8_t				*xml = NULL;
	size_t				 xlen = 0;
	struct av_err			 fe = { 0 };

	version = k == NV_RIM_DRIVER ? d->rep.op.driver : d->rep.op.vbios;
	if ((k == NV_RIM_DRIVER && !d->rep.op.has_driver) ||
	    (k == NV_RIM_VBIOS && !d->rep.op.has_vbios)) {
		u->state = NV_RS_MISSING;
		AV_FAIL(&u->err, AV_E_RIM_MISSING, "nvidia-gpu: the report "
		    "has no version to select a RIM by");
		return;
	}
	if (nv_rim_id(u->id, sizeof(u->id), k, d->chip, &d->rep.op) != 0)
		u->id[0] = '\0';
	/* 1. the collateral store (operator files, imported RIMs) */
	for (size_t i = 0; ctx->coll != NULL &&
	    (b = av_collateral_get(ctx->coll, AV_COLL_XML, i)) != NULL; i++) {
		char bv[VIDX_VER];

		blob_version(b, bv, sizeof(bv));
		if (strcasecmp(bv, version) == 0)
			consider_rim(d, ctx, k, version, b->data, b->len,
			    b->sha256, "collateral");
	}
	if (u->state == NV_RS_OK && rim_score(d, u->rim) == 0)
		return;
	/* 2. the on-disk cache, then the RIM service */
	if (ctx->coll != NULL && u->id[0] != '\0' &&
	    nv_rim_fetch(ctx->coll, u->id, 0, &xml, &xlen, &fe) == 0) {
		consider_rim(d, ctx, k, version, xml, xlen, NULL,
		    "service");
		free(xml);
		xml = NULL;
		/* a cached copy that no longer verifies: ask again */
		if (u->state == NV_RS_INVALID && strcmp(u->source,
		    "service") == 0 && nv_rim_fetch(ctx->coll, u->id,
		    AV_FETCH_REFRESH, &xml, &xlen, &fe) == 0) {
			consider_rim(d, ctx, k, version, xml, xlen, NULL,
		    "service");
			free(xml);
		}
	}
	if (u->state == NV_RS_NONE) {
		u->state = NV_RS_MISSING;
		if (fe.code == AV_E_RIM_MISSING)
			u->err = fe;
		else
			AV_FAIL(&u->err, AV_E_RIM_MISSING, "nvidia-gpu: no RIM "
			    "for this version in the collateral or the RIM "
			    "service");
	}
}

/* Compare every active RIM measurement with the report's block. */
static void
compare_rims(struct nv_ev *d, struct av_submod *sm)
{
	const struct nv_rim	*r[2];
	char			 claim[48];

	for (int k = 0; k < 2; k++)
		r[k] = d->rims[k].state == NV_RS_OK ? d->rims[k].rim : NULL;
	/* an index active in both RIMs is an error */
	if (r[0] != NULL && r[1] != NULL)
		for (size_t i = 0; i < r[0]->nmeas; i++) {
			const struct nv_rim_meas *m = &r[0]->meas[i], *o;

			if (m->active && (o = nv_rim_find(r[1], m->index)) !=
			    NULL && o->active) {
				snprintf(claim, sizeof(claim),
				    "measurements[%u]", m->index);
				av_submod_reason(sm, AV_E_RIM_INVALID,
				    AV_STATUS_CONTRAINDICATED, claim, NULL,
				    NULL, "nvidia-gpu: the driver and VBIOS "
				    "RIMs both claim this measurement index");
				return;
			}
		}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; r[k] != NULL && i < r[k]->nmeas; i++) {
			const struct nv_rim_meas	*m = &r[k]->meas[i];
			const struct nv_block		*b;
			json_t				*exp;

			if (!m->active || m->index >= NV_MAX_BLOCKS)
				continue;
			d->mrim[m->index] = (uint8_t)k;
			if (m->index == NV_NVDEC0_RIM_INDEX &&
			    d->rep.op.nvdec0 == NV_STATUS_DISABLED) {
				d->mres[m->index] = NV_M_SKIPPED;
				continue;
			}
			b = nv_report_block(&d->rep, m->index + 1);
			for (size_t a = 0; b != NULL && a < m->nalt; a++)
				if (b->len == m->size && memcmp(b->value,
				    m->alt[a], m->size) == 0) {
					d->mres[m->index] = NV_M_MATCH;
					d->malt[m->index] = (uint8_t)a;
					break;
				}
			if (d->mres[m->index] == NV_M_MATCH) {
				d->nmatch++;
				continue;
			}
			d->mres[m->index] = NV_M_MISMATCH;
			d->nmismatch++;
			snprintf(claim, sizeof(claim), "measurements[%u]",
			    m->index);
			exp = json_array();
			for (size_t a = 0; exp != NULL && a < m->nalt; a++)
				json_array_append_new(exp,
				    av_json_hex(m->alt[a], m->size));
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, claim, exp,
			    b != NULL ? av_json_hex(b->value, b->len) :
			    json_null(), k == NV_RIM_DRIVER ?
			    "nvidia-gpu: measurement differs from the driver "
			    "RIM" : "nvidia-gpu: measurement differs from the "
			    "VBIOS RIM");
		}
	}
}

static void
check_rims(struct nv_ev *d, const struct av_ctx *ctx,
    const struct nv_policy *pol, struct av_submod *sm)
{
	enum nv_mode	 mode = pol != NULL ? pol->rim : NV_MODE_DEFAULT;
	char		 claim[32];

	d->rims_done = true;
	if (mode == NV_MODE_OFF) {
		d->rims[0].state = d->rims[1].state = NV_RS_OFF;
		return;
	}
	for (int k = 0; k < 2; k++)
		find_rim(d, ctx, (enum nv_rim_kind)k);
	for (int k = 0; k < 2; k++) {
		struct nv_rim_use *u = &d->rims[k];

		snprintf(claim, sizeof(claim), "rims.%s", rim_kind_name[k]);
		if (u->state == NV_RS_INVALID)
			av_submod_reason(sm, AV_E_RIM_INVALID,
			    AV_STATUS_CONTRAINDICATED, claim, NULL,
			    u->id[0] != '\0' ? json_string(u->id) : NULL,
			    u->err.reason != NULL ? u->err.reason :
			    "nvidia-gpu: RIM invalid");
		else if (u->state == NV_RS_MISSING)
			av_submod_reason(sm, AV_E_RIM_MISSING,
			    mode == NV_MODE_REQUIRED ?
			    AV_STATUS_CONTRAINDICATED : AV_STATUS_WARNING,
			    claim, NULL,
			    u->id[0] != '\0' ? json_string(u->id) : NULL,
			    u->err.reason != NULL ? u->err.reason :
			    "nvidia-gpu: no RIM found");
	}
	compare_rims(d, sm);
	if (d->rims[0].state == NV_RS_OK && d->rims[1].state == NV_RS_OK &&
	    d->nmismatch == 0 && !av_submod_failed(sm))
		av_submod_tv(sm, AV_TV_EXECUTABLES, AV_AR_AFFIRM);
}

/*
 * Verify: the device chain (exactly five certificates to a pinned NVIDIA
 * Device Identity CA at ctx->now), FWID, the report signature; then the
 * nonce, OCSP and the RIMs, recorded as reasons.
 */
static int
nv_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	struct nv_ev		*d = parsed;
	const struct nv_policy	*pol = policy;

	d->verified = false;
	if (check_chain(d, ctx, e) != 0)
		return -1;
	leaf_identity(d, sk_X509_value(d->certs, 0));
	if (check_fwid(d, e) != 0 || check_signature(d, e) != 0)
		return -1;
	d->verified = true;
	av_submod_tv(sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_HARDWARE, AV_AR_AFFIRM);
	check_nonce(d, ctx, pol, sm);
	if (check_ocsp(d, ctx, pol, sm, e) != 0)
		return -1;
	check_rims(d, ctx, pol, sm);
	return 0;
}

/* ---- claims ----------------------------------------------------------- */

static const char *
status_byte(int s)
{
	if (s == NV_STATUS_ENABLED)
		return "enabled";
	if (s == NV_STATUS_DISABLED)
		return "disabled";
	return "unknown";
}

static json_t *
opt_str(const char *s)
{
	return (s != NULL && s[0] != '\0') ? json_string(s) : json_null();
}

static json_t *
time_json(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	av_time_format(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
ocsp_json(const struct nv_ev *d)
{
	json_t		*o = json_object(), *a = json_array();
	const char	*overall = "good";

	if (o == NULL || a == NULL) {
		json_decref(o);
		json_decref(a);
		return NULL;
	}
	if (!d->ocsp_checked) {
		json_decref(a);
		json_object_set_new(o, "status", json_string("not_checked"));
		return o;
	}
	for (int i = 0; i < NV_CHAIN_LEN - 1; i++) {
		const struct nv_ocsp_cert *c = &d->ocsp[i];

		if (c->status != NV_OCSP_GOOD)
			overall = nv_ocsp_status_str(c->status);
		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:o}",
		    "status", nv_ocsp_status_str(c->status),
		    "source", opt_str(c->source),
		    "this_update", time_json(c->this_update),
		    "next_update", time_json(c->next_update)));
	}
	json_object_set_new(o, "status", json_string(overall));
	json_object_set_new(o, "certificates", a);
	return o;
}

static const char *
rim_state_str(enum nv_rim_state s)
{
	switch (s) {
	case NV_RS_OK:
		return "valid";
	case NV_RS_MISSING:
		return "missing";
	case NV_RS_INVALID:
		return "invalid";
	case NV_RS_OFF:
		return "not_checked";
	case NV_RS_NONE:
	default:
		return "not_checked";
	}
}

static json_t *
rims_json(const struct nv_ev *d)
{
	json_t *o = json_object();

	for (int k = 0; o != NULL && k < 2; k++) {
		const struct nv_rim_use	*u = &d->rims[k];
		json_t			*r = json_object();

		if (r == NULL)
			break;
		json_object_set_new(r, "status",
		    json_string(rim_state_str(u->state)));
		json_object_set_new(r, "id", opt_str(u->id));
		if (u->state == NV_RS_OK) {
			char		 nb[32];
			const ASN1_TIME	*na = X509_get0_notAfter(u->rim->signer);
			struct tm	 tm;

			json_object_set_new(r, "source", json_string(u->source));
			json_object_set_new(r, "version",
			    json_string(u->rim->version));
			json_object_set_new(r, "tag_id",
			    opt_str(u->rim->tag_id));
			if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1 &&
			    strftime(nb, sizeof(nb), "%Y-%m-%dT%H:%M:%SZ",
			    &tm) > 0)
				json_object_set_new(r, "signer_not_after",
				    json_string(nb));
		}
		json_object_set_new(o, rim_kind_name[k], r);
	}
	return o;
}

static json_t *
measurements_json(const struct nv_ev *d)
{
	static const char *const res[] = { "not_in_rim", "match", "mismatch",
	    "skipped" };
	json_t *a = json_array();

	for (unsigned i = 0; a != NULL && i < d->rep.nblocks; i++) {
		unsigned	 idx = d->rep.blocks[i].index - 1u;
		json_t		*m;

		m = json_pack("{s:i, s:s}", "index", (json_int_t)idx,
		    "result", res[d->mres[idx] & 3]);
		if (m == NULL)
			continue;
		if (d->mres[idx] != NV_M_NOT_IN_RIM)
			json_object_set_new(m, "rim",
			    json_string(rim_kind_name[d->mrim[idx] & 1]));
		if (d->mres[idx] == NV_M_MATCH)
			json_object_set_new(m, "alternative",
			    json_integer(d->malt[idx]));
		json_array_append_new(a, m);
	}
	return a;
}

static const char *
feature_str(uint16_t f)
{
	switch (f) {
	case 0:
		return "SPT";
	case 1:
		return "MPT";
	case 2:
		return "PPCIE";
	default:
		return "unknown";
	}
}

static int
nv_claims(const void *parsed, json_t **out, struct av_err *e)
{
	const struct nv_ev	*d = parsed;
	const struct nv_opaque	*op = &d->rep.op;
	json_t			*c, *a, *cert;
	char			 sku[128];

	if ((c = json_object()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	json_object_set_new(c, "nonce", av_json_hex(d->rep.nonce, NV_NONCE_LEN));
	json_object_set_new(c, "responder_nonce",
	    av_json_hex(d->rep.resp_nonce, NV_NONCE_LEN));
	json_object_set_new(c, "spdm_version", json_string("1.1"));
	json_object_set_new(c, "arch", opt_str(d->arch));
	json_object_set_new(c, "chip", opt_str(d->chip));
	json_object_set_new(c, "ueid", opt_str(d->ueid));
	json_object_set_new(c, "driver_version",
	    op->has_driver ? json_string(op->driver) : json_null());
	json_object_set_new(c, "vbios_version",
	    op->has_vbios ? json_string(op->vbios) : json_null());
	json_object_set_new(c, "project", opt_str(op->project));
	json_object_set_new(c, "project_sku", opt_str(op->project_sku));
	json_object_set_new(c, "chip_sku", opt_str(op->chip_sku));
	snprintf(sku, sizeof(sku), "%s_%s_%s", op->project, op->project_sku,
	    op->chip_sku);
	json_object_set_new(c, "sku", json_string(sku));
	json_object_set_new(c, "nvdec0", op->nvdec0 < 0 ? json_null() :
	    json_string(status_byte(op->nvdec0)));
	json_object_set_new(c, "protected_pcie", op->ppcie < 0 ? json_false() :
	    json_boolean(op->ppcie == NV_STATUS_ENABLED));
	if (op->has_feature_flag)
		json_object_set_new(c, "feature",
		    json_string(feature_str(op->feature_flag)));
	if (op->nswitch_pdis > 0 && (a = json_array()) != NULL) {
		for (size_t i = 0; i < op->nswitch_pdis; i++)
			json_array_append_new(a,
			    av_json_hex(op->switch_pdis[i], 8));
		json_object_set_new(c, "switch_pdis", a);
	}
	json_object_set_new(c, "fwid", op->has_fwid ?
	    av_json_hex(op->fwid, NV_FWID_LEN) : json_null());
	json_object_set_new(c, "fwid_checked", json_boolean(d->fwid_checked));
	json_object_set_new(c, "nonce_binding", opt_str(d->nonce_rule));
	json_object_set_new(c, "measurement_blocks",
	    json_integer(d->rep.nblocks));
	if (d->rep.trailing > 0)
		json_object_set_new(c, "trailing_bytes",
		    json_integer((json_int_t)d->rep.trailing));
	if ((cert = json_object()) != NULL) {
		json_object_set_new(cert, "chain", json_string(d->verified ?
		    "verified" : "not_verified"));
		json_object_set_new(cert, "leaf_subject", opt_str(d->leaf_cn));
		json_object_set_new(cert, "ocsp", ocsp_json(d));
		json_object_set_new(c, "certificate", cert);
	}
	if (d->rims_done) {
		json_object_set_new(c, "rims", rims_json(d));
		json_object_set_new(c, "measurements", measurements_json(d));
	}
	*out = c;
	return 0;
}

/* ---- policy ----------------------------------------------------------- */

static void
strlist_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
nv_policy_free(void *policy)
{
	struct nv_policy *p = policy;

	if (p == NULL)
		return;
	free(p->min_driver);
	free(p->min_vbios);
	strlist_free(p->chips, p->nchips);
	strlist_free(p->skus, p->nskus);
	free(p);
}

static void
subpath(char *buf, size_t len, const char *path, const char *key)
{
	int n = snprintf(buf, len, "%s.%s", path, key);

	if (n < 0 || (size_t)n >= len)
		buf[len - 1] = '\0';
}

static int
compile_mode(const json_t *v, const char *path, bool with_off,
    enum nv_mode *out, struct av_policy_err *perr)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, "required") == 0)
		*out = NV_MODE_REQUIRED;
	else if (s != NULL && strcmp(s, "optional") == 0)
		*out = NV_MODE_OPTIONAL;
	else if (s != NULL && with_off && strcmp(s, "off") == 0)
		*out = NV_MODE_OFF;
	else
		return av_policy_errf(perr, path, with_off ?
		    "expected \"required\", \"optional\" or \"off\"" :
		    "expected \"required\" or \"optional\"");
	return 0;
}

/* A string or list of strings of [A-Za-z0-9_.-], unique. */
static int
compile_strlist(const json_t *v, const char *path, char ***out, size_t *n,
    struct av_policy_err *perr)
{
	size_t	cnt = json_is_array(v) ? json_array_size(v) : 1;
	char	sub[300];

	if (!json_is_array(v) && !json_is_string(v))
		return av_policy_errf(perr, path,
		    "expected a string or an array of strings");
	if (cnt == 0)
		return av_policy_errf(perr, path,
		    "empty list: nothing would be allowed");
	if (cnt > 1024)
		return av_policy_errf(perr, path, "too many values");
	if ((*out = calloc(cnt, sizeof(char *))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const json_t	*s = json_is_array(v) ? json_array_get(v, i) : v;
		const char	*t = json_string_value(s);

		snprintf(sub, sizeof(sub), json_is_array(v) ? "%s[%zu]" : "%s",
		    path, i);
		if (t == NULL || *t == '\0' || strlen(t) > 64)
			return av_policy_errf(perr, sub,
			    "expected a non-empty string of at most 64 "
			    "characters");
		for (const char *c = t; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' &&
			    *c != '.' && *c != '-')
				return av_policy_errf(perr, sub,
				    "unexpected character '%c'", *c);
		for (size_t j = 0; j < *n; j++)
			if (strcasecmp((*out)[j], t) == 0)
				return av_policy_errf(perr, sub,
				    "duplicate value");
		if (((*out)[(*n)++] = strdup(t)) == NULL)
			return av_policy_errf(perr, sub, "out of memory");
	}
	return 0;
}

static int
compile_version(const json_t *v, const char *path, bool hex, char **out,
    struct av_policy_err *perr)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) > 40 || nv_version_cmp(s, s, hex) != 0)
		return av_policy_errf(perr, path, hex ?
		    "expected a dotted version of hex numbers "
		    "(\"96.00.9F.00.01\")" :
		    "expected a dotted version of numbers (\"550.54.15\")");
	if ((*out = strdup(s)) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	return 0;
}

static const char *const nv_policy_keys[] = {
	"count", "rim", "ocsp", "nonce", "min_driver", "min_vbios", "chips",
	"skus", "ppcie", NULL
};

/*
 * Compile the "nvidia-gpu" policy section (docs/platforms/nvidia-gpu.md).
 * Returns 0 and *out (nv_policy_free), or -1 with perr set.
 */
static int
nv_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	struct nv_policy	*p;
	const json_t		*v;
	char			 sub[300];
	uint64_t		 x;

	if (!json_is_object(sec))
		return av_policy_errf(perr, path, "expected an object");
	if (av_pol_keys(sec, path, nv_policy_keys, perr) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	p->count = -1;
	if ((v = json_object_get(sec, "count")) != NULL) {
		subpath(sub, sizeof(sub), path, "count");
		if (av_pol_uint(v, sub, AV_MAX_ITEMS, &x, perr) != 0)
			goto bad;
		if (x == 0) {
			av_policy_errf(perr, sub, "expected at least 1");
			goto bad;
		}
		p->count = (int64_t)x;
	}
	if ((v = json_object_get(sec, "rim")) != NULL) {
		subpath(sub, sizeof(sub), path, "rim");
		if (compile_mode(v, sub, true, &p->rim, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "ocsp")) != NULL) {
		subpath(sub, sizeof(sub), path, "ocsp");
		if (compile_mode(v, sub, true, &p->ocsp, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "nonce")) != NULL) {
		const char *s = json_string_value(v);

		subpath(sub, sizeof(sub), path, "nonce");
		if (s != NULL && strcmp(s, "equal") == 0)
			p->nonce = NV_NONCE_EQUAL;
		else if (s != NULL && strcmp(s, "prefix") == 0)
			p->nonce = NV_NONCE_PREFIX;
		else if (s != NULL && strcmp(s, "sha256(nonce)") == 0)
			p->nonce = NV_NONCE_SHA256;
		else {
			av_policy_errf(perr, sub, "expected \"equal\", "
			    "\"prefix\" or \"sha256(nonce)\"");
			goto bad;
		}
	}
	if ((v = json_object_get(sec, "min_driver")) != NULL) {
		subpath(sub, sizeof(sub), path, "min_driver");
		if (compile_version(v, sub, false, &p->min_driver, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "min_vbios")) != NULL) {
		subpath(sub, sizeof(sub), path, "min_vbios");
		if (compile_version(v, sub, true, &p->min_vbios, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "chips")) != NULL) {
		subpath(sub, sizeof(sub), path, "chips");
		if (compile_strlist(v, sub, &p->chips, &p->nchips, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "skus")) != NULL) {
		subpath(sub, sizeof(sub), path, "skus");
		if (compile_strlist(v, sub, &p->skus, &p->nskus, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "ppcie")) != NULL) {
		subpath(sub, sizeof(sub), path, "ppcie");
		if (av_pol_bool(v, sub, &p->ppcie, perr) != 0)
			goto bad;
	}
	*out = p;
	return 0;
 bad:
	nv_policy_free(p);
	return -1;
}

static bool
in_list(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], s) == 0)
			return true;
	return false;
}

/*
 * Compare the verified report with the compiled section: minimum driver
 * and VBIOS versions, allowed chips and SKUs, protected PCIe.
 */
static void
nv_appraise(const void *parsed, const void *policy,
    const struct av_ctx *ctx, struct av_submod *sm)
{
	const struct nv_ev	*d = parsed;
	const struct nv_policy	*p = policy;
	const struct nv_opaque	*op = &d->rep.op;
	bool			 cfg = true;
	char			 sku[128];

	(void)ctx;
	if (p->min_driver != NULL && (!op->has_driver ||
	    nv_version_cmp(op->driver, p->min_driver, false) < 0)) {
		av_submod_reason(sm, AV_E_VERSION_BELOW,
		    AV_STATUS_CONTRAINDICATED, "driver_version",
		    json_string(p->min_driver), op->has_driver ?
		    json_string(op->driver) : json_null(),
		    "nvidia-gpu: driver version below the policy minimum");
	}
	if (p->min_vbios != NULL && (!op->has_vbios ||
	    nv_version_cmp(op->vbios, p->min_vbios, true) < 0)) {
		av_submod_reason(sm, AV_E_VERSION_BELOW,
		    AV_STATUS_CONTRAINDICATED, "vbios_version",
		    json_string(p->min_vbios), op->has_vbios ?
		    json_string(op->vbios) : json_null(),
		    "nvidia-gpu: VBIOS version below the policy minimum");
	}
	if (p->nchips > 0 && !in_list(p->chips, p->nchips, d->chip)) {
		av_submod_reason(sm, AV_E_POLICY_VIOLATION,
		    AV_STATUS_CONTRAINDICATED, "chip", NULL, opt_str(d->chip),
		    "nvidia-gpu: chip not allowed by the policy");
	}
	snprintf(sku, sizeof(sku), "%s_%s_%s", op->project, op->project_sku,
	    op->chip_sku);
	if (p->nskus > 0 && !in_list(p->skus, p->nskus, sku)) {
		av_submod_reason(sm, AV_E_POLICY_VIOLATION,
		    AV_STATUS_CONTRAINDICATED, "sku", NULL, json_string(sku),
		    "nvidia-gpu: SKU not allowed by the policy");
	}
	if (p->ppcie && op->ppcie != NV_STATUS_ENABLED) {
		av_submod_reason(sm, AV_E_POLICY_VIOLATION,
		    AV_STATUS_CONTRAINDICATED, "protected_pcie", json_true(),
		    json_false(), "nvidia-gpu: protected PCIe required by the "
		    "policy and not enabled");
		cfg = false;
	}
	if (cfg)
		av_submod_tv(sm, AV_TV_CONFIG, AV_AR_AFFIRM);
}

/* ---- request helpers (include/av/nvgpu.h) ------------------------------ */

/*
 * Sniff NVIDIA's SDK evidence list (include/av/nvgpu.h).  No allocation.
 */
bool
av_nvgpu_is_sdk_list(const json_t *v)
{
	size_t		 i;
	const json_t	*x;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, x)
		if (!json_is_object(x) ||
		    !json_is_string(json_object_get(x, "evidence")) ||
		    !json_is_string(json_object_get(x, "certificate")))
			return false;
	return true;
}

/*
 * One SDK entry as a request item.  The "certificate" is base64 of the
 * PEM chain (nvtrust) or PEM itself.  Returns a new object or NULL.
 */
static json_t *
sdk_item(const json_t *x, struct av_err *e)
{
	const json_t	*ev = json_object_get(x, "evidence");
	const json_t	*cert = json_object_get(x, "certificate");
	const json_t	*arch = json_object_get(x, "arch");
	json_t		*it;
	uint8_t		*pem = NULL;
	size_t		 plen = 0;
	const char	*cs;

	if (!json_is_object(x) || !json_is_string(ev) || !json_is_string(cert)) {
		AV_FAIL(e, AV_E_BAD_REQUEST, "nvidia-gpu: each SDK evidence "
		    "entry needs string \"evidence\" and \"certificate\"");
		return NULL;
	}
	if (json_string_length(cert) > NV_MAX_CHAIN_BYTES ||
	    json_string_length(ev) > AV_MAX_EVIDENCE_BYTES / 3 * 4 + 64) {
		AV_FAIL(e, AV_E_BAD_REQUEST,
		    "nvidia-gpu: SDK evidence entry too large");
		return NULL;
	}
	if (arch != NULL && !json_is_null(arch) && !json_is_string(arch)) {
		AV_FAIL(e, AV_E_BAD_REQUEST,
		    "nvidia-gpu: SDK \"arch\" must be a string");
		return NULL;
	}
	cs = json_string_value(cert);
	if (has_pem(cs, json_string_length(cert))) {
		if ((pem = (uint8_t *)strdup(cs)) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			return NULL;
		}
		plen = strlen(cs);
	} else if (av_b64_decode(cs, json_string_length(cert), &pem,
	    &plen) != 0 || !has_pem((const char *)pem, plen) ||
	    memchr(pem, '\0', plen) != NULL) {
		free(pem);
		AV_FAIL(e, AV_E_BAD_REQUEST, "nvidia-gpu: SDK \"certificate\" "
		    "is not base64 of a PEM certificate chain");
		return NULL;
	}
	it = json_pack("{s:s, s:O, s:s%}", "type", NV_PLATFORM, "data", ev,
	    "cert_chain", (const char *)pem, plen);
	free(pem);
	if (it == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		return NULL;
	}
	if (json_is_string(arch))
		json_object_set(it, "arch", (json_t *)arch);
	return it;
}

/*
 * Expand an SDK evidence list into request items (include/av/nvgpu.h).
 * On success *items_out is a new array.  Returns 0, or -1 with e
 * (AV_E_BAD_REQUEST, AV_E_NOMEM).
 */
int
av_nvgpu_expand_sdk_list(const json_t *list, json_t **items_out,
    struct av_err *e)
{
	json_t		*items, *it;
	const json_t	*x;
	size_t		 i;

	if (!json_is_array(list) || json_array_size(list) == 0)
		return AV_FAIL(e, AV_E_BAD_REQUEST, "nvidia-gpu: the SDK "
		    "evidence list must be a non-empty array");
	if (json_array_size(list) > AV_MAX_ITEMS)
		return AV_FAIL(e, AV_E_BAD_REQUEST,
		    "too many evidence items");
	if ((items = json_array()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	json_array_foreach(list, i, x) {
		if ((it = sdk_item(x, e)) == NULL ||
		    json_array_append_new(items, it) != 0) {
			json_decref(items);
			return -1;
		}
	}
	*items_out = items;
	return 0;
}

/* The "count" of pol's nvidia-gpu section, or -1 (include/av/nvgpu.h). */
int64_t
av_nvgpu_policy_count(const struct av_policy *pol)
{
	const struct nv_policy	*p;
	const struct av_backend	*b = av_backend_find(NV_PLATFORM);

	if (pol == NULL || b == NULL ||
	    (p = av_policy_section(pol, b)) == NULL)
		return -1;
	return p->count;
}

/*
 * NVIDIA GPU attestation reports (SPDM 1.1 GET_MEASUREMENTS signed by the
 * GPU's device identity key), type "nvidia-gpu".
 */
const struct av_backend av_backend_nvgpu = {
	.name = "nvidia-gpu",
	.media_type = "application/vnd.attestd.nvidia-gpu",
	.detect = nv_detect,
	.parse = nv_parse,
	.verify = nv_verify,
	.claims = nv_claims,
	.policy_compile = nv_policy_compile,
	.policy_free = nv_policy_free,
	.appraise = nv_appraise,
	.free = nv_free,
};
