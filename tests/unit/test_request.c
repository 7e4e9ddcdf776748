/*
 * Request envelopes and the pipeline's handling of items no backend
 * takes: malformed bodies are request errors; unknown evidence is a
 * contraindicated submod with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"

static void
expect_bad(const char *text, const char *reason_part)
{
	struct av_request	*r = NULL;
	struct av_err		 e = { 0 };
	json_t			*body = json_loads(text, 0, NULL);

	assert_non_null(body);
	assert_int_equal(av_request_from_json(body, &r, &e), -1);
	assert_null(r);
	assert_int_equal(e.code, AV_E_BAD_REQUEST);
	if (strstr(e.reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", e.reason, reason_part);
	json_decref(body);
}

static void
test_bad_bodies(void **state)
{
	(void)state;
	expect_bad("[]", "JSON object");
	expect_bad("{}", "\"evidence\" must be a non-empty array");
	expect_bad("{\"evidence\": []}", "non-empty array");
	expect_bad("{\"evidence\": [1]}", "must be an object");
	expect_bad("{\"evidence\": [{}]}", "without \"data\"");
	expect_bad("{\"evidence\": [{\"data\": \"!!\"}]}", "base64");
	expect_bad("{\"evidense\": []}", "unknown key");
	expect_bad("{\"nonce\": \"\", \"evidence\": [{\"data\": \"AA\"}]}",
	    "empty");
	expect_bad("{\"policy\": 7, \"evidence\": [{\"data\": \"AA\"}]}",
	    "policy id");
	expect_bad("{\"evidence\": [{\"data\": \"AA\", \"name\": \"CPU\"}]}",
	    "[a-z0-9_-]");
	expect_bad("{\"evidence\": [{\"data\": \"AA\", \"name\": \"x\"},"
	    "{\"data\": \"AA\", \"name\": \"x\"}]}", "duplicate");
	expect_bad("{\"evidence\": [{\"data\":\"AA\"},{\"data\":\"AA\"},"
	    "{\"data\":\"AA\"},{\"data\":\"AA\"},{\"data\":\"AA\"},"
	    "{\"data\":\"AA\"},{\"data\":\"AA\"},{\"data\":\"AA\"},"
	    "{\"data\":\"AA\"},{\"data\":\"AA\"},{\"data\":\"AA\"},"
	    "{\"data\":\"AA\"},{\"data\":\"AA\"},{\"data\":\"AA\"},"
	    "{\"data\":\"AA\"},{\"data\":\"AA\"},{\"data\":\"AA\"}]}",
	    "too many");
}

static void
test_good_body(void **state)
{
	struct av_request	*r = NULL;
	struct av_err		 e = { 0 };
	json_t			*body;

	(void)state;
	/* nonce in base64url without padding, data in standard base64 */
	body = json_loads("{\"nonce\": \"-_-_\", \"policy\": \"p1\", "
	    "\"evidence\": [{\"type\": \"aws-nitro\", \"data\": \"AQID\", "
	    "\"name\": \"enclave\"}, {\"data\": \"+/8=\"}]}", 0, NULL);
	assert_int_equal(av_request_from_json(body, &r, &e), 0);
	assert_string_equal(r->policy_id, "p1");
	assert_int_equal(r->nonce_len, 3);
	assert_memory_equal(r->nonce, "\xfb\xff\xbf", 3);
	assert_int_equal(r->nitems, 2);
	assert_string_equal(r->items[0].type, "aws-nitro");
	assert_string_equal(r->items[0].name, "enclave");
	assert_int_equal(r->items[0].len, 3);
	assert_null(r->items[1].type);
	assert_null(r->items[1].name);
	assert_memory_equal(r->items[1].data, "\xfb\xff", 2);
	av_request_free(r);
	json_decref(body);
}

static void
test_unknown_evidence(void **state)
{
	struct av_request	*r = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_trust		*t = av_trust_new();
	struct av_env		 env = { .now = 1700000000, .trust = t };
	json_t			*body, *reason, *out;

	(void)state;
	body = json_loads("{\"evidence\": [{\"type\": \"zx81\", \"data\": "
	    "\"AQID\"}, {\"data\": \"AAAAAAAA\"}]}", 0, NULL);
	assert_int_equal(av_request_from_json(body, &r, &e), 0);
	assert_int_equal(av_verify_request(&env, r, NULL, &res, &e), 0);
	assert_int_equal(res->status, AV_STATUS_CONTRAINDICATED);
	assert_int_equal(res->nsubmods, 2);
	assert_string_equal(res->submods[0].name, "cpu");
	assert_string_equal(res->submods[1].name, "cpu1");
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(res->submods[i].status,
		    AV_STATUS_CONTRAINDICATED);
		reason = json_array_get(res->submods[i].reasons, 0);
		assert_string_equal(json_string_value(json_object_get(reason,
		    "code")), "unknown_evidence_type");
		assert_int_equal(res->submods[i].tv[AV_TV_INSTANCE],
		    AV_AR_UNRECOGNIZED);
	}
	out = av_result_json(res, "x.y.z");
	assert_string_equal(json_string_value(json_object_get(out, "status")),
	    "contraindicated");
	assert_string_equal(json_string_value(json_object_get(out, "verdict")),
	    "x.y.z");
	assert_non_null(json_object_get(json_object_get(out, "submods"),
	    "cpu1"));
	json_decref(out);
	av_result_free(res);
	av_request_free(r);
	av_trust_free(t);
	json_decref(body);
}

static void
test_required_submods(void **state)
{
	struct av_request	*r = NULL;
	struct av_result	*res = NULL;
	struct av_policy	*pol = NULL;
	struct av_policy_err	 perr;
	struct av_err		 e = { 0 };
	struct av_trust		*t = av_trust_new();
	struct av_env		 env = { .now = 1700000000, .trust = t };
	json_t			*body, *doc, *reason;

	(void)state;
	doc = json_loads("{\"id\": \"cvm\", \"version\": 2, \"required\": "
	    "[\"cpu\", \"gpu0\"], \"evidence\": {\"aws-nitro\": {}}}", 0,
	    NULL);
	assert_int_equal(av_policy_compile(doc, &pol, &perr), 0);
	assert_int_equal(pol->nrequired, 2);
	body = json_loads("{\"evidence\": [{\"type\": \"zx81\", \"data\": "
	    "\"AQID\"}]}", 0, NULL);
	assert_int_equal(av_request_from_json(body, &r, &e), 0);
	assert_int_equal(av_verify_request(&env, r, pol, &res, &e), 0);
	assert_int_equal(res->nsubmods, 2);
	assert_string_equal(res->policy_ref, "cvm@2");
	assert_string_equal(res->submods[1].name, "gpu0");
	assert_int_equal(res->submods[1].status, AV_STATUS_CONTRAINDICATED);
	reason = json_array_get(res->submods[1].reasons, 0);
	assert_string_equal(json_string_value(json_object_get(reason, "code")),
	    "submod_missing");
	av_result_free(res);
	av_request_free(r);
	av_policy_free(pol);
	json_decref(doc);

	/* bad lists are policy errors */
	doc = json_loads("{\"id\": \"cvm\", \"version\": 2, \"required\": "
	    "[\"cpu\", \"cpu\"], \"evidence\": {\"aws-nitro\": {}}}", 0,
	    NULL);
	assert_int_equal(av_policy_compile(doc, &pol, &perr), -1);
	assert_string_equal(perr.path, "required[1]");
	json_decref(doc);
	doc = json_loads("{\"id\": \"cvm\", \"version\": 2, \"required\": "
	    "[\"GPU\"], \"evidence\": {\"aws-nitro\": {}}}", 0, NULL);
	assert_int_equal(av_policy_compile(doc, &pol, &perr), -1);
	assert_string_equal(perr.path, "required[0]");
	json_decref(doc);
	json_decref(body);
	av_trust_free(t);
}

/* NVIDIA SDK evidence lists, posted whole or as one element. */
static void
test_sdk_lists(void **state)
{
	struct av_request	*r = NULL;
	struct av_err		 e = { 0 };
	json_t			*body;
	const char		*pem = "-----BEGIN CERTIFICATE-----\\nAA==\\n"
				    "-----END CERTIFICATE-----\\n";
	char			 text[1024];

	(void)state;
	snprintf(text, sizeof(text), "[{\"arch\": \"HOPPER\", \"certificate\":"
	    " \"%s\", \"evidence\": \"AQID\", \"nonce\": \"00\"}, "
	    "{\"certificate\": \"%s\", \"evidence\": \"BAUG\"}]", pem, pem);
	assert_non_null(body = json_loads(text, 0, NULL));
	assert_int_equal(av_request_from_json(body, &r, &e), 0);
	assert_int_equal(r->nitems, 2);
	assert_string_equal(r->items[0].type, "nvidia-gpu");
	assert_string_equal(r->items[1].type, "nvidia-gpu");
	assert_memory_equal(r->items[1].data, "\x04\x05\x06", 3);
	assert_non_null(json_object_get(r->items[0].item, "cert_chain"));
	av_request_free(r);
	json_decref(body);

	/* inside our envelope, beside a CPU item */
	snprintf(text, sizeof(text), "{\"nonce\": \"AAAA\", \"evidence\": "
	    "[{\"type\": \"sev-snp\", \"data\": \"AA==\"}, [{\"certificate\":"
	    " \"%s\", \"evidence\": \"AQID\"}]]}", pem);
	assert_non_null(body = json_loads(text, 0, NULL));
	assert_int_equal(av_request_from_json(body, &r, &e), 0);
	assert_int_equal(r->nitems, 2);
	assert_string_equal(r->items[0].type, "sev-snp");
	assert_string_equal(r->items[1].type, "nvidia-gpu");
	av_request_free(r);
	json_decref(body);

	/* an array that is not an SDK list is not an item */
	expect_bad("{\"evidence\": [[1, 2]]}", "must be an object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_good_body),
		cmocka_unit_test(test_unknown_evidence),
		cmocka_unit_test(test_required_submods),
		cmocka_unit_test(test_sdk_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
