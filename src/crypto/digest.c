/*
 * attestd - message digests (wrappers over OpenSSL EVP).
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
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
	switch (EVP_MD_get_type(md)) {
	case NID_sha256:
		av_sha256(p, n, out);
		return 0;
	case NID_sha384:
		av_sha384(p, n, out);
		return 0;
	case NID_sha512:
		av_sha512(p, n, out);
		return 0;
	default:
		break;
	}
	if (EVP_Digest(p != NULL ? p : empty, n, out, &len, md, NULL) != 1)
		return -1;
	return 0;
}

/*
 * SHA-2 through digests fetched once and a digest context kept per
 * thread: OpenSSL 3's one-shot SHA256() fetches the algorithm from the
 * provider on every call, which costs more than hashing a few kilobytes
 * (every quote and report hashes what it signs, and memo keys).  Falls
 * back to the one-shot functions when anything is missing.
 */
enum { SHA_256, SHA_384, SHA_512, SHA__COUNT };

static EVP_MD		*sha_md[SHA__COUNT];	/* fetched once, kept */
static pthread_once_t	 sha_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 sha_key;
static bool		 sha_key_ok;

static void
sha_ctx_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static void
sha_init(void)
{
	static const char *const names[SHA__COUNT] = {
		"SHA2-256", "SHA2-384", "SHA2-512"
	};

	for (int i = 0; i < SHA__COUNT; i++)
		sha_md[i] = EVP_MD_fetch(NULL, names[i], NULL);
	sha_key_ok = pthread_key_create(&sha_key, sha_ctx_free) == 0;
	ERR_clear_error();
}

/* Digest with the fetched digest `which`; false when it cannot. */
static bool
sha_fast(int which, const uint8_t *p, size_t n, uint8_t *out)
{
	EVP_MD_CTX	*ctx;
	unsigned int	 len;

	pthread_once(&sha_once, sha_init);
	if (sha_md[which] == NULL || !sha_key_ok)
		return false;
	if ((ctx = pthread_getspecific(sha_key)) == NULL) {
		if ((ctx = EVP_MD_CTX_new()) == NULL)
			return false;
		if (pthread_setspecific(sha_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			return false;
		}
	}
	if (EVP_DigestInit_ex2(ctx, sha_md[which], NULL) != 1 ||
	    EVP_DigestUpdate(ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1) {
		ERR_clear_error();
		return false;
	}
	return true;
}

/* SHA-256 of p[0..n) into out. */
void
av_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	static const uint8_t	empty[1];

	if (p == NULL)
		p = empty;
	if (!sha_fast(SHA_256, p, n, out))
		(void)SHA256(p, n, out);
}

/* SHA-384 of p[0..n) into out. */
void
av_sha384(const uint8_t *p, size_t n, uint8_t out[48])
{
	static const uint8_t	empty[1];

	if (p == NULL)
		p = empty;
	if (!sha_fast(SHA_384, p, n, out))
		(void)SHA384(p, n, out);
}

/* SHA-512 of p[0..n) into out. */
void
av_sha512(const uint8_t *p, size_t n, uint8_t out[64])
{
	static const uint8_t	empty[1];

	if (p == NULL)
		p = empty;
	if (!sha_fast(SHA_512, p, n, out))
		(void)SHA512(p, n, out);
}
