/*
 * attestd - message digests (thin wrappers over OpenSSL EVP).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "av/crypto.h"

/*
 * Digest p[0..n) with md into out, which holds EVP_MD_get_size(md) bytes.
 * Returns 0, or -1 (no digest, or p NULL with n > 0).
 */
int
av_digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out)
{
	static const uint8_t	 empty[1];
	unsigned int		 len;

	if (md == NULL || out == NULL || (p == NULL && n != 0))
		return -1;
	if (EVP_Digest(p != NULL ? p : empty, n, out, &len, md, NULL) != 1)
		return -1;
	return 0;
}

/* SHA-256 of p[0..n) into out. */
void
av_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	static const uint8_t	empty[1];

	(void)SHA256(p != NULL ? p : empty, n, out);
}

/* SHA-384 of p[0..n) into out. */
void
av_sha384(const uint8_t *p, size_t n, uint8_t out[48])
{
	static const uint8_t	empty[1];

	(void)SHA384(p != NULL ? p : empty, n, out);
}

/* SHA-512 of p[0..n) into out. */
void
av_sha512(const uint8_t *p, size_t n, uint8_t out[64])
{
	static const uint8_t	empty[1];

	(void)SHA512(p != NULL ? p : empty, n, out);
}
