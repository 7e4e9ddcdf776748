/*
 * attestd - Intel DCAP appraisal pieces shared by TDX (and, later, SGX):
 * the PCK certificate SGX extensions (ASN.1), the SGX enclave report
 * (QE report), TCB info v3 and enclave identity v2 documents signed as
 * served, TCB level selection and Intel's combined TCB status.
 *
 * References: Intel SGX PCK Certificate and CRL Profile (SGX extensions
 * under OID 1.2.840.113741.1.13.1); Intel PCS API v4 (TCB info v3, QE
 * identity v2); Intel DCAP Quote Verification Library, section 4.1.2.4
 * (TCB level selection and status convergence).
 */
#ifndef AV_DCAP_H
#define AV_DCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "av/err.h"
#include "av/reader.h"

#define DCAP_SVN_COUNT		16	/* SGX / TDX TCB components */
#define DCAP_FMSPC_LEN		6
#define DCAP_PCEID_LEN		2
#define DCAP_MAX_LEVELS		64	/* tcbLevels per document */
#define DCAP_MAX_MODULES	16	/* tdxModuleIdentities */
#define DCAP_MAX_ADVISORIES	128	/* advisoryIDs per level */
#define DCAP_MAX_DOC		(256u * 1024)	/* bytes of a collateral doc */

/* ---- PCK certificate SGX extensions ----------------------------------- */

/* SGX Type (OID .1.13.1.5). */
enum dcap_sgx_type {
	DCAP_SGX_STANDARD = 0,
	DCAP_SGX_SCALABLE = 1,
	DCAP_SGX_SCALABLE_INTEGRITY = 2,
};

/* Tri-state for the optional platform configuration booleans. */
enum dcap_tri { DCAP_ABSENT = 0, DCAP_FALSE, DCAP_TRUE };

struct dcap_pck_ext {
	uint8_t		ppid[16];
	uint8_t		comp_svn[DCAP_SVN_COUNT];	/* .2.1 .. .2.16 */
	uint16_t	pcesvn;				/* .2.17 */
	uint8_t		cpusvn[16];			/* .2.18 */
	uint8_t		pceid[DCAP_PCEID_LEN];		/* .3 */
	uint8_t		fmspc[DCAP_FMSPC_LEN];		/* .4 */
	int		sgx_type;			/* .5 */
	bool		has_platform_instance_id;	/* .6 (platform CA) */
	uint8_t		platform_instance_id[16];
	enum dcap_tri	dynamic_platform;		/* .7.1 */
	enum dcap_tri	cached_keys;			/* .7.2 */
	enum dcap_tri	smt_enabled;			/* .7.3 */
};

/*
 * Parse the DER value of the SGX Extensions extension (the contents of
 * its OCTET STRING: SEQUENCE OF SEQUENCE { OID, value }).  Every
 * mandatory member must appear exactly once; unknown members are
 * skipped.  Returns 0, or -1 with e (AV_E_MALFORMED).
 */
AV_MUST_USE int dcap_pck_ext_parse(const uint8_t *p, size_t n,
    struct dcap_pck_ext *out, struct av_err *e);
/* Find the SGX extension in a certificate and parse it. Returns 0/-1. */
AV_MUST_USE int dcap_pck_ext_from_cert(X509 *x, struct dcap_pck_ext *out,
    struct av_err *e);

/* ---- SGX enclave report (QE report) ----------------------------------- */

#define DCAP_ENCLAVE_REPORT_LEN	384

/* SGX REPORT_BODY (Intel SDM Vol. 3D 38.15; DCAP quote v4 A.4). */
struct dcap_enclave_report {
	uint8_t		cpusvn[16];
	uint32_t	miscselect;
	uint8_t		attributes[16];
	uint8_t		mrenclave[32];
	uint8_t		mrsigner[32];
	uint16_t	isvprodid;
	uint16_t	isvsvn;
	uint8_t		report_data[64];
};

/* Read a 384-byte report body from r. Returns 0, or -1 (r untouched). */
AV_MUST_USE int dcap_enclave_report_read(struct av_reader *r,
    struct dcap_enclave_report *out, struct av_err *e);

/* ---- TCB status -------------------------------------------------------- */

enum dcap_tcb_status {
	DCAP_TCB_NONE = 0,		/* not evaluated */
	DCAP_TCB_UP_TO_DATE,
	DCAP_TCB_SW_HARDENING_NEEDED,
	DCAP_TCB_CONFIGURATION_NEEDED,
	DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	DCAP_TCB_OUT_OF_DATE,
	DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	DCAP_TCB_REVOKED,
	DCAP_TCB_NOT_SUPPORTED,		/* no matching TCB level */
	DCAP_TCB__COUNT
};
/* Intel's spelling ("UpToDate", ..., "TcbLevelNotSupported"). */
const char	*dcap_tcb_status_str(enum dcap_tcb_status);
/* Parse Intel's spelling; DCAP_TCB_NONE when unknown. */
enum dcap_tcb_status dcap_tcb_status_parse(const char *);

/* ---- signed collateral documents -------------------------------------- */

struct dcap_advisories {
	size_t		  n;
	char		**id;		/* owned strings */
};

struct dcap_tcb_level {
	uint8_t			sgx_svn[DCAP_SVN_COUNT];
	uint16_t		pcesvn;
	bool			has_tdx;
	uint8_t			tdx_svn[DCAP_SVN_COUNT];
	int64_t			tcb_date;
	enum dcap_tcb_status	status;
	struct dcap_advisories	adv;
};

/* An enclave-identity style level: isvsvn -> status. */
struct dcap_isv_level {
	uint16_t		isvsvn;
	int64_t			tcb_date;
	enum dcap_tcb_status	status;
	struct dcap_advisories	adv;
};

struct dcap_tdx_module {
	char			id[16];		/* "TDX_03"; "" for tdxModule */
	uint8_t			mrsigner[48];
	uint8_t			attributes[8];
	uint8_t			attributes_mask[8];
	size_t			nlevels;
	struct dcap_isv_level	*levels;	/* owned */
};

/* A signed document as served: the raw text and the signed span. */
struct dcap_signed {
	uint8_t		*text;		/* owned copy of the served bytes */
	size_t		 len;
	size_t		 body_off;	/* the signed JSON value */
	size_t		 body_len;
	uint8_t		 sig[64];	/* r || s */
	/*
	 * A key the signature verified with (owned reference, set once,
	 * atomically): the documents are shared (refcounted) and so are the
	 * signers' X509 objects, so a repeat check is a pointer compare.
	 */
	EVP_PKEY	*ok_key;
};

/* TCB info v2/v3 ("SGX" or "TDX"). */
struct dcap_tcb_info {
	int			 refs;		/* atomic; see _ref() / _free() */
	struct dcap_signed	 doc;
	char			 id[8];		/* "SGX", "TDX" */
	int			 version;
	int64_t			 issue_date;
	int64_t			 next_update;
	uint8_t			 fmspc[DCAP_FMSPC_LEN];
	uint8_t			 pceid[DCAP_PCEID_LEN];
	int			 tcb_type;
	int64_t			 eval_num;	/* tcbEvaluationDataNumber */
	bool			 has_tdx_module;
	struct dcap_tdx_module	 tdx_module;	/* levels unused */
	size_t			 nmodules;
	struct dcap_tdx_module	*modules;	/* owned */
	size_t			 nlevels;
	struct dcap_tcb_level	*levels;	/* owned, as served (descending) */
};

/* Enclave identity v2 ("QE", "QVE", "TD_QE"). */
struct dcap_qe_identity {
	int			 refs;		/* atomic; see _ref() / _free() */
	struct dcap_signed	 doc;
	char			 id[8];
	int			 version;
	int64_t			 issue_date;
	int64_t			 next_update;
	int64_t			 eval_num;
	uint32_t		 miscselect;
	uint32_t		 miscselect_mask;
	uint8_t			 attributes[16];
	uint8_t			 attributes_mask[16];
	uint8_t			 mrsigner[32];
	uint16_t		 isvprodid;
	size_t			 nlevels;
	struct dcap_isv_level	*levels;	/* owned */
};

/*
 * Find the byte span of the value of member `key` of the top-level JSON
 * object in text (exactly as written, for signature checks).  Returns 0
 * and sets *off and *len, or -1 when text is not an object or key is absent
 * or appears twice.
 */
AV_MUST_USE int dcap_json_member_span(const uint8_t *text, size_t n,
    const char *key, size_t *off, size_t *len);

/*
 * Parse a TCB info document as served by PCS ({"tcbInfo": {...},
 * "signature": "<hex>"}).  When sig_hex is not NULL, text is the bare
 * tcbInfo value and sig_hex its signature (PCCS/dcap-qvl collateral
 * form).  Returns 0 and *out (dcap_tcb_info_free), or -1 with e
 * (AV_E_COLLATERAL_INVALID).
 */
AV_MUST_USE int dcap_tcb_info_parse(const uint8_t *text, size_t n,
    const char *sig_hex, struct dcap_tcb_info **out, struct av_err *e);
/* Parsed documents are immutable and refcounted: _ref adds one. */
struct dcap_tcb_info *dcap_tcb_info_ref(struct dcap_tcb_info *);
/* Drop a reference; the last one frees.  NULL-safe. */
void	dcap_tcb_info_free(struct dcap_tcb_info *);
/* Same for an enclave identity ({"enclaveIdentity": ..., "signature"}). */
AV_MUST_USE int dcap_qe_identity_parse(const uint8_t *text, size_t n,
    const char *sig_hex, struct dcap_qe_identity **out, struct av_err *e);
struct dcap_qe_identity *dcap_qe_identity_ref(struct dcap_qe_identity *);
void	dcap_qe_identity_free(struct dcap_qe_identity *);

/*
 * Verify the signature of a document (ECDSA P-256 / SHA-256 over the
 * signed span) with the signer's key.  Returns 0, or -1 with e
 * (AV_E_SIGNATURE).
 */
AV_MUST_USE int dcap_signed_verify(const struct dcap_signed *, EVP_PKEY *pk,
    struct av_err *e);

/* ---- appraisal --------------------------------------------------------- */

/* QE identity check (QVL 4.1.2.4.15). */
enum dcap_qe_mismatch {
	DCAP_QE_OK = 0,
	DCAP_QE_MISCSELECT,
	DCAP_QE_ATTRIBUTES,
	DCAP_QE_MRSIGNER,
	DCAP_QE_ISVPRODID,
};

struct dcap_qe_result {
	enum dcap_qe_mismatch	 mismatch;	/* first mismatching field */
	enum dcap_tcb_status	 status;	/* ISVSVN -> TCB status */
	int			 level;		/* matched level or -1 */
	int64_t			 tcb_date;
	uint16_t		 have_isvsvn;	/* the QE report's */
	uint16_t		 need_isvsvn;	/* first UpToDate level's */
	const struct dcap_advisories *adv;	/* borrowed from the doc */
};

/*
 * Compare a QE report with a QE identity: MISCSELECT and ATTRIBUTES
 * under their masks, MRSIGNER, ISVPRODID, then ISVSVN against the
 * levels (first level with report isvsvn >= level isvsvn).
 */
void	dcap_qe_identity_check(const struct dcap_qe_identity *,
	    const struct dcap_enclave_report *, struct dcap_qe_result *);

/* Why TDX module identity selection failed. */
enum dcap_module_err {
	DCAP_MODULE_OK = 0,
	DCAP_MODULE_NO_IDENTITY,	/* no TDX_<nn> in tdxModuleIdentities */
	DCAP_MODULE_MRSIGNER,		/* MRSIGNERSEAM differs */
	DCAP_MODULE_ATTRIBUTES,		/* SEAM_ATTRIBUTES differ / not zero */
};

/* The outcome of TCB level selection (QVL 4.1.2.4.17). */
struct dcap_tcb_result {
	enum dcap_tcb_status	 status;	/* combined */
	enum dcap_tcb_status	 sgx_status;	/* SGX level (PCK TCB) */
	enum dcap_tcb_status	 tdx_status;	/* TDX level */
	enum dcap_tcb_status	 module_status;	/* TDX module identity */
	enum dcap_tcb_status	 qe_status;	/* from dcap_qe_result */
	int			 sgx_level;	/* index or -1 */
	int			 tdx_level;	/* index or -1 */
	int			 module_level;	/* index or -1 */
	enum dcap_module_err	 module_err;
	char			 module_id[16];	/* "TDX_03" or "" */
	int64_t			 tcb_date;	/* of the deciding level */
	json_t			*advisories;	/* array of strings (owned) */
	json_t			*behind;	/* array of strings (owned):
						   "tdx component 2: have 3,
						   need 5" */
};

/* Inputs of TCB level selection.  Everything is borrowed. */
struct dcap_tcb_input {
	const struct dcap_pck_ext	*pck;
	const uint8_t			*tee_tcb_svn;	/* TDX: 16 bytes, else NULL */
	const uint8_t			*mrsignerseam;	/* TDX: 48 bytes */
	const uint8_t			*seam_attributes; /* TDX: 8 bytes */
	int				 quote_version;
	const struct dcap_qe_result	*qe;		/* may be NULL */
};

/*
 * Select the TCB level (SGX components + PCESVN, then the TDX
 * components, skipping indices 0 and 1 when tee_tcb_svn[1] > 0), check
 * the TDX module identity (TDX_%02X of tee_tcb_svn[1], ISVSVN
 * tee_tcb_svn[0]) and converge with the module and QE statuses per the
 * QVL.  Fills *out (dcap_tcb_result_cleanup).  Returns 0, or -1 with e
 * only on allocation failure.
 */
AV_MUST_USE int dcap_tcb_evaluate(const struct dcap_tcb_info *,
    const struct dcap_tcb_input *, struct dcap_tcb_result *out,
    struct av_err *e);
void	dcap_tcb_result_cleanup(struct dcap_tcb_result *);

#endif
