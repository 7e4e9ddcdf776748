/*
 * attestd - collateral on disk: bounded file reads, folder walks, atomic
 * writes, and the import area of the cache (attestctl collateral import).
 *
 * Cache layout (docs/collateral.md):
 *   <cache_dir>/<hex SHA-256 of URL>.body   response body as received
 *   <cache_dir>/<hex SHA-256 of URL>.json   {url, fetched_at, status,
 *                                            sha256 (of body), headers}
 *   <cache_dir>/imported/<hex SHA-256 of content>.<ext>   imported files
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "av/collateral.h"
#include "av/log.h"
#include "coll.h"

void
coll_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int	len = 32;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);	/* not reached with the default provider */
}

void
coll_sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	static const char	 hx[] = "0123456789abcdef";
	uint8_t			 d[32];

	coll_sha256(p, n, d);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 0xf];
	}
	out[64] = '\0';
}

char *
coll_path(const char *a, const char *b)
{
	char	*s;
	size_t	 la = strlen(a), lb = strlen(b);

	if ((s = malloc(la + lb + 2)) == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

int
coll_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
    struct av_err *e)
{
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd, rc = -1;
	uint8_t		 extra;

	*out = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO swapped in after the caller's stat won't hang us */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return AV_FAIL(e, AV_E_IO, "collateral: cannot read file");
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		AV_FAIL(e, AV_E_IO, "collateral: not a regular file");
		goto out;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		rc = 1;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != (size_t)st.st_size) {
		AV_FAIL(e, AV_E_IO, "collateral: short read");
		goto out;
	}
	/* grew while we read it: refuse rather than truncate */
	if (read(fd, &extra, 1) > 0) {
		AV_FAIL(e, AV_E_IO, "collateral: file changed while read");
		goto out;
	}
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
 out:
	free(buf);
	close(fd);
	return rc;
}

static int
walk_filter(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static int
walk_rec(const char *path, int depth, coll_walk_cb cb, void *arg,
    struct av_err *e)
{
	struct dirent	**ents = NULL;
	struct stat	  lst, st;
	char		 *sub = NULL;
	int		  n, i, rc = -1;

	if (depth > COLL_MAX_DEPTH)
		return AV_FAIL(e, AV_E_CONFIG, "collateral: folders nested too deep");
	if ((n = scandir(path, &ents, walk_filter, alphasort)) == -1) {
		av_log(AV_LOG_ERROR, "collateral_unreadable", "path", path,
		    "error", strerror(errno), NULL);
		return AV_FAIL(e, AV_E_IO, "collateral: cannot read directory");
	}
	for (i = 0; i < n; i++) {
		free(sub);
		if ((sub = coll_path(path, ents[i]->d_name)) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		if (lstat(sub, &lst) == -1) {
			av_log(AV_LOG_ERROR, "collateral_unreadable",
			    "path", sub, NULL);
			AV_FAIL(e, AV_E_IO, "collateral: cannot read file");
			goto out;
		}
		if (stat(sub, &st) == -1) {
			if (S_ISLNK(lst.st_mode)) {	/* dangling link */
				av_log(AV_LOG_WARN, "collateral_skip",
				    "path", sub, "why", "dangling link", NULL);
				continue;
			}
			av_log(AV_LOG_ERROR, "collateral_unreadable",
			    "path", sub, NULL);
			AV_FAIL(e, AV_E_IO, "collateral: cannot read file");
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (S_ISLNK(lst.st_mode)) {
				av_log(AV_LOG_WARN, "collateral_skip", "path",
				    sub, "why", "link to a folder", NULL);
				continue;
			}
			if (walk_rec(sub, depth + 1, cb, arg, e) == -1)
				goto out;
		} else if (S_ISREG(st.st_mode)) {
			if (cb(sub, arg, e) == -1)
				goto out;
		}
		/* sockets, FIFOs, devices: skipped */
	}
	rc = 0;
 out:
	free(sub);
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

int
coll_walk(const char *path, coll_walk_cb cb, void *arg, struct av_err *e)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		av_log(AV_LOG_ERROR, "collateral_unreadable", "path", path,
		    "error", strerror(errno), NULL);
		return AV_FAIL(e, AV_E_IO, "collateral: cannot read directory");
	}
	if (S_ISREG(st.st_mode))
		return cb(path, arg, e);
	if (!S_ISDIR(st.st_mode))
		return AV_FAIL(e, AV_E_IO, "collateral: not a file or directory");
	return walk_rec(path, 0, cb, arg, e);
}

int
coll_mkdir_p(const char *dir, struct av_err *e)
{
	char	*s;
	size_t	 i;
	int	 rc = -1;
	char	 c;

	if ((s = strdup(dir)) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (s[0] == '\0') {
		AV_FAIL(e, AV_E_IO, "collateral: cannot create cache");
		goto out;
	}
	for (i = 1; ; i++) {
		if (s[i] != '/' && s[i] != '\0')
			continue;
		c = s[i];
		s[i] = '\0';
		if (mkdir(s, 0755) == -1 && errno != EEXIST) {
			av_log(AV_LOG_ERROR, "collateral_mkdir", "path", s,
			    "error", strerror(errno), NULL);
			AV_FAIL(e, AV_E_IO, "collateral: cannot create cache");
			goto out;
		}
		s[i] = c;
		if (c == '\0')
			break;
	}
	rc = 0;
 out:
	free(s);
	return rc;
}

int
coll_write_atomic(const char *dir, const char *name, const uint8_t *p,
    size_t n, struct av_err *e)
{
	char	*tmp = NULL, *dst = NULL;
	size_t	 off = 0;
	ssize_t	 w;
	int	 fd = -1, dfd, rc = -1;

	if ((tmp = coll_path(dir, ".tmp.XXXXXX")) == NULL ||
	    (dst = coll_path(dir, name)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		av_log(AV_LOG_ERROR, "collateral_write", "path", dir,
		    "error", strerror(errno), NULL);
		AV_FAIL(e, AV_E_IO, "collateral: cannot write cache");
		free(tmp);
		tmp = NULL;
		goto out;
	}
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != n || fchmod(fd, 0644) == -1 || fsync(fd) == -1) {
		av_log(AV_LOG_ERROR, "collateral_write", "path", tmp,
		    "error", strerror(errno), NULL);
		AV_FAIL(e, AV_E_IO, "collateral: cannot write cache");
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		AV_FAIL(e, AV_E_IO, "collateral: cannot write cache");
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		av_log(AV_LOG_ERROR, "collateral_write", "path", dst,
		    "error", strerror(errno), NULL);
		AV_FAIL(e, AV_E_IO, "collateral: cannot write cache");
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* make the rename itself durable */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(dst);
	return rc;
}

/* ---- import ------------------------------------------------------------ */

struct import_ctx {
	const char	*dir;		/* <cache_dir>/imported */
	size_t		 n;		/* new files */
};

static const char *
import_ext(const struct coll_blist *l, bool pem)
{
	if (l->n == 0)
		return "bin";
	switch (l->v[0]->kind) {
	case AV_COLL_CERT:
		return pem ? "pem" : "der";
	case AV_COLL_CRL:
		return pem ? "pem" : "crl";
	case AV_COLL_JSON:
		return "json";
	case AV_COLL_XML:
		return "xml";
	case AV_COLL_OTHER:
	default:
		return "bin";
	}
}

static int
import_one(const char *path, void *arg, struct av_err *e)
{
	struct import_ctx	*ic = arg;
	struct coll_blist	 l = { 0 };
	struct stat		 st;
	uint8_t			*buf = NULL;
	size_t			 len;
	char			 hex[65], name[80], *dst = NULL;
	bool			 pem;
	int			 r, rc = -1;

	if ((r = coll_read_file(path, COLL_MAX_FILE, &buf, &len, e)) == -1) {
		av_log(AV_LOG_ERROR, "collateral_import", "path", path,
		    "error", "unreadable", NULL);
		goto out;
	}
	if (r == 1) {
		av_log(AV_LOG_ERROR, "collateral_import", "path", path,
		    "error", "larger than 16 MiB", NULL);
		AV_FAIL(e, AV_E_COLLATERAL_INVALID,
		    "collateral: file too large");
		goto out;
	}
	if (len == 0) {		/* nothing to keep */
		rc = 0;
		goto out;
	}
	if (coll_classify(buf, len, path, &l, &pem, e) == -1)
		goto out;
	coll_sha256_hex(buf, len, hex);
	snprintf(name, sizeof(name), "%s.%s", hex, import_ext(&l, pem));
	if ((dst = coll_path(ic->dir, name)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (stat(dst, &st) == 0) {
		rc = 0;
		goto out;
	}
	if (coll_write_atomic(ic->dir, name, buf, len, e) == -1)
		goto out;
	av_log(AV_LOG_INFO, "collateral_imported", "path", path, "as", name,
	    NULL);
	ic->n++;
	rc = 0;
 out:
	coll_blist_cleanup(&l);
	free(dst);
	free(buf);
	return rc;
}

/*
 * Copy files into <cache_dir>/imported/ (see collateral.h).
 * Returns 0, or -1 with e.
 */
int
av_collateral_import(const char *cache_dir, const char *const *files,
    size_t nfiles, size_t *nimported, struct av_err *e)
{
	struct import_ctx	 ic = { 0 };
	char			*dir = NULL;
	int			 rc = -1;

	if (nimported != NULL)
		*nimported = 0;
	if (cache_dir == NULL || (files == NULL && nfiles != 0))
		return AV_FAIL(e, AV_E_CONFIG, "collateral: no cache directory");
	if ((dir = coll_path(cache_dir, "imported")) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (coll_mkdir_p(dir, e) == -1)
		goto out;
	ic.dir = dir;
	for (size_t i = 0; i < nfiles; i++)
		if (coll_walk(files[i], import_one, &ic, e) == -1)
			goto out;
	rc = 0;
 out:
	if (nimported != NULL)
		*nimported = ic.n;
	free(dir);
	return rc;
}
