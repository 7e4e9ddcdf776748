/*
 * attestd - AWS Nitro attestation documents (docs/platforms/aws-nitro.md).
 *
 * Two types share this file and its parser:
 *   aws-nitro     Nitro Enclaves documents from the NSM ("pcrs", 0..31);
 *   aws-nitrotpm  EC2 NitroTPM documents ("nitrotpm_pcrs", 0..23).
 * Both are COSE_Sign1 (RFC 9052), ES384, signed by a leaf certificate
 * that chains to the AWS Nitro Enclaves Root-G1 carried as cabundle[0].
 * The format and the checks follow the AWS Nitro Enclaves User Guide,
 * "Verifying the root of trust", and the NSM API's attestation document
 * specification (CDDL), cited below as [AWS].
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "av/backend.h"
#include "av/binding.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/result.h"
#include "evidence/cose.h"

/* Caps, checked before anything is allocated (docs/platforms/aws-nitro.md). */
#define NITRO_MAX_DOC		(64u * 1024)	/* whole document */
#define NITRO_MAX_KEYS		16	/* payload map entries */
#define NITRO_MAX_PCRS		32	/* [AWS] index = 0..31 */
#define NITRO_TPM_PCRS		24	/* NitroTPM: PCR 0..23 */
#define NITRO_PCR_LEN		48	/* SHA-384 */
#define NITRO_MAX_CABUNDLE	16
#define NITRO_MAX_CERT		1024	/* [AWS] cert = bytes .size (1..1024) */
#define NITRO_MAX_USER		1024	/* [AWS] user_data = bytes .size (0..1024) */
#define NITRO_MAX_MODULE_ID	255
#define NITRO_SIG_LEN		96	/* ES384: r || s, 48 bytes each */
#define NITRO_FUTURE_SLACK_S	60	/* clock skew allowed on timestamps */
#define COSE_ALG_ES384		(-35)

/* The platform whose anchors apply, for both document types. */
#define NITRO_PLATFORM		"aws-nitro"

/* Payload map keys ([AWS] AttestationDocument). */
enum nitro_key {
	K_MODULE_ID,
	K_DIGEST,
	K_TIMESTAMP,
	K_PCRS,
	K_TPM_PCRS,
	K_CERTIFICATE,
	K_CABUNDLE,
	K_PUBLIC_KEY,
	K_USER_DATA,
	K_NONCE,
	K__COUNT
};

static const char *const nitro_key_names[K__COUNT] = {
	[K_MODULE_ID] = "module_id",
	[K_DIGEST] = "digest",
	[K_TIMESTAMP] = "timestamp",
	[K_PCRS] = "pcrs",
	[K_TPM_PCRS] = "nitrotpm_pcrs",
	[K_CERTIFICATE] = "certificate",
	[K_CABUNDLE] = "cabundle",
	[K_PUBLIC_KEY] = "public_key",
	[K_USER_DATA] = "user_data",
	[K_NONCE] = "nonce",
};

/* An optional byte string: absent, CBOR null, or up to 1024 bytes. */
struct nitro_opt {
	bool		 present;	/* a byte string (possibly empty) */
	const uint8_t	*p;		/* into nitro_doc.payload */
	size_t		 n;
};

/*
 * A parsed document.  The byte views point into the contents of libcbor's
 * byte-string items (copies of the received bytes), owned by cose.root
 * and payload.
 */
struct nitro_doc {
	bool			 tpm;		/* nitrotpm_pcrs document */
	struct av_cose_sign1	 cose;		/* owned (cose.root) */
	cbor_item_t		*payload;	/* owned: the payload map */
	char			 module_id[NITRO_MAX_MODULE_ID + 1];
	uint64_t		 timestamp_ms;
	uint32_t		 pcr_mask;	/* bit i: PCR i present */
	const uint8_t		*pcr[NITRO_MAX_PCRS];	/* 48 bytes each */
	const uint8_t		*cert;
	size_t			 cert_len;
	size_t			 ncab;
	struct nitro_opt	 public_key, user_data, nonce;
	bool			 debug;		/* enclave: PCR0..2 all zero */
	const char		*binding;	/* set by verify: how the request
						   nonce is bound, or NULL */
	X509			*leaf;		/* owned */
	STACK_OF(X509)		*bundle;	/* owned: cabundle, root first */
};

/* A compiled policy section. */
struct nitro_policy {
	bool			tpm;
	uint32_t		mask;		/* bit i: pcr<i> listed */
	struct av_hexlist	pcr[NITRO_MAX_PCRS];
	bool			allow_debug;
};

static void
nitro_free(void *v)
{
	struct nitro_doc *d = v;

	if (d == NULL)
		return;
	X509_free(d->leaf);
	sk_X509_pop_free(d->bundle, X509_free);
	if (d->payload != NULL)
		cbor_decref(&d->payload);
	av_cose_sign1_cleanup(&d->cose);
	free(d);
}

/* ---- detection (no allocation) ---------------------------------------- */

static bool
has_bytes(const uint8_t *p, size_t n, const char *needle, size_t nl)
{
	for (size_t i = 0; nl <= n && i <= n - nl; i++)
		if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, nl) == 0)
			return true;
	return false;
}

/*
 * Sniff: -1 not a Nitro document, 0 enclave, 1 NitroTPM.  The shape is a
 * COSE_Sign1 (optionally tagged 18) whose protected header holds a map
 * and whose payload map has Nitro keys.  Any protected header is
 * accepted here so that a wrong algorithm is reported as such by the
 * parser, not as an unknown type.  When the payload can be walked its
 * keys decide; when it is truncated, the key texts are searched for.
 * Heads come from libcbor's streaming decoder; nothing is allocated.
 */
static int
nitro_sniff(const uint8_t *p, size_t n)
{
	struct av_reader	 r, pl;
	struct av_cbor_head	 h;
	enum av_cbor_status	 st;
	const uint8_t		*rest;
	size_t			 rest_len;
	uint64_t		 left;
	bool			 module_id = false, indef;

	av_reader_init(&r, p, n);
	/* tag 18 in one byte: libcbor 0.8 refuses it (see cose.c) */
	if (n > 0 && p[0] == AV_COSE_SIGN1_TAG_BYTE && !av_read_skip(&r, 1))
		return -1;
	if (av_cbor_head(&r, &h) != AV_CBOR_OK)
		return -1;
	if (h.major == AV_CBOR_TAG &&
	    (h.arg != 18 || av_cbor_head(&r, &h) != AV_CBOR_OK))
		return -1;
	if (h.major != AV_CBOR_ARRAY || h.indef || h.arg != 4)
		return -1;
	if (av_cbor_head(&r, &h) != AV_CBOR_OK || h.major != AV_CBOR_BSTR ||
	    h.indef || h.arg == 0 || (h.str[0] >> 5) != AV_CBOR_MAP)
		return -1;
	if (av_cbor_skip(&r) != AV_CBOR_OK)
		return -1;
	rest = r.p;
	rest_len = r.left;
	st = av_cbor_head(&r, &h);
	if (st != AV_CBOR_OK && st != AV_CBOR_TRUNCATED)
		return -1;
	if (st == AV_CBOR_OK) {
		if (h.major != AV_CBOR_BSTR || h.indef)
			return -1;
		/* the whole payload is there: walk its keys */
		av_reader_init(&pl, h.str, (size_t)h.arg);
		if (av_cbor_head(&pl, &h) != AV_CBOR_OK ||
		    h.major != AV_CBOR_MAP)
			return -1;
		indef = h.indef;
		left = h.arg;
		for (int i = 0; i < NITRO_MAX_KEYS; i++) {
			if (!indef && left-- == 0)
				break;
			if (av_cbor_head(&pl, &h) != AV_CBOR_OK ||
			    h.major != AV_CBOR_TSTR || h.indef)
				break;
			if (h.arg == 4 && memcmp(h.str, "pcrs", 4) == 0)
				return 0;
			if (h.arg == 13 &&
			    memcmp(h.str, "nitrotpm_pcrs", 13) == 0)
				return 1;
			if (h.arg == 9 && memcmp(h.str, "module_id", 9) == 0)
				module_id = true;
			if (av_cbor_skip(&pl) != AV_CBOR_OK)
				break;
		}
	}
	/*
	 * tstr(9) "module_id", tstr(4) "pcrs", tstr(13) "nitrotpm_pcrs":
	 * a payload cut short is not walked, so its key texts decide.
	 */
	if (!module_id && !has_bytes(rest, rest_len, "\x69module_id", 10) &&
	    !has_bytes(rest, rest_len, "\x64pcrs", 5))
		return -1;
	return has_bytes(rest, rest_len, "\x6dnitrotpm_pcrs", 14) ? 1 : 0;
}

static bool
nitro_detect(const uint8_t *p, size_t n)
{
	return nitro_sniff(p, n) == 0;
}

static bool
nitrotpm_detect(const uint8_t *p, size_t n)
{
	return nitro_sniff(p, n) == 1;
}

/* ---- parsing (libcbor items) --------------------------------------------- */

static int
parse_opt(const cbor_item_t *v, struct nitro_opt *o, struct av_err *e)
{
	if (av_cbor_is_null(v)) {
		o->present = false;
		return 0;
	}
	if (!av_cbor_get_bstr(v, &o->p, &o->n))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: public_key, user_data or nonce not a byte "
		    "string or null");
	if (o->n > NITRO_MAX_USER)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: public_key, user_data or nonce over 1024 bytes");
	o->present = true;
	return 0;
}

/* [AWS] pcrs: { + index => pcr }, index = 0..31, pcr = 48 bytes (SHA384). */
static int
parse_pcrs(const cbor_item_t *m, struct nitro_doc *d, struct av_err *e)
{
	const struct cbor_pair	*kv;
	const uint8_t		*v;
	uint64_t		 idx;
	size_t			 vl, count;

	if (!cbor_isa_map(m))
		return AV_FAIL(e, AV_E_MALFORMED, "aws-nitro: pcrs not a map");
	if ((count = cbor_map_size(m)) > NITRO_MAX_PCRS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: more than 32 PCRs");
	if (count == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "aws-nitro: empty pcrs");
	if ((kv = cbor_map_handle(m)) == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	for (size_t i = 0; i < count; i++) {
		if (!cbor_isa_uint(kv[i].key))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: PCR index not an unsigned integer");
		if ((idx = cbor_get_int(kv[i].key)) >= NITRO_MAX_PCRS)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: PCR index above 31");
		if (d->pcr_mask & (1u << idx))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: duplicate PCR index");
		if (!av_cbor_get_bstr(kv[i].value, &v, &vl))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: PCR value not a byte string");
		if (vl != NITRO_PCR_LEN)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: PCR value not 48 bytes (SHA-384)");
		d->pcr[idx] = v;
		d->pcr_mask |= 1u << idx;
	}
	return 0;
}

/*
 * [AWS] cabundle: [* cert], root first; each cert 1..1024 bytes of DER.
 * The count is checked before any certificate is decoded.
 */
static int
parse_cabundle(const cbor_item_t *a, struct nitro_doc *d, struct av_err *e)
{
	cbor_item_t	**items;
	const uint8_t	 *c;
	size_t		  cl, count;
	X509		 *x;

	if (!cbor_isa_array(a))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: cabundle not an array");
	if ((count = cbor_array_size(a)) > NITRO_MAX_CABUNDLE)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: cabundle over 16 certificates");
	if (count == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "aws-nitro: empty cabundle");
	/* borrowed: cbor_array_get() would take a reference per item */
	if ((items = cbor_array_handle(a)) == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if ((d->bundle = sk_X509_new_null()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		if (!av_cbor_get_bstr(items[i], &c, &cl))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: cabundle entry not a byte string");
		if (cl == 0 || cl > NITRO_MAX_CERT)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: cabundle certificate not 1..1024 bytes");
		/* shared: the bundle repeats in every document */
		if ((x = av_x509_from_der_cached(c, cl)) == NULL)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: cabundle entry not a DER certificate");
		if (sk_X509_push(d->bundle, x) <= 0) {
			X509_free(x);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
		d->ncab++;
	}
	return 0;
}

static int
lookup_key(const char *k, size_t kl)
{
	for (int i = 0; i < K__COUNT; i++)
		if (strlen(nitro_key_names[i]) == kl &&
		    memcmp(nitro_key_names[i], k, kl) == 0)
			return i;
	return -1;
}

/* Decode the payload bytes (cbor_load): exactly one item, no trailer. */
static int
load_payload(struct nitro_doc *d, struct av_err *e)
{
	switch (av_cbor_load(d->cose.payload, d->cose.payload_len,
	    &d->payload)) {
	case AV_CBOR_OK:
		return 0;
	case AV_CBOR_TRUNCATED:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: truncated payload");
	case AV_CBOR_TRAILING:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: trailing bytes after the payload map");
	case AV_CBOR_TOO_DEEP:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: payload nested more than 16 levels deep");
	case AV_CBOR_TOO_MANY:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: payload has more than 4096 CBOR items");
	case AV_CBOR_INDEF_STRING:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: indefinite-length string in the payload");
	case AV_CBOR_NOMEM:
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	case AV_CBOR_MALFORMED:
	default:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: payload not well-formed CBOR");
	}
}

/*
 * [AWS] AttestationDocument: a map with exactly the keys above (definite
 * or indefinite length).  Unknown or repeated keys are malformed.
 */
static int
parse_payload(struct nitro_doc *d, bool want_tpm, struct av_err *e)
{
	const struct cbor_pair	*kv = NULL;
	const cbor_item_t	*v;
	const char		*k, *s;
	size_t			 kl, sl, nkeys;
	uint32_t		 seen = 0;
	int			 key;

	if (load_payload(d, e) != 0)
		return -1;
	if (!cbor_isa_map(d->payload))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: payload not a CBOR map");
	if ((nkeys = cbor_map_size(d->payload)) > NITRO_MAX_KEYS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: too many payload keys");
	if (nkeys > 0 && (kv = cbor_map_handle(d->payload)) == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	for (size_t i = 0; i < nkeys; i++) {
		if (!av_cbor_get_tstr(kv[i].key, &k, &kl))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: payload key not a text string");
		if ((key = lookup_key(k, kl)) < 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: unknown payload key");
		if (seen & (1u << key))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: duplicate payload key");
		seen |= 1u << key;
		v = kv[i].value;
		switch (key) {
		case K_MODULE_ID:
			if (!av_cbor_get_tstr(v, &s, &sl))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: module_id not a text string");
			if (sl == 0 || sl > NITRO_MAX_MODULE_ID)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: module_id not 1..255 bytes");
			for (size_t j = 0; j < sl; j++)
				if (s[j] < 0x20 || s[j] > 0x7e)
					return AV_FAIL(e, AV_E_MALFORMED,
					    "aws-nitro: module_id not "
					    "printable ASCII");
			memcpy(d->module_id, s, sl);
			d->module_id[sl] = '\0';
			break;
		case K_DIGEST:
			if (!av_cbor_get_tstr(v, &s, &sl))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: digest not a text string");
			if (sl != 6 || memcmp(s, "SHA384", 6) != 0)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: digest is not SHA384");
			break;
		case K_TIMESTAMP:
			if (!cbor_isa_uint(v))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: timestamp not an unsigned "
				    "integer");
			d->timestamp_ms = cbor_get_int(v);
			if (d->timestamp_ms == 0 ||
			    d->timestamp_ms > (uint64_t)INT64_MAX)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: timestamp out of range");
			break;
		case K_PCRS:
		case K_TPM_PCRS:
			if (seen & (1u << K_PCRS) && seen & (1u << K_TPM_PCRS))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: both pcrs and nitrotpm_pcrs");
			if (key == K_TPM_PCRS && !want_tpm)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: NitroTPM document; declare "
				    "type aws-nitrotpm");
			if (key == K_PCRS && want_tpm)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitrotpm: Nitro Enclaves document; "
				    "declare type aws-nitro");
			if (parse_pcrs(v, d, e) != 0)
				return -1;
			break;
		case K_CERTIFICATE:
			if (!av_cbor_get_bstr(v, &d->cert, &d->cert_len))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: certificate not a byte string");
			if (d->cert_len == 0 || d->cert_len > NITRO_MAX_CERT)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "aws-nitro: certificate not 1..1024 bytes");
			break;
		case K_CABUNDLE:
			if (parse_cabundle(v, d, e) != 0)
				return -1;
			break;
		case K_PUBLIC_KEY:
			if (parse_opt(v, &d->public_key, e) != 0)
				return -1;
			break;
		case K_USER_DATA:
			if (parse_opt(v, &d->user_data, e) != 0)
				return -1;
			break;
		case K_NONCE:
			if (parse_opt(v, &d->nonce, e) != 0)
				return -1;
			break;
		default:
			return AV_FAIL(e, AV_E_INTERNAL, "internal error");
		}
	}
	if (!(seen & (1u << K_MODULE_ID)) || !(seen & (1u << K_DIGEST)) ||
	    !(seen & (1u << K_TIMESTAMP)) || !(seen & (1u << K_CERTIFICATE)) ||
	    !(seen & (1u << K_CABUNDLE)))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: payload lacks a required key");
	if (want_tpm) {
		if (!(seen & (1u << K_TPM_PCRS)))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitrotpm: payload lacks nitrotpm_pcrs");
		if (d->pcr_mask >> NITRO_TPM_PCRS)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitrotpm: PCR index above 23");
	} else {
		if (!(seen & (1u << K_PCRS)))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: payload lacks pcrs");
		/* PCR0..2 decide the debug rule: the NSM always reports them */
		if ((d->pcr_mask & 0x7) != 0x7)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "aws-nitro: pcrs lacks PCR0, PCR1 or PCR2");
	}
	return 0;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/*
 * The 64 KiB cap comes first: it bounds everything libcbor allocates
 * (av_cbor_load() keeps that to a small multiple of the input).
 */
static int
parse_common(const struct av_evidence *ev, bool tpm, void **out,
    struct av_err *e)
{
	struct nitro_doc	*d = NULL;
	int			 rc = -1;

	if (ev->data == NULL || ev->len == 0) {
		AV_FAIL(e, AV_E_MALFORMED, "aws-nitro: empty document");
		goto out;
	}
	if (ev->len > NITRO_MAX_DOC) {
		AV_FAIL(e, AV_E_MALFORMED, "aws-nitro: document over 64 KiB");
		goto out;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	d->tpm = tpm;
	/* RFC 9052 s.4.2 framing, then [AWS] "protected: {1: -35}" */
	if (av_cose_sign1_parse(ev->data, ev->len, &d->cose, e) != 0)
		goto out;
	if (!av_cose_prot_is_alg(&d->cose, COSE_ALG_ES384)) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "aws-nitro: protected header is not {1: -35} (ES384)");
		goto out;
	}
	if (d->cose.sig_len != NITRO_SIG_LEN) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: signature is not 96 bytes (ES384 r||s)");
		goto out;
	}
	if (parse_payload(d, tpm, e) != 0)
		goto out;
	if ((d->leaf = av_x509_from_der_cached(d->cert, d->cert_len)) ==
	    NULL) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "aws-nitro: certificate is not a DER certificate");
		goto out;
	}
	d->debug = !tpm && all_zero(d->pcr[0], NITRO_PCR_LEN) &&
	    all_zero(d->pcr[1], NITRO_PCR_LEN) &&
	    all_zero(d->pcr[2], NITRO_PCR_LEN);
	*out = d;
	d = NULL;
	rc = 0;
 out:
	nitro_free(d);
	return rc;
}

static int
nitro_parse(const struct av_evidence *ev, void **out, struct av_err *e)
{
	return parse_common(ev, false, out, e);
}

static int
nitrotpm_parse(const struct av_evidence *ev, void **out, struct av_err *e)
{
	return parse_common(ev, true, out, e);
}

/* ---- verification ----------------------------------------------------- */

/* An optional byte string's hex, or JSON null when it is absent. */
static json_t *
opt_hex(const struct nitro_opt *o)
{
	return o->present ? av_json_hex(o->p, o->n) : json_null();
}

/* {"akpub": base64url(p)} into the submod's key attestation. */
static int
set_akpub(struct av_submod *sm, const uint8_t *p, size_t n, struct av_err *e)
{
	if (av_submod_key_attestation(sm, p, n) != 0)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	return 0;
}

/* An optional byte string's bytes: NULL when absent, never when present. */
static const uint8_t *
opt_bytes(const struct nitro_opt *o)
{
	if (!o->present)
		return NULL;
	return o->p != NULL ? o->p : (const uint8_t *)"";
}

/* The nonce field against the request nonce (src/verify/binding.c). */
static const struct av_binding_rule nitro_nonce_rule = {
	.claim = "nonce",
	.forms = AV_BIND_EQUAL,
	.forms_rt = AV_BIND_EQUAL,
	.nonce_msg = "aws-nitro: document nonce differs from the request nonce",
};

/*
 * Nonce binding (docs/platforms/aws-nitro.md "Binding"), recorded as
 * reasons.  Without runtime_data the document's nonce must equal the
 * request nonce (nonce_mismatch).  With runtime_data either user_data is
 * the 64 bytes SHA-512(nonce || runtime_data), which attests the runtime
 * data as the key, or the nonce field equals the request nonce; neither
 * is binding_mismatch.  Returns -1 only when out of memory.
 */
static int
check_binding(struct nitro_doc *d, const struct av_ctx *ctx,
    struct av_submod *sm, struct av_err *e)
{
	struct av_binding	ud, nf;

	d->binding = NULL;
	if (!av_binding_has_nonce(ctx, &nitro_nonce_rule, sm))
		return 0;
	if (ctx->runtime_data == NULL) {
		if (av_binding_check(ctx, opt_bytes(&d->nonce), d->nonce.n,
		    &nitro_nonce_rule, sm, &nf))
			d->binding = "nonce";
		return 0;
	}
	if (av_binding_match(ctx, opt_bytes(&d->user_data), d->user_data.n,
	    AV_BIND_SHA512, 0, &ud) != 0) {
		av_submod_reason(sm, AV_E_INTERNAL, AV_STATUS_CONTRAINDICATED,
		    "user_data", NULL, NULL, "internal error");
		return 0;
	}
	if (ud.matched & AV_BIND_SHA512) {
		d->binding = "sha512(nonce||runtime_data)";
		return set_akpub(sm, ctx->runtime_data, ctx->runtime_data_len,
		    e);
	}
	if (av_binding_match(ctx, opt_bytes(&d->nonce), d->nonce.n,
	    AV_BIND_EQUAL, 0, &nf) == 0 && (nf.matched & AV_BIND_EQUAL)) {
		d->binding = "nonce";
		return 0;
	}
	av_submod_reason(sm, AV_E_BINDING, AV_STATUS_CONTRAINDICATED,
	    "user_data", av_json_hex(ud.sha512, sizeof(ud.sha512)),
	    opt_hex(&d->user_data),
	    "aws-nitro: neither user_data = SHA-512(nonce || runtime_data) "
	    "nor nonce = the request nonce");
	return 0;
}

/* Timestamp freshness against the policy's max_age_s: reasons. */
static void
check_age(const struct nitro_doc *d, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	int64_t ts = (int64_t)(d->timestamp_ms / 1000);

	if (ctx->max_age_s < 0)
		return;
	/* ts >= 0: neither difference below can overflow */
	if (ctx->now > ts && ctx->now - ts > ctx->max_age_s)
		av_submod_reason(sm, AV_E_TOO_OLD, AV_STATUS_CONTRAINDICATED,
		    "timestamp", json_integer(ctx->max_age_s),
		    json_integer(ctx->now - ts),
		    "aws-nitro: document older than the policy's max_age_s");
	else if (ts - NITRO_FUTURE_SLACK_S > ctx->now)
		av_submod_reason(sm, AV_E_FROM_FUTURE,
		    AV_STATUS_CONTRAINDICATED, "timestamp",
		    NULL, json_integer((json_int_t)d->timestamp_ms),
		    "aws-nitro: document timestamp is in the future");
}

/*
 * [AWS] "Verifying the root of trust": cabundle[0] is the pinned root (or
 * an operator anchor), the chain cabundle -> certificate is valid at the
 * verification time, and the COSE signature verifies with the leaf key.
 */
static int
nitro_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	struct nitro_doc	*d = parsed;
	struct av_chain_opts	 opts = { 0 };
	EVP_PKEY		*pk;
	uint8_t			*tbs = NULL;
	size_t			 tbs_len;
	int			 rc = -1;

	(void)policy;	/* freshness rules arrive through ctx */
	if (ctx->trust == NULL ||
	    !av_trust_is_anchor(ctx->trust, NITRO_PLATFORM,
	    sk_X509_value(d->bundle, 0)))
		return AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
		    "aws-nitro: cabundle[0] is not the AWS Nitro Enclaves "
		    "root or an operator anchor");
	opts.platform = NITRO_PLATFORM;
	if (av_chain_verify(ctx->trust, d->leaf, d->bundle, ctx->now, &opts,
	    NULL, e) != 0)
		return -1;
	pk = X509_get0_pubkey(d->leaf);
	if (!av_ec_is_curve(pk, "P-384"))
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "aws-nitro: leaf key is not ECDSA P-384");
	if ((tbs = av_cose_sig_structure(&d->cose, NULL, 0, &tbs_len)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (av_ecdsa_verify_rs(pk, EVP_sha384(), tbs, tbs_len, d->cose.sig,
	    NITRO_SIG_LEN / 2, d->cose.sig + NITRO_SIG_LEN / 2,
	    NITRO_SIG_LEN / 2, e) != 0) {
		if (e != NULL && e->code == AV_E_SIGNATURE)
			AV_FAIL(e, AV_E_SIGNATURE,
			    "aws-nitro: COSE signature does not verify");
		goto out;
	}
	av_submod_tv(sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_HARDWARE, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_RUNTIME_OPAQUE, AV_AR_ISOLATED_MEMORY);
	/* the document's key, unless a runtime_data binding replaces it */
	if (d->public_key.present && d->public_key.n > 0 &&
	    set_akpub(sm, d->public_key.p, d->public_key.n, e) != 0)
		goto out;
	if (check_binding(d, ctx, sm, e) != 0)
		goto out;
	check_age(d, ctx, sm);
	rc = 0;
 out:
	free(tbs);
	return rc;
}

/* ---- claims ----------------------------------------------------------- */

static int
nitro_claims(const void *parsed, json_t **out, struct av_err *e)
{
	const struct nitro_doc	*d = parsed;
	json_t			*o, *pcrs = NULL, *cert = NULL;
	char			 idx[16];

	if ((o = json_object()) == NULL || (pcrs = json_object()) == NULL ||
	    (cert = json_object()) == NULL) {
		json_decref(o);
		json_decref(pcrs);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	json_object_set_new(o, "module_id", json_string(d->module_id));
	json_object_set_new(o, "digest", json_string("SHA384"));
	json_object_set_new(o, "timestamp",
	    json_integer((json_int_t)d->timestamp_ms));
	for (int i = 0; i < NITRO_MAX_PCRS; i++) {
		if (!(d->pcr_mask & (1u << i)))
			continue;
		snprintf(idx, sizeof(idx), "%d", i);
		json_object_set_new(pcrs, idx,
		    av_json_hex(d->pcr[i], NITRO_PCR_LEN));
	}
	json_object_set_new(o, "pcrs", pcrs);
	json_object_set_new(o, "public_key", opt_hex(&d->public_key));
	json_object_set_new(o, "user_data", opt_hex(&d->user_data));
	json_object_set_new(o, "nonce", opt_hex(&d->nonce));
	if (!d->tpm)
		json_object_set_new(o, "debug", json_boolean(d->debug));
	json_object_set_new(o, "binding", d->binding != NULL ?
	    json_string(d->binding) : json_null());
	json_object_set_new(o, "cose_tagged", json_boolean(d->cose.tagged));
	json_object_set_new(o, "cabundle_len", json_integer((json_int_t)d->ncab));
	json_object_set_new(cert, "subject",
	    av_json_x509_name(X509_get_subject_name(d->leaf)));
	json_object_set_new(cert, "not_before",
	    av_json_asn1_time(X509_get0_notBefore(d->leaf)));
	json_object_set_new(cert, "not_after",
	    av_json_asn1_time(X509_get0_notAfter(d->leaf)));
	json_object_set_new(o, "certificate", cert);
	*out = o;
	return 0;
}

/* ---- policy ----------------------------------------------------------- */

static const char *const nitro_policy_keys[] = {
	"pcr0", "pcr1", "pcr2", "pcr3", "pcr4", "pcr5", "pcr6", "pcr7",
	"pcr8", "pcr9", "pcr10", "pcr11", "pcr12", "pcr13", "pcr14", "pcr15",
	"pcr16", "pcr17", "pcr18", "pcr19", "pcr20", "pcr21", "pcr22", "pcr23",
	"pcr24", "pcr25", "pcr26", "pcr27", "pcr28", "pcr29", "pcr30", "pcr31",
	"debug", NULL
};

static const char *const nitrotpm_policy_keys[] = {
	"pcr0", "pcr1", "pcr2", "pcr3", "pcr4", "pcr5", "pcr6", "pcr7",
	"pcr8", "pcr9", "pcr10", "pcr11", "pcr12", "pcr13", "pcr14", "pcr15",
	"pcr16", "pcr17", "pcr18", "pcr19", "pcr20", "pcr21", "pcr22", "pcr23",
	NULL
};

static void
nitro_policy_free(void *v)
{
	struct nitro_policy *p = v;

	if (p == NULL)
		return;
	for (int i = 0; i < NITRO_MAX_PCRS; i++)
		av_hexlist_cleanup(&p->pcr[i]);
	free(p);
}

static int
policy_compile_common(const json_t *section, const char *path, bool tpm,
    void **out, struct av_policy_err *perr)
{
	struct nitro_policy	*p;
	const char		*k;
	json_t			*v;
	char			 sub[256];
	unsigned long		 i;

	if (av_pol_keys(section, path, tpm ? nitrotpm_policy_keys :
	    nitro_policy_keys, perr) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	p->tpm = tpm;
	json_object_foreach((json_t *)section, k, v) {
		snprintf(sub, sizeof(sub), "%s.%s", path, k);
		if (strcmp(k, "debug") == 0) {
			if (av_pol_bool(v, sub, &p->allow_debug, perr) != 0)
				goto bad;
			continue;
		}
		/* av_pol_keys let only "pcr0".."pcr31" through */
		i = strtoul(k + 3, NULL, 10);
		if (i >= NITRO_MAX_PCRS)
			goto bad;
		if (av_pol_hexlist(v, sub, NITRO_PCR_LEN, &p->pcr[i],
		    perr) != 0)
			goto bad;
		p->mask |= 1u << i;
	}
	*out = p;
	return 0;
 bad:
	nitro_policy_free(p);
	return -1;
}

static int
nitro_policy_compile(const json_t *section, const char *path, void **out,
    struct av_policy_err *perr)
{
	return policy_compile_common(section, path, false, out, perr);
}

static int
nitrotpm_policy_compile(const json_t *section, const char *path,
    void **out, struct av_policy_err *perr)
{
	return policy_compile_common(section, path, true, out, perr);
}

/*
 * Every PCR the policy lists must equal one of its values; a debug
 * enclave needs "debug": true.
 */
static void
nitro_appraise(const void *parsed, const void *policy,
    const struct av_ctx *ctx, struct av_submod *sm)
{
	const struct nitro_doc		*d = parsed;
	const struct nitro_policy	*p = policy;
	char				 claim[16];
	bool				 ok = true;

	(void)ctx;
	for (int i = 0; i < NITRO_MAX_PCRS; i++) {
		if (!(p->mask & (1u << i)))
			continue;
		snprintf(claim, sizeof(claim), "pcr%d", i);
		if (!(d->pcr_mask & (1u << i))) {
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, claim,
			    av_hexlist_json(&p->pcr[i]), json_null(),
			    "aws-nitro: the document lacks a PCR the policy "
			    "lists");
			ok = false;
		} else if (!av_hexlist_contains(&p->pcr[i], d->pcr[i],
		    NITRO_PCR_LEN)) {
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, claim,
			    av_hexlist_json(&p->pcr[i]),
			    av_json_hex(d->pcr[i], NITRO_PCR_LEN),
			    "aws-nitro: PCR value not in the policy");
			ok = false;
		}
	}
	if (ok && p->mask != 0)
		av_submod_tv(sm, AV_TV_EXECUTABLES, AV_AR_AFFIRM);
	if (d->tpm)
		return;
	if (d->debug && !p->allow_debug)
		av_submod_reason(sm, AV_E_DEBUG, AV_STATUS_CONTRAINDICATED,
		    "debug", json_false(), json_true(),
		    "aws-nitro: debug enclave (PCR0-2 all zero) and the "
		    "policy does not allow debug");
	else if (!d->debug)
		av_submod_tv(sm, AV_TV_CONFIG, AV_AR_AFFIRM);
}

/*
 * AWS Nitro Enclaves attestation documents (NSM), type "aws-nitro".
 */
const struct av_backend av_backend_nitro = {
	.name = "aws-nitro",
	.media_type = "application/vnd.attestd.aws-nitro",
	.detect = nitro_detect,
	.parse = nitro_parse,
	.verify = nitro_verify,
	.claims = nitro_claims,
	.policy_compile = nitro_policy_compile,
	.policy_free = nitro_policy_free,
	.appraise = nitro_appraise,
	.free = nitro_free,
};

/*
 * EC2 NitroTPM attestation documents ("nitrotpm_pcrs"), type
 * "aws-nitrotpm": same format, PKI and checks; no debug rule.
 */
const struct av_backend av_backend_nitrotpm = {
	.name = "aws-nitrotpm",
	.media_type = "application/vnd.attestd.aws-nitrotpm",
	.detect = nitrotpm_detect,
	.parse = nitrotpm_parse,
	.verify = nitro_verify,
	.claims = nitro_claims,
	.policy_compile = nitrotpm_policy_compile,
	.policy_free = nitro_policy_free,
	.appraise = nitro_appraise,
	.free = nitro_free,
};
