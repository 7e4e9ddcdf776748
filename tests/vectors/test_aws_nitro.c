/*
 * Every entry of $AV_VECTORS/aws-nitro/MANIFEST.json, through the real
 * pipeline (av_verify_request) at the entry's verification time, with the
 * built-in pins only (the AWS root arrives as cabundle[0]).  Both the
 * .cbor and the base64-decoded .b64 forms are checked.
 *
 * positive / edge-positive: not contraindicated, and the claims equal the
 *   manifest's module_id, digest, timestamp, every PCR, debug mode,
 *   public_key, user_data and nonce; then affirming against a policy
 *   made from the document's own PCRs (and "debug": true when it is one).
 * negative: contraindicated with a code from accepted_failures, mapped
 *   (malformed -> evidence_malformed, unsupported_alg ->
 *   unsupported_algorithm, others the same).
 *
 * Exits 77 when the vectors are absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_manifest.h"
#include "avt_pki.h"

static char	 failmsg[1024];

#define FAIL(...) do {							\
	snprintf(failmsg, sizeof(failmsg), __VA_ARGS__);		\
	goto out;							\
} while (0)

static const char *
map_code(const char *m)
{
	if (strcmp(m, "malformed") == 0)
		return "evidence_malformed";
	if (strcmp(m, "unsupported_alg") == 0)
		return "unsupported_algorithm";
	return m;
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The evidence type to declare: what detection says, else aws-nitro. */
static const char *
type_of(const uint8_t *p, size_t n)
{
	const struct av_backend	*b;
	struct av_err		 e = { 0 };

	if ((b = av_backend_detect(p, n, &e)) != NULL)
		return b->name;
	return "aws-nitro";
}

static struct av_result *
verify(const struct av_trust *trust, const uint8_t *p, size_t n,
    int64_t now, const struct av_policy *pol)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = now, .trust = trust };

	if (av_request_from_raw(type_of(p, n), p, n, &req, &e) != 0)
		return NULL;
	if (av_verify_request(&env, req, pol, &res, &e) != 0)
		res = NULL;
	av_request_free(req);
	return res;
}

/* hex (or null) claim equals the manifest's *_hex field (or null). */
static bool
same_hex(const json_t *claims, const char *ck, const json_t *exp,
    const char *ek)
{
	const json_t *c = json_object_get(claims, ck);
	const json_t *x = json_object_get(exp, ek);

	if (json_is_null(x) || x == NULL)
		return json_is_null(c);
	return json_is_string(c) &&
	    strcasecmp(json_string_value(c), json_string_value(x)) == 0;
}

/* A policy listing every PCR of the claims; debug allowed if it is one. */
static struct av_policy *
own_policy(const json_t *claims, const char *type)
{
	struct av_policy	*pol = NULL;
	struct av_policy_err	 perr = { 0 };
	json_t			*sec = json_object(), *doc, *v;
	const char		*k;
	char			 key[16];

	json_object_foreach((json_t *)json_object_get(claims, "pcrs"), k, v) {
		snprintf(key, sizeof(key), "pcr%s", k);
		json_object_set(sec, key, v);
	}
	if (json_is_true(json_object_get(claims, "debug")))
		json_object_set_new(sec, "debug", json_true());
	doc = json_pack("{s:s, s:i, s:{s:o}}", "id", "vector", "version", 1,
	    "evidence", type, sec);
	if (av_policy_compile(doc, &pol, &perr) != 0) {
		fprintf(stderr, "policy: %s: %s\n", perr.path, perr.reason);
		pol = NULL;
	}
	json_decref(doc);
	return pol;
}

static bool
check_positive(const struct av_trust *trust, const json_t *ent,
    const uint8_t *p, size_t n, int64_t now)
{
	const json_t		*exp = json_object_get(ent, "expected");
	struct av_result	*res = NULL, *res2 = NULL;
	struct av_policy	*pol = NULL;
	const struct av_submod	*sm;
	const json_t		*c, *pcrs, *all, *v, *dbg, *x;
	const char		*k;
	bool			 ok = false;

	if ((res = verify(trust, p, n, now, NULL)) == NULL)
		FAIL("internal error");
	sm = &res->submods[0];
	if (res->status == AV_STATUS_CONTRAINDICATED)
		FAIL("contraindicated: %s", json_dumps(sm->reasons, 0));
	c = sm->claims;
	if ((x = json_object_get(exp, "module_id")) != NULL &&
	    (str(c, "module_id") == NULL ||
	    strcmp(str(c, "module_id"), json_string_value(x)) != 0))
		FAIL("module_id %s", str(c, "module_id"));
	if ((x = json_object_get(exp, "digest")) != NULL &&
	    (str(c, "digest") == NULL ||
	    strcmp(str(c, "digest"), json_string_value(x)) != 0))
		FAIL("digest");
	if ((x = json_object_get(exp, "timestamp_ms")) != NULL &&
	    json_integer_value(json_object_get(c, "timestamp")) !=
	    json_integer_value(x))
		FAIL("timestamp");
	if ((x = json_object_get(exp, "cabundle_len")) != NULL &&
	    json_integer_value(json_object_get(c, "cabundle_len")) !=
	    json_integer_value(x))
		FAIL("cabundle_len");
	if ((x = json_object_get(exp, "cose_tagged")) != NULL &&
	    json_is_true(x) != json_is_true(json_object_get(c, "cose_tagged")))
		FAIL("cose_tagged");
	pcrs = json_object_get(c, "pcrs");
	if ((all = json_object_get(exp, "pcrs_all")) != NULL) {
		if (json_object_size(pcrs) != json_object_size(all))
			FAIL("%zu PCRs, manifest has %zu",
			    json_object_size(pcrs), json_object_size(all));
		json_object_foreach((json_t *)all, k, v)
			if (str(pcrs, k) == NULL || strcasecmp(str(pcrs, k),
			    json_string_value(v)) != 0)
				FAIL("PCR%s", k);
	}
	if ((x = json_object_get(exp, "pcr_count")) != NULL &&
	    json_object_size(pcrs) != (size_t)json_integer_value(x))
		FAIL("pcr_count");
	if (json_object_get(exp, "debug_mode") != NULL) {
		dbg = json_object_get(exp, "debug_mode");
		if (json_is_null(dbg)) {
			if (json_object_get(c, "debug") != NULL &&
			    !json_is_null(json_object_get(c, "debug")))
				FAIL("debug reported for a NitroTPM document");
		} else if (json_is_true(dbg) !=
		    json_is_true(json_object_get(c, "debug")))
			FAIL("debug");
	}
	if (json_object_get(exp, "public_key_hex") != NULL &&
	    !same_hex(c, "public_key", exp, "public_key_hex"))
		FAIL("public_key");
	if (json_object_get(exp, "user_data_hex") != NULL &&
	    !same_hex(c, "user_data", exp, "user_data_hex"))
		FAIL("user_data");
	if (json_object_get(exp, "nonce_hex") != NULL &&
	    !same_hex(c, "nonce", exp, "nonce_hex"))
		FAIL("nonce");
	if ((x = json_object_get(exp, "leaf_subject")) != NULL &&
	    (str(json_object_get(c, "certificate"), "subject") == NULL ||
	    strcmp(str(json_object_get(c, "certificate"), "subject"),
	    json_string_value(x)) != 0))
		FAIL("leaf subject %s",
		    str(json_object_get(c, "certificate"), "subject"));
	/* key attestation iff public_key */
	if (json_is_string(json_object_get(c, "public_key")) !=
	    (sm->key_attestation != NULL))
		FAIL("key attestation");
	/* affirming against its own PCRs */
	if ((pol = own_policy(c, sm->backend->name)) == NULL)
		FAIL("policy");
	if ((res2 = verify(trust, p, n, now, pol)) == NULL)
		FAIL("internal error");
	if (res2->status != AV_STATUS_AFFIRMING)
		FAIL("own policy: %s", av_status_str(res2->status));
	ok = true;
 out:
	av_result_free(res);
	av_result_free(res2);
	av_policy_free(pol);
	return ok;
}

static bool
check_negative(const struct av_trust *trust, const json_t *ent,
    const uint8_t *p, size_t n, int64_t now, const char **got)
{
	const json_t		*acc;
	struct av_result	*res = NULL;
	const char		*code;
	const json_t		*v;
	size_t			 i;
	bool			 ok = false;

	acc = json_object_get(json_object_get(ent, "expected"),
	    "accepted_failures");
	if ((res = verify(trust, p, n, now, NULL)) == NULL)
		FAIL("internal error");
	if (res->status != AV_STATUS_CONTRAINDICATED)
		FAIL("not contraindicated");
	code = json_string_value(json_object_get(json_array_get(
	    res->submods[0].reasons, 0), "code"));
	*got = code;
	json_array_foreach(acc, i, v)
		if (strcmp(map_code(json_string_value(v)), code) == 0)
			ok = true;
	if (!ok)
		FAIL("got %s", code);
 out:
	/* the code string belongs to res: keep a static copy */
	if (*got != NULL) {
		static char keep[64];

		snprintf(keep, sizeof(keep), "%s", *got);
		*got = keep;
	}
	av_result_free(res);
	return ok;
}

int
main(void)
{
	char		*dir;
	json_t		*man, *docs, *ent;
	struct av_trust	*trust;
	size_t		 i, npass = 0, nfail = 0;

	man = avt_manifest_load("aws-nitro", &dir);
	if ((trust = av_trust_new()) == NULL)
		return 1;
	docs = json_object_get(man, "documents");
	json_array_foreach(docs, i, ent) {
		const char	*name = str(ent, "name");
		const char	*cat = str(ent, "category");
		const json_t	*files = json_object_get(ent, "files");
		int64_t		 now = json_integer_value(json_object_get(
				    json_object_get(ent, "verification_time"),
				    "unix"));
		bool		 positive = strcmp(cat, "negative") != 0;

		for (int form = 0; form < 2; form++) {
			const char	*f = str(files, form ? "b64" : "cbor");
			uint8_t		*raw, *doc = NULL;
			size_t		 rlen, dlen = 0;
			const char	*got = NULL;
			bool		 ok;

			failmsg[0] = '\0';
			if (f == NULL)
				continue;
			if ((raw = avt_read_at(dir, f, &rlen)) == NULL) {
				printf("FAIL %s (%s): cannot read %s\n", name,
				    form ? "b64" : "cbor", f);
				nfail++;
				continue;
			}
			if (form == 0) {
				doc = raw;
				dlen = rlen;
				raw = NULL;
			} else if (av_b64_decode((const char *)raw, rlen,
			    &doc, &dlen) != 0) {
				printf("FAIL %s (b64): not base64\n", name);
				free(raw);
				nfail++;
				continue;
			}
			free(raw);
			if (positive)
				ok = check_positive(trust, ent, doc, dlen, now);
			else
				ok = check_negative(trust, ent, doc, dlen, now,
				    &got);
			printf("%s %s (%s, %s) %s%s%s\n", ok ? "ok  " : "FAIL",
			    name, cat, form ? "b64" : "cbor",
			    got != NULL ? got : "",
			    failmsg[0] != '\0' ? ": " : "", failmsg);
			if (ok)
				npass++;
			else
				nfail++;
			free(doc);
		}
	}
	printf("%zu passed, %zu failed\n", npass, nfail);
	av_trust_free(trust);
	json_decref(man);
	free(dir);
	return nfail == 0 ? 0 : 1;
}
