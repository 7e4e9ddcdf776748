/*
 * attestd's request-body fast path (src/attestd/jsonin.c) against
 * jansson: every input is accepted or refused as json_loadb(...,
 * JSON_REJECT_DUPLICATES) decides, with equal values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/attestd/jsonin.c"

static void
same(const char *p, size_t n)
{
	json_error_t	 je;
	json_t		*want, *got;

	want = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
	got = avd_json_load(p, n);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("accepted what jansson refuses: %.*s", (int)n, p);
	} else {
		if (got == NULL || !json_equal(want, got))
			fail_msg("differs from jansson: %.*s", (int)n, p);
		/* integers stay integers, as jansson makes them */
		char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
		char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	json_decref(want);
	json_decref(got);
}

static void
test_cases(void **state)
{
	static const char *cases[] = {
		"{}", "[]", " { } ", "\n[\t]\r\n", "{\"a\":1}", "[1,2,3]",
		"{\"policy\":\"p\",\"evidence\":[{\"type\":\"aws-nitro\","
		    "\"data\":\"hKRhYmM=\"}],\"nonce\":\"AAEC\"}",
		"{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1},\"c\":{\"b\":2}}",
		"{\"\":0}", "[true,false,null]", "[tru]", "[nul]", "[falsey]",
		"[-0]", "[0]", "[01]", "[-]", "[1.5]", "[1e3]", "[1E3]",
		"[123456789012345678]", "[1234567890123456789]",
		"[-123456789012345678]", "[9223372036854775807]",
		"[9223372036854775808]", "[-9223372036854775808]",
		"[\"a\\\"b\"]", "[\"\\u00e9\"]", "[\"\\u0000\"]",
		"[\"caf\xc3\xa9\"]", "[\"\xff\"]", "[\"a\x7f\"]",
		"[\"tab\there\"]", "{\"a\":1,}", "[1,]", "[,1]", "{,}",
		"{\"a\" 1}", "{\"a\":}", "{1:2}", "{\"a\":1 \"b\":2}",
		"[1] x", "[1][2]", "\"str\"", "1", "true", "", "   ",
		"{\"a\":[1,{\"b\":[[[[]]]]}]}", "[\"unterminated]",
		"{\"k", "[1 2]", "[\"a\" \"b\"]", "{\"a\":1}}", "[[]",
		"{\"x\":\"y\"} ", "[1]\0", "{\"evidence\":[]}\n",
	};
	char	 deep[400];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same(cases[i], strlen(cases[i]));
	same("[1]\0", 4);
	same("[\"a\0b\"]", 7);
	/* nesting deeper than the fast path takes, within jansson's */
	for (i = 0; i < 200; i++) {
		deep[i] = '[';
		deep[200 + i] = ']';
	}
	same(deep, 400);
	same(deep, 399);
}

/* Random byte changes of a real-looking body: same answer every time. */
static void
test_mutations(void **state)
{
	static const char body[] =
	    "{\"policy\":\"bench-nitro\",\"nonce\":\"3q2-7w\",\"evidence\":"
	    "[{\"type\":\"aws-nitro\",\"name\":\"cpu\",\"data\":\"hEShATgioFkR"
	    "XqlpbW9kdWxlX2lkeCdpLTAxMjM0NTY3ODlhYmNkZWYwLWVuYzAxMjM=\"},"
	    "{\"type\":\"x\",\"n\":[1,-2,30,true,false,null,{}]}]}";
	static const char alphabet[] = "{}[],:\"\\ 0-1.eE9tfnaxu\x7f\x01\xc3";
	char		 buf[sizeof(body)];
	unsigned	 seed = 12345;
	int		 k, m;

	(void)state;
	same(body, sizeof(body) - 1);
	for (k = 0; k < 20000; k++) {
		memcpy(buf, body, sizeof(body));
		for (m = 0; m < 1 + k % 3; m++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % (sizeof(body) - 1)] =
			    alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
		}
		same(buf, sizeof(body) - 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
