/*
 * attestd - CMW collections (draft-ietf-rats-msg-wrap, JSON
 * serialisation) as POST /v1/attest bodies (application/cmw+json).
 *
 *   {"__cmwc_t": "<optional collection type>",
 *    "cpu":  ["application/vnd.attestd.sev-snp", "<base64url>"],
 *    "gpu0": ["application/vnd.attestd.nvidia-gpu", "<base64url>", 4]}
 *
 * Every label becomes a submod of that name; the record's media type
 * names the backend.  Nested collections are not accepted.
 */
#include <string.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/verify.h"

#include "attestd.h"

/*
 * Translate the collection into our JSON request body and parse that,
 * so both envelopes share one set of checks.  Returns 0 or -1 with e.
 */
int
avd_cmw_request(const json_t *doc, const char *nonce, const char *policy,
    struct av_request **out, struct av_err *e)
{
	const struct av_backend	*b;
	const char		*label;
	json_t			*rec, *body = NULL, *items;
	size_t			 n = 0;
	int			 rc = -1;

	if (!json_is_object(doc))
		return AV_FAIL(e, AV_E_BAD_REQUEST,
		    "a CMW collection must be a JSON object");
	if ((body = json_object()) == NULL || (items = json_array()) == NULL ||
	    json_object_set_new(body, "evidence", items) == -1) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	json_object_foreach((json_t *)doc, label, rec) {
		const json_t *mt, *val, *ind;

		if (strcmp(label, "__cmwc_t") == 0) {
			if (!json_is_string(rec)) {
				AV_FAIL(e, AV_E_BAD_REQUEST,
				    "CMW \"__cmwc_t\" must be a string");
				goto out;
			}
			continue;
		}
		if (++n > AV_MAX_ITEMS) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "too many items in the CMW collection");
			goto out;
		}
		if (json_is_object(rec)) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "nested CMW collections are not supported");
			goto out;
		}
		if (!json_is_array(rec) || json_array_size(rec) < 2 ||
		    json_array_size(rec) > 3) {
			AV_FAIL(e, AV_E_BAD_REQUEST, "a CMW record is "
			    "[media type, base64url value, indicator?]");
			goto out;
		}
		mt = json_array_get(rec, 0);
		val = json_array_get(rec, 1);
		ind = json_array_get(rec, 2);
		if (!json_is_string(mt) || !json_is_string(val) ||
		    (ind != NULL && !json_is_integer(ind))) {
			AV_FAIL(e, AV_E_BAD_REQUEST, "a CMW record is "
			    "[media type, base64url value, indicator?]");
			goto out;
		}
		if ((b = av_backend_by_media_type(json_string_value(mt))) ==
		    NULL) {
			AV_FAIL(e, AV_E_UNKNOWN_TYPE,
			    "CMW record with an unsupported media type");
			goto out;
		}
		if (json_array_append_new(items, json_pack("{sssssO}", "name",
		    label, "type", b->name, "data", val)) == -1) {
			AV_FAIL(e, AV_E_BAD_REQUEST,
			    "CMW labels must be 1-32 characters of [a-z0-9_-]");
			goto out;
		}
	}
	if (nonce != NULL &&
	    json_object_set_new(body, "nonce", json_string(nonce)) == -1) {
		AV_FAIL(e, AV_E_BAD_REQUEST, "invalid nonce");
		goto out;
	}
	if (policy != NULL &&
	    json_object_set_new(body, "policy", json_string(policy)) == -1) {
		AV_FAIL(e, AV_E_BAD_REQUEST, "invalid policy id");
		goto out;
	}
	rc = av_request_from_json(body, out, e);
 out:
	json_decref(body);
	return rc;
}
