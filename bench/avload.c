/*
 * avload - a small closed-loop HTTP/1.1 load generator for the attestd
 * benchmark: C clients, each on its own keep-alive connection, POST
 * request bodies (one per line of a file, round robin) for a fixed time
 * and report throughput and latency percentiles as one JSON line.
 *
 *   avload -p PORT [-H HOST] [-c CLIENTS] [-d SECONDS] [-w WARMUP_S]
 *          [-P PATH] [-t CONTENT_TYPE] [-e EXPECT] [-1] BODIES
 *
 * EXPECT: a substring every response body must contain (else an error).
 * -1: one request per connection ("Connection: close"; the latency then
 * includes connecting), instead of keep-alive.
 * Loopback only by intent: it does no TLS and no name resolution.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct body {
	char	*req;		/* full HTTP request (owned) */
	size_t	 len;
};

static struct body	*bodies;
static size_t		 nbodies;
static const char	*host = "127.0.0.1", *path = "/v1/attest";
static const char	*ctype = "application/json", *expect;
static int		 port;
static double		 t_start, t_measure, t_end;
static atomic_ulong	 wrapped;
static bool		 one_shot;	/* -1: a connection per request */

struct client {
	pthread_t	 th;
	int		 id;
	double		*lat;		/* seconds, measured requests only */
	size_t		 nlat, cap;
	unsigned long	 errors, reconnects, done_total;
	char		*buf;
	size_t		 bufcap;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dial(void)
{
	struct sockaddr_in	sa;
	int			fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Case-insensitive strstr (ASCII). */
static char *
ci_find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return (char *)hay;
	return NULL;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Read one response (Content-Length framed).  Returns the status code
 * and sets *keep (server keeps the connection), or -1.
 */
static int
read_response(struct client *c, int fd, bool *keep)
{
	size_t	 have = 0, need = 0, hdr_end = 0;
	int	 status = -1;
	char	*p;

	*keep = true;
	for (;;) {
		if (have + 4096 + 1 > c->bufcap) {
			c->bufcap = c->bufcap ? c->bufcap * 2 : 65536;
			if ((p = realloc(c->buf, c->bufcap)) == NULL)
				return -1;
			c->buf = p;
		}
		ssize_t r = recv(fd, c->buf + have, c->bufcap - have - 1, 0);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		have += (size_t)r;
		c->buf[have] = '\0';
		if (hdr_end == 0 && (p = strstr(c->buf, "\r\n\r\n")) != NULL) {
			char *cl;

			hdr_end = (size_t)(p - c->buf) + 4;
			if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
				return -1;
			c->buf[hdr_end - 2] = '\0';
			if ((cl = ci_find(c->buf, "\r\ncontent-length:")) ==
			    NULL)
				return -1;
			need = hdr_end + strtoul(cl + 17, NULL, 10);
			if (ci_find(c->buf, "\r\nconnection: close") != NULL)
				*keep = false;
			c->buf[hdr_end - 2] = '\r';
		}
		if (hdr_end != 0 && have >= need) {
			c->buf[need] = '\0';
			if (expect != NULL && strstr(c->buf + hdr_end, expect) ==
			    NULL)
				return 0;	/* counted as an error */
			return status;
		}
	}
}

static void *
client_main(void *arg)
{
	struct client	*c = arg;
	size_t		 i = (size_t)c->id * 7919;
	int		 fd = -1, st;
	bool		 keep;
	double		 t0, t1;

	while ((t0 = now()) < t_end) {
		const struct body *b = &bodies[i % nbodies];

		if (++i % nbodies == 0)
			atomic_fetch_add(&wrapped, 1);
		if (fd == -1 && (fd = dial()) == -1) {
			c->errors++;
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
			continue;
		}
		if (send_all(fd, b->req, b->len) == -1 ||
		    (st = read_response(c, fd, &keep)) == -1) {
			close(fd);
			fd = -1;
			c->reconnects++;
			c->errors++;
			continue;
		}
		t1 = now();
		c->done_total++;
		if (st != 200)
			c->errors += t0 >= t_measure;
		else if (t0 >= t_measure && t1 <= t_end) {
			if (c->nlat == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 4096;
				c->lat = realloc(c->lat, c->cap * sizeof(*c->lat));
				if (c->lat == NULL)
					exit(70);
			}
			c->lat[c->nlat++] = t1 - t0;
		}
		if (!keep || one_shot) {
			close(fd);
			fd = -1;
		}
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
load_bodies(const char *file)
{
	FILE	*f;
	char	*line = NULL, hdr[512];
	size_t	 cap = 0, bcap = 0;
	ssize_t	 n;

	if ((f = fopen(file, "r")) == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (nbodies == bcap) {
			bcap = bcap ? bcap * 2 : 64;
			if ((bodies = realloc(bodies, bcap * sizeof(*bodies))) ==
			    NULL)
				return -1;
		}
		int h = snprintf(hdr, sizeof(hdr), "POST %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\nContent-Type: %s\r\n%s"
		    "Content-Length: %zd\r\n\r\n", path, host, port, ctype,
		    one_shot ? "Connection: close\r\n" : "", n);
		struct body *b = &bodies[nbodies++];
		b->len = (size_t)h + (size_t)n;
		if ((b->req = malloc(b->len)) == NULL)
			return -1;
		memcpy(b->req, hdr, (size_t)h);
		memcpy(b->req + h, line, (size_t)n);
	}
	free(line);
	fclose(f);
	return nbodies > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct client	*cl;
	double		 dur = 5, warm = 1, *all, secs;
	size_t		 nall = 0, k;
	unsigned long	 errors = 0, total = 0;
	int		 nc = 1, ch;

	while ((ch = getopt(argc, argv, "H:p:c:d:w:P:t:e:1")) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': nc = atoi(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'P': path = optarg; break;
		case 't': ctype = optarg; break;
		case 'e': expect = optarg; break;
		case '1': one_shot = true; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || port <= 0 || nc < 1 || nc > 1024 ||
	    dur <= 0)
		goto usage;
	if (load_bodies(argv[optind]) == -1) {
		fprintf(stderr, "avload: cannot read bodies from %s\n",
		    argv[optind]);
		return 66;
	}
	if ((cl = calloc((size_t)nc, sizeof(*cl))) == NULL)
		return 70;
	t_start = now();
	t_measure = t_start + warm;
	t_end = t_measure + dur;
	for (int i = 0; i < nc; i++) {
		cl[i].id = i;
		if (pthread_create(&cl[i].th, NULL, client_main, &cl[i]) != 0)
			return 70;
	}
	for (int i = 0; i < nc; i++) {
		pthread_join(cl[i].th, NULL);
		nall += cl[i].nlat;
		errors += cl[i].errors;
		total += cl[i].done_total;
	}
	if ((all = malloc((nall ? nall : 1) * sizeof(*all))) == NULL)
		return 70;
	k = 0;
	for (int i = 0; i < nc; i++) {
		memcpy(all + k, cl[i].lat, cl[i].nlat * sizeof(*all));
		k += cl[i].nlat;
	}
	qsort(all, nall, sizeof(*all), cmp_double);
	secs = dur;
#define PCT(p)	(nall ? all[(size_t)((double)(nall - 1) * (p))] * 1e3 : 0.0)
	printf("{\"clients\": %d, \"seconds\": %.2f, \"requests\": %zu, "
	    "\"rps\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
	    "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"errors\": %lu, "
	    "\"bodies\": %zu, \"wrapped\": %lu, \"total_incl_warmup\": %lu}\n",
	    nc, secs, nall, (double)nall / secs, PCT(0.50), PCT(0.90),
	    PCT(0.99), nall ? all[nall - 1] * 1e3 : 0.0, errors, nbodies,
	    (unsigned long)atomic_load(&wrapped), total);
	return errors == 0 ? 0 : 1;
 usage:
	fprintf(stderr, "usage: avload -p PORT [-H HOST] [-c CLIENTS] "
	    "[-d SECONDS] [-w WARMUP_S] [-P PATH] [-t CONTENT_TYPE] "
	    "[-e EXPECT] [-1] BODIES\n");
	return 64;
}
