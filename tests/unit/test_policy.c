/*
 * Policy loading is strict: every error names the file, the JSON path
 * and the reason, and a set loads completely or not at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "av/policy.h"
#include "avt_pki.h"

static int
compile_text(const char *text, struct av_policy **out,
    struct av_policy_err *perr)
{
	json_error_t	 jerr;
	json_t		*doc;
	int		 rc;

	memset(perr, 0, sizeof(*perr));
	doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(doc);
	rc = av_policy_compile(doc, out, perr);
	json_decref(doc);
	return rc;
}

static void
expect_error(const char *text, const char *path, const char *reason_part)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;

	assert_int_equal(compile_text(text, &p, &perr), -1);
	assert_null(p);
	assert_string_equal(perr.path, path);
	if (strstr(perr.reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", perr.reason, reason_part);
}

static void
test_top_level_errors(void **state)
{
	(void)state;
	expect_error("[]", "", "JSON object");
	expect_error("{\"id\":\"a\",\"version\":1,\"evidence\":{\"x\":{}},"
	    "\"bogus\":1}", "bogus", "unknown key");
	expect_error("{\"id\":\"-a\",\"version\":1,\"evidence\":{}}", "id",
	    "[A-Za-z0-9._-]");
	expect_error("{\"id\":\"a\",\"evidence\":{}}", "version", "missing");
	expect_error("{\"id\":\"a\",\"version\":0,\"evidence\":{}}", "version",
	    "start at 1");
	expect_error("{\"id\":\"a\",\"version\":\"7\",\"evidence\":{}}",
	    "version", "integer");
	expect_error("{\"id\":\"a\",\"version\":1,\"evidence\":{}}", "evidence",
	    "at least one platform");
	expect_error("{\"id\":\"a\",\"version\":1,\"evidence\":{\"zx81\":{}}}",
	    "evidence.zx81", "unknown platform");
	expect_error("{\"id\":\"a\",\"version\":1,\"freshness\":{\"nonce\":"
	    "\"sometimes\"},\"evidence\":{\"zx81\":{}}}", "freshness.nonce",
	    "\"required\" or \"optional\"");
	expect_error("{\"id\":\"a\",\"version\":1,\"freshness\":{\"max_age\":"
	    "3},\"evidence\":{\"zx81\":{}}}", "freshness.max_age",
	    "unknown key");
	expect_error("{\"id\":\"a\",\"version\":1,\"freshness\":{\"max_age_s\":"
	    "-3},\"evidence\":{\"zx81\":{}}}", "freshness.max_age_s",
	    "integer from 0");
}

static void
test_hexlist(void **state)
{
	struct av_hexlist	 l;
	struct av_policy_err	 perr;
	json_t			*v;
	uint8_t			 want[4] = { 0xde, 0xad, 0xbe, 0xef };

	(void)state;
	v = json_loads("[\"DEADBEEF\", \"00000000\"]", 0, NULL);
	assert_int_equal(av_pol_hexlist(v, "p", 4, &l, &perr), 0);
	assert_int_equal(l.n, 2);
	assert_true(av_hexlist_contains(&l, want, 4));
	want[0] = 0;
	assert_false(av_hexlist_contains(&l, want, 4));
	assert_false(av_hexlist_contains(&l, want, 3));
	av_hexlist_cleanup(&l);
	json_decref(v);

	v = json_loads("[\"deadbeef\", \"DEADBEEF\"]", 0, NULL);
	assert_int_equal(av_pol_hexlist(v, "p", 4, &l, &perr), -1);
	assert_string_equal(perr.path, "p[1]");
	assert_non_null(strstr(perr.reason, "duplicate"));
	json_decref(v);

	v = json_loads("[\"deadbee\"]", 0, NULL);
	assert_int_equal(av_pol_hexlist(v, "p", 4, &l, &perr), -1);
	assert_string_equal(perr.path, "p[0]");
	assert_non_null(strstr(perr.reason, "expected 8 hex digits"));
	json_decref(v);

	v = json_loads("[\"deadbeeg\"]", 0, NULL);
	assert_int_equal(av_pol_hexlist(v, "p", 4, &l, &perr), -1);
	assert_non_null(strstr(perr.reason, "not a hex string"));
	json_decref(v);

	v = json_loads("[]", 0, NULL);
	assert_int_equal(av_pol_hexlist(v, "p", 4, &l, &perr), -1);
	assert_non_null(strstr(perr.reason, "empty list"));
	json_decref(v);

	/* a single string is a one-value list; len 0 takes the first length */
	v = json_string("0102");
	assert_int_equal(av_pol_hexlist(v, "p", 0, &l, &perr), 0);
	assert_int_equal(l.len, 2);
	assert_int_equal(l.n, 1);
	av_hexlist_cleanup(&l);
	json_decref(v);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_file_errors(void **state)
{
	struct av_policy	*p = NULL;
	struct av_policy_set	*set = NULL;
	struct av_policy_err	 perr;
	char			*dir = avt_tmpdir(), path[1024];

	(void)state;
	assert_non_null(dir);
	/* duplicate keys are rejected by the JSON reader */
	write_file(dir, "dup.json", "{\"id\":\"a\",\"id\":\"b\"}");
	snprintf(path, sizeof(path), "%s/dup.json", dir);
	assert_int_equal(av_policy_load_file(path, &p, &perr), -1);
	assert_string_equal(perr.file, path);
	assert_non_null(strstr(perr.reason, "duplicate"));

	/* one bad file: the whole set fails, naming that file */
	assert_int_equal(av_policy_set_load_dir(dir, &set, &perr), -1);
	assert_null(set);
	assert_string_equal(perr.file, path);

	/* an empty directory loads as an empty set */
	snprintf(path, sizeof(path), "%s/dup.json", dir);
	remove(path);
	assert_int_equal(av_policy_set_load_dir(dir, &set, &perr), 0);
	assert_int_equal(av_policy_set_count(set), 0);
	assert_null(av_policy_set_find(set, "a"));
	av_policy_set_free(set);

	/* a missing directory is an error */
	snprintf(path, sizeof(path), "%s/nope", dir);
	assert_int_equal(av_policy_set_load_dir(path, &set, &perr), -1);
	assert_non_null(strstr(perr.reason, "cannot open"));
	avt_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_level_errors),
		cmocka_unit_test(test_hexlist),
		cmocka_unit_test(test_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
