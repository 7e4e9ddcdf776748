/*
 * attestd - X.509 certificate parsing (RFC 5280) from DER or PEM
 * (RFC 7468) and DER fingerprints.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/memo.h"

/* At most this many certificates in one buffer (CA bundles included). */
#define AV_X509_MAX_CERTS	1024

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/*
 * Parse exactly one DER certificate filling p[0..n) (no trailing bytes).
 * Returns a new X509 (caller: X509_free) or NULL.
 */
X509 *
av_x509_from_der(const uint8_t *p, size_t n)
{
	const unsigned char	*q = p;
	X509			*x;

	if (p == NULL || n == 0 || n > LONG_MAX)
		return NULL;
	if ((x = d2i_X509(NULL, &q, (long)n)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if ((size_t)(q - p) != n) {	/* trailing bytes */
		X509_free(x);
		return NULL;
	}
	return x;
}

/* First occurrence of needle in p[0..n) (NUL bytes allowed), or NULL. */
static const uint8_t *
find(const uint8_t *p, size_t n, const char *needle)
{
	size_t	nl = strlen(needle);

	if (nl == 0 || n < nl)
		return NULL;
	for (size_t i = 0; i <= n - nl; i++)
		if (p[i] == (uint8_t)needle[0] &&
		    memcmp(p + i, needle, nl) == 0)
			return p + i;
	return NULL;
}

/* Parsed certificates by their DER, and certificate lists by their text. */
static struct av_memo der_memo = AV_MEMO_INITIALIZER(av_memo_ref_x509,
    av_memo_unref_x509);
static struct av_memo list_memo = AV_MEMO_INITIALIZER(
    av_memo_ref_x509_stack, av_memo_unref_x509_stack);

/*
 * av_x509_from_der() through the memo: the same DER gives the same
 * shared X509 object.  Returns a new reference (caller: X509_free) or
 * NULL.
 */
X509 *
av_x509_from_der_cached(const uint8_t *p, size_t n)
{
	X509 *x;

	if (p == NULL || n == 0)
		return NULL;
	if ((x = av_memo_get(&der_memo, 'D', p, n, NULL, 0)) != NULL)
		return x;
	if ((x = av_x509_from_der(p, n)) != NULL)
		av_memo_put(&der_memo, 'D', p, n, NULL, 0, x);
	return x;
}

/*
 * Parse every PEM CERTIFICATE block in p[0..n); text and NUL bytes around
 * the blocks are ignored, a malformed block fails the whole buffer.
 * Each DER goes through from_der.  Returns 0 with certs pushed to sk, or
 * -1.
 */
static int
parse_pem(const uint8_t *p, size_t n, STACK_OF(X509) *sk,
    X509 *(*from_der)(const uint8_t *, size_t))
{
	const uint8_t	*b, *body, *end;
	uint8_t		*der = NULL;
	size_t		 derlen;
	X509		*x;

	while ((b = find(p, n, pem_begin)) != NULL) {
		body = b + strlen(pem_begin);
		n -= (size_t)(body - p);
		p = body;
		if ((end = find(p, n, pem_end)) == NULL)
			return -1;	/* unterminated block */
		if (sk_X509_num(sk) >= AV_X509_MAX_CERTS)
			return -1;
		if (av_b64_decode((const char *)body, (size_t)(end - body),
		    &der, &derlen) == -1)
			return -1;
		x = from_der(der, derlen);
		free(der);
		der = NULL;
		if (x == NULL)
			return -1;
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			return -1;
		}
		n -= (size_t)(end + strlen(pem_end) - p);
		p = end + strlen(pem_end);
	}
	return 0;
}

/* Every certificate in p[0..n), each DER through from_der. */
static STACK_OF(X509) *
parse_any(const uint8_t *p, size_t n, X509 *(*from_der)(const uint8_t *,
    size_t))
{
	STACK_OF(X509)	*sk;
	X509		*x;

	if (p == NULL || n == 0)
		return NULL;
	if ((sk = sk_X509_new_null()) == NULL)
		return NULL;
	/* DER SEQUENCE; else text (which may start with '0', also 0x30) */
	if (p[0] == 0x30 && (x = from_der(p, n)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			goto fail;
		}
		return sk;
	}
	if (parse_pem(p, n, sk, from_der) == -1 || sk_X509_num(sk) == 0)
		goto fail;
	return sk;
 fail:
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

/*
 * Parse every certificate in p[0..n): one DER certificate, or any number
 * of PEM blocks (RFC 7468; text between them ignored, NULs tolerated).
 * Returns a new non-empty stack (caller: sk_X509_pop_free(sk, X509_free))
 * or NULL.
 */
STACK_OF(X509) *
av_x509_parse_any(const uint8_t *p, size_t n)
{
	return parse_any(p, n, av_x509_from_der);
}

/*
 * av_x509_parse_any() through the memos: the same bytes give a new stack
 * of new references to the same shared X509 objects, and a certificate
 * is one object whether it came as DER or in any PEM list.  Returns a
 * new non-empty stack (caller: sk_X509_pop_free(sk, X509_free)) or NULL.
 */
STACK_OF(X509) *
av_x509_parse_any_cached(const uint8_t *p, size_t n)
{
	STACK_OF(X509) *sk;

	if (p == NULL || n == 0)
		return NULL;
	if ((sk = av_memo_get(&list_memo, 'L', p, n, NULL, 0)) != NULL)
		return sk;
	if ((sk = parse_any(p, n, av_x509_from_der_cached)) != NULL)
		av_memo_put(&list_memo, 'L', p, n, NULL, 0, sk);
	return sk;
}

/*
 * SHA-256 of x's DER encoding into out (x borrowed).  Returns 0/-1.
 */
int
av_x509_sha256(X509 *x, uint8_t out[32])
{
	unsigned int	len = 0;

	if (x == NULL || X509_digest(x, EVP_sha256(), out, &len) != 1 ||
	    len != 32) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}
