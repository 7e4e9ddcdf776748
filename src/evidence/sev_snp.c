/*
 * attestd - AMD SEV-SNP attestation reports, type "sev-snp".
 *
 * SEV Secure Nested Paging Firmware ABI Specification (AMD 56860):
 * s.7.3 ATTESTATION_REPORT (versions 2, 3 and 5), s.2.2 TCB_VERSION,
 * s.4.3 guest policy.  Signature: ECDSA P-384 with SHA-384 over bytes
 * [0, 0x2A0), R and S as 72-byte little-endian integers.
 *
 * Trust: VCEK (per chip and TCB) or VLEK (per cloud provider) <- ASK or
 * ASVK <- ARK, the ARK pinned per product line (Milan, Genoa, Turin);
 * AMD's certificates use RSASSA-PSS (SHA-384, salt 48).  Certificates
 * come from the request, the collateral store, or AMD KDS.
 *
 * Evidence forms (docs/platforms/sev-snp.md): the 0x4A0-byte report;
 * an Azure HCL report wrapping one; a request item with companions
 * {"certs": {"vcek"|"vlek"|"ask"|"asvk"|"ark"|"cert_chain"|"cert_table"|
 * "crl"}}, or the Linux configfs-tsm form {"auxblob": <cert table>}.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "av/backend.h"
#include "av/binding.h"
#include "av/codec.h"
#include "av/collateral.h"
#include "av/crypto.h"
#include "av/memo.h"
#include "av/policy.h"
#include "av/reader.h"
#include "av/result.h"
#include "evidence/sev_snp.h"

#define SNP_PLATFORM		"sev-snp"
#define SNP_MAX_CERTS		16	/* CA certificates from one request */
#define SNP_MAX_CRLS		8
#define SNP_MAX_COMPANION	(1u << 20)	/* bytes of one companion */

/* ---- products and TCB ------------------------------------------------- */

const char *
snp_product_name(enum snp_product p)
{
	switch (p) {
	case SNP_PRODUCT_MILAN:
		return "Milan";
	case SNP_PRODUCT_GENOA:
		return "Genoa";
	case SNP_PRODUCT_TURIN:
		return "Turin";
	case SNP_PRODUCT_UNKNOWN:
	default:
		return "unknown";
	}
}

enum snp_product
snp_product_from_name(const char *s, size_t n)
{
	size_t	k;

	if (s == NULL)
		return SNP_PRODUCT_UNKNOWN;
	for (k = 0; k < n && s[k] != '-' && s[k] != '\0'; k++)
		;
	for (int p = 1; p <= SNP_PRODUCT_COUNT; p++) {
		const char *nm = snp_product_name((enum snp_product)p);

		if (strlen(nm) == k && strncmp(nm, s, k) == 0)
			return (enum snp_product)p;
	}
	return SNP_PRODUCT_UNKNOWN;
}

enum snp_product
snp_product_from_cpuid(uint8_t fam, uint8_t mod)
{
	if (fam == 0x19) {
		if ((mod >> 4) == 0x0)
			return SNP_PRODUCT_MILAN;
		if ((mod >> 4) == 0x1 || (mod >> 4) == 0xA)
			return SNP_PRODUCT_GENOA;	/* Genoa, Bergamo, Siena */
	}
	if (fam == 0x1A && mod <= 0x1F)
		return SNP_PRODUCT_TURIN;
	return SNP_PRODUCT_UNKNOWN;
}

void
snp_tcb_decode(uint64_t raw, enum snp_product p, struct snp_tcb *t)
{
	memset(t, 0, sizeof(*t));
	if (p == SNP_PRODUCT_TURIN) {
		t->fmc = (uint8_t)raw;
		t->bootloader = (uint8_t)(raw >> 8);
		t->tee = (uint8_t)(raw >> 16);
		t->snp = (uint8_t)(raw >> 24);
	} else {
		t->bootloader = (uint8_t)raw;
		t->tee = (uint8_t)(raw >> 8);
		t->snp = (uint8_t)(raw >> 48);
	}
	t->microcode = (uint8_t)(raw >> 56);
}

uint64_t
snp_tcb_encode(const struct snp_tcb *t, enum snp_product p)
{
	uint64_t raw = (uint64_t)t->microcode << 56;

	if (p == SNP_PRODUCT_TURIN)
		raw |= (uint64_t)t->fmc | (uint64_t)t->bootloader << 8 |
		    (uint64_t)t->tee << 16 | (uint64_t)t->snp << 24;
	else
		raw |= (uint64_t)t->bootloader | (uint64_t)t->tee << 8 |
		    (uint64_t)t->snp << 48;
	return raw;
}

/* ---- report ----------------------------------------------------------- */

/* Little-endian R or S (72 bytes) to big-endian P-384 (48 bytes). */
static bool
sig_component(const uint8_t *le, uint8_t be[SNP_P384_LEN])
{
	bool high = false;

	for (size_t i = 0; i < SNP_P384_LEN; i++)
		be[i] = le[SNP_P384_LEN - 1 - i];
	for (size_t i = SNP_P384_LEN; i < SNP_SIG_COMPONENT_LEN; i++)
		high |= le[i] != 0;
	return high;
}

static bool
read_tcb(struct av_reader *r, uint64_t *v)
{
	return av_read_u64le(r, v);
}

/*
 * Parse an ATTESTATION_REPORT (ABI s.7.3, Table 23), fields in order.
 * Returns 0, or -1 with e (AV_E_MALFORMED).
 */
int
snp_report_parse(const uint8_t *p, size_t n, struct snp_report *out,
    struct av_err *e)
{
	struct av_reader	 r;
	const uint8_t		*sig;
	bool			 ok;

	memset(out, 0, sizeof(*out));
	if (p == NULL || n < SNP_REPORT_LEN)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: report shorter than 0x4A0 bytes");
	if (n > SNP_REPORT_LEN)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: trailing bytes after the report");
	memcpy(out->raw, p, SNP_REPORT_LEN);
	av_reader_init(&r, p, n);
	ok = av_read_u32le(&r, &out->version) &&		/* 0x000 */
	    av_read_u32le(&r, &out->guest_svn) &&		/* 0x004 */
	    av_read_u64le(&r, &out->policy) &&			/* 0x008 */
	    av_read_copy(&r, out->family_id, 16) &&		/* 0x010 */
	    av_read_copy(&r, out->image_id, 16) &&		/* 0x020 */
	    av_read_u32le(&r, &out->vmpl) &&			/* 0x030 */
	    av_read_u32le(&r, &out->sig_algo) &&		/* 0x034 */
	    read_tcb(&r, &out->current_tcb) &&			/* 0x038 */
	    av_read_u64le(&r, &out->platform_info) &&		/* 0x040 */
	    av_read_u32le(&r, &out->signer_info) &&		/* 0x048 */
	    av_read_skip(&r, 4) &&				/* 0x04C */
	    av_read_copy(&r, out->report_data, 64) &&		/* 0x050 */
	    av_read_copy(&r, out->measurement, 48) &&		/* 0x090 */
	    av_read_copy(&r, out->host_data, 32) &&		/* 0x0C0 */
	    av_read_copy(&r, out->id_key_digest, 48) &&		/* 0x0E0 */
	    av_read_copy(&r, out->author_key_digest, 48) &&	/* 0x110 */
	    av_read_copy(&r, out->report_id, 32) &&		/* 0x140 */
	    av_read_copy(&r, out->report_id_ma, 32) &&		/* 0x160 */
	    read_tcb(&r, &out->reported_tcb) &&			/* 0x180 */
	    av_read_u8(&r, &out->cpuid_fam) &&			/* 0x188 */
	    av_read_u8(&r, &out->cpuid_mod) &&			/* 0x189 */
	    av_read_u8(&r, &out->cpuid_step) &&			/* 0x18A */
	    av_read_skip(&r, 21) &&				/* 0x18B */
	    av_read_copy(&r, out->chip_id, 64) &&		/* 0x1A0 */
	    read_tcb(&r, &out->committed_tcb) &&		/* 0x1E0 */
	    av_read_u8(&r, &out->current_build) &&		/* 0x1E8 */
	    av_read_u8(&r, &out->current_minor) &&
	    av_read_u8(&r, &out->current_major) &&
	    av_read_skip(&r, 1) &&
	    av_read_u8(&r, &out->committed_build) &&		/* 0x1EC */
	    av_read_u8(&r, &out->committed_minor) &&
	    av_read_u8(&r, &out->committed_major) &&
	    av_read_skip(&r, 1) &&
	    read_tcb(&r, &out->launch_tcb) &&			/* 0x1F0 */
	    av_read_u64le(&r, &out->launch_mit_vector) &&	/* 0x1F8 */
	    av_read_u64le(&r, &out->current_mit_vector) &&	/* 0x200 */
	    av_read_skip(&r, 0x2A0 - 0x208) &&			/* 0x208 */
	    av_read_bytes(&r, 0x200, &sig);			/* 0x2A0 */
	if (!ok || r.left != 0)
		return AV_FAIL(e, AV_E_INTERNAL, "sev-snp: report layout");
	if (out->version < SNP_VERSION_MIN || out->version > SNP_VERSION_MAX)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: unsupported report version");
	if (out->version < 3) {
		/* v2: CPUID bytes reserved. */
		out->cpuid_fam = out->cpuid_mod = out->cpuid_step = 0;
	}
	if (out->version < 5) {
		/* Before v5 the mitigation vectors are reserved. */
		out->launch_mit_vector = out->current_mit_vector = 0;
	}
	out->sig_high_nonzero = sig_component(sig, out->sig_r);
	out->sig_high_nonzero |= sig_component(sig + SNP_SIG_COMPONENT_LEN,
	    out->sig_s);
	return 0;
}

/* ---- Azure HCL report ------------------------------------------------- */

bool
snp_hcl_detect(const uint8_t *p, size_t n)
{
	/* A report starts with its version (2..5), never with "HCLA". */
	return p != NULL && n >= 4 && memcmp(p, SNP_HCL_MAGIC, 4) == 0;
}

/*
 * Parse an Azure HCL attestation report: header (0x20 bytes, "HCLA"),
 * the SNP report, then the IGVM request data.  Returns 0, or -1 with e.
 */
int
snp_hcl_parse(const uint8_t *p, size_t n, struct snp_hcl *out,
    struct av_err *e)
{
	struct av_reader	 r;
	const uint8_t		*magic;
	uint32_t		 data_size, version, var_size;

	memset(out, 0, sizeof(*out));
	av_reader_init(&r, p, n);
	if (!av_read_bytes(&r, 4, &magic) || memcmp(magic, SNP_HCL_MAGIC, 4))
		return AV_FAIL(e, AV_E_MALFORMED, "sev-snp: not an HCL report");
	if (!av_read_skip(&r, SNP_HCL_REPORT_OFF - 4) ||
	    !av_read_bytes(&r, SNP_REPORT_LEN, &out->report) ||
	    !av_read_u32le(&r, &data_size) ||
	    !av_read_u32le(&r, &version) ||
	    !av_read_u32le(&r, &out->report_type) ||
	    !av_read_u32le(&r, &out->hash_type) ||
	    !av_read_u32le(&r, &var_size))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: truncated HCL report");
	if (out->report_type != 2)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: HCL report does not hold an SNP report");
	/* data_size covers the 20-byte header and the variable data. */
	if ((size_t)var_size > r.left || data_size < 20 ||
	    (size_t)data_size - 20 != (size_t)var_size)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: HCL runtime data length out of bounds");
	if (out->hash_type < 1 || out->hash_type > 3)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: unknown HCL runtime data hash type");
	out->var_data = r.p;
	out->var_len = var_size;
	/* What follows is zero padding to the fixed HCL buffer size. */
	for (size_t i = var_size; i < r.left; i++)
		if (r.p[i] != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: trailing bytes after the HCL report");
	return 0;
}

/* ---- parsed evidence -------------------------------------------------- */

enum snp_bind_rule { SNP_BIND_ANY, SNP_BIND_SHA512, SNP_BIND_NONCE };
enum snp_crl_rule { SNP_CRL_OPTIONAL, SNP_CRL_REQUIRED };

struct snp_ev {
	struct snp_report	 rep;
	/* Azure HCL wrapper */
	bool			 hcl;
	uint32_t		 hcl_hash_type;
	uint8_t			*hcl_var;	/* owned copy of runtime data */
	size_t			 hcl_var_len;
	/* companions from the request */
	X509			*leaf;		/* owned or NULL */
	enum snp_cert_kind	 leaf_kind;	/* VCEK, VLEK or OTHER */
	STACK_OF(X509)		*cas;		/* owned: ASK/ASVK/ARK */
	STACK_OF(X509_CRL)	*crls;		/* owned */
	/* verification results (valid when verified) */
	bool			 verified;
	enum snp_product	 product;
	const char		*product_from;	/* "cpuid", "certificate", ... */
	unsigned		 signer;	/* SNP_SIGNING_KEY_* */
	struct snp_leaf_ext	 ext;
	X509			*vleaf;		/* owned ref: the leaf used */
	const char		*leaf_source;	/* "request", "collateral", "kds" */
	char			 ark_cn[64], ask_cn[64];
	bool			 crl_checked;
	const char		*binding;	/* rule satisfied, or NULL */
};

static void
snp_free(void *parsed)
{
	struct snp_ev *d = parsed;

	if (d == NULL)
		return;
	free(d->hcl_var);
	X509_free(d->leaf);
	X509_free(d->vleaf);
	sk_X509_pop_free(d->cas, X509_free);
	sk_X509_CRL_pop_free(d->crls, X509_CRL_free);
	free(d);
}

static bool
has_pem(const char *s, size_t n)
{
	static const char	tag[] = "-----BEGIN";
	size_t			tl = sizeof(tag) - 1;

	for (size_t i = 0; n >= tl && i <= n - tl; i++)
		if (memcmp(s + i, tag, tl) == 0)
			return true;
	return false;
}

/*
 * A companion string: PEM text as is, anything else base64 (of DER or
 * of PEM).  On success *out is malloc'd.  Returns 0, or -1 with e.
 */
static int
companion_bytes(const json_t *v, uint8_t **out, size_t *len,
    struct av_err *e)
{
	const char	*s;
	size_t		 n;

	if (!json_is_string(v))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: certificate companions must be strings");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > SNP_MAX_COMPANION)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: certificate companion empty or too large");
	if (has_pem(s, n)) {
		if ((*out = malloc(n)) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		memcpy(*out, s, n);
		*len = n;
		return 0;
	}
	if (av_b64_decode(s, n, out, len) != 0 || *len == 0) {
		free(*out);
		*out = NULL;
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: certificate companion is neither PEM nor base64");
	}
	return 0;
}

/* ---- parse cache ------------------------------------------------------ */

/*
 * Companions repeat (a host sends the same VCEK, ASK, ARK and CRL with
 * every report), and OpenSSL 3 spends about as long decoding the keys of
 * three certificates as verifying the report's signature.  Certificates
 * go through the shared parse cache (av_x509_parse_any_cached(): the same
 * bytes give the same X509 objects, which the chain cache then knows by
 * identity), CRLs through a memo of their own (include/av/memo.h).
 * Shared X509/X509_CRL objects are only read.
 */
static struct av_memo crl_memo = AV_MEMO_INITIALIZER(av_memo_ref_crl_stack,
    av_memo_unref_crl_stack);

/* Certificates of p (one DER or PEM blocks): new stack, or NULL. */
static STACK_OF(X509) *
parse_certs(const uint8_t *p, size_t n)
{
	return av_x509_parse_any_cached(p, n);
}

/* CRLs of p (one DER CRL or PEM blocks): new stack, or NULL. */
static STACK_OF(X509_CRL) *
parse_crls(const uint8_t *p, size_t n)
{
	STACK_OF(X509_CRL)	*sk;
	const unsigned char	*q = p;
	X509_CRL		*crl;
	BIO			*b;

	if ((sk = av_memo_get(&crl_memo, 'R', p, n, NULL, 0)) != NULL)
		return sk;
	if ((sk = sk_X509_CRL_new_null()) == NULL)
		return NULL;
	if (n > 0 && p[0] == 0x30) {
		if ((crl = d2i_X509_CRL(NULL, &q, (long)n)) == NULL ||
		    q != p + n || !sk_X509_CRL_push(sk, crl))
			X509_CRL_free(crl);
	} else if (n <= INT32_MAX && (b = BIO_new_mem_buf(p, (int)n)) != NULL) {
		while (sk_X509_CRL_num(sk) <= SNP_MAX_CRLS && (crl =
		    PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL)
			if (!sk_X509_CRL_push(sk, crl)) {
				X509_CRL_free(crl);
				break;
			}
		BIO_free(b);
	}
	ERR_clear_error();
	if (sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_free(sk);
		return NULL;
	}
	av_memo_put(&crl_memo, 'R', p, n, NULL, 0, sk);
	return sk;
}

/* Keep x (reference taken) as the leaf of kind k. */
static int
set_leaf(struct snp_ev *d, X509 *x, enum snp_cert_kind k, struct av_err *e)
{
	if (d->leaf != NULL) {
		if (X509_cmp(d->leaf, x) != 0)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: more than one VCEK/VLEK certificate");
		if (d->leaf_kind == SNP_CERT_OTHER)
			d->leaf_kind = k;
		else if (k != SNP_CERT_OTHER && k != d->leaf_kind)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: certificate given as both VCEK and VLEK");
		return 0;
	}
	if (!X509_up_ref(x))
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	d->leaf = x;
	d->leaf_kind = k;
	return 0;
}

/* Add a CA certificate (reference taken) unless already there. */
static int
add_ca(struct snp_ev *d, X509 *x, struct av_err *e)
{
	for (int i = 0; i < sk_X509_num(d->cas); i++)
		if (X509_cmp(sk_X509_value(d->cas, i), x) == 0)
			return 0;
	if (sk_X509_num(d->cas) >= SNP_MAX_CERTS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: too many certificates");
	if (!X509_up_ref(x))
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	if (!sk_X509_push(d->cas, x)) {
		X509_free(x);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	return 0;
}

/*
 * Certificates from bytes (one DER certificate or PEM blocks), sorted
 * into leaf and CAs.  kind: what the companion key says (VCEK, VLEK),
 * SNP_CERT_ASK for CA-only keys, SNP_CERT_OTHER for a mixed chain.
 */
static int
add_certs(struct snp_ev *d, const uint8_t *p, size_t n,
    enum snp_cert_kind kind, struct av_err *e)
{
	STACK_OF(X509)	*sk;
	int		 rc = -1;

	if ((sk = parse_certs(p, n)) == NULL) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: certificate companion does not parse");
		goto out;
	}
	/*
	 * vcek/vlek: one leaf, possibly followed by its chain (as Azure
	 * and some tools store it).
	 */
	if (kind == SNP_CERT_VCEK || kind == SNP_CERT_VLEK) {
		int leaves = 0;

		for (int i = 0; i < sk_X509_num(sk); i++)
			leaves += !snp_cert_is_ca(sk_X509_value(sk, i));
		if (leaves == 0) {
			AV_FAIL(e, AV_E_MALFORMED, "sev-snp: vcek/vlek is a CA "
			    "certificate, not a VCEK/VLEK");
			goto out;
		}
	}
	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509			*x = sk_X509_value(sk, i);
		enum snp_cert_kind	 k = kind;

		if (snp_cert_is_ca(x)) {
			if (add_ca(d, x, e) != 0)
				goto out;
			continue;
		}
		if (kind == SNP_CERT_ASK || kind == SNP_CERT_ARK) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: ask/asvk/ark is not a CA certificate");
			goto out;
		}
		if (k == SNP_CERT_OTHER)
			k = snp_cert_cn_is(x, "SEV-VLEK") ? SNP_CERT_VLEK :
			    snp_cert_cn_is(x, "SEV-VCEK") ? SNP_CERT_VCEK :
			    SNP_CERT_OTHER;
		if (set_leaf(d, x, k, e) != 0)
			goto out;
	}
	rc = 0;
 out:
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* Keep crl (ownership taken, also on failure). */
static int
push_crl(struct snp_ev *d, X509_CRL *crl, struct av_err *e)
{
	if (sk_X509_CRL_num(d->crls) >= SNP_MAX_CRLS) {
		X509_CRL_free(crl);
		return AV_FAIL(e, AV_E_MALFORMED, "sev-snp: too many CRLs");
	}
	if (!sk_X509_CRL_push(d->crls, crl)) {
		X509_CRL_free(crl);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	return 0;
}

/* CRLs: one DER CRL or PEM blocks. */
static int
add_crls(struct snp_ev *d, const uint8_t *p, size_t n, struct av_err *e)
{
	STACK_OF(X509_CRL)	*sk;
	int			 rc = 0;

	if ((sk = parse_crls(p, n)) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: CRL companion does not parse");
	while (rc == 0 && sk_X509_CRL_num(sk) > 0)
		rc = push_crl(d, sk_X509_CRL_shift(sk), e);
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	return rc;
}

/* The extended-report certificate table (auxblob). */
static int
add_cert_table(struct snp_ev *d, const uint8_t *p, size_t n,
    struct av_err *e)
{
	struct snp_cert_entry	 ent[SNP_CERT_TABLE_MAX];
	STACK_OF(X509)		*sk = NULL;
	size_t			 nent;
	X509			*x;

	if (snp_cert_table_parse(p, n, ent, &nent, e) != 0)
		return -1;
	for (size_t i = 0; i < nent; i++) {
		int rc;

		if (ent[i].len == 0 || ent[i].kind == SNP_CERT_OTHER)
			continue;
		if (ent[i].kind == SNP_CERT_CRL) {
			if (add_crls(d, ent[i].data, ent[i].len, e) != 0)
				return -1;
			continue;
		}
		if (ent[i].data[0] != 0x30 ||
		    (sk = parse_certs(ent[i].data, ent[i].len)) == NULL ||
		    sk_X509_num(sk) != 1) {
			sk_X509_pop_free(sk, X509_free);
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: certificate table entry is not a DER "
			    "certificate");
		}
		x = sk_X509_shift(sk);
		sk_X509_free(sk);
		sk = NULL;
		if (ent[i].kind == SNP_CERT_VCEK || ent[i].kind == SNP_CERT_VLEK)
			rc = snp_cert_is_ca(x) ? AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: VCEK/VLEK table entry is a CA") :
			    set_leaf(d, x, ent[i].kind, e);
		else
			rc = snp_cert_is_ca(x) ? add_ca(d, x, e) :
			    AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: ASK/ARK table entry is not a CA");
		X509_free(x);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* One companion by name. */
static int
add_companion(struct snp_ev *d, const char *k, const json_t *v,
    struct av_err *e)
{
	uint8_t	*b = NULL;
	size_t	 n = 0;
	int	 rc;

	if (companion_bytes(v, &b, &n, e) != 0)
		return -1;
	if (strcmp(k, "vcek") == 0)
		rc = add_certs(d, b, n, SNP_CERT_VCEK, e);
	else if (strcmp(k, "vlek") == 0)
		rc = add_certs(d, b, n, SNP_CERT_VLEK, e);
	else if (strcmp(k, "ask") == 0 || strcmp(k, "asvk") == 0)
		rc = add_certs(d, b, n, SNP_CERT_ASK, e);
	else if (strcmp(k, "ark") == 0)
		rc = add_certs(d, b, n, SNP_CERT_ARK, e);
	else if (strcmp(k, "cert_chain") == 0)
		rc = add_certs(d, b, n, SNP_CERT_OTHER, e);
	else if (strcmp(k, "crl") == 0)
		rc = add_crls(d, b, n, e);
	else	/* "cert_table", "auxblob" */
		rc = add_cert_table(d, b, n, e);
	free(b);
	return rc;
}

static const char *const certs_keys[] = {
	"vcek", "vlek", "ask", "asvk", "ark", "cert_chain", "cert_table",
	"crl", NULL
};
/* Companions accepted on the item itself (configfs-tsm, NVIDIA-style). */
static const char *const item_keys[] = {
	"auxblob", "cert_table", "cert_chain", NULL
};

static int
parse_companions(struct snp_ev *d, const json_t *item, struct av_err *e)
{
	const json_t	*certs, *v;
	const char	*k;

	for (size_t i = 0; item_keys[i] != NULL; i++)
		if ((v = json_object_get(item, item_keys[i])) != NULL &&
		    !json_is_null(v) &&
		    add_companion(d, item_keys[i], v, e) != 0)
			return -1;
	if ((certs = json_object_get(item, "certs")) == NULL ||
	    json_is_null(certs))
		return 0;
	if (!json_is_object(certs))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: \"certs\" must be an object");
	json_object_foreach((json_t *)certs, k, v) {
		size_t i;

		for (i = 0; certs_keys[i] != NULL; i++)
			if (strcmp(certs_keys[i], k) == 0)
				break;
		if (certs_keys[i] == NULL)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: unknown key in \"certs\" (vcek, vlek, ask, "
			    "asvk, ark, cert_chain, cert_table, crl)");
		if (!json_is_null(v) && add_companion(d, k, v, e) != 0)
			return -1;
	}
	return 0;
}

static bool
snp_detect(const uint8_t *p, size_t n)
{
	struct av_reader	r;
	uint32_t		version, algo;

	if (snp_hcl_detect(p, n)) {
		/* Only HCL reports that wrap an SNP report (type 2). */
		uint32_t type;

		av_reader_init(&r, p, n);
		return av_read_skip(&r, SNP_HCL_REQ_OFF + 8) &&
		    av_read_u32le(&r, &type) && type == 2;
	}
	if (n != SNP_REPORT_LEN)
		return false;
	av_reader_init(&r, p, n);
	if (!av_read_u32le(&r, &version) || !av_read_skip(&r, 0x30) ||
	    !av_read_u32le(&r, &algo))
		return false;
	return version >= SNP_VERSION_MIN && version <= SNP_VERSION_MAX &&
	    algo == SNP_SIG_ALGO_ECDSA_P384_SHA384;
}

static int
snp_parse(const struct av_evidence *ev, void **out, struct av_err *e)
{
	struct snp_ev	*d;
	struct snp_hcl	 hcl;
	const uint8_t	*rp = ev->data;
	size_t		 rn = ev->len;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->cas = sk_X509_new_null()) == NULL ||
	    (d->crls = sk_X509_CRL_new_null()) == NULL) {
		snp_free(d);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	if (snp_hcl_detect(ev->data, ev->len)) {
		if (snp_hcl_parse(ev->data, ev->len, &hcl, e) != 0)
			goto bad;
		d->hcl = true;
		d->hcl_hash_type = hcl.hash_type;
		if (hcl.var_len > 0) {
			if ((d->hcl_var = malloc(hcl.var_len)) == NULL) {
				AV_FAIL(e, AV_E_NOMEM, "out of memory");
				goto bad;
			}
			memcpy(d->hcl_var, hcl.var_data, hcl.var_len);
		}
		d->hcl_var_len = hcl.var_len;
		rp = hcl.report;
		rn = SNP_REPORT_LEN;
	}
	if (snp_report_parse(rp, rn, &d->rep, e) != 0)
		goto bad;
	if (ev->item != NULL && json_is_object(ev->item) &&
	    parse_companions(d, ev->item, e) != 0)
		goto bad;
	*out = d;
	return 0;
 bad:
	snp_free(d);
	return -1;
}

/* ---- policy (compiled section) --------------------------------------- */

/* TCB components, in claim order. */
enum { TCB_FMC, TCB_BL, TCB_TEE, TCB_SNP, TCB_UCODE, TCB_N };
static const char *const tcb_names[TCB_N + 1] = {
	"fmc", "bootloader", "tee", "snp", "microcode", NULL
};

struct snp_min_tcb {
	bool		has[TCB_N];
	uint8_t		v[TCB_N];
};

/* Minimum TCB: one for every product ([0]) and per product ([1..3]). */
struct snp_tcb_rule {
	bool			set;
	struct snp_min_tcb	any;
	struct snp_min_tcb	per[SNP_PRODUCT_COUNT + 1];
	bool			per_set[SNP_PRODUCT_COUNT + 1];
};

struct snp_policy {
	struct av_hexlist	measurement, host_data, id_key_digest,
				author_key_digest, family_id, image_id;
	bool			has_min_guest_svn;
	uint32_t		min_guest_svn;
	bool			has_min_version;
	uint32_t		min_report_version;
	bool			has_min_fw;
	uint8_t			min_fw[3];	/* major, minor, build */
	/* guest policy: allow_* default false except where noted */
	bool			allow_debug;
	int			allow_migrate_ma;	/* -1: no rule */
	int			allow_smt;		/* -1: no rule */
	int			allow_cxl;		/* -1: no rule */
	uint64_t		require_bits;	/* policy bits that must be 1 */
	bool			has_min_abi;
	unsigned		min_abi_major, min_abi_minor;
	/* platform info */
	int			pi_allow_smt;		/* -1: no rule */
	uint64_t		pi_require_bits;
	uint32_t		vmpl_mask;	/* 0: no rule; bit n: VMPL n */
	struct snp_tcb_rule	tcb_reported, tcb_committed, tcb_launch,
				tcb_current;
	unsigned		products;	/* 0: any; bit p: product p */
	unsigned		signers;	/* 0: any; bit k: SIGNING_KEY k */
	enum snp_bind_rule	bind;
	enum snp_crl_rule	crl;
};

/* ---- verification ----------------------------------------------------- */

/* The report signature with x's key over the SHA-384 digest. */
static int
report_sig_verify(const struct snp_report *rep, const uint8_t dgst[48],
    X509 *x, struct av_err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);

	if (!av_ec_is_curve(pk, "P-384"))
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "sev-snp: VCEK/VLEK key is not ECDSA P-384");
	if (av_ecdsa_verify_rs_digest(pk, dgst, 48, rep->sig_r, SNP_P384_LEN,
	    rep->sig_s, SNP_P384_LEN, e) != 0) {
		if (e != NULL && e->code == AV_E_SIGNATURE)
			AV_FAIL(e, AV_E_SIGNATURE,
			    "sev-snp: report signature does not verify with the "
			    "VCEK/VLEK key");
		return -1;
	}
	return 0;
}

/* Whether ext certifies tcb (reported TCB decoded for product p). */
static bool
ext_tcb_equal(const struct snp_leaf_ext *x, const struct snp_tcb *t,
    enum snp_product p)
{
	if (!x->has_bl || !x->has_tee || !x->has_snp || !x->has_ucode)
		return false;
	if (x->tcb.bootloader != t->bootloader || x->tcb.tee != t->tee ||
	    x->tcb.snp != t->snp || x->tcb.microcode != t->microcode)
		return false;
	if (p == SNP_PRODUCT_TURIN || x->has_fmc)
		return x->has_fmc && x->tcb.fmc == t->fmc;
	return true;
}

/* Bytes of CHIP_ID that a VCEK's hwID covers for product p. */
static size_t
hwid_len_for(enum snp_product p)
{
	return p == SNP_PRODUCT_TURIN ? 8 : 64;
}

/* The product named by a certificate's issuer CN: "SEV-[VLEK-]<P>". */
static enum snp_product
product_from_issuer(X509 *x)
{
	char	buf[64];
	int	n;

	n = X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName,
	    buf, sizeof(buf));
	if (n <= 0)
		return SNP_PRODUCT_UNKNOWN;
	if (strncmp(buf, "SEV-VLEK-", 9) == 0)
		return snp_product_from_name(buf + 9, strlen(buf + 9));
	if (strncmp(buf, "SEV-", 4) == 0)
		return snp_product_from_name(buf + 4, strlen(buf + 4));
	return SNP_PRODUCT_UNKNOWN;
}

/* Subject CN of x into buf ("" when absent). */
static void
subject_cn(X509 *x, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, (int)len) < 0)
		buf[0] = '\0';
}

/*
 * A VCEK or VLEK in the collateral store that certifies this report:
 * same chip (VCEK) and TCB, and whose key verifies the signature.  When
 * no candidate's key verifies, the first candidate is returned (the
 * signature check then fails with its own reason).  New reference.
 */
static X509 *
store_find_leaf(struct av_collateral *coll, const struct snp_report *rep,
    unsigned signer, enum snp_product hint, const uint8_t dgst[48],
    bool *sig_ok)
{
	const struct av_coll_blob	*b;
	X509				*first = NULL, *found = NULL;

	for (size_t i = 0; found == NULL &&
	    (b = av_collateral_get(coll, AV_COLL_CERT, i)) != NULL; i++) {
		struct snp_leaf_ext	 ext;
		struct snp_tcb		 t;
		struct av_err		 ie = { 0 };
		enum snp_product	 p;

		if (b->cert == NULL || snp_cert_is_ca(b->cert) ||
		    snp_leaf_ext_parse(b->cert, &ext, &ie) != 0 ||
		    !ext.has_bl)
			continue;
		p = hint;
		if (p == SNP_PRODUCT_UNKNOWN)
			p = snp_product_from_name(ext.product_name,
			    strlen(ext.product_name));
		snp_tcb_decode(rep->reported_tcb, p, &t);
		if (!ext_tcb_equal(&ext, &t, p))
			continue;
		if (signer == SNP_SIGNING_KEY_VCEK && (ext.hwid_len == 0 ||
		    ext.hwid_len != hwid_len_for(p) ||
		    memcmp(ext.hwid, rep->chip_id, ext.hwid_len) != 0))
			continue;
		if (signer == SNP_SIGNING_KEY_VLEK && ext.hwid_len != 0)
			continue;
		if (report_sig_verify(rep, dgst, b->cert, &ie) == 0)
			found = b->cert;
		else if (first == NULL)
			first = b->cert;
	}
	*sig_ok = found != NULL;
	if (found == NULL)
		found = first;
	if (found != NULL && !X509_up_ref(found))
		found = NULL;
	return found;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Fetch the VCEK from KDS, trying the products the report allows. */
static X509 *
kds_find_vcek(struct av_collateral *coll, int64_t now,
    const struct snp_report *rep, enum snp_product hint)
{
	enum snp_product	 cand[SNP_PRODUCT_COUNT];
	size_t			 nc = 0;
	X509			*x = NULL;

	if (hint != SNP_PRODUCT_UNKNOWN)
		cand[nc++] = hint;
	else {
		cand[nc++] = SNP_PRODUCT_MILAN;
		cand[nc++] = SNP_PRODUCT_GENOA;
		if (rep->version >= 3)	/* Turin firmware reports v3+ */
			cand[nc++] = SNP_PRODUCT_TURIN;
	}
	for (size_t i = 0; i < nc && x == NULL; i++) {
		struct snp_tcb	t;
		struct av_err	ie = { 0 };

		snp_tcb_decode(rep->reported_tcb, cand[i], &t);
		if (amd_kds_get_vcek(coll, now, cand[i], rep->chip_id,
		    hwid_len_for(cand[i]), &t, &x, &ie) != 0)
			x = NULL;
	}
	return x;
}

static bool
pool_has(STACK_OF(X509) *pool, X509 *x)
{
	for (int i = 0; i < sk_X509_num(pool); i++)
		if (X509_cmp(sk_X509_value(pool, i), x) == 0)
			return true;
	return false;
}

/* Add x (reference taken) to pool unless there.  Returns 0/-1. */
static int
pool_add(STACK_OF(X509) *pool, X509 *x)
{
	if (pool_has(pool, x))
		return 0;
	if (!X509_up_ref(x))
		return -1;
	if (!sk_X509_push(pool, x)) {
		X509_free(x);
		return -1;
	}
	return 0;
}

/* The certificate in pool that issued x (names and key ids), or NULL. */
static X509 *
pool_issuer(STACK_OF(X509) *pool, X509 *x)
{
	for (int i = 0; i < sk_X509_num(pool); i++) {
		X509 *c = sk_X509_value(pool, i);

		if (c != x && X509_check_issued(c, x) == X509_V_OK)
			return c;
	}
	return NULL;
}

static bool
self_issued(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0;
}

/* Whether pool holds x's issuer and that issuer's issuer (the ARK). */
static bool
pool_complete(STACK_OF(X509) *pool, X509 *leaf)
{
	X509 *cur = leaf, *iss;

	for (int depth = 0; depth < 4; depth++) {
		if ((iss = pool_issuer(pool, cur)) == NULL)
			return false;
		if (self_issued(iss))
			return true;
		cur = iss;
	}
	return false;
}

/* Add the store's certificates that issued x, up to the root. */
static void
store_add_issuers(struct av_collateral *coll, X509 *leaf,
    STACK_OF(X509) *pool)
{
	const struct av_coll_blob	*b;
	X509				*cur = leaf, *next;

	for (int depth = 0; depth < 4 && !self_issued(cur); depth++) {
		next = NULL;
		for (size_t i = 0;
		    (b = av_collateral_get(coll, AV_COLL_CERT, i)) != NULL; i++) {
			if (b->cert == NULL || b->cert == cur ||
			    !snp_cert_is_ca(b->cert) ||
			    X509_check_issued(b->cert, cur) != X509_V_OK)
				continue;
			if (pool_add(pool, b->cert) != 0)
				return;
			if (next == NULL)
				next = b->cert;
		}
		if (next == NULL)
			return;
		cur = next;
	}
}

/* Product from the root of a verified chain: CN "ARK-<product>". */
static enum snp_product
chain_product(STACK_OF(X509) *chain, char *ark_cn, size_t alen,
    char *ask_cn, size_t klen)
{
	int n = sk_X509_num(chain);

	ark_cn[0] = ask_cn[0] = '\0';
	if (n < 1)
		return SNP_PRODUCT_UNKNOWN;
	subject_cn(sk_X509_value(chain, n - 1), ark_cn, alen);
	if (n >= 3)
		subject_cn(sk_X509_value(chain, 1), ask_cn, klen);
	if (strncmp(ark_cn, "ARK-", 4) != 0)
		return SNP_PRODUCT_UNKNOWN;
	return snp_product_from_name(ark_cn + 4, strlen(ark_cn + 4));
}

/* ---- revocation ------------------------------------------------------- */

/* CRL signatures already verified (by CRL and issuer DER hash). */
#define CRL_SEEN_MAX	32
static pthread_mutex_t	crl_seen_mtx = PTHREAD_MUTEX_INITIALIZER;
static uint8_t		crl_seen[CRL_SEEN_MAX][64];
static size_t		crl_seen_n, crl_seen_next;

static bool
crl_sig_ok(X509_CRL *crl, X509 *issuer)
{
	uint8_t		 key[64];
	unsigned int	 l1 = 32, l2 = 32;
	bool		 ok = false;

	if (X509_CRL_digest(crl, EVP_sha256(), key, &l1) != 1 ||
	    X509_digest(issuer, EVP_sha256(), key + 32, &l2) != 1) {
		ERR_clear_error();
		return X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1;
	}
	pthread_mutex_lock(&crl_seen_mtx);
	for (size_t i = 0; i < crl_seen_n && !ok; i++)
		ok = memcmp(crl_seen[i], key, sizeof(key)) == 0;
	pthread_mutex_unlock(&crl_seen_mtx);
	if (ok)
		return true;
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		ERR_clear_error();
		return false;
	}
	pthread_mutex_lock(&crl_seen_mtx);
	memcpy(crl_seen[crl_seen_next], key, sizeof(key));
	crl_seen_next = (crl_seen_next + 1) % CRL_SEEN_MAX;
	if (crl_seen_n < CRL_SEEN_MAX)
		crl_seen_n++;
	pthread_mutex_unlock(&crl_seen_mtx);
	return true;
}

/*
 * Check every certificate of the verified chain (leaf first) against the
 * CRLs its issuer signed.  *applied: whether a valid CRL was applied.
 * Returns 0, or -1 with e: AV_E_CERT_REVOKED; AV_E_COLLATERAL_EXPIRED
 * (nextUpdate passed), AV_E_COLLATERAL_INVALID (bad signature, not yet
 * valid) when no valid CRL of that issuer was found.
 */
static int
check_crls(STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls, int64_t now,
    bool *applied, struct av_err *e)
{
	time_t	 t = (time_t)now;
	int	 n = sk_X509_num(chain);

	*applied = false;
	for (int i = 0; i + 1 < n; i++) {
		X509		*c = sk_X509_value(chain, i);
		X509		*iss = sk_X509_value(chain, i + 1);
		enum av_code	 bad = AV_OK;
		bool		 used = false;

		for (int j = 0; j < sk_X509_CRL_num(crls); j++) {
			X509_CRL		*crl = sk_X509_CRL_value(crls, j);
			const ASN1_TIME		*nu, *lu;
			X509_REVOKED		*rv = NULL;

			if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
			    X509_get_subject_name(iss)) != 0)
				continue;
			if (!crl_sig_ok(crl, iss)) {
				bad = AV_E_COLLATERAL_INVALID;
				continue;
			}
			lu = X509_CRL_get0_lastUpdate(crl);
			nu = X509_CRL_get0_nextUpdate(crl);
			if (lu == NULL || X509_cmp_time(lu, &t) > 0) {
				bad = AV_E_COLLATERAL_INVALID;
				continue;
			}
			if (nu != NULL && X509_cmp_time(nu, &t) < 0) {
				if (bad == AV_OK)
					bad = AV_E_COLLATERAL_EXPIRED;
				continue;
			}
			if (X509_CRL_get0_by_cert(crl, &rv, c) == 1)
				return AV_FAIL(e, AV_E_CERT_REVOKED,
				    "sev-snp: a certificate of the chain is "
				    "revoked by AMD's CRL");
			used = true;
		}
		if (used)
			*applied = true;
		else if (bad == AV_E_COLLATERAL_EXPIRED)
			return AV_FAIL(e, AV_E_COLLATERAL_EXPIRED,
			    "sev-snp: AMD CRL is past its nextUpdate");
		else if (bad != AV_OK)
			return AV_FAIL(e, AV_E_COLLATERAL_INVALID,
			    "sev-snp: AMD CRL does not verify or is not yet "
			    "valid");
	}
	ERR_clear_error();
	return 0;
}

/* ---- binding ---------------------------------------------------------- */

/*
 * The 64 bytes that bind the request: REPORT_DATA, or for an HCL report
 * the "user-data" hex of its runtime data (REPORT_DATA binds that JSON).
 */
static bool
binding_target(const struct snp_ev *d, uint8_t out[64])
{
	json_t		*doc, *ud;
	json_error_t	 jerr;
	bool		 ok = false;

	if (!d->hcl) {
		memcpy(out, d->rep.report_data, 64);
		return true;
	}
	if (d->hcl_var == NULL || (doc = json_loadb((const char *)d->hcl_var,
	    d->hcl_var_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return false;
	ud = json_object_get(doc, "user-data");
	if (json_is_string(ud) && json_string_length(ud) == 128 &&
	    av_hex_decode_fixed(json_string_value(ud), out, 64) == 0)
		ok = true;
	json_decref(doc);
	return ok;
}

/*
 * Nonce binding (docs/platforms/sev-snp.md "Binding"): the target must
 * equal SHA-512(nonce || runtime_data) or the nonce zero-padded to 64
 * bytes, as the policy's "report_data" rule says (default: either, with
 * or without runtime data).  Empty runtime data counts as none; under
 * the "nonce" rule runtime data takes no part.  Mismatches are recorded
 * as reasons (src/verify/binding.c).
 */
static void
check_binding(struct snp_ev *d, const struct av_ctx *ctx,
    const struct snp_policy *pol, struct av_submod *sm)
{
	struct av_binding_rule	 r = {
		.claim = "report_data",
		.flags = AV_BIND_F_EMPTY_RT,
		.nonce_msg = "sev-snp: REPORT_DATA does not carry the request "
		    "nonce",
		.binding_msg = "sev-snp: REPORT_DATA does not bind the nonce "
		    "and runtime_data",
	};
	struct av_binding	 b;
	uint8_t			 tgt[64];
	bool			 have;

	switch (pol != NULL ? pol->bind : SNP_BIND_ANY) {
	case SNP_BIND_SHA512:
		r.forms = AV_BIND_SHA512;
		break;
	case SNP_BIND_NONCE:
		r.forms = AV_BIND_PADDED;
		r.flags |= AV_BIND_F_IGNORE_RT;
		break;
	case SNP_BIND_ANY:
	default:
		r.forms = AV_BIND_SHA512 | AV_BIND_PADDED;
		break;
	}
	r.forms_rt = r.forms;
	if (!av_binding_has_nonce(ctx, &r, sm))
		return;
	have = binding_target(d, tgt);
	if (!av_binding_check(ctx, have ? tgt : NULL, sizeof(tgt), &r, sm, &b))
		return;
	d->binding = b.form == AV_BIND_SHA512 ?
	    "sha512(nonce||runtime_data)" : "nonce";
	/* out of memory: no key attestation */
	if (b.key)
		(void)av_submod_key_attestation(sm, ctx->runtime_data,
		    ctx->runtime_data_len);
}

/* Azure HCL: REPORT_DATA = H(runtime data), then zero (IGVM hash_type). */
static int
check_hcl(const struct snp_ev *d, struct av_err *e)
{
	uint8_t		h[64];
	size_t		hl;
	const EVP_MD	*md;

	switch (d->hcl_hash_type) {
	case 1:
		md = EVP_sha256();
		hl = 32;
		break;
	case 2:
		md = EVP_sha384();
		hl = 48;
		break;
	case 3:
		md = EVP_sha512();
		hl = 64;
		break;
	default:
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: unknown HCL runtime data hash type");
	}
	if (av_digest(md, d->hcl_var != NULL ? d->hcl_var :
	    (const uint8_t *)"", d->hcl_var_len, h) != 0)
		return AV_FAIL(e, AV_E_INTERNAL, "sev-snp: digest failed");
	if (!av_memeq_ct(h, d->rep.report_data, hl) ||
	    !all_zero(d->rep.report_data + hl, 64 - hl))
		return AV_FAIL(e, AV_E_BINDING,
		    "sev-snp: REPORT_DATA does not bind the HCL runtime data");
	return 0;
}

/* ---- verify ----------------------------------------------------------- */

/* CRLs for the chain: request, collateral store, then KDS. */
static void
gather_crls(struct snp_ev *d, const struct av_ctx *ctx,
    STACK_OF(X509) *pool, enum snp_product product, bool vlek,
    STACK_OF(X509_CRL) *crls, X509_CRL **kds_crl)
{
	const struct av_coll_blob	*b;
	struct av_err			 ie = { 0 };
	int				 before;

	for (int i = 0; i < sk_X509_CRL_num(d->crls); i++)
		(void)sk_X509_CRL_push(crls, sk_X509_CRL_value(d->crls, i));
	before = sk_X509_CRL_num(crls);
	if (ctx->coll == NULL)
		return;
	for (size_t i = 0;
	    (b = av_collateral_get(ctx->coll, AV_COLL_CRL, i)) != NULL; i++) {
		if (b->crl == NULL)
			continue;
		for (int j = 0; j < sk_X509_num(pool); j++)
			if (X509_NAME_cmp(X509_CRL_get_issuer(b->crl),
			    X509_get_subject_name(sk_X509_value(pool, j))) == 0) {
				(void)sk_X509_CRL_push(crls, b->crl);
				break;
			}
	}
	if (sk_X509_CRL_num(crls) > before || before > 0 ||
	    product == SNP_PRODUCT_UNKNOWN)
		return;
	if (amd_kds_get_crl(ctx->coll, ctx->now, product, vlek, kds_crl,
	    &ie) == 0)
		(void)sk_X509_CRL_push(crls, *kds_crl);
}

/* Record a CRL problem per the policy's "crl" rule. */
static int
crl_finding(const struct snp_policy *pol, const struct av_err *ce,
    struct av_submod *sm, struct av_err *e)
{
	if (pol != NULL && pol->crl == SNP_CRL_REQUIRED) {
		if (e != NULL)
			*e = *ce;
		return -1;
	}
	av_submod_reason(sm, ce->code, AV_STATUS_WARNING, "crl", NULL, NULL,
	    ce->reason);
	return 0;
}

/*
 * Verify: signer and algorithm, VCEK/VLEK (request, store, KDS), chain
 * to a pinned ARK at ctx->now, revocation, report signature, REPORTED_TCB
 * and CHIP_ID against the certificate, HCL runtime data, nonce binding.
 * The order follows the reference outcome of the published vectors.
 */
static int
snp_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	struct snp_ev		*d = parsed;
	const struct snp_policy	*pol = policy;
	const struct snp_report	*rep = &d->rep;
	STACK_OF(X509)		*pool = NULL, *kds_chain = NULL, *chain = NULL;
	STACK_OF(X509_CRL)	*crls = NULL;
	X509_CRL		*kds_crl = NULL;
	X509			*leaf = NULL;
	struct av_chain_opts	 opts = { 0 };
	struct av_err		 ce = { 0 };
	struct snp_tcb		 t;
	enum snp_product	 cpu, prod, chainp;
	enum snp_cert_kind	 lk;
	uint8_t			 dgst[48];
	bool			 vlek, applied = false, sig_ok = false;
	int			 rc = -1;

	d->verified = false;
	d->signer = SNP_SI_SIGNING_KEY(rep->signer_info);
	if (rep->sig_algo != SNP_SIG_ALGO_ECDSA_P384_SHA384)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "sev-snp: SIGNATURE_ALGO is not ECDSA P-384 with SHA-384");
	if (d->signer == SNP_SIGNING_KEY_NONE)
		return AV_FAIL(e, AV_E_SIGNATURE, "sev-snp: report is unsigned");
	if (d->signer != SNP_SIGNING_KEY_VCEK &&
	    d->signer != SNP_SIGNING_KEY_VLEK)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "sev-snp: reserved SIGNING_KEY in SIGNER_INFO");
	if (rep->sig_high_nonzero)
		return AV_FAIL(e, AV_E_SIGNATURE, "sev-snp: signature R or S "
		    "has non-zero bytes above the P-384 size");
	if (ctx->trust == NULL)
		return AV_FAIL(e, AV_E_UNTRUSTED_ROOT,
		    "sev-snp: no trust anchors configured");
	vlek = d->signer == SNP_SIGNING_KEY_VLEK;
	av_sha384(rep->raw, SNP_SIGNED_LEN, dgst);
	cpu = rep->version >= 3 ?
	    snp_product_from_cpuid(rep->cpuid_fam, rep->cpuid_mod) :
	    SNP_PRODUCT_UNKNOWN;

	/* The VCEK/VLEK: request, collateral store, KDS. */
	if (d->leaf != NULL) {
		if (!X509_up_ref(d->leaf))
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		leaf = d->leaf;
		d->leaf_source = "request";
	} else if (ctx->coll != NULL && (leaf = store_find_leaf(ctx->coll,
	    rep, d->signer, cpu, dgst, &sig_ok)) != NULL) {
		d->leaf_source = "collateral";
	} else if (ctx->coll != NULL && !vlek &&
	    !(rep->signer_info & SNP_SI_MASK_CHIP_KEY) &&
	    !all_zero(rep->chip_id, sizeof(rep->chip_id)) &&
	    (leaf = kds_find_vcek(ctx->coll, ctx->now, rep, cpu)) != NULL) {
		d->leaf_source = "kds";
	} else if (vlek) {
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "sev-snp: no VLEK certificate (not in the request or the "
		    "collateral store)");
	} else {
		return AV_FAIL(e, AV_E_COLLATERAL_MISSING,
		    "sev-snp: no VCEK certificate (not in the request, the "
		    "collateral store or AMD KDS)");
	}
	lk = d->leaf_source[0] == 'r' ? d->leaf_kind : SNP_CERT_OTHER;
	/* A first look for the product only; judged after the chain. */
	if (snp_leaf_ext_parse(leaf, &d->ext, &ce) != 0)
		memset(&d->ext, 0, sizeof(d->ext));

	/* Product: CPUID, else the certificate's productName or issuer. */
	prod = cpu;
	d->product_from = "cpuid";
	if (prod == SNP_PRODUCT_UNKNOWN) {
		prod = snp_product_from_name(d->ext.product_name,
		    strlen(d->ext.product_name));
		d->product_from = "certificate";
	}
	if (prod == SNP_PRODUCT_UNKNOWN) {
		prod = product_from_issuer(leaf);
		d->product_from = "issuer";
	}

	/* Intermediates and root: the request's, else store and KDS. */
	if ((pool = sk_X509_new_null()) == NULL ||
	    (crls = sk_X509_CRL_new_null()) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(d->cas); i++)
		if (pool_add(pool, sk_X509_value(d->cas, i)) != 0) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
	if (sk_X509_num(d->cas) == 0 && ctx->coll != NULL) {
		store_add_issuers(ctx->coll, leaf, pool);
		for (int p = 1; !pool_complete(pool, leaf) &&
		    p <= SNP_PRODUCT_COUNT; p++) {
			struct av_err ie = { 0 };

			if (prod != SNP_PRODUCT_UNKNOWN && p != (int)prod)
				continue;
			if (amd_kds_get_chain(ctx->coll, ctx->now,
			    (enum snp_product)p, vlek, &kds_chain, &ie) != 0)
				continue;
			for (int i = 0; i < sk_X509_num(kds_chain); i++)
				(void)pool_add(pool,
				    sk_X509_value(kds_chain, i));
			sk_X509_pop_free(kds_chain, X509_free);
			kds_chain = NULL;
		}
	}

	if (pool_issuer(pool, leaf) == NULL) {
		if (sk_X509_num(d->cas) > 0)
			AV_FAIL(e, AV_E_CHAIN, "sev-snp: the ASK/ASVK given did "
			    "not issue the VCEK/VLEK");
		else
			AV_FAIL(e, AV_E_COLLATERAL_MISSING, "sev-snp: no ASK/ASVK "
			    "for the VCEK/VLEK (not in the request, the "
			    "collateral store or AMD KDS)");
		goto out;
	}

	/* Chain to a pinned ARK (or an operator anchor) at ctx->now. */
	opts.platform = SNP_PLATFORM;
	opts.max_depth = 4;
	if (av_chain_verify(ctx->trust, leaf, pool, ctx->now, &opts, &chain,
	    e) != 0)
		goto out;
	chainp = chain_product(chain, d->ark_cn, sizeof(d->ark_cn), d->ask_cn,
	    sizeof(d->ask_cn));
	if (chainp != SNP_PRODUCT_UNKNOWN) {
		if (prod != SNP_PRODUCT_UNKNOWN && prod != chainp) {
			AV_FAIL(e, AV_E_CHAIN, "sev-snp: certificate chain is "
			    "rooted in another product's ARK");
			goto out;
		}
		if (prod == SNP_PRODUCT_UNKNOWN) {
			prod = chainp;
			d->product_from = "chain";
		}
	}
	d->product = prod;
	/* The AMD extensions of a certificate AMD signed. */
	if (snp_leaf_ext_parse(leaf, &d->ext, e) != 0)
		goto out;

	/* Revocation: AMD's CRL (signed by the ARK) when there is one. */
	gather_crls(d, ctx, pool, prod, vlek, crls, &kds_crl);
	if (check_crls(chain, crls, ctx->now, &applied, &ce) != 0) {
		if (ce.code == AV_E_CERT_REVOKED) {
			*e = ce;
			goto out;
		}
		if (crl_finding(pol, &ce, sm, e) != 0)
			goto out;
	} else if (!applied) {
		AV_FAIL(&ce, AV_E_COLLATERAL_MISSING,
		    "sev-snp: no AMD CRL available: revocation not checked");
		if (crl_finding(pol, &ce, sm, e) != 0)
			goto out;
	}
	d->crl_checked = applied;

	/* The report signature with the VCEK/VLEK key (once). */
	if (!sig_ok && report_sig_verify(rep, dgst, leaf, e) != 0)
		goto out;

	/* REPORTED_TCB is what the certificate certifies. */
	snp_tcb_decode(rep->reported_tcb, prod, &t);
	if (!ext_tcb_equal(&d->ext, &t, prod)) {
		AV_FAIL(e, AV_E_BINDING, "sev-snp: REPORTED_TCB differs from "
		    "the TCB certified by the VCEK/VLEK");
		goto out;
	}
	/*
	 * The certificate is of the kind SIGNER_INFO names, and from that
	 * hierarchy of AMD's: VLEKs under an ASVK, VCEKs under an ASK.
	 */
	if ((lk == SNP_CERT_VCEK && vlek) || (lk == SNP_CERT_VLEK && !vlek) ||
	    (vlek && d->ext.hwid_len != 0) ||
	    (!vlek && d->ext.csp_id[0] != '\0') ||
	    (chainp != SNP_PRODUCT_UNKNOWN &&
	    (strncmp(d->ask_cn, "SEV-VLEK-", 9) == 0) != vlek)) {
		AV_FAIL(e, AV_E_BINDING, "sev-snp: certificate kind differs "
		    "from the report's SIGNING_KEY (VCEK/VLEK)");
		goto out;
	}
	/* CHIP_ID is the VCEK's hwID (unless the guest masked it). */
	if (!vlek && !(rep->signer_info & SNP_SI_MASK_CHIP_KEY) &&
	    (d->ext.hwid_len == 0 ||
	    memcmp(d->ext.hwid, rep->chip_id, d->ext.hwid_len) != 0)) {
		AV_FAIL(e, AV_E_BINDING,
		    "sev-snp: CHIP_ID differs from the VCEK hwID");
		goto out;
	}
	if (d->hcl && check_hcl(d, e) != 0)
		goto out;

	X509_free(d->vleaf);
	d->vleaf = leaf;
	leaf = NULL;
	d->verified = true;
	av_submod_tv(sm, AV_TV_INSTANCE, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_HARDWARE, AV_AR_AFFIRM);
	av_submod_tv(sm, AV_TV_RUNTIME_OPAQUE, AV_AR_ISOLATED_MEMORY);
	check_binding(d, ctx, pol, sm);
	rc = 0;
 out:
	X509_free(leaf);
	X509_CRL_free(kds_crl);
	sk_X509_CRL_free(crls);
	sk_X509_pop_free(pool, X509_free);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(kds_chain, X509_free);
	return rc;
}

/* ---- claims ----------------------------------------------------------- */

static json_t *
u64_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

/* TCB_VERSION: raw (16 hex digits of the u64) and components. */
static json_t *
tcb_json(uint64_t raw, enum snp_product p)
{
	struct snp_tcb	 t;
	char		 buf[20];
	json_t		*o;

	snp_tcb_decode(raw, p, &t);
	snprintf(buf, sizeof(buf), "%016" PRIx64, raw);
	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "raw", json_string(buf));
	if (p == SNP_PRODUCT_TURIN)
		json_object_set_new(o, "fmc", json_integer(t.fmc));
	json_object_set_new(o, "bootloader", json_integer(t.bootloader));
	json_object_set_new(o, "tee", json_integer(t.tee));
	json_object_set_new(o, "snp", json_integer(t.snp));
	json_object_set_new(o, "microcode", json_integer(t.microcode));
	return o;
}

static json_t *
guest_policy_json(uint64_t p)
{
	return json_pack("{s:o s:i s:i s:b s:b s:b s:b s:b s:b s:b s:b s:b}",
	    "raw", u64_hex(p),
	    "abi_major", (int)SNP_POL_ABI_MAJOR(p),
	    "abi_minor", (int)SNP_POL_ABI_MINOR(p),
	    "smt", (p & SNP_POL_SMT) != 0,
	    "migrate_ma", (p & SNP_POL_MIGRATE_MA) != 0,
	    "debug", (p & SNP_POL_DEBUG) != 0,
	    "single_socket", (p & SNP_POL_SINGLE_SOCKET) != 0,
	    "cxl_allow", (p & SNP_POL_CXL_ALLOW) != 0,
	    "mem_aes_256_xts", (p & SNP_POL_MEM_AES_256_XTS) != 0,
	    "rapl_dis", (p & SNP_POL_RAPL_DIS) != 0,
	    "ciphertext_hiding", (p & SNP_POL_CIPHERTEXT_HIDING) != 0,
	    "page_swap_disable", (p & SNP_POL_PAGE_SWAP_DISABLE) != 0);
}

static json_t *
platform_info_json(uint64_t p)
{
	return json_pack("{s:o s:b s:b s:b s:b s:b s:b}",
	    "raw", u64_hex(p),
	    "smt_enabled", (p & SNP_PI_SMT_EN) != 0,
	    "tsme_enabled", (p & SNP_PI_TSME_EN) != 0,
	    "ecc_enabled", (p & SNP_PI_ECC_EN) != 0,
	    "rapl_disabled", (p & SNP_PI_RAPL_DIS) != 0,
	    "ciphertext_hiding_enabled",
	    (p & SNP_PI_CIPHERTEXT_HIDING_EN) != 0,
	    "alias_check_complete", (p & SNP_PI_ALIAS_CHECK_COMPLETE) != 0);
}

static const char *
signer_name(unsigned k)
{
	switch (k) {
	case SNP_SIGNING_KEY_VCEK:
		return "vcek";
	case SNP_SIGNING_KEY_VLEK:
		return "vlek";
	case SNP_SIGNING_KEY_NONE:
		return "none";
	default:
		return "reserved";
	}
}

static json_t *
version_json(uint8_t major, uint8_t minor, uint8_t build)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u.%u.%u", major, minor, build);
	return json_string(buf);
}

static json_t *
leaf_json(const struct snp_ev *d)
{
	uint8_t	 sha[32];
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (av_x509_sha256(d->vleaf, sha) == 0)
		json_object_set_new(o, "sha256", av_json_hex(sha, 32));
	json_object_set_new(o, "source", json_string(d->leaf_source));
	json_object_set_new(o, "not_before",
	    av_json_asn1_time(X509_get0_notBefore(d->vleaf)));
	json_object_set_new(o, "not_after",
	    av_json_asn1_time(X509_get0_notAfter(d->vleaf)));
	json_object_set_new(o, "product_name", d->ext.product_name[0] != '\0' ?
	    json_string(d->ext.product_name) : json_null());
	if (d->ext.has_struct_version)
		json_object_set_new(o, "struct_version",
		    json_integer(d->ext.struct_version));
	json_object_set_new(o, "hwid", d->ext.hwid_len > 0 ?
	    av_json_hex(d->ext.hwid, d->ext.hwid_len) : json_null());
	json_object_set_new(o, "csp_id", d->ext.csp_id[0] != '\0' ?
	    json_string(d->ext.csp_id) : json_null());
	json_object_set_new(o, "ark", json_string(d->ark_cn));
	json_object_set_new(o, "ask", json_string(d->ask_cn));
	return o;
}

/* Every report field, decoded per product, plus what verify learnt. */
static int
snp_claims(const void *parsed, json_t **out, struct av_err *e)
{
	const struct snp_ev	*d = parsed;
	const struct snp_report	*r = &d->rep;
	enum snp_product	 p = d->product;
	json_t			*o;

	if ((o = json_object()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	json_object_set_new(o, "policy", guest_policy_json(r->policy));
	json_object_set_new(o, "debug",
	    json_boolean((r->policy & SNP_POL_DEBUG) != 0));
	json_object_set_new(o, "family_id", av_json_hex(r->family_id, 16));
	json_object_set_new(o, "image_id", av_json_hex(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "signature_algo", json_integer(r->sig_algo));
	json_object_set_new(o, "current_tcb", tcb_json(r->current_tcb, p));
	json_object_set_new(o, "platform_info",
	    platform_info_json(r->platform_info));
	json_object_set_new(o, "signer_info", json_pack("{s:i s:b s:b s:s}",
	    "raw", (int)r->signer_info,
	    "author_key_en", (r->signer_info & SNP_SI_AUTHOR_KEY_EN) != 0,
	    "mask_chip_key", (r->signer_info & SNP_SI_MASK_CHIP_KEY) != 0,
	    "signing_key", signer_name(SNP_SI_SIGNING_KEY(r->signer_info))));
	json_object_set_new(o, "report_data", av_json_hex(r->report_data, 64));
	json_object_set_new(o, "measurement", av_json_hex(r->measurement, 48));
	json_object_set_new(o, "host_data", av_json_hex(r->host_data, 32));
	json_object_set_new(o, "id_key_digest",
	    av_json_hex(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest",
	    av_json_hex(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", av_json_hex(r->report_id, 32));
	json_object_set_new(o, "report_id_ma", av_json_hex(r->report_id_ma, 32));
	json_object_set_new(o, "reported_tcb", tcb_json(r->reported_tcb, p));
	if (r->version >= 3)
		json_object_set_new(o, "cpuid", json_pack("{s:i s:i s:i}",
		    "family", r->cpuid_fam, "model", r->cpuid_mod,
		    "stepping", r->cpuid_step));
	json_object_set_new(o, "chip_id", av_json_hex(r->chip_id, 64));
	json_object_set_new(o, "committed_tcb", tcb_json(r->committed_tcb, p));
	json_object_set_new(o, "current_version", version_json(
	    r->current_major, r->current_minor, r->current_build));
	json_object_set_new(o, "committed_version", version_json(
	    r->committed_major, r->committed_minor, r->committed_build));
	json_object_set_new(o, "launch_tcb", tcb_json(r->launch_tcb, p));
	if (r->version >= 5) {
		json_object_set_new(o, "launch_mit_vector",
		    u64_hex(r->launch_mit_vector));
		json_object_set_new(o, "current_mit_vector",
		    u64_hex(r->current_mit_vector));
	}
	json_object_set_new(o, "product", json_string(snp_product_name(p)));
	if (d->verified) {
		json_object_set_new(o, "product_source",
		    json_string(d->product_from));
		json_object_set_new(o, "signer",
		    json_string(signer_name(d->signer)));
		json_object_set_new(o, "certificate", leaf_json(d));
		json_object_set_new(o, "crl_checked",
		    json_boolean(d->crl_checked));
		json_object_set_new(o, "report_data_binding", d->binding != NULL ?
		    json_string(d->binding) : json_null());
	}
	if (d->hcl)
		json_object_set_new(o, "hcl", json_pack("{s:i s:i}",
		    "hash_type", (int)d->hcl_hash_type,
		    "runtime_data_len", (int)d->hcl_var_len));
	*out = o;
	return 0;
}

/* ---- policy ----------------------------------------------------------- */

static void
snp_policy_free(void *policy)
{
	struct snp_policy *p = policy;

	if (p == NULL)
		return;
	av_hexlist_cleanup(&p->measurement);
	av_hexlist_cleanup(&p->host_data);
	av_hexlist_cleanup(&p->id_key_digest);
	av_hexlist_cleanup(&p->author_key_digest);
	av_hexlist_cleanup(&p->family_id);
	av_hexlist_cleanup(&p->image_id);
	free(p);
}

/* path + "." + key into buf, truncated when too long. */
static void
subpath(char *buf, size_t len, const char *path, const char *key)
{
	int n = snprintf(buf, len, "%s.%s", path, key);

	if (n < 0 || (size_t)n >= len)
		buf[len - 1] = '\0';
}

/* "a.b" or "a.b.c" of numbers 0..255 into v[0..n). */
static int
parse_dotted(const json_t *j, const char *path, uint8_t *v, size_t n,
    struct av_policy_err *perr)
{
	const char	*s;
	char		*end;
	unsigned long	 x;

	if (!json_is_string(j))
		return av_policy_errf(perr, path, "expected a version string");
	s = json_string_value(j);
	for (size_t i = 0; i < n; i++) {
		if (*s < '0' || *s > '9')
			goto bad;
		x = strtoul(s, &end, 10);
		if (x > 255 || end - s > 3)
			goto bad;
		v[i] = (uint8_t)x;
		s = end;
		if (i + 1 < n && *s++ != '.')
			goto bad;
	}
	if (*s == '\0')
		return 0;
 bad:
	return av_policy_errf(perr, path, n == 3 ?
	    "expected \"MAJOR.MINOR.BUILD\" of numbers 0-255" :
	    "expected \"MAJOR.MINOR\" of numbers 0-255");
}

static int
compile_min_tcb_one(const json_t *o, const char *path, struct snp_min_tcb *m,
    struct av_policy_err *perr)
{
	char		 sub[256];
	const char	*k;
	json_t		*v;
	uint64_t	 x;

	if (av_pol_keys(o, path, tcb_names, perr) != 0)
		return -1;
	if (json_object_size(o) == 0)
		return av_policy_errf(perr, path, "empty TCB minimum");
	json_object_foreach((json_t *)o, k, v) {
		for (int c = 0; c < TCB_N; c++) {
			if (strcmp(k, tcb_names[c]) != 0)
				continue;
			subpath(sub, sizeof(sub), path, k);
			if (av_pol_uint(v, sub, 255, &x, perr) != 0)
				return -1;
			m->has[c] = true;
			m->v[c] = (uint8_t)x;
		}
	}
	return 0;
}

/* {"bootloader": n, ...} or {"Milan": {...}, "Genoa": {...}, ...}. */
static int
compile_tcb_rule(const json_t *o, const char *path, struct snp_tcb_rule *r,
    struct av_policy_err *perr)
{
	static const char *const prods[] = { "Milan", "Genoa", "Turin", NULL };
	char		 sub[256];
	const char	*k;
	json_t		*v;
	bool		 per = false;

	if (!json_is_object(o))
		return av_policy_errf(perr, path, "expected an object");
	json_object_foreach((json_t *)o, k, v)
		if (snp_product_from_name(k, strlen(k)) != SNP_PRODUCT_UNKNOWN &&
		    strchr(k, '-') == NULL)
			per = true;
	r->set = true;
	if (!per)
		return compile_min_tcb_one(o, path, &r->any, perr);
	if (av_pol_keys(o, path, prods, perr) != 0)
		return -1;
	json_object_foreach((json_t *)o, k, v) {
		enum snp_product p = snp_product_from_name(k, strlen(k));

		subpath(sub, sizeof(sub), path, k);
		if (compile_min_tcb_one(v, sub, &r->per[p], perr) != 0)
			return -1;
		r->per_set[p] = true;
	}
	return 0;
}

static const char *const gp_keys[] = {
	"debug", "migrate_ma", "smt", "cxl_allow", "single_socket",
	"mem_aes_256_xts", "rapl_dis", "ciphertext_hiding",
	"page_swap_disable", "min_abi", NULL
};
static const char *const pi_keys[] = {
	"smt", "tsme", "ecc", "rapl_disabled", "ciphertext_hiding",
	"alias_check_complete", NULL
};

/* "allow" bits: true allows, false forbids (-1: no rule). */
static int
tri_bool(const json_t *o, const char *key, const char *path, int *out,
    struct av_policy_err *perr)
{
	const json_t	*v = json_object_get(o, key);
	char		 sub[256];
	bool		 b;

	*out = -1;
	if (v == NULL)
		return 0;
	subpath(sub, sizeof(sub), path, key);
	if (av_pol_bool(v, sub, &b, perr) != 0)
		return -1;
	*out = b;
	return 0;
}

/* "require" bits: true requires the bit, false states no requirement. */
static int
req_bit(const json_t *o, const char *key, const char *path, uint64_t bit,
    uint64_t *mask, struct av_policy_err *perr)
{
	const json_t	*v = json_object_get(o, key);
	char		 sub[256];
	bool		 b;

	if (v == NULL)
		return 0;
	subpath(sub, sizeof(sub), path, key);
	if (av_pol_bool(v, sub, &b, perr) != 0)
		return -1;
	if (b)
		*mask |= bit;
	return 0;
}

static int
compile_guest_policy(const json_t *o, const char *path, struct snp_policy *p,
    struct av_policy_err *perr)
{
	const json_t	*v;
	char		 sub[256];
	int		 dbg;
	uint8_t		 abi[2];

	if (av_pol_keys(o, path, gp_keys, perr) != 0 ||
	    tri_bool(o, "debug", path, &dbg, perr) != 0 ||
	    tri_bool(o, "migrate_ma", path, &p->allow_migrate_ma, perr) != 0 ||
	    tri_bool(o, "smt", path, &p->allow_smt, perr) != 0 ||
	    tri_bool(o, "cxl_allow", path, &p->allow_cxl, perr) != 0 ||
	    req_bit(o, "single_socket", path, SNP_POL_SINGLE_SOCKET,
	    &p->require_bits, perr) != 0 ||
	    req_bit(o, "mem_aes_256_xts", path, SNP_POL_MEM_AES_256_XTS,
	    &p->require_bits, perr) != 0 ||
	    req_bit(o, "rapl_dis", path, SNP_POL_RAPL_DIS, &p->require_bits,
	    perr) != 0 ||
	    req_bit(o, "ciphertext_hiding", path, SNP_POL_CIPHERTEXT_HIDING,
	    &p->require_bits, perr) != 0 ||
	    req_bit(o, "page_swap_disable", path, SNP_POL_PAGE_SWAP_DISABLE,
	    &p->require_bits, perr) != 0)
		return -1;
	p->allow_debug = dbg == 1;
	if ((v = json_object_get(o, "min_abi")) != NULL) {
		subpath(sub, sizeof(sub), path, "min_abi");
		if (parse_dotted(v, sub, abi, 2, perr) != 0)
			return -1;
		p->has_min_abi = true;
		p->min_abi_major = abi[0];
		p->min_abi_minor = abi[1];
	}
	return 0;
}

static int
compile_platform_info(const json_t *o, const char *path,
    struct snp_policy *p, struct av_policy_err *perr)
{
	if (av_pol_keys(o, path, pi_keys, perr) != 0 ||
	    tri_bool(o, "smt", path, &p->pi_allow_smt, perr) != 0 ||
	    req_bit(o, "tsme", path, SNP_PI_TSME_EN, &p->pi_require_bits,
	    perr) != 0 ||
	    req_bit(o, "ecc", path, SNP_PI_ECC_EN, &p->pi_require_bits,
	    perr) != 0 ||
	    req_bit(o, "rapl_disabled", path, SNP_PI_RAPL_DIS,
	    &p->pi_require_bits, perr) != 0 ||
	    req_bit(o, "ciphertext_hiding", path, SNP_PI_CIPHERTEXT_HIDING_EN,
	    &p->pi_require_bits, perr) != 0 ||
	    req_bit(o, "alias_check_complete", path,
	    SNP_PI_ALIAS_CHECK_COMPLETE, &p->pi_require_bits, perr) != 0)
		return -1;
	return 0;
}

/* A string or an array of strings, each one of names[]: bit mask. */
static int
compile_names(const json_t *v, const char *path, const char *const names[],
    unsigned *mask, struct av_policy_err *perr)
{
	char	sub[256];
	size_t	n = json_is_array(v) ? json_array_size(v) : 1;

	if (!json_is_array(v) && !json_is_string(v))
		return av_policy_errf(perr, path,
		    "expected a string or an array of strings");
	if (n == 0)
		return av_policy_errf(perr, path,
		    "empty list: nothing would be allowed");
	for (size_t i = 0; i < n; i++) {
		const json_t	*s = json_is_array(v) ? json_array_get(v, i) : v;
		unsigned	 k;

		snprintf(sub, sizeof(sub), json_is_array(v) ? "%s[%zu]" : "%s",
		    path, i);
		if (!json_is_string(s))
			return av_policy_errf(perr, sub, "expected a string");
		for (k = 0; names[k] != NULL; k++)
			if (names[k][0] != '\0' &&
			    strcmp(names[k], json_string_value(s)) == 0)
				break;
		if (names[k] == NULL)
			return av_policy_errf(perr, sub, "unknown value \"%s\"",
			    json_string_value(s));
		if (*mask & (1u << k))
			return av_policy_errf(perr, sub, "duplicate value");
		*mask |= 1u << k;
	}
	return 0;
}

static const char *const snp_policy_keys[] = {
	"measurement", "host_data", "id_key_digest", "author_key_digest",
	"family_id", "image_id", "min_guest_svn", "min_report_version",
	"min_firmware", "guest_policy", "vmpl", "min_tcb",
	"min_committed_tcb", "min_launch_tcb", "min_current_tcb",
	"platform_info", "products", "signers", "report_data", "crl", NULL
};

/*
 * Compile the "sev-snp" policy section (docs/platforms/sev-snp.md).
 * Returns 0 and *out (snp_policy_free), or -1 with perr set.
 */
static int
snp_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	/* bit positions: product enum values; SIGNING_KEY values */
	static const char *const prods[] = { "", "Milan", "Genoa", "Turin",
	    NULL };
	static const char *const signers[] = { "vcek", "vlek", NULL };
	static const struct {
		const char	*key;
		size_t		 len;
		size_t		 off;
	} lists[] = {
		{ "measurement", 48, offsetof(struct snp_policy, measurement) },
		{ "host_data", 32, offsetof(struct snp_policy, host_data) },
		{ "id_key_digest", 48,
		    offsetof(struct snp_policy, id_key_digest) },
		{ "author_key_digest", 48,
		    offsetof(struct snp_policy, author_key_digest) },
		{ "family_id", 16, offsetof(struct snp_policy, family_id) },
		{ "image_id", 16, offsetof(struct snp_policy, image_id) },
	};
	struct snp_policy	*p;
	const json_t		*v;
	char			 sub[256];
	uint64_t		 x;

	if (av_pol_keys(sec, path, snp_policy_keys, perr) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return av_policy_errf(perr, path, "out of memory");
	p->allow_migrate_ma = p->allow_smt = p->allow_cxl = -1;
	p->pi_allow_smt = -1;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if ((v = json_object_get(sec, lists[i].key)) == NULL)
			continue;
		subpath(sub, sizeof(sub), path, lists[i].key);
		if (av_pol_hexlist(v, sub, lists[i].len,
		    (struct av_hexlist *)((char *)p + lists[i].off), perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "min_guest_svn")) != NULL) {
		subpath(sub, sizeof(sub), path, "min_guest_svn");
		if (av_pol_uint(v, sub, UINT32_MAX, &x, perr) != 0)
			goto bad;
		p->has_min_guest_svn = true;
		p->min_guest_svn = (uint32_t)x;
	}
	if ((v = json_object_get(sec, "min_report_version")) != NULL) {
		subpath(sub, sizeof(sub), path, "min_report_version");
		if (av_pol_uint(v, sub, SNP_VERSION_MAX, &x, perr) != 0)
			goto bad;
		p->has_min_version = true;
		p->min_report_version = (uint32_t)x;
	}
	if ((v = json_object_get(sec, "min_firmware")) != NULL) {
		subpath(sub, sizeof(sub), path, "min_firmware");
		if (parse_dotted(v, sub, p->min_fw, 3, perr) != 0)
			goto bad;
		p->has_min_fw = true;
	}
	if ((v = json_object_get(sec, "guest_policy")) != NULL) {
		subpath(sub, sizeof(sub), path, "guest_policy");
		if (compile_guest_policy(v, sub, p, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "platform_info")) != NULL) {
		subpath(sub, sizeof(sub), path, "platform_info");
		if (compile_platform_info(v, sub, p, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "vmpl")) != NULL) {
		size_t n = json_is_array(v) ? json_array_size(v) : 1;

		subpath(sub, sizeof(sub), path, "vmpl");
		if (n == 0) {
			av_policy_errf(perr, sub,
			    "empty list: no VMPL would be allowed");
			goto bad;
		}
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_is_array(v) ?
			    json_array_get(v, i) : v;

			if (json_is_array(v))
				snprintf(sub, sizeof(sub), "%s.vmpl[%zu]",
				    path, i);
			if (av_pol_uint(e, sub, 3, &x, perr) != 0)
				goto bad;
			p->vmpl_mask |= 1u << x;
		}
	}
	{
		static const struct {
			const char	*key;
			size_t		 off;
		} tcbs[] = {
			{ "min_tcb", offsetof(struct snp_policy, tcb_reported) },
			{ "min_committed_tcb",
			    offsetof(struct snp_policy, tcb_committed) },
			{ "min_launch_tcb",
			    offsetof(struct snp_policy, tcb_launch) },
			{ "min_current_tcb",
			    offsetof(struct snp_policy, tcb_current) },
		};

		for (size_t i = 0; i < sizeof(tcbs) / sizeof(tcbs[0]); i++) {
			if ((v = json_object_get(sec, tcbs[i].key)) == NULL)
				continue;
			subpath(sub, sizeof(sub), path, tcbs[i].key);
			if (compile_tcb_rule(v, sub, (struct snp_tcb_rule *)
			    ((char *)p + tcbs[i].off), perr) != 0)
				goto bad;
		}
	}
	if ((v = json_object_get(sec, "products")) != NULL) {
		subpath(sub, sizeof(sub), path, "products");
		if (compile_names(v, sub, prods, &p->products, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "signers")) != NULL) {
		subpath(sub, sizeof(sub), path, "signers");
		if (compile_names(v, sub, signers, &p->signers, perr) != 0)
			goto bad;
	}
	if ((v = json_object_get(sec, "report_data")) != NULL) {
		subpath(sub, sizeof(sub), path, "report_data");
		if (json_is_string(v) && strcmp(json_string_value(v),
		    "sha512(nonce||runtime_data)") == 0)
			p->bind = SNP_BIND_SHA512;
		else if (json_is_string(v) &&
		    strcmp(json_string_value(v), "nonce") == 0)
			p->bind = SNP_BIND_NONCE;
		else {
			av_policy_errf(perr, sub, "expected "
			    "\"sha512(nonce||runtime_data)\" or \"nonce\"");
			goto bad;
		}
	}
	if ((v = json_object_get(sec, "crl")) != NULL) {
		subpath(sub, sizeof(sub), path, "crl");
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), "required") == 0)
			p->crl = SNP_CRL_REQUIRED;
		else if (json_is_string(v) &&
		    strcmp(json_string_value(v), "optional") == 0)
			p->crl = SNP_CRL_OPTIONAL;
		else {
			av_policy_errf(perr, sub,
			    "expected \"required\" or \"optional\"");
			goto bad;
		}
	}
	*out = p;
	return 0;
 bad:
	snp_policy_free(p);
	return -1;
}

/* ---- appraisal -------------------------------------------------------- */

static void
check_list(struct av_submod *sm, const struct av_hexlist *l,
    const char *claim, const uint8_t *v, size_t n, bool *ok)
{
	if (l->n == 0 || av_hexlist_contains(l, v, n))
		return;
	av_submod_reason(sm, AV_E_MEASUREMENT, AV_STATUS_CONTRAINDICATED,
	    claim, av_hexlist_json(l), av_json_hex(v, n),
	    "sev-snp: value not in the policy");
	*ok = false;
}

/* One TCB against its minimum (components of product p only). */
static bool
check_tcb(struct av_submod *sm, const struct snp_tcb_rule *r,
    const char *which, uint64_t raw, enum snp_product p)
{
	const struct snp_min_tcb	*m;
	struct snp_tcb			 t;
	uint8_t				 have[TCB_N];
	char				 claim[64];
	bool				 ok = true;

	if (!r->set)
		return true;
	m = (p != SNP_PRODUCT_UNKNOWN && r->per_set[p]) ? &r->per[p] : &r->any;
	snp_tcb_decode(raw, p, &t);
	have[TCB_FMC] = t.fmc;
	have[TCB_BL] = t.bootloader;
	have[TCB_TEE] = t.tee;
	have[TCB_SNP] = t.snp;
	have[TCB_UCODE] = t.microcode;
	for (int c = 0; c < TCB_N; c++) {
		if (!m->has[c] || (c == TCB_FMC && p != SNP_PRODUCT_TURIN))
			continue;
		if (have[c] >= m->v[c])
			continue;
		snprintf(claim, sizeof(claim), "%s.%s", which, tcb_names[c]);
		av_submod_reason(sm, AV_E_TCB_BELOW, AV_STATUS_CONTRAINDICATED,
		    claim, json_integer(m->v[c]), json_integer(have[c]),
		    "sev-snp: TCB component below the policy minimum");
		ok = false;
	}
	return ok;
}

static void
violation(struct av_submod *sm, const char *claim, json_t *expected,
    json_t *actual, const char *why)
{
	av_submod_reason(sm, AV_E_POLICY_VIOLATION, AV_STATUS_CONTRAINDICATED,
	    claim, expected, actual, why);
}

static bool
check_allow(struct av_submod *sm, int allow, uint64_t v, uint64_t bit,
    const char *claim)
{
	if (allow != 0 || (v & bit) == 0)
		return true;
	violation(sm, claim, json_false(), json_true(),
	    "sev-snp: setting not allowed by the policy");
	return false;
}

static bool
check_require(struct av_submod *sm, uint64_t req, uint64_t v,
    const char *prefix)
{
	static const struct {
		uint64_t	 bit;
		const char	*name;
	} bits[] = {
		{ SNP_POL_SINGLE_SOCKET, "single_socket" },
		{ SNP_POL_MEM_AES_256_XTS, "mem_aes_256_xts" },
		{ SNP_POL_RAPL_DIS, "rapl_dis" },
		{ SNP_POL_CIPHERTEXT_HIDING, "ciphertext_hiding" },
		{ SNP_POL_PAGE_SWAP_DISABLE, "page_swap_disable" },
	}, pibits[] = {
		{ SNP_PI_TSME_EN, "tsme_enabled" },
		{ SNP_PI_ECC_EN, "ecc_enabled" },
		{ SNP_PI_RAPL_DIS, "rapl_disabled" },
		{ SNP_PI_CIPHERTEXT_HIDING_EN, "ciphertext_hiding_enabled" },
		{ SNP_PI_ALIAS_CHECK_COMPLETE, "alias_check_complete" },
	};
	bool	pi = strcmp(prefix, "platform_info") == 0;
	size_t	n = pi ? sizeof(pibits) / sizeof(pibits[0]) :
		    sizeof(bits) / sizeof(bits[0]);
	char	claim[64];
	bool	ok = true;

	for (size_t i = 0; i < n; i++) {
		uint64_t	 b = pi ? pibits[i].bit : bits[i].bit;
		const char	*nm = pi ? pibits[i].name : bits[i].name;

		if ((req & b) == 0 || (v & b) != 0)
			continue;
		snprintf(claim, sizeof(claim), "%s.%s", prefix, nm);
		violation(sm, claim, json_true(), json_false(),
		    "sev-snp: setting required by the policy is off");
		ok = false;
	}
	return ok;
}

/*
 * Compare the verified report with the compiled "sev-snp" section:
 * reference values, guest policy, VMPL, TCB minimums, platform info,
 * products and signers.
 */
static void
snp_appraise(const void *parsed, const void *policy,
    const struct av_ctx *ctx, struct av_submod *sm)
{
	const struct snp_ev	*d = parsed;
	const struct snp_policy	*p = policy;
	const struct snp_report	*r = &d->rep;
	bool			 meas = true, cfg = true, hw = true;
	bool			 any_meas;

	(void)ctx;
	check_list(sm, &p->measurement, "measurement", r->measurement, 48,
	    &meas);
	check_list(sm, &p->host_data, "host_data", r->host_data, 32, &meas);
	check_list(sm, &p->id_key_digest, "id_key_digest", r->id_key_digest,
	    48, &meas);
	check_list(sm, &p->author_key_digest, "author_key_digest",
	    r->author_key_digest, 48, &meas);
	check_list(sm, &p->family_id, "family_id", r->family_id, 16, &meas);
	check_list(sm, &p->image_id, "image_id", r->image_id, 16, &meas);
	any_meas = p->measurement.n + p->host_data.n + p->id_key_digest.n +
	    p->author_key_digest.n + p->family_id.n + p->image_id.n > 0;
	if (meas && any_meas)
		av_submod_tv(sm, AV_TV_EXECUTABLES, AV_AR_AFFIRM);

	if (p->has_min_guest_svn && r->guest_svn < p->min_guest_svn) {
		av_submod_reason(sm, AV_E_VERSION_BELOW,
		    AV_STATUS_CONTRAINDICATED, "guest_svn",
		    json_integer(p->min_guest_svn), json_integer(r->guest_svn),
		    "sev-snp: guest SVN below the policy minimum");
		meas = false;
	}
	if (p->has_min_version && r->version < p->min_report_version)
		av_submod_reason(sm, AV_E_VERSION_BELOW,
		    AV_STATUS_CONTRAINDICATED, "version",
		    json_integer(p->min_report_version),
		    json_integer(r->version),
		    "sev-snp: report version below the policy minimum");
	if (p->has_min_fw) {
		uint32_t have = (uint32_t)r->current_major << 16 |
		    (uint32_t)r->current_minor << 8 | r->current_build;
		uint32_t want = (uint32_t)p->min_fw[0] << 16 |
		    (uint32_t)p->min_fw[1] << 8 | p->min_fw[2];

		if (have < want) {
			av_submod_reason(sm, AV_E_VERSION_BELOW,
			    AV_STATUS_CONTRAINDICATED, "current_version",
			    version_json(p->min_fw[0], p->min_fw[1],
			    p->min_fw[2]), version_json(r->current_major,
			    r->current_minor, r->current_build),
			    "sev-snp: firmware below the policy minimum");
			hw = false;
		}
	}

	/* Guest policy: debug must be off unless the policy allows it. */
	if ((r->policy & SNP_POL_DEBUG) && !p->allow_debug) {
		av_submod_reason(sm, AV_E_DEBUG, AV_STATUS_CONTRAINDICATED,
		    "policy.debug", json_false(), json_true(),
		    "sev-snp: guest policy allows debugging and the policy "
		    "does not");
		cfg = false;
	}
	cfg &= check_allow(sm, p->allow_migrate_ma, r->policy,
	    SNP_POL_MIGRATE_MA, "policy.migrate_ma");
	cfg &= check_allow(sm, p->allow_smt, r->policy, SNP_POL_SMT,
	    "policy.smt");
	cfg &= check_allow(sm, p->allow_cxl, r->policy, SNP_POL_CXL_ALLOW,
	    "policy.cxl_allow");
	cfg &= check_require(sm, p->require_bits, r->policy, "policy");
	if (p->has_min_abi && (SNP_POL_ABI_MAJOR(r->policy) < p->min_abi_major ||
	    (SNP_POL_ABI_MAJOR(r->policy) == p->min_abi_major &&
	    SNP_POL_ABI_MINOR(r->policy) < p->min_abi_minor))) {
		char want[16], have[16];

		snprintf(want, sizeof(want), "%u.%u", p->min_abi_major,
		    p->min_abi_minor);
		snprintf(have, sizeof(have), "%u.%u",
		    SNP_POL_ABI_MAJOR(r->policy), SNP_POL_ABI_MINOR(r->policy));
		violation(sm, "policy.abi", json_string(want),
		    json_string(have),
		    "sev-snp: guest policy ABI below the policy minimum");
		cfg = false;
	}
	if (p->vmpl_mask != 0 && (r->vmpl > 3 ||
	    !(p->vmpl_mask & (1u << r->vmpl)))) {
		violation(sm, "vmpl", NULL, json_integer(r->vmpl),
		    "sev-snp: VMPL not allowed by the policy");
		cfg = false;
	}
	cfg &= check_allow(sm, p->pi_allow_smt, r->platform_info,
	    SNP_PI_SMT_EN, "platform_info.smt_enabled");
	cfg &= check_require(sm, p->pi_require_bits, r->platform_info,
	    "platform_info");

	/* TCB minimums, decoded for the product. */
	hw &= check_tcb(sm, &p->tcb_reported, "reported_tcb", r->reported_tcb,
	    d->product);
	hw &= check_tcb(sm, &p->tcb_committed, "committed_tcb",
	    r->committed_tcb, d->product);
	hw &= check_tcb(sm, &p->tcb_launch, "launch_tcb", r->launch_tcb,
	    d->product);
	hw &= check_tcb(sm, &p->tcb_current, "current_tcb", r->current_tcb,
	    d->product);
	if (p->products != 0 && !(p->products & (1u << d->product))) {
		violation(sm, "product", NULL,
		    json_string(snp_product_name(d->product)),
		    "sev-snp: product not allowed by the policy");
		hw = false;
	}
	if (p->signers != 0 && (d->signer > SNP_SIGNING_KEY_VLEK ||
	    !(p->signers & (1u << d->signer)))) {
		violation(sm, "signer", NULL,
		    json_string(signer_name(d->signer)),
		    "sev-snp: signing key type not allowed by the policy");
		hw = false;
	}
	if (cfg)
		av_submod_tv(sm, AV_TV_CONFIG, AV_AR_AFFIRM);
	if (hw && meas)
		av_submod_tv(sm, AV_TV_HARDWARE, AV_AR_AFFIRM);
}

/*
 * AMD SEV-SNP attestation reports (VCEK or VLEK signed), type "sev-snp".
 */
const struct av_backend av_backend_snp = {
	.name = "sev-snp",
	.media_type = "application/vnd.attestd.sev-snp",
	.detect = snp_detect,
	.parse = snp_parse,
	.verify = snp_verify,
	.claims = snp_claims,
	.policy_compile = snp_policy_compile,
	.policy_free = snp_policy_free,
	.appraise = snp_appraise,
	.free = snp_free,
};
