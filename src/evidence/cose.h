/*
 * attestd - CBOR (RFC 8949) through libcbor, and COSE_Sign1 (RFC 9052)
 * framing on top of it.
 *
 * Decoding is libcbor's: cbor_load() builds the items that parsers
 * validate, and its streaming decoder (cbor_stream_decode(), which never
 * allocates) reads single heads for detection and for the guard walk
 * that bounds what cbor_load() may allocate.  The guard exists because
 * libcbor 0.8 allocates (and zeroes) a definite array or map as soon as
 * it reads its head: six bytes announcing 2^31 items make it take 16 GiB.
 * The Sig_structure is written with libcbor's encoders.
 */
#ifndef AV_COSE_H
#define AV_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

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

/* Tag 18 (COSE_Sign1, RFC 9052 s.2) in its one-byte encoding. */
#define AV_COSE_SIGN1_TAG_BYTE	0xd2

/* Deepest nesting of arrays, maps and tags that av_cbor_skip() and
   av_cbor_load() accept (the outermost container is level 1). */
#define AV_CBOR_MAX_DEPTH	16
/* Most data items (heads, breaks excluded) one walk or load accepts: a
   Nitro payload has about 120, and each costs libcbor an allocation. */
#define AV_CBOR_MAX_ITEMS	4096

/* Why a walk or a load failed. */
enum av_cbor_status {
	AV_CBOR_OK = 0,
	AV_CBOR_TRUNCATED,	/* the input ends inside the item, or a
				   count exceeds what the input can hold */
	AV_CBOR_MALFORMED,	/* not well-formed, or invalid UTF-8 text */
	AV_CBOR_TOO_DEEP,	/* nesting over AV_CBOR_MAX_DEPTH */
	AV_CBOR_TOO_MANY,	/* more than AV_CBOR_MAX_ITEMS items */
	AV_CBOR_INDEF_STRING,	/* an indefinite-length string */
	AV_CBOR_TRAILING,	/* bytes after the item */
	AV_CBOR_NOMEM,
};

/* One head, as libcbor's streaming decoder reports it. */
struct av_cbor_head {
	uint8_t		 major;	/* AV_CBOR_* */
	bool		 indef;	/* indefinite-length array, map or string */
	bool		 brk;	/* the break stop code (major 7) */
	uint64_t	 arg;	/* integer value (negative: -1 - arg), string
				   length, item or pair count, tag number, or
				   simple value (floats: 25, 26, 27) */
	const uint8_t	*str;	/* definite string: its content, borrowed
				   from the reader's buffer */
};

/*
 * Read one head with cbor_stream_decode() (no allocation).  A definite
 * string is read whole: its content must be present and is skipped.
 * Advances the reader on success only.  Note that libcbor 0.8 reports
 * the one-byte tags 6..20 (0xc6..0xd4) as malformed.
 */
AV_MUST_USE enum av_cbor_status av_cbor_head(struct av_reader *,
    struct av_cbor_head *);
/*
 * Skip one complete data item without allocating: nesting at most
 * AV_CBOR_MAX_DEPTH, at most AV_CBOR_MAX_ITEMS items, no
 * indefinite-length strings, every definite count within the bytes left
 * and all counts together within the input.
 * Advances the reader on success only.
 */
AV_MUST_USE enum av_cbor_status av_cbor_skip(struct av_reader *);
/*
 * Decode p[0..n), which must hold exactly one data item, with cbor_load()
 * after av_cbor_skip() has bounded it (so libcbor allocates at most a
 * small multiple of n).  On AV_CBOR_OK the caller owns *out
 * (cbor_decref()); otherwise *out is NULL.
 */
AV_MUST_USE enum av_cbor_status av_cbor_load(const uint8_t *p, size_t n,
    cbor_item_t **out);

/* The content of a definite byte string item (borrowed from it). */
AV_MUST_USE bool av_cbor_get_bstr(const cbor_item_t *, const uint8_t **p,
    size_t *n);
/* The content of a definite text string item (not NUL-terminated). */
AV_MUST_USE bool av_cbor_get_tstr(const cbor_item_t *, const char **p,
    size_t *n);
/* Whether the item is CBOR null (simple value 22). */
bool	av_cbor_is_null(const cbor_item_t *);

/* ---- COSE_Sign1 (RFC 9052 s.4.2) --------------------------------------- */

/*
 * A decoded COSE_Sign1.  root owns every item; the byte views point into
 * libcbor's copies of the byte-string contents, which are the received
 * bytes exactly (a definite string's content is copied, never
 * re-encoded).
 */
struct av_cose_sign1 {
	cbor_item_t		*root;		/* owned: the whole document */
	bool			 tagged;	/* carried CBOR tag 18 */
	const uint8_t		*prot;		/* protected header: bstr content */
	size_t			 prot_len;
	const cbor_item_t	*unprot;	/* unprotected header map (borrowed
						   from root) */
	const uint8_t		*payload;	/* payload: bstr content */
	size_t			 payload_len;
	const uint8_t		*sig;		/* signature: bstr content */
	size_t			 sig_len;
};

/*
 * Decode and frame a COSE_Sign1: optionally tag 18 (one-byte 0xd2 taken
 * before libcbor, which refuses it, or a longer form), then a definite array
 * of 4: definite bstr protected, map unprotected, definite bstr payload
 * (not nil: no detached payloads), definite bstr signature; nothing may
 * follow.  p must be at most a few tens of KiB (callers cap it).
 * On success the caller owns out (av_cose_sign1_cleanup()).
 * Returns 0, or -1 with e = AV_E_MALFORMED (AV_E_NOMEM) and out zeroed.
 */
AV_MUST_USE int	av_cose_sign1_parse(const uint8_t *p, size_t n,
    struct av_cose_sign1 *out, struct av_err *e);
/* Release what av_cose_sign1_parse() decoded; zeroes *cs.  NULL-safe. */
void	av_cose_sign1_cleanup(struct av_cose_sign1 *cs);
/*
 * Whether the protected header decodes (cbor_load) to exactly {1: alg}:
 * a definite map of one entry, label unsigned 1, an integer value equal
 * to alg in any encoding width.  -35 is ES384.
 */
bool	av_cose_prot_is_alg(const struct av_cose_sign1 *, int64_t alg);
/*
 * The encoded Sig_structure (RFC 9052 s.4.4) for a COSE_Sign1:
 * ["Signature1", protected, external_aad, payload], with the protected
 * and payload contents exactly as received (never re-encoded) behind
 * shortest-form heads (libcbor's encoders).  Returns a malloc'd buffer
 * (caller frees) and sets *len, or NULL when out of memory.
 */
uint8_t	*av_cose_sig_structure(const struct av_cose_sign1 *,
	    const uint8_t *aad, size_t aad_len, size_t *len);

#endif
