/*
 * attestd - TCG PC Client measured-boot event logs: parse, replay, and
 * the claims a policy reads (docs/platforms/tpm.md).
 *
 * References: TCG PC Client Platform Firmware Profile Specification
 * (PFP) 1.05: s.10.2.1 TCG_PCClientPCREvent (SHA-1 format), s.10.2.2
 * TCG_PCR_EVENT2 (crypto agile), s.10.4.5.1 TCG_EfiSpecIdEvent, s.10.4.5.3
 * Startup Locality event, s.10.4.1 event types, s.10.4.2
 * UEFI_VARIABLE_DATA; GRUB 2 "Measured Boot" (grub_cmd:, kernel_cmdline:
 * strings in PCR 8); systemd-stub (kernel command line, UTF-16, PCR 12).
 *
 * The log is not a TPM structure: it is little-endian and read with
 * av_reader.  Every count and length is capped before use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/reader.h"
#include "evidence/tpm.h"

/* PFP s.10.4.1 event types used here. */
#define EV_POST_CODE			0x00000001u
#define EV_NO_ACTION			0x00000003u
#define EV_SEPARATOR			0x00000004u
#define EV_ACTION			0x00000005u
#define EV_EVENT_TAG			0x00000006u
#define EV_S_CRTM_VERSION		0x00000008u
#define EV_IPL				0x0000000du
#define EV_EFI_VARIABLE_DRIVER_CONFIG	0x80000001u
#define EV_EFI_VARIABLE_BOOT		0x80000002u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define EV_EFI_BOOT_SERVICES_DRIVER	0x80000004u
#define EV_EFI_GPT_EVENT		0x80000006u
#define EV_EFI_ACTION			0x80000007u
#define EV_EFI_VARIABLE_AUTHORITY	0x800000e0u

#define SPEC_ID_SIG	"Spec ID Event03"	/* 16 bytes with the NUL */
#define LOCALITY_SIG	"StartupLocality"	/* 16 bytes with the NUL */
#define MAX_SPEC_ALGS	16
#define MAX_EVENT_DATA	(1u << 20)
#define MAX_VAR_NAME	64		/* CHAR16s of a variable name */
#define MAX_STRING	4096		/* strings taken from events */

void
tpm_evlog_free(struct tpm_evlog *l)
{
	if (l == NULL)
		return;
	free(l->ev);
	free(l);
}

/* Remaining bytes all 0x00 or all 0xff: the padding of a log area. */
static bool
only_padding(const struct av_reader *r)
{
	bool z = true, f = true;

	for (size_t i = 0; i < r->left && (z || f); i++) {
		z = z && r->p[i] == 0x00;
		f = f && r->p[i] == 0xff;
	}
	return z || f;
}

static int
push_event(struct tpm_evlog *l, size_t *cap, const struct tpm_event *ev,
    struct av_err *e)
{
	struct tpm_event *n;

	if (l->n == *cap) {
		if (*cap >= TPM_MAX_EVENTS)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: event log has too many events");
		*cap = *cap ? *cap * 2 : 64;
		if ((n = reallocarray(l->ev, *cap, sizeof(*n))) == NULL)
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		l->ev = n;
	}
	l->ev[l->n++] = *ev;
	return 0;
}

/* PFP s.10.4.5.3: EV_NO_ACTION "StartupLocality\0" + UINT8 locality. */
static void
note_locality(struct tpm_evlog *l, const struct tpm_event *ev)
{
	if (ev->type == EV_NO_ACTION && ev->pcr == 0 && ev->len == 17 &&
	    memcmp(ev->data, LOCALITY_SIG, 16) == 0)
		l->locality = ev->data[16];
}

/*
 * PFP s.10.2.1: UINT32 pcrIndex, UINT32 eventType, BYTE digest[20],
 * UINT32 eventDataSize, BYTE event[eventDataSize].
 */
static int
read_sha1_event(struct av_reader *r, struct tpm_event *ev, struct av_err *e)
{
	struct av_reader	 save = *r;
	const uint8_t		*d;
	uint32_t		 sz;

	memset(ev, 0, sizeof(*ev));
	if (!av_read_u32le(r, &ev->pcr) || !av_read_u32le(r, &ev->type) ||
	    !av_read_bytes(r, 20, &d) || !av_read_u32le(r, &sz) ||
	    sz > MAX_EVENT_DATA || !av_read_bytes(r, sz, &ev->data)) {
		*r = save;
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: event log truncated");
	}
	memcpy(ev->digest[TPM_BANK_SHA1], d, 20);
	ev->banks = 1u << TPM_BANK_SHA1;
	ev->len = sz;
	return 0;
}

struct spec_alg {
	uint16_t	alg;
	uint16_t	size;
	int		bank;	/* -1: not a bank we verify */
};

/* PFP s.10.4.5.1: TCG_EfiSpecIdEvent. */
static int
read_spec_id(const struct tpm_event *first, struct spec_alg *algs,
    size_t *nalgs, struct av_err *e)
{
	struct av_reader	 r;
	const uint8_t		*sig, *vendor;
	uint32_t		 cls, n;
	uint8_t			 minor, major, errata, uintn, vlen;

	av_reader_init(&r, first->data, first->len);
	if (!av_read_bytes(&r, 16, &sig) || !av_read_u32le(&r, &cls) ||
	    !av_read_u8(&r, &minor) || !av_read_u8(&r, &major) ||
	    !av_read_u8(&r, &errata) || !av_read_u8(&r, &uintn) ||
	    !av_read_u32le(&r, &n))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: event log Spec ID event truncated");
	(void)cls;
	(void)minor;
	(void)errata;
	if (major != 2 || (uintn != 1 && uintn != 2))
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: event log Spec ID version unsupported");
	if (n == 0 || n > MAX_SPEC_ALGS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: event log declares no or too many algorithms");
	for (uint32_t i = 0; i < n; i++) {
		uint16_t alg, size;

		if (!av_read_u16le(&r, &alg) || !av_read_u16le(&r, &size))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: event log Spec ID event truncated");
		if (size == 0 || size > TPM_MAX_DIGEST)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: event log digest size out of range");
		for (uint32_t j = 0; j < i; j++)
			if (algs[j].alg == alg)
				return AV_FAIL(e, AV_E_MALFORMED,
				    "tpm: event log declares an algorithm "
				    "twice");
		algs[i].alg = alg;
		algs[i].size = size;
		algs[i].bank = tpm_bank_from_alg(alg);
		if (algs[i].bank >= 0 &&
		    tpm_bank_size(algs[i].bank) != size)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: event log digest size differs from the "
			    "algorithm's");
	}
	if (!av_read_u8(&r, &vlen) || !av_read_bytes(&r, vlen, &vendor) ||
	    r.left != 0)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: event log Spec ID event malformed");
	*nalgs = n;
	return 0;
}

/*
 * PFP s.10.2.2: UINT32 pcrIndex, UINT32 eventType, TPML_DIGEST_VALUES
 * (UINT32 count, {UINT16 hashAlg, BYTE digest[size]}), UINT32 eventSize,
 * BYTE event[eventSize]; sizes from the Spec ID event.
 */
static int
read_event2(struct av_reader *r, const struct spec_alg *algs, size_t nalgs,
    struct tpm_event *ev, struct av_err *e)
{
	struct av_reader	 save = *r;
	const uint8_t		*d;
	uint32_t		 count, sz;
	uint16_t		 alg;
	size_t			 j;

	memset(ev, 0, sizeof(*ev));
	if (!av_read_u32le(r, &ev->pcr) || !av_read_u32le(r, &ev->type) ||
	    !av_read_u32le(r, &count))
		goto trunc;
	if (count > nalgs) {
		*r = save;
		return AV_FAIL(e, AV_E_MALFORMED,
		    "tpm: event carries more digests than the log declares");
	}
	for (uint32_t i = 0; i < count; i++) {
		if (!av_read_u16le(r, &alg))
			goto trunc;
		for (j = 0; j < nalgs; j++)
			if (algs[j].alg == alg)
				break;
		if (j == nalgs) {
			*r = save;
			return AV_FAIL(e, AV_E_MALFORMED, "tpm: event digest "
			    "algorithm not declared by the log");
		}
		if (!av_read_bytes(r, algs[j].size, &d))
			goto trunc;
		if (algs[j].bank < 0)
			continue;
		if (ev->banks & (1u << algs[j].bank)) {
			*r = save;
			return AV_FAIL(e, AV_E_MALFORMED,
			    "tpm: event carries a digest twice");
		}
		memcpy(ev->digest[algs[j].bank], d, algs[j].size);
		ev->banks |= 1u << algs[j].bank;
	}
	if (!av_read_u32le(r, &sz) || sz > MAX_EVENT_DATA ||
	    !av_read_bytes(r, sz, &ev->data))
		goto trunc;
	ev->len = sz;
	return 0;
 trunc:
	*r = save;
	return AV_FAIL(e, AV_E_MALFORMED, "tpm: event log truncated");
}

int
tpm_evlog_parse(const uint8_t *buf, size_t len, struct tpm_evlog **out,
    struct av_err *e)
{
	struct spec_alg		 algs[MAX_SPEC_ALGS];
	struct tpm_evlog	*l;
	struct tpm_event	 ev;
	struct av_reader	 r;
	size_t			 cap = 0, nalgs = 0;
	uint32_t		 declared = 0;

	*out = NULL;
	if (buf == NULL || len == 0)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: empty event log");
	if (len > TPM_MAX_EVLOG)
		return AV_FAIL(e, AV_E_MALFORMED, "tpm: event log too large");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	av_reader_init(&r, buf, len);
	/* The first event is always in the SHA-1 format. */
	if (read_sha1_event(&r, &ev, e) != 0)
		goto bad;
	if (ev.type == EV_NO_ACTION && ev.pcr == 0 && ev.len >= 16 &&
	    memcmp(ev.data, SPEC_ID_SIG, 16) == 0) {
		if (read_spec_id(&ev, algs, &nalgs, e) != 0)
			goto bad;
		l->crypto_agile = true;
		for (size_t i = 0; i < nalgs; i++)
			if (algs[i].bank >= 0)
				declared |= 1u << algs[i].bank;
		l->banks = declared;
	} else {
		l->banks = 1u << TPM_BANK_SHA1;
		if (push_event(l, &cap, &ev, e) != 0)
			goto bad;
	}
	while (r.left > 0) {
		if (only_padding(&r))
			break;
		if (l->crypto_agile) {
			if (read_event2(&r, algs, nalgs, &ev, e) != 0)
				goto bad;
			/* a bank some event lacks cannot be replayed */
			if (ev.type != EV_NO_ACTION)
				l->banks &= ev.banks;
		} else if (read_sha1_event(&r, &ev, e) != 0)
			goto bad;
		note_locality(l, &ev);
		if (push_event(l, &cap, &ev, e) != 0)
			goto bad;
	}
	*out = l;
	return 0;
 bad:
	tpm_evlog_free(l);
	return -1;
}

/* Extend v (size n) with d: v = H(v || d), with m (initialised per call). */
static void
extend(EVP_MD_CTX *m, const EVP_MD *md, uint8_t *v, const uint8_t *d,
    size_t n)
{
	uint8_t out[EVP_MAX_MD_SIZE];

	if (EVP_DigestInit_ex(m, md, NULL) == 1 &&
	    EVP_DigestUpdate(m, v, n) == 1 &&
	    EVP_DigestUpdate(m, d, n) == 1 &&
	    EVP_DigestFinal_ex(m, out, NULL) == 1)
		memcpy(v, out, n);
}

int
tpm_evlog_replay(const struct tpm_evlog *l, int b,
    uint8_t out[TPM_NPCR][TPM_MAX_DIGEST], uint32_t *touched)
{
	const EVP_MD	*md;
	EVP_MD_CTX	*m;
	size_t		 n;

	*touched = 0;
	if (b < 0 || b >= TPM_NBANKS || !(l->banks & (1u << b)))
		return -1;
	if ((m = EVP_MD_CTX_new()) == NULL)
		return -1;
	md = tpm_bank_md(b);
	n = tpm_bank_size(b);
	memset(out, 0, TPM_NPCR * sizeof(out[0]));
	/* PFP s.10.4.5.3: PCR0 starts at the locality the H-CRTM ran in */
	out[0][n - 1] = l->locality;
	for (size_t i = 0; i < l->n; i++) {
		const struct tpm_event *ev = &l->ev[i];

		if (ev->type == EV_NO_ACTION || ev->pcr >= TPM_NPCR)
			continue;
		extend(m, md, out[ev->pcr], ev->digest[b], n);
		*touched |= 1u << ev->pcr;
	}
	EVP_MD_CTX_free(m);
	return 0;
}

/* ---- event contents ---------------------------------------------------- */

/* Every digest the event carries equals the hash of p[0..n). */
static bool
digest_of(const struct tpm_event *ev, const uint8_t *p, size_t n)
{
	uint8_t	h[TPM_MAX_DIGEST];
	bool	any = false;

	for (int b = 0; b < TPM_NBANKS; b++) {
		if (!(ev->banks & (1u << b)))
			continue;
		if (av_digest(tpm_bank_md(b), p, n, h) != 0 ||
		    memcmp(h, ev->digest[b], tpm_bank_size(b)) != 0)
			return false;
		any = true;
	}
	return any;
}

/*
 * PFP s.10.4.2 UEFI_VARIABLE_DATA: GUID VariableName, UINT64
 * UnicodeNameLength, UINT64 VariableDataLength, CHAR16
 * UnicodeName[UnicodeNameLength], INT8 VariableData[...].  The name is
 * returned as ASCII (non-ASCII characters as '?').
 */
static bool
efi_variable(const struct tpm_event *ev, char name[MAX_VAR_NAME + 1],
    const uint8_t **data, size_t *dlen)
{
	struct av_reader	 r;
	const uint8_t		*guid, *u;
	uint64_t		 nl, dl;

	av_reader_init(&r, ev->data, ev->len);
	if (!av_read_bytes(&r, 16, &guid) || !av_read_u64le(&r, &nl) ||
	    !av_read_u64le(&r, &dl) || nl > MAX_VAR_NAME ||
	    dl > r.left || !av_read_bytes(&r, (size_t)nl * 2, &u) ||
	    r.left != dl)
		return false;
	for (size_t i = 0; i < nl; i++) {
		uint16_t c = (uint16_t)(u[2 * i] | u[2 * i + 1] << 8);

		name[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	name[nl] = '\0';
	*data = r.p;
	*dlen = (size_t)dl;
	return true;
}

/* ASCII/UTF-8 text of an event, without trailing NULs; NULL if binary. */
static char *
ascii_text(const uint8_t *p, size_t n)
{
	char *s;

	while (n > 0 && p[n - 1] == 0)
		n--;
	if (n == 0 || n > MAX_STRING)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i] == 0)
			return NULL;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* UTF-16LE text (systemd) as ASCII ('?' for others), NULs stripped. */
static char *
utf16_text(const uint8_t *p, size_t n)
{
	char	*s;
	size_t	 k = 0;

	if (n % 2 != 0 || n / 2 > MAX_STRING)
		return NULL;
	if ((s = malloc(n / 2 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint16_t c = (uint16_t)(p[i] | p[i + 1] << 8);

		if (c == 0)
			break;
		s[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	s[k] = '\0';
	if (k == 0) {
		free(s);
		return NULL;
	}
	return s;
}

enum cmd_kind { CMD_NONE, CMD_GRUB, CMD_KERNEL };

/*
 * GRUB 2 measures each command and the kernel command line into PCR 8 as
 * EV_IPL with event data "<prefix><string>\0" and digest H(<string>).
 * systemd-stub measures the command line into PCR 12 as UTF-16 with
 * digest H(event data).  Returns the verified string (caller frees) and
 * its kind, or NULL.
 */
static char *
ipl_string(const struct tpm_event *ev, enum cmd_kind *kind)
{
	static const struct {
		const char	*prefix;
		enum cmd_kind	 kind;
	} grub[] = {
		{ "grub_cmd: ", CMD_GRUB },
		{ "kernel_cmdline: ", CMD_KERNEL },
	};
	char	*s, *body;
	size_t	 pl;

	*kind = CMD_NONE;
	if (ev->type != EV_IPL)
		return NULL;
	if (ev->pcr == 8 && (s = ascii_text(ev->data, ev->len)) != NULL) {
		for (size_t i = 0; i < sizeof(grub) / sizeof(grub[0]); i++) {
			pl = strlen(grub[i].prefix);
			if (strncmp(s, grub[i].prefix, pl) != 0)
				continue;
			if (!digest_of(ev, (const uint8_t *)s + pl,
			    strlen(s) - pl))
				break;
			if ((body = strdup(s + pl)) != NULL)
				*kind = grub[i].kind;
			free(s);
			return body;
		}
		free(s);
		return NULL;
	}
	if (ev->pcr == 12 && digest_of(ev, ev->data, ev->len) &&
	    (s = utf16_text(ev->data, ev->len)) != NULL) {
		*kind = CMD_KERNEL;
		return s;
	}
	return NULL;
}

static json_t *
digests_json(const struct tpm_event *ev)
{
	json_t	*o = json_object();

	for (int b = 0; o != NULL && b < TPM_NBANKS; b++) {
		if (!(ev->banks & (1u << b)))
			continue;
		/* out of memory: the bank is left out */
		json_object_set_new(o, tpm_bank_name(b),
		    av_json_hex(ev->digest[b], tpm_bank_size(b)));
	}
	return o;
}

static bool
in_mask(const struct tpm_event *ev, uint32_t mask)
{
	return ev->pcr < TPM_NPCR && (mask & (1u << ev->pcr)) &&
	    ev->type != EV_NO_ACTION;
}

/* Secure Boot state from the PCR 7 "SecureBoot" variable event. */
static int
secure_boot_state(const struct tpm_evlog *l, uint32_t mask)
{
	char		 name[MAX_VAR_NAME + 1];
	const uint8_t	*d;
	size_t		 dl;
	int		 sb = -1;

	for (size_t i = 0; i < l->n; i++) {
		const struct tpm_event *ev = &l->ev[i];

		if (!in_mask(ev, mask) || ev->pcr != 7 ||
		    ev->type != EV_EFI_VARIABLE_DRIVER_CONFIG ||
		    !efi_variable(ev, name, &d, &dl) ||
		    strcmp(name, "SecureBoot") != 0 ||
		    !digest_of(ev, ev->data, ev->len))
			continue;
		sb = (dl >= 1 && d[0] == 1) ? 1 : 0;
	}
	return sb;
}

/*
 * Claims from the events of PCRs in mask: counts, Secure Boot, EFI
 * variables measured into PCR 7, boot applications, EFI actions, GRUB
 * commands and kernel command lines (only strings whose digest verifies).
 */
json_t *
tpm_evlog_claims(const struct tpm_evlog *l, uint32_t mask)
{
	json_t	*o, *apps, *vars, *acts, *grub, *cmd, *banks, *pcrs;
	char	 name[MAX_VAR_NAME + 1];
	const uint8_t *d;
	size_t	 dl, nver = 0;
	int	 sb;

	o = json_object();
	apps = json_array();
	vars = json_object();
	acts = json_array();
	grub = json_array();
	cmd = json_array();
	banks = json_array();
	pcrs = json_array();
	if (o == NULL || apps == NULL || vars == NULL || acts == NULL ||
	    grub == NULL || cmd == NULL || banks == NULL || pcrs == NULL) {
		json_decref(o);
		json_decref(apps);
		json_decref(vars);
		json_decref(acts);
		json_decref(grub);
		json_decref(cmd);
		json_decref(banks);
		json_decref(pcrs);
		return NULL;
	}
	for (int b = 0; b < TPM_NBANKS; b++)
		if (l->banks & (1u << b))
			json_array_append_new(banks,
			    json_string(tpm_bank_name(b)));
	for (unsigned i = 0; i < TPM_NPCR; i++)
		if (mask & (1u << i))
			json_array_append_new(pcrs, json_integer(i));
	for (size_t i = 0; i < l->n; i++) {
		const struct tpm_event	*ev = &l->ev[i];
		enum cmd_kind		 k;
		char			*s;

		if (!in_mask(ev, mask))
			continue;
		nver++;
		switch (ev->type) {
		case EV_EFI_BOOT_SERVICES_APPLICATION:
			json_array_append_new(apps, json_pack("{s:i,s:o}",
			    "pcr", (int)ev->pcr, "digests", digests_json(ev)));
			break;
		case EV_EFI_VARIABLE_DRIVER_CONFIG:
			if (ev->pcr == 7 && efi_variable(ev, name, &d, &dl) &&
			    (strcmp(name, "PK") == 0 ||
			    strcmp(name, "KEK") == 0 ||
			    strcmp(name, "db") == 0 ||
			    strcmp(name, "dbx") == 0 ||
			    strcmp(name, "SecureBoot") == 0))
				json_object_set_new(vars, name,
				    digests_json(ev));
			break;
		case EV_EFI_ACTION:
			if ((s = ascii_text(ev->data, ev->len)) != NULL &&
			    digest_of(ev, ev->data, ev->len))
				json_array_append_new(acts, json_string(s));
			free(s);
			break;
		case EV_IPL:
			if ((s = ipl_string(ev, &k)) == NULL)
				break;
			json_array_append_new(k == CMD_KERNEL ? cmd : grub,
			    json_string(s));
			free(s);
			break;
		default:
			break;
		}
	}
	sb = secure_boot_state(l, mask);
	json_object_set_new(o, "format",
	    json_string(l->crypto_agile ? "crypto-agile" : "sha1"));
	json_object_set_new(o, "banks", banks);
	json_object_set_new(o, "events", json_integer((json_int_t)l->n));
	json_object_set_new(o, "verified_pcrs", pcrs);
	json_object_set_new(o, "verified_events", json_integer((json_int_t)nver));
	json_object_set_new(o, "secure_boot", sb < 0 ? json_null() :
	    json_boolean(sb));
	json_object_set_new(o, "efi_variables", vars);
	json_object_set_new(o, "boot_apps", apps);
	json_object_set_new(o, "efi_actions", acts);
	json_object_set_new(o, "grub_cmds", grub);
	json_object_set_new(o, "kernel_cmdline", cmd);
	return o;
}

void
tpm_boot_facts_cleanup(struct tpm_boot_facts *f)
{
	if (f == NULL)
		return;
	free(f->apps);
	for (size_t i = 0; i < f->ncmd; i++)
		free(f->cmd[i]);
	free(f->cmd);
	memset(f, 0, sizeof(*f));
}

/*
 * The facts a policy reads, from events of PCRs in mask.  Returns 0 and
 * fills *f (tpm_boot_facts_cleanup), or -1 on ENOMEM.
 */
int
tpm_evlog_facts(const struct tpm_evlog *l, uint32_t mask,
    struct tpm_boot_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->secure_boot = secure_boot_state(l, mask);
	if (l->n == 0)
		return 0;
	if ((f->apps = calloc(l->n, sizeof(*f->apps))) == NULL ||
	    (f->cmd = calloc(l->n, sizeof(*f->cmd))) == NULL) {
		tpm_boot_facts_cleanup(f);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct tpm_event	*ev = &l->ev[i];
		enum cmd_kind		 k;
		char			*s;

		if (!in_mask(ev, mask))
			continue;
		if (ev->type == EV_EFI_BOOT_SERVICES_APPLICATION)
			f->apps[f->napps++] = ev;
		else if ((s = ipl_string(ev, &k)) != NULL) {
			if (k == CMD_KERNEL)
				f->cmd[f->ncmd++] = s;
			else
				free(s);
		}
	}
	return 0;
}
