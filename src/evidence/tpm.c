/*
 * attestd - TPM 2.0 quotes, type "tpm" (docs/platforms/tpm.md).
 *
 * The building blocks here (quote and signature unmarshalling, AK keys,
 * signature and PCR digest verification, nonce binding, AK trust, event
 * log replay, claims, policy) are shared with the Azure vTPM forms
 * (azure_vtpm.c).  Every TPM structure goes through tpm2-tss's
 * libtss2-mu; nothing here reads TPM wire bytes by hand.
 *
 * References: TPM 2.0 Library Part 2 (Structures) s.10.12.12 TPMS_ATTEST,
 * s.10.12.1 TPMS_CLOCK_INFO, s.10.12.4 TPMS_QUOTE_INFO, s.11.3.4
 * TPMT_SIGNATURE, s.12.2.4 TPMT_PUBLIC, s.8.3 TPMA_OBJECT; Part 1
 * s.16 Names; Part 3 s.18.4 TPM2_Quote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "av/backend.h"
#include "av/binding.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/memo.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/result.h"
#include "evidence/tpm.h"

#define TPM_PLATFORM		"tpm"	/* trust-directory folder */
#define TPM_MIN_RSA_BITS	2048
#define TPM_MAX_CMDLINES	256
#define TPM_MAX_CMDLINE_LEN	4096

/*
 * tpm2-tss logs malformed input to stderr itself (WARNING/ERROR lines,
 * outside our JSON log).  Malformed evidence is ordinary input here and
 * is reported through av_err, so its logging is off unless the operator
 * set TSS2_LOG.  Runs before main(), while the process is one thread.
 */
static void __attribute__((constructor))
tpm_quiet_tss2(void)
{
	if (getenv("TSS2_LOG") == NULL)
		(void)setenv("TSS2_LOG", "all+NONE", 0);
}

/* ---- banks ------------------------------------------------------------ */

static const struct {
	uint16_t	 alg;
	size_t		 size;
	const char	*name;
} banks[TPM_NBANKS] = {
	[TPM_BANK_SHA1] =	{ TPM2_ALG_SHA1,	20, "sha1" },
	[TPM_BANK_SHA256] =	{ TPM2_ALG_SHA256,	32, "sha256" },
	[TPM_BANK_SHA384] =	{ TPM2_ALG_SHA384,	48, "sha384" },
	[TPM_BANK_SHA512] =	{ TPM2_ALG_SHA512,	64, "sha512" },
};

uint16_t
tpm_bank_alg(enum tpm_bank b)
{
	return ((unsigned)b < TPM_NBANKS) ? banks[b].alg : TPM2_ALG_NULL;
}

size_t
tpm_bank_size(enum tpm_bank b)
{
	return ((unsigned)b < TPM_NBANKS) ? banks[b].size : 0;
}

const char *
tpm_bank_name(enum tpm_bank b)
{
	return ((unsigned)b < TPM_NBANKS) ? banks[b].name : "unknown";
}

const EVP_MD *
tpm_bank_md(enum tpm_bank b)
{
	switch (b) {
	case TPM_BANK_SHA1:
		return EVP_sha1();
	case TPM_BANK_SHA256:
		return EVP_sha256();
	case TPM_BANK_SHA384:
		return EVP_sha384();
	case TPM_BANK_SHA512:
		return EVP_sha512();
	case TPM_NBANKS:
	default:
		return NULL;
	}
}

int
tpm_bank_from_alg(uint16_t alg)
{
	for (int b = 0; b < TPM_NBANKS; b++)
		if (banks[b].alg == alg)
			return b;
	return -1;
}

int
tpm_bank_from_name(const char *s)
{
	for (int b = 0; b < TPM_NBANKS; b++)
		if (strcmp(banks[b].name, s) == 0)
			return b;
	return -1;
}

/* ---- evidence objects ------------------------------------------------- */

/*
 * New, empty TPM evidence.  form is a static string naming the envelope.
 * Returns NULL on ENOMEM.
 */
struct tpm_ev *
tpm_ev_new(const char *form)
{
	struct tpm_ev	*ev;
	size_t		 pcrs = offsetof(struct tpm_ev, pcrs);
	size_t		 after = pcrs + sizeof(ev->pcrs);

	/*
	 * All zero but the PCR values, 6 of the 9 kB: a value is only read
	 * where its bank's present bit says tpm_pcr_set() wrote it.
	 */
	if ((ev = malloc(sizeof(*ev))) == NULL)
		return NULL;
	memset(ev, 0, pcrs);
	for (int b = 0; b < TPM_NBANKS; b++) {
		ev->pcrs.b[b].present = 0;
		ev->pcrs.b[b].quoted = 0;
	}
	memset((uint8_t *)ev + after, 0, sizeof(*ev) - after);
	ev->form = form;
	return ev;
}

static void
quote_cleanup(struct tpm_quote *q)
{
	free(q->msg);
	free(q->attest);
	free(q->rawsig);
	memset(q, 0, sizeof(*q));
}

/* Free TPM evidence and everything it owns (NULL-safe). */
void
tpm_ev_free(struct tpm_ev *ev)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->nquotes; i++)
		quote_cleanup(&ev->q[i]);
	EVP_PKEY_free(ev->ak);
	sk_X509_pop_free(ev->ak_chain, X509_free);
	tpm_evlog_free(ev->log);
	free(ev->evlog);
	json_decref(ev->hw_claims);
	if (ev->hw != NULL && ev->hw_backend != NULL)
		ev->hw_backend->free(ev->hw);
	free(ev);
}

/* ---- TPMS_ATTEST, TPMT_SIGNATURE -------------------------------------- */

/*
 * Part 2 s.10.12.12: TPMS_ATTEST, unmarshalled by Tss2_MU; the quote
 * must be a TPM-generated quote (magic, type) with nothing after it.
 */
int
tpm_attest_parse(const uint8_t *p, size_t n, struct tpm_quote *q,
    struct av_err *e)
{
	const TPML_PCR_SELECTION	*sel;
	size_t				 off = 0;

	if (p == NULL || n == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: empty quote");
	if (n > TPM_MAX_ATTEST)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: quote too large");
	/*
	 * Zeroed as far as a quote reaches: the rest of the attested union
	 * (other attestation types, 2 of the 2.3 kB) is never read, as the
	 * type must be a quote.
	 */
	if ((q->attest = malloc(sizeof(*q->attest))) == NULL ||
	    (q->msg = malloc(n)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	memset(q->attest, 0, offsetof(TPMS_ATTEST, attested) +
	    sizeof(q->attest->attested.quote));
	memcpy(q->msg, p, n);
	q->msglen = n;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(q->msg, n, &off, q->attest) !=
	    TSS2_RC_SUCCESS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: TPMS_ATTEST malformed or truncated");
	if (off != n)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: trailing bytes after TPMS_ATTEST");
	if (q->attest->magic != TPM2_GENERATED_VALUE)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: TPMS_ATTEST magic is not TPM_GENERATED_VALUE");
	if (q->attest->type != TPM2_ST_ATTEST_QUOTE)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: attestation is not a TPM2_Quote");
	sel = &q->attest->attested.quote.pcrSelect;
	if (sel->count > TPM2_NUM_PCR_BANKS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: too many PCR selections");
	for (uint32_t i = 0; i < sel->count; i++)
		if (sel->pcrSelections[i].sizeofSelect > TPM2_PCR_SELECT_MAX)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: PCR selection bitmap too large");
	return 0;
}

/* Part 2 s.11.3.4: TPMT_SIGNATURE, unmarshalled by Tss2_MU. */
int
tpm_sig_parse(const uint8_t *p, size_t n, struct tpm_quote *q,
    struct av_err *e)
{
	size_t off = 0;

	if (p == NULL || n == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: empty signature");
	if (n > sizeof(TPMT_SIGNATURE))
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: signature too large");
	memset(&q->sig, 0, sizeof(q->sig));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(p, n, &off, &q->sig) !=
	    TSS2_RC_SUCCESS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: TPMT_SIGNATURE malformed or truncated");
	if (off != n)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: trailing bytes after TPMT_SIGNATURE");
	switch (q->sig.sigAlg) {
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
	case TPM2_ALG_ECDSA:
		break;
	default:
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "tpm: signature scheme is not RSASSA, RSAPSS or ECDSA");
	}
	q->raw_sig = false;
	return 0;
}

/* A bare RSASSA-PKCS1-v1_5 SHA-256 signature (Azure vTPM quotes). */
int
tpm_sig_set_raw(const uint8_t *p, size_t n, struct tpm_quote *q,
    struct av_err *e)
{
	if (p == NULL || n == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: empty signature");
	if (n > TPM2_MAX_RSA_KEY_BYTES)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: signature too large");
	free(q->rawsig);
	if ((q->rawsig = malloc(n)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	memcpy(q->rawsig, p, n);
	q->rawsiglen = n;
	q->raw_sig = true;
	return 0;
}

/* ---- AK public keys --------------------------------------------------- */

/*
 * RSA public key from a big-endian modulus and exponent (JWK "n"/"e",
 * TPM unique.rsa).  Returns a new key (caller frees) or NULL.
 */
EVP_PKEY *
tpm_rsa_pkey(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*pk = NULL;
	BIGNUM		*bn = NULL, *be = NULL;

	if (nlen == 0 || nlen > 1024 || elen == 0 || elen > 8)
		return NULL;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
 out:
	ERR_clear_error();
	BN_free(bn);
	BN_free(be);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

/*
 * Part 2 s.12.2.4: an RSA key (unique.rsa = modulus, exponent 0 = 65537)
 * or an ECC key on NIST P-256/P-384 (unique.ecc = point).
 */
int
tpm_public_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out, struct av_err *e)
{
	uint8_t		 pt[2 * 48], eb[4];
	const char	*curve;
	size_t		 fs;
	uint32_t	 exp;
	EVP_PKEY	*pk;

	*out = NULL;
	switch (pub->type) {
	case TPM2_ALG_RSA:
		if (pub->parameters.rsaDetail.keyBits < TPM_MIN_RSA_BITS ||
		    pub->unique.rsa.size * 8u !=
		    pub->parameters.rsaDetail.keyBits)
			return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
			    "tpm: AK is an RSA key under 2048 bits or with a "
			    "modulus of the wrong size");
		exp = pub->parameters.rsaDetail.exponent;
		if (exp == 0)
			exp = 65537;
		for (int i = 0; i < 4; i++)
			eb[i] = (uint8_t)(exp >> (24 - 8 * i));
		pk = tpm_rsa_pkey(pub->unique.rsa.buffer, pub->unique.rsa.size,
		    eb, sizeof(eb));
		break;
	case TPM2_ALG_ECC:
		switch (pub->parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256:
			curve = "P-256";
			fs = 32;
			break;
		case TPM2_ECC_NIST_P384:
			curve = "P-384";
			fs = 48;
			break;
		default:
			return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
			    "tpm: AK curve is not NIST P-256 or P-384");
		}
		if (pub->unique.ecc.x.size > fs || pub->unique.ecc.y.size > fs)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: AK point coordinate too large");
		/* left-pad each coordinate to the field size */
		memset(pt, 0, sizeof(pt));
		memcpy(pt + fs - pub->unique.ecc.x.size,
		    pub->unique.ecc.x.buffer, pub->unique.ecc.x.size);
		memcpy(pt + 2 * fs - pub->unique.ecc.y.size,
		    pub->unique.ecc.y.buffer, pub->unique.ecc.y.size);
		pk = av_ec_pubkey_from_raw(curve, pt, 2 * fs);
		break;
	default:
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "tpm: AK is neither an RSA nor an ECC key");
	}
	if (pk == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: AK public key invalid");
	*out = pk;
	return 0;
}

/* Accept RSA >= 2048 bits and EC keys on P-256/P-384 only. */
static int
check_pkey(EVP_PKEY *pk, struct av_err *e)
{
	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (EVP_PKEY_get_bits(pk) < TPM_MIN_RSA_BITS)
			return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
			    "tpm: AK is an RSA key under 2048 bits");
		return 0;
	}
	if (av_ec_is_curve(pk, "P-256") || av_ec_is_curve(pk, "P-384"))
		return 0;
	ERR_clear_error();
	return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
	    "tpm: AK is not RSA or ECC P-256/P-384");
}

/*
 * DER SubjectPublicKeyInfo (RFC 5280 s.4.1, RFC 3279 s.2.3.1, RFC 5480
 * s.2) of an RSA or P-256/P-384 key, written from the key's components:
 * OpenSSL 3.0's i2d_PUBKEY goes through the encoder framework and costs
 * more than the quote's signature check.  tests/unit/test_tpm.c checks
 * the result against i2d_PUBKEY.
 */
struct der {
	uint8_t	*p;
	size_t	 len, cap;
	bool	 bad;
};

static void
der_put(struct der *d, const void *b, size_t n)
{
	if (d->bad || d->len + n > d->cap) {
		d->bad = true;
		return;
	}
	memcpy(d->p + d->len, b, n);
	d->len += n;
}

static void
der_len(struct der *d, size_t n)
{
	uint8_t b[3];

	if (n < 0x80) {
		b[0] = (uint8_t)n;
		der_put(d, b, 1);
	} else if (n < 0x100) {
		b[0] = 0x81;
		b[1] = (uint8_t)n;
		der_put(d, b, 2);
	} else if (n < 0x10000) {
		b[0] = 0x82;
		b[1] = (uint8_t)(n >> 8);
		b[2] = (uint8_t)n;
		der_put(d, b, 3);
	} else
		d->bad = true;
}

/* Length of a DER length field for n content bytes. */
static size_t
der_lenlen(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

/* INTEGER content length of big-endian unsigned v (leading zeros dropped). */
static size_t
der_int_body(const uint8_t **v, size_t *n)
{
	while (*n > 1 && (*v)[0] == 0) {
		(*v)++;
		(*n)--;
	}
	return *n + (((*v)[0] & 0x80) ? 1 : 0);
}

static void
der_int(struct der *d, const uint8_t *v, size_t n)
{
	size_t		 body = der_int_body(&v, &n);
	uint8_t		 t = 0x02, z = 0;

	der_put(d, &t, 1);
	der_len(d, body);
	if (body > n)
		der_put(d, &z, 1);
	der_put(d, v, n);
}

static int
spki_rsa(EVP_PKEY *pk, uint8_t out[32])
{
	static const uint8_t alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	BIGNUM		*bn = NULL, *be = NULL;
	uint8_t		 nb[1024], eb[16], buf[1200], t;
	const uint8_t	*np = nb, *ep = eb;
	size_t		 nl, el, ni, ei, seq, bits;
	struct der	 d = { buf, 0, sizeof(buf), false };
	int		 rc = -1;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &be) != 1 ||
	    BN_num_bytes(bn) > (int)sizeof(nb) ||
	    BN_num_bytes(be) > (int)sizeof(eb) || BN_is_zero(be))
		goto out;
	nl = (size_t)BN_bn2bin(bn, nb);
	el = (size_t)BN_bn2bin(be, eb);
	ni = der_int_body(&np, &nl);
	ei = der_int_body(&ep, &el);
	/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
	seq = 1 + der_lenlen(ni) + ni + 1 + der_lenlen(ei) + ei;
	bits = 1 + 1 + der_lenlen(seq) + seq;	/* unused-bits byte + SEQUENCE */
	t = 0x30;
	der_put(&d, &t, 1);
	der_len(&d, sizeof(alg) + 1 + der_lenlen(bits) + bits);
	der_put(&d, alg, sizeof(alg));
	t = 0x03;
	der_put(&d, &t, 1);
	der_len(&d, bits);
	t = 0x00;
	der_put(&d, &t, 1);
	t = 0x30;
	der_put(&d, &t, 1);
	der_len(&d, seq);
	der_int(&d, np, nl);
	der_int(&d, ep, el);
	if (d.bad)
		goto out;
	av_sha256(buf, d.len, out);
	rc = 0;
 out:
	BN_free(bn);
	BN_free(be);
	return rc;
}

static int
spki_ec(EVP_PKEY *pk, uint8_t out[32])
{
	/* SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING } */
	static const uint8_t p256[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07,
	    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
	    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };
	static const uint8_t p384[] = { 0x30, 0x76, 0x30, 0x10, 0x06, 0x07,
	    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81,
	    0x04, 0x00, 0x22, 0x03, 0x62, 0x00 };
	uint8_t		 buf[sizeof(p256) + 1 + 2 * 48], pt[1 + 2 * 48];
	char		 grp[32];
	size_t		 glen, ptlen, hl, fs;
	const uint8_t	*h;

	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    grp, sizeof(grp), &glen) != 1)
		return -1;
	if (strcmp(grp, "prime256v1") == 0) {
		h = p256;
		hl = sizeof(p256);
		fs = 32;
	} else if (strcmp(grp, "secp384r1") == 0) {
		h = p384;
		hl = sizeof(p384);
		fs = 48;
	} else
		return -1;
	/* uncompressed points only; others take i2d_PUBKEY's path */
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt), &ptlen) != 1 || ptlen != 1 + 2 * fs || pt[0] != 0x04)
		return -1;
	memcpy(buf, h, hl);
	memcpy(buf + hl, pt, ptlen);
	av_sha256(buf, hl + ptlen, out);
	return 0;
}

/* "RSA-2048", "EC-P256": the AK claim's "type". */
static void
ak_type_name(char *buf, size_t len, bool rsa, int bits)
{
	snprintf(buf, len, "%s-%s%d", rsa ? "RSA" : "EC", rsa ? "" : "P", bits);
}

/*
 * Take a reference to pk as the AK; record the SHA-256 of its DER SPKI,
 * its type and signature size (read per quote, so found once here).
 */
int
tpm_ak_set_pkey(struct tpm_ev *ev, EVP_PKEY *pk, struct av_err *e)
{
	unsigned char	*der = NULL;
	bool		 rsa;
	int		 rc, n;

	if (check_pkey(pk, e) != 0)
		return -1;
	rsa = EVP_PKEY_is_a(pk, "RSA");
	rc = rsa ? spki_rsa(pk, ev->ak_spki_sha256) :
	    spki_ec(pk, ev->ak_spki_sha256);
	if (rc != 0) {
		/* the general (slow) encoder */
		if ((n = i2d_PUBKEY(pk, &der)) <= 0) {
			ERR_clear_error();
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: AK public key invalid");
		}
		av_sha256(der, (size_t)n, ev->ak_spki_sha256);
		OPENSSL_free(der);
	}
	ERR_clear_error();
	if (EVP_PKEY_up_ref(pk) != 1)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	EVP_PKEY_free(ev->ak);
	ev->ak = pk;
	ev->ak_rsa = rsa;
	ev->ak_size = (size_t)EVP_PKEY_get_size(pk);
	ak_type_name(ev->ak_type, sizeof(ev->ak_type), rsa,
	    EVP_PKEY_get_bits(pk));
	return 0;
}

/* Part 1 s.16: Name = nameAlg || H_nameAlg(TPMT_PUBLIC as marshalled). */
static void
set_name(struct tpm_ev *ev, const uint8_t *tpmt, size_t n)
{
	int	b = tpm_bank_from_alg(ev->ak_pub.nameAlg);

	ev->ak_name_len = 0;
	if (b < 0 || av_digest(tpm_bank_md(b), tpmt, n, ev->ak_name + 2) != 0)
		return;
	ev->ak_name[0] = (uint8_t)(ev->ak_pub.nameAlg >> 8);
	ev->ak_name[1] = (uint8_t)ev->ak_pub.nameAlg;
	ev->ak_name_len = 2 + tpm_bank_size(b);
}

/*
 * Parsed AKs by the bytes they came from (include/av/memo.h): a fleet
 * quotes with the same AKs again and again, and building the key
 * (provider import, the RSA Montgomery set-up on first use) and its SPKI
 * hash costs more than an RSA-2048 verification.  The entry is what
 * parsing sets in a tpm_ev; the key is shared, immutable.  Keys: 'A' +
 * the AK's bytes (tpm_ak_parse), 'T' + the base64 text of "ak_pub" as
 * the request carries it (load_ak: no decoding either).
 */
struct ak_memo {
	int		 refs;		/* atomic */
	TPMT_PUBLIC	 pub;
	bool		 has_tpmt;
	uint8_t		 name[2 + TPM_MAX_DIGEST];
	size_t		 name_len;
	EVP_PKEY	*pk;		/* owned reference */
	uint8_t		 spki[32];
	char		 type[16];
	bool		 rsa;
	size_t		 size;
};

static void *
ak_memo_ref(void *p)
{
	struct ak_memo *m = p;

	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

static void
ak_memo_unref(void *p)
{
	struct ak_memo *m = p;

	if (m == NULL || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	EVP_PKEY_free(m->pk);
	free(m);
}

static struct av_memo ak_memo = AV_MEMO_INITIALIZER(ak_memo_ref,
    ak_memo_unref);

#define AK_MEMO_MAX	(64 * 1024)	/* larger keys: not remembered */

static int ak_parse(struct tpm_ev *, const uint8_t *, size_t, struct av_err *);

/*
 * Set ev's AK from the entry remembered for (tag, p[0..n)).  Returns 1
 * if there was one, 0 if not, -1 with e on failure.
 */
static int
ak_recall(struct tpm_ev *ev, uint8_t tag, const void *p, size_t n,
    struct av_err *e)
{
	struct ak_memo	*m;

	if (p == NULL || n == 0 || n > AK_MEMO_MAX ||
	    (m = av_memo_get(&ak_memo, tag, p, n, NULL, 0)) == NULL)
		return 0;
	if (EVP_PKEY_up_ref(m->pk) != 1) {
		ak_memo_unref(m);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	ev->ak_pub = m->pub;
	if (m->has_tpmt) {
		ev->has_tpmt = true;
		memcpy(ev->ak_name, m->name, sizeof(ev->ak_name));
		ev->ak_name_len = m->name_len;
	}
	memcpy(ev->ak_spki_sha256, m->spki, 32);
	memcpy(ev->ak_type, m->type, sizeof(ev->ak_type));
	ev->ak_rsa = m->rsa;
	ev->ak_size = m->size;
	EVP_PKEY_free(ev->ak);
	ev->ak = m->pk;
	ak_memo_unref(m);
	return 1;
}

/* Remember ev's AK (as parsed) for (tag, p[0..n)); failures ignored. */
static void
ak_remember(const struct tpm_ev *ev, uint8_t tag, const void *p, size_t n)
{
	struct ak_memo	*m;

	if (p == NULL || n == 0 || n > AK_MEMO_MAX || ev->ak == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		return;
	m->refs = 1;
	m->pub = ev->ak_pub;
	m->has_tpmt = ev->has_tpmt;
	memcpy(m->name, ev->ak_name, sizeof(m->name));
	m->name_len = ev->ak_name_len;
	memcpy(m->spki, ev->ak_spki_sha256, 32);
	memcpy(m->type, ev->ak_type, sizeof(m->type));
	m->rsa = ev->ak_rsa;
	m->size = ev->ak_size;
	if (EVP_PKEY_up_ref(ev->ak) == 1) {
		m->pk = ev->ak;
		av_memo_put(&ak_memo, tag, p, n, NULL, 0, m);
	}
	ak_memo_unref(m);
}

/*
 * The AK as TPM2B_PUBLIC or TPMT_PUBLIC (Tss2_MU), or as a DER or PEM
 * SubjectPublicKeyInfo, through the memo.  Sets ev's AK fields as the
 * parse does.  Returns 0, or -1 with e.
 */
int
tpm_ak_parse(struct tpm_ev *ev, const uint8_t *p, size_t n, struct av_err *e)
{
	int	rc;

	if ((rc = ak_recall(ev, 'A', p, n, e)) != 0)
		return rc > 0 ? 0 : -1;
	if (ak_parse(ev, p, n, e) != 0)
		return -1;
	ak_remember(ev, 'A', p, n);
	return 0;
}

/* The parse behind tpm_ak_parse(). */
static int
ak_parse(struct tpm_ev *ev, const uint8_t *p, size_t n, struct av_err *e)
{
	TPM2B_PUBLIC	 pub2b;
	EVP_PKEY	*pk = NULL;
	const uint8_t	*tpmt = NULL, *dp;
	size_t		 off = 0, tpmtlen = 0;
	BIO		*bio;
	int		 rc;

	if (p == NULL || n == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: empty AK public key");
	if (n > 64 * 1024)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: AK public key too large");
	memset(&pub2b, 0, sizeof(pub2b));
	if (n >= 2 && (((size_t)p[0] << 8) | p[1]) == n - 2 &&
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, n, &off, &pub2b) ==
	    TSS2_RC_SUCCESS && off == n) {
		ev->ak_pub = pub2b.publicArea;
		tpmt = p + 2;
		tpmtlen = n - 2;
	} else {
		off = 0;
		memset(&ev->ak_pub, 0, sizeof(ev->ak_pub));
		if (Tss2_MU_TPMT_PUBLIC_Unmarshal(p, n, &off, &ev->ak_pub) ==
		    TSS2_RC_SUCCESS && off == n) {
			tpmt = p;
			tpmtlen = n;
		}
	}
	if (tpmt != NULL) {
		ev->has_tpmt = true;
		set_name(ev, tpmt, tpmtlen);
		if (tpm_public_to_pkey(&ev->ak_pub, &pk, e) != 0)
			return -1;
	} else if (n > 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
		if ((bio = BIO_new_mem_buf(p, (int)n)) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		dp = p;
		pk = d2i_PUBKEY(NULL, &dp, (long)n);
		if (pk != NULL && dp != p + n) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	ERR_clear_error();
	if (pk == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: AK public key is not "
		    "a TPM2B_PUBLIC, TPMT_PUBLIC or SubjectPublicKeyInfo");
	rc = tpm_ak_set_pkey(ev, pk, e);
	EVP_PKEY_free(pk);
	return rc;
}

/* Store PCR idx of bank b. */
int
tpm_pcr_set(struct tpm_pcrs *pcrs, int b, unsigned idx, const uint8_t *v,
    size_t n, struct av_err *e)
{
	if (b < 0 || b >= TPM_NBANKS || idx >= TPM_NPCR)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: PCR index out of range");
	if (n != tpm_bank_size(b))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: PCR value length differs from its bank's digest");
	memcpy(pcrs->b[b].v[idx], v, n);
	pcrs->b[b].present |= 1u << idx;
	return 0;
}

/* ---- quote verification ------------------------------------------------ */

static const EVP_MD *
sig_md(uint16_t hash, struct av_err *e)
{
	switch (hash) {
	case TPM2_ALG_SHA256:
		return EVP_sha256();
	case TPM2_ALG_SHA384:
		return EVP_sha384();
	case TPM2_ALG_SHA512:
		return EVP_sha512();
	default:
		AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "tpm: signature hash is not SHA-256, SHA-384 or SHA-512");
		return NULL;
	}
}

/* The AK's type and size were found when it was set (tpm_ak_set_pkey). */
static int
rsa_verify(const struct tpm_ev *ev, const EVP_MD *md, bool pss,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen,
    struct av_err *e)
{
	struct av_err	ce = { 0 };

	if (!ev->ak_rsa)
		return AV_FAIL(e, AV_E_SIGNATURE,
		    "tpm: RSA signature but the AK is not an RSA key");
	if (ev->ak_size != siglen)
		return AV_FAIL(e, AV_E_SIGNATURE,
		    "tpm: RSA signature length differs from the AK size");
	/* a prepared context per AK and thread (src/crypto/sig.c) */
	if (av_rsa_verify(ev->ak, md, pss, msg, msglen, sig, siglen,
	    &ce) == 0)
		return 0;
	if (ce.code == AV_E_SIGNATURE)
		return AV_FAIL(e, AV_E_SIGNATURE,
		    "tpm: quote signature does not verify");
	return AV_FAIL(e, AV_E_UNSUPPORTED_ALG, "tpm: cannot verify with the AK");
}

/* Verify q's signature with ev's AK; *mdp = the scheme's hash. */
static int
quote_sig_verify(const struct tpm_quote *q, const struct tpm_ev *ev,
    const EVP_MD **mdp, struct av_err *e)
{
	const TPMS_SIGNATURE_ECC	*ecc;
	const EVP_MD			*md;

	if (q->raw_sig) {
		*mdp = EVP_sha256();
		return rsa_verify(ev, *mdp, false, q->msg, q->msglen,
		    q->rawsig, q->rawsiglen, e);
	}
	switch (q->sig.sigAlg) {
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
		if ((md = sig_md(q->sig.signature.rsassa.hash, e)) == NULL)
			return -1;
		*mdp = md;
		return rsa_verify(ev, md, q->sig.sigAlg == TPM2_ALG_RSAPSS,
		    q->msg, q->msglen, q->sig.signature.rsassa.sig.buffer,
		    q->sig.signature.rsassa.sig.size, e);
	case TPM2_ALG_ECDSA:
		ecc = &q->sig.signature.ecdsa;
		if ((md = sig_md(ecc->hash, e)) == NULL)
			return -1;
		*mdp = md;
		if (ev->ak_rsa)
			return AV_FAIL(e, AV_E_SIGNATURE,
			    "tpm: ECDSA signature but the AK is not an ECC key");
		if (av_ecdsa_verify_rs(ev->ak, md, q->msg, q->msglen,
		    ecc->signatureR.buffer, ecc->signatureR.size,
		    ecc->signatureS.buffer, ecc->signatureS.size, e) != 0)
			return AV_FAIL(e, AV_E_SIGNATURE,
			    "tpm: quote signature does not verify");
		return 0;
	default:
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "tpm: unsupported signature scheme");
	}
}

/*
 * Digests of PCR values by the values (and the hash): a machine quotes
 * the same PCR values until it boots something else, so the quote after
 * the first finds the digest with one compare of the values instead of
 * hashing them (768 bytes for 24 SHA-256 PCRs).  A value is H(bytes) of
 * exactly the bytes of its key, so a hit is never a different answer;
 * only values whose digest matched a quote (whose signature verified
 * first) are kept.  The memo is bounded (include/av/memo.h): values that
 * never repeat only cost the slots they pass through.
 */
struct pcr_digest {
	int		 refs;		/* atomic */
	unsigned	 len;
	uint8_t		 d[EVP_MAX_MD_SIZE];
};

static void *
pcr_digest_ref(void *p)
{
	struct pcr_digest *pd = p;

	__atomic_add_fetch(&pd->refs, 1, __ATOMIC_RELAXED);
	return pd;
}

static void
pcr_digest_unref(void *p)
{
	struct pcr_digest *pd = p;

	if (pd != NULL && __atomic_sub_fetch(&pd->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		free(pd);
}

static struct av_memo pcr_digest_memo = AV_MEMO_INITIALIZER(pcr_digest_ref,
    pcr_digest_unref);

/* The memo key's first part: md's NID. */
static void
pcr_digest_tag(const EVP_MD *md, uint8_t nid[4])
{
	unsigned t = (unsigned)EVP_MD_get_type(md);

	for (int i = 0; i < 4; i++)
		nid[i] = (uint8_t)(t >> (8 * i));
}

/*
 * md(p[0..n)) into out (EVP_MAX_MD_SIZE bytes) and *outlen, from the memo
 * if there (*hit) or computed.  Returns 0 or -1.
 */
static int
pcr_values_digest(const EVP_MD *md, const uint8_t *p, size_t n,
    uint8_t *out, unsigned *outlen, bool *hit)
{
	struct pcr_digest	*pd;
	uint8_t			 nid[4];
	int			 len;

	pcr_digest_tag(md, nid);
	if ((pd = av_memo_get(&pcr_digest_memo, 'D', nid, sizeof(nid), p,
	    n)) != NULL) {
		memcpy(out, pd->d, pd->len);
		*outlen = pd->len;
		*hit = true;
		pcr_digest_unref(pd);
		return 0;
	}
	*hit = false;
	if ((len = EVP_MD_get_size(md)) <= 0 || len > EVP_MAX_MD_SIZE ||
	    av_digest(md, p, n, out) != 0)
		return -1;
	*outlen = (unsigned)len;
	return 0;
}

/* Remember d as md(p[0..n)); failures are ignored. */
static void
pcr_values_remember(const EVP_MD *md, const uint8_t *p, size_t n,
    const uint8_t *d, unsigned dlen)
{
	struct pcr_digest	*pd;
	uint8_t			 nid[4];

	if (dlen > EVP_MAX_MD_SIZE || (pd = calloc(1, sizeof(*pd))) == NULL)
		return;
	pcr_digest_tag(md, nid);
	pd->refs = 1;
	pd->len = dlen;
	memcpy(pd->d, d, dlen);
	av_memo_put(&pcr_digest_memo, 'D', nid, sizeof(nid), p, n, pd);
	pcr_digest_unref(pd);
}

/*
 * Part 3 s.18.4.1: pcrDigest is the digest, with the signing scheme's
 * hash, of the selected PCR values concatenated in selection order: each
 * TPMS_PCR_SELECTION in turn, PCRs by ascending index within it.  The
 * values are gathered and hashed in one call (av_digest: a prepared
 * digest, no provider fetch per quote), or their digest is found in the
 * memo above.
 */
static int
quote_pcr_verify(const struct tpm_quote *q, const EVP_MD *md,
    struct tpm_pcrs *pcrs, struct av_err *e)
{
	const TPML_PCR_SELECTION	*sel = &q->attest->attested.quote.pcrSelect;
	const TPM2B_DIGEST		*want = &q->attest->attested.quote.pcrDigest;
	uint32_t			 covered[TPM_NBANKS] = { 0 };
	uint8_t				 got[EVP_MAX_MD_SIZE];
	uint8_t				 stackbuf[TPM_NPCR * TPM_MAX_DIGEST];
	uint8_t				*buf = stackbuf;
	size_t				 len = 0, cap = sizeof(stackbuf);
	unsigned			 glen;
	uint32_t			 mask;
	size_t				 ds;
	bool				 hit, high;
	int				 rc = -1;

	/* a bank may be selected twice: at most 16 x 24 x 64 bytes */
	if (sel->count > 1) {
		cap = (size_t)sel->count * TPM_NPCR * TPM_MAX_DIGEST;
		if ((buf = malloc(cap)) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		int b = tpm_bank_from_alg(s->hash);

		if (b < 0) {
			AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
			    "tpm: quote selects an unsupported PCR bank");
			goto out;
		}
		/* the bitmap as a mask: PCR 8j+k is bit k of byte j */
		mask = 0;
		high = false;
		for (unsigned j = 0; j < s->sizeofSelect; j++) {
			if (j * 8 >= TPM_NPCR)
				high |= s->pcrSelect[j] != 0;
			else
				mask |= (uint32_t)s->pcrSelect[j] << (j * 8);
		}
		/* a missing PCR below 24 is the first error, as it comes first */
		if (mask & ~pcrs->b[b].present) {
			AV_FAIL(e, AV_E_PCR_DIGEST, "tpm: a quoted PCR value is "
			    "missing from the evidence");
			goto out;
		}
		if (high) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: quote selects a PCR above 23");
			goto out;
		}
		ds = tpm_bank_size(b);
		if (len + TPM_NPCR * ds > cap) {
			AV_FAIL(e, AV_E_INTERNAL, "internal error");
			goto out;
		}
		for (unsigned idx = 0; idx < TPM_NPCR; idx++)
			if (mask & (1u << idx)) {
				memcpy(buf + len, pcrs->b[b].v[idx], ds);
				len += ds;
			}
		covered[b] |= mask;
	}
	if (pcr_values_digest(md, buf, len, got, &glen, &hit) != 0) {
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	if (want->size != glen || !av_memeq_ct(want->buffer, got, glen)) {
		AV_FAIL(e, AV_E_PCR_DIGEST,
		    "tpm: PCR values do not match the quoted PCR digest");
		goto out;
	}
	/* only the values of a quote whose digest matched are remembered */
	if (!hit)
		pcr_values_remember(md, buf, len, got, glen);
	for (int b = 0; b < TPM_NBANKS; b++)
		pcrs->b[b].quoted |= covered[b];
	rc = 0;
 out:
	if (buf != stackbuf)
		free(buf);
	return rc;
}

int
tpm_quotes_verify(struct tpm_ev *ev, struct av_err *e)
{
	const EVP_MD *md = NULL;

	if (ev->ak == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: no AK public key");
	if (ev->nquotes == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: no quote");
	if (ev->ak_size == 0) {
		/* ev->ak set without tpm_ak_set_pkey(): find what it keeps */
		ev->ak_rsa = EVP_PKEY_is_a(ev->ak, "RSA");
		ev->ak_size = (size_t)EVP_PKEY_get_size(ev->ak);
		ak_type_name(ev->ak_type, sizeof(ev->ak_type), ev->ak_rsa,
		    EVP_PKEY_get_bits(ev->ak));
	}
	for (size_t i = 0; i < ev->nquotes; i++) {
		if (quote_sig_verify(&ev->q[i], ev, &md, e) != 0)
			return -1;
		if (quote_pcr_verify(&ev->q[i], md, &ev->pcrs, e) != 0)
			return -1;
	}
	ev->verified = true;
	return 0;
}

/* ---- nonce and binding ------------------------------------------------- */

/*
 * extraData (src/verify/binding.c): with runtime_data it must be
 * H(nonce || runtime_data), H = SHA-256 or SHA-512 by its size (the
 * nonce alone there is binding_mismatch); without, the nonce followed by
 * zero bytes.  An empty nonce is none.
 */
static const struct av_binding_rule tpm_bind_rule = {
	.claim = "extra_data",
	.forms = AV_BIND_PADDED,
	.forms_rt = AV_BIND_SHA256 | AV_BIND_SHA512,
	.flags = AV_BIND_F_EMPTY_NONCE | AV_BIND_F_RT_NONCE,
	.nonce_msg = "tpm: quote extraData differs from the request nonce",
	.binding_msg = "tpm: quote extraData carries the nonce but not the "
	    "runtime data hash",
};

void
tpm_check_nonce(struct tpm_ev *ev, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	struct av_binding	b;
	bool			bound = true;

	if (!av_binding_has_nonce(ctx, &tpm_bind_rule, sm))
		return;
	for (size_t i = 0; i < ev->nquotes; i++) {
		const TPM2B_DATA *x = &ev->q[i].attest->extraData;

		if (av_binding_check(ctx, x->buffer, x->size, &tpm_bind_rule,
		    sm, &b)) {
			if (!b.key)
				bound = false;
			continue;
		}
		bound = false;
		/* the nonce without the runtime data hash: check the rest */
		if (b.code != AV_E_BINDING)
			return;
	}
	ev->nonce_checked = true;
	/* out of memory: no key attestation */
	if (ctx->runtime_data != NULL && bound)
		(void)av_submod_key_attestation(sm, ctx->runtime_data,
		    ctx->runtime_data_len);
}

/* ---- AK trust ---------------------------------------------------------- */

/*
 * A quote means something only when signed by a restricted signing key
 * (Part 1 s.25.2.3): an unrestricted key signs any digest, including a
 * forged TPMS_ATTEST.  Checked whenever the TPMT_PUBLIC is known.
 */
static bool
restricted_signer(const TPMT_PUBLIC *p)
{
	return (p->objectAttributes & TPMA_OBJECT_RESTRICTED) &&
	    (p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) &&
	    !(p->objectAttributes & TPMA_OBJECT_DECRYPT);
}

/*
 * Part 1 s.16: an object's qualified name is H_nameAlg(parent's
 * qualified name || Name), prefixed with its nameAlg, the object's own.
 * Without the parent's qualified name that is all that can be checked
 * against the AK: each quote's qualifiedSigner is nameAlg || a digest of
 * nameAlg's size.  (Names of the AK's parents are not in the evidence.)
 */
static bool
qsigner_alg_ok(const struct tpm_ev *ev)
{
	int b = tpm_bank_from_alg(ev->ak_pub.nameAlg);

	if (b < 0)
		return false;
	for (size_t i = 0; i < ev->nquotes; i++) {
		const TPM2B_NAME *qn = &ev->q[i].attest->qualifiedSigner;

		if (qn->size != 2 + tpm_bank_size(b) ||
		    qn->name[0] != (uint8_t)(ev->ak_pub.nameAlg >> 8) ||
		    qn->name[1] != (uint8_t)ev->ak_pub.nameAlg)
			return false;
	}
	return true;
}

int
tpm_ak_trust(struct tpm_ev *ev, const struct av_ctx *ctx,
    const struct tpm_pol *pol, struct av_err *e)
{
	struct av_chain_opts	 opts = { 0 };
	STACK_OF(X509)		*untrusted = NULL, *coll = NULL;
	X509			*leaf;
	int			 rc = -1;

	if (ev->has_tpmt && !restricted_signer(&ev->ak_pub))
		return AV_FAIL(e, AV_E_AK_UNTRUSTED,
		    "tpm: AK is not a restricted signing key");
	if (ev->has_tpmt && !qsigner_alg_ok(ev))
		return AV_FAIL(e, AV_E_AK_UNTRUSTED, "tpm: the quote's "
		    "qualifiedSigner is not a name of the AK's name algorithm");
	if (ev->ak_chain != NULL && sk_X509_num(ev->ak_chain) > 0) {
		leaf = sk_X509_value(ev->ak_chain, 0);
		if (EVP_PKEY_eq(X509_get0_pubkey(leaf), ev->ak) != 1) {
			ERR_clear_error();
			return AV_FAIL(e, AV_E_AK_UNTRUSTED,
			    "tpm: AK certificate is for another key");
		}
		if ((untrusted = sk_X509_new_null()) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		for (int i = 1; i < sk_X509_num(ev->ak_chain); i++)
			if (sk_X509_push(untrusted,
			    sk_X509_value(ev->ak_chain, i)) <= 0)
				goto nomem;
		if (ctx->coll != NULL &&
		    (coll = av_collateral_certs(ctx->coll)) != NULL)
			for (int i = 0; i < sk_X509_num(coll); i++)
				if (sk_X509_push(untrusted,
				    sk_X509_value(coll, i)) <= 0)
					goto nomem;
		opts.platform = TPM_PLATFORM;
		if (ctx->trust == NULL) {
			AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
			    "tpm: no trust anchors configured");
			goto out;
		}
		if (av_chain_verify(ctx->trust, leaf, untrusted, ctx->now,
		    &opts, NULL, e) != 0)
			goto out;
		ev->trust |= TPM_TRUST_CERT;
	}
	if (pol != NULL && pol->enrolled.n > 0 &&
	    av_hexlist_contains(&pol->enrolled, ev->ak_spki_sha256, 32))
		ev->trust |= TPM_TRUST_ENROLLED;
	if (ev->trust == 0) {
		AV_FAIL(e, AV_E_AK_UNTRUSTED, "tpm: AK not trusted: no "
		    "certificate chain to a tpm anchor, no hardware binding, "
		    "not enrolled in the policy");
		goto out;
	}
	rc = 0;
	goto out;
 nomem:
	AV_FAIL(e, AV_E_NOMEM, "out of memory");
 out:
	sk_X509_free(untrusted);
	sk_X509_free(coll);
	return rc;
}

/* ---- event log --------------------------------------------------------- */

/*
 * PFP s.10.2: replaying the log per bank must give the quoted value of
 * every PCR the log extends and the quote covers.  Events of other PCRs
 * stay unverified and yield no claims.
 */
int
tpm_evlog_check(struct tpm_ev *ev, struct av_err *e)
{
	uint8_t		(*vals)[TPM_MAX_DIGEST];
	uint32_t	 touched, m;

	if (ev->log == NULL)
		return 0;
	if ((vals = calloc(TPM_NPCR, sizeof(*vals))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	for (int b = 0; b < TPM_NBANKS; b++) {
		if (tpm_evlog_replay(ev->log, b, vals, &touched) != 0)
			continue;
		m = touched & ev->pcrs.b[b].quoted;
		for (unsigned i = 0; i < TPM_NPCR; i++) {
			if (!(m & (1u << i)))
				continue;
			if (memcmp(vals[i], ev->pcrs.b[b].v[i],
			    tpm_bank_size(b)) != 0) {
				free(vals);
				return AV_FAIL(e, AV_E_EVENT_LOG, "tpm: event "
				    "log replay differs from a quoted PCR");
			}
		}
		ev->log_verified |= m;
	}
	free(vals);
	ev->log_replayed = true;
	return 0;
}

/* ---- claims ------------------------------------------------------------ */

static const char *
scheme_name(const struct tpm_quote *q)
{
	if (q->raw_sig)
		return "rsassa-sha256";
	switch (q->sig.sigAlg) {
	case TPM2_ALG_RSASSA:
		switch (q->sig.signature.rsassa.hash) {
		case TPM2_ALG_SHA256: return "rsassa-sha256";
		case TPM2_ALG_SHA384: return "rsassa-sha384";
		case TPM2_ALG_SHA512: return "rsassa-sha512";
		default: return "rsassa";
		}
	case TPM2_ALG_RSAPSS:
		switch (q->sig.signature.rsapss.hash) {
		case TPM2_ALG_SHA256: return "rsapss-sha256";
		case TPM2_ALG_SHA384: return "rsapss-sha384";
		case TPM2_ALG_SHA512: return "rsapss-sha512";
		default: return "rsapss";
		}
	case TPM2_ALG_ECDSA:
		switch (q->sig.signature.ecdsa.hash) {
		case TPM2_ALG_SHA256: return "ecdsa-sha256";
		case TPM2_ALG_SHA384: return "ecdsa-sha384";
		case TPM2_ALG_SHA512: return "ecdsa-sha512";
		default: return "ecdsa";
		}
	default:
		return "unknown";
	}
}

/*
 * Claims that repeat between the quotes of one machine, built once and
 * then shared: a bank's quoted PCR values ({"0": "<hex>", ...}, keyed by
 * bank, quoted PCRs and their values), a quote's PCR selection
 * ({"sha256": [0, ..., 23]}, keyed by the selection) and the AK's claims
 * when no certificate is involved (ak_json()).  A machine quotes the
 * same PCR values with the same AK until it boots something else, so
 * these are the same bytes quote after quote, and they are most of a
 * quote's claims (some 60 of 85 JSON values, each an allocation to make
 * and free).
 *
 * The objects are shared by requests on several threads, an exception to
 * "request threads never share a json_t" (STYLE.md s.5) made for
 * immutable values: nothing changes them after they are built (claims
 * are only read and serialised), jansson >= 2.13 keeps no state in a
 * value while it reads or dumps it, and its reference counts are atomic
 * (JSON_HAVE_ATOMIC_BUILTINS, checked below).  tests/unit/test_tpm.c
 * serialises shared claims from several threads (clean under TSan).  One
 * caveat: jansson's inline json_incref()/json_decref() first read the
 * count plainly (to skip its immortal true/false/null), which C11 calls
 * a race with another thread's atomic update; an aligned word read on
 * our targets, harmless, and the same for any jansson value shared by
 * reference between threads.
 */
#if !JSON_HAVE_ATOMIC_BUILTINS
#error "shared claims need jansson's atomic reference counts"
#endif

static void *
claims_ref(void *p)
{
	return json_incref(p);
}

static void
claims_unref(void *p)
{
	json_decref(p);
}

static struct av_memo claims_memo = AV_MEMO_INITIALIZER(claims_ref,
    claims_unref);

/*
 * Strings among a quote's claims that repeat between the quotes of one
 * machine, shared the same way: the format and signature scheme names,
 * the PCR digest (the same PCR values), the qualified signer (the same
 * AK) and the firmware version.  Their own memo, so that they do not
 * push the larger objects above out of theirs.
 */
static struct av_memo claim_str_memo = AV_MEMO_INITIALIZER(claims_ref,
    claims_unref);

enum claim_str { CS_NAME, CS_HEX, CS_FW };

static json_t *fw_json(uint64_t);

/*
 * The shared string claim of kind made from p[0..n): a static ASCII
 * name (CS_NAME), lower-case hex of bytes (CS_HEX) or a firmware
 * version (CS_FW, n 8).  New reference, or NULL on ENOMEM.
 */
static json_t *
shared_str(enum claim_str kind, const void *p, size_t n)
{
	json_t		*j;
	uint64_t	 fw;

	if ((j = av_memo_get(&claim_str_memo, (uint8_t)kind, p, n, NULL,
	    0)) != NULL)
		return j;
	switch (kind) {
	case CS_NAME:
		j = json_stringn_nocheck(p, n);
		break;
	case CS_HEX:
		j = av_json_hex(p, n);
		break;
	case CS_FW:
		memcpy(&fw, p, sizeof(fw));
		j = fw_json(fw);
		break;
	default:
		return NULL;
	}
	if (j != NULL)
		av_memo_put(&claim_str_memo, (uint8_t)kind, p, n, NULL, 0, j);
	return j;
}

/* {"0": "<hex>", ...} of bank b's PCRs in mask (new reference). */
static json_t *
bank_json(const struct tpm_pcr_bank *pb, int b, uint32_t mask)
{
	uint8_t	 key[1 + 4 + TPM_NPCR * TPM_MAX_DIGEST];
	size_t	 kl = 0, ds = tpm_bank_size(b);
	json_t	*bo;
	char	 idx[3];

	key[kl++] = (uint8_t)b;
	for (int k = 0; k < 4; k++)
		key[kl++] = (uint8_t)(mask >> (8 * k));
	for (unsigned i = 0; i < TPM_NPCR; i++)
		if (mask & (1u << i)) {
			memcpy(key + kl, pb->v[i], ds);
			kl += ds;
		}
	if ((bo = av_memo_get(&claims_memo, 'P', key, kl, NULL, 0)) != NULL)
		return bo;
	if ((bo = json_object()) == NULL)
		return NULL;
	for (unsigned i = 0; i < TPM_NPCR; i++) {
		if (!(mask & (1u << i)))
			continue;
		/* "0".."23": ASCII, no snprintf or key check */
		idx[0] = i < 10 ? (char)('0' + i) : (char)('0' + i / 10);
		idx[1] = i < 10 ? '\0' : (char)('0' + i % 10);
		idx[2] = '\0';
		if (json_object_set_new_nocheck(bo, idx,
		    av_json_hex(pb->v[i], ds)) != 0) {
			json_decref(bo);	/* incomplete: not shared */
			return NULL;
		}
	}
	av_memo_put(&claims_memo, 'P', key, kl, NULL, 0, bo);
	return bo;
}

/* {"sha256": [0, 1, ...], ...} of a PCR selection (new reference). */
static json_t *
selection_json(const TPML_PCR_SELECTION *sel)
{
	uint8_t	 key[1 + TPM2_NUM_PCR_BANKS * (3 + TPM2_PCR_SELECT_MAX)];
	size_t	 kl = 0;
	json_t	*s;
	bool	 ok = true;

	if (sel->count > TPM2_NUM_PCR_BANKS)	/* tpm_attest_parse() checks */
		return NULL;
	key[kl++] = (uint8_t)sel->count;
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[i];

		if (ps->sizeofSelect > TPM2_PCR_SELECT_MAX)
			return NULL;
		key[kl++] = (uint8_t)(ps->hash >> 8);
		key[kl++] = (uint8_t)ps->hash;
		key[kl++] = ps->sizeofSelect;
		memcpy(key + kl, ps->pcrSelect, ps->sizeofSelect);
		kl += ps->sizeofSelect;
	}
	if ((s = av_memo_get(&claims_memo, 'S', key, kl, NULL, 0)) != NULL)
		return s;
	if ((s = json_object()) == NULL)
		return NULL;
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[i];
		int	 b = tpm_bank_from_alg(ps->hash);
		json_t	*l;

		if (b < 0)
			continue;
		if ((l = json_object_get(s, tpm_bank_name(b))) == NULL &&
		    json_object_set_new_nocheck(s, tpm_bank_name(b),
		    l = json_array()) != 0)
			ok = false;
		for (unsigned j = 0; ok && j < ps->sizeofSelect; j++)
			for (unsigned k = 0; k < 8; k++)
				if ((ps->pcrSelect[j] & (1u << k)) &&
				    json_array_append_new(l,
				    json_integer(j * 8 + k)) != 0)
					ok = false;
	}
	if (!ok) {
		json_decref(s);		/* incomplete: not shared */
		return NULL;
	}
	av_memo_put(&claims_memo, 'S', key, kl, NULL, 0, s);
	return s;
}

/* The values of the first quote repeated at the top level (borrowed). */
struct quote_top {
	json_t	*clock, *reset_count, *restart_count, *safe, *fw, *extra;
};

/* "0x" and 16 lower-case hex digits, as "0x%016llx" prints them. */
static json_t *
fw_json(uint64_t v)
{
	static const char	 dig[] = "0123456789abcdef";
	char			 fw[18];

	fw[0] = '0';
	fw[1] = 'x';
	for (int i = 0; i < 16; i++)
		fw[2 + i] = dig[(v >> (60 - 4 * i)) & 0xf];
	return json_stringn_nocheck(fw, sizeof(fw));
}

/*
 * Claims of one quote.  Literal keys go in without jansson's UTF-8 check
 * (a quote's claims are some 40 values, built per verification).
 */
static json_t *
quote_json(const struct tpm_quote *q, struct quote_top *top)
{
	const TPMS_ATTEST		*a = q->attest;
	json_t				*o;

	memset(top, 0, sizeof(*top));
	if ((o = json_object()) == NULL)
		return NULL;
	top->extra = av_json_hex(a->extraData.buffer, a->extraData.size);
	top->clock = json_integer((json_int_t)a->clockInfo.clock);
	top->reset_count = json_integer(a->clockInfo.resetCount);
	top->restart_count = json_integer(a->clockInfo.restartCount);
	top->safe = json_boolean(a->clockInfo.safe);
	top->fw = shared_str(CS_FW, &a->firmwareVersion,
	    sizeof(a->firmwareVersion));
	json_object_set_new_nocheck(o, "sig_scheme", shared_str(CS_NAME,
	    scheme_name(q), strlen(scheme_name(q))));
	json_object_set_new_nocheck(o, "pcr_selection",
	    selection_json(&a->attested.quote.pcrSelect));
	json_object_set_new_nocheck(o, "pcr_digest", shared_str(CS_HEX,
	    a->attested.quote.pcrDigest.buffer,
	    a->attested.quote.pcrDigest.size));
	json_object_set_nocheck(o, "extra_data", top->extra);
	json_object_set_new_nocheck(o, "qualified_signer", shared_str(CS_HEX,
	    a->qualifiedSigner.name, a->qualifiedSigner.size));
	json_object_set_nocheck(o, "clock", top->clock);
	json_object_set_nocheck(o, "reset_count", top->reset_count);
	json_object_set_nocheck(o, "restart_count", top->restart_count);
	json_object_set_nocheck(o, "safe", top->safe);
	json_object_set_nocheck(o, "firmware_version", top->fw);
	/* o holds the references; top borrows them */
	json_decref(top->extra);
	json_decref(top->clock);
	json_decref(top->reset_count);
	json_decref(top->restart_count);
	json_decref(top->safe);
	json_decref(top->fw);
	return o;
}

/*
 * The AK's claims (new reference).  Without a certificate they are a
 * function of the AK and the trust paths established, and shared like
 * the PCR claims (keyed by those); with one they are built each time.
 */
static json_t *
ak_json(const struct tpm_ev *ev)
{
	uint8_t	 key[2 + sizeof(ev->ak_type) + 32 + sizeof(ev->ak_name)];
	size_t	 kl = 0;
	bool	 shared = !(ev->trust & TPM_TRUST_CERT), ok = true;
	json_t	*o, *t, *c;

	if (shared) {
		key[kl++] = (uint8_t)ev->trust;
		key[kl++] = (uint8_t)(ev->has_tpmt ? 1 +
		    restricted_signer(&ev->ak_pub) : 0);
		memcpy(key + kl, ev->ak_type, sizeof(ev->ak_type));
		kl += sizeof(ev->ak_type);
		memcpy(key + kl, ev->ak_spki_sha256, 32);
		kl += 32;
		memcpy(key + kl, ev->ak_name, ev->ak_name_len);
		kl += ev->ak_name_len;
		if ((o = av_memo_get(&claims_memo, 'K', key, kl, NULL,
		    0)) != NULL)
			return o;
	}
	if ((o = json_object()) == NULL || (t = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	ok &= json_object_set_new_nocheck(o, "type",
	    json_string(ev->ak_type)) == 0;
	ok &= json_object_set_new_nocheck(o, "spki_sha256",
	    av_json_hex(ev->ak_spki_sha256, 32)) == 0;
	if (ev->ak_name_len > 0)
		ok &= json_object_set_new_nocheck(o, "name",
		    av_json_hex(ev->ak_name, ev->ak_name_len)) == 0;
	if (ev->has_tpmt)
		ok &= json_object_set_new_nocheck(o, "restricted",
		    json_boolean(restricted_signer(&ev->ak_pub))) == 0;
	if (ev->trust & TPM_TRUST_CERT)
		ok &= json_array_append_new(t,
		    json_string_nocheck("certificate")) == 0;
	if (ev->trust & TPM_TRUST_HCL)
		ok &= json_array_append_new(t, json_string_nocheck("hcl")) == 0;
	if (ev->trust & TPM_TRUST_ENROLLED)
		ok &= json_array_append_new(t,
		    json_string_nocheck("enrolled")) == 0;
	ok &= json_object_set_new_nocheck(o, "trust", t) == 0;
	if ((ev->trust & TPM_TRUST_CERT) && ev->ak_chain != NULL &&
	    (c = json_object()) != NULL) {
		X509 *leaf = sk_X509_value(ev->ak_chain, 0);

		json_object_set_new_nocheck(c, "subject",
		    av_json_x509_name(X509_get_subject_name(leaf)));
		json_object_set_new_nocheck(c, "issuer",
		    av_json_x509_name(X509_get_issuer_name(leaf)));
		json_object_set_new_nocheck(o, "certificate", c);
	}
	if (shared && ok)	/* complete: shared */
		av_memo_put(&claims_memo, 'K', key, kl, NULL, 0, o);
	return o;
}

/*
 * Claims of TPM evidence verified by tpm_quotes_verify() (docs/platforms/
 * tpm.md): the quotes, the first quote's clock and firmware at the top,
 * the quoted PCR values, the AK, the verified event log's claims and the
 * hardware report's claims (Azure).  New object, or NULL on ENOMEM.
 */
json_t *
tpm_claims_json(const struct tpm_ev *ev)
{
	struct quote_top	 top = { 0 };
	json_t			*o, *qs = NULL, *pcrs = NULL;

	if ((o = json_object()) == NULL || (qs = json_array()) == NULL ||
	    (pcrs = json_object()) == NULL) {
		json_decref(o);
		json_decref(qs);
		return NULL;
	}
	/* a static ASCII name */
	json_object_set_new_nocheck(o, "format", shared_str(CS_NAME, ev->form,
	    strlen(ev->form)));
	for (size_t i = 0; i < ev->nquotes; i++) {
		struct quote_top t;

		json_array_append_new(qs, quote_json(&ev->q[i], &t));
		if (i == 0)
			top = t;
	}
	/* clockInfo and firmwareVersion of the first quote, at top level */
	if (json_array_get(qs, 0) != NULL) {
		json_object_set_nocheck(o, "clock", top.clock);
		json_object_set_nocheck(o, "reset_count", top.reset_count);
		json_object_set_nocheck(o, "restart_count", top.restart_count);
		json_object_set_nocheck(o, "safe", top.safe);
		json_object_set_nocheck(o, "firmware_version", top.fw);
		json_object_set_nocheck(o, "extra_data", top.extra);
	}
	json_object_set_new_nocheck(o, "quotes", qs);
	/* only the PCR values a verified quote covers */
	for (int b = 0; b < TPM_NBANKS; b++) {
		const struct tpm_pcr_bank *pb = &ev->pcrs.b[b];

		if (pb->quoted != 0)
			json_object_set_new_nocheck(pcrs, tpm_bank_name(b),
			    bank_json(pb, b, pb->quoted));
	}
	json_object_set_new_nocheck(o, "pcrs", pcrs);
	json_object_set_new_nocheck(o, "ak", ak_json(ev));
	if (ev->log != NULL && ev->log_replayed)
		json_object_set_new_nocheck(o, "event_log",
		    tpm_evlog_claims(ev->log, ev->log_verified));
	if (ev->hw_claims != NULL && ev->hw_platform != NULL)
		json_object_set(o, ev->hw_platform, ev->hw_claims);
	return o;
}

/* ---- policy ------------------------------------------------------------ */

/* A JSON path for an error message (truncated silently if huge). */
static void __attribute__((format(printf, 3, 4)))
subpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vsnprintf(buf, len, fmt, ap) < 0)
		buf[0] = '\0';
	va_end(ap);
}

void
tpm_pol_free(struct tpm_pol *p)
{
	if (p == NULL)
		return;
	for (int b = 0; b < TPM_NBANKS; b++)
		for (int i = 0; i < TPM_NPCR; i++)
			av_hexlist_cleanup(&p->pcr[b][i]);
	av_hexlist_cleanup(&p->enrolled);
	av_hexlist_cleanup(&p->qsigners);
	av_hexlist_cleanup(&p->boot_apps);
	for (size_t i = 0; i < p->ncmd_exact; i++)
		free(p->cmd_exact[i]);
	for (size_t i = 0; i < p->ncmd_prefix; i++)
		free(p->cmd_prefix[i]);
	free(p->cmd_exact);
	free(p->cmd_prefix);
	if (p->hw_backend != NULL && p->hw_backend->policy_free != NULL)
		p->hw_backend->policy_free(p->hw_pol);
	free(p);
}

/* "0".."23" exactly (no sign, no leading zeros). */
static int
pcr_index(const char *k)
{
	int	v = 0;
	size_t	n;

	for (n = 0; k[n] != '\0'; n++) {
		if (n == 2 || k[n] < '0' || k[n] > '9')
			return -1;
		v = v * 10 + (k[n] - '0');
	}
	if (n == 0 || (n == 2 && k[0] == '0'))
		return -1;
	return v < TPM_NPCR ? v : -1;
}

static int
compile_pcrs(const json_t *v, const char *path, struct tpm_pol *p,
    struct av_policy_err *perr)
{
	const char	*bk, *ik;
	json_t		*bv, *iv;
	char		 bpath[256], ipath[256];
	int		 b, i;

	if (!json_is_object(v))
		return av_policy_errf(perr, path,
		    "expected an object: bank -> {PCR index -> values}");
	json_object_foreach((json_t *)v, bk, bv) {
		subpath(bpath, sizeof(bpath), "%s.%s", path, bk);
		if ((b = tpm_bank_from_name(bk)) < 0)
			return av_policy_errf(perr, bpath, "unknown PCR bank "
			    "(expected sha1, sha256, sha384 or sha512)");
		if (!json_is_object(bv))
			return av_policy_errf(perr, bpath,
			    "expected an object: PCR index -> values");
		json_object_foreach(bv, ik, iv) {
			subpath(ipath, sizeof(ipath), "%s.%s", bpath, ik);
			if ((i = pcr_index(ik)) < 0)
				return av_policy_errf(perr, ipath,
				    "PCR index must be 0 to 23");
			if (av_pol_hexlist(iv, ipath, tpm_bank_size(b),
			    &p->pcr[b][i], perr) != 0)
				return -1;
			p->pcr_mask[b] |= 1u << i;
		}
	}
	return 0;
}

static int
compile_trust(const json_t *v, const char *path, bool hw, unsigned *out,
    struct av_policy_err *perr)
{
	const json_t	*s;
	size_t		 i, n = json_is_array(v) ? json_array_size(v) : 1;
	char		 sub[256];

	if (!json_is_array(v) && !json_is_string(v))
		return av_policy_errf(perr, path, "expected a trust path or "
		    "an array of them (\"certificate\", \"enrolled\"%s)",
		    hw ? ", \"hcl\"" : "");
	if (n == 0)
		return av_policy_errf(perr, path,
		    "empty list: no AK could ever be trusted");
	*out = 0;
	for (i = 0; i < n; i++) {
		const char *t;

		s = json_is_array(v) ? json_array_get(v, i) : v;
		if (json_is_array(v))
			subpath(sub, sizeof(sub), "%s[%zu]", path, i);
		else
			subpath(sub, sizeof(sub), "%s", path);
		t = json_string_value(s);
		if (t != NULL && strcmp(t, "certificate") == 0)
			*out |= TPM_TRUST_CERT;
		else if (t != NULL && strcmp(t, "enrolled") == 0)
			*out |= TPM_TRUST_ENROLLED;
		else if (t != NULL && hw && strcmp(t, "hcl") == 0)
			*out |= TPM_TRUST_HCL;
		else
			return av_policy_errf(perr, sub, "unknown AK trust path "
			    "(expected \"certificate\", \"enrolled\"%s)",
			    hw ? " or \"hcl\"" : "");
	}
	return 0;
}

/*
 * Qualified names (Part 1 s.16): nameAlg (2 bytes) then a digest of that
 * algorithm, as the "qualified_signer" claim shows them; all of one
 * algorithm (an av_hexlist holds values of one length).
 */
static int
compile_qsigners(const json_t *v, const char *path, struct av_hexlist *out,
    struct av_policy_err *perr)
{
	int b;

	if (av_pol_hexlist(v, path, 0, out, perr) != 0)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		b = out->len < 2 ? -1 :
		    tpm_bank_from_alg((uint16_t)(out->v[i][0] << 8 |
		    out->v[i][1]));
		if (b < 0 || out->len != 2 + tpm_bank_size(b)) {
			char sub[256];

			if (json_is_array(v))
				subpath(sub, sizeof(sub), "%s[%zu]", path, i);
			else
				subpath(sub, sizeof(sub), "%s", path);
			return av_policy_errf(perr, sub, "a qualified name "
			    "is a hash algorithm (000b: SHA-256, ...) and a "
			    "digest of it: 22, 34, 50 or 66 bytes");
		}
	}
	return 0;
}

static int
compile_strings(const json_t *v, const char *path, char ***out, size_t *nout,
    struct av_policy_err *perr)
{
	size_t	 n, i;
	char	 sub[256];

	if (!json_is_array(v) && !json_is_string(v))
		return av_policy_errf(perr, path,
		    "expected a string or an array of strings");
	n = json_is_array(v) ? json_array_size(v) : 1;
	if (n == 0)
		return av_policy_errf(perr, path,
		    "empty list: no value could ever match");
	if (n > TPM_MAX_CMDLINES)
		return av_policy_errf(perr, path, "more than %d values",
		    TPM_MAX_CMDLINES);
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *s = json_is_array(v) ? json_array_get(v, i) : v;

		subpath(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!json_is_string(s) ||
		    json_string_length(s) > TPM_MAX_CMDLINE_LEN ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return av_policy_errf(perr, sub, "expected a string "
			    "of at most %d characters", TPM_MAX_CMDLINE_LEN);
		if (((*out)[i] = strdup(json_string_value(s))) == NULL)
			return av_policy_errf(perr, sub, "out of memory");
		(*nout)++;
	}
	return 0;
}

static int
compile_cmdline(const json_t *v, const char *path, struct tpm_pol *p,
    struct av_policy_err *perr)
{
	static const char *const keys[] = { "exact", "prefix", NULL };
	const json_t	*x;
	char		 sub[256];

	if (av_pol_keys(v, path, keys, perr) != 0)
		return -1;
	if (json_object_size(v) == 0)
		return av_policy_errf(perr, path,
		    "expected \"exact\" and/or \"prefix\"");
	if ((x = json_object_get(v, "exact")) != NULL) {
		subpath(sub, sizeof(sub), "%s.exact", path);
		if (compile_strings(x, sub, &p->cmd_exact, &p->ncmd_exact,
		    perr) != 0)
			return -1;
	}
	if ((x = json_object_get(v, "prefix")) != NULL) {
		subpath(sub, sizeof(sub), "%s.prefix", path);
		if (compile_strings(x, sub, &p->cmd_prefix, &p->ncmd_prefix,
		    perr) != 0)
			return -1;
	}
	return 0;
}

int
tpm_pol_compile(const json_t *sec, const char *path, const char *hw,
    struct tpm_pol **out, struct av_policy_err *perr)
{
	const char *keys[] = { "pcrs", "ak_trust", "enrolled_aks",
	    "qualified_signers", "secure_boot", "boot_apps", "kernel_cmdline",
	    hw, NULL };
	struct tpm_pol	*p;
	const char	*k;
	json_t		*v;
	char		 sub[256];
	bool		 b;

	if (av_pol_keys(sec, path, keys, perr) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	p->secure_boot = -1;
	json_object_foreach((json_t *)sec, k, v) {
		subpath(sub, sizeof(sub), "%s.%s", path, k);
		if (strcmp(k, "pcrs") == 0) {
			if (compile_pcrs(v, sub, p, perr) != 0)
				goto bad;
		} else if (strcmp(k, "ak_trust") == 0) {
			if (compile_trust(v, sub, hw != NULL, &p->ak_trust,
			    perr) != 0)
				goto bad;
		} else if (strcmp(k, "enrolled_aks") == 0) {
			if (av_pol_hexlist(v, sub, 32, &p->enrolled, perr) != 0)
				goto bad;
		} else if (strcmp(k, "qualified_signers") == 0) {
			if (compile_qsigners(v, sub, &p->qsigners, perr) != 0)
				goto bad;
		} else if (strcmp(k, "secure_boot") == 0) {
			if (av_pol_bool(v, sub, &b, perr) != 0)
				goto bad;
			p->secure_boot = b ? 1 : -1;
		} else if (strcmp(k, "boot_apps") == 0) {
			if (av_pol_hexlist(v, sub, 0, &p->boot_apps, perr) != 0)
				goto bad;
			if (p->boot_apps.len != 20 && p->boot_apps.len != 32 &&
			    p->boot_apps.len != 48 && p->boot_apps.len != 64) {
				av_policy_errf(perr, sub, "digests must be "
				    "SHA-1, SHA-256, SHA-384 or SHA-512");
				goto bad;
			}
			p->has_boot_apps = true;
		} else if (strcmp(k, "kernel_cmdline") == 0) {
			if (compile_cmdline(v, sub, p, perr) != 0)
				goto bad;
		} else if (hw != NULL && strcmp(k, hw) == 0) {
			p->hw_backend = av_backend_find(hw);
			if (p->hw_backend == NULL ||
			    p->hw_backend->policy_compile == NULL) {
				av_policy_errf(perr, sub, "platform \"%s\" is "
				    "not available in this build", hw);
				p->hw_backend = NULL;
				goto bad;
			}
			if (!json_is_object(v)) {
				av_policy_errf(perr, sub, "expected an object");
				p->hw_backend = NULL;
				goto bad;
			}
			if (p->hw_backend->policy_compile(v, sub, &p->hw_pol,
			    perr) != 0) {
				p->hw_backend = NULL;
				goto bad;
			}
		}
	}
	*out = p;
	return 0;
 bad:
	tpm_pol_free(p);
	return -1;
}

static json_t *
trust_json(unsigned t)
{
	json_t *a = json_array();

	if (t & TPM_TRUST_CERT)
		json_array_append_new(a, json_string("certificate"));
	if (t & TPM_TRUST_HCL)
		json_array_append_new(a, json_string("hcl"));
	if (t & TPM_TRUST_ENROLLED)
		json_array_append_new(a, json_string("enrolled"));
	return a;
}

static bool
cmdline_allowed(const struct tpm_pol *p, const char *c)
{
	for (size_t i = 0; i < p->ncmd_exact; i++)
		if (strcmp(p->cmd_exact[i], c) == 0)
			return true;
	for (size_t i = 0; i < p->ncmd_prefix; i++)
		if (strncmp(p->cmd_prefix[i], c, strlen(p->cmd_prefix[i])) == 0)
			return true;
	return false;
}

static void
appraise_events(const struct tpm_ev *ev, const struct tpm_pol *p,
    struct av_submod *sm)
{
	struct tpm_boot_facts	 f;
	int			 bank = -1;
	bool			 ok = true;

	if (p->secure_boot < 0 && !p->has_boot_apps && p->ncmd_exact == 0 &&
	    p->ncmd_prefix == 0)
		return;
	if (ev->log == NULL || !ev->log_replayed) {
		av_submod_reason(sm, AV_E_MEASUREMENT,
		    AV_STATUS_CONTRAINDICATED, "event_log", NULL, json_null(),
		    "tpm: the policy has event rules and the evidence has no "
		    "event log");
		return;
	}
	if (tpm_evlog_facts(ev->log, ev->log_verified, &f) != 0) {
		av_submod_reason(sm, AV_E_MEASUREMENT,
		    AV_STATUS_CONTRAINDICATED, "event_log", NULL, NULL,
		    "out of memory");
		return;
	}
	if (p->secure_boot == 1 && f.secure_boot != 1) {
		av_submod_reason(sm, AV_E_MEASUREMENT,
		    AV_STATUS_CONTRAINDICATED, "event_log.secure_boot",
		    json_true(), f.secure_boot < 0 ? json_null() :
		    json_false(), "tpm: Secure Boot is required and the "
		    "verified event log does not show it enabled");
		ok = false;
	}
	if (p->has_boot_apps) {
		for (int b = 0; b < TPM_NBANKS; b++)
			if (tpm_bank_size(b) == p->boot_apps.len)
				bank = b;
		if (f.napps == 0) {
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, "event_log.boot_apps",
			    av_hexlist_json(&p->boot_apps), json_array(),
			    "tpm: no verified EFI boot application in the "
			    "event log");
			ok = false;
		}
		for (size_t i = 0; i < f.napps; i++) {
			const struct tpm_event *a = f.apps[i];

			if (bank >= 0 && (a->banks & (1u << bank)) &&
			    av_hexlist_contains(&p->boot_apps,
			    a->digest[bank], p->boot_apps.len))
				continue;
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED, "event_log.boot_apps",
			    av_hexlist_json(&p->boot_apps),
			    (bank >= 0 && (a->banks & (1u << bank))) ?
			    av_json_hex(a->digest[bank], p->boot_apps.len) :
			    json_null(), "tpm: EFI boot application not in "
			    "the policy");
			ok = false;
		}
	}
	if (p->ncmd_exact > 0 || p->ncmd_prefix > 0) {
		if (f.ncmd == 0) {
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED,
			    "event_log.kernel_cmdline", NULL, json_null(),
			    "tpm: no verified kernel command line in the "
			    "event log");
			ok = false;
		}
		for (size_t i = 0; i < f.ncmd; i++) {
			if (cmdline_allowed(p, f.cmd[i]))
				continue;
			av_submod_reason(sm, AV_E_MEASUREMENT,
			    AV_STATUS_CONTRAINDICATED,
			    "event_log.kernel_cmdline", NULL,
			    json_string(f.cmd[i]), "tpm: kernel command "
			    "line not allowed by the policy");
			ok = false;
		}
	}
	if (ok)
		av_submod_tv(sm, AV_TV_CONFIG, AV_AR_AFFIRM);
	tpm_boot_facts_cleanup(&f);
}

/*
 * qualifiedSigner (Part 2 s.10.12.12), signed with the quote, is the
 * AK's qualified name: H(parent's qualified name || AK Name), so it
 * pins the AK and where it sits in the key hierarchy.  Every quote's
 * must be one the policy lists (docs/platforms/tpm.md: ak_untrusted).
 */
static void
appraise_qsigners(const struct tpm_ev *ev, const struct tpm_pol *p,
    struct av_submod *sm)
{
	char claim[64];

	if (p->qsigners.n == 0)
		return;
	for (size_t i = 0; i < ev->nquotes; i++) {
		const TPM2B_NAME *qn = &ev->q[i].attest->qualifiedSigner;

		if (av_hexlist_contains(&p->qsigners, qn->name, qn->size))
			continue;
		snprintf(claim, sizeof(claim), "quotes.%zu.qualified_signer",
		    i);
		av_submod_reason(sm, AV_E_AK_UNTRUSTED,
		    AV_STATUS_CONTRAINDICATED, claim,
		    av_hexlist_json(&p->qsigners),
		    av_json_hex(qn->name, qn->size), "tpm: the quote's "
		    "qualifiedSigner is not one the policy lists");
	}
}

void
tpm_appraise_ev(const struct tpm_ev *ev, const struct tpm_pol *p,
    const struct av_ctx *ctx, struct av_submod *sm)
{
	char	 claim[40];
	bool	 ok = true, any = false;

	(void)ctx;
	for (int b = 0; b < TPM_NBANKS; b++) {
		const struct tpm_pcr_bank *pb = &ev->pcrs.b[b];

		if (p->pcr_mask[b] == 0)	/* no PCR of this bank listed */
			continue;
		for (unsigned i = 0; i < TPM_NPCR; i++) {
			if (!(p->pcr_mask[b] & (1u << i)))
				continue;
			any = true;
			if ((pb->quoted & (1u << i)) &&
			    av_hexlist_contains(&p->pcr[b][i], pb->v[i],
			    tpm_bank_size(b)))
				continue;
			snprintf(claim, sizeof(claim), "pcrs.%s.%u",
			    tpm_bank_name(b), i);
			if (!(pb->quoted & (1u << i))) {
				av_submod_reason(sm, AV_E_MEASUREMENT,
				    AV_STATUS_CONTRAINDICATED, claim,
				    av_hexlist_json(&p->pcr[b][i]),
				    json_null(), "tpm: the quote does not "
				    "cover a PCR the policy lists");
				ok = false;
			} else {
				av_submod_reason(sm, AV_E_MEASUREMENT,
				    AV_STATUS_CONTRAINDICATED, claim,
				    av_hexlist_json(&p->pcr[b][i]),
				    av_json_hex(pb->v[i], tpm_bank_size(b)),
				    "tpm: PCR value not in the policy");
				ok = false;
			}
		}
	}
	if (ok && any)
		av_submod_tv(sm, AV_TV_EXECUTABLES, AV_AR_AFFIRM);
	if (p->ak_trust != 0 && !(ev->trust & p->ak_trust))
		av_submod_reason(sm, AV_E_AK_UNTRUSTED,
		    AV_STATUS_CONTRAINDICATED, "ak.trust",
		    trust_json(p->ak_trust), trust_json(ev->trust),
		    "tpm: the AK is not trusted by a path the policy "
		    "requires");
	appraise_qsigners(ev, p, sm);
	appraise_events(ev, p, sm);
}

/* ---- JSON helpers for the envelopes ------------------------------------ */

static bool
all_hex(const char *s, size_t n)
{
	if (n == 0 || n % 2 != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/*
 * Bytes of a JSON value: a hex string (when hex_ok and it is all hex),
 * a base64/base64url string, or an array of integers 0..255 (Trustee's
 * serde byte arrays).  At most max bytes.  Returns 0 and *out (caller
 * frees; never NULL on success), or -1.
 */
int
tpm_json_bytes(const json_t *v, bool hex_ok, size_t max, uint8_t **out,
    size_t *len)
{
	const char	*s;
	size_t		 n, i;
	uint8_t		*b;

	*out = NULL;
	*len = 0;
	if (json_is_array(v)) {
		n = json_array_size(v);
		if (n > max || (b = malloc(n ? n : 1)) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			const json_t	*x = json_array_get(v, i);
			json_int_t	 iv;

			if (!json_is_integer(x) ||
			    (iv = json_integer_value(x)) < 0 || iv > 255) {
				free(b);
				return -1;
			}
			b[i] = (uint8_t)iv;
		}
		*out = b;
		*len = n;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > (max / 3 + 1) * 4 + 1024 && n > 2 * max)
		return -1;
	if (hex_ok && all_hex(s, n)) {
		if (av_hex_decode(s, n, out, len) != 0)
			return -1;
	} else if (av_b64_decode(s, n, out, len) != 0)
		return -1;
	if (*len > max) {
		free(*out);
		*out = NULL;
		return -1;
	}
	if (*out == NULL && (*out = malloc(1)) == NULL)
		return -1;
	return 0;
}

/* ---- the "tpm" backend: envelopes -------------------------------------- */

/* A hex digit's value with bit 4 set; 0 for any other character. */
static const uint8_t hexval[256] = {
	['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14,
	['5'] = 0x15, ['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19,
	['a'] = 0x1a, ['b'] = 0x1b, ['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e,
	['f'] = 0x1f,
	['A'] = 0x1a, ['B'] = 0x1b, ['C'] = 0x1c, ['D'] = 0x1d, ['E'] = 0x1e,
	['F'] = 0x1f,
};

/*
 * n bytes from 2n hex digits at s into out, by table, without branching
 * per digit or allocating (24 PCR values per bank and quote): a digit
 * becomes its value, anything else 0x10, which taints bad.  Returns 0,
 * or -1 if a character is not a hex digit (out is then partly written).
 */
static int
hex_fixed(const char *s, uint8_t *out, size_t n)
{
	unsigned	bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned hi = hexval[(unsigned char)s[2 * i]] ^ 0x10;
		unsigned lo = hexval[(unsigned char)s[2 * i + 1]] ^ 0x10;

		bad |= hi | lo;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (bad & 0x10) ? -1 : 0;
}

/*
 * One PCR value from a JSON hex string into bank b, index i.  Errors as
 * av_hex_decode() + tpm_pcr_set() give them: not a string, an odd
 * length or a non-hex character is "not hex", a wrong length after that
 * is the length error.
 */
static int
pcr_from_hex(struct tpm_pcrs *pcrs, int b, int i, const json_t *v,
    struct av_err *e)
{
	uint8_t		 d[TPM_MAX_DIGEST];
	const char	*s = json_string_value(v);
	size_t		 n = json_string_length(v);

	if (s == NULL || n % 2 != 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: PCR value is not hex");
	if (n / 2 != tpm_bank_size(b)) {
		for (size_t k = 0; k < n; k++)
			if (hexval[(unsigned char)s[k]] == 0)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "tpm: PCR value is not hex");
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: PCR value length differs from its bank's digest");
	}
	if (hex_fixed(s, d, n / 2) != 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: PCR value is not hex");
	return tpm_pcr_set(pcrs, b, (unsigned)i, d, n / 2, e);
}

/*
 * Decoded PCR banks by their text: a machine sends the same PCR values,
 * as the same hex strings under the same indices, with every quote until
 * it boots something else, so after its first quote a bank of 24 values
 * costs a compare of the text instead of 24 hex decodings.  The key is
 * the bank and, in the request's order, each index and value as the
 * request spells them, each with its length; only a bank that decoded
 * without error is remembered (its values, packed in index order), so a
 * hit sets exactly what decoding would.  Nothing per quote (nonce,
 * signature, quote) is in the key.
 */
struct pcr_text {
	int		 refs;		/* atomic */
	uint32_t	 present;	/* the PCRs the bank's text sets */
	uint8_t		 v[];		/* their values, by ascending index */
};

#define PCR_TEXT_MAX	(1 + TPM_NPCR * (1 + 2 + 1 + 2 * TPM_MAX_DIGEST))

static void *
pcr_text_ref(void *p)
{
	struct pcr_text *pt = p;

	__atomic_add_fetch(&pt->refs, 1, __ATOMIC_RELAXED);
	return pt;
}

static void
pcr_text_unref(void *p)
{
	struct pcr_text *pt = p;

	if (pt != NULL && __atomic_sub_fetch(&pt->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		free(pt);
}

static struct av_memo pcr_text_memo = AV_MEMO_INITIALIZER(pcr_text_ref,
    pcr_text_unref);

/*
 * The memo key of bank b's object bo into key (PCR_TEXT_MAX bytes).
 * Returns its length, or 0 when the object is not one a well-formed bank
 * could be (more than 24 entries, a longer index or value, a value that
 * is not a string): such text is decoded, and fails, as before.
 */
static size_t
pcr_text_key(const json_t *bo, int b, uint8_t *key)
{
	size_t	 kl = 0, il, sl, n = 0;
	void	*it;

	key[kl++] = (uint8_t)b;
	for (it = json_object_iter((json_t *)bo); it != NULL;
	    it = json_object_iter_next((json_t *)bo, it)) {
		const char	*ik = json_object_iter_key(it);
		const json_t	*iv = json_object_iter_value(it);
		const char	*s = json_string_value(iv);

		il = strlen(ik);
		sl = json_string_length(iv);
		if (++n > TPM_NPCR || s == NULL || il > 2 ||
		    sl > 2 * TPM_MAX_DIGEST)
			return 0;
		key[kl++] = (uint8_t)il;
		memcpy(key + kl, ik, il);
		kl += il;
		key[kl++] = (uint8_t)sl;
		memcpy(key + kl, s, sl);
		kl += sl;
	}
	return kl;
}

/* Set bank b's PCRs from a remembered decoding, as tpm_pcr_set() does. */
static void
pcr_text_apply(struct tpm_pcrs *pcrs, int b, const struct pcr_text *pt)
{
	size_t		 ds = tpm_bank_size(b);
	const uint8_t	*v = pt->v;

	for (unsigned i = 0; i < TPM_NPCR; i++)
		if (pt->present & (1u << i)) {
			memcpy(pcrs->b[b].v[i], v, ds);
			v += ds;
		}
	pcrs->b[b].present |= pt->present;
}

/* Remember the PCRs in set of bank b under key; failures are ignored. */
static void
pcr_text_remember(const struct tpm_pcrs *pcrs, int b, uint32_t set,
    const uint8_t *key, size_t kl)
{
	struct pcr_text	*pt;
	size_t		 ds = tpm_bank_size(b), n = 0;

	for (unsigned i = 0; i < TPM_NPCR; i++)
		n += (set >> i) & 1;
	if ((pt = malloc(sizeof(*pt) + n * ds)) == NULL)
		return;
	pt->refs = 1;
	pt->present = set;
	n = 0;
	for (unsigned i = 0; i < TPM_NPCR; i++)
		if (set & (1u << i)) {
			memcpy(pt->v + n, pcrs->b[b].v[i], ds);
			n += ds;
		}
	av_memo_put(&pcr_text_memo, 'X', key, kl, NULL, 0, pt);
	pcr_text_unref(pt);
}

/*
 * PCR values: {"sha256": {"0": "<hex>", ...}, ...} (our form), or an
 * array of 24 hex SHA-256 values (Trustee, PCR 0..23).
 */
int
tpm_pcrs_from_json(struct tpm_pcrs *pcrs, const json_t *v, struct av_err *e)
{
	const char	*bk, *ik;
	json_t		*bv, *iv;
	uint8_t		*d, key[PCR_TEXT_MAX];
	struct pcr_text	*pt;
	size_t		 dl, kl;
	uint32_t	 set;
	int		 b, i, rc;

	if (json_is_array(v)) {
		if (json_array_size(v) > TPM_NPCR)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: more than 24 PCR values");
		for (size_t k = 0; k < json_array_size(v); k++) {
			if (tpm_json_bytes(json_array_get(v, k), true,
			    TPM_MAX_DIGEST, &d, &dl) != 0)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "tpm: PCR value is not hex");
			rc = tpm_pcr_set(pcrs, TPM_BANK_SHA256, (unsigned)k, d,
			    dl, e);
			free(d);
			if (rc != 0)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(v))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"pcrs\" must be an object of banks");
	json_object_foreach((json_t *)v, bk, bv) {
		if ((b = tpm_bank_from_name(bk)) < 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: unknown PCR bank in \"pcrs\"");
		if (!json_is_object(bv))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: a PCR bank must be an object");
		if ((kl = pcr_text_key(bv, b, key)) > 0 &&
		    (pt = av_memo_get(&pcr_text_memo, 'X', key, kl, NULL,
		    0)) != NULL) {
			pcr_text_apply(pcrs, b, pt);
			pcr_text_unref(pt);
			continue;
		}
		set = 0;
		json_object_foreach(bv, ik, iv) {
			if ((i = pcr_index(ik)) < 0)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "tpm: PCR index must be 0 to 23");
			if (pcr_from_hex(pcrs, b, i, iv, e) != 0)
				return -1;
			set |= 1u << i;
		}
		if (kl > 0)
			pcr_text_remember(pcrs, b, set, key, kl);
	}
	return 0;
}

/* Load the optional event log (base64) and parse it. */
static int
load_evlog(struct tpm_ev *ev, const json_t *v, struct av_err *e)
{
	if (v == NULL || json_is_null(v))
		return 0;
	if (tpm_json_bytes(v, false, TPM_MAX_EVLOG, &ev->evlog,
	    &ev->evlog_len) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"event_log\" must be base64, at most 2 MiB");
	return tpm_evlog_parse(ev->evlog, ev->evlog_len, &ev->log, e);
}

/* The AK certificate chain: PEM text (leaf first), or base64 DER. */
static int
load_chain(struct tpm_ev *ev, const json_t *v, struct av_err *e)
{
	uint8_t	*d = NULL;
	size_t	 dl;

	if (json_is_string(v) && strstr(json_string_value(v),
	    "-----BEGIN") != NULL)
		ev->ak_chain = av_x509_parse_any_cached(
		    (const uint8_t *)json_string_value(v),
		    json_string_length(v));
	else if (tpm_json_bytes(v, false, 256 * 1024, &d, &dl) == 0) {
		ev->ak_chain = av_x509_parse_any_cached(d, dl);
		free(d);
	}
	if (ev->ak_chain == NULL || sk_X509_num(ev->ak_chain) == 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"ak_cert_chain\" holds no certificate");
	return 0;
}

/*
 * The AK from "ak_pub"/"ak_public": PEM text, or base64 of a binary form
 * (an AK seen before is found by its text, without decoding it).
 */
static int
load_ak(struct tpm_ev *ev, const json_t *v, struct av_err *e)
{
	const char	*s = json_string_value(v);
	size_t		 n = json_string_length(v);
	uint8_t		*d;
	size_t		 dl;
	int		 rc;

	if (s != NULL && strncmp(s, "-----BEGIN ", 11) == 0)
		return tpm_ak_parse(ev, (const uint8_t *)s, n, e);
	if (s != NULL && (rc = ak_recall(ev, 'T', s, n, e)) != 0)
		return rc > 0 ? 0 : -1;
	if (tpm_json_bytes(v, false, 64 * 1024, &d, &dl) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: AK public key must be PEM or base64");
	rc = tpm_ak_parse(ev, d, dl, e);
	free(d);
	if (rc == 0 && s != NULL)
		ak_remember(ev, 'T', s, n);
	return rc;
}

/*
 * Our form: attest bytes plus companions in obj: "signature",
 * "ak_pub" | "ak_cert_chain", "pcrs", "event_log".
 */
static int
parse_ours(struct tpm_ev *ev, const uint8_t *attest, size_t alen,
    const json_t *obj, struct av_err *e)
{
	const json_t	*v;
	uint8_t		*d;
	size_t		 dl;
	int		 rc;
	EVP_PKEY	*pk;

	if (obj == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: a quote needs "
		    "\"signature\", \"ak_pub\" or \"ak_cert_chain\", \"pcrs\"");
	if (tpm_attest_parse(attest, alen, &ev->q[0], e) != 0) {
		ev->nquotes = 1;
		return -1;
	}
	ev->nquotes = 1;
	if ((v = json_object_get(obj, "signature")) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: no \"signature\"");
	if (tpm_json_bytes(v, false, sizeof(TPMT_SIGNATURE), &d, &dl) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"signature\" must be base64");
	rc = tpm_sig_parse(d, dl, &ev->q[0], e);
	free(d);
	if (rc != 0)
		return -1;
	if ((v = json_object_get(obj, "ak_cert_chain")) != NULL &&
	    load_chain(ev, v, e) != 0)
		return -1;
	if ((v = json_object_get(obj, "ak_pub")) != NULL) {
		if (load_ak(ev, v, e) != 0)
			return -1;
	} else if (ev->ak_chain != NULL) {
		pk = X509_get0_pubkey(sk_X509_value(ev->ak_chain, 0));
		if (pk == NULL)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: AK certificate without a public key");
		if (tpm_ak_set_pkey(ev, pk, e) != 0)
			return -1;
	} else
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: no \"ak_pub\" or \"ak_cert_chain\"");
	if ((v = json_object_get(obj, "pcrs")) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: no \"pcrs\"");
	if (tpm_pcrs_from_json(&ev->pcrs, v, e) != 0)
		return -1;
	return load_evlog(ev, json_object_get(obj, "event_log"), e);
}

/*
 * Trustee's "tpm" evidence (confidential-containers guest-components):
 * {"svn", "report_data", "ak_public", "tpm_quote": {"signature",
 * "message", "pcrs": [hex x 24]}}, binary fields base64 (hex accepted).
 */
static int
parse_trustee(struct tpm_ev *ev, const json_t *doc, struct av_err *e)
{
	const json_t	*tq, *v;
	uint8_t		*d;
	size_t		 dl;
	int		 rc;

	ev->form = "trustee-tpm";
	tq = json_object_get(doc, "tpm_quote");
	if (!json_is_object(tq))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"tpm_quote\" must be an object");
	if (tpm_json_bytes(json_object_get(tq, "message"), true,
	    TPM_MAX_ATTEST, &d, &dl) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"tpm_quote.message\" must be base64 or hex");
	rc = tpm_attest_parse(d, dl, &ev->q[0], e);
	ev->nquotes = 1;
	free(d);
	if (rc != 0)
		return -1;
	if (tpm_json_bytes(json_object_get(tq, "signature"), true,
	    sizeof(TPMT_SIGNATURE), &d, &dl) != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: \"tpm_quote.signature\" must be base64 or hex");
	rc = tpm_sig_parse(d, dl, &ev->q[0], e);
	free(d);
	if (rc != 0)
		return -1;
	if ((v = json_object_get(tq, "pcrs")) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: no \"tpm_quote.pcrs\"");
	if (tpm_pcrs_from_json(&ev->pcrs, v, e) != 0)
		return -1;
	if ((v = json_object_get(doc, "ak_public")) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: no \"ak_public\"");
	if (load_ak(ev, v, e) != 0)
		return -1;
	if ((v = json_object_get(doc, "ak_cert_chain")) != NULL &&
	    load_chain(ev, v, e) != 0)
		return -1;
	return load_evlog(ev, json_object_get(doc, "event_log"), e);
}

/* Whether p starts (after white space) like a JSON object; sniff only. */
bool
tpm_looks_json(const uint8_t *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	return n > 0 && *p == '{';
}

/* Whether the bytes contain key (a quoted JSON key); sniff only. */
bool
tpm_has_key(const uint8_t *p, size_t n, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl <= n; i++)
		if (memcmp(p + i, key, kl) == 0)
			return true;
	return false;
}

/*
 * Sniff: a TPMS_ATTEST quote (magic ff544347, type 8018), or a JSON
 * document with "ak_public" + "tpm_quote" (Trustee) or "ak_pub" /
 * "ak_cert_chain" (ours).
 */
static bool
tpm_detect(const uint8_t *p, size_t n)
{
	static const uint8_t magic[] = { 0xff, 0x54, 0x43, 0x47, 0x80, 0x18 };

	if (n >= sizeof(magic) && memcmp(p, magic, sizeof(magic)) == 0)
		return true;
	if (!tpm_looks_json(p, n))
		return false;
	if (tpm_has_key(p, n, "\"hcl_report\"") || tpm_has_key(p, n, "\"report\""))
		return false;
	return (tpm_has_key(p, n, "\"ak_public\"") &&
	    tpm_has_key(p, n, "\"tpm_quote\"")) ||
	    tpm_has_key(p, n, "\"ak_pub\"") || tpm_has_key(p, n, "\"ak_cert_chain\"");
}

static void
tpm_free(void *v)
{
	tpm_ev_free(v);
}

/*
 * Parse "tpm" evidence: data is a TPMS_ATTEST with companions in the
 * request item, or a whole JSON document (our form with "quote", or
 * Trustee's).  On success *out is a struct tpm_ev.
 */
static int
tpm_parse(const struct av_evidence *in, void **out, struct av_err *e)
{
	struct tpm_ev	*ev;
	json_t		*doc = NULL;
	json_error_t	 jerr;
	uint8_t		*q = NULL;
	size_t		 ql;
	int		 rc = -1;

	if ((ev = tpm_ev_new("attestd")) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (tpm_looks_json(in->data, in->len)) {
		doc = json_loadb((const char *)in->data, in->len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(doc)) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: evidence is not a JSON object");
			goto out;
		}
		if (json_object_get(doc, "tpm_quote") != NULL) {
			if (parse_trustee(ev, doc, e) != 0)
				goto out;
		} else {
			const json_t *qv = json_object_get(doc, "quote");

			if (qv == NULL)
				qv = json_object_get(doc, "data");
			if (tpm_json_bytes(qv, false, TPM_MAX_ATTEST, &q,
			    &ql) != 0) {
				AV_FAIL(e, AV_E_MALFORMED,
				    "tpm: \"quote\" must be base64");
				goto out;
			}
			if (parse_ours(ev, q, ql, doc, e) != 0)
				goto out;
		}
	} else if (parse_ours(ev, in->data, in->len, in->item, e) != 0)
		goto out;
	*out = ev;
	ev = NULL;
	rc = 0;
 out:
	free(q);
	json_decref(doc);
	tpm_ev_free(ev);
	return rc;
}

/*
 * Verify TPM evidence whose AK is trusted by certificate or enrolment:
 * quote signatures and PCR digests (fatal), AK trust (fatal), nonce
 * binding (reasons), event log replay (fatal).  policy is the compiled
 * tpm section or NULL.  Returns 0, or -1 with e set.
 */
int
tpm_ev_verify(struct tpm_ev *ev, const struct av_ctx *ctx,
    const struct tpm_pol *policy, struct av_submod *sm, struct av_err *e)
{
	if (tpm_quotes_verify(ev, e) != 0)
		return -1;
	if (tpm_ak_trust(ev, ctx, policy, e) != 0)
		return -1;
	av_submod_tv(sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	tpm_check_nonce(ev, ctx, sm);
	if (tpm_evlog_check(ev, e) != 0)
		return -1;
	return 0;
}

static int
tpm_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	return tpm_ev_verify(parsed, ctx, policy, sm, e);
}

static int
tpm_claims(const void *parsed, json_t **out, struct av_err *e)
{
	if ((*out = tpm_claims_json(parsed)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	return 0;
}

static int
tpm_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	return tpm_pol_compile(sec, path, NULL, (struct tpm_pol **)out, perr);
}

static void
tpm_policy_free(void *p)
{
	tpm_pol_free(p);
}

static void
tpm_appraise(const void *parsed, const void *policy, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	tpm_appraise_ev(parsed, policy, ctx, sm);
}

/*
 * TPM 2.0 quotes, type "tpm": our JSON form, Trustee's tpm evidence.
 */
const struct av_backend av_backend_tpm = {
	.name = "tpm",
	.media_type = "application/vnd.attestd.tpm",
	.detect = tpm_detect,
	.parse = tpm_parse,
	.verify = tpm_verify,
	.claims = tpm_claims,
	.policy_compile = tpm_policy_compile,
	.policy_free = tpm_policy_free,
	.appraise = tpm_appraise,
	.free = tpm_free,
};
