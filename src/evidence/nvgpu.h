/*
 * attestd - NVIDIA GPU attestation: private interface between the
 * backend (nvidia_gpu.c), the RIM reader (nvidia_rim.c), the RIM service
 * and OCSP client (src/collateral/nvidia.c) and the tests.
 *
 * References: DMTF DSP0274 SPDM 1.1 s.10.11 GET_MEASUREMENTS /
 * MEASUREMENTS, s.10.11.1 measurement block, DMTF measurement
 * specification; TCG DICE Attestation Architecture (2.23.133.5.4.1);
 * ISO/IEC 19770-2:2015 SWID tags with TCG RIM IM binding; W3C XML
 * Signature; RFC 6960 OCSP.  Layout notes: docs/platforms/nvidia-gpu.md.
 */
#ifndef AV_NVGPU_INT_H
#define AV_NVGPU_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "av/err.h"

struct av_collateral;
struct av_trust;

#define NV_PLATFORM		"nvidia-gpu"	/* device identity anchors */
#define NV_RIM_PLATFORM		"nvidia-rim"	/* RIM signing anchors */

#define NV_SPDM_VERSION_11	0x11
#define NV_SPDM_GET_MEASUREMENTS 0xE0
#define NV_SPDM_MEASUREMENTS	0x60
#define NV_NONCE_LEN		32
#define NV_REQUEST_LEN		37	/* header 4 + nonce 32 + slot 1 */
#define NV_SIG_LEN		96	/* ECDSA P-384 r || s */
#define NV_MAX_REPORT		(64u * 1024)
#define NV_MAX_TRAILING		16	/* zero bytes tolerated after the
					   signature (one real report has 1) */
#define NV_MAX_BLOCKS		255
#define NV_MAX_VALUE		64	/* bytes of one measurement value */
#define NV_MAX_SWITCH_PDIS	64
#define NV_FWID_LEN		48
#define NV_CHAIN_LEN		5	/* leaf .. Device Identity CA */

/* Opaque data TLV types (NVIDIA SPDM opaque data). */
enum nv_tlv {
	NV_TLV_CERT_ISSUER_NAME = 1,
	NV_TLV_CERT_AKI = 2,
	NV_TLV_DRIVER_VERSION = 3,
	NV_TLV_GPU_INFO = 4,
	NV_TLV_SKU = 5,
	NV_TLV_VBIOS_VERSION = 6,
	NV_TLV_MANUFACTURER_ID = 7,
	NV_TLV_TAMPER_DETECTION = 8,
	NV_TLV_SMC = 9,
	NV_TLV_VPR = 10,
	NV_TLV_NVDEC0_STATUS = 11,
	NV_TLV_MSRSCNT = 12,
	NV_TLV_CPRINFO = 13,
	NV_TLV_BOARD_ID = 14,
	NV_TLV_CHIP_SKU = 15,
	NV_TLV_CHIP_SKU_MOD = 16,
	NV_TLV_PROJECT = 17,
	NV_TLV_PROJECT_SKU = 18,
	NV_TLV_PROJECT_SKU_MOD = 19,
	NV_TLV_FWID = 20,
	NV_TLV_PROTECTED_PCIE_STATUS = 21,
	NV_TLV_SWITCH_PDI = 22,
	NV_TLV_FLOORSWEPT_PORTS = 23,
	NV_TLV_POSITION_ID = 24,
	NV_TLV_LOCK_SWITCH_STATUS = 25,
	NV_TLV_GPU_LINK_CONN = 32,
	NV_TLV_SYS_ENABLE_STATUS = 33,
	NV_TLV_OPAQUE_DATA_VERSION = 34,
	NV_TLV_CHIP_INFO = 35,
	NV_TLV_FEATURE_FLAG = 36,
};

#define NV_STATUS_ENABLED	0xAA	/* NVDEC0, protected PCIe */
#define NV_STATUS_DISABLED	0x55

/* One DMTF measurement block (values point into nv_report.raw). */
struct nv_block {
	uint8_t		 index;		/* SPDM index 1..254 */
	uint8_t		 dmtf_type;	/* DMTFSpecMeasurementValueType */
	uint16_t	 len;		/* value bytes */
	const uint8_t	*value;		/* borrowed from the report */
};

/* Decoded opaque data.  Strings are NUL-terminated, NULs stripped. */
struct nv_opaque {
	size_t		 ntlv;
	bool		 has_driver;
	char		 driver[64];		/* "550.90.07" */
	bool		 has_vbios;
	char		 vbios[24];		/* "96.00.9F.00.01" */
	char		 chip_sku[32];		/* "882" */
	char		 chip_sku_mod[32];
	char		 project[32];		/* "1010", "G520" */
	char		 project_sku[32];	/* "0200" */
	char		 project_sku_mod[32];
	bool		 has_board_id;
	uint32_t	 board_id;
	bool		 has_gpu_info;
	uint64_t	 gpu_info;
	bool		 has_fwid;
	uint8_t		 fwid[NV_FWID_LEN];
	int		 nvdec0;		/* -1 absent, else the byte */
	int		 ppcie;			/* -1 absent, else the byte */
	size_t		 nswitch_pdis;
	uint8_t		 switch_pdis[NV_MAX_SWITCH_PDIS][8];
	bool		 has_feature_flag;
	uint16_t	 feature_flag;		/* 0 SPT, 1 MPT, 2 PPCIE */
	bool		 has_opaque_version;
	uint16_t	 opaque_version;
	size_t		 nmsrscnt;		/* MSRSCNT entries (u32 each) */
};

/* A parsed SPDM GET_MEASUREMENTS request || MEASUREMENTS response. */
struct nv_report {
	uint8_t		*raw;		/* owned copy of the report */
	size_t		 len;
	/* request (DSP0274 s.10.11.1) */
	uint8_t		 req_param1, req_param2, slot;
	const uint8_t	*nonce;		/* NV_NONCE_LEN, into raw */
	/* response (DSP0274 s.10.11.2) */
	uint8_t		 rsp_param1, rsp_param2;
	uint8_t		 nblocks;
	uint32_t	 record_len;
	struct nv_block	 blocks[NV_MAX_BLOCKS];
	const uint8_t	*resp_nonce;	/* NV_NONCE_LEN, into raw */
	uint16_t	 opaque_len;
	const uint8_t	*opaque;	/* into raw */
	struct nv_opaque op;
	size_t		 signed_len;	/* bytes [0, signed_len) are signed */
	const uint8_t	*sig;		/* NV_SIG_LEN, into raw */
	size_t		 trailing;	/* zero bytes after the signature */
};

/*
 * Parse a report (DSP0274 s.10.11): fields in order, every length
 * checked against what remains, the signature located from the length
 * fields.  On success out owns a copy of p (nv_report_cleanup()).
 * Returns 0, or -1 with e (AV_E_MALFORMED, AV_E_NOMEM).
 */
AV_MUST_USE int nv_report_parse(const uint8_t *p, size_t n,
    struct nv_report *out, struct av_err *e);
/* Parse opaque data TLVs into op. Returns 0 or -1 with e (AV_E_MALFORMED). */
AV_MUST_USE int nv_opaque_parse(const uint8_t *p, size_t n,
    struct nv_opaque *op, struct av_err *e);
void	nv_report_cleanup(struct nv_report *);
/* The block with SPDM index idx, or NULL. */
const struct nv_block *nv_report_block(const struct nv_report *, unsigned idx);

/*
 * The TCG DICE FWID of a device leaf: the 48-byte digest in extension
 * 2.23.133.5.4.1 (SEQUENCE { INTEGER, SubjectPublicKeyInfo, SEQUENCE {
 * OID, OCTET STRING } }).  Returns 1 and fills fwid, 0 when the
 * certificate has no such extension, -1 with e when it is malformed.
 */
int	nv_leaf_fwid(X509 *leaf, uint8_t fwid[NV_FWID_LEN], struct av_err *e);

/* ---- RIMs (nvidia_rim.c) ---------------------------------------------- */

#define NV_RIM_MAX_BYTES	(2u * 1024 * 1024)
#define NV_RIM_MAX_RESOURCES	256
#define NV_RIM_MAX_ALT		16
#define NV_RIM_MAX_CERTS	8

enum nv_rim_kind { NV_RIM_DRIVER, NV_RIM_VBIOS };

struct nv_rim_meas {
	unsigned	 index;		/* 0-based; SPDM block index + 1 */
	bool		 active;
	size_t		 size;		/* bytes per value */
	size_t		 nalt;
	uint8_t		 alt[NV_RIM_MAX_ALT][NV_MAX_VALUE];
	char		 name[64];
};

/* A parsed (and possibly verified) RIM.  Immutable once cached. */
struct nv_rim {
	uint8_t			 sha256[32];	/* of the XML bytes */
	char			 version[64];	/* Meta/@colloquialVersion */
	char			 product[32];	/* Meta/@product ("GH100") */
	char			 tag_id[160];	/* SoftwareIdentity/@tagId */
	size_t			 nmeas;
	struct nv_rim_meas	*meas;		/* owned */
	STACK_OF(X509)		*certs;		/* owned: KeyInfo certificates */
	X509			*signer;	/* borrowed from certs */
	bool			 sig_ok;	/* XML signature verified with
						   signer's key */
	const char		*sig_err;	/* literal: why not, or NULL */
	int			 refs;		/* atomic */
};

/*
 * Parse a RIM: well-formed XML without a DTD, SoftwareIdentity with one
 * Meta and one Payload of Resources, one enveloped ds:Signature whose
 * KeyInfo carries the signer's chain.  No signature check.
 * Returns 0 and *out (nv_rim_free), or -1 with e (AV_E_RIM_INVALID;
 * AV_E_COLLATERAL_INVALID when the XML is not a SWID tag at all).
 */
AV_MUST_USE int nv_rim_parse(const uint8_t *p, size_t n, struct nv_rim **out,
    struct av_err *e);
/*
 * Parse, then verify the XML signature (xmlsec1: the one same-document
 * reference URI="", ECDSA with the KeyInfo leaf's key) and the signer's
 * chain to an "nvidia-rim" anchor at time `at`.  Results of the XML
 * signature check are cached by content; the chain is checked on every
 * call (av_chain_verify() caches it).  sha256 is that of p[0..n) when
 * the caller has it (a collateral blob's), else NULL.  Returns 0 and
 * *out (nv_rim_free),
 * or -1 with e (AV_E_RIM_INVALID, whose reason says which check failed;
 * AV_E_COLLATERAL_INVALID when the XML is not a SWID tag at all).
 */
AV_MUST_USE int nv_rim_load(const struct av_trust *, const uint8_t *p,
    size_t n, const uint8_t *sha256, int64_t at, struct nv_rim **out,
    struct av_err *e);
/*
 * libxml2 and xmlsec1 set up once per process (thread-safe); false when
 * that failed.  nv_rim_*() call it themselves; tests that sign RIMs with
 * xmlsec1 call it first.
 */
bool	nv_xml_ready(void);
/* Reference counted: nv_rim_free() drops one reference. */
struct nv_rim *nv_rim_ref(struct nv_rim *);
void	nv_rim_free(struct nv_rim *);
/* The resource with this index, or NULL. */
const struct nv_rim_meas *nv_rim_find(const struct nv_rim *, unsigned index);
/* Version strings compare numerically per dotted component (hex allowed
 * when hex is true). <0, 0, >0; -2 when either does not parse. */
int	nv_version_cmp(const char *a, const char *b, bool hex);
/*
 * RIM ids: "NV_GPU_DRIVER_GH100_<driver>" and
 * "NV_GPU_VBIOS_<project>_<project sku>_<chip sku>_<vbios, no dots>".
 * Returns 0, or -1 when it does not fit or a part has odd characters.
 */
int	nv_rim_id(char *buf, size_t len, enum nv_rim_kind k, const char *chip,
	    const struct nv_opaque *op);

/* ---- RIM service and OCSP (src/collateral/nvidia.c) ------------------- */

/*
 * GET {nvidia_rim_url}/v1/rim/{id} through the collateral cache.  The
 * service answers JSON {"id", "rim": <base64 XML>, ...}; a bare XML body
 * is taken as is.  On success *out is the XML (malloc'd).
 * Returns 0, or -1 with e (AV_E_RIM_MISSING).
 */
AV_MUST_USE int nv_rim_fetch(struct av_collateral *, const char *id,
    unsigned flags, uint8_t **out, size_t *outlen, struct av_err *e);

enum nv_ocsp_status {
	NV_OCSP_NOT_CHECKED = 0,
	NV_OCSP_GOOD,
	NV_OCSP_REVOKED,
	NV_OCSP_UNKNOWN,	/* the responder does not know the cert */
	NV_OCSP_UNAVAILABLE,	/* no usable response */
};
const char *nv_ocsp_status_str(enum nv_ocsp_status);

struct nv_ocsp_cert {
	enum nv_ocsp_status	 status;
	const char		*source;	/* "store", "responder", NULL */
	int64_t			 this_update, next_update;	/* 0: none */
	int64_t			 revoked_at;
	int			 reason;	/* CRL reason, -1 none */
	const char		*why;		/* literal: why unavailable */
};

/* A DER OCSP response that came with the request (borrowed). */
struct nv_blob {
	const uint8_t	*p;
	size_t		 len;
};

/*
 * OCSP status of chain[i] (issuer chain[i+1]) for every i < n-1, at time
 * `at`: responses stapled to the request (stapled[0..nstapled)), then
 * stored responses in the collateral store, then a POST to
 * {nvidia_ocsp_url} (no nonce, so answers are cached until nextUpdate).
 * A response counts when its signature verifies with the issuer, or with
 * a responder certificate (id-kp-OCSPSigning) that chains to a
 * platform anchor at `at`, and thisUpdate <= at <= nextUpdate (5 min
 * slack).  out[] has n-1 entries.  Never fails: problems are statuses.
 */
void	nv_ocsp_check(struct av_collateral *, const struct av_trust *,
	    const char *platform, STACK_OF(X509) *chain,
	    const struct nv_blob *stapled, size_t nstapled, int64_t at,
	    struct nv_ocsp_cert *out);

#endif
