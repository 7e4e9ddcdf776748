/*
 * attestd - the collateral store: certificates, CRLs, JSON and XML
 * documents and other blobs, classified by content and kept once per
 * SHA-256 of that content.
 *
 * Classification (first match wins), after an optional UTF-8 BOM and
 * leading whitespace:
 *   '{' or '[' and the whole buffer is JSON (object or array)  -> JSON
 *   '<'                                                       -> XML
 *   "-----BEGIN " anywhere: one blob per PEM CERTIFICATE or
 *   X509 CRL block (other blocks, e.g. keys, are ignored)      -> CERT/CRL
 *   one DER certificate, then one DER CRL, filling the buffer  -> CERT/CRL
 *   anything else (OCSP responses, ...)                        -> OTHER
 * JSON and XML keep the bytes as received: Intel signs the TCB info and
 * QE identity JSON text as served, NVIDIA signs the RIM XML.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/collateral.h"
#include "av/log.h"
#include "coll.h"

/* ---- blobs ------------------------------------------------------------ */

void
coll_blob_free(struct av_coll_blob *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b->origin);
	X509_free(b->cert);
	X509_CRL_free(b->crl);
	json_decref(b->json);
	free(b);
}

void
coll_blist_cleanup(struct coll_blist *l)
{
	for (size_t i = 0; i < l->n; i++)
		coll_blob_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Append b to l; on failure b is freed. */
static int
blist_push(struct coll_blist *l, struct av_coll_blob *b, struct av_err *e)
{
	struct av_coll_blob	**nv;
	size_t			  ncap;

	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 8;
		if ((nv = reallocarray(l->v, ncap, sizeof(*nv))) == NULL) {
			coll_blob_free(b);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = b;
	return 0;
}

/*
 * New blob holding a copy of p[0..n).  Ownership of the parsed object
 * (cert, crl or json; at most one non-NULL) moves to the blob, also on
 * failure.
 */
static struct av_coll_blob *
blob_new(enum av_coll_kind kind, const uint8_t *p, size_t n,
    const char *origin, X509 *cert, X509_CRL *crl, json_t *json)
{
	struct av_coll_blob	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail;
	b->kind = kind;
	b->cert = cert;
	b->crl = crl;
	b->json = json;
	cert = NULL;
	crl = NULL;
	json = NULL;
	if ((b->data = malloc(n ? n : 1)) == NULL)
		goto fail;
	memcpy(b->data, p, n);
	b->len = n;
	coll_sha256(p, n, b->sha256);
	if ((b->origin = strdup(origin ? origin : "")) == NULL)
		goto fail;
	return b;
 fail:
	X509_free(cert);
	X509_CRL_free(crl);
	json_decref(json);
	coll_blob_free(b);
	return NULL;
}

/* ---- classification ---------------------------------------------------- */

static size_t
skip_bom_ws(const uint8_t *p, size_t n)
{
	size_t	i = 0;

	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	return i;
}

/* One DER certificate filling the whole buffer, or NULL. */
static X509 *
der_cert(const uint8_t *p, size_t n)
{
	const unsigned char	*q = p;
	X509			*x;

	if (n == 0 || n > LONG_MAX)
		return NULL;
	if ((x = d2i_X509(NULL, &q, (long)n)) == NULL)
		return NULL;
	if ((size_t)(q - p) != n) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* One DER CRL filling the whole buffer, or NULL. */
static X509_CRL *
der_crl(const uint8_t *p, size_t n)
{
	const unsigned char	*q = p;
	X509_CRL		*c;

	if (n == 0 || n > LONG_MAX)
		return NULL;
	if ((c = d2i_X509_CRL(NULL, &q, (long)n)) == NULL)
		return NULL;
	if ((size_t)(q - p) != n) {
		X509_CRL_free(c);
		return NULL;
	}
	return c;
}

static bool
has_pem_begin(const uint8_t *p, size_t n)
{
	static const char	 tag[] = "-----BEGIN ";
	const size_t		 tl = sizeof(tag) - 1;
	const uint8_t		*q;

	/* memmem() is not POSIX */
	for (size_t i = 0; n >= tl && i <= n - tl; i = (size_t)(q - p) + 1) {
		if ((q = memchr(p + i, '-', n - tl + 1 - i)) == NULL)
			return false;
		if (memcmp(q, tag, tl) == 0)
			return true;
	}
	return false;
}

/*
 * Append one blob per PEM certificate or CRL in p.  *found is the number
 * appended.  Returns 0/-1 (allocation).
 */
static int
classify_pem(const uint8_t *p, size_t n, const char *origin,
    struct coll_blist *l, size_t *found, struct av_err *e)
{
	BIO		*bio = NULL;
	char		*name = NULL, *header = NULL;
	unsigned char	*data = NULL;
	long		 dlen;
	int		 rc = -1;
	size_t		 nblocks = 0;

	*found = 0;
	if (n > INT_MAX) {
		rc = 0;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(p, (int)n)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	while (nblocks++ < COLL_MAX_BLOBS &&
	    PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		struct av_coll_blob	*b = NULL;

		if (strcmp(name, "CERTIFICATE") == 0 ||
		    strcmp(name, "X509 CERTIFICATE") == 0) {
			X509 *x = der_cert(data, (size_t)dlen);

			if (x != NULL && (b = blob_new(AV_COLL_CERT, data,
			    (size_t)dlen, origin, x, NULL, NULL)) == NULL) {
				AV_FAIL(e, AV_E_NOMEM, "out of memory");
				goto out;
			}
		} else if (strcmp(name, "X509 CRL") == 0) {
			X509_CRL *c = der_crl(data, (size_t)dlen);

			if (c != NULL && (b = blob_new(AV_COLL_CRL, data,
			    (size_t)dlen, origin, NULL, c, NULL)) == NULL) {
				AV_FAIL(e, AV_E_NOMEM, "out of memory");
				goto out;
			}
		}
		if (b == NULL && (strcmp(name, "CERTIFICATE") == 0 ||
		    strcmp(name, "X509 CRL") == 0))
			av_log(AV_LOG_WARN, "collateral_bad_pem_block",
			    "origin", origin, "block", name, NULL);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
		if (b != NULL) {
			if (blist_push(l, b, e) == -1)
				goto out;
			(*found)++;
		}
	}
	rc = 0;
 out:
	ERR_clear_error();	/* PEM_read_bio ends with "no start line" */
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

int
coll_classify(const uint8_t *p, size_t n, const char *origin,
    struct coll_blist *l, bool *pem, struct av_err *e)
{
	struct av_coll_blob	*b;
	json_error_t		 jerr;
	json_t			*j;
	X509			*x;
	X509_CRL		*c;
	size_t			 i, found, before = l->n;

	if (pem != NULL)
		*pem = false;
	if (n == 0)
		return 0;
	i = skip_bom_ws(p, n);
	if (i < n && (p[i] == '{' || p[i] == '[') &&
	    (j = json_loadb((const char *)p + i, n - i,
	    JSON_REJECT_DUPLICATES, &jerr)) != NULL) {
		b = blob_new(AV_COLL_JSON, p, n, origin, NULL, NULL, j);
		goto push;
	}
	if (i < n && p[i] == '<') {
		b = blob_new(AV_COLL_XML, p, n, origin, NULL, NULL, NULL);
		goto push;
	}
	if (has_pem_begin(p, n)) {
		if (classify_pem(p, n, origin, l, &found, e) == -1) {
			/* drop what this buffer added */
			while (l->n > before)
				coll_blob_free(l->v[--l->n]);
			return -1;
		}
		if (found > 0) {
			if (pem != NULL)
				*pem = true;
			return 0;
		}
	}
	if ((x = der_cert(p, n)) != NULL) {
		b = blob_new(AV_COLL_CERT, p, n, origin, x, NULL, NULL);
		goto push;
	}
	if ((c = der_crl(p, n)) != NULL) {
		b = blob_new(AV_COLL_CRL, p, n, origin, NULL, c, NULL);
		goto push;
	}
	ERR_clear_error();
	b = blob_new(AV_COLL_OTHER, p, n, origin, NULL, NULL, NULL);
 push:
	ERR_clear_error();
	if (b == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	return blist_push(l, b, e);
}

/* ---- the store --------------------------------------------------------- */

static size_t
tab_slot(const uint8_t sha[32], size_t cap)
{
	uint64_t	h = 0;

	for (int k = 0; k < 8; k++)
		h = (h << 8) | sha[k];
	return (size_t)h & (cap - 1);
}

/* Lookup under the lock. */
static struct av_coll_blob *
tab_find(struct av_collateral *c, const uint8_t sha[32])
{
	size_t	i;

	if (c->tabcap == 0)
		return NULL;
	for (i = tab_slot(sha, c->tabcap); c->tab[i] != NULL;
	    i = (i + 1) & (c->tabcap - 1))
		if (memcmp(c->tab[i]->sha256, sha, 32) == 0)
			return c->tab[i];
	return NULL;
}

static void
tab_put(struct av_coll_blob **tab, size_t cap, struct av_coll_blob *b)
{
	size_t	i;

	for (i = tab_slot(b->sha256, cap); tab[i] != NULL; i = (i + 1) & (cap - 1))
		;
	tab[i] = b;
}

/* Make room for `more` blobs (table at most half full, kind arrays). */
static int
reserve(struct av_collateral *c, const size_t more[COLL_NKINDS], size_t total,
    struct av_err *e)
{
	struct av_coll_blob	**nt, **nv;
	size_t			  ncap;

	if (c->nblobs + total > COLL_MAX_BLOBS)
		return AV_FAIL(e, AV_E_CONFIG, "collateral: too many blobs");
	ncap = c->tabcap ? c->tabcap : 64;
	while (ncap < 2 * (c->nblobs + total))
		ncap *= 2;
	if (ncap != c->tabcap) {
		if ((nt = calloc(ncap, sizeof(*nt))) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		for (size_t i = 0; i < c->tabcap; i++)
			if (c->tab[i] != NULL)
				tab_put(nt, ncap, c->tab[i]);
		free(c->tab);
		c->tab = nt;
		c->tabcap = ncap;
	}
	for (int k = 0; k < COLL_NKINDS; k++) {
		if (c->nkind[k] + more[k] <= c->capkind[k])
			continue;
		ncap = c->capkind[k] ? c->capkind[k] : 16;
		while (ncap < c->nkind[k] + more[k])
			ncap *= 2;
		if ((nv = reallocarray(c->kinds[k], ncap, sizeof(*nv))) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		c->kinds[k] = nv;
		c->capkind[k] = ncap;
	}
	return 0;
}

/*
 * Move every blob of l into the store (duplicates freed), all or none.
 * l is emptied on success.
 */
static int
insert_list(struct av_collateral *c, struct coll_blist *l, struct av_err *e)
{
	size_t	more[COLL_NKINDS] = { 0 };
	size_t	total = 0;
	int	rc = -1;

	for (size_t i = 0; i < l->n; i++) {
		if ((unsigned)l->v[i]->kind >= COLL_NKINDS)
			return AV_FAIL(e, AV_E_INTERNAL, "internal error");
		more[l->v[i]->kind]++;
		total++;
	}
	pthread_mutex_lock(&c->mtx);
	if (reserve(c, more, total, e) == -1)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		struct av_coll_blob *b = l->v[i];

		l->v[i] = NULL;
		if (tab_find(c, b->sha256) != NULL) {
			coll_blob_free(b);
			continue;
		}
		tab_put(c->tab, c->tabcap, b);
		c->kinds[b->kind][c->nkind[b->kind]++] = b;
		c->nblobs++;
	}
	l->n = 0;
	rc = 0;
 out:
	pthread_mutex_unlock(&c->mtx);
	return rc;
}

/*
 * New store (see collateral.h).  Caller frees with av_collateral_free().
 * NULL on allocation failure.
 */
struct av_collateral *
av_collateral_new(const struct av_coll_fetch_cfg *cfg)
{
	struct av_collateral	*c;
	struct av_err		 e = { 0 };
	char			*imp = NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mtx, NULL) != 0) {
		free(c);
		return NULL;
	}
	if (cfg != NULL)
		c->cfg = *cfg;
#define DUP(dst, fld) do {						\
	if (c->cfg.fld != NULL &&					\
	    (c->dst = strdup(c->cfg.fld)) == NULL)			\
		goto fail;						\
	c->cfg.fld = c->dst;						\
} while (0)
	DUP(s_cache, cache_dir);
	DUP(s_kds, amd_kds_url);
	DUP(s_pcs, intel_pcs_url);
	DUP(s_rim, nvidia_rim_url);
	DUP(s_ocsp, nvidia_ocsp_url);
#undef DUP
	if (c->cfg.timeout_s <= 0)
		c->cfg.timeout_s = 10;
	if (c->cfg.timeout_s > 600)
		c->cfg.timeout_s = 600;
	if (c->cfg.max_redirects < 0)
		c->cfg.max_redirects = 0;
	if (c->cfg.max_redirects > 3)
		c->cfg.max_redirects = 3;
	if (c->cfg.min_interval_ms < 0)
		c->cfg.min_interval_ms = 0;
	if (c->cfg.kds_min_interval_ms < 0)
		c->cfg.kds_min_interval_ms = 0;
	if (c->cfg.max_wait_ms <= 0)
		c->cfg.max_wait_ms = c->cfg.timeout_s * 1000;
	if (c->cfg.amd_kds_url != NULL)
		c->kds_host = coll_host_key(c->cfg.amd_kds_url);
	if (c->cfg.cache_dir != NULL) {
		if ((imp = coll_path(c->cfg.cache_dir, "imported")) == NULL)
			goto fail;
		if (access(imp, F_OK) == 0 &&
		    av_collateral_add_dir(c, imp, &e) == -1)
			av_log_err(AV_LOG_WARN, "collateral_import_load", &e);
		free(imp);
	}
	return c;
 fail:
	av_collateral_free(c);
	return NULL;
}

/* Free the store and every blob in it.  NULL does nothing. */
void
av_collateral_free(struct av_collateral *c)
{
	if (c == NULL)
		return;
	for (int k = 0; k < COLL_NKINDS; k++) {
		for (size_t i = 0; i < c->nkind[k]; i++)
			coll_blob_free(c->kinds[k][i]);
		free(c->kinds[k]);
	}
	free(c->tab);
	coll_fetch_cleanup(c);
	free(c->s_cache);
	free(c->s_kds);
	free(c->s_pcs);
	free(c->s_rim);
	free(c->s_ocsp);
	free(c->kds_host);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

struct dir_load {
	struct coll_blist	 l;
	size_t			 nfiles;
};

static int
load_file(const char *path, void *arg, struct av_err *e)
{
	struct dir_load	*dl = arg;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	int		 r;

	if (++dl->nfiles > COLL_MAX_FILES)
		return AV_FAIL(e, AV_E_CONFIG, "collateral: too many files");
	if ((r = coll_read_file(path, COLL_MAX_FILE, &buf, &len, e)) == -1) {
		av_log(AV_LOG_ERROR, "collateral_unreadable", "path", path, NULL);
		return -1;
	}
	if (r == 1) {
		av_log(AV_LOG_WARN, "collateral_too_large", "path", path, NULL);
		return 0;
	}
	r = coll_classify(buf, len, path, &dl->l, NULL, e);
	free(buf);
	if (r == 0 && dl->l.n > COLL_MAX_BLOBS)
		return AV_FAIL(e, AV_E_CONFIG, "collateral: too many blobs");
	return r;
}

/*
 * Add every file below dir (see collateral.h).  Returns 0, or -1 with e
 * (AV_E_IO, AV_E_CONFIG, AV_E_NOMEM); on failure nothing is added.
 */
int
av_collateral_add_dir(struct av_collateral *c, const char *dir,
    struct av_err *e)
{
	struct dir_load	dl = { 0 };
	int		rc = -1;

	if (c == NULL || dir == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if (coll_walk(dir, load_file, &dl, e) == -1)
		goto out;
	if (insert_list(c, &dl.l, e) == -1)
		goto out;
	rc = 0;
 out:
	coll_blist_cleanup(&dl.l);
	return rc;
}

/*
 * Add one buffer (copied), classified by content.  Returns 0, or -1 with
 * e (AV_E_COLLATERAL_INVALID, AV_E_CONFIG, AV_E_NOMEM).
 */
int
av_collateral_add(struct av_collateral *c, const uint8_t *p, size_t n,
    const char *origin, struct av_err *e)
{
	struct coll_blist	l = { 0 };
	int			rc = -1;

	if (c == NULL || (p == NULL && n != 0))
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if (n > COLL_MAX_FILE)
		return AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "collateral: too large");
	if (coll_classify(p, n, origin, &l, NULL, e) == -1)
		goto out;
	if (insert_list(c, &l, e) == -1)
		goto out;
	rc = 0;
 out:
	coll_blist_cleanup(&l);
	return rc;
}

/*
 * The i-th blob of kind (insertion order), borrowed; NULL past the end.
 */
const struct av_coll_blob *
av_collateral_get(struct av_collateral *c, enum av_coll_kind kind, size_t i)
{
	const struct av_coll_blob	*b = NULL;

	if (c == NULL || (unsigned)kind >= COLL_NKINDS)
		return NULL;
	pthread_mutex_lock(&c->mtx);
	if (i < c->nkind[kind])
		b = c->kinds[kind][i];
	pthread_mutex_unlock(&c->mtx);
	return b;
}

/* The blob with this content hash (borrowed), or NULL. */
const struct av_coll_blob *
av_collateral_find(struct av_collateral *c, const uint8_t sha256[32])
{
	const struct av_coll_blob	*b;

	if (c == NULL || sha256 == NULL)
		return NULL;
	pthread_mutex_lock(&c->mtx);
	b = tab_find(c, sha256);
	pthread_mutex_unlock(&c->mtx);
	return b;
}

/*
 * Every certificate: a new stack of borrowed X509 (sk_X509_free only).
 * NULL on allocation failure.
 */
STACK_OF(X509) *
av_collateral_certs(struct av_collateral *c)
{
	STACK_OF(X509)	*sk;

	if (c == NULL || (sk = sk_X509_new_null()) == NULL)
		return NULL;
	pthread_mutex_lock(&c->mtx);
	for (size_t i = 0; i < c->nkind[AV_COLL_CERT]; i++)
		if (sk_X509_push(sk, c->kinds[AV_COLL_CERT][i]->cert) <= 0) {
			sk_X509_free(sk);
			sk = NULL;
			break;
		}
	pthread_mutex_unlock(&c->mtx);
	return sk;
}

/*
 * Every CRL: a new stack of borrowed X509_CRL (sk_X509_CRL_free only).
 * NULL on allocation failure.
 */
STACK_OF(X509_CRL) *
av_collateral_crls(struct av_collateral *c)
{
	STACK_OF(X509_CRL)	*sk;

	if (c == NULL || (sk = sk_X509_CRL_new_null()) == NULL)
		return NULL;
	pthread_mutex_lock(&c->mtx);
	for (size_t i = 0; i < c->nkind[AV_COLL_CRL]; i++)
		if (sk_X509_CRL_push(sk, c->kinds[AV_COLL_CRL][i]->crl) <= 0) {
			sk_X509_CRL_free(sk);
			sk = NULL;
			break;
		}
	pthread_mutex_unlock(&c->mtx);
	return sk;
}

/* The store's fetch configuration (borrowed; strings owned by the store). */
const struct av_coll_fetch_cfg *
av_collateral_cfg(const struct av_collateral *c)
{
	return c ? &c->cfg : NULL;
}

/* Snapshot of the counters. */
void
av_collateral_stats(struct av_collateral *c, struct av_coll_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	*out = c->st;
	out->blobs = c->nblobs;
	pthread_mutex_unlock(&c->mtx);
}
