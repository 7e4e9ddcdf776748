/*
 * Unit tests: the bounded reader (include/av/reader.h).  Every failed
 * read must leave the reader exactly as it was, whatever length the wire
 * claims.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "av/reader.h"

static const uint8_t buf[] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
};

/* r must be exactly (p, left). */
#define assert_reader(r, ptr, n) do {					\
	assert_ptr_equal((r)->p, (ptr));				\
	assert_int_equal((r)->left, (n));				\
} while (0)

static void
test_init(void **state)
{
	struct av_reader	r;
	const uint8_t		*p;

	(void)state;
	av_reader_init(&r, buf, sizeof(buf));
	assert_reader(&r, buf, sizeof(buf));
	/* NULL buffer: nothing to read whatever n says */
	av_reader_init(&r, NULL, 100);
	assert_int_equal(r.left, 0);
	assert_false(av_read_bytes(&r, 1, &p));
	assert_true(av_read_bytes(&r, 0, &p));
}

static void
test_integers(void **state)
{
	struct av_reader	r;
	uint8_t			u8;
	uint16_t		u16;
	uint32_t		u32;
	uint64_t		u64;

	(void)state;
	av_reader_init(&r, buf, sizeof(buf));
	assert_true(av_read_u8(&r, &u8));
	assert_int_equal(u8, 0x01);
	assert_true(av_read_u16le(&r, &u16));
	assert_int_equal(u16, 0x0302);
	assert_true(av_read_u16be(&r, &u16));
	assert_int_equal(u16, 0x0405);
	assert_reader(&r, buf + 5, 5);

	av_reader_init(&r, buf, sizeof(buf));
	assert_true(av_read_u32le(&r, &u32));
	assert_int_equal(u32, 0x04030201);
	assert_true(av_read_u32be(&r, &u32));
	assert_int_equal(u32, 0x05060708);

	av_reader_init(&r, buf, sizeof(buf));
	assert_true(av_read_u64le(&r, &u64));
	assert_true(u64 == 0x0807060504030201ULL);
	av_reader_init(&r, buf + 2, 8);
	assert_true(av_read_u64be(&r, &u64));
	assert_true(u64 == 0x030405060708090aULL);
	assert_int_equal(r.left, 0);

	/* high bits survive (no sign extension) */
	{
		static const uint8_t ff[8] = {
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		};

		av_reader_init(&r, ff, sizeof(ff));
		assert_true(av_read_u64be(&r, &u64));
		assert_true(u64 == 0xfffffffffffffffeULL);
		av_reader_init(&r, ff, sizeof(ff));
		assert_true(av_read_u32be(&r, &u32));
		assert_true(u32 == 0xffffffffU);
		av_reader_init(&r, ff + 6, 2);
		assert_true(av_read_u16le(&r, &u16));
		assert_int_equal(u16, 0xfeff);
	}
}

/* Every integer read fails on a reader one byte too short, unchanged. */
static void
test_short_reads(void **state)
{
	struct av_reader	r;
	uint8_t			u8 = 0xaa;
	uint16_t		u16 = 0xaaaa;
	uint32_t		u32 = 0xaaaaaaaa;
	uint64_t		u64 = 0xaaaaaaaaaaaaaaaaULL;

	(void)state;
	av_reader_init(&r, buf, 0);
	assert_false(av_read_u8(&r, &u8));
	assert_reader(&r, buf, 0);
	assert_int_equal(u8, 0xaa);

	av_reader_init(&r, buf, 1);
	assert_false(av_read_u16le(&r, &u16));
	assert_false(av_read_u16be(&r, &u16));
	assert_reader(&r, buf, 1);
	assert_int_equal(u16, 0xaaaa);

	av_reader_init(&r, buf, 3);
	assert_false(av_read_u32le(&r, &u32));
	assert_false(av_read_u32be(&r, &u32));
	assert_reader(&r, buf, 3);
	assert_true(u32 == 0xaaaaaaaaU);

	av_reader_init(&r, buf, 7);
	assert_false(av_read_u64le(&r, &u64));
	assert_false(av_read_u64be(&r, &u64));
	assert_reader(&r, buf, 7);
	assert_true(u64 == 0xaaaaaaaaaaaaaaaaULL);
}

/* Lengths off the wire that would wrap a pointer or a size. */
static void
test_hostile_lengths(void **state)
{
	static const size_t	 bad[] = {
		11, 12, 0x7fffffff, 0xffffffff, SIZE_MAX / 2, SIZE_MAX - 10,
		SIZE_MAX - 1, SIZE_MAX,
	};
	struct av_reader	 r, sub = { (const uint8_t *)"x", 1 };
	const uint8_t		*p = NULL;
	uint8_t			 dst[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		av_reader_init(&r, buf, sizeof(buf));
		assert_true(av_read_skip(&r, 1));	/* p != start */
		assert_false(av_read_bytes(&r, bad[i], &p));
		assert_null(p);
		assert_false(av_read_skip(&r, bad[i]));
		assert_false(av_peek_bytes(&r, bad[i], &p));
		assert_null(p);
		assert_false(av_read_sub(&r, bad[i], &sub));
		assert_ptr_equal(sub.p, (const uint8_t *)"x");	/* untouched */
		assert_int_equal(sub.left, 1);
		memset(dst, 0x5a, sizeof(dst));
		assert_false(av_read_copy(&r, dst, bad[i]));
		for (size_t k = 0; k < sizeof(dst); k++)
			assert_int_equal(dst[k], 0x5a);
		assert_reader(&r, buf + 1, sizeof(buf) - 1);
	}

	/* a u32 length prefix claiming more than remains */
	{
		static const uint8_t msg[] = { 0xff, 0xff, 0xff, 0xff, 0x01 };
		uint32_t	len;

		av_reader_init(&r, msg, sizeof(msg));
		assert_true(av_read_u32be(&r, &len));
		assert_false(av_read_sub(&r, len, &sub));
		assert_reader(&r, msg + 4, 1);
		av_reader_init(&r, msg, sizeof(msg));
		assert_true(av_read_u32le(&r, &len));
		assert_false(av_read_skip(&r, len));
		assert_reader(&r, msg + 4, 1);
	}
}

static void
test_exact_and_zero(void **state)
{
	struct av_reader	 r, sub;
	const uint8_t		*p;
	uint8_t			 dst[10];

	(void)state;
	av_reader_init(&r, buf, sizeof(buf));
	/* zero-length operations succeed and do not move */
	assert_true(av_read_bytes(&r, 0, &p));
	assert_ptr_equal(p, buf);
	assert_true(av_read_skip(&r, 0));
	assert_true(av_read_copy(&r, NULL, 0));
	assert_true(av_read_sub(&r, 0, &sub));
	assert_int_equal(sub.left, 0);
	assert_reader(&r, buf, sizeof(buf));

	/* peek does not move, even on success */
	assert_true(av_peek_bytes(&r, sizeof(buf), &p));
	assert_ptr_equal(p, buf);
	assert_reader(&r, buf, sizeof(buf));

	/* reading exactly what is left empties the reader */
	assert_true(av_read_copy(&r, dst, sizeof(dst)));
	assert_memory_equal(dst, buf, sizeof(buf));
	assert_reader(&r, buf + sizeof(buf), 0);
	assert_false(av_read_skip(&r, 1));
	assert_true(av_read_skip(&r, 0));
}

static void
test_sub(void **state)
{
	struct av_reader	r, sub;
	uint16_t		v;

	(void)state;
	av_reader_init(&r, buf, sizeof(buf));
	assert_true(av_read_skip(&r, 2));
	assert_true(av_read_sub(&r, 3, &sub));
	assert_reader(&sub, buf + 2, 3);
	assert_reader(&r, buf + 5, 5);
	/* the sub-reader is bounded by its own length */
	assert_true(av_read_u16be(&sub, &v));
	assert_int_equal(v, 0x0304);
	assert_false(av_read_u16be(&sub, &v));
	assert_reader(&sub, buf + 4, 1);
	/* a sub-reader of exactly what is left */
	assert_true(av_read_sub(&r, 5, &sub));
	assert_int_equal(r.left, 0);
	assert_int_equal(sub.left, 5);
	/* sub == the reader itself */
	av_reader_init(&r, buf, sizeof(buf));
	assert_true(av_read_sub(&r, 4, &r));
	assert_reader(&r, buf, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_short_reads),
		cmocka_unit_test(test_hostile_lengths),
		cmocka_unit_test(test_exact_and_zero),
		cmocka_unit_test(test_sub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
