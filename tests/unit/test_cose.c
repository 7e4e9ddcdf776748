/*
 * The CBOR reader and COSE_Sign1 framing (src/evidence/cose.c): hostile
 * lengths and counts, indefinite containers, depth caps, and the rule
 * that a failed read leaves the reader where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evidence/cose.h"

#define R(name, ...)							\
	static const uint8_t name##_b[] = { __VA_ARGS__ };		\
	struct av_reader name;						\
	av_reader_init(&name, name##_b, sizeof(name##_b))

/* The reader did not move. */
static void
assert_unmoved(const struct av_reader *r, const uint8_t *start, size_t n)
{
	assert_ptr_equal(r->p, start);
	assert_int_equal(r->left, n);
}

static void
test_heads(void **state)
{
	struct av_cbor_head	h;
	uint64_t		v;

	(void)state;
	{
		R(r, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
		assert_true(av_cbor_uint(&r, &v));
		assert_true(v == UINT64_MAX);
		assert_int_equal(r.left, 0);
	}
	{
		/* 8-byte argument cut short */
		R(r, 0x1b, 0xff, 0xff, 0xff);
		assert_false(av_cbor_head(&r, &h));
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* reserved additional information 28..30 */
		R(r, 0x1c);
		assert_false(av_cbor_head(&r, &h));
		assert_unmoved(&r, r_b, 1);
	}
	{
		/* indefinite length is for arrays and maps only */
		R(r, 0x5f, 0x41, 0x00, 0xff);
		const uint8_t *p;
		size_t n;

		assert_false(av_cbor_head(&r, &h));
		assert_false(av_cbor_bstr(&r, &p, &n));
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* a stray break */
		R(r, 0xff);
		assert_false(av_cbor_head(&r, &h));
		assert_false(av_cbor_skip(&r));
		assert_unmoved(&r, r_b, 1);
	}
	{
		/* negative integer is not a uint */
		R(r, 0x38, 0x22);
		assert_false(av_cbor_uint(&r, &v));
		assert_unmoved(&r, r_b, 2);
		assert_true(av_cbor_head(&r, &h));
		assert_int_equal(h.major, AV_CBOR_NINT);
		assert_true(h.arg == 0x22);
	}
}

static void
test_strings(void **state)
{
	const uint8_t	*p;
	const char	*t;
	size_t		 n;

	(void)state;
	{
		/* byte string announcing 2^64-1 bytes */
		R(r, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00);
		assert_false(av_cbor_bstr(&r, &p, &n));
		assert_unmoved(&r, r_b, sizeof(r_b));
		assert_false(av_cbor_skip(&r));
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* one byte short */
		R(r, 0x43, 0x01, 0x02);
		assert_false(av_cbor_bstr(&r, &p, &n));
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		R(r, 0x43, 0x01, 0x02, 0x03, 0x62, 'h', 'i');
		assert_false(av_cbor_tstr(&r, &t, &n));	/* wrong type */
		assert_true(av_cbor_bstr(&r, &p, &n));
		assert_int_equal(n, 3);
		assert_ptr_equal(p, r_b + 1);
		assert_true(av_cbor_tstr(&r, &t, &n));
		assert_int_equal(n, 2);
		assert_memory_equal(t, "hi", 2);
		assert_int_equal(r.left, 0);
	}
	{
		R(r, 0xf6, 0xf7);
		assert_true(av_cbor_null(&r));
		assert_false(av_cbor_null(&r));	/* undefined is not null */
		assert_int_equal(r.left, 1);
	}
}

static void
test_containers(void **state)
{
	struct av_cbor_iter	it;
	uint64_t		v;
	int			n;

	(void)state;
	{
		/* a count larger than the bytes left is refused up front */
		R(r, 0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		    0x01);
		assert_false(av_cbor_array(&r, &it));
		assert_unmoved(&r, r_b, sizeof(r_b));
		assert_false(av_cbor_skip(&r));
	}
	{
		/* map of 2 pairs needs at least 4 bytes */
		R(r, 0xa2, 0x01, 0x02, 0x03);
		assert_false(av_cbor_map(&r, &it));
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* indefinite map {1: 2, 3: 4} */
		R(r, 0xbf, 0x01, 0x02, 0x03, 0x04, 0xff);
		assert_true(av_cbor_map(&r, &it));
		assert_true(it.indef);
		for (n = 0; av_cbor_next(&r, &it) == 1; n++) {
			assert_true(av_cbor_uint(&r, &v));
			assert_true(av_cbor_uint(&r, &v));
		}
		assert_int_equal(n, 2);
		assert_int_equal(r.left, 0);
	}
	{
		/* indefinite array without its break */
		R(r, 0x9f, 0x01, 0x02);
		assert_true(av_cbor_array(&r, &it));
		assert_int_equal(av_cbor_next(&r, &it), 1);
		assert_true(av_cbor_uint(&r, &v));
		assert_int_equal(av_cbor_next(&r, &it), 1);
		assert_true(av_cbor_uint(&r, &v));
		assert_int_equal(av_cbor_next(&r, &it), -1);
		r.p = r_b;
		r.left = sizeof(r_b);
		assert_false(av_cbor_skip(&r));
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* skip over nested, tagged, indefinite items */
		R(r, 0xa2, 0x01, 0xbf, 0x61, 'a', 0x9f, 0xf6, 0xff, 0xff, 0xc1,
		    0x1a, 0x00, 0x01, 0x00, 0x00, 0x42, 0x00, 0x00, 0x07);
		assert_true(av_cbor_skip(&r));
		assert_int_equal(r.left, 1);	/* the trailing 0x07 */
	}
}

static void
test_depth(void **state)
{
	uint8_t		deep[64], ok[AV_CBOR_MAX_DEPTH + 2];
	struct av_reader r;

	(void)state;
	/* 63 nested arrays of one: deeper than the cap */
	memset(deep, 0x81, sizeof(deep));
	deep[sizeof(deep) - 1] = 0x00;
	av_reader_init(&r, deep, sizeof(deep));
	assert_false(av_cbor_skip(&r));
	assert_unmoved(&r, deep, sizeof(deep));
	/* exactly at the cap is fine */
	memset(ok, 0x81, sizeof(ok));
	ok[AV_CBOR_MAX_DEPTH] = 0x00;
	av_reader_init(&r, ok, AV_CBOR_MAX_DEPTH + 1);
	assert_true(av_cbor_skip(&r));
	assert_int_equal(r.left, 0);
	/* nested tags count too */
	memset(deep, 0xc1, sizeof(deep));
	deep[sizeof(deep) - 1] = 0x00;
	av_reader_init(&r, deep, sizeof(deep));
	assert_false(av_cbor_skip(&r));
}

static void
test_sign1(void **state)
{
	/* 18([h'a10126', {4: h'01'}, h'beef', h'0102']) */
	static const uint8_t doc[] = { 0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26,
	    0xa1, 0x04, 0x41, 0x01, 0x42, 0xbe, 0xef, 0x42, 0x01, 0x02 };
	static const uint8_t want_tbs[] = { 0x84, 0x6a, 'S', 'i', 'g', 'n',
	    'a', 't', 'u', 'r', 'e', '1', 0x43, 0xa1, 0x01, 0x26, 0x40, 0x42,
	    0xbe, 0xef };
	struct av_cose_sign1	cs;
	struct av_err		e = { 0 };
	uint8_t			*tbs, bad[sizeof(doc) + 1];
	size_t			 len;

	(void)state;
	assert_int_equal(av_cose_sign1_parse(doc, sizeof(doc), &cs, &e), 0);
	assert_true(cs.tagged);
	assert_int_equal(cs.prot_len, 3);
	assert_int_equal(cs.unprot_len, 4);
	assert_ptr_equal(cs.unprot, doc + 6);
	assert_int_equal(cs.payload_len, 2);
	assert_int_equal(cs.sig_len, 2);
	assert_true(av_cose_prot_is_alg(&cs, -7));
	assert_false(av_cose_prot_is_alg(&cs, -35));
	tbs = av_cose_sig_structure(&cs, NULL, 0, &len);
	assert_non_null(tbs);
	assert_int_equal(len, sizeof(want_tbs));
	assert_memory_equal(tbs, want_tbs, len);
	free(tbs);
	/* untagged */
	assert_int_equal(av_cose_sign1_parse(doc + 1, sizeof(doc) - 1, &cs,
	    &e), 0);
	assert_false(cs.tagged);
	/* trailing byte */
	memcpy(bad, doc, sizeof(doc));
	bad[sizeof(doc)] = 0;
	assert_int_equal(av_cose_sign1_parse(bad, sizeof(bad), &cs, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	assert_string_equal(e.reason, "cose: trailing bytes after COSE_Sign1");
	/* another tag */
	bad[0] = 0xd1;
	assert_int_equal(av_cose_sign1_parse(bad, sizeof(doc), &cs, &e), -1);
	assert_string_equal(e.reason, "cose: tag other than 18 (COSE_Sign1)");
	/* every truncation */
	for (size_t n = 0; n < sizeof(doc); n++) {
		assert_int_equal(av_cose_sign1_parse(doc, n, &cs, &e), -1);
		assert_int_equal(e.code, AV_E_MALFORMED);
	}
}

static void
test_sig_structure_long(void **state)
{
	struct av_cose_sign1	 cs = { 0 };
	uint8_t			*payload, *tbs;
	size_t			 len;

	(void)state;
	/* payload of 70000 bytes: a 4-byte length argument (0x5a) */
	payload = calloc(1, 70000);
	assert_non_null(payload);
	payload[69999] = 0x77;
	cs.prot = (const uint8_t *)"\xa1\x01\x38\x22";
	cs.prot_len = 4;
	cs.payload = payload;
	cs.payload_len = 70000;
	tbs = av_cose_sig_structure(&cs, (const uint8_t *)"aad", 3, &len);
	assert_non_null(tbs);
	assert_int_equal(len, 1 + 11 + 5 + 4 + 70000 + 5);
	assert_int_equal(tbs[12], 0x44);
	assert_memory_equal(tbs + 17, "\x43" "aad", 4);
	assert_memory_equal(tbs + 21, "\x5a\x00\x01\x11\x70", 5);
	assert_int_equal(tbs[len - 1], 0x77);
	free(tbs);
	free(payload);
	assert_int_equal(av_cbor_bstr_head_len(23), 1);
	assert_int_equal(av_cbor_bstr_head_len(24), 2);
	assert_int_equal(av_cbor_bstr_head_len(256), 3);
	assert_int_equal(av_cbor_bstr_head_len(65536), 5);
	assert_int_equal(av_cbor_bstr_head_len(1ull << 32), 9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heads),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_sign1),
		cmocka_unit_test(test_sig_structure_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
