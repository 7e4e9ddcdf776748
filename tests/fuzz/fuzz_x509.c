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
	volatile int	 n = 0;	/* fingerprints taken */

	if ((x = av_x509_from_der(data, size)) != NULL) {
		n += av_x509_sha256(x, h) == 0;
		X509_free(x);
	}
	if ((sk = av_x509_parse_any(data, size)) != NULL) {
		for (int i = 0; i < sk_X509_num(sk); i++)
			n += av_x509_sha256(sk_X509_value(sk, i), h) == 0;
		sk_X509_pop_free(sk, X509_free);
	}
	(void)n;
	return 0;
}
