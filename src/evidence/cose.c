/*
 * attestd - allocation-free CBOR reading (RFC 8949) and COSE_Sign1
 * framing (RFC 9052) over the bounded reader.
 *
 * Every function works on a copy of the reader and commits it only on
 * success, so a failure never moves the caller's cursor.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/cose.h"

/*
 * RFC 8949 s.3: one head.  Additional information 0..23 is the argument
 * itself, 24..27 announce 1, 2, 4 or 8 bytes of big-endian argument, 31
 * is indefinite length (arrays, maps; strings are refused here) or the
 * break, 28..30 are reserved.
 */
bool
av_cbor_head(struct av_reader *r, struct av_cbor_head *h)
{
	struct av_reader	 c = *r;
	uint8_t			 ib, ai, b8;
	uint16_t		 b16;
	uint32_t		 b32;
	uint64_t		 b64;

	if (!av_read_u8(&c, &ib))
		return false;
	h->major = ib >> 5;
	h->indef = false;
	ai = ib & 0x1f;
	if (ai < 24)
		h->arg = ai;
	else if (ai == 24) {
		if (!av_read_u8(&c, &b8))
			return false;
		h->arg = b8;
	} else if (ai == 25) {
		if (!av_read_u16be(&c, &b16))
			return false;
		h->arg = b16;
	} else if (ai == 26) {
		if (!av_read_u32be(&c, &b32))
			return false;
		h->arg = b32;
	} else if (ai == 27) {
		if (!av_read_u64be(&c, &b64))
			return false;
		h->arg = b64;
	} else if (ai == 31) {
		/* only containers here: strings, tags, ints and break fail */
		if (h->major != AV_CBOR_ARRAY && h->major != AV_CBOR_MAP)
			return false;
		h->indef = true;
		h->arg = 0;
	} else
		return false;	/* 28..30 reserved */
	*r = c;
	return true;
}

static bool
cbor_string(struct av_reader *r, uint8_t major, const uint8_t **p, size_t *n)
{
	struct av_reader	c = *r;
	struct av_cbor_head	h;

	if (!av_cbor_head(&c, &h) || h.major != major || h.indef)
		return false;
	if (h.arg > c.left)	/* checked before the size_t cast */
		return false;
	if (!av_read_bytes(&c, (size_t)h.arg, p))
		return false;
	*n = (size_t)h.arg;
	*r = c;
	return true;
}

bool
av_cbor_bstr(struct av_reader *r, const uint8_t **p, size_t *n)
{
	return cbor_string(r, AV_CBOR_BSTR, p, n);
}

bool
av_cbor_tstr(struct av_reader *r, const char **p, size_t *n)
{
	const uint8_t *q;

	if (!cbor_string(r, AV_CBOR_TSTR, &q, n))
		return false;
	*p = (const char *)q;
	return true;
}

bool
av_cbor_uint(struct av_reader *r, uint64_t *v)
{
	struct av_reader	c = *r;
	struct av_cbor_head	h;

	if (!av_cbor_head(&c, &h) || h.major != AV_CBOR_UINT)
		return false;
	*v = h.arg;
	*r = c;
	return true;
}

bool
av_cbor_null(struct av_reader *r)
{
	const uint8_t *b;

	if (!av_peek_bytes(r, 1, &b) || b[0] != AV_CBOR_NULL)
		return false;
	return av_read_skip(r, 1);
}

static bool
cbor_container(struct av_reader *r, uint8_t major, struct av_cbor_iter *it)
{
	struct av_reader	c = *r;
	struct av_cbor_head	h;

	if (!av_cbor_head(&c, &h) || h.major != major)
		return false;
	/* every item takes at least one byte: a count cannot exceed that */
	if (!h.indef && h.arg > (major == AV_CBOR_MAP ? c.left / 2 : c.left))
		return false;
	it->indef = h.indef;
	it->left = h.arg;
	*r = c;
	return true;
}

bool
av_cbor_array(struct av_reader *r, struct av_cbor_iter *it)
{
	return cbor_container(r, AV_CBOR_ARRAY, it);
}

bool
av_cbor_map(struct av_reader *r, struct av_cbor_iter *it)
{
	return cbor_container(r, AV_CBOR_MAP, it);
}

int
av_cbor_next(struct av_reader *r, struct av_cbor_iter *it)
{
	const uint8_t *b;

	if (!it->indef) {
		if (it->left == 0)
			return 0;
		it->left--;
		return 1;
	}
	if (!av_peek_bytes(r, 1, &b))
		return -1;
	if (b[0] != AV_CBOR_BREAK)
		return 1;
	if (!av_read_skip(r, 1))
		return -1;
	return 0;
}

static bool
cbor_skip(struct av_reader *r, int depth)
{
	struct av_cbor_head	h;
	struct av_cbor_iter	it;
	int			more;

	if (depth > AV_CBOR_MAX_DEPTH || !av_cbor_head(r, &h))
		return false;
	switch (h.major) {
	case AV_CBOR_UINT:
	case AV_CBOR_NINT:
	case AV_CBOR_SIMPLE:
		return true;
	case AV_CBOR_BSTR:
	case AV_CBOR_TSTR:
		return h.arg <= r->left && av_read_skip(r, (size_t)h.arg);
	case AV_CBOR_TAG:
		return cbor_skip(r, depth + 1);
	case AV_CBOR_ARRAY:
	case AV_CBOR_MAP:
		if (!h.indef && h.arg > r->left)
			return false;
		it.indef = h.indef;
		it.left = h.arg;
		while ((more = av_cbor_next(r, &it)) == 1) {
			if (!cbor_skip(r, depth + 1))
				return false;
			if (h.major == AV_CBOR_MAP && !cbor_skip(r, depth + 1))
				return false;
		}
		return more == 0;
	default:
		return false;
	}
}

bool
av_cbor_skip(struct av_reader *r)
{
	struct av_reader c = *r;

	if (!cbor_skip(&c, 0))
		return false;
	*r = c;
	return true;
}

size_t
av_cbor_bstr_head_len(uint64_t n)
{
	if (n < 24)
		return 1;
	if (n <= 0xff)
		return 2;
	if (n <= 0xffff)
		return 3;
	if (n <= 0xffffffffu)
		return 5;
	return 9;
}

/* Write the shortest head of major type `major` with argument n. */
static uint8_t *
put_head(uint8_t *o, uint8_t major, uint64_t n)
{
	size_t	hl = av_cbor_bstr_head_len(n);
	uint8_t	mt = (uint8_t)(major << 5);

	switch (hl) {
	case 1:
		*o++ = mt | (uint8_t)n;
		return o;
	case 2:
		*o++ = mt | 24;
		break;
	case 3:
		*o++ = mt | 25;
		break;
	case 5:
		*o++ = mt | 26;
		break;
	default:
		*o++ = mt | 27;
		break;
	}
	for (size_t i = hl - 1; i > 0; i--)
		*o++ = (uint8_t)(n >> (8 * (i - 1)));
	return o;
}

/*
 * RFC 9052 s.4.2: COSE_Sign1 = [protected: bstr, unprotected: map,
 * payload: bstr / nil, signature: bstr], optionally tagged 18 (s.2).
 */
int
av_cose_sign1_parse(const uint8_t *p, size_t n, struct av_cose_sign1 *out,
    struct av_err *e)
{
	struct av_reader	r, u;
	struct av_cbor_head	h;
	struct av_cose_sign1	cs;
	const uint8_t		*b;

	memset(&cs, 0, sizeof(cs));
	av_reader_init(&r, p, n);
	if (av_peek_bytes(&r, 1, &b) && (b[0] >> 5) == AV_CBOR_TAG) {
		if (!av_cbor_head(&r, &h))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "cose: bad tag");
		if (h.arg != 18)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "cose: tag other than 18 (COSE_Sign1)");
		cs.tagged = true;
	}
	if (!av_cbor_head(&r, &h))
		return AV_FAIL(e, AV_E_MALFORMED, "cose: truncated document");
	if (h.major != AV_CBOR_ARRAY || h.indef || h.arg != 4)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: not a COSE_Sign1 array of four");
	if (!av_cbor_bstr(&r, &cs.prot, &cs.prot_len))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: protected header not a byte string");
	u = r;
	if (!av_peek_bytes(&r, 1, &b) || (b[0] >> 5) != AV_CBOR_MAP ||
	    !av_cbor_skip(&r))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: unprotected header not a map");
	cs.unprot = u.p;
	cs.unprot_len = u.left - r.left;
	if (!av_cbor_bstr(&r, &cs.payload, &cs.payload_len))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: payload not a byte string");
	if (!av_cbor_bstr(&r, &cs.sig, &cs.sig_len))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: signature not a byte string");
	if (r.left != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: trailing bytes after COSE_Sign1");
	*out = cs;
	return 0;
}

/*
 * RFC 9052 s.3.1: the protected header is a serialized map; here it must
 * be exactly one entry, label 1 (alg), with an integer value.
 */
bool
av_cose_prot_is_alg(const struct av_cose_sign1 *cs, int64_t alg)
{
	struct av_reader	r;
	struct av_cbor_iter	it;
	struct av_cbor_head	h;
	uint64_t		label;

	av_reader_init(&r, cs->prot, cs->prot_len);
	if (!av_cbor_map(&r, &it) || it.indef || it.left != 1 ||
	    av_cbor_next(&r, &it) != 1)
		return false;
	if (!av_cbor_uint(&r, &label) || label != 1)
		return false;
	if (!av_cbor_head(&r, &h) || r.left != 0)
		return false;
	if (alg < 0)
		return h.major == AV_CBOR_NINT &&
		    h.arg == (uint64_t)(-(alg + 1));
	return h.major == AV_CBOR_UINT && h.arg == (uint64_t)alg;
}

/*
 * RFC 9052 s.4.4: Sig_structure = ["Signature1", body_protected,
 * external_aad, payload], each bstr with its content as received.
 */
uint8_t *
av_cose_sig_structure(const struct av_cose_sign1 *cs, const uint8_t *aad,
    size_t aad_len, size_t *len)
{
	static const char	 ctx[] = "Signature1";
	uint8_t			*buf, *o;
	size_t			 n;

	n = 1 + 1 + (sizeof(ctx) - 1) +
	    av_cbor_bstr_head_len(cs->prot_len) + cs->prot_len +
	    av_cbor_bstr_head_len(aad_len) + aad_len +
	    av_cbor_bstr_head_len(cs->payload_len) + cs->payload_len;
	if ((buf = malloc(n)) == NULL)
		return NULL;
	o = buf;
	*o++ = 0x84;				/* array(4) */
	o = put_head(o, AV_CBOR_TSTR, sizeof(ctx) - 1);
	memcpy(o, ctx, sizeof(ctx) - 1);
	o += sizeof(ctx) - 1;
	o = put_head(o, AV_CBOR_BSTR, cs->prot_len);
	if (cs->prot_len > 0)
		memcpy(o, cs->prot, cs->prot_len);
	o += cs->prot_len;
	o = put_head(o, AV_CBOR_BSTR, aad_len);
	if (aad_len > 0)
		memcpy(o, aad, aad_len);
	o += aad_len;
	o = put_head(o, AV_CBOR_BSTR, cs->payload_len);
	if (cs->payload_len > 0)
		memcpy(o, cs->payload, cs->payload_len);
	o += cs->payload_len;
	*len = (size_t)(o - buf);
	return buf;
}
