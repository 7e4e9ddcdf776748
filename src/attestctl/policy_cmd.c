/*
 * attestctl policy - for operators and CI (docs/cli.md, docs/ci.md):
 *
 *   policy check [--json] [--strict] [--schema FILE] FILE...
 *       JSON Schema (policies/schema.json), the strict loader, and a
 *       semantic lint (contradictory or dead rules); exit 0/1.
 *   policy diff [--json] OLD NEW
 *       reference values added/removed per platform and claim; exit 0
 *       when equal, 1 when different (as diff(1)).
 *   policy test --policy FILE [--at TIME] [--junit FILE] [--trust-dir DIR]
 *               [--collateral DIR] [--type TYPE] EVIDENCE...
 *       appraise recorded evidence against a candidate policy; a table,
 *       JUnit XML; exit 1 when any evidence does not meet its expectation
 *       (<file>.expect.json, default "affirming").
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/policy_store.h"
#include "av/verify.h"

#include "avc.h"

#define MAX_EVIDENCE	10000

/* ---- a small JSON Schema (2020-12) validator ---------------------------- */

/*
 * The keywords policies/schema.json uses: $ref (local), type, enum,
 * const, pattern (POSIX ERE), minLength, maxLength, minimum, maximum,
 * properties, patternProperties, additionalProperties, required,
 * minProperties, maxProperties, items, minItems, maxItems, uniqueItems,
 * oneOf, anyOf, allOf.  Annotations are ignored.  Errors are reported
 * with the loader's path syntax ("evidence.aws-nitro.pcr0[1]").
 */

static void
add_issue(json_t *list, const char *path, const char *source,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
add_issue(json_t *list, const char *path, const char *source,
    const char *fmt, ...)
{
	va_list	ap;
	char	buf[600];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_pack("{ssssss}", "path", path,
	    "reason", buf, "source", source));
}

static void
sub_key(char *out, size_t n, const char *path, const char *k)
{
	snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", k);
}

static bool
re_match(const char *pattern, const char *s)
{
	regex_t	re;
	bool	ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

static bool
type_is(const json_t *v, const char *t)
{
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	return strcmp(json_type_name(v), t) == 0;
}

static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void sv(const json_t *, const json_t *, const json_t *, const char *,
    json_t *, int);

static const json_t *
resolve_ref(const json_t *root, const char *ref)
{
	if (strncmp(ref, "#/$defs/", 8) != 0)
		return NULL;
	return json_object_get(json_object_get(root, "$defs"), ref + 8);
}

/* Whether a branch's (possibly referenced) "type" admits inst. */
static bool
branch_type_ok(const json_t *root, const json_t *b, const json_t *inst)
{
	const json_t *t;

	for (int i = 0; i < 8 && b != NULL; i++) {
		if ((t = json_object_get(b, "type")) != NULL)
			return !json_is_string(t) ||
			    type_is(inst, json_string_value(t));
		if ((t = json_object_get(b, "$ref")) == NULL ||
		    !json_is_string(t))
			return true;
		b = resolve_ref(root, json_string_value(t));
	}
	return true;
}

static size_t
deepest(const json_t *errs)
{
	size_t	 i, m = 0, n;
	json_t	*e;

	json_array_foreach(errs, i, e)
		if ((n = json_string_length(json_object_get(e, "path"))) > m)
			m = n;
	return m;
}

/*
 * Validate against each branch; returns how many matched.  *best gets
 * the errors of the closest branch: one of the instance's type first,
 * then the fewest errors.
 */
static size_t
branches(const json_t *root, const json_t *list, const json_t *inst,
    const char *path, json_t **best, int depth)
{
	size_t	 i, ok = 0, score, best_score = (size_t)-1;
	json_t	*b, *errs;

	*best = NULL;
	json_array_foreach(list, i, b) {
		if ((errs = json_array()) == NULL)
			continue;
		sv(root, b, inst, path, errs, depth + 1);
		if (json_array_size(errs) == 0)
			ok++;
		/* Wrong type worst; then fewer errors; then deeper ones. */
		score = (branch_type_ok(root, b, inst) ? 0 : 100000000) +
		    json_array_size(errs) * 10000 + 9999 -
		    deepest(errs) % 10000;
		if (score < best_score) {
			json_decref(*best);
			*best = errs;
			best_score = score;
		} else
			json_decref(errs);
	}
	return ok;
}

static void
sv_object(const json_t *root, const json_t *s, const json_t *inst,
    const char *path, json_t *errs, int depth)
{
	const json_t	*props = json_object_get(s, "properties");
	const json_t	*pp = json_object_get(s, "patternProperties");
	const json_t	*ap = json_object_get(s, "additionalProperties");
	const json_t	*v, *r;
	const char	*k, *pk;
	json_t		*x, *ps;
	size_t		 i;
	char		 sub[512];

	json_object_foreach((json_t *)inst, k, x) {
		bool known = false;

		sub_key(sub, sizeof(sub), path, k);
		if ((ps = json_object_get(props, k)) != NULL) {
			known = true;
			sv(root, ps, x, sub, errs, depth + 1);
		}
		json_object_foreach((json_t *)pp, pk, ps)
			if (re_match(pk, k)) {
				known = true;
				sv(root, ps, x, sub, errs, depth + 1);
			}
		if (known)
			continue;
		if (json_is_false(ap))
			add_issue(errs, sub, "schema", "unknown key \"%s\"", k);
		else if (json_is_object(ap))
			sv(root, ap, x, sub, errs, depth + 1);
	}
	json_array_foreach(json_object_get(s, "required"), i, r) {
		if (json_is_string(r) &&
		    json_object_get(inst, json_string_value(r)) == NULL) {
			sub_key(sub, sizeof(sub), path, json_string_value(r));
			add_issue(errs, sub, "schema", "missing");
		}
	}
	if ((v = json_object_get(s, "minProperties")) != NULL &&
	    json_object_size(inst) < (size_t)json_integer_value(v))
		add_issue(errs, path, "schema", "expected at least %lld "
		    "key(s)", (long long)json_integer_value(v));
	if ((v = json_object_get(s, "maxProperties")) != NULL &&
	    json_object_size(inst) > (size_t)json_integer_value(v))
		add_issue(errs, path, "schema", "expected at most %lld key(s)",
		    (long long)json_integer_value(v));
}

static void
sv_array(const json_t *root, const json_t *s, const json_t *inst,
    const char *path, json_t *errs, int depth)
{
	const json_t	*items = json_object_get(s, "items"), *v;
	json_t		*x, *y;
	size_t		 i, j;
	char		 sub[512];

	if (items != NULL)
		json_array_foreach(inst, i, x) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			sv(root, items, x, sub, errs, depth + 1);
		}
	if ((v = json_object_get(s, "minItems")) != NULL &&
	    json_array_size(inst) < (size_t)json_integer_value(v))
		add_issue(errs, path, "schema", "%s", json_integer_value(v) ==
		    1 ? "empty list: expected at least one value" :
		    "too few values");
	if ((v = json_object_get(s, "maxItems")) != NULL &&
	    json_array_size(inst) > (size_t)json_integer_value(v))
		add_issue(errs, path, "schema", "more than %lld values",
		    (long long)json_integer_value(v));
	if (json_is_true(json_object_get(s, "uniqueItems")))
		json_array_foreach(inst, i, x)
			for (j = 0; j < i; j++) {
				y = json_array_get(inst, j);
				if (!json_equal(x, y))
					continue;
				snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
				add_issue(errs, sub, "schema",
				    "duplicate value");
				break;
			}
}

static void
sv(const json_t *root, const json_t *s, const json_t *inst, const char *path,
    json_t *errs, int depth)
{
	const json_t	*v;
	json_t		*best;
	size_t		 i, n;
	bool		 ok;

	if (depth > 64 || !json_is_object(s))
		return;
	if ((v = json_object_get(s, "$ref")) != NULL && json_is_string(v)) {
		const json_t *t = resolve_ref(root, json_string_value(v));

		if (t == NULL)
			add_issue(errs, path, "schema", "schema error: "
			    "unresolved $ref %s", json_string_value(v));
		else
			sv(root, t, inst, path, errs, depth + 1);
	}
	if ((v = json_object_get(s, "type")) != NULL) {
		ok = false;
		if (json_is_string(v))
			ok = type_is(inst, json_string_value(v)) ||
			    (strcmp(json_string_value(v), "number") == 0 &&
			    json_is_integer(inst));
		else
			json_array_foreach(v, i, best)
				ok |= json_is_string(best) &&
				    type_is(inst, json_string_value(best));
		if (!ok) {
			add_issue(errs, path, "schema", "expected %s%s, got %s",
			    json_is_string(v) && strchr("aeiou",
			    json_string_value(v)[0]) ? "an " : "a ",
			    json_is_string(v) ? json_string_value(v) :
			    "another type", json_type_name(inst));
			return;
		}
	}
	if ((v = json_object_get(s, "enum")) != NULL) {
		ok = false;
		json_array_foreach(v, i, best)
			ok |= json_equal(best, inst);
		if (!ok) {
			char *want = json_dumps(v, JSON_COMPACT);

			add_issue(errs, path, "schema", "expected one of %s",
			    want ? want : "the listed values");
			free(want);
		}
	}
	if ((v = json_object_get(s, "const")) != NULL && !json_equal(v, inst))
		add_issue(errs, path, "schema", "unexpected value");
	if (json_is_string(inst)) {
		const char *str = json_string_value(inst);

		if ((v = json_object_get(s, "pattern")) != NULL &&
		    json_is_string(v) && (strlen(str) !=
		    json_string_length(inst) ||
		    !re_match(json_string_value(v), str))) {
			if (strstr(json_string_value(v), "0-9a-fA-F") != NULL)
				add_issue(errs, path, "schema", "not a hex "
				    "string of the expected length (%s)",
				    json_string_value(v));
			else
				add_issue(errs, path, "schema", "does not match "
				    "%s", json_string_value(v));
		}
		if ((v = json_object_get(s, "minLength")) != NULL &&
		    utf8_len(str) < (size_t)json_integer_value(v))
			add_issue(errs, path, "schema", "too short");
		if ((v = json_object_get(s, "maxLength")) != NULL &&
		    utf8_len(str) > (size_t)json_integer_value(v))
			add_issue(errs, path, "schema", "longer than %lld "
			    "characters", (long long)json_integer_value(v));
	}
	if (json_is_number(inst)) {
		double x = json_number_value(inst);

		if ((v = json_object_get(s, "minimum")) != NULL &&
		    x < json_number_value(v))
			add_issue(errs, path, "schema", "below the minimum %.0f",
			    json_number_value(v));
		if ((v = json_object_get(s, "maximum")) != NULL &&
		    x > json_number_value(v))
			add_issue(errs, path, "schema", "above the maximum %.0f",
			    json_number_value(v));
	}
	if (json_is_object(inst))
		sv_object(root, s, inst, path, errs, depth);
	if (json_is_array(inst))
		sv_array(root, s, inst, path, errs, depth);
	if ((v = json_object_get(s, "allOf")) != NULL)
		json_array_foreach(v, i, best)
			sv(root, best, inst, path, errs, depth + 1);
	if ((v = json_object_get(s, "anyOf")) != NULL) {
		if (branches(root, v, inst, path, &best, depth) == 0 &&
		    best != NULL)
			json_array_extend(errs, best);
		json_decref(best);
	}
	if ((v = json_object_get(s, "oneOf")) != NULL) {
		n = branches(root, v, inst, path, &best, depth);
		if (n == 0 && best != NULL)
			json_array_extend(errs, best);
		else if (n > 1)
			add_issue(errs, path, "schema", "matches more than one "
			    "of the allowed forms");
		json_decref(best);
	}
}

/* Validate doc against schema; issues appended to errs. */
static void
schema_validate(const json_t *schema, const json_t *doc, json_t *errs)
{
	sv(schema, schema, doc, "", errs, 0);
}

/*
 * The schema to use: --schema, $ATTESTD_POLICY_SCHEMA, schema.json beside
 * the checked file, or the installed/bundled policies/schema.json.
 * Returns a new reference or NULL (*where says which file was tried).
 */
static json_t *
find_schema(const char *opt, const char *file, char *where, size_t wlen)
{
	static const char *const rel[] = { "../share/attestd/policies",
	    "../policies", "../../policies" };
	char		 exe[PATH_MAX], cand[PATH_MAX + 64], why[256];
	const char	*env;
	ssize_t		 n;
	char		*slash;

	where[0] = '\0';
	if (opt != NULL) {
		snprintf(where, wlen, "%s", opt);
		return avc_load_json(opt, why, sizeof(why));
	}
	if ((env = getenv("ATTESTD_POLICY_SCHEMA")) != NULL && *env) {
		snprintf(where, wlen, "%s", env);
		return avc_load_json(env, why, sizeof(why));
	}
	if (file != NULL && (slash = strrchr(file, '/')) != NULL) {
		snprintf(cand, sizeof(cand), "%.*s/schema.json",
		    (int)(slash - file), file);
		if (access(cand, R_OK) == 0) {
			snprintf(where, wlen, "%s", cand);
			return avc_load_json(cand, why, sizeof(why));
		}
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(cand, sizeof(cand), "%s/%s/schema.json", exe, rel[i]);
		if (access(cand, R_OK) == 0) {
			char *real = realpath(cand, NULL);

			snprintf(where, wlen, "%s", real ? real : cand);
			free(real);
			return avc_load_json(cand, why, sizeof(why));
		}
	}
	return NULL;
}

/* ---- lint ----------------------------------------------------------------- */

static bool
all_zero_hex(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s != '0')
			return false;
	return true;
}

static bool
list_has(const json_t *v, const char *s)
{
	size_t	 i;
	json_t	*e;

	if (json_is_string(v))
		return strcmp(json_string_value(v), s) == 0;
	json_array_foreach(v, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	return false;
}

static bool
has_any(const json_t *sec, const char *const keys[])
{
	for (size_t i = 0; keys[i] != NULL; i++)
		if (json_object_get(sec, keys[i]) != NULL)
			return true;
	return false;
}

static const char *const snp_meas[] = { "measurement", "host_data",
	"id_key_digest", "author_key_digest", "family_id", "image_id", NULL };
static const char *const tdx_meas[] = { "mrtd", "rtmr0", "rtmr1", "rtmr2",
	"rtmr3", "mrseam", "mrsignerseam", "mrconfigid", "mrowner",
	"mrownerconfig", "mrservicetd", "xfam", NULL };
static const char *const tpm_meas[] = { "pcrs", "boot_apps",
	"kernel_cmdline", "secure_boot", NULL };

static void
lint_nitro(const char *path, const json_t *sec, bool tpm, json_t *errs,
    json_t *warns)
{
	bool		 dbg = json_is_true(json_object_get(sec, "debug"));
	const char	*k;
	json_t		*v, *e;
	size_t		 i;
	char		 sub[300];
	bool		 any = false;

	json_object_foreach((json_t *)sec, k, v) {
		if (strncmp(k, "pcr", 3) != 0)
			continue;
		any = true;
		if (tpm || dbg || (strcmp(k, "pcr0") != 0 &&
		    strcmp(k, "pcr1") != 0 && strcmp(k, "pcr2") != 0))
			continue;
		json_array_foreach(json_is_array(v) ? v : NULL, i, e)
			if (json_is_string(e) &&
			    all_zero_hex(json_string_value(e))) {
				snprintf(sub, sizeof(sub), "%s.%s[%zu]", path,
				    k, i);
				add_issue(errs, sub, "lint", "contradictory: "
				    "all zeros is what a debug enclave reports "
				    "and \"debug\" is not allowed, so this value "
				    "can never pass");
			}
		if (json_is_string(v) && all_zero_hex(json_string_value(v))) {
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			add_issue(errs, sub, "lint", "contradictory: all zeros "
			    "is what a debug enclave reports and \"debug\" is "
			    "not allowed, so this value can never pass");
		}
	}
	if (dbg)
		add_issue(warns, path, "lint", "\"debug\": true allows debug "
		    "enclaves, whose memory the parent instance can read");
	if (!any)
		add_issue(warns, path, "lint", "no reference values: no PCR is "
		    "compared");
}

static void
lint_tpm(const char *path, const json_t *sec, json_t *errs, json_t *warns)
{
	const json_t	*t = json_object_get(sec, "ak_trust");
	bool		 enrolled = json_object_get(sec, "enrolled_aks") != NULL;
	size_t		 n = json_is_array(t) ? json_array_size(t) : 1;
	char		 sub[300];

	snprintf(sub, sizeof(sub), "%s.ak_trust", path);
	if (t != NULL && n == 1 && list_has(t, "enrolled") && !enrolled)
		add_issue(errs, sub, "lint", "contradictory: only enrolled AKs "
		    "are trusted and \"enrolled_aks\" lists none");
	if (t != NULL && enrolled && !list_has(t, "enrolled")) {
		snprintf(sub, sizeof(sub), "%s.enrolled_aks", path);
		add_issue(warns, sub, "lint", "unused: \"ak_trust\" does not "
		    "list \"enrolled\"");
	}
	if (!has_any(sec, tpm_meas))
		add_issue(warns, path, "lint", "no reference values: no PCR "
		    "or event rule is compared");
}

static void
lint_snp(const char *path, const json_t *sec, json_t *errs, json_t *warns)
{
	static const char *const rules[] = { "min_tcb", "min_committed_tcb",
	    "min_launch_tcb", "min_current_tcb", NULL };
	static const char *const prods[] = { "Milan", "Genoa", "Turin", NULL };
	const json_t	*products = json_object_get(sec, "products");
	char		 sub[300];

	(void)errs;
	for (size_t i = 0; products != NULL && rules[i] != NULL; i++) {
		const json_t *r = json_object_get(sec, rules[i]);

		for (size_t p = 0; prods[p] != NULL; p++)
			if (json_object_get(r, prods[p]) != NULL &&
			    !list_has(products, prods[p])) {
				snprintf(sub, sizeof(sub), "%s.%s.%s", path,
				    rules[i], prods[p]);
				add_issue(warns, sub, "lint", "never applies: "
				    "\"products\" does not list %s", prods[p]);
			}
	}
	if (json_is_true(json_object_get(json_object_get(sec, "guest_policy"),
	    "debug"))) {
		snprintf(sub, sizeof(sub), "%s.guest_policy.debug", path);
		add_issue(warns, sub, "lint", "allows debug guests, whose "
		    "memory the host can read");
	}
	if (!has_any(sec, snp_meas))
		add_issue(warns, path, "lint", "no reference values: no "
		    "measurement is compared");
}

static void
lint_tdx(const char *path, const json_t *sec, json_t *errs, json_t *warns)
{
	const json_t	*adv = json_object_get(sec, "advisory_ids");
	const json_t	*acc = json_object_get(adv, "accept"), *e;
	size_t		 i;
	char		 sub[300];

	json_array_foreach(acc, i, e)
		if (json_is_string(e) && list_has(json_object_get(adv,
		    "reject"), json_string_value(e))) {
			snprintf(sub, sizeof(sub), "%s.advisory_ids.accept[%zu]",
			    path, i);
			add_issue(errs, sub, "lint", "contradictory: also listed "
			    "in \"reject\"");
		}
	if (json_object_get(sec, "out_of_date_grace_s") != NULL &&
	    list_has(json_object_get(sec, "tcb_status"), "OutOfDate")) {
		snprintf(sub, sizeof(sub), "%s.out_of_date_grace_s", path);
		add_issue(warns, sub, "lint", "has no effect: \"tcb_status\" "
		    "already accepts OutOfDate");
	}
	if (json_is_true(json_object_get(json_object_get(sec, "td_attributes"),
	    "debug"))) {
		snprintf(sub, sizeof(sub), "%s.td_attributes.debug", path);
		add_issue(warns, sub, "lint", "allows debug TDs, whose memory "
		    "the host can read");
	}
	if (!has_any(sec, tdx_meas))
		add_issue(warns, path, "lint", "no reference values: no "
		    "measurement register is compared");
}

static void
lint_nvgpu(const char *path, const json_t *sec, json_t *warns)
{
	char sub[300];

	if (list_has(json_object_get(sec, "rim"), "off")) {
		snprintf(sub, sizeof(sub), "%s.rim", path);
		add_issue(warns, sub, "lint", "RIM appraisal is off: no GPU "
		    "measurement is compared");
	}
	if (list_has(json_object_get(sec, "ocsp"), "off")) {
		snprintf(sub, sizeof(sub), "%s.ocsp", path);
		add_issue(warns, sub, "lint", "OCSP is off: revoked GPU "
		    "certificates would pass");
	}
}

/*
 * Semantic checks on a document that loads: contradictory rules are
 * errors, rules that weaken or never apply are warnings.
 */
static void
lint(const char *file, const json_t *doc, json_t *errs, json_t *warns)
{
	const json_t	*ev = json_object_get(doc, "evidence"), *sec;
	const json_t	*fr = json_object_get(doc, "freshness");
	const char	*k, *base, *id = json_string_value(json_object_get(doc,
			    "id"));
	char		 path[200], want[100];

	json_object_foreach((json_t *)ev, k, sec) {
		snprintf(path, sizeof(path), "evidence.%s", k);
		if (strcmp(k, "aws-nitro") == 0 ||
		    strcmp(k, "aws-nitrotpm") == 0)
			lint_nitro(path, sec, strcmp(k, "aws-nitrotpm") == 0,
			    errs, warns);
		else if (strcmp(k, "sev-snp") == 0)
			lint_snp(path, sec, errs, warns);
		else if (strcmp(k, "tdx") == 0)
			lint_tdx(path, sec, errs, warns);
		else if (strcmp(k, "nvidia-gpu") == 0)
			lint_nvgpu(path, sec, warns);
		else {
			lint_tpm(path, sec, errs, warns);
			if (json_object_get(sec, "sev-snp") != NULL) {
				snprintf(path, sizeof(path),
				    "evidence.%s.sev-snp", k);
				lint_snp(path, json_object_get(sec, "sev-snp"),
				    errs, warns);
			}
			if (json_object_get(sec, "tdx") != NULL) {
				snprintf(path, sizeof(path), "evidence.%s.tdx",
				    k);
				lint_tdx(path, json_object_get(sec, "tdx"),
				    errs, warns);
			}
		}
	}
	if (json_object_get(fr, "max_age_s") != NULL &&
	    json_object_get(ev, "aws-nitro") == NULL &&
	    json_object_get(ev, "aws-nitrotpm") == NULL)
		add_issue(warns, "freshness.max_age_s", "lint", "has no effect: "
		    "only aws-nitro and aws-nitrotpm evidence carries a "
		    "timestamp");
	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	snprintf(want, sizeof(want), "%s.json", id ? id : "");
	if (id != NULL && strcmp(file, "-") != 0 && strcmp(base, want) != 0)
		add_issue(warns, "id", "lint", "the file is named %s, not %s: "
		    "the id is what requests name", base, want);
}

/* ---- policy check --------------------------------------------------------- */

static json_t *
check_one(const char *file, const json_t *schema)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 pe;
	json_t			*doc, *errs = json_array(), *warns = json_array();
	json_t			*serrs = json_array(), *e, *out;
	char			 why[512];
	size_t			 i;

	out = json_pack("{ss}", "file", file);
	if ((doc = avc_load_json(file, why, sizeof(why))) == NULL) {
		add_issue(errs, "", "json", "%s", why);
		goto done;
	}
	if (schema != NULL)
		schema_validate(schema, doc, serrs);
	memset(&pe, 0, sizeof(pe));
	if (av_policy_compile(doc, &p, &pe) != 0)
		add_issue(errs, pe.path, "load", "%s", pe.reason);
	/* Schema findings the loader did not already report. */
	json_array_foreach(serrs, i, e) {
		const char *sp = json_string_value(json_object_get(e, "path"));

		if (p == NULL && strcmp(sp, pe.path) == 0)
			continue;
		json_array_append(errs, e);
	}
	if (p != NULL) {
		lint(file, doc, errs, warns);
		json_object_set_new(out, "ref", json_string(p->ref));
	}
 done:
	json_object_set_new(out, "ok", json_boolean(json_array_size(errs) ==
	    0));
	json_object_set_new(out, "errors", errs);
	json_object_set_new(out, "warnings", warns);
	json_decref(serrs);
	json_decref(doc);
	av_policy_free(p);
	return out;
}

static void
print_issues(const char *file, const json_t *list, const char *tag)
{
	size_t	 i;
	json_t	*e;

	json_array_foreach(list, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *src = json_string_value(json_object_get(e,
		    "source"));

		bool plain = strcmp(src, "load") == 0 ||
		    strcmp(src, "json") == 0;

		fprintf(stderr, "%s: %s%s%s%s%s%s%s\n", file, tag, path,
		    path[0] ? ": " : "", json_string_value(json_object_get(e,
		    "reason")), plain ? "" : " (", plain ? "" : src,
		    plain ? "" : ")");
	}
}

static int
cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "strict", no_argument, NULL, 's' },
		{ "schema", required_argument, NULL, 'S' },
		{ "no-schema", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*schema_opt = NULL;
	json_t		*schema = NULL, *all, *r;
	bool		 as_json = false, strict = false, use_schema = true;
	bool		 all_ok = true;
	char		 where[PATH_MAX + 64], *text;
	int		 c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 's':
			strict = true;
			break;
		case 'S':
			schema_opt = optarg;
			break;
		case 'N':
			use_schema = false;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if (use_schema) {
		schema = find_schema(schema_opt, argv[optind], where,
		    sizeof(where));
		if (schema == NULL && schema_opt != NULL) {
			fprintf(stderr, "attestctl: --schema %s: cannot load\n",
			    schema_opt);
			return AVC_EX_NOINPUT;
		}
		if (schema == NULL && !as_json)
			fprintf(stderr, "attestctl: policies/schema.json not "
			    "found (--schema FILE): loader and lint only\n");
	}
	all = json_pack("{sos[]}", "schema", schema && where[0] ?
	    json_string(where) : json_null(), "files");
	for (int i = optind; i < argc; i++) {
		bool ok;

		r = check_one(argv[i], schema);
		ok = json_is_true(json_object_get(r, "ok")) && (!strict ||
		    json_array_size(json_object_get(r, "warnings")) == 0);
		json_object_set_new(r, "ok", json_boolean(ok));
		all_ok &= ok;
		if (!as_json) {
			print_issues(argv[i], json_object_get(r, "errors"), "");
			print_issues(argv[i], json_object_get(r, "warnings"),
			    "warning: ");
			if (json_array_size(json_object_get(r, "errors")) == 0)
				printf("%s: %s (%s)\n", argv[i], ok ? "ok" :
				    "warnings (--strict)", json_string_value(
				    json_object_get(r, "ref")));
		}
		json_array_append_new(json_object_get(all, "files"), r);
	}
	json_object_set_new(all, "ok", json_boolean(all_ok));
	if (as_json && (text = json_dumps(all, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) != NULL) {
		printf("%s\n", text);
		free(text);
	}
	json_decref(all);
	json_decref(schema);
	return all_ok ? AVC_EX_OK : AVC_EX_FAIL;
 usage:
	fprintf(stderr, "usage: attestctl policy check [--json] [--strict] "
	    "[--schema FILE | --no-schema] FILE...\n");
	return AVC_EX_USAGE;
}

/* ---- policy diff ---------------------------------------------------------- */

static int
cmd_diff(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	json_t	*a, *b, *d;
	char	 why[512], *text;
	bool	 as_json = false;
	int	 c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'j')
			goto usage;
		as_json = true;
	}
	if (argc - optind != 2)
		goto usage;
	if ((a = avc_load_json(argv[optind], why, sizeof(why))) == NULL) {
		fprintf(stderr, "attestctl: %s: %s\n", argv[optind], why);
		return AVC_EX_NOINPUT;
	}
	if ((b = avc_load_json(argv[optind + 1], why, sizeof(why))) == NULL) {
		fprintf(stderr, "attestctl: %s: %s\n", argv[optind + 1], why);
		json_decref(a);
		return AVC_EX_NOINPUT;
	}
	if ((d = av_policy_diff(a, b)) == NULL) {
		json_decref(a);
		json_decref(b);
		return AVC_EX_SOFTWARE;
	}
	rc = json_array_size(d) == 0 ? AVC_EX_OK : AVC_EX_FAIL;
	if (as_json) {
		json_t *o = json_pack("{sOsOso}", "old", json_object_get(a,
		    "version") ? json_object_get(a, "version") : json_null(),
		    "new", json_object_get(b, "version") ? json_object_get(b,
		    "version") : json_null(), "changes", json_incref(d));

		text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) :
		    NULL;
		json_decref(o);
		if (text != NULL)
			printf("%s\n", text);
	} else if ((text = av_policy_diff_text(d)) != NULL)
		fputs(text, stdout);
	free(text);
	json_decref(d);
	json_decref(a);
	json_decref(b);
	return rc;
 usage:
	fprintf(stderr, "usage: attestctl policy diff [--json] OLD NEW\n");
	return AVC_EX_USAGE;
}

/* ---- policy test ---------------------------------------------------------- */

struct tcase {
	char		*file;		/* owned */
	char		*expect;	/* owned: "affirming", ... */
	json_t		*want_reasons;	/* owned array of codes, or NULL */
	char		*actual;	/* owned, or NULL (error) */
	json_t		*reasons;	/* owned: ["code(claim)", ...] */
	json_t		*codes;		/* owned: ["code", ...] */
	char		*error;		/* owned: why it could not run */
	char		*why;		/* owned: why it failed */
	double		 secs;
	bool		 pass;
};

struct tsuite {
	struct tcase	*v;
	size_t		 n, cap;
};

static int
add_case(struct tsuite *s, const char *file)
{
	struct tcase *nv;

	if (s->n == MAX_EVIDENCE)
		return -1;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		if ((nv = realloc(s->v, s->cap * sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	if ((s->v[s->n].file = strdup(file)) == NULL)
		return -1;
	s->n++;
	return 0;
}

static int
cmp_case(const void *a, const void *b)
{
	return strcmp(((const struct tcase *)a)->file,
	    ((const struct tcase *)b)->file);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A file, or every evidence file below a directory (sorted). */
static int
collect(struct tsuite *s, const char *path, int depth)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 sub[PATH_MAX];
	size_t		 first = s->n;

	if (stat(path, &st) == -1)
		return add_case(s, path);	/* reported as unreadable */
	if (!S_ISDIR(st.st_mode))
		return add_case(s, path);
	if (depth > 8 || (d = opendir(path)) == NULL)
		return add_case(s, path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || ends_with(de->d_name,
		    ".expect.json"))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub))
			continue;	/* a path longer than PATH_MAX */
		if (collect(s, sub, depth + 1) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (s->n > first)
		qsort(s->v + first, s->n - first, sizeof(*s->v), cmp_case);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run one case: sidecar, request, verify, compare. */
static void
run_case(struct tcase *tc, const struct av_policy *pol, const char *type,
    int64_t at, bool have_at, const struct av_trust *trust,
    struct av_collateral *coll)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_env		 env;
	struct av_err		 e;
	json_t			*side = NULL, *v, *r;
	char			 why[600], sc[PATH_MAX + 16], buf[400];
	const char		*t = type;
	int64_t			 when = have_at ? at : (int64_t)time(NULL);
	double			 t0 = now_s();
	size_t			 i, k;
	int			 ex;

	av_err_clear(&e);
	tc->expect = strdup("affirming");
	tc->reasons = json_array();
	tc->codes = json_array();
	snprintf(sc, sizeof(sc), "%s.expect.json", tc->file);
	if (access(sc, F_OK) == 0) {
		if ((side = avc_load_json(sc, why, sizeof(why))) == NULL ||
		    !json_is_object(side)) {
			snprintf(buf, sizeof(buf), "%.300s: %.90s", sc, side ?
			    "expected an object" : why);
			tc->error = strdup(buf);
			goto out;
		}
		if ((v = json_object_get(side, "status")) != NULL) {
			const char *s = json_string_value(v);

			if (s == NULL || (strcmp(s, "affirming") != 0 &&
			    strcmp(s, "warning") != 0 &&
			    strcmp(s, "contraindicated") != 0)) {
				snprintf(buf, sizeof(buf), "%.300s: \"status\" must "
				    "be affirming, warning or contraindicated",
				    sc);
				tc->error = strdup(buf);
				goto out;
			}
			free(tc->expect);
			tc->expect = strdup(s);
		}
		if ((v = json_object_get(side, "reasons")) != NULL)
			tc->want_reasons = json_incref(v);
		if ((v = json_object_get(side, "type")) != NULL &&
		    json_is_string(v))
			t = json_string_value(v);
		if ((v = json_object_get(side, "at")) != NULL) {
			char tb[40];

			if (json_is_integer(v))
				snprintf(tb, sizeof(tb), "%lld",
				    (long long)json_integer_value(v));
			if (av_time_parse(json_is_integer(v) ? tb :
			    json_string_value(v) ? json_string_value(v) : "",
			    &when) == -1) {
				snprintf(buf, sizeof(buf), "%.300s: \"at\" must be "
				    "RFC 3339 or unix seconds", sc);
				tc->error = strdup(buf);
				goto out;
			}
		}
	}
	if (avc_load_request(tc->file, t, &req, NULL, why, sizeof(why),
	    &ex) == -1) {
		tc->error = strdup(why);
		goto out;
	}
	if (side != NULL && json_is_string(v = json_object_get(side,
	    "nonce"))) {
		free(req->nonce);
		req->nonce = NULL;
		if (av_hex_decode(json_string_value(v), json_string_length(v),
		    &req->nonce, &req->nonce_len) == -1) {
			snprintf(buf, sizeof(buf), "%.300s: \"nonce\" must be hex",
			    sc);
			tc->error = strdup(buf);
			goto out;
		}
	}
	env.now = when;
	env.trust = trust;
	env.coll = coll;
	if (av_verify_request(&env, req, pol, &res, &e) == -1) {
		tc->error = strdup(e.reason ? e.reason : "internal error");
		goto out;
	}
	tc->actual = strdup(av_status_str(res->status));
	for (i = 0; i < res->nsubmods; i++)
		json_array_foreach(res->submods[i].reasons, k, r) {
			const char *code = json_string_value(json_object_get(r,
			    "code"));
			const char *claim = json_string_value(json_object_get(r,
			    "claim"));

			if (code == NULL)
				continue;
			json_array_append_new(tc->codes, json_string(code));
			snprintf(buf, sizeof(buf), "%s%s%s%s", code,
			    claim ? "(" : "", claim ? claim : "",
			    claim ? ")" : "");
			json_array_append_new(tc->reasons, json_string(buf));
		}
	tc->pass = strcmp(tc->actual, tc->expect) == 0;
	if (!tc->pass) {
		snprintf(buf, sizeof(buf), "expected %s, got %s", tc->expect,
		    tc->actual);
		tc->why = strdup(buf);
	}
	json_array_foreach(tc->want_reasons, i, r) {
		bool found = false;

		json_array_foreach(tc->codes, k, v)
			found |= json_is_string(r) && json_equal(r, v);
		if (!found && tc->pass) {
			tc->pass = false;
			snprintf(buf, sizeof(buf), "expected reason %s, not "
			    "reported", json_is_string(r) ?
			    json_string_value(r) : "?");
			tc->why = strdup(buf);
		}
	}
 out:
	tc->secs = now_s() - t0;
	json_decref(side);
	av_result_free(res);
	av_request_free(req);
}

/* XML text and attribute escaping. */
static void
xml_esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc('?', f);
		else
			fputc(c, f);
	}
}

static char *
joined(const json_t *a, const char *sep)
{
	size_t	 i, n = 1;
	json_t	*e;
	char	*s;

	json_array_foreach(a, i, e)
		n += json_string_length(e) + strlen(sep);
	if ((s = calloc(1, n)) == NULL)
		return NULL;
	json_array_foreach(a, i, e) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, json_string_value(e));
	}
	return s;
}

static int
write_junit(const char *out, const struct tsuite *s, const char *ref,
    const char *pid)
{
	FILE	*f;
	size_t	 fails = 0, errors = 0;
	double	 total = 0;
	char	 ts[40], *r;

	for (size_t i = 0; i < s->n; i++) {
		total += s->v[i].secs;
		if (s->v[i].error != NULL)
			errors++;
		else if (!s->v[i].pass)
			fails++;
	}
	if ((f = fopen(out, "w")) == NULL)
		return -1;
	av_time_format((int64_t)time(NULL), ts, sizeof(ts));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"attestctl policy test\" tests=\"%zu\" "
	    "failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", s->n, fails,
	    errors, total);
	fprintf(f, "  <testsuite name=\"");
	xml_esc(f, ref);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	    "skipped=\"0\" time=\"%.3f\" timestamp=\"%s\">\n", s->n, fails,
	    errors, total, ts);
	for (size_t i = 0; i < s->n; i++) {
		const struct tcase *tc = &s->v[i];

		fprintf(f, "    <testcase classname=\"policy.");
		xml_esc(f, pid);
		fprintf(f, "\" name=\"");
		xml_esc(f, tc->file);
		fprintf(f, "\" time=\"%.3f\"", tc->secs);
		if (tc->pass && tc->error == NULL) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, ">\n      <%s message=\"", tc->error ? "error" :
		    "failure");
		xml_esc(f, tc->error ? tc->error : tc->why ? tc->why : "");
		fprintf(f, "\" type=\"%s\">", tc->error ? "evidence_unusable" :
		    "verdict_mismatch");
		r = joined(tc->reasons, "\n");
		fprintf(f, "expected: %s\nactual: %s\nreasons:\n", tc->expect ?
		    tc->expect : "", tc->actual ? tc->actual : "(none)");
		xml_esc(f, r ? r : "");
		free(r);
		fprintf(f, "</%s>\n    </testcase>\n", tc->error ? "error" :
		    "failure");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int
cmd_test(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "at", required_argument, NULL, 'a' },
		{ "junit", required_argument, NULL, 'J' },
		{ "trust-dir", required_argument, NULL, 't' },
		{ "collateral", required_argument, NULL, 'c' },
		{ "type", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*policy = NULL, *junit = NULL, *trust_dir = NULL;
	const char		*coll_dir = NULL, *type = NULL, *at_s = NULL;
	struct av_policy	*pol = NULL;
	struct av_policy_err	 pe;
	struct av_trust		*trust = NULL;
	struct av_collateral	*coll = NULL;
	struct tsuite		 s = { NULL, 0, 0 };
	int64_t			 at = 0;
	size_t			 npass = 0, w = 8;
	char			*r;
	int			 c, rc = AVC_EX_SOFTWARE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 'a':
			at_s = optarg;
			break;
		case 'J':
			junit = optarg;
			break;
		case 't':
			trust_dir = optarg;
			break;
		case 'c':
			coll_dir = optarg;
			break;
		case 'T':
			type = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (policy == NULL || optind >= argc)
		goto usage;
	if (at_s != NULL && av_time_parse(at_s, &at) == -1) {
		fprintf(stderr, "attestctl: --at: expected RFC 3339 or unix "
		    "seconds\n");
		return AVC_EX_USAGE;
	}
	if (type != NULL && av_backend_find(type) == NULL) {
		fprintf(stderr, "attestctl: unknown evidence type \"%s\"\n",
		    type);
		return AVC_EX_USAGE;
	}
	if (av_policy_load_file(policy, &pol, &pe) != 0) {
		fprintf(stderr, "%s: %s%s%s\n", pe.file[0] ? pe.file : policy,
		    pe.path, pe.path[0] ? ": " : "", pe.reason);
		return access(policy, R_OK) == 0 ? AVC_EX_USAGE :
		    AVC_EX_NOINPUT;
	}
	if (avc_env(trust_dir, coll_dir, NULL, &trust, &coll) == -1) {
		rc = AVC_EX_NOINPUT;
		goto out;
	}
	for (int i = optind; i < argc; i++)
		if (collect(&s, argv[i], 0) == -1) {
			fprintf(stderr, "attestctl: too many evidence files\n");
			goto out;
		}
	for (size_t i = 0; i < s.n; i++) {
		run_case(&s.v[i], pol, type, at, at_s != NULL, trust, coll);
		if (strlen(s.v[i].file) > w)
			w = strlen(s.v[i].file);
		if (s.v[i].pass && s.v[i].error == NULL)
			npass++;
	}
	if (w > 60)
		w = 60;
	printf("%-6s %-15s %-15s %-*s %s\n", "RESULT", "EXPECTED", "ACTUAL",
	    (int)w, "EVIDENCE", "REASONS");
	for (size_t i = 0; i < s.n; i++) {
		const struct tcase *tc = &s.v[i];

		r = tc->error ? strdup(tc->error) : joined(tc->reasons, ", ");
		printf("%-6s %-15s %-15s %-*s %s\n", tc->error ? "ERROR" :
		    tc->pass ? "pass" : "FAIL", tc->expect ? tc->expect : "-",
		    tc->actual ? tc->actual : "-", (int)w, tc->file,
		    r ? r : "");
		free(r);
	}
	printf("%zu evidence, %zu passed, %zu failed (policy %s)\n", s.n,
	    npass, s.n - npass, pol->ref);
	if (junit != NULL && write_junit(junit, &s, pol->ref, pol->id) == -1) {
		fprintf(stderr, "attestctl: --junit %s: %s\n", junit,
		    strerror(errno));
		rc = AVC_EX_NOINPUT;
		goto out;
	}
	rc = npass == s.n ? AVC_EX_OK : AVC_EX_FAIL;
 out:
	for (size_t i = 0; i < s.n; i++) {
		free(s.v[i].file);
		free(s.v[i].expect);
		free(s.v[i].actual);
		free(s.v[i].error);
		free(s.v[i].why);
		json_decref(s.v[i].want_reasons);
		json_decref(s.v[i].reasons);
		json_decref(s.v[i].codes);
	}
	free(s.v);
	av_collateral_free(coll);
	av_trust_free(trust);
	av_policy_free(pol);
	return rc;
 usage:
	fprintf(stderr, "usage: attestctl policy test --policy FILE [--at "
	    "TIME] [--junit FILE]\n"
	    "                             [--trust-dir DIR] [--collateral DIR] "
	    "[--type TYPE] EVIDENCE...\n");
	return AVC_EX_USAGE;
}

/*
 * attestctl policy check|diff|test: dispatch (argv[0] is "policy").
 * Returns the exit status.
 */
int
avc_policy(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return cmd_test(argc - 1, argv + 1);
	fprintf(stderr, "usage: attestctl policy check [--json] [--strict] "
	    "FILE...\n"
	    "       attestctl policy diff [--json] OLD NEW\n"
	    "       attestctl policy test --policy FILE [--at TIME] [--junit "
	    "FILE] EVIDENCE...\n");
	return AVC_EX_USAGE;
}
