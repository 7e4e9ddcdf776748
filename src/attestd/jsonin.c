/*
 * attestd - a fast path for parsing request bodies (RFC 8259 JSON).
 *
 * jansson's lexer handles a string byte by byte through its stream and
 * UTF-8 layers and then copies it again; a request body is mostly one
 * long base64 string (the evidence), so that was the largest cost of a
 * verdict after the crypto.  avd_json_load() parses the plain subset of
 * JSON that request bodies are made of -- objects, arrays, strings of
 * printable ASCII without escapes, integers of at most 18 digits, true,
 * false, null -- directly into jansson values.  Anything else (an
 * escape, a byte outside printable ASCII in a string, a fraction or
 * exponent, a long integer, a duplicated key, deep nesting, trailing
 * bytes, and every syntax error) makes it give up, and the whole body
 * goes to json_loadb(JSON_REJECT_DUPLICATES) instead.  So every body is
 * accepted or refused exactly as jansson decides, and an accepted body
 * gives the same values jansson would give.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attestd.h"

/* Beyond this the fast path gives up (jansson's own limit is 2048). */
#define JI_MAX_DEPTH	64

struct ji {
	const char	*p, *end;
};

static void
ji_ws(struct ji *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* A plain string at j->p (the opening quote); *s, *n into the input. */
static int
ji_str(struct ji *j, const char **s, size_t *n)
{
	const char *q;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	for (q = j->p + 1; q < j->end; q++) {
		unsigned char c = (unsigned char)*q;

		if (c == '"')
			break;
		if (c < 0x20 || c >= 0x7f || c == '\\')
			return -1;
	}
	if (q >= j->end)
		return -1;
	*s = j->p + 1;
	*n = (size_t)(q - (j->p + 1));
	j->p = q + 1;
	return 0;
}

static json_t *ji_value(struct ji *, int);

static json_t *
ji_object(struct ji *j, int depth)
{
	json_t		*o, *v;
	const char	*k;
	char		 kb[128], *kp;
	size_t		 kn;
	bool		 heap;

	if ((o = json_object()) == NULL)
		return NULL;
	j->p++;			/* '{' */
	ji_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return o;
	}
	for (;;) {
		ji_ws(j);
		if (ji_str(j, &k, &kn) == -1)
			goto fail;
		ji_ws(j);
		if (j->p >= j->end || *j->p != ':')
			goto fail;
		j->p++;
		if ((v = ji_value(j, depth + 1)) == NULL)
			goto fail;
		/* keys are NUL-terminated for jansson */
		heap = kn >= sizeof(kb);
		if (!heap)
			kp = kb;
		else if ((kp = malloc(kn + 1)) == NULL) {
			json_decref(v);
			goto fail;
		}
		memcpy(kp, k, kn);
		kp[kn] = '\0';
		if (json_object_get(o, kp) != NULL) {	/* duplicate */
			json_decref(v);
			v = NULL;
		} else if (json_object_set_new_nocheck(o, kp, v) == -1)
			v = NULL;	/* set_new took it even on failure */
		if (heap)
			free(kp);
		if (v == NULL)
			goto fail;
		if (kp != kb)
			free(kp);
		ji_ws(j);
		if (j->p >= j->end)
			goto fail;
		if (*j->p == '}') {
			j->p++;
			return o;
		}
		if (*j->p != ',')
			goto fail;
		j->p++;
	}
 fail:
	json_decref(o);
	return NULL;
}

static json_t *
ji_array(struct ji *j, int depth)
{
	json_t *a, *v;

	if ((a = json_array()) == NULL)
		return NULL;
	j->p++;			/* '[' */
	ji_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return a;
	}
	for (;;) {
		if ((v = ji_value(j, depth + 1)) == NULL ||
		    json_array_append_new(a, v) == -1)
			goto fail;
		ji_ws(j);
		if (j->p >= j->end)
			goto fail;
		if (*j->p == ']') {
			j->p++;
			return a;
		}
		if (*j->p != ',')
			goto fail;
		j->p++;
	}
 fail:
	json_decref(a);
	return NULL;
}

/* -?(0|[1-9][0-9]{0,17}) not followed by '.', 'e' or 'E'. */
static json_t *
ji_int(struct ji *j)
{
	const char	*q = j->p;
	bool		 neg = false;
	int64_t		 x = 0;
	int		 nd = 0;

	if (q < j->end && *q == '-') {
		neg = true;
		q++;
	}
	if (q >= j->end || *q < '0' || *q > '9')
		return NULL;
	if (*q == '0' && q + 1 < j->end && q[1] >= '0' && q[1] <= '9')
		return NULL;
	while (q < j->end && *q >= '0' && *q <= '9') {
		if (++nd > 18)
			return NULL;
		x = x * 10 + (*q - '0');
		q++;
	}
	if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E'))
		return NULL;
	j->p = q;
	return json_integer(neg ? -x : x);
}

static json_t *
ji_lit(struct ji *j, const char *w, size_t n, json_t *v)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return NULL;
	j->p += n;
	return v;
}

static json_t *
ji_value(struct ji *j, int depth)
{
	const char	*s;
	size_t		 n;

	if (depth > JI_MAX_DEPTH)
		return NULL;
	ji_ws(j);
	if (j->p >= j->end)
		return NULL;
	switch (*j->p) {
	case '{':
		return ji_object(j, depth);
	case '[':
		return ji_array(j, depth);
	case '"':
		if (ji_str(j, &s, &n) == -1)
			return NULL;
		return json_stringn_nocheck(s, n);
	case 't':
		return ji_lit(j, "true", 4, json_true());
	case 'f':
		return ji_lit(j, "false", 5, json_false());
	case 'n':
		return ji_lit(j, "null", 4, json_null());
	default:
		return ji_int(j);
	}
}

/*
 * Parse a request body as json_loadb(p, n, JSON_REJECT_DUPLICATES)
 * would (top level an object or array; see the top of this file).
 * Returns a new reference, or NULL when jansson refuses the body.
 */
json_t *
avd_json_load(const char *p, size_t n)
{
	struct ji	 j = { p, p + n };
	json_error_t	 je;
	json_t		*v = NULL;

	ji_ws(&j);
	if (j.p < j.end && (*j.p == '{' || *j.p == '['))
		v = ji_value(&j, 0);
	if (v != NULL) {
		ji_ws(&j);
		if (j.p == j.end)
			return v;
		json_decref(v);
	}
	return json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
}
