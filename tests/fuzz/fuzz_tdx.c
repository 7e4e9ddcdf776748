/*
 * Fuzz target for the TDX quote parser (DCAP quote v4/v5, certification
 * data, PEM PCK chain, PCK SGX extensions) and the backend's parse and
 * detect entry points, with and without request companions.  Seeds:
 * evidence/tdx/{good,bad}/ (made by tests/unit/test_tdx.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "evidence/tdx.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static const struct av_backend	*b;
	static json_t			*item;
	struct tdx_quote		*q = NULL;
	struct av_evidence		 ev = { .type = "tdx" };
	struct av_err			 e = { 0 };
	void				*parsed = NULL;

	if (b == NULL) {
		b = av_backend_find("tdx");
		item = json_pack("{s:{s:s, s:s}}", "collateral", "tcb_info",
		    "{}", "pck_crl", "00");
		if (b == NULL || item == NULL)
			abort();
	}
	(void)b->detect(p, n);
	if (tdx_quote_parse(p, n, &q, &e) == 0) {
		/* what parse accepted must be self-consistent */
		if (q->signed_len > q->len || q->pck == NULL ||
		    (q->has_qe_report && q->qe_report_off + 384 > q->len) ||
		    q->qe_auth_off + q->qe_auth_len > q->len)
			abort();
		(void)tdx_td_attributes(q);
		tdx_quote_free(q);
	} else if (e.reason == NULL)
		abort();
	ev.data = p;
	ev.len = n;
	ev.item = item;
	if (b->parse(&ev, &parsed, &e) == 0)
		b->free(parsed);
	return 0;
}
