/*
 * attestctl - the command-line face of the verifier (docs/cli.md):
 *   attestctl verify [options] EVIDENCE
 *   attestctl policy check|diff|test ...   (policy_cmd.c)
 *   attestctl refvals add|import ...       (refvals.c)
 *   attestctl jwks [--key FILE | --state-dir DIR]
 *   attestctl collateral import [--cache DIR] FILE...
 *
 * Exit status (sysexits-style): 0 affirming / success, 1 warning (or a
 * failed check), 2 contraindicated, 64 usage, 66 unreadable input,
 * 70 internal error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/log.h"
#include "av/policy.h"
#include "av/verdict.h"
#include "av/verify.h"

#include "avc.h"

#define EX_OK		0
#define EX_WARN		1
#define EX_CONTRA	2
#define EX_USAGE	64
#define EX_NOINPUT	66
#define EX_SOFTWARE	70

#define KEY_FILE	"verdict-key.pem"
#define COLL_CACHE	"collateral"	/* attestd's default cache */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: attestctl verify [--type TYPE] [--policy FILE] "
	    "[--policies DIR] [--nonce HEX]\n"
	    "                        [--at TIME] [--trust-dir DIR] "
	    "[--collateral DIR] [--key FILE]\n"
	    "                        [--cache DIR] [--online] [--compact] "
	    "EVIDENCE\n"
	    "       attestctl policy check [--json] [--strict] FILE...\n"
	    "       attestctl policy diff [--json] OLD NEW\n"
	    "       attestctl policy test --policy FILE [--at TIME] "
	    "[--junit FILE] EVIDENCE...\n"
	    "       attestctl refvals add --policy FILE --from EVIDENCE "
	    "[--at TIME]\n"
	    "       attestctl refvals import --policy FILE "
	    "--nitro-measurements FILE\n"
	    "       attestctl jwks [--key FILE | --state-dir DIR]\n"
	    "       attestctl collateral import [--cache DIR | --state-dir "
	    "DIR] FILE...\n"
	    "       attestctl version\n"
	    "\n"
	    "EVIDENCE is a raw evidence file (binary, base64 or hex text, or "
	    "a JSON document\nthat is the evidence; type detected unless "
	    "--type), a JSON request body as\nPOST /v1/attest takes it "
	    "(an object with \"evidence\", or NVIDIA's SDK list), or -\n"
	    "for standard input.  Exit status: 0 affirming, 1 warning, 2 "
	    "contraindicated,\n64 usage, 66 unreadable input, 70 internal "
	    "error.\n");
}

static int
status_exit(enum av_status s)
{
	switch (s) {
	case AV_STATUS_AFFIRMING:
		return EX_OK;
	case AV_STATUS_WARNING:
		return EX_WARN;
	case AV_STATUS_CONTRAINDICATED:
	case AV_STATUS_NONE:
	default:
		return EX_CONTRA;
	}
}

static void
print_policy_err(const char *file, const struct av_policy_err *pe)
{
	fprintf(stderr, "%s: %s%s%s\n", pe->file[0] ? pe->file : file,
	    pe->path[0] ? pe->path : "", pe->path[0] ? ": " : "", pe->reason);
}

/* An ephemeral ES256 signer (the verdict cannot be checked later). */
static struct av_signer *
ephemeral_signer(struct av_err *e)
{
	struct av_signer	*s;
	EVP_PKEY		*pk;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot generate a key");
		return NULL;
	}
	s = av_signer_from_pkey(pk, e);
	EVP_PKEY_free(pk);
	return s;
}

enum {
	V_TYPE = 256, V_POLICY, V_POLICIES, V_NONCE, V_AT, V_TRUST, V_COLL,
	V_KEY, V_COMPACT, V_HELP, V_TTL, V_CACHE, V_ONLINE
};

static int
cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "type", required_argument, NULL, V_TYPE },
		{ "policy", required_argument, NULL, V_POLICY },
		{ "policies", required_argument, NULL, V_POLICIES },
		{ "nonce", required_argument, NULL, V_NONCE },
		{ "at", required_argument, NULL, V_AT },
		{ "trust-dir", required_argument, NULL, V_TRUST },
		{ "collateral", required_argument, NULL, V_COLL },
		{ "key", required_argument, NULL, V_KEY },
		{ "ttl", required_argument, NULL, V_TTL },
		{ "cache", required_argument, NULL, V_CACHE },
		{ "online", no_argument, NULL, V_ONLINE },
		{ "compact", no_argument, NULL, V_COMPACT },
		{ "help", no_argument, NULL, V_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char		*type = NULL, *policy_file = NULL;
	const char		*policies_dir = NULL, *nonce_hex = NULL;
	const char		*at = NULL, *trust_dir = NULL, *coll_dir = NULL;
	const char		*key_file = NULL, *form = NULL;
	const struct av_policy	*pol = NULL;
	struct av_policy	*own_pol = NULL;
	struct av_policy_set	*pset = NULL;
	struct av_policy_err	 pe;
	struct av_trust		*trust = NULL;
	struct av_collateral	*coll = NULL;
	struct av_coll_fetch_cfg fcfg;
	struct av_signer	*signer = NULL;
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_env		 env;
	struct av_err		 e;
	json_t			*claims = NULL, *out = NULL;
	uint8_t			*nonce = NULL;
	size_t			 nonce_len = 0;
	char			*jwt = NULL, *text;
	int64_t			 now, ttl = 300;
	char			*end, why[512];
	bool			 compact = false, ephemeral = false;
	int			 c, ex, rc = EX_SOFTWARE;

	av_err_clear(&e);
	memset(&fcfg, 0, sizeof(fcfg));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case V_TYPE:
			type = optarg;
			break;
		case V_POLICY:
			policy_file = optarg;
			break;
		case V_POLICIES:
			policies_dir = optarg;
			break;
		case V_NONCE:
			nonce_hex = optarg;
			break;
		case V_AT:
			at = optarg;
			break;
		case V_TRUST:
			trust_dir = optarg;
			break;
		case V_COLL:
			coll_dir = optarg;
			break;
		case V_KEY:
			key_file = optarg;
			break;
		case V_TTL:
			errno = 0;
			ttl = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    ttl <= 0) {
				fprintf(stderr, "attestctl: --ttl: expected "
				    "seconds\n");
				return EX_USAGE;
			}
			break;
		case V_COMPACT:
			compact = true;
			break;
		case V_CACHE:
			fcfg.cache_dir = optarg;
			break;
		case V_ONLINE:
			fcfg.online = true;
			break;
		case V_HELP:
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "attestctl verify: exactly one EVIDENCE "
		    "argument\n");
		usage(stderr);
		return EX_USAGE;
	}
	if (type != NULL && av_backend_find(type) == NULL) {
		fprintf(stderr, "attestctl: unknown evidence type \"%s\"; "
		    "known:", type);
		for (const struct av_backend *const *p = av_backends(); *p;
		    p++)
			fprintf(stderr, " %s", (*p)->name);
		fprintf(stderr, "\n");
		return EX_USAGE;
	}
	if (at != NULL) {
		if (av_time_parse(at, &now) == -1) {
			fprintf(stderr, "attestctl: --at: expected RFC 3339 "
			    "or unix seconds\n");
			return EX_USAGE;
		}
	} else
		now = (int64_t)time(NULL);
	if (nonce_hex != NULL && (av_hex_decode(nonce_hex, strlen(nonce_hex),
	    &nonce, &nonce_len) == -1 || nonce_len == 0 ||
	    nonce_len > AV_MAX_NONCE_BYTES)) {
		fprintf(stderr, "attestctl: --nonce: expected 1-1024 bytes of "
		    "hex\n");
		rc = EX_USAGE;
		goto out;
	}

	/* Policy first: a bad policy is a usage error, before any work. */
	if (policy_file != NULL) {
		if (av_policy_load_file(policy_file, &own_pol, &pe) != 0) {
			print_policy_err(policy_file, &pe);
			rc = access(policy_file, R_OK) == 0 ? EX_USAGE :
			    EX_NOINPUT;
			goto out;
		}
		pol = own_pol;
	}
	if (policies_dir != NULL &&
	    av_policy_set_load_dir(policies_dir, &pset, &pe) != 0) {
		print_policy_err(policies_dir, &pe);
		rc = EX_USAGE;
		goto out;
	}

	/* The input: a JSON request body, or raw evidence (load.c). */
	if (avc_load_request(argv[optind], type, &req, &form, why,
	    sizeof(why), &ex) == -1) {
		fprintf(stderr, "attestctl: %s: %s\n", argv[optind], why);
		rc = ex;
		goto out;
	}
	if (nonce != NULL) {
		free(req->nonce);
		req->nonce = nonce;
		req->nonce_len = nonce_len;
		nonce = NULL;
	}
	if (pol == NULL && req->policy_id != NULL) {
		if (pset == NULL) {
			fprintf(stderr, "attestctl: the request names policy "
			    "\"%s\": pass --policy FILE or --policies DIR\n",
			    req->policy_id);
			rc = EX_USAGE;
			goto out;
		}
		if ((pol = av_policy_set_find(pset, req->policy_id)) == NULL) {
			fprintf(stderr, "attestctl: no policy \"%s\" in %s\n",
			    req->policy_id, policies_dir);
			rc = EX_USAGE;
			goto out;
		}
	}

	/* Trust anchors and collateral. */
	if (avc_env(trust_dir, coll_dir, &fcfg, &trust, &coll) == -1) {
		rc = EX_NOINPUT;
		goto out;
	}

	/* The verdict key. */
	if (key_file != NULL) {
		if ((signer = av_signer_load(key_file, AV_ALG_ES256, false,
		    &e)) == NULL) {
			fprintf(stderr, "attestctl: --key %s: %s\n", key_file,
			    e.reason);
			rc = EX_NOINPUT;
			goto out;
		}
	} else {
		if ((signer = ephemeral_signer(&e)) == NULL)
			goto out;
		ephemeral = true;
	}

	env.now = now;
	env.trust = trust;
	env.coll = coll;
	if (av_verify_request(&env, req, pol, &res, &e) == -1) {
		fprintf(stderr, "attestctl: verification failed internally: "
		    "%s\n", e.reason);
		goto out;
	}
	/* iat is when the verdict is issued, even for --at audits. */
	if ((claims = av_ear_claims(res, (int64_t)time(NULL), ttl)) == NULL ||
	    (jwt = av_jwt_sign(signer, claims, &e)) == NULL) {
		fprintf(stderr, "attestctl: cannot sign the verdict: %s\n",
		    e.reason ? e.reason : "out of memory");
		goto out;
	}
	if ((out = av_result_json(res, jwt)) == NULL)
		goto out;
	json_object_set_new(out, "verdict_key", av_signer_jwk(signer));
	if (ephemeral)
		fprintf(stderr, "attestctl: verdict signed with an ephemeral "
		    "key (kid %s, in \"verdict_key\"); pass --key FILE to sign "
		    "with a persistent key\n", signer->kid);
	if (at != NULL) {
		char ts[40];

		av_time_format(now, ts, sizeof(ts));
		fprintf(stderr, "attestctl: verified at %s (--at), input "
		    "form %s\n", ts, form);
	}
	if ((text = json_dumps(out, compact ? JSON_COMPACT :
	    JSON_INDENT(2))) == NULL)
		goto out;
	printf("%s\n", text);
	free(text);
	rc = status_exit(res->status);
 out:
	if (rc == EX_SOFTWARE && e.code != AV_OK)
		av_log_err(AV_LOG_ERROR, "attestctl", &e);
	json_decref(out);
	json_decref(claims);
	free(jwt);
	free(nonce);
	av_result_free(res);
	av_request_free(req);
	av_signer_free(signer);
	av_collateral_free(coll);
	av_trust_free(trust);
	av_policy_free(own_pol);
	av_policy_set_free(pset);
	return rc;
}

/*
 * sub inside the state directory as attestd chooses it (without creating
 * it): DIR, $STATE_DIRECTORY, $XDG_STATE_HOME/attestd,
 * ~/.local/state/attestd, or ./state.  Malloc'd.
 */
static char *
state_path(const char *state_dir, const char *sub)
{
	const char	*env;
	char		 buf[PATH_MAX];

	if (state_dir != NULL)
		snprintf(buf, sizeof(buf), "%s/%s", state_dir, sub);
	else if ((env = getenv("STATE_DIRECTORY")) != NULL && *env != '\0')
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)strcspn(env, ":"),
		    env, sub);
	else if ((env = getenv("XDG_STATE_HOME")) != NULL && *env == '/')
		snprintf(buf, sizeof(buf), "%s/attestd/%s", env, sub);
	else if ((env = getenv("HOME")) != NULL && *env == '/')
		snprintf(buf, sizeof(buf), "%s/.local/state/attestd/%s", env,
		    sub);
	else
		snprintf(buf, sizeof(buf), "state/%s", sub);
	return strdup(buf);
}

/* attestctl jwks [--key FILE | --state-dir DIR]: the public JWKS. */
static int
cmd_jwks(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const struct av_signer	*sv[1];
	struct av_signer	*s;
	struct av_err		 e;
	const char		*key = NULL, *state = NULL;
	char			*file, *text;
	json_t			*j;
	int			 c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 's':
			state = optarg;
			break;
		default:
			fprintf(stderr, "usage: attestctl jwks [--key FILE | "
			    "--state-dir DIR]\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: attestctl jwks [--key FILE | "
		    "--state-dir DIR]\n");
		return EX_USAGE;
	}
	if ((file = key != NULL ? strdup(key) : state_path(state, KEY_FILE)) ==
	    NULL)
		return EX_SOFTWARE;
	av_err_clear(&e);
	if ((s = av_signer_load(file, AV_ALG_ES256, false, &e)) == NULL) {
		fprintf(stderr, "attestctl: %s: %s\n", file, e.reason);
		free(file);
		return EX_NOINPUT;
	}
	free(file);
	sv[0] = s;
	j = av_jwks(sv, 1);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	av_signer_free(s);
	if (text == NULL)
		return EX_SOFTWARE;
	printf("%s\n", text);
	free(text);
	return EX_OK;
}

/*
 * attestctl collateral import [--cache DIR | --state-dir DIR] FILE...:
 * pre-seed the collateral cache for offline use.
 */
static int
cmd_collateral(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*cache = NULL, *state = NULL;
	char		*dir;
	struct av_err	 e;
	size_t		 n = 0;
	int		 c;

	if (argc < 2 || strcmp(argv[1], "import") != 0)
		goto usage;
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			cache = optarg;
			break;
		case 's':
			state = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if ((dir = cache != NULL ? strdup(cache) :
	    state_path(state, COLL_CACHE)) == NULL)
		return EX_SOFTWARE;
	av_err_clear(&e);
	if (av_collateral_import(dir, (const char *const *)argv + optind,
	    (size_t)(argc - optind), &n, &e) == -1) {
		fprintf(stderr, "attestctl: collateral import into %s: %s "
		    "(%s)\n", dir, e.reason, av_code_str(e.code));
		free(dir);
		return e.code == AV_E_IO ? EX_NOINPUT : EX_WARN;
	}
	printf("%zu new file(s) imported into %s/imported\n", n, dir);
	free(dir);
	return EX_OK;
 usage:
	fprintf(stderr, "usage: attestctl collateral import [--cache DIR | "
	    "--state-dir DIR] FILE...\n");
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	av_log_set_level(AV_LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return avc_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "refvals") == 0)
		return avc_refvals(argc - 1, argv + 1);
	if (strcmp(argv[1], "jwks") == 0)
		return cmd_jwks(argc - 1, argv + 1);
	if (strcmp(argv[1], "collateral") == 0)
		return cmd_collateral(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("attestctl %s\n", AV_VERSION);
		return EX_OK;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EX_OK;
	}
	fprintf(stderr, "attestctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
