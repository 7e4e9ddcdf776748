/*
 * Helpers for the cmocka unit tests (avt_assert.h).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avt_assert.h"

char *
avt_strf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void
avt_mkdirs(const char *dir)
{
	char *s = strdup(dir);

	assert_non_null(s);
	for (char *p = s + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(s, 0755);
			*p = '/';
		}
	(void)mkdir(s, 0755);
	free(s);
}

void
avt_put(const char *dir, const char *rel, const void *p, size_t n)
{
	char	*path, *slash;
	FILE	*f;

	path = dir != NULL ? avt_strf("%s/%s", dir, rel) : avt_strf("%s", rel);
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		avt_mkdirs(path);
		*slash = '/';
	}
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(path);
}

struct av_policy *
avt_policy(const char *platform, json_t *section, json_t *freshness)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*doc;
	char			*id = avt_strf("%s-test", platform);

	doc = json_pack("{s:s, s:i, s:{s:o}}", "id", id, "version", 1,
	    "evidence", platform, section);
	free(id);
	assert_non_null(doc);
	if (freshness != NULL)
		json_object_set_new(doc, "freshness", freshness);
	if (av_policy_compile(doc, &p, &perr) != 0)
		fail_msg("policy: %s: %s", perr.path, perr.reason);
	json_decref(doc);
	return p;
}

json_t *
avt_reason(const struct av_submod *sm, const char *code, const char *claim)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(sm->reasons, i, r) {
		const char *c = json_string_value(json_object_get(r, "claim"));

		if (strcmp(json_string_value(json_object_get(r, "code")),
		    code) != 0)
			continue;
		if (claim == NULL || (c != NULL && strcmp(c, claim) == 0))
			return r;
	}
	return NULL;
}

/* The reasons as text for a failure message (valid until the next call). */
static const char *
reasons_text(const struct av_submod *sm)
{
	static char *last;

	free(last);
	last = json_dumps(sm->reasons, JSON_COMPACT);
	return last != NULL ? last : "?";
}

json_t *
avt_find_reason(const struct av_submod *sm, const char *code,
    const char *claim)
{
	json_t *r;

	if ((r = avt_reason(sm, code, claim)) == NULL)
		fail_msg("no reason %s (claim %s) in %s", code,
		    claim != NULL ? claim : "-", reasons_text(sm));
	return r;
}

void
avt_expect(const struct av_submod *sm, enum av_status st, const char *code)
{
	if (sm->status != st || (code != NULL &&
	    avt_reason(sm, code, NULL) == NULL))
		fail_msg("expected %s with %s, got %s with %s",
		    av_status_str(st), code != NULL ? code : "-",
		    av_status_str(sm->status), reasons_text(sm));
}

void
avt_expect_only(const struct av_submod *sm, const char *code)
{
	if (json_array_size(sm->reasons) != 1 ||
	    avt_reason(sm, code, NULL) == NULL)
		fail_msg("expected only %s, got %s", code, reasons_text(sm));
	assert_int_equal(sm->status, AV_STATUS_CONTRAINDICATED);
}
