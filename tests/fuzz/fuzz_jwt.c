/*
 * Fuzz target for av_jwt_verify (JWS compact parsing).
 *
 * Each input is verified as given, then once more with everything before
 * its last '.' re-signed by the harness key, so that header and payload
 * parsing behind the signature check is reached as well.  The harness
 * key is the Ed25519 key of RFC 8037 appendix A.1; seeds in
 * evidence/jwt/ are signed with it (kid kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "av/codec.h"
#include "av/verdict.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t harness_d[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
	0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

static struct av_signer *
harness_signer(void)
{
	static struct av_signer	*s;
	struct av_err		 e;
	EVP_PKEY		*pk;

	if (s != NULL)
		return s;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, harness_d,
	    sizeof(harness_d));
	if (pk == NULL)
		abort();
	if ((s = av_signer_from_pkey(pk, &e)) == NULL)
		abort();
	EVP_PKEY_free(pk);
	return s;
}

/* "<input>.<b64url(EdDSA(input))>", malloc'd, or NULL. */
static char *
resign(const struct av_signer *s, const char *input)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 sig[64];
	size_t		 siglen = sizeof(sig), n = strlen(input);
	char		*b64 = NULL, *out = NULL;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)input,
	    n) == 1 &&
	    (b64 = av_b64url_encode(sig, siglen)) != NULL &&
	    (out = malloc(n + 1 + strlen(b64) + 1)) != NULL) {
		memcpy(out, input, n);
		out[n] = '.';
		memcpy(out + n + 1, b64, strlen(b64) + 1);
	}
	free(b64);
	EVP_MD_CTX_free(ctx);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct av_signer	*s = harness_signer();
	struct av_err		 e;
	char			*jwt, *dot, *re;

	if ((jwt = malloc(size + 1)) == NULL)
		return 0;
	memcpy(jwt, data, size);
	jwt[size] = '\0';
	json_decref(av_jwt_verify(jwt, &s, 1, &e));
	if ((dot = strrchr(jwt, '.')) != NULL) {
		*dot = '\0';
		if ((re = resign(s, jwt)) != NULL) {
			json_decref(av_jwt_verify(re, &s, 1, &e));
			free(re);
		}
	}
	free(jwt);
	return 0;
}
