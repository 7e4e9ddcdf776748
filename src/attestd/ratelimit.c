/*
 * attestd - per-address request rate limit (token bucket): rate_per_ip
 * requests per second with a burst of twice that; 429 beyond.  The
 * table is bounded: when full, idle entries are evicted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attestd.h"

#define NSLOTS	8192

struct slot {
	char	addr[64];
	double	tokens;
	double	last;		/* monotonic seconds */
};

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct slot	*slots;

static size_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h % NSLOTS);
}

/*
 * Whether remote may make a request at time now.  Open addressing with
 * a short probe; a slot idle long enough to have refilled is reused.
 */
bool
avd_rate_allow(const char *remote, double now)
{
	const struct avd_opts	*o = avd_options;
	struct slot		*s = NULL;
	double			 rate, burst;
	bool			 ok;
	size_t			 h;

	if (o == NULL || o->rate_per_ip == 0 || remote == NULL)
		return true;
	rate = (double)o->rate_per_ip;
	burst = 2 * rate;
	pthread_mutex_lock(&mtx);
	if (slots == NULL && (slots = calloc(NSLOTS, sizeof(*slots))) == NULL) {
		pthread_mutex_unlock(&mtx);
		return true;
	}
	h = hash(remote);
	for (size_t i = 0; i < 16; i++) {
		struct slot *c = &slots[(h + i) % NSLOTS];

		if (strcmp(c->addr, remote) == 0) {
			s = c;
			break;
		}
		if (s == NULL && (c->addr[0] == '\0' ||
		    (now - c->last) * rate >= burst))
			s = c;	/* free, or idle and full again: reusable */
	}
	if (s == NULL)
		s = &slots[h];	/* all busy: share the home slot */
	if (strcmp(s->addr, remote) != 0) {
		snprintf(s->addr, sizeof(s->addr), "%s", remote);
		s->tokens = burst;
		s->last = now;
	}
	s->tokens += (now - s->last) * rate;
	if (s->tokens > burst)
		s->tokens = burst;
	s->last = now;
	ok = s->tokens >= 1.0;
	if (ok)
		s->tokens -= 1.0;
	pthread_mutex_unlock(&mtx);
	return ok;
}
