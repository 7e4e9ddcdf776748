/*
 * attestd - the one bounded reader for untrusted bytes.
 *
 * A reader is a borrowed view: it never owns memory.  Every read either
 * succeeds and advances, or fails and leaves the reader untouched.
 */
#ifndef AV_READER_H
#define AV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "av/err.h"

struct av_reader {
	const uint8_t	*p;	/* next unread byte (borrowed) */
	size_t		 left;	/* bytes remaining */
};

static inline void
av_reader_init(struct av_reader *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->left = (p == NULL) ? 0 : n;
}

/* Returns false and leaves *r untouched if fewer than n bytes remain. */
static inline AV_MUST_USE bool
av_read_bytes(struct av_reader *r, size_t n, const uint8_t **out)
{
	if (n > r->left)	/* compare lengths, never pointers */
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

AV_MUST_USE bool av_read_skip(struct av_reader *, size_t);
AV_MUST_USE bool av_read_copy(struct av_reader *, void *, size_t);
AV_MUST_USE bool av_read_u8(struct av_reader *, uint8_t *);
AV_MUST_USE bool av_read_u16le(struct av_reader *, uint16_t *);
AV_MUST_USE bool av_read_u16be(struct av_reader *, uint16_t *);
AV_MUST_USE bool av_read_u32le(struct av_reader *, uint32_t *);
AV_MUST_USE bool av_read_u32be(struct av_reader *, uint32_t *);
AV_MUST_USE bool av_read_u64le(struct av_reader *, uint64_t *);
AV_MUST_USE bool av_read_u64be(struct av_reader *, uint64_t *);
/* Carve a sub-reader of n bytes; advances *r past them on success. */
AV_MUST_USE bool av_read_sub(struct av_reader *, size_t, struct av_reader *);
/* Peek without advancing. */
AV_MUST_USE bool av_peek_bytes(const struct av_reader *, size_t, const uint8_t **);

#endif
