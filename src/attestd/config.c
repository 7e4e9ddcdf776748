/*
 * attestd - the configuration snapshot (STYLE.md s.6): trust anchors,
 * policies, collateral and verdict keys, built aside and swapped in only
 * when complete.  The only global state of the daemon besides nonces and
 * metrics.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "av/collateral.h"
#include "av/crypto.h"
#include "av/log.h"
#include "av/policy.h"
#include "av/verdict.h"

#include "attestd.h"

#define KEY_FILE	"verdict-key.pem"
#define RETIRED_FILE	"retired-keys.json"
#define COLL_CACHE	"collateral"
#define MAX_RETIRED	32

static pthread_mutex_t	 cfg_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct avd_cfg	*cfg_cur;	/* immutable; refs is atomic */
static uint64_t		 cfg_generation;
static pthread_mutex_t	 reload_mtx = PTHREAD_MUTEX_INITIALIZER;

static void
cfg_free(struct avd_cfg *c)
{
	if (c == NULL)
		return;
	av_trust_free(c->trust);
	av_policy_set_free(c->policies);
	av_collateral_free(c->coll);
	av_signer_free(c->signer);
	for (size_t i = 0; i < c->nretired; i++)
		json_decref(c->retired[i].jwk);
	free(c->retired);
	avd_tokens_free(c->tokens);
	free(c->jwks);
	free(c->policies_dir);
	free(c->key_file);
	free(c->cache_dir);
	free(c);
}

/*
 * Take a reference to the current snapshot.  The mutex is held only for
 * the load and the increment, so a concurrent swap cannot free it first.
 */
struct avd_cfg *
avd_cfg_acquire(void)
{
	struct avd_cfg *c;

	pthread_mutex_lock(&cfg_mtx);
	c = cfg_cur;
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&cfg_mtx);
	return c;
}

/* Drop a reference; the last one frees the snapshot. */
void
avd_cfg_release(struct avd_cfg *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		cfg_free(c);
}

/* Install c (its reference moves to the global) and release the old. */
void
avd_cfg_install(struct avd_cfg *c)
{
	struct avd_cfg *old;

	pthread_mutex_lock(&cfg_mtx);
	c->generation = ++cfg_generation;
	old = cfg_cur;
	cfg_cur = c;
	pthread_mutex_unlock(&cfg_mtx);
	avd_cfg_release(old);
}

/* Uninstall and release the current snapshot (at exit). */
void
avd_cfg_clear(void)
{
	struct avd_cfg *old;

	pthread_mutex_lock(&cfg_mtx);
	old = cfg_cur;
	cfg_cur = NULL;
	pthread_mutex_unlock(&cfg_mtx);
	avd_cfg_release(old);
}

/* Whether a snapshot with trust anchors and a verdict key is installed. */
bool
avd_ready(void)
{
	struct avd_cfg	*c;
	bool		 ok;

	if ((c = avd_cfg_acquire()) == NULL)
		return false;
	ok = c->signer != NULL && c->trust != NULL &&
	    (c->policies != NULL || c->opts->policies == NULL);
	avd_cfg_release(c);
	return ok;
}

/* mkdir -p with mode for every directory created. */
static int
mkdirs(const char *path, mode_t mode)
{
	char	buf[PATH_MAX];
	size_t	n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static char *
join(const char *a, const char *b)
{
	size_t	 n = strlen(a) + strlen(b) + 2;
	char	*s;

	if ((s = malloc(n)) != NULL)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

/*
 * The state directory: --state-dir, else $STATE_DIRECTORY (systemd),
 * $XDG_STATE_HOME/attestd, ~/.local/state/attestd, or ./state.  Created
 * with mode 0700 when missing.  Returns a malloc'd path or NULL (logged).
 */
char *
avd_state_dir(const struct avd_opts *o)
{
	const char	*env;
	char		*dir = NULL;
	struct stat	 st;

	if (o->state_dir != NULL)
		dir = strdup(o->state_dir);
	else if ((env = getenv("STATE_DIRECTORY")) != NULL && *env != '\0')
		dir = strndup(env, strcspn(env, ":"));
	else if ((env = getenv("XDG_STATE_HOME")) != NULL && *env == '/')
		dir = join(env, "attestd");
	else if ((env = getenv("HOME")) != NULL && *env == '/')
		dir = join(env, ".local/state/attestd");
	else
		dir = strdup("state");
	if (dir == NULL)
		return NULL;
	if (mkdirs(dir, 0700) == -1 || stat(dir, &st) == -1 ||
	    !S_ISDIR(st.st_mode)) {
		av_log(AV_LOG_ERROR, "state_dir", "dir", dir, "error",
		    strerror(errno), NULL);
		free(dir);
		return NULL;
	}
	if ((st.st_mode & 077) != 0)
		av_log(AV_LOG_WARN, "state_dir_permissions", "dir", dir,
		    "advice", "chmod 0700: the verdict key lives here", NULL);
	return dir;
}

/*
 * The bundled policy directory when none is configured: next to an
 * installed binary (../share/attestd/policies), or the source tree's
 * policies/ when run from a build directory inside it.
 */
static char *
default_policy_dir(void)
{
	static const char *const rel[] = {
		"../share/attestd/policies",	/* installed */
		"../policies",			/* <src>/build/attestd */
		"../../policies",		/* <src>/build/x/attestd */
	};
	char		 exe[PATH_MAX], *slash, *p, *real;
	ssize_t		 n;
	struct stat	 st;

#ifdef AV_POLICY_DIR
	if (stat(AV_POLICY_DIR, &st) == 0 && S_ISDIR(st.st_mode))
		return strdup(AV_POLICY_DIR);
#endif
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if ((p = join(exe, rel[i])) == NULL)
			return NULL;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			real = realpath(p, NULL);
			free(p);
			return real;
		}
		free(p);
	}
	return NULL;
}

/* Read STATE/retired-keys.json: [{"jwk": {...}, "retired_at": N}, ...]. */
static void
retired_read(const char *file, struct avd_cfg *c)
{
	json_error_t	 je;
	json_t		*doc, *it, *jwk, *at;
	size_t		 i;

	if ((doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		if (access(file, F_OK) == 0)
			av_log(AV_LOG_WARN, "retired_keys_unreadable", "file",
			    file, "error", je.text, NULL);
		return;
	}
	if (!json_is_array(doc))
		goto out;
	if ((c->retired = calloc(MAX_RETIRED, sizeof(*c->retired))) == NULL)
		goto out;
	json_array_foreach(doc, i, it) {
		jwk = json_object_get(it, "jwk");
		at = json_object_get(it, "retired_at");
		if (!json_is_object(jwk) || !json_is_integer(at) ||
		    !json_is_string(json_object_get(jwk, "kid")) ||
		    c->nretired == MAX_RETIRED)
			continue;
		c->retired[c->nretired].jwk = json_incref(jwk);
		c->retired[c->nretired].retired_at = json_integer_value(at);
		c->nretired++;
	}
 out:
	json_decref(doc);
}

/* Write the retired list atomically (temp file, fsync, rename). */
static void
retired_write(const char *file, const struct avd_cfg *c)
{
	json_t	*doc;
	char	*tmp = NULL, *text = NULL;
	int	 fd = -1;
	size_t	 n;

	if ((doc = json_array()) == NULL)
		return;
	for (size_t i = 0; i < c->nretired; i++)
		json_array_append_new(doc, json_pack("{sOsI}", "jwk",
		    c->retired[i].jwk, "retired_at",
		    (json_int_t)c->retired[i].retired_at));
	n = strlen(file) + sizeof(".tmp");
	if ((text = json_dumps(doc, JSON_INDENT(1))) == NULL ||
	    (tmp = malloc(n)) == NULL)
		goto out;
	snprintf(tmp, n, "%s.tmp", file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1)
		goto out;
	n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) == -1)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, file) == -1)
		goto out;
	free(tmp);
	tmp = NULL;
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		av_log(AV_LOG_WARN, "retired_keys_write", "file", file,
		    "error", strerror(errno), NULL);
		unlink(tmp);
	}
	free(tmp);
	free(text);
	json_decref(doc);
}

/*
 * Carry the retired keys over from prev (or the state file), retire the
 * previous signing key when it changed, and drop keys past the grace
 * period.  Returns whether the list changed (to be written).
 */
static bool
retire_keys(struct avd_cfg *c, const struct avd_cfg *prev,
    const char *file, int64_t now)
{
	bool	 changed = false;
	size_t	 i, j;

	if (prev != NULL) {
		if ((c->retired = calloc(MAX_RETIRED, sizeof(*c->retired))) ==
		    NULL)
			return false;
		for (i = 0; i < prev->nretired; i++) {
			c->retired[i].jwk = json_incref(prev->retired[i].jwk);
			c->retired[i].retired_at = prev->retired[i].retired_at;
		}
		c->nretired = prev->nretired;
		if (prev->signer != NULL &&
		    strcmp(prev->signer->kid, c->signer->kid) != 0) {
			if (c->nretired == MAX_RETIRED) {
				json_decref(c->retired[0].jwk);
				memmove(&c->retired[0], &c->retired[1],
				    (MAX_RETIRED - 1) * sizeof(*c->retired));
				c->nretired--;
			}
			c->retired[c->nretired].jwk =
			    av_signer_jwk(prev->signer);
			c->retired[c->nretired].retired_at = now;
			if (c->retired[c->nretired].jwk != NULL) {
				c->nretired++;
				changed = true;
				av_log(AV_LOG_INFO, "verdict_key_retired",
				    "kid", prev->signer->kid, "new_kid",
				    c->signer->kid, NULL);
			}
		}
	} else if (file != NULL)
		retired_read(file, c);
	/* Drop expired ones, and the current key should it reappear. */
	for (i = j = 0; i < c->nretired; i++) {
		const char *kid = json_string_value(json_object_get(
		    c->retired[i].jwk, "kid"));

		if (c->retired[i].retired_at +
		    (int64_t)c->opts->key_grace_s < now ||
		    kid == NULL || strcmp(kid, c->signer->kid) == 0) {
			json_decref(c->retired[i].jwk);
			changed = true;
			continue;
		}
		c->retired[j++] = c->retired[i];
	}
	c->nretired = j;
	return changed;
}

static int
build_jwks(struct avd_cfg *c)
{
	const struct av_signer	*s[1] = { c->signer };
	json_t			*jwks, *keys;
	int			 rc = -1;

	if ((jwks = av_jwks(s, 1)) == NULL)
		return -1;
	if ((keys = json_object_get(jwks, "keys")) == NULL ||
	    !json_is_array(keys))
		goto out;
	for (size_t i = 0; i < c->nretired; i++)
		if (json_array_append(keys, c->retired[i].jwk) == -1)
			goto out;
	if ((c->jwks = json_dumps(jwks, JSON_COMPACT)) == NULL)
		goto out;
	c->jwks_len = strlen(c->jwks);
	rc = 0;
 out:
	json_decref(jwks);
	return rc;
}

static void
log_policy_err(const char *event, const struct av_policy_err *pe)
{
	av_log(AV_LOG_ERROR, event, "file", pe->file, "path", pe->path,
	    "reason", pe->reason, NULL);
}

/*
 * Build a complete snapshot from the options.  Nothing global changes
 * here: the caller installs the result.  Returns NULL after logging.
 */
struct avd_cfg *
avd_cfg_build(const struct avd_opts *o, const struct avd_cfg *prev)
{
	struct avd_cfg		*c;
	struct av_policy_err	 pe;
	struct av_err		 e;
	enum av_sig_alg		 alg;
	char			*state = NULL, *retired_file = NULL;
	char			 nbuf[32];
	bool			 create = false;

	av_err_clear(&e);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->opts = o;
	c->loaded_at = (int64_t)time(NULL);

	/* Trust anchors: built-in pins plus the operator's directory. */
	if ((c->trust = av_trust_new()) == NULL)
		goto fail;
	if (o->trust_dir != NULL &&
	    av_trust_load_dir(c->trust, o->trust_dir, &e) == -1) {
		av_log_err(AV_LOG_ERROR, "trust_dir_invalid", &e);
		av_log(AV_LOG_ERROR, "trust_dir_invalid", "dir", o->trust_dir,
		    NULL);
		goto fail;
	}

	/* Policies: every file must load. */
	if (o->policies != NULL)
		c->policies_dir = strdup(o->policies);
	else if ((c->policies_dir = default_policy_dir()) == NULL)
		av_log(AV_LOG_WARN, "no_policy_dir", "advice",
		    "pass --policies DIR; serving evidence-only appraisal",
		    NULL);
	if (c->policies_dir != NULL &&
	    av_policy_set_load_dir(c->policies_dir, &c->policies, &pe) != 0) {
		log_policy_err("policy_invalid", &pe);
		goto fail;
	}
	if (o->default_policy != NULL &&
	    av_policy_set_find(c->policies, o->default_policy) == NULL) {
		av_log(AV_LOG_ERROR, "default_policy_unknown", "id",
		    o->default_policy, NULL);
		goto fail;
	}

	/* Collateral: files given by the operator, cache, fetch settings. */
	if ((state = avd_state_dir(o)) == NULL)
		goto fail;
	if (o->collateral_cache != NULL)
		c->cache_dir = strdup(o->collateral_cache);
	else
		c->cache_dir = join(state, COLL_CACHE);
	if (c->cache_dir == NULL || mkdirs(c->cache_dir, 0700) == -1) {
		av_log(AV_LOG_ERROR, "collateral_cache", "dir", c->cache_dir,
		    "error", strerror(errno), NULL);
		goto fail;
	}
	c->fetch.online = o->collateral_online;
	c->fetch.cache_dir = c->cache_dir;
	c->fetch.amd_kds_url = o->amd_kds_url;
	c->fetch.intel_pcs_url = o->intel_pcs_url;
	c->fetch.nvidia_rim_url = o->nvidia_rim_url;
	c->fetch.nvidia_ocsp_url = o->nvidia_ocsp_url;
	c->fetch.timeout_s = (long)o->collateral_timeout_s;
	if ((c->coll = av_collateral_new(&c->fetch)) == NULL)
		goto fail;
	if (o->collateral_dir != NULL &&
	    av_collateral_add_dir(c->coll, o->collateral_dir, &e) == -1) {
		av_log_err(AV_LOG_ERROR, "collateral_dir_invalid", &e);
		goto fail;
	}

	/* Verdict key: --key, or generated once into the state directory. */
	if (av_sig_alg_parse(o->key_alg, &alg) == -1) {
		av_log(AV_LOG_ERROR, "key_alg_invalid", "key_alg", o->key_alg,
		    "expected", "ES256, ES384 or EdDSA", NULL);
		goto fail;
	}
	if (o->key != NULL)
		c->key_file = strdup(o->key);
	else {
		c->key_file = join(state, KEY_FILE);
		create = true;
	}
	if (c->key_file == NULL ||
	    (c->signer = av_signer_load(c->key_file, alg, create, &e)) ==
	    NULL) {
		av_log_err(AV_LOG_ERROR, "verdict_key_invalid", &e);
		av_log(AV_LOG_ERROR, "verdict_key_invalid", "file",
		    c->key_file, NULL);
		goto fail;
	}
	if ((retired_file = join(state, RETIRED_FILE)) == NULL)
		goto fail;
	if (retire_keys(c, prev, retired_file, c->loaded_at))
		retired_write(retired_file, c);
	if (build_jwks(c) == -1)
		goto fail;

	/* Admin tokens. */
	if (o->admin_tokens != NULL &&
	    (c->tokens = avd_tokens_load(o->admin_tokens)) == NULL)
		goto fail;

	snprintf(nbuf, sizeof(nbuf), "%zu", av_policy_set_count(c->policies));
	av_log(AV_LOG_INFO, "config_loaded", "policies", nbuf,
	    "policy_dir", c->policies_dir, "kid", c->signer->kid,
	    "alg", av_sig_alg_str(c->signer->alg), "key_file", c->key_file,
	    NULL);
	free(state);
	free(retired_file);
	return c;
 fail:
	free(state);
	free(retired_file);
	cfg_free(c);
	return NULL;
}

/*
 * Reload (SIGHUP, POST /v1/admin/reload): parse and validate everything
 * aside; swap only on success.  Returns 0, or -1 keeping the old set.
 */
int
avd_reload(const struct avd_opts *o, const char *why)
{
	struct avd_cfg	*prev, *next;
	int		 rc = -1;

	pthread_mutex_lock(&reload_mtx);
	prev = avd_cfg_acquire();
	next = avd_cfg_build(o, prev);
	avd_cfg_release(prev);
	if (next == NULL) {
		av_log(AV_LOG_ERROR, "reload_failed", "trigger", why,
		    "result", "keeping the previous configuration", NULL);
		avd_metrics_reload(false);
	} else {
		avd_cfg_install(next);
		av_log(AV_LOG_INFO, "reloaded", "trigger", why, NULL);
		avd_metrics_reload(true);
		rc = 0;
	}
	pthread_mutex_unlock(&reload_mtx);
	return rc;
}
