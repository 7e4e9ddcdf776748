/*
 * Unit tests for the collateral store and fetcher (src/collateral/).
 *
 * Classification runs over certificates and CRLs made at test time
 * (tests/lib/avt_pki.h).  Fetching runs against tests/tools/
 * mock_vendor_server.py, started here on a loopback port and stopped by
 * its pid at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "av/collateral.h"
#include "av/err.h"
#include "avt_assert.h"
#include "avt_mock.h"
#include "avt_pki.h"

#define T0	1700000000	/* test PKI epoch */

/* ---- small helpers ------------------------------------------------------- */

static void
puts_(const char *dir, const char *rel, const char *s)
{
	avt_put(dir, rel, s, strlen(s));
}

static bool
exists(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0;
}

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int	len = 32;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

static void
sha256_hex(const char *s, char out[65])
{
	uint8_t	d[32];

	sha256(s, strlen(s), d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- test PKI ----------------------------------------------------------- */

struct pki {
	EVP_PKEY	*cakey, *leafkey;
	X509		*ca, *leaf;
	X509_CRL	*crl1, *crl2;
};

static struct pki P;

static void
pki_make(void)
{
	struct avt_cert_spec	 cs = { "collateral test CA", T0, T0 + 86400 * 365,
				    true, 1, NULL, false };
	struct avt_cert_spec	 ls = { "collateral test leaf", T0,
				    T0 + 86400 * 30, false, 2, NULL, false };
	long			 rev[] = { 7 };

	assert_non_null(P.cakey = avt_key_new("P-256"));
	assert_non_null(P.leafkey = avt_key_new("P-256"));
	assert_non_null(P.ca = avt_cert_new(&cs, P.cakey, NULL, P.cakey));
	assert_non_null(P.leaf = avt_cert_new(&ls, P.leafkey, P.ca, P.cakey));
	assert_non_null(P.crl1 = avt_crl_new(P.ca, P.cakey, T0, T0 + 86400,
	    NULL, 0));
	assert_non_null(P.crl2 = avt_crl_new(P.ca, P.cakey, T0 + 60,
	    T0 + 86400, rev, 1));
}

static void
pki_free(void)
{
	X509_CRL_free(P.crl2);
	X509_CRL_free(P.crl1);
	X509_free(P.leaf);
	X509_free(P.ca);
	EVP_PKEY_free(P.leafkey);
	EVP_PKEY_free(P.cakey);
	memset(&P, 0, sizeof(P));
}

static uint8_t *
crl_der(X509_CRL *c, size_t *len)
{
	unsigned char	*p = NULL;
	int		 n;

	n = i2d_X509_CRL(c, &p);
	assert_true(n > 0);
	*len = (size_t)n;
	return p;	/* OPENSSL_free */
}

static char *
crl_pem(X509_CRL *c)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *s;
	long	 n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509_CRL(b, c), 1);
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

/* ---- the store ----------------------------------------------------------- */

static size_t
count_kind(struct av_collateral *c, enum av_coll_kind k)
{
	size_t	i = 0;

	while (av_collateral_get(c, k, i) != NULL)
		i++;
	return i;
}

static const char tcb_text[] = " \n{ \"tcbInfo\" : {\"b\":1, \"a\":[1,2]},"
    "\"signature\":\"00\"}\n";

/* A folder of every kind of file, some duplicated, some to skip. */
static void
fill_dir(const char *dir)
{
	char	*lp = avt_cert_pem(P.leaf), *cp = avt_cert_pem(P.ca);
	char	*c1 = crl_pem(P.crl1), *chain;
	uint8_t	*ld, *d1, *d2;
	size_t	 ldl, d1l, d2l;
	static const uint8_t ocsp[] = { 0x30, 0x03, 0x0a, 0x01, 0x00, 0xff };
	static const char xml[] = "\xef\xbb\xbf  \n<?xml version=\"1.0\"?>"
	    "<SoftwareIdentity/>";

	assert_non_null(lp);
	assert_non_null(cp);
	chain = avt_strf("subject=CN = leaf\n%sissuer=CN = ca\n%s", lp, cp);
	puts_(dir, "chain.pem", chain);
	assert_non_null(ld = avt_cert_der(P.leaf, &ldl));
	avt_put(dir, "sub/leaf.der", ld, ldl);		/* same cert as PEM */
	puts_(dir, "sub/deeper/crl1.pem", c1);
	d1 = crl_der(P.crl1, &d1l);
	avt_put(dir, "sub/crl1.der", d1, d1l);		/* same CRL as PEM */
	d2 = crl_der(P.crl2, &d2l);
	avt_put(dir, "crl2.crl", d2, d2l);
	puts_(dir, "tcb.json", tcb_text);
	puts_(dir, "list.json", "[1,2,3]");
	puts_(dir, "bad.json", "{ \"not\": json");
	puts_(dir, "rim.xml", xml);
	avt_put(dir, "ocsp.bin", ocsp, sizeof(ocsp));
	puts_(dir, "key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n");
	avt_put(dir, "trailing.der", ld, ldl - 1);		/* truncated: other */
	puts_(dir, ".hidden.pem", cp);			/* skipped */
	puts_(dir, "empty", "");			/* ignored */
	free(chain);
	free(lp);
	free(cp);
	free(c1);
	free(ld);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
}

static void
test_classify_dir(void **state)
{
	struct av_collateral		*c;
	const struct av_coll_blob	*b;
	struct av_coll_stats		 st;
	struct av_err			 e = { 0 };
	STACK_OF(X509)			*certs;
	STACK_OF(X509_CRL)		*crls;
	char				*dir = avt_tmpdir();
	uint8_t				*ld, h[32];
	size_t				 ldl;
	bool				 saw_leaf = false, saw_tcb = false;

	(void)state;
	assert_non_null(dir);
	fill_dir(dir);
	assert_non_null(c = av_collateral_new(NULL));
	assert_int_equal(av_collateral_add_dir(c, dir, &e), 0);

	assert_int_equal(count_kind(c, AV_COLL_CERT), 2);
	assert_int_equal(count_kind(c, AV_COLL_CRL), 2);
	assert_int_equal(count_kind(c, AV_COLL_JSON), 2);
	assert_int_equal(count_kind(c, AV_COLL_XML), 1);
	/* bad.json, ocsp.bin, key.pem, trailing.der */
	assert_int_equal(count_kind(c, AV_COLL_OTHER), 4);
	assert_null(av_collateral_get(c, (enum av_coll_kind)99, 0));
	av_collateral_stats(c, &st);
	assert_int_equal(st.blobs, 11);

	assert_non_null(certs = av_collateral_certs(c));
	assert_int_equal(sk_X509_num(certs), 2);
	sk_X509_free(certs);
	assert_non_null(crls = av_collateral_crls(c));
	assert_int_equal(sk_X509_CRL_num(crls), 2);
	sk_X509_CRL_free(crls);

	/* a PEM certificate is kept as its DER, and found by its hash */
	assert_non_null(ld = avt_cert_der(P.leaf, &ldl));
	for (size_t i = 0; (b = av_collateral_get(c, AV_COLL_CERT, i)); i++) {
		assert_non_null(b->cert);
		assert_null(b->crl);
		if (b->len == ldl && memcmp(b->data, ld, ldl) == 0) {
			saw_leaf = true;
			assert_int_equal(X509_cmp(b->cert, P.leaf), 0);
			assert_non_null(strstr(b->origin, "chain.pem"));
		}
	}
	assert_true(saw_leaf);
	sha256(ld, ldl, h);
	assert_non_null(b = av_collateral_find(c, h));
	assert_int_equal(b->kind, AV_COLL_CERT);
	free(ld);
	h[0] ^= 1;
	assert_null(av_collateral_find(c, h));

	/* JSON keeps the bytes as received, parsed alongside */
	for (size_t i = 0; (b = av_collateral_get(c, AV_COLL_JSON, i)); i++) {
		assert_non_null(b->json);
		if (json_is_object(b->json)) {
			saw_tcb = true;
			assert_int_equal(b->len, strlen(tcb_text));
			assert_memory_equal(b->data, tcb_text, b->len);
			assert_non_null(json_object_get(b->json, "tcbInfo"));
		} else
			assert_true(json_is_array(b->json));
	}
	assert_true(saw_tcb);
	b = av_collateral_get(c, AV_COLL_XML, 0);
	assert_memory_equal(b->data, "\xef\xbb\xbf", 3);	/* BOM kept */
	for (size_t i = 0; (b = av_collateral_get(c, AV_COLL_CRL, i)); i++)
		assert_non_null(b->crl);

	/* adding the same folder again adds nothing */
	assert_int_equal(av_collateral_add_dir(c, dir, &e), 0);
	av_collateral_stats(c, &st);
	assert_int_equal(st.blobs, 11);

	av_collateral_free(c);
	avt_rmtree(dir);
	free(dir);
}

static void
test_add_blob(void **state)
{
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	struct av_err		 e = { 0 };
	uint8_t			*der, *big;
	size_t			 n;

	(void)state;
	assert_non_null(c = av_collateral_new(NULL));
	assert_non_null(der = avt_cert_der(P.ca, &n));
	assert_int_equal(av_collateral_add(c, der, n, "request", &e), 0);
	assert_int_equal(av_collateral_add(c, der, n, "again", &e), 0);
	assert_int_equal(av_collateral_add(c, (const uint8_t *)"", 0, "empty",
	    &e), 0);
	av_collateral_stats(c, &st);
	assert_int_equal(st.blobs, 1);
	assert_string_equal(av_collateral_get(c, AV_COLL_CERT, 0)->origin,
	    "request");

	/* over 16 MiB: refused with a reason, nothing added */
	n = 16u * 1024 * 1024 + 1;
	assert_non_null(big = calloc(1, n));
	assert_int_equal(av_collateral_add(c, big, n, "big", &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_INVALID);
	assert_string_equal(e.reason, "collateral: too large");
	av_collateral_stats(c, &st);
	assert_int_equal(st.blobs, 1);
	free(big);

	/* 16 MiB of zeros is fine (other) */
	n = 16u * 1024 * 1024;
	assert_non_null(big = calloc(1, n));
	assert_int_equal(av_collateral_add(c, big, n, "zeros", &e), 0);
	assert_int_equal(count_kind(c, AV_COLL_OTHER), 1);
	free(big);
	free(der);
	av_collateral_free(c);
}

static void
test_add_dir_errors(void **state)
{
	struct av_collateral	*c;
	struct av_err		 e = { 0 };
	char			*dir = avt_tmpdir(), *missing;

	(void)state;
	assert_non_null(c = av_collateral_new(NULL));
	missing = avt_strf("%s/nope", dir);
	assert_int_equal(av_collateral_add_dir(c, missing, &e), -1);
	assert_int_equal(e.code, AV_E_IO);
	free(missing);

	/* a link to a folder is skipped (no loops); a dangling one too */
	puts_(dir, "a/x.json", "{\"x\":1}");
	missing = avt_strf("%s/a/loop", dir);
	assert_int_equal(symlink("..", missing), 0);
	free(missing);
	missing = avt_strf("%s/a/dangling", dir);
	assert_int_equal(symlink("/nonexistent/x", missing), 0);
	free(missing);
	assert_int_equal(av_collateral_add_dir(c, dir, &e), 0);
	assert_int_equal(count_kind(c, AV_COLL_JSON), 1);

	av_collateral_free(c);
	avt_rmtree(dir);
	free(dir);
}

static void
test_import(void **state)
{
	struct av_coll_fetch_cfg cfg = { 0 };
	struct av_collateral	*c;
	struct av_err		 e = { 0 };
	char			*src = avt_tmpdir(), *cache = avt_tmpdir();
	char			*f1, *f2, *cdir, *missing, *name;
	const char		*files[2];
	size_t			 n;
	char			 hex[65];

	(void)state;
	fill_dir(src);
	f1 = avt_strf("%s/tcb.json", src);
	f2 = avt_strf("%s/sub", src);	/* a folder: every file below */
	cdir = avt_strf("%s/cache", cache);	/* made on demand */
	files[0] = f1;
	files[1] = f2;
	assert_int_equal(av_collateral_import(cdir, files, 2, &n, &e), 0);
	assert_int_equal(n, 4);	/* tcb.json, leaf.der, crl1.der, crl1.pem */
	assert_int_equal(av_collateral_import(cdir, files, 2, &n, &e), 0);
	assert_int_equal(n, 0);	/* already there */
	sha256_hex(tcb_text, hex);
	name = avt_strf("%s/imported/%s.json", cdir, hex);
	assert_true(exists(name));
	free(name);

	/* a new store loads the import area */
	cfg.cache_dir = cdir;
	assert_non_null(c = av_collateral_new(&cfg));
	assert_int_equal(count_kind(c, AV_COLL_JSON), 1);
	assert_int_equal(count_kind(c, AV_COLL_CERT), 1);
	assert_int_equal(count_kind(c, AV_COLL_CRL), 1);	/* PEM = DER */
	av_collateral_free(c);

	missing = avt_strf("%s/nope", src);
	files[0] = missing;
	assert_int_equal(av_collateral_import(cdir, files, 1, &n, &e), -1);
	assert_int_equal(e.code, AV_E_IO);
	assert_int_equal(n, 0);
	free(missing);

	free(f1);
	free(f2);
	free(cdir);
	avt_rmtree(src);
	avt_rmtree(cache);
	free(src);
	free(cache);
}

/* ---- the mock vendor server ---------------------------------------------- */

static struct {
	struct avt_mock	 mock;
	char		*tmp;		/* served root, route file */
	char		*root;
} S = { .mock.pid = -1 };

static const char routes_json[] =
    "{\"routes\": {"
    "\"/pcs/tcb?fmspc=00906ED50000\": {\"file\": \"root/tcb.json\","
    " \"headers\": {\"TCB-Info-Issuer-Chain\": {\"file\": \"chain.pem\","
    "  \"urlencode\": true}, \"SGX-TCB-Info-Issuer-Chain\": \"plain\"}},"
    "\"/limited\": {\"status\": 429, \"headers\": {\"Retry-After\": \"30\"}},"
    "\"/unavailable\": {\"status\": 503},"
    "\"/slow\": {\"body\": \"slow body\", \"delay_ms\": 700},"
    "\"/moved\": {\"status\": 302, \"headers\": {\"Location\": \"/kds/a\"}},"
    "\"/ocsp\": {\"method\": \"POST\", \"body\": \"OCSP-RESP\","
    " \"content_type\": \"application/ocsp-response\"}"
    "}}";

static int
server_up(void **state)
{
	char	*routes;
	int	 rc;

	(void)state;
	if (!avt_mock_available())
		return 0;	/* fetch tests skip themselves */
	assert_non_null(S.tmp = avt_tmpdir());
	S.root = avt_strf("%s/root", S.tmp);
	avt_mkdirs(S.root);
	puts_(S.tmp, "routes.json", routes_json);
	puts_(S.tmp, "chain.pem", "-----BEGIN CERTIFICATE-----\nMIIB+w==\n"
	    "-----END CERTIFICATE-----\n");
	puts_(S.root, "tcb.json", tcb_text);
	routes = avt_strf("%s/routes.json", S.tmp);
	rc = avt_mock_start(&S.mock, S.root, routes);
	free(routes);
	return rc;
}

static int
server_down(void **state)
{
	(void)state;
	avt_mock_stop(&S.mock);
	if (S.tmp != NULL)
		avt_rmtree(S.tmp);
	free(S.tmp);
	free(S.root);
	return 0;
}

#define NEED_SERVER() do {						\
	if (S.mock.pid <= 0)						\
		skip();	/* no /usr/bin/python3 or source folder */	\
} while (0)

/* The server's request statistics (new reference). */
static json_t *
stats(void)
{
	json_t *doc = avt_mock_json(&S.mock, "/__stats", NULL);

	assert_non_null(doc);
	return doc;
}

/* How many requests the server saw for target ("/path?query"). */
static long
hits(const char *target)
{
	json_t	*doc = stats(), *v;
	long	 n;

	v = json_object_get(json_object_get(doc, "requests"), target);
	n = v ? (long)json_integer_value(v) : 0;
	json_decref(doc);
	return n;
}

static char *
url_of(const char *target)
{
	return avt_strf("%s%s", S.mock.base, target);
}

static struct av_collateral *
store(const char *cache, bool online)
{
	struct av_coll_fetch_cfg cfg = { 0 };
	struct av_collateral	*c;

	cfg.online = online;
	cfg.cache_dir = cache;
	cfg.timeout_s = 5;
	assert_non_null(c = av_collateral_new(&cfg));
	return c;
}

static void
expect_body(struct av_collateral *c, const char *url, const char *want)
{
	struct av_err	 e = { 0 };
	uint8_t		*out = NULL;
	size_t		 n = 0;

	assert_int_equal(av_collateral_fetch(c, url, NULL, &out, &n, NULL,
	    &e), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	free(out);
}

static void
expect_fail(struct av_collateral *c, const char *url, unsigned flags,
    const char *reason)
{
	struct av_err	 e = { 0 };
	uint8_t		*out = (uint8_t *)&e;
	size_t		 n = 7;
	json_t		*hd = (json_t *)&e;

	assert_int_equal(av_collateral_fetch_flags(c, url, NULL, flags, &out,
	    &n, &hd, &e), -1);
	assert_int_equal(e.code, AV_E_COLLATERAL_MISSING);
	assert_string_equal(e.reason, reason);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_null(hd);
}

/* ---- fetch tests ----------------------------------------------------------- */

static void
test_fetch_miss_then_hit(void **state)
{
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	char			*cache, *url, *p, hex[65];

	(void)state;
	NEED_SERVER();
	cache = avt_tmpdir();
	puts_(S.root, "kds/vcek/a", "VCEK-A");
	url = url_of("/kds/vcek/a");
	c = store(cache, true);
	expect_body(c, url, "VCEK-A");
	assert_int_equal(hits("/kds/vcek/a"), 1);
	expect_body(c, url, "VCEK-A");
	assert_int_equal(hits("/kds/vcek/a"), 1);	/* from the cache */
	av_collateral_stats(c, &st);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_misses, 1);
	assert_int_equal(st.requests, 1);

	/* layout: <hex sha256(url)>.body and .json */
	sha256_hex(url, hex);
	p = avt_strf("%s/%s.body", cache, hex);
	assert_true(exists(p));
	free(p);
	p = avt_strf("%s/%s.json", cache, hex);
	assert_true(exists(p));
	free(p);
	av_collateral_free(c);

	/* offline: the cache answers, the server is not asked */
	c = store(cache, false);
	expect_body(c, url, "VCEK-A");
	assert_int_equal(hits("/kds/vcek/a"), 1);
	av_collateral_free(c);

	free(url);
	avt_rmtree(cache);
	free(cache);
}

static void
test_fetch_offline_miss(void **state)
{
	struct av_collateral	*c;
	char			*cache, *url;

	(void)state;
	NEED_SERVER();
	cache = avt_tmpdir();
	puts_(S.root, "kds/vcek/b", "VCEK-B");
	url = url_of("/kds/vcek/b");
	c = store(cache, false);
	expect_fail(c, url, 0, "collateral: not cached and offline");
	expect_fail(c, url, AV_FETCH_REFRESH,
	    "collateral: not cached and offline");
	assert_int_equal(hits("/kds/vcek/b"), 0);
	av_collateral_free(c);

	/* no cache at all, offline */
	c = store(NULL, false);
	expect_fail(c, url, 0, "collateral: not cached and offline");
	av_collateral_free(c);
	free(url);
	avt_rmtree(cache);
	free(cache);
}

static void
test_fetch_http_errors(void **state)
{
	struct av_collateral	*c;
	char			*cache, *url, *p, hex[65];
	int			 fd;
	struct sockaddr_in	 sin = { 0 };
	socklen_t		 sl = sizeof(sin);

	(void)state;
	NEED_SERVER();
	cache = avt_tmpdir();
	c = store(cache, true);

	url = url_of("/kds/missing");
	expect_fail(c, url, 0, "collateral: vendor service returned an error");
	assert_int_equal(hits("/kds/missing"), 1);
	sha256_hex(url, hex);
	p = avt_strf("%s/%s.body", cache, hex);
	assert_false(exists(p));	/* failures are not cached */
	free(p);
	expect_fail(c, url, 0, "collateral: vendor service returned an error");
	assert_int_equal(hits("/kds/missing"), 2);
	free(url);

	url = url_of("/unavailable");	/* 503 without Retry-After */
	expect_fail(c, url, 0, "collateral: vendor service returned an error");
	free(url);

	url = url_of("/moved");		/* redirects not followed by default */
	expect_fail(c, url, 0, "collateral: unexpected vendor response");
	free(url);

	expect_fail(c, "file:///etc/passwd", 0, "collateral: invalid URL");
	expect_fail(c, "ftp://127.0.0.1/x", 0, "collateral: invalid URL");
	expect_fail(c, "http://127.0.0.1/a b", 0, "collateral: invalid URL");
	expect_fail(c, NULL, 0, "collateral: invalid URL");

	/* a closed port on loopback: unreachable */
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	url = avt_strf("http://127.0.0.1:%d/x", ntohs(sin.sin_port));
	expect_fail(c, url, 0, "collateral: vendor service unreachable");
	free(url);

	av_collateral_free(c);
	avt_rmtree(cache);
	free(cache);
}

static void
test_fetch_redirect_allowed(void **state)
{
	struct av_coll_fetch_cfg cfg = { 0 };
	struct av_collateral	*c;
	char			*url;

	(void)state;
	NEED_SERVER();
	puts_(S.root, "kds/a", "A");
	cfg.online = true;
	cfg.max_redirects = 3;
	cfg.timeout_s = 5;
	assert_non_null(c = av_collateral_new(&cfg));
	url = url_of("/moved");
	expect_body(c, url, "A");
	free(url);
	av_collateral_free(c);
}

static void
test_fetch_too_large(void **state)
{
	struct av_collateral	*c;
	char			*url, *p;
	FILE			*f;

	(void)state;
	NEED_SERVER();
	p = avt_strf("%s/big", S.root);
	assert_non_null(f = fopen(p, "wb"));
	assert_int_equal(fseek(f, 16L * 1024 * 1024, SEEK_SET), 0);
	assert_int_equal(fputc('x', f), 'x');	/* 16 MiB + 1 */
	fclose(f);
	c = store(NULL, true);
	url = url_of("/big");
	expect_fail(c, url, 0, "collateral: vendor response too large");
	av_collateral_free(c);
	unlink(p);
	free(p);
	free(url);
}

static void
test_fetch_429(void **state)
{
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	char			*url, *other;

	(void)state;
	NEED_SERVER();
	puts_(S.root, "kds/c", "C");
	c = store(NULL, true);
	url = url_of("/limited");
	other = url_of("/kds/c");
	expect_fail(c, url, 0, "collateral: vendor service rate-limited");
	assert_int_equal(hits("/limited"), 1);
	/* the host is left alone for Retry-After (30 s): no request at all */
	expect_fail(c, url, 0, "collateral: vendor service rate-limited");
	expect_fail(c, other, 0, "collateral: vendor service rate-limited");
	assert_int_equal(hits("/limited"), 1);
	assert_int_equal(hits("/kds/c"), 0);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.rate_limited, 2);
	av_collateral_free(c);

	/* the back-off belongs to the store that was told */
	c = store(NULL, true);
	expect_body(c, other, "C");
	av_collateral_free(c);
	free(url);
	free(other);
}

struct fetch_arg {
	struct av_collateral	*c;
	const char		*url;
	unsigned		 flags;
	int			 rc;
	uint8_t			*out;
	size_t			 n;
};

static void *
fetch_thread(void *arg)
{
	struct fetch_arg	*a = arg;
	struct av_err		 e = { 0 };

	a->rc = av_collateral_fetch_flags(a->c, a->url, NULL, a->flags,
	    &a->out, &a->n, NULL, &e);
	return NULL;
}

static void
test_fetch_coalesced(void **state)
{
	struct av_collateral	*c;
	struct av_coll_stats	 st;
	struct fetch_arg	 a[3];
	pthread_t		 t[3];
	char			*url, *cache;

	(void)state;
	NEED_SERVER();
	c = store(NULL, true);	/* no cache: only coalescing can save a hit */
	url = url_of("/slow");
	for (int i = 0; i < 3; i++) {
		a[i] = (struct fetch_arg){ c, url, 0, -2, NULL, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, fetch_thread,
		    &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].rc, 0);
		assert_int_equal(a[i].n, strlen("slow body"));
		assert_memory_equal(a[i].out, "slow body", a[i].n);
		free(a[i].out);
	}
	assert_int_equal(hits("/slow"), 1);
	av_collateral_stats(c, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.coalesced, 2);
	av_collateral_free(c);

	/* concurrent refreshes share one request too */
	cache = avt_tmpdir();
	c = store(cache, true);
	expect_body(c, url, "slow body");
	assert_int_equal(hits("/slow"), 2);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct fetch_arg){ c, url, AV_FETCH_REFRESH, -2, NULL,
		    0 };
		assert_int_equal(pthread_create(&t[i], NULL, fetch_thread,
		    &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].rc, 0);
		free(a[i].out);
	}
	assert_int_equal(hits("/slow"), 3);
	av_collateral_free(c);
	avt_rmtree(cache);
	free(cache);
	free(url);
}

static void
test_fetch_headers(void **state)
{
	static const char *const names[] = { "TCB-Info-Issuer-Chain",
	    "sgx-tcb-info-issuer-chain", "Not-There", NULL };
	struct av_collateral	*c;
	struct av_err		 e = { 0 };
	uint8_t			*out;
	size_t			 n;
	json_t			*hd;
	const char		*v;
	char			*cache, *url, *pem;
	int			 pass;

	(void)state;
	NEED_SERVER();
	cache = avt_tmpdir();
	url = url_of("/pcs/tcb?fmspc=00906ED50000");
	for (pass = 0; pass < 3; pass++) {
		/* 0: fetched, 1: cache hit, 2: offline store, cache hit */
		c = store(cache, pass < 2);
		assert_int_equal(av_collateral_fetch(c, url, names, &out, &n,
		    &hd, &e), 0);
		assert_int_equal(n, strlen(tcb_text));
		assert_memory_equal(out, tcb_text, n);	/* as served */
		assert_true(json_is_object(hd));
		assert_int_equal(json_object_size(hd), 2);
		v = json_string_value(json_object_get(hd,
		    "TCB-Info-Issuer-Chain"));
		assert_non_null(v);
		assert_string_equal(v, "-----BEGIN%20CERTIFICATE-----%0AMIIB%2B"
		    "w%3D%3D%0A-----END%20CERTIFICATE-----%0A");
		pem = curl_easy_unescape(NULL, v, 0, NULL);
		assert_string_equal(pem, "-----BEGIN CERTIFICATE-----\n"
		    "MIIB+w==\n-----END CERTIFICATE-----\n");
		curl_free(pem);
		assert_string_equal(json_string_value(json_object_get(hd,
		    "sgx-tcb-info-issuer-chain")), "plain");
		json_decref(hd);
		free(out);
		/* no names: an empty object */
		assert_int_equal(av_collateral_fetch(c, url, NULL, &out, &n,
		    &hd, &e), 0);
		assert_int_equal(json_object_size(hd), 0);
		json_decref(hd);
		free(out);
		av_collateral_free(c);
	}
	assert_int_equal(hits("/pcs/tcb?fmspc=00906ED50000"), 1);
	free(url);
	avt_rmtree(cache);
	free(cache);
}

static void
test_fetch_refresh(void **state)
{
	struct av_collateral	*c;
	struct av_err		 e = { 0 };
	uint8_t			*out;
	size_t			 n;
	char			*cache, *url, *p, hex[65];

	(void)state;
	NEED_SERVER();
	cache = avt_tmpdir();
	puts_(S.root, "pcs/crl", "CRL-1");
	url = url_of("/pcs/crl");
	c = store(cache, true);
	expect_body(c, url, "CRL-1");
	puts_(S.root, "pcs/crl", "CRL-2");	/* the vendor publishes anew */
	expect_body(c, url, "CRL-1");		/* cached */
	assert_int_equal(av_collateral_fetch_flags(c, url, NULL,
	    AV_FETCH_REFRESH, &out, &n, NULL, &e), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "CRL-2", 5);
	free(out);
	assert_int_equal(hits("/pcs/crl"), 2);
	expect_body(c, url, "CRL-2");		/* the cache was replaced */
	assert_int_equal(hits("/pcs/crl"), 2);

	/* refresh fails (vendor gone): the cached copy comes back */
	p = avt_strf("%s/pcs/crl", S.root);
	unlink(p);
	free(p);
	assert_int_equal(av_collateral_fetch_flags(c, url, NULL,
	    AV_FETCH_REFRESH, &out, &n, NULL, &e), 0);
	assert_memory_equal(out, "CRL-2", 5);
	free(out);
	assert_int_equal(hits("/pcs/crl"), 3);
	av_collateral_free(c);

	/* offline refresh: the cached copy */
	c = store(cache, false);
	assert_int_equal(av_collateral_fetch_flags(c, url, NULL,
	    AV_FETCH_REFRESH, &out, &n, NULL, &e), 0);
	assert_memory_equal(out, "CRL-2", 5);
	free(out);
	av_collateral_free(c);

	/* a damaged cache entry is a miss, fetched again */
	puts_(S.root, "pcs/crl", "CRL-3");
	sha256_hex(url, hex);
	p = avt_strf("%s/%s.body", cache, hex);
	avt_put(cache, strrchr(p, '/') + 1, "CRL-X", 5);
	free(p);
	c = store(cache, true);
	expect_body(c, url, "CRL-3");
	assert_int_equal(hits("/pcs/crl"), 4);
	av_collateral_free(c);

	free(url);
	avt_rmtree(cache);
	free(cache);
}

static void
test_fetch_min_interval(void **state)
{
	struct av_coll_fetch_cfg cfg = { 0 };
	struct av_collateral	*c;
	int64_t			 t0;
	char			*u1, *u2, *u3;

	(void)state;
	NEED_SERVER();
	puts_(S.root, "iv/1", "1");
	puts_(S.root, "iv/2", "2");
	puts_(S.root, "iv/3", "3");
	u1 = url_of("/iv/1");
	u2 = url_of("/iv/2");
	u3 = url_of("/iv/3");

	/* the KDS host is spaced by kds_min_interval_ms */
	cfg.online = true;
	cfg.timeout_s = 5;
	cfg.amd_kds_url = S.mock.base;
	cfg.kds_min_interval_ms = 400;
	assert_non_null(c = av_collateral_new(&cfg));
	t0 = now_ms();
	expect_body(c, u1, "1");
	expect_body(c, u2, "2");
	assert_true(now_ms() - t0 >= 390);
	av_collateral_free(c);

	/* a slot further away than max_wait_ms: refused, nothing sent */
	cfg.amd_kds_url = NULL;
	cfg.kds_min_interval_ms = 0;
	cfg.min_interval_ms = 5000;
	cfg.max_wait_ms = 100;
	assert_non_null(c = av_collateral_new(&cfg));
	expect_body(c, u1, "1");
	expect_fail(c, u3, 0, "collateral: vendor service rate-limited");
	assert_int_equal(hits("/iv/3"), 0);
	av_collateral_free(c);

	free(u1);
	free(u2);
	free(u3);
}

/* The last POST body the server saw for target, base64 (malloc'd) or NULL. */
static char *
last_post(const char *target)
{
	json_t	*doc = stats(), *v;
	char	*r = NULL;

	v = json_object_get(json_object_get(doc, "last_body_b64"), target);
	if (json_is_string(v))
		r = strdup(json_string_value(v));
	json_decref(doc);
	return r;
}

static void
test_fetch_post(void **state)
{
	static const char *const names[] = { "content-type", NULL };
	struct av_collateral	*c;
	struct av_err		 e = { 0 };
	uint8_t			*out;
	size_t			 n;
	json_t			*hd;
	char			*cache, *url, *b64;

	(void)state;
	NEED_SERVER();
	cache = avt_tmpdir();
	url = url_of("/ocsp");
	c = store(cache, true);
	assert_int_equal(av_collateral_post(c, url, "application/ocsp-request",
	    (const uint8_t *)"REQ1", 4, names, 0, &out, &n, &hd, &e), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(out, "OCSP-RESP", 9);
	assert_string_equal(json_string_value(json_object_get(hd,
	    "content-type")), "application/ocsp-response");
	json_decref(hd);
	free(out);
	b64 = last_post("/ocsp");
	assert_non_null(b64);
	assert_string_equal(b64, "UkVRMQ==");	/* "REQ1" */
	free(b64);
	/* the same request: cached; another body: asked again */
	assert_int_equal(av_collateral_post(c, url, "application/ocsp-request",
	    (const uint8_t *)"REQ1", 4, NULL, 0, &out, &n, NULL, &e), 0);
	free(out);
	assert_int_equal(hits("/ocsp"), 1);
	assert_int_equal(av_collateral_post(c, url, "application/ocsp-request",
	    (const uint8_t *)"REQ2", 4, NULL, 0, &out, &n, NULL, &e), 0);
	free(out);
	assert_int_equal(hits("/ocsp"), 2);
	/* a GET of the same URL is a different request (and here a 405) */
	expect_fail(c, url, 0, "collateral: vendor service returned an error");
	/* no header injection through the type */
	assert_int_equal(av_collateral_post(c, url, "a\r\nX-Evil: 1",
	    (const uint8_t *)"R", 1, NULL, 0, &out, &n, NULL, &e), -1);
	assert_int_equal(e.code, AV_E_INTERNAL);
	av_collateral_free(c);
	free(url);
	avt_rmtree(cache);
	free(cache);
}

int
main(void)
{
	const struct CMUnitTest store_tests[] = {
		cmocka_unit_test(test_classify_dir),
		cmocka_unit_test(test_add_blob),
		cmocka_unit_test(test_add_dir_errors),
		cmocka_unit_test(test_import),
	};
	const struct CMUnitTest fetch_tests[] = {
		cmocka_unit_test(test_fetch_miss_then_hit),
		cmocka_unit_test(test_fetch_offline_miss),
		cmocka_unit_test(test_fetch_http_errors),
		cmocka_unit_test(test_fetch_redirect_allowed),
		cmocka_unit_test(test_fetch_too_large),
		cmocka_unit_test(test_fetch_429),
		cmocka_unit_test(test_fetch_coalesced),
		cmocka_unit_test(test_fetch_headers),
		cmocka_unit_test(test_fetch_refresh),
		cmocka_unit_test(test_fetch_min_interval),
		cmocka_unit_test(test_fetch_post),
	};
	int	rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	pki_make();
	rc = cmocka_run_group_tests_name("collateral_store", store_tests,
	    NULL, NULL);
	rc += cmocka_run_group_tests_name("collateral_fetch", fetch_tests,
	    server_up, server_down);
	pki_free();
	curl_global_cleanup();
	return rc;
}
