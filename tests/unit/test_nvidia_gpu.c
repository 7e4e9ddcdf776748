/*
 * NVIDIA GPU attestation (src/evidence/nvidia_*.c, src/collateral/
 * nvidia.c) with the synthetic signer (tests/lib/avt_nvgpu.h): the SPDM
 * parser on good and hostile reports, the DICE FWID, verification
 * through av_verify_request (chain, FWID, signature, nonce rules), RIMs
 * (selection, alternatives, NVDEC0, hostile XML, expiry), OCSP (stapled,
 * stored, a delegated responder, revoked, stale), the policy section,
 * the SDK list expansion, and the RIM service and OCSP responder through
 * tests/tools/mock_vendor_server.py.  Also checks (and with
 * AV_NVGPU_REGEN_SEEDS=1 regenerates) the seeds in evidence/nvidia-gpu/.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/log.h"
#include "av/nvgpu.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_mock.h"
#include "avt_nvgpu.h"
#include "avt_pki.h"
#include "evidence/nvgpu.h"

#define T0	1767225600	/* 2026-01-01T00:00:00Z */
#define DAY	86400

static struct {
	struct avt_nv_pki	*pki;
	struct avt_nv_rim_pki	*rp;
	struct av_trust		*trust;
	char			*pem;		/* the 5-cert chain */
	char			*drv;		/* driver RIM 550.90.07 */
	size_t			 drv_len;
	char			*vb;		/* VBIOS RIM 96.00.9F.00.01 */
	size_t			 vb_len;
	struct av_collateral	*coll;		/* both RIMs */
	/* mock vendor server */
	struct avt_mock		 mock;
	char			*tmp, *root;
} S = { .mock.pid = -1 };

static struct av_collateral *
store_with(const char *a, size_t al, const char *b, size_t bl)
{
	struct av_collateral	*c;
	struct av_err		 e = { 0 };

	assert_non_null(c = av_collateral_new(NULL));
	if (a != NULL)
		assert_int_equal(av_collateral_add(c, (const uint8_t *)a, al,
		    "a.xml", &e), 0);
	if (b != NULL)
		assert_int_equal(av_collateral_add(c, (const uint8_t *)b, bl,
		    "b.xml", &e), 0);
	return c;
}

/* ---- running a request ------------------------------------------------- */

struct run {
	const struct avt_nv_report_spec	*rs;	/* NULL: defaults */
	const char	*pem;		/* NULL: the full chain */
	const uint8_t	*nonce;		/* NULL: the report's */
	size_t		 nonce_len;
	bool		 no_nonce;
	const char	*policy;	/* "nvidia-gpu" section JSON, or NULL */
	struct av_collateral *coll;	/* NULL: S.coll */
	bool		 no_coll;
	const struct av_trust *trust;	/* NULL: S.trust */
	int64_t		 now;		/* 0: T0 */
	json_t		*extra;		/* more item members (stolen) */
	bool		 hex;		/* report as hex text */
};

static struct av_policy *
policy_of(const char *section)
{
	struct av_policy	*pol = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc, *sec;
	json_error_t		 jerr;

	assert_non_null(sec = json_loads(section, 0, &jerr));
	doc = json_pack("{s:s, s:i, s:{s:o}}", "id", "t", "version", 1,
	    "evidence", "nvidia-gpu", sec);
	if (av_policy_compile(doc, &pol, &perr) != 0)
		fail_msg("policy %s: %s: %s", section, perr.path, perr.reason);
	json_decref(doc);
	return pol;
}

static struct av_result *
run(struct run *r)
{
	struct avt_nv_report_spec	 def;
	const struct avt_nv_report_spec	*rs = r->rs;
	struct av_request		*req = NULL;
	struct av_result		*res = NULL;
	struct av_policy		*pol = NULL;
	struct av_err			 e = { 0 };
	struct av_env			 env = { 0 };
	uint8_t				*rep;
	size_t				 len;
	char				*b64, *hex = NULL, *nb;
	json_t				*item, *body;

	if (rs == NULL) {
		avt_nv_report_defaults(&def);
		rs = &def;
	}
	assert_non_null(rep = avt_nv_report(S.pki, rs, &len));
	if (r->hex) {
		assert_non_null(hex = av_hex_encode(rep, len));
		b64 = av_b64_encode((uint8_t *)hex, strlen(hex));
	} else
		b64 = av_b64_encode(rep, len);
	assert_non_null(b64);
	item = json_pack("{s:s, s:s, s:s}", "type", "nvidia-gpu", "data", b64,
	    "cert_chain", r->pem != NULL ? r->pem : S.pem);
	assert_non_null(item);
	if (r->extra != NULL) {
		json_object_update(item, r->extra);
		json_decref(r->extra);
		r->extra = NULL;	/* used once */
	}
	body = json_pack("{s:[o]}", "evidence", item);
	if (!r->no_nonce) {
		nb = av_b64url_encode(r->nonce != NULL ? r->nonce : rs->nonce,
		    r->nonce != NULL ? r->nonce_len : 32);
		json_object_set_new(body, "nonce", json_string(nb));
		free(nb);
	}
	if (av_request_from_json(body, &req, &e) != 0)
		fail_msg("request: %s", e.reason);
	if (r->policy != NULL)
		pol = policy_of(r->policy);
	env.now = r->now != 0 ? r->now : T0;
	env.trust = r->trust != NULL ? r->trust : S.trust;
	env.coll = r->no_coll ? NULL : r->coll != NULL ? r->coll : S.coll;
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	av_request_free(req);
	av_policy_free(pol);
	json_decref(body);
	free(rep);
	free(b64);
	free(hex);
	return res;
}

static bool
has_reason(const struct av_submod *sm, const char *code, const char *sev)
{
	const json_t	*r;
	size_t		 i;

	json_array_foreach(sm->reasons, i, r)
		if (strcmp(json_string_value(json_object_get(r, "code")),
		    code) == 0 && (sev == NULL || strcmp(json_string_value(
		    json_object_get(r, "severity")), sev) == 0))
			return true;
	return false;
}

static const char *
claim_str(const struct av_submod *sm, const char *path)
{
	const json_t	*v = sm->claims;
	char		 buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return json_string_value(v);
}

#define EXPECT(res, st, code) do {					\
	const struct av_submod *sm_ = &(res)->submods[0];		\
	if (sm_->status != (st) ||					\
	    ((code) != NULL && !has_reason(sm_, (code), NULL)))		\
		fail_msg("%s:%d: got %s %s", __FILE__, __LINE__,	\
		    av_status_str(sm_->status),				\
		    json_dumps(sm_->reasons, 0));			\
} while (0)

/* ---- fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
	struct avt_nv_pki_spec ps = { .not_before = T0 - 3650 * DAY,
	    .not_after = T0 + 3650 * DAY };

	(void)state;
	av_log_set_level(AV_LOG_ERROR);
	if ((S.pki = avt_nv_pki_new(&ps)) == NULL ||
	    (S.rp = avt_nv_rim_pki_new(T0 - 365 * DAY, T0 + 365 * DAY)) ==
	    NULL || (S.trust = avt_nv_trust(S.pki, S.rp)) == NULL ||
	    (S.pem = avt_nv_chain_pem(S.pki, 0, 4)) == NULL ||
	    (S.drv = avt_nv_rim_default(S.rp, false, "550.90.07", false,
	    &S.drv_len)) == NULL ||
	    (S.vb = avt_nv_rim_default(S.rp, true, "96.00.9F.00.01", false,
	    &S.vb_len)) == NULL)
		return -1;
	S.coll = store_with(S.drv, S.drv_len, S.vb, S.vb_len);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	av_collateral_free(S.coll);
	av_trust_free(S.trust);
	avt_nv_pki_free(S.pki);
	avt_nv_rim_pki_free(S.rp);
	free(S.pem);
	free(S.drv);
	free(S.vb);
	return 0;
}

/* ---- the SPDM parser ---------------------------------------------------- */

static uint8_t *
default_report(size_t *len)
{
	struct avt_nv_report_spec rs;

	avt_nv_report_defaults(&rs);
	return avt_nv_report(S.pki, &rs, len);
}

static void
test_parse_good(void **state)
{
	struct nv_report	 rep;
	struct av_err		 e = { 0 };
	uint8_t			*p;
	size_t			 n;

	(void)state;
	assert_non_null(p = default_report(&n));
	assert_int_equal(nv_report_parse(p, n, &rep, &e), 0);
	assert_int_equal(rep.nblocks, 64);
	assert_int_equal(rep.record_len, 64 * 55);
	assert_int_equal(rep.signed_len, n - 96);
	assert_int_equal(rep.trailing, 0);
	assert_int_equal(rep.nonce[0], 0xA0);
	assert_int_equal(rep.resp_nonce[31], 0x10 + 31);
	assert_string_equal(rep.op.driver, "550.90.07");
	assert_string_equal(rep.op.vbios, "96.00.9F.00.01");
	assert_string_equal(rep.op.project, "1010");
	assert_string_equal(rep.op.project_sku, "0200");
	assert_string_equal(rep.op.chip_sku, "882");
	assert_true(rep.op.has_fwid);
	assert_memory_equal(rep.op.fwid, S.pki->fwid, 48);
	assert_int_equal(rep.op.nvdec0, NV_STATUS_DISABLED);
	assert_int_equal(rep.op.nmsrscnt, 64);
	assert_non_null(nv_report_block(&rep, 64));
	assert_null(nv_report_block(&rep, 65));
	nv_report_cleanup(&rep);
	free(p);
}

/* Every proper prefix fails, as malformed, and leaves nothing behind. */
static void
test_parse_truncated(void **state)
{
	struct nv_report	 rep;
	struct av_err		 e;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	assert_non_null(p = default_report(&n));
	for (size_t cut = 0; cut < n; cut++) {
		memset(&e, 0, sizeof(e));
		if (nv_report_parse(p, cut, &rep, &e) == 0)
			fail_msg("prefix of %zu bytes parsed", cut);
		assert_int_equal(e.code, AV_E_MALFORMED);
		assert_null(rep.raw);
	}
	free(p);
}

static void
test_parse_trailing(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct nv_report		 rep;
	struct av_err			 e = { 0 };
	uint8_t				*p, *q;
	size_t				 n;

	(void)state;
	avt_nv_report_defaults(&rs);
	rs.trailing = 1;
	assert_non_null(p = avt_nv_report(S.pki, &rs, &n));
	assert_int_equal(nv_report_parse(p, n, &rep, &e), 0);
	assert_int_equal(rep.trailing, 1);
	assert_int_equal(rep.signed_len, n - 97);
	nv_report_cleanup(&rep);
	/* a non-zero byte after the signature */
	p[n - 1] = 0x01;
	assert_int_equal(nv_report_parse(p, n, &rep, &e), -1);
	assert_string_equal(e.reason,
	    "nvidia-gpu: trailing bytes after the signature");
	free(p);
	/* too many zero bytes */
	rs.trailing = NV_MAX_TRAILING + 1;
	assert_non_null(p = avt_nv_report(S.pki, &rs, &n));
	assert_int_equal(nv_report_parse(p, n, &rep, &e), -1);
	assert_string_equal(e.reason,
	    "nvidia-gpu: trailing bytes after the signature");
	free(p);
	/* hex text of a good report parses through the backend */
	assert_non_null(p = default_report(&n));
	assert_non_null(q = (uint8_t *)av_hex_encode(p, n));
	{
		const struct av_backend	*b = av_backend_find("nvidia-gpu");
		struct av_evidence	 ev = { .data = q,
					    .len = strlen((char *)q) };
		void			*parsed = NULL;

		assert_true(b->detect(q, ev.len));
		assert_true(b->detect(p, n));
		assert_int_equal(b->parse(&ev, &parsed, &e), 0);
		b->free(parsed);
	}
	free(q);
	free(p);
}

struct mutation {
	const char	*name;
	size_t		 off;		/* byte to set (from the start) */
	uint8_t		 val;
	const char	*why;
};

/* Offsets in the default report (see the layout in nvgpu.h). */
#define OFF_BLOCK(i)	(45 + 55 * (i))		/* block i (0-based) */
#define OFF_OPAQUE	(45 + 64 * 55 + 32 + 2)	/* first TLV */

static void
test_parse_hostile(void **state)
{
	static const struct mutation m[] = {
		{ "request version", 0, 0x12,
		    "nvidia-gpu: request is not SPDM 1.1" },
		{ "request code", 1, 0xE1,
		    "nvidia-gpu: request is not GET_MEASUREMENTS" },
		{ "no signature asked", 2, 0x00,
		    "nvidia-gpu: request did not ask for a signature" },
		{ "one block asked", 3, 0x01,
		    "nvidia-gpu: request did not ask for all measurements" },
		{ "response version", 37, 0x10,
		    "nvidia-gpu: response is not SPDM 1.1" },
		{ "response code", 38, 0x61,
		    "nvidia-gpu: response is not MEASUREMENTS" },
		{ "record length", 43, 0xFF,
		    "nvidia-gpu: measurement record runs past the end" },
		{ "fewer blocks", 41, 63,
		    "nvidia-gpu: measurement record longer than its blocks" },
		{ "more blocks", 41, 65,
		    "nvidia-gpu: truncated measurement block" },
		{ "index 0", OFF_BLOCK(3), 0x00,
		    "nvidia-gpu: reserved measurement block index" },
		{ "index 0xFF", OFF_BLOCK(3), 0xFF,
		    "nvidia-gpu: reserved measurement block index" },
		{ "duplicate index", OFF_BLOCK(3), 0x02,
		    "nvidia-gpu: duplicate measurement block index" },
		{ "not DMTF", OFF_BLOCK(0) + 1, 0x02,
		    "nvidia-gpu: measurement block is not a DMTF measurement" },
		{ "measurement size", OFF_BLOCK(0) + 2, 52,
		    "nvidia-gpu: measurement size disagrees with its value "
		    "size" },
		{ "value size", OFF_BLOCK(0) + 5, 47,
		    "nvidia-gpu: measurement size disagrees with its value "
		    "size" },
		{ "value over 64", OFF_BLOCK(0) + 5, 65,
		    "nvidia-gpu: measurement value larger than 64 bytes" },
		{ "opaque length", OFF_OPAQUE - 1, 0xFF,
		    "nvidia-gpu: opaque data runs past the end" },
		{ "VBIOS length", OFF_OPAQUE + 2, 7,
		    "nvidia-gpu: VBIOS version is not 8 bytes" },
		{ "TLV length", OFF_OPAQUE + 3, 0x7F,
		    "nvidia-gpu: opaque data field runs past the end" },
		{ "duplicate TLV", OFF_OPAQUE + 12, NV_TLV_VBIOS_VERSION,
		    "nvidia-gpu: duplicate opaque data field" },
		{ "chip SKU character", OFF_OPAQUE + 24 + 1, '/',
		    "nvidia-gpu: opaque data string has odd characters" },
		{ "chip SKU after NUL", OFF_OPAQUE + 24 + 5, 'x',
		    "nvidia-gpu: opaque data string has bytes after NUL" },
	};
	struct nv_report	 rep;
	struct av_err		 e;
	uint8_t			*p;
	size_t			 n;

	(void)state;
	assert_non_null(p = default_report(&n));
	/* the offsets above assume the default layout */
	assert_int_equal(p[OFF_OPAQUE], NV_TLV_VBIOS_VERSION);
	assert_int_equal(p[OFF_OPAQUE + 12], NV_TLV_BOARD_ID);
	assert_int_equal(p[OFF_OPAQUE + 20], NV_TLV_CHIP_SKU);
	assert_int_equal(p[OFF_OPAQUE + 24], '8');
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		size_t	off = m[i].off;
		uint8_t	old = p[off];

		p[off] = m[i].val;
		memset(&e, 0, sizeof(e));
		if (nv_report_parse(p, n, &rep, &e) == 0)
			fail_msg("%s: parsed", m[i].name);
		if (e.code != AV_E_MALFORMED || strcmp(e.reason, m[i].why) != 0)
			fail_msg("%s: got \"%s\"", m[i].name, e.reason);
		assert_null(rep.raw);
		p[off] = old;
	}
	assert_int_equal(nv_report_parse(p, n, &rep, &e), 0);
	nv_report_cleanup(&rep);
	free(p);
}

static void
test_opaque(void **state)
{
	static const uint8_t pdi[] = { 22, 0, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8,
	    9, 10, 11, 12, 13, 14, 15, 16, 36, 0, 2, 0, 2, 0, 21, 0, 1, 0,
	    0xAA, 99, 0, 0, 0 };
	static const uint8_t bad_pdi[] = { 22, 0, 7, 0, 1, 2, 3, 4, 5, 6, 7 };
	static const uint8_t short_hdr[] = { 3, 0, 1 };
	static const uint8_t long_str[] = { 3, 0, 70, 0,
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
	    '1', '1', '1', '1', '1', '1', '1', '1', '1', '1' };
	struct nv_opaque	op;
	struct av_err		e = { 0 };

	(void)state;
	assert_int_equal(nv_opaque_parse(pdi, sizeof(pdi), &op, &e), 0);
	assert_int_equal(op.nswitch_pdis, 2);
	assert_int_equal(op.switch_pdis[1][0], 9);
	assert_int_equal(op.feature_flag, 2);
	assert_int_equal(op.ppcie, 0xAA);
	assert_int_equal(op.ntlv, 4);	/* unknown type 99 kept opaque */
	assert_int_equal(nv_opaque_parse(bad_pdi, sizeof(bad_pdi), &op, &e),
	    -1);
	assert_string_equal(e.reason, "nvidia-gpu: switch PDI list malformed");
	assert_int_equal(nv_opaque_parse(short_hdr, sizeof(short_hdr), &op,
	    &e), -1);
	assert_string_equal(e.reason,
	    "nvidia-gpu: truncated opaque data field header");
	assert_int_equal(nv_opaque_parse(long_str, sizeof(long_str), &op, &e),
	    -1);
	assert_string_equal(e.reason,
	    "nvidia-gpu: opaque data string too long");
	assert_int_equal(nv_opaque_parse(NULL, 0, &op, &e), 0);
	assert_int_equal(op.nvdec0, -1);
}

static void
test_fwid_ext(void **state)
{
	struct avt_nv_pki_spec	 ps = { .not_before = T0 - DAY,
				    .not_after = T0 + DAY, .no_fwid_ext = true };
	struct avt_nv_pki	*p2;
	struct av_err		 e = { 0 };
	uint8_t			 fw[48];

	(void)state;
	assert_int_equal(nv_leaf_fwid(S.pki->cert[0], fw, &e), 1);
	assert_memory_equal(fw, S.pki->fwid, 48);
	assert_non_null(p2 = avt_nv_pki_new(&ps));
	assert_int_equal(nv_leaf_fwid(p2->cert[0], fw, &e), 0);
	avt_nv_pki_free(p2);
}

/* ---- verification ------------------------------------------------------- */

static void
test_verify_good(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	const struct av_submod	*sm;
	const json_t		*m;
	size_t			 i, nmatch = 0, nskip = 0, nnot = 0;

	(void)state;
	/* no policy: genuine, RIMs match, but no reference values */
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "no_reference_values");
	sm = &res->submods[0];
	assert_string_equal(sm->name, "gpu0");
	assert_true(has_reason(sm, "ocsp_unavailable", "warning"));
	assert_false(has_reason(sm, "rim_missing", NULL));
	assert_string_equal(claim_str(sm, "chip"), "GH100");
	assert_string_equal(claim_str(sm, "ueid"), "48B02D92494BADF4");
	assert_string_equal(claim_str(sm, "driver_version"), "550.90.07");
	assert_string_equal(claim_str(sm, "vbios_version"), "96.00.9F.00.01");
	assert_string_equal(claim_str(sm, "sku"), "1010_0200_882");
	assert_string_equal(claim_str(sm, "nonce_binding"), "equal");
	assert_string_equal(claim_str(sm, "nvdec0"), "disabled");
	assert_string_equal(claim_str(sm, "certificate.chain"), "verified");
	assert_string_equal(claim_str(sm, "certificate.ocsp.status"),
	    "unavailable");
	assert_string_equal(claim_str(sm, "rims.driver.status"), "valid");
	assert_string_equal(claim_str(sm, "rims.driver.source"), "collateral");
	assert_string_equal(claim_str(sm, "rims.driver.id"),
	    "NV_GPU_DRIVER_GH100_550.90.07");
	assert_string_equal(claim_str(sm, "rims.vbios.id"),
	    "NV_GPU_VBIOS_1010_0200_882_96009F0001");
	assert_true(json_is_true(json_object_get(sm->claims, "fwid_checked")));
	json_array_foreach(json_object_get(sm->claims, "measurements"), i, m) {
		const char *res_s = json_string_value(json_object_get(m,
		    "result"));

		if (strcmp(res_s, "match") == 0)
			nmatch++;
		else if (strcmp(res_s, "skipped") == 0)
			nskip++;
		else if (strcmp(res_s, "not_in_rim") == 0)
			nnot++;
		else
			fail_msg("measurement %zu: %s", i, res_s);
	}
	assert_int_equal(nmatch, 32);	/* 21 driver + 12 VBIOS - index 35 */
	assert_int_equal(nskip, 1);
	assert_int_equal(nnot, 31);
	assert_int_equal(sm->tv[AV_TV_EXECUTABLES] >= AV_AR_AFFIRM, true);
	av_result_free(res);

	/* the policy asks for RIMs and states OCSP off: affirming */
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_int_equal(json_array_size(res->submods[0].reasons), 0);
	assert_string_equal(claim_str(&res->submods[0],
	    "certificate.ocsp.status"), "not_checked");
	av_result_free(res);

	/* the same report as hex text */
	r.hex = true;
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
}

static void
test_verify_signature(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct run			 r = { .rs = &rs };
	struct av_result		*res;
	EVP_PKEY			*other;

	(void)state;
	avt_nv_report_defaults(&rs);
	rs.flip_sig = true;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	assert_int_equal(res->submods[0].tv[AV_TV_INSTANCE],
	    AV_AR_CRYPTO_FAILED);
	av_result_free(res);
	/* signed by another key than the leaf's */
	rs.flip_sig = false;
	assert_non_null(other = avt_key_new("P-384"));
	rs.sign_key = other;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(res);
	EVP_PKEY_free(other);
}

static void
test_verify_nonce(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct run			 r = { .rs = &rs };
	struct av_result		*res;
	uint8_t				 n48[48], h[32];

	(void)state;
	avt_nv_report_defaults(&rs);
	memset(n48, 0x33, sizeof(n48));
	r.nonce = n48;
	r.nonce_len = 32;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
	assert_true(json_is_null(json_object_get(res->submods[0].claims,
	    "nonce_binding")));
	av_result_free(res);
	/* "prefix": the report carries the first 32 bytes of the nonce */
	memcpy(rs.nonce, n48, 32);
	r.nonce_len = 48;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
	av_result_free(res);
	r.policy = "{\"nonce\": \"prefix\", \"rim\": \"required\", "
	    "\"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(claim_str(&res->submods[0], "nonce_binding"),
	    "prefix");
	av_result_free(res);
	/* "sha256(nonce)" */
	av_sha256(n48, 48, h);
	memcpy(rs.nonce, h, 32);
	r.policy = "{\"nonce\": \"sha256(nonce)\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	/* no nonce in the request: required by the policy? */
	r.no_nonce = true;
	r.policy = NULL;
	res = run(&r);
	assert_false(has_reason(&res->submods[0], "nonce_mismatch", NULL));
	av_result_free(res);
}

static void
test_verify_chain(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_trust		*bare;
	char			*four, *swapped, *a, *b;

	(void)state;
	/* four certificates (no root) */
	assert_non_null(four = avt_nv_chain_pem(S.pki, 0, 3));
	r.pem = four;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "chain_invalid");
	av_result_free(res);
	/* five, not in issuing order */
	assert_non_null(a = avt_nv_chain_pem(S.pki, 0, 1));
	assert_non_null(b = avt_nv_chain_pem(S.pki, 2, 4));
	{
		char *c = avt_nv_chain_pem(S.pki, 2, 2);
		char *d = avt_nv_chain_pem(S.pki, 3, 3);
		char *f = avt_nv_chain_pem(S.pki, 4, 4);

		swapped = avt_strf("%s%s%s%s", a, d, c, f);
		free(c);
		free(d);
		free(f);
	}
	r.pem = swapped;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "chain_invalid");
	av_result_free(res);
	/* no chain at all */
	{
		struct av_result *res2;

		r.pem = NULL;
		r.extra = json_pack("{s:n}", "cert_chain");
		res2 = run(&r);
		EXPECT(res2, AV_STATUS_CONTRAINDICATED, "chain_invalid");
		av_result_free(res2);
	}
	/* the test root is not pinned: untrusted */
	assert_non_null(bare = av_trust_new());
	r.trust = bare;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "untrusted_root");
	av_result_free(res);
	av_trust_free(bare);
	r.trust = NULL;
	/* after the chain expired */
	r.now = T0 + 3651 * DAY;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "cert_time_invalid");
	av_result_free(res);
	free(four);
	free(swapped);
	free(a);
	free(b);
}

static void
test_verify_fwid(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct run			 r = { .rs = &rs };
	struct av_result		*res;
	uint8_t				 other[48];
	struct avt_nv_pki_spec		 ps = { .not_before = T0 - DAY,
					    .not_after = T0 + DAY,
					    .no_fwid_ext = true };
	struct avt_nv_pki		*p2, *keep;
	struct av_trust			*t2;

	(void)state;
	avt_nv_report_defaults(&rs);
	memset(other, 0x42, sizeof(other));
	rs.fwid = other;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "fwid_mismatch");
	av_result_free(res);
	/* no FWID field (driver 535): not compared */
	rs.fwid = NULL;
	rs.no_fwid = true;
	res = run(&r);
	assert_int_not_equal(res->submods[0].status, AV_STATUS_CONTRAINDICATED);
	assert_true(json_is_false(json_object_get(res->submods[0].claims,
	    "fwid_checked")));
	assert_true(json_is_null(json_object_get(res->submods[0].claims,
	    "fwid")));
	av_result_free(res);
	/* a leaf without the DICE extension and a report with FWID */
	assert_non_null(p2 = avt_nv_pki_new(&ps));
	assert_non_null(t2 = avt_nv_trust(p2, S.rp));
	keep = S.pki;
	S.pki = p2;
	rs.no_fwid = false;
	r.pem = avt_nv_chain_pem(p2, 0, 4);
	r.trust = t2;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "fwid_mismatch");
	av_result_free(res);
	S.pki = keep;
	free((char *)r.pem);
	av_trust_free(t2);
	avt_nv_pki_free(p2);
}

/* ---- RIMs --------------------------------------------------------------- */

static void
test_rim_mismatch(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct run			 r = { .rs = &rs };
	struct av_result		*res;
	const json_t			*reason, *m;
	size_t				 i;

	(void)state;
	avt_nv_report_defaults(&rs);
	rs.meas[9][0] ^= 0xFF;		/* RIM index 9 (VBIOS) */
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	json_array_foreach(res->submods[0].reasons, i, reason)
		if (strcmp(json_string_value(json_object_get(reason, "code")),
		    "measurement_mismatch") == 0)
			assert_string_equal(json_string_value(json_object_get(
			    reason, "claim")), "measurements[9]");
	m = json_array_get(json_object_get(res->submods[0].claims,
	    "measurements"), 9);
	assert_string_equal(json_string_value(json_object_get(m, "result")),
	    "mismatch");
	assert_string_equal(json_string_value(json_object_get(m, "rim")),
	    "vbios");
	av_result_free(res);
	/* a block not in any RIM may change freely */
	avt_nv_report_defaults(&rs);
	rs.meas[50][0] ^= 0xFF;
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
}

static void
test_rim_alternatives_and_choice(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_collateral	*c;
	char			*alt, *stale;
	size_t			 alen, slen;
	const json_t		*m;
	struct avt_nv_rim_res	 one[64];
	struct avt_nv_rim_spec	 sp = { 0 };

	(void)state;
	/* the value is the second alternative */
	assert_non_null(alt = avt_nv_rim_default(S.rp, true, "96.00.9F.00.01",
	    true, &alen));
	c = store_with(S.drv, S.drv_len, alt, alen);
	r.coll = c;
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	m = json_array_get(json_object_get(res->submods[0].claims,
	    "measurements"), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "alternative")),
	    1);
	av_result_free(res);
	av_collateral_free(c);
	/* a stale VBIOS RIM (index 9 differs) beside the right one */
	for (unsigned i = 0; i < 64; i++) {
		memset(&one[i], 0, sizeof(one[i]));
		one[i].index = i;
		one[i].active = i <= 12 && i != 7;
		one[i].nalt = 1;
		avt_nv_meas_default(i, one[i].alt[0]);
	}
	one[9].alt[0][0] ^= 0x55;
	sp.version = "96.00.9F.00.01";
	sp.res = one;
	sp.nres = 64;
	assert_non_null(stale = avt_nv_rim(S.rp, &sp, &slen));
	c = store_with(stale, slen, NULL, 0);
	assert_int_equal(av_collateral_add(c, (const uint8_t *)S.vb, S.vb_len,
	    "vb.xml", NULL), 0);
	assert_int_equal(av_collateral_add(c, (const uint8_t *)S.drv,
	    S.drv_len, "drv.xml", NULL), 0);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	av_collateral_free(c);
	/* the stale one alone: a mismatch at index 9 */
	c = store_with(stale, slen, S.drv, S.drv_len);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	av_result_free(res);
	av_collateral_free(c);
	free(alt);
	free(stale);
}

static void
test_rim_nvdec0(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct run			 r = { .rs = &rs };
	struct av_result		*res;

	(void)state;
	avt_nv_report_defaults(&rs);
	rs.meas[35][0] ^= 0xFF;
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"off\"}";
	/* NVDEC0 disabled: index 35 is not compared */
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	/* enabled: compared */
	rs.nvdec0 = NV_STATUS_ENABLED;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	assert_string_equal(claim_str(&res->submods[0], "nvdec0"), "enabled");
	av_result_free(res);
}

static void
test_rim_missing_modes(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_collateral	*c;

	(void)state;
	c = store_with(S.vb, S.vb_len, NULL, 0);	/* no driver RIM */
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "rim_missing");
	assert_true(has_reason(&res->submods[0], "rim_missing", "warning"));
	assert_string_equal(claim_str(&res->submods[0], "rims.driver.status"),
	    "missing");
	av_result_free(res);
	r.policy = "{\"rim\": \"optional\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "rim_missing");
	av_result_free(res);
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "rim_missing");
	av_result_free(res);
	r.policy = "{\"rim\": \"off\", \"ocsp\": \"off\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(claim_str(&res->submods[0], "rims.driver.status"),
	    "not_checked");
	av_result_free(res);
	/* no collateral store at all */
	r.no_coll = true;
	r.policy = NULL;
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "rim_missing");
	av_result_free(res);
	av_collateral_free(c);
}

/* Hostile or broken RIMs are rim_invalid, never used. */
static void
test_rim_hostile(void **state)
{
	struct avt_nv_rim_res	 res64[64];
	struct avt_nv_rim_pki	*old_rp;
	EVP_PKEY		*other;
	struct {
		const char	*name;
		struct avt_nv_rim_spec sp;
		const char	*why;
	} cases[] = {
		{ "tampered", { .tamper_after_sign = true },
		    "nvidia-gpu: RIM XML signature invalid" },
		{ "wrong key", { 0 },
		    "nvidia-gpu: RIM XML signature invalid" },
		{ "duplicate Meta", { .duplicate_meta = true },
		    "nvidia-gpu: RIM with more than one Meta, Payload or "
		    "Signature" },
		{ "nested signature", { .nested_signature = true },
		    "nvidia-gpu: RIM with a nested signature" },
		{ "DTD", { .with_dtd = true }, "nvidia-gpu: RIM with a DTD" },
		{ "reference to an Id", { .reference_uri_id = true },
		    "nvidia-gpu: RIM XML signature invalid" },
		{ "no KeyInfo", { .no_keyinfo = true },
		    "nvidia-gpu: RIM signature has no certificate" },
	};
	struct av_err		 e;
	struct nv_rim		*rim;

	(void)state;
	old_rp = S.rp;
	(void)old_rp;
	for (unsigned i = 0; i < 64; i++) {
		memset(&res64[i], 0, sizeof(res64[i]));
		res64[i].index = i;
		res64[i].active = i <= 12 && i != 7;
		res64[i].nalt = 1;
		avt_nv_meas_default(i, res64[i].alt[0]);
	}
	assert_non_null(other = avt_key_new("P-384"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run		 r = { 0 };
		struct av_result	*res;
		struct av_collateral	*c;
		char			*x;
		size_t			 xl;

		cases[i].sp.version = "96.00.9F.00.01";
		cases[i].sp.res = res64;
		cases[i].sp.nres = 64;
		if (strcmp(cases[i].name, "wrong key") == 0)
			cases[i].sp.sign_key = other;
		if ((x = avt_nv_rim(S.rp, &cases[i].sp, &xl)) == NULL)
			fail_msg("%s: cannot make the RIM", cases[i].name);
		memset(&e, 0, sizeof(e));
		rim = NULL;
		if (nv_rim_load(S.trust, (uint8_t *)x, xl, NULL, T0, &rim, &e) == 0)
			fail_msg("%s: loaded", cases[i].name);
		if (e.code != AV_E_RIM_INVALID ||
		    strcmp(e.reason, cases[i].why) != 0)
			fail_msg("%s: got %d \"%s\"", cases[i].name, e.code,
			    e.reason);
		c = store_with(x, xl, S.drv, S.drv_len);
		r.coll = c;
		res = run(&r);
		EXPECT(res, AV_STATUS_CONTRAINDICATED, "rim_invalid");
		av_result_free(res);
		av_collateral_free(c);
		free(x);
	}
	EVP_PKEY_free(other);
}

static void
test_rim_time_and_root(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_trust		*t;
	struct av_err		 e = { 0 };
	struct nv_rim		*rim = NULL;
	uint8_t			 h[32];

	(void)state;
	/* the signer expired: rim_invalid, with why */
	r.now = T0 + 400 * DAY;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "rim_invalid");
	av_result_free(res);
	assert_int_equal(nv_rim_load(S.trust, (uint8_t *)S.drv, S.drv_len, NULL,
	    T0 + 400 * DAY, &rim, &e), -1);
	assert_string_equal(e.reason, "nvidia-gpu: RIM signing certificate "
	    "not valid at the verification time");
	/* the RIM root not pinned */
	assert_non_null(t = av_trust_new());
	assert_int_equal(av_x509_sha256(S.pki->cert[4], h), 0);
	assert_int_equal(av_trust_add_pin(t, "nvidia-gpu", h), 0);
	assert_int_equal(nv_rim_load(t, (uint8_t *)S.drv, S.drv_len, NULL, T0, &rim,
	    &e), -1);
	assert_string_equal(e.reason,
	    "nvidia-gpu: RIM not signed under a trusted NVIDIA RIM root");
	r.now = 0;
	r.trust = t;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "rim_invalid");
	av_result_free(res);
	av_trust_free(t);
	/* loads fine at T0, twice (the second from the cache) */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(nv_rim_load(S.trust, (uint8_t *)S.drv,
		    S.drv_len, NULL, T0, &rim, &e), 0);
		assert_string_equal(rim->version, "550.90.07");
		assert_string_equal(rim->product, "GH100");
		assert_int_equal(rim->nmeas, 64);
		assert_true(nv_rim_find(rim, 7)->active);
		assert_false(nv_rim_find(rim, 8)->active);
		nv_rim_free(rim);
	}
}

static void
test_rim_conflict(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_collateral	*c;
	struct avt_nv_rim_res	 res64[64];
	struct avt_nv_rim_spec	 sp = { 0 };
	char			*x;
	size_t			 xl;

	(void)state;
	/* a VBIOS RIM that also claims driver index 21 */
	for (unsigned i = 0; i < 64; i++) {
		memset(&res64[i], 0, sizeof(res64[i]));
		res64[i].index = i;
		res64[i].active = (i <= 12 && i != 7) || i == 21;
		res64[i].nalt = 1;
		avt_nv_meas_default(i, res64[i].alt[0]);
	}
	sp.version = "96.00.9F.00.01";
	sp.res = res64;
	sp.nres = 64;
	assert_non_null(x = avt_nv_rim(S.rp, &sp, &xl));
	c = store_with(x, xl, S.drv, S.drv_len);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "rim_invalid");
	av_result_free(res);
	av_collateral_free(c);
	free(x);
}

static void
test_versions(void **state)
{
	char		 id[160];
	struct nv_opaque op = { 0 };

	(void)state;
	assert_int_equal(nv_version_cmp("550.54.15", "550.54.15", false), 0);
	assert_int_equal(nv_version_cmp("550.90.07", "550.54.15", false), 1);
	assert_int_equal(nv_version_cmp("535.86.09", "550.54.15", false), -1);
	assert_int_equal(nv_version_cmp("550.100", "550.54.15", false), 1);
	assert_int_equal(nv_version_cmp("550.54", "550.54.15", false), -1);
	assert_int_equal(nv_version_cmp("96.00.9F.00.01", "96.00.5E.00.01",
	    true), 1);
	assert_int_equal(nv_version_cmp("96.00.9f.00.01", "96.00.9F.00.01",
	    true), 0);
	assert_int_equal(nv_version_cmp("96.00.9F.00.01", "96.00.9F", false),
	    -2);
	assert_int_equal(nv_version_cmp("1..2", "1.2", false), -2);
	assert_int_equal(nv_version_cmp("1.2.", "1.2", false), -2);
	assert_int_equal(nv_version_cmp("", "1", false), -2);
	assert_int_equal(nv_version_cmp("123456789", "1", false), -2);
	op.has_driver = op.has_vbios = true;
	snprintf(op.driver, sizeof(op.driver), "590.12");
	snprintf(op.vbios, sizeof(op.vbios), "96.00.a5.00.01");
	snprintf(op.project, sizeof(op.project), "g520");
	snprintf(op.project_sku, sizeof(op.project_sku), "0200");
	snprintf(op.chip_sku, sizeof(op.chip_sku), "885");
	assert_int_equal(nv_rim_id(id, sizeof(id), NV_RIM_DRIVER, "GH100",
	    &op), 0);
	assert_string_equal(id, "NV_GPU_DRIVER_GH100_590.12");
	assert_int_equal(nv_rim_id(id, sizeof(id), NV_RIM_VBIOS, "GH100",
	    &op), 0);
	assert_string_equal(id, "NV_GPU_VBIOS_G520_0200_885_9600A50001");
	snprintf(op.project, sizeof(op.project), "a/b");
	assert_int_equal(nv_rim_id(id, sizeof(id), NV_RIM_VBIOS, "GH100",
	    &op), -1);
	assert_int_equal(nv_rim_id(id, sizeof(id), NV_RIM_DRIVER, "", &op),
	    -1);
}

/* ---- policy ------------------------------------------------------------- */

static void
test_policy_rules(void **state)
{
	struct avt_nv_report_spec	 rs;
	struct run			 r = { .rs = &rs };
	struct av_result		*res;

	(void)state;
	avt_nv_report_defaults(&rs);
	r.policy = "{\"ocsp\": \"off\", \"min_driver\": \"550.90.07\", "
	    "\"min_vbios\": \"96.00.9F.00.01\", \"chips\": [\"GH100\", "
	    "\"GB100\"], \"skus\": \"1010_0200_882\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	r.policy = "{\"ocsp\": \"off\", \"min_driver\": \"550.100\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "version_below_minimum");
	av_result_free(res);
	r.policy = "{\"ocsp\": \"off\", \"min_vbios\": \"96.00.A0.00.01\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "version_below_minimum");
	av_result_free(res);
	r.policy = "{\"ocsp\": \"off\", \"chips\": \"GB100\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "policy_violation");
	av_result_free(res);
	r.policy = "{\"ocsp\": \"off\", \"skus\": [\"G520_0200_885\"]}";
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "policy_violation");
	av_result_free(res);
	r.policy = "{\"ocsp\": \"off\", \"ppcie\": true}";
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "policy_violation");
	av_result_free(res);
	rs.ppcie = NV_STATUS_ENABLED;
	rs.nswitch_pdis = 18;
	rs.feature = 2;
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_int_equal(json_array_size(json_object_get(res->submods[0].claims,
	    "switch_pdis")), 18);
	assert_string_equal(claim_str(&res->submods[0], "feature"), "PPCIE");
	av_result_free(res);
}

static void
test_policy_compile(void **state)
{
	static const char *const bad[] = {
		"{\"rim\": \"sometimes\"}",
		"{\"ocsp\": true}",
		"{\"count\": 0}",
		"{\"count\": 17}",
		"{\"min_driver\": \"550.x\"}",
		"{\"min_driver\": \"96.00.9F.00.01\"}",
		"{\"min_vbios\": \"zz\"}",
		"{\"chips\": []}",
		"{\"chips\": [\"GH100\", \"gh100\"]}",
		"{\"skus\": [\"a b\"]}",
		"{\"ppcie\": \"yes\"}",
		"{\"nonce\": \"sha512\"}",
		"{\"unknown\": 1}",
		"[]",
	};
	struct av_policy_err	 perr;
	struct av_policy	*pol = NULL;
	json_t			*doc, *sec;
	json_error_t		 jerr;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sec = json_loads(bad[i], JSON_DECODE_ANY, &jerr);
		assert_non_null(sec);
		doc = json_pack("{s:s, s:i, s:{s:o}}", "id", "t", "version", 1,
		    "evidence", "nvidia-gpu", sec);
		memset(&perr, 0, sizeof(perr));
		if (av_policy_compile(doc, &pol, &perr) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_true(strncmp(perr.path, "evidence.nvidia-gpu", 19) == 0);
		json_decref(doc);
	}
	pol = policy_of("{\"count\": 8, \"rim\": \"required\"}");
	assert_int_equal(av_nvgpu_policy_count(pol), 8);
	av_policy_free(pol);
	pol = policy_of("{\"rim\": \"required\"}");
	assert_int_equal(av_nvgpu_policy_count(pol), -1);
	av_policy_free(pol);
	assert_int_equal(av_nvgpu_policy_count(NULL), -1);
}

/* ---- the SDK evidence list --------------------------------------------- */

static void
test_sdk_list(void **state)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0 };
	struct avt_nv_report_spec rs;
	uint8_t			*rep;
	size_t			 len;
	char			*ev, *cert, *nb;
	json_t			*list, *items, *body;

	(void)state;
	avt_nv_report_defaults(&rs);
	assert_non_null(rep = avt_nv_report(S.pki, &rs, &len));
	ev = av_b64_encode(rep, len);
	cert = av_b64_encode((uint8_t *)S.pem, strlen(S.pem));
	list = json_pack("[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]",
	    "arch", "HOPPER", "certificate", cert, "evidence", ev, "nonce",
	    "a0a1", "arch", "HOPPER", "certificate", S.pem, "evidence", ev,
	    "nonce", "a0a1", "driver_version", "550.90.07");
	assert_true(av_nvgpu_is_sdk_list(list));
	assert_int_equal(av_nvgpu_expand_sdk_list(list, &items, &e), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(items, 0), "type")), "nvidia-gpu");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(items, 1), "cert_chain")), S.pem);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(items, 0), "cert_chain")), S.pem);
	assert_null(json_object_get(json_array_get(items, 0), "nonce"));
	nb = av_b64url_encode(rs.nonce, 32);
	body = json_pack("{s:s, s:O}", "nonce", nb, "evidence", items);
	assert_int_equal(av_request_from_json(body, &req, &e), 0);
	env.trust = S.trust;
	env.coll = S.coll;
	assert_int_equal(av_verify_request(&env, req, NULL, &res, &e), 0);
	assert_int_equal(res->nsubmods, 2);
	assert_string_equal(res->submods[0].name, "gpu0");
	assert_string_equal(res->submods[1].name, "gpu1");
	assert_string_equal(claim_str(&res->submods[1], "arch"), "HOPPER");
	assert_int_equal(res->status, AV_STATUS_WARNING);
	av_result_free(res);
	av_request_free(req);
	json_decref(body);
	json_decref(items);
	json_decref(list);
	/* hostile lists */
	{
		static const char *const bad[] = {
			"[]", "{}", "[1]",
			"[{\"evidence\": \"AA==\"}]",
			"[{\"evidence\": 1, \"certificate\": \"x\"}]",
			"[{\"evidence\": \"AA==\", \"certificate\": \"!!\"}]",
			"[{\"evidence\": \"AA==\", \"certificate\": \"QUJD\"}]",
			("[{\"evidence\": \"AA==\", \"certificate\": "
			    "\"-----BEGIN CERTIFICATE-----\", \"arch\": 7}]"),
		};
		json_error_t jerr;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_non_null(list = json_loads(bad[i], 0, &jerr));
			items = NULL;
			if (av_nvgpu_expand_sdk_list(list, &items, &e) == 0)
				fail_msg("expanded %s", bad[i]);
			assert_int_equal(e.code, AV_E_BAD_REQUEST);
			assert_null(items);
			json_decref(list);
		}
		assert_non_null(list = json_array());
		for (int i = 0; i < AV_MAX_ITEMS + 1; i++)
			json_array_append_new(list, json_pack("{s:s, s:s}",
			    "evidence", "AA==", "certificate", S.pem));
		assert_true(av_nvgpu_is_sdk_list(list));
		assert_int_equal(av_nvgpu_expand_sdk_list(list, &items, &e),
		    -1);
		json_decref(list);
		assert_false(av_nvgpu_is_sdk_list(NULL));
	}
	free(rep);
	free(ev);
	free(cert);
	free(nb);
}

/* ---- OCSP --------------------------------------------------------------- */

/* One response for the four certificates, by signer, status st. */
static uint8_t *
chain_ocsp(X509 *signer, EVP_PKEY *key, int st, int64_t tu, int64_t nu,
    const EVP_MD *md, size_t *len)
{
	X509	*certs[4], *iss[4];
	int	 status[4];

	for (int i = 0; i < 4; i++) {
		certs[i] = S.pki->cert[i];
		iss[i] = S.pki->cert[i + 1];
		status[i] = st;
	}
	return avt_nv_ocsp_response(certs, iss, status, 4, signer, key, tu,
	    nu, md, len);
}

/* The four per-issuer responses as an "ocsp" member. */
static json_t *
stapled(int st, int64_t tu, int64_t nu, bool delegated)
{
	json_t		*a = json_array();
	EVP_PKEY	*rk = NULL;
	X509		*rc = NULL;

	if (delegated)
		assert_non_null(rc = avt_nv_ocsp_responder(S.pki, 4,
		    T0 - 10 * DAY, T0 + 10 * DAY, &rk));
	for (int i = 0; i < 4; i++) {
		X509	*c = S.pki->cert[i], *is = S.pki->cert[i + 1];
		size_t	 len;
		uint8_t	*der;
		char	*b64;

		der = avt_nv_ocsp_response(&c, &is, &st, 1, delegated ? rc : is,
		    delegated ? rk : S.pki->key[i + 1], tu, nu, EVP_sha1(),
		    &len);
		assert_non_null(der);
		b64 = av_b64_encode(der, len);
		json_array_append_new(a, json_string(b64));
		free(b64);
		free(der);
	}
	X509_free(rc);
	EVP_PKEY_free(rk);
	return json_pack("{s:o}", "ocsp", a);
}

static void
test_ocsp_stapled(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	const json_t		*certs;

	(void)state;
	r.policy = "{\"ocsp\": \"required\", \"rim\": \"required\"}";
	/* each certificate's issuer answers: good */
	r.extra = stapled(0, T0 - DAY, T0 + DAY, false);
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(claim_str(&res->submods[0],
	    "certificate.ocsp.status"), "good");
	certs = json_object_get(json_object_get(json_object_get(
	    res->submods[0].claims, "certificate"), "ocsp"), "certificates");
	assert_int_equal(json_array_size(certs), 4);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(certs, 3), "source")), "request");
	av_result_free(res);
	/* a delegated responder under the root */
	r.extra = stapled(0, T0 - DAY, T0 + DAY, true);
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	/* revoked */
	r.extra = stapled(1, T0 - DAY, T0 + DAY, false);
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "cert_revoked");
	av_result_free(res);
	/* unknown: unavailable, a failure when required */
	r.extra = stapled(2, T0 - DAY, T0 + DAY, false);
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "ocsp_unavailable");
	av_result_free(res);
	/* out of date: unavailable; a warning when optional */
	r.extra = stapled(0, T0 - 10 * DAY, T0 - 9 * DAY, false);
	r.policy = "{\"ocsp\": \"optional\", \"rim\": \"required\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "ocsp_unavailable");
	assert_string_equal(claim_str(&res->submods[0],
	    "certificate.ocsp.status"), "unavailable");
	av_result_free(res);
	/* not yet valid */
	r.extra = stapled(0, T0 + 2 * DAY, T0 + 3 * DAY, false);
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "ocsp_unavailable");
	av_result_free(res);
	/* garbage */
	r.extra = json_pack("{s:[s]}", "ocsp", "AAAA");
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "ocsp_unavailable");
	av_result_free(res);
	r.extra = json_pack("{s:s}", "ocsp", "AAAA");
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
	av_result_free(res);
}

static void
test_ocsp_signers(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_collateral	*c;
	EVP_PKEY		*k, *rk;
	X509			*self, *rc;
	struct avt_cert_spec	 cs = { .cn = "rogue", .not_before = T0 - DAY,
				    .not_after = T0 + DAY };
	uint8_t			*der;
	size_t			 len;

	(void)state;
	r.policy = "{\"ocsp\": \"required\", \"rim\": \"required\"}";
	/* a self-made responder: not authorized */
	assert_non_null(k = avt_key_new("P-384"));
	assert_non_null(self = avt_cert_new(&cs, k, NULL, k));
	assert_non_null(der = chain_ocsp(self, k, 0, T0 - DAY, T0 + DAY,
	    EVP_sha384(), &len));
	c = store_with(S.drv, S.drv_len, S.vb, S.vb_len);
	assert_int_equal(av_collateral_add(c, der, len, "rogue.der", NULL), 0);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "ocsp_unavailable");
	av_result_free(res);
	av_collateral_free(c);
	free(der);
	/* a responder under the root without id-kp-OCSPSigning */
	assert_non_null(rc = avt_cert_new(&cs, k, S.pki->cert[4],
	    S.pki->key[4]));
	assert_non_null(der = chain_ocsp(rc, k, 0, T0 - DAY, T0 + DAY,
	    EVP_sha384(), &len));
	c = store_with(S.drv, S.drv_len, S.vb, S.vb_len);
	assert_int_equal(av_collateral_add(c, der, len, "noeku.der", NULL), 0);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "ocsp_unavailable");
	av_result_free(res);
	av_collateral_free(c);
	free(der);
	X509_free(rc);
	/* a delegated responder, one response for all four, in the store */
	assert_non_null(rc = avt_nv_ocsp_responder(S.pki, 4, T0 - DAY,
	    T0 + DAY, &rk));
	assert_non_null(der = chain_ocsp(rc, rk, 0, T0 - DAY, T0 + DAY,
	    EVP_sha256(), &len));
	c = store_with(S.drv, S.drv_len, S.vb, S.vb_len);
	assert_int_equal(av_collateral_add(c, der, len, "good.der", NULL), 0);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(json_object_get(
	    res->submods[0].claims, "certificate"), "ocsp"), "certificates"),
	    0), "source")), "collateral");
	av_result_free(res);
	/* ... but not once the responder's certificate expired */
	r.now = T0 + 2 * DAY;
	r.extra = NULL;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "ocsp_unavailable");
	av_result_free(res);
	av_collateral_free(c);
	free(der);
	X509_free(rc);
	EVP_PKEY_free(rk);
	X509_free(self);
	EVP_PKEY_free(k);
}

/* ---- the mock RIM service and OCSP responder --------------------------- */

static int
server_up(void **state)
{
	char		*routes, *json, *b64;
	size_t		 len;
	uint8_t		*der;
	int		 up;

	if (setup(state) != 0)
		return -1;
	if (!avt_mock_available())
		return 0;	/* the server tests skip themselves */
	assert_non_null(S.tmp = avt_tmpdir());
	S.root = avt_strf("%s/root", S.tmp);
	assert_int_equal(mkdir(S.root, 0700), 0);
	/* the RIM service: the driver RIM as JSON, the VBIOS RIM as XML */
	b64 = av_b64_encode((uint8_t *)S.drv, S.drv_len);
	json = avt_strf("{\"id\": \"NV_GPU_DRIVER_GH100_550.90.07\", \"rim\": "
	    "\"%s\", \"rim_format\": \"SWID\"}", b64);
	free(b64);
	avt_put(S.tmp, "drv.json", json, strlen(json));
	free(json);
	avt_put(S.tmp, "vb.xml", S.vb, S.vb_len);
	/* OCSP: good, revoked, and stale-then-fresh */
	assert_non_null(der = chain_ocsp(S.pki->cert[4], S.pki->key[4], 0,
	    T0 - DAY, T0 + DAY, EVP_sha384(), &len));
	free(der);
	{
		EVP_PKEY	*rk;
		X509		*rc = avt_nv_ocsp_responder(S.pki, 4,
				    T0 - 100 * DAY, T0 + 100 * DAY, &rk);

		assert_non_null(rc);
		der = chain_ocsp(rc, rk, 0, T0 - DAY, T0 + DAY, EVP_sha384(),
		    &len);
		avt_put(S.tmp, "good.der", der, len);
		free(der);
		der = chain_ocsp(rc, rk, 1, T0 - DAY, T0 + DAY, EVP_sha384(),
		    &len);
		avt_put(S.tmp, "revoked.der", der, len);
		free(der);
		der = chain_ocsp(rc, rk, 0, T0 + 9 * DAY, T0 + 11 * DAY,
		    EVP_sha384(), &len);
		avt_put(S.tmp, "later.der", der, len);
		free(der);
		X509_free(rc);
		EVP_PKEY_free(rk);
	}
	json = avt_strf("{\"routes\": {"
	    "\"/v1/rim/NV_GPU_DRIVER_GH100_550.90.07\": {\"file\": "
	    "\"drv.json\", \"content_type\": \"application/json\"},"
	    "\"/v1/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001\": {\"file\": "
	    "\"vb.xml\"},"
	    "\"/ocsp/good\": {\"method\": \"POST\", \"file\": \"good.der\"},"
	    "\"/ocsp/revoked\": {\"method\": \"POST\", \"file\": "
	    "\"revoked.der\"},"
	    "\"/ocsp/seq\": {\"sequence\": [{\"file\": \"good.der\"}, "
	    "{\"file\": \"good.der\"}, {\"file\": \"good.der\"}, "
	    "{\"file\": \"good.der\"}, {\"file\": \"later.der\"}]},"
	    "\"/ocsp/down\": {\"status\": 503}"
	    "}, \"default\": {\"status\": 404}}");
	avt_put(S.tmp, "routes.json", json, strlen(json));
	free(json);
	routes = avt_strf("%s/routes.json", S.tmp);
	up = avt_mock_start(&S.mock, S.root, routes);
	free(routes);
	return up;
}

static int
server_down(void **state)
{
	avt_mock_stop(&S.mock);
	if (S.tmp != NULL)
		avt_rmtree(S.tmp);
	free(S.tmp);
	free(S.root);
	return teardown(state);
}

#define NEED_SERVER() do {						\
	if (S.mock.pid <= 0)						\
		skip();	/* no /usr/bin/python3 or source folder */	\
} while (0)

/* An online store with its own cache, pointed at the mock server. */
static struct av_collateral *
online_store(const char *ocsp_path, char **cache_out)
{
	struct av_coll_fetch_cfg	 cfg = { 0 };
	char				*rim = avt_strf("%s", S.mock.base);
	char				*ocsp = avt_strf("%s%s", S.mock.base, ocsp_path);
	struct av_collateral		*c;

	*cache_out = avt_tmpdir();
	cfg.online = true;
	cfg.cache_dir = *cache_out;
	cfg.nvidia_rim_url = rim;
	cfg.nvidia_ocsp_url = ocsp;
	cfg.timeout_s = 10;
	assert_non_null(c = av_collateral_new(&cfg));
	free(rim);
	free(ocsp);
	return c;
}

static void
test_service_rims(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	struct avt_nv_report_spec rs;
	char			*cache;
	unsigned long		 before;

	(void)state;
	NEED_SERVER();
	c = online_store("/ocsp/good", &cache);
	r.coll = c;
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"required\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(claim_str(&res->submods[0], "rims.driver.source"),
	    "service");
	assert_string_equal(claim_str(&res->submods[0], "rims.vbios.source"),
	    "service");
	assert_string_equal(claim_str(&res->submods[0],
	    "certificate.ocsp.status"), "good");
	av_result_free(res);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 2 + 4);	/* 2 RIMs, 4 OCSP */
	before = st.requests;
	/* again: everything from the on-disk cache */
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, before);
	av_collateral_free(c);
	/* a new store on the same cache, offline: still answered */
	{
		struct av_coll_fetch_cfg cfg = { .online = false,
		    .cache_dir = cache };
		char *rim = avt_strf("%s", S.mock.base), *ocsp = avt_strf("%s/ocsp/good",
		    S.mock.base);

		cfg.nvidia_rim_url = rim;
		cfg.nvidia_ocsp_url = ocsp;
		assert_non_null(c = av_collateral_new(&cfg));
		r.coll = c;
		res = run(&r);
		EXPECT(res, AV_STATUS_AFFIRMING, NULL);
		av_result_free(res);
		av_collateral_free(c);
		free(rim);
		free(ocsp);
	}
	avt_rmtree(cache);
	free(cache);
	/* a version the service does not know: rim_missing */
	c = online_store("/ocsp/good", &cache);
	r.coll = c;
	avt_nv_report_defaults(&rs);
	rs.driver = "999.1";
	r.rs = &rs;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "rim_missing");
	assert_string_equal(claim_str(&res->submods[0], "rims.driver.id"),
	    "NV_GPU_DRIVER_GH100_999.1");
	av_result_free(res);
	av_collateral_free(c);
	avt_rmtree(cache);
	free(cache);
}

static void
test_service_ocsp(void **state)
{
	struct run		 r = { 0 };
	struct av_result	*res;
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	char			*cache;

	(void)state;
	NEED_SERVER();
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"required\"}";
	/* revoked */
	c = online_store("/ocsp/revoked", &cache);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "cert_revoked");
	av_result_free(res);
	av_collateral_free(c);
	avt_rmtree(cache);
	free(cache);
	/* the responder is down: unavailable */
	c = online_store("/ocsp/down", &cache);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_CONTRAINDICATED, "ocsp_unavailable");
	av_result_free(res);
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"optional\"}";
	res = run(&r);
	EXPECT(res, AV_STATUS_WARNING, "ocsp_unavailable");
	av_result_free(res);
	av_collateral_free(c);
	avt_rmtree(cache);
	free(cache);
	/* a cached answer goes stale: asked again, the fresh one counts */
	r.policy = "{\"rim\": \"required\", \"ocsp\": \"required\"}";
	c = online_store("/ocsp/seq", &cache);
	r.coll = c;
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 2 + 4);	/* 2 RIMs, 4 OCSP */
	/* ten days on: the cached answers are stale, asked again */
	r.now = T0 + 10 * DAY;
	res = run(&r);
	EXPECT(res, AV_STATUS_AFFIRMING, NULL);
	av_result_free(res);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 2 + 4 + 4);
	av_collateral_free(c);
	avt_rmtree(cache);
	free(cache);
}

/* ---- seeds -------------------------------------------------------------- */

struct seed {
	const char	*name;		/* below evidence/nvidia-gpu/ */
	const char	*why;		/* NULL: good */
};

static char *
seed_dir(void)
{
	const char *src = getenv("AV_SOURCE_DIR");

	return src != NULL ? avt_strf("%s/evidence/nvidia-gpu", src) : NULL;
}

static void
put_seed(const char *dir, const char *name, const void *p, size_t n,
    const char *code, const char *why)
{
	char *text;

	avt_put(dir, name, p, n);
	if (why == NULL)
		return;
	text = avt_strf("%s\n%s\n", code, why);
	{
		char *e = avt_strf("%.*s.expect", (int)(strrchr(name, '.') - name),
		    name);

		avt_put(dir, e, text, strlen(text));
		free(e);
	}
	free(text);
}

static void
regen_seeds(const char *dir)
{
	struct avt_nv_report_spec	 rs;
	struct avt_nv_rim_spec		 sp = { 0 };
	struct avt_nv_rim_res		 res64[64];
	uint8_t				*p;
	size_t				 n;
	char				*x, *sub;
	static const char *const dirs[] = { "", "/spdm", "/spdm/good",
	    "/spdm/bad", "/rim", "/rim/good", "/rim/bad" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		sub = avt_strf("%s%s", dir, dirs[i]);
		(void)mkdir(sub, 0755);
		free(sub);
	}
	sub = avt_strf("%s/spdm", dir);
	avt_nv_report_defaults(&rs);
	assert_non_null(p = avt_nv_report(S.pki, &rs, &n));
	put_seed(sub, "good/report.bin", p, n, NULL, NULL);
	put_seed(sub, "bad/truncated-opaque.bin", p, n - 200,
	    "evidence_malformed", "nvidia-gpu: opaque data runs past the end");
	put_seed(sub, "bad/truncated-signature.bin", p, n - 1,
	    "evidence_malformed", "nvidia-gpu: signature runs past the end");
	p[0] = 0x12;
	put_seed(sub, "bad/version.bin", p, n, "evidence_malformed",
	    "nvidia-gpu: request is not SPDM 1.1");
	p[0] = 0x11;
	p[OFF_BLOCK(5)] = 5;
	put_seed(sub, "bad/duplicate-index.bin", p, n, "evidence_malformed",
	    "nvidia-gpu: duplicate measurement block index");
	free(p);
	rs.trailing = 1;
	rs.ppcie = NV_STATUS_ENABLED;
	rs.nswitch_pdis = 18;
	rs.feature = 2;
	assert_non_null(p = avt_nv_report(S.pki, &rs, &n));
	put_seed(sub, "good/ppcie-trailing-zero.bin", p, n, NULL, NULL);
	p[n - 1] = 0x01;
	put_seed(sub, "bad/trailing-byte.bin", p, n, "evidence_malformed",
	    "nvidia-gpu: trailing bytes after the signature");
	free(p);
	rs.trailing = 0;
	rs.no_fwid = true;
	rs.driver = "535.86.09";
	assert_non_null(p = avt_nv_report(S.pki, &rs, &n));
	put_seed(sub, "good/no-fwid.bin", p, n, NULL, NULL);
	free(p);
	free(sub);
	/* RIMs */
	sub = avt_strf("%s/rim", dir);
	put_seed(sub, "good/driver.xml", S.drv, S.drv_len, NULL, NULL);
	put_seed(sub, "good/vbios.xml", S.vb, S.vb_len, NULL, NULL);
	for (unsigned i = 0; i < 64; i++) {
		memset(&res64[i], 0, sizeof(res64[i]));
		res64[i].index = i;
		res64[i].active = i % 3 == 0;
		res64[i].nalt = 1 + i % 4;
		for (size_t a = 0; a < res64[i].nalt; a++)
			avt_nv_meas_default(i + a, res64[i].alt[a]);
	}
	sp.version = "96.00.9F.00.01";
	sp.res = res64;
	sp.nres = 64;
	sp.tamper_after_sign = true;
	assert_non_null(x = avt_nv_rim(S.rp, &sp, &n));
	put_seed(sub, "good/tampered-alternatives.xml", x, n, NULL, NULL);
	free(x);
	sp.tamper_after_sign = false;
	sp.with_dtd = true;
	assert_non_null(x = avt_nv_rim(S.rp, &sp, &n));
	put_seed(sub, "bad/dtd.xml", x, n, "rim_invalid",
	    "nvidia-gpu: RIM with a DTD");
	free(x);
	sp.with_dtd = false;
	sp.duplicate_meta = true;
	assert_non_null(x = avt_nv_rim(S.rp, &sp, &n));
	put_seed(sub, "bad/duplicate-meta.xml", x, n, "rim_invalid",
	    "nvidia-gpu: RIM with more than one Meta, Payload or Signature");
	free(x);
	sp.duplicate_meta = false;
	sp.nested_signature = true;
	assert_non_null(x = avt_nv_rim(S.rp, &sp, &n));
	put_seed(sub, "bad/nested-signature.xml", x, n, "rim_invalid",
	    "nvidia-gpu: RIM with a nested signature");
	free(x);
	put_seed(sub, "bad/not-xml.xml", "<a", 2, "rim_invalid",
	    "nvidia-gpu: RIM is not XML");
	put_seed(sub, "bad/not-swid.xml", "<a/>", 4, "collateral_invalid",
	    "nvidia-gpu: XML is not a SWID tag");
	free(sub);
}

/* Every bad seed fails with its .expect; every good one parses. */
static void
check_seed_dir(const char *dir, bool spdm)
{
	char		*path, *sub;
	DIR		*d;
	struct dirent	*de;
	size_t		 ngood = 0, nbad = 0;

	for (int good = 0; good < 2; good++) {
		sub = avt_strf("%s/%s", dir, good ? "good" : "bad");
		assert_non_null(d = opendir(sub));
		while ((de = readdir(d)) != NULL) {
			size_t	 n = strlen(de->d_name), len, el;
			uint8_t	*p, *ex;
			struct av_err e = { 0 };
			int	 rc;
			char	 code[64], why[256], *nl;

			if (de->d_name[0] == '.' || (n > 7 &&
			    strcmp(de->d_name + n - 7, ".expect") == 0))
				continue;
			path = avt_strf("%s/%s", sub, de->d_name);
			assert_non_null(p = avt_read_file(path, &len));
			if (spdm) {
				struct nv_report rep;

				rc = nv_report_parse(p, len, &rep, &e);
				if (rc == 0)
					nv_report_cleanup(&rep);
			} else {
				struct nv_rim *rim = NULL;

				rc = nv_rim_parse(p, len, &rim, &e);
				nv_rim_free(rim);
			}
			if (good && rc != 0)
				fail_msg("%s: %s", path, e.reason);
			if (!good) {
				char *ep = avt_strf("%s/%.*s.expect", sub,
				    (int)(strrchr(de->d_name, '.') -
				    de->d_name), de->d_name);

				if (rc == 0)
					fail_msg("%s parsed", path);
				assert_non_null(ex = avt_read_file(ep, &el));
				nl = strchr((char *)ex, '\n');
				assert_non_null(nl);
				snprintf(code, sizeof(code), "%.*s",
				    (int)(nl - (char *)ex), (char *)ex);
				snprintf(why, sizeof(why), "%s", nl + 1);
				why[strcspn(why, "\n")] = '\0';
				if (strcmp(av_code_str(e.code), code) != 0 ||
				    strcmp(e.reason, why) != 0)
					fail_msg("%s: got %s \"%s\"", path,
					    av_code_str(e.code), e.reason);
				free(ex);
				free(ep);
			}
			good ? ngood++ : nbad++;
			free(p);
			free(path);
		}
		closedir(d);
		free(sub);
	}
	assert_true(ngood > 0 && nbad > 0);
}

static void
test_seeds(void **state)
{
	char *dir, *sub;

	(void)state;
	if ((dir = seed_dir()) == NULL)
		skip();
	if (getenv("AV_NVGPU_REGEN_SEEDS") != NULL)
		regen_seeds(dir);
	sub = avt_strf("%s/spdm", dir);
	check_seed_dir(sub, true);
	free(sub);
	sub = avt_strf("%s/rim", dir);
	check_seed_dir(sub, false);
	free(sub);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_trailing),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_fwid_ext),
		cmocka_unit_test(test_verify_good),
		cmocka_unit_test(test_verify_signature),
		cmocka_unit_test(test_verify_nonce),
		cmocka_unit_test(test_verify_chain),
		cmocka_unit_test(test_verify_fwid),
		cmocka_unit_test(test_rim_mismatch),
		cmocka_unit_test(test_rim_alternatives_and_choice),
		cmocka_unit_test(test_rim_nvdec0),
		cmocka_unit_test(test_rim_missing_modes),
		cmocka_unit_test(test_rim_hostile),
		cmocka_unit_test(test_rim_time_and_root),
		cmocka_unit_test(test_rim_conflict),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_policy_rules),
		cmocka_unit_test(test_policy_compile),
		cmocka_unit_test(test_sdk_list),
		cmocka_unit_test(test_ocsp_stapled),
		cmocka_unit_test(test_ocsp_signers),
		cmocka_unit_test(test_service_rims),
		cmocka_unit_test(test_service_ocsp),
		cmocka_unit_test(test_seeds),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
