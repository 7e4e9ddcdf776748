/*
 * attestd - crypto helpers on OpenSSL 3: digests, raw ECDSA, X.509
 * parsing, trust anchors pinned by fingerprint, and chain verification
 * at an injected time with a per-trust-set cache.
 */
#ifndef AV_CRYPTO_H
#define AV_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "av/err.h"

/* ---- digests ---------------------------------------------------------- */

/* Digest p[0..n) with md into out (EVP_MD_get_size(md) bytes). Returns 0/-1. */
AV_MUST_USE int av_digest(const EVP_MD *md, const uint8_t *p, size_t n,
    uint8_t *out);
void	av_sha256(const uint8_t *p, size_t n, uint8_t out[32]);
void	av_sha384(const uint8_t *p, size_t n, uint8_t out[48]);
void	av_sha512(const uint8_t *p, size_t n, uint8_t out[64]);

/* ---- signatures ------------------------------------------------------- */

/*
 * Verify an ECDSA signature given as big-endian r and s (each rlen/slen
 * bytes, as in COSE, TDX and SPDM) over msg with digest md.
 * Returns 0, or -1 with e = AV_E_SIGNATURE (or AV_E_UNSUPPORTED_ALG when
 * pk is not an EC key).
 */
AV_MUST_USE int av_ecdsa_verify_rs(EVP_PKEY *pk, const EVP_MD *md,
    const uint8_t *msg, size_t msglen, const uint8_t *r, size_t rlen,
    const uint8_t *s, size_t slen, struct av_err *e);
/* Same, over a precomputed digest. */
AV_MUST_USE int av_ecdsa_verify_rs_digest(EVP_PKEY *pk, const uint8_t *dgst,
    size_t dlen, const uint8_t *r, size_t rlen, const uint8_t *s,
    size_t slen, struct av_err *e);
/*
 * Verify an RSA signature (RSASSA-PKCS1-v1_5, or RSASSA-PSS with MGF1 of
 * md and the salt length recovered) over msg with digest md; pk is
 * borrowed.  Returns 0, or -1 with e = AV_E_SIGNATURE or
 * AV_E_UNSUPPORTED_ALG (pk not an RSA key).
 */
AV_MUST_USE int av_rsa_verify(EVP_PKEY *pk, const EVP_MD *md, bool pss,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen,
    struct av_err *e);
/*
 * Build an EC public key from an uncompressed point (0x04 || X || Y) or
 * a raw X || Y on the named curve ("P-256", "P-384").  Caller frees.
 */
EVP_PKEY *av_ec_pubkey_from_raw(const char *curve, const uint8_t *p,
    size_t n);
/*
 * Whether pk (borrowed, may be NULL) is an EC key on the named curve
 * ("P-256", "P-384", "P-521"; OpenSSL's names are accepted too).
 */
bool	av_ec_is_curve(EVP_PKEY *pk, const char *curve);

/* ---- certificates ----------------------------------------------------- */

/* Parse one DER certificate (whole buffer, no trailing bytes). Caller frees. */
X509	*av_x509_from_der(const uint8_t *p, size_t n);
/*
 * Parse every certificate in p: one DER certificate, or any number of
 * PEM blocks (text around them ignored; NUL terminators tolerated).
 * Returns a new stack (caller: sk_X509_pop_free(.., X509_free)) or NULL.
 */
STACK_OF(X509) *av_x509_parse_any(const uint8_t *p, size_t n);
/*
 * The same through a process-wide memo (include/av/memo.h): the same
 * bytes give new references to the same shared, immutable X509 objects
 * (one object per certificate, whether it came as DER or in any PEM
 * list).  Never modify the objects.  Freed as above.
 */
X509	*av_x509_from_der_cached(const uint8_t *p, size_t n);
STACK_OF(X509) *av_x509_parse_any_cached(const uint8_t *p, size_t n);
/* ---- ASN.1 times and names (src/crypto/asn1.c) ------------------------ */

/* Unix seconds of an ASN.1 time.  Returns 0, or -1 (NULL or invalid). */
AV_MUST_USE int av_asn1_time_unix(const ASN1_TIME *t, int64_t *out);
/* RFC 3339 UTC JSON string of t, or JSON null (NULL/invalid); new ref. */
json_t	*av_json_asn1_time(const ASN1_TIME *t);
/* RFC 2253 JSON string of n ("CN=...,O=..."); new ref, NULL on ENOMEM. */
json_t	*av_json_x509_name(const X509_NAME *n);

/* SHA-256 of the certificate's DER encoding. Returns 0/-1. */
AV_MUST_USE int av_x509_sha256(X509 *x, uint8_t out[32]);

/* ---- trust anchors ---------------------------------------------------- */

/* A vendor root pinned by SHA-256 fingerprint of its DER encoding. */
struct av_pin {
	const char	*platform;	/* "aws-nitro", "sev-snp", ... */
	const char	*name;		/* "AWS Nitro Enclaves Root-G1" */
	const char	*sha256_hex;	/* lower-case hex of the DER SHA-256 */
};
/* The built-in pins; terminated by an entry with platform == NULL. */
extern const struct av_pin av_builtin_pins[];

struct av_trust;	/* immutable once built; safe to share across threads */

/* New trust set with the built-in pins only. Caller frees. */
struct av_trust *av_trust_new(void);
/*
 * Add operator anchors from DIR/<platform>/ *.pem (every certificate in
 * every file).  A missing DIR is an error; a missing platform folder is
 * not.  Returns 0, or -1 with e set (AV_E_CONFIG).
 */
AV_MUST_USE int av_trust_load_dir(struct av_trust *, const char *dir,
    struct av_err *e);
/* Add one operator anchor for platform (reference taken). Returns 0/-1. */
AV_MUST_USE int av_trust_add_anchor(struct av_trust *, const char *platform,
    X509 *x);
/*
 * Pin a root for platform by the SHA-256 of its DER encoding (operators
 * pinning without a certificate; tests).  Returns 0/-1.
 */
AV_MUST_USE int av_trust_add_pin(struct av_trust *, const char *platform,
    const uint8_t sha256[32]);
void	av_trust_free(struct av_trust *);
/* Number of anchors (pinned + operator) for platform. */
size_t	av_trust_count(const struct av_trust *, const char *platform);
/*
 * Whether x is an anchor for platform: its DER SHA-256 equals a built-in
 * pin, or it equals an operator anchor.
 */
bool	av_trust_is_anchor(const struct av_trust *, const char *platform,
	    X509 *x);
/*
 * Operator anchors for platform (borrowed stack, may be empty, never
 * NULL).  Built-in pins have no certificate: the certificate must come
 * with the evidence or the collateral, and is trusted when its
 * fingerprint matches.
 */
STACK_OF(X509) *av_trust_anchors(const struct av_trust *, const char *platform);

/* ---- chain verification ---------------------------------------------- */

struct av_chain_opts {
	const char		*platform;	/* which anchors apply */
	STACK_OF(X509_CRL)	*crls;		/* borrowed; NULL: none given */
	bool			 crl_check;	/* check revocation of every cert
						   with the CRLs given */
	int			 max_depth;	/* 0: default (8) */
};

/*
 * Verify leaf up to an anchor of opts->platform at time `at` (unix s).
 * `untrusted` (borrowed, may be NULL) holds intermediates and possibly the
 * root; a root found there is trusted only if av_trust_is_anchor() says
 * so.  Results are cached by the content of the whole chain (and CRLs):
 * a repeat verification within the chain's validity window costs no
 * signature checks.  On success and if chain_out != NULL, *chain_out is
 * the verified chain, leaf first (caller: sk_X509_pop_free).
 * Errors: AV_E_UNTRUSTED_ROOT, AV_E_CHAIN, AV_E_CERT_TIME, AV_E_CERT_REVOKED,
 * AV_E_COLLATERAL_EXPIRED (CRL out of date).  Returns 0 or -1.
 */
AV_MUST_USE int av_chain_verify(const struct av_trust *, X509 *leaf,
    STACK_OF(X509) *untrusted, int64_t at, const struct av_chain_opts *opts,
    STACK_OF(X509) **chain_out, struct av_err *e);

/* Cache statistics (for metrics and tests). */
struct av_chain_stats { unsigned long hits, misses; };
void	av_trust_chain_stats(const struct av_trust *, struct av_chain_stats *);
/* The same, summed over every trust set of the process (monotonic). */
void	av_chain_stats_process(struct av_chain_stats *);

#endif
