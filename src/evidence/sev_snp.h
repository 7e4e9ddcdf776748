/*
 * attestd - AMD SEV-SNP: private interface between the backend
 * (sev_snp.c), the certificate helpers (sev_snp_certs.c), the KDS client
 * (src/collateral/amd_kds.c) and the tests.
 *
 * References: SEV Secure Nested Paging Firmware ABI Specification
 * (AMD 56860) s.7.3 ATTESTATION_REPORT, s.2.2 TCB_VERSION, s.4.3 guest
 * policy; VCEK Certificate and KDS Interface Specification (AMD 57230);
 * GHCB specification (AMD 56421) s.4.1.8.1 certificate table.
 */
#ifndef AV_SEV_SNP_H
#define AV_SEV_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "av/err.h"

struct av_collateral;

#define SNP_REPORT_LEN		0x4A0	/* ATTESTATION_REPORT */
#define SNP_SIGNED_LEN		0x2A0	/* signed bytes [0, 0x2A0) */
#define SNP_SIG_COMPONENT_LEN	72	/* R and S, little-endian */
#define SNP_P384_LEN		48	/* significant bytes of R and S */

/* Report versions we parse (2: ABI 1.51+, 3: CPUID, 5: mitigation vectors). */
#define SNP_VERSION_MIN		2
#define SNP_VERSION_MAX		5

/* SIGNATURE_ALGO: ECDSA P-384 with SHA-384 (ABI Table "Signature Algorithm"). */
#define SNP_SIG_ALGO_ECDSA_P384_SHA384	1

/* Guest POLICY bits (ABI s.4.3). */
#define SNP_POL_ABI_MINOR(p)	((unsigned)((p) & 0xff))
#define SNP_POL_ABI_MAJOR(p)	((unsigned)(((p) >> 8) & 0xff))
#define SNP_POL_SMT		(1ULL << 16)
#define SNP_POL_RESERVED_MBO	(1ULL << 17)
#define SNP_POL_MIGRATE_MA	(1ULL << 18)
#define SNP_POL_DEBUG		(1ULL << 19)
#define SNP_POL_SINGLE_SOCKET	(1ULL << 20)
#define SNP_POL_CXL_ALLOW	(1ULL << 21)
#define SNP_POL_MEM_AES_256_XTS	(1ULL << 22)
#define SNP_POL_RAPL_DIS	(1ULL << 23)
#define SNP_POL_CIPHERTEXT_HIDING (1ULL << 24)
#define SNP_POL_PAGE_SWAP_DISABLE (1ULL << 25)

/* PLATFORM_INFO bits. */
#define SNP_PI_SMT_EN		(1ULL << 0)
#define SNP_PI_TSME_EN		(1ULL << 1)
#define SNP_PI_ECC_EN		(1ULL << 2)
#define SNP_PI_RAPL_DIS		(1ULL << 3)
#define SNP_PI_CIPHERTEXT_HIDING_EN (1ULL << 4)
#define SNP_PI_ALIAS_CHECK_COMPLETE (1ULL << 5)

/* SIGNER_INFO (offset 0x48) bits. */
#define SNP_SI_AUTHOR_KEY_EN	(1u << 0)
#define SNP_SI_MASK_CHIP_KEY	(1u << 1)
#define SNP_SI_SIGNING_KEY(f)	(((f) >> 2) & 7u)
#define SNP_SIGNING_KEY_VCEK	0
#define SNP_SIGNING_KEY_VLEK	1
#define SNP_SIGNING_KEY_NONE	7

enum snp_product {
	SNP_PRODUCT_UNKNOWN = 0,
	SNP_PRODUCT_MILAN,
	SNP_PRODUCT_GENOA,
	SNP_PRODUCT_TURIN,
};
#define SNP_PRODUCT_COUNT	3	/* known products, 1..3 */

/* "Milan", "Genoa", "Turin", or "unknown". */
const char	*snp_product_name(enum snp_product);
/*
 * Product from a name as KDS and the VCEK productName extension spell it
 * ("Milan", "Milan-B0", "Genoa", "Turin"): the part before '-'.
 */
enum snp_product snp_product_from_name(const char *s, size_t n);
/*
 * Product from the report's CPUID fields (v3+): family 0x19 model
 * 0x0X = Milan, 0x1X/0xAX = Genoa; family 0x1A model 0x00-0x1F = Turin.
 */
enum snp_product snp_product_from_cpuid(uint8_t fam, uint8_t mod);

/*
 * TCB_VERSION decoded per product (ABI s.2.2): Milan/Genoa byte 0 boot
 * loader, 1 TEE, 6 SNP, 7 microcode; Turin byte 0 FMC, 1 boot loader,
 * 2 TEE, 3 SNP, 7 microcode.
 */
struct snp_tcb {
	uint8_t		fmc;		/* Turin only; 0 otherwise */
	uint8_t		bootloader;
	uint8_t		tee;
	uint8_t		snp;
	uint8_t		microcode;
};
void	snp_tcb_decode(uint64_t raw, enum snp_product, struct snp_tcb *out);
/* Inverse of snp_tcb_decode (reserved bytes zero). */
uint64_t snp_tcb_encode(const struct snp_tcb *, enum snp_product);

/* The ATTESTATION_REPORT fields, host byte order; raw[] as received. */
struct snp_report {
	uint8_t		raw[SNP_REPORT_LEN];
	uint32_t	version;
	uint32_t	guest_svn;
	uint64_t	policy;
	uint8_t		family_id[16];
	uint8_t		image_id[16];
	uint32_t	vmpl;
	uint32_t	sig_algo;
	uint64_t	current_tcb;
	uint64_t	platform_info;
	uint32_t	signer_info;
	uint8_t		report_data[64];
	uint8_t		measurement[48];
	uint8_t		host_data[32];
	uint8_t		id_key_digest[48];
	uint8_t		author_key_digest[48];
	uint8_t		report_id[32];
	uint8_t		report_id_ma[32];
	uint64_t	reported_tcb;
	uint8_t		cpuid_fam;	/* v3+; 0 on v2 */
	uint8_t		cpuid_mod;
	uint8_t		cpuid_step;
	uint8_t		chip_id[64];
	uint64_t	committed_tcb;
	uint8_t		current_build, current_minor, current_major;
	uint8_t		committed_build, committed_minor, committed_major;
	uint64_t	launch_tcb;
	uint64_t	launch_mit_vector;	/* v5; 0 before */
	uint64_t	current_mit_vector;	/* v5; 0 before */
	uint8_t		sig_r[SNP_P384_LEN];	/* big-endian */
	uint8_t		sig_s[SNP_P384_LEN];	/* big-endian */
	bool		sig_high_nonzero; /* bytes 48..71 of R or S set */
};

/*
 * Parse exactly SNP_REPORT_LEN bytes of ATTESTATION_REPORT (ABI s.7.3)
 * into *out (caller-owned storage).  Versions 2..5; trailing or missing
 * bytes, and unknown versions, are AV_E_MALFORMED.
 * Returns 0, or -1 with e set.
 */
AV_MUST_USE int snp_report_parse(const uint8_t *p, size_t n,
    struct snp_report *out, struct av_err *e);

/*
 * Azure confidential-VM HCL report ("HCLA" header, SNP report at 0x20,
 * then the IGVM request data: u32 data_size, version, report_type,
 * hash_type, variable_data_size, variable data).  Views borrow from p.
 */
struct snp_hcl {
	const uint8_t	*report;	/* SNP_REPORT_LEN bytes */
	uint32_t	 report_type;	/* 2 = SNP */
	uint32_t	 hash_type;	/* 1 SHA-256, 2 SHA-384, 3 SHA-512 */
	const uint8_t	*var_data;	/* runtime data (JSON) */
	size_t		 var_len;
};
#define SNP_HCL_MAGIC		"HCLA"
#define SNP_HCL_REPORT_OFF	0x20
#define SNP_HCL_REQ_OFF		(SNP_HCL_REPORT_OFF + SNP_REPORT_LEN)
#define SNP_HCL_VAR_OFF		(SNP_HCL_REQ_OFF + 20)
bool	snp_hcl_detect(const uint8_t *p, size_t n);
AV_MUST_USE int snp_hcl_parse(const uint8_t *p, size_t n, struct snp_hcl *out,
    struct av_err *e);

/* ---- certificates (sev_snp_certs.c) ------------------------------------ */

/* Extended-report certificate table GUIDs (GHCB spec s.4.1.8.1). */
enum snp_cert_kind {
	SNP_CERT_OTHER = 0,
	SNP_CERT_ARK,
	SNP_CERT_ASK,		/* ASK or ASVK */
	SNP_CERT_VCEK,
	SNP_CERT_VLEK,
	SNP_CERT_CRL,
};
#define SNP_CERT_TABLE_MAX	16	/* entries we accept */

struct snp_cert_entry {
	enum snp_cert_kind	 kind;
	uint8_t			 guid[16];
	const uint8_t		*data;	/* borrowed from the table */
	size_t			 len;
};

/*
 * Parse a certificate table: 24-byte entries {GUID, u32 offset, u32
 * length} ended by an all-zero entry; offsets are from the table start
 * and must lie inside it.  Views borrow from p.  *nout entries.
 * Returns 0, or -1 with e (AV_E_MALFORMED).
 */
AV_MUST_USE int snp_cert_table_parse(const uint8_t *p, size_t n,
    struct snp_cert_entry out[SNP_CERT_TABLE_MAX], size_t *nout,
    struct av_err *e);

/* The AMD VCEK/VLEK extensions (OID 1.3.6.1.4.1.3704.1.*). */
struct snp_leaf_ext {
	bool		has_struct_version;
	int64_t		struct_version;		/* .1 */
	char		product_name[32];	/* .2 IA5String, "" if absent */
	bool		has_bl, has_tee, has_snp, has_ucode, has_fmc;
	struct snp_tcb	tcb;			/* .3.1/.3.2/.3.3/.3.8/.3.9 */
	uint8_t		hwid[64];		/* .4 */
	size_t		hwid_len;		/* 0: absent */
	char		csp_id[128];		/* .5 (VLEK), "" if absent */
};

/*
 * Read the AMD extensions of a VCEK/VLEK certificate.  Values that are
 * present but malformed (not a DER INTEGER 0..255, a hwID longer than
 * 64 bytes, a name too long) are AV_E_COLLATERAL_INVALID.
 * Returns 0, or -1 with e set.
 */
AV_MUST_USE int snp_leaf_ext_parse(X509 *x, struct snp_leaf_ext *out,
    struct av_err *e);

/* Whether x is a CA certificate (basicConstraints CA:TRUE). */
bool	snp_cert_is_ca(X509 *x);
/* Whether x's subject CN equals cn. */
bool	snp_cert_cn_is(X509 *x, const char *cn);

/* ---- AMD KDS client (src/collateral/amd_kds.c) ------------------------- */

/*
 * KDS paths (VCEK Certificate and KDS Interface Specification s.4).
 * Each writes a full URL (base from av_collateral_cfg()->amd_kds_url)
 * into buf.  Returns 0, or -1 when it does not fit.
 */
int	amd_kds_vcek_url(char *buf, size_t len, const char *base,
	    enum snp_product, const uint8_t *hwid, size_t hwid_len,
	    const struct snp_tcb *);
int	amd_kds_chain_url(char *buf, size_t len, const char *base,
	    enum snp_product, bool vlek);
int	amd_kds_crl_url(char *buf, size_t len, const char *base,
	    enum snp_product, bool vlek);

/*
 * Fetch a VCEK (DER) for the chip and TCB through the collateral store:
 * its on-disk cache first (refreshed when the cached certificate is not
 * valid at `now`), then KDS when online; rate limits and coalescing are
 * the store's (kds_min_interval_ms).  On success *out is a new X509.
 * Errors: AV_E_COLLATERAL_MISSING, AV_E_COLLATERAL_INVALID.
 */
AV_MUST_USE int amd_kds_get_vcek(struct av_collateral *, int64_t now,
    enum snp_product, const uint8_t *hwid, size_t hwid_len,
    const struct snp_tcb *, X509 **out, struct av_err *e);
/*
 * Fetch the ASK+ARK (or ASVK+ARK when vlek) chain of a product.  On
 * success *out is a new stack (sk_X509_pop_free).
 */
AV_MUST_USE int amd_kds_get_chain(struct av_collateral *, int64_t now,
    enum snp_product, bool vlek, STACK_OF(X509) **out, struct av_err *e);
/*
 * Fetch the product's CRL for the VCEK (or VLEK) hierarchy, signed by
 * the ARK; refreshed when its nextUpdate is before `now`.  *out is a new
 * CRL.
 */
AV_MUST_USE int amd_kds_get_crl(struct av_collateral *, int64_t now,
    enum snp_product, bool vlek, X509_CRL **out, struct av_err *e);

#endif
