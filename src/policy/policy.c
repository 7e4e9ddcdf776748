/*
 * attestd - reference-value policies: strict loading, compilation into
 * immutable structs, and the typed helpers backends use for their own
 * sections (docs/policies.md).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/policy.h"

#define AV_POLICY_MAX_BYTES	(4u << 20)
#define AV_POLICY_MAX_FILES	4096
#define AV_HEXLIST_MAX		4096

int
av_policy_errf(struct av_policy_err *perr, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	if (perr == NULL)
		return -1;
	snprintf(perr->path, sizeof(perr->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(perr->reason, sizeof(perr->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- helpers for sections ------------------------------------------- */

void
av_hexlist_cleanup(struct av_hexlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool
av_hexlist_contains(const struct av_hexlist *l, const uint8_t *p, size_t n)
{
	if (n != l->len)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->v[i], p, n) == 0)
			return true;
	return false;
}

json_t *
av_hexlist_json(const struct av_hexlist *l)
{
	json_t	*a = json_array();
	json_t	*h;

	for (size_t i = 0; a != NULL && i < l->n; i++) {
		if ((h = av_json_hex(l->v[i], l->len)) == NULL)
			break;
		json_array_append_new(a, h);
	}
	return a;
}

int
av_pol_keys(const json_t *obj, const char *path, const char *const allowed[],
    struct av_policy_err *perr)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(obj))
		return av_policy_errf(perr, path, "expected an object");
	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			return av_policy_errf(perr, sub, "unknown key \"%s\"", k);
		}
	}
	return 0;
}

static int
hex_one(const json_t *s, const char *path, size_t len, uint8_t **out,
    size_t *outlen, struct av_policy_err *perr)
{
	const char	*t;
	size_t		 tl;

	if (!json_is_string(s))
		return av_policy_errf(perr, path, "expected a hex string");
	t = json_string_value(s);
	tl = json_string_length(s);
	if (len != 0 && tl != 2 * len)
		return av_policy_errf(perr, path,
		    "expected %zu hex digits (%zu bytes), got %zu", 2 * len,
		    len, tl);
	if (tl == 0 || av_hex_decode(t, tl, out, outlen) != 0)
		return av_policy_errf(perr, path, "not a hex string");
	return 0;
}

int
av_pol_hexlist(const json_t *v, const char *path, size_t len,
    struct av_hexlist *out, struct av_policy_err *perr)
{
	char	 sub[256];
	size_t	 n, i, blen;
	uint8_t	*b = NULL;

	memset(out, 0, sizeof(*out));
	out->len = len;
	n = json_is_array(v) ? json_array_size(v) : 1;
	if (!json_is_array(v) && !json_is_string(v))
		return av_policy_errf(perr, path,
		    "expected a hex string or an array of them");
	if (n == 0)
		return av_policy_errf(perr, path,
		    "empty list: no value could ever match");
	if (n > AV_HEXLIST_MAX)
		return av_policy_errf(perr, path, "more than %d values",
		    AV_HEXLIST_MAX);
	if ((out->v = calloc(n, sizeof(*out->v))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;

		if (json_is_array(v))
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		else
			snprintf(sub, sizeof(sub), "%s", path);
		if (hex_one(e, sub, out->len, &b, &blen, perr) != 0)
			goto bad;
		if (out->len == 0)
			out->len = blen;
		else if (blen != out->len) {
			free(b);
			av_policy_errf(perr, sub,
			    "all values must have %zu bytes", out->len);
			goto bad;
		}
		if (av_hexlist_contains(out, b, blen)) {
			free(b);
			av_policy_errf(perr, sub, "duplicate value");
			goto bad;
		}
		out->v[out->n++] = b;
	}
	return 0;
 bad:
	av_hexlist_cleanup(out);
	return -1;
}

int
av_pol_bool(const json_t *v, const char *path, bool *out,
    struct av_policy_err *perr)
{
	if (!json_is_boolean(v))
		return av_policy_errf(perr, path, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

int
av_pol_uint(const json_t *v, const char *path, uint64_t max, uint64_t *out,
    struct av_policy_err *perr)
{
	json_int_t i;

	if (!json_is_integer(v))
		return av_policy_errf(perr, path, "expected an integer");
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return av_policy_errf(perr, path,
		    "expected an integer from 0 to %llu",
		    (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

/* ---- policies ------------------------------------------------------- */

void
av_policy_free(struct av_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsections; i++)
		if (p->sections[i].backend != NULL &&
		    p->sections[i].backend->policy_free != NULL)
			p->sections[i].backend->policy_free(
			    p->sections[i].compiled);
	free(p->sections);
	free(p->id);
	free(p->description);
	free(p->ref);
	free(p->tenant);
	for (size_t i = 0; i < p->nrequired; i++)
		free(p->required[i]);
	free(p->required);
	json_decref(p->source);
	free(p);
}

/*
 * Move p into a tenant's namespace ("<tenant>/<id>").  Returns 0 or -1
 * (out of memory; p unchanged).
 */
int
av_policy_scope(struct av_policy *p, const char *tenant)
{
	char	*id, *ref, *t;
	size_t	 n;

	n = strlen(tenant) + strlen(p->id) + 2;
	if ((id = malloc(n)) == NULL)
		return -1;
	snprintf(id, n, "%s/%s", tenant, p->id);
	if ((ref = malloc(n + 24)) == NULL) {
		free(id);
		return -1;
	}
	snprintf(ref, n + 24, "%s@%lld", id, (long long)p->version);
	if ((t = strdup(tenant)) == NULL) {
		free(id);
		free(ref);
		return -1;
	}
	free(p->id);
	free(p->ref);
	free(p->tenant);
	p->id = id;
	p->ref = ref;
	p->tenant = t;
	return 0;
}

static bool
valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static int
compile_freshness(const json_t *f, struct av_policy *p,
    struct av_policy_err *perr)
{
	static const char *const keys[] = { "nonce", "max_age_s", NULL };
	const json_t	*v;
	uint64_t	 u = 0;

	if (av_pol_keys(f, "freshness", keys, perr) != 0)
		return -1;
	if ((v = json_object_get(f, "nonce")) != NULL) {
		const char *s = json_string_value(v);

		if (s != NULL && strcmp(s, "required") == 0)
			p->nonce = AV_NONCE_REQUIRED;
		else if (s != NULL && strcmp(s, "optional") == 0)
			p->nonce = AV_NONCE_OPTIONAL;
		else
			return av_policy_errf(perr, "freshness.nonce",
			    "expected \"required\" or \"optional\"");
	}
	if ((v = json_object_get(f, "max_age_s")) != NULL) {
		if (av_pol_uint(v, "freshness.max_age_s", 366ull * 86400, &u,
		    perr) != 0)
			return -1;
		p->max_age_s = (int64_t)u;
	}
	return 0;
}

/*
 * "required": submod names that every request must carry (a CVM and its
 * GPUs: ["cpu", "gpu0", "gpu1"]); names as in requests, [a-z0-9_-]{1,32}.
 */
static int
compile_required(const json_t *v, struct av_policy *p,
    struct av_policy_err *perr)
{
	char	 sub[64];
	size_t	 i, j;
	json_t	*e;

	if (!json_is_array(v) || json_array_size(v) > 16)
		return av_policy_errf(perr, "required",
		    "expected an array of at most 16 submod names");
	if ((p->required = calloc(json_array_size(v) + 1,
	    sizeof(*p->required))) == NULL)
		return av_policy_errf(perr, "required", "out of memory");
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		snprintf(sub, sizeof(sub), "required[%zu]", i);
		if (s == NULL || strlen(s) == 0 || strlen(s) > 32 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
		    strlen(s))
			return av_policy_errf(perr, sub,
			    "expected a submod name: 1-32 of [a-z0-9_-]");
		for (j = 0; j < p->nrequired; j++)
			if (strcmp(p->required[j], s) == 0)
				return av_policy_errf(perr, sub,
				    "duplicate value");
		if ((p->required[p->nrequired] = strdup(s)) == NULL)
			return av_policy_errf(perr, sub, "out of memory");
		p->nrequired++;
	}
	return 0;
}

int
av_policy_compile(const json_t *doc, struct av_policy **out,
    struct av_policy_err *perr)
{
	static const char *const keys[] = { "id", "version", "description",
	    "freshness", "evidence", "required", "$schema", NULL };
	struct av_policy	*p;
	const json_t		*v, *ev;
	const char		*k;
	json_t			*sec;
	uint64_t		 ver = 0;
	char			 path[160];

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return av_policy_errf(perr, "", "out of memory");
	p->max_age_s = -1;
	p->nonce = AV_NONCE_OPTIONAL;
	if (!json_is_object(doc)) {
		av_policy_errf(perr, "", "a policy is a JSON object");
		goto bad;
	}
	if (av_pol_keys(doc, "", keys, perr) != 0) {
		/* "" + ".key" -> "key" */
		memmove(perr->path, perr->path + 1, strlen(perr->path));
		goto bad;
	}
	v = json_object_get(doc, "id");
	if (!json_is_string(v) || !valid_id(json_string_value(v))) {
		av_policy_errf(perr, "id", "expected 1-64 characters of "
		    "[A-Za-z0-9._-], not starting with '.' or '-'");
		goto bad;
	}
	p->id = strdup(json_string_value(v));
	if ((v = json_object_get(doc, "version")) == NULL) {
		av_policy_errf(perr, "version", "missing");
		goto bad;
	}
	if (av_pol_uint(v, "version", (1ull << 53), &ver, perr) != 0)
		goto bad;
	if (ver == 0) {
		av_policy_errf(perr, "version", "versions start at 1");
		goto bad;
	}
	p->version = (int64_t)ver;
	if ((v = json_object_get(doc, "description")) != NULL) {
		if (!json_is_string(v)) {
			av_policy_errf(perr, "description", "expected a string");
			goto bad;
		}
		p->description = strdup(json_string_value(v));
	}
	if ((v = json_object_get(doc, "required")) != NULL &&
	    compile_required(v, p, perr) != 0)
		goto bad;
	if ((v = json_object_get(doc, "freshness")) != NULL &&
	    compile_freshness(v, p, perr) != 0)
		goto bad;
	ev = json_object_get(doc, "evidence");
	if (!json_is_object(ev) || json_object_size(ev) == 0) {
		av_policy_errf(perr, "evidence", "expected an object with at "
		    "least one platform section");
		goto bad;
	}
	if ((p->sections = calloc(json_object_size(ev),
	    sizeof(*p->sections))) == NULL) {
		av_policy_errf(perr, "", "out of memory");
		goto bad;
	}
	json_object_foreach((json_t *)ev, k, sec) {
		const struct av_backend *b = av_backend_find(k);

		snprintf(path, sizeof(path), "evidence.%s", k);
		if (b == NULL) {
			av_policy_errf(perr, path, "unknown platform \"%s\"", k);
			goto bad;
		}
		if (b->policy_compile == NULL) {
			av_policy_errf(perr, path, "platform \"%s\" takes no "
			    "reference values yet", k);
			goto bad;
		}
		if (!json_is_object(sec)) {
			av_policy_errf(perr, path, "expected an object");
			goto bad;
		}
		if (b->policy_compile(sec, path,
		    &p->sections[p->nsections].compiled, perr) != 0)
			goto bad;
		p->sections[p->nsections++].backend = b;
	}
	if (p->id == NULL || (p->ref = malloc(strlen(p->id) + 24)) == NULL ||
	    (p->source = json_deep_copy(doc)) == NULL) {
		av_policy_errf(perr, "", "out of memory");
		goto bad;
	}
	snprintf(p->ref, strlen(p->id) + 24, "%s@%lld", p->id,
	    (long long)p->version);
	*out = p;
	return 0;
 bad:
	av_policy_free(p);
	return -1;
}

int
av_policy_load_file(const char *file, struct av_policy **out,
    struct av_policy_err *perr)
{
	json_t		*doc;
	json_error_t	 jerr;
	int		 rc;

	memset(perr, 0, sizeof(*perr));
	snprintf(perr->file, sizeof(perr->file), "%s", file);
	doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		snprintf(perr->path, sizeof(perr->path), "line %d column %d",
		    jerr.line, jerr.column);
		snprintf(perr->reason, sizeof(perr->reason), "%s", jerr.text);
		return -1;
	}
	rc = av_policy_compile(doc, out, perr);
	json_decref(doc);
	return rc;
}

const void *
av_policy_section(const struct av_policy *p, const struct av_backend *b)
{
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < p->nsections; i++)
		if (p->sections[i].backend == b)
			return p->sections[i].compiled;
	return NULL;
}

/* ---- sets ----------------------------------------------------------- */

struct av_policy_set {
	size_t			 n;
	struct av_policy	**v;
};

void
av_policy_set_free(struct av_policy_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		av_policy_free(s->v[i]);
	free(s->v);
	free(s);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Tenant directory names: 1-64 of [A-Za-z0-9._@-], no leading '.' or '-'. */
static bool
valid_tenant(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("._-@", s[i]) == NULL)
			return false;
	return true;
}

/*
 * Sorted names of dir's entries: policy files (want_dirs false: *.json
 * but schema.json) or directories.  Names starting with '.' are skipped.
 */
static int
scan_dir(const char *dir, bool want_dirs, char ***out, size_t *nout,
    size_t *budget, struct av_policy_err *perr)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**names = NULL, **nn, path[4096];
	size_t		 nnames = 0;

	*out = NULL;
	*nout = 0;
	if ((d = opendir(dir)) == NULL) {
		if (want_dirs && errno == ENOENT)
			return 0;
		snprintf(perr->file, sizeof(perr->file), "%s", dir);
		return av_policy_errf(perr, "", "cannot open policy "
		    "directory: %s", strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		size_t	l = strlen(de->d_name);
		bool	is_dir;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
		if (want_dirs != is_dir)
			continue;
		if (!want_dirs && (l < 6 ||
		    strcmp(de->d_name + l - 5, ".json") != 0 ||
		    strcmp(de->d_name, "schema.json") == 0))
			continue;
		if (*budget == 0) {
			av_policy_errf(perr, "", "more than %d policy files",
			    AV_POLICY_MAX_FILES);
			goto fail;
		}
		(*budget)--;
		if ((nn = realloc(names, (nnames + 1) * sizeof(*names))) ==
		    NULL)
			goto oom;
		names = nn;
		if ((names[nnames] = strdup(de->d_name)) == NULL)
			goto oom;
		nnames++;
	}
	closedir(d);
	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), cmp_names);
	*out = names;
	*nout = nnames;
	return 0;
 oom:
	av_policy_errf(perr, "", "out of memory");
 fail:
	closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return -1;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Load the policy files of one namespace directory into s. */
static int
load_ns(struct av_policy_set *s, const char *dir, const char *tenant,
    size_t *budget, struct av_policy_err *perr)
{
	char	**names, path[4096];
	size_t	  nnames, i;
	int	  rc = -1;

	if (scan_dir(dir, false, &names, &nnames, budget, perr) != 0)
		return -1;
	for (i = 0; i < nnames; i++) {
		struct av_policy	*p, **nv;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (av_policy_load_file(path, &p, perr) != 0)
			goto out;
		if (tenant != NULL && av_policy_scope(p, tenant) != 0) {
			av_policy_free(p);
			av_policy_errf(perr, "", "out of memory");
			goto out;
		}
		if (av_policy_set_find(s, p->id) != NULL) {
			av_policy_errf(perr, "id", "duplicate policy id \"%s\"",
			    p->id);
			av_policy_free(p);
			goto out;
		}
		if ((nv = realloc(s->v, (s->n + 1) * sizeof(*s->v))) == NULL) {
			av_policy_free(p);
			av_policy_errf(perr, "", "out of memory");
			goto out;
		}
		s->v = nv;
		s->v[s->n++] = p;
	}
	rc = 0;
 out:
	free_strv(names, nnames);
	return rc;
}

int
av_policy_set_load_dir(const char *dir, struct av_policy_set **out,
    struct av_policy_err *perr)
{
	struct av_policy_set	*s;
	char			**tenants = NULL, tdir[4096], path[4400];
	size_t			  ntenants = 0, budget = AV_POLICY_MAX_FILES;
	int			  rc = -1;

	memset(perr, 0, sizeof(*perr));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return av_policy_errf(perr, "", "out of memory");
	if (load_ns(s, dir, NULL, &budget, perr) != 0)
		goto out;
	/* Tenant namespaces: dir/tenants/<tenant>/<id>.json. */
	snprintf(tdir, sizeof(tdir), "%s/tenants", dir);
	if (scan_dir(tdir, true, &tenants, &ntenants, &budget, perr) != 0)
		goto out;
	for (size_t i = 0; i < ntenants; i++) {
		snprintf(path, sizeof(path), "%s/%s", tdir, tenants[i]);
		if (!valid_tenant(tenants[i])) {
			snprintf(perr->file, sizeof(perr->file), "%.511s", path);
			av_policy_errf(perr, "", "not a valid tenant name "
			    "(1-64 of [A-Za-z0-9._@-])");
			goto out;
		}
		if (load_ns(s, path, tenants[i], &budget, perr) != 0)
			goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
 out:
	free_strv(tenants, ntenants);
	av_policy_set_free(s);
	return rc;
}

const struct av_policy *
av_policy_set_find(const struct av_policy_set *s, const char *id)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->v[i]->id, id) == 0)
			return s->v[i];
	return NULL;
}

size_t
av_policy_set_count(const struct av_policy_set *s)
{
	return s == NULL ? 0 : s->n;
}

const struct av_policy *
av_policy_set_at(const struct av_policy_set *s, size_t i)
{
	return (s == NULL || i >= s->n) ? NULL : s->v[i];
}
