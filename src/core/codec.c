/*
 * attestd - hex, base64/base64url (RFC 4648) and RFC 3339 timestamps.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "av/codec.h"

static const char hexdig[] = "0123456789abcdef";

char *
av_hex_encode(const uint8_t *p, size_t n)
{
	char *s;

	if (n > (SIZE_MAX - 1) / 2 || (s = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hexdig[p[i] >> 4];
		s[2 * i + 1] = hexdig[p[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}

/*
 * Hex of p[0..n) as a JSON string.  Returns a new reference, or NULL
 * when out of memory.
 */
json_t *
av_json_hex(const uint8_t *p, size_t n)
{
	char	 buf[2 * 128], *h;
	json_t	*j;

	/* claims hold dozens of these per item: no malloc, no UTF-8 scan */
	if (n <= sizeof(buf) / 2) {
		for (size_t i = 0; i < n; i++) {
			buf[2 * i] = hexdig[p[i] >> 4];
			buf[2 * i + 1] = hexdig[p[i] & 0xf];
		}
		return json_stringn_nocheck(buf, 2 * n);
	}
	if ((h = av_hex_encode(p, n)) == NULL)
		return NULL;
	j = json_stringn_nocheck(h, 2 * n);
	free(h);
	return j;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
av_hex_decode_fixed(const char *s, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = (hi < 0) ? -1 : hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
av_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	uint8_t *buf;

	if (slen % 2 != 0 || (slen > 0 && memchr(s, '\0', slen) != NULL))
		return -1;
	if ((buf = malloc(slen / 2 + 1)) == NULL)
		return -1;
	if (av_hex_decode_fixed(s, buf, slen / 2) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = slen / 2;
	return 0;
}

static char *
b64_encode(const uint8_t *p, size_t n, const char *alpha, bool pad)
{
	char	*s, *o;
	size_t	 i;

	if (n > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	if ((s = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	o = s;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		    p[i + 2];
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = alpha[(v >> 6) & 63];
		*o++ = alpha[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = alpha[(v >> 6) & 63];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return s;
}

char *
av_b64_encode(const uint8_t *p, size_t n)
{
	return b64_encode(p, n,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	    true);
}

char *
av_b64url_encode(const uint8_t *p, size_t n)
{
	return b64_encode(p, n,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	    false);
}

/*
 * Base64 symbol values (standard and URL alphabets: av_b64_decode()
 * takes both) with bit 6 set; 0 for anything else.
 */
static const uint8_t b64tab[256] = {
	['A'] = 0x40, ['B'] = 0x41, ['C'] = 0x42, ['D'] = 0x43, ['E'] = 0x44,
	['F'] = 0x45, ['G'] = 0x46, ['H'] = 0x47, ['I'] = 0x48, ['J'] = 0x49,
	['K'] = 0x4a, ['L'] = 0x4b, ['M'] = 0x4c, ['N'] = 0x4d, ['O'] = 0x4e,
	['P'] = 0x4f, ['Q'] = 0x50, ['R'] = 0x51, ['S'] = 0x52, ['T'] = 0x53,
	['U'] = 0x54, ['V'] = 0x55, ['W'] = 0x56, ['X'] = 0x57, ['Y'] = 0x58,
	['Z'] = 0x59,
	['a'] = 0x5a, ['b'] = 0x5b, ['c'] = 0x5c, ['d'] = 0x5d, ['e'] = 0x5e,
	['f'] = 0x5f, ['g'] = 0x60, ['h'] = 0x61, ['i'] = 0x62, ['j'] = 0x63,
	['k'] = 0x64, ['l'] = 0x65, ['m'] = 0x66, ['n'] = 0x67, ['o'] = 0x68,
	['p'] = 0x69, ['q'] = 0x6a, ['r'] = 0x6b, ['s'] = 0x6c, ['t'] = 0x6d,
	['u'] = 0x6e, ['v'] = 0x6f, ['w'] = 0x70, ['x'] = 0x71, ['y'] = 0x72,
	['z'] = 0x73,
	['0'] = 0x74, ['1'] = 0x75, ['2'] = 0x76, ['3'] = 0x77, ['4'] = 0x78,
	['5'] = 0x79, ['6'] = 0x7a, ['7'] = 0x7b, ['8'] = 0x7c, ['9'] = 0x7d,
	['+'] = 0x7e, ['-'] = 0x7e, ['/'] = 0x7f, ['_'] = 0x7f,
};

/*
 * RFC 4648 base64 or base64url (either alphabet, padding optional):
 * white space is skipped; '=' only at the end, at most two, completing a
 * group of four; a lone trailing symbol or non-zero spare bits in the
 * last symbol are refused.  Symbols are looked up in a table, and whole
 * groups of four are decoded first (restrict: the output never aliases
 * the text), then the rest symbol by symbol: a chain of range tests per
 * symbol mispredicts on the random-looking text of signatures (about
 * 0.7 ns per symbol against 2.3; tests/unit/test_codec.c holds this
 * against a plain reference decoder).  Returns 0 and *out (caller
 * frees), or -1.
 */
int
av_b64_decode(const char *text, size_t slen, uint8_t **out, size_t *outlen)
{
	const unsigned char	*restrict s = (const unsigned char *)text;
	uint8_t			*restrict buf;
	size_t			 o = 0, npad = 0, nsym, i = 0;
	uint32_t		 acc = 0;
	int			 bits = 0;

	if ((buf = malloc(slen / 4 * 3 + 3)) == NULL)
		return -1;
	/* leading groups of four symbols: three bytes each */
	for (; i + 4 <= slen; i += 4) {
		unsigned v0 = b64tab[s[i]], v1 = b64tab[s[i + 1]];
		unsigned v2 = b64tab[s[i + 2]], v3 = b64tab[s[i + 3]];
		uint32_t g;

		if ((v0 & v1 & v2 & v3 & 0x40) == 0)
			break;
		g = (v0 & 0x3f) << 18 | (v1 & 0x3f) << 12 | (v2 & 0x3f) << 6 |
		    (v3 & 0x3f);
		buf[o] = (uint8_t)(g >> 16);
		buf[o + 1] = (uint8_t)(g >> 8);
		buf[o + 2] = (uint8_t)g;
		o += 3;
	}
	nsym = i;
	/* the rest (white space, padding, a short group), as av_b64_decode */
	for (; i < slen; i++) {
		int		c = s[i];
		unsigned	v = b64tab[c];

		if (v == 0) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				continue;
			if (c != '=')
				goto bad;
			npad++;
			continue;
		}
		if (npad > 0)
			goto bad;
		nsym++;
		acc = acc << 6 | (v & 0x3f);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* a lone trailing symbol, bad padding, or non-zero spare bits */
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
 * Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1-12, d 1-31),
 * negative before.  Pure arithmetic.
 */
int64_t
av_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : dm[m - 1];
}

static int
digits(const char **s, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -1;
		x = x * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*v = x;
	return 0;
}

int
av_time_parse(const char *s, int64_t *t)
{
	int	Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
	char	*end;

	if (s == NULL || *s == '\0')
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		*t = v;
		return 0;
	}
	if (digits(&s, 4, &Y) || *s++ != '-' || digits(&s, 2, &M) ||
	    *s++ != '-' || digits(&s, 2, &D) || (*s != 'T' && *s != 't' &&
	    *s != ' '))
		return -1;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &m) ||
	    *s++ != ':' || digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = (*s == '-') ? -1 : 1;
		s++;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om))
			return -1;
	} else
		return -1;
	if (*s != '\0' || M < 1 || M > 12 || D < 1 ||
	    D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -1;
	*t = av_days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 +
	    h * 3600 + m * 60 + sec - sign * (oh * 3600 + om * 60);
	return 0;
}

void
av_time_format(int64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

bool
av_memeq_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t	*x = a, *y = b;
	uint8_t			 d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
