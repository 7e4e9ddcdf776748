/*
 * attestd - AMD SEV-SNP certificates: the extended-report certificate
 * table (GHCB spec s.4.1.8.1) and the VCEK/VLEK extensions (VCEK
 * Certificate and KDS Interface Specification, AMD 57230, s.3).
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "av/reader.h"
#include "evidence/sev_snp.h"

/* GUIDs in RFC 4122 byte order (as uuid_parse() writes them). */
static const struct {
	enum snp_cert_kind	kind;
	uint8_t			guid[16];
} cert_guids[] = {
	/* c0b406a4-a803-4952-9743-3fb6014cd0ae */
	{ SNP_CERT_ARK, { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	    0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae } },
	/* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
	{ SNP_CERT_ASK, { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	    0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 } },
	/* 63da758d-e664-4564-adc5-f4b93be8accd */
	{ SNP_CERT_VCEK, { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd } },
	/* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
	{ SNP_CERT_VLEK, { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	    0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 } },
	/* 92f81bc3-5811-4d3d-97ff-d19f88dc67ea */
	{ SNP_CERT_CRL, { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
	    0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea } },
};

#define CERT_ENTRY_LEN	24

static enum snp_cert_kind
guid_kind(const uint8_t g[16])
{
	for (size_t i = 0; i < sizeof(cert_guids) / sizeof(cert_guids[0]); i++)
		if (memcmp(cert_guids[i].guid, g, 16) == 0)
			return cert_guids[i].kind;
	return SNP_CERT_OTHER;
}

/*
 * Parse an SNP certificate table (GHCB spec s.4.1.8.1).  Views borrow
 * from p.  Returns 0, or -1 with e (AV_E_MALFORMED).
 */
int
snp_cert_table_parse(const uint8_t *p, size_t n,
    struct snp_cert_entry out[SNP_CERT_TABLE_MAX], size_t *nout,
    struct av_err *e)
{
	static const uint8_t	 zero[16];
	struct av_reader	 r, ent;
	const uint8_t		*guid;
	uint32_t		 off, len;
	size_t			 cnt = 0;

	*nout = 0;
	av_reader_init(&r, p, n);
	for (;;) {
		if (!av_read_sub(&r, CERT_ENTRY_LEN, &ent))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: certificate table not terminated");
		if (!av_read_bytes(&ent, 16, &guid) ||
		    !av_read_u32le(&ent, &off) || !av_read_u32le(&ent, &len))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: truncated certificate table entry");
		if (memcmp(guid, zero, 16) == 0) {
			if (off != 0 || len != 0)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "sev-snp: bad certificate table terminator");
			break;
		}
		if (cnt == SNP_CERT_TABLE_MAX)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: too many certificate table entries");
		/* Compare lengths, never pointers: off + len <= n. */
		if ((size_t)off > n || (size_t)len > n - (size_t)off)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: certificate table entry out of bounds");
		memcpy(out[cnt].guid, guid, 16);
		out[cnt].kind = guid_kind(guid);
		out[cnt].data = p + off;
		out[cnt].len = len;
		for (size_t i = 0; i < cnt; i++)
			if (out[i].kind != SNP_CERT_OTHER &&
			    out[i].kind == out[cnt].kind)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "sev-snp: duplicate certificate table entry");
		cnt++;
	}
	/* Certificates live after the table, terminator included. */
	for (size_t i = 0; i < cnt; i++)
		if (out[i].len > 0 && (size_t)(out[i].data - p) < n - r.left)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "sev-snp: certificate table entry overlaps the table");
	*nout = cnt;
	return 0;
}

/* An AMD extension's value: DER INTEGER 0..255 inside the OCTET STRING. */
static int
ext_small_int(const ASN1_OCTET_STRING *os, uint8_t *v, int64_t *wide)
{
	const unsigned char	*q = ASN1_STRING_get0_data(os);
	long			 len = ASN1_STRING_length(os);
	ASN1_INTEGER		*ai;
	int64_t			 x;
	int			 rc = -1;

	if ((ai = d2i_ASN1_INTEGER(NULL, &q, len)) == NULL)
		return -1;
	if (q != ASN1_STRING_get0_data(os) + len)	/* trailing bytes */
		goto out;
	if (ASN1_INTEGER_get_int64(&x, ai) != 1 || x < 0)
		goto out;
	if (wide != NULL) {
		*wide = x;
	} else {
		if (x > 255)
			goto out;
		*v = (uint8_t)x;
	}
	rc = 0;
 out:
	ASN1_INTEGER_free(ai);
	return rc;
}

/* IA5String inside the OCTET STRING, copied NUL-terminated. */
static int
ext_ia5(const ASN1_OCTET_STRING *os, char *buf, size_t buflen)
{
	const unsigned char	*q = ASN1_STRING_get0_data(os);
	long			 len = ASN1_STRING_length(os);
	ASN1_IA5STRING		*s;
	int			 rc = -1, n;
	const unsigned char	*d;

	if ((s = d2i_ASN1_IA5STRING(NULL, &q, len)) == NULL)
		return -1;
	if (q != ASN1_STRING_get0_data(os) + len)
		goto out;
	n = ASN1_STRING_length(s);
	d = ASN1_STRING_get0_data(s);
	if (n < 0 || (size_t)n >= buflen || memchr(d, '\0', (size_t)n) != NULL)
		goto out;
	memcpy(buf, d, (size_t)n);
	buf[n] = '\0';
	rc = 0;
 out:
	ASN1_IA5STRING_free(s);
	return rc;
}

/* Our arc: 1.3.6.1.4.1.3704.1 ("AMD SEV"), DER content bytes. */
static const uint8_t amd_arc[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01
};

/*
 * Read the AMD VCEK/VLEK extensions of x (AMD 57230 s.3).
 * Returns 0, or -1 with e (AV_E_COLLATERAL_INVALID).
 */
int
snp_leaf_ext_parse(X509 *x, struct snp_leaf_ext *out, struct av_err *e)
{
	int	n;

	memset(out, 0, sizeof(*out));
	n = X509_get_ext_count(x);
	for (int i = 0; i < n; i++) {
		X509_EXTENSION		*ex = X509_get_ext(x, i);
		const ASN1_OBJECT	*obj = X509_EXTENSION_get_object(ex);
		const ASN1_OCTET_STRING	*os = X509_EXTENSION_get_data(ex);
		const unsigned char	*od;
		size_t			 olen, rest;
		int			 rc = 0;

		if ((olen = OBJ_length(obj)) <= sizeof(amd_arc) ||
		    (od = OBJ_get0_data(obj)) == NULL ||
		    memcmp(od, amd_arc, sizeof(amd_arc)) != 0)
			continue;
		od += sizeof(amd_arc);
		rest = olen - sizeof(amd_arc);
		if (rest == 1 && od[0] == 1) {
			rc = ext_small_int(os, NULL, &out->struct_version);
			out->has_struct_version = rc == 0;
		} else if (rest == 1 && od[0] == 2) {
			rc = ext_ia5(os, out->product_name,
			    sizeof(out->product_name));
		} else if (rest == 2 && od[0] == 3) {
			switch (od[1]) {
			case 1:
				rc = ext_small_int(os, &out->tcb.bootloader,
				    NULL);
				out->has_bl = true;
				break;
			case 2:
				rc = ext_small_int(os, &out->tcb.tee, NULL);
				out->has_tee = true;
				break;
			case 3:
				rc = ext_small_int(os, &out->tcb.snp, NULL);
				out->has_snp = true;
				break;
			case 8:
				rc = ext_small_int(os, &out->tcb.microcode,
				    NULL);
				out->has_ucode = true;
				break;
			case 9:
				rc = ext_small_int(os, &out->tcb.fmc, NULL);
				out->has_fmc = true;
				break;
			default:	/* spl_4..7: reserved SPLs */
				break;
			}
		} else if (rest == 1 && od[0] == 4) {
			const unsigned char	*hp = ASN1_STRING_get0_data(os);
			int			 hl = ASN1_STRING_length(os);

			/*
			 * Raw bytes (AMD's VCEKs), or wrapped in a DER OCTET
			 * STRING (some issuers): 04 40 <64> or 04 08 <8>.
			 */
			if ((hl == 66 || hl == 10) && hp[0] == 0x04 &&
			    hp[1] == hl - 2) {
				hp += 2;
				hl -= 2;
			}
			if (hl <= 0 || (size_t)hl > sizeof(out->hwid))
				rc = -1;
			else {
				memcpy(out->hwid, hp, (size_t)hl);
				out->hwid_len = (size_t)hl;
			}
		} else if (rest == 1 && od[0] == 5) {
			rc = ext_ia5(os, out->csp_id, sizeof(out->csp_id));
		}
		if (rc != 0)
			return AV_FAIL(e, AV_E_COLLATERAL_INVALID,
			    "sev-snp: malformed AMD extension in the "
			    "VCEK/VLEK certificate");
	}
	return 0;
}

/* Whether x is a CA (basicConstraints CA:TRUE). */
bool
snp_cert_is_ca(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
}

/* Whether the subject CN of x is exactly cn. */
bool
snp_cert_cn_is(X509 *x, const char *cn)
{
	X509_NAME	*nm = X509_get_subject_name(x);
	char		 buf[128];
	int		 n;

	n = X509_NAME_get_text_by_NID(nm, NID_commonName, buf, sizeof(buf));
	return n >= 0 && (size_t)n == strlen(cn) && strcmp(buf, cn) == 0;
}
