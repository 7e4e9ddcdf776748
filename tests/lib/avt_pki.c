/*
 * attestd - test-only PKI: keys, certificates and CRLs made with OpenSSL
 * at test time.  Never linked into the verifier.
 */
#include <sys/stat.h>

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "avt_pki.h"

/*
 * New key of the given kind.  Returns a new key (caller frees) or NULL.
 */
EVP_PKEY *
avt_key_new(const char *kind)
{
	if (kind == NULL)
		return NULL;
	if (strcmp(kind, "P-256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(kind, "P-384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(kind, "P-521") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	if (strcmp(kind, "RSA-2048") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(kind, "RSA-3072") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	if (strcmp(kind, "RSA-4096") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	if (strcmp(kind, "ED25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

static bool
key_is_eddsa(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448");
}

/*
 * Initialise mctx for signing with key: md (NULL: SHA-384; ignored for
 * EdDSA), optionally RSA-PSS with salt = digest length and MGF1(md).
 */
static int
sign_init(EVP_MD_CTX *mctx, EVP_PKEY *key, const EVP_MD *md, bool pss)
{
	EVP_PKEY_CTX	*pctx = NULL;

	if (key_is_eddsa(key))
		md = NULL;
	else if (md == NULL)
		md = EVP_sha384();
	if (EVP_DigestSignInit(mctx, &pctx, md, NULL, key) != 1)
		return -1;
	if (pss) {
		if (!EVP_PKEY_is_a(key, "RSA"))
			return -1;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0)
			return -1;
	}
	return 0;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*ex;
	int		 rc;

	if ((ex = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ex, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ex);
	return rc;
}

static int
set_time(ASN1_TIME *t, int64_t when)
{
	/* ASN1_TIME_adj takes time_t; 64-bit on every platform we build. */
	return ASN1_TIME_adj(t, (time_t)when, 0, 0) == NULL ? -1 : 0;
}

static int
set_serial(X509 *x, long serial)
{
	ASN1_INTEGER	*ai = NULL;
	BIGNUM		*bn = NULL;
	int		 rc = -1;

	if (serial != 0) {
		if ((ai = ASN1_INTEGER_new()) == NULL ||
		    ASN1_INTEGER_set(ai, serial) != 1)
			goto out;
	} else {
		if ((bn = BN_new()) == NULL ||
		    BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
		    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
			goto out;
	}
	if (X509_set_serialNumber(x, ai) != 1)
		goto out;
	rc = 0;
 out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

/*
 * Certificate for pub issued by (issuer, issuer_key), or self-signed when
 * issuer is NULL.  Returns a new X509 (caller frees) or NULL.
 */
X509 *
avt_cert_new(const struct avt_cert_spec *sp, EVP_PKEY *pub, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	X509		*x = NULL;
	X509_NAME	*name = NULL;
	EVP_MD_CTX	*mctx = NULL;
	X509V3_CTX	 v3;
	const char	*cn;
	bool		 ok = false;

	if (sp == NULL || pub == NULL || issuer_key == NULL)
		return NULL;
	cn = sp->cn != NULL ? sp->cn : "attestd test";
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1)
		goto out;
	if (set_serial(x, sp->serial) == -1)
		goto out;
	if (set_time(X509_getm_notBefore(x), sp->not_before) == -1 ||
	    set_time(X509_getm_notAfter(x), sp->not_after) == -1)
		goto out;
	if ((name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"attestd tests", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		goto out;
	if (X509_set_subject_name(x, name) != 1)
		goto out;
	if (X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1)
		goto out;
	if (X509_set_pubkey(x, pub) != 1)
		goto out;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (add_ext(x, &v3, NID_basic_constraints,
	    sp->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") == -1)
		goto out;
	if (add_ext(x, &v3, NID_key_usage, sp->ca ?
	    "critical,keyCertSign,cRLSign,digitalSignature" :
	    "critical,digitalSignature") == -1)
		goto out;
	if (add_ext(x, &v3, NID_subject_key_identifier, "hash") == -1)
		goto out;
	if (issuer != NULL &&
	    add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") == -1)
		goto out;

	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    sign_init(mctx, issuer_key, sp->md, sp->rsa_pss) == -1)
		goto out;
	if (X509_sign_ctx(x, mctx) <= 0)
		goto out;
	ok = true;
 out:
	EVP_MD_CTX_free(mctx);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/*
 * CRL (v2) by (issuer, key) valid [this_update, next_update], revoking the
 * serials given.  Returns a new CRL (caller frees) or NULL.
 */
X509_CRL *
avt_crl_new(X509 *issuer, EVP_PKEY *key, int64_t this_update,
    int64_t next_update, const long *revoked, size_t nrevoked)
{
	X509_CRL	*crl = NULL;
	X509_REVOKED	*rv = NULL;
	ASN1_TIME	*t = NULL;
	ASN1_INTEGER	*ai = NULL;
	EVP_MD_CTX	*mctx = NULL;
	X509V3_CTX	 v3;
	X509_EXTENSION	*ex = NULL;
	size_t		 i;
	bool		 ok = false;

	if (issuer == NULL || key == NULL)
		return NULL;
	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1)
		goto out;
	if ((t = ASN1_TIME_new()) == NULL || set_time(t, this_update) == -1 ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    set_time(t, next_update) == -1 ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto out;
	for (i = 0; i < nrevoked; i++) {
		if ((rv = X509_REVOKED_new()) == NULL ||
		    (ai = ASN1_INTEGER_new()) == NULL ||
		    ASN1_INTEGER_set(ai, revoked[i]) != 1 ||
		    X509_REVOKED_set_serialNumber(rv, ai) != 1 ||
		    set_time(t, this_update) == -1 ||
		    X509_REVOKED_set_revocationDate(rv, t) != 1 ||
		    X509_CRL_add0_revoked(crl, rv) != 1)
			goto out;
		rv = NULL;	/* owned by crl */
		ASN1_INTEGER_free(ai);
		ai = NULL;
	}
	if (X509_CRL_sort(crl) != 1)
		goto out;
	X509V3_set_ctx(&v3, issuer, NULL, NULL, crl, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier,
	    "keyid:always")) == NULL || X509_CRL_add_ext(crl, ex, -1) != 1)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    sign_init(mctx, key, EVP_sha256(), false) == -1 ||
	    X509_CRL_sign_ctx(crl, mctx) <= 0)
		goto out;
	ok = true;
 out:
	X509_EXTENSION_free(ex);
	EVP_MD_CTX_free(mctx);
	ASN1_INTEGER_free(ai);
	X509_REVOKED_free(rv);
	ASN1_TIME_free(t);
	if (!ok) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

/* DER of x (malloc'd, caller frees), *len set; NULL on failure. */
uint8_t *
avt_cert_der(X509 *x, size_t *len)
{
	uint8_t	*buf, *p;
	int	 n;

	if ((n = i2d_X509(x, NULL)) <= 0)
		return NULL;
	if ((buf = malloc((size_t)n)) == NULL)
		return NULL;
	p = buf;
	if (i2d_X509(x, &p) != n) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* PEM text of x (malloc'd, NUL-terminated, caller frees); NULL on failure. */
char *
avt_cert_pem(X509 *x)
{
	BIO	*b;
	char	*data, *out = NULL;
	long	 n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509(b, x) != 1)
		goto out;
	if ((n = BIO_get_mem_data(b, &data)) <= 0)
		goto out;
	if ((out = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
 out:
	BIO_free(b);
	return out;
}

/* Write PEM of x to path.  Returns 0/-1. */
int
avt_cert_write_pem(X509 *x, const char *path)
{
	FILE	*f;
	int	 rc = 0;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (PEM_write_X509(f, x) != 1)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/*
 * Raw ECDSA r||s (big-endian, each half the curve order size) over msg.
 * Returns malloc'd buffer (caller frees), *len set; NULL on failure.
 */
uint8_t *
avt_ecdsa_sign_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
    size_t n, size_t *len)
{
	EVP_MD_CTX		*mctx = NULL;
	ECDSA_SIG		*sig = NULL;
	const BIGNUM		*r, *s;
	uint8_t			*der = NULL, *out = NULL;
	const unsigned char	*dp;
	size_t			 derlen, half;
	int			 bits;

	if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
		return NULL;
	if ((bits = EVP_PKEY_get_bits(key)) <= 0)
		return NULL;
	half = ((size_t)bits + 7) / 8;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(mctx, NULL, &derlen, msg, n) != 1)
		goto out;
	if ((der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(mctx, der, &derlen, msg, n) != 1)
		goto out;
	dp = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if ((out = malloc(2 * half)) == NULL)
		goto out;
	if (BN_bn2binpad(r, out, (int)half) < 0 ||
	    BN_bn2binpad(s, out + half, (int)half) < 0) {
		free(out);
		out = NULL;
		goto out;
	}
	*len = 2 * half;
 out:
	ECDSA_SIG_free(sig);
	free(der);
	EVP_MD_CTX_free(mctx);
	return out;
}

/* "a/b" (malloc'd) or NULL. */
static char *
path_join(const char *a, const char *b)
{
	size_t	 n = strlen(a) + 1 + strlen(b) + 1;
	char	*p;

	if ((p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* A fresh temporary directory under $TMPDIR (or /tmp); caller frees. */
char *
avt_tmpdir(void)
{
	const char	*base;
	char		*p;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	if ((p = path_join(base, "avt-XXXXXX")) == NULL)
		return NULL;
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void
rm_rec(const char *path, int depth)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*sub;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode) || depth > 32) {
		(void)unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if ((sub = path_join(path, de->d_name)) == NULL)
				continue;
			rm_rec(sub, depth + 1);
			free(sub);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

/* rm -rf of a directory made by avt_tmpdir (NULL-safe). */
void
avt_rmtree(const char *dir)
{
	if (dir == NULL || *dir == '\0' || strcmp(dir, "/") == 0)
		return;
	rm_rec(dir, 0);
}

/*
 * Path of $AV_VECTORS/<sub> when it exists (malloc'd, caller frees), else
 * NULL.  sub NULL or "" gives the vectors folder itself.
 */
char *
avt_vectors_path(const char *sub)
{
	const char	*base;
	char		*p;
	struct stat	 st;

	if ((base = getenv("AV_VECTORS")) == NULL || *base == '\0')
		return NULL;
	if (sub == NULL || *sub == '\0') {
		if ((p = strdup(base)) == NULL)
			return NULL;
	} else if ((p = path_join(base, sub)) == NULL)
		return NULL;
	if (stat(p, &st) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

/* Read a whole file (malloc'd, caller frees; one extra NUL appended). */
uint8_t *
avt_read_file(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*buf = NULL, *nb;
	size_t	 cap = 0, n = 0, got;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			if (cap > ((size_t)1 << 30))	/* 1 GiB is plenty */
				goto fail;
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				goto fail;
			break;
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
 fail:
	fclose(f);
	free(buf);
	return NULL;
}
