/*
 * attestd - the policy lifecycle API (docs/policies.md "Managing policies
 * over HTTP", docs/api.md), behind admin bearer tokens:
 *
 *   GET    /v1/policies                     policies in force (tenant-scoped)
 *   GET    /v1/policies/{id}[?version=N]    a document, current or older
 *   PUT    /v1/policies/{id}                validate, store a new version
 *   DELETE /v1/policies/{id}                remove (versions stay)
 *   POST   /v1/policies/{id}/rollback?to=N  version N's content, as new
 *   POST   /v1/policies/{id}/appraise       dry run: never signed
 *
 * {id} is "<id>" or "<tenant>/<id>"; a token scoped to a tenant reaches
 * only that tenant's policies (403 otherwise).  Writes go through the
 * store (src/policy/store.c: atomic, versioned, audited), then the
 * daemon's own reload (avd_reload: parse first, swap only on success).
 *
 * The policy directory is also watched (polling its files' names, sizes,
 * inodes and times): an edit made on disk is reloaded the same way and,
 * with the admin API on, archived and audited.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "av/codec.h"
#include "av/log.h"
#include "av/policy.h"
#include "av/policy_store.h"
#include "av/verify.h"

#include "attestd.h"

#define PFX		"/v1/policies"
#define SFX_ROLLBACK	"/rollback"
#define SFX_APPRAISE	"/appraise"

/* Serialises API writes and the watcher (each: change, reload, note). */
static pthread_mutex_t	 watch_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 watch_cv = PTHREAD_COND_INITIALIZER;
static uint8_t		 watch_fp[32];
static bool		 watch_fp_set;
static bool		 watch_stop;
static bool		 watch_running;
static pthread_t	 watch_thr;
static char		*watch_dir;		/* owned */
static const struct avd_opts *watch_opts;

/* ---- replies -------------------------------------------------------------- */

/* JSON reply with an ETag of the version ("N"); body stolen. */
static int
reply_etag(struct avd_req *rq, unsigned status, json_t *body, int64_t ver)
{
	char	etag[32];

	if (ver <= 0)
		return avd_reply_json(rq, status, body);
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)ver);
	return avd_reply_json_hdr(rq, status, body, MHD_HTTP_HEADER_ETAG,
	    etag);
}

/* A store failure as an HTTP error (detail for the admin, never a path). */
static int
reply_store_err(struct avd_req *rq, const struct av_pstore_err *pe)
{
	json_t *o;

	switch (pe->kind) {
	case AV_PS_BAD_ID:
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    pe->perr.reason);
	case AV_PS_INVALID:
		o = json_pack("{s{ssssss}}", "error", "code", "policy_invalid",
		    "message", pe->perr.reason, "path", pe->perr.path);
		return avd_reply_json(rq, MHD_HTTP_BAD_REQUEST, o);
	case AV_PS_NOT_FOUND:
		return avd_reply_error(rq, MHD_HTTP_NOT_FOUND,
		    strcmp(pe->perr.path, "") == 0 ? "unknown_policy" :
		    "unknown_version", pe->perr.reason);
	case AV_PS_CONFLICT:
		o = json_pack("{s{sssssI}}", "error", "code",
		    pe->current > 0 || strstr(pe->perr.reason, "If-") ?
		    "version_conflict" : "policy_conflict", "message",
		    pe->perr.reason, "current_version",
		    (json_int_t)pe->current);
		return avd_reply_json(rq, MHD_HTTP_CONFLICT, o);
	case AV_PS_IO:
	case AV_PS_OK:
	default:
		av_log(AV_LOG_ERROR, "policy_store_failed", "file",
		    pe->perr.file, "reason", pe->perr.reason, NULL);
		return avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal_error", "the policy store failed; see the daemon "
		    "log");
	}
}

/* ---- helpers -------------------------------------------------------------- */

/* Parse a positive decimal version; 0 when invalid. */
static int64_t
parse_version(const char *s)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return 0;
	return (int64_t)v;
}

/*
 * The precondition from If-Match ("N", N, W/"N", *) or If-None-Match
 * (*): -1 none, 0 must not exist, N current must be N.  Returns 0, or -1
 * when a header is malformed.
 */
static int
precondition(struct avd_req *rq, int64_t *out)
{
	const char	*im = avd_header(rq, MHD_HTTP_HEADER_IF_MATCH);
	const char	*inm = avd_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH);
	char		 buf[32];
	size_t		 n;

	*out = -1;
	if (inm != NULL) {
		if (strcmp(inm, "*") != 0 || im != NULL)
			return -1;
		*out = 0;
		return 0;
	}
	if (im == NULL || strcmp(im, "*") == 0)
		return 0;
	if (strncmp(im, "W/", 2) == 0)
		im += 2;
	n = strlen(im);
	if (n >= 2 && im[0] == '"' && im[n - 1] == '"') {
		im++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, im, n);
	buf[n] = '\0';
	return (*out = parse_version(buf)) > 0 ? 0 : -1;
}

static json_t *
summary(const struct av_policy *p)
{
	json_t *o = json_pack("{sssIss}", "id", p->id, "version",
	    (json_int_t)p->version, "ref", p->ref);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "tenant", p->tenant ? json_string(p->tenant) :
	    json_null());
	if (p->description != NULL)
		json_object_set_new(o, "description",
		    json_string(p->description));
	return o;
}

/* Whether a token scoped to tenant (NULL: all) may reach policy id. */
static bool
tenant_allows(const char *tenant, const char *id_tenant)
{
	if (tenant == NULL)
		return true;
	return id_tenant[0] != '\0' && strcmp(tenant, id_tenant) == 0;
}

/*
 * Reload after a change (the caller holds watch_mtx) and note the new
 * fingerprint so the watcher does not reload the same change again.
 * Returns whether the new set is in force.
 */
static bool
reload_locked(const struct avd_cfg *c, const char *why)
{
	bool ok = avd_reload(c->opts, why) == 0;

	if (c->policies_dir != NULL &&
	    av_pstore_fingerprint(c->policies_dir, watch_fp) == 0)
		watch_fp_set = true;
	return ok;
}

static json_t *
write_result(const char *id, int64_t version, bool active, json_t *change)
{
	json_t *o = json_pack("{sssIsb}", "id", id, "version",
	    (json_int_t)version, "active", active);

	if (o == NULL)
		return NULL;
	json_object_set(o, "changes", change != NULL ?
	    json_object_get(change, "changes") : json_null());
	if (!active)
		json_object_set_new(o, "warning", json_string("stored, but the "
		    "policy directory does not load as a whole (see the "
		    "daemon log); the previous set stays in force until it "
		    "does"));
	return o;
}

/* ---- handlers ------------------------------------------------------------- */

static int
h_list(struct avd_req *rq, const char *tenant)
{
	const struct av_policy	*p;
	json_t			*list;

	if ((list = json_array()) == NULL)
		return avd_reply_json(rq, 500, NULL);
	for (size_t i = 0; i < av_policy_set_count(rq->cfg->policies); i++) {
		p = av_policy_set_at(rq->cfg->policies, i);
		if (tenant == NULL || (p->tenant != NULL &&
		    strcmp(p->tenant, tenant) == 0))
			json_array_append_new(list, summary(p));
	}
	return avd_reply_json(rq, MHD_HTTP_OK, json_pack("{so}", "policies",
	    list));
}

static int
h_get(struct avd_req *rq, struct av_pstore *ps, const char *id)
{
	const struct av_policy	*p;
	struct av_pstore_err	 pe;
	const char		*vq = avd_query(rq, "version");
	json_t			*doc, *versions = NULL, *o;
	int64_t			 v = 0, cur = 0;

	if (vq != NULL && (v = parse_version(vq)) == 0)
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "query parameter \"version\" must be a positive integer");
	if (ps != NULL && av_pstore_versions(ps, id, &versions, &cur, &pe) ==
	    -1)
		versions = NULL;
	if (v > 0) {
		if (ps == NULL)
			return avd_reply_error(rq, MHD_HTTP_NOT_FOUND,
			    "unknown_version", "no such version");
		if (av_pstore_get(ps, id, v, &doc, &pe) == -1) {
			json_decref(versions);
			return reply_store_err(rq, &pe);
		}
		p = av_policy_set_find(rq->cfg->policies, id);
		o = json_pack("{sosssIsb}", "policy", doc, "id", id, "version",
		    (json_int_t)v, "active", p != NULL && p->version == v);
		if (o != NULL)
			json_object_set_new(o, "versions", versions ? versions :
			    json_array());
		return reply_etag(rq, MHD_HTTP_OK, o, v);
	}
	if ((p = av_policy_set_find(rq->cfg->policies, id)) == NULL) {
		json_decref(versions);
		return avd_reply_error(rq, MHD_HTTP_NOT_FOUND, "unknown_policy",
		    "no policy with this id is in force");
	}
	o = json_pack("{sOsssssIsb}", "policy", p->source, "id", p->id, "ref",
	    p->ref, "version", (json_int_t)p->version, "active", 1);
	if (o != NULL) {
		json_object_set_new(o, "versions", versions ? versions :
		    json_array());
		json_object_set_new(o, "stored_version", cur > 0 ?
		    json_integer((json_int_t)cur) : json_null());
	}
	return reply_etag(rq, MHD_HTTP_OK, o, p->version);
}

static int
h_put(struct avd_req *rq, struct av_pstore *ps, const char *id,
    const struct av_pstore_actor *who)
{
	struct av_pstore_err	 pe;
	json_error_t		 je;
	json_t			*doc, *change = NULL, *o;
	int64_t			 pre, v = 0;
	bool			 created, active;
	int			 rc;

	if (rq->ctype == NULL || strcmp(rq->ctype, "application/json") != 0)
		return avd_reply_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "unsupported_media_type", "a policy is application/json");
	if (precondition(rq, &pre) == -1)
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "If-Match takes a version (\"3\"); If-None-Match takes *");
	if ((doc = json_loadb(rq->body ? rq->body : "", rq->len,
	    JSON_REJECT_DUPLICATES, &je)) == NULL) {
		char msg[256], where[64];

		snprintf(msg, sizeof(msg), "not valid JSON: %s", je.text);
		snprintf(where, sizeof(where), "line %d column %d", je.line,
		    je.column);
		o = json_pack("{s{ssssss}}", "error", "code", "policy_invalid",
		    "message", msg, "path", where);
		return avd_reply_json(rq, MHD_HTTP_BAD_REQUEST, o);
	}
	pthread_mutex_lock(&watch_mtx);
	created = av_pstore_get(ps, id, 0, &o, &pe) == -1;
	if (!created)
		json_decref(o);
	rc = av_pstore_put(ps, id, doc, pre, who, &v, &change, &pe);
	json_decref(doc);
	if (rc == -1) {
		pthread_mutex_unlock(&watch_mtx);
		if (pe.kind == AV_PS_IO && v > 0)
			av_log(AV_LOG_ERROR, "policy_audit_failed", "policy",
			    id, "reason", pe.perr.reason, NULL);
		return reply_store_err(rq, &pe);
	}
	active = reload_locked(rq->cfg, "policy_api");
	pthread_mutex_unlock(&watch_mtx);
	av_log(AV_LOG_INFO, "policy_stored", "policy", id, "token",
	    who->token, "active", active ? "true" : "false", NULL);
	o = write_result(id, v, active, change);
	json_decref(change);
	return reply_etag(rq, created ? MHD_HTTP_CREATED : MHD_HTTP_OK, o, v);
}

static int
h_delete(struct avd_req *rq, struct av_pstore *ps, const char *id,
    const struct av_pstore_actor *who)
{
	struct av_pstore_err	 pe;
	json_t			*change = NULL, *o;
	int64_t			 pre, old = 0;
	bool			 active;

	if (precondition(rq, &pre) == -1)
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "If-Match takes a version (\"3\")");
	if (rq->cfg->opts->default_policy != NULL &&
	    strcmp(rq->cfg->opts->default_policy, id) == 0)
		return avd_reply_error(rq, MHD_HTTP_CONFLICT, "policy_in_use",
		    "this is the daemon's --default-policy; change that first");
	pthread_mutex_lock(&watch_mtx);
	if (av_pstore_delete(ps, id, pre, who, &change, &pe) == -1) {
		pthread_mutex_unlock(&watch_mtx);
		return reply_store_err(rq, &pe);
	}
	active = reload_locked(rq->cfg, "policy_api");
	pthread_mutex_unlock(&watch_mtx);
	old = json_integer_value(json_object_get(change, "old_version"));
	av_log(AV_LOG_INFO, "policy_deleted", "policy", id, "token",
	    who->token, NULL);
	o = json_pack("{sssbsIsb}", "id", id, "deleted", 1, "version",
	    (json_int_t)old, "active", active);
	if (o != NULL)
		json_object_set(o, "changes", json_object_get(change,
		    "changes"));
	json_decref(change);
	return avd_reply_json(rq, MHD_HTTP_OK, o);
}

static int
h_rollback(struct avd_req *rq, struct av_pstore *ps, const char *id,
    const struct av_pstore_actor *who)
{
	struct av_pstore_err	 pe;
	json_t			*change = NULL, *o;
	int64_t			 pre, to, v;
	bool			 active;

	if ((to = parse_version(avd_query(rq, "to"))) == 0)
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "query parameter \"to\" must be a version number");
	if (precondition(rq, &pre) == -1)
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "If-Match takes a version (\"3\")");
	pthread_mutex_lock(&watch_mtx);
	if (av_pstore_rollback(ps, id, to, pre, who, &v, &change, &pe) == -1) {
		pthread_mutex_unlock(&watch_mtx);
		return reply_store_err(rq, &pe);
	}
	active = reload_locked(rq->cfg, "policy_api");
	pthread_mutex_unlock(&watch_mtx);
	av_log(AV_LOG_INFO, "policy_rolled_back", "policy", id, "token",
	    who->token, NULL);
	o = write_result(id, v, active, change);
	if (o != NULL)
		json_object_set_new(o, "rollback_to", json_integer(to));
	json_decref(change);
	return reply_etag(rq, MHD_HTTP_OK, o, v);
}

/* "at": RFC 3339 text or unix seconds. */
static int
parse_at(const json_t *v, int64_t *out)
{
	char buf[32];

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(v));
		return av_time_parse(buf, out);
	}
	if (json_is_string(v))
		return av_time_parse(json_string_value(v), out);
	return -1;
}

/*
 * POST /v1/policies/{id}/appraise: the verdict that policy (in force, or
 * the draft in "policy") would give this evidence.  Nothing is signed,
 * no challenge nonce is consumed, no verdict metric is counted.
 */
static int
h_appraise(struct avd_req *rq, const char *id, const char *tenant,
    const char *local)
{
	const struct avd_cfg	*c = rq->cfg;
	const struct av_policy	*pol;
	struct av_policy	*draft = NULL;
	struct av_policy_err	 perr;
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_env		 env;
	struct av_err		 e;
	json_error_t		 je;
	json_t			*body = NULL, *dj, *v, *out = NULL, *dcopy = NULL;
	int64_t			 now = (int64_t)time(NULL);
	char			 ts[40];
	int			 ret;

	av_err_clear(&e);
	memset(&perr, 0, sizeof(perr));
	if (rq->ctype == NULL || strcmp(rq->ctype, "application/json") != 0)
		return avd_reply_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "unsupported_media_type", "a dry run takes application/json");
	if ((body = json_loadb(rq->body ? rq->body : "", rq->len,
	    JSON_REJECT_DUPLICATES, &je)) == NULL || !json_is_object(body)) {
		json_decref(body);
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "the body is a JSON object: {\"evidence\": [...], "
		    "\"policy\"?: {draft}, \"nonce\"?, \"runtime_data\"?, "
		    "\"at\"?}");
	}
	if ((v = json_object_get(body, "at")) != NULL &&
	    parse_at(v, &now) == -1) {
		ret = avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "\"at\" must be RFC 3339 or unix seconds");
		goto out;
	}
	dj = json_object_get(body, "policy");
	if (json_is_string(dj) && strcmp(json_string_value(dj), id) != 0 &&
	    strcmp(json_string_value(dj), local) != 0) {
		ret = avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "\"policy\" names another policy than the path");
		goto out;
	}
	if (dj != NULL && !json_is_string(dj) && !json_is_object(dj)) {
		ret = avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "\"policy\" is a draft policy document (an object)");
		goto out;
	}
	if (json_is_object(dj)) {
		const json_t *did = json_object_get(dj, "id");

		if ((dcopy = json_deep_copy(dj)) == NULL)
			goto oom;
		if (did != NULL && (!json_is_string(did) ||
		    strcmp(json_string_value(did), local) != 0)) {
			json_t *o = json_pack("{s{ssssss}}", "error", "code",
			    "policy_invalid", "message", "must be absent or "
			    "equal to the id in the path", "path", "id");

			ret = avd_reply_json(rq, MHD_HTTP_BAD_REQUEST, o);
			goto out;
		}
		json_object_set_new(dcopy, "id", json_string(local));
		if (json_object_get(dcopy, "version") == NULL) {
			pol = av_policy_set_find(c->policies, id);
			json_object_set_new(dcopy, "version", json_integer(
			    pol != NULL ? pol->version + 1 : 1));
		}
		if (av_policy_compile(dcopy, &draft, &perr) != 0) {
			json_t *o = json_pack("{s{ssssss}}", "error", "code",
			    "policy_invalid", "message", perr.reason, "path",
			    perr.path);

			ret = avd_reply_json(rq, MHD_HTTP_BAD_REQUEST, o);
			goto out;
		}
		if (tenant[0] != '\0' && av_policy_scope(draft, tenant) != 0)
			goto oom;
		pol = draft;
	} else if ((pol = av_policy_set_find(c->policies, id)) == NULL) {
		ret = avd_reply_error(rq, MHD_HTTP_NOT_FOUND, "unknown_policy",
		    "no policy with this id is in force; send a draft in "
		    "\"policy\"");
		goto out;
	}
	/* The rest is an ordinary attest request body. */
	json_object_del(body, "policy");
	json_object_del(body, "at");
	if (av_request_from_json(body, &req, &e) == -1) {
		ret = avd_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    e.code == AV_E_BAD_REQUEST ? "bad_request" :
		    av_code_str(e.code), e.reason ? e.reason : "bad request");
		goto out;
	}
	env.now = now;
	env.trust = c->trust;
	env.coll = c->coll;
	if (av_verify_request(&env, req, pol, &res, &e) == -1) {
		av_log_err(AV_LOG_ERROR, "dry_run_failed", &e);
		ret = avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal_error", "verification could not be completed");
		goto out;
	}
	if ((out = av_result_json(res, NULL)) == NULL)
		goto oom;
	av_time_format(now, ts, sizeof(ts));
	json_object_set_new(out, "dry_run", json_true());
	json_object_set_new(out, "verdict", json_null());
	json_object_set_new(out, "policy_source", json_string(draft ?
	    "draft" : "in_force"));
	json_object_set_new(out, "verified_at", json_string(ts));
	rq->verdict = "dry_run";
	ret = avd_reply_json(rq, MHD_HTTP_OK, out);
	out = NULL;
	goto out;
 oom:
	ret = avd_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
	    "internal_error", "out of memory");
 out:
	json_decref(out);
	json_decref(dcopy);
	json_decref(body);
	av_policy_free(draft);
	av_result_free(res);
	av_request_free(req);
	return ret;
}

/*
 * Every /v1/policies route: authenticate, scope to the token's tenant,
 * dispatch by method and path.
 */
int
avd_h_policy_api(struct avd_req *rq)
{
	struct av_pstore_actor	 who;
	struct av_pstore_err	 pe;
	struct av_pstore	*ps = NULL;
	const char		*name, *tenant = NULL, *local, *rest;
	enum { A_NONE, A_ROLLBACK, A_APPRAISE } action = A_NONE;
	char			 id[200], idt[65];
	size_t			 n;
	int			 ret;

	name = avd_tokens_check(rq->cfg->tokens,
	    avd_header(rq, MHD_HTTP_HEADER_AUTHORIZATION), &tenant);
	if (name == NULL)
		return avd_reply_error(rq, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", rq->cfg->tokens == NULL ?
		    "the admin API is disabled (no --admin-tokens)" :
		    "missing or invalid bearer token");
	free(rq->admin);
	rq->admin = strdup(name);
	rest = rq->url + strlen(PFX);
	if (*rest == '\0') {
		if (strcmp(rq->method, "GET") != 0 &&
		    strcmp(rq->method, "HEAD") != 0)
			return avd_reply_error(rq,
			    MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method_not_allowed", "method not allowed on "
			    "this path");
		return h_list(rq, tenant);
	}
	rest++;			/* the '/' */
	n = strlen(rest);
	if (strcmp(rq->method, "POST") == 0) {
		if (n > strlen(SFX_ROLLBACK) && strcmp(rest + n -
		    strlen(SFX_ROLLBACK), SFX_ROLLBACK) == 0) {
			action = A_ROLLBACK;
			n -= strlen(SFX_ROLLBACK);
		} else if (n > strlen(SFX_APPRAISE) && strcmp(rest + n -
		    strlen(SFX_APPRAISE), SFX_APPRAISE) == 0) {
			action = A_APPRAISE;
			n -= strlen(SFX_APPRAISE);
		} else
			return avd_reply_error(rq, MHD_HTTP_NOT_FOUND,
			    "not_found", "POST takes /v1/policies/{id}/rollback "
			    "or /v1/policies/{id}/appraise");
	}
	if (n == 0 || n >= sizeof(id))
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "invalid policy id");
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!av_pstore_split_id(id, idt, &local))
		return avd_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "invalid policy id: [TENANT/]ID, each 1-64 characters of "
		    "[A-Za-z0-9._-]");
	if (!tenant_allows(tenant, idt))
		return avd_reply_error(rq, MHD_HTTP_FORBIDDEN, "forbidden",
		    "this token may reach only its own tenant's policies "
		    "(\"<tenant>/<id>\")");
	if (action == A_APPRAISE)
		return h_appraise(rq, id, idt, local);

	if (rq->cfg->policies_dir != NULL &&
	    av_pstore_open(rq->cfg->policies_dir, &ps, &pe) == -1)
		ps = NULL;
	if (ps == NULL && strcmp(rq->method, "GET") != 0 &&
	    strcmp(rq->method, "HEAD") != 0)
		return avd_reply_error(rq, MHD_HTTP_CONFLICT,
		    "no_policy_directory", "the daemon has no policy directory "
		    "to write to (--policies DIR)");
	who.token = name;
	who.tenant = tenant;
	who.source = "api";
	if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
		ret = h_get(rq, ps, id);
	else if (strcmp(rq->method, "PUT") == 0)
		ret = h_put(rq, ps, id, &who);
	else if (strcmp(rq->method, "DELETE") == 0)
		ret = h_delete(rq, ps, id, &who);
	else if (action == A_ROLLBACK)
		ret = h_rollback(rq, ps, id, &who);
	else
		ret = avd_reply_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method_not_allowed", "method not allowed on this path");
	av_pstore_free(ps);
	return ret;
}

/* ---- the watcher ------------------------------------------------------- */

/* Audit policies that disappeared from disk between two sets. */
static void
audit_disk_deletes(const struct av_policy_set *old,
    const struct av_policy_set *cur)
{
	struct av_pstore	*ps;
	struct av_pstore_err	 pe;
	const struct av_policy	*p;
	json_t			*e;

	if (av_pstore_open(watch_dir, &ps, &pe) == -1)
		return;
	for (size_t i = 0; i < av_policy_set_count(old); i++) {
		p = av_policy_set_at(old, i);
		if (av_policy_set_find(cur, p->id) != NULL)
			continue;
		e = json_pack("{sssssssnsIsnso}", "action", "delete", "policy",
		    p->id, "source", "disk", "token", "old_version",
		    (json_int_t)p->version, "new_version", "changes",
		    av_policy_diff(p->source, NULL));
		if (e != NULL) {
			json_object_set_new(e, "tenant", p->tenant ?
			    json_string(p->tenant) : json_null());
			if (av_pstore_audit(ps, e) == -1)
				av_log(AV_LOG_WARN, "policy_audit_failed",
				    "policy", p->id, NULL);
		}
		json_decref(e);
	}
	av_pstore_free(ps);
}

/* Archive and audit what changed on disk (admin API on). */
static void
sync_disk(const char *source)
{
	struct av_pstore	*ps;
	struct av_pstore_err	 pe;
	struct av_pstore_actor	 who = { NULL, NULL, source };
	json_t			*changes = NULL;
	char			 nbuf[24];

	if (av_pstore_open(watch_dir, &ps, &pe) == -1 ||
	    av_pstore_sync(ps, &who, &changes, &pe) == -1) {
		av_log(AV_LOG_WARN, "policy_archive_failed", "dir", watch_dir,
		    "reason", pe.perr.reason, "advice", "the policy directory "
		    "must be writable for versions and the audit log", NULL);
	} else if (json_array_size(changes) > 0) {
		snprintf(nbuf, sizeof(nbuf), "%zu", json_array_size(changes));
		av_log(AV_LOG_INFO, "policy_versions_archived", "count", nbuf,
		    "source", source, NULL);
	}
	json_decref(changes);
	av_pstore_free(ps);
}

static void *
watch_main(void *arg)
{
	struct timespec	 ts;
	struct avd_cfg	*before, *after;
	struct av_policy_set *probe;
	struct av_policy_err perr;
	uint8_t		 fp[32];
	uint64_t	 ms = watch_opts->policy_poll_ms;

	(void)arg;
	pthread_mutex_lock(&watch_mtx);
	while (!watch_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&watch_cv, &watch_mtx, &ts);
		if (watch_stop)
			break;
		if (av_pstore_fingerprint(watch_dir, fp) == -1 ||
		    (watch_fp_set && memcmp(fp, watch_fp, sizeof(fp)) == 0))
			continue;
		memcpy(watch_fp, fp, sizeof(fp));
		watch_fp_set = true;
		av_log(AV_LOG_INFO, "policy_dir_changed", "dir", watch_dir,
		    NULL);
		/*
		 * Parse first: a directory that does not load is only logged
		 * (the set in force stays), without a failed reload.
		 */
		if (av_policy_set_load_dir(watch_dir, &probe, &perr) != 0) {
			av_log(AV_LOG_ERROR, "policy_dir_invalid", "file",
			    perr.file, "path", perr.path, "reason",
			    perr.reason, "result", "keeping the policies in "
			    "force", NULL);
			continue;
		}
		av_policy_set_free(probe);
		before = avd_cfg_acquire();
		if (avd_reload(watch_opts, "policy_dir_changed") == 0 &&
		    before != NULL && before->tokens != NULL) {
			after = avd_cfg_acquire();
			sync_disk("disk");
			audit_disk_deletes(before->policies, after->policies);
			avd_cfg_release(after);
		}
		avd_cfg_release(before);
	}
	pthread_mutex_unlock(&watch_mtx);
	return NULL;
}

/*
 * Start watching the policy directory in force (every policy_poll_ms; 0
 * disables).  With the admin API on, versions already on disk are
 * archived first.  Returns 0 or -1.
 */
int
avd_policy_watch_start(const struct avd_opts *o)
{
	struct avd_cfg	*c;
	bool		 admin;

	if ((c = avd_cfg_acquire()) == NULL)
		return -1;
	if (c->policies_dir == NULL) {
		avd_cfg_release(c);
		return 0;
	}
	admin = c->tokens != NULL;
	watch_dir = strdup(c->policies_dir);
	avd_cfg_release(c);
	if (watch_dir == NULL)
		return -1;
	watch_opts = o;
	if (av_pstore_fingerprint(watch_dir, watch_fp) == 0)
		watch_fp_set = true;
	if (admin)
		sync_disk("startup");
	if (o->policy_poll_ms == 0)
		return 0;
	watch_stop = false;
	if (pthread_create(&watch_thr, NULL, watch_main, NULL) != 0) {
		av_log(AV_LOG_ERROR, "policy_watch_failed", NULL);
		return -1;
	}
	watch_running = true;
	return 0;
}

/* Stop the watcher (at exit). */
void
avd_policy_watch_stop(void)
{
	if (watch_running) {
		pthread_mutex_lock(&watch_mtx);
		watch_stop = true;
		pthread_cond_broadcast(&watch_cv);
		pthread_mutex_unlock(&watch_mtx);
		pthread_join(watch_thr, NULL);
		watch_running = false;
	}
	free(watch_dir);
	watch_dir = NULL;
}
