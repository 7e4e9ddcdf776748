/*
 * attestd - versioned policy storage on disk (include/av/policy_store.h,
 * docs/policies.md "Storage and versions"): atomic writes, one archived
 * file per version, tenant namespaces, rollback, delete, an append-only
 * JSON-lines audit log, and the reference-value diff that both the audit
 * log and `attestctl policy diff` use.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/policy_store.h"

#define VERSIONS_DIR	".versions"
#define TENANTS_DIR	"tenants"
#define AUDIT_FILE	".audit.jsonl"
#define LOCK_FILE	".lock"
#define MAX_DOC_BYTES	(4u << 20)
#define MAX_NAMES	4096
#define STALE_TMP_S	60

struct av_pstore {
	char	*root;		/* the policy directory (owned) */
	char	*audit;		/* root/.audit.jsonl (owned) */
};

static atomic_uint	tmp_counter;

/* ---- small helpers ------------------------------------------------------ */

static int pserr(struct av_pstore_err *, enum av_pstore_kind, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static int
pserr(struct av_pstore_err *pe, enum av_pstore_kind k, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	if (pe == NULL)
		return -1;
	pe->kind = k;
	snprintf(pe->perr.path, sizeof(pe->perr.path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(pe->perr.reason, sizeof(pe->perr.reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
ioerr(struct av_pstore_err *pe, const char *file, const char *what)
{
	int saved = errno;

	if (pe != NULL) {
		snprintf(pe->perr.file, sizeof(pe->perr.file), "%s", file);
		pserr(pe, AV_PS_IO, "", "%s", what);
		snprintf(pe->perr.reason + strlen(pe->perr.reason),
		    sizeof(pe->perr.reason) - strlen(pe->perr.reason), ": %s",
		    strerror(saved));
	}
	errno = saved;
	return -1;
}

static char *
pathf(const char *a, const char *b)
{
	size_t	 n = strlen(a) + strlen(b) + 2;
	char	*s;

	if ((s = malloc(n)) != NULL)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

static bool
id_chars(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

/* Tenant names follow the token file's rules, minus a leading dot. */
bool
av_pstore_valid_tenant(const char *s)
{
	return s != NULL && id_chars(s, "._-@");
}

/*
 * Split "id" or "tenant/id".  The local id follows the policy loader's
 * rules (docs/policies.md).  Returns false when either part is invalid.
 */
bool
av_pstore_split_id(const char *full, char tenant[65], const char **local)
{
	const char *slash;

	tenant[0] = '\0';
	if (full == NULL)
		return false;
	if ((slash = strchr(full, '/')) != NULL) {
		if ((size_t)(slash - full) > 64)
			return false;
		memcpy(tenant, full, (size_t)(slash - full));
		tenant[slash - full] = '\0';
		if (!av_pstore_valid_tenant(tenant))
			return false;
		full = slash + 1;
	}
	*local = full;
	return id_chars(full, "._-");
}

/* Read a whole small file; NULL with errno on failure. */
static char *
slurp(const char *file, size_t *len)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 r;
	size_t		 n = 0;
	int		 fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > MAX_DOC_BYTES) {
		if (errno == 0 || S_ISREG(st.st_mode))
			errno = EFBIG;
		else
			errno = EISDIR;
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* Parse a JSON file strictly; NULL when unreadable or not JSON. */
static json_t *
load_doc(const char *file)
{
	json_error_t	 je;
	json_t		*doc;
	size_t		 n;
	char		*buf;

	if ((buf = slurp(file, &n)) == NULL)
		return NULL;
	doc = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (doc == NULL)
		errno = EINVAL;
	return doc;
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char	buf[PATH_MAX];
	size_t	n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Write path atomically (temp file, fsync, rename, fsync dir).  Returns 0
 * or -1 with errno; the temp file never survives a failure.
 */
int
av_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode)
{
	char		 tmp[PATH_MAX], dir[PATH_MAX];
	const char	*slash = strrchr(path, '/'), *base;
	const uint8_t	*b = p;
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd, saved;

	base = slash ? slash + 1 : path;
	if (slash != NULL)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld.%u", dir, base,
	    (long)getpid(), atomic_fetch_add(&tmp_counter, 1)) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) ==
	    -1)
		return -1;
	while (off < n) {
		w = write(fd, b + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return fsync_dir(dir);
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

/* The stored form: indented, in key order, ending with a newline. */
char *
av_policy_dump(const json_t *doc)
{
	char	*s, *t;
	size_t	 n;

	if ((s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL)
		return NULL;
	n = strlen(s);
	if ((t = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return t;
}

static int
write_doc(const char *file, const json_t *doc)
{
	char	*s;
	int	 rc;

	if ((s = av_policy_dump(doc)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = av_file_write_atomic(file, s, strlen(s), 0644);
	free(s);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Sorted names in dir: want 'f' regular files ending in suffix (or any
 * when suffix is NULL), 'd' directories; names starting with '.' are
 * skipped.  A missing dir is an empty list.  Returns 0 or -1.
 */
static int
list_dir(const char *dir, char kind, const char *suffix, char ***out,
    size_t *nout)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**v = NULL, **nv, *full;
	size_t		 n = 0, l, sl = suffix ? strlen(suffix) : 0;
	bool		 is_dir;

	*out = NULL;
	*nout = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= sl ||
		    (suffix && strcmp(de->d_name + l - sl, suffix) != 0))
			continue;
		if ((full = pathf(dir, de->d_name)) == NULL)
			goto fail;
		is_dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
		free(full);
		if (kind == 'd' ? !is_dir : is_dir)
			continue;
		if (n == MAX_NAMES) {
			errno = E2BIG;
			goto fail;
		}
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			goto fail;
		v = nv;
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*nout = n;
	return 0;
 fail:
	closedir(d);
	free_names(v, n);
	return -1;
}

static char *
ns_dir(const struct av_pstore *ps, const char *tenant)
{
	char	*t, *d;

	if (tenant == NULL || tenant[0] == '\0')
		return strdup(ps->root);
	if ((t = pathf(ps->root, TENANTS_DIR)) == NULL)
		return NULL;
	d = pathf(t, tenant);
	free(t);
	return d;
}

/* ns/.versions/<local> */
static char *
versions_dir(const char *ns, const char *local)
{
	char	*v, *d;

	if ((v = pathf(ns, VERSIONS_DIR)) == NULL)
		return NULL;
	d = pathf(v, local);
	free(v);
	return d;
}

static char *
version_file(const char *ns, const char *local, int64_t ver)
{
	char	name[40], *vd, *f;

	if ((vd = versions_dir(ns, local)) == NULL)
		return NULL;
	snprintf(name, sizeof(name), "v%lld.json", (long long)ver);
	f = pathf(vd, name);
	free(vd);
	return f;
}

/* "v<N>.json" -> N, or 0. */
static int64_t
version_of_name(const char *s)
{
	char		*end;
	long long	 v;

	if (s[0] != 'v' || !isdigit((unsigned char)s[1]))
		return 0;
	errno = 0;
	v = strtoll(s + 1, &end, 10);
	if (errno != 0 || v <= 0 || strcmp(end, ".json") != 0)
		return 0;
	return (int64_t)v;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Archived versions of ns/local, ascending (malloc'd). */
static int
archived(const char *ns, const char *local, int64_t **out, size_t *nout)
{
	char	**names, *vd;
	size_t	  n, k = 0;
	int64_t	 *v = NULL;

	*out = NULL;
	*nout = 0;
	if ((vd = versions_dir(ns, local)) == NULL)
		return -1;
	if (list_dir(vd, 'f', ".json", &names, &n) == -1) {
		free(vd);
		return -1;
	}
	free(vd);
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL) {
		free_names(names, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((v[k] = version_of_name(names[i])) > 0)
			k++;
	free_names(names, n);
	if (k > 0)
		qsort(v, k, sizeof(*v), cmp_i64);
	*out = v;
	*nout = k;
	return 0;
}

static int64_t
doc_version(const json_t *doc)
{
	const json_t *v = json_object_get(doc, "version");

	return json_is_integer(v) && json_integer_value(v) > 0 ?
	    (int64_t)json_integer_value(v) : 0;
}

static const char *
doc_id(const json_t *doc)
{
	return json_string_value(json_object_get(doc, "id"));
}

/*
 * Find the current file of local in ns: "<local>.json" when its "id" is
 * local, else any *.json whose "id" is.  *file and *doc are NULL when
 * there is none.  *clash is set when "<local>.json" holds another id.
 * Returns 0 or -1 (I/O).
 */
static int
locate(const char *ns, const char *local, char **file, json_t **doc,
    bool *clash)
{
	char	 name[80], *f, **names;
	json_t	*d;
	size_t	 n;
	int	 rc = 0;

	*file = NULL;
	*doc = NULL;
	if (clash != NULL)
		*clash = false;
	snprintf(name, sizeof(name), "%s.json", local);
	if ((f = pathf(ns, name)) == NULL)
		return -1;
	if ((d = load_doc(f)) != NULL) {
		const char *id = doc_id(d);

		if (id != NULL && strcmp(id, local) == 0) {
			*file = f;
			*doc = d;
			return 0;
		}
		if (clash != NULL)
			*clash = true;
		json_decref(d);
	}
	free(f);
	if (list_dir(ns, 'f', ".json", &names, &n) == -1)
		return -1;
	for (size_t i = 0; i < n && *file == NULL; i++) {
		if (strcmp(names[i], "schema.json") == 0 ||
		    strcmp(names[i], name) == 0)
			continue;
		if ((f = pathf(ns, names[i])) == NULL) {
			rc = -1;
			break;
		}
		d = load_doc(f);
		if (d != NULL && doc_id(d) != NULL &&
		    strcmp(doc_id(d), local) == 0) {
			*file = f;
			*doc = d;
			break;
		}
		json_decref(d);
		free(f);
	}
	free_names(names, n);
	return rc;
}

/* An exclusive lock across threads and processes (own open per call). */
static int
lock_store(const struct av_pstore *ps)
{
	char	*f;
	int	 fd;

	if ((f = pathf(ps->root, LOCK_FILE)) == NULL)
		return -1;
	fd = open(f, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(f);
	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void
unlock_store(int fd)
{
	if (fd != -1)
		close(fd);	/* releases the flock */
}

/* Remove temp files older than STALE_TMP_S in dir. */
static void
clean_tmp(const char *dir, time_t now)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*f;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strstr(de->d_name, ".tmp.") == NULL)
			continue;
		if ((f = pathf(dir, de->d_name)) == NULL)
			break;
		if (lstat(f, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime + STALE_TMP_S < now)
			(void)unlink(f);
		free(f);
	}
	closedir(d);
}

static void
clean_ns(const char *ns, time_t now)
{
	char	*vd, *d, **names;
	size_t	 n;

	clean_tmp(ns, now);
	if ((vd = pathf(ns, VERSIONS_DIR)) == NULL)
		return;
	if (list_dir(vd, 'd', NULL, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if ((d = pathf(vd, names[i])) != NULL) {
				clean_tmp(d, now);
				free(d);
			}
		free_names(names, n);
	}
	free(vd);
}

/*
 * Open the store at dir.  Returns 0 and *out, or -1 with *pe (IO when
 * dir is not a directory).
 */
int
av_pstore_open(const char *dir, struct av_pstore **out,
    struct av_pstore_err *pe)
{
	struct av_pstore	*ps;
	struct stat		 st;
	char			*td, *d, **names;
	size_t			 n;
	time_t			 now = time(NULL);

	memset(pe, 0, sizeof(*pe));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		if (errno == 0)
			errno = ENOTDIR;
		return ioerr(pe, dir, "cannot open the policy directory");
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->root = strdup(dir)) == NULL ||
	    (ps->audit = pathf(dir, AUDIT_FILE)) == NULL) {
		av_pstore_free(ps);
		return pserr(pe, AV_PS_IO, "", "out of memory");
	}
	clean_ns(dir, now);
	if ((td = pathf(dir, TENANTS_DIR)) != NULL &&
	    list_dir(td, 'd', NULL, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if ((d = pathf(td, names[i])) != NULL) {
				clean_ns(d, now);
				free(d);
			}
		free_names(names, n);
	}
	free(td);
	*out = ps;
	return 0;
}

/* Free a store handle (NULL-safe); files are untouched. */
void
av_pstore_free(struct av_pstore *ps)
{
	if (ps == NULL)
		return;
	free(ps->root);
	free(ps->audit);
	free(ps);
}

/* The audit log file (borrowed). */
const char *
av_pstore_audit_path(const struct av_pstore *ps)
{
	return ps->audit;
}

/* ---- audit -------------------------------------------------------------- */

/*
 * Append entry (an object; "time" is set, RFC 3339 UTC) as one line.  The
 * wall clock is right here: this is a record of when a change was made,
 * not a verification time.  Returns 0 or -1 (errno).
 */
int
av_pstore_audit(struct av_pstore *ps, json_t *entry)
{
	struct timespec	 ts;
	char		 t[64], *line;
	size_t		 n;
	ssize_t		 w;
	int		 fd, rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	av_time_format((int64_t)ts.tv_sec, t, sizeof(t));
	json_object_set_new(entry, "time", json_string(t));
	if ((line = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return -1;
	n = strlen(line);
	line[n] = '\n';	/* json_dumps leaves room: replace the NUL */
	if ((fd = open(ps->audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		goto out;
	w = write(fd, line, n + 1);	/* one write: lines never interleave */
	if (w == (ssize_t)(n + 1) && fsync(fd) == 0)
		rc = 0;
	close(fd);
 out:
	free(line);
	return rc;
}

static json_t *
jint_or_null(int64_t v)
{
	return v > 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *
audit_entry(const char *action, const char *id, const char *tenant,
    const struct av_pstore_actor *who, int64_t old_v, int64_t new_v,
    const json_t *old_doc, const json_t *new_doc)
{
	json_t *e, *d;

	if ((d = av_policy_diff(old_doc, new_doc)) == NULL)
		return NULL;
	e = json_pack("{ssssssso}", "action", action, "policy", id,
	    "source", who && who->source ? who->source : "api", "changes", d);
	if (e == NULL)
		return NULL;
	json_object_set_new(e, "tenant", tenant && *tenant ?
	    json_string(tenant) : json_null());
	json_object_set_new(e, "token", who && who->token ?
	    json_string(who->token) : json_null());
	json_object_set_new(e, "old_version", jint_or_null(old_v));
	json_object_set_new(e, "new_version", jint_or_null(new_v));
	return e;
}

/* ---- reads -------------------------------------------------------------- */

struct idref {
	char		 tenant[65];
	const char	*local;
	char		*ns;
};

static int
resolve(const struct av_pstore *ps, const char *id, struct idref *r,
    struct av_pstore_err *pe)
{
	memset(pe, 0, sizeof(*pe));
	r->ns = NULL;
	if (!av_pstore_split_id(id, r->tenant, &r->local))
		return pserr(pe, AV_PS_BAD_ID, "id", "expected [TENANT/]ID: "
		    "1-64 characters of [A-Za-z0-9._-] each");
	if ((r->ns = ns_dir(ps, r->tenant)) == NULL)
		return pserr(pe, AV_PS_IO, "", "out of memory");
	return 0;
}

/*
 * A version of id (0: current).  Returns 0 and *doc, or -1 with *pe.
 */
int
av_pstore_get(struct av_pstore *ps, const char *id, int64_t version,
    json_t **doc, struct av_pstore_err *pe)
{
	struct idref	 r;
	char		*file = NULL;
	json_t		*cur = NULL;
	int		 rc = -1;

	*doc = NULL;
	if (resolve(ps, id, &r, pe) == -1)
		goto out;
	if (locate(r.ns, r.local, &file, &cur, NULL) == -1) {
		ioerr(pe, r.ns, "cannot read the policy directory");
		goto out;
	}
	if (version == 0 || (cur != NULL && doc_version(cur) == version)) {
		if (cur == NULL) {
			pserr(pe, AV_PS_NOT_FOUND, "", "no such policy");
			goto out;
		}
		*doc = cur;
		cur = NULL;
		rc = 0;
		goto out;
	}
	free(file);
	if ((file = version_file(r.ns, r.local, version)) == NULL ||
	    (*doc = load_doc(file)) == NULL) {
		pserr(pe, AV_PS_NOT_FOUND, "version", "no such version");
		goto out;
	}
	rc = 0;
 out:
	json_decref(cur);
	free(file);
	free(r.ns);
	return rc;
}

/* Versions kept for id and the current one.  Returns 0 or -1 with *pe. */
int
av_pstore_versions(struct av_pstore *ps, const char *id, json_t **list,
    int64_t *current, struct av_pstore_err *pe)
{
	struct idref	 r;
	char		*file = NULL;
	json_t		*cur = NULL, *a = NULL;
	int64_t		*v = NULL, cv = 0;
	size_t		 n = 0;
	bool		 seen = false;
	int		 rc = -1;

	*list = NULL;
	*current = 0;
	if (resolve(ps, id, &r, pe) == -1)
		goto out;
	if (locate(r.ns, r.local, &file, &cur, NULL) == -1 ||
	    archived(r.ns, r.local, &v, &n) == -1) {
		ioerr(pe, r.ns, "cannot read the policy directory");
		goto out;
	}
	cv = cur != NULL ? doc_version(cur) : 0;
	if (cur == NULL && n == 0) {
		pserr(pe, AV_PS_NOT_FOUND, "", "no such policy");
		goto out;
	}
	if ((a = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (cv > 0 && !seen && cv < v[i]) {
			json_array_append_new(a, json_integer(cv));
			seen = true;
		}
		if (v[i] == cv)
			seen = true;
		json_array_append_new(a, json_integer(v[i]));
	}
	if (cv > 0 && !seen)
		json_array_append_new(a, json_integer(cv));
	*list = a;
	a = NULL;
	*current = cv;
	rc = 0;
 out:
	json_decref(a);
	json_decref(cur);
	free(v);
	free(file);
	free(r.ns);
	return rc;
}

/* ---- writes ------------------------------------------------------------- */

static int
check_if_match(int64_t if_match, int64_t cur, struct av_pstore_err *pe)
{
	if (if_match < 0 || if_match == cur)
		return 0;
	pe->current = cur;
	return pserr(pe, AV_PS_CONFLICT, "", "%s", if_match == 0 ?
	    "the policy already exists (If-None-Match: *)" :
	    "stale version: the policy changed since it was read (If-Match)");
}

/* Archive doc as ns/.versions/local/v<version>.json unless it is there. */
static int
archive(const char *ns, const char *local, const json_t *doc,
    struct av_pstore_err *pe)
{
	char		*vd = NULL, *f = NULL;
	struct stat	 st;
	int		 rc = -1;

	if ((vd = versions_dir(ns, local)) == NULL ||
	    (f = version_file(ns, local, doc_version(doc))) == NULL) {
		pserr(pe, AV_PS_IO, "", "out of memory");
		goto out;
	}
	if (stat(f, &st) == 0) {
		rc = 0;
		goto out;
	}
	if (mkdir_p(vd, 0755) == -1 || write_doc(f, doc) == -1) {
		ioerr(pe, f, "cannot archive a policy version");
		goto out;
	}
	rc = 0;
 out:
	free(vd);
	free(f);
	return rc;
}

static int64_t
max_version(const char *ns, const char *local, const json_t *cur)
{
	int64_t	*v = NULL, m = cur ? doc_version(cur) : 0;
	size_t	 n = 0;

	if (archived(ns, local, &v, &n) == 0 && n > 0 && v[n - 1] > m)
		m = v[n - 1];
	free(v);
	return m;
}

/*
 * The common path of put and rollback, with the store locked: compile,
 * archive, write the current file, audit.
 */
static int
store_doc(struct av_pstore *ps, const char *id, const json_t *in,
    int64_t if_match, const struct av_pstore_actor *who, const char *action,
    int64_t rollback_to, int64_t *version, json_t **change,
    struct av_pstore_err *pe)
{
	struct idref		 r;
	struct av_policy	*pol = NULL;
	char			*file = NULL, name[80];
	json_t			*cur = NULL, *doc = NULL, *entry = NULL;
	const json_t		*v;
	int64_t			 cv, nv;
	bool			 clash;
	int			 rc = -1;

	if (resolve(ps, id, &r, pe) == -1)
		goto out;
	if (!json_is_object(in)) {
		pserr(pe, AV_PS_INVALID, "", "a policy is a JSON object");
		goto out;
	}
	if ((v = json_object_get(in, "id")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), r.local) != 0)) {
		pserr(pe, AV_PS_INVALID, "id", "must be absent or equal to the "
		    "id in the path (\"%s\")", r.local);
		goto out;
	}
	if (locate(r.ns, r.local, &file, &cur, &clash) == -1) {
		ioerr(pe, r.ns, "cannot read the policy directory");
		goto out;
	}
	cv = cur != NULL ? doc_version(cur) : 0;
	if (check_if_match(if_match, cv, pe) == -1)
		goto out;
	if (file == NULL && clash) {
		snprintf(name, sizeof(name), "%s.json", r.local);
		pserr(pe, AV_PS_CONFLICT, "", "the file %s holds another "
		    "policy; rename it first", name);
		goto out;
	}
	nv = max_version(r.ns, r.local, cur) + 1;
	if ((doc = json_deep_copy(in)) == NULL ||
	    json_object_set_new(doc, "id", json_string(r.local)) == -1 ||
	    json_object_set_new(doc, "version", json_integer(nv)) == -1) {
		pserr(pe, AV_PS_IO, "", "out of memory");
		goto out;
	}
	/* Keep "id" and "version" first, as people write them. */
	{
		json_t *o = json_pack("{sOsO}", "id", json_object_get(doc,
		    "id"), "version", json_object_get(doc, "version"));

		if (o == NULL || json_object_update(o, doc) == -1) {
			json_decref(o);
			pserr(pe, AV_PS_IO, "", "out of memory");
			goto out;
		}
		json_decref(doc);
		doc = o;
	}
	if (av_policy_compile(doc, &pol, &pe->perr) != 0) {
		pe->kind = AV_PS_INVALID;
		goto out;
	}
	if (file == NULL) {
		snprintf(name, sizeof(name), "%s.json", r.local);
		if (mkdir_p(r.ns, 0755) == -1 ||
		    (file = pathf(r.ns, name)) == NULL) {
			ioerr(pe, r.ns, "cannot create the namespace directory");
			goto out;
		}
	}
	/* The version being replaced stays reachable for a rollback. */
	if ((cur != NULL && archive(r.ns, r.local, cur, pe) == -1) ||
	    archive(r.ns, r.local, doc, pe) == -1)
		goto out;
	if (write_doc(file, doc) == -1) {
		ioerr(pe, file, "cannot write the policy");
		goto out;
	}
	entry = audit_entry(action, id, r.tenant, who, cv, nv, cur, doc);
	if (entry != NULL && rollback_to > 0)
		json_object_set_new(entry, "rollback_to",
		    json_integer((json_int_t)rollback_to));
	if (entry == NULL || av_pstore_audit(ps, entry) == -1) {
		ioerr(pe, ps->audit, "the policy was stored but the audit "
		    "log could not be written");
		*version = nv;
		goto out;
	}
	*version = nv;
	if (change != NULL) {
		*change = entry;
		entry = NULL;
	}
	rc = 0;
 out:
	av_policy_free(pol);
	json_decref(entry);
	json_decref(doc);
	json_decref(cur);
	free(file);
	free(r.ns);
	return rc;
}

/* Store doc as a new version of id (see the header).  Returns 0 or -1. */
int
av_pstore_put(struct av_pstore *ps, const char *id, const json_t *doc,
    int64_t if_match, const struct av_pstore_actor *who, int64_t *version,
    json_t **change, struct av_pstore_err *pe)
{
	int lk, rc;

	memset(pe, 0, sizeof(*pe));
	if (change != NULL)
		*change = NULL;
	if ((lk = lock_store(ps)) == -1)
		return ioerr(pe, ps->root, "cannot lock the policy directory");
	rc = store_doc(ps, id, doc, if_match, who, "put", 0, version, change,
	    pe);
	unlock_store(lk);
	return rc;
}

/* Make version `to` current again as a new version.  Returns 0 or -1. */
int
av_pstore_rollback(struct av_pstore *ps, const char *id, int64_t to,
    int64_t if_match, const struct av_pstore_actor *who, int64_t *version,
    json_t **change, struct av_pstore_err *pe)
{
	struct idref	 r;
	char		*f = NULL;
	json_t		*old = NULL;
	int		 lk, rc = -1;

	if (change != NULL)
		*change = NULL;
	if (resolve(ps, id, &r, pe) == -1)
		return -1;
	if ((lk = lock_store(ps)) == -1) {
		free(r.ns);
		return ioerr(pe, ps->root, "cannot lock the policy directory");
	}
	if (to <= 0 || (f = version_file(r.ns, r.local, to)) == NULL ||
	    (old = load_doc(f)) == NULL) {
		pserr(pe, AV_PS_NOT_FOUND, "to", "no such version");
		goto out;
	}
	rc = store_doc(ps, id, old, if_match, who, "rollback", to, version,
	    change, pe);
 out:
	unlock_store(lk);
	json_decref(old);
	free(f);
	free(r.ns);
	return rc;
}

/* Remove the current file of id (versions stay).  Returns 0 or -1. */
int
av_pstore_delete(struct av_pstore *ps, const char *id, int64_t if_match,
    const struct av_pstore_actor *who, json_t **change,
    struct av_pstore_err *pe)
{
	struct idref	 r;
	char		*file = NULL;
	json_t		*cur = NULL, *entry = NULL;
	int64_t		 cv;
	int		 lk = -1, rc = -1;

	if (change != NULL)
		*change = NULL;
	if (resolve(ps, id, &r, pe) == -1)
		return -1;
	if ((lk = lock_store(ps)) == -1) {
		ioerr(pe, ps->root, "cannot lock the policy directory");
		goto out;
	}
	if (locate(r.ns, r.local, &file, &cur, NULL) == -1) {
		ioerr(pe, r.ns, "cannot read the policy directory");
		goto out;
	}
	if (cur == NULL) {
		pserr(pe, AV_PS_NOT_FOUND, "", "no such policy");
		goto out;
	}
	cv = doc_version(cur);
	if (check_if_match(if_match, cv, pe) == -1 ||
	    (cv > 0 && archive(r.ns, r.local, cur, pe) == -1))
		goto out;
	if (unlink(file) == -1 || fsync_dir(r.ns) == -1) {
		ioerr(pe, file, "cannot remove the policy");
		goto out;
	}
	if ((entry = audit_entry("delete", id, r.tenant, who, cv, 0, cur,
	    NULL)) == NULL || av_pstore_audit(ps, entry) == -1) {
		ioerr(pe, ps->audit, "the policy was removed but the audit "
		    "log could not be written");
		goto out;
	}
	if (change != NULL) {
		*change = entry;
		entry = NULL;
	}
	rc = 0;
 out:
	unlock_store(lk);
	json_decref(entry);
	json_decref(cur);
	free(file);
	free(r.ns);
	return rc;
}

/* Archive and audit the current documents of one namespace. */
static int
sync_ns(struct av_pstore *ps, const char *tenant,
    const struct av_pstore_actor *who, json_t *changes,
    struct av_pstore_err *pe)
{
	char			*ns, **names = NULL, *f = NULL, *vf = NULL;
	char			 full[160], suffix[32];
	size_t			 n = 0;
	json_t			*doc = NULL, *old = NULL, *entry;
	struct av_policy	*pol;
	struct av_policy_err	 perr;
	int64_t			*v, prev, ver;
	size_t			 nv;
	uint8_t			 h[32];
	int			 rc = -1;

	if ((ns = ns_dir(ps, tenant)) == NULL)
		return pserr(pe, AV_PS_IO, "", "out of memory");
	if (list_dir(ns, 'f', ".json", &names, &n) == -1) {
		ioerr(pe, ns, "cannot read the policy directory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *local;

		free(f);
		free(vf);
		json_decref(doc);
		json_decref(old);
		f = vf = NULL;
		doc = old = NULL;
		if (strcmp(names[i], "schema.json") == 0 ||
		    (f = pathf(ns, names[i])) == NULL ||
		    (doc = load_doc(f)) == NULL)
			continue;
		/* Only documents that load are archived. */
		if (av_policy_compile(doc, &pol, &perr) != 0)
			continue;
		av_policy_free(pol);
		local = doc_id(doc);
		ver = doc_version(doc);
		if ((vf = version_file(ns, local, ver)) == NULL)
			goto out;
		snprintf(full, sizeof(full), "%s%s%s", tenant ? tenant : "",
		    tenant ? "/" : "", local);
		if ((old = load_doc(vf)) != NULL) {
			char	*s, *alt;

			if (json_equal(old, doc))
				continue;
			/* Version number reused with other content. */
			if ((s = av_policy_dump(doc)) == NULL)
				goto out;
			av_sha256((const uint8_t *)s, strlen(s), h);
			free(s);
			snprintf(suffix, sizeof(suffix), ".%02x%02x%02x%02x",
			    h[0], h[1], h[2], h[3]);
			if ((alt = malloc(strlen(vf) + sizeof(suffix))) == NULL)
				goto out;
			memcpy(alt, vf, strlen(vf) - 5);	/* ".json" */
			snprintf(alt + strlen(vf) - 5, sizeof(suffix) + 5,
			    "%s.json", suffix);
			if (access(alt, F_OK) == 0) {
				free(alt);
				continue;
			}
			if (write_doc(alt, doc) == -1) {
				ioerr(pe, alt, "cannot archive a policy "
				    "version");
				free(alt);
				goto out;
			}
			free(alt);
			entry = audit_entry("version_reused", full, tenant,
			    who, ver, ver, old, doc);
		} else {
			if (archived(ns, local, &v, &nv) == -1)
				goto out;
			prev = 0;
			for (size_t k = 0; k < nv; k++)
				if (v[k] < ver)
					prev = v[k];
			free(v);
			if (prev > 0) {
				char *pf = version_file(ns, local, prev);

				old = pf ? load_doc(pf) : NULL;
				free(pf);
			}
			if (archive(ns, local, doc, pe) == -1)
				goto out;
			entry = audit_entry("sync", full, tenant, who, prev, ver,
			    old, doc);
		}
		if (entry == NULL || av_pstore_audit(ps, entry) == -1) {
			json_decref(entry);
			ioerr(pe, ps->audit, "cannot write the audit log");
			goto out;
		}
		if (changes != NULL)
			json_array_append(changes, entry);
		json_decref(entry);
	}
	rc = 0;
 out:
	free(f);
	free(vf);
	json_decref(doc);
	json_decref(old);
	free_names(names, n);
	free(ns);
	return rc;
}

/* Archive and audit on-disk edits in every namespace.  Returns 0 or -1. */
int
av_pstore_sync(struct av_pstore *ps, const struct av_pstore_actor *who,
    json_t **changes, struct av_pstore_err *pe)
{
	json_t	*all = json_array();
	char	*td = NULL, **names = NULL;
	size_t	 n = 0;
	int	 lk, rc = -1;

	memset(pe, 0, sizeof(*pe));
	if (changes != NULL)
		*changes = NULL;
	if (all == NULL)
		return pserr(pe, AV_PS_IO, "", "out of memory");
	if ((lk = lock_store(ps)) == -1) {
		json_decref(all);
		return ioerr(pe, ps->root, "cannot lock the policy directory");
	}
	if (sync_ns(ps, NULL, who, all, pe) == -1)
		goto out;
	if ((td = pathf(ps->root, TENANTS_DIR)) == NULL ||
	    list_dir(td, 'd', NULL, &names, &n) == -1) {
		ioerr(pe, ps->root, "cannot read the tenants directory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (av_pstore_valid_tenant(names[i]) &&
		    sync_ns(ps, names[i], who, all, pe) == -1)
			goto out;
	rc = 0;
 out:
	unlock_store(lk);
	free_names(names, n);
	free(td);
	if (rc == 0 && changes != NULL)
		*changes = json_incref(all);
	json_decref(all);
	return rc;
}

/* ---- change detection --------------------------------------------------- */

struct sbuf {
	char	*p;
	size_t	 n, cap;
	bool	 oom;
};

static void
sb_add(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 k;
	char	*np;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n :
		    0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = true;
			return;
		}
		if (b->p != NULL && (size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		if ((np = realloc(b->p, b->cap + (size_t)k + 256)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap += (size_t)k + 256;
	}
}

/* One line per policy file of dir: name, inode, size, mtime. */
static void
fp_dir(struct sbuf *b, const char *dir, const char *label)
{
	char		**names, *f;
	size_t		 n;
	struct stat	 st;

	if (list_dir(dir, 'f', ".json", &names, &n) == -1) {
		sb_add(b, "%s: unreadable %d\n", label, errno);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((f = pathf(dir, names[i])) == NULL)
			continue;
		if (stat(f, &st) == 0)
			sb_add(b, "%s/%s %llu %lld %lld.%09ld\n", label,
			    names[i], (unsigned long long)st.st_ino,
			    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec);
		free(f);
	}
	free_names(names, n);
}

/*
 * A digest of every policy file's name, inode, size and mtime under dir
 * (root and tenants/<t>/).  Returns 0 or -1.
 */
int
av_pstore_fingerprint(const char *dir, uint8_t out[32])
{
	struct sbuf	 b = { NULL, 0, 0, false };
	char		*td, *d, **names;
	size_t		 n;

	sb_add(&b, "attestd policy fingerprint\n");
	fp_dir(&b, dir, ".");
	if ((td = pathf(dir, TENANTS_DIR)) != NULL &&
	    list_dir(td, 'd', NULL, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if ((d = pathf(td, names[i])) != NULL) {
				fp_dir(&b, d, names[i]);
				free(d);
			}
		free_names(names, n);
	}
	free(td);
	if (b.oom) {
		free(b.p);
		return -1;
	}
	av_sha256((const uint8_t *)b.p, b.n, out);
	free(b.p);
	return 0;
}

/* ---- diff --------------------------------------------------------------- */

static bool
looks_hex(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 != 0)
		return false;
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static bool
list_like(const json_t *v)
{
	return json_is_array(v) ||
	    (json_is_string(v) && looks_hex(json_string_value(v)));
}

/* A value of a list, normalised for comparison: hex in lower case. */
static json_t *
norm(const json_t *v)
{
	char	*s;
	json_t	*r;

	if (!json_is_string(v) || !looks_hex(json_string_value(v)))
		return json_deep_copy(v);
	if ((s = strdup(json_string_value(v))) == NULL)
		return NULL;
	for (char *p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	r = json_string(s);
	free(s);
	return r;
}

/* v as a list of normalised values (a scalar is a list of one). */
static json_t *
as_list(const json_t *v)
{
	json_t	*a = json_array();
	size_t	 i;
	json_t	*e;

	if (a == NULL || v == NULL)
		return a;
	if (!json_is_array(v)) {
		json_array_append_new(a, norm(v));
		return a;
	}
	json_array_foreach(v, i, e)
		json_array_append_new(a, norm(e));
	return a;
}

static bool
in_list(const json_t *a, const json_t *x)
{
	size_t	 i;
	json_t	*e;

	json_array_foreach(a, i, e)
		if (json_equal(e, x))
			return true;
	return false;
}

/* Elements of a that are not in b (new array). */
static json_t *
minus(const json_t *a, const json_t *b)
{
	json_t	*r = json_array(), *e;
	size_t	 i;

	if (r == NULL)
		return NULL;
	json_array_foreach(a, i, e)
		if (!in_list(b, e) && !in_list(r, e))
			json_array_append(r, e);
	return r;
}

static void
emit(json_t *out, const char *platform, const char *claim, json_t *fields)
{
	if (fields == NULL)
		return;
	json_object_set_new(fields, "platform", platform ?
	    json_string(platform) : json_null());
	json_object_set_new(fields, "claim", json_string(claim));
	json_array_append_new(out, fields);
}

static void walk(json_t *, const char *, const char *, const json_t *,
    const json_t *);

/* Sorted union of the keys of two objects (either may be NULL). */
static json_t *
key_union(const json_t *o, const json_t *n)
{
	json_t		*keys = json_array(), *dummy;
	const char	*k;
	char		**v;
	size_t		 cnt, i = 0;

	if (keys == NULL)
		return NULL;
	json_object_foreach((json_t *)o, k, dummy)
		json_array_append_new(keys, json_string(k));
	json_object_foreach((json_t *)n, k, dummy)
		if (json_object_get(o, k) == NULL)
			json_array_append_new(keys, json_string(k));
	cnt = json_array_size(keys);
	if (cnt == 0 || (v = calloc(cnt, sizeof(*v))) == NULL)
		return keys;
	json_array_foreach(keys, i, dummy)
		v[i] = (char *)json_string_value(dummy);
	qsort(v, cnt, sizeof(*v), cmp_str);
	{
		json_t *sorted = json_array();

		for (i = 0; sorted != NULL && i < cnt; i++)
			json_array_append_new(sorted, json_string(v[i]));
		free(v);
		json_decref(keys);
		return sorted;
	}
}

static void
walk(json_t *out, const char *platform, const char *claim, const json_t *o,
    const json_t *n)
{
	json_t	*keys, *k, *a, *b, *add, *rem;
	size_t	 i;
	char	 sub[512];

	if (o == NULL && n == NULL)
		return;
	if ((o == NULL || json_is_object(o)) &&
	    (n == NULL || json_is_object(n))) {
		if ((keys = key_union(o, n)) == NULL)
			return;
		json_array_foreach(keys, i, k) {
			const char *ks = json_string_value(k);

			snprintf(sub, sizeof(sub), "%s%s%s", claim,
			    claim[0] ? "." : "", ks);
			walk(out, platform, sub, o ? json_object_get(o, ks) :
			    NULL, n ? json_object_get(n, ks) : NULL);
		}
		json_decref(keys);
		return;
	}
	if (o != NULL && n != NULL && json_equal(o, n))
		return;
	if ((o == NULL || list_like(o)) && (n == NULL || list_like(n)) &&
	    (list_like(o) || list_like(n))) {
		a = as_list(o);
		b = as_list(n);
		add = a && b ? minus(b, a) : NULL;
		rem = a && b ? minus(a, b) : NULL;
		if (add != NULL && rem != NULL &&
		    (json_array_size(add) > 0 || json_array_size(rem) > 0)) {
			emit(out, platform, claim, json_pack("{soso}", "added",
			    add, "removed", rem));
			add = rem = NULL;
		}
		json_decref(add);
		json_decref(rem);
		json_decref(a);
		json_decref(b);
		return;
	}
	emit(out, platform, claim, json_pack("{sOsO}", "old",
	    o ? (json_t *)o : json_null(), "new",
	    n ? (json_t *)n : json_null()));
}

/* Reference values added and removed between two documents. */
json_t *
av_policy_diff(const json_t *old, const json_t *new)
{
	json_t		*out = json_array(), *keys, *k, *oe, *ne;
	size_t		 i;

	if (out == NULL)
		return NULL;
	/* Top level first (platform null), then each platform section. */
	if ((keys = key_union(json_is_object(old) ? old : NULL,
	    json_is_object(new) ? new : NULL)) == NULL) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach(keys, i, k) {
		const char *ks = json_string_value(k);

		if (strcmp(ks, "id") == 0 || strcmp(ks, "version") == 0 ||
		    strcmp(ks, "$schema") == 0 || strcmp(ks, "evidence") == 0)
			continue;
		walk(out, NULL, ks, old ? json_object_get(old, ks) : NULL,
		    new ? json_object_get(new, ks) : NULL);
	}
	json_decref(keys);
	oe = old ? json_object_get(old, "evidence") : NULL;
	ne = new ? json_object_get(new, "evidence") : NULL;
	if (!json_is_object(oe))
		oe = NULL;
	if (!json_is_object(ne))
		ne = NULL;
	if ((keys = key_union(oe, ne)) == NULL) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach(keys, i, k) {
		const char *ks = json_string_value(k);

		walk(out, ks, "", oe ? json_object_get(oe, ks) : NULL,
		    ne ? json_object_get(ne, ks) : NULL);
	}
	json_decref(keys);
	return out;
}

static void
sb_value(struct sbuf *b, const json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		sb_add(b, "%s", json_string_value(v));
		return;
	}
	if (v == NULL || json_is_null(v)) {
		sb_add(b, "(absent)");
		return;
	}
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_SORT_KEYS)) == NULL) {
		b->oom = true;
		return;
	}
	sb_add(b, "%s", s);
	free(s);
}

/* The diff as lines of text (malloc'd; "" when there is no change). */
char *
av_policy_diff_text(const json_t *diff)
{
	struct sbuf	 b = { NULL, 0, 0, false };
	json_t		*c, *v;
	size_t		 i, j;

	sb_add(&b, "%s", "");
	json_array_foreach(diff, i, c) {
		const char	*pl = json_string_value(json_object_get(c,
				    "platform"));
		const char	*cl = json_string_value(json_object_get(c,
				    "claim"));
		char		 head[600];

		snprintf(head, sizeof(head), "%s%s%s", pl ? pl : "",
		    pl ? " " : "", cl ? cl : "");
		if (json_object_get(c, "added") != NULL) {
			json_array_foreach(json_object_get(c, "removed"), j,
			    v) {
				sb_add(&b, "%s: - ", head);
				sb_value(&b, v);
				sb_add(&b, "\n");
			}
			json_array_foreach(json_object_get(c, "added"), j, v) {
				sb_add(&b, "%s: + ", head);
				sb_value(&b, v);
				sb_add(&b, "\n");
			}
			continue;
		}
		sb_add(&b, "%s: ", head);
		sb_value(&b, json_object_get(c, "old"));
		sb_add(&b, " -> ");
		sb_value(&b, json_object_get(c, "new"));
		sb_add(&b, "\n");
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
