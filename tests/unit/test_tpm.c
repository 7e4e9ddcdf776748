/*
 * TPM 2.0 quotes (type "tpm") through the real pipeline
 * (av_verify_request): quotes made by the test signer (tests/lib/avt_tpm.c,
 * marshalled with Tss2_MU, signed by OpenSSL keys posing as AKs), each
 * case asserting the exact status, reason code and claim values.  Also
 * the event log parser on hostile input, policy compilation errors, and
 * the fuzz seeds in evidence/tpm/.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_assert.h"
#include "avt_pki.h"
#include "avt_tpm.h"
#include "evidence/tpm.h"

#define T0	1767225600LL	/* 2026-01-01T00:00:00Z */
#define ALL24	0x00ffffffu

struct fx {
	EVP_PKEY	*rsa, *ec256, *ec384, *other;
	EVP_PKEY	*ca_key;
	X509		*ca;		/* trusted "tpm" anchor */
	EVP_PKEY	*rogue_key;
	X509		*rogue;		/* not trusted */
	struct av_trust	*trust;
	struct avt_pcrs	 pcrs;
	uint8_t		 nonce[32];
};

static struct fx *F;

static int
setup(void **state)
{
	struct avt_cert_spec cs = { .cn = "attestd test TPM CA",
	    .not_before = T0 - 86400, .not_after = T0 + 86400, .ca = true,
	    .md = EVP_sha256() };

	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL)
		return -1;
	F->rsa = avt_key_new("RSA-2048");
	F->ec256 = avt_key_new("P-256");
	F->ec384 = avt_key_new("P-384");
	F->other = avt_key_new("RSA-2048");
	F->ca_key = avt_key_new("P-256");
	F->rogue_key = avt_key_new("P-256");
	F->ca = avt_cert_new(&cs, F->ca_key, NULL, F->ca_key);
	cs.cn = "rogue TPM CA";
	F->rogue = avt_cert_new(&cs, F->rogue_key, NULL, F->rogue_key);
	F->trust = av_trust_new();
	if (F->rsa == NULL || F->ec256 == NULL || F->ec384 == NULL ||
	    F->ca == NULL || F->rogue == NULL || F->trust == NULL ||
	    av_trust_add_anchor(F->trust, "tpm", F->ca) != 0)
		return -1;
	for (int b = 0; b < AVT_NBANKS; b++)
		for (unsigned i = 0; i < AVT_TPM_NPCR; i++)
			memset(F->pcrs.v[b][i], (int)(i * 7 + b), 48);
	for (size_t i = 0; i < sizeof(F->nonce); i++)
		F->nonce[i] = (uint8_t)(0xa0 + i);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(F->rsa);
	EVP_PKEY_free(F->ec256);
	EVP_PKEY_free(F->ec384);
	EVP_PKEY_free(F->other);
	EVP_PKEY_free(F->ca_key);
	EVP_PKEY_free(F->rogue_key);
	X509_free(F->ca);
	X509_free(F->rogue);
	av_trust_free(F->trust);
	free(F);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static char *
b64(const uint8_t *p, size_t n)
{
	char *s = av_b64_encode(p, n);

	assert_non_null(s);
	return s;
}

static void
set_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = b64(p, n);

	json_object_set_new(o, k, json_string(s));
	free(s);
}

static char *
hex(const uint8_t *p, size_t n)
{
	char *s = av_hex_encode(p, n);

	assert_non_null(s);
	return s;
}

/* {"sha1": {...}, "sha256": {...}, "sha384": {...}} of the masks given. */
static json_t *
pcrs_json(const struct avt_pcrs *p, const uint32_t mask[AVT_NBANKS])
{
	static const char *const names[] = { "sha1", "sha256", "sha384" };
	json_t	*o = json_object();
	char	 k[4], *h;

	for (int b = 0; b < AVT_NBANKS; b++) {
		json_t *bo;

		if (mask[b] == 0)
			continue;
		bo = json_object();
		for (unsigned i = 0; i < AVT_TPM_NPCR; i++) {
			if (!(mask[b] & (1u << i)))
				continue;
			snprintf(k, sizeof(k), "%u", i);
			h = hex(p->v[b][i], avt_bank_size(b));
			json_object_set_new(bo, k, json_string(h));
			free(h);
		}
		json_object_set_new(o, names[b], bo);
	}
	return o;
}

struct q {
	EVP_PKEY		*key;		/* signs */
	EVP_PKEY		*ak;		/* published AK (NULL: key) */
	enum avt_sig		 sig;
	uint16_t		 hash;
	struct avt_quote_spec	 spec;
	const struct avt_pcrs	*pcrs;		/* NULL: F->pcrs */
	bool			 unrestricted;
	bool			 ak_pem;	/* ak_pub as PEM SPKI */
	bool			 no_ak;		/* only the certificate */
	const char		*chain_pem;	/* ak_cert_chain */
	const uint8_t		*evlog;
	size_t			 evlog_len;
	const uint8_t		*qsigner;	/* qualifiedSigner (TPM2B_NAME
						   bytes), NULL: the signer's */
	size_t			 qsigner_len;
};

/*
 * msg (TPMS_ATTEST from avt_tpm_attest: magic, type, then qualifiedSigner
 * as TPM2B_NAME) with qualifiedSigner replaced by name[0..n).  Frees msg.
 */
static uint8_t *
with_qsigner(uint8_t *msg, size_t *ml, const uint8_t *name, size_t n)
{
	size_t	 old = (size_t)msg[6] << 8 | msg[7];
	size_t	 nl = *ml - old + n;
	uint8_t	*m = malloc(nl);

	assert_non_null(m);
	assert_true(*ml >= 8 + old);
	memcpy(m, msg, 6);
	m[6] = (uint8_t)(n >> 8);
	m[7] = (uint8_t)n;
	memcpy(m + 8, name, n);
	memcpy(m + 8 + n, msg + 8 + old, *ml - 8 - old);
	free(msg);
	*ml = nl;
	return m;
}

/* A request item {"type":"tpm","data",...} for q. */
static json_t *
item(struct q *q)
{
	uint8_t		*msg, *sig, *pub;
	size_t		 ml, sl, pl;
	json_t		*it = json_object();
	EVP_PKEY	*ak = q->ak ? q->ak : q->key;

	if (q->hash == 0)
		q->hash = TPM2_ALG_SHA256;
	if (q->spec.sig_hash == 0)
		q->spec.sig_hash = q->hash;
	if (q->spec.nonce == NULL && q->spec.nonce_len == 0) {
		q->spec.nonce = F->nonce;
		q->spec.nonce_len = sizeof(F->nonce);
	}
	if (q->spec.sel[0] == 0 && q->spec.sel[1] == 0 && q->spec.sel[2] == 0)
		q->spec.sel[AVT_SHA256] = ALL24;
	msg = avt_tpm_attest(&q->spec, q->pcrs ? q->pcrs : &F->pcrs, &ml);
	assert_non_null(msg);
	if (q->qsigner != NULL)
		msg = with_qsigner(msg, &ml, q->qsigner, q->qsigner_len);
	sig = avt_tpm_sign(q->key, q->sig, q->hash, msg, ml, &sl);
	assert_non_null(sig);
	json_object_set_new(it, "type", json_string("tpm"));
	set_b64(it, "data", msg, ml);
	set_b64(it, "signature", sig, sl);
	if (q->ak_pem) {
		BIO	*b = BIO_new(BIO_s_mem());
		char	*p;
		long	 n;

		PEM_write_bio_PUBKEY(b, ak);
		n = BIO_get_mem_data(b, &p);
		json_object_set_new(it, "ak_pub", json_stringn(p, (size_t)n));
		BIO_free(b);
	} else if (!q->no_ak) {
		pub = avt_tpm_public(ak, !q->unrestricted, &pl);
		assert_non_null(pub);
		set_b64(it, "ak_pub", pub, pl);
		free(pub);
	}
	if (q->chain_pem != NULL)
		json_object_set_new(it, "ak_cert_chain",
		    json_string(q->chain_pem));
	json_object_set_new(it, "pcrs", pcrs_json(q->pcrs ? q->pcrs :
	    &F->pcrs, q->spec.sel));
	if (q->evlog != NULL)
		set_b64(it, "event_log", q->evlog, q->evlog_len);
	free(msg);
	free(sig);
	return it;
}

/* SHA-256 hex of the DER SPKI of key (for enrolled_aks). */
static char *
spki_hex(EVP_PKEY *key)
{
	unsigned char	*der = NULL;
	uint8_t		 h[32];
	int		 n = i2d_PUBKEY(key, &der);

	assert_true(n > 0);
	av_sha256(der, (size_t)n, h);
	OPENSSL_free(der);
	return hex(h, 32);
}

/* A policy {"evidence": {"tpm": section}} (section stolen). */
static struct av_policy *
policy(json_t *section)
{
	return avt_policy("tpm", section, NULL);
}

/* A policy section enrolling key's AK. */
static json_t *
enrolled(EVP_PKEY *key)
{
	char	*h = spki_hex(key);
	json_t	*s = json_pack("{s:[s]}", "enrolled_aks", h);

	free(h);
	return s;
}

static struct av_result *
run_req(json_t *body, const struct av_policy *pol)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust };

	if (av_request_from_json(body, &req, &e) != 0)
		fail_msg("request: %s", e.reason);
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	assert_int_equal(res->nsubmods, 1);
	av_request_free(req);
	json_decref(body);
	return res;
}

/* Run one item with the fixture nonce (or nonce/len given). */
static struct av_result *
run_nonce(json_t *it, const struct av_policy *pol, const uint8_t *nonce,
    size_t nlen, const uint8_t *rd, size_t rdlen)
{
	json_t *body = json_pack("{s:[o]}", "evidence", it);
	char	*s;

	if (nonce != NULL) {
		s = b64(nonce, nlen);
		json_object_set_new(body, "nonce", json_string(s));
		free(s);
	}
	if (rd != NULL) {
		s = b64(rd, rdlen);
		json_object_set_new(body, "runtime_data", json_string(s));
		free(s);
	}
	return run_req(body, pol);
}

static struct av_result *
run(json_t *it, const struct av_policy *pol)
{
	return run_nonce(it, pol, F->nonce, sizeof(F->nonce), NULL, 0);
}

static const char *
code_at(const struct av_submod *sm, size_t i)
{
	return json_string_value(json_object_get(json_array_get(sm->reasons,
	    i), "code"));
}

static bool
has_code(const struct av_submod *sm, const char *code)
{
	for (size_t i = 0; i < json_array_size(sm->reasons); i++)
		if (strcmp(code_at(sm, i), code) == 0)
			return true;
	return false;
}

static void
dump(const struct av_result *r)
{
	json_t	*j = av_result_json(r, NULL);
	char	*s = json_dumps(j, JSON_INDENT(1));

	fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(j);
}

static void
expect(const struct av_result *r, enum av_status st, const char *code)
{
	const struct av_submod *sm = &r->submods[0];

	if (sm->status != st || (code != NULL && !has_code(sm, code)) ||
	    (code == NULL && st == AV_STATUS_AFFIRMING &&
	    json_array_size(sm->reasons) != 0)) {
		dump(r);
		fail_msg("expected status %s with %s", av_status_str(st),
		    code ? code : "no reason");
	}
}

/* Claim at a path of object keys ("pcrs", "sha256", "7"). */
static const json_t *
claim(const struct av_result *r, ...)
{
	const json_t	*j = r->submods[0].claims;
	const char	*k;
	va_list		 ap;

	va_start(ap, r);
	while (j != NULL && (k = va_arg(ap, const char *)) != NULL)
		j = json_object_get(j, k);
	va_end(ap);
	return j;
}

/* ---- positives --------------------------------------------------------- */

static void
check_good(EVP_PKEY *key, enum avt_sig sig, uint16_t hash, const char *scheme)
{
	struct q		 q = { .key = key, .sig = sig, .hash = hash };
	struct av_policy	*pol = policy(enrolled(key));
	struct av_result	*r = run(item(&q), pol);
	char			*h;

	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(json_string_value(claim(r, "quotes", NULL) ?
	    json_object_get(json_array_get(claim(r, "quotes", NULL), 0),
	    "sig_scheme") : NULL), scheme);
	h = hex(F->pcrs.v[AVT_SHA256][7], 32);
	assert_string_equal(json_string_value(claim(r, "pcrs", "sha256", "7",
	    NULL)), h);
	free(h);
	assert_int_equal(json_integer_value(claim(r, "clock", NULL)),
	    123456789);
	assert_int_equal(json_integer_value(claim(r, "reset_count", NULL)), 7);
	assert_int_equal(json_integer_value(claim(r, "restart_count", NULL)),
	    1);
	assert_true(json_is_true(claim(r, "safe", NULL)));
	assert_string_equal(json_string_value(claim(r, "firmware_version",
	    NULL)), "0x2019102300163636");
	assert_string_equal(json_string_value(json_array_get(claim(r, "ak",
	    "trust", NULL), 0)), "enrolled");
	assert_true(json_is_true(claim(r, "ak", "restricted", NULL)));
	assert_int_equal(r->submods[0].tv[AV_TV_INSTANCE], AV_AR_AFFIRM);
	av_result_free(r);
	av_policy_free(pol);
}

static void
t_rsassa_sha256(void **state)
{
	(void)state;
	check_good(F->rsa, AVT_RSASSA, TPM2_ALG_SHA256, "rsassa-sha256");
}

static void
t_rsassa_sha384(void **state)
{
	(void)state;
	check_good(F->rsa, AVT_RSASSA, TPM2_ALG_SHA384, "rsassa-sha384");
}

static void
t_rsapss(void **state)
{
	(void)state;
	check_good(F->rsa, AVT_RSAPSS, TPM2_ALG_SHA256, "rsapss-sha256");
	check_good(F->rsa, AVT_RSAPSS, TPM2_ALG_SHA384, "rsapss-sha384");
}

static void
t_ecdsa(void **state)
{
	(void)state;
	check_good(F->ec256, AVT_ECDSA, TPM2_ALG_SHA256, "ecdsa-sha256");
	check_good(F->ec384, AVT_ECDSA, TPM2_ALG_SHA384, "ecdsa-sha384");
	check_good(F->ec256, AVT_ECDSA, TPM2_ALG_SHA384, "ecdsa-sha384");
}

/* Three banks in one quote; pcrDigest with the scheme hash (SHA-256). */
static void
t_multibank(void **state)
{
	struct q		 q = { .key = F->ec256, .sig = AVT_ECDSA };
	struct av_policy	*pol;
	struct av_result	*r;
	json_t			*sec = enrolled(F->ec256);
	char			*h1, *h3;

	(void)state;
	q.spec.sel[AVT_SHA1] = 0xff;
	q.spec.sel[AVT_SHA256] = 0x810000 | 0x7ff;
	q.spec.sel[AVT_SHA384] = 0x91;
	h1 = hex(F->pcrs.v[AVT_SHA1][3], 20);
	h3 = hex(F->pcrs.v[AVT_SHA384][7], 48);
	json_object_set_new(sec, "pcrs", json_pack("{s:{s:[s]}, s:{s:s}}",
	    "sha1", "3", h1, "sha384", "7", h3));
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(json_string_value(claim(r, "pcrs", "sha1", "3",
	    NULL)), h1);
	assert_string_equal(json_string_value(claim(r, "pcrs", "sha384", "7",
	    NULL)), h3);
	/* PCR 8 of sha1 was supplied? no: not quoted, so not a claim */
	assert_null(claim(r, "pcrs", "sha1", "8", NULL));
	assert_null(claim(r, "pcrs", "sha384", "1", NULL));
	av_result_free(r);
	av_policy_free(pol);
	free(h1);
	free(h3);
}

/* AK as PEM SPKI (no TPMT_PUBLIC: no name, no restricted claim). */
static void
t_ak_pem(void **state)
{
	struct q		 q = { .key = F->ec384, .sig = AVT_ECDSA,
	    .hash = TPM2_ALG_SHA384, .ak_pem = true };
	struct av_policy	*pol = policy(enrolled(F->ec384));
	struct av_result	*r = run(item(&q), pol);

	(void)state;
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_null(claim(r, "ak", "name", NULL));
	assert_null(claim(r, "ak", "restricted", NULL));
	assert_string_equal(json_string_value(claim(r, "ak", "type", NULL)),
	    "EC-P384");
	av_result_free(r);
	av_policy_free(pol);
}

static char *
ak_chain(EVP_PKEY *ak, X509 *ca, EVP_PKEY *ca_key, int64_t nb, int64_t na)
{
	struct avt_cert_spec cs = { .cn = "attestd test AK", .not_before = nb,
	    .not_after = na, .md = EVP_sha256() };
	X509	*leaf = avt_cert_new(&cs, ak, ca, ca_key);
	char	*l, *c, *out;

	assert_non_null(leaf);
	l = avt_cert_pem(leaf);
	c = avt_cert_pem(ca);
	out = malloc(strlen(l) + strlen(c) + 1);
	strcpy(out, l);
	strcat(out, c);
	free(l);
	free(c);
	X509_free(leaf);
	return out;
}

/* AK certificate to a "tpm" anchor: trusted without a policy. */
static void
t_ak_cert(void **state)
{
	char			*chain = ak_chain(F->rsa, F->ca, F->ca_key,
	    T0 - 3600, T0 + 3600);
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA,
	    .chain_pem = chain };
	struct q		 q2 = { .key = F->rsa, .sig = AVT_RSASSA,
	    .chain_pem = chain, .no_ak = true };
	struct av_result	*r;
	json_t			*sec;
	struct av_policy	*pol;

	(void)state;
	r = run(item(&q), NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_string_equal(json_string_value(json_array_get(claim(r, "ak",
	    "trust", NULL), 0)), "certificate");
	assert_non_null(claim(r, "ak", "certificate", "subject", NULL));
	av_result_free(r);
	/* the AK taken from the certificate alone */
	r = run(item(&q2), NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	av_result_free(r);
	/* a policy requiring enrolment is not satisfied by a certificate */
	sec = json_pack("{s:s}", "ak_trust", "enrolled");
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	av_policy_free(pol);
	sec = json_pack("{s:[s]}", "ak_trust", "certificate");
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	free(chain);
}

static void
t_ak_cert_bad(void **state)
{
	char			*rogue = ak_chain(F->rsa, F->rogue,
	    F->rogue_key, T0 - 3600, T0 + 3600);
	char			*expired = ak_chain(F->rsa, F->ca, F->ca_key,
	    T0 - 7200, T0 - 3600);
	char			*other = ak_chain(F->other, F->ca, F->ca_key,
	    T0 - 3600, T0 + 3600);
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_result	*r;

	(void)state;
	q.chain_pem = rogue;
	r = run(item(&q), NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "untrusted_root");
	av_result_free(r);
	q.chain_pem = expired;
	r = run(item(&q), NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "cert_time_invalid");
	av_result_free(r);
	q.chain_pem = other;
	r = run(item(&q), NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	free(rogue);
	free(expired);
	free(other);
}

/* Our SPKI encoding (for enrolled_aks) equals OpenSSL's i2d_PUBKEY. */
static void
t_spki(void **state)
{
	static const char *const kinds[] = { "RSA-2048", "RSA-3072",
	    "RSA-4096", "P-256", "P-384" };
	EVP_PKEY_CTX	*kc;
	BIGNUM		*e3;
	EVP_PKEY	*k3 = NULL;
	struct av_err	 e = { 0 };

	(void)state;
	for (size_t i = 0; i <= sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY	*k;
		struct tpm_ev	*ev = tpm_ev_new("t");
		char		*want, *got;

		if (i < sizeof(kinds) / sizeof(kinds[0]))
			k = avt_key_new(kinds[i]);
		else {
			/* exponent 3 */
			kc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
			e3 = BN_new();
			BN_set_word(e3, 3);
			assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(kc,
			    2048), 1);
			assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(kc,
			    e3), 1);
			assert_int_equal(EVP_PKEY_keygen(kc, &k3), 1);
			EVP_PKEY_CTX_free(kc);
			BN_free(e3);
			k = k3;
		}
		assert_non_null(k);
		assert_int_equal(tpm_ak_set_pkey(ev, k, &e), 0);
		want = spki_hex(k);
		got = hex(ev->ak_spki_sha256, 32);
		assert_string_equal(got, want);
		free(want);
		free(got);
		tpm_ev_free(ev);
		EVP_PKEY_free(k);
	}
}

/* ---- negatives ---------------------------------------------------------- */

static void
t_untrusted_ak(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->other));
	struct av_result	*r;

	(void)state;
	r = run(item(&q), NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	av_policy_free(pol);
}

/* An unrestricted key could sign a forged TPMS_ATTEST. */
static void
t_unrestricted(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA,
	    .unrestricted = true };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct av_result	*r = run(item(&q), pol);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	av_policy_free(pol);
}

/* Signed by one key, presented with another AK. */
static void
t_wrong_ak(void **state)
{
	struct q		 q = { .key = F->rsa, .ak = F->other,
	    .sig = AVT_RSASSA };
	struct q		 q2 = { .key = F->ec256, .ak = F->rsa,
	    .sig = AVT_ECDSA };
	struct av_policy	*pol = policy(enrolled(F->other));
	struct av_result	*r = run(item(&q), pol);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
	r = run(item(&q2), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
	av_policy_free(pol);
}

static void
t_wrong_nonce(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	uint8_t			 other[32];
	struct av_result	*r;

	(void)state;
	memcpy(other, F->nonce, 32);
	other[31] ^= 1;
	r = run_nonce(item(&q), pol, other, sizeof(other), NULL, 0);
	expect(r, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
	av_result_free(r);
	/* no nonce in the request: not compared, still affirming */
	r = run_nonce(item(&q), pol, NULL, 0, NULL, 0);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
}

/* Trustee-style: the nonce zero-padded to 64 bytes of extraData. */
static void
t_nonce_padded(void **state)
{
	uint8_t			 x[64] = { 0 };
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct av_result	*r;

	(void)state;
	memcpy(x, F->nonce, 32);
	q.spec.nonce = x;
	q.spec.nonce_len = 64;
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
}

/* extraData = SHA-256(nonce || runtime_data): the key is attested. */
static void
t_binding(void **state)
{
	uint8_t			 rd[65], x[32], cat[97];
	struct q		 q = { .key = F->ec256, .sig = AVT_ECDSA };
	struct av_policy	*pol = policy(enrolled(F->ec256));
	struct av_result	*r;

	(void)state;
	memset(rd, 0x42, sizeof(rd));
	memcpy(cat, F->nonce, 32);
	memcpy(cat + 32, rd, sizeof(rd));
	av_sha256(cat, sizeof(cat), x);
	q.spec.nonce = x;
	q.spec.nonce_len = 32;
	r = run_nonce(item(&q), pol, F->nonce, 32, rd, sizeof(rd));
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_non_null(r->submods[0].key_attestation);
	assert_non_null(json_object_get(r->submods[0].key_attestation,
	    "akpub"));
	av_result_free(r);
	/* runtime data given but the quote carries the bare nonce */
	memset(&q.spec, 0, sizeof(q.spec));
	r = run_nonce(item(&q), pol, F->nonce, 32, rd, sizeof(rd));
	expect(r, AV_STATUS_CONTRAINDICATED, "binding_mismatch");
	assert_null(r->submods[0].key_attestation);
	av_result_free(r);
	av_policy_free(pol);
}

static void
t_altered_pcr(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct avt_pcrs		*p = malloc(sizeof(*p));
	json_t			*it;
	struct av_result	*r;

	(void)state;
	it = item(&q);
	/* the item's PCR 5 no longer matches what was quoted */
	memcpy(p, &F->pcrs, sizeof(*p));
	p->v[AVT_SHA256][5][0] ^= 1;
	json_object_set_new(it, "pcrs", pcrs_json(p, q.spec.sel));
	r = run(it, pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "pcr_digest_mismatch");
	av_result_free(r);
	/* a quoted PCR value missing */
	it = item(&q);
	json_object_del(json_object_get(json_object_get(it, "pcrs"),
	    "sha256"), "23");
	r = run(it, pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "pcr_digest_mismatch");
	av_result_free(r);
	/* a quote whose own pcrDigest is wrong */
	q.spec.bad_digest = true;
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "pcr_digest_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	free(p);
}

static void
t_policy_pcr_mismatch(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	json_t			*sec = enrolled(F->rsa);
	struct av_policy	*pol;
	struct av_result	*r;
	char			*h0, *bad;
	uint8_t			 v[32];

	(void)state;
	memset(v, 0xee, 32);
	h0 = hex(F->pcrs.v[AVT_SHA256][0], 32);
	bad = hex(v, 32);
	json_object_set_new(sec, "pcrs", json_pack("{s:{s:[s,s],s:s}}",
	    "sha256", "0", bad, h0, "7", bad));
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(r->submods[0].reasons, 0), "claim")),
	    "pcrs.sha256.7");
	av_result_free(r);
	/* a PCR the policy lists but the quote does not cover */
	q.spec.sel[AVT_SHA256] = 0x1;
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	free(h0);
	free(bad);
}

/* Replace "data" of an item with other bytes. */
static void
set_data(json_t *it, const char *k, const uint8_t *p, size_t n)
{
	set_b64(it, k, p, n);
}

static uint8_t *
item_bytes(json_t *it, const char *k, size_t *n)
{
	uint8_t *p;

	assert_int_equal(av_b64_decode(json_string_value(json_object_get(it,
	    k)), json_string_length(json_object_get(it, k)), &p, n), 0);
	return p;
}

static void
expect_malformed(json_t *it, const char *code)
{
	struct av_result *r = run(it, NULL);

	expect(r, AV_STATUS_CONTRAINDICATED, code);
	av_result_free(r);
}

static void
t_truncated(void **state)
{
	struct q	 q = { .key = F->rsa, .sig = AVT_RSASSA };
	json_t		*it;
	uint8_t		*p, *big;
	size_t		 n;

	(void)state;
	/* TPMS_ATTEST: every prefix fails */
	it = item(&q);
	p = item_bytes(it, "data", &n);
	for (size_t cut = 1; cut < n; cut += 7) {
		json_t *c = json_deep_copy(it);

		set_data(c, "data", p, cut);
		expect_malformed(c, "evidence_malformed");
	}
	/* trailing byte */
	big = malloc(n + 1);
	memcpy(big, p, n);
	big[n] = 0;
	set_data(it, "data", big, n + 1);
	expect_malformed(it, "evidence_malformed");
	free(big);
	free(p);
	/* TPMT_SIGNATURE truncated */
	it = item(&q);
	p = item_bytes(it, "signature", &n);
	set_data(it, "signature", p, n - 1);
	expect_malformed(it, "evidence_malformed");
	free(p);
	/* TPM2B_PUBLIC truncated */
	it = item(&q);
	p = item_bytes(it, "ak_pub", &n);
	set_data(it, "ak_pub", p, n - 3);
	expect_malformed(it, "evidence_malformed");
	free(p);
	/* no signature at all */
	it = item(&q);
	json_object_del(it, "signature");
	expect_malformed(it, "evidence_malformed");
}

static void
t_magic_type(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct q		 q2 = { .key = F->rsa, .sig = AVT_RSASSA };

	(void)state;
	q.spec.magic = 0xff544348;
	expect_malformed(item(&q), "evidence_malformed");
	q2.spec.type = TPM2_ST_ATTEST_CERTIFY;
	expect_malformed(item(&q2), "evidence_malformed");
}

static void
t_sha1_signature(void **state)
{
	struct q q = { .key = F->rsa, .sig = AVT_RSASSA,
	    .hash = TPM2_ALG_SHA1 };

	(void)state;
	expect_malformed(item(&q), "unsupported_algorithm");
}

/* ---- event log ---------------------------------------------------------- */

/* A firmware + GRUB boot: the log, and PCRs set to what it replays to. */
static struct avt_evlog *
boot_log(bool sha1_only, uint8_t locality)
{
	struct avt_evlog	*l = avt_evlog_new(sha1_only);
	static const uint8_t	 one = 1, sep[4] = { 0 };
	static const char	 grubcmd[] = "grub_cmd: linux /vmlinuz root=/dev/vda1 ro";
	static const char	 kcmd[] = "kernel_cmdline: /vmlinuz root=/dev/vda1 ro quiet";
	static const char	 act[] = "Calling EFI Application from Boot Option";
	static const uint8_t	 app[] = "shim image load event";
	uint8_t			 app_hash[64];

	if (locality != 0)
		avt_evlog_locality(l, locality);
	avt_evlog_add(l, 0, 0x8, "CRTM v1", 7, NULL, 0);	/* S_CRTM_VERSION */
	avt_evlog_efivar(l, "SecureBoot", &one, 1);
	avt_evlog_efivar(l, "PK", "pk-list", 7);
	avt_evlog_efivar(l, "db", "db-list", 7);
	avt_evlog_efivar(l, "dbx", "dbx-list", 8);
	for (unsigned p = 0; p <= 7; p++)
		avt_evlog_add(l, p, 0x4, sep, 4, NULL, 0);	/* EV_SEPARATOR */
	avt_evlog_add(l, 4, 0x80000007u, act, sizeof(act) - 1, NULL, 0);
	/* the app digest is an Authenticode hash, not of the event data */
	memset(app_hash, 0x33, sizeof(app_hash));
	avt_evlog_add(l, 4, 0x80000003u, app, sizeof(app), app_hash, 32);
	avt_evlog_add(l, 8, 0xd, grubcmd, sizeof(grubcmd),
	    grubcmd + 10, sizeof(grubcmd) - 11);
	avt_evlog_add(l, 8, 0xd, kcmd, sizeof(kcmd), kcmd + 16,
	    sizeof(kcmd) - 17);
	return l;
}

static void
t_eventlog(void **state)
{
	struct avt_evlog	*l = boot_log(false, 3);
	struct q		 q = { .key = F->ec256, .sig = AVT_ECDSA,
	    .pcrs = avt_evlog_pcrs(l) };
	json_t			*sec = enrolled(F->ec256), *app;
	struct av_policy	*pol;
	struct av_result	*r;
	uint8_t			 apph[32], appd[32];
	char			*h;

	(void)state;
	q.spec.sel[AVT_SHA256] = 0x1ff;	/* 0..8 */
	q.spec.sel[AVT_SHA1] = 0x91;	/* 0, 4, 7 */
	q.evlog = avt_evlog_bytes(l, &q.evlog_len);
	/* the boot app's sha256 event digest is SHA-256 of 32 x 0x33 */
	memset(apph, 0x33, 32);
	av_sha256(apph, 32, appd);
	h = hex(appd, 32);
	json_object_set_new(sec, "secure_boot", json_true());
	json_object_set_new(sec, "boot_apps", json_pack("[s]", h));
	json_object_set_new(sec, "kernel_cmdline", json_pack("{s:[s]}",
	    "prefix", "/vmlinuz root=/dev/vda1"));
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_true(json_is_true(claim(r, "event_log", "secure_boot", NULL)));
	assert_string_equal(json_string_value(json_array_get(claim(r,
	    "event_log", "kernel_cmdline", NULL), 0)),
	    "/vmlinuz root=/dev/vda1 ro quiet");
	assert_string_equal(json_string_value(json_array_get(claim(r,
	    "event_log", "grub_cmds", NULL), 0)),
	    "linux /vmlinuz root=/dev/vda1 ro");
	app = json_array_get(claim(r, "event_log", "boot_apps", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(app, "digests"), "sha256")), h);
	assert_non_null(claim(r, "event_log", "efi_variables", "db", "sha256",
	    NULL));
	assert_non_null(claim(r, "event_log", "efi_variables", "dbx", NULL));
	assert_string_equal(json_string_value(json_array_get(claim(r,
	    "event_log", "efi_actions", NULL), 0)),
	    "Calling EFI Application from Boot Option");
	assert_int_equal(json_array_size(claim(r, "event_log",
	    "verified_pcrs", NULL)), 9);	/* 0..8: touched and quoted */
	av_result_free(r);
	av_policy_free(pol);
	free(h);
	avt_evlog_free(l);
}

/* Event rules fail: cmdline prefix, unknown boot app, no Secure Boot. */
static void
t_eventlog_policy(void **state)
{
	struct avt_evlog	*l = avt_evlog_new(false);
	static const uint8_t	 zero = 0;
	static const char	 kcmd[] = "kernel_cmdline: /vmlinuz init=/bin/sh";
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	json_t			*sec = enrolled(F->rsa);
	struct av_policy	*pol;
	struct av_result	*r;
	uint8_t			 v[32];
	char			*h;

	(void)state;
	avt_evlog_efivar(l, "SecureBoot", &zero, 1);
	avt_evlog_add(l, 4, 0x80000003u, "app", 3, "pe-hash", 7);
	avt_evlog_add(l, 8, 0xd, kcmd, sizeof(kcmd), kcmd + 16,
	    sizeof(kcmd) - 17);
	q.pcrs = avt_evlog_pcrs(l);
	q.evlog = avt_evlog_bytes(l, &q.evlog_len);
	memset(v, 1, 32);
	h = hex(v, 32);
	json_object_set_new(sec, "secure_boot", json_true());
	json_object_set_new(sec, "boot_apps", json_pack("[s]", h));
	json_object_set_new(sec, "kernel_cmdline", json_pack("{s:s,s:[s]}",
	    "exact", "/vmlinuz ro", "prefix", "/vmlinuz root="));
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	assert_int_equal(json_array_size(r->submods[0].reasons), 3);
	assert_false(json_is_true(claim(r, "event_log", "secure_boot", NULL)));
	av_result_free(r);
	/* the same rules and no event log at all */
	q.evlog = NULL;
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	free(h);
	avt_evlog_free(l);
}

/* A log that does not replay to the quoted PCRs. */
static void
t_eventlog_mismatch(void **state)
{
	struct avt_evlog	*l = boot_log(false, 0);
	struct avt_evlog	*l2 = boot_log(false, 0);
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct av_result	*r;

	(void)state;
	avt_evlog_add(l2, 4, 0x80000003u, "extra", 5, NULL, 0);
	q.pcrs = avt_evlog_pcrs(l);
	q.evlog = avt_evlog_bytes(l2, &q.evlog_len);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "event_log_mismatch");
	av_result_free(r);
	/* startup locality 3 in the log, PCR0 quoted from locality 0 */
	avt_evlog_free(l2);
	l2 = boot_log(false, 3);
	q.evlog = avt_evlog_bytes(l2, &q.evlog_len);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "event_log_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	avt_evlog_free(l);
	avt_evlog_free(l2);
}

/* A GRUB string whose digest is not H(string): replays, but no claim. */
static void
t_eventlog_unverified_string(void **state)
{
	struct avt_evlog	*l = avt_evlog_new(false);
	static const char	 kcmd[] = "kernel_cmdline: /vmlinuz ro";
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	json_t			*sec = enrolled(F->rsa);
	struct av_policy	*pol;
	struct av_result	*r;

	(void)state;
	avt_evlog_add(l, 8, 0xd, kcmd, sizeof(kcmd), "/vmlinuz init=/bin/sh",
	    21);
	q.pcrs = avt_evlog_pcrs(l);
	q.evlog = avt_evlog_bytes(l, &q.evlog_len);
	json_object_set_new(sec, "kernel_cmdline", json_pack("{s:s}", "exact",
	    "/vmlinuz ro"));
	pol = policy(sec);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "measurement_mismatch");
	assert_int_equal(json_array_size(claim(r, "event_log",
	    "kernel_cmdline", NULL)), 0);
	av_result_free(r);
	av_policy_free(pol);
	avt_evlog_free(l);
}

static void
t_eventlog_sha1(void **state)
{
	struct avt_evlog	*l = boot_log(true, 0);
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct av_result	*r;

	(void)state;
	q.pcrs = avt_evlog_pcrs(l);
	q.spec.sel[AVT_SHA1] = 0x1ff;
	q.evlog = avt_evlog_bytes(l, &q.evlog_len);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(json_string_value(claim(r, "event_log", "format",
	    NULL)), "sha1");
	assert_true(json_is_true(claim(r, "event_log", "secure_boot", NULL)));
	av_result_free(r);
	av_policy_free(pol);
	avt_evlog_free(l);
}

/* Hostile logs straight into the parser. */
static void
t_eventlog_parse(void **state)
{
	struct avt_evlog	*l = boot_log(false, 3);
	struct tpm_evlog	*out = NULL;
	struct av_err		 e = { 0 };
	const uint8_t		*p;
	uint8_t			*b;
	size_t			 n;

	(void)state;
	p = avt_evlog_bytes(l, &n);
	assert_int_equal(tpm_evlog_parse(p, n, &out, &e), 0);
	assert_true(out->crypto_agile);
	assert_int_equal(out->locality, 3);
	tpm_evlog_free(out);
	/* every truncation fails cleanly */
	for (size_t cut = 1; cut < n; cut++) {
		out = NULL;
		if (tpm_evlog_parse(p, cut, &out, &e) == 0) {
			/* a cut at an event boundary is a shorter valid log */
			tpm_evlog_free(out);
			continue;
		}
		assert_null(out);
		assert_int_equal(e.code, AV_E_MALFORMED);
	}
	b = malloc(n + 64);
	memcpy(b, p, n);
	/* zero and 0xff padding of a log area is accepted */
	memset(b + n, 0, 64);
	assert_int_equal(tpm_evlog_parse(b, n + 64, &out, &e), 0);
	tpm_evlog_free(out);
	memset(b + n, 0xff, 64);
	assert_int_equal(tpm_evlog_parse(b, n + 64, &out, &e), 0);
	tpm_evlog_free(out);
	/* garbage after the last event is not */
	memset(b + n, 0x41, 64);
	assert_int_equal(tpm_evlog_parse(b, n + 64, &out, &e), -1);
	assert_int_equal(e.code, AV_E_MALFORMED);
	memset(b + n, 0x00, 64);
	b[n + 63] = 1;
	assert_int_equal(tpm_evlog_parse(b, n + 64, &out, &e), -1);
	assert_string_equal(e.reason, "tpm: event log truncated");
	/* Spec ID: numberOfAlgorithms at offset 32+24 = 56 */
	memcpy(b, p, n);
	b[56] = 200;
	assert_int_equal(tpm_evlog_parse(b, n, &out, &e), -1);
	assert_string_equal(e.reason,
	    "tpm: event log declares no or too many algorithms");
	/* Spec ID: SHA-256 declared with size 33 (offset 60 + 4 + 2) */
	memcpy(b, p, n);
	b[66] = 33;
	assert_int_equal(tpm_evlog_parse(b, n, &out, &e), -1);
	/* first TCG_PCR_EVENT2: digest count > algorithms declared */
	memcpy(b, p, n);
	{
		size_t first = 32 + 16 + 4 + 4 + 4 + 12 + 1;	/* = 73 */

		b[first + 8] = 9;
		assert_int_equal(tpm_evlog_parse(b, n, &out, &e), -1);
		assert_string_equal(e.reason, "tpm: event carries more "
		    "digests than the log declares");
		memcpy(b, p, n);
		b[first + 12] = 0x12;	/* hashAlg SM3 (not declared) */
		b[first + 13] = 0x00;
		assert_int_equal(tpm_evlog_parse(b, n, &out, &e), -1);
		assert_string_equal(e.reason, "tpm: event digest algorithm "
		    "not declared by the log");
	}
	assert_int_equal(tpm_evlog_parse(NULL, 0, &out, &e), -1);
	free(b);
	avt_evlog_free(l);
}

/* ---- envelopes ---------------------------------------------------------- */

/* The whole evidence as one JSON document in "data" ("quote" key). */
static void
t_document_form(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	json_t			*it = item(&q), *doc, *body;
	char			*s;
	struct av_result	*r;

	(void)state;
	doc = json_deep_copy(it);
	json_object_set(doc, "quote", json_object_get(it, "data"));
	json_object_del(doc, "data");
	json_object_del(doc, "type");
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	json_decref(it);
	it = json_object();
	json_object_set_new(it, "type", json_string("tpm"));
	set_b64(it, "data", (const uint8_t *)s, strlen(s));
	/* detected without a type, too */
	body = json_pack("{s:[{s:s%}]}", "evidence", "data", s, strlen(s));
	free(s);
	r = run(it, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(json_string_value(claim(r, "format", NULL)),
	    "attestd");
	av_result_free(r);
	(void)body;
	json_decref(body);
	av_policy_free(pol);
}

/* Trustee's tpm evidence: ak_public + tpm_quote{signature,message,pcrs}. */
static void
t_trustee_form(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	json_t			*it = item(&q), *doc, *pcrs, *out;
	char			*s, *h;
	struct av_result	*r;
	uint8_t			 x[64] = { 0 };

	(void)state;
	json_decref(it);
	memcpy(x, F->nonce, 32);
	q.spec.nonce = x;
	q.spec.nonce_len = 64;
	it = item(&q);
	pcrs = json_array();
	for (unsigned i = 0; i < 24; i++) {
		h = hex(F->pcrs.v[AVT_SHA256][i], 32);
		json_array_append_new(pcrs, json_string(h));
		free(h);
	}
	doc = json_pack("{s:s, s:s, s:O, s:{s:O, s:O, s:o}}", "svn", "1",
	    "report_data", "AA==", "ak_public", json_object_get(it, "ak_pub"),
	    "tpm_quote", "signature", json_object_get(it, "signature"),
	    "message", json_object_get(it, "data"), "pcrs", pcrs);
	s = json_dumps(doc, JSON_COMPACT);
	out = json_object();
	json_object_set_new(out, "type", json_string("tpm"));
	set_b64(out, "data", (const uint8_t *)s, strlen(s));
	r = run(out, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	assert_string_equal(json_string_value(claim(r, "format", NULL)),
	    "trustee-tpm");
	av_result_free(r);
	/* detection picks "tpm" for this document */
	assert_true(av_backend_find("tpm")->detect((const uint8_t *)s,
	    strlen(s)));
	free(s);
	json_decref(doc);
	json_decref(it);
	av_policy_free(pol);
}

/* ---- gce-tpm: go-tpm-tools Attestation ---------------------------------- */

/*
 * An Attestation of two quotes (SHA-1 and SHA-256 banks of a boot log)
 * by F->rsa, with an AK certificate from ca (NULL: none).
 */
static uint8_t *
gce_doc(struct avt_evlog *l, X509 *ca, EVP_PKEY *ca_key, bool bad_sig,
    size_t *len)
{
	struct avt_quote_spec	 s1 = { .sig_hash = TPM2_ALG_SHA256 };
	struct avt_quote_spec	 s2 = { .sig_hash = TPM2_ALG_SHA256 };
	struct avt_gce_quote	 q[2];
	struct avt_cert_spec	 cs = { .cn = "gce test AK",
	    .not_before = T0 - 3600, .not_after = T0 + 3600,
	    .md = EVP_sha256() };
	const struct avt_pcrs	*p = avt_evlog_pcrs(l);
	uint8_t			*m1, *m2, *g1, *g2, *pub, *der = NULL, *out;
	size_t			 l1, l2, gl1, gl2, pl, dl = 0, evn;
	const uint8_t		*ev = avt_evlog_bytes(l, &evn);
	X509			*leaf = NULL;

	s1.sel[AVT_SHA1] = s2.sel[AVT_SHA256] = ALL24;
	m1 = avt_tpm_attest(&s1, p, &l1);
	m2 = avt_tpm_attest(&s2, p, &l2);
	g1 = avt_tpm_sign(F->rsa, AVT_RSASSA, TPM2_ALG_SHA256, m1, l1, &gl1);
	g2 = avt_tpm_sign(F->rsa, AVT_RSASSA, TPM2_ALG_SHA256, m2, l2, &gl2);
	if (bad_sig)
		g2[gl2 - 1] ^= 1;
	pub = avt_tpm_public(F->rsa, true, &pl);
	q[0] = (struct avt_gce_quote){ m1, l1, g1, gl1, AVT_SHA1, ALL24, p };
	q[1] = (struct avt_gce_quote){ m2, l2, g2, gl2, AVT_SHA256, ALL24, p };
	if (ca != NULL) {
		leaf = avt_cert_new(&cs, F->rsa, ca, ca_key);
		der = avt_cert_der(leaf, &dl);
	}
	/* ak_pub is a bare TPMT_PUBLIC: skip TPM2B_PUBLIC's size */
	out = avt_gce_attestation(pub + 2, pl - 2, q, 2, ev, evn, der, dl,
	    len);
	X509_free(leaf);
	free(m1);
	free(m2);
	free(g1);
	free(g2);
	free(pub);
	free(der);
	return out;
}

static struct av_result *
run_raw(const char *type, const uint8_t *p, size_t n,
    const struct av_policy *pol)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust };

	assert_int_equal(av_request_from_raw(type, p, n, &req, &e), 0);
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	av_request_free(req);
	return res;
}

static void
t_gce(void **state)
{
	struct avt_evlog	*l = boot_log(false, 0);
	struct av_policy	*pol;
	struct av_result	*r;
	uint8_t			*d;
	size_t			 n;

	(void)state;
	d = gce_doc(l, F->ca, F->ca_key, false, &n);
	/* detected without a declared type */
	r = run_raw(NULL, d, n, NULL);
	expect(r, AV_STATUS_WARNING, "no_reference_values");
	assert_string_equal(json_string_value(claim(r, "format", NULL)),
	    "gce-tpm");
	assert_string_equal(json_string_value(json_array_get(claim(r, "ak",
	    "trust", NULL), 0)), "certificate");
	assert_non_null(claim(r, "pcrs", "sha1", "23", NULL));
	assert_non_null(claim(r, "pcrs", "sha256", "0", NULL));
	assert_true(json_is_true(claim(r, "event_log", "secure_boot", NULL)));
	assert_int_equal(json_array_size(claim(r, "quotes", NULL)), 2);
	av_result_free(r);
	/* the "tpm" policy keys, as a "gce-tpm" section */
	{
		struct av_policy_err	 perr = { 0 };
		json_t			*doc = json_pack("{s:s, s:i, s:{s:o}}",
		    "id", "gce", "version", 1, "evidence", "gce-tpm",
		    json_pack("{s:s, s:b, s:{s:[s]}}", "ak_trust",
		    "certificate", "secure_boot", 1, "kernel_cmdline",
		    "prefix", "/vmlinuz "));

		assert_int_equal(av_policy_compile(doc, &pol, &perr), 0);
		json_decref(doc);
	}
	r = run_raw("gce-tpm", d, n, pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	free(d);
	/* an AK certificate from an untrusted CA */
	d = gce_doc(l, F->rogue, F->rogue_key, false, &n);
	r = run_raw("gce-tpm", d, n, NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "untrusted_root");
	av_result_free(r);
	free(d);
	/* no certificate at all, no enrolment */
	d = gce_doc(l, NULL, NULL, false, &n);
	r = run_raw("gce-tpm", d, n, NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	free(d);
	/* a bad signature on the second quote */
	d = gce_doc(l, F->ca, F->ca_key, true, &n);
	r = run_raw("gce-tpm", d, n, NULL);
	expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
	av_result_free(r);
	/* truncated protobuf */
	for (size_t cut = 1; cut < n; cut += n / 9) {
		r = run_raw("gce-tpm", d, cut, NULL);
		expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
		av_result_free(r);
	}
	free(d);
	avt_evlog_free(l);
}

/* AV_TPM_REGEN_SEEDS=1: a synthetic gce-tpm attestation as a fuzz seed. */
static void
t_regen_gce_seed(void **state)
{
	const char		*src = getenv("AV_SOURCE_DIR");
	const char		*regen = getenv("AV_TPM_REGEN_SEEDS");
	struct avt_evlog	*l;
	uint8_t			*d;
	size_t			 n;
	char			 p[1200];
	FILE			*f;

	(void)state;
	if (regen == NULL || strcmp(regen, "1") != 0 || src == NULL)
		skip();
	l = boot_log(false, 0);
	d = gce_doc(l, F->ca, F->ca_key, false, &n);
	snprintf(p, sizeof(p), "%s/evidence/tpm/gce-synthetic.pb", src);
	assert_non_null(f = fopen(p, "wb"));
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
	free(d);
	avt_evlog_free(l);
}

/* ---- policy compilation ------------------------------------------------- */

static void
bad_policy(json_t *sec, const char *path)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;

	doc = json_pack("{s:s, s:i, s:{s:o}}", "id", "t", "version", 1,
	    "evidence", "tpm", sec);
	assert_int_equal(av_policy_compile(doc, &p, &perr), -1);
	if (strcmp(perr.path, path) != 0)
		fail_msg("path %s (%s), expected %s", perr.path, perr.reason,
		    path);
	json_decref(doc);
}

static void
t_policy_errors(void **state)
{
	(void)state;
	bad_policy(json_pack("{s:i}", "pcr0", 1), "evidence.tpm.pcr0");
	bad_policy(json_pack("{s:{s:{s:s}}}", "pcrs", "sha256", "0", "00"),
	    "evidence.tpm.pcrs.sha256.0");
	bad_policy(json_pack("{s:{s:{s:s}}}", "pcrs", "md5", "0", "00"),
	    "evidence.tpm.pcrs.md5");
	bad_policy(json_pack("{s:{s:{s:s}}}", "pcrs", "sha1", "24",
	    "0000000000000000000000000000000000000000"),
	    "evidence.tpm.pcrs.sha1.24");
	bad_policy(json_pack("{s:{s:{s:s}}}", "pcrs", "sha1", "07",
	    "0000000000000000000000000000000000000000"),
	    "evidence.tpm.pcrs.sha1.07");
	bad_policy(json_pack("{s:[s]}", "enrolled_aks", "abcd"),
	    "evidence.tpm.enrolled_aks[0]");
	bad_policy(json_pack("{s:s}", "ak_trust", "hcl"),
	    "evidence.tpm.ak_trust");
	bad_policy(json_pack("{s:[]}", "ak_trust"), "evidence.tpm.ak_trust");
	bad_policy(json_pack("{s:s}", "secure_boot", "yes"),
	    "evidence.tpm.secure_boot");
	bad_policy(json_pack("{s:[s]}", "boot_apps", "0011"),
	    "evidence.tpm.boot_apps");
	bad_policy(json_pack("{s:{s:s}}", "kernel_cmdline", "regex", ".*"),
	    "evidence.tpm.kernel_cmdline.regex");
	bad_policy(json_pack("{s:{}}", "kernel_cmdline"),
	    "evidence.tpm.kernel_cmdline");
	bad_policy(json_pack("{s:{}}", "sev-snp"), "evidence.tpm.sev-snp");
	/* qualified names: nameAlg || digest of its size, hex, one length */
	bad_policy(json_pack("{s:[s]}", "qualified_signers", "000b00"),
	    "evidence.tpm.qualified_signers[0]");
	bad_policy(json_pack("{s:[s]}", "qualified_signers", "00ff"
	    "000000000000000000000000000000000000000000000000000000000000"
	    "0000"), "evidence.tpm.qualified_signers[0]");
	bad_policy(json_pack("{s:s}", "qualified_signers", "000b"
	    "000000000000000000000000000000000000000000000000000000000000"
	    "00zz"), "evidence.tpm.qualified_signers");
	bad_policy(json_pack("{s:[]}", "qualified_signers"),
	    "evidence.tpm.qualified_signers");
	bad_policy(json_pack("{s:[s, s]}", "qualified_signers", "000b"
	    "000000000000000000000000000000000000000000000000000000000000"
	    "0000", "0004" "0000000000000000000000000000000000000000"),
	    "evidence.tpm.qualified_signers[1]");
}

/* ---- qualifiedSigner ----------------------------------------------------- */

/* A qualified name: nameAlg SHA-256 and 32 bytes of v. */
static void
qname(uint8_t out[34], uint8_t v)
{
	out[0] = 0x00;
	out[1] = 0x0b;
	memset(out + 2, v, 32);
}

/* A policy enrolling key and listing the qualified names given. */
static struct av_policy *
qsigner_policy(EVP_PKEY *key, const uint8_t (*names)[34], size_t n)
{
	json_t	*sec = enrolled(key), *l = json_array();
	char	*h;

	for (size_t i = 0; i < n; i++) {
		h = hex(names[i], 34);
		json_array_append_new(l, json_string(h));
		free(h);
	}
	json_object_set_new(sec, "qualified_signers", l);
	return policy(sec);
}

static void
t_qualified_signer(void **state)
{
	uint8_t			 names[2][34], mine[34];
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol;
	struct av_result	*r;
	const json_t		*rs;
	char			*h;

	(void)state;
	qname(mine, 0x5a);		/* what the test signer puts there */
	qname(names[0], 0x11);
	qname(names[1], 0x5a);
	/* listed (second of two): affirming, the claim shows it */
	pol = qsigner_policy(F->rsa, names, 2);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	h = hex(mine, 34);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    claim(r, "quotes", NULL), 0), "qualified_signer")), h);
	free(h);
	av_result_free(r);
	av_policy_free(pol);
	/* not listed: contraindicated, ak_untrusted, expected and actual */
	pol = qsigner_policy(F->rsa, names, 1);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	rs = json_array_get(r->submods[0].reasons, 0);
	assert_string_equal(json_string_value(json_object_get(rs, "claim")),
	    "quotes.0.qualified_signer");
	h = hex(names[0], 34);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    rs, "expected"), 0)), h);
	free(h);
	h = hex(mine, 34);
	assert_string_equal(json_string_value(json_object_get(rs, "actual")),
	    h);
	free(h);
	/* an AK the policy does not recognise: instance unrecognised */
	assert_int_equal(r->submods[0].tv[AV_TV_INSTANCE], AV_AR_UNRECOGNIZED);
	av_result_free(r);
	/* a quote carrying the listed name passes the same policy */
	q = (struct q){ .key = F->rsa, .sig = AVT_RSASSA,
	    .qsigner = names[0], .qsigner_len = 34 };
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
	/* absent from the policy: not checked, any name passes */
	pol = policy(enrolled(F->rsa));
	q = (struct q){ .key = F->rsa, .sig = AVT_RSASSA,
	    .qsigner = names[0], .qsigner_len = 34 };
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
}

/*
 * With the AK's TPMT_PUBLIC known, a qualifiedSigner that is not a name
 * of the AK's nameAlg (SHA-256 here) cannot come from that AK: fatal.
 */
static void
t_qualified_signer_alg(void **state)
{
	static const uint8_t	 sha1name[22] = { 0x00, 0x04 };
	static const uint8_t	 shortname[10] = { 0x00, 0x0b };
	static const uint8_t	 handle[4] = { 0x40, 0x00, 0x00, 0x01 };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_result	*r;

	(void)state;
	q.qsigner = sha1name;
	q.qsigner_len = sizeof(sha1name);
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	assert_int_equal(json_array_size(r->submods[0].reasons), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    r->submods[0].reasons, 0), "message")), "tpm: the quote's "
	    "qualifiedSigner is not a name of the AK's name algorithm");
	av_result_free(r);
	q = (struct q){ .key = F->rsa, .sig = AVT_RSASSA,
	    .qsigner = shortname, .qsigner_len = sizeof(shortname) };
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	q = (struct q){ .key = F->rsa, .sig = AVT_RSASSA,
	    .qsigner = handle, .qsigner_len = sizeof(handle) };
	r = run(item(&q), pol);
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	/* an AK as PEM (no TPMT_PUBLIC): nothing to compare with */
	q = (struct q){ .key = F->rsa, .sig = AVT_RSASSA, .ak_pem = true,
	    .qsigner = sha1name, .qsigner_len = sizeof(sha1name) };
	r = run(item(&q), pol);
	expect(r, AV_STATUS_AFFIRMING, NULL);
	av_result_free(r);
	av_policy_free(pol);
}

/* ---- per-quote fast paths ------------------------------------------------ */

/* PCR values in the request: the exact reason for each kind of bad hex. */
static void
t_pcr_hex(void **state)
{
	static const struct {
		const char	*v;
		const char	*why;
	} cases[] = {
		{ "0", "tpm: PCR value is not hex" },
		{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
		    "tpm: PCR value is not hex" },
		{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeXf",
		    "tpm: PCR value is not hex" },
		{ "zz", "tpm: PCR value is not hex" },
		{ "0011", "tpm: PCR value length differs from its bank's "
		    "digest" },
		{ "", "tpm: PCR value length differs from its bank's digest" },
	};
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t			*it = item(&q);
		struct av_result	*r;
		const json_t		*rs;

		json_object_set_new(json_object_get(json_object_get(it, "pcrs"),
		    "sha256"), "7", json_string(cases[i].v));
		r = run(it, pol);
		expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
		rs = json_array_get(r->submods[0].reasons, 0);
		assert_string_equal(json_string_value(json_object_get(rs,
		    "message")), cases[i].why);
		av_result_free(r);
	}
	/* upper-case hex is hex */
	{
		json_t			*it = item(&q);
		struct av_result	*r;
		char			*h = hex(F->pcrs.v[AVT_SHA256][7], 32);

		for (char *c = h; *c != '\0'; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 'a' + 'A');
		json_object_set_new(json_object_get(json_object_get(it, "pcrs"),
		    "sha256"), "7", json_string(h));
		free(h);
		r = run(it, pol);
		expect(r, AV_STATUS_AFFIRMING, NULL);
		av_result_free(r);
	}
	av_policy_free(pol);
}

/* item's sha256 PCR idx as the request text (borrowed) */
static json_t *
pcr_text(json_t *it, const char *idx)
{
	return json_object_get(json_object_get(json_object_get(it, "pcrs"),
	    "sha256"), idx);
}

/* Run it with pol and check the status, reason message and PCR 7 claim. */
static void
run_text(json_t *it, const struct av_policy *pol, enum av_status st,
    const char *why, const char *pcr7)
{
	struct av_result	*r = run(it, pol);
	const json_t		*rs;

	expect(r, st, NULL);
	rs = json_array_get(r->submods[0].reasons, 0);
	if (why != NULL)
		assert_string_equal(json_string_value(json_object_get(rs,
		    "message")), why);
	if (pcr7 != NULL)
		assert_string_equal(json_string_value(claim(r, "pcrs",
		    "sha256", "7", NULL)), pcr7);
	av_result_free(r);
}

/*
 * Decoded PCR banks are remembered by their text (tpm.c): the same text
 * decodes the same (twice in a row, a hit the second time); the same
 * values spelled otherwise (upper case, another key order) decode to the
 * same values; the same values under other indices are other PCRs; a
 * bank that failed is not remembered and fails again, with its reason.
 */
static void
t_pcr_text(void **state)
{
	struct q		 q = { .key = F->rsa, .sig = AVT_RSASSA };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	char			*h7 = hex(F->pcrs.v[AVT_SHA256][7], 32);
	char			*h8 = hex(F->pcrs.v[AVT_SHA256][8], 32);
	char			*up = strdup(h7);
	json_t			*it, *bank, *rev;

	(void)state;
	assert_non_null(up);
	for (char *c = up; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	/* the same text twice */
	run_text(item(&q), pol, AV_STATUS_AFFIRMING, NULL, h7);
	run_text(item(&q), pol, AV_STATUS_AFFIRMING, NULL, h7);
	/* upper case: other text, same values, twice */
	for (int k2 = 0; k2 < 2; k2++) {
		it = item(&q);
		json_string_set(pcr_text(it, "7"), up);
		run_text(it, pol, AV_STATUS_AFFIRMING, NULL, h7);
	}
	/* the keys in reverse order */
	it = item(&q);
	bank = json_object_get(json_object_get(it, "pcrs"), "sha256");
	rev = json_object();
	for (int i = 23; i >= 0; i--) {
		char idx[4];

		snprintf(idx, sizeof(idx), "%d", i);
		json_object_set(rev, idx, json_object_get(bank, idx));
	}
	json_object_set_new(json_object_get(it, "pcrs"), "sha256", rev);
	run_text(it, pol, AV_STATUS_AFFIRMING, NULL, h7);
	/* PCRs 7 and 8 swapped: the same strings, other PCRs */
	for (int k2 = 0; k2 < 2; k2++) {
		it = item(&q);
		json_string_set(pcr_text(it, "7"), h8);
		json_string_set(pcr_text(it, "8"), h7);
		run_text(it, pol, AV_STATUS_CONTRAINDICATED,
		    "tpm: PCR values do not match the quoted PCR digest",
		    NULL);
	}
	/* failures are not remembered: the same bad text fails again */
	for (int k2 = 0; k2 < 2; k2++) {
		it = item(&q);
		json_string_set(pcr_text(it, "7"), "zz");
		run_text(it, pol, AV_STATUS_CONTRAINDICATED,
		    "tpm: PCR value is not hex", NULL);
		it = item(&q);
		bank = json_object_get(json_object_get(it, "pcrs"), "sha256");
		json_object_set(bank, "07", pcr_text(it, "7"));
		run_text(it, pol, AV_STATUS_CONTRAINDICATED,
		    "tpm: PCR index must be 0 to 23", NULL);
	}
	/* the good text still decodes as before */
	run_text(item(&q), pol, AV_STATUS_AFFIRMING, NULL, h7);
	free(h7);
	free(h8);
	free(up);
	av_policy_free(pol);
}

/*
 * A quote by F->rsa whose one SHA-256 selection is the 4-byte bitmap sel
 * (PCRs 24..31 in its last byte), with the evidence carrying the PCRs of
 * mask; the quote's PCR digest is never reached.
 */
static json_t *
item_sel(const uint8_t sel[4], uint32_t mask)
{
	TPMS_ATTEST		 a;
	TPMS_PCR_SELECTION	*ps;
	uint8_t			 buf[sizeof(TPMS_ATTEST)], *sig, *pub;
	size_t			 off = 0, sl, pl;
	uint32_t		 masks[AVT_NBANKS] = { 0 };
	json_t			*it = json_object();

	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.extraData.size = sizeof(F->nonce);
	memcpy(a.extraData.buffer, F->nonce, sizeof(F->nonce));
	a.attested.quote.pcrSelect.count = 1;
	ps = &a.attested.quote.pcrSelect.pcrSelections[0];
	ps->hash = TPM2_ALG_SHA256;
	ps->sizeofSelect = 4;
	memcpy(ps->pcrSelect, sel, 4);
	a.attested.quote.pcrDigest.size = 32;
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&a, buf, sizeof(buf),
	    &off), TSS2_RC_SUCCESS);
	assert_non_null(sig = avt_tpm_sign(F->rsa, AVT_RSASSA,
	    TPM2_ALG_SHA256, buf, off, &sl));
	assert_non_null(pub = avt_tpm_public(F->rsa, true, &pl));
	masks[AVT_SHA256] = mask;
	json_object_set_new(it, "type", json_string("tpm"));
	set_b64(it, "data", buf, off);
	set_b64(it, "signature", sig, sl);
	set_b64(it, "ak_pub", pub, pl);
	json_object_set_new(it, "pcrs", pcrs_json(&F->pcrs, masks));
	free(sig);
	free(pub);
	return it;
}

/*
 * The selection's errors in the order of its bits: a quoted PCR missing
 * from the evidence (below 24) comes before a selected PCR above 23.
 */
static void
t_pcr_selection(void **state)
{
	static const uint8_t	 high[4] = { 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t	 low[4] = { 0x08, 0x00, 0x00, 0x00 };
	struct av_policy	*pol = policy(enrolled(F->rsa));

	(void)state;
	run_text(item_sel(high, ALL24), pol, AV_STATUS_CONTRAINDICATED,
	    "tpm: quote selects a PCR above 23", NULL);
	run_text(item_sel(high, ALL24 & ~(1u << 3)), pol,
	    AV_STATUS_CONTRAINDICATED, "tpm: a quoted PCR value is missing "
	    "from the evidence", NULL);
	run_text(item_sel(low, 0x1), pol, AV_STATUS_CONTRAINDICATED,
	    "tpm: a quoted PCR value is missing from the evidence", NULL);
	/* all there: past the selection, to the digest */
	run_text(item_sel(low, ALL24), pol, AV_STATUS_CONTRAINDICATED,
	    "tpm: PCR values do not match the quoted PCR digest", NULL);
	av_policy_free(pol);
}

struct dumper {
	const struct av_policy	*pol;
	json_t			*items[4];	/* owned: this thread's copies */
	char			*want[4];	/* borrowed */
	int			*bad;		/* shared, atomic */
};

/* Verify and serialise the items' claims again and again. */
static void *
dump_loop(void *arg)
{
	struct dumper *d = arg;

	for (int k = 0; k < 300; k++) {
		struct av_request	*req = NULL;
		struct av_result	*res = NULL;
		struct av_err		 e = { 0 };
		struct av_env		 env = { .now = T0, .trust = F->trust };
		json_t			*body;
		char			*s, *n = b64(F->nonce, sizeof(F->nonce));

		body = json_pack("{s:[O], s:s}", "evidence", d->items[k % 4],
		    "nonce", n);
		free(n);
		if (av_request_from_json(body, &req, &e) != 0 ||
		    av_verify_request(&env, req, d->pol, &res, &e) != 0) {
			__atomic_add_fetch(d->bad, 1, __ATOMIC_RELAXED);
			json_decref(body);
			av_request_free(req);
			continue;
		}
		s = json_dumps(res->submods[0].claims, JSON_COMPACT);
		if (s == NULL || strcmp(s, d->want[k % 4]) != 0)
			__atomic_add_fetch(d->bad, 1, __ATOMIC_RELAXED);
		free(s);
		av_result_free(res);
		av_request_free(req);
		json_decref(body);
	}
	return NULL;
}

/*
 * The PCR value and selection claims are shared between quotes of the
 * same PCRs (tpm.c: built once, never changed): two quotes with other
 * nonces share them; other PCR values get their own; and claims read
 * and serialised on several threads at once stay what they were.
 */
static void
t_shared_claims(void **state)
{
	struct avt_pcrs		 other = F->pcrs;
	uint8_t			 n2[32];
	struct q		 q1 = { .key = F->rsa, .sig = AVT_RSASSA };
	struct q		 q2 = { .key = F->rsa, .sig = AVT_RSASSA };
	struct q		 q3 = { .key = F->rsa, .sig = AVT_RSASSA,
				     .pcrs = &other };
	struct av_policy	*pol = policy(enrolled(F->rsa));
	struct av_result	*r1, *r2, *r3;
	struct dumper		 d[4];
	json_t			*items[4];
	char			*want[4];
	pthread_t		 th[4];
	char			*h;
	int			 bad = 0;

	(void)state;
	memset(n2, 0x77, sizeof(n2));
	q2.spec.nonce = n2;
	q2.spec.nonce_len = sizeof(n2);
	memset(other.v[AVT_SHA256][3], 0xee, 32);
	r1 = run(item(&q1), pol);
	r2 = run_nonce(item(&q2), pol, n2, sizeof(n2), NULL, 0);
	r3 = run(item(&q3), pol);
	expect(r1, AV_STATUS_AFFIRMING, NULL);
	expect(r2, AV_STATUS_AFFIRMING, NULL);
	expect(r3, AV_STATUS_AFFIRMING, NULL);
	assert_ptr_equal(claim(r1, "pcrs", "sha256", NULL),
	    claim(r2, "pcrs", "sha256", NULL));
	assert_ptr_equal(json_object_get(json_array_get(claim(r1, "quotes",
	    NULL), 0), "pcr_selection"), json_object_get(json_array_get(
	    claim(r2, "quotes", NULL), 0), "pcr_selection"));
	assert_ptr_not_equal(claim(r1, "pcrs", "sha256", NULL),
	    claim(r3, "pcrs", "sha256", NULL));
	assert_ptr_equal(claim(r1, "ak", NULL), claim(r2, "ak", NULL));
	assert_false(json_equal(claim(r1, "extra_data", NULL),
	    claim(r2, "extra_data", NULL)));
	h = hex(other.v[AVT_SHA256][3], 32);
	assert_string_equal(json_string_value(claim(r3, "pcrs", "sha256", "3",
	    NULL)), h);
	free(h);
	h = hex(F->pcrs.v[AVT_SHA256][3], 32);
	assert_string_equal(json_string_value(claim(r1, "pcrs", "sha256", "3",
	    NULL)), h);
	free(h);
	assert_int_equal(json_array_size(json_object_get(json_object_get(
	    json_array_get(claim(r1, "quotes", NULL), 0), "pcr_selection"),
	    "sha256")), 24);
	av_result_free(r2);
	av_result_free(r3);
	/*
	 * Four threads, four quotes (two PCR sets), claims as serialised.
	 * Each thread has its own copies of the request items: only what
	 * tpm.c shares is shared.
	 */
	for (int i = 0; i < 4; i++) {
		struct q qq = { .key = F->rsa, .sig = AVT_RSASSA,
		    .pcrs = (i % 2) ? &other : NULL };

		items[i] = item(&qq);
	}
	for (int i = 0; i < 4; i++) {
		struct av_result *r = run(json_deep_copy(items[i]), pol);

		want[i] = json_dumps(r->submods[0].claims, JSON_COMPACT);
		assert_non_null(want[i]);
		av_result_free(r);
	}
	for (int t = 0; t < 4; t++) {
		d[t].pol = pol;
		d[t].bad = &bad;
		for (int i = 0; i < 4; i++) {
			d[t].items[i] = json_deep_copy(items[i]);
			d[t].want[i] = want[i];
		}
	}
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_create(&th[t], NULL, dump_loop,
		    &d[t]), 0);
	for (int t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(bad, 0);
	/* nothing leaked or freed early: the first result still reads */
	assert_int_equal(json_object_size(claim(r1, "pcrs", "sha256", NULL)),
	    24);
	av_result_free(r1);
	for (int i = 0; i < 4; i++) {
		json_decref(items[i]);
		free(want[i]);
		for (int t = 0; t < 4; t++)
			json_decref(d[t].items[i]);
	}
	av_policy_free(pol);
}

/* ---- seeds -------------------------------------------------------------- */

/*
 * Every file under evidence/tpm/ must go through the parsers without a
 * crash; *.good.json items (our swtpm runs) parse.
 */
static void
t_seeds(void **state)
{
	const char		*src = getenv("AV_SOURCE_DIR");
	char			 dir[1024], path[1400];
	DIR			*d;
	struct dirent		*de;
	size_t			 ngood = 0;

	(void)state;
	if (src == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/evidence/tpm", src);
	if ((d = opendir(dir)) == NULL)
		skip();
	while ((de = readdir(d)) != NULL) {
		const struct av_backend	*b = av_backend_find("tpm");
		struct av_evidence	 ev = { 0 };
		struct av_err		 e = { 0 };
		json_t			*it;
		void			*parsed = NULL;
		uint8_t			*data;
		size_t			 n;

		if (strstr(de->d_name, ".good.json") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		it = json_load_file(path, 0, NULL);
		assert_non_null(it);
		assert_int_equal(av_b64_decode(json_string_value(
		    json_object_get(it, "data")), json_string_length(
		    json_object_get(it, "data")), &data, &n), 0);
		ev.data = data;
		ev.len = n;
		ev.item = it;
		if (b->parse(&ev, &parsed, &e) != 0)
			fail_msg("%s: %s", de->d_name, e.reason);
		b->free(parsed);
		free(data);
		json_decref(it);
		ngood++;
	}
	closedir(d);
	assert_true(ngood > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rsassa_sha256),
		cmocka_unit_test(t_rsassa_sha384),
		cmocka_unit_test(t_rsapss),
		cmocka_unit_test(t_ecdsa),
		cmocka_unit_test(t_multibank),
		cmocka_unit_test(t_ak_pem),
		cmocka_unit_test(t_spki),
		cmocka_unit_test(t_ak_cert),
		cmocka_unit_test(t_ak_cert_bad),
		cmocka_unit_test(t_untrusted_ak),
		cmocka_unit_test(t_unrestricted),
		cmocka_unit_test(t_wrong_ak),
		cmocka_unit_test(t_wrong_nonce),
		cmocka_unit_test(t_nonce_padded),
		cmocka_unit_test(t_binding),
		cmocka_unit_test(t_altered_pcr),
		cmocka_unit_test(t_policy_pcr_mismatch),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_magic_type),
		cmocka_unit_test(t_sha1_signature),
		cmocka_unit_test(t_eventlog),
		cmocka_unit_test(t_eventlog_policy),
		cmocka_unit_test(t_eventlog_mismatch),
		cmocka_unit_test(t_eventlog_unverified_string),
		cmocka_unit_test(t_eventlog_sha1),
		cmocka_unit_test(t_eventlog_parse),
		cmocka_unit_test(t_document_form),
		cmocka_unit_test(t_trustee_form),
		cmocka_unit_test(t_gce),
		cmocka_unit_test(t_regen_gce_seed),
		cmocka_unit_test(t_policy_errors),
		cmocka_unit_test(t_qualified_signer),
		cmocka_unit_test(t_qualified_signer_alg),
		cmocka_unit_test(t_pcr_hex),
		cmocka_unit_test(t_pcr_text),
		cmocka_unit_test(t_pcr_selection),
		cmocka_unit_test(t_shared_claims),
		cmocka_unit_test(t_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
