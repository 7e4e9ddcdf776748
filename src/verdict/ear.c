/*
 * attestd - EAR claims (EAT Attestation Results, draft-fv-rats-ear,
 * now draft-ietf-rats-ear) for one appraised request.
 *
 * Shape, JSON serialisation (draft s.3):
 *   {
 *     "eat_profile": "tag:github.com,2023:veraison/ear",
 *     "iat": <int>, "exp": <int>,
 *     "eat_nonce": "<base64url>",			(when the request had one)
 *     "ear.verifier-id": {"developer": ..., "build": "attestd <version>"},
 *     "submods": {
 *       "<name>": {
 *         "ear.status": "affirming" | "warning" | "contraindicated" | "none",
 *         "ear.trustworthiness-vector": {"<ar4si category>": <int>, ...},
 *         "ear.appraisal-policy-id": "<id>@<version>",	(when a policy ran)
 *         "ear.veraison.annotated-evidence": {<claims>},
 *         "ear.veraison.key-attestation": {...},	(when a key is bound)
 *         "attestd.reasons": [{"code", "severity", ...}, ...],
 *         "attestd.platform": "<backend name>"	(when the type is known)
 *       }, ...
 *     }
 *   }
 *
 * Status lives in each submod only.  Draft -00 had a top-level
 * "ear.status"; from draft-fv-rats-ear-01 on (and in draft-ietf-rats-ear)
 * every appraisal, including a single one, is a member of "submods" and
 * there is no top-level status (Veraison's ear libraries follow this).
 * The overall status (the worst submod) is given to clients in the HTTP
 * response body next to the verdict, not inside it.
 * "exp" is a registered JWT claim (RFC 7519 s.4.1.4) that EAR permits;
 * we set it so JOSE consumers reject stale verdicts.
 * The "attestd.*" members are unregistered extensions (draft s.3.1:
 * $$ear-appraisal-extension), which consumers ignore when unknown.
 */
#include <stdint.h>
#include <stdlib.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/result.h"
#include "av/verdict.h"
#include "av/verify.h"

/* Non-zero trust-vector entries by AR4SI category name; new ref. */
static json_t *
ear_tv(const struct av_submod *sm)
{
	json_t	*o;
	int	 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < AV_TV__COUNT; i++) {
		if (sm->tv[i] == AV_AR_NO_CLAIM)
			continue;
		if (json_object_set_new(o, av_tv_str((enum av_tv)i),
		    json_integer(sm->tv[i])) == -1) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* One EAR-appraisal for sm; new ref or NULL. */
static json_t *
ear_appraisal(const struct av_submod *sm, const char *policy_ref)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "ear.status",
	    json_string(av_status_str(sm->status))) == -1 ||
	    json_object_set_new(o, "ear.trustworthiness-vector",
	    ear_tv(sm)) == -1)
		goto fail;
	if (policy_ref != NULL && json_object_set_new(o,
	    "ear.appraisal-policy-id", json_string(policy_ref)) == -1)
		goto fail;
	if (json_object_set_new(o, "ear.veraison.annotated-evidence",
	    sm->claims != NULL ? json_incref(sm->claims) :
	    json_object()) == -1)
		goto fail;
	if (sm->key_attestation != NULL && json_object_set_new(o,
	    "ear.veraison.key-attestation",
	    json_incref(sm->key_attestation)) == -1)
		goto fail;
	if (json_object_set_new(o, "attestd.reasons",
	    sm->reasons != NULL ? json_incref(sm->reasons) :
	    json_array()) == -1)
		goto fail;
	if (sm->backend != NULL && sm->backend->name != NULL &&
	    json_object_set_new(o, "attestd.platform",
	    json_string(sm->backend->name)) == -1)
		goto fail;
	return o;
 fail:
	json_decref(o);
	return NULL;
}

/*
 * EAR claims for res (draft-fv-rats-ear s.3; shape at the top of this
 * file): iat as given, exp = iat + ttl (saturated), eat_nonce when
 * res->nonce is set.  Claims, reasons and key attestation are shared
 * references to the result's (jansson counts them), not copies: the
 * result may still be freed before or after the EAR, but neither may be
 * modified while the other is in use.  A duplicated
 * submod name is refused rather than letting one appraisal hide
 * another.  Returns a new reference, or NULL on allocation failure.
 */
json_t *
av_ear_claims(const struct av_result *res, int64_t iat, int64_t ttl)
{
	json_t	*o = NULL, *subs = NULL, *a;
	char	*nonce = NULL;
	int64_t	 exp;
	size_t	 i;

	if (res == NULL || res->nsubmods > AV_MAX_ITEMS)
		return NULL;
	if (ttl > 0 && iat > INT64_MAX - ttl)
		exp = INT64_MAX;
	else if (ttl < 0 && iat < INT64_MIN - ttl)
		exp = INT64_MIN;
	else
		exp = iat + ttl;
	if ((o = json_object()) == NULL || (subs = json_object()) == NULL)
		goto fail;
	if (json_object_set_new(o, "eat_profile",
	    json_string(AV_EAR_PROFILE)) == -1 ||
	    json_object_set_new(o, "iat", json_integer(iat)) == -1 ||
	    json_object_set_new(o, "exp", json_integer(exp)) == -1 ||
	    json_object_set_new(o, "ear.verifier-id",
	    json_pack("{s:s, s:s}", "developer", AV_DEVELOPER,
	    "build", "attestd " AV_VERSION)) == -1)
		goto fail;
	if (res->nonce != NULL) {
		if ((nonce = av_b64url_encode(res->nonce,
		    res->nonce_len)) == NULL ||
		    json_object_set_new(o, "eat_nonce",
		    json_string(nonce)) == -1)
			goto fail;
	}
	for (i = 0; i < res->nsubmods; i++) {
		const struct av_submod *sm = &res->submods[i];

		if (sm->name == NULL ||
		    json_object_get(subs, sm->name) != NULL)
			goto fail;
		if ((a = ear_appraisal(sm, res->policy_ref)) == NULL ||
		    json_object_set_new(subs, sm->name, a) == -1)
			goto fail;
	}
	if (json_object_set_new(o, "submods", subs) == -1) {
		subs = NULL;	/* set_new stole it even on failure */
		goto fail;
	}
	free(nonce);
	return o;
 fail:
	free(nonce);
	json_decref(subs);
	json_decref(o);
	return NULL;
}
