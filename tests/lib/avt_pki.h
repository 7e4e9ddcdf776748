/*
 * Test-only PKI: keys, certificates and CRLs made with OpenSSL at test
 * time, so every suite runs without ../shared.  Never linked into the
 * verifier itself.
 */
#ifndef AVT_PKI_H
#define AVT_PKI_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* New key: "P-256", "P-384", "P-521", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519". */
EVP_PKEY *avt_key_new(const char *kind);

struct avt_cert_spec {
	const char	*cn;		/* subject CN (O=attestd tests added) */
	int64_t		 not_before;	/* unix s */
	int64_t		 not_after;	/* unix s */
	bool		 ca;		/* basicConstraints CA:TRUE + keyCertSign */
	long		 serial;	/* 0: random */
	const EVP_MD	*md;		/* signature digest; NULL: SHA-384 */
	bool		 rsa_pss;	/* sign with RSA-PSS (salt = digest len) */
};

/*
 * Certificate for pub, issued by (issuer, issuer_key); issuer NULL means
 * self-signed with issuer_key == the subject's own private key.
 * Caller frees.
 */
X509	*avt_cert_new(const struct avt_cert_spec *, EVP_PKEY *pub,
	    X509 *issuer, EVP_PKEY *issuer_key);
/* CRL by (issuer, key) revoking the serials given. Caller frees. */
X509_CRL *avt_crl_new(X509 *issuer, EVP_PKEY *key, int64_t this_update,
	    int64_t next_update, const long *revoked, size_t nrevoked);

/* DER of a certificate (malloc'd) / PEM text (malloc'd, NUL-terminated). */
uint8_t	*avt_cert_der(X509 *, size_t *len);
char	*avt_cert_pem(X509 *);
/* Write PEM of a certificate to path. Returns 0/-1. */
int	 avt_cert_write_pem(X509 *, const char *path);

/*
 * Raw ECDSA signature r||s (big-endian, each half the curve size) over
 * msg with md.  Returns malloc'd buffer, *len set.
 */
uint8_t	*avt_ecdsa_sign_rs(EVP_PKEY *key, const EVP_MD *md,
	    const uint8_t *msg, size_t n, size_t *len);

/* A fresh temporary directory (mkdtemp under $TMPDIR); caller frees. */
char	*avt_tmpdir(void);
/* rm -rf of a directory made by avt_tmpdir. */
void	 avt_rmtree(const char *dir);

/* Path of ../shared/vectors/<sub> if it exists (AV_VECTORS env), else NULL. */
char	*avt_vectors_path(const char *sub);
/* Read a whole file (malloc'd). Returns NULL on failure. */
uint8_t	*avt_read_file(const char *path, size_t *len);

#endif
