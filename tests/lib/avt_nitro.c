/*
 * Test-only signer for AWS Nitro attestation documents (COSE_Sign1,
 * ES384).  CBOR is written by hand, independently of the verifier's
 * reader, so that tests control every byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "avt_nitro.h"
#include "avt_pki.h"

/* ---- a growable buffer and a CBOR writer ------------------------------ */

struct wbuf {
	uint8_t	*p;
	size_t	 n, cap;
	bool	 err;
};

static void
w_bytes(struct wbuf *w, const void *p, size_t n)
{
	uint8_t	*np;
	size_t	 cap;

	if (w->err)
		return;
	if (w->n + n > w->cap) {
		cap = w->cap == 0 ? 256 : w->cap;
		while (cap < w->n + n)
			cap *= 2;
		if ((np = realloc(w->p, cap)) == NULL) {
			w->err = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	if (n > 0)
		memcpy(w->p + w->n, p, n);
	w->n += n;
}

static void
w_u8(struct wbuf *w, uint8_t b)
{
	w_bytes(w, &b, 1);
}

/* Shortest head (RFC 8949 s.3) of a major type and argument. */
static void
w_head(struct wbuf *w, uint8_t major, uint64_t v)
{
	uint8_t mt = (uint8_t)(major << 5);

	if (v < 24)
		w_u8(w, mt | (uint8_t)v);
	else if (v <= 0xff) {
		w_u8(w, mt | 24);
		w_u8(w, (uint8_t)v);
	} else if (v <= 0xffff) {
		w_u8(w, mt | 25);
		w_u8(w, (uint8_t)(v >> 8));
		w_u8(w, (uint8_t)v);
	} else if (v <= 0xffffffffu) {
		w_u8(w, mt | 26);
		for (int i = 3; i >= 0; i--)
			w_u8(w, (uint8_t)(v >> (8 * i)));
	} else {
		w_u8(w, mt | 27);
		for (int i = 7; i >= 0; i--)
			w_u8(w, (uint8_t)(v >> (8 * i)));
	}
}

static void
w_bstr(struct wbuf *w, const uint8_t *p, size_t n)
{
	w_head(w, 2, n);
	w_bytes(w, p, n);
}

static void
w_tstr(struct wbuf *w, const char *s)
{
	w_head(w, 3, strlen(s));
	w_bytes(w, s, strlen(s));
}

/* ---- the PKI ---------------------------------------------------------- */

/*
 * Root and intermediate valid ten years either side of the leaf window;
 * the leaf valid over [leaf_nb, leaf_na].  Returns NULL on failure.
 */
struct avt_nitro_pki *
avt_nitro_pki_new(int64_t leaf_nb, int64_t leaf_na, const char *leaf_kind)
{
	struct avt_nitro_pki	*k;
	struct avt_cert_spec	 root = { 0 }, inter = { 0 }, leaf = { 0 };
	const int64_t		 decade = 10 * 366 * 86400LL;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	root.cn = "attestd test nitro root";
	root.not_before = leaf_nb - decade;
	root.not_after = leaf_na + decade;
	root.ca = true;
	inter.cn = "attestd test nitro intermediate";
	inter.not_before = leaf_nb - decade / 2;
	inter.not_after = leaf_na + decade / 2;
	inter.ca = true;
	leaf.cn = "i-0123456789abcdef0-enc0123456789abcdef.test.aws";
	leaf.not_before = leaf_nb;
	leaf.not_after = leaf_na;
	if ((k->root_key = avt_key_new("P-384")) == NULL ||
	    (k->int_key = avt_key_new("P-384")) == NULL ||
	    (k->leaf_key = avt_key_new(leaf_kind != NULL ? leaf_kind :
	    "P-384")) == NULL ||
	    (k->root = avt_cert_new(&root, k->root_key, NULL,
	    k->root_key)) == NULL ||
	    (k->inter = avt_cert_new(&inter, k->int_key, k->root,
	    k->root_key)) == NULL ||
	    (k->leaf = avt_cert_new(&leaf, k->leaf_key, k->inter,
	    k->int_key)) == NULL) {
		avt_nitro_pki_free(k);
		return NULL;
	}
	return k;
}

void
avt_nitro_pki_free(struct avt_nitro_pki *k)
{
	if (k == NULL)
		return;
	X509_free(k->root);
	X509_free(k->inter);
	X509_free(k->leaf);
	EVP_PKEY_free(k->root_key);
	EVP_PKEY_free(k->int_key);
	EVP_PKEY_free(k->leaf_key);
	free(k);
}

/* ---- documents -------------------------------------------------------- */

void
avt_nitro_spec_init(struct avt_nitro_spec *s, int64_t now_s, bool tpm)
{
	memset(s, 0, sizeof(*s));
	s->module_id = tpm ? "i-0123456789abcdef0-tpm0000000000000000" :
	    "i-0123456789abcdef0-enc0123456789abcdef";
	s->digest = "SHA384";
	s->timestamp_ms = (uint64_t)now_s * 1000 + 123;
	s->tpm = tpm;
	s->pcr_mask = tpm ? 0xffffffu : 0xffffu;
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 48; j++)
			s->pcr[i][j] = (uint8_t)(i * 16 + j + 1);
	s->pcr_len = 48;
	s->public_key.kind = AVT_OPT_NULL;
	s->user_data.kind = AVT_OPT_NULL;
	s->nonce.kind = AVT_OPT_NULL;
	s->sig_len = 96;
}

void
avt_nitro_spec_debug(struct avt_nitro_spec *s)
{
	memset(s->pcr[0], 0, 48);
	memset(s->pcr[1], 0, 48);
	memset(s->pcr[2], 0, 48);
}

char *
avt_nitro_pcr_hex(const struct avt_nitro_spec *s, int i)
{
	static const char	 hx[] = "0123456789abcdef";
	char			*h;

	if (i < 0 || i > 31 || (h = malloc(97)) == NULL)
		return NULL;
	for (int j = 0; j < 48; j++) {
		h[2 * j] = hx[s->pcr[i][j] >> 4];
		h[2 * j + 1] = hx[s->pcr[i][j] & 0xf];
	}
	h[96] = '\0';
	return h;
}

static bool
want(const struct avt_nitro_spec *s, const char *key)
{
	return s->omit_key == NULL || strcmp(s->omit_key, key) != 0;
}

static void
w_opt(struct wbuf *w, const struct avt_nitro_spec *s, const char *key,
    const struct avt_nitro_field *f)
{
	if (f->kind == AVT_OPT_ABSENT || !want(s, key))
		return;
	w_tstr(w, key);
	if (f->kind == AVT_OPT_NULL)
		w_u8(w, 0xf6);
	else
		w_bstr(w, f->p, f->n);
}

static size_t
popcount32(uint32_t v)
{
	size_t n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

/* The payload map ([AWS] AttestationDocument). */
static void
w_payload(struct wbuf *w, const struct avt_nitro_spec *s,
    const struct avt_nitro_pki *k)
{
	uint8_t		*der = NULL, *pad = NULL;
	size_t		 dlen = 0, nkeys = 0, ncab;
	const char	*pcrkey = s->tpm ? "nitrotpm_pcrs" : "pcrs";
	uint8_t		 val[128];

	/* count keys for the definite form */
	nkeys += want(s, "module_id") + want(s, "digest") +
	    want(s, "timestamp") + want(s, pcrkey) + want(s, "certificate") +
	    want(s, "cabundle");
	nkeys += (s->public_key.kind != AVT_OPT_ABSENT && want(s, "public_key"));
	nkeys += (s->user_data.kind != AVT_OPT_ABSENT && want(s, "user_data"));
	nkeys += (s->nonce.kind != AVT_OPT_ABSENT && want(s, "nonce"));
	nkeys += (s->extra_key != NULL) + s->dup_key;
	if (s->indefinite)
		w_u8(w, 0xbf);
	else
		w_head(w, 5, nkeys);

	if (want(s, "module_id")) {
		w_tstr(w, "module_id");
		w_tstr(w, s->module_id);
	}
	if (s->dup_key) {
		w_tstr(w, "module_id");
		w_tstr(w, s->module_id);
	}
	if (want(s, "digest")) {
		w_tstr(w, "digest");
		w_tstr(w, s->digest);
	}
	if (want(s, "timestamp")) {
		w_tstr(w, "timestamp");
		w_head(w, 0, s->timestamp_ms);
	}
	if (want(s, pcrkey)) {
		w_tstr(w, pcrkey);
		w_head(w, 5, popcount32(s->pcr_mask) + s->has_pcr_extra);
		for (int i = 0; i < 32; i++) {
			if (!(s->pcr_mask & (1u << i)))
				continue;
			memset(val, 0, sizeof(val));
			memcpy(val, s->pcr[i], 48);
			w_head(w, 0, (uint64_t)i);
			w_bstr(w, val, s->pcr_len <= sizeof(val) ?
			    s->pcr_len : sizeof(val));
		}
		if (s->has_pcr_extra) {
			memset(val, 0xee, sizeof(val));
			w_head(w, 0, s->pcr_extra);
			w_bstr(w, val, 48);
		}
	}
	if (want(s, "certificate")) {
		w_tstr(w, "certificate");
		if ((der = avt_cert_der(k->leaf, &dlen)) == NULL) {
			w->err = true;
			return;
		}
		if (s->cert_pad > dlen) {
			if ((pad = calloc(1, s->cert_pad)) == NULL) {
				free(der);
				w->err = true;
				return;
			}
			memcpy(pad, der, dlen);
			w_bstr(w, pad, s->cert_pad);
			free(pad);
		} else
			w_bstr(w, der, dlen);
		free(der);
	}
	if (want(s, "cabundle")) {
		w_tstr(w, "cabundle");
		if (s->cabundle_leaf_only) {
			w_head(w, 4, 1);
			der = avt_cert_der(k->inter, &dlen);
			w_bstr(w, der, dlen);
			free(der);
		} else {
			ncab = s->cabundle_n != 0 ? s->cabundle_n : 2;
			w_head(w, 4, ncab);
			der = avt_cert_der(k->root, &dlen);
			w_bstr(w, der, dlen);
			free(der);
			der = avt_cert_der(k->inter, &dlen);
			for (size_t i = 1; i < ncab; i++)
				w_bstr(w, der, dlen);
			free(der);
		}
	}
	w_opt(w, s, "public_key", &s->public_key);
	w_opt(w, s, "user_data", &s->user_data);
	w_opt(w, s, "nonce", &s->nonce);
	if (s->extra_key != NULL) {
		w_tstr(w, s->extra_key);
		w_u8(w, 0xf6);
	}
	if (s->indefinite)
		w_u8(w, 0xff);
}

/*
 * Build the document: [protected, {}, payload, signature] over the
 * Sig_structure ["Signature1", protected, h'', payload] (RFC 9052 s.4.4).
 */
uint8_t *
avt_nitro_make(const struct avt_nitro_spec *s, const struct avt_nitro_pki *k,
    size_t *len)
{
	static const uint8_t	 es384[] = { 0xa1, 0x01, 0x38, 0x22 };
	struct wbuf		 pl = { 0 }, tbs = { 0 }, doc = { 0 };
	const uint8_t		*prot = s->prot != NULL ? s->prot : es384;
	size_t			 prot_len = s->prot != NULL ? s->prot_len :
				    sizeof(es384);
	uint8_t			*sig = NULL, *sigbuf = NULL, *out = NULL;
	size_t			 siglen = 0;

	w_payload(&pl, s, k);
	if (pl.err)
		goto out;
	w_u8(&tbs, 0x84);
	w_tstr(&tbs, "Signature1");
	w_bstr(&tbs, prot, prot_len);
	w_bstr(&tbs, NULL, 0);
	if (s->sign_payload_only)
		w_bytes(&tbs, pl.p, pl.n);
	else
		w_bstr(&tbs, pl.p, pl.n);
	if (tbs.err || (sig = avt_ecdsa_sign_rs(k->leaf_key, EVP_sha384(),
	    tbs.p, tbs.n, &siglen)) == NULL)
		goto out;
	if ((sigbuf = calloc(1, s->sig_len + 1)) == NULL)
		goto out;
	memcpy(sigbuf, sig, siglen < s->sig_len ? siglen : s->sig_len);
	if (s->corrupt_sig && s->sig_len > 0)
		sigbuf[s->sig_len - 1] ^= 0x01;

	if (s->tagged)
		w_u8(&doc, 0xd2);
	w_u8(&doc, 0x84);
	w_bstr(&doc, prot, prot_len);
	w_u8(&doc, 0xa0);
	w_bstr(&doc, pl.p, pl.n);
	w_bstr(&doc, sigbuf, s->sig_len);
	for (size_t i = 0; i < s->trailing; i++)
		w_u8(&doc, 0x00);
	if (doc.err)
		goto out;
	out = doc.p;
	*len = doc.n;
	doc.p = NULL;
 out:
	free(pl.p);
	free(tbs.p);
	free(doc.p);
	free(sig);
	free(sigbuf);
	return out;
}
