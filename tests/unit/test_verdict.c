/*
 * attestd - unit tests for the verdict room: signing keys (generation,
 * mode 0600, reload), RFC 7638 key ids, JWS compact sign/verify and its
 * refusals, JWKS, and the EAR claims shape.
 *
 * With AV_JWT_OUT=<dir> in the environment, test_interop_out also writes
 * <dir>/jwks.json and <dir>/<alg>.jwt for tests/e2e/test_jwt_interop.py,
 * which checks them with an independent JOSE library (jwcrypto).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/result.h"
#include "av/verdict.h"
#include "av/verify.h"

#include "avt_pki.h"

static const enum av_sig_alg all_algs[] = {
	AV_ALG_ES256, AV_ALG_ES384, AV_ALG_EDDSA
};

/* dir/name, malloc'd. */
static char *
path_in(const char *dir, const char *name)
{
	size_t	 n = strlen(dir) + strlen(name) + 2;
	char	*p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
write_key_pem(const char *path, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	assert_int_equal(fclose(f), 0);
}

/* base64url of a string, malloc'd. */
static char *
b64s(const char *s)
{
	char *b = av_b64url_encode((const uint8_t *)s, strlen(s));

	assert_non_null(b);
	return b;
}

/* "<b64url(header)>.<payload_b64>.<sig_b64>", malloc'd. */
static char *
forge(const char *header, const char *payload_b64, const char *sig_b64)
{
	char	*h = b64s(header), *out;
	size_t	 n = strlen(h) + strlen(payload_b64) + strlen(sig_b64) + 3;

	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", h, payload_b64, sig_b64);
	free(h);
	return out;
}

/* a + b, malloc'd. */
static char *
cat2(const char *a, const char *b)
{
	size_t	 n = strlen(a) + strlen(b) + 1;
	char	*o = malloc(n);

	assert_non_null(o);
	snprintf(o, n, "%s%s", a, b);
	return o;
}

/* The three segments of a JWT, each malloc'd. */
static void
split3(const char *jwt, char **h, char **p, char **s)
{
	const char *d1 = strchr(jwt, '.'), *d2;

	assert_non_null(d1);
	d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	*h = strndup(jwt, (size_t)(d1 - jwt));
	*p = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	*s = strdup(d2 + 1);
	assert_non_null(*h);
	assert_non_null(*p);
	assert_non_null(*s);
}

static json_t *
demo_claims(void)
{
	json_t *c = json_pack("{s:s, s:I, s:{s:b}}", "hello", "world",
	    "n", (json_int_t)42, "nested", "ok", 1);

	assert_non_null(c);
	return c;
}

static struct av_signer *
new_signer(enum av_sig_alg alg)
{
	static const char *const kinds[] = { "P-256", "P-384", "ED25519" };
	EVP_PKEY		*pk = avt_key_new(kinds[alg]);
	struct av_signer	*s;
	struct av_err		 e = { 0 };

	assert_non_null(pk);
	s = av_signer_from_pkey(pk, &e);
	assert_non_null(s);
	assert_int_equal(s->alg, alg);
	EVP_PKEY_free(pk);
	return s;
}

static void
test_alg_names(void **state)
{
	enum av_sig_alg a;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(av_sig_alg_parse(av_sig_alg_str(all_algs[i]),
		    &a), 0);
		assert_int_equal(a, all_algs[i]);
	}
	assert_string_equal(av_sig_alg_str(AV_ALG_ES256), "ES256");
	assert_string_equal(av_sig_alg_str(AV_ALG_ES384), "ES384");
	assert_string_equal(av_sig_alg_str(AV_ALG_EDDSA), "EdDSA");
	assert_int_equal(av_sig_alg_parse("es256", &a), -1);
	assert_int_equal(av_sig_alg_parse("none", &a), -1);
	assert_int_equal(av_sig_alg_parse("HS256", &a), -1);
	assert_int_equal(av_sig_alg_parse("", &a), -1);
	assert_int_equal(av_sig_alg_parse(NULL, &a), -1);
}

/* Number of entries in dir other than . and .. */
static int
dir_count(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * For each algorithm: a key file is created with mode 0600 (even under
 * umask 0) and nothing else is left in the directory; reloading it
 * gives the same kid; a JWT signed with it verifies to equal claims and
 * has the exact header and signature length.
 */
static void
test_key_file_sign_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		enum av_sig_alg		 alg = all_algs[i];
		char			*dir = avt_tmpdir(), *file, *jwt;
		char			*h, *p, *sg, *hexp;
		struct av_signer	*s, *s2;
		struct av_err		 e = { 0 };
		struct stat		 st;
		json_t			*c = demo_claims(), *got;
		uint8_t			*raw;
		size_t			 rawlen;
		mode_t			 old;
		char			 want_hdr[160];

		assert_non_null(dir);
		file = path_in(dir, "verdict-key.pem");
		old = umask(0);
		s = av_signer_load(file, alg, true, &e);
		umask(old);
		assert_non_null(s);
		assert_int_equal(s->alg, alg);
		assert_int_equal(strlen(s->kid), 43);
		assert_int_equal(stat(file, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(dir_count(dir), 1);

		/* reload: same key, same kid; create=true does not replace */
		s2 = av_signer_load(file, alg, true, &e);
		assert_non_null(s2);
		assert_string_equal(s2->kid, s->kid);
		assert_int_equal(s2->alg, alg);
		av_signer_free(s2);
		s2 = av_signer_load(file, alg, false, &e);
		assert_non_null(s2);
		assert_string_equal(s2->kid, s->kid);

		jwt = av_jwt_sign(s, c, &e);
		assert_non_null(jwt);
		split3(jwt, &h, &p, &sg);
		snprintf(want_hdr, sizeof(want_hdr),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		    av_sig_alg_str(alg), s->kid);
		hexp = b64s(want_hdr);
		assert_string_equal(h, hexp);
		assert_int_equal(av_b64_decode(sg, strlen(sg), &raw, &rawlen), 0);
		assert_int_equal(rawlen, alg == AV_ALG_ES384 ? 96 : 64);
		free(raw);
		assert_int_equal(av_b64_decode(p, strlen(p), &raw, &rawlen), 0);
		assert_int_equal(rawlen,
		    strlen("{\"hello\":\"world\",\"n\":42,\"nested\":{\"ok\":true}}"));
		assert_memory_equal(raw,
		    "{\"hello\":\"world\",\"n\":42,\"nested\":{\"ok\":true}}",
		    rawlen);
		free(raw);

		/* verify with the reloaded signer (same key, other object) */
		got = av_jwt_verify(jwt, (const struct av_signer *const *)&s2,
		    1, &e);
		assert_non_null(got);
		assert_true(json_equal(got, c));
		json_decref(got);

		free(h);
		free(p);
		free(sg);
		free(hexp);
		free(jwt);
		json_decref(c);
		av_signer_free(s);
		av_signer_free(s2);
		free(file);
		avt_rmtree(dir);
		free(dir);
	}
}

static void
test_key_file_errors(void **state)
{
	char			*dir = avt_tmpdir(), *file;
	struct av_signer	*s;
	struct av_err		 e = { 0 };
	EVP_PKEY		*pk;

	(void)state;
	assert_non_null(dir);

	/* missing, no create */
	file = path_in(dir, "absent.pem");
	assert_null(av_signer_load(file, AV_ALG_ES256, false, &e));
	assert_int_equal(e.code, AV_E_CONFIG);
	assert_int_equal(access(file, F_OK), -1);
	free(file);

	/* missing directory, create */
	file = path_in(dir, "no/such/dir/key.pem");
	assert_null(av_signer_load(file, AV_ALG_ES256, true, &e));
	assert_int_equal(e.code, AV_E_IO);
	free(file);

	assert_null(av_signer_load(NULL, AV_ALG_ES256, true, &e));
	assert_int_equal(e.code, AV_E_CONFIG);

	/* not a key */
	file = path_in(dir, "garbage.pem");
	write_text(file, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n");
	assert_null(av_signer_load(file, AV_ALG_ES256, true, &e));
	assert_int_equal(e.code, AV_E_CONFIG);
	free(file);

	/* a public key or a certificate is not a private key */
	file = path_in(dir, "pub.pem");
	{
		FILE *f = fopen(file, "w");

		pk = avt_key_new("P-256");
		assert_non_null(f);
		assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
		fclose(f);
		EVP_PKEY_free(pk);
	}
	assert_null(av_signer_load(file, AV_ALG_ES256, true, &e));
	assert_int_equal(e.code, AV_E_CONFIG);
	free(file);

	/* unsupported key types */
	file = path_in(dir, "p521.pem");
	pk = avt_key_new("P-521");
	write_key_pem(file, pk);
	EVP_PKEY_free(pk);
	assert_null(av_signer_load(file, AV_ALG_ES256, false, &e));
	assert_int_equal(e.code, AV_E_CONFIG);
	free(file);

	file = path_in(dir, "rsa.pem");
	pk = avt_key_new("RSA-2048");
	write_key_pem(file, pk);
	assert_null(av_signer_from_pkey(pk, &e));
	assert_int_equal(e.code, AV_E_CONFIG);
	EVP_PKEY_free(pk);
	assert_null(av_signer_load(file, AV_ALG_ES256, false, &e));
	assert_int_equal(e.code, AV_E_CONFIG);
	free(file);

	/* an existing P-384 key decides its algorithm over the requested ES256 */
	file = path_in(dir, "p384.pem");
	pk = avt_key_new("P-384");
	write_key_pem(file, pk);
	EVP_PKEY_free(pk);
	s = av_signer_load(file, AV_ALG_ES256, true, &e);
	assert_non_null(s);
	assert_int_equal(s->alg, AV_ALG_ES384);
	av_signer_free(s);
	free(file);

	avt_rmtree(dir);
	free(dir);
}

/* EC public key from base64url x and y on curve ("P-256", "P-384"). */
static EVP_PKEY *
ec_pub_from_xy(const char *curve, const char *x, const char *y)
{
	uint8_t		*bx, *by, pt[97];
	size_t		 lx, ly;
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pk = NULL;
	OSSL_PARAM	 params[3];

	assert_int_equal(av_b64_decode(x, strlen(x), &bx, &lx), 0);
	assert_int_equal(av_b64_decode(y, strlen(y), &by, &ly), 0);
	assert_int_equal(lx, ly);
	pt[0] = 0x04;
	memcpy(pt + 1, bx, lx);
	memcpy(pt + 1 + lx, by, ly);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + lx + ly);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	free(bx);
	free(by);
	return pk;
}

static void
check_jwk_kid(EVP_PKEY *pk, const char *x, const char *y, const char *kid)
{
	struct av_err		 e = { 0 };
	struct av_signer	*s = av_signer_from_pkey(pk, &e);
	json_t			*jwk;

	assert_non_null(s);
	assert_string_equal(s->kid, kid);
	jwk = av_signer_jwk(s);
	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "x")), x);
	if (y != NULL)
		assert_string_equal(json_string_value(json_object_get(jwk, "y")),
		    y);
	else
		assert_null(json_object_get(jwk, "y"));
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")),
	    kid);
	assert_string_equal(json_string_value(json_object_get(jwk, "use")),
	    "sig");
	json_decref(jwk);
	av_signer_free(s);
}

/*
 * Key ids against published and independently computed thumbprints:
 * - Ed25519: RFC 8037 appendix A.1 key, A.3 thumbprint.
 * - P-256, P-384: fixed public keys whose RFC 7638 thumbprints were
 *   computed with jwcrypto (an independent implementation).
 */
static void
test_kid_known_answers(void **state)
{
	static const uint8_t rfc8037_d[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
		0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
		0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	};
	EVP_PKEY *pk;

	(void)state;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, rfc8037_d,
	    sizeof(rfc8037_d));
	assert_non_null(pk);
	check_jwk_kid(pk, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", NULL,
	    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	EVP_PKEY_free(pk);

	pk = ec_pub_from_xy("P-256",
	    "Y55-2fg714HKPGN1zStNRC0uaQITADvqzLlAvQyllzg",
	    "2tX-nTKnw0uf62xw8wrBsGrFIawV_ohYxxlXAjtdxF4");
	check_jwk_kid(pk, "Y55-2fg714HKPGN1zStNRC0uaQITADvqzLlAvQyllzg",
	    "2tX-nTKnw0uf62xw8wrBsGrFIawV_ohYxxlXAjtdxF4",
	    "bWH4VkiAYMHSDmX-e7x8aLac_gIZBt1GdyPo_MRq1Ms");
	EVP_PKEY_free(pk);

	pk = ec_pub_from_xy("P-384",
	    "x28ig92pXNSbDtnnM9KQRHTjchbxJOE9LJq0zwECHEmtnKuz0Ll0ma7y8KsxP6Ao",
	    "Jrwfg0UbXIlip1yv9zWI1EAKYpZDYVT7NDw5PpEEimx7y63IPNil8m_q6IMVb5Kh");
	check_jwk_kid(pk,
	    "x28ig92pXNSbDtnnM9KQRHTjchbxJOE9LJq0zwECHEmtnKuz0Ll0ma7y8KsxP6Ao",
	    "Jrwfg0UbXIlip1yv9zWI1EAKYpZDYVT7NDw5PpEEimx7y63IPNil8m_q6IMVb5Kh",
	    "6rHibH-pqUQHqmMd75u67ptmIzSy_31cIRPA_tD9V3g");
	EVP_PKEY_free(pk);
}

/*
 * For fresh EC keys, the kid equals a thumbprint computed another way:
 * from the uncompressed point at the end of the SubjectPublicKeyInfo,
 * formatted by hand.
 */
static void
test_kid_independent(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		enum av_sig_alg		 alg = all_algs[i];
		size_t			 n = alg == AV_ALG_ES256 ? 32 : 48;
		struct av_signer	*s = new_signer(alg);
		uint8_t			*der = NULL, md[32];
		int			 derlen;
		char			*x, *y, *kid, canon[300];
		unsigned int		 mdlen;

		derlen = i2d_PUBKEY(s->pkey, &der);
		assert_true(derlen > (int)(2 * n + 1));
		assert_int_equal(der[derlen - (int)(2 * n) - 1], 0x04);
		x = av_b64url_encode(der + derlen - 2 * n, n);
		y = av_b64url_encode(der + derlen - n, n);
		snprintf(canon, sizeof(canon),
		    "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    n == 32 ? "P-256" : "P-384", x, y);
		assert_int_equal(EVP_Digest(canon, strlen(canon), md, &mdlen,
		    EVP_sha256(), NULL), 1);
		kid = av_b64url_encode(md, sizeof(md));
		assert_string_equal(s->kid, kid);
		free(kid);
		free(x);
		free(y);
		OPENSSL_free(der);
		av_signer_free(s);
	}
}

static void
expect_reject(const char *jwt, const struct av_signer *const *ss, size_t n,
    enum av_code code)
{
	struct av_err	 e = { 0 };
	json_t		*got = av_jwt_verify(jwt, ss, n, &e);

	if (got != NULL)
		fail_msg("accepted: %s", jwt != NULL ? jwt : "(null)");
	assert_int_equal(e.code, code);
}

/* Replace the character at i of s with another base64url character. */
static void
flip(char *s, size_t i)
{
	s[i] = s[i] == 'A' ? 'B' : 'A';
}

static void
test_jwt_rejects(void **state)
{
	struct av_signer		*ss[3];
	const struct av_signer *const	*set;
	struct av_err			 e = { 0 };
	json_t				*c = demo_claims(), *got;
	char				 hdr[200], *jwt, *h, *p, *sg, *bad, *tmp;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		ss[i] = new_signer(all_algs[i]);
	set = (const struct av_signer *const *)ss;

	for (size_t i = 0; i < 3; i++) {
		struct av_signer *s = ss[i];

		jwt = av_jwt_sign(s, c, &e);
		assert_non_null(jwt);
		/* found among several keys */
		got = av_jwt_verify(jwt, set, 3, &e);
		assert_non_null(got);
		assert_true(json_equal(got, c));
		json_decref(got);
		/* not found when the key is not offered */
		expect_reject(jwt, set + (i + 1) % 3, 1, AV_E_SIGNATURE);
		expect_reject(jwt, set, 0, AV_E_SIGNATURE);
		split3(jwt, &h, &p, &sg);

		/* tampered payload, tampered signature */
		bad = strdup(jwt);
		flip(bad, strlen(h) + 1 + strlen(p) / 2);
		expect_reject(bad, set, 3, AV_E_SIGNATURE);
		free(bad);
		bad = strdup(jwt);
		flip(bad, strlen(h) + 1 + strlen(p) + 1 + 5);
		expect_reject(bad, set, 3, AV_E_SIGNATURE);
		free(bad);
		/* signatures one byte short and one byte long */
		{
			uint8_t	*raw, *longer;
			size_t	 rawlen;
			char	*enc, *t;

			assert_int_equal(av_b64_decode(sg, strlen(sg), &raw,
			    &rawlen), 0);
			enc = av_b64url_encode(raw, rawlen - 1);
			t = cat2(h, ".");
			tmp = cat2(t, p);
			free(t);
			t = cat2(tmp, ".");
			bad = cat2(t, enc);
			expect_reject(bad, set, 3, AV_E_SIGNATURE);
			free(bad);
			free(enc);
			longer = calloc(1, rawlen + 1);
			assert_non_null(longer);
			memcpy(longer, raw, rawlen);
			enc = av_b64url_encode(longer, rawlen + 1);
			bad = cat2(t, enc);
			expect_reject(bad, set, 3, AV_E_SIGNATURE);
			free(bad);
			free(enc);
			free(longer);
			free(raw);
			free(t);
			free(tmp);
		}
		/* padding, whitespace and '+/' are not base64url */
		bad = cat2(jwt, "=");
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		bad = cat2(" ", jwt);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		/* segment counts */
		tmp = cat2(h, ".");
		bad = cat2(tmp, p);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		free(tmp);
		tmp = cat2(jwt, ".");
		bad = cat2(tmp, sg);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		free(tmp);
		expect_reject("", set, 3, AV_E_MALFORMED);
		expect_reject("..", set, 3, AV_E_MALFORMED);
		expect_reject(NULL, set, 3, AV_E_MALFORMED);

		/* alg none, with and without a signature */
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"JWT\"}", s->kid);
		bad = forge(hdr, p, "");
		expect_reject(bad, set, 3, AV_E_UNSUPPORTED_ALG);
		free(bad);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_UNSUPPORTED_ALG);
		free(bad);
		/* another algorithm than the key's, and HMAC */
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		    s->alg == AV_ALG_ES256 ? "ES384" : "ES256", s->kid);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_UNSUPPORTED_ALG);
		free(bad);
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", s->kid);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_UNSUPPORTED_ALG);
		free(bad);
		/* crit */
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"crit\":[\"x\"],\"kid\":\"%s\",\"x\":1}",
		    av_sig_alg_str(s->alg), s->kid);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_UNSUPPORTED_ALG);
		free(bad);
		/* duplicate member, not an object, no kid, bad typ */
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"alg\":\"%s\",\"kid\":\"%s\"}",
		    av_sig_alg_str(s->alg), av_sig_alg_str(s->alg), s->kid);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		bad = forge("[]", p, sg);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}",
		    av_sig_alg_str(s->alg));
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JOSE+JSON\"}",
		    av_sig_alg_str(s->alg), s->kid);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_MALFORMED);
		free(bad);
		/* a header re-encoded differently breaks the signature */
		snprintf(hdr, sizeof(hdr),
		    "{\"typ\":\"JWT\",\"alg\":\"%s\",\"kid\":\"%s\"}",
		    av_sig_alg_str(s->alg), s->kid);
		bad = forge(hdr, p, sg);
		expect_reject(bad, set, 3, AV_E_SIGNATURE);
		free(bad);

		free(h);
		free(p);
		free(sg);
		free(jwt);
	}

	/* sign refuses non-objects and public-only keys */
	{
		json_t			*arr = json_array();
		EVP_PKEY		*pub;
		struct av_signer	*ps;
		uint8_t			*der = NULL;
		const uint8_t		*dp;
		int			 derlen;

		assert_null(av_jwt_sign(ss[0], arr, &e));
		json_decref(arr);
		derlen = i2d_PUBKEY(ss[0]->pkey, &der);
		assert_true(derlen > 0);
		dp = der;
		pub = d2i_PUBKEY(NULL, &dp, derlen);
		OPENSSL_free(der);
		assert_non_null(pub);
		ps = av_signer_from_pkey(pub, &e);
		assert_non_null(ps);
		assert_string_equal(ps->kid, ss[0]->kid);
		assert_null(av_jwt_sign(ps, c, &e));
		/* ... but verifies what the private key signed */
		jwt = av_jwt_sign(ss[0], c, &e);
		assert_non_null(jwt);
		got = av_jwt_verify(jwt, (const struct av_signer *const *)&ps,
		    1, &e);
		assert_non_null(got);
		json_decref(got);
		free(jwt);
		av_signer_free(ps);
		EVP_PKEY_free(pub);
	}

	/*
	 * Correctly signed payloads that are not a JSON object, or repeat a
	 * member, are still refused (checked after the signature).
	 */
	{
		static const char *const payloads[] = {
			"[1,2]", "{\"a\":1,\"a\":2}", "{", "",
		};

		for (size_t i = 0; i < 4; i++) {
			uint8_t	*sig;
			size_t	 siglen;
			char	*pb = b64s(payloads[i]), *sb, *t;

			snprintf(hdr, sizeof(hdr),
			    "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
			    ss[0]->kid);
			h = b64s(hdr);
			t = cat2(h, ".");
			tmp = cat2(t, pb);
			free(t);
			sig = avt_ecdsa_sign_rs(ss[0]->pkey, EVP_sha256(),
			    (const uint8_t *)tmp, strlen(tmp), &siglen);
			assert_non_null(sig);
			assert_int_equal(siglen, 64);
			sb = av_b64url_encode(sig, siglen);
			t = cat2(tmp, ".");
			bad = cat2(t, sb);
			expect_reject(bad, set, 3, AV_E_MALFORMED);
			free(bad);
			free(t);
			free(sb);
			free(sig);
			free(tmp);
			free(h);
			free(pb);
		}
	}

	for (size_t i = 0; i < 3; i++)
		av_signer_free(ss[i]);
	json_decref(c);
}

static void
test_jwks(void **state)
{
	struct av_signer	*ss[4];
	json_t			*jwks, *keys, *k;
	size_t			 i;

	(void)state;
	for (i = 0; i < 3; i++)
		ss[i] = new_signer(all_algs[i]);
	ss[3] = NULL;		/* skipped */
	jwks = av_jwks((const struct av_signer *const *)ss, 4);
	assert_non_null(jwks);
	assert_int_equal(json_object_size(jwks), 1);
	keys = json_object_get(jwks, "keys");
	assert_true(json_is_array(keys));
	assert_int_equal(json_array_size(keys), 3);
	json_array_foreach(keys, i, k) {
		const char *kty = json_string_value(json_object_get(k, "kty"));

		assert_string_equal(json_string_value(json_object_get(k, "kid")),
		    ss[i]->kid);
		assert_string_equal(json_string_value(json_object_get(k, "alg")),
		    av_sig_alg_str(ss[i]->alg));
		assert_string_equal(json_string_value(json_object_get(k, "use")),
		    "sig");
		assert_null(json_object_get(k, "d"));
		switch (ss[i]->alg) {
		case AV_ALG_ES256:
			assert_string_equal(kty, "EC");
			assert_string_equal(json_string_value(
			    json_object_get(k, "crv")), "P-256");
			assert_int_equal(strlen(json_string_value(
			    json_object_get(k, "x"))), 43);
			assert_int_equal(strlen(json_string_value(
			    json_object_get(k, "y"))), 43);
			assert_int_equal(json_object_size(k), 7);
			break;
		case AV_ALG_ES384:
			assert_string_equal(kty, "EC");
			assert_string_equal(json_string_value(
			    json_object_get(k, "crv")), "P-384");
			assert_int_equal(strlen(json_string_value(
			    json_object_get(k, "x"))), 64);
			assert_int_equal(strlen(json_string_value(
			    json_object_get(k, "y"))), 64);
			assert_int_equal(json_object_size(k), 7);
			break;
		case AV_ALG_EDDSA:
		default:
			assert_string_equal(kty, "OKP");
			assert_string_equal(json_string_value(
			    json_object_get(k, "crv")), "Ed25519");
			assert_int_equal(strlen(json_string_value(
			    json_object_get(k, "x"))), 43);
			assert_int_equal(json_object_size(k), 6);
			break;
		}
	}
	json_decref(jwks);
	jwks = av_jwks(NULL, 0);
	assert_non_null(jwks);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 0);
	json_decref(jwks);
	for (i = 0; i < 3; i++)
		av_signer_free(ss[i]);
}

static const struct av_backend fake_backend = { .name = "test-platform" };

/* A result with an affirming "cpu" and a contraindicated "gpu0". */
static void
make_result(struct av_result *res, bool with_nonce)
{
	static const uint8_t nonce[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	struct av_submod *cpu = &res->submods[0], *gpu = &res->submods[1];

	memset(res, 0, sizeof(*res));
	res->status = AV_STATUS_CONTRAINDICATED;
	res->policy_ref = strdup("payments-api@7");
	assert_non_null(res->policy_ref);
	if (with_nonce) {
		res->nonce = malloc(sizeof(nonce));
		assert_non_null(res->nonce);
		memcpy(res->nonce, nonce, sizeof(nonce));
		res->nonce_len = sizeof(nonce);
	}
	res->nsubmods = 2;

	assert_int_equal(av_submod_init(cpu, "cpu"), 0);
	cpu->backend = &fake_backend;
	cpu->status = AV_STATUS_AFFIRMING;
	cpu->compared = true;
	av_submod_tv(cpu, AV_TV_INSTANCE, AV_AR_AFFIRM);
	av_submod_tv(cpu, AV_TV_EXECUTABLES, AV_AR_AFFIRM);
	av_submod_tv(cpu, AV_TV_HARDWARE, AV_AR_AFFIRM);
	av_submod_tv(cpu, AV_TV_RUNTIME_OPAQUE, AV_AR_ISOLATED_MEMORY);
	json_object_set_new(cpu->claims, "pcr0", json_string("00aa"));
	json_object_set_new(cpu->claims, "debug", json_false());
	cpu->key_attestation = json_pack("{s:s}", "akpub", "MFkwEwYH");
	assert_non_null(cpu->key_attestation);

	assert_int_equal(av_submod_init(gpu, "gpu0"), 0);
	json_object_set_new(gpu->claims, "fwid", json_string("beef"));
	av_submod_reason(gpu, AV_E_MEASUREMENT, AV_STATUS_CONTRAINDICATED,
	    "fwid", json_string("cafe"), json_string("beef"),
	    "measurement does not match");
}

static void
free_result(struct av_result *res)
{
	for (size_t i = 0; i < res->nsubmods; i++)
		av_submod_cleanup(&res->submods[i]);
	free(res->policy_ref);
	free(res->nonce);
}

static void
test_ear_shape(void **state)
{
	struct av_result	 res;
	json_t			*ear, *subs, *cpu, *gpu, *tv, *r, *vid, *got;
	struct av_signer	*s;
	struct av_err		 e = { 0 };
	char			*jwt, *nb;

	(void)state;
	make_result(&res, true);
	ear = av_ear_claims(&res, 1700000000, 300);
	assert_non_null(ear);

	/* top level: exactly these members; no top-level ear.status */
	assert_int_equal(json_object_size(ear), 6);
	assert_string_equal(json_string_value(json_object_get(ear,
	    "eat_profile")), "tag:github.com,2023:veraison/ear");
	assert_int_equal(json_integer_value(json_object_get(ear, "iat")),
	    1700000000);
	assert_int_equal(json_integer_value(json_object_get(ear, "exp")),
	    1700000300);
	nb = av_b64url_encode(res.nonce, res.nonce_len);
	assert_string_equal(json_string_value(json_object_get(ear,
	    "eat_nonce")), nb);
	assert_string_equal(nb, "AQIDBAUGBwgJCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	free(nb);
	assert_null(json_object_get(ear, "ear.status"));
	vid = json_object_get(ear, "ear.verifier-id");
	assert_int_equal(json_object_size(vid), 2);
	assert_string_equal(json_string_value(json_object_get(vid,
	    "developer")), AV_DEVELOPER);
	assert_string_equal(json_string_value(json_object_get(vid, "build")),
	    "attestd " AV_VERSION);

	subs = json_object_get(ear, "submods");
	assert_int_equal(json_object_size(subs), 2);

	cpu = json_object_get(subs, "cpu");
	assert_non_null(cpu);
	assert_int_equal(json_object_size(cpu), 7);
	assert_string_equal(json_string_value(json_object_get(cpu,
	    "ear.status")), "affirming");
	tv = json_object_get(cpu, "ear.trustworthiness-vector");
	assert_int_equal(json_object_size(tv), 4);
	assert_int_equal(json_integer_value(json_object_get(tv,
	    "instance-identity")), 2);
	assert_int_equal(json_integer_value(json_object_get(tv,
	    "executables")), 2);
	assert_int_equal(json_integer_value(json_object_get(tv,
	    "hardware")), 2);
	assert_int_equal(json_integer_value(json_object_get(tv,
	    "runtime-opaque")), 32);
	assert_string_equal(json_string_value(json_object_get(cpu,
	    "ear.appraisal-policy-id")), "payments-api@7");
	assert_true(json_equal(json_object_get(cpu,
	    "ear.veraison.annotated-evidence"), res.submods[0].claims));
	assert_true(json_equal(json_object_get(cpu,
	    "ear.veraison.key-attestation"), res.submods[0].key_attestation));
	assert_true(json_is_array(json_object_get(cpu, "attestd.reasons")));
	assert_int_equal(json_array_size(json_object_get(cpu,
	    "attestd.reasons")), 0);
	assert_string_equal(json_string_value(json_object_get(cpu,
	    "attestd.platform")), "test-platform");

	gpu = json_object_get(subs, "gpu0");
	assert_non_null(gpu);
	/* no key attestation, no platform */
	assert_int_equal(json_object_size(gpu), 5);
	assert_null(json_object_get(gpu, "ear.veraison.key-attestation"));
	assert_null(json_object_get(gpu, "attestd.platform"));
	assert_string_equal(json_string_value(json_object_get(gpu,
	    "ear.status")), "contraindicated");
	tv = json_object_get(gpu, "ear.trustworthiness-vector");
	assert_int_equal(json_object_size(tv), 1);
	assert_int_equal(json_integer_value(json_object_get(tv,
	    "executables")), 96);
	assert_int_equal(json_array_size(json_object_get(gpu,
	    "attestd.reasons")), 1);
	r = json_array_get(json_object_get(gpu, "attestd.reasons"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "code")),
	    "measurement_mismatch");
	assert_string_equal(json_string_value(json_object_get(r, "severity")),
	    "contraindicated");
	assert_string_equal(json_string_value(json_object_get(r, "claim")),
	    "fwid");
	assert_string_equal(json_string_value(json_object_get(r, "expected")),
	    "cafe");
	assert_string_equal(json_string_value(json_object_get(r, "actual")),
	    "beef");
	assert_true(json_equal(json_object_get(gpu,
	    "ear.veraison.annotated-evidence"), res.submods[1].claims));

	/* deep copies: the result can go first */
	free_result(&res);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(cpu, "ear.veraison.annotated-evidence"), "pcr0")),
	    "00aa");

	/* the verdict round-trips through a JWT */
	s = new_signer(AV_ALG_ES256);
	jwt = av_jwt_sign(s, ear, &e);
	assert_non_null(jwt);
	got = av_jwt_verify(jwt, (const struct av_signer *const *)&s, 1, &e);
	assert_non_null(got);
	assert_true(json_equal(got, ear));
	json_decref(got);
	free(jwt);
	av_signer_free(s);
	json_decref(ear);
}

static void
test_ear_edges(void **state)
{
	struct av_result	 res;
	json_t			*ear;

	(void)state;
	/* no nonce, no policy: neither member appears */
	make_result(&res, false);
	free(res.policy_ref);
	res.policy_ref = NULL;
	ear = av_ear_claims(&res, 10, 20);
	assert_non_null(ear);
	assert_null(json_object_get(ear, "eat_nonce"));
	assert_int_equal(json_integer_value(json_object_get(ear, "exp")), 30);
	assert_null(json_object_get(json_object_get(json_object_get(ear,
	    "submods"), "cpu"), "ear.appraisal-policy-id"));
	json_decref(ear);

	/* exp saturates instead of overflowing */
	ear = av_ear_claims(&res, INT64_MAX - 5, 300);
	assert_non_null(ear);
	assert_int_equal(json_integer_value(json_object_get(ear, "exp")),
	    INT64_MAX);
	json_decref(ear);

	/* a duplicated submod name must not hide the failing one */
	free(res.submods[1].name);
	res.submods[1].name = strdup("cpu");
	assert_null(av_ear_claims(&res, 10, 20));
	assert_null(av_ear_claims(NULL, 10, 20));
	free_result(&res);
}

/*
 * With AV_JWT_OUT set: write a JWKS and one JWT per algorithm (EAR
 * claims) for tests/e2e/test_jwt_interop.py.  Otherwise a no-op.
 */
static void
test_interop_out(void **state)
{
	const char		*out = getenv("AV_JWT_OUT");
	struct av_signer	*ss[3];
	struct av_result	 res;
	struct av_err		 e = { 0 };
	json_t			*ear, *jwks;
	char			*path, *jwt, name[32];

	(void)state;
	if (out == NULL || *out == '\0')
		return;
	make_result(&res, true);
	/* now, so that JOSE libraries checking exp accept the token */
	ear = av_ear_claims(&res, (int64_t)time(NULL), 600);
	assert_non_null(ear);
	for (size_t i = 0; i < 3; i++) {
		ss[i] = new_signer(all_algs[i]);
		jwt = av_jwt_sign(ss[i], ear, &e);
		assert_non_null(jwt);
		snprintf(name, sizeof(name), "%s.jwt",
		    av_sig_alg_str(all_algs[i]));
		path = path_in(out, name);
		write_text(path, jwt);
		free(path);
		free(jwt);
	}
	jwks = av_jwks((const struct av_signer *const *)ss, 3);
	assert_non_null(jwks);
	path = path_in(out, "jwks.json");
	assert_int_equal(json_dump_file(jwks, path, JSON_COMPACT), 0);
	free(path);
	path = path_in(out, "claims.json");
	assert_int_equal(json_dump_file(ear, path, JSON_COMPACT), 0);
	free(path);
	json_decref(jwks);
	json_decref(ear);
	for (size_t i = 0; i < 3; i++)
		av_signer_free(ss[i]);
	free_result(&res);
}

/* Compare av_json_dumps_compact() with json_dumps(JSON_COMPACT). */
static void
same_as_jansson(json_t *v)
{
	char	*want, *got;
	size_t	 n = 0;

	assert_non_null(v);
	want = json_dumps(v, JSON_COMPACT);
	got = av_json_dumps_compact(v, &n);
	if (want == NULL) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
		assert_int_equal(n, strlen(want));
	}
	free(want);
	free(got);
	json_decref(v);
}

static void
test_json_dumps_compact(void **state)
{
	json_t		*o, *a, *deep;
	char		 raw[256];
	int		 i;

	(void)state;
	same_as_jansson(json_object());
	same_as_jansson(json_array());
	same_as_jansson(json_pack("{s:s, s:i, s:I, s:I, s:I, s:b, s:b, s:n}",
	    "a", "b", "int", 0, "neg", (json_int_t)-42,
	    "max", (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN,
	    "t", 1, "f", 0, "null"));
	same_as_jansson(json_pack("{s:f, s:f, s:f, s:[f, f]}", "pi", 3.25,
	    "tiny", 1e-300, "whole", 2.0, "arr", -0.5, 1e21));
	/* escapes in values and keys */
	same_as_jansson(json_pack("{s:s, s:s, s:s}", "q\"k\\", "a\"b\\c\"",
	    "ctl", "x\b\f\n\r\t\x01\x1fy", "slash", "a/b</c>"));
	same_as_jansson(json_pack("{s:s, s:s}", "utf8", "caf\xc3\xa9 \xe2\x82\xac"
	    " \xf0\x9f\x94\x92", "k\xc3\xa9y", "\xe2\x80\xa8"));
	/* embedded NUL and every byte < 0x80 */
	for (i = 0; i < 128; i++)
		raw[i] = (char)i;
	same_as_jansson(json_pack("{s:s#, s:s#}", "nul", "a\0b", (int)3,
	    "all", raw, (int)128));
	/* invalid UTF-8 (made without the check): both fail */
	o = json_object();
	json_object_set_new(o, "bad", json_stringn_nocheck("\xff\xfe", 2));
	same_as_jansson(o);
	/* order is insertion order, nested */
	o = json_object();
	a = json_array();
	for (i = 0; i < 40; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%d", 39 - i);
		json_object_set_new(o, k, json_integer(i * 1000003 - 7));
		json_array_append_new(a, json_pack("{s:[s,i,{}]}", k, k, -i));
	}
	json_object_set_new(o, "z", a);
	json_object_set_new(o, "A", json_pack("[[[]],{s:{}}]", ""));
	same_as_jansson(o);
	/* deeper than allowed: refused, no crash */
	deep = json_array();
	for (i = 0, a = deep; i < 3000; i++) {
		json_t *n = json_array();

		json_array_append_new(a, n);
		a = n;
	}
	assert_null(av_json_dumps_compact(deep, NULL));
	json_decref(deep);
	assert_null(av_json_dumps_compact(NULL, NULL));
	o = json_string("x");
	assert_null(av_json_dumps_compact(o, NULL));
	json_decref(o);
}

/* Sign claims with s and check the token against s alone. */
static void
sign_and_check(struct av_signer *s, const json_t *claims)
{
	struct av_err	 e = { 0 };
	json_t		*got;
	char		*jwt;

	jwt = av_jwt_sign(s, claims, &e);
	assert_non_null(jwt);
	got = av_jwt_verify(jwt, (const struct av_signer *const *)&s, 1, &e);
	assert_non_null(got);
	assert_true(json_equal(got, claims));
	json_decref(got);
	free(jwt);
}

struct sign_thread_arg {
	struct av_signer	**signers;
	size_t			  n;
	const json_t		 *claims;
};

static void *
sign_thread(void *p)
{
	struct sign_thread_arg *a = p;

	for (int k = 0; k < 40; k++)
		sign_and_check(a->signers[(size_t)k % a->n], a->claims);
	return NULL;
}

/*
 * Verdicts are signed on per-thread prepared contexts (src/verdict/
 * jwt.c): more keys than slots used in turn, a key replaced (rotation:
 * the old signer freed while a slot still holds its key), every
 * algorithm, and four threads sharing the signers.  Hundreds of ECDSA
 * signatures also hit r or s with leading zero bytes (1 in 128 per
 * signature), which the fixed-length encoding must pad.
 */
static void
test_sign_contexts(void **state)
{
	struct av_signer	*s[7];
	struct sign_thread_arg	 arg;
	pthread_t		 th[4];
	json_t			*claims;

	(void)state;
	claims = json_pack("{sssIs{s{ss}}}", "eat_profile", AV_EAR_PROFILE,
	    "iat", (json_int_t)1700000000, "submods", "cpu", "ear.status",
	    "affirming");
	assert_non_null(claims);
	for (size_t i = 0; i < 7; i++)
		s[i] = new_signer(all_algs[i % 3]);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < 7; i++)
			sign_and_check(s[i], claims);
	/* many signatures with one key: the r || s padding */
	for (int k = 0; k < 300; k++)
		sign_and_check(s[k % 2], claims);
	/* rotation: replace each key; the new one must be used */
	for (size_t i = 0; i < 7; i++) {
		sign_and_check(s[i], claims);
		av_signer_free(s[i]);
		s[i] = new_signer(all_algs[i % 3]);
		sign_and_check(s[i], claims);
	}
	arg = (struct sign_thread_arg){ s, 7, claims };
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_create(&th[t], NULL, sign_thread,
		    &arg), 0);
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (size_t i = 0; i < 7; i++)
		av_signer_free(s[i]);
	json_decref(claims);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_key_file_sign_verify),
		cmocka_unit_test(test_key_file_errors),
		cmocka_unit_test(test_kid_known_answers),
		cmocka_unit_test(test_kid_independent),
		cmocka_unit_test(test_jwt_rejects),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_ear_shape),
		cmocka_unit_test(test_ear_edges),
		cmocka_unit_test(test_interop_out),
		cmocka_unit_test(test_json_dumps_compact),
		cmocka_unit_test(test_sign_contexts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
