/*
 * AWS Nitro backends (aws-nitro, aws-nitrotpm) through the real pipeline
 * (av_verify_request): synthetic documents from the test signer, signed
 * by a test root trusted as an operator anchor, each asserting the exact
 * status, reason code, claim and values.  Also replays the fuzz seeds in
 * evidence/aws-nitro/ against their .expect files, and regenerates them
 * when AV_NITRO_REGEN_SEEDS=1 (see docs/platforms/aws-nitro.md).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_nitro.h"
#include "avt_pki.h"

#define T0	1767225600LL	/* 2026-01-01T00:00:00Z */

struct fx {
	struct avt_nitro_pki	*pki;	/* trusted */
	struct avt_nitro_pki	*rogue;	/* not trusted */
	struct av_trust		*trust;
};

static struct fx *F;

static int
setup(void **state)
{
	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL)
		return -1;
	F->pki = avt_nitro_pki_new(T0 - 3600, T0 + 3 * 3600, NULL);
	F->rogue = avt_nitro_pki_new(T0 - 3600, T0 + 3 * 3600, NULL);
	F->trust = av_trust_new();
	if (F->pki == NULL || F->rogue == NULL || F->trust == NULL ||
	    av_trust_add_anchor(F->trust, "aws-nitro", F->pki->root) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	avt_nitro_pki_free(F->pki);
	avt_nitro_pki_free(F->rogue);
	av_trust_free(F->trust);
	free(F);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static uint8_t *
make(const struct avt_nitro_spec *s, const struct avt_nitro_pki *k,
    size_t *len)
{
	uint8_t *p = avt_nitro_make(s, k != NULL ? k : F->pki, len);

	assert_non_null(p);
	return p;
}

/* A section listing PCR0, 1, 2 and 8 of s. */
static json_t *
section_for(const struct avt_nitro_spec *s)
{
	json_t	*o = json_object();
	char	 k[16], *h;

	for (int i = 0; i <= 8; i += (i == 2 ? 6 : 1)) {
		snprintf(k, sizeof(k), "pcr%d", i);
		h = avt_nitro_pcr_hex(s, i);
		json_object_set_new(o, k, json_string(h));
		free(h);
	}
	return o;
}

/* Run one document through av_verify_request. */
static struct av_result *
run(const uint8_t *doc, size_t len, const char *type,
    const struct av_policy *pol, const uint8_t *nonce, size_t nonce_len,
    int64_t now)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = now, .trust = F->trust };

	assert_int_equal(av_request_from_raw(type, doc, len, &req, &e), 0);
	if (nonce != NULL) {
		req->nonce = malloc(nonce_len);
		assert_non_null(req->nonce);
		memcpy(req->nonce, nonce, nonce_len);
		req->nonce_len = nonce_len;
	}
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	assert_int_equal(res->nsubmods, 1);
	av_request_free(req);
	return res;
}

/* run() with a request nonce and runtime_data (either may be NULL). */
static struct av_result *
run_rt(const uint8_t *doc, size_t len, const struct av_policy *pol,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *rt, size_t rt_len)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust };

	assert_int_equal(av_request_from_raw("aws-nitro", doc, len, &req, &e),
	    0);
	if (nonce != NULL) {
		assert_non_null(req->nonce = malloc(nonce_len));
		memcpy(req->nonce, nonce, nonce_len);
		req->nonce_len = nonce_len;
	}
	if (rt != NULL) {
		assert_non_null(req->runtime_data = malloc(rt_len));
		memcpy(req->runtime_data, rt, rt_len);
		req->runtime_data_len = rt_len;
	}
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	assert_int_equal(res->nsubmods, 1);
	av_request_free(req);
	return res;
}

static const char *
code_at(const struct av_submod *sm, size_t i)
{
	return json_string_value(json_object_get(json_array_get(sm->reasons,
	    i), "code"));
}

/* The submod failed with exactly one reason, of this code. */
static void
assert_failed(const struct av_result *res, const char *code)
{
	avt_expect_only(&res->submods[0], code);
	assert_int_equal(res->status, AV_STATUS_CONTRAINDICATED);
}

/* Parse only (declared backend), expecting failure code and reason part. */
static void
expect_parse_fail(const uint8_t *doc, size_t len, const char *type,
    enum av_code code, const char *why)
{
	const struct av_backend	*b = av_backend_find(type);
	struct av_evidence	 ev = { .type = type, .data = doc, .len = len };
	struct av_err		 e = { 0 };
	void			*parsed = NULL;

	assert_non_null(b);
	if (b->parse(&ev, &parsed, &e) == 0) {
		b->free(parsed);
		fail_msg("%s parsed, expected %s", why, av_code_str(code));
	}
	assert_null(parsed);
	if (e.code != code)
		fail_msg("%s: got %s (%s), expected %s", why,
		    av_code_str(e.code), e.reason, av_code_str(code));
	if (why != NULL && strstr(e.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", e.reason, why);
}

static void
expect_spec_fail(const struct avt_nitro_spec *s, enum av_code code,
    const char *why)
{
	uint8_t		*doc;
	size_t		 len;
	struct av_result *res;

	doc = make(s, NULL, &len);
	expect_parse_fail(doc, len, s->tpm ? "aws-nitrotpm" : "aws-nitro",
	    code, why);
	/* and through the pipeline: one reason, that code */
	res = run(doc, len, s->tpm ? "aws-nitrotpm" : "aws-nitro", NULL, NULL,
	    0, T0);
	assert_failed(res, av_code_str(code));
	av_result_free(res);
	free(doc);
}

/* ---- good documents --------------------------------------------------- */

static void
test_good_affirming(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	const struct av_submod	*sm;
	uint8_t			*doc, pk[91], ud[19];
	size_t			 len;
	json_t			*c, *pcrs;
	char			*h;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	memset(pk, 0xa5, sizeof(pk));
	memset(ud, 0x5a, sizeof(ud));
	s.public_key = (struct avt_nitro_field){ AVT_OPT_BYTES, pk, sizeof(pk) };
	s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, ud, sizeof(ud) };
	doc = make(&s, NULL, &len);
	pol = avt_policy("aws-nitro", section_for(&s), NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	sm = &res->submods[0];
	if (res->status != AV_STATUS_AFFIRMING)
		fail_msg("not affirming: %s", json_dumps(sm->reasons, 0));
	assert_int_equal(json_array_size(sm->reasons), 0);
	assert_string_equal(sm->backend->name, "aws-nitro");
	assert_int_equal(sm->tv[AV_TV_INSTANCE], AV_AR_AFFIRM);
	assert_int_equal(sm->tv[AV_TV_HARDWARE], AV_AR_AFFIRM);
	assert_int_equal(sm->tv[AV_TV_RUNTIME_OPAQUE], AV_AR_ISOLATED_MEMORY);
	assert_int_equal(sm->tv[AV_TV_EXECUTABLES], AV_AR_AFFIRM);
	assert_int_equal(sm->tv[AV_TV_CONFIG], AV_AR_AFFIRM);

	c = sm->claims;
	assert_string_equal(json_string_value(json_object_get(c, "module_id")),
	    s.module_id);
	assert_string_equal(json_string_value(json_object_get(c, "digest")),
	    "SHA384");
	assert_int_equal(json_integer_value(json_object_get(c, "timestamp")),
	    T0 * 1000 + 123);
	assert_true(json_is_false(json_object_get(c, "debug")));
	assert_true(json_is_null(json_object_get(c, "nonce")));
	assert_int_equal(json_integer_value(json_object_get(c,
	    "cabundle_len")), 2);
	pcrs = json_object_get(c, "pcrs");
	assert_int_equal(json_object_size(pcrs), 16);
	for (int i = 0; i < 16; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%d", i);
		h = avt_nitro_pcr_hex(&s, i);
		assert_string_equal(json_string_value(json_object_get(pcrs,
		    k)), h);
		free(h);
	}
	h = av_hex_encode(ud, sizeof(ud));
	assert_string_equal(json_string_value(json_object_get(c, "user_data")),
	    h);
	free(h);
	h = av_hex_encode(pk, sizeof(pk));
	assert_string_equal(json_string_value(json_object_get(c,
	    "public_key")), h);
	free(h);
	/* key attestation carries the public key, base64url */
	assert_non_null(sm->key_attestation);
	h = av_b64url_encode(pk, sizeof(pk));
	assert_string_equal(json_string_value(json_object_get(
	    sm->key_attestation, "akpub")), h);
	free(h);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    c, "certificate"), "not_after")), "2026-01-01T03:00:00Z");
	av_result_free(res);
	av_policy_free(pol);
	free(doc);
}

static void
test_good_without_policy_is_warning(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	/* detected, not declared */
	res = run(doc, len, NULL, NULL, NULL, 0, T0);
	assert_string_equal(res->submods[0].backend->name, "aws-nitro");
	assert_int_equal(res->status, AV_STATUS_WARNING);
	assert_string_equal(code_at(&res->submods[0], 0), "no_reference_values");
	assert_int_equal(json_array_size(res->submods[0].reasons), 1);
	assert_null(res->submods[0].key_attestation);
	av_result_free(res);
	free(doc);
}

static void
test_tagged_and_indefinite(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	for (int v = 0; v < 3; v++) {
		avt_nitro_spec_init(&s, T0, false);
		s.tagged = (v != 1);
		s.indefinite = (v != 0);
		doc = make(&s, NULL, &len);
		assert_true(s.tagged == (doc[0] == 0xd2));
		pol = avt_policy("aws-nitro", section_for(&s), NULL);
		res = run(doc, len, NULL, pol, NULL, 0, T0);
		if (res->status != AV_STATUS_AFFIRMING)
			fail_msg("variant %d: %s", v,
			    json_dumps(res->submods[0].reasons, 0));
		assert_true(json_is_boolean(json_object_get(
		    res->submods[0].claims, "cose_tagged")));
		assert_true(json_boolean_value(json_object_get(
		    res->submods[0].claims, "cose_tagged")) == s.tagged);
		av_result_free(res);
		av_policy_free(pol);
		free(doc);
	}
}

/* ---- appraisal -------------------------------------------------------- */

static void
test_debug(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	json_t			*r, *sec;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	avt_nitro_spec_debug(&s);
	doc = make(&s, NULL, &len);
	/* debug forbidden by default */
	pol = avt_policy("aws-nitro", section_for(&s), NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_failed(res, "debug_enabled");
	r = avt_find_reason(&res->submods[0], "debug_enabled", "debug");
	assert_true(json_is_false(json_object_get(r, "expected")));
	assert_true(json_is_true(json_object_get(r, "actual")));
	assert_true(json_is_true(json_object_get(res->submods[0].claims,
	    "debug")));
	assert_int_equal(res->submods[0].tv[AV_TV_CONFIG], AV_AR_CONTRA);
	av_result_free(res);
	av_policy_free(pol);
	/* "debug": true allows it */
	sec = section_for(&s);
	json_object_set_new(sec, "debug", json_true());
	pol = avt_policy("aws-nitro", sec, NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	assert_true(json_is_true(json_object_get(res->submods[0].claims,
	    "debug")));
	av_result_free(res);
	av_policy_free(pol);
	/* "debug": false explicitly */
	sec = section_for(&s);
	json_object_set_new(sec, "debug", json_false());
	pol = avt_policy("aws-nitro", sec, NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_failed(res, "debug_enabled");
	av_result_free(res);
	av_policy_free(pol);
	free(doc);
}

static void
test_wrong_pcr(void **state)
{
	struct avt_nitro_spec	 s, other;
	struct av_policy	*pol;
	struct av_result	*res;
	json_t			*r, *sec;
	uint8_t			*doc;
	size_t			 len;
	char			*h, *h2;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	other = s;
	other.pcr[0][47] ^= 0xff;
	sec = section_for(&s);
	h = avt_nitro_pcr_hex(&other, 0);
	/* any-of: two values, neither the document's */
	other.pcr[0][0] ^= 0xff;
	h2 = avt_nitro_pcr_hex(&other, 0);
	json_object_set_new(sec, "pcr0", json_pack("[s,s]", h, h2));
	pol = avt_policy("aws-nitro", sec, NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_failed(res, "measurement_mismatch");
	r = avt_find_reason(&res->submods[0], "measurement_mismatch", "pcr0");
	assert_int_equal(json_array_size(json_object_get(r, "expected")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    r, "expected"), 0)), h);
	free(h);
	free(h2);
	h = avt_nitro_pcr_hex(&s, 0);
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    h);
	assert_int_equal(res->submods[0].tv[AV_TV_EXECUTABLES], AV_AR_CONTRA);
	/* claims still reported */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    res->submods[0].claims, "pcrs"), "0")), h);
	free(h);
	av_result_free(res);
	av_policy_free(pol);

	/* any-of: the second value matches */
	sec = section_for(&s);
	other = s;
	other.pcr[1][3] ^= 1;
	h = avt_nitro_pcr_hex(&other, 1);
	h2 = avt_nitro_pcr_hex(&s, 1);
	json_object_set_new(sec, "pcr1", json_pack("[s,s]", h, h2));
	free(h);
	free(h2);
	pol = avt_policy("aws-nitro", sec, NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	av_result_free(res);
	av_policy_free(pol);

	/* a PCR the document lacks */
	sec = section_for(&s);
	h = avt_nitro_pcr_hex(&s, 20);
	json_object_set_new(sec, "pcr20", json_string(h));
	free(h);
	pol = avt_policy("aws-nitro", sec, NULL);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_failed(res, "measurement_mismatch");
	r = avt_find_reason(&res->submods[0], "measurement_mismatch", "pcr20");
	assert_true(json_is_null(json_object_get(r, "actual")));
	av_result_free(res);
	av_policy_free(pol);
	free(doc);
}

/* ---- chain and signature ---------------------------------------------- */

static void
test_expired_leaf(void **state)
{
	struct avt_nitro_pki	*old;
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	/* a leaf that expired an hour before the verification time */
	old = avt_nitro_pki_new(T0 - 4 * 3600, T0 - 3600, NULL);
	assert_non_null(old);
	assert_int_equal(av_trust_add_anchor(F->trust, "aws-nitro",
	    old->root), 0);
	avt_nitro_spec_init(&s, T0 - 2 * 3600, false);
	doc = make(&s, old, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "cert_time_invalid");
	av_result_free(res);
	/* the same document verifies inside the leaf's window */
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0 - 2 * 3600);
	assert_int_equal(res->status, AV_STATUS_WARNING);
	av_result_free(res);
	/* and not before it */
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0 - 5 * 3600);
	assert_failed(res, "cert_time_invalid");
	av_result_free(res);
	free(doc);
	avt_nitro_pki_free(old);
}

static void
test_bad_signature(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	s.corrupt_sig = true;
	doc = make(&s, NULL, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "signature_invalid");
	assert_int_equal(res->submods[0].tv[AV_TV_INSTANCE],
	    AV_AR_CRYPTO_FAILED);
	/* no claims from an unverified document */
	assert_int_equal(json_object_size(res->submods[0].claims), 0);
	av_result_free(res);
	free(doc);

	/* signature over the payload bytes without their bstr head */
	avt_nitro_spec_init(&s, T0, false);
	s.sign_payload_only = true;
	doc = make(&s, NULL, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "signature_invalid");
	av_result_free(res);
	free(doc);

	/* one payload byte changed after signing (PCR0, as in the vectors) */
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	for (size_t i = 0; i + 48 <= len; i++)
		if (memcmp(doc + i, s.pcr[0], 48) == 0) {
			doc[i] ^= 1;
			break;
		}
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "signature_invalid");
	av_result_free(res);
	free(doc);
}

static void
test_definite_reencoded(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc, *d2;
	size_t			 len, i;

	(void)state;
	/*
	 * Sign an indefinite map, then rewrite it as definite with the same
	 * entries: the same map, other bytes; the signature must fail.
	 * 0xbf -> 0xa9 (9 keys) and drop the 0xff; the payload bstr head
	 * stays as long since the length does not change (-1 +0).
	 */
	avt_nitro_spec_init(&s, T0, false);
	s.indefinite = true;
	doc = make(&s, NULL, &len);
	for (i = 0; i < len && doc[i] != 0xbf; i++)
		;
	assert_true(i < len);
	/* payload head is 0x59 LL LL just before: shorten by one */
	assert_int_equal(doc[i - 3], 0x59);
	d2 = malloc(len);
	memcpy(d2, doc, len);
	d2[i] = 0xa9;
	{
		size_t pl = ((size_t)doc[i - 2] << 8 | doc[i - 1]) - 1;
		size_t end = i + pl;	/* index of the old 0xff */

		assert_int_equal(doc[end], 0xff);
		d2[i - 2] = (uint8_t)(pl >> 8);
		d2[i - 1] = (uint8_t)pl;
		memmove(d2 + end, doc + end + 1, len - end - 1);
	}
	res = run(d2, len - 1, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "signature_invalid");
	av_result_free(res);
	free(d2);
	free(doc);
}

static void
test_untrusted_root(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, F->rogue, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "untrusted_root");
	av_result_free(res);
	free(doc);
	/* cabundle without the root: cabundle[0] is no anchor */
	avt_nitro_spec_init(&s, T0, false);
	s.cabundle_leaf_only = true;
	doc = make(&s, NULL, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "untrusted_root");
	av_result_free(res);
	free(doc);
	/* a trust set without the test anchor (built-in pins only) */
	{
		struct av_trust	*t = F->trust;

		F->trust = av_trust_new();
		avt_nitro_spec_init(&s, T0, false);
		doc = make(&s, NULL, &len);
		res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
		assert_failed(res, "untrusted_root");
		av_result_free(res);
		free(doc);
		av_trust_free(F->trust);
		F->trust = t;
	}
}

static void
test_chain_invalid(void **state)
{
	struct avt_nitro_spec	 s;
	struct avt_nitro_pki	 mix;
	struct avt_cert_spec	 cs = { 0 };
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	/*
	 * The trusted root issues an intermediate that is not a CA
	 * (basicConstraints CA:FALSE), which then issues the leaf.
	 */
	mix = *F->pki;
	cs.cn = "attestd test nitro not-a-ca";
	cs.not_before = T0 - 86400;
	cs.not_after = T0 + 86400;
	cs.ca = false;
	mix.inter = avt_cert_new(&cs, F->pki->int_key, F->pki->root,
	    F->pki->root_key);
	assert_non_null(mix.inter);
	cs.cn = "i-0123456789abcdef0-enc0123456789abcdef.test.aws";
	mix.leaf = avt_cert_new(&cs, F->pki->leaf_key, mix.inter,
	    F->pki->int_key);
	assert_non_null(mix.leaf);
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, &mix, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "chain_invalid");
	av_result_free(res);
	free(doc);
	X509_free(mix.inter);
	X509_free(mix.leaf);
}

static void
test_leaf_not_p384(void **state)
{
	struct avt_nitro_pki	*k;
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	k = avt_nitro_pki_new(T0 - 3600, T0 + 3600, "P-256");
	assert_non_null(k);
	assert_int_equal(av_trust_add_anchor(F->trust, "aws-nitro", k->root),
	    0);
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, k, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "unsupported_algorithm");
	av_result_free(res);
	free(doc);
	avt_nitro_pki_free(k);
}

/* ---- format ----------------------------------------------------------- */

static void
test_truncated(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	/* every prefix is malformed, never anything else */
	for (size_t cut = 0; cut < len; cut++)
		expect_parse_fail(doc, cut, "aws-nitro", AV_E_MALFORMED, NULL);
	res = run(doc, len - 1, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "evidence_malformed");
	av_result_free(res);
	res = run(doc, len / 2, "aws-nitro", NULL, NULL, 0, T0);
	assert_failed(res, "evidence_malformed");
	av_result_free(res);
	free(doc);
}

static void
test_trailing_bytes(void **state)
{
	struct avt_nitro_spec s;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	s.trailing = 1;
	expect_spec_fail(&s, AV_E_MALFORMED, "trailing bytes");
	s.tagged = true;
	s.trailing = 7;
	expect_spec_fail(&s, AV_E_MALFORMED, "trailing bytes");
}

static void
test_wrong_alg(void **state)
{
	static const uint8_t es256[] = { 0xa1, 0x01, 0x26 };
	static const uint8_t es512[] = { 0xa1, 0x01, 0x38, 0x23 };
	static const uint8_t extra[] = { 0xa2, 0x01, 0x38, 0x22, 0x04, 0x40 };
	static const uint8_t text[] = { 0xa1, 0x01, 0x65, 'E', 'S', '3', '8',
	    '4' };
	static const uint8_t long_int[] = { 0xa1, 0x01, 0x39, 0x00, 0x22 };
	static const uint8_t indef[] = { 0xbf, 0x01, 0x38, 0x22, 0xff };
	static const uint8_t trail[] = { 0xa1, 0x01, 0x38, 0x22, 0x00 };
	static const uint8_t empty[] = { 0xa0 };
	static const struct { const uint8_t *p; size_t n; } v[] = {
		{ es256, sizeof(es256) }, { es512, sizeof(es512) },
		{ extra, sizeof(extra) }, { text, sizeof(text) },
		{ indef, sizeof(indef) }, { trail, sizeof(trail) },
		{ empty, sizeof(empty) }, { es256, 0 },
	};
	struct avt_nitro_spec	 s;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		avt_nitro_spec_init(&s, T0, false);
		s.prot = v[i].p;
		s.prot_len = v[i].n;
		expect_spec_fail(&s, AV_E_UNSUPPORTED_ALG, "ES384");
	}
	/* detection still recognises an ES256 document as Nitro */
	avt_nitro_spec_init(&s, T0, false);
	s.prot = es256;
	s.prot_len = sizeof(es256);
	doc = make(&s, NULL, &len);
	res = run(doc, len, NULL, NULL, NULL, 0, T0);
	assert_failed(res, "unsupported_algorithm");
	av_result_free(res);
	free(doc);
	/* a non-minimal encoding of -35 still means -35 */
	avt_nitro_spec_init(&s, T0, false);
	s.prot = long_int;
	s.prot_len = sizeof(long_int);
	doc = make(&s, NULL, &len);
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
	assert_int_equal(res->status, AV_STATUS_WARNING);
	av_result_free(res);
	free(doc);
}

static void
test_oversized_fields(void **state)
{
	static uint8_t	big[1025], ok[1024];
	struct avt_nitro_spec s;
	char		mod[300];

	(void)state;
	memset(big, 0x42, sizeof(big));
	memset(ok, 0x42, sizeof(ok));
	avt_nitro_spec_init(&s, T0, false);
	s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, big, 1025 };
	expect_spec_fail(&s, AV_E_MALFORMED, "over 1024 bytes");
	avt_nitro_spec_init(&s, T0, false);
	s.nonce = (struct avt_nitro_field){ AVT_OPT_BYTES, big, 1025 };
	expect_spec_fail(&s, AV_E_MALFORMED, "over 1024 bytes");
	avt_nitro_spec_init(&s, T0, false);
	s.public_key = (struct avt_nitro_field){ AVT_OPT_BYTES, big, 1025 };
	expect_spec_fail(&s, AV_E_MALFORMED, "over 1024 bytes");
	avt_nitro_spec_init(&s, T0, false);
	s.cert_pad = 1025;
	expect_spec_fail(&s, AV_E_MALFORMED, "certificate not 1..1024");
	avt_nitro_spec_init(&s, T0, false);
	s.cabundle_n = 17;
	expect_spec_fail(&s, AV_E_MALFORMED, "over 16 certificates");
	avt_nitro_spec_init(&s, T0, false);
	s.pcr_len = 49;
	expect_spec_fail(&s, AV_E_MALFORMED, "not 48 bytes");
	s.pcr_len = 32;
	expect_spec_fail(&s, AV_E_MALFORMED, "not 48 bytes");
	avt_nitro_spec_init(&s, T0, false);
	s.has_pcr_extra = true;
	s.pcr_extra = 32;
	expect_spec_fail(&s, AV_E_MALFORMED, "PCR index above 31");
	avt_nitro_spec_init(&s, T0, false);
	memset(mod, 'a', sizeof(mod));
	mod[256] = '\0';
	s.module_id = mod;
	expect_spec_fail(&s, AV_E_MALFORMED, "module_id not 1..255");
	s.module_id = "";
	expect_spec_fail(&s, AV_E_MALFORMED, "module_id not 1..255");
	/* the maxima themselves are fine */
	{
		struct av_result	*res;
		uint8_t			*doc;
		size_t			 len;

		avt_nitro_spec_init(&s, T0, false);
		s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, ok, 1024 };
		s.nonce = (struct avt_nitro_field){ AVT_OPT_BYTES, ok, 1024 };
		s.public_key = (struct avt_nitro_field){ AVT_OPT_BYTES, ok, 1024 };
		s.cabundle_n = 16;
		s.pcr_mask = 0xffffffffu;
		mod[255] = '\0';
		s.module_id = mod;
		doc = make(&s, NULL, &len);
		res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
		assert_int_equal(res->status, AV_STATUS_WARNING);
		assert_int_equal(json_object_size(json_object_get(
		    res->submods[0].claims, "pcrs")), 32);
		av_result_free(res);
		free(doc);
	}
	/* over 64 KiB as a whole */
	{
		uint8_t *huge = calloc(1, 64 * 1024 + 1);

		huge[0] = 0x84;
		expect_parse_fail(huge, 64 * 1024 + 1, "aws-nitro",
		    AV_E_MALFORMED, "over 64 KiB");
		free(huge);
	}
}

static void
test_payload_shape(void **state)
{
	struct avt_nitro_spec s;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	s.extra_key = "unexpected";
	expect_spec_fail(&s, AV_E_MALFORMED, "unknown payload key");
	avt_nitro_spec_init(&s, T0, false);
	s.dup_key = true;
	expect_spec_fail(&s, AV_E_MALFORMED, "duplicate payload key");
	avt_nitro_spec_init(&s, T0, false);
	s.digest = "SHA256";
	expect_spec_fail(&s, AV_E_MALFORMED, "digest is not SHA384");
	avt_nitro_spec_init(&s, T0, false);
	s.timestamp_ms = 0;
	expect_spec_fail(&s, AV_E_MALFORMED, "timestamp");
	static const char *const required[] = { "module_id", "digest",
	    "timestamp", "certificate", "cabundle" };
	for (size_t i = 0; i < 5; i++) {
		avt_nitro_spec_init(&s, T0, false);
		s.omit_key = required[i];
		expect_spec_fail(&s, AV_E_MALFORMED, "lacks a required key");
	}
	avt_nitro_spec_init(&s, T0, false);
	s.omit_key = "pcrs";
	expect_spec_fail(&s, AV_E_MALFORMED, "lacks pcrs");
	avt_nitro_spec_init(&s, T0, false);
	s.pcr_mask = 0xfffb;	/* no PCR2 */
	expect_spec_fail(&s, AV_E_MALFORMED, "PCR2");
	avt_nitro_spec_init(&s, T0, false);
	s.pcr_mask = 0;
	expect_spec_fail(&s, AV_E_MALFORMED, "empty pcrs");
	avt_nitro_spec_init(&s, T0, false);
	s.cabundle_n = 0;
	s.sig_len = 95;
	expect_spec_fail(&s, AV_E_MALFORMED, "not 96 bytes");
	s.sig_len = 97;
	expect_spec_fail(&s, AV_E_MALFORMED, "not 96 bytes");
	s.sig_len = 0;
	expect_spec_fail(&s, AV_E_MALFORMED, "not 96 bytes");
	/* optional fields may be absent or null */
	{
		struct av_result	*res;
		uint8_t			*doc;
		size_t			 len;

		avt_nitro_spec_init(&s, T0, false);
		s.public_key.kind = AVT_OPT_ABSENT;
		s.user_data.kind = AVT_OPT_ABSENT;
		s.nonce.kind = AVT_OPT_ABSENT;
		doc = make(&s, NULL, &len);
		res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0);
		assert_int_equal(res->status, AV_STATUS_WARNING);
		assert_true(json_is_null(json_object_get(
		    res->submods[0].claims, "user_data")));
		av_result_free(res);
		free(doc);
	}
}

static void
test_garbage(void **state)
{
	static const uint8_t junk[][8] = {
		{ 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x5b },
		{ 0xd2, 0xd2, 0x84 },
		{ 0xd1, 0x84 },
		{ 0x83, 0x40, 0xa0, 0x40 },
		{ 0x9f, 0x40, 0xa0, 0x40, 0x40, 0xff },
		{ 0x84, 0x5f, 0x40, 0xff, 0xa0, 0x40, 0x40 },
		{ 0x84, 0x40, 0x80, 0x40, 0x40 },
		{ 0x84, 0x40, 0xa0, 0xf6, 0x40 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		expect_parse_fail(junk[i], sizeof(junk[i]), "aws-nitro",
		    AV_E_MALFORMED, "cose: ");
	expect_parse_fail(junk[0], 0, "aws-nitro", AV_E_MALFORMED, "empty");
}

/* A COSE_Sign1 {1: -35} around payload p[0..n), with a 96-byte signature. */
static uint8_t *
frame(const uint8_t *p, size_t n, size_t *len)
{
	static const uint8_t	 head[] = { 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22,
				    0xa0, 0x5a };
	uint8_t			*d;
	size_t			 o = 0;

	assert_non_null(d = calloc(1, sizeof(head) + 4 + n + 2 + 96));
	memcpy(d, head, sizeof(head));
	o = sizeof(head);
	d[o++] = (uint8_t)(n >> 24);
	d[o++] = (uint8_t)(n >> 16);
	d[o++] = (uint8_t)(n >> 8);
	d[o++] = (uint8_t)n;
	memcpy(d + o, p, n);
	o += n;
	d[o++] = 0x58;
	d[o++] = 96;
	*len = o + 96;
	return d;
}

/*
 * Hostile nesting and counts, under the 64 KiB cap: refused before
 * libcbor builds (or, for counts, pre-allocates) anything.  Under ASan a
 * let-through count would abort on a multi-GiB allocation.
 */
static void
test_hostile_cbor(void **state)
{
	static const uint8_t	 count31[] = { 0x9a, 0x7f, 0xff, 0xff, 0xff };
	static const uint8_t	 map_in_map[] = { 0xa1, 0x64, 'p', 'c', 'r',
				    's', 0xba, 0x10, 0x00, 0x00, 0x00, 0x00 };
	const size_t		 n = 60000;
	uint8_t			*deep, *doc;
	size_t			 len;
	struct av_err		 e = { 0 };

	(void)state;
	assert_non_null(deep = malloc(n + 1));
	memset(deep, 0x81, n);
	deep[n] = 0x00;
	/* as the document */
	expect_parse_fail(deep, n + 1, "aws-nitro", AV_E_MALFORMED,
	    "cose: nested more than 16 levels deep");
	assert_null(av_backend_detect(deep, n + 1, &e));
	/* as the payload */
	doc = frame(deep, n + 1, &len);
	assert_true(len < 64 * 1024);
	expect_parse_fail(doc, len, "aws-nitro", AV_E_MALFORMED,
	    "aws-nitro: payload nested more than 16 levels deep");
	free(doc);
	memset(deep, 0x9f, n);	/* indefinite arrays */
	doc = frame(deep, n + 1, &len);
	expect_parse_fail(doc, len, "aws-nitro", AV_E_MALFORMED,
	    "aws-nitro: payload nested more than 16 levels deep");
	free(doc);
	free(deep);
	/* counts announcing billions of items */
	doc = frame(count31, sizeof(count31), &len);
	expect_parse_fail(doc, len, "aws-nitro", AV_E_MALFORMED,
	    "aws-nitro: truncated payload");
	free(doc);
	doc = frame(map_in_map, sizeof(map_in_map), &len);
	expect_parse_fail(doc, len, "aws-nitro", AV_E_MALFORMED,
	    "aws-nitro: truncated payload");
	free(doc);
	expect_parse_fail(count31, sizeof(count31), "aws-nitro",
	    AV_E_MALFORMED, "cose: truncated document");
	/* 60000 one-byte items: over the item cap, in the payload */
	assert_non_null(deep = calloc(1, n));
	deep[0] = 0x9f;
	deep[n - 1] = 0xff;
	doc = frame(deep, n, &len);
	expect_parse_fail(doc, len, "aws-nitro", AV_E_MALFORMED,
	    "aws-nitro: payload has more than 4096 CBOR items");
	free(doc);
	free(deep);
}

/* ---- freshness -------------------------------------------------------- */

static void
test_nonce(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	json_t			*r;
	uint8_t			*doc, nonce[32], other[32];
	size_t			 len;
	char			*h;

	(void)state;
	memset(nonce, 0x11, sizeof(nonce));
	memset(other, 0x22, sizeof(other));
	avt_nitro_spec_init(&s, T0, false);
	s.nonce = (struct avt_nitro_field){ AVT_OPT_BYTES, nonce, 32 };
	doc = make(&s, NULL, &len);
	pol = avt_policy("aws-nitro", section_for(&s),
	    json_pack("{s:s}", "nonce", "required"));
	/* matching nonce */
	res = run(doc, len, "aws-nitro", pol, nonce, 32, T0);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	h = av_hex_encode(nonce, 32);
	assert_string_equal(json_string_value(json_object_get(
	    res->submods[0].claims, "nonce")), h);
	av_result_free(res);
	/* another nonce */
	res = run(doc, len, "aws-nitro", pol, other, 32, T0);
	assert_failed(res, "nonce_mismatch");
	r = avt_find_reason(&res->submods[0], "nonce_mismatch", "nonce");
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    h);
	free(h);
	av_result_free(res);
	/* a prefix of it */
	res = run(doc, len, "aws-nitro", pol, nonce, 31, T0);
	assert_failed(res, "nonce_mismatch");
	av_result_free(res);
	/* required, request without one */
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0);
	assert_failed(res, "nonce_mismatch");
	av_result_free(res);
	av_policy_free(pol);
	free(doc);
	/* the document has none, the request has one (no policy) */
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	res = run(doc, len, "aws-nitro", NULL, nonce, 32, T0);
	assert_int_equal(res->status, AV_STATUS_CONTRAINDICATED);
	r = avt_find_reason(&res->submods[0], "nonce_mismatch", "nonce");
	assert_true(json_is_null(json_object_get(r, "actual")));
	av_result_free(res);
	free(doc);
}

/* The akpub of the submod's key attestation, or NULL. */
static const char *
akpub(const struct av_result *res)
{
	return json_string_value(json_object_get(
	    res->submods[0].key_attestation, "akpub"));
}

static const char *
binding_claim(const struct av_result *res)
{
	return json_string_value(json_object_get(res->submods[0].claims,
	    "binding"));
}

/*
 * Issue 3 binding with runtime_data: user_data = SHA-512(nonce ||
 * runtime_data) attests the runtime data as the key; else the nonce field
 * may carry the nonce; else binding_mismatch.
 */
static void
test_runtime_data_binding(void **state)
{
	static const uint8_t	 pub[] = { 0x04, 0x01, 0x02, 0x03 };
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	json_t			*r;
	uint8_t			*doc, nonce[32], other[32], rt[91], cat[123];
	uint8_t			 ud[64], ud_nonce_only[64];
	size_t			 len;
	char			*rt64, *pub64, *h;

	(void)state;
	memset(nonce, 0x11, sizeof(nonce));
	memset(other, 0x22, sizeof(other));
	for (size_t i = 0; i < sizeof(rt); i++)
		rt[i] = (uint8_t)(0x30 + i);
	memcpy(cat, nonce, 32);
	memcpy(cat + 32, rt, sizeof(rt));
	av_sha512(cat, sizeof(cat), ud);
	av_sha512(nonce, sizeof(nonce), ud_nonce_only);
	assert_non_null(rt64 = av_b64url_encode(rt, sizeof(rt)));
	assert_non_null(pub64 = av_b64url_encode(pub, sizeof(pub)));

	/* user_data binds nonce and runtime_data: the runtime data is the key */
	avt_nitro_spec_init(&s, T0, false);
	s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, ud, 64 };
	s.public_key = (struct avt_nitro_field){ AVT_OPT_BYTES, pub,
	    sizeof(pub) };
	doc = make(&s, NULL, &len);
	pol = avt_policy("aws-nitro", section_for(&s),
	    json_pack("{s:s}", "nonce", "required"));
	res = run_rt(doc, len, pol, nonce, 32, rt, sizeof(rt));
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	assert_string_equal(akpub(res), rt64);
	assert_string_equal(binding_claim(res), "sha512(nonce||runtime_data)");
	av_result_free(res);
	/* the same document without runtime_data: its nonce field is null */
	res = run_rt(doc, len, pol, nonce, 32, NULL, 0);
	assert_failed(res, "nonce_mismatch");
	av_result_free(res);
	/* another nonce, or other runtime data: binding_mismatch */
	res = run_rt(doc, len, pol, other, 32, rt, sizeof(rt));
	assert_failed(res, "binding_mismatch");
	r = avt_find_reason(&res->submods[0], "binding_mismatch", "user_data");
	h = av_hex_encode(ud, 64);
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    h);
	free(h);
	/* the document's own key stays the key attestation */
	assert_string_equal(akpub(res), pub64);
	assert_true(json_is_null(json_object_get(res->submods[0].claims,
	    "binding")));
	av_result_free(res);
	res = run_rt(doc, len, pol, nonce, 32, rt, sizeof(rt) - 1);
	assert_failed(res, "binding_mismatch");
	av_result_free(res);
	/* runtime_data without a nonce binds nothing; the policy wants one */
	res = run_rt(doc, len, pol, NULL, 0, rt, sizeof(rt));
	assert_failed(res, "nonce_mismatch");
	av_result_free(res);
	/* without a policy: no nonce, no binding, no reason */
	res = run_rt(doc, len, NULL, NULL, 0, rt, sizeof(rt));
	assert_int_equal(res->status, AV_STATUS_WARNING);
	assert_string_equal(akpub(res), pub64);
	av_result_free(res);
	free(doc);

	/* user_data of SHA-512(nonce) alone does not bind runtime_data */
	avt_nitro_spec_init(&s, T0, false);
	s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES,
	    ud_nonce_only, 64 };
	doc = make(&s, NULL, &len);
	res = run_rt(doc, len, pol, nonce, 32, rt, sizeof(rt));
	assert_failed(res, "binding_mismatch");
	assert_null(res->submods[0].key_attestation);
	av_result_free(res);
	free(doc);

	/* user_data of 63 or 65 bytes never binds */
	avt_nitro_spec_init(&s, T0, false);
	s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, ud, 63 };
	doc = make(&s, NULL, &len);
	res = run_rt(doc, len, pol, nonce, 32, rt, sizeof(rt));
	assert_failed(res, "binding_mismatch");
	av_result_free(res);
	free(doc);

	/* the nonce field alone satisfies the binding; the key stays the
	   document's */
	avt_nitro_spec_init(&s, T0, false);
	s.nonce = (struct avt_nitro_field){ AVT_OPT_BYTES, nonce, 32 };
	s.public_key = (struct avt_nitro_field){ AVT_OPT_BYTES, pub,
	    sizeof(pub) };
	doc = make(&s, NULL, &len);
	res = run_rt(doc, len, pol, nonce, 32, rt, sizeof(rt));
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	assert_string_equal(akpub(res), pub64);
	assert_string_equal(binding_claim(res), "nonce");
	av_result_free(res);
	/* ... and without runtime_data too */
	res = run_rt(doc, len, pol, nonce, 32, NULL, 0);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	assert_string_equal(binding_claim(res), "nonce");
	av_result_free(res);
	/* a wrong nonce with runtime_data is binding_mismatch, once */
	res = run_rt(doc, len, pol, other, 32, rt, sizeof(rt));
	assert_failed(res, "binding_mismatch");
	r = avt_find_reason(&res->submods[0], "binding_mismatch", "user_data");
	assert_true(json_is_null(json_object_get(r, "actual")));
	av_result_free(res);
	free(doc);

	/* both: the user_data binding wins and attests the runtime data */
	avt_nitro_spec_init(&s, T0, false);
	s.nonce = (struct avt_nitro_field){ AVT_OPT_BYTES, nonce, 32 };
	s.user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, ud, 64 };
	doc = make(&s, NULL, &len);
	res = run_rt(doc, len, pol, nonce, 32, rt, sizeof(rt));
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	assert_string_equal(akpub(res), rt64);
	assert_string_equal(binding_claim(res), "sha512(nonce||runtime_data)");
	av_result_free(res);
	free(doc);
	av_policy_free(pol);
	free(rt64);
	free(pub64);
}

static void
test_too_old(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	uint8_t			*doc;
	size_t			 len;

	(void)state;
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	pol = avt_policy("aws-nitro", section_for(&s),
	    json_pack("{s:i}", "max_age_s", 300));
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0 + 300);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	av_result_free(res);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0 + 301);
	assert_failed(res, "evidence_too_old");
	avt_find_reason(&res->submods[0], "evidence_too_old", "timestamp");
	av_result_free(res);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0 - 60);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	av_result_free(res);
	res = run(doc, len, "aws-nitro", pol, NULL, 0, T0 - 61);
	assert_failed(res, "evidence_from_future");
	av_result_free(res);
	av_policy_free(pol);
	/* without max_age_s an old (still valid) document is not too old */
	res = run(doc, len, "aws-nitro", NULL, NULL, 0, T0 + 7200);
	assert_int_equal(res->status, AV_STATUS_WARNING);
	av_result_free(res);
	free(doc);
}

/* ---- NitroTPM --------------------------------------------------------- */

static void
test_nitrotpm(void **state)
{
	struct avt_nitro_spec	 s;
	struct av_policy	*pol;
	struct av_result	*res;
	struct av_policy_err	 perr = { 0 };
	json_t			*sec, *doc_j;
	uint8_t			*doc;
	size_t			 len;
	char			*h;

	(void)state;
	avt_nitro_spec_init(&s, T0, true);
	s.indefinite = true;
	doc = make(&s, NULL, &len);
	{
		struct av_err e = { 0 };

		assert_ptr_equal(av_backend_detect(doc, len, &e),
		    av_backend_find("aws-nitrotpm"));
	}
	/* detected as aws-nitrotpm */
	res = run(doc, len, NULL, NULL, NULL, 0, T0);
	assert_string_equal(res->submods[0].backend->name, "aws-nitrotpm");
	assert_int_equal(res->status, AV_STATUS_WARNING);
	assert_int_equal(json_object_size(json_object_get(
	    res->submods[0].claims, "pcrs")), 24);
	assert_null(json_object_get(res->submods[0].claims, "debug"));
	av_result_free(res);
	/* declared as aws-nitro: flagged */
	expect_parse_fail(doc, len, "aws-nitro", AV_E_MALFORMED,
	    "NitroTPM document; declare type aws-nitrotpm");
	/* with a policy: pcr0..pcr23, no debug key */
	sec = json_object();
	h = avt_nitro_pcr_hex(&s, 23);
	json_object_set_new(sec, "pcr23", json_string(h));
	free(h);
	h = avt_nitro_pcr_hex(&s, 0);
	json_object_set_new(sec, "pcr0", json_string(h));
	free(h);
	pol = avt_policy("aws-nitrotpm", sec, NULL);
	res = run(doc, len, "aws-nitrotpm", pol, NULL, 0, T0);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	av_result_free(res);
	av_policy_free(pol);
	free(doc);
	/* all-zero PCR0..2 in a NitroTPM document is not "debug" */
	avt_nitro_spec_init(&s, T0, true);
	avt_nitro_spec_debug(&s);
	doc = make(&s, NULL, &len);
	sec = json_object();
	h = avt_nitro_pcr_hex(&s, 0);
	json_object_set_new(sec, "pcr0", json_string(h));
	free(h);
	pol = avt_policy("aws-nitrotpm", sec, NULL);
	res = run(doc, len, "aws-nitrotpm", pol, NULL, 0, T0);
	assert_int_equal(res->status, AV_STATUS_AFFIRMING);
	av_result_free(res);
	av_policy_free(pol);
	free(doc);
	/* an enclave document declared as aws-nitrotpm */
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	expect_parse_fail(doc, len, "aws-nitrotpm", AV_E_MALFORMED,
	    "declare type aws-nitro");
	free(doc);
	/* PCR 24 in nitrotpm_pcrs */
	avt_nitro_spec_init(&s, T0, true);
	s.pcr_mask = 0x1ffffffu;
	expect_spec_fail(&s, AV_E_MALFORMED, "PCR index above 23");
	/* policy keys: pcr24 and debug are not NitroTPM keys */
	doc_j = json_loads("{\"id\":\"t\",\"version\":1,\"evidence\":"
	    "{\"aws-nitrotpm\":{\"debug\":true}}}", 0, NULL);
	assert_int_equal(av_policy_compile(doc_j, &pol, &perr), -1);
	assert_string_equal(perr.path, "evidence.aws-nitrotpm.debug");
	json_decref(doc_j);
	doc_j = json_loads("{\"id\":\"t\",\"version\":1,\"evidence\":"
	    "{\"aws-nitrotpm\":{\"pcr24\":[]}}}", 0, NULL);
	assert_int_equal(av_policy_compile(doc_j, &pol, &perr), -1);
	assert_string_equal(perr.path, "evidence.aws-nitrotpm.pcr24");
	json_decref(doc_j);
}

/* ---- policy compilation ----------------------------------------------- */

static void
expect_policy_error(const char *section, const char *path, const char *why)
{
	struct av_policy	*pol = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;
	char			 text[1024];

	snprintf(text, sizeof(text), "{\"id\":\"t\",\"version\":1,"
	    "\"evidence\":{\"aws-nitro\":%s}}", section);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(av_policy_compile(doc, &pol, &perr), -1);
	assert_null(pol);
	assert_string_equal(perr.path, path);
	if (strstr(perr.reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", perr.reason, why);
	json_decref(doc);
}

static void
test_policy_compile(void **state)
{
	char	sec[512], h96[97];

	(void)state;
	memset(h96, 'a', 96);
	h96[96] = '\0';
	expect_policy_error("{\"pcr32\": []}", "evidence.aws-nitro.pcr32",
	    "unknown key");
	expect_policy_error("{\"PCR0\": []}", "evidence.aws-nitro.PCR0",
	    "unknown key");
	expect_policy_error("{\"module_id\": \"x\"}",
	    "evidence.aws-nitro.module_id", "unknown key");
	expect_policy_error("{\"pcr0\": \"abcd\"}", "evidence.aws-nitro.pcr0",
	    "96 hex digits");
	snprintf(sec, sizeof(sec), "{\"pcr1\": [\"%s\", \"%s\"]}", h96, h96);
	expect_policy_error(sec, "evidence.aws-nitro.pcr1[1]", "duplicate");
	snprintf(sec, sizeof(sec), "{\"pcr1\": [\"%s\", 7]}", h96);
	expect_policy_error(sec, "evidence.aws-nitro.pcr1[1]", "hex string");
	expect_policy_error("{\"pcr2\": []}", "evidence.aws-nitro.pcr2",
	    "empty list");
	expect_policy_error("{\"debug\": \"no\"}", "evidence.aws-nitro.debug",
	    "true or false");
}

/* ---- evidence/aws-nitro seeds ----------------------------------------- */

struct seed {
	const char	*name;
	bool		 tpm;
	enum av_code	 code;		/* AV_OK for good/ */
	const char	*why;		/* reason text for bad/ */
	void		(*tweak)(struct avt_nitro_spec *);
};

static uint8_t seed_big[1025];

static void tw_none(struct avt_nitro_spec *s) { (void)s; }
static void tw_tagged(struct avt_nitro_spec *s) { s->tagged = true; }
static void tw_indef(struct avt_nitro_spec *s) { s->indefinite = true; }
static void tw_debug(struct avt_nitro_spec *s) { avt_nitro_spec_debug(s); }
static void
tw_fields(struct avt_nitro_spec *s)
{
	s->public_key = (struct avt_nitro_field){ AVT_OPT_BYTES, seed_big, 65 };
	s->user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, seed_big, 32 };
	s->nonce = (struct avt_nitro_field){ AVT_OPT_BYTES, seed_big, 1024 };
}
static void tw_trailing(struct avt_nitro_spec *s) { s->trailing = 1; }
static void tw_es256(struct avt_nitro_spec *s)
{
	static const uint8_t p[] = { 0xa1, 0x01, 0x26 };

	s->prot = p;
	s->prot_len = sizeof(p);
}
static void tw_es512(struct avt_nitro_spec *s)
{
	static const uint8_t p[] = { 0xa1, 0x01, 0x38, 0x23 };

	s->prot = p;
	s->prot_len = sizeof(p);
}
static void
tw_user_data(struct avt_nitro_spec *s)
{
	s->user_data = (struct avt_nitro_field){ AVT_OPT_BYTES, seed_big,
	    1025 };
}
static void tw_cab17(struct avt_nitro_spec *s) { s->cabundle_n = 17; }
static void tw_pcr47(struct avt_nitro_spec *s) { s->pcr_len = 47; }
static void
tw_pcr32(struct avt_nitro_spec *s)
{
	s->has_pcr_extra = true;
	s->pcr_extra = 32;
}
static void tw_sig95(struct avt_nitro_spec *s) { s->sig_len = 95; }
static void tw_unknown(struct avt_nitro_spec *s) { s->extra_key = "extra"; }
static void tw_dup(struct avt_nitro_spec *s) { s->dup_key = true; }
static void tw_digest(struct avt_nitro_spec *s) { s->digest = "SHA512"; }
static void tw_nocab(struct avt_nitro_spec *s) { s->omit_key = "cabundle"; }
static void tw_nopcr2(struct avt_nitro_spec *s) { s->pcr_mask = 0xfffb; }
static void tw_cert(struct avt_nitro_spec *s) { s->cert_pad = 1025; }

static const struct seed seeds[] = {
	{ "good/enclave-definite", false, AV_OK, NULL, tw_none },
	{ "good/enclave-tagged", false, AV_OK, NULL, tw_tagged },
	{ "good/enclave-indefinite", false, AV_OK, NULL, tw_indef },
	{ "good/enclave-debug", false, AV_OK, NULL, tw_debug },
	{ "good/enclave-fields", false, AV_OK, NULL, tw_fields },
	{ "good/nitrotpm-indefinite", true, AV_OK, NULL, tw_indef },
	{ "bad/trailing-byte", false, AV_E_MALFORMED,
	    "cose: trailing bytes after COSE_Sign1", tw_trailing },
	{ "bad/alg-es256", false, AV_E_UNSUPPORTED_ALG,
	    "aws-nitro: protected header is not {1: -35} (ES384)", tw_es256 },
	{ "bad/alg-es512", false, AV_E_UNSUPPORTED_ALG,
	    "aws-nitro: protected header is not {1: -35} (ES384)", tw_es512 },
	{ "bad/user-data-1025", false, AV_E_MALFORMED,
	    "aws-nitro: public_key, user_data or nonce over 1024 bytes",
	    tw_user_data },
	{ "bad/cabundle-17", false, AV_E_MALFORMED,
	    "aws-nitro: cabundle over 16 certificates", tw_cab17 },
	{ "bad/pcr-47-bytes", false, AV_E_MALFORMED,
	    "aws-nitro: PCR value not 48 bytes (SHA-384)", tw_pcr47 },
	{ "bad/pcr-index-32", false, AV_E_MALFORMED,
	    "aws-nitro: PCR index above 31", tw_pcr32 },
	{ "bad/signature-95", false, AV_E_MALFORMED,
	    "aws-nitro: signature is not 96 bytes (ES384 r||s)", tw_sig95 },
	{ "bad/unknown-key", false, AV_E_MALFORMED,
	    "aws-nitro: unknown payload key", tw_unknown },
	{ "bad/duplicate-key", false, AV_E_MALFORMED,
	    "aws-nitro: duplicate payload key", tw_dup },
	{ "bad/digest-sha512", false, AV_E_MALFORMED,
	    "aws-nitro: digest is not SHA384", tw_digest },
	{ "bad/no-cabundle", false, AV_E_MALFORMED,
	    "aws-nitro: payload lacks a required key", tw_nocab },
	{ "bad/no-pcr2", false, AV_E_MALFORMED,
	    "aws-nitro: pcrs lacks PCR0, PCR1 or PCR2", tw_nopcr2 },
	{ "bad/certificate-1025", false, AV_E_MALFORMED,
	    "aws-nitro: certificate not 1..1024 bytes", tw_cert },
	{ "bad/nitrotpm-as-enclave", true, AV_E_MALFORMED,
	    "aws-nitro: NitroTPM document; declare type aws-nitrotpm",
	    tw_none },
};

static char *
seed_dir(void)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	char		*p;

	if (src == NULL)
		return NULL;
	if ((p = malloc(strlen(src) + 32)) == NULL)
		return NULL;
	sprintf(p, "%s/evidence/aws-nitro", src);
	return p;
}

/* Regenerate evidence/aws-nitro/{good,bad}/ (AV_NITRO_REGEN_SEEDS=1). */
static void
regen_seeds(const char *dir)
{
	struct avt_nitro_spec	 s;
	char			 path[4096], text[512];
	uint8_t			*doc;
	size_t			 len;

	memset(seed_big, 0x5e, sizeof(seed_big));
	snprintf(path, sizeof(path), "%s", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/good", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/bad", dir);
	mkdir(path, 0755);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		avt_nitro_spec_init(&s, T0, seeds[i].tpm);
		seeds[i].tweak(&s);
		doc = make(&s, NULL, &len);
		snprintf(path, sizeof(path), "%s/%s.cbor", dir, seeds[i].name);
		avt_put(NULL, path, doc, len);
		free(doc);
		if (seeds[i].code == AV_OK)
			continue;
		snprintf(path, sizeof(path), "%s/%s.expect", dir,
		    seeds[i].name);
		snprintf(text, sizeof(text), "%s\n%s\n",
		    av_code_str(seeds[i].code), seeds[i].why);
		avt_put(NULL, path, text, strlen(text));
	}
	/* truncations of a good document */
	avt_nitro_spec_init(&s, T0, false);
	doc = make(&s, NULL, &len);
	snprintf(path, sizeof(path), "%s/bad/truncated-last-byte.cbor", dir);
	avt_put(NULL, path, doc, len - 1);
	snprintf(path, sizeof(path), "%s/bad/truncated-last-byte.expect", dir);
	snprintf(text, sizeof(text), "evidence_malformed\n"
	    "cose: truncated document\n");
	avt_put(NULL, path, text, strlen(text));
	snprintf(path, sizeof(path), "%s/bad/truncated-half.cbor", dir);
	avt_put(NULL, path, doc, len / 2);
	snprintf(path, sizeof(path), "%s/bad/truncated-half.expect", dir);
	snprintf(text, sizeof(text), "evidence_malformed\n"
	    "cose: truncated document\n");
	avt_put(NULL, path, text, strlen(text));
	free(doc);
}

/*
 * Every evidence/aws-nitro/bad/<x>.cbor fails to parse (as aws-nitro)
 * with the code and reason in <x>.expect; every good/<x>.cbor parses
 * with the type it detects as and yields claims.
 */
static void
test_seeds(void **state)
{
	char		*dir, path[4096];
	DIR		*d;
	struct dirent	*de;
	size_t		 nbad = 0, ngood = 0;

	(void)state;
	if ((dir = seed_dir()) == NULL)
		skip();
	if (getenv("AV_NITRO_REGEN_SEEDS") != NULL)
		regen_seeds(dir);
	snprintf(path, sizeof(path), "%s/bad", dir);
	if ((d = opendir(path)) == NULL) {
		free(dir);
		fail_msg("no %s", path);
	}
	while ((de = readdir(d)) != NULL) {
		char	 exp_path[4096], code[64], why[256];
		uint8_t	*doc, *ex;
		size_t	 len, exlen, n = strlen(de->d_name);
		char	*nl;

		if (n < 6 || strcmp(de->d_name + n - 5, ".cbor") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/bad/%s", dir, de->d_name);
		snprintf(exp_path, sizeof(exp_path), "%s/bad/%.*s.expect", dir,
		    (int)(n - 5), de->d_name);
		doc = avt_read_file(path, &len);
		ex = avt_read_file(exp_path, &exlen);
		if (doc == NULL || ex == NULL)
			fail_msg("cannot read %s or its .expect", path);
		ex = realloc(ex, exlen + 1);
		ex[exlen] = '\0';
		if ((nl = strchr((char *)ex, '\n')) == NULL)
			fail_msg("%s: expected two lines", exp_path);
		snprintf(code, sizeof(code), "%.*s", (int)(nl - (char *)ex),
		    (char *)ex);
		snprintf(why, sizeof(why), "%s", nl + 1);
		why[strcspn(why, "\n")] = '\0';
		{
			const struct av_backend	*b = av_backend_find(
			    "aws-nitro");
			struct av_evidence	 ev = { .data = doc,
			    .len = len };
			struct av_err		 e = { 0 };
			void			*parsed = NULL;

			if (b->parse(&ev, &parsed, &e) == 0)
				fail_msg("%s parsed", path);
			if (strcmp(av_code_str(e.code), code) != 0 ||
			    strcmp(e.reason, why) != 0)
				fail_msg("%s: got %s \"%s\", expected %s "
				    "\"%s\"", path, av_code_str(e.code),
				    e.reason, code, why);
		}
		nbad++;
		free(doc);
		free(ex);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/good", dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		const struct av_backend	*b;
		struct av_err		 e = { 0 };
		struct av_evidence	 ev = { 0 };
		void			*parsed = NULL;
		json_t			*claims = NULL;
		uint8_t			*doc;
		size_t			 len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/good/%s", dir, de->d_name);
		assert_non_null(doc = avt_read_file(path, &len));
		if ((b = av_backend_detect(doc, len, &e)) == NULL)
			fail_msg("%s: not detected", path);
		ev.data = doc;
		ev.len = len;
		if (b->parse(&ev, &parsed, &e) != 0)
			fail_msg("%s: %s", path, e.reason);
		assert_int_equal(b->claims(parsed, &claims, &e), 0);
		json_decref(claims);
		b->free(parsed);
		free(doc);
		ngood++;
	}
	closedir(d);
	free(dir);
	assert_true(nbad >= 10);
	assert_true(ngood >= 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_affirming),
		cmocka_unit_test(test_good_without_policy_is_warning),
		cmocka_unit_test(test_tagged_and_indefinite),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_wrong_pcr),
		cmocka_unit_test(test_expired_leaf),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_definite_reencoded),
		cmocka_unit_test(test_untrusted_root),
		cmocka_unit_test(test_chain_invalid),
		cmocka_unit_test(test_leaf_not_p384),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_wrong_alg),
		cmocka_unit_test(test_oversized_fields),
		cmocka_unit_test(test_payload_shape),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_hostile_cbor),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_runtime_data_binding),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_nitrotpm),
		cmocka_unit_test(test_policy_compile),
		cmocka_unit_test(test_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
