/*
 * attestd - TPM 2.0 quotes: private interface between the generic TPM
 * backend (tpm.c), the event log (tpm_eventlog.c), the Azure vTPM forms
 * (azure_vtpm.c), the GCE form (gce_tpm.c) and the tests.
 *
 * References: TPM 2.0 Library Part 2 (Structures) s.10.12 TPMS_ATTEST,
 * s.11.3 TPMT_SIGNATURE, s.12.2 TPMT_PUBLIC; Part 3 s.18.4 TPM2_Quote;
 * TCG PC Client Platform Firmware Profile (PFP) 1.05 s.10 event logging.
 * Every TPM structure is unmarshalled with tpm2-tss's libtss2-mu; the
 * event log (not a TPM structure) goes through av_reader.
 */
#ifndef AV_TPM_H
#define AV_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "av/backend.h"
#include "av/err.h"
#include "av/policy.h"
#include "av/result.h"

#define TPM_NPCR		24	/* PC Client: PCR 0..23 */
#define TPM_MAX_QUOTES		4	/* one per bank at most */
#define TPM_MAX_DIGEST		64	/* SHA-512 */
#define TPM_MAX_ATTEST		sizeof(TPMS_ATTEST)	/* generous cap */
#define TPM_MAX_PUBLIC		sizeof(TPM2B_PUBLIC)
#define TPM_MAX_EVLOG		(2u << 20)	/* event log bytes */
#define TPM_MAX_EVENTS		65536

/* PCR banks we verify; index into tables below. */
enum tpm_bank {
	TPM_BANK_SHA1,
	TPM_BANK_SHA256,
	TPM_BANK_SHA384,
	TPM_BANK_SHA512,
	TPM_NBANKS
};

/* TPM_ALG_ID of a bank (TPM2_ALG_SHA256, ...). */
uint16_t	 tpm_bank_alg(enum tpm_bank);
/* Digest size of a bank in bytes. */
size_t		 tpm_bank_size(enum tpm_bank);
/* "sha1", "sha256", "sha384", "sha512". */
const char	*tpm_bank_name(enum tpm_bank);
/* The OpenSSL digest of a bank. */
const EVP_MD	*tpm_bank_md(enum tpm_bank);
/* Bank for a TPM_ALG_ID, or -1. */
int		 tpm_bank_from_alg(uint16_t alg);
/* Bank for a name ("sha256"), or -1. */
int		 tpm_bank_from_name(const char *);

/* PCR values supplied with the evidence, per bank. */
struct tpm_pcr_bank {
	uint32_t	present;	/* bit i: v[i] was supplied */
	uint32_t	quoted;		/* bit i: covered by a verified quote */
	uint8_t		v[TPM_NPCR][TPM_MAX_DIGEST];
};
struct tpm_pcrs {
	struct tpm_pcr_bank b[TPM_NBANKS];
};

/* One quote: TPMS_ATTEST as signed plus its signature. */
struct tpm_quote {
	uint8_t		*msg;		/* TPMS_ATTEST bytes (owned) */
	size_t		 msglen;
	TPMS_ATTEST	*attest;	/* unmarshalled (owned) */
	bool		 raw_sig;	/* rawsig: bare RSASSA-PKCS1-v1_5 SHA-256
					   signature (Azure HCL form) */
	TPMT_SIGNATURE	 sig;		/* when !raw_sig */
	uint8_t		*rawsig;	/* owned, when raw_sig */
	size_t		 rawsiglen;
};

/* AK trust paths (bit mask). */
#define TPM_TRUST_CERT		0x1u	/* certificate chain to an anchor */
#define TPM_TRUST_HCL		0x2u	/* bound to an SNP/TDX report */
#define TPM_TRUST_ENROLLED	0x4u	/* listed in the policy */

struct tpm_evlog;

/* Parsed TPM evidence, whatever its envelope. */
struct tpm_ev {
	const char	*form;		/* "attestd", "trustee", "azure-v0",
					   ... (static string) */
	size_t		 nquotes;
	struct tpm_quote q[TPM_MAX_QUOTES];
	struct tpm_pcrs	 pcrs;
	EVP_PKEY	*ak;		/* owned */
	bool		 has_tpmt;	/* ak_pub holds the TPMT_PUBLIC */
	TPMT_PUBLIC	 ak_pub;
	uint8_t		 ak_name[2 + TPM_MAX_DIGEST]; /* nameAlg || H(TPMT_PUBLIC) */
	size_t		 ak_name_len;
	STACK_OF(X509)	*ak_chain;	/* owned, leaf first, or NULL */
	uint8_t		*evlog;		/* owned raw event log, or NULL */
	size_t		 evlog_len;
	struct tpm_evlog *log;		/* owned parse of evlog */

	/* Results of verification (read by claims and appraise). */
	bool		 verified;	/* quotes verified */
	uint8_t		 ak_spki_sha256[32];
	unsigned	 trust;		/* TPM_TRUST_* established */
	bool		 nonce_checked;
	uint32_t	 log_verified;	/* PCRs whose replay matched a quote */
	bool		 log_replayed;
	json_t		*hw_claims;	/* Azure: hardware report claims (owned) */
	const char	*hw_platform;	/* "sev-snp" / "tdx" */
	void		*hw;		/* Azure: hardware backend's parse */
	const struct av_backend *hw_backend; /* borrowed */

	/* Set with ak by tpm_ak_set_pkey() / tpm_ak_parse() (else found by
	   tpm_quotes_verify()). */
	char		 ak_type[16];	/* "RSA-2048", "EC-P256", ... */
	bool		 ak_rsa;	/* RSA (else EC) */
	size_t		 ak_size;	/* EVP_PKEY_get_size(): RSA signature
					   length */
};

/* ---- tpm.c: building blocks shared by every TPM form ---------------- */

struct tpm_ev	*tpm_ev_new(const char *form);
void		 tpm_ev_free(struct tpm_ev *);

/*
 * Unmarshal a TPMS_ATTEST (Part 2 s.10.12.12) with Tss2_MU and check
 * magic == TPM_GENERATED_VALUE, type == TPM_ST_ATTEST_QUOTE, no trailing
 * bytes.  The bytes are copied into q.  Returns 0, or -1 with e set.
 */
AV_MUST_USE int	 tpm_attest_parse(const uint8_t *, size_t,
		    struct tpm_quote *q, struct av_err *e);
/* Unmarshal a TPMT_SIGNATURE (Part 2 s.11.3.4) into q. Returns 0/-1. */
AV_MUST_USE int	 tpm_sig_parse(const uint8_t *, size_t, struct tpm_quote *q,
		    struct av_err *e);
/* Use a bare RSASSA-SHA256 signature (copied) for q. Returns 0/-1. */
AV_MUST_USE int	 tpm_sig_set_raw(const uint8_t *, size_t, struct tpm_quote *q,
		    struct av_err *e);
/*
 * Set the AK from bytes: TPM2B_PUBLIC, TPMT_PUBLIC (both via Tss2_MU),
 * DER SubjectPublicKeyInfo, or PEM text of one.  Returns 0/-1.
 */
AV_MUST_USE int	 tpm_ak_parse(struct tpm_ev *, const uint8_t *, size_t,
		    struct av_err *e);
/* Set the AK from an EVP_PKEY (reference taken). Returns 0/-1. */
AV_MUST_USE int	 tpm_ak_set_pkey(struct tpm_ev *, EVP_PKEY *, struct av_err *);
/*
 * EVP_PKEY of a TPMT_PUBLIC (RSA >= 2048 bits, ECC NIST P-256/P-384).
 * Caller frees *out.  Returns 0, or -1 with e set.
 */
AV_MUST_USE int	 tpm_public_to_pkey(const TPMT_PUBLIC *, EVP_PKEY **out,
		    struct av_err *e);
/*
 * Sniffing JSON evidence for detect() (no parsing, no allocation): p
 * starts like a JSON object (after white space); p contains key, given
 * with its quotes ("\"ak_pub\"").  Also used by azure_vtpm.c.
 */
bool		 tpm_looks_json(const uint8_t *p, size_t n);
bool		 tpm_has_key(const uint8_t *p, size_t n, const char *key);
/* RSA public key from big-endian n and e; NULL when invalid. */
EVP_PKEY	*tpm_rsa_pkey(const uint8_t *n, size_t nlen, const uint8_t *e,
		    size_t elen);
/* Store one PCR value (bank, index, len must be the bank's size). */
AV_MUST_USE int	 tpm_pcr_set(struct tpm_pcrs *, int bank, unsigned idx,
		    const uint8_t *, size_t, struct av_err *e);

/*
 * Verify every quote of ev with ev->ak (Part 3 s.18.4): the signature
 * over the TPMS_ATTEST bytes as received, and pcrDigest = H(selected PCR
 * values in TPML_PCR_SELECTION order), H = the signature scheme's hash.
 * Marks the PCRs covered as quoted.  Returns 0, or -1 with e set
 * (AV_E_SIGNATURE, AV_E_UNSUPPORTED_ALG, AV_E_PCR_DIGEST).
 */
AV_MUST_USE int	 tpm_quotes_verify(struct tpm_ev *, struct av_err *e);
/*
 * Compare extraData of every quote with the request's nonce (exact, or
 * zero-padded to the extraData size), or with SHA-256/SHA-512(nonce ||
 * runtime_data) when runtime_data is given (then the runtime data key
 * goes to key attestation).  Failures are reasons in sm.
 */
void		 tpm_check_nonce(struct tpm_ev *, const struct av_ctx *,
		    struct av_submod *sm);
/*
 * Establish AK trust from a certificate chain (platform "tpm") and from
 * the policy's enrolled AKs.  A chain that is present but fails is an
 * error.  Returns 0, or -1 with e set.
 */
struct tpm_pol;
AV_MUST_USE int	 tpm_ak_trust(struct tpm_ev *, const struct av_ctx *,
		    const struct tpm_pol *, struct av_err *e);
/*
 * Replay the event log (if any) per bank against the quoted PCRs.
 * Divergence is AV_E_EVENT_LOG.  Returns 0 or -1 with e set.
 */
AV_MUST_USE int	 tpm_evlog_check(struct tpm_ev *, struct av_err *e);
/*
 * Bytes of a JSON value: hex (when hex_ok and the string is all hex),
 * base64/base64url, or an array of integers 0..255; at most max bytes.
 * Returns 0 and *out (caller frees, never NULL), or -1.
 */
AV_MUST_USE int	 tpm_json_bytes(const json_t *, bool hex_ok, size_t max,
		    uint8_t **out, size_t *len);
/*
 * PCR values from JSON: {"sha256": {"0": "<hex>"}, ...} or an array of
 * hex SHA-256 values for PCR 0, 1, ...  Returns 0, or -1 with e set.
 */
AV_MUST_USE int	 tpm_pcrs_from_json(struct tpm_pcrs *, const json_t *,
		    struct av_err *e);
/*
 * The whole verification of certificate- or enrolment-trusted evidence:
 * tpm_quotes_verify, tpm_ak_trust, tpm_check_nonce, tpm_evlog_check.
 * Returns 0, or -1 with e set.
 */
AV_MUST_USE int	 tpm_ev_verify(struct tpm_ev *, const struct av_ctx *,
		    const struct tpm_pol *, struct av_submod *sm,
		    struct av_err *e);
/* Claims of the TPM part (new object), or NULL on ENOMEM. */
json_t		*tpm_claims_json(const struct tpm_ev *);

/* ---- policy ---------------------------------------------------------- */

struct tpm_pol {
	uint32_t		 pcr_mask[TPM_NBANKS];
	struct av_hexlist	 pcr[TPM_NBANKS][TPM_NPCR];
	unsigned		 ak_trust;	/* any of; 0: any established */
	struct av_hexlist	 enrolled;	/* SHA-256 of DER SPKI */
	struct av_hexlist	 qsigners;	/* qualified names (TPM2B_NAME
						   bytes) a quote may carry;
						   none: not checked */
	int			 secure_boot;	/* -1 unset, 0/1 required */
	bool			 has_boot_apps;
	struct av_hexlist	 boot_apps;	/* allowed EFI app digests */
	size_t			 ncmd_exact, ncmd_prefix;
	char			**cmd_exact;	/* kernel cmdline: exact */
	char			**cmd_prefix;	/* kernel cmdline: prefix */
	/* Azure forms: the nested hardware section. */
	const struct av_backend	*hw_backend;	/* borrowed */
	void			*hw_pol;	/* owned by hw_backend */
};

/*
 * Compile a "tpm" policy section (docs/platforms/tpm.md).  hw names the
 * nested hardware section key allowed ("sev-snp", "tdx") or NULL.
 * Returns 0 and *out (tpm_pol_free), or -1 with perr set.
 */
AV_MUST_USE int	 tpm_pol_compile(const json_t *sec, const char *path,
		    const char *hw, struct tpm_pol **out,
		    struct av_policy_err *perr);
void		 tpm_pol_free(struct tpm_pol *);
/* Compare the verified TPM evidence with a compiled policy. */
void		 tpm_appraise_ev(const struct tpm_ev *, const struct tpm_pol *,
		    const struct av_ctx *, struct av_submod *sm);

/* ---- tpm_eventlog.c ------------------------------------------------- */

struct tpm_event {
	uint32_t	 pcr;
	uint32_t	 type;
	uint32_t	 banks;		/* bit b: digest[b] present */
	uint8_t		 digest[TPM_NBANKS][TPM_MAX_DIGEST];
	const uint8_t	*data;		/* borrowed from the log bytes */
	size_t		 len;
};

struct tpm_evlog {
	bool		 crypto_agile;	/* TCG_PCR_EVENT2 format */
	uint32_t	 banks;		/* banks every event carries */
	uint8_t		 locality;	/* StartupLocality (PCR0 init) */
	size_t		 n;
	struct tpm_event *ev;		/* owned array */
};

/*
 * Parse a TCG PC Client event log (PFP s.10.2): crypto-agile
 * (Spec ID Event03 header, TCG_PCR_EVENT2) or SHA-1 only
 * (TCG_PCClientPCREvent).  The log keeps pointers into buf: buf must
 * outlive it.  Returns 0 and *out (tpm_evlog_free), or -1 with e set.
 */
AV_MUST_USE int	 tpm_evlog_parse(const uint8_t *buf, size_t len,
		    struct tpm_evlog **out, struct av_err *e);
void		 tpm_evlog_free(struct tpm_evlog *);
/*
 * Replay bank b: out[i] = extend of every event of PCR i; touched gets
 * bit i for each PCR with at least one extend.  Returns 0, or -1 when
 * the log does not carry bank b.
 */
int		 tpm_evlog_replay(const struct tpm_evlog *, int b,
		    uint8_t out[TPM_NPCR][TPM_MAX_DIGEST], uint32_t *touched);
/*
 * Claims from the events of PCRs in mask (verified by replay): boot
 * applications, Secure Boot state, PK/KEK/db/dbx digests, GRUB commands,
 * kernel command lines.  New object, or NULL on ENOMEM.
 */
json_t		*tpm_evlog_claims(const struct tpm_evlog *, uint32_t mask);

/* Facts the policy reads (from events of PCRs in mask). */
struct tpm_boot_facts {
	int		 secure_boot;	/* -1 unknown, 0 off, 1 on */
	size_t		 napps;
	const struct tpm_event **apps;	/* owned array of borrowed events */
	size_t		 ncmd;
	char		**cmd;		/* owned kernel command lines */
};
AV_MUST_USE int	 tpm_evlog_facts(const struct tpm_evlog *, uint32_t mask,
		    struct tpm_boot_facts *out);
void		 tpm_boot_facts_cleanup(struct tpm_boot_facts *);

#endif
