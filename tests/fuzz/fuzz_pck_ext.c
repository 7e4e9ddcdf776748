/*
 * Fuzz target for the Intel DCAP pieces beside the quote: the PCK
 * certificate SGX extension (ASN.1), and the signed TCB info / QE
 * identity documents with the raw JSON span finder.  Inputs starting with
 * '{' go to the JSON parsers, the rest to the DER parser.  Seeds:
 * evidence/tdx-pck/ (made by tests/unit/test_tdx.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct dcap_pck_ext	 x;
	struct dcap_tcb_info	*ti = NULL;
	struct dcap_qe_identity	*qi = NULL;
	struct av_err		 e = { 0 };
	size_t			 off, len;

	if (n > 0 && p[0] == '{') {
		if (dcap_json_member_span(p, n, "tcbInfo", &off, &len) == 0 &&
		    (off > n || len > n - off))
			abort();
		if (dcap_tcb_info_parse(p, n, NULL, &ti, &e) == 0) {
			if (ti->nlevels == 0 || ti->doc.body_off +
			    ti->doc.body_len > ti->doc.len)
				abort();
			dcap_tcb_info_free(ti);
		}
		if (dcap_qe_identity_parse(p, n, NULL, &qi, &e) == 0) {
			if (qi->nlevels == 0)
				abort();
			dcap_qe_identity_free(qi);
		}
		/* the bare-body form with a detached signature */
		if (dcap_tcb_info_parse(p, n, "00000000000000000000000000000000"
		    "000000000000000000000000000000000000000000000000000000000000"
		    "000000000000000000000000000000000000", &ti, &e) == 0)
			dcap_tcb_info_free(ti);
		return 0;
	}
	memset(&x, 0, sizeof(x));
	if (dcap_pck_ext_parse(p, n, &x, &e) != 0 && e.reason == NULL)
		abort();
	return 0;
}
