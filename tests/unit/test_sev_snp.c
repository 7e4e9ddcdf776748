/*
 * AMD SEV-SNP backend (sev-snp): the parsers (report, HCL, certificate
 * table, VCEK/VLEK extensions) with hostile inputs, and whole reports
 * from the test signer (tests/lib/avt_snp.h) through the real pipeline
 * (av_verify_request): v2/v3/v5, Milan/Genoa/Turin, VCEK and VLEK, every
 * evidence form, and each reason with its exact code and claim.  Also
 * replays the fuzz seeds in evidence/sev-snp/ against their .expect
 * files, and regenerates them when AV_SNP_REGEN_SEEDS=1.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_pki.h"
#include "avt_snp.h"
#include "evidence/sev_snp.h"

#define NOW	1751328000LL	/* 2025-07-01T00:00:00Z */
#define DAY	86400LL
#define YEAR	(365 * DAY)

static const char *const PRODUCTS[] = { "", "Milan", "Genoa", "Turin" };

struct fx {
	struct avt_snp_pki	*pki[4];	/* [1..3]: trusted */
	struct avt_snp_pki	*rogue;		/* Milan, not trusted */
	X509_CRL		*crl[4];	/* empty CRL by each ARK */
	struct av_trust		*trust;
	EVP_PKEY		*vkey;		/* VCEK/VLEK key */
};

static struct fx *F;

static int
setup(void **state)
{
	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL)
		return -1;
	if ((F->trust = av_trust_new()) == NULL ||
	    (F->vkey = avt_key_new("P-384")) == NULL)
		return -1;
	for (int p = 1; p <= 3; p++) {
		if ((F->pki[p] = avt_snp_pki_new(PRODUCTS[p], NOW - YEAR,
		    NOW + 20 * YEAR)) == NULL ||
		    av_trust_add_anchor(F->trust, "sev-snp",
		    F->pki[p]->ark) != 0)
			return -1;
		if ((F->crl[p] = avt_crl_new(F->pki[p]->ark,
		    F->pki[p]->ark_key, NOW - DAY, NOW + 30 * DAY, NULL,
		    0)) == NULL)
			return -1;
	}
	if ((F->rogue = avt_snp_pki_new("Milan", NOW - YEAR,
	    NOW + 20 * YEAR)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int p = 1; p <= 3; p++) {
		avt_snp_pki_free(F->pki[p]);
		X509_CRL_free(F->crl[p]);
	}
	avt_snp_pki_free(F->rogue);
	av_trust_free(F->trust);
	EVP_PKEY_free(F->vkey);
	free(F);
	return 0;
}

/* ---- building evidence ------------------------------------------------ */

enum form {
	FORM_DER,	/* certs: {vcek|vlek, ask|asvk, ark} base64 DER */
	FORM_CHAIN,	/* certs: {cert_chain: PEM leaf+ask+ark} */
	FORM_TABLE,	/* certs: {cert_table: base64 GHCB table} */
	FORM_AUXBLOB,	/* item: {auxblob: base64 table} (configfs-tsm) */
	FORM_LEAF,	/* certs: {vcek|vlek} only */
	FORM_NONE,	/* no companions */
};

struct spec {
	int			 prod;		/* 1 Milan, 2 Genoa, 3 Turin */
	bool			 vlek;
	struct avt_snp_fields	 f;
	struct avt_snp_leaf_spec l;
	uint8_t			 hwid[64];
	struct avt_snp_pki	*pki;		/* signer; NULL: F->pki[prod] */
	EVP_PKEY		*sign_key;	/* NULL: F->vkey */
	enum form		 form;
	bool			 with_crl;	/* add the ARK's empty CRL */
	X509_CRL		*crl;		/* or this one */
};

struct ev {
	uint8_t		 rep[AVT_SNP_REPORT_LEN];
	X509		*leaf;
	struct avt_snp_pki *pki;
};

static const struct avt_snp_tcb TCB[4] = {
	{ 0 },
	{ .bl = 3, .tee = 0, .snp = 8, .ucode = 115 },	/* Milan */
	{ .bl = 7, .tee = 0, .snp = 14, .ucode = 72 },	/* Genoa */
	{ .fmc = 1, .bl = 2, .tee = 0, .snp = 3, .ucode = 9 },	/* Turin */
};

static void
spec_init(struct spec *s, int prod, uint32_t version, bool vlek)
{
	uint64_t tcb;

	memset(s, 0, sizeof(*s));
	s->prod = prod;
	s->vlek = vlek;
	s->form = FORM_DER;
	s->with_crl = true;
	tcb = avt_snp_tcb_raw(PRODUCTS[prod], &TCB[prod]);
	s->f.version = version;
	s->f.guest_svn = 2;
	s->f.policy = 0x30000;
	s->f.vmpl = 0;
	s->f.current_tcb = s->f.reported_tcb = s->f.committed_tcb =
	    s->f.launch_tcb = tcb;
	s->f.platform_info = 0x3;
	s->f.signer_info = vlek ? (1u << 2) : 0;
	for (int i = 0; i < 64; i++)
		s->f.report_data[i] = (uint8_t)i;
	for (int i = 0; i < 48; i++) {
		s->f.measurement[i] = (uint8_t)(0xA0 + i);
		s->f.id_key_digest[i] = (uint8_t)(0x10 + i);
	}
	for (int i = 0; i < 32; i++) {
		s->f.host_data[i] = (uint8_t)(0x40 + i);
		s->f.report_id[i] = (uint8_t)(0x70 + i);
	}
	s->f.family_id[0] = 1;
	s->f.image_id[0] = 2;
	if (!vlek) {
		size_t hl = prod == 3 ? 8 : 64;

		for (size_t i = 0; i < hl; i++)
			s->hwid[i] = s->f.chip_id[i] = (uint8_t)(i * 7 + 1);
		s->l.hwid = s->hwid;
		s->l.hwid_len = hl;
	} else {
		s->l.csp_id = "CN=cc-test.example.com";
	}
	switch (prod) {
	case 1:
		s->f.cpuid_fam = 0x19;
		s->f.cpuid_mod = 0x01;
		s->f.cpuid_step = 0x01;
		s->l.product_name = vlek ? "Milan" : "Milan-B0";
		break;
	case 2:
		s->f.cpuid_fam = 0x19;
		s->f.cpuid_mod = 0x11;
		s->f.cpuid_step = 0x01;
		s->l.product_name = "Genoa";
		break;
	default:
		s->f.cpuid_fam = 0x1A;
		s->f.cpuid_mod = 0x02;
		s->f.cpuid_step = 0x00;
		s->l.product_name = "Turin";
		s->l.fmc = true;
		break;
	}
	s->f.current_major = 1;
	s->f.current_minor = 55;
	s->f.current_build = 29;
	s->f.committed_major = 1;
	s->f.committed_minor = 55;
	s->f.committed_build = 29;
	if (version >= 5) {
		s->f.launch_mit_vector = 0x3;
		s->f.current_mit_vector = 0x7;
	}
	s->l.vlek = vlek;
	s->l.tcb = TCB[prod];
	s->l.not_before = NOW - 30 * DAY;
	s->l.not_after = NOW + 7 * YEAR;
	s->l.serial_zero = true;
}

static void
build(const struct spec *s, struct ev *ev)
{
	EVP_PKEY *k = s->sign_key != NULL ? s->sign_key : F->vkey;

	ev->pki = s->pki != NULL ? s->pki : F->pki[s->prod];
	ev->leaf = avt_snp_leaf_new(ev->pki, &s->l, F->vkey);
	assert_non_null(ev->leaf);
	assert_int_equal(avt_snp_report(&s->f, k, ev->rep), 0);
}

static char *
b64(const uint8_t *p, size_t n)
{
	char *s = av_b64_encode(p, n);

	assert_non_null(s);
	return s;
}

static char *
crl_pem(X509_CRL *crl)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*data, *out;
	long	 n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509_CRL(b, crl), 1);
	n = BIO_get_mem_data(b, &data);
	out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	BIO_free(b);
	return out;
}

static void
set_str(json_t *o, const char *k, char *v)
{
	assert_non_null(v);
	json_object_set_new(o, k, json_string(v));
	free(v);
}

/* The request item for ev in form. */
static json_t *
item_for(const struct spec *s, const struct ev *ev)
{
	json_t		*it, *certs;
	X509		*ca = s->vlek ? ev->pki->asvk : ev->pki->ask;
	uint8_t		*t;
	size_t		 tl;

	it = json_pack("{s:s}", "type", "sev-snp");
	certs = json_object();
	assert_non_null(it);
	assert_non_null(certs);
	set_str(it, "data", b64(ev->rep, sizeof(ev->rep)));
	switch (s->form) {
	case FORM_DER:
		set_str(certs, s->vlek ? "vlek" : "vcek",
		    avt_snp_b64_der(ev->leaf));
		set_str(certs, s->vlek ? "asvk" : "ask", avt_snp_b64_der(ca));
		set_str(certs, "ark", avt_snp_b64_der(ev->pki->ark));
		break;
	case FORM_LEAF:
		set_str(certs, s->vlek ? "vlek" : "vcek",
		    avt_snp_b64_der(ev->leaf));
		break;
	case FORM_CHAIN: {
		char	*a = avt_cert_pem(ev->leaf), *b = avt_cert_pem(ca);
		char	*c = avt_cert_pem(ev->pki->ark), *all;
		size_t	 n;

		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(c);
		n = strlen(a) + strlen(b) + strlen(c) + 1;
		all = malloc(n);
		assert_non_null(all);
		snprintf(all, n, "%s%s%s", a, b, c);
		set_str(certs, "cert_chain", all);
		free(a);
		free(b);
		free(c);
		break;
	}
	case FORM_TABLE:
	case FORM_AUXBLOB:
		t = avt_snp_cert_table(ev->leaf, s->vlek, ca, ev->pki->ark,
		    &tl);
		assert_non_null(t);
		set_str(s->form == FORM_TABLE ? certs : it,
		    s->form == FORM_TABLE ? "cert_table" : "auxblob",
		    b64(t, tl));
		free(t);
		break;
	case FORM_NONE:
	default:
		break;
	}
	if (s->crl != NULL)
		set_str(certs, "crl", crl_pem(s->crl));
	else if (s->with_crl)
		set_str(certs, "crl", crl_pem(F->crl[s->prod]));
	if (json_object_size(certs) > 0)
		json_object_set_new(it, "certs", certs);
	else
		json_decref(certs);
	return it;
}

/* A policy that lists the spec's measurement. */
static struct av_policy *
policy_for(const struct spec *s, json_t *extra)
{
	json_t	*sec = extra != NULL ? extra : json_object();
	char	*h = av_hex_encode(s->f.measurement, 48);

	assert_non_null(h);
	if (json_object_get(sec, "measurement") == NULL)
		json_object_set_new(sec, "measurement", json_string(h));
	free(h);
	return avt_policy("sev-snp", sec, NULL);
}

struct run_opts {
	const struct av_policy	*pol;
	const uint8_t		*nonce;
	size_t			 nonce_len;
	const uint8_t		*rt;		/* runtime_data */
	size_t			 rt_len;
	struct av_collateral	*coll;
	int64_t			 now;		/* 0: NOW */
};

/* Run one item through av_verify_request. */
static struct av_result *
run_item(json_t *item, const struct run_opts *o)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { 0 };
	json_t			*body;

	env.now = (o != NULL && o->now != 0) ? o->now : NOW;
	env.trust = F->trust;
	env.coll = o != NULL ? o->coll : NULL;
	body = json_pack("{s:[o]}", "evidence", item);
	assert_non_null(body);
	if (o != NULL && o->nonce != NULL)
		set_str(body, "nonce", b64(o->nonce, o->nonce_len));
	if (o != NULL && o->rt != NULL)
		set_str(body, "runtime_data", b64(o->rt, o->rt_len));
	if (av_request_from_json(body, &req, &e) != 0)
		fail_msg("request: %s", e.reason);
	json_decref(body);
	assert_int_equal(av_verify_request(&env, req,
	    o != NULL ? o->pol : NULL, &res, &e), 0);
	assert_int_equal(res->nsubmods, 1);
	av_request_free(req);
	return res;
}

static struct av_result *
run_spec(const struct spec *s, const struct run_opts *o, struct ev *ev)
{
	struct ev	 local;
	struct ev	*e = ev != NULL ? ev : &local;

	build(s, e);
	struct av_result *res = run_item(item_for(s, e), o);
	if (ev == NULL)
		X509_free(local.leaf);
	return res;
}

static const char *
status(const struct av_result *r)
{
	return av_status_str(r->submods[0].status);
}

/* The reason with code, or NULL. */
static json_t *
reason(const struct av_result *r, const char *code)
{
	return avt_reason(&r->submods[0], code, NULL);
}

static void
dump(const struct av_result *r)
{
	char *s = json_dumps(r->submods[0].reasons, JSON_COMPACT);

	fprintf(stderr, "status %s reasons %s\n", status(r), s);
	free(s);
}

/* Contraindicated with code among the reasons. */
static void
assert_failed(const struct av_result *r, const char *code)
{
	avt_expect(&r->submods[0], AV_STATUS_CONTRAINDICATED, code);
}

/* Affirming with no reason at all. */
static void
assert_affirming(const struct av_result *r)
{
	if (strcmp(status(r), "affirming") != 0 ||
	    json_array_size(r->submods[0].reasons) != 0) {
		dump(r);
		fail_msg("expected affirming");
	}
}

static const json_t *
claim(const struct av_result *r, const char *path)
{
	const json_t	*o = r->submods[0].claims;
	char		 buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
	    tok = strtok_r(NULL, ".", &save))
		o = json_object_get(o, tok);
	return o;
}

static const char *
claim_str(const struct av_result *r, const char *path)
{
	const json_t *v = claim(r, path);

	if (!json_is_string(v))
		fail_msg("claim %s is not a string", path);
	return json_string_value(v);
}

static long long
claim_int(const struct av_result *r, const char *path)
{
	const json_t *v = claim(r, path);

	if (!json_is_integer(v))
		fail_msg("claim %s is not an integer", path);
	return json_integer_value(v);
}

/* ---- parsers ---------------------------------------------------------- */

static void
good_report(struct spec *s, struct ev *ev, int prod, uint32_t version)
{
	spec_init(s, prod, version, false);
	build(s, ev);
}

static void
test_report_parse_fields(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct snp_report	 r;
	struct av_err		 e = { 0 };
	struct snp_tcb		 t;

	(void)state;
	good_report(&s, &ev, 3, 5);
	assert_int_equal(snp_report_parse(ev.rep, sizeof(ev.rep), &r, &e), 0);
	assert_int_equal(r.version, 5);
	assert_int_equal(r.guest_svn, 2);
	assert_int_equal(r.policy, 0x30000);
	assert_int_equal(r.sig_algo, 1);
	assert_int_equal(r.platform_info, 3);
	assert_int_equal(r.cpuid_fam, 0x1A);
	assert_int_equal(r.cpuid_mod, 0x02);
	assert_int_equal(r.launch_mit_vector, 3);
	assert_int_equal(r.current_mit_vector, 7);
	assert_int_equal(r.current_major, 1);
	assert_int_equal(r.current_minor, 55);
	assert_int_equal(r.current_build, 29);
	assert_memory_equal(r.measurement, s.f.measurement, 48);
	assert_memory_equal(r.chip_id, s.f.chip_id, 64);
	assert_memory_equal(r.report_data, s.f.report_data, 64);
	assert_false(r.sig_high_nonzero);
	snp_tcb_decode(r.reported_tcb, SNP_PRODUCT_TURIN, &t);
	assert_int_equal(t.fmc, 1);
	assert_int_equal(t.bootloader, 2);
	assert_int_equal(t.snp, 3);
	assert_int_equal(t.microcode, 9);
	assert_int_equal(snp_tcb_encode(&t, SNP_PRODUCT_TURIN),
	    r.reported_tcb);
	X509_free(ev.leaf);

	/* v2: the CPUID bytes are reserved and read as zero */
	good_report(&s, &ev, 1, 2);
	ev.rep[0x188] = 0x19;
	assert_int_equal(snp_report_parse(ev.rep, sizeof(ev.rep), &r, &e), 0);
	assert_int_equal(r.cpuid_fam, 0);
	snp_tcb_decode(r.reported_tcb, SNP_PRODUCT_MILAN, &t);
	assert_int_equal(t.bootloader, 3);
	assert_int_equal(t.snp, 8);
	assert_int_equal(t.microcode, 115);
	X509_free(ev.leaf);
}

static void
test_report_parse_hostile(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct snp_report	 r;
	struct av_err		 e = { 0 };
	uint8_t			 big[AVT_SNP_REPORT_LEN + 1];

	(void)state;
	good_report(&s, &ev, 1, 3);
	/* every short length is malformed */
	for (size_t n = 0; n < sizeof(ev.rep); n += 37) {
		e.code = AV_OK;
		assert_int_equal(snp_report_parse(ev.rep, n, &r, &e), -1);
		assert_int_equal(e.code, AV_E_MALFORMED);
	}
	assert_int_equal(snp_report_parse(NULL, 0, &r, &e), -1);
	assert_int_equal(snp_report_parse(ev.rep, sizeof(ev.rep) - 1, &r,
	    &e), -1);
	assert_non_null(strstr(e.reason, "shorter than 0x4A0"));
	memcpy(big, ev.rep, sizeof(ev.rep));
	big[sizeof(ev.rep)] = 0;
	assert_int_equal(snp_report_parse(big, sizeof(big), &r, &e), -1);
	assert_non_null(strstr(e.reason, "trailing bytes"));
	for (uint32_t v = 0; v < 8; v++) {
		ev.rep[0] = (uint8_t)v;
		e.code = AV_OK;
		if (v >= 2 && v <= 5)
			assert_int_equal(snp_report_parse(ev.rep,
			    sizeof(ev.rep), &r, &e), 0);
		else {
			assert_int_equal(snp_report_parse(ev.rep,
			    sizeof(ev.rep), &r, &e), -1);
			assert_non_null(strstr(e.reason, "version"));
		}
	}
	/* non-zero upper bytes of R are noted for the verifier */
	ev.rep[0] = 3;
	ev.rep[0x2A0 + 60] = 1;
	assert_int_equal(snp_report_parse(ev.rep, sizeof(ev.rep), &r, &e), 0);
	assert_true(r.sig_high_nonzero);
	X509_free(ev.leaf);
}

static void
test_detect(void **state)
{
	const struct av_backend	*b = av_backend_find("sev-snp");
	struct spec		 s;
	struct ev		 ev;
	uint8_t			 junk[AVT_SNP_REPORT_LEN] = { 0 };

	(void)state;
	assert_non_null(b);
	assert_string_equal(b->media_type, "application/vnd.attestd.sev-snp");
	assert_ptr_equal(av_backend_by_media_type(
	    "application/vnd.attestd.sev-snp"), b);
	good_report(&s, &ev, 2, 3);
	assert_true(b->detect(ev.rep, sizeof(ev.rep)));
	assert_false(b->detect(ev.rep, sizeof(ev.rep) - 1));
	assert_false(b->detect(junk, sizeof(junk)));
	assert_false(b->detect(NULL, 0));
	X509_free(ev.leaf);
}

/* Table with entries (guid kind char, offset, length) and payload n. */
static uint8_t *
table(const uint8_t (*ents)[24], size_t nent, size_t total)
{
	uint8_t *t = calloc(1, total);

	assert_non_null(t);
	memcpy(t, ents, nent * 24);
	return t;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
test_cert_table(void **state)
{
	static const uint8_t vcek_guid[16] = {
		0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
		0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd
	};
	struct snp_cert_entry	 ent[SNP_CERT_TABLE_MAX];
	struct spec		 s;
	struct ev		 ev;
	struct av_err		 e = { 0 };
	uint8_t			 ents[20][24], *t, *tab;
	size_t			 n, tl;

	(void)state;
	good_report(&s, &ev, 1, 2);
	tab = avt_snp_cert_table(ev.leaf, false, F->pki[1]->ask,
	    F->pki[1]->ark, &tl);
	assert_non_null(tab);
	assert_int_equal(snp_cert_table_parse(tab, tl, ent, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ent[0].kind, SNP_CERT_VCEK);
	assert_int_equal(ent[1].kind, SNP_CERT_ASK);
	assert_int_equal(ent[2].kind, SNP_CERT_ARK);
	assert_int_equal(ent[0].data - tab, 4 * 24);
	/* every prefix is malformed (no terminator, or out of bounds) */
	for (size_t cut = 0; cut < tl; cut += 11) {
		e.code = AV_OK;
		assert_int_equal(snp_cert_table_parse(tab, cut, ent, &n, &e),
		    -1);
		assert_int_equal(e.code, AV_E_MALFORMED);
	}
	free(tab);

	/* an entry past the end */
	memset(ents, 0, sizeof(ents));
	memcpy(ents[0], vcek_guid, 16);
	put32(ents[0] + 16, 48);
	put32(ents[0] + 20, 100);
	t = table((const uint8_t (*)[24])ents, 2, 100);
	assert_int_equal(snp_cert_table_parse(t, 100, ent, &n, &e), -1);
	assert_non_null(strstr(e.reason, "out of bounds"));
	/* offset + length overflowing 32 bits */
	put32(ents[0] + 16, 0xFFFFFFF0u);
	put32(ents[0] + 20, 0x20);
	memcpy(t, ents, 48);
	assert_int_equal(snp_cert_table_parse(t, 100, ent, &n, &e), -1);
	/* an entry overlapping the table itself */
	put32(ents[0] + 16, 8);
	put32(ents[0] + 20, 16);
	memcpy(t, ents, 48);
	assert_int_equal(snp_cert_table_parse(t, 100, ent, &n, &e), -1);
	assert_non_null(strstr(e.reason, "overlaps"));
	/* a terminator with an offset */
	put32(ents[0] + 16, 48);
	put32(ents[0] + 20, 4);
	put32(ents[1] + 16, 1);
	memcpy(t, ents, 48);
	assert_int_equal(snp_cert_table_parse(t, 100, ent, &n, &e), -1);
	assert_non_null(strstr(e.reason, "terminator"));
	free(t);
	/* two VCEK entries */
	memset(ents, 0, sizeof(ents));
	memcpy(ents[0], vcek_guid, 16);
	memcpy(ents[1], vcek_guid, 16);
	put32(ents[0] + 16, 72);
	put32(ents[0] + 20, 4);
	put32(ents[1] + 16, 76);
	put32(ents[1] + 20, 4);
	t = table((const uint8_t (*)[24])ents, 3, 80);
	assert_int_equal(snp_cert_table_parse(t, 80, ent, &n, &e), -1);
	assert_non_null(strstr(e.reason, "duplicate"));
	free(t);
	/* more entries than we accept */
	memset(ents, 0, sizeof(ents));
	for (int i = 0; i < 18; i++) {
		ents[i][0] = (uint8_t)(i + 1);	/* unknown GUIDs */
		put32(ents[i] + 16, 19 * 24);
		put32(ents[i] + 20, 1);
	}
	t = table((const uint8_t (*)[24])ents, 19, 19 * 24 + 1);
	assert_int_equal(snp_cert_table_parse(t, 19 * 24 + 1, ent, &n, &e),
	    -1);
	assert_non_null(strstr(e.reason, "too many"));
	free(t);
	X509_free(ev.leaf);
}

static void
test_leaf_ext(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct snp_leaf_ext	 x;
	struct av_err		 e = { 0 };

	(void)state;
	good_report(&s, &ev, 3, 3);
	assert_int_equal(snp_leaf_ext_parse(ev.leaf, &x, &e), 0);
	assert_string_equal(x.product_name, "Turin");
	assert_true(x.has_struct_version);
	assert_true(x.has_fmc && x.has_bl && x.has_tee && x.has_snp &&
	    x.has_ucode);
	assert_int_equal(x.tcb.fmc, 1);
	assert_int_equal(x.tcb.bootloader, 2);
	assert_int_equal(x.tcb.snp, 3);
	assert_int_equal(x.tcb.microcode, 9);
	assert_int_equal(x.hwid_len, 8);
	assert_memory_equal(x.hwid, s.hwid, 8);
	assert_string_equal(x.csp_id, "");
	X509_free(ev.leaf);

	/* VLEK: csp_id, no hwID; ucode above 127 (two-byte INTEGER) */
	spec_init(&s, 1, 3, true);
	s.l.tcb.ucode = 217;
	build(&s, &ev);
	assert_int_equal(snp_leaf_ext_parse(ev.leaf, &x, &e), 0);
	assert_int_equal(x.hwid_len, 0);
	assert_string_equal(x.csp_id, "CN=cc-test.example.com");
	assert_int_equal(x.tcb.microcode, 217);
	X509_free(ev.leaf);

	/* an SPL above 255 is invalid collateral */
	spec_init(&s, 1, 3, false);
	build(&s, &ev);
	X509_free(ev.leaf);
	{
		struct avt_snp_leaf_spec l = s.l;
		X509 *x2;

		l.no_tcb = true;
		x2 = avt_snp_leaf_new(F->pki[1], &l, F->vkey);
		assert_non_null(x2);
		assert_int_equal(snp_leaf_ext_parse(x2, &x, &e), 0);
		assert_false(x.has_bl);
		X509_free(x2);
	}
}

/* A leaf (signed by the Milan ASK) whose blSPL holds an INTEGER of 300. */
static X509 *
leaf_bad_spl(void)
{
	static const uint8_t	 der[] = { 0x02, 0x02, 0x01, 0x2c };
	struct spec		 s;
	X509			*x;

	spec_init(&s, 1, 3, false);
	s.l.no_tcb = true;
	s.l.extra_oid = "1.3.6.1.4.1.3704.1.3.1";
	s.l.extra_der = der;
	s.l.extra_len = sizeof(der);
	x = avt_snp_leaf_new(F->pki[1], &s.l, F->vkey);
	assert_non_null(x);
	return x;
}

static void
test_leaf_ext_bad(void **state)
{
	struct snp_leaf_ext	 x;
	struct av_err		 e = { 0 };
	X509			*c = leaf_bad_spl();

	(void)state;
	assert_int_equal(snp_leaf_ext_parse(c, &x, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_INVALID);
	X509_free(c);
}

static void
test_products(void **state)
{
	(void)state;
	assert_int_equal(snp_product_from_cpuid(0x19, 0x01), SNP_PRODUCT_MILAN);
	assert_int_equal(snp_product_from_cpuid(0x19, 0x11), SNP_PRODUCT_GENOA);
	assert_int_equal(snp_product_from_cpuid(0x19, 0xA0), SNP_PRODUCT_GENOA);
	assert_int_equal(snp_product_from_cpuid(0x1A, 0x02), SNP_PRODUCT_TURIN);
	assert_int_equal(snp_product_from_cpuid(0x1A, 0x11), SNP_PRODUCT_TURIN);
	assert_int_equal(snp_product_from_cpuid(0x17, 0x01),
	    SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_cpuid(0, 0), SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_name("Milan-B0", 8),
	    SNP_PRODUCT_MILAN);
	assert_int_equal(snp_product_from_name("Genoa", 5), SNP_PRODUCT_GENOA);
	assert_int_equal(snp_product_from_name("Turin", 5), SNP_PRODUCT_TURIN);
	assert_int_equal(snp_product_from_name("Mil", 3), SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_name("Milanx", 6),
	    SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_name(NULL, 0), SNP_PRODUCT_UNKNOWN);
}

/* ---- KDS URLs --------------------------------------------------------- */

static void
test_kds_urls(void **state)
{
	struct snp_tcb	 t = { .fmc = 1, .bootloader = 3, .tee = 0,
			    .snp = 8, .microcode = 115 };
	uint8_t		 hw[64];
	char		 buf[512];

	(void)state;
	for (int i = 0; i < 64; i++)
		hw[i] = (uint8_t)i;
	assert_int_equal(amd_kds_vcek_url(buf, sizeof(buf),
	    "https://kdsintf.amd.com/", SNP_PRODUCT_MILAN, hw, 64, &t), 0);
	assert_string_equal(buf, "https://kdsintf.amd.com/vcek/v1/Milan/"
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	    "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
	assert_int_equal(amd_kds_vcek_url(buf, sizeof(buf), "http://h:1",
	    SNP_PRODUCT_TURIN, hw, 8, &t), 0);
	assert_string_equal(buf, "http://h:1/vcek/v1/Turin/0001020304050607"
	    "?fmcSPL=1&blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
	assert_int_equal(amd_kds_chain_url(buf, sizeof(buf), "http://h",
	    SNP_PRODUCT_GENOA, false), 0);
	assert_string_equal(buf, "http://h/vcek/v1/Genoa/cert_chain");
	assert_int_equal(amd_kds_chain_url(buf, sizeof(buf), "http://h",
	    SNP_PRODUCT_MILAN, true), 0);
	assert_string_equal(buf, "http://h/vlek/v1/Milan/cert_chain");
	assert_int_equal(amd_kds_crl_url(buf, sizeof(buf), "http://h",
	    SNP_PRODUCT_TURIN, false), 0);
	assert_string_equal(buf, "http://h/vcek/v1/Turin/crl");
	assert_int_equal(amd_kds_crl_url(buf, sizeof(buf), "http://h",
	    SNP_PRODUCT_UNKNOWN, false), -1);
	assert_int_equal(amd_kds_vcek_url(buf, 20, "http://h",
	    SNP_PRODUCT_MILAN, hw, 64, &t), -1);
}

/* ---- whole reports: the good cases ------------------------------------ */

static void
check_common_claims(const struct av_result *r, const struct spec *s)
{
	char *h;

	assert_int_equal(claim_int(r, "version"), s->f.version);
	assert_int_equal(claim_int(r, "guest_svn"), s->f.guest_svn);
	assert_string_equal(claim_str(r, "policy.raw"), "0x30000");
	assert_true(json_is_false(claim(r, "debug")));
	assert_true(json_is_true(claim(r, "policy.smt")));
	assert_int_equal(claim_int(r, "vmpl"), s->f.vmpl);
	assert_int_equal(claim_int(r, "signature_algo"), 1);
	h = av_hex_encode(s->f.measurement, 48);
	assert_string_equal(claim_str(r, "measurement"), h);
	free(h);
	h = av_hex_encode(s->f.host_data, 32);
	assert_string_equal(claim_str(r, "host_data"), h);
	free(h);
	h = av_hex_encode(s->f.chip_id, 64);
	assert_string_equal(claim_str(r, "chip_id"), h);
	free(h);
	assert_string_equal(claim_str(r, "current_version"), "1.55.29");
	assert_true(json_is_true(claim(r, "platform_info.tsme_enabled")));
	assert_true(json_is_true(claim(r, "crl_checked")));
	assert_string_equal(claim_str(r, "product"), PRODUCTS[s->prod]);
	assert_string_equal(claim_str(r, "signer"), s->vlek ? "vlek" : "vcek");
	assert_string_equal(claim_str(r, "signer_info.signing_key"),
	    s->vlek ? "vlek" : "vcek");
}

static void
test_good_milan_v2(void **state)
{
	struct spec		 s;
	struct av_policy	*p;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 1, 2, false);
	p = policy_for(&s, NULL);
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_affirming(r);
	check_common_claims(r, &s);
	/* v2: no CPUID, the product comes from the VCEK productName */
	assert_null(claim(r, "cpuid"));
	assert_string_equal(claim_str(r, "product_source"), "certificate");
	assert_string_equal(claim_str(r, "reported_tcb.raw"),
	    "7308000000000003");
	assert_int_equal(claim_int(r, "reported_tcb.bootloader"), 3);
	assert_int_equal(claim_int(r, "reported_tcb.snp"), 8);
	assert_int_equal(claim_int(r, "reported_tcb.microcode"), 115);
	assert_null(claim(r, "reported_tcb.fmc"));
	assert_string_equal(claim_str(r, "certificate.product_name"),
	    "Milan-B0");
	assert_string_equal(claim_str(r, "certificate.ark"), "ARK-Milan");
	assert_string_equal(claim_str(r, "certificate.ask"), "SEV-Milan");
	assert_string_equal(claim_str(r, "certificate.source"), "request");
	assert_null(claim(r, "launch_mit_vector"));
	/* the trust vector: genuine hardware, approved executables */
	assert_int_equal(r->submods[0].tv[AV_TV_HARDWARE], AV_AR_AFFIRM);
	assert_int_equal(r->submods[0].tv[AV_TV_EXECUTABLES], AV_AR_AFFIRM);
	assert_int_equal(r->submods[0].tv[AV_TV_INSTANCE], AV_AR_AFFIRM);
	av_result_free(r);
	av_policy_free(p);
}

static void
test_good_genoa_v3_table(void **state)
{
	struct spec		 s;
	struct av_policy	*p;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 2, 3, false);
	s.form = FORM_TABLE;
	p = policy_for(&s, NULL);
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_affirming(r);
	check_common_claims(r, &s);
	assert_string_equal(claim_str(r, "product_source"), "cpuid");
	assert_int_equal(claim_int(r, "cpuid.family"), 0x19);
	assert_int_equal(claim_int(r, "cpuid.model"), 0x11);
	assert_string_equal(claim_str(r, "certificate.ark"), "ARK-Genoa");
	av_result_free(r);
	/* the same as a configfs-tsm item: report + auxblob */
	s.form = FORM_AUXBLOB;
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_affirming(r);
	av_result_free(r);
	av_policy_free(p);
}

static void
test_good_turin_v5_chain(void **state)
{
	struct spec		 s;
	struct av_policy	*p;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 3, 5, false);
	s.form = FORM_CHAIN;
	p = policy_for(&s, json_pack("{s:{s:i s:i s:i s:i s:i}}", "min_tcb",
	    "fmc", 1, "bootloader", 2, "tee", 0, "snp", 3, "microcode", 9));
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_affirming(r);
	check_common_claims(r, &s);
	assert_int_equal(claim_int(r, "reported_tcb.fmc"), 1);
	assert_int_equal(claim_int(r, "reported_tcb.bootloader"), 2);
	assert_int_equal(claim_int(r, "reported_tcb.tee"), 0);
	assert_int_equal(claim_int(r, "reported_tcb.snp"), 3);
	assert_int_equal(claim_int(r, "reported_tcb.microcode"), 9);
	assert_string_equal(claim_str(r, "launch_mit_vector"), "0x3");
	assert_string_equal(claim_str(r, "current_mit_vector"), "0x7");
	assert_string_equal(claim_str(r, "certificate.hwid"),
	    "01080f161d242b32");
	av_result_free(r);
	av_policy_free(p);
}

static void
test_good_vlek(void **state)
{
	struct spec		 s;
	struct av_policy	*p;
	struct av_result	*r;

	(void)state;
	for (int prod = 1; prod <= 3; prod++) {
		spec_init(&s, prod, 3, true);
		s.f.vmpl = 1;
		p = policy_for(&s, json_pack("{s:[i,i] s:[s]}", "vmpl", 0, 1,
		    "signers", "vlek"));
		r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
		assert_affirming(r);
		check_common_claims(r, &s);
		assert_string_equal(claim_str(r, "certificate.csp_id"),
		    "CN=cc-test.example.com");
		assert_true(json_is_null(claim(r, "certificate.hwid")));
		av_result_free(r);
		av_policy_free(p);
	}
}

static void
test_every_version_product(void **state)
{
	static const uint32_t versions[] = { 2, 3, 5 };
	struct spec		 s;
	struct av_result	*r;

	(void)state;
	for (int prod = 1; prod <= 3; prod++)
		for (size_t v = 0; v < 3; v++)
			for (int vl = 0; vl < 2; vl++) {
				spec_init(&s, prod, versions[v], vl);
				s.form = (enum form)((prod + v) % 4);
				r = run_spec(&s, NULL, NULL);
				/* no policy: verified, at best warning */
				if (strcmp(status(r), "warning") != 0 ||
				    reason(r, "no_reference_values") == NULL ||
				    json_array_size(r->submods[0].reasons) != 1) {
					dump(r);
					fail_msg("%s v%u %s", PRODUCTS[prod],
					    versions[v], vl ? "vlek" : "vcek");
				}
				assert_string_equal(claim_str(r, "product"),
				    PRODUCTS[prod]);
				av_result_free(r);
			}
}

/* ---- each reason ------------------------------------------------------ */

static void
test_signature_invalid(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct av_result	*r;
	json_t			*it;

	(void)state;
	spec_init(&s, 1, 3, false);
	build(&s, &ev);
	ev.rep[0x90] ^= 0xFF;		/* measurement altered */
	it = item_for(&s, &ev);
	r = run_item(it, NULL);
	assert_failed(r, "signature_invalid");
	av_result_free(r);
	ev.rep[0x90] ^= 0xFF;
	ev.rep[0x2A0] ^= 0x01;		/* signature bit flip */
	r = run_item(item_for(&s, &ev), NULL);
	assert_failed(r, "signature_invalid");
	av_result_free(r);
	ev.rep[0x2A0] ^= 0x01;
	ev.rep[0x2A0 + 70] = 0x01;	/* R above 48 bytes */
	r = run_item(item_for(&s, &ev), NULL);
	assert_failed(r, "signature_invalid");
	av_result_free(r);
	memset(ev.rep + 0x2A0, 0, 0x200);	/* zero signature */
	r = run_item(item_for(&s, &ev), NULL);
	assert_failed(r, "signature_invalid");
	av_result_free(r);
	X509_free(ev.leaf);
	/* signed by another key than the VCEK's */
	spec_init(&s, 1, 3, false);
	s.sign_key = avt_key_new("P-384");
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "signature_invalid");
	av_result_free(r);
	EVP_PKEY_free(s.sign_key);
	/* SIGNING_KEY = 7: unsigned */
	spec_init(&s, 1, 3, false);
	s.f.signer_info = 7u << 2;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "signature_invalid");
	av_result_free(r);
}

static void
test_unsupported_algorithm(void **state)
{
	struct spec		 s;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 1, 3, false);
	s.f.sig_algo = 2;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "unsupported_algorithm");
	av_result_free(r);
}

static void
test_chain_invalid(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct av_result	*r;
	json_t			*it, *certs;

	(void)state;
	/* VCEK signed by the Milan ASK, chain given as Genoa's */
	spec_init(&s, 1, 2, false);
	build(&s, &ev);
	s.form = FORM_LEAF;
	s.with_crl = false;
	it = item_for(&s, &ev);
	certs = json_object_get(it, "certs");
	set_str(certs, "ask", avt_snp_b64_der(F->pki[2]->ask));
	set_str(certs, "ark", avt_snp_b64_der(F->pki[2]->ark));
	r = run_item(it, NULL);
	assert_failed(r, "chain_invalid");
	av_result_free(r);
	X509_free(ev.leaf);

	/* a VLEK report whose key an ASK certified */
	spec_init(&s, 1, 3, true);
	s.l.vlek = false;		/* issued by the ASK ... */
	s.l.csp_id = "CN=cc-test.example.com";	/* ... looking like a VLEK */
	build(&s, &ev);
	s.form = FORM_NONE;
	it = item_for(&s, &ev);
	certs = json_object_get(it, "certs");
	set_str(certs, "vlek", avt_snp_b64_der(ev.leaf));
	set_str(certs, "ask", avt_snp_b64_der(ev.pki->ask));
	set_str(certs, "ark", avt_snp_b64_der(ev.pki->ark));
	r = run_item(it, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	X509_free(ev.leaf);

	/* CPUID says Genoa, the certificates are Milan's */
	spec_init(&s, 1, 3, false);
	s.f.cpuid_mod = 0x11;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "chain_invalid");
	av_result_free(r);
}

static void
test_untrusted_root(void **state)
{
	struct spec		 s;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 1, 3, false);
	s.pki = F->rogue;
	s.with_crl = false;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "untrusted_root");
	av_result_free(r);
}

static void
test_cert_time_invalid(void **state)
{
	struct spec		 s;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 1, 3, true);
	s.l.not_before = NOW - 2 * YEAR;
	s.l.not_after = NOW - DAY;	/* VLEK expired */
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "cert_time_invalid");
	av_result_free(r);
	/* the same evidence before the VLEK expired passes */
	r = run_spec(&s, &(struct run_opts){ .now = NOW - 30 * DAY }, NULL);
	assert_string_equal(status(r), "warning");
	av_result_free(r);
}

static void
test_cert_revoked(void **state)
{
	struct spec		 s;
	struct av_result	*r;
	long			 serial;
	X509_CRL		*crl;

	(void)state;
	serial = ASN1_INTEGER_get(X509_get0_serialNumber(F->pki[1]->ask));
	crl = avt_crl_new(F->pki[1]->ark, F->pki[1]->ark_key, NOW - DAY,
	    NOW + 30 * DAY, &serial, 1);
	assert_non_null(crl);
	spec_init(&s, 1, 3, false);
	s.crl = crl;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "cert_revoked");
	av_result_free(r);
	/* the VLEK hierarchy is not affected by a revoked ASK */
	spec_init(&s, 1, 3, true);
	s.crl = crl;
	r = run_spec(&s, NULL, NULL);
	assert_string_equal(status(r), "warning");
	assert_true(json_is_true(claim(r, "crl_checked")));
	av_result_free(r);
	X509_CRL_free(crl);
}

static void
test_crl_rules(void **state)
{
	struct spec		 s;
	struct av_policy	*req, *opt;
	struct av_result	*r;
	X509_CRL		*old, *forged;
	json_t			*x;

	(void)state;
	spec_init(&s, 2, 3, false);
	req = policy_for(&s, json_pack("{s:s}", "crl", "required"));
	opt = policy_for(&s, NULL);
	/* no CRL: a warning by default, a failure when required */
	s.with_crl = false;
	r = run_spec(&s, &(struct run_opts){ .pol = opt }, NULL);
	assert_string_equal(status(r), "warning");
	assert_non_null(x = reason(r, "collateral_missing"));
	assert_string_equal(json_string_value(json_object_get(x, "claim")),
	    "crl");
	assert_true(json_is_false(claim(r, "crl_checked")));
	av_result_free(r);
	r = run_spec(&s, &(struct run_opts){ .pol = req }, NULL);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	/* an expired CRL */
	old = avt_crl_new(F->pki[2]->ark, F->pki[2]->ark_key, NOW - 60 * DAY,
	    NOW - 30 * DAY, NULL, 0);
	s.crl = old;
	r = run_spec(&s, &(struct run_opts){ .pol = opt }, NULL);
	assert_string_equal(status(r), "warning");
	assert_non_null(reason(r, "collateral_expired"));
	av_result_free(r);
	r = run_spec(&s, &(struct run_opts){ .pol = req }, NULL);
	assert_failed(r, "collateral_expired");
	av_result_free(r);
	/* a CRL by a key that is not the ARK's */
	{
		struct avt_snp_pki *k = avt_snp_pki_new("Genoa", NOW - YEAR,
		    NOW + YEAR);

		assert_non_null(k);
		forged = avt_crl_new(F->pki[2]->ark, k->ark_key, NOW - DAY,
		    NOW + DAY, NULL, 0);
		avt_snp_pki_free(k);
	}
	s.crl = forged;
	r = run_spec(&s, &(struct run_opts){ .pol = req }, NULL);
	assert_failed(r, "collateral_invalid");
	av_result_free(r);
	r = run_spec(&s, &(struct run_opts){ .pol = opt }, NULL);
	assert_string_equal(status(r), "warning");
	assert_non_null(reason(r, "collateral_invalid"));
	av_result_free(r);
	/* a good CRL: affirming under "required" */
	s.crl = NULL;
	s.with_crl = true;
	r = run_spec(&s, &(struct run_opts){ .pol = req }, NULL);
	assert_affirming(r);
	av_result_free(r);
	X509_CRL_free(old);
	X509_CRL_free(forged);
	av_policy_free(req);
	av_policy_free(opt);
}

static void
test_binding_tcb(void **state)
{
	struct spec		 s;
	struct av_result	*r;

	(void)state;
	for (int prod = 1; prod <= 3; prod++) {
		/* the VCEK certifies another microcode than REPORTED_TCB */
		spec_init(&s, prod, 3, false);
		s.l.tcb.ucode++;
		r = run_spec(&s, NULL, NULL);
		assert_failed(r, "binding_mismatch");
		av_result_free(r);
	}
	/* Turin: the FMC SPL counts too */
	spec_init(&s, 3, 5, false);
	s.l.tcb.fmc = 2;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	/* CURRENT_TCB may differ: the VCEK certifies REPORTED_TCB */
	spec_init(&s, 1, 2, false);
	s.f.current_tcb += 1ULL << 56;
	r = run_spec(&s, NULL, NULL);
	assert_string_equal(status(r), "warning");
	av_result_free(r);
	/* a VCEK without SPL extensions cannot bind */
	spec_init(&s, 1, 3, false);
	s.l.no_tcb = true;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
}

static void
test_binding_chip(void **state)
{
	struct spec		 s;
	struct av_result	*r;

	(void)state;
	/* CHIP_ID differs from the VCEK's hwID */
	spec_init(&s, 2, 3, false);
	s.f.chip_id[63] ^= 1;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	/* Turin compares the 8-byte hwID */
	spec_init(&s, 3, 3, false);
	s.f.chip_id[7] ^= 1;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	/* MASK_CHIP_KEY: CHIP_ID is zero and not compared */
	spec_init(&s, 1, 3, false);
	memset(s.f.chip_id, 0, sizeof(s.f.chip_id));
	s.f.signer_info = 1u << 1;
	r = run_spec(&s, NULL, NULL);
	assert_string_equal(status(r), "warning");
	assert_true(json_is_true(claim(r, "signer_info.mask_chip_key")));
	av_result_free(r);
	/* a VCEK without hwID */
	spec_init(&s, 1, 3, false);
	s.l.hwid = NULL;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
}

static void
test_binding_signer_kind(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct av_result	*r;
	json_t			*it, *certs;

	(void)state;
	/* SIGNER_INFO says VLEK, the certificate is a VCEK (hwID) */
	spec_init(&s, 1, 3, false);
	s.f.signer_info = 1u << 2;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	/* a VLEK given as "vcek" */
	spec_init(&s, 1, 3, true);
	build(&s, &ev);
	s.form = FORM_NONE;
	it = item_for(&s, &ev);
	certs = json_object_get(it, "certs");
	set_str(certs, "vcek", avt_snp_b64_der(ev.leaf));
	set_str(certs, "asvk", avt_snp_b64_der(ev.pki->asvk));
	set_str(certs, "ark", avt_snp_b64_der(ev.pki->ark));
	r = run_item(it, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	X509_free(ev.leaf);
}

static void
test_collateral_missing(void **state)
{
	struct spec		 s;
	struct av_result	*r;
	struct av_collateral	*c;

	(void)state;
	/* no VCEK anywhere, no collateral store */
	spec_init(&s, 1, 3, false);
	s.form = FORM_NONE;
	s.with_crl = false;
	r = run_spec(&s, NULL, NULL);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	/* an offline store without it */
	c = av_collateral_new(NULL);
	assert_non_null(c);
	r = run_spec(&s, &(struct run_opts){ .coll = c }, NULL);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	/* a VLEK is never fetched */
	spec_init(&s, 1, 3, true);
	s.form = FORM_NONE;
	r = run_spec(&s, &(struct run_opts){ .coll = c }, NULL);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	/* VCEK given, no ASK/ARK and an offline store: no chain */
	spec_init(&s, 1, 3, false);
	s.form = FORM_LEAF;
	r = run_spec(&s, &(struct run_opts){ .coll = c }, NULL);
	assert_failed(r, "collateral_missing");
	av_result_free(r);
	av_collateral_free(c);
}

static void
test_collateral_invalid(void **state)
{
	struct spec		 s;
	struct ev		 ev;
	struct av_result	*r;
	json_t			*it;

	(void)state;
	spec_init(&s, 1, 3, false);
	build(&s, &ev);
	X509_free(ev.leaf);
	ev.leaf = leaf_bad_spl();
	s.form = FORM_DER;
	it = item_for(&s, &ev);
	r = run_item(it, NULL);
	/* AMD signed it, its extension is broken: invalid collateral */
	assert_failed(r, "collateral_invalid");
	av_result_free(r);
	X509_free(ev.leaf);
}

/* Put the spec's certificates in a store (DER). */
static void
store_add(struct av_collateral *c, X509 *x)
{
	uint8_t		*der;
	size_t		 n;
	struct av_err	 e = { 0 };

	assert_non_null(der = avt_cert_der(x, &n));
	assert_int_equal(av_collateral_add(c, der, n, "test", &e), 0);
	free(der);
}

static void
test_collateral_store(void **state)
{
	struct spec		 s, other;
	struct ev		 ev, ev2;
	struct av_result	*r;
	struct av_collateral	*c;
	uint8_t			*der;
	size_t			 n;
	struct av_err		 e = { 0 };

	(void)state;
	c = av_collateral_new(NULL);
	assert_non_null(c);
	/* another chip's VCEK is in the store too */
	spec_init(&other, 1, 3, false);
	other.f.chip_id[0] ^= 0xFF;
	other.hwid[0] ^= 0xFF;
	build(&other, &ev2);
	store_add(c, ev2.leaf);
	spec_init(&s, 1, 3, false);
	build(&s, &ev);
	store_add(c, ev.leaf);
	store_add(c, F->pki[1]->ask);
	store_add(c, F->pki[1]->ark);
	store_add(c, F->pki[2]->ask);	/* unrelated */
	assert_non_null(der = (uint8_t *)crl_pem(F->crl[1]));
	assert_int_equal(av_collateral_add(c, der, strlen((char *)der),
	    "crl.pem", &e), 0);
	free(der);
	s.form = FORM_NONE;
	s.with_crl = false;
	r = run_item(item_for(&s, &ev), &(struct run_opts){ .coll = c });
	assert_string_equal(status(r), "warning");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	assert_string_equal(claim_str(r, "certificate.source"), "collateral");
	assert_true(json_is_true(claim(r, "crl_checked")));
	av_result_free(r);
	/* VLEK from the store, chain from the store */
	spec_init(&other, 3, 5, true);
	X509_free(ev2.leaf);
	build(&other, &ev2);
	store_add(c, ev2.leaf);
	store_add(c, F->pki[3]->asvk);
	store_add(c, F->pki[3]->ark);
	other.form = FORM_NONE;
	other.with_crl = false;
	r = run_item(item_for(&other, &ev2), &(struct run_opts){ .coll = c });
	assert_string_equal(status(r), "warning");
	assert_string_equal(claim_str(r, "certificate.source"), "collateral");
	assert_string_equal(claim_str(r, "signer"), "vlek");
	av_result_free(r);
	(void)n;
	X509_free(ev.leaf);
	X509_free(ev2.leaf);
	av_collateral_free(c);
}

static void
test_measurement_mismatch(void **state)
{
	struct spec		 s;
	struct av_policy	*p;
	struct av_result	*r;
	json_t			*x;
	char			*h;

	(void)state;
	spec_init(&s, 1, 3, false);
	p = avt_policy("sev-snp", json_pack("{s:[s] s:s}", "measurement",
	    "00000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000", "crl", "optional"), NULL);
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_failed(r, "measurement_mismatch");
	x = reason(r, "measurement_mismatch");
	assert_string_equal(json_string_value(json_object_get(x, "claim")),
	    "measurement");
	h = av_hex_encode(s.f.measurement, 48);
	assert_string_equal(json_string_value(json_object_get(x, "actual")), h);
	free(h);
	av_result_free(r);
	av_policy_free(p);
	/* host_data, id_key_digest, family_id, image_id */
	p = avt_policy("sev-snp", json_pack("{s:s s:s s:s s:s}",
	    "host_data", "0000000000000000000000000000000000000000000000000000000000000000",
	    "id_key_digest", "000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000",
	    "family_id", "00000000000000000000000000000000",
	    "image_id", "02000000000000000000000000000000"), NULL);
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_failed(r, "measurement_mismatch");
	{
		static const char *const want[] = { "host_data",
		    "id_key_digest", "family_id" };
		size_t	i, k = 0;
		json_t	*v;

		json_array_foreach(r->submods[0].reasons, i, v) {
			if (strcmp(json_string_value(json_object_get(v,
			    "code")), "measurement_mismatch") != 0)
				continue;
			assert_true(k < 3);
			assert_string_equal(json_string_value(
			    json_object_get(v, "claim")), want[k]);
			k++;
		}
		assert_int_equal(k, 3);	/* image_id matched */
	}
	av_result_free(r);
	av_policy_free(p);
}

static void
test_debug_enabled(void **state)
{
	struct spec		 s;
	struct av_policy	*p, *allow;
	struct av_result	*r;

	(void)state;
	spec_init(&s, 1, 2, false);
	s.f.policy = 0xb0000;		/* DEBUG, as in go-sev-guest's */
	p = policy_for(&s, NULL);
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_failed(r, "debug_enabled");
	assert_true(json_is_true(claim(r, "debug")));
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	av_result_free(r);
	allow = policy_for(&s, json_pack("{s:{s:b}}", "guest_policy", "debug",
	    1));
	r = run_spec(&s, &(struct run_opts){ .pol = allow }, NULL);
	assert_affirming(r);
	av_result_free(r);
	av_policy_free(p);
	av_policy_free(allow);
}

static void
test_tcb_below_minimum(void **state)
{
	struct spec		 s;
	struct av_policy	*p;
	struct av_result	*r;
	json_t			*x;

	(void)state;
	spec_init(&s, 1, 3, false);
	p = policy_for(&s, json_pack("{s:{s:i s:i}}", "min_tcb", "snp", 22,
	    "microcode", 100));
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_failed(r, "tcb_below_minimum");
	x = reason(r, "tcb_below_minimum");
	assert_string_equal(json_string_value(json_object_get(x, "claim")),
	    "reported_tcb.snp");
	assert_int_equal(json_integer_value(json_object_get(x, "expected")),
	    22);
	assert_int_equal(json_integer_value(json_object_get(x, "actual")), 8);
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	av_result_free(r);
	av_policy_free(p);
	/* per product: Genoa's minimum does not apply to Milan */
	p = policy_for(&s, json_pack("{s:{s:{s:i} s:{s:i}}}", "min_tcb",
	    "Genoa", "snp", 30, "Milan", "snp", 8));
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_affirming(r);
	av_result_free(r);
	av_policy_free(p);
	/* committed and launch TCB */
	s.f.launch_tcb = avt_snp_tcb_raw("Milan",
	    &(struct avt_snp_tcb){ .bl = 2, .snp = 8, .ucode = 115 });
	p = policy_for(&s, json_pack("{s:{s:i} s:{s:i}}", "min_launch_tcb",
	    "bootloader", 3, "min_committed_tcb", "bootloader", 3));
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_failed(r, "tcb_below_minimum");
	x = reason(r, "tcb_below_minimum");
	assert_string_equal(json_string_value(json_object_get(x, "claim")),
	    "launch_tcb.bootloader");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	av_result_free(r);
	av_policy_free(p);
}

/* Expect exactly one contraindicated reason: code on claim. */
static void
expect_violation(struct spec *s, json_t *sec, const char *code,
    const char *cl)
{
	struct av_policy	*p = policy_for(s, sec);
	struct av_result	*r = run_spec(s, &(struct run_opts){ .pol = p },
				    NULL);
	json_t			*x;

	assert_failed(r, code);
	x = reason(r, code);
	if (strcmp(json_string_value(json_object_get(x, "claim")), cl) != 0 ||
	    json_array_size(r->submods[0].reasons) != 1) {
		dump(r);
		fail_msg("expected %s on %s only", code, cl);
	}
	av_result_free(r);
	av_policy_free(p);
}

static void
test_policy_rules(void **state)
{
	struct spec s;

	(void)state;
	spec_init(&s, 1, 3, false);
	expect_violation(&s, json_pack("{s:i}", "min_guest_svn", 3),
	    "version_below_minimum", "guest_svn");
	expect_violation(&s, json_pack("{s:[i]}", "vmpl", 1),
	    "policy_violation", "vmpl");
	expect_violation(&s, json_pack("{s:[s,s]}", "products", "Genoa",
	    "Turin"), "policy_violation", "product");
	expect_violation(&s, json_pack("{s:s}", "signers", "vlek"),
	    "policy_violation", "signer");
	expect_violation(&s, json_pack("{s:{s:b}}", "guest_policy", "smt", 0),
	    "policy_violation", "policy.smt");
	expect_violation(&s, json_pack("{s:{s:b}}", "guest_policy",
	    "single_socket", 1), "policy_violation", "policy.single_socket");
	expect_violation(&s, json_pack("{s:{s:s}}", "guest_policy", "min_abi",
	    "1.51"), "policy_violation", "policy.abi");
	expect_violation(&s, json_pack("{s:{s:b}}", "platform_info", "smt", 0),
	    "policy_violation", "platform_info.smt_enabled");
	expect_violation(&s, json_pack("{s:{s:b}}", "platform_info",
	    "ciphertext_hiding", 1), "policy_violation",
	    "platform_info.ciphertext_hiding_enabled");
	expect_violation(&s, json_pack("{s:s}", "min_firmware", "1.55.30"),
	    "version_below_minimum", "current_version");
	expect_violation(&s, json_pack("{s:i}", "min_report_version", 5),
	    "version_below_minimum", "version");
	s.f.policy |= 1ULL << 18;
	expect_violation(&s, json_pack("{s:{s:b}}", "guest_policy",
	    "migrate_ma", 0), "policy_violation", "policy.migrate_ma");
}

static void
test_policy_compile_errors(void **state)
{
	static const struct {
		const char	*json;
		const char	*path;
	} bad[] = {
		{ "{\"bogus\": 1}", "evidence.sev-snp.bogus" },
		{ "{\"measurement\": \"00\"}", "evidence.sev-snp.measurement" },
		{ "{\"host_data\": []}", "evidence.sev-snp.host_data" },
		{ "{\"vmpl\": [4]}", "evidence.sev-snp.vmpl[0]" },
		{ "{\"vmpl\": []}", "evidence.sev-snp.vmpl" },
		{ "{\"min_tcb\": {\"snp\": 256}}",
		    "evidence.sev-snp.min_tcb.snp" },
		{ "{\"min_tcb\": {\"ucode\": 1}}",
		    "evidence.sev-snp.min_tcb.ucode" },
		{ "{\"min_tcb\": {\"Milan\": {\"snp\": 1}, \"snp\": 2}}",
		    "evidence.sev-snp.min_tcb.snp" },
		{ "{\"min_tcb\": {}}", "evidence.sev-snp.min_tcb" },
		{ "{\"guest_policy\": {\"debug\": \"no\"}}",
		    "evidence.sev-snp.guest_policy.debug" },
		{ "{\"guest_policy\": {\"min_abi\": \"1\"}}",
		    "evidence.sev-snp.guest_policy.min_abi" },
		{ "{\"platform_info\": {\"tsme\": 1}}",
		    "evidence.sev-snp.platform_info.tsme" },
		{ "{\"products\": [\"Naples\"]}",
		    "evidence.sev-snp.products[0]" },
		{ "{\"products\": [\"Milan\", \"Milan\"]}",
		    "evidence.sev-snp.products[1]" },
		{ "{\"signers\": \"ask\"}", "evidence.sev-snp.signers" },
		{ "{\"report_data\": \"sha256\"}",
		    "evidence.sev-snp.report_data" },
		{ "{\"crl\": \"maybe\"}", "evidence.sev-snp.crl" },
		{ "{\"min_firmware\": \"1.55\"}",
		    "evidence.sev-snp.min_firmware" },
		{ "{\"min_guest_svn\": -1}", "evidence.sev-snp.min_guest_svn" },
		{ "{\"min_report_version\": 6}",
		    "evidence.sev-snp.min_report_version" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct av_policy	*p = NULL;
		struct av_policy_err	 perr = { 0 };
		json_error_t		 jerr;
		json_t			*sec, *doc;

		sec = json_loads(bad[i].json, 0, &jerr);
		assert_non_null(sec);
		doc = json_pack("{s:s s:i s:{s:o}}", "id", "x", "version", 1,
		    "evidence", "sev-snp", sec);
		if (av_policy_compile(doc, &p, &perr) == 0)
			fail_msg("policy %s compiled", bad[i].json);
		if (strcmp(perr.path, bad[i].path) != 0)
			fail_msg("%s: path %s, expected %s (%s)", bad[i].json,
			    perr.path, bad[i].path, perr.reason);
		json_decref(doc);
	}
}

/* ---- nonce and runtime data binding ----------------------------------- */

static void
test_nonce_binding(void **state)
{
	struct spec		 s;
	struct av_policy	*any, *sha, *raw;
	struct av_result	*r;
	uint8_t			 nonce[32], rt[65], cat[97], h[64];
	const json_t		*ka;

	(void)state;
	for (int i = 0; i < 32; i++)
		nonce[i] = (uint8_t)(0xC0 + i);
	for (int i = 0; i < 65; i++)
		rt[i] = (uint8_t)(i * 3);
	memcpy(cat, nonce, 32);
	memcpy(cat + 32, rt, 65);
	av_sha512(cat, sizeof(cat), h);
	spec_init(&s, 1, 3, false);
	any = policy_for(&s, NULL);
	sha = policy_for(&s, json_pack("{s:s}", "report_data",
	    "sha512(nonce||runtime_data)"));
	raw = policy_for(&s, json_pack("{s:s}", "report_data", "nonce"));

	/* SHA-512(nonce || runtime_data) */
	memcpy(s.f.report_data, h, 64);
	r = run_spec(&s, &(struct run_opts){ .pol = any, .nonce = nonce,
	    .nonce_len = 32, .rt = rt, .rt_len = 65 }, NULL);
	assert_affirming(r);
	assert_string_equal(claim_str(r, "report_data_binding"),
	    "sha512(nonce||runtime_data)");
	ka = r->submods[0].key_attestation;
	assert_non_null(ka);
	{
		char *k = av_b64url_encode(rt, 65);

		assert_string_equal(json_string_value(json_object_get(ka,
		    "akpub")), k);
		free(k);
	}
	av_result_free(r);
	r = run_spec(&s, &(struct run_opts){ .pol = sha, .nonce = nonce,
	    .nonce_len = 32, .rt = rt, .rt_len = 65 }, NULL);
	assert_affirming(r);
	av_result_free(r);
	/* the rule "nonce" refuses it */
	r = run_spec(&s, &(struct run_opts){ .pol = raw, .nonce = nonce,
	    .nonce_len = 32, .rt = rt, .rt_len = 65 }, NULL);
	assert_failed(r, "nonce_mismatch");
	av_result_free(r);
	/* other runtime data: binding_mismatch */
	rt[0] ^= 1;
	r = run_spec(&s, &(struct run_opts){ .pol = any, .nonce = nonce,
	    .nonce_len = 32, .rt = rt, .rt_len = 65 }, NULL);
	assert_failed(r, "binding_mismatch");
	assert_null(r->submods[0].key_attestation);
	av_result_free(r);

	/* the raw nonce, zero-padded */
	memset(s.f.report_data, 0, 64);
	memcpy(s.f.report_data, nonce, 32);
	r = run_spec(&s, &(struct run_opts){ .pol = any, .nonce = nonce,
	    .nonce_len = 32 }, NULL);
	assert_affirming(r);
	assert_string_equal(claim_str(r, "report_data_binding"), "nonce");
	av_result_free(r);
	r = run_spec(&s, &(struct run_opts){ .pol = sha, .nonce = nonce,
	    .nonce_len = 32 }, NULL);
	assert_failed(r, "nonce_mismatch");
	av_result_free(r);
	/* another nonce */
	nonce[5] ^= 1;
	r = run_spec(&s, &(struct run_opts){ .pol = raw, .nonce = nonce,
	    .nonce_len = 32 }, NULL);
	assert_failed(r, "nonce_mismatch");
	av_result_free(r);
	/* SHA-512 of the nonce alone, without runtime data */
	av_sha512(nonce, 32, s.f.report_data);
	r = run_spec(&s, &(struct run_opts){ .pol = any, .nonce = nonce,
	    .nonce_len = 32 }, NULL);
	assert_affirming(r);
	av_result_free(r);
	av_policy_free(any);
	av_policy_free(sha);
	av_policy_free(raw);
}

static void
test_nonce_required(void **state)
{
	struct spec		 s;
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	struct av_result	*r;
	json_t			*doc;
	char			*h;

	(void)state;
	spec_init(&s, 1, 3, false);
	h = av_hex_encode(s.f.measurement, 48);
	doc = json_pack("{s:s s:i s:{s:s} s:{s:{s:s}}}", "id", "n",
	    "version", 1, "freshness", "nonce", "required", "evidence",
	    "sev-snp", "measurement", h);
	free(h);
	assert_int_equal(av_policy_compile(doc, &p, &perr), 0);
	json_decref(doc);
	r = run_spec(&s, &(struct run_opts){ .pol = p }, NULL);
	assert_failed(r, "nonce_mismatch");
	av_result_free(r);
	av_policy_free(p);
}

/* ---- Azure HCL report --------------------------------------------------- */

/* HCL bytes: header, report, IGVM request data, padding to 2600. */
static uint8_t *
hcl_make(const uint8_t rep[AVT_SNP_REPORT_LEN], const char *json,
    uint32_t hash_type, size_t *len)
{
	size_t	 vl = strlen(json), n = 2600;
	uint8_t	*p = calloc(1, n);

	assert_non_null(p);
	memcpy(p, "HCLA", 4);
	put32(p + 4, 1);
	put32(p + 8, 0x92a);
	put32(p + 12, 2);
	memcpy(p + 0x20, rep, AVT_SNP_REPORT_LEN);
	put32(p + 0x4C0, (uint32_t)(20 + vl));
	put32(p + 0x4C4, 1);
	put32(p + 0x4C8, 2);
	put32(p + 0x4CC, hash_type);
	put32(p + 0x4D0, (uint32_t)vl);
	memcpy(p + 0x4D4, json, vl);
	*len = n;
	return p;
}

static void
test_hcl(void **state)
{
	static const char js[] = "{\"keys\":[{\"kid\":\"HCLAkPub\"}],"
	    "\"user-data\":\"00112233445566778899aabbccddeeff00112233445566778899"
	    "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aa"
	    "bbccddeeff\"}";
	struct spec		 s;
	struct ev		 ev;
	struct av_result	*r;
	struct snp_hcl		 hcl;
	struct av_err		 e = { 0 };
	uint8_t			*p;
	size_t			 n;
	json_t			*it;
	uint8_t			 nonce[64];

	(void)state;
	spec_init(&s, 1, 2, false);
	memset(s.f.report_data, 0, 64);
	av_sha256((const uint8_t *)js, strlen(js), s.f.report_data);
	build(&s, &ev);
	p = hcl_make(ev.rep, js, 1, &n);
	assert_true(av_backend_find("sev-snp")->detect(p, n));
	assert_int_equal(snp_hcl_parse(p, n, &hcl, &e), 0);
	assert_int_equal(hcl.var_len, strlen(js));
	it = item_for(&s, &ev);
	set_str(it, "data", b64(p, n));
	r = run_item(it, NULL);
	assert_string_equal(status(r), "warning");
	assert_int_equal(claim_int(r, "hcl.hash_type"), 1);
	av_result_free(r);
	/* the user-data carries the nonce */
	for (int i = 0; i < 64; i++)
		nonce[i] = (uint8_t)(((i % 16) * 0x11) & 0xff);
	it = item_for(&s, &ev);
	set_str(it, "data", b64(p, n));
	r = run_item(it, &(struct run_opts){ .nonce = nonce, .nonce_len = 64 });
	assert_string_equal(status(r), "warning");
	assert_string_equal(claim_str(r, "report_data_binding"), "nonce");
	av_result_free(r);
	/* altered runtime data */
	p[0x4E5] ^= 0x20;
	it = item_for(&s, &ev);
	set_str(it, "data", b64(p, n));
	r = run_item(it, NULL);
	assert_failed(r, "binding_mismatch");
	av_result_free(r);
	p[0x4E5] ^= 0x20;
	/* hostile HCL framing */
	put32(p + 0x4D0, 5000);
	assert_int_equal(snp_hcl_parse(p, n, &hcl, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	put32(p + 0x4D0, (uint32_t)strlen(js));
	p[n - 1] = 1;
	assert_int_equal(snp_hcl_parse(p, n, &hcl, &e), -1);
	p[n - 1] = 0;
	put32(p + 0x4C8, 4);	/* a TDX report */
	assert_false(av_backend_find("sev-snp")->detect(p, n));
	assert_int_equal(snp_hcl_parse(p, n, &hcl, &e), -1);
	for (size_t cut = 0; cut < 0x4D4; cut += 97)
		assert_int_equal(snp_hcl_parse(p, cut, &hcl, &e), -1);
	free(p);
	X509_free(ev.leaf);
}

/* ---- companions ------------------------------------------------------- */

static void
expect_parse_fail(json_t *item, const char *why)
{
	const struct av_backend	*b = av_backend_find("sev-snp");
	struct av_evidence	 ev = { 0 };
	struct av_err		 e = { 0 };
	uint8_t			*data;
	size_t			 n;
	void			*parsed = NULL;
	const char		*d = json_string_value(json_object_get(item,
				    "data"));

	assert_int_equal(av_b64_decode(d, strlen(d), &data, &n), 0);
	ev.type = "sev-snp";
	ev.data = data;
	ev.len = n;
	ev.item = item;
	if (b->parse(&ev, &parsed, &e) == 0) {
		b->free(parsed);
		fail_msg("parsed, expected: %s", why);
	}
	assert_int_equal(e.code, AV_E_MALFORMED);
	if (strstr(e.reason, why) == NULL)
		fail_msg("reason \"%s\", expected \"%s\"", e.reason, why);
	free(data);
	json_decref(item);
}

static void
test_companions_hostile(void **state)
{
	struct spec	 s;
	struct ev	 ev, ev2;
	json_t		*it;

	(void)state;
	spec_init(&s, 1, 3, false);
	build(&s, &ev);
	s.form = FORM_NONE;
	s.with_crl = false;
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_pack("{s:s}", "vcek", "@@@"));
	expect_parse_fail(it, "neither PEM nor base64");
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_pack("{s:s}", "pck", "AAAA"));
	expect_parse_fail(it, "unknown key");
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_pack("{s:i}", "vcek", 1));
	expect_parse_fail(it, "must be strings");
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_string("x"));
	expect_parse_fail(it, "must be an object");
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_pack("{s:s}", "vcek", "AAAA"));
	expect_parse_fail(it, "does not parse");
	/* a CA given as the VCEK, a VCEK given as the ARK */
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_object());
	set_str(json_object_get(it, "certs"), "vcek",
	    avt_snp_b64_der(F->pki[1]->ask));
	expect_parse_fail(it, "is a CA");
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_object());
	set_str(json_object_get(it, "certs"), "ark", avt_snp_b64_der(ev.leaf));
	expect_parse_fail(it, "not a CA");
	/* two different leaves */
	spec_init(&s, 1, 3, false);
	s.l.tcb.snp++;
	build(&s, &ev2);
	s.form = FORM_NONE;
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_object());
	set_str(json_object_get(it, "certs"), "vcek", avt_snp_b64_der(ev.leaf));
	set_str(it, "cert_chain", avt_cert_pem(ev2.leaf));
	expect_parse_fail(it, "more than one");
	/* a CRL that is not one */
	it = item_for(&s, &ev);
	json_object_set_new(it, "certs", json_pack("{s:s}", "crl", "MAMCAQA="));
	expect_parse_fail(it, "CRL companion");
	/* a bad certificate table */
	it = item_for(&s, &ev);
	set_str(it, "auxblob", strdup("AAAAAA=="));
	expect_parse_fail(it, "certificate table");
	X509_free(ev.leaf);
	X509_free(ev2.leaf);
}

/* ---- seeds ------------------------------------------------------------ */

static char *
seed_dir(const char *sub)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	char		*p;
	size_t		 n;

	if (src == NULL)
		return NULL;
	n = strlen(src) + strlen(sub) + 32;
	p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/evidence/sev-snp%s%s", src, *sub ? "/" : "", sub);
	return p;
}

static void
write_json(const char *dir, const char *name, json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);

	assert_non_null(s);
	avt_put(dir, name, s, strlen(s));
	free(s);
	json_decref(j);
}

/* Regenerate evidence/sev-snp/ (AV_SNP_REGEN_SEEDS=1). */
static void
regen_seeds(void)
{
	static const char js[] = "{\"keys\":[],\"user-data\":\"\"}";
	char		*good = seed_dir("good"), *bad = seed_dir("bad");
	char		*top = seed_dir("");
	struct spec	 s;
	struct ev	 ev;
	uint8_t		*p, big[AVT_SNP_REPORT_LEN + 1];
	size_t		 n;

	mkdir(top, 0755);
	free(top);
	mkdir(good, 0755);
	mkdir(bad, 0755);
	for (int prod = 1; prod <= 3; prod++) {
		static const uint32_t vs[] = { 2, 3, 5 };
		char name[64];

		for (int v = 0; v < 3; v++) {
			spec_init(&s, prod, vs[v], prod == 2 && v == 1);
			build(&s, &ev);
			snprintf(name, sizeof(name), "report-%s-v%u-%s.bin",
			    PRODUCTS[prod], vs[v], s.vlek ? "vlek" : "vcek");
			avt_put(good, name, ev.rep, sizeof(ev.rep));
			s.form = (enum form)(v + prod) % 4;
			snprintf(name, sizeof(name), "item-%s-v%u.json",
			    PRODUCTS[prod], vs[v]);
			write_json(good, name, item_for(&s, &ev));
			if (v == 2) {
				uint8_t *der;

				assert_non_null(der = avt_cert_der(ev.leaf, &n));
				snprintf(name, sizeof(name), "vcek-%s.der",
				    PRODUCTS[prod]);
				avt_put(good, name, der, n);
				free(der);
				p = avt_snp_cert_table(ev.leaf, false,
				    ev.pki->ask, ev.pki->ark, &n);
				snprintf(name, sizeof(name),
				    "certtable-%s.bin", PRODUCTS[prod]);
				avt_put(good, name, p, n);
				free(p);
			}
			X509_free(ev.leaf);
		}
	}
	spec_init(&s, 1, 2, false);
	av_sha256((const uint8_t *)js, strlen(js), s.f.report_data);
	memset(s.f.report_data + 32, 0, 32);
	build(&s, &ev);
	p = hcl_make(ev.rep, js, 1, &n);
	avt_put(good, "hcl-milan.bin", p, n);
	free(p);

	/* bad/: each with the reason it must fail with */
	avt_put(bad, "truncated.bin", ev.rep, 1000);
	avt_put(bad, "truncated.expect", "shorter than 0x4A0", 18);
	memcpy(big, ev.rep, sizeof(ev.rep));
	big[sizeof(ev.rep)] = 0;
	avt_put(bad, "trailing-byte.bin", big, sizeof(big));
	avt_put(bad, "trailing-byte.expect", "trailing bytes", 14);
	memcpy(big, ev.rep, sizeof(ev.rep));
	big[0] = 6;
	avt_put(bad, "version-6.bin", big, sizeof(ev.rep));
	avt_put(bad, "version-6.expect", "unsupported report version", 26);
	big[0] = 1;
	avt_put(bad, "version-1.bin", big, sizeof(ev.rep));
	avt_put(bad, "version-1.expect", "unsupported report version", 26);
	p = hcl_make(ev.rep, js, 1, &n);
	avt_put(bad, "hcl-truncated.bin", p, 0x4C8);
	avt_put(bad, "hcl-truncated.expect", "truncated HCL report", 20);
	put32(p + 0x4D0, 4000);
	avt_put(bad, "hcl-runtime-length.bin", p, n);
	avt_put(bad, "hcl-runtime-length.expect", "runtime data length", 19);
	put32(p + 0x4D0, (uint32_t)strlen(js));
	put32(p + 0x4CC, 9);
	avt_put(bad, "hcl-hash-type.bin", p, n);
	avt_put(bad, "hcl-hash-type.expect", "hash type", 9);
	free(p);
	X509_free(ev.leaf);
	free(good);
	free(bad);
}

static void
test_seeds(void **state)
{
	const struct av_backend	*b = av_backend_find("sev-snp");
	char			*bad, path[1024], exp[256];
	DIR			*d = NULL;
	struct dirent		*de;
	int			 nbad = 0;

	(void)state;
	if (getenv("AV_SNP_REGEN_SEEDS") != NULL)
		regen_seeds();
	if ((bad = seed_dir("bad")) == NULL || (d = opendir(bad)) == NULL) {
		free(bad);
		skip();
	}
	while ((de = readdir(d)) != NULL) {
		struct av_evidence	 ev = { 0 };
		struct av_err		 e = { 0 };
		uint8_t			*data, *x;
		size_t			 n, xl;
		void			*parsed = NULL;
		char			*dot;

		if ((dot = strrchr(de->d_name, '.')) == NULL ||
		    strcmp(dot, ".bin") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", bad, de->d_name);
		assert_non_null(data = avt_read_file(path, &n));
		snprintf(path, sizeof(path), "%s/%.*s.expect", bad,
		    (int)(dot - de->d_name), de->d_name);
		assert_non_null(x = avt_read_file(path, &xl));
		snprintf(exp, sizeof(exp), "%.*s", (int)xl, (char *)x);
		ev.data = data;
		ev.len = n;
		if (b->parse(&ev, &parsed, &e) == 0)
			fail_msg("%s parsed", de->d_name);
		if (strstr(e.reason, exp) == NULL)
			fail_msg("%s: \"%s\", expected \"%s\"", de->d_name,
			    e.reason, exp);
		free(data);
		free(x);
		nbad++;
	}
	closedir(d);
	free(bad);
	assert_true(nbad >= 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_parse_fields),
		cmocka_unit_test(test_report_parse_hostile),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_cert_table),
		cmocka_unit_test(test_leaf_ext),
		cmocka_unit_test(test_leaf_ext_bad),
		cmocka_unit_test(test_products),
		cmocka_unit_test(test_kds_urls),
		cmocka_unit_test(test_good_milan_v2),
		cmocka_unit_test(test_good_genoa_v3_table),
		cmocka_unit_test(test_good_turin_v5_chain),
		cmocka_unit_test(test_good_vlek),
		cmocka_unit_test(test_every_version_product),
		cmocka_unit_test(test_signature_invalid),
		cmocka_unit_test(test_unsupported_algorithm),
		cmocka_unit_test(test_chain_invalid),
		cmocka_unit_test(test_untrusted_root),
		cmocka_unit_test(test_cert_time_invalid),
		cmocka_unit_test(test_cert_revoked),
		cmocka_unit_test(test_crl_rules),
		cmocka_unit_test(test_binding_tcb),
		cmocka_unit_test(test_binding_chip),
		cmocka_unit_test(test_binding_signer_kind),
		cmocka_unit_test(test_collateral_missing),
		cmocka_unit_test(test_collateral_invalid),
		cmocka_unit_test(test_collateral_store),
		cmocka_unit_test(test_measurement_mismatch),
		cmocka_unit_test(test_debug_enabled),
		cmocka_unit_test(test_tcb_below_minimum),
		cmocka_unit_test(test_policy_rules),
		cmocka_unit_test(test_policy_compile_errors),
		cmocka_unit_test(test_nonce_binding),
		cmocka_unit_test(test_nonce_required),
		cmocka_unit_test(test_hcl),
		cmocka_unit_test(test_companions_hostile),
		cmocka_unit_test(test_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
