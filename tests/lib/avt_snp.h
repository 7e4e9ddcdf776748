/*
 * Test-only AMD SEV-SNP signer: a test ARK -> ASK -> VCEK and
 * ARK -> ASVK -> VLEK hierarchy per product (RSA-PSS SHA-384 like AMD,
 * P-384 leaves with AMD's VCEK/VLEK extensions), and ATTESTATION_REPORTs
 * (versions 2, 3, 5) written at the ABI offsets and signed like the
 * firmware (ECDSA P-384, little-endian R and S).  Never linked into the
 * verifier.
 */
#ifndef AVT_SNP_H
#define AVT_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define AVT_SNP_REPORT_LEN	0x4A0

/* One product's test hierarchy (owned keys and certificates). */
struct avt_snp_pki {
	char		 product[16];	/* "Milan", "Genoa", "Turin" */
	EVP_PKEY	*ark_key, *ask_key, *asvk_key;
	X509		*ark;		/* CN "ARK-<product>", self-signed */
	X509		*ask;		/* CN "SEV-<product>" */
	X509		*asvk;		/* CN "SEV-VLEK-<product>" */
};

/*
 * New hierarchy for product valid [not_before, not_after].  RSA-2048
 * keys (fast), RSA-PSS SHA-384 salt 48 signatures.  NULL on failure.
 */
struct avt_snp_pki *avt_snp_pki_new(const char *product, int64_t not_before,
    int64_t not_after);
void	avt_snp_pki_free(struct avt_snp_pki *);

/* TCB components; fmc is Turin only. */
struct avt_snp_tcb {
	uint8_t	fmc, bl, tee, snp, ucode;
};
/* TCB_VERSION u64 for product (Turin layout or Milan/Genoa layout). */
uint64_t avt_snp_tcb_raw(const char *product, const struct avt_snp_tcb *);

struct avt_snp_leaf_spec {
	bool			 vlek;		/* VLEK under the ASVK */
	const char		*product_name;	/* productName ext; NULL: none */
	const uint8_t		*hwid;		/* NULL: no hwID extension */
	size_t			 hwid_len;	/* 64, or 8 on Turin */
	struct avt_snp_tcb	 tcb;
	bool			 no_tcb;	/* omit the SPL extensions */
	bool			 fmc;		/* add fmcSPL (Turin) */
	const char		*csp_id;	/* VLEK csp_id; NULL: none */
	int64_t			 not_before, not_after;
	bool			 serial_zero;	/* like AMD's VCEKs */
	/* one more extension, value as given (hostile-input tests) */
	const char		*extra_oid;
	const uint8_t		*extra_der;
	size_t			 extra_len;
};

/*
 * A VCEK/VLEK certificate for key (its public half), signed by the ASK
 * (or ASVK).  CN "SEV-VCEK"/"SEV-VLEK".  Caller frees.
 */
X509	*avt_snp_leaf_new(const struct avt_snp_pki *, const struct avt_snp_leaf_spec *,
	    EVP_PKEY *key);

/* Report fields the tests set; everything else zero. */
struct avt_snp_fields {
	uint32_t	version;	/* 2, 3, 5 */
	uint32_t	guest_svn;
	uint64_t	policy;		/* 0: 0x30000 (SMT + reserved bit) */
	uint8_t		family_id[16], image_id[16];
	uint32_t	vmpl;
	uint32_t	sig_algo;	/* 0: 1 */
	uint64_t	current_tcb, reported_tcb, committed_tcb, launch_tcb;
	uint64_t	platform_info;
	uint32_t	signer_info;	/* bits 4:2 signing key, 1 mask chip */
	uint8_t		report_data[64];
	uint8_t		measurement[48];
	uint8_t		host_data[32];
	uint8_t		id_key_digest[48], author_key_digest[48];
	uint8_t		report_id[32], report_id_ma[32];
	uint8_t		cpuid_fam, cpuid_mod, cpuid_step;	/* v3+ */
	uint8_t		chip_id[64];
	uint8_t		current_major, current_minor, current_build;
	uint8_t		committed_major, committed_minor, committed_build;
	uint64_t	launch_mit_vector, current_mit_vector;	/* v5 */
};

/*
 * Write the report for f into out and sign bytes [0, 0x2A0) with key
 * (ECDSA P-384 SHA-384; R, S little-endian in 72-byte fields).
 * key NULL leaves the signature zero.  Returns 0/-1.
 */
int	avt_snp_report(const struct avt_snp_fields *, EVP_PKEY *key,
	    uint8_t out[AVT_SNP_REPORT_LEN]);

/*
 * An extended-report certificate table (GHCB s.4.1.8.1) holding the
 * leaf under the VCEK or VLEK GUID, then ask and ark (each may be NULL).
 * Returns malloc'd bytes, *len set.
 */
uint8_t	*avt_snp_cert_table(X509 *leaf, bool vlek, X509 *ask, X509 *ark,
	    size_t *len);

/* base64 of DER of a certificate (malloc'd). */
char	*avt_snp_b64_der(X509 *);

#endif
