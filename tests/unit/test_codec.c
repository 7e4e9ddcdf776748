/*
 * Unit tests: hex, base64/base64url (RFC 4648) and RFC 3339 timestamps
 * (include/av/codec.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "av/codec.h"

/* ---- hex ---------------------------------------------------------------- */

static void
test_hex(void **state)
{
	static const uint8_t	 bin[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff };
	uint8_t			*out, fixed[3];
	size_t			 n;
	char			*s;

	(void)state;
	assert_non_null(s = av_hex_encode(bin, sizeof(bin)));
	assert_string_equal(s, "0001abcdefff");
	assert_int_equal(av_hex_decode(s, strlen(s), &out, &n), 0);
	assert_int_equal(n, sizeof(bin));
	assert_memory_equal(out, bin, n);
	free(out);
	free(s);

	/* upper case is accepted */
	assert_int_equal(av_hex_decode("0001ABCDEFFF", 12, &out, &n), 0);
	assert_memory_equal(out, bin, sizeof(bin));
	free(out);
	/* empty */
	assert_non_null(s = av_hex_encode(NULL, 0));
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(av_hex_decode("", 0, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(av_hex_decode(NULL, 0, &out, &n), 0);
	free(out);

	/* odd length, bad characters, separators, embedded NUL, prefixes */
	out = NULL;
	assert_int_equal(av_hex_decode("abc", 3, &out, &n), -1);
	assert_int_equal(av_hex_decode("0g", 2, &out, &n), -1);
	assert_int_equal(av_hex_decode("g0", 2, &out, &n), -1);
	assert_int_equal(av_hex_decode("00 11", 5, &out, &n), -1);
	assert_int_equal(av_hex_decode("00:1", 4, &out, &n), -1);
	assert_int_equal(av_hex_decode("0x00", 4, &out, &n), -1);
	assert_int_equal(av_hex_decode("00\0" "0", 4, &out, &n), -1);
	assert_int_equal(av_hex_decode("-1", 2, &out, &n), -1);
	assert_null(out);

	/* fixed length */
	assert_int_equal(av_hex_decode_fixed("a1B2c3", fixed, 3), 0);
	assert_int_equal(fixed[0], 0xa1);
	assert_int_equal(fixed[2], 0xc3);
	assert_int_equal(av_hex_decode_fixed("a1b2", fixed, 3), -1); /* short */
	assert_int_equal(av_hex_decode_fixed("a1b", fixed, 2), -1);
	assert_int_equal(av_hex_decode_fixed("a1zz00", fixed, 3), -1);
	assert_int_equal(av_hex_decode_fixed("", fixed, 0), 0);
}

/* ---- base64 ------------------------------------------------------------- */

/* RFC 4648 s.10 test vectors. */
static const struct {
	const char	*in, *b64, *b64url;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

/* av_json_hex: the same lower-case hex as a JSON string. */
static void
test_json_hex(void **state)
{
	static const uint8_t	 bin[] = { 0x00, 0x7f, 0x80, 0xff };
	json_t			*j;

	(void)state;
	assert_non_null(j = av_json_hex(bin, sizeof(bin)));
	assert_true(json_is_string(j));
	assert_string_equal(json_string_value(j), "007f80ff");
	json_decref(j);
	assert_non_null(j = av_json_hex(NULL, 0));
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

static void
check_decode(const char *s, const void *want, size_t wantlen)
{
	uint8_t	*out = NULL;
	size_t	 n = 12345;

	assert_int_equal(av_b64_decode(s, strlen(s), &out, &n), 0);
	assert_int_equal(n, wantlen);
	if (wantlen > 0)
		assert_memory_equal(out, want, wantlen);
	free(out);
}

static void
check_reject(const char *s, size_t len)
{
	uint8_t	*out = NULL;
	size_t	 n = 12345;

	if (av_b64_decode(s, len, &out, &n) != -1)
		fail_msg("accepted bad base64 \"%.*s\"", (int)len, s);
	assert_null(out);
	assert_int_equal(n, 12345);
}

static void
test_b64_vectors(void **state)
{
	char	*s;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *in = rfc4648[i].in;

		assert_non_null(s = av_b64_encode((const uint8_t *)in,
		    strlen(in)));
		assert_string_equal(s, rfc4648[i].b64);
		free(s);
		assert_non_null(s = av_b64url_encode((const uint8_t *)in,
		    strlen(in)));
		assert_string_equal(s, rfc4648[i].b64url);
		free(s);
		check_decode(rfc4648[i].b64, in, strlen(in));
		check_decode(rfc4648[i].b64url, in, strlen(in));
	}
}

static void
test_b64_alphabets(void **state)
{
	static const uint8_t	 bin[] = { 0xfb, 0xff, 0xbf };
	char			*s;

	(void)state;
	assert_non_null(s = av_b64_encode(bin, sizeof(bin)));
	assert_string_equal(s, "+/+/");
	free(s);
	assert_non_null(s = av_b64url_encode(bin, sizeof(bin)));
	assert_string_equal(s, "-_-_");
	free(s);
	check_decode("+/+/", bin, sizeof(bin));
	check_decode("-_-_", bin, sizeof(bin));
	assert_non_null(s = av_b64url_encode(bin, 2));
	assert_string_equal(s, "-_8");
	free(s);
	check_decode("-_8", bin, 2);
	check_decode("+/8=", bin, 2);
}

static void
test_b64_whitespace(void **state)
{
	(void)state;
	/* PEM-style line breaks and stray spaces */
	check_decode("Zm9v\nYmFy\n", "foobar", 6);
	check_decode("Zm9v\r\nYmE=\r\n", "fooba", 5);
	check_decode(" Zm 9v\tYg = = ", "foob", 4);
	check_decode("\n\n", "", 0);
}

static void
test_b64_reject(void **state)
{
	static const char *const bad[] = {
		"Z",		/* a lone symbol: 6 bits */
		"Zm9vY",	/* likewise after a full quantum */
		"Zg=",		/* wrong amount of padding */
		"Zg===",
		"Zm8==",
		"Z===",
		"====",
		"=",
		"==",
		"Zg==Zg==",	/* data after padding */
		"Zg=a",
		"Zm9v=",	/* padding after a full quantum */
		"Zh==",		/* non-zero spare bits */
		"Zm9=",
		"Zm*v",		/* not in either alphabet */
		"Zm9v.",
		"Zm9v\x80",
		"Zm\x7fv",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_reject(bad[i], strlen(bad[i]));
	/* an embedded NUL is not whitespace */
	check_reject("Zm9v\0YmFy", 9);
	/* a NUL terminator counted into the length */
	check_reject("Zm9v", 5);
}

static void
test_b64_roundtrip(void **state)
{
	uint8_t	 bin[300], *out;
	size_t	 n;
	char	*s;

	(void)state;
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(bin); len += (len < 20 ? 1 : 37)) {
		assert_non_null(s = av_b64_encode(bin, len));
		assert_int_equal(strlen(s), (len + 2) / 3 * 4);
		assert_int_equal(av_b64_decode(s, strlen(s), &out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, bin, len);
		free(out);
		free(s);
		assert_non_null(s = av_b64url_encode(bin, len));
		assert_null(strchr(s, '='));
		assert_null(strchr(s, '+'));
		assert_null(strchr(s, '/'));
		assert_int_equal(av_b64_decode(s, strlen(s), &out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, bin, len);
		free(out);
		free(s);
	}
}

/* ---- time --------------------------------------------------------------- */

static void
check_time(const char *s, int64_t want)
{
	int64_t	t = -12345;

	if (av_time_parse(s, &t) != 0)
		fail_msg("rejected \"%s\"", s);
	if (t != want)
		fail_msg("\"%s\": got %lld, want %lld", s, (long long)t,
		    (long long)want);
}

static void
test_time_parse(void **state)
{
	(void)state;
	check_time("2024-09-07T14:37:39Z", 1725719859);
	check_time("2024-09-07t14:37:39z", 1725719859);
	check_time("2024-09-07 14:37:39Z", 1725719859);
	/* fractional seconds are truncated */
	check_time("2024-09-07T14:37:39.999999999Z", 1725719859);
	check_time("2024-09-07T14:37:39.1Z", 1725719859);
	/* numeric offsets: local = UTC + offset */
	check_time("2024-09-07T16:37:39+02:00", 1725719859);
	check_time("2024-09-07T09:07:39-05:30", 1725719859);
	check_time("2024-09-08T00:07:39.5+09:30", 1725719859);
	check_time("2024-09-07T14:37:39+00:00", 1725719859);
	check_time("2024-09-07T14:37:39-00:00", 1725719859);
	/* offsets crossing a day, a month and a year */
	check_time("2024-12-31T23:00:00-01:00", 1735689600);
	check_time("2025-01-01T00:59:59+01:00", 1735689599);
	/* the epoch and around it */
	check_time("1970-01-01T00:00:00Z", 0);
	check_time("1969-12-31T23:59:59Z", -1);
	check_time("1970-01-01T01:00:00+01:00", 0);
	/* leap days */
	check_time("2024-02-29T00:00:00Z", 1709164800);
	check_time("2000-02-29T12:00:00Z", 951825600);
	check_time("2100-03-01T00:00:00Z", 4107542400LL);
	check_time("9999-12-31T23:59:59Z", 253402300799LL);
	check_time("0001-01-01T00:00:00Z", -62135596800LL);
	/* decimal unix seconds */
	check_time("1725719859", 1725719859);
	check_time("0", 0);
	check_time("253402300799", 253402300799LL);
}

static void
test_time_reject(void **state)
{
	static const char *const bad[] = {
		"",
		"2024-09-07T14:37:39",		/* no zone */
		"2024-09-07",
		"2024-09-07T14:37Z",
		"2024-09-07T14:37:39+02",	/* offset without minutes */
		"2024-09-07T14:37:39+0200",
		"2024-09-07T14:37:39.Z",	/* empty fraction */
		"2024-09-07T14:37:39,5Z",
		"2024-09-07T14:37:39ZZ",	/* trailing bytes */
		"2024-09-07T14:37:39Z ",
		" 2024-09-07T14:37:39Z",
		"2024-9-07T14:37:39Z",		/* short fields */
		"24-09-07T14:37:39Z",
		"2024/09/07T14:37:39Z",
		"2024-09-07X14:37:39Z",
		"2024-00-07T14:37:39Z",		/* out of range */
		"2024-13-07T14:37:39Z",
		"2024-09-00T14:37:39Z",
		"2024-09-32T14:37:39Z",
		"2024-09-31T14:37:39Z",		/* September has 30 days */
		"2024-02-30T00:00:00Z",
		"2023-02-29T00:00:00Z",		/* not a leap year */
		"1900-02-29T00:00:00Z",
		"2024-09-07T24:00:00Z",
		"2024-09-07T14:60:39Z",
		"2024-09-07T14:37:61Z",
		"2024-09-07T14:37:39+24:00",
		"2024-09-07T14:37:39+01:60",
		"-1",				/* unix seconds */
		"+1725719859",
		"1725719859.5",
		"12a",
		"99999999999999999999999",
		"0x10",
	};
	int64_t	t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 777;
		if (av_time_parse(bad[i], &t) != -1)
			fail_msg("accepted \"%s\" as %lld", bad[i],
			    (long long)t);
		assert_int_equal(t, 777);
	}
	assert_int_equal(av_time_parse(NULL, &t), -1);
}

static void
test_time_format(void **state)
{
	static const int64_t	 ts[] = {
		0, 1, 951825600, 1709164800, 1725719859, 4107542400LL,
		253402300799LL,
	};
	char			 buf[32];
	int64_t			 t;

	(void)state;
	av_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	av_time_format(1725719859, buf, sizeof(buf));
	assert_string_equal(buf, "2024-09-07T14:37:39Z");
	av_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		av_time_format(ts[i], buf, 21);
		assert_int_equal(strlen(buf), 20);
		assert_int_equal(av_time_parse(buf, &t), 0);
		assert_true(t == ts[i]);
	}
}

static void
test_memeq_ct(void **state)
{
	(void)state;
	assert_true(av_memeq_ct("abcd", "abcd", 4));
	assert_false(av_memeq_ct("abcd", "abce", 4));
	assert_false(av_memeq_ct("\x80" "bcd", "\x00" "bcd", 4));
	assert_true(av_memeq_ct("a", "b", 0));
}

/* A small deterministic generator (xorshift64*). */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 2685821657736338717ULL;
}

/*
 * Reference decoder: RFC 4648 symbol by symbol, the rules of
 * include/av/codec.h written plainly (white space skipped, '=' only at
 * the end and at most two completing a group of four, no lone trailing
 * symbol, zero spare bits).
 */
static int
ref_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
ref_b64_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	uint8_t		*buf;
	size_t		 o = 0, npad = 0, nsym = 0;
	uint32_t	 acc = 0;
	int		 bits = 0;

	if ((buf = malloc(slen / 4 * 3 + 3)) == NULL)
		return -1;
	for (size_t i = 0; i < slen; i++) {
		int c = (unsigned char)s[i], v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			npad++;
			continue;
		}
		if (npad > 0 || (v = ref_val(c)) < 0)
			goto bad;
		nsym++;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (nsym % 4 == 1 || npad > 2 || (npad > 0 && (nsym + npad) % 4 != 0) ||
	    acc != 0)
		goto bad;
	*out = buf;
	*outlen = o;
	return 0;
 bad:
	free(buf);
	return -1;
}

/*
 * av_b64_decode() (a table decoder with a fast path for whole groups)
 * accepts exactly what ref_b64_decode() accepts and gives the same
 * bytes: both alphabets, padding, white space, spare bits, stray
 * characters, over random strings and over encodings.
 */
static void
test_b64_differential(void **state)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/-_====  \n\r\t*.\x80\xff";
	uint64_t	 st = 0x9e3779b97f4a7c15ULL;
	char		 s[64];
	uint8_t		 raw[48], *a, *b;
	size_t		 al, bl, naccept = 0;

	(void)state;
	for (int k = 0; k < 200000; k++) {
		size_t n = rnd(&st) % 24;
		int ra, rb;

		if (k % 2 == 0) {
			for (size_t i = 0; i < n; i++)
				s[i] = alpha[rnd(&st) % (sizeof(alpha) - 1)];
		} else {
			/* an encoding, perhaps mangled at one place */
			size_t m = rnd(&st) % sizeof(raw);
			char *e;

			for (size_t i = 0; i < m; i++)
				raw[i] = (uint8_t)rnd(&st);
			e = (k % 4 == 1) ? av_b64_encode(raw, m) :
			    av_b64url_encode(raw, m);
			assert_non_null(e);
			n = strlen(e);
			memcpy(s, e, n);
			free(e);
			if (n > 0 && k % 8 == 3)
				s[rnd(&st) % n] = alpha[rnd(&st) %
				    (sizeof(alpha) - 1)];
		}
		ra = ref_b64_decode(s, n, &a, &al);
		rb = av_b64_decode(s, n, &b, &bl);
		if (ra != rb)
			fail_msg("\"%.*s\": reference %d, av_b64_decode %d", (int)n, s, ra, rb);
		if (ra == 0) {
			assert_int_equal(al, bl);
			assert_memory_equal(a, b, al);
			free(a);
			free(b);
			naccept++;
		}
	}
	assert_true(naccept > 50000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_json_hex),
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_alphabets),
		cmocka_unit_test(test_b64_whitespace),
		cmocka_unit_test(test_b64_reject),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64_differential),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_reject),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_memeq_ct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
