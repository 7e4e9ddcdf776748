/*
 * attestd - NVIDIA GPU attestation reports: the SPDM 1.1
 * GET_MEASUREMENTS request || MEASUREMENTS response that Hopper and
 * Blackwell GPUs sign, its NVIDIA opaque data, and the device leaf's
 * TCG DICE FWID.  Bytes only: no crypto, no I/O.
 *
 * DSP0274 (SPDM 1.1.x) s.10.11.1 GET_MEASUREMENTS request (Table 40),
 * s.10.11.2 MEASUREMENTS response (Table 43), s.10.11.2.1 measurement
 * block (Table 44), DMTF measurement specification (Table 45).  The
 * response's signature covers request || response up to the signature:
 * its offset comes from the length fields, never from the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "av/reader.h"
#include "evidence/nvgpu.h"

/* Free what nv_report_parse() allocated and zero *rep (NULL-safe). */
void
nv_report_cleanup(struct nv_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->raw);
	memset(rep, 0, sizeof(*rep));
}

/*
 * The measurement block with SPDM index idx (DSP0274 Table 44), borrowed
 * from rep, or NULL.
 */
const struct nv_block *
nv_report_block(const struct nv_report *rep, unsigned idx)
{
	for (unsigned i = 0; i < rep->nblocks; i++)
		if (rep->blocks[i].index == idx)
			return &rep->blocks[i];
	return NULL;
}

/* u24 little-endian (MeasurementRecordLength). */
static bool
read_u24le(struct av_reader *r, uint32_t *v)
{
	const uint8_t *p;

	if (!av_read_bytes(r, 3, &p))
		return false;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	return true;
}

/*
 * One measurement block (Table 44) with a DMTF measurement (Table 45):
 * Index, MeasurementSpecification (bit 0: DMTF), MeasurementSize, then
 * DMTFSpecMeasurementValueType, DMTFSpecMeasurementValueSize, value.
 */
static int
parse_block(struct av_reader *rec, struct nv_block *b, struct av_err *e)
{
	struct av_reader	 m;
	uint8_t			 spec;
	uint16_t		 msize, vsize;

	if (!av_read_u8(rec, &b->index) || !av_read_u8(rec, &spec) ||
	    !av_read_u16le(rec, &msize))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: truncated measurement block");
	if (b->index == 0 || b->index == 0xFF)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: reserved measurement block index");
	if (spec != 0x01)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: measurement block is not a DMTF measurement");
	if (!av_read_sub(rec, msize, &m))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: measurement block runs past the record");
	if (!av_read_u8(&m, &b->dmtf_type) || !av_read_u16le(&m, &vsize))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: truncated DMTF measurement");
	if (vsize > NV_MAX_VALUE)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: measurement value larger than 64 bytes");
	if (!av_read_bytes(&m, vsize, &b->value) || m.left != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: measurement size disagrees with its value size");
	b->len = vsize;
	return 0;
}

/* Printable identifier characters for opaque strings. */
static bool
id_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z') || c == '.' || c == '-' || c == '_' ||
	    c == ' ';
}

/*
 * A NUL-padded ASCII string TLV: characters up to the first NUL, then
 * only NULs.  Fits in len - 1 bytes.
 */
static int
opaque_string(struct av_reader *v, char *out, size_t len, struct av_err *e)
{
	size_t		 n = 0;
	const uint8_t	*p = v->p;

	while (n < v->left && p[n] != 0)
		n++;
	if (n >= len)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: opaque data string too long");
	for (size_t i = 0; i < n; i++)
		if (!id_char(p[i]))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: opaque data string has odd characters");
	for (size_t i = n; i < v->left; i++)
		if (p[i] != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: opaque data string has bytes after NUL");
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/*
 * VBIOS_VERSION: 8 bytes, shown as the hex of bytes 3, 2, 1, 0 and 4
 * ("96.00.9F.00.01"), the form of RIM colloquialVersion.
 */
static void
vbios_format(const uint8_t *b, char *out, size_t len)
{
	snprintf(out, len, "%02X.%02X.%02X.%02X.%02X", b[3], b[2], b[1], b[0],
	    b[4]);
}

#define NV_MAX_TLVS	256

/*
 * NVIDIA opaque data (the MEASUREMENTS OpaqueData field, DSP0274 Table
 * 43): type (u16) | length (u16) | value, each known type at most once
 * and of its size.  op is filled (zeroed first; nvdec0/ppcie -1 when
 * absent).  Returns 0, or -1 with e (AV_E_MALFORMED).
 */
int
nv_opaque_parse(const uint8_t *p, size_t n, struct nv_opaque *op,
    struct av_err *e)
{
	struct av_reader	 r, v;
	uint64_t		 seen = 0;
	uint16_t		 type, len;
	const uint8_t		*b;

	memset(op, 0, sizeof(*op));
	op->nvdec0 = op->ppcie = -1;
	av_reader_init(&r, p, n);
	while (r.left > 0) {
		if (!av_read_u16le(&r, &type) || !av_read_u16le(&r, &len))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: truncated opaque data field header");
		if (!av_read_sub(&r, len, &v))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: opaque data field runs past the end");
		if (++op->ntlv > NV_MAX_TLVS)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: too many opaque data fields");
		if (type < 64) {
			if (seen & (1ULL << type))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: duplicate opaque data field");
			seen |= 1ULL << type;
		}
		switch (type) {
		case NV_TLV_DRIVER_VERSION:
			if (opaque_string(&v, op->driver, sizeof(op->driver),
			    e) != 0)
				return -1;
			op->has_driver = op->driver[0] != '\0';
			break;
		case NV_TLV_VBIOS_VERSION:
			if (len != 8 || !av_read_bytes(&v, 8, &b))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: VBIOS version is not 8 bytes");
			vbios_format(b, op->vbios, sizeof(op->vbios));
			op->has_vbios = true;
			break;
		case NV_TLV_CHIP_SKU:
			if (opaque_string(&v, op->chip_sku,
			    sizeof(op->chip_sku), e) != 0)
				return -1;
			break;
		case NV_TLV_CHIP_SKU_MOD:
			if (opaque_string(&v, op->chip_sku_mod,
			    sizeof(op->chip_sku_mod), e) != 0)
				return -1;
			break;
		case NV_TLV_PROJECT:
			if (opaque_string(&v, op->project, sizeof(op->project),
			    e) != 0)
				return -1;
			break;
		case NV_TLV_PROJECT_SKU:
			if (opaque_string(&v, op->project_sku,
			    sizeof(op->project_sku), e) != 0)
				return -1;
			break;
		case NV_TLV_PROJECT_SKU_MOD:
			if (opaque_string(&v, op->project_sku_mod,
			    sizeof(op->project_sku_mod), e) != 0)
				return -1;
			break;
		case NV_TLV_BOARD_ID:
			if (len != 4 || !av_read_u32le(&v, &op->board_id))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: board id is not 4 bytes");
			op->has_board_id = true;
			break;
		case NV_TLV_GPU_INFO:
			if (len != 8 || !av_read_u64le(&v, &op->gpu_info))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: GPU info is not 8 bytes");
			op->has_gpu_info = true;
			break;
		case NV_TLV_FWID:
			if (len != NV_FWID_LEN ||
			    !av_read_copy(&v, op->fwid, NV_FWID_LEN))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: FWID is not 48 bytes");
			op->has_fwid = true;
			break;
		case NV_TLV_NVDEC0_STATUS:
		case NV_TLV_PROTECTED_PCIE_STATUS: {
			uint8_t s;

			if (len != 1 || !av_read_u8(&v, &s))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: status field is not 1 byte");
			if (type == NV_TLV_NVDEC0_STATUS)
				op->nvdec0 = s;
			else
				op->ppcie = s;
			break;
		}
		case NV_TLV_SWITCH_PDI:
			if (len % 8 != 0 || len / 8 > NV_MAX_SWITCH_PDIS)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: switch PDI list malformed");
			for (op->nswitch_pdis = 0; v.left > 0;
			    op->nswitch_pdis++)
				if (!av_read_copy(&v,
				    op->switch_pdis[op->nswitch_pdis], 8))
					return AV_FAIL(e, AV_E_INTERNAL,
					    "internal error");
			break;
		case NV_TLV_FEATURE_FLAG:
			if (len != 2 || !av_read_u16le(&v, &op->feature_flag))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: feature flag is not 2 bytes");
			op->has_feature_flag = true;
			break;
		case NV_TLV_OPAQUE_DATA_VERSION:
			if (len != 2 ||
			    !av_read_u16le(&v, &op->opaque_version))
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: opaque data version is not 2 "
				    "bytes");
			op->has_opaque_version = true;
			break;
		case NV_TLV_MSRSCNT:
			if (len % 4 != 0)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "nvidia-gpu: MSRSCNT is not a list of u32");
			op->nmsrscnt = len / 4;
			break;
		default:	/* kept opaque: signed, not interpreted */
			break;
		}
	}
	return 0;
}

/*
 * GET_MEASUREMENTS request (DSP0274 Table 40) || MEASUREMENTS response
 * (Table 43), fields in order; the signature is found from the length
 * fields.  On success out owns a copy of p (nv_report_cleanup()); on
 * failure out is zeroed.  Returns 0, or -1 with e (AV_E_MALFORMED,
 * AV_E_NOMEM).
 */
int
nv_report_parse(const uint8_t *p, size_t n, struct nv_report *out,
    struct av_err *e)
{
	struct av_reader	 r, rec, opq;
	uint8_t			 ver, code, seen[32];
	const uint8_t		*tail;

	memset(out, 0, sizeof(*out));
	if (p == NULL || n < NV_REQUEST_LEN)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: report shorter than the SPDM request");
	if (n > NV_MAX_REPORT)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: report larger than 64 KiB");
	if ((out->raw = malloc(n)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	memcpy(out->raw, p, n);
	out->len = n;
	av_reader_init(&r, out->raw, n);

	/* GET_MEASUREMENTS request (Table 40) */
	if (!av_read_u8(&r, &ver) || !av_read_u8(&r, &code) ||
	    !av_read_u8(&r, &out->req_param1) ||
	    !av_read_u8(&r, &out->req_param2) ||
	    !av_read_bytes(&r, NV_NONCE_LEN, &out->nonce) ||
	    !av_read_u8(&r, &out->slot))
		goto trunc;
	if (ver != NV_SPDM_VERSION_11) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: request is not SPDM 1.1");
		goto bad;
	}
	if (code != NV_SPDM_GET_MEASUREMENTS) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: request is not GET_MEASUREMENTS");
		goto bad;
	}
	if ((out->req_param1 & 0x01) == 0) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: request did not ask for a signature");
		goto bad;
	}
	if (out->req_param2 != 0xFF) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: request did not ask for all measurements");
		goto bad;
	}

	/* MEASUREMENTS response (Table 43) */
	if (!av_read_u8(&r, &ver) || !av_read_u8(&r, &code) ||
	    !av_read_u8(&r, &out->rsp_param1) ||
	    !av_read_u8(&r, &out->rsp_param2) ||
	    !av_read_u8(&r, &out->nblocks) ||
	    !read_u24le(&r, &out->record_len))
		goto trunc;
	if (ver != NV_SPDM_VERSION_11) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: response is not SPDM 1.1");
		goto bad;
	}
	if (code != NV_SPDM_MEASUREMENTS) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: response is not MEASUREMENTS");
		goto bad;
	}
	if (!av_read_sub(&r, out->record_len, &rec)) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: measurement record runs past the end");
		goto bad;
	}
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < out->nblocks; i++) {
		struct nv_block *b = &out->blocks[i];

		if (parse_block(&rec, b, e) != 0)
			goto bad;
		if (seen[b->index / 8] & (1u << (b->index % 8))) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: duplicate measurement block index");
			goto bad;
		}
		seen[b->index / 8] |= 1u << (b->index % 8);
	}
	if (rec.left != 0) {
		AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: measurement record "
		    "longer than its blocks");
		goto bad;
	}
	if (!av_read_bytes(&r, NV_NONCE_LEN, &out->resp_nonce) ||
	    !av_read_u16le(&r, &out->opaque_len))
		goto trunc;
	if (!av_read_sub(&r, out->opaque_len, &opq)) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: opaque data runs past the end");
		goto bad;
	}
	out->opaque = opq.p;
	out->signed_len = n - r.left;
	if (!av_read_bytes(&r, NV_SIG_LEN, &out->sig)) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: signature runs past the end");
		goto bad;
	}
	/* One real report carries a zero byte after the signature. */
	out->trailing = r.left;
	if (out->trailing > NV_MAX_TRAILING ||
	    !av_read_bytes(&r, out->trailing, &tail)) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "nvidia-gpu: trailing bytes after the signature");
		goto bad;
	}
	for (size_t i = 0; i < out->trailing; i++)
		if (tail[i] != 0) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "nvidia-gpu: trailing bytes after the signature");
			goto bad;
		}
	if (nv_opaque_parse(out->opaque, out->opaque_len, &out->op, e) != 0)
		goto bad;
	return 0;
 trunc:
	AV_FAIL(e, AV_E_MALFORMED, "nvidia-gpu: truncated report");
 bad:
	nv_report_cleanup(out);
	return -1;
}

/* ---- the device leaf's FWID (TCG DICE) -------------------------------- */

/* One DER TLV with a definite length of at most 4 bytes. */
static bool
der_read(struct av_reader *r, uint8_t *tag, struct av_reader *val)
{
	struct av_reader	 s = *r;
	uint8_t			 b, nb;
	size_t			 len = 0;

	if (!av_read_u8(&s, tag) || !av_read_u8(&s, &b))
		return false;
	if (b < 0x80)
		len = b;
	else {
		nb = b & 0x7F;
		if (nb == 0 || nb > 4)
			return false;
		for (uint8_t i = 0; i < nb; i++) {
			if (!av_read_u8(&s, &b))
				return false;
			len = len << 8 | b;
		}
	}
	if (!av_read_sub(&s, len, val))
		return false;
	*r = s;
	return true;
}

/*
 * The FWID in the device leaf's TCG DICE extension 2.23.133.5.4.1.
 * Returns 1 (fwid filled), 0 (no extension), or -1 with e (AV_E_FWID:
 * malformed).
 */
int
nv_leaf_fwid(X509 *leaf, uint8_t fwid[NV_FWID_LEN], struct av_err *e)
{
	ASN1_OBJECT		*oid;
	X509_EXTENSION		*ext;
	const ASN1_OCTET_STRING	*os;
	struct av_reader	 r, seq, item, inner;
	uint8_t			 tag;
	const uint8_t		*v;
	int			 pos;

	if ((oid = OBJ_txt2obj("2.23.133.5.4.1", 1)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	pos = X509_get_ext_by_OBJ(leaf, oid, -1);
	ASN1_OBJECT_free(oid);
	if (pos < 0)
		return 0;
	if ((ext = X509_get_ext(leaf, pos)) == NULL ||
	    (os = X509_EXTENSION_get_data(ext)) == NULL)
		return AV_FAIL(e, AV_E_FWID, "nvidia-gpu: device certificate "
		    "FWID extension malformed");
	av_reader_init(&r, ASN1_STRING_get0_data(os),
	    (size_t)ASN1_STRING_length(os));
	/* SEQUENCE { INTEGER, SubjectPublicKeyInfo, SEQUENCE { OID, OCTET } } */
	if (!der_read(&r, &tag, &seq) || tag != 0x30 || r.left != 0 ||
	    !der_read(&seq, &tag, &item) || tag != 0x02 ||
	    !der_read(&seq, &tag, &item) || tag != 0x30 ||
	    !der_read(&seq, &tag, &inner) || tag != 0x30 || seq.left != 0 ||
	    !der_read(&inner, &tag, &item) || tag != 0x06 ||
	    !der_read(&inner, &tag, &item) || tag != 0x04 || inner.left != 0 ||
	    item.left != NV_FWID_LEN ||
	    !av_read_bytes(&item, NV_FWID_LEN, &v))
		return AV_FAIL(e, AV_E_FWID, "nvidia-gpu: device certificate "
		    "FWID extension malformed");
	memcpy(fwid, v, NV_FWID_LEN);
	return 1;
}
