/*
 * Test-only NVIDIA GPU signer: a synthetic five-certificate device chain
 * (test "Device Identity CA" -> identity -> provisioner ICA -> BROM ->
 * FMC leaf with the TCG DICE FWID and NVIDIA SAN extensions), SPDM 1.1
 * GET_MEASUREMENTS request || MEASUREMENTS response signed with the
 * leaf's P-384 key, a test RIM hierarchy (root -> CA -> L3 -> L4 signer)
 * and SWID RIMs signed with xmlsec1 (enveloped, c14n 1.1, ecdsa-sha384),
 * and OCSP responses made with OpenSSL's OCSP API.  Never linked into the
 * verifier.
 */
#ifndef AVT_NVGPU_H
#define AVT_NVGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct av_trust;

#define AVT_NV_BLOCKS	64	/* measurement blocks in a report */

/* The device hierarchy (owned keys and certificates). */
struct avt_nv_pki {
	EVP_PKEY	*key[5];	/* 0 leaf .. 4 root */
	X509		*cert[5];	/* 0 leaf .. 4 root */
	uint8_t		 fwid[48];	/* in the leaf's DICE extension */
};

struct avt_nv_pki_spec {
	int64_t		 not_before, not_after;
	bool		 no_fwid_ext;	/* leaf without 2.23.133.5.4.1 */
	const uint8_t	*fwid;		/* NULL: a fixed pattern */
	const char	*chip;		/* SAN chip, NULL: "GH100" */
};

/* New device hierarchy.  NULL on failure. */
struct avt_nv_pki *avt_nv_pki_new(const struct avt_nv_pki_spec *);
void	avt_nv_pki_free(struct avt_nv_pki *);
/* PEM of certificates [from, to] (leaf = 0), malloc'd. */
char	*avt_nv_chain_pem(const struct avt_nv_pki *, int from, int to);

/* What a report says.  Zero/NULL fields take defaults. */
struct avt_nv_report_spec {
	uint8_t		 nonce[32];
	uint8_t		 resp_nonce[32];
	/* measurement values: block i (1-based) = meas[i - 1] */
	uint8_t		 meas[AVT_NV_BLOCKS][48];
	const char	*driver;	/* NULL: "550.90.07" */
	uint8_t		 vbios[8];	/* all zero: 96.00.9F.00.01 */
	const char	*project;	/* NULL: "1010" */
	const char	*project_sku;	/* NULL: "0200" */
	const char	*chip_sku;	/* NULL: "882" */
	bool		 no_fwid;	/* omit the FWID field */
	const uint8_t	*fwid;		/* NULL: the PKI's */
	uint8_t		 nvdec0;	/* 0: 0x55 (disabled) */
	uint8_t		 ppcie;		/* 0: 0x55 */
	size_t		 nswitch_pdis;
	uint16_t	 feature;	/* FEATURE_FLAG */
	size_t		 trailing;	/* zero bytes after the signature */
	EVP_PKEY	*sign_key;	/* NULL: the PKI's leaf key */
	bool		 flip_sig;	/* corrupt the signature */
};

/* Default measurement i (0-based RIM index): a fixed pattern. */
void	avt_nv_meas_default(unsigned rim_index, uint8_t out[48]);
/* Zero spec, then default measurements and nonces. */
void	avt_nv_report_defaults(struct avt_nv_report_spec *);
/* A report: fills spec defaults, signs.  malloc'd, *len set. */
uint8_t	*avt_nv_report(const struct avt_nv_pki *,
	    const struct avt_nv_report_spec *, size_t *len);

/* The RIM hierarchy (owned). 0 signer, 1 L3, 2 CA, 3 root. */
struct avt_nv_rim_pki {
	EVP_PKEY	*key[4];
	X509		*cert[4];
};
/* signer validity [nb, na]; CAs valid 2000..2099. */
struct avt_nv_rim_pki *avt_nv_rim_pki_new(int64_t signer_nb,
	    int64_t signer_na);
void	avt_nv_rim_pki_free(struct avt_nv_rim_pki *);

struct avt_nv_rim_res {
	unsigned	 index;
	bool		 active;
	size_t		 nalt;
	uint8_t		 alt[4][48];
};

struct avt_nv_rim_spec {
	const char		*version;	/* colloquialVersion */
	const char		*product;	/* NULL: "GH100" */
	const struct avt_nv_rim_res *res;
	size_t			 nres;
	/* hostile variants */
	bool			 tamper_after_sign;	/* edit a hash */
	EVP_PKEY		*sign_key;		/* NULL: the signer's */
	bool			 duplicate_meta;
	bool			 nested_signature;	/* a 2nd Signature */
	bool			 with_dtd;
	bool			 reference_uri_id;	/* URI="#x" */
	bool			 no_keyinfo;
};

/*
 * A signed RIM (XML text, malloc'd, NUL-terminated, *len without the
 * NUL).  NULL on failure.
 */
char	*avt_nv_rim(const struct avt_nv_rim_pki *, const struct avt_nv_rim_spec *,
	    size_t *len);
/*
 * The default RIM of a kind for the default report: driver (indices 7,
 * 21..40 active) or VBIOS (0..6, 8..12 active), each active value the
 * default measurement as alternative 0 (alternative 1 when alt1 is set,
 * alternative 0 then a different value).
 */
char	*avt_nv_rim_default(const struct avt_nv_rim_pki *, bool vbios,
	    const char *version, bool alt1, size_t *len);

/* Trust with the test device root ("nvidia-gpu") and RIM root pinned. */
struct av_trust *avt_nv_trust(const struct avt_nv_pki *,
	    const struct avt_nv_rim_pki *);

/*
 * A delegated OCSP responder certificate (id-kp-OCSPSigning) issued by
 * cert[issuer] of the device PKI, valid [nb, na]; *key_out its key.
 */
X509	*avt_nv_ocsp_responder(const struct avt_nv_pki *, int issuer,
	    int64_t nb, int64_t na, EVP_PKEY **key_out);

/*
 * A DER OCSP response with one SingleResponse per certs[i] (issued by
 * issuers[i]), status[i] "good" (0), "revoked" (1) or "unknown" (2),
 * thisUpdate/nextUpdate as given (next 0: none), CertID hash md, signed
 * by signer (signer_key).  malloc'd, *len set.
 */
uint8_t	*avt_nv_ocsp_response(X509 *const *certs, X509 *const *issuers,
	    const int *status, size_t n, X509 *signer, EVP_PKEY *signer_key,
	    int64_t this_upd, int64_t next_upd, const EVP_MD *md, size_t *len);

#endif
