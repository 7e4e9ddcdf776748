/*
 * attestd - hex, base64 and base64url codecs, and timestamps.
 */
#ifndef AV_CODEC_H
#define AV_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/err.h"

/* Lower-case hex of n bytes; caller frees.  NULL on allocation failure. */
char	*av_hex_encode(const uint8_t *p, size_t n);
/*
 * Lower-case hex of n bytes as a JSON string (claims, reasons): a new
 * reference, or NULL on allocation failure (which json_object_set_new()
 * and json_array_append_new() refuse without harm).
 */
json_t	*av_json_hex(const uint8_t *p, size_t n);
/*
 * Decode hex (either case, no separators).  On success *out is malloc'd
 * (caller frees) and *outlen set.  Returns 0, or -1 on bad input.
 */
AV_MUST_USE int av_hex_decode(const char *s, size_t slen, uint8_t **out,
    size_t *outlen);
/* Decode exactly n bytes of hex into buf (no allocation). */
AV_MUST_USE int av_hex_decode_fixed(const char *s, uint8_t *buf, size_t n);

/* Standard base64 with padding (RFC 4648 s.4); caller frees. */
char	*av_b64_encode(const uint8_t *p, size_t n);
/* base64url without padding (RFC 4648 s.5, RFC 7515 s.2); caller frees. */
char	*av_b64url_encode(const uint8_t *p, size_t n);
/*
 * Decode base64 or base64url, with or without padding; ASCII whitespace
 * is skipped (PEM-style line breaks).  Caller frees *out.
 * Returns 0, or -1 on bad input.
 */
AV_MUST_USE int av_b64_decode(const char *s, size_t slen, uint8_t **out,
    size_t *outlen);

/*
 * Parse a time for --at and configuration: RFC 3339 ("2024-09-07T14:37:39Z",
 * fractional seconds and numeric offsets allowed) or decimal unix seconds.
 * Returns 0 and sets *t, or -1.
 */
AV_MUST_USE int av_time_parse(const char *s, int64_t *t);
/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1-12). */
int64_t	av_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Format unix seconds as RFC 3339 UTC into buf (at least 21 bytes). */
void	av_time_format(int64_t t, char *buf, size_t len);

/* Constant-time compare of two equal-length buffers. */
bool	av_memeq_ct(const void *a, const void *b, size_t n);

#endif
