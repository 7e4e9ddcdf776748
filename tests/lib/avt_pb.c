/*
 * Test-only protobuf writer (tests/lib/avt_pb.h).
 */
#include <stdlib.h>
#include <string.h>

#include "avt_pb.h"

void
avt_pb_put(struct avt_pb *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
avt_pb_varint(struct avt_pb *b, uint64_t v)
{
	uint8_t c;

	do {
		c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			c |= 0x80;
		avt_pb_put(b, &c, 1);
	} while (v != 0);
}

void
avt_pb_uint(struct avt_pb *b, unsigned n, uint64_t v)
{
	if (v == 0)
		return;
	avt_pb_varint(b, (uint64_t)n << 3);
	avt_pb_varint(b, v);
}

void
avt_pb_bytes(struct avt_pb *b, unsigned n, const void *p, size_t len)
{
	avt_pb_varint(b, (uint64_t)n << 3 | 2);
	avt_pb_varint(b, len);
	avt_pb_put(b, p, len);
}
