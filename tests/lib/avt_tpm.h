/*
 * Test-only TPM 2.0 evidence: quotes (TPMS_ATTEST) signed by OpenSSL
 * keys posing as AKs, TPM2B_PUBLIC areas for those keys, and TCG PC
 * Client event logs with the PCR values they replay to.  Structures are
 * marshalled with tpm2-tss's Tss2_MU_* so they are TPM wire format.
 */
#ifndef AVT_TPM_H
#define AVT_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define AVT_TPM_NPCR	24

/* Banks: 0 sha1, 1 sha256, 2 sha384 (as enum tpm_bank). */
#define AVT_SHA1	0
#define AVT_SHA256	1
#define AVT_SHA384	2
#define AVT_NBANKS	3

/* PCR values of the banks a test uses (zero unless set/extended). */
struct avt_pcrs {
	uint8_t	v[AVT_NBANKS][AVT_TPM_NPCR][48];
};
size_t	avt_bank_size(int bank);
/* v = H(v || digest) for one bank. */
void	avt_pcr_extend(struct avt_pcrs *, int bank, unsigned pcr,
	    const uint8_t *digest);

struct avt_quote_spec {
	const uint8_t	*nonce;		/* extraData */
	size_t		 nonce_len;
	uint32_t	 sel[AVT_NBANKS];	/* PCR masks quoted per bank */
	uint16_t	 sig_hash;	/* TPM2_ALG_SHA256 (default) ... */
	uint32_t	 magic;		/* 0: TPM_GENERATED_VALUE */
	uint16_t	 type;		/* 0: TPM_ST_ATTEST_QUOTE */
	bool		 bad_digest;	/* flip a bit of pcrDigest */
};

/*
 * Marshalled TPMS_ATTEST for a quote of pcrs (pcrDigest with the
 * signature hash).  Returns malloc'd bytes and *len.
 */
uint8_t	*avt_tpm_attest(const struct avt_quote_spec *,
	    const struct avt_pcrs *, size_t *len);

/* Signature schemes for avt_tpm_sign. */
enum avt_sig { AVT_RSASSA, AVT_RSAPSS, AVT_ECDSA };

/*
 * Marshalled TPMT_SIGNATURE over msg with key (hash = TPM_ALG_ID).
 * Returns malloc'd bytes and *len, or NULL.
 */
uint8_t	*avt_tpm_sign(EVP_PKEY *key, enum avt_sig, uint16_t hash,
	    const uint8_t *msg, size_t n, size_t *len);

/*
 * Marshalled TPM2B_PUBLIC of key as an AK (restricted signing key unless
 * !restricted).  Returns malloc'd bytes and *len, or NULL.
 */
uint8_t	*avt_tpm_public(EVP_PKEY *key, bool restricted, size_t *len);

/* ---- go-tpm-tools Attestation (protobuf) -------------------------------- */

struct avt_gce_quote {
	const uint8_t		*msg;	/* TPMS_ATTEST */
	size_t			 msglen;
	const uint8_t		*sig;	/* TPMT_SIGNATURE */
	size_t			 siglen;
	int			 bank;	/* AVT_SHA1, ... */
	uint32_t		 mask;	/* PCRs in the map */
	const struct avt_pcrs	*pcrs;
};

/*
 * Encode an attest.Attestation: 1 ak_pub (TPMT_PUBLIC), 2 quotes, 3
 * event_log (may be NULL), 6 ak_cert (DER, may be NULL).  malloc'd.
 */
uint8_t	*avt_gce_attestation(const uint8_t *tpmt, size_t tlen,
	    const struct avt_gce_quote *, size_t nq, const uint8_t *evlog,
	    size_t evlen, const uint8_t *cert, size_t certlen, size_t *len);

/* ---- event logs --------------------------------------------------------- */

struct avt_evlog;

/* New log: crypto-agile with SHA-1, SHA-256, SHA-384, or SHA-1 only. */
struct avt_evlog *avt_evlog_new(bool sha1_only);
void	avt_evlog_free(struct avt_evlog *);
/*
 * Add an event: digests = H(hashed) per bank (hashed NULL: H(data)).
 * The event is also extended into the log's expected PCR values.
 */
void	avt_evlog_add(struct avt_evlog *, uint32_t pcr, uint32_t type,
	    const void *data, size_t len, const void *hashed, size_t hlen);
/* An EV_NO_ACTION StartupLocality event (PCR 0 starts at locality). */
void	avt_evlog_locality(struct avt_evlog *, uint8_t locality);
/* UEFI_VARIABLE_DATA event for an EFI variable (PCR 7, DRIVER_CONFIG). */
void	avt_evlog_efivar(struct avt_evlog *, const char *name,
	    const void *data, size_t len);
/*
 * EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4: a UEFI_IMAGE_LOAD_EVENT
 * (with an end-of-device-path node) whose digests are H(pe) per bank,
 * standing in for the Authenticode hash.
 */
void	avt_evlog_image(struct avt_evlog *, const void *pe, size_t len);
/* The log bytes (borrowed; valid until the next add or free). */
const uint8_t *avt_evlog_bytes(const struct avt_evlog *, size_t *len);
/* The PCR values the log replays to. */
const struct avt_pcrs *avt_evlog_pcrs(const struct avt_evlog *);
/*
 * tpm2_pcrextend lines for every extend ("PCR:sha1=..,sha256=..,
 * sha384=.."), malloc'd, newline-separated.
 */
char	*avt_evlog_extends(const struct avt_evlog *);

#endif
