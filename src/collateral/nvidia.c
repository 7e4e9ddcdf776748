/*
 * attestd - NVIDIA collateral: the RIM service (GET {base}/v1/rim/{id})
 * and OCSP (RFC 6960) for the device certificate chain.
 *
 * Both go through the collateral store (include/av/collateral.h): the
 * backend searches the store's files first, then the on-disk cache
 * answers, and the vendor is asked only when online.  OCSP requests
 * carry no nonce, so the POST cache key is stable and a response is
 * reused until its nextUpdate; a stale one is asked for again with
 * AV_FETCH_REFRESH.  URLs come from the configuration only, never from
 * certificates in the evidence (AIA), so evidence cannot make the
 * verifier connect anywhere.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/log.h"
#include "evidence/nvgpu.h"

#define NV_RIM_DEFAULT_URL	"https://rim.attestation.nvidia.com"
#define NV_OCSP_DEFAULT_URL	"https://ocsp.ndis.nvidia.com"
#define NV_URL_MAX		1024
#define NV_OCSP_SLACK_S		300	/* clock skew allowed */
#define NV_OCSP_NO_NEXT_S	86400	/* no nextUpdate: usable a day */
#define NV_OCSP_MAX_STORE	4096	/* stored responses looked at */

/* base without trailing slashes: its length, or -1 when too long. */
static int
base_len(const char *base)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return n > 512 ? -1 : (int)n;
}

/* ---- RIM service ------------------------------------------------------ */

static bool
rim_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128)
		return false;
	for (; *id != '\0'; id++)
		if (!isalnum((unsigned char)*id) && *id != '_' && *id != '.' &&
		    *id != '-')
			return false;
	return true;
}

/*
 * NVIDIA RIM service: GET {nvidia_rim_url}/v1/rim/{id} through the
 * collateral cache.  On success *out is the RIM XML (malloc'd).
 * Returns 0, or -1 with e (AV_E_RIM_MISSING, with the fetch's reason).
 */
int
nv_rim_fetch(struct av_collateral *coll, const char *id, unsigned flags,
    uint8_t **out, size_t *outlen, struct av_err *e)
{
	const struct av_coll_fetch_cfg	*cfg = av_collateral_cfg(coll);
	const char			*base = NV_RIM_DEFAULT_URL;
	char				 url[NV_URL_MAX];
	uint8_t				*body = NULL;
	size_t				 blen = 0, i = 0;
	json_t				*doc = NULL;
	json_error_t			 jerr;
	struct av_err			 fe = { 0 };
	int				 bl, rc = -1;

	if (coll == NULL || !rim_id_ok(id))
		return AV_FAIL(e, AV_E_RIM_MISSING,
		    "nvidia-gpu: no RIM id to ask the RIM service for");
	if (cfg != NULL && cfg->nvidia_rim_url != NULL &&
	    cfg->nvidia_rim_url[0] != '\0')
		base = cfg->nvidia_rim_url;
	if ((bl = base_len(base)) < 0 || snprintf(url, sizeof(url),
	    "%.*s/v1/rim/%s", bl, base, id) >= (int)sizeof(url))
		return AV_FAIL(e, AV_E_RIM_MISSING,
		    "nvidia-gpu: RIM service URL too long");
	if (av_collateral_fetch_flags(coll, url, NULL, flags, &body, &blen,
	    NULL, &fe) != 0) {
		*e = fe;	/* the collateral reason says why */
		e->code = AV_E_RIM_MISSING;
		return -1;
	}
	if (blen >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF)
		i = 3;
	while (i < blen && isspace(body[i]))
		i++;
	if (i < blen && body[i] == '<') {
		memmove(body, body + i, blen - i);
		*out = body;
		*outlen = blen - i;
		return 0;
	}
	if (i < blen && body[i] == '{' && (doc = json_loadb((const char *)body,
	    blen, JSON_REJECT_DUPLICATES, &jerr)) != NULL) {
		const json_t *r = json_object_get(doc, "rim");

		if (json_is_string(r) && av_b64_decode(json_string_value(r),
		    json_string_length(r), out, outlen) == 0 && *outlen > 0) {
			rc = 0;
			goto done;
		}
	}
	AV_FAIL(e, AV_E_RIM_MISSING,
	    "nvidia-gpu: unexpected answer from the RIM service");
 done:
	json_decref(doc);
	free(body);
	return rc;
}

/* ---- OCSP ------------------------------------------------------------- */

/* Stable name of an OCSP status, for claims. */
const char *
nv_ocsp_status_str(enum nv_ocsp_status s)
{
	switch (s) {
	case NV_OCSP_GOOD:
		return "good";
	case NV_OCSP_REVOKED:
		return "revoked";
	case NV_OCSP_UNKNOWN:
		return "unknown";
	case NV_OCSP_UNAVAILABLE:
		return "unavailable";
	case NV_OCSP_NOT_CHECKED:
	default:
		return "not_checked";
	}
}

/* ASN.1 time to unix seconds; 0 when absent or invalid. */
static int64_t
asn1_unix(const ASN1_GENERALIZEDTIME *t)
{
	int64_t s;

	return av_asn1_time_unix(t, &s) == 0 ? s : 0;
}

enum ev_result { EV_NOTFOUND, EV_INVALID, EV_STALE, EV_OK };

/*
 * Responses whose signature verified, by SHA-256 of (response DER ||
 * signer DER): a cached response for a busy GPU fleet costs no signature
 * check after the first (the signer's authorization is still checked,
 * and av_chain_verify() caches that).
 */
#define SIGC_SIZE	256
static pthread_mutex_t	sigc_mtx = PTHREAD_MUTEX_INITIALIZER;
static uint8_t		sigc[SIGC_SIZE][32];
static size_t		sigc_n, sigc_next;

static bool
sig_verified(OCSP_BASICRESP *bs, X509 *signer, STACK_OF(X509) *chain,
    const uint8_t *p, size_t n)
{
	EVP_MD_CTX	*md;
	uint8_t		 key[32], *der = NULL;
	unsigned	 kl = 0;
	int		 dl;
	bool		 ok = false;

	if ((dl = i2d_X509(signer, &der)) <= 0 ||
	    (md = EVP_MD_CTX_new()) == NULL) {
		OPENSSL_free(der);
		return false;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, p, n) == 1 &&
	    EVP_DigestUpdate(md, der, (size_t)dl) == 1 &&
	    EVP_DigestFinal_ex(md, key, &kl) == 1 && kl == 32) {
		pthread_mutex_lock(&sigc_mtx);
		for (size_t i = 0; i < sigc_n && !ok; i++)
			ok = memcmp(sigc[i], key, 32) == 0;
		pthread_mutex_unlock(&sigc_mtx);
		if (!ok) {
			ERR_clear_error();
			ok = OCSP_basic_verify(bs, chain, NULL,
			    OCSP_NOVERIFY) == 1;
			if (ok) {
				pthread_mutex_lock(&sigc_mtx);
				memcpy(sigc[sigc_next], key, 32);
				sigc_next = (sigc_next + 1) % SIGC_SIZE;
				if (sigc_n < SIGC_SIZE)
					sigc_n++;
				pthread_mutex_unlock(&sigc_mtx);
			}
		}
	}
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

/*
 * May signer answer for certificates issued by issuer?  The issuer
 * itself, or a delegated responder (id-kp-OCSPSigning, RFC 6960
 * s.4.2.2.2) that chains to an anchor of platform at `at`.
 */
static bool
signer_authorized(X509 *signer, X509 *issuer, OCSP_BASICRESP *bs,
    STACK_OF(X509) *chain, const struct av_trust *trust,
    const char *platform, int64_t at)
{
	STACK_OF(X509)		*pool;
	const STACK_OF(X509)	*extra = OCSP_resp_get0_certs(bs);
	struct av_chain_opts	 opts = { 0 };
	struct av_err		 ce = { 0 };
	bool			 ok;

	if (X509_cmp(signer, issuer) == 0)
		return true;
	if (trust == NULL || (X509_get_extension_flags(signer) & EXFLAG_XKUSAGE)
	    == 0 || (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0)
		return false;
	if ((pool = sk_X509_new_null()) == NULL)
		return false;
	for (int i = 0; i < sk_X509_num(chain); i++)
		(void)sk_X509_push(pool, sk_X509_value(chain, i));
	for (int i = 0; i < sk_X509_num(extra) && i < 8; i++)
		(void)sk_X509_push(pool, sk_X509_value(extra, i));
	opts.platform = platform;
	opts.max_depth = 8;
	ok = av_chain_verify(trust, signer, pool, at, &opts, NULL, &ce) == 0;
	sk_X509_free(pool);
	return ok;
}

/*
 * Decoded responses by SHA-256 of their DER: decoding one (its
 * responder certificate's key above all) costs a good part of a
 * signature check, and a fleet presents the same few responses.
 * Entries are reference counted; a decoded response is only read.
 */
#define DEC_SIZE	64

struct dec_ent {
	uint8_t		 sha[32];
	OCSP_BASICRESP	*bs;		/* owned; NULL: not a usable response */
	int		 refs;		/* under dec_mtx */
};
static pthread_mutex_t	 dec_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct dec_ent	*dec[DEC_SIZE];
static size_t		 dec_next;

static void
dec_put(struct dec_ent *d)
{
	bool last;

	if (d == NULL)
		return;
	pthread_mutex_lock(&dec_mtx);
	last = --d->refs == 0;
	pthread_mutex_unlock(&dec_mtx);
	if (last) {
		OCSP_BASICRESP_free(d->bs);
		free(d);
	}
}

static struct dec_ent *
dec_get(const uint8_t *p, size_t n)
{
	struct dec_ent		*d = NULL, *old = NULL;
	const unsigned char	*q = p;
	OCSP_RESPONSE		*resp;
	uint8_t			 sha[32];

	av_sha256(p, n, sha);
	pthread_mutex_lock(&dec_mtx);
	for (size_t i = 0; i < DEC_SIZE && d == NULL; i++)
		if (dec[i] != NULL && memcmp(dec[i]->sha, sha, 32) == 0) {
			d = dec[i];
			d->refs++;
		}
	pthread_mutex_unlock(&dec_mtx);
	if (d != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	memcpy(d->sha, sha, 32);
	d->refs = 2;		/* the caller's and the cache's */
	if ((resp = d2i_OCSP_RESPONSE(NULL, &q, (long)n)) != NULL) {
		if (q == p + n && OCSP_response_status(resp) ==
		    OCSP_RESPONSE_STATUS_SUCCESSFUL)
			d->bs = OCSP_response_get1_basic(resp);
		OCSP_RESPONSE_free(resp);
	}
	pthread_mutex_lock(&dec_mtx);
	old = dec[dec_next];
	dec[dec_next] = d;
	dec_next = (dec_next + 1) % DEC_SIZE;
	pthread_mutex_unlock(&dec_mtx);
	dec_put(old);
	return d;
}

/* Look for cert's status in one DER response. */
static enum ev_result
evaluate(const uint8_t *p, size_t n, X509 *cert, X509 *issuer,
    STACK_OF(X509) *chain, const struct av_trust *trust,
    const char *platform, int64_t at, struct nv_ocsp_cert *out)
{
	const EVP_MD		*mds[4];
	struct dec_ent		*de = NULL;
	OCSP_BASICRESP		*bs;
	OCSP_SINGLERESP		*single = NULL;
	OCSP_CERTID		*id;
	ASN1_GENERALIZEDTIME	*rev = NULL, *thisupd = NULL, *nextupd = NULL;
	X509			*signer = NULL;
	enum ev_result		 res = EV_NOTFOUND;
	int			 status, reason = -1, idx = -1;

	mds[0] = EVP_sha384();
	mds[1] = EVP_sha1();
	mds[2] = EVP_sha256();
	mds[3] = EVP_sha512();
	if (n < 2 || n > (1u << 20) || p[0] != 0x30 ||
	    (de = dec_get(p, n)) == NULL || (bs = de->bs) == NULL)
		goto out;
	for (size_t m = 0; idx < 0 && m < sizeof(mds) / sizeof(mds[0]); m++) {
		if ((id = OCSP_cert_to_id(mds[m], cert, issuer)) == NULL)
			continue;
		idx = OCSP_resp_find(bs, id, -1);
		OCSP_CERTID_free(id);
	}
	if (idx < 0 || (single = OCSP_resp_get0(bs, idx)) == NULL)
		goto out;
	res = EV_INVALID;
	if (OCSP_resp_get0_signer(bs, &signer, chain) != 1 ||
	    !sig_verified(bs, signer, chain, p, n) ||
	    !signer_authorized(signer, issuer, bs, chain, trust, platform,
	    at)) {
		out->why = "nvidia-gpu: OCSP response not signed by an "
		    "authorized responder";
		goto out;
	}
	status = OCSP_single_get0_status(single, &reason, &rev, &thisupd,
	    &nextupd);
	if (thisupd == NULL || status < 0) {
		out->why = "nvidia-gpu: OCSP response malformed";
		goto out;
	}
	out->this_update = asn1_unix(thisupd);
	out->next_update = asn1_unix(nextupd);
	if (out->this_update == 0 || out->this_update > at + NV_OCSP_SLACK_S ||
	    (nextupd != NULL && (out->next_update == 0 ||
	    at > out->next_update + NV_OCSP_SLACK_S)) ||
	    (nextupd == NULL && at > out->this_update + NV_OCSP_NO_NEXT_S)) {
		out->why = "nvidia-gpu: OCSP response out of date";
		res = EV_STALE;
		goto out;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		out->status = NV_OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		out->status = NV_OCSP_REVOKED;
		out->revoked_at = asn1_unix(rev);
		out->reason = reason;
		break;
	default:
		out->status = NV_OCSP_UNKNOWN;
		out->why = "nvidia-gpu: the OCSP responder does not know a "
		    "device certificate";
		break;
	}
	res = EV_OK;
 out:
	dec_put(de);
	return res;
}

/* DER of an OCSP request for cert (SHA-384 CertID, no nonce). */
static uint8_t *
ocsp_request(X509 *cert, X509 *issuer, size_t *len)
{
	OCSP_REQUEST	*req = NULL;
	OCSP_CERTID	*id = NULL;
	uint8_t		*der = NULL;
	int		 n;

	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha384(), cert, issuer)) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		OCSP_REQUEST_free(req);
		return NULL;
	}
	if ((n = i2d_OCSP_REQUEST(req, &der)) <= 0)
		der = NULL;
	else
		*len = (size_t)n;
	OCSP_REQUEST_free(req);
	return der;
}

static void
ask_responder(struct av_collateral *coll, X509 *cert, X509 *issuer,
    STACK_OF(X509) *chain, const struct av_trust *trust,
    const char *platform, int64_t at, struct nv_ocsp_cert *out)
{
	const struct av_coll_fetch_cfg	*cfg = av_collateral_cfg(coll);
	const char			*url = NV_OCSP_DEFAULT_URL;
	uint8_t				*req, *body;
	size_t				 rlen = 0, blen;
	struct av_err			 fe = { 0 };
	enum ev_result			 r = EV_NOTFOUND;

	if (cfg != NULL && cfg->nvidia_ocsp_url != NULL &&
	    cfg->nvidia_ocsp_url[0] != '\0')
		url = cfg->nvidia_ocsp_url;
	if ((req = ocsp_request(cert, issuer, &rlen)) == NULL)
		return;
	for (unsigned flags = 0; flags <= AV_FETCH_REFRESH;
	    flags += AV_FETCH_REFRESH) {
		body = NULL;
		blen = 0;
		if (av_collateral_post(coll, url, "application/ocsp-request",
		    req, rlen, NULL, flags, &body, &blen, NULL, &fe) != 0) {
			if (out->why == NULL)
				out->why = "nvidia-gpu: no OCSP response "
				    "(offline or responder unreachable)";
			break;
		}
		r = evaluate(body, blen, cert, issuer, chain, trust, platform,
		    at, out);
		free(body);
		if (r == EV_OK) {
			out->source = "responder";
			break;
		}
		if (r != EV_STALE)
			break;	/* a fresh copy would be no better */
	}
	if (r == EV_NOTFOUND && out->why == NULL)
		out->why = "nvidia-gpu: the OCSP responder's answer does not "
		    "name the certificate";
	OPENSSL_free(req);
}

/*
 * RFC 6960 status of each non-root certificate of chain at `at`, from
 * stapled responses, the collateral store, then the responder (see
 * nvgpu.h).  out[] gets n-1 entries.  Never fails.
 */
void
nv_ocsp_check(struct av_collateral *coll, const struct av_trust *trust,
    const char *platform, STACK_OF(X509) *chain,
    const struct nv_blob *stapled, size_t nstapled, int64_t at,
    struct nv_ocsp_cert *out)
{
	const struct av_coll_blob	*b;
	int				 n = sk_X509_num(chain);

	for (int i = 0; i + 1 < n; i++) {
		X509			*cert = sk_X509_value(chain, i);
		X509			*issuer = sk_X509_value(chain, i + 1);
		struct nv_ocsp_cert	*o = &out[i];
		enum ev_result		 r = EV_NOTFOUND;

		memset(o, 0, sizeof(*o));
		o->status = NV_OCSP_UNAVAILABLE;
		o->reason = -1;
		for (size_t k = 0; r != EV_OK && k < nstapled; k++)
			if ((r = evaluate(stapled[k].p, stapled[k].len, cert,
			    issuer, chain, trust, platform, at, o)) == EV_OK)
				o->source = "request";
		for (size_t k = 0; r != EV_OK && coll != NULL &&
		    k < NV_OCSP_MAX_STORE &&
		    (b = av_collateral_get(coll, AV_COLL_OTHER, k)) != NULL;
		    k++)
			if ((r = evaluate(b->data, b->len, cert, issuer, chain,
			    trust, platform, at, o)) == EV_OK)
				o->source = "collateral";
		if (r != EV_OK && coll != NULL) {
			o->status = NV_OCSP_UNAVAILABLE;
			ask_responder(coll, cert, issuer, chain, trust,
			    platform, at, o);
		}
		if (o->status == NV_OCSP_UNAVAILABLE && o->why == NULL)
			o->why = "nvidia-gpu: no OCSP response for a device "
			    "certificate";
	}
}
