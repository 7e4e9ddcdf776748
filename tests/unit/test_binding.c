/*
 * Freshness binding (src/verify/binding.c): each form, the reasons and
 * their expected/actual values, and the rule flags by which platforms
 * differ (the sev-snp, tpm, nvidia-gpu, aws-nitro and tdx rules).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "av/binding.h"
#include "av/codec.h"
#include "av/crypto.h"

static const uint8_t	NONCE[32] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 };
static const uint8_t	RT[] = "runtime data: a public key";

/* A request context with the nonce (n bytes of NONCE) and runtime data. */
static struct av_ctx
ctx_of(size_t n, bool rt)
{
	struct av_ctx c = { 0 };

	c.nonce = NONCE;
	c.nonce_len = n;
	if (rt) {
		c.runtime_data = RT;
		c.runtime_data_len = sizeof(RT);
	}
	c.max_age_s = -1;
	return c;
}

/* SHA-512 (or SHA-256) of nonce || runtime data. */
static void
hash_of(const EVP_MD *md, const struct av_ctx *c, uint8_t *out)
{
	size_t	 n = c->nonce_len + c->runtime_data_len;
	uint8_t	*cat = malloc(n);

	assert_non_null(cat);
	memcpy(cat, c->nonce, c->nonce_len);
	if (c->runtime_data_len > 0)
		memcpy(cat + c->nonce_len, c->runtime_data,
		    c->runtime_data_len);
	assert_int_equal(av_digest(md, cat, n, out), 0);
	free(cat);
}

static void
hex_is(const json_t *j, const uint8_t *p, size_t n)
{
	char *h = av_hex_encode(p, n);

	assert_non_null(h);
	assert_true(json_is_string(j));
	assert_string_equal(json_string_value(j), h);
	free(h);
}

/* The only reason recorded: code, claim, message. */
static const json_t *
one_reason(const struct av_submod *sm, const char *code, const char *claim,
    const char *msg)
{
	const json_t *r;

	assert_int_equal(json_array_size(sm->reasons), 1);
	r = json_array_get(sm->reasons, 0);
	assert_string_equal(json_string_value(json_object_get(r, "code")),
	    code);
	assert_string_equal(json_string_value(json_object_get(r, "claim")),
	    claim);
	assert_string_equal(json_string_value(json_object_get(r, "message")),
	    msg);
	assert_int_equal(sm->status, AV_STATUS_CONTRAINDICATED);
	return r;
}

static const struct av_binding_rule any = {
	.claim = "report_data",
	.forms = AV_BIND_SHA512 | AV_BIND_PADDED,
	.forms_rt = AV_BIND_SHA512 | AV_BIND_PADDED,
	.nonce_msg = "no nonce here",
	.binding_msg = "no binding here",
};

static void
test_no_nonce(void **state)
{
	struct av_binding_rule	 r = any;
	struct av_submod	 sm;
	struct av_binding	 b;
	struct av_ctx		 c = { 0 };
	uint8_t			 f[64] = { 0 };

	(void)state;
	/* no nonce, none required: nothing checked, nothing said */
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	assert_false(av_binding_check(&c, f, 64, &r, &sm, &b));
	assert_false(b.nonce);
	assert_int_equal(b.code, AV_OK);
	assert_int_equal(json_array_size(sm.reasons), 0);
	/* required: nonce_mismatch, the generic message or the rule's */
	c.nonce_required = true;
	assert_false(av_binding_has_nonce(&c, &r, &sm));
	one_reason(&sm, "nonce_mismatch", "report_data",
	    "the policy requires a nonce and the request has none");
	av_submod_cleanup(&sm);
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	r.no_nonce_msg = "tdx: the policy requires a nonce and the request "
	    "has none";
	assert_false(av_binding_check(&c, f, 64, &r, &sm, &b));
	one_reason(&sm, "nonce_mismatch", "report_data", r.no_nonce_msg);
	av_submod_cleanup(&sm);
	/* an empty nonce is a nonce, unless the rule says otherwise */
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	c = ctx_of(0, false);
	c.nonce_required = true;
	assert_true(av_binding_has_nonce(&c, &r, &sm));
	r.flags = AV_BIND_F_EMPTY_NONCE;
	assert_false(av_binding_has_nonce(&c, &r, &sm));
	assert_int_equal(json_array_size(sm.reasons), 1);
	av_submod_cleanup(&sm);
}

/* Each form matches what it should and nothing else. */
static void
test_forms(void **state)
{
	struct av_ctx		 c = ctx_of(32, true), n = ctx_of(32, false);
	struct av_binding	 b;
	uint8_t			 f[64], h[64];

	(void)state;
	/* SHA-512 over nonce || runtime data, and over the nonce alone */
	hash_of(EVP_sha512(), &c, f);
	assert_int_equal(av_binding_match(&c, f, 64, AV_BIND_SHA512 |
	    AV_BIND_PADDED, 0, &b), 0);
	assert_int_equal(b.matched, AV_BIND_SHA512);
	assert_true(b.rt);
	assert_true(b.have_sha512);
	assert_memory_equal(b.sha512, f, 64);
	assert_int_equal(av_binding_match(&n, f, 64, AV_BIND_SHA512, 0, &b),
	    0);
	assert_int_equal(b.matched, 0);
	hash_of(EVP_sha512(), &n, f);
	assert_int_equal(av_binding_match(&c, f, 64, AV_BIND_SHA512,
	    AV_BIND_F_IGNORE_RT, &b), 0);
	assert_int_equal(b.matched, AV_BIND_SHA512);
	assert_false(b.rt);
	/* the wrong length never matches */
	assert_int_equal(av_binding_match(&n, f, 63, AV_BIND_SHA512, 0, &b),
	    0);
	assert_int_equal(b.matched, 0);
	/* SHA-256: a 32-byte field */
	hash_of(EVP_sha256(), &c, h);
	assert_int_equal(av_binding_match(&c, h, 32, AV_BIND_HASHES, 0, &b),
	    0);
	assert_int_equal(b.matched, AV_BIND_SHA256);
	/* padded: nonce then zeros; a non-zero tail or a short field fails */
	memset(f, 0, sizeof(f));
	memcpy(f, NONCE, 32);
	assert_int_equal(av_binding_match(&n, f, 64, AV_BIND_PADDED |
	    AV_BIND_EQUAL | AV_BIND_PREFIX, 0, &b), 0);
	assert_int_equal(b.matched, AV_BIND_PADDED);
	assert_int_equal(av_binding_match(&n, f, 32, AV_BIND_PADDED |
	    AV_BIND_EQUAL | AV_BIND_PREFIX, 0, &b), 0);
	assert_int_equal(b.matched, AV_BIND_PADDED | AV_BIND_EQUAL |
	    AV_BIND_PREFIX);
	assert_int_equal(av_binding_match(&n, f, 31, AV_BIND_PADDED |
	    AV_BIND_EQUAL | AV_BIND_PREFIX, 0, &b), 0);
	assert_int_equal(b.matched, AV_BIND_PREFIX);
	f[63] = 1;
	assert_int_equal(av_binding_match(&n, f, 64, AV_BIND_PADDED, 0, &b),
	    0);
	assert_int_equal(b.matched, 0);
	/* an absent field matches nothing, but the digest is there */
	assert_int_equal(av_binding_match(&c, NULL, 0, AV_BIND_SHA512 |
	    AV_BIND_EQUAL, 0, &b), 0);
	assert_int_equal(b.matched, 0);
	assert_true(b.have_sha512);
}

/* Accepted forms, preference, the key, and the default reasons. */
static void
test_check_default(void **state)
{
	struct av_ctx		 c = ctx_of(32, true), n = ctx_of(32, false);
	struct av_submod	 sm;
	struct av_binding	 b;
	const json_t		*r;
	uint8_t			 f[64];

	(void)state;
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	hash_of(EVP_sha512(), &c, f);
	assert_true(av_binding_check(&c, f, 64, &any, &sm, &b));
	assert_int_equal(b.form, AV_BIND_SHA512);
	assert_true(b.key);
	memset(f, 0, sizeof(f));
	memcpy(f, NONCE, 32);
	assert_true(av_binding_check(&c, f, 64, &any, &sm, &b));
	assert_int_equal(b.form, AV_BIND_PADDED);
	assert_false(b.key);
	assert_int_equal(json_array_size(sm.reasons), 0);

	/* with runtime data: binding_mismatch, nothing expected */
	f[0] ^= 1;
	assert_false(av_binding_check(&c, f, 64, &any, &sm, &b));
	assert_int_equal(b.code, AV_E_BINDING);
	r = one_reason(&sm, "binding_mismatch", "report_data",
	    "no binding here");
	assert_null(json_object_get(r, "expected"));
	hex_is(json_object_get(r, "actual"), f, 64);
	av_submod_cleanup(&sm);

	/* without: nonce_mismatch, the nonce expected; absent: actual null */
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	assert_false(av_binding_check(&n, NULL, 64, &any, &sm, &b));
	assert_int_equal(b.code, AV_E_NONCE);
	r = one_reason(&sm, "nonce_mismatch", "report_data", "no nonce here");
	hex_is(json_object_get(r, "expected"), NONCE, 32);
	assert_true(json_is_null(json_object_get(r, "actual")));
	av_submod_cleanup(&sm);
}

/* sev-snp: empty runtime data is none; "nonce" rule ignores it. */
static void
test_snp_flags(void **state)
{
	struct av_binding_rule	 r = any;
	struct av_ctx		 c = ctx_of(32, true);
	struct av_submod	 sm;
	struct av_binding	 b;
	uint8_t			 f[64] = { 0 };

	(void)state;
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	/* empty runtime data: none with the flag (nonce_mismatch) */
	c.runtime_data_len = 0;
	r.flags = AV_BIND_F_EMPTY_RT;
	assert_false(av_binding_check(&c, f, 64, &r, &sm, &b));
	assert_false(b.rt);
	assert_int_equal(b.code, AV_E_NONCE);
	r.flags = 0;
	assert_false(av_binding_check(&c, f, 64, &r, &sm, &b));
	assert_true(b.rt);
	assert_int_equal(b.code, AV_E_BINDING);
	/* runtime data ignored: nonce_mismatch */
	c = ctx_of(32, true);
	r.forms = AV_BIND_PADDED;
	r.flags = AV_BIND_F_IGNORE_RT;
	assert_false(av_binding_check(&c, f, 64, &r, &sm, &b));
	assert_int_equal(b.code, AV_E_NONCE);
	memcpy(f, NONCE, 32);
	assert_true(av_binding_check(&c, f, 64, &r, &sm, &b));
	assert_false(b.key);
	av_submod_cleanup(&sm);
}

/* tpm: with runtime data, the bare nonce is binding_mismatch. */
static void
test_tpm_rule(void **state)
{
	static const struct av_binding_rule r = {
		.claim = "extra_data",
		.forms = AV_BIND_PADDED,
		.forms_rt = AV_BIND_HASHES,
		.flags = AV_BIND_F_EMPTY_NONCE | AV_BIND_F_RT_NONCE,
		.nonce_msg = "nonce",
		.binding_msg = "binding",
	};
	struct av_ctx		 c = ctx_of(20, true);
	struct av_submod	 sm;
	struct av_binding	 b;
	const json_t		*j;
	uint8_t			 f[32] = { 0 };

	(void)state;
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	hash_of(EVP_sha256(), &c, f);
	assert_true(av_binding_check(&c, f, 32, &r, &sm, &b));
	assert_int_equal(b.form, AV_BIND_SHA256);
	assert_true(b.key);
	memset(f, 0, sizeof(f));
	memcpy(f, NONCE, 20);
	assert_false(av_binding_check(&c, f, 32, &r, &sm, &b));
	j = one_reason(&sm, "binding_mismatch", "extra_data", "binding");
	assert_null(json_object_get(j, "expected"));
	av_submod_cleanup(&sm);
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	f[0] ^= 1;
	assert_false(av_binding_check(&c, f, 32, &r, &sm, &b));
	j = one_reason(&sm, "nonce_mismatch", "extra_data", "nonce");
	hex_is(json_object_get(j, "expected"), NONCE, 20);
	av_submod_cleanup(&sm);
}

/* nvidia-gpu: equal, prefix, SHA-256 of the nonce alone. */
static void
test_nvidia_rule(void **state)
{
	struct av_binding_rule	 r = { .claim = "nonce",
				    .flags = AV_BIND_F_IGNORE_RT,
				    .nonce_msg = "nv" };
	struct av_ctx		 c = ctx_of(32, true), n = ctx_of(32, false);
	struct av_submod	 sm;
	struct av_binding	 b;
	uint8_t			 f[32];

	(void)state;
	assert_int_equal(av_submod_init(&sm, "gpu0"), 0);
	memcpy(f, NONCE, 32);
	r.forms = AV_BIND_EQUAL;
	assert_true(av_binding_check(&c, f, 32, &r, &sm, &b));
	assert_int_equal(b.form, AV_BIND_EQUAL);
	c.nonce_len = 31;
	assert_false(av_binding_check(&c, f, 32, &r, &sm, &b));
	r.forms = AV_BIND_PREFIX;
	c.nonce_len = 32;
	assert_true(av_binding_check(&c, f, 32, &r, &sm, &b));
	r.forms = AV_BIND_SHA256;
	hash_of(EVP_sha256(), &n, f);
	assert_true(av_binding_check(&c, f, 32, &r, &sm, &b));
	assert_false(b.key);
	assert_int_equal(json_array_size(sm.reasons), 1);
	av_submod_cleanup(&sm);
}

/*
 * The tdx rules (docs/platforms/tdx.md): "auto" takes the padded nonce
 * or the hash without runtime data and only the hash with it; "raw"
 * never accepts runtime data; the expected value shows what was wanted.
 */
static void
test_tdx_rules(void **state)
{
	struct av_binding_rule	 aut = {
		.claim = "report_data",
		.forms = AV_BIND_PADDED | AV_BIND_SHA512,
		.forms_rt = AV_BIND_SHA512,
		.expect = AV_BIND_PADDED, .expect_rt = AV_BIND_SHA512,
		.nonce_msg = "nonce", .binding_msg = "binding",
	}, raw = aut;
	struct av_ctx		 c = ctx_of(32, true), n = ctx_of(32, false);
	struct av_submod	 sm;
	struct av_binding	 b;
	const json_t		*j;
	uint8_t			 f[64] = { 0 }, h[64], l[100];

	(void)state;
	raw.forms = AV_BIND_PADDED;
	raw.forms_rt = 0;
	raw.expect_rt = AV_BIND_PADDED;
	memcpy(f, NONCE, 32);
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	assert_true(av_binding_check(&n, f, 64, &aut, &sm, &b));
	assert_true(b.matched & AV_BIND_PADDED);
	/* auto + runtime data: the padded nonce is binding_mismatch */
	assert_false(av_binding_check(&c, f, 64, &aut, &sm, &b));
	hash_of(EVP_sha512(), &c, h);
	j = one_reason(&sm, "binding_mismatch", "report_data", "binding");
	hex_is(json_object_get(j, "expected"), h, 64);
	av_submod_cleanup(&sm);
	/* raw + runtime data: always binding_mismatch, padded expected */
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	assert_false(av_binding_check(&c, f, 64, &raw, &sm, &b));
	j = one_reason(&sm, "binding_mismatch", "report_data", "binding");
	hex_is(json_object_get(j, "expected"), f, 64);
	av_submod_cleanup(&sm);
	/* a nonce longer than the field: the digest is expected */
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	memset(l, 0x5a, sizeof(l));
	n.nonce = l;
	n.nonce_len = sizeof(l);
	assert_false(av_binding_check(&n, f, 64, &raw, &sm, &b));
	hash_of(EVP_sha512(), &n, h);
	j = one_reason(&sm, "nonce_mismatch", "report_data", "nonce");
	hex_is(json_object_get(j, "expected"), h, 64);
	av_submod_cleanup(&sm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_nonce),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_check_default),
		cmocka_unit_test(test_snp_flags),
		cmocka_unit_test(test_tpm_rule),
		cmocka_unit_test(test_nvidia_rule),
		cmocka_unit_test(test_tdx_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
