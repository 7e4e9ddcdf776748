/*
 * attestd - options: built-in defaults, a JSON config file, and the
 * command line, from one table (docs/cli.md).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attestd.h"

enum opt_type { T_STR, T_PATH, T_UINT, T_BOOL };

struct optdef {
	const char	*key;	/* config key; the flag is key with '-' */
	enum opt_type	 type;
	size_t		 off;
	uint64_t	 max;	/* T_UINT: largest accepted value */
	const char	*def;	/* default (string form) or NULL */
	const char	*arg;	/* metavariable in --help */
	const char	*help;
};

#define OFF(f)	offsetof(struct avd_opts, f)
#define KiB	1024ull
#define MiB	(1024ull * 1024)

static const struct optdef optdefs[] = {
	{ "listen", T_STR, OFF(listen), 0, "127.0.0.1:8080", "ADDR:PORT",
	  "address and port to listen on (port 0: any free port)" },
	{ "policies", T_PATH, OFF(policies), 0, NULL, "DIR",
	  "policy directory (default: the bundled policies)" },
	{ "trust_dir", T_PATH, OFF(trust_dir), 0, NULL, "DIR",
	  "operator trust anchors, DIR/<platform>/*.pem" },
	{ "collateral_dir", T_PATH, OFF(collateral_dir), 0, NULL, "DIR",
	  "collateral files (certificates, CRLs, TCB info, RIMs)" },
	{ "collateral_cache", T_PATH, OFF(collateral_cache), 0, NULL, "DIR",
	  "collateral cache: fetched and imported files "
	  "(default: STATE_DIR/collateral)" },
	{ "collateral_online", T_BOOL, OFF(collateral_online), 0, "false",
	  "BOOL", "fetch missing collateral from vendor services" },
	{ "amd_kds_url", T_STR, OFF(amd_kds_url), 0,
	  "https://kdsintf.amd.com", "URL", "AMD KDS base URL" },
	{ "intel_pcs_url", T_STR, OFF(intel_pcs_url), 0,
	  "https://api.trustedservices.intel.com", "URL",
	  "Intel PCS (or PCCS) base URL" },
	{ "nvidia_rim_url", T_STR, OFF(nvidia_rim_url), 0,
	  "https://rim.attestation.nvidia.com", "URL",
	  "NVIDIA RIM service base URL" },
	{ "nvidia_ocsp_url", T_STR, OFF(nvidia_ocsp_url), 0,
	  "https://ocsp.ndis.nvidia.com", "URL", "NVIDIA OCSP responder" },
	{ "collateral_timeout_s", T_UINT, OFF(collateral_timeout_s), 600, "10",
	  "SECONDS", "timeout of one collateral fetch" },
	{ "require_issued_nonce", T_BOOL, OFF(require_issued_nonce), 0, "false",
	  "BOOL", "accept only nonces issued by POST /v1/challenge" },
	{ "key", T_PATH, OFF(key), 0, NULL, "FILE",
	  "verdict signing key, PEM (default: STATE_DIR/verdict-key.pem, "
	  "generated on first start)" },
	{ "key_alg", T_STR, OFF(key_alg), 0, "ES256", "ALG",
	  "algorithm of a generated key: ES256, ES384 or EdDSA" },
	{ "state_dir", T_PATH, OFF(state_dir), 0, NULL, "DIR",
	  "runtime state (default: $STATE_DIRECTORY, "
	  "$XDG_STATE_HOME/attestd or ~/.local/state/attestd)" },
	{ "port_file", T_PATH, OFF(port_file), 0, NULL, "FILE",
	  "write the bound TCP port to FILE once listening" },
	{ "default_policy", T_STR, OFF(default_policy), 0, NULL, "ID",
	  "policy for requests that name none (default: evidence only)" },
	{ "tls_cert", T_PATH, OFF(tls_cert), 0, NULL, "FILE",
	  "serve HTTPS with this PEM certificate (chain)" },
	{ "tls_key", T_PATH, OFF(tls_key), 0, NULL, "FILE",
	  "PEM private key for --tls-cert" },
	{ "admin_tokens", T_PATH, OFF(admin_tokens), 0, NULL, "FILE",
	  "admin bearer tokens: NAME SHA256_HEX [TENANT] per line" },
	{ "log_level", T_STR, OFF(log_level), 0, "info", "LEVEL",
	  "debug, info, warn or error" },
	{ "access_log", T_BOOL, OFF(access_log), 0, "true", "BOOL",
	  "one JSON line per HTTP request on stderr" },
	{ "max_body", T_UINT, OFF(max_body), 64 * MiB, "8388608", "BYTES",
	  "largest request body (413 beyond)" },
	{ "max_header", T_UINT, OFF(max_header), 1 * MiB, "32768", "BYTES",
	  "per-connection memory for the request head (431 beyond)" },
	{ "max_conns", T_UINT, OFF(max_conns), 100000, "1024", "N",
	  "connections in total" },
	{ "max_conns_per_ip", T_UINT, OFF(max_conns_per_ip), 100000, "64",
	  "N", "connections per client address (0: no limit)" },
	{ "conn_timeout_s", T_UINT, OFF(conn_timeout_s), 3600, "30", "SECONDS",
	  "idle connection timeout" },
	{ "thread_model", T_STR, OFF(thread_model), 0, "per-connection",
	  "MODEL", "per-connection (a thread per connection verifies "
	  "inline) or pool (I/O threads hand off to workers)" },
	{ "threads", T_UINT, OFF(threads), 1024, "0", "N",
	  "HTTP threads of the pool model (0: number of cores)" },
	{ "workers", T_UINT, OFF(workers), 1024, "0", "N",
	  "verifications at once (0: number of cores)" },
	{ "max_queue", T_UINT, OFF(max_queue), 1000000, "4096", "N",
	  "verifications waiting for a place; 503 beyond" },
	{ "verdict_ttl_s", T_UINT, OFF(verdict_ttl_s), 366 * 86400ull, "300",
	  "SECONDS", "verdict lifetime (exp - iat)" },
	{ "nonce_ttl_s", T_UINT, OFF(nonce_ttl_s), 86400, "120", "SECONDS",
	  "lifetime of a challenge nonce" },
	{ "max_nonces", T_UINT, OFF(max_nonces), 10000000, "100000", "N",
	  "outstanding challenge nonces (memory store)" },
	{ "nonce_store", T_STR, OFF(nonce_store), 0, "memory", "STORE",
	  "challenge nonces: memory, or redis://[USER@]HOST[:PORT][/DB] "
	  "shared by replicas" },
	{ "nonce_store_prefix", T_STR, OFF(nonce_store_prefix), 0,
	  "attestd:nonce:", "PREFIX", "Redis key prefix" },
	{ "nonce_store_password_file", T_PATH, OFF(nonce_store_password_file),
	  0, NULL, "FILE", "Redis AUTH password, first line of FILE "
	  "(default: $ATTESTD_NONCE_STORE_PASSWORD)" },
	{ "nonce_store_timeout_ms", T_UINT, OFF(nonce_store_timeout_ms),
	  60000, "500", "MS", "Redis connect and command timeout" },
	{ "nonce_store_pool", T_UINT, OFF(nonce_store_pool), 1024, "16", "N",
	  "Redis connections at most" },
	{ "key_grace_s", T_UINT, OFF(key_grace_s), 366 * 86400ull, "86400",
	  "SECONDS", "retired verdict keys stay in the JWKS this long" },
	{ "drain_timeout_s", T_UINT, OFF(drain_timeout_s), 3600, "30",
	  "SECONDS", "on SIGTERM, wait this long for in-flight requests" },
	{ "policy_poll_ms", T_UINT, OFF(policy_poll_ms), 3600000, "1000", "MS",
	  "check the policy directory for edits this often (0: off)" },
	{ "rate_per_ip", T_UINT, OFF(rate_per_ip), 1000000, "0", "N",
	  "requests per second per client address, 429 beyond (0: off)" },
};
#define NOPTS	(sizeof(optdefs) / sizeof(optdefs[0]))

static char **
str_at(struct avd_opts *o, const struct optdef *d)
{
	return (char **)(void *)((char *)o + d->off);
}

static uint64_t *
uint_at(struct avd_opts *o, const struct optdef *d)
{
	return (uint64_t *)(void *)((char *)o + d->off);
}

static bool *
bool_at(struct avd_opts *o, const struct optdef *d)
{
	return (bool *)(void *)((char *)o + d->off);
}

static void
flag_name(const struct optdef *d, char *buf, size_t len)
{
	size_t i;

	for (i = 0; d->key[i] != '\0' && i + 1 < len; i++)
		buf[i] = d->key[i] == '_' ? '-' : d->key[i];
	buf[i] = '\0';
}

/* Join base (a directory, or NULL) and a relative path. Owned result. */
static char *
resolve_path(const char *base, const char *v)
{
	char	*s;
	size_t	 n;

	if (base == NULL || v[0] == '/' || *base == '\0')
		return strdup(v);
	n = strlen(base) + strlen(v) + 2;
	if ((s = malloc(n)) == NULL)
		return NULL;
	snprintf(s, n, "%s/%s", base, v);
	return s;
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	unsigned long long	 n;
	char			*end;
	uint64_t		 mul = 1;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 'k': case 'K':
			mul = KiB;
			break;
		case 'm': case 'M':
			mul = MiB;
			break;
		case 'g': case 'G':
			mul = 1024 * MiB;
			break;
		default:
			return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (n > max / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	    strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
	    strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* Set one option from its string form.  Returns 0 or -1 (bad value). */
static int
set_string(struct avd_opts *o, const struct optdef *d, const char *v,
    const char *base)
{
	char	*s;

	switch (d->type) {
	case T_STR:
	case T_PATH:
		s = d->type == T_PATH ? resolve_path(base, v) : strdup(v);
		if (s == NULL)
			return -1;
		free(*str_at(o, d));
		*str_at(o, d) = s;
		return 0;
	case T_UINT:
		return parse_uint(v, d->max, uint_at(o, d));
	case T_BOOL:
		return parse_bool(v, bool_at(o, d));
	default:
		return -1;
	}
}

static int
set_json(struct avd_opts *o, const struct optdef *d, const json_t *v,
    const char *base)
{
	json_int_t n;

	switch (d->type) {
	case T_STR:
	case T_PATH:
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return -1;
		return set_string(o, d, json_string_value(v), base);
	case T_UINT:
		if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
		    (uint64_t)n > d->max)
			return -1;
		*uint_at(o, d) = (uint64_t)n;
		return 0;
	case T_BOOL:
		if (!json_is_boolean(v))
			return -1;
		*bool_at(o, d) = json_is_true(v);
		return 0;
	default:
		return -1;
	}
}

static const char *
type_word(const struct optdef *d)
{
	switch (d->type) {
	case T_STR:
	case T_PATH:
		return "a non-empty string";
	case T_UINT:
		return "a non-negative integer within range";
	case T_BOOL:
		return "true or false";
	default:
		return "?";
	}
}

/* Apply a JSON config file.  Paths in it are relative to its folder. */
static int
load_file(struct avd_opts *o, const char *file)
{
	json_error_t	 je;
	json_t		*doc, *v;
	const char	*k;
	char		*base = NULL, *slash;
	size_t		 i;
	int		 rc = -1;

	if ((doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		fprintf(stderr, "attestd: %s:%d:%d: %s\n", file, je.line,
		    je.column, je.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		fprintf(stderr, "attestd: %s: must be a JSON object\n", file);
		goto out;
	}
	if ((base = strdup(file)) == NULL)
		goto out;
	if ((slash = strrchr(base, '/')) != NULL)
		*slash = '\0';
	else
		*base = '\0';
	json_object_foreach(doc, k, v) {
		if (k[0] == '$' || k[0] == '#')	/* "$comment", "#" */
			continue;
		for (i = 0; i < NOPTS; i++)
			if (strcmp(optdefs[i].key, k) == 0)
				break;
		if (i == NOPTS) {
			fprintf(stderr, "attestd: %s: %s: unknown setting\n",
			    file, k);
			goto out;
		}
		if (set_json(o, &optdefs[i], v, base) == -1) {
			fprintf(stderr, "attestd: %s: %s: expected %s\n", file,
			    k, type_word(&optdefs[i]));
			goto out;
		}
	}
	rc = 0;
 out:
	free(base);
	json_decref(doc);
	return rc;
}

static void
usage(FILE *f)
{
	char	 flag[64], lhs[96];

	fprintf(f, "usage: attestd [--config FILE] [--check-config] "
	    "[--listen ADDR:PORT] [--policies DIR]\n"
	    "               [--trust-dir DIR] [--key FILE] [--state-dir DIR] "
	    "[option ...]\n\n"
	    "Remote attestation verifier: POST /v1/attest returns a signed "
	    "EAR verdict.\n"
	    "Every option can also be set in the JSON config file under its "
	    "name with\nunderscores (\"trust_dir\"); the command line wins.\n\n");
	fprintf(f, "  %-32s %s\n", "--config FILE",
	    "read settings from a JSON file");
	fprintf(f, "  %-32s %s\n", "--check-config",
	    "load everything, print the settings and exit (0: valid)");
	for (size_t i = 0; i < NOPTS; i++) {
		flag_name(&optdefs[i], flag, sizeof(flag));
		snprintf(lhs, sizeof(lhs), "--%s %s", flag, optdefs[i].arg);
		fprintf(f, "  %-32s %s", lhs, optdefs[i].help);
		if (optdefs[i].def != NULL && optdefs[i].type != T_BOOL)
			fprintf(f, " [%s]", optdefs[i].def);
		fprintf(f, "\n");
	}
	fprintf(f, "  %-32s %s\n", "--version", "print the version and exit");
	fprintf(f, "  %-32s %s\n", "--help", "this text");
}

/* Free every string of o (o itself is the caller's); idempotent. */
void
avd_opts_cleanup(struct avd_opts *o)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (optdefs[i].type == T_STR || optdefs[i].type == T_PATH) {
			free(*str_at(o, &optdefs[i]));
			*str_at(o, &optdefs[i]) = NULL;
		}
	free(o->config);
	o->config = NULL;
}

enum { O_CONFIG = 1, O_CHECK, O_HELP, O_VERSION, O_TABLE = 256 };

/*
 * Defaults, then --config FILE, then the command line (docs/cli.md).
 * Returns 0, or -1 after printing the reason (the caller exits 64).
 */
int
avd_opts_load(int argc, char **argv, struct avd_opts *o, bool *check)
{
	struct option	 lo[NOPTS + 5];
	char		 names[NOPTS][64];
	struct avd_opts	 cli;
	bool		 set[NOPTS];
	size_t		 i;
	int		 c, rc = -1;

	memset(o, 0, sizeof(*o));
	memset(&cli, 0, sizeof(cli));
	memset(set, 0, sizeof(set));
	*check = false;
	for (i = 0; i < NOPTS; i++) {
		flag_name(&optdefs[i], names[i], sizeof(names[i]));
		lo[i].name = names[i];
		lo[i].has_arg = optdefs[i].type == T_BOOL ? optional_argument :
		    required_argument;
		lo[i].flag = NULL;
		lo[i].val = O_TABLE + (int)i;
	}
	lo[i++] = (struct option){ "config", required_argument, NULL, O_CONFIG };
	lo[i++] = (struct option){ "check-config", no_argument, NULL, O_CHECK };
	lo[i++] = (struct option){ "help", no_argument, NULL, O_HELP };
	lo[i++] = (struct option){ "version", no_argument, NULL, O_VERSION };
	lo[i] = (struct option){ NULL, 0, NULL, 0 };

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_CONFIG:
			free(o->config);
			if ((o->config = strdup(optarg)) == NULL)
				goto out;
			break;
		case O_CHECK:
			*check = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		case O_VERSION:
			printf("attestd %s\n", AV_VERSION);
			exit(0);
		default:
			if (c < O_TABLE || c >= O_TABLE + (int)NOPTS) {
				usage(stderr);
				goto out;
			}
			i = (size_t)(c - O_TABLE);
			if (set_string(&cli, &optdefs[i], optarg != NULL ?
			    optarg : "true", NULL) == -1) {
				fprintf(stderr, "attestd: --%s: expected %s\n",
				    names[i], type_word(&optdefs[i]));
				goto out;
			}
			set[i] = true;
			break;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "attestd: unexpected argument: %s\n",
		    argv[optind]);
		usage(stderr);
		goto out;
	}
	/* Built-in defaults. */
	for (i = 0; i < NOPTS; i++)
		if (optdefs[i].def != NULL &&
		    set_string(o, &optdefs[i], optdefs[i].def, NULL) == -1)
			goto out;
	if (o->config != NULL && load_file(o, o->config) == -1)
		goto out;
	/* The command line wins. */
	for (i = 0; i < NOPTS; i++) {
		if (!set[i])
			continue;
		switch (optdefs[i].type) {
		case T_STR:
		case T_PATH:
			free(*str_at(o, &optdefs[i]));
			*str_at(o, &optdefs[i]) = *str_at(&cli, &optdefs[i]);
			*str_at(&cli, &optdefs[i]) = NULL;
			break;
		case T_UINT:
			*uint_at(o, &optdefs[i]) = *uint_at(&cli, &optdefs[i]);
			break;
		case T_BOOL:
			*bool_at(o, &optdefs[i]) = *bool_at(&cli, &optdefs[i]);
			break;
		default:
			break;
		}
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
		fprintf(stderr, "attestd: --tls-cert and --tls-key go "
		    "together\n");
		goto out;
	}
	if (strcmp(o->thread_model, "per-connection") != 0 &&
	    strcmp(o->thread_model, "pool") != 0) {
		fprintf(stderr, "attestd: --thread-model: expected "
		    "per-connection or pool\n");
		goto out;
	}
	rc = 0;
 out:
	avd_opts_cleanup(&cli);
	if (rc != 0)
		avd_opts_cleanup(o);
	return rc;
}

/* Settings as JSON (new reference), for --check-config. */
json_t *
avd_opts_json(const struct avd_opts *co)
{
	struct avd_opts	*o = (struct avd_opts *)co;	/* read only */
	json_t		*j;

	if ((j = json_object()) == NULL)
		return NULL;
	if (o->config != NULL)
		json_object_set_new(j, "config", json_string(o->config));
	for (size_t i = 0; i < NOPTS; i++) {
		const struct optdef *d = &optdefs[i];

		switch (d->type) {
		case T_STR:
		case T_PATH:
			json_object_set_new(j, d->key, *str_at(o, d) ?
			    json_string(*str_at(o, d)) : json_null());
			break;
		case T_UINT:
			json_object_set_new(j, d->key,
			    json_integer((json_int_t)*uint_at(o, d)));
			break;
		case T_BOOL:
			json_object_set_new(j, d->key,
			    json_boolean(*bool_at(o, d)));
			break;
		default:
			break;
		}
	}
	return j;
}
