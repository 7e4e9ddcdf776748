/*
 * CBOR through libcbor and COSE_Sign1 framing (src/evidence/cose.c):
 * single heads from the streaming decoder, the bounding walk that runs
 * before cbor_load() (hostile counts, depth, indefinite strings, the
 * rule that a failed read leaves the reader where it was), COSE_Sign1
 * framing, the {1: alg} rule and the Sig_structure encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

	(void)state;
	{
		R(r, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_int_equal(h.major, AV_CBOR_UINT);
		assert_true(h.arg == UINT64_MAX);
		assert_int_equal(r.left, 0);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_TRUNCATED);
	}
	{
		/* 8-byte argument cut short */
		R(r, 0x1b, 0xff, 0xff, 0xff);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* reserved additional information 28..30 */
		R(r, 0x1c);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_MALFORMED);
		assert_unmoved(&r, r_b, 1);
	}
	{
		/* -35, shortest and not */
		R(r, 0x38, 0x22, 0x39, 0x00, 0x22);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_int_equal(h.major, AV_CBOR_NINT);
		assert_true(h.arg == 34);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_NINT && h.arg == 34);
	}
	{
		/* a definite string is read with its content */
		R(r, 0x43, 0x01, 0x02, 0x03, 0x62, 'h', 'i');
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_int_equal(h.major, AV_CBOR_BSTR);
		assert_int_equal(h.arg, 3);
		assert_ptr_equal(h.str, r_b + 1);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_int_equal(h.major, AV_CBOR_TSTR);
		assert_memory_equal(h.str, "hi", 2);
		assert_int_equal(r.left, 0);
	}
	{
		/* its content one byte short */
		R(r, 0x43, 0x01, 0x02);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* byte string announcing 2^64-1 bytes */
		R(r, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* indefinite containers and strings, break, null, undefined */
		R(r, 0x9f, 0xbf, 0x5f, 0x7f, 0xff, 0xf6, 0xf7, 0xd8, 0x12);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_ARRAY && h.indef);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_MAP && h.indef);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_BSTR && h.indef);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_TSTR && h.indef);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.brk);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_SIMPLE && h.arg == 22 && !h.brk);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_SIMPLE && h.arg == 23);
		assert_int_equal(av_cbor_head(&r, &h), AV_CBOR_OK);
		assert_true(h.major == AV_CBOR_TAG && h.arg == 18);
	}
}

static void
test_skip(void **state)
{
	(void)state;
	{
		/* a count larger than the bytes left is refused up front */
		R(r, 0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		    0x01);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* map of 2 pairs needs at least 4 bytes */
		R(r, 0xa2, 0x01, 0x02, 0x03);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* a map count whose double overflows */
		R(r, 0xbb, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		    0x00, 0x00);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_TRUNCATED);
	}
	{
		/* indefinite map {1: 2, 3: 4} */
		R(r, 0xbf, 0x01, 0x02, 0x03, 0x04, 0xff, 0x07);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_OK);
		assert_int_equal(r.left, 1);
	}
	{
		/* indefinite array without its break */
		R(r, 0x9f, 0x01, 0x02);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_TRUNCATED);
		assert_unmoved(&r, r_b, sizeof(r_b));
	}
	{
		/* a stray break, and a break closing a definite array */
		R(r, 0xff);
		R(q, 0x82, 0x01, 0xff);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_MALFORMED);
		assert_unmoved(&r, r_b, 1);
		assert_int_equal(av_cbor_skip(&q), AV_CBOR_MALFORMED);
		assert_unmoved(&q, q_b, sizeof(q_b));
	}
	{
		/* nested, tagged, indefinite items; empty containers */
		R(r, 0xa2, 0x01, 0xbf, 0x61, 'a', 0x9f, 0xf6, 0x80, 0xa0, 0xff,
		    0xff, 0xc1, 0x1a, 0x00, 0x01, 0x00, 0x00, 0x42, 0x00, 0x00,
		    0x07);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_OK);
		assert_int_equal(r.left, 1);	/* the trailing 0x07 */
	}
	{
		/* indefinite-length strings are refused wherever they are */
		R(r, 0x82, 0x01, 0x5f, 0x41, 0x00, 0xff);
		R(q, 0xa1, 0x7f, 0x61, 'a', 0xff, 0x01);
		assert_int_equal(av_cbor_skip(&r), AV_CBOR_INDEF_STRING);
		assert_unmoved(&r, r_b, sizeof(r_b));
		assert_int_equal(av_cbor_skip(&q), AV_CBOR_INDEF_STRING);
	}
}

/*
 * Counts that each fit in the bytes left but together exceed the input:
 * 16 nested arrays each announcing ~1000 items in 48 bytes and padding.
 * libcbor 0.8 would allocate every one of them before failing.
 */
static void
test_count_budget(void **state)
{
	uint8_t			 buf[2048];
	struct av_reader	 r;
	cbor_item_t		*it = NULL;
	size_t			 o = 0;

	(void)state;
	for (int i = 0; i < 16; i++) {
		buf[o++] = 0x99;	/* array, 2-byte count */
		buf[o++] = 0x03;
		buf[o++] = 0xe8;	/* 1000 */
	}
	memset(buf + o, 0x00, sizeof(buf) - o);
	av_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_TRUNCATED);
	assert_int_equal(av_cbor_load(buf, sizeof(buf), &it),
	    AV_CBOR_TRUNCATED);
	assert_null(it);
	/* one such array alone is fine when its items are there */
	av_reader_init(&r, buf + 45, 1003);
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_OK);
	assert_int_equal(r.left, 0);
}

/* At most AV_CBOR_MAX_ITEMS items, however small they are. */
static void
test_item_cap(void **state)
{
	uint8_t			*b;
	struct av_reader	 r;
	struct av_cose_sign1	 cs;
	struct av_err		 e = { 0 };
	cbor_item_t		*it = NULL;
	const size_t		 cap = AV_CBOR_MAX_ITEMS;

	(void)state;
	assert_non_null(b = calloc(1, 64 * 1024));
	/* indefinite array: itself and cap - 1 zeros */
	b[0] = 0x9f;
	b[cap] = 0xff;
	av_reader_init(&r, b, cap + 1);
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_OK);
	assert_int_equal(av_cbor_load(b, cap + 1, &it), AV_CBOR_OK);
	assert_int_equal(cbor_array_size(it), cap - 1);
	cbor_decref(&it);
	/* one more */
	b[cap] = 0x00;
	b[cap + 1] = 0xff;
	av_reader_init(&r, b, cap + 2);
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_TOO_MANY);
	assert_unmoved(&r, b, cap + 2);
	assert_int_equal(av_cbor_load(b, cap + 2, &it), AV_CBOR_TOO_MANY);
	assert_null(it);
	/* definite: 2-byte count 4095, then 4096 */
	memset(b, 0, 64 * 1024);
	b[0] = 0x99;
	b[1] = (uint8_t)((cap - 1) >> 8);
	b[2] = (uint8_t)(cap - 1);
	assert_int_equal(av_cbor_load(b, cap + 2, &it), AV_CBOR_OK);
	cbor_decref(&it);
	b[1] = (uint8_t)(cap >> 8);
	b[2] = (uint8_t)cap;
	assert_int_equal(av_cbor_load(b, cap + 3, &it), AV_CBOR_TOO_MANY);
	/* a 64 KiB unprotected header of empty arrays */
	memset(b, 0x80, 64 * 1024);
	memcpy(b, "\x84\x40\xa1\x00\x9f", 5);
	memcpy(b + 64 * 1024 - 3, "\xff\x40\x40", 3);
	assert_int_equal(av_cose_sign1_parse(b, 64 * 1024, &cs, &e), -1);
	assert_string_equal(e.reason, "cose: more than 4096 CBOR items");
	free(b);
}

static void
test_depth(void **state)
{
	uint8_t			 ok[AV_CBOR_MAX_DEPTH + 1], deep[64];
	uint8_t			*huge;
	struct av_reader	 r;
	cbor_item_t		*it = NULL;
	struct av_cose_sign1	 cs;
	struct av_err		 e = { 0 };
	const size_t		 n = 60000;
	clock_t			 t0;

	(void)state;
	/* exactly at the cap is fine */
	memset(ok, 0x81, sizeof(ok));
	ok[AV_CBOR_MAX_DEPTH] = 0x00;
	av_reader_init(&r, ok, sizeof(ok));
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_OK);
	assert_int_equal(r.left, 0);
	assert_int_equal(av_cbor_load(ok, sizeof(ok), &it), AV_CBOR_OK);
	assert_non_null(it);
	cbor_decref(&it);
	assert_null(it);
	/* one deeper is not */
	memset(deep, 0x81, sizeof(deep));
	deep[AV_CBOR_MAX_DEPTH + 1] = 0x00;
	av_reader_init(&r, deep, AV_CBOR_MAX_DEPTH + 2);
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_TOO_DEEP);
	assert_unmoved(&r, deep, AV_CBOR_MAX_DEPTH + 2);
	/* nested tags count too */
	memset(deep, 0xc1, sizeof(deep));
	deep[sizeof(deep) - 1] = 0x00;
	av_reader_init(&r, deep, sizeof(deep));
	assert_int_equal(av_cbor_skip(&r), AV_CBOR_TOO_DEEP);
	/*
	 * 60000 nested arrays (definite, then indefinite), under the 64 KiB
	 * document cap: refused at level 17, before libcbor builds anything.
	 */
	huge = malloc(n + 1);
	assert_non_null(huge);
	t0 = clock();
	memset(huge, 0x81, n);
	huge[n] = 0x00;
	assert_int_equal(av_cbor_load(huge, n + 1, &it), AV_CBOR_TOO_DEEP);
	assert_null(it);
	assert_int_equal(av_cose_sign1_parse(huge, n + 1, &cs, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	assert_string_equal(e.reason, "cose: nested more than 16 levels deep");
	memset(huge, 0x9f, n);
	assert_int_equal(av_cbor_load(huge, n + 1, &it), AV_CBOR_TOO_DEEP);
	memset(huge, 0xc1, n);
	assert_int_equal(av_cbor_load(huge, n + 1, &it), AV_CBOR_TOO_DEEP);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	free(huge);
}

static void
test_load(void **state)
{
	/* each would make libcbor 0.8 allocate gigabytes if let through */
	static const uint8_t arr31[] = { 0x9a, 0x7f, 0xff, 0xff, 0xff, 0x00 };
	static const uint8_t map28[] = { 0xba, 0x10, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t inner[] = { 0x82, 0x00, 0x9a, 0x7f, 0xff, 0xff,
	    0xff };
	static const uint8_t bad_utf8[] = { 0x62, 0xff, 0xfe };
	static const uint8_t trailing[] = { 0x01, 0x02 };
	static const uint8_t good[] = { 0xbf, 0x61, 'k', 0x43, 1, 2, 3, 0x01,
	    0x39, 0x00, 0x22, 0xff };
	cbor_item_t		*it = (cbor_item_t *)1;
	const struct cbor_pair	*kv;
	const uint8_t		*p;
	const char		*t;
	size_t			 n;

	(void)state;
	assert_int_equal(av_cbor_load(arr31, sizeof(arr31), &it),
	    AV_CBOR_TRUNCATED);
	assert_null(it);
	assert_int_equal(av_cbor_load(map28, sizeof(map28), &it),
	    AV_CBOR_TRUNCATED);
	assert_int_equal(av_cbor_load(inner, sizeof(inner), &it),
	    AV_CBOR_TRUNCATED);
	assert_int_equal(av_cbor_load(bad_utf8, sizeof(bad_utf8), &it),
	    AV_CBOR_MALFORMED);
	assert_int_equal(av_cbor_load(trailing, sizeof(trailing), &it),
	    AV_CBOR_TRAILING);
	assert_int_equal(av_cbor_load(good, 0, &it), AV_CBOR_TRUNCATED);
	assert_int_equal(av_cbor_load(NULL, 0, &it), AV_CBOR_TRUNCATED);
	for (size_t cut = 1; cut < sizeof(good); cut++) {
		assert_int_equal(av_cbor_load(good, cut, &it),
		    AV_CBOR_TRUNCATED);
		assert_null(it);
	}
	assert_int_equal(av_cbor_load(good, sizeof(good), &it), AV_CBOR_OK);
	assert_true(cbor_isa_map(it) && cbor_map_is_indefinite(it));
	assert_int_equal(cbor_map_size(it), 2);
	kv = cbor_map_handle(it);
	assert_true(av_cbor_get_tstr(kv[0].key, &t, &n));
	assert_int_equal(n, 1);
	assert_true(av_cbor_get_bstr(kv[0].value, &p, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(p, "\x01\x02\x03", 3);
	assert_false(av_cbor_get_tstr(kv[0].value, &t, &n));
	assert_false(av_cbor_get_bstr(kv[0].key, &p, &n));
	assert_true(cbor_isa_uint(kv[1].key) && cbor_get_int(kv[1].key) == 1);
	assert_true(cbor_isa_negint(kv[1].value) &&
	    cbor_get_int(kv[1].value) == 34);
	assert_false(av_cbor_is_null(kv[1].value));
	cbor_decref(&it);
	{
		static const uint8_t nul[] = { 0xf6 };
		static const uint8_t undef[] = { 0xf7 };
		static const uint8_t empty[] = { 0x40 };

		assert_int_equal(av_cbor_load(nul, 1, &it), AV_CBOR_OK);
		assert_true(av_cbor_is_null(it));
		cbor_decref(&it);
		assert_int_equal(av_cbor_load(undef, 1, &it), AV_CBOR_OK);
		assert_false(av_cbor_is_null(it));
		cbor_decref(&it);
		assert_int_equal(av_cbor_load(empty, 1, &it), AV_CBOR_OK);
		assert_true(av_cbor_get_bstr(it, &p, &n));
		assert_int_equal(n, 0);
		assert_non_null(p);
		cbor_decref(&it);
	}
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
	uint8_t			 two[sizeof(doc) + 2];
	size_t			 len;

	(void)state;
	assert_int_equal(av_cose_sign1_parse(doc, sizeof(doc), &cs, &e), 0);
	assert_true(cs.tagged);
	assert_non_null(cs.root);
	assert_int_equal(cs.prot_len, 3);
	assert_memory_equal(cs.prot, doc + 3, 3);
	assert_true(cbor_isa_map(cs.unprot));
	assert_int_equal(cbor_map_size(cs.unprot), 1);
	assert_int_equal(cs.payload_len, 2);
	assert_memory_equal(cs.payload, "\xbe\xef", 2);
	assert_int_equal(cs.sig_len, 2);
	assert_true(av_cose_prot_is_alg(&cs, -7));
	assert_false(av_cose_prot_is_alg(&cs, -35));
	assert_false(av_cose_prot_is_alg(&cs, 7));
	tbs = av_cose_sig_structure(&cs, NULL, 0, &len);
	assert_non_null(tbs);
	assert_int_equal(len, sizeof(want_tbs));
	assert_memory_equal(tbs, want_tbs, len);
	free(tbs);
	av_cose_sign1_cleanup(&cs);
	assert_null(cs.root);
	av_cose_sign1_cleanup(&cs);	/* twice is harmless */
	av_cose_sign1_cleanup(NULL);
	/* untagged */
	assert_int_equal(av_cose_sign1_parse(doc + 1, sizeof(doc) - 1, &cs,
	    &e), 0);
	assert_false(cs.tagged);
	av_cose_sign1_cleanup(&cs);
	/* tag 18 in two bytes is libcbor's to decode */
	memcpy(bad + 1, doc, sizeof(doc));
	bad[0] = 0xd8;
	bad[1] = 0x12;
	assert_int_equal(av_cose_sign1_parse(bad, sizeof(bad), &cs, &e), 0);
	assert_true(cs.tagged);
	assert_int_equal(cs.payload_len, 2);
	av_cose_sign1_cleanup(&cs);
	/* ... and once only */
	two[0] = 0xd2;
	memcpy(two + 1, bad, sizeof(bad));
	assert_int_equal(av_cose_sign1_parse(two, sizeof(two), &cs, &e), -1);
	assert_string_equal(e.reason, "cose: not a COSE_Sign1 array of four");
	assert_null(cs.root);
	/* another tag, in one byte and in two */
	bad[1] = 0x13;
	assert_int_equal(av_cose_sign1_parse(bad, sizeof(bad), &cs, &e), -1);
	assert_string_equal(e.reason, "cose: tag other than 18 (COSE_Sign1)");
	memcpy(bad, doc, sizeof(doc));
	bad[0] = 0xd1;
	assert_int_equal(av_cose_sign1_parse(bad, sizeof(doc), &cs, &e), -1);
	assert_string_equal(e.reason, "cose: tag other than 18 (COSE_Sign1)");
	/* trailing byte */
	memcpy(bad, doc, sizeof(doc));
	bad[sizeof(doc)] = 0;
	assert_int_equal(av_cose_sign1_parse(bad, sizeof(bad), &cs, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	assert_string_equal(e.reason, "cose: trailing bytes after COSE_Sign1");
	/* every truncation */
	for (size_t n = 0; n < sizeof(doc); n++) {
		assert_int_equal(av_cose_sign1_parse(doc, n, &cs, &e), -1);
		assert_int_equal(e.code, AV_E_MALFORMED);
		assert_null(cs.root);
	}
	assert_int_equal(av_cose_sign1_parse(doc, 10, &cs, &e), -1);
	assert_string_equal(e.reason, "cose: truncated document");
}

/* One malformed COSE_Sign1 and the reason it gets. */
static void
sign1_fails(const uint8_t *p, size_t n, const char *why)
{
	struct av_cose_sign1	cs;
	struct av_err		e = { 0 };

	assert_int_equal(av_cose_sign1_parse(p, n, &cs, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	assert_string_equal(e.reason, why);
	assert_null(cs.root);
}

static void
test_sign1_shape(void **state)
{
	static const uint8_t three[] = { 0x83, 0x40, 0xa0, 0x40 };
	static const uint8_t indef[] = { 0x9f, 0x40, 0xa0, 0x40, 0x40, 0xff };
	static const uint8_t prot_map[] = { 0x84, 0xa0, 0xa0, 0x40, 0x40 };
	static const uint8_t unprot_arr[] = { 0x84, 0x40, 0x80, 0x40, 0x40 };
	static const uint8_t nil_payload[] = { 0x84, 0x40, 0xa0, 0xf6, 0x40 };
	static const uint8_t text_sig[] = { 0x84, 0x40, 0xa0, 0x40, 0x60 };
	static const uint8_t chunked[] = { 0x84, 0x40, 0xa0, 0x5f, 0x41, 0x00,
	    0xff, 0x40 };
	static const uint8_t not_utf8[] = { 0x84, 0x40, 0xa1, 0x61, 0xff, 0x00,
	    0x40, 0x40 };
	static const uint8_t indef_unprot[] = { 0x84, 0x40, 0xbf, 0x04, 0x40,
	    0xff, 0x40, 0x40 };
	struct av_cose_sign1	cs;
	struct av_err		e = { 0 };

	(void)state;
	sign1_fails(three, sizeof(three),
	    "cose: not a COSE_Sign1 array of four");
	sign1_fails(indef, sizeof(indef),
	    "cose: not a COSE_Sign1 array of four");
	sign1_fails(prot_map, sizeof(prot_map),
	    "cose: protected header not a byte string");
	sign1_fails(unprot_arr, sizeof(unprot_arr),
	    "cose: unprotected header not a map");
	sign1_fails(nil_payload, sizeof(nil_payload),
	    "cose: payload not a byte string");
	sign1_fails(text_sig, sizeof(text_sig),
	    "cose: signature not a byte string");
	sign1_fails(chunked, sizeof(chunked), "cose: indefinite-length string");
	sign1_fails(not_utf8, sizeof(not_utf8), "cose: not well-formed CBOR");
	/* an indefinite unprotected map is a map */
	assert_int_equal(av_cose_sign1_parse(indef_unprot,
	    sizeof(indef_unprot), &cs, &e), 0);
	assert_int_equal(cs.prot_len, 0);
	assert_false(av_cose_prot_is_alg(&cs, -35));
	av_cose_sign1_cleanup(&cs);
}

/* The protected header against {1: -35}, as the ES384 rule reads it. */
static void
test_prot_alg(void **state)
{
	static const struct {
		uint8_t	 b[8];
		size_t	 n;
		bool	 ok;
	} v[] = {
		{ { 0xa1, 0x01, 0x38, 0x22 }, 4, true },
		{ { 0xa1, 0x01, 0x39, 0x00, 0x22 }, 5, true },	/* long -35 */
		{ { 0xa1, 0x01, 0x3a, 0x00, 0x00, 0x00, 0x22 }, 7, true },
		{ { 0xa1, 0x18, 0x01, 0x38, 0x22 }, 5, true },	/* long 1 */
		{ { 0xa1, 0x01, 0x26 }, 3, false },		/* ES256 */
		{ { 0xa1, 0x01, 0x38, 0x23 }, 4, false },	/* ES512 */
		{ { 0xa1, 0x01, 0x18, 0x22 }, 4, false },	/* +34 */
		{ { 0xa1, 0x02, 0x38, 0x22 }, 4, false },	/* label 2 */
		{ { 0xa1, 0x20, 0x38, 0x22 }, 4, false },	/* label -1 */
		{ { 0xa1, 0x61, '1', 0x38, 0x22 }, 5, false },	/* label "1" */
		{ { 0xbf, 0x01, 0x38, 0x22, 0xff }, 5, false },	/* indefinite */
		{ { 0xa2, 0x01, 0x38, 0x22, 0x04, 0x40 }, 6, false },
		{ { 0xa1, 0x01, 0x38, 0x22, 0x00 }, 5, false },	/* trailing */
		{ { 0xa1, 0x01, 0x38 }, 3, false },		/* truncated */
		{ { 0xa1, 0x01, 0xc1, 0x38, 0x22 }, 5, false },	/* tagged */
		{ { 0xa0 }, 1, false },
		{ { 0x00 }, 0, false },
	};
	struct av_cose_sign1 cs = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cs.prot = v[i].b;
		cs.prot_len = v[i].n;
		if (av_cose_prot_is_alg(&cs, -35) != v[i].ok)
			fail_msg("protected header %zu: expected %d", i,
			    v[i].ok);
	}
}

/* Decode a Sig_structure back with libcbor and check its members. */
static void
check_tbs(const uint8_t *tbs, size_t len, const uint8_t *prot, size_t pl,
    const uint8_t *aad, size_t al, const uint8_t *payload, size_t yl)
{
	struct cbor_load_result	  res;
	cbor_item_t		 *it, **m;
	const uint8_t		 *p;
	const char		 *t;
	size_t			  n;

	it = cbor_load(tbs, len, &res);
	assert_non_null(it);
	assert_int_equal(res.read, len);
	assert_true(cbor_isa_array(it) && cbor_array_size(it) == 4);
	m = cbor_array_handle(it);
	assert_true(av_cbor_get_tstr(m[0], &t, &n));
	assert_int_equal(n, 10);
	assert_memory_equal(t, "Signature1", 10);
	assert_true(av_cbor_get_bstr(m[1], &p, &n));
	assert_int_equal(n, pl);
	assert_memory_equal(p, prot, pl);
	assert_true(av_cbor_get_bstr(m[2], &p, &n));
	assert_int_equal(n, al);
	if (al > 0)
		assert_memory_equal(p, aad, al);
	assert_true(av_cbor_get_bstr(m[3], &p, &n));
	assert_int_equal(n, yl);
	if (yl > 0)
		assert_memory_equal(p, payload, yl);
	cbor_decref(&it);
}

static void
test_sig_structure_long(void **state)
{
	static const size_t	 sizes[] = { 0, 23, 24, 255, 256, 65535,
				    65536, 70000 };
	/* the shortest head for each size: 1, 2, 3 or 5 bytes */
	static const size_t	 heads[] = { 1, 1, 2, 2, 3, 3, 5, 5 };
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
	check_tbs(tbs, len, cs.prot, 4, (const uint8_t *)"aad", 3, payload,
	    70000);
	free(tbs);
	/* every head width at its boundaries */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			payload[j] = (uint8_t)(j * 7 + i);
		cs.payload_len = sizes[i];
		tbs = av_cose_sig_structure(&cs, NULL, 0, &len);
		assert_non_null(tbs);
		assert_int_equal(len, 1 + 11 + 5 + 1 + heads[i] + sizes[i]);
		check_tbs(tbs, len, cs.prot, 4, NULL, 0, payload, sizes[i]);
		free(tbs);
	}
	free(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heads),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_count_budget),
		cmocka_unit_test(test_item_cap),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_sign1),
		cmocka_unit_test(test_sign1_shape),
		cmocka_unit_test(test_prot_alg),
		cmocka_unit_test(test_sig_structure_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
