/*
 * Unit tests for attestd's challenge nonce store (src/attestd/noncestore.c
 * and challenge.c): --nonce-store parsing (good and hostile values), the
 * companion settings, the memory store's single use / expiry / capacity
 * through the front, and, when redis-server is installed, the Redis store
 * used from eight threads at once (one winner per nonce) on a Redis
 * started here on a free loopback port (never 6379).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attestd/noncestore.h"

/* ---- parsing ------------------------------------------------------------ */

static void
test_parse_good(void **state)
{
	static const struct {
		const char	*in;
		int		 kind;
		const char	*host, *user;
		unsigned	 port, db;
	} cases[] = {
		{ "memory", AVD_NSTORE_MEMORY, "", "", 0, 0 },
		{ "redis://cache", AVD_NSTORE_REDIS, "cache", "", 6379, 0 },
		{ "redis://cache/", AVD_NSTORE_REDIS, "cache", "", 6379, 0 },
		{ "redis://10.0.0.5:7000/3", AVD_NSTORE_REDIS, "10.0.0.5", "",
		  7000, 3 },
		{ "redis://[::1]:6380/15", AVD_NSTORE_REDIS, "::1", "", 6380,
		  15 },
		{ "redis://attestd@redis.internal:1/0", AVD_NSTORE_REDIS,
		  "redis.internal", "attestd", 1, 0 },
		{ "redis://h:65535/65535", AVD_NSTORE_REDIS, "h", "", 65535,
		  65535 },
	};
	struct avd_nstore_spec	 sp;
	const char		*why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		memset(&sp, 0xa5, sizeof(sp));
		assert_int_equal(avd_nstore_parse(cases[i].in, &sp, &why), 0);
		assert_null(why);
		assert_int_equal(sp.kind, cases[i].kind);
		if (cases[i].kind == AVD_NSTORE_MEMORY)
			continue;
		assert_string_equal(sp.host, cases[i].host);
		assert_string_equal(sp.user, cases[i].user);
		assert_int_equal(sp.port, cases[i].port);
		assert_int_equal(sp.db, cases[i].db);
	}
	/* NULL (unset) is the default store */
	assert_int_equal(avd_nstore_parse(NULL, &sp, &why), 0);
	assert_int_equal(sp.kind, AVD_NSTORE_MEMORY);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "redis://user:secret@h:6379/0", "a password in the URL" },
		{ "redis://:secret@h", "a password in the URL" },
		{ "rediss://h:6380", "TLS" },
		{ "redis://", "missing or overlong host" },
		{ "redis://:6379", "missing or overlong host" },
		{ "redis://@h", "bad user name" },
		{ "redis://us er@h", "bad user name" },
		{ "redis://h:0", "port must be 1-65535" },
		{ "redis://h:65536", "port must be 1-65535" },
		{ "redis://h:", "port must be 1-65535" },
		{ "redis://h:12x", "port must be 1-65535" },
		{ "redis://h:99999999999999999999", "port must be 1-65535" },
		{ "redis://h/db1", "database number" },
		{ "redis://h/65536", "database number" },
		{ "redis://h/-1", "database number" },
		{ "redis://h/1?db=2", "no query" },
		{ "redis://h#x", "no query" },
		{ "redis://[::1", "unterminated" },
		{ "redis://[::1]x:1", "bad host" },
		{ "redis://[zz%]:1", "bad IPv6 address" },
		{ "redis://h x", "bad host" },
		{ "redis://h\n", "bad host" },
		{ "Memory", "expected \"memory\"" },
		{ "", "expected \"memory\"" },
		{ "http://h", "expected \"memory\"" },
		{ "unix:///run/redis.sock", "expected \"memory\"" },
	};
	struct avd_nstore_spec	 sp, before;
	const char		*why;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		sp = before;
		if (avd_nstore_parse(cases[i].in, &sp, &why) != -1)
			fail_msg("accepted %s", cases[i].in);
		assert_non_null(why);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("%s: reason \"%s\", want \"%s\"", cases[i].in,
			    why, cases[i].why);
		/* nothing written on failure */
		assert_memory_equal(&sp, &before, sizeof(sp));
	}
}

static void
test_parse_long_host(void **state)
{
	struct avd_nstore_spec	 sp;
	const char		*why = NULL;
	char			 s[400];

	(void)state;
	memcpy(s, "redis://", 8);
	memset(s + 8, 'a', 300);
	s[308] = '\0';
	assert_int_equal(avd_nstore_parse(s, &sp, &why), -1);
	assert_non_null(strstr(why, "overlong"));
	memset(s + 8, 'a', 255);
	s[8 + 255] = '\0';
	assert_int_equal(avd_nstore_parse(s, &sp, &why), 0);
	assert_int_equal(strlen(sp.host), 255);
}

/* ---- companion settings ------------------------------------------------- */

static void
opts_init(struct avd_opts *o, const char *store)
{
	memset(o, 0, sizeof(*o));
	o->nonce_store = (char *)store;
	o->nonce_store_prefix = (char *)"attestd:nonce:";
	o->nonce_ttl_s = 120;
	o->max_nonces = 100;
	o->nonce_store_timeout_ms = 500;
	o->nonce_store_pool = 4;
}

static void
test_configure(void **state)
{
	struct avd_opts	 o;
	char		 pw[] = "/tmp/av-noncestore-pw-XXXXXX";
	int		 fd;

	(void)state;
	unsetenv("ATTESTD_NONCE_STORE_PASSWORD");
	opts_init(&o, "memory");
	assert_int_equal(avd_nonce_configure(&o), 0);
	assert_string_equal(avd_nonce_store_kind(), "memory");
	opts_init(&o, "redis://u:p@h");
	assert_int_equal(avd_nonce_configure(&o), -1);
	if (!avd_nstore_redis_built()) {
		opts_init(&o, "redis://127.0.0.1:6380/0");
		assert_int_equal(avd_nonce_configure(&o), -1);
		return;
	}
	opts_init(&o, "redis://127.0.0.1:6380/0");
	assert_int_equal(avd_nonce_configure(&o), 0);
	assert_string_equal(avd_nonce_store_kind(), "redis");
	o.nonce_store_prefix = (char *)"has space:";
	assert_int_equal(avd_nonce_configure(&o), -1);
	o.nonce_store_prefix = (char *)"";
	assert_int_equal(avd_nonce_configure(&o), -1);
	o.nonce_store_prefix = NULL;
	assert_int_equal(avd_nonce_configure(&o), -1);
	/* a user needs a password, which comes from a file or the env */
	opts_init(&o, "redis://ops@127.0.0.1:6380/0");
	assert_int_equal(avd_nonce_configure(&o), -1);
	setenv("ATTESTD_NONCE_STORE_PASSWORD", "from-env", 1);
	assert_int_equal(avd_nonce_configure(&o), 0);
	unsetenv("ATTESTD_NONCE_STORE_PASSWORD");
	o.nonce_store_password_file = (char *)"/nonexistent/pw";
	assert_int_equal(avd_nonce_configure(&o), -1);
	assert_true((fd = mkstemp(pw)) != -1);
	assert_int_equal(write(fd, "\n", 1), 1);
	o.nonce_store_password_file = pw;
	assert_int_equal(avd_nonce_configure(&o), -1);	/* empty line */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "s3cret\n", 7, 0), 7);
	close(fd);
	assert_int_equal(avd_nonce_configure(&o), 0);
	unlink(pw);
}

/* ---- the memory store through the front --------------------------------- */

static void
test_memory_store(void **state)
{
	struct avd_nonce_stats	 st;
	struct avd_opts		 o;
	uint8_t			 a[32], b[32], c[32], other[32];
	int64_t			 exp;

	(void)state;
	opts_init(&o, "memory");
	o.nonce_ttl_s = 2;
	o.max_nonces = 2;
	assert_int_equal(avd_nonce_configure(&o), 0);
	assert_int_equal(avd_nonce_issue(1000, a, &exp),
	    AVD_NONCE_UNAVAILABLE);		/* not started */
	assert_int_equal(avd_nonce_start(), 0);
	assert_true(avd_nonce_ready());
	assert_int_equal(avd_nonce_issue(1000, a, &exp), AVD_NONCE_OK);
	assert_int_equal(exp, 1002);
	assert_int_equal(avd_nonce_issue(1000, b, &exp), AVD_NONCE_OK);
	assert_memory_not_equal(a, b, 32);
	/* capacity 2, none expired: full */
	assert_int_equal(avd_nonce_issue(1000, c, &exp), AVD_NONCE_FULL);
	assert_int_equal(avd_nonce_consume(a, 32, 1002), AVD_NONCE_OK);
	assert_int_equal(avd_nonce_consume(a, 32, 1002), AVD_NONCE_USED);
	assert_int_equal(avd_nonce_consume(b, 32, 1003), AVD_NONCE_EXPIRED);
	assert_int_equal(avd_nonce_consume(b, 32, 1003), AVD_NONCE_EXPIRED);
	assert_int_equal(avd_nonce_consume(a, 31, 1002), AVD_NONCE_UNKNOWN);
	memset(other, 7, sizeof(other));
	assert_int_equal(avd_nonce_consume(other, 32, 1002),
	    AVD_NONCE_UNKNOWN);
	/* an expired entry makes room */
	assert_int_equal(avd_nonce_issue(1003, c, &exp), AVD_NONCE_OK);
	avd_nonce_stats(1003, &st);
	assert_string_equal(st.kind, "memory");
	assert_true(st.up);
	assert_true(st.has_outstanding);
	assert_int_equal(st.outstanding, 1);
	assert_true(st.issued >= 3 && st.ok >= 1 && st.used >= 1 &&
	    st.expired >= 2 && st.unknown >= 2);
	avd_nonce_stop();
	assert_int_equal(avd_nonce_consume(c, 32, 1003),
	    AVD_NONCE_UNAVAILABLE);
}

/* ---- Redis, from many threads ------------------------------------------- */

#define NTHREADS	8
#define PER_THREAD	60

static uint8_t		 shared_nonce[32];
static atomic_int	 winners, bad;

static void *
redis_worker(void *arg)
{
	uint8_t	 n[32];
	int64_t	 now = (int64_t)time(NULL), exp;

	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		if (avd_nonce_issue(now, n, &exp) != AVD_NONCE_OK ||
		    exp != now + 120 ||
		    avd_nonce_consume(n, 32, now) != AVD_NONCE_OK ||
		    avd_nonce_consume(n, 32, now) != AVD_NONCE_USED ||
		    avd_nonce_consume(n, 32, now + 121) != AVD_NONCE_USED)
			atomic_fetch_add(&bad, 1);
	}
	if (avd_nonce_consume(shared_nonce, 32, now) == AVD_NONCE_OK)
		atomic_fetch_add(&winners, 1);
	return NULL;
}

static unsigned
free_port(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 sl = sizeof(sa);
	unsigned		 port = 0;
	int			 fd;

	do {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return 0;
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
			port = ntohs(sa.sin_port);
		close(fd);
	} while (port == 6379);
	return port;
}

static void
test_redis_threads(void **state)
{
	struct avd_nonce_stats	 st;
	struct avd_opts		 o;
	pthread_t		 th[NTHREADS];
	char			 port[16], url[64], prefix[48];
	pid_t			 pid;
	int64_t			 exp, now = (int64_t)time(NULL);
	int			 i, status;

	(void)state;
	if (!avd_nstore_redis_built())
		skip();
	if (access("/usr/bin/redis-server", X_OK) != 0) {
		fprintf(stderr, "skipped: redis-server not installed\n");
		skip();
	}
	snprintf(port, sizeof(port), "%u", free_port());
	if ((pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execl("/usr/bin/redis-server", "redis-server", "--port", port,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--daemonize", "no", "--dir", "/tmp", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%s/1", port);
	snprintf(prefix, sizeof(prefix), "unit:%ld:", (long)getpid());
	opts_init(&o, url);
	o.nonce_store_prefix = prefix;
	o.nonce_store_pool = 3;		/* fewer than the threads: they wait */
	assert_int_equal(avd_nonce_configure(&o), 0);
	assert_int_equal(avd_nonce_start(), 0);
	for (i = 0; i < 200 && !avd_nonce_ready(); i++)
		usleep(50 * 1000);
	assert_true(avd_nonce_ready());

	assert_int_equal(avd_nonce_issue(now, shared_nonce, &exp),
	    AVD_NONCE_OK);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, redis_worker,
		    NULL), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&bad), 0);
	assert_int_equal(atomic_load(&winners), 1);
	avd_nonce_stats(now, &st);
	assert_string_equal(st.kind, "redis");
	assert_false(st.has_outstanding);
	assert_true(st.up);

	/* expiry decided by the issuer's clock stored in the value */
	assert_int_equal(avd_nonce_issue(now, shared_nonce, &exp),
	    AVD_NONCE_OK);
	assert_int_equal(avd_nonce_consume(shared_nonce, 32, now + 121),
	    AVD_NONCE_EXPIRED);
	assert_int_equal(avd_nonce_consume(shared_nonce, 32, now + 121),
	    AVD_NONCE_EXPIRED);

	/* Redis gone: every call is UNAVAILABLE, never OK or UNKNOWN */
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	assert_int_equal(avd_nonce_issue(now, shared_nonce, &exp),
	    AVD_NONCE_UNAVAILABLE);
	assert_int_equal(avd_nonce_consume(shared_nonce, 32, now),
	    AVD_NONCE_UNAVAILABLE);
	assert_false(avd_nonce_ready());
	avd_nonce_stats(now, &st);
	assert_false(st.up);
	avd_nonce_stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_long_host),
		cmocka_unit_test(test_configure),
		cmocka_unit_test(test_memory_store),
		cmocka_unit_test(test_redis_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
