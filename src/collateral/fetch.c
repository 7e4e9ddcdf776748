/*
 * attestd - fetching collateral from vendor services (AMD KDS, Intel PCS
 * or a PCCS, NVIDIA RIM service and OCSP) through an on-disk cache.
 *
 * One request for a URL at a time: concurrent callers wait for the fetch
 * in flight and share its result.  Requests to one host are spaced by the
 * configured minimum interval (AMD KDS allows roughly one per 10 s per
 * client), and a 429 (or a 503 with Retry-After) stops requests to that
 * host until the time the service gave, so a rate-limited vendor is never
 * hammered.  The clocks here pace network traffic and stamp cache entries
 * only; verification time is never taken from them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "av/collateral.h"
#include "av/log.h"
#include "coll.h"

#define COLL_MAX_META		(1024u * 1024)	/* <hash>.json */
#define COLL_MAX_HDRS		100		/* headers kept per response */
#define COLL_MAX_HDR_LEN	(64u * 1024)	/* one header value */
#define COLL_MAX_HDR_TOTAL	(256u * 1024)	/* all header values */
#define COLL_MAX_URL		4096
#define COLL_MAX_NAMES		64		/* hdr_names asked for */
#define COLL_BACKOFF_DEFAULT_S	60		/* 429 without Retry-After */
#define COLL_BACKOFF_MAX_S	3600
#define COLL_MAX_POST		(64u * 1024)	/* a POST body (OCSP request) */

/* One request: what is asked, and its cache and coalescing key. */
struct coll_req {
	const char	*url;
	const char	*ctype;		/* POST: Content-Type; GET: NULL */
	const uint8_t	*body;		/* POST: body (borrowed) */
	size_t		 blen;
	char		 key[65];	/* hex SHA-256 of the URL (GET), or of
					   "POST\n" url "\n" type "\n" body */
};

static pthread_once_t	curl_once = PTHREAD_ONCE_INIT;
static CURLcode		curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec	ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

static bool
url_ok(const char *url)
{
	size_t	n;

	if (url == NULL || (n = strlen(url)) == 0 || n > COLL_MAX_URL)
		return false;
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return false;
	return true;
}

/* "host:port" of url (lower-case, default port filled in), malloc'd. */
char *
coll_host_key(const char *url)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL, *key = NULL;
	size_t	 n;

	if ((u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	n = strlen(host) + strlen(port) + 2;
	if ((key = malloc(n)) == NULL)
		goto out;
	snprintf(key, n, "%s:%s", host, port);
	for (char *s = key; *s; s++)
		*s = (char)tolower((unsigned char)*s);
 out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return key;
}

static bool
ctype_ok(const char *t)
{
	size_t	n;

	if (t == NULL || (n = strlen(t)) == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;	/* no header injection */
	return true;
}

static int
req_key(struct coll_req *rq)
{
	static const char	 hx[] = "0123456789abcdef";
	EVP_MD_CTX		*m;
	uint8_t			 d[32];
	unsigned int		 dl = 0;
	int			 ok;

	if (rq->ctype == NULL) {
		coll_sha256_hex((const uint8_t *)rq->url, strlen(rq->url),
		    rq->key);
		return 0;
	}
	if ((m = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, "POST\n", 5) == 1 &&
	    EVP_DigestUpdate(m, rq->url, strlen(rq->url)) == 1 &&
	    EVP_DigestUpdate(m, "\n", 1) == 1 &&
	    EVP_DigestUpdate(m, rq->ctype, strlen(rq->ctype)) == 1 &&
	    EVP_DigestUpdate(m, "\n", 1) == 1 &&
	    EVP_DigestUpdate(m, rq->body, rq->blen) == 1 &&
	    EVP_DigestFinal_ex(m, d, &dl) == 1 && dl == 32;
	EVP_MD_CTX_free(m);
	if (!ok)
		return -1;
	for (int i = 0; i < 32; i++) {
		rq->key[2 * i] = hx[d[i] >> 4];
		rq->key[2 * i + 1] = hx[d[i] & 0xf];
	}
	rq->key[64] = '\0';
	return 0;
}

/* ---- the on-disk cache -------------------------------------------------- */

static char *
cache_file(const struct av_collateral *c, const char *hex, const char *ext)
{
	char	name[80];

	snprintf(name, sizeof(name), "%s.%s", hex, ext);
	return coll_path(c->cfg.cache_dir, name);
}

/*
 * Read the request's cached copy.  Returns 1 (hit: *body malloc'd, *all
 * every header, new ref), or 0 (absent, unreadable or inconsistent: a
 * miss).
 */
static int
cache_read(struct av_collateral *c, const struct coll_req *rq,
    uint8_t **body, size_t *len, json_t **all)
{
	struct av_err	 e = { 0 };
	json_error_t	 jerr;
	json_t		*meta = NULL, *h;
	uint8_t		*mbuf = NULL, *b = NULL;
	size_t		 mlen, blen;
	char		*mpath = NULL, *bpath = NULL, bhex[65];
	const char	*murl, *msha, *mkey;
	int		 hit = 0;

	if (c->cfg.cache_dir == NULL)
		return 0;
	if ((mpath = cache_file(c, rq->key, "json")) == NULL ||
	    (bpath = cache_file(c, rq->key, "body")) == NULL)
		goto out;
	if (access(mpath, F_OK) == -1)
		goto out;
	if (coll_read_file(mpath, COLL_MAX_META, &mbuf, &mlen, &e) != 0)
		goto bad;
	if ((meta = json_loadb((const char *)mbuf, mlen, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(meta))
		goto bad;
	murl = json_string_value(json_object_get(meta, "url"));
	msha = json_string_value(json_object_get(meta, "sha256"));
	mkey = json_string_value(json_object_get(meta, "key"));
	h = json_object_get(meta, "headers");
	if (murl == NULL || msha == NULL || mkey == NULL ||
	    !json_is_object(h) || strcmp(murl, rq->url) != 0 ||
	    strcmp(mkey, rq->key) != 0)
		goto bad;
	if (coll_read_file(bpath, COLL_MAX_FILE, &b, &blen, &e) != 0)
		goto bad;
	coll_sha256_hex(b, blen, bhex);
	if (strcmp(bhex, msha) != 0)
		goto bad;	/* torn by a concurrent refresh, or damaged */
	*body = b;
	*len = blen;
	*all = json_incref(h);
	b = NULL;
	hit = 1;
	goto out;
 bad:
	av_log(AV_LOG_WARN, "collateral_cache_bad", "url", rq->url, "path",
	    mpath, NULL);
 out:
	json_decref(meta);
	free(mbuf);
	free(b);
	free(mpath);
	free(bpath);
	return hit;
}

/* Store a response: body first, then the metadata that vouches for it. */
static void
cache_write(struct av_collateral *c, const struct coll_req *rq, long status,
    const uint8_t *body, size_t len, json_t *all)
{
	struct av_err	 e = { 0 };
	struct timespec	 ts;
	struct tm	 tm;
	json_t		*meta = NULL;
	char		*txt = NULL, name[80], bhex[65], tbuf[32];

	if (c->cfg.cache_dir == NULL)
		return;
	if (coll_mkdir_p(c->cfg.cache_dir, &e) == -1)
		goto fail;
	clock_gettime(CLOCK_REALTIME, &ts);	/* a stamp, not a verdict time */
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	coll_sha256_hex(body, len, bhex);
	if ((meta = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O}", "url",
	    rq->url, "method", rq->ctype ? "POST" : "GET", "key", rq->key,
	    "fetched_at", tbuf, "status", (json_int_t)status, "sha256", bhex,
	    "headers", all)) == NULL ||
	    (txt = json_dumps(meta, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL) {
		AV_FAIL(&e, AV_E_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(name, sizeof(name), "%s.body", rq->key);
	if (coll_write_atomic(c->cfg.cache_dir, name, body, len, &e) == -1)
		goto fail;
	snprintf(name, sizeof(name), "%s.json", rq->key);
	if (coll_write_atomic(c->cfg.cache_dir, name, (const uint8_t *)txt,
	    strlen(txt), &e) == -1)
		goto fail;
	goto out;
 fail:
	av_log_err(AV_LOG_WARN, "collateral_cache_write", &e);
 out:
	free(txt);
	json_decref(meta);
}

/* The headers asked for, keyed as asked, from every header (lower-case). */
static json_t *
hdr_subset(json_t *all, const char *const *names)
{
	json_t		*o;
	const char	*v;
	char		 lc[128];
	size_t		 k, n;

	if ((o = json_object()) == NULL)
		return NULL;
	for (n = 0; names != NULL && names[n] != NULL && n < COLL_MAX_NAMES;
	    n++) {
		if (strlen(names[n]) >= sizeof(lc))
			continue;
		for (k = 0; names[n][k] != '\0'; k++)
			lc[k] = (char)tolower((unsigned char)names[n][k]);
		lc[k] = '\0';
		if (all == NULL ||
		    (v = json_string_value(json_object_get(all, lc))) == NULL)
			continue;
		if (json_object_set_new(o, names[n], json_string(v)) == -1) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---- rate limits --------------------------------------------------------- */

/* The host's state, made on first use; called with the lock held. */
static struct coll_host *
host_get(struct av_collateral *c, const char *name)
{
	struct coll_host	*h;

	for (h = c->hosts; h != NULL; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->name = strdup(name)) == NULL) {
		free(h);
		return NULL;
	}
	h->next = c->hosts;
	c->hosts = h;
	return h;
}

/*
 * Wait for this host's next request slot.  Fails, without waiting, while
 * the host is backing off after a 429, or when the slot is further away
 * than cfg.max_wait_ms.
 */
static int
rate_wait(struct av_collateral *c, const char *url, const char *hostkey,
    struct av_err *e)
{
	struct coll_host	*h;
	int64_t			 now, slot, interval;

	interval = c->cfg.min_interval_ms;
	if (c->kds_host != NULL && strcmp(hostkey, c->kds_host) == 0 &&
	    c->cfg.kds_min_interval_ms > interval)
		interval = c->cfg.kds_min_interval_ms;
	pthread_mutex_lock(&c->mtx);
	if ((h = host_get(c, hostkey)) == NULL) {
		pthread_mutex_unlock(&c->mtx);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	now = mono_ms();
	slot = now > h->next_slot_ms ? now : h->next_slot_ms;
	if (h->backoff_ms > now || slot - now > c->cfg.max_wait_ms) {
		c->st.rate_limited++;
		pthread_mutex_unlock(&c->mtx);
		av_log(AV_LOG_WARN, "collateral_rate_limited", "url", url,
		    "why", h->backoff_ms > now ? "vendor asked to back off" :
		    "local request spacing", NULL);
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "collateral: vendor service rate-limited");
	}
	if (interval > 0)
		h->next_slot_ms = slot + interval;
	c->st.requests++;
	pthread_mutex_unlock(&c->mtx);
	sleep_ms(slot - now);
	return 0;
}

static void
host_backoff(struct av_collateral *c, const char *hostkey, long secs)
{
	struct coll_host	*h;

	pthread_mutex_lock(&c->mtx);
	if ((h = host_get(c, hostkey)) != NULL)
		h->backoff_ms = mono_ms() + (int64_t)secs * 1000;
	pthread_mutex_unlock(&c->mtx);
}

/* Seconds in a Retry-After value (delta-seconds or HTTP-date); -1 if bad. */
static long
retry_after(const char *v)
{
	long	 s = 0;
	time_t	 t;

	if (v == NULL || *v == '\0')
		return -1;
	if (isdigit((unsigned char)*v)) {
		for (; isdigit((unsigned char)*v); v++)
			if ((s = s * 10 + (*v - '0')) > COLL_BACKOFF_MAX_S)
				s = COLL_BACKOFF_MAX_S;
		return *v == '\0' ? s : -1;
	}
	if ((t = curl_getdate(v, NULL)) == -1)
		return -1;
	s = (long)(t - time(NULL));	/* the vendor's wall-clock date */
	if (s < 0)
		s = 0;
	return s > COLL_BACKOFF_MAX_S ? COLL_BACKOFF_MAX_S : s;
}

/* ---- HTTP ---------------------------------------------------------------- */

struct dl {
	uint8_t	*p;
	size_t	 n, cap;
	bool	 toobig;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct dl	*d = arg;
	uint8_t		*np;
	size_t		 n = size * nmemb, ncap;

	if (n > COLL_MAX_FILE - d->n) {
		d->toobig = true;
		return 0;	/* aborts the transfer */
	}
	if (d->n + n > d->cap) {
		ncap = d->cap ? d->cap : 16384;
		while (ncap < d->n + n)
			ncap *= 2;
		if (ncap > COLL_MAX_FILE)
			ncap = COLL_MAX_FILE;
		if ((np = realloc(d->p, ncap)) == NULL)
			return 0;
		d->p = np;
		d->cap = ncap;
	}
	memcpy(d->p + d->n, ptr, n);
	d->n += n;
	return n;
}

/* Every header of the last response, names lower-cased (new ref). */
static json_t *
collect_headers(CURL *h)
{
	struct curl_header	*hh = NULL;
	json_t			*o, *old;
	char			 lc[128], *joined;
	size_t			 total = 0, nh = 0, k;

	if ((o = json_object()) == NULL)
		return NULL;
	while ((hh = curl_easy_nextheader(h, CURLH_HEADER, -1, hh)) != NULL) {
		if (++nh > COLL_MAX_HDRS)
			break;
		if (strlen(hh->name) >= sizeof(lc) || hh->value == NULL ||
		    strlen(hh->value) > COLL_MAX_HDR_LEN ||
		    (total += strlen(hh->value)) > COLL_MAX_HDR_TOTAL)
			continue;
		for (k = 0; hh->name[k] != '\0'; k++)
			lc[k] = (char)tolower((unsigned char)hh->name[k]);
		lc[k] = '\0';
		old = json_object_get(o, lc);
		if (json_is_string(old)) {	/* repeated: RFC 9110 s.5.3 */
			size_t n = json_string_length(old) +
			    strlen(hh->value) + 3;

			if ((joined = malloc(n)) == NULL)
				continue;
			snprintf(joined, n, "%s, %s", json_string_value(old),
			    hh->value);
			json_object_set_new(o, lc, json_string(joined));
			free(joined);
		} else	/* not UTF-8: json_string() fails, header dropped */
			json_object_set_new(o, lc, json_string(hh->value));
	}
	return o;
}

/*
 * GET (or POST) the request.  On success *body (malloc'd) and *all (every
 * header, new ref).  Returns 0, or -1 with e (AV_E_COLLATERAL_MISSING,
 * AV_E_NOMEM).
 */
static int
http_get(struct av_collateral *c, const struct coll_req *rq,
    const char *hostkey, uint8_t **body, size_t *len, json_t **all,
    struct av_err *e)
{
	struct curl_header	*hh;
	struct curl_slist	*rh = NULL;
	struct dl		 d = { 0 };
	const char		*url = rq->url;
	char			 ct[160];
	CURL			*h = NULL;
	CURLcode		 cc;
	long			 status = 0, secs;
	char			 sbuf[16];
	int			 rc = -1;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || (h = curl_easy_init()) == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
	    strncasecmp(url, "https:", 6) == 0 ? "https" : "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION,
	    c->cfg.max_redirects > 0 ? 1L : 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXREDIRS,
	    (long)c->cfg.max_redirects) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->cfg.timeout_s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    c->cfg.timeout_s < 10 ? c->cfg.timeout_s : 10L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)COLL_MAX_FILE) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "attestd/" AV_VERSION) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &d) != CURLE_OK) {
		AV_FAIL(e, AV_E_INTERNAL, "internal error");
		goto out;
	}
	if (rq->ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", rq->ctype);
		if ((rh = curl_slist_append(NULL, ct)) == NULL ||
		    curl_easy_setopt(h, CURLOPT_HTTPHEADER, rh) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->blen) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    rq->blen ? (const char *)rq->body : "") != CURLE_OK) {
			AV_FAIL(e, AV_E_INTERNAL, "internal error");
			goto out;
		}
	}
	cc = curl_easy_perform(h);
	if (d.toobig || cc == CURLE_FILESIZE_EXCEEDED) {
		av_log(AV_LOG_WARN, "collateral_fetch_failed", "url", url,
		    "error", "response larger than 16 MiB", NULL);
		AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "collateral: vendor response too large");
		goto fail;
	}
	if (cc != CURLE_OK) {
		av_log(AV_LOG_WARN, "collateral_fetch_failed", "url", url,
		    "error", curl_easy_strerror(cc), NULL);
		AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "collateral: vendor service unreachable");
		goto fail;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	snprintf(sbuf, sizeof(sbuf), "%ld", status);
	if (status == 429 || status == 503) {
		secs = -1;
		if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1,
		    &hh) == CURLHE_OK)
			secs = retry_after(hh->value);
		if (secs < 0 && status == 429)
			secs = COLL_BACKOFF_DEFAULT_S;
		if (secs > 0)
			host_backoff(c, hostkey, secs);
		if (secs >= 0) {
			av_log(AV_LOG_WARN, "collateral_fetch_failed", "url",
			    url, "status", sbuf, "error", "rate-limited", NULL);
			AV_FAIL(e, AV_E_COLLATERAL_MISSING,
			    "collateral: vendor service rate-limited");
			goto fail;
		}
	}
	if (status != 200) {
		av_log(AV_LOG_WARN, "collateral_fetch_failed", "url", url,
		    "status", sbuf, NULL);
		if (status >= 400)
			AV_FAIL(e, AV_E_COLLATERAL_MISSING,
			    "collateral: vendor service returned an error");
		else
			AV_FAIL(e, AV_E_COLLATERAL_MISSING,
			    "collateral: unexpected vendor response");
		goto fail;
	}
	if ((*all = collect_headers(h)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	av_log(AV_LOG_INFO, "collateral_fetched", "url", url, "status", sbuf,
	    NULL);
	if (d.p == NULL && (d.p = malloc(1)) == NULL) {
		json_decref(*all);
		*all = NULL;
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	*body = d.p;
	*len = d.n;
	d.p = NULL;
	rc = 0;
	goto out;
 fail:
	pthread_mutex_lock(&c->mtx);
	c->st.errors++;
	pthread_mutex_unlock(&c->mtx);
 out:
	free(d.p);
	curl_easy_cleanup(h);
	curl_slist_free_all(rh);
	return rc;
}

/* ---- coalescing ---------------------------------------------------------- */

static void
inflight_free(struct coll_inflight *f)
{
	if (f == NULL)
		return;
	pthread_cond_destroy(&f->cv);
	free(f->body);
	json_decref(f->hdrs);
	free(f);
}

/*
 * Take this caller's copy of a finished fetch and drop its reference;
 * called with the lock held.  The last one out frees f.
 */
static int
inflight_take(struct coll_inflight *f, uint8_t **body, size_t *len,
    json_t **all, struct av_err *e)
{
	int	rc = -1;

	if (f->rc == -1) {
		if (e != NULL)
			*e = f->err;
		goto out;
	}
	if (f->refs == 1) {	/* last one: take it whole */
		*body = f->body;
		*len = f->len;
		*all = f->hdrs;
		f->body = NULL;
		f->hdrs = NULL;
		rc = 0;
		goto out;
	}
	if ((*body = malloc(f->len ? f->len : 1)) == NULL ||
	    (*all = json_deep_copy(f->hdrs)) == NULL) {
		free(*body);
		*body = NULL;
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*body, f->body, f->len);
	*len = f->len;
	rc = 0;
 out:
	if (--f->refs == 0)
		inflight_free(f);
	return rc;
}

/*
 * Get the request from the cache (unless refresh) or the vendor, sharing
 * a fetch of the same request already in flight.  Returns 0/-1.
 */
static int
fetch_shared(struct av_collateral *c, const struct coll_req *rq, bool refresh,
    uint8_t **body, size_t *len, json_t **all, struct av_err *e)
{
	struct coll_inflight	*f, **pp;
	char			*hostkey = NULL;
	int			 rc;

	pthread_mutex_lock(&c->mtx);
	for (f = c->inflight; f != NULL; f = f->next)
		/* a refresh waits only for another refresh: a plain fetch
		   may be answered from the stale cached copy */
		if (strcmp(f->key, rq->key) == 0 && (!refresh || f->refresh))
			break;
	if (f != NULL) {
		f->refs++;
		c->st.coalesced++;
		while (!f->done)
			pthread_cond_wait(&f->cv, &c->mtx);
		rc = inflight_take(f, body, len, all, e);
		pthread_mutex_unlock(&c->mtx);
		return rc;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    pthread_cond_init(&f->cv, NULL) != 0) {
		free(f);
		pthread_mutex_unlock(&c->mtx);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	memcpy(f->key, rq->key, sizeof(f->key));
	f->refresh = refresh;
	f->refs = 1;
	f->next = c->inflight;
	c->inflight = f;
	pthread_mutex_unlock(&c->mtx);

	/* the leader: a fetch that ended since our first look left a copy */
	f->rc = -1;
	if (!refresh && cache_read(c, rq, &f->body, &f->len, &f->hdrs) == 1)
		f->rc = 0;
	else if ((hostkey = coll_host_key(rq->url)) == NULL)
		AV_FAIL(&f->err, AV_E_COLLATERAL_MISSING,
		    "collateral: invalid URL");
	else if (rate_wait(c, rq->url, hostkey, &f->err) == 0 &&
	    http_get(c, rq, hostkey, &f->body, &f->len, &f->hdrs,
	    &f->err) == 0) {
		cache_write(c, rq, 200, f->body, f->len, f->hdrs);
		f->rc = 0;
	}
	free(hostkey);

	pthread_mutex_lock(&c->mtx);
	for (pp = &c->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	f->done = true;
	pthread_cond_broadcast(&f->cv);
	rc = inflight_take(f, body, len, all, e);
	pthread_mutex_unlock(&c->mtx);
	return rc;
}

/* ---- the interface ------------------------------------------------------- */

/* Cache, then (online) the vendor; see av_collateral_fetch_flags(). */
static int
fetch_req(struct av_collateral *c, struct coll_req *rq,
    const char *const *hdr_names, unsigned flags, uint8_t **out,
    size_t *outlen, json_t **hdrs, struct av_err *e)
{
	uint8_t		*body = NULL;
	size_t		 len = 0;
	json_t		*all = NULL;
	bool		 refresh = (flags & AV_FETCH_REFRESH) != 0;
	int		 hit, rc = -1;

	if (req_key(rq) == -1)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (!refresh || !c->cfg.online) {
		hit = cache_read(c, rq, &body, &len, &all);
		pthread_mutex_lock(&c->mtx);
		if (hit)
			c->st.cache_hits++;
		else
			c->st.cache_misses++;
		pthread_mutex_unlock(&c->mtx);
		if (hit)
			goto done;
		if (!c->cfg.online) {
			av_log(AV_LOG_INFO, "collateral_offline_miss", "url",
			    rq->url, NULL);
			return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
			    "collateral: not cached and offline");
		}
	}
	if (fetch_shared(c, rq, refresh, &body, &len, &all, e) == -1) {
		if (!refresh || !cache_read(c, rq, &body, &len, &all))
			goto out;
		av_log(AV_LOG_WARN, "collateral_refresh_failed", "url", rq->url,
		    "using", "cached copy", NULL);
	}
 done:
	if (hdrs != NULL && (*hdrs = hdr_subset(all, hdr_names)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	*out = body;
	*outlen = len;
	body = NULL;
	rc = 0;
 out:
	free(body);
	json_decref(all);
	return rc;
}

/* Reset the outputs and check the common arguments. */
static int
fetch_args(struct av_collateral *c, const char *url, uint8_t **out,
    size_t *outlen, json_t **hdrs, struct av_err *e)
{
	if (out == NULL || outlen == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	*out = NULL;
	*outlen = 0;
	if (hdrs != NULL)
		*hdrs = NULL;
	if (c == NULL)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	if (!url_ok(url))
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "collateral: invalid URL");
	return 0;
}

/*
 * GET url through the cache (see collateral.h).  On success *out is
 * malloc'd (caller frees) and *hdrs, if asked for, a new JSON object.
 * Returns 0, or -1 with e (AV_E_COLLATERAL_MISSING, AV_E_NOMEM).
 */
int
av_collateral_fetch_flags(struct av_collateral *c, const char *url,
    const char *const *hdr_names, unsigned flags, uint8_t **out,
    size_t *outlen, json_t **hdrs, struct av_err *e)
{
	struct coll_req	rq = { 0 };

	if (fetch_args(c, url, out, outlen, hdrs, e) == -1)
		return -1;
	rq.url = url;
	return fetch_req(c, &rq, hdr_names, flags, out, outlen, hdrs, e);
}

/* av_collateral_fetch_flags() without flags.  Returns 0/-1. */
int
av_collateral_fetch(struct av_collateral *c, const char *url,
    const char *const *hdr_names, uint8_t **out, size_t *outlen,
    json_t **hdrs, struct av_err *e)
{
	return av_collateral_fetch_flags(c, url, hdr_names, 0, out, outlen,
	    hdrs, e);
}

/*
 * POST body to url through the cache (see collateral.h).  Returns 0, or
 * -1 with e (AV_E_COLLATERAL_MISSING, AV_E_NOMEM, AV_E_INTERNAL).
 */
int
av_collateral_post(struct av_collateral *c, const char *url,
    const char *content_type, const uint8_t *body, size_t bodylen,
    const char *const *hdr_names, unsigned flags, uint8_t **out,
    size_t *outlen, json_t **hdrs, struct av_err *e)
{
	struct coll_req	rq = { 0 };

	if (fetch_args(c, url, out, outlen, hdrs, e) == -1)
		return -1;
	if (!ctype_ok(content_type) || (body == NULL && bodylen != 0) ||
	    bodylen > COLL_MAX_POST)
		return AV_FAIL(e, AV_E_INTERNAL, "internal error");
	rq.url = url;
	rq.ctype = content_type;
	rq.body = body;
	rq.blen = bodylen;
	return fetch_req(c, &rq, hdr_names, flags, out, outlen, hdrs, e);
}

void
coll_fetch_cleanup(struct av_collateral *c)
{
	struct coll_host	*h;
	struct coll_inflight	*f;

	while ((h = c->hosts) != NULL) {
		c->hosts = h->next;
		free(h->name);
		free(h);
	}
	/* empty unless the store is freed during a fetch (a caller bug) */
	while ((f = c->inflight) != NULL) {
		c->inflight = f->next;
		inflight_free(f);
	}
}
