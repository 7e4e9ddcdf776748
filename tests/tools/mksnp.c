/*
 * mksnp - synthetic AMD SEV-SNP evidence for the end-to-end tests and the
 * benchmark, signed by a test PKI (never a real one; tests/lib/avt_snp.h).
 *
 *   mksnp init DIR
 *	New test hierarchies for Milan, Genoa and Turin (ARK -> ASK, ARK ->
 *	ASVK; RSA-PSS like AMD) and one P-384 VCEK/VLEK key, saved as PEM
 *	in DIR/pki/; each ARK as an operator trust anchor in
 *	DIR/trust/sev-snp/<product>.pem (attestd --trust-dir DIR/trust);
 *	each ARK's empty CRL in DIR/pki/<product>-crl.pem.
 *   mksnp body DIR OUT [options]
 *	Write a JSON request body {"evidence": [{"type": "sev-snp",
 *	"data", "certs"}], ...} for a report signed with DIR's PKI.
 *	--product P        Milan (default), Genoa, Turin
 *	--version N        report version 2, 3 (default) or 5
 *	--vlek             VLEK instead of VCEK
 *	--debug            guest policy DEBUG bit
 *	--measurement HEX  48 bytes (default: byte j = 0xA0 + j)
 *	--nonce HEX        the body's nonce; REPORT_DATA = SHA-512(nonce ||
 *	                   runtime_data)
 *	--runtime-data HEX the body's runtime_data
 *	--policy ID        the body's policy id
 *	--form F           certs (default), table, auxblob, none
 *	--no-crl           leave the CRL out
 *	--corrupt-sig      flip a signature bit
 *	--lines N          write N bodies, one per line (for bench/)
 *	--raw              write the raw 0x4A0-byte report instead
 *
 * Default CHIP_ID byte i is i * 7 + 1; TCB as in tests/unit/test_sev_snp.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "avt_pki.h"
#include "avt_snp.h"

static const char *const PROD[] = { "Milan", "Genoa", "Turin" };
static const struct avt_snp_tcb TCB[] = {
	{ .bl = 3, .tee = 0, .snp = 8, .ucode = 115 },
	{ .bl = 7, .tee = 0, .snp = 14, .ucode = 72 },
	{ .fmc = 1, .bl = 2, .tee = 0, .snp = 3, .ucode = 9 },
};

static void	die(const char *) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "mksnp: %s\n", what);
	exit(1);
}

/* dir/pre<a>post (malloc'd). */
static char *
path(const char *dir, const char *pre, const char *a, const char *post)
{
	size_t	 n = strlen(dir) + strlen(pre) + strlen(a) + strlen(post) + 2;
	char	*p;

	if ((p = malloc(n)) == NULL)
		die("out of memory");
	snprintf(p, n, "%s/%s%s%s", dir, pre, a, post);
	return p;
}

static void
save_key(const char *dir, const char *pre, const char *a, const char *post,
    EVP_PKEY *k)
{
	char	*p = path(dir, pre, a, post);
	FILE	*f = fopen(p, "w");

	if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL) != 1 || fclose(f) != 0)
		die(p);
	free(p);
}

static void
save_cert(const char *dir, const char *pre, const char *a, const char *post,
    X509 *x)
{
	char *p = path(dir, pre, a, post);

	if (avt_cert_write_pem(x, p) != 0)
		die(p);
	free(p);
}

static EVP_PKEY *
load_key(const char *dir, const char *pre, const char *a, const char *post)
{
	char		*p = path(dir, pre, a, post);
	FILE		*f = fopen(p, "r");
	EVP_PKEY	*k = NULL;

	if (f == NULL || (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		die(p);
	fclose(f);
	free(p);
	return k;
}

static X509 *
load_cert(const char *dir, const char *pre, const char *a, const char *post)
{
	char	*p = path(dir, pre, a, post);
	FILE	*f = fopen(p, "r");
	X509	*x = NULL;

	if (f == NULL || (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		die(p);
	fclose(f);
	free(p);
	return x;
}

static char *
read_text(const char *dir, const char *pre, const char *a, const char *post)
{
	char	*p = path(dir, pre, a, post);
	uint8_t	*b;
	size_t	 n;
	char	*s;

	if ((b = avt_read_file(p, &n)) == NULL || (s = malloc(n + 1)) == NULL)
		die(p);
	memcpy(s, b, n);
	s[n] = '\0';
	free(b);
	free(p);
	return s;
}

static int
cmd_init(const char *dir)
{
	int64_t	 now = (int64_t)time(NULL);
	char	*p;

	p = path(dir, "", "pki", "");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die(dir);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		die(p);
	free(p);
	p = path(dir, "", "trust", "");
	(void)mkdir(p, 0755);
	free(p);
	p = path(dir, "", "trust/sev-snp", "");
	(void)mkdir(p, 0755);
	free(p);
	for (int i = 0; i < 3; i++) {
		struct avt_snp_pki	*k;
		X509_CRL		*crl;
		char			*cp;
		FILE			*f;

		if ((k = avt_snp_pki_new(PROD[i], now - 86400,
		    now + 20 * 365 * 86400LL)) == NULL)
			die("test PKI");
		save_key(dir, "pki/", PROD[i], "-ark.key", k->ark_key);
		save_key(dir, "pki/", PROD[i], "-ask.key", k->ask_key);
		save_key(dir, "pki/", PROD[i], "-asvk.key", k->asvk_key);
		save_cert(dir, "pki/", PROD[i], "-ark.pem", k->ark);
		save_cert(dir, "pki/", PROD[i], "-ask.pem", k->ask);
		save_cert(dir, "pki/", PROD[i], "-asvk.pem", k->asvk);
		save_cert(dir, "trust/sev-snp/", PROD[i], ".pem", k->ark);
		if ((crl = avt_crl_new(k->ark, k->ark_key, now - 86400,
		    now + 365 * 86400LL, NULL, 0)) == NULL)
			die("CRL");
		cp = path(dir, "pki/", PROD[i], "-crl.pem");
		if ((f = fopen(cp, "w")) == NULL ||
		    PEM_write_X509_CRL(f, crl) != 1 || fclose(f) != 0)
			die(cp);
		free(cp);
		X509_CRL_free(crl);
		avt_snp_pki_free(k);
	}
	{
		EVP_PKEY *v = avt_key_new("P-384");

		if (v == NULL)
			die("P-384 key");
		save_key(dir, "pki/", "leaf", ".key", v);
		EVP_PKEY_free(v);
	}
	return 0;
}

struct opts {
	int		 prod;
	uint32_t	 version;
	bool		 vlek, debug, no_crl, corrupt, raw;
	uint8_t		 meas[48];
	uint8_t		*nonce, *rt;
	size_t		 nonce_len, rt_len;
	const char	*policy;
	const char	*form;
	long		 lines;
};

static void
hexarg(const char *s, uint8_t **out, size_t *len)
{
	if (av_hex_decode(s, strlen(s), out, len) != 0)
		die("bad hex");
}

/* One request body (new reference). */
/* The VCEK/VLEK for o (one per run, so --lines shares one chain). */
static X509 *
leaf_for(const struct opts *o, struct avt_snp_pki *k, EVP_PKEY *key)
{
	struct avt_snp_leaf_spec l = { 0 };
	int64_t			 now = (int64_t)time(NULL);
	uint8_t			 chip[64];
	size_t			 hl = o->prod == 2 ? 8 : 64;
	X509			*leaf;

	for (size_t i = 0; i < hl; i++)
		chip[i] = (uint8_t)(i * 7 + 1);
	l.vlek = o->vlek;
	l.product_name = PROD[o->prod];
	if (!o->vlek) {
		l.hwid = chip;
		l.hwid_len = hl;
	} else
		l.csp_id = "CN=cc-test.example.com";
	l.tcb = TCB[o->prod];
	l.fmc = o->prod == 2;
	l.not_before = now - 86400;
	l.not_after = now + 7 * 365 * 86400LL;
	l.serial_zero = true;
	if ((leaf = avt_snp_leaf_new(k, &l, key)) == NULL)
		die("signing");
	return leaf;
}

static json_t *
body(const char *dir, const struct opts *o, struct avt_snp_pki *k,
    EVP_PKEY *key, X509 *leaf, bool fresh, uint8_t raw[AVT_SNP_REPORT_LEN])
{
	struct avt_snp_fields	 f = { 0 };
	uint8_t			 rep[AVT_SNP_REPORT_LEN], chip[64];
	X509			*ca = o->vlek ? k->asvk : k->ask;
	json_t			*it, *certs, *b;
	char			*s;
	size_t			 hl = o->prod == 2 ? 8 : 64;

	for (size_t i = 0; i < 64; i++)
		chip[i] = i < hl ? (uint8_t)(i * 7 + 1) : 0;
	f.version = o->version;
	f.guest_svn = 2;
	f.policy = 0x30000 | (o->debug ? 1ULL << 19 : 0);
	f.current_tcb = f.reported_tcb = f.committed_tcb = f.launch_tcb =
	    avt_snp_tcb_raw(PROD[o->prod], &TCB[o->prod]);
	f.platform_info = 0x3;
	f.signer_info = o->vlek ? 1u << 2 : 0;
	memcpy(f.measurement, o->meas, 48);
	if (!o->vlek)
		memcpy(f.chip_id, chip, 64);
	f.cpuid_fam = o->prod == 2 ? 0x1A : 0x19;
	f.cpuid_mod = o->prod == 1 ? 0x11 : (o->prod == 2 ? 0x02 : 0x01);
	f.current_major = f.committed_major = 1;
	f.current_minor = f.committed_minor = 55;
	if (fresh)	/* every report different (report_id) */
		for (int i = 0; i < 32; i++)
			f.report_id[i] = (uint8_t)rand();
	if (o->nonce != NULL) {
		size_t	 n = o->nonce_len + o->rt_len;
		uint8_t	*cat = malloc(n + 1);

		if (cat == NULL)
			die("out of memory");
		memcpy(cat, o->nonce, o->nonce_len);
		if (o->rt_len > 0)
			memcpy(cat + o->nonce_len, o->rt, o->rt_len);
		av_sha512(cat, n, f.report_data);
		free(cat);
	}
	if (avt_snp_report(&f, key, rep) != 0)
		die("signing");
	if (o->corrupt)
		rep[0x2A0] ^= 1;
	if (o->raw) {
		memcpy(raw, rep, sizeof(rep));
		return NULL;
	}
	s = av_b64_encode(rep, sizeof(rep));
	it = json_pack("{s:s s:s}", "type", "sev-snp", "data", s);
	free(s);
	certs = json_object();
	if (strcmp(o->form, "certs") == 0) {
		json_object_set_new(certs, o->vlek ? "vlek" : "vcek",
		    json_string(s = avt_snp_b64_der(leaf)));
		free(s);
		json_object_set_new(certs, o->vlek ? "asvk" : "ask",
		    json_string(s = avt_snp_b64_der(ca)));
		free(s);
		json_object_set_new(certs, "ark",
		    json_string(s = avt_snp_b64_der(k->ark)));
		free(s);
	} else if (strcmp(o->form, "table") == 0 ||
	    strcmp(o->form, "auxblob") == 0) {
		size_t	 tl;
		uint8_t	*t = avt_snp_cert_table(leaf, o->vlek, ca, k->ark, &tl);

		s = av_b64_encode(t, tl);
		json_object_set_new(strcmp(o->form, "table") == 0 ? certs : it,
		    strcmp(o->form, "table") == 0 ? "cert_table" : "auxblob",
		    json_string(s));
		free(s);
		free(t);
	} else if (strcmp(o->form, "none") != 0)
		die("--form: certs, table, auxblob or none");
	if (!o->no_crl) {
		s = read_text(dir, "pki/", PROD[o->prod], "-crl.pem");
		json_object_set_new(certs, "crl", json_string(s));
		free(s);
	}
	if (json_object_size(certs) > 0)
		json_object_set_new(it, "certs", certs);
	else
		json_decref(certs);
	b = json_pack("{s:[o]}", "evidence", it);
	if (o->nonce != NULL) {
		s = av_b64url_encode(o->nonce, o->nonce_len);
		json_object_set_new(b, "nonce", json_string(s));
		free(s);
	}
	if (o->rt != NULL) {
		s = av_b64_encode(o->rt, o->rt_len);
		json_object_set_new(b, "runtime_data", json_string(s));
		free(s);
	}
	if (o->policy != NULL)
		json_object_set_new(b, "policy", json_string(o->policy));
	return b;
}

static int
cmd_body(const char *dir, const char *out, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "product", required_argument, NULL, 'p' },
		{ "version", required_argument, NULL, 'v' },
		{ "vlek", no_argument, NULL, 'L' },
		{ "debug", no_argument, NULL, 'd' },
		{ "measurement", required_argument, NULL, 'm' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "runtime-data", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'P' },
		{ "form", required_argument, NULL, 'f' },
		{ "no-crl", no_argument, NULL, 'C' },
		{ "corrupt-sig", no_argument, NULL, 'x' },
		{ "lines", required_argument, NULL, 'l' },
		{ "raw", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts		 o = { .version = 3, .form = "certs" };
	struct avt_snp_pki	 k = { 0 };
	EVP_PKEY		*key;
	X509			*leaf;
	FILE			*f;
	int			 c;

	for (int i = 0; i < 48; i++)
		o.meas[i] = (uint8_t)(0xA0 + i);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		uint8_t	*m;
		size_t	 ml;

		switch (c) {
		case 'p':
			for (o.prod = 0; o.prod < 3 &&
			    strcmp(PROD[o.prod], optarg) != 0; o.prod++)
				;
			if (o.prod == 3)
				die("--product: Milan, Genoa or Turin");
			break;
		case 'v':
			o.version = (uint32_t)atoi(optarg);
			break;
		case 'L':
			o.vlek = true;
			break;
		case 'd':
			o.debug = true;
			break;
		case 'm':
			hexarg(optarg, &m, &ml);
			if (ml != 48)
				die("--measurement: 48 bytes");
			memcpy(o.meas, m, 48);
			free(m);
			break;
		case 'n':
			hexarg(optarg, &o.nonce, &o.nonce_len);
			break;
		case 'r':
			hexarg(optarg, &o.rt, &o.rt_len);
			break;
		case 'P':
			o.policy = optarg;
			break;
		case 'f':
			o.form = optarg;
			break;
		case 'C':
			o.no_crl = true;
			break;
		case 'x':
			o.corrupt = true;
			break;
		case 'l':
			o.lines = atol(optarg);
			break;
		case 'R':
			o.raw = true;
			break;
		default:
			die("unknown option");
		}
	}
	snprintf(k.product, sizeof(k.product), "%s", PROD[o.prod]);
	k.ark = load_cert(dir, "pki/", PROD[o.prod], "-ark.pem");
	k.ask = load_cert(dir, "pki/", PROD[o.prod], "-ask.pem");
	k.asvk = load_cert(dir, "pki/", PROD[o.prod], "-asvk.pem");
	k.ask_key = load_key(dir, "pki/", PROD[o.prod], "-ask.key");
	k.asvk_key = load_key(dir, "pki/", PROD[o.prod], "-asvk.key");
	key = load_key(dir, "pki/", "leaf", ".key");
	leaf = leaf_for(&o, &k, key);
	if ((f = fopen(out, "wb")) == NULL)
		die(out);
	for (long i = 0; i < (o.lines > 0 ? o.lines : 1); i++) {
		uint8_t	 raw[AVT_SNP_REPORT_LEN];
		json_t	*b = body(dir, &o, &k, key, leaf, o.lines > 0, raw);
		char	*s;

		if (o.raw) {
			if (fwrite(raw, 1, sizeof(raw), f) != sizeof(raw))
				die(out);
		} else {
			s = json_dumps(b, JSON_COMPACT);
			fprintf(f, "%s\n", s);
			free(s);
		}
		json_decref(b);
	}
	if (fclose(f) != 0)
		die(out);
	X509_free(leaf);
	EVP_PKEY_free(key);
	EVP_PKEY_free(k.ask_key);
	EVP_PKEY_free(k.asvk_key);
	X509_free(k.ark);
	X509_free(k.ask);
	X509_free(k.asvk);
	free(o.nonce);
	free(o.rt);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "init") == 0)
		return cmd_init(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "body") == 0) {
		optind = 4;
		return cmd_body(argv[2], argv[3], argc, argv);
	}
	fprintf(stderr, "usage: mksnp init DIR\n"
	    "       mksnp body DIR OUT [--product P] [--version N] [--vlek] "
	    "[--debug]\n"
	    "            [--measurement HEX] [--nonce HEX] [--runtime-data HEX]"
	    " [--policy ID]\n"
	    "            [--form certs|table|auxblob|none] [--no-crl] "
	    "[--corrupt-sig]\n"
	    "            [--lines N] [--raw]\n");
	return 64;
}
