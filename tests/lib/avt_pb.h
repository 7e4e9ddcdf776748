/*
 * Test-only protobuf writer, by hand (the wire format of
 * protobuf.dev/programming-guides/encoding): tests encode go-tpm-tools,
 * go-sev-guest and go-tdx-guest messages with the published field
 * numbers rather than with protobuf-c and our own .proto, which would
 * agree with itself even if a field number were wrong.  Never linked
 * into the verifier.
 */
#ifndef AVT_PB_H
#define AVT_PB_H

#include <stddef.h>
#include <stdint.h>

/* A growing buffer; start zeroed, free(b.p) when done. */
struct avt_pb {
	uint8_t	*p;
	size_t	 len, cap;
};

/* Append n raw bytes (aborts on out of memory). */
void	avt_pb_put(struct avt_pb *, const void *, size_t);
/* Append a base-128 varint. */
void	avt_pb_varint(struct avt_pb *, uint64_t);
/* Field n, wire type varint; zero is left out (proto3). */
void	avt_pb_uint(struct avt_pb *, unsigned n, uint64_t);
/* Field n, wire type length-delimited. */
void	avt_pb_bytes(struct avt_pb *, unsigned n, const void *, size_t);

#endif /* AVT_PB_H */
