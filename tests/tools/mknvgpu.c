/*
 * mknvgpu - synthetic NVIDIA GPU evidence for the end-to-end tests and the
 * benchmark, signed by a test PKI (never a real one; tests/lib/avt_nvgpu.h).
 *
 *   mknvgpu init DIR
 *	A test device hierarchy (five P-384 certificates, valid from a year
 *	ago for five years) and RIM hierarchy (signer valid from 30 days ago
 *	for a year), saved in DIR/pki/; both roots as operator anchors in
 *	DIR/trust/nvidia-gpu/root.pem and DIR/trust/nvidia-rim/root.pem
 *	(attestd --trust-dir DIR/trust); the driver (550.90.07) and VBIOS
 *	(96.00.9F.00.01) RIMs and one OCSP response ("good" for the four
 *	non-root certificates, by a delegated responder, valid a week) in
 *	DIR/collateral/ (attestd --collateral-dir).
 *   mknvgpu body DIR OUT [options]
 *	Write a JSON request body with GPU reports signed by DIR's PKI.
 *	--gpus N          reports (default 1), submods gpu0..N-1
 *	--nonce HEX       the body's nonce and every report's (32 bytes)
 *	--policy ID       the body's policy id
 *	--form F          items (default: {"nonce", "evidence": [items]}),
 *	                  sdk (the evidence list of NVIDIA's SDK as one
 *	                  element of "evidence"), sdk-bare (the SDK list
 *	                  alone, as NVIDIA's tools write it)
 *	--bad-measurement I  change RIM index I's block on the last GPU
 *	--corrupt-sig     flip a signature bit of the last GPU's report
 *	--driver V        driver version in the reports
 *	--lines N         write N bodies, one per line (for bench/)
 *
 * Uses the wall clock (test tool, not the verifier).
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
#include "avt_nvgpu.h"
#include "avt_pki.h"

#define DAY	86400

static void	die(const char *) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "mknvgpu: %s\n", what);
	exit(1);
}

/* dir/name into path (4096 bytes), or die. */
static void
joinp(char *path, const char *dir, const char *name)
{
	int n = snprintf(path, 4096, "%s/%s", dir, name);

	if (n < 0 || n >= 4096)
		die("path too long");
}

static void
mkdirs(const char *p)
{
	char	buf[4096];
	size_t	n = strlen(p);

	if (n >= sizeof(buf))
		die("path too long");
	memcpy(buf, p, n + 1);
	for (size_t i = 1; i <= n; i++)
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];

			buf[i] = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				die("mkdir");
			buf[i] = c;
		}
}

static void
put_file(const char *dir, const char *name, const void *p, size_t n)
{
	char	 path[4096];
	FILE	*f;

	joinp(path, dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0)
		die("cannot write a file");
}

static void
put_key(const char *dir, const char *name, EVP_PKEY *k)
{
	char	 path[4096];
	FILE	*f;

	joinp(path, dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0)
		die("cannot write a key");
}

static void
put_cert(const char *dir, const char *name, X509 *x)
{
	char path[4096];

	joinp(path, dir, name);
	if (avt_cert_write_pem(x, path) != 0)
		die("cannot write a certificate");
}

static EVP_PKEY *
get_key(const char *dir, const char *name)
{
	char		 path[4096];
	FILE		*f;
	EVP_PKEY	*k;

	joinp(path, dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		die("cannot read a key (run mknvgpu init)");
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die("bad key file");
	return k;
}

static X509 *
get_cert(const char *dir, const char *name)
{
	char	 path[4096];
	FILE	*f;
	X509	*x;

	joinp(path, dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		die("cannot read a certificate (run mknvgpu init)");
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die("bad certificate file");
	return x;
}

static void
cmd_init(const char *dir)
{
	struct avt_nv_pki_spec	 ps = { 0 };
	struct avt_nv_pki	*pki;
	struct avt_nv_rim_pki	*rp;
	int64_t			 now = (int64_t)time(NULL);
	char			 sub[4096], name[64], *x;
	size_t			 n;
	X509			*certs[4], *iss[4], *rc;
	EVP_PKEY		*rk;
	int			 st[4] = { 0, 0, 0, 0 };
	uint8_t			*der;

	ps.not_before = now - 365 * DAY;
	ps.not_after = now + 5 * 365 * DAY;
	if ((pki = avt_nv_pki_new(&ps)) == NULL ||
	    (rp = avt_nv_rim_pki_new(now - 30 * DAY, now + 365 * DAY)) == NULL)
		die("cannot make the test PKI");
	joinp(sub, dir, "pki");
	mkdirs(sub);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "dev%d.key", i);
		put_key(sub, name, pki->key[i]);
		snprintf(name, sizeof(name), "dev%d.pem", i);
		put_cert(sub, name, pki->cert[i]);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "rim%d.key", i);
		put_key(sub, name, rp->key[i]);
		snprintf(name, sizeof(name), "rim%d.pem", i);
		put_cert(sub, name, rp->cert[i]);
	}
	joinp(sub, dir, "trust/nvidia-gpu");
	mkdirs(sub);
	put_cert(sub, "root.pem", pki->cert[4]);
	joinp(sub, dir, "trust/nvidia-rim");
	mkdirs(sub);
	put_cert(sub, "root.pem", rp->cert[3]);
	joinp(sub, dir, "collateral");
	mkdirs(sub);
	if ((x = avt_nv_rim_default(rp, false, "550.90.07", false, &n)) == NULL)
		die("cannot make the driver RIM");
	put_file(sub, "NV_GPU_DRIVER_GH100_550.90.07.xml", x, n);
	free(x);
	if ((x = avt_nv_rim_default(rp, true, "96.00.9F.00.01", false, &n)) ==
	    NULL)
		die("cannot make the VBIOS RIM");
	put_file(sub, "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml", x, n);
	free(x);
	for (int i = 0; i < 4; i++) {
		certs[i] = pki->cert[i];
		iss[i] = pki->cert[i + 1];
	}
	if ((rc = avt_nv_ocsp_responder(pki, 4, now - DAY, now + 30 * DAY,
	    &rk)) == NULL || (der = avt_nv_ocsp_response(certs, iss, st, 4,
	    rc, rk, now - 3600, now + 7 * DAY, EVP_sha384(), &n)) == NULL)
		die("cannot make the OCSP response");
	put_file(sub, "ocsp-good.der", der, n);
	free(der);
	X509_free(rc);
	EVP_PKEY_free(rk);
	avt_nv_pki_free(pki);
	avt_nv_rim_pki_free(rp);
}

static struct avt_nv_pki *
load_pki(const char *dir)
{
	struct avt_nv_pki	*pki;
	char			 sub[4096], name[64];

	if ((pki = calloc(1, sizeof(*pki))) == NULL)
		die("out of memory");
	joinp(sub, dir, "pki");
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "dev%d.key", i);
		pki->key[i] = get_key(sub, name);
		snprintf(name, sizeof(name), "dev%d.pem", i);
		pki->cert[i] = get_cert(sub, name);
	}
	for (int i = 0; i < 48; i++)	/* avt_nv_pki_new's default */
		pki->fwid[i] = (uint8_t)(0xF0 ^ i);
	return pki;
}

static json_t *
one_gpu(struct avt_nv_pki *pki, const uint8_t *nonce, bool last,
    int bad_meas, bool corrupt, const char *driver, bool sdk,
    const char *pem)
{
	struct avt_nv_report_spec	 rs;
	uint8_t				*rep;
	size_t				 len;
	char				*b64, *pb64;
	json_t				*o;

	avt_nv_report_defaults(&rs);
	if (nonce != NULL)
		memcpy(rs.nonce, nonce, 32);
	rs.driver = driver;
	if (last && bad_meas >= 0 && bad_meas < AVT_NV_BLOCKS)
		rs.meas[bad_meas][0] ^= 0xFF;
	rs.flip_sig = last && corrupt;
	if ((rep = avt_nv_report(pki, &rs, &len)) == NULL ||
	    (b64 = av_b64_encode(rep, len)) == NULL)
		die("cannot make a report");
	free(rep);
	if (sdk) {
		char *nh = av_hex_encode(rs.nonce, 32);

		if ((pb64 = av_b64_encode((const uint8_t *)pem, strlen(pem))) ==
		    NULL || nh == NULL)
			die("out of memory");
		o = json_pack("{s:s, s:s, s:s, s:s}", "arch", "HOPPER",
		    "certificate", pb64, "evidence", b64, "nonce", nh);
		free(pb64);
		free(nh);
	} else
		o = json_pack("{s:s, s:s, s:s}", "type", "nvidia-gpu",
		    "data", b64, "cert_chain", pem);
	free(b64);
	if (o == NULL)
		die("out of memory");
	return o;
}

static void
cmd_body(const char *dir, const char *out, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gpus", required_argument, NULL, 'g' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },
		{ "form", required_argument, NULL, 'f' },
		{ "bad-measurement", required_argument, NULL, 'm' },
		{ "corrupt-sig", no_argument, NULL, 'c' },
		{ "driver", required_argument, NULL, 'd' },
		{ "lines", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct avt_nv_pki	*pki;
	const char		*policy = NULL, *form = "items", *driver = NULL;
	uint8_t			 nonce[32];
	bool			 have_nonce = false, corrupt = false;
	int			 ngpu = 1, bad = -1, lines = 1, ch;
	char			*pem, *nb = NULL, *text;
	FILE			*f;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			ngpu = atoi(optarg);
			break;
		case 'n':
			if (strlen(optarg) != 64 ||
			    av_hex_decode_fixed(optarg, nonce, 32) != 0)
				die("--nonce: 64 hex digits");
			have_nonce = true;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'f':
			form = optarg;
			break;
		case 'm':
			bad = atoi(optarg);
			break;
		case 'c':
			corrupt = true;
			break;
		case 'd':
			driver = optarg;
			break;
		case 'l':
			lines = atoi(optarg);
			break;
		default:
			die("unknown option");
		}
	}
	if (ngpu < 1 || ngpu > 16 || lines < 1)
		die("--gpus 1..16, --lines >= 1");
	if (strcmp(form, "items") != 0 && strcmp(form, "sdk") != 0 &&
	    strcmp(form, "sdk-bare") != 0)
		die("--form items|sdk|sdk-bare");
	pki = load_pki(dir);
	if ((pem = avt_nv_chain_pem(pki, 0, 4)) == NULL)
		die("out of memory");
	if (have_nonce && (nb = av_b64url_encode(nonce, 32)) == NULL)
		die("out of memory");
	if ((f = fopen(out, "wb")) == NULL)
		die("cannot write OUT");
	for (int l = 0; l < lines; l++) {
		json_t	*list = json_array(), *body;
		bool	 sdk = strcmp(form, "items") != 0;

		for (int i = 0; i < ngpu; i++)
			json_array_append_new(list, one_gpu(pki, have_nonce ?
			    nonce : NULL, i == ngpu - 1, bad, corrupt, driver,
			    sdk, pem));
		if (strcmp(form, "sdk-bare") == 0)
			body = json_incref(list);
		else {
			body = json_object();
			json_object_set_new(body, "evidence",
			    strcmp(form, "sdk") == 0 ? json_pack("[O]", list) :
			    json_incref(list));
			if (nb != NULL)
				json_object_set_new(body, "nonce",
				    json_string(nb));
			if (policy != NULL)
				json_object_set_new(body, "policy",
				    json_string(policy));
		}
		if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
			die("out of memory");
		fprintf(f, "%s\n", text);
		free(text);
		json_decref(body);
		json_decref(list);
	}
	if (fclose(f) != 0)
		die("cannot write OUT");
	free(pem);
	free(nb);
	avt_nv_pki_free(pki);
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "init") == 0)
		cmd_init(argv[2]);
	else if (argc >= 4 && strcmp(argv[1], "body") == 0)
		cmd_body(argv[2], argv[3], argc - 3, argv + 3);
	else {
		fprintf(stderr, "usage: mknvgpu init DIR\n"
		    "       mknvgpu body DIR OUT [--gpus N] [--nonce HEX] "
		    "[--policy ID]\n"
		    "              [--form items|sdk|sdk-bare] "
		    "[--bad-measurement I] [--corrupt-sig]\n"
		    "              [--driver V] [--lines N]\n");
		return 2;
	}
	return 0;
}
