/*
 * attestd - a small allocation-free CBOR reader (RFC 8949) over
 * struct av_reader, and COSE_Sign1 (RFC 9052) framing on top of it.
 *
 * Only what signed evidence needs: heads, definite-length byte and text
 * strings, unsigned integers, definite and indefinite arrays and maps,
 * and a depth-capped skip.  Indefinite-length strings are rejected.
 * Every function either succeeds and advances the reader, or fails and
 * leaves it untouched.
 */
#ifndef AV_COSE_H
#define AV_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "av/err.h"
#include "av/reader.h"

/* CBOR major types (RFC 8949 s.3.1). */
#define AV_CBOR_UINT	0
#define AV_CBOR_NINT	1
#define AV_CBOR_BSTR	2
#define AV_CBOR_TSTR	3
#define AV_CBOR_ARRAY	4
#define AV_CBOR_MAP	5
#define AV_CBOR_TAG	6
#define AV_CBOR_SIMPLE	7

#define AV_CBOR_NULL	0xf6	/* simple value 22 */
#define AV_CBOR_BREAK	0xff

/* Deepest nesting av_cbor_skip() follows. */
#define AV_CBOR_MAX_DEPTH	16

struct av_cbor_head {
	uint8_t		major;	/* AV_CBOR_* */
	bool		indef;	/* indefinite length (arrays and maps only) */
	uint64_t	arg;	/* value, length, count or tag number */
};

/*
 * Read one head.  Rejects reserved additional information (28..30), a
 * stray break, and indefinite length on anything but arrays and maps.
 */
AV_MUST_USE bool av_cbor_head(struct av_reader *, struct av_cbor_head *);
/* A definite-length byte string: *p points into the reader's buffer. */
AV_MUST_USE bool av_cbor_bstr(struct av_reader *, const uint8_t **p,
    size_t *n);
/* A definite-length text string (not NUL-terminated, not validated). */
AV_MUST_USE bool av_cbor_tstr(struct av_reader *, const char **p, size_t *n);
/* An unsigned integer (major type 0). */
AV_MUST_USE bool av_cbor_uint(struct av_reader *, uint64_t *);
/* Consume a CBOR null if it is next; false (reader unchanged) otherwise. */
AV_MUST_USE bool av_cbor_null(struct av_reader *);
/* Skip one complete data item, nesting at most AV_CBOR_MAX_DEPTH. */
AV_MUST_USE bool av_cbor_skip(struct av_reader *);

/* Iteration over an array or a map, definite or indefinite. */
struct av_cbor_iter {
	uint64_t	left;	/* items (map: pairs) left, when definite */
	bool		indef;
};
/* Begin an array / a map.  A definite count is checked against the bytes. */
AV_MUST_USE bool av_cbor_array(struct av_reader *, struct av_cbor_iter *);
AV_MUST_USE bool av_cbor_map(struct av_reader *, struct av_cbor_iter *);
/*
 * Whether another item (map: key/value pair) follows: 1 yes, 0 at the
 * end (the break of an indefinite container is consumed), -1 truncated.
 */
AV_MUST_USE int	av_cbor_next(struct av_reader *, struct av_cbor_iter *);

/* Length of the shortest head encoding a byte-string length n. */
size_t	av_cbor_bstr_head_len(uint64_t n);

/* ---- COSE_Sign1 (RFC 9052 s.4.2) --------------------------------------- */

/* The four members of a COSE_Sign1, as views into the received bytes. */
struct av_cose_sign1 {
	bool		 tagged;	/* carried CBOR tag 18 */
	const uint8_t	*prot;		/* protected header: bstr content */
	size_t		 prot_len;
	const uint8_t	*unprot;	/* unprotected header: the encoded map */
	size_t		 unprot_len;
	const uint8_t	*payload;	/* payload: bstr content */
	size_t		 payload_len;
	const uint8_t	*sig;		/* signature: bstr content */
	size_t		 sig_len;
};

/*
 * Frame a COSE_Sign1: optionally tag 18, then a definite array of 4:
 * bstr protected, map unprotected, bstr payload (not nil: no detached
 * payloads), bstr signature; nothing may follow.  Nothing is copied.
 * Returns 0, or -1 with e = AV_E_MALFORMED.
 */
AV_MUST_USE int	av_cose_sign1_parse(const uint8_t *p, size_t n,
    struct av_cose_sign1 *out, struct av_err *e);
/*
 * Whether the protected header decodes to exactly {1: alg} (one entry,
 * label 1, integer alg).  alg is a COSE algorithm id: -35 is ES384.
 */
bool	av_cose_prot_is_alg(const struct av_cose_sign1 *, int64_t alg);
/*
 * The encoded Sig_structure (RFC 9052 s.4.4) for a COSE_Sign1:
 * ["Signature1", protected, external_aad, payload], with the protected
 * and payload contents exactly as received (never re-encoded) and
 * shortest-form heads.  Returns a malloc'd buffer (caller frees) and
 * sets *len, or NULL when out of memory.
 */
uint8_t	*av_cose_sig_structure(const struct av_cose_sign1 *,
	    const uint8_t *aad, size_t aad_len, size_t *len);

#endif
