/*
 * Submod results: reasons drive the status and the AR4SI trust vector
 * from one table, worst value wins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "av/result.h"

static void
test_reasons_and_vector(void **state)
{
	struct av_submod	 sm;
	json_t			*r;

	(void)state;
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	assert_int_equal(sm.status, AV_STATUS_NONE);
	av_submod_tv(&sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	av_submod_tv(&sm, AV_TV_HARDWARE, AV_AR_AFFIRM);

	/* no reference values: a warning, executables "unrecognized" (33) */
	av_submod_reason(&sm, AV_E_NO_POLICY, AV_STATUS_WARNING, NULL, NULL,
	    NULL, "no policy");
	assert_int_equal(sm.status, AV_STATUS_WARNING);
	assert_int_equal(sm.tv[AV_TV_EXECUTABLES], AV_AR_UNRECOGNIZED_RT);

	/* a measurement mismatch is contraindicated and worse */
	av_submod_reason(&sm, AV_E_MEASUREMENT, AV_STATUS_CONTRAINDICATED,
	    "pcr0", json_string("aa"), json_string("bb"), "mismatch");
	assert_int_equal(sm.status, AV_STATUS_CONTRAINDICATED);
	assert_int_equal(sm.tv[AV_TV_EXECUTABLES], AV_AR_CONTRA);
	assert_true(av_submod_failed(&sm));

	/* a later affirmation never hides a worse value */
	av_submod_tv(&sm, AV_TV_EXECUTABLES, AV_AR_AFFIRM);
	assert_int_equal(sm.tv[AV_TV_EXECUTABLES], AV_AR_CONTRA);

	/* a warning-only code in a contraindicated role uses 32 as warning */
	av_submod_reason(&sm, AV_E_CERT_REVOKED, AV_STATUS_WARNING, NULL, NULL,
	    NULL, "crl");
	assert_int_equal(sm.tv[AV_TV_HARDWARE], AV_AR_WARN);
	assert_int_equal(sm.status, AV_STATUS_CONTRAINDICATED);

	assert_int_equal(json_array_size(sm.reasons), 3);
	r = json_array_get(sm.reasons, 1);
	assert_string_equal(json_string_value(json_object_get(r, "code")),
	    "measurement_mismatch");
	assert_string_equal(json_string_value(json_object_get(r, "claim")),
	    "pcr0");
	assert_string_equal(json_string_value(json_object_get(r, "expected")),
	    "aa");
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    "bb");
	assert_string_equal(json_string_value(json_object_get(r, "severity")),
	    "contraindicated");
	av_submod_cleanup(&sm);
}

static void
test_fatal_error(void **state)
{
	struct av_submod	sm;
	struct av_err		e = { 0 };

	(void)state;
	assert_int_equal(av_submod_init(&sm, "gpu0"), 0);
	assert_int_equal(AV_FAIL(&e, AV_E_SIGNATURE, "bad signature"), -1);
	av_submod_fail(&sm, &e);
	assert_int_equal(sm.status, AV_STATUS_CONTRAINDICATED);
	assert_int_equal(sm.tv[AV_TV_INSTANCE], AV_AR_CRYPTO_FAILED);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(sm.reasons, 0), "code")), "signature_invalid");
	av_submod_cleanup(&sm);
	assert_string_equal(av_code_str(AV_E_SUBMOD_MISSING), "submod_missing");
	assert_int_equal(av_code_from_str("cert_time_invalid"), AV_E_CERT_TIME);
	assert_int_equal(av_code_from_str("nope"), AV_E__COUNT);
}

/* The attested key: {"akpub": base64url}, the latest one wins. */
static void
test_key_attestation(void **state)
{
	static const uint8_t	 k1[] = { 0xfb, 0xff, 0x00 }, k2[] = "key";
	struct av_submod	 sm;

	(void)state;
	assert_int_equal(av_submod_init(&sm, "cpu"), 0);
	assert_null(sm.key_attestation);
	assert_int_equal(av_submod_key_attestation(&sm, k1, sizeof(k1)), 0);
	assert_string_equal(json_string_value(json_object_get(
	    sm.key_attestation, "akpub")), "-_8A");
	assert_int_equal(json_object_size(sm.key_attestation), 1);
	assert_int_equal(av_submod_key_attestation(&sm, k2, 3), 0);
	assert_string_equal(json_string_value(json_object_get(
	    sm.key_attestation, "akpub")), "a2V5");
	av_submod_cleanup(&sm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons_and_vector),
		cmocka_unit_test(test_fatal_error),
		cmocka_unit_test(test_key_attestation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
