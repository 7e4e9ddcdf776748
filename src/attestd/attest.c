/*
 * attestd - POST /v1/attest and POST /v1/challenge (docs/api.md): the
 * request envelope (JSON body, CMW collection or raw evidence with a
 * media type), nonce checks, policy selection, verification at the
 * server's clock and the signed EAR verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/log.h"
#include "av/policy.h"
#include "av/verdict.h"
#include "av/verify.h"

#include "attestd.h"

#define CT_JSON		"application/json"
#define CT_CMW		"application/cmw+json"
#define CT_RAW_PREFIX	"application/vnd.attestd."

/* Whether POST /v1/attest takes this media type. */
bool
avd_attest_ctype_ok(const char *ct)
{
	if (ct == NULL)
		return false;
	if (strcmp(ct, CT_JSON) == 0 || strcmp(ct, CT_CMW) == 0)
		return true;
	return av_backend_by_media_type(ct) != NULL;
}

/* The HTTP status and error code for a request-envelope failure. */
static int
reply_request_err(struct avd_req *rq, const struct av_err *e)
{
	if (e->code == AV_E_NOMEM || e->code == AV_E_INTERNAL) {
		av_log_err(AV_LOG_ERROR, "request_failed", e);
		return avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal_error", "internal error");
	}
	return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST,
	    e->code == AV_E_BAD_REQUEST ? "bad_request" : av_code_str(e->code),
	    e->reason ? e->reason : "bad request");
}

/* Raw evidence: the body is the evidence; nonce and policy in the query. */
static int
parse_raw(struct avd_req *rq, struct av_request **out, struct av_err *e)
{
	const struct av_backend	*b = av_backend_by_media_type(rq->ctype);
	const char		*v;
	struct av_request	*req;

	if (av_request_from_raw(b->name, (const uint8_t *)rq->body, rq->len,
	    &req, e) == -1)
		return -1;
	if ((v = avd_query(rq, "nonce")) != NULL &&
	    (av_b64_decode(v, strlen(v), &req->nonce, &req->nonce_len) == -1 ||
	    req->nonce_len == 0 || req->nonce_len > AV_MAX_NONCE_BYTES)) {
		av_request_free(req);
		return AV_FAIL(e, AV_E_BAD_REQUEST,
		    "query parameter \"nonce\" must be base64url");
	}
	if ((v = avd_query(rq, "policy")) != NULL &&
	    (strlen(v) == 0 || strlen(v) > 64 ||
	    (req->policy_id = strdup(v)) == NULL)) {
		av_request_free(req);
		return AV_FAIL(e, AV_E_BAD_REQUEST,
		    "query parameter \"policy\" must be a policy id");
	}
	*out = req;
	return 0;
}

/* The request body in whichever envelope its media type names. */
static int
parse_envelope(struct avd_req *rq, struct av_request **out, struct av_err *e)
{
	json_error_t	 je;
	json_t		*doc;
	int		 rc;

	if (strcmp(rq->ctype, CT_JSON) != 0 && strcmp(rq->ctype, CT_CMW) != 0)
		return parse_raw(rq, out, e);
	if (rq->len == 0)
		return AV_FAIL(e, AV_E_BAD_REQUEST, "empty request body");
	doc = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return AV_FAIL(e, AV_E_BAD_REQUEST,
		    "request body is not valid JSON");
	if (strcmp(rq->ctype, CT_CMW) == 0)
		rc = avd_cmw_request(doc, avd_query(rq, "nonce"),
		    avd_query(rq, "policy"), out, e);
	else
		rc = av_request_from_json(doc, out, e);
	json_decref(doc);
	return rc;
}

/*
 * Check the request's nonce against the challenge store: a nonce this
 * daemon issued is single use and expires (409, 410).  Others are the
 * relying party's own and pass unless require_issued_nonce is set.
 * Returns 0, or -1 after queueing the error reply in *ret.
 */
static int
check_nonce(struct avd_req *rq, const struct av_request *req, int64_t now,
    int *ret)
{
	enum avd_nonce_state st;

	if (req->nonce == NULL) {
		if (!rq->cfg->opts->require_issued_nonce)
			return 0;
		*ret = avd_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "nonce_required", "request a nonce with POST /v1/challenge "
		    "and send it in \"nonce\"");
		return -1;
	}
	st = avd_nonce_consume(req->nonce, req->nonce_len, now);
	switch (st) {
	case AVD_NONCE_OK:
		return 0;
	case AVD_NONCE_USED:
		*ret = avd_reply_error(rq, MHD_HTTP_CONFLICT, "nonce_used",
		    "this nonce has already been used");
		return -1;
	case AVD_NONCE_EXPIRED:
		*ret = avd_reply_error(rq, MHD_HTTP_GONE, "nonce_expired",
		    "this nonce has expired; request a new one");
		return -1;
	case AVD_NONCE_FULL:
	case AVD_NONCE_UNAVAILABLE:
		/* never accept a nonce the store could not check */
		*ret = avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "nonce_store_unavailable", "the nonce store cannot be "
		    "reached; retry later");
		return -1;
	case AVD_NONCE_UNKNOWN:
	default:
		if (!rq->cfg->opts->require_issued_nonce)
			return 0;
		*ret = avd_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "nonce_unknown", "this nonce was not issued by this "
		    "verifier (or has long expired)");
		return -1;
	}
}

/*
 * POST /v1/attest: verify every evidence item at the server's clock,
 * appraise it against the selected policy and return the signed
 * verdict.  A failed verification is a 200 with a contraindicated
 * verdict; HTTP errors are for bad requests only.
 */
int
avd_h_attest(struct avd_req *rq)
{
	const struct avd_cfg	*c = rq->cfg;
	const struct av_policy	*pol = NULL;
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_env		 env;
	struct av_err		 e;
	json_t			*claims = NULL, *out;
	const char		*pid;
	char			*jwt = NULL;
	int64_t			 now;
	double			 t0 = avd_mono();
	int			 ret;

	av_err_clear(&e);
	now = (int64_t)time(NULL);	/* the server's clock, never the client's */
	if (parse_envelope(rq, &req, &e) == -1)
		return reply_request_err(rq, &e);
	pid = req->policy_id != NULL ? req->policy_id :
	    c->opts->default_policy;
	if (pid != NULL && (pol = av_policy_set_find(c->policies, pid)) ==
	    NULL) {
		ret = avd_reply_error(rq, MHD_HTTP_NOT_FOUND, "unknown_policy",
		    "no policy with this id");
		goto out;
	}
	if (check_nonce(rq, req, now, &ret) == -1)
		goto out;

	env.now = now;
	env.trust = c->trust;
	env.coll = c->coll;
	if (av_verify_request(&env, req, pol, &res, &e) == -1) {
		av_log_err(AV_LOG_ERROR, "verify_failed", &e);
		ret = avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal_error", "verification could not be completed");
		goto out;
	}
	if ((claims = av_ear_claims(res, now,
	    (int64_t)c->opts->verdict_ttl_s)) == NULL ||
	    (jwt = av_jwt_sign(c->signer, claims, &e)) == NULL) {
		av_log_err(AV_LOG_ERROR, "sign_failed", &e);
		ret = avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal_error", "the verdict could not be signed");
		goto out;
	}
	out = av_result_json(res, NULL);
	rq->verdict = av_status_str(res->status);
	for (size_t i = 0; i < res->nsubmods; i++)
		avd_metrics_verdict(res->submods[i].backend != NULL ?
		    res->submods[i].backend->name : "unknown",
		    av_status_str(res->submods[i].status));
	avd_metrics_latency(avd_mono() - t0);
	ret = avd_reply_verdict(rq, MHD_HTTP_OK, out, jwt);
 out:
	free(jwt);
	json_decref(claims);
	av_result_free(res);
	av_request_free(req);
	return ret;
}

/*
 * POST /v1/challenge: 201 {"nonce": base64url(32 random bytes),
 * "expires_at": RFC 3339}.  Single use; expires after nonce_ttl_s.
 */
int
avd_h_challenge(struct avd_req *rq)
{
	uint8_t		 n[32];
	int64_t		 now = (int64_t)time(NULL), exp;
	char		*b64, ts[40];
	json_t		*o;

	switch (avd_nonce_issue(now, n, &exp)) {
	case AVD_NONCE_OK:
		break;
	case AVD_NONCE_UNAVAILABLE:
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "nonce_store_unavailable", "the nonce store cannot be "
		    "reached; retry later");
	case AVD_NONCE_FULL:
	default:
		return avd_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too_many_challenges", "too many outstanding challenges; "
		    "retry later");
	}
	if ((b64 = av_b64url_encode(n, sizeof(n))) == NULL)
		return avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal_error", "out of memory");
	av_time_format(exp, ts, sizeof(ts));
	o = json_pack("{sssssI}", "nonce", b64, "expires_at", ts,
	    "expires_in", (json_int_t)(exp - now));
	free(b64);
	return avd_reply_json(rq, MHD_HTTP_CREATED, o);
}
