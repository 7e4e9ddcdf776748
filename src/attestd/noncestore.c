/*
 * attestd - the challenge nonce store front (docs/architecture.md s.5,
 * "Freshness"): the in-process ring of challenge.c, or Redis shared by
 * every replica behind a load balancer.
 *
 * Redis layout: one key per nonce, PREFIX + hex(SHA-256(nonce)), so the
 * nonce itself is never stored.  The value is "<expires_at> <0|1>" (unix
 * seconds of this daemon's clock; 1 = used).  Issue is
 *	SET key "<exp> 0" NX EX <ttl + retain>
 * and consume is one Lua script (atomic on the server): absent ->
 * unknown; used -> 409; past <exp> -> 410; else mark used (KEEPTTL) ->
 * ok.  A used key stays until its TTL, so a second use is told 409 and
 * never mistaken for a relying party's own nonce.
 *
 * Connections: a mutex-protected pool of blocking hiredis contexts (at
 * most --nonce-store-pool), each used by one thread at a time, so any
 * thread may call in.  Connect and command timeouts are
 * --nonce-store-timeout-ms.  A failed connection is dropped (with every
 * idle one, which is likely stale too) and the next call reconnects; a
 * failed connect makes calls fail fast for BACKOFF_S.  Any failure is
 * AVD_NONCE_UNAVAILABLE: the caller answers 503, never accepts the nonce.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "av/crypto.h"
#include "av/log.h"

#include "attestd.h"
#include "noncestore.h"

#ifdef AVD_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#define PASSWORD_ENV	"ATTESTD_NONCE_STORE_PASSWORD"
#define MAX_PASSWORD	512
#define MAX_PREFIX	128
#define BACKOFF_S	0.2	/* after a failed connect, fail fast this long */

/* The store in force (set by avd_nonce_configure, before any thread). */
static struct avd_nstore_spec	 spec;
static char			 prefix[MAX_PREFIX + 1];
static char			 password[MAX_PASSWORD + 1];
static bool			 have_password;
static const char		*password_from = "none"; /* file, environment */
static int64_t			 ttl, retain;
static unsigned			 timeout_ms, pool_max;
static size_t			 mem_max;
static bool			 started;

/* Counters for /metrics (this process's view). */
static atomic_ulong	 n_issued, n_ok, n_used, n_expired, n_unknown,
			 n_unavailable;
static atomic_bool	 store_up = true;

/* ---- parsing ---------------------------------------------------------- */

static bool
is_digits(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* n decimal digits at p, at most max.  Returns 0/-1. */
static int
small_uint(const char *p, size_t n, unsigned long max, unsigned *out)
{
	unsigned long v = 0;

	if (!is_digits(p, n) || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	if (v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * Parse a --nonce-store value (see noncestore.h).  Returns 0, or -1 with
 * *why set to a literal.
 */
int
avd_nstore_parse(const char *s, struct avd_nstore_spec *out, const char **why)
{
	struct avd_nstore_spec	 sp;
	const char		*p, *at, *end, *hs, *he;
	size_t			 n;

	memset(&sp, 0, sizeof(sp));
	if (s == NULL || strcmp(s, "memory") == 0) {
		sp.kind = AVD_NSTORE_MEMORY;
		*out = sp;
		return 0;
	}
	if (strncmp(s, "rediss://", 9) == 0) {
		*why = "rediss:// (TLS) is not supported: Debian 12's hiredis "
		    "0.14 has no TLS; reach Redis over a private network or "
		    "a TLS tunnel";
		return -1;
	}
	if (strncmp(s, "redis://", 8) != 0) {
		*why = "expected \"memory\" or redis://[USER@]HOST[:PORT][/DB]";
		return -1;
	}
	sp.kind = AVD_NSTORE_REDIS;
	sp.port = 6379;
	p = s + 8;
	end = p + strcspn(p, "/?#");
	/* userinfo: a user name only; passwords never go in the config */
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
		n = (size_t)(at - p);
		if (memchr(p, ':', n) != NULL) {
			*why = "a password in the URL is not accepted: use "
			    "nonce_store_password_file or $"
			    PASSWORD_ENV;
			return -1;
		}
		if (n == 0 || n >= sizeof(sp.user)) {
			*why = "redis URL: bad user name";
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (!host_char(p[i])) {
				*why = "redis URL: bad user name";
				return -1;
			}
		memcpy(sp.user, p, n);
		p = at + 1;
	}
	if (*p == '[') {
		hs = p + 1;
		if ((he = memchr(hs, ']', (size_t)(end - hs))) == NULL) {
			*why = "redis URL: unterminated [IPv6 address]";
			return -1;
		}
		for (const char *q = hs; q < he; q++)
			if (!(host_char(*q) || *q == ':')) {
				*why = "redis URL: bad IPv6 address";
				return -1;
			}
		p = he + 1;
	} else {
		hs = p;
		while (p < end && host_char(*p))
			p++;
		he = p;
	}
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof(sp.host)) {
		*why = "redis URL: missing or overlong host";
		return -1;
	}
	memcpy(sp.host, hs, n);
	if (p < end && *p == ':') {
		p++;
		if (small_uint(p, (size_t)(end - p), 65535, &sp.port) == -1 ||
		    sp.port == 0) {
			*why = "redis URL: port must be 1-65535";
			return -1;
		}
		p = end;
	}
	if (p != end) {
		*why = "redis URL: bad host";
		return -1;
	}
	if (*p == '/') {
		p++;
		n = strcspn(p, "?#");
		if (n > 0 && small_uint(p, n, 65535, &sp.db) == -1) {
			*why = "redis URL: the path must be a database number";
			return -1;
		}
		p += n;
	}
	if (*p != '\0') {
		*why = "redis URL: no query or fragment is accepted";
		return -1;
	}
	*out = sp;
	return 0;
}

/* Whether hiredis was built in. */
bool
avd_nstore_redis_built(void)
{
#ifdef AVD_HAVE_HIREDIS
	return true;
#else
	return false;
#endif
}

/* Seconds an entry is kept past its expiry: at least 600, or one TTL. */
int64_t
avd_nonce_retain(int64_t ttl_s)
{
	return ttl_s > 600 ? ttl_s : 600;
}

/* First line of file (newline stripped) into password.  Returns 0/-1. */
static int
read_password(const char *file)
{
	struct stat	 st;
	char		 buf[MAX_PASSWORD + 2];
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "attestd: nonce_store_password_file: %s: %s\n",
		    file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		av_log(AV_LOG_WARN, "nonce_store_password_file", "file", file,
		    "advice", "readable by group or others; chmod 600", NULL);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "attestd: nonce_store_password_file: %s: %s\n",
		    file, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0' || strlen(buf) > MAX_PASSWORD) {
		fprintf(stderr, "attestd: nonce_store_password_file: %s: "
		    "expected one line of 1-%d bytes\n", file, MAX_PASSWORD);
		goto out;
	}
	memcpy(password, buf, strlen(buf) + 1);
	have_password = true;
	password_from = "file";
	rc = 0;
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/*
 * Check and remember the nonce store settings of o (--nonce-store and
 * its companions); also for --check-config, which never connects.
 * Prints the reason to stderr on failure.  Returns 0 or -1.
 */
int
avd_nonce_configure(const struct avd_opts *o)
{
	const char	*why = NULL, *env;
	size_t		 n;

	if (avd_nstore_parse(o->nonce_store, &spec, &why) == -1) {
		fprintf(stderr, "attestd: nonce_store: %s\n", why);
		return -1;
	}
	ttl = (int64_t)o->nonce_ttl_s;
	retain = avd_nonce_retain(ttl);
	mem_max = (size_t)o->max_nonces;
	timeout_ms = o->nonce_store_timeout_ms ?
	    (unsigned)o->nonce_store_timeout_ms : 500;
	pool_max = o->nonce_store_pool ? (unsigned)o->nonce_store_pool : 16;
	have_password = false;
	password_from = "none";
	if (spec.kind == AVD_NSTORE_MEMORY)
		return 0;
	if (!avd_nstore_redis_built()) {
		fprintf(stderr, "attestd: nonce_store: %s asks for Redis, but "
		    "this attestd was built without hiredis (install "
		    "libhiredis-dev and rebuild)\n", o->nonce_store);
		return -1;
	}
	n = o->nonce_store_prefix != NULL ? strlen(o->nonce_store_prefix) : 0;
	if (n == 0 || n > MAX_PREFIX) {
		fprintf(stderr, "attestd: nonce_store_prefix: expected 1-%d "
		    "printable characters\n", MAX_PREFIX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (o->nonce_store_prefix[i] <= ' ' ||
		    o->nonce_store_prefix[i] > '~') {
			fprintf(stderr, "attestd: nonce_store_prefix: expected "
			    "printable characters without spaces\n");
			return -1;
		}
	memcpy(prefix, o->nonce_store_prefix, n + 1);
	if (o->nonce_store_password_file != NULL)
		return read_password(o->nonce_store_password_file);
	if ((env = getenv(PASSWORD_ENV)) != NULL && env[0] != '\0') {
		if (strlen(env) > MAX_PASSWORD) {
			fprintf(stderr, "attestd: $%s: longer than %d bytes\n",
			    PASSWORD_ENV, MAX_PASSWORD);
			return -1;
		}
		memcpy(password, env, strlen(env) + 1);
		have_password = true;
		password_from = "environment";
	}
	if (spec.user[0] != '\0' && !have_password) {
		fprintf(stderr, "attestd: nonce_store: a user name needs a "
		    "password (nonce_store_password_file or $%s)\n",
		    PASSWORD_ENV);
		return -1;
	}
	return 0;
}

/*
 * The configured store for --check-config (new reference): kind, and
 * for Redis where, which prefix and where the password came from (never
 * the password).
 */
json_t *
avd_nonce_describe(void)
{
	if (spec.kind == AVD_NSTORE_MEMORY)
		return json_pack("{sssI}", "kind", "memory", "max_nonces",
		    (json_int_t)mem_max);
	return json_pack("{sssssIsIsosssssIsI}", "kind", "redis",
	    "host", spec.host, "port", (json_int_t)spec.port,
	    "db", (json_int_t)spec.db,
	    "user", spec.user[0] ? json_string(spec.user) : json_null(),
	    "prefix", prefix, "password", password_from,
	    "timeout_ms", (json_int_t)timeout_ms,
	    "pool", (json_int_t)pool_max);
}

/* "memory" or "redis": the configured store. */
const char *
avd_nonce_store_kind(void)
{
	return spec.kind == AVD_NSTORE_REDIS ? "redis" : "memory";
}

/* ---- Redis ------------------------------------------------------------ */

#ifdef AVD_HAVE_HIREDIS

/*
 * KEYS[1] the nonce key, ARGV[1] the caller's clock (unix s).  Returns
 * 0 unknown, 1 ok (now used), 2 used, 3 expired, -1 not our value.
 */
static const char consume_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return 0 end\n"
	"local e, u = string.match(v, '^(%d+) ([01])$')\n"
	"if not e then return -1 end\n"
	"if u == '1' then return 2 end\n"
	"if tonumber(e) < tonumber(ARGV[1]) then return 3 end\n"
	"redis.call('SET', KEYS[1], e .. ' 1', 'KEEPTTL')\n"
	"return 1\n";

static int64_t
mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_mutex_t	 pool_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 pool_cv = PTHREAD_COND_INITIALIZER;
static redisContext	**idle;		/* pool_max slots */
static size_t		 nidle, nopen;	/* idle, idle + in use */
static int64_t		 down_until_ms;	/* monotonic; fail fast before */

/* Why a call on c failed (errno err), for the log. */
static void
ctx_error(const redisContext *c, int err, const char *what, char *why,
    size_t wlen)
{
	if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT)
		snprintf(why, wlen, "%s: no reply within %u ms", what,
		    timeout_ms);
	else
		snprintf(why, wlen, "%s: %s", what, c->errstr);
}

static void
set_up(bool up, const char *why)
{
	char port[16];

	if (atomic_exchange(&store_up, up) == up)
		return;		/* log transitions only */
	snprintf(port, sizeof(port), "%u", spec.port);
	if (up)
		av_log(AV_LOG_INFO, "nonce_store_up", "host", spec.host,
		    "port", port, NULL);
	else
		av_log(AV_LOG_ERROR, "nonce_store_down", "host", spec.host,
		    "port", port, "error", why, NULL);
}

/* Connect, authenticate and select the database.  NULL after logging. */
static redisContext *
r_connect(char *why, size_t wlen)
{
	struct timeval	 tv;
	redisContext	*c;
	redisReply	*r = NULL;
	const char	*argv[3];
	size_t		 argl[3];
	char		 db[16];
	int		 argc = 0;

	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	c = redisConnectWithTimeout(spec.host, (int)spec.port, tv);
	if (c == NULL || c->err != 0) {
		snprintf(why, wlen, "connect: %s", c ? c->errstr :
		    "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(why, wlen, "cannot set the command timeout");
		goto fail;
	}
	(void)redisEnableKeepAlive(c);
	if (have_password) {
		argv[argc] = "AUTH";
		argl[argc++] = 4;
		if (spec.user[0] != '\0') {
			argv[argc] = spec.user;
			argl[argc] = strlen(spec.user);
			argc++;
		}
		argv[argc] = password;
		argl[argc] = strlen(password);
		argc++;
		r = redisCommandArgv(c, argc, argv, argl);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, wlen, "AUTH: %s", r ? r->str :
			    c->errstr);
			goto fail;
		}
		freeReplyObject(r);
		r = NULL;
	}
	if (spec.db != 0) {
		snprintf(db, sizeof(db), "%u", spec.db);
		r = redisCommand(c, "SELECT %s", db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, wlen, "SELECT: %s", r ? r->str :
			    c->errstr);
			goto fail;
		}
		freeReplyObject(r);
		r = NULL;
	}
	/* A server that wants AUTH answers NOAUTH here: a failed connect. */
	errno = 0;
	if ((r = redisCommand(c, "PING")) == NULL) {
		ctx_error(c, errno, "PING", why, wlen);
		goto fail;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, wlen, "PING: %s", r->str);
		goto fail;
	}
	freeReplyObject(r);
	return c;
 fail:
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/*
 * A connection for this thread: an idle one (*reused), or a new one
 * while fewer than pool_max are open, waiting up to the timeout for one
 * to come back otherwise.  NULL when none can be had.
 */
static redisContext *
pool_get(bool *reused, char *why, size_t wlen)
{
	struct timespec	 dl;
	redisContext	*c;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&pool_mtx);
	while (nidle == 0 && nopen >= pool_max)
		if (pthread_cond_timedwait(&pool_cv, &pool_mtx, &dl) ==
		    ETIMEDOUT && nidle == 0 && nopen >= pool_max) {
			pthread_mutex_unlock(&pool_mtx);
			snprintf(why, wlen, "no free connection (pool of %u)",
			    pool_max);
			return NULL;
		}
	if (nidle > 0) {
		c = idle[--nidle];
		pthread_mutex_unlock(&pool_mtx);
		*reused = true;
		return c;
	}
	if (mono_now_ms() < down_until_ms) {
		pthread_mutex_unlock(&pool_mtx);
		snprintf(why, wlen, "down (retrying shortly)");
		return NULL;
	}
	nopen++;
	pthread_mutex_unlock(&pool_mtx);

	*reused = false;
	if ((c = r_connect(why, wlen)) == NULL) {
		pthread_mutex_lock(&pool_mtx);
		nopen--;
		down_until_ms = mono_now_ms() + (int64_t)(BACKOFF_S * 1000);
		pthread_cond_signal(&pool_cv);
		pthread_mutex_unlock(&pool_mtx);
	}
	return c;
}

/* Give c back; a broken one is freed with every idle one. */
static void
pool_put(redisContext *c, bool broken)
{
	redisContext	*stale[64];
	size_t		 nstale = 0;

	pthread_mutex_lock(&pool_mtx);
	if (!broken && c->err == 0 && nidle < pool_max) {
		idle[nidle++] = c;
		c = NULL;
	} else {
		nopen--;
		if (broken)
			while (nidle > 0 && nstale < 64) {
				stale[nstale++] = idle[--nidle];
				nopen--;
			}
	}
	pthread_cond_broadcast(&pool_cv);
	pthread_mutex_unlock(&pool_mtx);
	if (c != NULL)
		redisFree(c);
	for (size_t i = 0; i < nstale; i++)
		redisFree(stale[i]);
}

/*
 * Run one command on a pooled connection.  A reused connection that
 * fails with an I/O error other than a timeout (stale after a Redis
 * restart) is retried once on a fresh one.  Returns the reply (the
 * caller frees it; it may be an error reply) or NULL (store down).
 */
static redisReply *
r_exec(int argc, const char **argv, const size_t *argl)
{
	redisContext	*c;
	redisReply	*r;
	char		 why[256];
	bool		 reused;
	int		 tries = 0, err;

	for (;;) {
		if ((c = pool_get(&reused, why, sizeof(why))) == NULL)
			break;
		errno = 0;
		r = redisCommandArgv(c, argc, argv, argl);
		err = errno;
		if (r != NULL) {
			pool_put(c, false);
			set_up(true, NULL);
			return r;
		}
		ctx_error(c, err, argv[0], why, sizeof(why));
		pool_put(c, true);
		if (!reused || tries++ > 0 || err == EAGAIN ||
		    err == EWOULDBLOCK || err == ETIMEDOUT)
			break;
	}
	set_up(false, why);
	return NULL;
}

static void
nonce_key(const uint8_t *nonce, char *key, size_t klen)
{
	static const char	 hx[] = "0123456789abcdef";
	uint8_t			 h[32];
	size_t			 n = strlen(prefix);

	av_sha256(nonce, 32, h);
	memcpy(key, prefix, n);
	for (size_t i = 0; i < sizeof(h) && n + 2 < klen; i++) {
		key[n++] = hx[h[i] >> 4];
		key[n++] = hx[h[i] & 15];
	}
	key[n] = '\0';
}

static enum avd_nonce_state
r_issue(int64_t now, uint8_t out[32], int64_t *expires_at)
{
	char		 key[MAX_PREFIX + 65], val[32], ex[32];
	const char	*argv[6];
	size_t		 argl[6];
	redisReply	*r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (RAND_bytes(out, 32) != 1)
			return AVD_NONCE_FULL;
		nonce_key(out, key, sizeof(key));
		snprintf(val, sizeof(val), "%lld 0", (long long)(now + ttl));
		snprintf(ex, sizeof(ex), "%lld", (long long)(ttl + retain));
		argv[0] = "SET";
		argv[1] = key;
		argv[2] = val;
		argv[3] = "NX";
		argv[4] = "EX";
		argv[5] = ex;
		for (int i = 0; i < 6; i++)
			argl[i] = strlen(argv[i]);
		if ((r = r_exec(6, argv, argl)) == NULL)
			return AVD_NONCE_UNAVAILABLE;
		if (r->type == REDIS_REPLY_STATUS) {
			freeReplyObject(r);
			*expires_at = now + ttl;
			return AVD_NONCE_OK;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			/* e.g. OOM under maxmemory noeviction */
			av_log(AV_LOG_ERROR, "nonce_store_error", "command",
			    "SET", "error", r->str, NULL);
			freeReplyObject(r);
			return AVD_NONCE_UNAVAILABLE;
		}
		freeReplyObject(r);	/* nil: the key exists; new bytes */
	}
	return AVD_NONCE_UNAVAILABLE;
}

static enum avd_nonce_state
r_consume(const uint8_t *p, int64_t now)
{
	char		 key[MAX_PREFIX + 65], nowb[32];
	const char	*argv[5];
	size_t		 argl[5];
	redisReply	*r;
	long long	 v;

	nonce_key(p, key, sizeof(key));
	snprintf(nowb, sizeof(nowb), "%lld", (long long)now);
	argv[0] = "EVAL";
	argv[1] = consume_lua;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = nowb;
	for (int i = 0; i < 5; i++)
		argl[i] = strlen(argv[i]);
	if ((r = r_exec(5, argv, argl)) == NULL)
		return AVD_NONCE_UNAVAILABLE;
	if (r->type != REDIS_REPLY_INTEGER) {
		av_log(AV_LOG_ERROR, "nonce_store_error", "command", "EVAL",
		    "error", r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply", NULL);
		freeReplyObject(r);
		return AVD_NONCE_UNAVAILABLE;
	}
	v = r->integer;
	freeReplyObject(r);
	switch (v) {
	case 0:
		return AVD_NONCE_UNKNOWN;
	case 1:
		return AVD_NONCE_OK;
	case 2:
		return AVD_NONCE_USED;
	case 3:
		return AVD_NONCE_EXPIRED;
	default:
		av_log(AV_LOG_ERROR, "nonce_store_error", "key", key,
		    "error", "the value is not attestd's", NULL);
		return AVD_NONCE_UNAVAILABLE;
	}
}

static bool
r_ping(void)
{
	const char	*argv[1] = { "PING" };
	size_t		 argl[1] = { 4 };
	redisReply	*r;
	bool		 ok;

	if ((r = r_exec(1, argv, argl)) == NULL)
		return false;
	ok = r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	return ok;
}

static int
r_start(void)
{
	char port[16];

	if ((idle = calloc(pool_max, sizeof(*idle))) == NULL)
		return -1;
	nidle = nopen = 0;
	down_until_ms = 0;
	snprintf(port, sizeof(port), "%u", spec.port);
	if (!r_ping())
		av_log(AV_LOG_WARN, "nonce_store_unreachable", "host",
		    spec.host, "port", port, "advice", "challenges and nonce "
		    "checks answer 503 until Redis answers", NULL);
	else
		av_log(AV_LOG_INFO, "nonce_store", "kind", "redis", "host",
		    spec.host, "port", port, NULL);
	return 0;
}

static void
r_stop(void)
{
	pthread_mutex_lock(&pool_mtx);
	while (nidle > 0) {
		redisFree(idle[--nidle]);
		nopen--;
	}
	free(idle);
	idle = NULL;
	pthread_mutex_unlock(&pool_mtx);
}

#else	/* !AVD_HAVE_HIREDIS: avd_nonce_configure() refuses redis */

static enum avd_nonce_state
r_issue(int64_t now, uint8_t out[32], int64_t *expires_at)
{
	(void)now;
	(void)out;
	(void)expires_at;
	return AVD_NONCE_UNAVAILABLE;
}

static enum avd_nonce_state
r_consume(const uint8_t *p, int64_t now)
{
	(void)p;
	(void)now;
	return AVD_NONCE_UNAVAILABLE;
}

static bool
r_ping(void)
{
	return false;
}

static int
r_start(void)
{
	return -1;
}

static void
r_stop(void)
{
}

#endif

/* ---- the front --------------------------------------------------------- */

/*
 * Start the store configured by avd_nonce_configure().  Redis being
 * unreachable is not a failure (it is logged; calls answer UNAVAILABLE
 * until it comes back).  Returns 0 or -1.
 */
int
avd_nonce_start(void)
{
	int rc;

	if (spec.kind == AVD_NSTORE_REDIS)
		rc = r_start();
	else
		rc = avd_nmem_init(mem_max, ttl);
	started = rc == 0;
	return rc;
}

/* Close connections and free the store (at exit). */
void
avd_nonce_stop(void)
{
	if (!started)
		return;
	if (spec.kind == AVD_NSTORE_REDIS)
		r_stop();
	else
		avd_nmem_free();
	OPENSSL_cleanse(password, sizeof(password));
	have_password = false;
	started = false;
}

/*
 * Issue a fresh 32-byte nonce at time now (unix s).  Returns
 * AVD_NONCE_OK with out and *expires_at (now + the lifetime), FULL (the
 * memory store is full of live nonces, or no randomness) or UNAVAILABLE
 * (Redis cannot be reached).
 */
enum avd_nonce_state
avd_nonce_issue(int64_t now, uint8_t out[32], int64_t *expires_at)
{
	enum avd_nonce_state st;

	if (!started)
		return AVD_NONCE_UNAVAILABLE;
	if (spec.kind == AVD_NSTORE_REDIS)
		st = r_issue(now, out, expires_at);
	else
		st = avd_nmem_issue(now, out, expires_at);
	if (st == AVD_NONCE_OK)
		atomic_fetch_add(&n_issued, 1);
	return st;
}

/*
 * Consume a nonce at time now: OK once, then USED; EXPIRED past its
 * lifetime; UNKNOWN if no replica issued it (or it was forgotten long
 * after expiry; anything not 32 bytes long is never looked up);
 * UNAVAILABLE when the store cannot answer.
 */
enum avd_nonce_state
avd_nonce_consume(const uint8_t *p, size_t n, int64_t now)
{
	enum avd_nonce_state st;

	if (n != 32)
		st = AVD_NONCE_UNKNOWN;
	else if (!started)
		st = AVD_NONCE_UNAVAILABLE;
	else if (spec.kind == AVD_NSTORE_REDIS)
		st = r_consume(p, now);
	else
		st = avd_nmem_consume(p, n, now);
	switch (st) {
	case AVD_NONCE_OK:
		atomic_fetch_add(&n_ok, 1);
		break;
	case AVD_NONCE_USED:
		atomic_fetch_add(&n_used, 1);
		break;
	case AVD_NONCE_EXPIRED:
		atomic_fetch_add(&n_expired, 1);
		break;
	case AVD_NONCE_UNKNOWN:
		atomic_fetch_add(&n_unknown, 1);
		break;
	case AVD_NONCE_FULL:
	case AVD_NONCE_UNAVAILABLE:
	default:
		atomic_fetch_add(&n_unavailable, 1);
		break;
	}
	return st;
}

/* Whether the store answers (memory: always; Redis: a PING). */
bool
avd_nonce_ready(void)
{
	if (!started)
		return false;
	if (spec.kind == AVD_NSTORE_REDIS)
		return r_ping();
	return true;
}

/* This process's counters; the outstanding gauge for memory only. */
void
avd_nonce_stats(int64_t now, struct avd_nonce_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = avd_nonce_store_kind();
	s->issued = atomic_load(&n_issued);
	s->ok = atomic_load(&n_ok);
	s->used = atomic_load(&n_used);
	s->expired = atomic_load(&n_expired);
	s->unknown = atomic_load(&n_unknown);
	s->unavailable = atomic_load(&n_unavailable);
	s->up = spec.kind == AVD_NSTORE_MEMORY || atomic_load(&store_up);
	if (spec.kind == AVD_NSTORE_MEMORY && started) {
		s->has_outstanding = true;
		s->outstanding = avd_nmem_outstanding(now);
	}
}
