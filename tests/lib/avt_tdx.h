/*
 * Test-only signer for Intel TDX: a test "Intel SGX Root CA" -> PCK
 * Platform CA -> PCK leaf carrying the SGX extensions; a QE report signed
 * by the PCK key; an attestation key that signs quotes v4/v5; a TCB
 * signing certificate that signs TCB info v3 and QE identity JSON; CRLs.
 * Built on avt_pki.  Never linked into the verifier.
 */
#ifndef AVT_TDX_H
#define AVT_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct av_trust;

/* What the PCK certificate's SGX extension says. */
struct avt_tdx_pck_spec {
	uint8_t		fmspc[6];
	uint8_t		pceid[2];
	uint8_t		comp_svn[16];
	uint16_t	pcesvn;
	uint8_t		cpusvn[16];
	int		sgx_type;
	long		serial;		/* PCK certificate serial */
	int64_t		not_before, not_after;
	const char	*issuer_cn;	/* "... PCK Platform CA" (default) or
					   "... PCK Processor CA" */
};

/* A test PKI for TDX.  Every member is owned. */
struct avt_tdx {
	EVP_PKEY		*root_key, *pca_key, *pck_key, *tcb_key, *att_key;
	X509			*root, *pca, *pck, *tcb;
	struct avt_tdx_pck_spec	 pck_spec;
	int64_t			 now;
};

/*
 * New PKI around time now: root, platform CA and TCB signer valid from
 * now - 2 years to now + 10 years, the PCK per the default spec
 * (FMSPC 20a06f000000, comp SVNs 3,3,2,2,4,1,0,5,0..., PCESVN 13,
 * serial 0x7d01).  NULL on failure.
 */
struct avt_tdx	*avt_tdx_new(int64_t now);
void		 avt_tdx_free(struct avt_tdx *);
/* Re-issue the PCK certificate from spec.  Returns 0/-1. */
int		 avt_tdx_set_pck(struct avt_tdx *, const struct avt_tdx_pck_spec *);
/* Pin the test root for "tdx" in trust.  Returns 0/-1. */
int		 avt_tdx_pin(const struct avt_tdx *, struct av_trust *);

/* How to build a quote. */
struct avt_tdx_quote_spec {
	int		version;	/* 4 or 5 */
	int		body_type;	/* v5: 2 or 3 */
	uint8_t		tee_tcb_svn[16];
	uint8_t		mrseam[48], mrsignerseam[48], seam_attributes[8];
	uint64_t	td_attributes;
	uint64_t	xfam;
	uint8_t		mrtd[48], mrconfigid[48], mrowner[48];
	uint8_t		mrownerconfig[48], rtmr[4][48];
	uint8_t		report_data[64];
	uint8_t		tee_tcb_svn2[16], mrservicetd[48];
	/* QE report */
	uint16_t	qe_isvsvn, qe_isvprodid;
	uint8_t		qe_mrsigner[32], qe_attributes[16];
	uint32_t	qe_miscselect;
	size_t		qe_auth_len;	/* 32 */
	/* shape */
	int		cert_type;	/* 6 (default) or 5 */
	int		inner_type;	/* 5 */
	bool		pem_nul;	/* NUL after the PEM chain (default) */
	bool		chain_leaf_only; /* chain = PCK only */
	size_t		trailing;	/* zero bytes after the quote */
	/* breakage */
	bool		corrupt_quote_sig;
	bool		corrupt_qe_sig;
	bool		corrupt_qe_binding; /* report_data of QE report wrong */
	bool		sign_with_wrong_key; /* att key in quote != signer */
	EVP_PKEY	*pck_signer;	/* sign the QE report with this (NULL:
					   the PCK key) */
	uint16_t	att_key_type;	/* 2 */
	uint32_t	tee_type;	/* 0x81 */
	bool		bad_vendor;	/* QE vendor id not Intel */
};

/*
 * Defaults: v4, TD 1.0; tee_tcb_svn 05 01 03 00..; MRSIGNERSEAM and
 * SEAM attributes zero; td_attributes = SEPT_VE_DISABLE; xfam 0x61ae7;
 * MRTD/RTMRs/... distinct patterns; report_data 0x5a..; QE isvsvn 8,
 * isvprodid 2, mrsigner dc9e2a7c..., attributes 1500.., miscselect 0;
 * certification data 6 with 5 inside, NUL-terminated PEM.
 */
void	avt_tdx_quote_spec_init(struct avt_tdx_quote_spec *);
/* Build and sign a quote.  malloc'd, *len set; NULL on failure. */
uint8_t	*avt_tdx_quote(const struct avt_tdx *, const struct avt_tdx_quote_spec *,
	    size_t *len);

/* One TCB level of a TCB info. */
struct avt_tdx_level {
	uint8_t		sgx[16];
	uint16_t	pcesvn;
	uint8_t		tdx[16];
	const char	*date;		/* "2024-11-13T00:00:00Z" */
	const char	*status;	/* "UpToDate", ... */
	const char	*advisories;	/* JSON array text or NULL */
};

/* One level of a TDX module identity or the QE identity. */
struct avt_tdx_isv_level {
	uint16_t	isvsvn;
	const char	*date;
	const char	*status;
	const char	*advisories;	/* JSON array text or NULL */
};

struct avt_tdx_module {
	const char		*id;		/* "TDX_01" */
	uint8_t			 mrsigner[48];
	size_t			 nlevels;
	struct avt_tdx_isv_level levels[4];
};

struct avt_tdx_tcb_spec {
	const char		*id;		/* "TDX" */
	int			 version;	/* 3 */
	const char		*issue_date, *next_update;
	uint8_t			 fmspc[6];
	uint8_t			 pceid[2];
	int			 eval_num;
	uint8_t			 tdx_module_mrsigner[48];
	size_t			 nmodules;
	struct avt_tdx_module	 modules[4];
	size_t			 nlevels;
	struct avt_tdx_level	 levels[8];
	bool			 corrupt_sig;	/* sign, then edit the text */
	EVP_PKEY		*signer;	/* NULL: the TCB signing key */
};

/*
 * Defaults (for avt_tdx_new's PCK and avt_tdx_quote_spec_init's quote,
 * which they make UpToDate): issued now - 1 day, next update now + 29
 * days; FMSPC of the PKI's PCK; levels
 *   0 UpToDate   sgx 3,3,2,2,4,1,0,5 pcesvn 13 tdx 5,0,3 2024-11-13
 *   1 OutOfDate  sgx 2,2,2,2,3,1,0,5 pcesvn 13 tdx 5,0,2 2024-03-13
 *                [INTEL-SA-01036, INTEL-SA-01099]
 *   2 OutOfDate  sgx 2,2,2,2,3,1,0,5 pcesvn 5  tdx 5,0,2 2018-01-04
 *                [INTEL-SA-00106]
 * and module identity TDX_01 (isvsvn 5 UpToDate 2024-11-13, isvsvn 2
 * OutOfDate 2023-08-09 [INTEL-SA-01036]).
 */
void	avt_tdx_tcb_spec_init(struct avt_tdx_tcb_spec *, const struct avt_tdx *);
/* The TCB info as PCS serves it ({"tcbInfo":..,"signature":..}). */
char	*avt_tdx_tcb_info(const struct avt_tdx *, const struct avt_tdx_tcb_spec *);

struct avt_tdx_qe_spec {
	const char		*id;		/* "TD_QE" */
	int			 version;	/* 2 */
	const char		*issue_date, *next_update;
	uint8_t			 mrsigner[32];
	uint16_t		 isvprodid;
	uint32_t		 miscselect, miscselect_mask;
	uint8_t			 attributes[16], attributes_mask[16];
	size_t			 nlevels;
	struct avt_tdx_isv_level levels[4];
	bool			 corrupt_sig;
};

/*
 * Defaults: as Intel's TD_QE (mrsigner dc9e2a7c..., isvprodid 2,
 * attributes 11.. mask fbff..), levels isvsvn 8 UpToDate, isvsvn 4
 * OutOfDate [INTEL-SA-00837].
 */
void	avt_tdx_qe_spec_init(struct avt_tdx_qe_spec *, const struct avt_tdx *);
char	*avt_tdx_qe_identity(const struct avt_tdx *, const struct avt_tdx_qe_spec *);

/* PEM of the TCB signer and root (the issuer-chain header value). */
char	*avt_tdx_tcb_chain_pem(const struct avt_tdx *);
/* PEM of PCK Platform CA and root (the PCK CRL issuer chain). */
char	*avt_tdx_pca_chain_pem(const struct avt_tdx *);
/* CRLs by the platform CA / the root; PEM text (malloc'd). */
char	*avt_tdx_pck_crl_pem(const struct avt_tdx *, int64_t this_update,
	    int64_t next_update, const long *revoked, size_t n);
char	*avt_tdx_root_crl_pem(const struct avt_tdx *, int64_t this_update,
	    int64_t next_update, const long *revoked, size_t n);

/*
 * A request item {"type": "tdx", "data": b64(quote), "collateral": {...}}
 * with whichever collateral strings are non-NULL, plus the TCB signing
 * chain of t (when t is not NULL) for the documents given.  New
 * reference.
 */
json_t	*avt_tdx_item(const struct avt_tdx *t, const uint8_t *quote,
	    size_t len, const char *tcb_info, const char *qe_identity,
	    const char *pck_crl, const char *root_crl);

/* "YYYY-MM-DDTHH:MM:SSZ" for t, in a static buffer ring (4 slots). */
const char *avt_tdx_time(int64_t t);

#endif
