/*
 * Test-only signer for AWS Nitro attestation documents: COSE_Sign1 with
 * chosen payload fields, signed ES384 by a test PKI (root -> intermediate
 * -> leaf, P-384) made with avt_pki.  Encodes CBOR by hand so that tests
 * can produce exactly the (mal)formed bytes they need.
 */
#ifndef AVT_NITRO_H
#define AVT_NITRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A test Nitro PKI.  Every member is owned. */
struct avt_nitro_pki {
	EVP_PKEY	*root_key, *int_key, *leaf_key;
	X509		*root, *inter, *leaf;
};

/*
 * New PKI: a root and an intermediate valid for years around the leaf,
 * and a leaf valid over [leaf_nb, leaf_na].  leaf_kind is the leaf key
 * ("P-384" unless a test wants another).  NULL on failure.
 */
struct avt_nitro_pki *avt_nitro_pki_new(int64_t leaf_nb, int64_t leaf_na,
	    const char *leaf_kind);
void	avt_nitro_pki_free(struct avt_nitro_pki *);

/* How an optional field (public_key, user_data, nonce) is written. */
enum avt_opt {
	AVT_OPT_ABSENT,		/* key left out */
	AVT_OPT_NULL,		/* CBOR null */
	AVT_OPT_BYTES,		/* byte string p[0..n) */
};

struct avt_nitro_field {
	enum avt_opt	 kind;
	const uint8_t	*p;		/* borrowed */
	size_t		 n;
};

struct avt_nitro_spec {
	const char	*module_id;	/* text */
	const char	*digest;	/* "SHA384" */
	uint64_t	 timestamp_ms;
	bool		 tpm;		/* "nitrotpm_pcrs" instead of "pcrs" */
	uint32_t	 pcr_mask;	/* PCR indexes written (bit i = PCR i) */
	uint32_t	 pcr_extra;	/* extra PCR index written (> 31 allowed) */
	bool		 has_pcr_extra;
	uint8_t		 pcr[32][48];	/* values of PCR 0..31 */
	size_t		 pcr_len;	/* bytes written per PCR value (48) */
	struct avt_nitro_field public_key, user_data, nonce;
	bool		 tagged;	/* CBOR tag 18 in front */
	bool		 indefinite;	/* payload map 0xbf ... 0xff */
	const uint8_t	*prot;		/* protected header bytes; NULL:
					   a1 01 38 22 ({1: -35}) */
	size_t		 prot_len;
	size_t		 sig_len;	/* 96; other values truncate/pad */
	bool		 corrupt_sig;	/* flip the last signature bit */
	const char	*extra_key;	/* extra payload key (value null) */
	const char	*omit_key;	/* payload key left out */
	bool		 dup_key;	/* module_id written twice */
	size_t		 cabundle_n;	/* 0: [root, intermediate]; else that
					   many entries: root, then the
					   intermediate repeated */
	bool		 cabundle_leaf_only; /* cabundle = [intermediate] */
	size_t		 cert_pad;	/* certificate bytes padded to this
					   size with zeros (oversize tests) */
	size_t		 trailing;	/* bytes appended after the COSE */
	bool		 sign_payload_only; /* sign a wrong Sig_structure */
};

/*
 * Defaults: module_id "i-0123456789abcdef0-enc0123456789abcdef", digest
 * "SHA384", timestamp now_s * 1000, PCR 0..15 (0..23 when tpm) with
 * distinct non-zero values (PCR i byte j = i * 16 + j + 1), public_key,
 * user_data and nonce null, untagged, definite map, ES384, 96-byte
 * signature.
 */
void	avt_nitro_spec_init(struct avt_nitro_spec *, int64_t now_s, bool tpm);
/* Zero PCR0..2 (a debug enclave). */
void	avt_nitro_spec_debug(struct avt_nitro_spec *);
/*
 * Build and sign a document with pki.  Returns a malloc'd buffer and
 * *len, or NULL on failure.
 */
uint8_t	*avt_nitro_make(const struct avt_nitro_spec *,
	    const struct avt_nitro_pki *, size_t *len);
/* Hex of PCR i of a spec (malloc'd), for policies. */
char	*avt_nitro_pcr_hex(const struct avt_nitro_spec *, int i);

#endif
