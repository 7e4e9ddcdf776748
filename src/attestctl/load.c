/*
 * attestctl - the inputs every command shares (docs/cli.md): whole
 * files, strict JSON, an evidence file as a request (verify, policy test,
 * refvals add), and the trust anchors and collateral to verify with.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/nvgpu.h"
#include "av/verify.h"

#include "avc.h"

#define AVC_MAX_READ	(16u << 20)

/* Read a whole file ("-": stdin) of at most 16 MiB; NULL with errno. */
uint8_t *
avc_read_file(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*buf = NULL, *nb;
	size_t	 n = 0, cap = 0, r;

	if ((f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap >= AVC_MAX_READ) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
				errno = EIO;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

/* A JSON file, strictly.  NULL with why set. */
json_t *
avc_load_json(const char *path, char *why, size_t whylen)
{
	json_error_t	 je;
	json_t		*doc;
	uint8_t		*buf;
	size_t		 n;

	if ((buf = avc_read_file(path, &n)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	doc = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (doc == NULL)
		snprintf(why, whylen, "line %d column %d: %s", je.line,
		    je.column, je.text);
	return doc;
}

/* Whether b (or, b NULL, exactly one backend) recognises p. */
static bool
detects(const struct av_backend *b, const uint8_t *p, size_t n)
{
	struct av_err e;

	if (b != NULL)
		return b->detect != NULL && b->detect(p, n);
	return av_backend_detect(p, n, &e) != NULL;
}

/* Whitespace-free copy of p if it is all text from alphabet, else NULL. */
static char *
text_of(const uint8_t *p, size_t n, const char *alphabet)
{
	char	*s;
	size_t	 k = 0;

	if (n == 0 || (s = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (isspace(p[i]))
			continue;
		if (p[i] == '\0' || strchr(alphabet, p[i]) == NULL) {
			free(s);
			return NULL;
		}
		s[k++] = (char)p[i];
	}
	s[k] = '\0';
	if (k < 8) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * Decide what a raw file holds: the bytes themselves, base64 text or
 * hex text of them.  The first form whose bytes the (given or any)
 * backend recognises wins; failing that, decoded base64 is preferred so
 * errors speak about the evidence.  Takes raw; *out is malloc'd.
 */
static void
unwrap_raw(const struct av_backend *b, uint8_t *raw, size_t n,
    uint8_t **out, size_t *outlen, const char **form)
{
	uint8_t	*b64 = NULL, *hex = NULL;
	size_t	 b64len = 0, hexlen = 0;
	char	*t;

	if ((t = text_of(raw, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/=-_")) != NULL) {
		if (av_b64_decode(t, strlen(t), &b64, &b64len) == -1 ||
		    b64len == 0) {
			free(b64);
			b64 = NULL;
		}
		free(t);
	}
	if ((t = text_of(raw, n, "0123456789abcdefABCDEF")) != NULL) {
		if (av_hex_decode(t, strlen(t), &hex, &hexlen) == -1 ||
		    hexlen == 0) {
			free(hex);
			hex = NULL;
		}
		free(t);
	}
	if (detects(b, raw, n) || (b64 == NULL && hex == NULL)) {
		*form = "binary";
		*out = raw;
		*outlen = n;
		free(b64);
		free(hex);
		return;
	}
	if (hex != NULL && detects(b, hex, hexlen) &&
	    (b64 == NULL || !detects(b, b64, b64len))) {
		*form = "hex";
		*out = hex;
		*outlen = hexlen;
		free(b64);
		free(raw);
		return;
	}
	if (b64 != NULL) {
		*form = "base64";
		*out = b64;
		*outlen = b64len;
		free(hex);
		free(raw);
		return;
	}
	*form = "hex";
	*out = hex;
	*outlen = hexlen;
	free(raw);
}

/* Whether any backend at all recognises p. */
static bool
any_detects(const uint8_t *p, size_t n)
{
	for (const struct av_backend *const *b = av_backends(); *b; b++)
		if ((*b)->detect != NULL && (*b)->detect(p, n))
			return true;
	return false;
}

/*
 * Whether a parsed JSON file is a request body: an object with
 * "evidence", NVIDIA's SDK evidence list, or, with no type given, an
 * object no backend recognises (the request parser then says what is
 * wrong with it).  Any other object is evidence itself.
 */
static bool
json_is_request(const json_t *doc, const struct av_backend *b,
    const uint8_t *p, size_t n)
{
	if (json_is_array(doc))
		return av_nvgpu_is_sdk_list(doc);
	if (!json_is_object(doc))
		return false;
	if (json_object_get(doc, "evidence") != NULL)
		return true;
	return b == NULL && !any_detects(p, n);
}

/* An evidence file as a request (see avc.h).  Returns 0 or -1. */
int
avc_load_request(const char *path, const char *type, struct av_request **out,
    const char **form, char *why, size_t whylen, int *ex)
{
	const struct av_backend	*b = NULL;
	struct av_err		 e;
	uint8_t			*raw, *ev = NULL;
	size_t			 n, evlen = 0, i;
	json_t			*doc = NULL;
	const char		*f = NULL;
	int			 rc = -1;

	av_err_clear(&e);
	*ex = AVC_EX_NOINPUT;
	if (type != NULL && (b = av_backend_find(type)) == NULL) {
		snprintf(why, whylen, "unknown evidence type \"%s\"", type);
		*ex = AVC_EX_USAGE;
		return -1;
	}
	if ((raw = avc_read_file(path, &n)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n && isspace(raw[i]); i++)
		;
	if (i < n && (raw[i] == '{' || raw[i] == '[') &&
	    (doc = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES,
	    NULL)) != NULL && json_is_request(doc, b, raw, n)) {
		f = "json-request";
		if ((rc = av_request_from_json(doc, out, &e)) == 0 &&
		    type != NULL)
			for (i = 0; i < (*out)->nitems; i++)
				if ((*out)->items[i].type == NULL &&
				    ((*out)->items[i].type = strdup(type)) ==
				    NULL) {
					AV_FAIL(&e, AV_E_NOMEM,
					    "out of memory");
					av_request_free(*out);
					*out = NULL;
					rc = -1;
					break;
				}
		free(raw);
		goto done;
	}
	if (doc != NULL) {
		/* a JSON document that is the evidence itself */
		ev = raw;
		evlen = n;
		f = "json-evidence";
	} else
		unwrap_raw(b, raw, n, &ev, &evlen, &f);
	rc = av_request_from_raw(type, ev, evlen, out, &e);
	free(ev);
 done:
	json_decref(doc);
	if (rc != 0)
		snprintf(why, whylen, "%s (%s)", e.reason ? e.reason :
		    "unusable", av_code_str(e.code));
	else if (form != NULL)
		*form = f;
	return rc;
}

/* Trust anchors and collateral for verification (see avc.h). */
int
avc_env(const char *trust_dir, const char *coll_dir,
    const struct av_coll_fetch_cfg *fetch, struct av_trust **trust,
    struct av_collateral **coll)
{
	struct av_coll_fetch_cfg	 fcfg;
	struct av_err			 e;

	av_err_clear(&e);
	*coll = NULL;
	if ((*trust = av_trust_new()) == NULL)
		return -1;
	if (trust_dir != NULL && av_trust_load_dir(*trust, trust_dir, &e) ==
	    -1) {
		fprintf(stderr, "attestctl: --trust-dir %s: %s\n", trust_dir,
		    e.reason);
		return -1;
	}
	memset(&fcfg, 0, sizeof(fcfg));
	if (fetch != NULL)
		fcfg = *fetch;
	if (coll_dir == NULL && fcfg.cache_dir == NULL && !fcfg.online)
		return 0;
	fcfg.timeout_s = 10;
	if ((*coll = av_collateral_new(&fcfg)) == NULL)
		return -1;
	if (coll_dir != NULL && av_collateral_add_dir(*coll, coll_dir, &e) ==
	    -1) {
		fprintf(stderr, "attestctl: --collateral %s: %s\n", coll_dir,
		    e.reason);
		return -1;
	}
	return 0;
}
