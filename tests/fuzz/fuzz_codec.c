/*
 * Fuzz target: the text codecs (hex, base64/base64url, RFC 3339 times)
 * and the bounded reader driven by the input itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "av/codec.h"
#include "av/reader.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Read a length-prefixed record stream; every failed read must not move. */
static void
walk_records(const uint8_t *data, size_t size)
{
	struct av_reader	 r, sub, before;
	uint32_t		 len;
	uint16_t		 v16;
	uint64_t		 v64;

	av_reader_init(&r, data, size);
	while (r.left > 0) {
		before = r;
		if (!av_read_u32le(&r, &len)) {
			if (r.p != before.p || r.left != before.left)
				abort();
			break;
		}
		before = r;
		if (!av_read_sub(&r, len, &sub)) {
			if (r.p != before.p || r.left != before.left)
				abort();
			break;
		}
		while (av_read_u16be(&sub, &v16) && av_read_u64le(&sub, &v64))
			;
		if (sub.left > 8)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		*out = NULL;
	size_t		 n;
	char		*s, *enc;
	int64_t		 t;
	char		 buf[32];

	walk_records(data, size);
	if (av_b64_decode((const char *)data, size, &out, &n) == 0) {
		/* what decodes re-encodes and decodes to the same bytes */
		uint8_t	*again = NULL;
		size_t	 m;

		if ((enc = av_b64url_encode(out, n)) == NULL)
			abort();
		if (av_b64_decode(enc, strlen(enc), &again, &m) != 0 ||
		    m != n || (n > 0 && memcmp(again, out, n) != 0))
			abort();
		free(again);
		free(enc);
		free(out);
	}
	if (av_hex_decode((const char *)data, size, &out, &n) == 0)
		free(out);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (av_time_parse(s, &t) == 0)
		av_time_format(t, buf, sizeof(buf));
	free(s);
	return 0;
}
