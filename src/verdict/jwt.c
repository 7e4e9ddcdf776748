/*
 * attestd - JWS compact serialisation (RFC 7515 s.7.1) of JWT claims
 * (RFC 7519) with ES256/ES384 (RFC 7518 s.3.4: raw r || s, each the
 * curve size) and EdDSA over Ed25519 (RFC 8037 s.3.1).  Verdicts are
 * signed on per-thread prepared contexts (see sctx below).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "av/codec.h"
#include "av/crypto.h"
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
 * Prepared signing contexts, per thread, by key object: preparing a
 * context (EVP_DigestSignInit) fetches the algorithm from the provider
 * and sets up the key on every call, ~25 k instructions per verdict.
 * ECDSA keeps an EVP_PKEY_CTX with EVP_PKEY_sign_init done and signs the
 * digest (as src/crypto/sig.c verifies, and as openssl speed signs);
 * EdDSA (pure Ed25519 hashes the message itself) keeps an EVP_MD_CTX
 * with EVP_DigestSignInit done as a template that is copied for each
 * signature, which OpenSSL documents as safe, where reusing a context
 * after a one-shot EVP_DigestSign is not.  A slot holds a reference to
 * its key, so a rotated-out key stays valid (and its address cannot be
 * taken by a new key) while the slot lives; freed at thread exit.
 */
#define SCTX_SLOTS	4

struct sctx {
	EVP_PKEY	*pk;		/* owned reference */
	enum av_sig_alg	 alg;
	EVP_PKEY_CTX	*pctx;		/* ECDSA: sign_init done (owned) */
	EVP_MD_CTX	*tmpl;		/* EdDSA: DigestSignInit done (owned) */
	EVP_MD_CTX	*work;		/* EdDSA: a copy of tmpl per use (owned) */
};

struct sctx_set {
	struct sctx	 s[SCTX_SLOTS];
	unsigned	 next;
};

static pthread_key_t	sctx_key;
static pthread_once_t	sctx_once = PTHREAD_ONCE_INIT;
static bool		sctx_ok;

static void
sctx_clear(struct sctx *c)
{
	EVP_PKEY_CTX_free(c->pctx);
	EVP_MD_CTX_free(c->tmpl);
	EVP_MD_CTX_free(c->work);
	EVP_PKEY_free(c->pk);
	memset(c, 0, sizeof(*c));
}

static void
sctx_set_free(void *p)
{
	struct sctx_set *ss = p;

	if (ss == NULL)
		return;
	for (int i = 0; i < SCTX_SLOTS; i++)
		sctx_clear(&ss->s[i]);
	free(ss);
}

static void
sctx_init(void)
{
	sctx_ok = pthread_key_create(&sctx_key, sctx_set_free) == 0;
}

/* Prepare c for pk (reference taken) and alg.  Returns 0 or -1. */
static int
sctx_make(struct sctx *c, EVP_PKEY *pk, enum av_sig_alg alg)
{
	memset(c, 0, sizeof(*c));
	if (alg == AV_ALG_EDDSA) {
		if ((c->tmpl = EVP_MD_CTX_new()) == NULL ||
		    (c->work = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(c->tmpl, NULL, NULL, NULL, pk) != 1)
			goto fail;
	} else if ((c->pctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_sign_init(c->pctx) != 1)
		goto fail;
	if (EVP_PKEY_up_ref(pk) != 1)
		goto fail;
	c->pk = pk;
	c->alg = alg;
	return 0;
 fail:
	sctx_clear(c);
	ERR_clear_error();
	return -1;
}

/*
 * This thread's prepared context for s, or one in *own (caller clears
 * and frees it) when there is no per-thread cache.  NULL on failure.
 */
static struct sctx *
sctx_get(const struct av_signer *s, struct sctx **own)
{
	struct sctx_set	*ss = NULL;
	struct sctx	*c;

	*own = NULL;
	pthread_once(&sctx_once, sctx_init);
	if (sctx_ok && (ss = pthread_getspecific(sctx_key)) != NULL)
		for (int i = 0; i < SCTX_SLOTS; i++)
			if (ss->s[i].pk == s->pkey && ss->s[i].alg == s->alg)
				return &ss->s[i];
	if (sctx_ok && ss == NULL && (ss = calloc(1, sizeof(*ss))) != NULL &&
	    pthread_setspecific(sctx_key, ss) != 0) {
		free(ss);
		ss = NULL;
	}
	if (ss == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		if (sctx_make(c, s->pkey, s->alg) == -1) {
			free(c);
			return NULL;
		}
		*own = c;
		return c;
	}
	c = &ss->s[ss->next];
	ss->next = (ss->next + 1) % SCTX_SLOTS;
	sctx_clear(c);
	if (sctx_make(c, s->pkey, s->alg) == -1)
		return NULL;
	return c;
}

/* One DER INTEGER (short length) at *p into out[0..half), left-padded. */
static int
der_int_fixed(const uint8_t **p, const uint8_t *end, uint8_t *out,
    size_t half)
{
	const uint8_t	*q = *p;
	size_t		 n;

	if (end - q < 2 || q[0] != 0x02 || (q[1] & 0x80) != 0)
		return -1;
	n = q[1];
	q += 2;
	if ((size_t)(end - q) < n || n == 0 || (q[0] & 0x80) != 0)
		return -1;
	*p = q + n;
	while (n > 0 && q[0] == 0) {
		q++;
		n--;
	}
	if (n > half)
		return -1;
	memset(out, 0, half - n);
	memcpy(out + half - n, q, n);
	return 0;
}

/*
 * DER ECDSA-Sig-Value (SEC 1 C.8), as OpenSSL writes it, to the JWS
 * form: r || s, each half bytes (RFC 7518 s.3.4).  Returns 0 or -1.
 */
static int
der_to_rs(const uint8_t *der, size_t n, uint8_t *out, size_t half)
{
	const uint8_t	*p = der, *end = der + n;
	size_t		 len;

	if (n < 2 || p[0] != 0x30)
		return -1;
	if (p[1] < 0x80) {
		len = p[1];
		p += 2;
	} else if (p[1] == 0x81 && n >= 3) {
		len = p[2];
		p += 3;
	} else
		return -1;
	if ((size_t)(end - p) != len ||
	    der_int_fixed(&p, end, out, half) == -1 ||
	    der_int_fixed(&p, end, out + half, half) == -1 || p != end)
		return -1;
	return 0;
}

/*
 * Sign msg with s on this thread's prepared context.  On success *sig
 * is malloc'd (caller frees) holding alg_siglen() bytes.  Returns 0 or
 * -1 with e set.
 */
static int
sign_raw(const struct av_signer *s, const uint8_t *msg, size_t n,
    uint8_t **sig, size_t *siglen, struct av_err *e)
{
	struct sctx	*c, *own = NULL;
	uint8_t		 dgst[64], der[160], *out = NULL;
	size_t		 derlen = sizeof(der), dlen, half,
			 want = alg_siglen(s->alg);
	int		 rc = -1;

	(void)alg_md(s->alg, &half);
	ERR_clear_error();
	if ((out = malloc(want)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if ((c = sctx_get(s, &own)) == NULL) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
		goto out;
	}
	if (s->alg == AV_ALG_EDDSA) {
		derlen = want;
		if (EVP_MD_CTX_copy_ex(c->work, c->tmpl) != 1 ||
		    EVP_DigestSign(c->work, out, &derlen, msg, n) != 1 ||
		    derlen != want) {
			AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
			goto out;
		}
	} else {
		if (s->alg == AV_ALG_ES256) {
			av_sha256(msg, n, dgst);
			dlen = 32;
		} else {
			av_sha384(msg, n, dgst);
			dlen = 48;
		}
		if (EVP_PKEY_sign(c->pctx, der, &derlen, dgst, dlen) != 1 ||
		    der_to_rs(der, derlen, out, half) == -1) {
			AV_FAIL(e, AV_E_INTERNAL, "cannot sign the verdict");
			goto out;
		}
	}
	*sig = out;
	*siglen = want;
	out = NULL;
	rc = 0;
 out:
	if (own != NULL) {
		sctx_clear(own);
		free(own);
	}
	free(out);
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
