/*
 * attestd - verdict signing keys, EAR claims and JWT (JWS compact).
 */
#ifndef AV_VERDICT_H
#define AV_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "av/err.h"

struct av_result;

enum av_sig_alg { AV_ALG_ES256, AV_ALG_ES384, AV_ALG_EDDSA };
const char	*av_sig_alg_str(enum av_sig_alg);	/* "ES256", ... */
/* Parse "ES256" etc. Returns 0/-1. */
AV_MUST_USE int	 av_sig_alg_parse(const char *, enum av_sig_alg *);

struct av_signer {
	EVP_PKEY	*pkey;		/* owned */
	enum av_sig_alg	 alg;
	char		 kid[44];	/* RFC 7638 thumbprint, base64url */
};

/*
 * Load a PEM private key from file; if the file does not exist and
 * create is true, generate a key for alg and write it with mode 0600
 * (the directory must exist).  An existing key decides the algorithm
 * (P-256: ES256, P-384: ES384, Ed25519: EdDSA; a difference from alg is
 * logged); any other key type is AV_E_CONFIG.  A missing file without
 * create is AV_E_CONFIG.  Returns a new signer or NULL with e set.
 */
struct av_signer *av_signer_load(const char *file, enum av_sig_alg alg,
    bool create, struct av_err *e);
/* A signer from an existing key (reference taken). */
struct av_signer *av_signer_from_pkey(EVP_PKEY *pk, struct av_err *e);
void	av_signer_free(struct av_signer *);
/* The public JWK of the signer (new reference), with kid, alg, use=sig. */
json_t	*av_signer_jwk(const struct av_signer *);
/* {"keys": [...]} for the signers given (new reference). */
json_t	*av_jwks(const struct av_signer *const *signers, size_t n);
/*
 * Sign claims as a JWS compact serialisation with header
 * {"alg", "typ": "JWT", "kid"}.  Returns a malloc'd string or NULL.
 */
char	*av_jwt_sign(const struct av_signer *, const json_t *claims,
	    struct av_err *e);
/*
 * Verify a compact JWS against the signers given (by kid) and return
 * its claims (new reference) or NULL.  Used by tests and attestctl.
 */
json_t	*av_jwt_verify(const char *jwt, const struct av_signer *const *s,
	    size_t n, struct av_err *e);

/*
 * v (an object or array) serialised compact, byte for byte what
 * json_dumps(v, JSON_COMPACT) gives, faster (src/verdict/jsonout.c).
 * Malloc'd (caller frees), length in *len if len; NULL on failure.
 */
char	*av_json_dumps_compact(const json_t *v, size_t *len);

/* Identity of this verifier in verdicts. */
#define AV_EAR_PROFILE	"tag:github.com,2023:veraison/ear"
#define AV_DEVELOPER	"https://attestd.dev"

/*
 * EAR claims for a result (draft-fv-rats-ear): eat_profile, iat, exp
 * (iat + ttl), eat_nonce (when the request had one), ear.verifier-id,
 * submods with status, trust vector, policy id, annotated evidence,
 * key attestation and attestd.reasons.  New reference.
 */
json_t	*av_ear_claims(const struct av_result *, int64_t iat, int64_t ttl);

#endif
