/*
 * attestctl refvals - reference values into a policy file, as a new
 * version (docs/cli.md, docs/ci.md):
 *
 *   refvals add --policy FILE --from EVIDENCE [--at TIME] [--type TYPE]
 *               [--trust-dir DIR] [--collateral DIR] [--pcrs LIST]
 *               [--out FILE] [--dry-run]
 *       verify the evidence (signatures, chains, collateral; no policy),
 *       then add what it measured: Nitro PCRs (0, 1, 2, and 8 when not
 *       zero, or --pcrs), SEV-SNP measurement and host_data, TDX mrtd and
 *       rtmr0-3, TPM PCRs (every quoted one, or --pcrs), the Azure forms'
 *       PCRs and hardware report, GPU driver/VBIOS minimums and chip/SKU.
 *   refvals import --policy FILE --nitro-measurements FILE [--out FILE]
 *               [--dry-run]
 *       the "Measurements" JSON that nitro-cli build-enclave and
 *       describe-eif print: PCR0, PCR1, PCR2, and PCR8 when signed.
 *
 * The file is written atomically (temp file, fsync, rename) with its
 * "version" one higher; the change is printed as `policy diff` does.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "av/backend.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/policy_store.h"
#include "av/verify.h"

#include "avc.h"

#define NITRO_PCR_HEX	96

struct opts {
	const char	*policy;
	const char	*from;
	const char	*out;
	const char	*at;
	const char	*type;
	const char	*trust_dir;
	const char	*coll_dir;
	const char	*nitro;
	uint32_t	 pcr_mask;	/* --pcrs; 0: the default */
	bool		 dry_run;
};

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool
hex_in(const json_t *v, const char *hex)
{
	size_t	 i;
	json_t	*e;

	if (json_is_string(v))
		return strcasecmp(json_string_value(v), hex) == 0;
	json_array_foreach(v, i, e)
		if (json_is_string(e) &&
		    strcasecmp(json_string_value(e), hex) == 0)
			return true;
	return false;
}

/* Add hex to sec[key] (a string or list; created as a list). */
static int
add_value(json_t *sec, const char *key, const char *hex_in_)
{
	json_t	*v = json_object_get(sec, key), *a;
	char	*hex;

	if (hex_in_ == NULL)
		return 0;
	if (hex_in(v, hex_in_))
		return 0;
	if ((hex = strdup(hex_in_)) == NULL)
		return -1;
	lower(hex);
	if (json_is_string(v)) {
		a = json_pack("[O]", v);
		json_object_set_new(sec, key, a);
		v = a;
	} else if (!json_is_array(v)) {
		v = json_array();
		json_object_set_new(sec, key, v);
	}
	json_array_append_new(v, json_string(hex));
	free(hex);
	return 0;
}

/* The section for platform (created when absent; borrowed). */
static json_t *
section(json_t *doc, const char *platform)
{
	json_t *ev = json_object_get(doc, "evidence"), *s;

	if (!json_is_object(ev)) {
		ev = json_object();
		json_object_set_new(doc, "evidence", ev);
	}
	if (!json_is_object(s = json_object_get(ev, platform))) {
		s = json_object();
		json_object_set_new(ev, platform, s);
	}
	return s;
}

static bool
zero_hex(const char *s)
{
	if (s == NULL || *s == '\0')
		return true;
	for (; *s != '\0'; s++)
		if (*s != '0')
			return false;
	return true;
}

static void
add_nitro(json_t *sec, const json_t *claims, uint32_t mask, bool tpm)
{
	const json_t	*pcrs = json_object_get(claims, "pcrs");
	const char	*k;
	json_t		*v;
	char		 key[16];
	unsigned long	 i;

	if (pcrs == NULL)
		pcrs = json_object_get(claims, "nitrotpm_pcrs");
	json_object_foreach((json_t *)pcrs, k, v) {
		i = strtoul(k, NULL, 10);
		if (i > 31 || !json_is_string(v))
			continue;
		if (mask != 0 ? !(mask & (1u << i)) : tpm ?
		    zero_hex(json_string_value(v)) :
		    !(i <= 2 || (i == 8 && !zero_hex(json_string_value(v)))))
			continue;
		snprintf(key, sizeof(key), "pcr%lu", i);
		(void)add_value(sec, key, json_string_value(v));
	}
}

static void
add_tpm_pcrs(json_t *sec, const json_t *claims, uint32_t mask)
{
	const json_t	*pcrs = json_object_get(claims, "pcrs");
	const char	*bank, *idx;
	json_t		*bo, *v, *dst, *banks;

	json_object_foreach((json_t *)pcrs, bank, bo) {
		json_object_foreach(bo, idx, v) {
			unsigned long i = strtoul(idx, NULL, 10);

			if (i > 23 || (mask != 0 && !(mask & (1u << i))) ||
			    !json_is_string(v))
				continue;
			if (!json_is_object(banks = json_object_get(sec,
			    "pcrs"))) {
				banks = json_object();
				json_object_set_new(sec, "pcrs", banks);
			}
			if (!json_is_object(dst = json_object_get(banks,
			    bank))) {
				dst = json_object();
				json_object_set_new(banks, bank, dst);
			}
			(void)add_value(dst, idx, json_string_value(v));
		}
	}
}

static void
add_keys(json_t *sec, const json_t *claims, const char *const keys[])
{
	for (size_t i = 0; keys[i] != NULL; i++)
		(void)add_value(sec, keys[i], json_string_value(
		    json_object_get(claims, keys[i])));
}

static const char *const snp_keys[] = { "measurement", "host_data", NULL };
static const char *const tdx_keys[] = { "mrtd", "rtmr0", "rtmr1", "rtmr2",
	"rtmr3", NULL };

static void
add_gpu(json_t *sec, const json_t *claims, json_t *notes)
{
	static const struct {
		const char *claim, *key;
	} mins[] = { { "driver_version", "min_driver" },
	    { "vbios_version", "min_vbios" } }, lists[] = {
	    { "chip", "chips" }, { "sku", "skus" } };
	const char *v;

	for (size_t i = 0; i < 2; i++) {
		v = json_string_value(json_object_get(claims, mins[i].claim));
		if (v == NULL)
			continue;
		if (json_object_get(sec, mins[i].key) == NULL)
			json_object_set_new(sec, mins[i].key, json_string(v));
		else
			json_array_append_new(notes, json_sprintf("%s is "
			    "already set; left as it is (the evidence has %s)",
			    mins[i].key, v));
	}
	for (size_t i = 0; i < 2; i++) {
		v = json_string_value(json_object_get(claims,
		    lists[i].claim));
		if (v != NULL && json_object_get(sec, lists[i].key) != NULL &&
		    !hex_in(json_object_get(sec, lists[i].key), v)) {
			json_t *l = json_object_get(sec, lists[i].key);

			if (json_is_string(l)) {
				json_object_set_new(sec, lists[i].key,
				    json_pack("[Os]", l, v));
			} else
				json_array_append_new(l, json_string(v));
		}
	}
}

/* Add the reference values one verified submod carries. */
static int
add_submod(json_t *doc, const struct av_submod *sm, uint32_t mask,
    json_t *notes)
{
	const char	*name = sm->backend ? sm->backend->name : "";
	const json_t	*c = sm->claims, *hw;
	json_t		*sec;

	if (strcmp(name, "aws-nitro") == 0 ||
	    strcmp(name, "aws-nitrotpm") == 0)
		add_nitro(section(doc, name), c, mask,
		    strcmp(name, "aws-nitrotpm") == 0);
	else if (strcmp(name, "sev-snp") == 0)
		add_keys(section(doc, name), c, snp_keys);
	else if (strcmp(name, "tdx") == 0)
		add_keys(section(doc, name), c, tdx_keys);
	else if (strcmp(name, "tpm") == 0 || strcmp(name, "gce-tpm") == 0 ||
	    strcmp(name, "azure-snp-vtpm") == 0 ||
	    strcmp(name, "azure-tdx-vtpm") == 0) {
		sec = section(doc, name);
		add_tpm_pcrs(sec, c, mask);
		if ((hw = json_object_get(c, "sev-snp")) != NULL &&
		    strcmp(name, "azure-snp-vtpm") == 0) {
			if (!json_is_object(json_object_get(sec, "sev-snp")))
				json_object_set_new(sec, "sev-snp",
				    json_object());
			add_keys(json_object_get(sec, "sev-snp"), hw, snp_keys);
		}
		if ((hw = json_object_get(c, "tdx")) != NULL &&
		    strcmp(name, "azure-tdx-vtpm") == 0) {
			if (!json_is_object(json_object_get(sec, "tdx")))
				json_object_set_new(sec, "tdx", json_object());
			add_keys(json_object_get(sec, "tdx"), hw, tdx_keys);
		}
	} else if (strcmp(name, "nvidia-gpu") == 0)
		add_gpu(section(doc, name), c, notes);
	else {
		fprintf(stderr, "attestctl: %s: no reference values to take "
		    "from platform \"%s\"\n", sm->name, name);
		return -1;
	}
	return 0;
}

/*
 * Bump the version, compile, print the change and write (or print the
 * document with --dry-run).  Returns the exit status.
 */
static int
finish(const struct opts *o, const json_t *old, json_t *doc, json_t *notes)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 pe;
	const char		*dst = o->out ? o->out : o->policy;
	json_t			*d, *n;
	char			*text = NULL, *diff;
	size_t			 i;
	json_int_t		 v = json_integer_value(json_object_get(old,
				    "version"));

	json_object_set_new(doc, "version", json_integer(v > 0 ? v + 1 : 1));
	memset(&pe, 0, sizeof(pe));
	if (av_policy_compile(doc, &p, &pe) != 0) {
		fprintf(stderr, "attestctl: the new policy does not load: "
		    "%s: %s\n", pe.path, pe.reason);
		return AVC_EX_FAIL;
	}
	av_policy_free(p);
	if ((d = av_policy_diff(old, doc)) == NULL ||
	    (diff = av_policy_diff_text(d)) == NULL) {
		json_decref(d);
		return AVC_EX_SOFTWARE;
	}
	json_array_foreach(notes, i, n)
		fprintf(stderr, "attestctl: note: %s\n", json_string_value(n));
	if (json_array_size(d) == 0) {
		fprintf(stderr, "attestctl: %s already holds these values; "
		    "not written\n", o->policy);
		json_decref(d);
		free(diff);
		return AVC_EX_OK;
	}
	json_decref(d);
	fputs(diff, stderr);
	free(diff);
	if ((text = av_policy_dump(doc)) == NULL)
		return AVC_EX_SOFTWARE;
	if (o->dry_run)
		fputs(text, stdout);
	else if (av_file_write_atomic(dst, text, strlen(text), 0644) == -1) {
		fprintf(stderr, "attestctl: %s: %s\n", dst, strerror(errno));
		free(text);
		return AVC_EX_NOINPUT;
	} else
		printf("%s: version %lld\n", dst, (long long)(v > 0 ? v + 1 :
		    1));
	free(text);
	return AVC_EX_OK;
}

static int
parse_pcrs(const char *s, uint32_t *mask)
{
	char		*end;
	unsigned long	 i;

	*mask = 0;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		i = strtoul(s, &end, 10);
		if (i > 31)
			return -1;
		*mask |= 1u << i;
		s = end;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return *mask != 0 ? 0 : -1;
}

static int
cmd_add(const struct opts *o)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 pe;
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_trust		*trust = NULL;
	struct av_collateral	*coll = NULL;
	struct av_env		 env;
	struct av_err		 e;
	json_t			*old = NULL, *doc = NULL, *notes = json_array();
	char			 why[600];
	int64_t			 now = (int64_t)time(NULL);
	int			 ex, rc = AVC_EX_SOFTWARE;

	av_err_clear(&e);
	if (o->at != NULL && av_time_parse(o->at, &now) == -1) {
		fprintf(stderr, "attestctl: --at: expected RFC 3339 or unix "
		    "seconds\n");
		rc = AVC_EX_USAGE;
		goto out;
	}
	if (av_policy_load_file(o->policy, &p, &pe) != 0) {
		fprintf(stderr, "%s: %s%s%s\n", o->policy, pe.path,
		    pe.path[0] ? ": " : "", pe.reason);
		rc = AVC_EX_NOINPUT;
		goto out;
	}
	old = json_incref(p->source);
	if ((doc = json_deep_copy(old)) == NULL)
		goto out;
	if (avc_load_request(o->from, o->type, &req, NULL, why, sizeof(why),
	    &ex) == -1) {
		fprintf(stderr, "attestctl: %s: %s\n", o->from, why);
		rc = ex;
		goto out;
	}
	if (avc_env(o->trust_dir, o->coll_dir, NULL, &trust, &coll) == -1) {
		rc = AVC_EX_NOINPUT;
		goto out;
	}
	env.now = now;
	env.trust = trust;
	env.coll = coll;
	/* Evidence only: no policy, so nothing but its genuineness counts. */
	if (av_verify_request(&env, req, NULL, &res, &e) == -1) {
		fprintf(stderr, "attestctl: verification failed internally: "
		    "%s\n", e.reason);
		goto out;
	}
	for (size_t i = 0; i < res->nsubmods; i++) {
		const struct av_submod *sm = &res->submods[i];

		if (sm->status == AV_STATUS_CONTRAINDICATED) {
			char *r = json_dumps(sm->reasons, JSON_COMPACT);

			fprintf(stderr, "attestctl: %s: the evidence does not "
			    "verify; nothing added: %s\n", sm->name,
			    r ? r : "");
			free(r);
			rc = AVC_EX_CONTRA;
			goto out;
		}
	}
	for (size_t i = 0; i < res->nsubmods; i++)
		if (add_submod(doc, &res->submods[i], o->pcr_mask, notes) ==
		    -1) {
			rc = AVC_EX_FAIL;
			goto out;
		}
	rc = finish(o, old, doc, notes);
 out:
	json_decref(notes);
	json_decref(old);
	json_decref(doc);
	av_result_free(res);
	av_request_free(req);
	av_collateral_free(coll);
	av_trust_free(trust);
	av_policy_free(p);
	return rc;
}

/* "Measurements" of nitro-cli (build-enclave, describe-eif, -enclaves). */
static const json_t *
measurements(const json_t *doc)
{
	const json_t *m;

	if (json_is_array(doc))
		doc = json_array_get(doc, 0);
	if ((m = json_object_get(doc, "Measurements")) != NULL)
		return m;
	return json_object_get(doc, "PCR0") != NULL ? doc : NULL;
}

static bool
is_hex96(const char *s)
{
	if (s == NULL || strlen(s) != NITRO_PCR_HEX)
		return false;
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static int
cmd_import(const struct opts *o)
{
	static const char *const pcrs[] = { "PCR0", "PCR1", "PCR2", "PCR8" };
	struct av_policy	*p = NULL;
	struct av_policy_err	 pe;
	json_t			*old = NULL, *doc = NULL, *in = NULL, *sec;
	json_t			*notes = json_array();
	const json_t		*m;
	const char		*alg;
	char			 why[600], key[8];
	int			 rc = AVC_EX_SOFTWARE;

	if (av_policy_load_file(o->policy, &p, &pe) != 0) {
		fprintf(stderr, "%s: %s%s%s\n", o->policy, pe.path,
		    pe.path[0] ? ": " : "", pe.reason);
		rc = AVC_EX_NOINPUT;
		goto out;
	}
	if ((in = avc_load_json(o->nitro, why, sizeof(why))) == NULL) {
		fprintf(stderr, "attestctl: %s: %s\n", o->nitro, why);
		rc = AVC_EX_NOINPUT;
		goto out;
	}
	if ((m = measurements(in)) == NULL || !json_is_object(m)) {
		fprintf(stderr, "attestctl: %s: no \"Measurements\" object "
		    "(the output of nitro-cli build-enclave or describe-eif)\n",
		    o->nitro);
		rc = AVC_EX_FAIL;
		goto out;
	}
	if ((alg = json_string_value(json_object_get(m, "HashAlgorithm"))) !=
	    NULL && strncasecmp(alg, "sha384", 6) != 0) {
		fprintf(stderr, "attestctl: %s: HashAlgorithm %s: Nitro PCRs "
		    "are SHA-384\n", o->nitro, alg);
		rc = AVC_EX_FAIL;
		goto out;
	}
	old = json_incref(p->source);
	if ((doc = json_deep_copy(old)) == NULL)
		goto out;
	sec = section(doc, "aws-nitro");
	for (size_t i = 0; i < 4; i++) {
		const char *v = json_string_value(json_object_get(m, pcrs[i]));

		if (v == NULL && i < 3) {
			fprintf(stderr, "attestctl: %s: %s missing\n",
			    o->nitro, pcrs[i]);
			rc = AVC_EX_FAIL;
			goto out;
		}
		if (v == NULL)
			continue;
		if (!is_hex96(v)) {
			fprintf(stderr, "attestctl: %s: %s: expected 96 hex "
			    "digits (48 bytes)\n", o->nitro, pcrs[i]);
			rc = AVC_EX_FAIL;
			goto out;
		}
		snprintf(key, sizeof(key), "pcr%c", pcrs[i][3]);
		if (add_value(sec, key, v) == -1)
			goto out;
	}
	rc = finish(o, old, doc, notes);
 out:
	json_decref(notes);
	json_decref(in);
	json_decref(old);
	json_decref(doc);
	av_policy_free(p);
	return rc;
}

/*
 * attestctl refvals add|import: dispatch (argv[0] is "refvals").
 * Returns the exit status.
 */
int
avc_refvals(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "from", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "at", required_argument, NULL, 'a' },
		{ "type", required_argument, NULL, 'T' },
		{ "trust-dir", required_argument, NULL, 't' },
		{ "collateral", required_argument, NULL, 'c' },
		{ "pcrs", required_argument, NULL, 'P' },
		{ "nitro-measurements", required_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts	o;
	bool		add;
	int		c;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "import") != 0))
		goto usage;
	add = strcmp(argv[1], "add") == 0;
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.policy = optarg;
			break;
		case 'f':
			o.from = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'a':
			o.at = optarg;
			break;
		case 'T':
			o.type = optarg;
			break;
		case 't':
			o.trust_dir = optarg;
			break;
		case 'c':
			o.coll_dir = optarg;
			break;
		case 'P':
			if (parse_pcrs(optarg, &o.pcr_mask) == -1) {
				fprintf(stderr, "attestctl: --pcrs: expected "
				    "indices like 0,1,2,8\n");
				return AVC_EX_USAGE;
			}
			break;
		case 'n':
			o.nitro = optarg;
			break;
		case 'd':
			o.dry_run = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || o.policy == NULL ||
	    (add ? o.from == NULL || o.nitro != NULL :
	    o.nitro == NULL || o.from != NULL))
		goto usage;
	if (o.type != NULL && av_backend_find(o.type) == NULL) {
		fprintf(stderr, "attestctl: unknown evidence type \"%s\"\n",
		    o.type);
		return AVC_EX_USAGE;
	}
	return add ? cmd_add(&o) : cmd_import(&o);
 usage:
	fprintf(stderr,
	    "usage: attestctl refvals add --policy FILE --from EVIDENCE "
	    "[--at TIME] [--type TYPE]\n"
	    "           [--trust-dir DIR] [--collateral DIR] [--pcrs LIST] "
	    "[--out FILE] [--dry-run]\n"
	    "       attestctl refvals import --policy FILE "
	    "--nitro-measurements FILE [--out FILE]\n"
	    "           [--dry-run]\n");
	return AVC_EX_USAGE;
}
