/*
 * attestd - the HTTP front end on libmicrohttpd: by default a thread per
 * connection that runs POST /v1/attest itself once a counting gate (one
 * place per verification thread) lets it in; or (--thread-model pool) a
 * pool of I/O threads that suspend attest requests and hand them to
 * verification workers.  Routing, bounded request bodies, JSON replies
 * and errors, the access log and the drain on shutdown (docs/api.md,
 * docs/architecture.md s.5).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "av/log.h"
#include "av/policy.h"

#include "attestd.h"

static struct MHD_Daemon	*mhd;
static int			 listen_fd = -1;
static atomic_long		 inflight;
static atomic_long		 nconns;		/* open connections */
static char			*tls_cert_pem, *tls_key_pem;
static bool			 per_connection;	/* thread model */

/*
 * Stack of libmicrohttpd's threads (one per connection by default).
 * Measured (resident pages of the thread's stack, docs/architecture.md
 * s.5): a warm Nitro verdict touches 16 KiB, a composite of 16 items
 * 24 KiB, a request body nested 2040 levels deep (jansson refuses
 * deeper) 170 KiB; 1 MiB is six times that.  Sanitizers make frames
 * several times larger.  Untouched stack pages cost address space only.
 */
#if defined(__SANITIZE_ADDRESS__)
#define AVD_THREAD_STACK	(8u << 20)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AVD_THREAD_STACK	(8u << 20)
#endif
#endif
#ifndef AVD_THREAD_STACK
#define AVD_THREAD_STACK	(1u << 20)
#endif

const struct avd_opts		*avd_options;

struct route {
	const char	*method;
	const char	*path;
	bool		 prefix;	/* path is a prefix ("/v1/policies/") */
	const char	*label;		/* for metrics and the access log */
	int		(*fn)(struct avd_req *);
};

static const struct route routes[] = {
	{ "POST", "/v1/attest",			false, "attest", avd_h_attest },
	{ "POST", "/v1/challenge",		false, "challenge",
	  avd_h_challenge },
	{ "GET",  "/.well-known/jwks.json",	false, "jwks", avd_h_jwks },
	{ "GET",  "/healthz",			false, "healthz", avd_h_healthz },
	{ "GET",  "/readyz",			false, "readyz", avd_h_readyz },
	{ "GET",  "/metrics",			false, "metrics", avd_h_metrics },
	{ "POST", "/v1/admin/reload",		false, "reload", avd_h_reload },
	{ "POST", "/v1/admin/rotate-key",	false, "rotate_key",
	  avd_h_rotate_key },
	{ "GET",  "/v1/policies",		false, "policies",
	  avd_h_policy_api },
	{ "GET",  "/v1/policies/",		true,  "policies",
	  avd_h_policy_api },
	{ "PUT",  "/v1/policies/",		true,  "policies",
	  avd_h_policy_api },
	{ "DELETE", "/v1/policies/",		true,  "policies",
	  avd_h_policy_api },
	{ "POST", "/v1/policies/",		true,  "policies",
	  avd_h_policy_api },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/* Monotonic clock in seconds (latency, rate limits). */
double
avd_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
path_match(const struct route *r, const char *url)
{
	if (r->prefix)
		return strncmp(url, r->path, strlen(r->path)) == 0 &&
		    url[strlen(r->path)] != '\0';
	return strcmp(url, r->path) == 0;
}

/*
 * Queue body (stolen) with its Content-Type, no-store, nosniff and one
 * optional further header (hname: hval, e.g. Allow or ETag).  On a
 * pool worker (--thread-model pool: attest requests only, which send
 * no further header) the reply is kept for the MHD thread without it.
 * Returns MHD_YES or MHD_NO.
 */
static int
reply_buf(struct avd_req *rq, unsigned status, char *body, size_t len,
    const char *ctype, const char *hname, const char *hval)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;

	if (rq->deferred) {
		/* On a worker: keep it for the MHD thread. */
		free(rq->pend_body);
		rq->pend = true;
		rq->pend_status = status;
		rq->pend_body = body;
		rq->pend_len = len;
		rq->pend_ctype = ctype;
		return MHD_YES;
	}

	resp = MHD_create_response_from_buffer(len, body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    ctype) == MHD_NO ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store") == MHD_NO ||
	    MHD_add_response_header(resp, "X-Content-Type-Options",
	    "nosniff") == MHD_NO ||
	    (hname != NULL && MHD_add_response_header(resp, hname, hval) ==
	    MHD_NO)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(rq->conn, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES) {
		rq->queued = true;
		rq->status = status;
		rq->bytes_out = len;
	}
	return ret;
}

/*
 * Queue body (stolen) as JSON with the given status and one optional
 * further header (hname: hval).  Returns MHD_YES or MHD_NO (the
 * connection is then closed).
 */
int
avd_reply_json_hdr(struct avd_req *rq, unsigned status, json_t *body,
    const char *hname, const char *hval)
{
	char *s;

	if (body == NULL)
		return avd_reply_error(rq, 500, "internal_error",
		    "out of memory");
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL)
		return MHD_NO;
	return reply_buf(rq, status, s, strlen(s), "application/json",
	    hname, hval);
}

/* The same without a further header. */
int
avd_reply_json(struct avd_req *rq, unsigned status, json_t *body)
{
	return avd_reply_json_hdr(rq, status, body, NULL, NULL);
}

/*
 * Queue body (a JSON object, reference stolen) with "verdict": jwt as
 * its last member, as avd_reply_json() would after
 * json_object_set_new(body, "verdict", json_string(jwt)), byte for
 * byte.  A JWS compact serialisation is base64url and dots only, which
 * JSON never escapes, so the token is copied after the serialised
 * object instead of passing through jansson's string escaper (it is
 * most of the bytes of a verdict response).  Anything else takes the
 * jansson path.  Returns what avd_reply_json() returns.
 */
int
avd_reply_verdict(struct avd_req *rq, unsigned status, json_t *body,
    const char *jwt)
{
	static const char	 key[] = "\"verdict\":\"";
	size_t			 n, jn, i;
	char			*s, *t;

	if (body == NULL || !json_is_object(body) || jwt == NULL)
		return avd_reply_json(rq, status, body);
	jn = strlen(jwt);
	for (i = 0; i < jn; i++) {
		unsigned char c = (unsigned char)jwt[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.'))
			break;
	}
	if (i != jn || json_object_get(body, "verdict") != NULL) {
		json_object_set_new(body, "verdict", json_string(jwt));
		return avd_reply_json(rq, status, body);
	}
	s = av_json_dumps_compact(body, &n);
	json_decref(body);
	if (s == NULL || n < 2 || s[n - 1] != '}') {
		free(s);
		return MHD_NO;
	}
	/* "{...}" -> "{...," + "verdict":"<jwt>" + "}" */
	if ((t = realloc(s, n + 1 + sizeof(key) - 1 + jn + 2 + 1)) == NULL) {
		free(s);
		return MHD_NO;
	}
	s = t;
	n--;			/* drop the closing brace */
	if (n > 1)
		s[n++] = ',';
	memcpy(s + n, key, sizeof(key) - 1);
	n += sizeof(key) - 1;
	memcpy(s + n, jwt, jn);
	n += jn;
	s[n++] = '"';
	s[n++] = '}';
	s[n] = '\0';
	return reply_buf(rq, status, s, n, "application/json", NULL, NULL);
}

/* Queue {"error": {"code", "message"}} with status. */
int
avd_reply_error(struct avd_req *rq, unsigned status, const char *code,
    const char *message)
{
	json_t *o;

	o = json_pack("{s{ssss}}", "error", "code", code, "message", message);
	if (o == NULL)
		return MHD_NO;
	return avd_reply_json(rq, status, o);
}

/* Reply with raw bytes (copied) of a content type. */
static int
reply_text(struct avd_req *rq, unsigned status, const char *text, size_t n,
    const char *ctype)
{
	char *s;

	if ((s = malloc(n ? n : 1)) == NULL)
		return MHD_NO;
	memcpy(s, text, n);
	return reply_buf(rq, status, s, n, ctype, NULL, NULL);
}

/* Media type without parameters, lower case (malloc'd), or NULL. */
static char *
media_type(const char *v)
{
	size_t	 n;
	char	*s;

	if (v == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, ";");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if ((s = strndup(v, n)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return s;
}

static void
fill_remote(struct avd_req *rq)
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa;
	socklen_t			 sl;

	rq->remote[0] = '\0';
	ci = MHD_get_connection_info(rq->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo(sa, sl, rq->remote, sizeof(rq->remote), NULL, 0,
	    NI_NUMERICHOST) != 0)
		rq->remote[0] = '\0';
}

/* Pick the route; 404 or 405 when there is none. */
static const struct route *
pick_route(const char *url, const char *method, char *allow, size_t alen)
{
	bool head = strcmp(method, "HEAD") == 0;

	allow[0] = '\0';
	for (size_t i = 0; i < NROUTES; i++) {
		if (!path_match(&routes[i], url))
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (head && strcmp(routes[i].method, "GET") == 0))
			return &routes[i];
		if (strstr(allow, routes[i].method) == NULL)
			snprintf(allow + strlen(allow), alen - strlen(allow),
			    "%s%s", allow[0] ? ", " : "", routes[i].method);
	}
	return NULL;
}

/* The first call for a request: set up, route, check the head. */
static enum MHD_Result
request_begin(struct avd_req *rq)
{
	const struct route	*r;
	const char		*cl;
	char			 allow[64], *end;
	unsigned long long	 n;

	r = pick_route(rq->url, rq->method, allow, sizeof(allow));
	if (r == NULL) {
		rq->route = "other";
		if (allow[0] != '\0') {
			char *s = strdup("{\"error\":{\"code\":"
			    "\"method_not_allowed\",\"message\":"
			    "\"method not allowed on this path\"}}");

			if (s == NULL)
				return MHD_NO;
			return reply_buf(rq, MHD_HTTP_METHOD_NOT_ALLOWED, s,
			    strlen(s), "application/json",
			    MHD_HTTP_HEADER_ALLOW, allow);
		}
		return avd_reply_error(rq, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such resource");
	}
	rq->route = r->label;
	rq->handler = r->fn;
	if (!avd_rate_allow(rq->remote, avd_mono()))
		return avd_reply_error(rq, MHD_HTTP_TOO_MANY_REQUESTS,
		    "rate_limited", "too many requests from this address");
	rq->ctype = media_type(MHD_lookup_connection_value(rq->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
	cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno == 0 && end != cl && *end == '\0' &&
		    n > rq->cfg->opts->max_body) {
			/*
			 * Answer now if the client waits for "100 Continue"
			 * or the body is huge; otherwise read and drop it
			 * (up to one more cap) so the client, which is still
			 * sending, gets to read the 413.
			 */
			if (avd_header(rq, "Expect") != NULL ||
			    n / 2 > rq->cfg->opts->max_body)
				return avd_reply_error(rq,
				    MHD_HTTP_CONTENT_TOO_LARGE,
				    "body_too_large",
				    "request body exceeds the configured limit");
			rq->too_large = true;
		}
	}
	if (r->fn == avd_h_attest && !avd_attest_ctype_ok(rq->ctype))
		return avd_reply_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "unsupported_media_type", "POST /v1/attest takes "
		    "application/json, application/cmw+json or "
		    "application/vnd.attestd.<type>");
	return MHD_YES;
}

/* Append a body chunk within the cap.  Returns false to drop the peer. */
static bool
body_append(struct avd_req *rq, const char *p, size_t n)
{
	size_t	 max = rq->cfg->opts->max_body, ncap;
	char	*nb;

	if (rq->too_large || n > max - rq->len) {
		/* Read and drop up to twice the cap in all, then hang up. */
		rq->too_large = true;
		rq->discarded += n;
		return rq->len + rq->discarded <= 2 * max;
	}
	if (rq->len + n + 1 > rq->cap) {
		ncap = rq->cap ? rq->cap : 16384;
		while (ncap < rq->len + n + 1)
			ncap *= 2;
		if (ncap > max + 1)
			ncap = max + 1;
		if ((nb = realloc(rq->body, ncap)) == NULL)
			return false;
		rq->body = nb;
		rq->cap = ncap;
	}
	memcpy(rq->body + rq->len, p, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return true;
}

/* ---- the verification gate (thread per connection) -------------------- */

/*
 * At most gate_size attest handlers run at once, whatever the number of
 * connections; the others wait in arrival order, at most gate_max_wait
 * of them (503 beyond).  A place is handed directly to the first waiter
 * (its own condition variable, on its stack): one wake-up per admission,
 * not a broadcast that wakes every waiter to find out whose turn it is.
 * gate_stop (set when the drain times out) sends the waiting ones away
 * with a 503, so no connection thread is left blocked when libmicrohttpd
 * joins them.
 */
struct gate_waiter {
	pthread_cond_t		 cv;
	bool			 admitted;
	struct gate_waiter	*next;
};

static pthread_mutex_t	 gate_mtx = PTHREAD_MUTEX_INITIALIZER;
static size_t		 gate_size, gate_busy, gate_max_wait, gate_nwait;
static struct gate_waiter *gate_first, *gate_last;	/* FIFO */
static bool		 gate_stop;

enum gate_res { GATE_IN, GATE_FULL, GATE_STOPPED };

static enum gate_res
gate_enter(void)
{
	struct gate_waiter	 w;
	enum gate_res		 res;

	pthread_mutex_lock(&gate_mtx);
	if (gate_stop) {
		pthread_mutex_unlock(&gate_mtx);
		return GATE_STOPPED;
	}
	if (gate_first == NULL && gate_busy < gate_size) {
		gate_busy++;		/* the common case: a free place */
		pthread_mutex_unlock(&gate_mtx);
		return GATE_IN;
	}
	if (gate_nwait >= gate_max_wait) {
		pthread_mutex_unlock(&gate_mtx);
		return GATE_FULL;
	}
	pthread_cond_init(&w.cv, NULL);
	w.admitted = false;
	w.next = NULL;
	if (gate_last != NULL)
		gate_last->next = &w;
	else
		gate_first = &w;
	gate_last = &w;
	gate_nwait++;
	while (!w.admitted && !gate_stop)
		pthread_cond_wait(&w.cv, &gate_mtx);
	/* gate_leave() dequeued us with the place; gate_close() did not */
	res = w.admitted ? GATE_IN : GATE_STOPPED;
	pthread_mutex_unlock(&gate_mtx);
	pthread_cond_destroy(&w.cv);
	return res;
}

/* Give the place to the first waiter, or free it. */
static void
gate_leave(void)
{
	struct gate_waiter *w;

	pthread_mutex_lock(&gate_mtx);
	if ((w = gate_first) != NULL && !gate_stop) {
		if ((gate_first = w->next) == NULL)
			gate_last = NULL;
		gate_nwait--;
		w->admitted = true;	/* the place passes on: busy unchanged */
		pthread_cond_signal(&w->cv);
	} else
		gate_busy--;
	pthread_mutex_unlock(&gate_mtx);
}

/* Let nobody in any more; wake the waiting (they answer 503). */
static void
gate_close(void)
{
	pthread_mutex_lock(&gate_mtx);
	gate_stop = true;
	for (struct gate_waiter *w = gate_first; w != NULL; w = w->next)
		pthread_cond_signal(&w->cv);
	gate_first = gate_last = NULL;
	gate_nwait = 0;
	pthread_mutex_unlock(&gate_mtx);
}

/* Run the attest handler on this connection's thread, through the gate. */
static enum MHD_Result
run_gated(struct avd_req *rq)
{
	int ret;

	switch (gate_enter()) {
	case GATE_FULL:
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "overloaded", "too many verifications waiting; retry later");
	case GATE_STOPPED:
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "shutting_down", "the server is shutting down");
	case GATE_IN:
	default:
		break;
	}
	ret = rq->handler(rq);
	gate_leave();
	return ret == MHD_YES ? MHD_YES : MHD_NO;
}

/* ---- verification workers (thread model "pool") ------------------------- */

static pthread_mutex_t	 wq_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wq_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 wq_idle_cv = PTHREAD_COND_INITIALIZER;
static struct avd_req	**wq;		/* ring of suspended requests */
static size_t		 wq_cap, wq_head, wq_n, wq_busy;
static bool		 wq_stop;
static pthread_t	*workers;
static size_t		 nworkers;

/*
 * A worker runs the handler of a suspended request with replies stored
 * in the request, then resumes the connection; the MHD thread queues the
 * stored reply.  Nothing of rq is touched after the resume.
 */
static void *
worker_main(void *arg)
{
	struct avd_req		*rq;
	struct MHD_Connection	*conn;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&wq_mtx);
		while (wq_n == 0 && !wq_stop)
			pthread_cond_wait(&wq_cv, &wq_mtx);
		if (wq_n == 0) {
			pthread_mutex_unlock(&wq_mtx);
			return NULL;
		}
		rq = wq[wq_head];
		wq_head = (wq_head + 1) % wq_cap;
		wq_n--;
		wq_busy++;
		pthread_mutex_unlock(&wq_mtx);

		(void)rq->handler(rq);
		rq->worked = true;
		conn = rq->conn;
		MHD_resume_connection(conn);

		pthread_mutex_lock(&wq_mtx);
		wq_busy--;
		if (wq_n == 0 && wq_busy == 0)
			pthread_cond_broadcast(&wq_idle_cv);
		pthread_mutex_unlock(&wq_mtx);
	}
}

static int
workers_start(size_t n, size_t queue)
{
	if ((wq = calloc(queue, sizeof(*wq))) == NULL ||
	    (workers = calloc(n, sizeof(*workers))) == NULL)
		return -1;
	wq_cap = queue;
	wq_stop = false;
	for (nworkers = 0; nworkers < n; nworkers++)
		if (pthread_create(&workers[nworkers], NULL, worker_main,
		    NULL) != 0)
			return -1;
	return 0;
}

/* Wait until no request is queued or running on a worker. */
static void
workers_wait_idle(void)
{
	pthread_mutex_lock(&wq_mtx);
	while (wq_n > 0 || wq_busy > 0)
		pthread_cond_wait(&wq_idle_cv, &wq_mtx);
	pthread_mutex_unlock(&wq_mtx);
}

static void
workers_stop(void)
{
	pthread_mutex_lock(&wq_mtx);
	wq_stop = true;
	pthread_cond_broadcast(&wq_cv);
	pthread_mutex_unlock(&wq_mtx);
	for (size_t i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	free(wq);
	workers = NULL;
	wq = NULL;
	nworkers = wq_cap = wq_head = wq_n = 0;
}

/* Suspend rq and hand it to a worker, or answer 503 when the queue is full. */
static enum MHD_Result
submit(struct avd_req *rq)
{
	pthread_mutex_lock(&wq_mtx);
	if (wq_n == wq_cap || wq_stop) {
		pthread_mutex_unlock(&wq_mtx);
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "overloaded", "too many verifications waiting; retry later");
	}
	rq->deferred = true;
	MHD_suspend_connection(rq->conn);
	wq[(wq_head + wq_n) % wq_cap] = rq;
	wq_n++;
	pthread_cond_signal(&wq_cv);
	pthread_mutex_unlock(&wq_mtx);
	return MHD_YES;
}

/*
 * Attest requests verifying now and waiting for a place (the gate, or
 * the worker queue), and open connections, for /metrics.
 */
void
avd_http_load(size_t *running, size_t *waiting, size_t *conns)
{
	long n = atomic_load(&nconns);

	*conns = n > 0 ? (size_t)n : 0;
	if (per_connection) {
		pthread_mutex_lock(&gate_mtx);
		*running = gate_busy;
		*waiting = gate_nwait;
		pthread_mutex_unlock(&gate_mtx);
	} else {
		pthread_mutex_lock(&wq_mtx);
		*running = wq_busy;
		*waiting = wq_n;
		pthread_mutex_unlock(&wq_mtx);
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct avd_req	*rq = *con_cls;

	(void)cls;
	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		atomic_fetch_add(&inflight, 1);
		rq->conn = conn;
		rq->url = url;
		rq->method = method;
		rq->t0 = avd_mono();
		rq->cfg = avd_cfg_acquire();
		fill_remote(rq);
		return request_begin(rq);
	}
	if (*upload_size > 0) {
		bool ok = rq->queued || body_append(rq, upload, *upload_size);

		*upload_size = 0;
		return ok ? MHD_YES : MHD_NO;
	}
	if (rq->worked) {
		/* Resumed after a worker: queue what it stored. */
		char *body = rq->pend_body;

		rq->deferred = false;
		rq->pend_body = NULL;
		if (!rq->pend)
			return MHD_NO;
		rq->pend = false;
		rq->worked = false;
		return reply_buf(rq, rq->pend_status, body, rq->pend_len,
		    rq->pend_ctype, NULL, NULL);
	}
	if (rq->queued)
		return MHD_YES;
	if (rq->too_large)
		return avd_reply_error(rq, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body_too_large",
		    "request body exceeds the configured limit");
	if (rq->handler == avd_h_attest) {
		if (per_connection)
			return run_gated(rq);
		if (nworkers > 0)
			return submit(rq);
	}
	return rq->handler(rq);
}

/* One JSON access-log line per request: no evidence, no secrets. */
static void
access_log(const struct avd_req *rq, enum MHD_RequestTerminationCode toe)
{
	json_t		*o;
	char		*line, ts[64];
	struct timespec	 now;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000) % 1000);
	o = json_pack("{sssssssssssisIsIsf}", "ts", ts, "level", "info",
	    "event", "request", "method", rq->method ? rq->method : "",
	    "path", rq->url ? rq->url : "", "status", (int)rq->status,
	    "bytes_in", (json_int_t)rq->len, "bytes_out",
	    (json_int_t)rq->bytes_out, "ms", (avd_mono() - rq->t0) * 1000.0);
	if (o == NULL)
		return;
	json_object_set_new(o, "remote", json_string(rq->remote));
	if (rq->verdict != NULL)
		json_object_set_new(o, "verdict", json_string(rq->verdict));
	if (rq->admin != NULL)
		json_object_set_new(o, "admin", json_string(rq->admin));
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		json_object_set_new(o, "terminated", json_integer(toe));
	if ((line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(4))) != NULL) {
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	json_decref(o);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct avd_req *rq = *con_cls;

	(void)cls;
	(void)conn;
	if (rq == NULL)
		return;
	*con_cls = NULL;
	if (avd_options == NULL || avd_options->access_log)
		access_log(rq, toe);
	avd_metrics_request(rq->route ? rq->route : "other", rq->status);
	avd_cfg_release(rq->cfg);
	free(rq->ctype);
	free(rq->body);
	free(rq->admin);
	free(rq->pend_body);
	free(rq);
	atomic_fetch_sub(&inflight, 1);
}

/* Count open connections (for /metrics). */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	(void)socket_ctx;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&nconns, 1);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		atomic_fetch_sub(&nconns, 1);
}

static void mhd_logger(void *, const char *, va_list)
	__attribute__((format(printf, 2, 0)));

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char	buf[512];
	size_t	n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	av_log(AV_LOG_WARN, "http", "message", buf, NULL);
}

/* Split "host:port", "[v6]:port" or ":port". */
static int
split_listen(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char	*colon;
	size_t		 n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		n = (size_t)(rb - s - 1);
		colon = rb + 1;
		s++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n >= hlen || strlen(colon + 1) >= plen || colon[1] == '\0')
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	for (const char *p = port; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	return 0;
}

static bool
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >>
		    24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

static int
open_listener(const char *spec, int *family, unsigned *bound_port,
    bool *loopback)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t	 sl = sizeof(ss);
	char		 host[256], port[16];
	int		 fd = -1, one = 1, rc;

	if (split_listen(spec, host, sizeof(host), port, sizeof(port)) == -1) {
		av_log(AV_LOG_ERROR, "listen_invalid", "listen", spec,
		    "expected", "ADDR:PORT or [IPv6]:PORT", NULL);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) !=
	    0) {
		av_log(AV_LOG_ERROR, "listen_invalid", "listen", spec,
		    "error", gai_strerror(rc), NULL);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 511) == 0) {
			*family = ai->ai_family;
			break;
		}
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		av_log(AV_LOG_ERROR, "listen_failed", "listen", spec, "error",
		    strerror(errno), NULL);
	freeaddrinfo(res);
	if (fd != -1 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		*bound_port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		*loopback = is_loopback(&ss);
	}
	return fd;
}

static char *
read_small_file(const char *file)
{
	FILE	*f;
	char	*buf = NULL;
	long	 n;

	if ((f = fopen(file, "re")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    n < (1L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else
			buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static void
write_port_file(const char *file, unsigned port)
{
	char	tmp[4096];
	FILE	*f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if ((f = fopen(tmp, "we")) == NULL) {
		av_log(AV_LOG_WARN, "port_file", "file", file, "error",
		    strerror(errno), NULL);
		return;
	}
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, file) == -1)
		av_log(AV_LOG_WARN, "port_file", "file", file, "error",
		    strerror(errno), NULL);
}

static unsigned
ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

/*
 * Start the server on o->listen (docs/api.md).  Returns 0, or -1 after
 * logging why.
 */
int
avd_http_start(const struct avd_opts *o)
{
	struct MHD_OptionItem	 opts[16];
	unsigned		 flags, port = 0, threads;
	int			 family = AF_INET, i = 0;
	bool			 loopback = true;
	char			 pbuf[16], tbuf[16], wbuf[24];
	size_t			 nverify;

	avd_options = o;
	per_connection = o->thread_model == NULL ||
	    strcmp(o->thread_model, "pool") != 0;
	nverify = o->workers ? (size_t)o->workers : ncores();
	if ((listen_fd = open_listener(o->listen, &family, &port,
	    &loopback)) == -1)
		return -1;
	if (!loopback && o->tls_cert == NULL)
		av_log(AV_LOG_WARN, "plain_http_exposed", "listen", o->listen,
		    "advice", "serve HTTPS (--tls-cert, --tls-key) or put "
		    "attestd behind a TLS proxy", NULL);
	threads = o->threads ? (unsigned)o->threads : ncores();
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	if (per_connection)
		flags |= MHD_USE_THREAD_PER_CONNECTION;
	else
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (o->tls_cert != NULL) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			av_log(AV_LOG_ERROR, "tls_unsupported", "advice",
			    "libmicrohttpd was built without TLS", NULL);
			goto fail;
		}
		if ((tls_cert_pem = read_small_file(o->tls_cert)) == NULL ||
		    (tls_key_pem = read_small_file(o->tls_key)) == NULL) {
			av_log(AV_LOG_ERROR, "tls_files", "cert", o->tls_cert,
			    "key", o->tls_key, "error", "cannot read", NULL);
			goto fail;
		}
		flags |= MHD_USE_TLS;
		opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
		    0, tls_cert_pem };
		opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
		    0, tls_key_pem };
	}
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
	    listen_fd, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)on_completed, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
	    (intptr_t)on_connection, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	    (intptr_t)o->conn_timeout_s, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
	    (intptr_t)o->max_conns, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (intptr_t)o->max_header, NULL };
	if (o->max_conns_per_ip > 0)
		opts[i++] = (struct MHD_OptionItem){
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (intptr_t)o->max_conns_per_ip, NULL };
	if (threads > 1 && !per_connection)
		opts[i++] = (struct MHD_OptionItem){
		    MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_STACK_SIZE,
	    (intptr_t)AVD_THREAD_STACK, NULL };
	opts[i++] = (struct MHD_OptionItem){ MHD_OPTION_SIGPIPE_HANDLED_BY_APP,
	    1, NULL };
	opts[i] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	/* Before the first request can arrive. */
	pthread_mutex_lock(&gate_mtx);
	gate_size = nverify;
	gate_max_wait = o->max_queue ? (size_t)o->max_queue : 1;
	gate_busy = gate_nwait = 0;
	gate_first = gate_last = NULL;
	gate_stop = false;
	pthread_mutex_unlock(&gate_mtx);
	/* The logger must come first to catch every message. */
	mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (mhd == NULL) {
		av_log(AV_LOG_ERROR, "http_start_failed", "listen", o->listen,
		    NULL);
		goto fail;
	}
	if (!per_connection && workers_start(nverify,
	    o->max_queue ? (size_t)o->max_queue : 1) == -1) {
		av_log(AV_LOG_ERROR, "workers_start_failed", NULL);
		MHD_stop_daemon(mhd);
		mhd = NULL;
		goto fail;
	}
	snprintf(pbuf, sizeof(pbuf), "%u", port);
	snprintf(tbuf, sizeof(tbuf), "%u", threads);
	if (o->port_file != NULL)
		write_port_file(o->port_file, port);
	snprintf(wbuf, sizeof(wbuf), "%zu", nverify);
	if (per_connection)
		snprintf(tbuf, sizeof(tbuf), "per-connection");
	av_log(AV_LOG_INFO, "listening", "listen", o->listen, "port", pbuf,
	    "scheme", o->tls_cert ? "https" : "http", "threads", tbuf,
	    "workers", wbuf, NULL);
	return 0;
 fail:
	close(listen_fd);
	listen_fd = -1;
	return -1;
}

/*
 * Stop accepting, let in-flight requests finish (up to timeout_s), then
 * stop the server.
 */
void
avd_http_stop(int64_t timeout_s)
{
	double	deadline = avd_mono() + (double)timeout_s;
	char	nbuf[24];
	long	n;

	if (mhd == NULL)
		return;
	(void)MHD_quiesce_daemon(mhd);
	if (listen_fd != -1) {
		close(listen_fd);
		listen_fd = -1;
	}
	while ((n = atomic_load(&inflight)) > 0 && avd_mono() < deadline) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	av_log(AV_LOG_INFO, "drained", "unfinished", nbuf, NULL);
	/*
	 * Connection threads waiting at the gate answer 503 and return, so
	 * that MHD can join them; running verifications finish.  Suspended
	 * connections (pool) must be resumed before MHD stops.
	 */
	gate_close();
	if (!per_connection)
		workers_wait_idle();
	MHD_stop_daemon(mhd);
	mhd = NULL;
	if (!per_connection)
		workers_stop();
	free(tls_cert_pem);
	free(tls_key_pem);
	tls_cert_pem = tls_key_pem = NULL;
}

/* ---- simple handlers ------------------------------------------------- */

/* GET /.well-known/jwks.json: the verdict public keys (RFC 7517). */
int
avd_h_jwks(struct avd_req *rq)
{
	const struct avd_cfg *c = rq->cfg;

	return reply_text(rq, MHD_HTTP_OK, c->jwks, c->jwks_len,
	    "application/jwk-set+json");
}

/* GET /healthz: the process answers. */
int
avd_h_healthz(struct avd_req *rq)
{
	return avd_reply_json(rq, MHD_HTTP_OK, json_pack("{ss}", "status",
	    "ok"));
}

/* GET /readyz: policies and keys are loaded. */
int
avd_h_readyz(struct avd_req *rq)
{
	const struct avd_cfg *c = rq->cfg;

	if (c == NULL || c->signer == NULL)
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "not_ready", "configuration not loaded");
	if (!avd_nonce_ready())		/* noncestore.c: Redis answers */
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "nonce_store_unavailable", "the nonce store cannot be "
		    "reached");
	return avd_reply_json(rq, MHD_HTTP_OK, json_pack("{sssIsIss}",
	    "status", "ready", "generation", (json_int_t)c->generation,
	    "policies", (json_int_t)av_policy_set_count(c->policies),
	    "kid", c->signer->kid));
}

/* GET /metrics: Prometheus text exposition format 0.0.4. */
int
avd_h_metrics(struct avd_req *rq)
{
	size_t	 n;
	char	*s;

	if ((s = avd_metrics_render(rq->cfg, &n)) == NULL)
		return avd_reply_error(rq, 500, "internal_error",
		    "out of memory");
	return reply_buf(rq, MHD_HTTP_OK, s, n,
	    "text/plain; version=0.0.4; charset=utf-8", NULL, NULL);
}

/* A query parameter (borrowed from MHD) or NULL. */
const char *
avd_query(struct avd_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

/* A request header (borrowed from MHD) or NULL. */
const char *
avd_header(struct avd_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}
