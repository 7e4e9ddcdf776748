/*
 * Fuzz target for the collateral classifier (av_collateral_add): JSON,
 * XML, PEM blocks of certificates and CRLs, DER certificates and CRLs,
 * and anything else.  Each input goes into a fresh store, then the store
 * is walked the way backends walk it.  Seeds: evidence/collateral/.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "av/collateral.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct av_collateral		*c;
	const struct av_coll_blob	*b;
	STACK_OF(X509)			*certs;
	STACK_OF(X509_CRL)		*crls;
	struct av_err			 e;
	size_t				 total = 0;

	if ((c = av_collateral_new(NULL)) == NULL)
		return 0;
	if (av_collateral_add(c, p, n, "fuzz", &e) == 0) {
		for (int k = AV_COLL_CERT; k <= AV_COLL_OTHER; k++)
			for (size_t i = 0;
			    (b = av_collateral_get(c, (enum av_coll_kind)k, i));
			    i++) {
				if (av_collateral_find(c, b->sha256) != b)
					abort();
				total += b->len;
			}
		if ((certs = av_collateral_certs(c)) != NULL)
			sk_X509_free(certs);
		if ((crls = av_collateral_crls(c)) != NULL)
			sk_X509_CRL_free(crls);
		/* PEM may shrink to DER, but never grow past the input */
		if (total > n)
			abort();
	}
	av_collateral_free(c);
	return 0;
}
