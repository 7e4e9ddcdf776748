/*
 * attestd - Intel TDX quotes (DCAP quote v4 and v5): the parsed form,
 * shared by src/evidence/tdx.c and its tests.  Not a public interface.
 *
 * Reference: Intel TDX DCAP Quote Generation Library and Quote
 * Verification Library API, appendix A (quote format v4 / v5).
 */
#ifndef AV_TDX_H
#define AV_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "av/backend.h"
#include "av/err.h"
#include "evidence/dcap.h"

#define TDX_HEADER_LEN		48
#define TDX_TD10_BODY_LEN	584
#define TDX_TD15_BODY_LEN	648
#define TDX_ATT_KEY_ECDSA_P256	2
#define TDX_TEE_TYPE		0x81
#define TDX_BODY_TD10		2	/* v5 body types */
#define TDX_BODY_TD15		3
#define TDX_CERT_PCK_CHAIN	5	/* certification data types */
#define TDX_CERT_QE_REPORT	6
#define TDX_MAX_CERT_DATA	(64u * 1024)
#define TDX_MAX_QE_AUTH		4096
#define TDX_MAX_QUOTE_BYTES	(1u << 20)

/* TD_ATTRIBUTES bits (TDX module ABI, TDCS.ATTRIBUTES). */
#define TDX_ATTR_DEBUG		(1ull << 0)
#define TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define TDX_ATTR_PKS		(1ull << 30)
#define TDX_ATTR_KL		(1ull << 31)
#define TDX_ATTR_PERFMON	(1ull << 63)

extern const uint8_t tdx_intel_qe_vendor_id[16];

/* TDREPORT body as quoted (TD 1.0: 584 bytes; TD 1.5 adds 64). */
struct tdx_td_report {
	uint8_t		tee_tcb_svn[16];
	uint8_t		mrseam[48];
	uint8_t		mrsignerseam[48];
	uint8_t		seam_attributes[8];
	uint8_t		td_attributes[8];
	uint8_t		xfam[8];
	uint8_t		mrtd[48];
	uint8_t		mrconfigid[48];
	uint8_t		mrowner[48];
	uint8_t		mrownerconfig[48];
	uint8_t		rtmr[4][48];
	uint8_t		report_data[64];
	bool		td15;		/* the two fields below are present */
	uint8_t		tee_tcb_svn2[16];
	uint8_t		mrservicetd[48];
};

/* Collateral given with the request item ("collateral": {...}). */
struct tdx_companions {
	char		*tcb_info;		/* served text (owned) */
	char		*tcb_info_sig;		/* hex, when tcb_info is bare */
	char		*tcb_info_chain;	/* PEM */
	char		*qe_identity;
	char		*qe_identity_sig;
	char		*qe_identity_chain;
	char		*pck_crl;		/* PEM, hex or base64 DER */
	char		*pck_crl_chain;
	char		*root_ca_crl;
};

/* What verification established (read by claims and appraise). */
struct tdx_verified {
	bool			 done;		/* verify() succeeded */
	bool			 bound;		/* report_data binding checked */
	bool			 bound_sha512;	/* ... as SHA-512(nonce || rt) */
	enum dcap_tcb_status	 tcb_status;	/* NONE: no TCB info */
	struct dcap_tcb_result	 tcb;		/* valid when tcb_status set */
	struct dcap_qe_result	 qe;
	bool			 has_qe;
	json_t			*collateral;	/* object (owned): dates, sources */
	int64_t			 tcb_info_issue, tcb_info_next;
	int64_t			 tcb_level_date;
	int64_t			 tcb_eval_num;
	int64_t			 out_of_date_since; /* first missed recovery,
						   or 0 */
	bool			 collateral_expired; /* some item past nextUpdate */
};

struct tdx_quote {
	/* header */
	uint16_t		 version;
	uint16_t		 att_key_type;
	uint32_t		 tee_type;
	uint8_t			 qe_vendor_id[16];
	uint8_t			 user_data[20];
	uint16_t		 body_type;	/* v5; v4: TDX_BODY_TD10 */
	uint32_t		 body_size;
	struct tdx_td_report	 td;

	/* the quote bytes (owned copy) and what the signature covers */
	uint8_t			*buf;
	size_t			 len;
	size_t			 signed_len;
	uint32_t		 sig_data_len;
	size_t			 trailing;	/* bytes after the signature data */

	/* signature data */
	uint8_t			 sig[64];	/* r || s, big-endian */
	uint8_t			 att_key[64];	/* x || y */
	uint16_t		 cert_type;	/* outer: 6 (or 5) */
	bool			 has_qe_report;
	struct dcap_enclave_report qe_report;
	size_t			 qe_report_off;	/* in buf, 384 bytes */
	uint8_t			 qe_sig[64];
	size_t			 qe_auth_off;	/* in buf */
	uint16_t		 qe_auth_len;
	uint16_t		 inner_type;	/* 5, or 0 when outer is 5 */

	/* PCK chain from the certification data */
	STACK_OF(X509)		*pck_chain;	/* owned, as given (leaf first) */
	X509			*pck;		/* borrowed from pck_chain */
	struct dcap_pck_ext	 pck_ext;

	struct tdx_companions	 comp;
	struct tdx_verified	 v;
};

/*
 * Parse a quote (bytes only: no companions).  On success *out is owned by
 * the caller (tdx_quote_free).  Returns 0, or -1 with e
 * (AV_E_MALFORMED, AV_E_UNSUPPORTED_ALG).
 */
AV_MUST_USE int tdx_quote_parse(const uint8_t *p, size_t n,
    struct tdx_quote **out, struct av_err *e);
void	tdx_quote_free(struct tdx_quote *);

/* Decoded TD_ATTRIBUTES as a little-endian 64-bit value. */
uint64_t tdx_td_attributes(const struct tdx_quote *);

#endif
