/*
 * Intel TDX backend: the quote parser (hostile lengths, every field), the
 * PCK SGX extension parser, signed-JSON spans, TCB info / QE identity
 * parsing, and full verification through the real pipeline
 * (av_verify_request) with quotes and collateral from the test signer
 * (tests/lib/avt_tdx.h): every TCB status and every reason, collateral
 * from the request, the store and a mock PCS.  Also replays the seeds in
 * evidence/tdx/ and evidence/tdx-pck/ and regenerates them when
 * AV_TDX_REGEN_SEEDS=1.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_mock.h"
#include "avt_pki.h"
#include "avt_tdx.h"
#include "evidence/dcap.h"
#include "evidence/tdx.h"

#define T0	1767225600LL	/* 2026-01-01T00:00:00Z */
#define DAY	86400LL

struct fx {
	struct avt_tdx	*t;		/* pinned */
	struct avt_tdx	*rogue;		/* not pinned */
	struct av_trust	*trust;
	char		*tcb, *qe, *pck_crl, *root_crl;	/* defaults */
};

static struct fx *F;

static int
setup(void **state)
{
	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL)
		return -1;
	F->t = avt_tdx_new(T0);
	F->rogue = avt_tdx_new(T0);
	F->trust = av_trust_new();
	if (F->t == NULL || F->rogue == NULL || F->trust == NULL ||
	    avt_tdx_pin(F->t, F->trust) != 0)
		return -1;
	{
		struct avt_tdx_tcb_spec	ts;
		struct avt_tdx_qe_spec	qs;

		avt_tdx_tcb_spec_init(&ts, F->t);
		avt_tdx_qe_spec_init(&qs, F->t);
		F->tcb = avt_tdx_tcb_info(F->t, &ts);
		F->qe = avt_tdx_qe_identity(F->t, &qs);
	}
	F->pck_crl = avt_tdx_pck_crl_pem(F->t, T0 - DAY, T0 + 29 * DAY, NULL, 0);
	F->root_crl = avt_tdx_root_crl_pem(F->t, T0 - DAY, T0 + 300 * DAY,
	    NULL, 0);
	if (F->tcb == NULL || F->qe == NULL || F->pck_crl == NULL ||
	    F->root_crl == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	avt_tdx_free(F->t);
	avt_tdx_free(F->rogue);
	av_trust_free(F->trust);
	free(F->tcb);
	free(F->qe);
	free(F->pck_crl);
	free(F->root_crl);
	free(F);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static uint8_t *
quote(const struct avt_tdx_quote_spec *s, size_t *len)
{
	uint8_t *p = avt_tdx_quote(F->t, s, len);

	assert_non_null(p);
	return p;
}

static uint8_t *
default_quote(size_t *len)
{
	struct avt_tdx_quote_spec s;

	avt_tdx_quote_spec_init(&s);
	return quote(&s, len);
}

static struct tdx_quote *
parse_ok(const uint8_t *p, size_t n)
{
	struct tdx_quote	*q = NULL;
	struct av_err		 e = { 0 };

	if (tdx_quote_parse(p, n, &q, &e) != 0)
		fail_msg("parse failed: %s", e.reason);
	return q;
}

static void
parse_fail(const uint8_t *p, size_t n, enum av_code code, const char *why)
{
	struct tdx_quote	*q = NULL;
	struct av_err		 e = { 0 };

	if (tdx_quote_parse(p, n, &q, &e) == 0) {
		tdx_quote_free(q);
		fail_msg("parsed, expected %s (%s)", av_code_str(code),
		    why != NULL ? why : "");
	}
	assert_null(q);
	if (e.code != code)
		fail_msg("got %s (%s), expected %s", av_code_str(e.code),
		    e.reason, av_code_str(code));
	if (why != NULL && strstr(e.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", e.reason, why);
}

/* A policy {"evidence": {"tdx": section}} (section stolen). */
static struct av_policy *
policy(json_t *section)
{
	return avt_policy("tdx", section, NULL);
}

/* Expect a policy section to be rejected at path, reason containing why. */
static void
policy_bad(json_t *section, const char *path, const char *why)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;

	doc = json_pack("{s:s, s:i, s:{s:o}}", "id", "tdx-test", "version", 1,
	    "evidence", "tdx", section);
	assert_non_null(doc);
	if (av_policy_compile(doc, &p, &perr) == 0) {
		av_policy_free(p);
		fail_msg("policy compiled, expected an error at %s", path);
	}
	json_decref(doc);
	if (strcmp(perr.path, path) != 0)
		fail_msg("error at %s (%s), expected %s", perr.path,
		    perr.reason, path);
	if (why != NULL && strstr(perr.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", perr.reason, why);
}

/* A section pinning the default quote's MRTD. */
static json_t *
mrtd_section(void)
{
	struct avt_tdx_quote_spec	 s;
	char				*h;
	json_t				*o;

	avt_tdx_quote_spec_init(&s);
	h = av_hex_encode(s.mrtd, 48);
	o = json_pack("{s:[s]}", "mrtd", h);
	free(h);
	return o;
}

struct run_opts {
	const uint8_t		*nonce;
	size_t			 nonce_len;
	const uint8_t		*rt;
	size_t			 rt_len;
	struct av_collateral	*coll;
	int64_t			 now;		/* 0: T0 */
};

/* Run one request item (stolen) through av_verify_request. */
static struct av_result *
run_item(json_t *item, const struct av_policy *pol, const struct run_opts *o)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust };
	json_t			*body;

	assert_non_null(item);
	if (o != NULL && o->now != 0)
		env.now = o->now;
	if (o != NULL)
		env.coll = o->coll;
	body = json_pack("{s:[o]}", "evidence", item);
	assert_non_null(body);
	if (av_request_from_json(body, &req, &e) != 0)
		fail_msg("request: %s", e.reason);
	json_decref(body);
	if (o != NULL && o->nonce != NULL) {
		req->nonce = malloc(o->nonce_len);
		memcpy(req->nonce, o->nonce, o->nonce_len);
		req->nonce_len = o->nonce_len;
	}
	if (o != NULL && o->rt != NULL) {
		req->runtime_data = malloc(o->rt_len);
		memcpy(req->runtime_data, o->rt, o->rt_len);
		req->runtime_data_len = o->rt_len;
	}
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	assert_int_equal(res->nsubmods, 1);
	av_request_free(req);
	return res;
}

/* A quote with all default collateral in the request. */
static json_t *
item_full(const uint8_t *q, size_t n)
{
	return avt_tdx_item(F->t, q, n, F->tcb, F->qe, F->pck_crl,
	    F->root_crl);
}

static char *
dump(const json_t *j)
{
	static char *last;

	free(last);
	last = json_dumps(j, JSON_COMPACT);
	return last;
}

static bool
has_reason(const struct av_submod *sm, const char *code)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(sm->reasons, i, r)
		if (strcmp(json_string_value(json_object_get(r, "code")),
		    code) == 0)
			return true;
	return false;
}

static const char *
sev(const json_t *r)
{
	return json_string_value(json_object_get(r, "severity"));
}

/* Exactly these reason codes, in any order (NULL-terminated). */
static void
assert_reasons(const struct av_submod *sm, ...)
{
	va_list		 ap;
	const char	*code;
	size_t		 n = 0;

	va_start(ap, sm);
	while ((code = va_arg(ap, const char *)) != NULL) {
		if (!has_reason(sm, code))
			fail_msg("no reason %s in %s", code, dump(sm->reasons));
		n++;
	}
	va_end(ap);
	if (json_array_size(sm->reasons) != n)
		fail_msg("expected %zu reasons, got %s", n, dump(sm->reasons));
}

static const char *
claim_str(const struct av_submod *sm, const char *path)
{
	const json_t	*v = sm->claims;
	char		 buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL;
	    tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	if (!json_is_string(v))
		fail_msg("claim %s not a string in %s", path, dump(sm->claims));
	return json_string_value(v);
}

/* ---- parser ----------------------------------------------------------------- */

static void
test_parse_v4(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct tdx_quote		*q;
	uint8_t				*p;
	size_t				 n;

	(void)state;
	avt_tdx_quote_spec_init(&s);
	p = quote(&s, &n);
	q = parse_ok(p, n);
	assert_int_equal(q->version, 4);
	assert_int_equal(q->body_type, TDX_BODY_TD10);
	assert_int_equal(q->signed_len, 48 + 584);
	assert_false(q->td.td15);
	assert_memory_equal(q->td.mrtd, s.mrtd, 48);
	assert_memory_equal(q->td.rtmr[3], s.rtmr[3], 48);
	assert_memory_equal(q->td.report_data, s.report_data, 64);
	assert_int_equal(tdx_td_attributes(q), s.td_attributes);
	assert_int_equal(q->cert_type, 6);
	assert_int_equal(q->inner_type, 5);
	assert_true(q->has_qe_report);
	assert_int_equal(q->qe_report.isvsvn, 8);
	assert_int_equal(q->qe_report.isvprodid, 2);
	assert_int_equal(q->qe_auth_len, 32);
	assert_int_equal(sk_X509_num(q->pck_chain), 3);
	assert_memory_equal(q->pck_ext.fmspc, F->t->pck_spec.fmspc, 6);
	assert_memory_equal(q->pck_ext.comp_svn, F->t->pck_spec.comp_svn, 16);
	assert_int_equal(q->pck_ext.pcesvn, 13);
	assert_int_equal(q->pck_ext.sgx_type, 1);
	assert_true(q->pck_ext.has_platform_instance_id);
	assert_int_equal(q->pck_ext.cached_keys, DCAP_TRUE);
	assert_int_equal(q->pck_ext.smt_enabled, DCAP_FALSE);
	assert_int_equal(q->trailing, 0);
	tdx_quote_free(q);
	free(p);
}

static void
test_parse_v5(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct tdx_quote		*q;
	uint8_t				*p;
	size_t				 n;

	(void)state;
	avt_tdx_quote_spec_init(&s);
	s.version = 5;
	s.body_type = 2;
	p = quote(&s, &n);
	q = parse_ok(p, n);
	assert_int_equal(q->version, 5);
	assert_int_equal(q->body_type, 2);
	assert_int_equal(q->signed_len, 48 + 6 + 584);
	assert_false(q->td.td15);
	tdx_quote_free(q);
	free(p);

	s.body_type = 3;
	p = quote(&s, &n);
	q = parse_ok(p, n);
	assert_int_equal(q->body_type, 3);
	assert_int_equal(q->signed_len, 702);
	assert_true(q->td.td15);
	assert_memory_equal(q->td.mrservicetd, s.mrservicetd, 48);
	assert_memory_equal(q->td.tee_tcb_svn2, s.tee_tcb_svn2, 16);
	tdx_quote_free(q);

	/* body type 2 with the TD 1.5 size: rejected */
	p[48] = 2;
	parse_fail(p, n, AV_E_MALFORMED, "body type and size disagree");
	p[48] = 1;
	parse_fail(p, n, AV_E_MALFORMED, "body type and size disagree");
	free(p);
}

static void
test_parse_trailing(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct tdx_quote		*q;
	uint8_t				*p;
	size_t				 n;

	(void)state;
	avt_tdx_quote_spec_init(&s);
	s.trailing = 3065;
	p = quote(&s, &n);
	q = parse_ok(p, n);
	assert_int_equal(q->trailing, 3065);
	tdx_quote_free(q);
	free(p);

	/* PEM without the NUL terminator */
	avt_tdx_quote_spec_init(&s);
	s.pem_nul = false;
	p = quote(&s, &n);
	q = parse_ok(p, n);
	assert_int_equal(sk_X509_num(q->pck_chain), 3);
	tdx_quote_free(q);
	free(p);

	/* certification data type 5 directly */
	avt_tdx_quote_spec_init(&s);
	s.cert_type = 5;
	p = quote(&s, &n);
	q = parse_ok(p, n);
	assert_false(q->has_qe_report);
	assert_int_equal(sk_X509_num(q->pck_chain), 3);
	tdx_quote_free(q);
	free(p);
}

/* Every prefix of a good quote fails cleanly. */
static void
test_parse_truncated(void **state)
{
	uint8_t	*p;
	size_t	 n;

	(void)state;
	p = default_quote(&n);
	for (size_t cut = 0; cut < n; cut++) {
		struct tdx_quote	*q = NULL;
		struct av_err		 e = { 0 };

		if (tdx_quote_parse(p, cut, &q, &e) == 0)
			fail_msg("prefix of %zu bytes parsed", cut);
		assert_null(q);
		if (e.code != AV_E_MALFORMED)
			fail_msg("prefix %zu: %s (%s)", cut, av_code_str(e.code),
			    e.reason);
	}
	free(p);
}

static void
test_parse_header(void **state)
{
	struct avt_tdx_quote_spec	 s;
	uint8_t				*p;
	size_t				 n;

	(void)state;
	p = default_quote(&n);
	p[0] = 3;
	parse_fail(p, n, AV_E_MALFORMED, "unsupported quote version");
	p[0] = 6;
	parse_fail(p, n, AV_E_MALFORMED, "unsupported quote version");
	free(p);

	avt_tdx_quote_spec_init(&s);
	s.att_key_type = 3;
	p = quote(&s, &n);
	parse_fail(p, n, AV_E_UNSUPPORTED_ALG, "ECDSA P-256");
	free(p);

	avt_tdx_quote_spec_init(&s);
	s.tee_type = 0;
	p = quote(&s, &n);
	parse_fail(p, n, AV_E_MALFORMED, "TEE type");
	free(p);

	avt_tdx_quote_spec_init(&s);
	s.bad_vendor = true;
	p = quote(&s, &n);
	parse_fail(p, n, AV_E_MALFORMED, "QE vendor");
	free(p);
}

/* Little-endian u32 at off. */
static uint32_t
rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
	    (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

static void
wr32(uint8_t *p, size_t off, uint32_t v)
{
	p[off] = v & 0xff;
	p[off + 1] = (v >> 8) & 0xff;
	p[off + 2] = (v >> 16) & 0xff;
	p[off + 3] = v >> 24;
}

static void
test_parse_lengths(void **state)
{
	struct avt_tdx_quote_spec	 s;
	uint8_t				*p;
	size_t				 n, sd = 48 + 584;
	size_t				 cd = sd + 4 + 128;	/* cert type */
	uint32_t			 v;

	(void)state;
	p = default_quote(&n);
	/* signature data length past the end */
	v = rd32(p, sd);
	wr32(p, sd, v + 1);
	parse_fail(p, n, AV_E_MALFORMED, "truncated signature data");
	wr32(p, sd, 0xffffffffu);
	parse_fail(p, n, AV_E_MALFORMED, "truncated signature data");
	wr32(p, sd, v);
	/* certification data size larger than the signature data */
	v = rd32(p, cd + 2);
	wr32(p, cd + 2, v + 1);
	parse_fail(p, n, AV_E_MALFORMED, "certification data size");
	wr32(p, cd + 2, v - 1);
	parse_fail(p, n, AV_E_MALFORMED, "trailing bytes in signature data");
	wr32(p, cd + 2, v);
	/* unsupported certification data type */
	p[cd] = 3;
	parse_fail(p, n, AV_E_MALFORMED, "certification data type");
	p[cd] = 6;
	/* QE auth data size beyond the certification data */
	p[cd + 6 + 384 + 64] = 0xff;
	p[cd + 6 + 384 + 65] = 0x0f;
	parse_fail(p, n, AV_E_MALFORMED, "auth data");
	free(p);

	avt_tdx_quote_spec_init(&s);
	s.inner_type = 4;
	p = quote(&s, &n);
	parse_fail(p, n, AV_E_MALFORMED, "does not hold a PCK chain");
	free(p);

	/* a PCK chain that is not PEM */
	p = default_quote(&n);
	{
		size_t pem = cd + 6 + 384 + 64 + 2 + 32 + 6;

		memset(p + pem, 'x', 40);
		parse_fail(p, n, AV_E_MALFORMED, "no SGX extension");
		memset(p + pem, 'x', n - pem);
		parse_fail(p, n, AV_E_MALFORMED, "bad PCK chain");
	}
	free(p);
}

static void
test_detect(void **state)
{
	const struct av_backend	*b = av_backend_find("tdx");
	struct av_err		 e = { 0 };
	uint8_t			*p;
	size_t			 n;

	(void)state;
	assert_non_null(b);
	assert_string_equal(b->media_type, "application/vnd.attestd.tdx");
	assert_ptr_equal(av_backend_by_media_type(
	    "application/vnd.attestd.tdx"), b);
	p = default_quote(&n);
	assert_true(b->detect(p, n));
	assert_ptr_equal(av_backend_detect(p, n, &e), b);
	assert_false(b->detect(p, 100));
	p[4] = 0;
	assert_false(b->detect(p, n));
	free(p);
}

/* ---- PCK extensions ----------------------------------------------------------- */

/* The SGX extension DER of the test PCK. */
static uint8_t *
pck_ext_der(size_t *len)
{
	ASN1_OBJECT		*obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	int			 idx = X509_get_ext_by_OBJ(F->t->pck, obj, -1);
	X509_EXTENSION		*ex = X509_get_ext(F->t->pck, idx);
	ASN1_OCTET_STRING	*os = X509_EXTENSION_get_data(ex);
	uint8_t			*p;

	ASN1_OBJECT_free(obj);
	*len = (size_t)ASN1_STRING_length(os);
	p = malloc(*len);
	memcpy(p, ASN1_STRING_get0_data(os), *len);
	return p;
}

static void
test_pck_ext(void **state)
{
	struct dcap_pck_ext	 x;
	struct av_err		 e = { 0 };
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = pck_ext_der(&n);
	assert_int_equal(dcap_pck_ext_parse(p, n, &x, &e), 0);
	assert_memory_equal(x.fmspc, F->t->pck_spec.fmspc, 6);
	assert_memory_equal(x.cpusvn, F->t->pck_spec.cpusvn, 16);
	assert_int_equal(x.comp_svn[7], 5);
	assert_int_equal(x.pcesvn, 13);
	assert_int_equal(x.dynamic_platform, DCAP_FALSE);

	/* every prefix and a trailing byte fail */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(dcap_pck_ext_parse(p, cut, &x, &e), -1);
	{
		uint8_t *q = malloc(n + 1);

		memcpy(q, p, n);
		q[n] = 0;
		assert_int_equal(dcap_pck_ext_parse(q, n + 1, &x, &e), -1);
		assert_int_equal(e.code, AV_E_MALFORMED);
		free(q);
	}
	/* long-form length with a non-minimal encoding */
	{
		static const uint8_t bad[] = { 0x30, 0x81, 0x01, 0x05 };

		assert_int_equal(dcap_pck_ext_parse(bad, sizeof(bad), &x, &e),
		    -1);
	}
	/* empty sequence: members missing */
	{
		static const uint8_t empty[] = { 0x30, 0x00 };

		assert_int_equal(dcap_pck_ext_parse(empty, sizeof(empty), &x,
		    &e), -1);
		assert_non_null(strstr(e.reason, "incomplete"));
	}
	free(p);
}

/* Rewrite one byte pattern in the extension and expect a failure. */
static void
test_pck_ext_hostile(void **state)
{
	struct dcap_pck_ext	 x;
	struct av_err		 e = { 0 };
	uint8_t			*p;
	size_t			 n, hits = 0;
	static const uint8_t	 fmspc_oid_tail[] = { 0x0d, 0x01, 0x04, 0x04,
				    0x06 };

	(void)state;
	p = pck_ext_der(&n);
	/* FMSPC OCTET STRING length 6 -> 5: the member no longer parses */
	for (size_t i = 0; i + sizeof(fmspc_oid_tail) <= n; i++)
		if (memcmp(p + i, fmspc_oid_tail, sizeof(fmspc_oid_tail)) == 0) {
			p[i + 4] = 5;
			hits++;
			break;
		}
	assert_int_equal(hits, 1);
	assert_int_equal(dcap_pck_ext_parse(p, n, &x, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	free(p);

	/* a certificate without the extension */
	assert_int_equal(dcap_pck_ext_from_cert(F->t->root, &x, &e), -1);
	assert_non_null(strstr(e.reason, "no SGX extension"));
}

/* ---- JSON spans and documents ---------------------------------------------------- */

static void
test_json_span(void **state)
{
	const char	*t;
	size_t		 off, len;

	(void)state;
	t = " {\"a\" : [1,{\"x\":\"}\\\"\"}] , \"tcbInfo\":{\"k\":\"v\"} ,"
	    "\"signature\":\"00\"}\n";
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "tcbInfo", &off, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(t + off, "{\"k\":\"v\"}", 9);
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "a", &off, &len), 0);
	assert_memory_equal(t + off, "[1,{\"x\":\"}\\\"\"}]", len);
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "nope", &off, &len), -1);
	t = "{\"tcbInfo\":1,\"tcbInfo\":2}";
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "tcbInfo", &off, &len), -1);
	t = "{\"tcbInfo\":{}} x";
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "tcbInfo", &off, &len), -1);
	t = "{\"tcbInfo\":{\"a\":[}}";
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "tcbInfo", &off, &len), -1);
	t = "[\"tcbInfo\"]";
	assert_int_equal(dcap_json_member_span((const uint8_t *)t, strlen(t),
	    "tcbInfo", &off, &len), -1);
}

static void
test_tcb_info_parse(void **state)
{
	struct dcap_tcb_info	*ti = NULL;
	struct dcap_qe_identity	*qi = NULL;
	struct av_err		 e = { 0 };
	char			*bad;

	(void)state;
	assert_int_equal(dcap_tcb_info_parse((const uint8_t *)F->tcb,
	    strlen(F->tcb), NULL, &ti, &e), 0);
	assert_string_equal(ti->id, "TDX");
	assert_int_equal(ti->version, 3);
	assert_int_equal(ti->nlevels, 3);
	assert_int_equal(ti->nmodules, 1);
	assert_string_equal(ti->modules[0].id, "TDX_01");
	assert_int_equal(ti->levels[1].status, DCAP_TCB_OUT_OF_DATE);
	assert_int_equal(ti->levels[1].adv.n, 2);
	assert_string_equal(ti->levels[1].adv.id[1], "INTEL-SA-01099");
	assert_int_equal(ti->issue_date, T0 - DAY);
	assert_int_equal(dcap_signed_verify(&ti->doc,
	    X509_get0_pubkey(F->t->tcb), &e), 0);
	assert_int_not_equal(dcap_signed_verify(&ti->doc,
	    X509_get0_pubkey(F->t->root), &e), 0);
	dcap_tcb_info_free(ti);

	assert_int_equal(dcap_qe_identity_parse((const uint8_t *)F->qe,
	    strlen(F->qe), NULL, &qi, &e), 0);
	assert_string_equal(qi->id, "TD_QE");
	assert_int_equal(qi->isvprodid, 2);
	assert_int_equal(qi->miscselect_mask, 0xffffffffu);
	assert_int_equal(dcap_signed_verify(&qi->doc,
	    X509_get0_pubkey(F->t->tcb), &e), 0);
	dcap_qe_identity_free(qi);

	/* a status Intel never serves */
	bad = strdup(F->tcb);
	memcpy(strstr(bad, "\"OutOfDate\""), "\"OutOfDat_\"", 11);
	assert_int_equal(dcap_tcb_info_parse((const uint8_t *)bad, strlen(bad),
	    NULL, &ti, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_INVALID);
	free(bad);
	/* not a document */
	assert_int_equal(dcap_tcb_info_parse((const uint8_t *)"{}", 2, NULL,
	    &ti, &e), -1);
	assert_int_equal(dcap_tcb_info_parse((const uint8_t *)F->qe,
	    strlen(F->qe), NULL, &ti, &e), -1);
	/* bare body + separate signature (dcap-qvl form) */
	{
		size_t	 off, len;
		char	*body, sig[129];
		const char *s;

		assert_int_equal(dcap_json_member_span((const uint8_t *)F->tcb,
		    strlen(F->tcb), "tcbInfo", &off, &len), 0);
		body = strndup(F->tcb + off, len);
		s = strstr(F->tcb, "\"signature\":\"") + 13;
		memcpy(sig, s, 128);
		sig[128] = '\0';
		assert_int_equal(dcap_tcb_info_parse((const uint8_t *)body,
		    len, sig, &ti, &e), 0);
		assert_int_equal(dcap_signed_verify(&ti->doc,
		    X509_get0_pubkey(F->t->tcb), &e), 0);
		dcap_tcb_info_free(ti);
		free(body);
	}
}

/* ---- verification: the good path ------------------------------------------------ */

static void
test_verify_good(void **state)
{
	struct av_result	*res;
	struct av_policy	*pol = policy(mrtd_section());
	const struct av_submod	*sm;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = default_quote(&n);
	res = run_item(item_full(p, n), pol, NULL);
	sm = &res->submods[0];
	if (sm->status != AV_STATUS_AFFIRMING)
		fail_msg("status %d: %s", sm->status, dump(sm->reasons));
	assert_int_equal(json_array_size(sm->reasons), 0);
	assert_string_equal(claim_str(sm, "tcb.status"), "UpToDate");
	assert_string_equal(claim_str(sm, "tcb.tdx_module_identity"), "TDX_01");
	assert_string_equal(claim_str(sm, "tcb.tdx_module_status"), "UpToDate");
	assert_string_equal(claim_str(sm, "tcb.qe_status"), "UpToDate");
	assert_string_equal(claim_str(sm, "fmspc"), "20a06f000000");
	assert_string_equal(claim_str(sm, "collateral.tcb_info.source"),
	    "request");
	assert_string_equal(claim_str(sm, "collateral.pck_crl.state"),
	    "current");
	assert_string_equal(claim_str(sm, "collateral.tcb_info.next_update"),
	    avt_tdx_time(T0 + 29 * DAY));
	assert_string_equal(claim_str(sm, "td_attributes"), "0000001000000000");
	assert_true(json_is_true(json_object_get(json_object_get(sm->claims,
	    "td_attributes_flags"), "sept_ve_disable")));
	assert_true(json_is_false(json_object_get(sm->claims, "debug")));
	assert_string_equal(claim_str(sm, "xfam"), "e71a060000000000");
	assert_string_equal(claim_str(sm, "qe.mrsigner"),
	    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
	assert_string_equal(claim_str(sm, "pck.serial"), "7d01");
	assert_int_equal(json_array_size(json_object_get(json_object_get(
	    sm->claims, "tcb"), "out_of_date")), 0);
	assert_int_equal(sm->tv[AV_TV_HARDWARE], AV_AR_AFFIRM);
	assert_int_equal(sm->tv[AV_TV_EXECUTABLES], AV_AR_AFFIRM);
	av_result_free(res);

	/* without a policy: warning, only no_reference_values */
	res = run_item(item_full(p, n), NULL, NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_WARNING);
	assert_reasons(&res->submods[0], "no_reference_values", NULL);
	av_result_free(res);
	av_policy_free(pol);
	free(p);
}

static void
test_verify_v5(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct av_result		*res;
	struct av_policy		*pol = policy(mrtd_section());
	uint8_t				*p;
	size_t				 n;

	(void)state;
	for (int bt = 2; bt <= 3; bt++) {
		avt_tdx_quote_spec_init(&s);
		s.version = 5;
		s.body_type = bt;
		s.trailing = 70;
		p = quote(&s, &n);
		res = run_item(item_full(p, n), pol, NULL);
		if (res->submods[0].status != AV_STATUS_AFFIRMING)
			fail_msg("v5 body %d: %s", bt,
			    dump(res->submods[0].reasons));
		assert_int_equal(json_integer_value(json_object_get(
		    res->submods[0].claims, "body_type")), bt);
		if (bt == 3)
			assert_non_null(json_object_get(res->submods[0].claims,
			    "mrservicetd"));
		av_result_free(res);
		free(p);
	}
	av_policy_free(pol);
}

/* ---- verification: cryptographic failures (fatal) ---------------------------------- */

static void
expect_fatal(const struct avt_tdx_quote_spec *s, const struct avt_tdx *who,
    const char *code, const char *why)
{
	struct av_result	*res;
	uint8_t			*p;
	size_t			 n;
	json_t			*r;

	p = avt_tdx_quote(who != NULL ? who : F->t, s, &n);
	assert_non_null(p);
	res = run_item(item_full(p, n), NULL, NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_CONTRAINDICATED);
	assert_reasons(&res->submods[0], code, NULL);
	r = avt_find_reason(&res->submods[0], code, NULL);
	if (why != NULL && strstr(json_string_value(json_object_get(r,
	    "message")), why) == NULL)
		fail_msg("message %s lacks %s", dump(r), why);
	av_result_free(res);
	free(p);
}

static void
test_verify_crypto(void **state)
{
	struct avt_tdx_quote_spec	s;
	EVP_PKEY			*k;

	(void)state;
	avt_tdx_quote_spec_init(&s);
	s.corrupt_quote_sig = true;
	expect_fatal(&s, NULL, "signature_invalid", "quote signature");

	avt_tdx_quote_spec_init(&s);
	s.sign_with_wrong_key = true;
	expect_fatal(&s, NULL, "signature_invalid", "attestation key");

	avt_tdx_quote_spec_init(&s);
	s.corrupt_qe_sig = true;
	expect_fatal(&s, NULL, "qe_report_invalid", "QE report signature");

	avt_tdx_quote_spec_init(&s);
	k = avt_key_new("P-256");
	s.pck_signer = k;
	expect_fatal(&s, NULL, "qe_report_invalid", "PCK key");
	EVP_PKEY_free(k);

	avt_tdx_quote_spec_init(&s);
	s.corrupt_qe_binding = true;
	expect_fatal(&s, NULL, "qe_report_invalid", "bind");

	avt_tdx_quote_spec_init(&s);
	s.cert_type = 5;
	expect_fatal(&s, NULL, "qe_report_invalid", "no QE report");

	/* a PKI whose root is not pinned */
	avt_tdx_quote_spec_init(&s);
	expect_fatal(&s, F->rogue, "untrusted_root", "Intel SGX Root CA");

	/* the chain without its CA and root */
	avt_tdx_quote_spec_init(&s);
	s.chain_leaf_only = true;
	expect_fatal(&s, NULL, "untrusted_root", NULL);
}

static void
test_verify_chain_invalid(void **state)
{
	struct avt_tdx_quote_spec	 s;
	EVP_PKEY			*k = avt_key_new("P-256");

	(void)state;
	/* PCK names the platform CA as issuer but another key signed it */
	assert_true(X509_sign(F->t->pck, k, EVP_sha256()) > 0);
	avt_tdx_quote_spec_init(&s);
	expect_fatal(&s, NULL, "chain_invalid", "PCK chain");
	assert_int_equal(avt_tdx_set_pck(F->t, &F->t->pck_spec), 0);
	EVP_PKEY_free(k);
}

static void
test_verify_cert_time(void **state)
{
	struct av_result	*res;
	struct run_opts		 o = { .now = T0 + 8 * 365 * DAY };
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = default_quote(&n);
	res = run_item(item_full(p, n), NULL, &o);
	assert_reasons(&res->submods[0], "cert_time_invalid", NULL);
	av_result_free(res);
	free(p);
}

static void
test_verify_revoked(void **state)
{
	struct av_result	*res;
	static const long	 pck_serial[] = { 0x1234, 0x7d01 };
	static const long	 ca_serial[] = { 0x7c01 };
	char			*crl;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = default_quote(&n);
	crl = avt_tdx_pck_crl_pem(F->t, T0 - DAY, T0 + 29 * DAY, pck_serial, 2);
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, F->qe, crl,
	    F->root_crl), NULL, NULL);
	assert_reasons(&res->submods[0], "cert_revoked", NULL);
	av_result_free(res);
	/* only the PCK CRL at hand: still found */
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, F->qe, crl, NULL),
	    NULL, NULL);
	assert_reasons(&res->submods[0], "collateral_missing", "cert_revoked",
	    NULL);
	av_result_free(res);
	free(crl);
	/* the platform CA revoked by the root */
	crl = avt_tdx_root_crl_pem(F->t, T0 - DAY, T0 + 29 * DAY, ca_serial, 1);
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, F->qe, F->pck_crl,
	    crl), NULL, NULL);
	assert_reasons(&res->submods[0], "cert_revoked", NULL);
	av_result_free(res);
	free(crl);
	/* a CRL signed by someone else */
	crl = avt_tdx_pck_crl_pem(F->rogue, T0 - DAY, T0 + 29 * DAY, NULL, 0);
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, F->qe, crl,
	    F->root_crl), NULL, NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_CONTRAINDICATED);
	avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.pck_crl");
	av_result_free(res);
	free(crl);
	free(p);
}

/* ---- collateral ---------------------------------------------------------------- */

static void
test_collateral_missing(void **state)
{
	struct av_result	*res;
	struct av_policy	*pol = policy(mrtd_section());
	json_t			*r;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = default_quote(&n);
	/* nothing: four items missing; warnings without a policy */
	res = run_item(avt_tdx_item(F->t, p, n, NULL, NULL, NULL, NULL), NULL,
	    NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_WARNING);
	r = avt_find_reason(&res->submods[0], "collateral_missing",
	    "collateral.tcb_info");
	assert_string_equal(sev(r), "warning");
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    "20a06f000000");
	avt_find_reason(&res->submods[0], "collateral_missing",
	    "collateral.qe_identity");
	avt_find_reason(&res->submods[0], "collateral_missing",
	    "collateral.pck_crl");
	avt_find_reason(&res->submods[0], "collateral_missing",
	    "collateral.root_ca_crl");
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "Unknown");
	av_result_free(res);
	/* under a policy: contraindicated */
	res = run_item(avt_tdx_item(F->t, p, n, NULL, F->qe, F->pck_crl,
	    F->root_crl), pol, NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_CONTRAINDICATED);
	assert_reasons(&res->submods[0], "collateral_missing", NULL);
	av_result_free(res);
	av_policy_free(pol);
	/* ... unless the policy says collateral is optional */
	pol = policy(json_pack("{s:b}", "require_collateral", 0));
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, F->qe, NULL, NULL), pol,
	    NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_WARNING);
	av_result_free(res);
	av_policy_free(pol);
	free(p);
}

static void
test_collateral_invalid(void **state)
{
	struct avt_tdx_tcb_spec	 ts;
	struct avt_tdx_qe_spec	 qs;
	struct av_result	*res;
	char			*doc;
	json_t			*r;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = default_quote(&n);
	/* TCB info edited after signing */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.corrupt_sig = true;
	doc = avt_tdx_tcb_info(F->t, &ts);
	res = run_item(avt_tdx_item(F->t, p, n, doc, F->qe, F->pck_crl,
	    F->root_crl), NULL, NULL);
	r = avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.tcb_info");
	assert_string_equal(sev(r), "contraindicated");
	assert_string_equal(json_string_value(json_object_get(r, "message")),
	    "tdx: TCB info signature invalid");
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "Unknown");
	av_result_free(res);
	free(doc);
	/* signed by a key that is not the TCB signer's */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.signer = F->rogue->tcb_key;
	doc = avt_tdx_tcb_info(F->t, &ts);
	res = run_item(avt_tdx_item(F->t, p, n, doc, F->qe, F->pck_crl,
	    F->root_crl), NULL, NULL);
	avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.tcb_info");
	av_result_free(res);
	free(doc);
	/* for another platform */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.fmspc[0] ^= 0xff;
	doc = avt_tdx_tcb_info(F->t, &ts);
	res = run_item(avt_tdx_item(F->t, p, n, doc, F->qe, F->pck_crl,
	    F->root_crl), NULL, NULL);
	r = avt_find_reason(&res->submods[0], "collateral_invalid", "fmspc");
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    "20a06f000000");
	av_result_free(res);
	free(doc);
	/* an SGX TCB info */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.id = "SGX";
	doc = avt_tdx_tcb_info(F->t, &ts);
	res = run_item(avt_tdx_item(F->t, p, n, doc, F->qe, F->pck_crl,
	    F->root_crl), NULL, NULL);
	avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.tcb_info");
	av_result_free(res);
	free(doc);
	/* a QE identity edited after signing */
	avt_tdx_qe_spec_init(&qs, F->t);
	qs.corrupt_sig = true;
	doc = avt_tdx_qe_identity(F->t, &qs);
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, doc, F->pck_crl,
	    F->root_crl), NULL, NULL);
	avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.qe_identity");
	av_result_free(res);
	free(doc);
	/* a companion that is not JSON at all: a request-level problem */
	res = run_item(avt_tdx_item(F->t, p, n, "not json", NULL, NULL, NULL),
	    NULL, NULL);
	r = avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.tcb_info");
	assert_string_equal(sev(r), "contraindicated");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.tcb_info.state"), "invalid");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.tcb_info.source"), "request");
	av_result_free(res);
	/* a CRL companion that is not a CRL */
	res = run_item(avt_tdx_item(F->t, p, n, F->tcb, F->qe, "abcd", NULL),
	    NULL, NULL);
	avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.pck_crl");
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "UpToDate");
	av_result_free(res);
	free(p);
}

static void
test_collateral_expired(void **state)
{
	struct av_result	*res;
	struct av_policy	*pol;
	struct run_opts		 o = { .now = T0 + 40 * DAY };
	json_t			*r;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	p = default_quote(&n);
	res = run_item(item_full(p, n), NULL, &o);
	assert_int_equal(res->submods[0].status, AV_STATUS_CONTRAINDICATED);
	r = avt_find_reason(&res->submods[0], "collateral_expired",
	    "collateral.tcb_info");
	assert_string_equal(sev(r), "contraindicated");
	assert_string_equal(json_string_value(json_object_get(r, "expected")),
	    avt_tdx_time(T0 + 29 * DAY));
	avt_find_reason(&res->submods[0], "collateral_expired",
	    "collateral.qe_identity");
	avt_find_reason(&res->submods[0], "collateral_expired",
	    "collateral.pck_crl");
	assert_false(has_reason(&res->submods[0], "tcb_out_of_date"));
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "Unknown");
	av_result_free(res);

	/* a 30-day grace: warnings, and the TCB is still evaluated */
	pol = policy(json_pack("{s:i}", "collateral_grace_s", 30 * 86400));
	res = run_item(item_full(p, n), pol, &o);
	assert_int_equal(res->submods[0].status, AV_STATUS_WARNING);
	r = avt_find_reason(&res->submods[0], "collateral_expired",
	    "collateral.tcb_info");
	assert_string_equal(sev(r), "warning");
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "UpToDate");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.tcb_info.state"), "expired (within grace)");
	av_result_free(res);
	av_policy_free(pol);

	/* issued after the verification time */
	o.now = T0 - 2 * DAY;
	res = run_item(item_full(p, n), NULL, &o);
	r = avt_find_reason(&res->submods[0], "collateral_invalid",
	    "collateral.tcb_info");
	av_result_free(res);
	free(p);
}

/* ---- TCB statuses ------------------------------------------------------------------ */

/*
 * Verify the default quote (or spec) with a TCB info / QE identity made
 * from ts / qs under pol; returns the result.
 */
static struct av_result *
run_tcb(const struct avt_tdx_quote_spec *s, const struct avt_tdx_tcb_spec *ts,
    const struct avt_tdx_qe_spec *qs, const struct av_policy *pol)
{
	struct avt_tdx_quote_spec	 ds;
	struct av_result		*res;
	char				*tcb, *qe;
	uint8_t				*p;
	size_t				 n;

	if (s == NULL) {
		avt_tdx_quote_spec_init(&ds);
		s = &ds;
	}
	p = quote(s, &n);
	tcb = (ts != NULL) ? avt_tdx_tcb_info(F->t, ts) : strdup(F->tcb);
	qe = (qs != NULL) ? avt_tdx_qe_identity(F->t, qs) : strdup(F->qe);
	assert_non_null(tcb);
	assert_non_null(qe);
	res = run_item(avt_tdx_item(F->t, p, n, tcb, qe, F->pck_crl,
	    F->root_crl), pol, NULL);
	free(tcb);
	free(qe);
	free(p);
	return res;
}

/* The "out_of_date" claim holds exactly these strings. */
static void
assert_behind(const struct av_submod *sm, ...)
{
	const json_t	*a = json_object_get(json_object_get(sm->claims, "tcb"),
			    "out_of_date");
	va_list		 ap;
	const char	*s;
	size_t		 n = 0;

	va_start(ap, sm);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (!json_is_string(json_array_get(a, n)) ||
		    strcmp(json_string_value(json_array_get(a, n)), s) != 0)
			fail_msg("out_of_date[%zu] != %s in %s", n, s, dump(a));
		n++;
	}
	va_end(ap);
	if (json_array_size(a) != n)
		fail_msg("out_of_date has %zu items: %s", json_array_size(a),
		    dump(a));
}

static void
test_tcb_statuses(void **state)
{
	static const char *const st[] = {
		"SWHardeningNeeded", "ConfigurationNeeded",
		"ConfigurationAndSWHardeningNeeded",
	};
	struct avt_tdx_tcb_spec	 ts;
	struct av_result	*res;
	struct av_policy	*pol = policy(mrtd_section());
	json_t			*r;
	char			 acc[128];

	(void)state;
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		struct av_policy *ok;

		avt_tdx_tcb_spec_init(&ts, F->t);
		ts.levels[0].status = st[i];
		ts.levels[0].advisories = "[\"INTEL-SA-00615\"]";
		res = run_tcb(NULL, &ts, NULL, pol);
		assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
		    st[i]);
		r = avt_find_reason(&res->submods[0], "policy_violation",
		    "tcb.status");
		assert_string_equal(sev(r), "contraindicated");
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(r, "actual"), "status")), st[i]);
		assert_string_equal(json_string_value(json_array_get(
		    json_object_get(json_object_get(res->submods[0].claims,
		    "tcb"), "advisory_ids"), 0)), "INTEL-SA-00615");
		av_result_free(res);
		/* accepted by the policy */
		snprintf(acc, sizeof(acc), "%s", st[i]);
		ok = policy(json_pack("{s:[s,s]}", "tcb_status", "UpToDate",
		    acc));
		res = run_tcb(NULL, &ts, NULL, ok);
		if (res->submods[0].status != AV_STATUS_AFFIRMING)
			fail_msg("%s: %s", st[i],
			    dump(res->submods[0].reasons));
		av_result_free(res);
		av_policy_free(ok);
		/* accepted through its advisories */
		ok = policy(json_pack("{s:{s:[s]}}", "advisory_ids", "accept",
		    "INTEL-SA-00615"));
		res = run_tcb(NULL, &ts, NULL, ok);
		assert_int_equal(res->submods[0].status, AV_STATUS_AFFIRMING);
		av_result_free(res);
		av_policy_free(ok);
		/* rejected through its advisories even when accepted */
		ok = policy(json_pack("{s:[s,s], s:{s:[s]}}", "tcb_status",
		    "UpToDate", acc, "advisory_ids", "reject",
		    "INTEL-SA-00615"));
		res = run_tcb(NULL, &ts, NULL, ok);
		assert_reasons(&res->submods[0], "policy_violation", NULL);
		avt_find_reason(&res->submods[0], "policy_violation",
		    "tcb.advisory_ids");
		av_result_free(res);
		av_policy_free(ok);
	}
	av_policy_free(pol);
}

static void
test_tcb_out_of_date(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct av_result		*res;
	struct av_policy		*pol = policy(mrtd_section()), *p2;
	json_t				*r;

	(void)state;
	/* a TDX component behind: tee_tcb_svn[2] = 2 < 3 */
	avt_tdx_quote_spec_init(&s);
	s.tee_tcb_svn[2] = 2;
	res = run_tcb(&s, NULL, NULL, pol);
	r = avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	assert_string_equal(sev(r), "contraindicated");
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "OutOfDate");
	assert_string_equal(claim_str(&res->submods[0], "tcb.tcb_date"),
	    "2024-03-13T00:00:00Z");
	assert_behind(&res->submods[0], "tdx component 2: have 2, need 3",
	    NULL);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(r, "actual"), "components"), 0)),
	    "tdx component 2: have 2, need 3");
	assert_int_equal(json_array_size(json_object_get(json_object_get(
	    res->submods[0].claims, "tcb"), "advisory_ids")), 2);
	av_result_free(res);

	/* accepted with a grace period counted from the missed recovery
	   (2024-11-13): 1.5 years ago at T0, so 2 years of grace warn */
	p2 = policy(json_pack("{s:i}", "out_of_date_grace_s", 2 * 365 * 86400));
	avt_tdx_quote_spec_init(&s);
	s.tee_tcb_svn[2] = 2;
	res = run_tcb(&s, NULL, NULL, p2);
	assert_int_equal(res->submods[0].status, AV_STATUS_WARNING);
	r = avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	assert_string_equal(sev(r), "warning");
	av_result_free(res);
	av_policy_free(p2);
	p2 = policy(json_pack("{s:i}", "out_of_date_grace_s", 30 * 86400));
	res = run_tcb(&s, NULL, NULL, p2);
	r = avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	assert_string_equal(sev(r), "contraindicated");
	av_result_free(res);
	av_policy_free(p2);
	/* without a policy: a warning */
	res = run_tcb(&s, NULL, NULL, NULL);
	r = avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	assert_string_equal(sev(r), "warning");
	av_result_free(res);

	/* the TDX module behind (TDX_01 isvsvn 3 < 5) */
	avt_tdx_quote_spec_init(&s);
	s.tee_tcb_svn[0] = 3;
	res = run_tcb(&s, NULL, NULL, pol);
	avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	assert_string_equal(claim_str(&res->submods[0],
	    "tcb.tdx_module_status"), "OutOfDate");
	assert_string_equal(claim_str(&res->submods[0], "tcb.tdx_status"),
	    "UpToDate");
	assert_behind(&res->submods[0], "tdx module TDX_01 svn: have 3, need 5",
	    NULL);
	av_result_free(res);

	/* SGX components and PCESVN behind */
	{
		struct avt_tdx_pck_spec ps = F->t->pck_spec;

		ps.comp_svn[0] = 2;
		ps.comp_svn[4] = 3;
		assert_int_equal(avt_tdx_set_pck(F->t, &ps), 0);
		res = run_tcb(NULL, NULL, NULL, pol);
		avt_find_reason(&res->submods[0], "tcb_out_of_date",
		    "tcb.status");
		assert_string_equal(claim_str(&res->submods[0],
		    "tcb.sgx_status"), "OutOfDate");
		assert_behind(&res->submods[0],
		    "sgx component 0: have 2, need 3",
		    "sgx component 4: have 3, need 4", NULL);
		av_result_free(res);
		ps.pcesvn = 11;
		assert_int_equal(avt_tdx_set_pck(F->t, &ps), 0);
		res = run_tcb(NULL, NULL, NULL, pol);
		assert_string_equal(claim_str(&res->submods[0], "tcb.tcb_date"),
		    "2018-01-04T00:00:00Z");
		assert_behind(&res->submods[0],
		    "sgx component 0: have 2, need 3",
		    "sgx component 4: have 3, need 4",
		    "pcesvn: have 11, need 13", NULL);
		av_result_free(res);
		ps.comp_svn[0] = 3;
		ps.comp_svn[4] = 4;
		ps.pcesvn = 13;
		assert_int_equal(avt_tdx_set_pck(F->t, &ps), 0);
	}

	/* the QE behind: OutOfDate */
	avt_tdx_quote_spec_init(&s);
	s.qe_isvsvn = 5;
	res = run_tcb(&s, NULL, NULL, pol);
	avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	assert_string_equal(claim_str(&res->submods[0], "tcb.qe_status"),
	    "OutOfDate");
	assert_string_equal(claim_str(&res->submods[0], "qe.tcb_status"),
	    "OutOfDate");
	assert_behind(&res->submods[0], "qe isvsvn: have 5, need 8", NULL);
	av_result_free(res);
	av_policy_free(pol);
}

static void
test_tcb_converge(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct avt_tdx_tcb_spec		 ts;
	struct avt_tdx_qe_spec		 qs;
	struct av_result		*res;
	struct av_policy		*pol = policy(mrtd_section());

	(void)state;
	/* ConfigurationNeeded platform + out-of-date module */
	avt_tdx_quote_spec_init(&s);
	s.tee_tcb_svn[0] = 3;
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.levels[0].status = "ConfigurationNeeded";
	res = run_tcb(&s, &ts, NULL, pol);
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "OutOfDateConfigurationNeeded");
	avt_find_reason(&res->submods[0], "tcb_out_of_date", "tcb.status");
	av_result_free(res);

	/* module revoked */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.modules[0].levels[1].status = "Revoked";
	res = run_tcb(&s, &ts, NULL, pol);
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "Revoked");
	assert_reasons(&res->submods[0], "tcb_revoked", NULL);
	av_result_free(res);

	/* platform level revoked */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.levels[0].status = "Revoked";
	res = run_tcb(NULL, &ts, NULL, NULL);
	assert_reasons(&res->submods[0], "tcb_revoked", "no_reference_values",
	    NULL);
	av_result_free(res);

	/* QE revoked */
	avt_tdx_quote_spec_init(&s);
	s.qe_isvsvn = 5;
	avt_tdx_qe_spec_init(&qs, F->t);
	qs.levels[1].status = "Revoked";
	res = run_tcb(&s, NULL, &qs, pol);
	assert_reasons(&res->submods[0], "tcb_revoked", NULL);
	av_result_free(res);

	/* QE below every level: not supported */
	avt_tdx_quote_spec_init(&s);
	s.qe_isvsvn = 3;
	res = run_tcb(&s, NULL, NULL, pol);
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "TcbLevelNotSupported");
	assert_reasons(&res->submods[0], "tcb_level_unsupported", NULL);
	av_result_free(res);

	/* tee_tcb_svn[1] == 0: components 0 and 1 compared, tdxModule used */
	avt_tdx_quote_spec_init(&s);
	s.tee_tcb_svn[1] = 0;
	res = run_tcb(&s, NULL, NULL, pol);
	assert_int_equal(res->submods[0].status, AV_STATUS_AFFIRMING);
	assert_null(json_object_get(json_object_get(res->submods[0].claims,
	    "tcb"), "tdx_module_identity"));
	av_result_free(res);
	s.tee_tcb_svn[0] = 4;	/* index 0 now counts: 4 < 5 everywhere */
	res = run_tcb(&s, NULL, NULL, pol);
	assert_reasons(&res->submods[0], "tcb_level_unsupported", NULL);
	assert_behind(&res->submods[0], "tdx component 0: have 4, need 5",
	    NULL);
	av_result_free(res);
	av_policy_free(pol);
}

static void
test_tcb_unsupported(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct av_result		*res;
	struct av_policy		*pol = policy(mrtd_section());
	struct avt_tdx_pck_spec		 ps = F->t->pck_spec;
	json_t				*r;

	(void)state;
	/* SGX component 0 below every level */
	ps.comp_svn[0] = 1;
	assert_int_equal(avt_tdx_set_pck(F->t, &ps), 0);
	res = run_tcb(NULL, NULL, NULL, NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_CONTRAINDICATED);
	r = avt_find_reason(&res->submods[0], "tcb_level_unsupported",
	    "tcb.status");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(r, "actual"), "components"), 0)),
	    "sgx component 0: have 1, need 3");
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "TcbLevelNotSupported");
	av_result_free(res);
	assert_int_equal(avt_tdx_set_pck(F->t, &F->t->pck_spec), 0);
	ps.comp_svn[0] = 3;
	assert_int_equal(avt_tdx_set_pck(F->t, &ps), 0);

	/* a TDX module version with no identity (TDX_02) */
	avt_tdx_quote_spec_init(&s);
	s.tee_tcb_svn[1] = 2;
	res = run_tcb(&s, NULL, NULL, pol);
	r = avt_find_reason(&res->submods[0], "tcb_level_unsupported",
	    "tcb.tdx_module");
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    "TDX_02");
	av_result_free(res);

	/* a TDX module not signed by Intel */
	avt_tdx_quote_spec_init(&s);
	s.mrsignerseam[0] = 1;
	res = run_tcb(&s, NULL, NULL, pol);
	assert_reasons(&res->submods[0], "measurement_mismatch", NULL);
	avt_find_reason(&res->submods[0], "measurement_mismatch",
	    "mrsignerseam");
	av_result_free(res);
	avt_tdx_quote_spec_init(&s);
	s.seam_attributes[0] = 1;
	res = run_tcb(&s, NULL, NULL, pol);
	avt_find_reason(&res->submods[0], "measurement_mismatch",
	    "seam_attributes");
	av_result_free(res);
	av_policy_free(pol);
}

static void
test_qe_identity_mismatch(void **state)
{
	struct avt_tdx_qe_spec	 qs;
	struct av_result	*res;
	json_t			*r;

	(void)state;
	avt_tdx_qe_spec_init(&qs, F->t);
	qs.mrsigner[0] ^= 1;
	res = run_tcb(NULL, NULL, &qs, NULL);
	r = avt_find_reason(&res->submods[0], "qe_identity_mismatch",
	    "qe.mrsigner");
	assert_string_equal(sev(r), "contraindicated");
	av_result_free(res);

	avt_tdx_qe_spec_init(&qs, F->t);
	qs.isvprodid = 1;
	res = run_tcb(NULL, NULL, &qs, NULL);
	avt_find_reason(&res->submods[0], "qe_identity_mismatch",
	    "qe.isvprodid");
	av_result_free(res);

	avt_tdx_qe_spec_init(&qs, F->t);
	qs.attributes[1] = 0x01;
	res = run_tcb(NULL, NULL, &qs, NULL);
	avt_find_reason(&res->submods[0], "qe_identity_mismatch",
	    "qe.attributes");
	av_result_free(res);

	avt_tdx_qe_spec_init(&qs, F->t);
	qs.miscselect = 1;
	res = run_tcb(NULL, NULL, &qs, NULL);
	avt_find_reason(&res->submods[0], "qe_identity_mismatch",
	    "qe.miscselect");
	av_result_free(res);

	avt_tdx_qe_spec_init(&qs, F->t);
	qs.id = "QE";
	res = run_tcb(NULL, NULL, &qs, NULL);
	avt_find_reason(&res->submods[0], "qe_identity_mismatch",
	    "collateral.qe_identity");
	av_result_free(res);
}

/* ---- appraisal ------------------------------------------------------------------ */

static void
test_appraise(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct av_result		*res;
	struct av_policy		*pol;
	json_t				*r;
	char				*h;
	uint8_t				*p;
	size_t				 n;

	(void)state;
	/* MRTD not in the list */
	pol = policy(json_pack("{s:[s]}", "mrtd",
	    "000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000"));
	p = default_quote(&n);
	res = run_item(item_full(p, n), pol, NULL);
	r = avt_find_reason(&res->submods[0], "measurement_mismatch", "mrtd");
	assert_int_equal(json_array_size(json_object_get(r, "expected")), 1);
	assert_reasons(&res->submods[0], "measurement_mismatch", NULL);
	av_result_free(res);
	av_policy_free(pol);

	/* every RTMR and config register, any-of */
	avt_tdx_quote_spec_init(&s);
	{
		json_t	*sec = json_object();
		char	 k[8];

		for (int i = 0; i < 4; i++) {
			snprintf(k, sizeof(k), "rtmr%d", i);
			h = av_hex_encode(s.rtmr[i], 48);
			json_object_set_new(sec, k, json_pack("[s,s]",
			    "00000000000000000000000000000000000000000000000000"
			    "0000000000000000000000000000000000000000000000", h));
			free(h);
		}
		h = av_hex_encode(s.mrowner, 48);
		json_object_set_new(sec, "mrowner", json_string(h));
		free(h);
		h = av_hex_encode(s.mrconfigid, 48);
		json_object_set_new(sec, "mrconfigid", json_string(h));
		free(h);
		json_object_set_new(sec, "xfam", json_string("e71a060000000000"));
		json_object_set_new(sec, "td_attributes", json_pack("{s:b}",
		    "sept_ve_disable", 1));
		json_object_set_new(sec, "min_tdx_module", json_pack("{s:i,s:i}",
		    "major", 1, "svn", 5));
		pol = policy(sec);
	}
	res = run_item(item_full(p, n), pol, NULL);
	if (res->submods[0].status != AV_STATUS_AFFIRMING)
		fail_msg("%s", dump(res->submods[0].reasons));
	av_result_free(res);
	av_policy_free(pol);
	free(p);

	/* debug TD: forbidden by default, allowed when asked */
	avt_tdx_quote_spec_init(&s);
	s.td_attributes |= 1;
	p = quote(&s, &n);
	pol = policy(mrtd_section());
	res = run_item(item_full(p, n), pol, NULL);
	assert_reasons(&res->submods[0], "debug_enabled", NULL);
	assert_true(json_is_true(json_object_get(res->submods[0].claims,
	    "debug")));
	av_result_free(res);
	av_policy_free(pol);
	pol = policy(json_pack("{s:{s:b}}", "td_attributes", "debug", 1));
	res = run_item(item_full(p, n), pol, NULL);
	assert_int_equal(res->submods[0].status, AV_STATUS_AFFIRMING);
	av_result_free(res);
	av_policy_free(pol);
	/* attribute bits the policy pins */
	pol = policy(json_pack("{s:{s:b, s:b, s:b}}", "td_attributes", "debug",
	    1, "sept_ve_disable", 0, "perfmon", 0));
	res = run_item(item_full(p, n), pol, NULL);
	assert_reasons(&res->submods[0], "policy_violation", NULL);
	avt_find_reason(&res->submods[0], "policy_violation",
	    "td_attributes.sept_ve_disable");
	av_result_free(res);
	av_policy_free(pol);
	free(p);

	/* the TDX module older than the policy's minimum */
	pol = policy(json_pack("{s:{s:i,s:i}}", "min_tdx_module", "major", 1,
	    "svn", 6));
	p = default_quote(&n);
	res = run_item(item_full(p, n), pol, NULL);
	r = avt_find_reason(&res->submods[0], "version_below_minimum",
	    "tdx_module");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r,
	    "actual"), "svn")), 5);
	av_result_free(res);
	av_policy_free(pol);

	/* MRSERVICETD on a TD 1.0 quote */
	pol = policy(json_pack("{s:s}", "mrservicetd",
	    "000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000"));
	res = run_item(item_full(p, n), pol, NULL);
	avt_find_reason(&res->submods[0], "measurement_mismatch",
	    "mrservicetd");
	av_result_free(res);
	av_policy_free(pol);
	free(p);
}

static void
test_binding(void **state)
{
	struct avt_tdx_quote_spec	 s;
	struct av_result		*res;
	struct av_policy		*pol;
	struct run_opts			 o = { 0 };
	uint8_t				 nonce[32], rt[65], h[64], *p;
	size_t				 n;
	json_t				*r;

	(void)state;
	memset(nonce, 0x42, sizeof(nonce));
	memset(rt, 0x04, sizeof(rt));
	/* raw nonce, zero-padded */
	avt_tdx_quote_spec_init(&s);
	memset(s.report_data, 0, 64);
	memcpy(s.report_data, nonce, 32);
	p = quote(&s, &n);
	o.nonce = nonce;
	o.nonce_len = 32;
	res = run_item(item_full(p, n), NULL, &o);
	assert_reasons(&res->submods[0], "no_reference_values", NULL);
	assert_string_equal(claim_str(&res->submods[0], "report_data_binding"),
	    "raw");
	av_result_free(res);
	/* ... with runtime data it must be the hash */
	o.rt = rt;
	o.rt_len = sizeof(rt);
	res = run_item(item_full(p, n), NULL, &o);
	r = avt_find_reason(&res->submods[0], "binding_mismatch", "report_data");
	assert_string_equal(sev(r), "contraindicated");
	av_result_free(res);
	/* a policy fixing SHA-512 refuses the raw form */
	pol = policy(json_pack("{s:s}", "report_data", "sha512"));
	o.rt = NULL;
	res = run_item(item_full(p, n), pol, &o);
	avt_find_reason(&res->submods[0], "nonce_mismatch", "report_data");
	av_result_free(res);
	av_policy_free(pol);
	free(p);

	/* SHA-512(nonce || runtime_data) */
	{
		uint8_t buf[32 + 65];

		memcpy(buf, nonce, 32);
		memcpy(buf + 32, rt, 65);
		av_sha512(buf, sizeof(buf), h);
	}
	avt_tdx_quote_spec_init(&s);
	memcpy(s.report_data, h, 64);
	p = quote(&s, &n);
	o.rt = rt;
	res = run_item(item_full(p, n), NULL, &o);
	assert_reasons(&res->submods[0], "no_reference_values", NULL);
	assert_non_null(res->submods[0].key_attestation);
	assert_string_equal(claim_str(&res->submods[0], "report_data_binding"),
	    "sha512");
	av_result_free(res);
	pol = policy(json_pack("{s:s}", "report_data", "raw"));
	res = run_item(item_full(p, n), pol, &o);
	avt_find_reason(&res->submods[0], "binding_mismatch", "report_data");
	av_result_free(res);
	av_policy_free(pol);
	/* wrong nonce */
	nonce[0] ^= 1;
	res = run_item(item_full(p, n), NULL, &o);
	avt_find_reason(&res->submods[0], "binding_mismatch", "report_data");
	av_result_free(res);
	o.rt = NULL;
	res = run_item(item_full(p, n), NULL, &o);
	avt_find_reason(&res->submods[0], "nonce_mismatch", "report_data");
	av_result_free(res);
	free(p);
}

static void
test_policy_compile(void **state)
{
	(void)state;
	policy_bad(json_pack("{s:i}", "mrtdd", 1), "evidence.tdx.mrtdd",
	    "unknown key");
	policy_bad(json_pack("{s:s}", "mrtd", "00"), "evidence.tdx.mrtd",
	    "96 hex digits");
	policy_bad(json_pack("{s:[]}", "rtmr0"), "evidence.tdx.rtmr0", "empty");
	policy_bad(json_pack("{s:s}", "xfam", "0011"), "evidence.tdx.xfam",
	    "16 hex digits");
	policy_bad(json_pack("{s:[s]}", "tcb_status", "Revoked"),
	    "evidence.tdx.tcb_status", "item 0");
	policy_bad(json_pack("{s:[s,s]}", "tcb_status", "OutOfDate",
	    "OutOfDate"), "evidence.tdx.tcb_status", "duplicate");
	policy_bad(json_pack("{s:{s:b}}", "td_attributes", "debugg", 1),
	    "evidence.tdx.td_attributes.debugg", "unknown key");
	policy_bad(json_pack("{s:{s:i}}", "td_attributes", "debug", 1),
	    "evidence.tdx.td_attributes.debug", "true or false");
	policy_bad(json_pack("{s:s}", "report_data", "sha256"),
	    "evidence.tdx.report_data", "sha512");
	policy_bad(json_pack("{s:{s:[]}}", "advisory_ids", "reject"),
	    "evidence.tdx.advisory_ids.reject", "non-empty");
	policy_bad(json_pack("{s:{s:i}}", "min_tdx_module", "major", 1),
	    "evidence.tdx.min_tdx_module.svn", "integer");
	policy_bad(json_pack("{s:i}", "out_of_date_grace_s", -1),
	    "evidence.tdx.out_of_date_grace_s", "integer");
}

/* ---- collateral from the store and from a mock PCS ----------------------------- */

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[1024];
	FILE	*f;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    sizeof(path));
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

static void
test_collateral_store(void **state)
{
	struct av_coll_fetch_cfg	 cfg = { .online = false };
	struct avt_tdx_tcb_spec		 ts;
	struct av_collateral		*coll;
	struct av_result		*res;
	struct run_opts			 o = { 0 };
	struct av_err			 e = { 0 };
	char				*dir, *chain, *other;
	uint8_t				*p;
	size_t				 n;

	(void)state;
	assert_non_null(dir = avt_tmpdir());
	assert_non_null(chain = avt_tdx_tcb_chain_pem(F->t));
	write_file(dir, "tcb.json", F->tcb);
	write_file(dir, "qe.json", F->qe);
	write_file(dir, "pck.crl", F->pck_crl);
	write_file(dir, "root.crl", F->root_crl);
	write_file(dir, "chain.pem", chain);
	/* a TCB info for another FMSPC must not be picked */
	avt_tdx_tcb_spec_init(&ts, F->t);
	ts.fmspc[5] = 9;
	ts.levels[0].status = "Revoked";
	assert_non_null(other = avt_tdx_tcb_info(F->t, &ts));
	write_file(dir, "other.json", other);
	assert_non_null(coll = av_collateral_new(&cfg));
	assert_int_equal(av_collateral_add_dir(coll, dir, &e), 0);
	o.coll = coll;
	p = default_quote(&n);
	res = run_item(avt_tdx_item(NULL, p, n, NULL, NULL, NULL, NULL), NULL,
	    &o);
	assert_reasons(&res->submods[0], "no_reference_values", NULL);
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "UpToDate");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.tcb_info.source"), "store");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.root_ca_crl.source"), "store");
	av_result_free(res);
	/* the request still wins over the store */
	res = run_item(avt_tdx_item(F->t, p, n, other, NULL, NULL, NULL), NULL,
	    &o);
	avt_find_reason(&res->submods[0], "collateral_invalid", "fmspc");
	av_result_free(res);
	av_collateral_free(coll);
	avt_rmtree(dir);
	free(dir);
	free(chain);
	free(other);
	free(p);
}

static void
test_collateral_pcs(void **state)
{
	struct av_coll_fetch_cfg	 cfg = { .online = true, .timeout_s = 10 };
	struct av_collateral		*coll;
	struct av_result		*res;
	struct run_opts			 o = { 0 };
	char				*dir, *cache, *chain, *pca, url[64];
	char				 path[1024], hdr[16384];
	uint8_t				*p;
	size_t				 n;
	struct avt_mock			 mock;

	(void)state;
	assert_non_null(dir = avt_tmpdir());
	assert_non_null(cache = avt_tmpdir());
	assert_non_null(chain = avt_tdx_tcb_chain_pem(F->t));
	assert_non_null(pca = avt_tdx_pca_chain_pem(F->t));
	snprintf(path, sizeof(path), "%s/tdx/certification/v4/qe", dir);
	assert_int_equal(system((snprintf(hdr, sizeof(hdr), "mkdir -p '%s' "
	    "'%s/sgx/certification/v4'", path, dir), hdr)), 0);
	write_file(dir, "tdx/certification/v4/tcb?fmspc=20A06F000000", F->tcb);
	write_file(dir, "tdx/certification/v4/qe/identity", F->qe);
	write_file(dir, "sgx/certification/v4/pckcrl?ca=platform&encoding=der",
	    F->pck_crl);
	write_file(dir, "sgx/certification/v4/rootcacrl", F->root_crl);
	/* issuer chains in sidecar headers, URL-encoded as Intel sends them */
	write_file(dir, "tcb-chain.pem", chain);
	write_file(dir,
	    "tdx/certification/v4/tcb?fmspc=20A06F000000.headers.json",
	    "{\"TCB-Info-Issuer-Chain\": {\"file\": \"tcb-chain.pem\", "
	    "\"urlencode\": true}}");
	write_file(dir, "tdx/certification/v4/qe/identity.headers.json",
	    "{\"SGX-Enclave-Identity-Issuer-Chain\": {\"file\": "
	    "\"tcb-chain.pem\", \"urlencode\": true}}");
	if (!avt_mock_available() || avt_mock_start(&mock, dir, NULL) != 0) {
		print_message("skipped: mock_vendor_server.py not runnable\n");
		goto done;
	}
	snprintf(url, sizeof(url), "%s", mock.base);
	cfg.intel_pcs_url = url;
	cfg.cache_dir = cache;
	assert_non_null(coll = av_collateral_new(&cfg));
	o.coll = coll;
	p = default_quote(&n);
	res = run_item(avt_tdx_item(NULL, p, n, NULL, NULL, NULL, NULL), NULL,
	    &o);
	assert_reasons(&res->submods[0], "no_reference_values", NULL);
	assert_string_equal(claim_str(&res->submods[0], "tcb.status"),
	    "UpToDate");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.tcb_info.source"), "pcs");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.qe_identity.source"), "pcs");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.pck_crl.source"), "pcs");
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.root_ca_crl.source"), "pcs");
	av_result_free(res);
	av_collateral_free(coll);
	avt_mock_stop(&mock);

	/* offline afterwards: the cache answers */
	cfg.online = false;
	assert_non_null(coll = av_collateral_new(&cfg));
	o.coll = coll;
	res = run_item(avt_tdx_item(NULL, p, n, NULL, NULL, NULL, NULL), NULL,
	    &o);
	assert_reasons(&res->submods[0], "no_reference_values", NULL);
	assert_string_equal(claim_str(&res->submods[0],
	    "collateral.tcb_info.source"), "pcs");
	av_result_free(res);
	av_collateral_free(coll);
	free(p);
 done:
	avt_rmtree(dir);
	avt_rmtree(cache);
	free(dir);
	free(cache);
	free(chain);
	free(pca);
}

/* ---- seeds ------------------------------------------------------------------------ */

struct seed {
	const char	*name;
	const char	*expect;	/* NULL: parses */
};

/* Write (when AV_TDX_REGEN_SEEDS=1) or check the seeds in evidence/. */
static void
save_seed(const char *dir, const char *name, const uint8_t *p, size_t n,
    const char *expect)
{
	char	 path[4096 + 256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
	if (expect != NULL) {
		snprintf(path, sizeof(path), "%s/%s.expect", dir, name);
		assert_non_null(f = fopen(path, "wb"));
		fprintf(f, "%s\n", expect);
		fclose(f);
	}
}

static void
regen_seeds(const char *src)
{
	struct avt_tdx_quote_spec	 s;
	char				 good[1024], bad[1024], pck[1024];
	char				 cmd[4096];
	uint8_t				*p;
	size_t				 n;

	snprintf(good, sizeof(good), "%s/evidence/tdx/good", src);
	snprintf(bad, sizeof(bad), "%s/evidence/tdx/bad", src);
	snprintf(pck, sizeof(pck), "%s/evidence/tdx-pck", src);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s' '%s'", good, bad, pck);
	assert_int_equal(system(cmd), 0);

	avt_tdx_quote_spec_init(&s);
	p = quote(&s, &n);
	save_seed(good, "v4.dat", p, n, NULL);
	save_seed(bad, "truncated-1000.dat", p, 1000, "tdx: truncated");
	p[0] = 3;
	save_seed(bad, "version-3.dat", p, n, "unsupported quote version");
	free(p);
	s.trailing = 70;
	p = quote(&s, &n);
	save_seed(good, "v4-padded.dat", p, n, NULL);
	free(p);
	avt_tdx_quote_spec_init(&s);
	s.version = 5;
	s.body_type = 3;
	p = quote(&s, &n);
	save_seed(good, "v5-td15.dat", p, n, NULL);
	p[48] = 2;
	save_seed(bad, "v5-body-type-size.dat", p, n,
	    "body type and size disagree");
	free(p);
	s.body_type = 2;
	p = quote(&s, &n);
	save_seed(good, "v5-td10.dat", p, n, NULL);
	free(p);
	avt_tdx_quote_spec_init(&s);
	s.cert_type = 5;
	p = quote(&s, &n);
	save_seed(good, "cert-type-5.dat", p, n, NULL);
	free(p);
	avt_tdx_quote_spec_init(&s);
	s.inner_type = 3;
	p = quote(&s, &n);
	save_seed(bad, "inner-type-3.dat", p, n, "does not hold a PCK chain");
	free(p);
	avt_tdx_quote_spec_init(&s);
	s.att_key_type = 3;
	p = quote(&s, &n);
	save_seed(bad, "att-key-type-3.dat", p, n, "ECDSA P-256");
	free(p);
	p = pck_ext_der(&n);
	save_seed(pck, "sgx-ext.der", p, n, NULL);
	save_seed(pck, "sgx-ext-truncated.der", p, n - 7, NULL);
	free(p);
	save_seed(pck, "tcb-info.json", (const uint8_t *)F->tcb,
	    strlen(F->tcb), NULL);
	save_seed(pck, "qe-identity.json", (const uint8_t *)F->qe,
	    strlen(F->qe), NULL);
}

/* Every seed parses, or fails with the reason in its .expect file. */
static void
test_seeds(void **state)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	char		 dir[1024], path[2048];
	DIR		*d;
	struct dirent	*de;
	size_t		 ngood = 0, nbad = 0;

	(void)state;
	if (src == NULL) {
		print_message("skipped: AV_SOURCE_DIR not set\n");
		return;
	}
	if (getenv("AV_TDX_REGEN_SEEDS") != NULL &&
	    strcmp(getenv("AV_TDX_REGEN_SEEDS"), "1") == 0)
		regen_seeds(src);
	for (int pass = 0; pass < 2; pass++) {
		snprintf(dir, sizeof(dir), "%s/evidence/tdx/%s", src,
		    pass == 0 ? "good" : "bad");
		if ((d = opendir(dir)) == NULL)
			fail_msg("no seeds in %s", dir);
		while ((de = readdir(d)) != NULL) {
			struct tdx_quote	*q = NULL;
			struct av_err		 e = { 0 };
			uint8_t			*p, *x;
			size_t			 n, xn;

			if (de->d_name[0] == '.' ||
			    strstr(de->d_name, ".expect") != NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			assert_non_null(p = avt_read_file(path, &n));
			if (pass == 0) {
				if (tdx_quote_parse(p, n, &q, &e) != 0)
					fail_msg("%s: %s", path, e.reason);
				tdx_quote_free(q);
				ngood++;
			} else {
				snprintf(path, sizeof(path), "%s/%s.expect",
				    dir, de->d_name);
				assert_non_null(x = avt_read_file(path, &xn));
				while (xn > 0 && x[xn - 1] == '\n')
					x[--xn] = '\0';
				if (tdx_quote_parse(p, n, &q, &e) == 0)
					fail_msg("%s parsed", de->d_name);
				if (strstr(e.reason, (char *)x) == NULL)
					fail_msg("%s: \"%s\" lacks \"%s\"",
					    de->d_name, e.reason, (char *)x);
				free(x);
				nbad++;
			}
			free(p);
		}
		closedir(d);
	}
	assert_true(ngood >= 5);
	assert_true(nbad >= 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v5),
		cmocka_unit_test(test_parse_trailing),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_pck_ext),
		cmocka_unit_test(test_pck_ext_hostile),
		cmocka_unit_test(test_json_span),
		cmocka_unit_test(test_tcb_info_parse),
		cmocka_unit_test(test_verify_good),
		cmocka_unit_test(test_verify_v5),
		cmocka_unit_test(test_verify_crypto),
		cmocka_unit_test(test_verify_chain_invalid),
		cmocka_unit_test(test_verify_cert_time),
		cmocka_unit_test(test_verify_revoked),
		cmocka_unit_test(test_collateral_missing),
		cmocka_unit_test(test_collateral_invalid),
		cmocka_unit_test(test_collateral_expired),
		cmocka_unit_test(test_tcb_statuses),
		cmocka_unit_test(test_tcb_out_of_date),
		cmocka_unit_test(test_tcb_converge),
		cmocka_unit_test(test_tcb_unsupported),
		cmocka_unit_test(test_qe_identity_mismatch),
		cmocka_unit_test(test_appraise),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_policy_compile),
		cmocka_unit_test(test_collateral_store),
		cmocka_unit_test(test_collateral_pcs),
		cmocka_unit_test(test_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
