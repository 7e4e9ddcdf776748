/*
 * bench_verify - in-process verification benchmark (a benchmark, not a
 * test): evidence for every platform is made at start-up with the test
 * signers of tests/lib (so it runs without ../shared), then the same
 * request goes through av_verify_request() again and again and the CPU
 * time per verification (getrusage: user + system) is compared with the
 * crypto floor, the signature verifications a verification cannot avoid,
 * priced by `openssl speed` run in the same process tree.
 *
 *   bench_verify [-p PLATFORM,...] [-t CPU_SECONDS] [-n ITERATIONS]
 *                [-r ROUNDS] [-w WARMUP] [-s SPEED_SECONDS] [--no-speed]
 *                [-j FILE] [--bodies DIR]
 *
 * Platforms and their floors (one request = one evidence item):
 *   nitro      warm chain cache: 1 P-384 verification (COSE_Sign1)
 *   snp        cached VCEK chain and CRL: 1 P-384 verification
 *   tdx        cached PCK chain and collateral (in the request):
 *              2 P-256 verifications (QE report, quote)
 *   tdx-fresh  the same with 64 quotes of different report_data in turn
 *   tpm-rsa    enrolled RSA-2048 AK, RSASSA SHA-256: 1 RSA-2048 verification
 *   tpm-rsa-fresh  the same with 64 quotes (each its own nonce and
 *              signature; same AK and PCRs) in turn, nonce required
 *   tpm-p256   enrolled P-256 AK, ECDSA SHA-256: 1 P-256 verification
 *   tpm-p256-fresh  the same, 64 quotes in turn
 *   gpu8       one request with 8 NVIDIA GPU reports (8 device chains,
 *              RIMs in a collateral store, policy "count": 8, "rim":
 *              "required", "ocsp": "off"), warm chain cache:
 *              8 P-384 verifications (one SPDM report signature each)
 *
 * The floor loop repeats what `openssl speed` times (EVP_PKEY_verify on a
 * prepared context, 20-byte input for ECDSA, 36 for RSA) in this process,
 * for valgrind --tool=callgrind, whose instruction counts do not depend
 * on the load of a shared machine: under callgrind every measured loop is
 * bracketed by CALLGRIND_ZERO_STATS / CALLGRIND_DUMP_STATS_AT
 * (bench/callgrind.sh reads the dumps).
 *
 * --bodies DIR writes, for the HTTP benchmarks (bench/tdx.sh), each
 * platform's request bodies (<platform>.body, one a line; and
 * <platform>-invalid.body, a request that must be contraindicated, where
 * the platform has one), policy (policies/bench-<platform>.json) and
 * trust anchors (trust/<platform>/), made around the current time, and
 * exits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_nitro.h"
#include "avt_nvgpu.h"
#include "avt_pki.h"
#include "avt_snp.h"
#include "avt_tdx.h"
#include "avt_tpm.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define RUNNING_ON_VALGRIND		0
#define CALLGRIND_ZERO_STATS		do { } while (0)
#define CALLGRIND_DUMP_STATS_AT(s)	do { (void)(s); } while (0)
#endif

#define DAY	86400LL
#define FX_MAX_REQ	64	/* distinct requests per platform */
#define FX_NGPU		8	/* GPUs in the gpu8 request */
#define YEAR	(365 * DAY)

/* The verifications openssl speed prices. */
enum alg { ALG_P256, ALG_P384, ALG_RSA2048, ALG__COUNT };

static const char *const alg_name[ALG__COUNT] = {
	[ALG_P256] = "P-256 verify", [ALG_P384] = "P-384 verify",
	[ALG_RSA2048] = "RSA-2048 verify",
};

/* One platform's fixture: a request, a policy, the trust it needs. */
struct fixture {
	const char		*name;
	enum alg		 alg;		/* floor: nverify x alg */
	int			 nverify;
	const char		*what;		/* what the floor counts */
	struct av_trust		*trust;		/* owned */
	struct av_policy	*pol;		/* owned */
	struct av_collateral	*coll;		/* owned: stored collateral,
						   or NULL */
	struct av_request	*req[FX_MAX_REQ];	/* owned */
	size_t			 nreq;		/* requests, used in turn */
	json_t			*bodies;	/* owned: their bodies */
	json_t			*bad;		/* owned: a body that must be
						   contraindicated, or NULL */
	char			*nonce;		/* owned: base64, or NULL */
	json_t			*policy_doc;	/* owned */
	STACK_OF(X509)		*anchors;	/* owned: operator anchors */
	const char		*platform;	/* of the anchors */
	int64_t			 now;
};

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_verify: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void *
need(void *p, const char *what)
{
	if (p == NULL)
		die("cannot make %s", what);
	return p;
}

static char *
b64(const uint8_t *p, size_t n)
{
	return need(av_b64_encode(p, n), "base64");
}

static char *
hex(const uint8_t *p, size_t n)
{
	return need(av_hex_encode(p, n), "hex");
}

/* A JSON string of the hex of p[0..n) (new reference). */
static json_t *
jhex(const uint8_t *p, size_t n)
{
	char	*h = hex(p, n);
	json_t	*j = json_string(h);

	free(h);
	return need(j, "JSON string");
}

static void
set_str(json_t *o, const char *k, char *v)
{
	json_object_set_new(o, k, json_string(v));
	free(v);
}

/* The policy document {"id": "bench-<name>", "version": 1, ...}. */
static json_t *
policy_doc(const char *platform, const char *name, json_t *section)
{
	char id[64];

	snprintf(id, sizeof(id), "bench-%s", name);
	return need(json_pack("{s:s, s:i, s:{s:o}}", "id", id, "version", 1,
	    "evidence", platform, section), "policy");
}

/*
 * The request body for item (stolen: one item, or an array of items),
 * with the policy and the nonce.
 */
static json_t *
body_of(struct fixture *f, json_t *item)
{
	json_t *body = json_object();

	json_object_set_new(body, "evidence", json_is_array(item) ? item :
	    json_pack("[o]", item));
	json_object_set_new(body, "policy", json_string(json_string_value(
	    json_object_get(f->policy_doc, "id"))));
	if (f->nonce != NULL)
		json_object_set_new(body, "nonce", json_string(f->nonce));
	return body;
}

/*
 * Add a request for item (stolen): its body to f->bodies, its parsed
 * form to f->req.  Compiles f->policy_doc the first time.
 */
static void
finish(struct fixture *f, json_t *item)
{
	struct av_policy_err	 perr = { 0 };
	struct av_err		 e = { 0 };
	json_t			*body = body_of(f, item);

	if (f->nreq == FX_MAX_REQ)
		die("%s: too many requests", f->name);
	if (f->pol == NULL && av_policy_compile(f->policy_doc, &f->pol,
	    &perr) != 0)
		die("%s policy: %s: %s", f->name, perr.path, perr.reason);
	if (av_request_from_json(body, &f->req[f->nreq], &e) != 0)
		die("%s request: %s", f->name, e.reason);
	f->nreq++;
	json_array_append_new(f->bodies, body);
}

static void
anchor(struct fixture *f, const char *platform, X509 *x)
{
	if (av_trust_add_anchor(f->trust, platform, x) != 0)
		die("%s: trust anchor", f->name);
	f->platform = platform;
	if (f->anchors == NULL)
		f->anchors = need(sk_X509_new_null(), "stack");
	if (X509_up_ref(x) != 1 || sk_X509_push(f->anchors, x) <= 0)
		die("%s: anchors", f->name);
}

/* ---- nitro: one document, warm chain cache ------------------------------- */

static void
fx_nitro(struct fixture *f)
{
	struct avt_nitro_pki	*pki;
	struct avt_nitro_spec	 s;
	uint8_t			*doc;
	size_t			 n;
	json_t			*sec = json_object(), *it;

	f->alg = ALG_P384;
	f->nverify = 1;
	f->what = "COSE_Sign1 ES384";
	pki = need(avt_nitro_pki_new(f->now - 3600, f->now + 3 * 3600, NULL),
	    "nitro PKI");
	anchor(f, "aws-nitro", pki->root);
	avt_nitro_spec_init(&s, f->now, false);
	doc = need(avt_nitro_make(&s, pki, &n), "nitro document");
	for (int i = 0; i < 3; i++) {
		char k[8], *h = need(avt_nitro_pcr_hex(&s, i), "PCR");

		snprintf(k, sizeof(k), "pcr%d", i);
		json_object_set_new(sec, k, json_pack("[s]", h));
		free(h);
	}
	it = json_pack("{s:s}", "type", "aws-nitro");
	set_str(it, "data", b64(doc, n));
	f->policy_doc = policy_doc("aws-nitro", f->name, sec);
	finish(f, it);
	free(doc);
	avt_nitro_pki_free(pki);
}

/* ---- sev-snp: Milan v3 report, VCEK chain and CRL in the request --------- */

static char *
crl_pem(X509_CRL *crl)
{
	BIO	*b = need(BIO_new(BIO_s_mem()), "BIO");
	char	*data, *out;
	long	 n;

	if (PEM_write_bio_X509_CRL(b, crl) != 1)
		die("CRL PEM");
	n = BIO_get_mem_data(b, &data);
	out = need(calloc(1, (size_t)n + 1), "CRL PEM");
	memcpy(out, data, (size_t)n);
	BIO_free(b);
	return out;
}

static void
fx_snp(struct fixture *f)
{
	static const struct avt_snp_tcb tcb = { .bl = 3, .tee = 0, .snp = 8,
	    .ucode = 115 };
	struct avt_snp_pki	*pki;
	struct avt_snp_leaf_spec l = { 0 };
	struct avt_snp_fields	 r = { 0 };
	EVP_PKEY		*vkey;
	X509			*leaf;
	X509_CRL		*crl;
	uint8_t			 rep[AVT_SNP_REPORT_LEN], hwid[64];
	uint64_t		 raw;
	json_t			*it, *certs = json_object(), *sec;

	f->alg = ALG_P384;
	f->nverify = 1;
	f->what = "report ECDSA P-384";
	pki = need(avt_snp_pki_new("Milan", f->now - YEAR, f->now + 20 * YEAR),
	    "SNP PKI");
	anchor(f, "sev-snp", pki->ark);
	vkey = need(avt_key_new("P-384"), "VCEK key");
	raw = avt_snp_tcb_raw("Milan", &tcb);
	r.version = 3;
	r.guest_svn = 2;
	r.policy = 0x30000;
	r.current_tcb = r.reported_tcb = r.committed_tcb = r.launch_tcb = raw;
	r.platform_info = 0x3;
	for (int i = 0; i < 64; i++) {
		r.report_data[i] = (uint8_t)i;
		hwid[i] = r.chip_id[i] = (uint8_t)(i * 7 + 1);
	}
	for (int i = 0; i < 48; i++)
		r.measurement[i] = (uint8_t)(0xA0 + i);
	for (int i = 0; i < 32; i++)
		r.report_id[i] = (uint8_t)(0x70 + i);
	r.cpuid_fam = 0x19;
	r.cpuid_mod = 0x01;
	r.cpuid_step = 0x01;
	r.current_major = r.committed_major = 1;
	r.current_minor = r.committed_minor = 55;
	r.current_build = r.committed_build = 29;
	l.product_name = "Milan-B0";
	l.hwid = hwid;
	l.hwid_len = 64;
	l.tcb = tcb;
	l.not_before = f->now - 30 * DAY;
	l.not_after = f->now + 7 * YEAR;
	l.serial_zero = true;
	leaf = need(avt_snp_leaf_new(pki, &l, vkey), "VCEK");
	if (avt_snp_report(&r, vkey, rep) != 0)
		die("SNP report");
	crl = need(avt_crl_new(pki->ark, pki->ark_key, f->now - DAY,
	    f->now + 30 * DAY, NULL, 0), "ARK CRL");
	it = json_pack("{s:s}", "type", "sev-snp");
	set_str(it, "data", b64(rep, sizeof(rep)));
	set_str(certs, "vcek", avt_snp_b64_der(leaf));
	set_str(certs, "ask", avt_snp_b64_der(pki->ask));
	set_str(certs, "ark", avt_snp_b64_der(pki->ark));
	set_str(certs, "crl", crl_pem(crl));
	json_object_set_new(it, "certs", certs);
	sec = json_pack("{s:[o], s:s, s:{s:i}, s:[i], s:{s:b}}",
	    "measurement", jhex(r.measurement, 48), "crl", "required",
	    "min_tcb", "snp", 8, "vmpl", 0, "guest_policy", "debug", 0);
	f->policy_doc = policy_doc("sev-snp", f->name, sec);
	finish(f, it);
	X509_free(leaf);
	X509_CRL_free(crl);
	EVP_PKEY_free(vkey);
	avt_snp_pki_free(pki);
}

/* ---- tdx: quote v4 with every collateral document in the request ------- */

/*
 * nquotes quotes of one TD on one platform, differing in report_data (as
 * quotes bound to fresh nonces do); all with the same PCK chain and
 * collateral.  Also a quote whose signature does not verify (f->bad).
 */
static void
fx_tdx(struct fixture *f, int nquotes)
{
	struct avt_tdx			*t;
	struct avt_tdx_quote_spec	 qs;
	struct avt_tdx_tcb_spec		 ts;
	struct avt_tdx_qe_spec		 es;
	char				*tcb, *qe, *pck_crl, *root_crl;
	uint8_t				*q;
	size_t				 n;

	f->alg = ALG_P256;
	f->nverify = 2;
	f->what = "QE report + quote, ECDSA P-256";
	t = need(avt_tdx_new(f->now), "TDX PKI");
	anchor(f, "tdx", t->root);
	avt_tdx_quote_spec_init(&qs);
	avt_tdx_tcb_spec_init(&ts, t);
	avt_tdx_qe_spec_init(&es, t);
	tcb = need(avt_tdx_tcb_info(t, &ts), "TCB info");
	qe = need(avt_tdx_qe_identity(t, &es), "QE identity");
	pck_crl = need(avt_tdx_pck_crl_pem(t, f->now - DAY, f->now + 29 * DAY,
	    NULL, 0), "PCK CRL");
	root_crl = need(avt_tdx_root_crl_pem(t, f->now - DAY,
	    f->now + 300 * DAY, NULL, 0), "root CRL");
	f->policy_doc = policy_doc("tdx", f->name, json_pack("{s:[o]}",
	    "mrtd", jhex(qs.mrtd, 48)));
	for (int i = 0; i <= nquotes; i++) {
		json_t *it;

		qs.report_data[0] = (uint8_t)i;
		qs.report_data[1] = (uint8_t)(i >> 8);
		qs.corrupt_quote_sig = (i == nquotes);
		q = need(avt_tdx_quote(t, &qs, &n), "TDX quote");
		it = need(avt_tdx_item(t, q, n, tcb, qe, pck_crl, root_crl),
		    "item");
		if (i < nquotes)
			finish(f, it);
		else
			f->bad = body_of(f, it);
		free(q);
	}
	free(tcb);
	free(qe);
	free(pck_crl);
	free(root_crl);
	avt_tdx_free(t);
}

/* ---- tpm: enrolled AK, 24 SHA-256 PCRs ---------------------------------- */

/*
 * nquotes quotes by one AK of the same 24 SHA-256 PCRs, each bound to its
 * own nonce (extraData) and so with its own signature, as a machine
 * answers fresh challenges; the requests carry their nonces.  With
 * fresh, the policy also requires a nonce ("freshness").
 */
static void
fx_tpm(struct fixture *f, bool rsa, int nquotes, bool fresh)
{
	struct avt_quote_spec	 qs = { 0 };
	struct avt_pcrs		 pcrs;
	EVP_PKEY		*ak;
	uint8_t			 nonce[32], *msg, *sig, *pub, h[32];
	unsigned char		*der = NULL;
	size_t			 ml, sl, pl;
	int			 dl;
	json_t			*it, *bank, *sec;

	f->alg = rsa ? ALG_RSA2048 : ALG_P256;
	f->nverify = 1;
	f->what = rsa ? "quote RSASSA-PKCS1 SHA-256" : "quote ECDSA SHA-256";
	ak = need(avt_key_new(rsa ? "RSA-2048" : "P-256"), "AK");
	memset(&pcrs, 0, sizeof(pcrs));
	for (int b = 0; b < AVT_NBANKS; b++)
		for (unsigned i = 0; i < AVT_TPM_NPCR; i++)
			memset(pcrs.v[b][i], (int)(i * 7 + b), 48);
	pub = need(avt_tpm_public(ak, true, &pl), "TPM2B_PUBLIC");
	if ((dl = i2d_PUBKEY(ak, &der)) <= 0)
		die("SPKI");
	av_sha256(der, (size_t)dl, h);
	OPENSSL_free(der);
	sec = json_pack("{s:[o], s:{s:{s:[o]}}}", "enrolled_aks", jhex(h, 32),
	    "pcrs", "sha256", "0", jhex(pcrs.v[AVT_SHA256][0], 32));
	f->policy_doc = policy_doc("tpm", f->name, sec);
	if (fresh)
		json_object_set_new(f->policy_doc, "freshness",
		    json_pack("{s:s}", "nonce", "required"));
	for (int q = 0; q < nquotes; q++) {
		for (size_t i = 0; i < sizeof(nonce); i++)
			nonce[i] = (uint8_t)(0xa0 + i);
		nonce[0] = (uint8_t)q;
		nonce[1] = (uint8_t)(q >> 8);
		qs.nonce = nonce;
		qs.nonce_len = sizeof(nonce);
		qs.sel[AVT_SHA256] = 0xffffff;
		qs.sig_hash = TPM2_ALG_SHA256;
		msg = need(avt_tpm_attest(&qs, &pcrs, &ml), "TPMS_ATTEST");
		sig = need(avt_tpm_sign(ak, rsa ? AVT_RSASSA : AVT_ECDSA,
		    TPM2_ALG_SHA256, msg, ml, &sl), "TPMT_SIGNATURE");
		it = json_pack("{s:s}", "type", "tpm");
		set_str(it, "data", b64(msg, ml));
		set_str(it, "signature", b64(sig, sl));
		set_str(it, "ak_pub", b64(pub, pl));
		bank = json_object();
		for (unsigned i = 0; i < AVT_TPM_NPCR; i++) {
			char k[4];

			snprintf(k, sizeof(k), "%u", i);
			set_str(bank, k, hex(pcrs.v[AVT_SHA256][i], 32));
		}
		json_object_set_new(it, "pcrs", json_pack("{s:o}", "sha256",
		    bank));
		free(f->nonce);
		f->nonce = b64(nonce, sizeof(nonce));
		finish(f, it);
		free(msg);
		free(sig);
	}
	free(pub);
	EVP_PKEY_free(ak);
}

/* ---- nvidia-gpu: 8 GPUs in one request, RIMs stored -------------------- */

static void
coll_add(struct fixture *f, const char *p, size_t n, const char *name)
{
	struct av_err e = { 0 };

	if (av_collateral_add(f->coll, (const uint8_t *)p, n, name, &e) != 0)
		die("%s: collateral %s: %s", f->name, name, e.reason);
}

static void
fx_gpu8(struct fixture *f)
{
	struct avt_nv_pki_spec	 ps = { .not_before = f->now - YEAR,
	    .not_after = f->now + 10 * YEAR };
	struct avt_nv_report_spec rs;
	struct avt_nv_rim_pki	*rp;
	struct avt_nv_pki	*pki;
	uint8_t			 h[32], *rep;
	char			*drv, *vb, *pem;
	size_t			 dl, vl, n;
	json_t			*items = json_array(), *it, *sec;

	f->alg = ALG_P384;
	f->nverify = FX_NGPU;
	f->what = "SPDM report ECDSA P-384, one per GPU";
	rp = need(avt_nv_rim_pki_new(f->now - YEAR, f->now + YEAR), "RIM PKI");
	if (av_x509_sha256(rp->cert[3], h) != 0 ||
	    av_trust_add_pin(f->trust, "nvidia-rim", h) != 0)
		die("%s: RIM root pin", f->name);
	drv = need(avt_nv_rim_default(rp, false, "550.90.07", false, &dl),
	    "driver RIM");
	vb = need(avt_nv_rim_default(rp, true, "96.00.9F.00.01", false, &vl),
	    "VBIOS RIM");
	f->coll = need(av_collateral_new(NULL), "collateral store");
	coll_add(f, drv, dl, "driver.xml");
	coll_add(f, vb, vl, "vbios.xml");
	avt_nv_report_defaults(&rs);
	/* Eight devices: each its own five-certificate chain. */
	for (int g = 0; g < FX_NGPU; g++) {
		pki = need(avt_nv_pki_new(&ps), "GPU PKI");
		if (av_x509_sha256(pki->cert[4], h) != 0 ||
		    av_trust_add_pin(f->trust, "nvidia-gpu", h) != 0)
			die("%s: device root pin", f->name);
		rep = need(avt_nv_report(pki, &rs, &n), "GPU report");
		pem = need(avt_nv_chain_pem(pki, 0, 4), "chain PEM");
		it = json_pack("{s:s, s:s}", "type", "nvidia-gpu",
		    "cert_chain", pem);
		set_str(it, "data", b64(rep, n));
		json_array_append_new(items, it);
		free(rep);
		free(pem);
		avt_nv_pki_free(pki);
	}
	sec = json_pack("{s:i, s:s, s:s}", "count", FX_NGPU, "rim",
	    "required", "ocsp", "off");
	f->policy_doc = policy_doc("nvidia-gpu", f->name, sec);
	f->nonce = b64(rs.nonce, sizeof(rs.nonce));
	finish(f, items);
	free(drv);
	free(vb);
	avt_nv_rim_pki_free(rp);
}

static const char *const all_platforms[] = {
	"nitro", "snp", "tdx", "tdx-fresh", "tpm-rsa", "tpm-rsa-fresh",
	"tpm-p256", "tpm-p256-fresh", "gpu8", NULL
};

static void
fixture_make(struct fixture *f, const char *name, int64_t now)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->now = now;
	f->trust = need(av_trust_new(), "trust");
	f->bodies = json_array();
	if (strcmp(name, "nitro") == 0)
		fx_nitro(f);
	else if (strcmp(name, "snp") == 0)
		fx_snp(f);
	else if (strcmp(name, "tdx") == 0)
		fx_tdx(f, 1);
	else if (strcmp(name, "tdx-fresh") == 0)
		fx_tdx(f, FX_MAX_REQ);
	else if (strcmp(name, "tpm-rsa") == 0)
		fx_tpm(f, true, 1, false);
	else if (strcmp(name, "tpm-rsa-fresh") == 0)
		fx_tpm(f, true, FX_MAX_REQ, true);
	else if (strcmp(name, "tpm-p256") == 0)
		fx_tpm(f, false, 1, false);
	else if (strcmp(name, "tpm-p256-fresh") == 0)
		fx_tpm(f, false, FX_MAX_REQ, true);
	else if (strcmp(name, "gpu8") == 0)
		fx_gpu8(f);
	else
		die("unknown platform %s", name);
}

static void
fixture_cleanup(struct fixture *f)
{
	av_trust_free(f->trust);
	av_policy_free(f->pol);
	av_collateral_free(f->coll);
	for (size_t i = 0; i < f->nreq; i++)
		av_request_free(f->req[i]);
	json_decref(f->bodies);
	json_decref(f->bad);
	free(f->nonce);
	json_decref(f->policy_doc);
	sk_X509_pop_free(f->anchors, X509_free);
}

/* ---- measuring ----------------------------------------------------------- */

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double
wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Verification k; dies unless the verdict is affirming. */
static void
verify_once(const struct fixture *f, unsigned long k)
{
	struct av_env		 env = { .now = f->now, .trust = f->trust,
				     .coll = f->coll };
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };

	if (av_verify_request(&env, f->req[k % f->nreq], f->pol, &res,
	    &e) != 0)
		die("%s: %s", f->name, e.reason);
	if (res->status != AV_STATUS_AFFIRMING) {
		json_t	*j = av_result_json(res, NULL);
		char	*s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

		die("%s: not affirming: %s", f->name, s != NULL ? s : "?");
	}
	av_result_free(res);
}

struct run {
	unsigned long	iters;
	double		cpu_s, wall_s;
};

/*
 * Verify f's requests in turn n times (n > 0) or for at least secs of
 * CPU time.
 * Kept out of line so callgrind and perf name it.
 */
static __attribute__((noinline)) void
bench_loop_verify(const struct fixture *f, unsigned long n, double secs,
    struct run *r)
{
	double c0 = cpu_seconds(), w0 = wall_seconds(), c;

	r->iters = 0;
	for (;;) {
		verify_once(f, r->iters);
		r->iters++;
		if (n > 0) {
			if (r->iters >= n)
				break;
		} else if ((r->iters & 15) == 0 &&
		    cpu_seconds() - c0 >= secs)
			break;
	}
	c = cpu_seconds();
	r->cpu_s = c - c0;
	r->wall_s = wall_seconds() - w0;
}

/* A prepared verification as openssl speed times it. */
struct floor_op {
	EVP_PKEY	*key;
	EVP_PKEY_CTX	*ctx;
	uint8_t		 msg[36];
	size_t		 msglen;
	uint8_t		 sig[512];
	size_t		 siglen;
};

static void
floor_init(struct floor_op *op, enum alg a)
{
	EVP_PKEY_CTX *sctx;

	memset(op, 0, sizeof(*op));
	op->key = need(avt_key_new(a == ALG_P256 ? "P-256" : a == ALG_P384 ?
	    "P-384" : "RSA-2048"), "floor key");
	op->msglen = (a == ALG_RSA2048) ? 36 : 20;
	memset(op->msg, 0x5a, sizeof(op->msg));
	op->siglen = sizeof(op->sig);
	sctx = need(EVP_PKEY_CTX_new(op->key, NULL), "ctx");
	if (EVP_PKEY_sign_init(sctx) != 1 ||
	    EVP_PKEY_sign(sctx, op->sig, &op->siglen, op->msg,
	    op->msglen) != 1)
		die("floor sign");
	EVP_PKEY_CTX_free(sctx);
	op->ctx = need(EVP_PKEY_CTX_new(op->key, NULL), "ctx");
	if (EVP_PKEY_verify_init(op->ctx) != 1)
		die("floor verify init");
}

static __attribute__((noinline)) void
bench_loop_floor(struct floor_op *op, unsigned long n, double secs,
    struct run *r)
{
	double c0 = cpu_seconds(), w0 = wall_seconds();

	r->iters = 0;
	for (;;) {
		if (EVP_PKEY_verify(op->ctx, op->sig, op->siglen, op->msg,
		    op->msglen) != 1)
			die("floor verify");
		r->iters++;
		if (n > 0) {
			if (r->iters >= n)
				break;
		} else if ((r->iters & 63) == 0 &&
		    cpu_seconds() - c0 >= secs)
			break;
	}
	r->cpu_s = cpu_seconds() - c0;
	r->wall_s = wall_seconds() - w0;
}

static void
floor_cleanup(struct floor_op *op)
{
	EVP_PKEY_CTX_free(op->ctx);
	EVP_PKEY_free(op->key);
}

/*
 * Verify rates (per CPU second, one core) from `openssl speed`, run now.
 * Returns 0, or -1 when it could not be run or read.
 */
static int
openssl_speed(int secs, double rate[ALG__COUNT])
{
	char	 cmd[160], line[512];
	FILE	*p;
	double	 s, v;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap256 "
	    "ecdsap384 rsa2048 2>/dev/null", secs);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL) {
		if (sscanf(line, " 256 bits ecdsa (nistp256) %*fs %*fs %lf %lf",
		    &s, &v) == 2)
			rate[ALG_P256] = v;
		else if (sscanf(line,
		    " 384 bits ecdsa (nistp384) %*fs %*fs %lf %lf", &s, &v) == 2)
			rate[ALG_P384] = v;
		else if (sscanf(line, "rsa 2048 bits %*fs %*fs %lf %lf",
		    &s, &v) == 2)
			rate[ALG_RSA2048] = v;
	}
	if (pclose(p) != 0)
		return -1;
	for (int a = 0; a < ALG__COUNT; a++)
		if (rate[a] <= 0)
			return -1;
	return 0;
}

/* ---- --bodies: inputs for the HTTP benchmarks --------------------------- */

static void
mkdirs(const char *path)
{
	char	buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			die("mkdir %s: %s", buf, strerror(errno));
		*s = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		die("mkdir %s: %s", buf, strerror(errno));
}

static void
write_bodies(const struct fixture *f, const char *dir)
{
	char	 path[4096];
	FILE	*fp;
	char	*s;

	if (f->coll != NULL) {
		/* pinned roots and stored RIMs: nothing a body can carry */
		fprintf(stderr, "bench_verify: %s: --bodies not supported "
		    "(pinned roots, stored RIMs); skipped\n", f->name);
		return;
	}
	snprintf(path, sizeof(path), "%s/policies", dir);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/policies/bench-%s.json", dir, f->name);
	if (json_dump_file(f->policy_doc, path, JSON_INDENT(1)) != 0)
		die("write %s", path);
	for (int bad = 0; bad <= 1; bad++) {
		const json_t	*list = bad ? NULL : f->bodies;
		size_t		 nb = bad ? (f->bad != NULL) : f->nreq;

		if (nb == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s%s.body", dir, f->name,
		    bad ? "-invalid" : "");
		if ((fp = fopen(path, "w")) == NULL)
			die("write %s", path);
		for (size_t i = 0; i < nb; i++) {
			s = need(json_dumps(bad ? f->bad : json_array_get(list,
			    i), JSON_COMPACT), "body");
			fprintf(fp, "%s\n", s);
			free(s);
		}
		if (fclose(fp) != 0)
			die("write %s", path);
	}
	for (int i = 0; i < sk_X509_num(f->anchors); i++) {
		X509		*x = sk_X509_value(f->anchors, i);
		const char	*plat = f->platform;

		snprintf(path, sizeof(path), "%s/trust/%s", dir, plat);
		mkdirs(path);
		snprintf(path, sizeof(path), "%s/trust/%s/bench-%s-%d.pem",
		    dir, plat, f->name, i);
		if (avt_cert_write_pem(x, path) != 0)
			die("write %s", path);
	}
}

/* ---- main ---------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr, "usage: bench_verify [-p PLATFORM,...] "
	    "[-t CPU_SECONDS] [-n ITERATIONS] [-r ROUNDS] [-w WARMUP]\n"
	    "                    [-s SPEED_SECONDS]"
	    " [--no-speed] [-j FILE] [--bodies DIR]\n"
	    "platforms: nitro snp tdx tdx-fresh tpm-rsa tpm-rsa-fresh "
	    "tpm-p256 tpm-p256-fresh gpu8 (default: all)\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "no-speed", no_argument, NULL, 'N' },
		{ "bodies", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*plats[16], *json_out = NULL, *bodies = NULL;
	size_t		 nplat = 0;
	unsigned long	 n = 0, warm = 20;
	double		 secs = 2.0, rate[ALG__COUNT] = { 0 };
	int		 speed_s = 3, ch;
	bool		 speed = true, have_speed = false;
	struct fixture	 fx[16];
	struct run	 runs[16], fruns[16];
	int		 rounds = 5;
	json_t		*out, *rows;
	char		*list = NULL;

	while ((ch = getopt_long(argc, argv, "p:t:n:w:s:j:r:", lopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			free(list);
			list = need(strdup(optarg), "list");
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			warm = strtoul(optarg, NULL, 10);
			break;
		case 's':
			speed_s = atoi(optarg);
			break;
		case 'j':
			json_out = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'N':
			speed = false;
			break;
		case 'B':
			bodies = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || secs <= 0 || speed_s <= 0 || rounds <= 0)
		usage();
	if (list == NULL) {
		for (size_t i = 0; all_platforms[i] != NULL; i++)
			plats[nplat++] = all_platforms[i];
	} else {
		for (char *tok = strtok(list, ","); tok != NULL &&
		    nplat < 16; tok = strtok(NULL, ","))
			plats[nplat++] = tok;
	}
	if (RUNNING_ON_VALGRIND)
		speed = false;	/* instruction counts: the floor loop */
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (size_t i = 0; i < nplat; i++) {
		fixture_make(&fx[i], plats[i], (int64_t)time(NULL));
	}
	if (bodies != NULL) {
		for (size_t i = 0; i < nplat; i++) {
			write_bodies(&fx[i], bodies);
			fixture_cleanup(&fx[i]);
		}
		free(list);
		return 0;
	}

	/*
	 * Warm every cache, then measure each platform on its own, in rounds
	 * that alternate with the floor loop of its algorithm: on a shared
	 * machine both then see the same conditions.
	 */
	for (size_t i = 0; i < nplat; i++) {
		struct floor_op	op;
		struct run	w, r;
		char		tag[64];
		int		nr = (n > 0) ? 1 : rounds;

		floor_init(&op, fx[i].alg);
		bench_loop_verify(&fx[i], warm > 0 ? warm : 1, 0, &w);
		bench_loop_floor(&op, 20, 0, &w);
		memset(&runs[i], 0, sizeof(runs[i]));
		memset(&fruns[i], 0, sizeof(fruns[i]));
		for (int k = 0; k < nr; k++) {
			CALLGRIND_ZERO_STATS;
			bench_loop_verify(&fx[i], n, secs / nr, &r);
			snprintf(tag, sizeof(tag), "verify %s %lu", fx[i].name,
			    r.iters);
			CALLGRIND_DUMP_STATS_AT(tag);
			runs[i].iters += r.iters;
			runs[i].cpu_s += r.cpu_s;
			runs[i].wall_s += r.wall_s;
			CALLGRIND_ZERO_STATS;
			bench_loop_floor(&op, n, secs / nr / 2, &r);
			snprintf(tag, sizeof(tag), "floor %s %lu",
			    alg_name[fx[i].alg], r.iters);
			CALLGRIND_DUMP_STATS_AT(tag);
			fruns[i].iters += r.iters;
			fruns[i].cpu_s += r.cpu_s;
			fruns[i].wall_s += r.wall_s;
		}
		floor_cleanup(&op);
	}
	if (speed) {
		fprintf(stderr, "bench_verify: openssl speed -seconds %d "
		    "ecdsap256 ecdsap384 rsa2048 ...\n", speed_s);
		have_speed = openssl_speed(speed_s, rate) == 0;
		if (!have_speed)
			fprintf(stderr, "bench_verify: openssl speed failed; "
			    "floor from the in-process loop only\n");
	}

	out = json_object();
	rows = json_array();
	printf("%-14s %8s %8s %9s %11s %10s %7s %10s %7s  %s\n", "platform",
	    "iters", "cpu s", "verify/s", "us/verify", "floor us", "ratio",
	    "floor' us", "ratio'", "floor");
	for (size_t i = 0; i < nplat; i++) {
		const struct fixture	*f = &fx[i];
		const struct run	*r = &runs[i];
		double			 per = r->cpu_s / (double)r->iters;
		double			 fl = have_speed ?
					    f->nverify / rate[f->alg] : 0;
		double			 fl2 = f->nverify * fruns[i].cpu_s /
					    (double)fruns[i].iters;

		printf("%-14s %8lu %8.2f %9.0f %11.1f %10.1f %6.0f%% %10.1f "
		    "%6.0f%%  %d x %s (%s)\n", f->name, r->iters, r->cpu_s,
		    1 / per, 1e6 * per, 1e6 * fl, have_speed ? 100 * fl / per :
		    0, 1e6 * fl2, 100 * fl2 / per, f->nverify,
		    alg_name[f->alg], f->what);
		json_array_append_new(rows, json_pack("{s:s, s:I, s:f, s:f, "
		    "s:f, s:f, s:f, s:f, s:f, s:i, s:s}", "platform", f->name,
		    "iterations", (json_int_t)r->iters, "cpu_s", r->cpu_s,
		    "wall_s", r->wall_s, "verify_per_cpu_s", 1 / per,
		    "floor_us", 1e6 * fl, "ratio", have_speed ? fl / per : 0.0,
		    "floor_inproc_us", 1e6 * fl2, "ratio_inproc", fl2 / per,
		    "floor_verifies", f->nverify, "floor_alg",
		    alg_name[f->alg]));
	}
	printf("CPU time (getrusage).  floor = openssl speed, same run; floor' "
	    "= the same EVP_PKEY_verify\nloop in this process, in rounds "
	    "alternating with the verifications (%d rounds)\n",
	    n > 0 ? 1 : rounds);
	if (have_speed)
		printf("openssl speed: P-256 verify %.0f/s, P-384 verify %.0f/s, "
		    "RSA-2048 verify %.0f/s\n", rate[ALG_P256], rate[ALG_P384],
		    rate[ALG_RSA2048]);
	json_object_set_new(out, "rows", rows);
	if (have_speed)
		json_object_set_new(out, "openssl_speed", json_pack(
		    "{s:f, s:f, s:f}", "p256_verify_s", rate[ALG_P256],
		    "p384_verify_s", rate[ALG_P384], "rsa2048_verify_s",
		    rate[ALG_RSA2048]));
	if (json_out != NULL && json_dump_file(out, json_out,
	    JSON_INDENT(1)) != 0)
		die("write %s", json_out);
	json_decref(out);
	for (size_t i = 0; i < nplat; i++)
		fixture_cleanup(&fx[i]);
	free(list);
	return 0;
}
