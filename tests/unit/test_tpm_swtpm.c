/*
 * A real software TPM in the suite: tests/tools/swtpm-quote.sh starts a
 * private swtpm on 127.0.0.1, creates an EK and four AKs (RSASSA, RSAPSS,
 * ECDSA P-256, ECDSA P-384), extends PCRs with the digests of an event
 * log made here, and quotes three banks with a fresh nonce; the script
 * runs tpm2_checkquote on every quote as an independent oracle (and
 * OpenSSL on the RSAPSS signature, which tpm2_checkquote 5.4 rejects).
 * Each quote then goes through av_verify_request, positive and negative
 * (wrong nonce, altered PCR, wrong AK, truncated quote, event log that
 * does not replay, AK not enrolled).  Skipped (77) without swtpm and
 * tpm2-tools.
 *
 * AV_TPM_REGEN_SEEDS=1 also writes the request items to evidence/tpm/ as
 * fuzz seeds (docs/platforms/tpm.md).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/verify.h"
#include "avt_pki.h"
#include "avt_tpm.h"

#define T0	1767225600LL

static const char *const aks[] = { "rsa", "rsapss", "ecc", "ecc384" };
#define NAKS	(sizeof(aks) / sizeof(aks[0]))

struct fx {
	char			*dir;		/* tmp dir: out/ and ext.txt */
	char			 out[1024];
	uint8_t			 nonce[32];
	char			 nonce_hex[65];
	struct avt_evlog	*log;
	struct av_trust		*trust;
};

static struct fx *F;

static const char	grubcmd[] = "grub_cmd: linux /boot/vmlinuz ro";
static const char	kcmd[] = "kernel_cmdline: /boot/vmlinuz root=/dev/sda1 ro";

static int
setup(void **state)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	char		 ext[1100], cmd[4096], *lines;
	static const uint8_t one = 1, sep[4] = { 0 };
	uint8_t		 pe[32];
	FILE		*f;
	int		 rc;

	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL || src == NULL)
		return -1;
	F->dir = avt_tmpdir();
	snprintf(F->out, sizeof(F->out), "%s/out", F->dir);
	if (RAND_bytes(F->nonce, sizeof(F->nonce)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(F->nonce); i++)
		snprintf(F->nonce_hex + 2 * i, 3, "%02x", F->nonce[i]);
	/* the log the swtpm's PCRs will replay: firmware, shim, GRUB */
	F->log = avt_evlog_new(false);
	avt_evlog_add(F->log, 0, 0x8, "swtpm CRTM", 10, NULL, 0);
	avt_evlog_efivar(F->log, "SecureBoot", &one, 1);
	avt_evlog_efivar(F->log, "db", "test-db", 7);
	avt_evlog_efivar(F->log, "dbx", "test-dbx", 8);
	for (unsigned p = 0; p <= 7; p++)
		avt_evlog_add(F->log, p, 0x4, sep, 4, NULL, 0);
	memset(pe, 0x5e, sizeof(pe));
	avt_evlog_image(F->log, pe, 32);
	avt_evlog_add(F->log, 8, 0xd, grubcmd, sizeof(grubcmd), grubcmd + 10,
	    sizeof(grubcmd) - 11);
	avt_evlog_add(F->log, 8, 0xd, kcmd, sizeof(kcmd), kcmd + 16,
	    sizeof(kcmd) - 17);
	snprintf(ext, sizeof(ext), "%s/ext.txt", F->dir);
	if ((f = fopen(ext, "w")) == NULL)
		return -1;
	lines = avt_evlog_extends(F->log);
	fputs(lines, f);
	free(lines);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/tools/swtpm-quote.sh' "
	    "'%s' %s '%s' >'%s/script.log' 2>&1", src, F->out, F->nonce_hex,
	    ext, F->dir);
	rc = system(cmd);
	if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/script.log' >&2", F->dir);
		if (system(cmd) != 0)
			return -1;
		return -1;
	}
	F->trust = av_trust_new();
	return F->trust == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (F == NULL)
		return 0;
	av_trust_free(F->trust);
	avt_evlog_free(F->log);
	if (F->dir != NULL)
		avt_rmtree(F->dir);
	free(F->dir);
	free(F);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *
out_file(const char *name, size_t *n)
{
	char	 p[1200];
	uint8_t	*b;

	snprintf(p, sizeof(p), "%s/%s", F->out, name);
	if ((b = avt_read_file(p, n)) == NULL)
		fail_msg("cannot read %s", p);
	return b;
}

static char *
out_text(const char *name)
{
	size_t	 n;
	uint8_t	*b = out_file(name, &n);
	char	*s = malloc(n + 1);

	memcpy(s, b, n);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	s[n] = '\0';
	free(b);
	return s;
}

static void
set_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = av_b64_encode(p, n);

	assert_non_null(s);
	json_object_set_new(o, k, json_string(s));
	free(s);
}

/* All 24 PCRs of sha1, sha256, sha384 as read from the swtpm. */
static json_t *
pcrs_json(void)
{
	static const char *const banks[] = { "sha1", "sha256", "sha384" };
	static const size_t sizes[] = { 20, 32, 48 };
	json_t	*o = json_object();
	char	 f[32], k[4], *h;

	for (int b = 0; b < 3; b++) {
		json_t	*bo = json_object();
		uint8_t	*v;
		size_t	 n;

		snprintf(f, sizeof(f), "pcrs.%s.bin", banks[b]);
		v = out_file(f, &n);
		assert_int_equal(n, 24 * sizes[b]);
		for (unsigned i = 0; i < 24; i++) {
			snprintf(k, sizeof(k), "%u", i);
			h = av_hex_encode(v + i * sizes[b], sizes[b]);
			json_object_set_new(bo, k, json_string(h));
			free(h);
		}
		free(v);
		json_object_set_new(o, banks[b], bo);
	}
	return o;
}

/* The request item for AK name, as the swtpm produced it. */
static json_t *
item(const char *ak, const char *pub_of)
{
	json_t		*it = json_object();
	char		 f[64];
	uint8_t		*b;
	size_t		 n;
	const uint8_t	*log;

	json_object_set_new(it, "type", json_string("tpm"));
	snprintf(f, sizeof(f), "%s.msg", ak);
	b = out_file(f, &n);
	set_b64(it, "data", b, n);
	free(b);
	snprintf(f, sizeof(f), "%s.sig", ak);
	b = out_file(f, &n);
	set_b64(it, "signature", b, n);
	free(b);
	snprintf(f, sizeof(f), "%s.pub", pub_of ? pub_of : ak);
	b = out_file(f, &n);
	set_b64(it, "ak_pub", b, n);
	free(b);
	json_object_set_new(it, "pcrs", pcrs_json());
	log = avt_evlog_bytes(F->log, &n);
	set_b64(it, "event_log", log, n);
	return it;
}

/* SHA-256 hex of the DER SPKI in AK.pem. */
static char *
spki_hex(const char *ak)
{
	char		 f[64];
	uint8_t		*pem, h[32];
	unsigned char	*der = NULL;
	size_t		 n;
	BIO		*bio;
	EVP_PKEY	*pk;
	int		 dl;
	char		*hx;

	snprintf(f, sizeof(f), "%s.pem", ak);
	pem = out_file(f, &n);
	bio = BIO_new_mem_buf(pem, (int)n);
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	assert_non_null(pk);
	dl = i2d_PUBKEY(pk, &der);
	av_sha256(der, (size_t)dl, h);
	hx = av_hex_encode(h, 32);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	free(pem);
	return hx;
}

/* Policy: the AK enrolled, PCR 4/7 (sha256) as the log replays, events. */
static struct av_policy *
policy_for(const char *ak)
{
	struct av_policy	*p = NULL;
	struct av_policy_err	 perr = { 0 };
	const struct avt_pcrs	*lp = avt_evlog_pcrs(F->log);
	char			*h4, *h7, *hx = spki_hex(ak);
	json_t			*doc;

	h4 = av_hex_encode(lp->v[AVT_SHA256][4], 32);
	h7 = av_hex_encode(lp->v[AVT_SHA256][7], 32);
	doc = json_pack("{s:s, s:i, s:{s:s}, s:{s:{s:[s], s:{s:{s:s, s:s}},"
	    " s:b, s:{s:[s]}}}}", "id", "swtpm", "version", 1, "freshness",
	    "nonce", "required", "evidence", "tpm", "enrolled_aks", hx,
	    "pcrs", "sha256", "4", h4, "7", h7, "secure_boot", 1,
	    "kernel_cmdline", "exact", "/boot/vmlinuz root=/dev/sda1 ro");
	assert_non_null(doc);
	if (av_policy_compile(doc, &p, &perr) != 0)
		fail_msg("policy: %s: %s", perr.path, perr.reason);
	json_decref(doc);
	free(h4);
	free(h7);
	free(hx);
	return p;
}

static struct av_result *
run(json_t *it, const struct av_policy *pol, const uint8_t *nonce)
{
	struct av_request	*req = NULL;
	struct av_result	*res = NULL;
	struct av_err		 e = { 0 };
	struct av_env		 env = { .now = T0, .trust = F->trust };
	json_t			*body = json_pack("{s:[o]}", "evidence", it);
	char			*s = av_b64url_encode(nonce, 32);

	json_object_set_new(body, "nonce", json_string(s));
	free(s);
	if (av_request_from_json(body, &req, &e) != 0)
		fail_msg("request: %s", e.reason);
	assert_int_equal(av_verify_request(&env, req, pol, &res, &e), 0);
	av_request_free(req);
	json_decref(body);
	return res;
}

static void
expect(const struct av_result *r, enum av_status st, const char *code)
{
	const struct av_submod	*sm = &r->submods[0];
	bool			 found = (code == NULL &&
	    json_array_size(sm->reasons) == 0);

	for (size_t i = 0; code != NULL && i < json_array_size(sm->reasons);
	    i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(
		    sm->reasons, i), "code")), code) == 0)
			found = true;
	if (sm->status != st || !found) {
		json_t	*j = av_result_json(r, NULL);
		char	*s = json_dumps(j, JSON_INDENT(1));

		fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(j);
		fail_msg("expected %s with %s", av_status_str(st),
		    code ? code : "no reason");
	}
}

/* ---- tests -------------------------------------------------------------- */

/* Every quote: the oracle accepted it and so do we, with the claims. */
static void
t_quotes_verify(void **state)
{
	const struct avt_pcrs *lp = avt_evlog_pcrs(F->log);

	(void)state;
	for (size_t i = 0; i < NAKS; i++) {
		struct av_policy	*pol = policy_for(aks[i]);
		struct av_result	*r;
		const json_t		*c;
		char			 f[64], *o, *h;

		snprintf(f, sizeof(f), "%s.oracle", aks[i]);
		o = out_text(f);
		if (strcmp(aks[i], "rsapss") == 0) {
			/* tpm2_checkquote 5.4 rejects RSAPSS; OpenSSL checks */
			free(o);
			o = out_text("rsapss.oracle-openssl");
		}
		assert_string_equal(o, "pass");
		free(o);
		r = run(item(aks[i], NULL), pol, F->nonce);
		expect(r, AV_STATUS_AFFIRMING, NULL);
		c = r->submods[0].claims;
		/* the swtpm's PCR 4 is what our replay of the log says */
		h = av_hex_encode(lp->v[AVT_SHA384][4], 48);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(json_object_get(c, "pcrs"), "sha384"),
		    "4")), h);
		free(h);
		h = av_hex_encode(F->nonce, 32);
		assert_string_equal(json_string_value(json_object_get(c,
		    "extra_data")), h);
		free(h);
		assert_true(json_is_true(json_object_get(json_object_get(c,
		    "event_log"), "secure_boot")));
		assert_string_equal(json_string_value(json_array_get(
		    json_object_get(json_object_get(c, "event_log"),
		    "grub_cmds"), 0)), "linux /boot/vmlinuz ro");
		assert_true(json_is_true(json_object_get(json_object_get(c,
		    "ak"), "restricted")));
		av_result_free(r);
		av_policy_free(pol);
	}
}

static void
t_wrong_nonce(void **state)
{
	uint8_t other[32];

	(void)state;
	memcpy(other, F->nonce, 32);
	other[0] ^= 0xff;	/* the nonce the script gave the oracle */
	for (size_t i = 0; i < NAKS; i++) {
		struct av_policy	*pol = policy_for(aks[i]);
		struct av_result	*r = run(item(aks[i], NULL), pol, other);
		char			 f[64], *o;

		expect(r, AV_STATUS_CONTRAINDICATED, "nonce_mismatch");
		snprintf(f, sizeof(f), "%s.oracle-wrong-nonce", aks[i]);
		o = out_text(f);
		assert_string_equal(o, "reject");
		free(o);
		av_result_free(r);
		av_policy_free(pol);
	}
}

static void
t_altered_pcr(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAKS; i++) {
		struct av_policy	*pol = policy_for(aks[i]);
		json_t			*it = item(aks[i], NULL);
		json_t			*b = json_object_get(json_object_get(it,
		    "pcrs"), "sha1");
		struct av_result	*r;

		/* sha1 PCR 5 is quoted; zero it to ones */
		json_object_set_new(b, "5", json_string(
		    "1111111111111111111111111111111111111111"));
		r = run(it, pol, F->nonce);
		expect(r, AV_STATUS_CONTRAINDICATED, "pcr_digest_mismatch");
		av_result_free(r);
		av_policy_free(pol);
	}
}

/* The quote of one AK presented with another AK's public key. */
static void
t_wrong_ak(void **state)
{
	char	 cmd[8192];
	int	 rc;

	(void)state;
	for (size_t i = 0; i < NAKS; i++) {
		const char		*other = aks[(i + 1) % NAKS];
		struct av_policy	*pol = policy_for(other);
		struct av_result	*r = run(item(aks[i], other), pol,
		    F->nonce);

		expect(r, AV_STATUS_CONTRAINDICATED, "signature_invalid");
		av_result_free(r);
		av_policy_free(pol);
	}
	/* the oracle agrees on one of them */
	snprintf(cmd, sizeof(cmd), "tpm2_checkquote -u '%s/ecc.pub' "
	    "-m '%s/rsa.msg' -s '%s/rsa.sig' -f '%s/pcrs.serialized' "
	    "-g sha256 -q %s >/dev/null 2>&1", F->out, F->out, F->out, F->out,
	    F->nonce_hex);
	rc = system(cmd);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) != 0);
}

static void
t_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAKS; i++) {
		json_t			*it = item(aks[i], NULL);
		struct av_result	*r;
		char			 f[64];
		uint8_t			*b;
		size_t			 n;

		snprintf(f, sizeof(f), "%s.msg", aks[i]);
		b = out_file(f, &n);
		set_b64(it, "data", b, n - 1);
		r = run(it, NULL, F->nonce);
		expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
		av_result_free(r);
		it = item(aks[i], NULL);
		snprintf(f, sizeof(f), "%s.sig", aks[i]);
		free(b);
		b = out_file(f, &n);
		set_b64(it, "signature", b, n / 2);
		r = run(it, NULL, F->nonce);
		expect(r, AV_STATUS_CONTRAINDICATED, "evidence_malformed");
		av_result_free(r);
		free(b);
	}
}

/* A log with one more event than the swtpm saw. */
static void
t_eventlog_mismatch(void **state)
{
	struct avt_evlog	*l = avt_evlog_new(false);
	static const uint8_t	 one = 1, sep[4] = { 0 };
	uint8_t			 pe[32];
	struct av_policy	*pol = policy_for("ecc");
	struct av_result	*r;
	json_t			*it = item("ecc", NULL);
	const uint8_t		*b;
	size_t			 n;

	(void)state;
	avt_evlog_add(l, 0, 0x8, "swtpm CRTM", 10, NULL, 0);
	avt_evlog_efivar(l, "SecureBoot", &one, 1);
	avt_evlog_efivar(l, "db", "test-db", 7);
	avt_evlog_efivar(l, "dbx", "test-dbx", 8);
	for (unsigned p = 0; p <= 7; p++)
		avt_evlog_add(l, p, 0x4, sep, 4, NULL, 0);
	memset(pe, 0x5e, sizeof(pe));
	avt_evlog_image(l, pe, 32);
	avt_evlog_image(l, pe, 32);
	b = avt_evlog_bytes(l, &n);
	set_b64(it, "event_log", b, n);
	r = run(it, pol, F->nonce);
	expect(r, AV_STATUS_CONTRAINDICATED, "event_log_mismatch");
	av_result_free(r);
	av_policy_free(pol);
	avt_evlog_free(l);
}

static void
t_not_enrolled(void **state)
{
	struct av_policy	*pol = policy_for("rsa");
	struct av_result	*r = run(item("ecc", NULL), pol, F->nonce);

	(void)state;
	expect(r, AV_STATUS_CONTRAINDICATED, "ak_untrusted");
	av_result_free(r);
	av_policy_free(pol);
}

/*
 * tpm2_eventlog as an oracle for the log: it parses the log and its
 * replay equals the swtpm's PCRs (which our verifier also checked).
 */
static void
t_eventlog_oracle(void **state)
{
	char		 path[1200], cmd[4096], line[512], *want;
	const uint8_t	*log;
	size_t		 n, vn, matched = 0;
	uint8_t		*v;
	FILE		*fp;
	bool		 in256 = false;

	(void)state;
	if (system("command -v tpm2_eventlog >/dev/null 2>&1") != 0)
		skip();
	log = avt_evlog_bytes(F->log, &n);
	snprintf(path, sizeof(path), "%s/boot.log", F->dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(log, 1, n, fp), n);
	fclose(fp);
	v = out_file("pcrs.sha256.bin", &vn);
	snprintf(cmd, sizeof(cmd), "tpm2_eventlog '%s' 2>/dev/null", path);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned	idx;
		char		hexv[200];

		if (strncmp(line, "  sha", 5) == 0)
			in256 = strncmp(line, "  sha256:", 9) == 0;
		else if (in256 && sscanf(line, " %u : 0x%199s", &idx,
		    hexv) == 2 && idx < 24) {
			want = av_hex_encode(v + 32 * idx, 32);
			for (char *c = hexv; *c; c++)
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			assert_string_equal(hexv, want);
			free(want);
			matched++;
		}
	}
	assert_int_equal(WEXITSTATUS(pclose(fp)), 0);
	assert_int_equal(matched, 9);	/* PCR 0..8 */
	free(v);
}

/* AV_TPM_REGEN_SEEDS=1: the items become evidence/tpm/ fuzz seeds. */
static void
t_regen_seeds(void **state)
{
	const char	*src = getenv("AV_SOURCE_DIR");
	const char	*regen = getenv("AV_TPM_REGEN_SEEDS");
	char		 p[1200], f[64];
	const uint8_t	*log;
	size_t		 n;
	FILE		*fp;

	(void)state;
	if (regen == NULL || strcmp(regen, "1") != 0 || src == NULL)
		skip();
	snprintf(p, sizeof(p), "%s/evidence/tpm", src);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	snprintf(p, sizeof(p), "%s/evidence/tpm/eventlog", src);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	for (size_t i = 0; i < NAKS; i++) {
		json_t *it = item(aks[i], NULL);

		snprintf(p, sizeof(p), "%s/evidence/tpm/swtpm-%s.good.json",
		    src, aks[i]);
		assert_int_equal(json_dump_file(it, p, JSON_INDENT(1) |
		    JSON_SORT_KEYS), 0);
		json_decref(it);
		for (int k = 0; k < 3; k++) {
			static const char *const ext[] = { "msg", "sig", "pub" };
			uint8_t *b;

			snprintf(f, sizeof(f), "%s.%s", aks[i], ext[k]);
			b = out_file(f, &n);
			snprintf(p, sizeof(p), "%s/evidence/tpm/swtpm-%s.%s",
			    src, aks[i], ext[k]);
			fp = fopen(p, "wb");
			assert_non_null(fp);
			fwrite(b, 1, n, fp);
			fclose(fp);
			free(b);
		}
	}
	log = avt_evlog_bytes(F->log, &n);
	snprintf(p, sizeof(p), "%s/evidence/tpm/eventlog/swtpm-boot.bin", src);
	fp = fopen(p, "wb");
	assert_non_null(fp);
	fwrite(log, 1, n, fp);
	fclose(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_quotes_verify),
		cmocka_unit_test(t_wrong_nonce),
		cmocka_unit_test(t_altered_pcr),
		cmocka_unit_test(t_wrong_ak),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_eventlog_mismatch),
		cmocka_unit_test(t_not_enrolled),
		cmocka_unit_test(t_eventlog_oracle),
		cmocka_unit_test(t_regen_seeds),
	};

	if (system("command -v swtpm >/dev/null 2>&1 && "
	    "command -v tpm2_quote >/dev/null 2>&1 && "
	    "command -v tpm2_checkquote >/dev/null 2>&1") != 0) {
		printf("skipped: swtpm or tpm2-tools not installed\n");
		return 77;
	}
	if (getenv("AV_SOURCE_DIR") == NULL) {
		printf("skipped: AV_SOURCE_DIR not set (run under ctest)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
