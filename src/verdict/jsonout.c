/*
 * attestd - compact JSON serialisation for the per-verdict hot path.
 *
 * Produces exactly what jansson's json_dumps(v, JSON_COMPACT) produces
 * (RFC 8259 text; members in the object's own order, which jansson keeps
 * as insertion order), but copies strings that need no escaping in one
 * memcpy instead of jansson's character-by-character UTF-8 walk, and
 * writes integers without snprintf.  Claims are mostly long hex strings,
 * so this is most of the cost of serialising a verdict.  Anything this
 * file does not write itself byte for byte the way jansson does -- a
 * string holding a control character or a byte >= 0x80, a real -- is
 * handed to jansson for that one value, so the output (and a failure on
 * invalid UTF-8) stays jansson's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/verdict.h"

/* Deeper than any verdict; jansson's parser stops at 2048 too. */
#define JO_MAX_DEPTH	2048

struct jo_buf {
	char	*p;
	size_t	 n, cap;
	int	 bad;
};

static int
jo_reserve(struct jo_buf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->bad)
		return -1;
	if (more <= b->cap - b->n)
		return 0;
	if (more > SIZE_MAX / 2 - b->n) {
		b->bad = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 1024;
	while (cap - b->n < more)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->bad = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static void
jo_put(struct jo_buf *b, const char *s, size_t n)
{
	if (jo_reserve(b, n) == -1)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void
jo_putc(struct jo_buf *b, char c)
{
	if (jo_reserve(b, 1) == -1)
		return;
	b->p[b->n++] = c;
}

/* A value as jansson serialises it (JSON_ENCODE_ANY | JSON_COMPACT). */
static void
jo_jansson(struct jo_buf *b, const json_t *v)
{
	char *s;

	if ((s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL) {
		b->bad = 1;
		return;
	}
	jo_put(b, s, strlen(s));
	free(s);
}

/*
 * A string: plain ASCII runs copied, '"' and '\\' escaped as jansson
 * does; any control character or non-ASCII byte goes to jansson (its
 * \uXXXX forms and its UTF-8 check).
 */
static void
jo_string(struct jo_buf *b, const char *s, size_t n, const json_t *v)
{
	size_t	 i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x80) {
			if (v != NULL) {
				jo_jansson(b, v);
			} else {
				json_t *t = json_stringn(s, n);

				if (t == NULL)
					b->bad = 1;
				else
					jo_jansson(b, t);
				json_decref(t);
			}
			return;
		}
	}
	if (jo_reserve(b, n + 2) == -1)
		return;
	b->p[b->n++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			jo_put(b, s + run, i - run);
			jo_putc(b, '\\');
			run = i;
		}
	}
	jo_put(b, s + run, n - run);
	jo_putc(b, '"');
}

static void
jo_int(struct jo_buf *b, json_int_t x)
{
	char		 d[24];
	size_t		 k = sizeof(d);
	uint64_t	 u;

	u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	do {
		d[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (x < 0)
		d[--k] = '-';
	jo_put(b, d + k, sizeof(d) - k);
}

static void
jo_value(struct jo_buf *b, const json_t *v, int depth)
{
	const char	*key;
	json_t		*m;
	size_t		 i, first = 1;

	if (b->bad)
		return;
	if (depth > JO_MAX_DEPTH) {
		b->bad = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jo_putc(b, '{');
		json_object_foreach((json_t *)v, key, m) {
			if (!first)
				jo_putc(b, ',');
			first = 0;
			jo_string(b, key, strlen(key), NULL);
			jo_putc(b, ':');
			jo_value(b, m, depth + 1);
		}
		jo_putc(b, '}');
		break;
	case JSON_ARRAY:
		jo_putc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				jo_putc(b, ',');
			jo_value(b, json_array_get(v, i), depth + 1);
		}
		jo_putc(b, ']');
		break;
	case JSON_STRING:
		jo_string(b, json_string_value(v), json_string_length(v), v);
		break;
	case JSON_INTEGER:
		jo_int(b, json_integer_value(v));
		break;
	case JSON_TRUE:
		jo_put(b, "true", 4);
		break;
	case JSON_FALSE:
		jo_put(b, "false", 5);
		break;
	case JSON_NULL:
		jo_put(b, "null", 4);
		break;
	case JSON_REAL:
	default:
		jo_jansson(b, v);
		break;
	}
}

/*
 * Serialise v (an object or array) compact, byte for byte as
 * json_dumps(v, JSON_COMPACT) does.  Returns a malloc'd NUL-terminated
 * string (caller frees; its length in *len when len is not NULL), or
 * NULL when v is not an object or array, on allocation failure, or
 * where jansson would fail (invalid UTF-8, nesting deeper than 2048).
 */
char *
av_json_dumps_compact(const json_t *v, size_t *len)
{
	struct jo_buf b = { NULL, 0, 0, 0 };

	if (v == NULL || (!json_is_object(v) && !json_is_array(v)))
		return NULL;
	jo_value(&b, v, 0);
	if (jo_reserve(&b, 1) == -1) {
		free(b.p);
		return NULL;
	}
	b.p[b.n] = '\0';
	if (len != NULL)
		*len = b.n;
	return b.p;
}
