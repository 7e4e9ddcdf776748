/*
 * Fuzz target for the TCG PC Client event log parser (crypto-agile and
 * SHA-1 formats), its replay per bank, and the claims and policy facts
 * drawn from it.  Seeds: evidence/tpm/eventlog/ (the log the swtpm test
 * extends into its PCRs).
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "evidence/tpm.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static uint8_t		 vals[TPM_NPCR][TPM_MAX_DIGEST];
	struct tpm_evlog	*l = NULL;
	struct tpm_boot_facts	 f;
	struct av_err		 e;
	uint32_t		 touched;
	json_t			*c;

	if (tpm_evlog_parse(p, n, &l, &e) != 0)
		return 0;
	for (int b = 0; b < TPM_NBANKS; b++)
		(void)tpm_evlog_replay(l, b, vals, &touched);
	if ((c = tpm_evlog_claims(l, 0x00ffffffu)) != NULL)
		json_decref(c);
	if (tpm_evlog_facts(l, 0x00ffffffu, &f) == 0)
		tpm_boot_facts_cleanup(&f);
	tpm_evlog_free(l);
	return 0;
}
