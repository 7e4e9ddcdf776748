/*
 * Helpers for the cmocka unit tests: a failure here fails the running
 * test (cmocka's assert/fail), so only call them from inside a test.
 * Files and folders, policies made from one platform section, and the
 * reasons of a submod.
 */
#ifndef AVT_ASSERT_H
#define AVT_ASSERT_H

#include <stddef.h>

#include <jansson.h>

#include "av/policy.h"
#include "av/result.h"

/* printf into a new string (caller frees). */
char	*avt_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdir -p dir (mode 0755). */
void	 avt_mkdirs(const char *dir);
/* Write n bytes to dir/rel (dir NULL: rel is the path), making folders. */
void	 avt_put(const char *dir, const char *rel, const void *p, size_t n);

/*
 * Compile {"id": "<platform>-test", "version": 1, "evidence":
 * {platform: section}} with "freshness" if not NULL (section and
 * freshness stolen).  Caller frees (av_policy_free()).
 */
struct av_policy *avt_policy(const char *platform, json_t *section,
	    json_t *freshness);

/* The first reason of sm with code (and claim, if not NULL), or NULL. */
json_t	*avt_reason(const struct av_submod *sm, const char *code,
	    const char *claim);
/* The same, failing the test (with the reasons) when there is none. */
json_t	*avt_find_reason(const struct av_submod *sm, const char *code,
	    const char *claim);
/* sm's status is st and, if code != NULL, one of its reasons has code. */
void	 avt_expect(const struct av_submod *sm, enum av_status st,
	    const char *code);
/* sm is contraindicated with exactly one reason, of code. */
void	 avt_expect_only(const struct av_submod *sm, const char *code);

#endif
