/*
 * attestd - bounded reader over untrusted bytes (include/av/reader.h).
 * Every function leaves the reader untouched on failure.
 */
#include <string.h>

#include "av/reader.h"

bool
av_read_skip(struct av_reader *r, size_t n)
{
	const uint8_t *p;

	return av_read_bytes(r, n, &p);
}

bool
av_read_copy(struct av_reader *r, void *dst, size_t n)
{
	const uint8_t *p;

	if (!av_read_bytes(r, n, &p))
		return false;
	if (n > 0)
		memcpy(dst, p, n);
	return true;
}

bool
av_peek_bytes(const struct av_reader *r, size_t n, const uint8_t **out)
{
	if (n > r->left)
		return false;
	*out = r->p;
	return true;
}

bool
av_read_u8(struct av_reader *r, uint8_t *v)
{
	const uint8_t *p;

	if (!av_read_bytes(r, 1, &p))
		return false;
	*v = p[0];
	return true;
}

bool
av_read_u16le(struct av_reader *r, uint16_t *v)
{
	const uint8_t *p;

	if (!av_read_bytes(r, 2, &p))
		return false;
	*v = (uint16_t)(p[0] | (p[1] << 8));
	return true;
}

bool
av_read_u16be(struct av_reader *r, uint16_t *v)
{
	const uint8_t *p;

	if (!av_read_bytes(r, 2, &p))
		return false;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return true;
}

bool
av_read_u32le(struct av_reader *r, uint32_t *v)
{
	const uint8_t *p;

	if (!av_read_bytes(r, 4, &p))
		return false;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	return true;
}

bool
av_read_u32be(struct av_reader *r, uint32_t *v)
{
	const uint8_t *p;

	if (!av_read_bytes(r, 4, &p))
		return false;
	*v = (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[0] << 24;
	return true;
}

bool
av_read_u64le(struct av_reader *r, uint64_t *v)
{
	const uint8_t	*p;
	uint64_t	 x = 0;

	if (!av_read_bytes(r, 8, &p))
		return false;
	for (int i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	*v = x;
	return true;
}

bool
av_read_u64be(struct av_reader *r, uint64_t *v)
{
	const uint8_t	*p;
	uint64_t	 x = 0;

	if (!av_read_bytes(r, 8, &p))
		return false;
	for (int i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	*v = x;
	return true;
}

bool
av_read_sub(struct av_reader *r, size_t n, struct av_reader *sub)
{
	const uint8_t *p;

	if (!av_read_bytes(r, n, &p))
		return false;
	sub->p = p;
	sub->left = n;
	return true;
}
