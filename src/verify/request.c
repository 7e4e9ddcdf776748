/*
 * attestd - request envelopes: the JSON body of POST /v1/attest (and
 * attestctl's JSON input), and single raw evidence items.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "av/codec.h"
#include "av/nvgpu.h"
#include "av/verify.h"

void
av_request_free(struct av_request *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nitems; i++) {
		free(r->items[i].name);
		free(r->items[i].type);
		free(r->items[i].data);
		json_decref(r->items[i].item);
	}
	free(r->policy_id);
	free(r->nonce);
	free(r->runtime_data);
	free(r);
}

/* Submod names: 1-32 of [a-z0-9_-]. */
static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static int
b64_field(const json_t *v, size_t max, uint8_t **out, size_t *outlen,
    struct av_err *e)
{
	if (!json_is_string(v))
		return AV_FAIL(e, AV_E_BAD_REQUEST, "expected a base64 string");
	if (json_string_length(v) > (max / 3 + 1) * 4 + 64)
		return AV_FAIL(e, AV_E_BAD_REQUEST, "field too large");
	if (av_b64_decode(json_string_value(v), json_string_length(v), out,
	    outlen) != 0)
		return AV_FAIL(e, AV_E_BAD_REQUEST, "invalid base64");
	if (*outlen > max) {
		free(*out);
		*out = NULL;
		return AV_FAIL(e, AV_E_BAD_REQUEST, "field too large");
	}
	return 0;
}

/*
 * The evidence list with every NVIDIA SDK evidence list in it (an array
 * as one element) expanded in place into one item per GPU.  Returns a
 * new array, or NULL with e set.
 */
static json_t *
flatten_evidence(const json_t *ev, struct av_err *e)
{
	json_t	*flat, *x, *items;
	size_t	 i;

	if ((flat = json_array()) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		return NULL;
	}
	json_array_foreach(ev, i, x) {
		if (!json_is_array(x)) {
			json_array_append(flat, x);
			continue;
		}
		if (!av_nvgpu_is_sdk_list(x)) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "each evidence item must be an object");
			goto bad;
		}
		if (av_nvgpu_expand_sdk_list(x, &items, e) != 0)
			goto bad;
		json_array_extend(flat, items);
		json_decref(items);
	}
	if (json_array_size(flat) > AV_MAX_ITEMS) {
		AV_FAIL(e, AV_E_BAD_REQUEST, "too many evidence items");
		goto bad;
	}
	return flat;
 bad:
	json_decref(flat);
	return NULL;
}

static int request_from_object(const json_t *, struct av_request **,
    struct av_err *);

int
av_request_from_json(const json_t *body, struct av_request **out,
    struct av_err *e)
{
	json_t	*wrap;
	int	 rc;

	/* NVIDIA's SDK evidence list, posted as it came */
	if (json_is_array(body) && av_nvgpu_is_sdk_list(body)) {
		if ((wrap = json_pack("{s:[O]}", "evidence", body)) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		rc = request_from_object(wrap, out, e);
		json_decref(wrap);
		return rc;
	}
	return request_from_object(body, out, e);
}

static int
request_from_object(const json_t *body, struct av_request **out,
    struct av_err *e)
{
	static const char *const keys[] = { "nonce", "policy", "runtime_data",
	    "evidence", NULL };
	struct av_request	*r;
	const json_t		*v, *ev, *it;
	const char		*k;
	json_t			*val, *flat = NULL;
	size_t			 i, j;

	if (!json_is_object(body))
		return AV_FAIL(e, AV_E_BAD_REQUEST,
		    "request body must be a JSON object");
	json_object_foreach((json_t *)body, k, val) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL)
			return AV_FAIL(e, AV_E_BAD_REQUEST,
			    "unknown key in request body");
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if ((v = json_object_get(body, "policy")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 64) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "\"policy\" must be a policy id");
			goto bad;
		}
		if ((r->policy_id = strdup(json_string_value(v))) == NULL)
			goto nomem;
	}
	if ((v = json_object_get(body, "nonce")) != NULL) {
		if (b64_field(v, AV_MAX_NONCE_BYTES, &r->nonce, &r->nonce_len,
		    e) != 0) {
			AV_FAIL(e, AV_E_BAD_REQUEST, "\"nonce\" must be base64url, at most 1024 bytes");
			goto bad;
		}
		if (r->nonce_len == 0) {
			AV_FAIL(e, AV_E_BAD_REQUEST, "\"nonce\" is empty");
			goto bad;
		}
	}
	if ((v = json_object_get(body, "runtime_data")) != NULL &&
	    b64_field(v, AV_MAX_NONCE_BYTES * 64, &r->runtime_data,
	    &r->runtime_data_len, e) != 0) {
		AV_FAIL(e, AV_E_BAD_REQUEST, "\"runtime_data\" must be base64, at most 64 KiB");
		goto bad;
	}
	ev = json_object_get(body, "evidence");
	if (!json_is_array(ev) || json_array_size(ev) == 0) {
		AV_FAIL(e, AV_E_BAD_REQUEST,
		    "\"evidence\" must be a non-empty array");
		goto bad;
	}
	if (json_array_size(ev) > AV_MAX_ITEMS) {
		AV_FAIL(e, AV_E_BAD_REQUEST, "too many evidence items");
		goto bad;
	}
	if ((flat = flatten_evidence(ev, e)) == NULL)
		goto bad;
	ev = flat;
	json_array_foreach(ev, i, it) {
		struct av_item *item = &r->items[r->nitems];

		if (!json_is_object(it)) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "each evidence item must be an object");
			goto bad;
		}
		r->nitems++;
		item->item = json_incref((json_t *)it);
		if ((v = json_object_get(it, "type")) != NULL) {
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > 64) {
				AV_FAIL(e, AV_E_BAD_REQUEST,
				    "evidence \"type\" must be a string");
				goto bad;
			}
			if ((item->type = strdup(json_string_value(v))) == NULL)
				goto nomem;
		}
		if ((v = json_object_get(it, "name")) != NULL) {
			if (!json_is_string(v) ||
			    !valid_name(json_string_value(v))) {
				AV_FAIL(e, AV_E_BAD_REQUEST, "evidence \"name\" "
				    "must be 1-32 characters of [a-z0-9_-]");
				goto bad;
			}
			for (j = 0; j < i; j++)
				if (r->items[j].name != NULL &&
				    strcmp(r->items[j].name,
				    json_string_value(v)) == 0) {
					AV_FAIL(e, AV_E_BAD_REQUEST,
					    "duplicate evidence name");
					goto bad;
				}
			if ((item->name = strdup(json_string_value(v))) == NULL)
				goto nomem;
		}
		if ((v = json_object_get(it, "data")) == NULL) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "evidence item without \"data\"");
			goto bad;
		}
		if (b64_field(v, AV_MAX_EVIDENCE_BYTES, &item->data, &item->len,
		    e) != 0) {
			AV_FAIL(e, AV_E_BAD_REQUEST, "evidence \"data\" must be base64, at most 4 MiB");
			goto bad;
		}
	}
	json_decref(flat);
	*out = r;
	return 0;
 nomem:
	AV_FAIL(e, AV_E_NOMEM, "out of memory");
 bad:
	json_decref(flat);
	av_request_free(r);
	return -1;
}

int
av_request_from_raw(const char *type, const uint8_t *p, size_t n,
    struct av_request **out, struct av_err *e)
{
	struct av_request *r;

	if (n > AV_MAX_EVIDENCE_BYTES)
		return AV_FAIL(e, AV_E_BAD_REQUEST, "evidence too large");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	r->nitems = 1;
	if ((type != NULL && (r->items[0].type = strdup(type)) == NULL) ||
	    (r->items[0].data = malloc(n ? n : 1)) == NULL) {
		av_request_free(r);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	if (n > 0)
		memcpy(r->items[0].data, p, n);
	r->items[0].len = n;
	*out = r;
	return 0;
}
