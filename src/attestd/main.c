/*
 * attestd - the remote attestation verifier daemon (docs/cli.md,
 * docs/api.md).  Loads the configuration snapshot, serves HTTP, reloads
 * on SIGHUP and drains on SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "av/log.h"
#include "av/policy.h"

#include "attestd.h"

#define EX_USAGE	64
#define EX_CONFIG	78

static int
set_log_level(const char *s)
{
	static const struct {
		const char		*name;
		enum av_log_level	 level;
	} levels[] = {
		{ "debug", AV_LOG_DEBUG }, { "info", AV_LOG_INFO },
		{ "warn", AV_LOG_WARN }, { "error", AV_LOG_ERROR },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(levels[i].name, s) == 0) {
			av_log_set_level(levels[i].level);
			return 0;
		}
	return -1;
}

/* --check-config: everything loaded; print what would run. */
static int
check_config(const struct avd_opts *o, const struct avd_cfg *c)
{
	json_t	*out, *pols;
	char	*s;

	out = json_pack("{sosssssIso}", "settings", avd_opts_json(o),
	    "key_file", c->key_file, "kid", c->signer->kid,
	    "retired_keys", (json_int_t)c->nretired,
	    "policy_dir", c->policies_dir ? json_string(c->policies_dir) :
	    json_null());
	if (out == NULL || (pols = json_array()) == NULL)
		return EX_CONFIG;
	for (size_t i = 0; i < av_policy_set_count(c->policies); i++)
		json_array_append_new(pols, json_string(
		    av_policy_set_at(c->policies, i)->ref));
	json_object_set_new(out, "policies", pols);
	json_object_set_new(out, "admin_tokens", json_boolean(c->tokens));
	json_object_set_new(out, "nonce_store", avd_nonce_describe());
	if ((s = json_dumps(out, JSON_INDENT(2))) != NULL) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(out);
	return 0;
}

int
main(int argc, char **argv)
{
	struct avd_opts	 opts;
	struct avd_cfg	*cfg;
	sigset_t	 set;
	bool		 check;
	int		 sig, rc = 1;

	if (avd_opts_load(argc, argv, &opts, &check) == -1)
		return EX_USAGE;
	if (set_log_level(opts.log_level) == -1) {
		fprintf(stderr, "attestd: --log-level: expected debug, info, "
		    "warn or error\n");
		avd_opts_cleanup(&opts);
		return EX_USAGE;
	}
	/* Signals are taken by sigwait() below, never by a worker thread. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (avd_nonce_configure(&opts) == -1) {
		avd_opts_cleanup(&opts);
		return EX_CONFIG;
	}
	if ((cfg = avd_cfg_build(&opts, NULL)) == NULL) {
		fprintf(stderr, "attestd: configuration invalid (see the log "
		    "above)\n");
		avd_opts_cleanup(&opts);
		return EX_CONFIG;
	}
	if (check) {
		rc = check_config(&opts, cfg);
		avd_cfg_release(cfg);
		avd_opts_cleanup(&opts);
		return rc;
	}
	avd_cfg_install(cfg);
	if (avd_nonce_start() == -1) {
		av_log(AV_LOG_ERROR, "nonce_store", "error", "out of memory",
		    NULL);
		goto out;
	}
	/* policies on disk are archived before the first request is served */
	(void)avd_policy_watch_start(&opts);
	if (avd_http_start(&opts) == -1) {
		avd_policy_watch_stop();
		goto out;
	}

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			(void)avd_reload(&opts, "SIGHUP");
			continue;
		}
		av_log(AV_LOG_INFO, "shutdown", "signal",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
		break;
	}
	avd_policy_watch_stop();
	avd_http_stop((int64_t)opts.drain_timeout_s);
	rc = 0;
 out:
	avd_nonce_stop();
	avd_cfg_clear();
	avd_opts_cleanup(&opts);
	return rc;
}
