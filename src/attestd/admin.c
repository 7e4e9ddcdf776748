/*
 * attestd - admin routes, behind bearer tokens (--admin-tokens):
 * POST /v1/admin/reload and POST /v1/admin/rotate-key.  (The policy
 * routes are in policy_api.c.)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "av/log.h"
#include "av/policy.h"
#include "av/verdict.h"

#include "attestd.h"

/*
 * Check the bearer token.  Returns 0 (rq->admin set), or -1 after
 * queueing 401 into *ret.
 */
static int
require_admin(struct avd_req *rq, const char **tenant, int *ret)
{
	const char	*name, *t = NULL;

	name = avd_tokens_check(rq->cfg->tokens,
	    avd_header(rq, MHD_HTTP_HEADER_AUTHORIZATION), &t);
	if (name == NULL) {
		*ret = avd_reply_error(rq, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", rq->cfg->tokens == NULL ?
		    "the admin API is disabled (no --admin-tokens)" :
		    "missing or invalid bearer token");
		return -1;
	}
	rq->admin = strdup(name);
	if (tenant != NULL)
		*tenant = t;
	return 0;
}

/*
 * Daemon-wide operations (reload, key rotation) need a token that is not
 * scoped to a tenant.  Returns 0, or -1 after queueing 401/403 into *ret.
 */
static int
require_global_admin(struct avd_req *rq, int *ret)
{
	const char *tenant = NULL;

	if (require_admin(rq, &tenant, ret) == -1)
		return -1;
	if (tenant != NULL) {
		*ret = avd_reply_error(rq, MHD_HTTP_FORBIDDEN, "forbidden",
		    "a tenant's token cannot change the daemon's "
		    "configuration or keys");
		return -1;
	}
	return 0;
}

/*
 * POST /v1/admin/reload: as SIGHUP.  200 with the new generation, or 422
 * when the new configuration is rejected (the old one stays).
 */
int
avd_h_reload(struct avd_req *rq)
{
	struct avd_cfg	*c;
	json_t		*o;
	int		 ret;

	if (require_global_admin(rq, &ret) == -1)
		return ret;
	if (avd_reload(rq->cfg->opts, "admin_api") == -1)
		return avd_reply_error(rq, 422, "config_invalid",
		    "the new configuration was rejected and the previous one "
		    "stays in force; see the daemon log for the reason");
	c = avd_cfg_acquire();
	o = json_pack("{sssIsIss}", "status", "reloaded", "generation",
	    (json_int_t)c->generation, "policies",
	    (json_int_t)av_policy_set_count(c->policies), "kid",
	    c->signer->kid);
	avd_cfg_release(c);
	return avd_reply_json(rq, MHD_HTTP_OK, o);
}

/*
 * POST /v1/admin/rotate-key: generate a new verdict key in place of the
 * generated one (written aside, then renamed over it) and reload; the
 * old public key stays in the JWKS for key_grace_s.  An operator key
 * (--key) is not touched: 409.
 */
int
avd_h_rotate_key(struct avd_req *rq)
{
	static pthread_mutex_t	 rot_mtx = PTHREAD_MUTEX_INITIALIZER;
	const struct avd_opts	*o = rq->cfg->opts;
	struct av_signer	*s;
	struct av_err		 e;
	enum av_sig_alg		 alg;
	struct avd_cfg		*c;
	char			 tmp[4096], old_kid[sizeof(s->kid)];
	json_t			*out;
	int			 ret;

	if (require_global_admin(rq, &ret) == -1)
		return ret;
	if (o->key != NULL)
		return avd_reply_error(rq, MHD_HTTP_CONFLICT,
		    "key_managed_externally", "the verdict key is an operator "
		    "file (--key): replace it and reload");
	if (av_sig_alg_parse(o->key_alg, &alg) == -1)
		return avd_reply_error(rq, 500, "internal_error",
		    "bad key algorithm");
	av_err_clear(&e);
	pthread_mutex_lock(&rot_mtx);
	snprintf(old_kid, sizeof(old_kid), "%s", rq->cfg->signer->kid);
	snprintf(tmp, sizeof(tmp), "%s.new", rq->cfg->key_file);
	(void)unlink(tmp);
	if ((s = av_signer_load(tmp, alg, true, &e)) == NULL ||
	    rename(tmp, rq->cfg->key_file) == -1) {
		av_signer_free(s);
		(void)unlink(tmp);
		pthread_mutex_unlock(&rot_mtx);
		av_log_err(AV_LOG_ERROR, "rotate_key_failed", &e);
		return avd_reply_error(rq, 500, "internal_error",
		    "cannot write a new verdict key");
	}
	av_signer_free(s);
	ret = avd_reload(o, "rotate_key");
	pthread_mutex_unlock(&rot_mtx);
	if (ret == -1)
		return avd_reply_error(rq, 422, "config_invalid",
		    "a new key was written but the reload failed; the previous "
		    "configuration stays in force; see the daemon log");
	c = avd_cfg_acquire();
	out = json_pack("{sssssssss{sI}}", "status", "rotated", "kid",
	    c->signer->kid, "retired_kid", old_kid, "alg",
	    av_sig_alg_str(c->signer->alg), "retired", "grace_s",
	    (json_int_t)o->key_grace_s);
	avd_cfg_release(c);
	return avd_reply_json(rq, MHD_HTTP_OK, out);
}
