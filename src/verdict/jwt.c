/*
 * attestd - JWS compact serialisation (RFC 7515 s.7.1) of JWT claims
 * (RFC 7519) with ES256/ES384 (RFC 7518 s.3.4: raw r || s, each the
 * curve size) and EdDSA over Ed25519 (RFC 8037 s.3.1).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "av/codec.h"
#include "av/verdict.h"

/* Larger than any verdict we make (16 submods of claims); caps parsing. */
#define JWT_MAX_LEN	(8u << 20)

/* Digest and size of r and s (ECDSA) or of the signature (EdDSA). */
static const EVP_MD *
alg_md(enum av_sig_alg alg, size_t *half)
{
	switch (alg) {
	case AV_ALG_ES256:
		*half = 32;
		return EVP_sha256();
	case AV_ALG_ES384:
		*half = 48;
		return EVP_sha384();
	case AV_ALG_EDDSA:
	default:
		*half = 0;
		return NULL;
	}
}

/* Length of a JWS signature for alg (RFC 7518 s.3.4, RFC 8032 s.5.1.6). */
static size_t
alg_siglen(enum av_sig_alg alg)
{
	size_t half;

	(void)alg_md(alg, &half);
	return alg == AV_ALG_EDDSA ? 64 : 2 * half;
}

/*
 * Sign msg with s.  On success *sig is malloc'd (caller frees) holding
 * alg_siglen() bytes.  Returns 0 or -1 with e set.
 */
static int
sign_raw(const struct av_signer *s, const uint8_t *msg, size_t n,
    uint8_t **sig, size_t *siglen, struct av_err *e)
{
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	const BIGNUM	*r, *sv;
	const EVP_MD	*md;
	uint8_t		*der = NULL, *out = NULL;
	const uint8_t	*dp;
	size_t		 derlen = 0, half, want = alg_siglen(s->alg);
	int		 rc = -1;

	md = alg_md(s->alg, &half);
	ERR_clear_error();
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    (out = malloc(want)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &derlen, msg, n) != 1 ||
	    (der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(ctx, der, &derlen, msg, n) != 1) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
		goto out;
	}
	if (s->alg == AV_ALG_EDDSA) {
		if (derlen != want) {
			AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
			goto out;
		}
		memcpy(out, der, want);
	} else {
		/* DER ECDSA-Sig-Value -> fixed-length r || s */
		dp = der;
		if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)) == NULL) {
			AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
			goto out;
		}
		ECDSA_SIG_get0(es, &r, &sv);
		if (BN_bn2binpad(r, out, (int)half) != (int)half ||
		    BN_bn2binpad(sv, out + half, (int)half) != (int)half) {
			AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
			goto out;
		}
	}
	*sig = out;
	*siglen = want;
	out = NULL;
	rc = 0;
 out:
	ECDSA_SIG_free(es);
	free(der);
	free(out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Verify sig (alg_siglen() bytes, checked by the caller) over msg with
 * the key of s.  Returns 0 or -1 with e = AV_E_SIGNATURE.
 */
static int
verify_raw(const struct av_signer *s, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t siglen, struct av_err *e)
{
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *sv = NULL;
	const EVP_MD	*md;
	uint8_t		*der = NULL;
	const uint8_t	*tbv = sig;
	size_t		 half, tbvlen = siglen;
	int		 derlen, rc = -1;

	md = alg_md(s->alg, &half);
	ERR_clear_error();
	if (s->alg != AV_ALG_EDDSA) {
		/* fixed-length r || s -> DER for OpenSSL */
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
		    (sv = BN_bin2bn(sig + half, (int)half, NULL)) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		if (!ECDSA_SIG_set0(es, r, sv)) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		r = sv = NULL;		/* owned by es */
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		tbv = der;
		tbvlen = (size_t)derlen;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, s->pkey) != 1 ||
	    EVP_DigestVerify(ctx, tbv, tbvlen, msg, n) != 1) {
		AV_FAIL(e, AV_E_SIGNATURE, "jwt: signature does not verify");
		goto out;
	}
	rc = 0;
 out:
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* "<a>.<b>" (malloc'd) or NULL. */
static char *
join_dot(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	char	*s;

	if ((s = malloc(la + 1 + lb + 1)) == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = '.';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

/*
 * Sign claims (a JSON object) as a JWS compact serialisation (RFC 7515
 * s.7.1) with the protected header {"alg", "kid", "typ": "JWT"} (in
 * that order, byte-stable); header and claims are serialised compact, in
 * the order their members were added (jansson keeps insertion order;
 * av_ear_claims() builds in a fixed order), so equal inputs built the
 * same way give equal tokens (ECDSA signatures still vary).  Claims are
 * not re-sorted: sorting cost a key array and a qsort per object on
 * every verdict, and JWT consumers do not depend on member order
 * (RFC 7519 s.7.2 parses the payload as JSON).  Returns a malloc'd
 * NUL-terminated string (caller frees) or NULL with e set.
 */
char *
av_jwt_sign(const struct av_signer *s, const json_t *claims,
    struct av_err *e)
{
	json_t	*hdr = NULL;
	char	*h = NULL, *p = NULL, *hb = NULL, *pb = NULL, *sb = NULL;
	char	*input = NULL, *jwt = NULL;
	uint8_t	*sig = NULL;
	size_t	 siglen = 0;

	if (s == NULL || s->pkey == NULL || !json_is_object(claims)) {
		AV_FAIL(e, AV_E_INTERNAL, "jwt: nothing to sign");
		return NULL;
	}
	/* members in sorted order already: {"alg","kid","typ"} */
	if ((hdr = json_pack("{s:s, s:s, s:s}", "alg",
	    av_sig_alg_str(s->alg), "kid", s->kid, "typ", "JWT")) == NULL ||
	    (h = av_json_dumps_compact(hdr, NULL)) == NULL ||
	    (p = av_json_dumps_compact(claims, NULL)) == NULL ||
	    (hb = av_b64url_encode((const uint8_t *)h, strlen(h))) == NULL ||
	    (pb = av_b64url_encode((const uint8_t *)p, strlen(p))) == NULL ||
	    (input = join_dot(hb, pb)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (sign_raw(s, (const uint8_t *)input, strlen(input), &sig, &siglen,
	    e) == -1)
		goto out;
	if ((sb = av_b64url_encode(sig, siglen)) == NULL ||
	    (jwt = join_dot(input, sb)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
 out:
	json_decref(hdr);
	free(h);
	free(p);
	free(hb);
	free(pb);
	free(sb);
	free(input);
	free(sig);
	return jwt;
}

/*
 * Decode one segment: unpadded base64url only (RFC 7515 s.2), no
 * padding, whitespace or '+' '/'.  Returns 0 and *out (caller frees),
 * or -1.
 */
static int
b64url_strict(const char *p, size_t n, uint8_t **out, size_t *outlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	return av_b64_decode(p, n, out, outlen);
}

/* Decode a segment holding a JSON object (duplicates rejected); new ref. */
static json_t *
segment_object(const char *p, size_t n)
{
	uint8_t		*raw = NULL;
	size_t		 rawlen = 0;
	json_t		*o;
	json_error_t	 jerr;

	if (b64url_strict(p, n, &raw, &rawlen) == -1)
		return NULL;
	o = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES,
	    &jerr);
	free(raw);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/*
 * Verify a JWS compact serialisation against the signers given and
 * return its claims.  The header must name a kid of one of them and
 * that key's algorithm exactly; "none", any other algorithm and any
 * "crit" header are refused (RFC 7515 s.4.1.11, RFC 8725 s.3.1); the
 * signature must have the algorithm's exact length.  The payload is
 * parsed only after the signature verifies.  Times ("exp", "iat") are
 * not checked here: that is the caller's policy.  Returns the claims
 * object (new reference) or NULL with e set: AV_E_MALFORMED,
 * AV_E_UNSUPPORTED_ALG, AV_E_SIGNATURE (bad signature or unknown kid).
 */
json_t *
av_jwt_verify(const char *jwt, const struct av_signer *const *signers,
    size_t n, struct av_err *e)
{
	const struct av_signer	*s = NULL;
	const char		*d1, *d2, *alg_s, *kid, *typ;
	json_t			*hdr = NULL, *claims = NULL, *v;
	uint8_t			*sig = NULL;
	size_t			 len, siglen = 0, i;
	enum av_sig_alg		 alg;

	if (jwt == NULL) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: missing");
		return NULL;
	}
	if ((len = strnlen(jwt, JWT_MAX_LEN + 1)) > JWT_MAX_LEN) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: too large");
		return NULL;
	}
	/* exactly three segments: header.payload.signature */
	if ((d1 = memchr(jwt, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: not a JWS compact serialisation");
		return NULL;
	}
	if ((hdr = segment_object(jwt, (size_t)(d1 - jwt))) == NULL) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: bad header");
		goto out;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "jwt: critical header parameters not supported");
		goto out;
	}
	if ((alg_s = json_string_value(json_object_get(hdr, "alg"))) == NULL) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: header has no alg");
		goto out;
	}
	if (strcmp(alg_s, "none") == 0) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "jwt: alg none is not accepted");
		goto out;
	}
	if (av_sig_alg_parse(alg_s, &alg) == -1) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "jwt: unsupported alg");
		goto out;
	}
	if ((v = json_object_get(hdr, "typ")) != NULL &&
	    ((typ = json_string_value(v)) == NULL ||
	    strcasecmp(typ, "JWT") != 0)) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: typ is not JWT");
		goto out;
	}
	if ((kid = json_string_value(json_object_get(hdr, "kid"))) == NULL) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: header has no kid");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (signers[i] != NULL && strcmp(signers[i]->kid, kid) == 0) {
			s = signers[i];
			break;
		}
	if (s == NULL) {
		AV_FAIL(e, AV_E_SIGNATURE, "jwt: unknown key id");
		goto out;
	}
	if (s->alg != alg) {
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "jwt: alg does not match the key");
		goto out;
	}
	if (b64url_strict(d2 + 1, len - (size_t)(d2 + 1 - jwt), &sig,
	    &siglen) == -1) {
		AV_FAIL(e, AV_E_MALFORMED, "jwt: bad signature encoding");
		goto out;
	}
	if (siglen != alg_siglen(alg)) {
		AV_FAIL(e, AV_E_SIGNATURE, "jwt: bad signature length");
		goto out;
	}
	if (verify_raw(s, (const uint8_t *)jwt, (size_t)(d2 - jwt), sig,
	    siglen, e) == -1)
		goto out;
	if ((claims = segment_object(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
		AV_FAIL(e, AV_E_MALFORMED, "jwt: bad payload");
 out:
	json_decref(hdr);
	free(sig);
	return claims;
}
