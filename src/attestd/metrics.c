/*
 * attestd - Prometheus metrics (text exposition format 0.0.4): requests
 * by route and code, verdicts by platform and status, verification
 * latency, verifications running and waiting, chain-cache hits,
 * outstanding nonces, reloads.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "av/crypto.h"
#include "av/policy.h"

#include "attestd.h"

#define MAX_SERIES	256

struct series {
	const char	*a;		/* static strings (route / platform) */
	const char	*b;		/* status string, or NULL */
	unsigned	 code;
	unsigned long	 n;
};

static const double buckets[] = { 0.0005, 0.001, 0.002, 0.005, 0.01,
	0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct series	 reqs[MAX_SERIES], verdicts[MAX_SERIES];
static size_t		 nreqs, nverdicts;
static unsigned long	 lat_count, lat_bucket[NBUCKETS];
static double		 lat_sum;
static unsigned long	 reloads_ok, reloads_failed;

/* Find or add a series; strings must be static (or outlive the process). */
static struct series *
find(struct series *v, size_t *n, const char *a, const char *b,
    unsigned code)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].code == code && strcmp(v[i].a, a) == 0 &&
		    (v[i].b == b || (b && v[i].b && strcmp(v[i].b, b) == 0)))
			return &v[i];
	if (*n == MAX_SERIES)
		return NULL;
	v[*n] = (struct series){ a, b, code, 0 };
	return &v[(*n)++];
}

/* Count one HTTP request; route must be a static string. */
void
avd_metrics_request(const char *route, unsigned code)
{
	struct series *s;

	pthread_mutex_lock(&mtx);
	if ((s = find(reqs, &nreqs, route, NULL, code)) != NULL)
		s->n++;
	pthread_mutex_unlock(&mtx);
}

/*
 * Count one appraised item.  platform: a backend name (static); status:
 * av_status_str() (static).
 */
void
avd_metrics_verdict(const char *platform, const char *status)
{
	struct series *s;

	pthread_mutex_lock(&mtx);
	if ((s = find(verdicts, &nverdicts, platform, status, 0)) != NULL)
		s->n++;
	pthread_mutex_unlock(&mtx);
}

/* Observe one verification latency (seconds). */
void
avd_metrics_latency(double sec)
{
	pthread_mutex_lock(&mtx);
	lat_count++;
	lat_sum += sec;
	for (size_t i = 0; i < NBUCKETS; i++)
		if (sec <= buckets[i])
			lat_bucket[i]++;
	pthread_mutex_unlock(&mtx);
}

/* Count a reload by result. */
void
avd_metrics_reload(bool ok)
{
	pthread_mutex_lock(&mtx);
	if (ok)
		reloads_ok++;
	else
		reloads_failed++;
	pthread_mutex_unlock(&mtx);
}

struct buf {
	char	*p;
	size_t	 len, cap;
	bool	 oom;
};

static void
bprintf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/*
 * The exposition text (malloc'd, *len set) for the current state and
 * snapshot c.  Returns NULL on allocation failure.
 */
char *
avd_metrics_render(const struct avd_cfg *c, size_t *len)
{
	struct buf		b = { NULL, 0, 8192, false };
	struct av_chain_stats	cs = { 0, 0 };
	struct avd_nonce_stats	ns;
	time_t			now = time(NULL);
	size_t			running, waiting, conns;

	if ((b.p = malloc(b.cap)) == NULL)
		return NULL;
	av_chain_stats_process(&cs);
	avd_http_load(&running, &waiting, &conns);

	pthread_mutex_lock(&mtx);
	bprintf(&b, "# HELP attestd_build_info Version of this attestd.\n"
	    "# TYPE attestd_build_info gauge\n"
	    "attestd_build_info{version=\"%s\"} 1\n", AV_VERSION);
	bprintf(&b, "# HELP attestd_http_requests_total HTTP requests by "
	    "route and status code.\n"
	    "# TYPE attestd_http_requests_total counter\n");
	for (size_t i = 0; i < nreqs; i++)
		bprintf(&b, "attestd_http_requests_total{route=\"%s\","
		    "code=\"%u\"} %lu\n", reqs[i].a, reqs[i].code, reqs[i].n);
	bprintf(&b, "# HELP attestd_http_connections Open HTTP "
	    "connections.\n"
	    "# TYPE attestd_http_connections gauge\n"
	    "attestd_http_connections %zu\n"
	    "# HELP attestd_verifications_running Attest requests "
	    "being verified now (at most --workers).\n"
	    "# TYPE attestd_verifications_running gauge\n"
	    "attestd_verifications_running %zu\n"
	    "# HELP attestd_verifications_waiting Attest requests "
	    "waiting for a place (at most --max-queue).\n"
	    "# TYPE attestd_verifications_waiting gauge\n"
	    "attestd_verifications_waiting %zu\n", conns, running, waiting);
	bprintf(&b, "# HELP attestd_verdicts_total Appraised evidence items "
	    "by platform and status.\n"
	    "# TYPE attestd_verdicts_total counter\n");
	for (size_t i = 0; i < nverdicts; i++)
		bprintf(&b, "attestd_verdicts_total{platform=\"%s\","
		    "status=\"%s\"} %lu\n", verdicts[i].a, verdicts[i].b,
		    verdicts[i].n);
	bprintf(&b, "# HELP attestd_verification_seconds Time to verify, "
	    "appraise and sign one request.\n"
	    "# TYPE attestd_verification_seconds histogram\n");
	for (size_t i = 0; i < NBUCKETS; i++)	/* already cumulative */
		bprintf(&b, "attestd_verification_seconds_bucket{le=\"%g\"} "
		    "%lu\n", buckets[i], lat_bucket[i]);
	bprintf(&b, "attestd_verification_seconds_bucket{le=\"+Inf\"} %lu\n"
	    "attestd_verification_seconds_sum %.6f\n"
	    "attestd_verification_seconds_count %lu\n", lat_count, lat_sum,
	    lat_count);
	bprintf(&b, "# HELP attestd_reloads_total Configuration reloads by "
	    "result.\n# TYPE attestd_reloads_total counter\n"
	    "attestd_reloads_total{result=\"ok\"} %lu\n"
	    "attestd_reloads_total{result=\"failed\"} %lu\n", reloads_ok,
	    reloads_failed);
	pthread_mutex_unlock(&mtx);

	bprintf(&b, "# HELP attestd_chain_cache_hits_total Certificate chain "
	    "verifications answered from the cache (since the last reload).\n"
	    "# TYPE attestd_chain_cache_hits_total counter\n"
	    "attestd_chain_cache_hits_total %lu\n"
	    "# HELP attestd_chain_cache_misses_total Certificate chain "
	    "verifications done in full (since the last reload).\n"
	    "# TYPE attestd_chain_cache_misses_total counter\n"
	    "attestd_chain_cache_misses_total %lu\n", cs.hits, cs.misses);
	avd_nonce_stats((int64_t)now, &ns);
	if (ns.has_outstanding)		/* memory store only */
		bprintf(&b, "# HELP attestd_nonces_outstanding Issued "
		    "challenge nonces neither used nor expired.\n"
		    "# TYPE attestd_nonces_outstanding gauge\n"
		    "attestd_nonces_outstanding %zu\n", ns.outstanding);
	bprintf(&b, "# HELP attestd_nonces_issued_total Challenge nonces "
	    "issued by this process.\n"
	    "# TYPE attestd_nonces_issued_total counter\n"
	    "attestd_nonces_issued_total %lu\n"
	    "# HELP attestd_nonce_checks_total Nonces checked against the "
	    "store by this process, by result.\n"
	    "# TYPE attestd_nonce_checks_total counter\n"
	    "attestd_nonce_checks_total{result=\"ok\"} %lu\n"
	    "attestd_nonce_checks_total{result=\"used\"} %lu\n"
	    "attestd_nonce_checks_total{result=\"expired\"} %lu\n"
	    "attestd_nonce_checks_total{result=\"unknown\"} %lu\n"
	    "attestd_nonce_checks_total{result=\"unavailable\"} %lu\n"
	    "# HELP attestd_nonce_store_up Whether the nonce store answered "
	    "the last call.\n"
	    "# TYPE attestd_nonce_store_up gauge\n"
	    "attestd_nonce_store_up{store=\"%s\"} %d\n", ns.issued, ns.ok,
	    ns.used, ns.expired, ns.unknown, ns.unavailable, ns.kind,
	    ns.up ? 1 : 0);
	if (c != NULL)
		bprintf(&b, "# HELP attestd_policies Policies loaded.\n"
		    "# TYPE attestd_policies gauge\nattestd_policies %zu\n"
		    "# HELP attestd_config_generation Configuration "
		    "generation in force.\n"
		    "# TYPE attestd_config_generation gauge\n"
		    "attestd_config_generation %llu\n"
		    "# HELP attestd_config_loaded_timestamp_seconds When the "
		    "configuration in force was loaded.\n"
		    "# TYPE attestd_config_loaded_timestamp_seconds gauge\n"
		    "attestd_config_loaded_timestamp_seconds %lld\n",
		    av_policy_set_count(c->policies),
		    (unsigned long long)c->generation, (long long)c->loaded_at);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
