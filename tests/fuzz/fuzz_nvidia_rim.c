/*
 * Fuzz target for the NVIDIA RIM reader (src/evidence/nvidia_rim.c):
 * libxml2 parsing without DTDs, the SWID structure, KeyInfo
 * certificates, and the xmlsec1 signature check (with no anchors the
 * chain check then fails).  Seeds: evidence/nvidia-gpu/rim/{good,bad}/
 * (made by tests/unit/test_nvidia_gpu.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "av/crypto.h"
#include "evidence/nvgpu.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct av_trust	*trust;
	struct nv_rim		*rim = NULL;
	struct av_err		 e = { 0 };

	if (trust == NULL && (trust = av_trust_new()) == NULL)
		abort();
	if (nv_rim_parse(data, size, &rim, &e) == 0) {
		if (rim == NULL || rim->signer == NULL)
			abort();
		for (size_t i = 0; i < rim->nmeas; i++)
			if (rim->meas[i].nalt == 0 ||
			    rim->meas[i].nalt > NV_RIM_MAX_ALT ||
			    nv_rim_find(rim, rim->meas[i].index) == NULL)
				abort();
		nv_rim_free(rim);
		rim = NULL;
		/* the built-in pins never match a fuzzed chain */
		if (nv_rim_load(trust, data, size, NULL, 0, &rim, &e) == 0)
			abort();
	} else if (rim != NULL || e.reason == NULL)
		abort();
	return 0;
}
