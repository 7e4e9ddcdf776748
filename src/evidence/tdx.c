/*
 * attestd - Intel TDX backend ("tdx"): DCAP quotes v4 and v5 with full
 * appraisal (docs/platforms/tdx.md).
 *
 * Order of checks (Intel QVL 4.1.2.4): parse; PCK chain to the pinned
 * Intel SGX Root CA; QE report signature (PCK key); QE report data
 * binding; quote signature (attestation key); collateral (TCB info and
 * QE identity: dates, signer chain, signature, FMSPC/PCE-ID, CRLs); TDX
 * module identity; TCB level selection; QE identity; combined status.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "av/backend.h"
#include "av/binding.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/memo.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/result.h"
#include "collateral/intel_pcs.h"
#include "evidence/tdx.h"

/* Intel's QE vendor id (939a7233-f79c-4ca9-940a-0db3957f0607). */
const uint8_t tdx_intel_qe_vendor_id[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

#define TDX_MAX_PCK_CHAIN	8	/* certificates in the PEM chain */

/*
 * Parsed certificate lists (av_x509_parse_any_cached()), CRLs, TCB infos,
 * QE identities and attestation keys, by the bytes they came from
 * (include/av/memo.h).  Every quote of a platform carries the same PCK
 * chain and is appraised with the same collateral, and decoding X.509 or
 * JSON costs far more than both signatures of a quote (OpenSSL 3 decodes
 * each public key through its provider machinery).  These are memos of
 * pure functions, like the chain cache (DESIGN.md s.7); the objects are
 * immutable once parsed and shared by reference, and being the same
 * objects they let the chain cache answer by identity.
 */
static void *
ref_ti(void *p)
{
	return dcap_tcb_info_ref(p);
}

static void
unref_ti(void *p)
{
	dcap_tcb_info_free(p);
}

static void *
ref_qi(void *p)
{
	return dcap_qe_identity_ref(p);
}

static void
unref_qi(void *p)
{
	dcap_qe_identity_free(p);
}

static struct av_memo memo_crl = AV_MEMO_INITIALIZER(av_memo_ref_crl,
    av_memo_unref_crl);
static struct av_memo memo_ti = AV_MEMO_INITIALIZER(ref_ti, unref_ti);
static struct av_memo memo_qi = AV_MEMO_INITIALIZER(ref_qi, unref_qi);
static struct av_memo memo_pkey = AV_MEMO_INITIALIZER(av_memo_ref_pkey,
    av_memo_unref_pkey);

/*
 * Every certificate in p (PEM or one DER), shared.  Returns a new stack
 * of new references (sk_X509_pop_free), or NULL.
 */
static STACK_OF(X509) *
certs_parse(const uint8_t *p, size_t n)
{
	return av_x509_parse_any_cached(p, n);
}

/* A CRL in any encoding, through the memo.  New reference or NULL. */
static X509_CRL *
crl_parse(const uint8_t *p, size_t n)
{
	X509_CRL *crl;

	if ((crl = av_memo_get(&memo_crl, 'R', p, n, NULL, 0)) != NULL)
		return crl;
	if ((crl = av_pcs_crl_decode(p, n)) != NULL)
		av_memo_put(&memo_crl, 'R', p, n, NULL, 0, crl);
	return crl;
}

/* The attestation key (raw x || y) as a P-256 key, through the memo. */
static EVP_PKEY *
att_key(const uint8_t xy[64])
{
	EVP_PKEY *pk;

	if ((pk = av_memo_get(&memo_pkey, 'K', xy, 64, NULL, 0)) != NULL)
		return pk;
	if ((pk = av_ec_pubkey_from_raw("P-256", xy, 64)) != NULL)
		av_memo_put(&memo_pkey, 'K', xy, 64, NULL, 0, pk);
	return pk;
}

/* dcap_tcb_info_parse() through the memo. */
static int
tcb_info_parse(const uint8_t *p, size_t n, const char *sig,
    struct dcap_tcb_info **out, struct av_err *e)
{
	size_t sn = (sig != NULL) ? strlen(sig) + 1 : 0;

	if ((*out = av_memo_get(&memo_ti, 'T', p, n, sig, sn)) != NULL)
		return 0;
	if (dcap_tcb_info_parse(p, n, sig, out, e) != 0)
		return -1;
	av_memo_put(&memo_ti, 'T', p, n, sig, sn, *out);
	return 0;
}

/* dcap_qe_identity_parse() through the memo. */
static int
qe_identity_parse(const uint8_t *p, size_t n, const char *sig,
    struct dcap_qe_identity **out, struct av_err *e)
{
	size_t sn = (sig != NULL) ? strlen(sig) + 1 : 0;

	if ((*out = av_memo_get(&memo_qi, 'Q', p, n, sig, sn)) != NULL)
		return 0;
	if (dcap_qe_identity_parse(p, n, sig, out, e) != 0)
		return -1;
	av_memo_put(&memo_qi, 'Q', p, n, sig, sn, *out);
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* TDREPORT body fields in quote order (A.3.2 / A.3.3). */
static bool
read_td_report(struct av_reader *r, bool td15, struct tdx_td_report *td)
{
	struct av_reader t = *r;

	if (!av_read_copy(&t, td->tee_tcb_svn, 16) ||
	    !av_read_copy(&t, td->mrseam, 48) ||
	    !av_read_copy(&t, td->mrsignerseam, 48) ||
	    !av_read_copy(&t, td->seam_attributes, 8) ||
	    !av_read_copy(&t, td->td_attributes, 8) ||
	    !av_read_copy(&t, td->xfam, 8) ||
	    !av_read_copy(&t, td->mrtd, 48) ||
	    !av_read_copy(&t, td->mrconfigid, 48) ||
	    !av_read_copy(&t, td->mrowner, 48) ||
	    !av_read_copy(&t, td->mrownerconfig, 48))
		return false;
	for (int i = 0; i < 4; i++)
		if (!av_read_copy(&t, td->rtmr[i], 48))
			return false;
	if (!av_read_copy(&t, td->report_data, 64))
		return false;
	td->td15 = td15;
	if (td15 && (!av_read_copy(&t, td->tee_tcb_svn2, 16) ||
	    !av_read_copy(&t, td->mrservicetd, 48)))
		return false;
	*r = t;
	return true;
}

/* The PEM PCK chain (certification data type 5). */
static int
read_pck_chain(struct tdx_quote *q, const struct av_reader *cd,
    struct av_err *e)
{
	if (cd->left == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: empty PCK chain");
	if ((q->pck_chain = certs_parse(cd->p, cd->left)) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: bad PCK chain");
	if (sk_X509_num(q->pck_chain) > TDX_MAX_PCK_CHAIN)
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: PCK chain too long");
	q->pck = sk_X509_value(q->pck_chain, 0);
	return dcap_pck_ext_from_cert(q->pck, &q->pck_ext, e);
}

/* Certification data type 6: QE report, its signature, auth data, type 5. */
static int
read_qe_cert_data(struct tdx_quote *q, struct av_reader *cd, struct av_err *e)
{
	struct av_reader	 inner;
	const uint8_t		*p;
	uint32_t		 isize;

	q->qe_report_off = (size_t)(cd->p - q->buf);
	if (dcap_enclave_report_read(cd, &q->qe_report, e) != 0)
		return -1;
	q->has_qe_report = true;
	if (!av_read_copy(cd, q->qe_sig, 64) ||
	    !av_read_u16le(cd, &q->qe_auth_len))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: truncated QE certification data");
	if (q->qe_auth_len > TDX_MAX_QE_AUTH)
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: QE auth data too long");
	q->qe_auth_off = (size_t)(cd->p - q->buf);
	if (!av_read_bytes(cd, q->qe_auth_len, &p))
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: truncated QE auth data");
	if (!av_read_u16le(cd, &q->inner_type) || !av_read_u32le(cd, &isize))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: truncated QE certification data");
	if (q->inner_type != TDX_CERT_PCK_CHAIN)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: QE certification data does not hold a PCK chain");
	if (isize > TDX_MAX_CERT_DATA || !av_read_sub(cd, isize, &inner))
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: bad PCK chain size");
	if (cd->left != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: trailing bytes in QE certification data");
	return read_pck_chain(q, &inner, e);
}

/* Signature data (A.4): signature, attestation key, certification data. */
static int
read_sig_data(struct tdx_quote *q, struct av_reader *sd, struct av_err *e)
{
	struct av_reader	cd;
	uint32_t		csize;

	if (!av_read_copy(sd, q->sig, 64) || !av_read_copy(sd, q->att_key, 64) ||
	    !av_read_u16le(sd, &q->cert_type) || !av_read_u32le(sd, &csize))
		return AV_FAIL(e, AV_E_MALFORMED, "tdx: truncated signature data");
	if (csize > TDX_MAX_CERT_DATA || !av_read_sub(sd, csize, &cd))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: bad certification data size");
	if (sd->left != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: trailing bytes in signature data");
	switch (q->cert_type) {
	case TDX_CERT_QE_REPORT:
		return read_qe_cert_data(q, &cd, e);
	case TDX_CERT_PCK_CHAIN:
		return read_pck_chain(q, &cd, e);
	default:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: unsupported certification data type");
	}
}

/*
 * Parse a TDX quote v4 or v5 by its own length fields; bytes after the
 * signature data (capture padding) are ignored and counted.  Returns 0
 * and *out, or -1 with e.
 */
int
tdx_quote_parse(const uint8_t *p, size_t n, struct tdx_quote **out,
    struct av_err *e)
{
	struct tdx_quote	*q;
	struct av_reader	 r, sd;
	uint16_t		 reserved;
	int			 rc = -1;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (n == 0 || n > TDX_MAX_QUOTE_BYTES) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: quote size out of range");
		goto out;
	}
	if ((q->buf = malloc(n)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(q->buf, p, n);
	q->len = n;
	av_reader_init(&r, q->buf, n);

	/* Header (A.3.1). */
	if (!av_read_u16le(&r, &q->version) ||
	    !av_read_u16le(&r, &q->att_key_type) ||
	    !av_read_u32le(&r, &q->tee_type) ||
	    !av_read_u16le(&r, &reserved) || !av_read_u16le(&r, &reserved) ||
	    !av_read_copy(&r, q->qe_vendor_id, 16) ||
	    !av_read_copy(&r, q->user_data, 20)) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: truncated quote header");
		goto out;
	}
	if (q->version != 4 && q->version != 5) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: unsupported quote version");
		goto out;
	}
	if (q->tee_type != TDX_TEE_TYPE) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: not a TDX quote (TEE type)");
		goto out;
	}
	if (q->att_key_type != TDX_ATT_KEY_ECDSA_P256) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "tdx: attestation key type is not ECDSA P-256");
		goto out;
	}
	if (memcmp(q->qe_vendor_id, tdx_intel_qe_vendor_id, 16) != 0) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: QE vendor is not Intel");
		goto out;
	}

	/* Body: v4 TD 1.0; v5 typed and sized (A.3.2). */
	if (q->version == 4) {
		q->body_type = TDX_BODY_TD10;
		q->body_size = TDX_TD10_BODY_LEN;
	} else {
		if (!av_read_u16le(&r, &q->body_type) ||
		    !av_read_u32le(&r, &q->body_size)) {
			AV_FAIL(e, AV_E_MALFORMED, "tdx: truncated quote body");
			goto out;
		}
		if (!((q->body_type == TDX_BODY_TD10 &&
		    q->body_size == TDX_TD10_BODY_LEN) ||
		    (q->body_type == TDX_BODY_TD15 &&
		    q->body_size == TDX_TD15_BODY_LEN))) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "tdx: body type and size disagree");
			goto out;
		}
	}
	if (!read_td_report(&r, q->body_type == TDX_BODY_TD15, &q->td)) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: truncated quote body");
		goto out;
	}
	q->signed_len = n - r.left;

	/* Signature data (A.4), then whatever padding the capture added. */
	if (!av_read_u32le(&r, &q->sig_data_len) ||
	    !av_read_sub(&r, q->sig_data_len, &sd)) {
		AV_FAIL(e, AV_E_MALFORMED, "tdx: truncated signature data");
		goto out;
	}
	if (read_sig_data(q, &sd, e) != 0)
		goto out;
	q->trailing = r.left;
	*out = q;
	q = NULL;
	rc = 0;
 out:
	tdx_quote_free(q);
	return rc;
}

static void
companions_cleanup(struct tdx_companions *c)
{
	free(c->tcb_info);
	free(c->tcb_info_sig);
	free(c->tcb_info_chain);
	free(c->qe_identity);
	free(c->qe_identity_sig);
	free(c->qe_identity_chain);
	free(c->pck_crl);
	free(c->pck_crl_chain);
	free(c->root_ca_crl);
	memset(c, 0, sizeof(*c));
}

/* NULL-safe. */
void
tdx_quote_free(struct tdx_quote *q)
{
	if (q == NULL)
		return;
	free(q->buf);
	sk_X509_pop_free(q->pck_chain, X509_free);
	companions_cleanup(&q->comp);
	dcap_tcb_result_cleanup(&q->v.tcb);
	json_decref(q->v.collateral);
	free(q);
}

/* TD_ATTRIBUTES as a number (little-endian in the report). */
uint64_t
tdx_td_attributes(const struct tdx_quote *q)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | q->td.td_attributes[i];
	return v;
}

/*
 * Request companions: item "collateral" (docs/platforms/tdx.md).  Every
 * member is a string; unknown members are refused.
 */
static int
read_companions(const json_t *item, struct tdx_companions *c, struct av_err *e)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} members[] = {
#define M(k, f) { k, offsetof(struct tdx_companions, f) }
		M("tcb_info", tcb_info),
		M("tcb_info_signature", tcb_info_sig),
		M("tcb_info_issuer_chain", tcb_info_chain),
		M("qe_identity", qe_identity),
		M("qe_identity_signature", qe_identity_sig),
		M("qe_identity_issuer_chain", qe_identity_chain),
		M("pck_crl", pck_crl),
		M("pck_crl_issuer_chain", pck_crl_chain),
		M("root_ca_crl", root_ca_crl),
#undef M
	};
	const json_t	*coll;
	const char	*key;
	json_t		*v;

	if (item == NULL || (coll = json_object_get(item, "collateral")) == NULL)
		return 0;
	if (!json_is_object(coll))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tdx: \"collateral\" must be an object");
	json_object_foreach((json_t *)coll, key, v) {
		size_t i;

		for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
			if (strcmp(members[i].key, key) == 0)
				break;
		if (i == sizeof(members) / sizeof(members[0]))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tdx: unknown member in \"collateral\"");
		if (!json_is_string(v))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tdx: collateral members are strings (documents "
			    "as served)");
		if (json_string_length(v) == 0 ||
		    json_string_length(v) > DCAP_MAX_DOC)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tdx: collateral member size out of range");
		if ((*(char **)((char *)c + members[i].off) =
		    strdup(json_string_value(v))) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	return 0;
}

static bool
tdx_detect(const uint8_t *p, size_t n)
{
	/* version 4|5, att key type 2, TEE type 0x81 (little-endian). */
	if (n < TDX_HEADER_LEN + TDX_TD10_BODY_LEN)
		return false;
	return (p[0] == 4 || p[0] == 5) && p[1] == 0 && p[2] == 2 &&
	    p[3] == 0 && p[4] == 0x81 && p[5] == 0 && p[6] == 0 && p[7] == 0;
}

static int
tdx_parse(const struct av_evidence *ev, void **out, struct av_err *e)
{
	struct tdx_quote *q = NULL;

	if (tdx_quote_parse(ev->data, ev->len, &q, e) != 0)
		return -1;
	if (read_companions(ev->item, &q->comp, e) != 0) {
		tdx_quote_free(q);
		return -1;
	}
	*out = q;
	return 0;
}

static void
tdx_free(void *p)
{
	tdx_quote_free(p);
}

/* ---- policy ------------------------------------------------------------- */

enum tdx_binding { TDX_BIND_AUTO, TDX_BIND_SHA512, TDX_BIND_RAW };

/* The compiled "tdx" policy section (docs/platforms/tdx.md). */
struct tdx_policy {
	struct av_hexlist	 mrtd, rtmr[4], mrseam, mrsignerseam;
	struct av_hexlist	 mrconfigid, mrowner, mrownerconfig;
	struct av_hexlist	 mrservicetd, xfam;
	bool			 allow_debug;
	enum dcap_tri		 sept_ve_disable, pks, kl, perfmon;
	unsigned		 tcb_ok;	/* bit per enum dcap_tcb_status */
	int64_t			 out_of_date_grace_s;	/* -1: none */
	int64_t			 collateral_grace_s;	/* 0: none */
	json_t			*adv_reject;	/* array of strings (owned) */
	json_t			*adv_accept;
	bool			 has_min_module;
	uint8_t			 min_module_major, min_module_svn;
	enum tdx_binding	 binding;
	bool			 require_collateral;
};

/* Defaults when a request has no policy (evidence-only appraisal). */
static const struct tdx_policy tdx_default_policy = {
	.tcb_ok = 1u << DCAP_TCB_UP_TO_DATE,
	.out_of_date_grace_s = -1,
	.binding = TDX_BIND_AUTO,
};

/* ---- verification helpers ------------------------------------------------ */

/* Set o[k] = lower-case hex of p[0..n). Returns 0/-1. */
/*
 * A JSON string of the lower-case hex of p[0..n), built on the stack
 * (claims are made for every quote: no malloc for the text, no UTF-8
 * scan of what is hex).  New reference or NULL.
 */
static json_t *
hex_json(const uint8_t *p, size_t n)
{
	static const char	 dig[] = "0123456789abcdef";
	char			 buf[2 * 64 + 1], *h;
	json_t			*v;

	if (n > 64) {
		if ((h = av_hex_encode(p, n)) == NULL)
			return NULL;
		v = json_string(h);
		free(h);
		return v;
	}
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = dig[p[i] >> 4];
		buf[2 * i + 1] = dig[p[i] & 0xf];
	}
	return json_stringn_nocheck(buf, 2 * n);
}

/* o[k] = hex of p[0..n); k is an ASCII literal. */
static int
set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	return json_object_set_new_nocheck(o, k, hex_json(p, n));
}

/* v (0 <= v < 10^n) as n decimal digits. */
static void
put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * "YYYY-MM-DDTHH:MM:SSZ" of t (RFC 3339, UTC) into buf, without the
 * C library's locale, time zone or printf machinery; years outside
 * 0..9999 through av_time_format().
 */
static void
fmt_time(int64_t t, char buf[32])
{
	int64_t	days = t / 86400, rem = t % 86400, era, doe, yoe, y, doy, mp;
	int	m, d;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	/* civil_from_days (H. Hinnant), proleptic Gregorian */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (int)(doy - (153 * mp + 2) / 5 + 1);
	m = (int)(mp < 10 ? mp + 3 : mp - 9);
	y += (m <= 2);
	if (y < 0 || y > 9999) {
		av_time_format(t, buf, 32);
		return;
	}
	put_digits(buf, (int)y, 4);
	buf[4] = '-';
	put_digits(buf + 5, m, 2);
	buf[7] = '-';
	put_digits(buf + 8, d, 2);
	buf[10] = 'T';
	put_digits(buf + 11, (int)(rem / 3600), 2);
	buf[13] = ':';
	put_digits(buf + 14, (int)(rem / 60 % 60), 2);
	buf[16] = ':';
	put_digits(buf + 17, (int)(rem % 60), 2);
	buf[19] = 'Z';
	buf[20] = '\0';
}

static int
set_time(json_t *o, const char *k, int64_t t)
{
	char buf[32];

	fmt_time(t, buf);
	return json_object_set_new_nocheck(o, k, json_string_nocheck(buf));
}

/* Unix time of an ASN1_TIME; 0 when absent or bad. */
static int64_t
asn1_unix(const ASN1_TIME *a)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* Does the subject CN of x contain s? */
static bool
cn_contains(X509 *x, const char *s)
{
	char cn[256];

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn)) <= 0)
		return false;
	return strstr(cn, s) != NULL;
}

/* Does the issuer CN of x contain s? */
static bool
issuer_cn_contains(X509 *x, const char *s)
{
	char cn[256];

	if (X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName,
	    cn, sizeof(cn)) <= 0)
		return false;
	return strstr(cn, s) != NULL;
}

/*
 * Severity of a collateral problem: contraindicated under a policy that
 * requires collateral, a warning otherwise.
 */
static enum av_status
missing_severity(const struct tdx_policy *pol, bool have_policy)
{
	return (have_policy && pol->require_collateral) ?
	    AV_STATUS_CONTRAINDICATED : AV_STATUS_WARNING;
}

/* What a collateral item amounts to at the verification time. */
enum tdx_cstate {
	TDX_C_ABSENT = 0,
	TDX_C_CURRENT,		/* within issueDate/thisUpdate .. nextUpdate */
	TDX_C_GRACE,		/* expired, within the policy's grace */
	TDX_C_STALE,		/* expired beyond grace */
	TDX_C_INVALID,		/* does not verify or does not apply */
	TDX_C__NOMEM,		/* internal: allocation failed */
};

static const char *
cstate_str(enum tdx_cstate s)
{
	switch (s) {
	case TDX_C_CURRENT:
		return "current";
	case TDX_C_GRACE:
		return "expired (within grace)";
	case TDX_C_STALE:
		return "expired";
	case TDX_C_INVALID:
		return "invalid";
	case TDX_C_ABSENT:
	case TDX_C__NOMEM:
	default:
		return "missing";
	}
}

/* Names and messages per collateral item (client-safe literals). */
enum tdx_item { TDX_I_TCB_INFO, TDX_I_QE_IDENTITY, TDX_I_PCK_CRL,
    TDX_I_ROOT_CRL, TDX_I__COUNT };

static const struct {
	const char	*claim;
	const char	*missing;
	const char	*expired;
	const char	*early;
} tdx_items[TDX_I__COUNT] = {
	[TDX_I_TCB_INFO] = { "collateral.tcb_info",
	    "tdx: no TCB info for this platform (FMSPC): TCB not evaluated",
	    "tdx: TCB info past its nextUpdate",
	    "tdx: TCB info issued after the verification time" },
	[TDX_I_QE_IDENTITY] = { "collateral.qe_identity",
	    "tdx: no TD QE identity: quoting enclave not checked",
	    "tdx: QE identity past its nextUpdate",
	    "tdx: QE identity issued after the verification time" },
	[TDX_I_PCK_CRL] = { "collateral.pck_crl",
	    "tdx: no PCK CRL: PCK certificate revocation not checked",
	    "tdx: PCK CRL past its nextUpdate",
	    "tdx: PCK CRL issued after the verification time" },
	[TDX_I_ROOT_CRL] = { "collateral.root_ca_crl",
	    "tdx: no Intel SGX Root CA CRL: CA revocation not checked",
	    "tdx: Intel SGX Root CA CRL past its nextUpdate",
	    "tdx: Intel SGX Root CA CRL issued after the verification time" },
};

/* The collateral one verification works with. */
struct tdx_coll {
	struct dcap_tcb_info	*ti;
	const char		*ti_src;	/* "request", "store", "pcs" */
	STACK_OF(X509)		*ti_chain;	/* owned, may be NULL */
	struct dcap_qe_identity	*qi;
	const char		*qi_src;
	STACK_OF(X509)		*qi_chain;
	X509_CRL		*pck_crl;	/* owned */
	const char		*pck_crl_src;
	X509_CRL		*root_crl;	/* owned */
	const char		*root_crl_src;
	STACK_OF(X509)		*store_certs;	/* borrowed certs (sk_X509_free) */
};

static void
tdx_coll_cleanup(struct tdx_coll *c)
{
	dcap_tcb_info_free(c->ti);
	dcap_qe_identity_free(c->qi);
	sk_X509_pop_free(c->ti_chain, X509_free);
	sk_X509_pop_free(c->qi_chain, X509_free);
	X509_CRL_free(c->pck_crl);
	X509_CRL_free(c->root_crl);
	sk_X509_free(c->store_certs);
	memset(c, 0, sizeof(*c));
}

/* PEM text to a stack (owned), or NULL. */
static STACK_OF(X509) *
pem_chain(const char *s)
{
	if (s == NULL)
		return NULL;
	return certs_parse((const uint8_t *)s, strlen(s));
}

/* Is fmspc (bytes) equal to the hex string h (either case)? */
static bool
fmspc_hex_eq(const uint8_t fmspc[DCAP_FMSPC_LEN], const json_t *h)
{
	uint8_t b[DCAP_FMSPC_LEN];

	return json_is_string(h) && json_string_length(h) == 12 &&
	    av_hex_decode_fixed(json_string_value(h), b, sizeof(b)) == 0 &&
	    memcmp(b, fmspc, sizeof(b)) == 0;
}

/*
 * Rank two candidate documents: one current at now beats one that is
 * not; then the higher tcbEvaluationDataNumber, then the later nextUpdate.
 */
static bool
better(int64_t now, int64_t iss, int64_t next, int64_t eval, bool have,
    int64_t biss, int64_t bnext, int64_t beval)
{
	bool cur = iss <= now && now < next, bcur;

	if (!have)
		return true;
	bcur = biss <= now && now < bnext;
	if (cur != bcur)
		return cur;
	if (eval != beval)
		return eval > beval;
	return next > bnext;
}

static int64_t
jtime(const json_t *o, const char *k)
{
	int64_t t = 0;

	if (!json_is_string(json_object_get(o, k)) ||
	    av_time_parse(json_string_value(json_object_get(o, k)), &t) != 0)
		return 0;
	return t;
}

/*
 * The best TDX TCB info for fmspc in the store (served documents, or
 * dcap-qvl style bundles with "tcb_info" + "tcb_info_signature").
 */
static int
store_tcb_info(struct av_collateral *coll, const uint8_t *fmspc, int64_t now,
    struct tdx_coll *c, struct av_err *e)
{
	const struct av_coll_blob	*b, *best = NULL;
	json_t				*bti = NULL;
	int64_t				 bi = 0, bn = 0, be = 0;

	for (size_t i = 0; (b = av_collateral_get(coll, AV_COLL_JSON, i)) !=
	    NULL; i++) {
		json_t	*ti = json_object_get(b->json, "tcbInfo");
		json_t	*tmp = NULL;

		if (ti == NULL && json_is_string(json_object_get(b->json,
		    "tcb_info")) && json_is_string(json_object_get(b->json,
		    "tcb_info_signature"))) {
			const json_t *s = json_object_get(b->json, "tcb_info");

			tmp = json_loadb(json_string_value(s),
			    json_string_length(s), 0, NULL);
			ti = tmp;
		}
		if (!json_is_object(ti) || !json_is_string(json_object_get(ti,
		    "id")) || strcmp(json_string_value(json_object_get(ti,
		    "id")), "TDX") != 0 ||
		    !fmspc_hex_eq(fmspc, json_object_get(ti, "fmspc"))) {
			json_decref(tmp);
			continue;
		}
		if (better(now, jtime(ti, "issueDate"), jtime(ti, "nextUpdate"),
		    json_integer_value(json_object_get(ti,
		    "tcbEvaluationDataNumber")), best != NULL, bi, bn, be)) {
			best = b;
			bi = jtime(ti, "issueDate");
			bn = jtime(ti, "nextUpdate");
			be = json_integer_value(json_object_get(ti,
			    "tcbEvaluationDataNumber"));
			bti = (tmp != NULL) ? b->json : NULL;
		}
		json_decref(tmp);
	}
	if (best == NULL)
		return 0;
	if (bti != NULL) {
		const json_t *s = json_object_get(bti, "tcb_info");

		if (tcb_info_parse((const uint8_t *)json_string_value(s),
		    json_string_length(s), json_string_value(json_object_get(bti,
		    "tcb_info_signature")), &c->ti, e) != 0)
			return -1;
		c->ti_chain = pem_chain(json_string_value(json_object_get(bti,
		    "tcb_info_issuer_chain")));
	} else if (tcb_info_parse(best->data, best->len, NULL, &c->ti,
	    e) != 0)
		return -1;
	c->ti_src = "store";
	return 0;
}

/* The best TD_QE identity in the store. */
static int
store_qe_identity(struct av_collateral *coll, int64_t now, struct tdx_coll *c,
    struct av_err *e)
{
	const struct av_coll_blob	*b, *best = NULL;
	json_t				*bqi = NULL;
	int64_t				 bi = 0, bn = 0, be = 0;

	for (size_t i = 0; (b = av_collateral_get(coll, AV_COLL_JSON, i)) !=
	    NULL; i++) {
		json_t	*qi = json_object_get(b->json, "enclaveIdentity");
		json_t	*tmp = NULL;

		if (qi == NULL && json_is_string(json_object_get(b->json,
		    "qe_identity")) && json_is_string(json_object_get(b->json,
		    "qe_identity_signature"))) {
			const json_t *s = json_object_get(b->json,
			    "qe_identity");

			tmp = json_loadb(json_string_value(s),
			    json_string_length(s), 0, NULL);
			qi = tmp;
		}
		if (!json_is_object(qi) || !json_is_string(json_object_get(qi,
		    "id")) || strcmp(json_string_value(json_object_get(qi,
		    "id")), "TD_QE") != 0) {
			json_decref(tmp);
			continue;
		}
		if (better(now, jtime(qi, "issueDate"), jtime(qi, "nextUpdate"),
		    json_integer_value(json_object_get(qi,
		    "tcbEvaluationDataNumber")), best != NULL, bi, bn, be)) {
			best = b;
			bi = jtime(qi, "issueDate");
			bn = jtime(qi, "nextUpdate");
			be = json_integer_value(json_object_get(qi,
			    "tcbEvaluationDataNumber"));
			bqi = (tmp != NULL) ? b->json : NULL;
		}
		json_decref(tmp);
	}
	if (best == NULL)
		return 0;
	if (bqi != NULL) {
		const json_t *s = json_object_get(bqi, "qe_identity");

		if (qe_identity_parse((const uint8_t *)json_string_value(s),
		    json_string_length(s), json_string_value(json_object_get(bqi,
		    "qe_identity_signature")), &c->qi, e) != 0)
			return -1;
		c->qi_chain = pem_chain(json_string_value(json_object_get(bqi,
		    "qe_identity_issuer_chain")));
	} else if (qe_identity_parse(best->data, best->len, NULL, &c->qi,
	    e) != 0)
		return -1;
	c->qi_src = "store";
	return 0;
}

/*
 * The best CRL in the store issued by `issuer`: current at now first,
 * then the latest thisUpdate.  New reference or NULL.
 */
static X509_CRL *
store_crl(struct av_collateral *coll, const X509_NAME *issuer, int64_t now)
{
	STACK_OF(X509_CRL)	*crls;
	X509_CRL		*best = NULL;
	int64_t			 bl = 0, bn = 0;

	if ((crls = av_collateral_crls(coll)) == NULL)
		return NULL;
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL	*crl = sk_X509_CRL_value(crls, i);
		int64_t		 l, n;

		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) != 0)
			continue;
		l = asn1_unix(X509_CRL_get0_lastUpdate(crl));
		n = asn1_unix(X509_CRL_get0_nextUpdate(crl));
		if (better(now, l, n, l, best != NULL, bl, bn, bl)) {
			best = crl;
			bl = l;
			bn = n;
		}
	}
	if (best != NULL)
		X509_CRL_up_ref(best);
	sk_X509_CRL_free(crls);
	return best;
}

/* A CRL companion (PEM, hex or base64 DER). */
static X509_CRL *
comp_crl(const char *s)
{
	if (s == NULL)
		return NULL;
	return crl_parse((const uint8_t *)s, strlen(s));
}

/* Record that a collateral document did not parse. */
static void
bad_doc(struct av_submod *sm, enum tdx_item it, const struct av_err *ce,
    enum tdx_cstate st[TDX_I__COUNT])
{
	av_submod_reason(sm, ce->code, AV_STATUS_CONTRAINDICATED,
	    tdx_items[it].claim, NULL, NULL, ce->reason);
	st[it] = TDX_C_INVALID;
}

/*
 * Gather collateral: request companions, then the store, then Intel PCS
 * (through the collateral cache; offline means cache only).  A document
 * that does not parse is recorded (collateral_invalid) and not looked for
 * elsewhere; what cannot be found stays NULL.  Returns 0, or -1 with e on
 * allocation failure.
 */
static int
gather(struct tdx_quote *q, const struct av_ctx *ctx, X509 *root,
    struct tdx_coll *c, enum tdx_cstate st[TDX_I__COUNT],
    struct av_submod *sm, struct av_err *e)
{
	struct tdx_companions	*k = &q->comp;
	struct av_pcs_doc	 d;
	struct av_err		 fe = { 0 }, pe = { 0 };
	const struct av_coll_fetch_cfg *fc;
	const char		*ca;

	memset(c, 0, sizeof(*c));
	/* 1. the request */
	if (k->tcb_info != NULL) {
		c->ti_src = "request";
		if (tcb_info_parse((const uint8_t *)k->tcb_info,
		    strlen(k->tcb_info), k->tcb_info_sig, &c->ti, &pe) != 0)
			bad_doc(sm, TDX_I_TCB_INFO, &pe, st);
		else
			c->ti_chain = pem_chain(k->tcb_info_chain);
	}
	if (k->qe_identity != NULL) {
		c->qi_src = "request";
		if (qe_identity_parse((const uint8_t *)k->qe_identity,
		    strlen(k->qe_identity), k->qe_identity_sig, &c->qi,
		    &pe) != 0)
			bad_doc(sm, TDX_I_QE_IDENTITY, &pe, st);
		else
			c->qi_chain = pem_chain(k->qe_identity_chain);
	}
	if (k->pck_crl != NULL) {
		c->pck_crl_src = "request";
		if ((c->pck_crl = comp_crl(k->pck_crl)) == NULL) {
			AV_FAIL(&pe, AV_E_COLLATERAL_INVALID,
			    "tdx: collateral.pck_crl is not a CRL");
			bad_doc(sm, TDX_I_PCK_CRL, &pe, st);
		}
	}
	if (k->root_ca_crl != NULL) {
		c->root_crl_src = "request";
		if ((c->root_crl = comp_crl(k->root_ca_crl)) == NULL) {
			AV_FAIL(&pe, AV_E_COLLATERAL_INVALID,
			    "tdx: collateral.root_ca_crl is not a CRL");
			bad_doc(sm, TDX_I_ROOT_CRL, &pe, st);
		}
	}
	if (ctx->coll == NULL)
		return 0;

	/* 2. the store */
	c->store_certs = av_collateral_certs(ctx->coll);
	if (c->ti == NULL && st[TDX_I_TCB_INFO] == TDX_C_ABSENT &&
	    store_tcb_info(ctx->coll, q->pck_ext.fmspc, ctx->now, c,
	    &pe) != 0) {
		if (pe.code == AV_E_NOMEM)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		c->ti_src = "store";
		bad_doc(sm, TDX_I_TCB_INFO, &pe, st);
	}
	if (c->qi == NULL && st[TDX_I_QE_IDENTITY] == TDX_C_ABSENT &&
	    store_qe_identity(ctx->coll, ctx->now, c, &pe) != 0) {
		if (pe.code == AV_E_NOMEM)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		c->qi_src = "store";
		bad_doc(sm, TDX_I_QE_IDENTITY, &pe, st);
	}
	if (c->pck_crl == NULL && st[TDX_I_PCK_CRL] == TDX_C_ABSENT &&
	    (c->pck_crl = store_crl(ctx->coll, X509_get_issuer_name(q->pck),
	    ctx->now)) != NULL)
		c->pck_crl_src = "store";
	if (c->root_crl == NULL && st[TDX_I_ROOT_CRL] == TDX_C_ABSENT &&
	    root != NULL && (c->root_crl = store_crl(ctx->coll,
	    X509_get_subject_name(root), ctx->now)) != NULL)
		c->root_crl_src = "store";

	/* 3. Intel PCS / PCCS (or its cached copies), if either can answer */
	fc = av_collateral_cfg(ctx->coll);
	if (fc == NULL || (!fc->online && fc->cache_dir == NULL))
		return 0;
	if (c->ti == NULL && st[TDX_I_TCB_INFO] == TDX_C_ABSENT &&
	    av_pcs_tcb_info(ctx->coll, "tdx", q->pck_ext.fmspc, ctx->now, &d,
	    &fe) == 0) {
		c->ti_src = "pcs";
		if (tcb_info_parse(d.body, d.len, NULL, &c->ti, &pe) != 0)
			bad_doc(sm, TDX_I_TCB_INFO, &pe, st);
		else
			c->ti_chain = pem_chain(d.chain);
		av_pcs_doc_cleanup(&d);
	}
	if (c->qi == NULL && st[TDX_I_QE_IDENTITY] == TDX_C_ABSENT &&
	    av_pcs_qe_identity(ctx->coll, "tdx", ctx->now, &d, &fe) == 0) {
		c->qi_src = "pcs";
		if (qe_identity_parse(d.body, d.len, NULL, &c->qi,
		    &pe) != 0)
			bad_doc(sm, TDX_I_QE_IDENTITY, &pe, st);
		else
			c->qi_chain = pem_chain(d.chain);
		av_pcs_doc_cleanup(&d);
	}
	ca = issuer_cn_contains(q->pck, "Processor") ? "processor" : "platform";
	if (c->pck_crl == NULL && st[TDX_I_PCK_CRL] == TDX_C_ABSENT &&
	    av_pcs_pck_crl(ctx->coll, ca, ctx->now, &d, &fe) == 0) {
		c->pck_crl_src = "pcs";
		if ((c->pck_crl = crl_parse(d.body, d.len)) == NULL) {
			AV_FAIL(&pe, AV_E_COLLATERAL_INVALID,
			    "tdx: PCS returned a PCK CRL that does not parse");
			bad_doc(sm, TDX_I_PCK_CRL, &pe, st);
		}
		av_pcs_doc_cleanup(&d);
	}
	if (c->root_crl == NULL && st[TDX_I_ROOT_CRL] == TDX_C_ABSENT &&
	    av_pcs_root_ca_crl(ctx->coll, ctx->now, &d, &fe) == 0) {
		c->root_crl_src = "pcs";
		if ((c->root_crl = crl_parse(d.body, d.len)) == NULL) {
			AV_FAIL(&pe, AV_E_COLLATERAL_INVALID, "tdx: PCS "
			    "returned a root CA CRL that does not parse");
			bad_doc(sm, TDX_I_ROOT_CRL, &pe, st);
		}
		av_pcs_doc_cleanup(&d);
	}
	return 0;
}

/* ---- signed collateral -------------------------------------------------- */

enum tdx_doc { TDX_DOC_TCB_INFO, TDX_DOC_QE_IDENTITY };

/* Re-state a signer-chain failure in words about the document. */
static int
signer_fail(enum tdx_doc which, const struct av_err *ce, struct av_err *e)
{
	bool ti = (which == TDX_DOC_TCB_INFO);

	switch (ce->code) {
	case AV_E_CERT_TIME:
		return ti ? AV_FAIL(e, AV_E_CERT_TIME, "tdx: TCB info signing "
		    "certificate not valid at the verification time") :
		    AV_FAIL(e, AV_E_CERT_TIME, "tdx: QE identity signing "
		    "certificate not valid at the verification time");
	case AV_E_UNTRUSTED_ROOT:
		return ti ? AV_FAIL(e, AV_E_UNTRUSTED_ROOT, "tdx: TCB info "
		    "signer does not chain to the Intel SGX Root CA") :
		    AV_FAIL(e, AV_E_UNTRUSTED_ROOT, "tdx: QE identity signer "
		    "does not chain to the Intel SGX Root CA");
	case AV_E_CERT_REVOKED:
		return ti ? AV_FAIL(e, AV_E_CERT_REVOKED,
		    "tdx: TCB info signing certificate revoked") :
		    AV_FAIL(e, AV_E_CERT_REVOKED,
		    "tdx: QE identity signing certificate revoked");
	case AV_E_NOMEM:
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	default:
		return ti ? AV_FAIL(e, AV_E_CHAIN,
		    "tdx: TCB info signing chain invalid") :
		    AV_FAIL(e, AV_E_CHAIN,
		    "tdx: QE identity signing chain invalid");
	}
}

/*
 * Verify a signed document: a TCB signing certificate (from the
 * document's issuer chain, else from the store) that chains to the Intel
 * SGX Root CA at time `at` and whose key verifies the signature.  When
 * root_crl is given (and current) the signer is checked against it.
 * Returns 0, or -1 with e (chain codes; AV_E_COLLATERAL_INVALID for a
 * signature that does not verify; AV_E_COLLATERAL_MISSING for no signer).
 */
static int
verify_signed(enum tdx_doc which, const struct dcap_signed *doc,
    STACK_OF(X509) *chain, STACK_OF(X509) *store_certs, X509 *root,
    const struct av_ctx *ctx, int64_t at, X509_CRL *root_crl,
    struct av_err *e)
{
	STACK_OF(X509)		*untrusted = NULL, *cands = NULL;
	STACK_OF(X509_CRL)	*crls = NULL;
	struct av_chain_opts	 opts = { .platform = "tdx" };
	struct av_err		 ce = { 0 }, first = { 0 };
	bool			 have_err = false, sig_bad = false;
	int			 rc = -1;

	if ((untrusted = sk_X509_new_null()) == NULL ||
	    (cands = sk_X509_new_null()) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (sk_X509_push(untrusted, x) <= 0 ||
		    (cn_contains(x, "TCB Signing") &&
		    sk_X509_push(cands, x) <= 0)) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
	}
	for (int i = 0; i < sk_X509_num(store_certs); i++) {
		X509 *x = sk_X509_value(store_certs, i);

		if (cn_contains(x, "TCB Signing") &&
		    sk_X509_push(cands, x) <= 0) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (root != NULL && sk_X509_push(untrusted, root) <= 0) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (root_crl != NULL) {
		if ((crls = sk_X509_CRL_new_null()) == NULL ||
		    sk_X509_CRL_push(crls, root_crl) <= 0) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		opts.crls = crls;
		opts.crl_check = true;
	}
	for (int i = 0; i < sk_X509_num(cands); i++) {
		X509		*x = sk_X509_value(cands, i);
		EVP_PKEY	*pk = X509_get0_pubkey(x);

		/* cheap first: does this key sign the document? */
		if (pk == NULL || dcap_signed_verify(doc, pk, &ce) != 0) {
			sig_bad = true;
			continue;
		}
		if (av_chain_verify(ctx->trust, x, untrusted, at, &opts, NULL,
		    &ce) != 0) {
			if (ce.code == AV_E_NOMEM) {
				AV_FAIL(e, AV_E_NOMEM, "out of memory");
				goto out;
			}
			if (!have_err)
				first = ce;
			have_err = true;
			continue;
		}
		rc = 0;
		goto out;
	}
	if (have_err)
		signer_fail(which, &first, e);
	else if (sig_bad)
		which == TDX_DOC_TCB_INFO ? AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: TCB info signature invalid") :
		    AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "tdx: QE identity signature invalid");
	else
		which == TDX_DOC_TCB_INFO ? AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "tdx: no TCB signing certificate for the TCB info") :
		    AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "tdx: no TCB signing certificate for the QE identity");
 out:
	sk_X509_CRL_free(crls);
	sk_X509_free(cands);
	sk_X509_free(untrusted);
	return rc;
}

/* ---- collateral checks --------------------------------------------------- */

/*
 * Judge an item's dates.  *at is the time to check its signer at (now,
 * or just before nextUpdate within a grace period).  Records reasons.
 */
static enum tdx_cstate
judge_dates(enum tdx_item it, int64_t issue, int64_t next,
    const struct av_ctx *ctx, const struct tdx_policy *pol, struct av_submod *sm,
    int64_t *at)
{
	char a[32], b[32];

	*at = ctx->now;
	if (issue > ctx->now) {
		av_time_format(issue, a, sizeof(a));
		av_time_format(ctx->now, b, sizeof(b));
		av_submod_reason(sm, AV_E_COLLATERAL_INVALID,
		    AV_STATUS_CONTRAINDICATED, tdx_items[it].claim,
		    json_string(a), json_string(b), tdx_items[it].early);
		return TDX_C_INVALID;
	}
	if (next == 0 || ctx->now < next)
		return TDX_C_CURRENT;
	av_time_format(next, a, sizeof(a));
	av_time_format(ctx->now, b, sizeof(b));
	if (pol->collateral_grace_s > 0 &&
	    ctx->now < next + pol->collateral_grace_s) {
		av_submod_reason(sm, AV_E_COLLATERAL_EXPIRED, AV_STATUS_WARNING,
		    tdx_items[it].claim, json_string(a), json_string(b),
		    tdx_items[it].expired);
		*at = next - 1;
		return TDX_C_GRACE;
	}
	av_submod_reason(sm, AV_E_COLLATERAL_EXPIRED, AV_STATUS_CONTRAINDICATED,
	    tdx_items[it].claim, json_string(a), json_string(b),
	    tdx_items[it].expired);
	return TDX_C_STALE;
}

/* Record an av_err as a reason about a collateral item. */
static void
item_fail(struct av_submod *sm, enum tdx_item it, const struct av_err *ce)
{
	av_submod_reason(sm, ce->code, AV_STATUS_CONTRAINDICATED,
	    tdx_items[it].claim, NULL, NULL, ce->reason);
}

/* A CRL's dates and issuer. */
static enum tdx_cstate
judge_crl(enum tdx_item it, X509_CRL *crl, const X509_NAME *issuer,
    const struct av_ctx *ctx, const struct tdx_policy *pol,
    struct av_submod *sm)
{
	int64_t at;

	if (crl == NULL)
		return TDX_C_ABSENT;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) != 0) {
		av_submod_reason(sm, AV_E_COLLATERAL_INVALID,
		    AV_STATUS_CONTRAINDICATED, tdx_items[it].claim, NULL, NULL,
		    it == TDX_I_PCK_CRL ?
		    "tdx: PCK CRL is not from the PCK certificate's issuer" :
		    "tdx: root CA CRL is not from the Intel SGX Root CA");
		return TDX_C_INVALID;
	}
	return judge_dates(it, asn1_unix(X509_CRL_get0_lastUpdate(crl)),
	    asn1_unix(X509_CRL_get0_nextUpdate(crl)), ctx, pol, sm, &at);
}

/*
 * Revocation of the PCK chain (QVL 4.1.2.4.6-7): with both CRLs current,
 * through av_chain_verify (cached); otherwise each CRL at hand is checked
 * on its own.  A revoked certificate is fatal (-1, AV_E_CERT_REVOKED);
 * everything else is recorded in sm.
 */
static int
revocation(struct tdx_quote *q, const struct av_ctx *ctx,
    const struct tdx_policy *pol, bool have_policy, STACK_OF(X509) *chain,
    struct tdx_coll *c, enum tdx_cstate st[TDX_I__COUNT], struct av_submod *sm,
    struct av_err *e)
{
	X509			*inter = sk_X509_value(chain, 1);
	X509			*root = sk_X509_value(chain, sk_X509_num(chain) - 1);
	STACK_OF(X509_CRL)	*crls = NULL;
	struct av_chain_opts	 opts = { .platform = "tdx", .crl_check = true };
	struct av_err		 ce = { 0 };
	int			 rc = -1;

	if (st[TDX_I_PCK_CRL] != TDX_C_INVALID)
		st[TDX_I_PCK_CRL] = judge_crl(TDX_I_PCK_CRL, c->pck_crl,
		    X509_get_issuer_name(q->pck), ctx, pol, sm);
	if (st[TDX_I_ROOT_CRL] != TDX_C_INVALID)
		st[TDX_I_ROOT_CRL] = judge_crl(TDX_I_ROOT_CRL, c->root_crl,
		    X509_get_subject_name(root), ctx, pol, sm);
	for (int it = TDX_I_PCK_CRL; it <= TDX_I_ROOT_CRL; it++)
		if (st[it] == TDX_C_ABSENT)
			av_submod_reason(sm, AV_E_COLLATERAL_MISSING,
			    missing_severity(pol, have_policy),
			    tdx_items[it].claim, NULL, NULL,
			    tdx_items[it].missing);
	if (st[TDX_I_PCK_CRL] == TDX_C_CURRENT &&
	    st[TDX_I_ROOT_CRL] == TDX_C_CURRENT) {
		if ((crls = sk_X509_CRL_new_null()) == NULL ||
		    sk_X509_CRL_push(crls, c->pck_crl) <= 0 ||
		    sk_X509_CRL_push(crls, c->root_crl) <= 0) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		opts.crls = crls;
		if (av_chain_verify(ctx->trust, q->pck, q->pck_chain, ctx->now,
		    &opts, NULL, &ce) == 0) {
			rc = 0;
			goto out;
		}
		if (ce.code == AV_E_CERT_REVOKED) {
			AV_FAIL(e, AV_E_CERT_REVOKED,
			    "tdx: PCK certificate chain revoked");
			goto out;
		}
		if (ce.code == AV_E_NOMEM) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		/* say which CRL is wrong: check them one at a time below */
	}
	/* One CRL at a time: signature by its issuer, then the entry. */
	for (int it = TDX_I_PCK_CRL; it <= TDX_I_ROOT_CRL; it++) {
		X509_CRL	*crl = (it == TDX_I_PCK_CRL) ? c->pck_crl :
				    c->root_crl;
		X509		*iss = (it == TDX_I_PCK_CRL) ? inter : root;
		X509		*subj = (it == TDX_I_PCK_CRL) ? q->pck : inter;
		X509_REVOKED	*rev = NULL;

		if (st[it] != TDX_C_CURRENT && st[it] != TDX_C_GRACE)
			continue;
		if (X509_CRL_verify(crl, X509_get0_pubkey(iss)) != 1) {
			ERR_clear_error();
			av_submod_reason(sm, AV_E_COLLATERAL_INVALID,
			    AV_STATUS_CONTRAINDICATED, tdx_items[it].claim,
			    NULL, NULL, it == TDX_I_PCK_CRL ?
			    "tdx: PCK CRL signature invalid" :
			    "tdx: root CA CRL signature invalid");
			st[it] = TDX_C_INVALID;
			continue;
		}
		if (X509_CRL_get0_by_cert(crl, &rev, subj) == 1) {
			it == TDX_I_PCK_CRL ? AV_FAIL(e, AV_E_CERT_REVOKED,
			    "tdx: PCK certificate revoked") :
			    AV_FAIL(e, AV_E_CERT_REVOKED,
			    "tdx: PCK CA certificate revoked");
			goto out;
		}
	}
	if (ce.code != AV_OK && st[TDX_I_PCK_CRL] != TDX_C_INVALID &&
	    st[TDX_I_ROOT_CRL] != TDX_C_INVALID) {
		/* the chain check failed for a reason the CRLs alone miss */
		av_submod_reason(sm, ce.code, AV_STATUS_CONTRAINDICATED,
		    "collateral.crl", NULL, NULL, ce.reason);
		st[TDX_I_PCK_CRL] = st[TDX_I_ROOT_CRL] = TDX_C_INVALID;
	}
	rc = 0;
 out:
	sk_X509_CRL_free(crls);
	return rc;
}

/* TCB info: kind, dates, signer, FMSPC/PCE-ID (QVL 4.1.2.4.9-10). */
static enum tdx_cstate
check_tcb_info(struct tdx_quote *q, const struct av_ctx *ctx,
    const struct tdx_policy *pol, struct tdx_coll *c, X509 *root,
    enum tdx_cstate root_crl_st, struct av_submod *sm, struct av_err *e)
{
	const struct dcap_tcb_info	*ti = c->ti;
	struct av_err			 ce = { 0 };
	enum tdx_cstate			 st;
	int64_t				 at;

	if (strcmp(ti->id, "TDX") != 0 || ti->version != 3) {
		av_submod_reason(sm, AV_E_COLLATERAL_INVALID,
		    AV_STATUS_CONTRAINDICATED, tdx_items[TDX_I_TCB_INFO].claim,
		    NULL, NULL, "tdx: TCB info is not a TDX TCB info v3");
		return TDX_C_INVALID;
	}
	st = judge_dates(TDX_I_TCB_INFO, ti->issue_date, ti->next_update, ctx,
	    pol, sm, &at);
	if (st != TDX_C_CURRENT && st != TDX_C_GRACE)
		return st;
	if (verify_signed(TDX_DOC_TCB_INFO, &ti->doc, c->ti_chain,
	    c->store_certs, root, ctx, at, root_crl_st == TDX_C_CURRENT ?
	    c->root_crl : NULL, &ce) != 0) {
		if (ce.code == AV_E_NOMEM) {
			*e = ce;
			return TDX_C__NOMEM;
		}
		item_fail(sm, TDX_I_TCB_INFO, &ce);
		return TDX_C_INVALID;
	}
	if (memcmp(ti->fmspc, q->pck_ext.fmspc, DCAP_FMSPC_LEN) != 0) {
		av_submod_reason(sm, AV_E_COLLATERAL_INVALID,
		    AV_STATUS_CONTRAINDICATED, "fmspc",
		    hex_json(ti->fmspc, DCAP_FMSPC_LEN),
		    hex_json(q->pck_ext.fmspc, DCAP_FMSPC_LEN),
		    "tdx: TCB info FMSPC does not match the PCK certificate");
		return TDX_C_INVALID;
	}
	if (memcmp(ti->pceid, q->pck_ext.pceid, DCAP_PCEID_LEN) != 0) {
		av_submod_reason(sm, AV_E_COLLATERAL_INVALID,
		    AV_STATUS_CONTRAINDICATED, "pceid",
		    hex_json(ti->pceid, DCAP_PCEID_LEN),
		    hex_json(q->pck_ext.pceid, DCAP_PCEID_LEN),
		    "tdx: TCB info PCE-ID does not match the PCK certificate");
		return TDX_C_INVALID;
	}
	return st;
}

static const char *const qe_mismatch_claim[] = {
	[DCAP_QE_OK] = "qe",
	[DCAP_QE_MISCSELECT] = "qe.miscselect",
	[DCAP_QE_ATTRIBUTES] = "qe.attributes",
	[DCAP_QE_MRSIGNER] = "qe.mrsigner",
	[DCAP_QE_ISVPRODID] = "qe.isvprodid",
};

/* QE identity: kind, dates, signer, then the QE report against it. */
static enum tdx_cstate
check_qe_identity(struct tdx_quote *q, const struct av_ctx *ctx,
    const struct tdx_policy *pol, struct tdx_coll *c, X509 *root,
    enum tdx_cstate root_crl_st, struct av_submod *sm, struct av_err *e)
{
	const struct dcap_qe_identity	*qi = c->qi;
	struct av_err			 ce = { 0 };
	enum tdx_cstate			 st;
	int64_t				 at;
	json_t				*exp = NULL, *act = NULL;

	if (strcmp(qi->id, "TD_QE") != 0 || qi->version != 2) {
		av_submod_reason(sm, AV_E_QE_IDENTITY, AV_STATUS_CONTRAINDICATED,
		    tdx_items[TDX_I_QE_IDENTITY].claim, NULL, NULL,
		    "tdx: QE identity is not a TD_QE identity v2");
		return TDX_C_INVALID;
	}
	st = judge_dates(TDX_I_QE_IDENTITY, qi->issue_date, qi->next_update,
	    ctx, pol, sm, &at);
	if (st != TDX_C_CURRENT && st != TDX_C_GRACE)
		return st;
	if (verify_signed(TDX_DOC_QE_IDENTITY, &qi->doc, c->qi_chain,
	    c->store_certs, root, ctx, at, root_crl_st == TDX_C_CURRENT ?
	    c->root_crl : NULL, &ce) != 0) {
		if (ce.code == AV_E_NOMEM) {
			*e = ce;
			return TDX_C__NOMEM;
		}
		item_fail(sm, TDX_I_QE_IDENTITY, &ce);
		return TDX_C_INVALID;
	}
	dcap_qe_identity_check(qi, &q->qe_report, &q->v.qe);
	q->v.has_qe = true;
	if (q->v.qe.mismatch == DCAP_QE_OK)
		return st;
	switch (q->v.qe.mismatch) {
	case DCAP_QE_MISCSELECT: {
		char a[16], b[16];

		snprintf(a, sizeof(a), "%08x", qi->miscselect);
		snprintf(b, sizeof(b), "%08x", q->qe_report.miscselect);
		exp = json_string(a);
		act = json_string(b);
		break;
	}
	case DCAP_QE_ATTRIBUTES:
		exp = hex_json(qi->attributes, 16);
		act = hex_json(q->qe_report.attributes, 16);
		break;
	case DCAP_QE_MRSIGNER:
		exp = hex_json(qi->mrsigner, 32);
		act = hex_json(q->qe_report.mrsigner, 32);
		break;
	case DCAP_QE_ISVPRODID:
	default:
		exp = json_integer(qi->isvprodid);
		act = json_integer(q->qe_report.isvprodid);
		break;
	}
	av_submod_reason(sm, AV_E_QE_IDENTITY, AV_STATUS_CONTRAINDICATED,
	    qe_mismatch_claim[q->v.qe.mismatch], exp, act,
	    "tdx: quoting enclave does not match Intel's TD QE identity");
	return TDX_C_INVALID;
}

/* ---- TCB status ----------------------------------------------------------- */

/*
 * When the platform fell behind: the earliest tcbDate newer than the
 * matched level's (the first TCB recovery it missed), else the TCB info
 * issue date.
 */
static int64_t
out_of_date_since(const struct dcap_tcb_info *ti, const struct dcap_tcb_result *r)
{
	int	 idx = (r->tdx_level >= 0) ? r->tdx_level : r->sgx_level;
	int64_t	 mine, since = 0;

	if (idx < 0)
		return ti->issue_date;
	mine = ti->levels[idx].tcb_date;
	for (size_t i = 0; i < ti->nlevels; i++) {
		int64_t d = ti->levels[i].tcb_date;

		if (d > mine && (since == 0 || d < since))
			since = d;
	}
	return since != 0 ? since : ti->issue_date;
}

static bool
json_has_string(const json_t *arr, const char *s)
{
	size_t		 i;
	const json_t	*v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* Statuses a policy accepts, as a JSON array (for reasons). */
static json_t *
accepted_json(unsigned ok)
{
	json_t *a = json_array();

	for (int s = DCAP_TCB_UP_TO_DATE; s < DCAP_TCB__COUNT; s++)
		if (ok & (1u << s))
			json_array_append_new(a,
			    json_string(dcap_tcb_status_str(s)));
	return a;
}

/* {"status", "components" (what is behind), "advisory_ids"}. */
static json_t *
tcb_actual(const struct dcap_tcb_result *r)
{
	json_t *o = json_object();

	json_object_set_new_nocheck(o, "status",
	    json_string(dcap_tcb_status_str(r->status)));
	json_object_set(o, "components", r->behind);
	json_object_set(o, "advisory_ids", r->advisories);
	return o;
}

/*
 * Judge the combined TCB status against the policy (or the defaults):
 * accepted statuses, advisory IDs rejected or accepted, the OutOfDate
 * grace period.  Records reasons in sm.
 */
static void
tcb_decide(struct tdx_quote *q, const struct av_ctx *ctx,
    const struct tdx_policy *pol, bool have_policy, struct av_submod *sm)
{
	const struct dcap_tcb_result	*r = &q->v.tcb;
	enum dcap_tcb_status		 st = r->status;
	bool				 ok, ood;
	size_t				 i;
	json_t				*v, *hit;

	switch (st) {
	case DCAP_TCB_NOT_SUPPORTED:
		switch (r->module_err) {
		case DCAP_MODULE_MRSIGNER:
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, "mrsignerseam", NULL,
			    hex_json(q->td.mrsignerseam, 48),
			    "tdx: TDX module not signed by Intel (MRSIGNERSEAM)");
			return;
		case DCAP_MODULE_ATTRIBUTES:
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, "seam_attributes", NULL,
			    hex_json(q->td.seam_attributes, 8),
			    "tdx: TDX module attributes not as Intel publishes");
			return;
		case DCAP_MODULE_NO_IDENTITY:
			av_submod_reason(sm, AV_E_TCB_UNSUPPORTED,
			    AV_STATUS_CONTRAINDICATED, "tcb.tdx_module",
			    NULL, json_string(r->module_id),
			    "tdx: TCB info has no identity for this TDX module");
			return;
		case DCAP_MODULE_OK:
		default:
			av_submod_reason(sm, AV_E_TCB_UNSUPPORTED,
			    AV_STATUS_CONTRAINDICATED, "tcb.status", NULL,
			    tcb_actual(r),
			    "tdx: no TCB level of the TCB info matches the "
			    "platform");
			return;
		}
	case DCAP_TCB_REVOKED:
		av_submod_reason(sm, AV_E_TCB_REVOKED, AV_STATUS_CONTRAINDICATED,
		    "tcb.status", NULL, tcb_actual(r),
		    "tdx: platform TCB is revoked");
		return;
	default:
		break;
	}

	/* Advisories the operator will not accept, whatever the status. */
	if (pol->adv_reject != NULL && (hit = json_array()) != NULL) {
		json_array_foreach(r->advisories, i, v)
			if (json_has_string(pol->adv_reject,
			    json_string_value(v)))
				json_array_append(hit, v);
		if (json_array_size(hit) > 0)
			av_submod_reason(sm, AV_E_POLICY_VIOLATION,
			    AV_STATUS_CONTRAINDICATED, "tcb.advisory_ids",
			    json_deep_copy(pol->adv_reject), hit,
			    "tdx: platform affected by an advisory the policy "
			    "rejects");
		else
			json_decref(hit);
	}
	ok = (pol->tcb_ok & (1u << st)) != 0;
	/* Not accepted by status, but every advisory is accepted. */
	if (!ok && pol->adv_accept != NULL && json_array_size(r->advisories) > 0) {
		ok = true;
		json_array_foreach(r->advisories, i, v)
			if (!json_has_string(pol->adv_accept,
			    json_string_value(v)))
				ok = false;
	}
	if (ok) {
		if (st == DCAP_TCB_UP_TO_DATE)
			av_submod_tv(sm, AV_TV_HARDWARE, AV_AR_AFFIRM);
		return;
	}
	ood = (st == DCAP_TCB_OUT_OF_DATE ||
	    st == DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
	if (ood) {
		enum av_status sev = AV_STATUS_CONTRAINDICATED;

		if (!have_policy || (pol->out_of_date_grace_s >= 0 &&
		    ctx->now < q->v.out_of_date_since + pol->out_of_date_grace_s))
			sev = AV_STATUS_WARNING;
		av_submod_reason(sm, AV_E_TCB_OUT_OF_DATE, sev, "tcb.status",
		    accepted_json(pol->tcb_ok), tcb_actual(r),
		    "tdx: platform TCB is out of date");
		return;
	}
	if (have_policy)
		av_submod_reason(sm, AV_E_POLICY_VIOLATION,
		    AV_STATUS_CONTRAINDICATED, "tcb.status",
		    accepted_json(pol->tcb_ok), tcb_actual(r),
		    "tdx: TCB status not accepted by the policy");
	else
		av_submod_tv(sm, AV_TV_HARDWARE, AV_AR_WARN);
}

/* ---- report data binding ------------------------------------------------ */

/*
 * Freshness: report_data must be SHA-512(nonce || runtime_data) or the
 * raw nonce, zero-padded (docs/platforms/tdx.md); the policy may fix the
 * rule.  Records reasons; sets the key attestation on success.
 */
static void
bind_report_data(struct tdx_quote *q, const struct av_ctx *ctx,
    const struct tdx_policy *pol, struct av_submod *sm)
{
	struct av_binding_rule	 r = {
		.claim = "report_data",
		.no_nonce_msg = "tdx: the policy requires a nonce and the "
		    "request has none",
		.nonce_msg = "tdx: report_data does not carry the nonce",
		.binding_msg = "tdx: report_data does not bind the nonce and "
		    "runtime data",
	};
	struct av_binding	 b;

	switch (pol->binding) {
	case TDX_BIND_SHA512:
		r.forms = r.forms_rt = AV_BIND_SHA512;
		r.expect = r.expect_rt = AV_BIND_SHA512;
		break;
	case TDX_BIND_RAW:
		r.forms = AV_BIND_PADDED;
		r.forms_rt = 0;
		r.expect = r.expect_rt = AV_BIND_PADDED;
		break;
	case TDX_BIND_AUTO:
	default:
		r.forms = AV_BIND_PADDED | AV_BIND_SHA512;
		r.forms_rt = AV_BIND_SHA512;
		r.expect = AV_BIND_PADDED;
		r.expect_rt = AV_BIND_SHA512;
		break;
	}
	if (!av_binding_check(ctx, q->td.report_data, 64, &r, sm, &b))
		return;
	q->v.bound = true;
	q->v.bound_sha512 = (b.matched & AV_BIND_SHA512) != 0;
	if (b.key)
		av_submod_key_attestation(sm, ctx->runtime_data,
		    ctx->runtime_data_len);
}

/* ---- verify ----------------------------------------------------------------- */

/* Re-state a PCK chain failure. */
static int
pck_chain_fail(const struct av_err *ce, struct av_err *e)
{
	switch (ce->code) {
	case AV_E_UNTRUSTED_ROOT:
		return AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
		    "tdx: PCK chain does not lead to the Intel SGX Root CA");
	case AV_E_CERT_TIME:
		return AV_FAIL(e, AV_E_CERT_TIME,
		    "tdx: PCK chain not valid at the verification time");
	case AV_E_NOMEM:
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	case AV_E_INTERNAL:
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	default:
		return AV_FAIL(e, AV_E_CHAIN, "tdx: PCK chain invalid");
	}
}

/* Describe where a collateral item came from and how it fared. */
static void
coll_claim(json_t *o, const char *key, const char *src, enum tdx_cstate st,
    int64_t issue, int64_t next, int64_t eval)
{
	json_t *c;

	if (src == NULL)
		return;
	if ((c = json_object()) == NULL)
		return;
	json_object_set_new_nocheck(c, "source", json_string(src));
	json_object_set_new_nocheck(c, "state", json_string(cstate_str(st)));
	if (issue != 0)
		set_time(c, "issue_date", issue);
	if (next != 0)
		set_time(c, "next_update", next);
	if (eval >= 0)
		json_object_set_new_nocheck(c, "tcb_evaluation_data_number",
		    json_integer(eval));
	json_object_set_new_nocheck(o, key, c);
}

/*
 * Verify a parsed quote (QVL 4.1.2.4): PCK chain, QE report signature
 * and binding, quote signature (fatal on failure), then freshness and
 * collateral (recorded in sm).  Returns 0, or -1 with e.
 */
static int
tdx_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	struct tdx_quote	*q = parsed;
	const struct tdx_policy	*pol = (policy != NULL) ? policy :
				    &tdx_default_policy;
	bool			 have_policy = (policy != NULL);
	STACK_OF(X509)		*chain = NULL;
	struct av_chain_opts	 opts = { .platform = "tdx" };
	struct av_err		 ce = { 0 };
	struct tdx_coll		 c;
	enum tdx_cstate		 st[TDX_I__COUNT] = { 0 };
	EVP_PKEY		*ak = NULL, *pk;
	X509			*root;
	uint8_t			 h[32], buf[64 + TDX_MAX_QE_AUTH];
	json_t			*cl;
	int			 rc = -1;

	memset(&c, 0, sizeof(c));
	if (q->v.done)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");

	/* 4.1.2.4.4-5: the PCK chain to the pinned Intel SGX Root CA. */
	if (!cn_contains(q->pck, "SGX PCK Certificate")) {
		AV_FAIL(e, AV_E_CHAIN, "tdx: leaf is not an SGX PCK certificate");
		goto out;
	}
	if (av_chain_verify(ctx->trust, q->pck, q->pck_chain, ctx->now, &opts,
	    &chain, &ce) != 0) {
		pck_chain_fail(&ce, e);
		goto out;
	}
	if (sk_X509_num(chain) < 2) {
		AV_FAIL(e, AV_E_CHAIN, "tdx: PCK chain too short");
		goto out;
	}
	root = sk_X509_value(chain, sk_X509_num(chain) - 1);

	/* 4.1.2.4.12: QE report signed by the PCK key. */
	if (!q->has_qe_report) {
		AV_FAIL(e, AV_E_QE_REPORT,
		    "tdx: quote carries no QE report (certification data 5)");
		goto out;
	}
	pk = X509_get0_pubkey(q->pck);
	if (pk == NULL || av_ecdsa_verify_rs(pk, EVP_sha256(),
	    q->buf + q->qe_report_off, DCAP_ENCLAVE_REPORT_LEN, q->qe_sig, 32,
	    q->qe_sig + 32, 32, &ce) != 0) {
		AV_FAIL(e, AV_E_QE_REPORT,
		    "tdx: QE report signature does not verify with the PCK key");
		goto out;
	}

	/* 4.1.2.4.13: QE report data = SHA-256(attestation key || auth). */
	memcpy(buf, q->att_key, 64);
	memcpy(buf + 64, q->buf + q->qe_auth_off, q->qe_auth_len);
	av_sha256(buf, 64 + (size_t)q->qe_auth_len, h);
	{
		static const uint8_t zero[32];

		if (!av_memeq_ct(h, q->qe_report.report_data, 32) ||
		    memcmp(q->qe_report.report_data + 32, zero, 32) != 0) {
			AV_FAIL(e, AV_E_QE_REPORT, "tdx: QE report does not "
			    "bind the attestation key");
			goto out;
		}
	}

	/* 4.1.2.4.16: quote signature by the attestation key. */
	if ((ak = att_key(q->att_key)) == NULL) {
		AV_FAIL(e, AV_E_SIGNATURE,
		    "tdx: attestation key is not a P-256 point");
		goto out;
	}
	if (av_ecdsa_verify_rs(ak, EVP_sha256(), q->buf, q->signed_len, q->sig,
	    32, q->sig + 32, 32, &ce) != 0) {
		AV_FAIL(e, AV_E_SIGNATURE, "tdx: quote signature does not "
		    "verify with the attestation key");
		goto out;
	}
	av_submod_tv(sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_RUNTIME_OPAQUE, AV_AR_ISOLATED_MEMORY);

	bind_report_data(q, ctx, pol, sm);

	/* Collateral: request, store, PCS. */
	if (gather(q, ctx, root, &c, st, sm, e) != 0)
		goto out;
	if (revocation(q, ctx, pol, have_policy, chain, &c, st, sm, e) != 0)
		goto out;
	if (c.ti == NULL && st[TDX_I_TCB_INFO] == TDX_C_ABSENT) {
		av_submod_reason(sm, AV_E_COLLATERAL_MISSING,
		    missing_severity(pol, have_policy),
		    tdx_items[TDX_I_TCB_INFO].claim, NULL,
		    hex_json(q->pck_ext.fmspc, DCAP_FMSPC_LEN),
		    tdx_items[TDX_I_TCB_INFO].missing);
	} else if (c.ti != NULL && (st[TDX_I_TCB_INFO] = check_tcb_info(q, ctx, pol, &c, root,
	    st[TDX_I_ROOT_CRL], sm, e)) == TDX_C__NOMEM)
		goto out;
	if (c.qi == NULL && st[TDX_I_QE_IDENTITY] == TDX_C_ABSENT) {
		av_submod_reason(sm, AV_E_COLLATERAL_MISSING,
		    missing_severity(pol, have_policy),
		    tdx_items[TDX_I_QE_IDENTITY].claim, NULL, NULL,
		    tdx_items[TDX_I_QE_IDENTITY].missing);
	} else if (c.qi != NULL && (st[TDX_I_QE_IDENTITY] =
	    check_qe_identity(q, ctx, pol, &c,
	    root, st[TDX_I_ROOT_CRL], sm, e)) == TDX_C__NOMEM)
		goto out;

	/* 4.1.2.4.17: TCB level, TDX module, QE; combined status. */
	if (st[TDX_I_TCB_INFO] == TDX_C_CURRENT ||
	    st[TDX_I_TCB_INFO] == TDX_C_GRACE) {
		struct dcap_tcb_input in = {
			.pck = &q->pck_ext,
			.tee_tcb_svn = q->td.tee_tcb_svn,
			.mrsignerseam = q->td.mrsignerseam,
			.seam_attributes = q->td.seam_attributes,
			.quote_version = q->version,
			.qe = (st[TDX_I_QE_IDENTITY] == TDX_C_CURRENT ||
			    st[TDX_I_QE_IDENTITY] == TDX_C_GRACE) ?
			    &q->v.qe : NULL,
		};

		if (dcap_tcb_evaluate(c.ti, &in, &q->v.tcb, e) != 0)
			goto out;
		q->v.tcb_status = q->v.tcb.status;
		q->v.tcb_eval_num = c.ti->eval_num;
		q->v.out_of_date_since = out_of_date_since(c.ti, &q->v.tcb);
		tcb_decide(q, ctx, pol, have_policy, sm);
	}
	if ((cl = json_object()) != NULL) {
		coll_claim(cl, "tcb_info", c.ti_src, st[TDX_I_TCB_INFO],
		    c.ti ? c.ti->issue_date : 0, c.ti ? c.ti->next_update : 0,
		    c.ti ? c.ti->eval_num : -1);
		coll_claim(cl, "qe_identity", c.qi_src, st[TDX_I_QE_IDENTITY],
		    c.qi ? c.qi->issue_date : 0, c.qi ? c.qi->next_update : 0,
		    c.qi ? c.qi->eval_num : -1);
		coll_claim(cl, "pck_crl", c.pck_crl_src, st[TDX_I_PCK_CRL],
		    c.pck_crl ? asn1_unix(X509_CRL_get0_lastUpdate(c.pck_crl)) :
		    0, c.pck_crl ? asn1_unix(X509_CRL_get0_nextUpdate(c.pck_crl))
		    : 0, -1);
		coll_claim(cl, "root_ca_crl", c.root_crl_src, st[TDX_I_ROOT_CRL],
		    c.root_crl ? asn1_unix(X509_CRL_get0_lastUpdate(c.root_crl))
		    : 0, c.root_crl ?
		    asn1_unix(X509_CRL_get0_nextUpdate(c.root_crl)) : 0, -1);
		q->v.collateral = cl;
	}
	q->v.done = true;
	rc = 0;
 out:
	q->v.qe.adv = NULL;	/* borrowed from c.qi, about to go */
	tdx_coll_cleanup(&c);
	EVP_PKEY_free(ak);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* ---- claims ----------------------------------------------------------------- */

static json_t *
attr_flags(uint64_t a)
{
	json_t *o = json_object();

	json_object_set_new_nocheck(o, "debug", json_boolean(a & TDX_ATTR_DEBUG));
	json_object_set_new_nocheck(o, "sept_ve_disable",
	    json_boolean(a & TDX_ATTR_SEPT_VE_DISABLE));
	json_object_set_new_nocheck(o, "pks", json_boolean(a & TDX_ATTR_PKS));
	json_object_set_new_nocheck(o, "kl", json_boolean(a & TDX_ATTR_KL));
	json_object_set_new_nocheck(o, "perfmon", json_boolean(a & TDX_ATTR_PERFMON));
	return o;
}

static json_t *
svn_array(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

static json_t *
pck_claims(const struct tdx_quote *q)
{
	const struct dcap_pck_ext	*x = &q->pck_ext;
	json_t				*o = json_object();
	char				 serial[128] = "";
	const ASN1_INTEGER		*sn = X509_get0_serialNumber(q->pck);
	BIGNUM				*bn;
	char				*hex;

	set_hex(o, "fmspc", x->fmspc, sizeof(x->fmspc));
	set_hex(o, "pceid", x->pceid, sizeof(x->pceid));
	json_object_set_new_nocheck(o, "pcesvn", json_integer(x->pcesvn));
	set_hex(o, "cpusvn", x->cpusvn, sizeof(x->cpusvn));
	json_object_set_new_nocheck(o, "comp_svns", svn_array(x->comp_svn,
	    DCAP_SVN_COUNT));
	json_object_set_new_nocheck(o, "sgx_type", json_integer(x->sgx_type));
	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		snprintf(serial, sizeof(serial), "%s", hex);
		for (char *s = serial; *s != '\0'; s++)
			if (*s >= 'A' && *s <= 'F')
				*s = (char)(*s - 'A' + 'a');
		OPENSSL_free(hex);
		json_object_set_new_nocheck(o, "serial", json_string(serial));
	}
	BN_free(bn);
	X509_NAME_get_text_by_NID(X509_get_issuer_name(q->pck), NID_commonName,
	    serial, sizeof(serial));
	json_object_set_new_nocheck(o, "issuer_cn", json_string(serial));
	ERR_clear_error();
	return o;
}

static json_t *
qe_claims(const struct tdx_quote *q)
{
	const struct dcap_enclave_report	*r = &q->qe_report;
	json_t					*o = json_object();
	char					 ms[16];

	json_object_set_new_nocheck(o, "isvsvn", json_integer(r->isvsvn));
	json_object_set_new_nocheck(o, "isvprodid", json_integer(r->isvprodid));
	set_hex(o, "mrsigner", r->mrsigner, 32);
	set_hex(o, "mrenclave", r->mrenclave, 32);
	snprintf(ms, sizeof(ms), "%08x", r->miscselect);
	json_object_set_new_nocheck(o, "miscselect", json_string(ms));
	set_hex(o, "attributes", r->attributes, 16);
	if (q->v.has_qe && q->v.qe.mismatch == DCAP_QE_OK)
		json_object_set_new_nocheck(o, "tcb_status",
		    json_string(dcap_tcb_status_str(q->v.qe.status)));
	return o;
}

static json_t *
tcb_claims(const struct tdx_quote *q)
{
	const struct dcap_tcb_result	*r = &q->v.tcb;
	json_t				*o = json_object();

	if (q->v.tcb_status == DCAP_TCB_NONE) {
		json_object_set_new_nocheck(o, "status", json_string("Unknown"));
		return o;
	}
	json_object_set_new_nocheck(o, "status",
	    json_string(dcap_tcb_status_str(r->status)));
	if (r->sgx_level >= 0)
		json_object_set_new_nocheck(o, "sgx_status",
		    json_string(dcap_tcb_status_str(r->sgx_status)));
	if (r->tdx_level >= 0)
		json_object_set_new_nocheck(o, "tdx_status",
		    json_string(dcap_tcb_status_str(r->tdx_status)));
	if (r->module_id[0] != '\0')
		json_object_set_new_nocheck(o, "tdx_module_identity",
		    json_string(r->module_id));
	if (r->module_status != DCAP_TCB_NONE)
		json_object_set_new_nocheck(o, "tdx_module_status",
		    json_string(dcap_tcb_status_str(r->module_status)));
	if (r->qe_status != DCAP_TCB_NONE)
		json_object_set_new_nocheck(o, "qe_status",
		    json_string(dcap_tcb_status_str(r->qe_status)));
	if (r->tcb_date != 0)
		set_time(o, "tcb_date", r->tcb_date);
	json_object_set_new_nocheck(o, "tcb_evaluation_data_number",
	    json_integer(q->v.tcb_eval_num));
	json_object_set(o, "advisory_ids", r->advisories);
	json_object_set(o, "out_of_date", r->behind);
	return o;
}

/* Claims from the verified quote (docs/platforms/tdx.md). */
static int
tdx_claims(const void *parsed, json_t **out, struct av_err *e)
{
	const struct tdx_quote	*q = parsed;
	const struct tdx_td_report *td = &q->td;
	json_t			*o;
	char			 k[8];

	if (!q->v.done)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if ((o = json_object()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	json_object_set_new_nocheck(o, "quote_version", json_integer(q->version));
	if (q->version >= 5)
		json_object_set_new_nocheck(o, "body_type", json_integer(q->body_type));
	json_object_set_new_nocheck(o, "tee_type", json_string("0x81"));
	set_hex(o, "qe_vendor_id", q->qe_vendor_id, 16);
	set_hex(o, "tee_tcb_svn", td->tee_tcb_svn, 16);
	set_hex(o, "mrseam", td->mrseam, 48);
	set_hex(o, "mrsignerseam", td->mrsignerseam, 48);
	set_hex(o, "seam_attributes", td->seam_attributes, 8);
	set_hex(o, "td_attributes", td->td_attributes, 8);
	json_object_set_new_nocheck(o, "td_attributes_flags",
	    attr_flags(tdx_td_attributes(q)));
	json_object_set_new_nocheck(o, "debug",
	    json_boolean(tdx_td_attributes(q) & TDX_ATTR_DEBUG));
	set_hex(o, "xfam", td->xfam, 8);
	set_hex(o, "mrtd", td->mrtd, 48);
	set_hex(o, "mrconfigid", td->mrconfigid, 48);
	set_hex(o, "mrowner", td->mrowner, 48);
	set_hex(o, "mrownerconfig", td->mrownerconfig, 48);
	for (int i = 0; i < 4; i++) {
		snprintf(k, sizeof(k), "rtmr%d", i);
		set_hex(o, k, td->rtmr[i], 48);
	}
	set_hex(o, "report_data", td->report_data, 64);
	if (td->td15) {
		set_hex(o, "tee_tcb_svn2", td->tee_tcb_svn2, 16);
		set_hex(o, "mrservicetd", td->mrservicetd, 48);
	}
	set_hex(o, "fmspc", q->pck_ext.fmspc, DCAP_FMSPC_LEN);
	json_object_set_new_nocheck(o, "pck", pck_claims(q));
	json_object_set_new_nocheck(o, "qe", qe_claims(q));
	json_object_set_new_nocheck(o, "tcb", tcb_claims(q));
	if (q->v.collateral != NULL)
		json_object_set(o, "collateral", q->v.collateral);
	if (q->v.bound)
		json_object_set_new_nocheck(o, "report_data_binding",
		    json_string(q->v.bound_sha512 ? "sha512" : "raw"));
	*out = o;
	return 0;
}

/* ---- policy compile -------------------------------------------------------- */

static void
tdx_policy_free(void *p)
{
	struct tdx_policy *pol = p;

	if (pol == NULL)
		return;
	av_hexlist_cleanup(&pol->mrtd);
	for (int i = 0; i < 4; i++)
		av_hexlist_cleanup(&pol->rtmr[i]);
	av_hexlist_cleanup(&pol->mrseam);
	av_hexlist_cleanup(&pol->mrsignerseam);
	av_hexlist_cleanup(&pol->mrconfigid);
	av_hexlist_cleanup(&pol->mrowner);
	av_hexlist_cleanup(&pol->mrownerconfig);
	av_hexlist_cleanup(&pol->mrservicetd);
	av_hexlist_cleanup(&pol->xfam);
	json_decref(pol->adv_reject);
	json_decref(pol->adv_accept);
	free(pol);
}

/* Optional key k of o, compiled as a hex list of len bytes. */
static int
pol_hex(const json_t *o, const char *k, const char *path, size_t len,
    struct av_hexlist *out, struct av_policy_err *perr)
{
	const json_t	*v = json_object_get(o, k);
	char		 sub[256];

	if (v == NULL)
		return 0;
	snprintf(sub, sizeof(sub), "%s.%s", path, k);
	return av_pol_hexlist(v, sub, len, out, perr);
}

/* An array of advisory IDs ("INTEL-SA-00837"). */
static int
pol_advisories(const json_t *v, const char *path, json_t **out,
    struct av_policy_err *perr)
{
	size_t		 i;
	const json_t	*s;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return av_policy_errf(perr, path,
		    "expected a non-empty array of advisory IDs");
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || json_string_length(s) == 0 ||
		    json_string_length(s) > 64)
			return av_policy_errf(perr, path,
			    "item %zu: expected an advisory ID string", i);
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(v, j), s))
				return av_policy_errf(perr, path,
				    "item %zu: duplicate advisory ID", i);
	}
	*out = json_deep_copy(v);
	return *out == NULL ? av_policy_errf(perr, path, "out of memory") : 0;
}

/* Optional boolean attribute bit: absent = do not care. */
static int
pol_tri(const json_t *o, const char *k, const char *path, enum dcap_tri *out,
    struct av_policy_err *perr)
{
	const json_t	*v = json_object_get(o, k);
	char		 sub[256];
	bool		 b;

	*out = DCAP_ABSENT;
	if (v == NULL)
		return 0;
	if ((size_t)snprintf(sub, sizeof(sub), "%s.%s", path, k) >= sizeof(sub))
		return av_policy_errf(perr, path, "path too long");
	if (av_pol_bool(v, sub, &b, perr) != 0)
		return -1;
	*out = b ? DCAP_TRUE : DCAP_FALSE;
	return 0;
}

/* Compile the "tdx" section (docs/platforms/tdx.md). */
static int
tdx_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	static const char *const keys[] = {
		"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrseam",
		"mrsignerseam", "mrconfigid", "mrowner", "mrownerconfig",
		"mrservicetd", "xfam", "td_attributes", "tcb_status",
		"out_of_date_grace_s", "advisory_ids", "min_tdx_module",
		"report_data", "collateral_grace_s", "require_collateral",
		NULL
	};
	static const char *const attr_keys[] = {
		"debug", "sept_ve_disable", "pks", "kl", "perfmon", NULL
	};
	static const char *const adv_keys[] = { "reject", "accept", NULL };
	static const char *const mod_keys[] = { "major", "svn", NULL };
	struct tdx_policy	*pol;
	const json_t		*v, *s;
	char			 sub[256], sub2[300];
	uint64_t		 u;
	size_t			 i;

	if ((pol = calloc(1, sizeof(*pol))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	pol->tcb_ok = 1u << DCAP_TCB_UP_TO_DATE;
	pol->out_of_date_grace_s = -1;
	pol->require_collateral = true;
	if (av_pol_keys(sec, path, keys, perr) != 0 ||
	    pol_hex(sec, "mrtd", path, 48, &pol->mrtd, perr) != 0 ||
	    pol_hex(sec, "rtmr0", path, 48, &pol->rtmr[0], perr) != 0 ||
	    pol_hex(sec, "rtmr1", path, 48, &pol->rtmr[1], perr) != 0 ||
	    pol_hex(sec, "rtmr2", path, 48, &pol->rtmr[2], perr) != 0 ||
	    pol_hex(sec, "rtmr3", path, 48, &pol->rtmr[3], perr) != 0 ||
	    pol_hex(sec, "mrseam", path, 48, &pol->mrseam, perr) != 0 ||
	    pol_hex(sec, "mrsignerseam", path, 48, &pol->mrsignerseam,
	    perr) != 0 ||
	    pol_hex(sec, "mrconfigid", path, 48, &pol->mrconfigid, perr) != 0 ||
	    pol_hex(sec, "mrowner", path, 48, &pol->mrowner, perr) != 0 ||
	    pol_hex(sec, "mrownerconfig", path, 48, &pol->mrownerconfig,
	    perr) != 0 ||
	    pol_hex(sec, "mrservicetd", path, 48, &pol->mrservicetd,
	    perr) != 0 ||
	    pol_hex(sec, "xfam", path, 8, &pol->xfam, perr) != 0)
		goto bad;

	if ((v = json_object_get(sec, "td_attributes")) != NULL) {
		enum dcap_tri dbg;

		snprintf(sub, sizeof(sub), "%s.td_attributes", path);
		if (av_pol_keys(v, sub, attr_keys, perr) != 0 ||
		    pol_tri(v, "debug", sub, &dbg, perr) != 0 ||
		    pol_tri(v, "sept_ve_disable", sub, &pol->sept_ve_disable,
		    perr) != 0 ||
		    pol_tri(v, "pks", sub, &pol->pks, perr) != 0 ||
		    pol_tri(v, "kl", sub, &pol->kl, perr) != 0 ||
		    pol_tri(v, "perfmon", sub, &pol->perfmon, perr) != 0)
			goto bad;
		pol->allow_debug = (dbg == DCAP_TRUE);
	}
	if ((v = json_object_get(sec, "tcb_status")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.tcb_status", path);
		if (!json_is_array(v) || json_array_size(v) == 0) {
			av_policy_errf(perr, sub,
			    "expected a non-empty array of TCB statuses");
			goto bad;
		}
		pol->tcb_ok = 0;
		json_array_foreach(v, i, s) {
			enum dcap_tcb_status ts = DCAP_TCB_NONE;

			if (json_is_string(s))
				ts = dcap_tcb_status_parse(json_string_value(s));
			if (ts == DCAP_TCB_NONE || ts == DCAP_TCB_REVOKED ||
			    ts == DCAP_TCB_NOT_SUPPORTED) {
				av_policy_errf(perr, sub, "item %zu: expected "
				    "one of UpToDate, SWHardeningNeeded, "
				    "ConfigurationNeeded, "
				    "ConfigurationAndSWHardeningNeeded, "
				    "OutOfDate, OutOfDateConfigurationNeeded", i);
				goto bad;
			}
			if (pol->tcb_ok & (1u << ts)) {
				av_policy_errf(perr, sub,
				    "item %zu: duplicate status", i);
				goto bad;
			}
			pol->tcb_ok |= 1u << ts;
		}
	}
	if ((v = json_object_get(sec, "out_of_date_grace_s")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.out_of_date_grace_s", path);
		if (av_pol_uint(v, sub, 10ull * 366 * 86400, &u, perr) != 0)
			goto bad;
		pol->out_of_date_grace_s = (int64_t)u;
	}
	if ((v = json_object_get(sec, "collateral_grace_s")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.collateral_grace_s", path);
		if (av_pol_uint(v, sub, 366ull * 86400, &u, perr) != 0)
			goto bad;
		pol->collateral_grace_s = (int64_t)u;
	}
	if ((v = json_object_get(sec, "require_collateral")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.require_collateral", path);
		if (av_pol_bool(v, sub, &pol->require_collateral, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "advisory_ids")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.advisory_ids", path);
		if (av_pol_keys(v, sub, adv_keys, perr) != 0)
			goto bad;
		snprintf(sub2, sizeof(sub2), "%s.reject", sub);
		if ((s = json_object_get(v, "reject")) != NULL &&
		    pol_advisories(s, sub2, &pol->adv_reject, perr) != 0)
			goto bad;
		snprintf(sub2, sizeof(sub2), "%s.accept", sub);
		if ((s = json_object_get(v, "accept")) != NULL &&
		    pol_advisories(s, sub2, &pol->adv_accept, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "min_tdx_module")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.min_tdx_module", path);
		if (av_pol_keys(v, sub, mod_keys, perr) != 0)
			goto bad;
		snprintf(sub2, sizeof(sub2), "%s.major", sub);
		if (av_pol_uint(json_object_get(v, "major"), sub2, 255, &u,
		    perr) != 0)
			goto bad;
		pol->min_module_major = (uint8_t)u;
		snprintf(sub2, sizeof(sub2), "%s.svn", sub);
		if (av_pol_uint(json_object_get(v, "svn"), sub2, 255, &u,
		    perr) != 0)
			goto bad;
		pol->min_module_svn = (uint8_t)u;
		pol->has_min_module = true;
	}
	if ((v = json_object_get(sec, "report_data")) != NULL) {
		const char *r = json_string_value(v);

		snprintf(sub, sizeof(sub), "%s.report_data", path);
		if (r != NULL && strcmp(r, "auto") == 0)
			pol->binding = TDX_BIND_AUTO;
		else if (r != NULL && strcmp(r, "sha512") == 0)
			pol->binding = TDX_BIND_SHA512;
		else if (r != NULL && strcmp(r, "raw") == 0)
			pol->binding = TDX_BIND_RAW;
		else {
			av_policy_errf(perr, sub,
			    "expected \"auto\", \"sha512\" or \"raw\"");
			goto bad;
		}
	}
	*out = pol;
	return 0;
 bad:
	tdx_policy_free(pol);
	return -1;
}

/* ---- appraise ---------------------------------------------------------------- */

static void
cmp_list(struct av_submod *sm, const char *claim,
    const struct av_hexlist *l, const uint8_t *p, size_t n, bool *any)
{
	if (l->n == 0)
		return;
	*any = true;
	if (av_hexlist_contains(l, p, n))
		return;
	av_submod_reason(sm, AV_E_MEASUREMENT, AV_STATUS_CONTRAINDICATED,
	    claim, av_hexlist_json(l), hex_json(p, n),
	    "tdx: measurement not among the policy's reference values");
}

static void
cmp_bit(struct av_submod *sm, const char *claim, enum dcap_tri want,
    uint64_t attrs, uint64_t bit)
{
	bool have = (attrs & bit) != 0;

	if (want == DCAP_ABSENT || have == (want == DCAP_TRUE))
		return;
	av_submod_reason(sm, AV_E_POLICY_VIOLATION, AV_STATUS_CONTRAINDICATED,
	    claim, json_boolean(want == DCAP_TRUE), json_boolean(have),
	    "tdx: TD attribute not as the policy requires");
}

/* Compare the verified TD report with the policy's reference values. */
static void
tdx_appraise(const void *parsed, const void *policy, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	const struct tdx_quote		*q = parsed;
	const struct tdx_policy		*pol = policy;
	const struct tdx_td_report	*td = &q->td;
	uint64_t			 attrs = tdx_td_attributes(q);
	bool				 exe = false, cfg = false;
	static const char *const	 rtmr[4] = {
		"rtmr0", "rtmr1", "rtmr2", "rtmr3"
	};

	(void)ctx;
	cmp_list(sm, "mrtd", &pol->mrtd, td->mrtd, 48, &exe);
	for (int i = 0; i < 4; i++)
		cmp_list(sm, rtmr[i], &pol->rtmr[i], td->rtmr[i], 48, &exe);
	cmp_list(sm, "mrseam", &pol->mrseam, td->mrseam, 48, &exe);
	cmp_list(sm, "mrsignerseam", &pol->mrsignerseam, td->mrsignerseam,
	    48, &exe);
	cmp_list(sm, "mrconfigid", &pol->mrconfigid, td->mrconfigid, 48, &cfg);
	cmp_list(sm, "mrowner", &pol->mrowner, td->mrowner, 48, &cfg);
	cmp_list(sm, "mrownerconfig", &pol->mrownerconfig, td->mrownerconfig,
	    48, &cfg);
	cmp_list(sm, "xfam", &pol->xfam, td->xfam, 8, &cfg);
	if (pol->mrservicetd.n > 0) {
		if (!td->td15)
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, "mrservicetd",
			    av_hexlist_json(&pol->mrservicetd), NULL,
			    "tdx: quote has no MRSERVICETD (TD 1.0 report)");
		else
			cmp_list(sm, "mrservicetd", &pol->mrservicetd,
			    td->mrservicetd, 48, &cfg);
	}
	if ((attrs & TDX_ATTR_DEBUG) && !pol->allow_debug)
		av_submod_reason(sm, AV_E_DEBUG, AV_STATUS_CONTRAINDICATED,
		    "td_attributes.debug", json_false(), json_true(),
		    "tdx: debug TD (TD_ATTRIBUTES.DEBUG) not allowed");
	cmp_bit(sm, "td_attributes.sept_ve_disable", pol->sept_ve_disable,
	    attrs, TDX_ATTR_SEPT_VE_DISABLE);
	cmp_bit(sm, "td_attributes.pks", pol->pks, attrs, TDX_ATTR_PKS);
	cmp_bit(sm, "td_attributes.kl", pol->kl, attrs, TDX_ATTR_KL);
	cmp_bit(sm, "td_attributes.perfmon", pol->perfmon, attrs,
	    TDX_ATTR_PERFMON);
	if (pol->has_min_module) {
		uint8_t major = td->tee_tcb_svn[1], svn = td->tee_tcb_svn[0];

		if (major < pol->min_module_major ||
		    (major == pol->min_module_major &&
		    svn < pol->min_module_svn)) {
			json_t *exp = json_object(), *act = json_object();

			json_object_set_new_nocheck(exp, "major",
			    json_integer(pol->min_module_major));
			json_object_set_new_nocheck(exp, "svn",
			    json_integer(pol->min_module_svn));
			json_object_set_new_nocheck(act, "major", json_integer(major));
			json_object_set_new_nocheck(act, "svn", json_integer(svn));
			av_submod_reason(sm, AV_E_VERSION_BELOW,
			    AV_STATUS_CONTRAINDICATED, "tdx_module", exp, act,
			    "tdx: TDX module older than the policy's minimum");
		}
	}
	if (exe)
		av_submod_tv(sm, AV_TV_EXECUTABLES, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_CONFIG, AV_AR_AFFIRM);
	(void)cfg;
}

const struct av_backend av_backend_tdx = {
	.name = "tdx",
	.media_type = "application/vnd.attestd.tdx",
	.detect = tdx_detect,
	.parse = tdx_parse,
	.verify = tdx_verify,
	.claims = tdx_claims,
	.policy_compile = tdx_policy_compile,
	.policy_free = tdx_policy_free,
	.appraise = tdx_appraise,
	.free = tdx_free,
};
