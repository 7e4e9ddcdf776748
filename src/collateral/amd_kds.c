/*
 * attestd - AMD Key Distribution Service client (VCEK Certificate and
 * KDS Interface Specification, AMD 57230, s.4): VCEKs by product, chip
 * and TCB; the ASK/ASVK + ARK chains; the CRLs.
 *
 * Every request goes through av_collateral_fetch(): the on-disk cache is
 * read first, KDS is asked only when online, and the store spaces and
 * coalesces requests to the KDS host (cfg->kds_min_interval_ms; AMD
 * allows about one request per 10 s per client).  The cache does not
 * judge freshness: a cached certificate that is not valid at the
 * verification time, or a CRL past its nextUpdate, is fetched again with
 * AV_FETCH_REFRESH (which falls back to the cached copy when KDS cannot
 * be reached, so the caller reports it as expired, not missing).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "evidence/sev_snp.h"

#define KDS_DEFAULT_URL	"https://kdsintf.amd.com"
#define KDS_URL_MAX	512

static const char *
kds_base(struct av_collateral *c)
{
	const struct av_coll_fetch_cfg *cfg = av_collateral_cfg(c);

	if (cfg == NULL || cfg->amd_kds_url == NULL ||
	    cfg->amd_kds_url[0] == '\0')
		return KDS_DEFAULT_URL;
	return cfg->amd_kds_url;
}

/* snprintf into buf; -1 when it does not fit or the product is unknown. */
static int
fmt_ok(int n, size_t len)
{
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* base without trailing slashes: its length. */
static int
base_len(const char *base)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return n > 256 ? -1 : (int)n;
}

/*
 * GET /vcek/v1/{product}/{hwid}?[fmcSPL=..&]blSPL=..&teeSPL=..&snpSPL=..
 * &ucodeSPL=.. (AMD 57230 s.4.1; Turin adds fmcSPL and has 8-byte
 * hwIDs).  Returns 0, or -1 when the URL does not fit in buf.
 */
int
amd_kds_vcek_url(char *buf, size_t len, const char *base,
    enum snp_product p, const uint8_t *hwid, size_t hwid_len,
    const struct snp_tcb *t)
{
	char	*hex;
	int	 bl, n;

	if (p == SNP_PRODUCT_UNKNOWN || hwid_len == 0 || hwid_len > 64 ||
	    (bl = base_len(base)) < 0)
		return -1;
	if ((hex = av_hex_encode(hwid, hwid_len)) == NULL)
		return -1;
	if (p == SNP_PRODUCT_TURIN)
		n = snprintf(buf, len, "%.*s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u"
		    "&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", bl, base,
		    snp_product_name(p), hex, t->fmc, t->bootloader, t->tee,
		    t->snp, t->microcode);
	else
		n = snprintf(buf, len, "%.*s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u"
		    "&snpSPL=%u&ucodeSPL=%u", bl, base, snp_product_name(p),
		    hex, t->bootloader, t->tee, t->snp, t->microcode);
	free(hex);
	return fmt_ok(n, len);
}

/* GET /{vcek|vlek}/v1/{product}/cert_chain.  Returns 0/-1. */
int
amd_kds_chain_url(char *buf, size_t len, const char *base,
    enum snp_product p, bool vlek)
{
	int bl;

	if (p == SNP_PRODUCT_UNKNOWN || (bl = base_len(base)) < 0)
		return -1;
	return fmt_ok(snprintf(buf, len, "%.*s/%s/v1/%s/cert_chain", bl, base,
	    vlek ? "vlek" : "vcek", snp_product_name(p)), len);
}

/* GET /{vcek|vlek}/v1/{product}/crl.  Returns 0/-1. */
int
amd_kds_crl_url(char *buf, size_t len, const char *base,
    enum snp_product p, bool vlek)
{
	int bl;

	if (p == SNP_PRODUCT_UNKNOWN || (bl = base_len(base)) < 0)
		return -1;
	return fmt_ok(snprintf(buf, len, "%.*s/%s/v1/%s/crl", bl, base,
	    vlek ? "vlek" : "vcek", snp_product_name(p)), len);
}

/* Whether x is valid at now (notBefore <= now <= notAfter). */
static bool
cert_current(X509 *x, int64_t now)
{
	time_t t = (time_t)now;

	return X509_cmp_time(X509_get0_notBefore(x), &t) <= 0 &&
	    X509_cmp_time(X509_get0_notAfter(x), &t) >= 0;
}

static bool
chain_current(STACK_OF(X509) *sk, int64_t now)
{
	for (int i = 0; i < sk_X509_num(sk); i++)
		if (!cert_current(sk_X509_value(sk, i), now))
			return false;
	return true;
}

static bool
crl_current(X509_CRL *crl, int64_t now)
{
	const ASN1_TIME	*nu = X509_CRL_get0_nextUpdate(crl);
	time_t		 t = (time_t)now;

	return nu == NULL || X509_cmp_time(nu, &t) >= 0;
}

/* Certificates of a KDS body (DER or PEM); NULL when none. */
static STACK_OF(X509) *
parse_certs(const uint8_t *p, size_t n)
{
	STACK_OF(X509) *sk = av_x509_parse_any(p, n);

	if (sk != NULL && sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		sk = NULL;
	}
	ERR_clear_error();
	return sk;
}

static X509_CRL *
parse_crl(const uint8_t *p, size_t n)
{
	const unsigned char	*q = p;
	X509_CRL		*crl = NULL;
	BIO			*b;

	if (n > 0 && p[0] == 0x30) {
		crl = d2i_X509_CRL(NULL, &q, (long)n);
		if (crl != NULL && q != p + n) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	} else if (n <= INT32_MAX && (b = BIO_new_mem_buf(p, (int)n)) != NULL) {
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	return crl;
}

/* Fetch url (flags as av_collateral_fetch_flags) into certs. */
static int
fetch_certs(struct av_collateral *c, const char *url, unsigned flags,
    STACK_OF(X509) **out, struct av_err *e)
{
	uint8_t	*body = NULL;
	size_t	 n = 0;

	*out = NULL;
	if (av_collateral_fetch_flags(c, url, NULL, flags, &body, &n, NULL,
	    e) != 0)
		return -1;
	*out = parse_certs(body, n);
	free(body);
	if (*out == NULL)
		return AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "sev-snp: AMD KDS answer is not a certificate");
	return 0;
}

/*
 * Fetch a VCEK through the store (cache, then KDS).  Returns 0 and *out
 * (new X509), or -1 with e (AV_E_COLLATERAL_MISSING/INVALID).
 */
int
amd_kds_get_vcek(struct av_collateral *c, int64_t now, enum snp_product p,
    const uint8_t *hwid, size_t hwid_len, const struct snp_tcb *t,
    X509 **out, struct av_err *e)
{
	STACK_OF(X509)	*sk = NULL;
	char		 url[KDS_URL_MAX];
	int		 rc = -1;

	*out = NULL;
	if (c == NULL || amd_kds_vcek_url(url, sizeof(url), kds_base(c), p,
	    hwid, hwid_len, t) != 0)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "sev-snp: cannot ask AMD KDS for this VCEK");
	if (fetch_certs(c, url, 0, &sk, e) != 0)
		return -1;
	if (!chain_current(sk, now)) {
		sk_X509_pop_free(sk, X509_free);
		if (fetch_certs(c, url, AV_FETCH_REFRESH, &sk, e) != 0)
			return -1;
	}
	if (sk_X509_num(sk) != 1) {
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "sev-snp: AMD KDS VCEK answer is not one certificate");
		goto out;
	}
	*out = sk_X509_shift(sk);
	rc = 0;
 out:
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/*
 * Fetch the ASK (or ASVK) + ARK chain of a product.  Returns 0 and *out
 * (new stack), or -1 with e.
 */
int
amd_kds_get_chain(struct av_collateral *c, int64_t now, enum snp_product p,
    bool vlek, STACK_OF(X509) **out, struct av_err *e)
{
	char url[KDS_URL_MAX];

	*out = NULL;
	if (c == NULL ||
	    amd_kds_chain_url(url, sizeof(url), kds_base(c), p, vlek) != 0)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "sev-snp: cannot ask AMD KDS for this chain");
	if (fetch_certs(c, url, 0, out, e) != 0)
		return -1;
	if (!chain_current(*out, now)) {
		sk_X509_pop_free(*out, X509_free);
		if (fetch_certs(c, url, AV_FETCH_REFRESH, out, e) != 0)
			return -1;
	}
	return 0;
}

/*
 * Fetch the CRL of a product's VCEK (or VLEK) hierarchy.  Returns 0 and
 * *out (new CRL), or -1 with e.
 */
int
amd_kds_get_crl(struct av_collateral *c, int64_t now, enum snp_product p,
    bool vlek, X509_CRL **out, struct av_err *e)
{
	char		 url[KDS_URL_MAX];
	uint8_t		*body = NULL;
	size_t		 n = 0;
	unsigned	 flags = 0;

	*out = NULL;
	if (c == NULL ||
	    amd_kds_crl_url(url, sizeof(url), kds_base(c), p, vlek) != 0)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "sev-snp: cannot ask AMD KDS for this CRL");
	for (int pass = 0; pass < 2; pass++) {
		if (av_collateral_fetch_flags(c, url, NULL, flags, &body, &n,
		    NULL, e) != 0)
			return -1;
		X509_CRL_free(*out);
		*out = parse_crl(body, n);
		free(body);
		body = NULL;
		if (*out == NULL)
			return AV_FAIL(e, AV_E_COLLATERAL_INVALID,
			    "sev-snp: AMD KDS answer is not a CRL");
		if (crl_current(*out, now))
			break;
		flags = AV_FETCH_REFRESH;
	}
	return 0;
}
