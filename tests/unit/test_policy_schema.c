/*
 * policies/schema.json and the policy loader agree: every platform with
 * a policy section is in the schema (and nothing else is), and for every
 * key the schema lists in every platform section, a value made from the
 * schema alone is accepted by the backend's policy_compile.  A backend
 * that gains or renames a key without the schema following fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "av/backend.h"
#include "av/policy.h"

static json_t	*schema;

static const json_t *
deref(const json_t *s)
{
	const char *r;

	for (int i = 0; i < 8 && s != NULL; i++) {
		r = json_string_value(json_object_get(s, "$ref"));
		if (r == NULL || strncmp(r, "#/$defs/", 8) != 0)
			return s;
		s = json_object_get(json_object_get(schema, "$defs"), r + 8);
	}
	return s;
}

static json_t *
hex(size_t digits)
{
	char	buf[200];
	size_t	i;

	assert_true(digits < sizeof(buf));
	for (i = 0; i < digits; i++)
		buf[i] = "a1b2c3d4e5f6"[i % 12];
	buf[i] = '\0';
	return json_string(buf);
}

/* A string that matches one of the schema's patterns. */
static json_t *
for_pattern(const char *p)
{
	static const struct {
		const char *pattern, *value;
	} known[] = {
		{ "^[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$", "1.55.21" },
		{ "^[0-9]{1,3}\\.[0-9]{1,3}$", "1.51" },
		{ "^[0-9]+(\\.[0-9]+){0,7}$", "550.54.15" },
		{ "^[0-9A-Fa-f]+(\\.[0-9A-Fa-f]+){0,7}$", "96.00.9F.00.01" },
		{ "^[A-Za-z0-9_.-]{1,64}$", "GH100" },
		{ "^[a-z0-9_-]{1,32}$", "cpu" },
		{ "^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$", "sample" },
		{ "^([0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|"
		  "[0-9a-fA-F]{128})$", NULL },
		{ "^pcr([0-9]|[12][0-9]|3[01])$", "pcr8" },
		{ "^pcr([0-9]|1[0-9]|2[0-3])$", "pcr7" },
		{ "^(0|[1-9]|1[0-9]|2[0-3])$", "7" },
		{ "^(0004[0-9a-fA-F]{40}|000[bB][0-9a-fA-F]{64}|"
		  "000[cC][0-9a-fA-F]{96}|000[dD][0-9a-fA-F]{128})$",
		  "000b5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
		  "5a5a5a5a" },
	};
	unsigned n;

	if (sscanf(p, "^[0-9a-fA-F]{%u}$", &n) == 1)
		return hex(n);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].pattern, p) == 0)
			return known[i].value ? json_string(known[i].value) :
			    hex(64);
	fail_msg("no sample for pattern %s: extend the table", p);
	return NULL;
}

static json_t *sample(const json_t *s, int depth);

static json_t *
sample_object(const json_t *s, int depth)
{
	json_t		*o = json_object(), *r, *v;
	const json_t	*props = json_object_get(s, "properties");
	const json_t	*pp = json_object_get(s, "patternProperties");
	const char	*k;
	size_t		 i;

	json_array_foreach(json_object_get(s, "required"), i, r)
		json_object_set_new(o, json_string_value(r),
		    sample(json_object_get(props, json_string_value(r)),
		    depth + 1));
	if (json_object_size(o) == 0 &&
	    json_integer_value(json_object_get(s, "minProperties")) > 0) {
		json_object_foreach((json_t *)props, k, v) {
			json_object_set_new(o, k, sample(v, depth + 1));
			break;
		}
		if (json_object_size(o) == 0)
			json_object_foreach((json_t *)pp, k, v) {
				json_t *key = for_pattern(k);

				json_object_set_new(o, json_string_value(key),
				    sample(v, depth + 1));
				json_decref(key);
				break;
			}
	}
	return o;
}

/* A value the schema accepts, made from the schema alone. */
static json_t *
sample(const json_t *s, int depth)
{
	const json_t	*v;
	const char	*t;

	assert_true(depth < 32);
	s = deref(s);
	assert_non_null(s);
	if ((v = json_object_get(s, "enum")) != NULL)
		return json_deep_copy(json_array_get(v, 0));
	if ((v = json_object_get(s, "oneOf")) != NULL ||
	    (v = json_object_get(s, "anyOf")) != NULL)
		return sample(json_array_get(v, 0), depth + 1);
	t = json_string_value(json_object_get(s, "type"));
	assert_non_null(t);
	if (strcmp(t, "boolean") == 0)
		return json_false();
	if (strcmp(t, "integer") == 0) {
		json_int_t lo = json_integer_value(json_object_get(s,
		    "minimum"));

		return json_integer(lo > 0 ? lo : 1);
	}
	if (strcmp(t, "string") == 0) {
		if ((v = json_object_get(s, "pattern")) != NULL)
			return for_pattern(json_string_value(v));
		return json_string("INTEL-SA-00837");
	}
	if (strcmp(t, "array") == 0)
		return json_pack("[o]", sample(json_object_get(s, "items"),
		    depth + 1));
	if (strcmp(t, "object") == 0)
		return sample_object(s, depth);
	fail_msg("unexpected type %s", t);
	return NULL;
}

static void
expect_loads(const char *platform, const char *key, json_t *value)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;
	json_t			*doc;
	char			*text;

	doc = json_pack("{sssis{s{so}}}", "id", "sample", "version", 1,
	    "evidence", platform, key, value);
	assert_non_null(doc);
	memset(&perr, 0, sizeof(perr));
	if (av_policy_compile(doc, &p, &perr) != 0) {
		text = json_dumps(doc, JSON_COMPACT);
		fail_msg("schema-valid %s.%s refused by the loader: %s: %s\n%s",
		    platform, key, perr.path, perr.reason, text);
	}
	av_policy_free(p);
	json_decref(doc);
}

static void
test_platforms_match(void **state)
{
	const json_t *plats = json_object_get(json_object_get(json_object_get(
	    schema, "properties"), "evidence"), "properties");
	const char	*k;
	json_t		*v;

	(void)state;
	for (const struct av_backend *const *b = av_backends(); *b; b++) {
		if ((*b)->policy_compile == NULL)
			continue;
		if (json_object_get(plats, (*b)->name) == NULL)
			fail_msg("platform %s takes a policy section but "
			    "policies/schema.json lacks it", (*b)->name);
	}
	json_object_foreach((json_t *)plats, k, v) {
		const struct av_backend *b = av_backend_find(k);

		if (b == NULL || b->policy_compile == NULL)
			fail_msg("policies/schema.json has a section for %s, "
			    "which takes none", k);
	}
}

static void
test_every_key_loads(void **state)
{
	const json_t *plats = json_object_get(json_object_get(json_object_get(
	    schema, "properties"), "evidence"), "properties");
	const char	*plat, *k;
	json_t		*ps, *v;
	size_t		 nkeys = 0;

	(void)state;
	json_object_foreach((json_t *)plats, plat, ps) {
		const json_t *sec = deref(ps);

		json_object_foreach(json_object_get(sec, "properties"), k, v) {
			expect_loads(plat, k, sample(v, 0));
			nkeys++;
		}
		json_object_foreach(json_object_get(sec, "patternProperties"),
		    k, v) {
			json_t *key = for_pattern(k);

			expect_loads(plat, json_string_value(key),
			    sample(v, 0));
			json_decref(key);
			nkeys++;
		}
	}
	assert_true(nkeys >= 70);
}

static void
test_top_level(void **state)
{
	const json_t *props = json_object_get(schema, "properties");
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr;
	const char	*k;
	json_t		*v, *doc;

	(void)state;
	/* Every top-level key with a sample value, all at once. */
	doc = json_object();
	json_object_foreach((json_t *)props, k, v) {
		if (strcmp(k, "evidence") == 0)
			continue;
		json_object_set_new(doc, k, sample(v, 0));
	}
	json_object_set_new(doc, "freshness", json_pack("{sssi}", "nonce",
	    "required", "max_age_s", 60));
	json_object_set_new(doc, "evidence", json_pack("{s{sb}}",
	    "aws-nitro", "debug", 0));
	memset(&perr, 0, sizeof(perr));
	if (av_policy_compile(doc, &p, &perr) != 0)
		fail_msg("top level refused: %s: %s", perr.path, perr.reason);
	av_policy_free(p);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platforms_match),
		cmocka_unit_test(test_every_key_loads),
		cmocka_unit_test(test_top_level),
	};
	const char	*src = getenv("AV_SOURCE_DIR");
	char		 path[4096];
	json_error_t	 je;
	int		 rc;

	snprintf(path, sizeof(path), "%s/policies/schema.json",
	    src ? src : ".");
	if ((schema = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		fprintf(stderr, "%s: %s\n", path, je.text);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(schema);
	return rc;
}
