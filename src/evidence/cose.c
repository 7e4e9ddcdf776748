/*
 * attestd - CBOR decoding through libcbor (RFC 8949) and COSE_Sign1
 * framing (RFC 9052).
 *
 * Byte-level decoding is libcbor's throughout: cbor_stream_decode() for
 * single heads (detection and the bounding walk), cbor_load() for the
 * items parsers read, cbor_encode_*() for the Sig_structure.  What is
 * ours is the walk that decides whether cbor_load() may run: libcbor 0.8
 * allocates a definite array or map from its announced count before it
 * has seen a single element, so every count is checked against the
 * input first (see av_cbor_skip()).
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/cose.h"

/* ---- one head: libcbor's streaming decoder ------------------------------ */

/* Each callback records the head it was given. */
static void
cb_uint8(void *c, uint8_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_UINT,
	    false, false, v, NULL };
}

static void
cb_uint16(void *c, uint16_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_UINT,
	    false, false, v, NULL };
}

static void
cb_uint32(void *c, uint32_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_UINT,
	    false, false, v, NULL };
}

static void
cb_uint64(void *c, uint64_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_UINT,
	    false, false, v, NULL };
}

static void
cb_negint8(void *c, uint8_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_NINT,
	    false, false, v, NULL };
}

static void
cb_negint16(void *c, uint16_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_NINT,
	    false, false, v, NULL };
}

static void
cb_negint32(void *c, uint32_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_NINT,
	    false, false, v, NULL };
}

static void
cb_negint64(void *c, uint64_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_NINT,
	    false, false, v, NULL };
}

static void
cb_bstr(void *c, cbor_data p, size_t n)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_BSTR,
	    false, false, n, p };
}

static void
cb_bstr_indef(void *c)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_BSTR,
	    true, false, 0, NULL };
}

static void
cb_tstr(void *c, cbor_data p, size_t n)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_TSTR,
	    false, false, n, p };
}

static void
cb_tstr_indef(void *c)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_TSTR,
	    true, false, 0, NULL };
}

static void
cb_array(void *c, size_t n)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_ARRAY,
	    false, false, n, NULL };
}

static void
cb_array_indef(void *c)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_ARRAY,
	    true, false, 0, NULL };
}

static void
cb_map(void *c, size_t n)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_MAP,
	    false, false, n, NULL };
}

static void
cb_map_indef(void *c)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_MAP,
	    true, false, 0, NULL };
}

static void
cb_tag(void *c, uint64_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_TAG,
	    false, false, v, NULL };
}

static void
simple(void *c, uint64_t v)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_SIMPLE,
	    false, false, v, NULL };
}

static void
cb_float2(void *c, float f)
{
	(void)f;
	simple(c, 25);
}

static void
cb_float4(void *c, float f)
{
	(void)f;
	simple(c, 26);
}

static void
cb_float8(void *c, double f)
{
	(void)f;
	simple(c, 27);
}

static void
cb_undef(void *c)
{
	simple(c, 23);
}

static void
cb_null(void *c)
{
	simple(c, 22);
}

static void
cb_bool(void *c, bool b)
{
	simple(c, b ? 21 : 20);
}

static void
cb_break(void *c)
{
	*(struct av_cbor_head *)c = (struct av_cbor_head){ AV_CBOR_SIMPLE,
	    false, true, 31, NULL };
}

/* (libcbor's header swaps the comments of the definite/indefinite pairs.) */
static const struct cbor_callbacks head_callbacks = {
	.uint8 = cb_uint8,
	.uint16 = cb_uint16,
	.uint32 = cb_uint32,
	.uint64 = cb_uint64,
	.negint8 = cb_negint8,
	.negint16 = cb_negint16,
	.negint32 = cb_negint32,
	.negint64 = cb_negint64,
	.byte_string = cb_bstr,
	.byte_string_start = cb_bstr_indef,
	.string = cb_tstr,
	.string_start = cb_tstr_indef,
	.array_start = cb_array,
	.indef_array_start = cb_array_indef,
	.map_start = cb_map,
	.indef_map_start = cb_map_indef,
	.tag = cb_tag,
	.float2 = cb_float2,
	.float4 = cb_float4,
	.float8 = cb_float8,
	.undefined = cb_undef,
	.null = cb_null,
	.boolean = cb_bool,
	.indef_break = cb_break,
};

/*
 * RFC 8949 s.3: one head (with a definite string's content), decoded by
 * cbor_stream_decode(), which reports reserved additional information
 * and unassigned simple values as errors and a short input as NEDATA.
 */
enum av_cbor_status
av_cbor_head(struct av_reader *r, struct av_cbor_head *h)
{
	struct cbor_decoder_result	res;
	struct av_cbor_head		got = { 0 };

	if (r->left == 0)
		return AV_CBOR_TRUNCATED;
	res = cbor_stream_decode(r->p, r->left, &head_callbacks, &got);
	if (res.status == CBOR_DECODER_NEDATA)
		return AV_CBOR_TRUNCATED;
	if (res.status != CBOR_DECODER_FINISHED || res.read == 0 ||
	    res.read > r->left)
		return AV_CBOR_MALFORMED;
	*h = got;
	r->p += res.read;
	r->left -= res.read;
	return AV_CBOR_OK;
}

/* ---- bounded walk ----------------------------------------------------------- */

struct walk_level {
	uint64_t	left;	/* items still to come (definite) */
	bool		indef;	/* ends at a break */
};

/*
 * One complete item, iteratively: a stack of at most AV_CBOR_MAX_DEPTH
 * open containers (arrays, maps, tags).  Each definite count must fit in
 * the bytes left (every item takes at least one byte), and the counts of
 * all containers together must fit in the whole input: in well-formed
 * CBOR every item but the outermost belongs to exactly one container, so
 * the sum cannot exceed the number of items, which cannot exceed the
 * number of bytes.  That sum bounds what cbor_load() pre-allocates, and
 * the item cap what it allocates item by item.
 */
static enum av_cbor_status
walk(struct av_reader *r)
{
	struct walk_level	 lv[AV_CBOR_MAX_DEPTH];
	struct av_cbor_head	 h;
	enum av_cbor_status	 st;
	uint64_t		 budget = r->left, count;
	size_t			 items = 0;
	int			 depth = 0;

	for (;;) {
		if ((st = av_cbor_head(r, &h)) != AV_CBOR_OK)
			return st;
		if (!h.brk && ++items > AV_CBOR_MAX_ITEMS)
			return AV_CBOR_TOO_MANY;
		if (h.brk) {
			if (depth == 0 || !lv[depth - 1].indef)
				return AV_CBOR_MALFORMED;	/* stray */
			depth--;	/* the container is complete */
		} else if ((h.major == AV_CBOR_BSTR ||
		    h.major == AV_CBOR_TSTR) && h.indef) {
			return AV_CBOR_INDEF_STRING;
		} else if (h.major == AV_CBOR_ARRAY || h.major == AV_CBOR_MAP ||
		    h.major == AV_CBOR_TAG) {
			count = h.major == AV_CBOR_TAG ? 1 : h.arg;
			if (!h.indef && h.major == AV_CBOR_MAP) {
				if (count > r->left / 2)
					return AV_CBOR_TRUNCATED;
				count *= 2;
			}
			if (!h.indef && (count > r->left || count > budget))
				return AV_CBOR_TRUNCATED;
			if (!h.indef)
				budget -= count;
			if (h.indef || count > 0) {
				if (depth == AV_CBOR_MAX_DEPTH)
					return AV_CBOR_TOO_DEEP;
				lv[depth].indef = h.indef;
				lv[depth].left = count;
				depth++;
				continue;	/* not complete yet */
			}
		}
		/* an item is complete: close every definite container it
		   completes */
		while (depth > 0 && !lv[depth - 1].indef) {
			if (--lv[depth - 1].left > 0)
				break;
			depth--;
		}
		if (depth == 0)
			return AV_CBOR_OK;
	}
}

/*
 * RFC 8949 s.3: one complete data item, bounded as walk() says; no
 * allocation.  Advances the reader on success only.  Returns AV_CBOR_OK
 * or why not.
 */
enum av_cbor_status
av_cbor_skip(struct av_reader *r)
{
	struct av_reader	c = *r;
	enum av_cbor_status	st;

	if ((st = walk(&c)) != AV_CBOR_OK)
		return st;
	*r = c;
	return AV_CBOR_OK;
}

/* ---- loading ---------------------------------------------------------------- */

/*
 * Exactly one data item in p[0..n), decoded by cbor_load() once the walk
 * has bounded it.  On AV_CBOR_OK the caller owns *out (cbor_decref());
 * otherwise *out is NULL and nothing is held.
 */
enum av_cbor_status
av_cbor_load(const uint8_t *p, size_t n, cbor_item_t **out)
{
	struct av_reader	 r;
	struct cbor_load_result	 res;
	enum av_cbor_status	 st;
	cbor_item_t		*item;

	*out = NULL;
	av_reader_init(&r, p, n);
	if ((st = av_cbor_skip(&r)) != AV_CBOR_OK)
		return st;
	if (r.left != 0)
		return AV_CBOR_TRAILING;
	memset(&res, 0, sizeof(res));
	item = cbor_load(p, n, &res);
	if (item == NULL || res.error.code != CBOR_ERR_NONE) {
		if (item != NULL)
			cbor_decref(&item);
		switch (res.error.code) {
		case CBOR_ERR_NOTENOUGHDATA:
		case CBOR_ERR_NODATA:
			return AV_CBOR_TRUNCATED;
		case CBOR_ERR_MEMERROR:
			return AV_CBOR_NOMEM;
		default:
			return AV_CBOR_MALFORMED;	/* e.g. bad UTF-8 */
		}
	}
	if (res.read != n) {	/* the walk says it cannot be; recheck */
		cbor_decref(&item);
		return AV_CBOR_TRAILING;
	}
	*out = item;
	return AV_CBOR_OK;
}

/* A definite byte string's content, borrowed from the item. */
bool
av_cbor_get_bstr(const cbor_item_t *it, const uint8_t **p, size_t *n)
{
	if (it == NULL || !cbor_isa_bytestring(it) ||
	    !cbor_bytestring_is_definite(it))
		return false;
	*n = cbor_bytestring_length(it);
	/* an empty string may have no handle; never hand out NULL */
	*p = *n > 0 ? cbor_bytestring_handle(it) : (const uint8_t *)"";
	return *n == 0 || *p != NULL;
}

/* A definite text string's content (not NUL-terminated), borrowed. */
bool
av_cbor_get_tstr(const cbor_item_t *it, const char **p, size_t *n)
{
	if (it == NULL || !cbor_isa_string(it) || !cbor_string_is_definite(it))
		return false;
	*n = cbor_string_length(it);
	*p = *n > 0 ? (const char *)cbor_string_handle(it) : "";
	return *n == 0 || *p != NULL;
}

/* CBOR null (simple value 22), not undefined nor a float. */
bool
av_cbor_is_null(const cbor_item_t *it)
{
	return it != NULL && cbor_isa_float_ctrl(it) &&
	    cbor_float_get_width(it) == CBOR_FLOAT_0 &&
	    cbor_ctrl_value(it) == CBOR_CTRL_NULL;
}

/* ---- COSE_Sign1 ------------------------------------------------------------- */

/*
 * RFC 9052 s.4.2: COSE_Sign1 = [protected: bstr, unprotected: map,
 * payload: bstr / nil, signature: bstr], optionally tagged 18 (s.2).
 * On success the caller owns *out (av_cose_sign1_cleanup()).  Returns 0,
 * or -1 with e set and *out zeroed.
 */
int
av_cose_sign1_parse(const uint8_t *p, size_t n, struct av_cose_sign1 *out,
    struct av_err *e)
{
	struct av_cose_sign1	 cs;
	cbor_item_t		*arr, **m;
	int			 rc = -1;

	memset(&cs, 0, sizeof(cs));
	memset(out, 0, sizeof(*out));
	/*
	 * libcbor 0.8 refuses the one-byte tags 6..20 as "unassigned"
	 * (PJK/libcbor#307), COSE_Sign1's 18 (0xd2) among them: that one
	 * byte is taken here, any other one-byte tag refused; the longer
	 * encodings of a tag number (0xd8 0x12 ...) are libcbor's.
	 */
	if (n > 0 && p[0] == AV_COSE_SIGN1_TAG_BYTE) {
		cs.tagged = true;
		p++;
		n--;
	} else if (n > 0 && p[0] >= 0xc0 && p[0] <= 0xd7)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: tag other than 18 (COSE_Sign1)");
	switch (av_cbor_load(p, n, &cs.root)) {
	case AV_CBOR_OK:
		break;
	case AV_CBOR_TRUNCATED:
		return AV_FAIL(e, AV_E_MALFORMED, "cose: truncated document");
	case AV_CBOR_TRAILING:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: trailing bytes after COSE_Sign1");
	case AV_CBOR_TOO_DEEP:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: nested more than 16 levels deep");
	case AV_CBOR_TOO_MANY:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: more than 4096 CBOR items");
	case AV_CBOR_INDEF_STRING:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "cose: indefinite-length string");
	case AV_CBOR_NOMEM:
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	case AV_CBOR_MALFORMED:
	default:
		return AV_FAIL(e, AV_E_MALFORMED, "cose: not well-formed CBOR");
	}
	arr = cs.root;
	if (!cs.tagged && cbor_isa_tag(arr)) {
		if (cbor_tag_value(arr) != 18) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "cose: tag other than 18 (COSE_Sign1)");
			goto out;
		}
		cs.tagged = true;
		/* a new reference: drop it at once, root keeps its own */
		arr = cbor_tag_item(cs.root);
		cbor_intermediate_decref(arr);
	}
	if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) ||
	    cbor_array_size(arr) != 4 || (m = cbor_array_handle(arr)) == NULL) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "cose: not a COSE_Sign1 array of four");
		goto out;
	}
	if (!av_cbor_get_bstr(m[0], &cs.prot, &cs.prot_len)) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "cose: protected header not a byte string");
		goto out;
	}
	if (!cbor_isa_map(m[1])) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "cose: unprotected header not a map");
		goto out;
	}
	cs.unprot = m[1];
	if (!av_cbor_get_bstr(m[2], &cs.payload, &cs.payload_len)) {
		AV_FAIL(e, AV_E_MALFORMED, "cose: payload not a byte string");
		goto out;
	}
	if (!av_cbor_get_bstr(m[3], &cs.sig, &cs.sig_len)) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "cose: signature not a byte string");
		goto out;
	}
	*out = cs;
	memset(&cs, 0, sizeof(cs));	/* ownership moved */
	rc = 0;
 out:
	av_cose_sign1_cleanup(&cs);
	return rc;
}

/* Drop the decoded document (cbor_decref) and zero *cs; NULL-safe. */
void
av_cose_sign1_cleanup(struct av_cose_sign1 *cs)
{
	if (cs == NULL)
		return;
	if (cs->root != NULL)
		cbor_decref(&cs->root);
	memset(cs, 0, sizeof(*cs));
}

/*
 * RFC 9052 s.3.1: the protected header is a serialized map; here it must
 * be exactly one entry, label 1 (alg), with an integer value.  Holds
 * nothing on return.
 */
bool
av_cose_prot_is_alg(const struct av_cose_sign1 *cs, int64_t alg)
{
	cbor_item_t		*m = NULL;
	const struct cbor_pair	*kv;
	bool			 ok = false;

	if (cs->prot_len == 0 ||
	    av_cbor_load(cs->prot, cs->prot_len, &m) != AV_CBOR_OK)
		return false;
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m) ||
	    cbor_map_size(m) != 1 || (kv = cbor_map_handle(m)) == NULL)
		goto out;
	if (!cbor_isa_uint(kv->key) || cbor_get_int(kv->key) != 1)
		goto out;
	if (alg < 0)
		ok = cbor_isa_negint(kv->value) &&
		    cbor_get_int(kv->value) == (uint64_t)(-(alg + 1));
	else
		ok = cbor_isa_uint(kv->value) &&
		    cbor_get_int(kv->value) == (uint64_t)alg;
 out:
	cbor_decref(&m);
	return ok;
}

/*
 * RFC 9052 s.4.4: Sig_structure = ["Signature1", body_protected,
 * external_aad, payload], each bstr with its content as received.
 * Returns a malloc'd buffer (caller frees) and *len, or NULL.
 */
uint8_t *
av_cose_sig_structure(const struct av_cose_sign1 *cs, const uint8_t *aad,
    size_t aad_len, size_t *len)
{
	static const char	 ctx[] = "Signature1";
	const uint8_t		*part[3] = { cs->prot, aad, cs->payload };
	size_t			 plen[3] = { cs->prot_len, aad_len,
				    cs->payload_len };
	uint8_t			*buf;
	size_t			 cap, o, w;

	/* heads take at most 9 bytes each; the lengths are of held buffers */
	cap = 9 + 9 + (sizeof(ctx) - 1);
	for (int i = 0; i < 3; i++) {
		if (plen[i] > SIZE_MAX - cap - 9)
			return NULL;
		cap += 9 + plen[i];
	}
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	if ((o = cbor_encode_array_start(4, buf, cap)) == 0 ||
	    (w = cbor_encode_string_start(sizeof(ctx) - 1, buf + o,
	    cap - o)) == 0)
		goto fail;
	o += w;
	memcpy(buf + o, ctx, sizeof(ctx) - 1);
	o += sizeof(ctx) - 1;
	for (int i = 0; i < 3; i++) {
		if ((w = cbor_encode_bytestring_start(plen[i], buf + o,
		    cap - o)) == 0)
			goto fail;
		o += w;
		if (plen[i] > 0)
			memcpy(buf + o, part[i], plen[i]);
		o += plen[i];
	}
	*len = o;
	return buf;
 fail:
	free(buf);
	return NULL;
}
