/*
 * attestd - raw ECDSA signatures (big-endian r and s, as in COSE RFC 9053
 * s.2.1, Intel DCAP quotes and SPDM) and raw EC public keys.
 */
#include <limits.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "av/crypto.h"

/* Drop leading zero bytes of a big-endian integer. */
static void
strip_zeros(const uint8_t **p, size_t *n)
{
	while (*n > 0 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

/*
 * DER-encode (r, s) as an ECDSA-Sig-Value (SEC 1 C.8) for key pk.
 * r and s are big-endian; after leading zeros they must be non-zero and
 * no longer than the group order.  On success *der is malloc'd by OpenSSL
 * (caller: OPENSSL_free).  Returns 0, or -1 with e set.
 */
static int
rs_to_der(EVP_PKEY *pk, const uint8_t *r, size_t rlen, const uint8_t *s,
    size_t slen, uint8_t **der, size_t *derlen, struct av_err *e)
{
	ECDSA_SIG	*sig = NULL;
	BIGNUM		*br = NULL, *bs = NULL;
	unsigned char	*buf = NULL;
	size_t		 olen;
	int		 bits, n, rc = -1;

	if (pk == NULL || !EVP_PKEY_is_a(pk, "EC"))
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "key is not an EC key");
	if ((bits = EVP_PKEY_get_bits(pk)) <= 0)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "unknown EC group");
	olen = ((size_t)bits + 7) / 8;
	if ((r == NULL && rlen != 0) || (s == NULL && slen != 0))
		return AV_FAIL(e, AV_E_SIGNATURE, "ECDSA signature missing");
	strip_zeros(&r, &rlen);
	strip_zeros(&s, &slen);
	if (rlen == 0 || slen == 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "ECDSA r or s is zero");
	if (rlen > olen || slen > olen)
		return AV_FAIL(e, AV_E_SIGNATURE,
		    "ECDSA r or s longer than the curve order");
	if ((br = BN_bin2bn(r, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(s, (int)slen, NULL)) == NULL ||
	    (sig = ECDSA_SIG_new()) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (ECDSA_SIG_set0(sig, br, bs) != 1) {
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	br = bs = NULL;		/* owned by sig */
	if ((n = i2d_ECDSA_SIG(sig, &buf)) <= 0) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	*der = buf;
	*derlen = (size_t)n;
	rc = 0;
 out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return rc;
}

/*
 * Verify an ECDSA signature (big-endian r, s) over msg with digest md
 * (FIPS 186-4 s.6.4).  pk is borrowed.
 * Returns 0, or -1 with e = AV_E_SIGNATURE or AV_E_UNSUPPORTED_ALG.
 */
int
av_ecdsa_verify_rs(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg,
    size_t msglen, const uint8_t *r, size_t rlen, const uint8_t *s,
    size_t slen, struct av_err *e)
{
	static const uint8_t	 empty[1];
	EVP_MD_CTX		*mctx = NULL;
	uint8_t			*der = NULL;
	size_t			 derlen;
	int			 rc = -1;

	ERR_clear_error();
	if (md == NULL)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "no digest for ECDSA");
	if (msg == NULL && msglen != 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "nothing signed");
	if (rs_to_der(pk, r, rlen, s, slen, &der, &derlen, e) == -1)
		return -1;
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) != 1) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "cannot verify with this key");
		goto out;
	}
	if (EVP_DigestVerify(mctx, der, derlen, msg != NULL ? msg : empty,
	    msglen) != 1) {
		AV_FAIL(e, AV_E_SIGNATURE, "ECDSA signature does not verify");
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	return rc;
}

/*
 * Verify an ECDSA signature (big-endian r, s) over a precomputed digest.
 * pk is borrowed.  Returns 0, or -1 with e = AV_E_SIGNATURE or
 * AV_E_UNSUPPORTED_ALG.
 */
int
av_ecdsa_verify_rs_digest(EVP_PKEY *pk, const uint8_t *dgst, size_t dlen,
    const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen,
    struct av_err *e)
{
	EVP_PKEY_CTX	*pctx = NULL;
	uint8_t		*der = NULL;
	size_t		 derlen;
	int		 rc = -1;

	ERR_clear_error();
	if (dgst == NULL || dlen == 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "empty digest");
	if (rs_to_der(pk, r, rlen, s, slen, &der, &derlen, e) == -1)
		return -1;
	if ((pctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_verify_init(pctx) != 1) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "cannot verify with this key");
		goto out;
	}
	if (EVP_PKEY_verify(pctx, der, derlen, dgst, dlen) != 1) {
		AV_FAIL(e, AV_E_SIGNATURE, "ECDSA signature does not verify");
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_free(der);
	return rc;
}

/* OpenSSL group name and field size for a curve name, or NULL. */
static const char *
curve_group(const char *curve, size_t *fsize)
{
	if (curve == NULL)
		return NULL;
	if (strcmp(curve, "P-256") == 0 || strcmp(curve, "prime256v1") == 0 ||
	    strcmp(curve, "secp256r1") == 0) {
		*fsize = 32;
		return "prime256v1";
	}
	if (strcmp(curve, "P-384") == 0 || strcmp(curve, "secp384r1") == 0) {
		*fsize = 48;
		return "secp384r1";
	}
	if (strcmp(curve, "P-521") == 0 || strcmp(curve, "secp521r1") == 0) {
		*fsize = 66;
		return "secp521r1";
	}
	return NULL;
}

/*
 * EC public key from an uncompressed point (0x04 || X || Y) or raw
 * X || Y on curve ("P-256", "P-384", "P-521"); the point must lie on the
 * curve (SEC 1 s.2.3.4).  Returns a new key (caller: EVP_PKEY_free) or
 * NULL.
 */
EVP_PKEY *
av_ec_pubkey_from_raw(const char *curve, const uint8_t *p, size_t n)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*pk = NULL;
	uint8_t		 pt[1 + 2 * 66];
	const char	*group;
	size_t		 fs, ptlen;

	if ((group = curve_group(curve, &fs)) == NULL || p == NULL)
		return NULL;
	if (n == 2 * fs) {
		pt[0] = 0x04;
		memcpy(pt + 1, p, n);
		ptlen = n + 1;
	} else if (n == 2 * fs + 1 && p[0] == 0x04) {
		memcpy(pt, p, n);
		ptlen = n;
	} else
		return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, ptlen) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
 out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}
