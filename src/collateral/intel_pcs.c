/*
 * attestd - Intel PCS v4 / PCCS client (see intel_pcs.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "collateral/intel_pcs.h"

#define PCS_URL_MAX	1024

/* Free the members; the struct itself is the caller's. */
void
av_pcs_doc_cleanup(struct av_pcs_doc *d)
{
	if (d == NULL)
		return;
	free(d->body);
	free(d->chain);
	free(d->url);
	memset(d, 0, sizeof(*d));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode (PCS issuer-chain headers); '+' is left alone. */
static char *
url_decode(const char *s)
{
	size_t	 n = strlen(s), o = 0;
	char	*out;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/*
 * Base URL without trailing slashes: the configured one, else Intel's
 * PCS.  NULL only without a store.
 */
static const char *
base_url(struct av_collateral *c, size_t *len)
{
	const struct av_coll_fetch_cfg	*cfg;
	const char			*b;
	size_t				 n;

	if (c == NULL)
		return NULL;
	cfg = av_collateral_cfg(c);
	if (cfg == NULL || (b = cfg->intel_pcs_url) == NULL || *b == '\0')
		b = AV_INTEL_PCS_DEFAULT;
	n = strlen(b);
	while (n > 0 && b[n - 1] == '/')
		n--;
	*len = n;
	return b;
}

static bool
is_intel_pcs(const char *b, size_t n)
{
	size_t k = strlen(AV_INTEL_PCS_DEFAULT);

	return n == k && strncmp(b, AV_INTEL_PCS_DEFAULT, k) == 0;
}

/*
 * Decode a CRL given as DER, PEM, hex or base64 text.  Returns a new CRL
 * or NULL.
 */
X509_CRL *
av_pcs_crl_decode(const uint8_t *p, size_t n)
{
	const unsigned char	*q;
	X509_CRL		*crl = NULL;
	uint8_t			*der = NULL;
	size_t			 dlen = 0, i, k;

	if (p == NULL || n == 0)
		return NULL;
	/* trim surrounding whitespace and NUL terminators */
	while (n > 0 && (p[n - 1] == '\0' || isspace(p[n - 1])))
		n--;
	for (k = 0; k < n && isspace(p[k]); k++)
		;
	p += k;
	n -= k;
	if (n == 0)
		return NULL;
	if (p[0] == 0x30) {
		q = p;
		crl = d2i_X509_CRL(NULL, &q, (long)n);
		if (crl != NULL && q != p + n) {
			X509_CRL_free(crl);
			crl = NULL;
		}
		goto out;
	}
	if (n > 10 && memcmp(p, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(p, (int)n);

		if (bio != NULL)
			crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
		goto out;
	}
	for (i = 0; i < n && hexval(p[i]) >= 0; i++)
		;
	if (i == n && av_hex_decode((const char *)p, n, &der, &dlen) == 0) {
		q = der;
		crl = d2i_X509_CRL(NULL, &q, (long)dlen);
		if (crl != NULL && q != der + dlen) {
			X509_CRL_free(crl);
			crl = NULL;
		}
		free(der);
		der = NULL;
		if (crl != NULL)
			goto out;
	}
	if (av_b64_decode((const char *)p, n, &der, &dlen) == 0) {
		q = der;
		crl = d2i_X509_CRL(NULL, &q, (long)dlen);
		if (crl != NULL && q != der + dlen) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
 out:
	free(der);
	ERR_clear_error();
	return crl;
}

/* nextUpdate of a served JSON document (member "tcbInfo" etc.), or 0. */
static int64_t
json_next_update(const uint8_t *p, size_t n, const char *member)
{
	json_t		*doc;
	const json_t	*v;
	int64_t		 t = 0;

	if ((doc = json_loadb((const char *)p, n, 0, NULL)) == NULL)
		return 0;
	v = json_object_get(json_object_get(doc, member), "nextUpdate");
	if (!json_is_string(v) || av_time_parse(json_string_value(v), &t) != 0)
		t = 0;
	json_decref(doc);
	return t;
}

static int64_t
crl_next_update(const uint8_t *p, size_t n)
{
	X509_CRL	*crl;
	int64_t		 t;

	if ((crl = av_pcs_crl_decode(p, n)) == NULL)
		return 0;
	if (av_asn1_time_unix(X509_CRL_get0_nextUpdate(crl), &t) != 0)
		t = 0;
	X509_CRL_free(crl);
	return t;
}

enum pcs_kind { PCS_JSON_TCB, PCS_JSON_QE, PCS_CRL };

/*
 * GET url (cache first); refresh once when the copy's nextUpdate is not
 * after now.  hdr is the issuer-chain header name or NULL.
 */
static int
pcs_get(struct av_collateral *c, const char *url, const char *hdr,
    enum pcs_kind kind, int64_t now, struct av_pcs_doc *out, struct av_err *e)
{
	const char	*names[2] = { hdr, NULL };
	json_t		*hdrs = NULL;
	int64_t		 next;

	memset(out, 0, sizeof(*out));
	for (int pass = 0; pass < 2; pass++) {
		av_pcs_doc_cleanup(out);
		json_decref(hdrs);
		hdrs = NULL;
		if (av_collateral_fetch_flags(c, url, hdr != NULL ? names : NULL,
		    pass == 0 ? 0 : AV_FETCH_REFRESH, &out->body, &out->len,
		    &hdrs, e) != 0)
			return -1;
		switch (kind) {
		case PCS_JSON_TCB:
			next = json_next_update(out->body, out->len, "tcbInfo");
			break;
		case PCS_JSON_QE:
			next = json_next_update(out->body, out->len,
			    "enclaveIdentity");
			break;
		case PCS_CRL:
		default:
			next = crl_next_update(out->body, out->len);
			break;
		}
		if (next > now)
			break;
	}
	if (hdr != NULL) {
		const json_t *v = json_object_get(hdrs, hdr);

		if (json_is_string(v) &&
		    (out->chain = url_decode(json_string_value(v))) == NULL) {
			json_decref(hdrs);
			av_pcs_doc_cleanup(out);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
	}
	json_decref(hdrs);
	if ((out->url = strdup(url)) == NULL) {
		av_pcs_doc_cleanup(out);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	return 0;
}

/* GET {base}/tdx|sgx/certification/v4/tcb?fmspc=<HEX>. */
int
av_pcs_tcb_info(struct av_collateral *c, const char *platform,
    const uint8_t fmspc[6], int64_t now, struct av_pcs_doc *out,
    struct av_err *e)
{
	char		 url[PCS_URL_MAX];
	const char	*b;
	size_t		 n;

	if ((b = base_url(c, &n)) == NULL)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "intel pcs: no service configured");
	snprintf(url, sizeof(url),
	    "%.*s/%s/certification/v4/tcb?fmspc=%02X%02X%02X%02X%02X%02X",
	    (int)n, b, platform, fmspc[0], fmspc[1], fmspc[2], fmspc[3],
	    fmspc[4], fmspc[5]);
	return pcs_get(c, url, "TCB-Info-Issuer-Chain", PCS_JSON_TCB, now,
	    out, e);
}

/* GET {base}/tdx|sgx/certification/v4/qe/identity. */
int
av_pcs_qe_identity(struct av_collateral *c, const char *platform, int64_t now,
    struct av_pcs_doc *out, struct av_err *e)
{
	char		 url[PCS_URL_MAX];
	const char	*b;
	size_t		 n;

	if ((b = base_url(c, &n)) == NULL)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "intel pcs: no service configured");
	snprintf(url, sizeof(url), "%.*s/%s/certification/v4/qe/identity",
	    (int)n, b, platform);
	return pcs_get(c, url, "SGX-Enclave-Identity-Issuer-Chain",
	    PCS_JSON_QE, now, out, e);
}

/* GET {base}/sgx/certification/v4/pckcrl?ca=<ca>&encoding=der. */
int
av_pcs_pck_crl(struct av_collateral *c, const char *ca, int64_t now,
    struct av_pcs_doc *out, struct av_err *e)
{
	char		 url[PCS_URL_MAX];
	const char	*b;
	size_t		 n;

	if ((b = base_url(c, &n)) == NULL)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "intel pcs: no service configured");
	snprintf(url, sizeof(url),
	    "%.*s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", (int)n, b,
	    ca);
	return pcs_get(c, url, "SGX-PCK-CRL-Issuer-Chain", PCS_CRL, now, out,
	    e);
}

/* Intel's certificate host for PCS, else the PCCS rootcacrl route. */
int
av_pcs_root_ca_crl(struct av_collateral *c, int64_t now,
    struct av_pcs_doc *out, struct av_err *e)
{
	char		 url[PCS_URL_MAX];
	const char	*b;
	size_t		 n;

	if ((b = base_url(c, &n)) == NULL)
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "intel pcs: no service configured");
	if (is_intel_pcs(b, n))
		snprintf(url, sizeof(url), "%s", AV_INTEL_ROOT_CRL_URL);
	else
		snprintf(url, sizeof(url),
		    "%.*s/sgx/certification/v4/rootcacrl", (int)n, b);
	return pcs_get(c, url, NULL, PCS_CRL, now, out, e);
}
