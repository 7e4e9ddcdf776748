/*
 * Unit tests: src/crypto (digests, raw ECDSA, X.509 parsing, trust
 * anchors, chain verification and its cache), with chains made at test
 * time by tests/lib/avt_pki.c, plus the real vendor chains of
 * ../shared/vectors when present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/log.h"
#include "avt_pki.h"

#define DAY	86400
#define T0	1750000000	/* 2025-06-15T15:06:40Z */
#define PLAT	"test-plat"
#define TDX_TCB_CHAIN	"tdx/certs/intel/tcb-info-issuer-chain-2025.pem"

/* root -> intermediate -> leaf, all valid [T0 - 365d, T0 + 365d]. */
struct pki {
	EVP_PKEY	*rk, *ik, *lk;
	X509		*root, *inter, *leaf;
	STACK_OF(X509)	*untrusted;	/* [inter] */
};

static X509 *
mk(const char *cn, bool ca, long serial, int64_t nb, int64_t na, bool pss,
    EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey)
{
	struct avt_cert_spec	sp = {
		.cn = cn, .not_before = nb, .not_after = na, .ca = ca,
		.serial = serial, .rsa_pss = pss,
	};
	X509	*x;

	x = avt_cert_new(&sp, pub, issuer, ikey);
	assert_non_null(x);
	return x;
}

static void
pki_make(struct pki *p, const char *rkind, const char *lkind, bool pss,
    int64_t leaf_nb, int64_t leaf_na)
{
	memset(p, 0, sizeof(*p));
	assert_non_null(p->rk = avt_key_new(rkind));
	assert_non_null(p->ik = avt_key_new(rkind));
	assert_non_null(p->lk = avt_key_new(lkind));
	p->root = mk("root", true, 1, T0 - 365 * DAY, T0 + 365 * DAY, pss,
	    p->rk, NULL, p->rk);
	p->inter = mk("inter", true, 2, T0 - 365 * DAY, T0 + 365 * DAY, pss,
	    p->ik, p->root, p->rk);
	p->leaf = mk("leaf", false, 3, leaf_nb, leaf_na, pss, p->lk,
	    p->inter, p->ik);
	assert_non_null(p->untrusted = sk_X509_new_null());
	assert_true(sk_X509_push(p->untrusted, p->inter) > 0);
}

static void
pki_free(struct pki *p)
{
	sk_X509_free(p->untrusted);	/* borrowed certs */
	X509_free(p->leaf);
	X509_free(p->inter);
	X509_free(p->root);
	EVP_PKEY_free(p->lk);
	EVP_PKEY_free(p->ik);
	EVP_PKEY_free(p->rk);
}

static struct av_trust *
trust_with_anchor(X509 *root)
{
	struct av_trust	*t;

	assert_non_null(t = av_trust_new());
	assert_int_equal(av_trust_add_anchor(t, PLAT, root), 0);
	return t;
}

static int
verify(struct av_trust *t, X509 *leaf, STACK_OF(X509) *u, int64_t at,
    struct av_err *e)
{
	struct av_chain_opts	o = { .platform = PLAT };

	av_err_clear(e);
	return av_chain_verify(t, leaf, u, at, &o, NULL, e);
}

/* ---- digests ------------------------------------------------------------ */

static void
test_digest(void **state)
{
	uint8_t	h[64], h2[64];
	char	*hex;

	(void)state;
	av_sha256((const uint8_t *)"abc", 3, h);
	hex = av_hex_encode(h, 32);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	free(hex);
	av_sha256(NULL, 0, h);
	hex = av_hex_encode(h, 32);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	free(hex);
	av_sha384((const uint8_t *)"abc", 3, h);
	assert_int_equal(av_digest(EVP_sha384(), (const uint8_t *)"abc", 3,
	    h2), 0);
	assert_memory_equal(h, h2, 48);
	av_sha512((const uint8_t *)"abc", 3, h);
	assert_int_equal(av_digest(EVP_sha512(), (const uint8_t *)"abc", 3,
	    h2), 0);
	assert_memory_equal(h, h2, 64);
	assert_int_equal(av_digest(EVP_sha256(), NULL, 1, h), -1);
	assert_int_equal(av_digest(NULL, (const uint8_t *)"a", 1, h), -1);
}

/* ---- raw ECDSA ---------------------------------------------------------- */

static void
ecdsa_case(const char *kind, const EVP_MD *md, size_t half)
{
	static const uint8_t	 msg[] = "attestd raw ECDSA test message";
	EVP_PKEY		*k, *rsa = NULL;
	uint8_t			*sig, dg[64], big[80];
	size_t			 len;
	struct av_err		 e;

	assert_non_null(k = avt_key_new(kind));
	assert_non_null(sig = avt_ecdsa_sign_rs(k, md, msg, sizeof(msg),
	    &len));
	assert_int_equal(len, 2 * half);

	/* good */
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg), sig,
	    half, sig + half, half, &e), 0);
	assert_int_equal(av_digest(md, msg, sizeof(msg), dg), 0);
	assert_int_equal(av_ecdsa_verify_rs_digest(k, dg,
	    (size_t)EVP_MD_get_size(md), sig, half, sig + half, half, &e), 0);

	/* leading zeros (as in SNP's 72-byte fields) are stripped */
	memset(big, 0, sizeof(big));
	memcpy(big + sizeof(big) - half, sig, half);
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg), big,
	    sizeof(big), sig + half, half, &e), 0);

	/* wrong message */
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg) - 1, sig,
	    half, sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);
	/* wrong signature */
	sig[half + 3] ^= 0x01;
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg), sig,
	    half, sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs_digest(k, dg,
	    (size_t)EVP_MD_get_size(md), sig, half, sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);
	sig[half + 3] ^= 0x01;

	/* oversized r: one non-zero byte longer than the order */
	memset(big, 0x41, sizeof(big));
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg), big,
	    half + 1, sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);
	/* r = 0 */
	memset(big, 0, sizeof(big));
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg), big,
	    half, sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);
	/* empty s */
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(k, md, msg, sizeof(msg), sig,
	    half, NULL, 0, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);

	/* not an EC key */
	assert_non_null(rsa = avt_key_new("RSA-2048"));
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(rsa, md, msg, sizeof(msg), sig,
	    half, sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_UNSUPPORTED_ALG);
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs_digest(rsa, dg, 32, sig, half,
	    sig + half, half, &e), -1);
	assert_int_equal(e.code, AV_E_UNSUPPORTED_ALG);

	EVP_PKEY_free(rsa);
	free(sig);
	EVP_PKEY_free(k);
}

static void
test_ecdsa_p256(void **state)
{
	(void)state;
	ecdsa_case("P-256", EVP_sha256(), 32);
}

static void
test_ecdsa_p384(void **state)
{
	(void)state;
	ecdsa_case("P-384", EVP_sha384(), 48);
}

static void
test_ecdsa_wrong_key(void **state)
{
	static const uint8_t	 msg[] = "m";
	EVP_PKEY		*k1, *k2;
	uint8_t			*sig;
	size_t			 len;
	struct av_err		 e;

	(void)state;
	assert_non_null(k1 = avt_key_new("P-256"));
	assert_non_null(k2 = avt_key_new("P-256"));
	assert_non_null(sig = avt_ecdsa_sign_rs(k1, EVP_sha256(), msg, 1,
	    &len));
	av_err_clear(&e);
	assert_int_equal(av_ecdsa_verify_rs(k2, EVP_sha256(), msg, 1, sig,
	    32, sig + 32, 32, &e), -1);
	assert_int_equal(e.code, AV_E_SIGNATURE);
	free(sig);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

static void
test_ec_pubkey_from_raw(void **state)
{
	static const uint8_t	 msg[] = "raw key";
	EVP_PKEY		*k, *pk;
	uint8_t			 pt[200], *sig;
	size_t			 ptlen, len;
	struct av_err		 e;

	(void)state;
	assert_non_null(k = avt_key_new("P-384"));
	assert_int_equal(EVP_PKEY_get_octet_string_param(k,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &ptlen), 1);
	assert_int_equal(ptlen, 97);
	assert_int_equal(pt[0], 0x04);
	assert_non_null(sig = avt_ecdsa_sign_rs(k, EVP_sha384(), msg,
	    sizeof(msg), &len));

	/* 0x04 || X || Y */
	assert_non_null(pk = av_ec_pubkey_from_raw("P-384", pt, ptlen));
	assert_int_equal(av_ecdsa_verify_rs(pk, EVP_sha384(), msg,
	    sizeof(msg), sig, 48, sig + 48, 48, &e), 0);
	EVP_PKEY_free(pk);
	/* X || Y */
	assert_non_null(pk = av_ec_pubkey_from_raw("P-384", pt + 1, 96));
	assert_int_equal(av_ecdsa_verify_rs(pk, EVP_sha384(), msg,
	    sizeof(msg), sig, 48, sig + 48, 48, &e), 0);
	EVP_PKEY_free(pk);

	/* wrong curve, length, prefix, unknown curve, point off the curve */
	assert_null(av_ec_pubkey_from_raw("P-256", pt, ptlen));
	assert_null(av_ec_pubkey_from_raw("P-384", pt, ptlen - 1));
	pt[0] = 0x02;
	assert_null(av_ec_pubkey_from_raw("P-384", pt, ptlen));
	pt[0] = 0x04;
	assert_null(av_ec_pubkey_from_raw("brainpool", pt, ptlen));
	assert_null(av_ec_pubkey_from_raw(NULL, pt, ptlen));
	pt[ptlen - 1] ^= 0x01;
	assert_null(av_ec_pubkey_from_raw("P-384", pt, ptlen));

	free(sig);
	EVP_PKEY_free(k);
}

/* av_ec_is_curve: NIST and OpenSSL curve names; RSA, Ed25519, NULL. */
static void
test_ec_is_curve(void **state)
{
	EVP_PKEY	*p256, *p384, *rsa, *ed;

	(void)state;
	assert_non_null(p256 = avt_key_new("P-256"));
	assert_non_null(p384 = avt_key_new("P-384"));
	assert_non_null(rsa = avt_key_new("RSA-2048"));
	assert_non_null(ed = avt_key_new("ED25519"));
	assert_true(av_ec_is_curve(p384, "P-384"));
	assert_true(av_ec_is_curve(p384, "secp384r1"));
	assert_false(av_ec_is_curve(p384, "P-256"));
	assert_true(av_ec_is_curve(p256, "P-256"));
	assert_true(av_ec_is_curve(p256, "prime256v1"));
	assert_false(av_ec_is_curve(p256, "P-384"));
	assert_false(av_ec_is_curve(p256, "brainpool"));
	assert_false(av_ec_is_curve(p256, NULL));
	assert_false(av_ec_is_curve(rsa, "P-256"));
	assert_false(av_ec_is_curve(ed, "P-256"));
	assert_false(av_ec_is_curve(NULL, "P-384"));
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p256);
}

/* ASN.1 times and names: unix seconds, RFC 3339 and RFC 2253 JSON. */
static void
test_asn1_json(void **state)
{
	struct avt_cert_spec	 cs = { "asn1 test", 1751328000LL,
				    4102444800LL, true, 1, NULL, false };
	EVP_PKEY		*k;
	X509			*x;
	int64_t			 t = 0;
	json_t			*j;

	(void)state;
	assert_non_null(k = avt_key_new("P-256"));
	assert_non_null(x = avt_cert_new(&cs, k, NULL, k));
	assert_int_equal(av_asn1_time_unix(X509_get0_notBefore(x), &t), 0);
	assert_int_equal(t, 1751328000LL);	/* UTCTime */
	assert_int_equal(av_asn1_time_unix(X509_get0_notAfter(x), &t), 0);
	assert_int_equal(t, 4102444800LL);	/* 2100: GeneralizedTime */
	assert_int_equal(av_asn1_time_unix(NULL, &t), -1);
	assert_non_null(j = av_json_asn1_time(X509_get0_notBefore(x)));
	assert_string_equal(json_string_value(j), "2025-07-01T00:00:00Z");
	json_decref(j);
	assert_non_null(j = av_json_asn1_time(X509_get0_notAfter(x)));
	assert_string_equal(json_string_value(j), "2100-01-01T00:00:00Z");
	json_decref(j);
	assert_true(json_is_null(j = av_json_asn1_time(NULL)));
	json_decref(j);
	assert_non_null(j = av_json_x509_name(X509_get_subject_name(x)));
	assert_non_null(strstr(json_string_value(j), "CN=asn1 test"));
	json_decref(j);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* ---- X.509 parsing ------------------------------------------------------ */

static void
test_x509_parse(void **state)
{
	struct pki	 p;
	STACK_OF(X509)	*sk;
	uint8_t		*der, *buf, h[32], h2[32];
	size_t		 derlen, n;
	char		*pem1, *pem2;
	X509		*x;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	assert_non_null(der = avt_cert_der(p.leaf, &derlen));

	/* one DER certificate */
	assert_non_null(x = av_x509_from_der(der, derlen));
	assert_int_equal(X509_cmp(x, p.leaf), 0);
	assert_int_equal(av_x509_sha256(x, h), 0);
	av_sha256(der, derlen, h2);
	assert_memory_equal(h, h2, 32);
	X509_free(x);
	assert_non_null(sk = av_x509_parse_any(der, derlen));
	assert_int_equal(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);

	/* trailing byte, truncation, nothing */
	assert_non_null(buf = malloc(derlen + 1));
	memcpy(buf, der, derlen);
	buf[derlen] = 0;
	assert_null(av_x509_from_der(buf, derlen + 1));
	assert_null(av_x509_parse_any(buf, derlen + 1));
	assert_null(av_x509_from_der(der, derlen - 1));
	assert_null(av_x509_parse_any(der, derlen - 1));
	assert_null(av_x509_from_der(der, 0));
	assert_null(av_x509_from_der(NULL, 5));
	assert_null(av_x509_parse_any(NULL, 0));
	assert_null(av_x509_parse_any((const uint8_t *)"hello", 5));
	free(buf);

	/* two PEM blocks with text and NUL bytes around and between */
	assert_non_null(pem1 = avt_cert_pem(p.leaf));
	assert_non_null(pem2 = avt_cert_pem(p.inter));
	n = strlen(pem1) + strlen(pem2) + 64;
	assert_non_null(buf = calloc(1, n));
	memcpy(buf, "subject=leaf\n", 13);
	memcpy(buf + 13, pem1, strlen(pem1));
	buf[13 + strlen(pem1)] = '\0';		/* a NUL in between */
	memcpy(buf + 14 + strlen(pem1), "# comment\r\n", 11);
	memcpy(buf + 25 + strlen(pem1), pem2, strlen(pem2));
	/* the rest is NUL padding */
	assert_non_null(sk = av_x509_parse_any(buf, n));
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), p.leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), p.inter), 0);
	sk_X509_pop_free(sk, X509_free);

	/* text starting with '0' (0x30, like DER) before a PEM block */
	{
		size_t	 m = strlen(pem1) + 32;
		char	*txt = malloc(m);

		assert_non_null(txt);
		snprintf(txt, m, "0 s:CN=leaf\n%s", pem1);
		assert_non_null(sk = av_x509_parse_any((uint8_t *)txt,
		    strlen(txt)));
		assert_int_equal(sk_X509_num(sk), 1);
		sk_X509_pop_free(sk, X509_free);
		free(txt);
	}
	/* an unterminated last block fails the whole buffer */
	assert_null(av_x509_parse_any(buf, 25 + strlen(pem1) + 40));
	/* a corrupted body fails the whole buffer */
	buf[13 + 40] = '*';
	assert_null(av_x509_parse_any(buf, n));
	/* a block of valid base64 that is not a certificate */
	{
		const char *bad = "-----BEGIN CERTIFICATE-----\nAAAA\n"
		    "-----END CERTIFICATE-----\n";

		assert_null(av_x509_parse_any((const uint8_t *)bad,
		    strlen(bad)));
	}
	free(buf);
	free(pem1);
	free(pem2);
	free(der);
	pki_free(&p);
}

/* ---- trust anchors ------------------------------------------------------ */

static void
test_builtin_pins(void **state)
{
	struct av_trust		*t;
	const struct av_pin	*p;
	size_t			 n = 0, nsnp = 0;
	struct pki		 k;

	(void)state;
	for (p = av_builtin_pins; p->platform != NULL; p++, n++) {
		assert_non_null(p->name);
		assert_int_equal(strlen(p->sha256_hex), 64);
		assert_int_equal(strspn(p->sha256_hex, "0123456789abcdef"), 64);
		if (strcmp(p->platform, "sev-snp") == 0)
			nsnp++;
	}
	assert_true(n >= 7);
	assert_int_equal(nsnp, 3);
	assert_non_null(t = av_trust_new());
	assert_int_equal(av_trust_count(t, "aws-nitro"), 1);
	assert_int_equal(av_trust_count(t, "sev-snp"), 3);
	assert_int_equal(av_trust_count(t, "tdx"), 1);
	assert_int_equal(av_trust_count(t, "nvidia-gpu"), 1);
	assert_int_equal(av_trust_count(t, "nvidia-rim"), 1);
	assert_int_equal(av_trust_count(t, "no-such"), 0);
	assert_non_null(av_trust_anchors(t, "aws-nitro"));
	assert_int_equal(sk_X509_num(av_trust_anchors(t, "aws-nitro")), 0);
	assert_int_equal(sk_X509_num(av_trust_anchors(t, "no-such")), 0);

	pki_make(&k, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	assert_false(av_trust_is_anchor(t, "aws-nitro", k.root));
	assert_false(av_trust_is_anchor(t, PLAT, k.root));
	assert_int_equal(av_trust_add_anchor(t, PLAT, k.root), 0);
	assert_int_equal(av_trust_add_anchor(t, PLAT, k.root), 0); /* dup */
	assert_int_equal(av_trust_count(t, PLAT), 1);
	assert_true(av_trust_is_anchor(t, PLAT, k.root));
	assert_false(av_trust_is_anchor(t, "aws-nitro", k.root));
	assert_false(av_trust_is_anchor(t, PLAT, k.inter));
	assert_int_equal(av_trust_add_anchor(t, "", k.root), -1);
	assert_int_equal(av_trust_add_anchor(t, "a/b", k.root), -1);
	pki_free(&k);
	av_trust_free(t);
	av_trust_free(NULL);
}

/* ---- chains ------------------------------------------------------------- */

static void
test_chain_good_ec(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	struct av_chain_opts	 o = { .platform = PLAT };
	STACK_OF(X509)		*chain = NULL;
	struct av_err		 e;

	(void)state;
	pki_make(&p, "P-384", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    &chain, &e), 0);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 3);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), p.leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), p.inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 2), p.root), 0);
	sk_X509_pop_free(chain, X509_free);

	/* the anchor also given in the bundle (Nitro's cabundle does that) */
	assert_true(sk_X509_push(p.untrusted, p.root) > 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	/* other platforms do not trust it */
	o.platform = "aws-nitro";
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_good_rsa_pss(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	uint8_t			 h[32];
	struct av_err		 e;
	int			 nid;

	(void)state;
	/* AMD style: RSA-PSS SHA-384 CA certificates, P-384 leaf */
	pki_make(&p, "RSA-2048", "P-384", true, T0 - DAY, T0 + DAY);
	nid = X509_get_signature_nid(p.leaf);
	assert_int_equal(nid, EVP_PKEY_RSA_PSS);
	assert_int_equal(X509_get_signature_nid(p.root), EVP_PKEY_RSA_PSS);

	/* root pinned by fingerprint and arriving with the evidence */
	assert_non_null(t = av_trust_new());
	assert_int_equal(av_x509_sha256(p.root, h), 0);
	assert_int_equal(av_trust_add_pin(t, PLAT, h), 0);
	assert_true(av_trust_is_anchor(t, PLAT, p.root));
	assert_true(sk_X509_push(p.untrusted, p.root) > 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);

	/* a PSS signature that does not verify */
	{
		EVP_PKEY	*other = avt_key_new("RSA-2048");
		X509		*forged;

		assert_non_null(other);
		forged = mk("leaf", false, 3, T0 - DAY, T0 + DAY, true, p.lk,
		    p.inter, other);
		assert_int_equal(verify(t, forged, p.untrusted, T0, &e), -1);
		assert_int_equal(e.code, AV_E_CHAIN);
		X509_free(forged);
		EVP_PKEY_free(other);
	}
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_untrusted_root(void **state)
{
	struct pki		 p, q;
	struct av_trust		*t;
	struct av_err		 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	pki_make(&q, "P-256", "P-256", false, T0 - DAY, T0 + DAY);

	/* no anchor at all for the platform */
	assert_non_null(t = av_trust_new());
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	/* the root comes with the evidence but is not pinned */
	assert_true(sk_X509_push(p.untrusted, p.root) > 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	av_trust_free(t);

	/* anchors exist, but another root */
	t = trust_with_anchor(q.root);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	(void)sk_X509_pop(p.untrusted);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	/* the intermediate missing */
	assert_int_equal(verify(t, q.leaf, NULL, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	assert_int_equal(verify(t, q.leaf, q.untrusted, T0, &e), 0);
	/* a self-signed leaf that is not an anchor */
	assert_int_equal(verify(t, p.root, NULL, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	av_trust_free(t);
	pki_free(&q);
	pki_free(&p);
}

static void
test_chain_pinned_root(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	uint8_t			 h[32];
	struct av_err		 e;
	size_t			 before;

	(void)state;
	pki_make(&p, "P-384", "P-384", false, T0 - DAY, T0 + DAY);
	assert_non_null(t = av_trust_new());
	before = av_trust_count(t, PLAT);
	assert_int_equal(av_x509_sha256(p.root, h), 0);
	assert_int_equal(av_trust_add_pin(t, PLAT, h), 0);
	assert_int_equal(av_trust_add_pin(t, PLAT, h), 0);	/* dup */
	assert_int_equal(av_trust_count(t, PLAT), before + 1);
	assert_int_equal(av_trust_add_pin(t, NULL, h), -1);

	/* a pin without the certificate: nothing to anchor to */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	/* the pinned root arrives with the evidence */
	assert_true(sk_X509_push(p.untrusted, p.root) > 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	/* a pinned self-signed certificate verifies on its own */
	assert_int_equal(verify(t, p.root, NULL, T0, &e), 0);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_cert_time(void **state)
{
	struct pki	 p;
	struct av_trust	*t;
	struct av_err	 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - 10 * DAY, T0 - DAY);
	t = trust_with_anchor(p.root);
	/* expired leaf */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	assert_string_equal(av_code_str(e.code), "cert_time_invalid");
	/* valid earlier */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 - 2 * DAY, &e), 0);
	/* not yet valid */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 - 11 * DAY, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	/* the root itself out of its validity */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 - 400 * DAY, &e),
	    -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_bad_issuer_signature(void **state)
{
	struct pki	 p;
	struct av_trust	*t;
	EVP_PKEY	*evil;
	X509		*forged;
	STACK_OF(X509)	*u;
	struct av_err	 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	/* an intermediate naming the root as issuer, signed by another key */
	assert_non_null(evil = avt_key_new("P-256"));
	forged = mk("inter", true, 2, T0 - DAY, T0 + DAY, false, p.ik,
	    p.root, evil);
	assert_non_null(u = sk_X509_new_null());
	assert_true(sk_X509_push(u, forged) > 0);
	assert_int_equal(verify(t, p.leaf, u, T0, &e), -1);
	assert_int_equal(e.code, AV_E_CHAIN);
	assert_string_equal(av_code_str(e.code), "chain_invalid");
	sk_X509_free(u);
	X509_free(forged);
	EVP_PKEY_free(evil);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_non_ca_intermediate(void **state)
{
	struct pki	 p;
	struct av_trust	*t;
	X509		*inter, *leaf;
	STACK_OF(X509)	*u;
	struct av_err	 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	inter = mk("inter-not-ca", false, 5, T0 - DAY, T0 + DAY, false, p.ik,
	    p.root, p.rk);
	leaf = mk("leaf", false, 6, T0 - DAY, T0 + DAY, false, p.lk, inter,
	    p.ik);
	assert_non_null(u = sk_X509_new_null());
	assert_true(sk_X509_push(u, inter) > 0);
	assert_int_equal(verify(t, leaf, u, T0, &e), -1);
	assert_int_equal(e.code, AV_E_CHAIN);
	sk_X509_free(u);
	X509_free(leaf);
	X509_free(inter);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_depth(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	EVP_PKEY		*k2;
	X509			*i2, *leaf;
	STACK_OF(X509)		*u;
	struct av_chain_opts	 o = { .platform = PLAT, .max_depth = 1 };
	struct av_err		 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	assert_non_null(k2 = avt_key_new("P-256"));
	i2 = mk("inter2", true, 7, T0 - DAY, T0 + DAY, false, k2, p.inter,
	    p.ik);
	leaf = mk("leaf2", false, 8, T0 - DAY, T0 + DAY, false, p.lk, i2, k2);
	assert_non_null(u = sk_X509_new_null());
	assert_true(sk_X509_push(u, i2) > 0);
	assert_true(sk_X509_push(u, p.inter) > 0);
	assert_int_equal(verify(t, leaf, u, T0, &e), 0);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, leaf, u, T0, &o, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_CHAIN);
	o.max_depth = 2;
	assert_int_equal(av_chain_verify(t, leaf, u, T0, &o, NULL, &e), 0);
	sk_X509_free(u);
	X509_free(leaf);
	X509_free(i2);
	EVP_PKEY_free(k2);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_crl(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	X509_CRL		*root_crl, *inter_crl, *revoking, *expired;
	X509_CRL		*future;
	STACK_OF(X509_CRL)	*crls;
	struct av_chain_opts	 o = { .platform = PLAT, .crl_check = true };
	const long		 serial = 3, other = 99;
	struct av_err		 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	assert_non_null(root_crl = avt_crl_new(p.root, p.rk, T0 - DAY,
	    T0 + 30 * DAY, NULL, 0));
	assert_non_null(inter_crl = avt_crl_new(p.inter, p.ik, T0 - DAY,
	    T0 + 30 * DAY, &other, 1));
	assert_non_null(revoking = avt_crl_new(p.inter, p.ik, T0 - DAY,
	    T0 + 30 * DAY, &serial, 1));
	assert_non_null(expired = avt_crl_new(p.inter, p.ik, T0 - 60 * DAY,
	    T0 - 30 * DAY, NULL, 0));
	assert_non_null(future = avt_crl_new(p.inter, p.ik, T0 + 3600,
	    T0 + 30 * DAY, NULL, 0));
	assert_non_null(crls = sk_X509_CRL_new_null());

	/* no CRLs at all */
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_MISSING);
	o.crls = crls;
	/* CRL for the leaf's issuer only (CRL_CHECK_ALL wants every level) */
	assert_true(sk_X509_CRL_push(crls, inter_crl) > 0);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_MISSING);
	/* both levels, nothing of ours revoked */
	assert_true(sk_X509_CRL_push(crls, root_crl) > 0);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), 0);
	/* the leaf revoked */
	(void)sk_X509_CRL_shift(crls);
	assert_true(sk_X509_CRL_push(crls, revoking) > 0);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_REVOKED);
	assert_string_equal(av_code_str(e.code), "cert_revoked");
	/* without revocation checking, it passes */
	o.crl_check = false;
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), 0);
	o.crl_check = true;

	/* an expired CRL is the only one for the intermediate */
	(void)sk_X509_CRL_pop(crls);
	assert_true(sk_X509_CRL_push(crls, expired) > 0);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_EXPIRED);
	assert_string_equal(av_code_str(e.code), "collateral_expired");
	/* ... and a CRL issued after the verification time */
	(void)sk_X509_CRL_pop(crls);
	assert_true(sk_X509_CRL_push(crls, future) > 0);
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_EXPIRED);

	sk_X509_CRL_free(crls);
	X509_CRL_free(future);
	X509_CRL_free(expired);
	X509_CRL_free(revoking);
	X509_CRL_free(inter_crl);
	X509_CRL_free(root_crl);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_crl_bad_signature(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	EVP_PKEY		*evil;
	X509_CRL		*root_crl, *forged;
	STACK_OF(X509_CRL)	*crls;
	struct av_chain_opts	 o = { .platform = PLAT, .crl_check = true };
	struct av_err		 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	assert_non_null(evil = avt_key_new("P-256"));
	assert_non_null(root_crl = avt_crl_new(p.root, p.rk, T0 - DAY,
	    T0 + 30 * DAY, NULL, 0));
	assert_non_null(forged = avt_crl_new(p.inter, evil, T0 - DAY,
	    T0 + 30 * DAY, NULL, 0));
	assert_non_null(crls = sk_X509_CRL_new_null());
	assert_true(sk_X509_CRL_push(crls, root_crl) > 0);
	assert_true(sk_X509_CRL_push(crls, forged) > 0);
	o.crls = crls;
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o,
	    NULL, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_INVALID);
	sk_X509_CRL_free(crls);
	X509_CRL_free(forged);
	X509_CRL_free(root_crl);
	EVP_PKEY_free(evil);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_cache(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	struct av_chain_stats	 st;
	struct av_chain_opts	 o = { .platform = PLAT };
	STACK_OF(X509)		*chain = NULL, *u2;
	X509_CRL		*root_crl, *inter_crl;
	STACK_OF(X509_CRL)	*crls;
	struct av_err		 e;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.misses, 0);

	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.misses, 1);

	/* same chain again, another time inside the window: a hit */
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0 + 3600,
	    &o, &chain, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 3);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), p.leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 2), p.root), 0);
	sk_X509_pop_free(chain, X509_free);

	/* outside the window: full verification and the exact error */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 + 2 * DAY, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 - 2 * DAY, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 3);
	/* the exact boundary: notAfter itself is out */
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 + DAY, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0 - DAY, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 2);

	/* failures are not cached */
	{
		struct pki q;

		pki_make(&q, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
		assert_int_equal(verify(t, q.leaf, q.untrusted, T0, &e), -1);
		assert_int_equal(verify(t, q.leaf, q.untrusted, T0, &e), -1);
		assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
		av_trust_chain_stats(t, &st);
		assert_int_equal(st.hits, 2);
		pki_free(&q);
	}

	/* different content (bundle order) is a different key */
	assert_non_null(u2 = sk_X509_new_null());
	assert_true(sk_X509_push(u2, p.root) > 0);
	assert_true(sk_X509_push(u2, p.inter) > 0);
	assert_int_equal(verify(t, p.leaf, u2, T0, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(verify(t, p.leaf, u2, T0, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 3);
	/* another platform is another key (and here another result) */
	o.platform = "sev-snp";
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, u2, T0, &o, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	o.platform = PLAT;
	sk_X509_free(u2);

	/* with CRLs, the CRL's nextUpdate bounds the window */
	assert_non_null(root_crl = avt_crl_new(p.root, p.rk, T0 - DAY,
	    T0 + 30 * DAY, NULL, 0));
	assert_non_null(inter_crl = avt_crl_new(p.inter, p.ik, T0 - 3600,
	    T0 + 3600, NULL, 0));
	assert_non_null(crls = sk_X509_CRL_new_null());
	assert_true(sk_X509_CRL_push(crls, root_crl) > 0);
	assert_true(sk_X509_CRL_push(crls, inter_crl) > 0);
	o.crls = crls;
	o.crl_check = true;
	av_trust_chain_stats(t, &st);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0, &o, NULL,
	    &e), 0);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0 + 60, &o,
	    NULL, &e), 0);
	{
		struct av_chain_stats st2;

		av_trust_chain_stats(t, &st2);
		assert_int_equal(st2.hits, st.hits + 1);
	}
	av_err_clear(&e);
	assert_int_equal(av_chain_verify(t, p.leaf, p.untrusted, T0 + 7200,
	    &o, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_EXPIRED);

	/* changing the trust set drops the cache */
	o.crl_check = false;
	o.crls = NULL;
	av_trust_chain_stats(t, &st);
	assert_int_equal(av_trust_add_anchor(t, PLAT, p.inter), 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	{
		struct av_chain_stats st2;

		av_trust_chain_stats(t, &st2);
		assert_int_equal(st2.hits, st.hits);
		assert_int_equal(st2.misses, st.misses + 1);
	}

	sk_X509_CRL_free(crls);
	X509_CRL_free(inter_crl);
	X509_CRL_free(root_crl);
	av_trust_free(t);
	pki_free(&p);
}

static void
test_chain_cache_eviction(void **state)
{
	struct pki		 p;
	struct av_trust		*t;
	struct av_chain_stats	 st;
	EVP_PKEY		*k;
	X509			*leaf;
	struct av_err		 e;
	int			 i;

	(void)state;
	/* more distinct chains than the cache holds: must stay bounded */
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	assert_non_null(k = avt_key_new("P-256"));
	for (i = 0; i < 4200; i++) {
		leaf = mk("many", false, 1000 + i, T0 - DAY, T0 + DAY, false,
		    k, p.inter, p.ik);
		assert_int_equal(verify(t, leaf, p.untrusted, T0, &e), 0);
		X509_free(leaf);
	}
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.misses, 4200);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits, 1);
	EVP_PKEY_free(k);
	av_trust_free(t);
	pki_free(&p);
}

/* Several threads verifying the same and different chains at once. */
struct race {
	struct av_trust	*t;
	struct pki	*p, *q;
	int		 fails;
};

static void *
race_run(void *arg)
{
	struct race	*r = arg;
	struct av_err	 e;

	for (int i = 0; i < 200; i++) {
		struct pki *k = (i % 2) ? r->p : r->q;

		if (verify(r->t, k->leaf, k->untrusted, T0 + i, &e) != 0)
			r->fails++;
		if (verify(r->t, k->leaf, k->untrusted, T0 + 2 * DAY,
		    &e) != -1 || e.code != AV_E_CERT_TIME)
			r->fails++;
	}
	return NULL;
}

static void
test_chain_cache_threads(void **state)
{
	struct pki		 p, q;
	struct av_trust		*t;
	struct av_chain_stats	 st;
	struct race		 r[4];
	pthread_t		 th[4];

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	pki_make(&q, "P-384", "P-384", false, T0 - DAY, T0 + DAY);
	t = trust_with_anchor(p.root);
	assert_int_equal(av_trust_add_anchor(t, PLAT, q.root), 0);
	/*
	 * Real requests parse their own certificates; these are shared, so
	 * fill OpenSSL's lazy extension cache first (as av_trust does for
	 * anchors) to keep ThreadSanitizer runs about our own locking.
	 */
	X509 *const shared[] = { p.leaf, p.inter, q.leaf, q.inter };
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		assert_int_equal(X509_check_purpose(shared[i], -1, 0), 1);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){ .t = t, .p = &p, .q = &q };
		assert_int_equal(pthread_create(&th[i], NULL, race_run,
		    &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(r[i].fails, 0);
	}
	av_trust_chain_stats(t, &st);
	assert_int_equal(st.hits + st.misses, 4 * 400);
	assert_true(st.hits >= 4 * 200 - 8);	/* at most a few races */
	av_trust_free(t);
	pki_free(&q);
	pki_free(&p);
}

/* ---- trust directory ---------------------------------------------------- */

static void
write_text(const char *path, const char *text)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_trust_load_dir(void **state)
{
	struct pki	 p, q;
	struct av_trust	*t;
	struct av_err	 e;
	char		*dir, path[512], *pem1, *pem2, *both;
	size_t		 n;

	(void)state;
	pki_make(&p, "P-256", "P-256", false, T0 - DAY, T0 + DAY);
	pki_make(&q, "P-384", "P-384", false, T0 - DAY, T0 + DAY);
	assert_non_null(dir = avt_tmpdir());
	snprintf(path, sizeof(path), "%s/%s", dir, PLAT);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/empty-platform", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	/* two roots in one file, with text around them */
	assert_non_null(pem1 = avt_cert_pem(p.root));
	assert_non_null(pem2 = avt_cert_pem(q.root));
	n = strlen(pem1) + strlen(pem2) + 64;
	assert_non_null(both = malloc(n));
	snprintf(both, n, "Root P\n%sRoot Q\n%s", pem1, pem2);
	snprintf(path, sizeof(path), "%s/%s/roots.pem", dir, PLAT);
	write_text(path, both);
	snprintf(path, sizeof(path), "%s/%s/README.txt", dir, PLAT);
	write_text(path, "not a certificate, and ignored\n");
	snprintf(path, sizeof(path), "%s/stray.pem", dir);	/* not a dir */
	write_text(path, both);

	assert_non_null(t = av_trust_new());
	av_log_set_level(AV_LOG_ERROR);
	av_err_clear(&e);
	assert_int_equal(av_trust_load_dir(t, dir, &e), 0);
	assert_int_equal(av_trust_count(t, PLAT), 2);
	assert_int_equal(sk_X509_num(av_trust_anchors(t, PLAT)), 2);
	assert_true(av_trust_is_anchor(t, PLAT, p.root));
	assert_true(av_trust_is_anchor(t, PLAT, q.root));
	assert_int_equal(av_trust_count(t, "empty-platform"), 0);
	assert_int_equal(verify(t, p.leaf, p.untrusted, T0, &e), 0);
	assert_int_equal(verify(t, q.leaf, q.untrusted, T0, &e), 0);
	av_trust_free(t);

	/* a broken file fails the load and adds nothing */
	snprintf(path, sizeof(path), "%s/%s/zz-broken.pem", dir, PLAT);
	write_text(path, "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n");
	assert_non_null(t = av_trust_new());
	av_err_clear(&e);
	assert_int_equal(av_trust_load_dir(t, dir, &e), -1);
	assert_int_equal(e.code, AV_E_CONFIG);
	assert_int_equal(av_trust_count(t, PLAT), 0);
	/* a missing directory is an error */
	snprintf(path, sizeof(path), "%s/nope", dir);
	av_err_clear(&e);
	assert_int_equal(av_trust_load_dir(t, path, &e), -1);
	assert_int_equal(e.code, AV_E_CONFIG);
	av_trust_free(t);
	av_log_set_level(AV_LOG_INFO);

	avt_rmtree(dir);
	free(dir);
	free(both);
	free(pem1);
	free(pem2);
	pki_free(&q);
	pki_free(&p);
}

/* ---- real vendor chains (../shared/vectors) ----------------------------- */

/* Certificates of a vector file (DER or PEM), or NULL. */
static STACK_OF(X509) *
vec_certs(const char *sub)
{
	STACK_OF(X509)	*sk = NULL;
	uint8_t		*buf;
	char		*path;
	size_t		 n;

	if ((path = avt_vectors_path(sub)) == NULL)
		return NULL;
	if ((buf = avt_read_file(path, &n)) != NULL)
		sk = av_x509_parse_any(buf, n);
	free(buf);
	free(path);
	assert_non_null(sk);
	return sk;
}

/*
 * Verify the first certificate of leaf_file through the rest of it and
 * the certificates of the extra files, optionally with one CRL.
 */
static int
vec_verify(struct av_trust *t, const char *platform, int64_t at,
    const char *leaf_file, const char *const *extra, X509_CRL *crl,
    struct av_err *e)
{
	STACK_OF(X509)		*all, *u, *sk;
	STACK_OF(X509_CRL)	*crls = NULL;
	struct av_chain_opts	 o = { .platform = platform };
	int			 rc;

	assert_non_null(all = vec_certs(leaf_file));
	for (; extra != NULL && *extra != NULL; extra++) {
		assert_non_null(sk = vec_certs(*extra));
		while (sk_X509_num(sk) > 0)
			assert_true(sk_X509_push(all, sk_X509_shift(sk)) > 0);
		sk_X509_free(sk);
	}
	assert_non_null(u = sk_X509_new_null());	/* borrows from all */
	for (int i = 1; i < sk_X509_num(all); i++)
		assert_true(sk_X509_push(u, sk_X509_value(all, i)) > 0);
	if (crl != NULL) {
		assert_non_null(crls = sk_X509_CRL_new_null());
		assert_true(sk_X509_CRL_push(crls, crl) > 0);
		o.crls = crls;
		o.crl_check = true;
	}
	av_err_clear(e);
	rc = av_chain_verify(t, sk_X509_value(all, 0), u, at, &o, NULL, e);
	sk_X509_CRL_free(crls);
	sk_X509_free(u);
	sk_X509_pop_free(all, X509_free);
	return rc;
}

static X509_CRL *
vec_crl(const char *sub)
{
	const unsigned char	*q;
	X509_CRL		*crl;
	uint8_t			*buf;
	char			*path;
	size_t			 n;

	assert_non_null(path = avt_vectors_path(sub));
	assert_non_null(buf = avt_read_file(path, &n));
	q = buf;
	assert_non_null(crl = d2i_X509_CRL(NULL, &q, (long)n));
	free(buf);
	free(path);
	return crl;
}

static void
test_vendor_chains(void **state)
{
	static const char *const milan[] = { "sev-snp/certs/amd/milan_ask.der",
	    "sev-snp/certs/amd/milan_ark.der", NULL };
	static const char *const milan_vlek[] = {
	    "sev-snp/certs/amd/milan_asvk.der",
	    "sev-snp/certs/amd/milan_ark.der", NULL };
	static const char *const gce[] = {
	    "vtpm/roots/google/tpm_ek_root_1.cer", NULL };
	static const char *const gcp[] = {
	    "vtpm/roots/google/gcp_ek_ak_ca_root.crt", NULL };
	const int64_t		 snp_at = 1751328000;	/* 2025-07-01 */
	const int64_t		 tdx_at = 1763164800;	/* 2025-11-15 */
	const int64_t		 gpu_at = 1758412800;	/* 2025-09-21 */
	struct av_trust		*t;
	struct av_err		 e;
	X509_CRL		*crl;
	char			*v;

	(void)state;
	if ((v = avt_vectors_path(NULL)) == NULL) {
		print_message("skipped: ../shared/vectors not present\n");
		skip();
	}
	free(v);
	assert_non_null(t = av_trust_new());

	/* AMD: VCEK (serial 0, P-384 key) <- ASK <- ARK, RSA-PSS SHA-384 */
	assert_int_equal(vec_verify(t, "sev-snp", snp_at,
	    "sev-snp/go-sev-guest/vcek.testcer", milan, NULL, &e), 0);
	assert_int_equal(vec_verify(t, "sev-snp", snp_at,
	    "sev-snp/certs/amd/milan_asvk.der", milan_vlek + 1, NULL, &e), 0);
	assert_int_equal(vec_verify(t, "sev-snp", snp_at,
	    "sev-snp/certs/amd/genoa_ask.der",
	    (const char *const[]){ "sev-snp/certs/amd/genoa_ark.der", NULL },
	    NULL, &e), 0);
	assert_int_equal(vec_verify(t, "sev-snp", snp_at,
	    "sev-snp/virtee-sev/vcek_turin.der",
	    (const char *const[]){ "sev-snp/virtee-sev/cert_chain_turin",
	    NULL }, NULL, &e), 0);
	/* the right chain for the wrong platform */
	assert_int_equal(vec_verify(t, "tdx", snp_at,
	    "sev-snp/go-sev-guest/vcek.testcer", milan, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	/* Genoa ASK presented with the Milan ARK */
	assert_int_equal(vec_verify(t, "sev-snp", snp_at,
	    "sev-snp/certs/amd/genoa_ask.der", milan + 1, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_UNTRUSTED_ROOT);
	/* after the VCEK expired */
	assert_int_equal(vec_verify(t, "sev-snp", 1893456000 /* 2030 */,
	    "sev-snp/go-sev-guest/vcek.testcer", milan, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_CERT_TIME);

	/* Intel: TCB signing cert <- SGX Root CA, with the root CA CRL */
	assert_int_equal(vec_verify(t, "tdx", tdx_at,
	    TDX_TCB_CHAIN, NULL, NULL, &e), 0);
	crl = vec_crl("tdx/certs/intel/root-ca-crl-2025.der");
	assert_int_equal(vec_verify(t, "tdx", tdx_at,
	    TDX_TCB_CHAIN, NULL, crl, &e), 0);
	/* the CRL's nextUpdate is 2026-04-03 */
	assert_int_equal(vec_verify(t, "tdx", 1780000000 /* 2026-05 */,
	    TDX_TCB_CHAIN, NULL, crl, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_EXPIRED);
	X509_CRL_free(crl);

	/* NVIDIA: 5-certificate device chain to the Device Identity CA */
	assert_int_equal(vec_verify(t, "nvidia-gpu", gpu_at,
	    "nvidia-gpu/real/trustee-coco1/hopper_coco_certs1.txt", NULL,
	    NULL, &e), 0);

	/* Google: vTPM EK/AK intermediates to their roots */
	assert_int_equal(vec_verify(t, "tpm", snp_at,
	    "vtpm/roots/google/tpm_ek_intermediate_2.crt", gce, NULL, &e), 0);
	assert_int_equal(vec_verify(t, "tpm", snp_at,
	    "vtpm/roots/google/gcp_ek_ak_ca_intermediate_v3.crt", gcp, NULL,
	    &e), 0);

	/* AWS: the published root is pinned */
	{
		STACK_OF(X509) *sk;

		sk = vec_certs("aws-nitro/aws-nitro-root-g1.pem");

		assert_true(av_trust_is_anchor(t, "aws-nitro",
		    sk_X509_value(sk, 0)));
		assert_false(av_trust_is_anchor(t, "sev-snp",
		    sk_X509_value(sk, 0)));
		sk_X509_pop_free(sk, X509_free);
	}
	av_trust_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_ecdsa_p256),
		cmocka_unit_test(test_ecdsa_p384),
		cmocka_unit_test(test_ecdsa_wrong_key),
		cmocka_unit_test(test_ec_pubkey_from_raw),
		cmocka_unit_test(test_ec_is_curve),
		cmocka_unit_test(test_asn1_json),
		cmocka_unit_test(test_x509_parse),
		cmocka_unit_test(test_builtin_pins),
		cmocka_unit_test(test_chain_good_ec),
		cmocka_unit_test(test_chain_good_rsa_pss),
		cmocka_unit_test(test_chain_untrusted_root),
		cmocka_unit_test(test_chain_pinned_root),
		cmocka_unit_test(test_chain_cert_time),
		cmocka_unit_test(test_chain_bad_issuer_signature),
		cmocka_unit_test(test_chain_non_ca_intermediate),
		cmocka_unit_test(test_chain_depth),
		cmocka_unit_test(test_chain_crl),
		cmocka_unit_test(test_chain_crl_bad_signature),
		cmocka_unit_test(test_chain_cache),
		cmocka_unit_test(test_chain_cache_eviction),
		cmocka_unit_test(test_chain_cache_threads),
		cmocka_unit_test(test_trust_load_dir),
		cmocka_unit_test(test_vendor_chains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
