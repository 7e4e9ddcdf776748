/*
 * attestd - Intel DCAP appraisal shared by TDX (and SGX): PCK SGX
 * extensions, the QE report, TCB info / enclave identity documents and
 * TCB level selection (see dcap.h for the references).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "evidence/dcap.h"

/* ---- a minimal DER reader over av_reader ------------------------------ */

#define DER_BOOLEAN	0x01
#define DER_INTEGER	0x02
#define DER_OCTETS	0x04
#define DER_OID		0x06
#define DER_ENUM	0x0a
#define DER_SEQUENCE	0x30

/*
 * Read one TLV with a single-byte tag; *val covers the contents.
 * Definite lengths only (up to 4 length bytes).  On failure r is
 * untouched.
 */
static bool
der_tlv(struct av_reader *r, uint8_t *tag, struct av_reader *val)
{
	struct av_reader	t = *r;
	uint8_t			b, nb;
	size_t			len = 0;

	if (!av_read_u8(&t, tag) || (*tag & 0x1f) == 0x1f)
		return false;
	if (!av_read_u8(&t, &b))
		return false;
	if (b < 0x80)
		len = b;
	else {
		nb = b & 0x7f;
		if (nb == 0 || nb > 4)
			return false;
		for (uint8_t i = 0; i < nb; i++) {
			if (!av_read_u8(&t, &b))
				return false;
			len = (len << 8) | b;
		}
		if (len < 0x80)		/* DER: minimal length encoding */
			return false;
	}
	if (!av_read_sub(&t, len, val))
		return false;
	*r = t;
	return true;
}

/* Read a TLV that must carry tag want. */
static bool
der_expect(struct av_reader *r, uint8_t want, struct av_reader *val)
{
	struct av_reader	t = *r;
	uint8_t			tag;

	if (!der_tlv(&t, &tag, val) || tag != want)
		return false;
	*r = t;
	return true;
}

/* A non-negative DER INTEGER or ENUMERATED no larger than max. */
static bool
der_uint(struct av_reader *v, unsigned long max, unsigned long *out)
{
	unsigned long	x = 0;
	uint8_t		b;

	if (v->left == 0 || v->left > 4 || (v->p[0] & 0x80) != 0)
		return false;
	if (v->left > 1 && v->p[0] == 0 && (v->p[1] & 0x80) == 0)
		return false;		/* DER: no redundant leading zero */
	while (v->left > 0) {
		if (!av_read_u8(v, &b))
			return false;
		x = (x << 8) | b;
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

/* 1.2.840.113741.1.13.1 */
static const uint8_t oid_sgx[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01
};

/*
 * Match an OID of the SGX extension arc: oid_sgx followed by the arcs
 * given (each < 128).  narcs is 1 or 2.
 */
static bool
oid_is(const struct av_reader *oid, uint8_t a1, uint8_t a2, int narcs)
{
	size_t n = sizeof(oid_sgx) + (size_t)narcs;

	if (oid->left != n || memcmp(oid->p, oid_sgx, sizeof(oid_sgx)) != 0)
		return false;
	if (oid->p[sizeof(oid_sgx)] != a1)
		return false;
	return narcs == 1 || oid->p[sizeof(oid_sgx) + 1] == a2;
}

/* Octet string of exactly n bytes into buf. */
static bool
der_octets(struct av_reader *r, uint8_t *buf, size_t n)
{
	struct av_reader v;

	if (!der_expect(r, DER_OCTETS, &v) || v.left != n)
		return false;
	return av_read_copy(&v, buf, n);
}

/* The TCB member (.2): 16 component SVNs, PCESVN and CPUSVN. */
static int
pck_tcb(struct av_reader *r, struct dcap_pck_ext *x, struct av_err *e)
{
	struct av_reader	seq, item, oid;
	uint32_t		seen = 0;

	if (!der_expect(r, DER_SEQUENCE, &seq))
		return AV_FAIL(e, AV_E_MALFORMED, "pck: bad TCB sequence");
	while (seq.left > 0) {
		struct av_reader	v;
		unsigned long		val;
		uint8_t			arc, tag;

		if (!der_expect(&seq, DER_SEQUENCE, &item) ||
		    !der_expect(&item, DER_OID, &oid) ||
		    oid.left != sizeof(oid_sgx) + 2 ||
		    !oid_is(&oid, 2, oid.p[sizeof(oid_sgx) + 1], 2))
			return AV_FAIL(e, AV_E_MALFORMED, "pck: bad TCB member");
		arc = oid.p[sizeof(oid_sgx) + 1];
		if (arc < 1 || arc > 18)
			continue;	/* unknown member: skip */
		if (seen & (1u << arc))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: duplicate TCB member");
		seen |= 1u << arc;
		if (arc == 18) {
			if (!der_octets(&item, x->cpusvn, sizeof(x->cpusvn)))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad CPUSVN");
		} else {
			if (!der_tlv(&item, &tag, &v) || tag != DER_INTEGER ||
			    !der_uint(&v, arc == 17 ? 0xffff : 0xff, &val))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad TCB SVN");
			if (arc == 17)
				x->pcesvn = (uint16_t)val;
			else
				x->comp_svn[arc - 1] = (uint8_t)val;
		}
		if (item.left != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: trailing bytes in TCB member");
	}
	if (seen != 0x7fffeu)		/* bits 1..18 */
		return AV_FAIL(e, AV_E_MALFORMED, "pck: incomplete TCB");
	return 0;
}

/* The Configuration member (.7): optional booleans. */
static int
pck_config(struct av_reader *r, struct dcap_pck_ext *x, struct av_err *e)
{
	struct av_reader seq, item, oid, v;

	if (!der_expect(r, DER_SEQUENCE, &seq))
		return AV_FAIL(e, AV_E_MALFORMED, "pck: bad configuration");
	while (seq.left > 0) {
		enum dcap_tri	*dst = NULL;
		uint8_t		 b;

		if (!der_expect(&seq, DER_SEQUENCE, &item) ||
		    !der_expect(&item, DER_OID, &oid))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: bad configuration member");
		if (oid_is(&oid, 7, 1, 2))
			dst = &x->dynamic_platform;
		else if (oid_is(&oid, 7, 2, 2))
			dst = &x->cached_keys;
		else if (oid_is(&oid, 7, 3, 2))
			dst = &x->smt_enabled;
		if (dst == NULL)
			continue;
		if (*dst != DCAP_ABSENT || !der_expect(&item, DER_BOOLEAN, &v) ||
		    v.left != 1 || !av_read_u8(&v, &b) || item.left != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: bad configuration flag");
		*dst = b ? DCAP_TRUE : DCAP_FALSE;
	}
	return 0;
}

/*
 * Parse the SGX Extensions value (Intel SGX PCK Certificate and CRL
 * Profile, section 1.3.5).  Returns 0, or -1 with e (AV_E_MALFORMED).
 */
int
dcap_pck_ext_parse(const uint8_t *p, size_t n, struct dcap_pck_ext *out,
    struct av_err *e)
{
	struct dcap_pck_ext	x;
	struct av_reader	r, seq, item, oid, v;
	unsigned		seen = 0;

	memset(&x, 0, sizeof(x));
	av_reader_init(&r, p, n);
	if (!der_expect(&r, DER_SEQUENCE, &seq) || r.left != 0)
		return AV_FAIL(e, AV_E_MALFORMED, "pck: bad SGX extension");
	while (seq.left > 0) {
		unsigned long	val;
		uint8_t		arc;

		if (!der_expect(&seq, DER_SEQUENCE, &item) ||
		    !der_expect(&item, DER_OID, &oid))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: bad SGX extension member");
		if (oid.left != sizeof(oid_sgx) + 1 ||
		    memcmp(oid.p, oid_sgx, sizeof(oid_sgx)) != 0)
			continue;	/* not ours: skip */
		arc = oid.p[sizeof(oid_sgx)];
		if (arc < 1 || arc > 7)
			continue;
		if (seen & (1u << arc))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: duplicate SGX extension member");
		seen |= 1u << arc;
		switch (arc) {
		case 1:
			if (!der_octets(&item, x.ppid, sizeof(x.ppid)))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad PPID");
			break;
		case 2:
			if (pck_tcb(&item, &x, e) != 0)
				return -1;
			break;
		case 3:
			if (!der_octets(&item, x.pceid, sizeof(x.pceid)))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad PCE-ID");
			break;
		case 4:
			if (!der_octets(&item, x.fmspc, sizeof(x.fmspc)))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad FMSPC");
			break;
		case 5:
			if (!der_expect(&item, DER_ENUM, &v) ||
			    !der_uint(&v, 255, &val))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad SGX type");
			x.sgx_type = (int)val;
			break;
		case 6:
			if (!der_octets(&item, x.platform_instance_id,
			    sizeof(x.platform_instance_id)))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "pck: bad platform instance id");
			x.has_platform_instance_id = true;
			break;
		case 7:
			if (pck_config(&item, &x, e) != 0)
				return -1;
			break;
		default:
			break;
		}
		if (item.left != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "pck: trailing bytes in SGX extension member");
	}
	/* PPID, TCB, PCE-ID, FMSPC and SGX type are mandatory. */
	if ((seen & 0x3e) != 0x3e)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "pck: SGX extension incomplete");
	*out = x;
	return 0;
}

/*
 * Locate extension 1.2.840.113741.1.13.1 in x and parse it.
 * Returns 0, or -1 with e (AV_E_MALFORMED).
 */
int
dcap_pck_ext_from_cert(X509 *x, struct dcap_pck_ext *out, struct av_err *e)
{
	ASN1_OBJECT		*obj = NULL;
	const ASN1_OCTET_STRING	*os;
	X509_EXTENSION		*ext;
	int			 idx, rc = -1;

	if ((obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if ((idx = X509_get_ext_by_OBJ(x, obj, -1)) < 0) {
		AV_FAIL(e, AV_E_MALFORMED, "pck: no SGX extension");
		goto out;
	}
	if (X509_get_ext_by_OBJ(x, obj, idx) >= 0) {
		AV_FAIL(e, AV_E_MALFORMED, "pck: duplicate SGX extension");
		goto out;
	}
	if ((ext = X509_get_ext(x, idx)) == NULL ||
	    (os = X509_EXTENSION_get_data(ext)) == NULL) {
		AV_FAIL(e, AV_E_MALFORMED, "pck: bad SGX extension");
		goto out;
	}
	rc = dcap_pck_ext_parse(ASN1_STRING_get0_data(os),
	    (size_t)ASN1_STRING_length(os), out, e);
 out:
	ASN1_OBJECT_free(obj);
	return rc;
}

/* ---- enclave report ----------------------------------------------------- */

/*
 * SGX REPORT_BODY, 384 bytes: CPUSVN, MISCSELECT, reserved, ATTRIBUTES,
 * MRENCLAVE, reserved, MRSIGNER, reserved, ISVPRODID, ISVSVN, reserved,
 * REPORTDATA.  Returns 0, or -1 with r untouched.
 */
int
dcap_enclave_report_read(struct av_reader *r, struct dcap_enclave_report *out,
    struct av_err *e)
{
	struct av_reader		t;
	struct dcap_enclave_report	x;

	if (!av_read_sub(r, DCAP_ENCLAVE_REPORT_LEN, &t))
		return AV_FAIL(e, AV_E_MALFORMED, "dcap: truncated QE report");
	if (!av_read_copy(&t, x.cpusvn, 16) ||
	    !av_read_u32le(&t, &x.miscselect) || !av_read_skip(&t, 28) ||
	    !av_read_copy(&t, x.attributes, 16) ||
	    !av_read_copy(&t, x.mrenclave, 32) || !av_read_skip(&t, 32) ||
	    !av_read_copy(&t, x.mrsigner, 32) || !av_read_skip(&t, 96) ||
	    !av_read_u16le(&t, &x.isvprodid) || !av_read_u16le(&t, &x.isvsvn) ||
	    !av_read_skip(&t, 60) || !av_read_copy(&t, x.report_data, 64) ||
	    t.left != 0) {
		/* cannot happen: the sizes add up to 384 */
		r->p -= DCAP_ENCLAVE_REPORT_LEN;
		r->left += DCAP_ENCLAVE_REPORT_LEN;
		return AV_FAIL(e, AV_E_INTERNAL, "dcap: QE report layout");
	}
	*out = x;
	return 0;
}

/* ---- TCB status --------------------------------------------------------- */

static const char *const status_names[DCAP_TCB__COUNT] = {
	[DCAP_TCB_NONE] = "None",
	[DCAP_TCB_UP_TO_DATE] = "UpToDate",
	[DCAP_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[DCAP_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] =
	    "ConfigurationAndSWHardeningNeeded",
	[DCAP_TCB_OUT_OF_DATE] = "OutOfDate",
	[DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] =
	    "OutOfDateConfigurationNeeded",
	[DCAP_TCB_REVOKED] = "Revoked",
	[DCAP_TCB_NOT_SUPPORTED] = "TcbLevelNotSupported",
};

/* Intel's spelling of a status. */
const char *
dcap_tcb_status_str(enum dcap_tcb_status s)
{
	if ((unsigned)s >= DCAP_TCB__COUNT)
		return "None";
	return status_names[s];
}

/* Parse Intel's spelling; DCAP_TCB_NONE when unknown. */
enum dcap_tcb_status
dcap_tcb_status_parse(const char *s)
{
	for (int i = DCAP_TCB_UP_TO_DATE; i < DCAP_TCB__COUNT; i++)
		if (strcmp(status_names[i], s) == 0)
			return (enum dcap_tcb_status)i;
	return DCAP_TCB_NONE;
}

/* ---- raw JSON spans ----------------------------------------------------- */

static void
json_ws(struct av_reader *r)
{
	while (r->left > 0 && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r')) {
		r->p++;
		r->left--;
	}
}

/* Skip a JSON string (r at the opening quote). */
static bool
json_skip_string(struct av_reader *r)
{
	struct av_reader	t = *r;
	uint8_t			c;

	if (!av_read_u8(&t, &c) || c != '"')
		return false;
	for (;;) {
		if (!av_read_u8(&t, &c) || c < 0x20)
			return false;
		if (c == '"')
			break;
		if (c == '\\' && !av_read_skip(&t, 1))
			return false;
	}
	*r = t;
	return true;
}

/* Skip one JSON value; nesting capped. */
static bool
json_skip_value(struct av_reader *r)
{
	struct av_reader	t = *r;
	int			depth = 0;

	json_ws(&t);
	do {
		uint8_t c;

		if (t.left == 0)
			return false;
		c = *t.p;
		if (c == '"') {
			if (!json_skip_string(&t))
				return false;
		} else if (c == '{' || c == '[') {
			if (++depth > 64)
				return false;
			t.p++;
			t.left--;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return false;
			depth--;
			t.p++;
			t.left--;
		} else if (c == ',' || c == ':' || c == ' ' || c == '\t' ||
		    c == '\n' || c == '\r') {
			if (depth == 0)
				return false;
			t.p++;
			t.left--;
		} else if ((c >= '0' && c <= '9') || c == '-' || c == '+' ||
		    c == '.' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')) {
			while (t.left > 0 && ((*t.p >= '0' && *t.p <= '9') ||
			    *t.p == '-' || *t.p == '+' || *t.p == '.' ||
			    (*t.p >= 'a' && *t.p <= 'z') ||
			    (*t.p >= 'A' && *t.p <= 'Z'))) {
				t.p++;
				t.left--;
			}
		} else
			return false;
	} while (depth > 0);
	*r = t;
	return true;
}

/*
 * Find the raw span of a top-level member's value (the bytes a DCAP
 * signature covers).  Returns 0 or -1.
 */
int
dcap_json_member_span(const uint8_t *text, size_t n, const char *key,
    size_t *off, size_t *len)
{
	struct av_reader	r;
	size_t			klen = strlen(key);
	bool			found = false;
	uint8_t			c;

	av_reader_init(&r, text, n);
	json_ws(&r);
	if (!av_read_u8(&r, &c) || c != '{')
		return -1;
	json_ws(&r);
	if (r.left > 0 && *r.p == '}') {
		r.p++;
		r.left--;
	} else for (;;) {
		const uint8_t	*ks = r.p, *vs;
		size_t		 kn;

		if (!json_skip_string(&r))
			return -1;
		kn = (size_t)(r.p - ks);
		json_ws(&r);
		if (!av_read_u8(&r, &c) || c != ':')
			return -1;
		json_ws(&r);
		vs = r.p;
		if (!json_skip_value(&r))
			return -1;
		if (kn == klen + 2 && memcmp(ks + 1, key, klen) == 0) {
			if (found)
				return -1;
			found = true;
			*off = (size_t)(vs - text);
			*len = (size_t)(r.p - vs);
		}
		json_ws(&r);
		if (!av_read_u8(&r, &c))
			return -1;
		if (c == '}')
			break;
		if (c != ',')
			return -1;
		json_ws(&r);
	}
	json_ws(&r);
	if (r.left != 0 || !found)
		return -1;
	return 0;
}

/* ---- JSON field helpers ------------------------------------------------- */

/* Exactly n bytes of hex (either case) from o[key]. */
static bool
j_hex(const json_t *o, const char *key, uint8_t *buf, size_t n)
{
	const json_t	*v = json_object_get(o, key);
	const char	*s;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (json_string_length(v) != 2 * n)
		return false;
	return av_hex_decode_fixed(s, buf, n) == 0;
}

static bool
j_uint(const json_t *o, const char *key, json_int_t max, json_int_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool
j_time(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) && av_time_parse(json_string_value(v), out) == 0;
}

static void
adv_cleanup(struct dcap_advisories *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->id[i]);
	free(a->id);
	a->id = NULL;
	a->n = 0;
}

/* Optional "advisoryIDs": array of strings. */
static bool
j_advisories(const json_t *o, struct dcap_advisories *a)
{
	const json_t	*arr = json_object_get(o, "advisoryIDs");
	size_t		 n;

	a->n = 0;
	a->id = NULL;
	if (arr == NULL)
		return true;
	if (!json_is_array(arr) || (n = json_array_size(arr)) >
	    DCAP_MAX_ADVISORIES)
		return false;
	if (n == 0)
		return true;
	if ((a->id = calloc(n, sizeof(*a->id))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(arr, i);

		if (!json_is_string(s) || json_string_length(s) == 0 ||
		    json_string_length(s) > 64 ||
		    (a->id[i] = strdup(json_string_value(s))) == NULL) {
			a->n = i;
			adv_cleanup(a);
			return false;
		}
		a->n = i + 1;
	}
	return true;
}

static bool
j_status(const json_t *o, enum dcap_tcb_status *st)
{
	const json_t *v = json_object_get(o, "tcbStatus");

	if (!json_is_string(v))
		return false;
	*st = dcap_tcb_status_parse(json_string_value(v));
	/* "TcbLevelNotSupported" is a verdict, never a level's status. */
	return *st != DCAP_TCB_NONE && *st != DCAP_TCB_NOT_SUPPORTED;
}

/* Read the signature (hex r||s) into doc->sig. */
static bool
sig_from_hex(const char *s, size_t n, uint8_t sig[64])
{
	return s != NULL && n == 128 && av_hex_decode_fixed(s, sig, 64) == 0;
}

/*
 * Split a served document into its signed span and signature.  Returns
 * the parsed body (new reference) or NULL.
 */
static json_t *
signed_load(const uint8_t *text, size_t n, const char *member,
    const char *sig_hex, struct dcap_signed *doc)
{
	json_t	*whole = NULL, *body = NULL;
	size_t	 off, len;

	if (n == 0 || n > DCAP_MAX_DOC || (doc->text = malloc(n)) == NULL)
		return NULL;
	memcpy(doc->text, text, n);
	doc->len = n;
	if (sig_hex != NULL) {
		/* The bare signed value, signature given apart. */
		if (!sig_from_hex(sig_hex, strlen(sig_hex), doc->sig))
			return NULL;
		doc->body_off = 0;
		doc->body_len = n;
	} else {
		const json_t *s;

		if (dcap_json_member_span(doc->text, n, member, &off, &len) != 0)
			return NULL;
		whole = json_loadb((const char *)doc->text, n,
		    JSON_REJECT_DUPLICATES, NULL);
		s = json_object_get(whole, "signature");
		if (!json_is_object(whole) || json_object_size(whole) != 2 ||
		    !json_is_string(s) || !sig_from_hex(json_string_value(s),
		    json_string_length(s), doc->sig)) {
			json_decref(whole);
			return NULL;
		}
		json_decref(whole);
		doc->body_off = off;
		doc->body_len = len;
	}
	body = json_loadb((const char *)doc->text + doc->body_off,
	    doc->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(body)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/* An ISV-style level list (enclave identity, TDX module identity). */
static bool
isv_levels(const json_t *arr, struct dcap_isv_level **out, size_t *nout)
{
	struct dcap_isv_level	*lv;
	size_t			 n;

	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0 ||
	    n > DCAP_MAX_LEVELS)
		return false;
	if ((lv = calloc(n, sizeof(*lv))) == NULL)
		return false;
	*out = lv;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t	*l = json_array_get(arr, i);
		const json_t	*tcb = json_object_get(l, "tcb");
		json_int_t	 v;

		if (!json_is_object(l) || !json_is_object(tcb) ||
		    !j_uint(tcb, "isvsvn", 0xffff, &v) ||
		    !j_time(l, "tcbDate", &lv[i].tcb_date) ||
		    !j_status(l, &lv[i].status) ||
		    !j_advisories(l, &lv[i].adv))
			return false;
		lv[i].isvsvn = (uint16_t)v;
		*nout = i + 1;
	}
	return true;
}

static void
isv_levels_free(struct dcap_isv_level *lv, size_t n)
{
	if (lv == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		adv_cleanup(&lv[i].adv);
	free(lv);
}

/* A tdxModule / tdxModuleIdentities[i] object. */
static bool
tdx_module(const json_t *o, bool identity, struct dcap_tdx_module *m)
{
	const json_t *id;

	if (!json_is_object(o) || !j_hex(o, "mrsigner", m->mrsigner, 48) ||
	    !j_hex(o, "attributes", m->attributes, 8) ||
	    !j_hex(o, "attributesMask", m->attributes_mask, 8))
		return false;
	if (!identity)
		return true;
	id = json_object_get(o, "id");
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    json_string_length(id) >= sizeof(m->id))
		return false;
	memcpy(m->id, json_string_value(id), json_string_length(id) + 1);
	return isv_levels(json_object_get(o, "tcbLevels"), &m->levels,
	    &m->nlevels);
}

/* sgxtcbcomponents / tdxtcbcomponents: 16 objects with "svn". */
static bool
components(const json_t *arr, uint8_t svn[DCAP_SVN_COUNT])
{
	if (!json_is_array(arr) || json_array_size(arr) != DCAP_SVN_COUNT)
		return false;
	for (size_t i = 0; i < DCAP_SVN_COUNT; i++) {
		json_int_t v;

		if (!j_uint(json_array_get(arr, i), "svn", 255, &v))
			return false;
		svn[i] = (uint8_t)v;
	}
	return true;
}

static bool
tcb_level(const json_t *l, int version, bool tdx, struct dcap_tcb_level *lv)
{
	const json_t	*tcb = json_object_get(l, "tcb");
	json_int_t	 v;

	if (!json_is_object(l) || !json_is_object(tcb))
		return false;
	if (version >= 3) {
		if (!components(json_object_get(tcb, "sgxtcbcomponents"),
		    lv->sgx_svn))
			return false;
		if (tdx) {
			if (!components(json_object_get(tcb,
			    "tdxtcbcomponents"), lv->tdx_svn))
				return false;
			lv->has_tdx = true;
		}
	} else {
		for (int i = 0; i < DCAP_SVN_COUNT; i++) {
			char k[24];

			snprintf(k, sizeof(k), "sgxtcbcomp%02dsvn", i + 1);
			if (!j_uint(tcb, k, 255, &v))
				return false;
			lv->sgx_svn[i] = (uint8_t)v;
		}
	}
	if (!j_uint(tcb, "pcesvn", 0xffff, &v))
		return false;
	lv->pcesvn = (uint16_t)v;
	return j_time(l, "tcbDate", &lv->tcb_date) && j_status(l, &lv->status) &&
	    j_advisories(l, &lv->adv);
}

/*
 * Parse a TCB info document (PCS API v4: TCB info v2 for SGX, v3 for SGX
 * and TDX).  Returns 0 and *out, or -1 with e (AV_E_COLLATERAL_INVALID).
 */
int
dcap_tcb_info_parse(const uint8_t *text, size_t n, const char *sig_hex,
    struct dcap_tcb_info **out, struct av_err *e)
{
	struct dcap_tcb_info	*ti;
	json_t			*b = NULL;
	const json_t		*id, *arr;
	json_int_t		 v;
	bool			 tdx;
	int			 rc = -1;

	if ((ti = calloc(1, sizeof(*ti))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	ti->refs = 1;
	if ((b = signed_load(text, n, "tcbInfo", sig_hex, &ti->doc)) == NULL) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: TCB info is not a signed tcbInfo document");
		goto out;
	}
	if (!j_uint(b, "version", 3, &v) || v < 2) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: unsupported TCB info version");
		goto out;
	}
	ti->version = (int)v;
	id = json_object_get(b, "id");
	if (id == NULL && ti->version == 2)
		snprintf(ti->id, sizeof(ti->id), "SGX");
	else if (json_is_string(id) && (strcmp(json_string_value(id), "SGX") == 0 ||
	    strcmp(json_string_value(id), "TDX") == 0))
		snprintf(ti->id, sizeof(ti->id), "%s", json_string_value(id));
	else {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID, "tdx: bad TCB info id");
		goto out;
	}
	tdx = strcmp(ti->id, "TDX") == 0;
	if (!j_time(b, "issueDate", &ti->issue_date) ||
	    !j_time(b, "nextUpdate", &ti->next_update) ||
	    !j_hex(b, "fmspc", ti->fmspc, sizeof(ti->fmspc)) ||
	    !j_hex(b, "pceId", ti->pceid, sizeof(ti->pceid)) ||
	    !j_uint(b, "tcbType", 0, &v) ||
	    !j_uint(b, "tcbEvaluationDataNumber", INT32_MAX, &v)) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: TCB info misses a field or has a bad one");
		goto out;
	}
	ti->eval_num = v;
	if (json_object_get(b, "tdxModule") != NULL) {
		if (!tdx_module(json_object_get(b, "tdxModule"), false,
		    &ti->tdx_module)) {
			AV_FAIL(e, AV_E_COLLATERAL_INVALID,
			    "tdx: bad tdxModule in TCB info");
			goto out;
		}
		ti->has_tdx_module = true;
	}
	if ((arr = json_object_get(b, "tdxModuleIdentities")) != NULL) {
		size_t nm;

		if (!json_is_array(arr) || (nm = json_array_size(arr)) >
		    DCAP_MAX_MODULES) {
			AV_FAIL(e, AV_E_COLLATERAL_INVALID,
			    "tdx: bad tdxModuleIdentities in TCB info");
			goto out;
		}
		if (nm > 0 && (ti->modules = calloc(nm,
		    sizeof(*ti->modules))) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nm; i++) {
			ti->nmodules = i + 1;
			if (!tdx_module(json_array_get(arr, i), true,
			    &ti->modules[i])) {
				AV_FAIL(e, AV_E_COLLATERAL_INVALID,
				    "tdx: bad tdxModuleIdentities in TCB info");
				goto out;
			}
		}
	}
	arr = json_object_get(b, "tcbLevels");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > DCAP_MAX_LEVELS) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: TCB info has no usable tcbLevels");
		goto out;
	}
	if ((ti->levels = calloc(json_array_size(arr),
	    sizeof(*ti->levels))) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		ti->nlevels = i + 1;
		if (!tcb_level(json_array_get(arr, i), ti->version, tdx,
		    &ti->levels[i])) {
			AV_FAIL(e, AV_E_COLLATERAL_INVALID,
			    "tdx: bad TCB level in TCB info");
			goto out;
		}
	}
	*out = ti;
	ti = NULL;
	rc = 0;
 out:
	json_decref(b);
	dcap_tcb_info_free(ti);
	return rc;
}

/* Another reference to an immutable parsed document. */
struct dcap_tcb_info *
dcap_tcb_info_ref(struct dcap_tcb_info *ti)
{
	__atomic_add_fetch(&ti->refs, 1, __ATOMIC_RELAXED);
	return ti;
}

/* Drop a reference; the last one frees.  NULL-safe. */
void
dcap_tcb_info_free(struct dcap_tcb_info *ti)
{
	if (ti == NULL || __atomic_sub_fetch(&ti->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(ti->doc.text);
	EVP_PKEY_free(ti->doc.ok_key);
	for (size_t i = 0; i < ti->nmodules; i++)
		isv_levels_free(ti->modules[i].levels, ti->modules[i].nlevels);
	free(ti->modules);
	for (size_t i = 0; i < ti->nlevels; i++)
		adv_cleanup(&ti->levels[i].adv);
	free(ti->levels);
	free(ti);
}

/*
 * Parse an enclave identity v2 document (PCS API v4 QE identity).
 * Returns 0 and *out, or -1 with e (AV_E_COLLATERAL_INVALID).
 */
int
dcap_qe_identity_parse(const uint8_t *text, size_t n, const char *sig_hex,
    struct dcap_qe_identity **out, struct av_err *e)
{
	struct dcap_qe_identity	*qi;
	json_t			*b = NULL;
	const json_t		*id;
	json_int_t		 v, ev;
	uint8_t			 ms[4], mm[4];
	int			 rc = -1;

	if ((qi = calloc(1, sizeof(*qi))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	qi->refs = 1;
	if ((b = signed_load(text, n, "enclaveIdentity", sig_hex,
	    &qi->doc)) == NULL) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: QE identity is not a signed enclaveIdentity document");
		goto out;
	}
	id = json_object_get(b, "id");
	if (!j_uint(b, "version", 2, &v) || v != 2 || !json_is_string(id) ||
	    json_string_length(id) == 0 ||
	    json_string_length(id) >= sizeof(qi->id)) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: unsupported QE identity version or id");
		goto out;
	}
	qi->version = (int)v;
	memcpy(qi->id, json_string_value(id), json_string_length(id) + 1);
	if (!j_time(b, "issueDate", &qi->issue_date) ||
	    !j_time(b, "nextUpdate", &qi->next_update) ||
	    !j_uint(b, "tcbEvaluationDataNumber", INT32_MAX, &ev) ||
	    !j_hex(b, "miscselect", ms, 4) ||
	    !j_hex(b, "miscselectMask", mm, 4) ||
	    !j_hex(b, "attributes", qi->attributes, 16) ||
	    !j_hex(b, "attributesMask", qi->attributes_mask, 16) ||
	    !j_hex(b, "mrsigner", qi->mrsigner, 32) ||
	    !j_uint(b, "isvprodid", 0xffff, &v)) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: QE identity misses a field or has a bad one");
		goto out;
	}
	qi->isvprodid = (uint16_t)v;
	qi->eval_num = ev;
	/* The hex strings spell the 32-bit values, most significant first. */
	qi->miscselect = (uint32_t)ms[0] << 24 | (uint32_t)ms[1] << 16 |
	    (uint32_t)ms[2] << 8 | ms[3];
	qi->miscselect_mask = (uint32_t)mm[0] << 24 | (uint32_t)mm[1] << 16 |
	    (uint32_t)mm[2] << 8 | mm[3];
	if (!isv_levels(json_object_get(b, "tcbLevels"), &qi->levels,
	    &qi->nlevels)) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: bad TCB levels in QE identity");
		goto out;
	}
	*out = qi;
	qi = NULL;
	rc = 0;
 out:
	json_decref(b);
	dcap_qe_identity_free(qi);
	return rc;
}

/* Another reference to an immutable parsed document. */
struct dcap_qe_identity *
dcap_qe_identity_ref(struct dcap_qe_identity *qi)
{
	__atomic_add_fetch(&qi->refs, 1, __ATOMIC_RELAXED);
	return qi;
}

/* Drop a reference; the last one frees.  NULL-safe. */
void
dcap_qe_identity_free(struct dcap_qe_identity *qi)
{
	if (qi == NULL || __atomic_sub_fetch(&qi->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(qi->doc.text);
	EVP_PKEY_free(qi->doc.ok_key);
	isv_levels_free(qi->levels, qi->nlevels);
	free(qi);
}

/*
 * Signatures of collateral documents already checked, keyed by SHA-256
 * of (signed bytes, signature, signer key).  A memo of a pure function:
 * the same TCB info verified for every quote of a platform costs one
 * hash, not one ECDSA verification (DESIGN.md s.7: verified collateral is
 * cached per process).  Only successes are remembered.
 */
#define SIGMEMO_N	64

static pthread_mutex_t	 sigmemo_mtx = PTHREAD_MUTEX_INITIALIZER;
static uint8_t		 sigmemo[SIGMEMO_N][32];	/* guarded */
static size_t		 sigmemo_n, sigmemo_next;	/* guarded */

static int
sigmemo_key(const struct dcap_signed *d, EVP_PKEY *pk, uint8_t key[32])
{
	static const char	 tag[] = "attestd dcap sig v1";
	uint8_t			 pub[133];
	size_t			 publen = 0;
	EVP_MD_CTX		*m;
	unsigned int		 len = 0;
	int			 rc = -1;

	/* the raw point: cheap, unlike an encoder round trip */
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &publen) != 1 || (m = EVP_MD_CTX_new()) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, tag, sizeof(tag)) == 1 &&
	    EVP_DigestUpdate(m, &d->body_len, sizeof(d->body_len)) == 1 &&
	    EVP_DigestUpdate(m, d->text + d->body_off, d->body_len) == 1 &&
	    EVP_DigestUpdate(m, d->sig, sizeof(d->sig)) == 1 &&
	    EVP_DigestUpdate(m, pub, publen) == 1 &&
	    EVP_DigestFinal_ex(m, key, &len) == 1 && len == 32)
		rc = 0;
	EVP_MD_CTX_free(m);
	return rc;
}

/*
 * ECDSA P-256 / SHA-256 over the signed span.  Returns 0, or -1 with e
 * (AV_E_SIGNATURE).
 */
int
dcap_signed_verify(const struct dcap_signed *d, EVP_PKEY *pk, struct av_err *e)
{
	struct dcap_signed	*md = (struct dcap_signed *)d;	/* ok_key only */
	EVP_PKEY		*none = NULL;
	uint8_t			 key[32];
	bool			 keyed, hit = false;

	/* This very key verified this very document before. */
	if (pk != NULL && __atomic_load_n(&md->ok_key, __ATOMIC_ACQUIRE) == pk)
		return 0;
	keyed = sigmemo_key(d, pk, key) == 0;
	if (keyed) {
		pthread_mutex_lock(&sigmemo_mtx);
		for (size_t i = 0; i < sigmemo_n && !hit; i++)
			hit = memcmp(sigmemo[i], key, 32) == 0;
		pthread_mutex_unlock(&sigmemo_mtx);
	}
	if (!hit && av_ecdsa_verify_rs(pk, EVP_sha256(), d->text + d->body_off,
	    d->body_len, d->sig, 32, d->sig + 32, 32, e) != 0)
		return -1;
	/* Remember the key in the document (once; a reference is kept). */
	if (__atomic_load_n(&md->ok_key, __ATOMIC_ACQUIRE) == NULL &&
	    EVP_PKEY_up_ref(pk) == 1 && !__atomic_compare_exchange_n(
	    &md->ok_key, &none, pk, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		EVP_PKEY_free(pk);
	if (hit)
		return 0;
	if (keyed) {
		pthread_mutex_lock(&sigmemo_mtx);
		memcpy(sigmemo[sigmemo_next], key, 32);
		sigmemo_next = (sigmemo_next + 1) % SIGMEMO_N;
		if (sigmemo_n < SIGMEMO_N)
			sigmemo_n++;
		pthread_mutex_unlock(&sigmemo_mtx);
	}
	return 0;
}

/* ---- QE identity ------------------------------------------------------- */

/* QVL 4.1.2.4.15: report against identity. */
void
dcap_qe_identity_check(const struct dcap_qe_identity *qi,
    const struct dcap_enclave_report *rep, struct dcap_qe_result *res)
{
	memset(res, 0, sizeof(*res));
	res->level = -1;
	res->have_isvsvn = rep->isvsvn;
	for (size_t i = 0; i < qi->nlevels; i++)
		if (qi->levels[i].status == DCAP_TCB_UP_TO_DATE) {
			res->need_isvsvn = qi->levels[i].isvsvn;
			break;
		}
	if ((rep->miscselect & qi->miscselect_mask) != qi->miscselect)
		res->mismatch = DCAP_QE_MISCSELECT;
	else {
		for (int i = 0; i < 16; i++)
			if ((rep->attributes[i] & qi->attributes_mask[i]) !=
			    qi->attributes[i])
				res->mismatch = DCAP_QE_ATTRIBUTES;
	}
	if (res->mismatch == DCAP_QE_OK &&
	    memcmp(rep->mrsigner, qi->mrsigner, 32) != 0)
		res->mismatch = DCAP_QE_MRSIGNER;
	if (res->mismatch == DCAP_QE_OK && rep->isvprodid != qi->isvprodid)
		res->mismatch = DCAP_QE_ISVPRODID;
	res->status = DCAP_TCB_NOT_SUPPORTED;
	for (size_t i = 0; i < qi->nlevels; i++)
		if (rep->isvsvn >= qi->levels[i].isvsvn) {
			res->status = qi->levels[i].status;
			res->level = (int)i;
			res->tcb_date = qi->levels[i].tcb_date;
			res->adv = &qi->levels[i].adv;
			break;
		}
}

/* ---- TCB level selection ----------------------------------------------- */

static bool
sgx_ge(const struct dcap_pck_ext *pck, const struct dcap_tcb_level *l)
{
	for (int i = 0; i < DCAP_SVN_COUNT; i++)
		if (pck->comp_svn[i] < l->sgx_svn[i])
			return false;
	return pck->pcesvn >= l->pcesvn;
}

static bool
tdx_ge(const uint8_t *tee, const struct dcap_tcb_level *l)
{
	if (!l->has_tdx)
		return false;
	for (int i = (tee[1] > 0) ? 2 : 0; i < DCAP_SVN_COUNT; i++)
		if (tee[i] < l->tdx_svn[i])
			return false;
	return true;
}

/* QVL convergeTcbStatusWithTdxModuleStatus. */
static enum dcap_tcb_status
converge_module(enum dcap_tcb_status level, enum dcap_tcb_status module)
{
	if (module == DCAP_TCB_OUT_OF_DATE) {
		if (level == DCAP_TCB_UP_TO_DATE ||
		    level == DCAP_TCB_SW_HARDENING_NEEDED)
			return DCAP_TCB_OUT_OF_DATE;
		if (level == DCAP_TCB_CONFIGURATION_NEEDED ||
		    level == DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (module == DCAP_TCB_REVOKED)
		return DCAP_TCB_REVOKED;
	return level;
}

/* QVL convergeTcbStatusWithQeTcbStatus. */
static enum dcap_tcb_status
converge_qe(enum dcap_tcb_status level, enum dcap_tcb_status qe)
{
	if (qe == DCAP_TCB_OUT_OF_DATE) {
		if (level == DCAP_TCB_UP_TO_DATE ||
		    level == DCAP_TCB_SW_HARDENING_NEEDED)
			return DCAP_TCB_OUT_OF_DATE;
		if (level == DCAP_TCB_CONFIGURATION_NEEDED ||
		    level == DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (qe == DCAP_TCB_REVOKED)
		return DCAP_TCB_REVOKED;
	if (qe == DCAP_TCB_NOT_SUPPORTED)
		return DCAP_TCB_NOT_SUPPORTED;
	return level;
}

static int
add_advisories(json_t *arr, const struct dcap_advisories *a)
{
	if (a == NULL)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		bool	dup = false;
		size_t	j;
		json_t	*v;

		json_array_foreach(arr, j, v)
			if (strcmp(json_string_value(v), a->id[i]) == 0)
				dup = true;
		if (!dup && json_array_append_new(arr,
		    json_string(a->id[i])) != 0)
			return -1;
	}
	return 0;
}

static int
behind(json_t *arr, const char *what, int idx, unsigned have, unsigned need)
{
	char buf[96];

	if (have >= need)
		return 0;
	if (idx >= 0)
		snprintf(buf, sizeof(buf), "%s %d: have %u, need %u", what, idx,
		    have, need);
	else
		snprintf(buf, sizeof(buf), "%s: have %u, need %u", what, have,
		    need);
	return json_array_append_new(arr, json_string(buf));
}

static const struct dcap_tdx_module *
find_module(const struct dcap_tcb_info *ti, const char *id)
{
	for (size_t i = 0; i < ti->nmodules; i++)
		if (strcasecmp(ti->modules[i].id, id) == 0)
			return &ti->modules[i];
	return NULL;
}

/*
 * What is behind the reference level (the first UpToDate level, else the
 * first level): every SGX component, PCESVN, TDX component and the TDX
 * module SVN, with what the platform has and what it needs.
 */
static int
describe_behind(const struct dcap_tcb_info *ti, const struct dcap_tcb_input *in,
    const struct dcap_tdx_module *mod, struct dcap_tcb_result *res)
{
	const struct dcap_tcb_level	*ref = &ti->levels[0];
	int				 rc = 0;

	for (size_t i = 0; i < ti->nlevels; i++)
		if (ti->levels[i].status == DCAP_TCB_UP_TO_DATE) {
			ref = &ti->levels[i];
			break;
		}
	for (int i = 0; i < DCAP_SVN_COUNT; i++)
		rc |= behind(res->behind, "sgx component", i,
		    in->pck->comp_svn[i], ref->sgx_svn[i]);
	rc |= behind(res->behind, "pcesvn", -1, in->pck->pcesvn, ref->pcesvn);
	if (in->tee_tcb_svn != NULL && ref->has_tdx)
		for (int i = (in->tee_tcb_svn[1] > 0) ? 2 : 0;
		    i < DCAP_SVN_COUNT; i++)
			rc |= behind(res->behind, "tdx component", i,
			    in->tee_tcb_svn[i], ref->tdx_svn[i]);
	if (mod != NULL && in->tee_tcb_svn != NULL) {
		char what[40];

		for (size_t i = 0; i < mod->nlevels; i++)
			if (mod->levels[i].status == DCAP_TCB_UP_TO_DATE) {
				snprintf(what, sizeof(what), "tdx module %s svn",
				    mod->id);
				rc |= behind(res->behind, what, -1,
				    in->tee_tcb_svn[0], mod->levels[i].isvsvn);
				break;
			}
	}
	if (in->qe != NULL && in->qe->level >= 0 &&
	    in->qe->status != DCAP_TCB_UP_TO_DATE)
		rc |= behind(res->behind, "qe isvsvn", -1, in->qe->have_isvsvn,
		    in->qe->need_isvsvn);
	return rc == 0 ? 0 : -1;
}

/*
 * TCB level selection and status convergence (QVL 4.1.2.4.11 and
 * 4.1.2.4.17).  Returns 0, or -1 with e on allocation failure.
 */
int
dcap_tcb_evaluate(const struct dcap_tcb_info *ti,
    const struct dcap_tcb_input *in, struct dcap_tcb_result *res,
    struct av_err *e)
{
	const struct dcap_tdx_module	*mod = NULL;
	const uint8_t			*tee = in->tee_tcb_svn;
	bool				 is_tdx;
	enum dcap_tcb_status		 st;

	memset(res, 0, sizeof(*res));
	res->sgx_level = res->tdx_level = res->module_level = -1;
	if ((res->advisories = json_array()) == NULL ||
	    (res->behind = json_array()) == NULL) {
		dcap_tcb_result_cleanup(res);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	if (in->qe != NULL)
		res->qe_status = in->qe->status;
	is_tdx = ti->version >= 3 && strcmp(ti->id, "TDX") == 0 && tee != NULL;

	/* 4.1.2.4.11: the TDX module (identity) must be Intel's. */
	if (is_tdx) {
		const uint8_t	*msig, *mattr;
		bool		 by_identity = in->quote_version > 3 &&
				    tee[1] > 0;

		if (by_identity) {
			snprintf(res->module_id, sizeof(res->module_id),
			    "TDX_%02X", tee[1]);
			mod = find_module(ti, res->module_id);
		}
		if (by_identity && mod == NULL)
			res->module_err = DCAP_MODULE_NO_IDENTITY;
		else if (!by_identity && !ti->has_tdx_module)
			res->module_err = DCAP_MODULE_NO_IDENTITY;
		else {
			msig = by_identity ? mod->mrsigner :
			    ti->tdx_module.mrsigner;
			mattr = by_identity ? mod->attributes :
			    ti->tdx_module.attributes;
			if (memcmp(in->mrsignerseam, msig, 48) != 0)
				res->module_err = DCAP_MODULE_MRSIGNER;
			else
				for (int i = 0; i < 8; i++)
					if (in->seam_attributes[i] != 0 ||
					    in->seam_attributes[i] != mattr[i])
						res->module_err =
						    DCAP_MODULE_ATTRIBUTES;
		}
		if (res->module_err != DCAP_MODULE_OK) {
			res->status = DCAP_TCB_NOT_SUPPORTED;
			return 0;
		}
	}

	/* 4.1.2.4.17.1-3: the first level the platform meets. */
	for (size_t i = 0; i < ti->nlevels; i++) {
		const struct dcap_tcb_level *l = &ti->levels[i];

		if (!sgx_ge(in->pck, l))
			continue;
		if (res->sgx_level < 0)
			res->sgx_level = (int)i;
		if (!is_tdx)
			break;
		if (tdx_ge(tee, l)) {
			res->tdx_level = (int)i;
			break;
		}
	}
	if (describe_behind(ti, in, mod, res) != 0) {
		dcap_tcb_result_cleanup(res);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	if (res->sgx_level < 0 || (is_tdx && res->tdx_level < 0)) {
		res->status = DCAP_TCB_NOT_SUPPORTED;
		return 0;
	}
	res->sgx_status = ti->levels[res->sgx_level].status;
	if (!is_tdx) {
		const struct dcap_tcb_level *l = &ti->levels[res->sgx_level];

		res->tcb_date = l->tcb_date;
		st = res->sgx_status;
		if (add_advisories(res->advisories, &l->adv) != 0)
			goto nomem;
	} else {
		const struct dcap_tcb_level *l = &ti->levels[res->tdx_level];

		res->tcb_date = l->tcb_date;
		res->tdx_status = l->status;
		if (add_advisories(res->advisories, &l->adv) != 0)
			goto nomem;
		/* 4.1.2.4.17.4.1: the TDX module's own TCB level. */
		res->module_status = DCAP_TCB_UP_TO_DATE;
		if (mod != NULL) {
			res->module_status = DCAP_TCB_NOT_SUPPORTED;
			for (size_t i = 0; i < mod->nlevels; i++)
				if (tee[0] >= mod->levels[i].isvsvn) {
					res->module_status =
					    mod->levels[i].status;
					res->module_level = (int)i;
					if (add_advisories(res->advisories,
					    &mod->levels[i].adv) != 0)
						goto nomem;
					break;
				}
		}
		if (res->module_status == DCAP_TCB_NOT_SUPPORTED) {
			res->status = DCAP_TCB_NOT_SUPPORTED;
			return 0;
		}
		st = converge_module(res->tdx_status, res->module_status);
		if (st == DCAP_TCB_REVOKED) {
			res->status = st;
			return 0;
		}
	}
	if (in->qe != NULL) {
		st = converge_qe(st, in->qe->status);
		if (add_advisories(res->advisories, in->qe->adv) != 0)
			goto nomem;
	}
	res->status = st;
	return 0;
 nomem:
	dcap_tcb_result_cleanup(res);
	return AV_FAIL(e, AV_E_NOMEM, "out of memory");
}

/* Releases the arrays; NULL-safe fields. */
void
dcap_tcb_result_cleanup(struct dcap_tcb_result *res)
{
	json_decref(res->advisories);
	json_decref(res->behind);
	res->advisories = NULL;
	res->behind = NULL;
}
