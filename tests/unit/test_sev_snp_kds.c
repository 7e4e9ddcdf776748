/*
 * AMD SEV-SNP collateral from AMD KDS (src/collateral/amd_kds.c) against
 * tests/tools/mock_vendor_server.py on a loopback port, serving test
 * certificates (tests/lib/avt_snp.h) and, when $AV_VECTORS is present,
 * the real VCEKs and chains of ../shared/vectors/sev-snp (read in place)
 * at KDS paths.  Checks: VCEK + cert_chain + CRL fetched and cached;
 * the cache answers a second, offline verification; a cached VCEK that
 * is not valid at the verification time is fetched again; the product
 * found by trying KDS for a v2 report; local request spacing and KDS's
 * own 429 give collateral_missing without hammering the service; an
 * unreachable KDS gives collateral_missing; an imported cache works
 * offline.  The server is stopped by its pid.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/pem.h>

#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_mock.h"
#include "avt_pki.h"
#include "avt_snp.h"
#include "evidence/sev_snp.h"

#define NOW	1751328000LL	/* 2025-07-01T00:00:00Z */
#define DAY	86400LL
#define YEAR	(365 * DAY)

static struct {
	struct avt_mock		 mock;
	char			*tmp, *root, *routes, *vectors;
	struct avt_snp_pki	*pki[3];	/* Milan, Genoa, Turin */
	struct av_trust		*trust;
	EVP_PKEY		*vkey;
	int			 ncache;
} S;

static const char *const PROD[] = { "Milan", "Genoa", "Turin" };

/* Write n bytes to root/rel (making folders). */
static void
put(const char *rel, const void *p, size_t n)
{
	char *path = avt_strf("%s%s", S.root, rel);

	avt_put(NULL, path, p, n);
	free(path);
}

static void
put_cert_der(const char *rel, X509 *x)
{
	uint8_t	*d;
	size_t	 n;

	assert_non_null(d = avt_cert_der(x, &n));
	put(rel, d, n);
	free(d);
}

/* ---- the mock KDS ----------------------------------------------------- */

static int
setup(void **state)
{
	static const char routes[] = "{\"routes\": {}}\n";

	(void)state;
	memset(&S, 0, sizeof(S));
	S.mock.pid = -1;
	assert_non_null(S.trust = av_trust_new());
	assert_non_null(S.vkey = avt_key_new("P-384"));
	for (int p = 0; p < 3; p++) {
		assert_non_null(S.pki[p] = avt_snp_pki_new(PROD[p], NOW - YEAR,
		    NOW + 20 * YEAR));
		assert_int_equal(av_trust_add_anchor(S.trust, "sev-snp",
		    S.pki[p]->ark), 0);
	}
	S.vectors = avt_vectors_path("sev-snp");
	if (!avt_mock_available())
		return 0;	/* the tests skip themselves */
	assert_non_null(S.tmp = avt_tmpdir());
	S.root = avt_strf("%s/root", S.tmp);
	avt_mkdirs(S.root);
	S.routes = avt_strf("%s/routes.json", S.tmp);
	avt_put(NULL, S.routes, routes, strlen(routes));
	return avt_mock_start(&S.mock, S.root, S.routes);
}

static int
teardown(void **state)
{
	(void)state;
	avt_mock_stop(&S.mock);
	if (S.tmp != NULL)
		avt_rmtree(S.tmp);
	for (int p = 0; p < 3; p++)
		avt_snp_pki_free(S.pki[p]);
	av_trust_free(S.trust);
	EVP_PKEY_free(S.vkey);
	free(S.tmp);
	free(S.root);
	free(S.routes);
	free(S.vectors);
	return 0;
}

#define NEED_SERVER() do {						\
	if (S.mock.pid <= 0)						\
		skip();	/* no /usr/bin/python3 or source folder */	\
} while (0)

/* GET or POST a control endpoint: the JSON answer (new reference). */
static json_t *
control(const char *path, const char *post)
{
	json_t *doc = avt_mock_json(&S.mock, path, post);

	assert_non_null(doc);
	return doc;
}

/* Requests the server saw in all. */
static long
total(void)
{
	json_t	*d = control("/__stats", NULL);
	long	 n = (long)json_integer_value(json_object_get(d, "total"));

	json_decref(d);
	return n;
}

static void
route(const char *path, json_t *resp)
{
	json_t	*doc = json_pack("{s:{s:o}}", "routes", path, resp);
	char	*s = json_dumps(doc, JSON_COMPACT);

	json_decref(control("/__routes", s));
	free(s);
	json_decref(doc);
}

/* A store on a fresh (or the given) cache folder. */
static struct av_collateral *
store(const char *cache, bool online, long kds_ms, long wait_ms,
    const char *url)
{
	struct av_coll_fetch_cfg	 cfg = { 0 };
	struct av_collateral		*c;
	char				*dir = NULL;

	if (cache == NULL) {
		dir = avt_strf("%s/cache%d", S.tmp, S.ncache++);
		cache = dir;
	}
	cfg.online = online;
	cfg.cache_dir = cache;
	cfg.amd_kds_url = url != NULL ? url : S.mock.base;
	cfg.timeout_s = 5;
	cfg.kds_min_interval_ms = kds_ms;
	cfg.max_wait_ms = wait_ms;
	assert_non_null(c = av_collateral_new(&cfg));
	free(dir);
	return c;
}

static char *
cache_of(int i)
{
	return avt_strf("%s/cache%d", S.tmp, i);
}

/* ---- synthetic reports ------------------------------------------------ */

struct rep {
	uint8_t			 r[AVT_SNP_REPORT_LEN];
	X509			*vcek;
	uint8_t			 chip[64];
	struct avt_snp_tcb	 tcb;
	int			 p;
};

/* A VCEK-signed report of product p (0..2), chip seed, version v. */
static void
mkrep(struct rep *x, int p, uint8_t seed, uint32_t v, int64_t nb,
    int64_t na)
{
	struct avt_snp_fields	 f = { 0 };
	struct avt_snp_leaf_spec l = { 0 };
	size_t			 hl = p == 2 ? 8 : 64;

	memset(x, 0, sizeof(*x));
	x->p = p;
	x->tcb = (struct avt_snp_tcb){ .fmc = p == 2 ? 1 : 0, .bl = 3,
	    .snp = (uint8_t)(8 + p), .ucode = 115 };
	for (size_t i = 0; i < hl; i++)
		x->chip[i] = (uint8_t)(seed + i * 3);
	f.version = v;
	f.current_tcb = f.reported_tcb = f.committed_tcb = f.launch_tcb =
	    avt_snp_tcb_raw(PROD[p], &x->tcb);
	f.cpuid_fam = p == 2 ? 0x1A : 0x19;
	f.cpuid_mod = p == 1 ? 0x11 : 0x01;
	memcpy(f.chip_id, x->chip, 64);
	f.measurement[0] = 0x42;
	l.product_name = PROD[p];
	l.hwid = x->chip;
	l.hwid_len = hl;
	l.tcb = x->tcb;
	l.fmc = p == 2;
	l.not_before = nb;
	l.not_after = na;
	l.serial_zero = true;
	assert_non_null(x->vcek = avt_snp_leaf_new(S.pki[p], &l, S.vkey));
	assert_int_equal(avt_snp_report(&f, S.vkey, x->r), 0);
}

static char *
vcek_path(const struct rep *x)
{
	struct snp_tcb	t = { .fmc = x->tcb.fmc, .bootloader = x->tcb.bl,
			    .tee = x->tcb.tee, .snp = x->tcb.snp,
			    .microcode = x->tcb.ucode };
	char		buf[512];

	assert_int_equal(amd_kds_vcek_url(buf, sizeof(buf), "",
	    (enum snp_product)(x->p + 1), x->chip, x->p == 2 ? 8 : 64, &t), 0);
	return strdup(buf);
}

/* Serve the report's VCEK, its product's chain and CRL at KDS paths. */
static void
serve(const struct rep *x)
{
	char		*p = vcek_path(x), *a, *b, *all, *rel;
	X509_CRL	*crl;
	uint8_t		*der = NULL;
	int		 n;

	put_cert_der(p, x->vcek);
	free(p);
	a = avt_cert_pem(S.pki[x->p]->ask);
	b = avt_cert_pem(S.pki[x->p]->ark);
	all = avt_strf("%s%s", a, b);
	rel = avt_strf("/vcek/v1/%s/cert_chain", PROD[x->p]);
	put(rel, all, strlen(all));
	free(rel);
	free(a);
	free(b);
	free(all);
	crl = avt_crl_new(S.pki[x->p]->ark, S.pki[x->p]->ark_key, NOW - DAY,
	    NOW + 60 * DAY, NULL, 0);
	assert_non_null(crl);
	assert_true((n = i2d_X509_CRL(crl, &der)) > 0);
	rel = avt_strf("/vcek/v1/%s/crl", PROD[x->p]);
	put(rel, der, (size_t)n);
	free(rel);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

static struct av_result *
run(const uint8_t *rep, size_t n, json_t *certs, struct av_collateral *c,
    int64_t now)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = now, .trust = S.trust,
				    .coll = c };
	char			*b = av_b64_encode(rep, n);
	json_t			*body;

	body = json_pack("{s:[{s:s s:s}]}", "evidence", "type", "sev-snp",
	    "data", b);
	free(b);
	if (certs != NULL)
		json_object_set_new(json_array_get(json_object_get(body,
		    "evidence"), 0), "certs", certs);
	assert_int_equal(av_request_from_json(body, &req, &e), 0);
	json_decref(body);
	assert_int_equal(av_verify_request(&env, req, NULL, &res, &e), 0);
	av_request_free(req);
	return res;
}

static void
dump(const struct av_result *r)
{
	char *s = json_dumps(r->submods[0].reasons, JSON_COMPACT);

	fprintf(stderr, "status %s reasons %s\n",
	    av_status_str(r->submods[0].status), s);
	free(s);
}

/* Verified: only no_reference_values (and the CRL warning if no_crl). */
static void
assert_verified(const struct av_result *r, bool crl)
{
	size_t	 want = crl ? 1 : 2;

	if (r->submods[0].status != AV_STATUS_WARNING ||
	    json_array_size(r->submods[0].reasons) != want) {
		dump(r);
		fail_msg("expected verified evidence");
	}
}

static void
assert_failed(const struct av_result *r, const char *code)
{
	json_t	*x = json_array_get(r->submods[0].reasons, 0);

	if (r->submods[0].status != AV_STATUS_CONTRAINDICATED ||
	    strcmp(json_string_value(json_object_get(x, "code")), code) != 0) {
		dump(r);
		fail_msg("expected %s", code);
	}
}

static const char *
source(const struct av_result *r)
{
	return json_string_value(json_object_get(json_object_get(
	    r->submods[0].claims, "certificate"), "source"));
}

/* ---- tests ------------------------------------------------------------ */

static void
test_fetch_then_cache(void **state)
{
	struct rep		 x;
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	struct av_result	*r;
	long			 before;
	char			*cache;

	(void)state;
	NEED_SERVER();
	mkrep(&x, 0, 1, 3, NOW - 30 * DAY, NOW + 7 * YEAR);
	serve(&x);
	before = total();
	c = store(NULL, true, 0, 0, NULL);
	cache = cache_of(S.ncache - 1);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_verified(r, true);
	assert_string_equal(source(r), "kds");
	assert_true(json_is_true(json_object_get(r->submods[0].claims,
	    "crl_checked")));
	av_result_free(r);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 3);	/* VCEK, cert_chain, crl */
	assert_int_equal(total() - before, 3);
	/* the same store again: nothing is asked twice */
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_verified(r, true);
	av_result_free(r);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 3);
	av_collateral_free(c);
	/* a new store, offline, on the same cache: all from disk */
	c = store(cache, false, 0, 0, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_verified(r, true);
	assert_string_equal(source(r), "kds");
	av_result_free(r);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 0);
	assert_int_equal(st.cache_hits, 3);
	assert_int_equal(total() - before, 3);
	av_collateral_free(c);
	free(cache);
	X509_free(x.vcek);
}

static void
test_expired_cached_vcek_refetched(void **state)
{
	struct rep		 x;
	X509			*v2;
	struct av_collateral	*c;
	struct av_result	*r;
	struct avt_snp_leaf_spec l = { 0 };
	char			*cache, *p;
	long			 before;

	(void)state;
	NEED_SERVER();
	/* KDS first serves a VCEK that expires in 10 days */
	mkrep(&x, 1, 50, 3, NOW - 30 * DAY, NOW + 10 * DAY);
	serve(&x);
	c = store(NULL, true, 0, 0, NULL);
	cache = cache_of(S.ncache - 1);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_verified(r, true);
	av_result_free(r);
	av_collateral_free(c);
	/* then a renewed one, same key */
	l.product_name = "Genoa";
	l.hwid = x.chip;
	l.hwid_len = 64;
	l.tcb = x.tcb;
	l.not_before = NOW;
	l.not_after = NOW + 7 * YEAR;
	l.serial_zero = true;
	assert_non_null(v2 = avt_snp_leaf_new(S.pki[1], &l, S.vkey));
	p = vcek_path(&x);
	put_cert_der(p, v2);
	free(p);
	/* offline at NOW + 20 days: the cached VCEK has expired */
	c = store(cache, false, 0, 0, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW + 20 * DAY);
	assert_failed(r, "cert_time_invalid");
	av_result_free(r);
	av_collateral_free(c);
	/* online: fetched again, and it verifies */
	before = total();
	c = store(cache, true, 0, 0, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW + 20 * DAY);
	assert_verified(r, true);
	av_result_free(r);
	assert_int_equal(total() - before, 1);
	av_collateral_free(c);
	free(cache);
	X509_free(v2);
	X509_free(x.vcek);
}

static void
test_product_by_trying(void **state)
{
	struct rep		 x;
	struct av_collateral	*c;
	struct av_result	*r;

	(void)state;
	NEED_SERVER();
	/* a v2 Genoa report: no CPUID; KDS has no Milan VCEK for it */
	mkrep(&x, 1, 90, 2, NOW - 30 * DAY, NOW + 7 * YEAR);
	serve(&x);
	c = store(NULL, true, 0, 0, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_verified(r, true);
	assert_string_equal(json_string_value(json_object_get(
	    r->submods[0].claims, "product")), "Genoa");
	av_result_free(r);
	av_collateral_free(c);
	X509_free(x.vcek);
}

static void
test_rate_limited(void **state)
{
	struct rep		 x;
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	struct av_result	*r;
	long			 before;

	(void)state;
	NEED_SERVER();
	mkrep(&x, 2, 130, 5, NOW - 30 * DAY, NOW + 7 * YEAR);
	serve(&x);
	/* one request per minute, and no waiting: the chain is refused */
	before = total();
	c = store(NULL, true, 60000, 50, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 1);
	assert_true(st.rate_limited >= 1);
	assert_int_equal(total() - before, 1);
	av_collateral_free(c);
	X509_free(x.vcek);
}

static void
test_kds_429(void **state)
{
	struct rep		 x, y;
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	struct av_result	*r;
	char			*p;
	long			 before;

	(void)state;
	NEED_SERVER();
	mkrep(&x, 0, 170, 3, NOW - 30 * DAY, NOW + 7 * YEAR);
	mkrep(&y, 0, 210, 3, NOW - 30 * DAY, NOW + 7 * YEAR);
	serve(&x);
	serve(&y);
	p = vcek_path(&x);
	route(p, json_pack("{s:i s:{s:s}}", "status", 429, "headers",
	    "Retry-After", "120"));
	free(p);
	before = total();
	c = store(NULL, true, 0, 0, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	/* KDS said to back off: the next report does not even ask */
	r = run(y.r, sizeof(y.r), NULL, c, NOW);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	av_collateral_stats(c, &st);
	assert_true(st.rate_limited >= 1);
	assert_int_equal(total() - before, 1);
	av_collateral_free(c);
	X509_free(x.vcek);
	X509_free(y.vcek);
}

static void
test_unreachable(void **state)
{
	struct rep		 x;
	struct av_collateral	*c;
	struct av_result	*r;

	(void)state;
	NEED_SERVER();
	mkrep(&x, 0, 7, 3, NOW - 30 * DAY, NOW + 7 * YEAR);
	c = store(NULL, true, 0, 0, "http://127.0.0.1:1");
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	av_collateral_free(c);
	/* with the VCEK in the request, only the chain is missing */
	c = store(NULL, true, 0, 0, "http://127.0.0.1:1");
	{
		char *b = avt_snp_b64_der(x.vcek);

		r = run(x.r, sizeof(x.r), json_pack("{s:s}", "vcek", b), c,
		    NOW);
		free(b);
	}
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	av_collateral_free(c);
	X509_free(x.vcek);
}

static void
test_imported_offline(void **state)
{
	struct rep		 x;
	struct av_collateral	*c;
	struct av_result	*r;
	struct av_err		 e = { 0 };
	char			*cache, *f[3];
	size_t			 n;
	FILE			*fp;

	(void)state;
	NEED_SERVER();
	mkrep(&x, 2, 33, 3, NOW - 30 * DAY, NOW + 7 * YEAR);
	cache = avt_strf("%s/imported-cache", S.tmp);
	avt_mkdirs(cache);
	f[0] = avt_strf("%s/vcek.pem", S.tmp);
	f[1] = avt_strf("%s/ask.pem", S.tmp);
	f[2] = avt_strf("%s/ark.pem", S.tmp);
	assert_int_equal(avt_cert_write_pem(x.vcek, f[0]), 0);
	assert_int_equal(avt_cert_write_pem(S.pki[2]->ask, f[1]), 0);
	assert_int_equal(avt_cert_write_pem(S.pki[2]->ark, f[2]), 0);
	assert_int_equal(av_collateral_import(cache,
	    (const char *const *)f, 3, &n, &e), 0);
	assert_int_equal(n, 3);
	(void)fp;
	c = store(cache, false, 0, 0, NULL);
	r = run(x.r, sizeof(x.r), NULL, c, NOW);
	assert_verified(r, false);	/* no CRL offline: a warning */
	assert_string_equal(source(r), "collateral");
	av_result_free(r);
	av_collateral_free(c);
	for (int i = 0; i < 3; i++)
		free(f[i]);
	free(cache);
	X509_free(x.vcek);
}

/* ---- the real vectors at KDS paths ------------------------------------ */

static char *
vec(const char *rel)
{
	return avt_strf("%s/%s", S.vectors, rel);
}

static uint8_t *
vec_read(const char *rel, size_t *n)
{
	char	*p = vec(rel);
	uint8_t	*b = avt_read_file(p, n);

	free(p);
	assert_non_null(b);
	return b;
}

/* Route a KDS path to a vector file, read in place. */
static void
route_file(const char *path, const char *rel)
{
	char *p = vec(rel);

	route(path, json_pack("{s:s}", "file", p));
	free(p);
}

static void
test_real_vectors(void **state)
{
	struct snp_report	 rep;
	struct snp_tcb		 t;
	struct av_trust		*pins;
	struct av_collateral	*c;
	struct av_result	*r;
	struct av_err		 e = { 0 };
	uint8_t			*b;
	size_t			 n;
	char			 url[512];

	(void)state;
	NEED_SERVER();
	if (S.vectors == NULL)
		skip();	/* ../shared/vectors not present */
	assert_non_null(pins = av_trust_new());	/* built-in pins only */
	route_file("/vcek/v1/Milan/cert_chain",
	    "certs/amd/milan_ask_ark_asvk.pem");
	route_file("/vcek/v1/Genoa/cert_chain",
	    "certs/amd/genoa_ask_ark_asvk.pem");
	route_file("/vlek/v1/Milan/cert_chain",
	    "certs/amd/milan_ask_ark_asvk.pem");

	/* trustee's Milan v2 report: VCEK by chip and REPORTED_TCB */
	b = vec_read("trustee/snp/test-report.bin", &n);
	assert_int_equal(snp_report_parse(b, n, &rep, &e), 0);
	snp_tcb_decode(rep.reported_tcb, SNP_PRODUCT_MILAN, &t);
	assert_int_equal(amd_kds_vcek_url(url, sizeof(url), "",
	    SNP_PRODUCT_MILAN, rep.chip_id, 64, &t), 0);
	route_file(url, "trustee/snp/test-vcek.der");
	c = store(NULL, true, 0, 0, NULL);
	{
		struct av_env		 env = { .now = NOW, .trust = pins,
					    .coll = c };
		struct av_request	*req = NULL;
		char			*b64 = av_b64_encode(b, n);
		json_t			*body = json_pack("{s:[{s:s s:s}]}",
					    "evidence", "type", "sev-snp",
					    "data", b64);

		free(b64);
		assert_int_equal(av_request_from_json(body, &req, &e), 0);
		json_decref(body);
		assert_int_equal(av_verify_request(&env, req, NULL, &r, &e), 0);
		av_request_free(req);
	}
	assert_verified(r, false);	/* KDS has no CRL route: warning */
	assert_string_equal(source(r), "kds");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(r->submods[0].claims, "certificate"), "ark")),
	    "ARK-Milan");
	av_result_free(r);
	av_collateral_free(c);
	free(b);

	/* the Azure Genoa v3 report (CPUID Genoa) */
	b = vec_read("trustee/az-snp-vtpm/evidence-genoa.snp-report.bin", &n);
	assert_int_equal(snp_report_parse(b, n, &rep, &e), 0);
	snp_tcb_decode(rep.reported_tcb, SNP_PRODUCT_GENOA, &t);
	assert_int_equal(amd_kds_vcek_url(url, sizeof(url), "",
	    SNP_PRODUCT_GENOA, rep.chip_id, 64, &t), 0);
	route_file(url, "trustee/az-snp-vtpm/evidence-genoa.vcek.pem");
	c = store(NULL, true, 0, 0, NULL);
	{
		struct av_env		 env = { .now = NOW, .trust = pins,
					    .coll = c };
		struct av_request	*req = NULL;
		char			*b64 = av_b64_encode(b, n);
		json_t			*body = json_pack("{s:[{s:s s:s}]}",
					    "evidence", "type", "sev-snp",
					    "data", b64);

		free(b64);
		assert_int_equal(av_request_from_json(body, &req, &e), 0);
		json_decref(body);
		assert_int_equal(av_verify_request(&env, req, NULL, &r, &e), 0);
		av_request_free(req);
	}
	assert_verified(r, false);
	assert_string_equal(json_string_value(json_object_get(
	    r->submods[0].claims, "product")), "Genoa");
	av_result_free(r);
	av_collateral_free(c);
	free(b);

	/* the AWS VLEK report: VLEK in the request, chain from KDS */
	b = vec_read("trustee/snp/test-vlek-report.bin", &n);
	c = store(NULL, true, 0, 0, NULL);
	{
		struct av_env		 env = { .now = NOW, .trust = pins,
					    .coll = c };
		struct av_request	*req = NULL;
		uint8_t			*v;
		size_t			 vl;
		char			*b64 = av_b64_encode(b, n), *vb;
		json_t			*body;

		v = vec_read("trustee/snp/test-vlek.der", &vl);
		vb = av_b64_encode(v, vl);
		body = json_pack("{s:[{s:s s:s s:{s:s}}]}", "evidence", "type",
		    "sev-snp", "data", b64, "certs", "vlek", vb);
		free(b64);
		free(vb);
		free(v);
		assert_int_equal(av_request_from_json(body, &req, &e), 0);
		json_decref(body);
		assert_int_equal(av_verify_request(&env, req, NULL, &r, &e), 0);
		av_request_free(req);
	}
	assert_verified(r, false);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(r->submods[0].claims, "certificate"), "ask")),
	    "SEV-VLEK-Milan");
	av_result_free(r);
	av_collateral_free(c);
	free(b);
	av_trust_free(pins);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_then_cache),
		cmocka_unit_test(test_expired_cached_vcek_refetched),
		cmocka_unit_test(test_product_by_trying),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_kds_429),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_imported_offline),
		cmocka_unit_test(test_real_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
