/*
 * mknitro - synthetic AWS Nitro attestation documents for the end-to-end
 * tests, signed by a test PKI (never a real one).
 *
 *   mknitro init DIR
 *	New test PKI (P-384 root -> intermediate -> leaf) saved as PEM in
 *	DIR/pki/, and its root as an operator trust anchor in
 *	DIR/trust/aws-nitro/root.pem (for attestd --trust-dir DIR/trust).
 *   mknitro sign DIR OUT [options]
 *	Write a document signed with DIR's PKI to OUT (raw CBOR bytes).
 *	--nonce HEX, --user-data HEX, --public-key HEX   optional fields
 *	--pcr I=HEX            set PCR I (48 bytes)
 *	--timestamp-ms N       document timestamp (default: now)
 *	--debug                PCR0-2 all zero (a debug enclave)
 *	--corrupt-sig          flip a signature bit
 *	--alg-es256            protected header {1: -7} (unsupported)
 *	--truncate N           drop the last N bytes
 *	--tagged               COSE tag 18 in front
 *	--leaf-expired         sign with a new leaf that expired yesterday
 *	--lines N              write N documents to OUT as base64, one per
 *	                       line (for bench/), instead of one raw document
 *	--fresh-leaf           a new leaf key and certificate per document
 *	                       (every document has a chain never seen before)
 *
 * Default PCR i byte j is (i * 16 + j + 1) mod 256 (avt_nitro.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/pem.h>

#include "av/codec.h"
#include "avt_nitro.h"
#include "avt_pki.h"

static const char *const names[3] = { "root", "inter", "leaf" };

static int
write_key(const char *path, EVP_PKEY *k)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int
cmd_init(const char *dir)
{
	struct avt_nitro_pki	*pki;
	char			 p[4096];
	int64_t			 now = (int64_t)time(NULL);
	X509			*certs[3];
	EVP_PKEY		*keys[3];
	int			 rc = 1;

	if ((pki = avt_nitro_pki_new(now - 3600, now + 7 * 86400, "P-384")) ==
	    NULL) {
		fprintf(stderr, "mknitro: cannot make the PKI\n");
		return 1;
	}
	certs[0] = pki->root, certs[1] = pki->inter, certs[2] = pki->leaf;
	keys[0] = pki->root_key, keys[1] = pki->int_key, keys[2] = pki->leaf_key;
	snprintf(p, sizeof(p), "%s/pki", dir);
	(void)mkdir(dir, 0700);
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		goto out;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/pki/%s.pem", dir, names[i]);
		if (avt_cert_write_pem(certs[i], p) == -1)
			goto out;
		snprintf(p, sizeof(p), "%s/pki/%s-key.pem", dir, names[i]);
		if (write_key(p, keys[i]) == -1)
			goto out;
	}
	snprintf(p, sizeof(p), "%s/trust", dir);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/trust/aws-nitro", dir);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/trust/aws-nitro/root.pem", dir);
	if (avt_cert_write_pem(pki->root, p) == -1)
		goto out;
	rc = 0;
 out:
	if (rc != 0)
		fprintf(stderr, "mknitro: cannot write %s\n", p);
	avt_nitro_pki_free(pki);
	return rc;
}

static struct avt_nitro_pki *
load_pki(const char *dir)
{
	struct avt_nitro_pki	*pki;
	X509			**certs[3];
	EVP_PKEY		**keys[3];
	char			 p[4096];
	FILE			*f;

	if ((pki = calloc(1, sizeof(*pki))) == NULL)
		return NULL;
	certs[0] = &pki->root, certs[1] = &pki->inter, certs[2] = &pki->leaf;
	keys[0] = &pki->root_key, keys[1] = &pki->int_key;
	keys[2] = &pki->leaf_key;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/pki/%s.pem", dir, names[i]);
		if ((f = fopen(p, "r")) == NULL)
			goto fail;
		*certs[i] = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		snprintf(p, sizeof(p), "%s/pki/%s-key.pem", dir, names[i]);
		if ((f = fopen(p, "r")) == NULL)
			goto fail;
		*keys[i] = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (*certs[i] == NULL || *keys[i] == NULL)
			goto fail;
	}
	return pki;
 fail:
	fprintf(stderr, "mknitro: cannot read %s (run mknitro init)\n", p);
	avt_nitro_pki_free(pki);
	return NULL;
}

/*
 * Replace pki's leaf: one that expired a day ago (expired), or one with a
 * fresh key valid for a day (a chain no cache has seen).
 */
static int
new_leaf(struct avt_nitro_pki *pki, bool expired)
{
	struct avt_cert_spec	 cs;
	int64_t			 now = (int64_t)time(NULL);
	EVP_PKEY		*key = NULL;
	X509			*leaf;

	memset(&cs, 0, sizeof(cs));
	cs.cn = expired ? "expired test enclave leaf" : "fresh test enclave leaf";
	cs.not_before = expired ? now - 10 * 86400 : now - 3600;
	cs.not_after = expired ? now - 86400 : now + 86400;
	if (!expired && (key = avt_key_new("P-384")) == NULL)
		return -1;
	if ((leaf = avt_cert_new(&cs, key ? key : pki->leaf_key, pki->inter,
	    pki->int_key)) == NULL) {
		EVP_PKEY_free(key);
		return -1;
	}
	X509_free(pki->leaf);
	pki->leaf = leaf;
	if (key != NULL) {
		EVP_PKEY_free(pki->leaf_key);
		pki->leaf_key = key;
	}
	return 0;
}

static int
hex_field(const char *s, struct avt_nitro_field *f, uint8_t **keep)
{
	size_t n;

	if (av_hex_decode(s, strlen(s), keep, &n) == -1)
		return -1;
	f->kind = AVT_OPT_BYTES;
	f->p = *keep;
	f->n = n;
	return 0;
}

enum { O_NONCE = 256, O_UD, O_PK, O_PCR, O_TS, O_DEBUG, O_CORRUPT, O_ES256,
	O_TRUNC, O_TAGGED, O_EXPIRED, O_LINES, O_FRESH };

static int
cmd_sign(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "nonce", required_argument, NULL, O_NONCE },
		{ "user-data", required_argument, NULL, O_UD },
		{ "public-key", required_argument, NULL, O_PK },
		{ "pcr", required_argument, NULL, O_PCR },
		{ "timestamp-ms", required_argument, NULL, O_TS },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "corrupt-sig", no_argument, NULL, O_CORRUPT },
		{ "alg-es256", no_argument, NULL, O_ES256 },
		{ "truncate", required_argument, NULL, O_TRUNC },
		{ "tagged", no_argument, NULL, O_TAGGED },
		{ "leaf-expired", no_argument, NULL, O_EXPIRED },
		{ "lines", required_argument, NULL, O_LINES },
		{ "fresh-leaf", no_argument, NULL, O_FRESH },
		{ NULL, 0, NULL, 0 }
	};
	static const uint8_t es256[] = { 0xa1, 0x01, 0x26 };
	struct avt_nitro_spec	 spec;
	struct avt_nitro_pki	*pki = NULL;
	uint8_t			*doc = NULL, *keep[3] = { NULL, NULL, NULL };
	size_t			 len = 0, trunc = 0, lines = 0;
	bool			 debug = false, expired = false, fresh = false;
	char			*b64;
	FILE			*f;
	int			 c, rc = 1;

	avt_nitro_spec_init(&spec, (int64_t)time(NULL), false);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_NONCE:
			if (hex_field(optarg, &spec.nonce, &keep[0]) == -1)
				goto usage;
			break;
		case O_UD:
			if (hex_field(optarg, &spec.user_data, &keep[1]) == -1)
				goto usage;
			break;
		case O_PK:
			if (hex_field(optarg, &spec.public_key, &keep[2]) == -1)
				goto usage;
			break;
		case O_PCR: {
			char *eq = strchr(optarg, '=');
			int i = atoi(optarg);

			if (eq == NULL || i < 0 || i > 31 ||
			    av_hex_decode_fixed(eq + 1, spec.pcr[i], 48) == -1)
				goto usage;
			spec.pcr_mask |= 1u << i;
			break;
		}
		case O_TS:
			spec.timestamp_ms = strtoull(optarg, NULL, 10);
			break;
		case O_DEBUG:
			debug = true;
			break;
		case O_CORRUPT:
			spec.corrupt_sig = true;
			break;
		case O_ES256:
			spec.prot = es256;
			spec.prot_len = sizeof(es256);
			break;
		case O_TRUNC:
			trunc = strtoul(optarg, NULL, 10);
			break;
		case O_TAGGED:
			spec.tagged = true;
			break;
		case O_EXPIRED:
			expired = true;
			break;
		case O_LINES:
			lines = strtoul(optarg, NULL, 10);
			break;
		case O_FRESH:
			fresh = true;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	if (debug)
		avt_nitro_spec_debug(&spec);
	if ((pki = load_pki(argv[optind])) == NULL)
		goto out;
	if (expired && new_leaf(pki, true) == -1) {
		fprintf(stderr, "mknitro: cannot make an expired leaf\n");
		goto out;
	}
	if (lines > 0) {
		if ((f = fopen(argv[optind + 1], "w")) == NULL)
			goto out;
		for (size_t i = 0; i < lines; i++) {
			if ((fresh && new_leaf(pki, false) == -1) ||
			    (doc = avt_nitro_make(&spec, pki, &len)) == NULL ||
			    (b64 = av_b64_encode(doc, len)) == NULL) {
				fprintf(stderr, "mknitro: cannot sign\n");
				fclose(f);
				goto out;
			}
			fprintf(f, "%s\n", b64);
			free(b64);
			free(doc);
			doc = NULL;
		}
		rc = fclose(f) == 0 ? 0 : 1;
		goto out;
	}
	if ((doc = avt_nitro_make(&spec, pki, &len)) == NULL) {
		fprintf(stderr, "mknitro: cannot sign the document\n");
		goto out;
	}
	if (trunc >= len)
		trunc = len - 1;
	if ((f = fopen(argv[optind + 1], "wb")) == NULL ||
	    fwrite(doc, 1, len - trunc, f) != len - trunc || fclose(f) != 0) {
		fprintf(stderr, "mknitro: cannot write %s\n", argv[optind + 1]);
		goto out;
	}
	rc = 0;
	goto out;
 usage:
	fprintf(stderr, "usage: mknitro sign DIR OUT [--nonce HEX] "
	    "[--user-data HEX] [--public-key HEX] [--pcr I=HEX] "
	    "[--timestamp-ms N] [--debug] [--corrupt-sig] [--alg-es256] "
	    "[--truncate N] [--tagged] [--leaf-expired] [--lines N] "
	    "[--fresh-leaf]\n");
	rc = 64;
 out:
	for (int i = 0; i < 3; i++)
		free(keep[i]);
	free(doc);
	avt_nitro_pki_free(pki);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "init") == 0)
		return cmd_init(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	fprintf(stderr, "usage: mknitro init DIR | mknitro sign DIR OUT "
	    "[options]\n");
	return 64;
}
