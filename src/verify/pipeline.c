/*
 * attestd - the pipeline (docs/architecture.md): for each evidence item,
 * pick the backend, parse, verify, extract claims and appraise them
 * against the policy; the overall status is the worst submod.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/log.h"
#include "av/nvgpu.h"
#include "av/policy.h"
#include "av/verify.h"

void
av_result_free(struct av_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->nsubmods; i++)
		av_submod_cleanup(&res->submods[i]);
	free(res->policy_ref);
	free(res->nonce);
	free(res);
}

/* Is name already used by an earlier submod of res? */
static bool
name_used(const struct av_result *res, const char *name)
{
	for (size_t i = 0; i < res->nsubmods; i++)
		if (strcmp(res->submods[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Default submod name: "gpu<N>" for GPUs, "cpu", "cpu1", ... otherwise;
 * never one the request names explicitly or an earlier submod took.
 */
static void
default_name(const struct av_request *req, const struct av_result *res,
    const struct av_backend *b, char *buf, size_t len)
{
	bool gpu = (b != NULL && strcmp(b->name, "nvidia-gpu") == 0);

	for (unsigned n = 0;; n++) {
		bool taken;

		if (gpu)
			snprintf(buf, len, "gpu%u", n);
		else if (n == 0)
			snprintf(buf, len, "cpu");
		else
			snprintf(buf, len, "cpu%u", n);
		taken = name_used(res, buf);
		for (size_t j = 0; j < req->nitems; j++)
			if (req->items[j].name != NULL &&
			    strcmp(req->items[j].name, buf) == 0)
				taken = true;
		if (!taken)
			return;
	}
}

/* Pick the backend for an item: the declared type wins, else detect. */
static const struct av_backend *
pick_backend(const struct av_item *it, struct av_err *e)
{
	const struct av_backend *b;

	if (it->type == NULL)
		return av_backend_detect(it->data, it->len, e);
	if ((b = av_backend_find(it->type)) == NULL)
		AV_FAIL(e, AV_E_UNKNOWN_TYPE, "unknown evidence type");
	return b;
}

/* Number of submods whose evidence is an NVIDIA GPU report. */
static int64_t
count_gpus(const struct av_result *res)
{
	int64_t n = 0;

	for (size_t i = 0; i < res->nsubmods; i++)
		if (res->submods[i].backend != NULL &&
		    strcmp(res->submods[i].backend->name, "nvidia-gpu") == 0)
			n++;
	return n;
}

static void
appraise_item(const struct av_env *env, const struct av_request *req,
    const struct av_policy *pol, const struct av_item *it,
    const struct av_backend *b, struct av_submod *sm)
{
	struct av_evidence	 ev = { 0 };
	struct av_ctx		 ctx = { 0 };
	struct av_err		 e = { 0 };
	const void		*section;
	void			*parsed = NULL;
	json_t			*claims = NULL;

	sm->backend = b;
	section = av_policy_section(pol, b);
	ev.type = b->name;
	ev.name = sm->name;
	ev.data = it->data;
	ev.len = it->len;
	ev.item = it->item;
	ctx.now = env->now;
	ctx.trust = env->trust;
	ctx.coll = env->coll;
	ctx.nonce = req->nonce;
	ctx.nonce_len = req->nonce_len;
	ctx.runtime_data = req->runtime_data;
	ctx.runtime_data_len = req->runtime_data_len;
	ctx.nonce_required = (pol != NULL && pol->nonce == AV_NONCE_REQUIRED);
	ctx.max_age_s = (pol != NULL) ? pol->max_age_s : -1;

	if (b->parse(&ev, &parsed, &e) != 0) {
		av_submod_fail(sm, &e);
		av_log_err(AV_LOG_DEBUG, "evidence_rejected", &e);
		goto out;
	}
	if (b->verify(parsed, &ctx, section, sm, &e) != 0) {
		av_submod_fail(sm, &e);
		av_log_err(AV_LOG_DEBUG, "evidence_rejected", &e);
		goto out;
	}
	if (b->claims != NULL) {
		if (b->claims(parsed, &claims, &e) != 0) {
			av_submod_fail(sm, &e);
			goto out;
		}
		json_decref(sm->claims);
		sm->claims = claims;
	}
	if (section != NULL && b->appraise != NULL) {
		b->appraise(parsed, section, &ctx, sm);
		sm->compared = true;
	} else {
		av_submod_reason(sm, AV_E_NO_POLICY, AV_STATUS_WARNING, NULL,
		    NULL, NULL, pol == NULL ?
		    "no policy given: evidence verified, measurements not "
		    "compared with reference values" :
		    "the policy has no reference values for this platform");
	}
 out:
	if (parsed != NULL)
		b->free(parsed);
}

/*
 * Record a submod the policy requires and the request lacks.  When the
 * result has no room left the overall status still becomes
 * contraindicated.  expected and actual are stolen.  Returns 0 or -1
 * (out of memory).
 */
static int
add_missing(struct av_result *res, const char *name, const char *claim,
    json_t *expected, json_t *actual, const char *message)
{
	struct av_submod *sm = &res->submods[res->nsubmods];

	res->status = AV_STATUS_CONTRAINDICATED;
	if (res->nsubmods == sizeof(res->submods) / sizeof(res->submods[0])) {
		json_decref(expected);
		json_decref(actual);
		return 0;
	}
	if (av_submod_init(sm, name) != 0) {
		json_decref(expected);
		json_decref(actual);
		return -1;
	}
	res->nsubmods++;
	av_submod_reason(sm, AV_E_SUBMOD_MISSING, AV_STATUS_CONTRAINDICATED,
	    claim, expected, actual, message);
	return 0;
}

int
av_verify_request(const struct av_env *env, const struct av_request *req,
    const struct av_policy *pol, struct av_result **out, struct av_err *e)
{
	struct av_result	*res;
	char			 name[40];

	/*
	 * Zeroed up to the submods, 2.6 kB of the result: a submod is set
	 * up by av_submod_init() as nsubmods reaches it, and no reader looks
	 * past nsubmods.
	 */
	if ((res = malloc(sizeof(*res))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	memset(res, 0, offsetof(struct av_result, submods));
	res->status = AV_STATUS_NONE;
	if (pol != NULL && (res->policy_ref = strdup(pol->ref)) == NULL)
		goto nomem;
	if (req->nonce != NULL) {
		if ((res->nonce = malloc(req->nonce_len)) == NULL)
			goto nomem;
		memcpy(res->nonce, req->nonce, req->nonce_len);
		res->nonce_len = req->nonce_len;
	}
	for (size_t i = 0; i < req->nitems && i < AV_MAX_ITEMS; i++) {
		const struct av_item	*it = &req->items[i];
		const struct av_backend	*b;
		struct av_submod	*sm = &res->submods[res->nsubmods];
		struct av_err		 be = { 0 };

		b = pick_backend(it, &be);
		if (it->name != NULL)
			snprintf(name, sizeof(name), "%s", it->name);
		else
			default_name(req, res, b, name, sizeof(name));
		if (av_submod_init(sm, name) != 0)
			goto nomem;
		res->nsubmods++;
		if (b == NULL)
			av_submod_fail(sm, &be);
		else
			appraise_item(env, req, pol, it, b, sm);
		if (sm->status == AV_STATUS_NONE)
			sm->status = sm->compared ? AV_STATUS_AFFIRMING :
			    AV_STATUS_WARNING;
		if (sm->status > res->status)
			res->status = sm->status;
	}
	/* GPUs the policy counts but the request lacks: "gpu<k>" missing. */
	for (int64_t want = av_nvgpu_policy_count(pol), have = count_gpus(res);
	    have < want; have++) {
		char gname[24];

		for (unsigned k = 0;; k++) {
			snprintf(gname, sizeof(gname), "gpu%u", k);
			if (!name_used(res, gname))
				break;
		}
		if (add_missing(res, gname, "count", json_integer(want),
		    json_integer(have), "the policy requires more GPUs than "
		    "the request carries") != 0)
			goto nomem;
	}
	/* A submod the policy requires but the request lacks. */
	for (size_t i = 0; pol != NULL && i < pol->nrequired; i++) {
		if (name_used(res, pol->required[i]))
			continue;
		if (add_missing(res, pol->required[i], NULL, NULL, NULL,
		    "the policy requires this evidence item; the request "
		    "does not carry it") != 0)
			goto nomem;
	}
	*out = res;
	return 0;
 nomem:
	av_result_free(res);
	return AV_FAIL(e, AV_E_NOMEM, "out of memory");
}

json_t *
av_result_json(const struct av_result *res, const char *jwt)
{
	json_t *o, *subs;

	if ((o = json_object()) == NULL || (subs = json_object()) == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "status", json_string(av_status_str(res->status)));
	if (res->policy_ref != NULL)
		json_object_set_new(o, "policy", json_string(res->policy_ref));
	for (size_t i = 0; i < res->nsubmods; i++) {
		const struct av_submod	*sm = &res->submods[i];
		json_t			*s = json_object(), *tv = json_object();

		if (s == NULL || tv == NULL) {
			json_decref(s);
			json_decref(tv);
			continue;
		}
		json_object_set_new(s, "status", json_string(av_status_str(sm->status)));
		if (sm->backend != NULL)
			json_object_set_new(s, "platform",
			    json_string(sm->backend->name));
		for (int c = 0; c < AV_TV__COUNT; c++)
			if (sm->tv[c] != AV_AR_NO_CLAIM)
				json_object_set_new(tv, av_tv_str(c),
				    json_integer(sm->tv[c]));
		json_object_set_new(s, "trust_vector", tv);
		json_object_set(s, "reasons", sm->reasons);
		json_object_set(s, "claims", sm->claims);
		if (sm->key_attestation != NULL)
			json_object_set(s, "key_attestation",
			    sm->key_attestation);
		json_object_set_new(subs, sm->name, s);
	}
	json_object_set_new(o, "submods", subs);
	if (jwt != NULL)
		json_object_set_new(o, "verdict", json_string(jwt));
	return o;
}
