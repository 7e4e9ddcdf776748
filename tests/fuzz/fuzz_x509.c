/*
 * Fuzz target: certificate parsing (av_x509_parse_any: one DER
 * certificate or PEM blocks with text and NULs around them) and the DER
 * fingerprint of whatever parsed.
 */
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "av/crypto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509)	*sk;
	X509		*x;
	uint8_t		 h[32];

	if ((x = av_x509_from_der(data, size)) != NULL) {
		(void)av_x509_sha256(x, h);
		X509_free(x);
	}
	if ((sk = av_x509_parse_any(data, size)) != NULL) {
		for (int i = 0; i < sk_X509_num(sk); i++)
			(void)av_x509_sha256(sk_X509_value(sk, i), h);
		sk_X509_pop_free(sk, X509_free);
	}
	return 0;
}
