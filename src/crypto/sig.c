/*
 * attestd - raw ECDSA signatures (big-endian r and s, as in COSE RFC 9053
 * s.2.1, Intel DCAP quotes and SPDM) and raw EC public keys.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

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
 * Prepared verification contexts, per thread, by key object: creating an
 * EVP_PKEY_CTX and initialising it fetches the algorithm from the
 * provider each time, which costs several percent of a P-256 check
 * (openssl speed prepares its context once, too).  A slot holds a
 * reference to its key, so its address cannot be taken by another key
 * while the slot lives.  Freed when the thread exits.
 */
#define AV_VCTX_SLOTS	8

struct vctx {
	EVP_PKEY	*pk;		/* owned reference */
	int		 kind;		/* VCTX_ECDSA, or an RSA scheme */
	EVP_PKEY_CTX	*ctx;		/* owned: verify_init done */
	size_t		 olen;		/* bytes of the group order (EC) */
};

/* Context kinds: ECDSA, or RSA as (digest NID << 2) | (PSS ? 2 : 1). */
#define VCTX_ECDSA	0

struct vctx_set {
	struct vctx	 s[AV_VCTX_SLOTS];
	unsigned	 next;
};

static pthread_key_t	vctx_key;
static pthread_once_t	vctx_once = PTHREAD_ONCE_INIT;
static bool		vctx_ok;

static void
vctx_set_free(void *p)
{
	struct vctx_set *vs = p;

	if (vs == NULL)
		return;
	for (int i = 0; i < AV_VCTX_SLOTS; i++) {
		EVP_PKEY_CTX_free(vs->s[i].ctx);
		EVP_PKEY_free(vs->s[i].pk);
	}
	free(vs);
}

static void
vctx_init(void)
{
	vctx_ok = pthread_key_create(&vctx_key, vctx_set_free) == 0;
}

/*
 * A new context for kind with pk, verify_init done, or NULL with e set.
 * *olen: the byte length of an EC key's group order.
 */
static EVP_PKEY_CTX *
vctx_make(EVP_PKEY *pk, int kind, const EVP_MD *md, size_t *olen,
    struct av_err *e)
{
	EVP_PKEY_CTX	*ctx = NULL;
	int		 bits;
	bool		 pss = (kind & 3) == 2;

	*olen = 0;
	if (kind == VCTX_ECDSA) {
		if (pk == NULL || !EVP_PKEY_is_a(pk, "EC")) {
			AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "key is not an EC key");
			return NULL;
		}
		if ((bits = EVP_PKEY_get_bits(pk)) <= 0) {
			AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "unknown EC group");
			return NULL;
		}
		*olen = ((size_t)bits + 7) / 8;
	} else if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA")) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "key is not an RSA key");
		return NULL;
	}
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1 ||
	    (kind != VCTX_ECDSA && (EVP_PKEY_CTX_set_rsa_padding(ctx, pss ?
	    RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    (pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
	    RSA_PSS_SALTLEN_AUTO) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1))))) {
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "cannot verify with this key");
		return NULL;
	}
	return ctx;
}

/*
 * A context ready for EVP_PKEY_verify of kind with pk (borrowed), and
 * for EC keys the byte length of the group order.  The context belongs
 * to this thread's cache, or to *own (caller frees) when there is no
 * cache.  Returns NULL with e set (AV_E_UNSUPPORTED_ALG).
 */
static EVP_PKEY_CTX *
vctx_get(EVP_PKEY *pk, int kind, const EVP_MD *md, size_t *olen,
    EVP_PKEY_CTX **own, struct av_err *e)
{
	struct vctx_set	*vs = NULL;
	struct vctx	*v;
	EVP_PKEY_CTX	*ctx;

	*own = NULL;
	pthread_once(&vctx_once, vctx_init);
	if (vctx_ok && (vs = pthread_getspecific(vctx_key)) != NULL) {
		for (int i = 0; i < AV_VCTX_SLOTS; i++)
			if (vs->s[i].pk == pk && vs->s[i].kind == kind &&
			    pk != NULL) {
				*olen = vs->s[i].olen;
				return vs->s[i].ctx;
			}
	}
	if ((ctx = vctx_make(pk, kind, md, olen, e)) == NULL)
		return NULL;
	if (vctx_ok && vs == NULL && (vs = calloc(1, sizeof(*vs))) != NULL &&
	    pthread_setspecific(vctx_key, vs) != 0) {
		free(vs);
		vs = NULL;
	}
	if (vs == NULL || EVP_PKEY_up_ref(pk) != 1) {
		*own = ctx;
		return ctx;
	}
	v = &vs->s[vs->next];
	vs->next = (vs->next + 1) % AV_VCTX_SLOTS;
	EVP_PKEY_CTX_free(v->ctx);
	EVP_PKEY_free(v->pk);
	v->pk = pk;
	v->kind = kind;
	v->ctx = ctx;
	v->olen = *olen;
	return ctx;
}

/* Append a DER length (X.690 8.1.3). */
static size_t
der_len(uint8_t *p, size_t n)
{
	if (n < 0x80) {
		p[0] = (uint8_t)n;
		return 1;
	}
	p[0] = 0x81;		/* n < 256 here */
	p[1] = (uint8_t)n;
	return 2;
}

/* Append a positive INTEGER of big-endian v[0..n) (n > 0, no leading 0). */
static size_t
der_uint(uint8_t *p, const uint8_t *v, size_t n)
{
	size_t	pad = (v[0] & 0x80) ? 1 : 0, k = 0;

	p[k++] = 0x02;
	k += der_len(p + k, n + pad);
	if (pad)
		p[k++] = 0;
	memcpy(p + k, v, n);
	return k + n;
}

/*
 * DER-encode (r, s) as an ECDSA-Sig-Value (SEC 1 C.8) for a group order
 * of olen bytes.  r and s are big-endian; after leading zeros they must
 * be non-zero and no longer than the group order.  der holds
 * AV_ECDSA_DER_MAX bytes.  Returns 0, or -1 with e set.
 */
#define AV_ECDSA_DER_MAX	(3 + 2 * (3 + 1 + 66))

static int
rs_to_der(size_t olen, const uint8_t *r, size_t rlen, const uint8_t *s,
    size_t slen, uint8_t der[AV_ECDSA_DER_MAX], size_t *derlen,
    struct av_err *e)
{
	uint8_t	body[2 * (3 + 1 + 66)];
	size_t	n, k;

	if ((r == NULL && rlen != 0) || (s == NULL && slen != 0))
		return AV_FAIL(e, AV_E_SIGNATURE, "ECDSA signature missing");
	strip_zeros(&r, &rlen);
	strip_zeros(&s, &slen);
	if (rlen == 0 || slen == 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "ECDSA r or s is zero");
	if (rlen > olen || slen > olen || olen > 66)
		return AV_FAIL(e, AV_E_SIGNATURE,
		    "ECDSA r or s longer than the curve order");
	n = der_uint(body, r, rlen);
	n += der_uint(body + n, s, slen);
	der[0] = 0x30;
	k = 1 + der_len(der + 1, n);
	memcpy(der + k, body, n);
	*derlen = k + n;
	return 0;
}

/*
 * Digest msg with md into out (64 bytes), the SHA-2 family through the
 * one-shot functions (no provider fetch per call).  Returns its length,
 * or 0.
 */
static size_t
digest(const EVP_MD *md, const uint8_t *msg, size_t n, uint8_t out[64])
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha256:
		av_sha256(msg, n, out);
		return 32;
	case NID_sha384:
		av_sha384(msg, n, out);
		return 48;
	case NID_sha512:
		av_sha512(msg, n, out);
		return 64;
	default:
		if (EVP_MD_get_size(md) <= 0 || EVP_MD_get_size(md) > 64 ||
		    av_digest(md, msg, n, out) != 0)
			return 0;
		return (size_t)EVP_MD_get_size(md);
	}
}

/* ECDSA over a digest with pk (borrowed).  Returns 0 or -1 with e. */
static int
verify_digest(EVP_PKEY *pk, const uint8_t *dgst, size_t dlen,
    const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen,
    struct av_err *e)
{
	EVP_PKEY_CTX	*ctx, *own = NULL;
	uint8_t		 der[AV_ECDSA_DER_MAX];
	size_t		 derlen = 0, olen = 0;
	int		 rc = -1;

	if ((ctx = vctx_get(pk, VCTX_ECDSA, NULL, &olen, &own, e)) == NULL)
		return -1;
	if (rs_to_der(olen, r, rlen, s, slen, der, &derlen, e) == -1)
		goto out;
	if (EVP_PKEY_verify(ctx, der, derlen, dgst, dlen) != 1) {
		ERR_clear_error();
		AV_FAIL(e, AV_E_SIGNATURE, "ECDSA signature does not verify");
		goto out;
	}
	rc = 0;
 out:
	EVP_PKEY_CTX_free(own);
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
	uint8_t	dgst[64];
	size_t	dlen;

	if (md == NULL)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "no digest for ECDSA");
	if (msg == NULL && msglen != 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "nothing signed");
	if ((dlen = digest(md, msg, msglen, dgst)) == 0)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "no digest for ECDSA");
	return verify_digest(pk, dgst, dlen, r, rlen, s, slen, e);
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
	if (dgst == NULL || dlen == 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "empty digest");
	return verify_digest(pk, dgst, dlen, r, rlen, s, slen, e);
}

/*
 * Verify an RSA signature (RFC 8017: RSASSA-PKCS1-v1_5, or RSASSA-PSS
 * with MGF1 of md and the salt length recovered) over msg with digest
 * md.  pk is borrowed.  Returns 0, or -1 with e = AV_E_SIGNATURE or
 * AV_E_UNSUPPORTED_ALG (not an RSA key, unusable digest).
 */
int
av_rsa_verify(EVP_PKEY *pk, const EVP_MD *md, bool pss, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen, struct av_err *e)
{
	EVP_PKEY_CTX	*ctx, *own = NULL;
	uint8_t		 dgst[64];
	size_t		 dlen, olen;
	int		 rc = -1;

	if (md == NULL || EVP_MD_get_type(md) == NID_undef)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "no digest for RSA");
	if ((msg == NULL && msglen != 0) || sig == NULL || siglen == 0)
		return AV_FAIL(e, AV_E_SIGNATURE, "nothing signed");
	if ((dlen = digest(md, msg, msglen, dgst)) == 0)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "no digest for RSA");
	if ((ctx = vctx_get(pk, (EVP_MD_get_type(md) << 2) | (pss ? 2 : 1),
	    md, &olen, &own, e)) == NULL)
		return -1;
	if (EVP_PKEY_verify(ctx, sig, siglen, dgst, dlen) != 1) {
		ERR_clear_error();
		AV_FAIL(e, AV_E_SIGNATURE, "RSA signature does not verify");
		goto out;
	}
	rc = 0;
 out:
	EVP_PKEY_CTX_free(own);
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

/*
 * Whether pk is an EC key on the named curve ("P-256", "P-384", "P-521",
 * or OpenSSL's names for them).  pk is borrowed and may be NULL.
 * Explicit-parameter keys have no group name and are never on a curve.
 */
bool
av_ec_is_curve(EVP_PKEY *pk, const char *curve)
{
	const char	*want, *have;
	char		 name[64];
	size_t		 fs, nl = 0;

	if (pk == NULL || (want = curve_group(curve, &fs)) == NULL ||
	    !EVP_PKEY_is_a(pk, "EC") ||
	    EVP_PKEY_get_group_name(pk, name, sizeof(name), &nl) != 1 ||
	    (have = curve_group(name, &fs)) == NULL)
		return false;
	return strcmp(want, have) == 0;
}
